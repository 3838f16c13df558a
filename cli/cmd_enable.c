/* runtrail enable: turns recording on for functions through the Lambda API in one command.
 * For each function: read its configuration, check it can be recorded (control/enable.c),
 * publish the layer from the built tree when asked (once, for the architecture of this
 * build), add the layer and merge the wrapper and RUNTRAIL_* settings into its environment,
 * apply the update and wait until Lambda reports it applied. The change is printed as a diff
 * of the settings; --dry-run prints it and changes nothing. */
#include "cli/cli.h"
#include "cli/fleet.h"
#include "control/enable.h"
#include "formats/toolbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static const char help_head[] =
    "usage: runtrail enable FUNCTION... --store s3://BUCKET/PREFIX [--layer ARN | "
    "--publish-layer]\n"
    "                       [--sample R] [--payload MODE] [--redact KEYS] [--dry-run] [--yes]\n"
    "       runtrail enable --all [--tag K=V] --store s3://BUCKET/PREFIX ...\n"
    "\n"
    "Turn recording on for Lambda functions (named by name, ARN or ACCOUNT:function:NAME, or\n"
    "--all functions of the region, optionally only those tagged K=V): add the runtrail layer,\n"
    "set AWS_LAMBDA_EXEC_WRAPPER=/opt/runtrail/wrapper and the RUNTRAIL_* settings next to the\n"
    "function's own variables (which are left alone), wait until the update is applied, and\n"
    "print what changed. What it replaced is saved in the function's RUNTRAIL_SAVED variable,\n"
    "so that `runtrail disable` restores it exactly. Functions that cannot be recorded (a\n"
    "container image, an Amazon Linux 1 or 2 runtime, another tool's wrapper, five layers\n"
    "already, a layer of another architecture) are refused with the reason; provided.*\n"
    "runtimes get a statement of what will and will not be recorded.\n"
    "\n";

enum {
    OPT_STORE = 1,
    OPT_LAYER,
    OPT_PUBLISH,
    OPT_LAYER_NAME,
    OPT_SAMPLE,
    OPT_PAYLOAD,
    OPT_REDACT,
    OPT_DRY_RUN,
    OPT_YES,
    OPT_ALL,
    OPT_TAG,
    OPT_WAIT,
};
static const struct rt_opt options[] = {
    {OPT_STORE, "store", 0, "s3://BUCKET/PREFIX", "where the functions record (RUNTRAIL_STORE)"},
    {OPT_LAYER, "layer", 0, "ARN", "the runtrail layer version to add (a published one)"},
    {OPT_PUBLISH, "publish-layer", 0, NULL,
     "publish the layer built next to this program first\n(PublishLayerVersion)"},
    {OPT_LAYER_NAME, "layer-name", 0, "NAME",
     "the name to publish under (default runtrail-ARCH,\ne.g. runtrail-x86_64)"},
    {OPT_SAMPLE, "sample", 0, "R", "RUNTRAIL_SAMPLE: fraction of invocations kept, 0..1"},
    {OPT_PAYLOAD, "payload", 0, "MODE", "RUNTRAIL_PAYLOAD: redacted, full, hash or none"},
    {OPT_REDACT, "redact", 0, "KEYS", "RUNTRAIL_REDACT: more keys or paths to redact (k1,a.b)"},
    {OPT_DRY_RUN, "dry-run", 'n', NULL, "print the change as a diff; change nothing"},
    {OPT_YES, "yes", 'y', NULL, "apply without asking (needed when stdin is no terminal)"},
    {OPT_ALL, "all", 0, NULL, "every function of the region"},
    {OPT_TAG, "tag", 0, "K=V", "with --all: only functions tagged K=V"},
    {OPT_WAIT, "wait", 0, "SECONDS",
     "how long to wait for each update to apply (default\n300), and for another update in progress "
     "(default 60)"},
    RT_FLEET_OPTIONS,
    {0},
};

