#!/usr/bin/env bash
# Attribution and coverage honesty (issue 14, items 11 and 12). A statically linked runtime
# (tests/recorder/progs/static_runtime.c: the interposer cannot enter it, like Go; it talks
# to the Runtime API through curl children, which it can) makes every bundle say coverage
# `partial` with counter runtime_uncovered, and `ls` FLAGS `not_covered` from the first
# invocation; a dynamic runtime does not. A static helper exec'd by a Python handler is
# filed in the bundle of the invocation that ran it (by time), not in a later one or the
# shutdown bundle.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
HERE="$RT_ROOT/tests/e2e/coverage"
PROGS="$RT_ROOT/$BUILD/tests/recorder"
for i in 1 2 3; do echo "{\"n\":$i}" >"$T_TMP/e$i.json"; done
EVENTS=(--event "$T_TMP/e1.json" --event "$T_TMP/e2.json" --event "$T_TMP/e3.json")

# meta_of STORE: one line per bundle: REQUEST_ID COVERAGE(,) RUNTIME_UNCOVERED
meta_of() {
    for b in $(find "$1" -name '*.rtb' | sort); do
        "$RUNTRAIL" show --json "$b" | head -n 1
    done | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    print(m["request_id"], ",".join(m["coverage"]), m["counters"].get("runtime_uncovered", 0))'
}

# ---- a static runtime ----
"$RUNTRAIL" invoke --store "$T_TMP/static" --function-name static-rt "${EVENTS[@]}" \
    -- "$PROGS/static_runtime" >"$T_TMP/static.out" 2>"$T_TMP/static.err"
expect_eq "static runtime: three answers" 3 "$(grep -c '^{"ok":true}$' "$T_TMP/static.out")"
meta_of "$T_TMP/static" | grep -v '^shutdown ' >"$T_TMP/static.meta"
expect_eq "static runtime: three invocation bundles" 3 "$(wc -l <"$T_TMP/static.meta")"
expect_eq "static runtime: each says coverage partial, runtime_uncovered 1" 3 \
    "$(grep -c -E ' (preload,)?proxy,partial 1$' "$T_TMP/static.meta")"
"$RUNTRAIL" ls --function static-rt --json >"$T_TMP/static.ls"
expect_eq "static runtime: ls FLAGS not_covered on every invocation, the first included" 3 \
    "$(python3 -c 'import json,sys; print(sum("not_covered" in json.loads(l)["flags"].split(",") for l in sys.stdin if json.loads(l)["request_id"] != "shutdown"))' <"$T_TMP/static.ls")"
"$RUNTRAIL" ls --function static-rt >"$T_TMP/static.ls.txt"
expect_grep "static runtime: the ls table shows it" 'not_covered' "$T_TMP/static.ls.txt"

# ---- a dynamic runtime: no such claim ----
"$RUNTRAIL" invoke --store "$T_TMP/dyn" --function-name dyn-rt --event "$T_TMP/e1.json" \
    -- "$RT_ROOT/$BUILD/samples/c/bootstrap" >/dev/null 2>"$T_TMP/dyn.err"
meta_of "$T_TMP/dyn" | grep -v '^shutdown ' >"$T_TMP/dyn.meta"
expect_grep "dynamic runtime: coverage preload proxy, no runtime_uncovered" \
    '^[0-9a-f-]+ preload,proxy 0$' "$T_TMP/dyn.meta"

# ---- a static helper exec'd by a Python handler ----
"$RUNTRAIL" invoke --store "$T_TMP/helper" --task-root "$HERE" --handler app.handler \
    --env "STATIC_HELPER=$PROGS/static_hello" "${EVENTS[@]}" \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/helper.out" 2>"$T_TMP/helper.err"
expect_eq "helper: three answers (rc 4)" 3 "$(grep -c '"rc": *4' "$T_TMP/helper.out")"
good=0 total=0
for b in $(find "$T_TMP/helper" -name '*.rtb' | sort); do
    rid=$("$RUNTRAIL" show --json "$b" | head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["request_id"])')
    "$RUNTRAIL" show "$b" >"$T_TMP/one.txt"
    n=$(grep -c 'execve("[^"]*static_hello"' "$T_TMP/one.txt")
    if [ "$rid" = shutdown ]; then
        expect_eq "helper: the shutdown bundle holds none of the helper's execs" 0 "$n"
        continue
    fi
    total=$((total + 1))
    if [ "$n" = 1 ] && grep -q -E "execve\(\"[^\"]*static_hello\", \[[^]]*\"$rid\"\].*\[not_covered\]" "$T_TMP/one.txt" &&
        ! grep -E 'execve\("[^"]*static_hello"' "$T_TMP/one.txt" | grep -q outside_invocation; then
        good=$((good + 1))
    else
        echo "# $rid: $n exec(s):"; grep 'static_hello' "$T_TMP/one.txt" | sed 's/^/#   /'
    fi
done
expect_eq "helper: three invocation bundles" 3 "$total"
expect_eq "helper: each holds the exec it ran (its own request id, not outside)" 3 "$good"
finish
