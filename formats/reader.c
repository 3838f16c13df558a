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
    size_t total_events; /* sum of the EVENTS counts (framing pass) */
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

/* A stored string as a C string. A NUL byte inside it (a crafted or foreign bundle: the
 * writer takes C strings) becomes U+FFFD, so the string is never cut short without a trace. */
static char *dstr(struct dec *d, const uint8_t *s, size_t len)
{
    size_t nuls = 0;
    for (const uint8_t *z = s; (z = memchr(z, 0, len - (size_t)(z - s))); z++)
        nuls++;
    char *p = track(d, malloc(len + 2 * nuls + 1));
    if (p) {
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i]) {
                p[o++] = (char)s[i];
            } else {
                memcpy(p + o, "\xef\xbf\xbd", 3);
                o += 3;
            }
        }
        p[o] = '\0';
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

/* Makes room for element n of a growing array (doubling). Returns 0, or -1 out of memory. */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, ncap * size);
    if (!q)
        return -1;
    *p = q;
    *cap = ncap;
    return 0;
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
        if (id == RT_META_ID_status && u >= RT_STATUS__COUNT)
            return fail(d, RT_ERR_BUNDLE_ENUM, v.pos, "status %llu", (unsigned long long)u);
        if (id == RT_META_ID_cold_start && u > 1)
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

/* One EVENTS block being decoded: its column streams and where each stands. Every chunk
 * starts its ts/pid deltas from 0, so a chunk decodes on its own. */
struct chunk {
    size_t n, i;  /* events in the block, next one */
    size_t first; /* index in the bundle of the block's first event */
    uint64_t ts, pid;
    struct column col[RT_COL__COUNT][RT_OP__COUNT]; /* seq columns use [col][0] */
};

/* Parses the header and the column streams of an EVENTS block body. `budget` is the number of
 * events the bundle may still hold (RT_BUNDLE_MAX_EVENTS minus the earlier chunks'). */
static int chunk_open(struct dec *d, struct cur c, size_t first, size_t budget, struct chunk *ch)
{
    uint64_t n, ncols;
    size_t at = c.pos;
    memset(ch, 0, sizeof *ch);
    ch->first = first;
    int rc = get_uvar(d, &c, &n, "EVENTS count");
    if (!rc)
        rc = get_uvar(d, &c, &ncols, "EVENTS column count");
    if (rc)
        return rc;
    if (n > budget)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at,
                    "%llu events, over the reader's limit of %u events per bundle",
                    (unsigned long long)(n + first), RT_BUNDLE_MAX_EVENTS);
    if (ncols < RT_COL__COUNT)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at, "%llu columns, expected at least %d",
                    (unsigned long long)ncols, RT_COL__COUNT);
    for (uint64_t i = 0; i < ncols && !rc; i++) {
        struct cur skip;
        if (i >= RT_COL__COUNT)
            rc = get_slice(d, &c, &skip, "EVENTS column"); /* a later version's column */
        else
            rc = get_column(d, &c, (int)i, ch->col[i], i < RT_COL_SEQ_COUNT ? 1 : RT_OP__COUNT);
    }
    /* every event has a byte in plane 0 of each seq column: the event array (about 100 bytes
     * an event) stays within a small multiple of the stream's size */
    for (int k = 0; !rc && k < RT_COL_SEQ_COUNT; k++) {
        struct cur *p0 = &ch->col[k][0].plane[0];
        if (n && (!ch->col[k][0].n || n > p0->end - p0->pos))
            rc = fail(d, RT_ERR_BUNDLE_LENGTH, at, "event count %llu exceeds the %s column",
                      (unsigned long long)n, column_names[k]);
    }
    ch->n = (size_t)n;
    return rc;
}

