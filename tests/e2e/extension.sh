#!/usr/bin/env bash
# The runtrail Lambda extension, wrapper and layer ($BUILD/layer) through the local emulator
# (`runtrail invoke` / `runtrail emulate`): responses are byte-identical with and without the
# recorder for the three samples; each bundle holds the event, the Lambda-Runtime-* headers,
# the response, the keyed env hashes (no secret in clear anywhere in the decompressed bytes),
# the code digest, the handler's file/net/proc events and none of the runtime's traffic to
# the proxy; the sandbox chain; payload modes and redaction; and the failures: store not
# writable (counted in the next bundle, spooled bundle delivered later), ring full, bad
# configuration, timeout, crash, RUNTRAIL_DISABLE, a proxy that cannot start, and a function
# that deletes the run folder.
source "$(dirname "$0")/../lib.sh"
ROOT=$RT_ROOT
SAMPLES=$ROOT/samples
C_BOOTSTRAP=$ROOT/$BUILD/samples/c/bootstrap
RIC=$ROOT/node_modules/aws-lambda-ric/index.mjs
FACTS="python3 $ROOT/tests/extension/facts.py"
SECRET="wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETKEY"

start_upstream
EVENTS=(--event "$SAMPLES/events/apigw-proxy.json" --event "$SAMPLES/events/s3-put.json"
        --event "$SAMPLES/events/sqs-batch.json")

# Every recorded run gets its own run dir (ring, ready file), spool and layers folder, so
# runs never see each other (the emulator picks a free proxy port).
n_run=0
rec() { # rec STORE [invoke options...] -- RUNTIME...: a recorded invoke
    local store=$1; shift
    n_run=$((n_run + 1))
    mkdir -p "$T_TMP/run$n_run"
    "$RUNTRAIL" invoke --store "$store" --env RUNTRAIL_RUN_DIR="$T_TMP/run$n_run" \
        --env RUNTRAIL_SPOOL_DIR="$T_TMP/spool$n_run" --env RUNTRAIL_LAYERS_DIR="$T_TMP/opt" \
        --env AWS_SECRET_ACCESS_KEY="$SECRET" "$@"
}
mkdir -p "$T_TMP/opt/lib"
echo "a layer file" >"$T_TMP/opt/lib/data.txt"
# in start order (key = start ns); every sandbox ends with a `shutdown` bundle (chain_end last)
all_bundles() { find "$1" -name '*.rtb' 2>/dev/null | sort; }
bundles() { all_bundles "$1" | grep -v -- '-shutdown\.rtb$'; } # the invocations' bundles
facts() { local b=$1; shift; "$RUNTRAIL" show --json "$b" | $FACTS "$@"; }

# --- the three samples: identical responses, one bundle per invocation ---
run_sample() { # run_sample NAME TASK_ROOT [options] -- RUNTIME...
    local name=$1 root=$2; shift 2
    (cd "$root" && "$RUNTRAIL" invoke --no-record --task-root "$root" --env "$UPSTREAM" \
        "${EVENTS[@]}" "$@") >"$T_TMP/plain-$name" 2>"$T_TMP/plain-$name.err"
    (cd "$root" && rec "$T_TMP/store-$name" --task-root "$root" --env "$UPSTREAM" \
        "${EVENTS[@]}" "$@") >"$T_TMP/rec-$name" 2>"$T_TMP/rec-$name.err"
    expect_file "$name sample: responses byte-identical with and without the recorder" \
        "$T_TMP/plain-$name" "$T_TMP/rec-$name"
    # (The shutdown bundle closes the chain; it may hold the summary of a keep-alive connection
    # the server closed after the last response, after that invocation was sealed.)
    expect_eq "$name sample: one bundle per invocation, one shutdown bundle" "3 1" \
        "$(bundles "$T_TMP/store-$name" | wc -l) $(all_bundles "$T_TMP/store-$name" | grep -c -- '-shutdown\.rtb$')"
}
run_sample c "$SAMPLES/c-bootstrap" -- "$C_BOOTSTRAP"
run_sample python "$SAMPLES/python" --handler app.handler -- python3 "$SAMPLES/python/bootstrap.py"
if [ -f "$RIC" ]; then
    run_sample node "$SAMPLES/node" --handler app.handler --timeout 20 -- node "$RIC"
