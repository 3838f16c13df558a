#!/usr/bin/env bash
# A runtime for the emulator's protocol tests, in bash + curl. For each invocation it reads the
# event's "probe" field and answers:
#   codes   - calls the Runtime and Extensions APIs wrongly and responds with the status codes
#             {"codes":"bad-id:400 ..."}
#   big     - posts a 7 MB response (Lambda answers 413) and writes "<status> <body>" to
#             $PROBE_OUT
#   ctx     - responds with the Lambda-Runtime-Client-Context header it received
#   other   - responds with the event itself
# PROBE_INIT_ERROR=1 makes it post /runtime/init/error instead of starting.
set -u
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
ext="http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 0' TERM
code() { curl -s -o "$tmp/out" -w '%{http_code}' "$@"; }
if [ "${PROBE_INIT_ERROR:-}" = 1 ]; then
    curl -s -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Probe.InitFailed' \
        -d '{"errorMessage":"cannot load the handler","errorType":"Probe.InitFailed"}' \
        "$api/init/error"
    exit 1
fi
while :; do
    body=$(curl -sS -D "$tmp/h" "$api/invocation/next") || exit 1
    id=$(tr -d '\r' <"$tmp/h" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p')
    case "$body" in
    *'"codes"'*)
        c="bad-id:$(code -X POST -d '{}' "$api/invocation/not-a-request/response")"
        c+=" bad-id-error:$(code -X POST -d '{}' "$api/invocation/not-a-request/error")"
        c+=" init-error-late:$(code -X POST -d '{}' "$api/init/error")"
        c+=" unknown-path:$(code "$api/nothing/here")"
        c+=" ext-missing-id:$(code "$ext/event/next")"
        c+=" ext-unknown-id:$(code -H 'Lambda-Extension-Identifier: 0000' "$ext/event/next")"
        c+=" ext-unknown-exit:$(code -X POST -H 'Lambda-Extension-Identifier: 0000' \
            -H 'Lambda-Extension-Function-Error-Type: X.Y' -d '{}' "$ext/exit/error")"
        c+=" register-bad-json:$(code -X POST -H 'Lambda-Extension-Name: late' -d 'nope' \
            "$ext/register")"
        c+=" register-no-name:$(code -X POST -d '{"events":["INVOKE"]}' "$ext/register")"
        c+=" register-late:$(code -X POST -H 'Lambda-Extension-Name: late' \
            -d '{"events":["INVOKE"]}' "$ext/register")"
        printf '{"codes":"%s"}' "$c" >"$tmp/resp"
        ;;
    *'"big"'*)
        head -c 7000000 /dev/zero | tr '\0' a >"$tmp/big"
        s=$(code -X POST --data-binary @"$tmp/big" "$api/invocation/$id/response")
        echo "$s $(cat "$tmp/out")" >"${PROBE_OUT:-/dev/stderr}"
        continue
        ;;
    *'"ctx"'*) # the client context header, as the runtime received it
        tr -d '\r' <"$tmp/h" | sed -n 's/^[Ll]ambda-[Rr]untime-[Cc]lient-[Cc]ontext: *//p' \
            >"$tmp/resp" ;;
    *) printf '%s' "$body" >"$tmp/resp" ;;
    esac
    curl -s -o /dev/null -X POST --data-binary @"$tmp/resp" "$api/invocation/$id/response"
done
