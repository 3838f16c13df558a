/* The SQLite catalog: one row per verified bundle (invocations) and one per behaviour record
 * (events), so that a responder can ask across thousands of invocations which ones touched a
 * path, talked to a host, ran a program, or fall in a time window. Event strings (paths,
 * addresses, programs) are interned in a strings table: a glob runs over the distinct strings
 * and the events are then found through an index, which keeps `ls --path` and `ls --dest`
 * fast on millions of events. WAL mode; the schema is versioned with PRAGMA user_version and
 * upgraded by the migrations below, in order, each in its own transaction. */
#include "store/catalog.h"
#include "formats/digest.h"
#include "store/util.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Migration i takes the schema from user_version i to i + 1. Append only. */
static const char *const migrations[] = {
    "CREATE TABLE invocations ("
    "  id INTEGER PRIMARY KEY,"
    "  digest TEXT NOT NULL UNIQUE,"
    "  function TEXT NOT NULL DEFAULT '',"
    "  version TEXT, request_id TEXT, sandbox TEXT, seq INTEGER,"
    "  start_ns INTEGER NOT NULL DEFAULT 0, duration_ns INTEGER,"
    "  status INTEGER, cold_start INTEGER, error_type TEXT,"
    "  env_digest TEXT, code_digest TEXT,"
    "  n_events INTEGER, n_logs INTEGER, bytes_out INTEGER, dropped INTEGER,"
    "  event_flags INTEGER, destinations TEXT,"
    "  key TEXT, path TEXT, size INTEGER, verified INTEGER NOT NULL DEFAULT 0,"
    "  indexed_ns INTEGER);"
    "CREATE INDEX invocations_start ON invocations(start_ns);"
    "CREATE INDEX invocations_function ON invocations(function, start_ns);"
    "CREATE INDEX invocations_request ON invocations(request_id);"
    "CREATE INDEX invocations_key ON invocations(key);"
    "CREATE TABLE strings (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);"
    "CREATE TABLE events ("
    "  inv INTEGER NOT NULL REFERENCES invocations(id) ON DELETE CASCADE,"
    "  ts_ns INTEGER, pid INTEGER, kind INTEGER, op INTEGER,"
    "  target INTEGER, host INTEGER, port INTEGER,"
    "  result INTEGER, bytes INTEGER, flags INTEGER);"
    "CREATE INDEX events_inv ON events(inv);"
    "CREATE INDEX events_target ON events(target, inv) WHERE target IS NOT NULL;"
    "CREATE INDEX events_host ON events(host, inv) WHERE host IS NOT NULL;",
    /* 2: the kind (and port) in the lookup indexes, so that --path/--dest/--exec never read
     * event rows: the index alone answers "which invocations" */
    "DROP INDEX events_target;"
    "DROP INDEX events_host;"
    "CREATE INDEX events_target ON events(target, kind, inv) WHERE target IS NOT NULL;"
    "CREATE INDEX events_host ON events(host, kind, port, inv) WHERE host IS NOT NULL;",
    /* 3: the findings of `runtrail check`, replaced at each check of an invocation */
    "CREATE TABLE IF NOT EXISTS findings ("
    "  inv INTEGER NOT NULL REFERENCES invocations(id) ON DELETE CASCADE,"
    "  rule TEXT NOT NULL, severity TEXT NOT NULL, item TEXT, explain TEXT,"
    "  checked_ns INTEGER);"
    "CREATE INDEX IF NOT EXISTS findings_inv ON findings(inv);",
    /* 4: the AWS API calls (aws_call events: `ls --aws`, check's AWS rules), strings interned */
    "CREATE TABLE IF NOT EXISTS aws_calls ("
    "  inv INTEGER NOT NULL REFERENCES invocations(id) ON DELETE CASCADE,"
    "  action INTEGER NOT NULL, resource INTEGER, credential INTEGER, status INTEGER);"
    "CREATE INDEX IF NOT EXISTS aws_calls_action ON aws_calls(action, inv);"
    "CREATE INDEX IF NOT EXISTS aws_calls_inv ON aws_calls(inv);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define INTERN_SLOTS (1u << 18)

struct intern_slot {
    char *text;
    int64_t id;
};

struct rt_catalog {
    sqlite3 *db;
    sqlite3_stmt *ins_inv, *ins_ev, *ins_aws, *find_digest, *upd_path, *find_str, *ins_str;
    struct intern_slot *intern; /* cache of strings -> id */
    size_t intern_used;
    bool in_batch;
    bool batch_lost; /* SQLite rolled the batch back with a failed statement (disk full) */
    /* A batch commits every split_events events (rt_catalog_set_batch_split), so that its
     * write-ahead log, which holds every page the transaction writes until it commits, stays
     * bounded: one transaction of 6.3 million events grew it to 241 MB. */
    uint64_t batch_events, split_events;
    bool batch_open;  /* between begin_batch and end_batch, even when in_batch was dropped */
    uint64_t commits; /* rt_catalog_commits() */
};

static void split_batch(struct rt_catalog *cat);

int rt_catalog_schema_version(void)
{
    return SCHEMA_VERSION;
}

static int db_fail(struct rt_catalog *cat, struct rt_errinfo *ei, const char *what)
{
    int code = cat && cat->db ? sqlite3_errcode(cat->db) & 0xff : SQLITE_ERROR;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) /* after the busy timeout */
        return rt_fail(ei, RT_ERR_CATALOG_BUSY, -1, "%s: another process holds the lock", what);
    return rt_fail(ei, RT_ERR_CATALOG, -1, "%s: %s", what,
                   cat && cat->db ? sqlite3_errmsg(cat->db) : "cannot open");
}

int rt_catalog_dir(const char *override, char *buf, size_t cap)
{
    const char *env = getenv("RUNTRAIL_CACHE");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int w;
    if (override && *override)
        w = snprintf(buf, cap, "%s", override);
    else if (env && *env)
        w = snprintf(buf, cap, "%s", env);
    else if (xdg && *xdg)
        w = snprintf(buf, cap, "%s/runtrail", xdg);
    else if (home && *home)
        w = snprintf(buf, cap, "%s/.cache/runtrail", home);
    else
        return RT_ERR_INVALID_ARG;
    if (w < 0 || (size_t)w >= cap)
        return RT_ERR_INVALID_ARG;
    size_t n = (size_t)w;
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    return RT_OK;
}

