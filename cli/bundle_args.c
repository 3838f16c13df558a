/* Bundle arguments shared by the commands that read bundles (show, diff): an argument is a
 * bundle file, '-' for standard input, or a request id looked up in the catalog. */
#include "cli/cli.h"
#include "formats/escape.h"
#include "store/catalog.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool rt_cli_is_request_id(const char *arg)
{
    size_t n = strlen(arg);
    return n && strcmp(arg, "-") && !strchr(arg, '/') && !(n > 4 && !strcmp(arg + n - 4, ".rtb")) &&
           access(arg, F_OK) != 0;
}

int rt_cli_paths_add(struct rt_cli_paths *p, const char *path)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        char **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    if (!(p->v[p->n] = strdup(path)))
        return -1;
    p->n++;
    return 0;
}

void rt_cli_paths_free(struct rt_cli_paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
    memset(p, 0, sizeof *p);
}

static int add_row_path(const struct rt_catalog_row *r, void *arg)
{
    return r->path && rt_cli_paths_add(arg, r->path) ? -1 : 0;
}

/* The bundles of request id `id` in the catalog of `cache`, oldest first. */
static int resolve_request_id(const char *id, const char *cache, struct rt_cli_paths *out)
{
    char dir[4096], db[4200], name[512];
    rt_escape_buf(name, sizeof name, id, strlen(id), 0);
    if (rt_catalog_dir(cache, dir, sizeof dir) != RT_OK) {
        rt_cli_error("%s: no such file, and no cache folder to look it up as a request id "
                     "(use --cache or set RUNTRAIL_CACHE)",
                     name);
        return RT_EXIT_USAGE;
    }
    snprintf(db, sizeof db, "%s/" RT_CATALOG_FILE, dir);
    char where[4400];
    rt_escape_buf(where, sizeof where, db, strlen(db), 0);
    if (access(db, F_OK) != 0) {
        rt_cli_error("%s: no such file, and no catalog to look it up as a request id (%s does "
                     "not exist: runtrail pull or runtrail index first)",
                     name, where);
        return RT_EXIT_USAGE;
    }
    struct rt_catalog *cat = NULL;
    struct rt_errinfo ei;
    const char *ids[1] = {id};
    struct rt_catalog_filter f = {.status = -1, .request_ids = ids, .n_request_ids = 1};
    size_t before = out->n;
    int rc = rt_catalog_open(dir, &cat, &ei);
    if (rc == RT_OK)
        rc = rt_catalog_query(cat, &f, add_row_path, out, &ei);
    rt_catalog_close(cat);
    if (rc != RT_OK) {
        char msg[512];
        rt_cli_error("%s: %s", where,
                     rc < 0 ? "out of memory" : rt_errinfo_format(rc, &ei, msg, sizeof msg));
        return RT_EXIT_USAGE;
    }
    if (out->n == before) {
        rt_cli_error("%s: no such file, and no bundle with this request id in the catalog (%s)",
                     name, where);
        return RT_EXIT_USAGE;
    }
    return 0;
}

int rt_cli_bundle_arg(const char *arg, const char *cache, struct rt_cli_paths *out)
{
    if (rt_cli_is_request_id(arg))
        return resolve_request_id(arg, cache, out);
    if (rt_cli_paths_add(out, arg)) {
        rt_cli_error("out of memory");
        return RT_EXIT_USAGE;
    }
    return 0;
}
