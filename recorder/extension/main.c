/* runtrail-extension: the Lambda external extension (/opt/extensions/runtrail). It reads the
 * RUNTRAIL_* configuration, creates the event ring, the sealer and the Runtime API proxy,
 * writes the ready file the wrapper checks, registers with the Extensions API (2020-01-01) for
 * INVOKE and SHUTDOWN, starts the sealer's thread, and loops on event/next. On SHUTDOWN it seals
 * what is pending and flushes the spool within Lambda's budget. Whatever goes wrong, the function
 * keeps working: a bad configuration degrades to pass-through (or to doing nothing), counted
 * in the next bundle; the extension never reports init/error for its own problems, since that
 * would fail the function's init. */
#include "recorder/extension/extension.h"

#include "formats/digest.h"
#include "recorder/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define API_VERSION "2020-01-01"

/* Lambda's limits and the extension's own patience, in one place. */
#define FLUSH_WAIT_MAX_MS 600000 /* RUNTRAIL_FLUSH_WAIT_MS is capped at 10 minutes */
#define LAMBDA_MAX_TIMEOUT_S 900 /* Lambda's longest function timeout */
#define HOLD_MARGIN_MS 50        /* the event/next hold ends this long before the deadline */
#define SHUTDOWN_BUDGET_MS 1800  /* of Lambda's 2000 ms for extensions at SHUTDOWN */
#define SHUTDOWN_MARGIN_MS 100   /* kept free before the SHUTDOWN event's deadline */
#define REGISTER_TRIES 5         /* Extensions API register attempts, */
#define REGISTER_RETRY_MS 100    /* this far apart */
#define NEXT_FAILURES_MAX 10     /* event/next failures in a row before giving up, */
#define NEXT_RETRY_MS 50         /* this far apart */

