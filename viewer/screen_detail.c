/* The detail screen: a thin curses layer over the detail model (viewer/vm_detail.h): every
 * field of an event, then the invocation, integrity, ENV, CODE and the payloads as JSON whose
 * objects fold (Enter on the line that opens one, Z for all) and whose redacted values are
 * marked '*'. `/` `n` `N` search the lines. */
#include "viewer/keys.h"
#include "viewer/ui.h"
#include "viewer/vm_detail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct detail {
    struct rt_view_screen base;
    struct rt_vm_detail *m;
    size_t top, sel;
    int rows;
    bool folded_all;
    char title[160];
    char search[256];
};

static enum rt_view_color color_of(const struct rt_vm_line *l)
{
    switch (l->style) {
    case RT_VM_LINE_HEADING:
        return RT_VIEW_C_HEADING;
    case RT_VM_LINE_REDACTED:
        return RT_VIEW_C_MARKED;
    case RT_VM_LINE_WARN:
        return RT_VIEW_C_FLAGGED;
    default:
        return RT_VIEW_C_NORMAL;
    }
}

static void detail_draw(struct rt_view_screen *s, struct rt_view_app *app)
{
    struct detail *d = (struct detail *)s;
    rt_view_title(d->title, "");
    size_t n = rt_vm_detail_count(d->m);
    d->rows = LINES - 2 > 1 ? LINES - 2 : 1;
    if (d->sel >= n && n)
        d->sel = n - 1;
    if (d->sel < d->top)
        d->top = d->sel;
    if (d->sel >= d->top + (size_t)d->rows)
        d->top = d->sel - (size_t)d->rows + 1;
    for (int i = 0; i < d->rows; i++) {
        const struct rt_vm_line *l = rt_vm_detail_line(d->m, d->top + (size_t)i);
        if (!l)
            break;
        int attr = d->top + (size_t)i == d->sel ? rt_view_attr(RT_VIEW_C_SELECTED)
                                                : rt_view_attr(color_of(l));
        /* The gutter: '*' a redacted value, '+' a folded node, '-' an open one. */
        const char *mark = l->redacted ? "*" : l->foldable ? (l->folded ? "+" : "-") : " ";
        rt_view_put(1 + i, 0, 2, mark, attr, true);
        rt_view_put(1 + i, 2, COLS - 2, l->text, attr, true);
    }
    char right[64];
    snprintf(right, sizeof right, "%zu/%zu  ?:help ", n ? d->sel + 1 : 0, n);
    rt_view_status(app, " Enter: fold/unfold  Z: fold all  Esc/q: back", right);
}

static bool find(struct detail *d, int dir)
{
    size_t n = rt_vm_detail_count(d->m);
    for (size_t step = 1; step < n; step++) {
        size_t i = dir > 0 ? d->sel + step : d->sel - step;
        if (i >= n)
            return false;
        const struct rt_vm_line *l = rt_vm_detail_line(d->m, i);
        if (l && rt_view_contains(l->text, d->search)) {
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
    size_t n = rt_vm_detail_count(d->m);
    size_t page = d->rows > 1 ? (size_t)d->rows - 1 : 1;
    switch (a) {
    case RT_VIEW_UP:
        if (d->sel > 0)
            d->sel--;
        break;
    case RT_VIEW_DOWN:
        if (d->sel + 1 < n)
            d->sel++;
        break;
    case RT_VIEW_PGUP:
        d->sel = d->sel > page ? d->sel - page : 0;
        break;
    case RT_VIEW_PGDN:
        d->sel = d->sel + page < n ? d->sel + page : (n ? n - 1 : 0);
        break;
    case RT_VIEW_TOP:
        d->sel = 0;
        break;
    case RT_VIEW_BOTTOM:
        d->sel = n ? n - 1 : 0;
        break;
    case RT_VIEW_ENTER:
    case RT_VIEW_FOLD:
        if (!rt_vm_detail_toggle(d->m, d->sel))
            rt_view_message(app, false, "Enter folds the JSON object or array this line opens");
        break;
    case RT_VIEW_FOLD_ALL:
        d->folded_all = !d->folded_all;
        rt_vm_detail_fold_all(d->m, 1, d->folded_all);
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

static int detail_click(struct rt_view_screen *s, struct rt_view_app *app, int y, int x)
{
    (void)app;
    (void)x;
    struct detail *d = (struct detail *)s;
    size_t i = d->top + (size_t)(y - 1);
    if (y >= 1 && i < rt_vm_detail_count(d->m))
        d->sel = i;
    return RT_VIEW_HANDLED;
}

static void detail_free(struct rt_view_screen *s)
{
    struct detail *d = (struct detail *)s;
    rt_vm_detail_free(d->m);
    free(d);
}

static const struct rt_view_screen_ops detail_ops = {
    .name = "detail",
    .draw = detail_draw,
    .key = detail_key,
    .click = detail_click,
    .free = detail_free,
};

struct rt_view_screen *rt_view_detail_new(struct rt_vm_detail *m, const char *title)
{
    struct detail *d = calloc(1, sizeof *d);
    if (!d) {
        rt_vm_detail_free(m);
        return NULL;
    }
    d->base.ops = &detail_ops;
    d->m = m;
    snprintf(d->title, sizeof d->title, "%s", title);
    return &d->base;
}
