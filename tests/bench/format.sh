#!/usr/bin/env bash
# Bundle format benchmark (run by `make bench` through tests/bench/run.sh): encode/decode rate
# and compressed bytes per event at zstd levels 1, 3, 9, side by side with JSON Lines + zstd -3
# for the same synthetic trace; then the seal of one bundle and the local store of one bundle,
# as the extension does after each invocation. BENCH_EVENTS sets the trace length (default
# 200000).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tools/bench_format" >/dev/null
"$BUILD/tools/bench_format" "${BENCH_EVENTS:-200000}"