static const char usage_text[] =
    "usage: runtrail-extension [--config-doc | --version | --help]\n"
    "\n"
    "The runtrail Lambda extension. Lambda starts it from /opt/extensions/runtrail; it\n"
    "registers with the Extensions API found in AWS_LAMBDA_RUNTIME_API, serves a Runtime API\n"
    "proxy on 127.0.0.1:RUNTRAIL_PROXY_PORT and stores one bundle per invocation in\n"
    "RUNTRAIL_STORE. Settings: docs/config.md (printed by --config-doc).\n";

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
    va_list ap;
    fputs("runtrail-extension: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- Extensions API client ---- */

struct api {
    struct rt_ext_http *h;
    char id[160];
    char name[128];
};

/* One call with the headers given as name, value pairs (NULL-terminated); the answer is
 * capped at 1 MiB. */
static int api_call(struct api *a, const char *method, const char *path, const char *const *hdrs,
                    const char *body, struct rt_ext_http_reply *r)
{
    struct rt_header h[4];
    size_t n = 0;
    for (; hdrs && hdrs[2 * n] && n < sizeof h / sizeof *h; n++)
        h[n] = (struct rt_header){.name = (char *)hdrs[2 * n], .value = (char *)hdrs[2 * n + 1]};
    struct rt_ext_http_request rq = {.headers = h,
                                     .n_headers = n,
                                     .body = body,
                                     .len = body ? strlen(body) : 0,
                                     .max_body = 1024 * 1024};
    return rt_ext_http_call(a->h, method, path, &rq, r);
}

static int api_register(struct api *a)
{
    const char *hdrs[] = {"Lambda-Extension-Name", a->name, "Content-Type", "application/json",
                          NULL};
    struct rt_ext_http_reply r;
    int rc = api_call(a, "POST", "/" API_VERSION "/extension/register", hdrs,
                      "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}", &r);
    const char *id =
        rc == 0 && r.status == 200 ? rt_ext_http_header(&r, "Lambda-Extension-Identifier") : NULL;
    if (id)
        snprintf(a->id, sizeof a->id, "%s", id);
    else
        rc = -1;
    rt_ext_http_reply_free(&r);
    return rc;
}

/* What event/next returned. */
struct api_event {
    bool shutdown;
    char request_id[128];
    char reason[64];
    int64_t deadline_ms;
};

static int api_next(struct api *a, struct api_event *ev)
{
    const char *hdrs[] = {"Lambda-Extension-Identifier", a->id, NULL};
    struct rt_ext_http_reply r;
    int rc = api_call(a, "GET", "/" API_VERSION "/extension/event/next", hdrs, NULL, &r);
    memset(ev, 0, sizeof *ev);
    json_t *root =
        rc == 0 && r.status == 200 ? json_loadb((const char *)r.body, r.len, 0, NULL) : NULL;
    rt_ext_http_reply_free(&r);
    if (!root)
        return -1;
    const char *type = json_string_value(json_object_get(root, "eventType"));
    const char *rid = json_string_value(json_object_get(root, "requestId"));
    const char *reason = json_string_value(json_object_get(root, "shutdownReason"));
    json_t *deadline = json_object_get(root, "deadlineMs");
    ev->shutdown = type && !strcmp(type, "SHUTDOWN");
    snprintf(ev->request_id, sizeof ev->request_id, "%s", rid ? rid : "");
    snprintf(ev->reason, sizeof ev->reason, "%s", reason ? reason : "");
    ev->deadline_ms = json_is_integer(deadline) ? json_integer_value(deadline)
                      : json_is_real(deadline)  ? (int64_t)json_real_value(deadline)
                                                : 0;
    json_decref(root);
    return type ? 0 : -1;
}

/* init/error or exit/error: reported only for the extension's own fatal failures. */
static void api_error(struct api *a, const char *which, const char *type, const char *message)
{
    const char *hdrs[] = {"Lambda-Extension-Identifier",
                          a->id,
                          "Lambda-Extension-Function-Error-Type",
                          type,
                          "Content-Type",
                          "application/json",
                          NULL};
    json_t *body =
        json_pack("{s:s,s:s,s:[]}", "errorMessage", message, "errorType", type, "stackTrace");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char path[64];
    snprintf(path, sizeof path, "/" API_VERSION "/extension/%s/error", which);
    struct rt_ext_http_reply r;
    api_call(a, "POST", path, hdrs, text ? text : "{}", &r);
    rt_ext_http_reply_free(&r);
    free(text);
    json_decref(body);
}

/* ---- the ready file the wrapper checks ---- */

static int write_ready(const char *dir, uint16_t port, const char *ring_path)
{
    char path[4096], tmp[4200], text[4400];
    snprintf(path, sizeof path, "%s/ready", dir);
    snprintf(tmp, sizeof tmp, "%s/.ready.%d", dir, (int)getpid());
    int n = snprintf(text, sizeof text,
                     "RUNTRAIL_PROXY=127.0.0.1:%u\nRUNTRAIL_RING=%s\n"
                     "RUNTRAIL_PID=%d\n",
                     (unsigned)port, ring_path ? ring_path : "", (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    bool ok = n > 0 && write(fd, text, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Whether the process behind a pidfd has exited (a pidfd polls readable then, zombie or
 * reaped): one system call, where process_gone() takes four. */
static bool pidfd_exited(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* Whether pid is gone (or a zombie nobody has reaped yet). */
static bool process_gone(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return errno == ESRCH;
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    const char *paren = strrchr(stat, ')'); /* the state follows "(comm) " */
    return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* After INVOKE: event/next waits until the invocation's bundle has been sealed and stored.
 * Lambda may freeze the sandbox once the runtime and every extension have called next; a
 * bundle not sealed by then would be finished only when the sandbox thaws (on the next
 * invocation's CPU time) or at SHUTDOWN. The response has already gone out: this extends the
 * invocation's post-runtime duration, never its response. Bounded by the invocation's
 * deadline (for the runtime to answer), then by RUNTRAIL_FLUSH_WAIT_MS (for the seal) and
 * never past HOLD_MARGIN_MS before the deadline; no wait at all when the runtime does not run
 * behind the proxy, and a dead runtime ends it. */
static void hold_until_sealed(struct rt_ext_sealer *sealer, struct rt_ext_proxy *proxy,
                              const struct rt_ext_config *cfg, const struct api_event *ev)
{
    if (!sealer || !proxy || !cfg->flush_wait_ms || !ev->request_id[0] ||
        !rt_ext_proxy_runtime_seen(proxy))
        return;
    const int64_t slice = 50 * 1000000LL;
    int64_t now = rt_ext_now_mono_ns();
    int64_t answer_by = now + LAMBDA_MAX_TIMEOUT_S * 1000000000LL;
    if (ev->deadline_ms > 0)
        answer_by = now + (ev->deadline_ms * 1000000 - rt_ext_now_wall_ns());
    uint64_t flush_ms =
        cfg->flush_wait_ms > FLUSH_WAIT_MAX_MS ? FLUSH_WAIT_MAX_MS : cfg->flush_wait_ms;
    int64_t flush_ns = (int64_t)flush_ms * 1000000LL;
    pid_t runtime = -1; /* read once the invocation outlasts a slice: most never do */
    int pidfd = -1;     /* the runtime's, where the kernel has pidfd_open (5.3) */
    /* The invoke phase, hold included, must end by the deadline: Lambda's timeout covers the
     * extensions' part too, and a hold past it would cost the function a timeout and a reset
     * sandbox. A seal not done by then finishes later (the connections were cut at the end). */
    int64_t hold_by = answer_by - HOLD_MARGIN_MS * 1000000LL;
    int64_t submitted = 0;
    for (;;) {
        /* A slice at most (to look at the runtime), never past the bound that applies */
        int64_t until = submitted
                            ? (submitted + flush_ns < hold_by ? submitted + flush_ns : hold_by)
                            : answer_by;
        int64_t next = rt_ext_now_mono_ns() + slice;
        if (rt_ext_sealer_wait_done(sealer, ev->request_id, next < until ? next : until,
                                    &submitted))
            break;
        now = rt_ext_now_mono_ns();
        if (submitted ? now >= submitted + flush_ns || now >= hold_by : now >= answer_by)
            break;
        if (submitted)
            continue;
        if (runtime < 0) {
            runtime = rt_ext_runtime_pid(cfg->run_dir);
#ifdef SYS_pidfd_open
            if (runtime > 0)
                pidfd = (int)syscall(SYS_pidfd_open, runtime, 0);
#endif
        }
        if (runtime > 0 && (pidfd >= 0 ? pidfd_exited(pidfd) : process_gone(runtime)))
            break;
    }
    if (pidfd >= 0)
        close(pidfd);
}

static void random_id(char out[33])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
        for (int i = 0; i < 16; i++)
            b[i] = (uint8_t)(x >> ((i % 8) * 8)) ^ (uint8_t)(i * 37);
    }
    rt_hex(b, sizeof b, out);
}

/* --config-doc, --version, --help: returns the exit status, or -1 to run as the extension. */
static int handle_arguments(int argc, char **argv)
{
    if (argc <= 1)
        return -1;
    if (!strcmp(argv[1], "--config-doc")) {
        rt_ext_config_doc(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("runtrail-extension %s\n", RT_VERSION);
        return 0;
    }
    bool help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
    fputs(usage_text, help ? stdout : stderr);
    return help ? 0 : 2;
}

/* What records: the ring, the sealer and the proxy (each NULL when it could not start), and
 * the files the wrapper reads. */
struct recorder {
    struct rt_ring *ring;
    struct rt_ext_sealer *sealer;
    struct rt_ext_proxy *proxy;
    struct rt_ext_logs *logs;           /* the function's lines from the Telemetry API (LOGS) */
    struct rt_ext_procwatch *procwatch; /* /proc sampling of uncovered processes, or NULL */
    char ring_path[4096], ready_path[4096];
    bool ring_file; /* the ring is the file ring_path (else in memory) */
};

/* Creates the ring and the sealer (its thread starts after register), starts the proxy and
 * writes the ready file: what must run before register (the runtime's wrapper reads the ready
 * file). Every failure degrades (to no interposer, to pass-through) and is counted or
 * reported, never fatal. */
static void start_recorder(const struct rt_ext_config *cfg, const char *runtime_api,
                           const char *sandbox_id, struct recorder *rec)
{
    uint64_t counters[RT_CTR__COUNT] = {0};
    counters[RT_CTR_CONFIG_ERRORS] = cfg->errors;
    snprintf(rec->ready_path, sizeof rec->ready_path, "%s/ready", cfg->run_dir);
    if (mkdir(cfg->run_dir, 0755) != 0 && errno != EEXIST)
        counters[RT_CTR_CONFIG_ERRORS]++;
    unlink(rec->ready_path);
    /* The ring in memory first: on Lambda /tmp is a disk, and a function that clears it (a
     * common habit) would delete a ring file, leaving every process it starts afterwards
     * unrecorded. A file in the run folder where memfd or /proc is missing. */
    struct rt_errinfo mem_ei;
    if (rt_ring_create_mem((size_t)cfg->ring_slots, rec->ring_path, sizeof rec->ring_path,
                           &rec->ring, &mem_ei) != RT_OK) {
        snprintf(rec->ring_path, sizeof rec->ring_path, "%s/ring", cfg->run_dir);
        if (rt_ring_create(rec->ring_path, (size_t)cfg->ring_slots, &rec->ring, NULL) != RT_OK) {
            diag("%s; cannot create the event ring %s either: recording without the interposer",
                 mem_ei.detail, rec->ring_path);
            rec->ring = NULL;
            rec->ring_path[0] = '\0';
        } else {
            rec->ring_file = true;
            diag("%s; the event ring is the file %s instead, which a function that clears /tmp "
                 "removes",
                 mem_ei.detail, rec->ring_path);
        }
    }
    /* The proxy's socket first: the sealer leaves the runtime's traffic to it out of the
     * bundles, so it needs the port actually bound. */
    uint16_t port = cfg->proxy_port;
    bool fell_back = false;
    int listen_fd = rt_ext_proxy_listen(cfg->proxy_port, &port, &fell_back);
    if (fell_back)
        diag("RUNTRAIL_PROXY_PORT %u is in use: the Runtime API proxy listens on 127.0.0.1:%u "
             "instead",
             (unsigned)cfg->proxy_port, (unsigned)port);
    char proxy_addr[64];
    snprintf(proxy_addr, sizeof proxy_addr, "127.0.0.1:%u", (unsigned)port);
    if (rt_ext_logs_create(&rec->logs) != RT_OK)
        rec->logs = NULL;
    struct rt_ext_sealer_options so = {.cfg = cfg,
                                       .ring = rec->ring,
                                       .sandbox_id = sandbox_id,
                                       .proxy_addr = proxy_addr,
                                       .logs = rec->logs};
    memcpy(so.initial_counters, counters, sizeof counters);
    if (rt_ext_sealer_new(&so, &rec->sealer) != RT_OK)
        rec->sealer = NULL;
    struct rt_ext_proxy_options po = {.upstream = runtime_api,
                                      .port = port,
                                      .listen_fd = listen_fd,
                                      .sealer = rec->sealer,
                                      .run_dir = cfg->run_dir};
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    if (rt_ext_proxy_start(&po, &rec->proxy, &ei) != RT_OK) {
        diag("cannot start the Runtime API proxy on %s: the runtime runs unrecorded", ei.detail);
        rec->proxy = NULL;
        if (rec->sealer)
            rt_ext_sealer_count(rec->sealer, RT_CTR_PROXY_ERRORS, 1);
    } else if (write_ready(cfg->run_dir, rt_ext_proxy_port(rec->proxy), rec->ring_path) != 0) {
        diag("cannot write the ready file in %s: the runtime runs unrecorded", cfg->run_dir);
    }
}

/* After register: what the runtime's start does not wait for. Lambda starts the runtime once
 * every extension has registered, so the Telemetry API listener (a name lookup and a thread)
 * and the /proc sampler (a thread; the runtime it samples does not exist yet) start here,
 * not before the registration that the function's cold start waits for. */
static void start_after_register(const struct rt_ext_config *cfg, const char *runtime_api,
                                 const char *extension_id, struct recorder *rec)
{
    rec->procwatch = rt_ext_procwatch_start(rec->ring_path, cfg->run_dir, cfg->proc_sample_ms);
    if (rec->logs && rt_ext_logs_subscribe(rec->logs, runtime_api, extension_id) != 0)
        diag("%s", "cannot subscribe to the Telemetry API: bundles carry no log lines");
}

static int register_with_retries(struct api *a)
{
    for (int tries = 1; api_register(a) != 0; tries++) {
        if (tries >= REGISTER_TRIES)
            return -1;
        usleep(REGISTER_RETRY_MS * 1000);
    }
    return 0;
}

/* Loops on event/next until SHUTDOWN (or an Extensions API that keeps failing); returns the
 * SHUTDOWN event's deadline (ms since the epoch; 0 when none). */
static int64_t run_events(struct api *a, struct recorder *rec, const struct rt_ext_config *cfg)
{
    int failures = 0;
    for (;;) {
        struct api_event ev;
        if (api_next(a, &ev) != 0) {
            if (++failures >= NEXT_FAILURES_MAX) {
                diag("%s", "Extensions API event/next keeps failing: exiting");
                api_error(a, "exit", "Extension.NextFailed", "event/next keeps failing");
                return 0;
            }
            usleep(NEXT_RETRY_MS * 1000);
            continue;
        }
        failures = 0;
        if (!ev.shutdown) { /* INVOKE: the proxy sees the invocation itself */
            /* ... unless the runtime dies before it takes it (an init crash) */
            if (rec->proxy)
                rt_ext_proxy_note_invoke(rec->proxy, ev.request_id);
            hold_until_sealed(rec->sealer, rec->proxy, cfg, &ev);
            continue;
        }
        if (rec->proxy) {
            /* An invocation still in flight ends as the reason says: timeout, failure (the
             * runtime died), or spindown (stopped from outside before it answered). Unless
             * the runtime never came through the proxy (an entry point that does not run the
             * wrapper): then its outcome is unknown here, and an error would be a false one. */
            bool timeout = !strcmp(ev.reason, "timeout"), failure = !strcmp(ev.reason, "failure");
            bool unproxied = !rt_ext_proxy_runtime_seen(rec->proxy);
            rt_ext_proxy_abort_inflight(rec->proxy,
                                        timeout     ? RT_STATUS_TIMEOUT
                                        : failure   ? RT_STATUS_CRASH
                                        : unproxied ? RT_STATUS_UNKNOWN
                                                    : RT_STATUS_ERROR,
                                        timeout     ? "Sandbox.Timedout"
                                        : failure   ? "Runtime.ExitError"
                                        : unproxied ? "Runtrail.NotProxied"
                                                    : "Runtrail.Cancelled");
        }
        return ev.deadline_ms;
    }
}

/* SHUTDOWN (or a dead Extensions API): seals what is pending and flushes the spool within
 * the budget, then removes the run folder's files. */
static void shutdown_recorder(struct recorder *rec, const struct rt_ext_config *cfg,
                              int64_t shutdown_deadline_ms)
{
    int64_t budget_ns = SHUTDOWN_BUDGET_MS * 1000000LL;
    if (shutdown_deadline_ms > 0) {
        int64_t left =
            shutdown_deadline_ms * 1000000 - rt_ext_now_wall_ns() - SHUTDOWN_MARGIN_MS * 1000000LL;
        if (left < budget_ns)
            budget_ns = left > 0 ? left : 0;
    }
    int64_t deadline = rt_ext_now_mono_ns() + budget_ns;
    if (rec->ready_path[0]) {
        unlink(rec->ready_path);
        char pid_path[4200];
        snprintf(pid_path, sizeof pid_path, "%s/runtime.pid", cfg->run_dir);
        unlink(pid_path);
    }
    if (rec->sealer)
        rt_ext_sealer_stop(rec->sealer, deadline);
    /* after the seal: joining a nice-19 thread on a busy machine can take long, and the
     * shutdown budget belongs to the bundles (what it sampled last is in the final seal or
     * lost, as for any sample taken too late) */
    (void)rt_ext_procwatch_stop(rec->procwatch);
    if (rec->ring_file)
        unlink(rec->ring_path);
    if (!cfg->disable)
        rmdir(cfg->run_dir); /* only when empty: never someone else's files */
}

int main(int argc, char **argv)
{
    int rc = handle_arguments(argc, argv);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stderr, NULL, _IOLBF, 0);
    /* Lambda counts the extension's memory against the function's: few malloc arenas for
     * the proxy's threads, and large blocks (compression contexts) returned to the system. */
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);

    /* OpenSSL is initialised without its error texts when seal_lazy.c loads libcrypto, at its
     * first use (see there and docs/deploy.md). */
    struct rt_ext_config cfg;
    rt_ext_config_load(&cfg);
    if (cfg.errors)
        diag("ignoring bad settings (defaults used): %s", cfg.error_names);
    const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!runtime_api || !*runtime_api) {
        diag("%s", "AWS_LAMBDA_RUNTIME_API is not set: not running inside Lambda");
        return 1;
    }
    struct api a = {.h = rt_ext_http_new(runtime_api)};
    char *prog = strdup(argv[0] ? argv[0] : "runtrail");
    snprintf(a.name, sizeof a.name, "%s", prog ? basename(prog) : "runtrail");
    free(prog);
    if (!a.h) {
        diag("AWS_LAMBDA_RUNTIME_API is not host:port: %s", runtime_api);
        return 1;
    }

    char sandbox_id[33];
    random_id(sandbox_id);
    char run_dir[256];
    if (!*cfg.run_dir) {
        rt_ext_default_run_dir(runtime_api, run_dir, sizeof run_dir);
        cfg.run_dir = run_dir;
    }
    static struct recorder rec; /* two 4 KiB paths: not on the stack */
    if (!cfg.disable)
        start_recorder(&cfg, runtime_api, sandbox_id, &rec);
    if (register_with_retries(&a) != 0) {
        diag("%s", "cannot register with the Extensions API");
        if (rec.ready_path[0])
            unlink(rec.ready_path);
        return 1;
    }
    rt_ext_sealer_registered(rec.sealer);
    if (!cfg.disable)
        start_after_register(&cfg, runtime_api, a.id, &rec);
    shutdown_recorder(&rec, &cfg, run_events(&a, &rec, &cfg));
    fflush(NULL);
    _exit(0); /* the proxy's threads end with the process */
}
