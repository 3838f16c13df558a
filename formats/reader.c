/* The bundle reader used by every offline tool: decompresses one zstd frame (checksum
 * verified), checks the header and the SHA-256 footer, then decodes every block into plain
 * data owned by struct rt_bundle. Input is hostile: every length is checked against what is
 * left before it is used, allocation is bounded by a small multiple of the decompressed size,
 * and each error carries the block index and the byte offset in the decompressed stream. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/wire.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct priv {
    uint8_t *raw; /* the decompressed stream; event strings, payloads and logs point into it */
    void **allocs;
    size_t n_allocs, cap_allocs;
};

/* A window of the decompressed stream; pos is absolute, offsets in errors are pos values. */
struct cur {
    const uint8_t *base;
    size_t pos, end;
};

struct dec {
    struct rt_bundle *b;
    struct priv *pv;
    struct rt_errinfo *ei;
    int block;
    struct rt_str *strings;
    size_t n_strings;
};

static int fail(struct dec *d, int err, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct dec *d, int err, size_t off, const char *fmt, ...)
{
    if (d->ei) {
        d->ei->offset = (int64_t)off;
        d->ei->block = d->block;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->ei->detail, sizeof d->ei->detail, fmt, ap);
        va_end(ap);
    }
    return err;
}

static void *track(struct dec *d, void *p)
{
    struct priv *pv = d->pv;
    if (!p)
        return NULL;
    if (pv->n_allocs == pv->cap_allocs) {
        size_t cap = pv->cap_allocs ? pv->cap_allocs * 2 : 16;
        void **a = realloc(pv->allocs, cap * sizeof *a);
        if (!a) {
            free(p);
            return NULL;
        }
        pv->allocs = a;
        pv->cap_allocs = cap;
    }
    pv->allocs[pv->n_allocs++] = p;
    return p;
}

static void *dcalloc(struct dec *d, size_t n, size_t size)
{
    return track(d, calloc(n ? n : 1, size));
}

static char *dstr(struct dec *d, const uint8_t *s, size_t len)
{
    char *p = track(d, malloc(len + 1));
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static int get_uvar(struct dec *d, struct cur *c, uint64_t *v, const char *what)
{
    int n = rt_varint_get(c->base + c->pos, c->end - c->pos, v);
    if (n == 0)
        return fail(d, RT_ERR_BUNDLE_TRUNCATED, c->pos, "%s", what);
    if (n < 0)
        return fail(d, RT_ERR_BUNDLE_VARINT, c->pos, "%s", what);
    c->pos += (size_t)n;
    return RT_OK;
}

static int get_svar(struct dec *d, struct cur *c, int64_t *v, const char *what)
{
    uint64_t u;
    int rc = get_uvar(d, c, &u, what);
    if (!rc)
        *v = rt_unzigzag(u);
    return rc;
}

/* A length-prefixed slice inside c. */
static int get_slice(struct dec *d, struct cur *c, struct cur *out, const char *what)
{
    uint64_t len;
    size_t at = c->pos;
    int rc = get_uvar(d, c, &len, what);
    if (rc)
        return rc;
    if (len > c->end - c->pos)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at, "%s: length %llu exceeds the %zu bytes left", what,
                    (unsigned long long)len, c->end - c->pos);
    *out = (struct cur){c->base, c->pos, c->pos + (size_t)len};
    c->pos += (size_t)len;
    return RT_OK;
}

static int get_count(struct dec *d, struct cur *c, uint64_t *n, size_t min_bytes, const char *what)
{
    size_t at = c->pos;
    int rc = get_uvar(d, c, n, what);
    if (rc)
        return rc;
    if (*n > (c->end - c->pos) / min_bytes)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at, "%s: count %llu exceeds the %zu bytes left", what,
                    (unsigned long long)*n, c->end - c->pos);
    return RT_OK;
}

/* A TLV value that must be exactly one varint. */
static int value_uvar(struct dec *d, const struct cur *v, uint64_t *out, const char *what)
{
    struct cur c = *v;
    int rc = get_uvar(d, &c, out, what);
    if (!rc && c.pos != c.end)
        return fail(d, RT_ERR_BUNDLE_LENGTH, c.pos, "%s: %zu bytes after the value", what,
                    c.end - c.pos);
    return rc;
}

static int value_digest(struct dec *d, const struct cur *v, uint8_t out[RT_DIGEST_LEN],
                        const char *what)
{
    if (v->end - v->pos != RT_DIGEST_LEN)
        return fail(d, RT_ERR_BUNDLE_LENGTH, v->pos, "%s: %zu bytes, expected %d", what,
                    v->end - v->pos, RT_DIGEST_LEN);
    memcpy(out, v->base + v->pos, RT_DIGEST_LEN);
    return RT_OK;
}