static int migrate(struct rt_catalog *cat, struct rt_errinfo *ei)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cat->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "user_version");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION)
        return rt_fail(ei, RT_ERR_CATALOG_VERSION, -1, "schema %d, this runtrail knows %d", version,
                       SCHEMA_VERSION);
    for (int v = version; v < SCHEMA_VERSION; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return db_fail(cat, ei, "migration");
        /* Another process may have migrated while we waited for the lock. */
        int now = 0;
        if (sqlite3_prepare_v2(cat->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                now = sqlite3_column_int(st, 0);
            sqlite3_finalize(st);
        }
        if (now > v) {
            sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL);
            v = now - 1;
            continue;
        }
        if (sqlite3_exec(cat->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(cat->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            int rc = db_fail(cat, ei, "migration");
            sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if (sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            return db_fail(cat, ei, "migration commit");
    }
    return RT_OK;
}

/* A read-only catalog cannot be migrated: its schema must be this build's. */
static int check_version(struct rt_catalog *cat, struct rt_errinfo *ei)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cat->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "user_version");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0)
        return db_fail(cat, ei, "user_version");
    if (version != SCHEMA_VERSION)
        return rt_fail(ei, RT_ERR_CATALOG_VERSION, -1, "%s schema %d, this runtrail knows %d",
                       version < SCHEMA_VERSION ? "older" : "newer", version, SCHEMA_VERSION);
    return RT_OK;
}

static int prepare(struct rt_catalog *cat, sqlite3_stmt **st, const char *sql,
                   struct rt_errinfo *ei)
{
    if (sqlite3_prepare_v3(cat->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "prepare");
    return RT_OK;
}

enum open_mode { OPEN_WRITE, OPEN_READ, OPEN_READ_IMMUTABLE };
static int open_catalog(const char *dir, enum open_mode mode, struct rt_catalog **out,
                        struct rt_errinfo *ei);

int rt_catalog_open(const char *dir, struct rt_catalog **out, struct rt_errinfo *ei)
{
    return open_catalog(dir, OPEN_WRITE, out, ei);
}

int rt_catalog_open_readonly(const char *dir, struct rt_catalog **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!dir || !out)
        return RT_ERR_INVALID_ARG;
    char *path = rt_path_join(dir, RT_CATALOG_FILE);
    if (!path)
        return RT_ERR_NOMEM;
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    free(path);
    if (!exists) /* nothing indexed yet: an empty catalog in memory, nothing created */
        return open_catalog(NULL, OPEN_WRITE, out, ei);
    struct rt_errinfo local;
    int rc = open_catalog(dir, OPEN_READ, out, &local);
    if (rc == RT_ERR_CATALOG) /* WAL without its -shm in a folder we cannot write to */
        rc = open_catalog(dir, OPEN_READ_IMMUTABLE, out, &local);
    if (rc == RT_ERR_CATALOG_VERSION && !strncmp(local.detail, "older", 5))
        return open_catalog(dir, OPEN_WRITE, out, ei); /* migrate first (needs write access) */
    if (ei)
        *ei = local;
    return rc;
}

/* dir NULL: an empty catalog in memory. OPEN_READ: SQLITE_OPEN_READONLY, no folder created, no
 * migration (an older schema fails with RT_ERR_CATALOG_VERSION "older schema ..."). A WAL
 * database can be read that way only when its -shm exists or can be made; in a folder the
 * user cannot write to, without them, OPEN_READ_IMMUTABLE reads the file as it is (SQLite's
 * immutable=1: no locks, so a writer at the same moment is not seen). */
