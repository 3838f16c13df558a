/* The SQLite catalog: one per user, indexing every bundle runtrail recorded locally or pulled,
 * so `ls`, `check`, `view` and `diff` answer across thousands of invocations. Default path:
 * ${RUNTRAIL_CACHE:-${XDG_CACHE_HOME:-~/.cache}/runtrail}/catalog.sqlite, with pulled
 * bundles beside it. WAL mode, versioned schema (PRAGMA user_version + migrations). */
#ifndef RUNTRAIL_STORE_CATALOG_H
#define RUNTRAIL_STORE_CATALOG_H

#include "formats/bundle.h"
#include "formats/timeparse.h" /* rt_parse_time for the --since/--until filters */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_catalog;

/* The catalog's file in its cache folder. */
#define RT_CATALOG_FILE "catalog.sqlite"

/* The cache folder (no trailing slash): --cache, else $RUNTRAIL_CACHE, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/runtrail. override may be NULL. */
int rt_catalog_dir(const char *override, char *buf, size_t cap);

/* Opens (creating and migrating) the catalog in dir. */
int rt_catalog_open(const char *dir, struct rt_catalog **out, struct rt_errinfo *ei);
/* Opens the catalog in dir for queries only (`ls`): read-only (a catalog file the user
 * cannot write is fine), creating nothing; when there is no catalog yet, an empty one in
 * memory. A catalog of an older schema is migrated first (rt_catalog_open). */
int rt_catalog_open_readonly(const char *dir, struct rt_catalog **out, struct rt_errinfo *ei);
void rt_catalog_close(struct rt_catalog *cat);

/* Reads, verifies and indexes the bundle file at path (absolute path stored); key is its
 * store key or NULL. Re-indexing the same digest is a no-op. */
int rt_catalog_index_file(struct rt_catalog *cat, const char *path, const char *key,
                          struct rt_errinfo *ei);

/* Convenience for recording commands: index path into the default catalog. Failures are
 * returned, never fatal to the caller's recording. */
int rt_catalog_index_default(const char *path, struct rt_errinfo *ei);

/* ---- queries (`runtrail ls`, `pull`) ---- */

/* The orders a listing can take (`view` sorts by any column): id, name, SQL expression. */
#define RT_CATALOG_ORDERS(_)                                                                       \
    _(TIME, "time", "i.start_ns")                                                                  \
    _(FUNCTION, "function", "i.function")                                                          \
    _(REQUEST_ID, "request id", "i.request_id")                                                    \
    _(DURATION, "duration", "i.duration_ns")                                                       \
    _(STATUS, "status", "i.status")                                                                \
    _(EVENTS, "events", "i.n_events")                                                              \
    _(DESTINATIONS, "destinations", "i.destinations")                                              \
    _(FLAGS, "flags", "(i.event_flags <> 0) + (i.dropped > 0) + i.cold_start")                     \
    _(FINDINGS, "findings", "findings")

enum rt_catalog_order {
#define _(id, name, sql) RT_CATALOG_ORDER_##id,
    RT_CATALOG_ORDERS(_)
#undef _
        RT_CATALOG_ORDER__COUNT
};

/* Which invocations to list. Unset fields (NULL, 0, -1) do not filter. */
struct rt_catalog_filter {
    const char *function;           /* exact function name */
    int64_t since_ns;               /* start >= since (Unix ns); 0 = open */
    int64_t until_ns;               /* start <= until (Unix ns); 0 = open */
    int status;                     /* enum rt_status; -1 = any */
    const char *path_glob;          /* a file event's path matches (SQLite GLOB: * ? [...]) */
    const char *dest;               /* HOST, IP, HOST:PORT, IP:PORT or [IPv6]:PORT of a net event */
    const char *exec;               /* a program run: full path (glob) or a bare name (basename) */
    const char *aws_glob;           /* an aws_call's service:Action matches (GLOB: "iam:*") */
    const char *const *request_ids; /* any of these request ids */
    size_t n_request_ids;
    size_t limit;       /* 0 = all */
    bool with_findings; /* only invocations with findings stored by `check` */
    /* Listing only (rt_catalog_query): the order (default: by time, oldest first), and how
     * many rows to skip before the first (paging). */
    enum rt_catalog_order order;
    bool descending;
    size_t offset;
};

/* ---- the filters of `ls` as options, shared by `ls` and the viewer's filter prompt ---- */
#define RT_CATALOG_MAX_IDS 256
/* A filter and the storage its request ids need. Values point into the caller's strings. */
struct rt_catalog_filter_args {
    struct rt_catalog_filter f;
    const char *ids[RT_CATALOG_MAX_IDS];
};
/* Empty: everything matches (status -1). */
void rt_catalog_filter_args_init(struct rt_catalog_filter_args *a);
/* 0 when opt is no filter option, 1 a flag (--findings), 2 one that takes a value. */
int rt_catalog_filter_kind(const char *opt);
/* Applies one option (opt "--since", val "2h"; now_ns for relative times; val is ignored for
 * a flag). Returns rt_catalog_filter_kind(opt) (0: nothing done), or -1 with a message naming
 * the option and value in err (bad value, missing value). */
int rt_catalog_filter_option(struct rt_catalog_filter_args *a, const char *opt, const char *val,
                             int64_t now_ns, char *err, size_t cap);
