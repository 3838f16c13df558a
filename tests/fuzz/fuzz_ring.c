/* fuzz-sources: recorder/ring.c recorder/preload/ring_produce.c formats/error.c */
/* fuzz-sources: recorder/preload/sniff.c */
/* fuzz-libs: */
/* libFuzzer harness for the ring consumer against a hostile producer: a fresh small ring gets
 * a few valid records and two connections, then the input scribbles on the shared file. Each
 * 5-byte step is a 32-bit offset into the mapping and a byte; offset 0xffffffff emits another
 * valid record instead, 0xfffffffe forges a commit word (keyed as a producer would) at the
 * byte's distance from the consumer's tail, 0xfffffffd moves the head forward by the byte. A
 * byte 0xd7 drains, 0xd6 snapshots the connection table, 0xd5 cuts it (an invocation ends; two
 * cuts at most wait), 0xd4 seals the oldest cut (set, drain, settle). Then the consumer drains,
 * settles the cuts left, snapshots the connections, drains finally and takes its counters. It
 * must never crash, hang or read outside the mapping. */
#include "recorder/preload/ring_produce.h"
#include "recorder/ring.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;
static char long_str[600];

static void consume(const struct rt_event *ev, void *arg)
{
    (void)arg;
    size_t n = ev->op + (size_t)ev->result;
    for (int i = 0; i < RT_EVENT_STRS; i++)
        for (size_t k = 0; k < ev->str[i].len; k++)
            n += (unsigned char)ev->str[i].ptr[k];
    sink += n;
}

/* The sealer's part for the oldest waiting cut. */
static void seal_cut(struct rt_ring *ring, struct rt_ring_cut **cuts, int *n)
{
    rt_ring_set_cut(ring, cuts[0]);
    rt_ring_drain(ring, consume, NULL);
    rt_ring_settle_cut(ring, consume, NULL);
    rt_ring_cut_free(cuts[0]);
    cuts[0] = cuts[1];
    cuts[1] = NULL;
    (*n)--;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/rt-fuzz-ring-%d", (int)getpid());
    struct rt_ring *ring = NULL;
    struct rt_errinfo ei;
    if (rt_ring_create(path, 16, &ring, &ei) != RT_OK)
        return 0;
    struct rt_producer p;
    if (rt_producer_attach(&p, path) != 0) {
        rt_ring_close(ring);
        unlink(path);
        return 0;
    }
    memset(long_str, 'p', sizeof long_str);
    struct rt_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.op = RT_OP_EXEC;
    rec.internal = RT_RING_INT_EXEC_PENDING;
    rec.str[0] = "/bin/sh";
    rec.str_len[0] = 7;
    for (int i = 0; i < 4; i++)
        rt_producer_emit(&p, &rec);
    rec.internal = 0;
    rec.op = RT_OP_OPEN;
    /* two connections in the table, as hook_net.c claims them, for the scribbles to change */
    for (uint32_t k = 0; k < 2 && k < p.conn_count; k++) {
        struct rt_ring_conn *c = &p.conns[k];
        c->id = k + 1;
        c->pid = k ? -1 : (int32_t)getpid(); /* -1: never a process to signal */
        c->period_gen = p.hdr->snap_gen;
        c->bytes_out = 100 * (k + 1);
        memcpy(c->req, "GET / HTTP/1.1", 15);
        memcpy(c->dest, "127.0.0.1:80", 13);
        c->state = RT_RING_CONN_LIVE;
        p.hdr->conn_used = k + 1;
    }
    unsigned char *base = (unsigned char *)p.hdr;
    struct rt_ring_cut *cuts[2] = {NULL, NULL};
    int n_cuts = 0;
    for (size_t i = 0; i + 5 <= size; i += 5) {
        uint32_t off;
        memcpy(&off, data + i, 4);
        if (off == 0xffffffffu) {
            rec.internal = data[i + 4] & 3;
            rec.pid = data[i + 4];
            rec.str_len[0] = 7 + (size_t)(data[i + 4] & 0x7f) * 4; /* 1 to 8 cells */
            rec.str[0] = long_str;
            rt_producer_emit(&p, &rec);
            continue;
        }
        if (off == 0xfffffffeu) {
            uint64_t pos = __atomic_load_n(&p.hdr->tail, __ATOMIC_RELAXED) + data[i + 4];
            __atomic_store_n(&p.cells[pos & p.mask].word[0], (pos + 1) ^ p.key, __ATOMIC_RELEASE);
            continue;
        }
        if (off == 0xfffffffdu) {
            __atomic_fetch_add(&p.hdr->head, data[i + 4], __ATOMIC_RELAXED);
            continue;
        }
        base[off % p.map_len] = data[i + 4];
        if (data[i + 4] == 0xd7)
            rt_ring_drain(ring, consume, NULL);
        else if (data[i + 4] == 0xd6)
            rt_ring_snapshot_conns(ring, consume, NULL);
        else if (data[i + 4] == 0xd5 && n_cuts < 2 && (cuts[n_cuts] = rt_ring_cut_conns(ring)))
            n_cuts++;
        else if (data[i + 4] == 0xd4 && n_cuts)
            seal_cut(ring, cuts, &n_cuts);
    }
    while (n_cuts)
        seal_cut(ring, cuts, &n_cuts);
    rt_ring_drain(ring, consume, NULL);
    rt_ring_snapshot_conns(ring, consume, NULL);
    rt_ring_drain_final(ring, 0, consume, NULL);
    sink += rt_ring_take_dropped(ring) + rt_ring_take_truncated(ring) + rt_ring_backlog(ring) +
            rt_ring_take_untracked(ring);
    rt_producer_detach(&p);
    rt_ring_close(ring);
    unlink(path);
    return 0;
}
