/* The diff model of `runtrail view` (viewer/vm_diff.h): the struct rt_diff of analysis/diff.h
 * (or the findings of analysis/check.h against a baseline) turned into lines, in the order
 * `runtrail diff` prints them, under a summary of what is new. Side by side, a run of removed
 * lines is paired with the run of added lines that follows it, as sdiff pairs them; a line in
 * both shows each side's own row (pids and times differ). */
#include "viewer/vm_diff.h"

#include "analysis/check.h"
#include "analysis/diff.h"
#include "analysis/timeline.h"
#include "formats/escape.h"
#include "formats/toolbox.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dl {
    struct rt_vm_diff_line pub;
    char *text, *left, *right;
};

struct rt_vm_diff {
    struct dl *v;
    size_t n, cap;
    size_t summary;
    bool differs;
    int err;
};

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = rt_vformat(fmt, ap);
    va_end(ap);
    return s;
}

/* Appends a line; left and right are taken (owned) and may be NULL. Returns the line or NULL. */
static struct dl *addl(struct rt_vm_diff *d, enum rt_vm_diff_style style, char *left, char *right,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct dl *addl(struct rt_vm_diff *d, enum rt_vm_diff_style style, char *left, char *right,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = d->err ? NULL : rt_vformat(fmt, ap);
    va_end(ap);
    if (text && d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 128;
        struct dl *v = realloc(d->v, cap * sizeof *v);
        if (v) {
            d->v = v;
            d->cap = cap;
        } else {
            free(text);
            text = NULL;
        }
    }
    if (!text) {
        d->err = RT_ERR_NOMEM;
        free(left);
        free(right);
        return NULL;
    }
    struct dl *l = &d->v[d->n++];
    *l = (struct dl){{style, text, left, right, false}, text, left, right};
    return l;
}

/* Escaped copy of s (NULL: "(none)"), quoted when quote. */
static char *esc(const char *s, bool quote)
{
    if (!s)
        return strdup("(none)");
    size_t len = strlen(s), need = rt_escape_buf(NULL, 0, s, len, quote ? '"' : 0);
    char *e = malloc(need + 3);
    if (!e)
        return NULL;
    size_t off = quote ? 1 : 0;
    rt_escape_buf(e + off, need + 1, s, len, quote ? '"' : 0);
    if (quote) {
        e[0] = '"';
        e[need + 1] = '"';
        e[need + 2] = '\0';
    }
    return e;
}

void rt_vm_diff_free(struct rt_vm_diff *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].text);
        free(d->v[i].left);
        free(d->v[i].right);
    }
    free(d->v);
    free(d);
}

size_t rt_vm_diff_count(const struct rt_vm_diff *d)
{
    return d->n;
}

const struct rt_vm_diff_line *rt_vm_diff_line(const struct rt_vm_diff *d, size_t i)
{
    return i < d->n ? &d->v[i].pub : NULL;
}

size_t rt_vm_diff_summary_lines(const struct rt_vm_diff *d)
{
    return d->summary;
}

bool rt_vm_diff_differs(const struct rt_vm_diff *d)
{
    return d->differs;
}

bool rt_vm_diff_next_hunk(const struct rt_vm_diff *d, size_t from, int dir, size_t *line)
{
    size_t i = from;
    for (;;) {
        if (dir < 0) {
            if (i == 0 || i == SIZE_MAX)
                return false;
            i--;
        } else {
            i = i == SIZE_MAX ? 0 : i + 1;
            if (i >= d->n)
                return false;
        }
        if (i >= d->n)
            return false;
        enum rt_vm_diff_style s = d->v[i].pub.style;
        if (s == RT_VM_DIFF_HUNK || s == RT_VM_DIFF_TITLE) {
            *line = i;
            return true;
        }
    }
}

/* ---- two bundles ---- */

struct side {
    const char *label, *function, *request_id;
};

