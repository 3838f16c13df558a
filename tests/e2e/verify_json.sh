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
finish
