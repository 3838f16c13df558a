/* fuzz-sources: formats/*.c analysis/*.c */
/* fuzz-libs: -lzstd -lcrypto -ljansson */
/* libFuzzer harness for the rules file parser (analysis/check.c, docs/rules.md): hostile bytes
 * through rt_rules_parse; an accepted file has entries with a pattern, a known kind and, for
 * paths only, a known access, and every error names a line. */
#include "analysis/check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_rules r = {0};
    struct rt_errinfo ei;
    int rc = rt_rules_parse((const char *)data, size, &r, &ei);
    if (rc == RT_ERR_RULES_INVALID && strncmp(ei.detail, "line ", 5))
        abort();
    if (rc != RT_OK)
        return 0;
    for (size_t i = 0; i < r.n; i++)
        if (!r.v[i].pattern || !r.v[i].pattern[0] || r.v[i].kind > RT_RULE_FLAG ||
            (r.v[i].access && r.v[i].kind != RT_RULE_PATH))
            abort();
    rt_rules_free(&r);
    return 0;
}
