#!/usr/bin/env bash
# What a new user of `runtrail invoke` / `emulate` meets, recorded by the real extension:
# the handler's printed lines in its bundle (Telemetry API -> LOGS), an init crash and an
# init/error sealed under the request that waited for them, a cancelled invocation that is
# `error (Runtrail.Cancelled)` in invoke and in ls alike, Lambda's environment instead of the
# host's (--inherit-env for the rest), relative runtime paths read in the current folder, and
# a store that refuses bundles (dead endpoint, fake credentials) made loud with exit 3 while
# s3rver with real credentials takes them.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
ROOT=$RT_ROOT
RIC=$ROOT/node_modules/aws-lambda-ric/index.mjs
export XDG_CACHE_HOME="$T_TMP/cache"
FACTS="python3 $ROOT/tests/extension/facts.py"
mkdir -p "$T_TMP/fn"

# A shell runtime: prints at init, then for each invocation prints a line and answers; with
# $MODE it crashes in its init, posts init/error, hangs in the handler, prints a line after
# its answer too (tail), or answers with the names of the extension's threads (threads).
cat >"$T_TMP/fn/runtime.sh" <<'EOF'
#!/bin/sh
api=$AWS_LAMBDA_RUNTIME_API
echo "init line $SENTINEL"
case "$MODE" in
crash) cat "$MARKER" >/dev/null; echo "going down $SENTINEL" >&2; exit 3 ;;
initerror)
    curl -sS -o /dev/null -H 'Lambda-Runtime-Function-Error-Type: Sample.InitBoom' \
        -d '{"errorMessage":"bad config","errorType":"Sample.InitBoom"}' \
        "http://$api/2018-06-01/runtime/init/error"
    sleep 5; exit 0 ;;
