# The boto3 side of tests/e2e/aws_call.sh: S3 PutObject, GetObject, ListObjects,
# ListObjectsV2 (s3rver), DynamoDB DescribeTable, PutItem, GetItem (dynalite), and STS
# GetCallerIdentity, each over TLS to the local endpoints named in the environment. Bodies carry
# SENTINEL_BODY; the credentials come from the environment (their secret and session token are
# sentinels too). Prints one line per call: "service:Action status".
# `client.py setup` only creates the table (and waits until it is active), unrecorded.
import os
import sys

import boto3

ca = os.environ["AWS_CA_BUNDLE"]
s3 = boto3.client("s3", endpoint_url=os.environ["S3_URL"], verify=ca)
ddb = boto3.client("dynamodb", endpoint_url=os.environ["DDB_URL"], verify=ca)
sts = boto3.client("sts", endpoint_url=os.environ["STS_URL"], verify=ca)
body = os.environ["SENTINEL_BODY"]

if sys.argv[1:] == ["setup"]:
    ddb.create_table(
        TableName="tbl",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName="tbl", WaiterConfig={"Delay": 0.2})
    sys.exit(0)

r = s3.put_object(Bucket="bkt", Key="dir/obj.txt", Body=body.encode())
print("s3:PutObject", r["ResponseMetadata"]["HTTPStatusCode"])
r = s3.get_object(Bucket="bkt", Key="dir/obj.txt")
assert r["Body"].read().decode() == body
print("s3:GetObject", r["ResponseMetadata"]["HTTPStatusCode"])
try:
    s3.get_object(Bucket="bkt", Key="missing.txt")
except s3.exceptions.NoSuchKey as e:
    print("s3:GetObject", e.response["ResponseMetadata"]["HTTPStatusCode"])
r = s3.list_objects(Bucket="bkt")
print("s3:ListObjects", r["ResponseMetadata"]["HTTPStatusCode"])
r = s3.list_objects_v2(Bucket="bkt", Prefix="dir/")
print("s3:ListObjectsV2", r["ResponseMetadata"]["HTTPStatusCode"])

r = ddb.describe_table(TableName="tbl")
print("dynamodb:DescribeTable", r["ResponseMetadata"]["HTTPStatusCode"])
r = ddb.put_item(TableName="tbl", Item={"id": {"S": "k1"}, "v": {"S": body}})
print("dynamodb:PutItem", r["ResponseMetadata"]["HTTPStatusCode"])
r = ddb.get_item(TableName="tbl", Key={"id": {"S": "k1"}})
assert r["Item"]["v"]["S"] == body
print("dynamodb:GetItem", r["ResponseMetadata"]["HTTPStatusCode"])

r = sts.get_caller_identity()
print("sts:GetCallerIdentity", r["ResponseMetadata"]["HTTPStatusCode"], r["Account"])
sys.stdout.flush()
