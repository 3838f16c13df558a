#!/usr/bin/env bash
# `runtrail export` (issue 13):
#  - fleet scale: 3000 generated invocations of three functions over two weeks (one
#    redeployed with a new program and destination, two talking to 203.0.113.9, one of them
#    only before this week), indexed, exported as zstd JSON lines into Hive partitions; the
#    DuckDB blocks of docs/fleet.md run verbatim over it (tests/e2e/export_duckdb.mjs) and
#    every answer is checked against `runtrail ls` on the same catalog;
#  - the tables: row counts against the catalog, the Hive layout, the schema of
#    docs/export.md and docs/fleet.md against `--schema`, CSV (RFC 4180) read back by
#    Python's csv module equal to the JSON lines field by field, the formula guard;
#  - Perfetto: the trace-event JSON of the sample bundles validated against the format's
#    fields (tests/e2e/trace_event_check.py), and the exfiltration bundle's content;
#  - S3: the parts put under PREFIX/export/ through the signature-verifying proxy;
#  - errors: a damaged bundle, contradicting options.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
GEN=$RT_ROOT/$BUILD/tools/gen_invocations
S=$RT_ROOT/samples/bundles
C=$T_TMP/cache
D=$T_TMP/gen
mkdir -p "$D" "$T_TMP/w"

# ---- data: two weeks of three functions, relative to now ----
NOW=$(date +%s)000000000
M=60000000000 # a minute in ns
OSTART=$((NOW - 156 * 60 * M)) # orders-api: the last 6.5 days, every 8 minutes
"$GEN" "$D/orders" 800 --attacks --function orders-api --version 12 --first 0 \
    --start $OSTART --step $((8 * M)) &&
    "$GEN" "$D/orders" 300 --attacks --deploy --function orders-api --version 13 --first 800 \
        --start $((OSTART + 800 * 8 * M)) --step $((8 * M)) &&
    "$GEN" "$D/thumb" 1000 --function thumbnailer --version 3 --first 2000 \
        --start $((NOW - 9 * 24 * 60 * M)) --step $((10 * M)) --recorder-cpu 700000 &&
    "$GEN" "$D/billing" 900 --attacks --function billing --version 5 --first 4000 \
        --start $((NOW - 12 * 24 * 60 * M)) --step $((5 * M)) # ends 8.9 days ago
check "3000 invocations generated" test "$(find "$D" -name '*.rtb' | wc -l)" -eq 3000
"$RUNTRAIL" index --cache "$C" "$D" >"$T_TMP/index.out" 2>&1
expect_grep "... and indexed" "^indexed 3000 bundles, 0 failed" "$T_TMP/index.out"

t0=$(date +%s%N)
expect_exit "export --format jsonl --zstd -o DIR: exit 0" 0 \
    "$RUNTRAIL" export --cache "$C" --format jsonl --zstd -o "$T_TMP/w/export"
t1=$(date +%s%N)
echo "# exported 3000 invocations in $(((t1 - t0) / 1000000)) ms"
EVENTS=$("$RUNTRAIL" ls --cache "$C" --json | python3 -c 'import json,sys; print(sum(json.loads(l)["events"] for l in sys.stdin))')
expect_grep "... it says what it wrote" "^exported 3000 invocations \(3000 invocation rows, $EVENTS event rows\) into [0-9]+ part files" "$T_TMP/last.err"
bad_paths=$(cd "$T_TMP/w/export" && find . -type f | grep -Ev '^\./table=(invocations|events)/fn=(orders-api|thumbnailer|billing)/dt=20[0-9]{2}-[01][0-9]-[0-3][0-9]/part-[0-9]{19}-[0-9a-f]{8}-[0-9]{7}\.jsonl\.zst$' | head -3)
expect_eq "the parts are laid out table=T/fn=F/dt=D/part-....jsonl.zst" "" "$bad_paths"
check "each part is a whole zstd frame" zstd -tq $(find "$T_TMP/w/export" -type f)
count_rows() { find "$T_TMP/w/export/table=$1" -type f -exec zstd -dcq {} + | wc -l; }
expect_eq "invocation rows = the catalog's invocations, event rows = its events" \
    "3000 $EVENTS" "$(count_rows invocations) $(count_rows events)"
check "a partition's rows all have its function and its invocation's day" python3 - \
    "$T_TMP/w/export" <<'EOF'
