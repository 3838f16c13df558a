#!/usr/bin/env python3
"""The attacker's side of the attack suite, on loopback only. Each mode serves until killed
and logs one line per contact to LOG (sizes and names, never content it was sent).

  listeners.py dropper PORT LOG     HTTP: GET /upd answers a small shell script (the payload)
  listeners.py shell PORT LOG       TCP: for each connection, sends `id; exit` to the shell and
                                    logs how many bytes came back (a reverse-shell listener)
  listeners.py dns ADDR LOG         UDP ADDR:53: logs each query name, answers nothing
  listeners.py aws PORT LOG         HTTP: answers any POST like Secrets Manager ListSecrets"""
import http.server
import socket
import socketserver
import sys

PAYLOAD = b"#!/bin/sh\n# stage 2 (harmless): look around, then leave\nuname -a >/dev/null\nid >/dev/null\n"


def log(line):
    with open(sys.argv[3], "a", encoding="utf-8") as f:
        f.write(line + "\n")


class Dropper(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        log("GET %s" % self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


class Aws(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        log("POST %s %s" % (self.headers.get("X-Amz-Target"), self.headers.get("Host")))
        body = b'{"SecretList":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Shell(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(3)
        self.request.sendall(b"id; exit\n")
        got = 0
        try:
            while True:
                b = self.request.recv(4096)
                if not b:
                    break
                got += len(b)
        except OSError:
            pass
        log("shell answered %d bytes" % got)


def main():
    mode, where = sys.argv[1], sys.argv[2]
    if mode == "dns":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((where, 53))
        while True:
            data, _ = s.recvfrom(4096)
            labels, i = [], 12
            while i < len(data) and data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode("ascii", "replace"))
                i += 1 + data[i]
            log("query %s" % ".".join(labels))
    servers = {"dropper": Dropper, "aws": Aws}
    if mode in servers:
        http.server.ThreadingHTTPServer(("127.0.0.1", int(where)), servers[mode]).serve_forever()
    elif mode == "shell":
        socketserver.ThreadingTCPServer(("127.0.0.1", int(where)), Shell).serve_forever()
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
