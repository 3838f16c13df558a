/* Unit tests for store/catalog.c: schema creation and user_version, indexing real bundles
 * written with the formats writer (idempotent by digest, corrupt files refused), each ls
 * filter against known answers. */
#include "store/catalog.h"
#include "store/util.h"
#include "tests/unit/tmpdir.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

RT_TMPDIR_SUITE(catalog);

static struct rt_str S(const char *s) {
    struct rt_str r = {s, s ? strlen(s) : 0};
    return r;
}

/* Writes a bundle with a few events to tmpdir/name.rtb. */
static void
make_bundle(const char *name, const char *fn, const char *rid, int64_t start, int status,
            const char *path, const char *dest, const char *host, const char *exe)
{
    struct rt_writer *w = rt_writer_new(NULL);
    cr_assert_not_null(w);
    struct rt_meta m;
    memset(&m, 0, sizeof m);
    m.function = (char *)fn;
    m.request_id = (char *)rid;
    m.sandbox_id = (char *)"sb1";
    m.start_wall_ns = start;
    m.end_wall_ns = start + 5000000;
    m.duration_ns = 5000000;
    m.status = (uint8_t)status;
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    struct rt_event ev;
    if (path) {
        memset(&ev, 0, sizeof ev);
        ev.op = RT_OP_OPEN;
        ev.pid = 7;
        ev.str[0] = S(path);
        ev.result = 3;
        cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK);
    }
    if (dest) {
        memset(&ev, 0, sizeof ev);
        ev.op = RT_OP_OUTBOUND;
        ev.ts_ns = 1000;
        ev.str[0] = S(dest);
        ev.str[1] = S(host);
        ev.num[0] = 1234;
        cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK);
    }
    if (exe) {
        memset(&ev, 0, sizeof ev);
        ev.op = RT_OP_EXEC;
        ev.ts_ns = 2000;
        ev.str[0] = S(exe);
        ev.flags = RT_EF_EXEC_TMP;
        cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK);
    }
    uint8_t *out;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 0, &out, &len, NULL), RT_OK);
    rt_writer_free(w);
    char p[512];
    snprintf(p, sizeof p, "%s/%s.rtb", tmpdir, name);
    cr_assert_eq(rt_write_file(p, out, len, true, NULL), RT_OK);
    free(out);
}

struct hits {
    char ids[16][64];
    int n;
};

static int collect(const struct rt_catalog_row *r, void *arg)
{
    struct hits *h = arg;
    if (h->n < 16)
        snprintf(h->ids[h->n++], 64, "%s", r->request_id ? r->request_id : "-");
    return 0;
}

static const int64_t T0 = 1795689711000000000LL; /* 2026-11-26T10:41:51Z */
#define HOUR 3600000000000LL

static struct rt_catalog *fixture(void)
{
    make_bundle("a", "orders", "req-a", T0, RT_STATUS_OK, "/etc/passwd", "10.0.0.1:443",
                "api.example.com", NULL);
    make_bundle("b", "orders", "req-b", T0 + HOUR, RT_STATUS_ERROR, "/tmp/x.txt", "192.0.2.7:8080",
                NULL, "/tmp/payload");
    make_bundle("c", "billing", "req-c", T0 + 2 * HOUR, RT_STATUS_OK, "/var/task/index.js",
                "[2001:db8::1]:443", "v6.example.net", "/usr/bin/curl");
    struct rt_catalog *cat;
    struct rt_errinfo ei;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    cr_assert_eq(rt_catalog_open(dir, &cat, &ei), RT_OK, "%s", ei.detail);
    const char *names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s.rtb", tmpdir, names[i]);
        cr_assert_eq(rt_catalog_index_file(cat, p, NULL, &ei), RT_OK, "%s", ei.detail);
    }
    return cat;
}

static void expect(struct rt_catalog *cat, struct rt_catalog_filter f, const char *want)
{
    struct hits h = {.n = 0};
    struct rt_errinfo ei;
    cr_assert_eq(rt_catalog_query(cat, &f, collect, &h, &ei), RT_OK, "%s", ei.detail);
    char got[512] = "";
    for (int i = 0; i < h.n; i++) {
        strcat(got, i ? "," : "");
        strcat(got, h.ids[i]);
    }
    cr_assert_str_eq(got, want);
}

#define F(...) ((struct rt_catalog_filter){.status = -1, __VA_ARGS__})

