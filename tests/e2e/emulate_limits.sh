#!/usr/bin/env bash
# `runtrail emulate` under load it did not ask for (loopback only, bounded): 300 idle client
# connections no longer starve it — past the connection limit they are closed at once, the
# others after --idle-timeout, and a real invocation then answers; requests waiting for their
# turn hold no event body in memory (4 waiting 6 MB events add well under one event to the
# server's resident memory).
source "$(dirname "$0")/../lib.sh"
C_BOOTSTRAP=$RT_ROOT/$BUILD/samples/c/bootstrap
PORT=$(free_port)
URL="http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations"
"$RUNTRAIL" emulate --no-record --listen "127.0.0.1:$PORT" --idle-timeout 2 --timeout 20 \
    --task-root "$RT_ROOT/samples/c-bootstrap" -- "$C_BOOTSTRAP" 2>"$T_TMP/em.err" &
EM=$!
PIDS+=($EM)
for _ in $(seq 100); do grep -q listening "$T_TMP/em.err" 2>/dev/null && break; sleep 0.1; done

# --- idle connections ---
python3 - "$PORT" "$T_TMP/idle" <<'EOF' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
socks = []
for _ in range(300):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    socks.append(s)
open(out + ".ready", "w").close()
def closed():
    n = 0
    for s in socks:
        try:
            n += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            n += 1
    return n
time.sleep(1.0)
first = closed()
deadline = time.time() + 15
while time.time() < deadline and closed() < len(socks):
    time.sleep(0.2)
with open(out, "w") as f:
    f.write("%d %d\n" % (first, closed()))
time.sleep(30)  # keep the sockets open while the invocation is tried
EOF
IDLE=$!
PIDS+=($IDLE)
for _ in $(seq 200); do [ -e "$T_TMP/idle.ready" ] && break; sleep 0.1; done
t0=$(date +%s%N) # every connection slot is taken by an idle client now
ok=no
for _ in $(seq 60); do
    if curl -s --max-time 5 -d '{}' "$URL" 2>/dev/null | grep -q '"runtime":"c"'; then ok=yes; break; fi
    sleep 0.25
done
t1=$(date +%s%N)
for _ in $(seq 200); do [ -s "$T_TMP/idle" ] && break; sleep 0.1; done
read -r first all <"$T_TMP/idle"
expect_eq "300 idle connections: past the limit of 64 they are closed within a second" yes \
    "$([ "${first:-0}" -ge 236 ] && echo yes)"
expect_eq "... and every idle one within the idle timeout (2 s) + slack" 300 "${all:-0}"
expect_eq "an invocation is served while they are held open (not starved)" yes "$ok"
ms=$(((t1 - t0) / 1000000))
echo "# the invocation answered after $ms ms (idle timeout 2000 ms)"
expect_eq "... within 10 s" yes "$([ "$ms" -lt 10000 ] && echo yes)"
kill "$IDLE" 2>/dev/null

# --- memory of waiting requests ---
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$EM/status"; }
python3 -c 'import sys; sys.stdout.write("{\"pad\":\"" + "x" * 6000000 + "\"}")' >"$T_TMP/big.json"
curl -s --max-time 30 -d '{"sleep_ms":4000}' "$URL" >"$T_TMP/slow.out" &
SLOW=$!
sleep 0.5
before=$(rss_kb)
for i in 1 2 3 4; do
    curl -s --max-time 60 --data-binary @"$T_TMP/big.json" "$URL" >"$T_TMP/big$i.out" &
    PIDS+=($!)
done
sleep 2
during=$(rss_kb)
grow=$(((during - before) / 1024))
echo "# emulate RSS: $before kB before, $during kB with 4 waiting 6 MB events (+$grow MB)"
expect_eq "4 waiting 6 MB events add under 6 MB of resident memory (they are not read yet)" yes \
    "$([ "$grow" -lt 6 ] && echo yes)"
wait "$SLOW"
for _ in $(seq 300); do
    n=0
    for i in 1 2 3 4; do grep -q '"runtime":"c"' "$T_TMP/big$i.out" 2>/dev/null && n=$((n + 1)); done
    [ "$n" -eq 4 ] && break
    sleep 0.1
done
expect_eq "then each 6 MB event is served in turn" 4 "$n"
kill -TERM "$EM"
wait "$EM"
expect_eq "emulate stops cleanly" 0 "$?"
finish
