"""A Python Lambda handler. Like the other samples it reads a file from the task root, calls
an upstream HTTP service (SAMPLE_UPSTREAM_URL) and runs one child process, then answers with a
summary of the event (API Gateway proxy, S3 put or SQS batch). {"fail": "message"} raises."""
import json
import os
import subprocess
import urllib.request


class SampleError(Exception):
    pass


def _upstream():
    url = os.environ.get("SAMPLE_UPSTREAM_URL")
    if not url:
        return "unset"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace").strip()
    except OSError as e:
        return str(e)


def handler(event, context):
    if isinstance(event.get("fail"), str):
        raise SampleError(event["fail"])
    records = event.get("Records") if isinstance(event.get("Records"), list) else []
    first = records[0] if records else {}
    apigw = isinstance(event.get("httpMethod"), str)
    source = first.get("eventSource")
    kind = "apigw" if apigw else "s3" if source == "aws:s3" else "sqs" if source == "aws:sqs" \
        else "other"
    out = {"runtime": "python", "kind": kind}
    try:
        with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "config.json")) as f:
            greeting = json.load(f).get("greeting")
        out["greeting"] = greeting if isinstance(greeting, str) else "no config"
    except (OSError, ValueError, KeyError):
        out["greeting"] = "no config"
    out["upstream"] = _upstream()
    out["child"] = subprocess.run(["uname", "-s"], capture_output=True, text=True,
                                  check=False).stdout.strip()
    if apigw:
        out["method"] = event.get("httpMethod")
        out["path"] = event.get("path")
    elif kind == "s3":
        out["bucket"] = first["s3"]["bucket"]["name"]
        out["key"] = first["s3"]["object"]["key"]
    elif kind == "sqs":
        out["messages"] = len(records)
        out["ids"] = [r.get("messageId") for r in records]
    if not apigw:
        return out
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(out, separators=(",", ":"))}
