/* The emulator's lifecycle, as Lambda runs an execution environment: on the first invocation
 * (and after every reset) the sandbox cold-starts — the extensions of the layer folders
 * start and register, then the runtime starts (through the layer's exec wrapper, if any) and
 * signals readiness with its first /next. Each invocation is delivered to the runtime and, as
 * an INVOKE event, to the extensions; it completes when the runtime has posted its response
 * or error and every INVOKE-subscribed extension is back in event/next. A deadline overrun or
 * a runtime that dies resets the sandbox (SHUTDOWN "timeout"/"failure"). */
#include "replay/emulator_int.h"

#include "formats/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_NS 5000000ull /* how often waits check on child processes */

uint64_t emu_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t emu_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool emu_wait_until(struct rt_emu *emu, uint64_t until_ns)
{
    uint64_t now = emu_mono_ns();
    if (now >= until_ns)
        return false;
    uint64_t step = until_ns - now < POLL_NS ? until_ns - now : POLL_NS;
    uint64_t t = now + step;
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
                          .tv_nsec = (long)(t % 1000000000ull)};
    pthread_cond_timedwait(&emu->cv, &emu->mu, &ts);
    return true;
}

void emu_set_result(struct rt_emu *emu, int status, const char *error_type, char *body, size_t len)
{
    free(emu->res_body);
    emu->res_body = body;
    emu->res_len = body ? len : 0;
    emu->res_status = status;
    snprintf(emu->res_error_type, sizeof emu->res_error_type, "%s", error_type ? error_type : "");
    emu->inv_active = false;
    emu->inv_done = true;
    emu->res_at_ns = emu_mono_ns();
    pthread_cond_broadcast(&emu->cv);
}

const char *rt_emu_runtime_api(const struct rt_emu *emu)
{
    return emu->api;
}

int rt_emu_runtime_pid(const struct rt_emu *emu)
{
    return emu->up && !emu->runtime.exited ? emu->runtime.pid : 0;
}