else
    _notok "node sample: node_modules/aws-lambda-ric is missing (make test-deps)"
fi

# --- what a bundle holds (Python sample, API Gateway event first) ---
mapfile -t PY < <(bundles "$T_TMP/store-python")
B=${PY[0]}
"$RUNTRAIL" show --json "$B" >"$T_TMP/b0.json"
F() { $FACTS "$@" <"$T_TMP/b0.json"; }
# (redacted is the default mode: the sample event names no sensitive key, so it is kept whole)
expect_eq "event payload stored whole, hash over the original" \
    "redacted $(wc -c <"$SAMPLES/events/apigw-proxy.json") $(sha256sum "$SAMPLES/events/apigw-proxy.json" | cut -d' ' -f1)" \
    "$(F payload.event.mode payload.event.original_len payload.event.sha256 | paste -sd' ')"
F payload.event.data >"$T_TMP/event.got"
expect_file "event payload bytes" "$SAMPLES/events/apigw-proxy.json" "$T_TMP/event.got"
F payload.response.data >"$T_TMP/resp.got"
head -n 1 "$T_TMP/rec-python" | head -c -1 >"$T_TMP/resp.want"
expect_file "response payload = what invoke printed" "$T_TMP/resp.want" "$T_TMP/resp.got"
expect_eq "Lambda-Runtime-* headers: request id matches META, ARN and deadline" \
    "$(F meta.request_id) arn:aws:lambda:us-east-1:123456789012:function:runtrail-function yes" \
    "$(F header.Lambda-Runtime-Aws-Request-Id header.Lambda-Runtime-Invoked-Function-Arn | paste -sd' ') $(F header.Lambda-Runtime-Deadline-Ms | grep -qE '^[0-9]{13}$' && echo yes)"
expect_eq "META: ok, cold start, seq 0, no prev, coverage proxy+preload, caller from the event" \
    'ok true 0 - ["preload","proxy"] 203.0.113.17 app.handler' \
    "$(F meta.status meta.cold_start meta.seq meta.prev_digest meta.coverage meta.caller meta.handler | paste -sd' ')"
expect_eq "ENV: the secret is an HMAC only, allow-listed values in clear" \
    "- 64 us-east-1 runtrail-function" \
    "$(F env.AWS_SECRET_ACCESS_KEY.value env.AWS_SECRET_ACCESS_KEY.hmac env.AWS_REGION.value env.AWS_LAMBDA_FUNCTION_NAME.value | awk 'NR==2{print length($0); next} {print}' | paste -sd' ')"
for b in $(all_bundles "$T_TMP/store-python"); do zstd -dc "$b"; done >"$T_TMP/all-decompressed"
expect_eq "the secret's value appears nowhere in the decompressed bundles" 0 \
    "$(grep -a -c -F "$SECRET" "$T_TMP/all-decompressed")"
expect_eq "CODE: task root path and its files, layers folder hashed" \
    "$SAMPLES/python yes" \
    "$(F code.task_root_path) $([ "$(F code.files)" -ge 3 ] && echo yes)"
F events >"$T_TMP/b0.events"
F outside >"$T_TMP/b0.outside"
expect_grep "handler's file read in the window" '^openat .*path=".*/samples/python/config.json"' "$T_TMP/b0.events"
expect_grep "handler's outbound call to the upstream" "^(connect|outbound) .*127\\.0\\.0\\.1:$UP_PORT" "$T_TMP/b0.events"
expect_grep "handler's child process" '^(execve|posix_spawn|proc_start) .*uname' "$T_TMP/b0.events"
PROXY_PORT=$(F env.RUNTRAIL_PROXY_PORT.value)
cat "$T_TMP/b0.events" "$T_TMP/b0.outside" >"$T_TMP/b0.all"
expect_no_grep "none of the runtime's traffic to the proxy" "127\\.0\\.0\\.1:$PROXY_PORT\"" \
    "$T_TMP/b0.all"
expect_eq "runtime start-up is kept, flagged outside, and counted" \
    "yes $(wc -l <"$T_TMP/b0.outside")" \
    "$([ "$(wc -l <"$T_TMP/b0.outside")" -gt 0 ] && echo yes) $(F counter.outside_events)"
