/* The timeline model of `runtrail view` (viewer/vm_timeline.h): a compact index of the events
 * scanned so far through the streaming cursor (4 bytes an event: its process, its op and
 * whether it is flagged; the greatest time of each block of 64 events), the visible rows as
 * codes into it (an event index, or a log index with the top bit set; no array at all while
 * every event is visible), the process table, and a small cache of rendered rows. A row's
 * text and time come from the event the cursor decodes (seeking back through its
 * checkpoints), so the index stays small next to the decompressed bundle the cursor holds. */
#include "viewer/vm_timeline.h"

#include "analysis/timeline.h"
#include "formats/escape.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_BIT 0x80000000u
#define CACHE_SLOTS 1024
#define NO_PROC UINT32_MAX
/* A scan resumed after rows were read re-positions the cursor: at most one checkpoint's worth
 * of decodes, so each scan call reads at least this many events when asked for fewer. */
#define SCAN_MIN 1024

/* An event in the index: process index (22 bits), op (9 bits, EV_OP_OTHER for an op beyond),
 * flagged (the top bit). */
#define EV_PROC_BITS 22
#define EV_PROC_MASK ((1u << EV_PROC_BITS) - 1)
#define EV_OP_MASK 0x1ffu
#define EV_OP_OTHER EV_OP_MASK
#define EV_NOTABLE 0x80000000u
#define BLOCK 64 /* events per block of the time index */

static uint32_t ev_pack(uint32_t proc, unsigned op, bool notable)
{
    return (proc & EV_PROC_MASK) | ((op < EV_OP_OTHER ? op : EV_OP_OTHER) << EV_PROC_BITS) |
           (notable ? EV_NOTABLE : 0);
}
static uint32_t ev_proc(uint32_t e)
{
    return e & EV_PROC_MASK;
}
static unsigned ev_op(uint32_t e)
{
    return (e >> EV_PROC_BITS) & EV_OP_MASK;
}

struct proc {
    int32_t pid, ppid;
    char *exe; /* escaped */
    size_t events;
    uint32_t parent; /* index into procs, NO_PROC for a root */
    uint32_t first_child, next_sibling, last_child;
    unsigned depth;
    size_t descendants;
    bool folded, hidden;
    bool placed; /* in the tree order (tree_update) */
};

struct slot {
    uint32_t code; /* UINT32_MAX: empty */
    int64_t ts_ns;
    char *text;
    size_t len;
    uint64_t dur_ns;
    int32_t tid;
    bool failed;
    uint32_t flags;
};

struct rt_vm_timeline {
    struct rt_cursor *c;
    enum rt_arch arch;
    uint32_t *ev; /* ev_pack() */
    size_t n_ev, cap_ev;
    int64_t *block_max; /* per BLOCK events: the greatest time (logs are merged with it) */
    size_t cap_block;
    int64_t max_ts;
    uint32_t *log_pos; /* per log line: the event it comes before (n_ev: after all) */
    uint32_t *log_row; /* per log line: its row, or the next visible row after it */
    bool complete, logs_merged;
    int damage;
    struct rt_errinfo damage_ei;
    size_t marks[8];

    uint32_t *rows; /* unused while identity: every event is a row, in order */
    size_t n_rows, cap_rows;
    bool identity;
    bool id_logs; /* identity with the merged log lines between: log j is row log_pos[j] + j */
    unsigned gen;
    bool kind_shown[RT_KIND__COUNT];
    bool any_fold;

    struct proc *procs;
    size_t n_procs, cap_procs;
    uint32_t *pid_map; /* open addressing: proc index + 1, 0 empty */
    size_t map_cap;
    bool tree_dirty;
    uint32_t *order; /* procs in tree order */
    struct rt_vm_proc *views;

    size_t *findings;
    size_t n_findings;

    struct slot cache[CACHE_SLOTS];
    char *render;
    size_t render_cap;

    /* search */
    char *needle;
    bool ci;
    int dir;
    bool searching, wrapped;
    bool from_end;  /* a backward search from the end: the last row is not known yet */
    bool has_entry; /* pos_entry is the last row looked at (or the row searched from) */
    size_t pos, looked;
    unsigned search_gen;
    struct rt_vm_entry pos_entry;
};

/* ---- small helpers ---- */

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return RT_OK;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*v, n * elem);
    if (!p)
        return RT_ERR_NOMEM;
    *v = p;
    *cap = n;
    return RT_OK;
}

static struct rt_vm_entry entry_of(uint32_t code)
{
    return (struct rt_vm_entry){(code & LOG_BIT) != 0, code & ~LOG_BIT};
}

static uint32_t code_at(const struct rt_vm_timeline *tl, size_t row)
{
    if (!tl->identity)
        return tl->rows[row];
    if (!tl->id_logs)
        return (uint32_t)row;
    /* lo: the log lines at or before row (line j is at row log_pos[j] + j) */
    size_t lo = 0, hi = rt_cursor_bundle(tl->c)->n_logs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tl->log_pos[mid] + mid <= row)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && tl->log_pos[lo - 1] + lo - 1 == row)
        return (uint32_t)(lo - 1) | LOG_BIT;
    return (uint32_t)(row - lo);
}

/* ---- processes ---- */

