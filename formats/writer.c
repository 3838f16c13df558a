/* The bundle writer used by the recorder: collects META, ENV, CODE, headers, payloads, events
 * and log lines in bounded memory, then seals them into one zstd frame with a SHA-256 footer
 * (docs/format.md). Events are encoded as they arrive into per-field columns with interned
 * strings and delta timestamps, in chunks of RT_WIRE_CHUNK_EVENTS events (one EVENTS block
 * each, so a reader can stream them), so appending an event costs a few varint writes and one
 * hash lookup per string, and sealing only concatenates and compresses.
 *
 * Over max_events the writer keeps the first half of the budget as it came, then a ring of the
 * latest events; an event leaving the ring that matters to a responder (rt_event_matters: a
 * flag, a process start/exit/exec, a connection summary, a marker, a security call) is kept
 * while the kept
 * ones fill at most half of the second half of the budget. Every other event is dropped and
 * counted, and the flags of the dropped events are ORed into META dropped_flags. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/wire.h"

#include <pthread.h>
#include <zstd.h>

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_EVENTS 100000
#if DEFAULT_MAX_EVENTS > RT_BUNDLE_MAX_EVENTS
#error "the writer's default must be readable"
#endif
#define DEFAULT_MAX_PAYLOAD (1024 * 1024)
#define DEFAULT_MAX_LOG_BYTES (256 * 1024)
#define DEFAULT_MAX_STRING 4096
#define SMALL_STREAM 512 /* bytes: below this a stream is written as one plane */
#define COL_BATCH 512    /* events per column capacity check (a value is at most 10 bytes) */
/* The first capacity check of a column is for this many events, and each next one for twice
 * as many, up to COL_BATCH: a bundle of a few dozen events reserved 5.6 KiB for each of an
 * op's 11 columns (44 blocks of 512 and 4096 bytes, freed again after the seal). */
#define COL_BATCH_FIRST 16

struct buf {
    uint8_t *p;
    size_t len, cap;
    bool borrowed; /* p is room in a block of first batches (below): copied out to grow, never
                    * freed on its own */
};

/* An EVENTS column: LEB128 bytes split into planes (docs/format.md, "EVENTS"). */
struct column {
    struct buf plane[RT_WIRE_PLANES];
};

/* The bytes plane k of a column may take for batch events: a byte per event in each plane
 * but the last, eight in the last (the rest of a 10-byte LEB128 value). */
static inline size_t plane_bytes(size_t batch, int k)
{
    return batch * (k < RT_WIRE_PLANES - 1 ? 1 : 8);
}

/* The room one column's planes need for its first batch (the sum of plane_bytes). */
#define FIRST_ROOM (COL_BATCH_FIRST * (RT_WIRE_PLANES - 1 + 8))
#define OP_COLS (RT_COL__COUNT - RT_COL_SEQ_COUNT)

/* An op's columns with the room for their first batch, in one allocation: a bundle has events
 * of a few ops, few of each (a C-sample invocation: 12 events of 8 ops), and a buffer per
 * plane was 44 allocations of 256 bytes per op, more than the seal of the events took. */
struct op_block {
    struct column cols[OP_COLS]; /* first: the block is freed through its columns */
    uint8_t room[OP_COLS][FIRST_ROOM];
};

/* Points the planes of n columns at their first batch's room. */
static void lend_first_room(struct column *cols, uint8_t (*room)[FIRST_ROOM], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t off = 0;
        for (int k = 0; k < RT_WIRE_PLANES; k++) {
            size_t cap = plane_bytes(COL_BATCH_FIRST, k);
            cols[i].plane[k] = (struct buf){.p = room[i] + off, .cap = cap, .borrowed = true};
            off += cap;
        }
    }
}

struct intern_slot {
    uint64_t hash;
    size_t off; /* of the string bytes in w->strings */
    uint32_t len;
    uint32_t idx; /* table index + 1; 0 = empty slot */
};

/* An event held raw past the head of the budget (the tail ring or the kept middle): its
 * strings, cut to max_string, back to back in an owned buffer. */
struct held {
    struct rt_event ev;
    char *strings;
    size_t cap;
    unsigned cut; /* strings cut to max_string: counted if the event is stored */
};