Test(catalog, schema_version_set)
{
    struct rt_catalog *cat = fixture();
    rt_catalog_close(cat);
    char p[300];
    snprintf(p, sizeof p, "%s/cache/catalog.sqlite", tmpdir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), rt_catalog_schema_version());
    sqlite3_finalize(st);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    /* a newer schema is refused, not clobbered */
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct rt_catalog *c2;
    struct rt_errinfo ei;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    cr_assert_eq(rt_catalog_open(dir, &c2, &ei), RT_ERR_CATALOG_VERSION);
}

Test(catalog, migrates_an_older_schema)
{
    struct rt_catalog *cat = fixture();
    rt_catalog_close(cat);
    char p[300], dir[300];
    snprintf(p, sizeof p, "%s/cache/catalog.sqlite", tmpdir);
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    /* back to schema 1: the lookup indexes without the kind */
    cr_assert_eq(sqlite3_exec(db,
                              "DROP INDEX events_target; DROP INDEX events_host;"
                              "CREATE INDEX events_target ON events(target, inv) WHERE target "
                              "IS NOT NULL;"
                              "CREATE INDEX events_host ON events(host, inv) WHERE host IS NOT "
                              "NULL;"
                              "PRAGMA user_version = 1;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    struct rt_errinfo ei;
    cr_assert_eq(rt_catalog_open(dir, &cat, &ei), RT_OK, "%s", ei.detail);
    expect(cat, F(.path_glob = "/etc/*"), "req-a");
    expect(cat, F(.dest = "api.example.com:443"), "req-a");
    rt_catalog_close(cat);
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_index_info('events_target')",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), 3); /* target, kind, inv */
    sqlite3_finalize(st);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), rt_catalog_schema_version());
    sqlite3_finalize(st);
    sqlite3_close(db);
}

Test(catalog, filters)
{
    struct rt_catalog *cat = fixture();
    expect(cat, F(.limit = 0), "req-a,req-b,req-c");
    expect(cat, F(.function = "orders"), "req-a,req-b");
    expect(cat, F(.function = "nope"), "");
    expect(cat, F(.since_ns = T0 + HOUR), "req-b,req-c");
    expect(cat, F(.until_ns = T0 + HOUR), "req-a,req-b");
    expect(cat, F(.since_ns = T0 + 1, .until_ns = T0 + HOUR + 1), "req-b");
    expect(cat, (struct rt_catalog_filter){.status = RT_STATUS_ERROR}, "req-b");
    expect(cat, (struct rt_catalog_filter){.status = RT_STATUS_OK}, "req-a,req-c");
    expect(cat, F(.path_glob = "/etc/*"), "req-a");
    expect(cat, F(.path_glob = "*.js"), "req-c");
    expect(cat, F(.path_glob = "/tmp/*"), "req-b");
    expect(cat, F(.path_glob = "/nothing*"), "");
    expect(cat, F(.dest = "api.example.com"), "req-a");
    expect(cat, F(.dest = "api.example.com:443"), "req-a");
    expect(cat, F(.dest = "api.example.com:80"), "");
    expect(cat, F(.dest = "10.0.0.1"), "req-a");
    expect(cat, F(.dest = "192.0.2.7:8080"), "req-b");
    expect(cat, F(.dest = "2001:db8::1"), "req-c");
    expect(cat, F(.dest = "[2001:db8::1]:443"), "req-c");
    expect(cat, F(.exec = "curl"), "req-c");
    expect(cat, F(.exec = "/tmp/*"), "req-b");
    expect(cat, F(.exec = "/usr/bin/curl"), "req-c");
    const char *ids[] = {"req-c", "req-a", "zzz"};
    expect(cat, F(.request_ids = ids, .n_request_ids = 3), "req-a,req-c");
    expect(cat, F(.request_ids = ids, .n_request_ids = 3, .function = "orders"), "req-a");
    expect(cat, F(.limit = 2), "req-a,req-b");
    rt_catalog_close(cat);
}

static int grab_row(const struct rt_catalog_row *r, void *arg)
{
    char *out = arg;
    snprintf(out, 512, "%s|%s|%llu|%llu|%u|%d", r->function, r->destinations,
             (unsigned long long)r->n_events, (unsigned long long)r->bytes_out, r->event_flags,
             r->verified);
    return 0;
}

