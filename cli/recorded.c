/* After a recording command (invoke, emulate) the bundles it wrote into a local folder store
 * are indexed into the user's catalog, so `ls` with no arguments sees
 * everything runtrail recorded. The recorder inside the sandbox never touches the catalog;
 * this runs on the user's side once the invocations are done. S3 stores are indexed by
 * `runtrail pull`. Bundles the store refused (left in the recorder's spool) are reported
 * loudly: a recording that did not reach its store must never look like a success. */
#include "cli/cli.h"
#include "store/catalog.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static struct {
    struct rt_catalog *cat;
    int64_t since_ns;
    unsigned indexed, failed;
    const char *cmd;
} walk;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    size_t n = strlen(path), ext = strlen(RT_BUNDLE_EXT);
    if (type != FTW_F || n < ext || strcmp(path + n - ext, RT_BUNDLE_EXT) != 0)
        return 0;
    int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    if (mtime_ns < walk.since_ns)
        return 0;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    int rc = rt_catalog_index_file(walk.cat, path, NULL, &ei);
    if (rc == RT_OK) {
        walk.indexed++;
    } else {
        char msg[512];
        walk.failed++;
        rt_cli_error("%s: %s: not indexed: %s", walk.cmd, path,
                     rt_errinfo_format(rc, &ei, msg, sizeof msg));
    }
    return 0;
}

int rt_cli_index_recorded(const char *cmd, const char *store_url, int64_t since_wall_ns)
{
    if (!store_url || strstr(store_url, "s3://") == store_url)
        return 0;
    const char *dir = strncmp(store_url, "file://", 7) == 0 ? store_url + 7 : store_url;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0; /* nothing was recorded */

    char cache[PATH_MAX], msg[512];
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    int rc = rt_catalog_dir(NULL, cache, sizeof cache);
    if (rc == RT_OK)
        rc = rt_catalog_open(cache, &walk.cat, &ei);
    if (rc != RT_OK) {
        rt_cli_error("%s: bundles recorded but not indexed: %s", cmd,
                     rt_errinfo_format(rc, &ei, msg, sizeof msg));
        return -1;
    }
    walk.since_ns = since_wall_ns - 1000000000; /* file systems with coarse timestamps */
    walk.indexed = walk.failed = 0;
    walk.cmd = cmd;
    rt_catalog_begin_batch(walk.cat, NULL);
    nftw(dir, visit, 16, FTW_PHYS);
    rt_catalog_end_batch(walk.cat, NULL);
    rt_catalog_close(walk.cat);
    walk.cat = NULL;
    return walk.failed ? -1 : (int)walk.indexed;
}

void rt_cli_report_spooled(const char *cmd, const char *store_url, size_t n, const char *spool_dir,
                           bool user_credentials)
{
    if (!n)
        return;
    rt_cli_error("%s: %zu bundle%s NOT stored in %s: the store refused %s or could not be "
                 "reached; kept in %s (runtrail index %s reads them)",
                 cmd, n, n == 1 ? " was" : "s were", store_url, n == 1 ? "it" : "them", spool_dir,
                 spool_dir);
    if (!strncmp(store_url, "s3://", 5) && !user_credentials)
        rt_cli_error("%s: the emulated function has fake AWS credentials; give the recorder "
                     "real ones with --env AWS_ACCESS_KEY_ID=... --env AWS_SECRET_ACCESS_KEY=... "
                     "(and --env AWS_ENDPOINT_URL=... for another endpoint); see "
                     "docs/emulator.md",
                     cmd);
}
