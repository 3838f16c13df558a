/* The timeline screen: every event of one bundle as `show` renders it (relative time, process,
 * call, result), read lazily through the streaming cursor (formats/bundle.h): the first screen
 * is drawn from the first events while the rest is read between keys, and drawing a screen
 * costs at most one checkpoint's worth of decoding wherever it is in the bundle. Three lines
 * on top never scroll away: the response and status, the invocation markers found so far and
 * the bundle's drop counters and integrity (verified, modified, damaged: an incomplete
 * recording never looks complete). A gutter shows where the time went ('#' a call that took
 * a tenth of the invocation or more, '+' a hundredth; '~' before an event a long gap came
 * before). Keys 1-5 hide and show kinds, `/` `n` `N` search, `]` `[` jump between flagged
 * events, Enter opens an event's detail. */
#include "analysis/timeline.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "formats/event.h"
#include "formats/render.h"
#include "viewer/keys.h"
#include "viewer/ui.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_STEP 8192 /* events read per idle step */
#define MAX_MARKS 12
#define BOOKKEEPING_FLAGS (RT_EF_OUTSIDE | RT_EF_CREATE | RT_EF_STILL_OPEN)

struct tl {
    struct rt_view_screen base;
    char *path;
    struct rt_cursor *cur;
    const struct rt_bundle *b;
    enum rt_arch arch;
    size_t known; /* events known to exist */
    bool complete;
    int damage_rc; /* RT_OK, or the error where reading stopped */
    char damage[400];
    uint32_t hidden; /* bit per rt_kind hidden */
    size_t *vis;     /* with kinds hidden: the events shown, by index */
    size_t n_vis, cap_vis, vis_scanned;
    size_t marks_scanned;
    struct {
        size_t index;
        int64_t ts_ns;
        char name[32];
    } marks[MAX_MARKS];
    int n_marks;
    size_t sel, top;
    int hscroll;
    int rows_y, rows_n;
    char search[256];
    char *line;
    size_t line_cap;
};

static bool filtered(const struct tl *t)
{
    return t->hidden != 0;
}

static size_t n_rows(const struct tl *t)
{
    return filtered(t) ? t->n_vis : t->known;
}

/* The event at index (NULL past the end or after damage). Valid until the next call. */
static const struct rt_event *event_at(struct tl *t, size_t index)
{
    struct rt_errinfo ei;
    const struct rt_event *ev = NULL;
    if (rt_cursor_tell(t->cur) != index && rt_cursor_seek(t->cur, index, &ei) != RT_OK)
        return NULL;
    if (rt_cursor_next(t->cur, &ev, &ei) != RT_OK)
        return NULL;
    return ev;
}

static size_t index_of_row(const struct tl *t, size_t row)
{
    return filtered(t) ? t->vis[row] : row;
}

static unsigned kind_of(const struct rt_event *ev)
{
    const struct rt_op_info *oi = rt_op_info(ev->op);
    return oi ? (unsigned)oi->kind : RT_KIND_PROC;
}

static void note_mark(struct tl *t, size_t index, const struct rt_event *ev)
{
    if (kind_of(ev) != RT_KIND_MARK || t->n_marks >= MAX_MARKS)
        return;
    const struct rt_op_info *oi = rt_op_info(ev->op);
    char name[32] = "mark";
    for (int k = 0; oi && k < RT_EVENT_NUMS; k++)
        if (oi->num_fmt[k] == RT_AF_MARK)
            rt_render_num_arch(name, sizeof name, RT_AF_MARK, ev->num[k], t->arch);
    t->marks[t->n_marks].index = index;
    t->marks[t->n_marks].ts_ns = ev->ts_ns;
    snprintf(t->marks[t->n_marks].name, sizeof t->marks[0].name, "%s", name);
    t->n_marks++;
}

/* Reads up to SCAN_STEP more events: extends what is known, notes the markers and, with kinds
 * hidden, the events shown. Returns true while more remains. */