#define NOMEM() fail(d, RT_ERR_NOMEM, 0, "decoding")

/* ---- blocks ---- */

static int dec_counters(struct dec *d, const struct cur *v, struct rt_meta *m)
{
    struct cur c = *v;
    while (c.pos < c.end) {
        uint64_t id, val;
        int rc = get_uvar(d, &c, &id, "counter id");
        if (!rc)
            rc = get_uvar(d, &c, &val, "counter value");
        if (rc)
            return rc;
        if (id < RT_CTR__COUNT)
            m->counters[id] = val; /* unknown counters: skipped (forward compatibility) */
    }
    return RT_OK;
}

static int dec_meta(struct dec *d, struct cur c)
{
    struct rt_meta *m = &d->b->meta;
    while (c.pos < c.end) {
        uint64_t id, u = 0;
        struct cur v;
        int rc = get_uvar(d, &c, &id, "META field id");
        if (!rc)
            rc = get_slice(d, &c, &v, "META field");
        if (rc)
            return rc;
        switch (id) {
#define _(fid, name, type, member)                                                                 \
    case fid:                                                                                      \
        DEC_##type(name, member);                                                                  \
        break;
#define DEC_RT_WT_STR(name, member)                                                                \
    if (!(m->member = dstr(d, v.base + v.pos, v.end - v.pos)))                                     \
        return NOMEM();
#define DEC_RT_WT_UVAR(name, member)                                                               \
    if ((rc = value_uvar(d, &v, &u, name)))                                                        \
        return rc;                                                                                 \
    m->member = (__typeof__(m->member))u;
#define DEC_RT_WT_SVAR(name, member)                                                               \
    if ((rc = value_uvar(d, &v, &u, name)))                                                        \
        return rc;                                                                                 \
    m->member = (__typeof__(m->member))rt_unzigzag(u);
#define DEC_RT_WT_DIGEST(name, member)                                                             \
    if ((rc = value_digest(d, &v, m->member, name)))                                               \
        return rc;                                                                                 \
    m->has_prev = true;
#define DEC_RT_WT_PAIRS(name, member)                                                              \
    if ((rc = dec_counters(d, &v, m)))                                                             \
        return rc;
            RT_META_FIELDS(_)
#undef _
        default:
            break; /* unknown field: skipped */
        }
        if (id == 20 && u >= RT_STATUS__COUNT)
            return fail(d, RT_ERR_BUNDLE_ENUM, v.pos, "status %llu", (unsigned long long)u);
        if (id == 19 && u > 1)
            return fail(d, RT_ERR_BUNDLE_ENUM, v.pos, "cold_start %llu", (unsigned long long)u);
        if (id == 27 && u > RT_CHAIN_END_LAST)
            return fail(d, RT_ERR_BUNDLE_ENUM, v.pos, "chain_end %llu", (unsigned long long)u);
    }
    return RT_OK;
}

static int dec_code(struct dec *d, struct cur c)
{
    struct rt_code *code = &d->b->code;
    while (c.pos < c.end) {
        uint64_t id, u;
        struct cur v;
        int rc = get_uvar(d, &c, &id, "CODE field id");
        if (!rc)
            rc = get_slice(d, &c, &v, "CODE field");
        if (!rc && id == 1)
            rc = value_digest(d, &v, code->task_root, "task_root");
        else if (!rc && id == 2)
            rc = value_digest(d, &v, code->layers, "layers");
        else if (!rc && id == 3 && !(rc = value_uvar(d, &v, &u, "files")))
            code->files = (uint32_t)u;
        else if (!rc && id == 4 && !(rc = value_uvar(d, &v, &u, "bytes")))
            code->bytes = u;
        else if (!rc && id == 5 && !(code->task_root_path = dstr(d, v.base + v.pos, v.end - v.pos)))
            return NOMEM();
        if (rc)
            return rc;
    }
    d->b->has_code = true;
    return RT_OK;
}

