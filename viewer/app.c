/* The viewer's application: starts and restores the terminal (ncursesw), chooses colours
 * (256 colours, else the 16 basic ones, none under NO_COLOR or on a monochrome terminal),
 * keeps the screen stack, reads keys and the mouse (wheel, click) and turns them into the
 * actions of the one key table (viewer/keys.h), redraws on resize (KEY_RESIZE after SIGWINCH),
 * and draws text cell by cell so that nothing wider than a column, and no control character,
 * reaches the terminal. */
#include "formats/escape.h"
#include "viewer/keys.h"
#include "viewer/ui.h"
#include "viewer/viewer.h"
#include "viewer/vm_cell.h"

#include <ctype.h>
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rt_view_app {
    const struct rt_viewer_opts *opts;
    struct rt_view_screen *top;
    char message[512];
    bool message_error;
    bool utf8;
};

/* ---- the key table ---- */

static const struct rt_view_key keys[] = {
#define _(id, where, names, doc, k1, k2, k3) {RT_VIEW_##id, where, names, doc, {k1, k2, k3}},
    RT_VIEW_KEYS(_)
#undef _
};

const struct rt_view_key *rt_view_keys(size_t *n)
{
    *n = sizeof keys / sizeof keys[0];
    return keys;
}

enum rt_view_action rt_view_action_of(int ch)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        for (int k = 0; k < 3; k++)
            if (keys[i].codes[k] && keys[i].codes[k] == ch)
                return keys[i].action;
    return RT_VIEW_NONE;
}

/* ---- colours ---- */

static int color_attr[RT_VIEW_C__COUNT];

static void colors_init(void)
{
    static const struct {
        short fg256, bg256, fg16, bg16;
        int mono;
    } table[] = {
#define _(id, fg256, bg256, fg16, bg16, mono) {fg256, bg256, fg16, bg16, mono},
        RT_VIEW_COLORS(_)
#undef _
    };
    const char *no_color = getenv("NO_COLOR");
    bool use = has_colors() && !(no_color && no_color[0]);
    if (use && start_color() == OK) {
        use_default_colors();
        bool rich = COLORS >= 256;
        for (int i = 1; i < RT_VIEW_C__COUNT && i < COLOR_PAIRS; i++) {
            short fg = rich ? table[i].fg256 : table[i].fg16;
            short bg = rich ? table[i].bg256 : table[i].bg16;
            init_pair((short)i, fg, bg);
            color_attr[i] = (int)COLOR_PAIR(i);
            if (i == RT_VIEW_C_ERROR || i == RT_VIEW_C_FLAGGED)
                color_attr[i] |= A_BOLD;
        }
        return;
    }
    for (int i = 0; i < RT_VIEW_C__COUNT; i++)
        color_attr[i] = table[i].mono;
}

int rt_view_attr(enum rt_view_color c)
{
    return (unsigned)c < RT_VIEW_C__COUNT ? color_attr[c] : (int)A_NORMAL;
}

/* ---- drawing ---- */

/* Draws a fitted cell (rt_cell_fit: no control byte, at most width columns). */
static int put_cell(int y, int x, int width, const char *text, size_t len, size_t skip,
                    unsigned flags, int attr)
{
    if (width <= 0 || y < 0 || y >= LINES || x < 0 || x >= COLS)
        return 0;
    if (x + width > COLS)
        width = COLS - x;
    char small[RT_CELL_CAP(256)];
    size_t cap = RT_CELL_CAP(width);
    char *buf = cap <= sizeof small ? small : malloc(cap);
    if (!buf)
        return 0;
    size_t cols = 0;
    rt_cell_fit(buf, cap, text ? text : "", text ? len : 0, skip, (size_t)width, flags, &cols);
    attron(attr);
    mvaddstr(y, x, buf);
    attroff(attr);
    if (buf != small)
        free(buf);
    return (int)cols;
}

int rt_view_put(int y, int x, int width, const char *text, int attr, bool pad)
{
    return put_cell(y, x, width, text, text ? strlen(text) : 0, 0, pad ? RT_CELL_PAD : 0, attr);
}

