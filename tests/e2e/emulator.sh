#!/usr/bin/env bash
# The local Lambda emulator (replay/) through `runtrail invoke --no-record` and
# `runtrail emulate`: the three samples (C custom runtime, Python stdlib loop, Node.js on AWS's
# aws-lambda-ric) give exact responses; function errors, timeouts and crashes come back as
# Lambda's error JSON with exit 1 and a fresh cold start afterwards; the Extensions API
# lifecycle with a tiny test extension; the APIs' 400/403/404/413 answers; the RIE-style
# invoke endpoint.
source "$(dirname "$0")/../lib.sh"
ROOT=$RT_ROOT
SAMPLES=$ROOT/samples
C_BOOTSTRAP=$ROOT/$BUILD/samples/c/bootstrap
RIC=$ROOT/node_modules/aws-lambda-ric/index.mjs

# The upstream service every sample calls.
start_upstream

expected() { # expected RUNTIME KIND: the exact response of a sample for a sample event
    local rt=$1 kind=$2
    local common="\"runtime\":\"$rt\",\"kind\":\"$kind\",\"greeting\":\"hello from the task root\",\"upstream\":\"upstream-ok\",\"child\":\"Linux\""
    case $kind in
    apigw)
        printf '{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{%s,\\"method\\":\\"GET\\",\\"path\\":\\"/pets/42\\"}"}\n' \
            "${common//\"/\\\"}" ;;
    s3) printf '{%s,"bucket":"example-uploads","key":"incoming/report-2026-11.csv"}\n' "$common" ;;
    sqs) printf '{%s,"messages":2,"ids":["059f36b4-87a3-44ab-83d2-661975830a7d","2e1424d4-f796-459a-8184-9c92662be6da"]}\n' "$common" ;;
    esac
}
for rt in c python node; do
    for k in apigw s3 sqs; do expected $rt $k; done >"$T_TMP/expected-$rt"
done
EVENTS=(--event "$SAMPLES/events/apigw-proxy.json" --event "$SAMPLES/events/s3-put.json"
        --event "$SAMPLES/events/sqs-batch.json")

# --- the three samples ---
(cd "$SAMPLES/c-bootstrap" && "$RUNTRAIL" invoke --no-record --env "$UPSTREAM" "${EVENTS[@]}" \
    -- "$C_BOOTSTRAP") >"$T_TMP/out-c" 2>"$T_TMP/err-c"
expect_file "C sample: exact responses for API Gateway, S3 and SQS events" "$T_TMP/expected-c" "$T_TMP/out-c"

"$RUNTRAIL" invoke --no-record --task-root "$SAMPLES/python" --handler app.handler \
    --env "$UPSTREAM" "${EVENTS[@]}" -- python3 "$SAMPLES/python/bootstrap.py" \
    >"$T_TMP/out-py" 2>"$T_TMP/err-py"
expect_file "Python sample: exact responses" "$T_TMP/expected-python" "$T_TMP/out-py"

if [ -f "$RIC" ]; then
    "$RUNTRAIL" invoke --no-record --task-root "$SAMPLES/node" --handler app.handler \
        --timeout 20 --env "$UPSTREAM" "${EVENTS[@]}" -- node "$RIC" \
        >"$T_TMP/out-node" 2>"$T_TMP/err-node"
    expect_file "Node sample on aws-lambda-ric: exact responses" "$T_TMP/expected-node" "$T_TMP/out-node"
    echo '{"fail":"no such pet"}' >"$T_TMP/fail.json"
    expect_exit "Node sample: a thrown error exits 1" 1 "$RUNTRAIL" invoke --no-record \
        --task-root "$SAMPLES/node" --handler app.handler --timeout 20 --event "$T_TMP/fail.json" \
        -- node "$RIC"
    expect_eq "Node sample: error JSON from aws-lambda-ric" "SampleError: no such pet" \
        "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["errorType"]+": "+d["errorMessage"])' <"$T_TMP/last.out")"
    # Response streaming: chunked body, and an error after the first chunk in the trailers.
    echo '{"parts":3}' >"$T_TMP/parts.json"
    echo '{"fail":"stream broke"}' >"$T_TMP/sfail.json"
    "$RUNTRAIL" invoke --no-record --task-root "$SAMPLES/node" --handler stream.handler \
        --timeout 20 --report "$T_TMP/stream-report" --event "$T_TMP/parts.json" \
        --event "$T_TMP/sfail.json" -- node "$RIC" >"$T_TMP/stream.out" 2>"$T_TMP/stream.err"
    printf 'part 1 of 3\npart 2 of 3\npart 3 of 3\n\n' >"$T_TMP/stream.want"
    head -n 4 "$T_TMP/stream.out" >"$T_TMP/stream.got"
    expect_file "streaming response (aws-lambda-ric, chunked) arrives whole" "$T_TMP/stream.want" "$T_TMP/stream.got"
    expect_eq "streaming error in trailers: error JSON" "Error: stream broke" \
        "$(tail -n 1 "$T_TMP/stream.out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["errorType"]+": "+d["errorMessage"])')"
    expect_eq "streaming: both marked streamed, statuses ok and error" "ok true,error true," \
        "$(python3 -c 'import json,sys
