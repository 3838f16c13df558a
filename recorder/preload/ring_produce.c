/* The ring producer: reserves a slot by advancing the shared head with compare-and-swap when
 * the slot's sequence word says it is free for that lap, copies the record and its strings
 * (cut to fit, counted), then commits by storing pos + 1 in the sequence word. A full ring
 * counts the record as dropped instead of waiting. See recorder/RING.md. */
#include "recorder/preload/ring_produce.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESERVE_TRIES 256

/* The fields from ts_ns to internal, in the same order and padding in both structs. */
#define FIXED_BYTES (offsetof(struct rt_ring_slot, str_len) - offsetof(struct rt_ring_slot, ts_ns))
_Static_assert(FIXED_BYTES == offsetof(struct rt_rec, str) - offsetof(struct rt_rec, ts_ns),
               "record and slot fixed parts differ");
#define SAME_OFFSET(f)                                                                             \
    _Static_assert(offsetof(struct rt_ring_slot, f) - offsetof(struct rt_ring_slot, ts_ns) ==      \
                       offsetof(struct rt_rec, f) - offsetof(struct rt_rec, ts_ns),                \
                   "record and slot differ at " #f)
SAME_OFFSET(result);
SAME_OFFSET(num);
SAME_OFFSET(pid);
SAME_OFFSET(tid);
SAME_OFFSET(flags);
SAME_OFFSET(op);
SAME_OFFSET(internal);

int rt_producer_attach(struct rt_producer *p, const char *path)
{
    int saved = errno;
    memset(p, 0, sizeof *p);
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (syscall(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size >= RT_RING_HDR_SIZE + RT_RING_MIN_SLOTS * RT_RING_SLOT_SIZE) {
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
        if (map != MAP_FAILED) {
            struct rt_ring_header *h = map;
            uint64_t n = h->slot_count;
            if (h->magic == RT_RING_MAGIC && h->version == RT_RING_VERSION &&
                h->slot_size == RT_RING_SLOT_SIZE && h->hdr_size == RT_RING_HDR_SIZE &&
                n >= RT_RING_MIN_SLOTS && n <= RT_RING_MAX_SLOTS && (n & (n - 1)) == 0 &&
                RT_RING_HDR_SIZE + n * RT_RING_SLOT_SIZE <= (uint64_t)st.st_size) {
                p->hdr = h;
                p->slots = (struct rt_ring_slot *)((char *)map + RT_RING_HDR_SIZE);
                p->mask = n - 1;
                p->map_len = (size_t)st.st_size;
                /* The connection table, if it lies after the slots and inside the file. */
                uint64_t off = h->conn_off, count = h->conn_count;
                if (h->conn_size == sizeof(struct rt_ring_conn) && count > 0 &&
                    count <= RT_RING_CONNS && off >= RT_RING_HDR_SIZE + n * RT_RING_SLOT_SIZE &&
                    off % 64 == 0 &&
                    off + count * sizeof(struct rt_ring_conn) <= (uint64_t)st.st_size) {
                    p->conns = (struct rt_ring_conn *)((char *)map + off);
                    p->conn_count = (uint32_t)count;
                }
                rc = 0;
            } else {
                munmap(map, (size_t)st.st_size);
            }
        }
    }
    syscall(SYS_close, fd);
    errno = saved;
    return rc;
}

void rt_producer_detach(struct rt_producer *p)
{
    if (p->hdr) {
        int saved = errno;
        munmap(p->hdr, p->map_len);
        errno = saved;
    }
    memset(p, 0, sizeof *p);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void rt_producer_forget_pages(struct rt_producer *p)
{
    memset(p->populated, 0, sizeof p->populated);
}

static void populate(struct rt_producer *p, uint64_t slot_index)
{
    uint64_t chunk = slot_index / (RT_RING_CHUNK / RT_RING_SLOT_SIZE);
    uint64_t bit = 1ull << (chunk & 63);
    uint64_t *word = &p->populated[chunk >> 6];
    if (__atomic_load_n(word, __ATOMIC_RELAXED) & bit)
        return;
    __atomic_fetch_or(word, bit, __ATOMIC_RELAXED);
    size_t off = (size_t)(chunk * RT_RING_CHUNK);
    size_t ring_len = (size_t)(p->mask + 1) * RT_RING_SLOT_SIZE;
    size_t len = ring_len - off < RT_RING_CHUNK ? ring_len - off : RT_RING_CHUNK;
    int saved = errno;
    syscall(SYS_madvise, (char *)p->slots + off, len, MADV_POPULATE_WRITE);
    errno = saved;
}

int rt_producer_emit(struct rt_producer *p, const struct rt_rec *rec)
{
    struct rt_ring_header *h = p->hdr;
    if (!h)
        return -1;
    uint64_t pos = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
    struct rt_ring_slot *s = NULL;
    for (int tries = 0; tries < RESERVE_TRIES; tries++) {
        s = &p->slots[pos & p->mask];
        uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            if (__atomic_compare_exchange_n(&h->head, &pos, pos + 1, true, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
                goto reserved;
        } else if (diff < 0) {
            break; /* the consumer has not freed this slot yet: full */
        } else {
            pos = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
        }
    }
    __atomic_fetch_add(&h->dropped, 1, __ATOMIC_RELAXED);
    return -1;

reserved:
    populate(p, pos & p->mask);
    /* ts_ns .. internal are laid out alike in the record and the slot: one 72-byte copy. */
    memcpy(&s->ts_ns, &rec->ts_ns, FIXED_BYTES);
    s->pad = 0;
    size_t len[RT_RING_NSTR], total = 0, truncated = 0;
    for (int i = 0; i < RT_RING_NSTR; i++) {
        len[i] = rec->str[i] ? rec->str_len[i] : 0;
        total += len[i];
    }
    if (__builtin_expect(total <= RT_RING_STR_BYTES, 1)) {
        /* Everything fits (the usual case): back to back, nothing to share out. */
        size_t used = 0;
        for (int i = 0; i < RT_RING_NSTR; i++) {
            if (len[i])
                memcpy(s->str + used, rec->str[i], len[i]);
            s->str_len[i] = (uint16_t)len[i];
            used += len[i];
        }
    } else {
        /* Strings back to back; each may use what the later ones do not need (a later
         * string keeps at least min(its length, 192) bytes). */
        size_t used = 0;
        for (int i = 0; i < RT_RING_NSTR; i++) {
            size_t n = len[i], reserve = 0;
            for (int j = i + 1; j < RT_RING_NSTR; j++)
                reserve += len[j] < 192 ? len[j] : 192;
            size_t room = RT_RING_STR_BYTES - used;
            room = room > reserve ? room - reserve : 0;
            if (n > room) {
                n = room;
                truncated++;
            }
            if (n)
                memcpy(s->str + used, rec->str[i], n);
            s->str_len[i] = (uint16_t)n;
            used += n;
        }
    }
    if (truncated)
        __atomic_fetch_add(&h->truncated, truncated, __ATOMIC_RELAXED);
    /* The next record (of any thread) most likely lands in the next slot: start fetching
     * its first two lines for writing while this one is committed. */
    struct rt_ring_slot *next = &p->slots[(pos + 1) & p->mask];
    __builtin_prefetch(next, 1, 3);
    __builtin_prefetch((char *)next + 64, 1, 3);
    /* Commit: a plain release store (a locked compare-and-swap costs ~7 ns more). If the
     * consumer already gave up on this slot (this producer stalled > 100 ms; it counted the
     * record as dropped), this rewinds a sequence word freed for a later lap; the consumer
     * repairs that (RING.md, "Stalled producer"). */
    __atomic_store_n(&s->seq, pos + 1, __ATOMIC_RELEASE);
    return 0;
}
