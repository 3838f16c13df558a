/* runtrail diff: how invocation B differs from invocation A (analysis/diff.h): META, code,
 * environment, payload structure, behaviour counted per category, and per process an aligned
 * timeline printed like diff -u; or one JSON document. Exit status as diff(1): 0 equivalent,
 * 1 different, 2 trouble. Every captured string is escaped before it reaches the terminal. */
#include "analysis/analysis.h"
#include "analysis/diff.h"
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "formats/render.h"

#include <jansson.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help_head[] =
    "usage: runtrail diff A B [OPTIONS]\n"
    "\n"
    "Compare two invocations: A and B are bundle files ('-' for standard input) or request\n"
    "ids looked up in the catalog. Prints what differs in the metadata (runtime, handler,\n"
    "memory, version, status), the code digests, the environment (variables added, removed,\n"
    "or whose keyed hash changed: names only), the payloads' JSON structure, the behaviour\n"
    "(processes, programs, destinations, files by access, flags, each with its counts:\n"
    "'count 1 -> 300'), then per process the aligned timeline like diff -u:\n"
    "    @@ -3,4 +3,5 @@ process /var/lang/bin/node>/bin/sh\n"
    "     +1.204ms   pid 9  openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY) = 3\n"
    "    ++1.388ms   pid 9  openat(AT_FDCWD, \"/proc/self/environ\", O_RDONLY) = 4\n"
    "Events are compared by their behaviour keys (pids, fds, times, ports and random names\n"
    "taken out; docs/analysis.md). Captured strings are escaped. Bundles of different\n"
    "functions are compared with a warning.\n"
    "\n"
    "usage: runtrail diff A --baseline FILE | --function F [--json]\n"
    "\n"
    "Compare one invocation with a baseline (runtrail baseline learn), or with one learned\n"
    "on the spot from the catalog's other invocations of F without security flags: one\n"
    "'+' line per deviation (new program, destination, file, env, code, payload key,\n"
    "range; as runtrail check --baseline reports them) with the events that show it; '!'\n"
    "lines are the built-in flag rules, for context.\n"
    "\n";

enum { OPT_JSON = 1, OPT_CONTEXT, OPT_KIND, OPT_CACHE, OPT_BASELINE, OPT_FUNCTION };
static const struct rt_cli_opt options[] = {
    {OPT_JSON, "json", 0, NULL, "one JSON document (ASCII only; schema in docs/analysis.md)"},
    {OPT_CONTEXT, "context", 'U', "N", "timeline lines of context around changes (default 3)"},
    {OPT_KIND, "kind", 0, "K[,K...]",
     "compare only events of these kinds: proc, file, net, sec, mark"},
    {OPT_CACHE, "cache", 0, "DIR",
     "where the catalog is, for request ids (default $RUNTRAIL_CACHE,\n"
     "else ${XDG_CACHE_HOME:-~/.cache}/runtrail)"},
    {OPT_BASELINE, "baseline", 0, "FILE", "compare A with this baseline file"},
    {OPT_FUNCTION, "function", 0, "F",
     "compare A with a baseline learned from the catalog's other\ninvocations of F"},
    {0},
};

static const char help_tail[] =
    "\n"
    "Exit status: 0 the invocations are equivalent (payload values may differ), 1 they\n"
    "differ, 2 usage error, unreadable or corrupt bundle, unknown request id.\n"
    "See runtrail-diff(1) and docs/analysis.md.\n";

static const struct rt_cli_spec diff_spec = {"diff", help_head, options, help_tail, false};

struct diff_args {
    bool json;
    unsigned context;
    struct rt_filter filter;
    const char *cache;
    const char *baseline, *function;
};

/* ---- input ---- */

/* What is printed about a side after its bundle is freed. */
struct side_info {
    char *path;
    char *function, *request_id;
};

static void side_info_free(struct side_info *s)
{
    free(s->path);
    free(s->function);
    free(s->request_id);
}

/* The one bundle of arg (a file or a request id). Returns 0, or RT_EXIT_USAGE after a message
 * naming it. */
