#!/usr/bin/env bash
# runtrail diff on real recordings: the incident sample invoked three times with the same
# normal request and once with the attack (tests/e2e/incident.sh tells the story). Two warm
# normal invocations are equivalent (exit 0); the attack against a normal one differs (exit 1)
# and the diff names the injected exec, the environ read and the new destination. Request ids
# resolve through the catalog; a corrupt bundle is named, exit 2; diffing the hostile-strings
# sample keeps every byte escaped.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_STORE="$T_TMP/store" RUNTRAIL_CACHE="$T_TMP/cache"
cd "$RT_ROOT"

port=$(free_port)
python3 samples/incident/collector.py "$port" "$T_TMP/collector.log" &
PIDS+=($!)
check "the collector listens" wait_port "$port"
sed "s/EXFIL_PORT/$port/" samples/incident/events/attack.json >"$T_TMP/attack.json"
ev=samples/incident/events/normal-cat.json
"$RUNTRAIL" invoke --function-name thumbnailer --task-root samples/incident \
    --handler app.handler --event "$ev" --event "$ev" --event "$ev" --event "$T_TMP/attack.json" \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/responses" 2>"$T_TMP/invoke.err"
expect_eq "invoke exits 0" 0 $?

"$RUNTRAIL" ls --function thumbnailer --json >"$T_TMP/ls.json"
expect_eq "four invocations in the catalog" 4 "$(wc -l <"$T_TMP/ls.json")"
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readlines()[int(sys.argv[1])])[sys.argv[2]])' "$1" "$2" <"$T_TMP/ls.json"; }
warm1=$(field 1 path) warm2=$(field 2 path) attack=$(field 3 path)
warm2_req=$(field 2 request_id) attack_req=$(field 3 request_id)

expect_exit "two warm normal invocations are equivalent: exit 0" 0 "$RUNTRAIL" diff "$warm1" "$warm2"
expect_no_grep "equivalent: no behaviour section" '^(behaviour|timeline)' "$T_TMP/last.out"

expect_exit "the attack against a normal invocation differs: exit 1" 1 \
    "$RUNTRAIL" diff "$warm2_req" "$attack_req"
cp "$T_TMP/last.out" "$T_TMP/attack.diff"
expect_grep "request ids resolve: the header names both" "^\+\+\+ .*request $attack_req" "$T_TMP/attack.diff"
expect_grep "programs: the injected shell, new" '^    \+ execve\("/bin/sh", \["/bin/sh", "-c", "echo resized cat.png; curl' "$T_TMP/attack.diff"
expect_grep "files: the environ read, new" '^    \+ read "/proc/self/environ"  count 0 -> 1' "$T_TMP/attack.diff"
expect_grep "flags: environ_read, new" '^    \+ environ_read  count 0 -> [1-9]' "$T_TMP/attack.diff"
# the collector's port is above 32767 when free_port picks it so: then the key writes it `*`
dest_port=$([ "$port" -ge 32768 ] && echo '\*' || echo "$port")
expect_grep "destinations: the collector, new" "^    \+ outbound\(\"127.0.0.1:$dest_port\".*POST /c HTTP/1.1.*count 0 -> 1" "$T_TMP/attack.diff"
expect_grep "timeline: the added rows are the recorded ones" "^\+\+[0-9.]+ms +pid [0-9]+  fopen\(\"/proc/self/environ\", \"rb\"\) = 3 .*\[environ_read\]" "$T_TMP/attack.diff"
expect_grep "payload: the attack's extra text is a changed value" '^payload event' "$T_TMP/attack.diff"

expect_exit "--json: exit 1 as well" 1 "$RUNTRAIL" diff --json "$warm2" "$attack"
expect_eq "--json: one document, not equivalent, the collector among the destinations" "False 1" \
    "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(d["equivalent"], sum(1 for c in d["behaviour"] if c["category"] == "destinations" and c["item"].startswith("outbound(\"" + sys.argv[2]) and c["a"] == 0))' \
    "$T_TMP/last.out" "127.0.0.1:${dest_port#\\}")"

expect_exit "--kind net: only network behaviour" 1 "$RUNTRAIL" diff --kind net "$warm2" "$attack"
expect_no_grep "--kind net: no file or program items" '^  (files|programs)$' "$T_TMP/last.out"

expect_exit "A from standard input ('-')" 1 \
    bash -c '"$RUNTRAIL" diff - samples/bundles/exfiltration.rtb <samples/bundles/api-gateway.rtb'
expect_grep "A's removed rows are printed (A is kept, not read twice)" \
    '^-\+[0-9.]+ms +pid 8  openat\(AT_FDCWD, "/tmp/orders-cache.json"' "$T_TMP/last.out"

head -c 200 "$attack" >"$T_TMP/corrupt.rtb"
expect_exit "a corrupt bundle: exit 2" 2 "$RUNTRAIL" diff "$warm2" "$T_TMP/corrupt.rtb"
expect_grep "the error names the file" "corrupt\.rtb: " "$T_TMP/last.err"
expect_exit "an unknown request id: exit 2" 2 "$RUNTRAIL" diff "$warm2" no-such-request
expect_exit "one operand: usage error" 2 "$RUNTRAIL" diff "$warm2"

expect_exit "the hostile sample against a normal bundle differs" 1 \
    "$RUNTRAIL" diff samples/bundles/api-gateway.rtb samples/bundles/hostile-strings.rtb
expect_eq "every byte printed is printable ASCII or a newline" 0 \
    "$(LC_ALL=C tr -d '\n\040-\176' <"$T_TMP/last.out" | wc -c)"
expect_exit "and in JSON" 1 "$RUNTRAIL" diff --json samples/bundles/hostile-strings.rtb "$warm2"
expect_eq "JSON: printable ASCII only" 0 "$(LC_ALL=C tr -d '\n\040-\176' <"$T_TMP/last.out" | wc -c)"
expect_grep "a warning for different functions" 'warning: different functions' "$T_TMP/last.err"
finish