static void title(struct rt_vm_diff *d, const char *mark, const struct side *s)
{
    char *l = esc(s->label, false), *f = s->function ? esc(s->function, false) : NULL,
         *r = s->request_id ? esc(s->request_id, false) : NULL;
    if (l)
        addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "%s%s%s%s%s%s", mark, l, f ? "  function " : "",
             f ? f : "", r ? "  request " : "", r ? r : "");
    else
        d->err = RT_ERR_NOMEM;
    free(l);
    free(f);
    free(r);
}

static const char *env_change_name(enum rt_diff_env_change c)
{
    return c == RT_DIFF_ENV_ADDED ? "added" : c == RT_DIFF_ENV_REMOVED ? "removed" : "changed";
}

/* "new programs: 2 (/bin/sh, curl ...)": the items only in B of one category. */
static void summary_new(struct rt_vm_diff *d, const struct rt_diff *df, enum rt_diff_category cat,
                        const char *what)
{
    size_t n = 0, gone = 0;
    char list[200];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < df->n_counts; i++) {
        const struct rt_diff_count *c = &df->counts[i];
        if (c->cat != cat)
            continue;
        if (!c->a && c->b) {
            if (used < sizeof list - 1) {
                int w = snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "", c->item);
                used = w < 0 ? used : used + (size_t)w;
                if (used >= sizeof list - 1) { /* cut: mark it, never mid-character */
                    used = sizeof list - 5;
                    while (used > 0 && ((unsigned char)list[used] & 0xc0) == 0x80)
                        used--;
                    memcpy(list + used, " ...", 5);
                    used = sizeof list;
                }
            }
            n++;
        } else if (c->a && !c->b) {
            gone++;
        }
    }
    if (n && gone)
        addl(d, RT_VM_DIFF_ADDED, NULL, NULL, "  new %s: %zu (%s); %zu only in A", what, n, list,
             gone);
    else if (n)
        addl(d, RT_VM_DIFF_ADDED, NULL, NULL, "  new %s: %zu (%s)", what, n, list);
    else if (gone)
        addl(d, RT_VM_DIFF_REMOVED, NULL, NULL, "  new %s: 0; %zu only in A", what, gone);
}

static void summary(struct rt_vm_diff *d, const struct rt_diff *df)
{
    addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "summary: %s (%zu -> %zu events compared)",
         df->differs ? "behaviour differs" : "behaviour equivalent", df->events_a, df->events_b);
    if (df->different_functions)
        addl(d, RT_VM_DIFF_NOTE, NULL, NULL, "  note: different functions");
    summary_new(d, df, RT_DIFF_PROGRAM, "programs");
    summary_new(d, df, RT_DIFF_DESTINATION, "destinations");
    summary_new(d, df, RT_DIFF_FILE, "files");
    summary_new(d, df, RT_DIFF_FLAG, "flags");
    if (df->n_fields)
        addl(d, RT_VM_DIFF_CHANGED, NULL, NULL, "  meta/code fields differing: %zu", df->n_fields);
    if (df->n_env)
        addl(d, RT_VM_DIFF_CHANGED, NULL, NULL, "  env changes: %zu", df->n_env);
    for (int i = 0; i < 2; i++) {
        const struct rt_diff_payload *p = &df->payloads[i];
        if (p->in_a != p->in_b || (p->json && p->deltas.n) || (!p->json && p->sha_differs))
            addl(d, RT_VM_DIFF_CHANGED, NULL, NULL, "  payload %s differs", p->which);
    }
    size_t edits = 0;
    for (size_t i = 0; i < df->n_procs; i++)
        edits += df->procs[i].edits;
    if (df->n_procs)
        addl(d, RT_VM_DIFF_CHANGED, NULL, NULL, "  timeline: %zu processes differ, %zu lines",
             df->n_procs, edits);
}

/* The row of B's event b_index, for the right side of a line in both. */
static char *b_row(const struct rt_bundle *b, size_t index)
{
    if (!b || index >= b->n_events)
        return NULL;
    struct rt_timeline_item it = {&b->events[index], NULL, index};
    enum rt_arch arch = rt_arch_from_name(b->meta.arch);
    size_t need = rt_timeline_row(NULL, 0, &it, arch);
    char *s = malloc(need + 1);
    if (s)
        rt_timeline_row(s, need + 1, &it, arch);
    return s;
}

