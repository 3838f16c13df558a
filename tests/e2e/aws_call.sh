#!/usr/bin/env bash
# aws_call events from AWS's own SDKs over real TLS: boto3 (Debian python3-boto3) and the AWS
# CLI (/usr/bin/aws) under `runtrail record`, against s3rver and dynalite behind a local TLS
# endpoint (tests/tools/tls_front.js, a test certificate made here with `openssl req`) and an
# STS-style query endpoint. Asserts the exact service:Action, resource, key id/region and status
# of every call, the HTTPS request line/Host/status on the connection summaries, and that no
# sentinel (the secret key, the session token, the bodies, every SigV4 signature the endpoint
# saw) appears in any byte of the bundles (decompressed) or of `show --json`.
. "$(dirname "$0")/../lib.sh"
cd "$T_TMP" || exit 1
CALLS="python3 $RT_ROOT/tests/e2e/aws_call/calls.py"
BIN="$RT_ROOT/node_modules/.bin"

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
check "test certificate generated" test -s cert.pem

mkdir s3data
S3_PORT=$(free_port)
NODE_OPTIONS=--openssl-legacy-provider "$BIN/s3rver" -d s3data -a 127.0.0.1 -p "$S3_PORT" -s \
    --configure-bucket bkt >s3rver.log 2>&1 &
PIDS+=($!)
DDB_PORT=$(free_port)
"$BIN/dynalite" --port "$DDB_PORT" --createTableMs 0 >dynalite.log 2>&1 &
PIDS+=($!)
wait_port "$S3_PORT" && wait_port "$DDB_PORT"
check "s3rver and dynalite listen" wait_port "$S3_PORT" 1
: >secrets.log
node "$RT_ROOT/tests/tools/tls_front.js" cert.pem key.pem ready secrets.log "tcp:$S3_PORT" \
    "tcp:$DDB_PORT" sts >front.log 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [ -s ready ] && break; sleep 0.05; done
mapfile -t P <ready
check "TLS endpoints listen" test "${#P[@]}" -eq 3

SECRET=SENTINELSECRETa81c3f
TOKEN=SENTINELTOKENd44e07
export SENTINEL_BODY=SENTINELBODY5b2c9e
export S3_URL="https://127.0.0.1:${P[0]}" DDB_URL="https://127.0.0.1:${P[1]}"
export STS_URL="https://127.0.0.1:${P[2]}" AWS_CA_BUNDLE="$T_TMP/cert.pem"
# s3rver knows one access key id, S3RVER; it does not check signatures (the secret is ours)
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$TOKEN
export AWS_DEFAULT_REGION=eu-west-1 HOME="$T_TMP/home" AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
mkdir -p "$HOME"

/usr/bin/python3 "$RT_ROOT/tests/e2e/aws_call/client.py" setup >setup.out 2>&1
check "dynamodb table created (unrecorded)" test $? -eq 0

# rec NAME CMD...: records CMD into st-NAME; sets BUNDLE
rec() {
    local name=$1
    shift
    timeout 300 "$RUNTRAIL" record --store "$T_TMP/st-$name" -- "$@" >"$name.out" 2>"$name.err"
    RC=$?
    BUNDLE=$(sed -n 's/^runtrail: recorded .* to //p' "$name.err" | tail -n 1)
    "$RUNTRAIL" show --json "$BUNDLE" >"$name.json"
}

# ---- boto3 ----
rec boto /usr/bin/python3 "$RT_ROOT/tests/e2e/aws_call/client.py"
expect_eq "boto3 client succeeds under record" 0 "$RC"
cat >boto.sdk <<'W'
s3:PutObject 200
s3:GetObject 200
s3:GetObject 404
s3:ListObjects 200
s3:ListObjectsV2 200
dynamodb:DescribeTable 200
dynamodb:PutItem 200
dynamodb:GetItem 200
sts:GetCallerIdentity 200 123456789012
W
expect_file "boto3 saw every answer" boto.sdk boto.out
$CALLS <boto.json >boto.got
cat >boto.want <<'W'
s3:PutObject bkt/dir/obj.txt S3RVER/eu-west-1 200
s3:GetObject bkt/dir/obj.txt S3RVER/eu-west-1 200
s3:GetObject bkt/missing.txt S3RVER/eu-west-1 404
s3:ListObjects bkt S3RVER/eu-west-1 200
s3:ListObjectsV2 bkt S3RVER/eu-west-1 200
dynamodb:DescribeTable tbl S3RVER/eu-west-1 200
dynamodb:PutItem tbl S3RVER/eu-west-1 200
dynamodb:GetItem tbl S3RVER/eu-west-1 200
sts:GetCallerIdentity - S3RVER/eu-west-1 200
W
expect_file "boto3: one aws_call per request, exact action, resource, credential, status" \
    boto.want boto.got
