#!/usr/bin/env python3
"""Sends the exact bytes of REQUEST_FILE to HOST:PORT and prints the answer as one JSON line
(status, headers in order, body as base64), parsed with http.client. With --twice the request
is sent twice on one connection (keep-alive) and both answers are printed; with --pause-at N
the first N bytes are sent, then nothing for 0.6 s, then the rest (a slow stream).
  raw_http.py HOST PORT REQUEST_FILE [--twice] [--pause-at N]"""
import base64
import http.client
import json
import socket
import sys
import time

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
times = 2 if "--twice" in sys.argv[4:] else 1
pause_at = int(sys.argv[sys.argv.index("--pause-at") + 1]) if "--pause-at" in sys.argv else 0
with open(path, "rb") as f:
    raw = f.read()
s = socket.create_connection((host, port), timeout=10)
for _ in range(times):
    if pause_at:
        s.sendall(raw[:pause_at])
        time.sleep(0.6)
        s.sendall(raw[pause_at:])
    else:
        s.sendall(raw)
    r = http.client.HTTPResponse(s)
    r.begin()
    body = r.read()
    print(json.dumps({"status": r.status, "version": r.version, "headers": r.getheaders(),
                      "body_b64": base64.b64encode(body).decode()}))
s.close()
