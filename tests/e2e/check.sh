#!/usr/bin/env bash
# runtrail baseline and check on real recordings: the incident sample invoked five times with
# normal requests (cat and dog) and once with the attack that reads its environment and posts
# it to a collector. A baseline learned from the catalog skips the attack (security flag) and
# says so; checking every invocation finds nothing in the normal ones and, in the attack, the
# environ read, the new program (curl) and the new destination, with the recorded events as
# evidence; ls --findings lists only the attack with finding:RULE in its FLAGS; exit codes;
# a rules file; a corrupt, another function's and a newer baseline are errors naming the file.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_STORE="$T_TMP/store" RUNTRAIL_CACHE="$T_TMP/cache"
cd "$RT_ROOT"

port=$(free_port)
python3 samples/incident/collector.py "$port" "$T_TMP/collector.log" &
PIDS+=($!)
check "the collector listens" wait_port "$port"
sed "s/EXFIL_PORT/$port/" samples/incident/events/attack.json >"$T_TMP/attack.json"
cat=samples/incident/events/normal-cat.json dog=samples/incident/events/normal-dog.json
"$RUNTRAIL" invoke --function-name thumbnailer --task-root samples/incident \
    --handler app.handler --event "$cat" --event "$dog" --event "$cat" --event "$dog" \
    --event "$cat" --event "$T_TMP/attack.json" \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/responses" 2>"$T_TMP/invoke.err"
expect_eq "invoke exits 0" 0 $?
"$RUNTRAIL" ls --function thumbnailer --json >"$T_TMP/ls.json"
expect_eq "six invocations in the catalog" 6 "$(wc -l <"$T_TMP/ls.json")"
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readlines()[int(sys.argv[1])])[sys.argv[2]])' "$1" "$2" <"$T_TMP/ls.json"; }
attack_req=$(field 5 request_id) normal=$(field 2 path)

expect_exit "baseline learn --function: exit 0" 0 \
    "$RUNTRAIL" baseline learn --function thumbnailer -o "$T_TMP/baseline.json"
expect_grep "says what it used and skipped" \
    'learned from 5 invocations; skipped 1 with security flags \(environ_read\)' "$T_TMP/last.err"
expect_grep "the baseline has a version" '^ "version": 1' "$T_TMP/baseline.json"
expect_grep "the baseline names the function" '^ "function": "thumbnailer"' "$T_TMP/baseline.json"
expect_grep "the handler's shell with its argv pattern is learned" '"/bin/sh -c echo resized cat.png"' "$T_TMP/baseline.json"
expect_no_grep "the attack's curl is not learned" 'curl' "$T_TMP/baseline.json"

expect_exit "learning again from the same bundles gives the same bytes" 0 \
    "$RUNTRAIL" baseline learn --function thumbnailer -o "$T_TMP/baseline2.json"
check "byte-identical" cmp -s "$T_TMP/baseline.json" "$T_TMP/baseline2.json"
expect_exit "baseline show validates and summarises" 0 "$RUNTRAIL" baseline show "$T_TMP/baseline.json"
expect_grep "show: learned from 5" '^learned from 5 invocations' "$T_TMP/last.out"

expect_exit "a normal invocation: no finding, exit 0" 0 \
    "$RUNTRAIL" check --baseline "$T_TMP/baseline.json" "$normal"
expect_eq "no output" 0 "$(wc -c <"$T_TMP/last.out")"

expect_exit "check --function: findings, exit 1" 1 \
    "$RUNTRAIL" check --function thumbnailer --baseline "$T_TMP/baseline.json"
cp "$T_TMP/last.out" "$T_TMP/check.out"
expect_eq "every finding is the attack's" 0 "$(grep -v '^ ' "$T_TMP/check.out" | grep -cv "^$attack_req ")"
expect_grep "environ_read with the recorded fopen as evidence" "^$attack_req high environ_read " "$T_TMP/check.out"
expect_grep "evidence row of the environ read" '^    event [0-9]+ \+[0-9.]+ms +pid [0-9]+  fopen\("/proc/self/environ", "rb"\) = 3 .*\[environ_read\]' "$T_TMP/check.out"
expect_grep "new_program curl" "^$attack_req high new_program /usr/bin/curl: " "$T_TMP/check.out"
expect_grep "new_destination: the collector's HTTP request" "^$attack_req high new_destination POST /c HTTP/1.1: " "$T_TMP/check.out"
expect_grep "the bundle is named" "^    bundle $RUNTRAIL_STORE/.*$attack_req\.rtb" "$T_TMP/check.out"
expect_grep "summary on stderr" 'runtrail check: 6 invocations checked, 1 with findings' "$T_TMP/last.err"

expect_exit "ls --findings" 0 "$RUNTRAIL" ls --findings
expect_eq "lists only the attack" 1 "$(grep -c . "$T_TMP/last.out" | awk '{print $1-1}')"
expect_grep "its FLAGS column names the findings" "$attack_req .*finding:environ_read,.*finding:new_destination,.*finding:new_program" "$T_TMP/last.out"
expect_exit "ls --findings --json" 0 "$RUNTRAIL" ls --findings --json
expect_eq "--json carries the findings" "True" \
    "$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print("new_program" in d["findings"] and "environ_read" in d["findings"])' "$T_TMP/last.out")"

