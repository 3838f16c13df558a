/* Network hooks of libruntrail-preload.so: socket, connect, bind, listen, accept, sendto and
 * sendmsg destinations, getaddrinfo, and the per-connection counters. Every connection this
 * process opens to an IPv4/IPv6 peer (except the recorder's own proxy, RUNTRAIL_PROXY) or
 * accepts from one gets an entry in the ring file's connection table (shared with the
 * consumer, RING.md "Connections") and, in this process, a bit in a small bitmap (fds below
 * 1024) or a slot in an open-addressing table (higher fds); read/write/send/recv and friends
 * test the bit (file descriptors of files cost one load) and count bytes into the entry, and
 * the first bytes each way of each period are sniffed for TLS SNI, the HTTP request line and
 * Host, the HTTP status line or a DNS query name (the request is what the program writes on a
 * connection it opened, and what it reads on one it accepted). The consumer writes the
 * OUTBOUND (opened) or INBOUND (accepted) summaries from the table: at each snapshot (the end
 * of an invocation) for what moved since the previous one, and once the connection is closed
 * (close(), process exit, or its owner gone). getaddrinfo answers go to a small lock-free
 * table so a connect can name its destination. */
#include "recorder/preload/preload.h"
#include "recorder/preload/sniff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define LOW_FDS 1024   /* fds below: a bitmap and a direct map */
#define HIGH_SLOTS 256 /* fds from LOW_FDS up: an open-addressing table (power of two) */

/* Sniffed this period (rt_ring_conn.sniff): the first bytes each way, and the first TLS
 * plaintext each way (hook_ssl.c). */
enum { SNIFF_REQ = 1, SNIFF_RESP = 2, SNIFF_TLS_REQ = 4, SNIFF_TLS_RESP = 8 };

/* Where this process counts one fd: the table entry and the low half of its id (the entry is
 * this fd's connection only while the ids agree: the consumer frees entries). */
struct fd_conn {
    uint32_t idx;
    uint32_t id;
};

/* High fds: key 0 = empty, HIGH_TOMB = removed, HIGH_BUSY = being written, else fd + 1. */
#define HIGH_TOMB (-1)
#define HIGH_BUSY (-2)
struct high_slot {
    int32_t key;
    struct fd_conn c;
};

static uint64_t tracked_bits[LOW_FDS / 64];
static struct fd_conn low_map[LOW_FDS];
static struct high_slot high_map[HIGH_SLOTS];
static uint32_t high_tracked; /* high fds tracked now: 0 lets every high fd skip the table */

static int high_find(int fd)
{
    if (fd < LOW_FDS)
        return -1;
    uint32_t h = ((uint32_t)fd * 2654435761u) & (HIGH_SLOTS - 1);
    for (uint32_t k = 0; k < HIGH_SLOTS; k++) {
        struct high_slot *s = &high_map[(h + k) & (HIGH_SLOTS - 1)];
        int32_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (key == 0)
            return -1;
        if (key == fd + 1)
            return (int)((h + k) & (HIGH_SLOTS - 1));
    }
    return -1;
}

static inline bool is_tracked(int fd)
{
    if (!__atomic_load_n(&rt_pl_hot.net_used, __ATOMIC_ACQUIRE))
        return false;
    if (__builtin_expect((unsigned)fd < LOW_FDS, 1))
        return (__atomic_load_n(&tracked_bits[fd >> 6], __ATOMIC_RELAXED) >> (fd & 63)) & 1;
    return __atomic_load_n(&high_tracked, __ATOMIC_RELAXED) && high_find(fd) >= 0;
}