import datetime, glob, json, re, subprocess, sys
for f in glob.glob(sys.argv[1] + "/table=*/*/*/*.zst"):
    fn, dt = re.search(r"fn=([^/]+)/dt=([^/]+)/", f).groups()
    for l in subprocess.run(["zstd", "-dcq", f], capture_output=True, check=True).stdout.splitlines():
        r = json.loads(l)
        start = r["start_ns"] if "start_ns" in r else r["wall_ns"] - r["ts_ns"]
        day = datetime.datetime.fromtimestamp(start // 10**9, datetime.timezone.utc)
        assert (r["function"], day.strftime("%Y-%m-%d")) == (fn, dt), (f, r)
EOF
echo "# ${SECONDS}s"
# ---- the documented DuckDB queries, verbatim, against ls ----
node "$RT_ROOT/tests/e2e/export_duckdb.mjs" "$RT_ROOT/docs/fleet.md" "$T_TMP/w" "$RUNTRAIL" "$C" \
    >"$T_TMP/duck.out" 2>&1
while read -r word rest; do
    case $word in
    ok) _ok "duckdb: $rest" ;;
    not) _notok "duckdb: ${rest#ok }" ;;
    time) echo "# duckdb $rest ms" ;;
    *) _notok "duckdb: unexpected output: $word $rest" ;;
    esac
done <"$T_TMP/duck.out"
expect_grep "duckdb: the export_duckdb script ran its last check" "^ok recorder-cost" "$T_TMP/duck.out"

echo "# ${SECONDS}s"
# ---- the schema in the docs is the schema of the code ----
for t in invocations events; do
    "$RUNTRAIL" export --schema "$t" >"$T_TMP/schema.md"
    check "docs/export.md has the $t columns as --schema prints them" \
        python3 -c 'import sys; sys.exit(open(sys.argv[2]).read() not in open(sys.argv[1]).read())' \
        "$RT_ROOT/docs/export.md" "$T_TMP/schema.md"
    for how in duckdb athena; do
        "$RUNTRAIL" export --schema "$t:$how" >"$T_TMP/schema.$how"
        check "docs/fleet.md has the $t columns as --schema $t:$how prints them" \
            python3 -c 'import sys; sys.exit(open(sys.argv[2]).read().rstrip("\n") not in open(sys.argv[1]).read())' \
            "$RT_ROOT/docs/fleet.md" "$T_TMP/schema.$how"
    done
done

echo "# ${SECONDS}s"
# ---- CSV: RFC 4180, read back equal to the JSON lines ----
for t in invocations events; do
    "$RUNTRAIL" export --format jsonl --table "$t" "$S" >"$T_TMP/$t.jsonl"
    "$RUNTRAIL" export --format csv --table "$t" "$S" >"$T_TMP/$t.csv"
    check "csv $t (hostile strings included): every field equals the JSON line's" python3 - \
        "$T_TMP/$t.jsonl" "$T_TMP/$t.csv" <<'EOF'
import csv, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[2], newline="") as f:
    got = list(csv.DictReader(f))
assert len(rows) == len(got) > 0, (len(rows), len(got))
def cell(v):
    if v is None: return ""
    if v is True or v is False: return "true" if v else "false"
    if isinstance(v, (list, dict)): return json.dumps(v, separators=(",", ":"))
    if isinstance(v, float): return repr(v).rstrip("0").rstrip(".") if "e" not in repr(v) else repr(v)
    return str(v).replace("\0", "\ufffd")
for r, g in zip(rows, got):
    assert list(r) == list(g), (list(r), list(g))
    for k, v in r.items():
        if isinstance(v, (list, dict)):
            assert json.loads(g[k]) == v, (k, g[k], v)
        elif isinstance(v, float):
            assert float(g[k]) == v, (k, g[k], v)
        else:
            assert g[k] == cell(v), (k, g[k], cell(v))
EOF
done
expect_grep "csv: records end with CRLF (RFC 4180)" $'\r$' "$T_TMP/events.csv"
expect_grep "csv: a field with a quote or a comma is quoted, quotes doubled" '"[^"]*""' "$T_TMP/events.csv"
# a recorded command that opens files named like spreadsheet formulas
(cd "$T_TMP" && "$RUNTRAIL" record --store "$T_TMP/rec" -- sh -c \
    'cat "=HYPERLINK(1)" "@SUM(1)" "+1" 2>/dev/null; true' >/dev/null 2>&1)
