/* Baselines (analysis/baseline.h): learning a function's normal behaviour from decoded
 * bundles into sets of normalised, escaped strings and measure samples; writing them as a
 * stable JSON document; reading such a document back, strictly. The sets are open-addressing
 * hash tables of owned strings, so learning and checking stay fast on tens of thousands of
 * invocations. */
#include "analysis/baseline.h"

#include "analysis/jsondiff.h"
#include "analysis/keys.h"
#include "formats/escape.h"

#include <jansson.h>

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rt_baseline_range_names[RT_RANGE__COUNT] = {"duration_ns", "events", "bytes_out"};

/* ---- string sets ---- */

struct rt_strset {
    char **slot;
    size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct rt_strset *strset_new(void)
{
    struct rt_strset *s = calloc(1, sizeof *s);
    if (s && !(s->slot = calloc(s->cap = 16, sizeof *s->slot))) {
        free(s);
        return NULL;
    }
    return s;
}

static void strset_free(struct rt_strset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    free(s);
}

static size_t strset_find(const struct rt_strset *s, const char *text)
{
    size_t i = (size_t)hash_str(text) & (s->cap - 1);
    while (s->slot[i] && strcmp(s->slot[i], text))
        i = (i + 1) & (s->cap - 1);
    return i;
}

bool rt_strset_has(const struct rt_strset *s, const char *text)
{
    return s && s->slot[strset_find(s, text)] != NULL;
}

size_t rt_strset_count(const struct rt_strset *s)
{
    return s ? s->n : 0;
}

/* Adds text; returns 1 when new, 0 when present, -1 when out of memory. */
static int strset_add(struct rt_strset *s, const char *text)
{
    size_t i = strset_find(s, text);
    if (s->slot[i])
        return 0;
    if (2 * (s->n + 1) > s->cap) {
        char **old = s->slot;
        size_t old_cap = s->cap;
        char **grown = calloc(old_cap * 2, sizeof *grown);
        if (!grown)
            return -1;
        s->slot = grown;
        s->cap = old_cap * 2;
        for (size_t k = 0; k < old_cap; k++)
            if (old[k])
                s->slot[strset_find(s, old[k])] = old[k];
        free(old);
        i = strset_find(s, text);
    }
    if (!(s->slot[i] = strdup(text)))
        return -1;
    s->n++;
    return 1;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members sorted (pointers into the set; free the array only). */
static char **strset_sorted(const struct rt_strset *s)
{
    char **v = malloc((s->n + 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i])
            v[n++] = s->slot[i];
    qsort(v, n, sizeof *v, cmp_strp);
    return v;
}

/* ---- samples ---- */

struct samples {
    uint64_t *v;
    size_t n, cap;
};

struct learn_priv {
    struct samples s[RT_RANGE__COUNT];
};

static int samples_add(struct samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        uint64_t *grown = realloc(s->v, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->v = grown;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* min, p95 (nearest rank: the ceil(0.95 n)-th smallest) and max of the samples, merged with a
 * range loaded from a file (whose samples are gone: its bounds stay, its p95 is kept when no
 * new samples came). */
static void samples_range(struct samples *s, struct rt_range *r)
{
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    size_t rank = (s->n * 95 + 99) / 100;
    uint64_t min = s->v[0], max = s->v[s->n - 1], p95 = s->v[rank ? rank - 1 : 0];
    if (r->set) {
        min = r->min < min ? r->min : min;
        max = r->max > max ? r->max : max;
        p95 = r->p95 > p95 ? r->p95 : p95;
    }
    *r = (struct rt_range){min, p95, max, true};
}

/* ---- the baseline ---- */

/* clang-format off */
#define SETS(_) \
    _(programs) \
    _(argv) \
    _(peers) \
    _(hosts) \
    _(http) \
    _(files) \
    _(paths) \
    _(env) \
    _(env_names) \
    _(code) \
    _(versions) \
    _(runtimes) \
    _(handlers) \
    _(memory) \
    _(payload) \
    _(payload_paths) \
    _(aws_actions)
/* clang-format on */

struct rt_baseline *rt_baseline_new(const char *function)
{
    struct rt_baseline *bl = calloc(1, sizeof *bl);
    if (!bl)
        return NULL;
    bool ok = (bl->function = strdup(function ? function : "")) &&
              (bl->priv_ = calloc(1, sizeof(struct learn_priv)));
#define _(name) ok = ok && (bl->name = strset_new());
    SETS(_)
#undef _
    bl->aws_learned = true;
    if (!ok) {
        rt_baseline_free(bl);
        return NULL;
    }
    return bl;
}

void rt_baseline_free(struct rt_baseline *bl)
{
    if (!bl)
        return;
#define _(name) strset_free(bl->name);
    SETS(_)
#undef _
    struct learn_priv *lp = bl->priv_;
    if (lp)
        for (int i = 0; i < RT_RANGE__COUNT; i++)
            free(lp->s[i].v);
    free(lp);
    free(bl->function);
    free(bl);
}

bool rt_baseline_suspicious(const struct rt_bundle *b, uint32_t *flags)
{
    uint32_t all = 0;
    for (size_t i = 0; i < b->n_events; i++)
        all |= b->events[i].flags;
    all &= RT_BASELINE_SECURITY_FLAGS;
    if (flags)
        *flags = all;
    return all != 0;
}

/* ---- normalised items ---- */

const char *rt_baseline_norm(char *buf, size_t cap, struct rt_str s, const char *request_id)
{
    char norm[4096];
    size_t n = rt_norm_string(norm, sizeof norm, s.ptr ? s.ptr : "", s.len, request_id);
    rt_escape_buf(buf, cap, norm, n < sizeof norm ? n : sizeof norm - 1, 0);
    return buf;
}

const char *rt_baseline_norm_peer(char *buf, size_t cap, struct rt_str s)
{
    char norm[512];
    size_t n = rt_norm_peer(norm, sizeof norm, s.ptr ? s.ptr : "", s.len);
    rt_escape_buf(buf, cap, norm, n < sizeof norm ? n : sizeof norm - 1, 0);
    return buf;
}

const char *rt_baseline_norm_argv(char *buf, size_t cap, struct rt_str argv, const char *request_id)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t at = 0; at < argv.len && used + 1 < cap;) {
        const char *el = argv.ptr + at;
        const char *nul = memchr(el, '\0', argv.len - at);
        size_t len = nul ? (size_t)(nul - el) : argv.len - at;
        if (used)
            buf[used++] = ' ';
        rt_baseline_norm(buf + used, cap - used, (struct rt_str){el, len}, request_id);
        used += strlen(buf + used);
        at += len + 1;
    }
    buf[used < cap ? used : cap - 1] = '\0';
    return buf;
}

const char *rt_baseline_norm_http(char *buf, size_t cap, struct rt_str s, const char *request_id)
{
    size_t len = 0;
    while (len < s.len && s.ptr[len] != '\n' && s.ptr[len] != '\r')
        len++;
    return rt_baseline_norm(buf, cap, (struct rt_str){s.ptr, len}, request_id);
}

const char *rt_baseline_norm_host(char *buf, size_t cap, struct rt_str s, const char *request_id)
{
    /* "host:port" (an HTTP Host header) or a bare address: an address, not text */
    size_t colon = s.len;
    while (colon > 0 && s.ptr[colon - 1] != ':')
        colon--;
    bool port = colon > 0 && colon < s.len;
    for (size_t i = colon; port && i < s.len; i++)
        port = s.ptr[i] >= '0' && s.ptr[i] <= '9';
    bool numeric = s.len > 0;
    for (size_t i = 0; numeric && i < s.len; i++)
        numeric = strchr("0123456789.:[]abcdefABCDEF", s.ptr[i]) != NULL;
    if (port || numeric)
        return rt_baseline_norm_peer(buf, cap, s);
    return rt_baseline_norm(buf, cap, s, request_id);
}

bool rt_access_writes(const char *access)
{
    return strcmp(access, "read") && strcmp(access, "load");
}

size_t rt_event_file_access(const struct rt_event *ev, struct rt_file_access out[2])
{
    struct rt_str p0 = rt_event_path(ev, 0), p1 = rt_event_path(ev, 1);
    const char *access = NULL;
    switch (ev->op) {
    case RT_OP_OPEN: {
        int64_t fl = ev->num[1];
        int acc = (int)(fl & 3);
        access = (ev->flags & RT_EF_CREATE) ? "create"
                 : acc == 0                 ? "read"
                 : acc == 1                 ? "write"
                                            : "rw";
        break;
    }
    case RT_OP_FOPEN: {
        const char *m = ev->str[1].ptr ? ev->str[1].ptr : "r";
        bool plus = ev->str[1].len > 1 && memchr(m, '+', ev->str[1].len);
        access = (ev->flags & RT_EF_CREATE) ? "create"
                 : m[0] == 'r'              ? (plus ? "rw" : "read")
                                            : "write";
        break;
    }
    case RT_OP_UNLINK:
        access = "delete";
        break;
    case RT_OP_RENAME:
        out[0] = (struct rt_file_access){p0, "delete"};
        out[1] = (struct rt_file_access){p1, "create"};
        return 2;
    case RT_OP_CHMOD:
        access = "chmod";
        break;
    case RT_OP_CHOWN:
        access = "chown";
        break;
    case RT_OP_MKDIR:
        access = "create";
        break;
    case RT_OP_TRUNCATE:
        access = "write";
        break;
    case RT_OP_SYMLINK:
    case RT_OP_LINK:
        out[0] = (struct rt_file_access){p1, "create"};
        return 1;
    case RT_OP_DLOPEN:
        access = "load";
        break;
    default:
        return 0;
    }
    out[0] = (struct rt_file_access){p0, access};
    return 1;
}

uint64_t rt_bundle_bytes_out(const struct rt_bundle *b)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < b->n_events; i++) {
        int64_t n = rt_event_bytes_out(&b->events[i]);
        sum += n > 0 ? (uint64_t)n : 0;
    }
    return sum;
}

