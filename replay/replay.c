/* `runtrail replay` below the command line (replay/replay.h): the recorded invocation's
 * payload, environment and runtime command rebuilt from its bundle; one run of it in the
 * detonation sandbox (replay/sandbox.c) through the emulator and the recorder layer, set up the
 * way `runtrail invoke` sets them up (replay/invoke.c), with the replay's bundle written into
 * a folder of the replay; and what the sandbox stopped, read from that bundle. */
#include "replay/replay.h"

#include "formats/digest.h"
#include "formats/escape.h"
#include "formats/event.h"
#include "formats/render.h"
#include "replay/invoke.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const env_words[] = {
#define _(id, word) word,
    RT_REPLAY_ENV_STATES(_)
#undef _
};

const char *rt_replay_env_word(enum rt_replay_env_state s)
{
    return (unsigned)s < sizeof env_words / sizeof env_words[0] ? env_words[s] : "?";
}

/* ---- environment ---- */

/* Set per sandbox by Lambda, the emulator or the recorder: never restored from a recording. */
static bool per_sandbox(const char *name)
{
    static const char *const names[] = {
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_EXEC_WRAPPER",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "_HANDLER",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "LD_PRELOAD",
        "TMPDIR",
        "_X_AMZN_TRACE_ID",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i]))
            return true;
    return !strncmp(name, "RUNTRAIL_", 9);
}

static bool is_credential(const char *name)
{
    return !strcmp(name, "AWS_ACCESS_KEY_ID") || !strcmp(name, "AWS_SECRET_ACCESS_KEY") ||
           !strcmp(name, "AWS_SESSION_TOKEN");
}

static const char *given_value(const char *const *given, size_t n, const char *name)
{
    size_t len = strlen(name);
    const char *v = NULL;
    for (size_t i = 0; i < n; i++) /* the last one wins */
        if (!strncmp(given[i], name, len) && given[i][len] == '=')
            v = given[i] + len + 1;
    return v;
}

static int add_var(struct rt_replay_env *e, const char *name, size_t name_len, const char *value)
{
    if (e->n_vars >= RT_REPLAY_MAX_ENV)
        return RT_OK; /* beyond the limit: dropped (the notes say what was restored) */
    size_t n = name_len + strlen(value) + 2;
    char *kv = malloc(n);
    if (!kv)
        return RT_ERR_NOMEM;
    snprintf(kv, n, "%.*s=%s", (int)name_len, name, value);
    e->vars[e->n_vars++] = kv;
    return RT_OK;
}

static void add_note(struct rt_replay_env *e, const char *name, enum rt_replay_env_state state)
{
    if (e->n_notes < RT_REPLAY_MAX_ENV)
        e->notes[e->n_notes++] = (struct rt_replay_env_note){name, state};
}

/* The id the recorder gives a configured key (recorder/extension/hashkey.c). */
static void key_id(const char *key, char out[48])
{
    static const char label[] = "runtrail hash key id v1";
    uint8_t mac[RT_SHA256_LEN];
    rt_hmac_sha256(key, strlen(key), label, strlen(label), mac);
    char hex[17];
    rt_hex(mac, 8, hex);
    snprintf(out, 48, "configured:%s", hex);
}