/* Parses a line of options ("--function api --since 2h --status crash"; words separated by
 * blanks, '...' or "..." quote, --opt=value also accepted) into a freshly initialised *a,
 * cutting line into words in place (the filter points into it). 0, or -1 with err set. */
int rt_catalog_filter_parse_line(struct rt_catalog_filter_args *a, char *line, int64_t now_ns,
                                 char *err, size_t cap);

/* One invocation. Strings are valid only during the callback. */
struct rt_catalog_row {
    const char *function, *version, *request_id, *sandbox, *error_type;
    uint64_t seq;
    int64_t start_ns;
    uint64_t duration_ns;
    int status; /* enum rt_status */
    bool cold_start;
    uint64_t n_events, n_logs, bytes_out, dropped;
    uint32_t event_flags;                          /* OR of RT_EF_* over its events */
    const char *destinations;                      /* "host:port,host:port,+N" or "" */
    const char *env_digest, *code_digest, *digest; /* hex */
    const char *key, *path;                        /* store key (may be NULL), local file */
    bool verified;
    const char *findings; /* the rules of its stored findings, "rule,rule" (sorted) or "" */
};

/* Calls fn for each matching invocation, oldest first; fn returns 0 to go on, anything else
 * stops the query (and is returned). Returns RT_OK, the callback's value, or RT_ERR_*. */
int rt_catalog_query(struct rt_catalog *cat, const struct rt_catalog_filter *filter,
                     int (*fn)(const struct rt_catalog_row *row, void *arg), void *arg,
                     struct rt_errinfo *ei);

/* How many invocations match f (at most f->limit when set; offset ignored). */
int rt_catalog_count(struct rt_catalog *cat, const struct rt_catalog_filter *f, size_t *count,
                     struct rt_errinfo *ei);
/* The first and last start time (Unix ns) of the matching invocations; both 0 when none. */
int rt_catalog_time_range(struct rt_catalog *cat, const struct rt_catalog_filter *f,
                          int64_t *first_ns, int64_t *last_ns, struct rt_errinfo *ei);

/* One interval of rt_catalog_histogram(). */
struct rt_catalog_bin {
    uint64_t count;             /* invocations that started in it */
    uint64_t max_duration_ns;   /* the slowest of them */
    uint64_t total_duration_ns; /* their durations added */
    uint64_t failed;            /* status other than ok */
    uint64_t flagged;           /* with an event flag, dropped events or a finding */
};
/* Splits [from_ns, to_ns] into n equal intervals and fills bins[0..n) with the matching
 * invocations (f, without limit and offset) that started in each. */
int rt_catalog_histogram(struct rt_catalog *cat, const struct rt_catalog_filter *f, int64_t from_ns,
                         int64_t to_ns, struct rt_catalog_bin *bins, size_t n,
                         struct rt_errinfo *ei);

/* RT_OK with the local path when a verified bundle with this store key is indexed and its
 * file is still there; RT_ERR_S3_NOT_FOUND otherwise. */
int rt_catalog_find_key(struct rt_catalog *cat, const char *key, char *path, size_t cap);

/* Groups the following rt_catalog_index_file() calls into one transaction (faster bulk
 * ingest); rt_catalog_end_batch() commits it. A commit that fails — or a batch SQLite rolled
 * back when a statement failed (disk full) — is an error: what the batch indexed since it
 * last committed is not in the catalog. A batch commits by itself, and goes on, each time it
 * has indexed RT_CATALOG_BATCH_SPLIT events, so that SQLite's write-ahead log (every page
 * of an open transaction) stays bounded; what it committed stays indexed whatever happens
 * later, and indexing it again is a no-op.
 * A lock held by another process past the busy timeout is RT_ERR_CATALOG_BUSY. */
#define RT_CATALOG_BATCH_SPLIT 1000000u
int rt_catalog_begin_batch(struct rt_catalog *cat, struct rt_errinfo *ei);
int rt_catalog_end_batch(struct rt_catalog *cat, struct rt_errinfo *ei);
/* How many commits of indexed bundles this handle has made: a batch's own (a split's, the
 * end's) and those of files indexed outside a batch. A caller that counts what it indexed
 * knows that everything it indexed before this number last moved is in the catalog, whatever
 * a later commit does: `runtrail pull` and `runtrail index` count so. */
uint64_t rt_catalog_commits(const struct rt_catalog *cat);
/* Sets the events after which a batch commits (0: RT_CATALOG_BATCH_SPLIT); for tests. */
void rt_catalog_set_batch_split(struct rt_catalog *cat, uint64_t events);

/* One finding of `runtrail check` (analysis/check.h), as stored. */
struct rt_catalog_finding {
    const char *rule, *severity, *item, *explain;
};

/* Replaces the stored findings of the bundle with this footer digest (indexing the file at path
 * first when the catalog does not have it) with f[0..n); n = 0 clears them. */
int rt_catalog_set_findings(struct rt_catalog *cat, const char *path,
                            const uint8_t digest[RT_DIGEST_LEN], const struct rt_catalog_finding *f,
                            size_t n, struct rt_errinfo *ei);

/* The schema version this build writes (PRAGMA user_version). */
int rt_catalog_schema_version(void);

#endif