static int open_arg(const char *arg, const char *cache, char **path, struct rt_bundle **b)
{
    struct rt_cli_paths paths = {0};
    char name[1024];
    int rc = rt_cli_bundle_arg(arg, cache, &paths);
    if (rc)
        return rc;
    if (paths.n > 1) {
        rt_escape_buf(name, sizeof name, arg, strlen(arg), 0);
        rt_cli_error("%s: %zu bundles have this request id (retries?); give one as a file "
                     "(runtrail ls shows their paths)",
                     name, paths.n);
        rt_cli_paths_free(&paths);
        return RT_EXIT_USAGE;
    }
    struct rt_errinfo ei;
    const char *p = paths.v[0];
    rc = rt_bundle_open_file(strcmp(p, "-") ? p : "/dev/stdin", b, &ei);
    if (rc) {
        char msg[512];
        rt_escape_buf(name, sizeof name, p, strlen(p), 0);
        rt_cli_error("%s: %s", name, rt_errinfo_format(rc, &ei, msg, sizeof msg));
        rt_cli_paths_free(&paths);
        return RT_EXIT_USAGE;
    }
    *path = paths.v[0];
    paths.v[0] = NULL;
    paths.n = 0;
    rt_cli_paths_free(&paths);
    return 0;
}

/* ---- text ---- */

static void put_escaped(const char *s)
{
    rt_escape_fputs(stdout, s, strlen(s), 0);
}

static void put_quoted(const char *s)
{
    if (!s) {
        fputs("(none)", stdout);
        return;
    }
    putchar('"');
    rt_escape_fputs(stdout, s, strlen(s), '"');
    putchar('"');
}

static void side_line(const char *mark, const struct side_info *s)
{
    fputs(mark, stdout);
    put_escaped(s->path);
    if (s->function) {
        fputs("  function ", stdout);
        put_escaped(s->function);
    }
    if (s->request_id) {
        fputs("  request ", stdout);
        put_escaped(s->request_id);
    }
    putchar('\n');
}

static const char *env_change_name(enum rt_diff_env_change c)
{
    return c == RT_DIFF_ENV_ADDED ? "added" : c == RT_DIFF_ENV_REMOVED ? "removed" : "changed";
}

static void print_line(const struct rt_diff_line *ln)
{
    putchar(ln->op);
    fputs(ln->row ? ln->row : "(row not read)", stdout);
    putchar('\n');
}

static void print_text(const struct rt_diff *d, const struct side_info *a,
                       const struct side_info *b)
{
    side_line("--- ", a);
    side_line("+++ ", b);
    if (d->n_fields) {
        puts("meta");
        for (size_t i = 0; i < d->n_fields; i++) {
            const struct rt_diff_field *f = &d->fields[i];
            printf("  %s %-14s ", f->section, f->name);
            put_quoted(f->a);
            fputs(" -> ", stdout);
            put_quoted(f->b);
            putchar('\n');
        }
    }
    if (d->n_env || !d->env_comparable) {
        puts("env");
        if (!d->env_comparable)
            printf("  %s\n", d->env_not_comparable_why);
        for (size_t i = 0; i < d->n_env; i++) {
            printf("  %-8s ", env_change_name(d->env[i].change));
            put_escaped(d->env[i].name);
            putchar('\n');
        }
    }
    for (int i = 0; i < 2; i++) {
        const struct rt_diff_payload *p = &d->payloads[i];
        if (p->in_a != p->in_b) {
            printf("payload %s\n  %s\n", p->which, p->in_a ? "only in A" : "only in B");
            continue;
        }
        if (p->json && p->deltas.n) {
            printf("payload %s\n", p->which);
            for (size_t k = 0; k < p->deltas.n; k++) {
                const struct rt_json_delta *x = &p->deltas.d[k];
                printf("  %-8s ", rt_json_change_name(x->change));
                put_escaped(x->path);
                if (x->change == RT_JSON_ADDED)
                    printf("  %s", rt_json_type_name(x->b_type));
                else if (x->change == RT_JSON_REMOVED)
                    printf("  %s", rt_json_type_name(x->a_type));
                else if (x->change == RT_JSON_TYPE_CHANGED)
                    printf("  %s -> %s", rt_json_type_name(x->a_type),
                           rt_json_type_name(x->b_type));
                else if (x->a_type == RT_JSON_REDACTED)
                    fputs("  redacted: keyed hash differs", stdout);
                else
                    printf("  %s value", rt_json_type_name(x->a_type));
                putchar('\n');
            }
        } else if (!p->json && p->sha_differs) {
            printf("payload %s\n  not JSON on both sides: sha256 differs\n", p->which);
        }
    }
    if (d->n_counts) {
        printf("behaviour  (%zu -> %zu events compared)\n", d->events_a, d->events_b);
        int cat = -1;
        for (size_t i = 0; i < d->n_counts; i++) {
            const struct rt_diff_count *c = &d->counts[i];
            if ((int)c->cat != cat) {
                cat = (int)c->cat;
                printf("  %s\n", rt_diff_category_name(c->cat));
            }
            printf("    %c ", !c->a ? '+' : !c->b ? '-' : '~');
            put_escaped(c->item); /* escaped already; escaping again keeps it one line */
            printf("  count %zu -> %zu\n", c->a, c->b);
        }
    }
    for (size_t i = 0; i < d->n_procs; i++) {
        const struct rt_diff_proc *p = &d->procs[i];
        if (!i)
            puts("timeline");
        if (p->bounded)
            printf("@@ alignment stopped after %d edits (events %zu -> %zu): the unaligned part "
                   "is shown as removed, then added @@\n",
                   RT_DIFF_MAX_EDIT_DISTANCE, p->n_a, p->n_b);
        for (size_t h = 0; h < p->n_hunks; h++) {
            const struct rt_diff_hunk *hk = &p->hunks[h];
            printf("@@ -%zu,%zu +%zu,%zu @@ process ", hk->a_start, hk->a_len, hk->b_start,
                   hk->b_len);
            put_escaped(p->position);
            putchar('\n');
            for (size_t l = hk->first_line; l < hk->first_line + hk->n_lines; l++)
                print_line(&p->lines[l]);
        }
    }
}