int rt_replay_env_build(const struct rt_bundle *b, const char *const *given, size_t n_given,
                        const char *hash_key, struct rt_replay_env *out)
{
    memset(out, 0, sizeof *out);
    if (hash_key && *hash_key && b->meta.hash_key_id) {
        char id[48];
        key_id(hash_key, id);
        out->key_known = !strcmp(id, b->meta.hash_key_id);
    }
    int rc = RT_OK;
    for (size_t i = 0; i < b->n_env && rc == RT_OK; i++) {
        const struct rt_env_var *v = &b->env[i];
        if (per_sandbox(v->name))
            continue;
        const char *mine = given_value(given, n_given, v->name);
        if (mine) {
            enum rt_replay_env_state st = RT_REPLAY_ENV_UNCHECKED;
            if (out->key_known) {
                uint8_t mac[RT_SHA256_LEN];
                rt_hmac_sha256(hash_key, strlen(hash_key), mine, strlen(mine), mac);
                st = memcmp(mac, v->hash, sizeof mac) ? RT_REPLAY_ENV_DIFFERS
                                                      : RT_REPLAY_ENV_MATCHES;
            }
            add_note(out, v->name, st);
            continue; /* added below with the other given ones */
        }
        if (is_credential(v->name)) {
            add_note(out, v->name, RT_REPLAY_ENV_PLACEHOLDER);
            rc = add_var(out, v->name, strlen(v->name),
                         !strcmp(v->name, "AWS_ACCESS_KEY_ID") ? "ASIARUNTRAILREPLAY000"
                                                               : "runtrail-replay-placeholder");
        } else if (v->value) {
            add_note(out, v->name, RT_REPLAY_ENV_RESTORED);
            rc = add_var(out, v->name, strlen(v->name), v->value);
        } else {
            add_note(out, v->name, RT_REPLAY_ENV_MISSING);
        }
    }
    for (size_t i = 0; i < n_given && rc == RT_OK; i++) {
        const char *eq = strchr(given[i], '=');
        if (!eq)
            continue;
        bool recorded = false;
        for (size_t j = 0; j < b->n_env && !recorded; j++)
            recorded = strlen(b->env[j].name) == (size_t)(eq - given[i]) &&
                       !strncmp(b->env[j].name, given[i], (size_t)(eq - given[i]));
        if (!recorded)
            add_note(out, given[i], RT_REPLAY_ENV_NEW);
        rc = add_var(out, given[i], (size_t)(eq - given[i]), eq + 1);
    }
    if (rc != RT_OK)
        rt_replay_env_free(out);
    return rc;
}

void rt_replay_env_free(struct rt_replay_env *env)
{
    for (size_t i = 0; i < env->n_vars; i++)
        free(env->vars[i]);
    memset(env, 0, sizeof *env);
}

bool rt_replay_env_not_compared(const char *name)
{
    return per_sandbox(name) || is_credential(name);
}

/* ---- payload ---- */

/* Replaces every string that starts with "<redacted:" by a placeholder, at any depth. */
static void fill_redacted(json_t *j)
{
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (json_is_string(v) && !strncmp(json_string_value(v), "<redacted:", 10))
                json_object_set_new(j, k, json_string("runtrail-placeholder"));
            else
                fill_redacted(v);
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            json_t *v = json_array_get(j, i);
            if (json_is_string(v) && !strncmp(json_string_value(v), "<redacted:", 10))
                json_array_set_new(j, i, json_string("runtrail-placeholder"));
            else
                fill_redacted(v);
        }
    }
}