/* Decodes the chunk's next event into *e (strings point into the stream). */
static int chunk_event(struct dec *d, struct chunk *ch, struct rt_event *e)
{
    struct column(*col)[RT_OP__COUNT] = ch->col;
    size_t i = ch->first + ch->i;
    uint64_t op, dur, flags, mask, ref;
    int64_t dts, dpid, dtid, result, num;
    int rc;
    memset(e, 0, sizeof *e);
    if ((rc = col_uvar(d, &col[RT_COL_OP][0], &op)))
        return rc;
    if (op >= RT_OP__COUNT)
        return fail(d, RT_ERR_BUNDLE_ENUM, col[RT_COL_OP][0].at, "event %zu: op %llu", i,
                    (unsigned long long)op);
    if ((rc = col_svar(d, &col[RT_COL_TS][0], &dts)) ||
        (rc = col_svar(d, &col[RT_COL_PID][0], &dpid)) ||
        (rc = col_svar(d, &col[RT_COL_TID][0], &dtid)) ||
        (rc = col_uvar(d, &col[RT_COL_DUR][op], &dur)) ||
        (rc = col_uvar(d, &col[RT_COL_FLAGS][op], &flags)) ||
        (rc = col_svar(d, &col[RT_COL_RESULT][op], &result)) ||
        (rc = col_uvar(d, &col[RT_COL_MASK][op], &mask)))
        return rc;
    if (mask >> (RT_EVENT_STRS + RT_EVENT_NUMS))
        return fail(d, RT_ERR_BUNDLE_ENUM, col[RT_COL_MASK][op].at, "event %zu: mask %#llx", i,
                    (unsigned long long)mask);
    if (flags > UINT32_MAX)
        return fail(d, RT_ERR_BUNDLE_ENUM, col[RT_COL_FLAGS][op].at, "event %zu: flags", i);
    ch->ts += (uint64_t)dts;
    ch->pid += (uint64_t)dpid;
    e->op = (uint16_t)op;
    e->ts_ns = (int64_t)ch->ts;
    e->dur_ns = dur;
    e->pid = (int32_t)(uint32_t)ch->pid;
    e->tid = (int32_t)(uint32_t)(ch->pid + (uint64_t)dtid);
    e->flags = (uint32_t)flags;
    e->result = result;
    for (int k = 0; k < RT_EVENT_STRS; k++) {
        if (!(mask & (1u << k)))
            continue;
        struct column *sc = &col[RT_COL_S0 + k][op];
        if ((rc = col_uvar(d, sc, &ref)))
            return rc;
        if (ref >= d->n_strings)
            return fail(d, RT_ERR_BUNDLE_STRING_REF, sc->at,
                        "event %zu: str[%d] refers to string %llu of %zu", i, k,
                        (unsigned long long)ref, d->n_strings);
        e->str[k] = d->strings[ref];
    }
    for (int k = 0; k < RT_EVENT_NUMS; k++) {
        if (!(mask & (1u << (RT_EVENT_STRS + k))))
            continue;
        if ((rc = col_svar(d, &col[RT_COL_N0 + k][op], &num)))
            return rc;
        e->num[k] = num;
    }
    ch->i++;
    return RT_OK;
}

/* After the chunk's last event every plane must be consumed. */
static int chunk_close(struct dec *d, const struct chunk *ch)
{
    for (int k = 0; k < RT_COL__COUNT; k++)
        for (unsigned key = 0; key < RT_OP__COUNT; key++)
            for (unsigned p = 0; p < ch->col[k][key].n; p++) {
                const struct cur *pl = &ch->col[k][key].plane[p];
                if (pl->pos != pl->end)
                    return fail(d, RT_ERR_BUNDLE_LENGTH, pl->pos,
                                "column %s has %zu bytes after the last event", column_names[k],
                                pl->end - pl->pos);
            }
    return RT_OK;
}