/* Maps fd to c in this process; false when the high table is full. */
static bool map_fd(int fd, struct fd_conn c)
{
    __atomic_store_n(&rt_pl_hot.net_used, 1, __ATOMIC_RELEASE);
    if ((unsigned)fd < LOW_FDS) {
        low_map[fd] = c;
        __atomic_fetch_or(&tracked_bits[fd >> 6], 1ull << (fd & 63), __ATOMIC_RELEASE);
        return true;
    }
    uint32_t h = ((uint32_t)fd * 2654435761u) & (HIGH_SLOTS - 1);
    for (uint32_t k = 0; k < HIGH_SLOTS; k++) {
        struct high_slot *s = &high_map[(h + k) & (HIGH_SLOTS - 1)];
        int32_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if ((key == 0 || key == HIGH_TOMB) &&
            __atomic_compare_exchange_n(&s->key, &key, HIGH_BUSY, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            s->c = c;
            __atomic_store_n(&s->key, fd + 1, __ATOMIC_RELEASE);
            __atomic_fetch_add(&high_tracked, 1, __ATOMIC_RELAXED);
            return true;
        }
    }
    return false;
}

static void unmap_fd(int fd)
{
    if ((unsigned)fd < LOW_FDS) {
        __atomic_fetch_and(&tracked_bits[fd >> 6], ~(1ull << (fd & 63)), __ATOMIC_RELEASE);
        return;
    }
    int i = high_find(fd);
    if (i >= 0) {
        __atomic_store_n(&high_map[i].key, HIGH_TOMB, __ATOMIC_RELEASE);
        __atomic_fetch_sub(&high_tracked, 1, __ATOMIC_RELAXED);
    }
}

/* The table entry fd counts into, or NULL (not tracked, or the entry was freed and reused). */
static struct rt_ring_conn *conn_of(int fd)
{
    struct fd_conn c;
    if ((unsigned)fd < LOW_FDS) {
        c = low_map[fd];
    } else {
        int i = high_find(fd);
        if (i < 0)
            return NULL;
        c = high_map[i].c;
    }
    if (!rt_pl_ring.conns || c.idx >= rt_pl_ring.conn_count)
        return NULL;
    struct rt_ring_conn *e = &rt_pl_ring.conns[c.idx];
    if ((uint32_t)__atomic_load_n(&e->id, __ATOMIC_RELAXED) != c.id) {
        unmap_fd(fd);
        return NULL;
    }
    return e;
}

/* ---- the recorder's own proxy ---- */

static uint32_t proxy_ip; /* network order; 0 = none */
static uint16_t proxy_port;

void rt_pl_net_init(void)
{
    const char *p = getenv("RUNTRAIL_PROXY");
    if (!p)
        return;
    char host[64];
    const char *colon = strrchr(p, ':');
    if (!colon || (size_t)(colon - p) >= sizeof host)
        return;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    long port = strtol(colon + 1, NULL, 10);
    struct in_addr a;
    if (!strcmp(host, "localhost"))
        rt_pl_strlcpy(host, "127.0.0.1", sizeof host);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &a) != 1)
        return;
    proxy_ip = a.s_addr;
    proxy_port = htons((uint16_t)port);
}

static bool is_proxy(const struct sockaddr *sa, socklen_t len)
{
    if (!proxy_port || !sa || sa->sa_family != AF_INET || len < sizeof(struct sockaddr_in))
        return false;
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return in->sin_port == proxy_port && in->sin_addr.s_addr == proxy_ip;
}

/* ---- address text ---- */

static size_t put_uint(char *out, size_t cap, size_t n, unsigned v)
{
    char d[12];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k && n + 1 < cap)
        out[n++] = d[--k];
    return n;
}

/* "1.2.3.4:80", "[::1]:443", a unix path ("@name" for abstract), or "family N". */
static size_t format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    if (!sa || len < sizeof(sa_family_t))
        return 0;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        const unsigned char *b = (const unsigned char *)&in->sin_addr;
        for (int i = 0; i < 4; i++) {
            if (i)
                out[n++] = '.';
            n = put_uint(out, cap, n, b[i]);
        }
        out[n++] = ':';
        n = put_uint(out, cap, n, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        out[n++] = '[';
        if (inet_ntop(AF_INET6, &in6->sin6_addr, out + n, (socklen_t)(cap - n - 8)))
            n += rt_pl_strlen(out + n);
        out[n++] = ']';
        out[n++] = ':';
        n = put_uint(out, cap, n, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t plen = len - offsetof(struct sockaddr_un, sun_path);
        if (plen > sizeof un->sun_path)
            plen = sizeof un->sun_path;
        size_t i = 0;
        if (plen > 0 && un->sun_path[0] == 0) {
            out[n++] = '@';
            i = 1;
        }
        for (; i < plen && un->sun_path[i] && n + 1 < cap; i++)
            out[n++] = un->sun_path[i];
    } else {
        memcpy(out, "family ", 7);
        n = put_uint(out, cap, 7, sa->sa_family);
    }
    out[n] = 0;
    return n;
}

