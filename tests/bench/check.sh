#!/usr/bin/env bash
# baseline and check benchmark (run by `make bench` through tests/bench/run.sh): 10,000 small
# synthetic invocations (tests/tools/gen_invocations: ~30 events each, 1 in 100 an attack),
# `runtrail baseline learn` over all of them and `runtrail check --baseline` of all of them,
# as invocations per second of wall time and of CPU time (user + sys), with peak RSS.
# The last rows index the bundles, then check them storing the findings in the catalog.
# BENCH_INVOCATIONS sets the count. Targets: learn >= 5,000/s, check >= 10,000/s.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N=${BENCH_INVOCATIONS:-10000}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tools/gen_invocations" "$BUILD/bin/runtrail" >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$BUILD/tools/gen_invocations" "$dir/inv" "$N" --attacks
export RUNTRAIL_CACHE="$dir/cache"
measure() { # label, command...: prints the row
    local label=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$@" >/dev/null 2>"$dir/err" || [ $? -eq 1 ]
    read -r wall user sys rss < <(tail -n 1 "$dir/time")
    awk -v l="$label" -v n="$N" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
        cpu = u + s; if (w <= 0) w = 0.01; if (cpu <= 0) cpu = 0.01
        printf "%-40s %8d %8.2f %8.2f %12.0f %12.0f %8.1f\n", l, n, w, cpu, n / w, n / cpu, r / 1024 }'
}
printf "%-40s %8s %8s %8s %12s %12s %8s\n" "operation" "invocs" "wall s" "cpu s" "inv/s wall" \
    "inv/s cpu" "RSS MB"
measure "baseline learn DIR" "$BUILD/bin/runtrail" baseline learn "$dir/inv" -o "$dir/baseline.json"
measure "check --baseline --no-store DIR" "$BUILD/bin/runtrail" check --no-store --baseline "$dir/baseline.json" "$dir/inv"
measure "index DIR (for comparison)" "$BUILD/bin/runtrail" index --cache "$dir/cache" "$dir/inv"
measure "check --baseline DIR (stores findings)" "$BUILD/bin/runtrail" check --baseline "$dir/baseline.json" "$dir/inv"
grep -h 'runtrail check:' "$dir/err" || true
