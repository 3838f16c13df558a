#!/usr/bin/env python3
"""Reads `runtrail show --json` on stdin. Default: the aws_call events one per line,
`action resource credential status` in bundle order ("-" for an empty resource).
`--conns PORT...`: the HTTP text of the outbound summaries to those ports, one line each,
its lines joined by " | " and the destination written ENDPOINT."""
import json
import sys

conns = sys.argv[1:2] == ["--conns"]
ports = set(sys.argv[2:])
for line in sys.stdin:
    rec = json.loads(line)
    if rec.get("record") != "event":
        continue
    a = rec["args"]
    if not conns and rec["op"] == "aws_call":
        print(a["action"], a.get("resource") or "-", a.get("credential") or "-", a["status"])
    elif conns and rec["op"] == "outbound" and a.get("http"):
        if a["dest"].rsplit(":", 1)[-1] in ports:
            print(a["http"].replace("\n", " | ").replace(a["dest"], "ENDPOINT"))
