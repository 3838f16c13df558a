#!/usr/bin/env bash
# /proc sampling of what the interposer cannot enter (issue 12, item 3), or was kept out of. A Go custom runtime
# (tests/e2e/sampled/runtime.go, standard library only, CGO_ENABLED=0: statically linked, its
# own system calls) and a `gcc -static` child of a Python handler
# (tests/recorder/progs/static_probe.c) open a file and connect to a local listener while the
# extension samples /proc: each invocation's bundle shows the program, the file and the
# connection flagged `sampled`, says coverage `partial`, and `ls` FLAGS says `sampled`.
# Each program holds its file and connection 3 s so that a sample (every 5 ms, at nice 19)
# lands on it even on a loaded machine.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_CACHE="$T_TMP/cache"
PROGS="$RT_ROOT/$BUILD/tests/recorder"
HERE="$RT_ROOT/tests/e2e/sampled"
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T_TMP"; }
trap cleanup EXIT
if ! command -v go >/dev/null; then echo "# go unavailable: skipping"; finish; exit $?; fi
port=$(free_port)
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept(); c.recv(1)' "$port" &
srv=$!
echo "sampled data" >"$T_TMP/data.txt"
echo '{}' >"$T_TMP/e.json"

# events_of BUNDLE: "op|args|flags" per event
events_of() {
    "$RUNTRAIL" show --json "$1" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r.get("record") == "event":
        print(r["op"], json.dumps(r.get("args", {}), sort_keys=True), ",".join(r.get("flags", [])), sep="|")'
}
# py_invoke NAME EVENT [OPTION...]: runtrail invoke of the Python handler (app.py) with EVENT
# and the options; its answers in NAME.out, the last invocation's bundle in $b, its events in
# NAME.ev
py_invoke() {
    local name=$1 event=$2
    shift 2
    "$RUNTRAIL" invoke --store "$T_TMP/st-$name" --function-name "$name" --timeout 10 \
        --task-root "$HERE" --handler app.handler --event "$event" "$@" \
        -- python3 "$RT_ROOT/samples/python/bootstrap.py" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
    b=$(find "$T_TMP/st-$name" -name '*.rtb' ! -name '*-shutdown.rtb' | sort | tail -n 1)
    events_of "$b" >"$T_TMP/$name.ev"
}
uncovered_of() { "$RUNTRAIL" show --json "$1" | head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"].get("runtime_uncovered", 0))'; }
coverage_of() { "$RUNTRAIL" show --json "$1" | head -n 1 | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["coverage"]))'; }

# ---- a Go runtime (built offline: standard library only) ----
mkdir -p "$T_TMP/go"
(cd "$HERE" && CGO_ENABLED=0 GOCACHE="$RT_ROOT/$BUILD/go-cache" GOPATH="$T_TMP/go" GOPROXY=off \
    GOTOOLCHAIN=local GO111MODULE=off GOFLAGS= go build -o "$T_TMP/go/runtime" runtime.go)
expect_eq "the Go runtime builds offline" 0 "$?"
"$RUNTRAIL" invoke --store "$T_TMP/st-go" --function-name go-rt --timeout 10 \
    --env SAMPLED_FILE="$T_TMP/data.txt" --env SAMPLED_PEER="127.0.0.1:$port" \
    --env SAMPLED_HOLD_MS=3000 --env SAMPLED_CHILD=/bin/true \
    --event "$T_TMP/e.json" --event "$T_TMP/e.json" -- "$T_TMP/go/runtime" >"$T_TMP/go.out" 2>"$T_TMP/go.err"
