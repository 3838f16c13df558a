/* The export driver: reads each bundle once with the streaming cursor and writes its rows
 * (JSON lines or CSV, through zstd when asked) to the stream, or to Hive-partitioned part
 * files table=T/fn=F/dt=YYYY-MM-DD/part-<start-ns>-<id>-<seq>.<ext> put into a store (a folder
 * or S3) when they reach part_max bytes or at the end. A part's name comes from its first
 * row (the invocation's start, a hash of its request id, the row's event position), so the
 * same export run twice writes the same files. At most MAX_OPEN parts per table are open at
 * once (the least recently used is closed first), which bounds memory; when the bundles come
 * grouped by partition, one per table. */
#include "export/export.h"

#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/render.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#define MAX_OPEN 8
#define DEFAULT_PART_MAX (64u * 1024 * 1024)
#define STREAM_FLUSH (256u * 1024)
#define SET_MAX 256 /* distinct values kept per list column of an invocation */
#define JSON_FLAGS                                                                                 \
    (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* One output: the stream (dir NULL) or one open part of a partition. */
struct part {
    int table;
    char *dir; /* "table=events/fn=F/dt=D" */
    char name[96];
    struct rt_buf buf; /* bytes not yet written (compressed when zstd) */
    ZSTD_CCtx *z;
    bool header_done;
    uint64_t used;
};

struct rt_export {
    struct rt_export_options o;
    struct part stream;
    struct part open[RT_EXPORT__TABLES][MAX_OPEN];
    uint64_t tick;
    struct rt_buf row;
    struct rt_perfetto *perfetto;
    struct rt_export_stats stats;
    bool out_failed; /* the output could not be written: an export cannot go on */
};

/* ---- output ---- */

static int stream_write(struct rt_export *x, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, x->o.stream) != n)
        return RT_ERR_IO;
    x->stats.bytes += n;
    return RT_OK;
}

/* Appends n bytes to part (compressing them when zstd); end closes the zstd frame. */
static int part_add_(struct rt_export *x, struct part *pt, const void *p, size_t n, bool end)
{
    if (!x->o.zstd) {
        if (rt_buf_append(&pt->buf, p, n) != RT_OK)
            return RT_ERR_NOMEM;
    } else {
        if (!pt->z) {
            if (!(pt->z = ZSTD_createCCtx()))
                return RT_ERR_NOMEM;
            ZSTD_CCtx_setParameter(pt->z, ZSTD_c_compressionLevel,
                                   x->o.zstd_level ? x->o.zstd_level : 3);
            ZSTD_CCtx_setParameter(pt->z, ZSTD_c_checksumFlag, 1);
        }
        ZSTD_inBuffer in = {p, n, 0};
        size_t left;
        do {
            size_t room = ZSTD_CStreamOutSize();
            if (rt_buf_reserve(&pt->buf, room) != RT_OK)
                return RT_ERR_NOMEM;
            ZSTD_outBuffer out = {pt->buf.data + pt->buf.len, room, 0};
            left = ZSTD_compressStream2(pt->z, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left))
                return RT_ERR_IO;
            pt->buf.len += out.pos;
        } while (end ? left != 0 : in.pos < in.size);
    }
    if (!pt->dir && (pt->buf.len >= STREAM_FLUSH || end)) {
        int rc = stream_write(x, pt->buf.data, pt->buf.len);
        pt->buf.len = 0;
        return rc;
    }
    return RT_OK;
}

static int part_add(struct rt_export *x, struct part *pt, const void *p, size_t n, bool end)
{
    int rc = part_add_(x, pt, p, n, end);
    x->out_failed |= rc != RT_OK;
    return rc;
}

static const char *ext_of(const struct rt_export *x)
{
    if (x->o.format == RT_EXPORT_CSV)
        return x->o.zstd ? ".csv.zst" : ".csv";
    return x->o.zstd ? ".jsonl.zst" : ".jsonl";
}

