/* Unit tests of recorder/: the shared event ring (producer and consumer together): records
 * round-trip intact, strings are cut and counted, a full ring counts drops, many threads in
 * several processes lose nothing silently (every record present once or counted as dropped),
 * records of every size wrap around intact, a ring in memory is reached through /proc and
 * cannot be resized, a stalled producer's reservation is skipped, exec
 * records are merged, a scribbled ring cannot crash
 * the consumer; the connection table yields one summary per period with the bytes since the
 * previous one, a last one at close or when the owner is gone, bounded strings when scribbled;
 * and the protocol sniffers (TLS SNI, HTTP, DNS). */
#include "recorder/preload/ring_produce.h"
#include "recorder/preload/sniff.h"
#include "recorder/ring.h"
#include "tests/unit/cached_pages.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define STRESS_PER_THREAD 20000
#else
#define STRESS_PER_THREAD 100000
#endif

static char ring_path[64];

static struct rt_ring *make_ring(size_t slots)
{
    snprintf(ring_path, sizeof ring_path, "/tmp/rt-test-ring-%d-%ld", (int)getpid(),
             (long)random());
    struct rt_ring *r = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_ring_create(ring_path, slots, &r, &ei), RT_OK, "%s", ei.detail);
    return r;
}

static void drop_ring(struct rt_ring *r)
{
    rt_ring_close(r);
    unlink(ring_path);
}

struct collected {
    size_t n;
    struct rt_event ev[64];
    char strs[64][3][1024];
};

static void collect(const struct rt_event *ev, void *arg)
{
    struct collected *c = arg;
    if (c->n >= 64)
        return;
    c->ev[c->n] = *ev;
    for (int i = 0; i < 3; i++) {
        memcpy(c->strs[c->n][i], ev->str[i].ptr ? ev->str[i].ptr : "", ev->str[i].len);
        c->strs[c->n][i][ev->str[i].len] = 0;
        c->ev[c->n].str[i].ptr = c->strs[c->n][i];
    }
    c->n++;
}

static struct rt_rec rec_open(const char *path, int64_t result)
{
    struct rt_rec r;
    memset(&r, 0, sizeof r);
    r.op = RT_OP_OPEN;
    r.ts_ns = 1000;
    r.dur_ns = 7;
    r.result = result;
    r.pid = 42;
    r.tid = 43;
    r.flags = RT_EF_CREATE;
    r.num[0] = -100;
    r.num[1] = 0101;
    r.num[2] = 0644;
    r.str[0] = path;
    r.str_len[0] = strlen(path);
    return r;
}

Test(ring, roundtrip)
{
    struct rt_ring *ring = make_ring(0);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_rec r = rec_open("/etc/hosts", 3);
    cr_assert_eq(rt_producer_emit(&p, &r), 0);
    r = rec_open("/missing", -2);
    const char argv[] = "a\0b c";
    r.str[1] = argv;
    r.str_len[1] = sizeof argv - 1;
    cr_assert_eq(rt_producer_emit(&p, &r), 0);
    cr_assert_eq(rt_ring_backlog(ring), 4, "two records of 2 cells (88-byte fixed part + strings)");
    struct collected *c = calloc(1, sizeof *c);
    cr_assert_eq(rt_ring_drain(ring, collect, c), 2);
    cr_assert_eq(c->n, 2);
    cr_assert_str_eq(c->ev[0].str[0].ptr, "/etc/hosts");
    cr_assert_eq(c->ev[0].result, 3);
    cr_assert_eq(c->ev[0].op, RT_OP_OPEN);
    cr_assert_eq(c->ev[0].pid, 42);
    cr_assert_eq(c->ev[0].tid, 43);
    cr_assert_eq(c->ev[0].flags, RT_EF_CREATE);
    cr_assert_eq(c->ev[0].num[0], -100);
    cr_assert_eq(c->ev[0].num[2], 0644);
    cr_assert_eq(c->ev[0].ts_ns, 1000);
    cr_assert_eq(c->ev[0].dur_ns, 7);
    cr_assert_eq(c->ev[1].result, -2);
    cr_assert_eq(c->ev[1].str[1].len, sizeof argv - 1);
    cr_assert_eq(memcmp(c->ev[1].str[1].ptr, argv, sizeof argv - 1), 0);
    cr_assert_eq(c->ev[1].str[2].len, 0);
    cr_assert_eq(rt_ring_backlog(ring), 0);
    cr_assert_eq(rt_ring_take_dropped(ring), 0);
    cr_assert_eq(rt_ring_take_truncated(ring), 0);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* The ring in memory (the extension's and `runtrail record`'s default): another process
 * attaches by the /proc path it is given, with no file anywhere to delete; nobody can resize
 * it under the mappings; populating allocates its pages. */
Test(ring, in_memory_ring_is_reached_through_proc_and_keeps_its_size)
{
    char path[64];
    struct rt_ring *ring = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_ring_create_mem(0, path, sizeof path, &ring, &ei), RT_OK, "%s", ei.detail);
    char want[32];
    snprintf(want, sizeof want, "/proc/%d/fd/", (int)getpid());
    cr_assert_eq(strncmp(path, want, strlen(want)), 0, "%s", path);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        struct rt_producer p;
        if (rt_producer_attach(&p, path) != 0)
            _exit(2);
        struct rt_rec r = rec_open("/from/the/child", 5);
        _exit(rt_producer_emit(&p, &r) == 0 ? 0 : 3);
    }
    int st;
    cr_assert_eq(waitpid(child, &st, 0), child);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child could not record (%d)", st);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    struct stat sb;
    cr_assert_eq(fstat(fd, &sb), 0);
    cr_assert_eq(ftruncate(fd, 4096), -1, "the size is sealed");
    cr_assert_eq(errno, EPERM);
    cr_assert_eq(ftruncate(fd, sb.st_size * 2), -1, "both ways");
    struct stat after;
    cr_assert_eq(fstat(fd, &after), 0);
    cr_assert_eq(after.st_size, sb.st_size);
    blkcnt_t before_populate = after.st_blocks;
    rt_ring_populate(ring);
    cr_assert_eq(fstat(fd, &after), 0);
    cr_assert_gt(after.st_blocks, before_populate, "rt_ring_populate allocates the pages");
    cr_assert_geq((off_t)after.st_blocks * 512, sb.st_size);
    close(fd);
    struct collected *c = calloc(1, sizeof *c);
    cr_assert_eq(rt_ring_drain(ring, collect, c), 1, "populating changed no cell");
    cr_assert_str_eq(c->ev[0].str[0].ptr, "/from/the/child");
    free(c);

    rt_ring_close(ring);
    struct rt_producer late;
    cr_assert_eq(rt_producer_attach(&late, path), -1, "closed: nothing to attach to");
}

Test(ring, long_strings_are_cut_and_counted)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    static char big[5000];
    memset(big, 'x', sizeof big);
    struct rt_rec r = rec_open("", 0);
    r.str[0] = big;
    r.str_len[0] = sizeof big;
    r.str[1] = "second";
    r.str_len[1] = 6;
    cr_assert_eq(rt_producer_emit(&p, &r), 0);
    struct collected *c = calloc(1, sizeof *c);
    rt_ring_drain(ring, collect, c);
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->ev[0].str[1].ptr, "second", "a later string keeps its room");
    cr_assert_gt(c->ev[0].str[0].len, 500);
    cr_assert_lt(c->ev[0].str[0].len, sizeof big);
    cr_assert_eq(rt_ring_take_truncated(ring), 1);
    cr_assert_eq(rt_ring_take_truncated(ring), 0, "taking resets");
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