int rt_emu_start(const struct rt_emu_config *cfg, struct rt_emu **out, struct rt_errinfo *ei)
{
    if (!cfg->runtime_argv || !cfg->runtime_argv[0])
        return rt_fail(ei, RT_ERR_EMULATOR, -1, "no runtime command");
    struct rt_emu *emu = calloc(1, sizeof *emu);
    if (!emu)
        return rt_fail(ei, RT_ERR_EMU_NO_MEMORY, -1, "emulator state");
    emu->cfg = cfg;
    pthread_mutex_init(&emu->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&emu->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (cfg->task_root) {
        if (!realpath(cfg->task_root, emu->task_root)) {
            int rc = rt_fail(ei, RT_ERR_EMULATOR, -1, "%s: %s", cfg->task_root, strerror(errno));
            rt_emu_stop(emu);
            return rc;
        }
    } else if (!getcwd(emu->task_root, sizeof emu->task_root)) {
        snprintf(emu->task_root, sizeof emu->task_root, ".");
    }
    /* The runtime starts in the task root, but its command line was written in the caller's
     * folder, as for any program: a relative command path, and every relative argument that
     * names an existing file or folder here (python3 samples/python/bootstrap.py), is made
     * absolute first. Other arguments (app.handler, -u) are passed as they are. */
    const char *argv0 = cfg->runtime_argv[0];
    if (!(strchr(argv0, '/') && argv0[0] != '/' && realpath(argv0, emu->runtime_exe)))
        snprintf(emu->runtime_exe, sizeof emu->runtime_exe, "%s", argv0);
    size_t argc = 0;
    while (cfg->runtime_argv[argc])
        argc++;
    emu->runtime_args = calloc(argc + 1, sizeof *emu->runtime_args);
    for (size_t i = 1; emu->runtime_args && i < argc; i++) {
        const char *arg = cfg->runtime_argv[i];
        char abs[4096];
        bool local = arg[0] && arg[0] != '/' && arg[0] != '-' && access(arg, F_OK) == 0 &&
                     realpath(arg, abs);
        if (!(emu->runtime_args[i] = strdup(local ? abs : arg))) {
            rt_emu_stop(emu);
            return rt_fail(ei, RT_ERR_EMU_NO_MEMORY, -1, "runtime arguments");
        }
    }
    if (!emu->runtime_args) {
        rt_emu_stop(emu);
        return rt_fail(ei, RT_ERR_EMU_NO_MEMORY, -1, "runtime arguments");
    }
    /* AWS_LAMBDA_EXEC_WRAPPER: an explicit --env wins, else /opt/runtrail/wrapper of the
     * merged layers, i.e. the last layer's that has one (start_extensions). */
    for (size_t i = 0; i < cfg->n_env; i++)
        if (!strncmp(cfg->env[i], "AWS_LAMBDA_EXEC_WRAPPER=", 24))
            snprintf(emu->wrapper, sizeof emu->wrapper, "%s", cfg->env[i] + 24);
    for (size_t i = cfg->n_layers; !emu->wrapper[0] && i-- > 0;) {
        char path[4096];
        snprintf(path, sizeof path, "%s/runtrail/wrapper", cfg->layers[i]);
        if (access(path, X_OK) == 0 && !realpath(path, emu->wrapper))
            emu->wrapper[0] = '\0';
    }
    int rc = emu_tele_start(emu);
    if (rc != RT_OK) {
        rt_emu_stop(emu);
        return rt_fail(ei, rc, -1, "telemetry thread");
    }
    rc = emu_http_start(emu, ei);
    if (rc != RT_OK) {
        rt_emu_stop(emu);
        return rc;
    }
    *out = emu;
    return RT_OK;
}

/* ---- sandbox ---- */

/* One name of the merged extensions/ folder: the file of the last layer that has it. */
struct ext_entry {
    char name[256];
    char path[4096 + 256];
    bool runs; /* an executable regular file */
};

static int ext_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ext_entry *)a)->name, ((const struct ext_entry *)b)->name);
}

/* Starts the executables of the layers' extensions/ folders, in name order, like Lambda.
 * Lambda merges the layers into /opt in their order, so a name a later layer also has is
 * that layer's file: the recorder layer invoke adds and a --layer folder holding another build
 * of it (extensions/runtrail) start one extension, the later one, not two. */
static int start_extensions(struct rt_emu *emu, const struct rt_emu_config *cfg,
                            struct rt_errinfo *ei)
{
    struct ext_entry *e = calloc(EMU_MAX_EXTENSIONS, sizeof *e);
    if (!e)
        return rt_fail(ei, RT_ERR_EMU_NO_MEMORY, -1, "extensions");
    size_t n = 0;
    for (size_t l = 0; l < cfg->n_layers; l++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/extensions", cfg->layers[l]);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof e->name)
                continue;
            size_t i = 0;
            while (i < n && strcmp(e[i].name, de->d_name))
                i++;
            if (i == n && n == EMU_MAX_EXTENSIONS)
                continue;
            if (i == n)
                snprintf(e[n++].name, sizeof e->name, "%s", de->d_name);
            snprintf(e[i].path, sizeof e[i].path, "%s/%s", dir, de->d_name);
            struct stat st;
            e[i].runs =
                stat(e[i].path, &st) == 0 && S_ISREG(st.st_mode) && access(e[i].path, X_OK) == 0;
        }
        if (d)
            closedir(d);
    }
    qsort(e, n, sizeof *e, ext_entry_cmp);
    int rc = RT_OK;
    for (size_t i = 0; rc == RT_OK && i < n && emu->n_ext_procs < EMU_MAX_EXTENSIONS; i++) {
        if (!e[i].runs)
            continue;
        char real[4096];
        char *argv[] = {realpath(e[i].path, real) ? real : e[i].path, NULL};
        rc = emu_proc_spawn(emu, argv, e[i].name, -1, &emu->ext_procs[emu->n_ext_procs], ei);
        if (rc == RT_OK)
            emu->n_ext_procs++;
    }
    free(e);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Removes the sandbox's temporary folder (created by us; symlinks are not followed). */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void clear_sandbox(struct rt_emu *emu)
{
    for (int i = 0; i < emu->n_exts; i++)
        for (int q = 0; q < emu->exts[i].queued; q++)
            free(emu->exts[i].queue[q]);
    emu->n_exts = 0;
    emu->n_ext_procs = 0;
    memset(&emu->runtime, 0, sizeof emu->runtime);
    emu->up = false;
    emu->registration_open = false;
    emu->runtime_ready = false;
    emu->runtime_waiting = false;
    emu->init_failed = false;
    free(emu->init_error_body);
    emu->init_error_body = NULL;
    emu->init_error_len = 0;
    emu->inv_pending = emu->inv_active = false;
    emu->invocations = 0;
    rt_lambda_env_free(emu->envp);
    emu->envp = NULL;
    if (emu->tmp_dir[0]) {
        remove_tree(emu->tmp_dir);
        emu->tmp_dir[0] = '\0';
    }
    emu->gen++;
    pthread_cond_broadcast(&emu->cv);
}