static uint32_t proc_find(const struct rt_vm_timeline *tl, int32_t pid)
{
    if (!tl->map_cap)
        return NO_PROC;
    size_t h = ((uint32_t)pid * 2654435761u) & (tl->map_cap - 1);
    while (tl->pid_map[h]) {
        uint32_t i = tl->pid_map[h] - 1;
        if (tl->procs[i].pid == pid)
            return i;
        h = (h + 1) & (tl->map_cap - 1);
    }
    return NO_PROC;
}

static void map_put(uint32_t *map, size_t cap, int32_t pid, uint32_t i)
{
    size_t h = ((uint32_t)pid * 2654435761u) & (cap - 1);
    while (map[h])
        h = (h + 1) & (cap - 1);
    map[h] = i + 1;
}

/* Whether making j the parent of i would close a loop. */
static bool is_ancestor(const struct rt_vm_timeline *tl, uint32_t i, uint32_t j)
{
    for (size_t steps = 0; j != NO_PROC && steps <= tl->n_procs; steps++) {
        if (j == i)
            return true;
        j = tl->procs[j].parent;
    }
    return j != NO_PROC;
}

static uint32_t proc_get(struct rt_vm_timeline *tl, int32_t pid)
{
    uint32_t i = proc_find(tl, pid);
    if (i != NO_PROC)
        return i;
    if (grow((void **)&tl->procs, &tl->cap_procs, tl->n_procs + 1, sizeof *tl->procs))
        return NO_PROC;
    if ((tl->n_procs + 1) * 2 > tl->map_cap) {
        size_t cap = tl->map_cap ? tl->map_cap * 2 : 64;
        uint32_t *map = calloc(cap, sizeof *map);
        if (!map)
            return NO_PROC;
        for (size_t k = 0; k < tl->n_procs; k++)
            map_put(map, cap, tl->procs[k].pid, (uint32_t)k);
        free(tl->pid_map);
        tl->pid_map = map;
        tl->map_cap = cap;
    }
    i = (uint32_t)tl->n_procs++;
    tl->procs[i] = (struct proc){.pid = pid, .parent = NO_PROC};
    map_put(tl->pid_map, tl->map_cap, pid, i);
    tl->tree_dirty = true;
    for (size_t k = 0; k < i; k++) /* processes that named it as their parent before */
        if (tl->procs[k].parent == NO_PROC && tl->procs[k].ppid == pid &&
            !is_ancestor(tl, (uint32_t)k, i))
            tl->procs[k].parent = i;
    return i;
}

static void set_exe(struct proc *p, const struct rt_str *s)
{
    size_t need = rt_escape_buf(NULL, 0, s->ptr, s->len, 0);
    char *e = malloc(need + 1);
    if (!e)
        return;
    rt_escape_buf(e, need + 1, s->ptr, s->len, 0);
    free(p->exe);
    p->exe = e;
}

/* Links child under ppid, now if ppid was seen, else when it appears (a parent that never
 * shows an event, the runtime's own parent, stays out of the tree). */
static void set_parent(struct rt_vm_timeline *tl, uint32_t child, int32_t ppid)
{
    if (child == NO_PROC || ppid <= 0 || ppid == tl->procs[child].pid)
        return;
    tl->procs[child].ppid = ppid;
    uint32_t pi = proc_find(tl, ppid);
    if (pi == NO_PROC || tl->procs[child].parent == pi || is_ancestor(tl, child, pi))
        return;
    tl->procs[child].parent = pi;
    tl->tree_dirty = true;
}

static void note_process(struct rt_vm_timeline *tl, const struct rt_event *ev)
{
    uint32_t i = proc_get(tl, ev->pid);
    if (i == NO_PROC)
        return;
    tl->procs[i].events++;
    switch (ev->op) {
    case RT_OP_PROC_START:
        if (ev->str[0].len && !tl->procs[i].exe)
            set_exe(&tl->procs[i], &ev->str[0]);
        set_parent(tl, i, (int32_t)ev->num[0]);
        break;
    case RT_OP_EXEC:
        if (ev->result == 0 && ev->str[0].len)
            set_exe(&tl->procs[i], &ev->str[0]);
        break;
    case RT_OP_FORK:
        if (ev->result > 0 && ev->result <= INT32_MAX) {
            uint32_t ci = proc_get(tl, (int32_t)ev->result);
            if (ci != NO_PROC && tl->procs[ci].parent == NO_PROC)
                set_parent(tl, ci, ev->pid);
            i = proc_find(tl, ev->pid); /* procs may have moved */
            if (ci != NO_PROC && i != NO_PROC && !tl->procs[ci].exe && tl->procs[i].exe)
                tl->procs[ci].exe = strdup(tl->procs[i].exe); /* a fork runs its parent's program */
        }
        break;
    default:
        break;
    }
}

