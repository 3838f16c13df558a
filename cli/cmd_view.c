/* runtrail view: the terminal UI (viewer/). With no operand, the invocations of the catalog,
 * filtered by the options of `ls`; with a bundle file (or a request id), its timeline. The
 * filter options are parsed by the catalog's parser, the one `ls` uses. */
#include "cli/cli.h"
#include "store/catalog.h"
#include "viewer/viewer.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: runtrail view [--function F] [--since T] [--until T] [--status S] [--path GLOB]\n"
    "                     [--dest D] [--exec PATH] [--request-id ID]... [--limit N]\n"
    "                     [--findings] [--cache DIR]\n"
    "       runtrail view BUNDLE|REQUEST_ID [--cache DIR]\n"
    "\n"
    "Browse invocations and timelines in the terminal. Without an operand: the catalog's\n"
    "invocations as a table (time, function, request id, duration, status, events,\n"
    "destinations, flags, findings) under a strip of invocations over time; the filters are\n"
    "those of runtrail ls, and f changes them on the screen. Enter opens an invocation's\n"
    "timeline; Enter on an event its detail. With BUNDLE (a .rtb file) or a request id: that\n"
    "bundle's timeline. ? or F1 lists every key.\n"
    "\n"
    "  --cache DIR        cache folder (default $RUNTRAIL_CACHE, else\n"
    "                     ${XDG_CACHE_HOME:-~/.cache}/runtrail)\n"
    "  -h, --help         this help\n"
    "\n"
    "Captured strings are escaped (\\x1b, \\n): nothing raw reaches the terminal. NO_COLOR\n"
    "set: no colours.\n"
    "\n"
    "Exit status: 0 quit, 2 usage error, no terminal or unreadable catalog or bundle.\n"
    "See runtrail-view(1) and docs/viewer.md.\n";

RT_COMMAND(view, "browse invocations and timelines in the terminal (ncurses)")
{
    if (rt_cli_wants_help(argc, argv))
        return rt_cli_help(help);
    struct rt_catalog_filter_args fa;
    rt_catalog_filter_args_init(&fa);
    const char *cache = NULL, *operand = NULL;
    char text[2048] = "";
    size_t tl = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        char err[300];
        int kind = rt_catalog_filter_option(&fa, a, val, now, err, sizeof err);
        if (kind < 0)
            return rt_cli_usage_error("view", "%s", err);
        if (kind > 0) {
            /* The filter prompt starts with what the command line said. */
            int w = snprintf(text + tl, sizeof text - tl, "%s%s%s%s%s%s", tl ? " " : "", a,
                             kind == 2 ? " " : "", kind == 2 && strpbrk(val, " \t") ? "'" : "",
                             kind == 2 ? val : "", kind == 2 && strpbrk(val, " \t") ? "'" : "");
            if (w > 0 && (size_t)w < sizeof text - tl)
                tl += (size_t)w;
            i += kind == 2;
        } else if (!strcmp(a, "--cache")) {
            if (!val)
                return rt_cli_usage_error("view", "--cache needs a value");
            cache = val;
            i++;
        } else if (a[0] == '-' && a[1]) {
            return rt_cli_usage_error("view", "unknown option '%s'", a);
        } else if (operand) {
            return rt_cli_usage_error("view", "one bundle at a time ('%s' and '%s')", operand, a);
        } else {
            operand = a;
        }
    }
    char dir[PATH_MAX];
    if (rt_catalog_dir(cache, dir, sizeof dir) != RT_OK)
        return rt_cli_usage_error("view", "no cache folder: use --cache or set RUNTRAIL_CACHE");
    struct rt_cli_paths paths = {0};
    if (operand) {
        if (tl)
            return rt_cli_usage_error("view", "filters are for the invocation list, not a bundle");
        int rc = rt_cli_bundle_arg(operand, cache, &paths);
        if (rc != 0)
            return rc;
        if (paths.n == 0) {
            rt_cli_paths_free(&paths);
            return rt_cli_usage_error("view", "%s: no bundle", operand);
        }
    }
    struct rt_viewer_opts o = {
        .cache_dir = dir,
        .bundle_path = operand ? paths.v[paths.n - 1] : NULL, /* a request id: its newest */
        .filter = &fa,
        .filter_text = text,
    };
    char err[700];
    int rc = rt_viewer_run(&o, err, sizeof err);
    rt_cli_paths_free(&paths);
    if (rc != 0) {
        rt_cli_error("view: %s", err);
        return RT_EXIT_USAGE;
    }
    return RT_EXIT_OK;
}