"$RUNTRAIL" show --json "${PY[1]}" >"$T_TMP/b1.json"
expect_eq "second bundle: warm, seq 1, prev = first bundle's digest, same sandbox" \
    "false 1 $(F meta.digest) $(F meta.sandbox_id)" \
    "$($FACTS meta.cold_start meta.seq meta.prev_digest meta.sandbox_id <"$T_TMP/b1.json" | paste -sd' ')"
expect_exit "runtrail verify accepts the chain" 0 "$RUNTRAIL" verify "${PY[@]}"

# C and Node bundles carry their handlers' behaviour too.
C0=$(bundles "$T_TMP/store-c" | head -n 1)
facts "$C0" events >"$T_TMP/c0.events"
expect_grep "C sample: upstream call recorded" "127\\.0\\.0\\.1:$UP_PORT" "$T_TMP/c0.events"
if [ -f "$RIC" ]; then
    # Response streaming through the proxy (aws-lambda-ric, chunked, error in the trailers).
    echo '{"parts":3}' >"$T_TMP/parts.json"
    echo '{"fail":"stream broke"}' >"$T_TMP/sfail.json"
    SEV=(--task-root "$SAMPLES/node" --handler stream.handler --timeout 20
         --event "$T_TMP/parts.json" --event "$T_TMP/sfail.json")
    "$RUNTRAIL" invoke --no-record "${SEV[@]}" -- node "$RIC" >"$T_TMP/plain-stream" 2>"$T_TMP/plain-stream.err"
    rec "$T_TMP/store-stream" "${SEV[@]}" -- node "$RIC" >"$T_TMP/rec-stream" 2>"$T_TMP/rec-stream.err"
    expect_file "streaming: responses byte-identical with and without the recorder" \
        "$T_TMP/plain-stream" "$T_TMP/rec-stream"
    mapfile -t ST < <(bundles "$T_TMP/store-stream")
    [ "${#ST[@]}" -eq 2 ] || { echo "# streaming: ${#ST[@]} bundles; the recorded run said:"
        head -n 20 "$T_TMP/rec-stream.err" | sed 's/^/#   /'; }
    expect_eq "streaming: ok with the streamed body; then error with the trailer's type and body" \
        "ok|part 1 of 3\npart 2 of 3\npart 3 of 3\n|error|Error|stream broke" \
        "$(facts "${ST[0]}" meta.status)|$(facts "${ST[0]}" payload.response.data | sed -z 's/\n/\\n/g')|$(facts "${ST[1]}" meta.status meta.error_type | paste -sd'|')|$(facts "${ST[1]}" payload.error.data | python3 -c 'import json,sys; print(json.load(sys.stdin)["errorMessage"])')"
    N0=$(bundles "$T_TMP/store-node" | head -n 1)
    facts "$N0" events >"$T_TMP/n0.events"
    expect_grep "Node sample (aws-lambda-ric): config read recorded" \
        'path=".*/samples/node/config.json"' "$T_TMP/n0.events"
fi

# --- payload modes and redaction ---
APIGW="$SAMPLES/events/apigw-proxy.json"
line() { sed -n "$2p" "$1" >"$T_TMP/line.want"; echo "$T_TMP/line.want"; } # line FILE N
rec "$T_TMP/store-red" --task-root "$SAMPLES/c-bootstrap" --event "$APIGW" --env "$UPSTREAM" \
    --env RUNTRAIL_PAYLOAD=redacted \
    --env RUNTRAIL_REDACT="X-Forwarded-For,requestContext.identity.sourceIp" \
    -- "$C_BOOTSTRAP" >"$T_TMP/red.out" 2>/dev/null
expect_file "redacted: response unchanged" "$(line "$T_TMP/plain-c" 1)" "$T_TMP/red.out"
R=$(bundles "$T_TMP/store-red")
zstd -dc "$R" >"$T_TMP/red.raw"
expect_eq "redacted: the IP appears nowhere in the bundle" 0 "$(grep -a -c -F 203.0.113.17 "$T_TMP/red.raw")"
facts "$R" meta.caller >"$T_TMP/red.caller"
expect_grep "redacted: META caller is read from the event as stored: the IP's token" \
    '^<redacted:hmac:[0-9a-f]{32}>$' "$T_TMP/red.caller"