env) env >"$ENV_OUT" ;;
esac
while :; do
    h=$(mktemp)
    curl -sS -D "$h" -o /dev/null "http://$api/2018-06-01/runtime/invocation/next" || exit 0
    id=$(tr -d '\r' <"$h" | awk 'tolower($1)=="lambda-runtime-aws-request-id:" {print $2}')
    rm -f "$h"
    echo "handler line $SENTINEL for $id"
    if [ "$MODE" = hang ]; then touch "$MARKER"; sleep 30; fi
    if [ "$MODE" = threads ]; then
        names=$(for p in /proc/[0-9]*; do
            case "$(readlink "$p/exe" 2>/dev/null)" in */extensions/runtrail) cat "$p"/task/*/comm ;; esac
        done 2>/dev/null | sort -u | paste -sd' ')
        curl -sS -o /dev/null -d "\"$names\"" "http://$api/2018-06-01/runtime/invocation/$id/response"
        continue
    fi
    curl -sS -o /dev/null -d '"done"' "http://$api/2018-06-01/runtime/invocation/$id/response"
    if [ "$MODE" = tail ]; then echo "tail line $SENTINEL for $id"; fi
done
EOF
chmod +x "$T_TMP/fn/runtime.sh"
only_bundle() { find "$1" -name '*.rtb' | sort; }

# --- item 14: the handler's printed line is in its bundle (shell, Node on aws-lambda-ric) ---
"$RUNTRAIL" invoke --store "$T_TMP/s-print" --env SENTINEL=S14-7f3a --repeat 2 \
    --report "$T_TMP/print.report" -- "$T_TMP/fn/runtime.sh" >"$T_TMP/print.out" 2>"$T_TMP/print.err"
expect_eq "printing runtime: both invocations answer" '"done","done"' "$(paste -sd, "$T_TMP/print.out")"
expect_grep "the output still reaches stderr" "handler line S14-7f3a" "$T_TMP/print.err"
id2=$(sed -n 2p "$T_TMP/print.report" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requestId"])')
b2=$(find "$T_TMP/s-print" -name "*-$id2.rtb")
"$RUNTRAIL" show "$b2" >"$T_TMP/show2.txt"
expect_grep "show of the 2nd bundle: its handler's line, in its timeline" \
    "^\+[0-9.]+ms +stdout +\"handler line S14-7f3a for $id2\"" "$T_TMP/show2.txt"
expect_no_grep "show of the 2nd bundle: not the 1st invocation's line, nor the init's" \
    "init line|handler line S14-7f3a for [0-9a-f-]{36}\"" \
    <(grep -v "$id2" "$T_TMP/show2.txt")
id1=$(sed -n 1p "$T_TMP/print.report" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requestId"])')
"$RUNTRAIL" show "$(find "$T_TMP/s-print" -name "*-$id1.rtb")" >"$T_TMP/show1.txt"
expect_grep "cold-start bundle: the init's line, before the start" \
    '^-[0-9.]+ms +stdout +"init line S14-7f3a"' "$T_TMP/show1.txt"

# A --layer folder holding another build of the recorder layer replaces the built one, as a
# later layer's files replace an earlier one's in Lambda's /opt: one extension, no second one
# failing to register beside it.
cp -r "$RT_ROOT/$BUILD/layer" "$T_TMP/other-layer"
"$RUNTRAIL" invoke --store "$T_TMP/s-other" --layer "$T_TMP/other-layer" --repeat 2 \
    -- "$T_TMP/fn/runtime.sh" >/dev/null 2>"$T_TMP/other.err"
expect_no_grep "the recorder layer given again as --layer: no second extension" \
    "cannot register|is in use" "$T_TMP/other.err"
expect_eq "... and each invocation is recorded once (2 bundles and the shutdown's)" 3 \
    "$(only_bundle "$T_TMP/s-other" | wc -l)"

# What recording cost beside the function, in every bundle: the extension's CPU since the
# previous bundle (META recorder_cpu_ns), in show, show --json and export's recorder_cpu_ms.
expect_grep "show: the recorder line says the extension's CPU since the previous bundle" \
    '^recorder +0\.[0-9.]+ +coverage preload proxy +cpu [0-9]+\.[0-9]{3}ms$' "$T_TMP/show1.txt"
"$RUNTRAIL" export --format jsonl "$T_TMP/s-print" >"$T_TMP/print.jsonl"
expect_eq "export: recorder_cpu_ms of the 3 bundles (2 invocations, shutdown) > 0, equal to show --json's" \
    "3 3" "$(python3 - "$T_TMP/print.jsonl" "$RUNTRAIL" <<'PY'
import json, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = 0
for r in rows:
    meta = json.loads(subprocess.run([sys.argv[2], "show", "--json", r["bundle"]],
                                     capture_output=True, text=True).stdout.splitlines()[0])
    ok += r["recorder_cpu_ms"] > 0 and abs(r["recorder_cpu_ms"] * 1e6 - meta["recorder_cpu_ns"]) < 1
print(len(rows), ok)
PY
)"

if [ -f "$RIC" ]; then
    mkdir -p "$T_TMP/node"
    cat >"$T_TMP/node/print.mjs" <<'EOF'
export const handler = async (event) => {
    console.log("node says " + event.word);
    return { ok: true };
};
EOF
    echo '{"word":"N14-b2c9"}' >"$T_TMP/word.json"
    "$RUNTRAIL" invoke --store "$T_TMP/s-node" --task-root "$T_TMP/node" --handler print.handler \
        --timeout 20 --event "$T_TMP/word.json" --report "$T_TMP/node.report" -- node "$RIC" \
        >"$T_TMP/node.out" 2>"$T_TMP/node.err"
    nid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["requestId"])' <"$T_TMP/node.report")
    "$RUNTRAIL" show "$(find "$T_TMP/s-node" -name "*-$nid.rtb")" --kind log >"$T_TMP/node.show"
    expect_grep "Node (aws-lambda-ric console.log): the line, with its request id, in show --kind log" \
        "stdout +\".*$nid.*INFO.*node says N14-b2c9" "$T_TMP/node.show"
else
    _notok "node_modules/aws-lambda-ric is missing (make test-deps)"
fi

# --- item 13: an init crash is the waiting request's bundle, status crash, with the init ---
echo marker >"$T_TMP/init-marker"
expect_exit "init crash: invoke exits 1" 1 "$RUNTRAIL" invoke --store "$T_TMP/s-crash" \
    --env MODE=crash --env MARKER="$T_TMP/init-marker" --env SENTINEL=S13-c0de \
    --report "$T_TMP/crash.report" -- "$T_TMP/fn/runtime.sh"
cid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["requestId"])' <"$T_TMP/crash.report")
# Two bundles: the waiting request's, and the sandbox's closing bundle (request id shutdown,
# chain end last) that every sandbox ends with.
expect_eq "init crash: the request's bundle, named by the request id invoke printed, then the closing shutdown bundle" \
    "2 1 1" \
    "$(only_bundle "$T_TMP/s-crash" | wc -l) $(only_bundle "$T_TMP/s-crash" | grep -c -- "-$cid.rtb$") $(only_bundle "$T_TMP/s-crash" | grep -c -- "-shutdown.rtb$")"
cb=$(only_bundle "$T_TMP/s-crash" | grep -- "-$cid.rtb$" | head -n 1)
expect_eq "init crash: status crash, Runtime.ExitError, cold start" "$cid crash Runtime.ExitError true" \
    "$("$RUNTRAIL" show --json "$cb" | $FACTS meta.request_id meta.status meta.error_type meta.cold_start | paste -sd' ')"
"$RUNTRAIL" show "$cb" >"$T_TMP/crash.show"
expect_grep "init crash: the init's activity is in it (the file the runtime read)" \
    "openat\(.*\"$T_TMP/init-marker\"" "$T_TMP/crash.show"
expect_grep "init crash: and what it printed before dying" '"going down S13-c0de"' "$T_TMP/crash.show"
expect_grep "init crash: marked as an init" "mark\(\"$cid\", \"\", init\)" "$T_TMP/crash.show"
"$RUNTRAIL" ls --status crash --json >"$T_TMP/crash.ls"
expect_eq "ls --status crash finds it" "$cid" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["request_id"] for l in sys.stdin))' <"$T_TMP/crash.ls")"

expect_exit "init/error: invoke exits 1" 1 "$RUNTRAIL" invoke --store "$T_TMP/s-initerr" \
    --env MODE=initerror --report "$T_TMP/initerr.report" -- "$T_TMP/fn/runtime.sh"
iid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["requestId"])' <"$T_TMP/initerr.report")
expect_eq "init/error: its bundle carries the request id, status error and the posted type" \
    "$iid error Sample.InitBoom" \
    "$(for b in $(only_bundle "$T_TMP/s-initerr" | grep -v -- '-shutdown.rtb$'); do "$RUNTRAIL" show --json "$b" | $FACTS meta.request_id meta.status meta.error_type | paste -sd' '; done)"

# --- item 23: a cancelled invocation is error (Runtrail.Cancelled) in invoke and in ls ---
rm -f "$T_TMP/hang-marker"
"$RUNTRAIL" invoke --store "$T_TMP/s-cancel" --timeout 60 --env MODE=hang \
    --env MARKER="$T_TMP/hang-marker" --report "$T_TMP/cancel.report" -- "$T_TMP/fn/runtime.sh" \
    >"$T_TMP/cancel.out" 2>"$T_TMP/cancel.err" &
INV=$!
PIDS+=($INV)
for _ in $(seq 300); do [ -e "$T_TMP/hang-marker" ] && break; sleep 0.1; done
kill -INT "$INV"
wait "$INV"
expect_eq "cancel: invoke exits 1" 1 "$?"
xid=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requestId"], d["status"], d["errorType"])' <"$T_TMP/cancel.report")
"$RUNTRAIL" ls --request-id "${xid%% *}" --json >"$T_TMP/cancel.ls"
expect_eq "cancel: invoke's report and ls agree: error Runtrail.Cancelled" \
    "$xid|${xid%% *} error Runtrail.Cancelled" \
    "$xid|$(python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["request_id"], d["status"], d["error_type"])' <"$T_TMP/cancel.ls")"

# --- item 20: Lambda's environment, not the host's; --inherit-env for the rest ---
export H8_HOST_ONLY=host-value-9d1 RUNTRAIL_H8_PROBE=passes
"$RUNTRAIL" invoke --no-record --env MODE=env --env ENV_OUT="$T_TMP/env.txt" \
    -- "$T_TMP/fn/runtime.sh" >/dev/null 2>&1
expect_eq "sandbox env: Lambda's LANG, LD_LIBRARY_PATH, PATH, TZ" \
    "LANG=en_US.UTF-8 LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin TZ=:UTC" \
    "$(grep -E '^(PATH|LANG|TZ|LD_LIBRARY_PATH)=' "$T_TMP/env.txt" | LC_ALL=C sort | paste -sd' ')"
expect_eq "sandbox env: no host variable (HOME, H8_HOST_ONLY), RUNTRAIL_* passes" "0 0 1" \
    "$(grep -c '^HOME=' "$T_TMP/env.txt") $(grep -c '^H8_HOST_ONLY=' "$T_TMP/env.txt") $(grep -c '^RUNTRAIL_H8_PROBE=passes$' "$T_TMP/env.txt")"
"$RUNTRAIL" invoke --no-record --inherit-env --env MODE=env --env ENV_OUT="$T_TMP/env2.txt" \
    -- "$T_TMP/fn/runtime.sh" >/dev/null 2>&1
expect_eq "--inherit-env: host variables pass, Lambda's PATH and fake credentials still win" \
    "AWS_ACCESS_KEY_ID=AKIAEMULATOREXAMPLE0 H8_HOST_ONLY=host-value-9d1 PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin" \
    "$(grep -E '^(H8_HOST_ONLY|PATH|AWS_ACCESS_KEY_ID)=' "$T_TMP/env2.txt" | LC_ALL=C sort | paste -sd' ')"
unset H8_HOST_ONLY RUNTRAIL_H8_PROBE

# --- item 21: a relative runtime script path is read in the current folder ---
start_upstream
(cd "$ROOT" && "$RUNTRAIL" invoke --no-record --task-root samples/python --handler app.handler \
    --env "$UPSTREAM" --event samples/events/s3-put.json -- python3 samples/python/bootstrap.py) \
    >"$T_TMP/rel.out" 2>"$T_TMP/rel.err"
expect_grep "python3 samples/python/bootstrap.py from the repository root answers" \
    '"runtime":"python".*"bucket":"example-uploads"' "$T_TMP/rel.out"

# --- a runtime that cannot start says why (the emulator starts it with posix_spawn) ---
printf 'not a program' >"$T_TMP/fn/garbage"
chmod +x "$T_TMP/fn/garbage"
expect_exit "a runtime that is no program: exit 2" 2 "$RUNTRAIL" invoke --no-record \
    --task-root "$T_TMP/fn" -- "$T_TMP/fn/garbage"
expect_grep "... and the error names it and the exec's error" \
    "cannot start a process \($T_TMP/fn/garbage: Exec format error\)" "$T_TMP/last.err"
expect_exit "a task root that is a file: exit 2" 2 "$RUNTRAIL" invoke --no-record \
    --task-root "$T_TMP/fn/garbage" -- "$T_TMP/fn/runtime.sh"
expect_grep "... and the error says the task root cannot be entered" \
    "cannot enter the task root $T_TMP/fn/garbage: Not a directory" "$T_TMP/last.err"

# --- item 20: a store that refuses bundles is loud; s3rver with credentials takes them ---
DEAD=$(free_port)
expect_exit "dead S3 endpoint: invoke exits 3" 3 "$RUNTRAIL" invoke --store s3://bkt/lost \
    --env AWS_ENDPOINT_URL="http://127.0.0.1:$DEAD" --repeat 2 -- "$T_TMP/fn/runtime.sh"
# Three bundles: the two invocations, and the one sealed at SHUTDOWN, which counts the two
# spooled before it.
expect_grep "dead S3 endpoint: stderr says how many were not stored, where, and where they are" \
    "invoke: 3 bundles were NOT stored in s3://bkt/lost: .* kept in /[^ ]*runtrail-spool" "$T_TMP/last.err"
expect_grep "dead S3 endpoint: and that the function's credentials are fake" \
    "fake AWS credentials" "$T_TMP/last.err"
spool=$(sed -n 's/.* kept in \([^ ]*\) (runtrail index.*/\1/p' "$T_TMP/last.err" | head -n 1)
expect_eq "the spool keeps the three bundles, readable" "3 0" \
    "$(find "$spool" -name '*.rtb' | wc -l) $("$RUNTRAIL" verify "$spool" >/dev/null 2>&1; echo $?)"
