# A keep-alive HTTP/1.1 server for tests/e2e/keepalive.sh: answers every GET and POST with
# "ok" (Content-Length, connection kept open) and appends "METHOD PATH BODY_BYTES CLIENT_PORT"
# to the log file. Usage: server.py PORT LOG
import http.server
import sys

PORT, LOG = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, body_len):
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path} {body_len} {self.client_address[1]}\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self):
        self.answer(0)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.answer(n)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
