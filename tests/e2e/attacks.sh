#!/usr/bin/env bash
# The attack suite (samples/attacks/README.md) end to end: the benign corpus of the thumbnailer
# recorded (150 invocations to learn from, 60 held out), a baseline learned from the first part,
# the held-out part checked (no finding) and every attack checked: each must yield a finding of
# the expected rule whose item or evidence rows name the attack's own evidence (the collector's
# port, the dropped file's exec, the shell's listener, the listening port, the DNS names, the
# impersonated AWS endpoint, the changed code digest). Prints the table attack -> rules fired.
source "$(dirname "$0")/../lib.sh"
export RUNTRAIL_STORE="$T_TMP/unused-store" RUNTRAIL_CACHE="$T_TMP/cache"
cd "$RT_ROOT"
out="$T_TMP/suite"
learn=${ATTACKS_LEARN:-150} holdout=${ATTACKS_HOLDOUT:-60}

t0=$(date +%s)
RUNTRAIL="$RUNTRAIL" bash samples/attacks/run.sh "$out" "$learn" "$holdout" >"$T_TMP/run.out" 2>&1
expect_eq "samples/attacks/run.sh records the suite" 0 $?
sed 's/^/# /' "$T_TMP/run.out"
echo "# recorded in $(($(date +%s) - t0)) s"
expect_eq "every invocation answered 200 (the attacks too)" "$((learn + holdout + 7))" \
    "$(grep -c '"statusCode":200' "$out/logs/responses")"
expect_eq "no invocation failed" 0 "$(grep -c -v '"statusCode":200' "$out/logs/responses")"
expect_grep "the collector received the environment" '^received [0-9]+ bytes' "$out/logs/collector.log"
expect_grep "the dropper's payload was downloaded" '^GET /upd$' "$out/logs/dropper.log"
expect_grep "the reverse shell answered the listener's command" '^shell answered [1-9][0-9]* bytes' "$out/logs/shell.log"
expect_eq "the fake AWS endpoint got 60 calls" 60 "$(grep -c '^POST secretsmanager.ListSecrets secretsmanager.us-east-1.amazonaws.com$' "$out/logs/aws.log")"
if [ -f "$out/logs/dns.addr" ]; then
    expect_eq "the DNS listener got 8 long queries" 8 "$(grep -c -E '^query [0-9a-f]{60}\.[0-7]\.x\.exfil-demo\.example$' "$out/logs/dns.log")"
fi

expect_exit "baseline learn from the learning store" 0 \
    "$RUNTRAIL" baseline learn "$out/store-learn" -o "$T_TMP/baseline.json"
# run.sh runs one runtime per 60 events; each sandbox also ends with its shutdown bundle.
sandboxes() { echo $((($1 + 59) / 60)); }
expect_grep "learned from all of them (and each sandbox's shutdown bundle)" \
    "learned from $((learn + $(sandboxes "$learn"))) invocations; skipped 0 with security flags" "$T_TMP/last.err"

expect_exit "the held-out benign invocations: no finding, exit 0" 0 \
    "$RUNTRAIL" check --no-store --baseline "$T_TMP/baseline.json" "$out/store-holdout"
expect_eq "no output" 0 "$(wc -c <"$T_TMP/last.out")"
expect_grep "all checked" "runtrail check: $((holdout + $(sandboxes "$holdout"))) invocations checked, 0 with findings" "$T_TMP/last.err"

# judge SCENARIO RULE REGEX: the scenario's check --json has a finding of RULE whose item or one
# of whose evidence rows matches REGEX (Python re).
judge() {
    python3 - "$T_TMP/check-$1.json" "$2" "$3" <<'PY'
import json, re, sys
found = [json.loads(l) for l in open(sys.argv[1])]
rx = re.compile(sys.argv[3])
ok = any(f["rule"] == sys.argv[2] and (rx.search(f["item"]) or any(rx.search(e["row"]) for e in f["events"]))
         for f in found)
sys.exit(0 if ok else 1)
PY
}
table="$T_TMP/table"
printf '%-14s %s\n' attack "rules fired (findings)" >"$table"
run_check() { # SCENARIO
    "$RUNTRAIL" check --json --no-store --baseline "$T_TMP/baseline.json" "$out/store-$1" \
        >"$T_TMP/check-$1.json" 2>"$T_TMP/check-$1.err"
    expect_eq "$1: check exits 1 (findings)" 1 $?
    printf '%-14s %s\n' "$1" "$(python3 -c 'import json,sys,collections
c = collections.Counter(json.loads(l)["rule"] for l in open(sys.argv[1]))
print(", ".join("%s(%d)" % (r, n) for r, n in sorted(c.items())))' "$T_TMP/check-$1.json")" >>"$table"
}

