#!/usr/bin/env bash
# Benchmark: getting bundles back and asking the catalog. Not a test.
#  1. pull + index throughput from the real s3rver (loopback, no proxy) for N bundles
#     (default 5000, 20 events each) at -j 1, 8 and 32, each into a fresh cache, side by side;
#  2. catalog ingest (`runtrail index` of local bundles): bundles/s and events/s, for small
#     bundles (the pulled ones) and for large ones (5000 events each);
#  3. `ls --dest` and `ls --path` latency (whole command, median of 5) on a catalog generated
#     straight into SQLite with INVOCATIONS invocations and EVENTS_PER events each (default
#     100k x 100 = 10M events); SCALE=0.1 scales 3. down.
# Targets (issue 5): >= 500 bundles/s at -j 8, ingest >= 200k events/s, queries <= 50 ms.
# Usage: tests/bench/store.sh   (N=5000 INVOCATIONS=100000 EVENTS_PER=100 BUILD=build)
set -u
RT_ROOT=${RT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
N=${N:-5000}
SCALE=${SCALE:-1}
INVOCATIONS=${INVOCATIONS:-$(python3 -c "print(int(100000*$SCALE))")}
EVENTS_PER=${EVENTS_PER:-100}
RUNTRAIL=$RT_ROOT/$BUILD/bin/runtrail
S3TOOL=$RT_ROOT/$BUILD/tests/store/rt-s3tool
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-bench-store.XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
[ -x "$RUNTRAIL" ] && [ -x "$S3TOOL" ] || { echo "bench store: run make first" >&2; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s%N; }
rate() { python3 -c "print(f'{$1/(($2)/1e9):,.0f}')"; } # rate COUNT NANOS

PORT=$(free_port)
NODE_OPTIONS=--openssl-legacy-provider "$RT_ROOT/node_modules/.bin/s3rver" -d "$TMP/s3" \
    -a 127.0.0.1 -p "$PORT" -s --configure-bucket bkt >"$TMP/s3rver.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" HOME="$TMP/home"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3

# ---- 1. pull + index ----
t0=$(now)
"$S3TOOL" bundles s3://bkt/bench "$N" --fn bench --events 20 --step 1000000 >"$TMP/put.out" \
    2>&1 || { echo "bench store: upload failed"; tail -3 "$TMP/put.out"; exit 1; }
t1=$(now)
echo "uploaded $N bundles with rt_store_put_bundle (sequential, keep-alive): $(rate "$N" $((t1 - t0))) bundles/s"
echo
printf '%-6s %10s %12s %8s %22s\n' "-j" "seconds" "bundles/s" "vs -j 1" "runtrail CPU ms/bundle"
base=""
for j in 1 8 32; do
    t0=$(now)
    /usr/bin/time -f "%U %S" -o "$TMP/cpu$j" \
        "$RUNTRAIL" pull s3://bkt/bench -j "$j" --cache "$TMP/c$j" >"$TMP/pull$j.out" 2>&1
    t1=$(now)
    grep -q "$N new" "$TMP/pull$j.out" || { echo "bench store: pull -j $j incomplete"; cat "$TMP/pull$j.out"; }
    ns=$((t1 - t0))
    [ -z "$base" ] && base=$ns
    printf '%-6s %10.2f %12s %7.2fx %22.2f\n' "$j" "$(python3 -c "print($ns/1e9)")" \
        "$(rate "$N" $ns)" "$(python3 -c "print($base/$ns)")" \
        "$(awk -v n="$N" '{print ($1 + $2) * 1000 / n}' "$TMP/cpu$j")"
done
echo "(target: >= 500 bundles/s at -j 8. s3rver is one Node.js process and bounds the rate;"
echo " the last column is what runtrail itself spends per bundle: list, GET, verify, index)"

# ---- 2. ingest ----
echo
"$S3TOOL" bundles "file://$TMP/big" 100 --fn big --events 5000 >/dev/null 2>&1
printf '%-26s %7s %8s %11s %11s %14s\n' "ingest (runtrail index)" "bundles" "seconds" \
    "bundles/s" "events/s" "events/CPU-s"
for set in "small:$TMP/c8/s3:$N:20" "large:$TMP/big:100:5000"; do
    IFS=: read -r name dir count per <<<"$set"
    t0=$(now)
    /usr/bin/time -f "%U %S" -o "$TMP/icpu" \
        "$RUNTRAIL" index --cache "$TMP/ingest-$name" "$dir" >/dev/null 2>&1
    t1=$(now)
    ns=$((t1 - t0))
    printf '%-26s %7s %8.2f %11s %11s %14s\n' "$name ($per events each)" "$count" \
        "$(python3 -c "print($ns/1e9)")" "$(rate "$count" $ns)" "$(rate $((count * per)) $ns)" \
        "$(awk -v n=$((count * per)) '{printf "%\047.0f", n / ($1 + $2)}' "$TMP/icpu")"
done
echo "(target: >= 200k events/s; each bundle is decompressed and its digests verified first;"
echo " events/CPU-s is the rate without the other load on the machine)"

# ---- 3. queries on a generated catalog ----
echo
C="$TMP/gen"
# An empty index creates the catalog and its schema (ls only reads: it creates nothing).
mkdir -p "$TMP/none"
"$RUNTRAIL" index --cache "$C" "$TMP/none" >/dev/null ||
    { echo "bench store: runtrail index could not create $C/catalog.sqlite" >&2; exit 1; }
EV=$((INVOCATIONS * EVENTS_PER))
t0=$(now)
sqlite3 -bail "$C/catalog.sqlite" >/dev/null <<SQL || # (journal_mode prints its new value)
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-400000;
DROP INDEX events_inv; DROP INDEX events_target; DROP INDEX events_host;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
INSERT INTO strings (id, text) SELECT i + 1, '/var/task/node_modules/m' || (i / 100) || '/f' || i || '.js' FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
INSERT INTO strings (id, text) SELECT 100001 + i, '10.' || (i / 65536) || '.' || ((i / 256) % 256) || '.' || (i % 256) FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
INSERT INTO strings (id, text) SELECT 150001 + i, 'h' || i || '.example.com' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $INVOCATIONS)
INSERT INTO invocations (id, digest, function, request_id, start_ns, duration_ns, status,
    n_events, destinations, path, verified)
