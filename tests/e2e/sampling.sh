#!/usr/bin/env bash
# RUNTRAIL_SAMPLE: ordinary invocations are sampled, but a cold start, a failed invocation and a
# suspicious one (a security flag) are always kept; what was left out is counted in the next
# kept bundle, and the chain has no gap for verify to report.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
cd "$RT_ROOT"
meta() { # meta BUNDLE -> "seq status sampled_out"
    "$RUNTRAIL" show --json "$1" | head -n 1 | python3 -c 'import json,sys
m = json.loads(sys.stdin.read())
print(m["seq"], m["status"], m["counters"].get("sampled_out", 0))'
}
bundles() { find "$1" -name '*.rtb' | sort; }

echo '{}' >"$T_TMP/ok.json"
echo '{"fail": "boom"}' >"$T_TMP/fail.json"
"$RUNTRAIL" invoke --store "$T_TMP/s1" --env RUNTRAIL_SAMPLE=0 --task-root samples/python \
    --handler app.handler --event "$T_TMP/ok.json" --event "$T_TMP/ok.json" \
    --event "$T_TMP/ok.json" --event "$T_TMP/ok.json" --event "$T_TMP/fail.json" \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/out1" 2>"$T_TMP/err1"
expect_eq "invoke reports the failed invocation (exit 1)" 1 $?
expect_eq "all five responses printed" 5 "$(wc -l <"$T_TMP/out1")"
mapfile -t b1 < <(bundles "$T_TMP/s1")
expect_eq "sample 0: the cold start, the failure and the shutdown bundle are kept, nothing else" \
    3 "${#b1[@]}"
expect_eq "first bundle: seq 0, ok, nothing left out yet" "0 ok 0" "$(meta "${b1[0]}")"
expect_eq "second bundle: seq 1 (no gap), error, three left out" "1 error 3" "$(meta "${b1[1]}")"
expect_eq "the shutdown bundle: seq 2, closes the chain, none left out since" "2 unknown 0" \
    "$(meta "${b1[2]}")"
expect_exit "verify: the sampled chain is clean" 0 "$RUNTRAIL" verify "$T_TMP/s1"

port=$(free_port)
python3 samples/incident/collector.py "$port" "$T_TMP/collector.log" &
collector=$!
trap 'kill $collector 2>/dev/null; rm -rf "$T_TMP"' EXIT
check "the collector listens" wait_port "$port"
sed "s/EXFIL_PORT/$port/" samples/incident/events/attack.json >"$T_TMP/attack.json"
"$RUNTRAIL" invoke --store "$T_TMP/s2" --env RUNTRAIL_SAMPLE=0 --function-name thumbnailer \
    --task-root samples/incident --handler app.handler \
    --event samples/incident/events/normal-cat.json --event samples/incident/events/normal-dog.json \
    --event "$T_TMP/attack.json" --event samples/incident/events/normal-cat.json \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/out2" 2>"$T_TMP/err2"
expect_eq "incident under sample 0: every invocation answered" 4 "$(grep -c statusCode "$T_TMP/out2")"
mapfile -t b2 < <(bundles "$T_TMP/s2")
expect_eq "the cold start, the attack and the shutdown bundle are kept" 3 "${#b2[@]}"
expect_eq "the attack's bundle: seq 1, ok, one left out before it" "1 ok 1" "$(meta "${b2[1]}")"
expect_eq "the shutdown bundle: seq 2, the invocation after the attack left out" "2 unknown 1" \
    "$(meta "${b2[2]}")"
"$RUNTRAIL" show "${b2[1]}" >"$T_TMP/attack.txt"
expect_grep "the kept bundle is the attack" '\[environ_read\]' "$T_TMP/attack.txt"
"$RUNTRAIL" ls --function thumbnailer --path '/proc/*/environ' --json >"$T_TMP/ls.json"
expect_eq "ls still finds it" 1 "$(wc -l <"$T_TMP/ls.json")"
finish
