#!/usr/bin/env bash
# Every command the documentation tells a user to type is run here. The `runtrail ...` and
# `make ...` lines of the fenced code blocks of README.md, docs/*.md and samples/README.md (a
# trailing `\` joins lines) are extracted and run, in document order, in a prepared environment: a temporary
# HOME and cache, a work folder that looks like the repository root (samples/, build/,
# node_modules/), s3rver holding recorded bundles of the incident's `thumbnailer` function
# (a normal request, the scripted exfiltration, one that execs from /tmp, one that crashes),
# and placeholders (BUCKET, NAME, BUNDLE.rtb, ...) replaced from the table below. Each command
# must match a COVER entry, which says how it runs, the exit status it must have and a content
# check on its output; or a SKIP entry, each with its reason. Anything else fails with
# "command not covered: FILE:LINE: ...", so a new documented command needs a line here.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
ROOT=$RT_ROOT
s3_start || { _notok "s3rver starts"; finish; exit 1; }
unset XDG_CACHE_HOME # the documented default cache: ~/.cache/runtrail, HOME being temporary
SAN=$([ "$BUILD" = build-san ] && echo SANITIZE=1)

# ---- the prepared environment ----
W=$T_TMP/work
mkdir -p "$W" "$T_TMP/bin"
ln -s "$ROOT/samples" "$W/samples"
ln -s "$ROOT/$BUILD" "$W/build"
ln -s "$ROOT/node_modules" "$W/node_modules"
ln -s "$ROOT/samples/incident" "$W/thumbnailer"
cp "$ROOT/samples/incident/events/normal-cat.json" "$W/event.json"
ln -s "$RUNTRAIL" "$T_TMP/bin/runtrail"
export PATH="$T_TMP/bin:$PATH"
S3CREDS=(--env AWS_ACCESS_KEY_ID=S3RVER --env AWS_SECRET_ACCESS_KEY=S3RVER
         --env AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL")

# Recorded into s3://bkt/trails as the function `thumbnailer`: the incident's requests, plus one
# that runs a program copied under /tmp and one that kills the runtime (status crash).
EXFIL_PORT=$(free_port)
EMU_PORT=$(free_port)
start_upstream # the samples' upstream service; samples/README.md sets UP the same way
export UP=$UPSTREAM
python3 "$ROOT/samples/incident/collector.py" "$EXFIL_PORT" "$T_TMP/collector.log" &
PIDS+=($!)
wait_port "$EXFIL_PORT"
sed "s/EXFIL_PORT/$EXFIL_PORT/" "$ROOT/samples/incident/events/attack.json" >"$T_TMP/attack.json"
python3 - "$ROOT/samples/incident/events/normal-cat.json" "$T_TMP" <<'EOF'
import json, sys
ev = json.load(open(sys.argv[1]))
ev["queryStringParameters"]["name"] = 'cat.png; cp /bin/true "$TMPDIR/helper" && "$TMPDIR/helper"'
json.dump(ev, open(sys.argv[2] + "/tmpexec.json", "w"))
ev["queryStringParameters"]["name"] = "cat.png; kill -9 $PPID"
json.dump(ev, open(sys.argv[2] + "/crash.json", "w"))
EOF
(cd "$W" && runtrail invoke --store s3://bkt/trails --function-name thumbnailer \
    --task-root thumbnailer --handler app.handler "${S3CREDS[@]}" \
    --event samples/incident/events/normal-cat.json --event "$T_TMP/attack.json" \
    --event "$T_TMP/tmpexec.json" --event "$T_TMP/crash.json" \
    --report "$T_TMP/prep.report" -- python3 samples/python/bootstrap.py) \
    >"$T_TMP/prep.out" 2>"$T_TMP/prep.err"
expect_eq "prepared: 4 thumbnailer invocations recorded into s3rver (ok, ok, ok, crash)" \
    "ok ok ok crash" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["status"] for l in sys.stdin))' <"$T_TMP/prep.report")"