facts "$R" payload.event.data >"$T_TMP/red.event"
# headers.X-Forwarded-For and requestContext.identity.sourceIp hold the same string: same
# token; multiValueHeaders.X-Forwarded-For holds an array: another one.
expect_eq "redacted: 3 values replaced, equal values give equal keyed tokens" "3 2" \
    "$(grep -o '<redacted:hmac:[0-9a-f]\{32\}>' "$T_TMP/red.event" | wc -l) $(grep -o '<redacted:hmac:[0-9a-f]\{32\}>' "$T_TMP/red.event" | sort -u | wc -l)"
expect_eq "redacted: other fields kept, hash of the original" \
    "yes $(sha256sum "$APIGW" | cut -d' ' -f1) redacted" \
    "$(grep -q '"petId":"42"' "$T_TMP/red.event" && echo yes) $(facts "$R" payload.event.sha256 payload.event.mode | paste -sd' ')"

rec "$T_TMP/store-hash" --task-root "$SAMPLES/c-bootstrap" --event "$APIGW" \
    --env RUNTRAIL_PAYLOAD=hash -- "$C_BOOTSTRAP" >/dev/null 2>&1
expect_eq "hash mode: no bytes, length and SHA-256 kept" \
    "hash 0 $(wc -c <"$APIGW") $(sha256sum "$APIGW" | cut -d' ' -f1)" \
    "$(facts "$(bundles "$T_TMP/store-hash")" payload.event.mode payload.event.len payload.event.original_len payload.event.sha256 | paste -sd' ')"
rec "$T_TMP/store-none" --task-root "$SAMPLES/c-bootstrap" --event "$APIGW" \
    --env RUNTRAIL_PAYLOAD=none -- "$C_BOOTSTRAP" >/dev/null 2>&1
expect_eq "none mode: nothing but the length; no caller" "none 0 $(wc -c <"$APIGW") -" \
    "$(facts "$(bundles "$T_TMP/store-none")" payload.event.mode payload.event.len payload.event.original_len meta.caller | paste -sd' ')"
rec "$T_TMP/store-max" --task-root "$SAMPLES/c-bootstrap" --event "$APIGW" \
    --env RUNTRAIL_MAX_PAYLOAD=100 -- "$C_BOOTSTRAP" >/dev/null 2>&1
expect_eq "RUNTRAIL_MAX_PAYLOAD: cut at 100, full length and hash kept, counted" \
    "100 $(wc -c <"$APIGW") $(sha256sum "$APIGW" | cut -d' ' -f1) yes" \
    "$(facts "$(bundles "$T_TMP/store-max")" payload.event.len payload.event.original_len payload.event.sha256 | paste -sd' ') $([ "$(facts "$(bundles "$T_TMP/store-max")" counter.payload_truncated)" -gt 0 ] && echo yes)"

# --- failures never reach the function ---
ok_event="$SAMPLES/events/s3-put.json"
echo '{"sleep_ms":3000}' >"$T_TMP/sleep.json"
echo '{"crash":3}' >"$T_TMP/crash.json"
rec "$T_TMP/store-tc" --env "$UPSTREAM" --timeout 0.5 --task-root "$SAMPLES/c-bootstrap" --event "$T_TMP/sleep.json" \
    --event "$ok_event" --event "$T_TMP/crash.json" --event "$ok_event" -- "$C_BOOTSTRAP" \
    >"$T_TMP/tc.out" 2>/dev/null
expect_eq "timeout and crash: the next invocations answer normally" 2 \
    "$(grep -c '"bucket":"example-uploads"' "$T_TMP/tc.out")"
status_line() { for b in $(all_bundles "$1"); do facts "$b" meta.status meta.error_type meta.cold_start | paste -sd' '; done | paste -sd','; }
expect_eq "bundles: timeout, shutdown, ok (new sandbox), crash (warm), shutdown, ok (new sandbox), shutdown" \
    "timeout Sandbox.Timedout true,unknown - false,ok - true,crash Runtime.ExitError false,unknown - false,ok - true,unknown - false" \
    "$(status_line "$T_TMP/store-tc")"

echo '{"fail":"no such order"}' >"$T_TMP/fail.json"
rec "$T_TMP/store-err" --env "$UPSTREAM" --task-root "$SAMPLES/c-bootstrap" \
    --event "$T_TMP/fail.json" -- "$C_BOOTSTRAP" >"$T_TMP/err.out" 2>/dev/null