struct rt_writer {
    struct rt_limits lim;
    bool finished;
    bool nomem;
    struct rt_meta meta;
    uint64_t counters[RT_CTR__COUNT];
    struct buf env, headers, code, payload[3], strings, logs;
    struct column seq[RT_COL_SEQ_COUNT]; /* the per-sequence columns (op, ts, pid, tid) */
    uint8_t seq_room[RT_COL_SEQ_COUNT][FIRST_ROOM]; /* their first batch */
    /* The per-op columns of each op (RT_COL_SEQ_COUNT..RT_COL__COUNT-1), allocated at the op's
     * first event: inline they made the writer 61 KiB, zeroed and walked for every bundle. */
    struct column *op_cols[RT_OP__COUNT];
    size_t op_room[RT_OP__COUNT];  /* events of an op that fit its columns unchecked */
    size_t op_batch[RT_OP__COUNT]; /* events the op's last capacity check was for */
    bool has_code, has_payload[3];
    size_t n_env, n_headers, n_events, n_logs, n_strings;
    size_t col_room;   /* events that fit in every column without a capacity check */
    size_t col_batch;  /* events the last capacity check of the shared columns was for */
    size_t n_chunk;    /* events in the columns (the chunk being filled) */
    struct buf chunks; /* finished EVENTS blocks, type and length included */
    size_t n_chunks;
    size_t head;       /* events encoded as they come: the first half of max_events */
    struct held *ring; /* the latest events past the head, oldest at ring_start */
    size_t ring_cap, ring_len, ring_start, ring_alloc;
    struct held *kept; /* events that left the ring but matter (rt_event_matters()) */
    size_t n_kept, cap_kept;
    uint32_t flags_dropped; /* OR of the flags of the events dropped */
    int64_t prev_ts, prev_pid, prev_log_ts;
    size_t log_bytes;
    struct intern_slot *tab;
    size_t tab_cap; /* power of two */
};

/* ---- buffers ---- */

static int buf_reserve(struct buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap && !b->borrowed ? b->cap : 256; /* out of a first batch: as new */
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    uint8_t *p = b->borrowed ? malloc(cap) : realloc(b->p, cap);
    if (!p)
        return -1;
    if (b->borrowed && b->len)
        memcpy(p, b->p, b->len);
    b->p = p;
    b->cap = cap;
    b->borrowed = false;
    return 0;
}

static int buf_put(struct buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len))
        return -1;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

static int buf_uvar(struct buf *b, uint64_t v)
{
    if (buf_reserve(b, 10))
        return -1;
    b->len += rt_varint_put(b->p + b->len, v);
    return 0;
}

static int buf_svar(struct buf *b, int64_t v)
{
    return buf_uvar(b, rt_zigzag(v));
}

static int buf_lstr(struct buf *b, const void *s, size_t len)
{
    return buf_uvar(b, len) || buf_put(b, s, len);
}

static int tlv(struct buf *b, uint64_t id, const void *data, size_t len)
{
    return buf_uvar(b, id) || buf_lstr(b, data, len);
}

static int tlv_str(struct buf *b, uint64_t id, const char *s)
{
    return s ? tlv(b, id, s, strlen(s)) : 0;
}

static int tlv_uvar(struct buf *b, uint64_t id, uint64_t v)
{
    uint8_t tmp[10];
    return v ? tlv(b, id, tmp, rt_varint_put(tmp, v)) : 0;
}

static int tlv_svar(struct buf *b, uint64_t id, int64_t v)
{
    return v ? tlv_uvar(b, id, rt_zigzag(v)) : 0;
}

static int block(struct buf *out, enum rt_block type, const struct buf *body)
{
    return buf_uvar(out, (uint64_t)type) || buf_lstr(out, body->p, body->len);
}

/* ---- writer ---- */

struct rt_writer *rt_writer_new(const struct rt_limits *limits)
{
    struct rt_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (limits)
        w->lim = *limits;
    if (!w->lim.max_events)
        w->lim.max_events = DEFAULT_MAX_EVENTS;
    if (w->lim.max_events > RT_BUNDLE_MAX_EVENTS)
        w->lim.max_events = RT_BUNDLE_MAX_EVENTS; /* never write what readers refuse */
    w->head = w->lim.max_events - w->lim.max_events / 2;
    if (!w->lim.max_payload)
        w->lim.max_payload = DEFAULT_MAX_PAYLOAD;
    if (!w->lim.max_log_bytes)
        w->lim.max_log_bytes = DEFAULT_MAX_LOG_BYTES;
    if (!w->lim.max_string)
        w->lim.max_string = DEFAULT_MAX_STRING;
    if (w->lim.max_string > UINT32_MAX)
        w->lim.max_string = UINT32_MAX;
    lend_first_room(w->seq, w->seq_room, RT_COL_SEQ_COUNT);
    return w;
}

static void meta_free_strings(struct rt_meta *m)
{
#define _(id, name, type, member) FREE_##type(member)
#define FREE_RT_WT_STR(member) free(m->member);
#define FREE_RT_WT_UVAR(member)
#define FREE_RT_WT_SVAR(member)
#define FREE_RT_WT_DIGEST(member)
#define FREE_RT_WT_PAIRS(member)
    RT_META_FIELDS(_)
#undef _
}

/* Calls fn on every plane of every column that has memory: the per-sequence columns, and
 * the columns of each op that had an event. */
