#!/usr/bin/env bash
# analysis/ benchmark (run by `make bench` through tests/bench/run.sh): behaviour keys, their
# sort into a set and the timeline rows of a synthetic trace, side by side with the decode of
# the same bundle. BENCH_EVENTS sets the trace length (default 1000000). Peak RSS via time(1).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tools/bench_analysis" >/dev/null
/usr/bin/time -f "peak RSS %M KB" "$BUILD/tools/bench_analysis" "${BENCH_EVENTS:-1000000}"