E=$(bundles "$T_TMP/store-err")
head -c -1 "$T_TMP/err.out" >"$T_TMP/err.want"
facts "$E" payload.error.data >"$T_TMP/err.got"
expect_eq "function error: status error with its type, no response" "error SampleError -" \
    "$(facts "$E" meta.status meta.error_type payload.response.mode | paste -sd' ')"
expect_file "function error: the error body as the runtime posted it" "$T_TMP/err.want" "$T_TMP/err.got"

rec "$T_TMP/store-cfg" --env "$UPSTREAM" --task-root "$SAMPLES/c-bootstrap" --event "$ok_event" \
    --env RUNTRAIL_PAYLOAD=everything --env RUNTRAIL_MAX_EVENTS=lots -- "$C_BOOTSTRAP" \
    >"$T_TMP/cfg.out" 2>"$T_TMP/cfg.err"
expect_eq "bad config: invocation fine, defaults used, 2 config errors counted" \
    "yes redacted 2" \
    "$(grep -q example-uploads "$T_TMP/cfg.out" && echo yes) $(facts "$(bundles "$T_TMP/store-cfg")" payload.event.mode counter.config_errors | paste -sd' ')"

rec "$T_TMP/store-ring" --task-root "$SAMPLES/python" --handler app.handler --event "$ok_event" \
    --env "$UPSTREAM" --env RUNTRAIL_RING_SLOTS=1 --env RUNTRAIL_DRAIN_MS=60000 \
    -- python3 "$SAMPLES/python/bootstrap.py" \
    >"$T_TMP/ring.out" 2>/dev/null
expect_file "ring full: response unchanged" "$(line "$T_TMP/plain-python" 2)" "$T_TMP/ring.out"
expect_eq "ring full: drops counted in the bundle" yes \
    "$([ "$(facts "$(bundles "$T_TMP/store-ring")" counter.ring_dropped)" -gt 0 ] && echo yes)"

# The extension holds its event/next until the bundle is stored (Lambda may freeze the sandbox
# once everyone has called next): each invocation finds the bundles of all before it.
HELD=(--task-root "$ROOT/tests/extension/held" --handler app.handler)
echo '{}' >"$T_TMP/empty.json"
echo '{"crash":true}' >"$T_TMP/die.json"
# (A generous bound, so that a loaded machine's slow seal cannot end the hold early.)
rec "$T_TMP/store-held" "${HELD[@]}" --env RUNTRAIL_FLUSH_WAIT_MS=20000 \
    --event "$T_TMP/empty.json" --repeat 4 \
    -- python3 "$SAMPLES/python/bootstrap.py" >"$T_TMP/held.out" 2>/dev/null
expect_eq "hold on next: invocation N starts with N-1 bundles stored" \
    '{"bundles_before":0},{"bundles_before":1},{"bundles_before":2},{"bundles_before":3}' \
    "$(paste -sd, "$T_TMP/held.out")"
# A runtime that dies mid-invocation ends the hold at once, not at the 30 s deadline.
t0=$(date +%s)
rec "$T_TMP/store-died" "${HELD[@]}" --timeout 30 --event "$T_TMP/die.json" \
    --event "$T_TMP/empty.json" -- python3 "$SAMPLES/python/bootstrap.py" \
    >"$T_TMP/died.out" 2>/dev/null
secs=$(($(date +%s) - t0))
expect_eq "hold on next: a crash is recorded (its sandbox closed) and the next invocation answers, well before the deadline" \
    "crash,unknown,ok,unknown yes" \
    "$(for b in $(all_bundles "$T_TMP/store-died"); do facts "$b" meta.status; done | paste -sd,) $([ "$secs" -lt 20 ] && echo yes || echo "no ($secs s)")"

# A function that clears /tmp at every invocation (common advice on Lambda) removes the run
# folder; the ring lives in memory, so the processes it starts afterwards are still recorded.
rec "$T_TMP/store-clean" --task-root "$ROOT/tests/extension/cleaner" --handler app.handler \
    --event "$T_TMP/empty.json" --repeat 3 -- python3 "$SAMPLES/python/bootstrap.py" \
    >"$T_TMP/clean.out" 2>"$T_TMP/clean.err"
