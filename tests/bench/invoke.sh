#!/usr/bin/env bash
# Benchmark: what recording costs a Lambda invocation. 2000 invocations of the C sample
# (samples/c-bootstrap) through the local emulator, without the recorder (--no-record) and
# with it (the runtrail layer: extension, Runtime API proxy, preload, local folder store), in
# one run, side by side (ROUNDS interleaved rounds per mode, pooled, so that a burst of load
# on a shared machine does not land on one mode only): p50/p99 response latency (delivery of the event to the runtime's
# response, as the emulator measures it) and completion (until the extension is back in
# event/next), the cold start (sandbox start to the first response, median of COLD runs), and
# the extension's peak RSS and its largest PSS; the C sample's response again with the recorder
# less its interposer (which splits the added latency between the interposer, in the processes
# the handler starts, and the extension with its proxy); plus the same with a no-op handler
# ({"noop":true}), which shows the emulator's own round trip and the recorder's fixed cost per invocation; and the
# extension's own CPU per invocation, from the bundles' META recorder_cpu_ns, and the
# interposer's start in the processes each invocation starts, from their proc_start events'
# durations (both what the bundles say, as they would on Lambda); and the recorder again with
# the store Lambda uses, S3 (s3rver on loopback, when `npm ci` installed it): the response, and
# the extension's CPU per invocation, which then holds a signed PutObject per bundle instead of
# a file's creation (completion waits on s3rver's PUT, which is not S3's). Targets (issue
# 4): p50 added <= 0.3 ms, p99 added <= 1 ms, cold start added <= 5 ms, RSS <= 10 MB. The recorded runs hash the recorder layer (invoke sets
# RUNTRAIL_LAYERS_DIR), not the host's /opt. Where the cold start goes: tests/bench/coldstart.sh;
# figures and their explanation: docs/deploy.md (Overhead). Not a test: it prints a table.
# Usage: tests/bench/invoke.sh   (N=2000 ROUNDS=4 COLD=15 BUILD=build S3=1|0)
set -u
RT_ROOT=${RT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
N=${N:-2000}
COLD=${COLD:-15}
ROUNDS=${ROUNDS:-4}
RUNTRAIL=$RT_ROOT/$BUILD/bin/runtrail
BOOTSTRAP=$RT_ROOT/$BUILD/samples/c/bootstrap
LAYER=$RT_ROOT/$BUILD/layer
TASK=$RT_ROOT/samples/c-bootstrap
EVENT=$RT_ROOT/samples/events/sqs-batch.json
# The stores (and the rest of the bench's files) go to tmpfs when there is one: on a VM whose
# /tmp is ext4 with many files deleted lately (a test suite's), creating each bundle's file
# cost up to 2 ms of the extension's CPU (ext4's inode allocator skipping recently deleted
# inodes), which the completion and extension-CPU rows then measured instead of the recorder.
# On Lambda the store is S3. TMPDIR overrides.
BENCH_DIR=${TMPDIR:-/tmp}
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && BENCH_DIR=/dev/shm
TMP=$(mktemp -d "$BENCH_DIR/rt-bench.XXXXXX")
export RUNTRAIL_CACHE="$TMP/catalog" # the catalog of the bench's own (see tests/bench/run.sh)
SAMPLER=
S3_PID=
trap '[ -n "$SAMPLER" ] && kill $SAMPLER 2>/dev/null; [ -n "$S3_PID" ] && kill $S3_PID 2>/dev/null
      rm -rf "$TMP"' EXIT
for f in "$RUNTRAIL" "$BOOTSTRAP"; do
    [ -x "$f" ] || { echo "bench invoke: $f is missing; run make first" >&2; exit 2; }
done
RECORD=1
[ -x "$LAYER/extensions/runtrail" ] || RECORD=0
# The S3 store: s3rver (the npm test peer) on a loopback port, for the recorded rounds that
# store there. Without it (no `npm ci`, or S3=0), those rows are left out and say why.
S3=${S3:-1}
S3RVER=$RT_ROOT/node_modules/.bin/s3rver
S3_WHY=
if [ $RECORD = 1 ] && [ "$S3" = 1 ]; then
    if [ -x "$S3RVER" ] && command -v node >/dev/null; then
        S3_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        mkdir -p "$TMP/s3rver"
        NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" -d "$TMP/s3rver" -a 127.0.0.1 \
            -p "$S3_PORT" -s --configure-bucket bench >"$TMP/s3rver.log" 2>&1 &
        S3_PID=$!
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null && break
            sleep 0.1
        done
        (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null || { S3=0; S3_WHY="s3rver did not start"; }
    else
        S3=0
        S3_WHY="s3rver is not installed (make test-deps, or npm ci)"
    fi
else
    S3=0
    [ $RECORD = 1 ] && S3_WHY="S3=0"
fi
# what the sandbox (and runtrail pull, reading the bundles back) needs to reach it; the
# sandbox's environment is the emulator's, not this shell's
S3_ENV=(AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
    AWS_ENDPOINT_URL=http://127.0.0.1:${S3_PORT:-0})

# stats FILE FIELD -> "p50 p99 mean" (ms) over the warm invocations of a --report file
stats() {
    python3 - "$1" "$2" <<'PY'
import json, sys
vals = sorted(json.loads(l)[sys.argv[2]] for l in open(sys.argv[1])
              if not json.loads(l)["coldStart"] and json.loads(l)["status"] == "ok")
if not vals:
    print("nan nan nan"); sys.exit()
pick = lambda q: vals[min(len(vals) - 1, int(q * len(vals)))]
print("%.4f %.4f %.4f" % (pick(0.50), pick(0.99), sum(vals) / len(vals)))
PY
}
# cold_once MODE... -> ms from sandbox start to the first response of one fresh sandbox
cold_once() {
    "$RUNTRAIL" invoke "$@" --quiet --task-root "$TASK" --event "$EVENT" \
        --report "$TMP/cold.json" -- "$BOOTSTRAP" >/dev/null 2>>"$TMP/cold.err"
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d["initMs"]+d["responseMs"])' "$TMP/cold.json"
}

echo "invoke benchmark: $N invocations of the C sample through the local Lambda emulator," \
    "in $ROUNDS interleaved rounds per mode; stores in $BENCH_DIR"
echo '{"noop":true}' >"$TMP/noop.json"
# One round: N/ROUNDS invocations of MODE (plain|rec) with EVENT, appended to TAG's report.
# The modes alternate round by round, so a burst of load on this shared machine lands on both.
per=$(( (N + ROUNDS - 1) / ROUNDS ))
round() { # round MODE EVENT TAG
    local mode=$1 event=$2 tag=$3 opt=(--no-record)
    [ "$mode" = rec ] && opt=(--store "$TMP/store-$tag")
    if [ "$mode" = s3 ]; then # one function name per tag: the pull below reads them apart
        opt=(--store "s3://bench/trails" --function-name "bench-$tag")
        for kv in "${S3_ENV[@]}"; do opt+=(--env "$kv"); done
    fi
    # The recorder without its interposer: the layer with libruntrail-preload.so left out, so
    # the runtime and the processes it starts run unpreloaded, and with the /proc sampler off
    # (which would otherwise read /proc about each process the interposer no longer covers):
    # what the extension, its proxy and its sealing add, and so, against the full recorder, what
    # the interposer in the function's processes adds.
    [ "$mode" = nopre ] && opt=(--no-record --layer "$TMP/layer-nopre"
        --env "RUNTRAIL_STORE=$TMP/store-$tag" --env RUNTRAIL_PROC_SAMPLE_MS=0)
    if [ "$mode" = s3 ]; then echo s3; else echo folder; fi >"$TMP/store-kind"
    "$RUNTRAIL" invoke "${opt[@]}" --quiet --task-root "$TASK" --event "$event" --repeat "$per" \
        --report "$TMP/r.json" -- "$BOOTSTRAP" >/dev/null 2>>"$TMP/$tag.err"
    cat "$TMP/r.json" >>"$TMP/$tag.json"
}
if [ $RECORD = 1 ]; then
    # Sample the extension's VmHWM (peak RSS) while the recorded runs go on: one process that
    # reads /proc (a process's comm and exe link, then its status) and starts none. The
    # pgrep and sed it replaces, started every 50 ms (pgrep reading every command line), made
    # the no-op handler's recorded p99 3-4 ms against 0.5 ms without them. Its PSS (the
    # shared pages, the event ring's among them, divided among the processes that map them)
    # from smaps_rollup, which walks the extension's page tables under its mmap lock: every
    # 500 ms only, the largest sample kept. Kept per store (the folder, or S3, which loads
    # libcurl): FILE.folder and FILE.s3, the store named in $TMP/store-kind when a round's
    # extension is first seen.
    python3 - "$(readlink -f "$LAYER/extensions/runtrail")" "$TMP/rss" "$TMP/pss" \
        "$TMP/store-kind" <<'PY' &
import os, sys, time
ext, rss_out, pss_out, kind_file, pid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], None
peaks, pss_peaks, pss_next, kind = {}, {}, 0.0, "folder"
def find():
    for p in os.listdir('/proc'):
        try:
            if p.isdigit() and open('/proc/%s/comm' % p).read() == 'runtrail\n' \
                    and os.readlink('/proc/%s/exe' % p) == ext:
                return p
        except OSError:
            pass
    return None
def keep(table, out, v):
    if v > table.get(kind, 0):
        table[kind] = v
        open('%s.%s' % (out, kind), 'w').write('%d\n' % v)
while True:
    if not pid:  # a new extension each round: looked for only while none is known
        pid = find()
        if pid:
            try:
                kind = open(kind_file).read().strip() or "folder"
            except OSError:
                kind = "folder"
    try:
        for line in open('/proc/%s/status' % pid) if pid else ():
            if line.startswith('VmHWM:'):
                keep(peaks, rss_out, int(line.split()[1]))
        if pid and time.monotonic() >= pss_next:
            pss_next = time.monotonic() + 0.5
            for line in open('/proc/%s/smaps_rollup' % pid):
                if line.startswith('Pss:'):
                    keep(pss_peaks, pss_out, int(line.split()[1]))
    except OSError:
        pid = None
    time.sleep(0.05 if pid else 0.2)
PY
    SAMPLER=$!
fi
if [ $RECORD = 1 ]; then
    cp -a "$LAYER" "$TMP/layer-nopre" && rm -f "$TMP/layer-nopre/runtrail/lib/libruntrail-preload.so"
fi
for r in $(seq "$ROUNDS"); do
    round plain "$EVENT" plain
    [ $RECORD = 1 ] && round rec "$EVENT" rec
    [ $RECORD = 1 ] && round nopre "$EVENT" nopre
    round plain "$TMP/noop.json" noop-plain
    [ $RECORD = 1 ] && round rec "$TMP/noop.json" noop-rec
    [ $S3 = 1 ] && round s3 "$EVENT" s3
    [ $S3 = 1 ] && round s3 "$TMP/noop.json" noop-s3
done
read -r p50a p99a meana <<<"$(stats "$TMP/plain.json" responseMs)"
read -r c50a c99a cmeana <<<"$(stats "$TMP/plain.json" durationMs)"
read -r n50a n99a nmeana <<<"$(stats "$TMP/noop-plain.json" responseMs)"
if [ $RECORD = 1 ]; then
    kill $SAMPLER 2>/dev/null; wait $SAMPLER 2>/dev/null; SAMPLER=
    read -r p50b p99b meanb <<<"$(stats "$TMP/rec.json" responseMs)"
    read -r c50b c99b cmeanb <<<"$(stats "$TMP/rec.json" durationMs)"
    read -r n50b n99b nmeanb <<<"$(stats "$TMP/noop-rec.json" responseMs)"
    read -r x50 x99 xmean <<<"$(stats "$TMP/nopre.json" responseMs)"
fi
if [ $S3 = 1 ]; then
    read -r s50 s99 smean <<<"$(stats "$TMP/s3.json" responseMs)"
    read -r sc50 sc99 scmean <<<"$(stats "$TMP/s3.json" durationMs)"
    read -r sn50 sn99 snmean <<<"$(stats "$TMP/noop-s3.json" responseMs)"
    # Read back as a responder would: pulled (each bundle verified) into a catalog of its own;
    # none of the user's own AWS settings (a profile, a session token, an S3 endpoint, which
    # comes before AWS_ENDPOINT_URL) may send it anywhere but s3rver.
    env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL_S3 -u AWS_CONFIG_FILE \
        -u AWS_SHARED_CREDENTIALS_FILE HOME="$TMP/home" "${S3_ENV[@]}" \
        "$RUNTRAIL" pull s3://bench/trails --cache "$TMP/s3cache" >"$TMP/s3pull.out" 2>&1 ||
        echo "bench invoke: runtrail pull from s3rver failed" >&2
fi
if [ $RECORD = 1 ]; then
    rss=$(cat "$TMP/rss.folder" 2>/dev/null || echo 0)
    pss=$(cat "$TMP/pss.folder" 2>/dev/null || echo 0)
    rss_s3=$(cat "$TMP/rss.s3" 2>/dev/null || echo 0)
    pss_s3=$(cat "$TMP/pss.s3" 2>/dev/null || echo 0)
fi
# Cold starts, alternating: the median of COLD fresh sandboxes per mode.
for i in $(seq "$COLD"); do
    cold_once --no-record >>"$TMP/cold-plain"
    [ $RECORD = 1 ] && cold_once --store "$TMP/store-rec" >>"$TMP/cold-rec"
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
colda=$(median "$TMP/cold-plain")
if [ $RECORD = 1 ]; then
    coldb=$(median "$TMP/cold-rec")
    bundles=$(find "$TMP/store-rec" -name '*.rtb' 2>/dev/null | wc -l)
fi

row() { # row LABEL A B TARGET
    if [ $RECORD = 1 ]; then
        awk -v l="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
            printf "%-28s %10.3f %10.3f %+10.3f %8.2fx   %s\n", l, a, b, b - a, (a > 0 ? b / a : 0), t }'
    else
        awk -v l="$1" -v a="$2" 'BEGIN { printf "%-28s %10.3f %10s %10s %9s\n", l, a, "-", "-", "-" }'
    fi
}
printf '%-28s %10s %10s %10s %9s   %s\n' "" "no-record" "recorder" "added" "ratio" "target (added)"
row "response p50 (ms)" "$p50a" "${p50b:-0}" "<= 0.3 ms"
row "response p99 (ms)" "$p99a" "${p99b:-0}" "<= 1 ms"
row "response mean (ms)" "$meana" "${meanb:-0}" ""
if [ $RECORD = 1 ]; then
    row "  p50, no interposer (ms)" "$p50a" "$x50" "(the layer without it, sampler off)"
    row "  p99, no interposer (ms)" "$p99a" "$x99" ""