for l in open(sys.argv[1]): d=json.loads(l); print(d["status"], str(d["streamed"]).lower())' "$T_TMP/stream-report" | tr '\n' ',')"
else
    _notok "Node sample: node_modules/aws-lambda-ric is missing (make test-deps)"
fi

# --- function errors ---
echo '{"fail":"boom"}' >"$T_TMP/fail.json"
expect_exit "C sample: a function error exits 1" 1 "$RUNTRAIL" invoke --no-record \
    --task-root "$SAMPLES/c-bootstrap" --event "$T_TMP/fail.json" -- "$C_BOOTSTRAP"
expect_eq "C sample: the error is Lambda's error JSON" '{"errorMessage":"boom","errorType":"SampleError"}' \
    "$(cat "$T_TMP/last.out")"
expect_exit "Python sample: a raised exception exits 1" 1 "$RUNTRAIL" invoke --no-record \
    --task-root "$SAMPLES/python" --handler app.handler --event "$T_TMP/fail.json" \
    -- python3 "$SAMPLES/python/bootstrap.py"
expect_eq "Python sample: error JSON" "SampleError: boom" \
    "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["errorType"]+": "+d["errorMessage"])' <"$T_TMP/last.out")"
expect_exit "Python sample: an init error (bad handler) exits 1" 1 "$RUNTRAIL" invoke --no-record \
    --task-root "$SAMPLES/python" --handler nosuchmodule.handler \
    -- python3 "$SAMPLES/python/bootstrap.py"
expect_grep "init error: the module error is reported" '"errorType":"ModuleNotFoundError"' "$T_TMP/last.out"

# --- timeout, crash, restart ---
echo '{"sleep_ms":3000}' >"$T_TMP/sleep.json"
echo '{"crash":3}' >"$T_TMP/crash.json"
ok_event="$SAMPLES/events/s3-put.json"
# A copy of the runtime of our own, so that the check for processes left behind below sees this
# test's and not those of the test groups running beside it.
cp "$C_BOOTSTRAP" "$T_TMP/own-bootstrap"
expect_exit "timeout and crash: exit 1" 1 "$RUNTRAIL" invoke --no-record --timeout 0.5 \
    --task-root "$SAMPLES/c-bootstrap" --report "$T_TMP/report" --event "$ok_event" \
    --event "$T_TMP/sleep.json" --event "$ok_event" --event "$T_TMP/crash.json" \
    --event "$ok_event" -- "$T_TMP/own-bootstrap"
