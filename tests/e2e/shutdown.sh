#!/usr/bin/env bash
# What a function does after its last invocation (here: its SIGTERM handler at shutdown) is not
# dropped: the extension seals it at SHUTDOWN into one more bundle (request id "shutdown",
# every event flagged outside_invocation). A runtime that only waits for its next event leaves
# no such bundle behind.
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
expect_eq "a plain runtime: one bundle, no shutdown bundle" 1 "$(find "$T_TMP/s2" -name '*.rtb' | wc -l)"
finish