SELECT i, printf('%064x', i), 'fn' || (i % 20), 'req-' || i, 1795689711000000000 + i * 1000000000,
    5000000, 1, $EVENTS_PER, '', '/dev/null', 1 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $EV - 1)
INSERT INTO events (inv, ts_ns, pid, kind, op, target, host, port, result, bytes, flags)
SELECT 1 + i / $EVENTS_PER, (i % $EVENTS_PER) * 1000, 1,
    CASE WHEN i % 10 < 7 THEN 1 ELSE 2 END,
    CASE WHEN i % 10 < 7 THEN 9 ELSE 27 END,
    CASE WHEN i % 10 < 7 THEN 1 + ((i * 7919) % 100000) ELSE 100001 + ((i * 104729) % 50000) END,
    CASE WHEN i % 10 < 7 THEN NULL ELSE 150001 + ((i * 15485863) % 20000) END,
    CASE WHEN i % 10 < 7 THEN NULL ELSE 443 END, 0, 0, 0 FROM n;
COMMIT;
CREATE INDEX events_inv ON events(inv);
CREATE INDEX events_target ON events(target, kind, inv) WHERE target IS NOT NULL;
CREATE INDEX events_host ON events(host, kind, port, inv) WHERE host IS NOT NULL;
ANALYZE;
SQL
    { echo "bench store: generating the catalog failed" >&2; exit 1; }
t1=$(now)
echo "generated catalog: $INVOCATIONS invocations, $EV events, $(du -m "$C/catalog.sqlite" | cut -f1) MB, in $(python3 -c "print(f'{($t1-$t0)/1e9:.0f}')") s"
query() { # query LABEL ARGS...: median wall and CPU time of 5 runs of the whole command
    local label=$1; shift
    local times=() cpus=() rows
    rows=$("$RUNTRAIL" ls --cache "$C" --json "$@" | wc -l)
    for _ in 1 2 3 4 5; do
        local a b; a=$(now)
        /usr/bin/time -f "%U %S" -o "$TMP/qcpu" "$RUNTRAIL" ls --cache "$C" --json "$@" >/dev/null
        b=$(now)
        times+=($(( (b - a) / 1000 )))
        # the last line: time(1) writes "Command exited with non-zero status N" above it
        cpus+=($(awk 'END {printf "%d", ($1 + $2) * 1000000}' "$TMP/qcpu"))
    done
    local med cmed
    med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
    cmed=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 3p)
    printf '%-56s %6s %10.1f %10.1f\n' "$label" "$rows" "$(python3 -c "print($med/1000)")" \
        "$(python3 -c "print($cmed/1000)")"
}
printf '%-56s %6s %10s %10s\n' "query (whole runtrail ls command)" "rows" "ms (p50)" "CPU ms"
# strings that occur: the file event and the net event of invocation 43
pick() { sqlite3 "$C/catalog.sqlite" "SELECT s.text FROM events e JOIN strings s ON s.id = e.$1 WHERE e.rowid = $2"; }
FILE1=$(pick target 4202) IP1=$(pick target 4208) HOST1=$(pick host 4208)
query "ls --dest $HOST1" --dest "$HOST1"
query "ls --dest $IP1:443" --dest "$IP1:443"
query "ls --path $FILE1" --path "$FILE1"
query "ls --path '${FILE1%/*}/*' --limit 100" --path "${FILE1%/*}/*" --limit 100
query "ls --path '*/${FILE1##*/}' (leading *)" --path "*/${FILE1##*/}"
query "ls --function fn7 --since/--until (1 h)" --function fn7 --since 2026-11-26T12:00:00Z --until 2026-11-26T13:00:00Z
echo "(target: <= 50 ms; includes process start and catalog open; CPU ms is user+sys, the"
echo " figure that does not depend on other load on the machine; /usr/bin/time has 10 ms steps)"
