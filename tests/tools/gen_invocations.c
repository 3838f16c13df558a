/* gen_invocations: writes N small synthetic invocations of one function, as the recorder would
 * (META, ENV, CODE, an API Gateway-like payload, ~30 events: the runtime's start, reads of its
 * code and data, a temp file, a spawned helper, DNS lookups and TLS connections to AWS), with
 * pids, fds, client ports, temp names, request ids, durations and byte counts varying per
 * invocation; every 100th one (when --attacks) also reads /proc/self/environ and posts to a
 * new host. For the baseline/check benchmark (tests/bench/check.sh) and the export test and
 * benchmark (tests/e2e/export.sh, tests/bench/export.sh), which also choose:
 *   gen_invocations OUTDIR N [--attacks] [--function F] [--version V] [--first I]
 *                   [--start NS] [--step NS] [--deploy] [--recorder-cpu NS]
 * --first: the first invocation's number (request ids and file names; default 0); --start,
 * --step: the first one's start (Unix ns) and the time between two; --deploy: the invocations
 * also run /usr/bin/convert and talk to api.partner.example (198.51.100.20:443), what a new
 * version of the function would add; --recorder-cpu: META recorder_cpu_ns of invocation I is
 * NS + (I % 5) * 100000 and its proc_start lasts 100000 + (I % 3) * 20000 ns, the
 * interposer's start (without it, neither: as from a recorder that did not measure them). */
#include "formats/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

static void
add(struct rt_writer *w, struct rt_event e)
{
    if (rt_writer_add_event(w, &e) != RT_OK) {
        fprintf(stderr, "gen_invocations: add event failed\n");
        exit(1);
    }
}

struct gen {
    const char *function, *version;
    int64_t start_ns, step_ns;
    unsigned first;
    bool deploy;
    uint64_t recorder_cpu_ns;
};

