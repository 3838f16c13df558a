/* The consumer side of the shared event ring (recorder/ring.h): creates the ring (in memory,
 * or as a file), drains committed records in order into plain struct rt_event values, gives up on
 * records whose producer stalled (killed between reserve and commit) after a grace period, and
 * merges the two halves of an exec (the record written before execve and, if the call returned, its
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
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#define STALL_NS (100 * 1000 * 1000LL)    /* a reservation this long uncommitted is lost */
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
    int fd; /* the memfd of a ring in memory (its /proc path names it), else -1 */
    void *map;
    size_t map_len;
    struct rt_ring_header *hdr;
    struct rt_ring_cell *cells;
    uint64_t count, mask; /* cells */
    uint64_t key;         /* the commit key (kept from creation, never read back) */
    uint64_t tail;
    uint64_t head_seen;      /* the shared head as last read */
    uint64_t dropped_local;  /* records skipped or rejected by this consumer */
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
    struct rt_ring_cut *cut; /* an invocation's end being sealed (rt_ring_set_cut), or NULL */
};

/* The connection table as it was when an invocation ended (rt_ring_cut_conns). */
struct cut_entry {
    uint32_t i;   /* its entry */
    bool text_ok; /* the strings were copied whole (no producer rewriting them) */
    bool settled; /* summarised (or found gone) */
    struct rt_ring_conn c;
};
struct rt_ring_cut {
    int64_t ns; /* CLOCK_MONOTONIC of the cut */
    uint32_t n;
    struct cut_entry e[];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether producers may time events with the counter (ring_layout.h) instead of the clock:
 * where the kernel keeps its own clock with it, which means it runs at a constant rate in step
 * across CPUs. x86-64: an invariant TSC (constant rate, runs in every C-state) and `tsc` or
 * `kvm-clock` as the clocksource (a KVM guest's clock is the TSC scaled by the host's
 * parameters, and its vDSO reads the TSC only when the host marks it stable across vCPUs).
 * arm64: `arch_sys_counter`, the generic timer, whose rate the architecture fixes. Each
 * producer still checks the counter against the clock every millisecond (RING.md). Anything
 * else: producers read CLOCK_MONOTONIC. */
static bool counter_usable(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return false;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    if (!(d & (1u << 8)))
        return false;
#endif
    /* read(2), not stdio: this runs on the extension's start path, before register */
    char buf[32];
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
#if defined(__x86_64__)
    return strcmp(buf, "tsc\n") == 0 || strcmp(buf, "kvm-clock\n") == 0;
#else
    return strcmp(buf, "arch_sys_counter\n") == 0;
#endif
#else
    return false;
#endif
}

/* The consumer's own state: struct rt_ring and its per-entry reports, about 60 KB. From the
 * heap, calloc zeroed it page by page, 15 page faults on the extension's cold start path
 * before register; a fresh private mapping is zero already, and its pages fault in when the
 * drain first uses them, on the sealer's thread (the ring's creation took 0.207 ms -> 0.172
 * at the median on a 2-CPU VM, docs/deploy.md). Under AddressSanitizer it stays on the heap,
 * where overflows are caught. */
#if defined(__SANITIZE_ADDRESS__)
#define RING_STATE_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RING_STATE_HEAP 1
#endif
#endif

/* The ring's length in bytes for `slots` records (0 = default), and its cell count. */
static size_t ring_len(size_t slots, uint64_t *cells, size_t *conn_off)
{
    uint64_t s = RT_RING_MIN_SLOTS;
    uint64_t want = slots ? slots : RT_RING_DEFAULT_SLOTS;
    while (s < want && s < RT_RING_MAX_SLOTS)
        s <<= 1;
    *cells = s * RT_RING_SLOT_CELLS;
    *conn_off = RT_RING_HDR_SIZE + (size_t)*cells * RT_RING_CELL_SIZE;
    return *conn_off + RT_RING_CONNS * sizeof(struct rt_ring_conn);
}

static size_t state_len(void)
{
    return sizeof(struct rt_ring) + RT_RING_CONNS * sizeof(struct conn_report);
}

/* The consumer's state for a new ring of `slots` records (0 = default), fd -1; its length in
 * bytes, cell count and connection table offset in *len, *cells, *conn_off. */
static struct rt_ring *ring_state_new(size_t slots, size_t *len, uint64_t *cells, size_t *conn_off)
{
    *len = ring_len(slots, cells, conn_off);
#ifdef RING_STATE_HEAP
    void *m = calloc(1, state_len());
    if (!m)
        return NULL;
#else
    void *m = mmap(NULL, state_len(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
#endif
    struct rt_ring *r = m;
    r->rep = (struct conn_report *)(r + 1);
    r->fd = -1;
    return r;
}

static void ring_discard(struct rt_ring *r)
{
#ifdef RING_STATE_HEAP
    free(r);
#else
    munmap(r, state_len());
#endif
}

/* The commit key: random, top bit set (so a zero word never passes for a commit). */
static uint64_t ring_key(void)
{
    uint64_t key = 0;
    if (getrandom(&key, sizeof key, GRND_NONBLOCK) != (ssize_t)sizeof key) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        key = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16);
        key *= 0x9e3779b97f4a7c15ull;
    }
    return key | (1ull << 63);
}

/* Maps fd (already sized to len) and writes the header; publishes the magic last. The fd is
 * not closed here. */
static int ring_map(struct rt_ring *r, int fd, size_t len, uint64_t n, size_t conn_off,
                    const char *name, struct rt_errinfo *ei)
{
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: mmap: %s", name, strerror(errno));
    /* No readahead here: on a disk file system the blocks are unwritten extents, and the
     * header's first write would read around it, zero-filling the page cache of the whole
     * ring on the cold start's path (1.1-1.4 ms of the ring's creation on ext4).
     * rt_ring_populate does that later, off that path. */
    (void)madvise(map, len, MADV_RANDOM);
    r->map = map;
    r->map_len = len;
    r->hdr = map;
    r->cells = (struct rt_ring_cell *)((char *)map + RT_RING_HDR_SIZE);
    r->count = n;
    r->mask = n - 1;
    r->key = ring_key();
    r->conns = (struct rt_ring_conn *)((char *)map + conn_off);
    r->conn_count = RT_RING_CONNS;
    struct rt_ring_header *h = r->hdr;
    h->version = RT_RING_VERSION;
    h->cell_size = RT_RING_CELL_SIZE;
    h->cell_count = n;
    h->hdr_size = RT_RING_HDR_SIZE;
    h->consumer_pid = (uint64_t)getpid();
    h->key = r->key;
    h->conn_off = conn_off;
    h->conn_count = RT_RING_CONNS;
    h->conn_size = sizeof(struct rt_ring_conn);
#if defined(RT_RING_HAVE_COUNTER)
    /* The narrowest of 8 reads (the header is zero: no pair until one counts). */
    if (counter_usable())
        rt_ring_clock_pair(8, UINT64_MAX, 0, &h->clock_tsc, &h->clock_mono);
#endif
    /* Producers check the magic first: publish it last. */
    __atomic_store_n(&h->magic, RT_RING_MAGIC, __ATOMIC_RELEASE);
    return RT_OK;
}

int rt_ring_create(const char *path, size_t slots, struct rt_ring **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    uint64_t n;
    size_t len, conn_off;
    struct rt_ring *r = ring_state_new(slots, &len, &n, &conn_off);
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
    /* Reserve the blocks now: on a full tmpfs a sparse file would SIGBUS on first write. The
     * cells need no initial content: a zero word is never a commit. */
    int fe = posix_fallocate(fd, 0, (off_t)len);
    if (fe != 0 && fe != EOPNOTSUPP && fe != EINVAL) {
        close(fd);
        unlink(path);
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: %s", path, strerror(fe));
    }
    /* posix_fallocate already set the size; where the filesystem cannot allocate, the file
     * is sized here (sparse). */
    if (fe != 0 && ftruncate(fd, (off_t)len) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "%s: %s", path, strerror(e));
    }
    int rc = ring_map(r, fd, len, n, conn_off, path, ei);
    close(fd);
    if (rc != RT_OK) {
        unlink(path);
        ring_discard(r);
        return rc;
    }
    *out = r;
    return RT_OK;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#define MFD_ALLOW_SEALING 0x0002U
#endif

int rt_ring_create_mem(size_t slots, char *path, size_t cap, struct rt_ring **out,
                       struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    uint64_t n;
    size_t len, conn_off;
    struct rt_ring *r = ring_state_new(slots, &len, &n, &conn_off);
    if (!r)
        return rt_fail(ei, RT_ERR_NOMEM, -1, "event ring in memory");
    int fd = memfd_create("runtrail-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        int e = errno;
        ring_discard(r);
        return rt_fail(ei, RT_ERR_RING_OPEN, -1, "memfd_create: %s", strerror(e));
    }
    /* Sparse: a page is allocated at its first write (rt_ring_populate allocates them all
     * later, off the cold start's path). Then its size is sealed: nobody can shrink the ring
     * under the mappings of the consumer and the producers (a SIGBUS in every one of them). */
    char why[96] = "";
    struct stat own, seen;
    if (ftruncate(fd, (off_t)len) != 0)
        snprintf(why, sizeof why, "ftruncate: %s", strerror(errno));
    else if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        snprintf(why, sizeof why, "sealing its size: %s", strerror(errno));
    else if ((size_t)snprintf(path, cap, "/proc/%d/fd/%d", (int)getpid(), fd) >= cap)
        snprintf(why, sizeof why, "its /proc path is too long");
    else {
        /* Producers open it by that path: check that /proc is there and names it. */
        int again = open(path, O_RDONLY | O_CLOEXEC);
        if (again < 0)
            snprintf(why, sizeof why, "%s: %s", path, strerror(errno));
        else if (fstat(fd, &own) != 0 || fstat(again, &seen) != 0 || own.st_ino != seen.st_ino ||
                 own.st_dev != seen.st_dev)
            snprintf(why, sizeof why, "%s names another file", path);
        if (again >= 0)
            close(again);
    }
    int rc = why[0] ? rt_fail(ei, RT_ERR_RING_OPEN, -1, "event ring in memory: %s", why)
                    : ring_map(r, fd, len, n, conn_off, path, ei);
    if (rc != RT_OK) {
        close(fd);
        ring_discard(r);
        if (cap)
            path[0] = '\0';
        return rc;
    }
    r->fd = fd;
    *out = r;
    return RT_OK;
}

void rt_ring_populate(struct rt_ring *ring)
{
    if (!ring)
        return;
    if (ring->fd < 0) {
        (void)madvise(ring->map, ring->map_len, MADV_WILLNEED);
        return;
    }
    /* In memory: read-fault every page here, which allocates and clears it (a fallocate'd
     * page of a memfd is cleared only at its first fault, which would then be a producer's),
     * so that a producer's first write to a cell only maps a page. The pages are this
     * process's RSS from now on rather than after the consumer's first lap of the ring. A
     * kernel before 5.14 (no MADV_POPULATE_READ): one read per page. */
    if (madvise(ring->map, ring->map_len, MADV_POPULATE_READ) != 0) {
        long page = sysconf(_SC_PAGESIZE);
        size_t step = page > 0 ? (size_t)page : 4096;
        for (size_t off = 0; off < ring->map_len; off += step)
            (void)*(volatile const char *)((const char *)ring->map + off);
    }
}

void rt_ring_close(struct rt_ring *ring)
{
    if (!ring)
        return;
    munmap(ring->map, ring->map_len);
    if (ring->fd >= 0)
        close(ring->fd);
    ring_discard(ring);
}

/* Builds the public event from a private copy of a record (its string lengths already
 * bounded by what was copied, see drain), clamping what a scribbler could have made
 * inconsistent. Returns false if the record is unusable. */
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

/* A private copy of entry e, its strings bounded. *text_ok: the strings were copied whole (the
 * text generation was even and did not move; else only the numbers are to be trusted). False
 * when the entry was freed or reused during the copy. */
static bool conn_copy(const struct rt_ring_conn *e, struct rt_ring_conn *c, bool *text_ok)
{
    uint64_t g1 = __atomic_load_n(&e->text_gen, __ATOMIC_ACQUIRE);
    memcpy(c, e, sizeof *c);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint64_t g2 = __atomic_load_n(&e->text_gen, __ATOMIC_RELAXED);
    if (!c->id || __atomic_load_n(&e->id, __ATOMIC_RELAXED) != c->id)
        return false;
    conn_terminate(c);
    *text_ok = g1 == g2 && !(g1 & 1);
    return true;
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
    /* a cut's copy settled after a look at a later period: its lines were replaced since */
    if (rep->reported && c->period_gen < rep->gen)
        text_ok = false;
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
    rep->out = c->bytes_out > rep->out ? c->bytes_out : rep->out;
    rep->in = c->bytes_in > rep->in ? c->bytes_in : rep->in;
    if (text_ok) {
        rep->gen = c->period_gen;
        rep->text_len = tn ? tn : rep->text_len;
    }
    return 1 + unknown;
}

/* The summary of one copy of the cut being sealed, once: what the connection did up to the
 * invocation's end, with the lines of that period, flagged still open unless it was closed
 * then. A copy whose entry was freed or reused since has nothing left to say (its summaries
 * came from the look that freed it). An entry that has not moved since the cut and whose owner
 * is gone (a runtime killed without closing) ends with this summary: unflagged, and freed when
 * free_ended (a drain that finds it closed frees it itself). */
static size_t settle(struct rt_ring *r, struct cut_entry *ce, bool free_ended, drain_fn fn,
                     void *arg)
{
    if (ce->settled)
        return 0;
    ce->settled = true;
    if (ce->i >= r->conn_count)
        return 0;
    struct rt_ring_conn *e = &r->conns[ce->i];
    if (__atomic_load_n(&e->id, __ATOMIC_ACQUIRE) != ce->c.id)
        return 0;
    bool moved = __atomic_load_n(&e->bytes_out, __ATOMIC_RELAXED) != ce->c.bytes_out ||
                 __atomic_load_n(&e->bytes_in, __ATOMIC_RELAXED) != ce->c.bytes_in ||
                 __atomic_load_n(&e->period_gen, __ATOMIC_RELAXED) != ce->c.period_gen;
    bool open_then = !(ce->c.state & RT_RING_CONN_CLOSED);
    bool ended = open_then && !moved && owner_gone(ce->c.pid);
    size_t n =
        conn_summary(r, ce->i, &ce->c, ce->text_ok, open_then && !ended, r->cut->ns, fn, arg);
    if (ended && free_ended) {
        __atomic_store_n(&e->state, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&e->id, 0, __ATOMIC_RELEASE);
        r->rep[ce->i].id = 0;
    }
    return n;
}

/* Before entry i (connection id) is looked at live: its copy in the cut being sealed. */
static size_t settle_entry(struct rt_ring *r, uint32_t i, uint64_t id, drain_fn fn, void *arg)
{
    if (!r->cut)
        return 0;
    for (uint32_t k = 0; k < r->cut->n; k++)
        if (r->cut->e[k].i == i && r->cut->e[k].c.id == id)
            return settle(r, &r->cut->e[k], false, fn, arg);
    return 0;
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
        bool text_ok;
        if (!conn_copy(e, c, &text_ok))
            continue; /* freed or reused meanwhile */
        bool closed = c->state & RT_RING_CONN_CLOSED;
        bool open_now = !closed && !(pass != CONN_CLOSED && owner_gone(c->pid));
        n += settle_entry(r, i, c->id, fn, arg); /* what it did up to the invocation's end */
        n += conn_summary(r, i, c, text_ok, open_now, now, fn, arg);
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

struct rt_ring_cut *rt_ring_cut_conns(const struct rt_ring *ring)
{
    if (!ring->conns)
        return NULL;
    uint64_t used = __atomic_load_n(&ring->hdr->conn_used, __ATOMIC_ACQUIRE);
    uint32_t scan = used < ring->conn_count ? (uint32_t)used : ring->conn_count, live = 0;
    for (uint32_t i = 0; i < scan; i++)
        live += (__atomic_load_n(&ring->conns[i].state, __ATOMIC_ACQUIRE) & RT_RING_CONN_LIVE) != 0;
    live += 8; /* room for connections claimed between the count and the copy */
    struct rt_ring_cut *cut = malloc(sizeof *cut + live * sizeof cut->e[0]);
    if (!cut)
        return NULL;
    cut->n = 0;
    for (uint32_t i = 0; i < scan && cut->n < live; i++) {
        const struct rt_ring_conn *e = &ring->conns[i];
        if (!(__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) & RT_RING_CONN_LIVE))
            continue;
        struct cut_entry *ce = &cut->e[cut->n];
        if (!conn_copy(e, &ce->c, &ce->text_ok))
            continue; /* freed or reused meanwhile */
        ce->i = i;
        ce->settled = false;
        cut->n++;
    }
    /* what the connections do from here on is a new period: the next invocation's */
    __atomic_fetch_add(&ring->hdr->snap_gen, 1, __ATOMIC_RELEASE);
    cut->ns = mono_ns();
    /* The cut waits in the sealer's queue with its invocation: it keeps only what it copied
     * (an entry is 1.1 KB, and the slack alone was 8 of them for a function with no
     * connection open). */
    if (cut->n < live) {
        struct rt_ring_cut *fit = realloc(cut, sizeof *cut + cut->n * sizeof cut->e[0]);
        if (fit)
            cut = fit;
    }
    return cut;
}

size_t rt_ring_cut_bytes(const struct rt_ring_cut *cut)
{
    return cut ? sizeof *cut + cut->n * sizeof cut->e[0] : 0;
}

void rt_ring_cut_free(struct rt_ring_cut *cut)
{
    free(cut);
}

void rt_ring_set_cut(struct rt_ring *ring, struct rt_ring_cut *cut)
{
    ring->cut = cut;
}

size_t rt_ring_settle_cut(struct rt_ring *ring, void (*fn)(const struct rt_event *ev, void *arg),
                          void *arg)
{
    size_t n = 0;
    if (ring->cut)
        for (uint32_t k = 0; k < ring->cut->n; k++)
            n += settle(ring, &ring->cut->e[k], true, fn, arg);
    ring->cut = NULL;
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

/* The first committed record start after position from, below head, or head if none: where
 * the consumer resumes when it gives up on a stalled reservation (a record of 16 cells at
 * most, but the next one may be stalled or in progress too). */
static uint64_t next_committed(const struct rt_ring *r, uint64_t from, uint64_t head)
{
    for (uint64_t pos = from; pos != head; pos++)
        if (__atomic_load_n(&r->cells[pos & r->mask].word[0], __ATOMIC_ACQUIRE) ==
            ((pos + 1) ^ r->key))
            return pos;
    return head;
}

/* Copies cells [pos, pos + k) into dst, wrapping around the end of the cells. */
static void copy_cells(const struct rt_ring *r, uint64_t pos, uint64_t k, void *dst)
{
    uint64_t at = pos & r->mask;
    size_t bytes = (size_t)k * RT_RING_CELL_SIZE;
    if (at + k <= r->count) {
        memcpy(dst, &r->cells[at], bytes);
    } else {
        size_t first = (size_t)(r->count - at) * RT_RING_CELL_SIZE;
        memcpy(dst, &r->cells[at], first);
        memcpy((char *)dst + first, r->cells, bytes - first);
    }
}

/* Copies the record committed at r->tail into r->copy and returns the cells it takes: the
 * fixed part first (its string lengths may lie past the end of the cells), then as many
 * more cells as its string lengths, bounded, ask for. The lengths stay those the copy was
 * made by, so a producer changing them meanwhile cannot make the copy claim more bytes than
 * it holds. */
static uint64_t copy_record(struct rt_ring *r)
{
    const uint64_t fixed = rt_ring_rec_cells(0);
    copy_cells(r, r->tail, fixed, &r->copy);
    size_t total = 0;
    for (int i = 0; i < RT_RING_NSTR; i++) {
        if (r->copy.str_len[i] > RT_RING_STR_BYTES - total)
            r->copy.str_len[i] = (uint16_t)(RT_RING_STR_BYTES - total);
        total += r->copy.str_len[i];
    }
    uint64_t k = rt_ring_rec_cells(total);
    if (k > fixed)
        copy_cells(r, r->tail + fixed, k - fixed, (char *)&r->copy + fixed * RT_RING_CELL_SIZE);
    return k;
}

static void advance(struct rt_ring *r, uint64_t to)
{
    r->tail = to;
    __atomic_store_n(&r->hdr->tail, r->tail, __ATOMIC_RELEASE);
}

/* The head is more than a lap ahead: producers never go there unless a scribbled head, or a
 * scribbled tail they read, let them lap the consumer. What lies between is lost either way
 * (counted as one record dropped); resuming at the head keeps the ring from staying wedged. */
static void resync(struct rt_ring *r)
{
    r->dropped_local++;
    advance(r, r->head_seen);
}

static size_t drain(struct rt_ring *r, drain_fn fn, void *arg, bool final)
{
    size_t n = 0;
    int64_t now = mono_ns();
    for (uint64_t budget = r->count; budget > 0; budget--) {
        /* The commit word first: the head's line is the one producers fight over, read it
         * only when the record is not there or claims cells past the head last seen. */
        uint64_t word = __atomic_load_n(&r->cells[r->tail & r->mask].word[0], __ATOMIC_ACQUIRE);
        if (word == ((r->tail + 1) ^ r->key)) {
            uint64_t k = copy_record(r);
            if ((int64_t)(r->head_seen - r->tail) < (int64_t)k) {
                r->head_seen = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);
                int64_t ahead = (int64_t)(r->head_seen - r->tail);
                if (ahead <= 0)
                    break; /* a commit word nobody reserved */
                if (ahead > (int64_t)r->count) {
                    resync(r);
                    continue;
                }
                if (ahead < (int64_t)k) {
                    /* It claims cells past the head: its lengths were scribbled. */
                    r->dropped_local++;
                    advance(r, r->head_seen);
                    continue;
                }
            }
            /* Free its cells before the callback runs. */
            advance(r, r->tail + k);
            n += deliver(r, &r->copy, now, fn, arg);
            continue;
        }
        uint64_t head = r->head_seen = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);
        int64_t ahead = (int64_t)(head - r->tail);
        if (ahead <= 0)
            break; /* nothing reserved past us */
        if (ahead > (int64_t)r->count) {
            resync(r);
            continue;
        }
        /* Reserved, not committed yet: wait, unless its producer stalled or died. */
        if (r->stall_pos != r->tail + 1) {
            r->stall_pos = r->tail + 1;
            r->stall_since = now;
        }
        if (!final && now - r->stall_since < STALL_NS)
            break;
        uint64_t next = next_committed(r, r->tail + 1, head);
        if (next == head && !final)
            break; /* nothing committed after it yet: resume there once something is */
        r->dropped_local++;
        advance(r, next);
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
