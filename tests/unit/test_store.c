/* Unit tests for store/store.c and store/util.c: the partitioned key layout and its
 * sanitising, store URLs, atomic writes into a folder store, and the recorder's spool (bundles
 * kept while the store is down, delivered oldest first by flush, oldest evicted and counted
 * past the cap, kept through a function emptying /tmp; S3 not tried again for a while after a
 * failure; a put interrupted at SHUTDOWN). */
#include "formats/toolbox.h"
#include "store/store.h"
#include "store/util.h"
#include "tests/unit/tmpdir.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

RT_TMPDIR_SUITE(store);

static struct rt_meta meta_for(const char *fn, const char *rid, int64_t start_ns)
{
    struct rt_meta m;
    memset(&m, 0, sizeof m);
    m.function = (char *)fn;
    m.request_id = (char *)rid;
    m.start_wall_ns = start_ns;
    return m;
}

Test(store, key_layout)
{
    char key[512];
    /* 2026-11-26T10:41:51.5Z */
    struct rt_meta m = meta_for("orders-api", "c0ffee-1234", 1795689711500000000LL);
    cr_assert_eq(rt_store_key(&m, key, sizeof key), RT_OK);
    cr_assert_str_eq(key, "v1/fn=orders-api/dt=2026-11-26/hr=10/"
                          "1795689711500000000-c0ffee-1234.rtb");
}

Test(store, key_sanitises_names)
{
    char key[512];
    struct rt_meta m = meta_for("../../etc", "a/b c\n\xc3\xa9", 0);
    cr_assert_eq(rt_store_key(&m, key, sizeof key), RT_OK);
    cr_assert_str_eq(key, "v1/fn=_._.._etc/dt=1970-01-01/hr=00/0000000000000000000-a_b_c___.rtb");
    cr_assert_null(strstr(key, "/../"));
    m = meta_for(NULL, "", -5);
    cr_assert_eq(rt_store_key(&m, key, sizeof key), RT_OK);
    cr_assert_str_eq(key,
                     "v1/fn=unknown/dt=1970-01-01/hr=00/0000000000000000000-no-request-id.rtb");
    cr_assert_eq(rt_store_key(&m, key, 10), RT_ERR_INVALID_ARG);
}

Test(store, key_sorts_by_time_within_partition)
{
    char a[512], b[512];
    struct rt_meta m1 = meta_for("f", "zzz", 1795689711000000000LL);
    struct rt_meta m2 = meta_for("f", "aaa", 1795689712000000000LL);
    rt_store_key(&m1, a, sizeof a);
    rt_store_key(&m2, b, sizeof b);
    cr_assert_lt(strcmp(a, b), 0);
}

Test(store, bad_urls)
{
    struct rt_store *st;
    struct rt_errinfo ei;
    cr_assert_eq(rt_store_open("http://x/y", NULL, &st, &ei), RT_ERR_STORE_URL);
    cr_assert_eq(rt_store_open("s3://", NULL, &st, &ei), RT_ERR_STORE_URL);
    cr_assert_eq(rt_store_open("s3://Bad_Bucket/p", NULL, &st, &ei), RT_ERR_STORE_URL);
    cr_assert_eq(rt_store_open("file://relative", NULL, &st, &ei), RT_ERR_STORE_URL);
    cr_assert_eq(rt_store_open("", NULL, &st, &ei), RT_ERR_STORE_URL);
}

static int read_all(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (int)n;
}