static bool volatile_env(const char *name)
{
    static const char *const names[] = {RT_BASELINE_VOLATILE_ENV};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i]))
            return true;
    return false;
}

/* ---- learning ---- */

struct learner {
    struct rt_baseline *bl;
    int rc;
};

static void add(struct learner *L, struct rt_strset *s, const char *text)
{
    if (strset_add(s, text) < 0)
        L->rc = RT_ERR_NOMEM;
}

static void add2(struct learner *L, struct rt_strset *s, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *t = malloc(la + lb + 2);
    if (!t) {
        L->rc = RT_ERR_NOMEM;
        return;
    }
    memcpy(t, a, la);
    t[la] = '\t';
    memcpy(t + la + 1, b, lb + 1);
    add(L, s, t);
    free(t);
}

/* "prog\t*" replaces a program's patterns once it has too many. */
static void learn_argv(struct learner *L, const char *prog, const char *argv)
{
    struct rt_baseline *bl = L->bl;
    char key[8192];
    snprintf(key, sizeof key, "%s\t*", prog);
    if (rt_strset_has(bl->argv, key))
        return;
    size_t n = 0, plen = strlen(prog);
    for (size_t i = 0; i < bl->argv->cap; i++) {
        const char *s = bl->argv->slot[i];
        n += s && !strncmp(s, prog, plen) && s[plen] == '\t';
    }
    if (n >= RT_BASELINE_MAX_ARGV) {
        for (size_t i = 0; i < bl->argv->cap; i++) {
            char *s = bl->argv->slot[i];
            if (s && !strncmp(s, prog, plen) && s[plen] == '\t')
                s[plen + 1] = '*', s[plen + 2] = '\0'; /* collapsed below */
        }
        /* rebuild the set: the collapsed entries are duplicates now */
        struct rt_strset *fresh = strset_new();
        if (!fresh) {
            L->rc = RT_ERR_NOMEM;
            return;
        }
        for (size_t i = 0; i < bl->argv->cap; i++)
            if (bl->argv->slot[i] && strset_add(fresh, bl->argv->slot[i]) < 0)
                L->rc = RT_ERR_NOMEM;
        strset_free(bl->argv);
        bl->argv = fresh;
        return;
    }
    add2(L, bl->argv, prog, argv);
}

