/* Unit tests of the recording library (recorder/record.c), as replay will use it: a command
 * run under the interposer gives a bundle with its exit status, its events and its output
 * lines; a regular-file stdout is handed over as is and read back; stdout and stderr that are
 * the same file keep their order as one stream; a command that cannot be run reports its
 * errno and exits 127. */
#include "recorder/record.h"
#include "tmpdir.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

RT_TMPDIR_SUITE(record);

static const char *preload_path(void)
{
    static char path[512];
    const char *build = getenv("BUILD");
    snprintf(path, sizeof path, "%s/lib/libruntrail-preload.so", build && *build ? build : "build");
    cr_assert_eq(access(path, R_OK), 0, "%s (run from the repository root)", path);
    return path;
}

/* Runs argv with stdout and stderr both going to out_fd (or each to its own); returns the
 * opened bundle and the wait status. */
static struct rt_bundle *record(char *const *argv, const char *preload, int out_fd, int err_fd,
                                int *status, int *exec_errno)
{
    struct rt_record_config cfg = {
        .argv = argv, .preload = preload, .ring_dir = tmpdir, .out_fd = out_fd, .err_fd = err_fd};
    struct rt_recording *r = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_record_start(&cfg, &r, &ei), RT_OK, "%s", ei.detail);
    if (preload)
        cr_assert_eq(rt_record_ring_error(r, NULL), RT_OK);
    *status = rt_record_wait(r);
    *exec_errno = rt_record_exec_errno(r);
    struct rt_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.function = "unit";
    meta.request_id = "req";
    meta.sandbox_id = "sb";
    uint8_t *data = NULL;
    size_t len = 0;
    struct rt_record_stats stats;
    cr_assert_eq(rt_record_seal(r, &meta, &data, &len, &stats), RT_OK);
    cr_assert_eq(stats.events_stored <= stats.events_seen, true);
    rt_record_free(r);
    struct rt_bundle *b = NULL;
    cr_assert_eq(rt_bundle_open_mem(data, len, &b, &ei), RT_OK, "%s", ei.detail);
    free(data);
    return b;
}

static bool has_log(const struct rt_bundle *b, int stream, const char *text)
{
    for (size_t i = 0; i < b->n_logs; i++)
        if (b->logs[i].stream == stream && b->logs[i].text.len == strlen(text) &&
            !memcmp(b->logs[i].text.ptr, text, b->logs[i].text.len))
            return true;
    return false;
}

Test(record, command_events_logs_and_status)
{
    char out[300];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    char *argv[] = {"sh", "-c", "echo one; echo two >&2; cat /nonexistent/unit 2>/dev/null; exit 3",
                    NULL};
    int status, exec_errno;
    struct rt_bundle *b = record(argv, preload_path(), fd, fd, &status, &exec_errno);
    close(fd);
    cr_assert_eq(rt_record_exit_code(status), 3);
    cr_assert_eq(exec_errno, 0);
    cr_assert_eq(b->meta.exit_status, 3);
    cr_assert_eq(b->meta.status, RT_STATUS_ERROR);
    cr_assert(b->meta.coverage & RT_COV_PRELOAD);
    /* The same file for both: one stream, in order. */
    cr_assert(has_log(b, 1, "one") && has_log(b, 1, "two"), "%zu logs", b->n_logs);
    bool open_seen = false;
    for (size_t i = 0; i < b->n_events; i++) {
        const struct rt_event *ev = &b->events[i];
        if (i)
            cr_assert_geq(ev->ts_ns, b->events[i - 1].ts_ns, "events in time order");
        if (ev->op == RT_OP_OPEN && ev->str[0].len == strlen("/nonexistent/unit") &&
            !memcmp(ev->str[0].ptr, "/nonexistent/unit", ev->str[0].len))
            open_seen = ev->result == -ENOENT;
    }
    cr_assert(open_seen, "cat's failed open is recorded with ENOENT");
    rt_bundle_free(b);

    /* The file itself got the output, as without the recorder. */
    FILE *f = fopen(out, "r");
    char buf[64] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cr_assert_str_eq(buf, "one\ntwo\n");
}

Test(record, command_that_cannot_run)
{
    char out[300];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *argv[] = {"/nonexistent/program", NULL};
    int status, exec_errno;
    struct rt_bundle *b = record(argv, NULL, fd, fd, &status, &exec_errno);
    close(fd);
    cr_assert_eq(rt_record_exit_code(status), 127);
    cr_assert_eq(exec_errno, ENOENT);
    cr_assert_eq(b->meta.coverage & RT_COV_PRELOAD, 0, "no interposer asked for");
    rt_bundle_free(b);
}
