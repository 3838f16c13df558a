/* The consumer side of the shared event ring (recorder/ring.h): creates the ring file, drains
 * committed records in order into plain struct rt_event values, gives up on slots whose
 * producer stalled (killed between reserve and commit) after a grace period, and merges the
 * two halves of an exec (the record written before execve and, if the call returned, its
 * failure) into one event. Everything read from the shared mapping is validated: a producer
 * may scribble on it. Layout and protocol: recorder/RING.md. */
#include "recorder/ring.h"

#include "recorder/preload/ring_layout.h"
#include "recorder/preload/sniff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#define STALL_NS (100 * 1000 * 1000LL)    /* a reserved slot this long uncommitted is lost */
#define PENDING_NS (1000 * 1000 * 1000LL) /* an exec with no news this long succeeded */
#define MAX_PENDING 32

struct pending {
    bool used;
    int64_t seen_ns;
    struct rt_ring_slot slot;
};

/* What the summaries of one connection-table entry have covered so far (consumer only). */
struct conn_report {
    uint64_t id; /* the entry's connection id these figures belong to */
    uint64_t out, in;
    uint64_t gen;    /* the period whose HTTP lines were reported */
    size_t text_len; /* how much of them */
    bool reported;
};

struct rt_ring {
    void *map;
    size_t map_len;
    struct rt_ring_header *hdr;
    struct rt_ring_slot *slots;
    uint64_t count, mask;
    uint64_t tail;
    uint64_t dropped_local;  /* slots skipped or rejected by this consumer */
    uint64_t dropped_seen;   /* hdr->dropped already reported */
    uint64_t truncated_seen; /* hdr->truncated already reported */
    uint64_t stall_pos;
    int64_t stall_since;
    struct pending pend[MAX_PENDING];
    int n_pending; /* entries in use (lets the common case skip the table) */
    struct rt_ring_slot copy;
    struct rt_ring_conn *conns; /* the connection table (kept from creation) */
    uint32_t conn_count;
    struct conn_report *rep; /* per entry */
    uint64_t closed_seen;    /* hdr->conn_closed already acted on */
    uint64_t untracked_seen; /* hdr->conn_untracked already reported */
    struct rt_ring_conn conn_copy;
    char text[512];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether producers may time events with the time stamp counter: invariant (constant rate,
 * runs in every C-state) and trusted by the kernel as its clocksource, which means it is
 * synchronised across CPUs: `tsc`, or `kvm-clock` (a KVM guest's clock is the TSC scaled by
 * the host's parameters, and its vDSO reads the TSC only when the host marks it stable across
 * vCPUs; each producer still checks the TSC against the clock every millisecond, RING.md).
 * Anything else: producers read CLOCK_MONOTONIC. */
static bool tsc_usable(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return false;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    if (!(d & (1u << 8)))
        return false;
    char buf[32] = "";
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    if (!f)
        return false;
    bool ok =
        fgets(buf, sizeof buf, f) && (strcmp(buf, "tsc\n") == 0 || strcmp(buf, "kvm-clock\n") == 0);
    fclose(f);
    return ok;
#else
    return false;
#endif
}

static void ring_discard(struct rt_ring *r)
{
    free(r->rep);
    free(r);
}

int rt_ring_create(const char *path, size_t slots, struct rt_ring **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    uint64_t n = RT_RING_MIN_SLOTS;
    uint64_t want = slots ? slots : RT_RING_DEFAULT_SLOTS;
    while (n < want && n < RT_RING_MAX_SLOTS)
        n <<= 1;
    size_t conn_off = RT_RING_HDR_SIZE + (size_t)n * RT_RING_SLOT_SIZE;
    size_t len = conn_off + RT_RING_CONNS * sizeof(struct rt_ring_conn);
    struct rt_ring *r = calloc(1, sizeof *r);
    if (r && !(r->rep = calloc(RT_RING_CONNS, sizeof *r->rep))) {
        free(r);
        r = NULL;
    }
    if (!r)
        return rt_fail(ei, RT_ERR_NOMEM, -1, "%s", path);
    if (unlink(path) != 0 && errno != ENOENT) {
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: %s", path, strerror(errno));
    }
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: %s", path, strerror(errno));
    }
    /* Reserve the blocks now: on a full tmpfs a sparse file would SIGBUS on first write. */
    int fe = posix_fallocate(fd, 0, (off_t)len);
    if (fe != 0 && fe != EOPNOTSUPP && fe != EINVAL) {
        close(fd);
        unlink(path);
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: %s", path, strerror(fe));
    }
    if (ftruncate(fd, (off_t)len) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: %s", path, strerror(e));
    }
    /* Every slot starts free for its first lap (seq == index). Written with pwrite, a chunk
     * at a time, not through the mapping: faulting in all the ring's pages one write at a
     * time took 1.3-1.5 ms of the extension's start (on the cold start's path), pwrite 0.5 ms,
     * and the consumer's mapping then holds only the pages it has read. */
    const size_t per_chunk = 64; /* slots per write */
    uint64_t *chunk = calloc(per_chunk, RT_RING_SLOT_SIZE);
    int werr = chunk ? 0 : ENOMEM;
    for (uint64_t i = 0; i < n && !werr; i += per_chunk) {
        size_t k = n - i < per_chunk ? (size_t)(n - i) : per_chunk;
        for (size_t j = 0; j < k; j++)
            chunk[j * (RT_RING_SLOT_SIZE / sizeof(uint64_t))] = i + j;
        size_t bytes = k * RT_RING_SLOT_SIZE, done = 0;
        off_t at = (off_t)(RT_RING_HDR_SIZE + i * RT_RING_SLOT_SIZE);
        while (done < bytes) {
            ssize_t w = pwrite(fd, (const char *)chunk + done, bytes - done, at + (off_t)done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                werr = w < 0 ? errno : EIO;
                break;
            }
            done += (size_t)w;
        }
    }
    free(chunk);
    if (werr) {
        close(fd);
        unlink(path);
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: %s", path, strerror(werr));
    }
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) {
        unlink(path);
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: mmap: %s", path, strerror(e));
    }
    r->map = map;
    r->map_len = len;
    r->hdr = map;
    r->slots = (struct rt_ring_slot *)((char *)map + RT_RING_HDR_SIZE);
    r->count = n;
    r->mask = n - 1;
    r->conns = (struct rt_ring_conn *)((char *)map + conn_off);
    r->conn_count = RT_RING_CONNS;
    struct rt_ring_header *h = r->hdr;
    h->version = RT_RING_VERSION;
    h->slot_size = RT_RING_SLOT_SIZE;
    h->slot_count = n;
    h->hdr_size = RT_RING_HDR_SIZE;
    h->consumer_pid = (uint64_t)getpid();
    h->conn_off = conn_off;
    h->conn_count = RT_RING_CONNS;
    h->conn_size = sizeof(struct rt_ring_conn);