/* Lambda's message for a runtime that exited: "... Runtime exited with error: exit status 3"
 * or "... Runtime exited without providing a reason" (exit status 0). */
static void exit_message(const struct rt_emu *emu, char *msg, size_t cap)
{
    const struct emu_proc *p = &emu->runtime;
    if (WIFEXITED(p->wstatus) && WEXITSTATUS(p->wstatus) == 0) {
        snprintf(msg, cap, "RequestId: %s Error: Runtime exited without providing a reason",
                 emu->req_id);
        return;
    }
    char how[64];
    emu_proc_describe(p, how, sizeof how);
    snprintf(msg, cap, "RequestId: %s Error: Runtime exited with error: %s", emu->req_id, how);
}

/* The outcome of an invocation that rt_emu_cancel() stopped. Caller holds mu. */
static void set_cancelled(struct rt_emu *emu)
{
    char msg[128];
    snprintf(msg, sizeof msg, "RequestId: %s Error: the invocation was cancelled", emu->req_id);
    char *body = rt_emu_error_json("Runtrail.Cancelled", msg);
    emu_set_result(emu, RT_STATUS_ERROR, "Runtrail.Cancelled", body, body ? strlen(body) : 0);
}

void rt_emu_cancel(struct rt_emu *emu)
{
    pthread_mutex_lock(&emu->mu);
    emu->cancelled = true;
    pthread_cond_broadcast(&emu->cv);
    pthread_mutex_unlock(&emu->mu);
}

/* Every extension process has registered (or exited): Lambda starts the runtime then (AWS's
 * runtime interface emulator: AwaitExternalAgentsRegistered, then the runtime's exec). */
static bool extensions_registered(struct rt_emu *emu)
{
    int exited = 0;
    for (int i = 0; i < emu->n_ext_procs; i++)
        if (emu_proc_poll(&emu->ext_procs[i]))
            exited++;
    return emu->n_exts + exited >= emu->n_ext_procs;
}

/* Every extension has finished its init (called event/next, or registered for no event) or
 * exited: with the runtime's first /next, the end of the Init phase. */
static bool extensions_ready(struct rt_emu *emu)
{
    int ready = 0, exited = 0;
    for (int i = 0; i < emu->n_ext_procs; i++)
        if (emu_proc_poll(&emu->ext_procs[i]))
            exited++;
    for (int i = 0; i < emu->n_exts; i++)
        if (emu->exts[i].waiting || !emu->exts[i].events)
            ready++;
    return ready + exited >= emu->n_ext_procs;
}

