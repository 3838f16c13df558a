/* Option handling for `runtrail invoke` and `runtrail emulate`: the option table, the parser
 * (the one option engine, formats/options.h: getopt_long, stopping at `--` or the first
 * non-option, which starts the runtime command)
 * and the recording set-up — the runtrail layer that the build puts next to the binary
 * ($(BUILD)/layer, like /opt in Lambda), the store the extension writes to, a spool folder
 * of ours for what the store refuses, and a free port for the extension's Runtime API proxy so
 * that parallel runs never collide. */
#include "replay/invoke.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    OPT_STORE = 1,
    OPT_EVENT,
    OPT_REPEAT,
    OPT_HANDLER,
    OPT_TASK_ROOT,
    OPT_FUNCTION_NAME,
    OPT_REGION,
    OPT_TIMEOUT,
    OPT_MEMORY,
    OPT_LAYER,
    OPT_ENV,
    OPT_INHERIT_ENV,
    OPT_NO_RECORD,
    OPT_REPORT,
    OPT_QUIET,
    OPT_LISTEN,
    OPT_IDLE_TIMEOUT,
};

const struct rt_opt rt_invoke_options[] = {
    {OPT_STORE, "store", 0, "URL",
     "where bundles go (s3://BUCKET/PREFIX or a folder;\n"
     "default $RUNTRAIL_STORE, else ./runtrail-data)"},
    {OPT_EVENT, "event", 0, "FILE|-", "an event payload; repeatable (default: {})"},
    {OPT_REPEAT, "repeat", 0, "N", "deliver the events N times"},
    {OPT_HANDLER, "handler", 0, "H", "_HANDLER (default function.handler)"},
    {OPT_TASK_ROOT, "task-root", 0, "DIR", "LAMBDA_TASK_ROOT and working directory (default .)"},
    {OPT_FUNCTION_NAME, "function-name", 0, "F",
     "AWS_LAMBDA_FUNCTION_NAME (default runtrail-function)"},
    {OPT_REGION, "region", 0, "R", "AWS_REGION (default us-east-1)"},
    {OPT_TIMEOUT, "timeout", 0, "S", "per-invocation timeout in seconds (default 3)"},
    {OPT_MEMORY, "memory", 0, "MB", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128)"},
    {OPT_LAYER, "layer", 0, "DIR",
     "a layer folder laid out like /opt (extensions/, runtrail/wrapper);\n"
     "repeatable; default $RUNTRAIL_LAYER"},
    {OPT_ENV, "env", 0, "K=V", "an extra environment variable; repeatable"},
    {OPT_INHERIT_ENV, "inherit-env", 0, NULL,
     "pass the host's environment too, under Lambda's variables\n(default: only RUNTRAIL_*)"},
    {OPT_NO_RECORD, "no-record", 0, NULL, "run without the runtrail recorder layer"},
    {OPT_REPORT, "report", 0, "FILE", "one JSON line per invocation (id, status, timings)"},
    {OPT_QUIET, "quiet", 0, NULL, "no per-invocation status lines on stderr"},
    {OPT_LISTEN, "listen", 0, "ADDR", "(emulate) HOST:PORT of the invoke endpoint"},
    {OPT_IDLE_TIMEOUT, "idle-timeout", 0, "S",
     "(emulate) close a client connection idle for S seconds (default 30)"},
    {0},
};

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return RT_ERR_EMU_BAD_REQUEST;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v > max)
        return false;
    *out = v;
    return true;
}

