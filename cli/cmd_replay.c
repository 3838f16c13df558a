/* `runtrail replay`: runs a recorded invocation again on this machine — its payload, its Lambda
 * context, its environment without the secrets, its code (checked against the recorded CODE
 * digest) — in the detonation sandbox (replay/sandbox.c: user, mount, pid and network
 * namespaces; network deny by default), records the replay and compares it with the original
 * (analysis/diff.h). The verdict comes last: equivalent (exit 0), differs or blocked (exit 1);
 * 2 for an error. */
#include "analysis/diff.h"
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/codetree.h"
#include "formats/digest.h"
#include "formats/escape.h"
#include "formats/toolbox.h"
#include "replay/replay.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <strings.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help_head[] =
    "usage: runtrail replay BUNDLE|REQUEST_ID [OPTIONS] [-- RUNTIME ARGS...]\n"
    "       runtrail replay --request-id ID [OPTIONS] [-- RUNTIME ARGS...]\n"
    "\n"
    "Runs a recorded invocation again in the local Lambda emulator: the recorded payload and\n"
    "context (function name, version, memory, ARN, the same time budget, trace id, client\n"
    "context, cognito identity), the recorded handler, the environment recorded in clear, on\n"
    "the task root whose code digest is compared with the recording's. The function runs in\n"
    "new user, mount, pid and network namespaces with a private /tmp and the task root\n"
    "read-only. The replay is recorded (its bundle's META replay_of names the original) and\n"
    "diffed against the original; the verdict comes last: equivalent, differs (with the diff\n"
    "summary) or blocked (each destination the sandbox stopped).\n"
    "\n"
    "The runtime command is inferred from the recording for Python, Node.js (aws-lambda-ric)\n"
    "and custom runtimes with a bootstrap; otherwise give it after --.\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Network (--net): deny (default) leaves only loopback inside, so every outbound attempt\n"
    "fails fast and is recorded; sinkhole adds, inside, a DNS responder answering every name\n"
    "with 127.0.0.1 and a TCP sink on the ports the original connected to (and 80, 443)\n"
    "that answers HTTP and records the request line, headers, the body's first bytes, or a\n"
    "TLS ClientHello's server name; allow runs with the host's network (printed). Where the\n"
    "namespaces cannot be created, replay refuses with the reason unless --net allow.\n"
    "\n"
    "Environment: variables recorded in clear are restored; hashed ones are listed as missing\n"
    "and can be given with --env/--env-file; a given value is checked against the recorded\n"
    "keyed hash when the host's RUNTRAIL_HASH_KEY is the recording's key. AWS credentials get\n"
    "inert placeholders unless given.\n"
    "\n"
    "Exit status: 0 equivalent, 1 differs or blocked, 2 usage or input error (no payload, no\n"
    "task root, code mismatch with --code-mismatch=refuse, the sandbox unavailable).\n"
    "See runtrail-replay(1).\n";

enum {
    OPT_NET = 1,
    OPT_TASK_ROOT,
    OPT_CODE_MISMATCH,
    OPT_ENV,
    OPT_ENV_FILE,
    OPT_EVENT,
    OPT_FILL_REDACTED,
    OPT_REQUEST_ID,
    OPT_CACHE,
    OPT_REPEAT,
    OPT_WRAP,
    OPT_KEEP,
    OPT_JSON,
};

static const struct rt_opt options[] = {
    {OPT_NET, "net", 0, "MODE", "deny (default), sinkhole or allow"},
    {OPT_TASK_ROOT, "task-root", 0, "DIR", "the function's code (default: the recorded path)"},
    {OPT_CODE_MISMATCH, "code-mismatch", 0, "ACTION",
     "warn (default) or refuse when the code digest differs"},
    {OPT_ENV, "env", 0, "K=V", "a variable for the function; repeatable"},
    {OPT_ENV_FILE, "env-file", 0, "FILE", "K=V lines (# comments) for the function"},
    {OPT_EVENT, "event", 0, "FILE", "the payload to deliver instead of the recorded one"},
    {OPT_FILL_REDACTED, "fill-redacted", 0, NULL,
     "replay a redacted payload with a placeholder in each\nredacted field (approximate)"},
    {OPT_REQUEST_ID, "request-id", 0, "ID", "the invocation, from the catalog"},
    {OPT_CACHE, "cache", 0, "DIR", "the catalog's folder (default $RUNTRAIL_CACHE)"},
    {OPT_REPEAT, "repeat", 0, "N", "replay N times, each in a new sandbox"},
    {OPT_WRAP, "wrap", 0, "CMD",
     "run the runtime under CMD (words split on spaces),\ne.g. 'strace -f' or 'gdb --args'"},
    {OPT_KEEP, "keep", 0, NULL, "keep the sandbox's /tmp and the replay's bundle"},
    {OPT_JSON, "json", 0, NULL, "the verdict as one JSON document on stdout"},
    {0},
};

