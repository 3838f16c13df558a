/* runtrail policy: the least-privilege IAM policies around one recording function, built from
 * its configuration (ARN: partition, region, account; role; RUNTRAIL_STORE and RUNTRAIL_SSE
 * when the command line does not name them): what the function's role needs to store bundles
 * (s3:PutObject on its own partition, kms:GenerateDataKey for SSE-KMS with a customer key),
 * and what a responder needs to `runtrail pull` that function's bundles (s3:ListBucket limited
 * by an s3:prefix condition, s3:GetObject, kms:Decrypt). */
#include "cli/cli.h"
#include "cli/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help_head[] =
    "usage: runtrail policy FUNCTION [--store s3://BUCKET/PREFIX] [--sse MODE] [--json]\n"
    "\n"
    "Print the least-privilege IAM policy documents for FUNCTION: the one its execution role\n"
    "needs to record (s3:PutObject on PREFIX/v1/fn=FUNCTION/*, and kms:GenerateDataKey when\n"
    "bundles are encrypted with a customer KMS key), and the read-only one a responder needs\n"
    "for `runtrail pull s3://BUCKET/PREFIX --function FUNCTION`. The store and the encryption\n"
    "default to the function's RUNTRAIL_STORE and RUNTRAIL_SSE.\n"
    "\n";

enum { OPT_STORE = 1, OPT_SSE, OPT_JSON };
static const struct rt_opt options[] = {
    {OPT_STORE, "store", 0, "s3://BUCKET/PREFIX", "the store (default: the function's)"},
    {OPT_SSE, "sse", 0, "MODE",
     "AES256, aws:kms (the AWS managed key) or aws:kms:KEYID\n(default: the function's "
     "RUNTRAIL_SSE)"},
    {OPT_JSON, "json", 0, NULL, "one JSON object {role, recorder, responder}"},
    RT_FLEET_OPTIONS,
    {0},
};

static const char help_tail[] =
    "\n"
    "Exit status: 0 printed, 2 usage error or the function could not be read.\n"
    "See runtrail-policy(1) and docs/deploy.md.\n";

static const struct rt_cli_spec policy_spec = {"policy", help_head, options, help_tail, false};

/* The KMS key ARN for KEYID (a key id, alias/NAME, or an ARN already). */
static json_t *kms_arn(const char *keyid, const char *part, const char *region, const char *acct)
{
    if (!strncmp(keyid, "arn:", 4))
        return json_string(keyid);
    return json_sprintf("arn:%s:kms:%s:%s:%s%s", part, region, acct,
                        strncmp(keyid, "alias/", 6) ? "key/" : "", keyid);
}

