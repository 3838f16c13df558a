/* The decisions behind `runtrail enable` and `disable`, over a function's configuration JSON:
 * the runtime table (which runtimes the layer can record, and how much of them), the checks,
 * the UpdateFunctionConfiguration bodies that add the layer and merge the RUNTRAIL_* settings
 * and the wrapper into the environment (other variables and layers untouched, in their
 * order), the RUNTRAIL_SAVED record that lets disable put back exactly what enable replaced,
 * and the line diff that --dry-run prints. No network here. */
#include "control/enable.h"
#include "formats/digest.h"
#include "formats/escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- runtimes ---- */

#define PARTIAL_PROVIDED                                                                           \
    "OS-only runtimes (provided.*) do not apply AWS_LAMBDA_EXEC_WRAPPER. Recorded: every "         \
    "invocation's event, response or error, timing and status (the extension's Runtime API "       \
    "proxy), and the processes and connections the extension observes from /proc (marked "         \
    "sampled). Not recorded unless your bootstrap execs /opt/runtrail/wrapper "                    \
    "(docs/deploy.md): the libc-level timeline of files, connections and programs. A Go "          \
    "binary (statically linked, no libc calls) is never interposed: only /proc observation "       \
    "covers it."
#define NONE_AL1                                                                                   \
    "this runtime runs on Amazon Linux 1 and is deprecated; the layer needs Amazon Linux "         \
    "2023. Move the function to a current runtime (Go: provided.al2023 with a bootstrap) first."
#define NONE_AL2                                                                                   \
    "this runtime runs on Amazon Linux 2 (glibc 2.26); the layer is built for Amazon Linux 2023 "  \
    "(glibc 2.34, docs/deploy.md) and its extension would not start there. Move the function "     \
    "to an Amazon Linux 2023 runtime (nodejs20.x+, python3.12+, java21, dotnet8, ruby3.3+, "       \
    "provided.al2023) first."
#define FULL_MANAGED                                                                               \
    "the managed runtime applies AWS_LAMBDA_EXEC_WRAPPER: event, response, the libc-level "        \
    "timeline of every process (files, connections, programs) and outbound calls are recorded."

/* Exact names first, then families by prefix: RUNTIME(match, is_prefix, coverage, statement) */
#define RT_RUNTIMES(_)                                                                             \
    _("go1.x", 0, RT_COVER_NONE, NONE_AL1)                                                         \
    _("nodejs4.3", 0, RT_COVER_NONE, NONE_AL1)                                                     \
    _("nodejs6.10", 0, RT_COVER_NONE, NONE_AL1)                                                    \
    _("nodejs8.10", 0, RT_COVER_NONE, NONE_AL1)                                                    \
    _("nodejs10.x", 0, RT_COVER_NONE, NONE_AL1)                                                    \
    _("python2.7", 0, RT_COVER_NONE, NONE_AL1)                                                     \
    _("python3.6", 0, RT_COVER_NONE, NONE_AL1)                                                     \
    _("python3.7", 0, RT_COVER_NONE, NONE_AL1)                                                     \
    _("ruby2.5", 0, RT_COVER_NONE, NONE_AL1)                                                       \
    _("java8", 0, RT_COVER_NONE, NONE_AL1)                                                         \
    _("dotnetcore2.1", 0, RT_COVER_NONE, NONE_AL1)                                                 \
    _("nodejs12.x", 0, RT_COVER_NONE, NONE_AL2)                                                    \
    _("nodejs14.x", 0, RT_COVER_NONE, NONE_AL2)                                                    \
    _("nodejs16.x", 0, RT_COVER_NONE, NONE_AL2)                                                    \
    _("nodejs18.x", 0, RT_COVER_NONE, NONE_AL2)                                                    \
    _("python3.8", 0, RT_COVER_NONE, NONE_AL2)                                                     \
    _("python3.9", 0, RT_COVER_NONE, NONE_AL2)                                                     \
    _("python3.10", 0, RT_COVER_NONE, NONE_AL2)                                                    \
    _("python3.11", 0, RT_COVER_NONE, NONE_AL2)                                                    \
    _("java8.al2", 0, RT_COVER_NONE, NONE_AL2)                                                     \
    _("java11", 0, RT_COVER_NONE, NONE_AL2)                                                        \
    _("java17", 0, RT_COVER_NONE, NONE_AL2)                                                        \
    _("dotnet6", 0, RT_COVER_NONE, NONE_AL2)                                                       \
    _("dotnetcore3.1", 0, RT_COVER_NONE, NONE_AL2)                                                 \
    _("ruby2.7", 0, RT_COVER_NONE, NONE_AL2)                                                       \
    _("ruby3.2", 0, RT_COVER_NONE, NONE_AL2)                                                       \
    _("provided.al2", 0, RT_COVER_NONE, NONE_AL2)                                                  \
    _("provided", 0, RT_COVER_NONE, NONE_AL1)                                                      \
    _("provided.", 1, RT_COVER_PARTIAL, PARTIAL_PROVIDED)                                          \
    _("nodejs", 1, RT_COVER_FULL, FULL_MANAGED)                                                    \
    _("python", 1, RT_COVER_FULL, FULL_MANAGED)                                                    \
    _("java", 1, RT_COVER_FULL, FULL_MANAGED)                                                      \
    _("dotnet", 1, RT_COVER_FULL, FULL_MANAGED)                                                    \
    _("ruby", 1, RT_COVER_FULL, FULL_MANAGED)

