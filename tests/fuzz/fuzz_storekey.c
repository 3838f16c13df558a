/* fuzz-sources: store/key.c formats/error.c */
/* libFuzzer harness for the store's key layout (store/key.c). The input, cut at its first two
 * NUL bytes into three strings, is checked as a key (rt_store_key_check), read as a spool file
 * name (rt_store_spool_key), and used as a META's function name and request id for
 * rt_store_key. Whatever passes must be a key with no "", "." or ".." part and no byte outside
 * printable ASCII (the spool name of a key read back gives the same key), and every key that
 * rt_store_key writes must pass the check: the writer and the checker agree. */
#include "store/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_be_a_safe_key(const char *key)
{
    if (key[0] == '/' || strstr(key, "//") || strstr(key, "/./") || strstr(key, "/../") ||
        strncmp(key, "./", 2) == 0 || strncmp(key, "../", 3) == 0)
        abort();
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            abort();
    char name[700], back[600];
    if (rt_store_spool_name(1, 2, key, name, sizeof name) != RT_OK)
        abort();
    if (!rt_store_spool_key(name, back, sizeof back) || strcmp(back, key) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 3);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = s[size + 1] = s[size + 2] = '\0';
    const char *a = s; /* three strings: the NUL bytes after the input end the last ones */
    const char *b = a + strlen(a) + 1;
    const char *c = b + strlen(b) + 1;

    struct rt_errinfo ei;
    if (rt_store_key_check(a, 0, &ei) == RT_OK)
        must_be_a_safe_key(a);
    char key[600];
    if (rt_store_spool_key(a, key, sizeof key)) {
        if (rt_store_key_check(key, 0, &ei) != RT_OK)
            abort();
        must_be_a_safe_key(key);
    }
    struct rt_meta m;
    memset(&m, 0, sizeof m);
    m.function = (char *)b;
    m.request_id = (char *)c;
    if (size >= sizeof m.start_wall_ns) /* any time, negative ones too */
        memcpy(&m.start_wall_ns, data, sizeof m.start_wall_ns);
    if (rt_store_key(&m, key, sizeof key) == RT_OK) {
        if (rt_store_key_check(key, 0, &ei) != RT_OK)
            abort();
        must_be_a_safe_key(key);
    }
    free(s);
    return 0;
}