RT_COMMAND(policy, "the IAM policies a recording function and a responder need")
{
    struct rt_fleet f = {.cmd = "policy"};
    const char *store = NULL, *sse = NULL;
    bool json = false;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &policy_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
        if (rt_fleet_option(&f, id, p.value))
            continue;
        if (id == OPT_STORE)
            store = p.value;
        else if (id == OPT_SSE)
            sse = p.value;
        else if (id == OPT_JSON)
            json = true;
    }
    if (argc - p.first_operand != 1)
        return rt_cli_usage_error("policy", "name one function");
    int status = rt_fleet_open(&f);
    if (status != RT_EXIT_OK)
        return status;
    json_t *names = NULL, *cfg = NULL, *out = NULL;
    status = rt_fleet_targets(&f, 1, argv + p.first_operand, &names);
    const char *name = json_string_value(json_array_get(names, 0));
    struct rt_errinfo ei;
    int rc = RT_OK;
    if (status == RT_EXIT_OK && (rc = rt_lambda_get_configuration(f.lambda, name, &cfg, &ei))) {
        rt_fleet_error(&f, name, rc, &ei);
        status = RT_EXIT_USAGE;
    }
    json_t *vars = json_object_get(json_object_get(cfg, "Environment"), "Variables");
    if (!store)
        store = json_string_value(json_object_get(vars, "RUNTRAIL_STORE"));
    if (!sse)
        sse = json_string_value(json_object_get(vars, "RUNTRAIL_SSE"));
    char bucket[64], prefix[1024];
    struct rt_lambda_arn arn = {0};
    const char *fa = json_string_value(json_object_get(cfg, "FunctionArn"));
    if (status == RT_EXIT_OK && !store) {
        status = rt_cli_usage_error("policy",
                                    "%s has no RUNTRAIL_STORE: pass --store "
                                    "s3://BUCKET/PREFIX",
                                    name);
    } else if (status == RT_EXIT_OK &&
               !rt_fleet_parse_s3(store, bucket, sizeof bucket, prefix, sizeof prefix)) {
        status = rt_cli_usage_error("policy", "store '%s': expected s3://BUCKET/PREFIX", store);
    } else if (status == RT_EXIT_OK && (!fa || rt_lambda_parse_arn(fa, &arn, &ei) != RT_OK)) {
        rt_cli_error("policy: %s: the configuration has no usable FunctionArn", name);
        status = RT_EXIT_USAGE;
    } else if (status == RT_EXIT_OK && sse && *sse && strcasecmp(sse, "AES256") &&
               strcasecmp(sse, "none") && strncmp(sse, "aws:kms", 7)) {
        status = rt_cli_usage_error("policy",
                                    "--sse '%s': expected AES256, aws:kms[:KEYID] "
                                    "or none",
                                    sse);
    }
    if (status == RT_EXIT_OK) {
        const char *part = arn.partition[0] ? arn.partition : "aws";
        json_t *objects = json_sprintf("arn:%s:s3:::%s/%s%sv1/fn=%s/*", part, bucket, prefix,
                                       prefix[0] ? "/" : "", name);
        json_t *list_prefix = json_sprintf("%s%sv1/fn=%s/*", prefix, prefix[0] ? "/" : "", name);
        json_t *recorder = json_pack("{s:s, s:[{s:s, s:s, s:s, s:O}]}", "Version", "2012-10-17",
                                     "Statement", "Sid", "RuntrailPutBundles", "Effect", "Allow",
                                     "Action", "s3:PutObject", "Resource", objects);
        json_t *responder = json_pack(
            "{s:s, s:[{s:s, s:s, s:s, s:o, s:{s:{s:[o]}}}, {s:s, s:s, s:s, s:O}]}", "Version",
            "2012-10-17", "Statement", "Sid", "RuntrailListBundles", "Effect", "Allow", "Action",
            "s3:ListBucket", "Resource", json_sprintf("arn:%s:s3:::%s", part, bucket), "Condition",
            "StringLike", "s3:prefix", list_prefix, "Sid", "RuntrailGetBundles", "Effect", "Allow",
            "Action", "s3:GetObject", "Resource", objects);
        const char *note = NULL;
        if (sse && !strncmp(sse, "aws:kms:", 8) && sse[8]) {
            json_t *key = kms_arn(sse + 8, part, arn.region, arn.account);
            json_array_append_new(json_object_get(recorder, "Statement"),
                                  json_pack("{s:s, s:s, s:s, s:O}", "Sid", "RuntrailEncrypt",
                                            "Effect", "Allow", "Action", "kms:GenerateDataKey",
                                            "Resource", key));
            json_array_append_new(json_object_get(responder, "Statement"),
                                  json_pack("{s:s, s:s, s:s, s:O}", "Sid", "RuntrailDecrypt",
                                            "Effect", "Allow", "Action", "kms:Decrypt", "Resource",
                                            key));
            json_decref(key);
        } else if (sse && !strcmp(sse, "aws:kms")) {
            note = "aws:kms with the AWS managed key (aws/s3): its key policy lets S3 use it for "
                   "the account's principals; no KMS statement is needed";
        }
        const char *role = json_string_value(json_object_get(cfg, "Role"));
        const char *role_name = role && strrchr(role, '/') ? strrchr(role, '/') + 1 : role;
        if (json) {
            out = json_pack("{s:s, s:s?, s:O, s:O, s:s?}", "function", name, "role", role,
                            "recorder", recorder, "responder", responder, "note", note);
            char *text = json_dumps(out, JSON_INDENT(2) | JSON_ENSURE_ASCII);
            if (text)
                puts(text);
            free(text);
        } else {
            char *r = json_dumps(recorder, JSON_INDENT(2) | JSON_ENSURE_ASCII);
            char *s = json_dumps(responder, JSON_INDENT(2) | JSON_ENSURE_ASCII);
            printf("# The execution role of %s (%s) needs, to record into %s:\n", name,
                   role_name ? role_name : "?", store);
            puts(r ? r : "");
            printf("# aws iam put-role-policy --role-name %s --policy-name runtrail-record-%s "
                   "--policy-document file://recorder.json\n",
                   role_name ? role_name : "ROLE", name);
            if (note)
                printf("# %s\n", note);
            printf("\n# A responder needs, to pull its bundles (runtrail pull %s --function %s):\n",
                   store, name);
            puts(s ? s : "");
            free(r);
            free(s);
        }
        json_decref(objects);
        json_decref(recorder);
        json_decref(responder);
    }
    json_decref(out);
    json_decref(cfg);
    json_decref(names);
    rt_fleet_close(&f);
    return status;
}
