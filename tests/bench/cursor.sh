#!/usr/bin/env bash
# Streaming reader benchmark (run by `make bench` through tests/bench/run.sh): a bundle of
# BENCH_CURSOR_EVENTS events (default 1000000), time and peak RSS to the first event through the
# event cursor and through the whole decode, and to the last event, side by side as ratios.
# Each figure is the best of 3 runs of a separate process (peak RSS is per process).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tools/bench_cursor" >/dev/null
N=${BENCH_CURSOR_EVENTS:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin="$BUILD/tools/bench_cursor"
"$bin" write "$tmp/big.rtb" "$N"
best() { # best MODE: the fastest of 3 runs, "seconds rss_kib"
    for _ in 1 2 3; do "$bin" "$1" "$tmp/big.rtb"; done | sort -n | head -n 1
}
read -r fc_t fc_r _ < <(best first-cursor)
read -r fw_t fw_r _ < <(best first-whole)
read -r ac_t ac_r _ < <(best all-cursor)
read -r aw_t aw_r _ < <(best all-whole)
printf 'streaming reader: %s events, %s bytes compressed\n\n' "$N" "$(stat -c %s "$tmp/big.rtb")"
awk -v fct="$fc_t" -v fcr="$fc_r" -v fwt="$fw_t" -v fwr="$fw_r" \
    -v act="$ac_t" -v acr="$ac_r" -v awt="$aw_t" -v awr="$aw_r" 'BEGIN {
    printf "%-16s %12s %12s %12s %12s %10s %10s\n", "to", "cursor ms", "whole ms", "cursor MiB",
           "whole MiB", "time x", "memory x"
    printf "%-16s %12.1f %12.1f %12.1f %12.1f %9.1fx %9.1fx\n", "first event", fct * 1000,
           fwt * 1000, fcr / 1024, fwr / 1024, fwt / fct, fwr / fcr
    printf "%-16s %12.1f %12.1f %12.1f %12.1f %9.1fx %9.1fx\n", "last event", act * 1000,
           awt * 1000, acr / 1024, awr / 1024, awt / act, awr / acr
}'
printf '\nx = whole decode / cursor (higher: the cursor is faster or smaller); wall time, peak RSS\n'
