/* Text cells for the terminal UI: captured strings escaped as `show` escapes them, then cut or
 * padded to a number of terminal columns. The text is walked as units: a printable character
 * with its combining marks (its width from wcwidth), or the escape of a byte or character that
 * must not reach a terminal (ASCII, one column per byte). No unit ever holds a control byte. */
#include "viewer/vm_cell.h"

#include "formats/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* One unit of display text. */
struct unit {
    const char *p; /* bytes to emit */
    size_t len;    /* their length */
    size_t width;  /* columns */
    bool ascii;    /* an escape: may be cut between bytes */
    char esc[8];   /* storage for an escape */
};

/* The columns of a printable code point: wcwidth, with what it cannot tell (a non-UTF-8
 * locale, unassigned points) counted as one column. */
static size_t cp_width(uint32_t cp)
{
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : (size_t)w;
}

/* The unit at s[i..len) of display text (escapes kept as they are, everything that must not
 * reach a terminal escaped as formats/escape.c does). Returns the bytes consumed. */
static size_t next_unit(const char *text, size_t len, size_t i, struct unit *u)
{
    const unsigned char *s = (const unsigned char *)text + i;
    unsigned c = s[0];
    if (c >= 0x20 && c < 0x7f) {
        u->p = text + i;
        u->len = 1;
        u->width = 1;
        u->ascii = true;
        return 1;
    }
    uint32_t cp = 0;
    size_t n = c < 0x80 ? 1 : rt_utf8_decode(s, len - i, &cp);
    size_t adv = n ? n : 1;
    /* the escape of exactly this character (or byte), as `show` writes it */
    char probe[8];
    size_t elen = rt_escape_buf(probe, sizeof probe, text + i, adv, 0);
    bool escaped = elen != adv || memcmp(probe, text + i, adv) != 0;
    if (escaped) {
        memcpy(u->esc, probe, elen < sizeof u->esc ? elen : sizeof u->esc - 1);
        u->p = u->esc;
        u->len = elen < sizeof u->esc ? elen : sizeof u->esc - 1;
        u->width = u->len;
        u->ascii = true;
        return adv;
    }
    u->p = text + i;
    u->len = adv;
    u->width = cp_width(cp);
    u->ascii = false;
    return adv;
}

struct out {
    char *buf;
    size_t cap, n;
    bool full;
};

static void emit(struct out *o, const char *p, size_t len)
{
    if (o->full)
        return;
    if (o->cap == 0 || o->n + len > o->cap - 1) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->n, p, len);
    o->n += len;
}

/* Walks display text, writing the columns [skip, skip+width) into o (o may be NULL to only
 * count); returns the columns of the whole text. */
static size_t walk(const char *text, size_t len, size_t skip, size_t width, struct out *o,
                   size_t *shown)
{
    size_t col = 0, i = 0, marks = 0;
    bool base_emitted = false, any_base = false;
    *shown = 0;
    while (i < len) {
        struct unit u;
        i += next_unit(text, len, i, &u);
        if (u.width == 0 && !u.ascii) {
            /* a combining mark (or another zero-width character): goes with its base */
            if (!any_base) {
                /* nothing to combine with: a column of its own, on a space */
                u.width = 1;
                if (o && col >= skip && col + 1 <= skip + width) {
                    emit(o, " ", 1);
                    emit(o, u.p, u.len);
                    (*shown)++;
                }
                col++;
                any_base = true;
                base_emitted = o && col - 1 >= skip && col <= skip + width;
                marks = 0;
                continue;
            }
            if (o && base_emitted && marks < RT_CELL_MAX_MARKS)
                emit(o, u.p, u.len);
            marks++;
            continue;
        }
        any_base = true;
        marks = 0;
        base_emitted = false;
        size_t start = col, end = col + u.width;
        col = end;
        if (!o || end <= skip || start >= skip + width)
            continue;
        if (start >= skip && end <= skip + width) {
            emit(o, u.p, u.len);
            *shown += u.width;
            base_emitted = true;
            continue;
        }
        /* cut by the edge: an escape keeps its visible bytes, a wide character becomes
         * spaces */
        size_t from = start < skip ? skip - start : 0;
        size_t to = end > skip + width ? skip + width - start : u.width;
        for (size_t k = from; k < to; k++) {
            emit(o, u.ascii ? u.p + k : " ", 1);
            (*shown)++;
        }
    }
    return col;
}

size_t rt_cell_width(const char *text, size_t len, unsigned flags)
{
    if (!text)
        return 0;
    size_t shown;
    if (flags & RT_CELL_RAW) {
        size_t need = rt_escape_buf(NULL, 0, text, len, 0);
        char *esc = malloc(need + 1);
        if (!esc)
            return 0;
        rt_escape_buf(esc, need + 1, text, len, 0);
        size_t w = walk(esc, need, 0, 0, NULL, &shown);
        free(esc);
        return w;
    }
    return walk(text, len, 0, 0, NULL, &shown);
}

size_t rt_cell_fit(char *buf, size_t cap, const char *text, size_t len, size_t skip, size_t width,
                   unsigned flags, size_t *cols)
{
    char *esc = NULL;
    if (!text)
        len = 0;
    if ((flags & RT_CELL_RAW) && len) {
        size_t need = rt_escape_buf(NULL, 0, text, len, 0);
        esc = malloc(need + 1);
        if (esc) {
            rt_escape_buf(esc, need + 1, text, len, 0);
            text = esc;
            len = need;
        } else {
            len = 0;
        }
    }
    struct out o = {buf, cap, 0, false};
    size_t shown = 0, total = walk(text ? text : "", len, 0, 0, NULL, &shown);
    bool more = (flags & RT_CELL_MORE) && width > 0 && total > skip + width;
    size_t room = more ? width - 1 : width;
    struct out *op = cap ? &o : NULL;
    if (op && len)
        walk(text, len, skip, room, op, &shown);
    else
        shown = 0;
    if (op && more) {
        while (shown < room) { /* a wide character cut at the edge left a hole */
            emit(op, " ", 1);
            shown++;
        }
        emit(op, ">", 1);
        shown++;
    }
    if (op && (flags & RT_CELL_PAD) && shown < width) {
        size_t pad = width - shown;
        if (flags & RT_CELL_RIGHT) {
            size_t need = o.n + pad;
            if (cap && need <= cap - 1) {
                memmove(buf + pad, buf, o.n);
                memset(buf, ' ', pad);
                o.n = need;
                shown = width;
            }
        } else {
            for (; shown < width && !o.full; shown++)
                emit(op, " ", 1);
        }
    }
    if (cap)
        buf[o.n] = '\0';
    if (cols)
        *cols = cap ? shown : 0;
    free(esc);
    return o.n;
}