int rt_view_put_data(int y, int x, int width, const char *s, size_t len, int attr, bool pad)
{
    return put_cell(y, x, width, s, len, 0, RT_CELL_RAW | (pad ? RT_CELL_PAD : 0u), attr);
}

int rt_view_put_scrolled(int y, int x, int width, const char *text, int skip, int attr)
{
    return put_cell(y, x, width, text, text ? strlen(text) : 0, skip > 0 ? (size_t)skip : 0,
                    RT_CELL_MORE, attr);
}

int rt_view_width(const char *text)
{
    return text ? (int)rt_cell_width(text, strlen(text), 0) : 0;
}

void rt_view_title(const char *left, const char *right)
{
    int attr = rt_view_attr(RT_VIEW_C_TITLE);
    rt_view_put(0, 0, COLS, left, attr, true);
    int w = rt_view_width(right);
    if (w < COLS - rt_view_width(left) - 1)
        rt_view_put(0, COLS - w, w, right, attr, false);
}

void rt_view_status(struct rt_view_app *app, const char *left, const char *right)
{
    int y = LINES - 1;
    int attr = rt_view_attr(RT_VIEW_C_STATUS);
    if (app->message[0]) {
        left = app->message;
        if (app->message_error)
            attr = rt_view_attr(RT_VIEW_C_WARN);
    }
    rt_view_put(y, 0, COLS, left, attr, true);
    int w = rt_view_width(right);
    if (right && w < COLS - rt_view_width(left) - 1)
        rt_view_put(y, COLS - w, w, right, attr, false);
}

bool rt_view_contains(const char *hay, const char *needle)
{
    return needle && needle[0] && strcasestr(hay, needle) != NULL;
}

void rt_view_message(struct rt_view_app *app, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char raw[512];
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* Messages may quote captured text: escape what is not plain. */
    rt_escape_buf(app->message, sizeof app->message, raw, strlen(raw), 0);
    app->message_error = error;
}

const struct rt_viewer_opts *rt_view_opts(const struct rt_view_app *app)
{
    return app->opts;
}

bool rt_view_utf8(const struct rt_view_app *app)
{
    return app->utf8;
}

void rt_view_push(struct rt_view_app *app, struct rt_view_screen *s)
{
    s->below = app->top;
    app->top = s;
}

static void pop(struct rt_view_app *app)
{
    struct rt_view_screen *s = app->top;
    if (!s)
        return;
    app->top = s->below;
    s->ops->free(s);
}

bool rt_view_prompt(struct rt_view_app *app, const char *label, const char *initial, char *buf,
                    size_t cap)
{
    if (cap == 0)
        return false;
    snprintf(buf, cap, "%s", initial ? initial : "");
    size_t len = strlen(buf);
    curs_set(1);
    bool done = false, ok = false;
    while (!done) {
        int y = LINES - 1;
        int lw = rt_view_put(y, 0, COLS, label, rt_view_attr(RT_VIEW_C_HEADING), false);
        /* Show the end of a long line. */
        const char *shown = buf;
        int room = COLS - lw - 1;
        while (room > 0 && rt_view_width(shown) > room)
            shown++;
        rt_view_put(y, lw, COLS - lw, shown, A_NORMAL, true);
        move(y, lw + rt_view_width(shown));
        refresh();
        int ch = getch();
        if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            ok = done = true;
        } else if (ch == RT_VIEW_ESC || ch == 7 /* ^G */) {
            done = true;
        } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
            while (len > 0 && (buf[len - 1] & 0xC0) == 0x80)
                len--;
            if (len > 0)
                len--;
            buf[len] = '\0';
        } else if (ch == 21 /* ^U */) {
            len = 0;
            buf[0] = '\0';
        } else if (ch == KEY_RESIZE) {
            clear();
            if (app->top)
                app->top->ops->draw(app->top, app);
        } else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f && len + 1 < cap) {
            buf[len++] = (char)ch;
            buf[len] = '\0';
        }
    }
    curs_set(0);
    return ok;
}

/* ---- the loop ---- */

static void draw(struct rt_view_app *app)
{
    erase();
    if (app->top)
        app->top->ops->draw(app->top, app);
    refresh();
}