Test(ring, full_ring_counts_drops)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_rec r = rec_open("/x", 0); /* 90 bytes: 2 cells */
    const int fit = 16 * RT_RING_SLOT_CELLS / 2;
    int ok = 0;
    for (int i = 0; i < fit + 4; i++)
        ok += rt_producer_emit(&p, &r) == 0;
    cr_assert_eq(ok, fit);
    cr_assert_eq(rt_ring_take_dropped(ring), 4);
    struct collected *c = calloc(1, sizeof *c);
    cr_assert_eq(rt_ring_drain(ring, collect, c), (size_t)fit);
    cr_assert_eq(rt_producer_emit(&p, &r), 0, "room again after a drain");
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

Test(ring, detached_producer_and_bad_files)
{
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, "/nonexistent/ring"), -1);
    struct rt_rec r = rec_open("/x", 0);
    cr_assert_eq(rt_producer_emit(&p, &r), -1);
    char path[] = "/tmp/rt-test-notring-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    char junk[70000];
    memset(junk, 0x5a, sizeof junk);
    cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    errno = 1234;
    cr_assert_eq(rt_producer_attach(&p, path), -1);
    cr_assert_eq(errno, 1234, "errno preserved");
    unlink(path);
}

/* ---- stress: threads x processes ---- */

struct counter {
    uint64_t *seen; /* [producer][seq] bitmap in bytes */
    size_t producers, per;
    size_t received, dups, bad;
};

static void count_ev(const struct rt_event *ev, void *arg)
{
    struct counter *c = arg;
    size_t prod = (size_t)ev->num[0], seq = (size_t)ev->num[1];
    if (ev->op != RT_OP_OPEN || prod >= c->producers || seq >= c->per ||
        ev->num[2] != (int64_t)(prod * 7 + seq) || ev->str[0].len != 12 ||
        memcmp(ev->str[0].ptr, "/stress/path", 12) != 0) {
        c->bad++;
        return;
    }
    uint64_t *w = &c->seen[(prod * c->per + seq) / 64];
    uint64_t bit = 1ull << ((prod * c->per + seq) % 64);
    if (*w & bit)
        c->dups++;
    *w |= bit;
    c->received++;
}

struct thread_arg {
    struct rt_producer *p;
    size_t id, per;
};

static void *stress_thread(void *arg)
{
    struct thread_arg *a = arg;
    struct rt_rec r = rec_open("/stress/path", 0);
    for (size_t i = 0; i < a->per; i++) {
        r.num[0] = (int64_t)a->id;
        r.num[1] = (int64_t)i;
        r.num[2] = (int64_t)(a->id * 7 + i);
        rt_producer_emit(a->p, &r);
    }
    return NULL;
}

static void run_producers(size_t first_id, size_t threads, size_t per)
{
    struct rt_producer p;
    if (rt_producer_attach(&p, ring_path) != 0)
        _exit(3);
    pthread_t th[16];
    struct thread_arg args[16];
    for (size_t t = 0; t < threads; t++) {
        args[t] = (struct thread_arg){&p, first_id + t, per};
        pthread_create(&th[t], NULL, stress_thread, &args[t]);
    }
    for (size_t t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
}

Test(ring, stress_threads_and_processes, .timeout = 120)
{
    const size_t procs = 4, threads = 8, per = STRESS_PER_THREAD;
    struct rt_ring *ring = make_ring(0);
    struct counter c = {.producers = procs * threads, .per = per};
    c.seen = calloc((procs * threads * per + 63) / 64, sizeof(uint64_t));
    pid_t kids[4];
    for (size_t k = 0; k < procs; k++) {
        kids[k] = fork();
        cr_assert_geq(kids[k], 0);
        if (kids[k] == 0) {
            run_producers(k * threads, threads, per);
            _exit(0);
        }
    }
    size_t alive = procs;
    while (alive > 0) {
        rt_ring_drain(ring, count_ev, &c);
        for (size_t k = 0; k < procs; k++) {
            int st;
            if (kids[k] > 0 && waitpid(kids[k], &st, WNOHANG) == kids[k]) {
                cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
                kids[k] = -1;
                alive--;
            }
        }
    }
    rt_ring_drain_final(ring, 100, count_ev, &c);
    uint64_t dropped = rt_ring_take_dropped(ring);
    cr_assert_eq(c.bad, 0, "no torn or corrupt record");
    cr_assert_eq(c.dups, 0, "no record twice");
    cr_assert_eq(c.received + dropped, procs * threads * per, "received %zu + dropped %llu",
                 c.received, (unsigned long long)dropped);
    cr_assert_gt(c.received, 0);
    cr_log_info("stress: %zu received, %llu dropped", c.received, (unsigned long long)dropped);
    free(c.seen);
    drop_ring(ring);
}

/* ---- stalled producers, exec merging ---- */

Test(ring, stalled_producer_is_skipped_at_final_drain)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    /* a producer that reserved a record of 3 cells and died before committing */
    __atomic_fetch_add(&p.hdr->head, 3, __ATOMIC_ACQ_REL);
    struct rt_rec r = rec_open("/after", 0);
    cr_assert_eq(rt_producer_emit(&p, &r), 0);
    struct collected *c = calloc(1, sizeof *c);
    cr_assert_eq(rt_ring_drain(ring, collect, c), 0, "waits for the reserved record first");
    rt_ring_drain_final(ring, 10, collect, c);
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->ev[0].str[0].ptr, "/after");
    cr_assert_eq(rt_ring_take_dropped(ring), 1);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* The consumer gives up on a stalled reservation after its grace period even when the ring
 * keeps running (not only at the final drain), and resumes at the next committed record. */
Test(ring, stalled_producer_is_skipped_after_the_grace_period)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_rec r = rec_open("/before", 0);
    cr_assert_eq(rt_producer_emit(&p, &r), 0);
    __atomic_fetch_add(&p.hdr->head, 5, __ATOMIC_ACQ_REL); /* reserved, never committed */
    struct collected *c = calloc(1, sizeof *c);
    cr_assert_eq(rt_ring_drain(ring, collect, c), 1, "the record before the stall");
    r = rec_open("/after", 0);
    cr_assert_eq(rt_producer_emit(&p, &r), 0);
    cr_assert_eq(rt_ring_drain(ring, collect, c), 0, "waits within the grace period");
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
    cr_assert_eq(rt_ring_drain(ring, collect, c), 1);
    cr_assert_str_eq(c->ev[1].str[0].ptr, "/after");
    cr_assert_eq(rt_ring_take_dropped(ring), 1);
    cr_assert_eq(rt_ring_backlog(ring), 0);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* The hooks' commonest record (numbers and at most one string) is written in place by
 * rt_producer_emit_short: every field arrives as given, num[3] and the other strings empty, a
 * name longer than a slot holds is cut to fit and counted, and records of every size wrap
 * around the end of the cells intact, lap after lap. */