/* Ends a part and puts it into the store; the slot is free afterwards. */
static int part_close(struct rt_export *x, struct part *pt, struct rt_errinfo *ei)
{
    int rc = RT_OK;
    if (pt->dir) {
        if (x->o.zstd)
            rc = part_add(x, pt, "", 0, true);
        char key[1024];
        snprintf(key, sizeof key, "%s%s%s/%s%s", x->o.prefix ? x->o.prefix : "",
                 x->o.prefix && *x->o.prefix ? "/" : "", pt->dir, pt->name, ext_of(x));
        if (rc == RT_OK)
            rc = rt_store_put_object(x->o.store, key, (const uint8_t *)pt->buf.data, pt->buf.len,
                                     NULL, 0, ei);
        if (rc == RT_OK) {
            x->stats.bytes += pt->buf.len;
            x->stats.parts++;
        }
        x->out_failed |= rc != RT_OK;
    }
    free(pt->dir);
    rt_buf_free(&pt->buf);
    ZSTD_freeCCtx(pt->z);
    memset(pt, 0, sizeof *pt);
    return rc;
}

/* A partition value (fn=...): [A-Za-z0-9._-] as they are (a leading '.' too is encoded),
 * every other byte as %XX, as Hive escapes partition values. */
static void hive_value(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 4 < cap; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                     (*p == '.' && p != (const unsigned char *)s);
        if (plain)
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", *p);
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, cap, "unknown");
}

/* The open part of partition dir of table t, opening one named after first when needed. */
static int part_for(struct rt_export *x, int t, const char *dir, const char *first,
                    struct part **out, struct rt_errinfo *ei)
{
    if (!x->o.store) {
        *out = &x->stream;
        return RT_OK;
    }
    struct part *slots = x->open[t], *lru = &slots[0];
    for (int i = 0; i < MAX_OPEN; i++) {
        if (slots[i].dir && !strcmp(slots[i].dir, dir)) {
            slots[i].used = ++x->tick;
            *out = &slots[i];
            return RT_OK;
        }
        if (!slots[i].dir || (lru->dir && slots[i].used < lru->used))
            lru = &slots[i];
    }
    if (x->o.grouped) /* a new partition: the others are done */
        for (int i = 0; i < MAX_OPEN; i++)
            if (slots[i].dir) {
                int rc = part_close(x, &slots[i], ei);
                if (rc != RT_OK)
                    return rc;
            }
    if (lru->dir) {
        int rc = part_close(x, lru, ei);
        if (rc != RT_OK)
            return rc;
    }
    if (!(lru->dir = strdup(dir)))
        return RT_ERR_NOMEM;
    lru->table = t;
    snprintf(lru->name, sizeof lru->name, "part-%s", first);
    lru->used = ++x->tick;
    *out = lru;
    return RT_OK;
}

/* ---- rows ---- */

/* Appends the compact JSON of v to b, dumped straight into b's memory. */
static int dump_json(struct rt_buf *b, const json_t *v)
{
    if (rt_buf_reserve(b, 4096) != RT_OK)
        return RT_ERR_NOMEM;
    size_t room = b->cap - b->len - 1;
    size_t need = json_dumpb(v, b->data + b->len, room, JSON_FLAGS);
    if (need == 0)
        return RT_ERR_NOMEM;
    if (need > room) { /* did not fit: again, with the room it needs */
        if (rt_buf_reserve(b, need) != RT_OK)
            return RT_ERR_NOMEM;
        need = json_dumpb(v, b->data + b->len, need, JSON_FLAGS);
    }
    b->len += need;
    b->data[b->len] = '\0';
    return RT_OK;
}

