#!/usr/bin/env bash
# Benchmark: what the replay sandbox costs, and how faithful replay is. (1) Wall time of one
# cold, recorded invocation of the C sample by `runtrail invoke` and of `runtrail replay` of a
# recording of the same event, with --net allow (no network namespace) and --net deny (user,
# mount, pid and network namespaces), ROUNDS interleaved rounds, medians side by side with the
# added cost (target, issue 10: <= 50 ms per replay). (2) The share of recorded benign
# invocations of the samples (C, Python, Node.js on aws-lambda-ric, and the thumbnailer's
# benign corpus) that replay `equivalent` with --net allow, the upstream running (target 100%).
# Not a test: it prints tables. Usage: tests/bench/replay.sh   (ROUNDS=10 CORPUS=12 BUILD=build)
set -u
RT_ROOT=${RT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-10}
CORPUS=${CORPUS:-12}
RT=$RT_ROOT/$BUILD/bin/runtrail
CBOOT=$RT_ROOT/$BUILD/samples/c/bootstrap
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-bench-replay.XXXXXX")
export RUNTRAIL_CACHE="$TMP/catalog" # the catalog of the bench's own (see tests/bench/run.sh)
UPID=
trap '[ -n "$UPID" ] && kill $UPID 2>/dev/null; rm -rf "$TMP"' EXIT
for f in "$RT" "$CBOOT"; do
    [ -x "$f" ] || { echo "bench replay: $f is missing; run make first" >&2; exit 2; }
done
if ! unshare -Urn true 2>/dev/null; then
    echo "bench replay: user namespaces are unavailable here: skipped"
    exit 0
fi
export RUNTRAIL_HASH_KEY=bench-replay-hash-key-0123456789
mkdir -p "$TMP/www" && echo upstream-ok >"$TMP/www/up.txt"
UP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server -b 127.0.0.1 "$UP_PORT" -d "$TMP/www" >/dev/null 2>&1 &
UPID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$UP_PORT/up.txt" && break; sleep 0.1; done
UP=SAMPLE_UPSTREAM_URL=http://127.0.0.1:$UP_PORT/up.txt
EVENT=$RT_ROOT/samples/events/apigw-proxy.json
ms() { python3 -c 'import sys,time; print("%.1f" % ((time.time_ns() - int(sys.argv[1])) / 1e6))' "$1"; }

RUNTRAIL_STORE=$TMP/orig "$RT" invoke --task-root "$RT_ROOT/samples/c-bootstrap" --env "$UP" \
    --event "$EVENT" -- "$CBOOT" >/dev/null 2>&1
ORIG=$(find "$TMP/orig" -name '*.rtb' ! -name '*shutdown*' | head -1)
: >"$TMP/t.invoke" && : >"$TMP/t.allow" && : >"$TMP/t.deny"
for ((r = 0; r < ROUNDS; r++)); do
    t=$(date +%s%N)
    RUNTRAIL_STORE=$TMP/inv "$RT" invoke --task-root "$RT_ROOT/samples/c-bootstrap" --env "$UP" \
        --event "$EVENT" -- "$CBOOT" >/dev/null 2>&1
    ms "$t" >>"$TMP/t.invoke"
    t=$(date +%s%N)
    "$RT" replay "$ORIG" --net allow --env "$UP" >/dev/null 2>&1
    ms "$t" >>"$TMP/t.allow"
    t=$(date +%s%N)
    "$RT" replay "$ORIG" --net deny --env "$UP" >/dev/null 2>&1
    ms "$t" >>"$TMP/t.deny"
done
echo "replay wall time: one cold invocation of the C sample, $ROUNDS interleaved rounds (median ms)"
python3 - "$TMP" <<'PY'
import statistics, sys
d = sys.argv[1]
med = {k: statistics.median(float(x) for x in open("%s/t.%s" % (d, k))) for k in ("invoke", "allow", "deny")}
print("%-37s %10s %10s %8s" % ("", "median ms", "added ms", "ratio"))
print("%-37s %10.1f %10s %8s" % ("runtrail invoke", med["invoke"], "-", "1.00"))
for k, label in (("allow", "runtrail replay --net allow"), ("deny", "runtrail replay --net deny (sandbox)")):
    print("%-37s %10.1f %10.1f %8.2f" % (label, med[k], med[k] - med["invoke"], med[k] / med["invoke"]))
PY

# (2) benign invocations of the samples, recorded, then replayed with --net allow
S=$TMP/benign
RUNTRAIL_STORE=$S "$RT" invoke --function-name c --task-root "$RT_ROOT/samples/c-bootstrap" \
    --env "$UP" --event "$EVENT" --event "$RT_ROOT/samples/events/s3-put.json" \
    --event "$RT_ROOT/samples/events/sqs-batch.json" -- "$CBOOT" >/dev/null 2>&1
cp -r "$RT_ROOT/samples/python" "$TMP/py" && python3 -m compileall -q "$TMP/py" >/dev/null
RUNTRAIL_STORE=$S "$RT" invoke --function-name py --task-root "$TMP/py" --handler app.handler \
    --env "$UP" --event "$EVENT" --event "$RT_ROOT/samples/events/s3-put.json" \
    --event "$RT_ROOT/samples/events/sqs-batch.json" -- \
    python3 "$RT_ROOT/samples/python/bootstrap.py" >/dev/null 2>&1
if [ -f "$RT_ROOT/node_modules/aws-lambda-ric/index.mjs" ]; then
    RUNTRAIL_STORE=$S "$RT" invoke --function-name node --task-root "$RT_ROOT/samples/node" \
        --handler app.handler --timeout 10 --env "$UP" --event "$EVENT" \
        --event "$RT_ROOT/samples/events/s3-put.json" -- \
        node "$RT_ROOT/node_modules/aws-lambda-ric/index.mjs" >/dev/null 2>&1
fi
cp -r "$RT_ROOT/samples/incident" "$TMP/thumb" && python3 -m compileall -q "$TMP/thumb" >/dev/null
mkdir -p "$TMP/ev" && python3 "$RT_ROOT/samples/attacks/events.py" corpus "$TMP/ev" "$CORPUS"
args=()
for e in "$TMP"/ev/benign-*.json; do args+=(--event "$e"); done
RUNTRAIL_STORE=$S "$RT" invoke --function-name thumbnailer --task-root "$TMP/thumb" \
    --handler app.handler "${args[@]}" -- python3 "$RT_ROOT/samples/python/bootstrap.py" \
    >/dev/null 2>&1
echo
echo "benign sample invocations replayed with --net allow"
printf '%-12s %8s %11s\n' function replayed equivalent
total=0 eq=0
for fn in c py node thumbnailer; do
    [ -d "$S/v1/fn=$fn" ] || continue
    n=0 e=0 env=(--env "$UP")
    [ "$fn" = thumbnailer ] && env=() # recorded without the upstream setting
    for b in $(find "$S/v1/fn=$fn" -name '*.rtb' ! -name '*shutdown*' | sort); do
        n=$((n + 1))
        "$RT" replay "$b" --net allow "${env[@]}" >"$TMP/out" 2>&1 && e=$((e + 1))
        grep -q '^verdict    equivalent' "$TMP/out" || sed -n 's/^/    /p' "$TMP/out" | grep -v '^    response' | tail -4
    done
    printf '%-12s %8d %11d\n' "$fn" "$n" "$e"
    total=$((total + n)) eq=$((eq + e))
done
printf '%-12s %8d %11d  (%d%%)\n' all "$total" "$eq" $((total ? 100 * eq / total : 0))