/* A runtime that failed its init ends the sandbox, but the extensions still finish theirs
 * first (until they wait in event/next, or exit, or the init's deadline): they learn of the
 * failure there (SHUTDOWN), and one that subscribes to the Telemetry API meanwhile still gets
 * what the runtime printed before it failed. Caller holds mu. */
static void extensions_settle(struct rt_emu *emu, uint64_t until)
{
    while (!extensions_ready(emu) && !emu->cancelled && emu_wait_until(emu, until)) {
    }
}

/* Caller holds mu. Returns RT_OK when the runtime is ready; otherwise fills the result fields
 * (status, error type, body) with the init failure and returns RT_ERR_EMU_INIT, or another
 * RT_ERR_* when the emulator itself failed. */
static int cold_start(struct rt_emu *emu, struct rt_errinfo *ei)
{
    const struct rt_emu_config *cfg = emu->cfg;
    const char *tmp = getenv("TMPDIR");
    snprintf(emu->tmp_dir, sizeof emu->tmp_dir, "%s/runtrail-sandbox.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(emu->tmp_dir))
        emu->tmp_dir[0] = '\0';
    emu->envp = rt_lambda_env_build(cfg, emu->api, emu->wrapper[0] ? emu->wrapper : NULL,
                                    emu->tmp_dir[0] ? emu->tmp_dir : NULL);
    if (!emu->envp)
        return rt_fail(ei, RT_ERR_EMU_NO_MEMORY, -1, "environment");
    emu->up = true;
    emu->registration_open = true;
    uint64_t until = emu_mono_ns() +
                     (uint64_t)(cfg->init_timeout_ms ? cfg->init_timeout_ms : 10000) * 1000000ull;
    int rc = start_extensions(emu, cfg, ei);
    if (rc != RT_OK)
        return rc;
    while (!extensions_registered(emu) && !emu->init_failed && !emu->cancelled &&
           emu_wait_until(emu, until)) {
    }

    /* The runtime, through the wrapper when there is one (AWS_LAMBDA_EXEC_WRAPPER). */
    size_t argc = 0;
    while (cfg->runtime_argv[argc])
        argc++;
    char **argv = calloc(argc + 2, sizeof *argv);
    if (!argv)
        return rt_fail(ei, RT_ERR_EMU_NO_MEMORY, -1, "argv");
    size_t k = 0;
    if (emu->wrapper[0])
        argv[k++] = emu->wrapper;
    argv[k++] = emu->runtime_exe;
    for (size_t i = 1; i < argc; i++)
        argv[k++] = emu->runtime_args[i];
    /* The runtime's output goes through the Telemetry API's pipe (passed on to the log). */
    int out[2] = {-1, -1};
    if (!emu->init_failed && emu_tele_pipe(emu, out) != 0)
        out[0] = out[1] = -1;
    rc = emu->init_failed ? RT_OK : emu_proc_spawn(emu, argv, "runtime", out[1], &emu->runtime, ei);
    free(argv);
    if (out[1] >= 0)
        close(out[1]);
    if (out[0] >= 0) {
        if (rc == RT_OK) {
            /* the reader thread takes its own lock: never under mu (delivery is HTTP) */
            pthread_mutex_unlock(&emu->mu);
            emu_tele_attach(emu, out[0]);
            pthread_mutex_lock(&emu->mu);
        } else {
            close(out[0]);
        }
    }
    if (rc != RT_OK)
        return rc;

    char msg[512];
    /* Init is over once the runtime waits in /next and every extension has called event/next
     * (what an extension does between register and event/next runs beside the runtime's
     * start, as in Lambda). */
    while (!emu->init_failed) {
        if (emu->runtime_waiting && extensions_ready(emu))
            return RT_OK;
        if (emu->cancelled) {
            set_cancelled(emu);
            return RT_ERR_EMU_INIT;
        }
        if (emu_proc_poll(&emu->runtime)) {
            exit_message(emu, msg, sizeof msg);
            char *body = rt_emu_error_json("Runtime.ExitError", msg);
            emu_set_result(emu, RT_STATUS_CRASH, "Runtime.ExitError", body,
                           body ? strlen(body) : 0);
            extensions_settle(emu, until);
            return RT_ERR_EMU_INIT;
        }
        if (!emu_wait_until(emu, until)) {
            snprintf(msg, sizeof msg,
                     "RequestId: %s Error: Init phase timed out after %.2f "
                     "seconds",
                     emu->req_id, (cfg->init_timeout_ms ? cfg->init_timeout_ms : 10000) / 1000.0);
            char *body = rt_emu_error_json("Sandbox.Timedout", msg);
            emu_set_result(emu, RT_STATUS_TIMEOUT, "Sandbox.Timedout", body,
                           body ? strlen(body) : 0);
            return RT_ERR_EMU_INIT;
        }
    }
    char *body = emu->init_error_body;
    emu->init_error_body = NULL;
    emu_set_result(emu, RT_STATUS_ERROR, emu->init_error_type, body, emu->init_error_len);
    extensions_settle(emu, until);
    return RT_ERR_EMU_INIT;
}

/* Queues an event document for every extension subscribed to it. Caller holds mu. */
static void queue_event(struct rt_emu *emu, unsigned bit, json_t *event)
{
    char *doc = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    for (int i = 0; doc && i < emu->n_exts; i++) {
        struct emu_ext *ext = &emu->exts[i];
        if ((ext->events & bit) && ext->queued < EMU_EXT_QUEUE)
            ext->queue[ext->queued++] = strdup(doc);
    }
    free(doc);
    json_decref(event);
    pthread_cond_broadcast(&emu->cv);
}

void emu_function_arn(const struct rt_emu *emu, char *out, size_t cap)
{
    const struct rt_emu_config *cfg = emu->cfg;
    if (emu->req && emu->req->function_arn)
        snprintf(out, cap, "%s", emu->req->function_arn);
    else
        snprintf(out, cap, "arn:aws:lambda:%s:123456789012:function:%s",
                 cfg->region ? cfg->region : "us-east-1",
                 cfg->function_name ? cfg->function_name : "runtrail-function");
}

/* The INVOKE event of the current invocation for the extensions. Caller holds mu. */
static void queue_invoke(struct rt_emu *emu)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "eventType", json_string("INVOKE"));
    json_object_set_new(ev, "deadlineMs", json_integer(emu->deadline_ms));
    json_object_set_new(ev, "requestId", json_string(emu->req_id));
    char arn[512];
    emu_function_arn(emu, arn, sizeof arn);
    json_object_set_new(ev, "invokedFunctionArn", json_string(arn));
    json_t *tracing = json_object();
    json_object_set_new(tracing, "type", json_string("X-Amzn-Trace-Id"));
    json_object_set_new(tracing, "value", json_string(emu->trace_id));
    json_object_set_new(ev, "tracing", tracing);
    queue_event(emu, RT_EMU_EV_INVOKE, ev);
}

