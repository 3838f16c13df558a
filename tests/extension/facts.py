#!/usr/bin/env python3
"""Reads `runtrail show --json BUNDLE` on stdin and prints one answer per query argument, for
the extension's e2e assertions:
  meta.KEY             a META field (JSON for non-strings: true, 3, ["preload","proxy"])
  counter.NAME         a META counter (0 when absent)
  payload.WHICH.KEY    a payload field (WHICH: event, response, error; "-" when absent);
                       payload.WHICH.data is written as is, without a newline
  header.NAME          a Lambda-Runtime-* header value
  env.NAME.FIELD       FIELD: value (or "-"), hmac
  code.KEY             a CODE field
  events / outside     one line per behaviour event inside / outside the invocation window:
                       "op key=value ..." (strings as JSON)
"""
import json
import sys

recs = [json.loads(line) for line in sys.stdin if line.strip()]
meta = next((r for r in recs if r.get("record") == "meta"), {})
code = next((r for r in recs if r.get("record") == "code"), {})
payloads = {r["which"]: r for r in recs if r.get("record") == "payload"}
headers = {r["name"]: r["value"] for r in recs if r.get("record") == "header"}
env = {r["name"]: r for r in recs if r.get("record") == "env"}
events = [r for r in recs if r.get("record") == "event" and r.get("kind") != "mark"]


def show(v):
    if v is None:
        return "-"
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def ev_line(e):
    args = " ".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(e.get("args", {}).items()))
    return "%s %s result=%s" % (e["op"], args, e.get("result"))


for q in sys.argv[1:]:
    parts = q.split(".")
    if parts[0] == "meta":
        print(show(meta.get(parts[1])))
    elif parts[0] == "counter":
        print(show(meta.get("counters", {}).get(parts[1], 0)))
    elif parts[0] == "payload" and parts[2] == "data":
        sys.stdout.write(payloads.get(parts[1], {}).get("data", ""))  # exact bytes
    elif parts[0] == "payload":
        print(show(payloads.get(parts[1], {}).get(parts[2])))
    elif parts[0] == "header":
        print(show(headers.get(".".join(parts[1:]))))
    elif parts[0] == "env":
        print(show(env.get(parts[1], {}).get(parts[2])))
    elif parts[0] == "code":
        print(show(code.get(parts[1])))
    elif q == "events":
        for e in events:
            if "outside_invocation" not in e.get("flags", []):
                print(ev_line(e))
    elif q == "outside":
        for e in events:
            if "outside_invocation" in e.get("flags", []):
                print(ev_line(e))
    else:
        sys.exit("facts.py: unknown query " + q)
