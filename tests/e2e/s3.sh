#!/usr/bin/env bash
# The S3 client against the real s3rver, every request re-signed by AWS's @smithy/signature-v4
# in the verifying proxy: bundles land under the documented keys and AWS's own
# @aws-sdk/client-s3 lists, downloads and verifies them; session tokens, query strings and
# keys that need encoding; clear 403/404/wrong-region errors; credential_process.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
s3_start || { _notok "s3rver starts"; finish; exit; }

# 1. bundles under the documented keys
"$S3TOOL" bundles s3://bkt/team/prod 3 --fn orders --start 1795689711000000000 >"$T_TMP/put.out" 2>&1
expect_eq "3 bundles put" "3" "$(grep -c $'\tok$' "$T_TMP/put.out")"
"$S3TOOL" list bkt team/prod/ | cut -f1 >"$T_TMP/keys"
cat >"$T_TMP/want" <<'K'
team/prod/v1/fn=orders/dt=2026-11-26/hr=10/1795689711000000000-req-00000.rtb
team/prod/v1/fn=orders/dt=2026-11-26/hr=10/1795689712000000000-req-00001.rtb
team/prod/v1/fn=orders/dt=2026-11-26/hr=10/1795689713000000000-req-00002.rtb
K
expect_file "keys follow PREFIX/v1/fn=/dt=/hr=/<ns>-<rid>.rtb" "$T_TMP/want" "$T_TMP/keys"
expect_eq "stored objects are bundles on s3rver's disk" "3" \
    "$(find "$S3_DIR/bkt/team/prod/v1" -name '*.rtb._S3rver_object' | wc -l)"

# 2. AWS's own client lists and downloads them; they verify
mkdir -p "$T_TMP/sdk"
node "$RT_ROOT/tests/store/sdk-fetch.js" "$AWS_ENDPOINT_URL" bkt team/prod/ "$T_TMP/sdk" \
    >"$T_TMP/sdk.keys" 2>"$T_TMP/sdk.err"
expect_file "@aws-sdk/client-s3 lists the same keys" "$T_TMP/want" "$T_TMP/sdk.keys"
expect_exit "downloaded bundles verify (zstd checksum + footer digest)" 0 \
    "$S3TOOL" verify "$T_TMP"/sdk/*.rtb
expect_eq "bundle content names the invocation" "orders req-00001" \
    "$("$S3TOOL" verify "$T_TMP"/sdk/*00001.rtb | cut -f2,3 | tr '\t' ' ')"

# 3. keys and queries that need encoding
printf 'payload' >"$T_TMP/p"
KEY="dir with space/ünï cødé/a+b=c&d~e(1)!*'.rtb"
check "put key with spaces and non-ASCII" "$S3TOOL" put bkt "$KEY" "$T_TMP/p"
expect_eq "head returns its size" "7" "$("$S3TOOL" head bkt "$KEY")"
check "get it back" "$S3TOOL" get bkt "$KEY" "$T_TMP/got"
expect_file "same bytes" "$T_TMP/p" "$T_TMP/got"
expect_eq "list with a prefix needing encoding" "$KEY" \
    "$("$S3TOOL" list bkt "dir with space/ünï" | cut -f1)"
expect_eq "list with delimiter" "P dir with space/ünï cødé/" \
    "$("$S3TOOL" list bkt "dir with space/" "/")"
expect_eq "start-after skips" "" "$("$S3TOOL" list bkt "dir with" "" "$KEY")"
check "delete it" "$S3TOOL" delete bkt "$KEY"
expect_exit "head after delete is an error" 1 "$S3TOOL" head bkt "$KEY"
expect_grep "404 says what was missing" "no object s3://bkt/dir with space" "$T_TMP/last.err"

# 4. session token credentials (signed x-amz-security-token)
AWS_ACCESS_KEY_ID=AKIDTOKEN AWS_SECRET_ACCESS_KEY=tokensecret \
    AWS_SESSION_TOKEN='FwoGZXIvYXdzE+token/with=special&chars' \
    "$S3TOOL" bundles s3://bkt/tok 2 --fn tokfn >"$T_TMP/tok.out" 2>&1
expect_eq "puts with a session token are accepted" "2" "$(grep -c $'\tok$' "$T_TMP/tok.out")"
expect_eq "no request failed signature verification" "0" "$(s3_mismatches)"

# 5. a wrong secret: 403 names action, bucket and key
AWS_SECRET_ACCESS_KEY=wrong expect_exit "wrong secret fails" 1 "$S3TOOL" put bkt k/x.rtb "$T_TMP/p"
expect_grep "403 names action, bucket and key" 'PutObject on s3://bkt/k/x.rtb denied' \
    "$T_TMP/last.err"

# 6. wrong region names the right one
s3_fault '{"mode":"region","count":1,"region":"eu-central-1"}'
expect_exit "wrong region fails" 1 "$S3TOOL" head bkt "team/prod/v1/x"
expect_grep "names the bucket's region" 'bucket bkt is in region eu-central-1, not us-east-1' \
    "$T_TMP/last.err"

# 7. credentials from a profile's credential_process (JSON with Expiration)
cat >"$HOME/.aws/config" <<CFG
[profile proc]
region = us-east-1
credential_process = printf '{"Version":1,"AccessKeyId":"AKIDTOKEN","SecretAccessKey":"tokensecret","SessionToken":"t0k","Expiration":"2099-01-01T00:00:00Z"}'
CFG
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; AWS_PROFILE=proc "$S3TOOL" list bkt tok/ >"$T_TMP/proc.out" 2>&1)
expect_eq "credential_process credentials list the bucket" "2" "$(grep -c 'tok/v1' "$T_TMP/proc.out")"
cat >"$HOME/.aws/credentials" <<CFG
[static]
aws_access_key_id = S3RVER
aws_secret_access_key = S3RVER
CFG
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; AWS_PROFILE=static "$S3TOOL" list bkt tok/ >"$T_TMP/static.out" 2>&1)
expect_eq "credentials file profile works" "2" "$(grep -c 'tok/v1' "$T_TMP/static.out")"
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; AWS_PROFILE=none "$S3TOOL" list bkt >"$T_TMP/none.out" 2>&1)
expect_grep "no credentials: says where it looked" "profile 'none'" "$T_TMP/none.out"
expect_eq "only the wrong-secret request failed verification" "1" "$(s3_mismatches)"
finish
