/* Checks (analysis/check.h): the built-in flag rules, the baseline deviations and the user
 * rules over one decoded invocation, gathered into findings with their evidence; and the
 * rules file parser (docs/rules.md: one `allow|deny KIND PATTERN [ACCESS]` entry a line). */
#include "analysis/check.h"

#include "analysis/jsondiff.h"
#include "analysis/timeline.h"
#include "formats/escape.h"
#include "formats/render.h"

#include <jansson.h>

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const severity_names[] = {
#define _(id, name) name,
    RT_SEVERITIES(_)
#undef _
};

const char *rt_severity_name(unsigned sev)
{
    return sev < RT_SEV__COUNT ? severity_names[sev] : NULL;
}

static const struct rt_check_rule_info rule_table[] = {
#define _(id, name, sev, source, doc) {name, RT_SEV_##sev, source, doc},
    RT_CHECK_RULES(_)
#undef _
};

const struct rt_check_rule_info *rt_check_rule_info(unsigned rule)
{
    return rule < RT_CHECK__COUNT ? &rule_table[rule] : NULL;
}

int rt_check_rule_from_name(const char *name)
{
    for (unsigned i = 0; i < RT_CHECK__COUNT; i++)
        if (!strcmp(rule_table[i].name, name))
            return (int)i;
    return -1;
}

/* ---- rules file ---- */

static const char *const kind_names[] = {"program", "destination", "path", "flag"};

static bool valid_rule_access(const char *a)
{
    static const char *const acc[] = {"read",  "write", "rw",   "create", "delete",
                                      "chmod", "chown", "load", NULL};
    for (size_t i = 0; acc[i]; i++)
        if (!strcmp(a, acc[i]))
            return true;
    return false;
}

void rt_rules_free(struct rt_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].pattern);
        free(r->v[i].access);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* Splits line at blanks into at most 5 words (NUL-terminating them in place). */
