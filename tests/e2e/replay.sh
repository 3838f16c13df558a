#!/usr/bin/env bash
# `runtrail replay` on real runtimes (the C and Python samples, the demo's thumbnailer), all on
# loopback: benign invocations replay `equivalent` with --net allow (the upstream running) and
# `blocked` with --net deny, naming exactly their recorded destination; other code `differs`
# (and is refused with --code-mismatch=refuse); the demo's environ-exfil attack is blocked and
# its collector receives nothing; the sandbox isolates (a host loopback listener unreachable,
# the task root read-only, /tmp empty at start, the host's /tmp untouched); bad input (no
# payload, no task root, a crashing runtime, a timeout) gets a clear message and exit code.
source "$(dirname "$0")/../lib.sh"
ROOT=$RT_ROOT
RT=$RUNTRAIL
CBOOT=$ROOT/$BUILD/samples/c/bootstrap
export RUNTRAIL_HASH_KEY=replay-e2e-hash-key-0123456789
start_upstream
ST=$T_TMP/store
mkdir -p "$ST"
bundles() { find "$1" -name '*.rtb' ! -name '*shutdown*' | sort; }
verdict() { sed -n 's/^verdict    //p' "$T_TMP/last.out"; }

if ! unshare -Urn true 2>/dev/null; then
    echo "# user namespaces are unavailable here: replay must refuse, except with --net allow"
    RUNTRAIL_STORE=$ST/c "$RT" invoke --task-root "$ROOT/samples/c-bootstrap" --env "$UPSTREAM" \
        --event "$ROOT/samples/events/apigw-proxy.json" -- "$CBOOT" >/dev/null 2>&1
    expect_exit "no namespaces: refused (exit 2)" 2 "$RT" replay "$(bundles "$ST/c" | head -1)"
    expect_grep "no namespaces: the reason is given" "cannot create user" "$T_TMP/last.err"
    finish
    exit
fi

# ---- benign: the C sample (cold and warm) and the Python sample ----
RUNTRAIL_STORE=$ST/c "$RT" invoke --function-name c-sample --task-root "$ROOT/samples/c-bootstrap" \
    --env "$UPSTREAM" --event "$ROOT/samples/events/apigw-proxy.json" \
    --event "$ROOT/samples/events/s3-put.json" -- "$CBOOT" >/dev/null 2>"$T_TMP/invoke.err"
cp -r "$ROOT/samples/python" "$T_TMP/py" && python3 -m compileall -q "$T_TMP/py" >/dev/null
RUNTRAIL_STORE=$ST/py "$RT" invoke --function-name py-sample --task-root "$T_TMP/py" \
    --handler app.handler --env "$UPSTREAM" --event "$ROOT/samples/events/sqs-batch.json" \
    --event "$ROOT/samples/events/sqs-batch.json" -- python3 "$ROOT/samples/python/bootstrap.py" \
    >/dev/null 2>>"$T_TMP/invoke.err"
mapfile -t benign < <(bundles "$ST/c"; bundles "$ST/py")
expect_eq "four benign invocations recorded" 4 "${#benign[@]}"
n=0
for b in "${benign[@]}"; do
    n=$((n + 1))
    expect_exit "benign $n: --net allow replays equivalent (exit 0)" 0 \
        "$RT" replay "$b" --net allow --env "$UPSTREAM"
    expect_eq "benign $n: verdict equivalent" equivalent "$(verdict)"
done
expect_grep "the upstream's value is checked against the recorded keyed hash" \
    "env SAMPLE_UPSTREAM_URL matches the recording" "$T_TMP/last.err"
expect_exit "benign: --net deny is blocked (exit 1)" 1 \
    "$RT" replay "${benign[0]}" --env "$UPSTREAM" --json
python3 - "$T_TMP/last.out" "127.0.0.1:$UP_PORT" >"$T_TMP/deny.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(d["verdict"], d["sandboxed"], sorted({b["destination"] for b in d["blocked"]}) == [sys.argv[2]])
EOF
expect_eq "benign: blocked, sandboxed, naming exactly the recorded upstream" "blocked True True" \
    "$(cat "$T_TMP/deny.txt")"
expect_exit "a wrong value is reported as differing" 1 \
    "$RT" replay "${benign[0]}" --env SAMPLE_UPSTREAM_URL=http://127.0.0.1:9/x
expect_grep "the differing variable is named" "env SAMPLE_UPSTREAM_URL differs from the recording" \
    "$T_TMP/last.err"
expect_exit "a hashed variable not given is listed as missing" 1 "$RT" replay "${benign[0]}"
expect_grep "missing variable named" "env SAMPLE_UPSTREAM_URL: missing" "$T_TMP/last.err"