static uint16_t addr_port(const struct sockaddr *sa, socklen_t len)
{
    if (sa && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa && sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

/* ---- recent getaddrinfo answers: address -> name ---- */

#define DNS_ENTRIES 64
struct dns_entry {
    uint32_t gen; /* odd while being written */
    uint8_t family;
    uint8_t addr[16];
    char name[128];
};
static struct dns_entry dns_table[DNS_ENTRIES];
static uint32_t dns_next;

static void dns_remember(int family, const void *addr, const char *name)
{
    uint32_t i = __atomic_fetch_add(&dns_next, 1, __ATOMIC_RELAXED) % DNS_ENTRIES;
    struct dns_entry *e = &dns_table[i];
    __atomic_fetch_add(&e->gen, 1, __ATOMIC_ACQ_REL);
    e->family = (uint8_t)family;
    memcpy(e->addr, addr, family == AF_INET ? 4 : 16);
    rt_pl_strlcpy(e->name, name, sizeof e->name);
    __atomic_fetch_add(&e->gen, 1, __ATOMIC_RELEASE);
}

static bool dns_lookup(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
    const void *addr;
    size_t alen;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        addr = &((const struct sockaddr_in *)sa)->sin_addr;
        alen = 4;
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        alen = 16;
    } else {
        return false;
    }
    for (int i = 0; i < DNS_ENTRIES; i++) {
        struct dns_entry *e = &dns_table[i];
        uint32_t g = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE);
        if ((g & 1) || g == 0 || e->family != sa->sa_family || memcmp(e->addr, addr, alen))
            continue;
        rt_pl_strlcpy(out, e->name, cap);
        if (__atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) == g)
            return true;
    }
    out[0] = 0;
    return false;
}

/* ---- the connection table ---- */

static inline void text_begin(struct rt_ring_conn *c)
{
    __atomic_fetch_add(&c->text_gen, 1, __ATOMIC_ACQ_REL);
}

static inline void text_end(struct rt_ring_conn *c)
{
    __atomic_fetch_add(&c->text_gen, 1, __ATOMIC_RELEASE);
}

/* Ends fd's connection in this process. Its owner marks the entry closed (the consumer writes
 * the last summary and frees it); another process (a forked child using an inherited socket)
 * only forgets the fd. */
static void conn_end(int fd)
{
    struct rt_ring_conn *c = conn_of(fd);
    unmap_fd(fd);
    if (!c || c->pid != rt_pl_pid)
        return;
    c->closed_ns = rt_pl_now();
    __atomic_fetch_or(&c->state, RT_RING_CONN_CLOSED, __ATOMIC_RELEASE);
    __atomic_fetch_add(&rt_pl_ring.hdr->conn_closed, 1, __ATOMIC_RELEASE);
}

/* The consumer took a snapshot since this connection last moved bytes: what follows is a new
 * period, with its own start time and its own request/status lines. */
static void begin_period(struct rt_ring_conn *c, uint64_t gen)
{
    text_begin(c);
    c->sniff = 0;
    c->req[0] = c->status[0] = 0;
    c->period_ns = rt_pl_now();
    __atomic_store_n(&c->period_gen, gen, __ATOMIC_RELAXED);
    text_end(c);
}

static inline void check_period(struct rt_ring_conn *c)
{
    uint64_t gen = __atomic_load_n(&rt_pl_ring.hdr->snap_gen, __ATOMIC_RELAXED);
    if (__builtin_expect(gen != __atomic_load_n(&c->period_gen, __ATOMIC_RELAXED), 0))
        begin_period(c, gen);
}

void rt_pl_net_fd_reused(int fd)
{
    if (is_tracked(fd))
        conn_end(fd);
}

void rt_pl_net_flush(void)
{
    if (!__atomic_load_n(&rt_pl_hot.net_used, __ATOMIC_ACQUIRE))
        return;
    for (int w = 0; w < LOW_FDS / 64; w++)
        for (uint64_t bits = __atomic_load_n(&tracked_bits[w], __ATOMIC_RELAXED); bits;
             bits &= bits - 1)
            conn_end(w * 64 + __builtin_ctzll(bits));
    for (int i = 0; i < HIGH_SLOTS && __atomic_load_n(&high_tracked, __ATOMIC_RELAXED); i++) {
        int32_t key = __atomic_load_n(&high_map[i].key, __ATOMIC_ACQUIRE);
        if (key > 0)
            conn_end(key - 1);
    }
}

