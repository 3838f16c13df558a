#!/usr/bin/env bash
# verify --json: one JSON object per line for each finding (with its problem kind), "ok"
# records with -v, and a summary last; exit codes as without --json.
source "$(dirname "$0")/../lib.sh"
cd "$T_TMP"
"$RT_ROOT/$BUILD/tools/gen_samples" --tampered t >/dev/null
cp -r "$RT_ROOT/samples/bundles/chain" clean
cp -r clean gap && rm "$(find gap -name "*.rtb" | sort | sed -n 2p)"
cp -r clean corrupt
f=$(find corrupt -name "*.rtb" | sort | head -n 1)
printf '\xff' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
# field FILE KEY: that key of every "finding" record, space-separated, sorted
field() { python3 -c 'import json,sys
vals = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["record"] == "finding": vals.append(str(r.get(sys.argv[2])))
print(" ".join(sorted(vals)))' "$1" "$2"; }
summary() { tail -n 1 "$1" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["record"], r["bundles"], r["findings"], r["unreadable"])'; }

"$RUNTRAIL" verify --json -v clean >clean.out 2>clean.err
expect_eq "clean: exit 0" 0 $?
expect_eq "clean: four ok records" 4 "$(grep -c '"record":"ok"' clean.out)"
expect_eq "clean: summary last" "summary 4 0 0" "$(summary clean.out)"
expect_eq "clean: nothing on stderr" "" "$(cat clean.err)"

for kind in modified reorder fork; do
    "$RUNTRAIL" verify --json "t/$kind" >"$kind.out" 2>/dev/null
    expect_eq "$kind: exit 1" 1 $?
done
expect_grep "modified: a 'modified' finding" '"problem":"modified"' modified.out
expect_grep "reorder: a 'reordered' finding" '"problem":"reordered"' reorder.out
expect_eq "fork: one fork finding, with the other bundle named" "t/fork/seq1-a.rtb" "$(field fork.out other)"

"$RUNTRAIL" verify --json gap >gap.out 2>/dev/null
expect_eq "gap: exit 1" 1 $?
expect_eq "gap: a gap finding" "gap" "$(field gap.out problem)"
"$RUNTRAIL" verify --json corrupt >corrupt.out 2>/dev/null
expect_eq "corrupt: exit 1" 1 $?
expect_grep "corrupt: the bundle named as corrupt" "\"file\":\"$f\",\"problem\":\"corrupt\"" corrupt.out
"$RUNTRAIL" verify --json clean no-such-dir >missing.out 2>/dev/null
expect_eq "unreadable: exit 2" 2 $?
expect_eq "unreadable: named" "unreadable" "$(field missing.out problem)"
expect_eq "unreadable: counted in the summary" "summary 4 0 1" "$(summary missing.out)"
check "every line of every output is JSON" python3 -c 'import json,sys
for f in sys.argv[1:]:
    for line in open(f): json.loads(line)' clean.out modified.out reorder.out fork.out gap.out corrupt.out missing.out

# the two bundles an attacker would remove: the first (cold start) and the last. A chain
# written as the extension does (chain_end "more", the SHUTDOWN bundle "last"), 4 bundles
# from 2026-11-26T10:41:51Z, one per second.
"$RT_ROOT/$BUILD/tests/store/rt-s3tool" bundles closed 4 --fn chained --chain --rid-prefix c \
    >/dev/null
"$RUNTRAIL" verify --json closed >closed.out 2>&1
expect_eq "closed chain: exit 0" 0 $?
expect_eq "closed chain: no finding, no warning" "summary 4 0 0 w0" \
    "$(tail -n 1 closed.out | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["record"], r["bundles"], r["findings"], r["unreadable"], "w%d" % r["warnings"])')"
cp -r closed nofirst && rm nofirst/v1/fn=chained/*/*/*-c-00000.rtb
"$RUNTRAIL" verify --json nofirst >nofirst.out 2>/dev/null
expect_eq "first removed: exit 1" 1 $?
expect_eq "first removed: a head finding" "head" "$(field nofirst.out problem)"
expect_grep "first removed: it names the missing seq" \
    '"reason":"sandbox sandbox-test: the chain starts at seq 1: seq 0 \(the cold start\) is not in the set"' \
    nofirst.out
"$RUNTRAIL" verify --json --since 2026-11-26T10:41:52Z nofirst >nofirst-since.out 2>/dev/null
expect_eq "first removed, pulled from seq 1's start: a warning, exit 0" 0 $?
expect_grep "the warning says it may predate --since" \
    '"record":"warning".*"problem":"head".*may predate --since' nofirst-since.out
"$RUNTRAIL" verify --json --since 2026-11-26T10:41:52Z --strict nofirst >/dev/null 2>&1
expect_eq "--strict makes it a finding" 1 $?
"$RUNTRAIL" verify --since 2026-11-26T10:41:53Z nofirst >/dev/null 2>nofirst-late.err
expect_eq "a --since after the first present bundle cannot explain it" 1 $?
cp -r closed nolast && rm nolast/v1/fn=chained/*/*/*-c-00003.rtb
"$RUNTRAIL" verify nolast >nolast.out 2>nolast.err
expect_eq "last removed: exit 0 (a running sandbox looks the same)" 0 $?
expect_eq "last removed: the summary says so" \
    "verify: 3 bundles, 1 sandbox: all intact, 1 warning (see stderr; --strict makes them findings)" \
    "$(cat nolast.out)"
expect_grep "last removed: the open chain is named" \
    'runtrail: warning: nolast/.*-c-00002.rtb: sandbox sandbox-test: seq 2, the highest present, is not the last bundle.*\(open\)' \
    nolast.err
"$RUNTRAIL" verify --strict --json nolast >nolast-strict.out 2>/dev/null
expect_eq "last removed, --strict: exit 1" 1 $?
expect_eq "last removed, --strict: an open finding" "open" "$(field nolast-strict.out problem)"
finish
