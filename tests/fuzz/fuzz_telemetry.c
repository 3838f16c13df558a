/* fuzz-sources: recorder/extension/telemetry_parse.c */
/* fuzz-libs: -ljansson */
/* libFuzzer harness for the extension's reader of Telemetry API deliveries (the records carry
 * whatever the function printed). Checks that every line handed over is readable for its
 * whole length and that the count returned is the number of lines handed over. */
#include "recorder/extension/extension.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t seen;

static void on_line(void *arg, int64_t wall_ns, const char *text, size_t len)
{
    (void)arg, (void)wall_ns;
    if (len && !text)
        abort();
    volatile char sink = 0;
    for (size_t i = 0; i < len; i++) /* ASan: the whole line must be readable */
        sink ^= text[i];
    (void)sink;
    seen++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen = 0;
    size_t n = rt_ext_telemetry_records((const char *)data, size, on_line, NULL);
    if (n != seen)
        abort();
    return 0;
}