q() { python3 -c 'import re,sys; print(re.escape(sys.argv[1]))' "$1"; }
cport=$(cat "$out/logs/collector.port")
run_check environ-exfil
check "environ-exfil: environ_read, evidence the read of /proc/self/environ" judge environ-exfil environ_read '/proc/self/environ'
check "environ-exfil: new_destination, evidence the collector 127.0.0.1:$cport" judge environ-exfil new_destination "127\\.0\\.0\\.1:$cport\\b"
check "environ-exfil: new_program curl" judge environ-exfil new_program '^/usr/bin/curl$'

drop=$(cat "$out/logs/dropper.file") dport=$(cat "$out/logs/dropper.port")
run_check dropper
check "dropper: exec_tmp, evidence the exec of the dropped file" judge dropper exec_tmp "execve\\(\"$(q "$drop")\""
check "dropper: new_program, the dropped file" judge dropper new_program "$(q "$drop")"
check "dropper: new_destination, evidence the download from 127.0.0.1:$dport" judge dropper new_destination "127\\.0\\.0\\.1:$dport\\b"
check "dropper: new_file chmod of the dropped file" judge dropper new_file "^chmod /tmp/"

sport=$(cat "$out/logs/shell.port")
run_check reverse-shell
check "reverse-shell: new_destination, evidence the connection to the listener 127.0.0.1:$sport" judge reverse-shell new_destination "127\\.0\\.0\\.1:$sport\\b"
check "reverse-shell: new_argv, the interactive shell" judge reverse-shell new_argv '/bin/sh -i$'
check "reverse-shell: new_program, what the listener ran (id)" judge reverse-shell new_program '/id$'

lport=$(cat "$out/logs/listen.port")
run_check listen
check "listen: listening, evidence listen on 127.0.0.1:$lport" judge listen listening "listen\\(\"127\\.0\\.0\\.1:$lport\""

if [ -f "$out/logs/dns.addr" ]; then
    daddr=$(cat "$out/logs/dns.addr")
    run_check dns-exfil
    check "dns-exfil: new_destination, the long generated names" judge dns-exfil new_destination '^\{hex\}\.[0-7]\.x\.exfil-demo\.example$'
    check "dns-exfil: evidence rows carry the names in full" judge dns-exfil new_destination '[0-9a-f]{60}\.[0-7]\.x\.exfil-demo\.example'
    check "dns-exfil: new_destination, the resolver $daddr:53" judge dns-exfil new_destination "^$(q "$daddr"):53$"
else
    echo "# dns-exfil skipped: cannot listen on port 53 here ($(cat "$out/logs/dns.err" | tail -1))"
    printf '%-14s %s\n' dns-exfil "skipped (no right to bind port 53)" >>"$table"
fi

aport=$(cat "$out/logs/aws.port")
run_check aws-calls
check "aws-calls: new_destination, the impersonated endpoint's host" judge aws-calls new_destination '^secretsmanager\.us-east-1\.amazonaws\.com$'
check "aws-calls: new_destination, evidence 127.0.0.1:$aport" judge aws-calls new_destination "127\\.0\\.0\\.1:$aport\\b"
check "aws-calls: bytes_out_range (60 calls)" judge aws-calls bytes_out_range '^bytes_out [0-9]+$'

run_check code-tamper
# The explanation names the new digests: the task root's is none the baseline learned, the
# layers' is the learned one (only a file under the task root changed).
code_drift_ok() {
    python3 - "$T_TMP/check-code-tamper.json" "$T_TMP/baseline.json" <<'PY'
import json, re, sys
bl = json.load(open(sys.argv[2]))["code"]["$LATEST"]
for f in (json.loads(l) for l in open(sys.argv[1])):
    m = re.search(r"task_root ([0-9a-f]{12})\S* layers ([0-9a-f]{12})", f["explain"])
    if f["rule"] == "code_drift" and m and f["item"] == "$LATEST":
        sys.exit(0 if all(not d["task_root"].startswith(m[1]) for d in bl)
                 and any(d["layers"].startswith(m[2]) for d in bl) else 1)
sys.exit(1)
PY
}
check "code-tamper: code_drift names a task-root digest never learned, the learned layers" code_drift_ok
expect_eq "code-tamper: code_drift is its only finding" "code_drift" \
    "$(python3 -c 'import json,sys; print(",".join(sorted({json.loads(l)["rule"] for l in open(sys.argv[1])})))' "$T_TMP/check-code-tamper.json")"

echo "# attack suite: $learn learned, $holdout held out (0 findings expected)"
sed 's/^/# /' "$table"
echo "# total $(($(date +%s) - t0)) s"
finish