/* Recomputes depth, descendants, hidden and the tree order after a change. */
static void tree_update(struct rt_vm_timeline *tl)
{
    if (!tl->tree_dirty)
        return;
    size_t n = tl->n_procs;
    free(tl->order);
    free(tl->views);
    tl->order = malloc((n ? n : 1) * sizeof *tl->order);
    tl->views = malloc((n ? n : 1) * sizeof *tl->views);
    if (!tl->order || !tl->views) {
        n = 0;
        tl->n_procs = 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct proc *p = &tl->procs[i];
        p->first_child = p->next_sibling = p->last_child = NO_PROC;
        p->descendants = 0;
        p->placed = false;
    }
    for (size_t i = 0; i < n; i++) { /* children in order of first appearance */
        uint32_t pa = tl->procs[i].parent;
        if (pa == NO_PROC)
            continue;
        if (tl->procs[pa].last_child == NO_PROC)
            tl->procs[pa].first_child = (uint32_t)i;
        else
            tl->procs[tl->procs[pa].last_child].next_sibling = (uint32_t)i;
        tl->procs[pa].last_child = (uint32_t)i;
    }
    size_t k = 0;
    for (size_t r = 0; r < n; r++) {
        if (tl->procs[r].parent != NO_PROC)
            continue;
        /* depth-first without recursion: walk down first children, then siblings, up */
        uint32_t cur = (uint32_t)r;
        tl->procs[cur].depth = 0;
        tl->procs[cur].hidden = false;
        while (cur != NO_PROC) {
            struct proc *p = &tl->procs[cur];
            if (p->placed)
                break; /* never: parents form no loop (set_parent); kept as a guard */
            p->placed = true;
            tl->order[k++] = cur;
            if (p->first_child != NO_PROC) {
                struct proc *ch = &tl->procs[p->first_child];
                ch->depth = p->depth + 1;
                ch->hidden = p->hidden || p->folded;
                cur = p->first_child;
                continue;
            }
            while (cur != NO_PROC && tl->procs[cur].next_sibling == NO_PROC && cur != r)
                cur = tl->procs[cur].parent;
            if (cur == NO_PROC || cur == r)
                break;
            uint32_t sib = tl->procs[cur].next_sibling;
            uint32_t pa = tl->procs[cur].parent;
            tl->procs[sib].depth = tl->procs[pa].depth + 1;
            tl->procs[sib].hidden = tl->procs[pa].hidden || tl->procs[pa].folded;
            cur = sib;
        }
    }
    for (size_t i = 0; i < n && k < n; i++) /* unreachable (a loop): listed as roots */
        if (!tl->procs[i].placed) {
            tl->procs[i].placed = true;
            tl->procs[i].depth = 0;
            tl->procs[i].hidden = false;
            tl->order[k++] = (uint32_t)i;
        }
    for (size_t i = n; i-- > 0;) { /* descendants, children before parents in `order` */
        struct proc *p = &tl->procs[tl->order[i]];
        if (p->parent != NO_PROC)
            tl->procs[p->parent].descendants += p->descendants + 1;
    }
    tl->tree_dirty = false;
}

/* ---- rows ---- */

static unsigned op_kind(unsigned op)
{
    const struct rt_op_info *oi = op == EV_OP_OTHER ? NULL : rt_op_info(op);
    return oi ? oi->kind : RT_KIND_PROC;
}

static bool event_visible(const struct rt_vm_timeline *tl, uint32_t e)
{
    if (!tl->kind_shown[op_kind(ev_op(e))])
        return false;
    uint32_t pi = ev_proc(e);
    return !tl->any_fold || pi >= tl->n_procs || !tl->procs[pi].hidden;
}

/* Whether every event is a row, in order (log lines may come between): rows need no array. */
static bool all_visible(const struct rt_vm_timeline *tl)
{
    for (unsigned k = 0; k < RT_KIND__COUNT; k++)
        if (!tl->kind_shown[k] && k != RT_KIND_LOG)
            return false;
    return !tl->any_fold;
}

static int push_row(struct rt_vm_timeline *tl, uint32_t code)
{
    if (grow((void **)&tl->rows, &tl->cap_rows, tl->n_rows + 1, sizeof *tl->rows))
        return RT_ERR_NOMEM;
    tl->rows[tl->n_rows++] = code;
    return RT_OK;
}

/* Rebuilds the visible rows from the index (after a toggle, a fold, the logs). */
static void rebuild(struct rt_vm_timeline *tl)
{
    tree_update(tl);
    tl->n_rows = 0;
    tl->gen++;
    tl->identity = all_visible(tl);
    size_t n_logs = tl->logs_merged ? rt_cursor_bundle(tl->c)->n_logs : 0;
    tl->id_logs = tl->identity && n_logs && tl->kind_shown[RT_KIND_LOG];
    if (tl->identity) {
        tl->n_rows = tl->n_ev + (tl->id_logs ? n_logs : 0);
        for (size_t j = 0; j < n_logs; j++) /* the row of line j, or of the event after it */
            tl->log_row[j] = tl->log_pos[j] + (tl->id_logs ? (uint32_t)j : 0);
        free(tl->rows);
        tl->rows = NULL;
        tl->cap_rows = 0;
        return;
    }
    size_t j = 0;
    for (size_t i = 0; i <= tl->n_ev; i++) {
        for (; j < n_logs && tl->log_pos[j] <= i; j++) {
            tl->log_row[j] = (uint32_t)tl->n_rows;
            if (tl->kind_shown[RT_KIND_LOG])
                push_row(tl, (uint32_t)j | LOG_BIT);
        }
        if (i < tl->n_ev && event_visible(tl, tl->ev[i]))
            push_row(tl, (uint32_t)i);
    }
}

static int event_at(struct rt_vm_timeline *tl, size_t index, const struct rt_event **ev,
                    struct rt_errinfo *ei);

/* Where `show` puts each log line (analysis/timeline.c): events are taken while their time is
 * at or before the line's, so line j goes before the first event, after line j-1's place,
 * whose time is later. Blocks whose greatest time is not later are skipped whole; one block
 * is decoded per line at most. */