expect_eq "run folder cleared by the function: answers unchanged, the folder gone each time" \
    '{"child":"Linux","run_dir_left":false} x3' \
    "$(sort -u "$T_TMP/clean.out") x$(wc -l <"$T_TMP/clean.out")"
expect_eq "run folder cleared by the function: every invocation still records its child" \
    "1 1 1" \
    "$(for b in $(bundles "$T_TMP/store-clean"); do facts "$b" events | grep -c '^proc_start .*exe="/[a-z/]*uname"'; done | paste -sd' ')"

rec "$T_TMP/store-off" --env RUNTRAIL_DISABLE=1 --env "$UPSTREAM" \
    --task-root "$SAMPLES/c-bootstrap" --event "$ok_event" -- "$C_BOOTSTRAP" \
    >"$T_TMP/off.out" 2>/dev/null
expect_file "RUNTRAIL_DISABLE=1: response unchanged" "$(line "$T_TMP/plain-c" 2)" "$T_TMP/off.out"
expect_eq "RUNTRAIL_DISABLE=1: no bundle" 0 "$(all_bundles "$T_TMP/store-off" | wc -l)"

# The proxy port is taken (another process, or a port picked as free by someone who then lost
# the race for it): the extension listens on another loopback port, the wrapper reads that
# port from the ready file, and the invocation is recorded all the same.
BUSY=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); open(sys.argv[2],"w").close(); time.sleep(60)' "$BUSY" "$T_TMP/busy.up" &
PIDS+=($!)
for _ in $(seq 100); do [ -e "$T_TMP/busy.up" ] && break; sleep 0.05; done
rec "$T_TMP/store-busy" --env RUNTRAIL_PROXY_PORT="$BUSY" --env "$UPSTREAM" \
    --task-root "$SAMPLES/c-bootstrap" --event "$ok_event" -- "$C_BOOTSTRAP" \
    >"$T_TMP/busy.out" 2>"$T_TMP/busy.err"
expect_file "proxy port taken: response unchanged" "$(line "$T_TMP/plain-c" 2)" "$T_TMP/busy.out"
expect_grep "proxy port taken: the extension says which port it uses instead" \
    "RUNTRAIL_PROXY_PORT $BUSY is in use: the Runtime API proxy listens on 127\\.0\\.0\\.1:[0-9]+ instead" \
    "$T_TMP/busy.err"
ALT=$(sed -nE "s/.*RUNTRAIL_PROXY_PORT $BUSY is in use: .* on 127\.0\.0\.1:([0-9]+) instead.*/\1/p" "$T_TMP/busy.err" | head -n 1)
mapfile -t BZ < <(bundles "$T_TMP/store-busy")
facts "${BZ[0]:-none}" events >"$T_TMP/busy.events" 2>/dev/null
expect_eq "proxy port taken: the invocation is recorded (ok, with the handler's upstream call)" \
    "1 ok yes" \
    "${#BZ[@]} $(facts "${BZ[0]:-none}" meta.status 2>/dev/null) $(grep -q "127\.0\.0\.1:$UP_PORT" "$T_TMP/busy.events" && echo yes)"
expect_eq "proxy port taken: none of the runtime's traffic to the port used instead" "yes 0" \
    "$([ -n "$ALT" ] && echo yes) $(grep -c "127\.0\.0\.1:$ALT\"" "$T_TMP/busy.events")"

# Store folder not writable while the sandbox lives (emulate keeps it): the invocation is
# fine, the bundle is spooled, the next bundle counts the failure, the spool is delivered,
# even though /tmp's spool folder was emptied in between (as a function clearing /tmp would).
EM_PORT=$(free_port)
touch "$T_TMP/blocked"
mkdir -p "$T_TMP/run-em"
"$RUNTRAIL" emulate --listen "127.0.0.1:$EM_PORT" --store "$T_TMP/blocked/store" \
    --task-root "$SAMPLES/c-bootstrap" --env RUNTRAIL_RUN_DIR="$T_TMP/run-em" --env "$UPSTREAM" \
    --env RUNTRAIL_SPOOL_DIR="$T_TMP/spool-em" --env RUNTRAIL_LAYERS_DIR="$T_TMP/opt" \
    -- "$C_BOOTSTRAP" 2>"$T_TMP/emulate.err" &
