#!/usr/bin/env node
// A verifying, fault-injecting proxy in front of s3rver for the store tests.
//
// Every request is re-signed with AWS's own signer (@smithy/signature-v4) from the same
// inputs (method, raw path, decoded query, the headers named in SignedHeaders, x-amz-date,
// the credentials for the access key) and rejected with 403 SignatureDoesNotMatch when the
// signature differs; x-amz-content-sha256 must also match the body actually sent. Each request
// is logged as one JSON line (method, path, query, verdict) so tests can assert which
// partitions were listed and how many PUTs reached the store.
//
// Faults are set through POST /__control with JSON {mode, count, method, delay_ms}:
//   mode "500" | "503" | "slowdown": answer that status (S3 XML error) for the next count
//   matching requests; "slow": delay them by delay_ms; "down": destroy the connection;
//   "region": 301 PermanentRedirect naming fault.region; "off": clear. method restricts the fault to GET/PUT/... (optional).
//
// A hostile bucket is set through POST /__hostile with JSON {objects: [{key, size, file,
// stream_bytes}]}: each key is added to every ListObjectsV2 answer whose prefix it starts with
// (as a hostile S3 would list it: raw, or percent-encoded when encoding-type=url was asked),
// with the listed size; a GET of exactly that key (the raw path, as signed) answers the bytes
// of file, or stream_bytes zero bytes streamed with that Content-Length (the log line of the
// GET then carries bytes_sent, what went out before the client stopped reading).
//
// Usage: node sigv4-proxy.js LISTEN_PORT TARGET_PORT LOG_FILE [AKID:SECRET ...]
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

const [listenPort, targetPort, logFile, ...keyArgs] = process.argv.slice(2);
const secrets = { S3RVER: 'S3RVER' };
for (const kv of keyArgs) {
    const i = kv.indexOf(':');
    secrets[kv.slice(0, i)] = kv.slice(i + 1);
}
const log = fs.openSync(logFile, 'a');
let fault = { mode: 'off', count: 0, method: null, delay_ms: 0 };
let hostile = [];