Test(ring, short_records_written_in_place_arrive_whole)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    static char name[2000];
    for (size_t i = 0; i < sizeof name - 1; i++)
        name[i] = (char)('a' + i % 26);
    const size_t lens[] = {0, 1, 40, 100, 301, RT_RING_STR_BYTES, sizeof name - 1};
    const size_t nlens = sizeof lens / sizeof *lens;
    struct collected *c = calloc(1, sizeof *c);
    uint64_t cells = p.mask + 1, used = 0;
    size_t cut = 0;
    for (uint64_t i = 0; used < 3 * cells; i++) { /* three laps, records of 2 to 16 cells */
        size_t len = lens[i % nlens];
        char saved = name[len];
        name[len] = '\0';
        int rc = rt_producer_emit_short(&p, 1000 + (int64_t)i, 7 + i, RT_OP_KILL, -(int64_t)i, 11,
                                        (int64_t)i, -13, 42, 43, RT_EF_CREATE, len ? name : NULL);
        name[len] = saved;
        cr_assert_eq(rc, 0, "record %llu", (unsigned long long)i);
        size_t kept = len < RT_RING_STR_BYTES ? len : RT_RING_STR_BYTES;
        cut += len > RT_RING_STR_BYTES;
        used += rt_ring_rec_cells(kept);
        c->n = 0;
        cr_assert_eq(rt_ring_drain(ring, collect, c), 1, "record %llu", (unsigned long long)i);
        const struct rt_event *ev = &c->ev[0];
        cr_assert_eq(ev->op, RT_OP_KILL);
        cr_assert_eq(ev->ts_ns, 1000 + (int64_t)i);
        cr_assert_eq(ev->dur_ns, 7 + i);
        cr_assert_eq(ev->result, -(int64_t)i);
        cr_assert_eq(ev->num[0], 11);
        cr_assert_eq(ev->num[1], (int64_t)i);
        cr_assert_eq(ev->num[2], -13);
        cr_assert_eq(ev->num[3], 0);
        cr_assert_eq(ev->pid, 42);
        cr_assert_eq(ev->tid, 43);
        cr_assert_eq(ev->flags, RT_EF_CREATE);
        cr_assert_eq(ev->str[0].len, kept, "record %llu of a %zu-byte name", (unsigned long long)i,
                     len);
        cr_assert_eq(memcmp(ev->str[0].ptr, name, kept), 0);
        cr_assert_eq(ev->str[1].len, 0);
        cr_assert_eq(ev->str[2].len, 0);
    }
    cr_assert_gt(cut, 0);
    cr_assert_eq(rt_ring_take_truncated(ring), cut, "each cut name counted once");
    cr_assert_eq(rt_ring_take_dropped(ring), 0);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* A producer given up on commits late: its keyed position can never pass for a commit of a
 * later lap, and the ring goes on taking and delivering records over several laps. */
Test(ring, late_commit_after_give_up_is_harmless)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    __atomic_fetch_add(&p.hdr->head, 2, __ATOMIC_ACQ_REL); /* reserves cells 0-1, stalls */
    struct collected *c = calloc(1, sizeof *c);
    rt_ring_drain_final(ring, 10, collect, c); /* gives up on it */
    cr_assert_eq(rt_ring_take_dropped(ring), 1);
    uint64_t cells = p.mask + 1;
    cr_assert_eq(cells, 16 * RT_RING_SLOT_CELLS);
    struct rt_rec r = rec_open("/lap", 0); /* 2 cells */
    size_t got = 0;
    for (uint64_t i = 0; i < cells; i++) { /* two laps */
        if (i == cells / 4)                /* the late commit, after the first lap reused cell 0 */
            __atomic_store_n(&p.cells[0].word[0], 1 ^ p.key, __ATOMIC_RELEASE);
        cr_assert_eq(rt_producer_emit(&p, &r), 0, "record %llu", (unsigned long long)i);
        c->n = 0;
        got += rt_ring_drain(ring, collect, c);
        cr_assert_eq(c->n, 1, "record %llu delivered once", (unsigned long long)i);
        cr_assert_str_eq(c->ev[0].str[0].ptr, "/lap");
    }
    cr_assert_eq(got, cells);
    cr_assert_eq(rt_ring_take_dropped(ring), 0);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* A producer scribbles on the shared tail: producers believe there is room and lap the
 * consumer. The consumer notices the head more than a lap ahead, counts the loss, resumes at
 * the head, and the ring works again. */
Test(ring, producers_lapping_the_consumer_do_not_wedge_it)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    __atomic_store_n(&p.hdr->tail, 1ull << 40, __ATOMIC_RELEASE);
    p.tail_seen = 1ull << 40;
    struct rt_rec r = rec_open("/lapped", 0); /* 2 cells */
    for (uint64_t i = 0; i < p.mask + 1; i++)
        cr_assert_eq(rt_producer_emit(&p, &r), 0);
    struct collected *c = calloc(1, sizeof *c);
    rt_ring_drain(ring, collect, c);
    cr_assert_eq(rt_ring_take_dropped(ring), 1, "the lapped records, counted");
    cr_assert_eq(rt_ring_backlog(ring), 0);
    r = rec_open("/again", 0);
    cr_assert_eq(rt_producer_emit(&p, &r), 0);
    c->n = 0;
    cr_assert_eq(rt_ring_drain(ring, collect, c), 1);
    cr_assert_str_eq(c->ev[0].str[0].ptr, "/again");
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* Records of every size (1 to 16 cells) over several laps: each comes out intact, in order,
 * including those that wrap around the end of the cells. */
Test(ring, variable_sizes_wrap_around_intact)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    static char text[RT_RING_STR_BYTES];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7 + i / 26) % 26);
    struct collected *c = calloc(1, sizeof *c);
    uint64_t wrapped = 0, cells = p.mask + 1;
    for (unsigned i = 0; i < 3000; i++) {
        size_t l0 = (i * 37) % 700, l1 = (i * 11) % 200, l2 = i % 3 ? 0 : (i * 5) % 36;
        struct rt_rec r = rec_open("", (int64_t)i);
        r.str[0] = text;
        r.str_len[0] = l0;
        r.str[1] = text + 100;
        r.str_len[1] = l1;
        r.str[2] = l2 ? text + 300 : NULL;
        r.str_len[2] = l2;
        uint64_t head = __atomic_load_n(&p.hdr->head, __ATOMIC_RELAXED);
        uint64_t k = rt_ring_rec_cells(l0 + l1 + l2);
        wrapped += (head & p.mask) + k > cells;
        cr_assert_eq(rt_producer_emit(&p, &r), 0, "record %u", i);
        c->n = 0;
        cr_assert_eq(rt_ring_drain(ring, collect, c), 1, "record %u", i);
        cr_assert_eq(c->ev[0].result, (int64_t)i);
        cr_assert_eq(c->ev[0].str[0].len, l0, "record %u", i);
        cr_assert_eq(memcmp(c->ev[0].str[0].ptr, text, l0), 0, "record %u", i);
        cr_assert_eq(c->ev[0].str[1].len, l1);
        cr_assert_eq(memcmp(c->ev[0].str[1].ptr, text + 100, l1), 0, "record %u", i);
        cr_assert_eq(c->ev[0].str[2].len, l2);
        cr_assert_eq(memcmp(c->ev[0].str[2].ptr, text + 300, l2), 0, "record %u", i);
        cr_assert_eq(c->ev[0].num[2], 0644);
    }
    cr_assert_gt(wrapped, 3, "records wrapped around the end (%llu)", (unsigned long long)wrapped);
    cr_assert_eq(rt_ring_take_dropped(ring), 0);
    cr_assert_eq(rt_ring_take_truncated(ring), 0);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