static const char help_tail[] =
    "\n"
    "Variables other than AWS_LAMBDA_EXEC_WRAPPER and RUNTRAIL_* are shown in the diff by a\n"
    "hash of their value, never in clear. A concurrent update (ResourceConflictException) is\n"
    "retried with backoff for a minute (--wait, if shorter); a configuration changed between\n"
    "the read and the write (RevisionId) is read and planned again.\n"
    "Environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE,\n"
    "AWS_REGION, RUNTRAIL_LAMBDA_ENDPOINT (or AWS_ENDPOINT_URL_LAMBDA).\n"
    "Exit status: 0 every function enabled (or planned), 2 a usage error or a function that\n"
    "could not be enabled (the others are still done).\n"
    "See runtrail-enable(1), runtrail-disable(1) and docs/deploy.md.\n";

static const struct rt_cli_spec enable_spec = {"enable", help_head, options, help_tail, false};

struct enable {
    struct rt_fleet fleet;
    struct rt_enable_settings set;
    const char *layer_arg;
    bool publish, dry_run, yes;
    const char *layer_name;
    char arch[16];         /* the architecture of this build's layer */
    char *published;       /* the ARN published in this run */
    char provisional[256]; /* --dry-run with --publish-layer: the ARN it would get */
};

static const char *build_arch(void)
{
    struct utsname u;
    if (uname(&u) == 0 && (!strcmp(u.machine, "aarch64") || !strcmp(u.machine, "arm64")))
        return "arm64";
    return "x86_64";
}

/* Packs the layer tree with `runtrail layer` (in-process) and publishes it. */
static int publish_layer(struct enable *e, struct rt_errinfo *ei)
{
    /* packed into a private folder: nothing else can place or swap a file there */
    char dir[] = "/tmp/runtrail-layer-XXXXXX", zip[64];
    if (!mkdtemp(dir))
        return rt_fail(ei, RT_ERR_IO, -1, "%s: %s", dir, strerror(errno));
    snprintf(zip, sizeof zip, "%s/runtrail-layer.zip", dir);
    int cmd_layer(int argc, char **argv);
    char *args[] = {"layer", "-o", zip, NULL};
    fflush(stdout);
    int status = cmd_layer(3, args);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = status == RT_EXIT_OK ? rt_read_file(zip, &data, &len, 100u * 1024 * 1024) : RT_ERR_IO;
    unlink(zip);
    rmdir(dir);
    if (status != RT_EXIT_OK)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "could not pack the layer (see above)");
    if (rc != RT_OK)
        return rt_fail(ei, rc, -1, "%s: cannot read the packed layer", zip);
    json_t *res = NULL;
    rc = rt_lambda_publish_layer(e->fleet.lambda, e->layer_name, data, len, e->arch,
                                 "runtrail recorder " RT_VERSION, &res, ei);
    free(data);
    if (rc != RT_OK)
        return rc;
    const char *arn = json_string_value(json_object_get(res, "LayerVersionArn"));
    if (!arn) {
        json_decref(res);
        return rt_fail(ei, RT_ERR_LAMBDA_RESPONSE, -1, "PublishLayerVersion: no LayerVersionArn");
    }
    e->published = strdup(arn);
    json_decref(res);
    printf("published %s (%s, %zu bytes)\n", e->published, e->arch, len);
    e->set.layer_arn = e->published;
    return RT_OK;
}

/* The layer named by --layer: it must exist; its architectures are checked per function. */
static int resolve_layer(struct enable *e)
{
    struct rt_lambda_arn arn;
    struct rt_errinfo ei;
    int rc = rt_lambda_parse_arn(e->layer_arg, &arn, &ei);
    if (rc == RT_OK && !arn.is_layer)
        rc = rt_fail(&ei, RT_ERR_INVALID_ARG, -1,
                     "expected arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION");
    json_t *lv = NULL;
    if (rc == RT_OK)
        rc = rt_lambda_get_layer_version(e->fleet.lambda, arn.name, arn.version, &lv, &ei);
    if (rc != RT_OK) {
        rt_fleet_error(&e->fleet, e->layer_arg, rc, &ei);
        return RT_EXIT_USAGE;
    }
    json_t *archs = json_object_get(lv, "CompatibleArchitectures");
    e->set.layer_archs = json_is_array(archs) ? json_incref(archs) : NULL;
    json_decref(lv);
    e->set.layer_arn = e->layer_arg;
    return RT_EXIT_OK;
}

