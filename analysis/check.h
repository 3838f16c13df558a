/* Checks: one invocation judged against (1) built-in rules over the recorder's flags and
 * counters, (2) its function's baseline (analysis/baseline.h), when given, and (3) a user rules
 * file of allow and deny entries (docs/rules.md). Each rule is a row of RT_CHECK_RULES, the
 * one table that also generates the rules table of docs/rules.md (checked by
 * tests/unit/test_check.c). A finding names its rule, the item that deviates, a one-line
 * explanation and the events that show it (indexes into b->events). Pure computation: nothing
 * is printed; every string in a finding is escaped already. */
#ifndef RUNTRAIL_ANALYSIS_CHECK_H
#define RUNTRAIL_ANALYSIS_CHECK_H

#include "analysis/baseline.h"
#include "formats/bundle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_SEVERITIES(_)                                                                           \
    _(INFO, "info")                                                                                \
    _(LOW, "low")                                                                                  \
    _(MEDIUM, "medium")                                                                            \
    _(HIGH, "high")

enum rt_severity {
#define _(id, name) RT_SEV_##id,
    RT_SEVERITIES(_)
#undef _
        RT_SEV__COUNT
};
const char *rt_severity_name(unsigned sev);

/* The rules. Columns: id, name, severity, source (flags: built in, always on; baseline: needs
 * --baseline; rules: needs --rules), what fires it. */
#define RT_CHECK_RULES(_)                                                                          \
    _(ENVIRON_READ, "environ_read", HIGH, "flags",                                                 \
      "a process read /proc/PID/environ (another process's, or its own, environment)")             \
    _(MEM_READ, "mem_read", HIGH, "flags", "a process opened /proc/PID/mem")                       \
    _(EXEC_TMP, "exec_tmp", HIGH, "flags", "a program under /tmp was executed")                    \
    _(EXEC_MEMFD, "exec_memfd", HIGH, "flags", "a program was executed from a memfd")              \
    _(LISTENING, "listening", MEDIUM, "flags", "the function listened on a socket")                \
    _(PRIVILEGE, "privilege", HIGH, "flags", "a setuid-family call or ptrace")                     \
    _(PTRACE, "ptrace", HIGH, "flags", "a ptrace call (debugging or injecting another process)")   \
    _(NOT_COVERED, "not_covered", LOW, "flags",                                                    \
      "a child the interposer cannot enter (static binary) or a runtime it is not in: its "        \
      "behaviour is not recorded")                                                                 \
    _(DROPPED, "dropped", LOW, "flags",                                                            \
      "events were dropped (writer or ring full) or connections went untracked: the record is "    \
      "incomplete")                                                                                \
    _(FOREIGN_CREDENTIAL, "foreign_credential", HIGH, "flags",                                     \
      "an AWS call signed with an access key id other than the function's own (META "              \
      "access_key_id, the role session's key): credentials stolen elsewhere or planted")           \
    _(NEW_PROGRAM, "new_program", HIGH, "baseline", "a program the baseline never saw run")        \
    _(NEW_ARGV, "new_argv", LOW, "baseline",                                                       \
      "a learned program run with an argv pattern never seen")                                     \
    _(NEW_DESTINATION, "new_destination", HIGH, "baseline",                                        \
      "a peer ip:port, host name (DNS, SNI, Host) or HTTP request line never seen")                \
    _(NEW_FILE, "new_file", MEDIUM, "baseline",                                                    \
      "a file path pattern and access outside the learned ones (reads; writes under /tmp, "        \
      "/var/tmp, /dev/shm, /dev)")                                                                 \
    _(WRITE_OUTSIDE_TMP, "write_outside_tmp", HIGH, "baseline",                                    \
      "a write, create, delete, chmod or chown never learned, outside /tmp, /var/tmp, /dev/shm "   \
      "and /dev")                                                                                  \
    _(ENV_NEW, "env_new", LOW, "baseline", "an environment variable the baseline never saw")       \
    _(ENV_DRIFT, "env_drift", MEDIUM, "baseline",                                                  \
      "a variable's keyed hash differs from every learned one (compared only when the "            \
      "invocation's hashes are made with the baseline's key)")                                     \
    _(CODE_DRIFT, "code_drift", HIGH, "baseline",                                                  \
      "the code digests (task root, layers) differ from those learned for the same function "      \
      "version: code changed without a new version (tampering)")                                   \
    _(CONFIG_DRIFT, "config_drift", MEDIUM, "baseline",                                            \
      "a runtime, handler or memory size never seen")                                              \
    _(PAYLOAD_KEY, "payload_key", LOW, "baseline",                                                 \
      "an input payload key path never seen (arrays collapsed to [])")                             \
    _(PAYLOAD_TYPE, "payload_type", LOW, "baseline",                                               \
      "a learned payload key path with a value type never seen")                                   \
    _(DURATION_RANGE, "duration_range", MEDIUM, "baseline",                                        \
      "duration above 3 x the learned max + 100 ms")                                               \
    _(EVENTS_RANGE, "events_range", MEDIUM, "baseline",                                            \
      "event count above 3 x the learned max + 100")                                               \
    _(BYTES_OUT_RANGE, "bytes_out_range", HIGH, "baseline",                                        \
      "bytes sent above 3 x the learned max + 16 KiB")                                             \
    _(NEW_AWS_ACTION, "new_aws_action", HIGH, "baseline",                                          \
      "an AWS API action (service:Action of an aws_call) the function never used in the "          \
      "baseline: a permission used for the first time")                                            \
    _(DENY_PROGRAM, "deny_program", HIGH, "rules", "a program matching a `deny program` entry")    \
    _(DENY_DESTINATION, "deny_destination", HIGH, "rules",                                         \
      "a peer or host matching a `deny destination` entry")                                        \
    _(DENY_PATH, "deny_path", HIGH, "rules", "a file access matching a `deny path` entry")

