#!/usr/bin/env bash
# e2e: `runtrail show` on several bundles (a '==> PATH <==' line before each, as head(1)
# prints, and a {"record":"bundle"} line with --json), on request ids resolved through the
# catalog (alone and mixed with files; unknown id and missing catalog are clear errors), and
# the analysis/ filters --flag and --from/--to. Expected output is the exact single-bundle
# output of tests/e2e/expected/show_*.txt.
source "$(dirname "$0")/../lib.sh"
cd "$RT_ROOT" || exit 1
E=tests/e2e/expected
S=samples/bundles
C="$T_TMP/cache"
ERR=9b2d4e61-0c3a-4f58-8e17-2a6c9d0b3f44
GW=3f1c9a52-8d1e-4c7b-9a40-5b2f0e6d7a11

# Two files: each one's exact output under its banner, a blank line between.
{
    echo "==> $S/error.rtb <=="
    cat "$E/show_error.txt"
    echo
    echo "==> $S/api-gateway.rtb <=="
    cat "$E/show_api-gateway.txt"
} >"$T_TMP/two.want"
"$RUNTRAIL" show "$S/error.rtb" "$S/api-gateway.rtb" >"$T_TMP/two.txt" 2>"$T_TMP/two.err"
expect_eq "show A B exits 0" 0 "$?"
expect_file "show A B: each bundle under a '==> PATH <==' line" "$T_TMP/two.want" "$T_TMP/two.txt"

# A shell glob over the store layout, as docs/deploy.md writes it.
set -- "$S"/chain/v1/fn=orders-api/dt=*/hr=*/*.rtb
expect_eq "the chain sample has four bundles" 4 "$#"
"$RUNTRAIL" show "$@" >"$T_TMP/glob.txt" 2>&1
expect_eq "show .../dt=*/hr=*/*.rtb exits 0" 0 "$?"
expect_eq "show .../*.rtb: one banner per bundle, in argument order" "$*" \
    "$(sed -n 's/^==> \(.*\) <==$/\1/p' "$T_TMP/glob.txt" | paste -sd' ')"
expect_eq "show .../*.rtb: one header per bundle" 4 "$(grep -c '^bundle     ' "$T_TMP/glob.txt")"
set --

# --json: a bundle record, then that bundle's meta; every line JSON.
"$RUNTRAIL" show --json "$S/error.rtb" "$S/api-gateway.rtb" >"$T_TMP/two.jsonl"
expect_eq "show --json A B: bundle records and the meta after each" \
    "bundle:$S/error.rtb meta:$ERR bundle:$S/api-gateway.rtb meta:$GW" \
    "$(python3 -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["record"] == "bundle": out.append("bundle:" + r["path"])
    if r["record"] == "meta": out.append("meta:" + r["request_id"])
print(" ".join(out))' "$T_TMP/two.jsonl")"
expect_eq "show --json A B: events of both" \
    "$(( $("$RUNTRAIL" show --json "$S/error.rtb" | grep -c '"record":"event"') + \
         $("$RUNTRAIL" show --json "$S/api-gateway.rtb" | grep -c '"record":"event"') ))" \
    "$(grep -c '"record":"event"' "$T_TMP/two.jsonl")"

# One unreadable among readable bundles: the others are shown, exit 2, the bad one named.
"$RUNTRAIL" show "$S/error.rtb" "$T_TMP/missing.rtb" "$S/api-gateway.rtb" \
    >"$T_TMP/mixed.txt" 2>"$T_TMP/mixed.err"
expect_eq "show with a missing file exits 2" 2 "$?"
expect_eq "show with a missing file: both others shown" 2 "$(grep -c '^bundle     ' "$T_TMP/mixed.txt")"
expect_grep "show with a missing file: named in the error" "missing\.rtb" "$T_TMP/mixed.err"

# Request ids: no catalog yet is a clear error, not an empty one created.
expect_exit "show REQUEST_ID without a catalog exits 2" 2 "$RUNTRAIL" show --cache "$C" "$ERR"
expect_grep "no catalog: said so, with where it looked" "no catalog.*$C/catalog\.sqlite" "$T_TMP/last.err"
check "no catalog: none created" test ! -e "$C/catalog.sqlite"

"$RUNTRAIL" index --cache "$C" "$S" >"$T_TMP/index.out" 2>&1
expect_grep "index the samples" "indexed 8 bundles, 0 failed" "$T_TMP/index.out"
"$RUNTRAIL" show --cache "$C" "$ERR" >"$T_TMP/rid.txt" 2>"$T_TMP/rid.err"
expect_eq "show REQUEST_ID exits 0" 0 "$?"
expect_grep "show REQUEST_ID: the indexed file" "^bundle     $RT_ROOT/$S/error\.rtb  " "$T_TMP/rid.txt"
tail -n +2 "$T_TMP/rid.txt" >"$T_TMP/rid.rest"
tail -n +2 "$E/show_error.txt" >"$T_TMP/rid.want"
expect_file "show REQUEST_ID: the bundle's exact output" "$T_TMP/rid.want" "$T_TMP/rid.rest"
RUNTRAIL_CACHE="$C" "$RUNTRAIL" show --kind net "$GW" >"$T_TMP/env.txt" 2>&1
expect_grep "show REQUEST_ID with RUNTRAIL_CACHE" "^request    $GW$" "$T_TMP/env.txt"
"$RUNTRAIL" show --cache "$C" "$GW" "$S/error.rtb" >"$T_TMP/both.txt" 2>&1
expect_eq "request id and file: two banners, in order" \
    "==> $RT_ROOT/$S/api-gateway.rtb <== ==> $S/error.rtb <==" \
    "$(grep '^==> ' "$T_TMP/both.txt" | paste -sd' ')"
expect_exit "unknown request id exits 2" 2 "$RUNTRAIL" show --cache "$C" 00000000-dead-4bad-8bad-000000000000
expect_grep "unknown request id: said so" \
    "00000000-dead-4bad-8bad-000000000000: no such file, and no bundle with this request id in the catalog" \
    "$T_TMP/last.err"

# Filters from analysis/: flags and a time window (ms from the start, inclusive).
"$RUNTRAIL" show --flag environ_read "$S/exfiltration.rtb" | sed -n '/^$/,$p' | sed 1d >"$T_TMP/flag.txt"
expect_eq "--flag environ_read: only that event" \
    '+3.800ms   pid 32  openat(AT_FDCWD, "/proc/self/environ", O_RDONLY) = 3 <0.008ms> [environ_read]' \
    "$(cat "$T_TMP/flag.txt")"
"$RUNTRAIL" show --json --from 3.5 --to 8.43 "$S/exfiltration.rtb" >"$T_TMP/win.jsonl"
expect_eq "--from/--to: the events inside the window, ends included" \
    "3500000 3800000 3900000 4400000 8400000 8430000" \
    "$(python3 -c '
import json, sys
print(" ".join(str(r["ts_ns"]) for r in map(json.loads, open(sys.argv[1])) if r["record"] in ("event", "log")))' "$T_TMP/win.jsonl")"
expect_exit "--flag bogus: usage error" 2 "$RUNTRAIL" show --flag bogus "$S/error.rtb"
expect_grep "--flag bogus: names the flag" "unknown flag 'bogus'" "$T_TMP/last.err"
expect_exit "--from junk: usage error" 2 "$RUNTRAIL" show --from 1x "$S/error.rtb"

finish
