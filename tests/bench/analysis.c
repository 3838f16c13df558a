/* Benchmark of analysis/: behaviour keys and the timeline rows of a synthetic trace (a function
 * whose 50 processes open temp files, connect to many peers on client ports, send and fork),
 * side by side with the whole-bundle decode they start from, in one run: time, ns per event
 * and the ratio to the decode. Deterministic input. Usage: bench_analysis [EVENTS] */
#include "analysis/analysis.h"
#include "formats/bundle.h"
#include "formats/toolbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double secs(int64_t a, int64_t b)
{
    return (double)(b - a) / 1e9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    struct rt_limits lim = {
        .max_events = n + 1, .max_payload = 1 << 20, .max_log_bytes = 1 << 20, .max_string = 4096};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m = {0};
    m.request_id = "8f6c3a2e-1b4d-4e5f-9a8b-7c6d5e4f3a2b";
    rt_writer_set_meta(w, &m);
    char path[128], peer[64] = "10.0.0.5:443";
    for (size_t i = 0; i < n; i++) {
        struct rt_event e = {.ts_ns = (int64_t)i * 1000, .pid = 10 + (int)(i % 50)};
        e.tid = e.pid;
        switch (i % 4) {
        case 0:
            e.op = RT_OP_OPEN;
            snprintf(path, sizeof path, "/tmp/tmp%06zux/file-%zu.json", i % 997, i);
            e.str[0] = (struct rt_str){path, strlen(path)};
            e.num[0] = -100;
            e.num[1] = 02000000;
            e.result = 3;
            break;
        case 1:
            e.op = RT_OP_CONNECT;
            snprintf(peer, sizeof peer, "10.0.%zu.5:%zu", i % 200, 40000 + i % 20000);
            e.str[0] = (struct rt_str){peer, strlen(peer)};
            e.num[0] = 5;
            break;
        case 2:
            e.op = RT_OP_SENDTO;
            e.str[0] = (struct rt_str){peer, strlen(peer)};
            e.num[0] = 5;
            e.num[1] = 100;
            e.result = 100;
            break;
        default:
            e.op = RT_OP_FORK;
            e.result = (int64_t)(100000 + i);
        }
        rt_writer_add_event(w, &e);
    }
    uint8_t *out = NULL, digest[RT_DIGEST_LEN];
    size_t len = 0;
    if (rt_writer_finish(w, 1, &out, &len, digest) != RT_OK)
        return 1;
    rt_writer_free(w);

    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    int64_t t0 = rt_clock_mono_ns();
    if (rt_bundle_open_mem(out, len, &b, &ei) != RT_OK)
        return 1;
    int64_t t1 = rt_clock_mono_ns();
    struct rt_keys k;
    if (rt_keys_of_bundle(b, &k) != RT_OK)
        return 1;
    int64_t t2 = rt_clock_mono_ns();
    rt_keys_sort_unique(&k);
    int64_t t3 = rt_clock_mono_ns();
    struct rt_timeline t;
    struct rt_timeline_item it;
    char row[1024];
    size_t rows = 0;
    rt_timeline_init(&t, b, NULL);
    while (rt_timeline_next(&t, &it))
        rows += rt_timeline_row(row, sizeof row, &it, RT_ARCH_X86_64) > 0;
    int64_t t4 = rt_clock_mono_ns();

    double base = secs(t0, t1);
    printf("%zu events (%zu bytes compressed), %zu distinct keys, %zu rows\n", b->n_events, len,
           k.n, rows);
    printf("%-28s %10s %12s %10s\n", "step", "seconds", "ns/event", "x decode");
    const struct {
        const char *name;
        double s;
    } r[] = {{"decode (rt_bundle_open_mem)", base},
             {"behaviour keys", secs(t1, t2)},
             {"keys sort + unique", secs(t2, t3)},
             {"timeline rows", secs(t3, t4)}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        printf("%-28s %10.3f %12.0f %10.2f\n", r[i].name, r[i].s, r[i].s * 1e9 / (double)n,
               base > 0 ? r[i].s / base : 0);
    rt_keys_free(&k);
    rt_bundle_free(b);
    free(out);
    return 0;
}
