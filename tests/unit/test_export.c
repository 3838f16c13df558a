/* Unit tests of export/: the RFC 4180 CSV cell (quoting, doubled quotes, NUL bytes, the
 * formula guard), the schema tables (the Markdown, DuckDB and Athena renderings name every
 * column), and the rows an export writes: every column of the schema, in its order, with
 * the values of a written bundle. */
#include "export/export.h"
#include "formats/bundle.h"

#include <criterion/criterion.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *cell(const char *s, size_t len, bool guard)
{
    static struct rt_buf b = RT_BUF_INIT;
    rt_buf_reset(&b);
    cr_assert_eq(rt_export_csv_cell(&b, s, len, guard), RT_OK);
    rt_buf_append(&b, "", 0);
    return b.data ? b.data : "";
}

#define C(lit, guard) cell(lit, sizeof(lit) - 1, guard)

Test(export, csv_cells)
{
    cr_assert_str_eq(C("plain /var/task/app.py", false), "plain /var/task/app.py");
    cr_assert_str_eq(C("a,b", false), "\"a,b\"");
    cr_assert_str_eq(C("say \"hi\"", false), "\"say \"\"hi\"\"\"");
    cr_assert_str_eq(C("two\nlines", false), "\"two\nlines\"");
    cr_assert_str_eq(C("cr\rhere", false), "\"cr\rhere\"");
    cr_assert_str_eq(C("nul\0byte", false), "nul\xef\xbf\xbd"
                                            "byte");
    cr_assert_str_eq(C("", false), "");
    cr_assert_str_eq(C("=HYPERLINK(\"x\")", false), "\"=HYPERLINK(\"\"x\"\")\"");
}

Test(export, csv_formula_guard)
{
    cr_assert_str_eq(C("=1+1", true), "\"'=1+1\"");
    cr_assert_str_eq(C("+1", true), "\"'+1\"");
    cr_assert_str_eq(C("-c", true), "\"'-c\"");
    cr_assert_str_eq(C("@SUM(A1)", true), "\"'@SUM(A1)\"");
    cr_assert_str_eq(C("\tx", true), "\"'\tx\"");
    cr_assert_str_eq(C("a=1", true), "a=1");
    cr_assert_str_eq(C("-c", false), "-c");
}

static char *render(void (*fn)(enum rt_export_table, FILE *), enum rt_export_table t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fn(t, f);
    fclose(f);
    return text;
}

Test(export, schema_renderings_name_every_column)
{
    for (int t = 0; t < RT_EXPORT__TABLES; t++) {
        size_t n;
        const struct rt_export_column *c = rt_export_columns((enum rt_export_table)t, &n);
        cr_assert_gt(n, 10);
        char *md = render(rt_export_schema_markdown, (enum rt_export_table)t);
        char *duck = render(rt_export_schema_duckdb, (enum rt_export_table)t);
        char *athena = render(rt_export_schema_athena, (enum rt_export_table)t);
        for (size_t i = 0; i < n; i++) {
            char want[128];
            snprintf(want, sizeof want, "| `%s` | %s | ", c[i].name, rt_export_type_doc(c[i].type));
            cr_assert(strstr(md, want), "markdown lacks %s", want);
            snprintf(want, sizeof want, "'%s': '%s'", c[i].name, rt_export_type_duckdb(c[i].type));
            cr_assert(strstr(duck, want), "duckdb lacks %s", want);
            snprintf(want, sizeof want, "`%s` %s", c[i].name, rt_export_type_athena(c[i].type));
            cr_assert(strstr(athena, want), "athena lacks %s", want);
        }
        free(md);
        free(duck);
        free(athena);
    }
    cr_assert_eq(rt_export_table_from_name("events"), RT_EXPORT_EVENTS);
    cr_assert_eq(rt_export_table_from_name("nope"), -1);
}

