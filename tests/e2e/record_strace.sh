#!/usr/bin/env bash
# Ground truth for the interposer: one mixed workload (a shell pipeline; python3 doing file
# I/O, a subprocess, a shell and TCP connects to a local listener and a closed port; a curl
# call to a local python http.server) runs once under `strace -f` and once under
# `runtrail record`; the (operation, target) pairs strace saw must be >= 99% in the bundle.
# A second workload probes files: ls, ls -lR, find, test -e, [ -d ], stat, readlink, and
# tests/recorder/progs/probe_ops (the probe calls directly and through syscall(2), including
# syscall(SYS_openat, ...)); the same >= 99% per pair, with the table per family printed.
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
TRACE=open,openat,creat,unlink,unlinkat,rmdir,rename,renameat,renameat2,mkdir,mkdirat,execve,connect
TRACE=$TRACE,stat,lstat,newfstatat,statx,access,faccessat,faccessat2,readlink,readlinkat,chdir
script="ls | sort > list.txt; cat list.txt | wc -l > count.txt; $PY $WORK $lport $closed; curl -s -o got.txt http://127.0.0.1:$hport/hello.txt; cat got.txt"
mkdir a b
(cd a && timeout 60 strace -f -qq -s 1024 -o ../strace.log \
    -e trace=$TRACE \
    sh -c "$script" >../strace.out 2>&1)
expect_eq "workload under strace ran" 0 "$?"
(cd b && timeout 60 "$RUNTRAIL" record --quiet --store "$T_TMP/st" -- sh -c "$script" >../rec.out 2>&1)
expect_eq "workload under runtrail ran" 0 "$?"
expect_file "same output under strace and runtrail" strace.out rec.out
B=$(find st -name '*.rtb' | head -n 1)
"$RUNTRAIL" show --json "$B" >show.json
python3 "$RT_ROOT/tests/recorder/strace_compare.py" strace.log show.json 0.99 --table >cmp.txt
rc=$?
sed 's/^/# /' cmp.txt
expect_eq "coverage vs strace -f >= 99%" 0 "$rc"
grep -q "of [0-9][0-9]" cmp.txt && _ok "strace saw a meaningful workload" || _notok "strace saw a meaningful workload" "$(cat cmp.txt)"

# ---- probes: ls, find, test -e, stat, readlink and raw syscall(2) ----
PROBE_OPS="$RT_ROOT/$BUILD/tests/recorder/probe_ops"
probes="mkdir -p tree/sub/deep && touch tree/f1 tree/sub/f2 && ln -s f1 tree/lnk && mkdir probe
ls tree >/dev/null; ls -l tree >/dev/null; ls -lR tree >/dev/null; find tree -name 'f*' >/dev/null
test -e tree/f1; test -e tree/missing; [ -d tree/sub ]; /usr/bin/test -e tree/sub/f2
stat tree/f1 >/dev/null; stat tree/nothing 2>/dev/null; readlink tree/lnk >/dev/null
$PROBE_OPS probe"
mkdir c d
(cd c && timeout 60 strace -f -qq -s 1024 -o ../strace2.log -e trace=$TRACE sh -c "$probes" >../strace2.out 2>&1)
expect_eq "probe workload under strace ran" 0 "$?"
(cd d && timeout 60 "$RUNTRAIL" record --quiet --store "$T_TMP/st2" -- sh -c "$probes" >../rec2.out 2>&1)
expect_eq "probe workload under runtrail ran" 0 "$?"
expect_file "probe workload: same output under strace and runtrail" strace2.out rec2.out
B=$(find st2 -name '*.rtb' | head -n 1)
"$RUNTRAIL" show --json "$B" >show2.json
python3 "$RT_ROOT/tests/recorder/strace_compare.py" strace2.log show2.json 0.99 --table >cmp2.txt
rc=$?
sed 's/^/# /' cmp2.txt
expect_eq "probe coverage vs strace -f >= 99%" 0 "$rc"
for fam in stat access readlink chdir open; do
    n=$(sed -n "s/^| $fam | \([0-9]*\) |.*/\1/p" cmp2.txt)
    [ "${n:-0}" -ge 2 ] && _ok "strace saw $fam probes ($n)" || _notok "strace saw $fam probes" "$(cat cmp2.txt)"
done
grep -q '^seen: open link$' <(python3 "$RT_ROOT/tests/recorder/strace_compare.py" strace2.log show2.json 0 -v) &&
    _ok "strace saw the raw syscall(SYS_openat) of link" || _notok "strace saw the raw syscall(SYS_openat) of link" "$(cat cmp2.txt)"
finish
