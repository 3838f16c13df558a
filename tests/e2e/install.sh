#!/usr/bin/env bash
# `make install` lays out a tree in which every program finds its parts relative to itself:
# record finds the interposer, invoke and layer find the recorder layer, the man pages are there.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
inst="$T_TMP/prefix"
make -s -C "$RT_ROOT" BUILD="$BUILD" install PREFIX="$inst" >"$T_TMP/install.log" 2>&1
expect_eq "make install succeeds" 0 $?
for f in bin/runtrail bin/runtrail-extension lib/libruntrail-preload.so \
         lib/runtrail/layer/extensions/runtrail lib/runtrail/layer/runtrail/wrapper \
         share/man/man1/runtrail-show.1 share/man/man1/runtrail-record.1; do
    check "installed: $f" test -e "$inst/$f"
done

cd "$T_TMP"
"$inst/bin/runtrail" record --store "$T_TMP/store" -- cat /etc/hostname >/dev/null 2>"$T_TMP/rec.err"
expect_eq "installed record exits like the command" 0 $?
b=$(find "$T_TMP/store" -name '*.rtb' | head -n 1)
"$inst/bin/runtrail" show "$b" >"$T_TMP/rec.txt"
expect_grep "installed record: the interposer saw the open" 'open.*"/etc/hostname"' "$T_TMP/rec.txt"

cd "$RT_ROOT/samples/python"
"$inst/bin/runtrail" invoke --store "$T_TMP/store2" --task-root . --handler app.handler \
    -- python3 bootstrap.py >"$T_TMP/inv.out" 2>"$T_TMP/inv.err"
expect_eq "installed invoke (recording) exits 0" 0 $?
expect_eq "installed invoke wrote the invocation's bundle and the shutdown bundle" "2 1" \
    "$(find "$T_TMP/store2" -name '*.rtb' | wc -l) $(find "$T_TMP/store2" -name '*-shutdown.rtb' | wc -l)"
"$inst/bin/runtrail" ls --function runtrail-function --json >"$T_TMP/ls.json"
expect_eq "installed invoke indexed it" 1 "$(wc -l <"$T_TMP/ls.json")"
finish