static struct rt_rec rec_exec(uint16_t internal, int64_t result, int pid)
{
    struct rt_rec r;
    memset(&r, 0, sizeof r);
    r.op = RT_OP_EXEC;
    r.internal = internal;
    r.result = result;
    r.pid = pid;
    r.tid = pid;
    r.str[0] = "/bin/true";
    r.str_len[0] = 9;
    return r;
}

Test(ring, failed_exec_is_one_event)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_rec a = rec_exec(RT_RING_INT_EXEC_PENDING, 0, 10);
    struct rt_rec b = rec_exec(RT_RING_INT_EXEC_FAILED, -2, 10);
    rt_producer_emit(&p, &a);
    rt_producer_emit(&p, &b);
    struct collected *c = calloc(1, sizeof *c);
    rt_ring_drain_final(ring, 10, collect, c);
    cr_assert_eq(c->n, 1);
    cr_assert_eq(c->ev[0].op, RT_OP_EXEC);
    cr_assert_eq(c->ev[0].result, -2);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

Test(ring, successful_exec_precedes_proc_start)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_rec a = rec_exec(RT_RING_INT_EXEC_PENDING, 0, 11);
    struct rt_rec other = rec_open("/other", 0);
    other.pid = 99;
    struct rt_rec start = rec_exec(0, 0, 11);
    start.op = RT_OP_PROC_START;
    rt_producer_emit(&p, &a);
    rt_producer_emit(&p, &other);
    rt_producer_emit(&p, &start);
    struct collected *c = calloc(1, sizeof *c);
    rt_ring_drain(ring, collect, c);
    cr_assert_eq(c->n, 3);
    cr_assert_eq(c->ev[0].op, RT_OP_OPEN);
    cr_assert_eq(c->ev[1].op, RT_OP_EXEC);
    cr_assert_eq(c->ev[1].result, 0);
    cr_assert_eq(c->ev[2].op, RT_OP_PROC_START);
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

static void count_only(const struct rt_event *ev, void *arg)
{
    size_t *n = arg;
    /* touch every byte the consumer hands out */
    volatile char sink = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++)
        for (size_t k = 0; k < ev->str[i].len; k++)
            sink ^= ev->str[i].ptr[k];
    (void)sink;
    (*n)++;
}

Test(ring, scribbled_ring_does_not_crash_the_consumer)
{
    srandom(7);
    for (int round = 0; round < 50; round++) {
        struct rt_ring *ring = make_ring(16);
        struct rt_producer p;
        cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
        struct rt_rec r = rec_open("/ok", 0);
        for (int i = 0; i < 10; i++)
            rt_producer_emit(&p, &r);
        unsigned char *base = (unsigned char *)p.hdr;
        for (int k = 0; k < 400; k++)
            base[(size_t)random() % p.map_len] = (unsigned char)random();
        if (round % 3 == 0)
            memset(base + 4096, 0xff, 4096);
        size_t n = 0;
        rt_ring_drain(ring, count_only, &n);
        rt_ring_drain_final(ring, 1, count_only, &n);
        rt_ring_take_dropped(ring);
        rt_producer_detach(&p);
        drop_ring(ring);
    }
}

/* ---- sniffers ---- */

static size_t client_hello(unsigned char *b, const char *host)
{
    size_t hl = strlen(host), p = 0;
    unsigned char body[512];
    size_t q = 0;
    body[q++] = 0x03, body[q++] = 0x03;                               /* version */
    memset(body + q, 0xab, 32), q += 32;                              /* random */
    body[q++] = 0;                                                    /* session id */
    body[q++] = 0, body[q++] = 2, body[q++] = 0x13, body[q++] = 0x01; /* suites */
    body[q++] = 1, body[q++] = 0;                                     /* compression */
    size_t ext_len = 4 + 2 + 3 + hl;
    body[q++] = (unsigned char)(ext_len >> 8), body[q++] = (unsigned char)ext_len;
    body[q++] = 0, body[q++] = 0; /* server_name */
    body[q++] = (unsigned char)((5 + hl) >> 8), body[q++] = (unsigned char)(5 + hl);
    body[q++] = (unsigned char)((3 + hl) >> 8), body[q++] = (unsigned char)(3 + hl);
    body[q++] = 0;
    body[q++] = (unsigned char)(hl >> 8), body[q++] = (unsigned char)hl;
    memcpy(body + q, host, hl), q += hl;
    b[p++] = 0x16, b[p++] = 0x03, b[p++] = 0x01;
    b[p++] = (unsigned char)((q + 4) >> 8), b[p++] = (unsigned char)(q + 4);
    b[p++] = 0x01, b[p++] = 0, b[p++] = (unsigned char)(q >> 8), b[p++] = (unsigned char)q;
    memcpy(b + p, body, q);
    return p + q;
}

Test(sniff, tls_sni)
{
    unsigned char hello[600];
    size_t n = client_hello(hello, "s3.eu-west-1.amazonaws.com");
    char out[256];
    cr_assert_eq(rt_sniff_tls_sni(hello, n, out, sizeof out), 26);
    cr_assert_str_eq(out, "s3.eu-west-1.amazonaws.com");
    for (size_t cut = 0; cut < n; cut++)
        rt_sniff_tls_sni(hello, cut, out, sizeof out); /* partial records never overread */
    cr_assert_eq(rt_sniff_tls_sni((const unsigned char *)"GET / HTTP/1.1\r\n", 16, out, 256), 0);
}

Test(sniff, http_request_and_status)
{
    const char req[] =
        "POST /v1/items?id=3 HTTP/1.1\r\nUser-Agent: x\r\nhost:  api.example.com \r\n\r\n";
    char line[256], host[128];
    cr_assert_gt(rt_sniff_http_request(req, sizeof req - 1, line, sizeof line, host, sizeof host),
                 0);
    cr_assert_str_eq(line, "POST /v1/items?id=3 HTTP/1.1");
    cr_assert_str_eq(host, "api.example.com");
    cr_assert_eq(rt_sniff_http_request("\x16\x03\x01", 3, line, sizeof line, host, sizeof host), 0);
    const char resp[] = "HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n";
    cr_assert_gt(rt_sniff_http_status(resp, sizeof resp - 1, line, sizeof line), 0);
    cr_assert_str_eq(line, "HTTP/1.0 404 Not Found");
}

Test(sniff, dns_query_name)
{
    const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                               0,    3,    'w',  'w',  'w', 7,   'e', 'x', 'a', 'm', 'p',
                               'l',  'e',  3,    'c',  'o', 'm', 0,   0,   1,   0,   1};
    char out[256];
    cr_assert_eq(rt_sniff_dns_qname(q, sizeof q, out, sizeof out), 15);
    cr_assert_str_eq(out, "www.example.com");
    unsigned char resp[sizeof q];
    memcpy(resp, q, sizeof q);
    resp[2] |= 0x80;
    cr_assert_eq(rt_sniff_dns_qname(resp, sizeof resp, out, sizeof out), 0,
                 "answers are not queries");
}

