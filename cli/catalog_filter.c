/* The catalog filters of `runtrail ls` (--function, --since, --until, --status, --path,
 * --dest, --exec, --aws, --request-id, --limit, --findings, --cache) from argv, parsed by the
 * catalog's own option parser (store/catalog_filter.c, which the viewer's filter prompt also
 * uses) and queried in one place for every command that selects invocations the way ls does
 * (ls, export). */
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
    rt_catalog_filter_args_init(&flt->a);
}

int rt_cli_filter_arg(const char *cmd, struct rt_cli_filter *flt, int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    if (!strcmp(opt, "--cache")) {
        if (*i + 1 >= argc) {
            rt_cli_usage_error(cmd, "--cache needs a value");
            return -1;
        }
        flt->cache = argv[++*i];
        return 1;
    }
    int kind = rt_catalog_filter_kind(opt);
    if (!kind)
        return 0;
    const char *val = kind == 2 && *i + 1 < argc ? argv[*i + 1] : NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    char err[512];
    if (rt_catalog_filter_option(&flt->a, opt, val, now, err, sizeof err) < 0) {
        char esc[sizeof err * 4];
        rt_escape_buf(esc, sizeof esc, err, strlen(err), 0);
        rt_cli_usage_error(cmd, "%s", esc);
        return -1;
    }
    *i += kind == 2;
    flt->any = true;
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
        rc = rt_catalog_query(cat, &flt->a.f, fn, arg, &ei);
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