static char *dup_row(const char *row)
{
    return strdup(row ? row : "(row not read)");
}

static void hunk_lines(struct rt_vm_diff *d, const struct rt_diff_proc *p,
                       const struct rt_diff_hunk *hk, const struct rt_bundle *b)
{
    size_t end = hk->first_line + hk->n_lines;
    for (size_t l = hk->first_line; l < end && !d->err;) {
        const struct rt_diff_line *ln = &p->lines[l];
        if (ln->op == ' ') {
            char *right = b_row(b, ln->b_index);
            addl(d, RT_VM_DIFF_SAME, dup_row(ln->row), right ? right : dup_row(ln->row), " %s",
                 ln->row ? ln->row : "(row not read)");
            l++;
            continue;
        }
        /* a run of '-' then a run of '+': paired side by side */
        size_t rm = l, add;
        while (rm < end && p->lines[rm].op == '-')
            rm++;
        add = rm;
        while (add < end && p->lines[add].op == '+')
            add++;
        size_t n_rm = rm - l, n_add = add - rm;
        for (size_t k = 0; k < n_rm; k++) {
            const struct rt_diff_line *x = &p->lines[l + k];
            char *right = k < n_add ? dup_row(p->lines[rm + k].row) : NULL;
            addl(d, RT_VM_DIFF_REMOVED, dup_row(x->row), right, "-%s",
                 x->row ? x->row : "(row not read)");
        }
        for (size_t k = 0; k < n_add; k++) {
            const struct rt_diff_line *x = &p->lines[rm + k];
            /* paired additions were shown on the right of the removals: full line only */
            struct dl *dl = addl(d, RT_VM_DIFF_ADDED, NULL, k < n_rm ? NULL : dup_row(x->row),
                                 "+%s", x->row ? x->row : "(row not read)");
            if (dl && k < n_rm)
                dl->pub.unified_only = true;
        }
        if (n_rm == 0 && n_add == 0) { /* an op the analysis does not produce: keep it */
            addl(d, RT_VM_DIFF_NOTE, NULL, NULL, "%c%s", ln->op, ln->row ? ln->row : "");
            add = l + 1;
        }
        l = add;
    }
}

