/* Escaping of captured strings for terminals and text formats. Captured data is hostile:
 * control characters (C0, DEL, C1), invalid UTF-8, backslashes and Unicode direction overrides
 * are written as C-style escapes (\n, \x1b, \\, \u202e) so nothing raw reaches a terminal.
 * Valid printable UTF-8 passes through unchanged. */
#include "formats/escape.h"

#include <stdint.h>
#include <string.h>

struct sink {
    FILE *f;
    char *buf;
    size_t cap;
    size_t n; /* bytes the full output needs so far */
};

static void put(struct sink *s, const char *p, size_t len)
{
    if (s->f) {
        fwrite(p, 1, len, s->f);
    } else if (s->cap) {
        if (s->n < s->cap - 1) {
            size_t room = s->cap - 1 - s->n;
            memcpy(s->buf + s->n, p, len < room ? len : room);
        }
    }
    s->n += len;
}

size_t rt_utf8_decode(const unsigned char *s, size_t left, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        *cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        *cp = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        *cp = c & 0x07;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned b = s[i];
        if (b < lo || b > hi)
            return 0;
        lo = 0x80;
        hi = 0xbf;
        *cp = (*cp << 6) | (b & 0x3f);
    }
    return n;
}

static int is_invisible_control(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) ||     /* C1 controls (CSI = U+009B) */
           (cp >= 0x200b && cp <= 0x200f) || /* zero-width, LRM/RLM */
           (cp >= 0x2028 && cp <= 0x202e) || /* line/para separators, bidi embeddings */
           (cp >= 0x2066 && cp <= 0x2069) || /* bidi isolates */
           cp == 0xfeff;
}

static void escape(struct sink *out, const char *str, size_t len, char quote)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0; /* run: start of pending unescaped bytes */
    char esc[12];
    while (i < len) {
        unsigned c = s[i];
        size_t esc_len = 0, adv = 1;
        if (c >= 0x20 && c < 0x7f) {
            if (c == '\\' || (quote && c == (unsigned char)quote)) {
                esc[0] = '\\';
                esc[1] = (char)c;
                esc_len = 2;
            }
        } else if (c < 0x80) {
            esc[0] = '\\';
            esc_len = 2;
            switch (c) {
            case '\n':
                esc[1] = 'n';
                break;
            case '\t':
                esc[1] = 't';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            default:
                esc[1] = 'x';
                esc[2] = hex[c >> 4];
                esc[3] = hex[c & 15];
                esc_len = 4;
            }
        } else {
            uint32_t cp = 0;
            size_t n = rt_utf8_decode(s + i, len - i, &cp);
            if (n == 0) {
                esc[0] = '\\';
                esc[1] = 'x';
                esc[2] = hex[c >> 4];
                esc[3] = hex[c & 15];
                esc_len = 4;
            } else if (is_invisible_control(cp)) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = hex[(cp >> 12) & 15];
                esc[3] = hex[(cp >> 8) & 15];
                esc[4] = hex[(cp >> 4) & 15];
                esc[5] = hex[cp & 15];
                esc_len = 6;
                adv = n;
            } else {
                adv = n;
            }
        }
        if (esc_len) {
            if (i > run)
                put(out, str + run, i - run);
            put(out, esc, esc_len);
            run = i + adv;
        }
        i += adv;
    }
    if (len > run)
        put(out, str + run, len - run);
}

void rt_escape_fputs(FILE *f, const char *s, size_t len, char quote)
{
    struct sink out = {f, NULL, 0, 0};
    if (s)
        escape(&out, s, len, quote);
}

size_t rt_escape_buf(char *buf, size_t cap, const char *s, size_t len, char quote)
{
    struct sink out = {NULL, buf, cap, 0};
    if (s)
        escape(&out, s, len, quote);
    if (cap)
        buf[out.n < cap - 1 ? out.n : cap - 1] = '\0';
    return out.n;
}