# Bundles already on disk, indexed as the incident page says (`runtrail index DIR`).
runtrail index "$ROOT/samples/bundles" >/dev/null 2>&1
echo "# prepared in $SECONDS s"
CRASH_ID=$(python3 -c 'import json,sys; print([json.loads(l)["requestId"] for l in sys.stdin][3])' <"$T_TMP/prep.report")
# "Is this normal?": the normal and the attack request of the prepared data; the baseline's
# example window ends after the prepared invocations (the later ones are make demo's).
NORMAL_ID=$(python3 -c 'import json,sys; print([json.loads(l)["requestId"] for l in sys.stdin][0])' <"$T_TMP/prep.report")
ATTACK_ID=$(python3 -c 'import json,sys; print([json.loads(l)["requestId"] for l in sys.stdin][1])' <"$T_TMP/prep.report")
# PREP_END has whole seconds: taken a second after the last prepared invocation began, it is
# after them all (taken at once, it fell in their second and left them out of the window when
# they all began within it: a CI run learned from 0 invocations), and a second before anything
# later.
sleep 1
PREP_END=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1

# The Lambda API of `runtrail enable/status/policy/disable` (docs/deploy.md): the local control
# plane of tests/e2e/enable.sh, holding the function thumbnailer, signed with the S3RVER keys.
LAMBDA_PORT=$(free_port)
echo '{"keys": {"S3RVER": {"secret": "S3RVER"}}, "update_ms": 100,
       "functions": [{"FunctionName": "thumbnailer", "Runtime": "python3.12"}]}' \
    >"$T_TMP/lambda-seed.json"
node "$ROOT/tests/tools/fake-lambda.js" "$LAMBDA_PORT" "$T_TMP/lambda-seed.json" \
    "$T_TMP/lambda.log" >"$T_TMP/lambda.out" 2>&1 &
PIDS+=($!)
wait_port "$LAMBDA_PORT" || echo "# fake-lambda did not start"
export RUNTRAIL_LAMBDA_ENDPOINT="http://127.0.0.1:$LAMBDA_PORT"

# Placeholders and example values of the docs -> values of the prepared environment.
SUBST=(
    "BUCKET" "bkt"
    "PREFIX" "trails"
    "NAME" "thumbnailer"
    "KEY_ID" "S3RVER"
    "SECRET" "S3RVER"
    "ENDPOINT" "$AWS_ENDPOINT_URL"
    "BUNDLE.rtb" "$ROOT/samples/bundles/exfiltration.rtb"
    "a.rtb" "$ROOT/samples/bundles/exfiltration.rtb" # "several bundles"
    "A.rtb" "$ROOT/samples/bundles/exfiltration.rtb"
    "b.rtb" "$ROOT/samples/bundles/error.rtb"
    "B.rtb" "$ROOT/samples/bundles/error.rtb"
    "s3://acme-runtrail/prod" "s3://bkt/trails" # the incident page's bucket
    "/path/to/bootstrap.py" "samples/python/bootstrap.py"
    "8f0c3c1e-..." "$CRASH_ID" # "the one in the CloudTrail/X-Ray trail"
    "REQUEST_ID" "$CRASH_ID"   # "a request id ls listed"
    # example destinations of an incident -> the destinations the recorded data has
    "203.0.113.9" "127.0.0.1:$EXFIL_PORT"
    "127.0.0.1:9000" "127.0.0.1:$EMU_PORT" # the samples' emulate endpoint: a free port
    "exfil.example.com:443" "dynamodb.eu-west-1.amazonaws.com:443"
    # "Is this normal?": the baseline's example window, the walk-through's request ids
    "2026-11-18" "2000-01-01"
    "2026-11-25" "$PREP_END"
    "NORMAL_ID" "$NORMAL_ID"
    "ATTACK_ID" "$ATTACK_ID"
)