static void learn_env(struct learner *L, const struct rt_env_var *v)
{
    struct rt_baseline *bl = L->bl;
    char hex[2 * RT_DIGEST_LEN + 1], name[1024];
    rt_escape_buf(name, sizeof name, v->name, strlen(v->name), 0);
    add(L, bl->env_names, name);
    char star[1100];
    snprintf(star, sizeof star, "%s\t*", name);
    if (rt_strset_has(bl->env, star))
        return;
    if (volatile_env(v->name)) {
        add(L, bl->env, star);
        return;
    }
    size_t n = 0, nlen = strlen(name);
    for (size_t i = 0; i < bl->env->cap; i++) {
        const char *s = bl->env->slot[i];
        n += s && !strncmp(s, name, nlen) && s[nlen] == '\t';
    }
    rt_digest_hex(v->hash, hex);
    char entry[1100];
    snprintf(entry, sizeof entry, "%s\t%s", name, hex);
    if (rt_strset_has(bl->env, entry))
        return;
    if (n >= RT_BASELINE_MAX_HASHES) {
        for (size_t i = 0; i < bl->env->cap; i++) {
            char *s = bl->env->slot[i];
            if (s && !strncmp(s, name, nlen) && s[nlen] == '\t') {
                free(s);
                bl->env->slot[i] = NULL;
                bl->env->n--;
            }
        }
        /* re-insert everything: deletion broke the probe chains */
        struct rt_strset *fresh = strset_new();
        if (!fresh) {
            L->rc = RT_ERR_NOMEM;
            return;
        }
        for (size_t i = 0; i < bl->env->cap; i++)
            if (bl->env->slot[i] && strset_add(fresh, bl->env->slot[i]) < 0)
                L->rc = RT_ERR_NOMEM;
        strset_free(bl->env);
        bl->env = fresh;
        add(L, bl->env, star);
        return;
    }
    add(L, bl->env, entry);
}