#if defined(__x86_64__)
    /* The narrowest of 8 reads (the header is zero: no pair until one counts). */
    if (tsc_usable())
        rt_ring_clock_pair(8, UINT64_MAX, 0, &h->clock_tsc, &h->clock_mono);
#endif
    /* Producers check the magic first: publish it last. */
    __atomic_store_n(&h->magic, RT_RING_MAGIC, __ATOMIC_RELEASE);
    *out = r;
    return RT_OK;
}

void rt_ring_close(struct rt_ring *ring)
{
    if (!ring)
        return;
    munmap(ring->map, ring->map_len);
    free(ring->rep);
    free(ring);
}

/* Builds the public event from a private copy of a slot, clamping what a scribbler could
 * have made inconsistent. Returns false if the record is unusable. */
static bool slot_to_event(const struct rt_ring_slot *s, struct rt_event *ev)
{
    if (s->op >= RT_OP__COUNT)
        return false;
    memset(ev, 0, sizeof *ev);
    ev->ts_ns = s->ts_ns;
    ev->dur_ns = s->dur_ns;
    ev->pid = s->pid;
    ev->tid = s->tid;
    ev->op = s->op;
    ev->flags = s->flags;
    ev->result = s->result;
    for (int i = 0; i < RT_RING_NNUM && i < RT_EVENT_NUMS; i++)
        ev->num[i] = s->num[i];
    size_t used = 0;
    for (int i = 0; i < RT_RING_NSTR && i < RT_EVENT_STRS; i++) {
        size_t len = s->str_len[i];
        if (len > RT_RING_STR_BYTES - used)
            len = RT_RING_STR_BYTES - used;
        ev->str[i].ptr = len ? s->str + used : NULL;
        ev->str[i].len = len;
        used += len;
    }
    return true;
}