# ---- COVER: REGEX (on the substituted command) | how | exit | content check ----
# how: sh (bash -c in the work folder, pipefail), make (for real, in the repository, with this
# build's BUILD/SANITIZE), make-n (a dry run: `make -n`, the recipe must expand; the real run
# would recurse into this suite or take many minutes). The check is bash with $OUT (stdout and
# stderr of the command) and $W.
COVER=(
    '^make demo( |$)' make 0 'grep -q "Are the bundles intact" "$OUT" && grep -q "thumbnailer" "$OUT"'
    '^make( *#.*)?$' make 0 'test -x "$ROOT/$BUILD/bin/runtrail"'
    '^make (SANITIZE=1 )?test( |$)' make-n 0 'grep -q "tests/run.sh" "$OUT"'
    '^make fuzz( |$)' make-n 0 'grep -q "tests/fuzz/run.sh" "$OUT"'
    '^make bench( |$)' make-n 0 'grep -q "tests/bench/run.sh" "$OUT"'
    '^make lint( |$)' make-n 0 'grep -q "cppcheck" "$OUT" && grep -q "clang-format" "$OUT"'
    '^runtrail export --format perfetto [^ ]+\.rtb > trace\.json$' sh 0 'python3 "$ROOT/tests/e2e/trace_event_check.py" "$W/trace.json" && grep -q "\"cat\":\"invocation\"" "$W/trace.json"'
    '^runtrail export --format perfetto --function thumbnailer .*-o trace\.json$' sh 0 'python3 "$ROOT/tests/e2e/trace_event_check.py" "$W/trace.json" && grep -q "\"name\":\"thumbnailer " "$W/trace.json"'
    '^runtrail export --format jsonl --function thumbnailer ' sh 0 'grep -q "^{\"function\":\"thumbnailer\",\"version\":" "$OUT"'
    '^runtrail export --format csv --table events [^ ]+\.rtb > events\.csv$' sh 0 'head -1 "$W/events.csv" | grep -q "^function,request_id,seq,time,"'
    '^runtrail export --schema events$' sh 0 'grep -q "^| .peer_ip. | string |" "$OUT"'
    '^runtrail export --format jsonl -o export ' sh 0 'find "$W/export/table=events/fn=thumbnailer" -name "part-*.jsonl" | grep -q .'
    '^runtrail export --format jsonl --zstd -o s3://bkt/trails ' sh 0 'grep -q "^exported [1-9][0-9]* invocations .*s3://bkt/trails/export/" "$OUT"'
    '^runtrail pull s3://bkt/trails ' sh 0 'grep -Eq "^pulled [1-9][0-9]* bundles" "$OUT"'
    '^runtrail baseline learn ' sh 0 'grep -Eq "learned from [1-9][0-9]* invocations; skipped [1-9][0-9]* with security flags" "$OUT" && grep -q "\"function\": \"thumbnailer\"" "$W/thumbnailer.baseline.json"'
    '^runtrail baseline show ' sh 0 'grep -Eq "^function +thumbnailer" "$OUT" && grep -Eq "^learned from [1-9]" "$OUT"'
    '^runtrail check --function thumbnailer ' sh 1 'grep -Eq "^[0-9a-f-]{36} high (environ_read|new_program|new_destination) " "$OUT" && grep -Eq "^    event [0-9]+ " "$OUT"'
    '^runtrail check [0-9a-f-]{36} .*--json \| jq' sh 0 'grep -q "1 invocations checked, 0 with findings" "$OUT"' # REQUEST_ID: the crash, learned as normal
    '^runtrail ls --findings' sh 0 'grep -Eq "^TIME +FUNCTION" "$OUT" && grep -q "finding:" "$OUT" && ! grep -Eq " ok .* -$" "$OUT"'
    '^runtrail diff [0-9a-f-]{36} [0-9a-f-]{36}' sh 1 'grep -q "^+++ .*request $ATTACK_ID" "$OUT" && grep -q "^--- .*request $NORMAL_ID" "$OUT" && grep -q "environ_read  count 0 -> 1" "$OUT"'
    '^runtrail diff [0-9a-f-]{36} --baseline ' sh 1 'grep -q "^--- baseline " "$OUT" && grep -q " environ_read " "$OUT"'
    '^runtrail replay [0-9a-f-]{36} --net sinkhole$' sh 1 'grep -q "^verdict    blocked" "$OUT" && grep -q "sinkholed 127.0.0.1:$EXFIL_PORT  POST " "$OUT"'
    '^runtrail replay [0-9a-f-]{36}$' sh 1 'grep -q "^verdict    blocked" "$OUT" && grep -q "denied 127.0.0.1:$EXFIL_PORT " "$OUT"'
    '^runtrail ls .*--request-id ' sh 0 'grep -q "$CRASH_ID" "$OUT"'
    '^runtrail ls .*--status crash' sh 0 'grep -Eq " crash +[0-9]+ " "$OUT"'
    '^runtrail ls .*--exec .?/tmp' sh 0 'grep -q "exec_tmp" "$OUT"'
    '^runtrail ls .*--path .?/proc/\*/environ' sh 0 'grep -q "environ_read" "$OUT"'
    "^runtrail ls --aws 'iam:\\*'" sh 1 'grep -q "no invocations match" "$OUT"' # the incident's functions call no AWS API over TLS
    '^runtrail ls ' sh 0 'grep -Eq "^TIME +FUNCTION" "$OUT" && [ "$(wc -l <"$OUT")" -ge 2 ]'
    '^runtrail show .*--json \| jq -r .*> event.json' sh 0 'python3 -m json.tool "$W/event.json" >/dev/null'
    '^runtrail show .*--json \| jq \.' sh 0 'grep -q "\"record\": \"meta\"" "$OUT"'
    '^runtrail show [^ ]+\.rtb [^ ]+\.rtb --flag ' sh 0 '[ "$(grep -c "^==> " "$OUT")" -eq 2 ] && grep -q "\[environ_read\]" "$OUT"'
    '^runtrail show .* --from 3\.5 --to 10( |$)' sh 0 'awk "/^[+-][0-9.]+ms / {t=\$1+0; n++; if (t < 3.5 || t > 10) bad++} END {exit !(n > 0 && !bad)}" "$OUT"'
    '^runtrail show .*--kind proc,(sec,net|net,sec)' sh 0 'grep -q "execve(" "$OUT" && grep -q "connect(" "$OUT" && ! grep -q "mark(" "$OUT"'
    '^runtrail show ' sh 0 'grep -Eq "^request +[0-9a-f-]{36}" "$OUT" && grep -Eq "^[+-][0-9.]+ms " "$OUT"'
    '^runtrail verify ' sh 0 'grep -q "intact" "$OUT"'
    '^runtrail invoke --store s3://bkt/trails ' sh 0 'grep -q "\"runtime\":\"c\"" "$OUT" && ! grep -q "NOT stored" "$OUT"'
    '^runtrail invoke .*--task-root (\./)?thumbnailer ' sh 0 'grep -q "\"statusCode\": *200" "$OUT"'
    '^runtrail invoke .*samples/python/bootstrap.py' sh 0 'grep -Eq "runtime.{3,5}python" "$OUT"'
    '^runtrail invoke .*build/samples/c/bootstrap' sh 0 'grep -Eq "runtime.{3,5}c.{3,5}kind.*upstream-ok" "$OUT"'
    '^runtrail invoke .*aws-lambda-ric/index.mjs' sh 0 'grep -q "\"runtime\":\"node\".*upstream-ok" "$OUT"'
    '^runtrail enable thumbnailer .*--dry-run' sh 0 'grep -q "^+ Environment.AWS_LAMBDA_EXEC_WRAPPER = /opt/runtrail/wrapper" "$OUT" && ! grep -q "^published" "$OUT"'
    '^runtrail enable thumbnailer ' sh 0 'grep -q "^published arn:aws:lambda:us-east-1:123456789012:layer:runtrail-x86_64:1" "$OUT" && grep -q "^thumbnailer: recording into s3://bkt/trails" "$OUT"'
    '^runtrail status thumbnailer' sh 0 'grep -Eq "^thumbnailer.yes.runtrail-x86_64:1.s3://bkt/trails.0\.5.redacted.20[0-9-]{8}T[0-9:]{8}Z$" "$OUT"'
    '^runtrail policy thumbnailer' sh 0 'grep -q "\"Resource\": \"arn:aws:s3:::bkt/trails/v1/fn=thumbnailer/\*\"" "$OUT"'
    '^runtrail disable thumbnailer' sh 0 'grep -q "^thumbnailer: recording off" "$OUT" && grep -q "^- Environment.RUNTRAIL_STORE = s3://bkt/trails" "$OUT"'
    '^runtrail emulate --listen 127.0.0.1:[0-9]+ .*samples/python/bootstrap.py' emulate 0 'grep -q "\"runtime\":\"python\".*\"bucket\":\"example-uploads\"" "$OUT.curl"'
)
# ---- SKIP: REGEX (on the command as written) | reason ----
SKIP=(
    "^runtrail view( |:|$)" "interactive (a terminal UI): tests/e2e/view.sh drives it in tmux; its captures in docs/viewer.md are its golden screens"
    "^make BUILD=build-x86_64 layer'" "inside \`docker run ... amazonlinux:2023 sh -c '...'\`: needs docker and an image pull"
)

