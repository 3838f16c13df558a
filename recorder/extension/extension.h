/* The runtrail Lambda extension's internal interfaces: the RUNTRAIL_* configuration table,
 * payload redaction, the once-per-sandbox environment and code digests, the Runtime API proxy
 * and the sealer that turns finished invocations into bundles. main.c ties them together with
 * the Extensions API client (also in main.c). Everything here is library code: it returns RT_ERR_*
 * codes and counts degradations, it never prints to the function's logs except through the
 * one diagnostic helper in main.c. */
#ifndef RUNTRAIL_RECORDER_EXTENSION_H
#define RUNTRAIL_RECORDER_EXTENSION_H

#include "formats/bundle.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- configuration (config.c) ---- */

/* The RUNTRAIL_* settings. Columns: field, variable, default, parser, documentation.
 * Parsers: str (any text), size (bytes, with optional k/m/g suffix), port (1..65535),
 * bool (0/1/true/false/yes/no), ratio (0..1), payload (full|redacted|hash|none). */
#define RT_EXT_CONFIG(_)                                                                           \
    _(store, "RUNTRAIL_STORE", "/tmp/runtrail-data", str,                                          \
      "Where sealed bundles go: `s3://bucket/prefix`, `file:///dir` or a folder.")                 \
    _(payload, "RUNTRAIL_PAYLOAD", "redacted", payload,                                            \
      "How event, response and error payloads are kept: `redacted` (values of sensitive keys "     \
      "replaced by a keyed hash, see Secrets below), `full` (everything, only when asked for), "   \
      "`hash` (SHA-256 and length only) or `none`.")                                               \
    _(redact, "RUNTRAIL_REDACT", "", str,                                                          \
      "Comma-separated JSON keys (matched at any depth, case-insensitively) or dotted paths from " \
      "the root (`ssn,body.card.number`) redacted in addition to the built-in list. Setting it "   \
      "implies `redacted`. Arrays are transparent; a string holding JSON (API Gateway `body`) is " \
      "searched too.")                                                                             \
    _(max_payload, "RUNTRAIL_MAX_PAYLOAD", "1m", size,                                             \
      "Bytes of each payload stored; longer payloads are cut (length and SHA-256 of the "          \
      "whole payload are kept).")                                                                  \
    _(max_events, "RUNTRAIL_MAX_EVENTS", "100000", count,                                          \
      "Behaviour events kept per bundle. Over it the first half of the budget is kept as it "      \
      "came, then the latest events; events that matter to a responder (any flag, the process "    \
      "tree, connection summaries, the security family, invocation marks) are kept first. The "    \
      "others are dropped, counted in `events_dropped`, their flags kept in META "                 \
      "`dropped_flags`.")                                                                          \
    _(spool_max, "RUNTRAIL_SPOOL_MAX", "64m", size,                                                \
      "Bytes of bundles kept in the /tmp spool while the store is unreachable.")                   \
    _(spool_dir, "RUNTRAIL_SPOOL_DIR", "/tmp/runtrail-spool", str, "Folder of the spool.")         \
    _(proxy_port, "RUNTRAIL_PROXY_PORT", "9009", port,                                             \
      "Port of the Runtime API proxy on 127.0.0.1 (taken: a free port instead).")                  \
    _(sse, "RUNTRAIL_SSE", "", str,                                                                \
      "S3 server-side encryption: `AES256` (also when empty), `aws:kms` (the account's key), "     \
      "`aws:kms:KEYID`, or `none` (no SSE header: the bucket's default encryption applies).")      \
    _(hash_key, "RUNTRAIL_HASH_KEY", "", str,                                                      \
      "Key of the HMAC-SHA256 hashes (environment values, redacted fields, argv and URL "          \
      "secrets), "                                                                                 \
      "at least 16 bytes, so hashes compare across sandboxes (empty: a random key per sandbox, "   \
      "kept in memory only).")                                                                     \
    _(hash_key_file, "RUNTRAIL_HASH_KEY_FILE", "", str,                                            \
      "A file holding that key (trailing newlines and spaces ignored), read once at start.")       \
    _(sample, "RUNTRAIL_SAMPLE", "1", ratio,                                                       \
      "Fraction of invocations to keep. Always kept: a cold start, a status other than ok, and "   \
      "any invocation with a security flag (environ_read, exec_tmp, ...). The others are counted " \
      "in the next kept bundle's `sampled_out`; the chain stays gap-free.")                        \
    _(disable, "RUNTRAIL_DISABLE", "0", bool,                                                      \
      "1: the extension registers and does nothing else; the wrapper runs the runtime as is.")     \
    _(run_dir, "RUNTRAIL_RUN_DIR", "", str,                                                        \
      "Folder of the ready file the wrapper reads and of the runtime's pid file (empty: "          \
      "`/tmp/runtrail-PORT`, PORT from AWS_LAMBDA_RUNTIME_API, 9001 in Lambda, so that local "     \
      "sandboxes sharing one /tmp never meet). The event ring is in memory; only where that "      \
      "fails (no memfd or /proc) is it a file here.")                                              \
    _(ring_slots, "RUNTRAIL_RING_SLOTS", "2048", count,                                            \
      "Size of the event ring in 1 KiB units, rounded to a power of two: room for at least "       \
      "that many records, 5-8 times as many of the usual size (0: the ring's default).")           \
    _(flush_wait_ms, "RUNTRAIL_FLUSH_WAIT_MS", "250", ms,                                          \
      "After an invocation's response, how long the extension may hold its event/next so the "     \
      "bundle is sealed and stored before Lambda can freeze the sandbox, in milliseconds (the "    \
      "response is not delayed; the invocation's post-runtime duration is). 0: do not hold; a "    \
      "bundle not sealed before the freeze is then finished when the sandbox thaws or at "         \
      "SHUTDOWN. The default covers an S3 PutObject; an S3 that is down or slow costs an "         \
      "invocation at most this much, and only while its first failing put retries: after that, "   \
      "S3 "                                                                                        \
      "is not tried for 5 s (doubling to 60 s) and bundles are spooled at once (docs/store.md). "  \
      "The hold always ends 50 ms before the invocation's deadline (Lambda's timeout covers it).") \
    _(drain_ms, "RUNTRAIL_DRAIN_MS", "20", ms,                                                     \
      "How often the extension empties the event ring between seals, in milliseconds (0: the "     \
      "default). A larger ring tolerates a larger value; a record that finds the ring full is "    \
      "dropped and counted in `ring_dropped`.")                                                    \
    _(layers_dir, "RUNTRAIL_LAYERS_DIR", "/opt", str,                                              \
      "Layers folder hashed into the CODE digest (runtrail's own files excluded).")                \
    _(proc_sample_ms, "RUNTRAIL_PROC_SAMPLE_MS", "5", ms,                                          \
      "How often the extension looks in /proc at the processes the interposer cannot enter (a "    \
      "static or Go runtime or child): their program, working folder, open files and sockets, "    \
      "recorded flagged `sampled`, in milliseconds (0: never). A connection shorter than this "    \
      "can be missed. While every process of the runtime's tree records itself and nothing new "   \
      "is recorded, it looks every 50 ms instead (or every period, if longer): a process started " \
      "since would have been recorded, unless by a raw system call.")

