#!/usr/bin/env node
// AWS's own S3 client as an independent oracle: lists every key under PREFIX (all pages) and
// downloads each object into OUTDIR (flat, '/' replaced by '_'), printing one key per line.
// Usage: node sdk-fetch.js ENDPOINT BUCKET PREFIX OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');
const { S3Client, ListObjectsV2Command, GetObjectCommand } = require('@aws-sdk/client-s3');

async function main() {
    const [endpoint, bucket, prefix, outdir] = process.argv.slice(2);
    const s3 = new S3Client({
        endpoint, region: 'us-east-1', forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    let token;
    do {
        const page = await s3.send(new ListObjectsV2Command({
            Bucket: bucket, Prefix: prefix, ContinuationToken: token,
        }));
        for (const o of page.Contents || []) {
            const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
            const bytes = await obj.Body.transformToByteArray();
            fs.writeFileSync(path.join(outdir, o.Key.replace(/\//g, '_')), bytes);
            process.stdout.write(o.Key + '\n');
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
}
main().catch((e) => { console.error(e); process.exit(1); });
