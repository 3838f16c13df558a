#!/usr/bin/env bash
# `make demo` as the user runs it (scripts/demo.sh), into a store of the test's own: it must
# exit 0 and end with the answer to "is this normal?": a baseline learned from the three normal
# invocations (the attack skipped for its flag), runtrail check finding the attack (exit 1
# handled by the script) with its evidence, and runtrail diff showing it against the normal
# request that followed it.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_STORE="$T_TMP/store" RUNTRAIL_CACHE="$T_TMP/cache"
cd "$RT_ROOT"

bash scripts/demo.sh >"$T_TMP/demo.out" 2>&1
expect_eq "scripts/demo.sh exits 0 (check's and diff's exit 1 are expected)" 0 $?
sed -e 's/\x1b\[[0-9;]*m//g' "$T_TMP/demo.out" >"$T_TMP/out"
sed -n '/== 6\./,$p' "$T_TMP/out" >"$T_TMP/tail"
attack=$(sed -n 's/^Next: runtrail show .*-\([0-9a-f-]\{36\}\)\.rtb .*/\1/p' "$T_TMP/out")
expect_eq "the demo names the attack's bundle" 1 "$(grep -c -E '^[0-9a-f-]{36}$' <<<"$attack")"

expect_grep "step 6: the baseline skips the attack for its flag" \
    'thumbnailer: learned from 3 invocations; skipped 1 with security flags \(environ_read\)' "$T_TMP/tail"
expect_grep "step 7: check summary" 'runtrail check: 4 invocations checked, 1 with findings' "$T_TMP/tail"
expect_eq "step 7: every finding is the attack's" 0 \
    "$(sed -n '/== 7\./,/== 8\./p' "$T_TMP/tail" | grep -E '^[0-9a-f-]{36} ' | grep -cv "^$attack ")"
expect_grep "step 7: environ_read with the read as evidence" "^$attack high environ_read " "$T_TMP/tail"
expect_grep "step 7: the evidence row of the environ read" \
    '^    event [0-9]+ .* fopen\("/proc/self/environ", "rb"\) = 3 .*\[environ_read\]' "$T_TMP/tail"
expect_grep "step 7: new_program curl" "^$attack high new_program /usr/bin/curl: " "$T_TMP/tail"
expect_grep "step 7: new_destination, the collector's request" "^$attack high new_destination POST /c HTTP/1\.1: " "$T_TMP/tail"

sed -n '/== 8\./,$p' "$T_TMP/tail" >"$T_TMP/diff"
expect_grep "step 8: diff's +++ side is the attack" "^\+\+\+ .*-$attack\.rtb  function thumbnailer  request $attack\$" "$T_TMP/diff"
expect_grep "step 8: diff's --- side is another thumbnailer request" '^--- .*\.rtb  function thumbnailer  request [0-9a-f-]{36}$' "$T_TMP/diff"
expect_no_grep "step 8: --- is not the attack" "^--- .*$attack" "$T_TMP/diff"
expect_grep "step 8: the payload's injected name" '^  changed  \$\.queryStringParameters\.name  string value$' "$T_TMP/diff"
expect_grep "step 8: curl is a new program (its process start: execve's path is as the shell spelled it)" '^    \+ proc_start\("/usr/bin/curl", .*count 0 -> 1$' "$T_TMP/diff"
expect_grep "step 8: the environ read is a new file" '^    \+ read "/proc/self/environ"  count 0 -> 1$' "$T_TMP/diff"
expect_grep "step 8: the new flag" '^    \+ environ_read  count 0 -> 1$' "$T_TMP/diff"
expect_grep "step 8: the aligned timeline shows the outbound POST" '^\+\+[0-9.]+ms +pid [0-9]+  outbound\("127\.0\.0\.1:[0-9]+", .*"POST /c HTTP/1\.1' "$T_TMP/diff"
expect_grep "the collector received the environment" '^The collector received: received [0-9]+ bytes' "$T_TMP/out"
finish