typedef const char *rt_ext_cfg_str_t;
typedef uint64_t rt_ext_cfg_size_t;
typedef uint64_t rt_ext_cfg_count_t; /* events, slots: 100000, 100k, 1M */
typedef uint64_t rt_ext_cfg_ms_t;    /* milliseconds: 250, 250ms, 2s, 1m */
typedef uint16_t rt_ext_cfg_port_t;
typedef bool rt_ext_cfg_bool_t;
typedef double rt_ext_cfg_ratio_t;
typedef uint8_t rt_ext_cfg_payload_t; /* enum rt_payload_mode */

/* The key of every keyed hash runtrail stores (hashkey.c). Never written anywhere: bundles
 * carry only `id`, a fingerprint that says which hashes compare and reveals nothing of the
 * key. A key longer than HMAC-SHA256's block is kept as its SHA-256 (same HMAC). */
enum rt_ext_key_source {
    RT_EXT_KEY_NONE = 0,   /* no key could be made: values are replaced, never hashed */
    RT_EXT_KEY_RANDOM,     /* random, in memory only: hashes compare within one sandbox/run */
    RT_EXT_KEY_CONFIGURED, /* RUNTRAIL_HASH_KEY or RUNTRAIL_HASH_KEY_FILE */
};
#define RT_EXT_KEY_MIN_LEN 16
struct rt_ext_hash_key {
    uint8_t key[64];
    size_t len;
    uint8_t source; /* enum rt_ext_key_source */
    char id[40];    /* see rt_ext_hash_key_id; "" until first asked for */
};