static void each_plane(struct rt_writer *w, void (*fn)(struct buf *))
{
    for (int i = 0; i < RT_COL_SEQ_COUNT; i++)
        for (int k = 0; k < RT_WIRE_PLANES; k++)
            fn(&w->seq[i].plane[k]);
    for (unsigned op = 0; op < RT_OP__COUNT; op++)
        for (int i = 0; w->op_cols[op] && i < OP_COLS; i++)
            for (int k = 0; k < RT_WIRE_PLANES; k++)
                fn(&w->op_cols[op][i].plane[k]);
}

static void plane_free(struct buf *b)
{
    if (!b->borrowed)
        free(b->p);
}

static void plane_empty(struct buf *b)
{
    b->len = 0;
}

void rt_writer_free(struct rt_writer *w)
{
    if (!w)
        return;
    meta_free_strings(&w->meta);
    free(w->env.p);
    free(w->headers.p);
    free(w->code.p);
    for (int i = 0; i < 3; i++)
        free(w->payload[i].p);
    free(w->strings.p);
    free(w->logs.p);
    each_plane(w, plane_free);
    for (unsigned op = 0; op < RT_OP__COUNT; op++)
        free(w->op_cols[op]);
    free(w->tab);
    free(w->chunks.p);
    for (size_t i = 0; i < w->ring_alloc; i++)
        free(w->ring[i].strings);
    free(w->ring);
    for (size_t i = 0; i < w->n_kept; i++)
        free(w->kept[i].strings);
    free(w->kept);
    free(w);
}

static char *dup_or_null(const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = true;
    return d;
}

int rt_writer_set_meta(struct rt_writer *w, const struct rt_meta *meta)
{
    if (!w || !meta)
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    bool fail = false;
    struct rt_meta m = *meta;
#define _(id, name, type, member) DUP_##type(member)
#define DUP_RT_WT_STR(member) m.member = dup_or_null(meta->member, &fail);
#define DUP_RT_WT_UVAR(member)
#define DUP_RT_WT_SVAR(member)
#define DUP_RT_WT_DIGEST(member)
#define DUP_RT_WT_PAIRS(member)
    RT_META_FIELDS(_)
#undef _
    if (fail) {
        meta_free_strings(&m);
        return RT_ERR_NOMEM;
    }
    meta_free_strings(&w->meta);
    w->meta = m;
    return RT_OK;
}

void rt_writer_count(struct rt_writer *w, enum rt_counter counter, uint64_t n)
{
    if (w && (unsigned)counter < RT_CTR__COUNT)
        w->counters[counter] += n;
}

int rt_writer_add_env(struct rt_writer *w, const struct rt_env_var *var)
{
    if (!w || !var || !var->name)
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    struct buf e = {0};
    size_t nlen = strlen(var->name);
    int fail = buf_lstr(&e, var->name, nlen) || buf_put(&e, var->hash, RT_DIGEST_LEN) ||
               buf_uvar(&e, var->value ? 1 : 0) ||
               (var->value && buf_lstr(&e, var->value, strlen(var->value))) ||
               buf_lstr(&w->env, e.p, e.len);
    free(e.p);
    if (fail)
        return RT_ERR_NOMEM;
    w->n_env++;
    return RT_OK;
}

int rt_writer_set_code(struct rt_writer *w, const struct rt_code *code)
{
    if (!w || !code)
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    struct buf *b = &w->code;
    b->len = 0;
    if (tlv(b, 1, code->task_root, RT_DIGEST_LEN) || tlv(b, 2, code->layers, RT_DIGEST_LEN) ||
        tlv_uvar(b, 3, code->files) || tlv_uvar(b, 4, code->bytes) ||
        tlv_str(b, 5, code->task_root_path))
        return RT_ERR_NOMEM;
    w->has_code = true;
    return RT_OK;
}

int rt_writer_add_header(struct rt_writer *w, const char *name, const char *value)
{
    if (!w || !name)
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    if (!value)
        value = "";
    if (buf_lstr(&w->headers, name, strlen(name)) || buf_lstr(&w->headers, value, strlen(value)))
        return RT_ERR_NOMEM;
    w->n_headers++;
    return RT_OK;
}

int rt_writer_set_payload(struct rt_writer *w, char which, const struct rt_payload *p)
{
    int k = which == 'E' ? 0 : which == 'R' ? 1 : which == 'X' ? 2 : -1;
    if (!w || !p || k < 0 || p->mode > RT_PAYLOAD_NONE || (!p->data && p->len))
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    struct buf *b = &w->payload[k];
    size_t keep = p->len < w->lim.max_payload ? p->len : w->lim.max_payload;
    uint8_t mode = p->mode; /* a one-byte varint */
    b->len = 0;
    if (tlv(b, 1, &mode, 1) || tlv_uvar(b, 2, p->original_len) ||
        tlv(b, 3, p->sha256, RT_DIGEST_LEN) || (keep && tlv(b, 4, p->data, keep)) ||
        tlv_str(b, 5, p->content_type) || tlv_str(b, 6, p->error_type))
        return RT_ERR_NOMEM;
    if (keep < p->len)
        w->counters[RT_CTR_PAYLOAD_TRUNCATED] += p->len - keep;
    w->has_payload[k] = true;
    return RT_OK;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        h = (h ^ v) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h ^ (h >> 32);
}