int rt_replay_payload(const struct rt_bundle *b, const char *event, size_t event_len, bool fill,
                      char **out, size_t *out_len, bool *approximate, char *why, size_t why_cap)
{
    const struct rt_payload *p = &b->event;
    uint8_t sha[RT_SHA256_LEN];
    bool faithful = false;
    if (p->present && (p->mode == RT_PAYLOAD_FULL || p->mode == RT_PAYLOAD_REDACTED)) {
        rt_sha256(p->data ? p->data : (const uint8_t *)"", p->len, sha);
        faithful = p->len == p->original_len && !memcmp(sha, p->sha256, sizeof sha);
    }
    if (event) {
        rt_sha256(event, event_len, sha);
        *approximate = !(p->present && !memcmp(sha, p->sha256, sizeof sha));
        if (!(*out = malloc(event_len + 1)))
            return RT_ERR_NOMEM;
        memcpy(*out, event, event_len);
        (*out)[event_len] = '\0';
        *out_len = event_len;
        return RT_OK;
    }
    if (faithful) {
        *approximate = false;
        if (!(*out = malloc(p->len + 1)))
            return RT_ERR_NOMEM;
        memcpy(*out, p->data, p->len);
        (*out)[p->len] = '\0';
        *out_len = p->len;
        return RT_OK;
    }
    if (!p->present || p->mode == RT_PAYLOAD_HASH || p->mode == RT_PAYLOAD_NONE) {
        snprintf(why, why_cap,
                 "the recording has no payload to replay (stored as '%s'): give one with "
                 "--event FILE",
                 p->present ? rt_payload_mode_name(p->mode) : "none");
        return RT_ERR_INVALID_ARG;
    }
    if (p->len < p->original_len) {
        snprintf(why, why_cap,
                 "the recorded payload was cut at %zu of %llu bytes: give the whole one with "
                 "--event FILE",
                 p->len, (unsigned long long)p->original_len);
        return RT_ERR_INVALID_ARG;
    }
    if (!fill) {
        snprintf(why, why_cap,
                 "the recorded payload is redacted (stored as '%s'): give the original with "
                 "--event FILE, or replay with placeholders with --fill-redacted",
                 rt_payload_mode_name(p->mode));
        return RT_ERR_INVALID_ARG;
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)p->data, p->len, JSON_DECODE_ANY, &jerr);
    if (!doc) {
        snprintf(why, why_cap, "the redacted payload is not JSON (%s): give --event FILE",
                 jerr.text);
        return RT_ERR_INVALID_ARG;
    }
    fill_redacted(doc);
    *out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(doc);
    if (!*out)
        return RT_ERR_NOMEM;
    *out_len = strlen(*out);
    *approximate = true;
    return RT_OK;
}

