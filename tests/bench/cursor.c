/* Benchmark of the streaming reader: time and peak RSS from opening a large bundle to its
 * first event, through the event cursor (rt_cursor_*) and through the whole decode
 * (rt_bundle_open_file), and the time to read every event each way. One measurement per
 * process, so that the peak RSS (getrusage) is that of one path only; tests/bench/cursor.sh
 * runs them side by side and prints the ratios. Deterministic input (fixed PRNG seed).
 * Usage: bench_cursor write FILE N | first-cursor FILE | first-whole FILE
 *        | all-cursor FILE | all-whole FILE          (prints "seconds maxrss_kib events") */
#include "formats/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A trace like bench_format's: mostly openat over a few hundred paths, connects, sendto. */
static int write_bundle(const char *path, size_t n)
{
    static char paths[256][64];
    for (unsigned i = 0; i < 256; i++)
        snprintf(paths[i], sizeof paths[i], "/var/task/node_modules/m%u/file-%03u.js", i % 9, i);
    struct rt_limits lim = {.max_events = n};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m = {0};
    m.function = "bench-cursor";
    m.sandbox_id = "sbx-bench";
    rt_writer_set_meta(w, &m);
    int64_t ts = 0;
    for (size_t i = 0; i < n; i++) {
        struct rt_event e = {0};
        ts += 2000 + (int64_t)(next() % 24000);
        e.ts_ns = ts;
        e.pid = 8 + (int32_t)(next() % 3);
        e.tid = e.pid;
        e.dur_ns = 1000 + next() % 15000;
        unsigned r = (unsigned)(next() % 100);
        const char *p = paths[(next() % 256) & (next() % 256)];
        e.op = r < 70 ? RT_OP_OPEN : r < 85 ? RT_OP_CONNECT : RT_OP_SENDTO;
        e.str[0] = (struct rt_str){p, strlen(p)};
        e.num[0] = (int64_t)(next() % 64);
        e.result = r < 70 ? 20 + (int64_t)(next() % 8) : -115;
        rt_writer_add_event(w, &e);
    }
    uint8_t *out;
    size_t len;
    if (rt_writer_finish(w, 3, &out, &len, NULL))
        return 1;
    rt_writer_free(w);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out, 1, len, f) != len || fclose(f))
        return 1;
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "write"))
        return write_bundle(argv[2], (size_t)strtoull(argv[3], NULL, 10));
    if (argc != 3)
        return 2;
    const char *mode = argv[1], *path = argv[2];
    struct rt_errinfo ei;
    size_t events = 0;
    double t0 = now();
    if (!strcmp(mode, "first-cursor") || !strcmp(mode, "all-cursor")) {
        struct rt_cursor *c;
        const struct rt_event *ev;
        if (rt_cursor_open_file(path, &c, &ei))
            return 1;
        while (rt_cursor_next(c, &ev, &ei) == RT_OK && ev) {
            events++;
            if (mode[0] == 'f')
                break;
        }
        if (mode[0] == 'a' && rt_cursor_state(c) != RT_CURSOR_VERIFIED)
            return 1;
        printf("%.6f %ld %zu\n", now() - t0, maxrss_kib(), events);
        rt_cursor_free(c);
    } else {
        struct rt_bundle *b;
        if (rt_bundle_open_file(path, &b, &ei) || !b->n_events)
            return 1;
        volatile int64_t sink = b->events[0].ts_ns; /* the first event */
        events = mode[0] == 'f' ? 1 : b->n_events;
        for (size_t i = 0; mode[0] == 'a' && i < b->n_events; i++)
            sink += b->events[i].ts_ns;
        printf("%.6f %ld %zu\n", now() - t0, maxrss_kib(), events);
        (void)sink;
        rt_bundle_free(b);
    }
    return 0;
}
