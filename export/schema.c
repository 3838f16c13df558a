/* The export tables' columns, their documentation (the Markdown tables of docs/export.md,
 * printed by `runtrail export --schema`) and the RFC 4180 CSV cell. */
#include "export/export.h"

#include <string.h>

static const struct rt_export_column invocation_columns[] = {
#define _(name, type, doc) {name, RT_EXPORT_T_##type, doc},
    RT_EXPORT_INVOCATION_COLUMNS(_)
#undef _
};

static const struct rt_export_column event_columns[] = {
#define _(name, type, doc) {name, RT_EXPORT_T_##type, doc},
    RT_EXPORT_EVENT_COLUMNS(_)
#undef _
};

static const char *const type_doc[] = {
#define _(id, doc, athena, duckdb) doc,
    RT_EXPORT_TYPES(_)
#undef _
};
static const char *const type_athena[] = {
#define _(id, doc, athena, duckdb) athena,
    RT_EXPORT_TYPES(_)
#undef _
};
static const char *const type_duckdb[] = {
#define _(id, doc, athena, duckdb) duckdb,
    RT_EXPORT_TYPES(_)
#undef _
};

const struct rt_export_column *rt_export_columns(enum rt_export_table t, size_t *n)
{
    if (t == RT_EXPORT_EVENTS) {
        *n = sizeof event_columns / sizeof event_columns[0];
        return event_columns;
    }
    *n = sizeof invocation_columns / sizeof invocation_columns[0];
    return invocation_columns;
}

const char *rt_export_table_name(enum rt_export_table t)
{
    return t == RT_EXPORT_EVENTS ? "events" : "invocations";
}

int rt_export_table_from_name(const char *name)
{
    if (!strcmp(name, "invocations"))
        return RT_EXPORT_INVOCATIONS;
    if (!strcmp(name, "events"))
        return RT_EXPORT_EVENTS;
    return -1;
}

const char *rt_export_type_doc(enum rt_export_type t)
{
    return type_doc[t];
}

const char *rt_export_type_athena(enum rt_export_type t)
{
    return type_athena[t];
}

const char *rt_export_type_duckdb(enum rt_export_type t)
{
    return type_duckdb[t];
}

void rt_export_schema_markdown(enum rt_export_table t, FILE *f)
{
    size_t n;
    const struct rt_export_column *c = rt_export_columns(t, &n);
    fprintf(f, "| column | type | meaning |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "| `%s` | %s | %s |\n", c[i].name, type_doc[c[i].type], c[i].doc);
}

void rt_export_schema_duckdb(enum rt_export_table t, FILE *f)
{
    size_t n;
    const struct rt_export_column *c = rt_export_columns(t, &n);
    fprintf(f, "{");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s'%s': '%s'", i ? (i % 4 ? ", " : ",\n ") : "", c[i].name,
                type_duckdb[c[i].type]);
    fprintf(f, "}\n");
}

void rt_export_schema_athena(enum rt_export_table t, FILE *f)
{
    size_t n;
    const struct rt_export_column *c = rt_export_columns(t, &n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  `%s` %s%s\n", c[i].name, type_athena[c[i].type], i + 1 < n ? "," : "");
}

int rt_export_csv_cell(struct rt_buf *b, const char *s, size_t len, bool formula_guard)
{
    bool guard = formula_guard && len > 0 && strchr("=+-@\t\r", s[0]);
    bool quote = guard;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote && memchr(s, '\0', len) == NULL)
        return rt_buf_append(b, s, len);
    if (quote)
        rt_buf_append(b, "\"", 1);
    if (guard)
        rt_buf_append(b, "'", 1);
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '"' && s[i] != '\0')
            continue;
        rt_buf_append(b, s + from, i - from);
        rt_buf_append(b, s[i] == '"' ? "\"\"" : "\xef\xbf\xbd", s[i] == '"' ? 2 : 3);
        from = i + 1;
    }
    rt_buf_append(b, s + from, len - from);
    if (quote)
        rt_buf_append(b, "\"", 1);
    return b->failed ? RT_ERR_NOMEM : RT_OK;
}
