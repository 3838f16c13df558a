/* The runtrail trace bundle (.rtb), one per invocation: the writer used by the recorder and
 * the reader used by every offline tool. The byte layout is specified in docs/format.md.
 *
 * Writer: bounded memory. Events, payload bytes and log bytes beyond the limits are not
 * stored; each overflow is counted in the META counters instead of failing.
 * Reader: hostile input never reads outside the buffer, crashes, loops or allocates without
 * bound (allocation is bounded by a small multiple of the decompressed size, itself capped by
 * RT_BUNDLE_MAX_DECOMPRESSED). A successfully opened bundle is fully decoded: all its fields
 * are plain data owned by the struct rt_bundle and valid until rt_bundle_free(). */
#ifndef RUNTRAIL_FORMATS_BUNDLE_H
#define RUNTRAIL_FORMATS_BUNDLE_H

#include "formats/error.h"
#include "formats/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_BUNDLE_VERSION 1
#define RT_DIGEST_LEN 32                                /* SHA-256 */
#define RT_BUNDLE_MAX_DECOMPRESSED (256u * 1024 * 1024) /* reader refuses larger */
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

/* META: strings are NUL-terminated (the writer cuts at an embedded NUL); NULL = absent. */
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
    char *error_type; /* status ERROR/CRASH: the error type */
    char *command;    /* `record`: the command line, arguments joined by spaces */
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
    char *arch; /* the recording machine: "x86_64", "aarch64" (RT_HOST_ARCH); how O_* flags
                 * are read. NULL in bundles older than the field: read as x86_64. */
};

/* ENV: one entry per variable. hash = HMAC-SHA256(key, value) (RUNTRAIL_HASH_KEY, or the
 * sandbox id); value is set only for allow-listed, non-secret variables. */
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
/* Copies the strings. Over max_events: not stored, counted, returns RT_OK. */
int rt_writer_add_event(struct rt_writer *w, const struct rt_event *ev);
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

/* Decodes and verifies (zstd checksum, footer digest) a bundle held in memory. The bundle
 * does not keep a reference to buf. Returns RT_OK and sets *out, or an RT_ERR_* with *ei
 * filled (offset into the decompressed stream, block index). */
int rt_bundle_open_mem(const void *buf, size_t len, struct rt_bundle **out, struct rt_errinfo *ei);
/* Same from a file; RT_ERR_IO with the errno text in ei->detail when it cannot be read. */
int rt_bundle_open_file(const char *path, struct rt_bundle **out, struct rt_errinfo *ei);
void rt_bundle_free(struct rt_bundle *b);

/* ---- lower-level entry points: verify, tests, fuzzing, benchmarks ---- */

/* Flags for rt_bundle_decode_raw(). */
#define RT_BUNDLE_NO_DIGEST 0x1u /* do not check the footer digest (fuzzing only) */

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

/* Lowercase hex of a digest into out (2*RT_DIGEST_LEN+1 bytes); returns out. */
char *rt_digest_hex(const uint8_t digest[RT_DIGEST_LEN], char *out);

#endif