Test(ring, nothing_lost_when_the_ring_has_room, .timeout = 60)
{
    const size_t procs = 4, threads = 8, per = 2000;
    struct rt_ring *ring = make_ring(65536);
    struct counter c = {.producers = procs * threads, .per = per};
    c.seen = calloc((procs * threads * per + 63) / 64, sizeof(uint64_t));
    for (size_t k = 0; k < procs; k++) {
        pid_t kid = fork();
        cr_assert_geq(kid, 0);
        if (kid == 0) {
            run_producers(k * threads, threads, per);
            _exit(0);
        }
    }
    for (size_t k = 0; k < procs; k++) {
        int st;
        cr_assert_gt(wait(&st), 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    rt_ring_drain_final(ring, 100, count_ev, &c);
    cr_assert_eq(rt_ring_take_dropped(ring), 0);
    cr_assert_eq(c.bad, 0);
    cr_assert_eq(c.dups, 0);
    cr_assert_eq(c.received, procs * threads * per);
    free(c.seen);
    drop_ring(ring);
}

/* ---- the connection table, driven as a producer would write it ---- */

/* Claims entry i as an open HTTP connection of process pid, period generation gen. */
static struct rt_ring_conn *conn_open(struct rt_producer *p, uint32_t i, int32_t pid, uint64_t gen)
{
    cr_assert(p->conns && i < p->conn_count, "the producer sees the connection table");
    struct rt_ring_conn *c = &p->conns[i];
    memset(c, 0, sizeof *c);
    c->id = 100 + i;
    c->pid = c->tid = pid;
    c->fd = 7;
    c->proto = RT_PROTO_HTTP;
    c->t0 = c->period_ns = 5000;
    c->period_gen = gen;
    strcpy(c->dest, "127.0.0.1:8080");
    strcpy(c->host, "api.test");
    if (p->hdr->conn_used < i + 1)
        p->hdr->conn_used = i + 1;
    __atomic_store_n(&c->state, RT_RING_CONN_LIVE, __ATOMIC_RELEASE);
    return c;
}

Test(ring, connections_summarised_per_snapshot_and_at_close)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    cr_assert_eq(p.conn_count, RT_RING_CONNS);
    struct rt_ring_conn *c = conn_open(&p, 3, getpid(), p.hdr->snap_gen);
    struct collected *got = calloc(1, sizeof *got);

    rt_ring_drain(ring, collect, got);
    cr_assert_eq(got->n, 0, "an open connection is not summarised by a drain");
    rt_ring_snapshot_conns(ring, collect, got);
    cr_assert_eq(got->n, 0, "nothing moved yet: nothing to say");

    c->bytes_out = 100;
    c->bytes_in = 20;
    strcpy(c->req, "GET /a HTTP/1.1");
    strcpy(c->status, "HTTP/1.1 200 OK");
    rt_ring_snapshot_conns(ring, collect, got);
    cr_assert_eq(got->n, 1);
    cr_assert_eq(got->ev[0].op, RT_OP_OUTBOUND);
    cr_assert_eq(got->ev[0].num[0], 100);
    cr_assert_eq(got->ev[0].num[1], 20);
    cr_assert_eq(got->ev[0].num[3], 7);
    cr_assert_eq(got->ev[0].ts_ns, 5000);
    cr_assert(got->ev[0].flags & RT_EF_STILL_OPEN);
    cr_assert_str_eq(got->strs[0][0], "127.0.0.1:8080");
    cr_assert_str_eq(got->strs[0][1], "api.test");
    cr_assert_str_eq(got->strs[0][2], "GET /a HTTP/1.1\nHost: api.test\nHTTP/1.1 200 OK");
    rt_ring_snapshot_conns(ring, collect, got);
    cr_assert_eq(got->n, 1, "an idle connection is summarised once");

    /* the next request on it: a new period (the producer saw the bumped generation) */
    c->period_gen = p.hdr->snap_gen;
    c->period_ns = 9000;
    strcpy(c->req, "POST /b HTTP/1.1");
    c->status[0] = 0;
    c->bytes_out = 150;
    rt_ring_snapshot_conns(ring, collect, got);
    cr_assert_eq(got->n, 2);
    cr_assert_eq(got->ev[1].num[0], 50, "the bytes since the previous summary");
    cr_assert_eq(got->ev[1].num[1], 0);
    cr_assert_eq(got->ev[1].ts_ns, 9000);
    cr_assert_str_eq(got->strs[1][2], "POST /b HTTP/1.1\nHost: api.test");

    /* closed by its owner: the last summary, unflagged, and the entry is freed */
    c->bytes_out = 160;
    c->closed_ns = 9500;
    __atomic_fetch_or(&c->state, RT_RING_CONN_CLOSED, __ATOMIC_RELEASE);
    __atomic_fetch_add(&p.hdr->conn_closed, 1, __ATOMIC_RELEASE);
    rt_ring_drain(ring, collect, got);
    cr_assert_eq(got->n, 3);
    cr_assert_eq(got->ev[2].num[0], 10);
    cr_assert_eq(got->ev[2].flags & RT_EF_STILL_OPEN, 0);
    cr_assert_str_eq(got->strs[2][2], "", "the request was already reported");
    cr_assert_eq(got->ev[2].dur_ns, 500);
    cr_assert_eq(c->id, 0, "the entry is free again");
    cr_assert_eq(c->state, 0);
    rt_ring_drain_final(ring, 0, collect, got);
    cr_assert_eq(got->n, 3, "nothing left for the final drain");
    free(got);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* The pid of a child that has exited and been reaped: an owner that is gone. */
static pid_t gone_pid(void)
{
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0)
        _exit(0);
    cr_assert_eq(waitpid(child, NULL, 0), child);
    return child;
}

/* A producer's next I/O on a connection after the snapshot generation moved (hook_net.c
 * begin_period): a new period with its own start and request line. */
static void next_period(struct rt_producer *p, struct rt_ring_conn *c, int64_t at, const char *req,
                        uint64_t out)
{
    c->period_gen = p->hdr->snap_gen;
    c->period_ns = at;
    snprintf(c->req, sizeof c->req, "%s", req);
    c->status[0] = 0;
    c->bytes_out = out;
}

/* A cut waits in the extension's queue with its invocation: it holds the connections it
 * copied and no room beyond them (8 entries of 1.1 KB each were kept for a function with no
 * connection open), and says how much that is for the queue's bound. */
Test(ring, a_cut_holds_only_the_connections_it_copied)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_ring_cut *none = rt_ring_cut_conns(ring);
    cr_assert_not_null(none);
    cr_expect_lt(rt_ring_cut_bytes(none), sizeof(struct rt_ring_conn));
    cr_expect_lt(malloc_usable_size(none), sizeof(struct rt_ring_conn), "%zu bytes kept",
                 malloc_usable_size(none));
    for (uint32_t i = 0; i < 3; i++)
        conn_open(&p, i, getpid(), p.hdr->snap_gen);
    struct rt_ring_cut *three = rt_ring_cut_conns(ring);
    cr_assert_not_null(three);
    size_t bytes = rt_ring_cut_bytes(three);
    cr_expect_geq(bytes, 3 * sizeof(struct rt_ring_conn));
    cr_expect_lt(bytes, 4 * sizeof(struct rt_ring_conn), "%zu bytes for 3 connections", bytes);
    cr_expect_lt(malloc_usable_size(three), 4 * sizeof(struct rt_ring_conn));
    cr_expect_eq(rt_ring_cut_bytes(NULL), 0);
    rt_ring_cut_free(none);
    rt_ring_cut_free(three);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* The extension cuts the table when an invocation ends and seals it later, maybe while the
 * next one already uses the same keep-alive connection: each bundle gets its own bytes and
 * request line, timed by its own period. */
Test(ring, keep_alive_cut_at_the_end_gives_each_invocation_its_own_bytes)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_ring_conn *c = conn_open(&p, 0, getpid(), p.hdr->snap_gen);
    c->bytes_out = 100;
    strcpy(c->req, "POST /first HTTP/1.1");
    uint64_t gen = p.hdr->snap_gen;
    struct rt_ring_cut *cut1 = rt_ring_cut_conns(ring); /* the first invocation ends */
    cr_assert_not_null(cut1);
    cr_assert_eq(p.hdr->snap_gen, gen + 1, "the cut begins a new period");
    next_period(&p, c, 9000, "POST /second HTTP/1.1", 250); /* the next one, before the seal */
    struct rt_ring_cut *cut2 = rt_ring_cut_conns(ring);     /* ... and ends too */
    next_period(&p, c, 15000, "POST /third HTTP/1.1", 260); /* a third one is under way */

    struct collected *got = calloc(1, sizeof *got);
    rt_ring_set_cut(ring, cut1); /* the first seal, late */
    rt_ring_drain(ring, collect, got);
    cr_assert_eq(got->n, 0, "an open connection is not summarised by a drain");
    rt_ring_settle_cut(ring, collect, got);
    cr_assert_eq(got->n, 1);
    cr_assert_eq(got->ev[0].num[0], 100, "only what it sent before the first invocation ended");
    cr_assert_eq(got->ev[0].ts_ns, 5000);
    cr_assert(got->ev[0].flags & RT_EF_STILL_OPEN);
    cr_assert_str_eq(got->strs[0][2], "POST /first HTTP/1.1\nHost: api.test");

    rt_ring_set_cut(ring, cut2);
    rt_ring_settle_cut(ring, collect, got);
    cr_assert_eq(got->n, 2);
    cr_assert_eq(got->ev[1].num[0], 150);
    cr_assert_eq(got->ev[1].ts_ns, 9000);
    cr_assert_str_eq(got->strs[1][2], "POST /second HTTP/1.1\nHost: api.test");

    /* the third one was never cut (SHUTDOWN): the final drain has the rest */
    rt_ring_drain_final(ring, 0, collect, got);
    cr_assert_eq(got->n, 3);
    cr_assert_eq(got->ev[2].num[0], 10);
    cr_assert_eq(got->ev[2].ts_ns, 15000);
    cr_assert_str_eq(got->strs[2][2], "POST /third HTTP/1.1\nHost: api.test");
    rt_ring_cut_free(cut1);
    rt_ring_cut_free(cut2);
    free(got);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* Closed during the next invocation, before the late seal of the one that used it first: the
 * drain that finds it closed splits its summary at the cut; a dead owner's connection ends at
 * the settle; a copy settled after a later look changes nothing. */
Test(ring, cut_connection_closed_later_is_split_at_the_cut)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    pid_t child = gone_pid();
    struct rt_ring_conn *c = conn_open(&p, 0, getpid(), p.hdr->snap_gen);
    c->bytes_out = 100;
    strcpy(c->req, "POST /first HTTP/1.1");
    struct rt_ring_conn *dead = conn_open(&p, 1, child, p.hdr->snap_gen);
    dead->bytes_out = 40;
    struct rt_ring_cut *cut1 = rt_ring_cut_conns(ring);
    next_period(&p, c, 9000, "POST /second HTTP/1.1", 250);
    c->closed_ns = 9500;
    __atomic_fetch_or(&c->state, RT_RING_CONN_CLOSED, __ATOMIC_RELEASE);
    __atomic_fetch_add(&p.hdr->conn_closed, 1, __ATOMIC_RELEASE);
    struct rt_ring_conn *late = conn_open(&p, 2, getpid(), p.hdr->snap_gen); /* after the cut */
    late->bytes_out = 7;

    struct collected *got = calloc(1, sizeof *got);
    rt_ring_set_cut(ring, cut1);
    rt_ring_drain(ring, collect, got);
    cr_assert_eq(got->n, 2, "the closed connection: its part up to the cut, then the rest");
    cr_assert_eq(got->ev[0].num[0], 100);
    cr_assert_eq(got->ev[0].ts_ns, 5000);
    cr_assert(got->ev[0].flags & RT_EF_STILL_OPEN, "open when the invocation ended");
    cr_assert_str_eq(got->strs[0][2], "POST /first HTTP/1.1\nHost: api.test");
    cr_assert_eq(got->ev[1].num[0], 150);
    cr_assert_eq(got->ev[1].ts_ns, 9000);
    cr_assert_eq(got->ev[1].flags & RT_EF_STILL_OPEN, 0);
    cr_assert_str_eq(got->strs[1][2], "POST /second HTTP/1.1\nHost: api.test");
    cr_assert_eq(c->id, 0, "freed");
    rt_ring_settle_cut(ring, collect, got);
    cr_assert_eq(got->n, 3, "the dead owner's connection, and nothing of the one opened later");
    cr_assert_eq(got->ev[2].num[0], 40);
    cr_assert_eq(got->ev[2].flags & RT_EF_STILL_OPEN, 0, "its owner is gone: the last summary");
    cr_assert_eq(dead->id, 0, "freed");
    cr_assert_neq(late->id, 0, "opened after the cut: the next invocation's");

    /* a cut settled after a later look at the same connection says nothing more */
    late->bytes_out = 9;
    strcpy(late->req, "GET /late HTTP/1.1");
    struct rt_ring_cut *cut2 = rt_ring_cut_conns(ring);
    next_period(&p, late, 20000, "GET /later HTTP/1.1", 30);
    rt_ring_snapshot_conns(ring, collect, got);
    cr_assert_eq(got->n, 4);
    cr_assert_eq(got->ev[3].num[0], 30);
    rt_ring_set_cut(ring, cut2);
    rt_ring_settle_cut(ring, collect, got);
    cr_assert_eq(got->n, 4, "the older copy neither repeats bytes nor brings back old lines");
    rt_ring_snapshot_conns(ring, collect, got);
    cr_assert_eq(got->n, 4, "and the report did not move back");
    rt_ring_cut_free(cut1);
    rt_ring_cut_free(cut2);
    rt_ring_drain_final(ring, 0, count_only, &(size_t){0});
    free(got);
    rt_producer_detach(&p);
    drop_ring(ring);
}

