# Sourced by the store e2e tests and the store benchmark (after tests/lib.sh): starts the real
# s3rver on a free loopback port with bucket "bkt", and the verifying proxy in front of it;
# both are killed by the EXIT trap. Exports the AWS_* variables so that runtrail and
# rt-s3tool talk to the proxy (path-style, credentials S3RVER/S3RVER).
#   s3_start            start both (waits at most 30 s)
#   s3_fault JSON       set the proxy's fault mode, e.g. '{"mode":"503","count":2}'
#   s3_mismatches       number of requests the proxy rejected for a bad signature
S3TOOL="$RT_ROOT/$BUILD/tests/store/rt-s3tool"
S3_PIDS=()
_s3_cleanup() {
    local p
    for p in "${S3_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${S3_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    _t_cleanup
}
trap _s3_cleanup EXIT

_s3_wait_port() { # _s3_wait_port PORT
    local i
    for i in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

s3_start() {
    S3_DIR="$T_TMP/s3rver"
    mkdir -p "$S3_DIR"
    S3_PORT=$(free_port)
    NODE_OPTIONS=--openssl-legacy-provider "$RT_ROOT/node_modules/.bin/s3rver" -d "$S3_DIR" \
        -a 127.0.0.1 -p "$S3_PORT" -s --configure-bucket bkt >"$T_TMP/s3rver.log" 2>&1 &
    S3_PIDS+=($!)
    PROXY_PORT=$(free_port)
    PROXY_LOG="$T_TMP/proxy.log"
    : >"$PROXY_LOG"
    node "$RT_ROOT/tests/store/sigv4-proxy.js" "$PROXY_PORT" "$S3_PORT" "$PROXY_LOG" \
        AKIDTOKEN:tokensecret >"$T_TMP/proxy.out" 2>&1 &
    S3_PIDS+=($!)
    _s3_wait_port "$S3_PORT" && _s3_wait_port "$PROXY_PORT" || {
        echo "# s3rver or proxy did not start"; cat "$T_TMP/s3rver.log" "$T_TMP/proxy.out"
        return 1
    }
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
    export AWS_ENDPOINT_URL="http://127.0.0.1:$PROXY_PORT"
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION
    export HOME="$T_TMP/home" AWS_CONFIG_FILE="$T_TMP/home/.aws/config"
    export AWS_SHARED_CREDENTIALS_FILE="$T_TMP/home/.aws/credentials"
    mkdir -p "$HOME/.aws"
}

s3_fault() {
    curl -s -m 5 -X POST --data "$1" "http://127.0.0.1:$PROXY_PORT/__control" >/dev/null
}

s3_mismatches() {
    grep -c '"verdict":"MISMATCH"' "$PROXY_LOG" || true
}
