#!/usr/bin/env bash
# Runtime API proxy conformance, table-driven and differential: each case is the exact bytes
# a runtime sends; they go once straight to a scripted Runtime API (tests/extension/
# fake_lambda.py, which logs every request as it arrived on the wire and answers from a
# table) and once through the extension's proxy. The upstream must receive the same request
# (method, target with query, headers but Host, body, chunked framing, trailers) and the
# runtime must get the same answer (status, headers, body), byte for byte, for every endpoint:
# invocation/next, response, error, init/error, response streaming with error trailers, 413,
# unknown paths and methods, binary and 1 MB bodies, empty header values, keep-alive. Then the
# bundles sealed from that traffic.
source "$(dirname "$0")/../lib.sh"
ROOT=$RT_ROOT
EXT=$ROOT/$BUILD/bin/runtrail-extension

NEXT_EVENT='{"order":{"id":42,"items":["a","b"]}}'
python3 - "$T_TMP/replies.json" "$NEXT_EVENT" <<'PY'
import json, sys
json.dump({
    "GET /2018-06-01/runtime/invocation/next": {"status": 200, "headers": [
        ["Content-Type", "application/json"],
        ["Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"],
        ["Lambda-Runtime-Deadline-Ms", "4102444800000"],
        ["Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime"],
        ["Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"],
        ["Lambda-Runtime-Client-Context", "{\"custom\":{\"k\":\"v\"}}"],
        ["Lambda-Runtime-Cognito-Identity", "{\"cognitoIdentityId\":\"us-east-1:abc\"}"]],
        "body": sys.argv[2]},
    "POST /2018-06-01/runtime/invocation/big/response": {"status": 413, "headers": [
        ["Content-Type", "application/json"]],
        "body": "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\",\"errorType\":\"RequestEntityTooLarge\"}"},
    "PUT /2018-06-01/runtime/custom": {"status": 500, "headers": [
        ["Content-Type", "text/plain"], ["X-Custom", "a  b\tc"], ["Set-Cookie", "x=1"],
        ["Set-Cookie", "y=2"]], "body": "upstream failed"},
}, open(sys.argv[1], "w"))
PY

# start_fake ERR: the scripted Runtime API (replies.json, logging to wire.log), its stderr to
# ERR; sets UP to its port.
start_fake() {
    rm -f "$T_TMP/port"
    python3 "$ROOT/tests/extension/fake_lambda.py" --port-file "$T_TMP/port" --log "$T_TMP/wire.log" \
        --replies "$T_TMP/replies.json" --shutdown-file "$T_TMP/shutdown" 2>"$1" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$T_TMP/port" ] && break; sleep 0.05; done
    UP=$(cat "$T_TMP/port")
}
start_fake "$T_TMP/fake.err"
PROXY_PORT=$(free_port)
mkdir -p "$T_TMP/run" "$T_TMP/opt"
AWS_LAMBDA_RUNTIME_API=127.0.0.1:$UP RUNTRAIL_PROXY_PORT=$PROXY_PORT RUNTRAIL_RUN_DIR=$T_TMP/run \
    RUNTRAIL_STORE=$T_TMP/store RUNTRAIL_SPOOL_DIR=$T_TMP/spool RUNTRAIL_LAYERS_DIR=$T_TMP/opt \
    AWS_LAMBDA_FUNCTION_NAME=conformance "$EXT" 2>"$T_TMP/ext.err" &
EXT_PID=$!
PIDS+=($EXT_PID)
for _ in $(seq 100); do [ -s "$T_TMP/run/ready" ] && break; sleep 0.05; done
expect_eq "the extension writes its ready file (proxy address, ring in memory, pid)" \
    "RUNTRAIL_PROXY=127.0.0.1:$PROXY_PORT|RUNTRAIL_RING=/proc/$EXT_PID/fd/N|RUNTRAIL_PID=$EXT_PID" \
    "$(paste -sd'|' "$T_TMP/run/ready" 2>/dev/null | sed -E 's#(/fd/)[0-9]+#\1N#')"
