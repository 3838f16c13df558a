/* Inside the viewer: the application (screen stack, colours, status line) and what every
 * screen uses to draw. A screen is a handler table (struct rt_view_screen_ops, one file per
 * screen); its key handler returns RT_VIEW_* flags saying what to do next. All text reaches
 * the terminal through rt_view_put_data() (captured bytes: escaped first) or rt_view_put()
 * (our own text or text already escaped: any control character left is drawn as '?'). */
#ifndef RUNTRAIL_VIEWER_UI_H
#define RUNTRAIL_VIEWER_UI_H

#include "store/catalog.h"
#include "viewer/keys.h"
#include "viewer/viewer.h"

#include <stdbool.h>
#include <stddef.h>

/* Colour roles; each has a colour pair and a monochrome attribute (NO_COLOR, no colours). */
#define RT_VIEW_COLORS(_)                                                                          \
    _(NORMAL, -1, -1, -1, -1, A_NORMAL)                                                            \
    _(TITLE, 15, 24, COLOR_WHITE, COLOR_BLUE, A_REVERSE)                                           \
    _(STATUS, 15, 24, COLOR_WHITE, COLOR_BLUE, A_REVERSE)                                          \
    _(HEADING, 117, -1, COLOR_CYAN, -1, A_BOLD)                                                    \
    _(SELECTED, 16, 153, COLOR_BLACK, COLOR_CYAN, A_REVERSE)                                       \
    _(OK, 114, -1, COLOR_GREEN, -1, A_NORMAL)                                                      \
    _(ERROR, 203, -1, COLOR_RED, -1, A_BOLD)                                                       \
    _(FLAGGED, 214, -1, COLOR_YELLOW, -1, A_BOLD)                                                  \
    _(DIM, 244, -1, COLOR_BLUE, -1, A_DIM)                                                         \
    _(MARKED, 213, -1, COLOR_MAGENTA, -1, A_UNDERLINE)                                             \
    _(WARN, 16, 214, COLOR_BLACK, COLOR_YELLOW, A_REVERSE)

enum rt_view_color {
#define _(id, fg256, bg256, fg16, bg16, mono) RT_VIEW_C_##id,
    RT_VIEW_COLORS(_)
#undef _
        RT_VIEW_C__COUNT
};

/* What a key handler asks for (OR of these). */
enum {
    RT_VIEW_HANDLED = 0x1,
    RT_VIEW_REDRAW = 0x2,
    RT_VIEW_POP = 0x4,  /* close this screen */
    RT_VIEW_EXIT = 0x8, /* quit the viewer */
};

struct rt_view_app;
struct rt_view_screen;

struct rt_view_screen_ops {
    const char *name; /* the title's first word: "invocations", "timeline"... */
    void (*draw)(struct rt_view_screen *s, struct rt_view_app *app);
    /* action from the key table (RT_VIEW_NONE for an unbound key), ch the raw key. */
    int (*key)(struct rt_view_screen *s, struct rt_view_app *app, enum rt_view_action action,
               int ch);
    /* A click (button 1) at screen row y, column x; NULL when the screen has no use for it. */
    int (*click)(struct rt_view_screen *s, struct rt_view_app *app, int y, int x);
    /* Work done while no key is waiting (indexing a bundle); returns true while more remains.
     * May be NULL. */
    bool (*idle)(struct rt_view_screen *s, struct rt_view_app *app);
    void (*free)(struct rt_view_screen *s);
};

struct rt_view_screen {
    const struct rt_view_screen_ops *ops;
    struct rt_view_screen *below; /* the screen under this one on the stack */
};

/* ---- the application (viewer/app.c) ---- */

/* Pushes a screen on the stack (it becomes the one drawn and given keys). */
void rt_view_push(struct rt_view_app *app, struct rt_view_screen *s);
/* A message on the status line until the next key ("bundle not in the cache"). */
void rt_view_message(struct rt_view_app *app, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reads a line at the bottom of the screen, starting with initial (may be NULL). Returns true
 * with the text in buf (NUL-terminated), false when cancelled with Esc. */
bool rt_view_prompt(struct rt_view_app *app, const char *label, const char *initial, char *buf,
                    size_t cap);
const struct rt_viewer_opts *rt_view_opts(const struct rt_view_app *app);
/* Whether the terminal draws UTF-8 (block characters for the strip). */
bool rt_view_utf8(const struct rt_view_app *app);

/* ---- drawing ---- */

int rt_view_attr(enum rt_view_color c);
/* Draws text (UTF-8, ours or already escaped) at y, x in at most width columns, padded with
 * spaces to width when pad; wide characters count two columns, combining marks none; a
 * control character is drawn as '?'. Returns the columns used. */
int rt_view_put(int y, int x, int width, const char *text, int attr, bool pad);
/* The same for captured bytes s[0..len): escaped first (\x1b, \n, invalid UTF-8 as \xNN). */
int rt_view_put_data(int y, int x, int width, const char *s, size_t len, int attr, bool pad);
/* Display text from its column skip on (horizontal scroll), cut with '>' when longer. */
int rt_view_put_scrolled(int y, int x, int width, const char *text, int skip, int attr);
/* Columns text takes (as rt_view_put draws it). */
int rt_view_width(const char *text);
/* The title bar (row 0) and status bar (last row) of a screen: left and right parts. */
void rt_view_title(const char *left, const char *right);
void rt_view_status(struct rt_view_app *app, const char *left, const char *right);
/* Case-insensitive substring test for searches. */
bool rt_view_contains(const char *hay, const char *needle);

/* ---- screens ---- */

struct rt_view_screen *rt_view_invocations_new(struct rt_view_app *app, char *err, size_t cap);
/* The timeline of the bundle at path; NULL with err set when nothing of it can be read. */
struct rt_view_screen *rt_view_timeline_new(const char *path, char *err, size_t cap);
struct rt_view_screen *rt_view_help_new(const char *context);
struct rt_vm_detail;
struct rt_vm_diff;
/* Screens over a model they take over (freed with the screen); NULL when out of memory
 * (the model is freed then too). */
struct rt_view_screen *rt_view_detail_new(struct rt_vm_detail *d, const char *title);
struct rt_view_screen *rt_view_diff_new(struct rt_vm_diff *d, const char *title);

#endif