/* A put into a folder store lands whole under its key, no temporary file beside it. */
static void folder_put(const struct rt_store_options *o)
{
    char url[300], where[600], expect[600], buf[64];
    snprintf(url, sizeof url, "file://%s/data/", tmpdir);
    struct rt_store *st;
    struct rt_errinfo ei;
    cr_assert_eq(rt_store_open(url, o, &st, &ei), RT_OK);
    struct rt_meta m = meta_for("fn", "r1", 1795689711500000000LL);
    cr_assert_eq(rt_store_put_bundle(st, &m, (const uint8_t *)"hello", 5, where, sizeof where, &ei),
                 RT_OK);
    snprintf(expect, sizeof expect,
             "%s/data/v1/fn=fn/dt=2026-11-26/hr=10/1795689711500000000-r1.rtb", tmpdir);
    cr_assert_str_eq(where, expect);
    cr_assert_eq(read_all(expect, buf, sizeof buf), 5);
    cr_assert_eq(memcmp(buf, "hello", 5), 0);
    /* no temporary files left beside it */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/data/v1/fn=fn/dt=2026-11-26/hr=10", tmpdir);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' || strstr(de->d_name, ".tmp"))
            n++;
    closedir(d);
    cr_assert_eq(n, 1);
    rt_store_close(st);
}

Test(store, folder_put_writes_under_key)
{
    folder_put(NULL);
}

/* The extension's store skips fsync (a sandbox's /tmp does not outlive it): same result. */
Test(store, folder_put_without_fsync_writes_under_key)
{
    struct rt_store_options o = {.no_sync = true};
    folder_put(&o);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* A folder store whose parent folder is a file, so that every put fails, with a spool; root,
 * spool and blocker (300 bytes each) get the paths. Removing blocker brings the store back. */
static struct rt_store *down_store(struct rt_store_options *o, char *root, char *spool,
                                   char *blocker)
{
    snprintf(blocker, 300, "%s/down", tmpdir);
    snprintf(root, 300, "%s/down/store", tmpdir);
    snprintf(spool, 300, "%s/spool", tmpdir);
    FILE *f = fopen(blocker, "w");
    cr_assert_not_null(f);
    fclose(f);
    o->spool_dir = spool;
    struct rt_store *st;
    struct rt_errinfo ei;
    cr_assert_eq(rt_store_open(root, o, &st, &ei), RT_OK);
    return st;
}

/* Puts bundles r<from> .. r<to-1> (their bytes: data, len; or the id when data is NULL), each
 * one spooled. */
static void put_spooled_range(struct rt_store *st, int from, int to, const uint8_t *data,
                              size_t len)
{
    for (int i = from; i < to; i++) {
        char rid[16];
        snprintf(rid, sizeof rid, "r%d", i);
        struct rt_meta m = meta_for("fn", rid, 1795689711000000000LL + i);
        struct rt_errinfo ei;
        cr_assert_eq(rt_store_put_bundle(st, &m, data ? data : (const uint8_t *)rid,
                                         data ? len : strlen(rid), NULL, 0, &ei),
                     RT_ERR_STORE_SPOOLED);
    }
}

static void put_spooled(struct rt_store *st, int n, const uint8_t *data, size_t len)
{
    put_spooled_range(st, 0, n, data, len);
}

Test(store, spool_keeps_bundles_while_down_and_flush_delivers)
{
    char root[300], spool[300], blocker[300];
    struct rt_store_options o = {0};
    struct rt_store *st = down_store(&o, root, spool, blocker);
    struct rt_errinfo ei;
    put_spooled(st, 4, NULL, 0);
    cr_assert_eq(count_files(spool), 4);
    cr_assert_lt(rt_store_flush_spool(st, &ei), 0); /* still down */
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_STORE_FAILURES], 5);
    cr_assert_eq(c[RT_CTR_SPOOLED], 4);
    cr_assert_eq(c[RT_CTR_SPOOL_DROPPED], 0);

    cr_assert_eq(unlink(blocker), 0); /* the store comes back */
    cr_assert_eq(rt_store_flush_spool(st, &ei), 4);
    cr_assert_eq(count_files(spool), 0);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/v1/fn=fn/dt=2026-11-26/hr=10", root);
    cr_assert_eq(count_files(dir), 4);
    memset(c, 0, sizeof c);
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_STORE_FAILURES], 0);
    cr_assert_eq(c[RT_CTR_SPOOLED], 0);
    rt_store_close(st);
}

