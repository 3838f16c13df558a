/* The runtrail trace bundle (.rtb), one per invocation: the writer used by the recorder and
 * the reader used by every offline tool. The byte layout is specified in docs/format.md.
 *
 * Writer: bounded memory. Events, payload bytes and log bytes beyond the limits are not
 * stored; each overflow is counted in the META counters instead of failing.
 * Reader: hostile input never reads outside the buffer, crashes, loops or allocates without
 * bound (allocation is bounded by a small multiple of the decompressed size, itself capped by
 * RT_BUNDLE_MAX_DECOMPRESSED, and events by RT_BUNDLE_MAX_EVENTS). A successfully opened
 * bundle is fully decoded: all its fields are plain data owned by the struct rt_bundle and
 * valid until rt_bundle_free(). The cursor (rt_cursor_*) streams the events instead. */
#ifndef RUNTRAIL_FORMATS_BUNDLE_H
#define RUNTRAIL_FORMATS_BUNDLE_H

#include "formats/error.h"
#include "formats/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The newest version written: 2 when the events span several EVENTS blocks (chunks), 1 when
 * they fit one (docs/format.md). Readers read both. */
#define RT_BUNDLE_VERSION 2
#define RT_DIGEST_LEN 32                                /* SHA-256 */
#define RT_BUNDLE_MAX_DECOMPRESSED (256u * 1024 * 1024) /* reader refuses larger */
/* Events per bundle. The reader refuses a bundle declaring more before allocating anything for
 * them; the writer clamps max_events (default 100000, RUNTRAIL_MAX_EVENTS) to it. */
#define RT_BUNDLE_MAX_EVENTS (1024u * 1024)
#define RT_BUNDLE_EXT ".rtb"

/* Invocation outcome. */
#define RT_STATUSES(_)                                                                             \
    _(UNKNOWN, "unknown")                                                                          \
    _(OK, "ok")           /* response delivered (or exit status 0 for record) */                   \
    _(ERROR, "error")     /* function error reported through /error (or exit != 0) */              \
    _(TIMEOUT, "timeout") /* deadline passed */                                                    \
    _(CRASH, "crash")     /* runtime died mid-invocation (or killed by a signal) */

enum rt_status {
#define _(id, name) RT_STATUS_##id,
    RT_STATUSES(_)
#undef _
        RT_STATUS__COUNT
};
const char *rt_status_name(unsigned status);
int rt_status_from_name(const char *name); /* -1 if unknown */

/* Degradation and coverage counters carried in META. Append only (ids are on disk). */
#define RT_COUNTERS(_)                                                                             \
    _(EVENTS_DROPPED, 0, "events_dropped")        /* over the writer's max events */               \
    _(RING_DROPPED, 1, "ring_dropped")            /* ring full: producers could not write */       \
    _(STRINGS_TRUNCATED, 2, "strings_truncated")  /* argument strings cut to the slot size */      \
    _(PAYLOAD_TRUNCATED, 3, "payload_truncated")  /* payload bytes not stored */                   \
    _(LOG_BYTES_DROPPED, 4, "log_bytes_dropped")  /* over the log cap */                           \
    _(SPOOL_DROPPED, 5, "spool_dropped")          /* spooled bundles evicted over the cap */       \
    _(STORE_FAILURES, 6, "store_failures")        /* failed writes/uploads (then spooled) */       \
    _(CONFIG_ERRORS, 7, "config_errors")          /* bad RUNTRAIL_* settings ignored */            \
    _(OUTSIDE_EVENTS, 8, "outside_events")        /* events outside any invocation window */       \
    _(PROXY_ERRORS, 9, "proxy_errors")            /* Runtime API proxy failures */                 \
    _(UNCOVERED_EXECS, 10, "uncovered_execs")     /* children the preload cannot enter */          \
    _(SPOOLED, 11, "spooled")                     /* bundles waiting in the spool */               \
    _(SAMPLED_OUT, 12, "sampled_out")             /* invocations not kept (RUNTRAIL_SAMPLE) */     \
    _(CONNS_UNTRACKED, 13, "conns_untracked")     /* connections with no summary (table full) */   \
    _(RUNTIME_UNCOVERED, 14, "runtime_uncovered") /* 1: the interposer is not in the runtime */

