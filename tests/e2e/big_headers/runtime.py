"""A runtime for tests/e2e/big_headers.sh: for each invocation, posts its error with a header
block of exactly event["block"] bytes (request line to the blank line; the X-Ray cause header
is padded to fit), logs "BLOCK STATUS" to argv[1], and when that post was refused posts a small
error, so that the invocation ends."""
import http.client
import json
import os
import sys

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
log = open(sys.argv[1], "a")
conn = http.client.HTTPConnection(host, int(port), timeout=30)


def post_error(rid, block):
    target = "/2018-06-01/runtime/invocation/%s/error" % rid
    fixed = [("Host", "%s:%s" % (host, port)), ("Content-Length", "2"),
             ("Lambda-Runtime-Function-Error-Type", "Big.Header")]
    size = len("POST %s HTTP/1.1\r\n" % target) + 2  # and the blank line
    size += sum(len("%s: %s\r\n" % h) for h in fixed)
    size += len("Lambda-Runtime-Function-XRay-Error-Cause: \r\n")
    conn.putrequest("POST", target, skip_host=True, skip_accept_encoding=True)
    for name, value in fixed:
        conn.putheader(name, value)
    if block:
        conn.putheader("Lambda-Runtime-Function-XRay-Error-Cause", "c" * (block - size))
    conn.endheaders(b"{}")
    r = conn.getresponse()
    r.read()
    return r.status


while True:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    r = conn.getresponse()
    event = json.loads(r.read())
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    status = post_error(rid, event["block"])
    log.write("%d %d\n" % (event["block"], status))
    log.flush()
    if status >= 400:
        conn.close()  # the server may have closed it after refusing
        post_error(rid, 0)