static size_t split_words(char *line, char *word[5])
{
    size_t n = 0;
    for (char *p = line; *p && n < 5;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        word[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int rules_line(struct rt_rules *r, char *line, unsigned lineno, struct rt_errinfo *ei)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return rt_fail(ei, RT_ERR_RULES_INVALID, -1, "line %u: control character", lineno);
    char *w[5];
    size_t n = split_words(line, w);
    if (!n)
        return RT_OK;
    if (n < 3 || n > 4)
        return rt_fail(ei, RT_ERR_RULES_INVALID, -1,
                       "line %u: expected `allow|deny KIND PATTERN [ACCESS]`", lineno);
    bool deny = !strcmp(w[0], "deny");
    if (!deny && strcmp(w[0], "allow"))
        return rt_fail(ei, RT_ERR_RULES_INVALID, -1, "line %u: the first word is `allow` or `deny`",
                       lineno);
    int kind = -1;
    for (int k = 0; k < 4; k++)
        if (!strcmp(w[1], kind_names[k]))
            kind = k;
    if (kind < 0)
        return rt_fail(ei, RT_ERR_RULES_INVALID, -1,
                       "line %u: the kind is program, destination, path or flag", lineno);
    if (n == 4 && (kind != RT_RULE_PATH || !valid_rule_access(w[3])))
        return rt_fail(ei, RT_ERR_RULES_INVALID, -1,
                       "line %u: an access (read, write, rw, create, delete, chmod, chown, load) "
                       "follows path patterns only",
                       lineno);
    if (kind == RT_RULE_FLAG) {
        int rule = rt_check_rule_from_name(w[2]);
        if (deny || rule < 0 || strcmp(rule_table[rule].source, "flags"))
            return rt_fail(ei, RT_ERR_RULES_INVALID, -1,
                           "line %u: `allow flag NAME` takes a flag rule name (environ_read, "
                           "listening, ...)",
                           lineno);
    }
    for (const unsigned char *p = (const unsigned char *)w[2]; *p; p++)
        if (*p > 0x7e)
            return rt_fail(ei, RT_ERR_RULES_INVALID, -1,
                           "line %u: patterns are ASCII (write other bytes as `show` escapes "
                           "them, e.g. \\xff)",
                           lineno);
    if (r->n >= RT_RULES_MAX_ENTRIES)
        return rt_fail(ei, RT_ERR_RULES_INVALID, -1, "line %u: more than %u entries", lineno,
                       RT_RULES_MAX_ENTRIES);
    struct rt_rule_entry *grown = realloc(r->v, (r->n + 1) * sizeof *grown);
    if (!grown)
        return RT_ERR_NOMEM;
    r->v = grown;
    struct rt_rule_entry *e = &r->v[r->n];
    *e = (struct rt_rule_entry){deny, (enum rt_rule_kind)kind, strdup(w[2]),
                                n == 4 ? strdup(w[3]) : NULL, lineno};
    if (!e->pattern || (n == 4 && !e->access)) {
        free(e->pattern);
        free(e->access);
        return RT_ERR_NOMEM;
    }
    r->n++;
    return RT_OK;
}

int rt_rules_parse(const char *text, size_t len, struct rt_rules *out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    struct rt_rules r = {0};
    char line[RT_RULES_MAX_LINE + 1];
    unsigned lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        int rc = RT_OK;
        if (n > RT_RULES_MAX_LINE)
            rc = rt_fail(ei, RT_ERR_RULES_INVALID, -1, "line %u: longer than %u bytes", lineno,
                         RT_RULES_MAX_LINE);
        else if (memchr(text + at, '\0', n))
            rc = rt_fail(ei, RT_ERR_RULES_INVALID, -1, "line %u: NUL byte", lineno);
        if (!rc && n <= RT_RULES_MAX_LINE) {
            memcpy(line, text + at, n);
            line[n] = '\0';
            if (n && line[n - 1] == '\r')
                line[n - 1] = '\0';
            rc = rules_line(&r, line, lineno, ei);
        }
        if (rc) {
            rt_rules_free(&r);
            return rc;
        }
        at += n + 1;
    }
    *out = r;
    return RT_OK;
}

int rt_rules_load(const char *path, struct rt_rules *out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_fail(ei, RT_ERR_IO, -1, "%s", strerror(errno));
    size_t cap = 1u << 20;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf)
        return RT_ERR_NOMEM;
    int rc = err       ? rt_fail(ei, RT_ERR_IO, -1, "read error")
             : n > cap ? rt_fail(ei, RT_ERR_RULES_INVALID, -1, "larger than 1 MiB")
                       : rt_rules_parse(buf, n, out, ei);
    free(buf);
    return rc;
}

/* The first entry of kind (deny or allow) whose pattern matches one of the candidates (and the
 * access, for paths); NULL when none. */
static const struct rt_rule_entry *rules_match(const struct rt_rules *r, bool deny,
                                               enum rt_rule_kind kind, const char *const *cand,
                                               size_t n_cand, const char *access)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n; i++) {
        const struct rt_rule_entry *e = &r->v[i];
        if (e->deny != deny || e->kind != kind)
            continue;
        if (e->access && access &&
            !(strcmp(e->access, "write") ? !strcmp(e->access, access) : rt_access_writes(access)))
            continue;
        for (size_t k = 0; k < n_cand; k++)
            if (cand[k] && !fnmatch(e->pattern, cand[k], 0))
                return e;
    }
    return NULL;
}

/* ---- findings ---- */

void rt_findings_free(struct rt_findings *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].item);
        free(f->v[i].explain);
    }
    free(f->v);
    *f = (struct rt_findings){0};
}

struct ctx {
    const struct rt_bundle *b;
    const struct rt_baseline *bl;
    const struct rt_rules *rules;
    struct rt_findings *out;
    int rc;
};

/* Notes the finding (rule, item) with event index ev (SIZE_MAX: none); the explanation is
 * formatted only the first time. */
