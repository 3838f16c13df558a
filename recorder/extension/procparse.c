/* The parsers of the /proc texts the extension's sampling reads (procwatch.c): the socket
 * tables /proc/PID/net/{tcp,tcp6,udp,udp6}, fdinfo's open flags, stat's parent pid and
 * whether an environment block loads the interposer into our ring. Pure
 * functions over a buffer and its length, never reading past it (fuzzed:
 * tests/fuzz/fuzz_procparse.c). */
#include "recorder/extension/extension.h"
#include "recorder/preload/ring_produce.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* n hex digits at p (all inside [p, end)) into *v. */
static bool hex_n(const char *p, const char *end, size_t n, uint64_t *v)
{
    if ((size_t)(end - p) < n)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hexdigit(p[i]);
        if (d < 0)
            return false;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return true;
}

/* "0100007F:1F90" (v4) or 32 hex digits ":PORT" (v6): each 32-bit word is printed in host
 * order, little-endian here. */
static bool parse_addr(const char *p, const char *end, bool v6, char *out, size_t cap)
{
    uint8_t ip[16];
    size_t words = v6 ? 4 : 1;
    for (size_t w = 0; w < words; w++) {
        uint64_t v;
        if (!hex_n(p + 8 * w, end, 8, &v))
            return false;
        for (int b = 0; b < 4; b++)
            ip[4 * w + (size_t)b] = (uint8_t)(v >> (8 * b));
    }
    p += 8 * words;
    uint64_t port;
    if (p >= end || *p != ':' || !hex_n(p + 1, end, 4, &port))
        return false;
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, ip, text, sizeof text))
        return false;
    snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", text, (unsigned)port);
    return true;
}

/* The next space-separated field of [*p, end) within the line; false at the line's end. */
static bool field(const char **p, const char *end, const char **start, size_t *len)
{
    const char *q = *p;
    while (q < end && *q == ' ')
        q++;
    if (q >= end || *q == '\n')
        return false;
    *start = q;
    while (q < end && *q != ' ' && *q != '\n')
        q++;
    *len = (size_t)(q - *start);
    *p = q;
    return true;
}

bool rt_proc_net_find(const char *text, size_t len, bool v6, uint64_t inode,
                      struct rt_proc_sock *out)
{
    const char *end = text + len;
    const char *line = memchr(text, '\n', len); /* the first line is the header */
    while (line && line < end) {
        const char *p = line + 1, *f[10];
        size_t fl[10], n = 0;
        while (n < 10 && field(&p, end, &f[n], &fl[n]))
            n++;
        line = memchr(p, '\n', (size_t)(end - p));
        if (n < 10)
            continue;
        uint64_t ino = 0;
        bool digits = fl[9] > 0 && fl[9] <= 20;
        for (size_t i = 0; digits && i < fl[9]; i++) {
            if (f[9][i] < '0' || f[9][i] > '9')
                digits = false;
            else
                ino = ino * 10 + (uint64_t)(f[9][i] - '0');
        }
        uint64_t st;
        if (!digits || ino != inode || fl[3] != 2 || !hex_n(f[3], end, 2, &st))
            continue;
        struct rt_proc_sock s = {.inode = ino, .state = (int)st};
        if (!parse_addr(f[1], f[1] + fl[1], v6, s.local, sizeof s.local) ||
            !parse_addr(f[2], f[2] + fl[2], v6, s.remote, sizeof s.remote))
            return false;
        *out = s;
        return true;
    }
    return false;
}

long rt_proc_fdinfo_flags(const char *text, size_t len)
{
    const char *end = text + len;
    for (const char *p = text; p && p < end;) {
        if ((size_t)(end - p) > 6 && !memcmp(p, "flags:", 6)) {
            long v = 0;
            const char *q = p + 6;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            size_t nd = 0;
            for (; q < end && *q >= '0' && *q <= '7' && nd < 11; q++, nd++)
                v = v * 8 + (*q - '0');
            return nd ? v : -1;
        }
        p = memchr(p, '\n', (size_t)(end - p));
        if (p)
            p++;
    }
    return -1;
}

long rt_proc_stat_ppid(const char *text, size_t len)
{
    /* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses: the last ')' ends it */
    const char *close = NULL;
    for (size_t i = 0; i < len; i++)
        if (text[i] == ')')
            close = text + i;
    if (!close || (size_t)(text + len - close) < 5 || close[1] != ' ' || close[3] != ' ')
        return -1;
    long v = 0;
    size_t nd = 0;
    for (const char *q = close + 4; q < text + len && *q >= '0' && *q <= '9' && nd < 10; q++, nd++)
        v = v * 10 + (*q - '0');
    return nd ? v : -1;
}

/* The value of the first entry NAME= (name_len bytes with the '=') of the NUL-separated block,
 * and its length (up to the NUL or the end). */
static const char *env_value(const char *text, size_t len, const char *name, size_t name_len,
                             size_t *vlen)
{
    for (size_t i = 0; i < len;) {
        const char *nul = memchr(text + i, 0, len - i);
        size_t n = nul ? (size_t)(nul - (text + i)) : len - i;
        if (n >= name_len && memcmp(text + i, name, name_len) == 0) {
            *vlen = n - name_len;
            return text + i + name_len;
        }
        i += n + 1;
    }
    return NULL;
}

bool rt_proc_environ_interposed(const char *text, size_t len, const char *ring)
{
    size_t pl, rl;
    const char *preload = env_value(text, len, "LD_PRELOAD=", 11, &pl);
    const char *r = env_value(text, len, "RUNTRAIL_RING=", 14, &rl);
    size_t want = strlen(ring);
    return preload && r && rl == want && memcmp(r, ring, want) == 0 &&
           memmem(preload, pl, RT_PRELOAD_SO_NAME, strlen(RT_PRELOAD_SO_NAME)) != NULL;
}