void rt_pl_net_fork_child(void)
{
    /* The child keeps counting inherited connections into the same entries (the bytes it
     * moves are the connection's); their owner, the parent, ends them. */
}

static void emit_dns(int fd, const char *name, size_t len, int64_t res)
{
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_DNS, rt_pl_stamp(), res);
    rt_pl_strn(&rec, 0, name, len);
    rec.num[0] = fd;
    rt_pl_emit(&rec);
}

/* The first bytes of a request: written on a connection the program opened, read on one it
 * accepted. */
static void sniff_request(int fd, struct rt_ring_conn *c, const void *buf, size_t len)
{
    if (c->sniff & SNIFF_REQ || !buf || !len)
        return;
    text_begin(c);
    c->sniff |= SNIFF_REQ;
    if (c->state & RT_RING_CONN_DGRAM) {
        size_t n = rt_sniff_dns_qname(buf, len, c->sni, sizeof c->sni);
        if (n)
            c->proto = RT_PROTO_DNS;
        text_end(c);
        if (n)
            emit_dns(fd, c->sni, n, (int64_t)len);
        return;
    }
    if (rt_sniff_tls_sni(buf, len, c->sni, sizeof c->sni) ||
        (len >= 3 && ((const unsigned char *)buf)[0] == 0x16))
        c->proto = RT_PROTO_TLS;
    else if (rt_sniff_http_request(buf, len, c->req, sizeof c->req, c->host, sizeof c->host))
        c->proto = RT_PROTO_HTTP;
    text_end(c);
}

/* The first bytes of the answer to a plaintext HTTP request. */
static void sniff_response(struct rt_ring_conn *c, const void *buf, size_t len)
{
    if (c->proto != RT_PROTO_HTTP || c->sniff & SNIFF_RESP || !buf || !len)
        return;
    text_begin(c);
    c->sniff |= SNIFF_RESP;
    rt_sniff_http_status(buf, len, c->status, sizeof c->status);
    text_end(c);
}

void rt_pl_net_plaintext(int fd, const void *buf, size_t len, bool out)
{
    struct rt_ring_conn *c;
    if (!is_tracked(fd) || !buf || !len || !(c = conn_of(fd)) || c->state & RT_RING_CONN_INBOUND)
        return;
    check_period(c);
    unsigned bit = out ? SNIFF_TLS_REQ : SNIFF_TLS_RESP;
    if (c->sniff & bit || (!out && !(c->sniff & SNIFF_TLS_REQ)))
        return;
    /* A reader taking the answer a byte at a time (Python's readline on an unbuffered file,
     * waiting for "100 Continue"), or an interim 1xx answer: the final status line follows. */
    if (!out && (len < 12 || rt_sniff_http_code(buf, len) / 100 == 1))
        return;
    if (len > 16384) /* a request's head: an upload written with it is not read */
        len = 16384;
    text_begin(c);
    c->sniff |= bit;
    if (out)
        rt_sniff_http_request(buf, len, c->req, sizeof c->req, c->host, sizeof c->host);
    else if (c->req[0])
        rt_sniff_http_status(buf, len, c->status, sizeof c->status);
    text_end(c);
}

/* A call on tracked fd moved r bytes out (r <= 0: none); the sniffers see the first seen of
 * them, at buf (a vectored call's first buffer). */
static inline void count_out(int fd, const void *buf, ssize_t seen, ssize_t r)
{
    if (r > 0) {
        struct rt_ring_conn *c = conn_of(fd);
        if (!c)
            return;
        check_period(c);
        __atomic_fetch_add(&c->bytes_out, (uint64_t)r, __ATOMIC_RELAXED);
        if (seen <= 0)
            return;
        if (c->state & RT_RING_CONN_INBOUND)
            sniff_response(c, buf, (size_t)seen);
        else
            sniff_request(fd, c, buf, (size_t)seen);
    }
}