"$RUNTRAIL" export --format csv --table events "$T_TMP/rec" >"$T_TMP/events.csv"
"$RUNTRAIL" export --format csv --table events --csv-formula-guard "$T_TMP/rec" >"$T_TMP/guard.csv"
check "--csv-formula-guard: no string field starts with = + - @ (a ' goes first)" python3 - \
    "$T_TMP/guard.csv" "$T_TMP/events.csv" <<'EOF'
import csv, sys
guarded = list(csv.DictReader(open(sys.argv[1], newline="")))
plain = list(csv.DictReader(open(sys.argv[2], newline="")))
changed = 0
for g, p in zip(guarded, plain):
    for k in g:
        if p[k][:1] in ("=", "+", "-", "@") and not p[k].lstrip("-").isdigit():
            assert g[k] == "'" + p[k], (k, g[k], p[k]); changed += 1
        elif not p[k].lstrip("-").isdigit():
            assert g[k] == p[k] or g[k] == "'" + p[k], (k, g[k], p[k])
assert changed >= 3, "the recorded formula-like paths were not found: %d" % changed
EOF

echo "# ${SECONDS}s"
# ---- Perfetto ----
"$RUNTRAIL" export --format perfetto "$S"/*.rtb >"$T_TMP/trace.json"
python3 "$RT_ROOT/tests/e2e/trace_event_check.py" "$T_TMP/trace.json" --summary "$T_TMP/sum.json" \
    >"$T_TMP/check.out"
expect_eq "perfetto: the samples' trace has the trace-event format's fields (no problem found)" "" \
    "$(head -5 "$T_TMP/check.out")"
"$RUNTRAIL" export --format perfetto -o "$T_TMP/exfil.json" "$S/exfiltration.rtb" 2>/dev/null
python3 "$RT_ROOT/tests/e2e/trace_event_check.py" "$T_TMP/exfil.json" --summary "$T_TMP/exfil.sum" >/dev/null
"$RUNTRAIL" show --json "$S/exfiltration.rtb" >"$T_TMP/exfil.show"
check "perfetto: the exfiltration bundle, against show --json" python3 - "$T_TMP/exfil.sum" \
    "$T_TMP/exfil.show" <<'EOF'
import json, sys, re, collections
procs = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
meta = [r for r in recs if r["record"] == "meta"][0]
events = [r for r in recs if r["record"] == "event"]
inv = [p for p in procs.values() if p["name"] == "%s %s" % (meta["function"], meta["request_id"])]
assert len(inv) == 1, [p["name"] for p in procs.values()]
inv = inv[0]
# one process per recorded pid, named by the program it runs (exec, or inherited on fork)
want_names = {8: None, 31: "sh", 32: "sh", 33: "curl"}
by_pid = {}
for p in procs.values():
    m = re.match(r"(.*) \[pid (\d+)\]$", p["name"] or "")
    if m:
        by_pid[int(m.group(2))] = p
        assert p["labels"] == meta["request_id"], p["labels"]
assert sorted(by_pid) == sorted({e["pid"] for e in events}), sorted(by_pid)
for pid, name in want_names.items():
    if name:
        assert by_pid[pid]["name"] == "%s [pid %d]" % (name, pid), by_pid[pid]["name"]
# calls and connections: one complete slice each, on their process; marks on the invocation
calls = collections.Counter(e["pid"] for e in events if e["op"] not in ("mark", "log"))
for pid, n in calls.items():
    got = len(by_pid[pid]["slices"])
    assert got == n, (pid, got, n)
names = sorted(s["name"] for s in by_pid[33]["slices"])
assert names == sorted(["execve", "socket", "connect", "sendto", "outbound 203.0.113.66:4444",
                        "proc_exit"]), names
conn = [s for s in by_pid[33]["slices"] if s["name"].startswith("outbound")][0]
ev = [e for e in events if e["op"] == "outbound"][0]
assert abs((conn["end"] - conn["ts"]) - ev["dur_ns"] / 1000) < 1e-3, (conn, ev["dur_ns"])
assert by_pid[33]["threads"][str(conn["tid"])] == "connections"
marks = sorted(i["name"] for i in inv["instants"])
assert marks == ["invoke_start", "response"], marks
flags = [i for p in by_pid.values() for i in p["instants"] if i["cat"] == "flag"]
assert [f["name"] for f in flags] == ["environ_read"] and flags[0] in by_pid[32]["instants"]
# the invocation slice encloses every slice and instant of its processes
assert len(inv["slices"]) == 1 and inv["slices"][0]["cat"] == "invocation"
lo, hi = inv["slices"][0]["ts"], inv["slices"][0]["end"]
for p in list(by_pid.values()) + [inv]:
    for s in p["slices"]:
        assert lo - 1e-3 <= s["ts"] and s["end"] <= hi + 1e-3, (s, lo, hi)
    for i in p["instants"]:
        assert lo - 1e-3 <= i["ts"] <= hi + 1e-3, (i, lo, hi)
assert abs((hi - lo) - 770430) < 0.01, hi - lo  # us, to the end of the connection (389.43 + 381 ms)
EOF
python3 - "$T_TMP/trace.json" >"$T_TMP/side.out" <<'EOF'
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
inv = [e for e in ev if e["ph"] == "X" and e.get("cat") == "invocation"]
print(len(inv), len({e["pid"] for e in inv}), len({e["args"]["request_id"] for e in inv}))
EOF
expect_eq "perfetto: several invocations side by side (4 samples: 4 invocation slices, 4 processes)" \
    "4 4 4" "$(cat "$T_TMP/side.out")"

echo "# ${SECONDS}s"
# ---- S3: the parts under PREFIX/export/, through the verifying proxy ----
s3_start || _notok "s3rver starts"
SOME=(--cache "$C" --function thumbnailer --limit 200)
"$RUNTRAIL" export --format jsonl --zstd -o s3://bkt/pfx "${SOME[@]}" >"$T_TMP/s3.out" 2>&1
expect_grep "export -o s3://bkt/pfx: 200 invocations" "^exported 200 invocations .*s3://bkt/pfx/export/" "$T_TMP/s3.out"
"$S3TOOL" list bkt pfx/ >"$T_TMP/s3.list"
expect_eq "... the same part files as a folder export of them, under pfx/export/" \
    "$("$RUNTRAIL" export --format jsonl --zstd -o "$T_TMP/thumb" "${SOME[@]}" 2>/dev/null; cd "$T_TMP/thumb" && find . -type f | sed 's|^\./|pfx/export/|' | sort)" \
    "$(cut -f1 "$T_TMP/s3.list" | sort)"
expect_eq "... every request signed right (the proxy found no mismatch)" 0 "$(s3_mismatches)"
"$RUNTRAIL" export --format jsonl --zstd -o "$T_TMP/thumb2" "${SOME[@]}" 2>/dev/null
expect_eq "exporting the same invocations again writes the same files, byte for byte" \
    "$(cd "$T_TMP/thumb" && find . -type f | sort | xargs md5sum)" \
    "$(cd "$T_TMP/thumb2" && find . -type f | sort | xargs md5sum)"

echo "# ${SECONDS}s"
# ---- errors ----
head -c 300 "$S/error.rtb" >"$T_TMP/cut.rtb"
expect_exit "a damaged bundle among good ones: exit 2" 2 \
    "$RUNTRAIL" export --format jsonl "$S/exfiltration.rtb" "$T_TMP/cut.rtb" "$S/error.rtb"
expect_grep "... the message names it" "cut\.rtb: " "$T_TMP/last.err"
expect_eq "... the good ones are exported" 2 "$(wc -l <"$T_TMP/last.out")"
expect_exit "perfetto with a damaged bundle among good ones: exit 2" 2 \
    "$RUNTRAIL" export --format perfetto "$S/exfiltration.rtb" "$T_TMP/cut.rtb" "$S/error.rtb"
cp "$T_TMP/last.out" "$T_TMP/damaged.json"
check "... the trace of the others is whole and valid" \
    python3 "$RT_ROOT/tests/e2e/trace_event_check.py" "$T_TMP/damaged.json"
expect_eq "... with both good invocations" 2 "$(grep -c '"cat":"invocation"' "$T_TMP/damaged.json")"
expect_exit "bundles and ls filters together: usage error" 2 \
    "$RUNTRAIL" export --format jsonl --function billing "$S/error.rtb"
expect_exit "no --format: usage error" 2 "$RUNTRAIL" export "$S/error.rtb"
expect_exit "two tables to stdout: usage error" 2 \
    "$RUNTRAIL" export --format csv --table events --table invocations "$S/error.rtb"
expect_exit "nothing matches the filters: exit 1" 1 \
    "$RUNTRAIL" export --cache "$C" --format jsonl --function nope
finish
