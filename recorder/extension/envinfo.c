/* What a sandbox runs with, computed once per execution environment: the ENV block (a keyed
 * HMAC-SHA256 per variable; clear values only for an allow-list of non-secret Lambda
 * variables, never credentials or user variables) and the CODE block (a digest of the task
 * root and of the layers folder, runtrail's own files excluded). Hashing goes through
 * formats/digest.h (libcrypto); the ENV key is the sandbox's hash key (hashkey.c), never
 * anything a bundle holds. */
#include "recorder/extension/extension.h"

#include "formats/codetree.h"
#include "formats/digest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Variables whose values are not secret and help a responder: set by Lambda or by runtrail.
 * Everything else (credentials, user variables) is stored as a keyed hash only. */
static const char *const allowed[] = {
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_EXEC_WRAPPER",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "LANG",
    "LD_LIBRARY_PATH",
    "NODE_PATH",
    "PATH",
    "PYTHONPATH",
    "RUNTRAIL_DISABLE",
    "RUNTRAIL_DRAIN_MS",
    "RUNTRAIL_FLUSH_WAIT_MS",
    "RUNTRAIL_HASH_KEY_FILE",
    "RUNTRAIL_LAYERS_DIR",
    "RUNTRAIL_MAX_EVENTS",
    "RUNTRAIL_MAX_PAYLOAD",
    "RUNTRAIL_PAYLOAD",
    "RUNTRAIL_PROXY_PORT",
    "RUNTRAIL_REDACT",
    "RUNTRAIL_RING_SLOTS",
    "RUNTRAIL_RUN_DIR",
    "RUNTRAIL_SAMPLE",
    "RUNTRAIL_SPOOL_DIR",
    "RUNTRAIL_SPOOL_MAX",
    "RUNTRAIL_SSE",
    "RUNTRAIL_STORE",
    "TZ",
    "_AWS_XRAY_DAEMON_ADDRESS",
    "_AWS_XRAY_DAEMON_PORT",
    "_HANDLER",
};

bool rt_ext_env_allowed(const char *name)
{
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        if (!strcmp(name, allowed[i]))
            return true;
    return false;
}

void rt_ext_env_free(struct rt_env_var *vars, size_t n)
{
    for (size_t i = 0; vars && i < n; i++) {
        free(vars[i].name);
        free(vars[i].value);
    }
    free(vars);
}

int rt_ext_env_collect(char *const *envp, const struct rt_ext_hash_key *key,
                       struct rt_env_var **out, size_t *n_out)
{
    size_t n = 0, count = 0;
    while (envp && envp[count])
        count++;
    struct rt_env_var *vars = calloc(count ? count : 1, sizeof *vars);
    if (!vars)
        return RT_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        const char *eq = strchr(envp[i], '=');
        if (!eq || eq == envp[i])
            continue;
        size_t name_len = (size_t)(eq - envp[i]);
        if (name_len == strlen("RUNTRAIL_HASH_KEY") &&
            !memcmp(envp[i], "RUNTRAIL_HASH_KEY", name_len))
            continue;
        struct rt_env_var *v = &vars[n];
        v->name = strndup(envp[i], name_len);
        if (!v->name) {
            rt_ext_env_free(vars, n);
            return RT_ERR_NOMEM;
        }
        const char *value = eq + 1;
        rt_ext_keyed_hash(key, value, strlen(value), v->hash);
        if (rt_ext_env_allowed(v->name)) {
            v->value = strdup(value);
            if (!v->value) {
                free(v->name);
                rt_ext_env_free(vars, n);
                return RT_ERR_NOMEM;
            }
        }
        n++;
    }
    /* Stable order: by name (the environment's order depends on who set what). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(vars[j - 1].name, vars[j].name) > 0; j--) {
            struct rt_env_var t = vars[j];
            vars[j] = vars[j - 1];
            vars[j - 1] = t;
        }
    *out = vars;
    *n_out = n;
    return RT_OK;
}

int rt_ext_tree_digest(const char *root, bool (*skip)(const char *rel), uint8_t out[32],
                       uint32_t *files, uint64_t *bytes)
{
    return rt_code_tree_digest(root, skip, out, files, bytes);
}

int rt_ext_code_digest(const char *task_root, const char *layers_dir, struct rt_code *code)
{
    return rt_code_digest(task_root, layers_dir, code);
}

const char *rt_ext_own_key_id(char *const *envp)
{
    static const char name[] = "AWS_ACCESS_KEY_ID=", secret_name[] = "AWS_SECRET_ACCESS_KEY=";
    const char *v = NULL, *secret = NULL;
    if (!envp) {
        v = getenv("AWS_ACCESS_KEY_ID");
        secret = getenv("AWS_SECRET_ACCESS_KEY");
    }
    for (size_t i = 0; envp && envp[i]; i++) {
        if (!strncmp(envp[i], name, sizeof name - 1))
            v = envp[i] + sizeof name - 1;
        if (!strncmp(envp[i], secret_name, sizeof secret_name - 1))
            secret = envp[i] + sizeof secret_name - 1;
    }
    /* an id equal to the secret (a test setup, a mistake) is treated as the secret */
    if (!v || (secret && !strcmp(v, secret)))
        return NULL;
    size_t n = strlen(v);
    if (n < 4 || n > 128)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9')))
            return NULL;
    return v;
}
