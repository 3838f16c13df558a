/* clang-format off */
/* fuzz-sources: viewer/vm_timeline.c analysis/timeline.c analysis/filter.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto */
/* clang-format on */
/* libFuzzer harness for the timeline model of `runtrail view` (viewer/vm_timeline.h) over
 * hostile bundles: inputs starting with the zstd magic are opened as they are, anything else
 * is compressed first (the footer digest then mismatches, which the model must show, not
 * trust). The whole bundle is scanned and every key's path is driven: rows, the process tree
 * and every fold, kind toggles, search both ways, jumps to flagged rows, the status line.
 * Beyond not crashing: no row text or status line holds a control byte; a row's entry finds
 * that row again; unfolding and toggling back restore the row count; a search ends. */
#include "viewer/vm_timeline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS_CHECKED 512

static void no_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            abort();
}

static void search(struct rt_vm_timeline *tl, const char *needle, int dir)
{
    size_t row;
    if (rt_vm_timeline_search_start(tl, needle, SIZE_MAX, dir) != RT_OK)
        abort();
    size_t rounds = 0;
    enum rt_vm_search s;
    while ((s = rt_vm_timeline_search_step(tl, 64, &row, NULL)) == RT_VM_SEARCH_RUNNING)
        if (++rounds > 4 * (rt_vm_timeline_rows(tl) / 64 + 8))
            abort(); /* a search must end */
    if (s == RT_VM_SEARCH_FOUND && row >= rt_vm_timeline_rows(tl))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    uint8_t *z = NULL;
    size_t zlen = size;
    const uint8_t *in = data;
    if (size < 4 || memcmp(data, magic, 4)) {
        if (rt_bundle_compress(data, size, 1, &z, &zlen) != RT_OK)
            return 0;
        in = z;
    }
    struct rt_vm_timeline *tl;
    struct rt_errinfo ei;
    if (rt_vm_timeline_open_mem(in, zlen, &tl, &ei) != RT_OK) {
        free(z);
        return 0;
    }
    rt_vm_timeline_ensure(tl, 48);
    while (!rt_vm_timeline_scan(tl, 1024)) {
    }
    size_t rows = rt_vm_timeline_rows(tl);
    for (size_t r = 0; r < rows && r < ROWS_CHECKED; r++) {
        struct rt_vm_row row;
        if (rt_vm_timeline_row(tl, r, &row, &ei) != RT_OK)
            continue;
        no_control(row.text, row.text_len);
        if (strlen(row.text) != row.text_len || row.dur_level > 8 || row.gap_level > 8)
            abort();
        size_t back;
        if (!rt_vm_timeline_find(tl, row.entry, &back) || back != r)
            abort();
    }
    size_t procs = rt_vm_timeline_procs(tl);
    for (size_t i = 0; i < procs && i < 64; i++) {
        const struct rt_vm_proc *p = rt_vm_timeline_proc(tl, i);
        no_control(p->exe, strlen(p->exe));
        int32_t pid = p->pid;
        if (rt_vm_timeline_fold(tl, pid, true) != RT_OK)
            abort();
        if (rt_vm_timeline_rows(tl) > rows)
            abort();
        size_t row;
        rt_vm_timeline_next_marked(tl, SIZE_MAX, 1, &row);
        rt_vm_timeline_fold(tl, pid, false);
    }
    if (rt_vm_timeline_rows(tl) != rows)
        abort();
    for (unsigned k = 0; k < RT_KIND__COUNT; k++) {
        rt_vm_timeline_set_kind(tl, k, false);
        if (rt_vm_timeline_rows(tl) > rows)
            abort();
    }
    if (rt_vm_timeline_rows(tl) != 0)
        abort();
    for (unsigned k = 0; k < RT_KIND__COUNT; k++)
        rt_vm_timeline_set_kind(tl, k, true);
    if (rt_vm_timeline_rows(tl) != rows)
        abort();
    search(tl, "a", 1);
    search(tl, "=", -1);
    size_t row = SIZE_MAX, jumps = 0;
    while (rt_vm_timeline_next_marked(tl, row, 1, &row))
        if (++jumps > rows)
            abort();
    char line[1024];
    size_t n = rt_vm_timeline_status_line(tl, line, sizeof line);
    no_control(line, n < sizeof line ? n : sizeof line - 1);
    rt_vm_timeline_free(tl);
    free(z);
    return 0;
}
