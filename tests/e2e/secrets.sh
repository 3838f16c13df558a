#!/usr/bin/env bash
# Secrets never land in a bundle in clear (docs/config.md, Secrets). By sentinel values: a
# Python function run by `runtrail invoke` under the extension gets secrets in its event
# (sensitive keys in any case, 60 levels deep), its environment and its response, runs
# `sh -c 'curl -H "Authorization: Bearer ..." "http://127.0.0.1:PORT/x?api_key=..."'`, an
# `env PGPASSWORD=...` child and an HTTP request with `?token=...`; `runtrail record` records
# the same command line. No sentinel byte may appear in any decompressed bundle, while key names
# stay. The hash key: without RUNTRAIL_HASH_KEY the ENV hash is not HMAC(sandbox_id, value),
# two sandboxes hash one value differently and two bundles of one sandbox equally; with it, two
# sandboxes agree with each other, with the key id and with HMAC(key, value) computed here.
source "$(dirname "$0")/../lib.sh"
ROOT=$RT_ROOT
FACTS="python3 $ROOT/tests/extension/facts.py"
BOOTSTRAP=$ROOT/samples/python/bootstrap.py
SENT=S3NTNL # every secret below starts with it; it appears nowhere else

start_upstream
mkdir -p "$T_TMP/www/x" "$T_TMP/task" "$T_TMP/opt"
echo ok >"$T_TMP/www/x/index.html"

# --- a function full of secrets ---
cat >"$T_TMP/task/app.py" <<EOF
import json, os, subprocess, urllib.request

def handler(event, context):
    port = os.environ["UP_PORT"]
    subprocess.run(["sh", "-c", 'curl -s -o /dev/null -H "Authorization: Bearer ${SENT}-curl-bearer" '
                    '"http://127.0.0.1:%s/x/?api_key=${SENT}-curl-query&page=2"' % port], check=False)
    subprocess.run(["env", "PGPASSWORD=${SENT}-pgpassword", "true", "--password", "${SENT}-flag"],
                   check=False)
    with urllib.request.urlopen("http://127.0.0.1:%s/x/?token=${SENT}-urllib&q=1" % port) as r:
        r.read()
    return {"ok": True, "access_token": "${SENT}-response", "kind": event.get("kind")}
EOF
python3 - "$T_TMP/event.json" <<EOF
import json, sys
deep = {"token": "${SENT}-deep"}
for _ in range(60):
    deep = {"a": deep}
event = {"kind": "order", "Password": "${SENT}-payload-password",
         "headers": {"Authorization": "Bearer ${SENT}-payload-auth", "X-Api-Key": "${SENT}-apikey",
                     "Accept": "application/json"},
         "body": json.dumps({"client_secret": "${SENT}-in-body", "item": 7}), "deep": deep}
json.dump(event, open(sys.argv[1], "w"))
EOF

n_run=0
rec() { # rec STORE [invoke options...]: two invocations of the function in one sandbox
    local store=$1; shift
    n_run=$((n_run + 1))
    "$RUNTRAIL" invoke --store "$store" --task-root "$T_TMP/task" --handler app.handler \
        --env RUNTRAIL_RUN_DIR="$T_TMP/run$n_run" --env RUNTRAIL_SPOOL_DIR="$T_TMP/spool$n_run" \
        --env RUNTRAIL_LAYERS_DIR="$T_TMP/opt" --env UP_PORT="$UP_PORT" \
        --env DB_PASSWORD="${SENT}-env" --event "$T_TMP/event.json" --event "$T_TMP/event.json" \
        "$@" -- python3 "$BOOTSTRAP" >"$T_TMP/out$n_run" 2>"$T_TMP/err$n_run"
}
bundles() { find "$1" -name '*.rtb' ! -name '*-shutdown.rtb' 2>/dev/null | sort; }
all_bundles() { find "$@" -name '*.rtb' 2>/dev/null | sort; } # shutdown bundles too
facts() { local b=$1; shift; "$RUNTRAIL" show --json "$b" | $FACTS "$@"; }
hmac_tok() { # hmac_tok BUNDLE: the first api_key=hmac:... of its events
    local e
    e=$(facts "$1" events)
    grep -o 'api_key=hmac:[0-9a-f]*' <<<"$e" | head -n 1
}
no_sentinel() { # no_sentinel NAME BUNDLE...: not one sentinel byte in the decompressed bundles
    local hits=0 b
    for b in "${@:2}"; do
        hits=$((hits + $(zstd -dc "$b" | grep -a -c "$SENT")))
    done
    expect_eq "$1: no sentinel in $(($# - 1)) decompressed bundle(s)" "0 yes" \
        "$hits $([ $# -gt 1 ] && echo yes)"
}

rec "$T_TMP/store-a"
mapfile -t A < <(bundles "$T_TMP/store-a")
expect_eq "function answered twice with the default settings" 2 \
    "$(grep -c '"ok": *true' "$T_TMP/out1")"
