/* The diff of two invocations A and B, as `runtrail diff` prints it (docs/analysis.md):
 *   - META and CODE fields that differ (runtime, handler, memory, function, version, status,
 *     arch; task root and layers digests);
 *   - ENV: variables added, removed, and whose keyed hash changed (names only), when the two
 *     bundles' hashes are comparable;
 *   - the payloads (input event, response) as a structural JSON diff (analysis/jsondiff.h), or
 *     by SHA-256 when either side is not JSON;
 *   - behaviour: multisets of items with their counts in A and B, in categories (processes,
 *     programs, destinations, files by access, flags), built from the behaviour keys;
 *   - the timeline: per process (its position in the process tree), a Myers alignment of the
 *     behaviour keys of its events, as unified-diff hunks with context.
 * Pure computation: nothing is printed; strings are kept as captured (callers escape), except
 * behaviour items and keys, which are escaped already (analysis/keys.h). */
#ifndef RUNTRAIL_ANALYSIS_DIFF_H
#define RUNTRAIL_ANALYSIS_DIFF_H

#include "analysis/filter.h"
#include "analysis/jsondiff.h"
#include "formats/bundle.h"

#include <stdbool.h>
#include <stddef.h>

/* Behaviour categories. Columns: id, name, what an item is. */
#define RT_DIFF_CATEGORIES(_)                                                                      \
    _(PROCESS, "processes", "a position in the process tree; the count is the number of pids")     \
    _(PROGRAM, "programs",                                                                         \
      "a program run (proc_start, execve, posix_spawn, system, popen) with its argv pattern")      \
    _(DESTINATION, "destinations",                                                                 \
      "a network operation with its peer ip:port, DNS name, SNI or HTTP line (one per "            \
      "connect, outbound or inbound connection, lookup)")                                          \
    _(FILE, "files",                                                                               \
      "an access (read, write, rw, create, delete, chmod, chown, load) and a path "                \
      "pattern, with the error when the call failed")                                              \
    _(FLAG, "flags", "an event flag (environ_read, exec_tmp, ...); the count is events with it")

enum rt_diff_category {
#define _(id, name, doc) RT_DIFF_##id,
    RT_DIFF_CATEGORIES(_)
#undef _
        RT_DIFF__COUNT
};
const char *rt_diff_category_name(unsigned cat);
const char *rt_diff_category_doc(unsigned cat);

/* A field whose value differs; a and b are NULL when absent (owned by the struct). */
struct rt_diff_field {
    const char *section; /* "meta" or "code" */
    const char *name;    /* "handler", "task_root", ... */
    char *a, *b;
};

enum rt_diff_env_change { RT_DIFF_ENV_ADDED, RT_DIFF_ENV_REMOVED, RT_DIFF_ENV_CHANGED };

struct rt_diff_env {
    char *name; /* owned by the struct */
    enum rt_diff_env_change change;
};

/* One payload block compared. */
struct rt_diff_payload {
    const char *which; /* "event", "response" */
    bool in_a, in_b;   /* present (mode other than none) */
    bool json;         /* both parsed as JSON: deltas hold the structural diff */
    bool sha_differs;  /* not JSON: the SHA-256 of the original bytes differs */
    bool shape_differs;
    struct rt_json_diff deltas;
};

/* A behaviour item whose count differs between A and B. */
struct rt_diff_count {
    enum rt_diff_category cat;
    char *item; /* escaped */
    size_t a, b;
};

/* A line of the timeline diff: ' ' in both, '-' only in A, '+' only in B; a_index / b_index
 * index b->events of A / B (SIZE_MAX on the side the line is not in). */
struct rt_diff_line {
    char op;
    size_t a_index, b_index;
    const char *key; /* the behaviour key (escaped), owned by the struct rt_diff */
    char *row;       /* the row `show` prints (escaped), once rt_diff_rows filled it; owned */
};

/* A hunk: positions are 1-based within the process's event sequence, as diff -u counts. */
struct rt_diff_hunk {
    size_t a_start, a_len, b_start, b_len;
    size_t first_line, n_lines; /* into rt_diff_proc.lines */
};