/* An EVENTS block (one chunk) appended to b->events, allocated for d->total_events. */
static int dec_events(struct dec *d, struct cur c)
{
    struct rt_bundle *b = d->b;
    struct chunk *ch = malloc(sizeof *ch);
    if (!ch)
        return NOMEM();
    int rc = chunk_open(d, c, b->n_events, RT_BUNDLE_MAX_EVENTS - b->n_events, ch);
    if (!rc && ch->n > d->total_events - b->n_events)
        rc = fail(d, RT_ERR_BUNDLE_LENGTH, c.pos, "EVENTS count changed"); /* not reached */
    if (!rc && !b->events && !(b->events = dcalloc(d, d->total_events, sizeof *b->events)))
        rc = NOMEM();
    while (!rc && ch->i < ch->n)
        if (!(rc = chunk_event(d, ch, &b->events[b->n_events])))
            b->n_events++;
    if (!rc)
        rc = chunk_close(d, ch);
    free(ch);
    return rc;
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

/* Framing pass: adds an EVENTS block's count to *total. Refuses a bundle declaring more than
 * RT_BUNDLE_MAX_EVENTS, or more events than the block has bytes (each event takes at least
 * one byte in each of the RT_COL_SEQ_COUNT seq columns), before anything is allocated. */
static int count_events(struct dec *d, struct cur body, size_t *total)
{
    uint64_t n;
    size_t at = body.pos, len = body.end - body.pos;
    int rc = get_uvar(d, &body, &n, "EVENTS count");
    if (rc)
        return rc;
    if (n > RT_BUNDLE_MAX_EVENTS - *total)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at,
                    "%llu events, over the reader's limit of %u events per bundle",
                    (unsigned long long)(n + *total), RT_BUNDLE_MAX_EVENTS);
    if (n > len / RT_COL_SEQ_COUNT)
        return fail(d, RT_ERR_BUNDLE_LENGTH, at, "%llu events in a block of %zu bytes",
                    (unsigned long long)n, len);
    *total += (size_t)n;
    return RT_OK;
}

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
    if (version < 1 || version > RT_BUNDLE_VERSION)
        return fail(d, RT_ERR_BUNDLE_VERSION, 4, "version %u, this reader reads 1 to %d", version,
                    RT_BUNDLE_VERSION);
    c.pos = RT_WIRE_HEADER_LEN;

    /* Pass 1: block framing and the footer. Each block takes at least 2 bytes, so the array
     * grows to at most len / 2 entries, as blocks are found. */
    size_t cap_blocks = 0, n_blocks = 0;
    struct blk *blocks = NULL;
    bool footer = false;
    rc = RT_OK;
    while (c.pos < c.end && !footer) {
        if (grow((void **)&blocks, &cap_blocks, n_blocks, sizeof *blocks)) {
            rc = NOMEM();
            break;
        }
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
        if (k->type == RT_BLK_EVENTS && (rc = count_events(d, k->body, &d->total_events)))
            break;
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
        bool repeats = k->type == RT_BLK_EVENTS && version >= 2; /* chunks */
        if (k->type < 32 && k->type != 0 && (seen & (1u << k->type)) && !repeats) {
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
        if ((flags & RT_BUNDLE_NO_EVENTS) &&
            (k->type == RT_BLK_STRINGS || k->type == RT_BLK_EVENTS || k->type == RT_BLK_LOGS))
            continue;
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
    struct dec d = {b, pv, ei, -1, NULL, 0, 0};
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
    return rt_bundle_open_mem_flags(buf, len, 0, out, ei);
}

int rt_bundle_open_mem_flags(const void *buf, size_t len, unsigned flags, struct rt_bundle **out,
                             struct rt_errinfo *ei)
{
    uint8_t *raw;
    size_t raw_len;
    rt_errinfo_clear(ei);
    if (!out || (!buf && len))
        return RT_ERR_INVALID_ARG;
    int rc = rt_bundle_decompress(buf, len, &raw, &raw_len, ei);
    if (rc)
        return rc;
    rc = decode_owned(raw, raw_len, flags & RT_BUNDLE_NO_EVENTS, out, ei);
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
    return rt_bundle_open_file_flags(path, 0, out, ei);
}

int rt_bundle_open_file_flags(const char *path, unsigned flags, struct rt_bundle **out,
                              struct rt_errinfo *ei)
{
    uint8_t *buf;
    size_t len;
    rt_errinfo_clear(ei);
    if (!path || !out)
        return RT_ERR_INVALID_ARG;
    int rc = rt_bundle_read_file(path, &buf, &len, ei);
    if (rc)
        return rc;
    rc = rt_bundle_open_mem_flags(buf, len, flags, out, ei);
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

/* ---- event cursor ---- */

/* An EVENTS block seen by the cursor. */
struct chunk_at {
    struct cur body;
    size_t first, n;
    int block;
};

/* Where decoding stood before event `first + i` of chunk `chunk`: the plane positions of the
 * chunk's streams (in get_column order) from pos[pos_off] on. */
struct checkpoint {
    size_t chunk, i, pos_off;
    uint64_t ts, pid;
};

struct rt_cursor {
    struct rt_bundle *b;
    struct priv *pv;
    struct dec d;
    struct rt_errinfo dei; /* d.ei: errors of the decoders */
    /* input */
    FILE *f;
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    uint8_t *in;
    size_t in_cap, in_total; /* in_total: compressed bytes read */
    ZSTD_inBuffer zin;
    ZSTD_DCtx *dctx;
    bool frame_done;
    int zerr; /* sticky zstd/input error (with zei) once the frame cannot go on */
    struct rt_errinfo zei;
    /* the decompressed stream so far: pv->raw[0..raw_len) of raw_cap (the frame's size) */
    size_t raw_len, raw_cap;
    size_t pos; /* next block to frame */
    unsigned version, seen;
    int n_blocks;
    bool footer; /* the footer was reached (and checked) */
    /* events */
    struct chunk_at *chunks;
    size_t n_chunks, cap_chunks;
    struct chunk *ch; /* the chunk being decoded (ch_idx), NULL before the first */
    size_t ch_idx;
    size_t next;     /* index of the next event returned */
    size_t frontier; /* events decoded at least once */
    struct checkpoint *cps;
    size_t n_cps, cap_cps;
    uint32_t *cp_pos;
    size_t n_cp_pos, cap_cp_pos;
    struct rt_event ev;
    /* the end: state, or the damage and where it is */
    enum rt_cursor_state state;
    int err;
    struct rt_errinfo err_ei;
};

/* Feeds the decompressor until raw_len >= need or the frame ends. Returns RT_OK when the bytes
 * are there, else the input's error (truncated, zstd, checksum, I/O) in c->zerr/zei. */
static int ensure(struct rt_cursor *c, size_t need)
{
    while (c->raw_len < need && !c->frame_done && !c->zerr) {
        if (c->zin.pos == c->zin.size) {
            size_t got = 0;
            if (c->f) {
                got = fread(c->in, 1, c->in_cap, c->f);
                if (!got && ferror(c->f))
                    c->zerr = rt_fail(&c->zei, RT_ERR_IO, -1, "%s", strerror(errno));
            } else {
                got = c->mem_len - c->mem_pos < c->in_cap ? c->mem_len - c->mem_pos : c->in_cap;
                memcpy(c->in, c->mem + c->mem_pos, got);
                c->mem_pos += got;
            }
            c->in_total += got;
            if (!got && !c->zerr)
                c->zerr = rt_fail(&c->zei, RT_ERR_BUNDLE_TRUNCATED, -1,
                                  "zstd frame ends after %zu bytes", c->in_total);
            if (c->zerr)
                break;
            c->zin = (ZSTD_inBuffer){c->in, got, 0};
        }
        ZSTD_outBuffer o = {c->pv->raw, c->raw_cap, c->raw_len};
        size_t in_before = c->zin.pos;
        size_t ret = ZSTD_decompressStream(c->dctx, &o, &c->zin);
        c->raw_len = o.pos;
        if (ZSTD_isError(ret)) {
            c->zerr = ZSTD_getErrorCode(ret) == ZSTD_error_checksum_wrong
                          ? rt_fail(&c->zei, RT_ERR_BUNDLE_CHECKSUM, -1, "zstd content checksum")
                          : rt_fail(&c->zei, RT_ERR_BUNDLE_ZSTD, -1, "%s", ZSTD_getErrorName(ret));
        } else if (ret == 0) {
            c->frame_done = true;
            bool more =
                c->zin.pos < c->zin.size || (c->f ? fgetc(c->f) != EOF : c->mem_pos < c->mem_len);
            if (more)
                c->zerr = rt_fail(&c->zei, RT_ERR_BUNDLE_TRAILING, -1, "data after the zstd frame");
        } else if (o.pos == o.size && c->zin.pos == in_before && c->zin.pos < c->zin.size) {
            c->zerr = rt_fail(&c->zei, RT_ERR_BUNDLE_ZSTD, -1,
                              "frame holds more than its declared %zu bytes", c->raw_cap);
        }
    }
    if (c->raw_len >= need)
        return RT_OK;
    if (c->zerr)
        return c->zerr;
    return rt_fail(&c->zei, RT_ERR_BUNDLE_TRUNCATED, (int64_t)c->raw_len, "stream ends");
}

/* Records the damage: later calls at this position return it. */
static int damage(struct rt_cursor *c, int rc, const struct rt_errinfo *from)
{
    if (!c->err) {
        c->err = rc;
        if (from)
            c->err_ei = *from;
        c->state = rc == RT_ERR_BUNDLE_DIGEST || rc == RT_ERR_BUNDLE_CHECKSUM ? RT_CURSOR_MISMATCH
                                                                              : RT_CURSOR_DAMAGED;
    }
    return c->err;
}

static int copy_err(struct rt_cursor *c, struct rt_errinfo *ei)
{
    if (ei)
        *ei = c->err_ei;
    return c->err;
}

/* Frames and decodes the next block at c->pos. Stops after an EVENTS block (appended to
 * c->chunks) or the footer; other blocks are decoded into c->b. */
static int next_block(struct rt_cursor *c)
{
    struct dec *d = &c->d;
    if (c->err)
        return c->err;
    size_t at = c->pos;
    d->block = c->n_blocks;
    int rc = ensure(c, at + 20 < c->raw_cap ? at + 20 : c->raw_cap);
    if (rc && c->raw_len <= at) {
        if (rc == RT_ERR_BUNDLE_TRUNCATED && c->frame_done) {
            d->block = -1;
            rc = fail(d, RT_ERR_BUNDLE_NO_FOOTER, at, "%d blocks, no footer", c->n_blocks);
            return damage(c, rc, &c->dei);
        }
        return damage(c, rc, &c->zei); /* a frame-level error: no block */
    }
    const uint8_t *raw = c->pv->raw;
    struct cur hc = {raw, at, c->raw_len};
    uint64_t type, blen;
    if ((rc = get_uvar(d, &hc, &type, "block type")) ||
        (rc = get_uvar(d, &hc, &blen, "block length")))
        return damage(c, rc, &c->dei);
    if (blen > c->raw_cap - hc.pos) {
        rc = fail(d, RT_ERR_BUNDLE_LENGTH, at, "length %llu exceeds the %zu bytes left",
                  (unsigned long long)blen, c->raw_cap - hc.pos);
        return damage(c, rc, &c->dei);
    }
    size_t body_end = hc.pos + (size_t)blen;
    if (type == RT_BLK_EVENTS && blen) { /* the count is checked before the body is read */
        size_t total = 0;
        struct cur head = {raw, hc.pos, hc.pos};
        ensure(c, hc.pos + (blen < 10 ? blen : 10));
        head.end = c->raw_len < body_end ? c->raw_len : body_end;
        uint64_t n;
        if (rt_varint_get(raw + head.pos, head.end - head.pos, &n) > 0) {
            if (c->n_chunks)
                total = c->chunks[c->n_chunks - 1].first + c->chunks[c->n_chunks - 1].n;
            head.end = body_end; /* count_events compares with the whole block's length */
            if ((rc = count_events(d, head, &total)))
                return damage(c, rc, &c->dei);
        }
    }
    if ((rc = ensure(c, body_end))) {
        if (c->zerr)
            return damage(c, rc, &c->zei);
        rc = fail(d, RT_ERR_BUNDLE_TRUNCATED, at, "block of %llu bytes", (unsigned long long)blen);
        return damage(c, rc, &c->dei);
    }
    struct cur body = {raw, hc.pos, body_end};
    c->pos = body_end;
    c->n_blocks++;
    if (type == RT_BLK_FOOTER) {
        uint8_t want[RT_DIGEST_LEN];
        if (blen != RT_DIGEST_LEN) {
            rc = fail(d, RT_ERR_BUNDLE_LENGTH, at, "footer length %llu, expected %d",
                      (unsigned long long)blen, RT_DIGEST_LEN);
            return damage(c, rc, &c->dei);
        }
        memcpy(c->b->digest, raw + body.pos, RT_DIGEST_LEN);
        rt_sha256(raw, at, want);
        if (memcmp(want, c->b->digest, RT_DIGEST_LEN)) {
            char h1[2 * RT_DIGEST_LEN + 1], h2[2 * RT_DIGEST_LEN + 1];
            rc = fail(d, RT_ERR_BUNDLE_DIGEST, at, "stored %s, computed %s",
                      rt_digest_hex(c->b->digest, h1), rt_digest_hex(want, h2));
            return damage(c, rc, &c->dei);
        }
        /* the frame must end here, its checksum verified, nothing after it */
        if ((rc = ensure(c, body_end + 1)) == RT_OK) {
            rc = fail(d, RT_ERR_BUNDLE_TRAILING, body_end, "%zu bytes after the footer",
                      c->raw_len - body_end);
            return damage(c, rc, &c->dei);
        }
        if (c->zerr)
            return damage(c, c->zerr, &c->zei);
        c->footer = true;
        if (!(c->seen & (1u << RT_BLK_META))) {
            d->block = -1;
            rc = fail(d, RT_ERR_BUNDLE_NO_META, RT_WIRE_HEADER_LEN, "no META block");
            return damage(c, rc, &c->dei);
        }
        c->state = RT_CURSOR_VERIFIED;
        c->b->decompressed_len = c->raw_len;
        c->b->compressed_len = c->in_total;
        return RT_OK;
    }
    bool repeats = type == RT_BLK_EVENTS && c->version >= 2;
    if (type < 32 && type != 0 && (c->seen & (1u << type)) && !repeats) {
        rc = fail(d, RT_ERR_BUNDLE_DUPLICATE, at, "block type %llu", (unsigned long long)type);
        return damage(c, rc, &c->dei);
    }
    if (type < 32)
        c->seen |= 1u << type;
    if (type != RT_BLK_META && !(c->seen & (1u << RT_BLK_META))) {
        rc = fail(d, RT_ERR_BUNDLE_NO_META, at, "block type %llu before META",
                  (unsigned long long)type);
        return damage(c, rc, &c->dei);
    }
    switch (type) {
    case RT_BLK_META:
        rc = dec_meta(d, body);
        break;
    case RT_BLK_ENV:
        rc = dec_env(d, body);
        break;
    case RT_BLK_CODE:
        rc = dec_code(d, body);
        break;
    case RT_BLK_HEADERS:
        rc = dec_headers(d, body);
        break;
    case RT_BLK_EVENT:
        rc = dec_payload(d, body, &c->b->event);
        break;
    case RT_BLK_RESPONSE:
        rc = dec_payload(d, body, &c->b->response);
        break;
    case RT_BLK_ERROR:
        rc = dec_payload(d, body, &c->b->error);
        break;
    case RT_BLK_STRINGS:
        rc = dec_strings(d, body);
        break;
    case RT_BLK_LOGS:
        rc = dec_logs(d, body);
        break;
    case RT_BLK_EVENTS: {
        size_t total =
            c->n_chunks ? c->chunks[c->n_chunks - 1].first + c->chunks[c->n_chunks - 1].n : 0;
        size_t before = total;
        if ((rc = count_events(d, body, &total)))
            break;
        if (grow((void **)&c->chunks, &c->cap_chunks, c->n_chunks, sizeof *c->chunks)) {
            rc = NOMEM();
            break;
        }
        c->chunks[c->n_chunks++] = (struct chunk_at){body, before, total - before, d->block};
        break;
    }
    default:
        c->b->unknown_blocks++;
    }
    if (rc)
        return damage(c, rc, &c->dei);
    return RT_OK;
}

/* Opens chunk k into c->ch (the stream is there: the block was framed). */
static int load_chunk(struct rt_cursor *c, size_t k)
{
    const struct chunk_at *ca = &c->chunks[k];
    c->d.block = ca->block;
    int rc = chunk_open(&c->d, ca->body, ca->first, RT_BUNDLE_MAX_EVENTS - ca->first, c->ch);
    if (!rc && c->ch->n != ca->n)
        rc = fail(&c->d, RT_ERR_BUNDLE_LENGTH, ca->body.pos, "EVENTS count"); /* not reached */
    c->ch_idx = k;
    return rc;
}

static int save_checkpoint(struct rt_cursor *c)
{
    const struct chunk *ch = c->ch;
    if (grow((void **)&c->cps, &c->cap_cps, c->n_cps, sizeof *c->cps))
        return RT_ERR_NOMEM;
    c->cps[c->n_cps] = (struct checkpoint){c->ch_idx, ch->i, c->n_cp_pos, ch->ts, ch->pid};
    for (int k = 0; k < RT_COL__COUNT; k++)
        for (unsigned key = 0; key < RT_OP__COUNT; key++)
            for (unsigned p = 0; p < ch->col[k][key].n; p++) {
                if (grow((void **)&c->cp_pos, &c->cap_cp_pos, c->n_cp_pos, sizeof *c->cp_pos))
                    return RT_ERR_NOMEM;
                c->cp_pos[c->n_cp_pos++] = (uint32_t)ch->col[k][key].plane[p].pos;
            }
    c->n_cps++;
    return RT_OK;
}

static int restore_checkpoint(struct rt_cursor *c, const struct checkpoint *cp)
{
    int rc = load_chunk(c, cp->chunk);
    if (rc)
        return rc; /* not reached: the chunk opened before */
    struct chunk *ch = c->ch;
    const uint32_t *pos = c->cp_pos + cp->pos_off;
    for (int k = 0; k < RT_COL__COUNT; k++)
        for (unsigned key = 0; key < RT_OP__COUNT; key++)
            for (unsigned p = 0; p < ch->col[k][key].n; p++)
                ch->col[k][key].plane[p].pos = *pos++;
    ch->i = cp->i;
    ch->ts = cp->ts;
    ch->pid = cp->pid;
    return RT_OK;
}

/* Decodes event c->next into c->ev, framing more blocks when the chunk is done. Sets *end at
 * the end of the bundle. */
static int step(struct rt_cursor *c, bool *end)
{
    *end = false;
    if (c->err && c->next >= c->frontier)
        return c->err;
    while (!c->ch || c->ch->i == c->ch->n) {
        int rc;
        if (c->ch && c->ch->first + c->ch->n == c->frontier && (rc = chunk_close(&c->d, c->ch)))
            return damage(c, rc, &c->dei);
        size_t k = c->ch ? c->ch_idx + 1 : 0;
        while (k >= c->n_chunks && !c->footer)
            if ((rc = next_block(c)))
                return rc;
        if (k >= c->n_chunks) {
            *end = true;
            return RT_OK;
        }
        if (!c->ch && !(c->ch = malloc(sizeof *c->ch)))
            return damage(c, fail(&c->d, RT_ERR_NOMEM, 0, "cursor"), &c->dei);
        if ((rc = load_chunk(c, k)))
            return damage(c, rc, &c->dei);
    }
    bool fresh = c->next == c->frontier;
    int rc;
    if (fresh && c->ch->i % RT_CURSOR_CHECKPOINT == 0 && (rc = save_checkpoint(c)))
        return damage(c, fail(&c->d, rc, 0, "cursor checkpoint"), &c->dei);
    c->d.block = c->chunks[c->ch_idx].block;
    if ((rc = chunk_event(&c->d, c->ch, &c->ev)))
        return damage(c, rc, &c->dei);
    c->next++;
    if (fresh)
        c->frontier++;
    return RT_OK;
}

int rt_cursor_next(struct rt_cursor *c, const struct rt_event **ev, struct rt_errinfo *ei)
{
    bool end;
    rt_errinfo_clear(ei);
    if (!c || !ev)
        return RT_ERR_INVALID_ARG;
    *ev = NULL;
    int rc = step(c, &end);
    if (rc)
        return copy_err(c, ei);
    if (!end)
        *ev = &c->ev;
    return RT_OK;
}

int rt_cursor_seek(struct rt_cursor *c, size_t index, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!c)
        return RT_ERR_INVALID_ARG;
    if (index < c->frontier) {
        size_t lo = 0, hi = c->n_cps; /* the last checkpoint at or before index */
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            const struct checkpoint *cp = &c->cps[mid];
            if (c->chunks[cp->chunk].first + cp->i <= index)
                lo = mid;
            else
                hi = mid;
        }
        const struct checkpoint *cp = &c->cps[lo];
        if (!c->ch && !(c->ch = malloc(sizeof *c->ch)))
            return rt_fail(ei, RT_ERR_NOMEM, -1, "cursor");
        int rc = restore_checkpoint(c, cp);
        if (rc)
            return rc;
        c->next = c->chunks[cp->chunk].first + cp->i;
    }
    while (c->next < index) {
        bool end;
        int rc = step(c, &end);
        if (rc)
            return copy_err(c, ei);
        if (end)
            return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "event %zu: the bundle has %zu events",
                           index, c->frontier);
    }
    return RT_OK;
}

