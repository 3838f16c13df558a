#!/usr/bin/env bash
# Records the attack suite (README.md) into OUT: the benign corpus of the thumbnailer (a copy of
# samples/incident in OUT/task) in two stores, OUT/store-learn (to learn a baseline from) and
# OUT/store-holdout (to check: no finding expected), and each attack into its own store,
# OUT/store-<scenario>. The attacker's listeners run on loopback for the duration only.
# Usage: samples/attacks/run.sh OUT [LEARN HOLDOUT]   (default 160 and 80 benign invocations)
# RUNTRAIL (default build/bin/runtrail) is the binary. Prints one line per step.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
RT=${RUNTRAIL:-$root/build/bin/runtrail}
out=${1:?usage: run.sh OUT [LEARN HOLDOUT]}
learn=${2:-160} holdout=${3:-80}
mkdir -p "$out/events" "$out/logs"
out=$(cd "$out" && pwd)
ev="$root/samples/attacks/events.py" lis="$root/samples/attacks/listeners.py"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_tcp() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

rm -rf "$out/task" && cp -r "$root/samples/incident" "$out/task"
invoke() { # STORE EVENT...: one runtime process per 60 events (invoke takes at most 64)
    local store=$1 args=()
    shift
    while [ $# -gt 0 ]; do
        args=()
        for e in "${@:1:60}"; do args+=(--event "$e"); done
        shift $((${#args[@]} / 2))
        RUNTRAIL_STORE="$store" "$RT" invoke --function-name thumbnailer --task-root "$out/task" \
            --handler app.handler "${args[@]}" -- python3 "$root/samples/python/bootstrap.py" \
            >>"$out/logs/responses" 2>>"$out/logs/invoke.err" ||
            { echo "runtrail invoke failed: $(tail -2 "$out/logs/invoke.err")" >&2; return 1; }
    done
}

python3 "$ev" corpus "$out/events" $((learn + holdout))
mapfile -t all < <(ls "$out/events"/benign-*.json)
echo "benign: recording $learn invocations to learn from, $holdout held out"
invoke "$out/store-learn" "${all[@]:0:learn}"
invoke "$out/store-holdout" "${all[@]:learn:holdout}"

attack() { # NAME ARG...: writes the event and records it
    local name=$1
    shift
    python3 "$ev" attack "$name" "$@" >"$out/events/attack-$name.json"
    echo "attack: $name"
    invoke "$out/store-$name" "$out/events/attack-$name.json"
}

p=$(port); python3 "$root/samples/incident/collector.py" "$p" "$out/logs/collector.log" & pids+=($!)
wait_tcp "$p"; echo "$p" >"$out/logs/collector.port"
attack environ-exfil "$p"

p=$(port); python3 "$lis" dropper "$p" "$out/logs/dropper.log" & pids+=($!)
wait_tcp "$p"; echo "$p" >"$out/logs/dropper.port"
drop=$(mktemp -u /tmp/.cache-upd.XXXXXX); echo "$drop" >"$out/logs/dropper.file"
attack dropper "$p" "$drop"
rm -f "$drop"

p=$(port); python3 "$lis" shell "$p" "$out/logs/shell.log" & pids+=($!)
wait_tcp "$p"; echo "$p" >"$out/logs/shell.port"
attack reverse-shell "$p"

p=$(port); echo "$p" >"$out/logs/listen.port"
attack listen "$p"

# DNS: a listener on port 53 of a random 127/8 address (needs the right to bind port 53; the
# scenario is skipped, and says so, without it). Never a real resolver.
addr="127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
python3 "$lis" dns "$addr" "$out/logs/dns.log" 2>"$out/logs/dns.err" & dnspid=$!
pids+=($dnspid)
sleep 0.3
if kill -0 "$dnspid" 2>/dev/null; then
    echo "$addr" >"$out/logs/dns.addr"
    attack dns-exfil "$addr"
else
    echo "attack: dns-exfil skipped: cannot listen on $addr:53/udp ($(tail -1 "$out/logs/dns.err"))"
fi

p=$(port); python3 "$lis" aws "$p" "$out/logs/aws.log" & pids+=($!)
wait_tcp "$p"; echo "$p" >"$out/logs/aws.port"
attack aws-calls "$p" 60

# Code tampering: the handler in the task root gains a line between invocations (same function
# version, same configuration), then a normal request runs it.
printf '\n# added by the attacker\nimport urllib.request as _u  # noqa\n' >>"$out/task/app.py"
attack code-tamper