static bool place_logs(struct rt_vm_timeline *tl, const struct rt_bundle *b)
{
    size_t p = 0;
    for (size_t j = 0; j < b->n_logs; j++) {
        int64_t x = b->logs[j].ts_ns;
        while (p < tl->n_ev) {
            size_t blk = p / BLOCK;
            if (tl->block_max[blk] <= x) {
                p = (blk + 1) * BLOCK;
                continue;
            }
            const struct rt_event *ev;
            struct rt_errinfo ei;
            if (event_at(tl, p, &ev, &ei) != RT_OK)
                return false;
            if (ev->ts_ns > x)
                break;
            p++;
        }
        if (p > tl->n_ev)
            p = tl->n_ev;
        tl->log_pos[j] = (uint32_t)p;
    }
    return true;
}

static void finish_scan(struct rt_vm_timeline *tl)
{
    tl->complete = true;
    const struct rt_bundle *b = rt_cursor_bundle(tl->c);
    if (b->n_logs && b->n_logs < LOG_BIT) {
        tl->log_row = calloc(b->n_logs, sizeof *tl->log_row);
        tl->log_pos = calloc(b->n_logs, sizeof *tl->log_pos);
        if (tl->log_row && tl->log_pos && place_logs(tl, b)) {
            tl->logs_merged = true;
            rebuild(tl);
        }
    }
}

bool rt_vm_timeline_scan(struct rt_vm_timeline *tl, size_t max_events)
{
    if (tl->complete)
        return true;
    if (max_events < SCAN_MIN)
        max_events = SCAN_MIN;
    struct rt_errinfo ei;
    if (rt_cursor_tell(tl->c) != tl->n_ev) {
        /* rows were read: back to the frontier through the checkpoint before it */
        const struct rt_event *ev;
        int rc =
            tl->n_ev ? rt_cursor_seek(tl->c, tl->n_ev - 1, &ei) : rt_cursor_seek(tl->c, 0, &ei);
        if (rc == RT_OK && tl->n_ev)
            rc = rt_cursor_next(tl->c, &ev, &ei);
        if (rc != RT_OK) {
            tl->damage = rc;
            tl->damage_ei = ei;
            finish_scan(tl);
            return true;
        }
    }
    bool folds_moved = false;
    for (size_t k = 0; k < max_events; k++) {
        const struct rt_event *ev = NULL;
        int rc = rt_cursor_next(tl->c, &ev, &ei);
        if (rc != RT_OK) {
            tl->damage = rc;
            tl->damage_ei = ei;
            break;
        }
        if (!ev)
            break;
        if (grow((void **)&tl->ev, &tl->cap_ev, tl->n_ev + 1, sizeof *tl->ev) ||
            grow((void **)&tl->block_max, &tl->cap_block, tl->n_ev / BLOCK + 1,
                 sizeof *tl->block_max)) {
            tl->damage = RT_ERR_NOMEM;
            rt_fail(&tl->damage_ei, RT_ERR_NOMEM, -1, "event index");
            break;
        }
        size_t procs_before = tl->n_procs;
        bool dirty_before = tl->tree_dirty;
        note_process(tl, ev);
        if (ev->op == RT_OP_MARK && ev->num[0] >= 0 && ev->num[0] < 8)
            tl->marks[ev->num[0]]++;
        if (tl->any_fold && (tl->n_procs != procs_before || (!dirty_before && tl->tree_dirty))) {
            tree_update(tl);
            folds_moved = true;
        }
        uint32_t e = ev_pack(proc_find(tl, ev->pid), ev->op, ev->flags & RT_VM_NOTABLE_FLAGS);
        tl->ev[tl->n_ev] = e;
        size_t blk = tl->n_ev / BLOCK;
        if (tl->n_ev % BLOCK == 0 || ev->ts_ns > tl->block_max[blk])
            tl->block_max[blk] = ev->ts_ns;
        if (!tl->n_ev || ev->ts_ns > tl->max_ts)
            tl->max_ts = ev->ts_ns;
        if (tl->identity)
            tl->n_rows++;
        else if (event_visible(tl, e))
            push_row(tl, (uint32_t)tl->n_ev);
        tl->n_ev++;
        if (tl->n_ev >= LOG_BIT)
            break;
    }
    if (folds_moved)
        rebuild(tl); /* a process found its parent under a fold: hide what it showed */
    bool done = false;
    rt_cursor_known(tl->c, &done);
    if (done || tl->damage || tl->n_ev >= LOG_BIT)
        finish_scan(tl);
    return tl->complete;
}

static int open_common(struct rt_cursor *c, struct rt_vm_timeline **out)
{
    struct rt_vm_timeline *tl = calloc(1, sizeof *tl);
    if (!tl) {
        rt_cursor_free(c);
        return RT_ERR_NOMEM;
    }
    tl->c = c;
    tl->arch = rt_arch_from_name(rt_cursor_bundle(c)->meta.arch);
    tl->identity = true;
    for (unsigned k = 0; k < RT_KIND__COUNT; k++)
        tl->kind_shown[k] = true;
    for (size_t k = 0; k < CACHE_SLOTS; k++)
        tl->cache[k].code = UINT32_MAX;
    *out = tl;
    return RT_OK;
}

int rt_vm_timeline_open_file(const char *path, struct rt_vm_timeline **out, struct rt_errinfo *ei)
{
    struct rt_cursor *c = NULL;
    int rc = rt_cursor_open_file(path, &c, ei);
    return rc ? rc : open_common(c, out);
}