/* Lines for a finished diff whose rows are filled; b (may be NULL) gives B's own rows. */
static void build(struct rt_vm_diff *d, const struct rt_diff *df, const struct side *a,
                  const struct side *bs, const struct rt_bundle *b)
{
    d->differs = df->differs;
    title(d, "--- ", a);
    title(d, "+++ ", bs);
    summary(d, df);
    d->summary = d->n;
    if (df->n_fields) {
        addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "meta");
        for (size_t i = 0; i < df->n_fields; i++) {
            const struct rt_diff_field *f = &df->fields[i];
            char *va = esc(f->a, f->a != NULL), *vb = esc(f->b, f->b != NULL);
            if (va && vb)
                addl(d, RT_VM_DIFF_CHANGED, strdup(va), strdup(vb), "  %s %-14s %s -> %s",
                     f->section, f->name, va, vb);
            else
                d->err = RT_ERR_NOMEM;
            free(va);
            free(vb);
        }
    }
    if (df->n_env || !df->env_comparable) {
        addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "env");
        if (!df->env_comparable)
            addl(d, RT_VM_DIFF_NOTE, NULL, NULL, "  %s",
                 df->env_not_comparable_why ? df->env_not_comparable_why : "not comparable");
        for (size_t i = 0; i < df->n_env; i++) {
            char *name = esc(df->env[i].name, false);
            enum rt_diff_env_change c = df->env[i].change;
            if (name)
                addl(d,
                     c == RT_DIFF_ENV_ADDED     ? RT_VM_DIFF_ADDED
                     : c == RT_DIFF_ENV_REMOVED ? RT_VM_DIFF_REMOVED
                                                : RT_VM_DIFF_CHANGED,
                     c == RT_DIFF_ENV_ADDED ? NULL : strdup(name),
                     c == RT_DIFF_ENV_REMOVED ? NULL : strdup(name), "  %-8s %s",
                     env_change_name(c), name);
            free(name);
        }
    }
    for (int i = 0; i < 2; i++) {
        const struct rt_diff_payload *p = &df->payloads[i];
        if (p->in_a != p->in_b) {
            addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "payload %s", p->which);
            addl(d, p->in_a ? RT_VM_DIFF_REMOVED : RT_VM_DIFF_ADDED, NULL, NULL, "  %s",
                 p->in_a ? "only in A" : "only in B");
        } else if (p->json && p->deltas.n) {
            addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "payload %s", p->which);
            for (size_t k = 0; k < p->deltas.n; k++) {
                const struct rt_json_delta *x = &p->deltas.d[k];
                char *path = esc(x->path, false), *what;
                if (x->change == RT_JSON_ADDED)
                    what = dupf("%s", rt_json_type_name(x->b_type));
                else if (x->change == RT_JSON_REMOVED)
                    what = dupf("%s", rt_json_type_name(x->a_type));
                else if (x->change == RT_JSON_TYPE_CHANGED)
                    what = dupf("%s -> %s", rt_json_type_name(x->a_type),
                                rt_json_type_name(x->b_type));
                else if (x->a_type == RT_JSON_REDACTED)
                    what = dupf("redacted: keyed hash differs");
                else
                    what = dupf("%s value", rt_json_type_name(x->a_type));
                if (path && what)
                    addl(d,
                         x->change == RT_JSON_ADDED     ? RT_VM_DIFF_ADDED
                         : x->change == RT_JSON_REMOVED ? RT_VM_DIFF_REMOVED
                                                        : RT_VM_DIFF_CHANGED,
                         NULL, NULL, "  %-8s %s  %s", rt_json_change_name(x->change), path, what);
                else
                    d->err = RT_ERR_NOMEM;
                free(path);
                free(what);
            }
        } else if (!p->json && p->sha_differs) {
            addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "payload %s", p->which);
            addl(d, RT_VM_DIFF_CHANGED, NULL, NULL, "  not JSON on both sides: sha256 differs");
        }
    }
    if (df->n_counts) {
        addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "behaviour  (%zu -> %zu events compared)",
             df->events_a, df->events_b);
        int cat = -1;
        for (size_t i = 0; i < df->n_counts; i++) {
            const struct rt_diff_count *c = &df->counts[i];
            if ((int)c->cat != cat) {
                cat = (int)c->cat;
                addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "  %s", rt_diff_category_name(c->cat));
            }
            char *item = esc(c->item, false); /* escaped already; again keeps it one line */
            if (!item) {
                d->err = RT_ERR_NOMEM;
                break;
            }
            addl(d,
                 !c->a   ? RT_VM_DIFF_ADDED
                 : !c->b ? RT_VM_DIFF_REMOVED
                         : RT_VM_DIFF_CHANGED,
                 c->a ? dupf("%s  count %zu", item, c->a) : NULL,
                 c->b ? dupf("%s  count %zu", item, c->b) : NULL, "    %c %s  count %zu -> %zu",
                 !c->a   ? '+'
                 : !c->b ? '-'
                         : '~',
                 item, c->a, c->b);
            free(item);
        }
    }
    for (size_t i = 0; i < df->n_procs && !d->err; i++) {
        const struct rt_diff_proc *p = &df->procs[i];
        if (!i)
            addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "timeline");
        if (p->bounded)
            addl(d, RT_VM_DIFF_NOTE, NULL, NULL,
                 "@@ alignment stopped after %d edits (events %zu -> %zu): the unaligned part "
                 "is shown as removed, then added @@",
                 RT_DIFF_MAX_EDIT_DISTANCE, p->n_a, p->n_b);
        for (size_t h = 0; h < p->n_hunks && !d->err; h++) {
            const struct rt_diff_hunk *hk = &p->hunks[h];
            char *pos = esc(p->position, false);
            if (!pos) {
                d->err = RT_ERR_NOMEM;
                break;
            }
            addl(d, RT_VM_DIFF_HUNK, NULL, NULL, "@@ -%zu,%zu +%zu,%zu @@ process %s", hk->a_start,
                 hk->a_len, hk->b_start, hk->b_len, pos);
            free(pos);
            hunk_lines(d, p, hk, b);
        }
    }
    if (!df->differs && d->n == d->summary)
        addl(d, RT_VM_DIFF_NOTE, NULL, NULL, "(no difference in behaviour)");
}