/* Encodes row (an object with table t's columns) as a JSON line or a CSV record. */
static int encode_row(struct rt_export *x, int t, json_t *row, bool header)
{
    struct rt_buf *b = &x->row;
    rt_buf_reset(b);
    if (x->o.format == RT_EXPORT_JSONL) {
        if (dump_json(b, row) != RT_OK)
            return RT_ERR_NOMEM;
        rt_buf_append(b, "\n", 1);
        return b->failed ? RT_ERR_NOMEM : RT_OK;
    }
    size_t n;
    const struct rt_export_column *c = rt_export_columns((enum rt_export_table)t, &n);
    if (header) {
        for (size_t i = 0; i < n; i++) {
            rt_buf_append(b, i ? "," : "", i ? 1 : 0);
            rt_buf_puts(b, c[i].name);
        }
        rt_buf_append(b, "\r\n", 2);
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            rt_buf_append(b, ",", 1);
        json_t *v = json_object_get(row, c[i].name);
        char num[64];
        switch (v ? json_typeof(v) : JSON_NULL) {
        case JSON_STRING:
            rt_export_csv_cell(b, json_string_value(v), json_string_length(v),
                               x->o.csv_formula_guard);
            break;
        case JSON_INTEGER:
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            rt_buf_puts(b, num);
            break;
        case JSON_REAL:
            snprintf(num, sizeof num, "%.15g", json_real_value(v));
            rt_buf_puts(b, num);
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            rt_buf_puts(b, json_is_true(v) ? "true" : "false");
            break;
        case JSON_ARRAY:
        case JSON_OBJECT: {
            struct rt_buf j = RT_BUF_INIT;
            if (dump_json(&j, v) != RT_OK || j.failed) {
                rt_buf_free(&j);
                return RT_ERR_NOMEM;
            }
            rt_export_csv_cell(b, j.data, j.len, false);
            rt_buf_free(&j);
            break;
        }
        default: /* null: an empty cell */
            break;
        }
    }
    rt_buf_append(b, "\r\n", 2);
    return b->failed ? RT_ERR_NOMEM : RT_OK;
}

static int write_row(struct rt_export *x, int t, const char *dir, const char *first, json_t *row,
                     struct rt_errinfo *ei)
{
    struct part *pt;
    int rc = part_for(x, t, dir, first, &pt, ei);
    if (rc != RT_OK)
        return rc;
    rc = encode_row(x, t, row, x->o.format == RT_EXPORT_CSV && !pt->header_done);
    pt->header_done = true;
    if (rc == RT_OK)
        rc = part_add(x, pt, x->row.data, x->row.len, false);
    if (rc == RT_OK)
        x->stats.rows[t]++;
    if (rc == RT_OK && pt->dir && pt->buf.len >= (x->o.part_max ? x->o.part_max : DEFAULT_PART_MAX))
        rc = part_close(x, pt, ei);
    return rc;
}

static json_t *str_or_null(const char *s)
{
    return s ? rt_json_bytes(s, strlen(s)) : json_null();
}

static json_t *rstr_or_null(const struct rt_event *ev, enum rt_role role)
{
    if (!rt_event_has_str(ev, role))
        return json_null();
    struct rt_str s = rt_event_str(ev, role);
    return rt_json_bytes(s.ptr, s.len);
}

static json_t *rnum_or_null(const struct rt_event *ev, enum rt_role role)
{
    int64_t v;
    return rt_event_num(ev, role, &v) ? json_integer(v) : json_null();
}

/* "2025-11-26T10:00:00.123456Z" */
static void iso_us(int64_t ns, char *out, size_t cap)
{
    int64_t s = ns / 1000000000, rem = ns % 1000000000;
    if (rem < 0) {
        rem += 1000000000;
        s--;
    }
    time_t tt = (time_t)s;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char base[40];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%06dZ", base, (int)(rem / 1000));
}

/* Splits "ip:port", "[v6]:port" or "host:port" into the address and the port (-1: none). */
static void split_peer(struct rt_str s, char *ip, size_t cap, int *port)
{
    *port = -1;
    ip[0] = '\0';
    if (!s.len || memchr(s.ptr, '\0', s.len))
        return;
    const char *p = s.ptr, *end = s.ptr + s.len, *colon = NULL;
    if (*p == '[') {
        const char *close = memchr(p, ']', s.len);
        if (!close)
            return;
        snprintf(ip, cap, "%.*s", (int)(close - p - 1), p + 1);
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    } else {
        for (const char *q = p; q < end; q++)
            if (*q == ':')
                colon = colon ? (const char *)1 : q; /* two colons: a bare IPv6, no port */
        if (colon == (const char *)1)
            colon = NULL;
        snprintf(ip, cap, "%.*s", (int)((colon ? colon : end) - p), p);
    }
    if (colon) {
        char *e;
        char digits[8];
        snprintf(digits, sizeof digits, "%.*s", (int)(end - colon - 1 < 7 ? end - colon - 1 : 7),
                 colon + 1);
        long v = strtol(digits, &e, 10);
        if (e != digits && !*e && v >= 0 && v <= 65535)
            *port = (int)v;
    }
}