static int write_one(const char *dir, unsigned i, bool attack, const struct gen *g)
{
    struct rt_writer *w = rt_writer_new(NULL);
    if (!w)
        return -1;
    char rid[64], sandbox[40];
    snprintf(rid, sizeof rid, "%08x-4b1c-4d2e-9f30-%012x", i * 2654435761u, i);
    snprintf(sandbox, sizeof sandbox, "sandbox-%u", i / 50);
    struct rt_meta m = {.function = (char *)g->function,
                        .function_version = (char *)g->version,
                        .runtime = "python3.12",
                        .handler = "app.handler",
                        .request_id = rid,
                        .sandbox_id = sandbox,
                        .memory_mb = 512,
                        .start_wall_ns = g->start_ns + (int64_t)(i - g->first) * g->step_ns,
                        .duration_ns = 20000000u + (i * 7919u) % 30000000u,
                        .status = RT_STATUS_OK,
                        .seq = i % 50,
                        .recorder_cpu_ns =
                            g->recorder_cpu_ns ? g->recorder_cpu_ns + (i % 5) * 100000u : 0};
    rt_writer_set_meta(w, &m);
    static const char *const names[] = {"AWS_REGION", "TABLE_NAME", "DB_PASSWORD", "LOG_LEVEL",
                                        "AWS_SESSION_TOKEN"};
    for (size_t k = 0; k < 5; k++) {
        struct rt_env_var v = {.name = (char *)names[k]};
        memset(v.hash, k == 4 ? (int)(i & 0xff) : (int)k + 1, RT_DIGEST_LEN);
        rt_writer_add_env(w, &v);
    }
    struct rt_code code = {.files = 12, .bytes = 40000, .task_root_path = "/var/task"};
    memset(code.task_root, 0xab, RT_DIGEST_LEN);
    memset(code.layers, 0xcd, RT_DIGEST_LEN);
    rt_writer_set_code(w, &code);
    char payload[512];
    snprintf(payload, sizeof payload,
             "{\"httpMethod\": \"POST\", \"path\": \"/orders\", \"headers\": {\"Host\": "
             "\"api.example.com\"}, \"body\": {\"order\": {\"id\": \"o-%u\", \"items\": "
             "[{\"sku\": \"s-%u\", \"qty\": %u}]}}}",
             i, i % 97, 1 + i % 5);
    struct rt_payload p = {.present = true,
                           .mode = RT_PAYLOAD_FULL,
                           .original_len = strlen(payload),
                           .data = (uint8_t *)payload,
                           .len = strlen(payload)};
    rt_writer_set_payload(w, 'E', &p);

    int pid = 100 + (int)(i % 5000), fd = 5 + (int)(i % 7);
    int64_t t = 0;
    char argv0[] = "python3\0-m\0awslambdaric\0app.handler";
    struct rt_event e = {.pid = pid,
                         .tid = pid,
                         .op = RT_OP_PROC_START,
                         .dur_ns = g->recorder_cpu_ns ? 100000u + (i % 3) * 20000u : 0};
    e.str[0] = S("/var/lang/bin/python3.12");
    e.str[1] = (struct rt_str){argv0, sizeof argv0};
    add(w, e);
    t = (int64_t)e.dur_ns; /* the program's calls come after the interposer's start */
    static const char *const files[] = {"/var/task/app.py", "/var/task/lib/orders.py",
                                        "/var/task/lib/prices.json", "/etc/ssl/certs/ca.pem",
                                        "/var/lang/lib/python3.12/json/__init__.py"};
    for (size_t k = 0; k < 5; k++) {
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OPEN, .result = fd};
        e.str[0] = S(files[k]);
        e.num[0] = -100;
        add(w, e);
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/tmp%06xq_/order.json", i * 40503u & 0xffffff);
    e = (struct rt_event){.ts_ns = t += 1000,
                          .pid = pid,
                          .tid = pid,
                          .op = RT_OP_OPEN,
                          .result = fd,
                          .flags = RT_EF_CREATE};
    e.str[0] = S(tmp);
    e.num[0] = -100;
    e.num[1] = 01101;
    add(w, e);
    char gz[] = "gzip\0-9\0/tmp/order.json";
    e = (struct rt_event){
        .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_SPAWN, .result = pid + 1};
    e.str[0] = S("/usr/bin/gzip");
    e.str[1] = (struct rt_str){gz, sizeof gz};
    add(w, e);
    for (int k = 0; k < 6; k++) {
        static const char *const hosts[] = {"dynamodb.eu-west-1.amazonaws.com",
                                            "sqs.eu-west-1.amazonaws.com"};
        char peer[40];
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_DNS};
        e.str[0] = S(hosts[k % 2]);
        e.str[1] = S("52.94.1.7");
        add(w, e);
        snprintf(peer, sizeof peer, "52.94.1.%d:443", 7 + k % 2);
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_CONNECT, .result = -115};
        e.str[0] = S(peer);
        e.num[0] = fd + 1;
        add(w, e);
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OUTBOUND};
        e.str[0] = S(peer);
        e.str[1] = S(hosts[k % 2]);
        e.num[0] = 1500 + (int64_t)((i * 31 + (unsigned)k) % 800);
        e.num[1] = 4000;
        e.num[2] = RT_PROTO_TLS;
        e.num[3] = fd + 1;
        add(w, e);
    }
    if (g->deploy) {
        char cv[] = "convert\0/tmp/in.png\0/tmp/out.webp";
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_SPAWN, .result = pid + 2};
        e.str[0] = S("/usr/bin/convert");
        e.str[1] = (struct rt_str){cv, sizeof cv};
        add(w, e);
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_DNS};
        e.str[0] = S("api.partner.example");
        e.str[1] = S("198.51.100.20");
        add(w, e);
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_CONNECT, .result = -115};
        e.str[0] = S("198.51.100.20:443");
        e.num[0] = fd + 2;
        add(w, e);
        e = (struct rt_event){
            .ts_ns = t, .dur_ns = 3000, .pid = pid, .tid = pid, .op = RT_OP_OUTBOUND};
        e.str[0] = S("198.51.100.20:443");
        e.str[1] = S("api.partner.example");
        e.num[0] = 900;
        e.num[1] = 1200;
        e.num[2] = RT_PROTO_TLS;
        e.num[3] = fd + 2;
        add(w, e);
        t += 3000;
    }
    if (attack) {
        e = (struct rt_event){.ts_ns = t += 1000,
                              .pid = pid,
                              .tid = pid,
                              .op = RT_OP_FOPEN,
                              .result = 3,
                              .flags = RT_EF_ENVIRON_READ};
        e.str[0] = S("/proc/self/environ");
        e.str[1] = S("rb");
        add(w, e);
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OUTBOUND};
        e.str[0] = S("203.0.113.9:443");
        e.str[1] = S("collector.example.net");
        e.num[0] = 2400;
        e.num[2] = RT_PROTO_TLS;
        add(w, e);
    }
    char mark_rid[64];
    snprintf(mark_rid, sizeof mark_rid, "%s", rid);
    e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_MARK};
    e.str[0] = S(mark_rid);
    e.num[0] = RT_MARK_RESPONSE;
    add(w, e);
    uint8_t *out = NULL;
    size_t len = 0;
    if (rt_writer_finish(w, 0, &out, &len, NULL) != RT_OK)
        return -1;
    rt_writer_free(w);
    char path[4096];
    snprintf(path, sizeof path, "%s/inv-%06u.rtb", dir, i);
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(out, 1, len, f) == len ? 0 : -1;
    if (f && fclose(f))
        rc = -1;
    free(out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen_invocations OUTDIR N [--attacks] [--function F] [--version V]"
                        " [--first I] [--start NS] [--step NS] [--deploy] [--recorder-cpu NS]\n");
        return 2;
    }
    struct gen g = {"orders-api", "12", 1764000000000000000, 1000000, 0, false, 0};
    bool attacks = false;
    for (int a = 3; a < argc; a++) {
        const char *val = a + 1 < argc ? argv[a + 1] : "";
        if (!strcmp(argv[a], "--attacks"))
            attacks = true;
        else if (!strcmp(argv[a], "--deploy"))
            g.deploy = true;
        else if (!strcmp(argv[a], "--function") && ++a)
            g.function = val;
        else if (!strcmp(argv[a], "--version") && ++a)
            g.version = val;
        else if (!strcmp(argv[a], "--first") && ++a)
            g.first = (unsigned)strtoul(val, NULL, 10);
        else if (!strcmp(argv[a], "--start") && ++a)
            g.start_ns = strtoll(val, NULL, 10);
        else if (!strcmp(argv[a], "--step") && ++a)
            g.step_ns = strtoll(val, NULL, 10);
        else if (!strcmp(argv[a], "--recorder-cpu") && ++a)
            g.recorder_cpu_ns = strtoull(val, NULL, 10);
        else {
            fprintf(stderr, "gen_invocations: unknown argument '%s'\n", argv[a]);
            return 2;
        }
    }
    mkdir(argv[1], 0755);
    unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
    for (unsigned i = g.first; i < g.first + n; i++)
        if (write_one(argv[1], i, attacks && i % 100 == 99, &g)) {
            fprintf(stderr, "gen_invocations: %s: cannot write\n", argv[1]);
            return 1;
        }
    return 0;
}
