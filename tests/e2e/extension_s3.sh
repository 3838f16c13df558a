#!/usr/bin/env bash
# The extension storing to S3 as it would in Lambda: RUNTRAIL_STORE=s3://bkt/trails and the
# function's own credentials, against the real s3rver behind the SigV4-verifying proxy
# (tests/store/s3env.sh). Keys follow the partition layout, every request is correctly signed,
# bundles downloaded from S3 verify and hold no credential in clear; while S3 answers 503 the
# invocation is unaffected, its bundle waits in the spool and is uploaded later, and the next
# bundle counts the failure.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
s3_start || { _notok "s3rver starts"; finish; exit; }
ROOT=$RT_ROOT
C_BOOTSTRAP=$ROOT/$BUILD/samples/c/bootstrap
EVENT=$ROOT/samples/events/s3-put.json
mkdir -p "$T_TMP/run" "$T_TMP/opt"
S3ENV=(--env AWS_ACCESS_KEY_ID=S3RVER --env AWS_SECRET_ACCESS_KEY=S3RVER
       --env AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL" --env AWS_REGION=us-east-1
       --env RUNTRAIL_RUN_DIR="$T_TMP/run" --env RUNTRAIL_SPOOL_DIR="$T_TMP/spool"
       --env RUNTRAIL_LAYERS_DIR="$T_TMP/opt")

# (LD_DEBUG=files: which libraries each process of the sandbox loads, one file per process)
mkdir -p "$T_TMP/ld"
"$RUNTRAIL" invoke --store s3://bkt/trails --function-name orders --event "$EVENT" --repeat 3 \
    "${S3ENV[@]}" --env LD_DEBUG=files --env LD_DEBUG_OUTPUT="$T_TMP/ld/files" \
    --task-root "$ROOT/samples/c-bootstrap" -- "$C_BOOTSTRAP" >"$T_TMP/out" 2>"$T_TMP/err"
expect_eq "three invocations answered" 3 "$(grep -c example-uploads "$T_TMP/out")"
# The extension loads libcurl at its first upload: the layer's own (HTTP(S) and OpenSSL only,
# scripts/build-curl.sh) where make built it from Debian's source (.deps/src), else the
# system's libcurl.so.4.
EXT_LD=$(grep -l 'file=libcurl.so.4\|file=.*libruntrail-curl.so' "$T_TMP"/ld/files.* 2>/dev/null |
    xargs -r grep -l 'runtrail-extension\|extensions/runtrail' | head -n 1)
if [ -f "$ROOT/$BUILD/layer/runtrail/lib/libruntrail-curl.so" ]; then
    expect_eq "the extension loads the layer's own libcurl, and with it no TLS library but OpenSSL" \
        "runtrail/lib/libruntrail-curl.so 0" \
        "$(grep -o 'runtrail/lib/libruntrail-curl\.so' "$EXT_LD" | head -n 1) $(grep -c 'file=lib\(gnutls\|curl\.so\|rtmp\|ssh2\|ldap\|gssapi\)' "$EXT_LD")"
else
    expect_grep "the extension loads the system's libcurl" 'file=libcurl\.so\.4' "$EXT_LD"
fi
"$S3TOOL" list bkt trails/ | cut -f1 >"$T_TMP/keys"
expect_eq "three invocation bundles and the shutdown bundle uploaded" "4 1" \
    "$(wc -l <"$T_TMP/keys") $(grep -c -- '-shutdown\.rtb$' "$T_TMP/keys")"
expect_eq "keys: trails/v1/fn=orders/dt=YYYY-MM-DD/hr=HH/<ns>-<request id>.rtb" 3 \
    "$(grep -cE '^trails/v1/fn=orders/dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/hr=[0-9]{2}/[0-9]{19}-[0-9a-f-]{36}\.rtb$' "$T_TMP/keys")"
