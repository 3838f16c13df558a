/* Benchmark of the bundle format: encode and decode rate (events/s on one core) and
 * compressed bytes per event for a realistic synthetic trace — a Node.js-style function doing
 * file, network and process work with repeated paths and hosts — at zstd levels 1, 3 and 9,
 * side by side with the same events as JSON Lines (rt_json_event, jansson) compressed by zstd
 * at level 3; then the seal of one bundle, and storing one into a local folder store as the
 * extension does after each seal. Deterministic input (fixed PRNG seed). Usage: bench_format
 * [EVENTS] */
#include "formats/bundle.h"
#include "formats/render.h"
#include "store/store.h"

#include <jansson.h>
#include <zstd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned pick(unsigned n) /* skewed: low indexes are much more frequent */
{
    uint64_t r = next();
    unsigned a = (unsigned)(r % n), b = (unsigned)((r >> 32) % n);
    return a < b ? a : b;
}

/* CPU time of this thread: rates are per core, whatever else the machine is doing. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define N_PATHS 240
#define N_HOSTS 12
static char paths[N_PATHS][96];
static const char *const hosts[N_HOSTS] = {"dynamodb.eu-west-1.amazonaws.com",
                                           "s3.eu-west-1.amazonaws.com",
                                           "sqs.eu-west-1.amazonaws.com",
                                           "secretsmanager.eu-west-1.amazonaws.com",
                                           "sts.eu-west-1.amazonaws.com",
                                           "api.stripe.com",
                                           "hooks.slack.com",
                                           "logs.eu-west-1.amazonaws.com",
                                           "events.eu-west-1.amazonaws.com",
                                           "kms.eu-west-1.amazonaws.com",
                                           "api.github.com",
                                           "registry.npmjs.org"};
static const char *const addrs[N_HOSTS] = {
    "52.94.25.104:443", "52.218.57.10:443",  "54.239.36.4:443",  "52.94.6.20:443",
    "52.94.5.8:443",    "54.187.216.72:443", "34.228.3.52:443",  "52.94.3.11:443",
    "52.94.2.9:443",    "52.94.1.77:443",    "140.82.121.6:443", "104.16.24.35:443"};

static void make_paths(void)
{
    static const char *const dirs[] = {"/var/task/node_modules/@aws-sdk/client-dynamodb/dist-cjs",
                                       "/var/task/node_modules/@smithy/core/dist-cjs",
                                       "/var/task/src/handlers",
                                       "/opt/nodejs/node_modules/uuid",
                                       "/var/task/node_modules/lodash",
                                       "/tmp/cache",
                                       "/proc/self",
                                       "/etc"};
    for (unsigned i = 0; i < N_PATHS; i++)
        snprintf(paths[i], sizeof paths[i], "%s/file-%03u.js", dirs[i % 8], i);
    snprintf(paths[0], sizeof paths[0], "/etc/hosts");
    snprintf(paths[1], sizeof paths[1], "/etc/resolv.conf");
    snprintf(paths[2], sizeof paths[2], "/var/task/config.json");
}

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

static struct rt_event *
make_trace(size_t n)
{
    struct rt_event *v = calloc(n, sizeof *v);
    int64_t ts = 0;
    int pids[4] = {8, 8, 8, 31};
    for (size_t i = 0; i < n; i++) {
        struct rt_event *e = &v[i];
        ts += 2000 + (int64_t)(next() % 24000); /* 2..26 us apart */
        e->ts_ns = ts;
        e->pid = pids[pick(4)];
        e->tid = e->pid + (next() % 8 == 0 ? 1 : 0);
        e->dur_ns = 1000 + next() % 15000;
        unsigned r = (unsigned)(next() % 100);
        if (r < 62) { /* file */
            unsigned p = pick(N_PATHS);
            e->op = RT_OP_OPEN;
            e->str[0] = S(paths[p]);
            e->num[0] = AT_FDCWD;
            e->num[1] = O_RDONLY | O_CLOEXEC;
            e->result = next() % 10 == 0 ? -ENOENT : 20 + (int64_t)(next() % 8);
        } else if (r < 72) {
            unsigned h = pick(N_HOSTS);
            e->op = RT_OP_CONNECT;
            e->str[0] = S(addrs[h]);
            e->num[0] = 20 + (int64_t)(next() % 8);
            e->result = -EINPROGRESS;
        } else if (r < 82) {
            unsigned h = pick(N_HOSTS);
            e->op = RT_OP_SENDTO;
            e->str[0] = S(addrs[h]);
            e->num[0] = 20 + (int64_t)(next() % 8);
            e->num[1] = 64 + (int64_t)(next() % 2048);
            e->result = e->num[1];
        } else if (r < 88) {
            unsigned h = pick(N_HOSTS);
            e->op = RT_OP_OUTBOUND;
            e->str[0] = S(addrs[h]);
            e->str[1] = S(hosts[h]);
            e->num[0] = 500 + (int64_t)(next() % 4000);
            e->num[1] = 200 + (int64_t)(next() % 20000);
            e->num[2] = RT_PROTO_TLS;
            e->num[3] = 20 + (int64_t)(next() % 8);
        } else if (r < 93) {
            unsigned h = pick(N_HOSTS);
            e->op = RT_OP_DNS;
            e->str[0] = S(hosts[h]);
            e->str[1] = S(addrs[h]);
        } else if (r < 97) {
            e->op = RT_OP_SOCKET;
            e->num[0] = AF_INET;
            e->num[1] = SOCK_STREAM | SOCK_CLOEXEC;
            e->num[2] = 6;
            e->result = 20 + (int64_t)(next() % 8);
        } else if (r < 99) {
            static const char argv[] = "node\0/var/task/worker.js\0--batch";
            e->op = RT_OP_EXEC;
            e->str[0] = S("/var/lang/bin/node");
            e->str[1] = (struct rt_str){argv, sizeof argv - 1};
        } else {
            e->op = RT_OP_FORK;
            e->result = 31;
        }
    }
    return v;
}

