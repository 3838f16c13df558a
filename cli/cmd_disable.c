/* runtrail disable: undoes `runtrail enable` on functions. It reads RUNTRAIL_SAVED (what
 * enable replaced), removes the layer enable added (or puts back the runtrail layer it
 * replaced), restores or removes each variable enable set, drops RUNTRAIL_SAVED, applies the
 * update and waits until it is applied. Layers and variables anyone else changed since are
 * left as they are now. */
#include "cli/cli.h"
#include "cli/fleet.h"
#include "control/enable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help_head[] =
    "usage: runtrail disable FUNCTION... [--dry-run] | --all [--tag K=V]\n"
    "\n"
    "Turn recording off for functions `runtrail enable` turned it on for: remove the layer it\n"
    "added (or put back the runtrail layer it replaced) and give back every variable it set\n"
    "its value from before (or remove it), as recorded in the function's RUNTRAIL_SAVED\n"
    "variable; wait until the update is applied and print what changed. Layers and variables\n"
    "that others changed since are kept as they are now. With --all, functions without\n"
    "RUNTRAIL_SAVED are skipped.\n"
    "\n";

enum { OPT_DRY_RUN = 1, OPT_ALL, OPT_TAG, OPT_WAIT };
static const struct rt_opt options[] = {
    {OPT_DRY_RUN, "dry-run", 'n', NULL, "print the change as a diff; change nothing"},
    {OPT_ALL, "all", 0, NULL, "every function of the region that runtrail enabled"},
    {OPT_TAG, "tag", 0, "K=V", "with --all: only functions tagged K=V"},
    {OPT_WAIT, "wait", 0, "SECONDS",
     "how long to wait for each update to apply (default\n300), and for another update in progress "
     "(default 60)"},
    RT_FLEET_OPTIONS,
    {0},
};

static const char help_tail[] =
    "\n"
    "Exit status: 0 every named function disabled, 2 a usage error, or a function that was\n"
    "not enabled by runtrail enable or could not be changed (the others are still done).\n"
    "See runtrail-disable(1), runtrail-enable(1) and docs/deploy.md.\n";

static const struct rt_cli_spec disable_spec = {"disable", help_head, options, help_tail, false};

static int disable_one(struct rt_fleet *f, const char *name, bool dry_run)
{
    for (int round = 0; round < 3; round++) {
        struct rt_errinfo ei;
        json_t *cfg = NULL, *update = NULL;
        int rc = rt_lambda_get_configuration(f->lambda, name, &cfg, &ei);
        if (rc == RT_OK)
            rc = rt_disable_plan(cfg, &update, &ei);
        if (rc == RT_ERR_LAMBDA_NOT_ENABLED && f->all) {
            json_decref(cfg);
            return RT_EXIT_OK;
        }
        if (rc != RT_OK) {
            rt_fleet_error(f, name, rc, &ei);
            json_decref(cfg);
            return RT_EXIT_USAGE;
        }
        json_t *after = rt_enable_apply(cfg, update);
        json_t *lb = rt_enable_lines(cfg), *la = rt_enable_lines(after);
        printf("--- %s (now)\n+++ %s (%s)\n", name, name,
               dry_run ? "after disable: dry run, nothing changed" : "after disable");
        rt_enable_diff(stdout, lb, la);
        json_decref(lb);
        json_decref(la);
        json_decref(after);
        json_decref(cfg);
        if (dry_run) {
            json_decref(update);
            return RT_EXIT_OK;
        }
        rc = rt_fleet_apply(f, name, update, NULL, &ei);
        json_decref(update);
        if (rc == RT_ERR_LAMBDA_CHANGED)
            continue;
        if (rc != RT_OK) {
            rt_fleet_error(f, name, rc, &ei);
            return RT_EXIT_USAGE;
        }
        printf("%s: recording off; layers and variables restored\n", name);
        return RT_EXIT_OK;
    }
    rt_cli_error("disable: %s: its configuration kept changing; try again", name);
    return RT_EXIT_USAGE;
}

RT_COMMAND(disable, "turn recording off: restore what enable replaced")
{
    struct rt_fleet f = {.cmd = "disable"};
    bool dry_run = false;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &disable_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
        if (rt_fleet_option(&f, id, p.value))
            continue;
        switch (id) {
        case OPT_DRY_RUN:
            dry_run = true;
            break;
        case OPT_ALL:
            f.all = true;
            break;
        case OPT_TAG:
            f.tag = p.value;
            break;
        case OPT_WAIT:
            f.wait_s = atoi(p.value);
            if (f.wait_s <= 0)
                return rt_cli_opts_bad_value(&p, "'%s': expected seconds > 0", p.value);
            break;
        }
    }
    if (p.first_operand >= argc && !f.all)
        return rt_cli_usage_error("disable", "name at least one function, or --all");
    int status = rt_fleet_open(&f);
    if (status != RT_EXIT_OK)
        return status;
    json_t *names = NULL;
    status = rt_fleet_targets(&f, argc - p.first_operand, argv + p.first_operand, &names);
    if (status == RT_EXIT_OK) {
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) if (disable_one(&f, json_string_value(n), dry_run) !=
                                            RT_EXIT_OK) status = RT_EXIT_USAGE;
    }
    json_decref(names);
    rt_fleet_close(&f);
    return status;
}
