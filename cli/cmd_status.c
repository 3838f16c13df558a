/* runtrail status: whether functions are recording, read from their configuration (the
 * runtrail layer, the wrapper, RUNTRAIL_DISABLE, the RUNTRAIL_* settings) and, for an S3
 * store, the time of the newest bundle under the function's partition: the newest dt=, then
 * the newest hr= in it, then the newest key in that (keys start with the start time in ns).
 * A store whose delimiter listings come back empty (s3rver) is listed key by key instead. */
#include "cli/cli.h"
#include "cli/fleet.h"
#include "control/enable.h"
#include "store/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help_head[] =
    "usage: runtrail status [FUNCTION... | --all [--tag K=V]] [--json]\n"
    "\n"
    "Per function: whether it records (yes: runtrail's layer and wrapper are set; disabled:\n"
    "RUNTRAIL_DISABLE=1; partial: the layer or the wrapper is missing; no), the runtrail layer\n"
    "version, the store, the sample rate and payload mode in effect (the recorder's default\n"
    "when unset), and the start time of the newest bundle in an S3 store (listed with the\n"
    "store credentials: s3:ListBucket on the prefix). Default: --all.\n"
    "\n";

enum { OPT_ALL = 1, OPT_TAG, OPT_JSON };
static const struct rt_opt options[] = {
    {OPT_ALL, "all", 0, NULL, "every function of the region (the default without names)"},
    {OPT_TAG, "tag", 0, "K=V", "with --all: only functions tagged K=V"},
    {OPT_JSON, "json", 0, NULL, "one JSON object per function"},
    RT_FLEET_OPTIONS,
    {0},
};

static const char help_tail[] =
    "\n"
    "Columns: FUNCTION RECORDING LAYER STORE SAMPLE PAYLOAD NEWEST (UTC, or - when there is\n"
    "none or the store is not S3; '?' when the store could not be listed: the reason follows).\n"
    "Exit status: 0 listed, 2 usage error or a function that could not be read.\n"
    "See runtrail-status(1).\n";

static const struct rt_cli_spec status_spec = {"status", help_head, options, help_tail, false};

/* The newest child prefix (delimiter listing) or, with objects, the greatest key. */
static int newest_below(struct rt_s3 *s3, const char *prefix, bool delimited, char **out,
                        struct rt_errinfo *ei)
{
    char *token = NULL, *best = NULL;
    int rc;
    do {
        struct rt_s3_list l;
        rc = rt_s3_list(s3, prefix, delimited ? "/" : NULL, NULL, token, 0, &l, ei);
        free(token);
        token = NULL;
        if (rc != RT_OK)
            break;
        for (size_t i = 0; delimited && i < l.n_prefixes; i++)
            if (!best || strcmp(l.prefixes[i], best) > 0) {
                free(best);
                best = strdup(l.prefixes[i]);
            }
        for (size_t i = 0; !delimited && i < l.n_objects; i++)
            if (strstr(l.objects[i].key, ".rtb") && (!best || strcmp(l.objects[i].key, best) > 0)) {
                free(best);
                best = strdup(l.objects[i].key);
            }
        if (l.truncated && l.next_token)
            token = strdup(l.next_token);
        rt_s3_list_free(&l);
    } while (token);
    free(token);
    if (rc != RT_OK) {
        free(best);
        return rc;
    }
    *out = best;
    return RT_OK;
}

