/* The store front end used by the recorder and the offline tools: parses a store URL (a folder,
 * file:// or s3://), derives the partitioned key of a bundle from its META, writes bundles
 * atomically to a folder (temporary file, fsync, rename) or uploads them to S3, and keeps
 * bundles that could not be delivered in a bounded spool folder until rt_store_flush_spool()
 * gets them out. Spool files are named "<wall-ns>-<seq>-<key with / as +>" so that sorting the
 * names gives the oldest first and the name alone says where the bundle belongs. The store keeps
 * each file it spooled open (the newest ones, up to a quarter of the descriptor limit): a
 * function that empties /tmp deletes the name, not the bundle, which is then read back through
 * its descriptor, or written back when the store lets go of it. */
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SPOOL_MAX (64ull * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 5000
/* Spool files held open at most (and never more than a quarter of RLIMIT_NOFILE: Lambda's is
 * 1024, shared with everything else the extension opens). */
#define SPOOL_HOLD_MAX 256

/* A file this store spooled and keeps open, by its name in the spool folder. */
struct spool_held {
    char *name;
    int fd;
    uint64_t size;
};

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
    /* The files spooled by this store that it keeps open, oldest first (sorted by name). */
    struct spool_held *held;
    size_t n_held, cap_held, hold_max;
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

/* ---- spool files held open ---- */

/* The whole file behind fd (from offset 0), malloc'ed. */
static int read_fd_all(int fd, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return RT_ERR_IO;
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return RT_ERR_NOMEM;
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return RT_ERR_IO;
        }
        got += (size_t)r;
    }
    *out = buf;
    *len = size;
    return RT_OK;
}

static ssize_t held_find(const struct rt_store *st, const char *name)
{
    for (size_t i = 0; i < st->n_held; i++)
        if (strcmp(st->held[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

/* Forgets held[i] (delivered or evicted: its file goes too). */
static void held_drop(struct rt_store *st, size_t i)
{
    close(st->held[i].fd);
    free(st->held[i].name);
    memmove(&st->held[i], &st->held[i + 1], (st->n_held - i - 1) * sizeof *st->held);
    st->n_held--;
}

/* Lets go of held[i], still waiting: a file deleted from the spool meanwhile (the function
 * emptied /tmp), or replaced by another under its name, is written back first, so that it
 * stays in the spool. */
static void held_release(struct rt_store *st, size_t i)
{
    struct stat sb, at;
    char *path = rt_path_join(st->spool_dir, st->held[i].name);
    if (path && fstat(st->held[i].fd, &sb) == 0 &&
        (sb.st_nlink == 0 || stat(path, &at) != 0 || at.st_ino != sb.st_ino ||
         at.st_dev != sb.st_dev)) {
        uint8_t *data;
        size_t len;
        if (read_fd_all(st->held[i].fd, &data, &len) == RT_OK) {
            (void)rt_write_file(path, data, len, !st->no_sync, NULL);
            free(data);
        }
    }
    free(path);
    held_drop(st, i);
}

/* Keeps fd open for the spool file name (len bytes), letting go of the oldest held one past
 * hold_max. Closes fd when it cannot be kept. */
static void held_add(struct rt_store *st, const char *name, int fd, uint64_t len)
{
    if (st->n_held && st->n_held >= st->hold_max)
        held_release(st, 0);
    char *copy = st->hold_max ? strdup(name) : NULL;
    if (st->n_held == st->cap_held && copy) {
        size_t cap = st->cap_held ? st->cap_held * 2 : 16;
        struct spool_held *nh = realloc(st->held, cap * sizeof *nh);
        if (nh) {
            st->held = nh;
            st->cap_held = cap;
        }
    }
    if (!copy || st->n_held == st->cap_held) {
        free(copy);
        close(fd);
        return;
    }
    /* names grow with the wall clock: nearly always the last place, wherever it goes */
    size_t at = st->n_held;
    while (at > 0 && strcmp(st->held[at - 1].name, copy) > 0)
        at--;
    memmove(&st->held[at + 1], &st->held[at], (st->n_held - at) * sizeof *st->held);
    st->held[at] = (struct spool_held){.name = copy, .fd = fd, .size = len};
    st->n_held++;
}

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
    st->hold_max = SPOOL_HOLD_MAX;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 < SPOOL_HOLD_MAX)
        st->hold_max = (size_t)(rl.rlim_cur / 4);
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
    while (st->n_held) /* a deleted one is written back: the spool outlives this store */
        held_release(st, 0);
    free(st->held);
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
    int fd; /* held open by this store (struct spool_held), or -1 */
};

static int cmp_spool(const void *a, const void *b)
{
    return strcmp(((const struct spool_entry *)a)->name, ((const struct spool_entry *)b)->name);
}

static bool spool_push(struct spool_entry **v, size_t *n, size_t *cap, const char *name,
                       uint64_t size, int fd)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct spool_entry *nv = realloc(*v, nc * sizeof **v);
        if (!nv)
            return false;
        *v = nv;
        *cap = nc;
    }
    char *copy = strdup(name);
    if (!copy)
        return false;
    (*v)[(*n)++] = (struct spool_entry){.name = copy, .size = size, .fd = fd};
    return true;
}