expect_eq "every upload was correctly signed (independent SigV4 check)" 0 "$(s3_mismatches)"
download() { # download KEYS DIR: each key listed in the file KEYS, as DIR/N.rtb
    mkdir -p "$2"
    local i=0 key
    while read -r key; do
        i=$((i + 1))
        "$S3TOOL" get bkt "$key" "$2/$i.rtb" >/dev/null 2>&1
    done <"$1"
}
download "$T_TMP/keys" "$T_TMP/got"
expect_exit "downloaded bundles verify as one chain" 0 "$RUNTRAIL" verify "$T_TMP/got"
for f in "$T_TMP"/got/*.rtb; do zstd -dc "$f"; done >"$T_TMP/raw"
expect_eq "no credential in clear in the uploaded bundles" 0 \
    "$(grep -a -c -e 'S3RVER' "$T_TMP/raw")"

# A layer whose own libcurl cannot be loaded (one without libcurl's functions here; a library
# it needs missing from the image would be the same): the extension says so and uploads with
# the system's libcurl.so.4.
if [ -f "$ROOT/$BUILD/layer/runtrail/lib/libruntrail-curl.so" ]; then
    cp -r "$ROOT/$BUILD/layer" "$T_TMP/badlayer"
    printf 'int not_curl(void) { return 0; }\n' >"$T_TMP/notcurl.c"
    cc -shared -fPIC -o "$T_TMP/badlayer/runtrail/lib/libruntrail-curl.so" "$T_TMP/notcurl.c"
    "$RUNTRAIL" invoke --layer "$T_TMP/badlayer" --store s3://bkt/fallback --function-name fb \
        --event "$EVENT" "${S3ENV[@]}" --task-root "$ROOT/samples/c-bootstrap" \
        -- "$C_BOOTSTRAP" >"$T_TMP/fb.out" 2>"$T_TMP/fb.err"
    expect_grep "own libcurl unusable: the extension says so and takes the system's" \
        "cannot load $T_TMP/badlayer/extensions/../runtrail/lib/libruntrail-curl\.so \(curl_global_init\): loading the system's libcurl\.so\.4 instead" \
        "$T_TMP/fb.err"
    expect_eq "own libcurl unusable: the bundle and the shutdown bundle uploaded all the same" \
        2 "$("$S3TOOL" list bkt fallback/ | wc -l)"
fi

# S3 over TLS with the layer's own libcurl, which has no CA bundle compiled in: it verifies with
# OpenSSL's default store, which SSL_CERT_FILE names here (a test certificate, made with
# `openssl req`, for a TLS endpoint in front of the verifying proxy: tests/tools/tls_front.js).
# Without it, the test certificate does not verify: libcurl's words on stderr, the bundle
# spooled, the invocation unaffected.
if [ -f "$ROOT/$BUILD/layer/runtrail/lib/libruntrail-curl.so" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" \
        -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
    node "$ROOT/tests/tools/tls_front.js" "$T_TMP/cert.pem" "$T_TMP/key.pem" "$T_TMP/tls.ready" \
        "$T_TMP/tls.secrets" "tcp:${AWS_ENDPOINT_URL##*:}" >"$T_TMP/tls.log" 2>&1 &
    S3_PIDS+=($!)
    for _ in $(seq 200); do [ -s "$T_TMP/tls.ready" ] && break; sleep 0.05; done
    TLS_ENV=("${S3ENV[@]}" --env AWS_ENDPOINT_URL="https://127.0.0.1:$(head -n 1 "$T_TMP/tls.ready")")
    "$RUNTRAIL" invoke --store s3://bkt/tls --function-name tls --event "$EVENT" "${TLS_ENV[@]}" \
        --env SSL_CERT_FILE="$T_TMP/cert.pem" --task-root "$ROOT/samples/c-bootstrap" \
        -- "$C_BOOTSTRAP" >"$T_TMP/tls.out" 2>"$T_TMP/tls.err"
    expect_eq "TLS, SSL_CERT_FILE naming the endpoint's certificate: both bundles uploaded" 2 \
        "$("$S3TOOL" list bkt tls/ | wc -l)"
    rm -rf "$T_TMP/spool"
    "$RUNTRAIL" invoke --store s3://bkt/untrusted --function-name untrusted --event "$EVENT" \
        "${TLS_ENV[@]}" --env SSL_CERT_FILE=/nonexistent --env SSL_CERT_DIR=/nonexistent \
        --task-root "$ROOT/samples/c-bootstrap" -- "$C_BOOTSTRAP" \
        >"$T_TMP/untrusted.out" 2>"$T_TMP/untrusted.err"
    expect_grep "TLS, a certificate no store trusts: the invocation answers" \
        '"bucket":"example-uploads"' "$T_TMP/untrusted.out"
    expect_grep "TLS, a certificate no store trusts: libcurl's words on stderr" \
        'SSL certificate problem' "$T_TMP/untrusted.err"
    expect_eq "TLS, a certificate no store trusts: nothing uploaded, the bundles spooled" "0 yes" \
        "$("$S3TOOL" list bkt untrusted/ | wc -l) $([ -n "$(find "$T_TMP/spool" -type f 2>/dev/null)" ] && echo yes)"
    rm -rf "$T_TMP/spool"
fi

# S3 slow to answer (3.5 s for the first PUT; the store gives a request 2 s): the extension
# holds event/next for the seal (RUNTRAIL_FLUSH_WAIT_MS, generous here), but never past the
# invocation's deadline, so a 1 s function still answers, and its bundle arrives later.
s3_fault '{"mode":"slow","count":1,"method":"PUT","delay_ms":3500}'
"$RUNTRAIL" invoke --store s3://bkt/slow --function-name slow --event "$EVENT" --timeout 1 \
    "${S3ENV[@]}" --env RUNTRAIL_FLUSH_WAIT_MS=20000 --task-root "$ROOT/samples/c-bootstrap" \
    -- "$C_BOOTSTRAP" >"$T_TMP/slow.out" 2>"$T_TMP/slow.err"
expect_grep "S3 slow: the 1 s invocation answers (the hold ends before its deadline)" \
    '"bucket":"example-uploads"' "$T_TMP/slow.out"
expect_no_grep "S3 slow: no timeout" 'Timedout|status timeout' "$T_TMP/slow.err"
s3_fault '{"mode":"none"}'
expect_eq "S3 slow: the bundle and the shutdown bundle uploaded all the same" "2 1" \
    "$("$S3TOOL" list bkt slow/ | wc -l) $("$S3TOOL" list bkt slow/ | grep -c -- '-shutdown\.rtb')"

# S3 answers 503 for a while: the function does not notice; the spool catches up, even though
# its folder is emptied in between (as a function clearing /tmp at each invocation would).
EM_PORT=$(free_port)
"$RUNTRAIL" emulate --listen "127.0.0.1:$EM_PORT" --store s3://bkt/flaky --function-name flaky \
    "${S3ENV[@]}" --task-root "$ROOT/samples/c-bootstrap" -- "$C_BOOTSTRAP" \
    2>"$T_TMP/emulate.err" &
EM_PID=$!
S3_PIDS+=($EM_PID)
for _ in $(seq 100); do grep -q listening "$T_TMP/emulate.err" 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$EM_PORT/2015-03-31/functions/function/invocations"
s3_fault '{"mode":"503","count":1000}'
curl -s --max-time 20 --data-binary @"$EVENT" "$URL" >"$T_TMP/em1"
expect_grep "S3 down: the invocation answers normally" '"bucket":"example-uploads"' "$T_TMP/em1"
for _ in $(seq 100); do [ -n "$(find "$T_TMP/spool" -type f 2>/dev/null)" ] && break; sleep 0.1; done
expect_eq "S3 down: the bundle waits in the spool" yes \
    "$([ -n "$(find "$T_TMP/spool" -type f 2>/dev/null)" ] && echo yes)"
rm -rf "$T_TMP/spool"
s3_fault '{"mode":"none"}'
curl -s --max-time 20 --data-binary @"$EVENT" "$URL" >"$T_TMP/em2"
kill -TERM "$EM_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$EM_PID" 2>/dev/null || break; sleep 0.1; done
"$S3TOOL" list bkt flaky/ | cut -f1 >"$T_TMP/fkeys"
expect_eq "S3 back: both bundles and the shutdown bundle uploaded (the emptied spool's too)" "3 1" \
    "$(wc -l <"$T_TMP/fkeys") $(grep -c -- '-shutdown\.rtb$' "$T_TMP/fkeys")"
expect_eq "the outage said once on stderr, with S3's code, and its end once" "2 1 1" \
    "$(grep -c '^runtrail-extension: store: ' "$T_TMP/emulate.err") $(grep -c '^runtrail-extension: store: .*503' "$T_TMP/emulate.err") $(grep -c '^runtrail-extension: store: the store takes bundles again' "$T_TMP/emulate.err")"
download "$T_TMP/fkeys" "$T_TMP/flaky"
expect_exit "S3 back: the uploaded bundles form one closed verified chain" 0 \
    "$RUNTRAIL" verify --strict "$T_TMP/flaky"
second=$(sort "$T_TMP/fkeys" | grep -v -- '-shutdown\.rtb$' | tail -n 1)
"$S3TOOL" get bkt "$second" "$T_TMP/second.rtb" >/dev/null 2>&1
expect_eq "the next bundle counts the failed upload" yes \
    "$([ "$("$RUNTRAIL" show --json "$T_TMP/second.rtb" | python3 "$ROOT/tests/extension/facts.py" counter.store_failures)" -ge 1 ] && echo yes)"
finish
