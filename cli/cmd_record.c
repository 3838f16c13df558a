/* `runtrail record`: "strace for short-lived programs". Creates the shared event ring, runs the
 * command with libruntrail-preload.so in LD_PRELOAD, drains the ring while it runs, passes the
 * command's stdout/stderr through unchanged while keeping their lines (capped) for the LOGS
 * block, then seals one bundle (META with the command line, exit status and duration; EVENTS;
 * LOGS) into the store, indexes it in the catalog, prints its path on stderr and exits with
 * the command's exit status (128+N when a signal killed it). */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/render.h"
#include "formats/toolbox.h"
#include "recorder/extension/extension.h"
#include "recorder/ring.h"
#include "store/catalog.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/random.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
static const struct rt_cli_opt options[] = {
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
    "RUNTRAIL_RING_DIR where the event ring file lives (default /dev/shm if tmpfs, else /tmp);\n"
    "RUNTRAIL_HASH_KEY or RUNTRAIL_HASH_KEY_FILE the key of the hmac: values that replace\n"
    "secrets in argv and URLs (default: a random key per run); RUNTRAIL_REDACT more names.\n"
    "Exit status: CMD's, or 2 for a usage error, 127 if CMD cannot be run.\n"
    "See runtrail-record(1).\n";

static const struct rt_cli_spec record_spec = {"record", help_head, options, help_tail, true};

#define MAX_LINE 8192

struct stream {
    int fd;    /* read end of the child's pipe, -1 at EOF */
    int out;   /* where the bytes go unchanged */
    int which; /* 1 stdout, 2 stderr */
    char line[MAX_LINE];
    size_t len;
};

/* Events arrive in ring order, which is reservation order except for execs (held until the
 * new image starts or the call fails): they are kept here, then sorted by time (stable: equal
 * times keep ring order) and handed to the writer at the end, so the bundle's events are in
 * time order. */
struct held_event {
    struct rt_event ev;
    char *strings; /* the three strings back to back (ev.str point into it) */
};

struct rec_state {
    struct rt_writer *w;
    int64_t start_mono;
    uint64_t uncovered;
    size_t events;
    bool trace;
    size_t max_events;
    struct held_event *held;
    size_t n_held, cap_held;
    uint64_t not_held;          /* out of memory: counted as dropped */
    struct rt_ext_hash_key key; /* secrets in argv and URLs become keyed hashes (docs/config.md) */
    const char *redact;         /* RUNTRAIL_REDACT */
    char *scratch;              /* rt_ext_redact_event's rewritten strings */
    size_t scratch_cap;
};

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One strace-like line on stderr, as `runtrail show` prints it, prefixed by the pid. */
static void trace_event(const struct rt_event *ev)
{
    char buf[2048];
    rt_render_event(buf, sizeof buf, ev);
    fprintf(stderr, "[pid %5d] %s\n", (int)ev->pid, buf);
}

static int by_time(const void *a, const void *b);

/* Over max_events held: sorts them and gives the older half to the writer, so the held events
 * stay bounded and the writer sees every event (it drops from the middle, not the end). */
static void write_older_half(struct rec_state *st)
{
    size_t half = st->n_held / 2;
    rt_sort_stable(st->held, st->n_held, sizeof *st->held, by_time);
    for (size_t i = 0; i < half; i++) {
        rt_writer_add_event(st->w, &st->held[i].ev);
        free(st->held[i].strings);
    }
    memmove(st->held, st->held + half, (st->n_held - half) * sizeof *st->held);
    st->n_held -= half;
}

static void on_event(const struct rt_event *ev, void *arg)
{
    struct rec_state *st = arg;
    struct rt_event redacted = *ev;
    rt_ext_redact_event(&st->key, st->redact, &redacted, &st->scratch, &st->scratch_cap);
    ev = &redacted;
    struct rt_event copy = *ev;
    copy.ts_ns = ev->ts_ns - st->start_mono;
    if ((ev->op == RT_OP_EXEC || ev->op == RT_OP_SPAWN) && (ev->flags & RT_EF_NOT_COVERED))
        st->uncovered++;
    st->events++;
    if (st->trace)
        trace_event(&copy);
    if (st->n_held >= st->max_events)
        write_older_half(st); /* the writer keeps the tail and what matters over its limit */
    if (st->n_held == st->cap_held) {
        size_t cap = st->cap_held ? st->cap_held * 2 : 1024;
        struct held_event *h = realloc(st->held, cap * sizeof *h);
        if (!h) {
            st->not_held++;
            return;
        }
        st->held = h;
        st->cap_held = cap;
    }
    size_t total = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++)
        total += ev->str[i].len;
    char *strings = malloc(total ? total : 1);
    if (!strings) {
        st->not_held++;
        return;
    }
    size_t off = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        if (ev->str[i].len)
            memcpy(strings + off, ev->str[i].ptr, ev->str[i].len);
        copy.str[i].ptr = ev->str[i].len ? strings + off : NULL;
        off += ev->str[i].len;
    }
    size_t idx = st->n_held++;
    st->held[idx] = (struct held_event){copy, strings};
}

