/* What a sandbox runs with, computed once per execution environment: the ENV block (a keyed
 * HMAC-SHA256 per variable; clear values only for an allow-list of non-secret Lambda
 * variables, never credentials or user variables) and the CODE block (a digest of the task
 * root and of the layers folder, runtrail's own files excluded). Hashing goes through
 * formats/digest.h (libcrypto); the ENV key is the sandbox's hash key (hashkey.c), never
 * anything a bundle holds. */
#include "recorder/extension/extension.h"

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

/* ---- tree digest ---- */

#define MAX_TREE_FILES 50000
#define MAX_TREE_BYTES (512ull * 1024 * 1024) /* Lambda's limit is 250 MB unzipped */
#define MAX_TREE_DEPTH 32

struct tree {
    struct rt_sha256_ctx *ctx;
    bool (*skip)(const char *rel);
    uint32_t files;
    uint64_t bytes;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hash_file(struct tree *t, int dirfd, const char *name, const char *rel)
{
    uint8_t digest[RT_SHA256_LEN];
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    struct rt_sha256_ctx *fc = rt_sha256_new();
    if (!fc) {
        close(fd);
        return;
    }
    char buf[65536];
    ssize_t got;
    while (t->bytes < MAX_TREE_BYTES && (got = read(fd, buf, sizeof buf)) > 0) {
        rt_sha256_update(fc, buf, (size_t)got);
        t->bytes += (uint64_t)got;
    }
    close(fd);
    rt_sha256_final(fc, digest);
    rt_sha256_update(t->ctx, "F", 1);
    rt_sha256_update(t->ctx, rel, strlen(rel) + 1);
    rt_sha256_update(t->ctx, digest, sizeof digest);
    t->files++;
}

static void walk_dir(struct tree *t, int dirfd, const char *rel, int depth)
{
    if (depth > MAX_TREE_DEPTH || t->files >= MAX_TREE_FILES || t->bytes >= MAX_TREE_BYTES)
        return;
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
            cap = ncap;
        }
        if ((names[n] = strdup(de->d_name)) != NULL)
            n++;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char child[PATH_MAX];
        int len = snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        if (len < 0 || (size_t)len >= sizeof child || (t->skip && t->skip(child)))
            continue;
        struct stat st;
        if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (sub >= 0) {
                rt_sha256_update(t->ctx, "D", 1);
                rt_sha256_update(t->ctx, child, strlen(child) + 1);
                walk_dir(t, sub, child, depth + 1);
            }
        } else if (S_ISREG(st.st_mode)) {
            hash_file(t, dirfd, names[i], child);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t tl = readlinkat(dirfd, names[i], target, sizeof target - 1);
            if (tl >= 0) {
                target[tl] = '\0';
                rt_sha256_update(t->ctx, "L", 1);
                rt_sha256_update(t->ctx, child, strlen(child) + 1);
                rt_sha256_update(t->ctx, target, (size_t)tl + 1);
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
}

int rt_ext_tree_digest(const char *root, bool (*skip)(const char *rel), uint8_t out[32],
                       uint32_t *files, uint64_t *bytes)
{
    struct tree t = {.ctx = rt_sha256_new(), .skip = skip};
    if (!t.ctx)
        return RT_ERR_NOMEM;
    int fd = root && *root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0)
        walk_dir(&t, fd, "", 0);
    rt_sha256_final(t.ctx, out);
    if (files)
        *files += t.files;
    if (bytes)
        *bytes += t.bytes;
    return RT_OK;
}

/* runtrail's own layer files: the extension and the runtrail/ folder. */
static bool skip_runtrail(const char *rel)
{
    return !strcmp(rel, "runtrail") || !strncmp(rel, "runtrail/", 9) ||
           !strcmp(rel, "extensions/runtrail");
}

int rt_ext_code_digest(const char *task_root, const char *layers_dir, struct rt_code *code)
{
    memset(code, 0, sizeof *code);
    int rc = rt_ext_tree_digest(task_root, NULL, code->task_root, &code->files, &code->bytes);
    if (rc == RT_OK)
        rc =
            rt_ext_tree_digest(layers_dir, skip_runtrail, code->layers, &code->files, &code->bytes);
    code->task_root_path = task_root ? strdup(task_root) : NULL;
    return rc;
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
