// A local TLS endpoint for tests: terminates TLS with a test certificate and forwards the
// plaintext to a local server (s3rver, dynalite), or answers an STS-style query-protocol POST
// itself. Each request's SigV4 signature and security token are appended to a log, so a test
// can assert that none of them reached a bundle.
//   node tls_front.js CERT KEY READY_FILE LOG_FILE SPEC...
//     SPEC: "tcp:PORT" (forward to 127.0.0.1:PORT) or "sts" (answer GetCallerIdentity)
// Listens on 127.0.0.1 only, one free port per SPEC; writes the ports, one per line in SPEC
// order, to READY_FILE once all listen.
'use strict';
const fs = require('fs');
const net = require('net');
const tls = require('tls');
const https = require('https');

const [cert, key, readyFile, logFile, ...specs] = process.argv.slice(2);
const opts = { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };

// The secrets of a request's head: Authorization's signature, X-Amz-Security-Token.
function logSecrets(head) {
    const sig = /Signature=([0-9a-f]+)/.exec(head);
    const tok = /^x-amz-security-token:\s*(\S+)/im.exec(head);
    const out = [];
    if (sig) out.push('signature ' + sig[1]);
    if (tok) out.push('token ' + tok[1]);
    if (out.length) fs.appendFileSync(logFile, out.join('\n') + '\n');
}

function forward(port) {
    return tls.createServer(opts, (client) => {
        const up = net.connect(port, '127.0.0.1');
        let head = '';
        client.on('data', (d) => {
            head += d.toString('latin1');
            let end;
            while ((end = head.indexOf('\r\n\r\n')) >= 0) {
                logSecrets(head.slice(0, end));
                head = head.slice(end + 4);
            }
            if (head.length > 65536) head = head.slice(-65536);
            up.write(d);
        });
        client.on('end', () => up.end());
        up.pipe(client);
        client.on('error', () => up.destroy());
        up.on('error', () => client.destroy());
    });
}

function sts() {
    return https.createServer(opts, (req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
            logSecrets(Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n'));
            if (!/Action=GetCallerIdentity/.test(body)) {
                res.writeHead(400, { 'Content-Type': 'text/xml' });
                res.end('<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>');
                return;
            }
            res.writeHead(200, { 'Content-Type': 'text/xml' });
            res.end(
                '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
                    '<GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/fn/s</Arn>' +
                    '<UserId>AROAEXAMPLE:s</UserId><Account>123456789012</Account>' +
                    '</GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId>' +
                    '</ResponseMetadata></GetCallerIdentityResponse>'
            );
        });
    });
}

const servers = specs.map((s) => (s === 'sts' ? sts() : forward(Number(s.replace(/^tcp:/, '')))));
let listening = 0;
servers.forEach((srv) =>
    srv.listen(0, '127.0.0.1', () => {
        if (++listening === servers.length)
            fs.writeFileSync(readyFile, servers.map((x) => x.address().port).join('\n') + '\n');
    })
);
