/* The detail screen (Enter on an event): every field of the event (each argument slot under
 * its name from the op table), then what the bundle says about the invocation: META, the
 * integrity of the bundle (verified, modified, damaged: the whole bundle is read for it), the
 * CODE digests, the ENV names with their keyed hashes (values only where allow-listed), and
 * the payload, response and error pretty-printed as JSON with redacted values marked '*'.
 * Lines are built once as escaped text and scrolled; `/` `n` `N` search them. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/escape.h"
#include "formats/event.h"
#include "formats/render.h"
#include "viewer/keys.h"
#include "viewer/ui.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line {
    char *text; /* escaped */
    enum rt_view_color color;
};

struct detail {
    struct rt_view_screen base;
    struct line *lines;
    size_t n, cap;
    size_t top, sel;
    int rows;
    char title[160];
    char search[256];
    bool oom;
};

static void add(struct detail *d, enum rt_view_color color, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add(struct detail *d, enum rt_view_color color, const char *fmt, ...)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct line *p = realloc(d->lines, cap * sizeof *p);
        if (!p) {
            d->oom = true;
            return;
        }
        d->lines = p;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        d->oom = true;
        return;
    }
    d->lines[d->n].text = s;
    d->lines[d->n].color = color;
    d->n++;
}

/* Captured bytes, escaped, into a malloc'ed string (for add("%s")). */
static char *esc(const void *s, size_t len)
{
    size_t need = rt_escape_buf(NULL, 0, s ? s : "", s ? len : 0, 0);
    char *out = malloc(need + 1);
    if (out)
        rt_escape_buf(out, need + 1, s ? s : "", s ? len : 0, 0);
    return out;
}

static void add_str(struct detail *d, const char *label, const char *value)
{
    if (!value)
        return;
    char *e = esc(value, strlen(value));
    add(d, RT_VIEW_C_NORMAL, "  %-14s %s", label, e ? e : "?");
    free(e);
}

static void event_lines(struct detail *d, const struct rt_event *ev, size_t index, size_t known,
                        enum rt_arch arch)
{
    const struct rt_op_info *oi = rt_op_info(ev->op);
    add(d, RT_VIEW_C_HEADING, "Event %zu of %zu", index + 1, known);
    add(d, RT_VIEW_C_NORMAL, "  %-14s %s (%s)", "op", oi ? oi->name : "?",
        oi ? rt_kind_name(oi->kind) : "?");
    char ms[32], dur[32];
    rt_render_ms(ms, sizeof ms, ev->ts_ns);
    rt_render_ms(dur, sizeof dur, (int64_t)ev->dur_ns);
    add(d, RT_VIEW_C_NORMAL, "  %-14s %s (took %sms)", "time", ms, dur + 1);
    add(d, RT_VIEW_C_NORMAL, "  %-14s %" PRId32 " / %" PRId32, "pid / tid", ev->pid, ev->tid);
    if (ev->result < 0 && ev->result > -4096 && rt_render_errno_name((int)-ev->result))
        add(d, RT_VIEW_C_ERROR, "  %-14s %" PRId64 " %s", "result", ev->result,
            rt_render_errno_name((int)-ev->result));
    else
        add(d, RT_VIEW_C_NORMAL, "  %-14s %" PRId64, "result", ev->result);
    static const char *const flag_names[] = {
#define _(id, bit, name) [bit] = name,
        RT_EVENT_FLAGS(_)
#undef _
    };
    char flags[400] = "";
    size_t n = 0;
    for (unsigned b = 0; b < sizeof flag_names / sizeof flag_names[0]; b++)
        if ((ev->flags & (1u << b)) && flag_names[b] && n < sizeof flags)
            n += (size_t)snprintf(flags + n, sizeof flags - n, "%s%s", n ? " " : "", flag_names[b]);
    add(d, ev->flags ? RT_VIEW_C_FLAGGED : RT_VIEW_C_NORMAL, "  %-14s %s", "flags",
        n ? flags : "-");
    for (int k = 0; oi && k < RT_EVENT_STRS; k++) {
        if (oi->str_fmt[k] == RT_AF_NONE)
            continue;
        /* argv: its NUL separators shown as spaces through the escaping (\0). */
        char *e = esc(ev->str[k].ptr, ev->str[k].len);
        add(d, RT_VIEW_C_NORMAL, "  %-14s %s", oi->str_name[k] ? oi->str_name[k] : "str",
            e ? e : "?");
        free(e);
    }
    for (int k = 0; oi && k < RT_EVENT_NUMS; k++) {
        if (oi->num_fmt[k] == RT_AF_NONE)
            continue;
        char v[128];
        rt_render_num_arch(v, sizeof v, oi->num_fmt[k], ev->num[k], arch);
        add(d, RT_VIEW_C_NORMAL, "  %-14s %s", oi->num_name[k] ? oi->num_name[k] : "num", v);
    }
}