mapfile -t ALL < <(all_bundles "$T_TMP/store-a")
no_sentinel "default settings (redacted, random key)" "${ALL[@]}"
"$RUNTRAIL" show --json "${A[0]}" >"$T_TMP/a0.json"
F() { $FACTS "$@" <"$T_TMP/a0.json"; }
F payload.event.data >"$T_TMP/a0.event"
expect_eq "payload: redacted mode, key names kept, other values kept" "redacted yes yes yes yes" \
    "$(F payload.event.mode) $(grep -q '"Password": *"<redacted:hmac:' "$T_TMP/a0.event" && echo yes) $(grep -q '"X-Api-Key": *"<redacted:hmac:' "$T_TMP/a0.event" && echo yes) $(grep -q '"Accept": *"application/json"' "$T_TMP/a0.event" && echo yes) $(grep -q 'client_secret' "$T_TMP/a0.event" && echo yes)"
expect_eq "response: access_token redacted, kind kept" "1 1" \
    "$(F payload.response.data | grep -c '"access_token": *"<redacted:hmac:') $(F payload.response.data | grep -c '"kind": *"order"')"
F events >"$T_TMP/a0.events"
expect_grep "argv of sh -c: the header value and the query parameter are keyed hashes" \
    "Authorization: Bearer hmac:[0-9a-f]{32}.*api_key=hmac:[0-9a-f]{32}&page=2" "$T_TMP/a0.events"
expect_grep "argv of env: PGPASSWORD=hmac:..., --password hmac:..." \
    'PGPASSWORD=hmac:[0-9a-f]{32}.*--password.{1,8}hmac:[0-9a-f]{32}' "$T_TMP/a0.events"
expect_grep "outbound HTTP line: ?token=hmac:...&q=1" \
    'GET /x/\?token=hmac:[0-9a-f]{32}&q=1 HTTP' "$T_TMP/a0.events"
expect_grep "outbound HTTP line of curl: ?api_key=hmac:...&page=2" \
    'GET /x/\?api_key=hmac:[0-9a-f]{32}&page=2 HTTP' "$T_TMP/a0.events"

# --- the key: random per sandbox, never the sandbox id ---
sid=$(F meta.sandbox_id)
kid=$(F meta.hash_key_id)
env_hash=$(F env.DB_PASSWORD.hmac)
guess=$(printf %s "${SENT}-env" | openssl dgst -sha256 -hmac "$sid" -r | cut -d' ' -f1)
expect_eq "no key configured: key id sandbox:<16 hex>, ENV hash is not HMAC(sandbox_id, value)" \
    "sandbox yes no" \
    "${kid%%:*} $([[ $kid =~ ^sandbox:[0-9a-f]{16}$ ]] && echo yes) $([ "$guess" = "$env_hash" ] && echo yes || echo no)"
expect_eq "two bundles of one sandbox: same key id, same hash of a value" "$kid $env_hash" \
    "$(facts "${A[1]}" meta.hash_key_id env.DB_PASSWORD.hmac | paste -sd' ')"
"$RUNTRAIL" show "${A[0]}" >"$T_TMP/a0.txt"
expect_grep "show prints the key id" "^hash key +$kid\$" "$T_TMP/a0.txt"
rec "$T_TMP/store-b"
mapfile -t B < <(bundles "$T_TMP/store-b")
expect_eq "another sandbox without a key: another key id, another hash of the same value" \
    "different different" \
    "$([ "$(facts "${B[0]}" meta.hash_key_id)" != "$kid" ] && echo different) $([ "$(facts "${B[0]}" env.DB_PASSWORD.hmac)" != "$env_hash" ] && echo different)"

# --- a configured key: hashes compare across sandboxes ---
KEY=runtrail-e2e-shared-key-0123456789
rec "$T_TMP/store-k1" --env RUNTRAIL_HASH_KEY="$KEY"
rec "$T_TMP/store-k2" --env RUNTRAIL_HASH_KEY="$KEY"
mapfile -t K1 < <(bundles "$T_TMP/store-k1")
mapfile -t K2 < <(bundles "$T_TMP/store-k2")
mapfile -t ALL < <(all_bundles "$T_TMP/store-k1" "$T_TMP/store-k2")
no_sentinel "configured key" "${ALL[@]}"
want_env=$(printf %s "${SENT}-env" | openssl dgst -sha256 -hmac "$KEY" -r | cut -d' ' -f1)
want_id=$(printf %s "runtrail hash key id v1" | openssl dgst -sha256 -hmac "$KEY" -r | cut -c1-16)
k1=$(facts "${K1[0]}" meta.hash_key_id meta.sandbox_id env.DB_PASSWORD.hmac | paste -sd' ')
k2=$(facts "${K2[0]}" meta.hash_key_id meta.sandbox_id env.DB_PASSWORD.hmac | paste -sd' ')
read -r id1 sb1 h1 <<<"$k1"
read -r id2 sb2 h2 <<<"$k2"
expect_eq "RUNTRAIL_HASH_KEY: two sandboxes, equal key ids and hashes, = HMAC(key, value)" \
    "configured:$want_id configured:$want_id $want_env $want_env different" \
    "$id1 $id2 $h1 $h2 $([ "$sb1" != "$sb2" ] && echo different)"