fi
if [ $S3 = 1 ]; then
    row "  p50, S3 store (ms)" "$p50a" "$s50" "(the recorder storing to s3rver)"
    row "  p99, S3 store (ms)" "$p99a" "$s99" ""
fi
row "completion p50 (ms)" "$c50a" "${c50b:-0}" "(extension back in next)"
row "completion p99 (ms)" "$c99a" "${c99b:-0}" ""
row "cold start, median (ms)" "$colda" "${coldb:-0}" "<= 5 ms"
row "no-op handler p50 (ms)" "$n50a" "${n50b:-0}" "(emulator round trip)"
row "no-op handler p99 (ms)" "$n99a" "${n99b:-0}" ""
if [ $S3 = 1 ]; then
    row "  completion p50, S3 (ms)" "$c50a" "$sc50" "(waits on s3rver's PUT, not S3's)"
    row "  no-op p50, S3 store (ms)" "$n50a" "$sn50" ""
    row "  no-op p99, S3 store (ms)" "$n99a" "$sn99" ""
fi
if [ $RECORD = 1 ]; then
    awk -v r="$rss" 'BEGIN { printf "%-28s %10s %10.1f %10s %9s   %s\n", "extension peak RSS (MB)", "-", r / 1024, "", "", "<= 10 MB" }'
    awk -v r="$pss" 'BEGIN { printf "%-28s %10s %10.1f %10s %9s   %s\n", "extension PSS, largest (MB)", "-", r / 1024, "", "", "(sampled every 0.5 s)" }'
    if [ $S3 = 1 ]; then
        # which libcurl the extension loads: the layer's own (scripts/build-curl.sh), else the host's
        curl_why="(the host's libcurl and what it loads: no layer libcurl)"
        [ -f "$LAYER/runtrail/lib/libruntrail-curl.so" ] &&
            curl_why="<= 10 MB (the layer's libcurl: HTTP(S), OpenSSL)"
        awk -v r="$rss_s3" -v why="$curl_why" 'BEGIN { printf "%-28s %10s %10.1f %10s %9s   %s\n", "  peak RSS, S3 store (MB)", "-", r / 1024, "", "", why }'
        awk -v r="$pss_s3" 'BEGIN { printf "%-28s %10s %10.1f %10s %9s   %s\n", "  PSS, S3 store (MB)", "-", r / 1024, "", "", "" }'
    fi
    # The extension's own CPU per invocation, as each bundle's META says (recorder_cpu_ns: its
    # threads' CPU since the previous bundle), median over the warm bundles from the third on
    # (the first holds the extension's start, the second or the next few the CODE digest).
    # With S3, the bundles pulled back (the catalog's, by function name).
    for tag in rec noop-rec s3 noop-s3; do
        src=("$TMP/store-$tag")
        case $tag in *s3) [ $S3 = 1 ] || continue; src=(--cache "$TMP/s3cache" --function "bench-$tag") ;; esac
        "$RUNTRAIL" export --format jsonl "${src[@]}" 2>/dev/null | python3 -c '