/* ---- runtime command ---- */

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* The first program the bundle saw start (a cold start's runtime), or "". */
static const char *first_program(const struct rt_bundle *b)
{
    for (size_t i = 0; i < b->n_events; i++)
        if (b->events[i].op == RT_OP_PROC_START && b->events[i].str[0].len)
            return b->events[i].str[0].ptr;
    return "";
}

static const char *env_value(const struct rt_bundle *b, const char *name)
{
    for (size_t i = 0; i < b->n_env; i++)
        if (!strcmp(b->env[i].name, name))
            return b->env[i].value;
    return NULL;
}

int rt_replay_infer_runtime(const struct rt_bundle *b, const char *tree, const char *build,
                            const char *task_root, char *argv[8], char *buf, size_t buf_cap,
                            char *why, size_t why_cap)
{
    const char *rt = b->meta.runtime ? b->meta.runtime : "";
    const char *exec_env = env_value(b, "AWS_EXECUTION_ENV");
    const char *prog = strrchr(first_program(b), '/');
    prog = prog ? prog + 1 : first_program(b);
    char module[512] = "", probe[4096];
    const char *handler = b->meta.handler ? b->meta.handler : "";
    const char *dot = strrchr(handler, '.');
    if (dot && (size_t)(dot - handler) < sizeof module)
        snprintf(module, sizeof module, "%.*s", (int)(dot - handler), handler);
    enum { UNKNOWN, PYTHON, NODE, CUSTOM } kind = UNKNOWN;
    const char *hints[] = {rt, exec_env ? exec_env : "", prog};
    for (size_t i = 0; i < 3 && kind == UNKNOWN; i++) {
        if (strstr(hints[i], "python"))
            kind = PYTHON;
        else if (strstr(hints[i], "node"))
            kind = NODE;
        else if (strstr(hints[i], "provided") || !strcmp(hints[i], "bootstrap"))
            kind = CUSTOM;
    }
    if (kind == UNKNOWN && *module) { /* the handler's module in the task root */
        static const char *const py[] = {".py"}, *const js[] = {".mjs", ".js", ".cjs"};
        snprintf(probe, sizeof probe, "%s/%s%s", task_root, module, py[0]);
        if (exists(probe))
            kind = PYTHON;
        for (size_t i = 0; i < 3 && kind == UNKNOWN; i++) {
            snprintf(probe, sizeof probe, "%s/%s%s", task_root, module, js[i]);
            if (exists(probe))
                kind = NODE;
        }
    }
    snprintf(probe, sizeof probe, "%s/bootstrap", task_root);
    if (kind == UNKNOWN && executable(probe))
        kind = CUSTOM;
    snprintf(probe, sizeof probe, "%s/bootstrap.c", task_root);
    if (kind == UNKNOWN && exists(probe))
        kind = CUSTOM;
    int n = 0;
    switch (kind) {
    case PYTHON:
        n = snprintf(buf, buf_cap, "python3%c%s/samples/python/bootstrap.py", 0, tree);
        break;
    case NODE:
        n = snprintf(buf, buf_cap, "node%c%s/node_modules/aws-lambda-ric/index.mjs", 0, tree);
        break;
    case CUSTOM:
        snprintf(probe, sizeof probe, "%s/bootstrap", task_root);
        if (executable(probe))
            n = snprintf(buf, buf_cap, "%s%c", probe, 0) - 1;
        else
            n = snprintf(buf, buf_cap, "%s/samples/c/bootstrap%c", build, 0) - 1;
        break;
    default:
        snprintf(why, why_cap,
                 "cannot tell the runtime from the recording (runtime '%s', handler '%s'): give "
                 "its command after --",
                 rt, handler);
        return RT_ERR_INVALID_ARG;
    }
    if (n < 0 || (size_t)n + 1 >= buf_cap)
        return RT_ERR_NOMEM;
    argv[0] = buf;
    argv[1] = kind == CUSTOM ? NULL : buf + strlen(buf) + 1;
    argv[2] = NULL;
    const char *file = argv[1] ? argv[1] : argv[0];
    if (!exists(file)) {
        snprintf(why, why_cap,
                 "the runtime inferred from the recording needs %s, which is not there: give "
                 "the runtime's command after --",
                 file);
        return RT_ERR_INVALID_ARG;
    }
    return RT_OK;
}

/* ---- what the sandbox stopped ---- */

static int add_dest(struct rt_replay_dest **v, size_t *n, const char *dest, size_t dest_len,
                    const char *what, size_t what_len)
{
    char d[512], w[1024];
    rt_escape_buf(d, sizeof d, dest, dest_len, 0);
    rt_escape_buf(w, sizeof w, what, what_len, 0);
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i].dest, d) && !strcmp((*v)[i].what, w)) {
            (*v)[i].count++;
            return RT_OK;
        }
    struct rt_replay_dest *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return RT_ERR_NOMEM;
    *v = nv;
    nv[*n] = (struct rt_replay_dest){strdup(d), strdup(w), 1};
    if (!nv[*n].dest || !nv[*n].what) {
        free(nv[*n].dest);
        free(nv[*n].what);
        return RT_ERR_NOMEM;
    }
    (*n)++;
    return RT_OK;
}

static bool has_dest(const struct rt_replay_dest *v, size_t n, const char *dest, size_t len)
{
    char d[512];
    rt_escape_buf(d, sizeof d, dest, len, 0);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].dest, d))
            return true;
    return false;
}

static bool network_error(int64_t result)
{
    switch (-result) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case ETIMEDOUT:
    case ECONNRESET:
    case EPERM:
    case EACCES:
        return true;
    default:
        return false;
    }
}

int rt_replay_blocked(const struct rt_bundle *r, enum rt_net_mode net, struct rt_replay_dest **out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    if (net == RT_NET_ALLOW)
        return RT_OK;
    int rc = RT_OK;
    for (size_t i = 0; i < r->n_events && rc == RT_OK; i++) {
        const struct rt_event *ev = &r->events[i];
        const struct rt_str *s = ev->str;
        if ((ev->op == RT_OP_CONNECT || ev->op == RT_OP_SENDTO) && ev->result < 0 &&
            network_error(ev->result)) {
            const char *e = rt_render_errno_name((int)-ev->result);
            rc = add_dest(out, n, s[0].ptr, s[0].len, e, strlen(e));
        } else if (ev->op == RT_OP_DNS && ev->result != 0) {
            rc = add_dest(out, n, s[0].ptr, s[0].len, "lookup failed", 13);
        } else if (ev->op == RT_OP_OUTBOUND && !ev->num[0] && !ev->num[1] &&
                   !has_dest(*out, *n, s[0].ptr, s[0].len)) {
            /* a non-blocking connect that never completed: nothing went either way */
            rc = add_dest(out, n, s[0].ptr, s[0].len, "no connection (nothing sent)", 28);
        }
    }
    return rc;
}

