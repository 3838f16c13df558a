/* The producer side of the shared event ring, used by every hook of the preload library:
 * attach to the ring named by RUNTRAIL_RING and append records. libc only, no allocation, no
 * locks, async-signal-safe and fork-safe (the mapping is MAP_SHARED and survives fork; the
 * only shared state is updated with atomic instructions). Never changes errno. */
#ifndef RUNTRAIL_RECORDER_PRELOAD_RING_PRODUCE_H
#define RUNTRAIL_RECORDER_PRELOAD_RING_PRODUCE_H

#include "recorder/preload/ring_layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A process joins a ring when its LD_PRELOAD names the interposer's file (a name holding
 * RT_PRELOAD_SO_NAME: the layer's, a build's) and RUNTRAIL_RING the ring's path. */
#define RT_PRELOAD_SO_NAME "libruntrail-preload"

/* One record as a hook fills it; strings are (pointer, length), NULL = empty. */
struct rt_rec {
    int64_t ts_ns;
    uint64_t dur_ns;
    int64_t result;
    int64_t num[RT_RING_NNUM];
    int32_t pid, tid;
    uint32_t flags;
    uint16_t op;
    uint16_t internal;
    const char *str[RT_RING_NSTR];
    size_t str_len[RT_RING_NSTR];
};

/* Cells are pre-faulted in chunks of this many bytes on first use by this process: one
 * madvise(MADV_POPULATE_WRITE) instead of a page fault per page (much cheaper on file-backed
 * shared mappings, where each write fault goes through the filesystem). A process's first
 * RT_RING_POPULATE_AFTER records fault their pages one at a time instead: most processes
 * (a shell command, a child that execs) write a few records, one or two pages, and a whole
 * chunk cost them 16 faults. */
#define RT_RING_CHUNK (64u * 1024)
#define RT_RING_POPULATE_AFTER 32u
#define RT_RING_CHUNK_CELLS (RT_RING_CHUNK / RT_RING_CELL_SIZE)
/* Chunks are pre-faulted in the first 32 MiB of cells (a ring of up to 32768 slots: the
 * default is 2048): beyond, a page faults at its first write. The bitmap is one cache line
 * in the interposer's start pages, where a bitmap for the largest ring (2 KiB) made the pages
 * a process start touches depend on how the linker laid them out (docs/recorder.md). */
#define RT_RING_CHUNK_WORDS 8u
#define RT_RING_PREFAULT_CHUNKS (RT_RING_CHUNK_WORDS * 64u)

struct rt_producer {
    struct rt_ring_header *hdr; /* NULL: not attached (every emit is a no-op) */
    struct rt_ring_cell *cells;
    uint64_t mask; /* cells - 1 */
    uint64_t key;  /* the header's commit key, read at attach */
    /* The consumer's tail as this process last read it (any thread; relaxed): room is checked
     * against it, and the shared tail, a line the consumer writes, is read again only when
     * this copy says the ring is full. */
    uint64_t tail_seen;
    size_t map_len;
    struct rt_ring_conn *conns; /* the connection table (RING.md "Connections") */
    uint32_t conn_count;
    uint64_t records; /* emitted by this process (since its fork): pre-faulting starts late */
    uint64_t populated[RT_RING_CHUNK_WORDS]; /* chunks this process has mapped */
};

/* Maps the ring at path (opened with raw system calls, not through any hook). Returns 0, or
 * -1 when the file is missing or not a valid ring (the producer stays detached). */
int rt_producer_attach(struct rt_producer *p, const char *path);
/* After fork: the child's page tables do not carry the parent's mapped chunks. */
void rt_producer_forget_pages(struct rt_producer *p);
/* Unmaps. */
void rt_producer_detach(struct rt_producer *p);
/* Appends one record; returns 0, or -1 when it was dropped (ring full, counted). */
int rt_producer_emit(struct rt_producer *p, const struct rt_rec *rec);
/* Before a call that may start an image the interposer cannot enter (an exec, spawn, system
 * or popen of one: hook_proc.c decides): bumps the header's process-change counter and wakes
 * the /proc sampler waiting on it (RING.md "Process changes"). Nothing when detached. */
void rt_producer_proc_change(struct rt_producer *p);

/* ---- the hot path: inlined into the emit functions (ring_produce.c, and preload.c's
 * rt_pl_emit_simple, the commonest record's), so that a recorded call makes one call into
 * the ring's code or none ---- */

#define RT_RING_RESERVE_TRIES 256

/* Pre-faults one chunk (first use by this process): out of line, the hot path only tests. */
void rt_producer_populate_chunk(struct rt_producer *p, uint64_t chunk);
/* Writes a record that wraps around the end of the cells (once a lap) and commits it. */
void rt_producer_emit_wrapped(struct rt_producer *p, struct rt_ring_slot *s, uint64_t pos,
                              uint64_t k, const struct rt_rec *rec, const size_t *len);

/* Whether chunk is mapped here or beyond the bitmap (then left to page faults). */
static inline bool rt_producer_populated(const struct rt_producer *p, uint64_t chunk)
{
    return chunk >= RT_RING_PREFAULT_CHUNKS ||
           ((__atomic_load_n(&p->populated[chunk >> 6], __ATOMIC_RELAXED) >> (chunk & 63)) & 1);
}

/* Pre-faults the chunks holding cells first..last (one chunk or two) not yet used here. */
static inline void rt_producer_populate(struct rt_producer *p, uint64_t first, uint64_t last)
{
    uint64_t c0 = first / RT_RING_CHUNK_CELLS, c1 = last / RT_RING_CHUNK_CELLS;
    if (__builtin_expect(!rt_producer_populated(p, c0), 0))
        rt_producer_populate_chunk(p, c0);
    if (__builtin_expect(c1 != c0 && !rt_producer_populated(p, c1), 0))
        rt_producer_populate_chunk(p, c1);
}