Test(catalog, row_summary)
{
    struct rt_catalog *cat = fixture();
    char out[512] = "";
    const char *ids[] = {"req-a"};
    struct rt_catalog_filter f = F(.request_ids = ids, .n_request_ids = 1);
    cr_assert_eq(rt_catalog_query(cat, &f, grab_row, out, NULL), RT_OK);
    cr_assert_str_eq(out, "orders|api.example.com:443|2|1234|0|1");
    const char *idb[] = {"req-b"};
    f.request_ids = idb;
    cr_assert_eq(rt_catalog_query(cat, &f, grab_row, out, NULL), RT_OK);
    cr_assert_str_eq(out, "orders|192.0.2.7:8080|3|1234|4|1");
    rt_catalog_close(cat);
}

/* A flagged event dropped over the writer's limit still flags the invocation (META
 * dropped_flags ORed into the flags column that `ls` shows). */
Test(catalog, flags_of_dropped_events)
{
    struct rt_limits lim = {.max_events = 2}; /* head 1, then a ring of 1, nothing kept */
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m;
    memset(&m, 0, sizeof m);
    m.function = (char *)"flood";
    m.request_id = (char *)"req-f";
    m.sandbox_id = (char *)"sb1";
    m.start_wall_ns = T0;
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    struct rt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.op = RT_OP_OPEN;
    ev.str[0] = S("/etc/hosts");
    cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK);
    ev.op = RT_OP_EXEC;
    ev.str[0] = S("/tmp/payload");
    ev.flags = RT_EF_EXEC_TMP;
    cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK);
    ev.op = RT_OP_OPEN;
    ev.str[0] = S("/etc/hosts");
    ev.flags = 0;
    cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK); /* pushes the exec out of the ring */
    uint8_t *out;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 0, &out, &len, NULL), RT_OK);
    rt_writer_free(w);
    char p[512], dir[300];
    snprintf(p, sizeof p, "%s/flood.rtb", tmpdir);
    cr_assert_eq(rt_write_file(p, out, len, true, NULL), RT_OK);
    free(out);
    struct rt_catalog *cat;
    struct rt_errinfo ei;
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    cr_assert_eq(rt_catalog_open(dir, &cat, &ei), RT_OK, "%s", ei.detail);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, &ei), RT_OK, "%s", ei.detail);
    char row[512] = "";
    const char *ids[] = {"req-f"};
    struct rt_catalog_filter f = F(.request_ids = ids, .n_request_ids = 1);
    cr_assert_eq(rt_catalog_query(cat, &f, grab_row, row, NULL), RT_OK);
    cr_assert_str_eq(row, "flood||2|0|4|1"); /* 2 events stored, exec_tmp (4) from META */
    rt_catalog_close(cat);
}

/* A function that accepted a connection (a bind shell): the INBOUND summary is an events row
 * with the peer as target (like its ACCEPT), the bytes the function sent, and no destination. */
Test(catalog, inbound_indexed_by_peer)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m;
    memset(&m, 0, sizeof m);
    m.function = (char *)"shell";
    m.request_id = (char *)"req-in";
    m.start_wall_ns = T0;
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    struct rt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.op = RT_OP_ACCEPT;
    ev.str[0] = S("198.51.100.9:50123");
    ev.num[0] = 3;
    ev.result = 5;
    cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK);
    memset(&ev, 0, sizeof ev);
    ev.op = RT_OP_INBOUND;
    ev.ts_ns = 10;
    ev.str[0] = S("198.51.100.9:50123");
    ev.str[1] = S("10.0.0.5:4444");
    ev.num[0] = 321; /* out */
    ev.num[1] = 45;  /* in */
    ev.num[3] = 5;
    cr_assert_eq(rt_writer_add_event(w, &ev), RT_OK);
    uint8_t *out;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 0, &out, &len, NULL), RT_OK);
    rt_writer_free(w);
    char p[512], dir[300];
    snprintf(p, sizeof p, "%s/in.rtb", tmpdir);
    cr_assert_eq(rt_write_file(p, out, len, true, NULL), RT_OK);
    free(out);
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    struct rt_catalog *cat;
    cr_assert_eq(rt_catalog_open(dir, &cat, NULL), RT_OK);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, NULL), RT_OK);
    char row[512] = "";
    const char *ids[] = {"req-in"};
    struct rt_catalog_filter f = F(.request_ids = ids, .n_request_ids = 1);
    cr_assert_eq(rt_catalog_query(cat, &f, grab_row, row, NULL), RT_OK);
    cr_assert_str_eq(row, "shell||2|0|0|1", "no destination, no bytes_out: %s", row);
    expect(cat, F(.dest = "198.51.100.9"), "req-in");
    expect(cat, F(.dest = "10.0.0.5"), "");
    rt_catalog_close(cat);

    snprintf(p, sizeof p, "%s/catalog.sqlite", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT e.kind, s.text, e.port, e.bytes, e.host FROM events e"
                                    " JOIN strings s ON s.id = e.target WHERE e.op = ?",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int(st, 1, RT_OP_INBOUND);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), RT_KIND_NET);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 1), "198.51.100.9");
    cr_assert_eq(sqlite3_column_int(st, 2), 50123);
    cr_assert_eq(sqlite3_column_int64(st, 3), 321);
    cr_assert_eq(sqlite3_column_type(st, 4), SQLITE_NULL);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

