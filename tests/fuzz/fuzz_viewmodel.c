/* clang-format off */
/* fuzz-sources: viewer/vm_detail.c viewer/vm_cell.c analysis/timeline.c analysis/filter.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto */
/* clang-format on */
/* libFuzzer harness for the Detail screen's JSON view and the text cells of `runtrail view`
 * (viewer/vm_detail.h, viewer/vm_cell.h): the input is a payload, as hostile as an event can
 * be (deep nesting, JSON inside strings, invalid UTF-8, escape sequences). Beyond not
 * crashing: no line and no cell holds a byte below 0x20 or 0x7f; folding every foldable line
 * and unfolding them again gives back the same lines; a cell never takes more columns than
 * asked, and exactly that many when padded. */
#include "viewer/vm_cell.h"
#include "viewer/vm_detail.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int locale_set;
    if (!locale_set)
        locale_set = setlocale(LC_CTYPE, "C.UTF-8") != NULL || 1;
    if (size > 1 << 16)
        return 0;
    struct rt_vm_detail *d = rt_vm_detail_new();
    if (!d)
        return 0;
    struct rt_payload p = {.present = true, .mode = RT_PAYLOAD_REDACTED};
    p.data = (uint8_t *)(uintptr_t)data;
    p.len = size;
    p.original_len = size;
    if (rt_vm_detail_add_payload(d, "payload", &p) != RT_OK) {
        rt_vm_detail_free(d);
        return 0;
    }
    size_t n = rt_vm_detail_count(d);
    char cell[RT_CELL_CAP(24)];
    for (size_t i = 0; i < n; i++) {
        const struct rt_vm_line *l = rt_vm_detail_line(d, i);
        size_t len = strlen(l->text);
        no_control(l->text, len);
        size_t cols;
        size_t w = (size_t)(i % 25);
        size_t out = rt_cell_fit(cell, sizeof cell, l->text, len, i % 3, w, RT_CELL_PAD, &cols);
        no_control(cell, out);
        if (cols != w)
            abort();
    }
    /* fold everything, then unfold: the same lines */
    for (size_t i = rt_vm_detail_count(d); i-- > 0;)
        rt_vm_detail_toggle(d, i);
    if (rt_vm_detail_count(d) > n)
        abort();
    rt_vm_detail_fold_all(d, 0, false);
    if (rt_vm_detail_count(d) != n)
        abort();
    /* the raw input as a cell: escaped, bounded */
    size_t cols;
    size_t out = rt_cell_fit(cell, sizeof cell, (const char *)data, size, size % 7, 24,
                             RT_CELL_RAW | RT_CELL_MORE | (size & 1 ? RT_CELL_PAD : 0), &cols);
    no_control(cell, out);
    if (cols > 24 || ((size & 1) && cols != 24))
        abort();
    rt_vm_detail_free(d);
    return 0;
}
