/* The store front end used by the recorder and the offline tools: parses a store URL (a folder,
 * file:// or s3://), derives the partitioned key of a bundle from its META, writes bundles
 * atomically to a folder (temporary file, fsync, rename) or uploads them to S3, and keeps
 * bundles that could not be delivered in a bounded spool folder until rt_store_flush_spool()
 * gets them out. Spool files are named "<wall-ns>-<seq>-<key with / as +>" so that sorting the
 * names gives the oldest first and the name alone says where the bundle belongs. */
#include "store/store.h"
#include "store/s3.h"
#include "store/util.h"

#include "formats/toolbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SPOOL_MAX (64ull * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 5000

struct rt_store {
    bool is_s3;
    char *root;   /* folder store: the folder */
    char *bucket; /* S3 store */
    char *prefix; /* S3 key prefix without leading/trailing '/', may be "" */
    struct rt_s3 *s3;
    char *spool_dir;
    uint64_t spool_max;
    int timeout_ms;
    char *sse;
    bool no_sync;
    unsigned spool_seq;
    /* Bundles in the spool as last counted; -1 = count again. Only this store changes the
     * spool (spool_add, rt_store_flush_spool: both set -1), so a seal reads the folder only
     * after one of them, not every time. */
    long spooled;
    uint64_t counters[RT_CTR__COUNT];
    /* After an S3 put fails, bundles go straight to the spool until breaker_until (CLOCK_
     * MONOTONIC ms) instead of waiting out the retries again: BREAKER_MIN_MS after the first
     * failure, doubling to BREAKER_MAX_MS while the store keeps failing; a put that succeeds
     * closes it. Only with a spool (the recorder). */
    int64_t breaker_until;
    int64_t breaker_ms;
};

#define BREAKER_MIN_MS 5000
#define BREAKER_MAX_MS 60000

static int64_t mono_ms(void)
{
    return rt_clock_mono_ns() / 1000000;
}

/* A put to S3 failed: do not try again for a while (doubling while it keeps failing). */
static void open_breaker(struct rt_store *st)
{
    if (!st->is_s3 || !st->spool_dir)
        return;
    st->breaker_ms = st->breaker_ms ? st->breaker_ms * 2 : BREAKER_MIN_MS;
    if (st->breaker_ms > BREAKER_MAX_MS)
        st->breaker_ms = BREAKER_MAX_MS;
    st->breaker_until = mono_ms() + st->breaker_ms;
}

const char *rt_store_default_url(void)
{
    const char *env = getenv("RUNTRAIL_STORE");
    return env && *env ? env : "./runtrail-data";
}

/* ---- keys ---- */

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

/* ---- open/close ---- */

static int parse_url(struct rt_store *st, const char *url, struct rt_errinfo *ei)
{
    if (!strncmp(url, "s3://", 5)) {
        const char *b = url + 5;
        const char *slash = strchr(b, '/');
        size_t blen = slash ? (size_t)(slash - b) : strlen(b);
        if (blen < 3 || blen > 63)
            return rt_fail(ei, RT_ERR_STORE_URL, -1, "%s: bucket name must be 3-63 characters",
                           url);
        for (size_t i = 0; i < blen; i++) {
            char c = b[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                return rt_fail(ei, RT_ERR_STORE_URL, -1, "%s: bad character in bucket name", url);
        }
        st->is_s3 = true;
        st->bucket = strndup(b, blen);
        const char *p = slash ? slash : "";
        while (*p == '/')
            p++;
        st->prefix = strdup(p);
        if (!st->bucket || !st->prefix)
            return RT_ERR_NOMEM;
        size_t pl = strlen(st->prefix);
        while (pl && st->prefix[pl - 1] == '/')
            st->prefix[--pl] = '\0';
        return RT_OK;
    }
    const char *path = url;
    if (!strncmp(url, "file://", 7)) {
        path = url + 7;
        if (!strncmp(path, "localhost/", 10))
            path += 9;
        if (*path != '/')
            return rt_fail(ei, RT_ERR_STORE_URL, -1, "%s: file:// URLs need an absolute path", url);
    } else if (strstr(url, "://")) {
        return rt_fail(ei, RT_ERR_STORE_URL, -1, "%s: only s3:// and file:// are supported", url);
    }
    if (!*path)
        return rt_fail(ei, RT_ERR_STORE_URL, -1, "empty store path");
    st->root = strdup(path);
    if (!st->root)
        return RT_ERR_NOMEM;
    size_t rl = strlen(st->root);
    while (rl > 1 && st->root[rl - 1] == '/')
        st->root[--rl] = '\0';
    return RT_OK;
}

int rt_store_open(const char *url, const struct rt_store_options *opts, struct rt_store **out,
                  struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!url || !out)
        return RT_ERR_INVALID_ARG;
    struct rt_store *st = calloc(1, sizeof *st);
    if (!st)
        return RT_ERR_NOMEM;
    st->spool_max = opts && opts->spool_max ? opts->spool_max : DEFAULT_SPOOL_MAX;
    st->spooled = -1;
    st->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    st->no_sync = opts && opts->no_sync;
    int rc = parse_url(st, url, ei);
    if (rc == RT_OK && opts && opts->spool_dir && *opts->spool_dir &&
        !(st->spool_dir = strdup(opts->spool_dir)))
        rc = RT_ERR_NOMEM;
    if (rc == RT_OK && opts && opts->sse && !(st->sse = strdup(opts->sse)))
        rc = RT_ERR_NOMEM;
    if (rc == RT_OK && st->is_s3) {
        /* The whole put, retries included, stays within timeout_ms; each attempt gets half
         * of it so that one slow attempt still leaves room for a retry. */
        struct rt_s3_options so = {
            .timeout_ms = st->timeout_ms / 2 > 250 ? st->timeout_ms / 2 : 250,
            .sse = st->sse,
            .max_time_ms = st->timeout_ms,
        };
        rc = rt_s3_open(st->bucket, &so, &st->s3, ei);
    }
    if (rc != RT_OK) {
        rt_store_close(st);
        return rc;
    }
    *out = st;
    return RT_OK;
}