int rt_vm_timeline_open_mem(const void *buf, size_t len, struct rt_vm_timeline **out,
                            struct rt_errinfo *ei)
{
    struct rt_cursor *c = NULL;
    int rc = rt_cursor_open_mem(buf, len, &c, ei);
    return rc ? rc : open_common(c, out);
}

void rt_vm_timeline_free(struct rt_vm_timeline *tl)
{
    if (!tl)
        return;
    rt_cursor_free(tl->c);
    for (size_t i = 0; i < tl->n_procs; i++)
        free(tl->procs[i].exe);
    for (size_t k = 0; k < CACHE_SLOTS; k++)
        free(tl->cache[k].text);
    free(tl->procs);
    free(tl->pid_map);
    free(tl->order);
    free(tl->views);
    free(tl->ev);
    free(tl->block_max);
    free(tl->log_pos);
    free(tl->log_row);
    free(tl->rows);
    free(tl->findings);
    free(tl->render);
    free(tl->needle);
    free(tl);
}

const struct rt_bundle *rt_vm_timeline_bundle(const struct rt_vm_timeline *tl)
{
    return rt_cursor_bundle(tl->c);
}

enum rt_arch rt_vm_timeline_arch(const struct rt_vm_timeline *tl)
{
    return tl->arch;
}

bool rt_vm_timeline_complete(const struct rt_vm_timeline *tl)
{
    return tl->complete;
}

size_t rt_vm_timeline_ensure(struct rt_vm_timeline *tl, size_t rows)
{
    while (tl->n_rows < rows && !tl->complete)
        rt_vm_timeline_scan(tl, rows - tl->n_rows < 4096 ? 4096 : rows - tl->n_rows);
    return tl->n_rows;
}

size_t rt_vm_timeline_rows(const struct rt_vm_timeline *tl)
{
    return tl->n_rows;
}

size_t rt_vm_timeline_events(const struct rt_vm_timeline *tl)
{
    return tl->n_ev;
}

unsigned rt_vm_timeline_gen(const struct rt_vm_timeline *tl)
{
    return tl->gen;
}

int rt_vm_timeline_event(struct rt_vm_timeline *tl, size_t index, const struct rt_event **ev,
                         struct rt_errinfo *ei)
{
    return event_at(tl, index, ev, ei);
}

static int event_at(struct rt_vm_timeline *tl, size_t index, const struct rt_event **ev,
                    struct rt_errinfo *ei)
{
    if (index >= tl->n_ev)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "event %zu not read yet", index);
    int rc = RT_OK;
    size_t at = rt_cursor_tell(tl->c);
    if (at < index && index - at <= RT_CURSOR_CHECKPOINT / 4) {
        /* a little ahead (the next rows of a page, a search): step, no checkpoint restore */
        for (; at < index && rc == RT_OK; at++)
            rc = rt_cursor_next(tl->c, ev, ei);
    } else if (at != index) {
        rc = rt_cursor_seek(tl->c, index, ei);
    }
    if (rc)
        return rc;
    rc = rt_cursor_next(tl->c, ev, ei);
    if (rc == RT_OK && !*ev)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "event %zu missing", index);
    return rc;
}

/* The cache slot of a code, rendered. */
static int render(struct rt_vm_timeline *tl, uint32_t code, struct slot **out,
                  struct rt_errinfo *ei)
{
    struct slot *s = &tl->cache[(code ^ (code >> 10)) % CACHE_SLOTS];
    if (s->code == code) {
        *out = s;
        return RT_OK;
    }
    struct rt_timeline_item item = {0};
    const struct rt_event *ev = NULL;
    const struct rt_bundle *b = rt_cursor_bundle(tl->c);
    if (code & LOG_BIT) {
        item.log = &b->logs[code & ~LOG_BIT];
        item.index = code & ~LOG_BIT;
    } else {
        int rc = event_at(tl, code, &ev, ei);
        if (rc)
            return rc;
        item.ev = ev;
        item.index = code;
    }
    size_t need = rt_timeline_row(NULL, 0, &item, tl->arch);
    char *text = malloc(need + 1);
    if (!text)
        return rt_fail(ei, RT_ERR_NOMEM, -1, "row");
    rt_timeline_row(text, need + 1, &item, tl->arch);
    free(s->text);
    *s = (struct slot){code,
                       ev ? ev->ts_ns : item.log->ts_ns,
                       text,
                       need,
                       ev ? ev->dur_ns : 0,
                       ev ? ev->tid : 0,
                       ev && ev->result < 0 && ev->result >= -4095,
                       ev ? ev->flags : 0};
    *out = s;
    return RT_OK;
}

/* 0..8: a duration against the whole invocation, a level per factor of 4. */
static unsigned level(uint64_t part, uint64_t whole)
{
    if (!part)
        return 0;
    if (!whole || part >= whole)
        return 8;
    unsigned lv = 8;
    while (lv > 0 && part * 4 <= whole) {
        part *= 4;
        lv--;
    }
    return lv;
}

static bool is_finding(const struct rt_vm_timeline *tl, size_t index)
{
    size_t lo = 0, hi = tl->n_findings;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tl->findings[mid] < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < tl->n_findings && tl->findings[lo] == index;
}

static uint64_t whole_ns(const struct rt_vm_timeline *tl)
{
    uint64_t d = rt_cursor_bundle(tl->c)->meta.duration_ns;
    if (!d && tl->n_ev && tl->max_ts > 0)
        d = (uint64_t)tl->max_ts;
    return d;
}