struct rt_diff_proc {
    char *position;  /* escaped, e.g. /var/lang/bin/node>/bin/sh */
    size_t n_a, n_b; /* events of this process in A and B */
    size_t edits;    /* lines removed + added */
    bool bounded;    /* the alignment gave up at RT_DIFF_MAX_EDIT_DISTANCE: the unaligned
                      * middle is shown as removed then added */
    struct rt_diff_line *lines;
    size_t n_lines;
    struct rt_diff_hunk *hunks;
    size_t n_hunks;
};

/* Myers' alignment keeps (D+1)^2 cells for D edits; beyond this D it falls back. */
#define RT_DIFF_MAX_EDIT_DISTANCE 2048

struct rt_diff_options {
    const struct rt_filter *filter; /* events compared (behaviour and timeline); NULL: all */
    unsigned context;               /* timeline context lines (diff -u's 3) */
};

struct rt_diff {
    bool different_functions; /* a warning, not an error */
    bool env_comparable;      /* keyed hashes made with the same key */
    const char *env_not_comparable_why;
    struct rt_diff_field *fields;
    size_t n_fields;
    struct rt_diff_env *env;
    size_t n_env;
    struct rt_diff_payload payloads[2];
    struct rt_diff_count *counts; /* by category, then item */
    size_t n_counts;
    struct rt_diff_proc *procs; /* processes whose timelines differ, by position */
    size_t n_procs;
    size_t events_a, events_b; /* compared (after the filter) */
    bool differs;              /* anything but payload values: what makes `runtrail diff` exit 1 */
    void *priv_;               /* the keys the lines point to */
};

/* Compares a and b, rows included; *out owns everything it holds (a and b may be freed).
 * Returns RT_OK, or RT_ERR_NOMEM with *out zeroed. */
int rt_diff_bundles(const struct rt_bundle *a, const struct rt_bundle *b,
                    const struct rt_diff_options *opt, struct rt_diff *out);

/* The same in steps, so that only one decoded bundle is held at a time (two 1M-event bundles
 * do not fit in memory side by side): begin; add A (side 0) and B (side 1), each bundle free
 * to go after its call (the builder keeps its keys as ids, its header fields copied);
 * finish, which frees the builder; then rt_diff_rows for each side whose rows are wanted
 * (rt_diff_needs_rows), with the same bundle again. Each returns RT_OK, RT_ERR_NOMEM, or
 * RT_ERR_INVALID_ARG for a side added twice or missing. rt_diff_builder_free is for a builder
 * that is not finished. */
struct rt_diff_builder;
int rt_diff_begin(const struct rt_diff_options *opt, struct rt_diff_builder **out);
int rt_diff_add(struct rt_diff_builder *bd, int side, const struct rt_bundle *b);
int rt_diff_finish(struct rt_diff_builder *bd, struct rt_diff *out);
void rt_diff_builder_free(struct rt_diff_builder *bd);
/* Whether lines of side 0 (' ' and '-') or 1 ('+') are there; rt_diff_rows fills their rows
 * from that side's bundle. */
bool rt_diff_needs_rows(const struct rt_diff *d, int side);
int rt_diff_rows(struct rt_diff *d, int side, const struct rt_bundle *b);
/* The same from a cursor over that side's bundle (formats/bundle.h): only the events of the
 * lines are decoded, in index order, with no event array (the command's second read of A).
 * Returns RT_OK, RT_ERR_NOMEM, or the cursor's error with *ei filled. */
int rt_diff_rows_cursor(struct rt_diff *d, int side, struct rt_cursor *c, struct rt_errinfo *ei);
void rt_diff_free(struct rt_diff *d);

/* The edit script of two sequences of ids, as runs: Myers' O((N+M)D) algorithm after the
 * common prefix and suffix are taken off, with at most max_d edits (then the middle is one
 * removal and one addition, and *bounded is set). Calls emit(op, count, arg) for runs of
 * ' ', '-', '+' in order. Returns 0, or -1 when out of memory. Exposed for tests. */
int rt_diff_align(const unsigned *x, size_t n, const unsigned *y, size_t m, size_t max_d,
                  void (*emit)(char op, size_t count, void *arg), void *arg, bool *bounded);

#endif