/* Lists the spool, oldest first: the files in the folder (missing folder = empty), and the
 * files this store holds open, whether or not their names are still there. */
static int spool_scan(struct rt_store *st, struct spool_entry **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    struct spool_entry *v = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(st->spool_dir);
    if (!d && errno != ENOENT && !st->n_held)
        return RT_ERR_IO;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char key[512];
        if (!rt_store_spool_key(de->d_name, key, sizeof key))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (!spool_push(&v, &n, &cap, de->d_name, (uint64_t)sb.st_size, -1))
            break;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_spool);
    size_t listed = n;
    for (size_t h = 0; h < st->n_held; h++) {
        struct spool_entry key = {.name = st->held[h].name};
        struct spool_entry *e = listed ? bsearch(&key, v, listed, sizeof *v, cmp_spool) : NULL;
        if (e) {
            e->fd = st->held[h].fd;
            e->size = st->held[h].size;
        } else if (!spool_push(&v, &n, &cap, st->held[h].name, st->held[h].size, st->held[h].fd)) {
            break;
        }
    }
    if (n > listed)
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

/* Removes a spooled bundle (delivered or evicted): its name in the folder and its descriptor. */
static bool spool_remove(struct rt_store *st, const struct spool_entry *e)
{
    char *p = rt_path_join(st->spool_dir, e->name);
    bool gone = p && unlink(p) == 0;
    free(p);
    ssize_t h = e->fd >= 0 ? held_find(st, e->name) : -1;
    if (h >= 0) {
        held_drop(st, (size_t)h);
        gone = true;
    }
    return gone;
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
    if (spool_scan(st, &v, &n) != RT_OK)
        n = 0, v = NULL;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].size;
    for (size_t i = 0; i < n && total + len > st->spool_max; i++) {
        if (spool_remove(st, &v[i])) {
            total -= v[i].size;
            st->counters[RT_CTR_SPOOL_DROPPED]++;
        }
    }
    spool_free(v, n);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char name[512];
    if (rt_store_spool_name((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, st->spool_seq++, key,
                            name, sizeof name) != RT_OK)
        return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: key too long for the spool", key);
    char *path = rt_path_join(st->spool_dir, name);
    if (!path)
        return RT_ERR_NOMEM;
    int fd;
    int rc = rt_write_file_keep(path, data, len, !st->no_sync, &fd, ei);
    free(path);
    if (rc == RT_OK)
        held_add(st, name, fd, len);
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
    if (spool_scan(st, &v, &n) != RT_OK)
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
    int rc = spool_scan(st, &v, &n);
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
        char key[512];
        if (!rt_store_spool_key(v[i].name, key, sizeof key))
            continue;
        uint8_t *data = NULL;
        size_t len = 0;
        if (v[i].fd >= 0) { /* through its descriptor: the name may be gone */
            if (read_fd_all(v[i].fd, &data, &len) != RT_OK)
                continue;
        } else {
            char *path = rt_path_join(st->spool_dir, v[i].name);
            rc = path ? rt_read_file(path, &data, &len, 0) : RT_ERR_NOMEM;
            free(path);
            if (rc != RT_OK)
                continue; /* vanished or unreadable: nothing to deliver */
        }
        rc = put_key(st, key, data, len, NULL, 0, ei);
        free(data);
        if (rc != RT_OK) {
            if (!rt_s3_interrupted(st->s3)) {
                st->counters[RT_CTR_STORE_FAILURES]++;
                open_breaker(st);
            }
            failure = rc;
            break;
        }
        spool_remove(st, &v[i]);
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
