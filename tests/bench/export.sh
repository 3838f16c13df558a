#!/usr/bin/env bash
# Benchmark of `runtrail export` (issue 13), run by `make bench` through tests/bench/run.sh.
# Not a test. On N generated invocations (default 37000, ~27 events each: ~1M events; three
# functions, as tests/e2e/export.sh generates them), indexed into a catalog:
#  1. export throughput: events/s of the events table as JSON lines to /dev/null, and of both
#     tables into Hive partitions without and with --zstd; bytes per event row; peak RSS;
#  2. the questions of docs/fleet.md: DuckDB (@duckdb/node-api, the blocks run verbatim) over
#     the zstd export, against `runtrail ls` over the catalog for the same question (median of
#     RUNS=3, whole command for ls, the query alone for DuckDB).
# Usage: tests/bench/export.sh   (N=37000 RUNS=3 BUILD=build)
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N=${N:-37000}
RUNS=${RUNS:-3}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tools/gen_invocations" "$BUILD/bin/runtrail" >/dev/null
RUNTRAIL=$PWD/$BUILD/bin/runtrail
GEN=$PWD/$BUILD/tools/gen_invocations
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-bench-export.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
now() { date +%s%N; }
ms() { python3 -c "print(f'{($2 - $1) / 1e6:.0f}')"; }

NOW=$(date +%s)000000000
M=60000000000
O=$((N * 11 / 30)) T=$((N / 3))
B=$((N - O - T))
OV=$((O * 8 / 11))
STEP=$((156 * 60 * M / O))
mkdir -p "$TMP/d"
"$GEN" "$TMP/d/orders" "$OV" --attacks --function orders-api --version 12 --first 0 \
    --start $((NOW - 156 * 60 * M)) --step $STEP
"$GEN" "$TMP/d/orders" $((O - OV)) --attacks --deploy --function orders-api --version 13 \
    --first "$OV" --start $((NOW - 156 * 60 * M + OV * STEP)) --step $STEP
"$GEN" "$TMP/d/thumb" "$T" --function thumbnailer --version 3 --first 1000000 \
    --start $((NOW - 9 * 24 * 60 * M)) --step $((8 * 24 * 60 * M / T))
"$GEN" "$TMP/d/billing" "$B" --attacks --function billing --version 5 --first 2000000 \
    --start $((NOW - 12 * 24 * 60 * M)) --step $((3 * 24 * 60 * M / B))
mkdir -p "$TMP/w"
t0=$(now)
"$RUNTRAIL" index --cache "$TMP/c" "$TMP/d" >/dev/null
t1=$(now)
EVENTS=$("$RUNTRAIL" ls --cache "$TMP/c" --json | python3 -c 'import json,sys; print(sum(json.loads(l)["events"] for l in sys.stdin))')
echo "$N invocations, $EVENTS events (indexed in $(ms "$t0" "$t1") ms)"
echo
printf '%-44s %9s %12s %14s %12s %10s\n' "export" "ms" "events/s" "events/CPU-s" "bytes/event" "peak RSS"
run() { # run LABEL DIR|- ARGS...: time, rate, bytes per event row, RSS
    local label=$1 dir=$2; shift 2
    local a b bytes
    a=$(now)
    if [ "$dir" = - ]; then
        /usr/bin/time -f "%M %U %S" -o "$TMP/rss" "$RUNTRAIL" export --cache "$TMP/c" "$@" >"$TMP/stdout"
        bytes=$(stat -c %s "$TMP/stdout")
    else
        /usr/bin/time -f "%M %U %S" -o "$TMP/rss" "$RUNTRAIL" export --cache "$TMP/c" "$@" -o "$dir" 2>/dev/null
        bytes=$(find "$dir/table=events" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
    fi
    b=$(now)
    local rss cpu
    read -r rss cpu < <(awk '{print $1, $2 + $3}' "$TMP/rss")
    printf '%-44s %9s %12s %14s %12s %7s MB\n' "$label" "$(ms "$a" "$b")" \
        "$(python3 -c "print(f'{$EVENTS / (($b - $a) / 1e9):,.0f}')")" \
        "$(python3 -c "print(f'{$EVENTS / max($cpu, 0.01):,.0f}')")" \
        "$(python3 -c "print(f'{$bytes / $EVENTS:.1f}')")" "$((rss / 1024))"
}
run "events table, JSON lines, to stdout" - --format jsonl --table events
run "both tables, JSON lines, Hive parts" "$TMP/w/plain" --format jsonl
run "both tables, JSON lines + zstd, Hive parts" "$TMP/w/export" --format jsonl --zstd
run "events table, CSV, to stdout" - --format csv --table events
echo "(events/s: events of the events table per second of the whole command, invocation rows"
echo " included where written; events/CPU-s: the same per second of user+sys CPU, the figure"
echo " that does not depend on other load; bytes/event: the events table's bytes per row)"
echo
printf '%-24s %-42s %6s %10s\n' "question (docs/fleet.md)" "engine" "rows" "ms (p50)"
node tests/bench/export_duckdb.mjs "$PWD/docs/fleet.md" "$TMP/w" "$RUNS" talked-to-ip \
    environ-readers changed-after-deploy >"$TMP/duck"
lsq() { # lsq LABEL ARGS...: the whole runtrail ls command, median of RUNS
    local label=$1; shift
    local times=() rows a b
    rows=$("$RUNTRAIL" ls --cache "$TMP/c" --json "$@" | wc -l)
    for _ in $(seq "$RUNS"); do
        a=$(now); "$RUNTRAIL" ls --cache "$TMP/c" --json "$@" >/dev/null; b=$(now)
        times+=($(((b - a) / 1000000)))
    done
    printf '%-24s %-42s %6s %10s\n' "$label" "runtrail ls $*" "$rows" \
        "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")"
}
while read -r name rows t; do
    printf '%-24s %-42s %6s %10s\n' "$name" "DuckDB over the zstd export" "$rows" "$t"
    case $name in
    talked-to-ip) lsq "$name" --dest 203.0.113.9 --since 7d ;;
    environ-readers) lsq "$name" --path '/proc/*/environ' ;;
    esac
done <"$TMP/duck"
echo "(DuckDB rows are grouped answers: functions, request ids, changed items; ls lists the"
echo " matching invocations. changed-after-deploy has no single ls equivalent: the e2e test"
echo " answers it with one ls per function and item)"
