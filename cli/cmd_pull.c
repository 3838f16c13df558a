/* runtrail pull: downloads bundles from S3 into the cache and indexes them in the catalog.
 * It lists only the partitions in range (fn=, then dt= days wholly inside the window, hr=
 * hours for the days at its edges), filters the keys by the start time and request id that
 * the key itself carries, skips what the catalog already holds verified, downloads the rest in
 * parallel (curl multi) through temporary files, verifies each bundle while indexing it, and
 * reports corrupt objects without indexing them. Interrupted pulls resume: finished files are
 * renamed into place, and files present but not yet indexed are verified and indexed.
 *
 * The bucket is not trusted (a compromised function can write any key under its prefix): a
 * key that does not match the layout exactly (rt_store_key_check: no "." or "..", no control
 * character) is reported, escaped, and skipped while the rest is pulled; every file is written
 * below the cache folder through an open folder fd without following links; an object listed
 * larger than the size limit is not downloaded, and a download that outgrows it is stopped
 * there. The summary counts what the catalog committed, not what was downloaded. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "formats/toolbox.h"
#include "store/catalog.h"
#include "store/s3.h"
#include "store/store.h"
#include "store/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY_NS (86400LL * 1000000000LL)
#define HOUR_NS (3600LL * 1000000000LL)
#define MAX_LIST 64

static const char help_head[] =
    "usage: runtrail pull s3://BUCKET/PREFIX [--function F]... [--since T] [--until T]\n"
    "                     [--request-id ID]... [-j N] [--cache DIR] [--max-size N]\n"
    "                     [--dry-run]\n"
    "\n"
    "Download the bundles under PREFIX/v1/fn=NAME/dt=YYYY-MM-DD/hr=HH/ into the cache,\n"
    "verify each one (zstd checksum, footer digest) and index it in the catalog.\n"
    "Only the partitions in the time range are listed; bundles already indexed and\n"
    "verified are skipped; an interrupted pull resumes where it stopped.\n"
    "\n";

enum {
    OPT_FUNCTION = 1,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_REQUEST_ID,
    OPT_JOBS,
    OPT_CACHE,
    OPT_MAX_SIZE,
    OPT_DRY_RUN
};
static const struct rt_opt options[] = {
    {OPT_FUNCTION, "function", 0, "F",
     "only this function (repeatable); default: every fn= partition"},
    {OPT_SINCE, "since", 0, "T", "bundles that started at or after T"},
    {OPT_UNTIL, "until", 0, "T",
     "bundles that started at or before T (default: no limit)\n"
     "T is ISO 8601 (2026-11-26, 2026-11-26T10:00Z, ...+02:00)\n"
     "or relative to now: 90s, 15m, 2h, 7d, 1w"},
    {OPT_REQUEST_ID, "request-id", 0, "ID", "only this request id (repeatable)"},
    {OPT_JOBS, "jobs", 'j', "N", "parallel downloads (default 8, 1..256)"},
    {OPT_CACHE, "cache", 0, "DIR",
     "cache folder (default $RUNTRAIL_CACHE, else\n"
     "${XDG_CACHE_HOME:-~/.cache}/runtrail)"},
    {OPT_MAX_SIZE, "max-size", 0, "N",
     "skip objects larger than N bytes (suffix k, m: KiB, MiB);\n"
     "default and upper bound 256m, the largest bundle a reader opens"},
    {OPT_DRY_RUN, "dry-run", 0, NULL, "list what would be downloaded, download nothing"},
    {0},
};

static const char help_tail[] =
    "\n"
    "Credentials, region and endpoint follow the AWS conventions (AWS_PROFILE,\n"
    "~/.aws/credentials and config incl. credential_process, AWS_REGION,\n"
    "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL). On a terminal a progress bar is shown on\n"
    "stderr; the summary line goes to stdout.\n"
    "\n"
    "Keys that do not match the layout (a '.' or '..' segment, a control character,\n"
    "anything else) are reported and skipped, as are objects over --max-size; files are\n"
    "only ever written below the cache folder.\n"
    "\n"
    "Exit status: 0 ok, 2 usage error, or some key was skipped or some object could not be\n"
    "listed, downloaded, verified or committed to the catalog (the others are still pulled\n"
    "and indexed).\n"
    "See runtrail-pull(1) and docs/store.md.\n";

static const struct rt_cli_spec pull_spec = {"pull", help_head, options, help_tail, false};

struct strvec {
    char **v;
    size_t n;
};

static int strvec_add(struct strvec *s, const char *x)
{
    char **nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    s->v = nv;
    if (!(s->v[s->n] = strdup(x)))
        return -1;
    s->n++;
    return 0;
}

static void strvec_free(struct strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

struct object {
    char *key;
    uint64_t size;
};

struct pull {
    const char *url;
    char bucket[64];
    char base[1024]; /* "PREFIX/v1/" or "v1/" */
    struct strvec functions, request_ids;
    int64_t since, until;
    bool has_since;
    int jobs;
    bool dry_run;
    char cache[PATH_MAX];
    uint64_t max_size;
    int bucket_fd; /* the cache's s3/BUCKET folder: every file is written below it */
    struct rt_s3 *s3;
    struct rt_catalog *cat;
    struct object *objects;
    size_t n_objects, cap_objects;
    /* progress */
    bool tty;
    size_t done, fetched, skipped, corrupt, failed, rejected, to_fetch;
    bool in_batch;
    size_t pending_new, pending_present; /* indexed in the open batch, not yet committed */
    uint64_t commits_seen; /* rt_catalog_commits() when the pending counts were last settled */
    char **paths;          /* full path of items[i], for the catalog */
    struct rt_s3_get_item *items;
    uint64_t bytes_total, bytes_now;
    int64_t t0;
    int64_t last_draw;
    size_t since_commit;
    int first_error;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void print_err(const char *what, int rc, const struct rt_errinfo *ei)
{
    char buf[600], esc[700];
    rt_errinfo_format(rc, ei, buf, sizeof buf);
    rt_escape_buf(esc, sizeof esc, what, strlen(what), 0);
    rt_cli_error("%s: %s", esc, buf);
}