static bool scan_step(struct tl *t)
{
    size_t from = filtered(t) ? t->vis_scanned : t->known;
    if (t->complete && from >= t->known && t->marks_scanned >= t->known)
        return false;
    if (t->marks_scanned < from)
        from = t->marks_scanned;
    struct rt_errinfo ei;
    if (rt_cursor_tell(t->cur) != from && rt_cursor_seek(t->cur, from, &ei) != RT_OK) {
        t->complete = true;
        return false;
    }
    size_t i = from;
    for (int n = 0; n < SCAN_STEP; n++, i++) {
        const struct rt_event *ev;
        int rc = rt_cursor_next(t->cur, &ev, &ei);
        if (rc != RT_OK) {
            char buf[300];
            t->damage_rc = rc;
            snprintf(t->damage, sizeof t->damage, "%s",
                     rt_errinfo_format(rc, &ei, buf, sizeof buf));
            t->complete = true;
            break;
        }
        if (!ev) {
            t->complete = true;
            break;
        }
        if (i >= t->marks_scanned) {
            note_mark(t, i, ev);
            t->marks_scanned = i + 1;
        }
        if (filtered(t) && i >= t->vis_scanned) {
            if (!(t->hidden & (1u << kind_of(ev)))) {
                if (t->n_vis == t->cap_vis) {
                    size_t cap = t->cap_vis ? t->cap_vis * 2 : 4096;
                    size_t *p = realloc(t->vis, cap * sizeof *p);
                    if (!p)
                        break;
                    t->vis = p;
                    t->cap_vis = cap;
                }
                t->vis[t->n_vis++] = i;
            }
            t->vis_scanned = i + 1;
        }
    }
    bool complete;
    size_t known = rt_cursor_known(t->cur, &complete);
    if (known > t->known)
        t->known = known;
    if (complete)
        t->complete = true;
    bool more =
        !t->complete || (filtered(t) && t->vis_scanned < t->known) || t->marks_scanned < t->known;
    return more;
}

static const char *row_text(struct tl *t, const struct rt_event *ev, size_t index)
{
    struct rt_timeline_item it = {.ev = ev, .log = NULL, .index = index};
    size_t need = rt_timeline_row(t->line, t->line_cap, &it, t->arch);
    if (need >= t->line_cap) {
        char *p = realloc(t->line, need + 1);
        if (p) {
            t->line = p;
            t->line_cap = need + 1;
            rt_timeline_row(t->line, t->line_cap, &it, t->arch);
        }
    }
    return t->line;
}

/* Drops the first `cols` columns of an escaped row (horizontal scroll). */
static const char *skip_cols(const char *s, int cols)
{
    while (cols > 0 && *s) {
        s++;
        while ((*s & 0xC0) == 0x80)
            s++;
        cols--;
    }
    return s;
}