Test(catalog, reindex_is_noop_and_corrupt_refused)
{
    struct rt_catalog *cat = fixture();
    struct rt_errinfo ei;
    char p[512];
    snprintf(p, sizeof p, "%s/a.rtb", tmpdir);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, &ei), RT_OK);
    expect(cat, F(.limit = 0), "req-a,req-b,req-c");
    /* flip a byte in a copy */
    uint8_t *data;
    size_t len;
    cr_assert_eq(rt_read_file(p, &data, &len, 0), RT_OK);
    data[len / 2] ^= 0x55;
    char q[512];
    snprintf(q, sizeof q, "%s/bad.rtb", tmpdir);
    cr_assert_eq(rt_write_file(q, data, len, true, NULL), RT_OK);
    free(data);
    cr_assert_neq(rt_catalog_index_file(cat, q, NULL, &ei), RT_OK);
    expect(cat, F(.limit = 0), "req-a,req-b,req-c");
    /* find by key */
    cr_assert_eq(rt_catalog_index_file(cat, p, "v1/fn=orders/x.rtb", &ei), RT_OK);
    char found[512];
    cr_assert_eq(rt_catalog_find_key(cat, "v1/fn=orders/x.rtb", found, sizeof found), RT_OK);
    cr_assert_str_eq(found, p);
    cr_assert_eq(rt_catalog_find_key(cat, "v1/none", found, sizeof found), RT_ERR_S3_NOT_FOUND);
    rt_catalog_close(cat);
}

Test(catalog, batch_ingest)
{
    make_bundle("a", "orders", "req-a", T0, RT_STATUS_OK, "/etc/passwd", NULL, NULL, NULL);
    make_bundle("b", "orders", "req-b", T0 + 1, RT_STATUS_OK, "/etc/passwd", NULL, NULL, NULL);
    struct rt_catalog *cat;
    char dir[300], p[512];
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    cr_assert_eq(rt_catalog_open(dir, &cat, NULL), RT_OK);
    cr_assert_eq(rt_catalog_begin_batch(cat, NULL), RT_OK);
    snprintf(p, sizeof p, "%s/a.rtb", tmpdir);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, NULL), RT_OK);
    snprintf(p, sizeof p, "%s/missing.rtb", tmpdir);
    cr_assert_neq(rt_catalog_index_file(cat, p, NULL, NULL), RT_OK);
    snprintf(p, sizeof p, "%s/b.rtb", tmpdir);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, NULL), RT_OK);
    cr_assert_eq(rt_catalog_end_batch(cat, NULL), RT_OK);
    expect(cat, F(.path_glob = "/etc/passwd"), "req-a,req-b");
    rt_catalog_close(cat);
}

/* A batch commits by itself every so many events (here 2: each bundle holds 1 event, counted
 * with its invocation as 2): another connection sees what it has indexed before end_batch,
 * and end_batch commits the rest. */