size_t rt_cursor_tell(const struct rt_cursor *c)
{
    return c ? c->next : 0;
}

size_t rt_cursor_known(const struct rt_cursor *c, bool *complete)
{
    if (complete)
        *complete =
            c && c->footer &&
            c->frontier ==
                (c->n_chunks ? c->chunks[c->n_chunks - 1].first + c->chunks[c->n_chunks - 1].n : 0);
    return c ? c->frontier : 0;
}

enum rt_cursor_state rt_cursor_state(const struct rt_cursor *c)
{
    return c ? c->state : RT_CURSOR_DAMAGED;
}

const struct rt_bundle *rt_cursor_bundle(const struct rt_cursor *c)
{
    return c ? c->b : NULL;
}

void rt_cursor_free(struct rt_cursor *c)
{
    if (!c)
        return;
    rt_bundle_free(c->b);
    if (c->f)
        fclose(c->f);
    free(c->in);
    ZSTD_freeDCtx(c->dctx);
    free(c->chunks);
    free(c->ch);
    free(c->cps);
    free(c->cp_pos);
    free(c);
}

/* Common part of the two opens: c->f or c->mem is set. */
static int cursor_start(struct rt_cursor *c, struct rt_errinfo *ei)
{
    static const uint8_t zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    uint8_t head[4] = {0};
    size_t hlen;
    c->in_cap = ZSTD_DStreamInSize();
    c->in = malloc(c->in_cap);
    c->dctx = ZSTD_createDCtx();
    c->b = bundle_new(&c->pv);
    if (!c->in || !c->dctx || !c->b)
        return rt_fail(ei, RT_ERR_NOMEM, -1, "cursor");
    ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_windowLogMax, 27);
    c->d = (struct dec){c->b, c->pv, &c->dei, -1, NULL, 0, 0};
    /* the frame header: the content size sizes the stream buffer once, so event strings
     * pointing into it never move */
    if (c->f) {
        hlen = fread(c->in, 1, c->in_cap, c->f);
        if (!hlen && ferror(c->f))
            return rt_fail(ei, RT_ERR_IO, -1, "%s", strerror(errno));
    } else {
        hlen = c->mem_len < c->in_cap ? c->mem_len : c->in_cap;
        memcpy(c->in, c->mem, hlen);
        c->mem_pos = hlen;
    }
    c->zin = (ZSTD_inBuffer){c->in, hlen, 0};
    c->in_total = hlen;
    memcpy(head, c->in, hlen < 4 ? hlen : 4);
    if (hlen < 4 || memcmp(head, zmagic, 4))
        return rt_fail(ei,
                       hlen < 4 && !memcmp(head, zmagic, hlen) ? RT_ERR_BUNDLE_TRUNCATED
                                                               : RT_ERR_BUNDLE_ZSTD,
                       -1, "not a zstd frame");
    unsigned long long fcs = ZSTD_getFrameContentSize(c->in, hlen);
    if (fcs == ZSTD_CONTENTSIZE_ERROR)
        return rt_fail(ei, hlen < 18 ? RT_ERR_BUNDLE_TRUNCATED : RT_ERR_BUNDLE_ZSTD, -1,
                       "bad zstd frame header");
    if (hlen < 5 || !(c->in[4] & 0x04))
        return rt_fail(ei, RT_ERR_BUNDLE_CHECKSUM, -1, "zstd frame has no content checksum");
    if (fcs == ZSTD_CONTENTSIZE_UNKNOWN) {
        /* a frame without its size (not written by runtrail): decompressed up front */
        uint8_t *all = NULL;
        size_t all_len = 0;
        int rc;
        if (c->f) { /* what was read, then the rest of the file */
            size_t cap = hlen * 2 + 65536, len = hlen;
            uint8_t *buf = malloc(cap);
            rc = buf ? RT_OK : rt_fail(ei, RT_ERR_NOMEM, -1, "reading the bundle");
            if (buf)
                memcpy(buf, c->in, hlen);
            while (!rc) {
                size_t n = fread(buf + len, 1, cap - len, c->f);
                len += n;
                if (!n)
                    break;
                if (len < cap)
                    continue;
                uint8_t *p = cap < RT_BUNDLE_MAX_DECOMPRESSED ? realloc(buf, cap * 2) : NULL;
                if (!p)
                    rc = rt_fail(ei, RT_ERR_BUNDLE_TOO_LARGE, -1, "file over %u bytes",
                                 RT_BUNDLE_MAX_DECOMPRESSED);
                else
                    buf = p, cap *= 2;
            }
            if (!rc)
                rc = rt_bundle_decompress(buf, len, &all, &all_len, ei);
            free(buf);
        } else {
            rc = rt_bundle_decompress(c->mem, c->mem_len, &all, &all_len, ei);
        }
        if (rc)
            return rc;
        c->pv->raw = all;
        c->raw_len = c->raw_cap = all_len;
        c->frame_done = true;
    } else {
        if (fcs > RT_BUNDLE_MAX_DECOMPRESSED)
            return rt_fail(ei, RT_ERR_BUNDLE_TOO_LARGE, -1, "frame declares %llu bytes", fcs);
        c->raw_cap = (size_t)fcs;
        if (!(c->pv->raw = malloc(c->raw_cap ? c->raw_cap : 1)))
            return rt_fail(ei, RT_ERR_NOMEM, -1, "cursor: %zu bytes", c->raw_cap);
    }
    /* the header, then every block up to the first EVENTS block (or the footer) */
    int rc = ensure(c, c->raw_cap < RT_WIRE_HEADER_LEN ? c->raw_cap : RT_WIRE_HEADER_LEN);
    const uint8_t *raw = c->pv->raw;
    size_t cmp = c->raw_len < RT_WIRE_MAGIC_LEN ? c->raw_len : RT_WIRE_MAGIC_LEN;
    if (memcmp(raw, RT_WIRE_MAGIC, cmp))
        return rt_fail(ei, RT_ERR_BUNDLE_MAGIC, 0, "first bytes are not \"RTRB\"");
    if (rc || c->raw_len < RT_WIRE_HEADER_LEN) {
        if (ei && rc) {
            *ei = c->zei;
            return rc;
        }
        return rt_fail(ei, RT_ERR_BUNDLE_TRUNCATED, (int64_t)c->raw_len, "header");
    }
    c->version = raw[4] | (unsigned)raw[5] << 8;
    if (c->version < 1 || c->version > RT_BUNDLE_VERSION)
        return rt_fail(ei, RT_ERR_BUNDLE_VERSION, 4, "version %u, this reader reads 1 to %d",
                       c->version, RT_BUNDLE_VERSION);
    c->pos = RT_WIRE_HEADER_LEN;
    while (!c->n_chunks && !c->footer)
        if ((rc = next_block(c)))
            return copy_err(c, ei);
    return RT_OK;
}

static int cursor_open(FILE *f, const void *buf, size_t len, struct rt_cursor **out,
                       struct rt_errinfo *ei)
{
    struct rt_cursor *c = calloc(1, sizeof *c);
    if (!c) {
        if (f)
            fclose(f);
        return rt_fail(ei, RT_ERR_NOMEM, -1, "cursor");
    }
    c->f = f;
    c->mem = buf;
    c->mem_len = len;
    int rc = cursor_start(c, ei);
    if (rc) {
        rt_cursor_free(c);
        return rc;
    }
    *out = c;
    return RT_OK;
}

int rt_cursor_open_mem(const void *buf, size_t len, struct rt_cursor **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!out || (!buf && len))
        return RT_ERR_INVALID_ARG;
    return cursor_open(NULL, buf, len, out, ei);
}

int rt_cursor_open_file(const char *path, struct rt_cursor **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!path || !out)
        return RT_ERR_INVALID_ARG;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_fail(ei, RT_ERR_IO, -1, "%s", strerror(errno));
    return cursor_open(f, NULL, 0, out, ei);
}