# ---- from the catalog ----
"$RT" index "$ST/c" >/dev/null 2>&1
rid=$("$RT" show "${benign[1]}" | sed -n 's/^request *//p')
expect_exit "--request-id from the catalog: equivalent (exit 0)" 0 \
    "$RT" replay --request-id "$rid" --net allow --env "$UPSTREAM" --json
expect_eq "--request-id: the catalog's bundle was replayed" "${benign[1]}" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["original"])' "$T_TMP/last.out")"

# ---- --repeat, --keep, --wrap, META replay_of ----
expect_exit "--repeat 2: both equivalent (exit 0)" 0 \
    "$RT" replay "${benign[0]}" --net allow --env "$UPSTREAM" --repeat 2
expect_grep "--repeat 2: counted" "^repeat     2 of 2 equivalent" "$T_TMP/last.out"
expect_exit "--keep --wrap strace: runs, and differs (the tracer joins the process tree)" 1 \
    "$RT" replay "${benign[0]}" --net allow \
    --env "$UPSTREAM" --keep --wrap "strace -f -qq -e trace=execve -o /tmp/strace.txt"
expect_grep "--wrap: strace is named in the differences" "strace" "$T_TMP/last.out"
kept=$(sed -n 's/^replay bundle //p' "$T_TMP/last.out")
check "--keep: the replay's bundle is kept" test -f "$kept"
check "--wrap: the tracer ran in the sandbox (its output in the kept /tmp)" \
    grep -q "execve(" "${kept%%/store/*}/tmp/strace.txt"
orig_digest=$("$RT" show "${benign[0]}" | sed -n 's/^digest *//p')
"$RT" show "$kept" >"$T_TMP/kept.txt"
expect_grep "the replay's bundle says which bundle it replays (META replay_of)" \
    "^replay of +[0-9a-f-]{36} $orig_digest\$" "$T_TMP/kept.txt"
rm -rf "${kept%%/1/store/*}"

# ---- other code ----
cp -r "$ROOT/samples/c-bootstrap" "$T_TMP/c2" && echo "changed" >>"$T_TMP/c2/config.json"
expect_exit "other code: differs (exit 1)" 1 \
    "$RT" replay "${benign[0]}" --net allow --env "$UPSTREAM" --task-root "$T_TMP/c2"
expect_eq "other code: verdict differs, says the code differed" \
    "differs (the code differed)" "$(verdict)"
expect_grep "other code: the CODE digest is named in the diff" "code\.task_root" "$T_TMP/last.out"
expect_exit "other code with --code-mismatch=refuse: exit 2" 2 \
    "$RT" replay "${benign[0]}" --task-root "$T_TMP/c2" --code-mismatch=refuse
expect_grep "refusal explained" "the code differs: task root" "$T_TMP/last.err"

# ---- the demo's attack: environ-exfil to a collector on the host's loopback ----
cp -r "$ROOT/samples/incident" "$T_TMP/thumb"
CP=$(free_port)
python3 "$ROOT/samples/incident/collector.py" "$CP" "$T_TMP/collector.log" &
PIDS+=($!)
wait_port "$CP"
python3 "$ROOT/samples/attacks/events.py" attack environ-exfil "$CP" >"$T_TMP/attack.json"
RUNTRAIL_STORE=$ST/attack "$RT" invoke --function-name thumbnailer --task-root "$T_TMP/thumb" \
    --handler app.handler --event "$T_TMP/attack.json" -- \
    python3 "$ROOT/samples/python/bootstrap.py" >/dev/null 2>>"$T_TMP/invoke.err"
expect_eq "attack recorded: the collector received it once" 1 "$(wc -l <"$T_TMP/collector.log")"
attack=$(bundles "$ST/attack" | head -1)
expect_exit "attack, --net deny: blocked (exit 1)" 1 "$RT" replay "$attack"
expect_eq "attack, --net deny: verdict blocked" blocked "$(verdict)"
expect_grep "attack: the collector's address is named as denied" "denied 127\.0\.0\.1:$CP " \
    "$T_TMP/last.out"
expect_eq "attack: the collector received nothing more" 1 "$(wc -l <"$T_TMP/collector.log")"
expect_exit "attack, --net sinkhole: blocked (exit 1)" 1 "$RT" replay "$attack" --net sinkhole
expect_grep "sinkhole: the request line and the first bytes sent (the environment dump)" \
    "^  sinkholed 127\.0\.0\.1:$CP  POST /c HTTP/1\.1 \([0-9]+ bytes: [A-Z_]+=.*\\\\x00" \
    "$T_TMP/last.out"
expect_eq "sinkhole: the collector still received nothing more" 1 \
    "$(wc -l <"$T_TMP/collector.log")"