static int64_t count_invocations(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/catalog.sqlite", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM invocations", -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Bundles a, b and c (two events each) in tmpdir, and a catalog in dir (cap 300) with a batch
 * open that commits by itself at 4 events: after b. */
static const char *const split_names[] = {"a", "b", "c"};
static struct rt_catalog *split_fixture(char *dir)
{
    for (int i = 0; i < 3; i++) {
        char rid[16];
        snprintf(rid, sizeof rid, "req-%s", split_names[i]);
        make_bundle(split_names[i], "orders", rid, T0 + i, RT_STATUS_OK, "/etc/passwd", NULL, NULL,
                    NULL);
    }
    struct rt_catalog *cat;
    snprintf(dir, 300, "%s/cache", tmpdir);
    cr_assert_eq(rt_catalog_open(dir, &cat, NULL), RT_OK);
    rt_catalog_set_batch_split(cat, 4);
    cr_assert_eq(rt_catalog_begin_batch(cat, NULL), RT_OK);
    return cat;
}

Test(catalog, batch_commits_as_it_grows)
{
    const char *const *names = split_names;
    char dir[300], p[512];
    struct rt_catalog *cat = split_fixture(dir);
    cr_assert_eq(rt_catalog_begin_batch(cat, NULL), RT_ERR_INVALID_ARG, "one batch at a time");
    int64_t seen[3];
    uint64_t commits[3];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s.rtb", tmpdir, names[i]);
        cr_assert_eq(rt_catalog_index_file(cat, p, NULL, NULL), RT_OK);
        seen[i] = count_invocations(dir);
        commits[i] = rt_catalog_commits(cat);
    }
    cr_assert_eq(seen[0], 0, "the first bundle is not committed yet (%lld)", (long long)seen[0]);
    cr_assert_eq(seen[1], 2, "the batch committed at 4 events (%lld)", (long long)seen[1]);
    cr_assert_eq(seen[2], 2, "the third waits for the end (%lld)", (long long)seen[2]);
    cr_assert(commits[0] == 0 && commits[1] == 1 && commits[2] == 1,
              "the split is counted as a commit (%llu %llu %llu)", (unsigned long long)commits[0],
              (unsigned long long)commits[1], (unsigned long long)commits[2]);
    cr_assert_eq(rt_catalog_end_batch(cat, NULL), RT_OK);
    cr_assert_eq(rt_catalog_commits(cat), 2);
    cr_assert_eq(count_invocations(dir), 3);
    cr_assert_eq(rt_catalog_end_batch(cat, NULL), RT_ERR_INVALID_ARG, "no batch open");
    expect(cat, F(.path_glob = "/etc/passwd"), "req-a,req-b,req-c");
    rt_catalog_close(cat);
}

/* A last commit that fails (here a file size limit, as a full disk would) loses only what the
 * batch indexed after its last split, and the commit count says which bundles those are. */
Test(catalog, a_failed_last_commit_keeps_what_a_split_committed)
{
    const char *const *names = split_names;
    char dir[300], p[512];
    struct rt_catalog *cat = split_fixture(dir);
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s.rtb", tmpdir, names[i]);
        cr_assert_eq(rt_catalog_index_file(cat, p, NULL, NULL), RT_OK);
    }
    cr_assert_eq(rt_catalog_commits(cat), 1, "a and b committed by the split");
    /* no file may grow from here: the WAL cannot take the next commit */
    char f[400];
    struct stat st;
    off_t largest = 0;
    snprintf(f, sizeof f, "%s/catalog.sqlite", dir);
    if (stat(f, &st) == 0 && st.st_size > largest)
        largest = st.st_size;
    snprintf(f, sizeof f, "%s/catalog.sqlite-wal", dir);
    if (stat(f, &st) == 0 && st.st_size > largest)
        largest = st.st_size;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {(rlim_t)largest, (rlim_t)largest};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    snprintf(p, sizeof p, "%s/c.rtb", tmpdir);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, NULL), RT_OK);
    struct rt_errinfo ei;
    cr_assert_neq(rt_catalog_end_batch(cat, &ei), RT_OK, "the last commit fails");
    cr_assert_eq(rt_catalog_commits(cat), 1, "a failed commit is not counted");
    rt_catalog_close(cat);
    cr_assert_eq(count_invocations(dir), 2, "a and b stay indexed, c is not");
}

Test(catalog, dir_resolution)
{
    char buf[300];
    setenv("RUNTRAIL_CACHE", "/x/cache/", 1);
    cr_assert_eq(rt_catalog_dir(NULL, buf, sizeof buf), RT_OK);
    cr_assert_str_eq(buf, "/x/cache");
    cr_assert_eq(rt_catalog_dir("/o", buf, sizeof buf), RT_OK);
    cr_assert_str_eq(buf, "/o");
    unsetenv("RUNTRAIL_CACHE");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    cr_assert_eq(rt_catalog_dir(NULL, buf, sizeof buf), RT_OK);
    cr_assert_str_eq(buf, "/xdg/runtrail");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    cr_assert_eq(rt_catalog_dir(NULL, buf, sizeof buf), RT_OK);
    cr_assert_str_eq(buf, "/home/u/.cache/runtrail");
}