int rt_vm_timeline_row(struct rt_vm_timeline *tl, size_t row, struct rt_vm_row *out,
                       struct rt_errinfo *ei)
{
    if (row >= tl->n_rows)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "row %zu of %zu", row, tl->n_rows);
    uint32_t code = code_at(tl, row);
    struct slot *s;
    int64_t prev = 0;
    if (row > 0) { /* the previous row's time, for the gap (usually just rendered) */
        int rc = render(tl, code_at(tl, row - 1), &s, ei);
        if (rc)
            return rc;
        prev = s->ts_ns;
    }
    int rc = render(tl, code, &s, ei);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->entry = entry_of(code);
    out->ts_ns = s->ts_ns;
    if (row > 0)
        out->gap_ns = out->ts_ns > prev ? out->ts_ns - prev : 0;
    uint64_t whole = whole_ns(tl);
    out->dur_ns = s->dur_ns;
    out->dur_level = level(out->dur_ns, whole);
    out->gap_level = level((uint64_t)out->gap_ns, whole);
    if (code & LOG_BIT) {
        out->kind = RT_KIND_LOG;
        out->op = RT_OP_LOG;
    } else {
        uint32_t e = tl->ev[code], pi = ev_proc(e);
        out->kind = op_kind(ev_op(e));
        out->op = ev_op(e);
        tree_update(tl);
        out->pid = pi < tl->n_procs ? tl->procs[pi].pid : 0;
        out->tid = s->tid;
        out->flags = s->flags;
        out->flagged = (e & EV_NOTABLE) != 0;
        out->finding = is_finding(tl, code);
        out->failed = s->failed;
        out->depth = pi < tl->n_procs ? tl->procs[pi].depth : 0;
    }
    out->text = s->text;
    out->text_len = s->len;
    return RT_OK;
}

bool rt_vm_timeline_find(const struct rt_vm_timeline *tl, struct rt_vm_entry e, size_t *row)
{
    if (!tl->n_rows)
        return false;
    size_t r;
    if (e.is_log) {
        r = tl->logs_merged && e.index < rt_cursor_bundle(tl->c)->n_logs ? tl->log_row[e.index]
                                                                         : tl->n_rows;
    } else if (tl->identity) {
        r = e.index;
        if (tl->id_logs) { /* plus the log lines placed before it */
            size_t lo = 0, hi = rt_cursor_bundle(tl->c)->n_logs;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (tl->log_pos[mid] <= e.index)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            r += lo;
        }
    } else {
        /* the first row of an event at or after e (events are in index order among rows) */
        size_t lo = 0, hi = tl->n_rows;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2, m = mid;
            while (m < hi && (tl->rows[m] & LOG_BIT))
                m++;
            if (m < hi && tl->rows[m] < e.index)
                lo = m + 1;
            else
                hi = mid;
        }
        /* lo: no event before it is e or later; skip the log lines there that precede e */
        r = lo;
        while (r < tl->n_rows && (tl->rows[r] & LOG_BIT) &&
               tl->log_pos[tl->rows[r] & ~LOG_BIT] <= e.index)
            r++;
    }
    *row = r < tl->n_rows ? r : tl->n_rows - 1;
    return true;
}

/* ---- toggles and folds ---- */

void rt_vm_timeline_set_kind(struct rt_vm_timeline *tl, unsigned kind, bool shown)
{
    if (kind >= RT_KIND__COUNT || tl->kind_shown[kind] == shown)
        return;
    tl->kind_shown[kind] = shown;
    rebuild(tl);
}

bool rt_vm_timeline_kind_shown(const struct rt_vm_timeline *tl, unsigned kind)
{
    return kind < RT_KIND__COUNT && tl->kind_shown[kind];
}

int rt_vm_timeline_fold(struct rt_vm_timeline *tl, int32_t pid, bool folded)
{
    uint32_t i = proc_find(tl, pid);
    if (i == NO_PROC)
        return RT_ERR_INVALID_ARG;
    if (tl->procs[i].folded == folded)
        return RT_OK;
    tl->procs[i].folded = folded;
    tl->any_fold = false;
    for (size_t k = 0; k < tl->n_procs; k++)
        tl->any_fold |= tl->procs[k].folded;
    tl->tree_dirty = true;
    rebuild(tl);
    return RT_OK;
}

size_t rt_vm_timeline_procs(struct rt_vm_timeline *tl)
{
    tree_update(tl);
    return tl->n_procs;
}

const struct rt_vm_proc *rt_vm_timeline_proc(struct rt_vm_timeline *tl, size_t i)
{
    tree_update(tl);
    if (i >= tl->n_procs)
        return NULL;
    const struct proc *p = &tl->procs[tl->order[i]];
    tl->views[i] = (struct rt_vm_proc){p->pid,    p->ppid,   p->exe ? p->exe : "",
                                       p->depth,  p->events, p->descendants,
                                       p->folded, p->hidden};
    return &tl->views[i];
}

/* ---- search ---- */

/* The text of a row for matching: from the cache, else rendered into a buffer reused from
 * row to row (a search looks at many rows once: they do not displace the page's). NULL when
 * the event cannot be decoded or out of memory. */
