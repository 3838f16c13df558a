/* runtrail index: adds local bundles to the catalog. Each PATH is a bundle file or a folder
 * searched recursively for *.rtb; every bundle is verified (checksum, footer digest) while it
 * is indexed, and one that fails is reported and left out. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "store/catalog.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help_head[] =
    "usage: runtrail index [--cache DIR] PATH...\n"
    "\n"
    "Add local bundles to the catalog so that ls, view and check see them. A PATH is a\n"
    "bundle (.rtb) or a folder, searched recursively for *.rtb. Each bundle is verified\n"
    "(zstd checksum, footer digest) while it is indexed; one that fails is reported and\n"
    "left out. Indexing a bundle again is a no-op.\n"
    "\n";

enum { OPT_CACHE = 1 };
static const struct rt_opt options[] = {
    {OPT_CACHE, "cache", 0, "DIR",
     "cache folder holding catalog.sqlite (default $RUNTRAIL_CACHE, else\n"
     "${XDG_CACHE_HOME:-~/.cache}/runtrail)"},
    {0},
};

static const char help_tail[] =
    "\n"
    "Exit status: 0 ok, 2 usage error or a bundle that could not be indexed.\n"
    "See runtrail-index(1).\n";

static const struct rt_cli_spec index_spec = {"index", help_head, options, help_tail, false};

struct counts {
    size_t ok, bad;
};

static void report(const char *path, int rc, const struct rt_errinfo *ei)
{
    char buf[600], esc[PATH_MAX * 4];
    rt_errinfo_format(rc, ei, buf, sizeof buf);
    rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
    rt_cli_error("%s: %s", esc, buf);
}

static void index_path(struct rt_catalog *cat, const char *path, bool top, struct counts *c,
                       int depth)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        struct rt_errinfo ei;
        rt_errinfo_clear(&ei);
        snprintf(ei.detail, sizeof ei.detail, "no such file or folder");
        report(path, RT_ERR_IO, &ei);
        c->bad++;
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        if (depth > 32)
            return;
        DIR *d = opendir(path);
        if (!d) {
            report(path, RT_ERR_IO, NULL);
            c->bad++;
            return;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char child[PATH_MAX];
            if (snprintf(child, sizeof child, "%s/%s", path, de->d_name) >= (int)sizeof child)
                continue;
            size_t nl = strlen(de->d_name), el = strlen(RT_BUNDLE_EXT);
            struct stat cs;
            if (stat(child, &cs) != 0)
                continue;
            if (S_ISDIR(cs.st_mode) || (nl > el && !strcmp(de->d_name + nl - el, RT_BUNDLE_EXT)))
                index_path(cat, child, false, c, depth + 1);
        }
        closedir(d);
        return;
    }
    (void)top;
    struct rt_errinfo ei;
    int rc = rt_catalog_index_file(cat, path, NULL, &ei);
    if (rc == RT_OK) {
        c->ok++;
    } else {
        report(path, rc, &ei);
        c->bad++;
    }
}

RT_COMMAND(index, "add local bundles or folders of bundles to the catalog")
{
    const char *cache = NULL;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &index_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
        if (id == OPT_CACHE)
            cache = p.value;
    }
    int first = p.first_operand;
    if (first >= argc)
        return rt_cli_usage_error("index", "give at least one bundle or folder");
    char dir[PATH_MAX];
    if (rt_catalog_dir(cache, dir, sizeof dir) != RT_OK)
        return rt_cli_usage_error("index", "no cache folder: use --cache or set RUNTRAIL_CACHE");
    struct rt_catalog *cat;
    struct rt_errinfo ei;
    int rc = rt_catalog_open(dir, &cat, &ei);
    if (rc != RT_OK) {
        report(dir, rc, &ei);
        return RT_EXIT_USAGE;
    }
    struct counts c = {0, 0};
    rt_catalog_begin_batch(cat, NULL);
    for (int i = first; i < argc; i++)
        index_path(cat, argv[i], true, &c, 0);
    rc = rt_catalog_end_batch(cat, &ei);
    rt_catalog_close(cat);
    if (rc != RT_OK) {
        report(dir, rc, &ei);
        return RT_EXIT_USAGE;
    }
    printf("indexed %zu bundles, %zu failed; catalog %s/catalog.sqlite\n", c.ok, c.bad, dir);
    return c.bad ? RT_EXIT_USAGE : RT_EXIT_OK;
}