static bool all_extensions_idle(struct rt_emu *emu)
{
    for (int i = 0; i < emu->n_exts; i++) {
        struct emu_ext *ext = &emu->exts[i];
        if (!(ext->events & RT_EMU_EV_INVOKE))
            continue;
        if (ext->queued || !ext->waiting) {
            /* An extension whose process is gone never comes back: do not wait for it. */
            bool alive = false;
            for (int p = 0; p < emu->n_ext_procs; p++)
                alive |= !emu_proc_poll(&emu->ext_procs[p]);
            if (alive)
                return false;
        }
    }
    return true;
}

/* Caller holds mu. */
static void shutdown_locked(struct rt_emu *emu, const char *reason)
{
    if (!emu->up)
        return;
    bool graceful = !strcmp(reason, "spindown");
    /* The runtime first: SIGTERM with a short grace when ending normally, else SIGKILL. */
    if (emu->runtime.pid > 0) {
        if (graceful && !emu_proc_poll(&emu->runtime)) {
            emu_proc_kill(&emu->runtime, SIGTERM);
            uint64_t grace = emu_mono_ns() + 300000000ull;
            while (!emu_proc_poll(&emu->runtime) && emu_wait_until(emu, grace)) {
            }
        }
        emu_proc_reap(&emu->runtime);
    }
    /* The runtime is dead: its last output reaches the extensions before SHUTDOWN does (read
     * and delivered outside mu: delivery is HTTP to the extensions). */
    pthread_mutex_unlock(&emu->mu);
    emu_tele_end_sandbox(emu);
    pthread_mutex_lock(&emu->mu);
    unsigned budget = emu->cfg->shutdown_ms ? emu->cfg->shutdown_ms : 2000;
    json_t *ev = json_object();
    json_object_set_new(ev, "eventType", json_string("SHUTDOWN"));
    json_object_set_new(ev, "shutdownReason", json_string(reason));
    json_object_set_new(ev, "deadlineMs", json_integer(emu_wall_ms() + budget));
    queue_event(emu, RT_EMU_EV_SHUTDOWN, ev);
    uint64_t t0 = emu_mono_ns(), until = t0 + (uint64_t)budget * 1000000ull;
    emu_trace("SHUTDOWN (%s) to %d extension(s), %u ms budget", reason, emu->n_ext_procs, budget);
    for (;;) {
        bool all_gone = true;
        for (int i = 0; i < emu->n_ext_procs; i++)
            all_gone &= emu_proc_poll(&emu->ext_procs[i]);
        if (all_gone || !emu_wait_until(emu, until))
            break;
    }
    for (int i = 0; i < emu->n_ext_procs; i++) {
        struct emu_proc *p = &emu->ext_procs[i];
        if (p->exited)
            emu_trace("extension %s exited %.1f ms after SHUTDOWN", p->name,
                      (double)(emu_mono_ns() - t0) / 1e6);
        else
            emu_trace("extension %s still running after %u ms: killed", p->name, budget);
        emu_proc_reap(p);
    }
    clear_sandbox(emu);
}