static int intern_grow(struct rt_writer *w)
{
    size_t cap = w->tab_cap ? w->tab_cap * 2 : 1024;
    struct intern_slot *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return -1;
    for (size_t i = 0; i < w->tab_cap; i++) {
        struct intern_slot *s = &w->tab[i];
        if (!s->idx)
            continue;
        size_t j = s->hash & (cap - 1);
        while (tab[j].idx)
            j = (j + 1) & (cap - 1);
        tab[j] = *s;
    }
    free(w->tab);
    w->tab = tab;
    w->tab_cap = cap;
    return 0;
}

/* Returns the string table index of s, adding it if new; -1 when out of memory. */
static int64_t intern(struct rt_writer *w, const char *s, uint32_t len)
{
    if ((w->n_strings + 1) * 2 > w->tab_cap && intern_grow(w))
        return -1;
    uint64_t h = hash_bytes(s, len);
    size_t mask = w->tab_cap - 1, j = h & mask;
    while (w->tab[j].idx) {
        struct intern_slot *t = &w->tab[j];
        if (t->hash == h && t->len == len && !memcmp(w->strings.p + t->off, s, len))
            return t->idx - 1;
        j = (j + 1) & mask;
    }
    if (buf_uvar(&w->strings, len))
        return -1;
    size_t off = w->strings.len;
    if (buf_put(&w->strings, s, len))
        return -1;
    w->tab[j] = (struct intern_slot){h, off, len, (uint32_t)(w->n_strings + 1)};
    return (int64_t)w->n_strings++;
}

static int col_reserve(struct column *c, size_t batch)
{
    for (int k = 0; k < RT_WIRE_PLANES; k++)
        if (buf_reserve(&c->plane[k], plane_bytes(batch, k)))
            return -1;
    return 0;
}

/* Column i of op (a per-sequence column: op is ignored); NULL for a per-op column of an op
 * that had no event. */
static const struct column *column_at(const struct rt_writer *w, int i, unsigned op)
{
    if (i < RT_COL_SEQ_COUNT)
        return &w->seq[i];
    return w->op_cols[op] ? &w->op_cols[op][i - RT_COL_SEQ_COUNT] : NULL;
}

/* Column col (a per-op RT_COL_*) in an op's columns. */
static inline struct column *op_col(struct column *oc, int col)
{
    return &oc[col - RT_COL_SEQ_COUNT];
}

/* The next capacity check's batch: COL_BATCH_FIRST, then doubling up to COL_BATCH. */
static size_t next_batch(size_t *last)
{
    *last = !*last ? COL_BATCH_FIRST : *last < COL_BATCH ? *last * 2 : COL_BATCH;
    return *last;
}

/* Byte k (k < RT_WIRE_PLANES - 1) of the value's LEB128 form goes to plane k, the remaining
 * bytes to the last plane. Capacity was reserved for the batch. */