struct runtime_row {
    const char *match;
    int is_prefix;
    enum rt_coverage coverage;
    const char *statement;
};

static const struct runtime_row runtimes[] = {
#define _(m, p, c, s) {m, p, c, s},
    RT_RUNTIMES(_)
#undef _
};

enum rt_coverage rt_enable_coverage(const char *runtime, const char **statement)
{
    if (!runtime || !*runtime) {
        *statement = "the function has no runtime (a container image): layers do not apply; "
                     "copy the layer tree into the image and put the wrapper in front of its "
                     "entry point (docs/deploy.md, Container image)";
        return RT_COVER_NONE;
    }
    for (size_t i = 0; i < sizeof runtimes / sizeof *runtimes; i++) {
        const struct runtime_row *r = &runtimes[i];
        if (r->is_prefix ? !strncmp(runtime, r->match, strlen(r->match))
                         : !strcmp(runtime, r->match)) {
            *statement = r->statement;
            return r->coverage;
        }
    }
    *statement = "runtrail does not know this runtime; it records the managed runtimes "
                 "(nodejs, python, java, dotnet, ruby) and provided.al2023";
    return RT_COVER_NONE;
}

/* ---- helpers ---- */

bool rt_enable_layer_name(const char *arn, char *out, size_t cap)
{
    const char *l = arn ? strstr(arn, ":layer:") : NULL;
    if (!l)
        return false;
    l += 7;
    const char *colon = strchr(l, ':');
    if (!colon || colon == l)
        return false;
    snprintf(out, cap, "%.*s", (int)(colon - l), l);
    return true;
}

static bool same_layer_name(const char *a, const char *b)
{
    char na[160], nb[160];
    return rt_enable_layer_name(a, na, sizeof na) && rt_enable_layer_name(b, nb, sizeof nb) &&
           !strcmp(na, nb);
}

/* The configuration's layer ARNs (Layers[].Arn) as a new array of strings. */
static json_t *layer_arns(const json_t *cfg)
{
    json_t *out = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(cfg, "Layers"), i, l)
    {
        const char *arn = json_string_value(json_object_get(l, "Arn"));
        if (arn)
            json_array_append_new(out, json_string(arn));
    }
    return out;
}

/* A copy of Environment.Variables (an empty object when there is none). */
static json_t *env_vars(const json_t *cfg)
{
    json_t *v = json_object_get(json_object_get(cfg, "Environment"), "Variables");
    return json_is_object(v) ? json_deep_copy(v) : json_object();
}

static const char *env_get(const json_t *vars, const char *key)
{
    return json_string_value(json_object_get(vars, key));
}

static json_t *update_body(const json_t *cfg, json_t *layers, json_t *vars)
{
    json_t *body = json_pack("{s:o, s:{s:o}}", "Layers", layers, "Environment", "Variables", vars);
    const char *rev = json_string_value(json_object_get(cfg, "RevisionId"));
    if (body && rev)
        json_object_set_new(body, "RevisionId", json_string(rev));
    return body;
}

/* Sets key in vars, first recording its previous value (or null) in saved_env unless saved
 * already has it (a second enable keeps what the first one replaced). */
