/* `runtrail invoke`: runs a function's runtime in the local Lambda emulator (replay/), delivers
 * each event in turn and prints each response body on its own line — or Lambda's error JSON
 * for a failed invocation — exiting 1 if any invocation failed. Unless --no-record, the
 * runtrail layer built next to this binary records every invocation into the store. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "formats/toolbox.h"
#include "replay/emulator.h"
#include "replay/invoke.h"
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help_text[] =
    "usage: runtrail invoke [OPTIONS] -- RUNTIME ARGS...\n"
    "\n"
    "Runs RUNTIME in a local Lambda execution environment (Runtime API 2018-06-01 and\n"
    "Extensions API 2020-01-01 on 127.0.0.1), delivers each event in turn and prints each\n"
    "response body on its own line. A failed invocation prints Lambda's error JSON\n"
    "({\"errorMessage\",\"errorType\"}); a timed-out or crashed one also resets the sandbox, so\n"
    "the next invocation is a new cold start. The runtime's and extensions' output goes to\n"
    "stderr.\n"
    "\n"
    "Recording: unless --no-record, the runtrail layer built next to this binary (../layer:\n"
    "extensions/runtrail, runtrail/wrapper) is added as a layer, so every invocation is sealed\n"
    "into a bundle in the store. Without that layer (not built yet), use --no-record.\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Environment: the runtime and extensions get Lambda's variables (PATH, LD_LIBRARY_PATH,\n"
    "LANG, TZ, LAMBDA_TASK_ROOT, AWS_LAMBDA_*, fake AWS credentials, ...), not the host's;\n"
    "from the host only RUNTRAIL_* passes, unless --inherit-env. A relative runtime path, and\n"
    "relative arguments naming files, are taken from the current folder.\n"
    "\n"
    "Exit status: 0 all invocations succeeded, 1 at least one failed (error, timeout, crash),\n"
    "2 usage or input error, 3 the store refused bundles (they are kept in the spool folder\n"
    "named on stderr). See runtrail-invoke(1).\n";

/* The options are replay/invoke.c's table, shared with emulate. */
static const struct rt_cli_spec invoke_spec = {"invoke", help_text, rt_invoke_options, help_tail,
                                               true};

static int print_help(void)
{
    rt_cli_opts_help(&invoke_spec, stdout);
    return RT_EXIT_OK;
}

static const char *status_word(int status)
{
    switch (status) {
    case RT_STATUS_OK:
        return "ok";
    case RT_STATUS_ERROR:
        return "error";
    case RT_STATUS_TIMEOUT:
        return "timeout";
    case RT_STATUS_CRASH:
        return "crash";
    default:
        return "unknown";
    }
}

/* Reads a whole event file ("-" = stdin), at most Lambda's payload limit. Returns NULL and
 * sets errno (EFBIG when over the limit) on failure. */
static char *read_event(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    int rc = strcmp(path, "-") ? rt_read_file(path, &data, len, RT_EMU_MAX_EVENT)
                               : rt_read_fd(STDIN_FILENO, &data, len, RT_EMU_MAX_EVENT);
    if (rc == RT_ERR_NOMEM)
        errno = ENOMEM;
    return rc == RT_OK ? (char *)data : NULL;
}

/* Response bodies go to stdout as they are; on a terminal, control bytes are shown escaped. */
static void print_body(const char *body, size_t len)
{
    if (rt_cli_stdout_is_tty())
        rt_escape_fputs(stdout, body, len, 0);
    else
        fwrite(body, 1, len, stdout);
    putchar('\n');
    fflush(stdout);
}

static void report_line(FILE *f, unsigned long n, const struct rt_emu_result *res)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)n));
    json_object_set_new(o, "requestId", json_string(res->request_id));
    json_object_set_new(o, "status", json_string(status_word(res->status)));
    /* The error type comes from the function: jansson escapes it (NULL if not UTF-8). */
    json_t *type = json_string(res->error_type);
    json_object_set_new(o, "errorType", type ? type : json_string("(invalid UTF-8)"));
    json_object_set_new(o, "coldStart", json_boolean(res->cold_start));
    json_object_set_new(o, "streamed", json_boolean(res->streamed));
    json_object_set_new(o, "initMs", json_real((double)res->init_ns / 1e6));
    json_object_set_new(o, "responseMs", json_real((double)res->response_ns / 1e6));
    json_object_set_new(o, "durationMs", json_real((double)res->duration_ns / 1e6));
    json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    fputc('\n', f);
    fflush(f);
    json_decref(o);
}

/* SIGINT/SIGTERM: a thread waits for them and cancels the invocation in progress, so the
 * sandbox's processes (in their own process groups) are always shut down and reaped. */
static atomic_int interrupted;

struct signal_watch {
    sigset_t set;
    struct rt_emu *emu;
};

static void *watch_signals(void *arg)
{
    struct signal_watch *w = arg;
    int sig = 0;
    if (sigwait(&w->set, &sig) == 0) {
        atomic_store(&interrupted, 1);
        fprintf(stderr, "runtrail invoke: %s: stopping\n", strsignal(sig));
        rt_emu_cancel(w->emu);
    }
    return NULL;
}