/* An outbound event with no destination (a connection whose peer was never known) is indexed
 * without touching a NULL pointer (UBSan flagged memchr(NULL, ..., 0) in split_hostport). */
Test(catalog, outbound_without_destination)
{
    make_bundle("nodest", "orders", "req-nodest", T0, RT_STATUS_OK, NULL, "", NULL, NULL);
    struct rt_catalog *cat;
    struct rt_errinfo ei;
    char dir[300], p[512];
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    snprintf(p, sizeof p, "%s/nodest.rtb", tmpdir);
    cr_assert_eq(rt_catalog_open(dir, &cat, &ei), RT_OK, "%s", ei.detail);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, &ei), RT_OK, "%s", ei.detail);
    expect(cat, F(.dest = "10.0.0.1"), "");
    expect(cat, F(.function = "orders"), "req-nodest");
    rt_catalog_close(cat);
}

Test(catalog, readonly_open_creates_nothing_and_reads)
{
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/none/cache", tmpdir);
    struct rt_catalog *cat;
    struct rt_errinfo ei;
    cr_assert_eq(rt_catalog_open_readonly(dir, &cat, &ei), RT_OK, "%s", ei.detail);
    expect(cat, F(.function = "orders"), ""); /* an empty catalog */
    rt_catalog_close(cat);
    struct stat sb;
    snprintf(p, sizeof p, "%s/none", tmpdir);
    cr_assert_neq(stat(p, &sb), 0, "ls must not create the cache folder");

    cat = fixture();
    rt_catalog_close(cat);
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    cr_assert_eq(rt_catalog_open_readonly(dir, &cat, &ei), RT_OK, "%s", ei.detail);
    expect(cat, F(.function = "orders"), "req-a,req-b");
    snprintf(p, sizeof p, "%s/a.rtb", tmpdir);
    make_bundle("d", "orders", "req-d", T0 + 3 * HOUR, RT_STATUS_OK, NULL, NULL, NULL, NULL);
    snprintf(p, sizeof p, "%s/d.rtb", tmpdir);
    cr_assert_eq(rt_catalog_index_file(cat, p, NULL, &ei), RT_ERR_CATALOG, "read-only: %s",
                 ei.detail);
    rt_catalog_close(cat);
}