static int learn_payload_visit(const char *path, enum rt_json_type type, const json_t *value,
                               void *arg)
{
    (void)value;
    struct learner *L = arg;
    char esc[2048];
    rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
    add(L, L->bl->payload_paths, esc);
    add2(L, L->bl->payload, esc, rt_json_type_name(type));
    return L->rc ? 1 : 0;
}

/* The input payload as JSON, or NULL (absent, hashed only, not JSON). */
static json_t *payload_json(const struct rt_bundle *b)
{
    const struct rt_payload *p = &b->event;
    if (!p->present || p->mode == RT_PAYLOAD_HASH || p->mode == RT_PAYLOAD_NONE || !p->len ||
        b->meta.counters[RT_CTR_PAYLOAD_TRUNCATED])
        return NULL;
    return json_loadb((const char *)p->data, p->len, JSON_DECODE_ANY, NULL);
}

static void learn_event(struct learner *L, const struct rt_event *ev, const char *rid)
{
    struct rt_baseline *bl = L->bl;
    char a[4096], c[8192];
    switch (ev->op) {
    case RT_OP_PROC_START:
    case RT_OP_EXEC:
    case RT_OP_SPAWN:
        rt_baseline_norm(a, sizeof a, rt_event_program(ev), rid);
        add(L, bl->programs, a);
        learn_argv(L, a, rt_baseline_norm_argv(c, sizeof c, rt_event_str(ev, RT_ROLE_ARGV), rid));
        break;
    case RT_OP_SYSTEM:
    case RT_OP_POPEN:
        add(L, bl->programs, "/bin/sh");
        snprintf(a, sizeof a, "sh -c ");
        rt_baseline_norm(a + 6, sizeof a - 6, rt_event_str(ev, RT_ROLE_COMMAND), rid);
        learn_argv(L, "/bin/sh", a);
        break;
    default:
        break;
    }
    if (rt_event_has_str(ev, RT_ROLE_PEER) && rt_event_peer(ev).len)
        add(L, bl->peers, rt_baseline_norm_peer(a, sizeof a, rt_event_peer(ev)));
    if (ev->op == RT_OP_LISTEN || ev->op == RT_OP_INBOUND)
        add(L, bl->peers, rt_baseline_norm_peer(a, sizeof a, rt_event_local(ev)));
    if (rt_event_host(ev).len)
        add(L, bl->hosts, rt_baseline_norm_host(a, sizeof a, rt_event_host(ev), rid));
    if (ev->op == RT_OP_OUTBOUND && rt_event_http(ev).len)
        add(L, bl->http, rt_baseline_norm_http(a, sizeof a, rt_event_http(ev), rid));
    if (rt_event_str(ev, RT_ROLE_AWS_ACTION).len)
        add(L, bl->aws_actions,
            rt_baseline_norm(a, sizeof a, rt_event_str(ev, RT_ROLE_AWS_ACTION), rid));
    struct rt_file_access fa[2];
    size_t n = rt_event_file_access(ev, fa);
    for (size_t i = 0; i < n; i++) {
        rt_baseline_norm(a, sizeof a, fa[i].path, rid);
        add(L, bl->paths, a);
        add2(L, bl->files, a, fa[i].access);
    }
}