Test(store, spool_cap_evicts_oldest_and_counts)
{
    char root[300], spool[300], blocker[300];
    struct rt_store_options o = {.spool_max = 2500};
    struct rt_store *st = down_store(&o, root, spool, blocker);
    struct rt_errinfo ei;
    static uint8_t data[1000];
    put_spooled(st, 5, data, sizeof data);
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_SPOOL_DROPPED], 3);
    cr_assert_eq(c[RT_CTR_SPOOLED], 2);
    cr_assert_eq(unlink(blocker), 0);
    cr_assert_eq(rt_store_flush_spool(st, &ei), 2);
    char p[600];
    /* the newest two survived */
    snprintf(p, sizeof p, "%s/v1/fn=fn/dt=2026-11-26/hr=10/1795689711000000003-r3.rtb", root);
    cr_assert_eq(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/v1/fn=fn/dt=2026-11-26/hr=10/1795689711000000004-r4.rtb", root);
    cr_assert_eq(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/v1/fn=fn/dt=2026-11-26/hr=10/1795689711000000000-r0.rtb", root);
    cr_assert_neq(access(p, F_OK), 0);
    rt_store_close(st);
}

/* Empties the spool as a function clearing /tmp would: every file, and the folder with them
 * when whole is set. */
static void empty_spool(const char *spool, bool whole)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, whole ? "rm -rf '%s'" : "rm -f '%s'/*", spool);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(count_files(spool), 0);
}

/* Whether bundle rid (put by put_spooled, its id as its bytes) was delivered to root whole. */
static bool delivered(const char *root, int i)
{
    char p[600], rid[16];
    snprintf(rid, sizeof rid, "r%d", i);
    snprintf(p, sizeof p, "%s/v1/fn=fn/dt=2026-11-26/hr=10/%019lld-%s.rtb", root,
             1795689711000000000LL + i, rid);
    uint8_t *data;
    size_t len;
    if (rt_read_file(p, &data, &len, 0) != RT_OK)
        return false;
    bool same = len == strlen(rid) && memcmp(data, rid, len) == 0;
    free(data);
    return same;
}

/* A function that empties /tmp while the store is down (common advice on Lambda: clear /tmp
 * at every invocation) deletes the spool's names, not its bundles: they are counted, and
 * delivered whole once the store is back. */
Test(store, spool_survives_the_function_emptying_tmp)
{
    char root[300], spool[300], blocker[300];
    struct rt_store_options o = {0};
    struct rt_store *st = down_store(&o, root, spool, blocker);
    struct rt_errinfo ei;
    put_spooled(st, 3, NULL, 0);
    empty_spool(spool, true);
    put_spooled_range(st, 3, 4, NULL, 0); /* recreates the folder */
    cr_assert_eq(count_files(spool), 1);
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_SPOOLED], 4);
    cr_assert_eq(c[RT_CTR_SPOOL_DROPPED], 0);
    cr_assert_lt(rt_store_flush_spool(st, &ei), 0); /* still down: all kept */
    empty_spool(spool, false);

    cr_assert_eq(unlink(blocker), 0);
    cr_assert_eq(rt_store_flush_spool(st, &ei), 4);
    for (int i = 0; i < 4; i++)
        cr_assert(delivered(root, i), "r%d not delivered whole", i);
    memset(c, 0, sizeof c);
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_SPOOLED], 0);
    rt_store_close(st);
}

static int open_fds(void)
{
    return count_files("/proc/self/fd");
}

/* The store holds at most a quarter of the descriptor limit open (here 64 / 4): past it the
 * oldest is let go, and written back first if it had been deleted. */
