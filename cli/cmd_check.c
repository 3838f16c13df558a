/* runtrail check: judge invocations against the built-in flag rules, a baseline and a rules
 * file (analysis/check.h); print one line per finding with its evidence rows, or JSON lines;
 * store the findings in the catalog so `ls --findings` shows which invocations deviate. */
#include "analysis/baseline.h"
#include "analysis/check.h"
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "store/catalog.h"

#include <jansson.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help_head[] =
    "usage: runtrail check [BUNDLE|DIR|REQUEST_ID...] [--function F [--since T] [--until T]]\n"
    "                      [--baseline FILE] [--rules FILE] [--json]\n"
    "\n"
    "Judge invocations: bundle files, folders (searched recursively for *.rtb), request ids,\n"
    "and/or the catalog's invocations of --function. Each is checked against the built-in\n"
    "rules over the recorder's flags (environ_read, mem_read, exec_tmp, exec_memfd,\n"
    "listening, privilege, ptrace, not_covered, dropped), the deviations from a learned\n"
    "baseline (--baseline: new program, destination, file, write outside /tmp, env hash or\n"
    "code digest drift, payload key or type, duration/events/bytes out of range) and the\n"
    "allow/deny entries of a rules file (--rules). Prints one line per finding:\n"
    "    REQUEST_ID SEVERITY RULE ITEM: EXPLANATION\n"
    "followed by its evidence, indented: the events that show it as runtrail show prints\n"
    "them ('event N' is the index in the bundle). Captured strings are escaped.\n"
    "The findings of each invocation are stored in the catalog (replacing earlier ones), so\n"
    "runtrail ls --findings lists the invocations that deviate.\n"
    "\n";

enum {
    OPT_FUNCTION = 1,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_BASELINE,
    OPT_RULES,
    OPT_JSON,
    OPT_NO_STORE,
    OPT_CACHE
};
static const struct rt_cli_opt options[] = {
    {OPT_FUNCTION, "function", 'f', "F", "check the catalog's invocations of F"},
    {OPT_SINCE, "since", 0, "T", "with --function: started at or after T (ISO 8601 or 2h, 7d)"},
    {OPT_UNTIL, "until", 0, "T", "with --function: started at or before T"},
    {OPT_BASELINE, "baseline", 'b', "FILE", "a baseline (runtrail baseline learn) to compare with"},
    {OPT_RULES, "rules", 'r', "FILE", "a rules file of allow/deny entries (docs/rules.md)"},
    {OPT_JSON, "json", 0, NULL, "one JSON object per finding, one per line (ASCII only)"},
    {OPT_NO_STORE, "no-store", 0, NULL, "do not store the findings in the catalog"},
    {OPT_CACHE, "cache", 0, "DIR",
     "where the catalog is (default $RUNTRAIL_CACHE, else\n${XDG_CACHE_HOME:-~/.cache}/runtrail)"},
    {0},
};
static const char help_tail[] =
    "\n"
    "Exit status: 0 no finding, 1 findings, 2 usage error, an unreadable or corrupt bundle,\n"
    "baseline or rules file, or a baseline of another function.\n"
    "See runtrail-check(1), docs/rules.md and docs/baseline.md.\n";
static const struct rt_cli_spec check_spec = {"check", help_head, options, help_tail, false};

static void name_error(const char *path, const char *what, const char *detail)
{
    char esc[4096];
    rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
    rt_cli_error("%s: %s%s%s", esc, what, detail && detail[0] ? ": " : "", detail ? detail : "");
}