EM_PID=$!
PIDS+=($EM_PID)
for _ in $(seq 100); do grep -q listening "$T_TMP/emulate.err" 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$EM_PORT/2015-03-31/functions/function/invocations"
curl -s --max-time 10 --data-binary @"$ok_event" "$URL" >"$T_TMP/em1"
sed -n 2p "$T_TMP/plain-c" | head -c -1 >"$T_TMP/em1.want"
expect_file "store not writable: response unchanged" "$T_TMP/em1.want" "$T_TMP/em1"
for _ in $(seq 50); do [ -n "$(ls -A "$T_TMP/spool-em" 2>/dev/null)" ] && break; sleep 0.1; done
expect_eq "store not writable: the bundle waits in the spool" yes \
    "$([ -n "$(find "$T_TMP/spool-em" -type f 2>/dev/null)" ] && echo yes)"
rm -rf "$T_TMP/spool-em"
rm -f "$T_TMP/blocked"
mkdir -p "$T_TMP/blocked"
curl -s --max-time 10 --data-binary @"$ok_event" "$URL" >"$T_TMP/em2"
kill -TERM "$EM_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$EM_PID" 2>/dev/null || break; sleep 0.1; done
mapfile -t EM < <(all_bundles "$T_TMP/blocked/store")
expect_eq "store back: both bundles and the shutdown bundle delivered (the emptied spool flushed)" \
    3 "${#EM[@]}"
if [ "${#EM[@]}" -eq 3 ]; then
    expect_eq "the next bundle counts the store failure (first: none)" "1 0" \
        "$(facts "${EM[1]}" counter.store_failures) $(facts "${EM[0]}" counter.store_failures)"
    expect_exit "spooled and direct bundles form one closed verified chain" 0 "$RUNTRAIL" verify --strict "${EM[@]}"
fi

# The CODE digest's layers folder: invoke passes the emulated layers (the first --layer folder,
# else the recorder layer), never the host's /opt, unless RUNTRAIL_LAYERS_DIR is set.
for case in recorder-layer user-layer; do
    layer_args=()
    want=$(cd "$ROOT/$BUILD/layer" && pwd -P)
    if [ $case = user-layer ]; then
        layer_args=(--layer "$T_TMP/opt")
        want=$(cd "$T_TMP/opt" && pwd -P)
    fi
    env -u RUNTRAIL_LAYERS_DIR "$RUNTRAIL" invoke --quiet --store "$T_TMP/store-layers-$case" \
        --task-root "$SAMPLES/c-bootstrap" --event "$ok_event" "${layer_args[@]}" \
        -- "$C_BOOTSTRAP" >/dev/null 2>"$T_TMP/layers-$case.err"
    mapfile -t LB < <(bundles "$T_TMP/store-layers-$case")
    expect_eq "layers folder ($case): one bundle" 1 "${#LB[@]}"
    expect_eq "layers folder ($case): RUNTRAIL_LAYERS_DIR in the bundle's env" "$want" \
        "$(facts "${LB[0]:-none}" env.RUNTRAIL_LAYERS_DIR.value)"
done

# Tests talk to loopback only: a recorded invocation (emulator, extension, runtime) connects or
# sends to no other address. The extension's Telemetry listener used to look up
# sandbox.localdomain, a DNS query to the machine's resolver.
if strace -f -qq -e trace=connect -o /dev/null true 2>/dev/null; then
    strace -f -qq -e trace=connect,sendto,sendmsg,sendmmsg -o "$T_TMP/net.trace" \
        "$RUNTRAIL" invoke --quiet --store "$T_TMP/store-net" --task-root "$SAMPLES/c-bootstrap" \
        --event "$ok_event" -- "$C_BOOTSTRAP" >/dev/null 2>"$T_TMP/net.err"
    expect_eq "loopback only: the recorded invocation reached no other address" "" \
        "$(grep -oE 'inet_addr\("[^"]*"\)|inet_pton\(AF_INET6?, "[^"]*"' "$T_TMP/net.trace" |
            grep -vE '"127\.|"::1"|"::ffff:127\.' | sort -u | paste -sd' ')"
    expect_eq "loopback only: it did reach loopback (the check sees addresses)" yes \
        "$(grep -q 'inet_addr("127.0.0.1")' "$T_TMP/net.trace" && echo yes)"
fi

finish