expect_eq "Go runtime: two answers" 2 "$(grep -c '^{"ok":true}$' "$T_TMP/go.out")"
n=0 first=1
for b in $(ls "$(dirname "$(find "$T_TMP/st-go" -name '*.rtb' | head -n 1)")"/*.rtb | sort); do
    case "$b" in *-shutdown.rtb) continue ;; esac
    n=$((n + 1))
    events_of "$b" >"$T_TMP/go$n.ev"
    if [ $first = 1 ]; then
        expect_grep "Go runtime: the program, sampled (first bundle)" \
            "^proc_start\|{\"argv\": \[\"$T_TMP/go/runtime\"\], \"exe\": \"$T_TMP/go/runtime\", \"ppid\": [0-9]+}\|(.*,)?sampled" "$T_TMP/go$n.ev"
        first=0
    fi
    expect_grep "Go runtime: invocation $n: the file it read, sampled" \
        "^openat\|\{\"dirfd\": -100, \"flags\": 524288, \"mode\": 0, \"path\": \"$T_TMP/data.txt\"\}\|sampled$" "$T_TMP/go$n.ev"
    expect_grep "Go runtime: invocation $n: the connection, sampled" \
        "^connect\|\{\"addr\": \"127.0.0.1:$port\", \"fd\": [0-9]+\}\|sampled$" "$T_TMP/go$n.ev"
    expect_grep "Go runtime: invocation $n: its child records itself (the interposer is in /bin/true)" \
        '^proc_start\|\{"argv": \["/bin/true"\].*\|$' "$T_TMP/go$n.ev"
    expect_eq "Go runtime: invocation $n: coverage partial" 1 "$(coverage_of "$b" | grep -c partial)"
    expect_eq "Go runtime: invocation $n: runtime_uncovered 1 (its sampled start does not count as the interposer)" \
        1 "$(uncovered_of "$b")"
done
expect_eq "Go runtime: two invocation bundles" 2 "$n"
"$RUNTRAIL" ls --function go-rt --json >"$T_TMP/go.ls"
expect_eq "Go runtime: ls FLAGS says sampled on both invocations" 2 \
    "$(python3 -c 'import json,sys; print(sum("sampled" in json.loads(l)["flags"].split(",") for l in sys.stdin if json.loads(l)["request_id"] != "shutdown"))' <"$T_TMP/go.ls")"

# ---- a gcc -static child of a Python handler ----
# The sampler runs at nice 19: on a machine busy with other work (CI runs two scripts and the
# sanitizers at once) a pass can take most of a second, so the child holds its connection 3 s.
printf '{"file": "%s", "port": %s, "count": 1, "hold_ms": 3000}\n' "$T_TMP/data.txt" "$port" >"$T_TMP/s.json"
py_invoke static "$T_TMP/s.json" --env STATIC_PROBE="$PROGS/static_probe"
expect_grep "static child: it made its connection" '"made": *1' "$T_TMP/static.out"
expect_grep "static child: the exec its parent recorded, not_covered" \
    "^execve\|.*\"path\": \"$PROGS/static_probe\"\}\|.*not_covered" "$T_TMP/static.ev"
expect_grep "static child: the program and its arguments, sampled" \
    "^proc_start\|\{\"argv\": \[\"$PROGS/static_probe\", \"$T_TMP/data.txt\", \"$port\", \"1\", \"3000\"\], \"exe\": \"$PROGS/static_probe\", \"ppid\": [0-9]+\}\|not_covered,sampled$" "$T_TMP/static.ev"
expect_grep "static child: the file, sampled" \
    "^openat\|\{\"dirfd\": -100, \"flags\": 0, \"mode\": 0, \"path\": \"$T_TMP/data.txt\"\}\|sampled$" "$T_TMP/static.ev"
expect_grep "static child: the connection, sampled" \
    "^connect\|\{\"addr\": \"127.0.0.1:$port\", \"fd\": [0-9]+\}\|sampled$" "$T_TMP/static.ev"
expect_eq "static child: coverage partial" 1 "$(coverage_of "$b" | grep -c partial)"

# A dynamic child started with an empty environment (subprocess.run(env={})) runs without the
# interposer, as it asked: its exec says not_covered, and the sampler shows what it held open.
printf '{"file": "%s", "port": %s, "hold_ms": 3000, "clean_env": true}\n' "$T_TMP/data.txt" "$port" >"$T_TMP/clean.json"
py_invoke clean "$T_TMP/clean.json"
expect_grep "clean environment: the child made its connection" '"made": *1' "$T_TMP/clean.out"
expect_grep "clean environment: the exec its parent recorded, not_covered" \
    '^execve\|\{"argv": \["/[^"]*python3[^"]*", "-c", .*\|.*not_covered' "$T_TMP/clean.ev"
expect_grep "clean environment: the program, sampled" \
    '^proc_start\|\{"argv": \["/[^"]*python3[^"]*", "-c", .*\|(.*,)?sampled$' "$T_TMP/clean.ev"
expect_grep "clean environment: the file, sampled" \
    "^openat\|\{\"dirfd\": -100, \"flags\": 524288, \"mode\": 0, \"path\": \"$T_TMP/data.txt\"\}\|sampled$" "$T_TMP/clean.ev"
expect_grep "clean environment: the connection, sampled" \
    "^connect\|\{\"addr\": \"127.0.0.1:$port\", \"fd\": [0-9]+\}\|sampled$" "$T_TMP/clean.ev"
expect_eq "clean environment: the runtime itself is not sampled (it records itself)" 0 \
    "$(grep -c '^proc_start|{"argv": \["python3", ".*bootstrap.py"\].*sampled' "$T_TMP/clean.ev")"

# The same child forked first and exec'd 300 ms later: the sampler's walks meanwhile see the
# runtime's program with the interposer in its environment, and the exec keeps that program's
# path, so what the walks concluded before it must not stand after it.
printf '{"file": "%s", "port": %s, "hold_ms": 2000, "late_exec": 300}\n' "$T_TMP/data.txt" "$port" >"$T_TMP/late.json"
py_invoke late "$T_TMP/late.json"
expect_grep "late exec: the child made its connection" '"made": *1' "$T_TMP/late.out"
expect_grep "late exec: the program, sampled" \
    '^proc_start\|\{"argv": \["/[^"]*python3[^"]*", "-c", .*\|(.*,)?sampled$' "$T_TMP/late.ev"
expect_grep "late exec: the connection, sampled" \
    "^connect\|\{\"addr\": \"127.0.0.1:$port\", \"fd\": [0-9]+\}\|sampled$" "$T_TMP/late.ev"

# The function writes another live process's pid (here a sleep outside the sandbox) into
# runtime.pid, then starts the static child in the next invocation: the sampler stays on the
# runtime's tree and still sees the child's connection.
sleep 60 &
decoy=$!
printf '{"plant_pid": %s}\n' "$decoy" >"$T_TMP/plant.json"
mkdir -p "$T_TMP/run-plant"
py_invoke plant "$T_TMP/plant.json" --event "$T_TMP/s.json" --env STATIC_PROBE="$PROGS/static_probe" \
    --env RUNTRAIL_RUN_DIR="$T_TMP/run-plant"
kill "$decoy" 2>/dev/null
expect_eq "planted runtime.pid: the pid written, then the connection made" "1 1" \
    "$(grep -c "\"planted\": *$decoy" "$T_TMP/plant.out") $(grep -c '"made": *1' "$T_TMP/plant.out")"
expect_grep "planted runtime.pid: the static child's connection is still sampled" \
    "^connect\|\{\"addr\": \"127.0.0.1:$port\", \"fd\": [0-9]+\}\|sampled$" "$T_TMP/plant.ev"
finish
