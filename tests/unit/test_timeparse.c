/* Unit tests for formats/timeparse.c: the ISO 8601 and relative times of --since/--until and
 * AWS credential expirations, against hand-computed Unix nanoseconds, and the inputs it must
 * refuse. */
#include "formats/error.h"
#include "formats/timeparse.h"

#include <criterion/criterion.h>
#include <stdint.h>

static const int64_t T0 = 1795689711000000000LL; /* 2026-11-26T10:41:51Z */
#define HOUR 3600000000000LL

Test(timeparse, iso_relative_and_bad)
{
    int64_t t, now = T0;
    cr_assert_eq(rt_parse_time("2026-11-26T10:41:51Z", now, &t), RT_OK);
    cr_assert_eq(t, T0);
    cr_assert_eq(rt_parse_time("2026-11-26T12:41:51+02:00", now, &t), RT_OK);
    cr_assert_eq(t, T0);
    cr_assert_eq(rt_parse_time("2026-11-26 10:41:51.25", now, &t), RT_OK);
    cr_assert_eq(t, T0 + 250000000);
    cr_assert_eq(rt_parse_time("2026-11-26", now, &t), RT_OK);
    cr_assert_eq(t, T0 - (10 * 3600 + 41 * 60 + 51) * 1000000000LL);
    cr_assert_eq(rt_parse_time("2h", now, &t), RT_OK);
    cr_assert_eq(t, T0 - 2 * HOUR);
    cr_assert_eq(rt_parse_time("7d", now, &t), RT_OK);
    cr_assert_eq(t, T0 - 7 * 24 * HOUR);
    cr_assert_eq(rt_parse_time("30m", now, &t), RT_OK);
    cr_assert_eq(t, T0 - HOUR / 2);
    cr_assert_eq(rt_parse_time("now", now, &t), RT_OK);
    cr_assert_eq(t, T0);
    const char *bad[] = {
        "",  "2h30", "yesterday",    "2026-13-01", "2026-11-26T25:00", "2026-11-26T10",
        "h", "-2h",  "2026-11-26Tx", "7691-01-01", "99999999999w"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(rt_parse_time(bad[i], now, &t), RT_ERR_TIME_FORMAT, "%s", bad[i]);
}
