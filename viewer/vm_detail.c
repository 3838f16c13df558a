/* The detail model of `runtrail view` (viewer/vm_detail.h): the lines of the Detail screen.
 * Every line is kept; a foldable line knows the index of its closing line, and the visible
 * lines are recomputed when a fold changes. JSON payloads are parsed with jansson and printed
 * two spaces per level, members in document order, strings escaped as `show` escapes them. */
#include "viewer/vm_detail.h"

#include "analysis/timeline.h"
#include "formats/escape.h"
#include "formats/toolbox.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string holding JSON is unfolded into its document this many levels deep at most. */
#define MAX_STRING_DOCS 4
#define REDACTED_PREFIX "<redacted"

struct dline {
    struct rt_vm_line pub;
    char *text;   /* as shown unfolded */
    char *folded; /* as shown folded (foldable lines only) */
    size_t end;   /* foldable: index of its closing line (hidden with the rest when folded) */
};

struct rt_vm_detail {
    struct dline *v;
    size_t n, cap;
    size_t *visible;
    size_t n_visible;
    bool dirty;
    int err;
};

struct rt_vm_detail *rt_vm_detail_new(void)
{
    return calloc(1, sizeof(struct rt_vm_detail));
}

void rt_vm_detail_clear(struct rt_vm_detail *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].text);
        free(d->v[i].folded);
    }
    d->n = 0;
    d->n_visible = 0;
    d->dirty = true;
    d->err = RT_OK;
}

void rt_vm_detail_free(struct rt_vm_detail *d)
{
    if (!d)
        return;
    rt_vm_detail_clear(d);
    free(d->v);
    free(d->visible);
    free(d);
}

/* ---- building lines ---- */

/* Appends a line (text formatted); returns its index, or SIZE_MAX when out of memory. */
static size_t addl(struct rt_vm_detail *d, enum rt_vm_line_style style, unsigned depth,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static size_t addl(struct rt_vm_detail *d, enum rt_vm_line_style style, unsigned depth,
                   const char *fmt, ...)
{
    if (d->err)
        return SIZE_MAX;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct dline *v = realloc(d->v, cap * sizeof *v);
        if (!v) {
            d->err = RT_ERR_NOMEM;
            return SIZE_MAX;
        }
        d->v = v;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *text = rt_vformat(fmt, ap);
    va_end(ap);
    if (!text) {
        d->err = RT_ERR_NOMEM;
        return SIZE_MAX;
    }
    struct dline *l = &d->v[d->n];
    memset(l, 0, sizeof *l);
    l->text = text;
    l->pub.text = text;
    l->pub.style = style;
    l->pub.depth = depth;
    d->dirty = true;
    return d->n++;
}

/* Escaped copy of s[0..len) (quote escaped too when not 0). */
static char *esc(const char *s, size_t len, char quote)
{
    size_t need = rt_escape_buf(NULL, 0, s, len, quote);
    char *e = malloc(need + 1);
    if (e)
        rt_escape_buf(e, need + 1, s, len, quote);
    return e;
}

static void field(struct rt_vm_detail *d, const char *name, const char *value)
{
    if (!value)
        return;
    char *e = esc(value, strlen(value), 0);
    if (!e) {
        d->err = RT_ERR_NOMEM;
        return;
    }
    addl(d, RT_VM_LINE_FIELD, 0, "  %-16s %s", name, e);
    free(e);
}

static void fieldf(struct rt_vm_detail *d, enum rt_vm_line_style style, const char *name,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fieldf(struct rt_vm_detail *d, enum rt_vm_line_style style, const char *name,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = rt_vformat(fmt, ap);
    va_end(ap);
    if (!v) {
        d->err = RT_ERR_NOMEM;
        return;
    }
    addl(d, style, 0, "  %-16s %s", name, v);
    free(v);
}

/* ---- event ---- */

static void flags_text(char *buf, size_t cap, uint32_t flags)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned bit = 0; bit < 32; bit++) {
        if (!(flags & (1u << bit)))
            continue;
        const char *name = rt_event_flag_name(bit);
        char unknown[16];
        if (!name) {
            snprintf(unknown, sizeof unknown, "bit%u", bit);
            name = unknown;
        }
        int w = snprintf(buf + n, cap - n, "%s%s", n ? " " : "", name);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

static void str_slot(struct rt_vm_detail *d, const char *name, enum rt_argfmt fmt, struct rt_str s)
{
    if (fmt != RT_AF_ARGV) {
        char *e = esc(s.ptr, s.len, '"');
        if (!e) {
            d->err = RT_ERR_NOMEM;
            return;
        }
        addl(d, RT_VM_LINE_FIELD, 0, "  %-16s \"%s\"", name, e);
        free(e);
        return;
    }
    /* argv: one line per element, so a long command line reads */
    size_t start = 0, k = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i < s.len && s.ptr[i] != '\0')
            continue;
        if (i == s.len && i == start && i > 0)
            break;
        char *e = esc(s.ptr + start, i - start, '"');
        if (!e) {
            d->err = RT_ERR_NOMEM;
            return;
        }
        char label[64];
        snprintf(label, sizeof label, "%s[%zu]", name, k++);
        addl(d, RT_VM_LINE_FIELD, 0, "  %-16s \"%s\"", label, e);
        free(e);
        start = i + 1;
    }
    if (k == 0)
        addl(d, RT_VM_LINE_FIELD, 0, "  %-16s []", name);
}