static int open_catalog(const char *dir, enum open_mode mode, struct rt_catalog **out,
                        struct rt_errinfo *ei)
{
    bool readonly = mode != OPEN_WRITE;
    rt_errinfo_clear(ei);
    if (!out)
        return RT_ERR_INVALID_ARG;
    if (dir && !readonly && rt_mkdir_p(dir) != 0)
        return rt_fail(ei, RT_ERR_CATALOG, -1, "%s: %s", dir, strerror(errno));
    char *path = dir ? rt_path_join(dir, RT_CATALOG_FILE) : strdup(":memory:");
    if (path && mode == OPEN_READ_IMMUTABLE) {
        char *uri = sqlite3_mprintf("file:%s?immutable=1", path); /* escaped below */
        free(path);
        path = NULL;
        if (uri) {
            size_t n = 0;
            path = malloc(strlen(uri) * 3 + 1);
            for (const char *c = uri; path && *c; c++) {
                bool query = c >= uri + strlen(uri) - strlen("?immutable=1");
                if (!query && (*c == '%' || *c == '?' || *c == '#'))
                    n += (size_t)sprintf(path + n, "%%%02X", (unsigned char)*c);
                else
                    path[n++] = *c;
            }
            if (path)
                path[n] = '\0';
            sqlite3_free(uri);
        }
    }
    struct rt_catalog *cat = calloc(1, sizeof *cat);
    if (!path || !cat) {
        free(path);
        free(cat);
        return RT_ERR_NOMEM;
    }
    int rc = RT_OK;
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (mode == OPEN_READ_IMMUTABLE)
        flags |= SQLITE_OPEN_URI;
    if (sqlite3_open_v2(path, &cat->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = rt_fail(ei, RT_ERR_CATALOG, -1, "%s: %s", path,
                     cat->db ? sqlite3_errmsg(cat->db) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(cat->db, 10000);
    /* No checkpoint (and fsync) on every close: `ls` would pay it each time. SQLite's
     * automatic checkpoints while writing keep the WAL bounded. */
    sqlite3_db_config(cat->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    if (sqlite3_exec(cat->db,
                     readonly ? "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                              : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                /* bulk ingest: big page cache, checkpoints every 64 MiB,
                                 * and a log that grew past that cut back to it once
                                 * checkpointed, not kept at its largest on disk */
                                "PRAGMA cache_size=-131072; PRAGMA wal_autocheckpoint=16384;"
                                "PRAGMA journal_size_limit=67108864;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(cat, ei, path);
        goto out;
    }
    if ((rc = readonly ? check_version(cat, ei) : migrate(cat, ei)) != RT_OK)
        goto out;
    if ((rc = prepare(cat, &cat->ins_inv,
                      "INSERT INTO invocations (digest, function, version, request_id, sandbox,"
                      " seq, start_ns, duration_ns, status, cold_start, error_type, env_digest,"
                      " code_digest, n_events, n_logs, bytes_out, dropped, event_flags,"
                      " destinations, key, path, size, verified, indexed_ns)"
                      " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?)",
                      ei)) ||
        (rc = prepare(cat, &cat->ins_ev,
                      "INSERT INTO events (inv, ts_ns, pid, kind, op, target, host, port,"
                      " result, bytes, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                      ei)) ||
        (rc = prepare(cat, &cat->ins_aws,
                      "INSERT INTO aws_calls (inv, action, resource, credential, status)"
                      " VALUES (?,?,?,?,?)",
                      ei)) ||
        (rc = prepare(cat, &cat->find_digest,
                      "SELECT id, path, key FROM invocations WHERE digest = ?", ei)) ||
        (rc =
             prepare(cat, &cat->upd_path,
                     "UPDATE invocations SET path = ?, key = coalesce(?, key) WHERE id = ?", ei)) ||
        (rc = prepare(cat, &cat->find_str, "SELECT id FROM strings WHERE text = ?", ei)) ||
        (rc = prepare(cat, &cat->ins_str, "INSERT INTO strings (text) VALUES (?)", ei)))
        goto out;
    cat->split_events = RT_CATALOG_BATCH_SPLIT;
    cat->intern = calloc(INTERN_SLOTS, sizeof *cat->intern);
    if (!cat->intern)
        rc = RT_ERR_NOMEM;
out:
    free(path);
    if (rc != RT_OK) {
        rt_catalog_close(cat);
        return rc;
    }
    *out = cat;
    return RT_OK;
}

/* Frees the cached strings. A catalog that interned nothing (every command but the indexing
 * ones) skips the walk: writing the 4 MiB table's 1024 untouched pages at close faulted each
 * in, 15 ms of every `runtrail ls` on a host where a page fault costs 11-14 us. */
static void intern_clear(struct rt_catalog *cat)
{
    if (!cat->intern || !cat->intern_used)
        return;
    for (size_t i = 0; i < INTERN_SLOTS; i++) {
        free(cat->intern[i].text);
        cat->intern[i].text = NULL;
    }
    cat->intern_used = 0;
}

void rt_catalog_close(struct rt_catalog *cat)
{
    if (!cat)
        return;
    if (cat->in_batch)
        sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(cat->ins_inv);
    sqlite3_finalize(cat->ins_ev);
    sqlite3_finalize(cat->ins_aws);
    sqlite3_finalize(cat->find_digest);
    sqlite3_finalize(cat->upd_path);
    sqlite3_finalize(cat->find_str);
    sqlite3_finalize(cat->ins_str);
    intern_clear(cat);
    free(cat->intern);
    sqlite3_close(cat->db);
    free(cat);
}

/* ---- indexing ---- */

static uint64_t hash_str(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The id of text in the strings table, inserting it if new; -1 on error. Slots are only
 * valid for the current transaction's view, which is fine: ids never change once written. */
static int64_t intern(struct rt_catalog *cat, const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    if (nul)
        len = (size_t)(nul - text);
    if (len == 0)
        return 0;
    uint64_t h = hash_str(text, len);
    size_t i = (size_t)h & (INTERN_SLOTS - 1);
    for (;;) {
        struct intern_slot *s = &cat->intern[i];
        if (!s->text)
            break;
        if (!strncmp(s->text, text, len) && s->text[len] == '\0')
            return s->id;
        i = (i + 1) & (INTERN_SLOTS - 1);
    }
    int64_t id = -1;
    sqlite3_reset(cat->find_str);
    sqlite3_bind_text(cat->find_str, 1, text, (int)len, SQLITE_STATIC);
    if (sqlite3_step(cat->find_str) == SQLITE_ROW)
        id = sqlite3_column_int64(cat->find_str, 0);
    sqlite3_reset(cat->find_str);
    if (id < 0) {
        sqlite3_reset(cat->ins_str);
        sqlite3_bind_text(cat->ins_str, 1, text, (int)len, SQLITE_STATIC);
        if (sqlite3_step(cat->ins_str) != SQLITE_DONE) {
            sqlite3_reset(cat->ins_str);
            return -1;
        }
        sqlite3_reset(cat->ins_str);
        id = sqlite3_last_insert_rowid(cat->db);
    }
    if (cat->intern_used >= INTERN_SLOTS / 2)
        intern_clear(cat);
    struct intern_slot *s = &cat->intern[i];
    if (s->text) { /* cleared above: find the slot again */
        i = (size_t)h & (INTERN_SLOTS - 1);
        while (cat->intern[i].text)
            i = (i + 1) & (INTERN_SLOTS - 1);
        s = &cat->intern[i];
    }
    s->text = strndup(text, len);
    if (s->text) {
        s->id = id;
        cat->intern_used++;
    }
    return id;
}

/* Splits "1.2.3.4:443", "[::1]:443", "host:80" into host and port; a string without a port
 * (or an IPv6 address without brackets) is all host, port -1. */
static void split_hostport(const char *s, size_t len, const char **host, size_t *host_len,
                           int *port)
{
    *host = s;
    *host_len = len;
    *port = -1;
    if (!s || !len) /* an outbound event with no destination */
        return;
    const char *colon = NULL;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return;
        *host = s + 1;
        *host_len = (size_t)(close - s - 1);
        if ((size_t)(close - s) + 1 < len && close[1] == ':')
            colon = close + 1;
    } else {
        const char *first = memchr(s, ':', len);
        if (!first || memchr(first + 1, ':', len - (size_t)(first - s) - 1))
            return; /* none, or IPv6 */
        colon = first;
        *host_len = (size_t)(first - s);
    }
    if (!colon)
        return;
    long p = 0;
    const char *q = colon + 1;
    size_t digits = 0;
    while (q < s + len && *q >= '0' && *q <= '9' && p <= 65535) {
        p = p * 10 + (*q - '0');
        q++;
        digits++;
    }
    if (digits && q == s + len && p <= 65535)
        *port = (int)p;
    else if (s[0] != '[')
        *host_len = len; /* not a port after all */
}

struct dest_set {
    char *items[16];
    size_t n;
    size_t more;
};

static void dest_add(struct dest_set *d, const char *host, size_t host_len, int port)
{
    char buf[300];
    if (host_len == 0)
        return;
    if (host_len > 200)
        host_len = 200;
    if (port >= 0)
        snprintf(buf, sizeof buf, "%.*s:%d", (int)host_len, host, port);
    else
        snprintf(buf, sizeof buf, "%.*s", (int)host_len, host);
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->items[i], buf))
            return;
    if (d->n < 16 && (d->items[d->n] = strdup(buf)))
        d->n++;
    else
        d->more++;
}

static char *dest_join(struct dest_set *d)
{
    size_t cap = 32;
    for (size_t i = 0; i < d->n; i++)
        cap += strlen(d->items[i]) + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->n; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "", d->items[i]);
    if (d->more)
        snprintf(out + n, cap - n, ",+%zu", d->more);
    for (size_t i = 0; i < d->n; i++)
        free(d->items[i]);
    return out;
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *s)
{
    if (s)
        sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, col);
}

static void bind_id_or_null(sqlite3_stmt *st, int col, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(st, col, id);
    else
        sqlite3_bind_null(st, col);
}

/* One row of aws_calls: the action, resource and credential strings interned. */
static int insert_aws_call(struct rt_catalog *cat, int64_t inv, const struct rt_event *ev)
{
    struct rt_str action = rt_event_str(ev, RT_ROLE_AWS_ACTION);
    struct rt_str res = rt_event_str(ev, RT_ROLE_RESOURCE);
    struct rt_str cred = rt_event_str(ev, RT_ROLE_CREDENTIAL);
    int64_t a = action.len ? intern(cat, action.ptr, action.len) : 0;
    int64_t r = res.len ? intern(cat, res.ptr, res.len) : 0;
    int64_t c = cred.len ? intern(cat, cred.ptr, cred.len) : 0;
    if (a <= 0 || r < 0 || c < 0)
        return a == 0 && r >= 0 && c >= 0 ? 0 : -1; /* no action: nothing to index */
    sqlite3_stmt *st = cat->ins_aws;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, inv);
    sqlite3_bind_int64(st, 2, a);
    bind_id_or_null(st, 3, r);
    bind_id_or_null(st, 4, c);
    sqlite3_bind_int64(st, 5, ev->num[0]); /* aws_call n0: the HTTP status */
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int insert_events(struct rt_catalog *cat, int64_t inv, const struct rt_bundle *b)
{
    for (size_t i = 0; i < b->n_events; i++) {
        const struct rt_event *ev = &b->events[i];
        const struct rt_op_info *oi = rt_op_info(ev->op);
        int kind = oi ? (int)oi->kind : -1;
        int64_t target = 0, host = 0, bytes = 0;
        int port = -1;
        /* The op table's roles say what to index: a connection's address (host and port)
         * or else the file, program or command the call acts on; a host name (a
         * connection's may carry the HTTP Host port); the bytes the program sent. */
        bool has_addr = rt_event_has_str(ev, RT_ROLE_PEER) || rt_event_has_str(ev, RT_ROLE_LOCAL);
        struct rt_str addr = rt_event_peer(ev);
        if (!rt_event_has_str(ev, RT_ROLE_PEER))
            addr = rt_event_local(ev);
        if (has_addr) {
            if (addr.len) {
                const char *h;
                size_t hl;
                split_hostport(addr.ptr, addr.len, &h, &hl, &port);
                target = intern(cat, h, hl);
            }
        } else {
            static const enum rt_role target_roles[] = {RT_ROLE_PATH, RT_ROLE_PROGRAM,
                                                        RT_ROLE_COMMAND};
            for (size_t r = 0; r < sizeof target_roles / sizeof target_roles[0]; r++) {
                struct rt_str t = rt_event_str(ev, target_roles[r]);
                if (t.len) {
                    target = intern(cat, t.ptr, t.len);
                    break;
                }
            }
        }
        struct rt_str name = rt_event_host(ev);
        if (name.len && has_addr) {
            const char *n;
            size_t nl;
            int name_port;
            split_hostport(name.ptr, name.len, &n, &nl, &name_port);
            host = intern(cat, n, nl);
        } else if (name.len) {
            host = intern(cat, name.ptr, name.len);
        }
        bytes = rt_event_bytes_out(ev);
        if (target < 0 || host < 0)
            return -1;
        sqlite3_stmt *st = cat->ins_ev;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, inv);
        sqlite3_bind_int64(st, 2, ev->ts_ns);
        sqlite3_bind_int(st, 3, ev->pid);
        sqlite3_bind_int(st, 4, kind);
        sqlite3_bind_int(st, 5, ev->op);
        bind_id_or_null(st, 6, target);
        bind_id_or_null(st, 7, host);
        if (port >= 0)
            sqlite3_bind_int(st, 8, port);
        else
            sqlite3_bind_null(st, 8);
        sqlite3_bind_int64(st, 9, ev->result);
        sqlite3_bind_int64(st, 10, bytes);
        sqlite3_bind_int64(st, 11, ev->flags);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
        if (ev->op == RT_OP_AWS_CALL && insert_aws_call(cat, inv, ev) != 0)
            return -1;
    }
    return 0;
}

/* DESTINATIONS and bytes_out are about what the function reached out to: connections it
 * accepted (INBOUND) are neither, and their peers are found through the events table. */
static void summarise(const struct rt_bundle *b, struct dest_set *dests, uint64_t *bytes_out,
                      uint32_t *flags)
{
    for (size_t i = 0; i < b->n_events; i++) {
        const struct rt_event *ev = &b->events[i];
        *flags |= ev->flags;
        if (ev->op == RT_OP_OUTBOUND) {
            struct rt_str peer = rt_event_peer(ev), name = rt_event_host(ev);
            const char *h;
            size_t hl;
            int port;
            split_hostport(peer.ptr, peer.len, &h, &hl, &port);
            if (name.len) { /* a DNS name, a TLS SNI or an HTTP Host (which may carry the
                             * port): the name, with the connection's port */
                const char *n;
                size_t nl;
                int name_port;
                split_hostport(name.ptr, strnlen(name.ptr, name.len), &n, &nl, &name_port);
                dest_add(dests, n, nl, port);
            } else
                dest_add(dests, h, hl, port);
        }
        /* what the function sent: its summaries and datagrams, not its answers to peers
         * that connected to it */
        if (ev->op != RT_OP_INBOUND && rt_event_bytes_out(ev) > 0)
            *bytes_out += (uint64_t)rt_event_bytes_out(ev);
    }
    if (dests->n == 0) { /* no outbound summaries: fall back to connect() targets */
        for (size_t i = 0; i < b->n_events; i++) {
            const struct rt_event *ev = &b->events[i];
            struct rt_str peer = rt_event_peer(ev);
            if (ev->op != RT_OP_CONNECT || peer.len == 0)
                continue;
            const char *h;
            size_t hl;
            int port;
            split_hostport(peer.ptr, peer.len, &h, &hl, &port);
            if (port >= 0) /* skip unix sockets */
                dest_add(dests, h, hl, port);
        }
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int index_bundle(struct rt_catalog *cat, const struct rt_bundle *b, const char *abs,
                        const char *key, uint64_t size, struct rt_errinfo *ei)
{
    const struct rt_meta *m = &b->meta;
    char digest[2 * RT_DIGEST_LEN + 1], envd[2 * RT_DIGEST_LEN + 1] = "";
    char coded[2 * RT_DIGEST_LEN + 1] = "";
    rt_hex(b->digest, RT_DIGEST_LEN, digest);

    sqlite3_stmt *fd = cat->find_digest;
    sqlite3_reset(fd);
    sqlite3_bind_text(fd, 1, digest, -1, SQLITE_STATIC);
    if (sqlite3_step(fd) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(fd, 0);
        const char *old_path = (const char *)sqlite3_column_text(fd, 1);
        const char *old_key = (const char *)sqlite3_column_text(fd, 2);
        bool same_path = old_path && !strcmp(old_path, abs);
        bool same = same_path && (!key || (old_key && !strcmp(old_key, key)));
        struct stat sb;
        bool old_exists = old_path && stat(old_path, &sb) == 0;
        sqlite3_reset(fd);
        if (same)
            return RT_OK;
        if (!same_path && old_exists && !key)
            return RT_OK; /* a copy of a bundle we already know where to find */
        sqlite3_stmt *up = cat->upd_path;
        sqlite3_reset(up);
        sqlite3_bind_text(up, 1, abs, -1, SQLITE_STATIC);
        bind_text_or_null(up, 2, key);
        sqlite3_bind_int64(up, 3, id);
        int rc = sqlite3_step(up) == SQLITE_DONE ? RT_OK : db_fail(cat, ei, "update");
        sqlite3_reset(up);
        return rc;
    }
    sqlite3_reset(fd);

    rt_bundle_env_digest(b, envd);
    rt_bundle_code_digest(b, coded);
    struct dest_set dests = {0};
    uint64_t bytes_out = 0;
    uint32_t flags = m->dropped_flags; /* and those of the events dropped over the limit */
    summarise(b, &dests, &bytes_out, &flags);
    if (m->coverage & RT_COV_PARTIAL) /* the runtime ran without the interposer */
        flags |= RT_EF_NOT_COVERED;
    char *dest_text = dest_join(&dests);
    uint64_t dropped = m->counters[RT_CTR_EVENTS_DROPPED] + m->counters[RT_CTR_RING_DROPPED];

    sqlite3_stmt *st = cat->ins_inv;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    int c = 1;
    sqlite3_bind_text(st, c++, digest, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, c++, m->function ? m->function : "", -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, c++, m->function_version);
    bind_text_or_null(st, c++, m->request_id);
    bind_text_or_null(st, c++, m->sandbox_id);
    sqlite3_bind_int64(st, c++, (int64_t)m->seq);
    sqlite3_bind_int64(st, c++, m->start_wall_ns);
    sqlite3_bind_int64(st, c++, (int64_t)m->duration_ns);
    sqlite3_bind_int(st, c++, m->status);
    sqlite3_bind_int(st, c++, m->cold_start);
    bind_text_or_null(st, c++, m->error_type);
    bind_text_or_null(st, c++, envd[0] ? envd : NULL);
    bind_text_or_null(st, c++, coded[0] ? coded : NULL);
    sqlite3_bind_int64(st, c++, (int64_t)b->n_events);
    sqlite3_bind_int64(st, c++, (int64_t)b->n_logs);
    sqlite3_bind_int64(st, c++, (int64_t)bytes_out);
    sqlite3_bind_int64(st, c++, (int64_t)dropped);
    sqlite3_bind_int64(st, c++, flags);
    bind_text_or_null(st, c++, dest_text);
    bind_text_or_null(st, c++, key);
    sqlite3_bind_text(st, c++, abs, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, c++, (int64_t)size);
    sqlite3_bind_int64(st, c++, now_ns());
    free(dest_text);
    if (sqlite3_step(st) != SQLITE_DONE) {
        int rc = db_fail(cat, ei, "insert invocation");
        sqlite3_reset(st);
        return rc;
    }
    sqlite3_reset(st);
    int64_t inv = sqlite3_last_insert_rowid(cat->db);
    if (insert_events(cat, inv, b) != 0)
        return db_fail(cat, ei, "insert events");
    return RT_OK;
}

int rt_catalog_index_file(struct rt_catalog *cat, const char *path, const char *key,
                          struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!cat || !path)
        return RT_ERR_INVALID_ARG;
    if (cat->batch_lost) /* until end_batch reports it: nothing half-committed */
        return rt_fail(ei, RT_ERR_CATALOG, -1, "the batch was rolled back by an earlier failure");
    char abs[PATH_MAX];
    if (!realpath(path, abs))
        return rt_fail(ei, RT_ERR_IO, -1, "%s: %s", path, strerror(errno));
    struct rt_bundle *b = NULL;
    int rc = rt_bundle_open_file(abs, &b, ei);
    if (rc != RT_OK)
        return rc;
    struct stat sb;
    uint64_t size = stat(abs, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    uint64_t n_events = b->n_events;
    bool own_tx = !cat->in_batch;
    if (own_tx && sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rt_bundle_free(b);
        return db_fail(cat, ei, "begin");
    }
    if (!own_tx)
        sqlite3_exec(cat->db, "SAVEPOINT bundle", NULL, NULL, NULL);
    rc = index_bundle(cat, b, abs, key, size, ei);
    rt_bundle_free(b);
    if (own_tx) {
        if (rc == RT_OK && sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_fail(cat, ei, "commit");
        else if (rc == RT_OK)
            cat->commits++;
        if (rc != RT_OK) {
            sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
            intern_clear(cat); /* ids of rolled-back strings are gone */
        }
    } else {
        if (rc != RT_OK && sqlite3_get_autocommit(cat->db)) {
            /* SQLite rolled the whole batch back (SQLITE_FULL, SQLITE_IOERR): what it held is
             * not in the catalog, and end_batch must say so */
            cat->batch_lost = true;
            cat->in_batch = false;
            intern_clear(cat);
        } else if (rc != RT_OK) {
            sqlite3_exec(cat->db, "ROLLBACK TO bundle", NULL, NULL, NULL);
            intern_clear(cat);
        }
        if (cat->in_batch)
            sqlite3_exec(cat->db, "RELEASE bundle", NULL, NULL, NULL);
        if (rc == RT_OK && cat->in_batch &&
            (cat->batch_events += n_events + 1) >= cat->split_events)
            split_batch(cat);
    }
    return rc;
}

/* Commits what the batch holds so far and goes on in a new transaction. A commit refused for
 * the lock (SQLITE_BUSY) leaves the transaction open, to be tried again at the next split; one
 * that failed otherwise rolled back what was not yet committed, which end_batch reports. */
static void split_batch(struct rt_catalog *cat)
{
    if (sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        if (sqlite3_get_autocommit(cat->db)) {
            cat->batch_lost = true;
            cat->in_batch = false;
            intern_clear(cat);
        }
        return;
    }
    cat->commits++;
    cat->batch_events = 0;
    if (sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        cat->in_batch = false; /* each file commits on its own from here; end_batch: nothing left */
}

void rt_catalog_set_batch_split(struct rt_catalog *cat, uint64_t events)
{
    if (cat)
        cat->split_events = events ? events : RT_CATALOG_BATCH_SPLIT;
}

int rt_catalog_begin_batch(struct rt_catalog *cat, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!cat || cat->batch_open)
        return RT_ERR_INVALID_ARG;
    if (sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "begin");
    cat->in_batch = true;
    cat->batch_events = 0;
    cat->batch_open = true;
    return RT_OK;
}

int rt_catalog_end_batch(struct rt_catalog *cat, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (cat && cat->batch_lost) {
        cat->batch_lost = false;
        cat->batch_open = false;
        return rt_fail(ei, RT_ERR_CATALOG, -1,
                       "commit: the batch was rolled back by an earlier failure");
    }
    if (!cat || !cat->batch_open)
        return RT_ERR_INVALID_ARG;
    cat->batch_open = false;
    if (!cat->in_batch) /* a split could not begin its next transaction: all is committed */
        return RT_OK;
    cat->in_batch = false;
    if (sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = db_fail(cat, ei, "commit");
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
        intern_clear(cat);
        return rc;
    }
    cat->commits++;
    return RT_OK;
}

uint64_t rt_catalog_commits(const struct rt_catalog *cat)
{
    return cat ? cat->commits : 0;
}

int rt_catalog_index_default(const char *path, struct rt_errinfo *ei)
{
    char dir[PATH_MAX];
    if (rt_catalog_dir(NULL, dir, sizeof dir) != RT_OK)
        return rt_fail(ei, RT_ERR_CATALOG, -1, "no cache folder (set RUNTRAIL_CACHE or HOME)");
    struct rt_catalog *cat;
    int rc = rt_catalog_open(dir, &cat, ei);
    if (rc != RT_OK)
        return rc;
    rc = rt_catalog_index_file(cat, path, NULL, ei);
    rt_catalog_close(cat);
    return rc;
}

/* ---- queries ---- */

struct sqlbuf {
    char text[4096];
    size_t len;
    bool overflow;
};

static void sql_add(struct sqlbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > sizeof b->text) {
        b->overflow = true;
        return;
    }
    memcpy(b->text + b->len, s, n + 1);
    b->len += n;
}

/* The ORDER BY of each rt_catalog_order, ties broken by time then id so that pages are stable. */
static const char *const order_sql[] = {
#define _(id, name, sql) [RT_CATALOG_ORDER_##id] = sql,
    RT_CATALOG_ORDERS(_)
#undef _
};

/* Appends the WHERE conditions of f to q (after "WHERE 1") and fills the strings its
 * parameters need; bind_filter() binds them once the statement is prepared. */
struct filter_params {
    char dest_buf[300];
    int dest_port;
    char exec_glob[PATH_MAX + 4];
};

static void add_where(struct sqlbuf *q, const struct rt_catalog_filter *f, struct filter_params *fp)
{
    if (f->with_findings)
        sql_add(q, " AND EXISTS (SELECT 1 FROM findings WHERE inv = i.id)");
    if (f->function)
        sql_add(q, " AND i.function = :fn");
    if (f->since_ns)
        sql_add(q, " AND i.start_ns >= :since");
    if (f->until_ns)
        sql_add(q, " AND i.start_ns <= :until");
    if (f->status >= 0)
        sql_add(q, " AND i.status = :status");
    if (f->n_request_ids) {
        sql_add(q, " AND i.request_id IN (");
        for (size_t k = 0; k < f->n_request_ids; k++)
            sql_add(q, k ? ",?" : "?");
        sql_add(q, ")");
    }
    /* The shutdown bundle that only closes a sandbox's chain (its marker, nothing else) is
     * no invocation: listed only when asked for by request id. */
    if (!f->n_request_ids)
        sql_add(q, " AND NOT (i.request_id = 'shutdown' AND i.n_events <= 1 AND i.n_logs = 0)");
    if (f->path_glob)
        sql_add(q, " AND i.id IN (SELECT e.inv FROM events e WHERE e.kind = :kfile AND"
                   " e.target IN (SELECT id FROM strings WHERE text GLOB :path))");
    fp->dest_port = -1;
    fp->dest_buf[0] = '\0';
    if (f->dest) {
        const char *dest_host = NULL;
        size_t dest_len = 0;
        split_hostport(f->dest, strlen(f->dest), &dest_host, &dest_len, &fp->dest_port);
        snprintf(fp->dest_buf, sizeof fp->dest_buf, "%.*s", (int)dest_len, dest_host);
        sql_add(q, " AND i.id IN (SELECT e.inv FROM events e WHERE e.kind = :knet AND"
                   " (e.target IN (SELECT id FROM strings WHERE text = :dest) OR"
                   "  e.host IN (SELECT id FROM strings WHERE text = :dest))");
        if (fp->dest_port >= 0)
            sql_add(q, " AND e.port = :port");
        sql_add(q, ")");
    }
    if (f->aws_glob)
        sql_add(q, " AND i.id IN (SELECT a.inv FROM aws_calls a WHERE"
                   " a.action IN (SELECT id FROM strings WHERE text GLOB :aws))");
    fp->exec_glob[0] = '\0';
    if (f->exec) {
        if (strchr(f->exec, '/'))
            snprintf(fp->exec_glob, sizeof fp->exec_glob, "%s", f->exec);
        else
            snprintf(fp->exec_glob, sizeof fp->exec_glob, "*/%s", f->exec);
        /* What ran: a failed exec (result -errno) is in the timeline, not in --exec. */
        sql_add(q, " AND i.id IN (SELECT e.inv FROM events e WHERE e.kind = :kproc AND"
                   " e.result >= 0 AND"
                   " e.target IN (SELECT id FROM strings WHERE text GLOB :exec OR text = "
                   ":execname))");
    }
}

static void bind_filter(sqlite3_stmt *st, const struct rt_catalog_filter *f,
                        const struct filter_params *fp)
{
#define BIND_NAME(name, call)                                                                      \
    do {                                                                                           \
        int ix_ = sqlite3_bind_parameter_index(st, name);                                          \
        if (ix_ > 0)                                                                               \
            call;                                                                                  \
    } while (0)
    BIND_NAME(":fn", sqlite3_bind_text(st, ix_, f->function, -1, SQLITE_STATIC));
    BIND_NAME(":since", sqlite3_bind_int64(st, ix_, f->since_ns));
    BIND_NAME(":until", sqlite3_bind_int64(st, ix_, f->until_ns));
    BIND_NAME(":status", sqlite3_bind_int(st, ix_, f->status));
    BIND_NAME(":kfile", sqlite3_bind_int(st, ix_, RT_KIND_FILE));
    BIND_NAME(":knet", sqlite3_bind_int(st, ix_, RT_KIND_NET));
    BIND_NAME(":kproc", sqlite3_bind_int(st, ix_, RT_KIND_PROC));
    BIND_NAME(":path", sqlite3_bind_text(st, ix_, f->path_glob, -1, SQLITE_STATIC));
    BIND_NAME(":aws", sqlite3_bind_text(st, ix_, f->aws_glob, -1, SQLITE_STATIC));
    BIND_NAME(":dest", sqlite3_bind_text(st, ix_, fp->dest_buf, -1, SQLITE_STATIC));
    BIND_NAME(":port", sqlite3_bind_int(st, ix_, fp->dest_port));
    BIND_NAME(":exec", sqlite3_bind_text(st, ix_, fp->exec_glob, -1, SQLITE_STATIC));
    BIND_NAME(":execname", sqlite3_bind_text(st, ix_, f->exec, -1, SQLITE_STATIC));
    BIND_NAME(":limit", sqlite3_bind_int64(st, ix_, (int64_t)f->limit));
    BIND_NAME(":offset", sqlite3_bind_int64(st, ix_, (int64_t)f->offset));
#undef BIND_NAME
    /* Positional request ids: the '?' after the named ones are numbered in order. */
    if (f->n_request_ids) {
        int first = 0;
        int count = sqlite3_bind_parameter_count(st);
        for (int i = 1; i <= count; i++) {
            if (!sqlite3_bind_parameter_name(st, i)) {
                first = i;
                break;
            }
        }
        for (size_t k = 0; first && k < f->n_request_ids; k++)
            sqlite3_bind_text(st, first + (int)k, f->request_ids[k], -1, SQLITE_STATIC);
    }
}

int rt_catalog_query(struct rt_catalog *cat, const struct rt_catalog_filter *f,
                     int (*fn)(const struct rt_catalog_row *row, void *arg), void *arg,
                     struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!cat || !f || !fn || f->n_request_ids > 500 ||
        (unsigned)f->order >= RT_CATALOG_ORDER__COUNT)
        return RT_ERR_INVALID_ARG;
    struct sqlbuf q = {.len = 0};
    struct filter_params fp;
    sql_add(&q, "SELECT function, version, request_id, sandbox, error_type, seq, start_ns,"
                " duration_ns, status, cold_start, n_events, n_logs, bytes_out, dropped,"
                " event_flags, destinations, env_digest, code_digest, digest, key, path,"
                " verified, (SELECT group_concat(rule) FROM (SELECT DISTINCT rule FROM findings"
                " WHERE inv = i.id ORDER BY rule)) AS findings FROM invocations i WHERE 1");
    add_where(&q, f, &fp);
    sql_add(&q, " ORDER BY ");
    sql_add(&q, order_sql[f->order]);
    sql_add(&q, f->descending ? " DESC" : " ASC");
    sql_add(&q, ", i.start_ns, i.id");
    if (f->limit || f->offset)
        sql_add(&q, f->limit ? " LIMIT :limit" : " LIMIT -1");
    if (f->offset)
        sql_add(&q, " OFFSET :offset");
    if (q.overflow)
        return RT_ERR_INVALID_ARG;

    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cat->db, q.text, -1, &st, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "query");
    bind_filter(st, f, &fp);

    int rc = RT_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct rt_catalog_row r;
        int c = 0;
#define COL_TEXT() ((const char *)sqlite3_column_text(st, c++))
#define COL_INT() (sqlite3_column_int64(st, c++))
        r.function = COL_TEXT();
        r.version = COL_TEXT();
        r.request_id = COL_TEXT();
        r.sandbox = COL_TEXT();
        r.error_type = COL_TEXT();
        r.seq = (uint64_t)COL_INT();
        r.start_ns = COL_INT();
        r.duration_ns = (uint64_t)COL_INT();
        r.status = (int)COL_INT();
        r.cold_start = COL_INT() != 0;
        r.n_events = (uint64_t)COL_INT();
        r.n_logs = (uint64_t)COL_INT();
        r.bytes_out = (uint64_t)COL_INT();
        r.dropped = (uint64_t)COL_INT();
        r.event_flags = (uint32_t)COL_INT();
        r.destinations = COL_TEXT();
        r.env_digest = COL_TEXT();
        r.code_digest = COL_TEXT();
        r.digest = COL_TEXT();
        r.key = COL_TEXT();
        r.path = COL_TEXT();
        r.verified = COL_INT() != 0;
        r.findings = COL_TEXT();
#undef COL_TEXT
#undef COL_INT
        if (!r.destinations)
            r.destinations = "";
        if (!r.findings)
            r.findings = "";
        if ((rc = fn(&r, arg)) != 0)
            break;
    }
    if (rc == RT_OK && step != SQLITE_DONE)
        rc = db_fail(cat, ei, "query");
    sqlite3_finalize(st);
    return rc;
}

int rt_catalog_count(struct rt_catalog *cat, const struct rt_catalog_filter *f, size_t *count,
                     struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!cat || !f || !count || f->n_request_ids > 500)
        return RT_ERR_INVALID_ARG;
    struct sqlbuf q = {.len = 0};
    struct filter_params fp;
    sql_add(&q, "SELECT count(*) FROM invocations i WHERE 1");
    add_where(&q, f, &fp);
    if (q.overflow)
        return RT_ERR_INVALID_ARG;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cat->db, q.text, -1, &st, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "count");
    bind_filter(st, f, &fp);
    int rc = RT_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 0);
        *count = n > 0 ? (size_t)n : 0;
    } else {
        rc = db_fail(cat, ei, "count");
    }
    sqlite3_finalize(st);
    if (rc == RT_OK && f->limit && *count > f->limit)
        *count = f->limit;
    return rc;
}

