/* fuzz-sources: formats/*.c analysis/*.c */
/* fuzz-libs: -lzstd -lcrypto -ljansson */
/* libFuzzer harness for the baseline loader (analysis/baseline.c): hostile bytes through
 * rt_baseline_parse; a document it accepts must serialise, parse again and serialise to the
 * same bytes (the stable form), and answer the questions check asks without reading out of
 * bounds. */
#include "analysis/baseline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_baseline *bl = NULL;
    struct rt_errinfo ei;
    if (rt_baseline_parse((const char *)data, size, &bl, &ei) != RT_OK)
        return 0;
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    if (rt_baseline_to_json(bl, &a, &la) == RT_OK) {
        struct rt_baseline *again = NULL;
        if (rt_baseline_parse(a, la, &again, &ei) != RT_OK)
            abort(); /* what we write, we read */
        if (rt_baseline_to_json(again, &b, &lb) != RT_OK || la != lb || memcmp(a, b, la))
            abort(); /* and it is stable */
        rt_baseline_free(again);
    }
    (void)rt_baseline_has_file(bl, "/tmp/x", "write");
    (void)rt_baseline_has_argv(bl, "/bin/sh", "sh -c x");
    (void)rt_baseline_env_compared(bl, "PATH");
    (void)rt_baseline_code_learned(bl, "1");
    free(a);
    free(b);
    rt_baseline_free(bl);
    return 0;
}
