/* runtrail export: bundles (files, folders, request ids) or the catalog's invocations that
 * ls's filters select, exported as a Chrome/Perfetto trace (export/perfetto.c) or as the
 * invocations and events tables in JSON lines or CSV (export/export.c): to stdout, or
 * Hive-partitioned into a folder or to s3://BUCKET/PREFIX/export/ for DuckDB, Athena and
 * Trino (docs/export.md, docs/fleet.md). Shows its progress on stderr when that is a
 * terminal. */
#include "cli/cli.h"
#include "export/export.h"
#include "formats/escape.h"
#include "store/catalog.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help[] =
    "usage: runtrail export --format perfetto|jsonl|csv [--table invocations|events]...\n"
    "                       [--zstd] [--csv-formula-guard] [-o DIR|s3://BUCKET/PREFIX|FILE]\n"
    "                       [BUNDLE|DIR|REQUEST_ID... | ls filters]\n"
    "       runtrail export --schema invocations|events[:markdown|duckdb|athena]\n"
    "\n"
    "Export invocations for other tools. Which ones: bundle files, folders (searched\n"
    "recursively for *.rtb) and request ids; or, without them, the catalog's invocations\n"
    "that ls's filters select (all of them when none is given):\n"
    "  --function F --since T --until T --status S --path GLOB --dest D --exec PATH --aws A\n"
    "  --request-id ID --limit N --findings --cache DIR      (see runtrail ls --help)\n"
    "\n"
    "  --format perfetto  a Chrome/Perfetto trace-event JSON document (ui.perfetto.dev,\n"
    "                     chrome://tracing): a process per invocation with the invocation\n"
    "                     slice and its markers, a process per recorded process (named by\n"
    "                     its exe) with its calls as slices, connections as slices over\n"
    "                     their lifetime, flags as instant events; to stdout or -o FILE\n"
    "  --format jsonl     JSON lines (ASCII only), one row per line\n"
    "  --format csv       RFC 4180 CSV with a header line; lists and objects as JSON text\n"
    "  --table T          invocations (one row per bundle) or events (one per event);\n"
    "                     repeatable. To stdout: one table (default invocations); with\n"
    "                     -o: default both\n"
    "  -o DIR             Hive-partitioned part files:\n"
    "                       DIR/table=T/fn=FUNCTION/dt=YYYY-MM-DD/part-....jsonl[.zst]\n"
    "  -o s3://BUCKET/PREFIX   the same under PREFIX/export/ (beside the bundles' PREFIX/v1/)\n"
    "  -o FILE            --format perfetto: the trace file\n"
    "  --zstd             compress (one zstd frame per part, or the whole stream)\n"
    "  --csv-formula-guard  prefix a ' to CSV strings that start with = + - @ (for files\n"
    "                     opened in a spreadsheet; changes the data, so off by default)\n"
    "  --schema T[:HOW]   print table T's columns: a Markdown table (docs/export.md),\n"
    "                     DuckDB's read_json columns, or Athena's column list (docs/fleet.md)\n"
    "  -h, --help         this help\n"
    "\n"
    "The columns, their types and meanings: docs/export.md; querying the parts with DuckDB\n"
    "and Athena: docs/fleet.md. Progress is shown on stderr when it is a terminal.\n"
    "\n"
    "Exit status: 0 exported, 1 no invocation matched the filters, 2 usage error, an\n"
    "unreadable or damaged bundle (the others are exported, and what could be read of it),\n"
    "or an output that cannot be written.\n"
    "See runtrail-export(1).\n";

struct pick {
    char *path;
    char *function;
    int64_t start_ns;
};

struct picks {
    struct pick *v;
    size_t n, cap;
    size_t missing; /* catalog rows whose bundle file is not in the cache */
};

