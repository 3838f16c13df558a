/* Benchmark of analysis/diff: two synthetic invocations of one workload (50 processes opening
 * temp files, connecting to many peers on client ports, sending and forking), the second with
 * other pids, request id, temp names and client ports and, every 5000th event, a connection to
 * a new host. `gen N DIR` writes DIR/a.rtb and DIR/b.rtb; `run A B` decodes both and diffs
 * them, printing time, ns per event and the ratio to the decode, side by side in one run.
 * Deterministic input. */
#include "analysis/diff.h"
#include "formats/bundle.h"
#include "formats/toolbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double secs(int64_t a, int64_t b)
{
    return (double)(b - a) / 1e9;
}

static int gen(size_t n, int run, const char *file)
{
    struct rt_limits lim = {
        .max_events = n + 1, .max_payload = 1 << 20, .max_log_bytes = 1 << 20, .max_string = 4096};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m = {0};
    m.function = "bench";
    m.sandbox_id = "sandbox";
    m.request_id =
        run ? "0b9e3f4c-5d6a-4b7c-8d9e-0f1a2b3c4d5e" : "8f6c3a2e-1b4d-4e5f-9a8b-7c6d5e4f3a2b";
    rt_writer_set_meta(w, &m);
    char path[128], peer[64] = "10.0.0.5:443";
    int pid0 = run ? 2000 : 10;
    for (size_t i = 0; i < n; i++) {
        struct rt_event e = {.ts_ns = (int64_t)i * 1000, .pid = pid0 + (int)(i % 50)};
        e.tid = e.pid;
        if (run && i % 5000 == 4999) {
            e.op = RT_OP_CONNECT;
            snprintf(peer, sizeof peer, "203.0.113.%zu:4444", i / 5000 % 250);
            e.str[0] = (struct rt_str){peer, strlen(peer)};
            rt_writer_add_event(w, &e);
            continue;
        }
        switch (i % 4) {
        case 0:
            e.op = RT_OP_OPEN;
            snprintf(path, sizeof path, "/tmp/tmp%06zu%c/file-%zu.json", i % 997, run ? 'y' : 'x',
                     i);
            e.str[0] = (struct rt_str){path, strlen(path)};
            e.num[0] = -100;
            e.num[1] = 02000000;
            e.result = 3 + run;
            break;
        case 1:
            e.op = RT_OP_CONNECT;
            snprintf(peer, sizeof peer, "10.0.%zu.5:%zu", i % 200, 40000 + (i + 7 * run) % 20000);
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
            e.result = (int64_t)(100000 + i + run);
        }
        rt_writer_add_event(w, &e);
    }
    uint8_t *out = NULL;
    size_t len = 0;
    if (rt_writer_finish(w, 1, &out, &len, NULL) != RT_OK)
        return 1;
    rt_writer_free(w);
    FILE *f = fopen(file, "wb");
    int rc = !f || fwrite(out, 1, len, f) != len;
    if (f && fclose(f))
        rc = 1;
    free(out);
    return rc;
}

static int run(const char *pa, const char *pb)
{
    struct rt_bundle *a = NULL, *b = NULL;
    struct rt_errinfo ei;
    int64_t t0 = rt_clock_mono_ns();
    if (rt_bundle_open_file(pa, &a, &ei) != RT_OK || rt_bundle_open_file(pb, &b, &ei) != RT_OK)
        return 1;
    int64_t t1 = rt_clock_mono_ns();
    struct rt_diff d;
    struct rt_diff_options opt = {.context = 3};
    if (rt_diff_bundles(a, b, &opt, &d) != RT_OK)
        return 1;
    int64_t t2 = rt_clock_mono_ns();
    size_t lines = 0;
    for (size_t i = 0; i < d.n_procs; i++)
        lines += d.procs[i].n_lines;
    printf("%zu + %zu events, %zu items with other counts, %zu processes differ, %zu timeline "
           "lines\n",
           a->n_events, b->n_events, d.n_counts, d.n_procs, lines);
    double base = secs(t0, t1), n = (double)(a->n_events + b->n_events);
    printf("%-30s %10s %12s %10s\n", "step", "seconds", "ns/event", "x decode");
    printf("%-30s %10.3f %12.0f %10.2f\n", "decode both (open_file)", base, base * 1e9 / n, 1.0);
    printf("%-30s %10.3f %12.0f %10.2f\n", "diff (rt_diff_bundles)", secs(t1, t2),
           secs(t1, t2) * 1e9 / n, base > 0 ? secs(t1, t2) / base : 0);
    rt_diff_free(&d);
    rt_bundle_free(a);
    rt_bundle_free(b);
    return 0;
}

int main(int argc, char **argv)
{
    char path[4096];
    if (argc == 4 && !strcmp(argv[1], "gen")) {
        size_t n = strtoul(argv[2], NULL, 10);
        snprintf(path, sizeof path, "%s/a.rtb", argv[3]);
        if (gen(n, 0, path))
            return 1;
        snprintf(path, sizeof path, "%s/b.rtb", argv[3]);
        return gen(n, 1, path);
    }
    if (argc == 4 && !strcmp(argv[1], "run"))
        return run(argv[2], argv[3]);
    fprintf(stderr, "usage: bench_diff gen N DIR | bench_diff run A B\n");
    return 2;
}