static const char *row_text(struct rt_vm_timeline *tl, uint32_t code, struct rt_errinfo *ei)
{
    const struct slot *s = &tl->cache[(code ^ (code >> 10)) % CACHE_SLOTS];
    if (s->code == code)
        return s->text;
    struct rt_timeline_item item = {0};
    const struct rt_event *ev = NULL;
    if (code & LOG_BIT) {
        item.log = &rt_cursor_bundle(tl->c)->logs[code & ~LOG_BIT];
    } else {
        if (event_at(tl, code, &ev, ei) != RT_OK)
            return NULL;
        item.ev = ev;
    }
    item.index = code & ~LOG_BIT;
    size_t need = rt_timeline_row(tl->render, tl->render_cap, &item, tl->arch);
    if (need >= tl->render_cap) {
        char *buf = realloc(tl->render, need + 1);
        if (!buf)
            return NULL;
        tl->render = buf;
        tl->render_cap = need + 1;
        rt_timeline_row(tl->render, tl->render_cap, &item, tl->arch);
    }
    return tl->render;
}

static bool has_upper(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return true;
    return false;
}

int rt_vm_timeline_search_start(struct rt_vm_timeline *tl, const char *needle, size_t from, int dir)
{
    if (!needle || !needle[0])
        return RT_ERR_INVALID_ARG;
    char *copy = strdup(needle);
    if (!copy)
        return RT_ERR_NOMEM;
    free(tl->needle);
    tl->needle = copy;
    tl->ci = !has_upper(needle);
    return rt_vm_timeline_search_again(tl, from, dir);
}

int rt_vm_timeline_search_again(struct rt_vm_timeline *tl, size_t from, int dir)
{
    if (!tl->needle)
        return RT_ERR_INVALID_ARG;
    tl->dir = dir < 0 ? -1 : 1;
    tl->searching = true;
    tl->wrapped = false;
    tl->looked = 0;
    tl->search_gen = tl->gen;
    tl->from_end = false;
    tl->has_entry = from < tl->n_rows;
    if (tl->has_entry)
        tl->pos_entry = entry_of(code_at(tl, from));
    if (from == SIZE_MAX) {
        /* backwards from the end: the steps read the rest of the bundle first */
        tl->from_end = tl->dir < 0;
        tl->pos = tl->dir > 0 ? 0 : SIZE_MAX;
    } else {
        tl->pos = from + (size_t)tl->dir; /* from 0 backwards: SIZE_MAX, wraps below */
    }
    return RT_OK;
}

const char *rt_vm_timeline_search_needle(const struct rt_vm_timeline *tl)
{
    return tl->needle;
}

enum rt_vm_search rt_vm_timeline_search_step(struct rt_vm_timeline *tl, size_t budget, size_t *row,
                                             bool *wrapped)
{
    if (!tl->needle || !tl->searching)
        return tl->needle ? RT_VM_SEARCH_NOT_FOUND : RT_VM_SEARCH_IDLE;
    if (tl->search_gen != tl->gen) { /* rows moved: continue from the same entry */
        size_t r = 0;
        if (tl->has_entry && rt_vm_timeline_find(tl, tl->pos_entry, &r))
            tl->pos = r + (size_t)tl->dir;
        tl->search_gen = tl->gen;
    }
    for (size_t k = 0; k < budget; k++) {
        if (tl->pos >= tl->n_rows) { /* an end (SIZE_MAX below 0) */
            if (!tl->complete && tl->dir > 0 && tl->pos == tl->n_rows) {
                rt_vm_timeline_scan(tl, 16384);
                if (tl->search_gen != tl->gen) {
                    tl->search_gen = tl->gen;
                    size_t r = 0;
                    if (tl->has_entry && rt_vm_timeline_find(tl, tl->pos_entry, &r))
                        tl->pos = r + 1;
                }
                continue;
            }
            if (!tl->complete) { /* backward wrap: the last row must be known */
                rt_vm_timeline_scan(tl, 65536);
                tl->search_gen = tl->gen;
                k += 1024;
                continue;
            }
            if (!tl->n_rows || (tl->wrapped && !tl->from_end)) {
                tl->searching = false;
                return RT_VM_SEARCH_NOT_FOUND;
            }
            tl->wrapped = !tl->from_end; /* starting at the end is no wrap */
            tl->from_end = false;
            tl->pos = tl->dir > 0 ? 0 : tl->n_rows - 1;
        }
        if (tl->looked > tl->n_rows && tl->complete) {
            tl->searching = false;
            return RT_VM_SEARCH_NOT_FOUND;
        }
        struct rt_errinfo ei;
        size_t r = tl->pos;
        uint32_t code = code_at(tl, r);
        tl->pos_entry = entry_of(code);
        const char *text = row_text(tl, code, &ei);
        if (!text) {
            tl->searching = false;
            return RT_VM_SEARCH_NOT_FOUND;
        }
        tl->looked++;
        tl->has_entry = true;
        tl->pos = r + (size_t)tl->dir;
        if (tl->ci ? strcasestr(text, tl->needle) != NULL : strstr(text, tl->needle) != NULL) {
            tl->searching = false;
            *row = r;
            if (wrapped)
                *wrapped = tl->wrapped;
            return RT_VM_SEARCH_FOUND;
        }
    }
    return RT_VM_SEARCH_RUNNING;
}

/* ---- flagged events and findings ---- */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int rt_vm_timeline_set_findings(struct rt_vm_timeline *tl, const size_t *events, size_t n)
{
    size_t *v = NULL;
    if (n) {
        v = malloc(n * sizeof *v);
        if (!v)
            return RT_ERR_NOMEM;
        memcpy(v, events, n * sizeof *v);
        qsort(v, n, sizeof *v, cmp_size);
    }
    free(tl->findings);
    tl->findings = v;
    tl->n_findings = n;
    return RT_OK;
}