struct result {
    double enc_rate, dec_rate;
    size_t bytes;
};

static struct result run_level(const struct rt_event *v, size_t n, int level, int reps)
{
    struct result res = {0, 0, 0};
    struct rt_limits lim = {.max_events = n};
    struct rt_meta meta = {0};
    meta.function = "bench";
    meta.sandbox_id = "sbx-bench";
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now();
        struct rt_writer *w = rt_writer_new(&lim);
        rt_writer_set_meta(w, &meta);
        for (size_t i = 0; i < n; i++)
            rt_writer_add_event(w, &v[i]);
        uint8_t *out;
        size_t len;
        if (rt_writer_finish(w, level, &out, &len, NULL)) {
            fprintf(stderr, "bench_format: finish failed\n");
            exit(1);
        }
        rt_writer_free(w);
        double t1 = now();
        struct rt_bundle *b;
        struct rt_errinfo ei;
        if (rt_bundle_open_mem(out, len, &b, &ei) || b->n_events != n) {
            fprintf(stderr, "bench_format: decode failed\n");
            exit(1);
        }
        rt_bundle_free(b);
        double t2 = now();
        double enc = (double)n / (t1 - t0), dec = (double)n / (t2 - t1);
        if (enc > res.enc_rate)
            res.enc_rate = enc;
        if (dec > res.dec_rate)
            res.dec_rate = dec;
        res.bytes = len;
        free(out);
    }
    return res;
}

/* The seal of one invocation's bundle (rt_writer_finish: serialise, SHA-256, zstd at the
 * default level) for bundles of n events, reps in a row as the extension seals them: the
 * best microseconds per bundle and the compressed size; *whole_us: the best of the whole
 * writer's life, rt_writer_new to rt_writer_free, as the sealer pays it for each bundle. */
