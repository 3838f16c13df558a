/* `runtrail view`: the terminal UI over the catalog and the bundles (ncursesw). The CLI
 * parses the command line and calls rt_viewer_run(); everything on the screen is drawn by
 * viewer/ and every captured string is escaped (formats/escape.h) before it reaches the
 * terminal. */
#ifndef RUNTRAIL_VIEWER_VIEWER_H
#define RUNTRAIL_VIEWER_VIEWER_H

#include "store/catalog.h"

#include <stddef.h>

struct rt_viewer_opts {
    const char *cache_dir;   /* the catalog's folder (rt_catalog_dir) */
    const char *bundle_path; /* open this bundle's timeline (no catalog needed); or NULL */
    /* The invocation list's first filter (the `ls` options given on the command line) and
     * its text for the filter prompt ("--function api --since 24h"). */
    const struct rt_catalog_filter_args *filter;
    const char *filter_text;
};

/* Runs the UI until the user quits. Returns 0, or -1 with a message in err (no terminal,
 * unreadable catalog or bundle) after the terminal has been restored. */
int rt_viewer_run(const struct rt_viewer_opts *opts, char *err, size_t cap);

#endif