import json, sys
v = sorted(r["recorder_cpu_ms"] for r in map(json.loads, sys.stdin)
           if r["recorder_cpu_ms"] is not None and not r["cold_start"] and r["seq"] > 1
           and r["request_id"] != "shutdown")
tag = sys.argv[1]
label = ("extension CPU, " + ("C sample" if tag == "rec" else "no-op") if tag.endswith("rec")
         else "  " + ("C sample" if tag == "s3" else "no-op") + ", S3 store") + " (ms)"
print("%-28s %10s %10.3f %10s %9s   %s" % (label, "-", v[len(v) // 2] if v else float("nan"),
      "", "", "(per warm invocation, median; META recorder_cpu_ns)" if tag.endswith("rec")
      else "(%d bundles pulled back)" % len(v)))' "$tag"
    done
    [ -n "$S3_WHY" ] && echo "  (no S3 rows: $S3_WHY)"
    # The interposer's start in the processes each invocation started, as the bundles say:
    # each proc_start event spans it (the constructor's entry to the start record, wall time;
    # docs/format.md), summed per warm invocation; the C sample's handler starts sh and uname.
    "$RUNTRAIL" export --format jsonl --table invocations --table events -o "$TMP/export-rec" \
        "$TMP/store-rec" >/dev/null 2>&1
    find "$TMP/export-rec" -name '*.jsonl' -path '*table=invocations*' -exec cat {} + >"$TMP/inv.jsonl"
    find "$TMP/export-rec" -name '*.jsonl' -path '*table=events*' -exec cat {} + | python3 -c '
import json, sys
inv = [json.loads(l) for l in open(sys.argv[1])]
warm = {r["request_id"] for r in inv
        if not r["cold_start"] and r["seq"] > 1 and r["request_id"] != "shutdown"}
cold = {r["request_id"] for r in inv if r["cold_start"]}
per = {}
for r in map(json.loads, sys.stdin):
    if r["op"] == "proc_start":
        n, t = per.get(r["request_id"], (0, 0))
        per[r["request_id"]] = (n + 1, t + r["dur_ns"] / 1e6)
for label, ids, what in (("interposer starts (ms)", warm, "per warm invocation"),
                         ("  in a cold start (ms)", cold, "the runtime and its first invocation")):
    v = sorted(per[i][1] for i in ids if i in per)
    n = sorted(per[i][0] for i in ids if i in per)
    print("%-28s %10s %10.3f %10s %9s   %s" % (label, "-", v[len(v) // 2] if v else float("nan"),
          "", "", "(%s, median; %d processes; proc_start durations)" % (what, n[len(n) // 2] if n else 0)))' \
        "$TMP/inv.jsonl"
    echo "bundles written: $bundles (of $((per * ROUNDS)) + $COLD)"
    # Where the extension's CPU goes: one more recorded run of THREAD_N C-sample invocations,
    # each of the extension's threads read every 20 ms (/proc/PID/task/TID/schedstat, ns on
    # CPU; its name from comm, see docs/deploy.md), the last reading per thread kept. Threads
    # that ended between two readings count as "(ended threads)": the process's utime + stime
    # (10 ms ticks) less the threads read. Then the same with the S3 store.
    cat >"$TMP/threads.py" <<'PY'
import os, subprocess, sys, time
ext, n, runtrail, task, event, boot, label = sys.argv[1:8]
n = int(n)
run = subprocess.Popen([runtrail, "invoke", "--quiet", "--task-root", task, "--event", event,
                        "--repeat", str(n)] + sys.argv[8:] + ["--", boot],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
tick = os.sysconf("SC_CLK_TCK")
def ticks_ns(path):  # utime + stime: a process's counts its ended threads too
    f = open(path + "/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000000000 // tick
def ns(path):  # CPU ns of a thread: schedstat (ns), else its ticks
    try:
        return int(open(path + "/schedstat").read().split()[0])
    except (OSError, ValueError, IndexError):
        return ticks_ns(path)
pid, last, total = None, {}, 0
while run.poll() is None:
    if pid is None:
        for p in os.listdir("/proc"):
            try:
                if p.isdigit() and os.readlink("/proc/%s/exe" % p) == ext:
                    pid = p
            except OSError:
                pass
    try:
        if pid:
            for t in os.listdir("/proc/%s/task" % pid):
                d = "/proc/%s/task/%s" % (pid, t)
                last[t] = (open(d + "/comm").read().strip(), ns(d))
            total = ticks_ns("/proc/" + pid)
    except (OSError, ValueError, IndexError):
        pass
    time.sleep(0.02)
by = {}
for name, v in last.values():
    by[name] = by.get(name, 0) + v
ended = total - sum(by.values())
if ended > 0:
    by["(ended threads)"] = ended
print("extension CPU by thread, C sample, %s (%d invocations; ms per invocation, share):"
      % (label, n))
for name, v in sorted(by.items(), key=lambda kv: -kv[1]):
    print("  %-26s %8.3f %6.1f%%" % (name, v / 1e6 / n, 100.0 * v / total if total else 0))
print("  %-26s %8.3f" % ("all", total / 1e6 / n))
PY
    threads() { # threads LABEL INVOKE-ARGS...
        python3 "$TMP/threads.py" "$(readlink -f "$LAYER/extensions/runtrail")" \
            "${THREAD_N:-600}" "$RUNTRAIL" "$TASK" "$EVENT" "$BOOTSTRAP" "$@"
    }
    threads "folder store" --store "$TMP/store-threads"
    if [ $S3 = 1 ]; then
        s3args=(--store s3://bench/trails --function-name bench-threads)
        for kv in "${S3_ENV[@]}"; do s3args+=(--env "$kv"); done
        threads "S3 store" "${s3args[@]}"
    fi
else
    echo "recorder: $LAYER/extensions/runtrail is not built, so only the baseline was measured"
fi
bash "$(dirname "$0")/host.sh" --line # what kind of host these figures are from