enum rt_counter {
#define _(id, num, name) RT_CTR_##id = num,
    RT_COUNTERS(_)
#undef _
        RT_CTR__COUNT
};
const char *rt_counter_name(unsigned counter);

/* Coverage bits in META: what recorded this bundle. */
#define RT_COV_PRELOAD 0x1u /* the interposer was active */
#define RT_COV_PROXY 0x2u   /* the Runtime API proxy saw the invocation */
#define RT_COV_RECORD 0x4u  /* `runtrail record` (a plain command, not Lambda) */
#define RT_COV_PARTIAL 0x8u /* the interposer is not in the runtime (static, Go) */

/* The architecture this program was built for, as writers put it in META's arch (the
 * uname -m spelling; Lambda runs x86_64 and arm64 as "aarch64"). */
#if defined(__x86_64__)
#define RT_HOST_ARCH "x86_64"
#elif defined(__aarch64__)
#define RT_HOST_ARCH "aarch64"
#elif defined(__i386__)
#define RT_HOST_ARCH "i686"
#else
#define RT_HOST_ARCH "unknown"
#endif

/* META: strings are C strings (NULL = absent). The writer takes C strings, so none holds a
 * NUL; a reader turns a NUL byte found in a stored string into U+FFFD (docs/format.md). */
struct rt_meta {
    char *function; /* function name, or the command's basename for `record` */
    char *function_version;
    char *function_arn;
    char *region;
    char *runtime; /* AWS_EXECUTION_ENV or detected runtime */
    char *handler;
    char *request_id;
    char *trace_id;   /* X-Amzn-Trace-Id */
    char *caller;     /* caller identity from the event, where it carries one */
    char *sandbox_id; /* random per execution environment; chain key */
    char *recorder_version;
    char *error_type;  /* status ERROR/CRASH: the error type */
    char *command;     /* `record`: the command line, arguments joined by spaces */
    char *hash_key_id; /* which keyed hashes compare: "configured:HEX", "sandbox:HEX" */
    char *replay_of;   /* `runtrail replay`: "REQUEST_ID DIGEST-HEX" of the replayed bundle */
    /* The function's own AWS_ACCESS_KEY_ID (its role session's key id, not a secret): what
     * `check` compares the credential of each aws_call with. NULL when unknown. */
    char *access_key_id;
    uint32_t memory_mb;
    int64_t start_wall_ns; /* Unix time, ns */
    int64_t end_wall_ns;
    uint64_t duration_ns;     /* monotonic */
    int64_t deadline_wall_ns; /* 0 if none */
    bool cold_start;
    uint8_t status;                     /* enum rt_status */
    int32_t exit_status;                /* `record`: exit code, or 128+signal */
    uint64_t seq;                       /* sequence number within the sandbox, from 0 */
    bool has_prev;                      /* false for the first bundle of a sandbox */
    uint8_t prev_digest[RT_DIGEST_LEN]; /* footer digest of the previous bundle */
    uint32_t coverage;                  /* RT_COV_* */
    uint64_t counters[RT_CTR__COUNT];
    /* OR of the RT_EF_* flags of the events dropped over the event limit (the writer adds
     * those it dropped): with the stored events' flags, the flags of every event seen. */
    uint32_t dropped_flags;
    char *arch; /* the recording machine: "x86_64", "aarch64" (RT_HOST_ARCH); how O_* flags
                 * are read. NULL in bundles older than the field: read as x86_64. */
    /* RT_CHAIN_END_*: whether more bundles of the sandbox may follow */
    uint8_t chain_end;
    /* CPU time (user + system, every thread) the recorder's own process used since the
     * previous bundle of its sandbox (the extension: its start, for the first bundle) up to
     * this bundle's META: what recording cost beside the function, measured where it ran. The
     * interposer's share inside the function's processes is not in it. 0: not measured. */
    uint64_t recorder_cpu_ns;
};

/* META chain_end: 0 the writer did not say (older recorders), 1 more bundles of this sandbox
 * may follow, 2 the last bundle of the sandbox (sealed at SHUTDOWN; every `record` bundle, a
 * whole chain of one), so a chain whose highest bundle says 1 is open or was cut. */
#define RT_CHAIN_END_UNKNOWN 0
#define RT_CHAIN_END_MORE 1
#define RT_CHAIN_END_LAST 2

