/* The ring producer: works out how many 64-byte cells the record takes (strings cut to fit a
 * slot, counted), checks there is room against the consumer's tail (its last seen value first;
 * the shared one only when that says full), reserves the cells by advancing the shared head
 * with compare-and-swap, copies the record, and commits by storing its keyed position in the
 * record's first word. A full ring counts the record as dropped instead of waiting. See
 * recorder/RING.md. */
#include "recorder/preload/ring_produce.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
    /* A ring in memory is named by its consumer's /proc/PID/fd/N, a link that must be
     * followed; a ring file never through a symbolic link. */
    bool in_proc = strncmp(path, "/proc/", 6) == 0;
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC | (in_proc ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (syscall(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size >= RT_RING_HDR_SIZE + RT_RING_MIN_CELLS * RT_RING_CELL_SIZE) {
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
        if (map != MAP_FAILED) {
            struct rt_ring_header *h = map;
            uint64_t n = h->cell_count;
            if (h->magic == RT_RING_MAGIC && h->version == RT_RING_VERSION &&
                h->cell_size == RT_RING_CELL_SIZE && h->hdr_size == RT_RING_HDR_SIZE &&
                n >= RT_RING_MIN_CELLS && n <= RT_RING_MAX_CELLS && (n & (n - 1)) == 0 &&
                RT_RING_HDR_SIZE + n * RT_RING_CELL_SIZE <= (uint64_t)st.st_size) {
                p->hdr = h;
                p->cells = (struct rt_ring_cell *)((char *)map + RT_RING_HDR_SIZE);
                p->mask = n - 1;
                p->key = h->key;
                p->tail_seen = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
                p->map_len = (size_t)st.st_size;
                /* The connection table, if it lies after the cells and inside the file. */
                uint64_t off = h->conn_off, count = h->conn_count;
                if (h->conn_size == sizeof(struct rt_ring_conn) && count > 0 &&
                    count <= RT_RING_CONNS && off >= RT_RING_HDR_SIZE + n * RT_RING_CELL_SIZE &&
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

/* Pre-faults one chunk (first use by this process): out of line, the hot path only tests. */
void rt_producer_populate_chunk(struct rt_producer *p, uint64_t chunk)
{
    __atomic_fetch_or(&p->populated[chunk >> 6], 1ull << (chunk & 63), __ATOMIC_RELAXED);
    size_t off = (size_t)(chunk * RT_RING_CHUNK);
    size_t ring_len = (size_t)(p->mask + 1) * RT_RING_CELL_SIZE;
    size_t len = ring_len - off < RT_RING_CHUNK ? ring_len - off : RT_RING_CHUNK;
    int saved = errno;
    syscall(SYS_madvise, (char *)p->cells + off, len, MADV_POPULATE_WRITE);
    errno = saved;
}

void rt_producer_forget_pages(struct rt_producer *p)
{
    memset(p->populated, 0, sizeof p->populated);
    p->records = 0;
}

/* Fills the record at s: the fixed part, then the strings (len[] already cut to fit). */
static inline __attribute__((always_inline)) void fill(struct rt_ring_slot *s,
                                                       const struct rt_rec *rec, const size_t *len)
{
    /* ts_ns .. internal are laid out alike in the record and the slot: one 72-byte copy. */
    memcpy(&s->ts_ns, &rec->ts_ns, FIXED_BYTES);
    s->pad = 0;
    size_t used = 0;
    for (int i = 0; i < RT_RING_NSTR; i++) {
        if (len[i])
            memcpy(s->str + used, rec->str[i], len[i]);
        s->str_len[i] = (uint16_t)len[i];
        used += len[i];
    }
}

void rt_producer_proc_change(struct rt_producer *p)
{
    struct rt_ring_header *h = p->hdr;
    if (!h)
        return;
    __atomic_fetch_add(&h->proc_gen, 1, __ATOMIC_RELEASE);
    int saved = errno;
    syscall(SYS_futex, &h->proc_gen, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    errno = saved;
}

/* The record wraps around the end of the cells (once a lap): built aside, then copied in two
 * pieces; the commit word is in the first cell, never split. Out of line: the hot paths only
 * test for it. */
void rt_producer_emit_wrapped(struct rt_producer *p, struct rt_ring_slot *s, uint64_t pos,
                              uint64_t k, const struct rt_rec *rec, const size_t *len)
{
    struct rt_ring_slot tmp;
    fill(&tmp, rec, len);
    uint64_t n = p->mask + 1, at = pos & p->mask;
    size_t bytes = (size_t)k * RT_RING_CELL_SIZE, first = (size_t)(n - at) * RT_RING_CELL_SIZE;
    memcpy((char *)s + 8, (const char *)&tmp + 8, first - 8);
    memcpy(p->cells, (const char *)&tmp + first, bytes - first);
    rt_producer_publish(p, s, pos, k);
}

int rt_producer_emit(struct rt_producer *p, const struct rt_rec *rec)
{
    struct rt_ring_header *h = p->hdr;
    if (!h)
        return -1;
    size_t len[RT_RING_NSTR], total = 0;
    for (int i = 0; i < RT_RING_NSTR; i++) {
        len[i] = rec->str[i] ? rec->str_len[i] : 0;
        total += len[i];
    }
    if (__builtin_expect(total > RT_RING_STR_BYTES, 0)) {
        /* Each string may use what the later ones do not need (a later string keeps at least
         * min(its length, 192) bytes). */
        size_t used = 0, truncated = 0;
        for (int i = 0; i < RT_RING_NSTR; i++) {
            size_t reserve = 0;
            for (int j = i + 1; j < RT_RING_NSTR; j++)
                reserve += len[j] < 192 ? len[j] : 192;
            size_t room = RT_RING_STR_BYTES - used;
            room = room > reserve ? room - reserve : 0;
            if (len[i] > room) {
                len[i] = room;
                truncated++;
            }
            used += len[i];
        }
        total = used;
        __atomic_fetch_add(&h->truncated, truncated, __ATOMIC_RELAXED);
    }
    uint64_t k = rt_ring_rec_cells(total), pos;
    bool wraps;
    struct rt_ring_slot *s = rt_producer_reserve(p, h, k, &pos, &wraps);
    if (!s)
        return -1;
    if (__builtin_expect(wraps, 0)) {
        rt_producer_emit_wrapped(p, s, pos, k, rec, len);
        return 0;
    }
    fill(s, rec, len);
    rt_producer_publish(p, s, pos, k);
    return 0;
}
