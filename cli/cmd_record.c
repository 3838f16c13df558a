/* `runtrail record`: "strace for short-lived programs". A thin command over the recording
 * library (recorder/record.h), which runs the command under the interposer, keeps its output
 * lines without changing what it sees, and seals one bundle (META with the command line, exit
 * status and duration; EVENTS; LOGS). This file parses the options, names the bundle, stores
 * and indexes it, prints its path on stderr and exits with the command's exit status (128+N
 * when a signal killed it). */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/render.h"
#include "formats/toolbox.h"
#include "recorder/extension/extension.h"
#include "recorder/record.h"
#include "store/catalog.h"
#include "store/store.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static const char help_head[] =
    "usage: runtrail record [OPTIONS] [--] CMD [ARGS...]\n"
    "\n"
    "Runs CMD with the runtrail interposer (libruntrail-preload.so) preloaded into it and\n"
    "every process it starts, and records what they do - processes, files, network, outbound\n"
    "connections - into one bundle. CMD's stdout and stderr pass through unchanged and are\n"
    "kept in the bundle (capped); the exit status is CMD's (128+N if signal N killed it).\n"
    "The bundle path is printed on stderr; read it with 'runtrail show BUNDLE'.\n"
    "\n";

enum { OPT_STORE = 1, OPT_NAME, OPT_MAX_EVENTS, OPT_TRACE, OPT_QUIET };
static const struct rt_opt options[] = {
    {OPT_STORE, "store", 0, "DIR",
     "where the bundle goes (default $RUNTRAIL_STORE, else\n"
     "./runtrail-data)"},
    {OPT_NAME, "name", 0, "NAME",
     "function name in META and the store key (default: CMD's\n"
     "basename)"},
    {OPT_MAX_EVENTS, "max-events", 0, "N",
     "keep at most N events: the first N/2, then the latest ones and\n"
     "those that matter (flagged, process, connections); the rest are\n"
     "counted (default 100000, at most 1048576; 100k, 1M accepted)"},
    {OPT_TRACE, "trace", 0, NULL, "print each event on stderr as it is recorded (strace-like)"},
    {OPT_QUIET, "quiet", 'q', NULL, "do not print the bundle path"},
    {0},
};

static const char help_tail[] =
    "\n"
    "Environment: RUNTRAIL_PRELOAD overrides the interposer's path (default\n"
    "../lib/libruntrail-preload.so next to this binary); RUNTRAIL_STORE the store;\n"
    "RUNTRAIL_RING_DIR puts the event ring in a file there (default: in memory, else a file in\n"
    "/dev/shm if tmpfs, else /tmp);\n"
    "RUNTRAIL_HASH_KEY or RUNTRAIL_HASH_KEY_FILE the key of the hmac: values that replace\n"
    "secrets in argv and URLs (default: a random key per run); RUNTRAIL_REDACT more names.\n"
    "Exit status: CMD's, or 2 for a usage error, 127 if CMD cannot be run.\n"
    "See runtrail-record(1).\n";

static const struct rt_cli_spec record_spec = {"record", help_head, options, help_tail, true};

/* The redaction of secrets in argv, command lines and URLs (docs/config.md), done here with the
 * extension's key and rules: the recording library calls it for each event. */
struct redaction {
    struct rt_ext_hash_key key;
    const char *redact; /* RUNTRAIL_REDACT */
    char *scratch;      /* rt_ext_redact_event's rewritten strings */
    size_t scratch_cap;
};

static void redact_event(struct rt_event *ev, void *arg)
{
    struct redaction *rd = arg;
    rt_ext_redact_event(&rd->key, rd->redact, ev, &rd->scratch, &rd->scratch_cap);
}

/* One strace-like line on stderr, as `runtrail show` prints it, prefixed by the pid. */
static void trace_event(const struct rt_event *ev, void *arg)
{
    (void)arg;
    char buf[2048];
    rt_render_event(buf, sizeof buf, ev);
    fprintf(stderr, "[pid %5d] %s\n", (int)ev->pid, buf);
}

/* The interposer: $RUNTRAIL_PRELOAD, else ../lib/libruntrail-preload.so beside this binary. */
static bool find_preload(char *out, size_t cap)
{
    const char *env = getenv("RUNTRAIL_PRELOAD");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return access(out, R_OK) == 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = 0;
    snprintf(out, cap, "%s/../lib/libruntrail-preload.so", dirname(self));
    char real[PATH_MAX];
    if (!realpath(out, real))
        return false;
    snprintf(out, cap, "%s", real);
    return true;
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char r[32];
    if (bytes > sizeof r)
        bytes = sizeof r;
    if (getrandom(r, bytes, 0) != (ssize_t)bytes) {
        uint64_t x = (uint64_t)rt_clock_wall_ns() ^ (uint64_t)getpid() << 32;
        for (size_t i = 0; i < bytes; i++, x = x * 6364136223846793005ull + 1)
            r[i] = (unsigned char)(x >> 56);
    }
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", r[i]);
}

/* Stores the sealed bundle, indexes it and says where it went. */
static void store_bundle(struct rt_store *store, const char *store_url, struct rt_meta *meta,
                         uint8_t *data, size_t len, const struct rt_record_stats *stats, bool quiet)
{
    struct rt_errinfo ei;
    char errbuf[512], where[PATH_MAX + 64];
    int rc = rt_store_put_bundle(store, meta, data, len, where, sizeof where, &ei);
    if (rc != RT_OK) {
        rt_cli_error("%s: %s", store_url, rt_errinfo_format(rc, &ei, errbuf, sizeof errbuf));
        return;
    }
    int ic = rt_catalog_index_default(where, &ei);
    if (ic != RT_OK)
        rt_cli_error("warning: not indexed in the catalog: %s",
                     rt_errinfo_format(ic, &ei, errbuf, sizeof errbuf));
    /* Losses are part of the answer: say so next to the count. */
    uint64_t lost = stats->ring_dropped + (stats->events_seen - stats->events_stored);
    char extra[96] = "";
    if (lost)
        snprintf(extra, sizeof extra, ", %llu not kept (ring full or --max-events)",
                 (unsigned long long)lost);
    if (!quiet)
        fprintf(stderr, "runtrail: recorded %zu events%s (exit %d) to %s\n", stats->events_stored,
                extra, meta->exit_status, where);
}