static void payload_lines(struct detail *d, const char *name, const struct rt_payload *p)
{
    if (!p->present)
        return;
    static const char *const modes[] = {"full", "redacted", "hash", "none"};
    add(d, RT_VIEW_C_NORMAL, "%s", "");
    add(d, RT_VIEW_C_HEADING, "%s: %zu of %" PRIu64 " bytes stored (%s)", name, p->len,
        p->original_len, p->mode < 4 ? modes[p->mode] : "?");
    if (p->error_type) {
        char *e = esc(p->error_type, strlen(p->error_type));
        add(d, RT_VIEW_C_ERROR, "  errorType %s", e ? e : "?");
        free(e);
    }
    if (!p->len)
        return;
    json_error_t je;
    json_t *j = json_loadb((const char *)p->data, p->len, JSON_DECODE_ANY, &je);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    const char *src = text ? text : (const char *)p->data;
    size_t len = text ? strlen(text) : p->len;
    if (!text)
        add(d, RT_VIEW_C_DIM, "  (not JSON: shown as text)");
    /* One line per line of the text; each escaped. */
    for (size_t i = 0; i < len && d->n < 20000;) {
        const char *nl = memchr(src + i, '\n', len - i);
        size_t l = nl ? (size_t)(nl - (src + i)) : len - i;
        char *e = esc(src + i, l);
        bool redacted = e && strstr(e, "<redacted");
        add(d, redacted ? RT_VIEW_C_MARKED : RT_VIEW_C_NORMAL, "%s %s", redacted ? "*" : " ",
            e ? e : "?");
        free(e);
        i += l + 1;
    }
    free(text);
}

