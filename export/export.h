/* runtrail export: bundles turned into what other tools read. Rows of two tables for query
 * engines (invocations, events; JSON lines or RFC 4180 CSV, optionally zstd-compressed), to a
 * stream or as Hive-partitioned part files (table=T/fn=F/dt=YYYY-MM-DD/part-....ext) in a
 * store (a folder or S3); and the Chrome/Perfetto trace-event JSON of a timeline. The
 * columns of both tables are the X-macro lists below: they produce the rows, the CSV header
 * and the schema tables of docs/export.md (`runtrail export --schema`), so they cannot drift
 * apart. Events are read with the streaming cursor: memory does not grow with the events of
 * a bundle or the number of bundles (open part files are bounded, each by part_max bytes). */
#ifndef RUNTRAIL_EXPORT_EXPORT_H
#define RUNTRAIL_EXPORT_EXPORT_H

#include "formats/error.h"
#include "formats/toolbox.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Column types: name in the docs, Athena type, DuckDB type. */
#define RT_EXPORT_TYPES(_)                                                                         \
    _(STRING, "string", "string", "VARCHAR")                                                       \
    _(INT, "integer", "bigint", "BIGINT")                                                          \
    _(REAL, "number", "double", "DOUBLE")                                                          \
    _(BOOL, "boolean", "boolean", "BOOLEAN")                                                       \
    _(TIME, "timestamp", "string", "TIMESTAMP")                                                    \
    _(LIST, "list of strings", "array<string>", "VARCHAR[]")                                       \
    _(OBJECT, "object", "string", "JSON")

enum rt_export_type {
#define _(id, doc, athena, duckdb) RT_EXPORT_T_##id,
    RT_EXPORT_TYPES(_)
#undef _
};

/* The invocations table: one row per bundle. Columns: name, type, meaning. */
#define RT_EXPORT_INVOCATION_COLUMNS(_)                                                            \
    _("function", STRING, "the function's name (META function; `record`: the command's name)")     \
    _("version", STRING, "the function version (`$LATEST`, `12`), null when unknown")              \
    _("request_id", STRING, "the invocation's request id")                                         \
    _("sandbox", STRING, "the execution environment's random id (the chain of its bundles)")       \
    _("seq", INT, "the bundle's sequence number within its sandbox, from 0")                       \
    _("start", TIME, "when the invocation started, UTC, ISO 8601 with microseconds")               \
    _("start_ns", INT, "the same in Unix nanoseconds (exact)")                                     \
    _("duration_ms", REAL, "how long the invocation took, milliseconds")                           \
    _("status", STRING, "ok, error, timeout, crash or unknown")                                    \
    _("error_type", STRING, "the error type of an error or crash, else null")                      \
    _("cold_start", BOOL, "the first invocation of its sandbox")                                   \
    _("runtime", STRING, "the runtime (AWS_EXECUTION_ENV or detected), null when unknown")         \
    _("region", STRING, "the AWS region, null when unknown")                                       \
    _("memory_mb", INT, "the configured memory, MB (0 when unknown)")                              \
    _("arch", STRING, "the recording machine: x86_64 or aarch64")                                  \
    _("events", INT, "events stored in the bundle (= its rows in the events table)")               \
    _("dropped", INT, "events the recorder could not keep (over the limit, ring full)")            \
    _("bytes_out", INT, "bytes the function sent (connection summaries, datagrams)")               \
    _("bytes_in", INT, "bytes the function received on its outbound connections")                  \
    _("destinations", LIST,                                                                        \
      "distinct outbound destinations, host:port (the DNS name, TLS SNI or HTTP Host when "        \
      "known, else the IP), in order of first use; connect() targets when there is no summary")    \
    _("peer_ips", LIST, "distinct IP addresses the function connected to (outbound, connect)")     \
    _("programs", LIST, "distinct programs that ran: each process's exe, every exec'd path")       \
    _("flags", LIST, "distinct event flags seen (environ_read, exec_tmp, ...; docs/format.md)")    \
    _("env_digest", STRING, "SHA-256 over the environment's names and keyed value hashes, hex")    \
    _("code_digest", STRING, "SHA-256 over the task root and layers digests, hex; null if none")   \
    _("digest", STRING, "the bundle's footer digest, hex: its identity")                           \
    _("verified", BOOL, "the whole bundle was read and its checksums and digest match")            \
    _("bundle", STRING, "where the bundle file was read from")                                     \
    _("recorder_cpu_ms", REAL,                                                                     \
      "CPU time the recorder's own process used since the previous bundle of the sandbox, ms "     \
      "(META recorder_cpu_ns: the extension's share of recording beside the function); null in "   \
      "bundles of recorders that did not measure it")

