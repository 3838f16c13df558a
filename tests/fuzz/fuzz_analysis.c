/* fuzz-sources: formats/*.c analysis/*.c */
/* fuzz-libs: -lzstd -lcrypto -ljansson */
/* libFuzzer harness for analysis/: hostile bytes through the string rules and the peer rule
 * (the bytes themselves, with their first 36 as a request id), and, when the input decodes as
 * a bundle stream (footer digest off), its behaviour keys and every timeline row in both
 * architectures, so ASan and UBSan see the process tracking, the rules and the row builder. */
#include "analysis/analysis.h"
#include "formats/bundle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    char small[64], request_id[37];
    size_t id_len = size < 36 ? size : 36;
    memcpy(request_id, data, id_len);
    request_id[id_len] = '\0';
    /* the rules over the raw bytes: the length they report is the length they write */
    size_t need = rt_norm_string(NULL, 0, (const char *)data, size, request_id);
    char *full = malloc(need + 1);
    if (full) {
        if (rt_norm_string(full, need + 1, (const char *)data, size, request_id) != need ||
            strlen(full) > need)
            abort();
        free(full);
    }
    n += rt_norm_string(small, sizeof small, (const char *)data, size, NULL);
    n += rt_norm_peer(small, sizeof small, (const char *)data, size);

    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    if (rt_bundle_decode_raw(data, size, RT_BUNDLE_NO_DIGEST, &b, &ei) == RT_OK) {
        struct rt_keys k;
        if (rt_keys_of_bundle(b, &k) == RT_OK) {
            if (k.n != b->n_events)
                abort();
            for (size_t i = 0; i < k.n; i++)
                n += strlen(k.key[i]);
            rt_keys_sort_unique(&k);
            rt_keys_free(&k);
        }
        struct rt_timeline t;
        struct rt_timeline_item it;
        char row[512];
        rt_timeline_init(&t, b, NULL);
        while (rt_timeline_next(&t, &it)) {
            n += rt_timeline_row(row, sizeof row, &it, RT_ARCH_AARCH64);
            n += rt_timeline_row(row, sizeof row, &it, RT_ARCH_X86_64);
        }
        rt_bundle_free(b);
    }
    sink = n;
    return 0;
}