void rt_replay_dests_free(struct rt_replay_dest *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].dest);
        free(d[i].what);
    }
    free(d);
}

int rt_replay_sink_captures(const char *work_dir, struct rt_replay_dest **out, size_t *n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sink.jsonl", work_dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return RT_OK;
    char line[65536];
    int rc = RT_OK;
    while (rc == RT_OK && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *kind = json_string_value(json_object_get(j, "kind"));
        const char *dest = json_string_value(json_object_get(j, "dest"));
        char what[2048];
        if (!kind) {
            json_decref(j);
            continue;
        }
        if (!strcmp(kind, "http")) {
            snprintf(what, sizeof what, "%s (%lld bytes: %s)",
                     json_string_value(json_object_get(j, "request")) ?: "",
                     (long long)json_integer_value(json_object_get(j, "bodyBytes")),
                     json_string_value(json_object_get(j, "body")) ?: "");
        } else if (!strcmp(kind, "tls")) {
            snprintf(what, sizeof what, "TLS server name %s",
                     json_string_value(json_object_get(j, "sni")) ?: "");
        } else if (!strcmp(kind, "dns")) {
            dest = json_string_value(json_object_get(j, "name"));
            snprintf(what, sizeof what, "DNS lookup answered with the sink 127.0.0.1");
        } else {
            snprintf(what, sizeof what, "%lld bytes, not HTTP or TLS",
                     (long long)json_integer_value(json_object_get(j, "bytes")));
        }
        if (dest)
            rc = add_dest(out, n, dest, strlen(dest), what, strlen(what));
        json_decref(j);
    }
    fclose(f);
    return rc;
}

size_t rt_replay_sink_ports(const struct rt_bundle *b, unsigned *ports, size_t cap)
{
    size_t n = 0;
    ports[n++] = 80;
    ports[n++] = 443;
    for (size_t i = 0; i < b->n_events && n < cap; i++) {
        const struct rt_event *ev = &b->events[i];
        if ((ev->op != RT_OP_CONNECT && ev->op != RT_OP_OUTBOUND) || !ev->str[0].len)
            continue;
        const char *colon = memrchr(ev->str[0].ptr, ':', ev->str[0].len);
        if (!colon)
            continue;
        unsigned port = 0;
        for (const char *c = colon + 1; c < ev->str[0].ptr + ev->str[0].len; c++)
            port =
                *c >= '0' && *c <= '9' && port < 65536 ? port * 10 + (unsigned)(*c - '0') : 70000;
        if (port == 0 || port > 65535 || port == 53)
            continue;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = ports[k] == port;
        if (!seen)
            ports[n++] = port;
    }
    return n;
}

/* ---- one run ---- */

static void write_line(int fd, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return;
    size_t len = strlen(text), off = 0;
    text[len] = '\0';
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) < 0) {
        /* the parent is gone: nothing to tell */
    }
    free(text);
}

static void child_error(int fd, const char *msg)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(msg));
    write_line(fd, o);
}