static bool row_marked(const struct rt_vm_timeline *tl, size_t r)
{
    uint32_t code = code_at(tl, r);
    if (code & LOG_BIT)
        return false;
    return (tl->ev[code] & EV_NOTABLE) || is_finding(tl, code);
}

bool rt_vm_timeline_next_marked(struct rt_vm_timeline *tl, size_t from, int dir, size_t *row)
{
    if (dir > 0) {
        size_t r = from == SIZE_MAX ? 0 : from + 1;
        for (;;) {
            for (; r < tl->n_rows; r++)
                if (row_marked(tl, r)) {
                    *row = r;
                    return true;
                }
            if (tl->complete)
                return false;
            unsigned gen = tl->gen;
            rt_vm_timeline_scan(tl, 65536);
            if (gen != tl->gen) /* rows moved: start over from the top, still after from */
                r = from == SIZE_MAX ? 0 : from + 1;
        }
    }
    if (from == SIZE_MAX) {
        while (!rt_vm_timeline_scan(tl, 65536)) {
        }
        from = tl->n_rows;
    }
    for (size_t r = from < tl->n_rows ? from : tl->n_rows; r-- > 0;)
        if (row_marked(tl, r)) {
            *row = r;
            return true;
        }
    return false;
}

/* ---- status ---- */

void rt_vm_timeline_status(const struct rt_vm_timeline *tl, struct rt_vm_status *st)
{
    const struct rt_bundle *b = rt_cursor_bundle(tl->c);
    memset(st, 0, sizeof *st);
    st->status = b->meta.status;
    st->error_type = b->meta.error_type;
    st->duration_ns = b->meta.duration_ns;
    st->has_response = b->response.present;
    st->has_error = b->error.present;
    memcpy(st->marks, tl->marks, sizeof st->marks);
    st->dropped = b->meta.counters[RT_CTR_EVENTS_DROPPED] + b->meta.counters[RT_CTR_RING_DROPPED];
    for (unsigned k = 0; k < RT_CTR__COUNT; k++)
        st->counters_nonzero += b->meta.counters[k] != 0;
    st->events = tl->n_ev;
    st->complete = tl->complete;
    st->state = rt_cursor_state(tl->c);
    st->damage = tl->damage;
    if (tl->damage)
        rt_errinfo_format(tl->damage, &tl->damage_ei, st->damage_text, sizeof st->damage_text);
}

static const char *mark_name(unsigned m)
{
    static const char *const names[] = {NULL,    "invoke_start", "response",
                                        "error", "init",         "shutdown"};
    return m < sizeof names / sizeof names[0] ? names[m] : NULL;
}

struct line {
    char *buf;
    size_t cap, n;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w =
        vsnprintf(l->n < l->cap ? l->buf + l->n : NULL, l->n < l->cap ? l->cap - l->n : 0, fmt, ap);
    va_end(ap);
    if (w > 0)
        l->n += (size_t)w;
}

size_t rt_vm_timeline_status_line(const struct rt_vm_timeline *tl, char *buf, size_t cap)
{
    struct rt_vm_status st;
    rt_vm_timeline_status(tl, &st);
    const struct rt_bundle *b = rt_cursor_bundle(tl->c);
    struct line l = {buf, cap, 0};
    if (cap)
        buf[0] = '\0';
    char ms[40];
    rt_render_ms(ms, sizeof ms, (int64_t)st.duration_ns);
    add(&l, "%s %s", rt_status_name(st.status), ms[0] == '+' ? ms + 1 : ms);
    if (st.error_type) {
        char et[128];
        rt_escape_buf(et, sizeof et, st.error_type, strlen(st.error_type), 0);
        add(&l, " %s", et);
    }
    add(&l, "  %s", st.has_response ? "response" : st.has_error ? "error reply" : "no response");
    add(&l, "  marks:");
    bool any = false;
    for (unsigned m = 1; m < 8; m++)
        if (st.marks[m] && mark_name(m)) {
            add(&l, " %s", mark_name(m));
            if (st.marks[m] > 1)
                add(&l, "x%zu", st.marks[m]);
            any = true;
        }
    if (!any)
        add(&l, st.complete ? " none" : " none yet");
    add(&l, "  dropped %" PRIu64, st.dropped);
    bool first = true;
    for (unsigned k = 0; k < RT_CTR__COUNT; k++) {
        uint64_t v = b->meta.counters[k];
        if (!v || k == RT_CTR_SPOOLED)
            continue;
        add(&l, "%s%s %" PRIu64, first ? " (" : ", ", rt_counter_name(k), v);
        first = false;
    }
    if (!first)
        add(&l, ")");
    add(&l, "  %zu events%s", st.events, st.complete ? "" : " so far, reading");
    switch (st.state) {
    case RT_CURSOR_VERIFIED:
        add(&l, "  verified");
        break;
    case RT_CURSOR_MISMATCH:
        add(&l, "  MODIFIED: digest mismatch");
        break;
    case RT_CURSOR_DAMAGED:
        add(&l, "  DAMAGED");
        break;
    default:
        if (st.complete && !st.damage)
            add(&l, "  unverified");
        break;
    }
    if (st.damage) {
        char esc[sizeof st.damage_text * 4];
        rt_escape_buf(esc, sizeof esc, st.damage_text, strlen(st.damage_text), 0);
        add(&l, ": %s; events after %zu could not be read", esc, st.events);
    }
    return l.n;
}