/* Lists every page under prefix; with delim, collects common prefixes into prefixes,
 * otherwise objects into p->objects. */
static int list_all(struct pull *p, const char *prefix, const char *delim, struct strvec *prefixes)
{
    char *token = NULL;
    int rc;
    do {
        struct rt_s3_list l;
        struct rt_errinfo ei;
        rc = rt_s3_list(p->s3, prefix, delim, NULL, token, 0, &l, &ei);
        free(token);
        token = NULL;
        if (rc != RT_OK) {
            char what[1200];
            snprintf(what, sizeof what, "s3://%s/%s", p->bucket, prefix);
            print_err(what, rc, &ei);
            return rc;
        }
        for (size_t i = 0; prefixes && i < l.n_prefixes; i++)
            if (strvec_add(prefixes, l.prefixes[i]))
                rc = RT_ERR_NOMEM;
        for (size_t i = 0; !delim && i < l.n_objects; i++) {
            if (p->n_objects == p->cap_objects) {
                size_t cap = p->cap_objects ? p->cap_objects * 2 : 256;
                struct object *no = realloc(p->objects, cap * sizeof *no);
                if (!no) {
                    rc = RT_ERR_NOMEM;
                    break;
                }
                p->objects = no;
                p->cap_objects = cap;
            }
            p->objects[p->n_objects].key = l.objects[i].key;
            p->objects[p->n_objects].size = l.objects[i].size;
            l.objects[i].key = NULL;
            p->n_objects++;
        }
        if (l.truncated && l.next_token)
            token = strdup(l.next_token);
        rt_s3_list_free(&l);
    } while (token && rc == RT_OK);
    free(token);
    return rc;
}

/* The "folders" right below prefix (e.g. "PREFIX/v1/fn=orders/"). A delimiter listing
 * answers on S3; stores whose delimiter listings come back empty (s3rver with nested keys)
 * get a skip scan instead: one max-keys=1 listing per child, each starting after the last
 * child's range ("child0" sorts right after every "child/..." key). */