static int by_time(const void *a, const void *b)
{
    const struct held_event *x = a, *y = b;
    return (x->ev.ts_ns > y->ev.ts_ns) - (x->ev.ts_ns < y->ev.ts_ns);
}

/* Sorts the held events by time and gives them to the writer; frees them. */
static void write_held(struct rec_state *st)
{
    rt_sort_stable(st->held, st->n_held, sizeof *st->held, by_time);
    for (size_t i = 0; i < st->n_held; i++) {
        rt_writer_add_event(st->w, &st->held[i].ev);
        free(st->held[i].strings);
    }
    if (st->not_held)
        rt_writer_count(st->w, RT_CTR_EVENTS_DROPPED, st->not_held);
    free(st->held);
    st->held = NULL;
    st->n_held = st->cap_held = 0;
}

static void log_line(struct rec_state *st, struct stream *s)
{
    rt_writer_add_log(st->w, now_ns(CLOCK_MONOTONIC) - st->start_mono, s->which, s->line, s->len);
    s->len = 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* our own stdout went away: keep recording */
        p += w;
        n -= (size_t)w;
    }
}

/* Reads what is available; returns false at EOF. */
static bool pump(struct rec_state *st, struct stream *s)
{
    char buf[65536];
    ssize_t n = read(s->fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) {
        if (s->len)
            log_line(st, s);
        close(s->fd);
        s->fd = -1;
        return false;
    }
    write_all(s->out, buf, (size_t)n);
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            log_line(st, s);
            continue;
        }
        if (s->len == MAX_LINE)
            log_line(st, s);
        s->line[s->len++] = buf[i];
    }
    return true;
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
        uint64_t x = (uint64_t)now_ns(CLOCK_REALTIME) ^ (uint64_t)getpid() << 32;
        for (size_t i = 0; i < bytes; i++, x = x * 6364136223846793005ull + 1)
            r[i] = (unsigned char)(x >> 56);
    }
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", r[i]);
}

/* /dev/shm when it is a writable tmpfs (page faults on the shared mapping are several times
 * cheaper there than on a disk filesystem), else /tmp. */
