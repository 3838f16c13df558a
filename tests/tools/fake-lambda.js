#!/usr/bin/env node
// A small local Lambda control plane for the tests of `runtrail enable/disable/status/policy`
// (there is no AWS here). It speaks the Lambda REST-JSON API the way AWS's own clients expect
// it, so that the AWS CLI and @aws-sdk/client-lambda drive it as well as runtrail does:
//   GetFunction             GET    /2015-03-31/functions/NAME
//   GetFunctionConfiguration GET   /2015-03-31/functions/NAME/configuration
//   UpdateFunctionConfiguration PUT /2015-03-31/functions/NAME/configuration
//   ListFunctions           GET    /2015-03-31/functions/?Marker=M&MaxItems=N  (pages of 50)
//   PublishLayerVersion     POST   /2018-10-31/layers/NAME/versions
//   GetLayerVersion         GET    /2018-10-31/layers/NAME/versions/N
//   TagResource / ListTags / UntagResource  POST / GET / DELETE /2017-03-31/tags/ARN
// Functions are named by name or ARN (URI-encoded in the path, as AWS's clients send it).
//
// Every request's SigV4 signature is checked with AWS's own signer (@smithy/signature-v4,
// service lambda, the path escaped once more as for every service but S3): the request is
// signed again from the method, raw path, decoded query, the headers named in SignedHeaders,
// the body and x-amz-date with the secret of its access key, and refused with 403
// InvalidSignatureException (AWS's error shape: x-amzn-ErrorType and {"message"}) when the
// signatures differ; an unknown key is UnrecognizedClientException.
//
// An update sets LastUpdateStatus InProgress for UPDATE_MS (default 300 ms), then Successful;
// another update meanwhile is 409 ResourceConflictException; a stale RevisionId is 412
// PreconditionFailedException. Each request is logged as one JSON line {action, name,
// verdict, akid} to LOG_FILE.
//
// Usage: node fake-lambda.js PORT SEED_JSON LOG_FILE
//   SEED_JSON: {"region", "account", "update_ms", "keys": {AKID: {"secret", "deny": [actions]}},
//               "functions": [partial configurations], "layers": [{name, archs}]}
// Control (unsigned, loopback): POST /__busy {"name", "ms"} holds NAME InProgress for ms
// (-1: until cleared; 0: clear); POST /__fail {"name", "code", "reason"} makes NAME's next
// update end Failed with that LastUpdateStatusReasonCode and reason; POST /__state answers
// the whole state.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

const [port, seedFile, logFile] = process.argv.slice(2);
const seed = JSON.parse(fs.readFileSync(seedFile, 'utf8'));
const REGION = seed.region || 'us-east-1';
const ACCOUNT = seed.account || '123456789012';
const UPDATE_MS = seed.update_ms === undefined ? 300 : seed.update_ms;
const keys = seed.keys || {};
const log = fs.openSync(logFile, 'a');

const fnArn = (name) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const layerArn = (name) => `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:${name}`;
const now = () => new Date().toISOString().replace('Z', '+0000');
const revision = () => crypto.randomUUID();

const functions = new Map(); // name -> {config, tags, busyUntil}
const layers = new Map(); // name -> [versions]

for (const l of seed.layers || []) {
    const versions = [];
    for (let v = 1; v <= (l.versions || 1); v++)
        versions.push(layerVersion(l.name, v, l.archs || ['x86_64'], 1000 + v, 'seeded'));
    layers.set(l.name, versions);
}
for (const f of seed.functions || []) {
    const config = Object.assign({
        FunctionName: f.FunctionName,
        FunctionArn: fnArn(f.FunctionName),
        Runtime: 'python3.12',
        Role: `arn:aws:iam::${ACCOUNT}:role/${f.FunctionName}-role`,
        Handler: 'app.handler',
        CodeSize: 4096,
        Description: '',
        Timeout: 3,
        MemorySize: 128,
        LastModified: now(),
        CodeSha256: crypto.createHash('sha256').update(f.FunctionName).digest('base64'),
        Version: '$LATEST',
        TracingConfig: { Mode: 'PassThrough' },
        RevisionId: revision(),
        State: 'Active',
        LastUpdateStatus: 'Successful',
        PackageType: 'Zip',
        Architectures: ['x86_64'],
        EphemeralStorage: { Size: 512 },
    }, f);
    delete config.Tags;
    if (config.PackageType === 'Image') { delete config.Runtime; delete config.Handler; }
    if (Array.isArray(config.Layers))
        config.Layers = config.Layers.map((arn) => ({ Arn: arn, CodeSize: layerSize(arn) }));
    functions.set(config.FunctionName, { config, tags: f.Tags || {}, busyUntil: 0 });
}