static int list_children(struct pull *p, const char *prefix, struct strvec *out)
{
    int rc = list_all(p, prefix, "/", out);
    if (rc != RT_OK || out->n)
        return rc;
    size_t pl = strlen(prefix);
    char after[2048] = "";
    for (int guard = 0; guard < 100000; guard++) {
        struct rt_s3_list l;
        struct rt_errinfo ei;
        rc = rt_s3_list(p->s3, prefix, NULL, after[0] ? after : NULL, NULL, 1, &l, &ei);
        if (rc != RT_OK) {
            char what[1200];
            snprintf(what, sizeof what, "s3://%s/%s", p->bucket, prefix);
            print_err(what, rc, &ei);
            return rc;
        }
        const char *key = l.n_objects ? l.objects[0].key : NULL;
        const char *slash = key && strlen(key) > pl ? strchr(key + pl, '/') : NULL;
        if (!key || strncmp(key, prefix, pl) || (after[0] && strcmp(key, after) <= 0)) {
            rt_s3_list_free(&l); /* done, or a server that does not honour start-after */
            break;
        }
        if (!slash) { /* an object right below prefix: step over it */
            snprintf(after, sizeof after, "%s", key);
            rt_s3_list_free(&l);
            continue;
        }
        char child[2048];
        snprintf(child, sizeof child, "%.*s", (int)(slash - key + 1), key);
        rt_s3_list_free(&l);
        if (strvec_add(out, child))
            return RT_ERR_NOMEM;
        snprintf(after, sizeof after, "%.*s0", (int)strlen(child) - 1, child);
    }
    return RT_OK;
}