struct rt_ext_config {
#define RT_EXT_CFG_FIELD(field, var, def, type, doc) rt_ext_cfg_##type##_t field;
    RT_EXT_CONFIG(RT_EXT_CFG_FIELD)
#undef RT_EXT_CFG_FIELD
    unsigned errors;            /* settings that did not parse (default used instead) */
    char error_names[256];      /* their variable names, comma-separated */
    struct rt_ext_hash_key key; /* from hash_key / hash_key_file, else random */
};

/* Fills *cfg from getenv (strings point into the environment or the defaults). A value that
 * does not parse is replaced by the default and counted in cfg->errors. Never fails. */
void rt_ext_config_load(struct rt_ext_config *cfg);
/* Same with a lookup function instead of getenv (tests). */
void rt_ext_config_load_from(struct rt_ext_config *cfg, const char *(*get)(const char *name));
/* Writes the Markdown table of docs/config.md. */
void rt_ext_config_doc(FILE *f);
/* The run folder for an empty RUNTRAIL_RUN_DIR: /tmp/runtrail-PORT, PORT being the digits
 * after the last ':' of runtime_api (else /tmp/runtrail). The wrapper computes the same. */
void rt_ext_default_run_dir(const char *runtime_api, char *out, size_t cap);
/* Payload mode names: "full", "redacted", "hash", "none"; -1 if unknown. */
int rt_ext_payload_mode_from_name(const char *name);
/* Counts a bad setting (cfg->errors, cfg->error_names). */
void rt_ext_config_note_error(struct rt_ext_config *cfg, const char *var);

/* ---- the hash key (hashkey.c) ---- */

/* Loads the key: RUNTRAIL_HASH_KEY, else the file RUNTRAIL_HASH_KEY_FILE, else a random key
 * from getrandom(). A configured key that is shorter than RT_EXT_KEY_MIN_LEN, a file that
 * cannot be read, or both variables set count as config errors (a random key is used, or
 * RUNTRAIL_HASH_KEY when both are set). Never fails. */
void rt_ext_hash_key_load(struct rt_ext_config *cfg);
/* Sets k from raw key bytes (source CONFIGURED or RANDOM). */
void rt_ext_hash_key_set(struct rt_ext_hash_key *k, const void *key, size_t len, uint8_t source);
/* The key's id for META hash_key_id: "configured:" or "sandbox:" + 16 hex of HMAC(key, label),
 * or "none". Computed at the first call and kept in k->id: the extension's first use of
 * OpenSSL's algorithms then happens on the sealer thread, after the first response, not on
 * the cold start's path (docs/deploy.md). */
const char *rt_ext_hash_key_id(struct rt_ext_hash_key *k);
/* A random key (source RANDOM); source NONE if no randomness is available. */
void rt_ext_hash_key_random(struct rt_ext_hash_key *k);
/* HMAC-SHA256(key, data); all zero with no key. */
void rt_ext_keyed_hash(const struct rt_ext_hash_key *k, const void *data, size_t len,
                       uint8_t out[32]);
/* The same from the process environment, for `runtrail record`. Returns NULL, or the name of
 * the variable that was not usable (a random key is then used). */
const char *rt_ext_hash_key_from_env(struct rt_ext_hash_key *k);
/* After the settings are read: the key, RUNTRAIL_REDACT checked and implying `redacted`. */
void rt_ext_config_secrets(struct rt_ext_config *cfg);

