#!/usr/bin/env node
// Drives tests/tools/fake-lambda.js with AWS's own @aws-sdk/client-lambda, to keep the fake
// honest: every call below is serialized and signed by the SDK and its answer parsed by the
// SDK's deserializers; the waiter (waitUntilFunctionUpdatedV2) follows the LastUpdateStatus
// transitions and the paginator the NextMarker pages exactly as against AWS. Prints one line
// per check ("name<TAB>value") for tests/e2e/enable.sh to compare.
// Usage: node lambda-sdk-drive.js ENDPOINT FUNCTION LAYER_ZIP   (credentials from the env)
'use strict';
const fs = require('fs');
const L = require('@aws-sdk/client-lambda');

const [endpoint, fn, zipPath] = process.argv.slice(2);
const client = new L.LambdaClient({ endpoint, region: process.env.AWS_REGION || 'us-east-1', maxAttempts: 1 });
const out = (k, v) => process.stdout.write(`${k}\t${typeof v === 'string' ? v : JSON.stringify(v)}\n`);

(async () => {
    const cfg = await client.send(new L.GetFunctionConfigurationCommand({ FunctionName: fn }));
    out('get.name', cfg.FunctionName);
    out('get.status', cfg.LastUpdateStatus);
    const full = await client.send(new L.GetFunctionCommand({ FunctionName: cfg.FunctionArn }));
    out('getfunction.by_arn', full.Configuration.FunctionName);

    let names = 0, pages = 0;
    for await (const page of L.paginateListFunctions({ client, pageSize: 50 }, {})) {
        pages++;
        names += page.Functions.length;
    }
    out('list.functions', names);
    out('list.pages', pages);

    const upd = await client.send(new L.UpdateFunctionConfigurationCommand({
        FunctionName: fn, Description: 'sdk was here', RevisionId: cfg.RevisionId }));
    out('update.status', upd.LastUpdateStatus);
    try {
        await client.send(new L.UpdateFunctionConfigurationCommand({ FunctionName: fn, MemorySize: 256 }));
        out('update.again', 'accepted');
    } catch (e) {
        out('update.again', e.name);
    }
    const w = await L.waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
        { FunctionName: fn });
    out('waiter.state', w.state);
    try {
        await client.send(new L.UpdateFunctionConfigurationCommand({
            FunctionName: fn, Description: 'stale', RevisionId: cfg.RevisionId }));
        out('update.stale', 'accepted');
    } catch (e) {
        out('update.stale', e.name);
    }
    await L.waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { FunctionName: fn });

    const pub = await client.send(new L.PublishLayerVersionCommand({
        LayerName: 'sdk-layer', Content: { ZipFile: fs.readFileSync(zipPath) },
        CompatibleArchitectures: ['arm64'] }));
    out('publish.version', pub.Version);
    const lv = await client.send(new L.GetLayerVersionCommand({ LayerName: 'sdk-layer', VersionNumber: pub.Version }));
    out('layer.archs', lv.CompatibleArchitectures);
    out('layer.size', lv.Content.CodeSize);

    await client.send(new L.TagResourceCommand({ Resource: cfg.FunctionArn, Tags: { sdk: 'yes', tmp: '1' } }));
    await client.send(new L.UntagResourceCommand({ Resource: cfg.FunctionArn, TagKeys: ['tmp'] }));
    const tags = await client.send(new L.ListTagsCommand({ Resource: cfg.FunctionArn }));
    out('tags', Object.keys(tags.Tags).sort().join(','));

    try {
        await client.send(new L.GetFunctionConfigurationCommand({ FunctionName: 'no-such-fn' }));
    } catch (e) {
        out('missing', `${e.name} ${e.$metadata.httpStatusCode}`);
    }
    const bad = new L.LambdaClient({ endpoint, region: 'us-east-1', maxAttempts: 1,
        credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: 'wrong' } });
    try {
        await bad.send(new L.GetFunctionConfigurationCommand({ FunctionName: fn }));
        out('badsig', 'accepted');
    } catch (e) {
        out('badsig', `${e.name} ${e.$metadata.httpStatusCode}`);
    }
})().catch((e) => { console.error(`sdk: ${e.name}: ${e.message}`); process.exit(1); });
