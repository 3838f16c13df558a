/* Parsing of user-given and AWS-given times into Unix nanoseconds (formats/timeparse.c). */
#ifndef RUNTRAIL_FORMATS_TIMEPARSE_H
#define RUNTRAIL_FORMATS_TIMEPARSE_H

#include <stdint.h>

/* Parses a time for --since/--until: ISO 8601 ("2026-11-26", "2026-11-26T10:00",
 * "2026-11-26T10:00:00.5Z", "...+02:00"; no zone = UTC), "now", or a relative time before
 * now_ns ("90s", "15m", "2h", "7d", "1w"). RT_OK and *out (Unix ns) or RT_ERR_TIME_FORMAT. */
int rt_parse_time(const char *text, int64_t now_ns, int64_t *out);

#endif
