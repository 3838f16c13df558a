#!/usr/bin/env bash
# runtrail index + ls on the sample bundles: each filter against known answers (the scripted
# exfiltration, the error, the chain of four), idempotent re-indexing, a corrupt bundle
# refused by name, escaped hostile strings in the table, valid ASCII JSON lines.
source "$(dirname "$0")/../lib.sh"
C="$T_TMP/cache"
S="$RT_ROOT/samples/bundles"
EXFIL=e07a55c2-41b9-4d3e-b6f0-77c18a2e9d05
ERR=9b2d4e61-0c3a-4f58-8e17-2a6c9d0b3f44
GW=3f1c9a52-8d1e-4c7b-9a40-5b2f0e6d7a11
HOSTILE=0d4e2b71-9a6c-4e3f-8b25-c1f07e9a6d38
CH=51c2d8e0-1a2b-4c3d-8e4f-00000000000

"$RUNTRAIL" index --cache "$C" "$S" >"$T_TMP/index.out" 2>&1
expect_grep "index finds the 8 sample bundles" "indexed 8 bundles, 0 failed" "$T_TMP/index.out"

ids() { # ids ls-args...: request ids, space separated, in listed order
    "$RUNTRAIL" ls --cache "$C" --json "$@" | python3 -c '
import sys, json
print(" ".join(json.loads(l)["request_id"] for l in sys.stdin))'
}
expect_eq "all, oldest first" "$GW $ERR $EXFIL $HOSTILE ${CH}1 ${CH}2 ${CH}3 ${CH}4" "$(ids)"
expect_eq "--function" "8" "$("$RUNTRAIL" ls --cache "$C" --function orders-api --json | wc -l)"
expect_eq "--function unknown" "" "$(ids --function nope)"
expect_eq "--status error" "$ERR" "$(ids --status error)"
expect_eq "--since/--until window" "${CH}1 ${CH}2 ${CH}3" \
    "$(ids --since 2025-11-26T10:20:00Z --until 2025-11-26T10:20:03Z)"
expect_eq "--since with an offset" "${CH}2 ${CH}3 ${CH}4" "$(ids --since 2025-11-26T12:20:01+02:00)"
expect_eq "--dest IP" "$EXFIL" "$(ids --dest 203.0.113.66)"
expect_eq "--dest IP:PORT" "$EXFIL" "$(ids --dest 203.0.113.66:4444)"
expect_eq "--dest IP:other port" "" "$(ids --dest 203.0.113.66:80)"
expect_eq "--dest host name" "$GW ${CH}1 ${CH}2 ${CH}3 ${CH}4" \
    "$(ids --dest dynamodb.eu-west-1.amazonaws.com)"
expect_eq "--dest host:port" "$ERR" "$(ids --dest 127.0.0.1:6379)"
expect_eq "--path glob" "$EXFIL" "$(ids --path '/proc/*/environ')"
expect_eq "--path no match" "" "$(ids --path '/nonexistent/*')"
expect_eq "--path exact file" "$ERR" "$(ids --path '/etc/shadow')"
expect_eq "--exec by name" "$EXFIL" "$(ids --exec curl)"
expect_eq "--exec by path" "$EXFIL" "$(ids --exec /bin/sh)"
expect_eq "--request-id twice" "$ERR ${CH}4" "$(ids --request-id ${CH}4 --request-id $ERR)"
expect_eq "filters combine" "" "$(ids --dest 203.0.113.66 --status error)"
expect_eq "--limit" "$GW $ERR" "$(ids --limit 2)"

"$RUNTRAIL" ls --cache "$C" --dest 203.0.113.66 >"$T_TMP/table"
expect_grep "table header" '^TIME +FUNCTION +REQUEST ID +DURATION +STATUS +EVENTS +DESTINATIONS +FLAGS' "$T_TMP/table"
expect_grep "table row" "^2025-11-26T10:17:00.000Z orders-api +$EXFIL +412.0ms ok +15  203.0.113.66:4444 +environ_read" "$T_TMP/table"

"$RUNTRAIL" index --cache "$C" "$S" "$S/error.rtb" >"$T_TMP/again.out" 2>&1
expect_eq "re-indexing adds nothing" "8" "$("$RUNTRAIL" ls --cache "$C" --json | wc -l)"