/* ENV: one entry per variable. hash = HMAC-SHA256(key, value) (RUNTRAIL_HASH_KEY, or a random
 * per-sandbox key never stored; META hash_key_id names it); value is set only for
 * allow-listed, non-secret variables. */
struct rt_env_var {
    char *name;
    uint8_t hash[RT_DIGEST_LEN];
    char *value; /* NULL unless allow-listed */
};

/* CODE: digests of the code the function ran. */
struct rt_code {
    uint8_t task_root[RT_DIGEST_LEN];
    uint8_t layers[RT_DIGEST_LEN];
    uint32_t files;       /* files hashed */
    uint64_t bytes;       /* bytes hashed */
    char *task_root_path; /* LAMBDA_TASK_ROOT as seen */
};

/* How a payload was captured (RUNTRAIL_PAYLOAD). */
enum rt_payload_mode {
    RT_PAYLOAD_FULL = 0,
    RT_PAYLOAD_REDACTED = 1,
    RT_PAYLOAD_HASH = 2,
    RT_PAYLOAD_NONE = 3,
};
/* "full", "redacted", "hash", "none"; "unknown" out of range. */
const char *rt_payload_mode_name(unsigned mode);

/* EVENT (the invocation's input), RESPONSE and ERROR blocks. */
struct rt_payload {
    bool present;
    uint8_t mode;                  /* enum rt_payload_mode */
    uint64_t original_len;         /* length before redaction/truncation */
    uint8_t sha256[RT_DIGEST_LEN]; /* over the original bytes (before redaction) */
    uint8_t *data;                 /* stored bytes (after redaction, cut at the limit) */
    size_t len;
    char *content_type; /* may be NULL */
    char *error_type;   /* ERROR block only: errorType */
};

/* A name/value pair: Lambda-Runtime-* headers of the invocation. */
struct rt_header {
    char *name;
    char *value;
};

/* LOGS: one line the program wrote. stream: 1 stdout, 2 stderr. */
struct rt_log {
    int64_t ts_ns;
    uint8_t stream;
    struct rt_str text;
};

/* ---- writer ---- */

struct rt_limits {
    size_t max_events;    /* 0 = default 100000 */
    size_t max_payload;   /* per payload block; 0 = default 1 MiB */
    size_t max_log_bytes; /* 0 = default 256 KiB */
    size_t max_string;    /* per event string; 0 = default 4096 */
};

struct rt_writer;

/* NULL limits = defaults. Returns NULL only when out of memory. */
struct rt_writer *rt_writer_new(const struct rt_limits *limits);
void rt_writer_free(struct rt_writer *w);

/* Copies *meta (strings included). Counters in *meta are added to those the writer counts. */
int rt_writer_set_meta(struct rt_writer *w, const struct rt_meta *meta);
/* Adds to a META counter (degradations noticed after set_meta). */
void rt_writer_count(struct rt_writer *w, enum rt_counter counter, uint64_t n);
int rt_writer_add_env(struct rt_writer *w, const struct rt_env_var *var);
int rt_writer_set_code(struct rt_writer *w, const struct rt_code *code);
int rt_writer_add_header(struct rt_writer *w, const char *name, const char *value);
/* which: 'E' event (input), 'R' response, 'X' error. Data beyond max_payload is cut and
 * counted; original_len and sha256 are taken from *p as given (the caller knows the original). */
int rt_writer_set_payload(struct rt_writer *w, char which, const struct rt_payload *p);
/* Copies the strings. Over max_events the writer keeps the first half of the budget as it
 * came, then a ring of the latest events; an event leaving the ring is kept if
 * rt_event_matters() while such events fill at most half of the second half; the others are
 * dropped, counted in events_dropped, their flags ORed into META dropped_flags. Stored events
 * stay in the order given. Returns RT_OK for a dropped event too. */
int rt_writer_add_event(struct rt_writer *w, const struct rt_event *ev);
/* Whether an event matters to a responder even in a flood: any flag, the process tree
 * (start, exit, exec, spawn, system, popen, kill), connection summaries (outbound, inbound),
 * the security family (setuid, ptrace, memfd_create) and invocation marks. */