int rt_catalog_histogram(struct rt_catalog *cat, const struct rt_catalog_filter *f, int64_t from_ns,
                         int64_t to_ns, struct rt_catalog_bin *bins, size_t n,
                         struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!cat || !f || !bins || !n || to_ns <= from_ns || f->n_request_ids > 500)
        return RT_ERR_INVALID_ARG;
    memset(bins, 0, n * sizeof *bins);
    struct sqlbuf q = {.len = 0};
    struct filter_params fp;
    /* The bin of a start time, computed in SQL so that only n rows come back. */
    sql_add(&q, "SELECT CAST((i.start_ns - :h0) / :hw AS INTEGER) AS bin, count(*),"
                " max(i.duration_ns), sum(i.duration_ns),"
                " sum(i.status <> 1), sum(i.event_flags & :hflags <> 0 OR i.dropped > 0 OR"
                " EXISTS (SELECT 1 FROM findings WHERE inv = i.id))"
                " FROM invocations i WHERE i.start_ns >= :h0 AND i.start_ns <= :h1");
    add_where(&q, f, &fp);
    sql_add(&q, " GROUP BY bin");
    if (q.overflow)
        return RT_ERR_INVALID_ARG;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cat->db, q.text, -1, &st, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "histogram");
    struct rt_catalog_filter nolimit = *f;
    nolimit.limit = 0;
    nolimit.offset = 0;
    bind_filter(st, &nolimit, &fp);
    double width = ((double)to_ns - (double)from_ns) / (double)n;
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":h0"), from_ns);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":h1"), to_ns);
    sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":hw"), width > 1 ? width : 1);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":hflags"),
                       (int64_t) ~(uint32_t)(RT_EF_OUTSIDE | RT_EF_CREATE | RT_EF_STILL_OPEN));
    int rc = RT_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t bin = sqlite3_column_int64(st, 0);
        if (bin < 0)
            continue;
        if ((uint64_t)bin >= n)
            bin = (int64_t)n - 1; /* the end of the range itself */
        struct rt_catalog_bin *b = &bins[bin];
        b->count += (uint64_t)sqlite3_column_int64(st, 1);
        uint64_t mx = (uint64_t)sqlite3_column_int64(st, 2);
        if (mx > b->max_duration_ns)
            b->max_duration_ns = mx;
        b->total_duration_ns += (uint64_t)sqlite3_column_int64(st, 3);
        b->failed += (uint64_t)sqlite3_column_int64(st, 4);
        b->flagged += (uint64_t)sqlite3_column_int64(st, 5);
    }
    if (step != SQLITE_DONE)
        rc = db_fail(cat, ei, "histogram");
    sqlite3_finalize(st);
    return rc;
}