function xmlEscape(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
        .replace(/[\x00-\x1f]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function s3UrlEncode(s) { // S3's encoding-type=url: like a form, a space as '+'
    return encodeURIComponent(s).replace(/%20/g, '+');
}

// Merges the hostile keys under prefix (after start-after) into a ListObjectsV2 answer, in
// key order, cut at max-keys (the skip scan of `pull` lists one key at a time).
function injectListing(xml, params) {
    const prefix = params.get('prefix') || '';
    const after = params.get('start-after') || '';
    const url = params.get('encoding-type') === 'url';
    const max = +(params.get('max-keys') || 1000);
    const unescape = (s) => s.replace(/&#(\d+);/g, (m, n) => String.fromCharCode(+n))
        .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    const entries = [];
    xml = xml.replace(/<Contents>[\s\S]*?<\/Contents>/g, (c) => {
        const k = /<Key>([\s\S]*?)<\/Key>/.exec(c);
        entries.push({ key: k ? unescape(k[1]) : '', xml: c });
        return '';
    });
    for (const o of hostile) {
        if (!o.key.startsWith(prefix) || (after && Buffer.compare(Buffer.from(o.key), Buffer.from(after)) <= 0))
            continue;
        entries.push({ key: o.key, xml: `<Contents><Key>${url ? s3UrlEncode(o.key) : xmlEscape(o.key)}</Key>` +
            `<Size>${o.size}</Size><ETag>&quot;0&quot;</ETag></Contents>` });
    }
    entries.sort((x, y) => Buffer.compare(Buffer.from(x.key), Buffer.from(y.key)));
    const add = entries.slice(0, max).map((e) => e.xml).join('');
    if (url && !xml.includes('<EncodingType>'))
        xml = xml.replace('</ListBucketResult>', '<EncodingType>url</EncodingType></ListBucketResult>');
    return xml.replace('</ListBucketResult>', add + '</ListBucketResult>');
}

function serveHostile(o, res, entry) {
    if (o.file) {
        const data = fs.readFileSync(o.file);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
        entry.bytes_sent = data.length;
        writeLog(entry);
        return res.end(data);
    }
    const chunk = Buffer.alloc(65536);
    let sent = 0, logged = false;
    const done = () => {
        if (logged) return;
        logged = true;
        entry.bytes_sent = sent;
        writeLog(entry);
    };
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': o.stream_bytes });
    res.on('close', done);
    const pump = () => {
        while (sent < o.stream_bytes) {
            const n = Math.min(chunk.length, o.stream_bytes - sent);
            sent += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump);
        }
        res.end();
        done();
    };
    pump();
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function writeLog(entry) {
    fs.writeSync(log, JSON.stringify(entry) + '\n');
}

function s3Error(res, status, code, message) {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
        `<Message>${message}</Message></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
}

// "a=1&b=%2F" -> { a: '1', b: '/' } (values as arrays when repeated)
function parseQuery(raw) {
    const q = {};
    if (!raw) return q;
    for (const part of raw.split('&')) {
        if (!part) continue;
        const i = part.indexOf('=');
        const k = decodeURIComponent(i < 0 ? part : part.slice(0, i));
        const v = i < 0 ? '' : decodeURIComponent(part.slice(i + 1));
        if (k in q) q[k] = [].concat(q[k], v); else q[k] = v;
    }
    return q;
}

async function verify(req, body) {
    const auth = req.headers.authorization || '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return `malformed Authorization: ${auth.slice(0, 80)}`;
    const [, akid, , region, service, signedHeaders, signature] = m;
    const secret = secrets[akid];
    if (!secret) return `unknown access key ${akid}`;
    const amzDate = req.headers['x-amz-date'];
    if (!/^\d{8}T\d{6}Z$/.test(amzDate || '')) return 'missing x-amz-date';
    const payloadHash = req.headers['x-amz-content-sha256'];
    if (!payloadHash) return 'missing x-amz-content-sha256';
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (payloadHash !== actual) return `x-amz-content-sha256 ${payloadHash} != body ${actual}`;
    const names = signedHeaders.split(';');
    for (const n of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
        if (!names.includes(n)) return `${n} not signed`;
    }
    if (req.headers['x-amz-security-token'] && !names.includes('x-amz-security-token'))
        return 'x-amz-security-token not signed';
    const headers = {};
    for (const n of names) {
        if (!(n in req.headers)) return `signed header ${n} missing`;
        headers[n] = req.headers[n];
    }
    const rawPath = req.url.split('?')[0];
    const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const [host, port] = (req.headers.host || '').split(':');
    const signer = new SignatureV4({
        credentials: {
            accessKeyId: akid, secretAccessKey: secret,
            sessionToken: req.headers['x-amz-security-token'],
        },
        region, service, sha256: Sha256, uriEscapePath: false, applyChecksum: false,
    });
    const d = amzDate;
    const signingDate = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8),
        +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
    const signed = await signer.sign({
        method: req.method, protocol: 'http:', hostname: host, port: port ? +port : undefined,
        path: rawPath, query: parseQuery(rawQuery), headers,
    }, { signingDate, signableHeaders: new Set(names) });
    const sm = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization || '');
    const expectHeaders = /SignedHeaders=([^,]+)/.exec(signed.headers.authorization || '');
    if (!sm) return 'signer produced no signature';
    if (expectHeaders && expectHeaders[1] !== signedHeaders)
        return `signed headers ${signedHeaders} != ${expectHeaders[1]}`;
    if (sm[1] !== signature) return `signature mismatch (${signature} != ${sm[1]})`;
    // Canonical query must be what the client sent: sorted and RFC 3986 encoded.
    const sorted = rawQuery ? rawQuery.split('&').sort().join('&') : '';
    if (rawQuery !== sorted) return `query not in canonical order: ${rawQuery}`;
    return null;
}

function takeFault(req) {
    if (fault.mode === 'off' || fault.count <= 0) return null;
    if (fault.method && fault.method !== req.method) return null;
    fault.count--;
    return fault.mode;
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/__control') {
            try {
                fault = Object.assign({ mode: 'off', count: 0, method: null, delay_ms: 0 },
                    JSON.parse(body.toString() || '{}'));
                res.end('ok\n');
            } catch (e) {
                res.statusCode = 400;
                res.end(String(e));
            }
            return;
        }
        if (req.url === '/__hostile') {
            try {
                hostile = JSON.parse(body.toString() || '{}').objects || [];
                res.end('ok\n');
            } catch (e) {
                res.statusCode = 400;
                res.end(String(e));
            }
            return;
        }
        const [path, query] = req.url.split('?');
        const entry = { method: req.method, path, query: query || '' };
        let problem;
        try {
            problem = await verify(req, body);
        } catch (e) {
            problem = `verifier error: ${e}`;
        }
        if (problem) {
            entry.verdict = 'MISMATCH';
            entry.problem = problem;
            writeLog(entry);
            s3Error(res, 403, 'SignatureDoesNotMatch', problem.replace(/[<&>]/g, '_'));
            return;
        }
        const f = takeFault(req);
        entry.verdict = f ? `fault:${f}` : 'ok';
        writeLog(entry);
        if (f === 'down') {
            req.socket.destroy();
            return;
        }
        if (f === '500') return s3Error(res, 500, 'InternalError', 'injected');
        if (f === '503') return s3Error(res, 503, 'ServiceUnavailable', 'injected');
        if (f === 'region') {
            const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code>' +
                '<Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message>' +
                `<Region>${fault.region || 'eu-west-1'}</Region></Error>`;
            res.writeHead(301, { 'content-type': 'application/xml', 'x-amz-bucket-region': fault.region || 'eu-west-1' });
            return res.end(body);
        }
        if (f === 'slowdown') return s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
        const params = new URLSearchParams(query || '');
        const bucketPath = path.replace(/^\/[^/]+\//, '');
        const target = req.method === 'GET' && !params.has('list-type') &&
            hostile.find((o) => encodeURIComponent(o.key).replace(/%2F/g, '/') === bucketPath);
        if (target) {
            entry.hostile = true;
            return serveHostile(target, res, entry);
        }
        const listing = req.method === 'GET' && params.get('list-type') === '2' && hostile.length;
        // s3rver knows only S3RVER: hand it the verified request under that key.
        const upHeaders = Object.assign({}, req.headers);
        upHeaders.authorization = upHeaders.authorization.replace(/Credential=[^/]+\//, 'Credential=S3RVER/');
        delete upHeaders['x-amz-security-token'];
        const forward = () => {
            const up = http.request({
                host: '127.0.0.1', port: +targetPort, method: req.method, path: req.url,
                headers: upHeaders, agent,
            }, (upRes) => {
                if (!listing || upRes.statusCode !== 200) {
                    res.writeHead(upRes.statusCode, upRes.headers);
                    return upRes.pipe(res);
                }
                const parts = [];
                upRes.on('data', (c) => parts.push(c));
                upRes.on('end', () => {
                    const xml = injectListing(Buffer.concat(parts).toString(), params);
                    const headers = Object.assign({}, upRes.headers);
                    headers['content-length'] = Buffer.byteLength(xml);
                    res.writeHead(200, headers);
                    res.end(xml);
                });
            });
            up.on('error', (e) => s3Error(res, 502, 'BadGateway', String(e)));
            up.end(body);
        };
        if (f === 'slow') setTimeout(forward, fault.delay_ms || 2000); else forward();
    });
});
server.keepAliveTimeout = 30000;
server.listen(+listenPort, '127.0.0.1', () => {
    process.stdout.write(`listening ${listenPort}\n`);
});