int rt_vm_detail_add_event(struct rt_vm_detail *d, const struct rt_event *ev, size_t index,
                           enum rt_arch arch)
{
    const struct rt_op_info *oi = rt_op_info(ev->op);
    char buf[512];
    addl(d, RT_VM_LINE_HEADING, 0, "event %zu", index);
    struct rt_timeline_item item = {ev, NULL, index};
    size_t need = rt_timeline_row(NULL, 0, &item, arch);
    char *row = malloc(need + 1);
    if (!row)
        return d->err = RT_ERR_NOMEM;
    rt_timeline_row(row, need + 1, &item, arch);
    addl(d, RT_VM_LINE_FIELD, 0, "  %-16s %s", "row", row);
    free(row);
    rt_render_ms(buf, sizeof buf, ev->ts_ns);
    fieldf(d, RT_VM_LINE_FIELD, "time", "%s (%" PRId64 " ns from the start)", buf, ev->ts_ns);
    rt_render_ms(buf, sizeof buf, (int64_t)ev->dur_ns);
    fieldf(d, RT_VM_LINE_FIELD, "duration", "%s (%" PRIu64 " ns)", buf[0] == '+' ? buf + 1 : buf,
           ev->dur_ns);
    fieldf(d, RT_VM_LINE_FIELD, "pid", "%" PRId32, ev->pid);
    fieldf(d, RT_VM_LINE_FIELD, "tid", "%" PRId32, ev->tid);
    fieldf(d, RT_VM_LINE_FIELD, "kind", "%s", oi ? rt_kind_name(oi->kind) : "?");
    if (oi)
        fieldf(d, RT_VM_LINE_FIELD, "op", "%s", oi->name);
    else
        fieldf(d, RT_VM_LINE_WARN, "op", "%u (unknown to this version)", ev->op);
    const char *en =
        ev->result < 0 && ev->result >= -4095 ? rt_render_errno_name((int)-ev->result) : NULL;
    if (en)
        fieldf(d, RT_VM_LINE_WARN, "result", "%" PRId64 " %s (%s)", ev->result, en,
               strerror((int)-ev->result));
    else
        fieldf(d, RT_VM_LINE_FIELD, "result", "%" PRId64, ev->result);
    flags_text(buf, sizeof buf, ev->flags);
    fieldf(d,
           ev->flags & ~(uint32_t)(RT_EF_CREATE | RT_EF_STILL_OPEN) ? RT_VM_LINE_WARN
                                                                    : RT_VM_LINE_FIELD,
           "event flags", "%s", ev->flags ? buf : "-");
    for (unsigned k = 0; k < RT_EVENT_STRS; k++) {
        if (oi && oi->str_fmt[k] != RT_AF_NONE)
            str_slot(d, oi->str_name[k], oi->str_fmt[k], ev->str[k]);
        else if (!oi && ev->str[k].len) {
            char name[16];
            snprintf(name, sizeof name, "s%u", k);
            str_slot(d, name, RT_AF_STR, ev->str[k]);
        }
    }
    for (unsigned k = 0; k < RT_EVENT_NUMS; k++) {
        if (oi && oi->num_fmt[k] != RT_AF_NONE) {
            rt_render_num_arch(buf, sizeof buf, oi->num_fmt[k], ev->num[k], arch);
            fieldf(d, RT_VM_LINE_FIELD, oi->num_name[k], "%s", buf);
        } else if (!oi && ev->num[k]) {
            char name[16];
            snprintf(name, sizeof name, "n%u", k);
            fieldf(d, RT_VM_LINE_FIELD, name, "%" PRId64, ev->num[k]);
        }
    }
    return d->err;
}