static void set_var(json_t *vars, json_t *saved_env, const char *key, const char *value)
{
    if (!json_object_get(saved_env, key)) {
        const char *prev = env_get(vars, key);
        json_object_set_new(saved_env, key, prev ? json_string(prev) : json_null());
    }
    json_object_set_new(vars, key, json_string(value));
}

/* ---- enable ---- */

int rt_enable_plan(const json_t *cfg, const struct rt_enable_settings *s, json_t **update,
                   struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    const char *name = json_string_value(json_object_get(cfg, "FunctionName"));
    if (!name)
        return rt_fail(ei, RT_ERR_LAMBDA_RESPONSE, -1, "configuration has no FunctionName");
    if (!s->layer_arn || !s->store)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "%s: no layer or no store", name);
    const char *pkg = json_string_value(json_object_get(cfg, "PackageType"));
    const char *runtime = json_string_value(json_object_get(cfg, "Runtime"));
    const char *why;
    if (pkg && !strcmp(pkg, "Image"))
        return rt_fail(ei, RT_ERR_LAMBDA_UNSUPPORTED, -1,
                       "%s is a container image function: layers do not apply; copy the layer "
                       "tree into the image and put the wrapper in front of its entry point "
                       "(docs/deploy.md, Container image)",
                       name);
    if (rt_enable_coverage(runtime, &why) == RT_COVER_NONE)
        return rt_fail(ei, RT_ERR_LAMBDA_UNSUPPORTED, -1, "%s (%s): %s", name,
                       runtime ? runtime : "no runtime", why);
    json_t *archs = json_object_get(cfg, "Architectures");
    const char *arch = json_string_value(json_array_get(archs, 0));
    if (!arch)
        arch = "x86_64";
    if (json_array_size(s->layer_archs)) {
        bool ok = false;
        size_t i;
        json_t *a;
        json_array_foreach(s->layer_archs, i, a) ok =
            ok || (json_string_value(a) && !strcmp(json_string_value(a), arch));
        if (!ok) {
            char *list = json_dumps(s->layer_archs, JSON_COMPACT);
            int rc = rt_fail(ei, RT_ERR_LAMBDA_ARCH, -1,
                             "%s runs on %s; layer %s is for %s: publish or name the layer built "
                             "for %s (docs/deploy.md)",
                             name, arch, s->layer_arn, list ? list : "?", arch);
            free(list);
            return rc;
        }
    }
    json_t *vars = env_vars(cfg);
    const char *wrapper = env_get(vars, "AWS_LAMBDA_EXEC_WRAPPER");
    if (wrapper && strcmp(wrapper, RT_ENABLE_WRAPPER) != 0) {
        int rc = rt_fail(ei, RT_ERR_LAMBDA_UNSUPPORTED, -1,
                         "%s already has AWS_LAMBDA_EXEC_WRAPPER=%.80s (another tool's wrapper); "
                         "runtrail cannot chain wrappers: remove it first, or call %s from it",
                         name, wrapper, RT_ENABLE_WRAPPER);
        json_decref(vars);
        return rc;
    }
    /* what an earlier enable saved stays: disable goes back to before the first enable */
    json_t *saved = NULL;
    const char *saved_text = env_get(vars, RT_ENABLE_SAVED_VAR);
    if (saved_text) {
        saved = json_loads(saved_text, 0, NULL);
        if (!json_is_object(saved)) {
            json_decref(saved);
            json_decref(vars);
            return rt_fail(ei, RT_ERR_INVALID_ARG, -1,
                           "%s: %s is not runtrail's JSON; remove it before enabling", name,
                           RT_ENABLE_SAVED_VAR);
        }
    } else {
        saved =
            json_pack("{s:i, s:n, s:n, s:i, s:{}}", "v", 1, "added", "replaced", "at", -1, "env");
    }
    json_t *saved_env = json_object_get(saved, "env");
    if (!json_is_object(saved_env)) {
        saved_env = json_object();
        json_object_set_new(saved, "env", saved_env);
    }

    /* layers: a runtrail layer (same layer name) is replaced in place, else ours goes last */
    json_t *layers = layer_arns(cfg);
    const char *added_before = json_string_value(json_object_get(saved, "added"));
    size_t i, at = (size_t)-1;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        const char *arn = json_string_value(l);
        if (same_layer_name(arn, s->layer_arn) || (added_before && !strcmp(arn, added_before))) {
            at = i;
            break;
        }
    }
    if (at == (size_t)-1) {
        if (json_array_size(layers) + 1 > RT_ENABLE_MAX_LAYERS) {
            json_decref(layers);
            json_decref(vars);
            json_decref(saved);
            return rt_fail(ei, RT_ERR_LAMBDA_UNSUPPORTED, -1,
                           "%s already has %d layers, Lambda's limit: remove one to add runtrail's",
                           name, RT_ENABLE_MAX_LAYERS);
        }
        json_array_append_new(layers, json_string(s->layer_arn));
    } else {
        const char *old = json_string_value(json_array_get(layers, at));
        if (!added_before || strcmp(old, added_before) != 0) {
            /* a runtrail layer enable did not add: disable must put it back */
            json_object_set_new(saved, "replaced", json_string(old));
            json_object_set_new(saved, "at", json_integer((json_int_t)at));
        }
        json_array_set_new(layers, at, json_string(s->layer_arn));
    }
    json_object_set_new(saved, "added", json_string(s->layer_arn));

    set_var(vars, saved_env, "AWS_LAMBDA_EXEC_WRAPPER", RT_ENABLE_WRAPPER);
    set_var(vars, saved_env, "RUNTRAIL_STORE", s->store);
    if (s->sample)
        set_var(vars, saved_env, "RUNTRAIL_SAMPLE", s->sample);
    if (s->payload)
        set_var(vars, saved_env, "RUNTRAIL_PAYLOAD", s->payload);
    if (s->redact)
        set_var(vars, saved_env, "RUNTRAIL_REDACT", s->redact);
    char *saved_json = json_dumps(saved, JSON_COMPACT);
    json_decref(saved);
    if (!saved_json) {
        json_decref(layers);
        json_decref(vars);
        return RT_ERR_NOMEM;
    }
    json_object_set_new(vars, RT_ENABLE_SAVED_VAR, json_string(saved_json));
    free(saved_json);
    *update = update_body(cfg, layers, vars);
    return *update ? RT_OK : RT_ERR_NOMEM;
}