Test(ring, connection_of_a_dead_owner_ends_at_the_snapshot)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    pid_t child = gone_pid();
    struct rt_ring_conn *dead = conn_open(&p, 0, child, p.hdr->snap_gen);
    dead->bytes_out = 1000;
    struct rt_ring_conn *alive = conn_open(&p, 1, getpid(), p.hdr->snap_gen);
    alive->bytes_out = 10;
    alive->state |= RT_RING_CONN_INBOUND;
    strcpy(alive->local, "127.0.0.1:9000");
    strcpy(alive->sni, "in.test");
    struct collected *got = calloc(1, sizeof *got);
    rt_ring_snapshot_conns(ring, collect, got);
    cr_assert_eq(got->n, 2);
    cr_assert_eq(got->ev[0].op, RT_OP_OUTBOUND);
    cr_assert_eq(got->ev[0].num[0], 1000);
    cr_assert_eq(got->ev[0].flags & RT_EF_STILL_OPEN, 0, "its owner is gone: the last summary");
    cr_assert_eq(dead->id, 0, "freed");
    cr_assert_eq(got->ev[1].op, RT_OP_INBOUND);
    cr_assert_str_eq(got->strs[1][1], "127.0.0.1:9000");
    cr_assert_str_eq(got->strs[1][2], "in.test");
    cr_assert(got->ev[1].flags & RT_EF_STILL_OPEN);
    cr_assert_neq(alive->id, 0, "still held");
    /* the end of the recording: the open one's last summary only if something moved */
    alive->bytes_in = 5;
    rt_ring_drain_final(ring, 0, collect, got);
    cr_assert_eq(got->n, 3);
    cr_assert_eq(got->ev[2].num[1], 5);
    cr_assert(got->ev[2].flags & RT_EF_STILL_OPEN, "never closed: still open at the end");
    cr_assert_eq(alive->id, 0, "the final drain frees every entry");
    p.hdr->conn_untracked += 3;
    cr_assert_eq(rt_ring_take_untracked(ring), 3);
    cr_assert_eq(rt_ring_take_untracked(ring), 0);
    free(got);
    rt_producer_detach(&p);
    drop_ring(ring);
}

