/* The timeline screen: a thin curses layer over the timeline model (viewer/vm_timeline.h):
 * every event of one bundle as `show` renders it, read lazily (the first screen comes before
 * the bundle is indexed; the rest is scanned between keys). Two lines on top never scroll
 * away: the invocation (function, request id, status, duration, response or error) and the
 * model's status line (markers, drop counters, events, verified / MODIFIED / DAMAGED), so an
 * incomplete recording never looks complete. A two-column gutter shows where the time went:
 * the gap before a row and the row's own duration, as bars. Tab opens the process tree pane
 * (z folds a process's children); 1-6 hide and show kinds; / n N search; ] [ jump between
 * flagged events; Enter opens the detail of an event. */
#include "formats/bundle.h"
#include "formats/escape.h"
#include "formats/event.h"
#include "formats/render.h"
#include "viewer/keys.h"
#include "viewer/ui.h"
#include "viewer/vm_detail.h"
#include "viewer/vm_timeline.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_BUDGET 16384 /* events scanned per idle step */
#define PANE_WIDTH 28

struct tl {
    struct rt_view_screen base;
    struct rt_vm_timeline *m;
    char title[256];
    size_t sel, top;
    struct rt_vm_entry sel_entry;
    unsigned gen;
    int hscroll;
    int rows_y, rows_n, rows_x;
    bool pane, pane_focus;
    size_t proc_sel, proc_top;
};

static void keep_selection(struct tl *t)
{
    unsigned gen = rt_vm_timeline_gen(t->m);
    if (gen != t->gen) {
        size_t row;
        if (rt_vm_timeline_find(t->m, t->sel_entry, &row))
            t->sel = row;
        t->gen = gen;
    }
}

static void select_row(struct tl *t, size_t row)
{
    struct rt_vm_row r;
    struct rt_errinfo ei;
    t->sel = row;
    if (rt_vm_timeline_row(t->m, row, &r, &ei) == RT_OK)
        t->sel_entry = r.entry;
}

