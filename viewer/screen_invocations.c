/* The invocations screen, the viewer's first: the catalog as a table (time, function, request
 * id, duration, status, events, destinations, flags, findings), sorted by any column (`s`,
 * `S`, a click on a heading) and filtered with the options of `runtrail ls` (`f`, parsed by
 * the catalog's own filter parser). Rows are read a page at a time (LIMIT/OFFSET), never the
 * whole catalog. A strip on top draws the invocations over time, per interval the count and
 * the slowest duration, coloured by failures and flags; picking an interval (Tab, then Left
 * and Right) narrows the table to it. Flagged rows are marked '!' and coloured, failed
 * statuses red. An empty catalog shows how to fill it. */
#include "formats/bundle.h"
#include "formats/event.h"
#include "analysis/baseline.h"
#include "store/catalog.h"
#include "viewer/keys.h"
#include "viewer/ui.h"
#include "viewer/vm_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_ROWS 256
#define MAX_BINS 512
/* Flags that say how an event was attributed, not that it deserves a look (as `ls`). */
#define BOOKKEEPING_FLAGS (RT_EF_OUTSIDE | RT_EF_CREATE | RT_EF_STILL_OPEN)

struct inv_row {
    char *function, *request_id, *destinations, *findings, *path, *key;
    char digest[72];
    int64_t start_ns;
    uint64_t duration_ns, n_events, dropped;
    int status;
    bool cold;
    uint32_t flags;
};

/* The columns, in the order of the catalog's orders (a column sorts by its own order). */
#define COLUMNS(_)                                                                                 \
    _(TIME, "TIME", 14, 0, 9)                                                                      \
    _(FUNCTION, "FUNCTION", 8, 3, 8)                                                               \
    _(REQUEST_ID, "REQUEST ID", 10, 3, 7)                                                          \
    _(DURATION, "DURATION", 9, 0, 6)                                                               \
    _(STATUS, "STATUS", 7, 0, 8)                                                                   \
    _(EVENTS, "EVENTS", 6, 0, 5)                                                                   \
    _(DESTINATIONS, "DESTINATIONS", 12, 3, 3)                                                      \
    _(FLAGS, "FLAGS", 8, 2, 4)                                                                     \
    _(FINDINGS, "FINDINGS", 8, 1, 2)
/* id, heading, minimum width, share of the columns left over, priority (the lowest go first
 * when the terminal is narrow). */
enum col {
#define _(id, head, min, share, prio) COL_##id,
    COLUMNS(_)
#undef _
        COL__COUNT
};
static const struct {
    const char *head;
    int min, share, prio;
} cols[] = {
#define _(id, head, min, share, prio) {head, min, share, prio},
    COLUMNS(_)
#undef _
};

struct inv {
    struct rt_view_screen base;
    struct rt_catalog *cat;
    char dir[4096];
    struct rt_catalog_filter_args fa;
    char filter_text[1024];    /* as typed */
    char filter_storage[1024]; /* the words the filter points into */
    enum rt_catalog_order order;
    bool descending;
    size_t total;
    size_t sel, top;
    struct inv_row *cache;
    size_t cache_off, cache_n;
    /* the strip */
    bool strip_focus;
    int strip_bin; /* -1: the whole range */
    int n_bins;
    int64_t first_ns, last_ns;
    struct rt_catalog_bin bins[MAX_BINS];
    bool stale; /* counts, range and bins must be read again */
    /* Read between keys, so that the first screen does not wait for a scan of the catalog:
     * the exact count (until then: the rows of the first page, and "+" when it was full) and
     * the strip's bins. */
    bool count_pending, bins_pending;
    /* column layout of the last draw, for clicks */
    int col_x[COL__COUNT], col_w[COL__COUNT];
    int table_y, table_rows;
    char marked[2][72];
    char *marked_path[2];
    char marked_rid[2][64];
    int n_marked;
    char search[256];
};

static void row_free(struct inv_row *r)
{
    free(r->function);
    free(r->request_id);
    free(r->destinations);
    free(r->findings);
    free(r->path);
    free(r->key);
}