status() { python3 -c 'import json,sys
for l in open(sys.argv[1]): d=json.loads(l); print(d["status"], d["errorType"] or "-", "cold" if d["coldStart"] else "warm")' "$1" | tr '\n' ','; }
expect_eq "statuses: ok, timeout, ok (cold start again), crash, ok (cold start again)" \
    "ok - cold,timeout Sandbox.Timedout warm,ok - cold,crash Runtime.ExitError warm,ok - cold," \
    "$(status "$T_TMP/report")"
expect_grep "timeout: Lambda's message" '"errorMessage":"RequestId: [0-9a-f-]{36} Error: Task timed out after 0.50 seconds","errorType":"Sandbox.Timedout"' "$T_TMP/last.out"
expect_grep "crash: Runtime.ExitError with the exit status" '"errorMessage":"RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3","errorType":"Runtime.ExitError"' "$T_TMP/last.out"
expect_eq "responses after the timeout and the crash are fine" 3 \
    "$(grep -c '"bucket":"example-uploads"' "$T_TMP/last.out")"
expect_grep "stderr names the timed-out invocation" 'status timeout \(Sandbox.Timedout\)' "$T_TMP/last.err"
sleep 0.2
expect_eq "no sample process left behind" "" "$(pgrep -f "$T_TMP/own-bootstrap" || true)"
mkdir -p "$T_TMP/tmpdir"
echo '{"echo":1}' >"$T_TMP/echo.json"
TMPDIR="$T_TMP/tmpdir" "$RUNTRAIL" invoke --no-record --event "$T_TMP/echo.json" \
    -- /bin/sh -c 'touch "$TMPDIR/mark" && exec "$0"' "$ROOT/tests/replay/probe_runtime.sh" \
    >"$T_TMP/tmpdir.out" 2>/dev/null
expect_eq "each sandbox has a private TMPDIR, removed at its end" '{"echo":1}|' \
    "$(cat "$T_TMP/tmpdir.out")|$(ls -A "$T_TMP/tmpdir")"

# --- the Extensions API lifecycle ---
mkdir -p "$T_TMP/layer/extensions"
cp "$ROOT/tests/replay/ext_logger.py" "$T_TMP/layer/extensions/logger"
chmod +x "$T_TMP/layer/extensions/logger"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --env TEST_EXT_LOG="$T_TMP/ext.log" \
    --function-name orders-fn --handler app.handler --task-root "$SAMPLES/c-bootstrap" \
    --report "$T_TMP/ext-report" --event "$ok_event" --repeat 2 -- "$C_BOOTSTRAP" \
    >"$T_TMP/ext.out" 2>"$T_TMP/ext.err"
ids=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["requestId"] for l in open(sys.argv[1])))' "$T_TMP/ext-report")
set -- $ids
expect_grep "extension registered: 200, identifier, function name and handler" \
    '^register 200 [0-9a-f-]{36} orders-fn app.handler$' "$T_TMP/ext.log"
expect_eq "extension got INVOKE with the runtime's request ids, then SHUTDOWN spindown" \
    "INVOKE $1 arn:aws:lambda:us-east-1:123456789012:function:orders-fn X-Amzn-Trace-Id|INVOKE $2 arn:aws:lambda:us-east-1:123456789012:function:orders-fn X-Amzn-Trace-Id|SHUTDOWN spindown 2000" \
    "$(grep -v '^register' "$T_TMP/ext.log" | paste -sd'|')"
rm -f "$T_TMP/ext.log"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --env TEST_EXT_LOG="$T_TMP/ext.log" \
    --task-root "$SAMPLES/c-bootstrap" --timeout 0.5 --event "$T_TMP/sleep.json" \
    -- "$C_BOOTSTRAP" >/dev/null 2>&1
expect_eq "timeout: extension gets SHUTDOWN with reason timeout" "SHUTDOWN timeout 2000" \
    "$(grep SHUTDOWN "$T_TMP/ext.log")"
rm -f "$T_TMP/ext.log"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --env TEST_EXT_LOG="$T_TMP/ext.log" \
    --task-root "$SAMPLES/c-bootstrap" --event "$T_TMP/crash.json" -- "$C_BOOTSTRAP" >/dev/null 2>&1
expect_eq "crash: extension gets SHUTDOWN with reason failure" "SHUTDOWN failure 2000" \
    "$(grep SHUTDOWN "$T_TMP/ext.log")"
rm -f "$T_TMP/ext.log"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --env TEST_EXT_LOG="$T_TMP/ext.log" \
    --env TEST_EXT_DELAY_MS=300 --task-root "$SAMPLES/c-bootstrap" --report "$T_TMP/slow" \
    --event "$ok_event" -- "$C_BOOTSTRAP" >/dev/null 2>&1
expect_eq "an invocation waits for the extension to call next again (>= 300 ms)" yes \
    "$(python3 -c 'import json,sys; print("yes" if json.loads(open(sys.argv[1]).readline())["durationMs"] >= 300 else "no")' "$T_TMP/slow")"

# Lambda merges the layers into /opt in their order: an extension a later layer also has is that
# layer's file, one process, not one per layer (docs/man/runtrail-invoke.1).
mkdir -p "$T_TMP/layer2/extensions"
printf '#!/bin/sh\necho "from the second layer" >>"$TEST_EXT_LOG"\nexec %s "$@"\n' \
    "$ROOT/tests/replay/ext_logger.py" >"$T_TMP/layer2/extensions/logger"
chmod +x "$T_TMP/layer2/extensions/logger"
rm -f "$T_TMP/ext.log"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --layer "$T_TMP/layer2" \
    --env TEST_EXT_LOG="$T_TMP/ext.log" --task-root "$SAMPLES/c-bootstrap" --event "$ok_event" \
    -- "$C_BOOTSTRAP" >/dev/null 2>"$T_TMP/merge.err"