/* ---- JSON: one document, schema in docs/analysis.md ---- */

static json_t *json_side(const struct side_info *s, size_t events)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", rt_cli_json_str(s->path));
    json_object_set_new(o, "function", rt_cli_json_str(s->function));
    json_object_set_new(o, "request_id", rt_cli_json_str(s->request_id));
    json_object_set_new(o, "events", json_integer((json_int_t)events));
    return o;
}

static json_t *json_doc(const struct rt_diff *d, const struct side_info *a,
                        const struct side_info *b)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "a", json_side(a, d->events_a));
    json_object_set_new(doc, "b", json_side(b, d->events_b));
    json_object_set_new(doc, "equivalent", json_boolean(!d->differs));
    json_t *warnings = json_array();
    if (d->different_functions)
        json_array_append_new(warnings, json_string("different functions"));
    json_object_set_new(doc, "warnings", warnings);

    json_t *fields = json_array();
    for (size_t i = 0; i < d->n_fields; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "section", json_string(d->fields[i].section));
        json_object_set_new(o, "name", json_string(d->fields[i].name));
        json_object_set_new(o, "a", rt_cli_json_str(d->fields[i].a));
        json_object_set_new(o, "b", rt_cli_json_str(d->fields[i].b));
        json_array_append_new(fields, o);
    }
    json_object_set_new(doc, "fields", fields);

    json_t *env = json_object(), *changes = json_array();
    json_object_set_new(env, "comparable", json_boolean(d->env_comparable));
    for (size_t i = 0; i < d->n_env; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", rt_cli_json_str(d->env[i].name));
        json_object_set_new(o, "change", json_string(env_change_name(d->env[i].change)));
        json_array_append_new(changes, o);
    }
    json_object_set_new(env, "changes", changes);
    json_object_set_new(doc, "env", env);

    json_t *payloads = json_array();
    for (int i = 0; i < 2; i++) {
        const struct rt_diff_payload *p = &d->payloads[i];
        json_t *o = json_object(), *ch = json_array();
        json_object_set_new(o, "which", json_string(p->which));
        json_object_set_new(o, "in_a", json_boolean(p->in_a));
        json_object_set_new(o, "in_b", json_boolean(p->in_b));
        json_object_set_new(o, "json", json_boolean(p->json));
        json_object_set_new(o, "sha256_differs", json_boolean(p->sha_differs));
        for (size_t k = 0; k < p->deltas.n; k++) {
            const struct rt_json_delta *x = &p->deltas.d[k];
            json_t *c = json_object();
            json_object_set_new(c, "path", rt_cli_json_str(x->path));
            json_object_set_new(c, "change", json_string(rt_json_change_name(x->change)));
            json_object_set_new(c, "a_type",
                                x->change == RT_JSON_ADDED
                                    ? json_null()
                                    : json_string(rt_json_type_name(x->a_type)));
            json_object_set_new(c, "b_type",
                                x->change == RT_JSON_REMOVED
                                    ? json_null()
                                    : json_string(rt_json_type_name(x->b_type)));
            json_array_append_new(ch, c);
        }
        json_object_set_new(o, "changes", ch);
        json_array_append_new(payloads, o);
    }
    json_object_set_new(doc, "payloads", payloads);

    json_t *beh = json_array();
    for (size_t i = 0; i < d->n_counts; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "category", json_string(rt_diff_category_name(d->counts[i].cat)));
        json_object_set_new(o, "item", rt_cli_json_str(d->counts[i].item));
        json_object_set_new(o, "a", json_integer((json_int_t)d->counts[i].a));
        json_object_set_new(o, "b", json_integer((json_int_t)d->counts[i].b));
        json_array_append_new(beh, o);
    }
    json_object_set_new(doc, "behaviour", beh);

    json_t *tl = json_array();
    for (size_t i = 0; i < d->n_procs; i++) {
        const struct rt_diff_proc *p = &d->procs[i];
        json_t *o = json_object(), *hunks = json_array();
        json_object_set_new(o, "process", rt_cli_json_str(p->position));
        json_object_set_new(o, "events_a", json_integer((json_int_t)p->n_a));
        json_object_set_new(o, "events_b", json_integer((json_int_t)p->n_b));
        json_object_set_new(o, "bounded", json_boolean(p->bounded));
        for (size_t h = 0; h < p->n_hunks; h++) {
            const struct rt_diff_hunk *hk = &p->hunks[h];
            json_t *ho = json_object(), *lines = json_array();
            json_object_set_new(ho, "a_start", json_integer((json_int_t)hk->a_start));
            json_object_set_new(ho, "a_len", json_integer((json_int_t)hk->a_len));
            json_object_set_new(ho, "b_start", json_integer((json_int_t)hk->b_start));
            json_object_set_new(ho, "b_len", json_integer((json_int_t)hk->b_len));
            for (size_t l = hk->first_line; l < hk->first_line + hk->n_lines; l++) {
                const struct rt_diff_line *ln = &p->lines[l];
                json_t *lo = json_object();
                char op[2] = {ln->op, 0};
                json_object_set_new(lo, "op", json_string(op));
                json_object_set_new(
                    lo, "a_index",
                    ln->a_index == SIZE_MAX ? json_null() : json_integer((json_int_t)ln->a_index));
                json_object_set_new(
                    lo, "b_index",
                    ln->b_index == SIZE_MAX ? json_null() : json_integer((json_int_t)ln->b_index));
                json_object_set_new(lo, "key", rt_cli_json_str(ln->key));
                json_object_set_new(lo, "row", rt_cli_json_str(ln->row));
                json_array_append_new(lines, lo);
            }
            json_object_set_new(ho, "lines", lines);
            json_array_append_new(hunks, ho);
        }
        json_object_set_new(o, "hunks", hunks);
        json_array_append_new(tl, o);
    }
    json_object_set_new(doc, "timeline", tl);
    return doc;
}

