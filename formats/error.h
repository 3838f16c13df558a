/* runtrail error codes. Every library function reports failure as an RT_ERR_* code; the text
 * for each code lives beside it in one X-macro list per module (formats/errors_*.def), so the
 * enum, rt_strerror() and the docs cannot drift apart. Library code never prints or exits: it
 * returns a code and, where the caller passes one, fills a struct rt_errinfo with the place
 * (byte offset, block index, key, path) so cli/ can name it. */
#ifndef RUNTRAIL_FORMATS_ERROR_H
#define RUNTRAIL_FORMATS_ERROR_H

#include <stddef.h>
#include <stdint.h>

enum rt_err {
    RT_OK = 0,
#define _(name, text) RT_ERR_##name,
#include "formats/errors_formats.def"
#include "formats/errors_recorder.def"
#include "formats/errors_store.def"
#include "formats/errors_replay.def"
#include "formats/errors_control.def"
#undef _
    RT_ERR__COUNT
};

/* Where an error happened. Any field may be unset (offset -1, empty strings). */
struct rt_errinfo {
    int64_t offset;   /* byte offset in the decompressed bundle, or -1 */
    int block;        /* block index, or -1 */
    char detail[256]; /* free text: key, path, field, upstream message */
};

/* Static text for a code; never NULL (unknown codes give "unknown error"). */
const char *rt_strerror(int err);

/* Name of the code without prefix, e.g. "BUNDLE_TRUNCATED". */
const char *rt_errname(int err);

/* Resets *ei to "no location" (offset -1, block -1, empty detail). NULL is allowed. */
void rt_errinfo_clear(struct rt_errinfo *ei);

/* Sets ei (if not NULL) and returns err, for `return rt_fail(ei, ERR, off, fmt, ...)`. */
int rt_fail(struct rt_errinfo *ei, int err, int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats "message (at offset N, block B: detail)" into buf; returns buf. */
const char *rt_errinfo_format(int err, const struct rt_errinfo *ei, char *buf, size_t len);

#endif
