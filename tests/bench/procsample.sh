#!/usr/bin/env bash
# Not a test: the extension's /proc sampling (docs/recorder.md, "What the interposer cannot
# enter"). A `gcc -static` child of a Python handler (tests/recorder/progs/static_probe.c) makes
# 30 connections to a local listener one after the other, each held 5, 20 or 100 ms (one
# invocation each) under `runtrail invoke`; prints how many of them the bundles show as sampled
# connects, and the extension process's CPU (utime+stime) over the run.
# Usage: tests/bench/procsample.sh [SAMPLE_MS]   (default 5; 0 = sampling off, the baseline)
set -u
RT_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
RT="$RT_ROOT/$BUILD/bin/runtrail"
MS=${1:-5}
N=30
T=$(mktemp -d /tmp/rt-procsample.XXXXXX)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
cd "$T" || exit 1
export RUNTRAIL_CACHE=$T/cache
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(256)
while True:
    c, _ = s.accept(); c.recv(1)' "$port" &
srv=$!
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
    sleep 0.1
done
echo data >data.txt
for h in 5 20 100; do
    printf '{"file": "%s/data.txt", "port": %s, "count": %s, "hold_ms": %s}\n' "$T" "$port" $N $h >e$h.json
done
"$RT" invoke --timeout 60 --store st --function-name procsample --task-root "$RT_ROOT/tests/e2e/sampled" \
    --handler app.handler --env STATIC_PROBE="$RT_ROOT/$BUILD/tests/recorder/static_probe" \
    --env RUNTRAIL_PROC_SAMPLE_MS="$MS" --event e5.json --event e20.json --event e100.json \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >out.txt 2>err.txt &
inv=$!
ext=
for _ in $(seq 100); do
    ext=$(pgrep -f "$BUILD/layer/extensions/runtrail" | head -n 1)
    [ -n "$ext" ] && break
    sleep 0.1
done
t0=$(date +%s.%N) c0=$(awk '{print $14 + $15}' "/proc/$ext/stat" 2>/dev/null)
last=$c0 tl=$t0
while kill -0 "$inv" 2>/dev/null; do
    c=$(awk '{print $14 + $15}' "/proc/$ext/stat" 2>/dev/null) && { last=$c tl=$(date +%s.%N); }
    sleep 0.2
done
awk -v a="$c0" -v b="$last" -v t0="$t0" -v t1="$tl" -v hz="$(getconf CLK_TCK)" -v ms="$MS" \
    'BEGIN{printf "RUNTRAIL_PROC_SAMPLE_MS=%s: extension CPU %.0f ms over %.1f s = %.1f%% of one CPU\n", ms, (b-a)*1000/hz, t1-t0, (b-a)/hz/(t1-t0)*100}'
for b in $(find st -name '*.rtb' ! -name '*-shutdown.rtb' | sort); do
    "$RT" show --json "$b" | python3 -c '
import json, sys
n, hold = 0, None
for line in sys.stdin:
    r = json.loads(line)
    if r.get("record") != "event" or "sampled" not in r.get("flags", []):
        continue
    if r["op"] == "connect":
        n += 1
    if r["op"] == "proc_start":
        hold = r["args"]["argv"][-1]
print(f"held {hold} ms: {n} of '"$N"' connections seen")'
done
echo "connections made: $(grep -o '"made": *[0-9]*' out.txt | grep -o '[0-9]*$' | paste -sd' ')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