Test(store, spool_holds_a_quarter_of_the_descriptor_limit)
{
    struct rlimit rl = {.rlim_cur = 64, .rlim_max = 64};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    char root[300], spool[300], blocker[300];
    struct rt_store_options o = {0};
    struct rt_store *st = down_store(&o, root, spool, blocker);
    struct rt_errinfo ei;
    int fds = open_fds();
    put_spooled(st, 16, NULL, 0);
    cr_assert_eq(open_fds(), fds + 16);
    empty_spool(spool, false);
    put_spooled_range(st, 16, 18, NULL, 0); /* r0 and r1 are let go: written back */
    cr_assert_eq(open_fds(), fds + 16);
    cr_assert_eq(count_files(spool), 4); /* r0, r1 back; r16, r17 */
    empty_spool(spool, false);           /* r0 and r1 were no longer held: gone now */
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_SPOOLED], 16);
    cr_assert_eq(unlink(blocker), 0);
    cr_assert_eq(rt_store_flush_spool(st, &ei), 16);
    cr_assert_not(delivered(root, 0));
    cr_assert_not(delivered(root, 1));
    for (int i = 2; i < 18; i++)
        cr_assert(delivered(root, i), "r%d not delivered whole", i);
    cr_assert_eq(open_fds(), fds);
    rt_store_close(st);
}

/* The spool file of bundle i (put by put_spooled), into path (600 bytes). */
static void spool_file_of(const char *spool, int i, char *path)
{
    char tail[32];
    snprintf(tail, sizeof tail, "-r%d.rtb", i);
    DIR *d = opendir(spool);
    cr_assert_not_null(d);
    struct dirent *de;
    path[0] = '\0';
    while ((de = readdir(d)))
        if (strlen(de->d_name) > strlen(tail) &&
            strcmp(de->d_name + strlen(de->d_name) - strlen(tail), tail) == 0)
            snprintf(path, 600, "%s/%s", spool, de->d_name);
    closedir(d);
    cr_assert(path[0], "no spool file for r%d", i);
}

/* Closing the store writes back what was deleted from the spool, or replaced there under the
 * same name: a later store delivers the bundles as they were put. */
Test(store, spool_close_writes_back_deleted_bundles)
{
    char root[300], spool[300], blocker[300], p[600];
    struct rt_store_options o = {0};
    struct rt_store *st = down_store(&o, root, spool, blocker);
    struct rt_errinfo ei;
    put_spooled(st, 3, NULL, 0);
    spool_file_of(spool, 2, p);
    cr_assert_eq(rt_write_file(p, "forged", 6, false, &ei), RT_OK); /* a new file, renamed over */
    spool_file_of(spool, 0, p);
    cr_assert_eq(unlink(p), 0);
    spool_file_of(spool, 1, p);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(count_files(spool), 1);
    rt_store_close(st);
    cr_assert_eq(count_files(spool), 3);
    cr_assert_eq(unlink(blocker), 0);
    cr_assert_eq(rt_store_open(root, &o, &st, &ei), RT_OK);
    cr_assert_eq(rt_store_flush_spool(st, &ei), 3);
    for (int i = 0; i < 3; i++)
        cr_assert(delivered(root, i), "r%d not delivered as it was put", i);
    rt_store_close(st);
}

/* Files in the spool folder that this store would not have written (a name that is no spooled
 * bundle key, planted by the function or anyone sharing /tmp) are neither counted nor
 * delivered: "..+..+x.rtb" used to be put at ../../x.rtb, outside a folder store. */
