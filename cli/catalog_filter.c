/* The catalog filters of `runtrail ls` (--function, --since, --until, --status, --path,
 * --dest, --exec, --aws, --request-id, --limit, --findings, --cache), parsed and queried in one
 * place for every command that selects invocations the way ls does (ls, export). */
#include "cli/cli.h"
#include "formats/escape.h"
#include "store/catalog.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rt_cli_filter_init(struct rt_cli_filter *flt)
{
    memset(flt, 0, sizeof *flt);
    flt->f.status = -1;
}

int rt_cli_filter_arg(const char *cmd, struct rt_cli_filter *flt, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    struct rt_catalog_filter *f = &flt->f;
    if (!strcmp(a, "--findings")) {
        f->with_findings = true;
        flt->any = true;
        return 1;
    }
    static const char *const with_value[] = {"--function",   "--since", "--until", "--status",
                                             "--path",       "--dest",  "--exec",  "--aws",
                                             "--request-id", "--limit", "--cache"};
    bool known = false;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0] && !known; k++)
        known = !strcmp(a, with_value[k]);
    if (!known)
        return 0;
    if (*i + 1 >= argc) {
        rt_cli_usage_error(cmd, "%s needs a value", a);
        return -1;
    }
    const char *val = argv[++*i];
    if (strcmp(a, "--cache"))
        flt->any = true;
    if (!strcmp(a, "--function")) {
        f->function = val;
    } else if (!strcmp(a, "--since") || !strcmp(a, "--until")) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        int64_t *dst = a[2] == 's' ? &f->since_ns : &f->until_ns;
        if (rt_parse_time(val, now, dst) != RT_OK) {
            rt_cli_usage_error(cmd, "%s '%s': %s", a, val, rt_strerror(RT_ERR_TIME_FORMAT));
            return -1;
        }
        /* The filter reads 0 as "no bound": --until at the epoch itself (1970-01-01)
         * becomes 1 ns before it, which no recorded invocation can start at, instead of
         * silently filtering nothing. --since 0 needs no bound. */
        if (dst == &f->until_ns && *dst == 0)
            *dst = -1;
    } else if (!strcmp(a, "--status")) {
        f->status = rt_status_from_name(val);
        if (f->status < 0) {
            rt_cli_usage_error(cmd, "--status '%s': ok, error, timeout, crash or unknown", val);
            return -1;
        }
    } else if (!strcmp(a, "--path")) {
        f->path_glob = val;
    } else if (!strcmp(a, "--dest")) {
        f->dest = val;
    } else if (!strcmp(a, "--exec")) {
        f->exec = val;
    } else if (!strcmp(a, "--aws")) {
        f->aws_glob = val;
    } else if (!strcmp(a, "--request-id")) {
        if (f->n_request_ids >= RT_CLI_MAX_IDS) {
            rt_cli_usage_error(cmd, "at most %d --request-id", RT_CLI_MAX_IDS);
            return -1;
        }
        flt->ids[f->n_request_ids++] = val;
        f->request_ids = flt->ids;
    } else if (!strcmp(a, "--limit")) {
        char *end;
        long long n = strtoll(val, &end, 10);
        if (*end || n < 1) {
            rt_cli_usage_error(cmd, "--limit wants a positive number");
            return -1;
        }
        f->limit = (size_t)n;
    } else {
        flt->cache = val;
    }
    return 1;
}

int rt_cli_filter_query(const char *cmd, const struct rt_cli_filter *flt,
                        int (*fn)(const struct rt_catalog_row *row, void *arg), void *arg,
                        char *dir, size_t dir_cap)
{
    (void)cmd;
    if (rt_catalog_dir(flt->cache, dir, dir_cap) != RT_OK)
        return rt_cli_usage_error(cmd, "no cache folder: use --cache or set RUNTRAIL_CACHE");
    struct rt_catalog *cat = NULL;
    struct rt_errinfo ei;
    int rc = rt_catalog_open_readonly(dir, &cat, &ei);
    if (rc == RT_OK)
        rc = rt_catalog_query(cat, &flt->f, fn, arg, &ei);
    rt_catalog_close(cat);
    if (rc != RT_OK) {
        char buf[600], esc[PATH_MAX];
        rt_escape_buf(esc, sizeof esc, dir, strlen(dir), 0);
        rt_cli_error("%s: %s", esc,
                     rc < 0 ? "out of memory" : rt_errinfo_format(rc, &ei, buf, sizeof buf));
        return RT_EXIT_USAGE;
    }
    return RT_EXIT_OK;
}
