/* Unit tests of formats/escape.c: control characters, escape sequences, invalid UTF-8,
 * backslashes, quotes and invisible Unicode are escaped; printable UTF-8 passes unchanged;
 * rt_escape_buf truncates safely and reports the full length. */
#include "formats/escape.h"

#include <criterion/criterion.h>

#include <string.h>

static const char *esc(const char *s, size_t len, char quote)
{
    static char buf[256];
    size_t need = rt_escape_buf(buf, sizeof buf, s, len, quote);
    cr_assert_eq(need, strlen(buf));
    return buf;
}

#define E(lit, quote) esc(lit, sizeof(lit) - 1, quote)

Test(escape, control_and_sequences)
{
    cr_assert_str_eq(E("a\x1b[31mred\x1b[0m", 0), "a\\x1b[31mred\\x1b[0m");
    cr_assert_str_eq(E("\n\t\r\x07\x7f", 0), "\\n\\t\\r\\x07\\x7f");
    cr_assert_str_eq(E("a\0b", 0), "a\\x00b");
    cr_assert_str_eq(E("back\\slash", 0), "back\\\\slash");
    cr_assert_str_eq(E("say \"hi\"", '"'), "say \\\"hi\\\"");
    cr_assert_str_eq(E("say \"hi\"", 0), "say \"hi\"");
}

Test(escape, utf8)
{
    cr_assert_str_eq(E("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0),
                     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    cr_assert_str_eq(E("\xff\xfe", 0), "\\xff\\xfe");
    cr_assert_str_eq(E("\xc3(", 0), "\\xc3(");
    cr_assert_str_eq(E("\xc0\xaf", 0), "\\xc0\\xaf");          /* overlong */
    cr_assert_str_eq(E("\xed\xa0\x80", 0), "\\xed\\xa0\\x80"); /* surrogate */
    cr_assert_str_eq(E("\xe2\x82", 0), "\\xe2\\x82");          /* cut sequence */
    cr_assert_str_eq(E("\xc2\x9b"
                       "31m",
                       0),
                     "\\u009b31m"); /* C1 CSI */
    cr_assert_str_eq(E("a\xe2\x80\xae"
                       "b",
                       0),
                     "a\\u202eb"); /* bidi override */
}

Test(escape, truncation)
{
    char small[6];
    size_t need = rt_escape_buf(small, sizeof small, "\x1b\x1b", 2, 0);
    cr_assert_eq(need, 8);
    cr_assert_eq(strlen(small), 5);
    cr_assert_eq(rt_escape_buf(NULL, 0, "abc", 3, 0), 3);
}

Test(escape, fputs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rt_escape_fputs(f, "x\x1by", 3, 0);
    fclose(f);
    cr_assert_str_eq(text, "x\\x1by");
    free(text);
}