/* ---- payload capture and redaction (redact.c) ---- */

struct rt_redact {
    uint8_t mode;                      /* enum rt_payload_mode */
    const char *paths;                 /* RUNTRAIL_REDACT, added to the built-in list */
    const struct rt_ext_hash_key *key; /* of the replacement hashes */
};

/* Captures data[0..len) as a payload according to r: sets p->present, mode, original_len,
 * sha256 (over the original bytes; zero in `none` mode) and p->data/len (malloc'ed, caller
 * frees; NULL when nothing is stored). In `redacted` mode the values of sensitive keys (the
 * built-in list and r->paths) are replaced by keyed-hash tokens; a payload that cannot be
 * searched whole (not JSON and naming a sensitive key, nested deeper than the search goes)
 * is stored as `hash`. Returns RT_OK or an RT_ERR_* (the payload is then left without data).
 * redacted_fields (if not NULL) receives the number of values replaced. */
int rt_ext_capture_payload(const struct rt_redact *r, const uint8_t *data, size_t len,
                           struct rt_payload *p, unsigned *redacted_fields);
struct json_t;
/* The same, and *doc receives the parsed document that p->data holds (its sensitive values
 * replaced) when the payload was redacted as a JSON document; else NULL. The caller reads it
 * and json_decref()s it: the document is not parsed a second time. */
int rt_ext_capture_payload_doc(const struct rt_redact *r, const uint8_t *data, size_t len,
                               struct rt_payload *p, unsigned *redacted_fields,
                               struct json_t **doc);

/* The replacement for one payload value: "<redacted:hmac:" + 32 hex + ">" of the keyed hash
 * of bytes ("<redacted>" without a key). out needs RT_EXT_REDACTED_LEN + 1 bytes. */
#define RT_EXT_REDACTED_LEN (15 + 32 + 1)
void rt_ext_redacted_token(const struct rt_ext_hash_key *key, const void *bytes, size_t len,
                           char out[RT_EXT_REDACTED_LEN + 1]);

/* Whether a key name is sensitive: the built-in list (matched on the name lower-cased with
 * every character but letters and digits removed, `%XX` decoded: `X-Api-Key`, `dbPassword`,
 * `client_secret`), or one of the plain names of user_list (RUNTRAIL_REDACT, normalised the
 * same way, equal). */
bool rt_ext_sensitive_name(const char *name, size_t len, const char *user_list);
/* A JSON text outside a payload (`curl -d '{"password":...}'`): returns the number of values
 * replaced and sets *out (malloc'ed, NUL-terminated) to the redacted document; 0 when s is not
 * JSON or names nothing sensitive; -1 when it is JSON that cannot be searched whole (the caller
 * must then not keep it). */
int rt_ext_redact_json(const struct rt_ext_hash_key *key, const char *user_list, const char *s,
                       size_t len, char **out);
/* Checks a RUNTRAIL_REDACT value: 0 if every entry is usable, else -1 (empty path segments,
 * too many entries or segments). */
int rt_ext_redact_list_check(const char *list);
/* Writes the Secrets section of docs/config.md: the scheme and the built-in list. */
void rt_ext_secrets_doc(FILE *f);

/* ---- secrets outside payloads (redact_args.c) ---- */

/* The replacement for a value in argv, a command line or a URL: "hmac:" + 32 hex. */
#define RT_EXT_ARG_TOKEN_LEN (5 + 32)
/* Rewrites the secrets of one behaviour event in place: argv (exec, spawn, proc_start),
 * shell command strings (system, popen) and HTTP request lines (outbound, inbound), chosen by
 * the op table's slot roles (RT_ROLE_ARGV, _COMMAND, _HTTP). A rewritten string is put in *scratch
 * (grown with realloc; caller frees; valid until the next call) and ev->str[i] points at it.
 * Returns the number of values replaced. user_list: RUNTRAIL_REDACT (may be NULL). */
unsigned rt_ext_redact_event(const struct rt_ext_hash_key *key, const char *user_list,
                             struct rt_event *ev, char **scratch, size_t *scratch_cap);
