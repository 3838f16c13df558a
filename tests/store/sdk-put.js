#!/usr/bin/env node
// AWS's own S3 client writes one object, so a test can store keys that runtrail's own client
// would not produce (a control character, odd segments) exactly as a compromised function
// using the SDK could. The key is argv as given (bash $'...' carries control characters).
// Usage: node sdk-put.js ENDPOINT BUCKET KEY FILE
'use strict';
const fs = require('fs');
const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');

async function main() {
    const [endpoint, bucket, key, file] = process.argv.slice(2);
    const s3 = new S3Client({
        endpoint, region: 'us-east-1', forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: fs.readFileSync(file) }));
    process.stdout.write('stored\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