static const char *bar(unsigned level, bool utf8)
{
    static const char *const blocks[] = {" ",      "\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char *const ascii[] = {" ", " ", ".", ".", ":", ":", "+", "#", "#"};
    if (level > 8)
        level = 8;
    return utf8 ? blocks[level] : ascii[level];
}

static void draw_header(struct tl *t, int y)
{
    const struct rt_bundle *b = rt_vm_timeline_bundle(t->m);
    const struct rt_meta *m = &b->meta;
    struct rt_vm_status st;
    rt_vm_timeline_status(t->m, &st);
    const char *fn = m->function ? m->function : "-";
    const char *rid = m->request_id ? m->request_id : "-";
    int x = rt_view_put_data(y, 0, COLS, fn, strlen(fn), rt_view_attr(RT_VIEW_C_HEADING), false);
    x += rt_view_put(y, x, COLS - x, "  ", 0, false);
    x += rt_view_put_data(y, x, COLS - x, rid, strlen(rid), 0, false);
    x += rt_view_put(y, x, COLS - x, "  ", 0, false);
    const char *status = rt_status_name(m->status);
    x += rt_view_put(y, x, COLS - x, status ? status : "unknown",
                     rt_view_attr(m->status == RT_STATUS_OK ? RT_VIEW_C_OK : RT_VIEW_C_ERROR),
                     false);
    char line[512], dur[32];
    rt_render_ms(dur, sizeof dur, (int64_t)m->duration_ns);
    if (b->error.present) {
        char et[120];
        const char *e = b->error.error_type ? b->error.error_type
                        : m->error_type     ? m->error_type
                                            : "-";
        rt_escape_buf(et, sizeof et, e, strlen(e), 0);
        snprintf(line, sizeof line, " %s%s  error %s", dur + (dur[0] == '+'),
                 m->cold_start ? " cold" : "", et);
    } else {
        snprintf(line, sizeof line, " %s%s  %s", dur + (dur[0] == '+'),
                 m->cold_start ? " cold" : "", b->response.present ? "response" : "NO RESPONSE");
        if (b->response.present)
            snprintf(line + strlen(line), sizeof line - strlen(line), " %" PRIu64 " B",
                     b->response.original_len);
    }
    rt_view_put(y, x, COLS - x, line,
                b->response.present || b->error.present ? 0 : rt_view_attr(RT_VIEW_C_WARN), false);
    /* Integrity, drops and markers: the facts an incomplete recording must not hide, in
     * the order a narrow terminal keeps them. */
    y++;
    x = 0;
    const char *state = "unverified (reading)";
    int sattr = rt_view_attr(RT_VIEW_C_DIM);
    if (st.state == RT_CURSOR_VERIFIED) {
        state = "verified";
        sattr = rt_view_attr(RT_VIEW_C_OK);
    } else if (st.state == RT_CURSOR_MISMATCH) {
        state = "MODIFIED";
        sattr = rt_view_attr(RT_VIEW_C_WARN);
    } else if (st.state == RT_CURSOR_DAMAGED || st.damage != RT_OK) {
        state = "DAMAGED";
        sattr = rt_view_attr(RT_VIEW_C_WARN);
    }
    snprintf(line, sizeof line, "%zu%s events  ", st.events, st.complete ? "" : "+");
    x += rt_view_put(y, x, COLS - x, line, 0, false);
    x += rt_view_put(y, x, COLS - x, state, sattr, false);
    snprintf(line, sizeof line, "  dropped %" PRIu64, st.dropped);
    x +=
        rt_view_put(y, x, COLS - x, line,
                    st.dropped ? rt_view_attr(RT_VIEW_C_WARN) : rt_view_attr(RT_VIEW_C_DIM), false);
    x += rt_view_put(y, x, COLS - x, "  marks:", rt_view_attr(RT_VIEW_C_DIM), false);
    bool any = false;
    for (unsigned k = 0; k < sizeof st.marks / sizeof st.marks[0]; k++) {
        if (!st.marks[k])
            continue;
        char name[40];
        rt_render_num_arch(name, sizeof name, RT_AF_MARK, (int64_t)k, RT_ARCH_X86_64);
        snprintf(line, sizeof line, " %s", name);
        if (st.marks[k] > 1)
            snprintf(line + strlen(line), sizeof line - strlen(line), "x%zu", st.marks[k]);
        x += rt_view_put(y, x, COLS - x, line, rt_view_attr(RT_VIEW_C_HEADING), false);
        any = true;
    }
    if (!any)
        x += rt_view_put(y, x, COLS - x, " none", rt_view_attr(RT_VIEW_C_WARN), false);
    if (st.damage_text[0])
        rt_view_put(y, x, COLS - x, "  ", 0, false),
            rt_view_put(y, x + 2, COLS - x - 2, st.damage_text, rt_view_attr(RT_VIEW_C_WARN),
                        false);
}

static void draw_pane(struct tl *t, int y, int rows)
{
    size_t n = rt_vm_timeline_procs(t->m);
    if (t->proc_sel >= n && n)
        t->proc_sel = n - 1;
    if (t->proc_sel < t->proc_top)
        t->proc_top = t->proc_sel;
    if (rows > 0 && t->proc_sel >= t->proc_top + (size_t)rows)
        t->proc_top = t->proc_sel - (size_t)rows + 1;
    rt_view_put(y - 1, 0, PANE_WIDTH - 1, "PROCESSES", rt_view_attr(RT_VIEW_C_HEADING), true);
    for (int i = 0; i < rows; i++) {
        size_t k = t->proc_top + (size_t)i;
        rt_view_put(y + i, PANE_WIDTH - 1, 1, "|", rt_view_attr(RT_VIEW_C_DIM), false);
        if (k >= n)
            continue;
        const struct rt_vm_proc *p = rt_vm_timeline_proc(t->m, k);
        if (!p)
            continue;
        char line[300];
        const char *exe = p->exe && p->exe[0] ? strrchr(p->exe, '/') : NULL;
        exe = exe ? exe + 1 : (p->exe && p->exe[0] ? p->exe : "?");
        snprintf(line, sizeof line, "%*s%s%" PRId32 " %s", (int)(p->depth > 6 ? 12 : 2 * p->depth),
                 "", p->descendants ? (p->folded ? "+" : "-") : " ", p->pid, exe);
        int attr = p->hidden ? rt_view_attr(RT_VIEW_C_DIM) : 0;
        if (k == t->proc_sel && t->pane_focus)
            attr = rt_view_attr(RT_VIEW_C_SELECTED);
        rt_view_put(y + i, 0, PANE_WIDTH - 1, line, attr, true);
    }
}

static void tl_draw(struct rt_view_screen *s, struct rt_view_app *app)
{
    struct tl *t = (struct tl *)s;
    rt_view_title(t->title, "");
    draw_header(t, 1);
    int y = 3;
    bool pane = t->pane && COLS >= 60;
    int x0 = pane ? PANE_WIDTH : 0;
    rt_view_put(y, x0, COLS - x0, "   TIME       PROCESS  CALL = RESULT",
                rt_view_attr(RT_VIEW_C_HEADING), true);
    y++;
    t->rows_y = y;
    t->rows_x = x0;
    t->rows_n = LINES - 1 - y > 1 ? LINES - 1 - y : 1;
    rt_vm_timeline_ensure(t->m, t->top + (size_t)t->rows_n + 1);
    keep_selection(t);
    if (pane)
        draw_pane(t, y, t->rows_n);
    size_t rows = rt_vm_timeline_rows(t->m);
    if (t->sel >= rows && rows)
        t->sel = rows - 1;
    if (t->sel < t->top)
        t->top = t->sel;
    if (t->sel >= t->top + (size_t)t->rows_n)
        t->top = t->sel - (size_t)t->rows_n + 1;
    if (!rows)
        rt_view_put(y, x0 + 2, COLS - x0 - 2,
                    rt_vm_timeline_complete(t->m) ? "no rows (1-6 show kinds, z unfolds)"
                                                  : "reading...",
                    rt_view_attr(RT_VIEW_C_DIM), false);
    bool utf8 = rt_view_utf8(app);
    for (int i = 0; i < t->rows_n; i++) {
        size_t row = t->top + (size_t)i;
        if (row >= rows)
            break;
        struct rt_vm_row r;
        struct rt_errinfo ei;
        if (rt_vm_timeline_row(t->m, row, &r, &ei) != RT_OK)
            break;
        bool selected = row == t->sel && !t->pane_focus;
        int attr = 0;
        if (r.flagged || r.finding)
            attr = rt_view_attr(RT_VIEW_C_FLAGGED);
        else if (r.kind == RT_KIND_MARK)
            attr = rt_view_attr(RT_VIEW_C_HEADING);
        else if (r.failed)
            attr = rt_view_attr(RT_VIEW_C_ERROR);
        else if (r.kind == RT_KIND_LOG)
            attr = rt_view_attr(RT_VIEW_C_DIM);
        if (selected)
            attr = rt_view_attr(RT_VIEW_C_SELECTED);
        int yy = y + i;
        rt_view_put(yy, x0, COLS - x0, "", attr, true);
        int gutter = selected ? attr : rt_view_attr(RT_VIEW_C_DIM);
        rt_view_put(yy, x0, 1, bar(r.gap_level, utf8), gutter, false);
        rt_view_put(yy, x0 + 1, 1, bar(r.dur_level, utf8),
                    selected ? attr : rt_view_attr(RT_VIEW_C_FLAGGED), false);
        rt_view_put_scrolled(yy, x0 + 3, COLS - x0 - 3, r.text, t->hscroll, attr);
    }
    char left[200], right[80];
    size_t n = (size_t)snprintf(left, sizeof left, " kinds:");
    static const unsigned kinds[] = {RT_KIND_PROC, RT_KIND_FILE, RT_KIND_NET,
                                     RT_KIND_SEC,  RT_KIND_MARK, RT_KIND_LOG};
    for (unsigned k = 0; k < 6 && n < sizeof left; k++)
        n += (size_t)snprintf(left + n, sizeof left - n, " %u:%s%s", k + 1, rt_kind_name(kinds[k]),
                              rt_vm_timeline_kind_shown(t->m, kinds[k]) ? "" : "(off)");
    snprintf(right, sizeof right, "%zu/%zu%s  ?:help ", rows ? t->sel + 1 : 0, rows,
             rt_vm_timeline_complete(t->m) ? "" : "+");
    rt_view_status(app, left, right);
}

static void search(struct tl *t, struct rt_view_app *app, bool start, const char *needle, int dir)
{
    size_t from = t->sel;
    int rc = start ? rt_vm_timeline_search_start(t->m, needle, from, dir)
                   : rt_vm_timeline_search_again(t->m, from, dir);
    if (rc != RT_OK) {
        rt_view_message(app, false, "/ to search first");
        return;
    }
    size_t row;
    bool wrapped = false;
    enum rt_vm_search r;
    while ((r = rt_vm_timeline_search_step(t->m, 1u << 16, &row, &wrapped)) == RT_VM_SEARCH_RUNNING)
        ;
    if (r == RT_VM_SEARCH_FOUND) {
        select_row(t, row);
        if (wrapped)
            rt_view_message(app, false, "search wrapped around");
    } else {
        rt_view_message(app, true, "not found: %s", rt_vm_timeline_search_needle(t->m));
    }
}

static void open_detail(struct tl *t, struct rt_view_app *app)
{
    struct rt_vm_row r;
    struct rt_errinfo ei;
    if (rt_vm_timeline_row(t->m, t->sel, &r, &ei) != RT_OK)
        return;
    struct rt_vm_detail *d = rt_vm_detail_new();
    if (!d)
        return;
    const struct rt_bundle *b = rt_vm_timeline_bundle(t->m);
    int rc = RT_OK;
    if (r.entry.is_log) {
        if (r.entry.index < b->n_logs)
            rc = rt_vm_detail_add_log(d, &b->logs[r.entry.index], r.entry.index);
    } else {
        const struct rt_event *ev;
        rc = rt_vm_timeline_event(t->m, r.entry.index, &ev, &ei);
        if (rc == RT_OK)
            rc = rt_vm_detail_add_event(d, ev, r.entry.index, rt_vm_timeline_arch(t->m));
    }
    struct rt_vm_status st;
    rt_vm_timeline_status(t->m, &st);
    if (rc == RT_OK)
        rc = rt_vm_detail_add_bundle(d, b, st.state);
    if (rc != RT_OK) {
        char buf[300];
        rt_view_message(app, true, "detail: %s", rt_errinfo_format(rc, &ei, buf, sizeof buf));
        rt_vm_detail_free(d);
        return;
    }
    struct rt_view_screen *s = rt_view_detail_new(d, " runtrail view: detail");
    if (s)
        rt_view_push(app, s);
}

static void toggle_kind(struct tl *t, unsigned kind)
{
    rt_vm_timeline_set_kind(t->m, kind, !rt_vm_timeline_kind_shown(t->m, kind));
    keep_selection(t);
}

static int pane_key(struct tl *t, enum rt_view_action a)
{
    size_t n = rt_vm_timeline_procs(t->m);
    switch (a) {
    case RT_VIEW_UP:
        if (t->proc_sel > 0)
            t->proc_sel--;
        return RT_VIEW_HANDLED;
    case RT_VIEW_DOWN:
        if (t->proc_sel + 1 < n)
            t->proc_sel++;
        return RT_VIEW_HANDLED;
    case RT_VIEW_TOP:
        t->proc_sel = 0;
        return RT_VIEW_HANDLED;
    case RT_VIEW_BOTTOM:
        t->proc_sel = n ? n - 1 : 0;
        return RT_VIEW_HANDLED;
    case RT_VIEW_ENTER:
    case RT_VIEW_FOLD: {
        const struct rt_vm_proc *p = rt_vm_timeline_proc(t->m, t->proc_sel);
        if (p)
            rt_vm_timeline_fold(t->m, p->pid, !p->folded);
        keep_selection(t);
        return RT_VIEW_HANDLED;
    }
    case RT_VIEW_BACK:
    case RT_VIEW_TAB:
        t->pane_focus = false;
        if (a == RT_VIEW_TAB)
            t->pane = false;
        return RT_VIEW_HANDLED;
    default:
        return 0;
    }
}

static int tl_key(struct rt_view_screen *s, struct rt_view_app *app, enum rt_view_action a, int ch)
{
    (void)ch;
    struct tl *t = (struct tl *)s;
    if (t->pane_focus) {
        int r = pane_key(t, a);
        if (r)
            return r;
    }
    size_t page = t->rows_n > 1 ? (size_t)t->rows_n - 1 : 1;
    size_t rows = rt_vm_timeline_rows(t->m);
    switch (a) {
    case RT_VIEW_UP:
        if (t->sel > 0)
            select_row(t, t->sel - 1);
        break;
    case RT_VIEW_DOWN:
        rows = rt_vm_timeline_ensure(t->m, t->sel + 2);
        if (t->sel + 1 < rows)
            select_row(t, t->sel + 1);
        break;
    case RT_VIEW_PGUP:
        select_row(t, t->sel > page ? t->sel - page : 0);
        break;
    case RT_VIEW_PGDN:
        rows = rt_vm_timeline_ensure(t->m, t->sel + page + (size_t)t->rows_n);
        if (rows)
            select_row(t, t->sel + page < rows ? t->sel + page : rows - 1);
        break;
    case RT_VIEW_TOP:
        select_row(t, 0);
        break;
    case RT_VIEW_BOTTOM:
        rows = rt_vm_timeline_ensure(t->m, SIZE_MAX);
        if (rows)
            select_row(t, rows - 1);
        break;
    case RT_VIEW_LEFT:
        t->hscroll = t->hscroll > 8 ? t->hscroll - 8 : 0;
        break;
    case RT_VIEW_RIGHT:
        t->hscroll += 8;
        break;
    case RT_VIEW_TAB:
        t->pane = true;
        t->pane_focus = true;
        break;
    case RT_VIEW_FOLD:
        rt_view_message(app, false, "Tab opens the process pane, z there folds a process");
        break;
    case RT_VIEW_FLAGGED:
    case RT_VIEW_FLAGGED_BACK: {
        size_t row;
        int dir = a == RT_VIEW_FLAGGED ? 1 : -1;
        if (rt_vm_timeline_next_marked(t->m, t->sel, dir, &row))
            select_row(t, row);
        else
            rt_view_message(app, false, "no flagged event %s this one",
                            dir > 0 ? "after" : "before");
        break;
    }
    case RT_VIEW_SEARCH: {
        char line[256];
        const char *last = rt_vm_timeline_search_needle(t->m);
        if (rt_view_prompt(app, "/", last, line, sizeof line) && line[0])
            search(t, app, true, line, 1);
        break;
    }
    case RT_VIEW_NEXT:
        search(t, app, false, NULL, 1);
        break;
    case RT_VIEW_PREV:
        search(t, app, false, NULL, -1);
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
    case RT_VIEW_KIND_LOG:
        toggle_kind(t, RT_KIND_LOG);
        break;
    case RT_VIEW_ENTER:
        open_detail(t, app);
        break;
    default:
        return 0;
    }
    return RT_VIEW_HANDLED;
}

static int tl_click(struct rt_view_screen *s, struct rt_view_app *app, int y, int x)
{
    (void)app;
    struct tl *t = (struct tl *)s;
    if (y < t->rows_y || y >= t->rows_y + t->rows_n)
        return RT_VIEW_HANDLED;
    if (x < t->rows_x) {
        t->pane_focus = true;
        size_t k = t->proc_top + (size_t)(y - t->rows_y);
        if (k < rt_vm_timeline_procs(t->m))
            t->proc_sel = k;
        return RT_VIEW_HANDLED;
    }
    t->pane_focus = false;
    size_t row = t->top + (size_t)(y - t->rows_y);
    if (row < rt_vm_timeline_rows(t->m))
        select_row(t, row);
    return RT_VIEW_HANDLED;
}

static bool tl_idle(struct rt_view_screen *s, struct rt_view_app *app)
{
    (void)app;
    struct tl *t = (struct tl *)s;
    bool done = rt_vm_timeline_scan(t->m, SCAN_BUDGET);
    return !done;
}

static void tl_free(struct rt_view_screen *s)
{
    struct tl *t = (struct tl *)s;
    rt_vm_timeline_free(t->m);
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
    if (!t) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    t->base.ops = &tl_ops;
    struct rt_errinfo ei;
    int rc = rt_vm_timeline_open_file(path, &t->m, &ei);
    if (rc != RT_OK) {
        char buf[400], esc[300];
        rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
        snprintf(err, cap, "%s: %s", esc, rt_errinfo_format(rc, &ei, buf, sizeof buf));
        free(t);
        return NULL;
    }
    snprintf(t->title, sizeof t->title, " runtrail view: timeline");
    t->pane = COLS >= 140;
    t->gen = rt_vm_timeline_gen(t->m);
    return &t->base;
}