/* ---- the modes ---- */

/* Reads side's bundle again (its path is resolved already, a file) for the rows of its lines:
 * with a cursor, which decodes only up to the last line's event and keeps no event array. */
static int fill_rows(struct rt_diff *d, int side, const struct side_info *s)
{
    struct rt_cursor *c = NULL;
    struct rt_errinfo ei;
    int rc = rt_cursor_open_file(s->path, &c, &ei);
    if (rc == RT_OK)
        rc = rt_diff_rows_cursor(d, side, c, &ei);
    rt_cursor_free(c);
    if (rc == RT_ERR_NOMEM) {
        rt_cli_error("diff: out of memory");
        return RT_EXIT_USAGE;
    }
    if (rc) {
        char msg[512], name[1024];
        rt_escape_buf(name, sizeof name, s->path, strlen(s->path), 0);
        rt_cli_error("%s: %s", name, rt_errinfo_format(rc, &ei, msg, sizeof msg));
        return RT_EXIT_USAGE;
    }
    return 0;
}

/* `runtrail diff A B`: two invocations. One decoded bundle at a time: A is read, reduced to
 * ids and freed, then B; A is read again only when the timeline shows rows of it. */
static int diff_two(const struct diff_args *args, const char *arg_a, const char *arg_b)
{
    struct side_info sides[2] = {{0}};
    const char *arg[2] = {arg_a, arg_b};
    struct rt_bundle *b = NULL, *stdin_a = NULL; /* A from '-' cannot be read twice: kept */
    struct rt_diff d;
    struct rt_diff_builder *bd = NULL;
    struct rt_diff_options opt = {.filter = &args->filter, .context = args->context};
    int status = 0;
    if (rt_diff_begin(&opt, &bd) != RT_OK)
        goto nomem;
    for (int s = 0; s < 2; s++) {
        if (b && !strcmp(sides[0].path, "-"))
            stdin_a = b;
        else
            rt_bundle_free(b);
        b = NULL;
        if ((status = open_arg(arg[s], args->cache, &sides[s].path, &b)))
            goto out;
        bool nomem = false;
        sides[s].function = b->meta.function ? strdup(b->meta.function) : NULL;
        sides[s].request_id = b->meta.request_id ? strdup(b->meta.request_id) : NULL;
        nomem |= (b->meta.function && !sides[s].function) ||
                 (b->meta.request_id && !sides[s].request_id);
        if (nomem || rt_diff_add(bd, s, b) != RT_OK)
            goto nomem;
    }
    int rc = rt_diff_finish(bd, &d);
    bd = NULL;
    if (rc != RT_OK)
        goto nomem;
    if (rt_diff_needs_rows(&d, 1) && rt_diff_rows(&d, 1, b) != RT_OK) {
        rt_diff_free(&d);
        goto nomem;
    }
    rt_bundle_free(b);
    b = NULL;
    if (stdin_a && rt_diff_rows(&d, 0, stdin_a) != RT_OK) {
        rt_diff_free(&d);
        goto nomem;
    }
    if (!stdin_a && rt_diff_needs_rows(&d, 0) && (status = fill_rows(&d, 0, &sides[0]))) {
        rt_diff_free(&d);
        goto out;
    }
    if (d.different_functions) {
        fflush(stdout);
        fputs("runtrail diff: warning: different functions: ", stderr);
        for (int s = 0; s < 2; s++) {
            const char *f = sides[s].function ? sides[s].function : "(none)";
            rt_escape_fputs(stderr, f, strlen(f), 0);
            fputs(s ? "\n" : " and ", stderr);
        }
    }
    if (args->json)
        rt_cli_json_line(json_doc(&d, &sides[0], &sides[1]));
    else
        print_text(&d, &sides[0], &sides[1]);
    status = d.differs ? RT_EXIT_FINDINGS : RT_EXIT_OK;
    rt_diff_free(&d);
    if (fflush(stdout) != 0)
        status = RT_EXIT_USAGE;
    goto out;
nomem:
    rt_cli_error("diff: out of memory");
    status = RT_EXIT_USAGE;
out:
    rt_diff_builder_free(bd);
    rt_bundle_free(b);
    rt_bundle_free(stdin_a);
    side_info_free(&sides[0]);
    side_info_free(&sides[1]);
    return status;
}

