/* The environment Lambda gives a function's processes, rebuilt for the local emulator: the
 * documented reserved variables (function name, version, memory, log group and stream,
 * region, task root, handler, runtime API, execution environment, initialisation type), the
 * values Lambda gives PATH, LD_LIBRARY_PATH, LANG and TZ, obviously fake credentials so that
 * SDKs never pick up the user's real ones, a private temporary folder per execution environment
 * (TMPDIR, the recorder's run and spool folders), and the caller's K=V overrides. Of the host's
 * environment only RUNTRAIL_* passes (the recorder's settings), unless inherit_env asks for
 * every host variable Lambda does not set itself: the recorded ENV is Lambda's, not the
 * developer's shell (pyenv, cargo paths, tokens). */
#include "replay/emulator.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct env_builder {
    char **vars;
    size_t n, cap;
    bool oom;
};

static size_t name_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Adds or replaces "name=value". */
static void env_put(struct env_builder *b, const char *name, size_t nlen, const char *value)
{
    size_t vlen = strlen(value);
    char *kv = malloc(nlen + vlen + 2);
    if (!kv) {
        b->oom = true;
        return;
    }
    memcpy(kv, name, nlen);
    kv[nlen] = '=';
    memcpy(kv + nlen + 1, value, vlen + 1);
    for (size_t i = 0; i < b->n; i++) {
        if (name_len(b->vars[i]) == nlen && !strncmp(b->vars[i], name, nlen)) {
            free(b->vars[i]);
            b->vars[i] = kv;
            return;
        }
    }
    if (b->n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char **v = realloc(b->vars, cap * sizeof *v);
        if (!v) {
            free(kv);
            b->oom = true;
            return;
        }
        b->vars = v;
        b->cap = cap;
    }
    b->vars[b->n++] = kv;
    b->vars[b->n] = NULL;
}

static void env_set(struct env_builder *b, const char *name, const char *value)
{
    env_put(b, name, strlen(name), value);
}

static void env_kv(struct env_builder *b, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (eq)
        env_put(b, kv, (size_t)(eq - kv), eq + 1);
}

static bool env_has(const struct env_builder *b, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < b->n; i++)
        if (name_len(b->vars[i]) == n && !strncmp(b->vars[i], name, n))
            return true;
    return false;
}

char **rt_lambda_env_build(const struct rt_emu_config *cfg, const char *api, const char *wrapper,
                           const char *tmp_dir)
{
    struct env_builder b = {0};
    const char *fn = cfg->function_name ? cfg->function_name : "runtrail-function";
    const char *version = cfg->function_version ? cfg->function_version : "$LATEST";
    const char *region = cfg->region ? cfg->region : "us-east-1";
    char buf[512];

    /* --inherit-env: the host's variables first, so that everything Lambda sets below wins. */
    for (char **e = environ; cfg->inherit_env && e && *e; e++)
        env_kv(&b, *e);
    env_set(&b, "PATH", RT_LAMBDA_PATH);
    env_set(&b, "LANG", "en_US.UTF-8");
    env_set(&b, "LD_LIBRARY_PATH",
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/"
            "lib:/var/task:/var/task/lib:/opt/lib");
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, "RUNTRAIL_", 9))
            env_kv(&b, *e);

    env_set(&b, "TZ", ":UTC");
    env_set(&b, "AWS_LAMBDA_FUNCTION_NAME", fn);
    env_set(&b, "AWS_LAMBDA_FUNCTION_VERSION", version);
    snprintf(buf, sizeof buf, "%u", cfg->memory_mb ? cfg->memory_mb : 128);
    env_set(&b, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", buf);
    snprintf(buf, sizeof buf, "/aws/lambda/%s", fn);
    env_set(&b, "AWS_LAMBDA_LOG_GROUP_NAME", buf);
    {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char id[37];
        rt_emu_uuid(id);
        for (char *c = id; *c; c++) /* Lambda's stream ids are 32 hex digits */
            if (*c == '-')
                memmove(c, c + 1, strlen(c));
        snprintf(buf, sizeof buf, "%04d/%02d/%02d/[%s]%s", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, version, id);
        env_set(&b, "AWS_LAMBDA_LOG_STREAM_NAME", buf);
    }
    env_set(&b, "AWS_REGION", region);
    env_set(&b, "AWS_DEFAULT_REGION", region);
    char cwd[4096];
    const char *root = cfg->task_root ? cfg->task_root : getcwd(cwd, sizeof cwd);
    if (root && root[0] != '/' && realpath(root, cwd)) /* processes start inside it */
        root = cwd;
    env_set(&b, "LAMBDA_TASK_ROOT", root ? root : ".");
    env_set(&b, "LAMBDA_RUNTIME_DIR", root ? root : ".");
    env_set(&b, "_HANDLER", cfg->handler ? cfg->handler : "function.handler");
    env_set(&b, "AWS_LAMBDA_RUNTIME_API", api);
    env_set(&b, "AWS_EXECUTION_ENV", "AWS_Lambda_runtrail_emulator");
    env_set(&b, "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    env_set(&b, "AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR");
    env_set(&b, "AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000");
    /* Obviously fake: SDKs inside the sandbox must never use the user's real credentials. */
    env_set(&b, "AWS_ACCESS_KEY_ID", "AKIAEMULATOREXAMPLE0");
    env_set(&b, "AWS_SECRET_ACCESS_KEY", "runtrail/emulator/FAKE/SECRET/not-a-real-key");
    env_set(&b, "AWS_SESSION_TOKEN", "runtrail-emulator-fake-session-token");
    if (wrapper)
        env_set(&b, "AWS_LAMBDA_EXEC_WRAPPER", wrapper);
    if (tmp_dir) {
        /* Lambda's /tmp belongs to one execution environment; so does this folder. */
        env_set(&b, "TMPDIR", tmp_dir);
        static const char *const under_tmp[][2] = {{"RUNTRAIL_RUN_DIR", "runtrail"},
                                                   {"RUNTRAIL_SPOOL_DIR", "runtrail-spool"}};
        for (size_t i = 0; i < 2; i++) {
            if (env_has(&b, under_tmp[i][0]))
                continue;
            snprintf(buf, sizeof buf, "%s/%s", tmp_dir, under_tmp[i][1]);
            env_set(&b, under_tmp[i][0], buf);
        }
    }
    for (size_t i = 0; i < cfg->n_env; i++)
        env_kv(&b, cfg->env[i]);
    if (b.oom || !b.vars) {
        rt_lambda_env_free(b.vars);
        return NULL;
    }
    return b.vars;
}

void rt_lambda_env_free(char **env)
{
    if (!env)
        return;
    for (char **e = env; *e; e++)
        free(*e);
    free(env);
}

const char *rt_lambda_env_get(char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = env; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}
