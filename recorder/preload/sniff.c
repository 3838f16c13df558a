/* Protocol sniffers for the connection summaries (see sniff.h). These read a handful of fixed
 * fields of the first bytes on a connection; they do not parse or validate the protocols. */
#include "recorder/preload/sniff.h"

#include <stdint.h>
#include <stdbool.h>
#include <string.h>

static size_t put(char *out, size_t cap, const char *s, size_t n)
{
    if (!cap)
        return 0;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = 0;
    return n;
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

size_t rt_sniff_tls_sni(const unsigned char *buf, size_t len, char *out, size_t cap)
{
    /* record header: type 22 (handshake), version 3.x, length */
    if (len < 5 || buf[0] != 0x16 || buf[1] != 0x03)
        return 0;
    size_t end = 5 + be16(buf + 3);
    if (end > len)
        end = len; /* the first write may hold only part of the record */
    size_t p = 5;
    /* handshake header: type 1 (ClientHello), 24-bit length */
    if (p + 4 > end || buf[p] != 0x01)
        return 0;
    p += 4;
    p += 2 + 32; /* client version, random */
    if (p + 1 > end)
        return 0;
    p += 1 + buf[p]; /* session id */
    if (p + 2 > end)
        return 0;
    p += 2 + be16(buf + p); /* cipher suites */
    if (p + 1 > end)
        return 0;
    p += 1 + buf[p]; /* compression methods */
    if (p + 2 > end)
        return 0;
    size_t ext_end = p + 2 + be16(buf + p);
    p += 2;
    if (ext_end > end)
        ext_end = end;
    while (p + 4 <= ext_end) {
        unsigned type = be16(buf + p), elen = be16(buf + p + 2);
        p += 4;
        if (p + elen > ext_end)
            return 0;
        if (type == 0) { /* server_name: list length, then (type, length, name) entries */
            size_t q = p + 2, lend = p + elen;
            while (q + 3 <= lend) {
                unsigned ntype = buf[q], nlen = be16(buf + q + 1);
                q += 3;
                if (q + nlen > lend)
                    return 0;
                if (ntype == 0 && nlen > 0)
                    return put(out, cap, (const char *)buf + q, nlen);
                q += nlen;
            }
            return 0;
        }
        p += elen;
    }
    return 0;
}

static const char *const methods[] = {"GET ",     "POST ",  "PUT ",     "DELETE ", "HEAD ",
                                      "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};

static size_t line_len(const char *buf, size_t len)
{
    size_t n = 0;
    while (n < len && buf[n] != '\r' && buf[n] != '\n')
        n++;
    return n;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

size_t rt_sniff_http_request(const char *buf, size_t len, char *out, size_t cap, char *host,
                             size_t hcap)
{
    if (hcap)
        host[0] = 0;
    int ok = 0;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        size_t m = strlen(methods[i]);
        if (len > m && memcmp(buf, methods[i], m) == 0) {
            ok = 1;
            break;
        }
    }
    if (!ok)
        return 0;
    size_t first = line_len(buf, len);
    size_t n = put(out, cap, buf, first);
    /* headers: look for "Host:" at the start of a line */
    size_t p = first;
    while (p < len) {
        while (p < len && (buf[p] == '\r' || buf[p] == '\n'))
            p++;
        size_t l = line_len(buf + p, len - p);
        if (l == 0)
            break;
        if (l >= 5 && lower(buf[p]) == 'h' && lower(buf[p + 1]) == 'o' &&
            lower(buf[p + 2]) == 's' && lower(buf[p + 3]) == 't' && buf[p + 4] == ':') {
            size_t v = p + 5, vend = p + l;
            while (v < vend && (buf[v] == ' ' || buf[v] == '\t'))
                v++;
            while (vend > v && (buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
                vend--;
            put(host, hcap, buf + v, vend - v);
            break;
        }
        p += l;
    }
    return n;
}

size_t rt_sniff_http_status(const char *buf, size_t len, char *out, size_t cap)
{
    if (len < 12 || memcmp(buf, "HTTP/", 5) != 0)
        return 0;
    return put(out, cap, buf, line_len(buf, len));
}

size_t rt_sniff_dns_qname(const unsigned char *buf, size_t len, char *out, size_t cap)
{
    /* header: id, flags (QR must be 0: a query), qdcount >= 1 */
    if (len < 12 || (buf[2] & 0x80) || be16(buf + 4) == 0 || !cap)
        return 0;
    size_t p = 12, n = 0;
    while (p < len) {
        unsigned label = buf[p++];
        if (label == 0)
            break;
        if (label & 0xc0 || p + label > len)
            return 0; /* compression never appears in a query's first name */
        if (n && n + 1 < cap)
            out[n++] = '.';
        for (unsigned i = 0; i < label && n + 1 < cap; i++)
            out[n++] = (char)buf[p + i];
        p += label;
    }
    out[n] = 0;
    return n;
}

int rt_sniff_http_code(const char *buf, size_t len)
{
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return 0;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return 0;
        code = code * 10 + (buf[i] - '0');
    }
    return code >= 100 ? code : 0;
}

/* ---- AWS SigV4 requests ----
 * Only what names the call: the credential scope of the Authorization header (the signature
 * after it is never read), X-Amz-Target, the request target, Host, and for the query and
 * JSON protocols a few well-known keys at the start of the body. Values are copied, bounded,
 * into fixed fields; nothing else of the request is kept. */

struct span {
    const char *p;
    size_t n;
};

static bool span_eq(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static const char *mem_find(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(s + i, lit, m) == 0)
            return s + i;
    return NULL;
}

static const char *mem_rchr(const char *s, size_t n, char c)
{
    while (n--)
        if (s[n] == c)
            return s + n;
    return NULL;
}

/* The value of header `name` (case-insensitive, trimmed) in the lines of buf[0, end) after
 * the request line; {NULL, 0} when absent. */
static struct span header(const char *buf, size_t end, const char *name)
{
    size_t nl = strlen(name), p = line_len(buf, end);
    while (p < end) {
        while (p < end && (buf[p] == '\r' || buf[p] == '\n'))
            p++;
        size_t l = line_len(buf + p, end - p);
        if (l == 0)
            break;
        bool match = l > nl && buf[p + nl] == ':';
        for (size_t i = 0; match && i < nl; i++)
            match = lower(buf[p + i]) == lower(name[i]);
        if (match) {
            size_t v = p + nl + 1, vend = p + l;
            while (v < vend && (buf[v] == ' ' || buf[v] == '\t'))
                v++;
            while (vend > v && (buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
                vend--;
            return (struct span){buf + v, vend - v};
        }
        p += l;
    }
    return (struct span){NULL, 0};
}

/* The raw value of `key` in "k=v&k=v" (a query string or a form body); false when absent. */
static bool param(struct span q, const char *key, struct span *val)
{
    size_t kl = strlen(key), p = 0;
    while (p < q.n) {
        size_t e = p;
        while (e < q.n && q.p[e] != '&')
            e++;
        if (e - p >= kl && memcmp(q.p + p, key, kl) == 0 && (e - p == kl || q.p[p + kl] == '=')) {
            size_t v = e - p == kl ? e : p + kl + 1;
            *val = (struct span){q.p + v, e - v};
            return true;
        }
        p = e + 1;
    }
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends s at out[n] (out holds cap bytes, cap >= 1), percent-decoded when decode ('+' is a
 * space when form); returns the new length. out stays NUL-terminated. */
static size_t add(char *out, size_t cap, size_t n, struct span s, bool decode, bool form)
{
    for (size_t i = 0; i < s.n && n + 1 < cap; i++) {
        char c = s.p[i];
        int hi, lo;
        if (decode && c == '%' && s.n - i > 2 && (hi = hexval(s.p[i + 1])) >= 0 &&
            (lo = hexval(s.p[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (decode && form && c == '+') {
            c = ' ';
        }
        out[n++] = c;
    }
    out[n] = 0;
    return n;
}

static size_t add_lit(char *out, size_t cap, size_t n, const char *s)
{
    return add(out, cap, n, (struct span){s, strlen(s)}, false, false);
}

/* out = "service:" + name. */
static void set_action(struct rt_sniff_aws *a, struct span name, bool decode)
{
    size_t n = add_lit(a->action, sizeof a->action, 0, a->service);
    n = add_lit(a->action, sizeof a->action, n, ":");
    add(a->action, sizeof a->action, n, name, decode, decode);
}

/* Keys whose value names the resource of a JSON request (resource_json) or a query-protocol
 * form (resource_form), in order of preference. Only names that mean a resource: a generic key
 * ("Name", "Value") could be a value the body carries. */
static const char *const resource_json[] = {
    "TableName", "QueueUrl",        "TopicArn",           "TargetArn", "FunctionName",
    "SecretId",  "StateMachineArn", "StreamName",         "StreamARN", "LogGroupName",
    "KeyId",     "ResourceArn",     "DeliveryStreamName",
};
static const char *const resource_form[] = {
    "QueueUrl", "TopicArn", "TargetArn", "RoleArn",   "PolicyArn",
    "UserName", "RoleName", "GroupName", "StackName",
};
#define NKEYS(a) (sizeof(a) / sizeof *(a))

/* The string value of "key" in the first bytes of a JSON document, copied unescaped (a
 * backslash keeps the character after it); false when not found or not a string. */
static bool json_string(struct span body, const char *key, char *out, size_t cap)
{
    char quoted[40];
    size_t kl = strlen(key);
    if (kl + 3 > sizeof quoted)
        return false;
    quoted[0] = '"';
    memcpy(quoted + 1, key, kl);
    quoted[kl + 1] = '"';
    quoted[kl + 2] = 0;
    const char *k = mem_find(body.p, body.n, quoted);
    if (!k)
        return false;
    size_t p = (size_t)(k - body.p) + kl + 2;
    while (p < body.n &&
           (body.p[p] == ' ' || body.p[p] == '\t' || body.p[p] == '\r' || body.p[p] == '\n'))
        p++;
    if (p >= body.n || body.p[p] != ':')
        return false;
    p++;
    while (p < body.n &&
           (body.p[p] == ' ' || body.p[p] == '\t' || body.p[p] == '\r' || body.p[p] == '\n'))
        p++;
    if (p >= body.n || body.p[p] != '"')
        return false;
    p++;
    size_t n = 0;
    while (p < body.n && body.p[p] != '"' && n + 1 < cap) {
        if (body.p[p] == '\\' && p + 1 < body.n)
            p++;
        out[n++] = body.p[p++];
    }
    out[n] = 0;
    return n > 0;
}

/* What the AWS sniffer reads at most: the head of a request, and of a body (a large upload
 * written in one call with its headers costs no more than a small one). */
#define AWS_HEAD_MAX 16384
#define AWS_BODY_MAX 4096

void rt_sniff_aws_body(const char *body, size_t len, struct rt_sniff_aws *out)
{
    out->need_body = 0;
    if (len > AWS_BODY_MAX)
        len = AWS_BODY_MAX;
    if (!body || !len)
        return;
    struct span b = {body, len};
    struct span v;
    if (out->proto == 'q') {
        if (param(b, "Action", &v) && v.n)
            set_action(out, v, true);
        for (size_t i = 0; !out->resource[0] && i < NKEYS(resource_form); i++)
            if (param(b, resource_form[i], &v))
                add(out->resource, sizeof out->resource, 0, v, true, true);
    } else if (out->proto == 'j') {
        for (size_t i = 0; !out->resource[0] && i < NKEYS(resource_json); i++)
            json_string(b, resource_json[i], out->resource, sizeof out->resource);
        if (!out->resource[0] && !strcmp(out->service, "ssm")) /* a parameter's name */
            json_string(b, "Name", out->resource, sizeof out->resource);
    }
}

/* S3 sub-resources of a bucket: the query key, then the action of GET, PUT and DELETE. */
#define S3_BUCKET_SUBS(_)                                                                          \
    _("acl", "GetBucketAcl", "PutBucketAcl", NULL)                                                 \
    _("policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy")                        \
    _("policyStatus", "GetBucketPolicyStatus", NULL, NULL)                                         \
    _("tagging", "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging")                    \
    _("cors", "GetBucketCors", "PutBucketCors", "DeleteBucketCors")                                \
    _("lifecycle", "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration",           \
      "DeleteBucketLifecycle")                                                                     \
    _("versioning", "GetBucketVersioning", "PutBucketVersioning", NULL)                            \
    _("encryption", "GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption")        \
    _("website", "GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite")                    \
    _("notification", "GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration",  \
      NULL)                                                                                        \
    _("logging", "GetBucketLogging", "PutBucketLogging", NULL)                                     \
    _("replication", "GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication")    \
    _("publicAccessBlock", "GetPublicAccessBlock", "PutPublicAccessBlock",                         \
      "DeletePublicAccessBlock")                                                                   \
    _("ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls",             \
      "DeleteBucketOwnershipControls")                                                             \
    _("object-lock", "GetObjectLockConfiguration", "PutObjectLockConfiguration", NULL)             \
    _("location", "GetBucketLocation", NULL, NULL)                                                 \
    _("versions", "ListObjectVersions", NULL, NULL)                                                \
    _("uploads", "ListMultipartUploads", NULL, NULL)

/* S3 sub-resources of an object (GET, PUT, DELETE). */
#define S3_OBJECT_SUBS(_)                                                                          \
    _("acl", "GetObjectAcl", "PutObjectAcl", NULL)                                                 \
    _("tagging", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging")                    \
    _("retention", "GetObjectRetention", "PutObjectRetention", NULL)                               \
    _("legal-hold", "GetObjectLegalHold", "PutObjectLegalHold", NULL)                              \
    _("attributes", "GetObjectAttributes", NULL, NULL)                                             \
    _("torrent", "GetObjectTorrent", NULL, NULL)

struct s3_sub {
    const char *key, *get, *put, *del;
};
static const struct s3_sub s3_bucket_subs[] = {
#define _(k, g, p, d) {k, g, p, d},
    S3_BUCKET_SUBS(_)
#undef _
};
static const struct s3_sub s3_object_subs[] = {
#define _(k, g, p, d) {k, g, p, d},
    S3_OBJECT_SUBS(_)
#undef _
};

static const char *s3_sub_action(const struct s3_sub *subs, size_t n, struct span method,
                                 struct span query)
{
    struct span v;
    for (size_t i = 0; i < n; i++) {
        if (!param(query, subs[i].key, &v))
            continue;
        return span_eq(method, "GET") || span_eq(method, "HEAD") ? subs[i].get
               : span_eq(method, "PUT")                          ? subs[i].put
               : span_eq(method, "DELETE")                       ? subs[i].del
                                                                 : NULL;
    }
    return NULL;
}

/* The S3 operation of a request on bucket (may be empty) and key (may be empty). */
static const char *s3_action(const char *buf, size_t hend, struct span method, struct span query,
                             bool bucket, bool key)
{
    struct span v;
    bool copy = header(buf, hend, "x-amz-copy-source").p != NULL;
    if (!bucket)
        return span_eq(method, "GET") ? "ListBuckets" : NULL;
    if (!key) {
        const char *a = s3_sub_action(
            s3_bucket_subs, sizeof s3_bucket_subs / sizeof *s3_bucket_subs, method, query);
        if (a)
            return a;
        if (span_eq(method, "GET"))
            return param(query, "list-type", &v) && span_eq(v, "2") ? "ListObjectsV2"
                                                                    : "ListObjects";
        if (span_eq(method, "PUT"))
            return "CreateBucket";
        if (span_eq(method, "DELETE"))
            return "DeleteBucket";
        if (span_eq(method, "HEAD"))
            return "HeadBucket";
        if (span_eq(method, "POST") && param(query, "delete", &v))
            return "DeleteObjects";
        return NULL;
    }
    if (param(query, "uploadId", &v)) {
        if (span_eq(method, "PUT"))
            return copy ? "UploadPartCopy" : "UploadPart";
        if (span_eq(method, "GET"))
            return "ListParts";
        if (span_eq(method, "DELETE"))
            return "AbortMultipartUpload";
        if (span_eq(method, "POST"))
            return "CompleteMultipartUpload";
        return NULL;
    }
    if (span_eq(method, "POST"))
        return param(query, "uploads", &v)   ? "CreateMultipartUpload"
               : param(query, "select", &v)  ? "SelectObjectContent"
               : param(query, "restore", &v) ? "RestoreObject"
                                             : NULL;
    const char *a = s3_sub_action(s3_object_subs, sizeof s3_object_subs / sizeof *s3_object_subs,
                                  method, query);
    if (a)
        return a;
    if (span_eq(method, "GET"))
        return "GetObject";
    if (span_eq(method, "PUT"))
        return copy ? "CopyObject" : "PutObject";
    if (span_eq(method, "DELETE"))
        return "DeleteObject";
    if (span_eq(method, "HEAD"))
        return "HeadObject";
    return NULL;
}

/* Bucket and key of an S3 request: a virtual-host bucket ("b.s3.amazonaws.com",
 * "b.s3.us-east-1.amazonaws.com", "b.s3-us-west-2.amazonaws.com") or the first segment of the
 * path (path style). *resource gets "bucket/key" (decoded); returns what it found in *bucket
 * and *key. */
static void s3_resource(struct span host, struct span path, struct rt_sniff_aws *a, bool *bucket,
                        bool *key)
{
    const char *colon = mem_rchr(host.p, host.n, ':');
    if (colon && !mem_rchr(host.p, host.n, ']'))
        host.n = (size_t)(colon - host.p);
    const char *s3 = mem_find(host.p, host.n, ".s3.");
    if (!s3)
        s3 = mem_find(host.p, host.n, ".s3-");
    size_t n = 0;
    size_t p = path.n && path.p[0] == '/' ? 1 : 0;
    *bucket = *key = false;
    if (s3 && s3 > host.p) {
        n = add(a->resource, sizeof a->resource, 0, (struct span){host.p, (size_t)(s3 - host.p)},
                false, false);
        *bucket = true;
    } else {
        size_t e = p;
        while (e < path.n && path.p[e] != '/')
            e++;
        if (e > p) {
            n = add(a->resource, sizeof a->resource, 0, (struct span){path.p + p, e - p}, true,
                    false);
            *bucket = true;
        }
        p = e < path.n ? e + 1 : e;
    }
    if (*bucket && p < path.n) {
        n = add_lit(a->resource, sizeof a->resource, n, "/");
        add(a->resource, sizeof a->resource, n, (struct span){path.p + p, path.n - p}, true, false);
        *key = true;
    }
}

/* An ARN in a REST path ("/2015-03-31/functions/arn%3Aaws%3A.../invocations"): the segment. */
static void rest_resource(struct span path, struct rt_sniff_aws *a)
{
    for (size_t p = 0; p < path.n;) {
        size_t e = p;
        while (e < path.n && path.p[e] != '/')
            e++;
        struct span seg = {path.p + p, e - p};
        if ((seg.n > 6 && memcmp(seg.p, "arn%3A", 6) == 0) ||
            (seg.n > 4 && memcmp(seg.p, "arn:", 4) == 0)) {
            add(a->resource, sizeof a->resource, 0, seg, true, false);
            return;
        }
        p = e + 1;
    }
}

/* Copies the credential scope "KEY/DATE/REGION/SERVICE/aws4_request" of an Authorization value;
 * false when it is not SigV4. */
static bool credential_scope(struct span auth, struct rt_sniff_aws *a)
{
    static const char scheme[] = "AWS4-HMAC-SHA256 ";
    if (auth.n < sizeof scheme || memcmp(auth.p, scheme, sizeof scheme - 1) != 0)
        return false;
    const char *c = mem_find(auth.p, auth.n, "Credential=");
    if (!c)
        return false;
    size_t p = (size_t)(c - auth.p) + 11, e = p;
    while (e < auth.n && auth.p[e] != ',' && auth.p[e] != ' ')
        e++;
    /* fields 0 key id, 1 date, 2 region, 3 service */
    struct span field[4] = {{0}};
    int f = 0;
    for (size_t s = p; f < 4 && s <= e; f++) {
        size_t t = s;
        while (t < e && auth.p[t] != '/')
            t++;
        field[f] = (struct span){auth.p + s, t - s};
        s = t + 1;
    }
    if (f < 4 || !field[0].n || !field[3].n)
        return false;
    add(a->key_id, sizeof a->key_id, 0, field[0], false, false);
    add(a->region, sizeof a->region, 0, field[2], false, false);
    add(a->service, sizeof a->service, 0, field[3], false, false);
    return true;
}

int rt_sniff_aws_request(const char *buf, size_t len, struct rt_sniff_aws *out)
{
    memset(out, 0, sizeof *out);
    if (len > AWS_HEAD_MAX)
        len = AWS_HEAD_MAX;
    char line[8];
    char host[8];
    if (!rt_sniff_http_request(buf, len, line, sizeof line, host, sizeof host))
        return 0;
    /* the header block, and the body after it when these bytes reach it */
    const char *hdr_end = mem_find(buf, len, "\r\n\r\n");
    size_t hend = hdr_end ? (size_t)(hdr_end - buf) + 2 : len;
    struct span body = {NULL, 0};
    if (hdr_end)
        body = (struct span){hdr_end + 4, len - (size_t)(hdr_end + 4 - buf)};
    if (!credential_scope(header(buf, hend, "Authorization"), out)) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    /* request line: METHOD TARGET VERSION; the target may be absolute (through a proxy) */
    size_t first = line_len(buf, len);
    const char *sp = memchr(buf, ' ', first);
    struct span method = {buf, (size_t)(sp - buf)};
    size_t ts = (size_t)(sp - buf) + 1, te = ts;
    while (te < first && buf[te] != ' ')
        te++;
    struct span target = {buf + ts, te - ts};
    static const char *const schemes[] = {"http://", "https://"};
    for (int k = 0; k < 2; k++) {
        size_t sl = strlen(schemes[k]);
        if (target.n > sl && memcmp(target.p, schemes[k], sl) == 0) {
            const char *slash = memchr(target.p + sl, '/', target.n - sl);
            target = slash ? (struct span){slash, target.n - (size_t)(slash - target.p)}
                           : (struct span){"/", 1};
        }
    }
    const char *q = memchr(target.p, '?', target.n);
    struct span path = {target.p, q ? (size_t)(q - target.p) : target.n};
    struct span query = q ? (struct span){q + 1, target.n - path.n - 1} : (struct span){NULL, 0};
    struct span amz_target = header(buf, hend, "X-Amz-Target");
    struct span ctype = header(buf, hend, "Content-Type");
    struct span v;
    bool body_expected = !hdr_end || body.n == 0;
    struct span clen = header(buf, hend, "Content-Length");
    if (clen.p && span_eq(clen, "0"))
        body_expected = false;
    if (!strcmp(out->service, "s3")) {
        out->proto = 's';
        bool bucket, key;
        s3_resource(header(buf, hend, "Host"), path, out, &bucket, &key);
        const char *a = s3_action(buf, hend, method, query, bucket, key);
        if (a)
            set_action(out, (struct span){a, strlen(a)}, false);
    } else if (amz_target.n) {
        out->proto = 'j';
        const char *dot = mem_rchr(amz_target.p, amz_target.n, '.');
        if (dot)
            amz_target = (struct span){dot + 1, amz_target.n - (size_t)(dot + 1 - amz_target.p)};
        set_action(out, amz_target, false);
        if (body.n)
            rt_sniff_aws_body(body.p, body.n, out);
        else
            out->need_body = body_expected;
    } else if ((query.n && param(query, "Action", &v)) ||
               (ctype.n && mem_find(ctype.p, ctype.n, "x-www-form-urlencoded"))) {
        out->proto = 'q';
        if (query.n)
            rt_sniff_aws_body(query.p, query.n, out);
        if (body.n && (!out->action[0] || !out->resource[0]))
            rt_sniff_aws_body(body.p, body.n, out);
        else if (!out->action[0])
            out->need_body = body_expected;
    } else {
        out->proto = 'r';
        size_t n = add_lit(out->action, sizeof out->action, 0, out->service);
        n = add_lit(out->action, sizeof out->action, n, ":");
        n = add(out->action, sizeof out->action, n, method, false, false);
        n = add_lit(out->action, sizeof out->action, n, " ");
        add(out->action, sizeof out->action, n, path, false, false);
        rest_resource(path, out);
    }
    return 1;
}

size_t rt_sniff_aws_service(const char *host, size_t len, char *out, size_t cap)
{
    static const char *const suffixes[] = {".amazonaws.com", ".amazonaws.com.cn"};
    size_t end = 0;
    for (size_t k = 0; k < 2 && !end; k++) {
        size_t sl = strlen(suffixes[k]);
        if (len > sl && !memcmp(host + len - sl, suffixes[k], sl))
            end = len - sl;
    }
    if (!end)
        return 0;
    /* labels before the suffix: an "s3" label (or "s3-..."), else "execute-api", else the
     * first label */
    struct span first = {NULL, 0};
    for (size_t p = 0; p < end;) {
        size_t e = p;
        while (e < end && host[e] != '.')
            e++;
        struct span label = {host + p, e - p};
        if (!first.p)
            first = label;
        if (span_eq(label, "s3") || (label.n > 3 && !memcmp(label.p, "s3-", 3)))
            return put(out, cap, "s3", 2);
        if (span_eq(label, "execute-api"))
            return put(out, cap, label.p, label.n);
        p = e + 1;
    }
    return first.n ? put(out, cap, first.p, first.n) : 0;
}