/* The same on one string: kind 'a' argv (elements joined by NUL), 's' a shell command line,
 * 'h' an HTTP request line (+ headers). Returns a malloc'ed string in *out (length *out_len)
 * when something was replaced (the count), else 0 and *out NULL. A count with *out NULL means
 * memory ran out: the caller must drop the string (it may hold secrets). */
unsigned rt_ext_redact_text(const struct rt_ext_hash_key *key, const char *user_list, char kind,
                            const char *in, size_t len, char **out, size_t *out_len);
/* argv as one line, elements joined by spaces, secrets replaced (META `command`). malloc'ed;
 * NULL when out of memory. */
char *rt_ext_redacted_command(const struct rt_ext_hash_key *key, const char *user_list,
                              char *const *argv);

/* ---- environment, code, runtime (envinfo.c) ---- */

/* True when a variable's value may be stored in clear (non-secret Lambda variables). */
bool rt_ext_env_allowed(const char *name);
/* The function's own access key id (AWS_ACCESS_KEY_ID in envp, or in this process's
 * environment when envp is NULL) when it looks like one (4 to 128 upper-case letters and
 * digits), for META access_key_id; else NULL. The key id is an identifier, not a secret; it is
 * left out when it equals AWS_SECRET_ACCESS_KEY (compared, never kept). */
const char *rt_ext_own_key_id(char *const *envp);
/* Hashes every NAME=VALUE of envp (NULL-terminated) into *out (malloc'ed array, caller frees
 * with rt_ext_env_free). RUNTRAIL_HASH_KEY itself is left out (of the ENV block too). */
int rt_ext_env_collect(char *const *envp, const struct rt_ext_hash_key *key,
                       struct rt_env_var **out, size_t *n_out);
void rt_ext_env_free(struct rt_env_var *vars, size_t n);
/* Digest of a folder tree: sorted walk, each regular file contributes its relative path and
 * the SHA-256 of its content; symlinks contribute their target. Paths for which skip()
 * returns true are left out. A missing folder gives the digest of nothing. */
int rt_ext_tree_digest(const char *root, bool (*skip)(const char *rel), uint8_t out[32],
                       uint32_t *files, uint64_t *bytes);
/* Code digest of the task root and the layers folder (runtrail's files excluded). */
int rt_ext_code_digest(const char *task_root, const char *layers_dir, struct rt_code *code);

/* ---- one invocation as the proxy saw it ---- */

struct rt_ring_cut;
struct rt_ext_invocation {
    char *request_id;
    struct rt_header *headers; /* Lambda-Runtime-* headers of invocation/next */
    size_t n_headers;
    uint8_t *event;
    size_t event_len;
    char *event_type; /* Content-Type of the event */
    uint8_t *result;  /* response or error body */
    size_t result_len;
    char *result_type;     /* Content-Type of the result */
    char *error_type;      /* Lambda-Runtime-Function-Error-Type or errorType */
    uint8_t *stream_error; /* streamed response failed: the error body from the trailers */
    size_t stream_error_len;
    bool is_error;       /* result is an error (through /error) */
    bool init_error;     /* /runtime/init/error: no event */
    bool result_pending; /* result received, being forwarded upstream */
    uint8_t status;      /* enum rt_status */
    int64_t start_mono_ns, end_mono_ns;
    int64_t start_wall_ns, end_wall_ns;
    int64_t deadline_wall_ns;
    bool cold_start;
    bool shutdown; /* not an invocation: activity after the last one, sealed at SHUTDOWN */
    struct rt_ring_cut *conn_cut; /* the connections at its end (rt_ext_sealer_cut), or NULL */
};
void rt_ext_invocation_free(struct rt_ext_invocation *inv);

/* ---- the function's log lines through the Telemetry API (telemetry.c) ---- */

struct rt_ext_logs;
struct rt_writer;

/* Creates the holder of the function's log lines, not listening yet: the listener starts
 * with rt_ext_logs_subscribe, after register, so that neither its name lookup nor its thread
 * delays the registration (the function's cold start). Thread-safe. */