/* The first (desc false) or last start time of the matching invocations: through the index
 * on start_ns, so that it costs a few rows, not a scan (min/max would scan: the filter's
 * conditions keep SQLite from its min/max shortcut). 0 when none. */
static int end_of_range(struct rt_catalog *cat, const struct rt_catalog_filter *f, bool desc,
                        int64_t *out, struct rt_errinfo *ei)
{
    struct sqlbuf q = {.len = 0};
    struct filter_params fp;
    sql_add(&q, "SELECT i.start_ns FROM invocations i WHERE 1");
    add_where(&q, f, &fp);
    sql_add(&q, desc ? " ORDER BY i.start_ns DESC LIMIT 1" : " ORDER BY i.start_ns ASC LIMIT 1");
    if (q.overflow)
        return RT_ERR_INVALID_ARG;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cat->db, q.text, -1, &st, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "time range");
    struct rt_catalog_filter nolimit = *f;
    nolimit.limit = 0;
    nolimit.offset = 0;
    bind_filter(st, &nolimit, &fp);
    int rc = RT_OK, step = sqlite3_step(st);
    *out = 0;
    if (step == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (step != SQLITE_DONE)
        rc = db_fail(cat, ei, "time range");
    sqlite3_finalize(st);
    return rc;
}

int rt_catalog_time_range(struct rt_catalog *cat, const struct rt_catalog_filter *f,
                          int64_t *first_ns, int64_t *last_ns, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!cat || !f || !first_ns || !last_ns || f->n_request_ids > 500)
        return RT_ERR_INVALID_ARG;
    int rc = end_of_range(cat, f, false, first_ns, ei);
    if (rc == RT_OK)
        rc = end_of_range(cat, f, true, last_ns, ei);
    return rc;
}

