// Node.js bundles its own TLS: the recorder sees the SNI, never the plaintext. Sends one
// SigV4-signed-looking STS query request to the local STS endpoint (port argv[2], CA argv[3])
// with the server name sts.us-east-1.amazonaws.com and the session token of the environment;
// prints the answer's status line.
'use strict';
const fs = require('fs');
const tls = require('tls');
const [port, ca] = process.argv.slice(2);
const token = process.env.AWS_SESSION_TOKEN;
const sock = tls.connect(
    {
        host: '127.0.0.1',
        port: Number(port),
        servername: 'sts.us-east-1.amazonaws.com',
        ca: fs.readFileSync(ca),
        checkServerIdentity: () => undefined, // the test certificate names 127.0.0.1
    },
    () => {
        const body = 'Action=GetCallerIdentity&Version=2011-06-15';
        sock.write(
            'POST / HTTP/1.1\r\nHost: sts.us-east-1.amazonaws.com\r\n' +
                'Content-Type: application/x-www-form-urlencoded\r\n' +
                'Authorization: AWS4-HMAC-SHA256 Credential=S3RVER/20240101/us-east-1/sts/' +
                'aws4_request, SignedHeaders=host, Signature=' + 'ab'.repeat(32) + '\r\n' +
                `X-Amz-Security-Token: ${token}\r\nContent-Length: ${body.length}\r\n` +
                'Connection: close\r\n\r\n' + body
        );
    }
);
let answer = '';
sock.on('data', (d) => (answer += d));
sock.on('end', () => console.log(answer.split('\r\n')[0]));
sock.on('error', (e) => {
    console.error(e.message);
    process.exit(1);
});