static void draw_header(struct tl *t, int y)
{
    const struct rt_meta *m = &t->b->meta;
    char line[1024], dur[32], esc_fn[200], esc_rid[200];
    rt_render_ms(dur, sizeof dur, (int64_t)m->duration_ns);
    rt_escape_buf(esc_fn, sizeof esc_fn, m->function ? m->function : "-",
                  strlen(m->function ? m->function : "-"), 0);
    rt_escape_buf(esc_rid, sizeof esc_rid, m->request_id ? m->request_id : "-",
                  strlen(m->request_id ? m->request_id : "-"), 0);
    const char *status = rt_status_name(m->status);
    int x = rt_view_put(y, 0, COLS, esc_fn, rt_view_attr(RT_VIEW_C_HEADING), false);
    snprintf(line, sizeof line, "  %s  ", esc_rid);
    x += rt_view_put(y, x, COLS - x, line, 0, false);
    x += rt_view_put(y, x, COLS - x, status ? status : "unknown",
                     rt_view_attr(m->status == RT_STATUS_OK ? RT_VIEW_C_OK : RT_VIEW_C_ERROR),
                     false);
    char resp[300] = "";
    if (t->b->error.present) {
        char et[120];
        const char *e = t->b->error.error_type ? t->b->error.error_type
                        : m->error_type        ? m->error_type
                                               : "-";
        rt_escape_buf(et, sizeof et, e, strlen(e), 0);
        snprintf(resp, sizeof resp, "  error %s (%zu B)", et, t->b->error.len);
    } else if (t->b->response.present) {
        snprintf(resp, sizeof resp, "  response %" PRIu64 " B", t->b->response.original_len);
    } else {
        snprintf(resp, sizeof resp, "  no response recorded");
    }
    snprintf(line, sizeof line, " %s%s%s", dur + (dur[0] == '+'), m->cold_start ? " cold" : "",
             resp);
    rt_view_put(y, x, COLS - x, line, 0, false);

    /* Integrity and drops: never hidden. */
    y++;
    const char *state = "reading";
    int state_attr = rt_view_attr(RT_VIEW_C_DIM);
    switch (rt_cursor_state(t->cur)) {
    case RT_CURSOR_VERIFIED:
        state = "verified";
        state_attr = rt_view_attr(RT_VIEW_C_OK);
        break;
    case RT_CURSOR_MISMATCH:
        state = "MODIFIED (digest mismatch)";
        state_attr = rt_view_attr(RT_VIEW_C_WARN);
        break;
    case RT_CURSOR_DAMAGED:
        state = "DAMAGED: events after the damage are lost";
        state_attr = rt_view_attr(RT_VIEW_C_WARN);
        break;
    default:
        break;
    }
    snprintf(line, sizeof line, "%zu%s events  ", t->known, t->complete ? "" : "+");
    x = rt_view_put(y, 0, COLS, line, 0, false);
    x += rt_view_put(y, x, COLS - x, state, state_attr, false);
    char drops[400];
    size_t n = 0;
    static const unsigned drop_ctrs[] = {RT_CTR_EVENTS_DROPPED,    RT_CTR_RING_DROPPED,
                                         RT_CTR_STRINGS_TRUNCATED, RT_CTR_PAYLOAD_TRUNCATED,
                                         RT_CTR_LOG_BYTES_DROPPED, RT_CTR_CONNS_UNTRACKED,
                                         RT_CTR_UNCOVERED_EXECS,   RT_CTR_RUNTIME_UNCOVERED};
    for (size_t i = 0; i < sizeof drop_ctrs / sizeof drop_ctrs[0]; i++) {
        uint64_t c = m->counters[drop_ctrs[i]];
        if (c && n < sizeof drops) {
            int w = snprintf(drops + n, sizeof drops - n, " %s=%" PRIu64,
                             rt_counter_name(drop_ctrs[i]), c);
            if (w > 0)
                n += (size_t)w;
        }
    }
    if (n)
        rt_view_put(y, x, COLS - x, "  drops:", rt_view_attr(RT_VIEW_C_WARN), false), x += 8,
            rt_view_put(y, x, COLS - x, drops, rt_view_attr(RT_VIEW_C_FLAGGED), false);
    else
        rt_view_put(y, x, COLS - x, "  no drops", rt_view_attr(RT_VIEW_C_DIM), false);

    /* Markers found so far. */
    y++;
    x = rt_view_put(y, 0, COLS, "marks:", rt_view_attr(RT_VIEW_C_DIM), false);
    if (!t->n_marks)
        rt_view_put(y, x, COLS - x, t->complete ? " none" : " (reading)",
                    rt_view_attr(RT_VIEW_C_WARN), false);
    for (int i = 0; i < t->n_marks && x < COLS; i++) {
        char ms[32];
        rt_render_ms(ms, sizeof ms, t->marks[i].ts_ns);
        snprintf(line, sizeof line, " %s %s", t->marks[i].name, ms);
        x += rt_view_put(y, x, COLS - x, line, rt_view_attr(RT_VIEW_C_HEADING), false);
    }
    if (t->damage_rc != RT_OK) {
        y++;
        rt_view_put(y, 0, COLS, t->damage, rt_view_attr(RT_VIEW_C_WARN), true);
    }
}

