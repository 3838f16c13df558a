#!/usr/bin/env bash
# The scripted incident end to end, as `make demo` runs it: four API Gateway requests to a
# function with a command-injection bug, one of them an attack that reads the function's
# environment and posts it to a collector. All four responses are healthy; the bundles, the
# catalog (indexed by invoke itself) and verify must tell the attack apart.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_STORE="$T_TMP/store" RUNTRAIL_CACHE="$T_TMP/cache"
cd "$RT_ROOT"

port=$(free_port)
python3 samples/incident/collector.py "$port" "$T_TMP/collector.log" &
collector=$!
trap 'kill $collector 2>/dev/null; rm -rf "$T_TMP"' EXIT
check "the collector listens" wait_port "$port"
sed "s/EXFIL_PORT/$port/" samples/incident/events/attack.json > "$T_TMP/attack.json"

# A relative --task-root must work: the runtime runs inside it.
"$RUNTRAIL" invoke --function-name thumbnailer --task-root samples/incident \
    --handler app.handler --event samples/incident/events/normal-cat.json \
    --event samples/incident/events/normal-dog.json --event "$T_TMP/attack.json" \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/responses" 2>"$T_TMP/invoke.err"
expect_eq "invoke exits 0 (all invocations healthy)" 0 $?
expect_eq "three responses" 3 "$(wc -l <"$T_TMP/responses")"
expect_eq "every response is a 200" 3 "$(grep -c '"statusCode":200' "$T_TMP/responses")"
expect_grep "the attack's response looks normal" '"thumbnail\\":\\"cat.png\\",\\"found\\":true' \
    "$T_TMP/responses"
expect_grep "the collector received the environment" '^received [0-9]+ bytes' "$T_TMP/collector.log"

"$RUNTRAIL" ls --function thumbnailer --json >"$T_TMP/ls.json"
expect_eq "invoke indexed all three invocations into the catalog" 3 "$(wc -l <"$T_TMP/ls.json")"

"$RUNTRAIL" ls --function thumbnailer >"$T_TMP/ls.txt"
expect_grep "ls table: the attack's row names the collector once, flagged environ_read" \
    "${attack_req:-[0-9a-f-]{36}} +[0-9.]+ms ok +[0-9]+ +127\.0\.0\.1:$port +environ_read\$" "$T_TMP/ls.txt"
expect_eq "ls table: the other rows have no destination and no finding" 2 \
    "$(grep -c -E ' ok +[0-9]+ +- +(cold|-)$' "$T_TMP/ls.txt")"

"$RUNTRAIL" ls --function thumbnailer --dest "127.0.0.1:$port" --json >"$T_TMP/hit.json"
expect_eq "ls --dest finds exactly the attack" 1 "$(wc -l <"$T_TMP/hit.json")"
attack_req=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["request_id"])' <"$T_TMP/hit.json")
bundle=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["path"])' <"$T_TMP/hit.json")
expect_grep "the hit is the third invocation" "$attack_req" <(sed -n 3p "$T_TMP/ls.json")

"$RUNTRAIL" ls --function thumbnailer --path '/proc/*/environ' --json >"$T_TMP/environ.json"
expect_eq "ls --path '/proc/*/environ' finds only the attack" "$attack_req" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["request_id"] for l in sys.stdin))' <"$T_TMP/environ.json")"

"$RUNTRAIL" show "$bundle" >"$T_TMP/show.txt"
expect_grep "timeline: the injected shell command" 'execve\("/bin/sh", \["/bin/sh", "-c", "echo resized cat.png; curl' "$T_TMP/show.txt"
expect_grep "timeline: curl reads /proc/self/environ, flagged" '"/proc/self/environ".*\[environ_read\]' "$T_TMP/show.txt"
expect_grep "timeline: the POST to the collector with bytes out" "outbound\(\"127.0.0.1:$port\".*POST /c HTTP/1.1.*bytes_out=[1-9]" "$T_TMP/show.txt"

secret=$(grep -o 'AWS_SECRET_ACCESS_KEY=[^ ]*' "$T_TMP/show.txt" || true)
expect_eq "no secret value in clear in show" "" "$secret"
for b in $(find "$RUNTRAIL_STORE" -name '*.rtb'); do zstd -dcq "$b"; done >"$T_TMP/all.raw"
expect_no_grep "the emulator's secret key is in no bundle" 'not-a-real-key' "$T_TMP/all.raw"

expect_exit "verify: the store is intact" 0 "$RUNTRAIL" verify "$RUNTRAIL_STORE"
expect_grep "verify: one sandbox, three invocations and the shutdown bundle, closed" \
    '^verify: 4 bundles, 1 sandbox: all intact$' "$T_TMP/last.out"
finish