/* In the forked child: enters the sandbox, runs the emulator, reports; never returns. */
static void child_run(const struct rt_replay_run *run, int fd)
{
    struct rt_sandbox_spec spec = {.net = run->net, .work_dir = run->work_dir};
    spec.ro_paths[spec.n_ro++] = run->task_root;
    /* A runtime command naming files under /tmp (hidden by the private /tmp): bound too. */
    for (size_t i = 0; run->cfg.runtime_argv[i] && spec.n_ro < RT_SANDBOX_MAX_RO; i++)
        if (!strncmp(run->cfg.runtime_argv[i], "/tmp/", 5) && exists(run->cfg.runtime_argv[i]))
            spec.ro_paths[spec.n_ro++] = run->cfg.runtime_argv[i];
    if (run->net == RT_NET_SINKHOLE) /* written by the parent; the work folder is bound there */
        spec.resolv_conf = RT_SANDBOX_WORK "/resolv.conf";
    char why[512] = "";
    bool sandboxed = rt_sandbox_enter(&spec, why, sizeof why) == 0;
    if (!sandboxed && run->net != RT_NET_ALLOW) {
        child_error(fd, why);
        _exit(3);
    }
    const char *root = sandboxed ? RT_SANDBOX_WORK : run->work_dir;
    static struct rt_invoke_opts o;
    memset(&o, 0, sizeof o);
    static char store[4200], spool[4200], run_dir[4200], replay_of[300];
    snprintf(store, sizeof store, "RUNTRAIL_STORE=%s/store", root);
    snprintf(spool, sizeof spool, "RUNTRAIL_SPOOL_DIR=%s/spool", root);
    snprintf(run_dir, sizeof run_dir, "RUNTRAIL_RUN_DIR=%s/run", root);
    snprintf(replay_of, sizeof replay_of, "RUNTRAIL_REPLAY_OF=%s", run->replay_of);
    for (size_t i = 0; i < run->n_env && o.n_env < RT_INVOKE_MAX_LIST - 6; i++)
        o.env[o.n_env++] = run->env[i];
    o.env[o.n_env++] = store;
    o.env[o.n_env++] = spool;
    o.env[o.n_env++] = run_dir;
    o.env[o.n_env++] = replay_of;
    if (sandboxed)
        o.env[o.n_env++] = "TMPDIR=/tmp";
    o.cfg = run->cfg;
    o.cfg.env = o.env;
    o.cfg.n_env = o.n_env;
    o.cfg.log_fd = run->log_fd;
    o.cfg.layers = o.layers;
    o.cfg.n_layers = 0;
    char err[1024];
    if (rt_invoke_setup_recording(&o, run->self_exe, NULL, err, sizeof err) != RT_OK) {
        child_error(fd, err);
        _exit(3);
    }
    setenv("TMPDIR", root, 1); /* the emulator's own folders */
    struct rt_sinkhole *sink = NULL;
    if (run->net == RT_NET_SINKHOLE &&
        rt_sinkhole_start(RT_SANDBOX_WORK "/sink.jsonl", run->sink_ports, run->n_sink_ports, &sink,
                          err, sizeof err) != 0) {
        child_error(fd, err);
        _exit(3);
    }
    struct rt_emu *emu = NULL;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    int rc = rt_emu_start(&o.cfg, &emu, &ei);
    struct rt_emu_result res;
    memset(&res, 0, sizeof res);
    for (int k = run->warm_up ? 0 : 1; rc == RT_OK && k < 2; k++) {
        rt_emu_result_free(&res);
        rc = rt_emu_invoke(emu, &run->req, &res, &ei);
        if (rc == RT_OK && k == 0 && res.status != RT_STATUS_OK && res.status != RT_STATUS_ERROR)
            break; /* the warm-up crashed or timed out: that is the replay's outcome */
    }
    if (rc != RT_OK) {
        child_error(fd, rt_errinfo_format(rc, &ei, err, sizeof err));
        rt_emu_stop(emu);
        _exit(3);
    }
    rt_emu_stop(emu);
    rt_sinkhole_stop(sink);
    json_t *j = json_object();
    json_object_set_new(j, "sandboxed", json_boolean(sandboxed));
    json_object_set_new(j, "why", json_string(why));
    json_object_set_new(j, "status", json_integer(res.status));
    json_object_set_new(j, "requestId", json_string(res.request_id));
    json_object_set_new(j, "errorType", json_stringn(res.error_type, strlen(res.error_type)));
    json_t *body = json_stringn(res.body ? res.body : "", res.body_len);
    json_object_set_new(j, "body", body ? body : json_string("(the response is not UTF-8)"));
    json_object_set_new(j, "initMs", json_real((double)res.init_ns / 1e6));
    json_object_set_new(j, "responseMs", json_real((double)res.response_ns / 1e6));
    json_object_set_new(j, "durationMs", json_real((double)res.duration_ns / 1e6));
    write_line(fd, j);
    rt_emu_result_free(&res);
    _exit(0);
}

