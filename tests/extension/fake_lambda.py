#!/usr/bin/env python3
"""A scripted stand-in for Lambda's Runtime and Extensions APIs, for the extension's proxy
conformance test and its benchmark. It speaks HTTP/1.1 with keep-alive over plain sockets so
that it can log each request exactly as it arrived on the wire (request line, headers in
order and case, body, chunked framing and trailers), and answers from a table.

  fake_lambda.py --port-file F --log FILE [--replies FILE] [--shutdown-file F]

Extensions API: register answers 200 with Lambda-Extension-Identifier; event/next blocks
until --shutdown-file exists, then answers a SHUTDOWN event. Telemetry API: 404, not logged.
Runtime API: invocation/next answers an event with the Lambda-Runtime-* headers (request ids
req-1, req-2, ...); any other request is answered from --replies (JSON: {"METHOD PATH":
{"status": N, "headers": [[k, v], ...], "body": "...", "body_b64": "..."}}), else 202
{"status":"OK"} for POSTs and 404 for the rest. Every Runtime API request is logged as one JSON line: method, target, version,
headers, body_b64, chunked, trailers, stream_ms (first to last chunk, in ms).
"""
import argparse
import base64
import json
import os
import socket
import threading
import time

args = None
replies = {}
log_lock = threading.Lock()
counter = [0]


def read_line(f):
    line = f.readline(65536)
    if not line:
        raise EOFError
    return line


def read_request(f):
    line = read_line(f)
    while line in (b"\r\n", b"\n"):
        line = read_line(f)
    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers = []
    while True:
        h = read_line(f).decode("latin-1").rstrip("\r\n")
        if not h:
            break
        k, _, v = h.partition(":")
        headers.append([k, v.strip()])
    get = lambda name: next((v for k, v in headers if k.lower() == name), None)
    body, trailers, chunked, span = b"", [], False, 0.0
    if (get("transfer-encoding") or "").lower() == "chunked":
        chunked = True
        first = None
        while True:
            size = int(read_line(f).split(b";")[0].strip(), 16)
            first = first if first is not None else time.monotonic()
            if size == 0:
                break
            body += f.read(size)
            f.read(2)
        span = (time.monotonic() - first) * 1000
        while True:
            t = read_line(f).decode("latin-1").rstrip("\r\n")
            if not t:
                break
            k, _, v = t.partition(":")
            trailers.append([k, v.strip()])
    elif get("content-length"):
        body = f.read(int(get("content-length")))
    return method, target, version, headers, body, chunked, trailers, span


def send(conn, status, headers, body):
    reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden",
              404: "Not Found", 413: "Request Entity Too Large", 500: "Internal Server Error"}
    out = "HTTP/1.1 %d %s\r\n" % (status, reason.get(status, "Status"))
    for k, v in headers:
        out += "%s: %s\r\n" % (k, v)
    out += "Content-Length: %d\r\n\r\n" % len(body)
    conn.sendall(out.encode("latin-1") + body)


def handle(conn):
    f = conn.makefile("rb")
    try:
        while True:
            method, target, version, headers, body, chunked, trailers, span = read_request(f)
            path = target.split("?")[0]
            if path == "/2020-01-01/extension/register":
                send(conn, 200, [["Lambda-Extension-Identifier", "ext-id-1"],
                                 ["Content-Type", "application/json"]],
                     b'{"functionName":"fake","functionVersion":"$LATEST","handler":"h"}')
                continue
            if path == "/2020-01-01/extension/event/next":
                while not (args.shutdown_file and os.path.exists(args.shutdown_file)):
                    time.sleep(0.05)
                ev = {"eventType": "SHUTDOWN", "shutdownReason": "spindown",
                      "deadlineMs": int(time.time() * 1000) + 2000}
                send(conn, 200, [["Content-Type", "application/json"]], json.dumps(ev).encode())
                continue
            if path.startswith("/2020-01-01/"):
                send(conn, 202, [["Content-Type", "application/json"]], b'{"status":"OK"}')
                continue
            if path.startswith("/2022-07-01/"):
                # The Telemetry API, which this fake does not offer (as a Lambda without it
                # answers). Not Runtime API traffic, so not logged: the extension subscribes
                # after its ready file is written, while a test's first requests are on the wire.
                send(conn, 404, [["Content-Type", "application/json"]],
                     b'{"errorMessage":"no Telemetry API","errorType":"NotFound"}')
                continue
            if args.log:
                rec = {"method": method, "target": target, "version": version,
                       "headers": headers, "body_b64": base64.b64encode(body).decode(),
                       "chunked": chunked, "trailers": trailers,
                       "stream_ms": round(span)}
                with log_lock, open(args.log, "a") as lf:
                    lf.write(json.dumps(rec) + "\n")
            key = method + " " + path
            if key in replies:
                r = replies[key]
                data = base64.b64decode(r["body_b64"]) if "body_b64" in r else \
                    r.get("body", "").encode("utf-8")
                send(conn, r.get("status", 200), r.get("headers", []), data)
            elif path == "/2018-06-01/runtime/invocation/next":
                with log_lock:
                    counter[0] += 1
                    rid = "req-%d" % counter[0]
                deadline = int(time.time() * 1000) + 30000
                send(conn, 200, [["Content-Type", "application/json"],
                                 ["Lambda-Runtime-Aws-Request-Id", rid],
                                 ["Lambda-Runtime-Deadline-Ms", str(deadline)],
                                 ["Lambda-Runtime-Invoked-Function-Arn",
                                  "arn:aws:lambda:us-east-1:123456789012:function:fake"],
                                 ["Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000001"]],
                     args.event.encode())
            elif method == "POST":
                send(conn, 202, [["Content-Type", "application/json"]], b'{"status":"OK"}')
            else:
                send(conn, 404, [["Content-Type", "application/json"]],
                     b'{"errorMessage":"not found","errorType":"NotFound"}')
    except (EOFError, ConnectionError, ValueError):
        pass
    finally:
        conn.close()


def main():
    global args, replies
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log")
    p.add_argument("--replies")
    p.add_argument("--shutdown-file")
    p.add_argument("--event", default='{"hello":"world"}')
    args = p.parse_args()
    if args.replies:
        with open(args.replies) as rf:
            replies = json.load(rf)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(args.port_file + ".tmp", "w") as pf:
        pf.write(str(srv.getsockname()[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
