#!/usr/bin/env bash
# Benchmark: where the recorder's cold start time goes (issue 4: cold start added <= 5 ms). COLD
# cold starts of the C sample through the local emulator, with the recorder, with the extension
# alone (RUNTRAIL_DISABLE=1) and with --no-record, interleaved; each phase's median and
# quartiles. Time stamps come from kernel tracepoints (`perf record -a` of exec, execve, fork,
# connect and sendto: nothing stops the traced programs) when perf can record them, else from
# `strace -f --seccomp-bpf` (each traced call stops its program, so every phase reads longer).
# With perf:
#   extension start   exec of extensions/runtrail to its register request (dynamic loading,
#                     config, event ring, sealer thread, proxy listening, ready file)
#   register          the register round trip and the emulator's start of the runtime, to the
#                     execve of the wrapper (Lambda, and the emulator, start the runtime once
#                     every extension has registered; the extension's Telemetry API
#                     subscription, /proc sampler and event/next run beside the runtime's start)
#   wrapper exec      that execve to the wrapper's exec (the kernel loading a static program)
#   wrapper run       exec of the wrapper to its execve of the runtime
#   runtime exec      that execve (without the recorder: the emulator's child's) to the
#                     runtime's exec: the kernel loading the runtime, which every start pays
#   runtime init      exec of the runtime to its first connection to the Runtime API (the
#                     runtime's start under the interposer, beside the extension's work)
#   first next        that connection to the handler's fork: invocation/next (through the proxy)
#   handler           the handler's fork to the runtime's response (sh -c 'uname -s')
# With strace:
#   extension load    exec of extensions/runtrail to its first mkdir (dynamic loading, config)
#   extension init    to the ready file (event ring, sealer thread, proxy listening)
#   register          to the emulator's fork of the runtime
#   wrapper           exec of the wrapper to the exec of the runtime
#   runtime init      exec of the runtime to the handler's child (sh -c 'uname -s'), i.e. the
#                     runtime's start under the interposer and its first invocation/next
#   child             the handler's child process, sh exec to its exit
# Both: the first response as the emulator reports it (initMs + responseMs; untraced runs are
# in tests/bench/invoke.sh), and the bare cost of starting the extension binary (`--version`:
# the loader and its libraries, nothing else) against /bin/true. Needs perf (linux-perf, which
# make bench installs) or strace (skipped without both). Not a test: it prints a table.
# BENCH_REF=DIR (another revision's build folder, made with `make BUILD=DIR`) adds a column:
# that build's recorder, its cold starts interleaved with the others, for an A/B of a change;
# BENCH_REF_ENV="NAME=VALUE ..." gives that column's sandbox those settings too (alone, it adds
# the column with this build: an A/B of a setting, e.g. RUNTRAIL_PROC_SAMPLE_MS=0).
# Usage: tests/bench/coldstart.sh   (COLD=15 BUILD=build TRACER=perf|strace BENCH_REF=DIR
#                                    BENCH_REF_ENV="NAME=VALUE ...")
set -u
RT_ROOT=${RT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
COLD=${COLD:-15}
RUNTRAIL=$RT_ROOT/$BUILD/bin/runtrail
BOOTSTRAP=$RT_ROOT/$BUILD/samples/c/bootstrap
LAYER=$RT_ROOT/$BUILD/layer
TASK=$RT_ROOT/samples/c-bootstrap
EVENT=$RT_ROOT/samples/events/sqs-batch.json
REF=${BENCH_REF:-}
REF_ENV=${BENCH_REF_ENV:-}
REF_RUNTRAIL=$RUNTRAIL
if [ -n "$REF" ]; then
    # (a folder cd cannot enter gives no path, not "/bin/runtrail")
    REF_RUNTRAIL=$(cd "$RT_ROOT" && cd "$REF" 2>/dev/null && pwd)/bin/runtrail &&
        [ -x "$REF_RUNTRAIL" ] || {
        echo "bench coldstart: BENCH_REF $REF is not a build folder (make BUILD=$REF)" >&2
        exit 2
    }
fi
[ -n "$REF" ] || [ -z "$REF_ENV" ] || REF=$BUILD
for f in "$RUNTRAIL" "$BOOTSTRAP" "$LAYER/extensions/runtrail"; do
    [ -x "$f" ] || { echo "bench coldstart: $f is missing; run make first" >&2; exit 2; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-bench-cold.XXXXXX")
export RUNTRAIL_CACHE="$TMP/catalog" # the catalog of the bench's own (see tests/bench/run.sh)
trap 'rm -rf "$TMP"' EXIT
REF_MODE="--store $TMP/store"
for kv in $REF_ENV; do REF_MODE+=" --env $kv"; done
PERF_EVENTS=(-e sched:sched_process_exec -e sched:sched_process_fork -e syscalls:sys_enter_connect
    -e syscalls:sys_enter_sendto -e syscalls:sys_enter_execve)
TRACER=${TRACER:-}
if [ -z "$TRACER" ] && command -v perf >/dev/null &&
    perf record -q -a -o "$TMP/probe.data" "${PERF_EVENTS[@]}" -- true >/dev/null 2>&1; then
    TRACER=perf
fi
if [ -z "$TRACER" ] && command -v strace >/dev/null &&
    strace -f --seccomp-bpf -e trace=execve -o /dev/null true 2>/dev/null; then
    TRACER=strace
fi
if [ -z "$TRACER" ]; then
    echo "bench coldstart: neither perf (tracepoints) nor strace with --seccomp-bpf is available: skipped"
    exit 0
fi

# one_perf MODE OUT [RUNTRAIL]: the same from kernel tracepoints, system-wide (the emulator,
# extension, wrapper and runtime are all children of the command, but their order is what is
# timed).
one_perf() {
    local mode=$1 out=$2 rt=${3:-$RUNTRAIL}
    rm -f "$TMP/perf.data" "$TMP/r.json"
    perf record -q -a -o "$TMP/perf.data" "${PERF_EVENTS[@]}" -- "$rt" invoke $mode --quiet \
        --task-root "$TASK" --event "$EVENT" --report "$TMP/r.json" -- "$BOOTSTRAP" \
        >/dev/null 2>>"$TMP/err"
    perf script -i "$TMP/perf.data" -F comm,tid,time,event,trace >"$TMP/perf.txt" 2>/dev/null
    python3 - "$TMP/perf.txt" "$TMP/r.json" >>"$out" <<'PY'
import json, re, sys
ev = {}
execve = {}  # tid -> the time of its latest execve call
for line in open(sys.argv[1]):
    m = re.match(r'\s*(.+?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)', line)
    if not m:
        continue
    comm, tid, t, name, rest = m.group(1), m.group(2), float(m.group(3)) * 1000, m.group(4), m.group(5)
    def mark(k):
        ev.setdefault(k, t)
    if name == 'syscalls:sys_enter_execve':
        execve[tid] = t
    elif name == 'sched:sched_process_exec':
        if '/extensions/' in rest:
            mark('ext')
        elif rest.startswith('filename=') and '/wrapper ' in rest:
            if tid in execve:
                ev.setdefault('wrapexec', execve[tid])
            mark('wrap')
        elif '/bootstrap ' in rest:
            mark('wrap')  # no wrapper without the recorder
            if tid in execve:  # the execve that loads it: the wrapper's, or the emulator's child's
                ev.setdefault('rtexec', execve[tid])
            mark('boot')
    elif name == 'syscalls:sys_enter_connect':
        if 'ext' in ev and 'wrap' not in ev and comm != 'bootstrap':
            mark('register')
        elif comm == 'bootstrap':
            mark('next')
    elif name == 'sched:sched_process_fork' and comm == 'bootstrap' and 'next' in ev:
        mark('handler')
    elif name == 'syscalls:sys_enter_sendto' and comm == 'bootstrap' and 'handler' in ev:
        mark('response')
phases = [('extension start', 'ext', 'register'), ('register', 'register', 'wrapexec'),
          ('wrapper exec', 'wrapexec', 'wrap'), ('wrapper run', 'wrap', 'rtexec'),
          ('runtime exec', 'rtexec', 'boot'),
          ('runtime init', 'boot', 'next'),
          ('first next', 'next', 'handler'), ('handler', 'handler', 'response')]
for name, a, b in phases:
    if a in ev and b in ev and not (name.startswith('wrapper') and 'ext' not in ev):
        print('%s\t%.3f' % (name, ev[b] - ev[a]))
r = json.loads(open(sys.argv[2]).readline())
print('first response\t%.3f' % (r['initMs'] + r['responseMs']))
PY
}

# one MODE OUT [RUNTRAIL]: a traced cold start, its phases appended to OUT as "name ms" lines
one() {
    local mode=$1 out=$2 rt=${3:-$RUNTRAIL}
    [ "$TRACER" = perf ] && { one_perf "$@"; return; }
    rm -f "$TMP/trace" "$TMP/r.json"
    strace -f --seccomp-bpf -ttt -e trace=execve,mkdir,rename,clone,clone3,exit_group -e signal=none \
        -o "$TMP/trace" "$rt" invoke $mode --quiet --task-root "$TASK" --event "$EVENT" \
        --report "$TMP/r.json" -- "$BOOTSTRAP" >/dev/null 2>>"$TMP/err"
    python3 - "$TMP/trace" "$TMP/r.json" >>"$out" <<'PY'
import json, re, sys
ev = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\d+)\s+([\d.]+)\s+(.*)', line)
    if not m:
        continue
    t, rest = float(m.group(2)) * 1000, m.group(3)
    def mark(k):
        ev.setdefault(k, t)
    if rest.startswith('execve(') and '/extensions/' in rest:
        mark('ext')
    elif rest.startswith('mkdir(') and 'ext' in ev:
        mark('main')
    elif rest.startswith('rename(') and '/ready"' in rest:
        mark('ready')
    elif rest.startswith(('clone(', 'clone3(')) and 'CLONE_THREAD' not in rest and 'ready' in ev:
        mark('fork')
    elif rest.startswith('execve(') and '/wrapper"' in rest:
        mark('wrap')
    elif rest.startswith('execve(') and '/bootstrap"' in rest:
        mark('boot')
    elif rest.startswith('execve("/bin/sh"'):
        mark('sh')
    elif rest.startswith('exit_group') and 'sh' in ev:
        mark('end')
phases = [('extension load', 'ext', 'main'), ('extension init', 'main', 'ready'),
          ('register', 'ready', 'fork'), ('wrapper', 'wrap', 'boot'),
          ('runtime init', 'boot', 'sh'), ('child', 'sh', 'end')]
for name, a, b in phases:
    if a in ev and b in ev:
        print('%s\t%.3f' % (name, ev[b] - ev[a]))
r = json.loads(open(sys.argv[2]).readline())
print('first response\t%.3f' % (r['initMs'] + r['responseMs']))
PY
}

# Three sandboxes in turn: the recorder; the same layer with RUNTRAIL_DISABLE=1 (the extension
# starts, registers and waits for events, nothing else; the wrapper execs the runtime as is: what
# any extension and a wrapper script cost, the floor under the recorder's own work); none.
for _ in $(seq "$COLD"); do
    one "--store $TMP/store" "$TMP/rec"
    one "--store $TMP/store --env RUNTRAIL_DISABLE=1" "$TMP/bare"
    one --no-record "$TMP/plain"
    [ -z "$REF" ] || one "$REF_MODE" "$TMP/ref" "$REF_RUNTRAIL"
done

# Starting the extension binary alone (loader + libraries) vs /bin/true, 50 runs each.
start_ms() {
    python3 - "$@" <<'PY'
import subprocess, sys, time
runs = []
for _ in range(50):
    t = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
    runs.append((time.perf_counter() - t) * 1000)
runs.sort()
print('%.3f' % runs[len(runs) // 2])
PY
}
ext_start=$(start_ms "$LAYER/extensions/runtrail" --version)
true_start=$(start_ms /bin/true)

echo "cold start breakdown: $COLD cold starts of the C sample traced with $TRACER (ms)"
python3 - "$TMP/rec" "$TMP/bare" "$TMP/plain" "$TRACER" ${REF:+"$TMP/ref"} <<'PY'
import collections, sys
def load(path):
    v = collections.defaultdict(list)
    for line in open(path):
        k, x = line.rstrip('\n').split('\t')
        v[k].append(float(x))
    # the median, and the first and third quartiles: a phase of a few ms moves by as much
    # from run to run on a busy VM, and the spread says how far a median can be trusted
    return {k: tuple(sorted(x)[int(q * (len(x) - 1) + 0.5)] for q in (0.5, 0.25, 0.75))
            for k, x in v.items()}
rec, bare, plain = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
ref = load(sys.argv[5]) if len(sys.argv) > 5 else None
def cell(v):
    return '%.2f (%.2f-%.2f)' % v if v is not None else '-'
def refcell(k):
    return ' %20s' % cell(ref.get(k)) if ref is not None else ''
print('%-18s %20s %20s %20s' % ('', 'recorder', 'extension only', 'no-record') +
      (' %20s' % 'ref recorder' if ref is not None else ''))
keys = (['extension start', 'register', 'wrapper exec', 'wrapper run', 'runtime exec',
         'runtime init', 'first next', 'handler']
        if sys.argv[4] == 'perf' else
        ['extension load', 'extension init', 'register', 'wrapper', 'runtime init', 'child'])
for k in keys + ['first response']:
    print('%-18s %20s %20s %20s' % (k, cell(rec.get(k)), cell(bare.get(k)), cell(plain.get(k))) +
          refcell(k))
def added(a):
    if 'first response' not in a or 'first response' not in plain:
        return '-'
    return '%+.2f' % (a['first response'][0] - plain['first response'][0])
print('%-18s %20s %20s' % ('added', added(rec), added(bare)) +
      (' %20s %20s' % ('', added(ref)) if ref is not None else ''))
PY
printf '%-18s %20s %20s %20s\n' "process start (ms)" "$ext_start" "" "$true_start"
echo "(medians, first and third quartiles in brackets; extension only: the same layer with"
echo "RUNTRAIL_DISABLE=1, the extension registering and nothing else, the runtime run as is;"
echo "added: its median first response minus no-record's; process start: runtrail-extension"
ref_note=${REF:+; ref recorder: the recorder of $REF}${REF_ENV:+ with $REF_ENV}
echo "--version vs /bin/true, median of 50$ref_note)"
bash "$(dirname "$0")/host.sh" --line # what kind of host these figures are from
