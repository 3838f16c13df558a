#!/usr/bin/env python3
"""A tiny Lambda external extension for the emulator tests: registers with the Extensions API
(name = its file name, events from TEST_EXT_EVENTS, default INVOKE,SHUTDOWN), loops on
event/next and appends one line per step to TEST_EXT_LOG:
    register <status> <identifier> <functionName> <handler>
    INVOKE <requestId> <invokedFunctionArn> <tracing.type>
    SHUTDOWN <shutdownReason> <deadline in ms from now, rounded to 100>
It exits after SHUTDOWN. TEST_EXT_DELAY_MS makes it slow to come back to next (in ms)."""
import http.client, json, os, sys, time

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
log_path = os.environ.get("TEST_EXT_LOG", "/dev/stderr")
events = os.environ.get("TEST_EXT_EVENTS", "INVOKE,SHUTDOWN").split(",")
delay = int(os.environ.get("TEST_EXT_DELAY_MS", "0")) / 1000.0
name = os.path.basename(sys.argv[0])
conn = http.client.HTTPConnection(api, timeout=60)


def log(line):
    with open(log_path, "a") as f:
        f.write(line + "\n")


conn.request("POST", "/2020-01-01/extension/register", json.dumps({"events": events}),
             {"Lambda-Extension-Name": name, "Content-Type": "application/json"})
r = conn.getresponse()
body = json.loads(r.read())
ext_id = r.getheader("Lambda-Extension-Identifier")
log("register %d %s %s %s" % (r.status, ext_id, body.get("functionName"), body.get("handler")))
while True:
    conn.request("GET", "/2020-01-01/extension/event/next",
                 headers={"Lambda-Extension-Identifier": ext_id})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        log("next-status %d" % r.status)
        sys.exit(1)
    ev = json.loads(data)
    if ev["eventType"] == "INVOKE":
        log("INVOKE %s %s %s" % (ev["requestId"], ev["invokedFunctionArn"],
                                 ev["tracing"]["type"]))
        if delay:
            time.sleep(delay)
    else:
        left = ev["deadlineMs"] - int(time.time() * 1000)
        log("SHUTDOWN %s %d" % (ev["shutdownReason"], round(left, -2)))
        sys.exit(0)