static int dec_payload(struct dec *d, struct cur c, struct rt_payload *p)
{
    while (c.pos < c.end) {
        uint64_t id, u;
        struct cur v;
        int rc = get_uvar(d, &c, &id, "payload field id");
        if (!rc)
            rc = get_slice(d, &c, &v, "payload field");
        if (rc)
            return rc;
        if (id == 1) {
            if ((rc = value_uvar(d, &v, &u, "mode")))
                return rc;
            if (u > RT_PAYLOAD_NONE)
                return fail(d, RT_ERR_BUNDLE_ENUM, v.pos, "payload mode %llu",
                            (unsigned long long)u);
            p->mode = (uint8_t)u;
        } else if (id == 2) {
            if ((rc = value_uvar(d, &v, &p->original_len, "original_len")))
                return rc;
        } else if (id == 3) {
            if ((rc = value_digest(d, &v, p->sha256, "sha256")))
                return rc;
        } else if (id == 4) {
            p->data = (uint8_t *)(v.base + v.pos);
            p->len = v.end - v.pos;
        } else if (id == 5) {
            if (!(p->content_type = dstr(d, v.base + v.pos, v.end - v.pos)))
                return NOMEM();
        } else if (id == 6) {
            if (!(p->error_type = dstr(d, v.base + v.pos, v.end - v.pos)))
                return NOMEM();
        }
    }
    p->present = true;
    return RT_OK;
}

static int dec_env(struct dec *d, struct cur c)
{
    uint64_t n;
    int rc = get_count(d, &c, &n, 1 + 1 + RT_DIGEST_LEN + 1, "ENV count");
    if (rc)
        return rc;
    struct rt_env_var *env = dcalloc(d, (size_t)n, sizeof *env);
    if (!env)
        return NOMEM();
    for (size_t i = 0; i < n; i++) {
        struct cur e, name, val;
        uint64_t has_value;
        if ((rc = get_slice(d, &c, &e, "ENV entry")) || (rc = get_slice(d, &e, &name, "name")))
            return rc;
        if (e.end - e.pos < RT_DIGEST_LEN)
            return fail(d, RT_ERR_BUNDLE_TRUNCATED, e.pos, "ENV entry %zu: hash", i);
        memcpy(env[i].hash, e.base + e.pos, RT_DIGEST_LEN);
        e.pos += RT_DIGEST_LEN;
        if ((rc = get_uvar(d, &e, &has_value, "has_value")))
            return rc;
        if (has_value > 1)
            return fail(d, RT_ERR_BUNDLE_ENUM, e.pos - 1, "ENV entry %zu: has_value %llu", i,
                        (unsigned long long)has_value);
        if (!(env[i].name = dstr(d, name.base + name.pos, name.end - name.pos)))
            return NOMEM();
        if (has_value) {
            if ((rc = get_slice(d, &e, &val, "value")))
                return rc;
            if (!(env[i].value = dstr(d, val.base + val.pos, val.end - val.pos)))
                return NOMEM();
        }
        /* bytes left in e: fields of a later version, skipped */
    }
    d->b->env = env;
    d->b->n_env = (size_t)n;
    return RT_OK;
}

static int dec_headers(struct dec *d, struct cur c)
{
    uint64_t n;
    int rc = get_count(d, &c, &n, 2, "HEADERS count");
    if (rc)
        return rc;
    struct rt_header *h = dcalloc(d, (size_t)n, sizeof *h);
    if (!h)
        return NOMEM();
    for (size_t i = 0; i < n; i++) {
        struct cur name, val;
        if ((rc = get_slice(d, &c, &name, "header name")) ||
            (rc = get_slice(d, &c, &val, "header value")))
            return rc;
        h[i].name = dstr(d, name.base + name.pos, name.end - name.pos);
        h[i].value = dstr(d, val.base + val.pos, val.end - val.pos);
        if (!h[i].name || !h[i].value)
            return NOMEM();
    }
    d->b->headers = h;
    d->b->n_headers = (size_t)n;
    return RT_OK;
}

static int dec_strings(struct dec *d, struct cur c)
{
    uint64_t n;
    int rc = get_count(d, &c, &n, 1, "STRINGS count");
    if (rc)
        return rc;
    struct rt_str *s = dcalloc(d, (size_t)n, sizeof *s);
    if (!s)
        return NOMEM();
    for (size_t i = 0; i < n; i++) {
        struct cur v;
        if ((rc = get_slice(d, &c, &v, "string")))
            return rc;
        s[i].ptr = (const char *)v.base + v.pos;
        s[i].len = v.end - v.pos;
    }
    d->strings = s;
    d->n_strings = (size_t)n;
    return RT_OK;
}

static const char *const column_names[] = {
#define _(id, name, scope, doc) name,
    RT_COLUMNS(_)
#undef _
};

/* A column being decoded: its byte planes and where the current value started. */
struct column {
    struct cur plane[RT_WIRE_MAX_PLANES];
    unsigned n;
    size_t at;
    const char *name;
};

