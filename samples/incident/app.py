"""The scripted incident: a thumbnail function with a command-injection bug.

It takes an API Gateway request `GET /thumbnail?name=cat.png`, checks the image exists in its
task root and "resizes" it with a shell command built from the query string. A request whose
name carries `; ...` runs the attacker's command inside the function: in events/attack.json it
reads /proc/self/environ (the function's AWS credentials) and posts it to an outside host. The
response is still HTTP 200 with normal latency: APM sees nothing. runtrail sees the exec, the
environ read and the outbound connection (see scripts/demo.sh and docs/incident-response.md)."""
import json
import os
import subprocess


def handler(event, context):
    params = event.get("queryStringParameters") or {}
    name = params.get("name", "")
    root = os.environ.get("LAMBDA_TASK_ROOT", ".")
    image = os.path.join(root, "images", os.path.basename(name.split(";")[0].strip()))
    exists = os.path.exists(image)
    # The bug: user input in a shell command line.
    out = subprocess.run("echo resized " + name, shell=True, capture_output=True, text=True,
                         check=False, timeout=5)
    body = {"thumbnail": name.split(";")[0].strip(), "found": exists,
            "result": out.stdout.splitlines()[0] if out.stdout else ""}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body, separators=(",", ":"))}