static int dispatch_mouse(struct rt_view_app *app)
{
    MEVENT m;
    if (getmouse(&m) != OK || !app->top)
        return 0;
    struct rt_view_screen *s = app->top;
#ifdef BUTTON5_PRESSED
    if (m.bstate & BUTTON5_PRESSED) {
        int r = 0;
        for (int i = 0; i < 3; i++)
            r |= s->ops->key(s, app, RT_VIEW_DOWN, KEY_DOWN);
        return r;
    }
#endif
    if (m.bstate & BUTTON4_PRESSED) {
        int r = 0;
        for (int i = 0; i < 3; i++)
            r |= s->ops->key(s, app, RT_VIEW_UP, KEY_UP);
        return r;
    }
    /* With mouseinterval(0) a click arrives as a press (no wait for a release). */
    if ((m.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)) && s->ops->click)
        return s->ops->click(s, app, m.y, m.x);
    return 0;
}

static void run(struct rt_view_app *app)
{
    bool idle_work = true;
    /* RUNTRAIL_VIEW_FIRST_SCREEN=1: leave once the first screen is drawn (tests/bench/view.sh
     * times the first screen with it; no key could be timed as exactly). */
    const char *first_only = getenv("RUNTRAIL_VIEW_FIRST_SCREEN");
    while (app->top) {
        draw(app);
        if (first_only && first_only[0] == '1') {
            while (app->top)
                pop(app);
            break;
        }
        /* While a screen has work left (indexing), wait briefly for a key, else block. */
        timeout(idle_work ? 0 : -1);
        int ch = getch();
        if (ch == ERR) {
            struct rt_view_screen *s = app->top;
            idle_work = s->ops->idle && s->ops->idle(s, app);
            if (!idle_work)
                continue;
            /* Redraw at most every few steps of idle work: the step is bounded in time. */
            continue;
        }
        idle_work = true;
        app->message[0] = '\0';
        struct rt_view_screen *s = app->top;
        int r;
        if (ch == KEY_RESIZE) {
            clear();
            continue;
        }
        if (ch == KEY_MOUSE) {
            r = dispatch_mouse(app);
        } else {
            enum rt_view_action a = rt_view_action_of(ch);
            if (ch == RT_VIEW_ESC) {
                /* An Alt-key arrives as ESC + key: take the key and ignore it. */
                timeout(0);
                int next = getch();
                if (next != ERR) {
                    ungetch(next);
                    continue;
                }
            }
            r = s->ops->key(s, app, a, ch);
            if (!(r & RT_VIEW_HANDLED)) {
                if (a == RT_VIEW_HELP) {
                    struct rt_view_screen *h = rt_view_help_new(s->ops->name);
                    if (h)
                        rt_view_push(app, h);
                    r = RT_VIEW_HANDLED;
                } else if (a == RT_VIEW_BACK) {
                    r = RT_VIEW_POP;
                } else if (a == RT_VIEW_QUIT) {
                    r = RT_VIEW_EXIT;
                } else if (a == RT_VIEW_REFRESH) {
                    clear();
                }
            }
        }
        if (r & RT_VIEW_EXIT) {
            while (app->top)
                pop(app);
        } else if (r & RT_VIEW_POP) {
            pop(app);
        }
    }
}

int rt_viewer_run(const struct rt_viewer_opts *opts, char *err, size_t cap)
{
    struct rt_view_app app = {.opts = opts};
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    app.utf8 = cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, cap, "view needs a terminal (standard input and output)");
        return -1;
    }
    /* Esc is a key here, not the start of a sequence to wait a second for. */
    if (!getenv("ESCDELAY"))
        setenv("ESCDELAY", "25", 1);
    if (!newterm(NULL, stdout, stdin)) {
        snprintf(err, cap, "cannot start the terminal (TERM=%s)",
                 getenv("TERM") ? getenv("TERM") : "unset");
        return -1;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    colors_init();
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              ,
              NULL);
    mouseinterval(0);

    struct rt_view_screen *first;
    if (opts->bundle_path)
        first = rt_view_timeline_new(opts->bundle_path, err, cap);
    else
        first = rt_view_invocations_new(&app, err, cap);
    if (!first) {
        endwin();
        return -1;
    }
    rt_view_push(&app, first);
    run(&app);
    endwin();
    return 0;
}