static int get_stream(struct dec *d, struct cur *body, struct column *col, const char *name)
{
    uint64_t n;
    size_t at = body->pos;
    int rc = get_uvar(d, body, &n, "plane count");
    if (rc)
        return rc;
    if (n < 1 || n > RT_WIRE_MAX_PLANES)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at, "column %s: %llu planes", name,
                    (unsigned long long)n);
    col->n = (unsigned)n;
    col->name = name;
    for (unsigned k = 0; k < col->n; k++)
        if ((rc = get_slice(d, body, &col->plane[k], name)))
            return rc;
    return RT_OK;
}

/* Column i: its streams, by key, into cols[0..keys). Missing streams stay empty (n == 0). */
static int get_column(struct dec *d, struct cur *c, int i, struct column *cols, unsigned keys)
{
    struct cur body;
    uint64_t n, key;
    const char *name = column_names[i];
    int rc = get_slice(d, c, &body, "EVENTS column");
    if (!rc)
        rc = get_uvar(d, &body, &n, "stream count");
    if (rc)
        return rc;
    for (uint64_t s = 0; s < n; s++) {
        size_t at = body.pos;
        if ((rc = get_uvar(d, &body, &key, "stream key")))
            return rc;
        if (key >= keys)
            return fail(d, RT_ERR_BUNDLE_ENUM, at, "column %s: stream key %llu", name,
                        (unsigned long long)key);
        if (cols[key].n)
            return fail(d, RT_ERR_BUNDLE_DUPLICATE, at, "column %s: stream %llu twice", name,
                        (unsigned long long)key);
        if ((rc = get_stream(d, &body, &cols[key], name)))
            return rc;
    }
    if (body.pos != body.end)
        return fail(d, RT_ERR_BUNDLE_LENGTH, body.pos, "column %s: %zu bytes after the streams",
                    name, body.end - body.pos);
    return RT_OK;
}

static int col_uvar(struct dec *d, struct column *c, uint64_t *v)
{
    uint64_t r = 0;
    if (!c->n)
        return fail(d, RT_ERR_BUNDLE_TRUNCATED, -1, "no values in a column stream");
    c->at = c->plane[0].pos;
    for (unsigned i = 0; i < 10; i++) {
        struct cur *p = &c->plane[i < c->n ? i : c->n - 1];
        if (p->pos >= p->end)
            return fail(d, RT_ERR_BUNDLE_TRUNCATED, p->pos, "column %s ends early", c->name);
        uint8_t b = p->base[p->pos++];
        if (i == 9 && b > 1)
            return fail(d, RT_ERR_BUNDLE_VARINT, p->pos - 1, "column %s", c->name);
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return RT_OK;
        }
    }
    return fail(d, RT_ERR_BUNDLE_VARINT, c->at, "column %s", c->name); /* not reached */
}

static int col_svar(struct dec *d, struct column *c, int64_t *v)
{
    uint64_t u;
    int rc = col_uvar(d, c, &u);
    if (!rc)
        *v = rt_unzigzag(u);
    return rc;
}

