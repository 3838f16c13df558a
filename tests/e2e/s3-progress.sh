#!/usr/bin/env bash
# pull on a terminal draws a progress bar (count, bytes, rate, ETA) redrawn in place and ends
# on a summary line; into a pipe or file it prints the one-line summary and no control
# sequences. The terminal is a real pseudo-terminal (script(1)).
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
s3_start || { _notok "s3rver starts"; finish; exit; }
"$S3TOOL" bundles s3://bkt/pre 40 --fn orders --start 1795689711000000000 --rid-prefix p \
    >"$T_TMP/put.out" 2>&1
expect_eq "fixture bundles stored" 40 "$(grep -c $'\tok$' "$T_TMP/put.out")"

cmd="'$RUNTRAIL' pull s3://bkt/pre --function orders --cache '$T_TMP/c1' -j 2"
script -qefc "$cmd" /dev/null >"$T_TMP/tty.out" 2>&1
expect_eq "pull on a terminal exits 0" 0 $?
expect_grep "a bar with count, bytes, rate and ETA" \
    $'\r\\[[#.]{24}\\] [0-9]+/40 bundles  [0-9.]+ ?[KMG]?i?B  [0-9.]+ ?[KMG]?i?B/s  ETA ' "$T_TMP/tty.out"
expect_grep "the bar reaches 40/40, full" $'\\[#{24}\\] 40/40 bundles' "$T_TMP/tty.out"
expect_grep "then the summary" 'pulled 40 bundles' "$T_TMP/tty.out"

"$RUNTRAIL" pull s3://bkt/pre --function orders --cache "$T_TMP/c2" -j 2 >"$T_TMP/pipe.out" 2>&1
expect_eq "pull into a pipe exits 0" 0 $?
expect_eq "into a pipe: one summary line" 1 "$(wc -l <"$T_TMP/pipe.out")"
expect_grep "the summary counts" 'pulled 40 bundles .*40 new' "$T_TMP/pipe.out"
expect_no_grep "into a pipe: no carriage returns or escape sequences" $'[\r\033]' "$T_TMP/pipe.out"
finish