static int add_row(const struct rt_catalog_row *r, void *arg)
{
    struct picks *p = arg;
    if (r->function && (!r->path || !r->path[0] || access(r->path, R_OK) != 0)) {
        char esc[300];
        const char *what = r->request_id ? r->request_id : "?";
        rt_escape_buf(esc, sizeof esc, what, strlen(what), 0);
        rt_cli_error("export: %s: the bundle is not in the cache (runtrail pull it first)", esc);
        p->missing++;
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        struct pick *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    struct pick *k = &p->v[p->n];
    k->path = strdup(r->path);
    k->function = strdup(r->function ? r->function : ""); /* NULL: a bundle named by the user */
    k->start_ns = r->start_ns;
    if (!k->path || !k->function) {
        free(k->path);
        free(k->function);
        return -1;
    }
    p->n++;
    return 0;
}

/* For part files: by function, then time, so that a partition's parts stay few. */
static int cmp_pick(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    int c = strcmp(x->function, y->function);
    if (c)
        return c;
    return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void progress(const struct rt_export *x, size_t done, size_t total, bool last)
{
    const struct rt_export_stats *s = rt_export_get_stats(x);
    fprintf(stderr, "\rruntrail export: %zu/%zu bundles, %llu rows, %.1f MB%s", done, total,
            (unsigned long long)(s->rows[0] + s->rows[1]), (double)s->bytes / 1e6,
            last ? "\n" : "");
}

RT_COMMAND(export, "export invocations as a Perfetto trace, or JSONL/CSV tables for DuckDB/Athena")
{
    if (rt_cli_wants_help(argc, argv))
        return rt_cli_help(help);
    struct rt_cli_filter flt;
    rt_cli_filter_init(&flt);
    struct rt_export_options eo = {.format = (enum rt_export_format) - 1};
    const char *out = NULL;
    char **operands = calloc((size_t)argc, sizeof *operands);
    int n_operands = 0;
    if (!operands)
        return RT_EXIT_USAGE;
    int status = RT_EXIT_OK;
#define USAGE(...)                                                                                 \
    do {                                                                                           \
        status = rt_cli_usage_error("export", __VA_ARGS__);                                        \
        goto done;                                                                                 \
    } while (0)
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || !strcmp(a, "-")) {
            operands[n_operands++] = argv[i];
        } else if (!strcmp(a, "--zstd")) {
            eo.zstd = true;
        } else if (!strcmp(a, "--csv-formula-guard")) {
            eo.csv_formula_guard = true;
        } else if (!strcmp(a, "--format") || !strcmp(a, "--table") || !strcmp(a, "-o") ||
                   !strcmp(a, "--schema")) {
            if (!val)
                USAGE("%s needs a value", a);
            i++;
            if (!strcmp(a, "-o")) {
                out = val;
            } else if (!strcmp(a, "--format")) {
                if (!strcmp(val, "perfetto"))
                    eo.format = RT_EXPORT_PERFETTO;
                else if (!strcmp(val, "jsonl"))
                    eo.format = RT_EXPORT_JSONL;
                else if (!strcmp(val, "csv"))
                    eo.format = RT_EXPORT_CSV;
                else
                    USAGE("--format '%s': perfetto, jsonl or csv", val);
            } else if (!strcmp(a, "--schema")) {
                char table[32];
                const char *how = strchr(val, ':');
                snprintf(table, sizeof table, "%.*s", (int)(how ? how - val : 31), val);
                int t = rt_export_table_from_name(table);
                how = how ? how + 1 : "markdown";
                if (t < 0 ||
                    (strcmp(how, "markdown") && strcmp(how, "duckdb") && strcmp(how, "athena")))
                    USAGE("--schema '%s': invocations or events, then optionally :markdown, "
                          ":duckdb or :athena",
                          val);
                if (!strcmp(how, "duckdb"))
                    rt_export_schema_duckdb((enum rt_export_table)t, stdout);
                else if (!strcmp(how, "athena"))
                    rt_export_schema_athena((enum rt_export_table)t, stdout);
                else
                    rt_export_schema_markdown((enum rt_export_table)t, stdout);
                goto done;
            } else {
                int t = rt_export_table_from_name(val);
                if (t < 0)
                    USAGE("--table '%s': invocations or events", val);
                eo.tables |= 1u << t;
            }
        } else {
            int r = rt_cli_filter_arg("export", &flt, argc, argv, &i);
            if (r < 0) {
                status = RT_EXIT_USAGE;
                goto done;
            }
            if (r == 0)
                USAGE("unknown option '%s'", a);
        }
    }
    if ((int)eo.format < 0)
        USAGE("--format perfetto, jsonl or csv is needed");
    if (n_operands && flt.any)
        USAGE("bundles and ls filters exclude each other: name bundles, or filter the catalog");
    bool to_store = out && eo.format != RT_EXPORT_PERFETTO;
    if (eo.format == RT_EXPORT_PERFETTO) {
        if (eo.tables)
            USAGE("--table is for jsonl and csv; a Perfetto trace has every event");
        if (out && !strncmp(out, "s3://", 5))
            USAGE("-o: a Perfetto trace goes to a file or stdout, not to S3");
    } else if (!to_store) {
        if (!eo.tables)
            eo.tables = 1u << RT_EXPORT_INVOCATIONS;
        if (eo.tables != 1u && eo.tables != 2u)
            USAGE("one --table at a time to stdout (-o DIR takes both)");
    } else if (!eo.tables) {
        eo.tables = (1u << RT_EXPORT_INVOCATIONS) | (1u << RT_EXPORT_EVENTS);
    }

    /* Which bundles. */
    struct picks picks = {0};
    if (n_operands) {
        struct rt_cli_paths paths = {0};
        struct rt_cli_bundle_set set = {
            .operands = operands, .n_operands = n_operands, .cache = flt.cache};
        status = rt_cli_bundle_set("export", &set, &paths);
        for (size_t k = 0; status == RT_EXIT_OK && k < paths.n; k++) {
            struct rt_catalog_row r = {.path = paths.v[k]};
            if (add_row(&r, &picks) != 0)
                status = RT_EXIT_USAGE;
        }
        rt_cli_paths_free(&paths);
        if (status != RT_EXIT_OK)
            goto free_picks;
    } else {
        char dir[PATH_MAX];
        status = rt_cli_filter_query("export", &flt, add_row, &picks, dir, sizeof dir);
        if (status != RT_EXIT_OK)
            goto free_picks;
        if (picks.n == 0 && picks.missing == 0) {
            fprintf(stderr, "runtrail: no invocations match (catalog %s/catalog.sqlite)\n", dir);
            status = RT_EXIT_FINDINGS;
            goto free_picks;
        }
        if (to_store) {
            qsort(picks.v, picks.n, sizeof *picks.v, cmp_pick);
            eo.grouped = true;
        }
    }

    /* Where to. */
    FILE *file = NULL;
    struct rt_store *store = NULL;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    char esc_out[PATH_MAX];
    rt_escape_buf(esc_out, sizeof esc_out, out ? out : "stdout", strlen(out ? out : "stdout"), 0);
    if (to_store) {
        struct rt_store_options so = {.timeout_ms = 120000, .no_sync = true};
        int rc = rt_store_open(out, &so, &store, &ei);
        if (rc != RT_OK) {
            char buf[600];
            rt_cli_error("export: %s: %s", esc_out, rt_errinfo_format(rc, &ei, buf, sizeof buf));
            status = RT_EXIT_USAGE;
            goto free_picks;
        }
        eo.store = store;
        eo.prefix = !strncmp(out, "s3://", 5) ? "export" : "";
    } else if (out) {
        if (!(file = fopen(out, "wb"))) {
            rt_cli_error("export: %s: cannot write: %s", esc_out, strerror(errno));
            status = RT_EXIT_USAGE;
            goto free_picks;
        }
        eo.stream = file;
    } else {
        if (eo.zstd && isatty(STDOUT_FILENO)) {
            rt_cli_error("export: compressed output to a terminal: redirect it, or use -o");
            status = RT_EXIT_USAGE;
            goto free_picks;
        }
        eo.stream = stdout;
    }

    struct rt_export *x = NULL;
    int rc = rt_export_new(&eo, &x);
    if (rc != RT_OK) {
        rt_cli_error("export: %s", rt_strerror(rc));
        status = RT_EXIT_USAGE;
        goto close_out;
    }
    bool tty = isatty(STDERR_FILENO) == 1 && picks.n > 1;
    int64_t shown = mono_ms();
    status = picks.missing ? RT_EXIT_USAGE : RT_EXIT_OK;
    for (size_t k = 0; k < picks.n; k++) {
        bool input_error = true;
        rc = rt_export_bundle(x, picks.v[k].path, &input_error, &ei);
        if (rc != RT_OK) {
            char buf[600], esc[PATH_MAX];
            const char *where = input_error ? picks.v[k].path : out ? out : "stdout";
            rt_escape_buf(esc, sizeof esc, where, strlen(where), 0);
            if (tty)
                fputc('\n', stderr);
            rt_cli_error("export: %s: %s", esc, rt_errinfo_format(rc, &ei, buf, sizeof buf));
            status = RT_EXIT_USAGE;
            if (!input_error)
                goto free_export;
        }
        if (tty && mono_ms() - shown >= 200) {
            progress(x, k + 1, picks.n, false);
            shown = mono_ms();
        }
    }
    rc = rt_export_finish(x, &ei);
    if (tty)
        progress(x, picks.n, picks.n, true);
    if (rc == RT_OK && out) {
        const struct rt_export_stats *st = rt_export_get_stats(x);
        fprintf(stderr, "exported %llu invocations", (unsigned long long)st->bundles);
        if (to_store)
            fprintf(stderr, " (%llu invocation rows, %llu event rows) into %llu part files",
                    (unsigned long long)st->rows[RT_EXPORT_INVOCATIONS],
                    (unsigned long long)st->rows[RT_EXPORT_EVENTS], (unsigned long long)st->parts);
        fprintf(stderr, ", %.1f MB: %s%s\n", (double)st->bytes / 1e6, esc_out,
                to_store && eo.prefix[0] ? "/export/" : "");
    }
    if (rc != RT_OK) {
        char buf[600];
        rt_cli_error("export: %s: %s", esc_out, rt_errinfo_format(rc, &ei, buf, sizeof buf));
        status = RT_EXIT_USAGE;
    }
free_export:
    rt_export_free(x);
close_out:
    if (file && fclose(file) != 0 && status == RT_EXIT_OK) {
        rt_cli_error("export: %s: cannot write: %s", esc_out, strerror(errno));
        status = RT_EXIT_USAGE;
    }
    rt_store_close(store);
free_picks:
    for (size_t k = 0; k < picks.n; k++) {
        free(picks.v[k].path);
        free(picks.v[k].function);
    }
    free(picks.v);
done:
    free(operands);
    return status;
#undef USAGE
}
