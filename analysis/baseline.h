/* Baselines: a profile of one function's normal behaviour, learned from a set of its
 * invocations, that `runtrail check` judges other invocations against and that a team reviews
 * and commits as "expected behaviour as code". What is learned (docs/baseline.md):
 *   - the programs run, each with its argv patterns (behaviour-key normalisation,
 *     analysis/keys.h; more than RT_BASELINE_MAX_ARGV patterns for one program become "*");
 *   - destinations: peers ip:port (ephemeral ports as `*`), host names (DNS, SNI, HTTP Host),
 *     HTTP request lines, each normalised;
 *   - file path patterns with the accesses seen (read, write, rw, create, delete, chmod,
 *     chown, load);
 *   - environment variable names with the keyed hashes of their values (more than
 *     RT_BASELINE_MAX_HASHES distinct hashes, or a name of RT_BASELINE_VOLATILE_ENV, become
 *     "*": not compared);
 *   - the code digests (task root, layers) per function version; runtimes, handlers, memory;
 *   - the input payload's shape: JSON key paths (arrays collapsed) and their value types;
 *   - ranges (min, p95 by nearest rank, max) of duration, event count and bytes sent;
 *   - the AWS API actions called (aws_call events: "service:Action").
 * Every string in a baseline is escaped as `show` escapes (formats/escape.h), so a baseline is
 * printable ASCII. The JSON document is stable: sorted keys and sorted arrays, one entry per
 * line, so learning twice from the same invocations gives the same bytes. */
#ifndef RUNTRAIL_ANALYSIS_BASELINE_H
#define RUNTRAIL_ANALYSIS_BASELINE_H

#include "formats/bundle.h"
#include "formats/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_BASELINE_VERSION 1
#define RT_BASELINE_MAX_ARGV 32                   /* argv patterns kept per program before "*" */
#define RT_BASELINE_MAX_HASHES 8                  /* hashes kept per variable before "*" */
#define RT_BASELINE_MAX_BYTES (64u * 1024 * 1024) /* a baseline file larger is refused */

/* Variables whose values change between sandboxes of one function by design (credentials, log
 * stream, trace header): their names are learned, their hashes never compared. */
#define RT_BASELINE_VOLATILE_ENV                                                                   \
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",                             \
        "AWS_LAMBDA_LOG_STREAM_NAME", "_X_AMZN_TRACE_ID", "AWS_LAMBDA_INITIALIZATION_TYPE"

/* The event flags that make an invocation suspicious: learning skips invocations with any of
 * them unless told otherwise (they are what `check`'s built-in rules report). */
#define RT_BASELINE_SECURITY_FLAGS                                                                 \
    (RT_EF_ENVIRON_READ | RT_EF_MEM_READ | RT_EF_EXEC_TMP | RT_EF_EXEC_MEMFD | RT_EF_LISTENING |   \
     RT_EF_PRIVILEGE)

/* Sets of strings (the baseline's vocabulary) */
struct rt_strset;

/* Ranges learned for one measure. */
struct rt_range {
    uint64_t min, p95, max;
    bool set;
};

enum rt_baseline_range { RT_RANGE_DURATION, RT_RANGE_EVENTS, RT_RANGE_BYTES_OUT, RT_RANGE__COUNT };
extern const char *const rt_baseline_range_names[RT_RANGE__COUNT]; /* "duration_ns", ... */

struct rt_baseline {
    char *function;
    uint64_t invocations;       /* learned from */
    struct rt_strset *programs; /* "program" */
    struct rt_strset *argv;     /* "program\targv pattern", or "program\t*" */
    struct rt_strset *peers, *hosts, *http;
    struct rt_strset *files;     /* "path pattern\taccess" */
    struct rt_strset *paths;     /* "path pattern" */
    struct rt_strset *env;       /* "NAME\thex", or "NAME\t*" */
    struct rt_strset *env_names; /* "NAME" */
    struct rt_strset *code;      /* "version\ttask_root hex\tlayers hex" */
    struct rt_strset *versions;  /* "version" */
    struct rt_strset *runtimes, *handlers, *memory;
    struct rt_strset *payload; /* "path\ttype" */
    struct rt_strset *payload_paths;
    struct rt_strset *aws_actions; /* "service:Action" of aws_call events */
    bool aws_learned; /* false for a document without aws_actions (learned before them) */
    struct rt_range range[RT_RANGE__COUNT];
    void *priv_; /* learning samples */
};

