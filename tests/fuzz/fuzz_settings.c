/* clang-format off */
/* fuzz-sources: recorder/extension/config.c recorder/extension/hashkey.c recorder/extension/redact.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto */
/* clang-format on */
/* libFuzzer harness for the small parsers of user-given settings: --since/--until times
 * (rt_parse_time: ISO 8601 and relative forms) and every RUNTRAIL_* value of the recorder's
 * configuration (sizes, counts, durations, ratios, ports, booleans, payload modes), and the
 * shared value parsers of formats/toolbox.h directly. A bad value must give an
 * error or the default, never a crash or an out-of-range result. */
#include "recorder/extension/extension.h"
#include "formats/timeparse.h"
#include "formats/toolbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *text;

static const char *same_for_all(const char *name)
{
    (void)name;
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    int64_t t = 0;
    const int64_t now = 1795689711000000000; /* 2026-11-26 */
    if (rt_parse_time(text, now, &t) == RT_OK && strcmp(text, "now") == 0 && t != now)
        abort();

    /* A value that parses is digits and a known unit: its digits alone never exceed it. */
    uint64_t v = 0, digits = strtoull(text, NULL, 10);
    struct rt_errinfo ei;
    if (rt_parse_duration_ms(text, &v, &ei) == RT_OK && v < digits)
        abort();
    if (rt_parse_count(text, &v, &ei) == RT_OK && v < digits)
        abort();
    if (rt_parse_size(text, &v, &ei) == RT_OK && v < digits)
        abort();

    struct rt_ext_config cfg;
    rt_ext_config_load_from(&cfg, same_for_all);
    if (cfg.sample < 0 || cfg.sample > 1 || cfg.proxy_port == 0)
        abort(); /* parsed or defaulted, a setting is always in range */
    free(text);
    return 0;
}