expect_grep "... the last, sealed at SHUTDOWN, counts the two spooled before it" 'spooled=2' \
    <("$RUNTRAIL" show "$(find "$spool" -name '*-shutdown.rtb')" 2>&1)
rm -rf "$spool"

# While the store is down, bundles go to the spool without trying it again for a while: only
# the first put retries (and SHUTDOWN's flush), so that the invocations after it are not held
# (RUNTRAIL_FLUSH_WAIT_MS) waiting on retries. Counted as connections to an endpoint that
# closes each one at once (timings would move with the machine's load): 12 invocations made
# 10 (the first put's 5 attempts, SHUTDOWN's flush's 5), and 22 without the pause.
python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1] + ".tmp", "w").write("%d" % s.getsockname()[1])
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept(); c.close()
    with open(sys.argv[2], "a") as f: f.write("x\n")' "$T_TMP/closer.port" "$T_TMP/closer.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T_TMP/closer.port" ] && break; sleep 0.05; done
expect_exit "S3 that closes every connection, 12 invocations: invoke exits 3" 3 "$RUNTRAIL" invoke \
    --store s3://bkt/closed --env AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$T_TMP/closer.port")" \
    --repeat 12 -- "$T_TMP/fn/runtime.sh"
expect_eq "... all 13 bundles spooled, with at most 15 connections tried" "13 yes" \
    "$(find "$(sed -n 's/.* kept in \([^ ]*\) (runtrail index.*/\1/p' "$T_TMP/last.err" | head -n 1)" \
        -name '*.rtb' 2>/dev/null | wc -l) $(n=$(wc -l <"$T_TMP/closer.log"); [ "$n" -le 15 ] && echo yes || echo "no: $n")"