/* The events table: one row per event of every bundle. The columns from path to fd are the
 * op's argument roles (docs/format.md, "Roles"), null when the op has no such argument. */
#define RT_EXPORT_EVENT_COLUMNS(_)                                                                 \
    _("function", STRING, "the function's name (as in invocations)")                               \
    _("request_id", STRING, "the invocation's request id (joins invocations)")                     \
    _("seq", INT, "the event's position in its bundle, from 0 (bundles are in time order)")        \
    _("time", TIME, "when the call started, UTC, ISO 8601 with microseconds")                      \
    _("wall_ns", INT, "the same in Unix nanoseconds: the invocation's start + ts_ns")              \
    _("ts_ns", INT, "nanoseconds since the invocation started (negative: before it)")              \
    _("dur_ns", INT, "how long the call took, ns (proc_start: the interposer's start there)")      \
    _("pid", INT, "the process id")                                                                \
    _("tid", INT, "the thread id")                                                                 \
    _("kind", STRING, "proc, file, net, sec, mark or log")                                         \
    _("op", STRING, "the operation: openat, connect, outbound, execve, ... (docs/format.md)")      \
    _("result", INT, "the call's return value, or -errno")                                         \
    _("errno", STRING, "the error's name (ENOENT, ...) when result is one, else null")             \
    _("flags", LIST, "the event's flags (environ_read, exec_tmp, ...)")                            \
    _("path", STRING, "the file the call acts on (rename, link: the old name)")                    \
    _("path2", STRING, "the second file: the new name of rename and link, symlink's link path")    \
    _("program", STRING, "the program that runs: the exe of a process, the path of an exec")       \
    _("argv", LIST, "the program's arguments")                                                     \
    _("command", STRING, "a shell command line (system, popen)")                                   \
    _("peer", STRING, "the remote address, ip:port ([v6]:port)")                                   \
    _("peer_ip", STRING, "the IP of peer (an IPv6 address without brackets)")                      \
    _("peer_port", INT, "the port of peer")                                                        \
    _("local", STRING, "a local address, ip:port (bind, listen, what an inbound peer reached)")    \
    _("host", STRING, "a host name: the DNS query, the TLS SNI or HTTP Host of a connection")      \
    _("http", STRING, "plaintext HTTP request line + Host + status line")                          \
    _("answers", STRING, "the addresses a DNS name resolved to")                                   \
    _("bytes_out", INT, "bytes the program sent")                                                  \
    _("bytes_in", INT, "bytes the program received")                                               \
    _("fd", INT, "a file descriptor")                                                              \
    _("args", OBJECT, "every argument of the call by its name, as `runtrail show --json` has it")

enum rt_export_table { RT_EXPORT_INVOCATIONS = 0, RT_EXPORT_EVENTS = 1, RT_EXPORT__TABLES };
enum rt_export_format { RT_EXPORT_JSONL = 0, RT_EXPORT_CSV, RT_EXPORT_PERFETTO };

struct rt_export_column {
    const char *name;
    enum rt_export_type type;
    const char *doc;
};
/* The columns of table t; *n receives their count. */
const struct rt_export_column *rt_export_columns(enum rt_export_table t, size_t *n);
/* "invocations", "events"; and back (-1 when unknown). */
const char *rt_export_table_name(enum rt_export_table t);
int rt_export_table_from_name(const char *name);
/* The documentation of a column type: its name in docs, Athena and DuckDB. */
const char *rt_export_type_doc(enum rt_export_type t);
const char *rt_export_type_athena(enum rt_export_type t);
const char *rt_export_type_duckdb(enum rt_export_type t);
/* Writes the Markdown table of table t's columns (| column | type | meaning |) to f. */
void rt_export_schema_markdown(enum rt_export_table t, FILE *f);
/* The columns as DuckDB's read_json(columns = {...}) struct, and as the column list of an
 * Athena CREATE EXTERNAL TABLE (docs/fleet.md holds both verbatim; tests check it). */