expect_eq "two layers with the same extension: the later layer's starts, once" \
    "from the second layer|register 200" \
    "$(grep -E '^(from|register)' "$T_TMP/ext.log" | sed 's/^\(register [0-9]*\) .*/\1/' | paste -sd'|')"

# The Init phase as Lambda runs it: the runtime starts once every extension has registered,
# beside what an extension does before its first event/next; init is over (and the first event
# goes out) only when the runtime and every extension wait in next.
rm -f "$T_TMP/ext.log"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --env TEST_EXT_LOG="$T_TMP/ext.log" \
    --env TEST_EXT_INIT_DELAY_MS=400 --task-root "$SAMPLES/c-bootstrap" --report "$T_TMP/init" \
    --event "$ok_event" \
    -- /bin/sh -c 'echo "runtime-start $(date +%s%3N)" >>"$0"; exec "$1"' "$T_TMP/ext.log" \
    "$C_BOOTSTRAP" >"$T_TMP/init.out" 2>/dev/null
started=$(sed -n 's/^runtime-start //p' "$T_TMP/ext.log")
ext_done=$(sed -n 's/^init-done //p' "$T_TMP/ext.log")
expect_eq "init: the runtime starts before the registered extension calls next" yes \
    "$([ -n "$started" ] && [ -n "$ext_done" ] && [ "$started" -lt "$ext_done" ] && echo yes || echo "no (runtime $started, extension $ext_done)")"
expect_eq "init: it lasts until the extension calls next (>= 400 ms), then the function answers" "yes 1" \
    "$(python3 -c 'import json,sys; print("yes" if json.loads(open(sys.argv[1]).readline())["initMs"] >= 400 else "no")' "$T_TMP/init") $(grep -c '"bucket":"example-uploads"' "$T_TMP/init.out")"

# What the runtime writes before an extension subscribes to the Telemetry API, during init,
# still reaches that extension (Lambda delivers the Init phase's telemetry to subscribers).
rm -f "$T_TMP/ext.log"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --env TEST_EXT_LOG="$T_TMP/ext.log" \
    --env TEST_EXT_INIT_DELAY_MS=300 --env TEST_EXT_TELEMETRY=1 \
    --task-root "$SAMPLES/c-bootstrap" --event "$ok_event" \
    -- /bin/sh -c 'echo "early line, before any subscription"; exec "$0"' "$C_BOOTSTRAP" \
    >/dev/null 2>&1
expect_eq "init: the runtime's early output reaches the extension that subscribed later" \
    "subscribe 200|telemetry early line, before any subscription" \
    "$(grep -E '^(subscribe|telemetry early)' "$T_TMP/ext.log" | paste -sd'|')"
# ... even when the runtime died before the extension subscribed: the sandbox ends only once
# the extension has finished its init, and then SHUTDOWN says why.
rm -f "$T_TMP/ext.log"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/layer" --env TEST_EXT_LOG="$T_TMP/ext.log" \
    --env TEST_EXT_INIT_DELAY_MS=300 --env TEST_EXT_TELEMETRY=1 \
    --task-root "$SAMPLES/c-bootstrap" --event "$ok_event" \
    -- /bin/sh -c 'echo "last words"; exit 3' >/dev/null 2>&1
expect_eq "init crash: the dead runtime's last line reaches the late subscriber, then SHUTDOWN failure" \
    "subscribe 200|telemetry last words|SHUTDOWN failure" \
    "$(grep -E '^(subscribe|telemetry|SHUTDOWN)' "$T_TMP/ext.log" | sed 's/^\(SHUTDOWN [a-z]*\) .*/\1/' | paste -sd'|')"

# --- API status codes (the probe runtime calls the APIs wrongly) ---
PROBE="$ROOT/tests/replay/probe_runtime.sh"
echo '{"codes":1}' >"$T_TMP/codes.json"
echo '{"big":1}' >"$T_TMP/big.json"
"$RUNTRAIL" invoke --no-record --event "$T_TMP/big.json" --event "$T_TMP/codes.json" \
    --env PROBE_OUT="$T_TMP/probe.out" -- "$PROBE" >"$T_TMP/probe.json" 2>"$T_TMP/probe.err"