/* The viewer's listing: any order, either direction, a page at a time, with a count. */
Test(catalog, order_offset_count)
{
    struct rt_catalog *cat = fixture();
    expect(cat, F(.order = RT_CATALOG_ORDER_FUNCTION), "req-c,req-a,req-b");
    expect(cat, F(.order = RT_CATALOG_ORDER_FUNCTION, .descending = true), "req-a,req-b,req-c");
    expect(cat, F(.order = RT_CATALOG_ORDER_STATUS, .descending = true), "req-b,req-a,req-c");
    expect(cat, F(.order = RT_CATALOG_ORDER_TIME, .descending = true), "req-c,req-b,req-a");
    expect(cat, F(.offset = 1), "req-b,req-c");
    expect(cat, F(.offset = 1, .limit = 1), "req-b");
    expect(cat, F(.offset = 5), "");
    expect(cat, F(.function = "orders", .descending = true, .offset = 1), "req-a");
    size_t n = 99;
    struct rt_errinfo ei;
    cr_assert_eq(rt_catalog_count(cat, &F(.function = "orders"), &n, &ei), RT_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(rt_catalog_count(cat, &F(.limit = 1), &n, &ei), RT_OK);
    cr_assert_eq(n, 1, "the count honours --limit");
    cr_assert_eq(rt_catalog_count(cat, &F(.path_glob = "/nothing*"), &n, &ei), RT_OK);
    cr_assert_eq(n, 0);
    struct rt_catalog_filter bad = F(.order = RT_CATALOG_ORDER__COUNT);
    struct hits h = {.n = 0};
    cr_assert_eq(rt_catalog_query(cat, &bad, collect, &h, &ei), RT_ERR_INVALID_ARG);
    rt_catalog_close(cat);
}

/* The strip: invocations per interval, with the slowest and the failed among them. */
Test(catalog, histogram_and_range)
{
    struct rt_catalog *cat = fixture();
    struct rt_errinfo ei;
    int64_t first = 0, last = 0;
    cr_assert_eq(rt_catalog_time_range(cat, &F(.limit = 0), &first, &last, &ei), RT_OK);
    cr_assert_eq(first, T0);
    cr_assert_eq(last, T0 + 2 * HOUR);
    struct rt_catalog_bin bins[4];
    cr_assert_eq(rt_catalog_histogram(cat, &F(.limit = 0), first, last, bins, 4, &ei), RT_OK);
    /* a at the start (bin 0), b at the middle (bin 2), c at the end (the last bin). */
    cr_assert_eq(bins[0].count, 1);
    cr_assert_eq(bins[1].count, 0);
    cr_assert_eq(bins[2].count, 1);
    cr_assert_eq(bins[3].count, 1);
    cr_assert_eq(bins[2].failed, 1, "req-b is an error");
    cr_assert_eq(bins[0].failed, 0);
    cr_assert_eq(bins[2].flagged, 1, "req-b ran a program from /tmp (exec_tmp)");
    cr_assert_eq(bins[0].max_duration_ns, 5000000);
    cr_assert_eq(rt_catalog_histogram(cat, &F(.function = "billing"), first, last, bins, 4, &ei),
                 RT_OK);
    cr_assert_eq(bins[0].count + bins[1].count + bins[2].count + bins[3].count, 1);
    cr_assert_eq(rt_catalog_histogram(cat, &F(.limit = 0), last, first, bins, 4, &ei),
                 RT_ERR_INVALID_ARG, "an empty range is refused");
    rt_catalog_close(cat);
}

/* `ls`'s filter options, one at a time (ls) and as a typed line (the viewer's prompt). */
Test(catalog, filter_options_and_line)
{
    struct rt_catalog_filter_args a;
    char err[300];
    int64_t now = T0 + 10 * HOUR;
    rt_catalog_filter_args_init(&a);
    cr_assert_eq(a.f.status, -1);
    cr_assert_eq(rt_catalog_filter_option(&a, "--json", NULL, now, err, sizeof err), 0);
    cr_assert_eq(rt_catalog_filter_option(&a, "--findings", NULL, now, err, sizeof err), 1);
    cr_assert(a.f.with_findings);
    cr_assert_eq(rt_catalog_filter_option(&a, "--since", "2h", now, err, sizeof err), 2);
    cr_assert_eq(a.f.since_ns, now - 2 * HOUR);
    cr_assert_eq(rt_catalog_filter_option(&a, "--status", "nope", now, err, sizeof err), -1);
    cr_assert_str_eq(err, "--status 'nope': ok, error, timeout, crash or unknown");
    cr_assert_eq(rt_catalog_filter_option(&a, "--limit", NULL, now, err, sizeof err), -1);
    cr_assert_str_eq(err, "--limit needs a value");

    char line[] =
        "--function 'my fn' --status=crash --request-id r1 --request-id \"r 2\" --until 1970-01-01";
    cr_assert_eq(rt_catalog_filter_parse_line(&a, line, now, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(a.f.function, "my fn");
    cr_assert_eq(a.f.status, RT_STATUS_CRASH);
    cr_assert_eq(a.f.n_request_ids, 2);
    cr_assert_str_eq(a.f.request_ids[1], "r 2");
    cr_assert_eq(a.f.until_ns, -1, "--until at the epoch is a bound, not 'none'");
    cr_assert(!a.f.with_findings, "a line starts from an empty filter");

    char empty[] = "   ";
    cr_assert_eq(rt_catalog_filter_parse_line(&a, empty, now, err, sizeof err), 0);
    cr_assert_null(a.f.function);
    char unknown[] = "--function f --colour red";
    cr_assert_eq(rt_catalog_filter_parse_line(&a, unknown, now, err, sizeof err), -1);
    cr_assert(strstr(err, "'--colour' is no filter") != NULL, "%s", err);
    char open_quote[] = "--function 'abc";
    cr_assert_eq(rt_catalog_filter_parse_line(&a, open_quote, now, err, sizeof err), -1);
    cr_assert_str_eq(err, "a quote is not closed");
    char missing[] = "--dest";
    cr_assert_eq(rt_catalog_filter_parse_line(&a, missing, now, err, sizeof err), -1);
    cr_assert_str_eq(err, "--dest needs a value");
}