Test(store, spool_ignores_names_that_are_no_bundle_key)
{
    char root[300], spool[300], blocker[300], p[600];
    struct rt_store_options o = {0};
    struct rt_store *st = down_store(&o, root, spool, blocker);
    struct rt_errinfo ei;
    put_spooled(st, 1, NULL, 0);
    static const char *planted[] = {
        "00000000000000000000-000000-..+..+outside.rtb",
        "00000000000000000000-000000-v1+fn=fn+dt=2026-11-26+hr=10+..+..+..+..+outside.rtb",
        "00000000000000000000-000000-v1+fn=..+dt=2026-11-26+hr=10+1795689711000000009-x.rtb",
        "short.rtb",
    };
    for (size_t i = 0; i < sizeof planted / sizeof *planted; i++) {
        snprintf(p, sizeof p, "%s/%s", spool, planted[i]);
        cr_assert_eq(rt_write_file(p, "forged", 6, false, &ei), RT_OK);
    }
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_SPOOLED], 1);
    cr_assert_eq(unlink(blocker), 0);
    cr_assert_eq(rt_store_flush_spool(st, &ei), 1);
    cr_assert(delivered(root, 0));
    snprintf(p, sizeof p, "%s/outside.rtb", tmpdir);
    cr_assert_neq(access(p, F_OK), 0, "a planted spool name wrote outside the store");
    snprintf(p, sizeof p, "%s/v1/fn=fn/outside.rtb", tmpdir);
    cr_assert_neq(access(p, F_OK), 0, "a planted spool name wrote outside the store");
    cr_assert_eq(count_files(spool), 4); /* left where they are: not this store's to delete */
    rt_store_close(st);
}

Test(store, default_url)
{
    unsetenv("RUNTRAIL_STORE");
    cr_assert_str_eq(rt_store_default_url(), "./runtrail-data");
    setenv("RUNTRAIL_STORE", "s3://b/p", 1);
    cr_assert_str_eq(rt_store_default_url(), "s3://b/p");
    unsetenv("RUNTRAIL_STORE");
}

Test(store, path_join)
{
    char *p = rt_path_join("/a/", "/b");
    cr_assert_str_eq(p, "/a/b");
    free(p);
    p = rt_path_join("", "k/x");
    cr_assert_str_eq(p, "k/x");
    free(p);
    p = rt_path_join("pre", "k");
    cr_assert_str_eq(p, "pre/k");
    free(p);
}