static int dec_events(struct dec *d, struct cur c)
{
    uint64_t n, ncols;
    size_t at = c.pos;
    int rc = get_uvar(d, &c, &n, "EVENTS count");
    if (!rc)
        rc = get_uvar(d, &c, &ncols, "EVENTS column count");
    if (rc)
        return rc;
    if (ncols < RT_COL__COUNT)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at, "%llu columns, expected at least %d",
                    (unsigned long long)ncols, RT_COL__COUNT);
    /* col[i][key]: seq columns have the single key 0, op columns one stream per op */
    struct column(*col)[RT_OP__COUNT] = calloc(RT_COL__COUNT, sizeof *col);
    if (!col)
        return NOMEM();
    for (uint64_t i = 0; i < ncols && !rc; i++) {
        struct cur skip;
        if (i >= RT_COL__COUNT)
            rc = get_slice(d, &c, &skip, "EVENTS column"); /* a later version's column */
        else
            rc = get_column(d, &c, (int)i, col[i], i < RT_COL_SEQ_COUNT ? 1 : RT_OP__COUNT);
    }
    /* every event has a byte in plane 0 of each seq column: the event array (about 100 bytes
     * an event) stays within a small multiple of the stream's size */
    for (int k = 0; !rc && k < RT_COL_SEQ_COUNT; k++) {
        struct cur *p0 = &col[k][0].plane[0];
        if (n > RT_WIRE_MAX_EVENTS || (n && (!col[k][0].n || n > p0->end - p0->pos)))
            rc = fail(d, RT_ERR_BUNDLE_LENGTH, at, "event count %llu exceeds the %s column",
                      (unsigned long long)n, column_names[k]);
    }
    struct rt_event *ev = rc ? NULL : dcalloc(d, (size_t)n, sizeof *ev);
    if (!rc && !ev)
        rc = NOMEM();
    uint64_t ts = 0, pid = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        uint64_t op, dur, flags, mask, ref;
        int64_t dts, dpid, dtid, result, num;
        struct rt_event *e = &ev[i];
        if ((rc = col_uvar(d, &col[RT_COL_OP][0], &op)))
            break;
        if (op >= RT_OP__COUNT) {
            rc = fail(d, RT_ERR_BUNDLE_ENUM, col[RT_COL_OP][0].at, "event %zu: op %llu", i,
                      (unsigned long long)op);
            break;
        }
        if ((rc = col_svar(d, &col[RT_COL_TS][0], &dts)) ||
            (rc = col_svar(d, &col[RT_COL_PID][0], &dpid)) ||
            (rc = col_svar(d, &col[RT_COL_TID][0], &dtid)) ||
            (rc = col_uvar(d, &col[RT_COL_DUR][op], &dur)) ||
            (rc = col_uvar(d, &col[RT_COL_FLAGS][op], &flags)) ||
            (rc = col_svar(d, &col[RT_COL_RESULT][op], &result)) ||
            (rc = col_uvar(d, &col[RT_COL_MASK][op], &mask)))
            break;
        if (mask >> (RT_EVENT_STRS + RT_EVENT_NUMS)) {
            rc = fail(d, RT_ERR_BUNDLE_ENUM, col[RT_COL_MASK][op].at, "event %zu: mask %#llx", i,
                      (unsigned long long)mask);
            break;
        }
        if (flags > UINT32_MAX) {
            rc = fail(d, RT_ERR_BUNDLE_ENUM, col[RT_COL_FLAGS][op].at, "event %zu: flags", i);
            break;
        }
        ts += (uint64_t)dts;
        pid += (uint64_t)dpid;
        e->op = (uint16_t)op;
        e->ts_ns = (int64_t)ts;
        e->dur_ns = dur;
        e->pid = (int32_t)(uint32_t)pid;
        e->tid = (int32_t)(uint32_t)(pid + (uint64_t)dtid);
        e->flags = (uint32_t)flags;
        e->result = result;
        for (int k = 0; !rc && k < RT_EVENT_STRS; k++) {
            if (!(mask & (1u << k)))
                continue;
            struct column *sc = &col[RT_COL_S0 + k][op];
            if ((rc = col_uvar(d, sc, &ref)))
                break;
            if (ref >= d->n_strings)
                rc = fail(d, RT_ERR_BUNDLE_STRING_REF, sc->at,
                          "event %zu: str[%d] refers to string %llu of %zu", i, k,
                          (unsigned long long)ref, d->n_strings);
            else
                e->str[k] = d->strings[ref];
        }
        for (int k = 0; !rc && k < RT_EVENT_NUMS; k++) {
            if (!(mask & (1u << (RT_EVENT_STRS + k))))
                continue;
            if (!(rc = col_svar(d, &col[RT_COL_N0 + k][op], &num)))
                e->num[k] = num;
        }
    }
    for (int k = 0; !rc && k < RT_COL__COUNT; k++)
        for (unsigned key = 0; !rc && key < RT_OP__COUNT; key++)
            for (unsigned p = 0; !rc && p < col[k][key].n; p++) {
                struct cur *pl = &col[k][key].plane[p];
                if (pl->pos != pl->end)
                    rc = fail(d, RT_ERR_BUNDLE_LENGTH, pl->pos,
                              "column %s has %zu bytes after the last event", column_names[k],
                              pl->end - pl->pos);
            }
    free(col);
    if (rc)
        return rc;
    d->b->events = ev;
    d->b->n_events = (size_t)n;
    return RT_OK;
}

static int dec_logs(struct dec *d, struct cur c)
{
    uint64_t n;
    int rc = get_count(d, &c, &n, 3, "LOGS count");
    if (rc)
        return rc;
    struct rt_log *logs = dcalloc(d, (size_t)n, sizeof *logs);
    if (!logs)
        return NOMEM();
    uint64_t ts = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t dts;
        uint64_t stream;
        struct cur text;
        if ((rc = get_svar(d, &c, &dts, "log ts")) || (rc = get_uvar(d, &c, &stream, "stream")))
            return rc;
        if (stream != 1 && stream != 2)
            return fail(d, RT_ERR_BUNDLE_ENUM, c.pos - 1, "log %zu: stream %llu", i,
                        (unsigned long long)stream);
        if ((rc = get_slice(d, &c, &text, "log text")))
            return rc;
        ts += (uint64_t)dts;
        logs[i].ts_ns = (int64_t)ts;
        logs[i].stream = (uint8_t)stream;
        logs[i].text.ptr = (const char *)text.base + text.pos;
        logs[i].text.len = text.end - text.pos;
    }
    d->b->logs = logs;
    d->b->n_logs = (size_t)n;
    return RT_OK;
}