RT_COMMAND(diff, "compare two invocations: metadata, env, payload, behaviour, timeline")
{
    struct diff_args args = {.context = 3};
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &diff_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        const char *bad = NULL;
        switch (id) {
        case RT_CLI_OPTS_STOP:
            return p.status;
        case OPT_JSON:
            args.json = true;
            break;
        case OPT_CONTEXT: {
            char *end = NULL;
            unsigned long n = strtoul(p.value, &end, 10);
            if (end == p.value || *end || n > 1000000 || p.value[0] == '-')
                return rt_cli_opts_bad_value(&p, "a number of lines, not '%s'", p.value);
            args.context = (unsigned)n;
            break;
        }
        case OPT_KIND:
            if (rt_filter_add_kinds(&args.filter, (char *)p.value, &bad))
                return rt_cli_opts_bad_value(
                    &p, "unknown kind '%s' (proc, file, net, sec, mark, log)", bad);
            break;
        case OPT_CACHE:
            args.cache = p.value;
            break;
        case OPT_BASELINE:
            args.baseline = p.value;
            break;
        case OPT_FUNCTION:
            args.function = p.value;
            break;
        }
    }
    int operands = argc - p.first_operand;
    /* Modes dispatch here, on the operands and options: two invocations (below); one
     * invocation against a baseline (--baseline FILE, --function F) joins as a second case. */
    if (args.baseline || args.function) {
        if (operands != 1 || (args.baseline && args.function))
            return rt_cli_usage_error("diff", "one invocation and either --baseline FILE or "
                                              "--function F");
        return rt_cli_diff_baseline(argv[p.first_operand], args.baseline, args.function, args.cache,
                                    args.json);
    }
    if (operands != 2)
        return rt_cli_usage_error("diff",
                                  "two invocations to compare (runtrail diff A B), "
                                  "got %d",
                                  operands);
    return diff_two(&args, argv[p.first_operand], argv[p.first_operand + 1]);
}