int rt_invoke_opts_parse(int argc, char **argv, bool emulate, struct rt_invoke_opts *o, char *err,
                         size_t err_cap)
{
    memset(o, 0, sizeof *o);
    const char *env_layer = getenv("RUNTRAIL_LAYER");
    struct rt_opt_parser p;
    rt_opt_begin(&p, rt_invoke_options, true, argc, argv);
    int c;
    unsigned long v;
    while ((c = rt_opt_next(&p)) != RT_OPT_END) {
        const char *val = p.value;
        switch (c) {
        case OPT_STORE:
            o->store = val;
            break;
        case OPT_EVENT:
            if (o->n_events >= RT_INVOKE_MAX_LIST)
                return fail(err, err_cap, "too many --event options (at most 64)");
            o->events[o->n_events++] = val;
            break;
        case OPT_REPEAT:
            if (!parse_ulong(val, 100000000, &v) || v == 0)
                return fail(err, err_cap, "--repeat wants a positive number, not '%s'", val);
            o->repeat = v;
            break;
        case OPT_HANDLER:
            o->cfg.handler = val;
            break;
        case OPT_TASK_ROOT:
            /* The runtime runs inside the task root, so a relative LAMBDA_TASK_ROOT would
             * point nowhere: resolve it here, as Lambda's is always absolute (/var/task). */
            if (!realpath(val, o->task_root_abs))
                return fail(err, err_cap, "--task-root %s: %s", val, strerror(errno));
            o->cfg.task_root = o->task_root_abs;
            break;
        case OPT_FUNCTION_NAME:
            o->cfg.function_name = val;
            break;
        case OPT_REGION:
            o->cfg.region = val;
            break;
        case OPT_TIMEOUT: {
            char *end;
            double s = strtod(val, &end);
            if (*end || !(s > 0) || s > 900)
                return fail(err, err_cap, "--timeout wants seconds in (0, 900], not '%s'", val);
            o->cfg.timeout_ms = (unsigned)(s * 1000 + 0.5);
            if (!o->cfg.timeout_ms)
                o->cfg.timeout_ms = 1;
            break;
        }
        case OPT_MEMORY:
            if (!parse_ulong(val, 10240, &v) || v < 1)
                return fail(err, err_cap, "--memory wants megabytes (1..10240), not '%s'", val);
            o->cfg.memory_mb = (unsigned)v;
            break;
        case OPT_LAYER:
            if (o->n_layers >= RT_INVOKE_MAX_LIST)
                return fail(err, err_cap, "too many --layer options (at most 64)");
            o->layers[o->n_layers++] = val;
            break;
        case OPT_ENV:
            if (!strchr(val, '=') || val[0] == '=')
                return fail(err, err_cap, "--env wants K=V, not '%s'", val);
            if (o->n_env >= RT_INVOKE_MAX_LIST)
                return fail(err, err_cap, "too many --env options (at most 64)");
            o->env[o->n_env++] = val;
            break;
        case OPT_NO_RECORD:
            o->no_record = true;
            break;
        case OPT_INHERIT_ENV:
            o->cfg.inherit_env = true;
            break;
        case OPT_REPORT:
            o->report = val;
            break;
        case OPT_QUIET:
            o->quiet = true;
            break;
        case OPT_LISTEN:
            if (!emulate)
                return fail(err, err_cap, "--listen is an option of 'runtrail emulate'");
            o->listen = val;
            break;
        case OPT_IDLE_TIMEOUT:
            if (!emulate)
                return fail(err, err_cap, "--idle-timeout is an option of 'runtrail emulate'");
            if (!parse_ulong(val, 86400, &v) || v == 0)
                return fail(err, err_cap, "--idle-timeout wants seconds (1..86400), not '%s'", val);
            o->idle_timeout_s = (unsigned)v;
            break;
        case RT_OPT_HELP:
            return fail(err, err_cap, "--help is answered by the command");
        default:
            return fail(err, err_cap, "%s", p.err);
        }
    }
    int first = p.first_operand;
    if (first >= argc)
        return fail(err, err_cap, "missing the runtime command (after --)");
    if (emulate && !o->listen)
        return fail(err, err_cap, "--listen ADDR is required");
    if (!emulate && o->n_events == 0 && o->repeat == 0)
        o->repeat = 1;
    if (!o->n_layers && env_layer && *env_layer)
        o->layers[o->n_layers++] = env_layer;
    o->cfg.runtime_argv = argv + first;
    o->cfg.layers = o->layers;
    o->cfg.n_layers = o->n_layers;
    o->cfg.env = o->env;
    o->cfg.n_env = o->n_env;
    o->cfg.log_fd = 2;
    return RT_OK;
}

