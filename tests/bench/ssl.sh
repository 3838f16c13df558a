#!/usr/bin/env bash
# Benchmark: what the TLS plaintext hooks (SSL_write/SSL_read, the HTTP sniffing of the
# plaintext and the aws_call of each SigV4 request) add per HTTPS request. A Python client
# (http.client, the stack boto3 uses) sends N keep-alive POST requests signed like an STS
# GetCallerIdentity to a local server, natively and under `runtrail record`, over HTTPS and over
# plain HTTP (where the SSL hooks do nothing: what the other hooks cost on the same calls),
# interleaved; the client's CPU time and the wall time per request, best and median of ROUNDS.
# The SSL hooks' own cost per request is the HTTPS difference minus the HTTP difference (CPU
# time: the recorder's consumer runs in another process; wall time on a loaded machine is
# mostly noise). Not a test: it prints a table.
# Usage: tests/bench/ssl.sh   (N=2000 ROUNDS=5 BUILD=build)
set -u
RT_ROOT=${RT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
N=${N:-2000}
ROUNDS=${ROUNDS:-5}
RUNTRAIL=$RT_ROOT/$BUILD/bin/runtrail
PY=/usr/bin/python3
[ -x "$RUNTRAIL" ] || { echo "bench ssl: $RUNTRAIL is missing; run make first" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-bench-ssl.XXXXXX")
export RUNTRAIL_CACHE="$TMP/catalog" # the catalog of the bench's own (see tests/bench/run.sh)
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 2
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null || exit 2

cat >server.py <<'PY'
# Answers every POST with a small XML body, keep-alive, on an HTTP and an HTTPS port.
import http.server, socket, socketserver, ssl, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<GetCallerIdentityResponse><Account>123456789012</Account></GetCallerIdentityResponse>"
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))  # one write: no Nagle wait between head and body
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
plain, tls = S(("127.0.0.1", 0), H), S(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("cert.pem", "key.pem")
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
for s in (plain, tls):
    threading.Thread(target=s.serve_forever, daemon=True).start()
open("ports.tmp", "w").write(f"{plain.server_address[1]} {tls.server_address[1]}\n")
__import__("os").rename("ports.tmp", "ports")
threading.Event().wait()
PY
cat >client.py <<'PY'
# client.py http|https PORT N: N signed POSTs on one connection; prints the client's CPU time
# and the wall time per request, in microseconds.
import http.client, ssl, sys, time
scheme, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if scheme == "https":
    ctx = ssl.create_default_context(cafile="cert.pem")
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
else:
    c = http.client.HTTPConnection("127.0.0.1", port)
body = "Action=GetCallerIdentity&Version=2011-06-15"
headers = {
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
    "X-Amz-Date": "20240101T000000Z",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIABENCHKEY000001/20240101/us-east-1/sts/"
    "aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64,
}
c.request("POST", "/", body, headers)  # the handshake, outside the measure
c.getresponse().read()
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(n):
    c.request("POST", "/", body, headers)
    r = c.getresponse()
    r.read()
    assert r.status == 200
cpu, wall = time.process_time() - c0, time.perf_counter() - t0
print(f"{cpu / n * 1e6:.2f} {wall / n * 1e6:.2f}")
PY
cat >membio.py <<'PY'
# In-process TLS over memory BIOs: N request/response round trips; prints ns CPU per round trip.
import ssl, sys, time
n = int(sys.argv[1])
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); sctx.load_cert_chain("cert.pem", "key.pem")
cctx = ssl.create_default_context(cafile="cert.pem")
ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
c = cctx.wrap_bio(ci, co, server_hostname="127.0.0.1"); s = sctx.wrap_bio(si, so, server_side=True)
def pump():
    si.write(co.read()); ci.write(so.read())
for _ in range(10):
    for x in (c, s):
        try: x.do_handshake()
        except ssl.SSLWantReadError: pass
    pump()
req = (b"POST / HTTP/1.1\r\nHost: sts.amazonaws.com\r\nContent-Type: application/x-www-form-urlencoded\r\n"
       b"Authorization: AWS4-HMAC-SHA256 Credential=AKIABENCHKEY000001/20240101/us-east-1/sts/aws4_request, "
       b"SignedHeaders=host, Signature=" + b"0" * 64 + b"\r\nContent-Length: 43\r\n\r\nAction=GetCallerIdentity&Version=2011-06-15")
resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
t0 = time.process_time()
for _ in range(n):
    c.write(req); pump(); s.read(4096); s.write(resp); pump(); c.read(4096)
print(f"{(time.process_time() - t0) / n * 1e9:.0f}")
PY
$PY server.py >server.log 2>&1 &
SERVER=$!
for _ in $(seq 100); do [ -s ports ] && break; sleep 0.05; done
read -r HTTP_PORT HTTPS_PORT <ports || { echo "bench ssl: server did not start" >&2; exit 2; }

declare -A CPU WALL
MEM_NATIVE= MEM_RECORD=
for ((r = 0; r < ROUNDS; r++)); do
    for scheme in https http; do
        port=$HTTPS_PORT
        [ "$scheme" = http ] && port=$HTTP_PORT
        read -r c w <<<"$($PY client.py $scheme $port $N)"
        CPU[$scheme-native]+="$c " WALL[$scheme-native]+="$w "
        read -r c w <<<"$("$RUNTRAIL" record --store "$TMP/st" -- $PY client.py $scheme $port $N 2>rec.err)"
        CPU[$scheme-record]+="$c " WALL[$scheme-record]+="$w "
        [ "$scheme" = https ] && last=$(sed -n 's/^runtrail: recorded .* to //p' rec.err)
    done
done
# In-process TLS over memory BIOs (no socket, no network): the hooks' CPU per round trip
# (client SSL_write, server SSL_read, server SSL_write, client SSL_read, one aws_call).
MEM_N=$((N * 20))
for ((r = 0; r < ROUNDS; r++)); do
    MEM_NATIVE+="$($PY membio.py $MEM_N) "
    MEM_RECORD+="$("$RUNTRAIL" record --store "$TMP/st" -- $PY membio.py $MEM_N 2>rec.err) "
done
mem_last=$(sed -n 's/^runtrail: recorded .* to //p' rec.err)
mem_calls=$("$RUNTRAIL" show --kind aws "$mem_last" 2>/dev/null | grep -c 'aws_call("sts:GetCallerIdentity"')
# the last recorded HTTPS run holds its N + 1 aws_call events
calls=$("$RUNTRAIL" show --kind aws "$last" 2>/dev/null | grep -c 'aws_call("sts:GetCallerIdentity"')

stat() { # best and median of the numbers in $1
    tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {printf "%.1f %.1f", v[1], v[int((NR+1)/2)]}'
}
printf '%-22s %10s %10s %10s %10s\n' "us/request (N=$N)" "cpu best" "cpu med" "wall best" "wall med"
for k in https-native https-record http-native http-record; do
    printf '%-22s %10s %10s %10s %10s\n' "$k" $(stat "${CPU[$k]}") $(stat "${WALL[$k]}")
done
med() { stat "$1" | cut -d' ' -f2; }
awk -v hn="$(med "${CPU[https-native]}")" -v hr="$(med "${CPU[https-record]}")" \
    -v pn="$(med "${CPU[http-native]}")" -v pr="$(med "${CPU[http-record]}")" \
    -v whn="$(med "${WALL[https-native]}")" -v whr="$(med "${WALL[https-record]}")" 'BEGIN {
    printf "https record/native: cpu %.2fx, wall %.2fx\n", hr / hn, whr / whn
    printf "http  record/native: cpu %.2fx\n", pr / pn
    printf "client CPU added per HTTPS request: %.1f us (medians); the SSL hooks alone (minus the\n", hr - hn
    printf "same calls over HTTP, where they do nothing): %.1f us\n", (hr - hn) - (pr - pn)
}'
echo "aws_call events in the last recorded HTTPS run: $calls (its requests: $((N + 1)))"
echo
printf '%-34s %10s %10s\n' "memory-BIO TLS round trip (N=$MEM_N)" "ns best" "ns med"
printf '%-34s %10s %10s\n' native $(stat "${MEM_NATIVE:-}") record $(stat "${MEM_RECORD:-}")
awk -v a="$(stat "${MEM_NATIVE:-}" | cut -d' ' -f2)" -v b="$(stat "${MEM_RECORD:-}" | cut -d' ' -f2)" \
    'BEGIN { printf "SSL hooks per request (medians): %.0f ns (%.2fx)\n", b - a, b / a }'
echo "aws_call events in the last memory-BIO run: $mem_calls (its requests: $MEM_N)"
