/* JSON lines output shared by the subcommands' --json modes: one compact, ASCII-only object
 * per line, and strings from captured data (which need not be UTF-8) given escaped. */
#include "cli/cli.h"
#include "formats/escape.h"

#include <stdlib.h>
#include <string.h>

json_t *rt_cli_json_str(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char esc[4096]; /* invalid UTF-8: the escaped form, like the text output */
    rt_escape_buf(esc, sizeof esc, s, strlen(s), 0);
    return json_string(esc);
}

void rt_cli_json_line(json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    if (line)
        puts(line);
    free(line);
    json_decref(obj);
}
