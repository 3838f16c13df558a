/* The byte layout of the shared event ring file, shared by the producer (ring_produce.c, in
 * the preload library) and the consumer (recorder/ring.c). One header page followed by
 * cell_count 64-byte cells; a record takes as many consecutive cells as its fixed part and
 * strings need (2-3 for most records, 16 at most), its first word a commit word. The protocol
 * (producers reserve by advancing the shared head, check room against the consumer's tail,
 * and commit by storing a keyed position in the record's first word) is described in
 * recorder/RING.md. Every field a producer can scribble on is validated by the consumer
 * before use. */
#ifndef RUNTRAIL_RECORDER_PRELOAD_RING_LAYOUT_H
#define RUNTRAIL_RECORDER_PRELOAD_RING_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define RT_RING_MAGIC 0x31474e4952545255ull /* "URTRING1" little-endian */
#define RT_RING_VERSION 4u
#define RT_RING_HDR_SIZE 4096u
#define RT_RING_CELL_SIZE 64u
#define RT_RING_SLOT_SIZE 1024u /* the largest record: fixed part and strings */
#define RT_RING_SLOT_CELLS (RT_RING_SLOT_SIZE / RT_RING_CELL_SIZE)
/* Ring sizes are given in slots: room for at least that many records of the largest size
 * (1 KiB each); most records take 128-192 bytes, so a ring holds 5-8 times as many. */
#define RT_RING_DEFAULT_SLOTS 4096u
#define RT_RING_MIN_SLOTS 16u
#define RT_RING_MAX_SLOTS (1u << 20)
#define RT_RING_MIN_CELLS (RT_RING_MIN_SLOTS * RT_RING_SLOT_CELLS)
#define RT_RING_MAX_CELLS ((uint64_t)RT_RING_MAX_SLOTS * RT_RING_SLOT_CELLS)
#define RT_RING_NSTR 3
#define RT_RING_NNUM 4
#define RT_RING_CONNS 512u /* entries of the connection table */

/* Slot header bits (slot.internal): producer-to-consumer hints not shown to readers. */
#define RT_RING_INT_EXEC_PENDING 0x1u /* exec about to happen: result unknown until it fails */
#define RT_RING_INT_EXEC_FAILED 0x2u  /* the pending exec of this pid/tid failed: result here */

struct rt_ring_header {
    uint64_t magic;
    uint32_t version;
    uint32_t cell_size;  /* 64 */
    uint64_t cell_count; /* power of two */
    uint64_t hdr_size;
    uint64_t consumer_pid;
    uint64_t snap_gen; /* bumped by the consumer at each snapshot of the connection table */
    /* The time stamp counter and CLOCK_MONOTONIC read together at creation, if the TSC is
     * invariant and the kernel's clocksource (0 = producers read CLOCK_MONOTONIC instead):
     * producers derive the TSC rate from it and time events with the TSC (RING.md). */
    uint64_t clock_tsc;
    int64_t clock_mono;
    uint64_t head; /* next cell position to reserve (producers, CAS) */
    uint8_t pad1[56];
    uint64_t tail; /* next cell position the consumer reads: cells below it are free */
    uint8_t pad2[56];
    uint64_t dropped;   /* records producers could not write (ring full) */
    uint64_t truncated; /* strings cut to fit a slot */
    /* A record at position pos is committed when its first word holds (pos + 1) ^ key: random
     * per ring (top bit set), so neither a zero-filled cell, a record of an earlier lap nor
     * the bytes of a string pass for a commit. Producers read it once, at attach. */
    uint64_t key;
    uint8_t pad3[40];
    /* The connection table (RING.md "Connections"), after the slots. */
    uint64_t conn_off;       /* byte offset of entry 0 in the file */
    uint32_t conn_count;     /* entries */
    uint32_t conn_size;      /* bytes per entry */
    uint64_t conn_next_id;   /* connection ids handed out (producers, fetch-add) */
    uint64_t conn_closed;    /* bumped by a producer after marking an entry closed */
    uint64_t conn_untracked; /* connections producers could not enter (table full) */
    uint64_t conn_used;      /* entries ever claimed are below this index (atomic max) */
    /* Bumped by a producer before each call that starts a process or changes its program
     * (fork, posix_spawn, system, popen, exec), then woken as a futex: the /proc sampler walks
     * the runtime's tree at its full rate only after a change (RING.md "Process changes").
     * Zero in a ring whose producers predate it: the sampler then walks only every 50 ms. */
    uint32_t proc_gen;
    uint32_t proc_pad;
};

/* Connection entry states (rt_ring_conn.state). */
#define RT_RING_CONN_LIVE 0x1u    /* published by its producer: the consumer may read it */
#define RT_RING_CONN_CLOSED 0x2u  /* closed by its owner: the consumer writes the last summary */
#define RT_RING_CONN_INBOUND 0x4u /* accepted: INBOUND summary */
#define RT_RING_CONN_DGRAM 0x8u   /* UDP */

/* One connection a producer counts: claimed by CAS of id 0 -> a fresh id, filled, then
 * published with state LIVE (release). Counters and strings are written by the processes that
 * use the connection; the consumer reads them at a snapshot and frees the entry (state 0, then
 * id 0) once it is closed or its owner is gone. Strings are NUL-terminated when intact; the
 * consumer bounds them by their array size. */
