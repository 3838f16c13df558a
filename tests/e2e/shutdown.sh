#!/usr/bin/env bash
# What a function does after its last invocation (here: its SIGTERM handler at shutdown) is not
# dropped: the extension seals it at SHUTDOWN into one more bundle (request id "shutdown",
# every event flagged outside_invocation). A runtime that only waits for its next event still
# gets a shutdown bundle, empty but for its META (chain_end last) and a shutdown marker: it
# closes the sandbox's chain, so verify can tell a removed last bundle from a closed chain.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
mkdir -p "$T_TMP/fn"
cat >"$T_TMP/fn/app.py" <<'PY'
import os, signal
def on_term(signum, frame):
    with open("/etc/hostname") as f:
        f.read()
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
def handler(event, context):
    return {"ok": True}
PY
boot="$RT_ROOT/samples/python/bootstrap.py"

"$RUNTRAIL" invoke --store "$T_TMP/s1" --task-root "$T_TMP/fn" --handler app.handler \
    -- python3 "$boot" >"$T_TMP/out1" 2>"$T_TMP/err1"
expect_eq "the invocation answers" '{"ok":true}' "$(cat "$T_TMP/out1")"
expect_eq "two bundles: the invocation and the shutdown" 2 "$(find "$T_TMP/s1" -name '*.rtb' | wc -l)"
b=$(find "$T_TMP/s1" -name '*-shutdown.rtb')
expect_eq "the shutdown bundle is keyed by request id 'shutdown'" 1 "$(echo "$b" | grep -c .)"
"$RUNTRAIL" show "$b" >"$T_TMP/show.txt"
expect_grep "status unknown" '^status +unknown' "$T_TMP/show.txt"
expect_grep "the handler's open, flagged outside_invocation" \
    '^-[0-9.]+ms +pid [0-9]+ +openat\(AT_FDCWD, "/etc/hostname", O_RDONLY[^)]*\) = [0-9]+ .*\[outside_invocation\]' "$T_TMP/show.txt"
expect_grep "a shutdown marker" 'mark\("shutdown", "shutdown", shutdown\)' "$T_TMP/show.txt"
expect_exit "verify: the chain includes it without a gap" 0 "$RUNTRAIL" verify "$T_TMP/s1"

"$RUNTRAIL" invoke --store "$T_TMP/s2" --task-root "$RT_ROOT/samples/python" --handler app.handler \
    -- python3 "$boot" >/dev/null 2>"$T_TMP/err2"
expect_eq "a plain runtime: the invocation and an empty shutdown bundle" 2 \
    "$(find "$T_TMP/s2" -name '*.rtb' | wc -l)"
b2=$(find "$T_TMP/s2" -name '*-shutdown.rtb')
"$RUNTRAIL" show "$b2" >"$T_TMP/show2.txt"
expect_grep "the empty shutdown bundle: its marker" 'mark\("shutdown", "shutdown", shutdown\)' "$T_TMP/show2.txt"
expect_eq "the empty shutdown bundle: the marker is its only event" 1 \
    "$(grep -cE '^[-+][0-9.]+ms ' "$T_TMP/show2.txt")"
"$RUNTRAIL" verify "$T_TMP/s2" >"$T_TMP/v2.out" 2>"$T_TMP/v2.err"
expect_eq "verify: the closed chain, exit 0" 0 $?
expect_eq "verify: the closed chain, no warning" \
    "verify: 2 bundles, 1 sandbox: all intact" "$(cat "$T_TMP/v2.out")"
"$RUNTRAIL" ls --json >"$T_TMP/ls.json"
expect_eq "ls: two invocations and the shutdown bundle with activity; the empty one is left out" \
    "3 1" "$(wc -l <"$T_TMP/ls.json") $(grep -c '"request_id": *"shutdown"' "$T_TMP/ls.json")"
rm "$b2"
"$RUNTRAIL" verify "$T_TMP/s2" >"$T_TMP/v3.out" 2>"$T_TMP/v3.err"
expect_grep "verify: the removed shutdown bundle leaves the chain open" \
    'warning: .*\.rtb: sandbox [0-9a-f]+: seq 0, the highest present, is not the last bundle.*\(open\)' \
    "$T_TMP/v3.err"
"$RUNTRAIL" verify --strict "$T_TMP/s2" >/dev/null 2>&1
expect_eq "verify --strict: the open chain is a finding" 1 $?
finish
