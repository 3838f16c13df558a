#!/usr/bin/env bash
# `make demo`: the main job on the embedded default. Records four invocations of a sample
# function (samples/incident: a thumbnailer with a command-injection bug) through runtrail's
# built-in Lambda emulator into the local store ./runtrail-data, one of them an attack that
# reads the function's credentials and sends them out. Every response is a healthy 200; the
# bundles tell the real story. Then: ls, the attack's timeline, verify, and "is this normal?":
# a baseline learned from these invocations (the attack skipped for its security flag),
# runtrail check finding the attack, runtrail diff showing it against a normal invocation.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RT="$PWD/$BUILD/bin/runtrail"
export RUNTRAIL_STORE=${RUNTRAIL_STORE:-$PWD/runtrail-data}
work=$(mktemp -d /tmp/runtrail-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

exfil_port=$(port)
python3 samples/incident/collector.py "$exfil_port" "$work/collector.log" &
pids+=($!)
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$exfil_port") 2>/dev/null && break; sleep 0.1; done
sed "s/EXFIL_PORT/$exfil_port/" samples/incident/events/attack.json > "$work/attack.json"
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)

step "1. Four API Gateway requests to the 'thumbnailer' function, recorded (store: $RUNTRAIL_STORE)"
"$RT" invoke --function-name thumbnailer --task-root "$PWD/samples/incident" --handler app.handler \
    --event samples/incident/events/normal-cat.json --event samples/incident/events/normal-dog.json \
    --event "$work/attack.json" --event samples/incident/events/normal-cat.json \
    -- python3 "$PWD/samples/python/bootstrap.py"
echo "(four 200 responses: this is all APM would see)"

step "2. What the recorder saw: runtrail ls --function thumbnailer --since $since"
"$RT" ls --function thumbnailer --since "$since"

step "3. Which invocation talked to the collector? runtrail ls --dest 127.0.0.1:$exfil_port"
"$RT" ls --function thumbnailer --since "$since" --dest "127.0.0.1:$exfil_port"
bundle=$("$RT" ls --function thumbnailer --since "$since" --dest "127.0.0.1:$exfil_port" --json \
    | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["path"])')

step "4. Its timeline (runtrail show, events only; the full bundle also has meta, env and payloads)"
"$RT" show "$bundle" | grep -E '^[+-][0-9]' || true

step "5. Are the bundles intact and complete? runtrail verify $RUNTRAIL_STORE"
"$RT" verify "$RUNTRAIL_STORE"

step "6. Is this normal? runtrail baseline learn --function thumbnailer --since $since"
"$RT" baseline learn --function thumbnailer --since "$since" -o "$work/baseline.json"

step "7. runtrail check --function thumbnailer --since $since --baseline baseline.json"
# check and diff exit 1 when they find something: here, that is the expected outcome.
rc=0
"$RT" check --function thumbnailer --since "$since" --baseline "$work/baseline.json" || rc=$?
[ "$rc" = 1 ] || { echo "demo: runtrail check found nothing (exit $rc)" >&2; exit 1; }

normal=$("$RT" ls --function thumbnailer --since "$since" --json \
    | python3 -c 'import json,sys; print(json.loads(sys.stdin.readlines()[3])["path"])')
step "8. The attack against the same request without the injection: runtrail diff NORMAL ATTACK"
rc=0
"$RT" diff "$normal" "$bundle" || rc=$?
[ "$rc" = 1 ] || { echo "demo: runtrail diff found no difference (exit $rc)" >&2; exit 1; }

printf '\nThe collector received: %s\n' "$(cat "$work/collector.log" 2>/dev/null || echo nothing)"
printf 'Next: runtrail show %s   (the whole bundle)\n' "$bundle"
