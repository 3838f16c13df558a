#!/usr/bin/env bash
# runtrail enable / disable / status / policy against the local Lambda control plane
# (tests/tools/fake-lambda.js, every request's SigV4 checked by AWS's @smithy/signature-v4),
# with the real s3rver (behind the verifying proxy) as the store status lists. The fake is
# first kept honest against AWS's own clients: the AWS CLI and @aws-sdk/client-lambda drive
# it. Then: dry-run changes nothing; enable (publishing the built layer), status, disable
# round trip restores the configuration byte for byte as the AWS CLI prints it, minus
# LastModified and RevisionId (Lambda changes both on every update); a function with other
# variables and layers keeps them, and settings another tool changed meanwhile stay; each
# error case. Loopback only, dummy credentials.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
s3_start || { _notok "s3rver starts"; finish; exit; }
ACCT=123456789012
LAYER1="arn:aws:lambda:us-east-1:$ACCT:layer:other-layer:1"
LAYER2="arn:aws:lambda:us-east-1:$ACCT:layer:other-layer:2"
RTL="arn:aws:lambda:us-east-1:$ACCT:layer:runtrail-x86_64"

echo "# $SECONDS s"
# --- the control plane: 12 named functions and 50 fillers (ListFunctions answers 50 a page)
mkdir -p "$T_TMP/layers"
python3 - "$T_TMP/seed.json" "$T_TMP/layers" <<'PY'
import json, sys
L = "arn:aws:lambda:us-east-1:123456789012:layer:"
fns = [
    {"FunctionName": "orders", "Description": "takes orders",
     "Environment": {"Variables": {"DB_HOST": "db.internal", "API_KEY": "s3cret-value",
                                   "RUNTRAIL_SAMPLE": "0.9"}},
     "Layers": [L + "other-layer:2"], "Tags": {"team": "pay"}},
    {"FunctionName": "plain", "Runtime": "nodejs20.x", "Tags": {"team": "pay"}},
    {"FunctionName": "gofn", "Runtime": "provided.al2023", "Handler": "bootstrap"},
    {"FunctionName": "oldpy", "Runtime": "python3.9"},
    {"FunctionName": "golegacy", "Runtime": "go1.x", "Handler": "main"},
    {"FunctionName": "img", "PackageType": "Image"},
    {"FunctionName": "wrapped", "Environment": {"Variables": {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"}}},
    {"FunctionName": "full5", "Layers": [L + "other-layer:1", L + "other-layer:2", L + "l3:1",
                                         L + "l4:1", L + "l5:1"]},
    {"FunctionName": "armfn", "Architectures": ["arm64"]},
    {"FunctionName": "busy"},
    {"FunctionName": "stuck"},
    {"FunctionName": "denied"},
] + [{"FunctionName": "filler-%03d" % i} for i in range(50)]
json.dump({"keys": {"S3RVER": {"secret": "S3RVER"},
                    "AKIDREADONLY": {"secret": "ro", "deny": ["UpdateFunctionConfiguration"]}},
           "update_ms": 300, "layer_dir": sys.argv[2],
           "layers": [{"name": "other-layer", "versions": 2}, {"name": "l3"}, {"name": "l4"},
                      {"name": "l5"}, {"name": "runtrail-arm64", "archs": ["arm64"]}],
           "functions": fns}, open(sys.argv[1], "w"))
PY
LPORT=$(free_port)
node "$RT_ROOT/tests/tools/fake-lambda.js" "$LPORT" "$T_TMP/seed.json" "$T_TMP/lambda.log" \
    >"$T_TMP/lambda.out" 2>&1 &
S3_PIDS+=($!)
wait_port "$LPORT" 20 || { _notok "fake-lambda starts"; cat "$T_TMP/lambda.out"; finish; exit; }
EP="http://127.0.0.1:$LPORT"
export RUNTRAIL_LAMBDA_ENDPOINT="$EP"
AWSL() { /usr/bin/aws --endpoint-url "$EP" --output json lambda "$@"; }
busy() { curl -s -m 5 -X POST --data "{\"name\":\"$1\",\"ms\":$2}" "$EP/__busy" >/dev/null; }
count() { grep -c "$1" "$T_TMP/lambda.log" || true; }
# A configuration as the AWS CLI prints it, minus the fields every update changes.
conf() { AWSL get-function-configuration --function-name "$1" | grep -v -E '"(LastModified|RevisionId)"'; }

echo "# $SECONDS s"
# --- 1. the fake against AWS's clients
AWSL get-function-configuration --function-name orders >"$T_TMP/cli.json" 2>"$T_TMP/cli.err"
expect_eq "AWS CLI: get-function-configuration" "orders python3.12 Successful" \
    "$(jq -r '"\(.FunctionName) \(.Runtime) \(.LastUpdateStatus)"' "$T_TMP/cli.json")"
expect_eq "AWS CLI: list-functions follows NextMarker over 2 pages" "62" \
    "$(AWSL list-functions | jq '.Functions | length')"
expect_eq "AWS CLI: update-function-configuration answers InProgress" "InProgress" \
    "$(AWSL update-function-configuration --function-name filler-000 --description x |
        jq -r .LastUpdateStatus)"
echo "a small layer" >"$T_TMP/layer.txt" && (cd "$T_TMP" && zip -q tiny.zip layer.txt)
expect_eq "AWS CLI: publish-layer-version" "1 arm64" \
    "$(AWSL publish-layer-version --layer-name cli-layer --zip-file "fileb://$T_TMP/tiny.zip" \
        --compatible-architectures arm64 2>"$T_TMP/publish.err" | jq -r '"\(.Version) \(.CompatibleArchitectures[0])"')"
FARN="arn:aws:lambda:us-east-1:$ACCT:function:filler-001"
AWSL tag-resource --resource "$FARN" --tags a=1,b=2
expect_eq "AWS CLI: tag-resource, list-tags (ARN in the path)" '{"a":"1","b":"2"}' \
    "$(AWSL list-tags --resource "$FARN" | jq -c .Tags)"
node "$RT_ROOT/tests/tools/lambda-sdk-drive.js" "$EP" filler-002 "$T_TMP/tiny.zip" \
    >"$T_TMP/sdk.out" 2>"$T_TMP/sdk.err"
cat >"$T_TMP/sdk.want" <<W
get.name	filler-002
get.status	Successful
getfunction.by_arn	filler-002
list.functions	62
list.pages	2
update.status	InProgress
update.again	ResourceConflictException
waiter.state	SUCCESS
update.stale	PreconditionFailedException
publish.version	1
layer.archs	["arm64"]
layer.size	$(wc -c <"$T_TMP/tiny.zip")
tags	sdk
missing	ResourceNotFoundException 404
badsig	InvalidSignatureException 403
W
expect_file "@aws-sdk/client-lambda: calls, paginator, waiter, errors" "$T_TMP/sdk.want" "$T_TMP/sdk.out"
expect_eq "every signed request but the SDK's wrong secret verified" "1" \
    "$(grep -v '"verdict":"ok"' "$T_TMP/lambda.log" | grep -c InvalidSignature)"

echo "# $SECONDS s"
# --- 2. dry run: the diff, and nothing changed
cp "$T_TMP/cli.json" "$T_TMP/orders.raw0"
conf orders >"$T_TMP/orders.before"
conf plain >"$T_TMP/plain.before"
: >"$T_TMP/lambda.log"
"$RUNTRAIL" enable orders --store s3://bkt/trails --layer "arn:aws:lambda:us-east-1:$ACCT:layer:runtrail-arm64:1" --dry-run \
    >"$T_TMP/dry.out" 2>&1
expect_grep "a layer of another architecture is refused" \
    "orders runs on x86_64; layer arn:aws:lambda:us-east-1:$ACCT:layer:runtrail-arm64:1 is for \[\"arm64\"\]" "$T_TMP/dry.out"
"$RUNTRAIL" enable orders --store s3://bkt/trails --publish-layer --sample 0.25 --dry-run \
    >"$T_TMP/dry.out" 2>&1
cat >"$T_TMP/dry.want" <<W
--- orders (now)
+++ orders (after enable: dry run, nothing changed)
  Layers[0] = $LAYER2
+ Layers[1] = $RTL:NEW
  Environment.DB_HOST = (value sha256:5e597932)
  Environment.API_KEY = (value sha256:$(printf s3cret-value | sha256sum | cut -c1-8))
- Environment.RUNTRAIL_SAMPLE = 0.9
+ Environment.RUNTRAIL_SAMPLE = 0.25
+ Environment.AWS_LAMBDA_EXEC_WRAPPER = /opt/runtrail/wrapper
+ Environment.RUNTRAIL_STORE = s3://bkt/trails
+ Environment.RUNTRAIL_SAVED = {"v":1,"added":"$RTL:NEW","replaced":null,"at":-1,"env":{"AWS_LAMBDA_EXEC_WRAPPER":null,"RUNTRAIL_STORE":null,"RUNTRAIL_SAMPLE":"0.9"}}
W
expect_file "--dry-run prints the change as a diff (other values as hashes)" "$T_TMP/dry.want" \
    "$T_TMP/dry.out"
expect_no_grep "--dry-run never prints another variable's value" 's3cret-value' "$T_TMP/dry.out"
AWSL get-function-configuration --function-name orders >"$T_TMP/orders.raw1"
expect_file "--dry-run changed nothing (RevisionId included)" "$T_TMP/orders.raw0" "$T_TMP/orders.raw1"
expect_eq "--dry-run sent no update and published nothing" "0 0" \
    "$(count '"method":"PUT"') $(count PublishLayerVersion)"

echo "# $SECONDS s"
# --- 3. enable two functions, publishing the built layer; then status
: >"$T_TMP/lambda.log"
t0=$(date +%s%N)
"$RUNTRAIL" enable orders plain --store s3://bkt/trails --publish-layer --sample 0.25 \
    --payload hash --yes >"$T_TMP/enable.out" 2>&1
rc=$?
t1=$(date +%s%N)
expect_eq "enable exits 0" 0 "$rc"
expect_grep "the layer is published once, for this build's architecture" \
    "^published $RTL:1 \(x86_64, [0-9]+ bytes\)" "$T_TMP/enable.out"
expect_eq "one PublishLayerVersion" "1" "$(count PublishLayerVersion)"
unzip -l "$T_TMP/layers/runtrail-x86_64-1.zip" >"$T_TMP/zip.list" 2>&1
expect_grep "the published zip is the layer (extension)" ' extensions/runtrail$' "$T_TMP/zip.list"
expect_grep "the published zip is the layer (wrapper)" ' runtrail/wrapper$' "$T_TMP/zip.list"
expect_grep "enable reports each function done" "^plain: recording into s3://bkt/trails with $RTL:1" \
    "$T_TMP/enable.out"
echo "# enable orders plain --publish-layer: $(grep -c . "$T_TMP/lambda.log") requests" \
    "($(count UpdateFunctionConfiguration) updates, $(count GetFunctionConfiguration) reads)," \
    "$(((t1 - t0) / 1000000)) ms wall"
curl -s -m 5 -X POST "$EP/__state" | jq .functions.orders.config >"$T_TMP/orders.on"
expect_eq "orders: layers in order, runtrail's last" "$LAYER2 $RTL:1" \
    "$(jq -r '[.Layers[].Arn] | join(" ")' "$T_TMP/orders.on")"
expect_eq "orders: settings merged, other variables untouched" \
    "db.internal s3cret-value /opt/runtrail/wrapper s3://bkt/trails 0.25 hash Successful" \
    "$(jq -r '.Environment.Variables | "\(.DB_HOST) \(.API_KEY) \(.AWS_LAMBDA_EXEC_WRAPPER) \(.RUNTRAIL_STORE) \(.RUNTRAIL_SAMPLE) \(.RUNTRAIL_PAYLOAD)"' \
        "$T_TMP/orders.on") $(jq -r .LastUpdateStatus "$T_TMP/orders.on")"
"$S3TOOL" bundles s3://bkt/trails 2 --fn orders --start 1796442000000000000 >/dev/null 2>&1
"$RUNTRAIL" status orders plain gofn >"$T_TMP/status.out" 2>&1
NEWEST=$(date -u -d @1796442001 +%Y-%m-%dT%H:%M:%SZ)
cat >"$T_TMP/status.want" <<W
FUNCTION	RECORDING	LAYER	STORE	SAMPLE	PAYLOAD	NEWEST
orders	yes	runtrail-x86_64:1	s3://bkt/trails	0.25	hash	$NEWEST
plain	yes	runtrail-x86_64:1	s3://bkt/trails	0.25	hash	-
gofn	no	-	-	1	redacted	-
W
expect_file "status: recording, layer, store, sample, payload, newest bundle" "$T_TMP/status.want" \
    "$T_TMP/status.out"
expect_eq "status --json" '{"function":"orders","recording":"yes","layer":"'"$RTL"':1","store":"s3://bkt/trails","sample":"0.25","payload":"hash","newest_bundle":"'"$NEWEST"'"}' \
    "$("$RUNTRAIL" status orders --json)"
"$RUNTRAIL" status --tag team=pay >"$T_TMP/status.all" 2>&1
expect_eq "status --all --tag: the two tagged functions" "orders plain" \
    "$(tail -n +2 "$T_TMP/status.all" | cut -f1 | tr '\n' ' ' | sed 's/ $//')"

echo "# $SECONDS s"
# --- 4. another tool changes other settings meanwhile; disable restores exactly the rest
AWSL update-function-configuration --function-name orders --description "changed by ci" \
    --memory-size 512 >/dev/null
busy orders 1500 # the other tool's update is still being applied (the CLI took longer than it)
: >"$T_TMP/lambda.log"
"$RUNTRAIL" disable orders plain >"$T_TMP/disable.out" 2>&1
expect_eq "disable exits 0 (the first update waited out the other tool's)" 0 $?
expect_grep "disable waited for the other tool's update (409, retried)" '"status":409' "$T_TMP/lambda.log"
conf plain >"$T_TMP/plain.after"
expect_file "plain: configuration restored byte for byte (minus LastModified, RevisionId)" \
    "$T_TMP/plain.before" "$T_TMP/plain.after"
sed -e 's/"Description": "takes orders"/"Description": "changed by ci"/' \
    -e 's/"MemorySize": 128/"MemorySize": 512/' "$T_TMP/orders.before" >"$T_TMP/orders.want"
conf orders >"$T_TMP/orders.after"
expect_file "orders: layers and environment restored, the other tool's changes kept" \
    "$T_TMP/orders.want" "$T_TMP/orders.after"
expect_exit "disable of a function that is not enabled says so" 2 "$RUNTRAIL" disable plain
expect_grep "... naming RUNTRAIL_SAVED" 'plain: recording was not enabled by runtrail enable: plain: no RUNTRAIL_SAVED' \
    "$T_TMP/last.err"

echo "# $SECONDS s"
# --- 5. what cannot be recorded, and errors people hit
L1="--layer $RTL:1"
expect_exit "go1.x is refused" 2 "$RUNTRAIL" enable golegacy --store s3://bkt/t $L1 --yes
expect_grep "... with the reason" 'golegacy \(go1.x\): this runtime runs on Amazon Linux 1' "$T_TMP/last.err"
expect_exit "an Amazon Linux 2 runtime is refused" 2 "$RUNTRAIL" enable oldpy --store s3://bkt/t $L1 --yes
expect_grep "... with the reason" 'oldpy \(python3.9\): this runtime runs on Amazon Linux 2 \(glibc 2.26\)' "$T_TMP/last.err"
expect_exit "a container image is refused" 2 "$RUNTRAIL" enable img --store s3://bkt/t $L1 --yes
expect_grep "... with the reason" 'img is a container image function: layers do not apply' "$T_TMP/last.err"
expect_exit "another wrapper is refused" 2 "$RUNTRAIL" enable wrapped --store s3://bkt/t $L1 --yes
expect_grep "... naming it" 'AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument' "$T_TMP/last.err"
expect_exit "a sixth layer is refused" 2 "$RUNTRAIL" enable full5 --store s3://bkt/t $L1 --yes
expect_grep "... with Lambda's limit" 'full5 already has 5 layers' "$T_TMP/last.err"
expect_exit "an arm64 function with an x86_64 layer is refused" 2 \
    "$RUNTRAIL" enable armfn --store s3://bkt/t $L1 --yes
expect_grep "... naming both" 'armfn runs on arm64; layer .*:runtrail-x86_64:1 is for \["x86_64"\]' "$T_TMP/last.err"
expect_exit "provided.al2023 is enabled" 0 "$RUNTRAIL" enable gofn --store s3://bkt/t $L1 --yes
expect_grep "... with a statement of what is and is not recorded" \
    '^gofn \(provided.al2023\): OS-only runtimes .* A Go binary .* is never interposed' "$T_TMP/last.out"
expect_exit "a function that does not exist" 2 "$RUNTRAIL" enable nope --store s3://bkt/t $L1 --yes
expect_grep "... is named" 'nope: no such Lambda function or layer \(404\): GetFunctionConfiguration: Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope' "$T_TMP/last.err"
expect_exit "a layer that does not exist" 2 "$RUNTRAIL" enable plain --store s3://bkt/t --layer "$RTL:9" --yes
expect_grep "... is named" "runtrail-x86_64:9: no such Lambda function or layer" "$T_TMP/last.err"
AWS_ACCESS_KEY_ID=AKIDREADONLY AWS_SECRET_ACCESS_KEY=ro \
    expect_exit "access denied" 2 "$RUNTRAIL" enable denied --store s3://bkt/t $L1 --yes
expect_grep "... names the action refused and the key" \
    'denied: access denied by Lambda \(403\): lambda:UpdateFunctionConfiguration on /2015-03-31/functions/denied/configuration denied for AKIDREADONLY \(environment\)' \
    "$T_TMP/last.err"
AWS_SECRET_ACCESS_KEY=wrong expect_exit "a wrong secret" 2 "$RUNTRAIL" status orders
expect_grep "... says the credentials were refused" \
    'GetFunctionConfiguration: Lambda refused the credentials S3RVER \(environment\): InvalidSignatureException' \
    "$T_TMP/last.err"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
expect_exit "no credentials" 2 "$RUNTRAIL" enable plain --store s3://bkt/t $L1 --yes
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
expect_grep "... says where it looked" 'no usable AWS credentials: .*set AWS_ACCESS_KEY_ID' "$T_TMP/last.err"
busy busy 1500
expect_exit "a concurrent update in progress is waited out (backoff)" 0 \
    "$RUNTRAIL" enable busy --store s3://bkt/t $L1 --yes
expect_grep "... after ResourceConflictException answers" '"path":"/2015-03-31/functions/busy/configuration".*"status":409' \
    "$T_TMP/lambda.log"
busy stuck -1
expect_exit "an update that stays in progress past --wait" 2 \
    "$RUNTRAIL" enable stuck --store s3://bkt/t $L1 --yes --wait 2
expect_grep "... is a clear error" 'stuck: another update of the function is in progress: UpdateFunctionConfiguration .*ResourceConflictException' \
    "$T_TMP/last.err"
curl -s -m 5 -X POST --data '{"name":"denied","code":"KMSAccessDeniedException","reason":"Lambda was unable to decrypt the environment variables because KMS access was denied."}' "$EP/__fail" >/dev/null
expect_exit "an update Lambda reports Failed" 2 "$RUNTRAIL" enable denied --store s3://bkt/t $L1 --yes
expect_grep "... gives Lambda's reason" "denied: the function's update failed \(LastUpdateStatus Failed\): denied: KMSAccessDeniedException: Lambda was unable to decrypt" \
    "$T_TMP/last.err"
expect_exit "an ARN of another region" 2 "$RUNTRAIL" status "arn:aws:lambda:eu-west-1:$ACCT:function:orders"
expect_grep "... asks for --region" 'the function is in eu-west-1, this command works in us-east-1: add --region eu-west-1' \
    "$T_TMP/last.err"
expect_exit "no --yes without a terminal" 2 "$RUNTRAIL" enable plain --store s3://bkt/t $L1 </dev/null
expect_grep "... says so" 'stdin is not a terminal: pass --yes' "$T_TMP/last.err"
expect_exit "a qualified ARN is refused" 2 "$RUNTRAIL" enable \
    "arn:aws:lambda:us-east-1:$ACCT:function:plain:prod" --store s3://bkt/t $L1 --yes
expect_grep "... with the reason" "a qualified ARN \(version or alias 'prod'\)" "$T_TMP/last.err"

echo "# $SECONDS s"
# --- 6. --all --tag, by ARN, a second enable, policy
: >"$T_TMP/lambda.log"
"$RUNTRAIL" enable --all --tag team=pay --store s3://bkt/t $L1 --dry-run >"$T_TMP/all.out" 2>&1
expect_eq "--all --tag: the tagged functions only" "orders plain" \
    "$(grep '^--- ' "$T_TMP/all.out" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
expect_eq "--all lists every page" "2" "$(count '"action":"ListFunctions"')"
"$RUNTRAIL" enable "arn:aws:lambda:us-east-1:$ACCT:function:orders" --store s3://bkt/a $L1 --yes \
    >/dev/null 2>&1 &&
    "$RUNTRAIL" enable "$ACCT:function:orders" --store s3://bkt/b $L1 --payload full --yes \
        >/dev/null 2>&1 &&
    "$RUNTRAIL" disable orders >/dev/null 2>&1
expect_file "enable twice (by ARN, by partial ARN), disable once: back to before the first" \
    "$T_TMP/orders.want" <(conf orders)
"$RUNTRAIL" policy orders --store s3://bkt/trails --sse aws:kms:1234abcd --json >"$T_TMP/policy.json"
expect_eq "policy: the role may only PutObject under its own partition" \
    's3:PutObject arn:aws:s3:::bkt/trails/v1/fn=orders/*|kms:GenerateDataKey arn:aws:kms:us-east-1:123456789012:key/1234abcd' \
    "$(jq -r '[.recorder.Statement[] | "\(.Action) \(.Resource)"] | join("|")' "$T_TMP/policy.json")"
expect_eq "policy: the responder may list and read that partition only" \
    's3:ListBucket arn:aws:s3:::bkt ["trails/v1/fn=orders/*"]|s3:GetObject arn:aws:s3:::bkt/trails/v1/fn=orders/* null|kms:Decrypt arn:aws:kms:us-east-1:123456789012:key/1234abcd null' \
    "$(jq -r '[.responder.Statement[] | "\(.Action) \(.Resource) \(.Condition.StringLike["s3:prefix"] | tojson)"] | join("|")' "$T_TMP/policy.json")"
expect_eq "policy: the role's name" "orders-role" "$(jq -r .role "$T_TMP/policy.json" | sed 's|.*/||')"
expect_eq "no request of runtrail failed signature verification" "0" \
    "$(grep '"ua":"runtrail' "$T_TMP/lambda.log" | grep -vc '"verdict":"ok"')"
finish