rm -rf "$(sed -n 's/.* kept in \([^ ]*\) (runtrail index.*/\1/p' "$T_TMP/last.err" | head -n 1)"

# A store that takes the connection and never answers: each put waits out its timeouts and
# retries (2 s). At SHUTDOWN the put still waiting ends at once and every invocation is sealed
# into the spool before the time left goes to the network: no bundle is lost with the process.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write("%d" % s.getsockname()[1]); time.sleep(120)' "$T_TMP/hung.port" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T_TMP/hung.port" ] && break; sleep 0.05; done
# The runtime prints a line after each answer too: while the first put waits, the later
# invocations are sealed late, after their tail lines came, and each bundle must hold its
# invocation's lines up to the next one's start, and none of the next one's.
expect_exit "S3 that never answers: invoke exits 3" 3 "$RUNTRAIL" invoke --store s3://bkt/hung \
    --env AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$T_TMP/hung.port")" --env MODE=tail \
    --env SENTINEL=T15 --repeat 3 -- "$T_TMP/fn/runtime.sh"
spool=$(sed -n 's/.* kept in \([^ ]*\) (runtrail index.*/\1/p' "$T_TMP/last.err" | head -n 1)
handled=$(sed -n 's/^handler line .* for //p' "$T_TMP/last.err" | sort | paste -sd' ')
spooled=$(for b in $(find "$spool" -name '*.rtb' 2>/dev/null); do
    "$RUNTRAIL" show "$b" | awk '$1 == "request" {print $2}'; done | sort | paste -sd' ')