function layerVersion(name, version, archs, size, description) {
    return {
        Content: { Location: `https://awslambda-${REGION}-layers.s3.amazonaws.com/${name}-${version}.zip`,
            CodeSha256: crypto.createHash('sha256').update(`${name}:${version}`).digest('base64'),
            CodeSize: size },
        LayerArn: layerArn(name), LayerVersionArn: `${layerArn(name)}:${version}`,
        Description: description || '', CreatedDate: now(), Version: version,
        CompatibleArchitectures: archs,
    };
}

function findLayer(arn) {
    const m = /^arn:aws:lambda:[^:]+:\d+:layer:([A-Za-z0-9_-]+):(\d+)$/.exec(arn);
    if (!m) return null;
    const v = (layers.get(m[1]) || [])[+m[2] - 1];
    return v || null;
}
function layerSize(arn) { const v = findLayer(arn); return v ? v.Content.CodeSize : 1000; }

function writeLog(entry) { fs.writeSync(log, JSON.stringify(entry) + '\n'); }

// AWS's REST-JSON error: x-amzn-ErrorType and a JSON body with the message.
function awsError(res, status, type, message, extra) {
    const body = JSON.stringify(Object.assign({ Type: status >= 500 ? 'Service' : 'User', message }, extra || {}));
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type,
        'x-amzn-requestid': crypto.randomUUID(), 'content-length': Buffer.byteLength(body) });
    res.end(body);
}
function ok(res, status, obj) {
    const body = obj === undefined ? '' : JSON.stringify(obj);
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': crypto.randomUUID(),
        'content-length': Buffer.byteLength(body) });
    res.end(body);
}

// "a=1&b=%2F" -> { a: '1', b: '/' } (arrays when repeated)
function parseQuery(raw) {
    const q = {};
    if (!raw) return q;
    for (const part of raw.split('&')) {
        if (!part) continue;
        const i = part.indexOf('=');
        const k = decodeURIComponent((i < 0 ? part : part.slice(0, i)).replace(/\+/g, ' '));
        const v = i < 0 ? '' : decodeURIComponent(part.slice(i + 1).replace(/\+/g, ' '));
        if (k in q) q[k] = [].concat(q[k], v); else q[k] = v;
    }
    return q;
}

