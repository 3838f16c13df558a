#!/usr/bin/env bash
# Ground truth for the interposer: one mixed workload (a shell pipeline; python3 doing file
# I/O, a subprocess, a shell and TCP connects to a local listener and a closed port; a curl
# call to a local python http.server) runs once under `strace -f` and once under
# `runtrail record`; the (operation, target) pairs strace saw must be >= 99% in the bundle.
. "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
cd "$T_TMP" || exit 1
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$T_TMP"; }
trap cleanup EXIT
if ! command -v strace >/dev/null || ! strace -f -o /dev/null true 2>/dev/null; then
    echo "# strace unavailable or ptrace not permitted: skipping"; finish; exit $?
fi
PY=$(python3 -c 'import sys; print(sys.executable)')
lport=$(free_port) hport=$(free_port) closed=$(free_port)
"$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.recv(64); c.close()' "$lport" &
pids+=($!)
mkdir srv && echo "served" >srv/hello.txt
"$PY" -m http.server --bind 127.0.0.1 --directory srv "$hport" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$hport/hello.txt" >/dev/null 2>&1 && break; sleep 0.1; done
WORK="$RT_ROOT/tests/recorder/workload.py"
script="ls | sort > list.txt; cat list.txt | wc -l > count.txt; $PY $WORK $lport $closed; curl -s -o got.txt http://127.0.0.1:$hport/hello.txt; cat got.txt"
mkdir a b
(cd a && timeout 60 strace -f -qq -s 1024 -o ../strace.log \
    -e trace=open,openat,creat,unlink,unlinkat,rmdir,rename,renameat,renameat2,mkdir,mkdirat,execve,connect \
    sh -c "$script" >../strace.out 2>&1)
expect_eq "workload under strace ran" 0 "$?"
(cd b && timeout 60 "$RUNTRAIL" record --quiet --store "$T_TMP/st" -- sh -c "$script" >../rec.out 2>&1)
expect_eq "workload under runtrail ran" 0 "$?"
expect_file "same output under strace and runtrail" strace.out rec.out
B=$(find st -name '*.rtb' | head -n 1)
"$RUNTRAIL" show --json "$B" >show.json
python3 "$RT_ROOT/tests/recorder/strace_compare.py" strace.log show.json 0.99 >cmp.txt
rc=$?
sed 's/^/# /' cmp.txt
expect_eq "coverage vs strace -f >= 99%" 0 "$rc"
grep -q "of [0-9][0-9]" cmp.txt && _ok "strace saw a meaningful workload" || _notok "strace saw a meaningful workload" "$(cat cmp.txt)"
finish