static void day_of(int64_t ns, char out[16])
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* Lists the objects of one function within [since, until]. */
static int list_function(struct pull *p, const char *fn_prefix)
{
    int rc = RT_OK;
    struct strvec days = {0};
    if (!p->has_since) {
        /* no lower bound: the existing dt= partitions up to until */
        if ((rc = list_children(p, fn_prefix, &days)) != RT_OK)
            return rc;
    } else {
        int64_t d0 = p->since - (p->since % DAY_NS);
        int64_t last = p->until < now_ns() + 2 * DAY_NS ? p->until : now_ns() + 2 * DAY_NS;
        for (int64_t d = d0; d <= last && rc == RT_OK; d += DAY_NS) {
            char day[16], pre[1400];
            day_of(d, day);
            snprintf(pre, sizeof pre, "%sdt=%s/", fn_prefix, day);
            if (strvec_add(&days, pre))
                rc = RT_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < days.n && rc == RT_OK; i++) {
        /* ".../dt=YYYY-MM-DD/" -> day start */
        const char *dt = strstr(days.v[i] + strlen(fn_prefix), "dt=");
        int64_t day_start;
        char date[16];
        if (!dt || sscanf(dt + 3, "%10s", date) != 1 || rt_parse_time(date, 0, &day_start) != RT_OK)
            continue; /* not a partition of ours */
        int64_t day_end = day_start + DAY_NS - 1;
        if (day_end < p->since || day_start > p->until)
            continue;
        if (day_start >= p->since && day_end <= p->until) {
            rc = list_all(p, days.v[i], NULL, NULL);
            continue;
        }
        for (int h = 0; h < 24 && rc == RT_OK; h++) {
            int64_t hs = day_start + h * HOUR_NS, he = hs + HOUR_NS - 1;
            if (he < p->since || hs > p->until)
                continue;
            char pre[1500];
            snprintf(pre, sizeof pre, "%shr=%02d/", days.v[i], h);
            rc = list_all(p, pre, NULL, NULL);
        }
    }
    strvec_free(&days);
    return rc;
}

/* Whether a listed key is one to pull: start time and request id from its file name. */
static bool key_wanted(const struct pull *p, const char *key)
{
    const char *name = strrchr(key, '/');
    name = name ? name + 1 : key;
    size_t nl = strlen(name), el = strlen(RT_BUNDLE_EXT);
    if (nl <= el || strcmp(name + nl - el, RT_BUNDLE_EXT))
        return false;
    char *end;
    errno = 0;
    long long start = strtoll(name, &end, 10);
    if (end == name || *end != '-' || errno)
        return false;
    if (start < p->since || start > p->until)
        return false;
    if (p->request_ids.n) {
        const char *rid = end + 1;
        size_t rl = nl - (size_t)(rid - name) - el;
        for (size_t i = 0; i < p->request_ids.n; i++)
            if (strlen(p->request_ids.v[i]) == rl && !strncmp(rid, p->request_ids.v[i], rl))
                return true;
        return false;
    }
    return true;
}

/* Whether a listed key may be pulled: under PREFIX/v1/ and exactly of the layout. A key that
 * is not is reported (escaped) and counted; the others are pulled all the same. */
static bool key_valid(struct pull *p, const char *key)
{
    size_t bl = strlen(p->base);
    struct rt_errinfo ei;
    int rc = RT_ERR_STORE_KEY;
    rt_errinfo_clear(&ei);
    if (!strncmp(key, p->base, bl))
        rc = rt_store_key_check(key, bl - 3, &ei); /* the layout from "v1/" on */
    else
        rt_fail(&ei, rc, -1, "not under %s", p->base);
    if (rc == RT_OK)
        return true;
    char what[1400];
    snprintf(what, sizeof what, "s3://%s/%s", p->bucket, key);
    print_err(what, rc, &ei);
    p->rejected++;
    return false;
}

/* The folder of the bucket in the cache (created): cache/s3/BUCKET. */
static char *bucket_dir(const struct pull *p)
{
    char *s3dir = rt_path_join(p->cache, "s3");
    char *dir = s3dir ? rt_path_join(s3dir, p->bucket) : NULL;
    free(s3dir);
    return dir;
}

static char *local_path(const struct pull *p, const char *key)
{
    char *dir = bucket_dir(p);
    char *full = dir ? rt_path_join(dir, key) : NULL;
    free(dir);
    return full;
}

/* A regular file (not a link) of this size at key below the bucket folder. */
static bool have_file(const struct pull *p, const char *key, uint64_t size)
{
    const char *base = NULL;
    int fd = rt_open_parent_beneath(p->bucket_fd, key, false, &base);
    if (fd < 0)
        return false;
    struct stat sb;
    bool ok = fstatat(fd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
              (uint64_t)sb.st_size == size;
    close(fd);
    return ok;
}

static void fmt_bytes(uint64_t b, char *out, size_t cap)
{
    if (b >= 1024ull * 1024 * 1024)
        snprintf(out, cap, "%.1f GiB", (double)b / (1024.0 * 1024 * 1024));
    else if (b >= 1024 * 1024)
        snprintf(out, cap, "%.1f MiB", (double)b / (1024.0 * 1024));
    else if (b >= 1024)
        snprintf(out, cap, "%.1f KiB", (double)b / 1024.0);
    else
        snprintf(out, cap, "%" PRIu64 " B", b);
}

static void draw(struct pull *p, bool final)
{
    if (!p->tty)
        return;
    int64_t now = mono_ns();
    if (!final && now - p->last_draw < 100000000)
        return;
    p->last_draw = now;
    double secs = (double)(now - p->t0) / 1e9;
    double rate = secs > 0 ? (double)p->bytes_now / secs : 0;
    size_t total = p->to_fetch ? p->to_fetch : 1;
    int width = 24, fill = (int)((double)p->done * width / (double)total);
    char bar[32], bytes[32], r[32], eta[32] = "--";
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fmt_bytes(p->bytes_now, bytes, sizeof bytes);
    fmt_bytes((uint64_t)rate, r, sizeof r);
    if (p->done && p->done < total) {
        double left = secs / (double)p->done * (double)(total - p->done);
        snprintf(eta, sizeof eta, "%.0fs", left);
    }
    fprintf(stderr, "\r[%s] %zu/%zu bundles  %s  %s/s  ETA %s\033[K", bar, p->done, p->to_fetch,
            bytes, r, eta);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* A bundle indexed in the batch counts as new or present once a commit holds it: the batch's
 * own commits (every RT_CATALOG_BATCH_SPLIT events, and commit_batch's) and, where the batch
 * could not go on, each file's. */
static void settle(struct pull *p)
{
    uint64_t commits = rt_catalog_commits(p->cat);
    if (commits == p->commits_seen)
        return;
    p->commits_seen = commits;
    p->fetched += p->pending_new;
    p->skipped += p->pending_present;
    p->pending_new = p->pending_present = 0;
}

/* Commits what was indexed since the last commit: it counts as new or present only once
 * committed; a failed commit (a full disk, a catalog that cannot be written) is an error and
 * what it held since the last commit counts as failed. With again, a new batch is opened. */
static void commit_batch(struct pull *p, bool again)
{
    if (!p->cat)
        return;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    int rc = p->in_batch ? rt_catalog_end_batch(p->cat, &ei) : RT_OK;
    p->in_batch = false;
    if (rc == RT_OK) {
        p->commits_seen = rt_catalog_commits(p->cat);
        p->fetched += p->pending_new;
        p->skipped += p->pending_present;
    } else {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "%s/" RT_CATALOG_FILE, p->cache);
        if (p->tty)
            fputc('\n', stderr);
        print_err(what, rc, &ei);
        p->failed += p->pending_new + p->pending_present;
        if (!p->first_error)
            p->first_error = rc;
    }
    p->pending_new = p->pending_present = 0;
    p->since_commit = 0;
    if (again) /* if this fails, each file commits on its own */
        p->in_batch = rt_catalog_begin_batch(p->cat, NULL) == RT_OK;
}

static void index_one(struct pull *p, const char *path, const char *key, bool downloaded)
{
    struct rt_errinfo ei;
    int rc = rt_catalog_index_file(p->cat, path, key, &ei);
    if (rc == RT_OK) {
        if (downloaded)
            *(p->in_batch ? &p->pending_new : &p->fetched) += 1;
        else
            *(p->in_batch ? &p->pending_present : &p->skipped) += 1;
        settle(p);
        if (++p->since_commit >= 500)
            commit_batch(p, true);
        return;
    }
    char what[1200];
    snprintf(what, sizeof what, "s3://%s/%s", p->bucket, key);
    if (p->tty)
        fputc('\n', stderr);
    print_err(what, rc, &ei);
    if (rc == RT_ERR_CATALOG || rc == RT_ERR_CATALOG_BUSY) {
        p->failed++;
        commit_batch(p, true); /* the batch may be gone with the failure: settle it now */
    } else {
        p->corrupt++;
        rt_unlink_beneath(p->bucket_fd, key); /* never keep an unverifiable bundle */
    }
    if (!p->first_error)
        p->first_error = rc;
}

static void on_done(struct rt_s3_get_item *item, void *arg)
{
    struct pull *p = arg;
    p->done++;
    if (item->result == RT_OK) {
        index_one(p, p->paths[item - p->items], item->key, true);
    } else {
        char what[1200];
        snprintf(what, sizeof what, "s3://%s/%s", p->bucket, item->key);
        if (p->tty)
            fputc('\n', stderr);
        print_err(what, item->result, &item->info);
        p->failed++;
        if (!p->first_error)
            p->first_error = item->result;
    }
    draw(p, false);
}

static void on_progress(uint64_t bytes, void *arg)
{
    struct pull *p = arg;
    p->bytes_now = bytes;
    draw(p, false);
}

static int parse_args(struct pull *p, int argc, char **argv, bool *stop)
{
    const char *since = NULL, *until = NULL, *cache = NULL;
    struct rt_cli_parser op;
    rt_cli_opts_begin(&op, &pull_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&op)) != RT_CLI_OPTS_END;) {
        uint64_t n;
        struct rt_errinfo perr;
        switch (id) {
        case RT_CLI_OPTS_STOP: /* --help printed (0) or a usage error (2): stop either way */
            *stop = true;
            return op.status;
        case OPT_FUNCTION:
            if (strvec_add(&p->functions, op.value))
                return RT_EXIT_USAGE;
            break;
        case OPT_REQUEST_ID:
            if (strvec_add(&p->request_ids, op.value))
                return RT_EXIT_USAGE;
            break;
        case OPT_SINCE:
            since = op.value;
            break;
        case OPT_UNTIL:
            until = op.value;
            break;
        case OPT_JOBS:
            if (rt_parse_count(op.value, &n, &perr) != RT_OK || n < 1 || n > 256)
                return rt_cli_opts_bad_value(&op, "wants 1..256, not '%s'", op.value);
            p->jobs = (int)n;
            break;
        case OPT_CACHE:
            cache = op.value;
            break;
        case OPT_MAX_SIZE:
            if (rt_parse_size(op.value, &n, &perr) != RT_OK || n == 0 ||
                n > RT_BUNDLE_MAX_DECOMPRESSED)
                return rt_cli_opts_bad_value(&op, "wants 1..256m bytes, not '%s'", op.value);
            p->max_size = n;
            break;
        case OPT_DRY_RUN:
            p->dry_run = true;
            break;
        default:
            break;
        }
    }
    for (int i = op.first_operand; i < argc; i++) {
        if (p->url)
            return rt_cli_usage_error("pull", "one s3:// URL only ('%s')", argv[i]);
        p->url = argv[i];
    }
    if (!p->url)
        return rt_cli_usage_error("pull", "missing s3://BUCKET/PREFIX");
    if (strncmp(p->url, "s3://", 5))
        return rt_cli_usage_error("pull", "'%s' is not an s3:// URL", p->url);
    const char *b = p->url + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl < 3 || bl >= sizeof p->bucket)
        return rt_cli_usage_error("pull", "'%s': bad bucket name", p->url);
    memcpy(p->bucket, b, bl);
    p->bucket[bl] = '\0';
    const char *prefix = slash ? slash + 1 : "";
    size_t pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/')
        pl--;
    if (pl > 900)
        return rt_cli_usage_error("pull", "prefix too long");
    snprintf(p->base, sizeof p->base, "%.*s%sv1/", (int)pl, prefix, pl ? "/" : "");
    int64_t now = now_ns();
    p->until = INT64_MAX; /* no --until: everything, including clock-skewed keys */
    p->since = 0;
    if (since) {
        if (rt_parse_time(since, now, &p->since) != RT_OK)
            return rt_cli_usage_error("pull", "--since '%s': %s", since,
                                      rt_strerror(RT_ERR_TIME_FORMAT));
        p->has_since = true;
    }
    if (until && rt_parse_time(until, now, &p->until) != RT_OK)
        return rt_cli_usage_error("pull", "--until '%s': %s", until,
                                  rt_strerror(RT_ERR_TIME_FORMAT));
    if (p->since > p->until)
        return rt_cli_usage_error("pull", "--since is after --until");
    if (rt_catalog_dir(cache, p->cache, sizeof p->cache) != RT_OK)
        return rt_cli_usage_error("pull", "no cache folder: use --cache or set RUNTRAIL_CACHE");
    return RT_EXIT_OK;
}