static json_t *event_row(const struct rt_bundle *b, const struct rt_event *ev, uint64_t seq)
{
    const struct rt_meta *m = &b->meta;
    json_t *base = rt_json_event(ev), *r = json_object();
    char when[48];
    int64_t wall = m->start_wall_ns + ev->ts_ns;
    iso_us(wall, when, sizeof when);
    const struct rt_op_info *info = rt_op_info(ev->op);
    char opname[24];
    snprintf(opname, sizeof opname, "op_%u", ev->op);
    json_object_set_new(r, "function", str_or_null(m->function));
    json_object_set_new(r, "request_id", str_or_null(m->request_id));
    json_object_set_new(r, "seq", json_integer((json_int_t)seq));
    json_object_set_new(r, "time", json_string(when));
    json_object_set_new(r, "wall_ns", json_integer(wall));
    json_object_set_new(r, "ts_ns", json_integer(ev->ts_ns));
    json_object_set_new(r, "dur_ns", json_integer((json_int_t)ev->dur_ns));
    json_object_set_new(r, "pid", json_integer(ev->pid));
    json_object_set_new(r, "tid", json_integer(ev->tid));
    json_object_set(r, "kind", json_object_get(base, "kind"));
    json_object_set_new(r, "op", json_string(info ? info->name : opname));
    json_object_set_new(r, "result", json_integer(ev->result));
    json_t *err = json_object_get(base, "errno");
    json_object_set(r, "errno", err ? err : json_null());
    json_object_set(r, "flags", json_object_get(base, "flags"));
    json_object_set_new(r, "path", rstr_or_null(ev, RT_ROLE_PATH));
    json_object_set_new(r, "path2", rstr_or_null(ev, RT_ROLE_PATH2));
    json_object_set_new(r, "program", rstr_or_null(ev, RT_ROLE_PROGRAM));
    int argv_slot = rt_op_str_slot(ev->op, RT_ROLE_ARGV);
    json_t *args = json_object_get(base, "args");
    json_t *argv = argv_slot >= 0 && info ? json_object_get(args, info->str_name[argv_slot]) : NULL;
    json_object_set(r, "argv", argv ? argv : json_null());
    json_object_set_new(r, "command", rstr_or_null(ev, RT_ROLE_COMMAND));
    json_object_set_new(r, "peer", rstr_or_null(ev, RT_ROLE_PEER));
    char ip[256];
    int port = -1;
    if (rt_event_has_str(ev, RT_ROLE_PEER))
        split_peer(rt_event_peer(ev), ip, sizeof ip, &port);
    else
        ip[0] = '\0';
    json_object_set_new(r, "peer_ip", ip[0] ? rt_json_bytes(ip, strlen(ip)) : json_null());
    json_object_set_new(r, "peer_port", port >= 0 ? json_integer(port) : json_null());
    json_object_set_new(r, "local", rstr_or_null(ev, RT_ROLE_LOCAL));
    json_object_set_new(r, "host", rstr_or_null(ev, RT_ROLE_HOST));
    json_object_set_new(r, "http", rstr_or_null(ev, RT_ROLE_HTTP));
    json_object_set_new(r, "answers", rstr_or_null(ev, RT_ROLE_ANSWERS));
    json_object_set_new(r, "bytes_out", rnum_or_null(ev, RT_ROLE_BYTES_OUT));
    json_object_set_new(r, "bytes_in", rnum_or_null(ev, RT_ROLE_BYTES_IN));
    json_object_set_new(r, "fd", rnum_or_null(ev, RT_ROLE_FD));
    json_object_set(r, "args", args ? args : json_object());
    json_decref(base);
    return r;
}

/* A small set of distinct strings, in order of first use, at most SET_MAX. */
struct strset {
    char *v[SET_MAX];
    size_t n;
};

static void set_add(struct strset *s, const char *p, size_t len)
{
    if (!len || s->n >= SET_MAX)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->v[i]) == len && !memcmp(s->v[i], p, len))
            return;
    char *c = malloc(len + 1);
    if (!c)
        return;
    memcpy(c, p, len);
    c[len] = '\0';
    s->v[s->n++] = c;
}