RING=$(sed -n 's/^RUNTRAIL_RING=//p' "$T_TMP/run/ready")
expect_eq "the ring is a memfd whose size is sealed, and no file in the run folder" \
    "/memfd:runtrail-ring (deleted) shrink,grow,seal no" \
    "$(readlink "$RING") $(python3 -c 'import fcntl,os,sys
s = fcntl.fcntl(os.open(sys.argv[1], os.O_RDONLY), fcntl.F_GET_SEALS)
print(",".join(n for n, b in (("shrink", fcntl.F_SEAL_SHRINK), ("grow", fcntl.F_SEAL_GROW),
                              ("write", fcntl.F_SEAL_WRITE), ("seal", fcntl.F_SEAL_SEAL)) if s & b))' "$RING" 2>&1) $([ -e "$T_TMP/run/ring" ] && echo yes || echo no)"

# case NAME: the request bytes are in $T_TMP/req-NAME
n_case=0
case_req() { # case_req NAME < bytes
    cat >"$T_TMP/req-$1"
}
run_case() { # run_case NAME [--twice]
    local name=$1; shift
    : >"$T_TMP/wire.log"
    python3 "$ROOT/tests/extension/raw_http.py" 127.0.0.1 "$UP" "$T_TMP/req-$name" "$@" \
        >"$T_TMP/direct-$name" 2>&1
    cp "$T_TMP/wire.log" "$T_TMP/wire-direct-$name"
    : >"$T_TMP/wire.log"
    python3 "$ROOT/tests/extension/raw_http.py" 127.0.0.1 "$PROXY_PORT" "$T_TMP/req-$name" "$@" \
        >"$T_TMP/proxy-$name" 2>&1
    cp "$T_TMP/wire.log" "$T_TMP/wire-proxy-$name"
    python3 - "$T_TMP" "$name" <<'PY' >"$T_TMP/cmp-$name"
import json, sys
tmp, name = sys.argv[1], sys.argv[2]
HOP = {"host", "connection", "keep-alive", "content-length", "date"}
def answers(which):
    out = []
    for line in open("%s/%s-%s" % (tmp, which, name)):
        try:
            a = json.loads(line)
        except ValueError:
            out.append({"error": line.strip()})
            continue
        a["headers"] = [h for h in a["headers"] if h[0].lower() not in HOP]
        out.append(a)
    return out
def wire(which):
    out = []
    for line in open("%s/wire-%s-%s" % (tmp, which, name)):
        r = json.loads(line)
        r["headers"] = sorted(h for h in r["headers"] if h[0].lower() not in HOP)
        r.pop("stream_ms", None)  # timing, compared by the slow-stream case
        out.append(r)
    return out
d, p = answers("direct"), answers("proxy")
wd, wp = wire("direct"), wire("proxy")
problems = []
if d != p:
    problems.append("answer differs (direct %s, proxy %s):\n  direct %s\n  proxy  %s"
                    % ([a.get("status", "error") for a in d], [a.get("status", "error") for a in p], d, p))
if wd != wp:
    problems.append("upstream request differs (direct %s, proxy %s): %s\n  direct %s\n  proxy  %s"
                    % (" ".join(r["method"] + " " + r["target"] for r in wd) or "none",
                       " ".join(r["method"] + " " + r["target"] for r in wp) or "none",
                       "same requests, other content" if [r["target"] for r in wd] ==
                       [r["target"] for r in wp] else "other requests", wd, wp))
if not wd:
    problems.append("upstream saw no request")
print("\n".join(problems) if problems else "same")
PY
    expect_eq "proxy is transparent: $name" same "$(cat "$T_TMP/cmp-$name")"
}
H="Host: 127.0.0.1\r\nUser-Agent: test-runtime/1.0\r\n"