void rt_store_close(struct rt_store *st)
{
    if (!st)
        return;
    rt_s3_close(st->s3);
    free(st->root);
    free(st->bucket);
    free(st->prefix);
    free(st->spool_dir);
    free(st->sse);
    free(st);
}

/* ---- delivery ---- */

static int put_key(struct rt_store *st, const char *key, const uint8_t *data, size_t len,
                   char *where, size_t where_cap, struct rt_errinfo *ei)
{
    char *full = rt_path_join(st->is_s3 ? st->prefix : st->root, key);
    if (!full)
        return RT_ERR_NOMEM;
    int rc;
    if (st->is_s3) {
        rc = rt_s3_put(st->s3, full, data, len, ei);
        if (rc == RT_OK && where && where_cap)
            snprintf(where, where_cap, "s3://%s/%s", st->bucket, full);
    } else {
        rc = rt_write_file(full, data, len, !st->no_sync, ei);
        if (rc == RT_OK && where && where_cap)
            snprintf(where, where_cap, "%s", full);
    }
    free(full);
    return rc;
}

struct spool_entry {
    char *name;
    uint64_t size;
};

static int cmp_spool(const void *a, const void *b)
{
    return strcmp(((const struct spool_entry *)a)->name, ((const struct spool_entry *)b)->name);
}

/* Lists the spool, oldest first. Missing folder = empty. */
static int spool_scan(const char *dir, struct spool_entry **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? RT_OK : RT_ERR_IO;
    struct spool_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strstr(de->d_name, RT_BUNDLE_EXT))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct spool_entry *nv = realloc(v, cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        v[n].name = strdup(de->d_name);
        v[n].size = (uint64_t)sb.st_size;
        if (v[n].name)
            n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_spool);
    *out = v;
    *n_out = n;
    return RT_OK;
}

static void spool_free(struct spool_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Keeps data in the spool under key, evicting the oldest entries past spool_max. */
static int spool_add(struct rt_store *st, const char *key, const uint8_t *data, size_t len,
                     struct rt_errinfo *ei)
{
    if ((uint64_t)len > st->spool_max) {
        st->counters[RT_CTR_SPOOL_DROPPED]++;
        return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: %zu bytes exceed the spool cap", key, len);
    }
    st->spooled = -1;
    struct spool_entry *v;
    size_t n;
    if (spool_scan(st->spool_dir, &v, &n) != RT_OK)
        n = 0, v = NULL;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].size;
    for (size_t i = 0; i < n && total + len > st->spool_max; i++) {
        char *p = rt_path_join(st->spool_dir, v[i].name);
        if (p && unlink(p) == 0) {
            total -= v[i].size;
            st->counters[RT_CTR_SPOOL_DROPPED]++;
        }
        free(p);
    }
    spool_free(v, n);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char name[512];
    int w = snprintf(name, sizeof name, "%020" PRId64 "-%06u-%s",
                     (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, st->spool_seq++ % 1000000, key);
    if (w < 0 || (size_t)w >= sizeof name)
        return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: key too long for the spool", key);
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '+';
    char *path = rt_path_join(st->spool_dir, name);
    if (!path)
        return RT_ERR_NOMEM;
    int rc = rt_write_file(path, data, len, !st->no_sync, ei);
    free(path);
    return rc;
}

static size_t spool_count(struct rt_store *st)
{
    if (!st->spool_dir)
        return 0;
    if (st->spooled >= 0)
        return (size_t)st->spooled;
    struct spool_entry *v;
    size_t n;
    if (spool_scan(st->spool_dir, &v, &n) != RT_OK)
        return 0;
    spool_free(v, n);
    st->spooled = (long)n;
    return n;
}

int rt_store_put_bundle(struct rt_store *st, const struct rt_meta *meta, const uint8_t *data,
                        size_t len, char *where, size_t where_cap, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!st || !meta || (!data && len))
        return RT_ERR_INVALID_ARG;
    char key[512];
    int rc = rt_store_key(meta, key, sizeof key);
    if (rc != RT_OK)
        return rc;
    int64_t now = st->is_s3 && st->spool_dir ? mono_ms() : 0;
    if (now && now < st->breaker_until) {
        rc = rt_fail(ei, RT_ERR_S3_NETWORK, -1,
                     "the store failed less than %" PRId64 " s ago: not tried again yet",
                     st->breaker_ms / 1000);
    } else {
        rc = put_key(st, key, data, len, where, where_cap, ei);
        if (rc == RT_OK)
            st->breaker_until = st->breaker_ms = 0;
        else if (!rt_s3_interrupted(st->s3))
            open_breaker(st);
    }
    if (rc == RT_OK || rc == RT_ERR_NOMEM)
        return rc;
    if (!rt_s3_interrupted(st->s3)) /* a put cut short at SHUTDOWN is no store failure */
        st->counters[RT_CTR_STORE_FAILURES]++;
    if (!st->spool_dir)
        return rc;
    struct rt_errinfo sei;
    rt_errinfo_clear(&sei);
    if (spool_add(st, key, data, len, &sei) != RT_OK)
        return rc; /* the original failure says more than the spool's */
    if (where && where_cap)
        snprintf(where, where_cap, "%s", st->spool_dir);
    return RT_ERR_STORE_SPOOLED;
}