int rt_baseline_learn(struct rt_baseline *bl, const struct rt_bundle *b)
{
    const struct rt_meta *m = &b->meta;
    if (strcmp(bl->function, m->function ? m->function : ""))
        return RT_ERR_BASELINE_FUNCTION;
    struct learner L = {bl, RT_OK};
    const char *rid = m->request_id;
    char a[1024], hex1[2 * RT_DIGEST_LEN + 1], hex2[2 * RT_DIGEST_LEN + 1];
    for (size_t i = 0; i < b->n_events && !L.rc; i++)
        learn_event(&L, &b->events[i], rid);
    for (size_t i = 0; i < b->n_env && !L.rc; i++)
        learn_env(&L, &b->env[i]);
    const char *version = m->function_version ? m->function_version : "";
    rt_escape_buf(a, sizeof a, version, strlen(version), 0);
    add(&L, bl->versions, a);
    if (b->has_code) {
        char entry[1200];
        snprintf(entry, sizeof entry, "%s\t%s\t%s", a, rt_digest_hex(b->code.task_root, hex1),
                 rt_digest_hex(b->code.layers, hex2));
        add(&L, bl->code, entry);
    }
    if (m->runtime)
        add(&L, bl->runtimes,
            rt_baseline_norm(a, sizeof a, (struct rt_str){m->runtime, strlen(m->runtime)}, NULL));
    if (m->handler)
        add(&L, bl->handlers,
            rt_baseline_norm(a, sizeof a, (struct rt_str){m->handler, strlen(m->handler)}, NULL));
    snprintf(a, sizeof a, "%" PRIu32, m->memory_mb);
    add(&L, bl->memory, a);
    json_t *doc = payload_json(b);
    if (doc) {
        if (rt_json_walk(doc, RT_JSON_WALK_COLLAPSE_ARRAYS, learn_payload_visit, &L) < 0)
            L.rc = RT_ERR_NOMEM;
        json_decref(doc);
    }
    struct learn_priv *lp = bl->priv_;
    if (samples_add(&lp->s[RT_RANGE_DURATION], m->duration_ns) ||
        samples_add(&lp->s[RT_RANGE_EVENTS], b->n_events) ||
        samples_add(&lp->s[RT_RANGE_BYTES_OUT], rt_bundle_bytes_out(b)))
        L.rc = RT_ERR_NOMEM;
    if (!L.rc)
        bl->invocations++;
    return L.rc;
}

/* ---- writing ---- */

/* A JSON array of the set's members (sorted). */
static json_t *set_array(const struct rt_strset *s)
{
    json_t *arr = json_array();
    char **v = strset_sorted(s);
    if (!arr || !v) {
        json_decref(arr);
        free(v);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(arr, json_string(v[i]));
    free(v);
    return arr;
}

/* {"key": [values...]} from "key\tvalue" members (sorted, so values come sorted). */
static json_t *set_map(const struct rt_strset *s)
{
    json_t *obj = json_object();
    char **v = strset_sorted(s);
    if (!obj || !v) {
        json_decref(obj);
        free(v);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        char *tab = strchr(v[i], '\t');
        if (!tab)
            continue;
        *tab = '\0';
        json_t *arr = json_object_get(obj, v[i]);
        if (!arr)
            json_object_set_new(obj, v[i], arr = json_array());
        json_array_append_new(arr, json_string(tab + 1));
        *tab = '\t';
    }
    free(v);
    return obj;
}

/* "code": {"version": [{"task_root": hex, "layers": hex}, ...]} */
static json_t *code_map(const struct rt_strset *s)
{
    json_t *obj = json_object();
    char **v = strset_sorted(s);
    if (!obj || !v) {
        json_decref(obj);
        free(v);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        char *t1 = strchr(v[i], '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
            continue;
        *t1 = *t2 = '\0';
        json_t *arr = json_object_get(obj, v[i]);
        if (!arr)
            json_object_set_new(obj, v[i], arr = json_array());
        json_array_append_new(arr, json_pack("{s:s,s:s}", "task_root", t1 + 1, "layers", t2 + 1));
        *t1 = *t2 = '\t';
    }
    free(v);
    return obj;
}

int rt_baseline_to_json(struct rt_baseline *bl, char **out, size_t *len)
{
    struct learn_priv *lp = bl->priv_;
    for (int i = 0; i < RT_RANGE__COUNT; i++) {
        samples_range(&lp->s[i], &bl->range[i]);
        lp->s[i].n = 0; /* folded into the range */
    }
    json_t *ranges = json_object();
    for (int i = 0; i < RT_RANGE__COUNT && ranges; i++)
        if (bl->range[i].set)
            json_object_set_new(ranges, rt_baseline_range_names[i],
                                json_pack("{s:I,s:I,s:I}", "min", (json_int_t)bl->range[i].min,
                                          "p95", (json_int_t)bl->range[i].p95, "max",
                                          (json_int_t)bl->range[i].max));
    json_t *doc = json_pack(
        "{s:i,s:s,s:I,s:o,s:o,s:{s:o,s:o,s:o},s:o,s:o,s:o,s:{s:o,s:o,s:o},s:o,s:o}", "version",
        RT_BASELINE_VERSION, "function", bl->function, "invocations", (json_int_t)bl->invocations,
        "programs", set_array(bl->programs), "argv", set_map(bl->argv), "destinations", "peers",
        set_array(bl->peers), "hosts", set_array(bl->hosts), "http", set_array(bl->http), "files",
        set_map(bl->files), "env", set_map(bl->env), "code", code_map(bl->code), "config",
        "runtimes", set_array(bl->runtimes), "handlers", set_array(bl->handlers), "memory_mb",
        set_array(bl->memory), "payload", set_map(bl->payload), "ranges", ranges);
    if (doc && json_object_set_new(doc, "aws_actions", set_array(bl->aws_actions)) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    if (!doc)
        return RT_ERR_NOMEM;
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (!text)
        return RT_ERR_NOMEM;
    size_t n = strlen(text);
    char *with_nl = realloc(text, n + 2);
    if (!with_nl) {
        free(text);
        return RT_ERR_NOMEM;
    }
    with_nl[n] = '\n';
    with_nl[n + 1] = '\0';
    *out = with_nl;
    if (len)
        *len = n + 1;
    return RT_OK;
}

/* ---- reading ---- */

struct loader {
    struct rt_baseline *bl;
    struct rt_errinfo *ei;
    int rc;
};

static int bad(struct loader *ld, const char *field, const char *what)
{
    if (!ld->rc)
        ld->rc = rt_fail(ld->ei, RT_ERR_BASELINE_INVALID, -1, "%s: %s", field, what);
    return ld->rc;
}

/* Only the listed keys may appear in obj. */
static void only_keys(struct loader *ld, const json_t *obj, const char *field,
                      const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        (void)v;
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known |= !strcmp(k, keys[i]);
        if (!known) {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown key \"%.200s\"", k);
            bad(ld, field, msg);
            return;
        }
    }
}

static const json_t *need(struct loader *ld, const json_t *obj, const char *key, json_type type,
                          const char *field)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        bad(ld, field, "missing");
        return NULL;
    }
    if (json_typeof(v) != type) {
        bad(ld, field, "wrong type");
        return NULL;
    }
    return v;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static bool is_hex_digest(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 2 * RT_DIGEST_LEN;
}

