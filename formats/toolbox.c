/* The shared small tools of formats/toolbox.h: growable buffer, clock, bounded whole-file
 * reader, stable sort, and the duration/count/size parsers used by the extension's settings
 * and the CLI's options. */
#include "formats/toolbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- growable buffer ---- */

int rt_buf_reserve(struct rt_buf *b, size_t extra)
{
    /* No object may exceed PTRDIFF_MAX: refuse before asking the allocator, which (under
     * ASan) aborts on an impossible size instead of returning NULL. */
    if (b->len >= PTRDIFF_MAX || extra >= (size_t)PTRDIFF_MAX - b->len) {
        b->failed = true;
        return RT_ERR_NOMEM;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return RT_OK;
    size_t cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
    if (cap < need)
        cap = need < 64 ? 64 : need;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return RT_ERR_NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return RT_OK;
}

int rt_buf_append(struct rt_buf *b, const void *p, size_t n)
{
    if (rt_buf_reserve(b, n) != RT_OK)
        return RT_ERR_NOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RT_OK;
}

int rt_buf_puts(struct rt_buf *b, const char *s)
{
    return rt_buf_append(b, s, strlen(s));
}

int rt_buf_printf(struct rt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || rt_buf_reserve(b, (size_t)n) != RT_OK) {
        b->failed = true;
        return RT_ERR_NOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return RT_OK;
}

char *rt_vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int w = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (w < 0)
        return NULL;
    char *s = malloc((size_t)w + 1);
    if (s)
        vsnprintf(s, (size_t)w + 1, fmt, ap);
    return s;
}

int rt_fail_errno(char *err, size_t cap, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < cap)
        snprintf(err + n, cap - (size_t)n, ": %s", strerror(saved));
    return -1;
}

char *rt_buf_detach(struct rt_buf *b, size_t *len)
{
    char *p = b->data ? b->data : calloc(1, 1);
    if (len)
        *len = p ? b->len : 0;
    *b = (struct rt_buf)RT_BUF_INIT;
    return p;
}

void rt_buf_reset(struct rt_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

void rt_buf_free(struct rt_buf *b)
{
    free(b->data);
    *b = (struct rt_buf)RT_BUF_INIT;
}

/* ---- clock ---- */

static int64_t clock_ns(clockid_t clk)
{
    struct timespec ts = {0};
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t rt_clock_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

int64_t rt_clock_wall_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

int64_t rt_clock_process_cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* ---- whole-file reader ---- */

int rt_read_fd(int fd, uint8_t **data, size_t *len, size_t max)
{
    struct stat sb;
    struct rt_buf b = RT_BUF_INIT;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        if (max && (uint64_t)sb.st_size > (uint64_t)max) {
            errno = EFBIG;
            return RT_ERR_IO;
        }
        /* One byte more than the size, so the read that finds the end needs no growth. */
        if (rt_buf_reserve(&b, (size_t)sb.st_size + 1) != RT_OK)
            return RT_ERR_NOMEM;
    }
    for (;;) {
        /* A stream, or a file that grows while it is read: read up to max, then refuse. */
        if ((!b.data || b.cap - b.len < 2) &&
            rt_buf_reserve(&b, b.len > 4096 ? b.len : 4096) != RT_OK) {
            rt_buf_free(&b);
            return RT_ERR_NOMEM;
        }
        ssize_t r = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            rt_buf_free(&b);
            errno = e;
            return RT_ERR_IO;
        }
        if (r == 0)
            break;
        b.len += (size_t)r;
        if (max && b.len > max) {
            rt_buf_free(&b);
            errno = EFBIG;
            return RT_ERR_IO;
        }
    }
    b.data[b.len] = '\0';
    *data = (uint8_t *)rt_buf_detach(&b, len);
    return RT_OK;
}

int rt_read_file(const char *path, uint8_t **data, size_t *len, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return RT_ERR_IO;
    int rc = rt_read_fd(fd, data, len, max);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* ---- stable sort ---- */

static void insertion_sort(char *base, size_t n, size_t size,
                           int (*cmp)(const void *, const void *))
{
    char tmp[256];
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        while (j > 0 && cmp(base + (j - 1) * size, base + i * size) > 0)
            j--;
        if (j == i)
            continue;
        /* Rotate [j, i] right by one element, in chunks of the stack buffer. */
        for (size_t off = 0; off < size; off += sizeof tmp) {
            size_t chunk = size - off < sizeof tmp ? size - off : sizeof tmp;
            memcpy(tmp, base + i * size + off, chunk);
            for (size_t k = i; k > j; k--)
                memcpy(base + k * size + off, base + (k - 1) * size + off, chunk);
            memcpy(base + j * size + off, tmp, chunk);
        }
    }
}