/* A bundle of one outbound connection and one exec, written to a temporary file. */
static void write_bundle(const char *path)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {.function = "fn-a",
                        .function_version = "7",
                        .request_id = "req-1",
                        .sandbox_id = "sb",
                        .start_wall_ns = 1764000000000000000,
                        .duration_ns = 5000000,
                        .status = RT_STATUS_OK};
    rt_writer_set_meta(w, &m);
    char argv[] = "curl\0-s";
    struct rt_event e = {.ts_ns = 1000, .dur_ns = 10, .pid = 7, .tid = 7, .op = RT_OP_EXEC};
    e.str[0] = (struct rt_str){"/usr/bin/curl", 13};
    e.str[1] = (struct rt_str){argv, sizeof argv};
    rt_writer_add_event(w, &e);
    e = (struct rt_event){.ts_ns = 2000, .dur_ns = 3000, .pid = 7, .tid = 7, .op = RT_OP_OUTBOUND};
    e.str[0] = (struct rt_str){"[2001:db8::1]:443", 17};
    e.str[1] = (struct rt_str){"api.example", 11};
    e.num[0] = 100;
    e.num[1] = 200;
    rt_writer_add_event(w, &e);
    uint8_t *out;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 0, &out, &len, NULL), RT_OK);
    rt_writer_free(w);
    FILE *f = fopen(path, "wb");
    fwrite(out, 1, len, f);
    fclose(f);
    free(out);
}

static json_t *export_lines(const char *path, enum rt_export_table t, size_t *n_lines)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct rt_export_options o = {.format = RT_EXPORT_JSONL, .tables = 1u << t, .stream = f};
    struct rt_export *x;
    cr_assert_eq(rt_export_new(&o, &x), RT_OK);
    bool input_error;
    struct rt_errinfo ei;
    cr_assert_eq(rt_export_bundle(x, path, &input_error, &ei), RT_OK);
    cr_assert_eq(rt_export_finish(x, &ei), RT_OK);
    rt_export_free(x);
    fclose(f);
    json_t *rows = json_array();
    *n_lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t err;
        json_t *r = json_loads(line, 0, &err);
        cr_assert(r, "not JSON: %s", line);
        json_array_append_new(rows, r);
        (*n_lines)++;
    }
    free(text);
    return rows;
}

static void assert_columns(json_t *row, enum rt_export_table t)
{
    size_t n, i = 0;
    const struct rt_export_column *c = rt_export_columns(t, &n);
    const char *key;
    json_t *v;
    cr_assert_eq(json_object_size(row), n);
    json_object_foreach(row, key, v)
    {
        (void)v;
        cr_assert_str_eq(key, c[i].name, "column %zu", i);
        i++;
    }
}

Test(export, rows_follow_the_schema)
{
    char path[] = "/tmp/rt-test-export-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_bundle(path);
    size_t n;
    json_t *inv = export_lines(path, RT_EXPORT_INVOCATIONS, &n);
    cr_assert_eq(n, 1);
    json_t *r = json_array_get(inv, 0);
    assert_columns(r, RT_EXPORT_INVOCATIONS);
    cr_assert_str_eq(json_string_value(json_object_get(r, "function")), "fn-a");
    cr_assert_str_eq(json_string_value(json_object_get(r, "start")), "2025-11-24T16:00:00.000000Z");
    cr_assert_eq(json_integer_value(json_object_get(r, "events")), 2);
    cr_assert_eq(json_integer_value(json_object_get(r, "bytes_out")), 100);
    cr_assert_eq(json_integer_value(json_object_get(r, "bytes_in")), 200);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "destinations"), 0)),
                     "api.example:443");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "peer_ips"), 0)),
                     "2001:db8::1");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "programs"), 0)),
                     "/usr/bin/curl");
    cr_assert(json_is_true(json_object_get(r, "verified")));
    json_decref(inv);

    json_t *ev = export_lines(path, RT_EXPORT_EVENTS, &n);
    cr_assert_eq(n, 2);
    assert_columns(json_array_get(ev, 0), RT_EXPORT_EVENTS);
    json_t *exec = json_array_get(ev, 0), *conn = json_array_get(ev, 1);
    cr_assert_str_eq(json_string_value(json_object_get(exec, "program")), "/usr/bin/curl");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(exec, "argv"), 1)), "-s");
    cr_assert(json_is_null(json_object_get(exec, "peer")));
    cr_assert_str_eq(json_string_value(json_object_get(conn, "op")), "outbound");
    cr_assert_str_eq(json_string_value(json_object_get(conn, "peer_ip")), "2001:db8::1");
    cr_assert_eq(json_integer_value(json_object_get(conn, "peer_port")), 443);
    cr_assert_eq(json_integer_value(json_object_get(conn, "wall_ns")), 1764000000000002000);
    cr_assert_eq(json_integer_value(json_object_get(conn, "seq")), 1);
    json_decref(ev);
    unlink(path);
}
