/* rt_strerror() and friends: the one place where error codes become text. */
#include "formats/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const err_text[] = {
    [RT_OK] = "success",
#define _(name, text) [RT_ERR_##name] = text,
#include "formats/errors_formats.def"
#include "formats/errors_recorder.def"
#include "formats/errors_store.def"
#include "formats/errors_replay.def"
#include "formats/errors_control.def"
#undef _
};

static const char *const err_name[] = {
    [RT_OK] = "OK",
#define _(name, text) [RT_ERR_##name] = #name,
#include "formats/errors_formats.def"
#include "formats/errors_recorder.def"
#include "formats/errors_store.def"
#include "formats/errors_replay.def"
#include "formats/errors_control.def"
#undef _
};

const char *rt_strerror(int err)
{
    if (err < 0 || err >= RT_ERR__COUNT)
        return "unknown error";
    return err_text[err];
}

const char *rt_errname(int err)
{
    if (err < 0 || err >= RT_ERR__COUNT)
        return "UNKNOWN";
    return err_name[err];
}

void rt_errinfo_clear(struct rt_errinfo *ei)
{
    if (!ei)
        return;
    ei->offset = -1;
    ei->block = -1;
    ei->detail[0] = '\0';
}

int rt_fail(struct rt_errinfo *ei, int err, int64_t offset, const char *fmt, ...)
{
    if (!ei)
        return err;
    ei->offset = offset;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ei->detail, sizeof ei->detail, fmt, ap);
        va_end(ap);
    } else {
        ei->detail[0] = '\0';
    }
    return err;
}

const char *rt_errinfo_format(int err, const struct rt_errinfo *ei, char *buf, size_t len)
{
    size_t n = 0;
    int w;
    if (!len)
        return buf;
    buf[0] = '\0';
    if (ei && ei->block >= 0) {
        w = snprintf(buf + n, len - n, "block %d ", ei->block);
        n += (w > 0 && (size_t)w < len - n) ? (size_t)w : 0;
    }
    if (ei && ei->offset >= 0) {
        w = snprintf(buf + n, len - n, "at offset %lld: ", (long long)ei->offset);
        n += (w > 0 && (size_t)w < len - n) ? (size_t)w : 0;
    } else if (n) {
        buf[n - 1] = ':';
        w = snprintf(buf + n, len - n, " ");
        n += (w > 0 && (size_t)w < len - n) ? (size_t)w : 0;
    }
    w = snprintf(buf + n, len - n, "%s", rt_strerror(err));
    n += (w > 0 && (size_t)w < len - n) ? (size_t)w : 0;
    if (ei && ei->detail[0])
        snprintf(buf + n, len - n, " (%s)", ei->detail);
    return buf;
}