static void tl_draw(struct rt_view_screen *s, struct rt_view_app *app)
{
    struct tl *t = (struct tl *)s;
    char title[200];
    snprintf(title, sizeof title, " runtrail view: timeline");
    rt_view_title(title, "");
    int y = 1;
    draw_header(t, y);
    y += t->damage_rc != RT_OK ? 4 : 3;
    rt_view_put(y, 0, COLS, "  TIME       PROCESS  CALL = RESULT", rt_view_attr(RT_VIEW_C_HEADING),
                true);
    y++;
    t->rows_y = y;
    t->rows_n = LINES - 1 - y > 1 ? LINES - 1 - y : 1;
    size_t rows = n_rows(t);
    if (t->sel >= rows && rows)
        t->sel = rows - 1;
    if (t->sel < t->top)
        t->top = t->sel;
    if (t->sel >= t->top + (size_t)t->rows_n)
        t->top = t->sel - (size_t)t->rows_n + 1;
    uint64_t total = t->b->meta.duration_ns ? t->b->meta.duration_ns : 1;
    int64_t prev_end = INT64_MIN;
    if (!rows)
        rt_view_put(y, 2, COLS - 2,
                    t->complete ? (filtered(t) ? "no events of the kinds shown (1-5 toggle kinds)"
                                               : "no events recorded")
                                : "reading...",
                    rt_view_attr(RT_VIEW_C_DIM), false);
    for (int i = 0; i < t->rows_n; i++) {
        size_t row = t->top + (size_t)i;
        if (row >= rows)
            break;
        size_t index = index_of_row(t, row);
        const struct rt_event *ev = event_at(t, index);
        if (!ev)
            break;
        bool selected = row == t->sel;
        int attr = 0;
        if (ev->flags & ~BOOKKEEPING_FLAGS)
            attr = rt_view_attr(RT_VIEW_C_FLAGGED);
        else if (kind_of(ev) == RT_KIND_MARK)
            attr = rt_view_attr(RT_VIEW_C_HEADING);
        else if (ev->result < 0)
            attr = rt_view_attr(RT_VIEW_C_ERROR);
        if (selected)
            attr = rt_view_attr(RT_VIEW_C_SELECTED);
        const char *gutter = " ";
        if (ev->dur_ns * 10 >= total && ev->dur_ns > 0)
            gutter = "#";
        else if (ev->dur_ns * 100 >= total && ev->dur_ns > 0)
            gutter = "+";
        const char *gap = " ";
        if (prev_end != INT64_MIN && ev->ts_ns > prev_end &&
            (uint64_t)(ev->ts_ns - prev_end) * 10 >= total)
            gap = "~";
        int64_t end = ev->ts_ns + (int64_t)ev->dur_ns;
        if (end > prev_end)
            prev_end = end;
        int yy = y + i;
        rt_view_put(yy, 0, COLS, "", attr, true);
        rt_view_put(yy, 0, 1, gap, selected ? attr : rt_view_attr(RT_VIEW_C_DIM), false);
        rt_view_put(yy, 1, 1, gutter, selected ? attr : rt_view_attr(RT_VIEW_C_FLAGGED), false);
        const char *text = row_text(t, ev, index);
        rt_view_put(yy, 2, COLS - 2, skip_cols(text, t->hscroll), attr, false);
    }
    /* The status line: kinds shown, position. */
    char left[200], right[80];
    size_t n = (size_t)snprintf(left, sizeof left, " kinds:");
    static const char *const kinds[] = {"proc", "file", "net", "sec", "mark"};
    for (unsigned k = 0; k < 5 && n < sizeof left; k++)
        n += (size_t)snprintf(left + n, sizeof left - n, " %u:%s%s", k + 1, kinds[k],
                              t->hidden & (1u << k) ? "(off)" : "");
    snprintf(right, sizeof right, "%zu/%zu%s  ?:help ", rows ? t->sel + 1 : 0, rows,
             t->complete ? "" : "+");
    rt_view_status(app, left, right);
}