static bool confirm(const char *name)
{
    printf("apply to %s? [y/N] ", name);
    fflush(stdout);
    char line[16];
    return fgets(line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y');
}

/* One function: plan, print, apply. Returns RT_EXIT_OK or RT_EXIT_USAGE. */
static int enable_one(struct enable *e, const char *name)
{
    struct rt_fleet *f = &e->fleet;
    int64_t started = rt_clock_mono_ns() / 1000000;
    unsigned req0 = rt_lambda_requests(f->lambda);
    for (int round = 0; round < 3; round++) {
        struct rt_errinfo ei;
        json_t *cfg = NULL, *update = NULL;
        int rc = rt_lambda_get_configuration(f->lambda, name, &cfg, &ei);
        if (rc != RT_OK) {
            rt_fleet_error(f, name, rc, &ei);
            return RT_EXIT_USAGE;
        }
        if (e->publish && !e->published) {
            /* plan with the ARN the layer would get, publish only for a function that passes */
            const char *fa = json_string_value(json_object_get(cfg, "FunctionArn"));
            struct rt_lambda_arn a;
            if (!fa || rt_lambda_parse_arn(fa, &a, NULL) != RT_OK)
                memset(&a, 0, sizeof a);
            snprintf(e->provisional, sizeof e->provisional, "arn:%s:lambda:%s:%s:layer:%s:NEW",
                     a.partition[0] ? a.partition : "aws", rt_lambda_region(f->lambda),
                     a.account[0] ? a.account : "ACCOUNT", e->layer_name);
            e->set.layer_arn = e->provisional;
        }
        rc = rt_enable_plan(cfg, &e->set, &update, &ei);
        if (rc == RT_OK && e->publish && !e->published && !e->dry_run) {
            json_decref(update);
            update = NULL;
            rc = publish_layer(e, &ei);
            if (rc == RT_OK)
                rc = rt_enable_plan(cfg, &e->set, &update, &ei);
        }
        if (rc != RT_OK) {
            rt_fleet_error(f, name, rc, &ei);
            json_decref(cfg);
            return RT_EXIT_USAGE;
        }
        const char *statement;
        const char *runtime = json_string_value(json_object_get(cfg, "Runtime"));
        if (rt_enable_coverage(runtime, &statement) == RT_COVER_PARTIAL) {
            printf("%s (%s): ", name, runtime);
            rt_fleet_puts(statement);
            putchar('\n');
        }
        json_t *after = rt_enable_apply(cfg, update);
        json_t *lb = rt_enable_lines(cfg), *la = rt_enable_lines(after);
        printf("--- %s (now)\n+++ %s (%s)\n", name, name,
               e->dry_run ? "after enable: dry run, nothing changed" : "after enable");
        rt_enable_diff(stdout, lb, la);
        json_decref(lb);
        json_decref(la);
        json_decref(after);
        json_decref(cfg);
        if (e->dry_run) {
            json_decref(update);
            return RT_EXIT_OK;
        }
        if (!e->yes && !confirm(name)) {
            json_decref(update);
            printf("%s: not changed\n", name);
            return RT_EXIT_OK;
        }
        json_t *final = NULL;
        rc = rt_fleet_apply(f, name, update, &final, &ei);
        json_decref(update);
        if (rc == RT_ERR_LAMBDA_CHANGED) {
            printf("%s: changed by someone else meanwhile; reading it again\n", name);
            continue;
        }
        if (rc != RT_OK) {
            rt_fleet_error(f, name, rc, &ei);
            return RT_EXIT_USAGE;
        }
        json_decref(final);
        printf("%s: recording into %s with %s (%u requests, %lld ms)\n", name, e->set.store,
               e->set.layer_arn, rt_lambda_requests(f->lambda) - req0,
               (long long)(rt_clock_mono_ns() / 1000000 - started));
        return RT_EXIT_OK;
    }
    rt_cli_error("enable: %s: its configuration kept changing; try again", name);
    return RT_EXIT_USAGE;
}

RT_COMMAND(enable, "turn recording on for Lambda functions (layer, wrapper, settings)")
{
    struct enable e = {.fleet = {.cmd = "enable"}};
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &enable_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
        if (rt_fleet_option(&e.fleet, id, p.value))
            continue;
        switch (id) {
        case OPT_STORE:
            e.set.store = p.value;
            break;
        case OPT_LAYER:
            e.layer_arg = p.value;
            break;
        case OPT_PUBLISH:
            e.publish = true;
            break;
        case OPT_LAYER_NAME:
            e.layer_name = p.value;
            break;
        case OPT_SAMPLE: {
            char *end;
            double r = strtod(p.value, &end);
            if (end == p.value || *end || !(r >= 0 && r <= 1))
                return rt_cli_opts_bad_value(&p, "'%s': expected a ratio from 0 to 1", p.value);
            e.set.sample = p.value;
            break;
        }
        case OPT_PAYLOAD:
            if (strcmp(p.value, "redacted") && strcmp(p.value, "full") && strcmp(p.value, "hash") &&
                strcmp(p.value, "none"))
                return rt_cli_opts_bad_value(&p, "'%s': expected redacted, full, hash or none",
                                             p.value);
            e.set.payload = p.value;
            break;
        case OPT_REDACT:
            e.set.redact = p.value;
            break;
        case OPT_DRY_RUN:
            e.dry_run = true;
            break;
        case OPT_YES:
            e.yes = true;
            break;
        case OPT_ALL:
            e.fleet.all = true;
            break;
        case OPT_TAG:
            e.fleet.tag = p.value;
            break;
        case OPT_WAIT:
            e.fleet.wait_s = atoi(p.value);
            if (e.fleet.wait_s <= 0)
                return rt_cli_opts_bad_value(&p, "'%s': expected seconds > 0", p.value);
            break;
        }
    }
    char bucket[64], prefix[1024];
    if (!e.set.store)
        return rt_cli_usage_error("enable", "--store s3://BUCKET/PREFIX is required");
    if (!rt_fleet_parse_s3(e.set.store, bucket, sizeof bucket, prefix, sizeof prefix))
        return rt_cli_usage_error("enable", "--store '%s': expected s3://BUCKET/PREFIX",
                                  e.set.store);
    if (!e.layer_arg == !e.publish)
        return rt_cli_usage_error("enable", "name the layer: --layer ARN or --publish-layer");
    if (p.first_operand >= argc && !e.fleet.all)
        return rt_cli_usage_error("enable", "name at least one function, or --all");
    if (!e.yes && !e.dry_run && !isatty(STDIN_FILENO))
        return rt_cli_usage_error("enable", "stdin is not a terminal: pass --yes to apply "
                                            "(or --dry-run to see the change)");
    snprintf(e.arch, sizeof e.arch, "%s", build_arch());
    char default_name[32];
    snprintf(default_name, sizeof default_name, "runtrail-%s", e.arch);
    if (!e.layer_name)
        e.layer_name = default_name;
    if (e.publish) {
        struct rt_lambda_arn chk;
        char probe[200];
        snprintf(probe, sizeof probe, "arn:aws:lambda:r:1:layer:%s:1", e.layer_name);
        if (rt_lambda_parse_arn(probe, &chk, NULL) != RT_OK)
            return rt_cli_usage_error("enable", "--layer-name '%s': 1 to 140 of A-Z a-z 0-9 - _",
                                      e.layer_name);
        e.set.layer_archs = json_pack("[s]", e.arch);
    }
    int status = rt_fleet_open(&e.fleet);
    if (status != RT_EXIT_OK)
        return status;
    json_t *names = NULL;
    if (e.layer_arg)
        status = resolve_layer(&e);
    if (status == RT_EXIT_OK)
        status = rt_fleet_targets(&e.fleet, argc - p.first_operand, argv + p.first_operand, &names);
    if (status == RT_EXIT_OK) {
        if (!json_array_size(names))
            printf("no function matched%s%s\n", e.fleet.tag ? " --tag " : "",
                   e.fleet.tag ? e.fleet.tag : "");
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) if (enable_one(&e, json_string_value(n)) != RT_EXIT_OK)
            status = RT_EXIT_USAGE;
    }
    json_decref(names);
    json_decref(e.set.layer_archs);
    free(e.published);
    rt_fleet_close(&e.fleet);
    return status;
}
