#!/usr/bin/env bash
# Stress for the interposer and the ring under `runtrail record`: 4 processes x 8 threads x N
# opens (N=100000 by default; RT_STRESS_N overrides) while a 1 kHz timer signal's handler also
# calls open(), and one thread of each process forks mid-way. Every recorded open must be
# intact, and recorded + dropped (ring or writer) must account for all of them; errno is never
# disturbed (the program checks), nothing deadlocks (bounded by timeout), the forked children
# ran (marker files).
. "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
cd "$T_TMP" || exit 1
N=${RT_STRESS_N:-100000}
THREADS=8 PROCS=4
S="$RT_ROOT/$BUILD/tests/recorder/stress"
mkdir -p m1 m2 m3 m4
start=$(date +%s)
timeout 120 "$RUNTRAIL" record --quiet --max-events 4000000 --store "$T_TMP/st" -- sh -c \
    "$S $N $THREADS m1 & $S $N $THREADS m2 & $S $N $THREADS m3 & $S $N $THREADS m4 & wait" \
    >stress.out 2>stress.err
rc=$?
expect_eq "stress finished without deadlock or errno change" 0 "$rc"
echo "# $((PROCS * THREADS * N)) opens under record in $(( $(date +%s) - start )) s"
expect_eq "every process did its opens" "$(printf '%s\n' $((N * THREADS)) $((N * THREADS)) $((N * THREADS)) $((N * THREADS)))" "$(cat stress.out)"
for m in m1 m2 m3 m4; do check "forked child of a multithreaded process ran ($m)" test -f "$m/forked-child"; done
B=$(find st -name '*.rtb' | head -n 1)
"$RUNTRAIL" show --json "$B" | python3 -c '
import json, sys
total = int(sys.argv[1])
good = bad = 0
dropped = 0
procs = set()
for line in sys.stdin:
    r = json.loads(line)
    if r.get("record") == "meta":
        c = r.get("counters", {})
        dropped = c.get("ring_dropped", 0) + c.get("events_dropped", 0)
        continue
    if r.get("record") != "event" or r["op"] != "openat":
        continue
    path = r["args"].get("path")
    if path == "/nonexistent/stress":
        procs.add(r["pid"])
        if r["result"] == -2 and r["args"].get("flags") == 0 and r["flags"] == [] and r["tid"] > 0:
            good += 1
        else:
            bad += 1
            print("# corrupt: " + line.strip())
    elif path not in ("/nonexistent/from-signal-handler", "/dev/null") and not path.endswith("forked-child"):
        bad += 1
        print("# unexpected: " + line.strip())
print(f"# recorded intact: {good}, corrupt: {bad}, dropped (ring + writer): {dropped}, of {total}")
ok = bad == 0 and good <= total and good + dropped >= total and good > 0
sys.exit(0 if ok else 1)
' $((PROCS * THREADS * N)) >acct.txt
rc=$?
cat acct.txt
expect_eq "every record intact or counted as dropped" 0 "$rc"
finish