static inline void col_uvar(struct column *c, uint64_t v)
{
    for (int k = 0; k < RT_WIRE_PLANES - 1; k++) {
        struct buf *p = &c->plane[k];
        if (v < 0x80) {
            p->p[p->len++] = (uint8_t)v;
            return;
        }
        p->p[p->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    struct buf *last = &c->plane[RT_WIRE_PLANES - 1];
    last->len += rt_varint_put(last->p + last->len, v);
}

static int flush_chunk(struct rt_writer *w);

/* Appends one event to the columns of the current chunk; strings are already checked. */
static int encode_event(struct rt_writer *w, const struct rt_event *ev)
{
    int64_t refs[RT_EVENT_STRS];
    unsigned mask = 0;
    if (w->n_chunk == RT_WIRE_CHUNK_EVENTS && flush_chunk(w))
        return RT_ERR_NOMEM;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        size_t len = ev->str[i].len;
        if (!len)
            continue;
        if (len > w->lim.max_string) {
            len = w->lim.max_string;
            w->counters[RT_CTR_STRINGS_TRUNCATED]++;
        }
        refs[i] = intern(w, ev->str[i].ptr, (uint32_t)len);
        if (refs[i] < 0)
            return RT_ERR_NOMEM;
        mask |= 1u << i;
    }
    for (int i = 0; i < RT_EVENT_NUMS; i++)
        if (ev->num[i])
            mask |= 1u << (RT_EVENT_STRS + i);
    if (!w->col_room) {
        size_t batch = next_batch(&w->col_batch);
        for (int i = 0; i < RT_COL_SEQ_COUNT; i++)
            if (col_reserve(&w->seq[i], batch))
                return RT_ERR_NOMEM;
        w->col_room = batch;
    }
    unsigned op = ev->op;
    if (!w->op_room[op]) {
        if (!w->op_cols[op]) {
            struct op_block *b = malloc(sizeof *b);
            if (!b)
                return RT_ERR_NOMEM;
            lend_first_room(b->cols, b->room, OP_COLS);
            w->op_cols[op] = b->cols;
        }
        size_t batch = next_batch(&w->op_batch[op]);
        for (int i = 0; i < OP_COLS; i++)
            if (col_reserve(&w->op_cols[op][i], batch))
                return RT_ERR_NOMEM;
        w->op_room[op] = batch;
    }
    struct column *oc = w->op_cols[op];
    w->col_room--;
    w->op_room[op]--;
    col_uvar(&w->seq[RT_COL_OP], op);
    col_uvar(&w->seq[RT_COL_TS], rt_zigzag((int64_t)((uint64_t)ev->ts_ns - (uint64_t)w->prev_ts)));
    col_uvar(&w->seq[RT_COL_PID], rt_zigzag((int64_t)ev->pid - w->prev_pid));
    col_uvar(&w->seq[RT_COL_TID], rt_zigzag((int64_t)ev->tid - ev->pid));
    col_uvar(op_col(oc, RT_COL_DUR), ev->dur_ns);
    col_uvar(op_col(oc, RT_COL_FLAGS), ev->flags);
    col_uvar(op_col(oc, RT_COL_RESULT), rt_zigzag(ev->result));
    col_uvar(op_col(oc, RT_COL_MASK), mask);
    for (int i = 0; i < RT_EVENT_STRS; i++)
        if (mask & (1u << i))
            col_uvar(op_col(oc, RT_COL_S0 + i), (uint64_t)refs[i]);
    for (int i = 0; i < RT_EVENT_NUMS; i++)
        if (ev->num[i])
            col_uvar(op_col(oc, RT_COL_N0 + i), rt_zigzag(ev->num[i]));
    w->prev_ts = ev->ts_ns;
    w->prev_pid = ev->pid;
    w->n_events++;
    w->n_chunk++;
    return RT_OK;
}

bool rt_event_matters(const struct rt_event *ev)
{
    static const uint16_t ops[] = {RT_OP_PROC_START, RT_OP_PROC_EXIT, RT_OP_EXEC,   RT_OP_SPAWN,
                                   RT_OP_SYSTEM,     RT_OP_POPEN,     RT_OP_KILL,   RT_OP_OUTBOUND,
                                   RT_OP_INBOUND,    RT_OP_SETID,     RT_OP_PTRACE, RT_OP_MEMFD,
                                   RT_OP_MARK};
    if (ev->flags)
        return true;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (ev->op == ops[i])
            return true;
    return false;
}

/* Copies ev into h, strings cut to max_string, reusing h's buffer. */
static int hold(struct rt_writer *w, struct held *h, const struct rt_event *ev)
{
    size_t len[RT_EVENT_STRS], total = 0;
    unsigned cut = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        len[i] = ev->str[i].len;
        if (len[i] > w->lim.max_string) {
            len[i] = w->lim.max_string;
            cut++;
        }
        total += len[i];
    }
    if (total > h->cap) {
        char *p = realloc(h->strings, total);
        if (!p)
            return RT_ERR_NOMEM;
        h->strings = p;
        h->cap = total;
    }
    h->ev = *ev;
    h->cut = cut;
    size_t off = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        if (len[i])
            memcpy(h->strings + off, ev->str[i].ptr, len[i]);
        h->ev.str[i] = (struct rt_str){len[i] ? h->strings + off : NULL, len[i]};
        off += len[i];
    }
    return RT_OK;
}

/* Past the head: into the ring of the latest events. When the second half of the budget is
 * full, the oldest ring events leave it: kept if rt_event_matters() and the kept ones fill less
 * than half of the second half, dropped otherwise, until one is dropped. */