/* "2026-12-05T04:12:09Z" of the newest bundle, "-" for none; "?" and why on error. */
static void newest_bundle(const char *store, const char *fn, const char *region, char *out,
                          size_t cap, char *why, size_t why_cap)
{
    char bucket[64], prefix[1024];
    why[0] = '\0';
    snprintf(out, cap, "-");
    if (!store || !rt_fleet_parse_s3(store, bucket, sizeof bucket, prefix, sizeof prefix))
        return;
    struct rt_s3_options o = {.region = region, .max_attempts = 2, .timeout_ms = 10000};
    struct rt_s3 *s3 = NULL;
    struct rt_errinfo ei;
    int rc = rt_s3_open(bucket, &o, &s3, &ei);
    char level[1200];
    snprintf(level, sizeof level, "%s%sv1/fn=%s/", prefix, prefix[0] ? "/" : "", fn);
    char *key = NULL;
    /* dt=, then hr=: each the newest child; then the newest key */
    for (int depth = 0; rc == RT_OK && depth < 2; depth++) {
        char *child = NULL;
        rc = newest_below(s3, level, true, &child, &ei);
        if (rc != RT_OK || !child)
            break;
        snprintf(level, sizeof level, "%s", child);
        free(child);
    }
    if (rc == RT_OK)
        rc = newest_below(s3, level, false, &key, &ei);
    if (rc != RT_OK) {
        snprintf(out, cap, "?");
        snprintf(why, why_cap, "%s: %s", rt_strerror(rc), ei.detail);
    } else if (key) {
        const char *base = strrchr(key, '/');
        long long ns = strtoll(base ? base + 1 : key, NULL, 10);
        time_t t = (time_t)(ns / 1000000000LL);
        struct tm tm;
        if (ns > 0 && gmtime_r(&t, &tm))
            strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    free(key);
    rt_s3_close(s3);
}

static int status_one(struct rt_fleet *f, const char *name, bool json)
{
    json_t *cfg = NULL;
    struct rt_errinfo ei;
    int rc = rt_lambda_get_configuration(f->lambda, name, &cfg, &ei);
    if (rc != RT_OK) {
        rt_fleet_error(f, name, rc, &ei);
        return RT_EXIT_USAGE;
    }
    json_t *vars = json_object_get(json_object_get(cfg, "Environment"), "Variables");
    const char *wrapper = json_string_value(json_object_get(vars, "AWS_LAMBDA_EXEC_WRAPPER"));
    const char *disable = json_string_value(json_object_get(vars, "RUNTRAIL_DISABLE"));
    const char *store = json_string_value(json_object_get(vars, "RUNTRAIL_STORE"));
    const char *sample = json_string_value(json_object_get(vars, "RUNTRAIL_SAMPLE"));
    const char *payload = json_string_value(json_object_get(vars, "RUNTRAIL_PAYLOAD"));
    const char *saved = json_string_value(json_object_get(vars, RT_ENABLE_SAVED_VAR));
    json_t *saved_j = saved ? json_loads(saved, 0, NULL) : NULL;
    const char *added = json_string_value(json_object_get(saved_j, "added"));
    /* the runtrail layer: the one enable added, else one whose name starts with "runtrail" */
    const char *layer = NULL;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(cfg, "Layers"), i, l)
    {
        const char *arn = json_string_value(json_object_get(l, "Arn"));
        char lname[160];
        if (arn &&
            ((added && !strcmp(arn, added)) ||
             (rt_enable_layer_name(arn, lname, sizeof lname) && !strncmp(lname, "runtrail", 8))))
            layer = arn;
    }
    bool has_wrapper = wrapper && !strcmp(wrapper, RT_ENABLE_WRAPPER);
    const char *recording = layer && has_wrapper
                                ? (disable && !strcmp(disable, "1") ? "disabled" : "yes")
                            : layer || has_wrapper ? "partial"
                                                   : "no";
    char layer_short[200] = "-";
    if (layer) {
        char lname[160];
        const char *ver = strrchr(layer, ':');
        if (rt_enable_layer_name(layer, lname, sizeof lname) && ver)
            snprintf(layer_short, sizeof layer_short, "%s%s", lname, ver);
    }
    char newest[40], why[512];
    if (strcmp(recording, "no"))
        newest_bundle(store, name, rt_lambda_region(f->lambda), newest, sizeof newest, why,
                      sizeof why);
    else
        snprintf(newest, sizeof newest, "-"), why[0] = '\0';
    if (!sample)
        sample = "1";
    if (!payload)
        payload = "redacted";
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s*, s:s*, s:s, s:s, s:s*, s:s*}", "function", name,
                              "recording", recording, "layer", layer, "store", store, "sample",
                              sample, "payload", payload, "newest_bundle",
                              strcmp(newest, "-") && strcmp(newest, "?") ? newest : NULL,
                              "store_error", why[0] ? why : NULL);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (text)
            puts(text);
        free(text);
        json_decref(o);
    } else {
        const char *cols[] = {name,   recording, layer_short, store ? store : "-",
                              sample, payload,   newest};
        for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
            if (c)
                putchar('\t');
            rt_fleet_puts(cols[c]);
        }
        if (why[0]) {
            fputs("\t(", stdout);
            rt_fleet_puts(why);
            putchar(')');
        }
        putchar('\n');
    }
    json_decref(saved_j);
    json_decref(cfg);
    return RT_EXIT_OK;
}

RT_COMMAND(status, "whether functions record: layer, store, sample, newest bundle")
{
    struct rt_fleet f = {.cmd = "status"};
    bool json = false;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &status_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
        if (rt_fleet_option(&f, id, p.value))
            continue;
        if (id == OPT_ALL)
            f.all = true;
        else if (id == OPT_TAG)
            f.tag = p.value;
        else if (id == OPT_JSON)
            json = true;
    }
    if (p.first_operand >= argc)
        f.all = true;
    int status = rt_fleet_open(&f);
    if (status != RT_EXIT_OK)
        return status;
    json_t *names = NULL;
    status = rt_fleet_targets(&f, argc - p.first_operand, argv + p.first_operand, &names);
    if (status == RT_EXIT_OK) {
        if (!json)
            puts("FUNCTION\tRECORDING\tLAYER\tSTORE\tSAMPLE\tPAYLOAD\tNEWEST");
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) if (status_one(&f, json_string_value(n), json) !=
                                            RT_EXIT_OK) status = RT_EXIT_USAGE;
    }
    json_decref(names);
    rt_fleet_close(&f);
    return status;
}