int rt_ext_logs_create(struct rt_ext_logs **out);
/* Starts the listener Lambda delivers telemetry to (sandbox.localdomain's address, else
 * 127.0.0.1; a free port) unless it runs, then PUT /2022-07-01/telemetry for "function"
 * records (after register, during init). 0 or -1. */
int rt_ext_logs_subscribe(struct rt_ext_logs *l, const char *runtime_api, const char *ext_id);
/* Marks an invocation's start (the proxy, as it hands the runtime an event or seals one the
 * runtime never took): lines at or after it belong to that invocation or a later one. A start
 * not after the last one marked is ignored. NULL l does nothing. */
void rt_ext_logs_mark(struct rt_ext_logs *l, int64_t start_mono_ns);
/* Moves the held lines of the invocation that started at start_mono_ns into w (NULL: drops
 * them) as stdout lines, times relative to its start: every held line before the next start
 * marked, all of them when none is. Returns the log bytes dropped since the last call (held
 * over the bound). NULL l does nothing. */
uint64_t rt_ext_logs_write(struct rt_ext_logs *l, struct rt_writer *w, int64_t start_mono_ns);
void rt_ext_logs_stop(struct rt_ext_logs *l);
/* Parses one Telemetry API delivery (telemetry_parse.c): calls line() for each "function"
 * record with its time (Unix ns; 0 when absent or unparsable) and its text (not
 * NUL-terminated; a JSON object record as compact JSON). Returns the number of lines. */
size_t rt_ext_telemetry_records(const char *body, size_t len,
                                void (*line)(void *arg, int64_t wall_ns, const char *text,
                                             size_t len),
                                void *arg);

/* ---- the sealer (sealer.c): a thread that turns invocations into bundles ---- */

struct rt_ring;
struct rt_ext_sealer;

struct rt_ext_sealer_options {
    const struct rt_ext_config *cfg;
    struct rt_ring *ring; /* may be NULL (no preload coverage) */
    const char *sandbox_id;
    const char *proxy_addr;   /* "127.0.0.1:PORT": the runtime's traffic to it is not kept */
    struct rt_ext_logs *logs; /* the function's log lines (LOGS block); may be NULL */
    uint64_t initial_counters[RT_CTR__COUNT]; /* degradations seen at start (config errors) */
};

/* The sealer, without its thread yet (rt_ext_sealer_registered starts it): invocations can be
 * handed over from here on and wait for it. */
int rt_ext_sealer_new(const struct rt_ext_sealer_options *o, struct rt_ext_sealer **out);
/* The extension has registered: starts the sealer's thread, which first fills the ring's page
 * cache (so neither the thread's creation nor the filling is in the cold start's path before
 * register, nor in the register round trip). If the thread cannot start, every invocation is
 * dropped from then on. NULL s does nothing; a second call does nothing. */
void rt_ext_sealer_registered(struct rt_ext_sealer *s);
/* Hands a finished invocation over (ownership moves). Never blocks on I/O. An invocation
 * without a cut gets one now. */
void rt_ext_sealer_submit(struct rt_ext_sealer *s, struct rt_ext_invocation *inv);
/* The connections producers hold, cut now (rt_ring_cut_conns): for the invocation whose
 * result has just arrived, before anything else can use them. NULL without a ring. Any
 * thread. */
struct rt_ring_cut *rt_ext_sealer_cut(struct rt_ext_sealer *s);
/* An invocation began at start_mono_ns (the proxy, once it is in flight): bounds the log
 * lines the previous one takes (rt_ext_logs_mark). NULL s does nothing. */
void rt_ext_sealer_began(struct rt_ext_sealer *s, int64_t start_mono_ns);
/* Adds to a counter carried by the next bundle. Thread-safe. */
void rt_ext_sealer_count(struct rt_ext_sealer *s, enum rt_counter c, uint64_t n);
/* Seals everything queued, flushes the spool and stops the thread, giving up at
 * deadline_mono_ns (CLOCK_MONOTONIC). Returns the number of bundles stored. */