Test(ring, scribbled_connection_table_is_bounded)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    for (uint32_t i = 0; i < p.conn_count; i++) {
        struct rt_ring_conn *c = &p.conns[i];
        memset(c, 'A' + (int)(i % 26), sizeof *c); /* no terminators anywhere */
        c->id = i + 1;
        c->pid = -1; /* never a process group to signal */
        c->state = RT_RING_CONN_LIVE;
    }
    p.hdr->conn_used = UINT64_MAX; /* scribbled too: clamped to the table */
    size_t n = 0;
    rt_ring_snapshot_conns(ring, count_only, &n);
    cr_assert_eq(n, p.conn_count, "one summary per live entry, strings bounded");
    rt_ring_drain_final(ring, 0, count_only, &n);
    rt_producer_detach(&p);
    drop_ring(ring);
}

Test(ring, held_exec_released_by_its_window)
{
    struct rt_ring *ring = make_ring(16);
    struct rt_producer p;
    cr_assert_eq(rt_producer_attach(&p, ring_path), 0);
    struct rt_rec a = rec_exec(RT_RING_INT_EXEC_PENDING, 0, 12);
    a.ts_ns = 10000;
    rt_producer_emit(&p, &a);
    struct collected *c = calloc(1, sizeof *c);
    rt_ring_drain(ring, collect, c);
    cr_assert_eq(c->n, 0, "held for news of its outcome");
    rt_ring_release_execs(ring, 9999, collect, c);
    cr_assert_eq(c->n, 0, "after the window: still held");
    rt_ring_release_execs(ring, 10000, collect, c);
    cr_assert_eq(c->n, 1, "inside the window: released as succeeded");
    cr_assert_eq(c->ev[0].op, RT_OP_EXEC);
    cr_assert_eq(c->ev[0].result, 0);
    rt_ring_drain_final(ring, 0, collect, c);
    cr_assert_eq(c->n, 1, "released once");
    free(c);
    rt_producer_detach(&p);
    drop_ring(ring);
}

/* ---- AWS SigV4 requests (rt_sniff_aws_request) ---- */

#define AUTH(svc)                                                                                  \
    "Authorization: AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY/20240101/eu-west-1/" svc            \
    "/aws4_request, SignedHeaders=host;x-amz-date, Signature=SIGSENTINEL0123\r\n"

/* The request text req must give exactly action, resource, service and key. */
static void aws_is(const char *req, const char *action, const char *resource, const char *service)
{
    struct rt_sniff_aws a;
    cr_assert_eq(rt_sniff_aws_request(req, strlen(req), &a), 1, "%s", req);
    cr_assert_str_eq(a.action, action, "%s", req);
    cr_assert_str_eq(a.resource, resource, "%s", req);
    cr_assert_str_eq(a.service, service);
    cr_assert_str_eq(a.region, "eu-west-1");
    cr_assert_str_eq(a.key_id, "ASIAEXAMPLEKEY");
    /* nothing of the signature or the token in any field */
    const char *fields[] = {a.action, a.resource, a.service, a.region, a.key_id};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_null(strstr(fields[i], "SENTINEL"), "%s", fields[i]);
        cr_assert_null(strstr(fields[i], "Signature"), "%s", fields[i]);
    }
}

Test(sniff, aws_s3_path_and_virtual_host)
{
    aws_is("GET /bkt/dir/a%20b.txt HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n" AUTH("s3") "\r\n",
           "s3:GetObject", "bkt/dir/a b.txt", "s3");
    aws_is("PUT /k.txt HTTP/1.1\r\nHost: my-bkt.s3.eu-west-1.amazonaws.com\r\n" AUTH(
               "s3") "Content-Length: 3\r\n\r\nSENTINELBODY",
           "s3:PutObject", "my-bkt/k.txt", "s3");
    aws_is("PUT /bkt/k HTTP/1.1\r\nHost: s3.amazonaws.com\r\nx-amz-copy-source: /o/k\r\n" AUTH(
               "s3") "\r\n",
           "s3:CopyObject", "bkt/k", "s3");
    aws_is("GET /?list-type=2&prefix=dir%2F HTTP/1.1\r\nHost: b.s3.amazonaws.com\r\n" AUTH("s3"),
           "s3:ListObjectsV2", "b", "s3");
    aws_is("GET /bkt HTTP/1.1\r\nHost: localhost\r\n" AUTH("s3"), "s3:ListObjects", "bkt", "s3");
    aws_is("GET /bkt/?location HTTP/1.1\r\nHost: localhost\r\n" AUTH("s3"), "s3:GetBucketLocation",
           "bkt", "s3");
    aws_is("PUT /bkt?policy HTTP/1.1\r\nHost: localhost\r\n" AUTH("s3"), "s3:PutBucketPolicy",
           "bkt", "s3");
    aws_is("POST /bkt/big?uploads HTTP/1.1\r\nHost: localhost\r\n" AUTH("s3"),
           "s3:CreateMultipartUpload", "bkt/big", "s3");
    aws_is("PUT /bkt/big?partNumber=1&uploadId=x HTTP/1.1\r\nHost: localhost\r\n" AUTH("s3"),
           "s3:UploadPart", "bkt/big", "s3");
    aws_is("DELETE /bkt/k?tagging HTTP/1.1\r\nHost: localhost\r\n" AUTH("s3"),
           "s3:DeleteObjectTagging", "bkt/k", "s3");
    aws_is("GET / HTTP/1.1\r\nHost: s3.amazonaws.com\r\n" AUTH("s3"), "s3:ListBuckets", "", "s3");
    aws_is("HEAD https://b.s3-us-west-2.amazonaws.com/k HTTP/1.1\r\nHost: "
           "b.s3-us-west-2.amazonaws.com\r\n" AUTH("s3"),
           "s3:HeadObject", "b/k", "s3");
}