static void note(struct ctx *c, enum rt_check_rule rule, const char *item, size_t ev,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void note(struct ctx *c, enum rt_check_rule rule, const char *item, size_t ev,
                 const char *fmt, ...)
{
    struct rt_findings *f = c->out;
    struct rt_finding *hit = NULL;
    for (size_t i = f->n; i-- > 0;)
        if (f->v[i].rule == rule && !strcmp(f->v[i].item, item)) {
            hit = &f->v[i];
            break;
        }
    if (!hit) {
        if (f->n == f->cap) {
            size_t cap = f->cap ? 2 * f->cap : 8;
            struct rt_finding *grown = realloc(f->v, cap * sizeof *grown);
            if (!grown) {
                c->rc = RT_ERR_NOMEM;
                return;
            }
            f->v = grown;
            f->cap = cap;
        }
        char text[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        hit = &f->v[f->n];
        *hit = (struct rt_finding){.rule = rule, .item = strdup(item), .explain = strdup(text)};
        if (!hit->item || !hit->explain) {
            free(hit->item);
            free(hit->explain);
            c->rc = RT_ERR_NOMEM;
            return;
        }
        f->n++;
    }
    if (ev != SIZE_MAX && !(hit->n_total && hit->n_ev && hit->ev[hit->n_ev - 1] == ev)) {
        if (hit->n_ev < RT_FINDING_MAX_EVIDENCE)
            hit->ev[hit->n_ev++] = ev;
        hit->n_total++;
    }
}

/* ---- (1) flags ---- */

static bool flag_allowed(const struct ctx *c, enum rt_check_rule rule)
{
    const char *name = rule_table[rule].name;
    return rules_match(c->rules, false, RT_RULE_FLAG, &name, 1, NULL) != NULL;
}

static void check_flags(struct ctx *c, const struct rt_event *ev, size_t i)
{
    static const struct {
        uint32_t flag;
        enum rt_check_rule rule;
        const char *what;
    } map[] = {
        {RT_EF_ENVIRON_READ, RT_CHECK_ENVIRON_READ, "read a process environment"},
        {RT_EF_MEM_READ, RT_CHECK_MEM_READ, "opened a process's memory"},
        {RT_EF_EXEC_TMP, RT_CHECK_EXEC_TMP, "executed a program under /tmp"},
        {RT_EF_EXEC_MEMFD, RT_CHECK_EXEC_MEMFD, "executed a program from a memfd"},
        {RT_EF_LISTENING, RT_CHECK_LISTENING, "listened on a socket"},
        {RT_EF_PRIVILEGE, RT_CHECK_PRIVILEGE, "changed privileges"},
        {RT_EF_NOT_COVERED, RT_CHECK_NOT_COVERED, "ran a child the recorder cannot enter"},
    };
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
        if (!(ev->flags & map[k].flag) || flag_allowed(c, map[k].rule))
            continue;
        if (map[k].rule == RT_CHECK_PRIVILEGE && ev->op == RT_OP_PTRACE)
            continue; /* reported as ptrace */
        note(c, map[k].rule, rule_table[map[k].rule].name, i, "the invocation %s", map[k].what);
    }
    if (ev->op == RT_OP_PTRACE && !flag_allowed(c, RT_CHECK_PTRACE))
        note(c, RT_CHECK_PTRACE, "ptrace", i, "the invocation called ptrace");
}

static void check_counters(struct ctx *c)
{
    const uint64_t *k = c->b->meta.counters;
    if ((k[RT_CTR_UNCOVERED_EXECS] || k[RT_CTR_RUNTIME_UNCOVERED]) &&
        !flag_allowed(c, RT_CHECK_NOT_COVERED))
        note(c, RT_CHECK_NOT_COVERED, "not_covered", SIZE_MAX,
             "the recorder could not enter %" PRIu64 " children%s", k[RT_CTR_UNCOVERED_EXECS],
             k[RT_CTR_RUNTIME_UNCOVERED] ? " nor the runtime" : "");
    uint64_t dropped = k[RT_CTR_EVENTS_DROPPED] + k[RT_CTR_RING_DROPPED];
    if ((dropped || k[RT_CTR_CONNS_UNTRACKED]) && !flag_allowed(c, RT_CHECK_DROPPED))
        note(c, RT_CHECK_DROPPED, "dropped", SIZE_MAX,
             "%" PRIu64 " events dropped, %" PRIu64 " connections untracked: the record is "
             "incomplete",
             dropped, k[RT_CTR_CONNS_UNTRACKED]);
}

/* ---- (2) baseline and (3) rules, per event ---- */

static bool under_scratch(const char *path)
{
    return !strncmp(path, "/tmp/", 5) || !strncmp(path, "/var/tmp/", 9) ||
           !strncmp(path, "/dev/shm/", 9) || !strncmp(path, "/dev/", 5);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void check_program(struct ctx *c, size_t i, const char *prog, const char *raw,
                          const char *argv)
{
    const char *cand[] = {prog, raw, base_name(raw)};
    if (rules_match(c->rules, true, RT_RULE_PROGRAM, cand, 3, NULL))
        note(c, RT_CHECK_DENY_PROGRAM, prog, i, "ran %s, which the rules deny", prog);
    if (!c->bl || rules_match(c->rules, false, RT_RULE_PROGRAM, cand, 3, NULL))
        return;
    if (!rt_strset_has(c->bl->programs, prog))
        note(c, RT_CHECK_NEW_PROGRAM, prog, i, "ran %s, a program the baseline never saw", prog);
    else if (!rt_baseline_has_argv(c->bl, prog, argv)) {
        char item[8192];
        snprintf(item, sizeof item, "%s: %s", prog, argv);
        note(c, RT_CHECK_NEW_ARGV, item, i, "ran %s with arguments never seen: %s", prog, argv);
    }
}

static void check_destination(struct ctx *c, size_t i, struct rt_strset *learned, const char *what,
                              const char *norm, const char *raw)
{
    const char *cand[] = {norm, raw};
    if (rules_match(c->rules, true, RT_RULE_DESTINATION, cand, 2, NULL))
        note(c, RT_CHECK_DENY_DESTINATION, norm, i, "reached %s %s, which the rules deny", what,
             norm);
    if (!c->bl || rules_match(c->rules, false, RT_RULE_DESTINATION, cand, 2, NULL))
        return;
    if (!rt_strset_has(learned, norm))
        note(c, RT_CHECK_NEW_DESTINATION, norm, i, "reached %s %s, never seen in the baseline",
             what, norm);
}

/* An aws_call signed with a key id that is not META access_key_id (when the bundle has one). */
static void check_credential(struct ctx *c, const struct rt_event *ev, size_t i)
{
    const char *own = c->b->meta.access_key_id;
    struct rt_str cred = rt_event_str(ev, RT_ROLE_CREDENTIAL);
    if (!own || !own[0] || !cred.len || flag_allowed(c, RT_CHECK_FOREIGN_CREDENTIAL))
        return;
    const char *slash = memchr(cred.ptr, '/', cred.len); /* "KEYID/region" */
    size_t n = slash ? (size_t)(slash - cred.ptr) : cred.len;
    if (n == strlen(own) && !memcmp(cred.ptr, own, n))
        return;
    char key[256];
    rt_escape_buf(key, sizeof key, cred.ptr, n, 0);
    note(c, RT_CHECK_FOREIGN_CREDENTIAL, key, i,
         "an AWS call signed with access key id %s, not the function's own", key);
}

static void check_event(struct ctx *c, const struct rt_event *ev, size_t i)
{
    const char *rid = c->b->meta.request_id;
    const struct rt_baseline *bl = c->bl;
    char a[4096], raw[4096], argv[8192];
    check_flags(c, ev, i);
    switch (ev->op) {
    case RT_OP_PROC_START:
    case RT_OP_EXEC:
    case RT_OP_SPAWN: {
        struct rt_str p = rt_event_program(ev);
        rt_baseline_norm(a, sizeof a, p, rid);
        rt_escape_buf(raw, sizeof raw, p.ptr ? p.ptr : "", p.len, 0);
        rt_baseline_norm_argv(argv, sizeof argv, rt_event_str(ev, RT_ROLE_ARGV), rid);
        check_program(c, i, a, raw, argv);
        break;
    }
    case RT_OP_SYSTEM:
    case RT_OP_POPEN:
        snprintf(argv, sizeof argv, "sh -c ");
        rt_baseline_norm(argv + 6, sizeof argv - 6, rt_event_str(ev, RT_ROLE_COMMAND), rid);
        check_program(c, i, "/bin/sh", "/bin/sh", argv);
        break;
    default:
        break;
    }
    struct rt_strset *none = NULL;
    if (rt_event_has_str(ev, RT_ROLE_PEER) && rt_event_peer(ev).len) {
        struct rt_str p = rt_event_peer(ev);
        rt_escape_buf(raw, sizeof raw, p.ptr, p.len, 0);
        check_destination(c, i, bl ? bl->peers : none, "peer",
                          rt_baseline_norm_peer(a, sizeof a, p), raw);
    }
    if (ev->op == RT_OP_LISTEN || ev->op == RT_OP_INBOUND) {
        struct rt_str p = rt_event_local(ev);
        rt_escape_buf(raw, sizeof raw, p.ptr ? p.ptr : "", p.len, 0);
        check_destination(c, i, bl ? bl->peers : none, "local address",
                          rt_baseline_norm_peer(a, sizeof a, p), raw);
    }
    if (rt_event_host(ev).len) {
        struct rt_str h = rt_event_host(ev);
        rt_escape_buf(raw, sizeof raw, h.ptr, h.len, 0);
        check_destination(c, i, bl ? bl->hosts : none, "host",
                          rt_baseline_norm_host(a, sizeof a, h, rid), raw);
    }
    if (ev->op == RT_OP_OUTBOUND && rt_event_http(ev).len) {
        rt_baseline_norm_http(a, sizeof a, rt_event_http(ev), rid);
        if (bl && !rt_strset_has(bl->http, a) &&
            !rules_match(c->rules, false, RT_RULE_DESTINATION, (const char *const[]){a}, 1, NULL))
            note(c, RT_CHECK_NEW_DESTINATION, a, i, "sent the HTTP request %s, never seen", a);
    }
    struct rt_str action = rt_event_str(ev, RT_ROLE_AWS_ACTION);
    if (action.len) {
        rt_baseline_norm(a, sizeof a, action, rid);
        if (bl && bl->aws_learned && !rt_strset_has(bl->aws_actions, a))
            note(c, RT_CHECK_NEW_AWS_ACTION, a, i, "called the AWS API %s, never seen", a);
        check_credential(c, ev, i);
    }
    struct rt_file_access fa[2];
    size_t n = rt_event_file_access(ev, fa);
    for (size_t k = 0; k < n; k++) {
        rt_baseline_norm(a, sizeof a, fa[k].path, rid);
        rt_escape_buf(raw, sizeof raw, fa[k].path.ptr ? fa[k].path.ptr : "", fa[k].path.len, 0);
        const char *cand[] = {a, raw};
        char item[8300];
        snprintf(item, sizeof item, "%s %s", fa[k].access, a);
        if (rules_match(c->rules, true, RT_RULE_PATH, cand, 2, fa[k].access))
            note(c, RT_CHECK_DENY_PATH, item, i, "%s %s, which the rules deny", fa[k].access, a);
        if (!bl || rules_match(c->rules, false, RT_RULE_PATH, cand, 2, fa[k].access) ||
            rt_baseline_has_file(bl, a, fa[k].access))
            continue;
        if (rt_access_writes(fa[k].access) && !under_scratch(raw))
            note(c, RT_CHECK_WRITE_OUTSIDE_TMP, item, i,
                 "%s %s outside /tmp, never seen in the baseline", fa[k].access, a);
        else
            note(c, RT_CHECK_NEW_FILE, item, i, "%s %s, never seen in the baseline", fa[k].access,
                 a);
    }
}

/* ---- (2) baseline, per invocation ---- */

static void check_env(struct ctx *c)
{
    const struct rt_bundle *b = c->b;
    char name[1024], hex[2 * RT_DIGEST_LEN + 1], key[1200];
    bool comparable = false;
    for (size_t i = 0; i < b->n_env && !comparable; i++) {
        rt_escape_buf(name, sizeof name, b->env[i].name, strlen(b->env[i].name), 0);
        snprintf(key, sizeof key, "%s\t%s", name, rt_digest_hex(b->env[i].hash, hex));
        comparable = rt_baseline_env_compared(c->bl, name) && rt_strset_has(c->bl->env, key);
    }
    for (size_t i = 0; i < b->n_env; i++) {
        rt_escape_buf(name, sizeof name, b->env[i].name, strlen(b->env[i].name), 0);
        if (!rt_strset_has(c->bl->env_names, name)) {
            note(c, RT_CHECK_ENV_NEW, name, SIZE_MAX,
                 "environment variable %s, never seen in the baseline", name);
            continue;
        }
        if (!comparable || !rt_baseline_env_compared(c->bl, name))
            continue;
        snprintf(key, sizeof key, "%s\t%s", name, rt_digest_hex(b->env[i].hash, hex));
        if (!rt_strset_has(c->bl->env, key))
            note(c, RT_CHECK_ENV_DRIFT, name, SIZE_MAX,
                 "environment variable %s has a value (keyed hash) never seen", name);
    }
}

static void check_code(struct ctx *c)
{
    const struct rt_bundle *b = c->b;
    if (!b->has_code)
        return;
    const char *v = b->meta.function_version ? b->meta.function_version : "";
    char version[1024], entry[1200], h1[2 * RT_DIGEST_LEN + 1], h2[2 * RT_DIGEST_LEN + 1];
    rt_escape_buf(version, sizeof version, v, strlen(v), 0);
    snprintf(entry, sizeof entry, "%s\t%s\t%s", version, rt_digest_hex(b->code.task_root, h1),
             rt_digest_hex(b->code.layers, h2));
    if (rt_strset_has(c->bl->code, entry))
        return;
    bool learned = rt_baseline_code_learned(c->bl, version);
    if (learned)
        note(c, RT_CHECK_CODE_DRIFT, version[0] ? version : "(no version)", SIZE_MAX,
             "code digests task_root %.12s… layers %.12s… differ from those learned for version "
             "%s: code changed without a new version",
             h1, h2, version[0] ? version : "(none)");
}

static void check_config(struct ctx *c)
{
    const struct rt_meta *m = &c->b->meta;
    char a[1024];
    if (m->runtime && rt_strset_count(c->bl->runtimes) &&
        !rt_strset_has(
            c->bl->runtimes,
            rt_baseline_norm(a, sizeof a, (struct rt_str){m->runtime, strlen(m->runtime)}, NULL)))
        note(c, RT_CHECK_CONFIG_DRIFT, a, SIZE_MAX, "runtime %s, never seen", a);
    if (m->handler && rt_strset_count(c->bl->handlers) &&
        !rt_strset_has(
            c->bl->handlers,
            rt_baseline_norm(a, sizeof a, (struct rt_str){m->handler, strlen(m->handler)}, NULL)))
        note(c, RT_CHECK_CONFIG_DRIFT, a, SIZE_MAX, "handler %s, never seen", a);
    snprintf(a, sizeof a, "%" PRIu32, m->memory_mb);
    if (rt_strset_count(c->bl->memory) && !rt_strset_has(c->bl->memory, a)) {
        char item[1100];
        snprintf(item, sizeof item, "memory %s MB", a);
        note(c, RT_CHECK_CONFIG_DRIFT, item, SIZE_MAX, "memory size %s MB, never seen", a);
    }
}

static int payload_visit(const char *path, enum rt_json_type type, const json_t *value, void *arg)
{
    (void)value;
    struct ctx *c = arg;
    char esc[2048], key[2100];
    rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
    if (!rt_strset_has(c->bl->payload_paths, esc)) {
        note(c, RT_CHECK_PAYLOAD_KEY, esc, SIZE_MAX, "input payload key %s (%s), never seen", esc,
             rt_json_type_name(type));
        return c->rc ? 1 : 0;
    }
    snprintf(key, sizeof key, "%s\t%s", esc, rt_json_type_name(type));
    if (!rt_strset_has(c->bl->payload, key)) {
        char item[2200];
        snprintf(item, sizeof item, "%s: %s", esc, rt_json_type_name(type));
        note(c, RT_CHECK_PAYLOAD_TYPE, item, SIZE_MAX,
             "input payload key %s holds a %s, a type never seen there", esc,
             rt_json_type_name(type));
    }
    return c->rc ? 1 : 0;
}

static void check_payload(struct ctx *c)
{
    const struct rt_payload *p = &c->b->event;
    if (!rt_strset_count(c->bl->payload_paths) || !p->present || p->mode == RT_PAYLOAD_HASH ||
        p->mode == RT_PAYLOAD_NONE || !p->len || c->b->meta.counters[RT_CTR_PAYLOAD_TRUNCATED])
        return;
    json_t *doc = json_loadb((const char *)p->data, p->len, JSON_DECODE_ANY, NULL);
    if (!doc)
        return;
    if (rt_json_walk(doc, RT_JSON_WALK_COLLAPSE_ARRAYS, payload_visit, c) < 0)
        c->rc = RT_ERR_NOMEM;
    json_decref(doc);
}

static void check_ranges(struct ctx *c)
{
    static const struct {
        enum rt_check_rule rule;
        uint64_t slack;
        const char *unit;
    } how[RT_RANGE__COUNT] = {
        [RT_RANGE_DURATION] = {RT_CHECK_DURATION_RANGE, 100000000, "ns"},
        [RT_RANGE_EVENTS] = {RT_CHECK_EVENTS_RANGE, 100, "events"},
        [RT_RANGE_BYTES_OUT] = {RT_CHECK_BYTES_OUT_RANGE, 16384, "bytes"},
    };
    uint64_t value[RT_RANGE__COUNT] = {c->b->meta.duration_ns, c->b->n_events,
                                       rt_bundle_bytes_out(c->b)};
    for (int i = 0; i < RT_RANGE__COUNT; i++) {
        const struct rt_range *r = &c->bl->range[i];
        if (!r->set || value[i] <= 3 * r->max + how[i].slack)
            continue;
        char item[64];
        snprintf(item, sizeof item, "%s %" PRIu64, rt_baseline_range_names[i], value[i]);
        note(c, how[i].rule, item, SIZE_MAX,
             "%s %" PRIu64 " %s, far above the learned range %" PRIu64 "..%" PRIu64 " (p95 %" PRIu64
             ")",
             rt_baseline_range_names[i], value[i], how[i].unit, r->min, r->max, r->p95);
    }
}

/* ---- entry points ---- */

static int cmp_finding(const void *x, const void *y)
{
    const struct rt_finding *a = x, *b = y;
    if (a->rule != b->rule)
        return a->rule < b->rule ? -1 : 1;
    size_t ea = a->n_ev ? a->ev[0] : SIZE_MAX, eb = b->n_ev ? b->ev[0] : SIZE_MAX;
    if (ea != eb)
        return ea < eb ? -1 : 1;
    return strcmp(a->item, b->item);
}

int rt_check_bundle(const struct rt_bundle *b, const struct rt_baseline *bl,
                    const struct rt_rules *rules, struct rt_findings *out)
{
    *out = (struct rt_findings){0};
    if (bl && strcmp(bl->function, b->meta.function ? b->meta.function : ""))
        return RT_ERR_BASELINE_FUNCTION;
    struct ctx c = {b, bl, rules, out, RT_OK};
    for (size_t i = 0; i < b->n_events && !c.rc; i++)
        check_event(&c, &b->events[i], i);
    check_counters(&c);
    if (bl && !c.rc) {
        check_env(&c);
        check_code(&c);
        check_config(&c);
        check_payload(&c);
        check_ranges(&c);
    }
    if (c.rc) {
        rt_findings_free(out);
        return c.rc;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_finding);
    return RT_OK;
}

size_t rt_check_evidence_row(char *buf, size_t cap, const struct rt_bundle *b, size_t index)
{
    if (index >= b->n_events) {
        if (cap)
            buf[0] = '\0';
        return 0;
    }
    struct rt_timeline_item item = {&b->events[index], NULL, index};
    return rt_timeline_row(buf, cap, &item, rt_arch_from_name(b->meta.arch));
}