void rt_emu_shutdown(struct rt_emu *emu, const char *reason)
{
    pthread_mutex_lock(&emu->mu);
    shutdown_locked(emu, reason ? reason : "spindown");
    pthread_mutex_unlock(&emu->mu);
}

static void fill_result(struct rt_emu *emu, struct rt_emu_result *res)
{
    res->status = emu->res_status;
    snprintf(res->request_id, sizeof res->request_id, "%s", emu->req_id);
    snprintf(res->error_type, sizeof res->error_type, "%s", emu->res_error_type);
    res->body = emu->res_body ? emu->res_body : strdup("");
    res->body_len = emu->res_body ? emu->res_len : 0;
    res->streamed = emu->res_streamed;
    emu->res_body = NULL;
    emu->res_len = 0;
}

int rt_emu_invoke(struct rt_emu *emu, const struct rt_emu_request *req, struct rt_emu_result *res,
                  struct rt_errinfo *ei)
{
    const struct rt_emu_config *cfg = emu->cfg;
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&emu->mu);
    if (emu->cancelled) {
        pthread_mutex_unlock(&emu->mu);
        return rt_fail(ei, RT_ERR_EMULATOR, -1, "the emulator was cancelled");
    }
    rt_emu_uuid(emu->req_id);
    if (req->trace_id)
        snprintf(emu->trace_id, sizeof emu->trace_id, "%s", req->trace_id);
    else
        rt_emu_trace_id(emu->trace_id, sizeof emu->trace_id);
    emu->req = req;
    free(emu->res_body);
    emu->res_body = NULL;
    emu->res_status = RT_STATUS_UNKNOWN;
    emu->res_error_type[0] = '\0';
    emu->res_streamed = false;
    emu->inv_done = false;

    /* A runtime that exited between invocations means a new sandbox. */
    if (emu->up && emu_proc_poll(&emu->runtime))
        shutdown_locked(emu, "failure");
    if (!emu->up) {
        uint64_t t0 = emu_mono_ns();
        res->cold_start = true;
        int rc = cold_start(emu, ei);
        res->init_ns = emu_mono_ns() - t0;
        pthread_mutex_unlock(&emu->mu); /* the Telemetry API's lock is never taken under mu */
        emu_tele_init_done(emu);
        pthread_mutex_lock(&emu->mu);
        if (rc != RT_OK) {
            const char *reason = "failure";
            if (rc == RT_ERR_EMU_INIT) {
                /* The invocation that was waiting for this init failed with it: the extensions
                 * get its INVOKE (then SHUTDOWN), so that they can tell which request the
                 * failed init cost, as the caller sees it. */
                emu->deadline_ms = emu_wall_ms() + (cfg->timeout_ms ? cfg->timeout_ms : 3000);
                queue_invoke(emu);
                reason = emu->res_status == RT_STATUS_TIMEOUT ? "timeout"
                         : emu->cancelled                     ? "spindown"
                                                              : "failure";
                fill_result(emu, res);
                rc = RT_OK;
            }
            shutdown_locked(emu, reason);
            emu->req = NULL;
            pthread_mutex_unlock(&emu->mu);
            return rc;
        }
    }

    unsigned timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 3000;
    uint64_t start = emu_mono_ns();
    uint64_t until = start + (uint64_t)timeout_ms * 1000000ull;
    emu->deadline_ms = emu_wall_ms() + timeout_ms;
    emu->req = req;
    emu->inv_pending = true;
    emu->invocations++;
    queue_invoke(emu);

    const char *reset = NULL;
    char msg[512];
    for (;;) {
        if (emu->inv_done && all_extensions_idle(emu))
            break;
        if (emu->cancelled) {
            set_cancelled(emu);
            reset = "spindown";
            break;
        }
        if (!emu->inv_done && emu_proc_poll(&emu->runtime)) {
            exit_message(emu, msg, sizeof msg);
            char *body = rt_emu_error_json("Runtime.ExitError", msg);
            emu_set_result(emu, RT_STATUS_CRASH, "Runtime.ExitError", body,
                           body ? strlen(body) : 0);
            reset = "failure";
            break;
        }
        if (!emu_wait_until(emu, until)) {
            snprintf(msg, sizeof msg, "RequestId: %s Error: Task timed out after %.2f seconds",
                     emu->req_id, timeout_ms / 1000.0);
            char *body = rt_emu_error_json("Sandbox.Timedout", msg);
            emu_set_result(emu, RT_STATUS_TIMEOUT, "Sandbox.Timedout", body,
                           body ? strlen(body) : 0);
            reset = "timeout";
            break;
        }
    }
    res->duration_ns = emu_mono_ns() - start;
    res->response_ns = emu->res_at_ns > start ? emu->res_at_ns - start : res->duration_ns;
    emu->inv_pending = emu->inv_active = false;
    emu->req = NULL;
    fill_result(emu, res);
    if (reset)
        shutdown_locked(emu, reset);
    pthread_mutex_unlock(&emu->mu);
    return RT_OK;
}

void rt_emu_result_free(struct rt_emu_result *res)
{
    if (!res)
        return;
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

void rt_emu_stop(struct rt_emu *emu)
{
    if (!emu)
        return;
    if (emu->mhd) {
        rt_emu_shutdown(emu, "spindown");
        emu_http_stop(emu);
    }
    emu_tele_stop(emu);
    free(emu->res_body);
    free(emu->init_error_body);
    rt_lambda_env_free(emu->envp);
    for (size_t i = 1; emu->runtime_args && emu->runtime_args[i]; i++)
        free(emu->runtime_args[i]);
    free(emu->runtime_args);
    pthread_cond_destroy(&emu->cv);
    pthread_mutex_destroy(&emu->mu);
    free(emu);
}