want_tok=$(printf %s "${SENT}-curl-query" | openssl dgst -sha256 -hmac "$KEY" -r | cut -c1-32)
expect_eq "argv tokens: equal across sandboxes with the key, = first 16 bytes of the HMAC" \
    "api_key=hmac:$want_tok api_key=hmac:$want_tok" "$(hmac_tok "${K1[0]}") $(hmac_tok "${K2[0]}")"
expect_eq "the key is in no bundle" 0 \
    "$(for b in "${K1[@]}" "${K2[@]}"; do zstd -dc "$b"; done | grep -a -c -F "$KEY")"

# --- settings: RUNTRAIL_REDACT alone redacts; full only when asked for ---
rec "$T_TMP/store-r" --env RUNTRAIL_REDACT=kind
R=$(bundles "$T_TMP/store-r" | head -n 1)
expect_eq "RUNTRAIL_REDACT alone: redacted, its key and the built-in ones, no config error" \
    "redacted 1 0" \
    "$(facts "$R" payload.event.mode) $(facts "$R" payload.event.data | grep -c '"kind": *"<redacted:hmac:') $(facts "$R" counter.config_errors)"
mapfile -t ALL < <(all_bundles "$T_TMP/store-r")
no_sentinel "RUNTRAIL_REDACT alone" "${ALL[@]}"
rec "$T_TMP/store-bad" --env RUNTRAIL_REDACT="a..b" --env RUNTRAIL_PAYLOAD=full \
    --env RUNTRAIL_HASH_KEY=short
Q=$(bundles "$T_TMP/store-bad" | head -n 1)
expect_eq "bad settings: counted (list, full+list, short key), redacted, random key" \
    "3 redacted sandbox" \
    "$(facts "$Q" counter.config_errors payload.event.mode | paste -sd' ') $(facts "$Q" meta.hash_key_id | cut -d: -f1)"
mapfile -t ALL < <(all_bundles "$T_TMP/store-bad")
no_sentinel "bad settings" "${ALL[@]}"
rec "$T_TMP/store-full" --env RUNTRAIL_PAYLOAD=full
U=$(bundles "$T_TMP/store-full" | head -n 1)
expect_eq "RUNTRAIL_PAYLOAD=full asked for: the payload is kept whole" "full 1" \
    "$(facts "$U" payload.event.mode) $(facts "$U" payload.event.data | grep -c "${SENT}-payload-password")"

# --- runtrail record: the same command line ---
CMD="curl -s -o /dev/null -H 'Authorization: Bearer ${SENT}-rec-bearer' 'http://127.0.0.1:$UP_PORT/x/?api_key=${SENT}-rec-query' && PGPASSWORD=${SENT}-rec-pg mysql -p${SENT}-rec-mysql --version >/dev/null 2>&1; true"
"$RUNTRAIL" record --quiet --store "$T_TMP/rec1" -- sh -c "$CMD" >/dev/null 2>&1
"$RUNTRAIL" record --quiet --store "$T_TMP/rec2" -- sh -c "$CMD" >/dev/null 2>&1
RUNTRAIL_HASH_KEY=$KEY "$RUNTRAIL" record --quiet --store "$T_TMP/rec3" -- sh -c "$CMD" >/dev/null 2>&1
RUNTRAIL_HASH_KEY=$KEY "$RUNTRAIL" record --quiet --store "$T_TMP/rec4" -- sh -c "$CMD" >/dev/null 2>&1
mapfile -t RB < <(find "$T_TMP"/rec[1-4] -name '*.rtb' | sort)
no_sentinel "record" "${RB[@]}"
facts "${RB[0]}" meta.command events >"$T_TMP/rec.facts"
expect_grep "record: META command holds hmac tokens" \
    "^sh -c curl .*'Authorization: Bearer hmac:[0-9a-f]{32}'.*api_key=hmac:[0-9a-f]{32}.*PGPASSWORD=hmac:[0-9a-f]{32} mysql -phmac:[0-9a-f]{32} " \
    "$T_TMP/rec.facts"
expect_grep "record: the outbound line holds an hmac token" \
    'outbound.*GET /x/\?api_key=hmac:[0-9a-f]{32} HTTP' "$T_TMP/rec.facts"
want_rec=api_key=hmac:$(printf %s "${SENT}-rec-query" | openssl dgst -sha256 -hmac "$KEY" -r | cut -c1-32)
expect_eq "record: random keys per run differ, a configured key agrees with HMAC(key, value)" \
    "different configured:$want_id configured:$want_id $want_rec $want_rec" \
    "$([ "$(hmac_tok "${RB[0]}")" != "$(hmac_tok "${RB[1]}")" ] && echo different) $(facts "${RB[2]}" meta.hash_key_id) $(facts "${RB[3]}" meta.hash_key_id) $(hmac_tok "${RB[2]}") $(hmac_tok "${RB[3]}")"
finish
