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
    "left out. Indexing a bundle again is a no-op. Folders are searched following\n"
    "symbolic links, each folder once (a link loop ends the walk).\n"
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
    "Exit status: 0 ok, 2 usage error, a bundle that could not be indexed, or a\n"
    "catalog that could not be written (locked by another runtrail past a 10 s wait,\n"
    "a full disk): then only what this run committed before the failure is indexed\n"
    "(the run commits after every million events), and the summary says how much.\n"
    "See runtrail-index(1).\n";

static const struct rt_cli_spec index_spec = {"index", help_head, options, help_tail, false};

/* ok: indexed and committed; pending: indexed since the last commit (rt_catalog_commits). */
struct counts {
    size_t ok, bad, pending;
    uint64_t commits;
};

static void report(const char *path, int rc, const struct rt_errinfo *ei)
{
    char buf[600], esc[PATH_MAX * 4];
    rt_errinfo_format(rc, ei, buf, sizeof buf);
    rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
    rt_cli_error("%s: %s", esc, buf);
}

struct walk {
    struct rt_catalog *cat;
    struct counts *c;
};

static void on_file(const char *path, void *arg)
{
    struct walk *w = arg;
    struct rt_errinfo ei;
    int rc = rt_catalog_index_file(w->cat, path, NULL, &ei);
    if (rc == RT_OK) {
        w->c->pending++;
        if (rt_catalog_commits(w->cat) != w->c->commits) { /* a commit holds it */
            w->c->commits = rt_catalog_commits(w->cat);
            w->c->ok += w->c->pending;
            w->c->pending = 0;
        }
    } else {
        report(path, rc, &ei);
        w->c->bad++;
    }
}

static void on_error(const char *path, const char *reason, void *arg)
{
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    rt_fail(&ei, RT_ERR_IO, -1, "%s", reason);
    report(path, RT_ERR_IO, &ei);
    (void)arg;
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
    struct counts c = {0, 0, 0, rt_catalog_commits(cat)};
    /* a batch's errors are the catalog file's (an open error may be the folder's) */
    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/" RT_CATALOG_FILE, dir);
    rc = rt_catalog_begin_batch(cat, &ei);
    if (rc != RT_OK) { /* locked by another runtrail past the busy timeout, or unwritable */
        report(file, rc, &ei);
        rt_catalog_close(cat);
        return RT_EXIT_USAGE;
    }
    struct walk w = {cat, &c};
    static const struct rt_cli_walk_ops ops = {on_file, on_error};
    for (int i = first; i < argc; i++)
        c.bad += (size_t)rt_cli_walk_bundles(argv[i], &ops, &w);
    rc = rt_catalog_end_batch(cat, &ei);
    rt_catalog_close(cat);
    if (rc != RT_OK) {
        report(file, rc, &ei);
        /* what earlier commits held stays indexed; the rest of the batch is not */
        printf("indexed %zu bundles, %zu failed, %zu not committed (the last commit failed); "
               "catalog %s\n",
               c.ok, c.bad, c.pending, file);
        return RT_EXIT_USAGE;
    }
    /* what the batch held is indexed only now that the commit succeeded */
    c.ok += c.pending;
    printf("indexed %zu bundles, %zu failed; catalog %s\n", c.ok, c.bad, file);
    return c.bad ? RT_EXIT_USAGE : RT_EXIT_OK;
}