static int add_tail(struct rt_writer *w, const struct rt_event *ev)
{
    size_t room = w->lim.max_events - w->head;
    if (!room) {
        w->counters[RT_CTR_EVENTS_DROPPED]++;
        w->flags_dropped |= ev->flags;
        return RT_OK;
    }
    while (w->n_kept + w->ring_len >= room) {
        struct held *old = &w->ring[w->ring_start];
        if (rt_event_matters(&old->ev) && w->n_kept < room / 2) {
            if (w->n_kept == w->cap_kept) {
                size_t cap = w->cap_kept ? w->cap_kept * 2 : 64;
                struct held *k = realloc(w->kept, cap * sizeof *k);
                if (!k)
                    return RT_ERR_NOMEM;
                w->kept = k;
                w->cap_kept = cap;
            }
            w->kept[w->n_kept++] = *old; /* the kept entry takes the buffer */
            *old = (struct held){0};
        } else {
            w->counters[RT_CTR_EVENTS_DROPPED]++;
            w->flags_dropped |= old->ev.flags;
            w->n_events--;
        }
        w->ring_start = (w->ring_start + 1) % w->ring_cap;
        w->ring_len--;
    }
    if (w->ring_len == w->ring_cap) { /* grow (only while the ring is not yet full) */
        size_t cap = w->ring_cap ? w->ring_cap * 2 : 256;
        if (cap > room)
            cap = room;
        struct held *r = calloc(cap, sizeof *r);
        if (!r)
            return RT_ERR_NOMEM;
        for (size_t i = 0; i < w->ring_len; i++)
            r[i] = w->ring[(w->ring_start + i) % w->ring_cap];
        for (size_t i = w->ring_len; i < w->ring_alloc; i++)
            free(w->ring[(w->ring_start + i) % w->ring_cap].strings);
        free(w->ring);
        w->ring = r;
        w->ring_cap = w->ring_alloc = cap;
        w->ring_start = 0;
    }
    struct held *slot = &w->ring[(w->ring_start + w->ring_len) % w->ring_cap];
    int rc = hold(w, slot, ev);
    if (rc)
        return rc;
    w->ring_len++;
    w->n_events++;
    return RT_OK;
}

int rt_writer_add_event(struct rt_writer *w, const struct rt_event *ev)
{
    if (!w || !ev || ev->op >= RT_OP__COUNT)
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    for (int i = 0; i < RT_EVENT_STRS; i++)
        if (ev->str[i].len && !ev->str[i].ptr)
            return RT_ERR_INVALID_ARG;
    if (w->n_events < w->head && !w->ring_len)
        return encode_event(w, ev);
    return add_tail(w, ev);
}

/* At seal time: the kept events, then the ring, oldest first, after the head. */
static int encode_tail(struct rt_writer *w)
{
    for (size_t i = 0; i < w->n_kept; i++) {
        w->counters[RT_CTR_STRINGS_TRUNCATED] += w->kept[i].cut;
        w->n_events--; /* encode_event counts it again */
        if (encode_event(w, &w->kept[i].ev))
            return -1;
    }
    for (size_t i = 0; i < w->ring_len; i++) {
        const struct held *h = &w->ring[(w->ring_start + i) % w->ring_cap];
        w->counters[RT_CTR_STRINGS_TRUNCATED] += h->cut;
        w->n_events--;
        if (encode_event(w, &h->ev))
            return -1;
    }
    return 0;
}

int rt_writer_add_log(struct rt_writer *w, int64_t ts_ns, int stream, const char *text, size_t len)
{
    if (!w || (stream != 1 && stream != 2) || (!text && len))
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    /* each line costs its length plus one, so empty lines are bounded too */
    if (w->log_bytes >= w->lim.max_log_bytes) {
        w->counters[RT_CTR_LOG_BYTES_DROPPED] += len;
        return RT_OK;
    }
    size_t room = w->lim.max_log_bytes - w->log_bytes - 1;
    size_t keep = len < room ? len : room;
    w->counters[RT_CTR_LOG_BYTES_DROPPED] += len - keep;
    if (buf_svar(&w->logs, (int64_t)((uint64_t)ts_ns - (uint64_t)w->prev_log_ts)) ||
        buf_uvar(&w->logs, (uint64_t)stream) || buf_lstr(&w->logs, text, keep))
        return RT_ERR_NOMEM;
    w->prev_log_ts = ts_ns;
    w->log_bytes += keep + 1;
    w->n_logs++;
    return RT_OK;
}

size_t rt_writer_event_count(const struct rt_writer *w)
{
    return w ? w->n_events : 0;
}

/* A uvarint META field as stored: dropped_flags adds what the writer dropped. */
static uint64_t meta_uvar(const struct rt_writer *w, unsigned id, uint64_t v)
{
    return id == RT_META_ID_dropped_flags ? v | w->flags_dropped : v;
}

