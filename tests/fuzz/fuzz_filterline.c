/* clang-format off */
/* fuzz-sources: store/catalog_filter.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto */
/* clang-format on */
/* libFuzzer harness for the filter line of `runtrail view`'s `f` prompt
 * (rt_catalog_filter_parse_line: words, quotes, --opt=value, ls's options and their values).
 * Any line must parse or give a message, never crash; a parsed filter's strings must lie in
 * the line and its request ids fit their array. */
#include "store/catalog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const char *p, const char *line, size_t size)
{
    return !p || (p >= line && p <= line + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    struct rt_catalog_filter_args a;
    char err[300];
    const int64_t now = 1795689711000000000; /* 2026-11-26 */
    if (rt_catalog_filter_parse_line(&a, line, now, err, sizeof err) == 0) {
        if (!inside(a.f.function, line, size) || !inside(a.f.path_glob, line, size) ||
            !inside(a.f.dest, line, size) || !inside(a.f.exec, line, size) ||
            a.f.n_request_ids > RT_CATALOG_MAX_IDS)
            abort();
        for (size_t i = 0; i < a.f.n_request_ids; i++)
            if (!inside(a.f.request_ids[i], line, size))
                abort();
    } else if (!memchr(err, '\0', sizeof err) || !err[0]) {
        abort(); /* an error always says something */
    }
    free(line);
    return 0;
}