RT_COMMAND(record, "run a command under the interposer and record it into one bundle")
{
    const char *store_url = NULL, *name = NULL;
    size_t max_events = 0;
    bool quiet = false, trace = false;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &record_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        uint64_t n;
        struct rt_errinfo perr;
        switch (id) {
        case RT_CLI_OPTS_STOP:
            return p.status;
        case OPT_STORE:
            store_url = p.value;
            break;
        case OPT_NAME:
            name = p.value;
            break;
        case OPT_MAX_EVENTS:
            if (rt_parse_count(p.value, &n, &perr) != RT_OK)
                return rt_cli_opts_bad_value(&p, "not a positive count: %s", perr.detail);
            if (n == 0 || n > SIZE_MAX)
                return rt_cli_opts_bad_value(&p, "not a positive count: %s", p.value);
            max_events = (size_t)n;
            break;
        case OPT_TRACE:
            trace = true;
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        }
    }
    int i = p.first_operand;
    if (i >= argc)
        return rt_cli_usage_error("record", "no command given (runtrail record -- CMD ARGS...)");
    char **cmd = argv + i;
    if (!store_url)
        store_url = rt_store_default_url();

    struct rt_errinfo ei;
    char errbuf[512];
    struct rt_store *store = NULL;
    int rc = rt_store_open(store_url, NULL, &store, &ei);
    if (rc != RT_OK) {
        rt_cli_error("%s: %s", store_url, rt_errinfo_format(rc, &ei, errbuf, sizeof errbuf));
        return RT_EXIT_USAGE;
    }
    char preload[PATH_MAX];
    bool have_preload = find_preload(preload, sizeof preload);
    if (!have_preload)
        rt_cli_error("warning: interposer not found (%s); recording the exit status only",
                     getenv("RUNTRAIL_PRELOAD") ? getenv("RUNTRAIL_PRELOAD")
                                                : "../lib/libruntrail-preload.so");
    struct redaction rd = {.redact = getenv("RUNTRAIL_REDACT")};
    const char *bad_key = rt_ext_hash_key_from_env(&rd.key);
    if (bad_key)
        rt_cli_error("warning: %s: not a usable key (16 bytes at least); hashes use a random key",
                     bad_key);

    struct rt_record_config cfg = {.argv = cmd,
                                   .preload = have_preload ? preload : NULL,
                                   .max_events = max_events,
                                   .out_fd = STDOUT_FILENO,
                                   .err_fd = STDERR_FILENO,
                                   .redact = redact_event,
                                   .on_event = trace ? trace_event : NULL,
                                   .arg = &rd};
    struct rt_recording *rec = NULL;
    fflush(NULL);
    rc = rt_record_start(&cfg, &rec, &ei);
    if (rc != RT_OK) {
        rt_cli_error("cannot start %s: %s", cmd[0],
                     rt_errinfo_format(rc, &ei, errbuf, sizeof errbuf));
        rt_store_close(store);
        return RT_EXIT_USAGE;
    }
    int ring_rc = rt_record_ring_error(rec, &ei);
    if (have_preload && ring_rc != RT_OK)
        rt_cli_error("warning: %s; recording the exit status only",
                     rt_errinfo_format(ring_rc, &ei, errbuf, sizeof errbuf));
    int status = rt_record_wait(rec);
    int exit_code = rt_record_exit_code(status);
    int exec_errno = rt_record_exec_errno(rec);
    if (exec_errno)
        rt_cli_error("record: %s: %s", cmd[0], strerror(exec_errno));

    struct rt_meta meta;
    memset(&meta, 0, sizeof meta);
    char *cmdline = rt_ext_redacted_command(&rd.key, rd.redact, cmd);
    char *base = strdup(cmd[0]);
    char request_id[40], sandbox_id[40];
    random_hex(request_id, 16);
    random_hex(sandbox_id, 16);
    meta.function = (char *)(name ? name : base ? basename(base) : cmd[0]);
    meta.command = cmdline;
    meta.request_id = request_id;
    meta.sandbox_id = sandbox_id;
    meta.hash_key_id = (char *)rt_ext_hash_key_id(&rd.key);
    meta.access_key_id = (char *)rt_ext_own_key_id(NULL); /* the command inherits it */
    meta.recorder_version = (char *)RT_VERSION;
    meta.runtime = (char *)"record";
    /* this process's CPU over the run (the ring's consumer), the command's not included */
    meta.recorder_cpu_ns = (uint64_t)rt_clock_process_cpu_ns();
    uint8_t *data = NULL;
    size_t len = 0;
    struct rt_record_stats stats;
    rc = rt_record_seal(rec, &meta, &data, &len, &stats);
    if (rc != RT_OK)
        rt_cli_error("cannot seal the bundle: %s", rt_strerror(rc));
    else
        store_bundle(store, store_url, &meta, data, len, &stats, quiet);
    free(data);
    rt_record_free(rec);
    free(cmdline);
    free(base);
    free(rd.scratch);
    rt_store_close(store);
    if (rc != RT_OK && !exit_code)
        return RT_EXIT_USAGE;
    return exit_code;
}
