/* The help screen (`?`, F1): every key of the one key table (viewer/keys.h), grouped by where
 * it applies, the group of the screen it was opened from first. Nothing here is written by
 * hand: a new binding appears in the help by being in the table. */
#include "viewer/keys.h"
#include "viewer/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct help {
    struct rt_view_screen base;
    char context[32];
    int top;
    int n_lines;
};

/* The groups in the order shown; "list" is the invocations screen's. */
static const struct {
    const char *where, *title;
} groups[] = {
    {"all", "Everywhere"},
    {"list", "Invocations"},
    {"timeline", "Timeline"},
    {"detail", "Detail"},
};

/* Calls line(i, text, is_heading) for each line of the help; returns the count. */
static int lines(const struct help *h,
                 void (*line)(int i, const char *text, bool heading, void *arg), void *arg)
{
    size_t n;
    const struct rt_view_key *k = rt_view_keys(&n);
    int i = 0;
    char buf[256];
    for (int pass = 0; pass < 2; pass++) {
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            bool here = !strcmp(groups[g].where, h->context) ||
                        (!strcmp(groups[g].where, "list") && !strcmp(h->context, "invocations"));
            /* pass 0: the screen's own group; pass 1: the others. */
            if ((pass == 0) != here)
                continue;
            if (i > 0 && line)
                line(i, "", false, arg);
            if (i > 0)
                i++;
            if (line)
                line(i, groups[g].title, true, arg);
            i++;
            for (size_t j = 0; j < n; j++) {
                if (strcmp(k[j].where, groups[g].where))
                    continue;
                snprintf(buf, sizeof buf, "  %-12s %s", k[j].keys, k[j].doc);
                if (line)
                    line(i, buf, false, arg);
                i++;
            }
        }
    }
    return i;
}

struct draw_ctx {
    int top, rows;
};

static void draw_line(int i, const char *text, bool heading, void *arg)
{
    struct draw_ctx *c = arg;
    if (i < c->top || i >= c->top + c->rows)
        return;
    rt_view_put(1 + i - c->top, 0, COLS, text, heading ? rt_view_attr(RT_VIEW_C_HEADING) : 0,
                false);
}

static void help_draw(struct rt_view_screen *s, struct rt_view_app *app)
{
    struct help *h = (struct help *)s;
    rt_view_title(" runtrail view: help", "keys ");
    int rows = LINES - 2;
    h->n_lines = lines(h, NULL, NULL);
    if (h->top > h->n_lines - rows)
        h->top = h->n_lines - rows;
    if (h->top < 0)
        h->top = 0;
    struct draw_ctx c = {h->top, rows};
    lines(h, draw_line, &c);
    char right[64];
    snprintf(right, sizeof right, "%d-%d of %d ", h->top + 1,
             h->top + rows < h->n_lines ? h->top + rows : h->n_lines, h->n_lines);
    rt_view_status(app, " Esc/q: back", right);
}

static int help_key(struct rt_view_screen *s, struct rt_view_app *app, enum rt_view_action a,
                    int ch)
{
    (void)app;
    (void)ch;
    struct help *h = (struct help *)s;
    int page = LINES - 3 > 1 ? LINES - 3 : 1;
    switch (a) {
    case RT_VIEW_UP:
        h->top--;
        break;
    case RT_VIEW_DOWN:
        h->top++;
        break;
    case RT_VIEW_PGUP:
        h->top -= page;
        break;
    case RT_VIEW_PGDN:
        h->top += page;
        break;
    case RT_VIEW_TOP:
        h->top = 0;
        break;
    case RT_VIEW_BOTTOM:
        h->top = h->n_lines;
        break;
    case RT_VIEW_HELP:
        return RT_VIEW_HANDLED; /* already here */
    default:
        return 0;
    }
    return RT_VIEW_HANDLED;
}

static void help_free(struct rt_view_screen *s)
{
    free(s);
}

static const struct rt_view_screen_ops help_ops = {
    .name = "help", .draw = help_draw, .key = help_key, .free = help_free};

struct rt_view_screen *rt_view_help_new(const char *context)
{
    struct help *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->base.ops = &help_ops;
    snprintf(h->context, sizeof h->context, "%s", context ? context : "all");
    return &h->base;
}
