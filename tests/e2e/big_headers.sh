#!/usr/bin/env bash
# Request headers as large as Lambda's Runtime API takes (1 MiB, Go's net/http default, and its
# 4 KiB of slack). AWS's runtime clients post a function's error with its X-Ray cause as the
# header Lambda-Runtime-Function-XRay-Error-Cause, up to 1 MiB (aws-lambda-ric for Node sends it
# whole; the Java client caps it at 1 MiB). The emulator refused a header block over its 32 KiB
# connection pool and the recorder's proxy one over 128 KiB: the runtime's error post got a 431,
# the error was lost and the invocation timed out, with the recorder and without. Real client:
# aws-lambda-ric with a handler whose error message is 1,000,000 bytes, then 100 bytes (the
# same connection afterwards), with and without the recorder; and a runtime that sends header
# blocks of exact sizes: at the limit and past it.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
RIC=$RT_ROOT/node_modules/aws-lambda-ric/index.mjs
HERE=$RT_ROOT/tests/e2e/big_headers
FACTS="python3 $RT_ROOT/tests/extension/facts.py"
[ -f "$RIC" ] || { _notok "node_modules/aws-lambda-ric is missing (make test-deps)"; finish; }
echo '{"n":1000000}' >"$T_TMP/big.json"
echo '{"n":100}' >"$T_TMP/small.json"
RUN=(--task-root "$HERE" --handler app.handler --timeout 20 --event "$T_TMP/big.json"
     --event "$T_TMP/small.json")
# outcome FILE: each invocation's status, error type and message length, from invoke's output
outcome() {
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r.get("errorType"), len(r.get("errorMessage", "")))' "$1"
}
"$RUNTRAIL" invoke --no-record "${RUN[@]}" -- node "$RIC" >"$T_TMP/plain.out" 2>"$T_TMP/plain.err"
expect_eq "emulator: a 1 MB X-Ray cause header is taken; both errors reach the caller whole" \
    "Error 1000011|Error 111" "$(outcome "$T_TMP/plain.out" | paste -sd'|')"
"$RUNTRAIL" invoke --store "$T_TMP/store" --env RUNTRAIL_RUN_DIR="$T_TMP/run" "${RUN[@]}" \
    -- node "$RIC" >"$T_TMP/rec.out" 2>"$T_TMP/rec.err"
expect_eq "recorded: the same errors through the proxy" \
    "Error 1000011|Error 111" "$(outcome "$T_TMP/rec.out" | paste -sd'|')"
mapfile -t B < <(find "$T_TMP/store" -name '*.rtb' ! -name '*-shutdown.rtb' | sort)
# (a bundle keeps the first 1 MiB of a payload, and its original length)
bundle() { "$RUNTRAIL" show --json "$1" | $FACTS meta.status meta.error_type payload.error.original_len | paste -sd' '; }
expect_eq "recorded: two bundles, each with its error as the caller got it (1 MiB of it kept)" \
    "2|error Error $(($(head -n 1 "$T_TMP/rec.out" | wc -c) - 1))|error Error $(($(sed -n 2p "$T_TMP/rec.out" | wc -c) - 1))|1048576" \
    "${#B[@]}|$(bundle "${B[0]}")|$(bundle "${B[1]}")|$("$RUNTRAIL" show --json "${B[0]}" | $FACTS payload.error.data | wc -c)"

# The limit itself, from a runtime that sends header blocks of exact sizes: Lambda's (1 MiB and
# 4 KiB) is taken by the emulator and through the proxy; 1.2 MB is refused with 431, as Lambda
# refuses it, and the runtime can still end the invocation (with a small error).
for b in 1052672 1200000; do echo "{\"block\":$b}" >"$T_TMP/b$b.json"; done
RAW=(--task-root "$HERE" --timeout 20 --event "$T_TMP/b1052672.json" --event "$T_TMP/b1200000.json"
     -- python3 "$HERE/runtime.py")
"$RUNTRAIL" invoke --no-record "${RAW[@]}" "$T_TMP/plain.log" >/dev/null 2>"$T_TMP/raw-plain.err"
"$RUNTRAIL" invoke --store "$T_TMP/store-raw" --env RUNTRAIL_RUN_DIR="$T_TMP/run-raw" "${RAW[@]}" \
    "$T_TMP/rec.log" >/dev/null 2>"$T_TMP/raw-rec.err"
expect_eq "emulator: 1 MiB + 4 KiB of headers taken, 1.2 MB refused (431)" \
    "1052672 202|1200000 431" "$(paste -sd'|' "$T_TMP/plain.log")"
expect_eq "through the proxy: the same answers" \
    "1052672 202|1200000 431" "$(paste -sd'|' "$T_TMP/rec.log")"
finish