/* Moves the selection to the next (dir 1) or previous (-1) row whose event satisfies want. */
static bool find_row(struct tl *t, int dir,
                     bool (*want)(struct tl *, const struct rt_event *, size_t))
{
    /* Everything must be known to search to the end. */
    while (scan_step(t))
        ;
    size_t rows = n_rows(t);
    size_t row = t->sel;
    for (size_t step = 0; step < rows; step++) {
        if (dir > 0) {
            if (row + 1 >= rows)
                return false;
            row++;
        } else {
            if (row == 0)
                return false;
            row--;
        }
        size_t index = index_of_row(t, row);
        const struct rt_event *ev = event_at(t, index);
        if (ev && want(t, ev, index)) {
            t->sel = row;
            return true;
        }
    }
    return false;
}

static bool is_flagged(struct tl *t, const struct rt_event *ev, size_t index)
{
    (void)t;
    (void)index;
    return (ev->flags & ~BOOKKEEPING_FLAGS) != 0;
}

static bool matches(struct tl *t, const struct rt_event *ev, size_t index)
{
    return rt_view_contains(row_text(t, ev, index), t->search);
}

static void toggle_kind(struct tl *t, unsigned kind)
{
    size_t keep = n_rows(t) ? index_of_row(t, t->sel) : 0;
    t->hidden ^= 1u << kind;
    t->n_vis = 0;
    t->vis_scanned = 0;
    if (filtered(t)) {
        while (t->vis_scanned < keep + 1 && scan_step(t))
            ;
        /* The selection stays on the event it was on, or the nearest shown before it. */
        t->sel = 0;
        for (size_t i = 0; i < t->n_vis && t->vis[i] <= keep; i++)
            t->sel = i;
    } else {
        t->sel = keep;
    }
}

