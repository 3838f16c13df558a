/* Benchmark of the timeline model behind `runtrail view` (viewer/vm_timeline.h) on a large
 * bundle written by bench_cursor (tests/bench/cursor.c): the time and peak RSS to the first
 * screen (open, the rows of one page rendered), to the whole timeline indexed, and the cost of
 * the keys that must not grow with the bundle: PgDn and PgUp (a page of rows rendered) in the
 * middle and at the end, G (jump to the end), one search step (a budget of rows looked at)
 * and a whole search that finds nothing. One measurement set per process, so that the peak
 * RSS (getrusage) is that of one path only; tests/bench/viewmodel.sh runs them side by side.
 * Usage: bench_viewmodel first FILE | all FILE | keys FILE
 *   first: "seconds maxrss_kib rows"
 *   all:   "seconds maxrss_kib events decompressed_bytes"
 *   keys:  "pgdn_ms pgup_ms pgdn_end_ms jump_end_ms step_ms step_rows search_all_s" */
#include "viewer/vm_timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define PAGE 48        /* rows on a 160x48 terminal's timeline */
#define STEP_ROWS 4096 /* rows per search step: what the UI looks at between keys */

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

/* Renders the rows of the page starting at top; returns the bytes of text (kept live). */
static size_t page(struct rt_vm_timeline *tl, size_t top)
{
    size_t bytes = 0;
    rt_vm_timeline_ensure(tl, top + PAGE);
    for (size_t r = top; r < top + PAGE && r < rt_vm_timeline_rows(tl); r++) {
        struct rt_vm_row row;
        struct rt_errinfo ei;
        if (rt_vm_timeline_row(tl, r, &row, &ei) != RT_OK)
            exit(1);
        bytes += row.text_len;
    }
    return bytes;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const char *mode = argv[1], *path = argv[2];
    struct rt_vm_timeline *tl;
    struct rt_errinfo ei;
    volatile size_t sink = 0;
    double t0 = now();
    if (rt_vm_timeline_open_file(path, &tl, &ei) != RT_OK)
        return 1;
    if (!strcmp(mode, "first")) {
        sink += page(tl, 0);
        printf("%.6f %ld %zu\n", now() - t0, maxrss_kib(), rt_vm_timeline_rows(tl));
    } else if (!strcmp(mode, "all")) {
        while (!rt_vm_timeline_scan(tl, 65536)) {
        }
        sink += page(tl, 0);
        printf("%.6f %ld %zu %zu\n", now() - t0, maxrss_kib(), rt_vm_timeline_events(tl),
               rt_vm_timeline_bundle(tl)->decompressed_len);
    } else if (!strcmp(mode, "keys")) {
        while (!rt_vm_timeline_scan(tl, 65536)) {
        }
        size_t rows = rt_vm_timeline_rows(tl), mid = rows / 2, n = 200;
        sink += page(tl, mid);
        double t = now();
        for (size_t k = 1; k <= n; k++) /* PgDn from the middle */
            sink += page(tl, mid + k * PAGE);
        double pgdn = (now() - t) / (double)n;
        t = now();
        for (size_t k = 1; k <= n; k++) /* PgUp back: through the cursor's checkpoints */
            sink += page(tl, mid + (n - k) * PAGE);
        double pgup = (now() - t) / (double)n;
        size_t end = rows - (n + 1) * PAGE;
        t = now();
        sink += page(tl, rows - PAGE); /* G */
        double jump = now() - t;
        sink += page(tl, end);
        t = now();
        for (size_t k = 1; k <= n; k++)
            sink += page(tl, end + k * PAGE);
        double pgdn_end = (now() - t) / (double)n;
        /* search steps for a string no row holds: every step looks at STEP_ROWS rows */
        rt_vm_timeline_search_start(tl, "no-such-string-anywhere", 0, 1);
        size_t row, steps = 0;
        t = now();
        enum rt_vm_search s;
        while ((s = rt_vm_timeline_search_step(tl, STEP_ROWS, &row, NULL)) == RT_VM_SEARCH_RUNNING)
            steps++;
        double all = now() - t;
        if (s != RT_VM_SEARCH_NOT_FOUND)
            return 1;
        printf("%.4f %.4f %.4f %.4f %.4f %d %.3f\n", pgdn * 1000, pgup * 1000, pgdn_end * 1000,
               jump * 1000, all / (double)(steps + 1) * 1000, STEP_ROWS, all);
    } else {
        return 2;
    }
    rt_vm_timeline_free(tl);
    (void)sink;
    return 0;
}