bool rt_event_matters(const struct rt_event *ev);
int rt_writer_add_log(struct rt_writer *w, int64_t ts_ns, int stream, const char *text, size_t len);
size_t rt_writer_event_count(const struct rt_writer *w);

/* Seals the bundle: serialises every block, appends the FOOTER (SHA-256 over all bytes
 * before it) and compresses to one zstd frame with content checksum at zstd `level`
 * (0 = default 3). On success *out is malloc'ed (caller frees) and digest (if not NULL)
 * receives the footer digest, which the next bundle of the sandbox carries as prev_digest.
 * The writer cannot be used afterwards except for rt_writer_free(). */
int rt_writer_finish(struct rt_writer *w, int level, uint8_t **out, size_t *out_len,
                     uint8_t digest[RT_DIGEST_LEN]);

/* ---- reader ---- */

struct rt_bundle {
    struct rt_meta meta;
    struct rt_env_var *env;
    size_t n_env;
    bool has_code;
    struct rt_code code;
    struct rt_header *headers;
    size_t n_headers;
    struct rt_payload event; /* input */
    struct rt_payload response;
    struct rt_payload error;
    struct rt_event *events; /* in stored order (by ts_ns) */
    size_t n_events;
    struct rt_log *logs;
    size_t n_logs;
    uint8_t digest[RT_DIGEST_LEN]; /* footer digest as stored (verified on open) */
    size_t compressed_len;
    size_t decompressed_len;
    unsigned unknown_blocks; /* blocks skipped for forward compatibility */
    void *priv_;             /* reader-owned memory */
};

/* Flags of rt_bundle_open_*_flags() (and rt_bundle_decode_raw()). */
#define RT_BUNDLE_NO_DIGEST 0x1u /* do not check the footer digest (fuzzing only) */
/* Decode META, ENV, CODE, HEADERS and the payloads only: STRINGS, EVENTS and LOGS are framed
 * (and the event count checked against RT_BUNDLE_MAX_EVENTS) but not decoded, n_events and
 * n_logs stay 0. The zstd checksum and the footer digest are verified as usual. For tools
 * that need no events: verify, listings, baselines over many bundles. */
#define RT_BUNDLE_NO_EVENTS 0x2u

/* Decodes and verifies (zstd checksum, footer digest) a bundle held in memory. The bundle
 * does not keep a reference to buf. Returns RT_OK and sets *out, or an RT_ERR_* with *ei
 * filled (offset into the decompressed stream, block index). */
int rt_bundle_open_mem(const void *buf, size_t len, struct rt_bundle **out, struct rt_errinfo *ei);
/* Same from a file; RT_ERR_IO with the errno text in ei->detail when it cannot be read. */
int rt_bundle_open_file(const char *path, struct rt_bundle **out, struct rt_errinfo *ei);
/* The same with RT_BUNDLE_NO_EVENTS in flags (other bits are ignored). */
int rt_bundle_open_mem_flags(const void *buf, size_t len, unsigned flags, struct rt_bundle **out,
                             struct rt_errinfo *ei);
int rt_bundle_open_file_flags(const char *path, unsigned flags, struct rt_bundle **out,
                              struct rt_errinfo *ei);
void rt_bundle_free(struct rt_bundle *b);

/* ---- event cursor: the events of a bundle as they are decompressed ---- */

/* A cursor decompresses the frame as the caller asks for events (ZSTD_decompressStream), so
 * the first events of a large bundle come before the rest of it has been read, and keeps a
 * checkpoint every RT_CURSOR_CHECKPOINT events so that seeking back costs at most that many
 * event decodes. It holds the decompressed stream read so far (events' strings point into it)
 * and one decoded event; not the event array. The footer digest and the zstd checksum can only
 * be confirmed at the end of the frame: until then every event is RT_CURSOR_UNVERIFIED. */
#define RT_CURSOR_CHECKPOINT 4096

enum rt_cursor_state {
    RT_CURSOR_UNVERIFIED = 0, /* the end of the bundle has not been reached yet */
    RT_CURSOR_VERIFIED,       /* whole bundle read: footer digest and zstd checksum match */
    RT_CURSOR_MISMATCH,       /* footer digest or zstd checksum mismatch: modified */
    RT_CURSOR_DAMAGED,        /* truncated or malformed: events after the damage are lost */
};

