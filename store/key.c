/* Store keys: the partitioned layout of docs/format.md ("Store layout"), the check that a key
 * is exactly that layout (for keys from a listing, and for the spool's file names), and the
 * spool's file names themselves. Pure string work, no I/O: fuzzed by tests/fuzz/fuzz_storekey.c. */
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Copies in to out keeping [A-Za-z0-9._-], replacing anything else by '_', never starting
 * with '.', at most max characters; an empty result becomes fallback. */
static void sanitize_component(const char *in, size_t max, char *out, const char *fallback)
{
    size_t n = 0;
    for (const char *p = in ? in : ""; *p && n < max; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok || (n == 0 && c == '.'))
            c = '_';
        out[n++] = c;
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, max + 1, "%s", fallback);
}

int rt_store_key(const struct rt_meta *meta, char *key, size_t cap)
{
    if (!meta || !key || cap == 0)
        return RT_ERR_INVALID_ARG;
    char fn[65], rid[129];
    sanitize_component(meta->function, 64, fn, "unknown");
    sanitize_component(meta->request_id, 128, rid, "no-request-id");
    int64_t ns = meta->start_wall_ns > 0 ? meta->start_wall_ns : 0;
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return RT_ERR_INVALID_ARG;
    int w =
        snprintf(key, cap, "v1/fn=%s/dt=%04d-%02d-%02d/hr=%02d/%019" PRId64 "-%s%s", fn,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, ns, rid, RT_BUNDLE_EXT);
    if (w < 0 || (size_t)w >= cap)
        return RT_ERR_INVALID_ARG;
    return RT_OK;
}

/* Reads exactly n digits at *p into *v; advances *p. */
static bool take_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return true;
}

static bool take_lit(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n))
        return false;
    *p += n;
    return true;
}

/* A name as sanitize_component() writes it: 1..max of [A-Za-z0-9._-], not starting with '.'
 * (so never "." or ".."). Advances *p past it. */
static bool take_name(const char **p, size_t max)
{
    size_t n = 0;
    for (const char *s = *p; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || (c == '.' && n > 0);
        if (!ok)
            break;
    }
    if (n == 0 || n > max)
        return false;
    *p += n;
    return true;
}

int rt_store_key_check(const char *key, size_t prefix_len, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!key || strlen(key) < prefix_len)
        return RT_ERR_INVALID_ARG;
    /* first the characters: a control character or a non-ASCII byte is named by position */
    for (size_t i = 0; key[i]; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f)
            return rt_fail(ei, RT_ERR_STORE_KEY, -1, "control character 0x%02x at offset %zu", c,
                           i);
        if (c >= 0x80)
            return rt_fail(ei, RT_ERR_STORE_KEY, -1,
                           "non-ASCII byte 0x%02x at offset %zu (a character the listing could "
                           "not carry is shown as U+FFFD)",
                           c, i);
    }
    const char *p = key + prefix_len;
    const char *what = "v1/fn=";
    int year, mon, day, hour;
    if (!take_lit(&p, "v1/fn="))
        goto bad;
    what = "function name";
    if (!take_name(&p, 64) || !take_lit(&p, "/dt="))
        goto bad;
    what = "dt=YYYY-MM-DD";
    if (!take_digits(&p, 4, &year) || !take_lit(&p, "-") || !take_digits(&p, 2, &mon) ||
        !take_lit(&p, "-") || !take_digits(&p, 2, &day) || mon < 1 || mon > 12 || day < 1 ||
        day > 31 || !take_lit(&p, "/hr="))
        goto bad;
    what = "hr=HH";
    if (!take_digits(&p, 2, &hour) || hour > 23 || !take_lit(&p, "/"))
        goto bad;
    what = "<start-ns>-<request-id>" RT_BUNDLE_EXT;
    for (int i = 0; i < 19; i++)
        if (p[i] < '0' || p[i] > '9')
            goto bad;
    p += 19;
    if (!take_lit(&p, "-"))
        goto bad;
    /* the request id is a name that ends where the one ".rtb" at the end begins */
    size_t left = strlen(p), el = strlen(RT_BUNDLE_EXT);
    if (left <= el || strcmp(p + left - el, RT_BUNDLE_EXT) != 0)
        goto bad;
    char rid[130];
    if (left - el > 128)
        goto bad;
    memcpy(rid, p, left - el);
    rid[left - el] = '\0';
    const char *r = rid;
    if (!take_name(&r, 128) || *r)
        goto bad;
    return RT_OK;
bad:
    return rt_fail(ei, RT_ERR_STORE_KEY, -1,
                   "%s expected at offset %zu (layout v1/fn=NAME/dt=YYYY-MM-DD/hr=HH/"
                   "<start-ns>-<request-id>%s)",
                   what, (size_t)(p - key), RT_BUNDLE_EXT);
}

int rt_store_spool_name(int64_t wall_ns, unsigned seq, const char *key, char *name, size_t cap)
{
    int w = snprintf(name, cap, "%020" PRId64 "-%06u-%s", wall_ns > 0 ? wall_ns : 0, seq % 1000000,
                     key);
    if (w < 0 || (size_t)w >= cap)
        return RT_ERR_INVALID_ARG;
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '+';
    return RT_OK;
}

bool rt_store_spool_key(const char *name, char *key, size_t cap)
{
    for (int i = 0; i < 27; i++)
        if (i == 20 ? name[i] != '-' : name[i] < '0' || name[i] > '9')
            return false;
    if (name[27] != '-' || strlen(name + 28) >= cap)
        return false;
    snprintf(key, cap, "%s", name + 28);
    for (char *p = key; *p; p++)
        if (*p == '+')
            *p = '/';
    return rt_store_key_check(key, 0, NULL) == RT_OK;
}