int rt_vm_detail_add_log(struct rt_vm_detail *d, const struct rt_log *log, size_t index)
{
    char ts[40];
    addl(d, RT_VM_LINE_HEADING, 0, "log line %zu", index);
    rt_render_ms(ts, sizeof ts, log->ts_ns);
    fieldf(d, RT_VM_LINE_FIELD, "time", "%s", ts);
    fieldf(d, RT_VM_LINE_FIELD, "stream", "%s", log->stream == 2 ? "stderr" : "stdout");
    char *e = esc(log->text.ptr, log->text.len, '"');
    if (!e)
        return d->err = RT_ERR_NOMEM;
    fieldf(d, RT_VM_LINE_FIELD, "text", "\"%s\"", e);
    free(e);
    return d->err;
}

/* ---- JSON ---- */

static bool is_redacted(const char *s, size_t len)
{
    return len >= sizeof REDACTED_PREFIX - 1 + 1 &&
           !memcmp(s, REDACTED_PREFIX, sizeof REDACTED_PREFIX - 1) && s[len - 1] == '>';
}

/* A string that holds a JSON object or array: its parsed document, or NULL. */
static json_t *string_doc(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
        i++;
    if (i == len || (s[i] != '{' && s[i] != '['))
        return NULL;
    json_t *doc = json_loadb(s, len, 0, NULL);
    if (doc && !json_is_object(doc) && !json_is_array(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

/* Prints value v at depth with the prefix (`"key": ` or "") and a trailing comma when
 * comma; returns whether anything at or below it is redacted. */
static bool json_lines(struct rt_vm_detail *d, json_t *v, unsigned depth, const char *prefix,
                       bool comma, unsigned string_docs)
{
    unsigned ind = 2 * depth + 2;
    const char *c = comma ? "," : "";
    if (json_is_object(v) || json_is_array(v)) {
        bool obj = json_is_object(v);
        size_t n = obj ? json_object_size(v) : json_array_size(v);
        if (n == 0) {
            addl(d, RT_VM_LINE_JSON, depth, "%*s%s%s%s", (int)ind, "", prefix, obj ? "{}" : "[]",
                 c);
            return false;
        }
        size_t open =
            addl(d, RT_VM_LINE_JSON, depth, "%*s%s%c", (int)ind, "", prefix, obj ? '{' : '[');
        bool red = false;
        if (obj) {
            const char *key;
            size_t klen, k = 0;
            json_t *val;
            json_object_keylen_foreach(v, key, klen, val)
            {
                char *ek = esc(key, klen, '"');
                if (!ek) {
                    d->err = RT_ERR_NOMEM;
                    return red;
                }
                size_t plen = strlen(ek) + 5;
                char *p = malloc(plen);
                if (!p) {
                    free(ek);
                    d->err = RT_ERR_NOMEM;
                    return red;
                }
                snprintf(p, plen, "\"%s\": ", ek);
                free(ek);
                red |= json_lines(d, val, depth + 1, p, ++k < n, string_docs);
                free(p);
                if (d->err)
                    return red;
            }
        } else {
            for (size_t k = 0; k < n; k++) {
                red |= json_lines(d, json_array_get(v, k), depth + 1, "", k + 1 < n, string_docs);
                if (d->err)
                    return red;
            }
        }
        size_t close = addl(d, RT_VM_LINE_JSON, depth, "%*s%c%s", (int)ind, "", obj ? '}' : ']', c);
        if (open == SIZE_MAX || close == SIZE_MAX)
            return red;
        struct dline *l = &d->v[open];
        l->end = close;
        l->pub.foldable = true;
        l->pub.redacted = red;
        size_t need = strlen(prefix) + ind + 64;
        l->folded = malloc(need);
        if (!l->folded) {
            d->err = RT_ERR_NOMEM;
            return red;
        }
        snprintf(l->folded, need, "%*s%s%s %zu %s%s%s%s", (int)ind, "", prefix,
                 obj ? "{...}" : "[...]", n,
                 obj ? (n == 1 ? "member" : "members") : (n == 1 ? "element" : "elements"),
                 red ? ", redacted inside" : "", "", c);
        return red;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        json_t *doc = string_docs < MAX_STRING_DOCS && depth < 64 ? string_doc(s, len) : NULL;
        if (doc) {
            /* a string holding JSON (API Gateway body): shown as its document */
            size_t plen = strlen(prefix) + 32;
            char *p = malloc(plen);
            bool red = false;
            if (p) {
                snprintf(p, plen, "%s(JSON in a string) ", prefix);
                red = json_lines(d, doc, depth, p, comma, string_docs + 1);
                free(p);
            } else {
                d->err = RT_ERR_NOMEM;
            }
            json_decref(doc);
            return red;
        }
        char *e = esc(s, len, '"');
        if (!e) {
            d->err = RT_ERR_NOMEM;
            return false;
        }
        bool red = is_redacted(s, len);
        size_t i = addl(d, red ? RT_VM_LINE_REDACTED : RT_VM_LINE_JSON, depth, "%*s%s\"%s\"%s%s",
                        (int)ind, "", prefix, e, c, red ? "  [redacted by the recorder]" : "");
        if (i != SIZE_MAX)
            d->v[i].pub.redacted = red;
        free(e);
        return red;
    }
    char *num = json_dumps(v, JSON_ENCODE_ANY);
    addl(d, RT_VM_LINE_JSON, depth, "%*s%s%s%s", (int)ind, "", prefix, num ? num : "?", c);
    free(num);
    return false;
}

int rt_vm_detail_add_payload(struct rt_vm_detail *d, const char *title, const struct rt_payload *p)
{
    char hex[2 * RT_DIGEST_LEN + 1];
    addl(d, RT_VM_LINE_HEADING, 0, "%s", title);
    if (!p->present) {
        addl(d, RT_VM_LINE_FIELD, 0, "  (none in this bundle)");
        return d->err;
    }
    fieldf(d, RT_VM_LINE_FIELD, "mode", "%s", rt_payload_mode_name(p->mode));
    fieldf(d, RT_VM_LINE_FIELD, "sha256", "%s (of the original bytes)",
           rt_digest_hex(p->sha256, hex));
    if (p->content_type)
        field(d, "content type", p->content_type);
    if (p->error_type)
        field(d, "error type", p->error_type);
    if (p->original_len > p->len && p->mode != RT_PAYLOAD_HASH && p->mode != RT_PAYLOAD_NONE)
        fieldf(d, RT_VM_LINE_WARN, "stored", "%zu of %" PRIu64 " bytes: the rest was cut", p->len,
               p->original_len);
    else
        fieldf(d, RT_VM_LINE_FIELD, "stored", "%zu bytes (original %" PRIu64 ")", p->len,
               p->original_len);
    if (!p->len || !p->data)
        return d->err;
    json_error_t jerr;
    json_t *doc =
        json_loadb((const char *)p->data, p->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (doc) {
        json_lines(d, doc, 0, "", false, 0);
        json_decref(doc);
        return d->err;
    }
    /* not JSON (or cut): escaped text, one line per line */
    const char *s = (const char *)p->data;
    size_t start = 0;
    for (size_t i = 0; i <= p->len && !d->err; i++) {
        if (i < p->len && s[i] != '\n')
            continue;
        if (i == p->len && i == start && i > 0)
            break;
        char *e = esc(s + start, i - start, 0);
        if (!e)
            return d->err = RT_ERR_NOMEM;
        addl(d, RT_VM_LINE_TEXT, 0, "  %s", e);
        free(e);
        start = i + 1;
    }
    return d->err;
}

/* ---- the bundle ---- */

static const char *state_text(enum rt_cursor_state st, enum rt_vm_line_style *style)
{
    *style = RT_VM_LINE_WARN;
    switch (st) {
    case RT_CURSOR_VERIFIED:
        *style = RT_VM_LINE_FIELD;
        return "verified: footer digest and zstd checksum match";
    case RT_CURSOR_MISMATCH:
        return "MODIFIED: the footer digest or the zstd checksum does not match";
    case RT_CURSOR_DAMAGED:
        return "DAMAGED: truncated or malformed; events after the damage are lost";
    default:
        return "not verified yet: the end of the bundle has not been read";
    }
}

int rt_vm_detail_add_bundle(struct rt_vm_detail *d, const struct rt_bundle *b,
                            enum rt_cursor_state state)
{
    const struct rt_meta *m = &b->meta;
    char buf[128], hex[2 * RT_DIGEST_LEN + 1];
    addl(d, RT_VM_LINE_HEADING, 0, "invocation");
    field(d, "function", m->function);
    field(d, "version", m->function_version);
    field(d, "arn", m->function_arn);
    field(d, "region", m->region);
    field(d, "runtime", m->runtime);
    field(d, "handler", m->handler);
    field(d, "request id", m->request_id);
    field(d, "trace id", m->trace_id);
    field(d, "caller", m->caller);
    field(d, "command", m->command);
    if (m->memory_mb)
        fieldf(d, RT_VM_LINE_FIELD, "memory", "%" PRIu32 " MB", m->memory_mb);
    rt_render_wall(buf, sizeof buf, m->start_wall_ns);
    fieldf(d, RT_VM_LINE_FIELD, "start", "%s", buf);
    rt_render_wall(buf, sizeof buf, m->end_wall_ns);
    fieldf(d, RT_VM_LINE_FIELD, "end", "%s", buf);
    rt_render_ms(buf, sizeof buf, (int64_t)m->duration_ns);
    fieldf(d, RT_VM_LINE_FIELD, "duration", "%s", buf[0] == '+' ? buf + 1 : buf);
    fieldf(d, RT_VM_LINE_FIELD, "cold start", "%s", m->cold_start ? "yes" : "no");
    fieldf(d, m->status == RT_STATUS_OK ? RT_VM_LINE_FIELD : RT_VM_LINE_WARN, "status", "%s",
           rt_status_name(m->status));
    field(d, "error type", m->error_type);
    if (m->coverage & RT_COV_RECORD)
        fieldf(d, RT_VM_LINE_FIELD, "exit status", "%" PRId32, m->exit_status);
    field(d, "arch", m->arch);
    field(d, "recorder", m->recorder_version);
    char cov[160];
    snprintf(cov, sizeof cov, "%s%s%s%s", m->coverage & RT_COV_PRELOAD ? " preload" : "",
             m->coverage & RT_COV_PROXY ? " proxy" : "",
             m->coverage & RT_COV_RECORD ? " record" : "",
             m->coverage & RT_COV_PARTIAL ? " PARTIAL (the interposer is not in the runtime)" : "");
    fieldf(d, m->coverage & RT_COV_PARTIAL ? RT_VM_LINE_WARN : RT_VM_LINE_FIELD, "coverage", "%s",
           cov[0] ? cov + 1 : "-");
    if (m->recorder_cpu_ns) /* the recorder process's CPU since the previous bundle */
        fieldf(d, RT_VM_LINE_FIELD, "recorder cpu", "%.3f ms", (double)m->recorder_cpu_ns / 1e6);
    for (unsigned k = 0; k < RT_CTR__COUNT; k++)
        if (m->counters[k])
            fieldf(d, k == RT_CTR_SPOOLED ? RT_VM_LINE_FIELD : RT_VM_LINE_WARN, rt_counter_name(k),
                   "%" PRIu64, m->counters[k]);
    if (m->dropped_flags) {
        flags_text(buf, sizeof buf, m->dropped_flags);
        fieldf(d, RT_VM_LINE_WARN, "dropped flags", "%s (of events not stored)", buf);
    }

    addl(d, RT_VM_LINE_HEADING, 0, "chain");
    field(d, "sandbox", m->sandbox_id);
    fieldf(d, RT_VM_LINE_FIELD, "position", "bundle %" PRIu64 " of its sandbox%s", m->seq,
           m->chain_end == RT_CHAIN_END_LAST   ? ", the last"
           : m->chain_end == RT_CHAIN_END_MORE ? ", more may follow"
                                               : "");
    if (m->has_prev)
        fieldf(d, RT_VM_LINE_FIELD, "previous", "%s", rt_digest_hex(m->prev_digest, hex));
    else
        fieldf(d, RT_VM_LINE_FIELD, "previous", "none (the first bundle of its sandbox)");
    enum rt_vm_line_style st;
    const char *vt = state_text(state, &st);
    fieldf(d, st, "verify", "%s", vt);
    if (state == RT_CURSOR_VERIFIED)
        fieldf(d, RT_VM_LINE_FIELD, "digest", "%s", rt_digest_hex(b->digest, hex));
    if (b->unknown_blocks)
        fieldf(d, RT_VM_LINE_WARN, "unknown blocks", "%u skipped (a newer format)",
               b->unknown_blocks);

    addl(d, RT_VM_LINE_HEADING, 0, "environment (%zu variables)", b->n_env);
    field(d, "hash key", m->hash_key_id);
    for (size_t i = 0; i < b->n_env; i++) {
        const struct rt_env_var *v = &b->env[i];
        char *name = esc(v->name, strlen(v->name), 0);
        char *val = v->value ? esc(v->value, strlen(v->value), '"') : NULL;
        if (!name || (v->value && !val)) {
            free(name);
            free(val);
            return d->err = RT_ERR_NOMEM;
        }
        rt_digest_hex(v->hash, hex);
        if (val)
            addl(d, RT_VM_LINE_FIELD, 0, "  %s = \"%s\"  hmac %.16s", name, val, hex);
        else
            addl(d, RT_VM_LINE_FIELD, 0, "  %s  hmac %.16s", name, hex);
        free(name);
        free(val);
    }

    addl(d, RT_VM_LINE_HEADING, 0, "code");
    if (b->has_code) {
        field(d, "task root", b->code.task_root_path);
        fieldf(d, RT_VM_LINE_FIELD, "task root sha", "%s", rt_digest_hex(b->code.task_root, hex));
        fieldf(d, RT_VM_LINE_FIELD, "layers sha", "%s", rt_digest_hex(b->code.layers, hex));
        fieldf(d, RT_VM_LINE_FIELD, "hashed", "%" PRIu32 " files, %" PRIu64 " bytes", b->code.files,
               b->code.bytes);
    } else {
        addl(d, RT_VM_LINE_FIELD, 0, "  (no CODE block)");
    }

    if (b->n_headers) {
        addl(d, RT_VM_LINE_HEADING, 0, "headers");
        for (size_t i = 0; i < b->n_headers; i++)
            field(d, b->headers[i].name, b->headers[i].value);
    }
    rt_vm_detail_add_payload(d, "payload (event)", &b->event);
    rt_vm_detail_add_payload(d, "response", &b->response);
    if (b->error.present)
        rt_vm_detail_add_payload(d, "error", &b->error);
    return d->err;
}

/* ---- folding ---- */

static void refresh(struct rt_vm_detail *d)
{
    if (!d->dirty)
        return;
    free(d->visible);
    d->visible = malloc((d->n ? d->n : 1) * sizeof *d->visible);
    d->n_visible = 0;
    if (!d->visible)
        return;
    for (size_t i = 0; i < d->n; i++) {
        struct dline *l = &d->v[i];
        d->visible[d->n_visible++] = i;
        l->pub.text = l->pub.folded && l->folded ? l->folded : l->text;
        if (l->pub.foldable && l->pub.folded)
            i = l->end; /* skip the inside and the closing line */
    }
    d->dirty = false;
}

size_t rt_vm_detail_count(const struct rt_vm_detail *d)
{
    refresh((struct rt_vm_detail *)d);
    return d->n_visible;
}

const struct rt_vm_line *rt_vm_detail_line(const struct rt_vm_detail *d, size_t i)
{
    refresh((struct rt_vm_detail *)d);
    return i < d->n_visible ? &d->v[d->visible[i]].pub : NULL;
}

bool rt_vm_detail_toggle(struct rt_vm_detail *d, size_t i)
{
    refresh(d);
    if (i >= d->n_visible)
        return false;
    struct dline *l = &d->v[d->visible[i]];
    if (!l->pub.foldable)
        return false;
    l->pub.folded = !l->pub.folded;
    d->dirty = true;
    return true;
}

void rt_vm_detail_fold_all(struct rt_vm_detail *d, unsigned depth, bool folded)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].pub.foldable && d->v[i].pub.depth >= depth)
            d->v[i].pub.folded = folded;
    d->dirty = true;
}