# ---- isolation: a handler that probes its sandbox ----
ISO=$(mktemp -d "$ROOT/$BUILD/replay-iso.XXXXXX")
HP=$(free_port)
python3 -m http.server -b 127.0.0.1 "$HP" -d "$T_TMP/www" >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$HP"
cat >"$ISO/probe.py" <<'EOF'
import json, os, socket

def handler(event, context):
    out = {"tmp": sorted(os.listdir("/tmp"))}
    try:
        socket.create_connection(("127.0.0.1", int(event["port"])), timeout=2).close()
        out["connect"] = "ok"
    except OSError as e:
        out["connect"] = type(e).__name__
    try:
        with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "written.txt"), "w") as f:
            f.write("x")
        os.unlink(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "written.txt"))
        out["write"] = "ok"
    except OSError as e:
        out["write"] = e.strerror
    with open("/tmp/" + event["marker"], "w") as f:
        f.write("inside")
    out["fn"] = context.function_name
    out["arn"] = context.invoked_function_arn
    out["mem"] = context.memory_limit_in_mb
    return out
EOF
MARK=replay-marker-$$-$RANDOM
echo "{\"port\": $HP, \"marker\": \"$MARK\"}" >"$T_TMP/probe.json"
RUNTRAIL_STORE=$ST/iso "$RT" invoke --function-name prober --memory 256 --task-root "$ISO" \
    --handler probe.handler --event "$T_TMP/probe.json" -- \
    python3 "$ROOT/samples/python/bootstrap.py" >"$T_TMP/iso-orig.out" 2>>"$T_TMP/invoke.err"
rm -f "/tmp/$MARK" # the recording ran unsandboxed: its marker is not the replay's
expect_grep "isolation: the original reached the host listener" '"connect": ?"ok"' \
    "$T_TMP/iso-orig.out"
expect_exit "isolation: the replay runs (exit 1: it differs)" 1 \
    "$RT" replay "$(bundles "$ST/iso" | head -1)" --json
python3 - "$T_TMP/last.out" >"$T_TMP/iso.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = json.loads(d["response"])
print(r["connect"], "|", r["write"], "|", r["tmp"], "|", r["fn"], r["mem"], r["arn"].endswith(":prober"))
EOF
expect_eq "isolation: host listener unreachable, task root read-only, /tmp empty, context kept" \
    "ConnectionRefusedError | Read-only file system | [] | prober 256 True" "$(cat "$T_TMP/iso.txt")"
check "isolation: the host's /tmp is untouched" test ! -e "/tmp/$MARK"
rm -rf "$ISO"

# ---- bad input ----
RUNTRAIL_STORE=$ST/nopayload "$RT" invoke --task-root "$ROOT/samples/c-bootstrap" \
    --env RUNTRAIL_PAYLOAD=none --event "$ROOT/samples/events/s3-put.json" -- "$CBOOT" \
    >/dev/null 2>>"$T_TMP/invoke.err"
nop=$(bundles "$ST/nopayload" | head -1)
expect_exit "no payload: exit 2" 2 "$RT" replay "$nop"
expect_grep "no payload: explained" "has no payload to replay .* --event FILE" "$T_TMP/last.err"
expect_exit "no payload, --event given: runs (approximate)" 1 "$RT" replay "$nop" --net allow \
    --event "$ROOT/samples/events/s3-put.json"
expect_grep "no payload, --event: the verdict is approximate" "^verdict .*\(approximate\)" \
    "$T_TMP/last.out"
expect_exit "missing task root: exit 2" 2 "$RT" replay "${benign[0]}" --task-root "$T_TMP/nope"
expect_grep "missing task root: named" "--task-root .*/nope: No such file" "$T_TMP/last.err"
expect_exit "crashing runtime: exit 1" 1 "$RT" replay "${benign[0]}" -- /bin/false
expect_grep "crashing runtime: status crash" "^status     crash" "$T_TMP/last.out"
# The handler sleeps 2 s: within the default 3 s budget it would answer; only the recorded
# 0.5 s budget makes it time out.
RUNTRAIL_STORE=$ST/slow "$RT" invoke --task-root "$ROOT/samples/c-bootstrap" --timeout 0.5 \
    --event <(echo '{"sleep_ms": 2000}') -- "$CBOOT" >/dev/null 2>>"$T_TMP/invoke.err"
expect_exit "timeout: replayed (exit 0: it timed out as recorded)" 0 \
    "$RT" replay "$(bundles "$ST/slow" | head -1)" --net allow
expect_grep "timeout: status timeout, so the recorded 0.5 s budget was applied" \
    "^status     timeout" "$T_TMP/last.out"
expect_exit "a bundle that does not exist: exit 2" 2 "$RT" replay "$T_TMP/none.rtb"
finish