int rt_ext_sealer_stop(struct rt_ext_sealer *s, int64_t deadline_mono_ns);
/* Bundles sealed so far (for tests and the bench). */
uint64_t rt_ext_sealer_sealed(struct rt_ext_sealer *s);
/* Waits until the invocation request_id has been dealt with (sealed and stored or spooled,
 * sampled out, or dropped), until deadline_mono_ns, or, when it had not been handed over yet,
 * until it is (its seal's time bound starts then). Returns 1 when it has been dealt with, else
 * 0. *submitted_ns is set to when the proxy handed it over (CLOCK_MONOTONIC; 0: not yet). */
int rt_ext_sealer_wait_done(struct rt_ext_sealer *s, const char *request_id,
                            int64_t deadline_mono_ns, int64_t *submitted_ns);

/* Whether the libraries that seal a bundle (libcrypto, libzstd) are there. The extension loads
 * them at their first use (seal_lazy.c, which defines this); elsewhere they are linked, and the
 * sealer's weak definition says yes. */
bool rt_ext_seal_libs_ready(void);

/* ---- the HTTP client of the loopback APIs (http.c) ---- */

/* One thread's client of one "host:port", on a kept-alive HTTP/1.1 connection (libevent). */
struct rt_ext_http;
struct rt_ext_http_request {
    const struct rt_header *headers; /* besides Host and Content-Length, which it adds */
    size_t n_headers;
    const void *body;
    size_t len;
    uint64_t timeout_ms; /* connect, and each read or write; 0: none (a long poll) */
    size_t max_body;     /* of the answer; 0: no limit */
};
struct rt_ext_http_reply {
    int status;                /* the HTTP status; 0 when nothing came back */
    struct rt_header *headers; /* as received, in order */
    size_t n_headers;
    uint8_t *body; /* NUL-terminated */
    size_t len;
    bool overflow; /* the answer's body was over max_body */
};
/* NULL when hostport is not "host:port" or out of memory. */
struct rt_ext_http *rt_ext_http_new(const char *hostport);
void rt_ext_http_free(struct rt_ext_http *c);
/* Sends METHOD target (path and query) and waits for the whole answer. Returns 0 with
 * out->status set, or -1 (out->status 0): unreachable, no answer, timed out, a method evhttp
 * does not know, a header with a line break. A kept-alive connection the peer had closed is
 * retried once on a new one. Free out with rt_ext_http_reply_free in both cases. */
int rt_ext_http_call(struct rt_ext_http *c, const char *method, const char *target,
                     const struct rt_ext_http_request *rq, struct rt_ext_http_reply *out);
void rt_ext_http_reply_free(struct rt_ext_http_reply *r);
/* Frees n headers (each name and value) and the array. */
void rt_ext_headers_free(struct rt_header *h, size_t n);
/* The first header of that name (any case), or NULL. */
const char *rt_ext_http_header(const struct rt_ext_http_reply *r, const char *name);

/* ---- the Runtime API proxy (proxy.c) ---- */

struct rt_ext_proxy;

struct rt_ext_proxy_options {
    const char *upstream;         /* host:port of the real Runtime API */
    uint16_t port;                /* on 127.0.0.1; 0 = any free port */
    int listen_fd;                /* from rt_ext_proxy_listen (the proxy owns it), or -1 */
    struct rt_ext_sealer *sealer; /* NULL: pure pass-through */
    const char *run_dir; /* the runtime.pid folder, read at the runtime's first request (its
                          * pid is then known before any handler runs); NULL: not read */
};

/* A listening socket on 127.0.0.1:port; when that port is taken (another process, or a port
 * picked as free by someone who lost the race for it), on a free loopback port instead, and
 * *fell_back is set: the wrapper reads the proxy's port from the ready file, so the runtime
 * is recorded either way. *bound is the port. Returns the socket, or -1 (errno). */
int rt_ext_proxy_listen(uint16_t port, uint16_t *bound, bool *fell_back);

int rt_ext_proxy_start(const struct rt_ext_proxy_options *o, struct rt_ext_proxy **out,
                       struct rt_errinfo *ei);