static const char *default_ring_dir(void)
{
    struct statfs sf;
    if (statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC &&
        access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

static volatile sig_atomic_t forward_sig;
static void on_signal(int sig)
{
    forward_sig = sig;
}

/* Child side: environment, stdio, signals, exec. Never returns. */
static void run_child(char **cmd, const char *preload, const char *ring, int out_w, int err_w)
{
    if (preload) {
        const char *old = getenv("LD_PRELOAD");
        char *val = malloc(strlen(preload) + (old ? strlen(old) : 0) + 2);
        if (val) {
            sprintf(val, "%s%s%s", preload, old && *old ? " " : "", old && *old ? old : "");
            setenv("LD_PRELOAD", val, 1);
        }
        setenv("RUNTRAIL_RING", ring, 1);
    }
    dup2(out_w, STDOUT_FILENO);
    dup2(err_w, STDERR_FILENO);
    if (out_w > STDERR_FILENO)
        close(out_w);
    if (err_w > STDERR_FILENO)
        close(err_w);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execvp(cmd[0], cmd);
    int e = errno;
    fprintf(stderr, "runtrail record: %s: %s\n", cmd[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
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
    char ring_path[PATH_MAX];
    char rnd[17];
    random_hex(rnd, 8);
    const char *ring_dir = getenv("RUNTRAIL_RING_DIR");
    if (!ring_dir || !*ring_dir)
        ring_dir = default_ring_dir();
    snprintf(ring_path, sizeof ring_path, "%s/runtrail-ring-%d-%s", ring_dir, (int)getpid(), rnd);
    struct rt_ring *ring = NULL;
    if (have_preload) {
        rc = rt_ring_create(ring_path, 0, &ring, &ei);
        if (rc != RT_OK && !getenv("RUNTRAIL_RING_DIR") && strcmp(ring_dir, "/tmp") != 0) {
            snprintf(ring_path, sizeof ring_path, "/tmp/runtrail-ring-%d-%s", (int)getpid(), rnd);
            rc = rt_ring_create(ring_path, 0, &ring, &ei); /* e.g. a full or tiny /dev/shm */
        }
        if (rc != RT_OK) {
            rt_cli_error("warning: %s; recording the exit status only",
                         rt_errinfo_format(rc, &ei, errbuf, sizeof errbuf));
            have_preload = false;
        }
    }

    struct rt_limits limits = {.max_events = max_events};
    struct rec_state st = {.w = rt_writer_new(&limits),
                           .trace = trace,
                           .max_events = max_events ? max_events : 100000};
    if (!st.w) {
        rt_cli_error("out of memory");
        return RT_EXIT_USAGE;
    }
    const char *bad_key = rt_ext_hash_key_from_env(&st.key);
    if (bad_key)
        rt_cli_error("warning: %s: not a usable key (16 bytes at least); hashes use a random key",
                     bad_key);
    st.redact = getenv("RUNTRAIL_REDACT");
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        rt_cli_error("pipe: %s", strerror(errno));
        return RT_EXIT_USAGE;
    }
    fflush(NULL);
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_quit, old_term, old_hup;
    sigemptyset(&sa.sa_mask);
    /* Like a shell waiting for its job: the terminal's ^C/^\ reach the command directly. */
    signal(SIGPIPE, SIG_IGN);
    sigaction(SIGINT, &(struct sigaction){.sa_handler = SIG_IGN}, &old_int);
    sigaction(SIGQUIT, &(struct sigaction){.sa_handler = SIG_IGN}, &old_quit);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);

    st.start_mono = now_ns(CLOCK_MONOTONIC);
    int64_t start_wall = now_ns(CLOCK_REALTIME);
    pid_t child = fork();
    if (child < 0) {
        rt_cli_error("fork: %s", strerror(errno));
        return RT_EXIT_USAGE;
    }
    if (child == 0)
        run_child(cmd, have_preload ? preload : NULL, ring_path, out_pipe[1], err_pipe[1]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    struct stream *streams = calloc(2, sizeof *streams);
    if (!streams) {
        rt_cli_error("out of memory");
        return RT_EXIT_USAGE;
    }
    streams[0] = (struct stream){.fd = out_pipe[0], .out = STDOUT_FILENO, .which = 1};
    streams[1] = (struct stream){.fd = err_pipe[0], .out = STDERR_FILENO, .which = 2};

    int status = 0;
    bool exited = false;
    size_t last_batch = 0; /* events in the previous drain: keep up while they flow */
    int64_t exited_at = 0;
    for (;;) {
        if (forward_sig) {
            kill(child, forward_sig);
            forward_sig = 0;
        }
        struct pollfd pf[2];
        nfds_t np = 0;
        for (int s = 0; s < 2; s++)
            if (streams[s].fd >= 0)
                pf[np++] = (struct pollfd){.fd = streams[s].fd, .events = POLLIN};
        if (np > 0) {
            int pr = poll(pf, np, last_batch > 0 ? 1 : 10);
            for (nfds_t k = 0; pr > 0 && k < np; k++) {
                if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                for (int s = 0; s < 2; s++)
                    if (streams[s].fd == pf[k].fd)
                        pump(&st, &streams[s]);
            }
        } else if (!exited) {
            struct timespec ts = {0, last_batch > 0 ? 200 * 1000 : 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (ring)
            last_batch = rt_ring_drain(ring, on_event, &st);
        if (!exited) {
            pid_t w = waitpid(child, &status, WNOHANG);
            if (w == child) {
                exited = true;
                exited_at = now_ns(CLOCK_MONOTONIC);
            }
        }
        if (exited) {
            bool open_pipes = streams[0].fd >= 0 || streams[1].fd >= 0;
            /* Background children may keep the pipes: give them a moment, not forever. */
            if (!open_pipes || now_ns(CLOCK_MONOTONIC) - exited_at > 500 * 1000000LL)
                break;
        }
    }
    int64_t end_mono = now_ns(CLOCK_MONOTONIC);
    int64_t end_wall = now_ns(CLOCK_REALTIME);
    for (int s = 0; s < 2; s++) {
        if (streams[s].len)
            log_line(&st, &streams[s]);
        if (streams[s].fd >= 0)
            close(streams[s].fd);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);

    struct rt_meta meta;
    memset(&meta, 0, sizeof meta);
    if (ring) {
        rt_ring_drain_final(ring, 200, on_event, &st);
        meta.counters[RT_CTR_RING_DROPPED] = rt_ring_take_dropped(ring);
        meta.counters[RT_CTR_STRINGS_TRUNCATED] = rt_ring_take_truncated(ring);
        meta.counters[RT_CTR_CONNS_UNTRACKED] = rt_ring_take_untracked(ring);
        rt_ring_close(ring);
        unlink(ring_path);
    }
    meta.counters[RT_CTR_UNCOVERED_EXECS] = st.uncovered;
    int exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                          : 1;
    char *cmdline = rt_ext_redacted_command(&st.key, st.redact, cmd);
    char *base = strdup(cmd[0]);
    char request_id[40], sandbox_id[40];
    random_hex(request_id, 16);
    random_hex(sandbox_id, 16);
    meta.function = (char *)(name ? name : basename(base));
    meta.command = cmdline;
    meta.request_id = request_id;
    meta.sandbox_id = sandbox_id;
    meta.hash_key_id = st.key.id;
    meta.recorder_version = (char *)RT_VERSION;
    meta.arch = (char *)RT_HOST_ARCH;
    meta.runtime = (char *)"record";
    meta.start_wall_ns = start_wall;
    meta.end_wall_ns = end_wall;
    meta.duration_ns = (uint64_t)(end_mono - st.start_mono);
    meta.cold_start = true;
    meta.chain_end = RT_CHAIN_END_LAST; /* a record bundle is a whole chain of one */
    meta.exit_status = exit_code;
    meta.status = WIFSIGNALED(status) ? RT_STATUS_CRASH
                  : exit_code == 0    ? RT_STATUS_OK
                                      : RT_STATUS_ERROR;
    if (WIFSIGNALED(status))
        meta.error_type = (char *)strsignal(WTERMSIG(status));
    meta.coverage = RT_COV_RECORD | (have_preload ? RT_COV_PRELOAD : 0);
    rt_writer_set_meta(st.w, &meta);
    write_held(&st);

    size_t stored = rt_writer_event_count(st.w);
    uint8_t *data = NULL;
    size_t len = 0;
    rc = rt_writer_finish(st.w, 0, &data, &len, NULL);
    rt_writer_free(st.w);
    if (rc != RT_OK) {
        rt_cli_error("cannot seal the bundle: %s", rt_strerror(rc));
        free(cmdline);
        free(base);
        rt_store_close(store);
        return exit_code ? exit_code : RT_EXIT_USAGE;
    }
    char where[PATH_MAX + 64];
    rc = rt_store_put_bundle(store, &meta, data, len, where, sizeof where, &ei);
    free(data);
    if (rc != RT_OK) {
        rt_cli_error("%s: %s", store_url, rt_errinfo_format(rc, &ei, errbuf, sizeof errbuf));
    } else {
        int ic = rt_catalog_index_default(where, &ei);
        if (ic != RT_OK)
            rt_cli_error("warning: not indexed in the catalog: %s",
                         rt_errinfo_format(ic, &ei, errbuf, sizeof errbuf));
        /* Losses are part of the answer: say so next to the count. */
        uint64_t lost = meta.counters[RT_CTR_RING_DROPPED] + (st.events - stored);
        char extra[96] = "";
        if (lost)
            snprintf(extra, sizeof extra, ", %llu not kept (ring full or --max-events)",
                     (unsigned long long)lost);
        if (!quiet)
            fprintf(stderr, "runtrail: recorded %zu events%s (exit %d) to %s\n", stored, extra,
                    exit_code, where);
    }
    free(cmdline);
    free(base);
    free(streams);
    free(st.scratch);
    rt_store_close(store);
    return exit_code;
}