extract() {
    python3 - "$ROOT" <<'EOF'
import glob, os, re, sys
root = sys.argv[1]
files = ["README.md"] + sorted(os.path.relpath(p, root) for p in glob.glob(root + "/docs/*.md"))
files.append("samples/README.md")
for f in files:
    lines = open(os.path.join(root, f)).read().split("\n")
    fence, i = False, 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("```"):
            fence = not fence
            i += 1
            continue
        start = i
        while fence and s.endswith("\\") and i + 1 < len(lines):
            i += 1
            s = s[:-1].rstrip() + " " + lines[i].strip()
        if fence and re.match(r"(\$ )?(runtrail|make)( |$)", s):
            print("%s:%d\t%s" % (f, start + 1, re.sub(r"^\$ ", "", s)))
        i += 1
EOF
}

substitute() { # substitute COMMAND: placeholders replaced (whole words)
    python3 - "$1" "${SUBST[@]}" <<'EOF'
import re, sys
cmd, table = sys.argv[1], sys.argv[2:]
for k, v in zip(table[0::2], table[1::2]):
    cmd = re.sub(r"(?<![\w.-])" + re.escape(k) + r"(?![\w-])", lambda m: v, cmd)
print(cmd)
EOF
}

n_cmds=0
while IFS=$'\t' read -r where cmd; do
    n_cmds=$((n_cmds + 1))
    skipped=""
    for ((k = 0; k < ${#SKIP[@]}; k += 2)); do
        [[ $cmd =~ ${SKIP[k]} ]] && skipped=${SKIP[k + 1]} && break
    done
    if [ -n "$skipped" ]; then
        echo "# skipped $where: $cmd  ($skipped)"
        continue
    fi
    run=$(substitute "$cmd")
    how=""
    for ((k = 0; k < ${#COVER[@]}; k += 4)); do
        if [[ $run =~ ${COVER[k]} ]]; then
            how=${COVER[k + 1]} want=${COVER[k + 2]} check=${COVER[k + 3]}
            break
        fi
    done
    if [ -z "$how" ]; then
        _notok "command not covered: $where: $cmd"
        continue
    fi
    OUT="$T_TMP/out.$n_cmds"
    t0=$SECONDS
    case $how in
    sh) (cd "$W" && bash -o pipefail -c "$run") </dev/null >"$OUT" 2>&1 ;;
    make) (cd "$ROOT" && RUNTRAIL_STORE="$T_TMP/demo-data" bash -c "${run%%#*} BUILD=$BUILD $SAN") \
        </dev/null >"$OUT" 2>&1 ;;
    make-n) (cd "$ROOT" && bash -c "${run%%#*} -n BUILD=$BUILD $SAN") </dev/null >"$OUT" 2>&1 ;;
    emulate) # as documented, in the background; then the documented curl; then SIGTERM
        for try in 1 2; do
            (cd "$W" && exec bash -c "exec ${run%&}") </dev/null >"$OUT" 2>&1 &
            em=$!
            PIDS+=($em)
            for _ in $(seq 100); do
                grep -q -e listening -e 'cannot listen' "$OUT" 2>/dev/null && break
                sleep 0.1
            done
            # The port was picked when this script started; a test group running beside it
            # may have taken it since: once, another one.
            grep -q 'cannot listen' "$OUT" && [ "$try" = 1 ] || break
            wait "$em"
            port=$(free_port)
            run=${run//127.0.0.1:$EMU_PORT/127.0.0.1:$port}
            EMU_PORT=$port
        done
        (cd "$W" && curl -s --max-time 20 -d @samples/events/s3-put.json \
            "http://127.0.0.1:$EMU_PORT/2015-03-31/functions/function/invocations") >"$OUT.curl"
        kill -TERM "$em"
        wait "$em" ;;
    esac
    rc=$?
    echo "# $where: $((SECONDS - t0)) s"
    if [ "$rc" -ne "$want" ]; then
        _notok "$where: $cmd" "ran: $run" "exit $rc, expected $want" "$(tail -n 8 "$OUT")"
    elif ! (eval "$check"); then
        _notok "$where: $cmd" "ran: $run" "content check failed: $check" "$(tail -n 8 "$OUT")"
    else
        _ok "$where: $cmd"
    fi
done < <(extract)
expect_eq "the docs hold documented commands (the extraction found them)" yes \
    "$([ "$n_cmds" -ge 20 ] && echo yes)"
finish
