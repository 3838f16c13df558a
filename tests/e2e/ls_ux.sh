#!/usr/bin/env bash
# `ls` from a new user's side, on the sample bundles: -l shows where each bundle is, --paths
# prints only the paths (and they open), nothing matched exits 1 like grep (table, --json,
# --paths), --until at the epoch is a bound rather than "no bound", the formats exclude each
# other. And `show` of a redacted event says how much is stored of how much, honestly.
source "$(dirname "$0")/../lib.sh"
C="$T_TMP/cache"
S="$RT_ROOT/samples/bundles"
"$RUNTRAIL" index --cache "$C" "$S" >/dev/null 2>&1
ERR=9b2d4e61-0c3a-4f58-8e17-2a6c9d0b3f44

"$RUNTRAIL" ls --cache "$C" -l --status error >"$T_TMP/long.txt"
expect_grep "-l: a PATH column in the header" '^TIME +FUNCTION +REQUEST ID .* FLAGS +PATH$' "$T_TMP/long.txt"
expect_grep "-l: the row ends with the bundle's file" "$ERR .* $(realpath "$S/error.rtb" | sed 's/[.]/[.]/g')\$" \
    "$T_TMP/long.txt"

"$RUNTRAIL" ls --cache "$C" --paths >"$T_TMP/paths.txt"
expect_eq "--paths: one line per invocation (8), each a bundle file that exists" "8 8" \
    "$(wc -l <"$T_TMP/paths.txt") $(while read -r p; do [ -f "$p" ] && echo y; done <"$T_TMP/paths.txt" | wc -l)"
expect_eq "--paths feeds show" "$ERR" \
    "$("$RUNTRAIL" show --json "$("$RUNTRAIL" ls --cache "$C" --paths --status error)" | python3 "$RT_ROOT/tests/extension/facts.py" meta.request_id)"

expect_exit "nothing matched: exit 1 (table)" 1 "$RUNTRAIL" ls --cache "$C" --function nope
expect_grep "nothing matched: said on stderr" "no invocations match" "$T_TMP/last.err"
expect_exit "nothing matched: exit 1 (--json), empty stdout" 1 "$RUNTRAIL" ls --cache "$C" --json --exec nothing-ran-this
expect_eq "... and stdout is empty" 0 "$(wc -c <"$T_TMP/last.out")"
expect_exit "nothing matched: exit 1 (--paths)" 1 "$RUNTRAIL" ls --cache "$C" --paths --status timeout
expect_exit "a match: exit 0" 0 "$RUNTRAIL" ls --cache "$C" --status error

expect_exit "--until 1970-01-01: a bound (nothing recorded since), exit 1" 1 \
    "$RUNTRAIL" ls --cache "$C" --json --until 1970-01-01
expect_eq "--until 1970-01-01 lists nothing" 0 "$(wc -l <"$T_TMP/last.out")"
expect_eq "--until 2100-01-01 lists all 8" 8 "$("$RUNTRAIL" ls --cache "$C" --json --until 2100-01-01 | wc -l)"
expect_eq "--since 1970-01-01 lists all 8" 8 "$("$RUNTRAIL" ls --cache "$C" --json --since 1970-01-01 | wc -l)"
expect_exit "-l and --json exclude each other" 2 "$RUNTRAIL" ls --cache "$C" -l --json
expect_grep "ls --help documents -l, --paths and exit 1" "nothing matched" <("$RUNTRAIL" ls --help)

# show: a redacted event is stored longer than it came (tokens replace values): the header says
# "stored (redacted from N bytes)", never "65 of 23 bytes stored".
printf '{"user":"ann","password":"hunter2"}' >"$T_TMP/secret.json"
"$RUNTRAIL" invoke --store "$T_TMP/s-red" --env RUNTRAIL_PAYLOAD=redacted \
    --env RUNTRAIL_REDACT=password --task-root "$RT_ROOT/samples/c-bootstrap" \
    --event "$T_TMP/secret.json" -- "$RT_ROOT/$BUILD/samples/c/bootstrap" >/dev/null 2>&1
b=$(find "$T_TMP/s-red" -name '*.rtb' ! -name '*-shutdown.rtb' | head -n 1)
"$RUNTRAIL" show "$b" >"$T_TMP/red.txt"
expect_grep "show: a redacted event's size is 'N bytes stored (redacted from 35 bytes)'" \
    '^event +[0-9]+ bytes stored \(redacted from 35 bytes\), sha256 ' "$T_TMP/red.txt"
expect_no_grep "show: the secret is not in the bundle's text" 'hunter2' "$T_TMP/red.txt"
finish
