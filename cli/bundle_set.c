/* The invocations `baseline learn` and `check` work on: bundle files, folders of bundles
 * (recursive, in name order so that learning is reproducible), request ids, and the catalog's
 * invocations of a function in a time range. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "store/catalog.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int add_dir(const char *cmd, const char *dir, struct rt_cli_paths *out, int depth)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        char esc[4096];
        rt_escape_buf(esc, sizeof esc, dir, strlen(dir), 0);
        rt_cli_error("%s: %s: cannot read the folder", cmd, esc);
        return RT_EXIT_USAGE;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (!rc && name[0] != '.') {
            char *path = malloc(strlen(dir) + len + 2);
            struct stat sb;
            if (!path) {
                rc = RT_EXIT_USAGE;
            } else {
                sprintf(path, "%s/%s", dir, name);
                if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && depth < 32)
                    rc = add_dir(cmd, path, out, depth + 1);
                else if (len > 4 && !strcmp(name + len - 4, RT_BUNDLE_EXT) &&
                         rt_cli_paths_add(out, path))
                    rc = RT_EXIT_USAGE;
                free(path);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int add_row(const struct rt_catalog_row *r, void *arg)
{
    return r->path && rt_cli_paths_add(arg, r->path) ? -1 : 0;
}

static int from_catalog(const char *cmd, const struct rt_cli_bundle_set *set,
                        struct rt_cli_paths *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    struct rt_catalog_filter f = {.function = set->function, .status = -1};
    if (set->since && rt_parse_time(set->since, now, &f.since_ns) != RT_OK)
        return rt_cli_usage_error(cmd, "--since '%s': %s", set->since,
                                  rt_strerror(RT_ERR_TIME_FORMAT));
    if (set->until && rt_parse_time(set->until, now, &f.until_ns) != RT_OK)
        return rt_cli_usage_error(cmd, "--until '%s': %s", set->until,
                                  rt_strerror(RT_ERR_TIME_FORMAT));
    char dir[4096];
    if (rt_catalog_dir(set->cache, dir, sizeof dir) != RT_OK) {
        rt_cli_error("%s: no cache folder (use --cache or set RUNTRAIL_CACHE)", cmd);
        return RT_EXIT_USAGE;
    }
    struct rt_catalog *cat = NULL;
    struct rt_errinfo ei;
    int rc = rt_catalog_open(dir, &cat, &ei);
    if (rc == RT_OK)
        rc = rt_catalog_query(cat, &f, add_row, out, &ei);
    rt_catalog_close(cat);
    if (rc != RT_OK) {
        char msg[512], esc[4096];
        rt_escape_buf(esc, sizeof esc, dir, strlen(dir), 0);
        rt_cli_error("%s: catalog in %s: %s", cmd, esc,
                     rc < 0 ? "out of memory" : rt_errinfo_format(rc, &ei, msg, sizeof msg));
        return RT_EXIT_USAGE;
    }
    return 0;
}

int rt_cli_bundle_set(const char *cmd, const struct rt_cli_bundle_set *set,
                      struct rt_cli_paths *out)
{
    for (int i = 0; i < set->n_operands; i++) {
        const char *arg = set->operands[i];
        struct stat sb;
        int rc = stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode)
                     ? add_dir(cmd, arg, out, 0)
                     : rt_cli_bundle_arg(arg, set->cache, out);
        if (rc)
            return rc;
    }
    if (set->function)
        return from_catalog(cmd, set, out);
    return 0;
}