static json_t *set_json(struct strset *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++) {
        json_array_append_new(a, rt_json_bytes(s->v[i], strlen(s->v[i])));
        free(s->v[i]);
    }
    s->n = 0;
    return a;
}

/* What the invocation row sums up over the events. */
struct summary {
    uint64_t events, bytes_out, bytes_in;
    uint32_t flags;
    struct strset dests, connects, ips, programs;
};

static void summarise(struct summary *s, const struct rt_event *ev)
{
    s->events++;
    s->flags |= ev->flags;
    if (ev->op != RT_OP_INBOUND) {
        s->bytes_out += (uint64_t)(rt_event_bytes_out(ev) > 0 ? rt_event_bytes_out(ev) : 0);
        s->bytes_in += ev->op == RT_OP_OUTBOUND && rt_event_bytes_in(ev) > 0
                           ? (uint64_t)rt_event_bytes_in(ev)
                           : 0;
    }
    if (ev->op == RT_OP_OUTBOUND || ev->op == RT_OP_CONNECT) {
        char ip[256], d[600];
        int port;
        split_peer(rt_event_peer(ev), ip, sizeof ip, &port);
        if (port >= 0) { /* not a unix socket */
            set_add(&s->ips, ip, strlen(ip));
            struct rt_str host = rt_event_host(ev);
            char name[256];
            int host_port;
            split_peer(host, name, sizeof name, &host_port); /* an HTTP Host may carry a port */
            bool v6 = strchr(name[0] ? name : ip, ':') != NULL;
            int n = snprintf(d, sizeof d, v6 ? "[%s]:%d" : "%s:%d", name[0] ? name : ip, port);
            if (n > 0 && (size_t)n < sizeof d)
                set_add(ev->op == RT_OP_OUTBOUND ? &s->dests : &s->connects, d, (size_t)n);
        }
    }
    if (rt_event_has_str(ev, RT_ROLE_PROGRAM)) {
        struct rt_str p = rt_event_program(ev);
        set_add(&s->programs, p.ptr, strnlen(p.ptr, p.len));
    }
}

static json_t *invocation_row(const struct rt_bundle *b, struct summary *s, bool verified,
                              const char *path)
{
    const struct rt_meta *m = &b->meta;
    json_t *r = json_object();
    char when[48], hex[2 * RT_DIGEST_LEN + 1];
    iso_us(m->start_wall_ns, when, sizeof when);
    const char *status = rt_status_name(m->status);
    json_object_set_new(r, "function", str_or_null(m->function));
    json_object_set_new(r, "version", str_or_null(m->function_version));
    json_object_set_new(r, "request_id", str_or_null(m->request_id));
    json_object_set_new(r, "sandbox", str_or_null(m->sandbox_id));
    json_object_set_new(r, "seq", json_integer((json_int_t)m->seq));
    json_object_set_new(r, "start", json_string(when));
    json_object_set_new(r, "start_ns", json_integer(m->start_wall_ns));
    json_object_set_new(r, "duration_ms", json_real((double)m->duration_ns / 1e6));
    json_object_set_new(r, "status", json_string(status ? status : "unknown"));
    json_object_set_new(r, "error_type", str_or_null(m->error_type));
    json_object_set_new(r, "cold_start", json_boolean(m->cold_start));
    json_object_set_new(r, "runtime", str_or_null(m->runtime));
    json_object_set_new(r, "region", str_or_null(m->region));
    json_object_set_new(r, "memory_mb", json_integer(m->memory_mb));
    json_object_set_new(r, "arch", json_string(m->arch ? m->arch : "x86_64"));
    json_object_set_new(r, "events", json_integer((json_int_t)s->events));
    json_object_set_new(r, "dropped",
                        json_integer((json_int_t)(m->counters[RT_CTR_EVENTS_DROPPED] +
                                                  m->counters[RT_CTR_RING_DROPPED])));
    json_object_set_new(r, "bytes_out", json_integer((json_int_t)s->bytes_out));
    json_object_set_new(r, "bytes_in", json_integer((json_int_t)s->bytes_in));
    json_object_set_new(r, "destinations", set_json(s->dests.n ? &s->dests : &s->connects));
    for (size_t i = 0; i < s->connects.n; i++) /* set_json freed the one it used */
        free(s->connects.v[i]);
    for (size_t i = 0; i < s->dests.n; i++)
        free(s->dests.v[i]);
    s->connects.n = s->dests.n = 0;
    json_object_set_new(r, "peer_ips", set_json(&s->ips));
    json_object_set_new(r, "programs", set_json(&s->programs));
    uint32_t flags = s->flags | m->dropped_flags;
    if (m->coverage & RT_COV_PARTIAL)
        flags |= RT_EF_NOT_COVERED;
    json_t *fl = json_array();
    for (unsigned bit = 0; bit < 32; bit++)
        if ((flags & (1u << bit)) && rt_event_flag_name(bit))
            json_array_append_new(fl, json_string(rt_event_flag_name(bit)));
    json_object_set_new(r, "flags", fl);
    rt_bundle_env_digest(b, hex);
    json_object_set_new(r, "env_digest", json_string(hex));
    json_object_set_new(r, "code_digest",
                        rt_bundle_code_digest(b, hex) ? json_string(hex) : json_null());
    json_object_set_new(r, "digest",
                        verified ? json_string(rt_digest_hex(b->digest, hex)) : json_null());
    json_object_set_new(r, "verified", json_boolean(verified));
    json_object_set_new(r, "bundle", rt_json_bytes(path, strlen(path)));
    json_object_set_new(r, "recorder_cpu_ms",
                        m->recorder_cpu_ns ? json_real((double)m->recorder_cpu_ns / 1e6)
                                           : json_null());
    return r;
}