/* Reserves k cells (Room, Reserve: RING.md) and pre-faults their chunks once this process is
 * more than a passing one (see RT_RING_POPULATE_AFTER). Returns the first cell, its position
 * in *pos_out and whether the record wraps around the end of the cells in *wraps, or NULL
 * when the ring is full (counted as dropped). */
static inline __attribute__((always_inline)) struct rt_ring_slot *
rt_producer_reserve(struct rt_producer *p, struct rt_ring_header *h, uint64_t k, uint64_t *pos_out,
                    bool *wraps)
{
    uint64_t n = p->mask + 1;
    uint64_t pos = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
    for (int tries = 0;; tries++) {
        if (tries == RT_RING_RESERVE_TRIES)
            goto full;
        /* Room: every cell up to pos + k - 1 was read by the consumer in the previous lap. */
        uint64_t tail = __atomic_load_n(&p->tail_seen, __ATOMIC_ACQUIRE);
        if ((int64_t)(pos + k - tail) > (int64_t)n) {
            tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
            __atomic_store_n(&p->tail_seen, tail, __ATOMIC_RELEASE);
            if ((int64_t)(pos + k - tail) > (int64_t)n) {
                uint64_t now = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
                if (now == pos)
                    goto full; /* the consumer has not read that far yet */
                pos = now;
                continue;
            }
        }
        if (__atomic_compare_exchange_n(&h->head, &pos, pos + k, true, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
    }
    uint64_t at = pos & p->mask;
    *wraps = at + k > n;
    bool prefault = __atomic_load_n(&p->records, __ATOMIC_RELAXED) >= RT_RING_POPULATE_AFTER;
    if (__builtin_expect(!prefault, 0))
        __atomic_fetch_add(&p->records, 1, __ATOMIC_RELAXED);
    else if (__builtin_expect(!*wraps, 1))
        rt_producer_populate(p, at, at + k - 1);
    else {
        rt_producer_populate(p, at, at);
        rt_producer_populate(p, 0, 0);
    }
    *pos_out = pos;
    return (struct rt_ring_slot *)&p->cells[at];

full:
    __atomic_fetch_add(&h->dropped, 1, __ATOMIC_RELAXED);
    return NULL;
}

/* Commits the record of k cells reserved at pos, written at s. */
static inline __attribute__((always_inline)) void
rt_producer_publish(struct rt_producer *p, struct rt_ring_slot *s, uint64_t pos, uint64_t k)
{
    /* The next record (of any thread) most likely starts where this one ends: start fetching
     * its first two lines for writing while this one is committed. */
    __builtin_prefetch(&p->cells[(pos + k) & p->mask], 1, 3);
    __builtin_prefetch(&p->cells[(pos + k + 1) & p->mask], 1, 3);
    /* Commit: a plain release store of the keyed position. */
    __atomic_store_n(&s->commit, (pos + 1) ^ p->key, __ATOMIC_RELEASE);
}

/* rt_producer_emit for a record of numbers and at most one string (s0, NUL-terminated, or
 * NULL; num[3] 0, internal 0), written in place, each field once, rather than built aside
 * and copied: no string loops, no copy. Returns 0, or -1 when dropped (counted). */
static inline __attribute__((always_inline)) int
rt_producer_emit_short(struct rt_producer *p, int64_t ts_ns, uint64_t dur_ns, uint16_t op,
                       int64_t result, int64_t n0, int64_t n1, int64_t n2, int32_t pid, int32_t tid,
                       uint32_t flags, const char *s0)
{
    struct rt_ring_header *h = p->hdr;
    if (!h)
        return -1;
    size_t len0 = s0 ? strnlen(s0, RT_RING_STR_BYTES + 1) : 0;
    if (__builtin_expect(len0 > RT_RING_STR_BYTES, 0)) {
        len0 = RT_RING_STR_BYTES;
        __atomic_fetch_add(&h->truncated, 1, __ATOMIC_RELAXED);
    }
    uint64_t k = rt_ring_rec_cells(len0), pos;
    bool wraps;
    struct rt_ring_slot *s = rt_producer_reserve(p, h, k, &pos, &wraps);
    if (!s)
        return -1;
    if (__builtin_expect(wraps, 0)) {
        struct rt_rec rec = {.ts_ns = ts_ns,
                             .dur_ns = dur_ns,
                             .result = result,
                             .num = {n0, n1, n2, 0},
                             .pid = pid,
                             .tid = tid,
                             .flags = flags,
                             .op = op,
                             .str = {s0},
                             .str_len = {len0}};
        size_t len[RT_RING_NSTR] = {len0};
        rt_producer_emit_wrapped(p, s, pos, k, &rec, len);
        return 0;
    }
    s->ts_ns = ts_ns;
    s->dur_ns = dur_ns;
    s->result = result;
    s->num[0] = n0;
    s->num[1] = n1;
    s->num[2] = n2;
    s->num[3] = 0;
    s->pid = pid;
    s->tid = tid;
    s->flags = flags;
    s->op = op;
    s->internal = 0;
    s->str_len[0] = (uint16_t)len0;
    s->str_len[1] = 0;
    s->str_len[2] = 0;
    s->pad = 0;
    if (len0)
        memcpy(s->str, s0, len0);
    rt_producer_publish(p, s, pos, k);
    return 0;
}

#endif
