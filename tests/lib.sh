# Sourced by e2e and tui test scripts. Provides assertions that print TAP-like lines and a
# summary; every assertion compares content and can fail.
#   check "name" CMD...            passes when CMD exits 0
#   expect_eq "name" EXPECTED ACTUAL
#   expect_file "name" EXPECTED_FILE ACTUAL_FILE   (diff shown on failure)
#   expect_grep "name" PATTERN FILE               (extended regex)
#   expect_exit "name" CODE CMD...
#   finish                          prints "N passed, N failed" and sets the exit status
#   PIDS+=($!)                      a background process to kill when the script exits
set -u
: "${RT_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${BUILD:=build}"
: "${RUNTRAIL:=$RT_ROOT/$BUILD/bin/runtrail}"
export RT_ROOT BUILD RUNTRAIL
_T_PASS=0 _T_FAIL=0 _T_N=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-test.XXXXXX")
# Tests never touch the user's catalog: the default cache folder lives in the test's tmp.
export XDG_CACHE_HOME="$T_TMP/xdg-cache"
export T_TMP
# Background processes a test starts (servers, emulators) go in PIDS: killed and reaped at exit.
PIDS=()
_t_cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$T_TMP"
}
trap _t_cleanup EXIT

_ok() { _T_N=$((_T_N + 1)); _T_PASS=$((_T_PASS + 1)); echo "ok $_T_N - $1"; }
_notok() {
    _T_N=$((_T_N + 1)); _T_FAIL=$((_T_FAIL + 1)); echo "not ok $_T_N - $1"
    shift; [ $# -gt 0 ] && printf '#   %s\n' "$@"
    return 0
}
check() { local n=$1; shift; if "$@"; then _ok "$n"; else _notok "$n" "command failed: $*"; fi; }
expect_eq() {
    if [ "$2" == "$3" ]; then _ok "$1"; else _notok "$1" "expected: $2" "actual:   $3"; fi
}
expect_file() {
    if cmp -s "$2" "$3"; then _ok "$1"; else
        _notok "$1" "files differ: $2 $3"; diff -u "$2" "$3" | head -n 40 | sed 's/^/#   /'; fi
}
expect_grep() {
    if grep -a -q -E -- "$2" "$3"; then _ok "$1"; else
        _notok "$1" "no line matches /$2/ in $3"; head -n 20 "$3" | sed 's/^/#   /'; fi
}
expect_no_grep() {
    if ! grep -a -q -E -- "$2" "$3"; then _ok "$1"; else
        _notok "$1" "a line matches /$2/ in $3"; grep -a -E -- "$2" "$3" | head -n 5 | sed 's/^/#   /'; fi
}
expect_exit() {
    local n=$1 want=$2; shift 2
    "$@" >"$T_TMP/last.out" 2>"$T_TMP/last.err"; local rc=$?
    if [ "$rc" -eq "$want" ]; then _ok "$n"; else
        _notok "$n" "expected exit $want, got $rc: $*"; head -n 10 "$T_TMP/last.err" | sed 's/^/#   /'; fi
}
# A free TCP port on 127.0.0.1, for a server a test starts next. Picked at random below the
# kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768 and up): a port the kernel
# hands out by itself (a bind to port 0, a client's connect) never lands on it between this
# pick and the server's bind, as it could when the pick was the kernel's own (bind to port 0).
free_port() {
    python3 -c '
import random, socket
for _ in range(500):
    port = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()'
}
# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT (default 20 s).
wait_port() {
    local i
    for ((i = 0; i < ${2:-20} * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# wait_http URL: until URL answers (at most 10 s).
wait_http() {
    for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
    return 1
}
# start_upstream: the upstream HTTP service the sample functions call (python3 http.server on a
# free port, serving upstream.txt = "upstream-ok"). Appends its pid to PIDS (killed at
# exit) and sets UP_PORT and UPSTREAM (the --env setting for the samples).
start_upstream() {
    mkdir -p "$T_TMP/www"
    echo "upstream-ok" >"$T_TMP/www/upstream.txt"
    UP_PORT=$(free_port)
    (cd "$T_TMP/www" && exec python3 -m http.server -b 127.0.0.1 "$UP_PORT") >/dev/null 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$UP_PORT/upstream.txt" || echo "# upstream server did not start"
    UPSTREAM="SAMPLE_UPSTREAM_URL=http://127.0.0.1:$UP_PORT/upstream.txt"
}
finish() {
    echo "$_T_PASS passed, $_T_FAIL failed"
    [ "$_T_FAIL" -eq 0 ]
}