python3 - "$S/error.rtb" "$T_TMP/bad.rtb" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read()); d[len(d) // 2] ^= 0x40
open(sys.argv[2], 'wb').write(d)
PY
expect_exit "a corrupt bundle fails index" 2 "$RUNTRAIL" index --cache "$C" "$T_TMP/bad.rtb"
expect_grep "and is named" "bad.rtb: " "$T_TMP/last.err"
expect_eq "still 8" "8" "$("$RUNTRAIL" ls --cache "$C" --json | wc -l)"

# hostile strings: a function name with escape sequences, through the table and JSON
"$RUNTRAIL" ls --cache "$C" >"$T_TMP/all.txt"
"$RUNTRAIL" ls --cache "$C" --json >"$T_TMP/all.json"
expect_eq "no raw control bytes in the table" "0" "$(tr -d '\n' <"$T_TMP/all.txt" | tr -dc '\000-\037' | wc -c)"
check "JSON lines parse and are ASCII" python3 -c '
import sys, json
for l in open(sys.argv[1], "rb"):
    l.decode("ascii"); json.loads(l)' "$T_TMP/all.json"
expect_grep "JSON carries the catalog fields" '"digest":"[0-9a-f]{64}".*"verified":true' "$T_TMP/all.json"

expect_exit "bad --status" 2 "$RUNTRAIL" ls --cache "$C" --status maybe
expect_grep "hint" "Try 'runtrail ls --help'" "$T_TMP/last.err"
expect_exit "bad --since" 2 "$RUNTRAIL" ls --cache "$C" --since tomorrow
expect_exit "index without paths" 2 "$RUNTRAIL" index --cache "$C"
expect_exit "ls --help" 0 "$RUNTRAIL" ls --help

# ls only reads: it creates no cache, and reads a catalog its user cannot write (here: as
# nobody, in a folder owned by root, the WAL checkpointed away so no -shm can be made)
expect_exit "ls on a cache that does not exist: nothing matched (exit 1, like grep)" 1 "$RUNTRAIL" ls --cache "$T_TMP/no/cache"
check "ls created no cache" test ! -e "$T_TMP/no"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
    RO="$T_TMP/ro"
    mkdir -p "$RO" && cp "$C/catalog.sqlite"* "$RO/"
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("pragma wal_checkpoint(TRUNCATE)"); c.close()' "$RO/catalog.sqlite"
    chmod 711 "$T_TMP"; chmod 755 "$RO"; chmod 644 "$RO/catalog.sqlite"
    expect_exit "ls as a user who cannot write the catalog" 0 \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$RUNTRAIL" ls --cache "$RO" --json
    expect_eq "it lists all 8" "8" "$(wc -l <"$T_TMP/last.out")"
    expect_eq "and leaves the folder as it was" "catalog.sqlite" "$(ls "$RO")"
else
    _ok "ls on a read-only catalog (skipped: needs root and setpriv)"
fi

# a catalog locked by another process: index waits (10 s), then says so
python3 -c 'import sqlite3,sys,time
c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("begin immediate")
open(sys.argv[2], "w").close(); time.sleep(30)' "$C/catalog.sqlite" "$T_TMP/locked" &
lock_pid=$!
PIDS+=($lock_pid)
for _ in $(seq 100); do [ -e "$T_TMP/locked" ] && break; sleep 0.1; done
expect_exit "index on a locked catalog exits 2" 2 "$RUNTRAIL" index --cache "$C" "$S"
expect_grep "with a real reason" "catalog is locked by another runtrail \(busy\)" "$T_TMP/last.err"
expect_no_grep "not 'invalid argument'" "invalid argument" "$T_TMP/last.err"
kill "$lock_pid" 2>/dev/null

# a commit that fails (a file size limit, as a full disk would): exit 2, the reason, and a
# summary that counts nothing as indexed that the catalog does not hold
F="$T_TMP/full"
"$RUNTRAIL" index --cache "$F" "$S/error.rtb" >/dev/null 2>&1
wal=$(stat -c %s "$F/catalog.sqlite-wal")
check "the catalog's WAL is past the limit set below ($wal bytes)" test "$wal" -gt 40960
(trap '' XFSZ; ulimit -f 40; exec "$RUNTRAIL" index --cache "$F" "$S") \
    >"$T_TMP/full.out" 2>"$T_TMP/full.err"
expect_eq "an index whose commit fails exits 2" 2 $?
expect_grep "the catalog file is named with the reason" \
    "/full/catalog.sqlite: catalog \(SQLite\) error \(commit: " \
    "$T_TMP/full.err"
expect_grep "nothing counted as indexed" \
    "indexed 0 bundles, 0 failed, 8 not committed \(the last commit failed\)" "$T_TMP/full.out"
expect_eq "the catalog holds what it held" "1" "$("$RUNTRAIL" ls --cache "$F" --json | wc -l)"
"$RUNTRAIL" index --cache "$F" "$S" >"$T_TMP/full2.out" 2>&1
expect_grep "once the disk has room, the same index adds them" "indexed 8 bundles, 0 failed" \
    "$T_TMP/full2.out"
expect_eq "all 8 are in the catalog" "8" "$("$RUNTRAIL" ls --cache "$F" --json | wc -l)"
finish
