/* The diff of two invocations: META/CODE fields, ENV names and keyed hashes, payloads as JSON
 * structure, behaviour as counted items per category, and per process a Myers alignment of
 * behaviour keys cut into unified-diff hunks. Keys, positions and items are interned into
 * small ids once, so the alignment and the counts compare integers. */
#include "analysis/diff.h"
#include "analysis/keys.h"
#include "analysis/timeline.h"
#include "formats/digest.h"
#include "formats/escape.h"
#include "formats/render.h"
#include "formats/toolbox.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *doc;
} categories[] = {
#define _(id, name, doc) [RT_DIFF_##id] = {name, doc},
    RT_DIFF_CATEGORIES(_)
#undef _
};

const char *rt_diff_category_name(unsigned cat)
{
    return cat < RT_DIFF__COUNT ? categories[cat].name : NULL;
}

const char *rt_diff_category_doc(unsigned cat)
{
    return cat < RT_DIFF__COUNT ? categories[cat].doc : NULL;
}

/* ---- interning: strings to dense ids (open addressing, FNV-1a) ---- */

struct intern {
    char **str;
    size_t *len;
    size_t n, cap;
    uint32_t *slot; /* id + 1; 0 empty */
    size_t n_slots; /* a power of two */
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static int intern_grow(struct intern *t)
{
    size_t n_slots = t->n_slots ? 2 * t->n_slots : 1024;
    uint32_t *slot = calloc(n_slots, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t id = 0; id < t->n; id++) {
        size_t h = hash_bytes(t->str[id], t->len[id]) & (n_slots - 1);
        while (slot[h])
            h = (h + 1) & (n_slots - 1);
        slot[h] = (uint32_t)id + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->n_slots = n_slots;
    return 0;
}

/* The id of s[0..len). When s is new it is kept: *owned (malloc'ed, NUL-terminated) is taken
 * and set to NULL, or, when owned is NULL, s is copied. Returns -1 when out of memory. */
static long intern(struct intern *t, const char *s, size_t len, char **owned)
{
    if (2 * (t->n + 1) > t->n_slots && intern_grow(t))
        return -1;
    size_t h = hash_bytes(s, len) & (t->n_slots - 1);
    for (; t->slot[h]; h = (h + 1) & (t->n_slots - 1)) {
        size_t id = t->slot[h] - 1;
        if (t->len[id] == len && !memcmp(t->str[id], s, len))
            return (long)id;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        char **str = realloc(t->str, cap * sizeof *str);
        if (!str)
            return -1;
        t->str = str;
        size_t *lens = realloc(t->len, cap * sizeof *lens);
        if (!lens)
            return -1;
        t->len = lens;
        t->cap = cap;
    }
    char *copy;
    if (owned) {
        copy = *owned;
        *owned = NULL;
    } else if ((copy = malloc(len + 1))) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    if (!copy)
        return -1;
    t->str[t->n] = copy;
    t->len[t->n] = len;
    t->slot[h] = (uint32_t)t->n + 1;
    return (long)t->n++;
}

static void intern_free(struct intern *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->str[i]);
    free(t->str);
    free(t->len);
    free(t->slot);
}

/* ---- alignment (Myers 1986, with the trace of every step kept for the edit script) ---- */

struct runs {
    struct {
        char op;
        size_t count;
    } * v;
    size_t n, cap;
    bool nomem;
};

static void runs_add(struct runs *r, char op, size_t count)
{
    if (!count || r->nomem)
        return;
    if (r->n && r->v[r->n - 1].op == op) {
        r->v[r->n - 1].count += count;
        return;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        void *v = realloc(r->v, cap * sizeof *r->v);
        if (!v) {
            r->nomem = true;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n].op = op;
    r->v[r->n++].count = count;
}

/* Snake comparisons allowed before the alignment falls back, whatever D is: keeps a pathological
 * pair of long, very different timelines within about a second. */
#define MAX_WORK 400000000u

/* Myers on x[0..n), y[0..m) (no common prefix or suffix). Appends the script to *rev in
 * reverse order. Returns 1 when found, 0 when max_d or the work bound was reached, -1 on
 * memory. */
static int myers(const unsigned *x, long n, const unsigned *y, long m, long max_d, struct runs *rev)
{
    long *trace = NULL; /* V of step d at trace[d*d .. d*d+2d], index k + d */
    size_t cap = 0, work = 0;
    long D = -1;
    for (long d = 0; d <= max_d && d <= n + m; d++) {
        size_t need = (size_t)(d + 1) * (size_t)(d + 1);
        if (need > cap) {
            size_t c = cap ? 2 * cap : 1024;
            while (c < need)
                c *= 2;
            long *t = realloc(trace, c * sizeof *t);
            if (!t) {
                free(trace);
                return -1;
            }
            trace = t;
            cap = c;
        }
        long *v = trace + d * d, *prev = d ? trace + (d - 1) * (d - 1) : NULL;
        for (long k = -d; k <= d; k += 2) {
            long xs;
            if (d == 0)
                xs = 0;
            else if (k == -d || (k != d && prev[k - 1 + d - 1] < prev[k + 1 + d - 1]))
                xs = prev[k + 1 + d - 1]; /* down: y[ys-1] added */
            else
                xs = prev[k - 1 + d - 1] + 1; /* right: x[xs-1] removed */
            long ys = xs - k;
            while (xs < n && ys < m && x[xs] == y[ys]) {
                xs++;
                ys++;
                work++;
            }
            v[k + d] = xs;
            if (xs >= n && ys >= m) {
                D = d;
                break;
            }
        }
        if (D >= 0 || work > MAX_WORK)
            break;
    }
    if (D < 0) {
        free(trace);
        return 0;
    }
    long xs = n, ys = m;
    for (long d = D; d > 0; d--) {
        long k = xs - ys, *prev = trace + (d - 1) * (d - 1);
        bool down = k == -d || (k != d && prev[k - 1 + d - 1] < prev[k + 1 + d - 1]);
        long pk = down ? k + 1 : k - 1;
        long px = prev[pk + d - 1], py = px - pk;
        long mx = down ? px : px + 1; /* after the edit, before the snake */
        runs_add(rev, ' ', (size_t)(xs - mx));
        runs_add(rev, down ? '+' : '-', 1);
        xs = px;
        ys = py;
    }
    runs_add(rev, ' ', (size_t)xs);
    free(trace);
    return 1;
}

int rt_diff_align(const unsigned *x, size_t n, const unsigned *y, size_t m, size_t max_d,
                  void (*emit)(char op, size_t count, void *arg), void *arg, bool *bounded)
{
    size_t pre = 0, suf = 0;
    *bounded = false;
    while (pre < n && pre < m && x[pre] == y[pre])
        pre++;
    while (suf < n - pre && suf < m - pre && x[n - 1 - suf] == y[m - 1 - suf])
        suf++;
    size_t xn = n - pre - suf, ym = m - pre - suf;
    if (pre)
        emit(' ', pre, arg);
    if (!xn || !ym) {
        if (xn)
            emit('-', xn, arg);
        if (ym)
            emit('+', ym, arg);
    } else {
        struct runs rev = {0};
        int found = xn < LONG_MAX / 4 && ym < LONG_MAX / 4
                        ? myers(x + pre, (long)xn, y + pre, (long)ym, (long)max_d, &rev)
                        : 0;
        if (found < 0 || rev.nomem) {
            free(rev.v);
            return -1;
        }
        if (found) {
            for (size_t i = rev.n; i-- > 0;)
                emit(rev.v[i].op, rev.v[i].count, arg);
        } else {
            *bounded = true;
            emit('-', xn, arg);
            emit('+', ym, arg);
        }
        free(rev.v);
    }
    if (suf)
        emit(' ', suf, arg);
    return 0;
}

/* ---- building the diff ---- */

struct side {
    const struct rt_bundle *b;
    size_t n;         /* events kept by the filter */
    size_t *index;    /* their indexes in b->events */
    unsigned *key;    /* their key ids */
    unsigned *pos;    /* their position ids */
    uint64_t *pospid; /* (position id << 32) | pid, for the process counts */
};

/* What rt_diff_add keeps of a bundle's header: meta strings, env, code and payloads, copied. */
struct header {
    struct rt_bundle b; /* only meta, env, code, event and response are set */
    bool added;
};

struct rt_diff_builder {
    struct rt_diff_options opt;
    struct rt_filter filter;
    struct rt_diff *d;
    struct header hdr[2];
    struct side sides[2];
    struct intern keys, positions, items;
    struct intern probes; /* side, pid and key of each successful probe seen */
    size_t *count[2];     /* per item id */
    size_t count_cap;
    struct rt_buf buf;
    bool nomem;
};

static void count_item(struct rt_diff_builder *bd, int side, enum rt_diff_category cat,
                       const char *text, size_t len, size_t n)
{
    char tag = (char)('A' + (int)cat);
    rt_buf_reset(&bd->buf);
    rt_buf_append(&bd->buf, &tag, 1);
    rt_buf_append(&bd->buf, text, len);
    if (bd->buf.failed) {
        bd->nomem = true;
        return;
    }
    long id = intern(&bd->items, bd->buf.data, bd->buf.len, NULL);
    if (id < 0) {
        bd->nomem = true;
        return;
    }
    if ((size_t)id >= bd->count_cap) {
        size_t cap = bd->count_cap ? 2 * bd->count_cap : 256;
        for (int s = 0; s < 2; s++) {
            size_t *c = realloc(bd->count[s], cap * sizeof *c);
            if (!c) {
                bd->nomem = true;
                return;
            }
            memset(c + bd->count_cap, 0, (cap - bd->count_cap) * sizeof *c);
            bd->count[s] = c;
        }
        bd->count_cap = cap;
    }
    bd->count[side][id] += n;
}

/* The length of the position at the start of key: it ends before " <op name>(". */
static size_t position_len(const char *key, const struct rt_event *ev)
{
    char pat[64];
    const struct rt_op_info *info = rt_op_info(ev->op);
    if (info)
        snprintf(pat, sizeof pat, " %s(", info->name);
    else
        snprintf(pat, sizeof pat, " op_%u(", ev->op);
    const char *at = strstr(key, pat);
    return at ? (size_t)(at - key) : 0;
}

/* The n-th quoted string among the arguments of key (which starts at the op name): the
 * normalised, escaped text the key already holds, quotes included. Escaped quotes inside are
 * `\"` (formats/escape.h), so the closing quote is the first one not after a backslash. */
static bool quoted_arg(const char *args, int n, const char **at, size_t *len)
{
    const char *p = strchr(args, '(');
    for (int i = 0; p && *p; p++) {
        if (*p != '"')
            continue;
        const char *q = p + 1;
        while (*q && *q != '"')
            q += q[0] == '\\' && q[1] ? 2 : 1;
        if (!*q)
            return false;
        if (i++ == n) {
            *at = p;
            *len = (size_t)(q + 1 - p);
            return true;
        }
        p = q;
    }
    return false;
}

/* The access of a file operation to its path (which 0) or second path (which 1); NULL when
 * that path is not accessed (a symlink's target is only text). */
static const char *file_access(const struct rt_event *ev, int which)
{
    bool created = ev->flags & RT_EF_CREATE;
    switch (ev->op) {
    case RT_OP_OPEN: {
        if (which)
            return NULL;
        static const char *const acc[] = {"read", "write", "rw", "rw"};
        return created ? "create" : acc[ev->num[1] & 3]; /* O_ACCMODE: 3 on every Linux arch */
    }
    case RT_OP_FOPEN: {
        if (which)
            return NULL;
        const char *mode = ev->str[1].ptr && ev->str[1].len ? ev->str[1].ptr : "r";
        if (created)
            return "create";
        if (memchr(mode, '+', ev->str[1].len))
            return "rw";
        return mode[0] == 'r' ? "read" : "write";
    }
    case RT_OP_UNLINK:
        return which ? NULL : "delete";
    case RT_OP_RENAME:
        return which ? "create" : "delete";
    case RT_OP_LINK:
        return which ? "create" : NULL;
    case RT_OP_SYMLINK:
        return which ? "create" : NULL;
    case RT_OP_CHMOD:
        return which ? NULL : "chmod";
    case RT_OP_CHOWN:
        return which ? NULL : "chown";
    case RT_OP_MKDIR:
        return which ? NULL : "create";
    case RT_OP_TRUNCATE:
        return which ? NULL : "write";
    case RT_OP_DLOPEN:
        return which ? NULL : "load";
    default:
        return NULL;
    }
}

/* The file items of ev; args is its key from the op name on, whose quoted strings are the
 * path (first) and the second path (second) already normalised and escaped. */
static void file_items(struct rt_diff_builder *bd, int side, const struct rt_event *ev,
                       const char *args)
{
    for (int which = 0; which < 2; which++) {
        const char *acc = file_access(ev, which);
        if (!acc)
            continue;
        const char *path = "\"\"";
        size_t path_len = 2;
        quoted_arg(args, which, &path, &path_len);
        rt_buf_reset(&bd->buf);
        rt_buf_puts(&bd->buf, acc);
        rt_buf_puts(&bd->buf, " ");
        rt_buf_append(&bd->buf, path, path_len);
        int err = ev->result < 0 && ev->result >= -4095 ? (int)-ev->result : 0;
        if (err) {
            const char *name = rt_render_errno_name(err);
            rt_buf_printf(&bd->buf, " = %s", name ? name : "error");
        }
        if (bd->buf.failed || bd->nomem) {
            bd->nomem = true;
            return;
        }
        char *text = rt_buf_detach(&bd->buf, NULL);
        if (!text) {
            bd->nomem = true;
            return;
        }
        count_item(bd, side, RT_DIFF_FILE, text, strlen(text), 1);
        free(text);
    }
}

static enum rt_diff_category category_of(const struct rt_event *ev)
{
    const struct rt_op_info *info = rt_op_info(ev->op);
    if (!info)
        return RT_DIFF__COUNT;
    if (info->str_role[0] == RT_ROLE_PROGRAM || info->str_role[0] == RT_ROLE_COMMAND)
        return RT_DIFF_PROGRAM;
    if (info->kind == RT_KIND_NET && ev->op != RT_OP_SOCKET)
        return RT_DIFF_DESTINATION;
    if (info->kind == RT_KIND_FILE)
        return RT_DIFF_FILE;
    return RT_DIFF__COUNT;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Keys, positions and behaviour items of one side, one event at a time. */
struct loader {
    struct rt_diff_builder *bd;
    int s;
    const struct rt_bundle *b;
};

/* A successful probe (stat, access, readlink) that its process already made with the same key.
 * The interposer records such a repeat once and counts the rest (probe_repeats), but records it
 * again when its fold table evicted the first, which depends on every other path the process
 * probed: so a repeat says nothing about behaviour, and is left out of both sides alike. */
static bool repeated_probe(struct rt_diff_builder *bd, int s, const struct rt_event *ev,
                           const char *key, size_t klen)
{
    if ((ev->op != RT_OP_STAT && ev->op != RT_OP_ACCESS && ev->op != RT_OP_READLINK) ||
        ev->result < 0)
        return false;
    uint32_t pid = (uint32_t)ev->pid;
    rt_buf_reset(&bd->buf);
    rt_buf_append(&bd->buf, s ? "B" : "A", 1);
    rt_buf_append(&bd->buf, &pid, sizeof pid);
    rt_buf_append(&bd->buf, key, klen);
    if (bd->buf.failed) {
        bd->nomem = true;
        return false;
    }
    size_t before = bd->probes.n;
    if (intern(&bd->probes, bd->buf.data, bd->buf.len, NULL) < 0) {
        bd->nomem = true;
        return false;
    }
    return bd->probes.n == before;
}

static int load_event(size_t i, const char *key, size_t klen, void *arg)
{
    struct loader *ld = arg;
    struct rt_diff_builder *bd = ld->bd;
    struct side *sd = &bd->sides[ld->s];
    const struct rt_event *ev = &ld->b->events[i];
    if (bd->opt.filter && !rt_filter_event(bd->opt.filter, ev))
        return 0;
    if (repeated_probe(bd, ld->s, ev, key, klen))
        return bd->nomem ? RT_ERR_NOMEM : 0;
    size_t plen = position_len(key, ev);
    long pos = intern(&bd->positions, key, plen, NULL);
    enum rt_diff_category cat = category_of(ev);
    if (cat == RT_DIFF_PROGRAM || cat == RT_DIFF_DESTINATION)
        count_item(bd, ld->s, cat, plen ? key + plen + 1 : key, plen ? klen - plen - 1 : klen, 1);
    else if (cat == RT_DIFF_FILE)
        file_items(bd, ld->s, ev, plen ? key + plen + 1 : key);
    uint32_t flags = ev->flags & ~RT_NORM_DROPPED_FLAGS;
    for (unsigned bit = 0; flags && bit < 32; bit++) {
        if (!(flags & (1u << bit)))
            continue;
        char name[32];
        const char *fname = rt_event_flag_name(bit);
        if (!fname) {
            snprintf(name, sizeof name, "flag%u", bit);
            fname = name;
        }
        count_item(bd, ld->s, RT_DIFF_FLAG, fname, strlen(fname), 1);
    }
    long id = intern(&bd->keys, key, klen, NULL);
    if (pos < 0 || id < 0 || bd->nomem)
        return RT_ERR_NOMEM;
    sd->index[sd->n] = i;
    sd->key[sd->n] = (unsigned)id;
    sd->pos[sd->n] = (unsigned)pos;
    sd->pospid[sd->n] = (uint64_t)pos << 32 | (uint32_t)ev->pid;
    sd->n++;
    return 0;
}

static int load_side(struct rt_diff_builder *bd, int s, const struct rt_bundle *b)
{
    struct side *sd = &bd->sides[s];
    size_t cap = b->n_events ? b->n_events : 1;
    sd->index = malloc(cap * sizeof *sd->index);
    sd->key = malloc(cap * sizeof *sd->key);
    sd->pos = malloc(cap * sizeof *sd->pos);
    sd->pospid = malloc(cap * sizeof *sd->pospid);
    if (!sd->index || !sd->key || !sd->pos || !sd->pospid)
        return -1;
    struct loader ld = {bd, s, b};
    if (rt_keys_each(b, load_event, &ld) != RT_OK || bd->nomem)
        return -1;
    /* processes: distinct pids per position; the pairs are not needed afterwards */
    uint64_t *pp = sd->pospid;
    qsort(pp, sd->n, sizeof *pp, cmp_u64);
    for (size_t i = 0; i < sd->n; i++) {
        if (i && pp[i] == pp[i - 1])
            continue;
        size_t pos = (size_t)(pp[i] >> 32);
        count_item(bd, s, RT_DIFF_PROCESS, bd->positions.str[pos], bd->positions.len[pos], 1);
    }
    free(sd->pospid);
    sd->pospid = NULL;
    return bd->nomem ? -1 : 0;
}

static int cmp_count(const void *a, const void *b)
{
    const struct rt_diff_count *x = a, *y = b;
    if (x->cat != y->cat)
        return x->cat < y->cat ? -1 : 1;
    return strcmp(x->item, y->item);
}

static int collect_counts(struct rt_diff_builder *bd)
{
    struct rt_diff *d = bd->d;
    size_t n = 0;
    for (size_t id = 0; id < bd->items.n; id++)
        n += bd->count[0][id] != bd->count[1][id];
    if (!n)
        return 0;
    d->counts = calloc(n, sizeof *d->counts);
    if (!d->counts)
        return -1;
    for (size_t id = 0; id < bd->items.n; id++) {
        if (bd->count[0][id] == bd->count[1][id])
            continue;
        struct rt_diff_count *c = &d->counts[d->n_counts++];
        c->cat = (enum rt_diff_category)(bd->items.str[id][0] - 'A');
        c->item = strdup(bd->items.str[id] + 1);
        c->a = bd->count[0][id];
        c->b = bd->count[1][id];
        if (!c->item)
            return -1;
    }
    qsort(d->counts, d->n_counts, sizeof *d->counts, cmp_count);
    return 0;
}

/* ---- timeline hunks ---- */

struct proc_builder {
    struct runs runs;
};

static void emit_run(char op, size_t count, void *arg)
{
    runs_add(arg, op, count);
}

static int add_line(struct rt_diff_proc *p, size_t *cap, char op, size_t ai, size_t bi,
                    const char *key)
{
    if (p->n_lines == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        struct rt_diff_line *l = realloc(p->lines, c * sizeof *l);
        if (!l)
            return -1;
        p->lines = l;
        *cap = c;
    }
    p->lines[p->n_lines++] = (struct rt_diff_line){op, ai, bi, key, NULL};
    return 0;
}

/* Hunks of one process from the runs: changes closer than 2*context equal lines share a hunk.
 * xi / yi map positions in the process's sequences to event indexes. */
static int make_hunks(struct rt_diff_proc *p, const struct runs *r, const size_t *xi,
                      const size_t *yi, const unsigned *xk, const unsigned *yk, char *const *keys,
                      size_t ctx)
{
    size_t line_cap = 0, hunk_cap = 0;
    size_t i = 0, ax = 0, by = 0; /* run index, positions at its start */
    while (i < r->n) {
        if (r->v[i].op == ' ') {
            ax += r->v[i].count;
            by += r->v[i].count;
            i++;
            continue;
        }
        /* a hunk starts ctx equal lines before this change */
        size_t lead = ax < ctx ? ax : ctx;
        size_t a0 = ax - lead, b0 = by - lead;
        size_t first = p->n_lines;
        for (size_t k = 0; k < lead; k++)
            if (add_line(p, &line_cap, ' ', xi[a0 + k], yi[b0 + k], keys[xk[a0 + k]]))
                return -1;
        size_t a_end = ax, b_end = by;
        while (i < r->n) {
            size_t c = r->v[i].count;
            if (r->v[i].op == '-') {
                for (size_t k = 0; k < c; k++)
                    if (add_line(p, &line_cap, '-', xi[ax + k], SIZE_MAX, keys[xk[ax + k]]))
                        return -1;
                ax += c;
                p->edits += c;
            } else if (r->v[i].op == '+') {
                for (size_t k = 0; k < c; k++)
                    if (add_line(p, &line_cap, '+', SIZE_MAX, yi[by + k], keys[yk[by + k]]))
                        return -1;
                by += c;
                p->edits += c;
            } else {
                bool last = i + 1 == r->n;
                size_t keep = !last && c <= 2 * ctx ? c : (c < ctx ? c : ctx);
                for (size_t k = 0; k < keep; k++)
                    if (add_line(p, &line_cap, ' ', xi[ax + k], yi[by + k], keys[xk[ax + k]]))
                        return -1;
                if (keep < c || last) { /* the hunk ends here */
                    a_end = ax + keep;
                    b_end = by + keep;
                    ax += c;
                    by += c;
                    i++;
                    break;
                }
                ax += c;
                by += c;
            }
            a_end = ax;
            b_end = by;
            i++;
        }
        if (p->n_hunks == hunk_cap) {
            size_t hc = hunk_cap ? 2 * hunk_cap : 8;
            struct rt_diff_hunk *h = realloc(p->hunks, hc * sizeof *h);
            if (!h)
                return -1;
            p->hunks = h;
            hunk_cap = hc;
        }
        p->hunks[p->n_hunks++] = (struct rt_diff_hunk){
            /* diff -u: an empty side starts at the line before it */
            a_end > a0 ? a0 + 1 : a0, a_end - a0, b_end > b0 ? b0 + 1 : b0, b_end - b0, first,
            p->n_lines - first,
        };
    }
    return 0;
}

/* For each position, the aligned timelines of A and B; processes with changes are kept. */
static int diff_timelines(struct rt_diff_builder *bd, const struct side *sa, const struct side *sb)
{
    size_t np = bd->positions.n;
    size_t *start[2], *fill[2];
    const struct side *sides[2] = {sa, sb};
    unsigned *seq[2] = {NULL, NULL};
    size_t *idx[2] = {NULL, NULL};
    int rc = -1;
    start[0] = calloc(np + 1, sizeof(size_t));
    start[1] = calloc(np + 1, sizeof(size_t));
    fill[0] = calloc(np + 1, sizeof(size_t));
    fill[1] = calloc(np + 1, sizeof(size_t));
    bd->d->procs = calloc(np ? np : 1, sizeof *bd->d->procs);
    if (!start[0] || !start[1] || !fill[0] || !fill[1] || !bd->d->procs)
        goto out;
    /* bucket each side's events by position, keeping time order */
    for (int s = 0; s < 2; s++) {
        const struct side *sd = sides[s];
        for (size_t i = 0; i < sd->n; i++)
            start[s][sd->pos[i] + 1]++;
        for (size_t p = 0; p < np; p++)
            start[s][p + 1] += start[s][p];
        seq[s] = malloc((sd->n ? sd->n : 1) * sizeof *seq[s]);
        idx[s] = malloc((sd->n ? sd->n : 1) * sizeof *idx[s]);
        if (!seq[s] || !idx[s])
            goto out;
        for (size_t i = 0; i < sd->n; i++) {
            size_t at = start[s][sd->pos[i]] + fill[s][sd->pos[i]]++;
            seq[s][at] = sd->key[i];
            idx[s][at] = sd->index[i];
        }
    }
    for (size_t p = 0; p < np; p++) {
        size_t a0 = start[0][p], n = start[0][p + 1] - a0;
        size_t b0 = start[1][p], m = start[1][p + 1] - b0;
        struct runs r = {0};
        bool bounded = false;
        if (rt_diff_align(seq[0] + a0, n, seq[1] + b0, m, RT_DIFF_MAX_EDIT_DISTANCE, emit_run, &r,
                          &bounded) ||
            r.nomem) {
            free(r.v);
            goto out;
        }
        if (r.n == 1 && r.v[0].op == ' ') {
            free(r.v);
            continue;
        }
        struct rt_diff_proc *pr = &bd->d->procs[bd->d->n_procs++];
        pr->n_a = n;
        pr->n_b = m;
        pr->bounded = bounded;
        pr->position = strdup(bd->positions.str[p]);
        int hrc = pr->position ? make_hunks(pr, &r, idx[0] + a0, idx[1] + b0, seq[0] + a0,
                                            seq[1] + b0, bd->keys.str, bd->opt.context)
                               : -1;
        free(r.v);
        if (hrc)
            goto out;
    }
    rc = 0;
out:
    for (int s = 0; s < 2; s++) {
        free(start[s]);
        free(fill[s]);
        free(seq[s]);
        free(idx[s]);
    }
    return rc;
}

/* ---- META, CODE, ENV, payloads ---- */

static int add_field(struct rt_diff *d, const char *section, const char *name, const char *a,
                     const char *b)
{
    if ((!a && !b) || (a && b && !strcmp(a, b)))
        return 0;
    struct rt_diff_field *f = realloc(d->fields, (d->n_fields + 1) * sizeof *f);
    if (!f)
        return -1;
    d->fields = f;
    f += d->n_fields++;
    *f = (struct rt_diff_field){section, name, a ? strdup(a) : NULL, b ? strdup(b) : NULL};
    return (a && !f->a) || (b && !f->b) ? -1 : 0;
}

static int diff_fields(struct rt_diff *d, const struct rt_bundle *a, const struct rt_bundle *b)
{
    const struct rt_meta *ma = &a->meta, *mb = &b->meta;
    char na[32], nb[32], ha[2 * RT_DIGEST_LEN + 1], hb[2 * RT_DIGEST_LEN + 1];
    int rc = 0;
    rc |= add_field(d, "meta", "function", ma->function, mb->function);
    rc |= add_field(d, "meta", "version", ma->function_version, mb->function_version);
    rc |= add_field(d, "meta", "runtime", ma->runtime, mb->runtime);
    rc |= add_field(d, "meta", "handler", ma->handler, mb->handler);
    snprintf(na, sizeof na, "%" PRIu32, ma->memory_mb);
    snprintf(nb, sizeof nb, "%" PRIu32, mb->memory_mb);
    rc |= add_field(d, "meta", "memory_mb", na, nb);
    rc |= add_field(d, "meta", "arch", ma->arch ? ma->arch : "x86_64",
                    mb->arch ? mb->arch : "x86_64");
    rc |= add_field(d, "meta", "status", rt_status_name(ma->status), rt_status_name(mb->status));
    rc |= add_field(d, "meta", "error_type", ma->error_type, mb->error_type);
    if (a->has_code || b->has_code) {
        rc |= add_field(d, "code", "task_root",
                        a->has_code ? rt_digest_hex(a->code.task_root, ha) : NULL,
                        b->has_code ? rt_digest_hex(b->code.task_root, hb) : NULL);
        rc |= add_field(d, "code", "layers", a->has_code ? rt_digest_hex(a->code.layers, ha) : NULL,
                        b->has_code ? rt_digest_hex(b->code.layers, hb) : NULL);
        rc |= add_field(d, "code", "task_root_path", a->has_code ? a->code.task_root_path : NULL,
                        b->has_code ? b->code.task_root_path : NULL);
    }
    return rc ? -1 : 0;
}

static int cmp_env(const void *x, const void *y)
{
    return strcmp((*(const struct rt_env_var *const *)x)->name,
                  (*(const struct rt_env_var *const *)y)->name);
}

static const struct rt_env_var **sorted_env(const struct rt_bundle *b)
{
    const struct rt_env_var **v = malloc((b->n_env ? b->n_env : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < b->n_env; i++)
        v[i] = &b->env[i];
    qsort(v, b->n_env, sizeof *v, cmp_env);
    return v;
}

/* The ENV hashes are HMACs under a key that META does not name in this format version: the
 * configured RUNTRAIL_HASH_KEY, or else the sandbox id. They compare when both bundles come
 * from one sandbox, or when any variable present in both has the same hash (under two keys
 * every hash would differ). */
static int diff_env(struct rt_diff *d, const struct rt_bundle *a, const struct rt_bundle *b)
{
    const struct rt_env_var **ea = sorted_env(a), **eb = sorted_env(b);
    int rc = -1;
    if (!ea || !eb)
        goto out;
    bool same_sandbox =
        a->meta.sandbox_id && b->meta.sandbox_id && !strcmp(a->meta.sandbox_id, b->meta.sandbox_id);
    bool one_equal = false;
    for (size_t i = 0, j = 0; i < a->n_env && j < b->n_env;) {
        int c = strcmp(ea[i]->name, eb[j]->name);
        if (!c)
            one_equal |= !memcmp(ea[i]->hash, eb[j]->hash, RT_DIGEST_LEN);
        i += c <= 0;
        j += c >= 0;
    }
    d->env_comparable = same_sandbox || one_equal;
    if (!d->env_comparable)
        d->env_not_comparable_why = "hashes not comparable (different keys: other sandboxes and no "
                                    "variable with an equal hash)";
    d->env = malloc((a->n_env + b->n_env + 1) * sizeof *d->env);
    if (!d->env)
        goto out;
    for (size_t i = 0, j = 0; i < a->n_env || j < b->n_env;) {
        int c = i >= a->n_env ? 1 : j >= b->n_env ? -1 : strcmp(ea[i]->name, eb[j]->name);
        if (c < 0)
            d->env[d->n_env++] = (struct rt_diff_env){strdup(ea[i]->name), RT_DIFF_ENV_REMOVED};
        else if (c > 0)
            d->env[d->n_env++] = (struct rt_diff_env){strdup(eb[j]->name), RT_DIFF_ENV_ADDED};
        else if (d->env_comparable && memcmp(ea[i]->hash, eb[j]->hash, RT_DIGEST_LEN))
            d->env[d->n_env++] = (struct rt_diff_env){strdup(ea[i]->name), RT_DIFF_ENV_CHANGED};
        if (d->n_env && !d->env[d->n_env - 1].name)
            goto out;
        i += c <= 0;
        j += c >= 0;
    }
    rc = 0;
out:
    free(ea);
    free(eb);
    return rc;
}

static bool payload_present(const struct rt_payload *p)
{
    return p->present && p->mode != RT_PAYLOAD_NONE;
}

static json_t *payload_json(const struct rt_payload *p)
{
    if (!payload_present(p) || !p->len || p->len < p->original_len || p->mode == RT_PAYLOAD_HASH)
        return NULL;
    return json_loadb((const char *)p->data, p->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                      NULL);
}

static int diff_payload(struct rt_diff_payload *out, const char *which, const struct rt_payload *a,
                        const struct rt_payload *b)
{
    out->which = which;
    out->in_a = payload_present(a);
    out->in_b = payload_present(b);
    if (!out->in_a || !out->in_b)
        return 0;
    json_t *ja = payload_json(a), *jb = payload_json(b);
    int rc = 0;
    if (ja && jb) {
        out->json = true;
        rc = rt_json_diff(ja, jb, &out->deltas);
        for (size_t i = 0; i < out->deltas.n; i++)
            out->shape_differs |= out->deltas.d[i].change != RT_JSON_CHANGED;
    } else {
        out->sha_differs = memcmp(a->sha256, b->sha256, RT_DIGEST_LEN) != 0;
    }
    json_decref(ja);
    json_decref(jb);
    return rc;
}

/* ---- entry points ---- */

void rt_diff_free(struct rt_diff *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_fields; i++) {
        free(d->fields[i].a);
        free(d->fields[i].b);
    }
    free(d->fields);
    for (size_t i = 0; i < d->n_env; i++)
        free(d->env[i].name);
    free(d->env);
    for (int i = 0; i < 2; i++)
        rt_json_diff_free(&d->payloads[i].deltas);
    for (size_t i = 0; i < d->n_counts; i++)
        free(d->counts[i].item);
    free(d->counts);
    for (size_t i = 0; i < d->n_procs; i++) {
        free(d->procs[i].position);
        for (size_t l = 0; l < d->procs[i].n_lines; l++)
            free(d->procs[i].lines[l].row);
        free(d->procs[i].lines);
        free(d->procs[i].hunks);
    }
    free(d->procs);
    if (d->priv_)
        intern_free(d->priv_);
    free(d->priv_);
    memset(d, 0, sizeof *d);
}

static void side_free(struct side *s)
{
    free(s->index);
    free(s->key);
    free(s->pos);
    free(s->pospid);
}

static char *dup_or_null(const char *s, bool *nomem)
{
    char *d = s ? strdup(s) : NULL;
    *nomem |= s && !d;
    return d;
}

static void copy_payload(struct rt_payload *to, const struct rt_payload *from, bool *nomem)
{
    *to = *from;
    to->content_type = to->error_type = NULL;
    to->data = NULL;
    if (from->len && (to->data = malloc(from->len)))
        memcpy(to->data, from->data, from->len);
    *nomem |= from->len && !to->data;
}

/* Copies what the META/ENV/CODE/payload comparison needs from b into h. */
static int header_copy(struct header *h, const struct rt_bundle *b)
{
    bool nomem = false;
    const struct rt_meta *m = &b->meta;
    struct rt_meta *c = &h->b.meta;
    c->function = dup_or_null(m->function, &nomem);
    c->function_version = dup_or_null(m->function_version, &nomem);
    c->runtime = dup_or_null(m->runtime, &nomem);
    c->handler = dup_or_null(m->handler, &nomem);
    c->arch = dup_or_null(m->arch, &nomem);
    c->error_type = dup_or_null(m->error_type, &nomem);
    c->sandbox_id = dup_or_null(m->sandbox_id, &nomem);
    c->memory_mb = m->memory_mb;
    c->status = m->status;
    h->b.has_code = b->has_code;
    h->b.code = b->code;
    h->b.code.task_root_path = dup_or_null(b->code.task_root_path, &nomem);
    h->b.env = calloc(b->n_env ? b->n_env : 1, sizeof *h->b.env);
    nomem |= !h->b.env;
    for (size_t i = 0; h->b.env && i < b->n_env; i++) {
        h->b.env[i].name = dup_or_null(b->env[i].name, &nomem);
        memcpy(h->b.env[i].hash, b->env[i].hash, RT_DIGEST_LEN);
        h->b.n_env = i + 1;
    }
    copy_payload(&h->b.event, &b->event, &nomem);
    copy_payload(&h->b.response, &b->response, &nomem);
    h->added = true;
    return nomem ? -1 : 0;
}

static void header_free(struct header *h)
{
    struct rt_meta *c = &h->b.meta;
    free(c->function);
    free(c->function_version);
    free(c->runtime);
    free(c->handler);
    free(c->arch);
    free(c->error_type);
    free(c->sandbox_id);
    free(h->b.code.task_root_path);
    for (size_t i = 0; i < h->b.n_env; i++)
        free(h->b.env[i].name);
    free(h->b.env);
    free(h->b.event.data);
    free(h->b.response.data);
    memset(h, 0, sizeof *h);
}

void rt_diff_builder_free(struct rt_diff_builder *bd)
{
    if (!bd)
        return;
    for (int s = 0; s < 2; s++) {
        side_free(&bd->sides[s]);
        header_free(&bd->hdr[s]);
    }
    intern_free(&bd->keys);
    intern_free(&bd->positions);
    intern_free(&bd->items);
    intern_free(&bd->probes);
    free(bd->count[0]);
    free(bd->count[1]);
    rt_buf_free(&bd->buf);
    free(bd);
}

int rt_diff_begin(const struct rt_diff_options *opt, struct rt_diff_builder **out)
{
    struct rt_diff_builder *bd = calloc(1, sizeof *bd);
    if (!bd)
        return RT_ERR_NOMEM;
    bd->opt.context = 3;
    if (opt) {
        bd->opt = *opt;
        if (opt->filter) { /* a copy: the caller's filter need not outlive the call */
            bd->filter = *opt->filter;
            bd->opt.filter = &bd->filter;
        }
    }
    *out = bd;
    return RT_OK;
}

int rt_diff_add(struct rt_diff_builder *bd, int side, const struct rt_bundle *b)
{
    if (side < 0 || side > 1 || bd->hdr[side].added)
        return RT_ERR_INVALID_ARG;
    if (header_copy(&bd->hdr[side], b) || load_side(bd, side, b))
        return RT_ERR_NOMEM;
    return RT_OK;
}

int rt_diff_finish(struct rt_diff_builder *bd, struct rt_diff *out)
{
    memset(out, 0, sizeof *out);
    if (!bd->hdr[0].added || !bd->hdr[1].added) {
        rt_diff_builder_free(bd);
        return RT_ERR_INVALID_ARG;
    }
    bd->d = out;
    const struct rt_bundle *a = &bd->hdr[0].b, *b = &bd->hdr[1].b;
    int rc = -1;
    const char *fa = a->meta.function, *fb = b->meta.function;
    out->different_functions = (fa || fb) && (!fa || !fb || strcmp(fa, fb));
    if (diff_fields(out, a, b) || diff_env(out, a, b) ||
        diff_payload(&out->payloads[0], "event", &a->event, &b->event) ||
        diff_payload(&out->payloads[1], "response", &a->response, &b->response) ||
        collect_counts(bd))
        goto out;
    /* the item strings are no longer needed: free them before the alignment allocates */
    intern_free(&bd->items);
    memset(&bd->items, 0, sizeof bd->items);
    if (diff_timelines(bd, &bd->sides[0], &bd->sides[1]))
        goto out;
    struct intern *keys = malloc(sizeof *keys);
    if (!keys)
        goto out;
    *keys = bd->keys; /* the lines point to the keys */
    memset(&bd->keys, 0, sizeof bd->keys);
    out->priv_ = keys;
    out->events_a = bd->sides[0].n;
    out->events_b = bd->sides[1].n;
    out->differs = out->n_fields || out->n_env || out->n_counts || out->n_procs;
    for (int i = 0; i < 2; i++)
        out->differs |=
            out->payloads[i].shape_differs || out->payloads[i].in_a != out->payloads[i].in_b;
    rc = 0;
out:
    rt_diff_builder_free(bd);
    if (rc) {
        rt_diff_free(out);
        return RT_ERR_NOMEM;
    }
    return RT_OK;
}

int rt_diff_bundles(const struct rt_bundle *a, const struct rt_bundle *b,
                    const struct rt_diff_options *opt, struct rt_diff *out)
{
    struct rt_diff_builder *bd = NULL;
    int rc = rt_diff_begin(opt, &bd);
    if (rc == RT_OK && (rc = rt_diff_add(bd, 0, a)) == RT_OK)
        rc = rt_diff_add(bd, 1, b);
    if (rc != RT_OK) {
        rt_diff_builder_free(bd);
        memset(out, 0, sizeof *out);
        return rc;
    }
    rc = rt_diff_finish(bd, out);
    if (rc == RT_OK && (rt_diff_rows(out, 0, a) != RT_OK || rt_diff_rows(out, 1, b) != RT_OK)) {
        rt_diff_free(out);
        return RT_ERR_NOMEM;
    }
    return rc;
}

bool rt_diff_needs_rows(const struct rt_diff *d, int side)
{
    for (size_t p = 0; p < d->n_procs; p++)
        for (size_t l = 0; l < d->procs[p].n_lines; l++)
            if ((d->procs[p].lines[l].op == '+') == (side == 1))
                return true;
    return false;
}

int rt_diff_rows(struct rt_diff *d, int side, const struct rt_bundle *b)
{
    enum rt_arch arch = rt_arch_from_name(b->meta.arch);
    for (size_t p = 0; p < d->n_procs; p++) {
        for (size_t l = 0; l < d->procs[p].n_lines; l++) {
            struct rt_diff_line *ln = &d->procs[p].lines[l];
            size_t index = side ? ln->b_index : ln->a_index;
            if ((ln->op == '+') != (side == 1) || ln->row || index >= b->n_events)
                continue;
            struct rt_timeline_item it = {&b->events[index], NULL, index};
            size_t need = rt_timeline_row(NULL, 0, &it, arch);
            if (!(ln->row = malloc(need + 1)))
                return RT_ERR_NOMEM;
            rt_timeline_row(ln->row, need + 1, &it, arch);
        }
    }
    return RT_OK;
}

struct row_want {
    size_t index;
    struct rt_diff_line *line;
};

static int cmp_want(const void *x, const void *y)
{
    const struct row_want *a = x, *b = y;
    return (a->index > b->index) - (a->index < b->index);
}

int rt_diff_rows_cursor(struct rt_diff *d, int side, struct rt_cursor *c, struct rt_errinfo *ei)
{
    enum rt_arch arch = rt_arch_from_name(rt_cursor_bundle(c)->meta.arch);
    size_t n = 0;
    for (size_t p = 0; p < d->n_procs; p++)
        for (size_t l = 0; l < d->procs[p].n_lines; l++) {
            const struct rt_diff_line *ln = &d->procs[p].lines[l];
            n += (ln->op == '+') == (side == 1) && !ln->row;
        }
    struct row_want *w = malloc((n ? n : 1) * sizeof *w);
    if (!w)
        return RT_ERR_NOMEM;
    n = 0;
    for (size_t p = 0; p < d->n_procs; p++)
        for (size_t l = 0; l < d->procs[p].n_lines; l++) {
            struct rt_diff_line *ln = &d->procs[p].lines[l];
            if ((ln->op == '+') == (side == 1) && !ln->row)
                w[n++] = (struct row_want){side ? ln->b_index : ln->a_index, ln};
        }
    /* in file order: the cursor goes forward once, decoding each event at most once */
    qsort(w, n, sizeof *w, cmp_want);
    int rc = RT_OK;
    const struct rt_event *ev = NULL;
    size_t at = SIZE_MAX; /* index of ev */
    for (size_t i = 0; i < n && rc == RT_OK; i++) {
        if (w[i].index != at) {
            if (rt_cursor_tell(c) != w[i].index &&
                (rc = rt_cursor_seek(c, w[i].index, ei)) != RT_OK)
                break;
            if ((rc = rt_cursor_next(c, &ev, ei)) != RT_OK)
                break;
            at = w[i].index;
        }
        if (!ev)
            continue; /* past the end: left "(row not read)", as rt_diff_rows does */
        struct rt_timeline_item it = {ev, NULL, at};
        size_t need = rt_timeline_row(NULL, 0, &it, arch);
        if (!(w[i].line->row = malloc(need + 1)))
            rc = RT_ERR_NOMEM;
        else
            rt_timeline_row(w[i].line->row, need + 1, &it, arch);
    }
    free(w);
    return rc;
}