printf "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n${H}Accept: */*\r\n\r\n" | case_req next
run_case next
expect_grep "next: Lambda-Runtime-* headers reach the runtime" \
    'Lambda-Runtime-Cognito-Identity' "$T_TMP/proxy-next"

body='{"statusCode":200,"body":"hello \u00e9"}'
printf "POST /2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response HTTP/1.1\r\n${H}Content-Type: application/json\r\nX-Empty:\r\nContent-Length: %d\r\n\r\n%s" \
    "${#body}" "$body" | case_req response
run_case response

ebody='{"errorMessage":"bad input","errorType":"Handler.Oops","stackTrace":["at x"]}'
printf "POST /2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/error HTTP/1.1\r\n${H}Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: Handler.Oops\r\nContent-Length: %d\r\n\r\n%s" \
    "${#ebody}" "$ebody" | case_req error
run_case error

ibody='{"errorMessage":"cannot load","errorType":"Runtime.ImportModuleError"}'
printf "POST /2018-06-01/runtime/init/error HTTP/1.1\r\n${H}Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\r\nContent-Length: %d\r\n\r\n%s" \
    "${#ibody}" "$ibody" | case_req init-error
run_case init-error

printf "POST /2018-06-01/runtime/invocation/big/response HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nlarge" \
    | case_req 413
run_case 413
expect_grep "413 and its error body reach the runtime" '"status": 413' "$T_TMP/proxy-413"

printf "GET /2018-06-01/runtime/nowhere?b=2&a=%%20x&flag HTTP/1.1\r\n${H}\r\n" | case_req unknown-path
run_case unknown-path
expect_grep "unknown path: the query string arrives unchanged" '"target": "/2018-06-01/runtime/nowhere\?b=2&a=%20x&flag"' \
    "$T_TMP/wire-proxy-unknown-path"

printf "PUT /2018-06-01/runtime/custom HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc" \
    | case_req put-500
run_case put-500

# Response streaming: chunked body and the error in the trailers (as aws-lambda-ric sends it).
{
    printf "POST /2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response HTTP/1.1\r\n${H}"
    printf "Content-Type: application/octet-stream\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n"
    printf "Transfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
    printf "c\r\npart 1 of 3\n\r\nc\r\npart 2 of 3\n\r\n0\r\n"
    printf "Lambda-Runtime-Function-Error-Type: Error\r\n"
    printf "Lambda-Runtime-Function-Error-Body: %s\r\n\r\n" \
        "$(printf '{"errorType":"Error","errorMessage":"stream broke"}' | base64 -w0)"
} | case_req streaming
run_case streaming
run_case streaming --twice
expect_eq "streaming twice on one connection (trailers both times)" 2 \
    "$(grep -c '"status": 202' "$T_TMP/proxy-streaming")"
expect_grep "streaming: chunked with both trailers upstream" \
    '"chunked": true, "trailers": \[\["Lambda-Runtime-Function-Error-Type", "Error"\], \["Lambda-Runtime-Function-Error-Body"' \
    "$T_TMP/wire-proxy-streaming"

# A slow stream: the first chunk, 0.6 s of nothing, the rest. The proxy must pass the first
# chunk on at once (response streaming), not after the last one.
cut=$(grep -a -b -o 'part 2 of 3' "$T_TMP/req-streaming" | head -n 1 | cut -d: -f1)
cp "$T_TMP/req-streaming" "$T_TMP/req-slow-stream"
run_case slow-stream --pause-at "$((cut - 4))"
expect_eq "slow stream: upstream gets the first chunk >= 0.3 s before the last (direct, proxy)" \
    "yes yes" \
    "$(python3 -c 'import json,sys; print(" ".join("yes" if json.loads(open(f).readline())["stream_ms"] >= 300 else "no:%s" % json.loads(open(f).readline())["stream_ms"] for f in sys.argv[1:]))' "$T_TMP/wire-direct-slow-stream" "$T_TMP/wire-proxy-slow-stream")"