Test(store, key_check_accepts_what_key_writes)
{
    struct rt_errinfo ei;
    const char *names[][2] = {{"orders-api", "c0ffee-1234"},
                              {"my fn/../x", "../../etc/passwd"},
                              {"", ""},
                              {"..", ".."},
                              {"a\x1b[2J", "r\nid"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char key[512];
        struct rt_meta m = meta_for(names[i][0], names[i][1], 1795689711500000000LL + (int64_t)i);
        cr_assert_eq(rt_store_key(&m, key, sizeof key), RT_OK);
        cr_assert_eq(rt_store_key_check(key, 0, &ei), RT_OK, "%s: %s", key, ei.detail);
    }
}

Test(store, key_check_rejects_hostile_keys)
{
    struct rt_errinfo ei;
    const char *ok = "v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a.rtb";
    cr_assert_eq(rt_store_key_check(ok, 0, &ei), RT_OK, "%s", ei.detail);
    /* with a prefix: the layout starts after it, offsets count from the key's start */
    const char *pk = "my/pre/v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a\x1b.rtb";
    cr_assert_eq(rt_store_key_check(pk, 7, &ei), RT_ERR_STORE_KEY);
    cr_assert_str_eq(ei.detail, "control character 0x1b at offset 59");
    cr_assert_eq(rt_store_key_check(pk + 3, 4, &ei), RT_ERR_STORE_KEY);
    cr_assert_str_eq(ei.detail, "control character 0x1b at offset 56");
    const struct {
        const char *key, *why;
    } bad[] = {
        {"v1/fn=evil/dt=2026-11-26/hr=10/../../../../tmp/x/1795689711000000000-a.rtb",
         "<start-ns>"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/x/../1795689711000000000-a.rtb", "<start-ns>"},
        {"v1/fn=../dt=2026-11-26/hr=10/1795689711000000000-a.rtb", "function name"},
        {"v1/fn=./dt=2026-11-26/hr=10/1795689711000000000-a.rtb", "function name"},
        {"v1/fn=.hidden/dt=2026-11-26/hr=10/1795689711000000000-a.rtb", "function name"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-..rtb", "<start-ns>"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a.rtb/", "<start-ns>"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a/b.rtb", "<start-ns>"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-.rtb", "<start-ns>"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/179568971100000000-a.rtb", "<start-ns>"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a.rtb.part", "<start-ns>"},
        {"v1/fn=evil/dt=2026-13-26/hr=10/1795689711000000000-a.rtb", "dt=YYYY-MM-DD"},
        {"v1/fn=evil/dt=2026-11-26/hr=24/1795689711000000000-a.rtb", "hr=HH"},
        {"v1/fn=evil//dt=2026-11-26/hr=10/1795689711000000000-a.rtb", "function name"},
        {"/v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a.rtb", "v1/fn="},
        {"v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a\x1b.rtb", "control character 0x1b"},
        {"v1/fn=e\xef\xbf\xbdl/dt=2026-11-26/hr=10/1795689711000000000-a.rtb",
         "non-ASCII byte 0xef"},
        {"v1/fn=evil/dt=2026-11-26/hr=10/1795689711000000000-a%2F.rtb", "<start-ns>"},
        {"", "v1/fn="},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rt_store_key_check(bad[i].key, 0, &ei), RT_ERR_STORE_KEY, "%zu", i);
        cr_assert(!strncmp(ei.detail, bad[i].why, strlen(bad[i].why)), "%zu: %s", i, ei.detail);
        cr_assert_eq(rt_store_key_check(bad[i].key, 0, NULL), RT_ERR_STORE_KEY);
        for (const char *d = ei.detail; *d; d++) /* the reason never carries the key's bytes */
            cr_assert((unsigned char)*d >= 0x20 && (unsigned char)*d < 0x7f, "%zu: %s", i,
                      ei.detail);
    }
}

Test(store, open_parent_beneath_stays_inside)
{
    char inside[300], outside[300], cmd[700];
    snprintf(inside, sizeof inside, "%s/cache", tmpdir);
    snprintf(outside, sizeof outside, "%s/outside", tmpdir);
    cr_assert_eq(mkdir(inside, 0755), 0);
    cr_assert_eq(mkdir(outside, 0755), 0);
    int dfd = open(inside, O_RDONLY | O_DIRECTORY);
    cr_assert_geq(dfd, 0);
    const char *base = NULL;
    int fd = rt_open_parent_beneath(dfd, "a/b/c.rtb", true, &base);
    cr_assert_geq(fd, 0);
    cr_assert_str_eq(base, "c.rtb");
    close(fd);
    struct stat sb;
    snprintf(cmd, sizeof cmd, "%s/a/b", inside);
    cr_assert_eq(stat(cmd, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    const char *refused[] = {"../x/y.rtb", "a/../../x.rtb", "a/./b/x.rtb",
                             "/etc/x",     "a//b.rtb",      ""};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        errno = 0;
        cr_assert_eq(rt_open_parent_beneath(dfd, refused[i], true, &base), -1, "%s", refused[i]);
        cr_assert_eq(errno, EINVAL, "%s", refused[i]);
    }
    /* a link planted where a folder should be is not followed, and nothing is made outside */
    cr_assert_eq(symlinkat(outside, dfd, "link"), 0);
    cr_assert_eq(rt_open_parent_beneath(dfd, "link/sub/x.rtb", true, &base), -1);
    cr_assert(errno == ELOOP || errno == ENOTDIR, "errno %d", errno);
    snprintf(cmd, sizeof cmd, "%s/sub", outside);
    cr_assert_neq(stat(cmd, &sb), 0, "a folder was created outside the cache");
    /* unlink below the folder only; a planted file outside survives */
    snprintf(cmd, sizeof cmd, "%s/keep", outside);
    FILE *f = fopen(cmd, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(rt_unlink_beneath(dfd, "link/keep"), -1);
    cr_assert_eq(rt_unlink_beneath(dfd, "../outside/keep"), -1);
    cr_assert_eq(stat(cmd, &sb), 0, "the file outside was removed");
    close(dfd);
}

/* rt_write_file opens the file first and creates its folders only when that fails: missing
 * folders are made, an existing one is written into, a file where a folder should be is an
 * error that names the path, and no temporary file is left behind. */
Test(store, write_file_makes_folders_when_missing)
{
    char p[600], q[600], bad[600], blocker[600];
    snprintf(p, sizeof p, "%s/a/b/c/one", tmpdir);
    snprintf(q, sizeof q, "%s/a/b/c/two", tmpdir);
    cr_assert_eq(rt_write_file(p, "1", 1, false, NULL), RT_OK);
    cr_assert_eq(rt_write_file(q, "22", 2, false, NULL), RT_OK);
    struct stat sb;
    cr_assert_eq(stat(q, &sb), 0);
    cr_assert_eq(sb.st_size, 2);
    snprintf(blocker, sizeof blocker, "%s/a/file", tmpdir);
    cr_assert_eq(rt_write_file(blocker, "x", 1, false, NULL), RT_OK);
    snprintf(bad, sizeof bad, "%s/a/file/below", tmpdir);
    struct rt_errinfo ei;
    cr_assert_eq(rt_write_file(bad, "x", 1, false, &ei), RT_ERR_STORE_IO);
    cr_assert(strstr(ei.detail, "/a/file") && strstr(ei.detail, "Not a directory"), "%s",
              ei.detail);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/a/b/c", tmpdir);
    cr_assert_eq(count_files(dir), 2, "the two files, no temporary one");
}

/* An S3 store at a loopback port nothing listens on, with a spool (the recorder's store). */
/* hung: a listening socket that is never accepted from (connections complete, requests get
 * no answer; *hung_fd keeps it open), else a port nothing listens on (refused). */
static struct rt_store *s3_store_at(const char *spool, int *hung_fd)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    if (hung_fd) {
        cr_assert_eq(listen(s, 16), 0);
        *hung_fd = s;
    } else {
        close(s); /* bound, never listened on: connections to it are refused */
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL", url, 1);
    setenv("AWS_ACCESS_KEY_ID", "K", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    struct rt_store_options o = {.spool_dir = spool, .timeout_ms = 2000};
    struct rt_store *st;
    struct rt_errinfo ei;
    cr_assert_eq(rt_store_open("s3://bkt/p", &o, &st, &ei), RT_OK, "%s", ei.detail);
    return st;
}

static struct rt_store *dead_s3_store(const char *spool)
{
    return s3_store_at(spool, NULL);
}

static double now_ms(void)
{
    return (double)rt_clock_mono_ns() / 1e6;
}

/* After a put fails, the next ones spool without trying S3 (no retries to wait out), and say
 * why; a flush still tries. */
Test(store, s3_down_later_puts_spool_at_once)
{
    char spool[300];
    snprintf(spool, sizeof spool, "%s/spool", tmpdir);
    struct rt_store *st = dead_s3_store(spool);
    struct rt_errinfo ei;
    struct rt_meta m = meta_for("fn", "r0", 1795689711000000000LL);
    cr_assert_eq(rt_store_put_bundle(st, &m, (const uint8_t *)"r0", 2, NULL, 0, &ei),
                 RT_ERR_STORE_SPOOLED);
    double t0 = now_ms();
    m = meta_for("fn", "r1", 1795689711000000001LL);
    cr_assert_eq(rt_store_put_bundle(st, &m, (const uint8_t *)"r1", 2, NULL, 0, &ei),
                 RT_ERR_STORE_SPOOLED);
    double took = now_ms() - t0;
    cr_assert_lt(took, 50.0, "the second put took %.1f ms: it waited on S3", took);
    cr_assert(strstr(ei.detail, "not tried again yet"), "%s", ei.detail);
    cr_assert_eq(count_files(spool), 2);
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_STORE_FAILURES], 2);
    cr_assert_eq(c[RT_CTR_SPOOLED], 2);
    cr_assert_lt(rt_store_flush_spool(st, &ei), 0);
    cr_assert(strstr(ei.detail, "127.0.0.1") || strstr(ei.detail, "s3://bkt"), "flush tried: %s",
              ei.detail);
    rt_store_close(st);
}

/* Interrupted (SHUTDOWN): a put spools at once and is no store failure. */
Test(store, s3_interrupted_put_spools_at_once)
{
    char spool[300];
    snprintf(spool, sizeof spool, "%s/spool", tmpdir);
    struct rt_store *st = dead_s3_store(spool);
    rt_store_interrupt(st, true);
    struct rt_errinfo ei;
    struct rt_meta m = meta_for("fn", "r0", 1795689711000000000LL);
    double t0 = now_ms();
    cr_assert_eq(rt_store_put_bundle(st, &m, (const uint8_t *)"r0", 2, NULL, 0, &ei),
                 RT_ERR_STORE_SPOOLED);
    double took = now_ms() - t0;
    cr_assert_lt(took, 50.0, "the interrupted put took %.1f ms", took);
    cr_assert(strstr(ei.detail, "interrupted"), "%s", ei.detail);
    uint64_t c[RT_CTR__COUNT] = {0};
    rt_store_take_counters(st, c);
    cr_assert_eq(c[RT_CTR_STORE_FAILURES], 0);
    cr_assert_eq(c[RT_CTR_SPOOLED], 1);
    rt_store_close(st);
}

/* A flush with a time budget delivers oldest first, says whether bundles are left, and the
 * calls after it deliver the rest. */
Test(store, flush_in_slices_delivers_everything)
{
    char root[300], spool[300], blocker[300];
    struct rt_store_options o = {0};
    struct rt_store *st = down_store(&o, root, spool, blocker);
    struct rt_errinfo ei;
    enum { N = 60 };
    put_spooled(st, N, NULL, 0);
    cr_assert_eq(unlink(blocker), 0);
    int total = 0, calls = 0;
    bool more = true;
    while (more && calls < N + 1) {
        int n = rt_store_flush_spool_for(st, 1, &more, &ei);
        cr_assert_geq(n, 1, "each call delivers at least one bundle");
        total += n;
        calls++;
        cr_assert_eq(count_files(spool), N - total);
        cr_assert_eq(more, total < N);
    }
    cr_assert_eq(total, N);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/v1/fn=fn/dt=2026-11-26/hr=10", root);
    cr_assert_eq(count_files(dir), N);
    rt_store_close(st);
}

struct put_arg {
    struct rt_store *st;
    int rc;
    double done_ms;
};

static void *put_one(void *arg)
{
    struct put_arg *p = arg;
    struct rt_meta m = meta_for("fn", "r0", 1795689711000000000LL);
    struct rt_errinfo ei;
    p->rc = rt_store_put_bundle(p->st, &m, (const uint8_t *)"r0", 2, NULL, 0, &ei);
    p->done_ms = now_ms();
    return NULL;
}

/* A put waiting on an S3 that never answers ends as soon as another thread interrupts it
 * (its socket is shut down), not at curl's next progress call, up to a second later. */
Test(store, s3_interrupt_ends_a_stalled_put_at_once)
{
    char spool[300];
    snprintf(spool, sizeof spool, "%s/spool", tmpdir);
    int hung = -1;
    struct rt_store *st = s3_store_at(spool, &hung);
    struct put_arg p = {.st = st};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, put_one, &p), 0);
    usleep(300 * 1000); /* the request is sent and waits for an answer (attempts: 1 s each) */
    double t0 = now_ms();
    rt_store_interrupt(st, true);
    pthread_join(t, NULL);
    double took = p.done_ms - t0;
    cr_assert_eq(p.rc, RT_ERR_STORE_SPOOLED);
    cr_assert_lt(took, 150.0, "the put ended %.1f ms after the interrupt", took);
    cr_assert_eq(count_files(spool), 1);
    rt_store_close(st);
    close(hung);
}