struct rt_cursor;

/* Opens a bundle file (or memory, which must stay valid until rt_cursor_free) and decodes
 * every block before the first EVENTS block (META, ENV, CODE, HEADERS, payloads, STRINGS).
 * Returns RT_OK and sets *out, or an RT_ERR_* with *ei filled (nothing before the events
 * could be read). */
int rt_cursor_open_file(const char *path, struct rt_cursor **out, struct rt_errinfo *ei);
int rt_cursor_open_mem(const void *buf, size_t len, struct rt_cursor **out, struct rt_errinfo *ei);
void rt_cursor_free(struct rt_cursor *c);
/* META and the blocks before the events (events and logs empty; LOGS, stored after the
 * events, the digest and the compressed/decompressed lengths are filled in once the cursor has
 * reached the footer). Owned by the cursor. */
const struct rt_bundle *rt_cursor_bundle(const struct rt_cursor *c);
/* The next event: RT_OK and *ev set (valid until the next call on c), or RT_OK and *ev NULL at
 * the end (the state then says whether the bundle verified). On damage returns the RT_ERR_*
 * with *ei filled, after every event before the damage has been returned; it is returned again
 * by later calls at that position. */
int rt_cursor_next(struct rt_cursor *c, const struct rt_event **ev, struct rt_errinfo *ei);
/* Positions the cursor so that the next rt_cursor_next() returns event `index` (0-based).
 * Back: from the nearest checkpoint; forward: decodes (and decompresses) up to it. Returns
 * RT_ERR_INVALID_ARG when the bundle has no such event, the damage's error when it lies before
 * the index. */
int rt_cursor_seek(struct rt_cursor *c, size_t index, struct rt_errinfo *ei);
/* Index of the event the next rt_cursor_next() returns. */
size_t rt_cursor_tell(const struct rt_cursor *c);
/* Events seen so far (all of them once *complete is true). */
size_t rt_cursor_known(const struct rt_cursor *c, bool *complete);
enum rt_cursor_state rt_cursor_state(const struct rt_cursor *c);

/* ---- lower-level entry points: verify, tests, fuzzing, benchmarks ---- */

/* Decodes a decompressed stream (header, blocks, footer). The bundle copies raw. */
int rt_bundle_decode_raw(const void *raw, size_t len, unsigned flags, struct rt_bundle **out,
                         struct rt_errinfo *ei);
/* Decompresses one zstd frame (content checksum required and verified, size capped at
 * RT_BUNDLE_MAX_DECOMPRESSED) into a malloc'ed *out. */
int rt_bundle_decompress(const void *buf, size_t len, uint8_t **out, size_t *out_len,
                         struct rt_errinfo *ei);
/* Reads a whole file (at most RT_BUNDLE_MAX_DECOMPRESSED bytes) into a malloc'ed *out. */
int rt_bundle_read_file(const char *path, uint8_t **out, size_t *out_len, struct rt_errinfo *ei);
/* Like rt_writer_finish() but returns the uncompressed stream (footer included). */
int rt_writer_finish_raw(struct rt_writer *w, uint8_t **out, size_t *out_len,
                         uint8_t digest[RT_DIGEST_LEN]);
/* Compresses a raw stream into one zstd frame with content checksum (level 0 = 3). */
int rt_bundle_compress(const uint8_t *raw, size_t raw_len, int level, uint8_t **out,
                       size_t *out_len);

/* The digests `ls --json`, the catalog and `export` show for a bundle, in lowercase hex
 * (2*RT_DIGEST_LEN+1 bytes): env, SHA-256 over each ENV variable's name, its NUL and its
 * keyed hash, in stored order; code, SHA-256 over CODE's task root and layers digests
 * (returns false and writes "" when the bundle has no CODE block). */
void rt_bundle_env_digest(const struct rt_bundle *b, char hex[2 * RT_DIGEST_LEN + 1]);
bool rt_bundle_code_digest(const struct rt_bundle *b, char hex[2 * RT_DIGEST_LEN + 1]);

/* Lowercase hex of a digest into out (2*RT_DIGEST_LEN+1 bytes); returns out. */
char *rt_digest_hex(const uint8_t digest[RT_DIGEST_LEN], char *out);

#endif