static struct rt_vm_diff *new_diff(void)
{
    return calloc(1, sizeof(struct rt_vm_diff));
}

int rt_vm_diff_bundles(const struct rt_bundle *a, const struct rt_bundle *b, const char *label_a,
                       const char *label_b, struct rt_vm_diff **out)
{
    struct rt_diff df;
    struct rt_diff_options opt = {.filter = NULL, .context = 3};
    if (rt_diff_bundles(a, b, &opt, &df) != RT_OK)
        return RT_ERR_NOMEM;
    struct rt_vm_diff *d = new_diff();
    if (!d) {
        rt_diff_free(&df);
        return RT_ERR_NOMEM;
    }
    struct side sa = {label_a ? label_a : "A", a->meta.function, a->meta.request_id};
    struct side sb = {label_b ? label_b : "B", b->meta.function, b->meta.request_id};
    build(d, &df, &sa, &sb, b);
    rt_diff_free(&df);
    if (d->err) {
        rt_vm_diff_free(d);
        return RT_ERR_NOMEM;
    }
    *out = d;
    return RT_OK;
}

int rt_vm_diff_files(const char *path_a, const char *path_b, const char *label_a,
                     const char *label_b, struct rt_vm_diff **out, struct rt_errinfo *ei,
                     int *which)
{
    struct rt_diff_options opt = {.filter = NULL, .context = 3};
    struct rt_diff_builder *bd = NULL;
    struct rt_bundle *b = NULL;
    struct rt_diff df;
    char *fn_a = NULL, *rid_a = NULL;
    int rc;
    *which = 0;
    if ((rc = rt_diff_begin(&opt, &bd)) != RT_OK)
        return rt_fail(ei, rc, -1, "diff");
    /* A: decoded, reduced to ids, freed; B kept decoded for its rows */
    if ((rc = rt_bundle_open_file(path_a, &b, ei)) != RT_OK) {
        rt_diff_builder_free(bd);
        return rc;
    }
    fn_a = b->meta.function ? strdup(b->meta.function) : NULL;
    rid_a = b->meta.request_id ? strdup(b->meta.request_id) : NULL;
    rc = rt_diff_add(bd, 0, b);
    rt_bundle_free(b);
    b = NULL;
    if (rc == RT_OK) {
        *which = 1;
        rc = rt_bundle_open_file(path_b, &b, ei);
        if (rc == RT_OK)
            rc = rt_diff_add(bd, 1, b);
    }
    if (rc != RT_OK) {
        rt_diff_builder_free(bd);
        rt_bundle_free(b);
        free(fn_a);
        free(rid_a);
        return rc;
    }
    rc = rt_diff_finish(bd, &df);
    if (rc == RT_OK && rt_diff_needs_rows(&df, 1))
        rc = rt_diff_rows(&df, 1, b);
    if (rc == RT_OK && rt_diff_needs_rows(&df, 0)) {
        struct rt_cursor *c = NULL;
        *which = 0;
        rc = rt_cursor_open_file(path_a, &c, ei);
        if (rc == RT_OK)
            rc = rt_diff_rows_cursor(&df, 0, c, ei);
        rt_cursor_free(c);
        if (rc != RT_OK)
            rt_diff_free(&df);
    }
    struct rt_vm_diff *d = rc == RT_OK ? new_diff() : NULL;
    if (rc == RT_OK && !d) {
        rt_diff_free(&df);
        rc = RT_ERR_NOMEM;
    }
    if (d) {
        struct side sa = {label_a ? label_a : path_a, fn_a, rid_a};
        struct side sb = {label_b ? label_b : path_b, b->meta.function, b->meta.request_id};
        build(d, &df, &sa, &sb, b);
        rt_diff_free(&df);
        if (d->err) {
            rt_vm_diff_free(d);
            d = NULL;
            rc = RT_ERR_NOMEM;
        }
    }
    if (rc == RT_ERR_NOMEM)
        rt_fail(ei, rc, -1, "diff");
    rt_bundle_free(b);
    free(fn_a);
    free(rid_a);
    if (d)
        *out = d;
    return rc;
}