static void bundle_lines(struct detail *d, const struct rt_bundle *b, enum rt_cursor_state state,
                         const char *damage)
{
    const struct rt_meta *m = &b->meta;
    add(d, RT_VIEW_C_NORMAL, "%s", "");
    add(d, RT_VIEW_C_HEADING, "Invocation");
    add_str(d, "function", m->function);
    add_str(d, "version", m->function_version);
    add_str(d, "request id", m->request_id);
    add_str(d, "runtime", m->runtime);
    add_str(d, "region", m->region);
    add_str(d, "handler", m->handler);
    add_str(d, "command", m->command);
    const char *status = rt_status_name(m->status);
    add(d, m->status == RT_STATUS_OK ? RT_VIEW_C_OK : RT_VIEW_C_ERROR, "  %-14s %s", "status",
        status ? status : "unknown");
    add_str(d, "error type", m->error_type);
    char when[64], dur[32];
    rt_render_wall(when, sizeof when, m->start_wall_ns);
    rt_render_ms(dur, sizeof dur, (int64_t)m->duration_ns);
    add(d, RT_VIEW_C_NORMAL, "  %-14s %s  duration %sms%s", "start", when, dur + 1,
        m->cold_start ? "  cold start" : "");
    add_str(d, "sandbox", m->sandbox_id);
    char prev[2 * RT_DIGEST_LEN + 1];
    add(d, RT_VIEW_C_NORMAL, "  %-14s seq %" PRIu64 ", previous %s, %s", "chain", m->seq,
        m->has_prev ? rt_digest_hex(m->prev_digest, prev) : "none (first of its sandbox)",
        m->chain_end == RT_CHAIN_END_LAST   ? "last of its sandbox"
        : m->chain_end == RT_CHAIN_END_MORE ? "more may follow"
                                            : "end not recorded");
    const char *vs = state == RT_CURSOR_VERIFIED   ? "verified (zstd checksum and footer digest)"
                     : state == RT_CURSOR_MISMATCH ? "MODIFIED: the footer digest does not match"
                     : state == RT_CURSOR_DAMAGED  ? "DAMAGED"
                                                   : "not read to the end";
    add(d, state == RT_CURSOR_VERIFIED ? RT_VIEW_C_OK : RT_VIEW_C_WARN, "  %-14s %s%s%s",
        "integrity", vs, damage[0] ? ": " : "", damage);
    for (unsigned c = 0; c < RT_CTR__COUNT; c++)
        if (m->counters[c])
            add(d, RT_VIEW_C_FLAGGED, "  %-14s %s = %" PRIu64, c ? "" : "counters",
                rt_counter_name(c), m->counters[c]);
    if (b->has_code) {
        char a[2 * RT_DIGEST_LEN + 1], l[2 * RT_DIGEST_LEN + 1];
        add(d, RT_VIEW_C_NORMAL, "%s", "");
        add(d, RT_VIEW_C_HEADING, "Code: %" PRIu32 " files, %" PRIu64 " bytes", b->code.files,
            b->code.bytes);
        add(d, RT_VIEW_C_NORMAL, "  %-14s %s", "task root", rt_digest_hex(b->code.task_root, a));
        add(d, RT_VIEW_C_NORMAL, "  %-14s %s", "layers", rt_digest_hex(b->code.layers, l));
        add_str(d, "path", b->code.task_root_path);
    }
    if (b->n_env) {
        add(d, RT_VIEW_C_NORMAL, "%s", "");
        add(d, RT_VIEW_C_HEADING,
            "Environment: %zu variables (keyed hashes; values only where "
            "allow-listed)",
            b->n_env);
        for (size_t i = 0; i < b->n_env; i++) {
            char h[2 * RT_DIGEST_LEN + 1];
            char *name = esc(b->env[i].name, b->env[i].name ? strlen(b->env[i].name) : 0);
            char *value = b->env[i].value ? esc(b->env[i].value, strlen(b->env[i].value)) : NULL;
            rt_digest_hex(b->env[i].hash, h);
            add(d, RT_VIEW_C_NORMAL, "  %-28s %.16s%s%s", name ? name : "?", h, value ? "  = " : "",
                value ? value : "");
            free(name);
            free(value);
        }
    }
    payload_lines(d, "Event (input)", &b->event);
    payload_lines(d, "Response", &b->response);
    payload_lines(d, "Error", &b->error);
}

static void detail_draw(struct rt_view_screen *s, struct rt_view_app *app)
{
    struct detail *d = (struct detail *)s;
    rt_view_title(d->title, "");
    d->rows = LINES - 2 > 1 ? LINES - 2 : 1;
    if (d->sel >= d->n && d->n)
        d->sel = d->n - 1;
    if (d->sel < d->top)
        d->top = d->sel;
    if (d->sel >= d->top + (size_t)d->rows)
        d->top = d->sel - (size_t)d->rows + 1;
    for (int i = 0; i < d->rows && d->top + (size_t)i < d->n; i++) {
        const struct line *l = &d->lines[d->top + (size_t)i];
        int attr = d->top + (size_t)i == d->sel ? rt_view_attr(RT_VIEW_C_SELECTED)
                                                : rt_view_attr(l->color);
        rt_view_put(1 + i, 0, COLS, l->text, attr, true);
    }
    char right[64];
    snprintf(right, sizeof right, "%zu/%zu  ?:help ", d->n ? d->sel + 1 : 0, d->n);
    rt_view_status(app, " Esc/q: back to the timeline", right);
}

static bool find(struct detail *d, int dir)
{
    for (size_t step = 1; step < d->n; step++) {
        size_t i = dir > 0 ? d->sel + step : d->sel - step;
        if (i >= d->n)
            return false;
        if (rt_view_contains(d->lines[i].text, d->search)) {
            d->sel = i;
            return true;
        }
    }
    return false;
}