head -c 3000 /dev/urandom >"$T_TMP/bin"
printf '\0\0\xff' >>"$T_TMP/bin"
{
    printf "POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\n${H}Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" \
        "$(wc -c <"$T_TMP/bin")"
    cat "$T_TMP/bin"
} | case_req binary
run_case binary

head -c 1048576 /dev/zero | tr '\0' 'z' >"$T_TMP/big"
{
    printf "POST /2018-06-01/runtime/invocation/y/response HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Length: 1048576\r\n\r\n"
    cat "$T_TMP/big"
} | case_req 1mb
run_case 1mb

run_case next --twice
expect_eq "keep-alive: two requests on one connection, two answers" 2 \
    "$(grep -c '"status": 200' "$T_TMP/proxy-next")"

expect_eq "proxy still alive after the cases" yes "$(kill -0 "$EXT_PID" 2>/dev/null && echo yes)"

# SHUTDOWN: the extension seals what it saw and exits within the budget.
touch "$T_TMP/shutdown"
for _ in $(seq 60); do kill -0 "$EXT_PID" 2>/dev/null || break; sleep 0.05; done
expect_eq "SHUTDOWN: the extension exits within 3 s" gone \
    "$(kill -0 "$EXT_PID" 2>/dev/null && echo running || echo gone)"
expect_eq "SHUTDOWN: ready file and ring removed" "no no" \
    "$([ -e "$T_TMP/run/ready" ] && echo yes || echo no) $([ -e "$T_TMP/run/ring" ] && echo yes || echo no)"
mapfile -t B < <(find "$T_TMP/store" -name '*.rtb' | sort)
FACTS="python3 $ROOT/tests/extension/facts.py"
summary=""
for b in "${B[@]}"; do
    summary+="$("$RUNTRAIL" show --json "$b" | $FACTS meta.request_id meta.status meta.error_type | paste -sd' ');"
done
# next then /response: ok; the /error for the same id afterwards is not attributed to it (not
# in flight); init/error: a bundle of its own.
echo "$summary" >"$T_TMP/summary"
expect_grep "bundle: the invocation answered through /response is ok" \
    '8476a536-e9f4-11e8-9739-2dfe598c3fcd ok -;' "$T_TMP/summary"
expect_grep "bundle: init/error sealed as an error with its type" \
    'init error Runtime.ImportModuleError;' "$T_TMP/summary"
expect_no_grep "the extension reported no sanitizer or runtime error" \
    'runtime error|AddressSanitizer|LeakSanitizer' "$T_TMP/ext.err"
first=${B[0]:-none}
"$RUNTRAIL" show --json "$first" >"$T_TMP/first.json"
expect_eq "bundle: event, response and the client context header as the runtime saw them" \
    "$NEXT_EVENT|$body|{\"custom\":{\"k\":\"v\"}}" \
    "$($FACTS payload.event.data <"$T_TMP/first.json")|$($FACTS payload.response.data <"$T_TMP/first.json")|$($FACTS header.Lambda-Runtime-Client-Context <"$T_TMP/first.json")"
expect_eq "bundle: coverage is the proxy only (no interposer wrote to the ring)" '["proxy"]' \
    "$($FACTS meta.coverage <"$T_TMP/first.json")"

