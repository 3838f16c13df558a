#!/usr/bin/env bash
# Benchmark of the interposer (one run, side by side): a syscall-heavy program (openat+close
# loop; socket+connect+close to a loopback listener; 64-byte writes on a connected UDP socket,
# counted like any outbound connection's; kill(self, 0); and a function's mix per op: 8 file
# reads, one TCP connection and 16 datagrams, whose wall ratio is the <= 1.10x target) run
# natively, with the interposer loaded but no ring (pass-through), under `runtrail record`,
# under `strace -f` and under `strace -f --seccomp-bpf`, tracing the same calls. Prints ns per
# operation, ratios to native, how much less time runtrail adds than strace, and ns per
# recorded event (best of 5 runs, variants interleaved; the best-vs-median summary at the end
# shows how much the load on the machine moved them). The column "notsc" is runtrail record
# with RUNTRAIL_TSC=0 (every stamp from clock_gettime), so both time stamp paths are measured on
# any host; the host line at the end (host.sh) says which clocksource the kernel used, its
# boot flags and what a page fault costs there, and the load. Targets: runtrail <= 1.10x
# native, >= 20x less added time than strace, <= 100 ns per recorded event on both paths.
# Then the kill and openat loops again as BENCH_EV_ROUNDS (25) short runs, native, recording
# and recording with RUNTRAIL_TSC=0 alternately: the added CPU ns per event on both paths at
# the quartiles of the runs, steadier on a busy host than a best of 5; the mixed loop the same
# way (BENCH_MIX_ROUNDS, 15), as ratios at the quartiles. Then the hook's own cost
# per call in the calling thread, on both paths (`preload pair`: hooked and raw system calls
# alternately in one process, each timed with the TSC; x86-64).
# Then process start (posix_spawn + wait4 of a program that returns at once, BENCH_SPAWN rounds
# of one start per variant in turn): plain, LD_PRELOAD of an empty library, the interposer
# without a ring, recording into a `runtrail record` ring (and ref, recording with BENCH_REF);
# wall, each child's CPU time and page faults (target: <= 50 us added by the interposer); the
# same for `sh -c 'uname -s'` (BENCH_SPAWN_SH rounds, 300), the C sample's popen: a shell's PATH
# search, vfork and exec of a second preloaded program; after each, the interposer's start as the
# recording processes' own proc_start events time it (what every bundle carries from the hosts
# it runs on); and the instructions of one start under callgrind, when valgrind is installed.
# Not a test. Usage: tests/bench/preload.sh   (BENCH_N scales the loop counts; BENCH_REF=SO adds
# a column "ref": runtrail record with another build of the interposer, e.g. the previous one,
# measured side by side in the same run)
set -u
RT_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
RUNTRAIL="$RT_ROOT/$BUILD/bin/runtrail"
P="$RT_ROOT/$BUILD/tests/bench/preload"
SO="$RT_ROOT/$BUILD/lib/libruntrail-preload.so"
N=${BENCH_N:-200000}
TMP=$(mktemp -d /tmp/rt-bench.XXXXXX)
export RUNTRAIL_CACHE="$TMP/catalog" # the catalog of the bench's own (see tests/bench/run.sh)
server=
cleanup() { [ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
for f in "$P" "$SO" "$RUNTRAIL"; do [ -x "$f" ] || [ -f "$f" ] || { echo "bench/preload: build first ($f missing)"; exit 1; }; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) dport=$(free_port)
"$P" serve "$port" &
server=$!
"$P" serve "$dport" udp &
server="$server $!"
sleep 0.3
echo data >"$TMP/file"
have_strace=1; strace -f -o /dev/null true 2>/dev/null || have_strace=0
have_seccomp=0; [ $have_strace = 1 ] && strace -f --seccomp-bpf -o /dev/null true 2>/dev/null && have_seccomp=1
TRACE=openat,close,socket,connect,write,kill,read
REF=${BENCH_REF:-}

# once VARIANT MODE COUNT ARG -> "MODE WALL_NS CPU_NS" per op from one run
once() {
    local variant=$1 mode=$2 n=$3 arg=$4
    case $variant in strace|seccomp) n=$((n / 20 > 500 ? n / 20 : 500)) ;; esac # ~50x slower
    case $variant in
    native) "$P" "$mode" "$n" "$arg" ;;
    passthru) LD_PRELOAD=$SO "$P" "$mode" "$n" "$arg" ;;
    runtrail) "$RUNTRAIL" record --quiet --max-events 1000 --store "$TMP/st" -- "$P" "$mode" "$n" "$arg" ;;
    notsc) RUNTRAIL_TSC=0 "$RUNTRAIL" record --quiet --max-events 1000 --store "$TMP/st" -- "$P" "$mode" "$n" "$arg" ;;
    ref) RUNTRAIL_PRELOAD=$REF "$RUNTRAIL" record --quiet --max-events 1000 --store "$TMP/st" -- "$P" "$mode" "$n" "$arg" ;;
    strace) strace -f -qq -e trace=$TRACE -o /dev/null "$P" "$mode" "$n" "$arg" ;;
    seccomp) strace -f -qq --seccomp-bpf -e trace=$TRACE -o /dev/null "$P" "$mode" "$n" "$arg" ;;
    esac
}
# best VALUES... -> the smallest (the run least disturbed by other load on the machine)
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
# median VALUES... -> the middle one (what a typical run sees)
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