/* ---- disable ---- */

int rt_disable_plan(const json_t *cfg, json_t **update, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    const char *name = json_string_value(json_object_get(cfg, "FunctionName"));
    json_t *vars = env_vars(cfg);
    const char *saved_text = env_get(vars, RT_ENABLE_SAVED_VAR);
    if (!saved_text) {
        const char *w = env_get(vars, "AWS_LAMBDA_EXEC_WRAPPER");
        int rc = rt_fail(ei, RT_ERR_LAMBDA_NOT_ENABLED, -1, "%s: no %s variable%s",
                         name ? name : "?", RT_ENABLE_SAVED_VAR,
                         w && !strcmp(w, RT_ENABLE_WRAPPER)
                             ? "; runtrail's wrapper was set by hand: remove the layer and the "
                               "variables by hand (docs/deploy.md)"
                             : "");
        json_decref(vars);
        return rc;
    }
    json_error_t je;
    json_t *saved = json_loads(saved_text, 0, &je);
    json_t *saved_env = json_object_get(saved, "env");
    if (!json_is_object(saved) || !json_is_object(saved_env)) {
        json_decref(saved);
        json_decref(vars);
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "%s: %s is not runtrail's JSON: %s",
                       name ? name : "?", RT_ENABLE_SAVED_VAR, je.text);
    }
    const char *added = json_string_value(json_object_get(saved, "added"));
    const char *replaced = json_string_value(json_object_get(saved, "replaced"));
    json_t *layers = layer_arns(cfg);
    size_t i;
    json_t *l;
    bool found = false;
    json_array_foreach(layers, i, l)
    {
        const char *arn = json_string_value(l);
        if (added && (!strcmp(arn, added) || same_layer_name(arn, added))) {
            if (replaced)
                json_array_set_new(layers, i, json_string(replaced));
            else
                json_array_remove(layers, i);
            found = true;
            break;
        }
    }
    if (!found && replaced) {
        /* someone removed ours since: put back what it replaced where it was */
        json_int_t at = json_integer_value(json_object_get(saved, "at"));
        if (at < 0 || (size_t)at > json_array_size(layers))
            at = (json_int_t)json_array_size(layers);
        json_array_insert_new(layers, (size_t)at, json_string(replaced));
    }
    const char *key;
    json_t *prev;
    json_object_foreach(saved_env, key, prev)
    {
        if (json_is_string(prev))
            json_object_set(vars, key, prev);
        else
            json_object_del(vars, key);
    }
    json_object_del(vars, RT_ENABLE_SAVED_VAR);
    json_decref(saved);
    *update = update_body(cfg, layers, vars);
    return *update ? RT_OK : RT_ERR_NOMEM;
}

