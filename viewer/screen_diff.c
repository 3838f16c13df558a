/* The diff screen: a thin curses layer over the diff model (viewer/vm_diff.h): two
 * invocations compared by the analysis library, or one against its function's baseline, the
 * summary pinned on top, then the hunks; unified, or side by side (Tab). n and N jump between
 * hunks. Removed lines are red, added green, changed yellow. */
#include "viewer/keys.h"
#include "viewer/ui.h"
#include "viewer/vm_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct diff {
    struct rt_view_screen base;
    struct rt_vm_diff *m;
    bool side_by_side;
    size_t top; /* first line shown below the pinned summary */
    int rows;
    char title[300];
};

static int attr_of(enum rt_vm_diff_style st)
{
    switch (st) {
    case RT_VM_DIFF_TITLE:
        return rt_view_attr(RT_VIEW_C_HEADING);
    case RT_VM_DIFF_SUMMARY:
        return rt_view_attr(RT_VIEW_C_FLAGGED);
    case RT_VM_DIFF_HUNK:
        return rt_view_attr(RT_VIEW_C_HEADING);
    case RT_VM_DIFF_REMOVED:
        return rt_view_attr(RT_VIEW_C_ERROR);
    case RT_VM_DIFF_ADDED:
        return rt_view_attr(RT_VIEW_C_OK);
    case RT_VM_DIFF_CHANGED:
        return rt_view_attr(RT_VIEW_C_FLAGGED);
    case RT_VM_DIFF_NOTE:
        return rt_view_attr(RT_VIEW_C_DIM);
    default:
        return 0;
    }
}

static void draw_line(struct diff *d, int y, const struct rt_vm_diff_line *l)
{
    int attr = attr_of(l->style);
    if (!d->side_by_side || (!l->left && !l->right)) {
        rt_view_put(y, 0, COLS, l->text, attr, true);
        return;
    }
    int half = (COLS - 1) / 2;
    int la = l->style == RT_VM_DIFF_CHANGED || l->style == RT_VM_DIFF_REMOVED
                 ? rt_view_attr(RT_VIEW_C_ERROR)
                 : attr;
    int ra = l->style == RT_VM_DIFF_CHANGED || l->style == RT_VM_DIFF_ADDED
                 ? rt_view_attr(RT_VIEW_C_OK)
                 : attr;
    rt_view_put(y, 0, half, l->left ? l->left : "", la, true);
    rt_view_put(y, half, 1, "|", rt_view_attr(RT_VIEW_C_DIM), false);
    rt_view_put(y, half + 1, COLS - half - 1, l->right ? l->right : "", ra, true);
}

/* The lines shown in the current mode: side by side skips the unified-only ones. */
static bool shown(const struct diff *d, const struct rt_vm_diff_line *l)
{
    return !(d->side_by_side && l->unified_only);
}

static void diff_draw(struct rt_view_screen *s, struct rt_view_app *app)
{
    struct diff *d = (struct diff *)s;
    rt_view_title(d->title, d->side_by_side ? "side by side " : "unified ");
    size_t pinned = rt_vm_diff_summary_lines(d->m);
    size_t n = rt_vm_diff_count(d->m);
    int avail = LINES - 2;
    /* The summary stays on top, but never takes more than half of the screen. */
    int pin = (int)pinned < avail / 2 ? (int)pinned : avail / 2;
    int y = 1;
    for (int i = 0; i < pin; i++)
        draw_line(d, y++, rt_vm_diff_line(d->m, (size_t)i));
    if (pin > 0 && pin < (int)pinned) {
        char more[80];
        snprintf(more, sizeof more, "  (%zu more summary lines below)", pinned - (size_t)pin);
        rt_view_put(y - 1, 0, COLS, more, rt_view_attr(RT_VIEW_C_DIM), true);
    }
    d->rows = LINES - 1 - y;
    if (d->top < (size_t)pin)
        d->top = (size_t)pin;
    size_t i = d->top;
    for (; y < LINES - 1 && i < n; i++) {
        const struct rt_vm_diff_line *l = rt_vm_diff_line(d->m, i);
        if (!shown(d, l))
            continue;
        draw_line(d, y++, l);
    }
    char right[80];
    snprintf(right, sizeof right, "%zu/%zu  ?:help ", d->top + 1, n);
    rt_view_status(app,
                   rt_vm_diff_differs(d->m) ? " differs  Tab: unified/side by side  n/N: hunks"
                                            : " no difference  Tab: unified/side by side",
                   right);
}

static int diff_key(struct rt_view_screen *s, struct rt_view_app *app, enum rt_view_action a,
                    int ch)
{
    (void)ch;
    struct diff *d = (struct diff *)s;
    size_t n = rt_vm_diff_count(d->m);
    size_t page = d->rows > 1 ? (size_t)d->rows - 1 : 1;
    switch (a) {
    case RT_VIEW_UP:
        if (d->top > 0)
            d->top--;
        break;
    case RT_VIEW_DOWN:
        if (d->top + 1 < n)
            d->top++;
        break;
    case RT_VIEW_PGUP:
        d->top = d->top > page ? d->top - page : 0;
        break;
    case RT_VIEW_PGDN:
        d->top = d->top + page < n ? d->top + page : (n ? n - 1 : 0);
        break;
    case RT_VIEW_TOP:
        d->top = 0;
        break;
    case RT_VIEW_BOTTOM:
        d->top = n > page ? n - page : 0;
        break;
    case RT_VIEW_TAB:
        d->side_by_side = !d->side_by_side;
        break;
    case RT_VIEW_NEXT:
    case RT_VIEW_PREV: {
        size_t line;
        if (rt_vm_diff_next_hunk(d->m, d->top, a == RT_VIEW_NEXT ? 1 : -1, &line))
            d->top = line;
        else
            rt_view_message(app, false, "no more hunks");
        break;
    }
    default:
        return 0;
    }
    return RT_VIEW_HANDLED;
}

static void diff_free(struct rt_view_screen *s)
{
    struct diff *d = (struct diff *)s;
    rt_vm_diff_free(d->m);
    free(d);
}

static const struct rt_view_screen_ops diff_ops = {
    .name = "diff", .draw = diff_draw, .key = diff_key, .free = diff_free};

struct rt_view_screen *rt_view_diff_new(struct rt_vm_diff *m, const char *title)
{
    struct diff *d = calloc(1, sizeof *d);
    if (!d) {
        rt_vm_diff_free(m);
        return NULL;
    }
    d->base.ops = &diff_ops;
    d->m = m;
    d->side_by_side = COLS >= 120;
    snprintf(d->title, sizeof d->title, "%s", title);
    return &d->base;
}