static int encode_meta(struct rt_writer *w, struct buf *b)
{
    const struct rt_meta *m = &w->meta;
    int fail = 0;
#define _(id, name, type, member) fail = fail || ENC_##type(id, member);
#define ENC_RT_WT_STR(id, member) tlv_str(b, id, m->member)
#define ENC_RT_WT_UVAR(id, member) tlv_uvar(b, id, meta_uvar(w, id, (uint64_t)m->member))
#define ENC_RT_WT_SVAR(id, member) tlv_svar(b, id, (int64_t)m->member)
#define ENC_RT_WT_DIGEST(id, member) (m->has_prev && tlv(b, id, m->member, RT_DIGEST_LEN))
#define ENC_RT_WT_PAIRS(id, member) 0 /* below */
    RT_META_FIELDS(_)
#undef _
    if (fail)
        return -1;
    struct buf pairs = {0};
    for (unsigned i = 0; i < RT_CTR__COUNT; i++) {
        uint64_t v = m->counters[i] + w->counters[i];
        if (v && (buf_uvar(&pairs, i) || buf_uvar(&pairs, v))) {
            free(pairs.p);
            return -1;
        }
    }
    fail = pairs.len && tlv(b, RT_META_ID_counters, pairs.p, pairs.len);
    free(pairs.p);
    return fail ? -1 : 0;
}

static int counted_block(struct buf *out, enum rt_block type, size_t count, const struct buf *b)
{
    uint8_t tmp[10];
    size_t n = rt_varint_put(tmp, count);
    return buf_uvar(out, (uint64_t)type) || buf_uvar(out, n + b->len) || buf_put(out, tmp, n) ||
           buf_put(out, b->p, b->len);
}

static size_t column_len(const struct column *c)
{
    size_t n = 0;
    for (int k = 0; k < RT_WIRE_PLANES; k++)
        n += c->plane[k].len;
    return n;
}

/* A small stream as a single plane (plain LEB128): planes cost their length prefixes and
 * only pay off once zstd has enough values to model each plane. */
static int put_merged(struct buf *out, const struct column *c)
{
    size_t pos[RT_WIRE_PLANES] = {0};
    size_t len = column_len(c);
    if (buf_uvar(out, len) || buf_reserve(out, len))
        return -1;
    while (pos[0] < c->plane[0].len) {
        for (int k = 0;; k++) {
            const struct buf *p = &c->plane[k < RT_WIRE_PLANES ? k : RT_WIRE_PLANES - 1];
            size_t *at = &pos[k < RT_WIRE_PLANES ? k : RT_WIRE_PLANES - 1];
            uint8_t b = p->p[(*at)++];
            out->p[out->len++] = b;
            if (!(b & 0x80))
                break;
        }
    }
    return 0;
}

/* A column: uvarint stream count, then per stream uvarint key (the op, 0 for a seq column),
 * uvarint plane count and the planes as lstrings. Empty streams are left out. */
static int encode_column(const struct rt_writer *w, int i, struct buf *ev)
{
    struct buf col = {0};
    size_t streams = 0;
    unsigned n_keys = i < RT_COL_SEQ_COUNT ? 1 : RT_OP__COUNT;
    for (unsigned op = 0; op < n_keys; op++) {
        const struct column *c = column_at(w, i, op);
        streams += c && column_len(c) > 0;
    }
    int fail = buf_uvar(&col, streams);
    for (unsigned op = 0; op < n_keys && !fail; op++) {
        const struct column *c = column_at(w, i, op);
        if (!c || !column_len(c))
            continue;
        if (column_len(c) < SMALL_STREAM) {
            fail = buf_uvar(&col, op) || buf_uvar(&col, 1) || put_merged(&col, c);
            continue;
        }
        fail = buf_uvar(&col, op) || buf_uvar(&col, RT_WIRE_PLANES);
        for (int k = 0; k < RT_WIRE_PLANES && !fail; k++)
            fail = buf_lstr(&col, c->plane[k].p, c->plane[k].len);
    }
    fail = fail || buf_lstr(ev, col.p, col.len);
    free(col.p);
    return fail;
}

/* Closes the chunk being filled: its columns become one EVENTS block in w->chunks, and the
 * next chunk starts its deltas from 0 again so a reader can decode it on its own. */
static int flush_chunk(struct rt_writer *w)
{
    if (!w->n_chunk)
        return 0;
    struct buf ev = {0};
    int fail = buf_uvar(&ev, w->n_chunk) || buf_uvar(&ev, RT_COL__COUNT);
    for (int i = 0; i < RT_COL__COUNT && !fail; i++)
        fail = encode_column(w, i, &ev);
    fail = fail || block(&w->chunks, RT_BLK_EVENTS, &ev);
    free(ev.p);
    if (fail)
        return -1;
    each_plane(w, plane_empty); /* capacity (and so the room) stays */
    w->n_chunk = 0;
    w->n_chunks++;
    w->prev_ts = 0;
    w->prev_pid = 0;
    return 0;
}