# the HTTPS connections' summaries carry the request line, Host and status as plain HTTP does
$CALLS --conns "${P[@]}" <boto.json >boto.conns
cat >boto.conns.want <<'W'
PUT /bkt/dir/obj.txt HTTP/1.1 | Host: ENDPOINT | HTTP/1.1 200 OK
POST / HTTP/1.1 | Host: ENDPOINT | HTTP/1.1 200 OK
POST / HTTP/1.1 | Host: ENDPOINT | HTTP/1.1 200 OK
W
expect_file "HTTPS summaries: request line, Host, status line" boto.conns.want boto.conns

# ---- the AWS CLI ----
# (the bodies come from files, and the item read back is not printed: the program's own argv
# and output are recorded, and the sentinel must be found only where a request carried it)
printf '%s' "$SENTINEL_BODY" >body.txt
printf '{"id":{"S":"k2"},"v":{"S":"%s"}}' "$SENTINEL_BODY" >item.json
AWS="/usr/bin/aws --ca-bundle $T_TMP/cert.pem --output json"
rec cli sh -c "
$AWS s3api put-object --endpoint-url $S3_URL --bucket bkt --key cli/one.txt --body body.txt &&
$AWS s3api get-object --endpoint-url $S3_URL --bucket bkt --key cli/one.txt got.txt &&
$AWS s3api list-objects-v2 --endpoint-url $S3_URL --bucket bkt --prefix cli/ &&
$AWS dynamodb put-item --endpoint-url $DDB_URL --table-name tbl --item file://item.json &&
$AWS dynamodb get-item --endpoint-url $DDB_URL --table-name tbl --key '{\"id\":{\"S\":\"k2\"}}' \
    --query Item.id.S &&
$AWS sts get-caller-identity --endpoint-url $STS_URL"
expect_eq "AWS CLI calls succeed under record" 0 "$RC"
expect_eq "AWS CLI got the object back" "$SENTINEL_BODY" "$(cat got.txt 2>/dev/null)"
$CALLS <cli.json >cli.got
cat >cli.want <<'W'
s3:PutObject bkt/cli/one.txt S3RVER/eu-west-1 200
s3:GetObject bkt/cli/one.txt S3RVER/eu-west-1 200
s3:ListObjectsV2 bkt S3RVER/eu-west-1 200
dynamodb:PutItem tbl S3RVER/eu-west-1 200
dynamodb:GetItem tbl S3RVER/eu-west-1 200
sts:GetCallerIdentity - S3RVER/eu-west-1 200
W
expect_file "AWS CLI: exact action, resource, credential, status" cli.want cli.got

# ---- Node.js: its own TLS, the SNI only ----
rec node node "$RT_ROOT/tests/e2e/aws_call/node_sni.js" "${P[2]}" cert.pem # token: environment
expect_eq "node client answered" "0 HTTP/1.1 200 OK" "$RC $(cat node.out)"
$CALLS <node.json >node.got
expect_eq "node: one aws_call, service from the SNI, action unknown" \
    "sts:unknown - - 0" "$(cat node.got)"
check "node: the outbound keeps its SNI" \
    grep -q '"op":"outbound".*"host":"sts.us-east-1.amazonaws.com"' node.json

# ---- the catalog: ls --aws ----
export RUNTRAIL_CACHE="$T_TMP/cache"
"$RUNTRAIL" index "$T_TMP"/st-boto "$T_TMP"/st-cli "$T_TMP"/st-node >index.out 2>&1
check "the bundles indexed" grep -q "indexed 3 bundles, 0 failed" index.out
lsfn() { "$RUNTRAIL" ls --json "$@" | python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["function"] for l in sys.stdin)))'; }
expect_eq "ls --aws s3:GetObject: both" "python3 sh" "$(lsfn --aws s3:GetObject)"
expect_eq "ls --aws 'dynamodb:Describe*': boto3 only" "python3" "$(lsfn --aws 'dynamodb:Describe*')"
expect_eq "ls --aws 'sts:*' --function sh: the CLI's" "sh" "$(lsfn --aws 'sts:*' --function sh)"
expect_eq "ls --aws 'sts:*': all three" "node python3 sh" "$(lsfn --aws 'sts:*')"
expect_exit "ls --aws 'iam:*': nothing (exit 1)" 1 "$RUNTRAIL" ls --aws 'iam:*'

# ---- no secret in any byte ----
sort -u -k2 secrets.log | awk '{print $2}' >sentinels
printf '%s\n' "$SECRET" "$TOKEN" "$SENTINEL_BODY" >>sentinels
check "the endpoint saw signatures and the token" test "$(grep -c '^signature' secrets.log)" -ge 15
leaks=0 seen=0
for b in "$T_TMP"/st-*/v1/*/*/*/*.rtb; do
    zstd -qdc "$b" >raw.bin || leaks=$((leaks + 1000))
    grep -a -F -f sentinels raw.bin && leaks=$((leaks + 1))
    grep -a -q -F "S3RVER/eu-west-1" raw.bin && seen=$((seen + 1)) # the search does find strings
done
expect_eq "the bundles decompressed and hold their aws_call strings in clear" 2 "$seen"
grep -a -F -f sentinels boto.json cli.json node.json && leaks=$((leaks + 1))
expect_eq "no signature, token, secret or body in any bundle byte or in show --json" 0 "$leaks"
finish
