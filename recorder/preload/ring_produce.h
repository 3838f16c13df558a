/* The producer side of the shared event ring, used by every hook of the preload library:
 * attach to the ring named by RUNTRAIL_RING and append records. libc only, no allocation, no
 * locks, async-signal-safe and fork-safe (the mapping is MAP_SHARED and survives fork; the
 * only shared state is updated with atomic instructions). Never changes errno. */
#ifndef RUNTRAIL_RECORDER_PRELOAD_RING_PRODUCE_H
#define RUNTRAIL_RECORDER_PRELOAD_RING_PRODUCE_H

#include "recorder/preload/ring_layout.h"

#include <stddef.h>
#include <stdint.h>

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
#define RT_RING_CHUNK_WORDS ((RT_RING_MAX_CELLS / RT_RING_CHUNK_CELLS) / 64)

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

#endif