static bool user_env_has(const struct rt_invoke_opts *o, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < o->n_env; i++)
        if (!strncmp(o->env[i], name, n) && o->env[i][n] == '=')
            return true;
    return false;
}

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    unsigned port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int rt_invoke_setup_recording(struct rt_invoke_opts *o, const char *self_exe, const char *store_url,
                              char *err, size_t err_cap)
{
    char exe[PATH_MAX];
    if (!self_exe || !realpath(self_exe, exe))
        snprintf(exe, sizeof exe, "%s", self_exe ? self_exe : "runtrail");
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(exe, sizeof exe, ".");
    /* The build tree has bin/../layer; an installed tree (make install) lib/runtrail/layer. */
    char layer[PATH_MAX + 32], probe[PATH_MAX + 64];
    snprintf(layer, sizeof layer, "%s/../layer", exe);
    snprintf(probe, sizeof probe, "%s/extensions/runtrail", layer);
    if (access(probe, X_OK) != 0) {
        snprintf(layer, sizeof layer, "%s/../lib/runtrail/layer", exe);
        snprintf(probe, sizeof probe, "%s/extensions/runtrail", layer);
    }
    if (access(probe, X_OK) != 0 || !realpath(layer, o->layer_path)) {
        snprintf(err, err_cap,
                 "the runtrail recorder layer is not built yet (looked for %s); "
                 "run 'make', or pass --no-record to invoke without recording",
                 probe);
        return RT_ERR_EMULATOR;
    }
    /* The recorder layer comes first, as if added before the function's own layers: its
     * wrapper wraps the runtime, unless a later --layer folder holds another build of it
     * (runtrail/wrapper, extensions/runtrail), which replaces it as in Lambda's /opt. */
    memmove(o->layers + 1, o->layers, o->n_layers * sizeof o->layers[0]);
    o->layers[0] = o->layer_path;
    o->n_layers++;
    o->cfg.n_layers = o->n_layers;
    if (!user_env_has(o, "RUNTRAIL_STORE")) {
        const char *url = store_url && *store_url ? store_url : "./runtrail-data";
        char abs[2 * PATH_MAX + 8];
        if (strstr(url, "://") || url[0] == '/') {
            snprintf(abs, sizeof abs, "%s", url);
        } else {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof cwd))
                snprintf(cwd, sizeof cwd, ".");
            snprintf(abs, sizeof abs, "%s/%s", cwd, !strncmp(url, "./", 2) ? url + 2 : url);
        }
        snprintf(o->store_env, sizeof o->store_env, "RUNTRAIL_STORE=%s", abs);
        o->env[o->n_env++] = o->store_env;
    }
    if (!user_env_has(o, "RUNTRAIL_PROXY_PORT") && !getenv("RUNTRAIL_PROXY_PORT")) {
        unsigned port = free_port();
        if (port) {
            snprintf(o->port_env, sizeof o->port_env, "RUNTRAIL_PROXY_PORT=%u", port);
            o->env[o->n_env++] = o->port_env;
        }
    }
    /* The CODE digest hashes the layers folder (/opt in Lambda). Here the layers are the
     * --layer folders, not the host's /opt (which can hold anything, hundreds of MB hashed at
     * every cold start): the first --layer folder, else the recorder layer itself, whose own
     * files the digest leaves out. */
    if (!user_env_has(o, "RUNTRAIL_LAYERS_DIR") && !getenv("RUNTRAIL_LAYERS_DIR")) {
        char dir[PATH_MAX];
        if (o->n_layers < 2 || !realpath(o->layers[1], dir))
            snprintf(dir, sizeof dir, "%s", o->layer_path);
        snprintf(o->layers_env, sizeof o->layers_env, "RUNTRAIL_LAYERS_DIR=%s", dir);
        o->env[o->n_env++] = o->layers_env;
    }
    /* The spool: bundles the store refused stay in a folder of ours, outside the sandbox's
     * /tmp (removed when the sandbox ends), so that a failing store is seen and nothing lost. */
    const char *user_spool = rt_invoke_env_value(o, "RUNTRAIL_SPOOL_DIR");
    if (!user_spool)
        user_spool = getenv("RUNTRAIL_SPOOL_DIR");
    if (user_spool && *user_spool) { /* theirs: looked at, never removed */
        snprintf(o->spool_dir, sizeof o->spool_dir, "%s", user_spool);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(o->spool_dir, sizeof o->spool_dir, "%s/runtrail-spool.XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(o->spool_dir)) {
            snprintf(err, err_cap, "%s: %s", o->spool_dir, strerror(errno));
            o->spool_dir[0] = '\0';
            return RT_ERR_EMULATOR;
        }
        snprintf(o->spool_env, sizeof o->spool_env, "RUNTRAIL_SPOOL_DIR=%s", o->spool_dir);
        o->env[o->n_env++] = o->spool_env;
        o->spool_ours = true;
    }
    o->cfg.n_env = o->n_env;
    return RT_OK;
}

const char *rt_invoke_env_value(const struct rt_invoke_opts *o, const char *name)
{
    size_t n = strlen(name);
    const char *v = NULL;
    for (size_t i = 0; i < o->n_env; i++) /* the last one wins, as in the sandbox */
        if (!strncmp(o->env[i], name, n) && o->env[i][n] == '=')
            v = o->env[i] + n + 1;
    return v;
}

size_t rt_invoke_spooled(const struct rt_invoke_opts *o)
{
    DIR *d = o->spool_dir[0] ? opendir(o->spool_dir) : NULL;
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

void rt_invoke_spool_done(struct rt_invoke_opts *o)
{
    if (o->spool_ours && rt_invoke_spooled(o) == 0)
        rmdir(o->spool_dir);
}