expect_eq "Runtime/Extensions API: 400 bad request id, 403 init/error after init, 404, 403 unknown or missing extension id, 400 bad register, 403 late register" \
    '{"codes":"bad-id:400 bad-id-error:400 init-error-late:403 unknown-path:404 ext-missing-id:403 ext-unknown-id:403 ext-unknown-exit:403 register-bad-json:400 register-no-name:400 register-late:403"}' \
    "$(sed -n 2p "$T_TMP/probe.json")"
expect_eq "a 7 MB response gets 413 RequestEntityTooLarge" \
    '413 {"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}' \
    "$(cat "$T_TMP/probe.out" 2>/dev/null)"
expect_eq "... and the invocation fails with Function.ResponseSizeTooLarge" \
    '{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}' \
    "$(head -n 1 "$T_TMP/probe.json")"
expect_exit "runtime init/error: the invocation fails with its error type" 1 "$RUNTRAIL" invoke \
    --no-record --env PROBE_INIT_ERROR=1 -- "$PROBE"
expect_eq "init/error body is passed through" \
    '{"errorMessage":"cannot load the handler","errorType":"Probe.InitFailed"}' "$(cat "$T_TMP/last.out")"

# --- emulate: the RIE-style endpoint ---
EM_PORT=$(free_port)
"$RUNTRAIL" emulate --no-record --listen "127.0.0.1:$EM_PORT" --task-root "$SAMPLES/c-bootstrap" \
    --env "$UPSTREAM" --timeout 1 -- "$C_BOOTSTRAP" 2>"$T_TMP/emulate.err" &
EM_PID=$!
PIDS+=($EM_PID)
URL="http://127.0.0.1:$EM_PORT/2015-03-31/functions/function/invocations"
for _ in $(seq 100); do grep -q listening "$T_TMP/emulate.err" && break; sleep 0.1; done
curl -s -D "$T_TMP/h1" --data-binary @"$SAMPLES/events/s3-put.json" "$URL" >"$T_TMP/em1"
expected c s3 | head -c -1 >"$T_TMP/em1.want"
expect_file "emulate: curl gets the response body" "$T_TMP/em1.want" "$T_TMP/em1"
expect_grep "emulate: 200 with a request id" '^X-Amzn-RequestId: [0-9a-f-]{36}' "$T_TMP/h1"
curl -s -D "$T_TMP/h2" -d '{"fail":"bad order"}' "$URL" >"$T_TMP/em2"
expect_eq "emulate: a function error is the error JSON" '{"errorMessage":"bad order","errorType":"SampleError"}' "$(cat "$T_TMP/em2")"
expect_grep "emulate: ... with X-Amz-Function-Error" '^X-Amz-Function-Error: Unhandled' "$T_TMP/h2"
curl -s -d '{"sleep_ms":2000}' "$URL" >"$T_TMP/em3"
expect_grep "emulate: timeout" '"errorType":"Sandbox.Timedout"' "$T_TMP/em3"
curl -s --data-binary @"$SAMPLES/events/sqs-batch.json" "$URL" >"$T_TMP/em4"
expect_grep "emulate: next invocation after the timeout is fine" '"messages":2' "$T_TMP/em4"
head -c 7000000 /dev/zero | tr '\0' ' ' >"$T_TMP/huge.json"
expect_eq "emulate: a 7 MB event gets 413" 413 \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T_TMP/huge.json" "$URL")"
expect_eq "emulate: unknown path 404" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EM_PORT/nope")"
API=$(sed -n 's/.*(Runtime API on \(127.0.0.1:[0-9]*\)).*/\1/p' "$T_TMP/emulate.err")
code() { curl -s -o "$T_TMP/code.out" -w '%{http_code}' "$@"; }
expect_eq "emulate's Runtime API: POST /response for an unknown request id is 400" \
    "400 InvalidRequestID" \
    "$(code -d '{}' "http://$API/2018-06-01/runtime/invocation/nope/response") $(sed 's/.*"errorType":"\([^"]*\)".*/\1/' "$T_TMP/code.out")"
expect_eq "emulate's Extensions API: event/next with an unknown identifier is 403" \
    "403 Extension.UnknownExtensionIdentifier" \
    "$(code -H 'Lambda-Extension-Identifier: 00000000-0000-4000-8000-000000000000' "http://$API/2020-01-01/extension/event/next") $(sed 's/.*"errorType":"\([^"]*\)".*/\1/' "$T_TMP/code.out")"
expect_eq "emulate's Extensions API: register after init is 403" 403 \
    "$(code -H 'Lambda-Extension-Name: late' -d '{"events":["INVOKE"]}' "http://$API/2020-01-01/extension/register")"