static const struct rt_cli_spec spec = {"replay", help_head, options, help_tail, false};

struct args {
    enum rt_net_mode net;
    const char *task_root, *event, *request_id, *cache, *wrap;
    bool refuse_code, fill_redacted, keep, json;
    unsigned long repeat;
    const char *env[RT_REPLAY_MAX_ENV];
    size_t n_env;
    char *env_file_text;
};

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("runtrail replay: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *esc(const char *s, char *buf, size_t cap)
{
    rt_escape_buf(buf, cap, s ? s : "", s ? strlen(s) : 0, 0);
    return buf;
}

static int read_env_file(struct args *a, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char name[1024];
    if (rt_read_file(path, &data, &len, 1u << 20) != RT_OK) {
        rt_cli_error("replay: --env-file %s: %s", esc(path, name, sizeof name), strerror(errno));
        return RT_EXIT_USAGE;
    }
    a->env_file_text = (char *)data;
    unsigned line = 0;
    for (char *save = NULL, *l = strtok_r(a->env_file_text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        line++;
        l[strcspn(l, "\r")] = '\0';
        if (!*l || *l == '#')
            continue;
        if (!strchr(l, '=') || *l == '=') {
            rt_cli_error("replay: %s: line %u: not K=V", esc(path, name, sizeof name), line);
            return RT_EXIT_USAGE;
        }
        if (a->n_env < RT_REPLAY_MAX_ENV)
            a->env[a->n_env++] = l;
    }
    return 0;
}

/* ---- the replay's bundle ---- */

struct find {
    const char *request_id;
    char *path;
};

static void find_file(const char *path, void *arg)
{
    struct find *f = arg;
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    if (f->path || rt_bundle_open_file_flags(path, RT_BUNDLE_NO_EVENTS, &b, &ei) != RT_OK)
        return;
    if (b->meta.request_id && !strcmp(b->meta.request_id, f->request_id))
        f->path = strdup(path);
    rt_bundle_free(b);
}

static void find_error(const char *path, const char *reason, void *arg)
{
    (void)path, (void)reason, (void)arg;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* ---- verdict ---- */

static const char *status_word(int status)
{
    const char *s = rt_status_name((unsigned)status);
    return s ? s : "unknown";
}

static bool response_differs(const struct rt_diff *d)
{
    const struct rt_diff_payload *p = &d->payloads[1];
    return p->in_a != p->in_b || p->sha_differs || p->deltas.n;
}

struct outcome {
    const char *verdict;
    struct rt_replay_result res;
    struct rt_replay_dest *blocked;
    size_t n_blocked;
    struct rt_diff diff;
    bool have_diff;
    char *bundle;
    double wall_ms;
};

static void print_text(const struct outcome *o, const struct args *a, bool approximate,
                       bool code_differs, unsigned long n)
{
    char buf[2048], buf2[2048];
    if (a->repeat > 1)
        printf("replay %lu of %lu\n", n, a->repeat);
    printf("status     %s%s%s  (%.1f ms)\n", status_word(o->res.status),
           o->res.error_type[0] ? " " : "",
           o->res.error_type[0] ? esc(o->res.error_type, buf, sizeof buf) : "", o->res.duration_ms);
    printf("response   ");
    rt_escape_fputs(stdout, o->res.body ? o->res.body : "",
                    o->res.body_len > 400 ? 400 : o->res.body_len, 0);
    putchar('\n');
    if (o->have_diff) {
        const struct rt_diff *d = &o->diff;
        for (size_t i = 0; i < d->n_fields; i++)
            printf("  %s.%s: %s -> %s\n", d->fields[i].section, d->fields[i].name,
                   esc(d->fields[i].a ? d->fields[i].a : "(none)", buf, sizeof buf),
                   esc(d->fields[i].b ? d->fields[i].b : "(none)", buf2, sizeof buf2));
        static const char *const change[] = {"added", "removed", "changed"};
        for (size_t i = 0; i < d->n_env; i++)
            if (!rt_replay_env_not_compared(d->env[i].name))
                printf("  env %s %s\n", change[d->env[i].change],
                       esc(d->env[i].name, buf, sizeof buf));
        for (size_t i = 0; i < d->n_procs; i++)
            printf("  timeline of %s: %zu edits\n", d->procs[i].position, d->procs[i].edits);
        size_t shown = 0;
        for (size_t i = 0; i < d->n_counts && shown < 20; i++, shown++)
            printf("  %s %s  count %zu -> %zu\n", rt_diff_category_name(d->counts[i].cat),
                   d->counts[i].item, d->counts[i].a, d->counts[i].b);
        if (d->n_counts > shown)
            printf("  ... %zu more (runtrail diff ORIGINAL REPLAY shows all)\n",
                   d->n_counts - shown);
        if (response_differs(d))
            printf("  the response differs from the recorded one\n");
    }
    for (size_t i = 0; i < o->n_blocked; i++)
        printf("  %s %s  %s  x%zu\n", a->net == RT_NET_SINKHOLE ? "sinkholed" : "denied",
               o->blocked[i].dest, o->blocked[i].what, o->blocked[i].count);
    if (o->bundle && a->keep)
        printf("replay bundle %s\n", esc(o->bundle, buf, sizeof buf));
    printf("verdict    %s%s%s\n", o->verdict, approximate ? " (approximate)" : "",
           code_differs ? " (the code differed)" : "");
    fflush(stdout);
}

static json_t *json_outcome(const struct outcome *o, const struct args *a)
{
    json_t *j = json_object();
    json_object_set_new(j, "verdict", json_string(o->verdict));
    json_object_set_new(j, "status", json_string(status_word(o->res.status)));
    json_object_set_new(j, "errorType", rt_cli_json_str(o->res.error_type));
    json_object_set_new(j, "requestId", json_string(o->res.request_id));
    json_object_set_new(j, "sandboxed", json_boolean(o->res.sandboxed));
    json_object_set_new(j, "durationMs", json_real(o->res.duration_ms));
    json_t *body = json_stringn(o->res.body ? o->res.body : "", o->res.body_len);
    json_object_set_new(j, "response", body ? body : json_null());
    json_object_set_new(j, "wallMs", json_real(o->wall_ms));
    json_t *bl = json_array();
    for (size_t i = 0; i < o->n_blocked; i++) {
        json_t *x = json_object();
        json_object_set_new(x, "destination", rt_cli_json_str(o->blocked[i].dest));
        json_object_set_new(x, a->net == RT_NET_SINKHOLE ? "sent" : "error",
                            rt_cli_json_str(o->blocked[i].what));
        json_object_set_new(x, "count", json_integer((json_int_t)o->blocked[i].count));
        json_array_append_new(bl, x);
    }
    json_object_set_new(j, "blocked", bl);
    if (o->have_diff) {
        const struct rt_diff *d = &o->diff;
        json_t *df = json_object(), *fields = json_array(), *counts = json_array();
        for (size_t i = 0; i < d->n_fields; i++) {
            json_t *x = json_object();
            json_object_set_new(x, "field",
                                json_sprintf("%s.%s", d->fields[i].section, d->fields[i].name));
            json_object_set_new(x, "original", rt_cli_json_str(d->fields[i].a));
            json_object_set_new(x, "replay", rt_cli_json_str(d->fields[i].b));
            json_array_append_new(fields, x);
        }
        for (size_t i = 0; i < d->n_counts; i++) {
            json_t *x = json_object();
            json_object_set_new(x, "category",
                                json_string(rt_diff_category_name(d->counts[i].cat)));
            json_object_set_new(x, "item", rt_cli_json_str(d->counts[i].item));
            json_object_set_new(x, "original", json_integer((json_int_t)d->counts[i].a));
            json_object_set_new(x, "replay", json_integer((json_int_t)d->counts[i].b));
            json_array_append_new(counts, x);
        }
        json_object_set_new(df, "fields", fields);
        json_object_set_new(df, "counts", counts);
        json_object_set_new(df, "responseDiffers", json_boolean(response_differs(d)));
        json_object_set_new(j, "diff", df);
    }
    if (o->bundle && a->keep)
        json_object_set_new(j, "replayBundle", rt_cli_json_str(o->bundle));
    return j;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One replay: run, find the replay's bundle, diff, verdict. Returns the exit status. */
static int replay_once(const struct rt_bundle *orig, struct rt_replay_run *run,
                       const struct args *a, struct outcome *o)
{
    char err[1024];
    double t0 = now_ms();
    if (rt_replay_run_once(run, &o->res, err, sizeof err) != RT_OK) {
        rt_cli_error("replay: %s", esc(err, (char[1024]){0}, 1024));
        return RT_EXIT_USAGE;
    }
    o->wall_ms = now_ms() - t0;
    if (!o->res.sandboxed && o->res.sandbox_why[0])
        note("not sandboxed (%s): ran with --net allow and no namespaces",
             esc(o->res.sandbox_why, err, sizeof err));
    char store[4200];
    snprintf(store, sizeof store, "%s/store", run->work_dir);
    struct find f = {.request_id = o->res.request_id};
    struct rt_cli_walk_ops ops = {find_file, find_error};
    rt_cli_walk_bundles(store, &ops, &f);
    if (!f.path) {
        rt_cli_error("replay: the replay (request %s, status %s) left no bundle in %s: the "
                     "recorder did not run (see the messages above)",
                     o->res.request_id, status_word(o->res.status), store);
        return RT_EXIT_USAGE;
    }
    o->bundle = f.path;
    struct rt_bundle *rb = NULL;
    struct rt_errinfo ei;
    int rc = rt_bundle_open_file(f.path, &rb, &ei);
    if (rc != RT_OK) {
        rt_cli_error("replay: %s: %s", f.path, rt_errinfo_format(rc, &ei, err, sizeof err));
        return RT_EXIT_USAGE;
    }
    rc = rt_replay_blocked(rb, a->net, &o->blocked, &o->n_blocked);
    if (rc == RT_OK && a->net == RT_NET_SINKHOLE)
        rc = rt_replay_sink_captures(run->work_dir, &o->blocked, &o->n_blocked);
    /* A warm invocation's bundle also holds what the runtime did between invocations (before
     * its start, flagged outside_invocation): timing decides which bundle that lands in, so a
     * warm original is compared from its start on. A cold one is compared whole (its init). */
    struct rt_filter from_start = {.has_from = !orig->meta.cold_start, .from_ns = 0};
    struct rt_diff_options opt = {.filter = &from_start, .context = 3};
    if (rc == RT_OK)
        rc = rt_diff_bundles(orig, rb, &opt, &o->diff);
    rt_bundle_free(rb);
    if (rc != RT_OK) {
        rt_cli_error("replay: out of memory");
        return RT_EXIT_USAGE;
    }
    o->have_diff = true;
    /* Per-sandbox variables (RUNTRAIL_REPLAY_OF among them) and credentials are not compared. */
    size_t env_changes = 0;
    for (size_t i = 0; i < o->diff.n_env; i++)
        env_changes += !rt_replay_env_not_compared(o->diff.env[i].name);
    const struct rt_diff *d = &o->diff;
    bool differs = d->n_fields || d->n_counts || d->n_procs || env_changes ||
                   response_differs(&o->diff) || o->res.status != (int)orig->meta.status;
    o->verdict = o->n_blocked ? "blocked" : differs ? "differs" : "equivalent";
    return o->n_blocked || differs ? RT_EXIT_FINDINGS : RT_EXIT_OK;
}

static void outcome_free(struct outcome *o)
{
    rt_replay_result_free(&o->res);
    rt_replay_dests_free(o->blocked, o->n_blocked);
    if (o->have_diff)
        rt_diff_free(&o->diff);
    free(o->bundle);
    memset(o, 0, sizeof *o);
}

static const char *header_value(const struct rt_bundle *b, const char *name)
{
    for (size_t i = 0; i < b->n_headers; i++)
        if (!strcasecmp(b->headers[i].name, name))
            return b->headers[i].value;
    return NULL;
}

/* The build folder of this binary (BUILD/bin/runtrail) and the runtrail tree above it
 * (samples/, node_modules/). */
static void runtrail_tree(char *tree, char *build, size_t cap)
{
    char exe[PATH_MAX];
    if (!realpath("/proc/self/exe", exe))
        snprintf(exe, sizeof exe, ".");
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if (i == 1)
            snprintf(build, cap, "%s", exe);
    }
    snprintf(tree, cap, "%s", exe);
}

static int parse_args(int argc, char **argv, struct args *a, int *first)
{
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        int m;
        char *end;
        switch (id) {
        case RT_CLI_OPTS_STOP:
            return p.status ? p.status : -1;
        case OPT_NET:
            if ((m = rt_net_mode_parse(p.value)) < 0)
                return rt_cli_opts_bad_value(&p, "deny, sinkhole or allow, not '%s'", p.value);
            a->net = (enum rt_net_mode)m;
            break;
        case OPT_TASK_ROOT:
            a->task_root = p.value;
            break;
        case OPT_CODE_MISMATCH:
            if (strcmp(p.value, "warn") && strcmp(p.value, "refuse"))
                return rt_cli_opts_bad_value(&p, "warn or refuse, not '%s'", p.value);
            a->refuse_code = !strcmp(p.value, "refuse");
            break;
        case OPT_ENV:
            if (!strchr(p.value, '=') || p.value[0] == '=')
                return rt_cli_opts_bad_value(&p, "K=V, not '%s'", p.value);
            if (a->n_env < RT_REPLAY_MAX_ENV)
                a->env[a->n_env++] = p.value;
            break;
        case OPT_ENV_FILE:
            if (read_env_file(a, p.value))
                return RT_EXIT_USAGE;
            break;
        case OPT_EVENT:
            a->event = p.value;
            break;
        case OPT_FILL_REDACTED:
            a->fill_redacted = true;
            break;
        case OPT_REQUEST_ID:
            a->request_id = p.value;
            break;
        case OPT_CACHE:
            a->cache = p.value;
            break;
        case OPT_REPEAT:
            a->repeat = strtoul(p.value, &end, 10);
            if (*end || !a->repeat || a->repeat > 1000 || p.value[0] == '-')
                return rt_cli_opts_bad_value(&p, "a number 1..1000, not '%s'", p.value);
            break;
        case OPT_WRAP:
            a->wrap = p.value;
            break;
        case OPT_KEEP:
            a->keep = true;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        }
    }
    *first = p.first_operand;
    return 0;
}

RT_COMMAND(replay, "run a recorded invocation again in a sandbox and diff it with the original")
{
    static struct args a;
    memset(&a, 0, sizeof a);
    a.repeat = 1;
    int first = 0, rc = parse_args(argc, argv, &a, &first);
    if (rc)
        return rc < 0 ? RT_EXIT_OK : rc;
    char buf[4200], buf2[4200];
    const char *target = a.request_id;
    if (!target) {
        if (first >= argc)
            return rt_cli_usage_error("replay", "give a bundle or a request id");
        target = argv[first++];
    }
    char **runtime_argv = argv + first;
    int n_runtime = argc - first;

    struct rt_cli_paths paths = {0};
    if ((rc = rt_cli_bundle_arg(target, a.cache, &paths)))
        return rc;
    struct rt_bundle *orig = NULL;
    struct rt_errinfo ei;
    int erc = rt_bundle_open_file(paths.v[0], &orig, &ei);
    if (erc != RT_OK) {
        rt_cli_error("replay: %s: %s", esc(paths.v[0], buf, sizeof buf),
                     rt_errinfo_format(erc, &ei, buf2, sizeof buf2));
        rt_cli_paths_free(&paths);
        return RT_EXIT_USAGE;
    }
    char orig_path[4096];
    snprintf(orig_path, sizeof orig_path, "%s", paths.v[0]);
    rt_cli_paths_free(&paths);
    rc = RT_EXIT_USAGE;
    char *payload = NULL, *event_data = NULL;
    size_t payload_len = 0, event_len = 0;
    struct rt_replay_env env = {0};
    char work[4200] = "";
    if (orig->meta.coverage & RT_COV_RECORD) {
        rt_cli_error("replay: %s: recorded by 'runtrail record' (a command, not a Lambda "
                     "invocation): nothing to replay",
                     esc(orig_path, buf, sizeof buf));
        goto out;
    }

    /* the code */
    const char *recorded_root = orig->has_code ? orig->code.task_root_path : NULL;
    char task_root[PATH_MAX];
    const char *want = a.task_root ? a.task_root : recorded_root;
    if (!want || !realpath(want, task_root)) {
        if (a.task_root)
            rt_cli_error("replay: --task-root %s: %s", esc(a.task_root, buf, sizeof buf),
                         strerror(errno));
        else
            rt_cli_error("replay: the recorded task root %s is not on this machine: give the "
                         "function's code with --task-root DIR",
                         want ? esc(want, buf, sizeof buf) : "(none recorded)");
        goto out;
    }
    bool code_differs = false;
    if (orig->has_code) {
        struct rt_code code;
        if (rt_code_digest(task_root, NULL, &code) != RT_OK) {
            rt_cli_error("replay: out of memory");
            goto out;
        }
        free(code.task_root_path);
        char have[65], rec[65];
        rt_hex(code.task_root, RT_DIGEST_LEN, have);
        rt_hex(orig->code.task_root, RT_DIGEST_LEN, rec);
        code_differs = strcmp(have, rec) != 0;
        if (code_differs) {
            note("the code differs: task root %s has digest %.16s, the recording %.16s",
                 esc(task_root, buf, sizeof buf), have, rec);
            if (a.refuse_code) {
                rt_cli_error("replay: refusing to replay on different code "
                             "(--code-mismatch=refuse)");
                goto out;
            }
        } else {
            note("code: task root %s matches the recording (digest %.16s)",
                 esc(task_root, buf, sizeof buf), have);
        }
    }

    /* the payload */
    bool approximate = false;
    if (a.event) {
        uint8_t *data = NULL;
        if (rt_read_file(a.event, &data, &event_len, RT_EMU_MAX_EVENT) != RT_OK) {
            rt_cli_error("replay: --event %s: %s", esc(a.event, buf, sizeof buf), strerror(errno));
            goto out;
        }
        event_data = (char *)data;
    }
    if (rt_replay_payload(orig, event_data, event_len, a.fill_redacted, &payload, &payload_len,
                          &approximate, buf, sizeof buf) != RT_OK) {
        rt_cli_error("replay: %s: %s", esc(orig_path, buf2, sizeof buf2), buf);
        goto out;
    }
    if (approximate)
        note("the payload is not the recorded one: the verdict is approximate");

    /* the environment */
    if (rt_replay_env_build(orig, a.env, a.n_env, getenv("RUNTRAIL_HASH_KEY"), &env) != RT_OK) {
        rt_cli_error("replay: out of memory");
        goto out;
    }
    size_t missing = 0;
    for (size_t i = 0; i < env.n_notes; i++) {
        const struct rt_replay_env_note *n = &env.notes[i];
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(n->name, "="), n->name);
        esc(name, buf, sizeof buf);
        switch (n->state) {
        case RT_REPLAY_ENV_MISSING:
            missing++;
            note("env %s: missing (recorded as a keyed hash only; give it with --env)", buf);
            break;
        case RT_REPLAY_ENV_MATCHES:
            note("env %s matches the recording", buf);
            break;
        case RT_REPLAY_ENV_DIFFERS:
            note("env %s differs from the recording", buf);
            break;
        case RT_REPLAY_ENV_UNCHECKED:
            note("env %s: given, not checked (the recording's hash key is not known here)", buf);
            break;
        case RT_REPLAY_ENV_NEW:
            note("env %s: given, not in the recording", buf);
            break;
        default:
            break;
        }
    }

    /* the runtime */
    static char inferred_buf[8192];
    char *inferred[8];
    static char *argv_full[256];
    size_t na = 0;
    if (a.wrap) {
        static char wrap_copy[4096];
        snprintf(wrap_copy, sizeof wrap_copy, "%s", a.wrap);
        for (char *save = NULL, *w = strtok_r(wrap_copy, " ", &save); w && na < 64;
             w = strtok_r(NULL, " ", &save))
            argv_full[na++] = w;
    }
    if (n_runtime > 0) {
        for (int i = 0; i < n_runtime && na < 250; i++)
            argv_full[na++] = runtime_argv[i];
    } else {
        char tree[PATH_MAX], build[PATH_MAX];
        runtrail_tree(tree, build, sizeof tree);
        if (rt_replay_infer_runtime(orig, tree, build, task_root, inferred, inferred_buf,
                                    sizeof inferred_buf, buf, sizeof buf) != RT_OK) {
            rt_cli_error("replay: %s: %s", esc(orig_path, buf2, sizeof buf2), buf);
            goto out;
        }
        for (int i = 0; inferred[i] && na < 250; i++)
            argv_full[na++] = inferred[i];
    }
    argv_full[na] = NULL;

    /* the run */
    const char *tmp = getenv("TMPDIR");
    snprintf(work, sizeof work, "%s/runtrail-replay.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work)) {
        rt_cli_error("replay: %s: %s", work, strerror(errno));
        work[0] = '\0';
        goto out;
    }
    char digest_hex[65], replay_of[200];
    rt_hex(orig->digest, RT_DIGEST_LEN, digest_hex);
    snprintf(replay_of, sizeof replay_of, "%s %s",
             orig->meta.request_id ? orig->meta.request_id : "-", digest_hex);
    struct rt_replay_run run = {
        .net = a.net,
        .task_root = task_root,
        .self_exe = "/proc/self/exe",
        .replay_of = replay_of,
        .env = env.vars,
        .n_env = env.n_vars,
        .warm_up = !orig->meta.cold_start,
        .log_fd = 2,
    };
    run.cfg.runtime_argv = argv_full;
    run.cfg.function_name = orig->meta.function;
    run.cfg.function_version = orig->meta.function_version;
    run.cfg.handler = orig->meta.handler;
    run.cfg.task_root = task_root;
    run.cfg.region = orig->meta.region;
    run.cfg.memory_mb = orig->meta.memory_mb;
    if (orig->meta.deadline_wall_ns > orig->meta.start_wall_ns && orig->meta.start_wall_ns > 0) {
        int64_t budget =
            (orig->meta.deadline_wall_ns - orig->meta.start_wall_ns + 999999) / 1000000;
        run.cfg.timeout_ms = budget > 900000 ? 900000u : (unsigned)budget;
    }
    run.req = (struct rt_emu_request){
        .payload = payload,
        .payload_len = payload_len,
        .client_context = header_value(orig, "Lambda-Runtime-Client-Context"),
        .cognito_identity = header_value(orig, "Lambda-Runtime-Cognito-Identity"),
        .trace_id = orig->meta.trace_id,
        .function_arn = orig->meta.function_arn,
    };
    if (a.net == RT_NET_SINKHOLE)
        run.n_sink_ports = rt_replay_sink_ports(orig, run.sink_ports, RT_SINKHOLE_MAX_PORTS);
    if (a.net == RT_NET_SINKHOLE)
        note("--net sinkhole: only loopback inside; names resolve to the sink, which answers "
             "and records what is sent");
    else if (a.net == RT_NET_ALLOW)
        note("--net allow: the function runs with this machine's network");
    else
        note("--net deny: only loopback inside the sandbox; outbound attempts fail");
    if (run.warm_up)
        note("the original was a warm invocation: the payload is delivered once first");

    rc = RT_EXIT_OK;
    size_t equivalent = 0;
    for (unsigned long n = 1; n <= a.repeat; n++) {
        char sub[4300];
        snprintf(sub, sizeof sub, "%s/%lu", work, n);
        if (mkdir(sub, 0700) != 0) {
            rt_cli_error("replay: %s: %s", sub, strerror(errno));
            rc = RT_EXIT_USAGE;
            break;
        }
        run.work_dir = sub;
        struct outcome o = {0};
        int r = replay_once(orig, &run, &a, &o);
        if (r == RT_EXIT_USAGE) {
            outcome_free(&o);
            rc = RT_EXIT_USAGE;
            break;
        }
        equivalent += r == RT_EXIT_OK;
        if (r > rc)
            rc = r;
        if (a.json) {
            json_t *j = json_outcome(&o, &a);
            json_object_set_new(j, "original", rt_cli_json_str(orig_path));
            json_object_set_new(j, "net", json_string(rt_net_mode_name(a.net)));
            json_object_set_new(j, "approximate", json_boolean(approximate));
            json_object_set_new(j, "codeDiffers", json_boolean(code_differs));
            json_object_set_new(j, "missingEnv", json_integer((json_int_t)missing));
            rt_cli_json_line(j);
        } else {
            print_text(&o, &a, approximate, code_differs, n);
        }
        outcome_free(&o);
    }
    if (a.repeat > 1 && rc != RT_EXIT_USAGE && !a.json)
        printf("repeat     %zu of %lu equivalent\n", equivalent, a.repeat);
    if (a.keep && work[0])
        note("kept %s (each replay's tmp/ and store/)", esc(work, buf, sizeof buf));
out:
    if (work[0] && !a.keep)
        nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    rt_replay_env_free(&env);
    free(payload);
    free(event_data);
    free(a.env_file_text);
    rt_bundle_free(orig);
    return rc;
}