expect_exit "--json lines: exit 1" 1 "$RUNTRAIL" check --json --no-store --baseline "$T_TMP/baseline.json" "$attack_req"
expect_eq "every line is a finding of the attack with evidence rows" "True" \
    "$(python3 -c 'import json,sys
ls = [json.loads(l) for l in open(sys.argv[1])]
print(len(ls) > 0 and all(d["request_id"] == sys.argv[2] and d["rule"] and d["severity"] for d in ls) and any(d["rule"] == "new_program" and "curl" in d["events"][0]["row"] for d in ls))' "$T_TMP/last.out" "$attack_req")"

# flag rules alone, and a rules file
expect_exit "without a baseline the flag rules still fire" 1 "$RUNTRAIL" check --no-store "$attack_req"
expect_eq "only flag rules" "environ_read" "$(grep -v '^ ' "$T_TMP/last.out" | awk '{print $3}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
printf '# test\nallow flag environ_read\ndeny program curl\n' >"$T_TMP/rules"
expect_exit "a rules file: deny curl, allow the flag" 1 "$RUNTRAIL" check --no-store --rules "$T_TMP/rules" "$attack_req"
expect_eq "deny_program only" "deny_program" "$(grep -v '^ ' "$T_TMP/last.out" | awk '{print $3}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
printf 'allow programme curl\n' >"$T_TMP/bad-rules"
expect_exit "a bad rules file: exit 2" 2 "$RUNTRAIL" check --no-store --rules "$T_TMP/bad-rules" "$attack_req"
expect_grep "naming the file and line" "bad-rules: malformed rules file: line 1: " "$T_TMP/last.err"

# runtrail diff A --baseline FILE | --function F
expect_exit "diff the attack against the baseline: exit 1" 1 "$RUNTRAIL" diff "$attack_req" --baseline "$T_TMP/baseline.json"
expect_grep "diff: the baseline header" '^--- baseline .*baseline\.json \(thumbnailer, 5 invocations\)' "$T_TMP/last.out"
expect_grep "diff: curl is a + line" '^\+ high new_program /usr/bin/curl: ' "$T_TMP/last.out"
expect_grep "diff: the flag is context (!)" '^! high environ_read ' "$T_TMP/last.out"
expect_exit "diff a normal invocation against a baseline learned from the catalog: exit 0" 0 \
    "$RUNTRAIL" diff "$normal" --function thumbnailer
expect_grep "diff: nothing deviates" '^\(no deviation from the baseline\)' "$T_TMP/last.out"
expect_grep "diff: learned from the others" 'baseline learned from 4 invocations \(2 left out' "$T_TMP/last.err"
expect_exit "diff --baseline --json: exit 1" 1 "$RUNTRAIL" diff --json "$attack_req" --baseline "$T_TMP/baseline.json"
expect_eq "diff --json: not equivalent, curl among the deviations" "False True" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["equivalent"], any(x["rule"]=="new_program" for x in d["deviations"]))' "$T_TMP/last.out")"

# bad baselines
head -c 300 "$T_TMP/baseline.json" >"$T_TMP/corrupt.json"
expect_exit "a corrupt baseline: exit 2" 2 "$RUNTRAIL" check --baseline "$T_TMP/corrupt.json" "$normal"
expect_grep "the error names the file" "corrupt\.json: malformed baseline: line [0-9]+" "$T_TMP/last.err"
sed 's/^ "version": 1/ "version": 99/' "$T_TMP/baseline.json" >"$T_TMP/newer.json"
expect_exit "a newer baseline: exit 2" 2 "$RUNTRAIL" check --baseline "$T_TMP/newer.json" "$normal"
expect_grep "says it is newer" "newer\.json: baseline written by a newer runtrail: version 99" "$T_TMP/last.err"
sed 's/^ "function": "thumbnailer"/ "function": "billing"/' "$T_TMP/baseline.json" >"$T_TMP/other.json"
expect_exit "another function's baseline: exit 2" 2 "$RUNTRAIL" check --baseline "$T_TMP/other.json" "$normal"
expect_grep "names both functions" "baseline of another function: function thumbnailer, the baseline is of billing" "$T_TMP/last.err"
expect_exit "and with --function" 2 "$RUNTRAIL" check --baseline "$T_TMP/other.json" --function thumbnailer
head -c 200 "$normal" >"$T_TMP/corrupt.rtb"
expect_exit "a corrupt bundle: exit 2" 2 "$RUNTRAIL" check --no-store --baseline "$T_TMP/baseline.json" "$T_TMP/corrupt.rtb"
expect_grep "names the bundle" "corrupt\.rtb: " "$T_TMP/last.err"
expect_exit "hostile strings stay escaped" 1 "$RUNTRAIL" check --no-store samples/bundles/hostile-strings.rtb samples/bundles/exfiltration.rtb
expect_eq "printable ASCII only" 0 "$(LC_ALL=C tr -d '\n\040-\176' <"$T_TMP/last.out" | wc -c)"
finish
