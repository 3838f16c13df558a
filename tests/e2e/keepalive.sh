#!/usr/bin/env bash
# Keep-alive connections (issue 14, item 0): a connection a function keeps open past its
# invocation still gets, in that invocation's own bundle, the summary of what it sent then (the
# request line and bytes_out, flagged still_open), and what it sends at SHUTDOWN before the
# runtime is killed is in the shutdown bundle. Real keep-alive clients: Python's http.client,
# Node's default agent under AWS's aws-lambda-ric, and the C sample's libcurl handle. The
# server logs each request with the client port, to prove the connection was reused.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
HERE="$RT_ROOT/tests/e2e/keepalive"
RIC=$RT_ROOT/node_modules/aws-lambda-ric/index.mjs
C_BOOT=$RT_ROOT/$BUILD/samples/c/bootstrap
for i in 1 2 3; do echo "{\"n\":$i}" >"$T_TMP/e$i.json"; done
EVENTS=(--event "$T_TMP/e1.json" --event "$T_TMP/e2.json" --event "$T_TMP/e3.json")

# start_server NAME: a keep-alive server on a free port; sets PORT and LOG.
start_server() {
    PORT=$(free_port)
    LOG="$T_TMP/$1.log"
    : >"$LOG"
    python3 "$HERE/server.py" "$PORT" "$LOG" 2>/dev/null &
    PIDS+=($!)
    wait_port "$PORT" || echo "# server $1 did not start"
}

# check_invocations NAME PATH_PREFIX: every invocation bundle of store $T_TMP/NAME holds exactly
# one summary to the server, of its own request (PATH_PREFIX + request id, or PATH_PREFIX
# alone when it is "="), with bytes out, flagged still_open; and the server saw one client port.
check_invocations() {
    local name=$1 prefix=$2 rid n first bytes flags good=0 total=0
    python3 "$HERE/summaries.py" "$RUNTRAIL" "$T_TMP/$name" "127.0.0.1:$PORT" >"$T_TMP/$name.sum"
    while read -r rid n first bytes flags _; do
        [ "$rid" = shutdown ] && continue
        total=$((total + 1))
        local want="POST_${prefix}${rid}_HTTP/1.1"
        [ "${prefix:0:1}" = "=" ] && want=${prefix:1}
        if [ "$n" = 1 ] && [ "$first" = "$want" ] && [ "$bytes" -gt 0 ] &&
            [[ ",$flags," == *,still_open,* ]]; then
            good=$((good + 1))
        else
            echo "# $name: $rid: $n $first $bytes $flags"
        fi
    done <"$T_TMP/$name.sum"
    expect_eq "$name: three invocation bundles" 3 "$total"
    expect_eq "$name: each carries the summary of its own request (still_open)" 3 "$good"
    expect_eq "$name: the server saw one connection (keep-alive)" 1 \
        "$(awk '{print $4}' "$LOG" | sort -u | wc -l)"
}

# Each invocation's summaries are cut when it ends and written when its bundle is sealed; the
# extension holds event/next until then, up to RUNTRAIL_FLUSH_WAIT_MS (250 ms). The sections
# below keep a generous bound so that their bundles are written while the runtime still lives;
# "sealed late" then takes the hold away.
HOLD=(--env RUNTRAIL_FLUSH_WAIT_MS=20000)

# ---- Python: http.client, plus a POST at SIGTERM and a SIGKILL without closing ----
start_server py
"$RUNTRAIL" invoke --store "$T_TMP/py" --function-name ka-py --task-root "$HERE" \
    --handler app.handler --env "KA_PORT=$PORT" "${HOLD[@]}" "${EVENTS[@]}" -- python3 "$RT_ROOT/samples/python/bootstrap.py" \
    >"$T_TMP/py.out" 2>"$T_TMP/py.err"
expect_eq "python: three answers" 3 "$(grep -c '"status": *200' "$T_TMP/py.out")"
check_invocations py /py/
expect_grep "python: the POST at SIGTERM reached the server" '^POST /py/at-shutdown 1000 ' "$LOG"
expect_grep "python: the shutdown bundle has its summary (runtime killed, never closed)" \
    '^shutdown 1 POST_/py/at-shutdown_HTTP/1.1 [0-9]+ outside_invocation$' "$T_TMP/py.sum"
sent=$(awk '{s += $3} END {print s}' "$LOG")
summed=$(awk '{for (i = 4; i <= NF; i += 3) s += $i} END {print s}' "$T_TMP/py.sum")
check "python: the summaries add up to at least the bodies the server got ($summed >= $sent)" \
    test "$summed" -ge "$sent"

"$RUNTRAIL" ls --function ka-py >"$T_TMP/py.ls"
expect_grep "python: ls names the server as a destination" "127\.0\.0\.1:$PORT" "$T_TMP/py.ls"
expect_no_grep "python: ls FLAGS leave the bookkeeping flag still_open out" 'still_open' "$T_TMP/py.ls"
"$RUNTRAIL" ls --function ka-py --json >"$T_TMP/py.lsjson"
expect_grep "python: ls --json keeps it" '"flags":"[^"]*still_open' "$T_TMP/py.lsjson"

# ---- Python again, sealed late: no hold (RUNTRAIL_FLUSH_WAIT_MS=0) and two busy loops that
# leave the idle-only sealer no CPU, so the invocations run back to back on the connection
# while none of them is sealed yet. Each bundle still gets its own request and bytes: the
# connections are cut when each invocation ends, not when the sealer gets to it.
start_server py-late
for _ in 1 2; do nice -n 10 bash -c 'while :; do :; done' & PIDS+=($!); HOGS+=($!); done
"$RUNTRAIL" invoke --store "$T_TMP/py-late" --function-name ka-py-late --task-root "$HERE" \
    --handler app.handler --env "KA_PORT=$PORT" --env RUNTRAIL_FLUSH_WAIT_MS=0 "${EVENTS[@]}" \
    -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/py-late.out" 2>"$T_TMP/py-late.err"
kill "${HOGS[@]}" 2>/dev/null
expect_eq "python, sealed late: three answers" 3 "$(grep -c '"status": *200' "$T_TMP/py-late.out")"
check_invocations py-late /py/

# ---- Node: the default agent under aws-lambda-ric ----
if [ -f "$RIC" ]; then
    start_server node
    "$RUNTRAIL" invoke --store "$T_TMP/node" --task-root "$HERE" --handler app.handler \
        --timeout 20 --env "KA_PORT=$PORT" "${HOLD[@]}" "${EVENTS[@]}" -- node "$RIC" \
        >"$T_TMP/node.out" 2>"$T_TMP/node.err"
    expect_eq "node: three answers" 3 "$(grep -c '"status":200' "$T_TMP/node.out")"
    check_invocations node /node/
else
    _notok "node: node_modules/aws-lambda-ric is missing (make test-deps)"
fi

# ---- C: the sample bootstrap's libcurl handle, reused for every upstream call ----
start_server c
"$RUNTRAIL" invoke --store "$T_TMP/c" --task-root "$RT_ROOT/samples/c-bootstrap" \
    --env "SAMPLE_UPSTREAM_URL=http://127.0.0.1:$PORT/c-upstream" "${HOLD[@]}" "${EVENTS[@]}" -- "$C_BOOT" \
    >"$T_TMP/c.out" 2>"$T_TMP/c.err"
expect_eq "c: three upstream calls" 3 "$(grep -c '^GET /c-upstream ' "$LOG")"
check_invocations c "=GET_/c-upstream_HTTP/1.1"
finish
