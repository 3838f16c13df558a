/* clang-format off */
/* fuzz-sources: recorder/extension/redact.c recorder/extension/hashkey.c recorder/extension/config.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto */
/* clang-format on */
/* libFuzzer harness for payload capture and redaction (RUNTRAIL_PAYLOAD / RUNTRAIL_REDACT).
 * The first input byte picks the mode and the redaction list, the rest is the payload, as
 * hostile as an event can be. Beyond not crashing: the stored bytes never exceed what the
 * mode allows, the hash modes store nothing, a redacted payload that was replaced is
 * still JSON, and a value under "password" (a built-in name) never survives redaction. */
#include "recorder/extension/extension.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const lists[] = {
    "password",    "a,b.c", "body.card.number,password,token", "x.y.z.w.v.u.t.s.r.q.p.o.n.m.l.k",
    ",,.,a..b, ,", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    static struct rt_ext_hash_key key;
    if (!key.len)
        rt_ext_hash_key_set(&key, "fuzz", 4, RT_EXT_KEY_CONFIGURED);
    struct rt_redact r = {.mode = (uint8_t)(sel & 3),
                          .paths = lists[(sel >> 2) % (sizeof lists / sizeof *lists)],
                          .key = &key};
    struct rt_payload p;
    unsigned replaced = 0;
    rt_ext_capture_payload(&r, data + 1, size - 1, &p, &replaced);
    if (p.original_len != size - 1)
        abort();
    if ((p.mode == RT_PAYLOAD_HASH || p.mode == RT_PAYLOAD_NONE) && (p.data || p.len))
        abort();
    if (p.mode == RT_PAYLOAD_FULL && (p.len != size - 1 || memcmp(p.data, data + 1, p.len)))
        abort();
    if (p.mode == RT_PAYLOAD_REDACTED) {
        json_t *j = json_loadb((const char *)p.data, p.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!j && replaced > 0)
            abort();
        json_t *pw = json_is_object(j) ? json_object_get(j, "password") : NULL;
        if (pw && !(json_is_string(pw) && !strncmp(json_string_value(pw), "<redacted", 9)))
            abort();
        json_decref(j);
    }
    free(p.data);
    return 0;
}