uint16_t rt_ext_proxy_port(const struct rt_ext_proxy *p);
/* Ends the invocation in flight (SHUTDOWN or a new INVOKE without a response), or the one
 * announced and never taken: status is RT_STATUS_TIMEOUT, RT_STATUS_CRASH or RT_STATUS_ERROR
 * (an invocation that answered with an error keeps ERROR); it is handed to the sealer. No-op
 * when none. */
void rt_ext_proxy_abort_inflight(struct rt_ext_proxy *p, uint8_t status, const char *error_type);
/* The Extensions API announced INVOKE request_id. If the runtime never takes it through
 * invocation/next (it dies or hangs in its init), rt_ext_proxy_abort_inflight seals it under
 * that id, cold start, with the init's activity; an init/error the runtime posted is renamed to
 * it. Ignored when the runtime already took it. */
void rt_ext_proxy_note_invoke(struct rt_ext_proxy *p, const char *request_id);
/* The request id of the invocation in flight is copied into buf ("" when none). */
void rt_ext_proxy_inflight_id(struct rt_ext_proxy *p, char *buf, size_t cap);
/* Whether the runtime has sent any request through the proxy (it runs behind it). */
bool rt_ext_proxy_runtime_seen(struct rt_ext_proxy *p);
void rt_ext_proxy_stop(struct rt_ext_proxy *p);

/* ---- helpers (util in sealer.c) ---- */
/* The runtime's pid as the wrapper wrote it (RUNTRAIL_RUN_DIR/runtime.pid) before exec'ing the
 * runtime; 0 when unknown. Once the file is gone (a function that cleared /tmp), the pid it
 * last named for that folder; and while that process lives, that pid whatever the file says
 * later (the function can write it). */
pid_t rt_ext_runtime_pid(const char *run_dir);

/* ---- /proc sampling of processes the interposer cannot enter (procwatch.c, procparse.c) ---- */

/* One socket of /proc/PID/net/{tcp,tcp6,udp,udp6}: addresses as "ip:port" ("[v6]:port"). */
struct rt_proc_sock {
    uint64_t inode;
    int state; /* TCP state number (1 established, 10 listen); UDP: 7 unconnected, 1 connected */
    char local[64], remote[64];
};
/* Finds the socket with inode in the text of one /proc/net table (v6 for tcp6/udp6): returns
 * true and fills *out, false when absent or the text is malformed. Never reads past len. */
bool rt_proc_net_find(const char *text, size_t len, bool v6, uint64_t inode,
                      struct rt_proc_sock *out);
/* The "flags:" value (octal open flags) of a /proc/PID/fdinfo/N text; -1 when absent. */
long rt_proc_fdinfo_flags(const char *text, size_t len);
/* The parent pid of a /proc/PID/stat text; -1 when malformed. */
long rt_proc_stat_ppid(const char *text, size_t len);
/* Whether an environment block (/proc/PID/environ: NUL-separated NAME=value entries, the last
 * maybe unterminated) loads the interposer into ring: the first LD_PRELOAD names the
 * interposer's file and the first RUNTRAIL_RING is ring. */
bool rt_proc_environ_interposed(const char *text, size_t len, const char *ring);

struct rt_ext_procwatch;
/* Starts the sampling thread (lowest priority): every period_ms it walks the process tree of
 * the runtime (RUN_DIR/runtime.pid) and, for each process without the interposer mapped,
 * writes what /proc shows into the ring at ring_path as events flagged RT_EF_SAMPLED. A tree
 * of covered processes that records nothing new is walked every 50 ms only (procwatch.c).
 * Returns NULL when it cannot start (nothing is sampled then). */
struct rt_ext_procwatch *rt_ext_procwatch_start(const char *ring_path, const char *run_dir,
                                                uint64_t period_ms);
/* Stops and joins the thread; returns the CPU time it used, in ns. NULL is a no-op. */
uint64_t rt_ext_procwatch_stop(struct rt_ext_procwatch *w);
/* How many times the process tree was walked so far (tests, bench). */
uint64_t rt_ext_procwatch_walks(struct rt_ext_procwatch *w);
int64_t rt_ext_now_mono_ns(void);
int64_t rt_ext_now_wall_ns(void);

#endif
