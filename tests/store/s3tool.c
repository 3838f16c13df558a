/* rt-s3tool: a test driver for store/ (not installed). It exercises the library the way the
 * recorder and the CLI do, so the e2e scripts can check the wire behaviour against s3rver and
 * the verifying proxy:
 *   rt-s3tool bundles URL N [--fn F] [--start NS] [--step NS] [--events K] [--spool DIR]
 *             [--spool-max BYTES] [--rid-prefix P] [--timeout MS] [--chain]
 *                               writes N generated bundles through rt_store_put_bundle and
 *                               prints "KEY<TAB>result" per bundle, then the counters;
 *                               --chain: one sandbox's chain (seq, prev digest, chain_end
 *                               "more", the last one "last") as the extension writes it
 *   rt-s3tool flush URL SPOOLDIR        rt_store_flush_spool, prints "delivered N"
 *   rt-s3tool put BUCKET KEY FILE       raw PutObject
 *   rt-s3tool get BUCKET KEY FILE       GetObject into FILE
 *   rt-s3tool head BUCKET KEY           prints the size
 *   rt-s3tool delete BUCKET KEY
 *   rt-s3tool verify FILE...            opens each bundle (checksums, footer digest)
 *   rt-s3tool list BUCKET [PREFIX [DELIM [START_AFTER [MAX_KEYS]]]]  all pages: keys, "P prefix"
 * Exit status 0 on success, 1 on an S3/store error (message on stderr), 2 on usage. */
#include "formats/bundle.h"
#include "store/s3.h"
#include "store/store.h"
#include "store/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(int rc, const struct rt_errinfo *ei)
{
    char buf[512];
    fprintf(stderr, "rt-s3tool: %s\n", rt_errinfo_format(rc, ei, buf, sizeof buf));
    return 1;
}

static bool has_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name))
            return true;
    return false;
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return def;
}

/* The chain --chain builds: the previous bundle's digest and the next seq. */
struct chain_state {
    bool on;
    uint64_t seq;
    bool last;
    uint8_t prev[RT_DIGEST_LEN];
};

static int make_bundle(const char *fn, const char *rid, int64_t start, int events, uint8_t **out,
                       size_t *len, struct rt_meta *meta_out, struct chain_state *cs)
{
    struct rt_writer *w = rt_writer_new(NULL);
    if (!w)
        return RT_ERR_NOMEM;
    struct rt_meta m;
    memset(&m, 0, sizeof m);
    m.function = (char *)fn;
    m.request_id = (char *)rid;
    m.sandbox_id = (char *)"sandbox-test";
    m.start_wall_ns = start;
    m.end_wall_ns = start + 3000000;
    m.duration_ns = 3000000;
    m.status = RT_STATUS_OK;
    if (cs && cs->on) {
        m.seq = cs->seq;
        m.has_prev = cs->seq > 0;
        memcpy(m.prev_digest, cs->prev, RT_DIGEST_LEN);
        m.chain_end = cs->last ? RT_CHAIN_END_LAST : RT_CHAIN_END_MORE;
    }
    rt_writer_set_meta(w, &m);
    for (int i = 0; i < events; i++) {
        struct rt_event ev;
        memset(&ev, 0, sizeof ev);
        char path[64], dest[64];
        ev.ts_ns = i * 1000;
        ev.pid = 1;
        if (i % 3 == 2) {
            ev.op = RT_OP_OUTBOUND;
            snprintf(dest, sizeof dest, "10.0.%d.%d:443", (i / 256) % 256, i % 256);
            ev.str[0] = (struct rt_str){dest, strlen(dest)};
            ev.str[1] = (struct rt_str){"api.example.com", 15};
            ev.num[0] = 100;
        } else {
            ev.op = RT_OP_OPEN;
            snprintf(path, sizeof path, "/var/task/file%d.js", i % 50);
            ev.str[0] = (struct rt_str){path, strlen(path)};
        }
        rt_writer_add_event(w, &ev);
    }
    int rc = rt_writer_finish(w, 1, out, len, NULL);
    rt_writer_free(w);
    *meta_out = m;
    struct rt_bundle *b = NULL;
    if (rc == RT_OK && cs && cs->on && rt_bundle_open_mem(*out, *len, &b, NULL) == RT_OK) {
        memcpy(cs->prev, b->digest, RT_DIGEST_LEN);
        cs->seq++;
        rt_bundle_free(b);
    }
    return rc;
}