static double seal_us(const struct rt_event *v, size_t n, int reps, size_t *bytes, size_t *raw,
                      double *whole_us)
{
    struct rt_limits lim = {.max_events = n};
    struct rt_meta meta = {0};
    meta.function = "bench";
    meta.sandbox_id = "sbx-bench";
    double best = 1e30, whole = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        double w0 = now();
        struct rt_writer *w = rt_writer_new(&lim);
        rt_writer_set_meta(w, &meta);
        for (size_t i = 0; i < n; i++)
            rt_writer_add_event(w, &v[i]);
        uint8_t *out, *r;
        size_t len, rlen;
        double t0 = now();
        if (rt_writer_finish_raw(w, &r, &rlen, NULL) ||
            rt_bundle_compress(r, rlen, 0, &out, &len)) {
            fprintf(stderr, "bench_format: finish failed\n");
            exit(1);
        }
        double t1 = now();
        rt_writer_free(w);
        free(r);
        free(out);
        double w1 = now();
        if (w1 - w0 < whole)
            whole = w1 - w0;
        *bytes = len;
        *raw = rlen;
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    *whole_us = whole * 1e6;
    return best * 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Storing one sealed bundle as the extension does after each seal: into a local folder store
 * with a spool (no fsync, as in a sandbox's /tmp), then the META counters, which count the
 * spool. Median CPU us per bundle of `puts` bundles of `bytes` each; -1 on failure. */
static double store_put_us(size_t puts, size_t bytes)
{
    char dir[] = "/tmp/rt-bench-store.XXXXXX", store[64], spool[64];
    if (!mkdtemp(dir))
        return -1;
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    struct rt_store_options o = {.spool_dir = spool, .no_sync = true};
    struct rt_store *st = NULL;
    struct rt_errinfo ei;
    uint8_t *data = calloc(1, bytes);
    double *us = calloc(puts, sizeof *us);
    double median = -1;
    if (data && us && rt_store_open(store, &o, &st, &ei) == RT_OK) {
        size_t done = 0;
        for (; done < puts; done++) {
            char rid[32];
            snprintf(rid, sizeof rid, "req-%zu", done);
            struct rt_meta m = {0};
            m.function = "bench";
            m.request_id = rid;
            m.start_wall_ns = 1796491973823150861LL + (int64_t)done * 1000;
            uint64_t counters[RT_CTR__COUNT] = {0};
            double t0 = now();
            if (rt_store_put_bundle(st, &m, data, bytes, NULL, 0, &ei) != RT_OK)
                break;
            rt_store_take_counters(st, counters);
            us[done] = (now() - t0) * 1e6;
        }
        if (done == puts) {
            qsort(us, puts, sizeof *us, cmp_double);
            median = us[puts / 2];
        }
        rt_store_close(st);
    }
    free(data);
    free(us);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_format: could not remove %s\n", dir);
    return median;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200000;
    make_paths();
    struct rt_event *v = make_trace(n);

    /* JSON Lines of the same events, compressed by zstd -3 */
    size_t cap = n * 256, jlen = 0;
    char *jsonl = malloc(cap);
    double j0 = now();
    for (size_t i = 0; i < n; i++) {
        json_t *o = rt_json_event(&v[i]);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        size_t sl = strlen(s);
        if (jlen + sl + 1 > cap) {
            cap *= 2;
            jsonl = realloc(jsonl, cap);
        }
        memcpy(jsonl + jlen, s, sl);
        jlen += sl;
        jsonl[jlen++] = '\n';
        free(s);
        json_decref(o);
    }
    double j1 = now();
    size_t zcap = ZSTD_compressBound(jlen);
    void *z = malloc(zcap);
    size_t zlen = ZSTD_compress(z, zcap, jsonl, jlen, 3);
    double j2 = now();

    printf("bundle format: %zu synthetic events (62%% openat over %d paths, 38%% net/proc over %d "
           "hosts, 4 threads)\n\n",
           n, N_PATHS, N_HOSTS);
    printf("%-22s %14s %14s %12s %16s\n", "encoding", "encode ev/s", "decode ev/s", "bytes/event",
           "vs JSONL+zstd-3");
    printf("%-22s %14.0f %14s %12.2f %16s\n", "JSON Lines + zstd -3", (double)n / (j2 - j0), "-",
           (double)zlen / (double)n, "1.00x");
    printf("%-22s %14s %14s %12.2f %16s\n", "JSON Lines (raw)", "-", "-", (double)jlen / (double)n,
           "-");
    static const int levels[] = {1, 3, 9};
    for (int i = 0; i < 3; i++) {
        struct result r = run_level(v, n, levels[i], 3);
        char name[32], ratio[32];
        snprintf(name, sizeof name, "rtb zstd -%d%s", levels[i],
                 levels[i] == 3 ? " (default)" : "");
        snprintf(ratio, sizeof ratio, "%.2fx smaller", (double)zlen / (double)r.bytes);
        printf("%-22s %14.0f %14.0f %12.2f %16s\n", name, r.enc_rate, r.dec_rate,
               (double)r.bytes / (double)n, ratio);
    }
    printf("\nrates: events per CPU-second of one thread (best of 3); encode = writer + seal + "
           "zstd, decode = zstd + checks + full decode\n");
    printf("targets: encode >= 3000000 ev/s, <= 8 bytes/event at the default level, >= 3x "
           "smaller than JSON Lines + zstd -3\n");
    printf("\nseal of one bundle (serialise + SHA-256 + zstd -3, best of 200 in a row, as the "
           "extension seals one per invocation;\nwhole: the writer from rt_writer_new to "
           "rt_writer_free, the events added included):\n");
    printf("%-10s %12s %12s %14s %14s %14s %14s\n", "events", "raw bytes", "zstd bytes",
           "us/bundle", "ns/event", "ns/raw byte", "whole us");
    static const size_t sizes[] = {10, 100, 1000, 10000};
    for (int i = 0; i < 4 && sizes[i] <= n; i++) {
        size_t bytes = 0, raw = 0;
        double whole = 0;
        double us = seal_us(v, sizes[i], sizes[i] >= 10000 ? 20 : 200, &bytes, &raw, &whole);
        printf("%-10zu %12zu %12zu %14.1f %14.1f %14.2f %14.1f\n", sizes[i], raw, bytes, us,
               us * 1e3 / (double)sizes[i], us * 1e3 / (double)raw, whole);
    }
    double put = store_put_us(2000, 2600);
    printf("\nstoring one 2600-byte bundle into a local folder store with a spool, and the META "
           "counters\n(what the extension does after each seal; median CPU of 2000): %.1f "
           "us/bundle\n",
           put);
    (void)j1;
    free(z);
    free(jsonl);
    free(v);
    return 0;
}