int rt_store_put_object(struct rt_store *st, const char *key, const uint8_t *data, size_t len,
                        char *where, size_t where_cap, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!st || !key || !*key || key[0] == '/' || (!data && len))
        return RT_ERR_INVALID_ARG;
    for (const char *p = key; *p;) { /* no "." or ".." segment: the object stays below */
        size_t seg = strcspn(p, "/");
        if (seg == 0 || (seg == 1 && p[0] == '.') || (seg == 2 && p[0] == '.' && p[1] == '.'))
            return rt_fail(ei, RT_ERR_STORE_KEY, (int64_t)(p - key), "empty, '.' or '..' part");
        p += seg + (p[seg] == '/');
    }
    return put_key(st, key, data, len, where, where_cap, ei);
}

void rt_store_interrupt(struct rt_store *st, bool on)
{
    if (st)
        rt_s3_interrupt(st->s3, on);
}

int rt_store_flush_spool(struct rt_store *st, struct rt_errinfo *ei)
{
    return rt_store_flush_spool_for(st, 0, NULL, ei);
}

int rt_store_flush_spool_for(struct rt_store *st, int64_t max_ms, bool *more, struct rt_errinfo *ei)
{
    if (more)
        *more = false;
    rt_errinfo_clear(ei);
    if (!st)
        return -RT_ERR_INVALID_ARG;
    if (!st->spool_dir)
        return 0;
    st->spooled = -1;
    struct spool_entry *v;
    size_t n;
    int rc = spool_scan(st->spool_dir, &v, &n);
    if (rc != RT_OK)
        return -rc;
    int delivered = 0, failure = RT_OK;
    int64_t until = max_ms > 0 ? mono_ms() + max_ms : 0;
    for (size_t i = 0; i < n; i++) {
        if (until && delivered > 0 && mono_ms() >= until) {
            if (more)
                *more = true; /* the rest at the next call */
            break;
        }
        /* name: 20 digits '-' 6 digits '-' key */
        if (strlen(v[i].name) < 29)
            continue;
        char key[512];
        snprintf(key, sizeof key, "%s", v[i].name + 28);
        for (char *p = key; *p; p++)
            if (*p == '+')
                *p = '/';
        char *path = rt_path_join(st->spool_dir, v[i].name);
        uint8_t *data = NULL;
        size_t len = 0;
        if (!path || rt_read_file(path, &data, &len, 0) != RT_OK) {
            free(path);
            continue; /* vanished or unreadable: nothing to deliver */
        }
        rc = put_key(st, key, data, len, NULL, 0, ei);
        free(data);
        if (rc != RT_OK) {
            free(path);
            if (!rt_s3_interrupted(st->s3)) {
                st->counters[RT_CTR_STORE_FAILURES]++;
                open_breaker(st);
            }
            failure = rc;
            break;
        }
        unlink(path);
        free(path);
        delivered++;
    }
    spool_free(v, n);
    if (failure != RT_OK) /* the spool is not empty: say so, even if some went out */
        return -failure;
    return delivered;
}

void rt_store_take_counters(struct rt_store *st, uint64_t counters[RT_CTR__COUNT])
{
    if (!st || !counters)
        return;
    counters[RT_CTR_SPOOL_DROPPED] += st->counters[RT_CTR_SPOOL_DROPPED];
    counters[RT_CTR_STORE_FAILURES] += st->counters[RT_CTR_STORE_FAILURES];
    counters[RT_CTR_SPOOLED] = spool_count(st);
    st->counters[RT_CTR_SPOOL_DROPPED] = 0;
    st->counters[RT_CTR_STORE_FAILURES] = 0;
}