declare -A res cpu mres mcpu
# workload: mode count arg events-per-op
workloads=("open $N $TMP/file 1" "connect $((N / 20)) $port 3" "write $N $dport 0" "kill $N - 1")
# probes (issue 12): a failing stat (always recorded: 1 event per op) and a repeated successful
# one (folded into the process's probe_repeats count: no event)
workloads+=("stat $N $TMP/missing 1" "stat_rep $N $TMP/file 0")
# a function's mix (the issue-15 target, <= 1.10x): 8 file reads, one TCP connection and 16
# datagrams per op: 8 openat + socket + connect + outbound = 11 events
workloads+=("mixed $((N / 20)) $TMP/file:$port:$dport 11")
TRACE=$TRACE,stat,newfstatat
variants=(native passthru runtrail notsc)
[ -n "$REF" ] && { [ -f "$REF" ] || { echo "bench/preload: BENCH_REF $REF missing"; exit 1; }; variants+=(ref); }
[ $have_strace = 1 ] && variants+=(strace)
[ $have_seccomp = 1 ] && variants+=(seccomp)
for w in "${workloads[@]}"; do
    set -- $w
    declare -A walls=() cpus=()
    for rep in 1 2 3 4 5; do # variants interleaved, so drift hits them alike
        for v in "${variants[@]}"; do
            r=$(once "$v" "$1" "$2" "$3")
            set -- $w $r
            [ $# -eq 7 ] || continue
            walls[$v]+=" $6" cpus[$v]+=" $7"
            set -- $w
        done
    done
    for v in "${variants[@]}"; do
        res[$1,$v]=$(best ${walls[$v]:-0})
        cpu[$1,$v]=$(best ${cpus[$v]:-0})
        mres[$1,$v]=$(median ${walls[$v]:-0})
        mcpu[$1,$v]=$(median ${cpus[$v]:-0})
    done
    echo "bench/preload: $1 done" >&2
done

printf '\n%-14s' "ns/op"; for v in "${variants[@]}"; do printf '%12s' "$v"; done; echo
for w in "${workloads[@]}"; do
    set -- $w
    printf '%-14s' "$1"; for v in "${variants[@]}"; do printf '%12s' "${res[$1,$v]}"; done; echo
done
printf '\n%-14s' "x native"; for v in "${variants[@]}"; do printf '%12s' "$v"; done; echo
for w in "${workloads[@]}"; do
    set -- $w
    printf '%-14s' "$1"
    for v in "${variants[@]}"; do printf '%12s' "$(awk -v a="${res[$1,$v]}" -v b="${res[$1,native]}" 'BEGIN{printf "%.3f", a/b}')"; done
    echo
done
echo
printf '%-14s%14s%16s%18s%18s\n' "workload" "rt added ns" "ns/rec. event" "strace/rt added" "seccomp/rt added"
for w in "${workloads[@]}"; do
    set -- $w
    add=$(awk -v a="${res[$1,runtrail]}" -v b="${res[$1,native]}" 'BEGIN{d=a-b; if (d<1) d=1; printf "%.1f", d}')
    per=$( [ "$4" -gt 0 ] && awk -v a="$add" -v e="$4" 'BEGIN{printf "%.1f", a/e}' || echo "-")
    s1=- s2=-
    [ $have_strace = 1 ] && s1=$(awk -v s="${res[$1,strace]}" -v b="${res[$1,native]}" -v a="$add" 'BEGIN{printf "%.0fx", (s-b)/a}')
    [ $have_seccomp = 1 ] && s2=$(awk -v s="${res[$1,seccomp]}" -v b="${res[$1,native]}" -v a="$add" 'BEGIN{printf "%.0fx", (s-b)/a}')
    printf '%-14s%14s%16s%18s%18s\n' "$1" "$add" "$per" "$s1" "$s2"
done
echo
echo "pass-through cost (interposer loaded, RUNTRAIL_RING unset), ns/op:"
for w in "${workloads[@]}"; do
    set -- $w
    awk -v a="${res[$1,passthru]}" -v b="${res[$1,native]}" -v m="$1" 'BEGIN{printf "  %-12s %+.1f\n", m, a-b}'
done
echo
echo "CPU time of the traced thread, ns/op (robust to other load; excludes the tracer's and the"
echo "consumer's own CPU):"
printf '%-14s%12s%12s%12s%14s%16s%12s%16s' "" native passthru runtrail "rt x native" "ns/rec. event" \
    notsc "notsc ns/ev."
[ -n "$REF" ] && printf '%12s%16s' ref "ref ns/event"
echo
for w in "${workloads[@]}"; do
    set -- $w
    awk -v m="$1" -v a="${cpu[$1,native]}" -v p="${cpu[$1,passthru]}" -v r="${cpu[$1,runtrail]}" -v e="$4" \
        -v f="${cpu[$1,notsc]}" \
        'BEGIN{printf "%-14s%12.1f%12.1f%12.1f%14.3f%16s%12.1f%16s", m, a, p, r, r/a, (e>0 ? sprintf("%.1f", (r-a)/e) : "-"), f, (e>0 ? sprintf("%.1f", (f-a)/e) : "-")}'
    [ -n "$REF" ] && awk -v a="${cpu[$1,native]}" -v r="${cpu[$1,ref]}" -v e="$4" \
        'BEGIN{printf "%12.1f%16s", r, (e>0 ? sprintf("%.1f", (r-a)/e) : "-")}'
    echo
done
echo "(open, kill: 1 recorded event per op; connect: socket+connect+outbound = 3; write: byte counting only;"
echo " mixed: 8 openat+read+close, socket+connect+close, 16 datagram writes = 11 events)"
echo
echo "runtrail x native, best of 5 vs median of 5 (wall; CPU of the traced thread):"
for w in "${workloads[@]}"; do
    set -- $w
    awk -v m="$1" -v bw="${res[$1,runtrail]}" -v nw="${res[$1,native]}" -v mw="${mres[$1,runtrail]}" \
        -v mnw="${mres[$1,native]}" -v bc="${cpu[$1,runtrail]}" -v nc="${cpu[$1,native]}" \
        -v mc="${mcpu[$1,runtrail]}" -v mnc="${mcpu[$1,native]}" \
        'BEGIN{printf "  %-12s wall %.3f / %.3f   CPU %.3f / %.3f\n", m, bw/nw, mw/mnw, bc/nc, mc/mnc}'
done

# ---- per recorded event, many short interleaved runs ----
# The best of 5 above moves by more than 100 ns per event from one run to the next on a busy
# VM (an openat's own time here varies by more than the recorder adds); BENCH_EV_ROUNDS short
# runs of the kill and the openat loops, native, recording and recording with RUNTRAIL_TSC=0
# alternately (and ref, with BENCH_REF), give the added CPU per event on both time stamp paths
# at the median and quartiles of the runs.
EV_ROUNDS=${BENCH_EV_ROUNDS:-25}
EV_N=$((N / 2))
evvariants=(native runtrail notsc)
[ -n "$REF" ] && evvariants+=(ref)
# as_variant V CMD... -> CMD's output, run natively (native) or under `runtrail record`:
# runtrail, notsc (RUNTRAIL_TSC=0: every stamp from the clock), ref (the BENCH_REF interposer)
as_variant() {
    local v=$1 rec=("$RUNTRAIL" record --quiet --max-events 10000000 --store "$TMP/st" --)
    shift
    case $v in
    native) "$@" ;;
    runtrail) "${rec[@]}" "$@" ;;
    notsc) RUNTRAIL_TSC=0 "${rec[@]}" "$@" ;;
    ref) RUNTRAIL_PRELOAD=$REF "${rec[@]}" "$@" ;;
    esac
}
quart() { printf '%s\n' "$@" | sort -g | awk -v q="$Q" '{v[NR] = $1} END {print v[int((NR - 1) * q) + 1]}'; }
# vs_native FMT OP "RUNS" "NATIVE_RUNS" -> a variant's runs against native's at the first
# quartile, the median and the third, each printed with FMT: a - b (OP -) or a / b (OP /)
vs_native() {
    local fmt=$1 op=$2 runs=$3 native=$4 out="" Q
    for Q in 0.25 0.5 0.75; do
        out+=$(awk -v a="$(quart $runs)" -v b="$(quart $native)" -v f="$fmt" -v op="$op" \
            'BEGIN{printf f, op == "/" ? a / b : a - b}')
    done
    printf '%s' "$out"
}
for m in kill:x open:"$TMP/file"; do
    declare -A evcpu=()
    for rep in $(seq "$EV_ROUNDS"); do
        for v in "${evvariants[@]}"; do
            set -- $(as_variant "$v" "$P" "${m%%:*}" "$EV_N" "${m#*:}")
            [ $# -eq 3 ] || continue
            evcpu[$v]+=" $3"
        done
    done
    echo
    echo "${m%%:*}: $EV_ROUNDS interleaved runs of $EV_N each, CPU ns added per recorded event (a run's"
    echo "CPU ns per op minus native's at the same rank), first quartile / median / third:"
    for v in "${evvariants[@]}"; do
        [ "$v" = native ] && continue
        [ -n "${evcpu[$v]:-}" ] && [ -n "${evcpu[native]:-}" ] || { printf '  %-10s no run finished\n' "$v"; continue; }
        printf '  %-10s%s\n' "$v" "$(vs_native %9.1f - "${evcpu[$v]}" "${evcpu[native]}")"
    done
    unset evcpu
done

# ---- the mixed loop, many short interleaved runs ----
# On a VM whose vCPUs the host schedules, whole runs of the mixed loop (its TCP connections to
# the local server) fall in two modes tens of percent apart, so a best of 5 can pair a fast
# native run with a slow recorded one or the other way round. BENCH_MIX_ROUNDS short runs per
# variant, interleaved, and the ratio of their quartiles: what the issue's <= 1.10x target is
# read against where the best of 5 above is noise.
MIX_ROUNDS=${BENCH_MIX_ROUNDS:-15}
MIX_N=$((N / 100 > 50 ? N / 100 : 50))
declare -A mxw=() mxc=()
for rep in $(seq "$MIX_ROUNDS"); do
    for v in "${evvariants[@]}"; do
        set -- $(as_variant "$v" "$P" mixed "$MIX_N" "$TMP/file:$port:$dport")
        [ $# -eq 3 ] || continue
        mxw[$v]+=" $2" mxc[$v]+=" $3"
    done
done
echo
echo "mixed: $MIX_ROUNDS interleaved runs of $MIX_N ops each, x native at the same rank (wall; CPU of"
echo "the traced thread), first quartile / median / third:"
for v in "${evvariants[@]}"; do
    [ "$v" = native ] && continue
    [ -n "${mxw[$v]:-}" ] && [ -n "${mxw[native]:-}" ] || { printf '  %-10s no run finished\n' "$v"; continue; }
    printf '  %-10s wall%s   CPU%s\n' "$v" "$(vs_native %7.3f / "${mxw[$v]}" "${mxw[native]}")" \
        "$(vs_native %7.3f / "${mxc[$v]}" "${mxc[native]}")"
done
unset mxw mxc

# ---- the hook's own cost per call, in the calling thread ----
# `preload pair` times each call alone (fenced rdtsc), the hooked libc call and the same system
# call made raw, alternately in one process: what whole runs swing by on a busy VM (hundreds of
# ns per call here) cancels out, and the figure is the hook's own work on the calling thread
# (the consumer's is not in it). BENCH_PAIR_ROUNDS (7) runs per variant, interleaved; the
# median of the runs' quartiles, minus native's (libc's wrapper, ~10 ns).
PAIR_ROUNDS=${BENCH_PAIR_ROUNDS:-7}
PAIR_N=$((N / 2))
for m in kill open:"$TMP/file"; do
    declare -A pq=()
    for rep in $(seq "$PAIR_ROUNDS"); do
        for v in "${evvariants[@]}"; do
            set -- $(as_variant "$v" "$P" pair "$PAIR_N" "$m")
            [ $# -eq 6 ] || continue
            pq[$v,1]+=" $3" pq[$v,2]+=" $4" pq[$v,3]+=" $5" pq[$v,4]+=" $6"
        done
    done
    why=
    [ -z "${pq[native,2]:-}" ] && why="no native run finished"
    [[ " ${pq[native,2]:-} " == *" - "* ]] && why="preload pair needs x86-64"
    if [ -n "$why" ]; then
        echo
        echo "${m%%:*}: the hook's own cost per call not measured ($why)"
        unset pq
        continue
    fi
    echo
    echo "${m%%:*}: the hook's own cost per recorded call, in the calling thread ($PAIR_ROUNDS runs of"
    echo "$PAIR_N pairs, hooked vs raw system call alternately, each timed alone; ns added over"
    echo "native's, median of the runs' first quartile / median / third / mean of the middle half):"
    for v in "${evvariants[@]}"; do
        [ "$v" = native ] && continue
        [ -n "${pq[$v,2]:-}" ] || { printf '  %-10s no run finished\n' "$v"; continue; }
        line=""
        for q in 1 2 3 4; do
            line+=$(awk -v a="$(median ${pq[$v,$q]})" -v b="$(median ${pq[native,$q]})" 'BEGIN{printf "%9.1f", a - b}')
        done
        printf '  %-10s%s\n' "$v" "$line"
    done
    unset pq
done

# ---- process start ----
# One loop spawns every variant in turn (preload spawnmix: libc's posix_spawn, each child's own
# CPU time and faults from wait4), so the machine's drift from run to run, which moved whole
# runs by more than the 50 us target, hits every variant alike.
EMPTY="$RT_ROOT/$BUILD/tests/bench/empty.so"
S=${BENCH_SPAWN:-1000}
mix=$("$RUNTRAIL" record --quiet --max-events 10000000 --store "$TMP/st-mix" -- \
    "$P" spawnmix "$S" "$P" "$EMPTY" "$SO" "$REF")
echo
echo "process start ($S rounds, each spawning a program that returns at once once per variant,"
echo "in turn), per process: median wall and children's CPU time, CPU mean of the fastest 95%,"
echo "added = median CPU minus plain's, minor page faults (mean):"
printf '  %-10s%12s%12s%12s%12s%10s\n' "" "wall us" "CPU us" "CPU mean" "CPU added" faults
mixrows() { # the spawnmix lines in $1, with the CPU added over plain's
    local plain_cpu
    plain_cpu=$(awk '$2 == "plain" {print $4}' <<<"$1")
    awk -v p="${plain_cpu:-0}" '$1 == "spawnmix" {printf "  %-10s%12.1f%12.1f%12.1f%+12.1f%10.1f\n", $2, $3/1e3, $4/1e3, $5/1e3, ($4-p)/1e3, $6}' <<<"$1"
}
mixrows "$mix"
# What the recorder itself says of those starts: each recording process's proc_start event
# spans the interposer's start in it (its constructor's entry to the start record, wall time;
# docs/format.md), the figure every bundle carries from the hosts it runs on. Read back from
# the bundle the run above wrote, by variant (spawnmix names each child's argv[0] after it;
# a process whose parent is a tagged one counts as its parent's).
starts() { # starts DIR -> a line per recording variant: its proc_start durations' median
    "$RUNTRAIL" export --format jsonl --table events "$1" 2>/dev/null | python3 -c '
import json, sys
rows = [r for r in map(json.loads, sys.stdin) if r["op"] == "proc_start"]
tag = {r["pid"]: r["argv"][0] for r in rows if r["argv"] and r["argv"][0] in ("runtrail", "ref")}
by = {}
for r in rows:
    v = tag.get(r["pid"]) or tag.get(r["args"]["ppid"])
    if v:
        by.setdefault(v, []).append(r["dur_ns"] / 1e3)
for v in ("runtrail", "ref"):
    if by.get(v):
        d = sorted(by[v])
        print("  %-10s%12.1f us, median of %d (quartiles %.1f-%.1f)"
              % (v, d[len(d) // 2], len(d), d[len(d) // 4], d[3 * len(d) // 4]))'
}
echo "the interposer's start as its proc_start events time it (wall, constructor to start record):"
starts "$TMP/st-mix"
# The same for what the C sample's popen starts: `sh -c 'uname -s'`, a shell that searches its
# PATH, vforks and execs a second preloaded program (docs/recorder.md, "Tenth pass").
SS=${BENCH_SPAWN_SH:-300}
mix=$("$RUNTRAIL" record --quiet --max-events 10000000 --store "$TMP/st-mix-sh" -- \
    "$P" spawnmix "$SS" /bin/sh "$EMPTY" "$SO" "$REF" -- -c 'uname -s >/dev/null')
echo
echo "the same for sh -c 'uname -s' ($SS rounds; two preloaded processes per start):"
printf '  %-10s%12s%12s%12s%12s%10s\n' "" "wall us" "CPU us" "CPU mean" "CPU added" faults
mixrows "$mix"
echo "the interposer's start as its proc_start events time it (per process: sh and uname):"
starts "$TMP/st-mix-sh"
# Instructions per process start (callgrind: the same count on any host and any load), when
# valgrind is installed (make bench installs it).
if command -v valgrind >/dev/null; then
    VG=(valgrind --tool=callgrind --callgrind-out-file=/dev/null)
    REC=("$RUNTRAIL" record --quiet --store "$TMP/st" --)
    ir() { "$@" 2>&1 | awk '/Collected/ {print $4}'; } # the count of the valgrind the command runs
    echo
    echo "instructions per process start and exit (valgrind --tool=callgrind, user space: the loader,"
    echo "constructors, the hooks the program calls; the kernel's share is in the times above):"
    i_plain=$(ir env -u LD_PRELOAD "${VG[@]}" "$P" nop - -)
    i_empty=$(ir env LD_PRELOAD="$EMPTY" "${VG[@]}" "$P" nop - -)
    i_pass=$(ir env LD_PRELOAD="$SO" "${VG[@]}" "$P" nop - -)
    i_rec=$(ir "${REC[@]}" "${VG[@]}" "$P" nop - -)
    printf '  %-10s%12s%12s\n' "" instr "added"
    for v in plain:$i_plain empty:$i_empty passthru:$i_pass runtrail:$i_rec; do
        printf '  %-10s%12s%+12d\n' "${v%%:*}" "${v#*:}" $(( ${v#*:} - i_plain ))
    done
    # Per recorded event: the same loops natively and under `runtrail record`, the difference
    # over the loop count. The share of the per-event time that instructions explain; the rest
    # is memory (the ring's lines) and the clock.
    echo
    echo "instructions per recorded event (callgrind, 20000-op loops, runtrail record minus native):"
    for m in kill:x open:"$TMP/file"; do
        nat=$(ir "${VG[@]}" "$P" "${m%%:*}" 20000 "${m#*:}")
        rec=$(ir "${REC[@]}" "${VG[@]}" "$P" "${m%%:*}" 20000 "${m#*:}")
        printf '  %-10s%12d\n' "${m%%:*}" $(( (rec - nat) / 20000 ))
    done
else
    echo "(instructions per process start and per event: skipped, valgrind is not installed)"
fi
echo
bash "$(dirname "$0")/host.sh" --line # the clocksource, the kernel's flags, a fault's cost
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
