/* runtrail diff A --baseline FILE | --function F: one invocation against a baseline, as the
 * baseline deviations of analysis/check.h (new programs, destinations, files, env, code,
 * config, payload shape, ranges) printed like a diff: `--- baseline`, `+++ A`, one `+` line per
 * deviation with the events that show it. With --function the baseline is learned on the spot
 * from the catalog's other invocations of F without security flags. Exit 0 when A deviates in
 * nothing, 1 when it does, 2 on error. */
#include "analysis/baseline.h"
#include "analysis/check.h"
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"

#include <jansson.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void name_error(const char *path, const char *what, const char *detail)
{
    char esc[4096];
    rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
    rt_cli_error("%s: %s%s%s", esc, what, detail && detail[0] ? ": " : "", detail ? detail : "");
}

/* A baseline of function learned from the catalog, leaving out the bundle with digest skip. */
static struct rt_baseline *learn_function(const char *function, const char *cache,
                                          const uint8_t skip[RT_DIGEST_LEN], size_t *skipped)
{
    struct rt_cli_bundle_set set = {.function = function, .cache = cache};
    struct rt_cli_paths paths = {0};
    if (rt_cli_bundle_set("diff", &set, &paths))
        return NULL;
    struct rt_baseline *bl = rt_baseline_new(function);
    for (size_t i = 0; bl && i < paths.n; i++) {
        struct rt_bundle *b = NULL;
        struct rt_errinfo ei;
        if (rt_bundle_open_file(paths.v[i], &b, &ei) != RT_OK) {
            (*skipped)++;
            continue;
        }
        if (!memcmp(b->digest, skip, RT_DIGEST_LEN) || rt_baseline_suspicious(b, NULL) ||
            rt_baseline_learn(bl, b) != RT_OK)
            (*skipped)++;
        rt_bundle_free(b);
    }
    rt_cli_paths_free(&paths);
    return bl;
}

int rt_cli_diff_baseline(const char *arg, const char *baseline_path, const char *function,
                         const char *cache, bool json)
{
    struct rt_cli_paths paths = {0};
    int rc = rt_cli_bundle_arg(arg, cache, &paths);
    if (rc)
        return rc;
    if (paths.n != 1) {
        rt_cli_error("diff: %zu bundles have this request id; give one as a file", paths.n);
        rt_cli_paths_free(&paths);
        return RT_EXIT_USAGE;
    }
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    if ((rc = rt_bundle_open_file(paths.v[0], &b, &ei)) != RT_OK) {
        char msg[600];
        name_error(paths.v[0], rt_errinfo_format(rc, &ei, msg, sizeof msg), NULL);
        rt_cli_paths_free(&paths);
        return RT_EXIT_USAGE;
    }
    struct rt_baseline *bl = NULL;
    size_t skipped = 0;
    char label[4200];
    if (baseline_path) {
        if ((rc = rt_baseline_load(baseline_path, &bl, &ei)) != RT_OK)
            name_error(baseline_path, rt_strerror(rc), ei.detail);
        rt_escape_buf(label, sizeof label, baseline_path, strlen(baseline_path), 0);
    } else {
        bl = learn_function(function, cache, b->digest, &skipped);
        if (bl && !bl->invocations) {
            rt_cli_error("diff: no other invocation of this function to learn a baseline from");
            rt_baseline_free(bl);
            bl = NULL;
        }
        char fn[1024];
        rt_escape_buf(fn, sizeof fn, function, strlen(function), 0);
        snprintf(label, sizeof label, "learned from the catalog: %s", fn);
    }
    int status = RT_EXIT_USAGE;
    struct rt_findings fs = {0};
    if (bl) {
        int crc = rt_check_bundle(b, bl, NULL, &fs);
        if (crc == RT_ERR_BASELINE_FUNCTION) {
            char msg[700], fn[512];
            const char *f = b->meta.function ? b->meta.function : "";
            rt_escape_buf(fn, sizeof fn, f, strlen(f), 0);
            snprintf(msg, sizeof msg, "function %s, the baseline is of %s", fn, bl->function);
            name_error(paths.v[0], rt_strerror(crc), msg);
        } else if (crc == RT_OK) {
            status = RT_EXIT_OK;
        }
    }
    if (status == RT_EXIT_OK) {
        char rid[256], path[4096], row[2048];
        const char *r = b->meta.request_id ? b->meta.request_id : "-";
        rt_escape_buf(rid, sizeof rid, r, strlen(r), 0);
        rt_escape_buf(path, sizeof path, paths.v[0], strlen(paths.v[0]), 0);
        size_t deviations = 0;
        json_t *doc = json ? json_object() : NULL, *arr = json ? json_array() : NULL;
        if (!json) {
            printf("--- baseline %s (%s, %" PRIu64 " invocations)\n", label, bl->function,
                   bl->invocations);
            printf("+++ %s request %s\n", path, rid);
        }
        for (size_t i = 0; i < fs.n; i++) {
            const struct rt_finding *f = &fs.v[i];
            const struct rt_check_rule_info *ri = rt_check_rule_info(f->rule);
            bool from_baseline = !strcmp(ri->source, "baseline");
            deviations += from_baseline;
            if (json) {
                json_t *evs = json_array();
                for (size_t k = 0; k < f->n_ev; k++) {
                    rt_check_evidence_row(row, sizeof row, b, f->ev[k]);
                    json_array_append_new(
                        evs, json_pack("{s:I,s:s}", "index", (json_int_t)f->ev[k], "row", row));
                }
                json_array_append_new(
                    arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:I}", "rule", ri->name, "severity",
                                   rt_severity_name(ri->severity), "source", ri->source, "item",
                                   f->item, "explain", f->explain, "events", evs, "events_total",
                                   (json_int_t)f->n_total));
                continue;
            }
            printf("%c %s %s %s: %s\n", from_baseline ? '+' : '!', rt_severity_name(ri->severity),
                   ri->name, f->item, f->explain);
            for (size_t k = 0; k < f->n_ev; k++) {
                rt_check_evidence_row(row, sizeof row, b, f->ev[k]);
                printf("    event %zu %s\n", f->ev[k], row);
            }
        }
        if (json) {
            json_object_set_new(doc, "baseline", json_string(label));
            json_object_set_new(doc, "function", json_string(bl->function));
            json_object_set_new(doc, "baseline_invocations",
                                json_integer((json_int_t)bl->invocations));
            json_object_set_new(doc, "bundle", rt_cli_json_str(paths.v[0]));
            json_object_set_new(doc, "request_id", rt_cli_json_str(b->meta.request_id));
            json_object_set_new(doc, "equivalent", json_boolean(deviations == 0));
            json_object_set_new(doc, "deviations", arr);
            rt_cli_json_line(doc);
        } else if (!fs.n) {
            printf("(no deviation from the baseline)\n");
        }
        if (function && !baseline_path && !json)
            fprintf(stderr,
                    "runtrail diff: baseline learned from %" PRIu64
                    " invocations (%zu left out: this one, flagged or unreadable)\n",
                    bl->invocations, skipped);
        status = deviations ? RT_EXIT_FINDINGS : RT_EXIT_OK;
    }
    rt_findings_free(&fs);
    rt_baseline_free(bl);
    rt_bundle_free(b);
    rt_cli_paths_free(&paths);
    return status;
}