static void print_text(const struct rt_bundle *b, const char *path, const struct rt_findings *fs)
{
    const char *rid = b->meta.request_id ? b->meta.request_id : "-";
    char rid_esc[256], path_esc[4096], row[2048];
    rt_escape_buf(rid_esc, sizeof rid_esc, rid, strlen(rid), 0);
    rt_escape_buf(path_esc, sizeof path_esc, path, strlen(path), 0);
    for (size_t i = 0; i < fs->n; i++) {
        const struct rt_finding *f = &fs->v[i];
        const struct rt_check_rule_info *ri = rt_check_rule_info(f->rule);
        printf("%s %s %s %s: %s\n", rid_esc, rt_severity_name(ri->severity), ri->name, f->item,
               f->explain);
        for (size_t k = 0; k < f->n_ev; k++) {
            rt_check_evidence_row(row, sizeof row, b, f->ev[k]);
            printf("    event %zu %s\n", f->ev[k], row);
        }
        if (f->n_total > f->n_ev)
            printf("    (%zu more events)\n", f->n_total - f->n_ev);
        if (i + 1 == fs->n)
            printf("    bundle %s\n", path_esc);
    }
}

static void print_json(const struct rt_bundle *b, const char *path, const struct rt_findings *fs)
{
    char row[2048];
    for (size_t i = 0; i < fs->n; i++) {
        const struct rt_finding *f = &fs->v[i];
        const struct rt_check_rule_info *ri = rt_check_rule_info(f->rule);
        json_t *j = json_object(), *evs = json_array();
        json_object_set_new(j, "request_id", rt_cli_json_str(b->meta.request_id));
        json_object_set_new(j, "function", rt_cli_json_str(b->meta.function));
        json_object_set_new(j, "bundle", rt_cli_json_str(path));
        json_object_set_new(j, "rule", json_string(ri->name));
        json_object_set_new(j, "severity", json_string(rt_severity_name(ri->severity)));
        json_object_set_new(j, "source", json_string(ri->source));
        json_object_set_new(j, "item", json_string(f->item));
        json_object_set_new(j, "explain", json_string(f->explain));
        for (size_t k = 0; k < f->n_ev; k++) {
            rt_check_evidence_row(row, sizeof row, b, f->ev[k]);
            json_array_append_new(
                evs, json_pack("{s:I,s:s}", "index", (json_int_t)f->ev[k], "row", row));
        }
        json_object_set_new(j, "events", evs);
        json_object_set_new(j, "events_total", json_integer((json_int_t)f->n_total));
        rt_cli_json_line(j);
    }
}

static int store_findings(struct rt_catalog *cat, const char *path, const struct rt_bundle *b,
                          const struct rt_findings *fs)
{
    struct rt_catalog_finding *cf = calloc(fs->n + 1, sizeof *cf);
    if (!cf)
        return RT_ERR_NOMEM;
    for (size_t i = 0; i < fs->n; i++) {
        const struct rt_check_rule_info *ri = rt_check_rule_info(fs->v[i].rule);
        cf[i] = (struct rt_catalog_finding){ri->name, rt_severity_name(ri->severity), fs->v[i].item,
                                            fs->v[i].explain};
    }
    struct rt_errinfo ei;
    int rc = rt_catalog_set_findings(cat, path, b->digest, cf, fs->n, &ei);
    free(cf);
    if (rc != RT_OK) {
        char msg[600];
        name_error(path, "storing the findings in the catalog",
                   rt_errinfo_format(rc, &ei, msg, sizeof msg));
    }
    return rc;
}