/* The same for r bytes in. */
static inline void count_in(int fd, const void *buf, ssize_t seen, ssize_t r)
{
    if (r > 0) {
        struct rt_ring_conn *c = conn_of(fd);
        if (!c)
            return;
        check_period(c);
        __atomic_fetch_add(&c->bytes_in, (uint64_t)r, __ATOMIC_RELAXED);
        if (seen <= 0)
            return;
        if (c->state & RT_RING_CONN_INBOUND)
            sniff_request(fd, c, buf, (size_t)seen);
        else
            sniff_response(c, buf, (size_t)seen);
    }
}

/* Claims a table entry for fd, a connection with the IPv4/IPv6 peer named peer, from stamp
 * t0, and maps fd to it. The caller fills the rest, then publishes it with conn_publish().
 * NULL (counted in the ring's conn_untracked) when the table or this process's map is full. */
static struct rt_ring_conn *conn_start(int fd, int64_t t0, const char *peer)
{
    if (is_tracked(fd))
        conn_end(fd); /* re-connect of a UDP socket */
    struct rt_producer *p = &rt_pl_ring;
    if (!p->conns)
        return NULL;
    uint64_t id = __atomic_add_fetch(&p->hdr->conn_next_id, 1, __ATOMIC_RELAXED);
    if (!(uint32_t)id) /* the low half names the connection in this process's map */
        id = __atomic_add_fetch(&p->hdr->conn_next_id, 1, __ATOMIC_RELAXED);
    /* The lowest free entry: the consumer reads only the prefix ever used. */
    for (uint32_t i = 0; i < p->conn_count; i++) {
        struct rt_ring_conn *c = &p->conns[i];
        uint64_t free_id = 0;
        if (__atomic_load_n(&c->id, __ATOMIC_RELAXED) ||
            !__atomic_compare_exchange_n(&c->id, &free_id, id, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED))
            continue;
        c->proto = 0;
        c->pid = rt_pl_pid;
        c->tid = rt_pl_tid();
        c->fd = fd;
        c->sniff = 0;
        c->t0 = c->period_ns = rt_pl_stamp_ns(t0);
        c->period_gen = __atomic_load_n(&p->hdr->snap_gen, __ATOMIC_RELAXED);
        c->bytes_out = c->bytes_in = 0;
        c->text_gen = 0;
        c->closed_ns = 0;
        c->local[0] = c->dns[0] = c->sni[0] = c->req[0] = c->host[0] = c->status[0] = 0;
        rt_pl_strlcpy(c->dest, peer, sizeof c->dest);
        uint64_t used = __atomic_load_n(&p->hdr->conn_used, __ATOMIC_RELAXED);
        while (used < i + 1 && !__atomic_compare_exchange_n(&p->hdr->conn_used, &used, i + 1, true,
                                                            __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
        }
        if (map_fd(fd, (struct fd_conn){.idx = i, .id = (uint32_t)id}))
            return c;
        __atomic_store_n(&c->id, 0, __ATOMIC_RELEASE);
        break;
    }
    __atomic_fetch_add(&p->hdr->conn_untracked, 1, __ATOMIC_RELAXED);
    return NULL;
}

/* Makes a filled entry visible to the consumer. */
static void conn_publish(struct rt_ring_conn *c, uint32_t flags)
{
    __atomic_store_n(&c->state, RT_RING_CONN_LIVE | flags, __ATOMIC_RELEASE);
}

static bool is_inet(const struct sockaddr *sa)
{
    return sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
}

/* ---- socket lifecycle ---- */

#define RES(r) ((r) < 0 ? -(int64_t)RT_ERRNO : (int64_t)(r))

RT_EXPORT int socket(int domain, int type, int protocol)
{
    if (!rt_pl_enter())
        return REAL(socket)(domain, type, protocol);
    int64_t t0 = rt_pl_stamp();
    int r = REAL(socket)(domain, type, protocol);
    int e = RT_ERRNO;
    if (r >= 0)
        rt_pl_net_fd_reused(r); /* an fd closed behind our back (fclose, close_range) */
    rt_pl_emit_simple(RT_OP_SOCKET, t0, RES(r), NULL, domain, type, protocol, 0);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (!rt_pl_enter())
        return REAL(connect)(fd, sa, len);
    if (is_proxy(sa, len)) {
        rt_pl_leave();
        return REAL(connect)(fd, sa, len);
    }
    int64_t t0 = rt_pl_stamp();
    int r = REAL(connect)(fd, sa, len);
    int e = RT_ERRNO;
    char addr[128];
    format_addr(sa, len, addr, sizeof addr);
    rt_pl_emit_simple(RT_OP_CONNECT, t0, RES(r), addr, fd, 0, 0, 0);
    struct rt_ring_conn *c;
    if ((r == 0 || e == EINPROGRESS) && is_inet(sa) && (c = conn_start(fd, t0, addr))) {
        int type = 0;
        socklen_t tl = sizeof type;
        bool dgram = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM;
        dns_lookup(sa, len, c->dns, sizeof c->dns);
        if (addr_port(sa, len) == 53 && dgram)
            c->proto = RT_PROTO_DNS;
        conn_publish(c, dgram ? RT_RING_CONN_DGRAM : 0);
    }
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (!rt_pl_enter())
        return REAL(bind)(fd, sa, len);
    int64_t t0 = rt_pl_stamp();
    int r = REAL(bind)(fd, sa, len);
    int e = RT_ERRNO;
    char addr[128];
    format_addr(sa, len, addr, sizeof addr);
    rt_pl_emit_simple(RT_OP_BIND, t0, RES(r), addr, fd, 0, 0, 0);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int listen(int fd, int backlog)
{
    if (!rt_pl_enter())
        return REAL(listen)(fd, backlog);
    int64_t t0 = rt_pl_stamp();
    int r = REAL(listen)(fd, backlog);
    int e = RT_ERRNO;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[128] = "";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        format_addr((struct sockaddr *)&ss, sl, addr, sizeof addr);
    rt_pl_emit_simple(RT_OP_LISTEN, t0, RES(r), addr, fd, backlog, 0, RT_EF_LISTENING);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

static int accept_common(int fd, struct sockaddr *sa, socklen_t *len, int flags, bool four)
{
    if (!rt_pl_enter())
        return four ? REAL(accept4)(fd, sa, len, flags) : REAL(accept)(fd, sa, len);
    int64_t t0 = rt_pl_stamp();
    int r = four ? REAL(accept4)(fd, sa, len, flags) : REAL(accept)(fd, sa, len);
    int e = RT_ERRNO;
    char addr[128] = "";
    bool own = false; /* reached the recorder's own proxy (the proxy itself preloaded) */
    if (r >= 0) {
        struct sockaddr_storage ss, ls;
        socklen_t sl = sizeof ss, lsl = sizeof ls;
        bool peer = getpeername(r, (struct sockaddr *)&ss, &sl) == 0;
        if (peer)
            format_addr((struct sockaddr *)&ss, sl, addr, sizeof addr);
        bool inet = peer && is_inet((struct sockaddr *)&ss);
        rt_pl_net_fd_reused(r);
        /* Counted like an opened connection; its summary is an INBOUND record. */
        struct rt_ring_conn *c;
        if (inet && getsockname(r, (struct sockaddr *)&ls, &lsl) == 0 &&
            !(own = is_proxy((struct sockaddr *)&ls, lsl)) && (c = conn_start(r, t0, addr))) {
            format_addr((struct sockaddr *)&ls, lsl, c->local, sizeof c->local);
            conn_publish(c, RT_RING_CONN_INBOUND);
        }
    }
    if (!own)
        rt_pl_emit_simple(RT_OP_ACCEPT, t0, RES(r), addr, fd, 0, 0, 0);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    return accept_common(fd, sa, len, 0, false);
}

RT_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    return accept_common(fd, sa, len, flags, true);
}

RT_EXPORT int close(int fd)
{
    if (__builtin_expect(!is_tracked(fd), 1) || !rt_pl_enter())
        return REAL(close)(fd);
    int saved = RT_ERRNO;
    conn_end(fd);
    RT_ERRNO = saved;
    rt_pl_leave();
    return REAL(close)(fd);
}

/* dup2/dup3 onto a tracked descriptor closes that connection. Not recorded otherwise. */
RT_EXPORT int dup2(int oldfd, int newfd)
{
    if (__builtin_expect(!is_tracked(newfd), 1) || oldfd == newfd || !rt_pl_enter())
        return REAL(dup2)(oldfd, newfd);
    int r = REAL(dup2)(oldfd, newfd);
    int e = RT_ERRNO;
    if (r >= 0)
        conn_end(newfd);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    if (__builtin_expect(!is_tracked(newfd), 1) || !rt_pl_enter())
        return REAL(dup3)(oldfd, newfd, flags);
    int r = REAL(dup3)(oldfd, newfd, flags);
    int e = RT_ERRNO;
    if (r >= 0)
        conn_end(newfd);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

/* ---- getaddrinfo ---- */

/* EAI_* codes as the nearest -errno, so a failed lookup reads like any failed call. */
static int64_t gai_result(int r, int e)
{
    switch (r) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
    case EAI_SERVICE:
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_FAIL:
        return -EIO;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SOCKTYPE:
        return -ESOCKTNOSUPPORT;
    case EAI_BADFLAGS:
        return -EINVAL;
    case EAI_OVERFLOW:
        return -EOVERFLOW;
    case EAI_SYSTEM:
        return e ? -(int64_t)e : -EIO;
    default:
        return -EIO;
    }
}

RT_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res)
{
    if (!rt_pl_enter() || !node)
        return REAL(getaddrinfo)(node, service, hints, res);
    int64_t t0 = rt_pl_stamp();
    int r = REAL(getaddrinfo)(node, service, hints, res);
    int e = RT_ERRNO;
    char answers[512];
    size_t n = 0;
    if (r == 0 && res) {
        for (const struct addrinfo *ai = *res; ai && n + 48 < sizeof answers; ai = ai->ai_next) {
            char one[64];
            const void *addr = NULL;
            if (ai->ai_family == AF_INET && ai->ai_addr)
                addr = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
            else if (ai->ai_family == AF_INET6 && ai->ai_addr)
                addr = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            if (!addr || !inet_ntop(ai->ai_family, addr, one, sizeof one))
                continue;
            size_t ol = rt_pl_strlen(one);
            /* getaddrinfo repeats an address once per socket type: keep one */
            bool dup = false;
            for (size_t p = 0; p + ol <= n; p++)
                if ((p == 0 || answers[p - 1] == ',') && !memcmp(answers + p, one, ol) &&
                    (p + ol == n || answers[p + ol] == ','))
                    dup = true;
            if (dup)
                continue;
            if (n)
                answers[n++] = ',';
            memcpy(answers + n, one, ol);
            n += ol;
            dns_remember(ai->ai_family, addr, node);
        }
    }
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_DNS, t0, gai_result(r, e));
    rt_pl_str(&rec, 0, node);
    rt_pl_strn(&rec, 1, answers, n);
    rec.num[0] = -1;
    rt_pl_emit(&rec);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

/* ---- data: destinations of datagrams, byte counts on tracked connections ---- */

static void rec_sendto(int fd, int64_t t0, ssize_t r, int e, const struct sockaddr *sa,
                       socklen_t len, const void *buf, size_t blen)
{
    char addr[128];
    format_addr(sa, len, addr, sizeof addr);
    rt_pl_emit_simple(RT_OP_SENDTO, t0, r < 0 ? -(int64_t)e : (int64_t)r, addr, fd, (int64_t)blen,
                      0, 0);
    if (addr_port(sa, len) == 53 && buf) {
        char name[256];
        size_t n = rt_sniff_dns_qname(buf, blen, name, sizeof name);
        if (n)
            emit_dns(fd, name, n, r < 0 ? -(int64_t)e : (int64_t)r);
    }
}

RT_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                         socklen_t alen)
{
    if (sa && alen && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
        !is_proxy(sa, alen) && rt_pl_enter()) {
        int64_t t0 = rt_pl_stamp();
        ssize_t r = REAL(sendto)(fd, buf, len, flags, sa, alen);
        int e = RT_ERRNO;
        rec_sendto(fd, t0, r, e, sa, alen, buf, len);
        rt_pl_leave();
        RT_ERRNO = e;
        return r;
    }
    ssize_t r = REAL(sendto)(fd, buf, len, flags, sa, alen);
    if (is_tracked(fd)) {
        int e = RT_ERRNO;
        count_out(fd, buf, r, r);
        RT_ERRNO = e;
    }
    return r;
}