/* Bottom-up merge sort between base and tmp; equal elements are taken from the left run. */
void rt_sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n < 2 || size == 0)
        return;
    char *a = base;
    size_t i = 1;
    while (i < n && cmp(a + (i - 1) * size, a + i * size) <= 0)
        i++;
    if (i == n)
        return; /* already in order: the common case for ring events */
    char *tmp = n <= SIZE_MAX / size ? malloc(n * size) : NULL;
    if (!tmp) {
        insertion_sort(a, n, size, cmp);
        return;
    }
    char *src = a, *dst = tmp;
    for (size_t width = 1; width<n; width = width> n / 2 ? n : width * 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = mid + width < n ? mid + width : n;
            size_t l = lo, r = mid, o = lo;
            while (l < mid && r < hi) {
                if (cmp(src + r * size, src + l * size) < 0)
                    memcpy(dst + o++ * size, src + r++ * size, size);
                else
                    memcpy(dst + o++ * size, src + l++ * size, size);
            }
            if (l < mid)
                memcpy(dst + o * size, src + l * size, (mid - l) * size), o += mid - l;
            if (r < hi)
                memcpy(dst + o * size, src + r * size, (hi - r) * size);
        }
        char *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * size);
    free(tmp);
}

/* ---- value types ---- */

/* Leading digits of s into *v; returns the rest, or NULL (with the reason in ei) when there are
 * no digits, a sign, or an overflow. */
static const char *parse_digits(const char *what, const char *s, uint64_t *v, struct rt_errinfo *ei)
{
    if (!s || !*s) {
        rt_fail(ei, RT_ERR_INVALID_ARG, -1, "empty %s", what);
        return NULL;
    }
    if (*s < '0' || *s > '9') {
        rt_fail(ei, RT_ERR_INVALID_ARG, -1, "'%.64s' is not a %s (it must start with a digit)", s,
                what);
        return NULL;
    }
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10) {
            rt_fail(ei, RT_ERR_INVALID_ARG, -1, "%s out of range", what);
            return NULL;
        }
        x = x * 10 + d;
    }
    *v = x;
    return s;
}

struct unit {
    const char *suffix;
    uint64_t mul;
};

/* A value type: its name in messages, its units (the first is "") and how to name them. */
struct value_type {
    const char *what;
    const struct unit *units;
    size_t n_units;
    bool fold_case;
    const char *hint; /* "(use ms, s, m or h)" */
};

/* Digits, then one of the type's units; the product must fit in 64 bits. */
static int parse_value(const struct value_type *t, const char *s, uint64_t *out,
                       struct rt_errinfo *ei)
{
    uint64_t v;
    const char *rest = parse_digits(t->what, s, &v, ei);
    if (!rest)
        return RT_ERR_INVALID_ARG;
    uint64_t mul = 0;
    for (size_t i = 0; i < t->n_units && !mul; i++)
        if (t->fold_case ? !strcasecmp(rest, t->units[i].suffix)
                         : !strcmp(rest, t->units[i].suffix))
            mul = t->units[i].mul;
    if (!mul)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "'%.64s': unknown %s unit '%.16s' %s", s,
                       t->what, rest, t->hint);
    if (v > UINT64_MAX / mul)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "%s '%.64s' out of range", t->what, s);
    *out = v * mul;
    return RT_OK;
}

#define N_OF(a) (sizeof(a) / sizeof *(a))

int rt_parse_duration_ms(const char *s, uint64_t *ms, struct rt_errinfo *ei)
{
    static const struct unit units[] = {
        {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"min", 60000}, {"h", 3600000},
    };
    static const struct value_type t = {"duration", units, N_OF(units), false,
                                        "(use ms, s, m or h)"};
    return parse_value(&t, s, ms, ei);
}

int rt_parse_count(const char *s, uint64_t *n, struct rt_errinfo *ei)
{
    static const struct unit units[] = {
        {"", 1},
        {"k", 1000},
        {"m", 1000000},
        {"g", 1000000000},
    };
    static const struct value_type t = {"count", units, N_OF(units), true, "(use k, M or G)"};
    return parse_value(&t, s, n, ei);
}

int rt_parse_size(const char *s, uint64_t *bytes, struct rt_errinfo *ei)
{
    static const struct unit units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1ull << 10},
        {"kb", 1ull << 10},
        {"kib", 1ull << 10},
        {"m", 1ull << 20},
        {"mb", 1ull << 20},
        {"mib", 1ull << 20},
        {"g", 1ull << 30},
        {"gb", 1ull << 30},
        {"gib", 1ull << 30},
    };
    static const struct value_type t = {"size", units, N_OF(units), true, "(use k, m or g)"};
    return parse_value(&t, s, bytes, ei);
}