/* ---- framing ---- */

struct blk {
    uint64_t type;
    size_t at; /* offset of the type byte */
    struct cur body;
};

static int decode(struct dec *d, const uint8_t *raw, size_t len, unsigned flags)
{
    struct rt_bundle *b = d->b;
    struct cur c = {raw, 0, len};
    int rc;
    size_t cmp = len < RT_WIRE_MAGIC_LEN ? len : RT_WIRE_MAGIC_LEN;
    if (memcmp(raw, RT_WIRE_MAGIC, cmp))
        return fail(d, RT_ERR_BUNDLE_MAGIC, 0, "first bytes are not \"RTRB\"");
    if (len < RT_WIRE_HEADER_LEN)
        return fail(d, RT_ERR_BUNDLE_TRUNCATED, len, "header");
    unsigned version = raw[4] | (unsigned)raw[5] << 8;
    if (version != RT_BUNDLE_VERSION)
        return fail(d, RT_ERR_BUNDLE_VERSION, 4, "version %u, this reader reads %d", version,
                    RT_BUNDLE_VERSION);
    c.pos = RT_WIRE_HEADER_LEN;

    /* Pass 1: block framing and the footer. Each block takes at least 2 bytes. */
    size_t max_blocks = (len - c.pos) / 2 + 1, n_blocks = 0;
    struct blk *blocks = malloc(max_blocks * sizeof *blocks);
    if (!blocks)
        return NOMEM();
    bool footer = false;
    rc = RT_OK;
    while (c.pos < c.end && !footer) {
        struct blk *k = &blocks[n_blocks];
        d->block = (int)n_blocks;
        k->at = c.pos;
        if ((rc = get_uvar(d, &c, &k->type, "block type")))
            break;
        uint64_t blen;
        size_t len_at = c.pos;
        if ((rc = get_uvar(d, &c, &blen, "block length")))
            break;
        if (blen > c.end - c.pos) {
            rc = fail(d, RT_ERR_BUNDLE_LENGTH, k->at, "length %llu exceeds the %zu bytes left",
                      (unsigned long long)blen, c.end - c.pos);
            break;
        }
        (void)len_at;
        k->body = (struct cur){raw, c.pos, c.pos + (size_t)blen};
        c.pos += (size_t)blen;
        if (k->type == RT_BLK_FOOTER) {
            footer = true;
            if (blen != RT_DIGEST_LEN) {
                rc = fail(d, RT_ERR_BUNDLE_LENGTH, k->at, "footer length %llu, expected %d",
                          (unsigned long long)blen, RT_DIGEST_LEN);
                break;
            }
            memcpy(b->digest, raw + k->body.pos, RT_DIGEST_LEN);
            uint8_t want[RT_DIGEST_LEN];
            rt_sha256(raw, k->at, want);
            if (!(flags & RT_BUNDLE_NO_DIGEST) && memcmp(want, b->digest, RT_DIGEST_LEN)) {
                char h1[2 * RT_DIGEST_LEN + 1], h2[2 * RT_DIGEST_LEN + 1];
                rc = fail(d, RT_ERR_BUNDLE_DIGEST, k->at, "stored %s, computed %s",
                          rt_digest_hex(b->digest, h1), rt_digest_hex(want, h2));
                break;
            }
            if (c.pos != c.end) {
                rc = fail(d, RT_ERR_BUNDLE_TRAILING, c.pos, "%zu bytes after the footer",
                          c.end - c.pos);
                break;
            }
        } else {
            n_blocks++;
        }
    }
    if (!rc && !footer) {
        d->block = -1;
        rc = fail(d, RT_ERR_BUNDLE_NO_FOOTER, len, "%zu blocks, no footer", n_blocks);
    }

    /* Pass 2: contents, in stored order. */
    unsigned seen = 0;
    for (size_t i = 0; !rc && i < n_blocks; i++) {
        struct blk *k = &blocks[i];
        d->block = (int)i;
        if (k->type < 32 && k->type != 0 && (seen & (1u << k->type))) {
            rc = fail(d, RT_ERR_BUNDLE_DUPLICATE, k->at, "block type %llu",
                      (unsigned long long)k->type);
            break;
        }
        if (k->type < 32)
            seen |= 1u << k->type;
        if (k->type != RT_BLK_META && !(seen & (1u << RT_BLK_META))) {
            rc = fail(d, RT_ERR_BUNDLE_NO_META, k->at, "block type %llu before META",
                      (unsigned long long)k->type);
            break;
        }
        switch (k->type) {
        case RT_BLK_META:
            rc = dec_meta(d, k->body);
            break;
        case RT_BLK_ENV:
            rc = dec_env(d, k->body);
            break;
        case RT_BLK_CODE:
            rc = dec_code(d, k->body);
            break;
        case RT_BLK_HEADERS:
            rc = dec_headers(d, k->body);
            break;
        case RT_BLK_EVENT:
            rc = dec_payload(d, k->body, &b->event);
            break;
        case RT_BLK_RESPONSE:
            rc = dec_payload(d, k->body, &b->response);
            break;
        case RT_BLK_ERROR:
            rc = dec_payload(d, k->body, &b->error);
            break;
        case RT_BLK_STRINGS:
            rc = dec_strings(d, k->body);
            break;
        case RT_BLK_EVENTS:
            rc = dec_events(d, k->body);
            break;
        case RT_BLK_LOGS:
            rc = dec_logs(d, k->body);
            break;
        default:
            b->unknown_blocks++;
        }
    }
    if (!rc && !(seen & (1u << RT_BLK_META))) {
        d->block = -1;
        rc = fail(d, RT_ERR_BUNDLE_NO_META, RT_WIRE_HEADER_LEN, "no META block");
    }
    free(blocks);
    return rc;
}