RT_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    const struct sockaddr *sa = msg ? msg->msg_name : NULL;
    socklen_t alen = msg ? msg->msg_namelen : 0;
    const void *b0 = msg && msg->msg_iovlen ? msg->msg_iov[0].iov_base : NULL;
    size_t l0 = msg && msg->msg_iovlen ? msg->msg_iov[0].iov_len : 0;
    if (sa && alen && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
        !is_proxy(sa, alen) && rt_pl_enter()) {
        int64_t t0 = rt_pl_stamp();
        ssize_t r = REAL(sendmsg)(fd, msg, flags);
        int e = RT_ERRNO;
        rec_sendto(fd, t0, r, e, sa, alen, b0, l0);
        rt_pl_leave();
        RT_ERRNO = e;
        return r;
    }
    ssize_t r = REAL(sendmsg)(fd, msg, flags);
    if (is_tracked(fd)) {
        int e = RT_ERRNO;
        count_out(fd, b0, r > (ssize_t)l0 ? (ssize_t)l0 : r, r);
        RT_ERRNO = e;
    }
    return r;
}

#define COUNT_OUT(CALL, buf)                                                                       \
    do {                                                                                           \
        ssize_t r_ = CALL;                                                                         \
        if (__builtin_expect(is_tracked(fd), 0)) {                                                 \
            int e_ = RT_ERRNO;                                                                     \
            count_out(fd, buf, r_, r_);                                                            \
            RT_ERRNO = e_;                                                                         \
        }                                                                                          \
        return r_;                                                                                 \
    } while (0)