static void load_array(struct loader *ld, const json_t *arr, const char *field, struct rt_strset *s)
{
    if (!arr || ld->rc)
        return;
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || !printable(json_string_value(v))) {
            bad(ld, field, "entries must be printable ASCII strings");
            return;
        }
        if (strset_add(s, json_string_value(v)) < 0)
            ld->rc = RT_ERR_NOMEM;
    }
}

/* {"key": ["value", ...]} into "key\tvalue" members; each key also into keys (may be NULL). */
static void load_map(struct loader *ld, const json_t *obj, const char *field, struct rt_strset *s,
                     struct rt_strset *keys, bool (*valid)(const char *))
{
    if (!obj || ld->rc)
        return;
    const char *k;
    json_t *arr;
    json_object_foreach((json_t *)obj, k, arr)
    {
        if (!printable(k) || strchr(k, '\t'))
            bad(ld, field, "keys must be printable ASCII");
        else if (!json_is_array(arr))
            bad(ld, field, "values must be arrays");
        if (ld->rc)
            return;
        if (keys && strset_add(keys, k) < 0)
            ld->rc = RT_ERR_NOMEM;
        size_t i;
        const json_t *v;
        json_array_foreach(arr, i, v)
        {
            const char *t = json_string_value(v);
            if (!t || !printable(t) || (valid && !valid(t))) {
                char msg[300];
                snprintf(msg, sizeof msg, "\"%.200s\": bad entry", k);
                bad(ld, field, msg);
                return;
            }
            size_t lk = strlen(k), lt = strlen(t);
            char *e = malloc(lk + lt + 2);
            if (!e) {
                ld->rc = RT_ERR_NOMEM;
                return;
            }
            memcpy(e, k, lk);
            e[lk] = '\t';
            memcpy(e + lk + 1, t, lt + 1);
            if (strset_add(s, e) < 0)
                ld->rc = RT_ERR_NOMEM;
            free(e);
        }
    }
}

static bool valid_access(const char *t)
{
    static const char *const acc[] = {"read",  "write", "rw",   "create", "delete",
                                      "chmod", "chown", "load", NULL};
    for (size_t i = 0; acc[i]; i++)
        if (!strcmp(t, acc[i]))
            return true;
    return false;
}

static bool valid_type(const char *t)
{
    for (unsigned i = 0; i < RT_JSON__COUNT; i++)
        if (!strcmp(t, rt_json_type_name(i)))
            return true;
    return false;
}

static bool valid_hash(const char *t)
{
    return !strcmp(t, "*") || is_hex_digest(t);
}