static void cache_clear(struct inv *v)
{
    for (size_t i = 0; i < v->cache_n; i++)
        row_free(&v->cache[i]);
    v->cache_n = 0;
    v->cache_off = 0;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static int take_row(const struct rt_catalog_row *r, void *arg)
{
    struct inv *v = arg;
    if (v->cache_n >= PAGE_ROWS)
        return 1;
    struct inv_row *o = &v->cache[v->cache_n++];
    memset(o, 0, sizeof *o);
    o->function = dup_or_empty(r->function);
    o->request_id = dup_or_empty(r->request_id);
    o->destinations = dup_or_empty(r->destinations);
    o->findings = dup_or_empty(r->findings);
    o->path = dup_or_empty(r->path);
    o->key = dup_or_empty(r->key);
    snprintf(o->digest, sizeof o->digest, "%s", r->digest ? r->digest : "");
    o->start_ns = r->start_ns;
    o->duration_ns = r->duration_ns;
    o->n_events = r->n_events;
    o->dropped = r->dropped;
    o->status = r->status;
    o->cold = r->cold_start;
    o->flags = r->event_flags;
    return 0;
}

/* The filter the table shows: the typed one, in the chosen order, narrowed to the strip's
 * interval when one is picked. */
static struct rt_catalog_filter table_filter(const struct inv *v)
{
    struct rt_catalog_filter f = v->fa.f;
    f.order = v->order;
    f.descending = v->descending;
    if (v->strip_bin >= 0 && v->n_bins > 0 && v->last_ns > v->first_ns) {
        double w = ((double)v->last_ns - (double)v->first_ns) / v->n_bins;
        int64_t from = v->first_ns + (int64_t)(w * v->strip_bin);
        int64_t to = v->strip_bin == v->n_bins - 1
                         ? v->last_ns
                         : v->first_ns + (int64_t)(w * (v->strip_bin + 1)) - 1;
        if (!f.since_ns || from > f.since_ns)
            f.since_ns = from;
        if (!f.until_ns || to < f.until_ns)
            f.until_ns = to;
    }
    return f;
}

static const struct inv_row *row_at(struct inv *v, size_t i);

/* The strip's width in intervals for this terminal. */
static int bins_for_width(void)
{
    int n = COLS - 8;
    return n > MAX_BINS ? MAX_BINS : n < 1 ? 1 : n;
}

/* Reads the time range again and the first page (after a filter change); the exact count and
 * the bins follow in idle time (inv_idle). */
static void refresh_counts(struct inv *v, struct rt_view_app *app)
{
    struct rt_errinfo ei;
    struct rt_catalog_filter base = v->fa.f;
    base.limit = 0;
    if (rt_catalog_time_range(v->cat, &base, &v->first_ns, &v->last_ns, &ei) != RT_OK) {
        v->first_ns = v->last_ns = 0;
        rt_view_message(app, true, "catalog: %s", rt_strerror(RT_ERR_CATALOG));
    }
    if (v->last_ns <= v->first_ns) { /* one instant: a range around it */
        v->first_ns -= 1000000000;
        v->last_ns += 1000000000;
    }
    cache_clear(v);
    memset(v->bins, 0, sizeof v->bins);
    /* The first page says how many rows there are when it is not full. */
    v->total = SIZE_MAX;
    row_at(v, 0);
    v->total = v->cache_off == 0 ? v->cache_n : 0;
    v->count_pending = v->total >= PAGE_ROWS;
    v->bins_pending = true;
    if (!v->count_pending && v->sel >= v->total)
        v->sel = v->total ? v->total - 1 : 0;
    v->stale = false;
}

static void ensure_count(struct inv *v)
{
    if (!v->count_pending)
        return;
    struct rt_errinfo ei;
    struct rt_catalog_filter f = table_filter(v);
    size_t n = 0;
    if (rt_catalog_count(v->cat, &f, &n, &ei) == RT_OK)
        v->total = n;
    v->count_pending = false;
    if (v->sel >= v->total)
        v->sel = v->total ? v->total - 1 : 0;
}

static void ensure_bins(struct inv *v)
{
    int n_bins = bins_for_width();
    if (v->n_bins != n_bins) {
        v->strip_bin = v->strip_bin >= 0 && v->n_bins > 0 ? v->strip_bin * n_bins / v->n_bins : -1;
        v->n_bins = n_bins;
        v->bins_pending = true;
    }
    if (!v->bins_pending)
        return;
    struct rt_errinfo ei;
    struct rt_catalog_filter base = v->fa.f;
    base.limit = 0;
    if (rt_catalog_histogram(v->cat, &base, v->first_ns, v->last_ns, v->bins, (size_t)v->n_bins,
                             &ei) != RT_OK)
        memset(v->bins, 0, sizeof v->bins);
    v->bins_pending = false;
}

static bool inv_idle(struct rt_view_screen *s, struct rt_view_app *app)
{
    (void)app;
    struct inv *v = (struct inv *)s;
    if (v->count_pending) {
        ensure_count(v);
        return true;
    }
    ensure_bins(v);
    return false;
}

/* The row at index i of the table (reading its page when needed); NULL past the end. */
static const struct inv_row *row_at(struct inv *v, size_t i)
{
    if (i >= v->total)
        return NULL;
    if (i >= v->cache_off && i < v->cache_off + v->cache_n)
        return &v->cache[i - v->cache_off];
    cache_clear(v);
    struct rt_catalog_filter f = table_filter(v);
    size_t off = i >= PAGE_ROWS / 4 ? i - PAGE_ROWS / 4 : 0;
    /* The user's --limit caps the table; a page never reads past it. */
    size_t limit = PAGE_ROWS;
    if (f.limit) {
        if (off >= f.limit)
            return NULL;
        if (f.limit - off < limit)
            limit = f.limit - off;
    }
    f.offset = off;
    f.limit = limit;
    struct rt_errinfo ei;
    v->cache_off = off;
    rt_catalog_query(v->cat, &f, take_row, v, &ei);
    if (i >= v->cache_off && i < v->cache_off + v->cache_n)
        return &v->cache[i - v->cache_off];
    return NULL;
}

static bool row_flagged(const struct inv_row *r)
{
    return (r->flags & ~BOOKKEEPING_FLAGS) || r->dropped || r->findings[0];
}

static bool row_marked(const struct inv *v, const struct inv_row *r)
{
    for (int i = 0; i < v->n_marked; i++)
        if (!strcmp(v->marked[i], r->digest))
            return true;
    return false;
}

static void fmt_flags(const struct inv_row *r, char *buf, size_t cap)
{
    static const char *const names[] = {
#define _(id, bit, name) [bit] = name,
        RT_EVENT_FLAGS(_)
#undef _
    };
    size_t n = 0;
    buf[0] = '\0';
    const char *parts[40];
    size_t k = 0;
    if (r->cold)
        parts[k++] = "cold";
    if (r->dropped)
        parts[k++] = "dropped";
    for (unsigned b = 0; b < sizeof names / sizeof names[0] && k < 40; b++)
        if ((r->flags & ~BOOKKEEPING_FLAGS & (1u << b)) && names[b])
            parts[k++] = names[b];
    for (size_t i = 0; i < k; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s", i ? "," : "", parts[i]);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    if (!n)
        snprintf(buf, cap, "-");
}

static void fmt_duration(uint64_t ns, char *buf, size_t cap)
{
    double ms = (double)ns / 1e6;
    if (ms < 1000)
        snprintf(buf, cap, "%.1fms", ms);
    else
        snprintf(buf, cap, "%.2fs", ms / 1000);
}

/* "11-26 10:00:01" (UTC) with the date, "10:00:01" without. */
static void fmt_when(int64_t ns, char *buf, size_t cap, bool date)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    if (date)
        strftime(buf, cap, "%m-%d %H:%M:%S", &tm);
    else
        strftime(buf, cap, "%H:%M:%S", &tm);
}

/* Column widths for the terminal's width: drop the lowest priorities until the minimums fit,
 * then share what is left. */
static void layout(struct inv *v)
{
    bool on[COL__COUNT];
    int avail = COLS - 2; /* the marker column */
    for (int c = 0; c < COL__COUNT; c++)
        on[c] = true;
    for (;;) {
        int need = 0, lowest = -1;
        for (int c = 0; c < COL__COUNT; c++) {
            if (!on[c])
                continue;
            need += cols[c].min + 1;
            if (lowest < 0 || cols[c].prio < cols[lowest].prio)
                lowest = c;
        }
        if (need <= avail || lowest < 0)
            break;
        on[lowest] = false;
    }
    int used = 0, shares = 0;
    for (int c = 0; c < COL__COUNT; c++)
        if (on[c]) {
            used += cols[c].min + 1;
            shares += cols[c].share;
        }
    int extra = avail - used, x = 2;
    for (int c = 0; c < COL__COUNT; c++) {
        if (!on[c]) {
            v->col_w[c] = 0;
            v->col_x[c] = -1;
            continue;
        }
        int w = cols[c].min;
        if (shares > 0 && extra > 0)
            w += extra * cols[c].share / shares;
        v->col_x[c] = x;
        v->col_w[c] = w;
        x += w + 1;
    }
}

static void draw_cell(struct inv *v, int y, enum col c, const char *text, int attr, bool right,
                      bool data)
{
    if (v->col_w[c] <= 0)
        return;
    int x = v->col_x[c], w = v->col_w[c];
    if (right) {
        int tw = rt_view_width(text);
        if (tw < w) {
            rt_view_put(y, x, w - tw, "", attr, true);
            x += w - tw;
            w = tw;
        }
    }
    if (data)
        rt_view_put_data(y, x, w, text, strlen(text), attr, true);
    else
        rt_view_put(y, x, w, text, attr, true);
}

static void draw_strip(struct inv *v, struct rt_view_app *app, int y)
{
    static const char *const blocks_utf8[] = {" ",      "\u2581", "\u2582", "\u2583", "\u2584",
                                              "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char *const blocks_ascii[] = {" ", ".", ".", ":", ":", "+", "+", "#", "#"};
    const char *const *blocks = rt_view_utf8(app) ? blocks_utf8 : blocks_ascii;
    uint64_t max_count = 0, max_dur = 0;
    for (int i = 0; i < v->n_bins; i++) {
        if (v->bins[i].count > max_count)
            max_count = v->bins[i].count;
        if (v->bins[i].max_duration_ns > max_dur)
            max_dur = v->bins[i].max_duration_ns;
    }
    rt_view_put(y, 0, 7, "count", rt_view_attr(RT_VIEW_C_DIM), true);
    rt_view_put(y + 1, 0, 7, "slowest", rt_view_attr(RT_VIEW_C_DIM), true);
    for (int i = 0; i < v->n_bins && 8 + i < COLS; i++) {
        const struct rt_catalog_bin *b = &v->bins[i];
        int attr = rt_view_attr(b->failed    ? RT_VIEW_C_ERROR
                                : b->flagged ? RT_VIEW_C_FLAGGED
                                             : RT_VIEW_C_OK);
        if (i == v->strip_bin)
            attr |= A_REVERSE;
        int lc = b->count ? 1 + (int)(7 * (b->count - 1) / (max_count ? max_count : 1)) : 0;
        int ld = b->count ? 1 + (int)(7 * b->max_duration_ns / (max_dur ? max_dur : 1)) : 0;
        if (lc > 8)
            lc = 8;
        if (ld > 8)
            ld = 8;
        const char *c0 = i == v->strip_bin && !lc ? "|" : blocks[lc];
        const char *c1 = i == v->strip_bin && !ld ? "|" : blocks[ld];
        rt_view_put(y, 8 + i, 1, c0, attr, true);
        rt_view_put(y + 1, 8 + i, 1, c1, attr, true);
    }
    /* The axis: the range's ends, and the picked interval or how to pick one. */
    char a[40], b[40], mid[200];
    fmt_when(v->first_ns, a, sizeof a, true);
    fmt_when(v->last_ns, b, sizeof b, true);
    if (v->strip_bin >= 0) {
        struct rt_catalog_filter f = table_filter(v);
        char s0[40], s1[40], d[32];
        fmt_when(f.since_ns, s0, sizeof s0, false);
        fmt_when(f.until_ns, s1, sizeof s1, false);
        fmt_duration(v->bins[v->strip_bin].max_duration_ns, d, sizeof d);
        snprintf(mid, sizeof mid, "%s-%s: %llu, slowest %s", s0, s1,
                 (unsigned long long)v->bins[v->strip_bin].count, d);
    } else {
        snprintf(mid, sizeof mid,
                 v->strip_focus ? "Left/Right: pick an interval" : "Tab: pick an interval");
    }
    int dim = rt_view_attr(RT_VIEW_C_DIM);
    rt_view_put(y + 2, 0, COLS, a, dim, true);
    int bw = rt_view_width(b);
    if (bw < COLS)
        rt_view_put(y + 2, COLS - bw, bw, b, dim, false);
    int mw = rt_view_width(mid);
    int mx = (COLS - mw) / 2;
    if (mx > rt_view_width(a) && mx + mw < COLS - bw)
        rt_view_put(y + 2, mx, mw, mid, v->strip_bin >= 0 ? rt_view_attr(RT_VIEW_C_HEADING) : dim,
                    false);
}

static void draw_empty(struct inv *v, int y)
{
    static const char *const how[] = {
        "The catalog is empty: no invocation has been recorded, pulled or indexed yet.",
        "",
        "Fill it with one of:",
        "  runtrail pull s3://BUCKET/PREFIX      download the bundles a deployed function wrote",
        "  runtrail invoke --event E.json -- ./bootstrap   run a handler locally, recorded",
        "  runtrail record -- COMMAND ARGS...    record any command",
        "  runtrail index DIR                    index bundles already on disk",
        "",
        "then start runtrail view again. runtrail --help lists every command.",
    };
    bool filtered = v->filter_text[0] != '\0';
    if (filtered) {
        rt_view_put(y + 1, 2, COLS - 2, "No invocation matches the filter:", 0, false);
        rt_view_put(y + 2, 4, COLS - 4, v->filter_text, rt_view_attr(RT_VIEW_C_HEADING), false);
        rt_view_put(y + 4, 2, COLS - 2, "f: change the filter (empty: everything)", 0, false);
        return;
    }
    for (size_t i = 0; i < sizeof how / sizeof how[0]; i++)
        rt_view_put(y + 1 + (int)i, 2, COLS - 2, how[i],
                    i == 0 ? rt_view_attr(RT_VIEW_C_HEADING) : 0, false);
}

static void inv_draw(struct rt_view_screen *s, struct rt_view_app *app)
{
    struct inv *v = (struct inv *)s;
    if (v->stale)
        refresh_counts(v, app);
    if (v->n_bins != bins_for_width()) { /* resized: the intervals change, not the rows */
        v->bins_pending = true;
        if (v->strip_bin >= 0 && v->n_bins > 0)
            v->strip_bin = v->strip_bin * bins_for_width() / v->n_bins;
        v->n_bins = bins_for_width();
    }
    layout(v);
    char right[160];
    snprintf(right, sizeof right, "%zu%s invocation%s ", v->total, v->count_pending ? "+" : "",
             v->total == 1 && !v->count_pending ? "" : "s");
    rt_view_title(" runtrail view: invocations", right);
    int y = 1;
    /* The strip: on a terminal tall enough, when there is a range to draw. */
    bool strip = LINES >= 14 && (v->total > 0 || v->strip_bin >= 0);
    if (strip) {
        draw_strip(v, app, y);
        y += 3;
    }
    /* headings: the sorted column carries an arrow */
    int head = rt_view_attr(RT_VIEW_C_HEADING);
    rt_view_put(y, 0, COLS, "", head, true);
    for (int c = 0; c < COL__COUNT; c++) {
        if (v->col_w[c] <= 0)
            continue;
        char h[40];
        snprintf(h, sizeof h, "%s%s", cols[c].head,
                 (int)v->order == c ? (v->descending ? "v" : "^") : "");
        bool right_align = c == COL_DURATION || c == COL_EVENTS;
        draw_cell(v, y, (enum col)c, h, head | ((int)v->order == c ? A_UNDERLINE : 0), right_align,
                  false);
    }
    y++;
    v->table_y = y;
    v->table_rows = LINES - 1 - y;
    if (v->table_rows < 1)
        v->table_rows = 1;
    if (v->total == 0) {
        draw_empty(v, y);
    } else {
        if (v->sel < v->top)
            v->top = v->sel;
        if (v->sel >= v->top + (size_t)v->table_rows)
            v->top = v->sel - (size_t)v->table_rows + 1;
        for (int i = 0; i < v->table_rows; i++) {
            size_t idx = v->top + (size_t)i;
            const struct inv_row *r = row_at(v, idx);
            if (!r)
                break;
            bool selected = idx == v->sel;
            bool flagged = row_flagged(r), marked = row_marked(v, r);
            int base = selected  ? rt_view_attr(RT_VIEW_C_SELECTED)
                       : flagged ? rt_view_attr(RT_VIEW_C_FLAGGED)
                                 : 0;
            int yy = y + i;
            rt_view_put(yy, 0, COLS, "", base, true);
            rt_view_put(yy, 0, 2,
                        marked    ? "*"
                        : flagged ? "!"
                                  : " ",
                        selected ? base
                                 : rt_view_attr(marked ? RT_VIEW_C_MARKED : RT_VIEW_C_FLAGGED),
                        true);
            char t[40], d[32], n[32], fl[512];
            fmt_when(r->start_ns, t, sizeof t, true);
            fmt_duration(r->duration_ns, d, sizeof d);
            snprintf(n, sizeof n, "%llu", (unsigned long long)r->n_events);
            fmt_flags(r, fl, sizeof fl);
            const char *status = rt_status_name((unsigned)r->status);
            int st_attr = selected                    ? base
                          : r->status == RT_STATUS_OK ? rt_view_attr(RT_VIEW_C_OK)
                                                      : rt_view_attr(RT_VIEW_C_ERROR);
            draw_cell(v, yy, COL_TIME, t, base, false, false);
            draw_cell(v, yy, COL_FUNCTION, r->function[0] ? r->function : "-", base, false, true);
            draw_cell(v, yy, COL_REQUEST_ID, r->request_id[0] ? r->request_id : "-", base, false,
                      true);
            draw_cell(v, yy, COL_DURATION, d, base, true, false);
            draw_cell(v, yy, COL_STATUS, status ? status : "unknown", st_attr, false, false);
            draw_cell(v, yy, COL_EVENTS, n, base, true, false);
            draw_cell(v, yy, COL_DESTINATIONS, r->destinations[0] ? r->destinations : "-", base,
                      false, true);
            draw_cell(v, yy, COL_FLAGS, fl, base, false, false);
            draw_cell(v, yy, COL_FINDINGS, r->findings[0] ? r->findings : "-", base, false, true);
        }
    }
    char left[1200];
    const char *sorted = "time";
    static const char *const order_names[] = {
#define _(id, name, sql) name,
        RT_CATALOG_ORDERS(_)
#undef _
    };
    sorted = order_names[v->order];
    snprintf(left, sizeof left, " sort: %s%s%s%s", sorted, v->descending ? " (desc)" : "",
             v->filter_text[0] ? "  filter: " : "", v->filter_text);
    char pos[64];
    snprintf(pos, sizeof pos, "%zu/%zu%s  ?:help ", v->total ? v->sel + 1 : 0, v->total,
             v->count_pending ? "+" : "");
    rt_view_status(app, left, pos);
}

static void apply_filter(struct inv *v, struct rt_view_app *app, const char *text)
{
    struct rt_catalog_filter_args fa;
    char storage[sizeof v->filter_storage];
    char msg[300];
    snprintf(storage, sizeof storage, "%s", text);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (rt_catalog_filter_parse_line(&fa, storage, now, msg, sizeof msg) != 0) {
        rt_view_message(app, true, "filter: %s", msg);
        return;
    }
    /* The filter points into its storage: move both, then repoint. */
    memcpy(v->filter_storage, storage, sizeof storage);
    v->fa = fa;
    const char **ptrs[] = {&v->fa.f.function, &v->fa.f.path_glob, &v->fa.f.dest, &v->fa.f.exec};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        if (*ptrs[i])
            *ptrs[i] = v->filter_storage + (*ptrs[i] - storage);
    for (size_t i = 0; i < v->fa.f.n_request_ids; i++)
        v->fa.ids[i] = v->filter_storage + (fa.ids[i] - storage);
    v->fa.f.request_ids = v->fa.f.n_request_ids ? v->fa.ids : NULL;
    snprintf(v->filter_text, sizeof v->filter_text, "%s", text);
    v->strip_bin = -1;
    v->sel = v->top = 0;
    v->stale = true;
}

static void open_selected(struct inv *v, struct rt_view_app *app)
{
    const struct inv_row *r = row_at(v, v->sel);
    if (!r)
        return;
    if (!r->path[0]) {
        rt_view_message(app, true, "%s: not in the cache (store key %s): runtrail pull fetches it",
                        r->request_id, r->key[0] ? r->key : "-");
        return;
    }
    char err[600];
    struct rt_view_screen *t = rt_view_timeline_new(r->path, err, sizeof err);
    if (!t) {
        rt_view_message(app, true, "%s", err);
        return;
    }
    rt_view_push(app, t);
}

static void search(struct inv *v, struct rt_view_app *app, bool forward)
{
    if (!v->search[0] || !v->total)
        return;
    size_t n = v->total;
    for (size_t step = 1; step <= n; step++) {
        size_t i = forward ? (v->sel + step) % n : (v->sel + n - step % n) % n;
        const struct inv_row *r = row_at(v, i);
        if (!r)
            continue;
        if (rt_view_contains(r->function, v->search) ||
            rt_view_contains(r->request_id, v->search) ||
            rt_view_contains(r->destinations, v->search) ||
            rt_view_contains(r->findings, v->search)) {
            v->sel = i;
            return;
        }
    }
    rt_view_message(app, true, "not found: %s", v->search);
}

static void unmark(struct inv *v, int i)
{
    free(v->marked_path[i]);
    if (i == 0 && v->n_marked == 2) {
        memcpy(v->marked[0], v->marked[1], sizeof v->marked[0]);
        memcpy(v->marked_rid[0], v->marked_rid[1], sizeof v->marked_rid[0]);
        v->marked_path[0] = v->marked_path[1];
    }
    v->marked_path[v->n_marked - 1] = NULL;
    v->n_marked--;
}

static void toggle_mark(struct inv *v, struct rt_view_app *app)
{
    const struct inv_row *r = row_at(v, v->sel);
    if (!r)
        return;
    for (int i = 0; i < v->n_marked; i++)
        if (!strcmp(v->marked[i], r->digest)) {
            unmark(v, i);
            return;
        }
    if (v->n_marked == 2)
        unmark(v, 0);
    int k = v->n_marked++;
    snprintf(v->marked[k], sizeof v->marked[0], "%s", r->digest);
    snprintf(v->marked_rid[k], sizeof v->marked_rid[0], "%.36s", r->request_id);
    v->marked_path[k] = strdup(r->path);
    rt_view_message(app, false, "%d marked%s", v->n_marked,
                    v->n_marked == 2 ? ": d compares them" : ": d compares it with its baseline");
}

/* Learning a baseline of a function from the catalog: its other invocations' bundles. */
struct learn {
    struct rt_baseline *bl;
    const char *skip_digest;
    size_t learned, skipped;
};

static int learn_row(const struct rt_catalog_row *r, void *arg)
{
    struct learn *l = arg;
    if (!r->path || !r->path[0] || (r->digest && !strcmp(r->digest, l->skip_digest)))
        return 0;
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    if (rt_bundle_open_file(r->path, &b, &ei) != RT_OK) {
        l->skipped++;
        return 0;
    }
    if (rt_baseline_suspicious(b, NULL) || rt_baseline_learn(l->bl, b) != RT_OK)
        l->skipped++;
    else
        l->learned++;
    rt_bundle_free(b);
    return 0;
}

static void diff_two(struct inv *v, struct rt_view_app *app)
{
    struct rt_vm_diff *d = NULL;
    struct rt_errinfo ei;
    int which = 0;
    if (!v->marked_path[0] || !v->marked_path[1] || !v->marked_path[0][0] ||
        !v->marked_path[1][0]) {
        rt_view_message(app, true, "diff: a marked bundle is not in the cache (runtrail pull)");
        return;
    }
    int rc = rt_vm_diff_files(v->marked_path[0], v->marked_path[1], v->marked_rid[0],
                              v->marked_rid[1], &d, &ei, &which);
    if (rc != RT_OK) {
        char buf[300];
        rt_view_message(app, true, "diff: %s: %s", v->marked_rid[which],
                        rt_errinfo_format(rc, &ei, buf, sizeof buf));
        return;
    }
    char title[200];
    snprintf(title, sizeof title, " runtrail view: diff %.36s %.36s", v->marked_rid[0],
             v->marked_rid[1]);
    struct rt_view_screen *s = rt_view_diff_new(d, title);
    if (s)
        rt_view_push(app, s);
}

static void diff_baseline(struct inv *v, struct rt_view_app *app)
{
    const struct inv_row *r = row_at(v, v->sel);
    if (!r)
        return;
    if (!r->path[0]) {
        rt_view_message(app, true, "%s: not in the cache: runtrail pull fetches it", r->request_id);
        return;
    }
    char function[256], digest[72], rid[64], path[4096];
    snprintf(function, sizeof function, "%s", r->function);
    snprintf(digest, sizeof digest, "%s", r->digest);
    snprintf(rid, sizeof rid, "%.36s", r->request_id);
    snprintf(path, sizeof path, "%s", r->path);
    struct learn l = {.bl = rt_baseline_new(function), .skip_digest = digest};
    if (!l.bl)
        return;
    struct rt_catalog_filter f = {.status = -1,
                                  .function = function,
                                  .limit = 2000,
                                  .order = RT_CATALOG_ORDER_TIME,
                                  .descending = true};
    struct rt_errinfo ei;
    rt_catalog_query(v->cat, &f, learn_row, &l, &ei);
    cache_clear(v); /* row_at's page may be stale after the query: read it again */
    if (!l.learned) {
        rt_view_message(app, true,
                        "diff: no other invocation of %s to learn a baseline from "
                        "(m marks two to compare)",
                        function);
        rt_baseline_free(l.bl);
        return;
    }
    struct rt_bundle *b = NULL;
    int rc = rt_bundle_open_file(path, &b, &ei);
    struct rt_vm_diff *d = NULL;
    char label[400];
    snprintf(label, sizeof label, "learned from %zu invocations of %s in the catalog", l.learned,
             function);
    if (rc == RT_OK)
        rc = rt_vm_diff_baseline(b, l.bl, label, &d);
    rt_bundle_free(b);
    rt_baseline_free(l.bl);
    if (rc != RT_OK) {
        char buf[300];
        rt_view_message(app, true, "diff: %s", rt_errinfo_format(rc, &ei, buf, sizeof buf));
        return;
    }
    char title[200];
    snprintf(title, sizeof title, " runtrail view: diff %s against its baseline", rid);
    struct rt_view_screen *s = rt_view_diff_new(d, title);
    if (s)
        rt_view_push(app, s);
}

static int inv_key(struct rt_view_screen *s, struct rt_view_app *app, enum rt_view_action a, int ch)
{
    (void)ch;
    struct inv *v = (struct inv *)s;
    size_t page = v->table_rows > 1 ? (size_t)v->table_rows - 1 : 1;
    ensure_count(v); /* a key that moves needs to know where the table ends */
    if (v->strip_focus) {
        switch (a) {
        case RT_VIEW_LEFT:
        case RT_VIEW_UP:
            v->strip_bin = v->strip_bin <= 0 ? v->n_bins - 1 : v->strip_bin - 1;
            v->sel = v->top = 0;
            v->stale = true;
            return RT_VIEW_HANDLED;
        case RT_VIEW_RIGHT:
        case RT_VIEW_DOWN:
            v->strip_bin = v->strip_bin >= v->n_bins - 1 ? 0 : v->strip_bin + 1;
            v->sel = v->top = 0;
            v->stale = true;
            return RT_VIEW_HANDLED;
        case RT_VIEW_BACK: /* the whole range again */
            v->strip_bin = -1;
            v->strip_focus = false;
            v->stale = true;
            return RT_VIEW_HANDLED;
        case RT_VIEW_TAB:
        case RT_VIEW_ENTER:
            v->strip_focus = false;
            return RT_VIEW_HANDLED;
        default:
            break;
        }
    }
    switch (a) {
    case RT_VIEW_UP:
        if (v->sel > 0)
            v->sel--;
        break;
    case RT_VIEW_DOWN:
        if (v->sel + 1 < v->total)
            v->sel++;
        break;
    case RT_VIEW_PGUP:
        v->sel = v->sel > page ? v->sel - page : 0;
        break;
    case RT_VIEW_PGDN:
        v->sel = v->sel + page < v->total ? v->sel + page : (v->total ? v->total - 1 : 0);
        break;
    case RT_VIEW_TOP:
        v->sel = 0;
        break;
    case RT_VIEW_BOTTOM:
        v->sel = v->total ? v->total - 1 : 0;
        break;
    case RT_VIEW_ENTER:
        open_selected(v, app);
        break;
    case RT_VIEW_TAB:
        if (LINES < 14)
            return RT_VIEW_HANDLED;
        v->strip_focus = true;
        break;
    case RT_VIEW_SORT:
        v->order = (enum rt_catalog_order)((v->order + 1) % RT_CATALOG_ORDER__COUNT);
        v->sel = v->top = 0;
        cache_clear(v);
        break;
    case RT_VIEW_REVERSE:
        v->descending = !v->descending;
        v->sel = v->top = 0;
        cache_clear(v);
        break;
    case RT_VIEW_FILTER: {
        char line[sizeof v->filter_text];
        if (rt_view_prompt(app, "filter (ls options): ", v->filter_text, line, sizeof line))
            apply_filter(v, app, line);
        break;
    }
    case RT_VIEW_SEARCH: {
        char line[sizeof v->search];
        if (rt_view_prompt(app, "/", v->search, line, sizeof line) && line[0]) {
            snprintf(v->search, sizeof v->search, "%s", line);
            search(v, app, true);
        }
        break;
    }
    case RT_VIEW_NEXT:
        search(v, app, true);
        break;
    case RT_VIEW_PREV:
        search(v, app, false);
        break;
    case RT_VIEW_MARK:
        toggle_mark(v, app);
        break;
    case RT_VIEW_DIFF:
        if (v->n_marked == 2)
            diff_two(v, app);
        else
            diff_baseline(v, app);
        break;
    default:
        return 0;
    }
    return RT_VIEW_HANDLED;
}

static int inv_click(struct rt_view_screen *s, struct rt_view_app *app, int y, int x)
{
    (void)app;
    struct inv *v = (struct inv *)s;
    if (y == v->table_y - 1) { /* a heading: sort by it, again: reverse */
        for (int c = 0; c < COL__COUNT; c++)
            if (v->col_w[c] > 0 && x >= v->col_x[c] && x < v->col_x[c] + v->col_w[c]) {
                if ((int)v->order == c)
                    v->descending = !v->descending;
                else
                    v->order = (enum rt_catalog_order)c;
                v->sel = v->top = 0;
                cache_clear(v);
            }
        return RT_VIEW_HANDLED;
    }
    if (y >= v->table_y && y < v->table_y + v->table_rows) {
        size_t i = v->top + (size_t)(y - v->table_y);
        if (i < v->total)
            v->sel = i;
        return RT_VIEW_HANDLED;
    }
    if ((y == 1 || y == 2) && LINES >= 14 && x >= 8 && x - 8 < v->n_bins) {
        v->strip_bin = v->strip_bin == x - 8 ? -1 : x - 8;
        v->sel = v->top = 0;
        v->stale = true;
    }
    return RT_VIEW_HANDLED;
}

static void inv_free(struct rt_view_screen *s)
{
    struct inv *v = (struct inv *)s;
    cache_clear(v);
    free(v->cache);
    while (v->n_marked)
        unmark(v, 0);
    rt_catalog_close(v->cat);
    free(v);
}

static const struct rt_view_screen_ops inv_ops = {
    .name = "invocations",
    .draw = inv_draw,
    .key = inv_key,
    .click = inv_click,
    .idle = inv_idle,
    .free = inv_free,
};

struct rt_view_screen *rt_view_invocations_new(struct rt_view_app *app, char *err, size_t cap)
{
    const struct rt_viewer_opts *o = rt_view_opts(app);
    struct inv *v = calloc(1, sizeof *v);
    if (!v || !(v->cache = calloc(PAGE_ROWS, sizeof *v->cache))) {
        free(v);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    v->base.ops = &inv_ops;
    v->strip_bin = -1;
    v->stale = true;
    snprintf(v->dir, sizeof v->dir, "%s", o->cache_dir);
    struct rt_errinfo ei;
    int rc = rt_catalog_open_readonly(v->dir, &v->cat, &ei);
    if (rc != RT_OK) {
        char buf[400];
        snprintf(err, cap, "%s: %s", v->dir, rt_errinfo_format(rc, &ei, buf, sizeof buf));
        free(v->cache);
        free(v);
        return NULL;
    }
    rt_catalog_filter_args_init(&v->fa);
    if (o->filter) {
        /* The command line's filter points into argv, which outlives the viewer. */
        v->fa = *o->filter;
        v->fa.f.request_ids = v->fa.f.n_request_ids ? v->fa.ids : NULL;
    }
    snprintf(v->filter_text, sizeof v->filter_text, "%s", o->filter_text ? o->filter_text : "");
    return &v->base;
}