static int detail_key(struct rt_view_screen *s, struct rt_view_app *app, enum rt_view_action a,
                      int ch)
{
    (void)ch;
    struct detail *d = (struct detail *)s;
    size_t page = d->rows > 1 ? (size_t)d->rows - 1 : 1;
    switch (a) {
    case RT_VIEW_UP:
        if (d->sel > 0)
            d->sel--;
        break;
    case RT_VIEW_DOWN:
        if (d->sel + 1 < d->n)
            d->sel++;
        break;
    case RT_VIEW_PGUP:
        d->sel = d->sel > page ? d->sel - page : 0;
        break;
    case RT_VIEW_PGDN:
        d->sel = d->sel + page < d->n ? d->sel + page : d->n - 1;
        break;
    case RT_VIEW_TOP:
        d->sel = 0;
        break;
    case RT_VIEW_BOTTOM:
        d->sel = d->n ? d->n - 1 : 0;
        break;
    case RT_VIEW_SEARCH: {
        char line[sizeof d->search];
        if (rt_view_prompt(app, "/", d->search, line, sizeof line) && line[0]) {
            snprintf(d->search, sizeof d->search, "%s", line);
            if (!find(d, 1))
                rt_view_message(app, true, "not found: %s", d->search);
        }
        break;
    }
    case RT_VIEW_NEXT:
    case RT_VIEW_PREV:
        if (d->search[0] && !find(d, a == RT_VIEW_NEXT ? 1 : -1))
            rt_view_message(app, true, "no more matches: %s", d->search);
        break;
    default:
        return 0;
    }
    return RT_VIEW_HANDLED;
}

static void detail_free(struct rt_view_screen *s)
{
    struct detail *d = (struct detail *)s;
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i].text);
    free(d->lines);
    free(d);
}

static const struct rt_view_screen_ops detail_ops = {
    .name = "detail", .draw = detail_draw, .key = detail_key, .free = detail_free};

struct rt_view_screen *rt_view_detail_new(const char *path, size_t event_index, char *err,
                                          size_t cap)
{
    struct rt_cursor *cur;
    struct rt_errinfo ei;
    int rc = rt_cursor_open_file(path, &cur, &ei);
    if (rc != RT_OK) {
        char buf[300];
        snprintf(err, cap, "%s", rt_errinfo_format(rc, &ei, buf, sizeof buf));
        return NULL;
    }
    struct detail *d = calloc(1, sizeof *d);
    if (!d) {
        rt_cursor_free(cur);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    d->base.ops = &detail_ops;
    snprintf(d->title, sizeof d->title, " runtrail view: detail");
    const struct rt_bundle *b = rt_cursor_bundle(cur);
    enum rt_arch arch = rt_arch_from_name(b->meta.arch);
    const struct rt_event *ev = NULL;
    char damage[300] = "";
    if (rt_cursor_seek(cur, event_index, &ei) == RT_OK && rt_cursor_next(cur, &ev, &ei) == RT_OK &&
        ev) {
        /* The event is valid until the next call: lines first, then read to the end. */
        event_lines(d, ev, event_index, event_index + 1, arch);
    }
    /* The integrity needs the whole bundle: read the rest. */
    for (;;) {
        const struct rt_event *e2;
        rc = rt_cursor_next(cur, &e2, &ei);
        if (rc != RT_OK) {
            char buf[300];
            snprintf(damage, sizeof damage, "%s", rt_errinfo_format(rc, &ei, buf, sizeof buf));
            break;
        }
        if (!e2)
            break;
    }
    bool complete;
    size_t known = rt_cursor_known(cur, &complete);
    char *head = NULL;
    if (d->n && asprintf(&head, "Event %zu of %zu", event_index + 1, known) >= 0) {
        free(d->lines[0].text);
        d->lines[0].text = head;
    }
    bundle_lines(d, b, rt_cursor_state(cur), damage);
    rt_cursor_free(cur);
    if (d->oom) {
        detail_free(&d->base);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    return &d->base;
}