/* ---- against a baseline ---- */

int rt_vm_diff_baseline(const struct rt_bundle *b, const struct rt_baseline *bl, const char *label,
                        struct rt_vm_diff **out)
{
    struct rt_findings fs = {0};
    int rc = rt_check_bundle(b, bl, NULL, &fs);
    if (rc != RT_OK)
        return rc;
    struct rt_vm_diff *d = new_diff();
    if (!d) {
        rt_findings_free(&fs);
        return RT_ERR_NOMEM;
    }
    char *lab = esc(label ? label : "baseline", false);
    char *rid = esc(b->meta.request_id ? b->meta.request_id : "-", false);
    if (!lab || !rid)
        d->err = RT_ERR_NOMEM;
    addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "--- baseline %s (%s, %" PRIu64 " invocations)",
         lab ? lab : "", bl->function, bl->invocations);
    addl(d, RT_VM_DIFF_TITLE, NULL, NULL, "+++ request %s", rid ? rid : "");
    free(lab);
    free(rid);
    size_t by_rule[RT_CHECK__COUNT] = {0}, deviations = 0;
    for (size_t i = 0; i < fs.n; i++) {
        by_rule[fs.v[i].rule]++;
        deviations += !strcmp(rt_check_rule_info(fs.v[i].rule)->source, "baseline");
    }
    d->differs = deviations > 0;
    addl(d, RT_VM_DIFF_TITLE, NULL, NULL,
         "summary: %zu deviations from the baseline, %zu other findings", deviations,
         fs.n - deviations);
    for (unsigned r = 0; r < RT_CHECK__COUNT; r++)
        if (by_rule[r]) {
            const struct rt_check_rule_info *ri = rt_check_rule_info(r);
            addl(d, !strcmp(ri->source, "baseline") ? RT_VM_DIFF_ADDED : RT_VM_DIFF_NOTE, NULL,
                 NULL, "  %s: %zu (%s)", ri->name, by_rule[r], rt_severity_name(ri->severity));
        }
    d->summary = d->n;
    char row[2048];
    for (size_t i = 0; i < fs.n && !d->err; i++) {
        const struct rt_finding *f = &fs.v[i];
        const struct rt_check_rule_info *ri = rt_check_rule_info(f->rule);
        bool from_baseline = !strcmp(ri->source, "baseline");
        addl(d, from_baseline ? RT_VM_DIFF_ADDED : RT_VM_DIFF_NOTE, NULL, NULL, "%c %s %s %s: %s",
             from_baseline ? '+' : '!', rt_severity_name(ri->severity), ri->name, f->item,
             f->explain);
        for (size_t k = 0; k < f->n_ev; k++) {
            rt_check_evidence_row(row, sizeof row, b, f->ev[k]);
            addl(d, RT_VM_DIFF_SAME, NULL, NULL, "    event %zu %s", f->ev[k], row);
        }
        if (f->n_total > f->n_ev)
            addl(d, RT_VM_DIFF_SAME, NULL, NULL, "    ... %zu events in all", f->n_total);
    }
    if (!fs.n)
        addl(d, RT_VM_DIFF_NOTE, NULL, NULL, "(no deviation from the baseline)");
    rt_findings_free(&fs);
    if (d->err) {
        rt_vm_diff_free(d);
        return RT_ERR_NOMEM;
    }
    *out = d;
    return RT_OK;
}