/* ---- the driver ---- */

static int perfetto_write(const void *bytes, size_t len, void *arg)
{
    struct rt_export *x = arg;
    return part_add(x, &x->stream, bytes, len, false);
}

int rt_export_new(const struct rt_export_options *o, struct rt_export **out)
{
    if (!o || (!o->stream == !o->store))
        return RT_ERR_INVALID_ARG;
    if (o->format == RT_EXPORT_PERFETTO
            ? o->store != NULL
            : (!o->tables || (o->stream && o->tables != 1u && o->tables != 2u)))
        return RT_ERR_INVALID_ARG;
    struct rt_export *x = calloc(1, sizeof *x);
    if (!x)
        return RT_ERR_NOMEM;
    x->o = *o;
    if (o->format == RT_EXPORT_PERFETTO && !(x->perfetto = rt_perfetto_new(perfetto_write, x))) {
        free(x);
        return RT_ERR_NOMEM;
    }
    *out = x;
    return RT_OK;
}

int rt_export_bundle(struct rt_export *x, const char *path, bool *input_error,
                     struct rt_errinfo *ei)
{
    *input_error = true;
    struct rt_cursor *c = NULL;
    int rc = rt_cursor_open_file(path, &c, ei);
    if (rc != RT_OK)
        return rc;
    x->stats.bundles++;
    if (x->perfetto) {
        uint64_t n = 0;
        rc = rt_perfetto_bundle(x->perfetto, c, &n, ei);
        x->stats.rows[RT_EXPORT_EVENTS] += n;
        *input_error = !x->out_failed && rc != RT_ERR_NOMEM;
        if (rc == RT_OK && rt_cursor_state(c) != RT_CURSOR_VERIFIED)
            rc = rt_fail(ei, RT_ERR_BUNDLE_DIGEST, -1, "footer digest or zstd checksum mismatch");
        if (rc != RT_OK && *input_error)
            x->stats.damaged++;
        rt_cursor_free(c);
        return rc;
    }
    const struct rt_bundle *b = rt_cursor_bundle(c);
    const struct rt_meta *m = &b->meta;
    char fn[200], day[16], first[96];
    hive_value(fn, sizeof fn, m->function ? m->function : "");
    time_t tt = (time_t)(m->start_wall_ns / 1000000000);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    uint8_t h[RT_DIGEST_LEN];
    const char *rid = m->request_id ? m->request_id : "";
    rt_sha256(rid, strlen(rid), h);
    char hhex[2 * RT_DIGEST_LEN + 1];
    rt_hex(h, 4, hhex);
    char dirs[RT_EXPORT__TABLES][400];
    for (int t = 0; t < RT_EXPORT__TABLES; t++)
        snprintf(dirs[t], sizeof dirs[t], "table=%s/fn=%s/dt=%s",
                 rt_export_table_name((enum rt_export_table)t), fn, day);
    bool want_events = x->o.tables & (1u << RT_EXPORT_EVENTS);
    struct summary s;
    memset(&s, 0, sizeof s);
    int in_rc = RT_OK;
    for (;;) {
        const struct rt_event *ev;
        in_rc = rt_cursor_next(c, &ev, ei);
        if (in_rc != RT_OK || !ev)
            break;
        if (want_events) {
            snprintf(first, sizeof first, "%019lld-%s-%07llu", (long long)m->start_wall_ns, hhex,
                     (unsigned long long)s.events);
            json_t *row = event_row(b, ev, s.events);
            rc = row ? write_row(x, RT_EXPORT_EVENTS, dirs[RT_EXPORT_EVENTS], first, row, ei)
                     : RT_ERR_NOMEM;
            json_decref(row);
            if (rc != RT_OK)
                break;
        }
        summarise(&s, ev);
    }
    bool verified = in_rc == RT_OK && rt_cursor_state(c) == RT_CURSOR_VERIFIED;
    if (rc == RT_OK && (x->o.tables & (1u << RT_EXPORT_INVOCATIONS))) {
        snprintf(first, sizeof first, "%019lld-%s-%07d", (long long)m->start_wall_ns, hhex, 0);
        json_t *row = invocation_row(b, &s, verified, path);
        rc = row ? write_row(x, RT_EXPORT_INVOCATIONS, dirs[RT_EXPORT_INVOCATIONS], first, row, ei)
                 : RT_ERR_NOMEM;
        json_decref(row);
    } else {
        for (size_t i = 0; i < s.dests.n; i++)
            free(s.dests.v[i]);
        for (size_t i = 0; i < s.connects.n; i++)
            free(s.connects.v[i]);
        for (size_t i = 0; i < s.ips.n; i++)
            free(s.ips.v[i]);
        for (size_t i = 0; i < s.programs.n; i++)
            free(s.programs.v[i]);
    }
    if (rc == RT_OK && !verified) { /* what was read is written; the bundle is reported */
        x->stats.damaged++;
        rc = in_rc != RT_OK ? in_rc : RT_ERR_BUNDLE_DIGEST;
        if (in_rc == RT_OK)
            rt_fail(ei, rc, -1, "footer digest or zstd checksum mismatch");
    } else if (rc != RT_OK) {
        *input_error = false; /* the output (or memory) failed */
    }
    rt_cursor_free(c);
    return rc;
}