RT_COMMAND(invoke, "run a function locally in the Lambda emulator, recording each invocation")
{
    if (rt_cli_wants_help(argc, argv))
        return print_help();
    static struct rt_invoke_opts o;
    char err[512];
    if (rt_invoke_opts_parse(argc, argv, false, &o, err, sizeof err) != RT_OK)
        return rt_cli_usage_error("invoke", "%s", err);

    size_t n_events = o.n_events ? o.n_events : 1;
    char **events = calloc(n_events, sizeof *events);
    size_t *lens = calloc(n_events, sizeof *lens);
    int rc = RT_EXIT_OK;
    if (!events || !lens) {
        rt_cli_error("invoke: out of memory");
        rc = RT_EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < o.n_events; i++) {
        events[i] = read_event(o.events[i], &lens[i]);
        if (!events[i]) {
            rt_cli_error("invoke: %s: %s", o.events[i],
                         errno == EFBIG ? "event larger than Lambda's 6 MB payload limit"
                                        : strerror(errno));
            rc = RT_EXIT_USAGE;
            goto out;
        }
    }
    if (!o.n_events) {
        events[0] = strdup("{}");
        lens[0] = 2;
    }
    if (!o.no_record) {
        const char *store = o.store ? o.store : rt_store_default_url();
        if (rt_invoke_setup_recording(&o, "/proc/self/exe", store, err, sizeof err) != RT_OK) {
            rt_cli_error("invoke: %s", err);
            rc = RT_EXIT_USAGE;
            goto out;
        }
    }
    FILE *report = NULL;
    if (o.report && !(report = fopen(o.report, "we"))) {
        rt_cli_error("invoke: %s: %s", o.report, strerror(errno));
        rc = RT_EXIT_USAGE;
        goto out;
    }

    signal(SIGPIPE, SIG_IGN);
    static struct signal_watch watch;
    sigemptyset(&watch.set);
    sigaddset(&watch.set, SIGINT);
    sigaddset(&watch.set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &watch.set, NULL); /* before any thread starts */
    struct rt_emu *emu = NULL;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    int64_t started_ns = rt_clock_wall_ns();
    int erc = rt_emu_start(&o.cfg, &emu, &ei);
    if (erc != RT_OK) {
        rt_cli_error("invoke: %s", rt_errinfo_format(erc, &ei, err, sizeof err));
        rc = RT_EXIT_USAGE;
        if (report)
            fclose(report);
        goto out;
    }
    watch.emu = emu;
    pthread_t watcher;
    bool watching = pthread_create(&watcher, NULL, watch_signals, &watch) == 0;
    unsigned long repeat = o.repeat ? o.repeat : 1, n = 0;
    for (unsigned long r = 0; r < repeat && !atomic_load(&interrupted); r++) {
        for (size_t i = 0; i < n_events && !atomic_load(&interrupted); i++) {
            struct rt_emu_request req = {.payload = events[i], .payload_len = lens[i]};
            struct rt_emu_result res;
            erc = rt_emu_invoke(emu, &req, &res, &ei);
            n++;
            if (erc != RT_OK) {
                rt_cli_error("invoke: invocation %lu: %s", n,
                             rt_errinfo_format(erc, &ei, err, sizeof err));
                if (!atomic_load(&interrupted))
                    rc = RT_EXIT_USAGE;
                atomic_store(&interrupted, 1);
                break;
            }
            print_body(res.body, res.body_len);
            if (res.status != RT_STATUS_OK) {
                rc = rc == RT_EXIT_OK ? RT_EXIT_FINDINGS : rc;
                if (!o.quiet)
                    fprintf(stderr,
                            "runtrail invoke: invocation %lu (%s): status %s (%s) after "
                            "%.1f ms\n",
                            n, res.request_id, status_word(res.status), res.error_type,
                            (double)res.duration_ns / 1e6);
            }
            if (report)
                report_line(report, n, &res);
            rt_emu_result_free(&res);
        }
    }
    rt_emu_stop(emu);
    if (o.store_env[0]) /* recorded into a local folder: make it visible to ls */
        rt_cli_index_recorded("invoke", o.store_env + strlen("RUNTRAIL_STORE="), started_ns);
    size_t spooled = rt_invoke_spooled(&o);
    if (spooled) {
        const char *store = rt_invoke_env_value(&o, "RUNTRAIL_STORE");
        rt_cli_report_spooled("invoke", store ? store : "the store", spooled, o.spool_dir,
                              rt_invoke_env_value(&o, "AWS_ACCESS_KEY_ID") != NULL);
        rc = RT_EXIT_NOT_STORED;
    }
    rt_invoke_spool_done(&o);
    if (watching) {
        pthread_cancel(watcher);
        pthread_join(watcher, NULL);
    }
    if (report)
        fclose(report);
    if (atomic_load(&interrupted) && rc == RT_EXIT_OK)
        rc = RT_EXIT_FINDINGS;
out:
    for (size_t i = 0; events && i < n_events; i++)
        free(events[i]);
    free(events);
    free(lens);
    return rc;
}
