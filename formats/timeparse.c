/* Times as people type them on the command line (--since, --until) and as AWS writes them
 * (credential Expiration): ISO 8601 dates and times with an optional zone, "now", or a
 * relative time before now. Plain C and libc only, so the extension, the store's credential
 * code and analysis/ parse times without linking the SQLite catalog. */
#include "formats/timeparse.h"
#include "formats/error.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int rt_parse_time(const char *text, int64_t now, int64_t *out)
{
    if (!text || !*text || !out)
        return RT_ERR_TIME_FORMAT;
    if (!strcmp(text, "now")) {
        *out = now;
        return RT_OK;
    }
    /* relative: digits + unit */
    const char *p = text;
    uint64_t n = 0;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 12) {
        n = n * 10 + (uint64_t)(*p - '0');
        p++;
        digits++;
    }
    if (digits && p[0] && !p[1] && digits < 12) {
        uint64_t unit = 0;
        switch (*p) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = 7 * 86400;
            break;
        default:
            return RT_ERR_TIME_FORMAT;
        }
        if (n * unit > 9000000000ull) /* beyond int64 nanoseconds */
            return RT_ERR_TIME_FORMAT;
        *out = now - (int64_t)(n * unit) * 1000000000;
        return RT_OK;
    }
    /* ISO 8601 */
    p = text;
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, s = 0;
    int64_t frac_ns = 0, offset_s = 0;
    if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) || *p++ != '-' ||
        parse_digits(&p, 2, &d))
        return RT_ERR_TIME_FORMAT;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi))
            return RT_ERR_TIME_FORMAT;
        if (*p == ':') {
            p++;
            if (parse_digits(&p, 2, &s))
                return RT_ERR_TIME_FORMAT;
            if (*p == '.' || *p == ',') {
                p++;
                int64_t scale = 100000000;
                if (*p < '0' || *p > '9')
                    return RT_ERR_TIME_FORMAT;
                while (*p >= '0' && *p <= '9') {
                    frac_ns += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (parse_digits(&p, 2, &oh))
                return RT_ERR_TIME_FORMAT;
            if (*p == ':')
                p++;
            if (*p && parse_digits(&p, 2, &om))
                return RT_ERR_TIME_FORMAT;
            offset_s = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return RT_ERR_TIME_FORMAT;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t t = timegm(&tm);
    int64_t secs = (int64_t)t - offset_s;
    if (secs < -9000000000LL || secs > 9000000000LL) /* years past 2255 do not fit in ns */
        return RT_ERR_TIME_FORMAT;
    *out = secs * 1000000000 + frac_ns;
    return RT_OK;
}