int rt_export_finish(struct rt_export *x, struct rt_errinfo *ei)
{
    int rc = RT_OK;
    if (x->perfetto)
        rc = rt_perfetto_finish(x->perfetto);
    for (int t = 0; t < RT_EXPORT__TABLES; t++)
        for (int i = 0; i < MAX_OPEN; i++)
            if (x->open[t][i].dir) {
                int r = part_close(x, &x->open[t][i], ei);
                if (rc == RT_OK)
                    rc = r;
            }
    if (x->o.stream) {
        if (rc == RT_OK)
            rc = part_add(x, &x->stream, "", 0, true);
        if (rc == RT_OK && fflush(x->o.stream) != 0)
            rc = RT_ERR_IO;
        if (rc == RT_ERR_IO)
            rt_fail(ei, rc, -1, "cannot write the output");
    }
    return rc;
}

const struct rt_export_stats *rt_export_get_stats(const struct rt_export *x)
{
    return &x->stats;
}

void rt_export_free(struct rt_export *x)
{
    if (!x)
        return;
    for (int t = 0; t < RT_EXPORT__TABLES; t++)
        for (int i = 0; i < MAX_OPEN; i++) {
            free(x->open[t][i].dir);
            rt_buf_free(&x->open[t][i].buf);
            ZSTD_freeCCtx(x->open[t][i].z);
        }
    rt_buf_free(&x->stream.buf);
    ZSTD_freeCCtx(x->stream.z);
    rt_buf_free(&x->row);
    rt_perfetto_free(x->perfetto);
    free(x);
}