#define COUNT_IN(CALL, buf)                                                                        \
    do {                                                                                           \
        ssize_t r_ = CALL;                                                                         \
        if (__builtin_expect(is_tracked(fd), 0)) {                                                 \
            int e_ = RT_ERRNO;                                                                     \
            count_in(fd, buf, r_, r_);                                                             \
            RT_ERRNO = e_;                                                                         \
        }                                                                                          \
        return r_;                                                                                 \
    } while (0)

RT_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    COUNT_OUT(REAL(send)(fd, buf, len, flags), buf);
}

RT_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    COUNT_OUT(REAL(write)(fd, buf, len), buf);
}

/* For vectored calls the sniffers see the first buffer; the count is the total. */
static const void *iov_first(const struct iovec *iov, int n, ssize_t r, ssize_t *first)
{
    *first = 0;
    if (n <= 0 || !iov || r <= 0)
        return NULL;
    *first = r < (ssize_t)iov[0].iov_len ? r : (ssize_t)iov[0].iov_len;
    return iov[0].iov_base;
}

/* COUNT_OUT / COUNT_IN for a vectored CALL over the n buffers at iov (dir: out or in). */
#define COUNT_IOV(dir, CALL, iov, n)                                                               \
    do {                                                                                           \
        ssize_t r_ = CALL;                                                                         \
        if (__builtin_expect(is_tracked(fd), 0)) {                                                 \
            int e_ = RT_ERRNO;                                                                     \
            ssize_t first_;                                                                        \
            const void *b_ = iov_first(iov, n, r_, &first_);                                       \
            count_##dir(fd, b_, first_, r_);                                                       \
            RT_ERRNO = e_;                                                                         \
        }                                                                                          \
        return r_;                                                                                 \
    } while (0)

RT_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    COUNT_IOV(out, REAL(writev)(fd, iov, n), iov, n);
}

RT_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    COUNT_IN(REAL(read)(fd, buf, len), buf);
}

RT_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    COUNT_IN(REAL(__read_chk)(fd, buf, len, buflen), buf);
}

RT_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    COUNT_IOV(in, REAL(readv)(fd, iov, n), iov, n);
}

RT_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    COUNT_IN(REAL(recv)(fd, buf, len, flags), buf);
}

RT_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    COUNT_IN(REAL(__recv_chk)(fd, buf, len, buflen, flags), buf);
}

RT_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
                           socklen_t *alen)
{
    COUNT_IN(REAL(recvfrom)(fd, buf, len, flags, sa, alen), buf);
}

RT_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                                 struct sockaddr *sa, socklen_t *alen)
{
    COUNT_IN(REAL(__recvfrom_chk)(fd, buf, len, buflen, flags, sa, alen), buf);
}

RT_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    COUNT_IOV(in, REAL(recvmsg)(fd, msg, flags), msg ? msg->msg_iov : NULL,
              msg ? (int)msg->msg_iovlen : 0);
}