static struct rt_bundle *bundle_new(struct priv **pv)
{
    struct rt_bundle *b = calloc(1, sizeof *b);
    *pv = calloc(1, sizeof **pv);
    if (!b || !*pv) {
        free(b);
        free(*pv);
        return NULL;
    }
    b->priv_ = *pv;
    return b;
}

/* Takes ownership of raw (malloc'ed) in every case. */
static int decode_owned(uint8_t *raw, size_t len, unsigned flags, struct rt_bundle **out,
                        struct rt_errinfo *ei)
{
    struct priv *pv;
    struct rt_bundle *b = bundle_new(&pv);
    if (!b) {
        free(raw);
        return rt_fail(ei, RT_ERR_NOMEM, -1, "bundle");
    }
    pv->raw = raw;
    b->decompressed_len = len;
    struct dec d = {b, pv, ei, -1, NULL, 0};
    int rc = decode(&d, raw, len, flags);
    if (rc) {
        rt_bundle_free(b);
        return rc;
    }
    *out = b;
    return RT_OK;
}

int rt_bundle_decode_raw(const void *raw, size_t len, unsigned flags, struct rt_bundle **out,
                         struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!out || (!raw && len))
        return RT_ERR_INVALID_ARG;
    if (len > RT_BUNDLE_MAX_DECOMPRESSED)
        return rt_fail(ei, RT_ERR_BUNDLE_TOO_LARGE, -1, "%zu bytes", len);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return rt_fail(ei, RT_ERR_NOMEM, -1, "bundle");
    if (len)
        memcpy(copy, raw, len);
    return decode_owned(copy, len, flags, out, ei);
}