Test(sniff, aws_json_query_and_rest)
{
    /* JSON protocol: X-Amz-Target, the table from the body */
    aws_is(
        "POST / HTTP/1.1\r\nHost: dynamodb.eu-west-1.amazonaws.com\r\nX-Amz-Target: "
        "DynamoDB_20120810.GetItem\r\n" AUTH(
            "dynamodb") "Content-Length: 60\r\n\r\n"
                        "{\"TableName\": \"orders\", \"Key\": {\"id\": {\"S\": \"SENTINELBODY\"}}}",
        "dynamodb:GetItem", "orders", "dynamodb");
    aws_is(
        "POST / HTTP/1.1\r\nX-Amz-Target: secretsmanager.GetSecretValue\r\n" AUTH(
            "secretsmanager") "\r\n{\"SecretId\":\"arn:aws:secretsmanager:eu-west-1:1:secret:db\"}",
        "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:1:secret:db",
        "secretsmanager");
    /* a JSON body's generic keys are never taken for the resource */
    aws_is("POST / HTTP/1.1\r\nX-Amz-Target: Foo.PutThing\r\n" AUTH(
               "foo") "\r\n{\"Name\":\"SENTINELBODY\",\"Value\":\"SENTINELBODY\"}",
           "foo:PutThing", "", "foo");
    /* query protocol: Action in the form body, or in the URL */
    aws_is("POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded; "
           "charset=utf-8\r\n" AUTH("sts") "\r\nAction=AssumeRole&Version=2011-06-15&RoleArn=arn%"
                                           "3Aaws%3Aiam%3A%3A1%3Arole%2Fr",
           "sts:AssumeRole", "arn:aws:iam::1:role/r", "sts");
    aws_is("GET /?Action=ListUsers&Version=2010-05-08 HTTP/1.1\r\n" AUTH("iam") "\r\n",
           "iam:ListUsers", "", "iam");
    aws_is("POST /1/q HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" AUTH(
               "sqs") "\r\nAction=SendMessage&QueueUrl=https%3A%2F%2Fsqs.eu-west-1.amazonaws.com"
                      "%2F1%2Fq&MessageBody=SENTINELBODY",
           "sqs:SendMessage", "https://sqs.eu-west-1.amazonaws.com/1/q", "sqs");
    /* REST-JSON: method + path; an ARN segment is the resource */
    aws_is(
        "POST /2015-03-31/functions/fn/invocations?Qualifier=1 HTTP/1.1\r\n" AUTH("lambda") "\r\n",
        "lambda:POST /2015-03-31/functions/fn/invocations", "", "lambda");
    aws_is("GET /2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A1%3Afunction%3Af "
           "HTTP/1.1\r\n" AUTH("lambda") "\r\n",
           "lambda:GET /2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A1%3Afunction%3Af",
           "arn:aws:lambda:eu-west-1:1:function:f", "lambda");
}

Test(sniff, aws_body_written_apart)
{
    static const char head[] =
        "POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" AUTH(
            "sts") "Content-Length: 43\r\n\r\n";
    struct rt_sniff_aws a;
    cr_assert_eq(rt_sniff_aws_request(head, sizeof head - 1, &a), 1);
    cr_assert_eq(a.need_body, 1);
    cr_assert_str_eq(a.action, "");
    rt_sniff_aws_body("Action=GetCallerIdentity&Version=2011-06-15", 43, &a);
    cr_assert_eq(a.need_body, 0);
    cr_assert_str_eq(a.action, "sts:GetCallerIdentity");
}

Test(sniff, aws_not_sigv4)
{
    struct rt_sniff_aws a;
    static const char *const no[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nAuthorization: Bearer SENTINEL\r\n\r\n",
        "GET / HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 Signature=abc\r\n\r\n",
        "GET / HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AK/2024\r\n\r\n",
        "\x16\x03\x01\x00\x10",
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        cr_assert_eq(rt_sniff_aws_request(no[i], strlen(no[i]), &a), 0, "%s", no[i]);
        cr_assert_str_eq(a.action, "");
    }
    cr_assert_eq(rt_sniff_http_code("HTTP/1.1 404 Not Found\r\n", 24), 404);
    cr_assert_eq(rt_sniff_http_code("HTTP/1.1 100 Continue\r\n", 23), 100);
    cr_assert_eq(rt_sniff_http_code("HTTP/1.1 2x0 OK\r\n", 17), 0);
    cr_assert_eq(rt_sniff_http_code("HTTP/1.1", 8), 0);
}

Test(sniff, aws_service_from_server_name)
{
    static const struct {
        const char *sni, *service;
    } cases[] = {
        {"sts.us-east-1.amazonaws.com", "sts"},
        {"sts.amazonaws.com", "sts"},
        {"my-bkt.s3.eu-west-1.amazonaws.com", "s3"},
        {"my-bkt.s3-us-west-2.amazonaws.com", "s3"},
        {"s3.amazonaws.com", "s3"},
        {"dynamodb.cn-north-1.amazonaws.com.cn", "dynamodb"},
        {"a1b2c3.execute-api.eu-west-1.amazonaws.com", "execute-api"},
        {"example.com", ""},
        {"amazonaws.com", ""},
        {"evil-amazonaws.com", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[64] = "";
        size_t n = rt_sniff_aws_service(cases[i].sni, strlen(cases[i].sni), out, sizeof out);
        cr_assert_str_eq(n ? out : "", cases[i].service, "%s", cases[i].sni);
    }
}

/* A large upload written with its headers: only the first bytes of the body are read. */
Test(sniff, aws_reads_only_the_head_of_a_large_body)
{
    size_t big = 8u << 20;
    char *req = malloc(big);
    cr_assert_not_null(req);
    int h = snprintf(req, big,
                     "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n" AUTH(
                         "dynamodb") "Content-Length: %zu\r\n\r\n{\"Item\": \"",
                     big);
    memset(req + h, 'x', big - (size_t)h);
    memcpy(req + big - 30, "\", \"TableName\": \"late\"}", 23);
    struct rt_sniff_aws a;
    cr_assert_eq(rt_sniff_aws_request(req, big, &a), 1);
    cr_assert_str_eq(a.action, "dynamodb:PutItem");
    cr_assert_str_eq(a.resource, ""); /* named past the first bytes: not seen */
    free(req);
}

/* Creating the ring reads only what it writes (the header): reading the whole ring in is
 * rt_ring_populate's, off the cold start's path, so that a producer's first write to a cell
 * does not do it either. On tmpfs the blocks are pages from the start: only the second part
 * holds there. */
Test(ring, creation_reads_little_populate_reads_all)
{
    struct rt_ring *r = make_ring(0);
    size_t total, before = cached_pages(ring_path, &total);
    struct statfs sf;
    cr_assert_eq(statfs(ring_path, &sf), 0);
    if (sf.f_type != TMPFS_MAGIC)
        cr_expect_lt(before, total / 4, "%zu of %zu pages read in at creation", before, total);
    rt_ring_populate(r);
    size_t after = cached_pages(ring_path, &total);
    cr_expect_eq(after, total, "%zu of %zu pages in the page cache after populate", after, total);
    drop_ring(r);
}
