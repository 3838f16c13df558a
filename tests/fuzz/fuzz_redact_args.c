/* clang-format off */
/* fuzz-sources: recorder/extension/redact_args.c recorder/extension/redact.c recorder/extension/hashkey.c recorder/extension/config.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto */
/* clang-format on */
/* libFuzzer harness for the redactor of secrets in argv, command lines and HTTP request lines
 * (redact_args.c). The first input byte picks the form (argv, command line, HTTP line) and a
 * RUNTRAIL_REDACT list; a known secret is planted in front of the hostile rest, which must not
 * be able to bring it back: beyond not crashing, an unchanged text gives no output, a changed
 * one counts its replacements, and the planted value never comes through. The rest may spell
 * the secret itself (quoted in pieces, escaped) and the redactor re-quotes what it keeps, so
 * the leak check is differential: the same input with a decoy of the same shape planted
 * instead must show the secret as often as with the secret planted. */
#include "recorder/extension/extension.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENTINEL "S3NTINEL-FUZZ-9f2c"
#define DECOY "X3NTINEL-FUZZ-9f2c" /* same length and character classes */

static size_t count(const char *s, size_t len, const char *what)
{
    size_t n = 0, w = strlen(what);
    for (const char *p = s; len && (p = memmem(p, len - (size_t)(p - s), what, w)) != NULL; p++)
        n++;
    return n;
}

static const char *const lists[] = {"", "nickname", "a.b,x-y", ",,.,a..b, ,"};
#define PLANT(kind, text)                                                                          \
    {                                                                                              \
        kind, text, sizeof text - 1                                                                \
    }
static const struct {
    char kind;
    const char *prefix;
    size_t len; /* without the literal's final NUL; argv elements are NUL-separated */
} planted[] = {
    PLANT('a', "tool\0--password\0" SENTINEL "\0"),
    PLANT('a', "sh\0-c\0PGPASSWORD=" SENTINEL " psql; "),
    PLANT('s', "curl -H 'Authorization: Bearer " SENTINEL "' "),
    PLANT('h', "GET /x?api_key=" SENTINEL "&"),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct rt_ext_hash_key key;
    if (!key.len)
        rt_ext_hash_key_set(&key, "fuzz-key-0123456789", 19, RT_EXT_KEY_CONFIGURED);
    uint8_t sel = data[0];
    const char *list = lists[(sel >> 4) % (sizeof lists / sizeof *lists)];
    const uint8_t *rest = data + 1;
    size_t rest_len = size - 1;
    char *out = NULL;
    size_t out_len = 0;

    /* 1. The input as it comes. */
    static const char kinds[] = {'a', 's', 'h'};
    char kind = kinds[sel % 3];
    unsigned n = rt_ext_redact_text(&key, list, kind, (const char *)rest, rest_len, &out, &out_len);
    if ((n == 0) != (out == NULL))
        abort();
    free(out);

    /* 2. A planted secret in front of it. */
    size_t p = (sel >> 2) % (sizeof planted / sizeof *planted);
    size_t plen = planted[p].len;
    size_t len = plen + rest_len;
    char *in = malloc(len ? len : 1);
    if (!in)
        return 0;
    memcpy(in, planted[p].prefix, plen);
    if (rest_len)
        memcpy(in + plen, rest, rest_len);
    n = rt_ext_redact_text(&key, list, planted[p].kind, in, len, &out, &out_len);
    if (n == 0 || !out)
        abort();
    char *at = memmem(in, plen, SENTINEL, strlen(SENTINEL));
    if (!at)
        abort();
    memcpy(at, DECOY, strlen(DECOY));
    char *decoy_out = NULL;
    size_t decoy_len = 0;
    if (rt_ext_redact_text(&key, list, planted[p].kind, in, len, &decoy_out, &decoy_len) != n)
        abort(); /* the value alone changed: so must nothing else */
    if (count(out, out_len, SENTINEL) > count(decoy_out, decoy_len, SENTINEL))
        abort(); /* the planted secret came through */
    free(decoy_out);
    free(out);
    free(in);
    return 0;
}