static void load_code(struct loader *ld, const json_t *obj)
{
    const char *version;
    json_t *arr;
    json_object_foreach((json_t *)obj, version, arr)
    {
        if (!printable(version) || !json_is_array(arr)) {
            bad(ld, "code", "each version maps to an array");
            return;
        }
        if (strset_add(ld->bl->versions, version) < 0)
            ld->rc = RT_ERR_NOMEM;
        size_t i;
        const json_t *v;
        json_array_foreach(arr, i, v)
        {
            const char *tr = json_string_value(json_object_get(v, "task_root"));
            const char *ly = json_string_value(json_object_get(v, "layers"));
            if (!json_is_object(v) || json_object_size(v) != 2 || !tr || !ly ||
                !is_hex_digest(tr) || !is_hex_digest(ly)) {
                bad(ld, "code", "entries are {\"task_root\": hex, \"layers\": hex}");
                return;
            }
            char e[1200];
            snprintf(e, sizeof e, "%s\t%s\t%s", version, tr, ly);
            if (strset_add(ld->bl->code, e) < 0)
                ld->rc = RT_ERR_NOMEM;
        }
    }
}

static void load_ranges(struct loader *ld, const json_t *obj)
{
    static const char *const keys[] = {"duration_ns", "events", "bytes_out", NULL};
    only_keys(ld, obj, "ranges", keys);
    for (int i = 0; i < RT_RANGE__COUNT && !ld->rc; i++) {
        const json_t *r = json_object_get(obj, rt_baseline_range_names[i]);
        if (!r)
            continue;
        static const char *const mm[] = {"min", "p95", "max", NULL};
        json_int_t v[3];
        for (int k = 0; k < 3; k++) {
            const json_t *x = json_object_get(r, mm[k]);
            if (!json_is_integer(x) || json_integer_value(x) < 0) {
                bad(ld, rt_baseline_range_names[i], "needs integers min, p95, max >= 0");
                return;
            }
            v[k] = json_integer_value(x);
        }
        only_keys(ld, r, rt_baseline_range_names[i], mm);
        if (!(v[0] <= v[1] && v[1] <= v[2])) {
            bad(ld, rt_baseline_range_names[i], "needs min <= p95 <= max");
            return;
        }
        ld->bl->range[i] = (struct rt_range){(uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2], true};
    }
}

int rt_baseline_parse(const char *text, size_t len, struct rt_baseline **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return rt_fail(ei, RT_ERR_BASELINE_INVALID, -1, "line %d: %s", jerr.line, jerr.text);
    struct loader ld = {NULL, ei, RT_OK};
    if (!json_is_object(doc)) {
        json_decref(doc);
        return rt_fail(ei, RT_ERR_BASELINE_INVALID, -1, "not a JSON object");
    }
    const json_t *ver = json_object_get(doc, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
        json_decref(doc);
        return rt_fail(ei, RT_ERR_BASELINE_INVALID, -1, "version: missing or not a number >= 1");
    }
    if (json_integer_value(ver) > RT_BASELINE_VERSION) {
        json_int_t v = json_integer_value(ver);
        json_decref(doc);
        return rt_fail(ei, RT_ERR_BASELINE_VERSION, -1,
                       "version %" JSON_INTEGER_FORMAT ", this runtrail reads up to %d", v,
                       RT_BASELINE_VERSION);
    }
    static const char *const top[] = {
        "version", "function", "invocations", "programs", "argv",   "destinations", "files",
        "env",     "code",     "config",      "payload",  "ranges", "aws_actions",  NULL};
    only_keys(&ld, doc, "baseline", top);
    const json_t *fn = need(&ld, doc, "function", JSON_STRING, "function");
    const json_t *inv = need(&ld, doc, "invocations", JSON_INTEGER, "invocations");
    const json_t *programs = need(&ld, doc, "programs", JSON_ARRAY, "programs");
    const json_t *argv = need(&ld, doc, "argv", JSON_OBJECT, "argv");
    const json_t *dest = need(&ld, doc, "destinations", JSON_OBJECT, "destinations");
    const json_t *files = need(&ld, doc, "files", JSON_OBJECT, "files");
    const json_t *env = need(&ld, doc, "env", JSON_OBJECT, "env");
    const json_t *code = need(&ld, doc, "code", JSON_OBJECT, "code");
    const json_t *config = need(&ld, doc, "config", JSON_OBJECT, "config");
    const json_t *payload = need(&ld, doc, "payload", JSON_OBJECT, "payload");
    const json_t *ranges = need(&ld, doc, "ranges", JSON_OBJECT, "ranges");
    if (!ld.rc && (!printable(json_string_value(fn)) || json_integer_value(inv) < 0))
        bad(&ld, "function", "must be printable ASCII (and invocations >= 0)");
    if (!ld.rc && !(ld.bl = rt_baseline_new(json_string_value(fn))))
        ld.rc = RT_ERR_NOMEM;
    if (!ld.rc) {
        struct rt_baseline *bl = ld.bl;
        bl->invocations = (uint64_t)json_integer_value(inv);
        load_array(&ld, programs, "programs", bl->programs);
        /* AWS actions: absent from baselines learned before aws_call events existed, which
         * then do not judge them (aws_learned false) */
        const json_t *aws = json_object_get(doc, "aws_actions");
        if (aws && !json_is_array(aws))
            bad(&ld, "aws_actions", "must be an array");
        load_array(&ld, aws, "aws_actions", bl->aws_actions);
        bl->aws_learned = aws != NULL;
        load_map(&ld, argv, "argv", bl->argv, NULL, NULL);
        static const char *const dk[] = {"peers", "hosts", "http", NULL};
        only_keys(&ld, dest, "destinations", dk);
        load_array(&ld, need(&ld, dest, "peers", JSON_ARRAY, "destinations.peers"),
                   "destinations.peers", bl->peers);
        load_array(&ld, need(&ld, dest, "hosts", JSON_ARRAY, "destinations.hosts"),
                   "destinations.hosts", bl->hosts);
        load_array(&ld, need(&ld, dest, "http", JSON_ARRAY, "destinations.http"),
                   "destinations.http", bl->http);
        load_map(&ld, files, "files", bl->files, bl->paths, valid_access);
        load_map(&ld, env, "env", bl->env, bl->env_names, valid_hash);
        if (!ld.rc)
            load_code(&ld, code);
        static const char *const ck[] = {"runtimes", "handlers", "memory_mb", NULL};
        only_keys(&ld, config, "config", ck);
        load_array(&ld, need(&ld, config, "runtimes", JSON_ARRAY, "config.runtimes"),
                   "config.runtimes", bl->runtimes);
        load_array(&ld, need(&ld, config, "handlers", JSON_ARRAY, "config.handlers"),
                   "config.handlers", bl->handlers);
        load_array(&ld, need(&ld, config, "memory_mb", JSON_ARRAY, "config.memory_mb"),
                   "config.memory_mb", bl->memory);
        load_map(&ld, payload, "payload", bl->payload, bl->payload_paths, valid_type);
        if (!ld.rc)
            load_ranges(&ld, ranges);
    }
    json_decref(doc);
    if (ld.rc) {
        rt_baseline_free(ld.bl);
        return ld.rc;
    }
    *out = ld.bl;
    return RT_OK;
}