typedef void (*drain_fn)(const struct rt_event *ev, void *arg);

static size_t emit(struct rt_ring *r, const struct rt_ring_slot *s, drain_fn fn, void *arg)
{
    struct rt_event ev;
    if (!slot_to_event(s, &ev)) {
        r->dropped_local++;
        return 0;
    }
    fn(&ev, arg);
    return 1;
}

/* ---- the connection table (RING.md "Connections") ---- */

enum conn_pass {
    CONN_CLOSED,   /* only entries their owner closed */
    CONN_SNAPSHOT, /* every entry: what moved since the last summary; owners gone end theirs */
    CONN_FINAL,    /* every entry, then freed: the end of the recording */
};

/* Whether pid, the owner of an entry, no longer exists (a runtime killed without closing). */
static bool owner_gone(int32_t pid)
{
    return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

/* Forces a NUL into the last byte of each string of a private copy. */
static void conn_terminate(struct rt_ring_conn *c)
{
    c->dest[sizeof c->dest - 1] = c->local[sizeof c->local - 1] = 0;
    c->dns[sizeof c->dns - 1] = c->sni[sizeof c->sni - 1] = c->req[sizeof c->req - 1] = 0;
    c->host[sizeof c->host - 1] = c->status[sizeof c->status - 1] = 0;
}

/* The plaintext HTTP lines of a copy: request line, "Host: ...", status line. */
static size_t conn_http_text(const struct rt_ring_conn *c, char *out, size_t cap)
{
    if (!c->req[0]) {
        out[0] = 0;
        return 0;
    }
    int n = snprintf(out, cap, "%s%s%s%s%s", c->req, c->host[0] ? "\nHost: " : "", c->host,
                     c->status[0] ? "\n" : "", c->status);
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static void set_str(struct rt_event *ev, int i, const char *s, size_t len)
{
    ev->str[i].ptr = len ? s : NULL;
    ev->str[i].len = len;
}

/* A TLS connection to an AWS endpoint (its SNI) whose plaintext the recorder never saw (a
 * runtime with its own TLS: Node.js, Java, Go): one aws_call naming the service, the action
 * unknown. Written with the connection's first summary. */
static size_t conn_aws_unknown(const struct rt_ring_conn *c, drain_fn fn, void *arg)
{
    char action[96];
    size_t n;
    if (c->proto != RT_PROTO_TLS || c->req[0] ||
        !(n = rt_sniff_aws_service(c->sni, strlen(c->sni), action, sizeof action - 9)))
        return 0;
    memcpy(action + n, ":unknown", 9);
    struct rt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.op = RT_OP_AWS_CALL;
    ev.ts_ns = c->t0;
    ev.pid = c->pid;
    ev.tid = c->tid;
    ev.num[1] = c->fd;
    set_str(&ev, 0, action, n + 8);
    fn(&ev, arg);
    return 1;
}

/* Writes the summary of entry i (copy c) for what it did since its previous summary, if
 * anything: bytes each way, the HTTP lines of the current period when not reported yet, and
 * a first summary of every connection that ends. open_now: still open (flagged so). */
static size_t conn_summary(struct rt_ring *r, uint32_t i, const struct rt_ring_conn *c,
                           bool text_ok, bool open_now, int64_t now, drain_fn fn, void *arg)
{
    struct conn_report *rep = &r->rep[i];
    if (rep->id != c->id) {
        memset(rep, 0, sizeof *rep);
        rep->id = c->id;
    }
    uint64_t out = c->bytes_out >= rep->out ? c->bytes_out - rep->out : 0;
    uint64_t in = c->bytes_in >= rep->in ? c->bytes_in - rep->in : 0;
    size_t tn = text_ok ? conn_http_text(c, r->text, sizeof r->text) : 0;
    bool new_text =
        text_ok && (!rep->reported || c->period_gen != rep->gen ? tn > 0 : tn > rep->text_len);
    if (!out && !in && !new_text && (rep->reported || open_now))
        return 0;
    bool inbound = c->state & RT_RING_CONN_INBOUND;
    struct rt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.op = inbound ? RT_OP_INBOUND : RT_OP_OUTBOUND;
    ev.ts_ns = c->period_ns;
    int64_t end = open_now || !c->closed_ns ? now : c->closed_ns;
    ev.dur_ns = end > ev.ts_ns ? (uint64_t)(end - ev.ts_ns) : 0;
    ev.pid = c->pid;
    ev.tid = c->tid;
    ev.flags = open_now ? RT_EF_STILL_OPEN : 0;
    ev.num[0] = (int64_t)out;
    ev.num[1] = (int64_t)in;
    ev.num[2] = c->proto;
    ev.num[3] = c->fd;
    set_str(&ev, 0, c->dest, strlen(c->dest));
    if (!new_text)
        tn = 0;
    if (inbound) { /* local address; the request, or the SNI the client asked for */
        set_str(&ev, 1, c->local, strlen(c->local));
        if (tn)
            set_str(&ev, 2, r->text, tn);
        else if (text_ok)
            set_str(&ev, 2, c->sni, strlen(c->sni));
    } else {
        const char *host = !text_ok ? c->dns : c->sni[0] ? c->sni : c->host[0] ? c->host : c->dns;
        set_str(&ev, 1, host, strlen(host));
        set_str(&ev, 2, r->text, tn);
    }
    bool first = !rep->reported;
    fn(&ev, arg);
    size_t unknown = first && !inbound && text_ok ? conn_aws_unknown(c, fn, arg) : 0;
    rep->reported = true;
    rep->out = c->bytes_out;
    rep->in = c->bytes_in;
    if (text_ok) {
        rep->gen = c->period_gen;
        rep->text_len = tn ? tn : rep->text_len;
    }
    return 1 + unknown;
}

/* One pass over the table (see enum conn_pass). Each live entry is copied before use, its
 * strings bounded; a copy torn by a producer rewriting the strings keeps only its numbers. */
static size_t conn_pass(struct rt_ring *r, enum conn_pass pass, drain_fn fn, void *arg)
{
    if (!r->conns)
        return 0;
    size_t n = 0;
    int64_t now = mono_ns();
    struct rt_ring_conn *c = &r->conn_copy;
    uint64_t used = __atomic_load_n(&r->hdr->conn_used, __ATOMIC_ACQUIRE);
    uint32_t scan = used < r->conn_count ? (uint32_t)used : r->conn_count;
    for (uint32_t i = 0; i < scan; i++) {
        struct rt_ring_conn *e = &r->conns[i];
        uint32_t state = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
        if (!(state & RT_RING_CONN_LIVE) || (pass == CONN_CLOSED && !(state & RT_RING_CONN_CLOSED)))
            continue;
        uint64_t g1 = __atomic_load_n(&e->text_gen, __ATOMIC_ACQUIRE);
        memcpy(c, e, sizeof *c);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t g2 = __atomic_load_n(&e->text_gen, __ATOMIC_RELAXED);
        if (!c->id || __atomic_load_n(&e->id, __ATOMIC_RELAXED) != c->id)
            continue; /* freed or reused meanwhile */
        conn_terminate(c);
        bool closed = c->state & RT_RING_CONN_CLOSED;
        bool open_now = !closed && !(pass != CONN_CLOSED && owner_gone(c->pid));
        n += conn_summary(r, i, c, g1 == g2 && !(g1 & 1), open_now, now, fn, arg);
        if (!open_now || pass == CONN_FINAL) {
            __atomic_store_n(&e->state, 0, __ATOMIC_RELEASE);
            __atomic_store_n(&e->id, 0, __ATOMIC_RELEASE);
            r->rep[i].id = 0;
        }
    }
    return n;
}

/* After draining: the summaries of connections closed since the previous look. */
static size_t conn_closed(struct rt_ring *r, drain_fn fn, void *arg)
{
    if (!r->conns)
        return 0;
    uint64_t closed = __atomic_load_n(&r->hdr->conn_closed, __ATOMIC_ACQUIRE);
    if (closed == r->closed_seen)
        return 0;
    r->closed_seen = closed;
    return conn_pass(r, CONN_CLOSED, fn, arg);
}

size_t rt_ring_snapshot_conns(struct rt_ring *ring,
                              void (*fn)(const struct rt_event *ev, void *arg), void *arg)
{
    size_t n = conn_pass(ring, CONN_SNAPSHOT, fn, arg);
    __atomic_fetch_add(&ring->hdr->snap_gen, 1, __ATOMIC_RELEASE);
    return n;
}

uint64_t rt_ring_take_untracked(struct rt_ring *ring)
{
    uint64_t shared = __atomic_load_n(&ring->hdr->conn_untracked, __ATOMIC_RELAXED);
    uint64_t n = shared - ring->untracked_seen;
    ring->untracked_seen = shared;
    return n;
}

static size_t flush_pending(struct rt_ring *r, struct pending *p, drain_fn fn, void *arg)
{
    p->used = false;
    r->n_pending--;
    return emit(r, &p->slot, fn, arg);
}

/* Routes one committed record through the exec merge; returns the events emitted. */
static size_t deliver(struct rt_ring *r, struct rt_ring_slot *s, int64_t now, drain_fn fn,
                      void *arg)
{
    size_t n = 0;
    uint16_t internal = s->internal;
    s->internal = 0;
    if (!r->n_pending && !(internal & RT_RING_INT_EXEC_PENDING))
        return emit(r, s, fn, arg);
    for (int i = 0; i < MAX_PENDING && r->n_pending; i++) {
        struct pending *p = &r->pend[i];
        if (!p->used || p->slot.pid != s->pid)
            continue;
        if ((internal & RT_RING_INT_EXEC_FAILED) && p->slot.tid == s->tid) {
            p->used = false; /* the failure record replaces the optimistic one */
            r->n_pending--;
            return emit(r, s, fn, arg);
        }
        if (s->op == RT_OP_PROC_START || p->slot.tid == s->tid)
            n += flush_pending(r, p, fn, arg);
    }
    if (internal & RT_RING_INT_EXEC_PENDING) {
        struct pending *slot = NULL, *oldest = NULL;
        for (int i = 0; i < MAX_PENDING; i++) {
            struct pending *p = &r->pend[i];
            if (!p->used) {
                slot = p;
                break;
            }
            if (!oldest || p->seen_ns < oldest->seen_ns)
                oldest = p;
        }
        if (!slot) {
            n += flush_pending(r, oldest, fn, arg);
            slot = oldest;
        }
        slot->used = true;
        r->n_pending++;
        slot->seen_ns = now;
        slot->slot = *s;
        return n;
    }
    return n + emit(r, s, fn, arg);
}

static size_t drain(struct rt_ring *r, drain_fn fn, void *arg, bool final)
{
    size_t n = 0;
    int64_t now = mono_ns();
    for (uint64_t budget = r->count; budget > 0; budget--) {
        struct rt_ring_slot *s = &r->slots[r->tail & r->mask];
        uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (seq != r->tail + 1) {
            uint64_t head = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);
            int64_t ahead = (int64_t)(head - r->tail);
            if (ahead < 0 || ahead > (int64_t)r->count || (ahead == 0 && seq == r->tail))
                break; /* nothing reserved past us (or a scribbled head) */
            if (r->stall_pos != r->tail + 1) {
                r->stall_pos = r->tail + 1;
                r->stall_since = now;
            }
            if (!final && now - r->stall_since < STALL_NS)
                break;
            if (ahead == 0) {
                /* Nothing reserved, yet the slot is not free for this lap: the late commit
                 * of a producer given up on in an earlier lap rewound its sequence word (or
                 * a producer scribbled on it), and no producer can reserve it. Free it. */
                __atomic_compare_exchange_n(&s->seq, &seq, r->tail, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE);
                r->stall_pos = 0; /* a producer reserving it now starts a fresh wait */
                break;
            }
            /* Give up on this slot: its producer stalled or died after reserving it. */
            uint64_t expect = r->tail;
            if (!__atomic_compare_exchange_n(&s->seq, &expect, r->tail + r->count, false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                if (expect == r->tail + 1)
                    continue; /* committed just now: read it on the next turn */
                __atomic_store_n(&s->seq, r->tail + r->count, __ATOMIC_RELEASE);
            }
            r->dropped_local++;
            r->tail++;
            __atomic_store_n(&r->hdr->tail, r->tail, __ATOMIC_RELEASE);
            continue;
        }
        /* Copy the fixed part and only the string bytes in use (clamped later anyway). */
        size_t used = 0;
        for (int i = 0; i < RT_RING_NSTR; i++)
            used += __atomic_load_n(&s->str_len[i], __ATOMIC_RELAXED);
        if (used > RT_RING_STR_BYTES)
            used = RT_RING_STR_BYTES;
        memcpy(&r->copy, s, offsetof(struct rt_ring_slot, str) + used);
        /* Free the slot for the next lap before the callback runs. */
        __atomic_store_n(&s->seq, r->tail + r->count, __ATOMIC_RELEASE);
        r->tail++;
        __atomic_store_n(&r->hdr->tail, r->tail, __ATOMIC_RELEASE);
        n += deliver(r, &r->copy, now, fn, arg);
    }
    for (int i = 0; i < MAX_PENDING && r->n_pending; i++) {
        struct pending *p = &r->pend[i];
        if (p->used && (final || now - p->seen_ns >= PENDING_NS))
            n += flush_pending(r, p, fn, arg);
    }
    return n + conn_closed(r, fn, arg);
}

size_t rt_ring_drain(struct rt_ring *ring, void (*fn)(const struct rt_event *ev, void *arg),
                     void *arg)
{
    return drain(ring, fn, arg, false);
}

size_t rt_ring_drain_final(struct rt_ring *ring, int wait_ms,
                           void (*fn)(const struct rt_event *ev, void *arg), void *arg)
{
    size_t n = 0;
    int64_t until = mono_ns() + (int64_t)wait_ms * 1000000LL;
    for (;;) {
        n += drain(ring, fn, arg, false);
        if (rt_ring_backlog(ring) == 0 || mono_ns() >= until)
            break;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    n += drain(ring, fn, arg, true);
    return n + conn_pass(ring, CONN_FINAL, fn, arg);
}

size_t rt_ring_backlog(const struct rt_ring *ring)
{
    uint64_t head = __atomic_load_n(&ring->hdr->head, __ATOMIC_ACQUIRE);
    int64_t d = (int64_t)(head - ring->tail);
    if (d <= 0)
        return 0;
    return d > (int64_t)ring->count ? ring->count : (size_t)d;
}

uint64_t rt_ring_take_dropped(struct rt_ring *ring)
{
    uint64_t shared = __atomic_load_n(&ring->hdr->dropped, __ATOMIC_RELAXED);
    uint64_t n = shared - ring->dropped_seen + ring->dropped_local;
    ring->dropped_seen = shared;
    ring->dropped_local = 0;
    return n;
}

size_t rt_ring_release_execs(struct rt_ring *ring, int64_t until_ns,
                             void (*fn)(const struct rt_event *ev, void *arg), void *arg)
{
    size_t n = 0;
    for (int i = 0; i < MAX_PENDING && ring->n_pending; i++) {
        struct pending *p = &ring->pend[i];
        if (p->used && p->slot.ts_ns <= until_ns)
            n += flush_pending(ring, p, fn, arg);
    }
    return n;
}

uint64_t rt_ring_take_truncated(struct rt_ring *ring)
{
    uint64_t shared = __atomic_load_n(&ring->hdr->truncated, __ATOMIC_RELAXED);
    uint64_t n = shared - ring->truncated_seen;
    ring->truncated_seen = shared;
    return n;
}