RT_COMMAND(pull, "download bundles from S3, verify them and index them")
{
    struct pull p = {.jobs = 8, .max_size = RT_BUNDLE_MAX_DECOMPRESSED, .bucket_fd = -1};
    bool stop = false;
    int ex = parse_args(&p, argc, argv, &stop);
    if (ex != RT_EXIT_OK || stop)
        goto out;
    struct rt_errinfo ei;
    int rc = rt_s3_open(p.bucket, NULL, &p.s3, &ei);
    if (rc != RT_OK) {
        print_err(p.url, rc, &ei);
        ex = RT_EXIT_USAGE;
        goto out;
    }
    /* 1. which functions */
    struct strvec fn_prefixes = {0};
    if (p.functions.n) {
        for (size_t i = 0; i < p.functions.n; i++) {
            /* the partition name is the function name as the store sanitised it */
            struct rt_meta m = {.function = p.functions.v[i], .request_id = (char *)"x"};
            char key[512], pre[1200];
            rt_store_key(&m, key, sizeof key);
            char *fn_end = strstr(key, "/dt=");
            int fn_len = fn_end ? (int)(fn_end - key) - 3 : 0; /* after "v1/" */
            snprintf(pre, sizeof pre, "%s%.*s/", p.base, fn_len, key + 3);
            strvec_add(&fn_prefixes, pre);
        }
    } else if (list_children(&p, p.base, &fn_prefixes) != RT_OK) {
        ex = RT_EXIT_USAGE;
        strvec_free(&fn_prefixes);
        goto out;
    }
    /* 2. list the partitions in range */
    for (size_t i = 0; i < fn_prefixes.n; i++) {
        if (list_function(&p, fn_prefixes.v[i]) != RT_OK) {
            ex = RT_EXIT_USAGE;
            break;
        }
    }
    strvec_free(&fn_prefixes);
    if (ex != RT_EXIT_OK)
        goto out;
    /* 3. what to fetch */
    if (!p.dry_run) {
        rc = rt_catalog_open(p.cache, &p.cat, &ei);
        if (rc != RT_OK) {
            print_err(p.cache, rc, &ei);
            ex = RT_EXIT_USAGE;
            goto out;
        }
        char *dir = bucket_dir(&p);
        if (!dir || rt_mkdir_p(dir) != 0 ||
            (p.bucket_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            rt_cli_error("%s: %s", dir ? dir : p.cache, strerror(errno));
            free(dir);
            ex = RT_EXIT_USAGE;
            goto out;
        }
        free(dir);
    }
    struct rt_s3_get_item *items = calloc(p.n_objects ? p.n_objects : 1, sizeof *items);
    char **paths = calloc(p.n_objects ? p.n_objects : 1, sizeof *paths);
    size_t n_items = 0, listed = 0;
    uint64_t bytes_wanted = 0;
    p.tty = isatty(STDERR_FILENO) == 1 && !p.dry_run;
    p.t0 = mono_ns();
    if (p.cat) {
        p.in_batch = rt_catalog_begin_batch(p.cat, NULL) == RT_OK;
        p.commits_seen = rt_catalog_commits(p.cat);
    }
    p.items = items;
    p.paths = paths;
    for (size_t i = 0; items && paths && i < p.n_objects; i++) {
        const char *key = p.objects[i].key;
        if (!key_valid(&p, key) || !key_wanted(&p, key))
            continue;
        listed++;
        if (p.objects[i].size > p.max_size) {
            char what[1400];
            struct rt_errinfo si;
            rt_errinfo_clear(&si);
            snprintf(what, sizeof what, "s3://%s/%s", p.bucket, key);
            rt_fail(&si, RT_ERR_S3_TOO_LARGE, -1,
                    "listed at %" PRIu64 " bytes, over the %" PRIu64 "-byte limit (--max-size); "
                    "not downloaded",
                    p.objects[i].size, p.max_size);
            print_err(what, RT_ERR_S3_TOO_LARGE, &si);
            p.failed++;
            continue;
        }
        if (p.dry_run) {
            char esc[1200];
            rt_escape_buf(esc, sizeof esc, key, strlen(key), 0);
            printf("s3://%s/%s\t%" PRIu64 "\n", p.bucket, esc, p.objects[i].size);
            bytes_wanted += p.objects[i].size;
            continue;
        }
        if (rt_catalog_find_key(p.cat, key, NULL, 0) == RT_OK) {
            p.skipped++;
            continue;
        }
        char *path = local_path(&p, key);
        if (!path)
            continue;
        if (have_file(&p, key, p.objects[i].size)) {
            /* downloaded by an interrupted pull, not yet indexed */
            struct rt_errinfo vi;
            if (rt_catalog_index_file(p.cat, path, key, &vi) == RT_OK) {
                *(p.in_batch ? &p.pending_present : &p.skipped) += 1;
                settle(&p);
                free(path);
                continue;
            }
            rt_unlink_beneath(p.bucket_fd, key);
        }
        paths[n_items] = path;
        items[n_items].key = key;
        items[n_items].path = key; /* below bucket_fd, through rt_open_parent_beneath */
        items[n_items].dir_fd = p.bucket_fd;
        items[n_items].max_bytes = p.max_size;
        items[n_items].size_hint = p.objects[i].size;
        bytes_wanted += p.objects[i].size;
        n_items++;
    }
    if (p.dry_run) {
        char b[32];
        fmt_bytes(bytes_wanted, b, sizeof b);
        printf("dry run: %zu bundles (%s) in range under s3://%s/%s\n", listed, b, p.bucket,
               p.base);
        if (p.rejected)
            ex = RT_EXIT_USAGE;
    } else {
        p.to_fetch = n_items;
        p.bytes_total = bytes_wanted;
        if (n_items)
            rt_s3_get_many(p.s3, items, n_items, p.jobs, on_done, on_progress, &p);
        commit_batch(&p, false);
        draw(&p, true);
        double secs = (double)(mono_ns() - p.t0) / 1e9;
        char b[32];
        fmt_bytes(p.bytes_now, b, sizeof b);
        printf("pulled %zu bundles (%s) in %.1fs: %zu new, %zu already present, %zu corrupt, "
               "%zu failed, %zu bad keys skipped; catalog %s/" RT_CATALOG_FILE "\n",
               listed, b, secs, p.fetched, p.skipped, p.corrupt, p.failed, p.rejected, p.cache);
        if (p.corrupt || p.failed || p.rejected)
            ex = RT_EXIT_USAGE;
    }
    for (size_t i = 0; i < n_items; i++)
        free(paths[i]);
    free(paths);
    free(items);
out:
    if (p.bucket_fd >= 0)
        close(p.bucket_fd);
    rt_catalog_close(p.cat);
    rt_s3_close(p.s3);
    for (size_t i = 0; i < p.n_objects; i++)
        free(p.objects[i].key);
    free(p.objects);
    strvec_free(&p.functions);
    strvec_free(&p.request_ids);
    return ex;
}
