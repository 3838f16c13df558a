/* Behaviour keys: each event reduced to what stays the same when the same code does the same
 * thing in another invocation, so that diff, baselines and checks compare behaviour, not
 * noise. A key is one printable line (strings quoted and escaped):
 *     /var/lang/bin/node>/bin/cat openat("/proc/{n}/environ", O_RDONLY) = ok [environ_read]
 * The rules that take the volatile parts out are the one table RT_NORM_RULES below (and
 * docs/analysis.md, generated from it and checked by tests/unit/test_analysis.c). */
#ifndef RUNTRAIL_ANALYSIS_KEYS_H
#define RUNTRAIL_ANALYSIS_KEYS_H

#include "formats/bundle.h"
#include "formats/render.h"

#include <stddef.h>

/* The normalisation rules, in the order they apply. Columns: id, name, what it applies to,
 * what replaces the volatile part, why. The first group works on fields (by the roles of
 * formats/event.h), the second on parts of strings: the path, second path, program, argv,
 * command, host, HTTP line and every other string slot; at each position of a string the
 * first rule of the group that matches wins. */
#define RT_NORM_RULES(_)                                                                           \
    _(PROCESS, "process", "pid, tid, pid slots", "the exe chain: `exe>child exe`",                 \
      "a process is its position in the process tree: its program after its parents' "             \
      "programs, root first (from proc_start, fork and execve); `?` when never seen")              \
    _(FD, "fd", "fd slots", "dropped", "descriptor numbers depend on what else is open")           \
    _(TIME, "time", "ts_ns, dur_ns", "dropped", "when and how long are compared as ranges")        \
    _(REQUEST_ID_SLOT, "request_id slot", "request_id slots", "dropped",                           \
      "each invocation has its own")                                                               \
    _(BYTES, "bytes", "bytes_out, bytes_in slots", "dropped",                                      \
      "totals are compared as ranges, not per event")                                              \
    _(ANSWERS, "answers", "DNS answers", "dropped", "DNS rotates addresses")                       \
    _(COUNT, "count", "count slots", "dropped",                                                    \
      "how often a process repeated a probe (probe_repeats) depends on its caches; the first "     \
      "probe of each path is the behaviour")                                                       \
    _(RESULT, "result", "result", "`ok` or the errno name",                                        \
      "return values are fds, pids and byte counts; success or the error is the behaviour")        \
    _(EPHEMERAL_PORT, "ephemeral port", "peer and local slots", "`*` for the port",                \
      "a port of 32768 or more (Linux's ephemeral range, 32768-60999) is the client side of a "    \
      "connection or a port the kernel chose; lower ports (:443, :53, :8080) are kept; the "       \
      "string rules below do not apply to addresses")                                              \
    _(OUTSIDE_FLAG, "outside and still_open flags", "flags", "dropped",                            \
      "`outside_invocation` says when the event was drained, `still_open` whether a connection "   \
      "summary was taken before its close: neither says what happened; other flags are kept")      \
    _(REQUEST_ID, "request id", "strings", "`{request_id}`",                                       \
      "the invocation's own request id (META request_id) inside a path, URL or text")              \
    _(UUID, "uuid", "strings", "`{uuid}`",                                                         \
      "8-4-4-4-12 hex digits, either case, not inside a word")                                     \
    _(TEMP_NAME, "random temp name", "strings", "`*`",                                             \
      "in a name directly under /tmp, /var/tmp or /dev/shm, a run of 6 or more letters, digits "   \
      "and `_` with a digit or with both cases (mkstemp's XXXXXX, Python's tmpa8Xk2_q); the rest " \
      "of the name is kept: `/tmp/pymp-*`")                                                        \
    _(HEX, "hex run", "strings", "`{hex}`",                                                        \
      "8 or more hex digits with at least one digit and one letter, not inside a word (hashes, "   \
      "object ids)")                                                                               \
    _(DIGITS, "digit run", "strings", "`{n}`",                                                     \
      "a path component of digits (`/proc/{n}/environ`, `/dev/fd/{n}`) or a run of 3 or more "     \
      "digits not inside a word (`report-{n}.csv`); `python3.12`, `lib64` are kept")

/* The flags the OUTSIDE_FLAG rule drops (bookkeeping, not behaviour). */
#define RT_NORM_DROPPED_FLAGS ((uint32_t)(RT_EF_OUTSIDE | RT_EF_STILL_OPEN))

enum rt_norm_rule {
#define _(id, name, applies, replacement, doc) RT_NORM_##id,
    RT_NORM_RULES(_)
#undef _
        RT_NORM__COUNT
};

struct rt_norm_rule_info {
    const char *name, *applies, *replacement, *doc;
};
/* The table row of rule; NULL out of range. */
const struct rt_norm_rule_info *rt_norm_rule_info(unsigned rule);

/* The string rules applied to s[0..len): writes the normalised text into buf (at most cap
 * bytes, NUL-terminated; not escaped) and returns the length it needs, like snprintf.
 * request_id may be NULL. */
size_t rt_norm_string(char *buf, size_t cap, const char *s, size_t len, const char *request_id);
/* A peer "ip:port" / "[v6]:port" with an ephemeral port replaced by `*`; other text unchanged
 * (the string rules do not apply: addresses are kept). Same buffer contract. */
size_t rt_norm_peer(char *buf, size_t cap, const char *s, size_t len);

/* The keys of a bundle's events: key[i] for b->events[i], in order, owned by the struct. */
struct rt_keys {
    char **key;
    size_t n;
};

/* Builds the keys of b (its META request_id and arch drive the rules). Returns RT_OK, or
 * RT_ERR_NOMEM with *out zeroed. */
int rt_keys_of_bundle(const struct rt_bundle *b, struct rt_keys *out);
/* The same keys one at a time, without keeping them: fn(i, key, len, arg) for each event i in
 * order; key is valid during the call only. A non-zero return from fn stops and is returned;
 * otherwise RT_OK, or RT_ERR_NOMEM. */
typedef int (*rt_key_fn)(size_t i, const char *key, size_t len, void *arg);
int rt_keys_each(const struct rt_bundle *b, rt_key_fn fn, void *arg);
/* Sorts the keys and removes duplicates: the bundle's behaviour as a set. */
void rt_keys_sort_unique(struct rt_keys *k);
void rt_keys_free(struct rt_keys *k);

#endif
