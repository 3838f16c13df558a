#!/usr/bin/env python3
"""The attacker's collector in the scripted incident: accepts POSTs on 127.0.0.1:PORT and
keeps only their size (never the content) in FILE, one line per request. Usage:
collector.py PORT FILE"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        with open(sys.argv[2], "a", encoding="utf-8") as f:
            f.write("received %d bytes\n" % n)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