enum rt_check_rule {
#define _(id, name, sev, source, doc) RT_CHECK_##id,
    RT_CHECK_RULES(_)
#undef _
        RT_CHECK__COUNT
};

struct rt_check_rule_info {
    const char *name;
    enum rt_severity severity;
    const char *source, *doc;
};
const struct rt_check_rule_info *rt_check_rule_info(unsigned rule); /* NULL out of range */
int rt_check_rule_from_name(const char *name);                      /* -1 when unknown */

/* ---- user rules (docs/rules.md) ---- */

#define RT_RULES_MAX_ENTRIES 10000
#define RT_RULES_MAX_LINE 4096

enum rt_rule_kind { RT_RULE_PROGRAM, RT_RULE_DESTINATION, RT_RULE_PATH, RT_RULE_FLAG };

struct rt_rule_entry {
    bool deny;
    enum rt_rule_kind kind;
    char *pattern; /* fnmatch glob */
    char *access;  /* path entries: NULL (any), "write" (any change), or one access */
    unsigned line;
};

struct rt_rules {
    struct rt_rule_entry *v;
    size_t n;
};

/* Parses a rules file's text. RT_OK and *out, or RT_ERR_RULES_INVALID with ei->detail
 * "line N: what" (the text is never echoed unescaped). */
int rt_rules_parse(const char *text, size_t len, struct rt_rules *out, struct rt_errinfo *ei);
int rt_rules_load(const char *path, struct rt_rules *out, struct rt_errinfo *ei);
void rt_rules_free(struct rt_rules *r);

/* ---- findings ---- */

#define RT_FINDING_MAX_EVIDENCE 5

struct rt_finding {
    enum rt_check_rule rule;
    char *item;    /* what deviates (escaped): a program, a peer, "read /etc/passwd", ... */
    char *explain; /* one line (escaped) */
    size_t ev[RT_FINDING_MAX_EVIDENCE]; /* the first events that show it */
    size_t n_ev;
    size_t n_total; /* events that show it, all told */
};

struct rt_findings {
    struct rt_finding *v;
    size_t n, cap;
};

/* Judges b. bl and rules may be NULL (their rules do not run). One finding per rule and item;
 * in rule order, then in the order of the first event. RT_OK, RT_ERR_BASELINE_FUNCTION when bl
 * is of another function (out stays empty), RT_ERR_NOMEM. */
int rt_check_bundle(const struct rt_bundle *b, const struct rt_baseline *bl,
                    const struct rt_rules *rules, struct rt_findings *out);
void rt_findings_free(struct rt_findings *f);

/* The timeline row (analysis/timeline.h) of b->events[index], escaped. */
size_t rt_check_evidence_row(char *buf, size_t cap, const struct rt_bundle *b, size_t index);

#endif
