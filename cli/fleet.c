/* The common ground of enable, disable, status and policy: the shared options, the Lambda
 * client, which functions the command line names (by name, ARN, or --all with --tag), one
 * update applied and waited for (a RevisionId that moved under us is reported, never
 * overwritten), and error lines that name the function and what was refused. */
#include "cli/fleet.h"
#include "cli/cli.h"
#include "formats/escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rt_fleet_option(struct rt_fleet *f, int id, const char *value)
{
    switch (id) {
    case RT_FLEET_OPT_REGION:
        f->region = value;
        return true;
    case RT_FLEET_OPT_ENDPOINT:
        f->endpoint = value;
        return true;
    case RT_FLEET_OPT_PROFILE:
        f->profile = value;
        return true;
    default:
        return false;
    }
}

void rt_fleet_puts(const char *s)
{
    rt_escape_fputs(stdout, s ? s : "", s ? strlen(s) : 0, 0);
}

void rt_fleet_error(const struct rt_fleet *f, const char *what, int rc, const struct rt_errinfo *ei)
{
    char detail[sizeof ei->detail * 2];
    rt_escape_buf(detail, sizeof detail, ei ? ei->detail : "", ei ? strlen(ei->detail) : 0, 0);
    fprintf(stderr, "runtrail %s: %s%s%s%s%s\n", f->cmd, what ? what : "", what ? ": " : "",
            rt_strerror(rc), detail[0] ? ": " : "", detail);
}

int rt_fleet_open(struct rt_fleet *f)
{
    struct rt_lambda_options o = {.profile = f->profile,
                                  .region = f->region,
                                  .endpoint = f->endpoint,
                                  /* a busy function is waited for at most --wait (or 60 s) */
                                  .conflict_ms =
                                      f->wait_s > 0 && f->wait_s < 60 ? f->wait_s * 1000 : 0};
    struct rt_errinfo ei;
    int rc = rt_lambda_open(&o, &f->lambda, &ei);
    if (rc != RT_OK) {
        rt_fleet_error(f, NULL, rc, &ei);
        return RT_EXIT_USAGE;
    }
    return RT_EXIT_OK;
}

void rt_fleet_close(struct rt_fleet *f)
{
    rt_lambda_close(f->lambda);
    f->lambda = NULL;
}

bool rt_fleet_parse_s3(const char *url, char *bucket, size_t bcap, char *prefix, size_t pcap)
{
    if (!url || strncmp(url, "s3://", 5) != 0)
        return false;
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl < 3 || bl > 63 || bl >= bcap)
        return false;
    for (size_t i = 0; i < bl; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    snprintf(bucket, bcap, "%.*s", (int)bl, b);
    const char *p = slash ? slash + 1 : "";
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    if (pl >= pcap)
        return false;
    snprintf(prefix, pcap, "%.*s", (int)pl, p);
    return true;
}

/* Whether the function's tags (GetFunction) hold K=V. */
static int has_tag(struct rt_fleet *f, const char *name, const char *kv, bool *yes)
{
    json_t *fn = NULL;
    struct rt_errinfo ei;
    int rc = rt_lambda_get_function(f->lambda, name, &fn, &ei);
    if (rc != RT_OK) {
        rt_fleet_error(f, name, rc, &ei);
        return rc;
    }
    const char *eq = strchr(kv, '=');
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    const char *v = json_string_value(json_object_get(json_object_get(fn, "Tags"), key));
    *yes = v && !strcmp(v, eq + 1);
    json_decref(fn);
    return RT_OK;
}

int rt_fleet_targets(struct rt_fleet *f, int n, char **operands, json_t **out)
{
    json_t *names = json_array();
    if (f->all) {
        if (n > 0) {
            json_decref(names);
            return rt_cli_usage_error(f->cmd, "--all and function names exclude each other");
        }
        if (f->tag && (!strchr(f->tag, '=') || f->tag[0] == '=')) {
            json_decref(names);
            return rt_cli_usage_error(f->cmd, "--tag '%s': expected KEY=VALUE", f->tag);
        }
        json_t *fns = NULL;
        struct rt_errinfo ei;
        int rc = rt_lambda_list_functions(f->lambda, &fns, &ei);
        if (rc != RT_OK) {
            rt_fleet_error(f, "listing functions", rc, &ei);
            json_decref(names);
            return RT_EXIT_USAGE;
        }
        size_t i;
        json_t *c;
        json_array_foreach(fns, i, c)
        {
            const char *name = json_string_value(json_object_get(c, "FunctionName"));
            if (!name)
                continue;
            bool yes = true;
            if (f->tag && has_tag(f, name, f->tag, &yes) != RT_OK) {
                json_decref(fns);
                json_decref(names);
                return RT_EXIT_USAGE;
            }
            if (yes)
                json_array_append_new(names, json_string(name));
        }
        json_decref(fns);
        *out = names;
        return RT_EXIT_OK;
    }
    if (f->tag) {
        json_decref(names);
        return rt_cli_usage_error(f->cmd, "--tag selects among --all");
    }
    for (int i = 0; i < n; i++) {
        struct rt_lambda_arn arn;
        struct rt_errinfo ei;
        int rc = rt_lambda_parse_arn(operands[i], &arn, &ei);
        if (rc == RT_OK && arn.is_layer)
            rc = rt_fail(&ei, RT_ERR_INVALID_ARG, -1, "a layer ARN, not a function");
        if (rc == RT_OK && arn.region[0] && strcmp(arn.region, rt_lambda_region(f->lambda)))
            rc = rt_fail(&ei, RT_ERR_INVALID_ARG, -1,
                         "the function is in %s, this command works in %s: add --region %s",
                         arn.region, rt_lambda_region(f->lambda), arn.region);
        if (rc != RT_OK) {
            char what[128];
            rt_escape_buf(what, sizeof what, operands[i], strlen(operands[i]), 0);
            rt_fleet_error(f, what, rc, &ei);
            json_decref(names);
            return RT_EXIT_USAGE;
        }
        json_array_append_new(names, json_string(arn.name));
    }
    *out = names;
    return RT_EXIT_OK;
}

int rt_fleet_apply(struct rt_fleet *f, const char *name, json_t *body, json_t **final,
                   struct rt_errinfo *ei)
{
    json_t *res = NULL;
    int rc = rt_lambda_update_configuration(f->lambda, name, body, &res, ei);
    if (rc != RT_OK)
        return rc;
    json_decref(res);
    json_t *after = NULL;
    rc = rt_lambda_wait_updated(f->lambda, name, (f->wait_s > 0 ? f->wait_s : 300) * 1000, &after,
                                NULL, ei);
    if (rc != RT_OK)
        return rc;
    if (final)
        *final = after;
    else
        json_decref(after);
    return RT_OK;
}