/* ---- views ---- */

json_t *rt_enable_apply(const json_t *cfg, const json_t *update)
{
    json_t *out = json_deep_copy(cfg);
    if (!out)
        return NULL;
    json_t *arns = json_object_get(update, "Layers");
    json_t *layers = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(arns, i, a)
    {
        /* keep CodeSize etc. of layers the function already had */
        json_t *kept = NULL, *l;
        size_t k;
        json_array_foreach(json_object_get(cfg, "Layers"), k,
                           l) if (!kept && json_equal(json_object_get(l, "Arn"), a)) kept = l;
        json_array_append_new(layers, kept ? json_deep_copy(kept) : json_pack("{s:O}", "Arn", a));
    }
    if (json_array_size(layers))
        json_object_set_new(out, "Layers", layers);
    else {
        json_decref(layers);
        json_object_del(out, "Layers");
    }
    json_t *vars = json_object_get(json_object_get(update, "Environment"), "Variables");
    if (json_object_size(vars))
        json_object_set_new(out, "Environment", json_pack("{s:O}", "Variables", vars));
    else
        json_object_del(out, "Environment");
    return out;
}

static bool owned_var(const char *key)
{
    return !strncmp(key, "RUNTRAIL_", 9) || !strcmp(key, "AWS_LAMBDA_EXEC_WRAPPER");
}

json_t *rt_enable_lines(const json_t *cfg)
{
    json_t *out = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(cfg, "Layers"), i, l)
    {
        const char *arn = json_string_value(json_object_get(l, "Arn"));
        json_array_append_new(out, json_sprintf("Layers[%zu] = %s", i, arn ? arn : "?"));
    }
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(cfg, "Environment"), "Variables"), key, v)
    {
        const char *val = json_string_value(v);
        if (!val)
            val = "";
        if (owned_var(key)) {
            json_array_append_new(out, json_sprintf("Environment.%s = %s", key, val));
        } else {
            uint8_t d[RT_SHA256_LEN];
            char hex[2 * RT_SHA256_LEN + 1];
            rt_sha256(val, strlen(val), d);
            rt_hex(d, RT_SHA256_LEN, hex);
            json_array_append_new(out,
                                  json_sprintf("Environment.%s = (value sha256:%.8s)", key, hex));
        }
    }
    return out;
}

/* Values come from the function's configuration: escaped before a terminal. */
static void put_line(FILE *f, const char *mark, const json_t *line)
{
    const char *s = json_string_value(line);
    fputs(mark, f);
    rt_escape_fputs(f, s ? s : "", s ? strlen(s) : 0, 0);
    fputc('\n', f);
}

void rt_enable_diff(FILE *f, const json_t *before, const json_t *after)
{
    /* longest common subsequence over a few dozen lines: a plain table is enough */
    size_t n = json_array_size(before), m = json_array_size(after);
    size_t *t = calloc((n + 1) * (m + 1), sizeof *t);
    if (!t)
        return;
#define T(i, j) t[(i) * (m + 1) + (j)]
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            T(i, j) = json_equal(json_array_get(before, i), json_array_get(after, j))
                          ? T(i + 1, j + 1) + 1
                          : (T(i + 1, j) > T(i, j + 1) ? T(i + 1, j) : T(i, j + 1));
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && json_equal(json_array_get(before, i), json_array_get(after, j))) {
            put_line(f, "  ", json_array_get(before, i));
            i++, j++;
        } else if (i < n && (j == m || T(i + 1, j) >= T(i, j + 1))) {
            put_line(f, "- ", json_array_get(before, i++));
        } else {
            put_line(f, "+ ", json_array_get(after, j++));
        }
    }
#undef T
    free(t);
}