expect_eq "emulate's Runtime API: unknown path is 404" 404 \
    "$(code "http://$API/2018-06-01/runtime/whatever")"
kill -TERM $EM_PID
wait $EM_PID
expect_eq "emulate: SIGTERM stops it cleanly" 0 $?

# emulate: X-Amz-Client-Context (base64) reaches the runtime as JSON.
EM_PORT=$(free_port)
"$RUNTRAIL" emulate --no-record --listen "$EM_PORT" -- "$ROOT/tests/replay/probe_runtime.sh" \
    2>"$T_TMP/emulate2.err" &
EM_PID=$!
PIDS+=($EM_PID)
for _ in $(seq 100); do grep -q listening "$T_TMP/emulate2.err" && break; sleep 0.1; done
ctx='{"custom":{"tenant":"acme"}}'
expect_eq "emulate: client context passed to the runtime" "$ctx" \
    "$(curl -s -H "X-Amz-Client-Context: $(printf '%s' "$ctx" | base64 -w0)" -d '{"ctx":1}' \
        "http://127.0.0.1:$EM_PORT/2015-03-31/functions/function/invocations")"
expect_eq "emulate: a bad client context is 400" 400 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Amz-Client-Context: %%%' -d '{}' \
        "http://127.0.0.1:$EM_PORT/2015-03-31/functions/function/invocations")"
kill -TERM $EM_PID
wait $EM_PID

# --- usage ---
# SIGINT during a long invocation: cancelled at once, sandbox shut down, exit 1.
echo '{"sleep_ms":20000}' >"$T_TMP/long.json"
"$RUNTRAIL" invoke --no-record --timeout 60 --task-root "$SAMPLES/c-bootstrap" \
    --event "$T_TMP/long.json" --event "$ok_event" -- "$T_TMP/own-bootstrap" \
    >"$T_TMP/int.out" 2>"$T_TMP/int.err" &
INV_PID=$!
PIDS+=($INV_PID)
for _ in $(seq 100); do pgrep -f "$T_TMP/own-bootstrap" >/dev/null && break; sleep 0.05; done
sleep 0.3
t0=$(date +%s%N)
kill -INT $INV_PID
wait $INV_PID
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "SIGINT: invoke exits 1 within 2 s" "1 yes" "$rc $([ $ms -lt 2000 ] && echo yes || echo "no ($ms ms)")"
expect_grep "SIGINT: the invocation is reported cancelled, the next one never starts" \
    '^\{"errorMessage":"RequestId: [0-9a-f-]{36} Error: the invocation was cancelled","errorType":"Runtrail.Cancelled"\}$' "$T_TMP/int.out"
expect_eq "SIGINT: one line printed, no sample process left" "1|" \
    "$(wc -l <"$T_TMP/int.out" | tr -d ' ')|$(pgrep -f "$T_TMP/own-bootstrap" || true)"

# --event - reads stdin; --repeat delivers the list N times.
printf '{"from":"stdin"}' | "$RUNTRAIL" invoke --no-record --event - --repeat 3 \
    -- "$ROOT/tests/replay/probe_runtime.sh" >"$T_TMP/stdin.out" 2>/dev/null
expect_eq "--event - and --repeat 3" '{"from":"stdin"}|{"from":"stdin"}|{"from":"stdin"}' \
    "$(paste -sd'|' "$T_TMP/stdin.out")"
# A relative runtime path works although the runtime starts in the task root.
(cd "$ROOT" && "$RUNTRAIL" invoke --no-record --task-root samples/c-bootstrap \
    --event samples/events/s3-put.json -- "$BUILD/samples/c/bootstrap") >"$T_TMP/rel.out" 2>/dev/null
expect_grep "relative runtime path and task root" '"bucket":"example-uploads"' "$T_TMP/rel.out"
expect_exit "invoke without a runtime command is a usage error" 2 "$RUNTRAIL" invoke --no-record
expect_grep "usage error names the problem" "missing the runtime command" "$T_TMP/last.err"
expect_exit "invoke --timeout garbage" 2 "$RUNTRAIL" invoke --no-record --timeout x -- true
expect_exit "emulate without --listen" 2 "$RUNTRAIL" emulate --no-record -- true
expect_exit "invoke --help" 0 "$RUNTRAIL" invoke --help
expect_grep "help mentions --no-record" 'no-record +run without the runtrail recorder' "$T_TMP/last.out"

finish
