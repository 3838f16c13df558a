#!/usr/bin/env bash
# Timeline model benchmark (run by `make bench` through tests/bench/run.sh): the model behind
# `runtrail view BUNDLE` (viewer/vm_timeline.h) on a bundle of BENCH_VIEW_EVENTS events
# (default 1000000, written by bench_cursor's generator): time and peak RSS to the first
# screen and to the whole timeline indexed, against the decompressed size; the time of PgDn,
# PgUp, G and of one search step at that size. Targets from issue 11: first screen <= 200 ms,
# peak RSS <= 2x the decompressed size. Time figures: the best of 3 runs, each a process.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tools/bench_cursor" \
    "$BUILD/tools/bench_viewmodel" >/dev/null
N=${BENCH_VIEW_EVENTS:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/tools/bench_cursor" write "$tmp/big.rtb" "$N"
bin="$BUILD/tools/bench_viewmodel"
best() { # best MODE: the fastest of 3 runs
    for _ in 1 2 3; do "$bin" "$1" "$tmp/big.rtb"; done | sort -n | head -n 1
}
read -r f_t f_r f_rows < <(best first)
read -r a_t a_r a_ev a_dec < <(best all)
read -r pgdn pgup pgdn_end jump step step_rows search_all < <(best keys)
printf 'timeline model: %s events, %s bytes compressed, %s bytes decompressed\n\n' "$a_ev" \
    "$(stat -c %s "$tmp/big.rtb")" "$a_dec"
awk -v ft="$f_t" -v fr="$f_r" -v rows="$f_rows" -v at="$a_t" -v ar="$a_r" -v dec="$a_dec" '
BEGIN {
    printf "%-22s %10s %12s %16s\n", "to", "ms", "peak MiB", "x decompressed"
    printf "%-22s %10.1f %12.1f %15.2fx   (%d rows known)\n", "first screen (48 rows)",
           ft * 1000, fr / 1024, fr * 1024 / dec, rows
    printf "%-22s %10.1f %12.1f %15.2fx\n", "whole timeline", at * 1000, ar / 1024,
           ar * 1024 / dec
}'
printf '\n%-34s %10s\n' "key (1M rows indexed)" "ms"
printf '%-34s %10s\n' "PgDn, middle (48 rows rendered)" "$pgdn" "PgUp, middle (checkpoint seeks)" \
    "$pgup" "PgDn, near the end" "$pgdn_end" "G (jump to the last page)" "$jump" \
    "search step ($step_rows rows)" "$step"
printf '%-34s %10s\n' "search, no match (all rows, s)" "$search_all"
printf '\nx decompressed = peak RSS / decompressed bundle size (target <= 2x); wall time\n'