int rt_catalog_find_key(struct rt_catalog *cat, const char *key, char *path, size_t cap)
{
    sqlite3_stmt *st;
    if (!cat || !key ||
        sqlite3_prepare_v2(cat->db, "SELECT path FROM invocations WHERE key = ? AND verified = 1",
                           -1, &st, NULL) != SQLITE_OK)
        return RT_ERR_CATALOG;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = RT_ERR_S3_NOT_FOUND;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        struct stat sb;
        if (p && stat(p, &sb) == 0) {
            if (path && cap)
                snprintf(path, cap, "%s", p);
            rc = RT_OK;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int rt_catalog_set_findings(struct rt_catalog *cat, const char *path,
                            const uint8_t digest[RT_DIGEST_LEN], const struct rt_catalog_finding *f,
                            size_t n, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!cat || !path)
        return RT_ERR_INVALID_ARG;
    char abs[PATH_MAX];
    if (!realpath(path, abs))
        return rt_fail(ei, RT_ERR_IO, -1, "%s: %s", path, strerror(errno));
    sqlite3_stmt *st = NULL;
    int64_t inv = -1;
    for (int attempt = 0; attempt < 2 && inv < 0; attempt++) {
        char hex[2 * RT_DIGEST_LEN + 1];
        if (sqlite3_prepare_v2(cat->db, "SELECT id FROM invocations WHERE digest = ?", -1, &st,
                               NULL) != SQLITE_OK)
            return db_fail(cat, ei, "findings");
        sqlite3_bind_text(st, 1, rt_digest_hex(digest, hex), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            inv = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (inv < 0 && attempt == 0) {
            int rc = rt_catalog_index_file(cat, abs, NULL, ei);
            if (rc != RT_OK)
                return rc;
        }
    }
    if (inv < 0)
        return rt_fail(ei, RT_ERR_IO, -1, "%s: not in the catalog", path);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    bool own_tx = !cat->in_batch;
    if (own_tx && sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(cat, ei, "begin");
    int rc = RT_OK;
    if (sqlite3_prepare_v2(cat->db, "DELETE FROM findings WHERE inv = ?", -1, &st, NULL) !=
        SQLITE_OK)
        rc = db_fail(cat, ei, "findings");
    else {
        sqlite3_bind_int64(st, 1, inv);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(cat, ei, "findings");
        sqlite3_finalize(st);
    }
    st = NULL;
    if (rc == RT_OK && n &&
        sqlite3_prepare_v2(cat->db,
                           "INSERT INTO findings (inv, rule, severity, item, explain, checked_ns)"
                           " VALUES (?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        rc = db_fail(cat, ei, "findings");
    for (size_t i = 0; rc == RT_OK && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, inv);
        sqlite3_bind_text(st, 2, f[i].rule, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, f[i].severity, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, f[i].item, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, f[i].explain, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(cat, ei, "findings");
    }
    sqlite3_finalize(st);
    if (own_tx) {
        if (rc == RT_OK && sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_fail(cat, ei, "commit");
        if (rc != RT_OK)
            sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}
