/* The small shared tools every part of runtrail above the interposer uses instead of writing
 * its own copy: one growable byte buffer, one clock helper, one bounded whole-file reader, one
 * stable sort (for events collected from the ring, which arrive almost in time order and whose
 * ties must keep their arrival order), and the parsers of the two value types that settings
 * and options share: durations in milliseconds (`250`, `250ms`, `2s`, `1m`) and counts or sizes
 * (`100000`, `100k`, `1M`). Dependency-free (libc only), in formats/ so every library and
 * program may link it. Not for the preload library: it allocates. */
#ifndef RUNTRAIL_FORMATS_TOOLBOX_H
#define RUNTRAIL_FORMATS_TOOLBOX_H

#include "formats/error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- growable buffer ---- */

/* A byte buffer that grows as it is appended to. Zero-initialised ({0} or RT_BUF_INIT) is an
 * empty buffer. After any append, data is NUL-terminated (the NUL is not counted in len) unless
 * nothing was ever appended (data NULL). An append that cannot allocate leaves the buffer as it
 * was and sets failed (sticky), so a caller may append many times and check once. */
struct rt_buf {
    char *data;
    size_t len, cap;
    bool failed;
};
#define RT_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

/* Makes room for extra more bytes (plus the NUL). Returns RT_OK or RT_ERR_NOMEM. */
int rt_buf_reserve(struct rt_buf *b, size_t extra);
/* Appends n bytes. Returns RT_OK or RT_ERR_NOMEM. */
int rt_buf_append(struct rt_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. Returns RT_OK or RT_ERR_NOMEM. */
int rt_buf_puts(struct rt_buf *b, const char *s);
/* Appends printf output. Returns RT_OK or RT_ERR_NOMEM. */
int rt_buf_printf(struct rt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A freshly allocated string formatted from fmt and ap (ap is consumed); NULL when out of
 * memory or on a format error. */
char *rt_vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Writes the message fmt into err (cap bytes) followed by ": " and strerror of the errno at
 * the call; returns -1, so a caller can `return rt_fail_errno(err, cap, "open %s", p);`. */
int rt_fail_errno(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hands the bytes to the caller (free() them; never NULL unless out of memory: an empty
 * buffer gives ""), sets *len if len is not NULL, and leaves b empty. */
char *rt_buf_detach(struct rt_buf *b, size_t *len);
/* Empties b, keeping its memory (and clearing failed). */
void rt_buf_reset(struct rt_buf *b);
/* Frees the bytes; b is empty afterwards. */
void rt_buf_free(struct rt_buf *b);

/* ---- clock ---- */

/* CLOCK_MONOTONIC now, in ns (event times, durations, deadlines). */
int64_t rt_clock_mono_ns(void);
/* CLOCK_REALTIME now, in ns since the Unix epoch (META start/end, store keys). */
int64_t rt_clock_wall_ns(void);
/* CLOCK_PROCESS_CPUTIME_ID now: the CPU time every thread of this process used, in ns (META
 * recorder_cpu_ns). */
int64_t rt_clock_process_cpu_ns(void);

/* ---- whole-file reader ---- */

/* Reads a whole file (a regular file, or a pipe/terminal/"-"-style stream opened by path, such
 * as /dev/stdin) of at most max bytes (0 = no limit). *data is malloc'ed and NUL-terminated
 * (the NUL not counted in *len). Returns RT_OK; RT_ERR_IO with errno set (EFBIG when the file
 * is over max); RT_ERR_NOMEM. */
int rt_read_file(const char *path, uint8_t **data, size_t *len, size_t max);
/* The same from an open descriptor (not closed). */
int rt_read_fd(int fd, uint8_t **data, size_t *len, size_t max);

/* ---- stable sort ---- */

/* Sorts n elements of size bytes by cmp (qsort's contract) keeping the order of equal
 * elements (a merge sort; already sorted runs cost one pass). Uses a temporary array of n
 * elements; when that cannot be allocated it falls back to an in-place insertion sort, which is
 * just as stable and fast on nearly sorted input. Never fails. */
void rt_sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* ---- value types of settings and options ---- */

/* A duration in milliseconds: digits with an optional unit `ms` (the default), `s`, `m` (60 s)
 * or `h`; no sign, no spaces, no fraction. Returns RT_OK and sets *ms, or
 * RT_ERR_INVALID_ARG with the reason in ei->detail (*ms untouched). */
int rt_parse_duration_ms(const char *s, uint64_t *ms, struct rt_errinfo *ei);
/* A count: digits with an optional decimal suffix `k` (1000), `M` (10^6) or `G` (10^9),
 * either case. Returns RT_OK and sets *n, or RT_ERR_INVALID_ARG with the reason in ei. */
int rt_parse_count(const char *s, uint64_t *n, struct rt_errinfo *ei);
/* A size in bytes: digits with an optional binary suffix `k` (KiB), `m` (MiB) or `g` (GiB),
 * either case, optionally followed by `b`/`B` or `iB` (`64m`, `64MiB`, `1kb`). Returns RT_OK
 * and sets *bytes, or RT_ERR_INVALID_ARG with the reason in ei. */
int rt_parse_size(const char *s, uint64_t *bytes, struct rt_errinfo *ei);

#endif