int rt_replay_run_once(const struct rt_replay_run *run, struct rt_replay_result *res, char *err,
                       size_t err_cap)
{
    memset(res, 0, sizeof *res);
    static const char *const subdirs[] = {"store", "tmp", "spool", "run"};
    char path[4200];
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", run->work_dir, subdirs[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, err_cap, "%s: %s", path, strerror(errno));
            return RT_ERR_EMULATOR;
        }
    }
    snprintf(path, sizeof path, "%s/tmp", run->work_dir);
    chmod(path, 01777);
    if (run->net == RT_NET_SINKHOLE) { /* every name resolves at the sinkhole's responder */
        snprintf(path, sizeof path, "%s/resolv.conf", run->work_dir);
        FILE *f = fopen(path, "we");
        if (!f || fputs("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n", f) < 0) {
            snprintf(err, err_cap, "%s: %s", path, strerror(errno));
            if (f)
                fclose(f);
            return RT_ERR_EMULATOR;
        }
        fclose(f);
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, err_cap, "pipe: %s", strerror(errno));
        return RT_ERR_EMULATOR;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(err, err_cap, "fork: %s", strerror(errno));
        return RT_ERR_EMULATOR;
    }
    if (pid == 0) {
        close(fds[0]);
        child_run(run, fds[1]);
        _exit(3);
    }
    close(fds[1]);
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            char *nt = realloc(text, cap = 2 * cap + 65536);
            if (!nt)
                break;
            text = nt;
        }
        ssize_t n = read(fds[0], text + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    json_error_t jerr;
    json_t *j = text ? json_loadb(text, len, JSON_DISABLE_EOF_CHECK, &jerr) : NULL;
    free(text);
    if (!j) {
        snprintf(err, err_cap, "the replay ended without a result (status %d)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return RT_ERR_EMULATOR;
    }
    const char *e = json_string_value(json_object_get(j, "error"));
    if (e) {
        snprintf(err, err_cap, "%s", e);
        json_decref(j);
        return RT_ERR_EMULATOR;
    }
    res->sandboxed = json_is_true(json_object_get(j, "sandboxed"));
    snprintf(res->sandbox_why, sizeof res->sandbox_why, "%s",
             json_string_value(json_object_get(j, "why")) ?: "");
    res->status = (int)json_integer_value(json_object_get(j, "status"));
    snprintf(res->request_id, sizeof res->request_id, "%s",
             json_string_value(json_object_get(j, "requestId")) ?: "");
    snprintf(res->error_type, sizeof res->error_type, "%s",
             json_string_value(json_object_get(j, "errorType")) ?: "");
    json_t *body = json_object_get(j, "body");
    res->body_len = json_string_length(body);
    res->body = malloc(res->body_len + 1);
    if (res->body) {
        memcpy(res->body, json_string_value(body) ?: "", res->body_len);
        res->body[res->body_len] = '\0';
    }
    res->init_ms = json_real_value(json_object_get(j, "initMs"));
    res->response_ms = json_real_value(json_object_get(j, "responseMs"));
    res->duration_ms = json_real_value(json_object_get(j, "durationMs"));
    json_decref(j);
    return RT_OK;
}

void rt_replay_result_free(struct rt_replay_result *res)
{
    free(res->body);
    res->body = NULL;
}
