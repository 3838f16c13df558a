/* The viewer's one key table: every binding, from which the input dispatch and the help
 * screen (`?`, F1) are generated, so that they cannot drift apart. Columns: action, where it
 * applies ("all", "list", "timeline"...), the keys as the help screen names them, what it
 * does, and up to three key codes (ncurses KEY_* or characters; 0 = unused). */
#ifndef RUNTRAIL_VIEWER_KEYS_H
#define RUNTRAIL_VIEWER_KEYS_H

#include <curses.h>

#define RT_VIEW_ESC 27
#define RT_VIEW_KEYS(_)                                                                            \
    _(UP, "all", "Up k", "move up one row", KEY_UP, 'k', 0)                                        \
    _(DOWN, "all", "Down j", "move down one row", KEY_DOWN, 'j', 0)                                \
    _(PGUP, "all", "PgUp b", "one page up", KEY_PPAGE, 'b', 0)                                     \
    _(PGDN, "all", "PgDn Space", "one page down", KEY_NPAGE, ' ', 0)                               \
    _(TOP, "all", "g Home", "first row", 'g', KEY_HOME, 0)                                         \
    _(BOTTOM, "all", "G End", "last row", 'G', KEY_END, 0)                                         \
    _(ENTER, "all", "Enter", "open: an invocation's timeline, an event's detail", '\n', '\r',      \
      KEY_ENTER)                                                                                   \
    _(BACK, "all", "Esc q", "back to the previous screen (quit on the first)", RT_VIEW_ESC, 'q',   \
      0)                                                                                           \
    _(QUIT, "all", "Q", "quit", 'Q', 0, 0)                                                         \
    _(HELP, "all", "? F1", "this help", '?', KEY_F(1), 0)                                          \
    _(TAB, "all", "Tab", "next pane: time strip, process tree; diff: side by side", '\t', 0, 0)    \
    _(LEFT, "all", "Left h", "strip: earlier interval; timeline: scroll left", KEY_LEFT, 'h', 0)   \
    _(RIGHT, "all", "Right l", "strip: later interval; timeline: scroll right", KEY_RIGHT, 'l', 0) \
    _(SEARCH, "all", "/", "search (text of the rows)", '/', 0, 0)                                  \
    _(NEXT, "all", "n", "next match", 'n', 0, 0)                                                   \
    _(PREV, "all", "N", "previous match", 'N', 0, 0)                                               \
    _(SORT, "list", "s", "sort by the next column (click a heading: by it)", 's', 0, 0)            \
    _(REVERSE, "list", "S", "reverse the order", 'S', 0, 0)                                        \
    _(FILTER, "list", "f", "filter: the options of runtrail ls (--function F --since 2h ...)",     \
      'f', 0, 0)                                                                                   \
    _(MARK, "list", "m", "mark an invocation (two marks: d compares them)", 'm', 0, 0)             \
    _(DIFF, "list", "d", "diff the two marked, or the row against its function's baseline", 'd',   \
      0, 0)                                                                                        \
    _(FLAGGED, "timeline", "]", "next flagged event (a flag, an error, a failed call)", ']', 0, 0) \
    _(FLAGGED_BACK, "timeline", "[", "previous flagged event", '[', 0, 0)                          \
    _(KIND_PROC, "timeline", "1", "show/hide proc events", '1', 0, 0)                              \
    _(KIND_FILE, "timeline", "2", "show/hide file events", '2', 0, 0)                              \
    _(KIND_NET, "timeline", "3", "show/hide net events", '3', 0, 0)                                \
    _(KIND_SEC, "timeline", "4", "show/hide sec events", '4', 0, 0)                                \
    _(KIND_MARK, "timeline", "5", "show/hide invocation marks", '5', 0, 0)                         \
    _(KIND_LOG, "timeline", "6", "show/hide log lines", '6', 0, 0)                                 \
    _(FOLD, "timeline", "z", "process pane: fold/unfold the process's children", 'z', 0, 0)        \
    _(FOLD_ALL, "detail", "Z", "fold/unfold every JSON object (Enter: the one selected)", 'Z', 0,  \
      0)                                                                                           \
    _(REFRESH, "all", "^L", "redraw the screen", 12, 0, 0)

enum rt_view_action {
    RT_VIEW_NONE = 0,
#define _(id, where, keys, doc, k1, k2, k3) RT_VIEW_##id,
    RT_VIEW_KEYS(_)
#undef _
        RT_VIEW__COUNT
};

struct rt_view_key {
    enum rt_view_action action;
    const char *where, *keys, *doc;
    int codes[3];
};

/* The table, in order; n set to its length. */
const struct rt_view_key *rt_view_keys(size_t *n);
/* The action bound to key code ch (RT_VIEW_NONE when none). */
enum rt_view_action rt_view_action_of(int ch);

#endif