struct rt_ring_conn {
    uint64_t id;         /* 0 = free */
    uint32_t state;      /* RT_RING_CONN_* */
    uint32_t proto;      /* enum rt_proto */
    int32_t pid, tid;    /* owner: the process that opened it (and its thread) */
    int32_t fd;          /* in the owner */
    uint32_t sniff;      /* producer only: which first bytes were sniffed this period */
    int64_t t0;          /* CLOCK_MONOTONIC ns of the connect/accept */
    int64_t period_ns;   /* start of the current period (t0, then the first I/O after a snapshot) */
    uint64_t period_gen; /* the snap_gen the current period belongs to */
    uint64_t bytes_out, bytes_in; /* totals since connect (atomic adds) */
    uint64_t text_gen;            /* odd while a producer rewrites the strings below */
    int64_t closed_ns;            /* when the owner closed it */
    char dest[64];                /* the peer */
    char local[64];               /* inbound: the local address the peer reached */
    char dns[128];
    char sni[256];
    char req[256]; /* the HTTP request line of the current period */
    char host[128];
    char status[96];
    uint8_t pad[8];
};

/* One record as it lies in the ring, from the first byte of its first cell: the fixed part
 * (88 bytes, with the commit word), then str_len[0..2] bytes of strings back to back. It takes
 * rt_ring_rec_cells() cells; a record near the end of the cells wraps around to cell 0. */
struct rt_ring_slot {
    uint64_t commit; /* (pos + 1) ^ key once committed (anything else: not yet) */
    int64_t ts_ns;
    uint64_t dur_ns;
    int64_t result;
    int64_t num[RT_RING_NNUM];
    int32_t pid, tid;
    uint32_t flags;
    uint16_t op;
    uint16_t internal;
    uint16_t str_len[RT_RING_NSTR];
    uint16_t pad;
    char str[RT_RING_SLOT_SIZE - 88]; /* the strings back to back, no terminators */
};

#define RT_RING_STR_BYTES (RT_RING_SLOT_SIZE - 88u)
#define RT_RING_FIXED_BYTES 88u

struct rt_ring_cell {
    uint64_t word[RT_RING_CELL_SIZE / 8];
};

/* Cells taken by a record with str_bytes bytes of strings (at most RT_RING_STR_BYTES). */
static inline uint64_t rt_ring_rec_cells(uint64_t str_bytes)
{
    return (RT_RING_FIXED_BYTES + str_bytes + RT_RING_CELL_SIZE - 1) / RT_RING_CELL_SIZE;
}

_Static_assert(sizeof(struct rt_ring_header) <= RT_RING_HDR_SIZE, "ring header size");
_Static_assert(offsetof(struct rt_ring_slot, str) == RT_RING_FIXED_BYTES, "record fixed part");
_Static_assert(offsetof(struct rt_ring_header, key) == 208, "ring header key");
_Static_assert(sizeof(struct rt_ring_slot) == RT_RING_SLOT_SIZE, "ring slot size");
_Static_assert(offsetof(struct rt_ring_header, clock_tsc) == 48, "ring header clock");
_Static_assert(offsetof(struct rt_ring_header, head) == 64, "ring header head");
_Static_assert(offsetof(struct rt_ring_header, conn_off) == 256, "ring header connections");
_Static_assert(sizeof(struct rt_ring_conn) == 1088, "connection entry size (RING.md)");

/* The counter a producer may time events with instead of two vDSO clock reads per event
 * (RING.md, "Time"): the time stamp counter on x86-64, the generic timer's virtual count
 * (CNTVCT_EL0) on arm64. Both count at a constant rate in step across CPUs where the kernel
 * keeps its own clock with them (ring.c decides, per host). rt_ring_counter is the plain read
 * the hooks take around a call (the system call between two reads orders them);
 * rt_ring_counter_ordered waits for earlier instructions first, for reads paired with the
 * clock. */
#if defined(__x86_64__) || defined(__aarch64__)
#define RT_RING_HAVE_COUNTER 1
#include <stdbool.h>
#include <time.h>
static inline uint64_t rt_ring_counter(void)
{
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    uint64_t t;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(t));
    return t;
#endif
}
static inline uint64_t rt_ring_counter_ordered(void)
{
#if defined(__aarch64__)
    __asm__ __volatile__("isb" ::: "memory");
#endif
    return rt_ring_counter();
}
/* The counter's rate in Hz where the architecture states it (arm64: CNTFRQ_EL0, which the
 * firmware sets for the kernel and user space alike), else 0: measured against the clock. */
static inline uint64_t rt_ring_counter_hz(void)
{
#if defined(__aarch64__)
    uint64_t hz;
    __asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(hz));
    return hz & 0xffffffffu; /* the upper half is reserved */
#else
    return 0;
#endif
}

/* A (counter, CLOCK_MONOTONIC) pair read back to back, as the header's clock pair (consumer)
 * and the producers' anchors read it: the narrowest of up to `tries` reads, the counter taken
 * at the middle of the clock read, stopping at the first narrower than good_ticks. A read
 * max_ticks wide or wider does not count; false when none counted (*tsc, *mono untouched). */
static inline bool rt_ring_clock_pair(int tries, uint64_t max_ticks, uint64_t good_ticks,
                                      uint64_t *tsc, int64_t *mono)
{
    uint64_t best = max_ticks;
    for (int i = 0; i < tries; i++) {
        uint64_t t0 = rt_ring_counter_ordered();
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t1 = rt_ring_counter_ordered();
        /* t1 >= t0: a counter with a few MHz reads the same value on both sides */
        if (t1 >= t0 && t1 - t0 < best) {
            best = t1 - t0;
            *tsc = t0 + (t1 - t0) / 2;
            *mono = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
            if (best < good_ticks)
                break;
        }
    }
    return best < max_ticks;
}
#endif

#endif