/* An empty baseline for function. NULL when out of memory. */
struct rt_baseline *rt_baseline_new(const char *function);
void rt_baseline_free(struct rt_baseline *bl);

/* Whether learning should skip b: it has an event flag of RT_BASELINE_SECURITY_FLAGS (set in
 * *flags, may be NULL). */
bool rt_baseline_suspicious(const struct rt_bundle *b, uint32_t *flags);

/* Adds b's behaviour to bl. RT_ERR_BASELINE_FUNCTION when b is of another function (bl is
 * unchanged); RT_ERR_NOMEM. */
int rt_baseline_learn(struct rt_baseline *bl, const struct rt_bundle *b);

/* The JSON document (NUL-terminated, malloc'ed, ends with a newline) in *out. Computes the
 * ranges from the samples learned so far. RT_OK or RT_ERR_NOMEM. */
int rt_baseline_to_json(struct rt_baseline *bl, char **out, size_t *len);

/* Parses a baseline document, strictly: every field present with its type, nothing unknown,
 * digests in hex. RT_ERR_BASELINE_VERSION for a version above RT_BASELINE_VERSION,
 * RT_ERR_BASELINE_INVALID (ei->detail names the field and line) otherwise. */
int rt_baseline_parse(const char *text, size_t len, struct rt_baseline **out,
                      struct rt_errinfo *ei);
/* Same from a file; RT_ERR_IO when unreadable. */
int rt_baseline_load(const char *path, struct rt_baseline **out, struct rt_errinfo *ei);

/* ---- what check and diff ask a baseline ---- */

bool rt_strset_has(const struct rt_strset *s, const char *text);
size_t rt_strset_count(const struct rt_strset *s);

/* Whether a file path pattern (escaped, normalised) with access is learned: exactly, or by a
 * learned pattern used as a glob (fnmatch, so a team may widen a pattern by hand). */
bool rt_baseline_has_file(const struct rt_baseline *bl, const char *path, const char *access);
/* Whether an argv pattern of program is learned (or the program's argv is "*"). */
bool rt_baseline_has_argv(const struct rt_baseline *bl, const char *program, const char *argv);
/* Whether code digests were learned for this function version (escaped). */
bool rt_baseline_code_learned(const struct rt_baseline *bl, const char *version);
/* Whether a variable's hashes are compared (learned with hashes, not "*", not volatile). */
bool rt_baseline_env_compared(const struct rt_baseline *bl, const char *name);

/* ---- the items of an invocation, as baselines and checks see them ---- */

/* What a file event does to its path(s): up to two (path, access) pairs (rename: delete the
 * old name, create the new). Returns how many; access strings are static. */
struct rt_file_access {
    struct rt_str path;
    const char *access;
};
size_t rt_event_file_access(const struct rt_event *ev, struct rt_file_access out[2]);
/* True for an access that changes the file system (write, rw, create, delete, chmod, chown). */
bool rt_access_writes(const char *access);

/* The normalised, escaped text of s (keys.h string rules) into buf; returns buf. */
const char *rt_baseline_norm(char *buf, size_t cap, struct rt_str s, const char *request_id);
/* A peer with its ephemeral port as `*`, escaped. */
const char *rt_baseline_norm_peer(char *buf, size_t cap, struct rt_str s);
/* A host name normalised (string rules), or as a peer when it is an address or host:port. */
const char *rt_baseline_norm_host(char *buf, size_t cap, struct rt_str s, const char *request_id);
/* The argv pattern: elements normalised, escaped, joined by spaces. */
const char *rt_baseline_norm_argv(char *buf, size_t cap, struct rt_str argv,
                                  const char *request_id);
/* The first line of an HTTP slot, normalised and escaped. */
const char *rt_baseline_norm_http(char *buf, size_t cap, struct rt_str s, const char *request_id);

/* Bytes sent over the invocation (sum of the bytes_out role). */
uint64_t rt_bundle_bytes_out(const struct rt_bundle *b);

#endif