expect_eq "S3 that never answers: the three invocations and the SHUTDOWN bundle are in the spool" \
    "$handled shutdown" "$spooled"
hid2=$(sed -n 's/^handler line T15 for //p' "$T_TMP/last.err" | sed -n 2p)
hid3=$(sed -n 's/^handler line T15 for //p' "$T_TMP/last.err" | sed -n 3p)
"$RUNTRAIL" show "$(find "$spool" -name "*-$hid2.rtb")" --kind log >"$T_TMP/tail2.show" 2>&1
expect_grep "a bundle sealed late: its handler's line" "stdout +\"handler line T15 for $hid2\"" \
    "$T_TMP/tail2.show"
expect_grep "... and the line printed after its answer, after the response" \
    "^\\+[0-9.]+ms +stdout +\"tail line T15 for $hid2\"" "$T_TMP/tail2.show"
expect_no_grep "... and none of the next invocation's lines" "for $hid3" "$T_TMP/tail2.show"
rm -rf "$spool"
s3_start || _notok "s3rver starts"
"$RUNTRAIL" invoke --store s3://bkt/kept --env AWS_ACCESS_KEY_ID=S3RVER \
    --env AWS_SECRET_ACCESS_KEY=S3RVER --env AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL" \
    -- "$T_TMP/fn/runtime.sh" >"$T_TMP/ok.out" 2>"$T_TMP/ok.err"