static int cmd_bundles(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *url = argv[2];
    long n = strtol(argv[3], NULL, 10);
    const char *fn = opt(argc, argv, "--fn", "orders");
    int64_t start = strtoll(opt(argc, argv, "--start", "1795689711000000000"), NULL, 10);
    int64_t step = strtoll(opt(argc, argv, "--step", "1000000000"), NULL, 10);
    int events = atoi(opt(argc, argv, "--events", "6"));
    const char *rid_prefix = opt(argc, argv, "--rid-prefix", "req");
    struct rt_store_options so = {
        .spool_dir = opt(argc, argv, "--spool", NULL),
        .spool_max = strtoull(opt(argc, argv, "--spool-max", "0"), NULL, 10),
        .timeout_ms = atoi(opt(argc, argv, "--timeout", "0")),
    };
    struct rt_store *st;
    struct rt_errinfo ei;
    int rc = rt_store_open(url, &so, &st, &ei);
    if (rc != RT_OK)
        return die(rc, &ei);
    int failures = 0;
    struct chain_state cs = {.on = has_flag(argc, argv, "--chain")};
    for (long i = 0; i < n; i++) {
        cs.last = i == n - 1;
        char rid[128];
        snprintf(rid, sizeof rid, "%s-%05ld", rid_prefix, i);
        uint8_t *data;
        size_t len;
        struct rt_meta m;
        if ((rc = make_bundle(fn, rid, start + i * step, events, &data, &len, &m, &cs)) != RT_OK)
            return die(rc, NULL);
        char key[512];
        rt_store_key(&m, key, sizeof key);
        rc = rt_store_put_bundle(st, &m, data, len, NULL, 0, &ei);
        free(data);
        printf("%s\t%s\n", key, rc == RT_OK ? "ok" : rt_errname(rc));
        if (rc != RT_OK && rc != RT_ERR_STORE_SPOOLED) {
            char buf[512];
            fprintf(stderr, "rt-s3tool: %s\n", rt_errinfo_format(rc, &ei, buf, sizeof buf));
        }
        if (rc != RT_OK)
            failures++;
    }
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    printf("counters store_failures=%" PRIu64 " spool_dropped=%" PRIu64 " spooled=%" PRIu64 "\n",
           c[RT_CTR_STORE_FAILURES], c[RT_CTR_SPOOL_DROPPED], c[RT_CTR_SPOOLED]);
    rt_store_close(st);
    return failures ? 1 : 0;
}

static int cmd_flush(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    struct rt_store_options so = {.spool_dir = argv[3]};
    struct rt_store *st;
    struct rt_errinfo ei;
    int rc = rt_store_open(argv[2], &so, &st, &ei);
    if (rc != RT_OK)
        return die(rc, &ei);
    int n = rt_store_flush_spool(st, &ei);
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    rt_store_close(st);
    if (n < 0)
        return die(-n, &ei);
    printf("delivered %d spooled %" PRIu64 "\n", n, c[RT_CTR_SPOOLED]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rt-s3tool bundles|flush|put|get|head|delete|list ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "bundles"))
        return cmd_bundles(argc, argv);
    if (!strcmp(cmd, "flush"))
        return cmd_flush(argc, argv);
    if (!strcmp(cmd, "verify")) {
        int bad = 0;
        for (int i = 2; i < argc; i++) {
            struct rt_bundle *b;
            struct rt_errinfo vi;
            int vrc = rt_bundle_open_file(argv[i], &b, &vi);
            if (vrc != RT_OK) {
                char buf[512];
                fprintf(stderr, "%s: %s\n", argv[i], rt_errinfo_format(vrc, &vi, buf, sizeof buf));
                bad++;
                continue;
            }
            printf("%s\t%s\t%s\n", argv[i], b->meta.function ? b->meta.function : "",
                   b->meta.request_id ? b->meta.request_id : "");
            rt_bundle_free(b);
        }
        return bad ? 1 : 0;
    }
    if (argc < 3)
        return 2;
    struct rt_s3 *s3;
    struct rt_errinfo ei;
    int rc = rt_s3_open(argv[2], NULL, &s3, &ei);
    if (rc != RT_OK)
        return die(rc, &ei);
    if (!strcmp(cmd, "put") && argc == 5) {
        uint8_t *data;
        size_t len;
        if (rt_read_file(argv[4], &data, &len, 0) != RT_OK)
            return die(RT_ERR_IO, NULL);
        rc = rt_s3_put(s3, argv[3], data, len, &ei);
        free(data);
    } else if (!strcmp(cmd, "get") && argc == 5) {
        rc = rt_s3_get_file(s3, argv[3], argv[4], NULL, &ei);
    } else if (!strcmp(cmd, "head") && argc == 4) {
        uint64_t size = 0;
        rc = rt_s3_head(s3, argv[3], &size, &ei);
        if (rc == RT_OK)
            printf("%" PRIu64 "\n", size);
    } else if (!strcmp(cmd, "delete") && argc == 4) {
        rc = rt_s3_delete(s3, argv[3], &ei);
    } else if (!strcmp(cmd, "list")) {
        const char *prefix = argc > 3 ? argv[3] : NULL, *delim = argc > 4 ? argv[4] : NULL;
        const char *after = argc > 5 ? argv[5] : NULL;
        unsigned max = argc > 6 ? (unsigned)atoi(argv[6]) : 0;
        char *token = NULL;
        do {
            struct rt_s3_list l;
            rc = rt_s3_list(s3, prefix, delim, token ? NULL : after, token, max, &l, &ei);
            free(token);
            token = NULL;
            if (rc != RT_OK)
                break;
            for (size_t i = 0; i < l.n_objects; i++)
                printf("%s\t%" PRIu64 "\n", l.objects[i].key, l.objects[i].size);
            for (size_t i = 0; i < l.n_prefixes; i++)
                printf("P %s\n", l.prefixes[i]);
            if (l.truncated && l.next_token)
                token = strdup(l.next_token);
            rt_s3_list_free(&l);
        } while (token);
    } else {
        rt_s3_close(s3);
        return 2;
    }
    rt_s3_close(s3);
    return rc == RT_OK ? 0 : die(rc, &ei);
}