int rt_baseline_load(const char *path, struct rt_baseline **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_fail(ei, RT_ERR_IO, -1, "%s", strerror(errno));
    char *buf = malloc(RT_BASELINE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, RT_BASELINE_MAX_BYTES + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf)
        return RT_ERR_NOMEM;
    int rc;
    if (err)
        rc = rt_fail(ei, RT_ERR_IO, -1, "read error");
    else if (n > RT_BASELINE_MAX_BYTES)
        rc =
            rt_fail(ei, RT_ERR_BASELINE_INVALID, -1, "larger than %u bytes", RT_BASELINE_MAX_BYTES);
    else
        rc = rt_baseline_parse(buf, n, out, ei);
    free(buf);
    return rc;
}

/* ---- questions ---- */

bool rt_baseline_has_file(const struct rt_baseline *bl, const char *path, const char *access)
{
    char key[8192];
    snprintf(key, sizeof key, "%s\t%s", path, access);
    if (rt_strset_has(bl->files, key))
        return true;
    for (size_t i = 0; i < bl->files->cap; i++) {
        const char *s = bl->files->slot[i];
        if (!s || !strpbrk(s, "*?["))
            continue;
        const char *tab = strrchr(s, '\t');
        if (!tab || strcmp(tab + 1, access))
            continue;
        char pattern[4096];
        size_t plen = (size_t)(tab - s);
        if (plen >= sizeof pattern)
            continue;
        memcpy(pattern, s, plen);
        pattern[plen] = '\0';
        if (!fnmatch(pattern, path, 0))
            return true;
    }
    return false;
}

bool rt_baseline_has_argv(const struct rt_baseline *bl, const char *program, const char *argv)
{
    char key[12288];
    snprintf(key, sizeof key, "%s\t*", program);
    if (rt_strset_has(bl->argv, key))
        return true;
    snprintf(key, sizeof key, "%s\t%s", program, argv);
    return rt_strset_has(bl->argv, key);
}

bool rt_baseline_env_compared(const struct rt_baseline *bl, const char *name)
{
    char key[1100];
    snprintf(key, sizeof key, "%s\t*", name);
    return !volatile_env(name) && !rt_strset_has(bl->env, key);
}

bool rt_baseline_code_learned(const struct rt_baseline *bl, const char *version)
{
    size_t vlen = strlen(version);
    for (size_t i = 0; i < bl->code->cap; i++) {
        const char *s = bl->code->slot[i];
        if (s && !strncmp(s, version, vlen) && s[vlen] == '\t')
            return true;
    }
    return false;
}