expect_eq "s3rver with credentials: exit 0, nothing said about a store" "0 0" \
    "$? $(grep -c 'NOT stored' "$T_TMP/ok.err")"
# (the shell runtime's curl and mktemp after its last answer make a `shutdown` bundle too)
expect_eq "s3rver with credentials: the invocation's bundle is in the bucket" 1 \
    "$("$S3TOOL" list bkt kept/ | grep -v -- '-shutdown\.rtb' | grep -c '\.rtb')"

# The extension's threads are named after their work, so that `top -H` and perf on a host say
# where its CPU goes (docs/deploy.md, Overhead).
"$RUNTRAIL" invoke --store "$T_TMP/s-threads" --env MODE=threads -- "$T_TMP/fn/runtime.sh" \
    >"$T_TMP/threads.out" 2>"$T_TMP/threads.err"
# (sorted; a proxy connection's MHD-connection thread may still be there or not)
expect_grep "the extension's threads: the proxy, telemetry, the /proc sampler, the sealer, main" \
    '^"(MHD-connection )?MHD-listen MHD-single rt-procwatch rt-seal runtrail"$' "$T_TMP/threads.out"

EM_PORT=$(free_port)
"$RUNTRAIL" emulate --listen "127.0.0.1:$EM_PORT" --store s3://bkt/lost \
    --env AWS_ENDPOINT_URL="http://127.0.0.1:$DEAD" -- "$T_TMP/fn/runtime.sh" \
    2>"$T_TMP/em.err" &
EM=$!
PIDS+=($EM)
for _ in $(seq 100); do grep -q listening "$T_TMP/em.err" 2>/dev/null && break; sleep 0.1; done
curl -s --max-time 20 -d '{}' "http://127.0.0.1:$EM_PORT/2015-03-31/functions/function/invocations" >/dev/null
for _ in $(seq 100); do grep -q 'NOT stored' "$T_TMP/em.err" && break; sleep 0.1; done
expect_grep "emulate: a refused bundle is said while it runs" \
    "emulate: 1 bundle was NOT stored in s3://bkt/lost" "$T_TMP/em.err"
kill -TERM "$EM"
wait "$EM"
expect_eq "emulate: exit 3 at the stop" 3 "$?"
rm -rf "$(sed -n 's/.* kept in \([^ ]*\) (runtrail index.*/\1/p' "$T_TMP/em.err" | head -n 1)"
finish
