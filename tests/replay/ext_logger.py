#!/usr/bin/env python3
"""A tiny Lambda external extension for the emulator tests: registers with the Extensions API
(name = its file name, events from TEST_EXT_EVENTS, default INVOKE,SHUTDOWN), loops on
event/next and appends one line per step to TEST_EXT_LOG:
    register <status> <identifier> <functionName> <handler>
    INVOKE <requestId> <invokedFunctionArn> <tracing.type>
    SHUTDOWN <shutdownReason> <deadline in ms from now, rounded to 100>
It exits after SHUTDOWN. TEST_EXT_DELAY_MS makes it slow to come back to next (in ms);
TEST_EXT_INIT_DELAY_MS slow to call next the first time, after register, and then it logs
    init-done <epoch ms>
just before that first next. With TEST_EXT_TELEMETRY=1 it subscribes to the Telemetry API's
"function" records (after that delay: late in the Init phase) and logs each record it gets:
    telemetry <record>"""
import http.client, http.server, json, os, sys, threading, time

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
log_path = os.environ.get("TEST_EXT_LOG", "/dev/stderr")
events = os.environ.get("TEST_EXT_EVENTS", "INVOKE,SHUTDOWN").split(",")
delay = int(os.environ.get("TEST_EXT_DELAY_MS", "0")) / 1000.0
init_delay = int(os.environ.get("TEST_EXT_INIT_DELAY_MS", "0")) / 1000.0
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
if init_delay:
    time.sleep(init_delay)
    log("init-done %d" % int(time.time() * 1000))


# The emulator may deliver what it kept for a subscriber as soon as it has answered the
# subscription, before this process's main thread has logged that answer: records wait for it,
# so that the log's order is the order the extension saw (subscribed, then records).
subscribed = threading.Event()


class Telemetry(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        subscribed.wait(10)
        records = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for rec in records:
            log("telemetry %s" % rec["record"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


if os.environ.get("TEST_EXT_TELEMETRY") == "1":
    server = http.server.HTTPServer(("127.0.0.1", 0), Telemetry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sub = {"schemaVersion": "2022-07-01", "types": ["function"],
           "buffering": {"timeoutMs": 25, "maxItems": 1000, "maxBytes": 262144},
           "destination": {"protocol": "HTTP",
                           "URI": "http://sandbox.localdomain:%d/" % server.server_port}}
    conn.request("PUT", "/2022-07-01/telemetry", json.dumps(sub),
                 {"Lambda-Extension-Identifier": ext_id, "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    log("subscribe %d" % r.status)
    subscribed.set()
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