static int tl_key(struct rt_view_screen *s, struct rt_view_app *app, enum rt_view_action a, int ch)
{
    (void)ch;
    struct tl *t = (struct tl *)s;
    size_t rows = n_rows(t);
    size_t page = t->rows_n > 1 ? (size_t)t->rows_n - 1 : 1;
    switch (a) {
    case RT_VIEW_UP:
        if (t->sel > 0)
            t->sel--;
        break;
    case RT_VIEW_DOWN:
        if (t->sel + 1 < rows)
            t->sel++;
        else if (!t->complete) {
            scan_step(t);
            if (t->sel + 1 < n_rows(t))
                t->sel++;
        }
        break;
    case RT_VIEW_PGUP:
        t->sel = t->sel > page ? t->sel - page : 0;
        break;
    case RT_VIEW_PGDN:
        while (t->sel + page >= n_rows(t) && scan_step(t))
            ;
        rows = n_rows(t);
        t->sel = t->sel + page < rows ? t->sel + page : (rows ? rows - 1 : 0);
        break;
    case RT_VIEW_TOP:
        t->sel = 0;
        break;
    case RT_VIEW_BOTTOM:
        while (scan_step(t))
            ;
        rows = n_rows(t);
        t->sel = rows ? rows - 1 : 0;
        break;
    case RT_VIEW_LEFT:
        t->hscroll = t->hscroll > 8 ? t->hscroll - 8 : 0;
        break;
    case RT_VIEW_RIGHT:
        t->hscroll += 8;
        break;
    case RT_VIEW_FLAGGED:
        if (!find_row(t, 1, is_flagged))
            rt_view_message(app, false, "no flagged event after this one");
        break;
    case RT_VIEW_FLAGGED_BACK:
        if (!find_row(t, -1, is_flagged))
            rt_view_message(app, false, "no flagged event before this one");
        break;
    case RT_VIEW_SEARCH: {
        char line[sizeof t->search];
        if (rt_view_prompt(app, "/", t->search, line, sizeof line) && line[0]) {
            snprintf(t->search, sizeof t->search, "%s", line);
            if (!find_row(t, 1, matches))
                rt_view_message(app, true, "not found: %s", t->search);
        }
        break;
    }
    case RT_VIEW_NEXT:
    case RT_VIEW_PREV:
        if (!t->search[0])
            rt_view_message(app, false, "/ to search first");
        else if (!find_row(t, a == RT_VIEW_NEXT ? 1 : -1, matches))
            rt_view_message(app, true, "no more matches: %s", t->search);
        break;
    case RT_VIEW_KIND_PROC:
        toggle_kind(t, RT_KIND_PROC);
        break;
    case RT_VIEW_KIND_FILE:
        toggle_kind(t, RT_KIND_FILE);
        break;
    case RT_VIEW_KIND_NET:
        toggle_kind(t, RT_KIND_NET);
        break;
    case RT_VIEW_KIND_SEC:
        toggle_kind(t, RT_KIND_SEC);
        break;
    case RT_VIEW_KIND_MARK:
        toggle_kind(t, RT_KIND_MARK);
        break;
    case RT_VIEW_ENTER: {
        if (!rows)
            break;
        char err[400];
        struct rt_view_screen *d =
            rt_view_detail_new(t->path, index_of_row(t, t->sel), err, sizeof err);
        if (d)
            rt_view_push(app, d);
        else
            rt_view_message(app, true, "%s", err);
        break;
    }
    default:
        return 0;
    }
    return RT_VIEW_HANDLED;
}

static int tl_click(struct rt_view_screen *s, struct rt_view_app *app, int y, int x)
{
    (void)app;
    (void)x;
    struct tl *t = (struct tl *)s;
    if (y >= t->rows_y && y < t->rows_y + t->rows_n) {
        size_t row = t->top + (size_t)(y - t->rows_y);
        if (row < n_rows(t))
            t->sel = row;
    }
    return RT_VIEW_HANDLED;
}

static bool tl_idle(struct rt_view_screen *s, struct rt_view_app *app)
{
    (void)app;
    return scan_step((struct tl *)s);
}

static void tl_free(struct rt_view_screen *s)
{
    struct tl *t = (struct tl *)s;
    rt_cursor_free(t->cur);
    free(t->vis);
    free(t->line);
    free(t->path);
    free(t);
}

static const struct rt_view_screen_ops tl_ops = {
    .name = "timeline",
    .draw = tl_draw,
    .key = tl_key,
    .click = tl_click,
    .idle = tl_idle,
    .free = tl_free,
};

struct rt_view_screen *rt_view_timeline_new(const char *path, char *err, size_t cap)
{
    struct tl *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path)) || !(t->line = malloc(1024))) {
        if (t)
            free(t->path);
        free(t);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    t->line_cap = 1024;
    t->base.ops = &tl_ops;
    struct rt_errinfo ei;
    int rc = rt_cursor_open_file(path, &t->cur, &ei);
    if (rc != RT_OK) {
        char buf[400], esc[300];
        rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
        snprintf(err, cap, "%s: %s", esc, rt_errinfo_format(rc, &ei, buf, sizeof buf));
        free(t->line);
        free(t->path);
        free(t);
        return NULL;
    }
    t->b = rt_cursor_bundle(t->cur);
    t->arch = rt_arch_from_name(t->b->meta.arch);
    t->damage_rc = RT_OK;
    /* The first screen's worth of events (and the markers among them) now. */
    scan_step(t);
    return &t->base;
}