int rt_bundle_decompress(const void *buf, size_t len, uint8_t **out, size_t *out_len,
                         struct rt_errinfo *ei)
{
    static const uint8_t zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    const uint8_t *in_bytes = buf;
    if (len < 4 || memcmp(in_bytes, zmagic, 4))
        return rt_fail(ei,
                       len < 4 && !memcmp(in_bytes, zmagic, len) ? RT_ERR_BUNDLE_TRUNCATED
                                                                 : RT_ERR_BUNDLE_ZSTD,
                       -1, "not a zstd frame");
    unsigned long long fcs = ZSTD_getFrameContentSize(buf, len);
    if (fcs == ZSTD_CONTENTSIZE_ERROR)
        return rt_fail(ei, len < 18 ? RT_ERR_BUNDLE_TRUNCATED : RT_ERR_BUNDLE_ZSTD, -1,
                       "bad zstd frame header");
    /* RFC 8878 3.1.1.1.1: Content_Checksum_flag is bit 2 of the frame header descriptor */
    if (len < 5 || !(in_bytes[4] & 0x04))
        return rt_fail(ei, RT_ERR_BUNDLE_CHECKSUM, -1, "zstd frame has no content checksum");
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs > RT_BUNDLE_MAX_DECOMPRESSED)
        return rt_fail(ei, RT_ERR_BUNDLE_TOO_LARGE, -1, "frame declares %llu bytes", fcs);
    size_t cap = len < 4096 ? 65536 : len * 16;
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs + 1 < cap)
        cap = (size_t)fcs + 1;
    if (cap > RT_BUNDLE_MAX_DECOMPRESSED)
        cap = RT_BUNDLE_MAX_DECOMPRESSED;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    uint8_t *dst = malloc(cap);
    if (!dctx || !dst) {
        ZSTD_freeDCtx(dctx);
        free(dst);
        return rt_fail(ei, RT_ERR_NOMEM, -1, "decompression");
    }
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
    ZSTD_inBuffer in = {buf, len, 0};
    ZSTD_outBuffer outb = {dst, cap, 0};
    int rc = RT_OK;
    for (;;) {
        size_t ret = ZSTD_decompressStream(dctx, &outb, &in);
        if (ZSTD_isError(ret)) {
            if (ZSTD_getErrorCode(ret) == ZSTD_error_checksum_wrong)
                rc = rt_fail(ei, RT_ERR_BUNDLE_CHECKSUM, -1, "zstd content checksum");
            else
                rc = rt_fail(ei, RT_ERR_BUNDLE_ZSTD, -1, "%s", ZSTD_getErrorName(ret));
            break;
        }
        if (ret == 0) {
            if (in.pos < in.size)
                rc = rt_fail(ei, RT_ERR_BUNDLE_TRAILING, -1, "%zu bytes after the zstd frame",
                             in.size - in.pos);
            break;
        }
        if (outb.pos == outb.size) {
            if (outb.size >= RT_BUNDLE_MAX_DECOMPRESSED) {
                rc = rt_fail(ei, RT_ERR_BUNDLE_TOO_LARGE, -1, "over %u bytes decompressed",
                             RT_BUNDLE_MAX_DECOMPRESSED);
                break;
            }
            size_t ncap = outb.size * 2;
            if (ncap > RT_BUNDLE_MAX_DECOMPRESSED)
                ncap = RT_BUNDLE_MAX_DECOMPRESSED;
            uint8_t *p = realloc(dst, ncap);
            if (!p) {
                rc = rt_fail(ei, RT_ERR_NOMEM, -1, "decompression");
                break;
            }
            dst = p;
            outb.dst = p;
            outb.size = ncap;
            continue;
        }
        if (in.pos == in.size) {
            rc = rt_fail(ei, RT_ERR_BUNDLE_TRUNCATED, -1, "zstd frame ends after %zu bytes", len);
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    if (rc) {
        free(dst);
        return rc;
    }
    *out = dst;
    *out_len = outb.pos;
    return RT_OK;
}

int rt_bundle_open_mem(const void *buf, size_t len, struct rt_bundle **out, struct rt_errinfo *ei)
{
    uint8_t *raw;
    size_t raw_len;
    rt_errinfo_clear(ei);
    if (!out || (!buf && len))
        return RT_ERR_INVALID_ARG;
    int rc = rt_bundle_decompress(buf, len, &raw, &raw_len, ei);
    if (rc)
        return rc;
    rc = decode_owned(raw, raw_len, 0, out, ei);
    if (!rc)
        (*out)->compressed_len = len;
    return rc;
}

int rt_bundle_read_file(const char *path, uint8_t **out, size_t *out_len, struct rt_errinfo *ei)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_fail(ei, RT_ERR_IO, -1, "%s", strerror(errno));
    size_t cap = 65536, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = RT_OK;
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = rt_fail(ei, RT_ERR_IO, -1, "%s", strerror(errno));
            break;
        }
        if (len == cap) {
            if (cap >= RT_BUNDLE_MAX_DECOMPRESSED) {
                rc = rt_fail(ei, RT_ERR_BUNDLE_TOO_LARGE, -1, "file over %u bytes",
                             RT_BUNDLE_MAX_DECOMPRESSED);
                break;
            }
            uint8_t *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (!rc && !buf)
        rc = rt_fail(ei, RT_ERR_NOMEM, -1, "reading file");
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return RT_OK;
}

int rt_bundle_open_file(const char *path, struct rt_bundle **out, struct rt_errinfo *ei)
{
    uint8_t *buf;
    size_t len;
    rt_errinfo_clear(ei);
    if (!path || !out)
        return RT_ERR_INVALID_ARG;
    int rc = rt_bundle_read_file(path, &buf, &len, ei);
    if (rc)
        return rc;
    rc = rt_bundle_open_mem(buf, len, out, ei);
    free(buf);
    return rc;
}

void rt_bundle_free(struct rt_bundle *b)
{
    if (!b)
        return;
    struct priv *pv = b->priv_;
    if (pv) {
        for (size_t i = 0; i < pv->n_allocs; i++)
            free(pv->allocs[i]);
        free(pv->allocs);
        free(pv->raw);
        free(pv);
    }
    free(b);
}