# Without a library the extension loads when first needed (a mount namespace of its own with
# /dev/null over the library): it still starts, proxies, and says why once.
# without LIB N: a scripted Runtime API and an extension that cannot load LIB, run folder runN,
# store storeN, stderr extN.err; sets UP, PROXY_PORT and EXT_N_PID.
without() {
    local lib=$1 n=$2
    rm -f "$T_TMP/shutdown"
    start_fake "$T_TMP/fake$n.err"
    PROXY_PORT=$(free_port)
    mkdir -p "$T_TMP/run$n"
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:$UP RUNTRAIL_PROXY_PORT=$PROXY_PORT RUNTRAIL_RUN_DIR=$T_TMP/run$n \
        RUNTRAIL_STORE=$T_TMP/store$n RUNTRAIL_SPOOL_DIR=$T_TMP/spool$n RUNTRAIL_LAYERS_DIR=$T_TMP/opt \
        AWS_LAMBDA_FUNCTION_NAME=conformance unshare -m sh -c 'mount --bind /dev/null "$1" && exec "$2"' \
        sh "$lib" "$EXT" 2>"$T_TMP/ext$n.err" &
    EXT_N_PID=$!
    PIDS+=($EXT_N_PID)
    for _ in $(seq 100); do [ -s "$T_TMP/run$n/ready" ] && break; sleep 0.05; done
}
lib_path() { readlink -f "$(ldd "$RUNTRAIL" | awk -v l="$1" 'index($1, l) == 1 {print $3}')"; }
# (libcurl from the compiler's search: neither runtrail nor the extension links it)
LIBCURL=$(readlink -f "$(${CC:-cc} -print-file-name=libcurl.so.4)")
LIBCRYPTO=$(lib_path libcrypto.so.3)
if [ -f "$LIBCURL" ] && unshare -m sh -c "mount --bind /dev/null '$LIBCURL'" 2>/dev/null; then
    # Without libcurl: a streamed response is forwarded whole, its trailers as headers.
    without "$LIBCURL" 2
    run_case next
    expect_eq "no libcurl: invocation/next still goes through the proxy" same \
        "$(cat "$T_TMP/cmp-next")"
    : >"$T_TMP/wire.log"
    python3 "$ROOT/tests/extension/raw_http.py" 127.0.0.1 "$PROXY_PORT" "$T_TMP/req-streaming" \
        >"$T_TMP/proxy-whole" 2>&1
    expect_grep "no libcurl: the streamed response is answered" '"status": 202' "$T_TMP/proxy-whole"
    expect_eq "no libcurl: upstream gets the stream whole, its error trailer as a header" \
        "False|part 1 of 3|part 2 of 3||Error" \
        "$(python3 -c 'import base64,json,sys; r=json.loads(open(sys.argv[1]).readline()); h={k.lower(): v for k, v in r["headers"]}; print("%s|%s|%s" % (r["chunked"], base64.b64decode(r["body_b64"]).decode().replace(chr(10), "|"), h.get("lambda-runtime-function-error-type")))' "$T_TMP/wire.log")"
    expect_eq "no libcurl: the extension says why, once" 1 \
        "$(grep -c 'cannot load libcurl.so.4 .*streamed responses are forwarded whole' "$T_TMP/ext2.err")"
    touch "$T_TMP/shutdown"

    # Without libcrypto: the invocation is answered; no bundle, since none could carry its digest.
    without "$LIBCRYPTO" 3
    run_case next
    run_case response
    expect_eq "no libcrypto: next and response still go through the proxy" "same same" \
        "$(cat "$T_TMP/cmp-next") $(cat "$T_TMP/cmp-response")"
    touch "$T_TMP/shutdown"
    for _ in $(seq 60); do kill -0 "$EXT_N_PID" 2>/dev/null || break; sleep 0.05; done
    expect_eq "no libcrypto: the extension ends at SHUTDOWN, no bundle stored or spooled" "gone 0" \
        "$(kill -0 "$EXT_N_PID" 2>/dev/null && echo running || echo gone) $(find "$T_TMP/store3" "$T_TMP/spool3" -name '*.rtb' 2>/dev/null | wc -l)"
    expect_eq "no libcrypto: the extension says why, once" 1 \
        "$(grep -c 'cannot load libcrypto.so.3 .*no bundle can be sealed' "$T_TMP/ext3.err")"
else
    echo "# the cases without libcurl and libcrypto are skipped: they need a mount namespace (root)"
fi
finish