void rt_export_schema_duckdb(enum rt_export_table t, FILE *f);
void rt_export_schema_athena(enum rt_export_table t, FILE *f);

/* One CSV cell (RFC 4180): as is when it needs no quotes; else in double quotes with inner
 * quotes doubled (a comma, a quote, CR or LF inside). A NUL byte becomes U+FFFD. With
 * formula_guard, a cell starting with = + - @ TAB or CR gets a leading ' (OWASP's advice for
 * files opened in a spreadsheet). Returns RT_OK or RT_ERR_NOMEM. */
int rt_export_csv_cell(struct rt_buf *b, const char *s, size_t len, bool formula_guard);

struct rt_export_options {
    enum rt_export_format format;
    unsigned tables; /* bits 1u << RT_EXPORT_INVOCATIONS / EVENTS (jsonl, csv) */
    bool zstd;       /* compress the output (one zstd frame per stream or part) */
    int zstd_level;  /* 0 = 3 */
    bool csv_formula_guard;
    /* Where to: exactly one. */
    FILE *stream;           /* one table, or the perfetto document */
    struct rt_store *store; /* part files below it, Hive-partitioned */
    const char *prefix;     /* key prefix of the part files in the store ("" or "export") */
    size_t part_max;        /* bytes written to a part before it is closed; 0 = 64 MiB */
    bool grouped;           /* the bundles come grouped by function and day (sorted): a
                             * partition's parts are closed when the next one begins */
};

/* What has been done so far. */
struct rt_export_stats {
    uint64_t bundles, damaged, rows[RT_EXPORT__TABLES], bytes, parts;
};

struct rt_export;

/* Returns RT_OK and *out, RT_ERR_INVALID_ARG for contradicting options, RT_ERR_NOMEM. */
int rt_export_new(const struct rt_export_options *o, struct rt_export **out);
/* Exports the bundle at path (its invocation row, its event rows or its trace events).
 * Returns RT_OK; or an RT_ERR_* with ei filled and *input_error true when the bundle could
 * not be read (nothing of it written) or is damaged (what came before the damage has been
 * written; the invocation row says verified false): go on with the next bundle; or with
 * *input_error false when the output failed: stop. */
int rt_export_bundle(struct rt_export *x, const char *path, bool *input_error,
                     struct rt_errinfo *ei);
/* Closes every part (writing it to the store) and ends the perfetto document. */
int rt_export_finish(struct rt_export *x, struct rt_errinfo *ei);
const struct rt_export_stats *rt_export_get_stats(const struct rt_export *x);
void rt_export_free(struct rt_export *x);

/* ---- the Chrome/Perfetto trace-event JSON (export/perfetto.c), used by rt_export ---- */

struct rt_perfetto;
struct rt_cursor;
/* Output goes through write(bytes, len, arg), which returns 0 or an RT_ERR_*. */
typedef int (*rt_export_write_fn)(const void *bytes, size_t len, void *arg);
struct rt_perfetto *rt_perfetto_new(rt_export_write_fn write, void *arg);
/* The trace events of one bundle, read through c from its first event: a process per
 * invocation holding the invocation slice and its markers, a process per recorded process
 * (named by its exe) with its calls as complete slices on their thread, connections as
 * slices on connection lanes, flags as instant events. Returns what the cursor or the
 * output returned (the events before a damage are written). */
int rt_perfetto_bundle(struct rt_perfetto *p, struct rt_cursor *c, uint64_t *events,
                       struct rt_errinfo *ei);
/* Writes the end of the document (also an empty one when no bundle came). */
int rt_perfetto_finish(struct rt_perfetto *p);
void rt_perfetto_free(struct rt_perfetto *p);

#endif
