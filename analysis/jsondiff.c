/* Payloads as JSON structure: the walk of a document into (path, type) pairs and the
 * structural diff of two documents. jansson parses; this file only follows the tree, with a
 * depth bound, and builds paths in one reusable buffer. */
#include "analysis/jsondiff.h"
#include "formats/toolbox.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
#define _(id, name) [RT_JSON_##id] = name,
    RT_JSON_TYPES(_)
#undef _
};

const char *rt_json_type_name(unsigned type)
{
    return type < RT_JSON__COUNT ? type_names[type] : "unknown";
}

#define REDACTED_PREFIX "<redacted:hmac:"

enum rt_json_type rt_json_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return RT_JSON_OBJECT;
    case JSON_ARRAY:
        return RT_JSON_ARRAY;
    case JSON_STRING:
        return strncmp(json_string_value(v), REDACTED_PREFIX, sizeof REDACTED_PREFIX - 1)
                   ? RT_JSON_STRING
                   : RT_JSON_REDACTED;
    case JSON_INTEGER:
    case JSON_REAL:
        return RT_JSON_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return RT_JSON_BOOL;
    default:
        return RT_JSON_NULL;
    }
}

const char *rt_json_change_name(unsigned change)
{
    static const char *const names[] = {"added", "removed", "changed", "type"};
    return change < 4 ? names[change] : "unknown";
}

static bool plain_name(const char *k)
{
    if (!(isalpha((unsigned char)*k) || *k == '_'))
        return false;
    for (k++; *k; k++)
        if (!(isalnum((unsigned char)*k) || *k == '_' || *k == '-'))
            return false;
    return true;
}

/* Appends the member `name` to the path: `.name` or `["name"]` (the name JSON-escaped by
 * jansson). Returns 0 or -1 (out of memory). */
static int push_member(struct rt_buf *path, const char *name)
{
    if (plain_name(name))
        return rt_buf_printf(path, ".%s", name) ? -1 : 0;
    json_t *s = json_string(name);
    char *q = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    json_decref(s);
    int rc = q ? rt_buf_printf(path, "[%s]", q) : -1;
    free(q);
    return rc ? -1 : 0;
}

static void cut(struct rt_buf *path, size_t len)
{
    path->len = len;
    if (path->data)
        path->data[len] = '\0';
}

/* ---- walk ---- */

struct walk {
    unsigned flags;
    rt_json_visit_fn fn;
    void *arg;
    struct rt_buf path;
};

static int walk(struct walk *w, const json_t *v, int depth)
{
    if (w->path.failed)
        return -1;
    enum rt_json_type t = rt_json_type_of(v);
    int rc = w->fn(w->path.data, t, v, w->arg);
    if (rc || depth >= RT_JSON_MAX_DEPTH)
        return rc;
    size_t len = w->path.len;
    if (t == RT_JSON_OBJECT) {
        const char *name;
        json_t *child;
        json_object_foreach((json_t *)v, name, child)
        {
            if (push_member(&w->path, name))
                return -1;
            rc = walk(w, child, depth + 1);
            cut(&w->path, len);
            if (rc)
                return rc;
        }
    } else if (t == RT_JSON_ARRAY) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            if (w->flags & RT_JSON_WALK_COLLAPSE_ARRAYS ? rt_buf_puts(&w->path, "[]")
                                                        : rt_buf_printf(&w->path, "[%zu]", i))
                return -1;
            rc = walk(w, child, depth + 1);
            cut(&w->path, len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int rt_json_walk(const json_t *root, unsigned flags, rt_json_visit_fn fn, void *arg)
{
    struct walk w = {.flags = flags, .fn = fn, .arg = arg, .path = RT_BUF_INIT};
    int rc = rt_buf_puts(&w.path, "$") ? -1 : walk(&w, root, 0);
    rt_buf_free(&w.path);
    return rc;
}

/* ---- diff ---- */

struct differ {
    struct rt_buf path;
    struct rt_json_diff *out;
    size_t cap;
    bool nomem;
};

static void emit(struct differ *d, enum rt_json_change change, enum rt_json_type a,
                 enum rt_json_type b)
{
    if (d->nomem || d->path.failed) {
        d->nomem = true;
        return;
    }
    if (d->out->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        struct rt_json_delta *v = realloc(d->out->d, cap * sizeof *v);
        if (!v) {
            d->nomem = true;
            return;
        }
        d->out->d = v;
        d->cap = cap;
    }
    struct rt_json_delta *x = &d->out->d[d->out->n];
    if (!(x->path = strdup(d->path.data))) {
        d->nomem = true;
        return;
    }
    x->change = change;
    x->a_type = a;
    x->b_type = b;
    d->out->n++;
}

static void compare(struct differ *d, const json_t *a, const json_t *b, int depth)
{
    enum rt_json_type ta = rt_json_type_of(a), tb = rt_json_type_of(b);
    if (d->nomem)
        return;
    if (ta != tb) {
        emit(d, RT_JSON_TYPE_CHANGED, ta, tb);
        return;
    }
    size_t len = d->path.len;
    if (ta == RT_JSON_OBJECT && depth < RT_JSON_MAX_DEPTH) {
        const char *name;
        json_t *va, *vb;
        json_object_foreach((json_t *)a, name, va)
        {
            if (push_member(&d->path, name)) {
                d->nomem = true;
                return;
            }
            vb = json_object_get(b, name);
            if (vb)
                compare(d, va, vb, depth + 1);
            else
                emit(d, RT_JSON_REMOVED, rt_json_type_of(va), RT_JSON_NULL);
            cut(&d->path, len);
        }
        json_object_foreach((json_t *)b, name, vb)
        {
            if (json_object_get(a, name))
                continue;
            if (push_member(&d->path, name)) {
                d->nomem = true;
                return;
            }
            emit(d, RT_JSON_ADDED, RT_JSON_NULL, rt_json_type_of(vb));
            cut(&d->path, len);
        }
    } else if (ta == RT_JSON_ARRAY && depth < RT_JSON_MAX_DEPTH) {
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < (na > nb ? na : nb); i++) {
            if (rt_buf_printf(&d->path, "[%zu]", i)) {
                d->nomem = true;
                return;
            }
            if (i < na && i < nb)
                compare(d, json_array_get(a, i), json_array_get(b, i), depth + 1);
            else if (i < na)
                emit(d, RT_JSON_REMOVED, rt_json_type_of(json_array_get(a, i)), RT_JSON_NULL);
            else
                emit(d, RT_JSON_ADDED, RT_JSON_NULL, rt_json_type_of(json_array_get(b, i)));
            cut(&d->path, len);
        }
    } else if (!json_equal((json_t *)a, (json_t *)b)) {
        emit(d, RT_JSON_CHANGED, ta, tb);
    }
}

void rt_json_diff_free(struct rt_json_diff *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->d[i].path);
    free(d->d);
    d->d = NULL;
    d->n = 0;
}

int rt_json_diff(const json_t *a, const json_t *b, struct rt_json_diff *out)
{
    struct differ d = {.path = RT_BUF_INIT, .out = out};
    out->d = NULL;
    out->n = 0;
    if (rt_buf_puts(&d.path, "$"))
        d.nomem = true;
    else
        compare(&d, a, b, 0);
    rt_buf_free(&d.path);
    if (d.nomem) {
        rt_json_diff_free(out);
        return -1;
    }
    return 0;
}