RT_COMMAND(check, "judge invocations against flag rules, a baseline and a rules file")
{
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &check_spec, argc, argv);
    struct rt_cli_bundle_set set = {0};
    const char *baseline_path = NULL, *rules_path = NULL;
    bool json = false, store = true;
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        switch (id) {
        case RT_CLI_OPTS_STOP:
            return p.status;
        case OPT_FUNCTION:
            set.function = p.value;
            break;
        case OPT_SINCE:
            set.since = p.value;
            break;
        case OPT_UNTIL:
            set.until = p.value;
            break;
        case OPT_BASELINE:
            baseline_path = p.value;
            break;
        case OPT_RULES:
            rules_path = p.value;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_NO_STORE:
            store = false;
            break;
        case OPT_CACHE:
            set.cache = p.value;
            break;
        }
    }
    set.operands = argv + p.first_operand;
    set.n_operands = argc - p.first_operand;
    if (!set.function && !set.n_operands)
        return rt_cli_usage_error("check", "give bundles, request ids or --function F");
    if ((set.since || set.until) && !set.function)
        return rt_cli_usage_error("check", "--since and --until need --function");

    struct rt_baseline *bl = NULL;
    struct rt_rules rules = {0};
    struct rt_errinfo ei;
    int rc;
    if (baseline_path && (rc = rt_baseline_load(baseline_path, &bl, &ei)) != RT_OK) {
        name_error(baseline_path, rt_strerror(rc), ei.detail);
        return RT_EXIT_USAGE;
    }
    if (bl && set.function && strcmp(bl->function, set.function)) {
        name_error(baseline_path, rt_strerror(RT_ERR_BASELINE_FUNCTION), bl->function);
        rt_baseline_free(bl);
        return RT_EXIT_USAGE;
    }
    if (rules_path && (rc = rt_rules_load(rules_path, &rules, &ei)) != RT_OK) {
        name_error(rules_path, rt_strerror(rc), ei.detail);
        rt_baseline_free(bl);
        return RT_EXIT_USAGE;
    }
    struct rt_cli_paths paths = {0};
    int status = rt_cli_bundle_set("check", &set, &paths);
    struct rt_catalog *cat = NULL;
    if (!status && store && paths.n) {
        char dir[4096];
        if (rt_catalog_dir(set.cache, dir, sizeof dir) != RT_OK ||
            rt_catalog_open(dir, &cat, &ei) != RT_OK) {
            rt_cli_error("check: no catalog to store the findings in (use --cache, or "
                         "--no-store)");
            status = RT_EXIT_USAGE;
        } else {
            rt_catalog_begin_batch(cat, &ei);
        }
    }
    /* keep the heap between bundles (see cmd_baseline.c) */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    size_t checked = 0, with = 0, total = 0, bad = 0;
    for (size_t i = 0; !status && i < paths.n; i++) {
        struct rt_bundle *b = NULL;
        int orc = rt_bundle_open_file(paths.v[i], &b, &ei);
        if (orc != RT_OK) {
            char msg[600];
            name_error(paths.v[i], rt_errinfo_format(orc, &ei, msg, sizeof msg), NULL);
            bad++;
            continue;
        }
        struct rt_findings fs;
        int crc = rt_check_bundle(b, bl, rules_path ? &rules : NULL, &fs);
        if (crc == RT_ERR_BASELINE_FUNCTION) {
            char fn[512], msg[700];
            const char *f = b->meta.function ? b->meta.function : "";
            rt_escape_buf(fn, sizeof fn, f, strlen(f), 0);
            snprintf(msg, sizeof msg, "function %s, the baseline is of %s", fn, bl->function);
            name_error(paths.v[i], rt_strerror(crc), msg);
            bad++;
        } else if (crc != RT_OK) {
            name_error(paths.v[i], rt_strerror(crc), NULL);
            bad++;
        } else {
            checked++;
            with += fs.n > 0;
            total += fs.n;
            if (json)
                print_json(b, paths.v[i], &fs);
            else
                print_text(b, paths.v[i], &fs);
            if (cat && store_findings(cat, paths.v[i], b, &fs) != RT_OK)
                bad++;
            rt_findings_free(&fs);
        }
        rt_bundle_free(b);
    }
    if (cat) {
        rt_catalog_end_batch(cat, &ei);
        rt_catalog_close(cat);
    }
    if (!status)
        fprintf(stderr,
                "runtrail check: %zu invocations checked, %zu with findings (%zu findings)%s\n",
                checked, with, total, bad ? ", some could not be checked" : "");
    rt_cli_paths_free(&paths);
    rt_rules_free(&rules);
    rt_baseline_free(bl);
    if (status)
        return status;
    if (bad)
        return RT_EXIT_USAGE;
    return total ? RT_EXIT_FINDINGS : RT_EXIT_OK;
}