static int serialise(struct rt_writer *w, struct buf *out)
{
    static const enum rt_block payload_blocks[3] = {RT_BLK_EVENT, RT_BLK_RESPONSE, RT_BLK_ERROR};
    if (encode_tail(w) || flush_chunk(w))
        return -1;
    /* version 1 when the events fit one chunk: every reader of v1 reads the common case */
    uint8_t header[RT_WIRE_HEADER_LEN] = {
        'R', 'T', 'R', 'B', w->n_chunks > 1 ? RT_BUNDLE_VERSION : 1, 0, 0, 0};
    struct buf meta = {0};
    if (buf_put(out, header, sizeof header) || encode_meta(w, &meta) ||
        block(out, RT_BLK_META, &meta)) {
        free(meta.p);
        return -1;
    }
    free(meta.p);
    if (w->has_code && block(out, RT_BLK_CODE, &w->code))
        return -1;
    if (w->n_env && counted_block(out, RT_BLK_ENV, w->n_env, &w->env))
        return -1;
    if (w->n_headers && counted_block(out, RT_BLK_HEADERS, w->n_headers, &w->headers))
        return -1;
    for (int k = 0; k < 3; k++)
        if (w->has_payload[k] && block(out, payload_blocks[k], &w->payload[k]))
            return -1;
    if (w->n_strings && counted_block(out, RT_BLK_STRINGS, w->n_strings, &w->strings))
        return -1;
    if (w->n_chunks && buf_put(out, w->chunks.p, w->chunks.len))
        return -1;
    if (w->n_logs && counted_block(out, RT_BLK_LOGS, w->n_logs, &w->logs))
        return -1;
    return 0;
}

int rt_writer_finish_raw(struct rt_writer *w, uint8_t **out, size_t *out_len,
                         uint8_t digest[RT_DIGEST_LEN])
{
    if (!w || !out || !out_len)
        return RT_ERR_INVALID_ARG;
    if (w->finished)
        return RT_ERR_BUNDLE_FINISHED;
    w->finished = true;
    struct buf raw = {0};
    uint8_t d[RT_DIGEST_LEN];
    if (serialise(w, &raw) || buf_reserve(&raw, 2 + RT_DIGEST_LEN)) {
        free(raw.p);
        return RT_ERR_NOMEM;
    }
    rt_sha256(raw.p, raw.len, d);
    raw.p[raw.len++] = RT_BLK_FOOTER;
    raw.p[raw.len++] = RT_DIGEST_LEN;
    memcpy(raw.p + raw.len, d, RT_DIGEST_LEN);
    raw.len += RT_DIGEST_LEN;
    if (digest)
        memcpy(digest, d, RT_DIGEST_LEN);
    *out = raw.p;
    *out_len = raw.len;
    return RT_OK;
}

/* One compression context per thread, kept between bundles: creating one per bundle cost
 * ~3 us of ~15 for a 4 KiB bundle and ~8 of ~80 for 32 KiB (its tables allocated and touched
 * again each time). Freed when the thread exits. */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;
static __thread ZSTD_CCtx *cctx_cached;

static void cctx_free(void *c)
{
    ZSTD_freeCCtx(c);
}

static void cctx_key_init(void)
{
    if (pthread_key_create(&cctx_key, cctx_free) != 0)
        cctx_key = (pthread_key_t)-1;
}

/* This thread's context, reset to defaults; NULL when out of memory. */
static ZSTD_CCtx *thread_cctx(void)
{
    ZSTD_CCtx *c = cctx_cached;
    if (c) {
        ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
        return c;
    }
    c = ZSTD_createCCtx();
    if (!c)
        return NULL;
    pthread_once(&cctx_once, cctx_key_init);
    if (cctx_key != (pthread_key_t)-1 && pthread_setspecific(cctx_key, c) == 0)
        cctx_cached = c;
    return c;
}

int rt_bundle_compress(const uint8_t *raw, size_t raw_len, int level, uint8_t **out,
                       size_t *out_len)
{
    ZSTD_CCtx *cctx = thread_cctx();
    size_t cap = ZSTD_compressBound(raw_len);
    uint8_t *z = malloc(cap ? cap : 1);
    if (!cctx || !z) {
        if (cctx != cctx_cached)
            ZSTD_freeCCtx(cctx);
        free(z);
        return RT_ERR_NOMEM;
    }
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level ? level : 3);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    size_t n = ZSTD_compress2(cctx, z, cap, raw, raw_len);
    if (cctx != cctx_cached)
        ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(n)) {
        free(z);
        return RT_ERR_BUNDLE_ZSTD;
    }
    *out = z;
    *out_len = n;
    return RT_OK;
}

int rt_writer_finish(struct rt_writer *w, int level, uint8_t **out, size_t *out_len,
                     uint8_t digest[RT_DIGEST_LEN])
{
    uint8_t *raw;
    size_t raw_len;
    if (!out || !out_len)
        return RT_ERR_INVALID_ARG;
    int rc = rt_writer_finish_raw(w, &raw, &raw_len, digest);
    if (rc)
        return rc;
    rc = rt_bundle_compress(raw, raw_len, level, out, out_len);
    free(raw);
    return rc;
}