// Returns [status, type, message] of a refusal, or null when the signature is AWS's.
async function verify(req, body) {
    const auth = req.headers.authorization || '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return [403, 'MissingAuthenticationTokenException', 'Missing Authentication Token'];
    const [, akid, day, region, service, signedHeaders, signature] = m;
    const key = keys[akid];
    if (!key) return [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'];
    if (service !== 'lambda') return [403, 'InvalidSignatureException', `Credential should be scoped to correct service: 'lambda'.`];
    if (region !== REGION) return [403, 'InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'.`];
    const amzDate = req.headers['x-amz-date'];
    if (!/^\d{8}T\d{6}Z$/.test(amzDate || '') || amzDate.slice(0, 8) !== day)
        return [403, 'InvalidSignatureException', 'x-amz-date missing or not the credential\'s day'];
    const names = signedHeaders.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date'))
        return [403, 'InvalidSignatureException', 'host and x-amz-date must be signed'];
    if (req.headers['x-amz-security-token'] && !names.includes('x-amz-security-token'))
        return [403, 'InvalidSignatureException', 'x-amz-security-token not signed'];
    if (key.token && req.headers['x-amz-security-token'] !== key.token)
        return [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'];
    const headers = {};
    for (const n of names) {
        if (!(n in req.headers)) return [403, 'InvalidSignatureException', `signed header ${n} missing`];
        headers[n] = req.headers[n];
    }
    const rawPath = req.url.split('?')[0];
    const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const [host, hport] = (req.headers.host || '').split(':');
    const signer = new SignatureV4({
        credentials: { accessKeyId: akid, secretAccessKey: key.secret,
            sessionToken: req.headers['x-amz-security-token'] },
        region, service, sha256: Sha256, uriEscapePath: true, applyChecksum: false,
    });
    const d = amzDate;
    const signingDate = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8),
        +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
    if (Math.abs(Date.now() - signingDate.getTime()) > 5 * 60 * 1000)
        return [403, 'InvalidSignatureException', 'Signature expired'];
    const signed = await signer.sign({
        method: req.method, protocol: 'http:', hostname: host, port: hport ? +hport : undefined,
        path: rawPath, query: parseQuery(rawQuery), headers, body: body.length ? body : undefined,
    }, { signingDate, signableHeaders: new Set(names) });
    const sm = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization || '');
    const sh = /SignedHeaders=([^,]+)/.exec(signed.headers.authorization || '');
    if (!sm) return [500, 'ServiceException', 'signer produced no signature'];
    if (sh && sh[1] !== signedHeaders)
        return [403, 'InvalidSignatureException', `signed headers ${signedHeaders} != ${sh[1]}`];
    if (sm[1] !== signature)
        return [403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'];
    return null;
}

// A function by name, ARN or partial ARN (path segment, decoded).
function lookup(id) {
    let name = id;
    const full = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)$/.exec(id);
    const partial = /^\d+:function:([^:]+)$/.exec(id);
    if (full) name = full[1]; else if (partial) name = partial[1];
    return functions.get(name) || null;
}

function settle(f) {
    if (f.busyUntil && (f.busyUntil < 0 || Date.now() < f.busyUntil)) return;
    if (f.config.LastUpdateStatus === 'InProgress' && f.failNext) {
        f.config.LastUpdateStatus = 'Failed';
        f.config.LastUpdateStatusReason = f.failNext.reason;
        f.config.LastUpdateStatusReasonCode = f.failNext.code;
        f.failNext = null;
    } else if (f.config.LastUpdateStatus === 'InProgress') {
        f.config.LastUpdateStatus = 'Successful';
        delete f.config.LastUpdateStatusReason;
        delete f.config.LastUpdateStatusReasonCode;
    }
    f.busyUntil = 0;
}
function inProgress(f) { settle(f); return f.config.LastUpdateStatus === 'InProgress'; }

const notFound = (res, id) => awsError(res, 404, 'ResourceNotFoundException',
    `Function not found: ${/^arn:/.test(id) ? id : fnArn(id)}`);
const invalid = (res, msg) => awsError(res, 400, 'InvalidParameterValueException', msg);

function updateConfiguration(res, f, input) {
    if (inProgress(f))
        return awsError(res, 409, 'ResourceConflictException',
            `The operation cannot be performed at this time. An update is in progress for resource: ${f.config.FunctionArn}`);
    if (input.RevisionId !== undefined && input.RevisionId !== f.config.RevisionId)
        return awsError(res, 412, 'PreconditionFailedException',
            'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id');
    const c = f.config;
    if (input.Layers !== undefined) {
        if (!Array.isArray(input.Layers)) return invalid(res, 'Layers must be a list');
        if (input.Layers.length > 5) return invalid(res, 'Cannot reference more than 5 layers.');
        for (const arn of input.Layers) {
            const v = findLayer(arn);
            if (!v) return invalid(res, `Layer version ${arn} does not exist.`);
        }
    }
    if (input.Environment !== undefined) {
        const vars = (input.Environment || {}).Variables || {};
        for (const [k, v] of Object.entries(vars))
            if (typeof v !== 'string' || !/^[a-zA-Z]([a-zA-Z0-9_])+$/.test(k))
                return invalid(res, `Environment variable ${k} is not valid.`);
        if (Buffer.byteLength(JSON.stringify(vars)) > 4096)
            return invalid(res, 'Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.');
    }
    for (const k of ['Description', 'Timeout', 'MemorySize', 'Handler', 'Role', 'Runtime'])
        if (input[k] !== undefined) c[k] = input[k];
    if (input.Layers !== undefined) {
        if (input.Layers.length) c.Layers = input.Layers.map((arn) => ({ Arn: arn, CodeSize: layerSize(arn) }));
        else delete c.Layers;
    }
    if (input.Environment !== undefined) {
        const vars = (input.Environment || {}).Variables || {};
        if (Object.keys(vars).length) c.Environment = { Variables: vars }; else delete c.Environment;
    }
    c.LastModified = now();
    c.RevisionId = revision();
    c.LastUpdateStatus = 'InProgress';
    c.LastUpdateStatusReason = 'The function is being updated.';
    c.LastUpdateStatusReasonCode = 'Updating';
    f.busyUntil = Date.now() + UPDATE_MS;
    // answers the configuration as it is now: InProgress
    ok(res, 200, c);
}

function route(req, body, res, entry) {
    const [rawPath, rawQuery] = req.url.split('?');
    const q = parseQuery(rawQuery || '');
    const seg = rawPath.split('/').map(decodeURIComponent);
    let input = {};
    if (body.length) {
        try { input = JSON.parse(body.toString()); } catch (e) {
            return awsError(res, 400, 'SerializationException', 'body is not JSON');
        }
    }
    const deny = (action) => {
        entry.action = action;
        const k = keys[entry.akid];
        if (k && (k.deny || []).includes(action)) {
            awsError(res, 403, 'AccessDeniedException',
                `User: arn:aws:iam::${ACCOUNT}:user/${entry.akid} is not authorized to perform: lambda:${action} on resource: ${entry.name ? fnArn(entry.name) : '*'} because no identity-based policy allows the lambda:${action} action`);
            return true;
        }
        return false;
    };
    // /2015-03-31/functions/...
    if (seg[1] === '2015-03-31' && seg[2] === 'functions') {
        if ((seg.length === 3 || (seg.length === 4 && seg[3] === '')) && req.method === 'GET') {
            if (deny('ListFunctions')) return;
            const all = [...functions.values()].map((f) => { settle(f); return f.config; })
                .sort((a, b) => a.FunctionName.localeCompare(b.FunctionName));
            const max = Math.min(+(q.MaxItems || 50), 50);
            const start = q.Marker ? +Buffer.from(q.Marker, 'base64').toString().replace(/^at:/, '') : 0;
            if (!Number.isInteger(start) || start < 0) return invalid(res, 'Invalid Marker');
            const page = all.slice(start, start + max);
            const out = { Functions: page };
            if (start + max < all.length) out.NextMarker = Buffer.from(`at:${start + max}`).toString('base64');
            entry.page = start / max;
            return ok(res, 200, out);
        }
        entry.name = seg[3];
        const f = lookup(seg[3]);
        if (seg.length === 4 && req.method === 'GET') {
            if (deny('GetFunction')) return;
            if (!f) return notFound(res, seg[3]);
            settle(f);
            return ok(res, 200, { Configuration: f.config,
                Code: { RepositoryType: 'S3', Location: `https://awslambda-${REGION}-tasks.s3.amazonaws.com/snapshots/${ACCOUNT}/${f.config.FunctionName}` },
                Tags: f.tags });
        }
        if (seg.length === 5 && seg[4] === 'configuration') {
            if (req.method === 'GET') {
                if (deny('GetFunctionConfiguration')) return;
                if (!f) return notFound(res, seg[3]);
                settle(f);
                return ok(res, 200, f.config);
            }
            if (req.method === 'PUT') {
                if (deny('UpdateFunctionConfiguration')) return;
                if (!f) return notFound(res, seg[3]);
                return updateConfiguration(res, f, input);
            }
        }
    }
    if (seg[1] === '2018-10-31' && seg[2] === 'layers' && seg[4] === 'versions') {
        const name = seg[3];
        if (!/^[A-Za-z0-9_-]{1,140}$/.test(name)) return invalid(res, `Invalid layer name ${name}`);
        if (seg.length === 5 && req.method === 'POST') {
            if (deny('PublishLayerVersion')) return;
            const zip = Buffer.from(((input.Content || {}).ZipFile) || '', 'base64');
            if (zip.length < 22 || zip.readUInt32LE(0) !== 0x04034b50)
                return invalid(res, 'Content.ZipFile is not a zip file');
            const versions = layers.get(name) || [];
            const v = layerVersion(name, versions.length + 1, input.CompatibleArchitectures || [], zip.length, input.Description);
            v.Content.CodeSha256 = crypto.createHash('sha256').update(zip).digest('base64');
            if (input.CompatibleRuntimes) v.CompatibleRuntimes = input.CompatibleRuntimes;
            versions.push(v);
            layers.set(name, versions);
            if (seed.layer_dir) fs.writeFileSync(`${seed.layer_dir}/${name}-${v.Version}.zip`, zip);
            entry.zip_bytes = zip.length;
            return ok(res, 201, v);
        }
        if (seg.length === 6 && req.method === 'GET') {
            if (deny('GetLayerVersion')) return;
            const v = (layers.get(name) || [])[+seg[5] - 1];
            if (!v) return awsError(res, 404, 'ResourceNotFoundException', 'The resource you requested does not exist.');
            return ok(res, 200, v);
        }
    }
    if (seg[1] === '2017-03-31' && seg[2] === 'tags' && seg.length === 4) {
        const f = lookup(seg[3]);
        entry.name = seg[3];
        if (!/^arn:aws:lambda:/.test(seg[3])) return invalid(res, 'Resource must be an ARN');
        if (req.method === 'GET') {
            if (deny('ListTags')) return;
            if (!f) return notFound(res, seg[3]);
            return ok(res, 200, { Tags: f.tags });
        }
        if (req.method === 'POST') {
            if (deny('TagResource')) return;
            if (!f) return notFound(res, seg[3]);
            Object.assign(f.tags, input.Tags || {});
            return ok(res, 204);
        }
        if (req.method === 'DELETE') {
            if (deny('UntagResource')) return;
            if (!f) return notFound(res, seg[3]);
            for (const k of [].concat(q.tagKeys || [])) delete f.tags[k];
            return ok(res, 204);
        }
    }
    entry.action = 'unknown';
    return awsError(res, 404, 'UnknownOperationException', `no operation ${req.method} ${rawPath}`);
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/__busy') {
            const { name, ms } = JSON.parse(body.toString());
            const f = functions.get(name);
            if (!f) { res.statusCode = 404; return res.end('no such function\n'); }
            if (ms === 0) { f.busyUntil = 0; settle(f); return res.end('ok\n'); }
            f.config.LastUpdateStatus = 'InProgress';
            f.busyUntil = ms < 0 ? -1 : Date.now() + ms;
            return res.end('ok\n');
        }
        if (req.url === '/__fail') {
            const { name, code, reason } = JSON.parse(body.toString());
            const f = functions.get(name);
            if (!f) { res.statusCode = 404; return res.end('no such function\n'); }
            f.failNext = { code, reason };
            return res.end('ok\n');
        }
        if (req.url === '/__state') {
            const out = { functions: {}, layers: Object.fromEntries(layers) };
            for (const [k, f] of functions) { settle(f); out.functions[k] = { config: f.config, tags: f.tags }; }
            return ok(res, 200, out);
        }
        const cred = /Credential=([^/]+)\//.exec(req.headers.authorization || '');
        const entry = { method: req.method, path: req.url, akid: cred ? cred[1] : null,
            ua: (req.headers['user-agent'] || '').split(' ')[0] };
        let problem;
        try { problem = await verify(req, body); } catch (e) { problem = [500, 'ServiceException', `verifier error: ${e}`]; }
        if (problem) {
            entry.verdict = problem[1];
            writeLog(entry);
            return awsError(res, problem[0], problem[1], problem[2]);
        }
        entry.verdict = 'ok';
        try { route(req, body, res, entry); } catch (e) {
            entry.verdict = `error ${e}`;
            awsError(res, 500, 'ServiceException', String(e));
        }
        entry.status = res.statusCode;
        writeLog(entry);
    });
});
server.keepAliveTimeout = 30000;
server.listen(+port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
