/* The Telemetry API's delivery format, as Lambda POSTs it to an extension: a JSON array of
 * {"time": "2026-12-05T01:56:25.123Z", "type": "function", "record": ...}. Only "function"
 * records (the function's own output) are taken: a string record is a line, an object record
 * (the JSON log format) is kept as its compact JSON. The body comes from the platform, but it
 * carries what the function printed: anything may be in it, and nothing here trusts it. */
#include "recorder/extension/extension.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "2026-12-05T01:56:25.123Z" -> Unix ns; 0 when it does not parse. */
static int64_t parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest || tm.tm_year < 70 || tm.tm_year > 300) /* 1970..2200: int64 ns hold it */
        return 0;
    int64_t frac_ns = 0, scale = 100000000;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9' && scale; rest++, scale /= 10)
            frac_ns += (*rest - '0') * scale;
    return (int64_t)timegm(&tm) * 1000000000 + frac_ns;
}

size_t rt_ext_telemetry_records(const char *body, size_t len,
                                void (*line)(void *arg, int64_t wall_ns, const char *text,
                                             size_t len),
                                void *arg)
{
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    size_t i, n = 0;
    json_t *rec;
    json_array_foreach(root, i, rec)
    {
        const char *type = json_string_value(json_object_get(rec, "type"));
        json_t *record = json_object_get(rec, "record");
        if (!type || strcmp(type, "function") || !record)
            continue;
        int64_t wall = parse_time(json_string_value(json_object_get(rec, "time")));
        if (json_is_string(record)) {
            line(arg, wall, json_string_value(record), json_string_length(record));
            n++;
        } else {
            char *text = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
            if (text) {
                line(arg, wall, text, strlen(text));
                n++;
            }
            free(text);
        }
    }
    json_decref(root);
    return n;
}
