/* Probe hooks of libruntrail-preload.so: the calls that look at a file without opening it
 * (the stat family, glibc's older __xstat family, access/faccessat/eaccess, readlink,
 * readlinkat), the directory calls chdir, fchdir and fdopendir. Each records one event with
 * the path as the program passed it and the result; a stat that succeeded also keeps the
 * file's mode, a readlink what the link points to.
 *
 * Volume: a Python or Node start stats hundreds of files, many of them again and again. A
 * failed probe is always recorded; a successful one is recorded the first time a process
 * makes it, and a repeat (same call, path, flags and result, same working directory) is only
 * counted: the count goes out as one probe_repeats event at the process's exit (and every
 * REPEATS_FLUSH repeats). The memory of what was seen is a fixed table of 64-bit hashes in
 * sets of 4, no allocation; a hash whose set is full takes the next one's room, and only a
 * hash pushed out of a nearly full table (8 full sets in a row) means a later repeat is
 * recorded again. */
#include "recorder/preload/preload.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEEN_SLOTS 4096 /* power of two: 32 KiB, only the touched pages are ever mapped */
#define SEEN_WAYS 4     /* slots of a set (a power of two, aligned) */
#define SEEN_PROBE 8    /* sets a new hash may try before it pushes another out */
_Static_assert(SEEN_WAYS == 4, "the replaced slot is chosen by the hash's top two bits");
/* A process's first SEEN_FIRST new probes go to the table's first page (512 slots), and only
 * later ones anywhere in it: spread over all eight pages from the start, a shell's handful of
 * probes faulted in several zero pages (3-4 us each on a VM), for a table it hardly used.
 * After the switch a lookup tries the hash's sets in the first page too, so what was seen
 * before is still found. */
#define SEEN_FIRST_SLOTS 512
#define SEEN_FIRST 32
#define REPEATS_FLUSH 1000 /* a long-lived process reports its repeats this often */
#define MIX 0x9e3779b97f4a7c15ull

static uint64_t seen[SEEN_SLOTS] __attribute__((aligned(4096)));
/* cwd_gen is bumped by every chdir/fchdir (relative paths change meaning); seen_new counts the
 * hashes this process (and its parent before the fork) entered. These three are on the pages
 * every process touches (start.ld): on a page of their own, a process's first probe faulted
 * it in twice, a read of the zero page and then the copy to write. */
RT_PL_START static uint64_t cwd_gen;
RT_PL_START static uint32_t seen_new;
RT_PL_START static struct {
    int32_t pid; /* the process the count belongs to (a fork child starts at 0) */
    uint64_t count;
} repeats;

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * MIX;
    return h ^ (h >> 32);
}

static uint64_t mix_bytes(uint64_t h, const char *s, size_t n)
{
    uint64_t w;
    h = mix(h, n);
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = mix(h, w);
    }
    if (n) {
        w = 0;
        memcpy(&w, s, n);
        h = mix(h, w);
    }
    return h;
}

/* Emits this process's pending repeat count (inside a hook or the exit path). */
void rt_pl_probe_flush(void)
{
    uint64_t n = 0;
    if (!__atomic_load_n(&rt_pl_hot.repeats_used, __ATOMIC_ACQUIRE))
        return;
    if (__atomic_load_n(&repeats.pid, __ATOMIC_RELAXED) == rt_pl_pid)
        n = __atomic_exchange_n(&repeats.count, 0, __ATOMIC_RELAXED);
    if (!n)
        return;
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_PROBE_REPEATS, rt_pl_stamp(), 0);
    rec.num[0] = (int64_t)n;
    rt_pl_emit(&rec);
}

/* Looks for hash h in the sets of seen[0..slots) from set `at` on (taken modulo their count),
 * as described in repeated(); true if found. Else, where empty is not NULL, sets *empty to the
 * slot h should take. */
static bool seen_walk(size_t at, size_t slots, uint64_t h, uint64_t **empty)
{
    size_t sets = slots / SEEN_WAYS;
    uint64_t *set = NULL;
    for (size_t k = 0; k < SEEN_PROBE; k++) {
        set = &seen[(at + k) % sets * SEEN_WAYS];
        for (int w = 0; w < SEEN_WAYS; w++) {
            uint64_t v = __atomic_load_n(&set[w], __ATOMIC_RELAXED);
            if (v == h)
                return true;
            if (!v) {
                if (empty)
                    *empty = &set[w];
                return false;
            }
        }
    }
    if (empty) /* SEEN_PROBE full sets: one of the last one's hashes gives way */
        *empty = &set[h >> 62];
    return false;
}

/* Whether this successful probe was already recorded by this process (then it is counted).
 * fd-relative paths are never folded: the same name under a reused descriptor number may be
 * another file (find walks directories that way). */
static bool repeated(enum rt_op op, int dirfd, const char *path, size_t len, int64_t res,
                     const int64_t num[3], const char *s1, size_t s1_len)
{
    if (!len)
        return false;
    uint64_t h = mix((uint64_t)op, (uint64_t)(uint32_t)rt_pl_pid);
    if (path[0] != '/') {
        if (dirfd != AT_FDCWD)
            return false;
        h = mix(h, __atomic_load_n(&cwd_gen, __ATOMIC_RELAXED));
    }
    h = mix(h, (uint64_t)res);
    h = mix(h, (uint64_t)num[1] ^ ((uint64_t)num[2] << 24));
    h = mix_bytes(h, path, len);
    if (s1_len)
        h = mix_bytes(h, s1, s1_len);
    h |= 1; /* 0 is an empty slot */
    /* Sets of SEEN_WAYS slots (one 32-byte piece of a cache line each): a new hash takes an
     * empty slot of its set, or of the next set when its own is full, and so on (open
     * addressing by sets, at most SEEN_PROBE of them); a lookup walks the same sets until it
     * finds the hash or a set with an empty slot, where the hash would have gone. Slots are
     * never emptied, so a set full once stays full and the walk stays right. Only where
     * SEEN_PROBE sets in a row are full is a slot taken from another hash (chosen by the
     * hash's top bits). Sets alone, without the walk, let a fifth hash in one set push one
     * out: e2e/record's 150 paths lost one in about 300 runs. */
    size_t at = (size_t)(h >> 8) / SEEN_WAYS;
    uint32_t entered = __atomic_load_n(&seen_new, __ATOMIC_RELAXED);
    if (!entered) {
        /* Nothing entered yet, so nothing to find: the first touch of the table's first page
         * is this store, one fault, where a look first would map the zero page and fault
         * again to write. */
        __atomic_store_n(&seen[at % (SEEN_FIRST_SLOTS / SEEN_WAYS) * SEEN_WAYS], h,
                         __ATOMIC_RELAXED);
        __atomic_fetch_add(&seen_new, 1, __ATOMIC_RELAXED);
        return false;
    }
    /* The process's first SEEN_FIRST hashes went to the first page's sets (walks wrap there);
     * once it has entered that many, new ones go anywhere, and a lookup that does not find
     * the hash there looks in the first page too. */
    bool spread = entered >= SEEN_FIRST;
    uint64_t *empty = NULL;
    bool found = seen_walk(at, spread ? SEEN_SLOTS : SEEN_FIRST_SLOTS, h, &empty);
    if (!found && spread)
        found = seen_walk(at, SEEN_FIRST_SLOTS, h, NULL);
    if (!found) {
        __atomic_store_n(empty, h, __ATOMIC_RELAXED);
        __atomic_fetch_add(&seen_new, 1, __ATOMIC_RELAXED);
        return false;
    }
    if (__atomic_load_n(&repeats.pid, __ATOMIC_RELAXED) != rt_pl_pid) {
        repeats.count = 0; /* first repeat in a fork child: the parent's count is not ours */
        __atomic_store_n(&repeats.pid, rt_pl_pid, __ATOMIC_RELAXED);
        __atomic_store_n(&rt_pl_hot.repeats_used, 1, __ATOMIC_RELEASE);
    }
    if (__atomic_add_fetch(&repeats.count, 1, __ATOMIC_RELAXED) >= REPEATS_FLUSH)
        rt_pl_probe_flush();
    return true;
}

/* One probe event: s0 path, s1 (readlink's target, may be NULL), n0 dirfd, n1, n2. */
static void rec_probe(enum rt_op op, int64_t t0, int64_t res, int dirfd, const char *path,
                      int64_t n1, int64_t n2, const char *s1, size_t s1_len)
{
    if (res >= 0) { /* only a successful probe can repeat one (a PATH search's misses do not) */
        const int64_t num[3] = {dirfd, n1, n2};
        if (repeated(op, dirfd, path, path ? strnlen(path, 4096) : 0, res, num, s1, s1_len))
            return;
    }
    if (!s1_len) { /* a stat or an access: the short record, written in place */
        rt_pl_emit_simple(op, t0, res, path, dirfd, n1, n2, 0);
        return;
    }
    struct rt_rec rec;
    rt_pl_rec_init(&rec, op, t0, res);
    rt_pl_str(&rec, 0, path);
    rt_pl_strn(&rec, 1, s1, s1_len);
    rec.num[0] = dirfd;
    rec.num[1] = n1;
    rec.num[2] = n2;
    rt_pl_emit(&rec);
}

#define RES(r) ((r) < 0 ? -(int64_t)RT_ERRNO : (int64_t)(r))

/* libc declares these paths nonnull, yet a buggy program may pass NULL (the call then fails
 * with EFAULT): hide the attribute from the optimiser so the NULL checks stay. */
static inline const char *any_path(const char *p)
{
    __asm__("" : "+r"(p));
    return p;
}

/* The body of every stat-like hook: MODE is the st_mode expression read after success. */
#define STAT_BODY(dirfd, path, flags, MODE, CALL)                                                  \
    do {                                                                                           \
        if (!rt_pl_enter())                                                                        \
            return CALL;                                                                           \
        int64_t t0_ = rt_pl_stamp();                                                               \
        int r_ = CALL;                                                                             \
        int e_ = RT_ERRNO;                                                                         \
        rec_probe(RT_OP_STAT, t0_, RES(r_), dirfd, any_path(path), (flags),                        \
                  r_ == 0 ? (int64_t)(MODE) : 0, NULL, 0);                                         \
        rt_pl_leave();                                                                             \
        RT_ERRNO = e_;                                                                             \
        return r_;                                                                                 \
    } while (0)

/* fstatat(fd, "", ..., AT_EMPTY_PATH) is fstat: no path, not a probe. */
#define FD_ONLY(path, flags) ((flags)&AT_EMPTY_PATH && any_path(path) && !(path)[0])

RT_EXPORT int stat(const char *path, struct stat *buf)
{
    STAT_BODY(AT_FDCWD, path, 0, buf->st_mode, REAL(stat)(path, buf));
}

RT_EXPORT int stat64(const char *path, struct stat64 *buf)
{
    STAT_BODY(AT_FDCWD, path, 0, buf->st_mode, REAL(stat64)(path, buf));
}

RT_EXPORT int lstat(const char *path, struct stat *buf)
{
    STAT_BODY(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, buf->st_mode, REAL(lstat)(path, buf));
}

RT_EXPORT int lstat64(const char *path, struct stat64 *buf)
{
    STAT_BODY(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, buf->st_mode, REAL(lstat64)(path, buf));
}

RT_EXPORT int fstatat(int dirfd, const char *path, struct stat *buf, int flags)
{
    if (FD_ONLY(path, flags))
        return REAL(fstatat)(dirfd, path, buf, flags);
    STAT_BODY(dirfd, path, flags, buf->st_mode, REAL(fstatat)(dirfd, path, buf, flags));
}

RT_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags)
{
    if (FD_ONLY(path, flags))
        return REAL(fstatat64)(dirfd, path, buf, flags);
    STAT_BODY(dirfd, path, flags, buf->st_mode, REAL(fstatat64)(dirfd, path, buf, flags));
}

RT_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *buf)
{
    if (FD_ONLY(path, flags))
        return REAL(statx)(dirfd, path, flags, mask, buf);
    STAT_BODY(dirfd, path, flags, buf->stx_mode, REAL(statx)(dirfd, path, flags, mask, buf));
}

/* glibc before 2.33 compiled stat() into calls of these (ver is _STAT_VER); programs built
 * then still call them. */
RT_EXPORT int __xstat(int ver, const char *path, struct stat *buf)
{
    STAT_BODY(AT_FDCWD, path, 0, buf->st_mode, REAL(__xstat)(ver, path, buf));
}

RT_EXPORT int __xstat64(int ver, const char *path, struct stat64 *buf)
{
    STAT_BODY(AT_FDCWD, path, 0, buf->st_mode, REAL(__xstat64)(ver, path, buf));
}

RT_EXPORT int __lxstat(int ver, const char *path, struct stat *buf)
{
    STAT_BODY(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, buf->st_mode, REAL(__lxstat)(ver, path, buf));
}

RT_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *buf)
{
    STAT_BODY(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, buf->st_mode, REAL(__lxstat64)(ver, path, buf));
}

RT_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags)
{
    if (FD_ONLY(path, flags))
        return REAL(__fxstatat)(ver, dirfd, path, buf, flags);
    STAT_BODY(dirfd, path, flags, buf->st_mode, REAL(__fxstatat)(ver, dirfd, path, buf, flags));
}

RT_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags)
{
    if (FD_ONLY(path, flags))
        return REAL(__fxstatat64)(ver, dirfd, path, buf, flags);
    STAT_BODY(dirfd, path, flags, buf->st_mode, REAL(__fxstatat64)(ver, dirfd, path, buf, flags));
}

#define ACCESS_BODY(dirfd, path, mode, flags, CALL)                                                \
    do {                                                                                           \
        if (!rt_pl_enter())                                                                        \
            return CALL;                                                                           \
        int64_t t0_ = rt_pl_stamp();                                                               \
        int r_ = CALL;                                                                             \
        int e_ = RT_ERRNO;                                                                         \
        rec_probe(RT_OP_ACCESS, t0_, RES(r_), dirfd, any_path(path), mode, flags, NULL, 0);        \
        rt_pl_leave();                                                                             \
        RT_ERRNO = e_;                                                                             \
        return r_;                                                                                 \
    } while (0)

RT_EXPORT int access(const char *path, int mode)
{
    ACCESS_BODY(AT_FDCWD, path, mode, 0, REAL(access)(path, mode));
}

RT_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
    ACCESS_BODY(dirfd, path, mode, flags, REAL(faccessat)(dirfd, path, mode, flags));
}

RT_EXPORT int eaccess(const char *path, int mode)
{
    ACCESS_BODY(AT_FDCWD, path, mode, AT_EACCESS, REAL(eaccess)(path, mode));
}

RT_EXPORT int euidaccess(const char *path, int mode)
{
    ACCESS_BODY(AT_FDCWD, path, mode, AT_EACCESS, REAL(euidaccess)(path, mode));
}

#define READLINK_BODY(dirfd, path, buf, CALL)                                                      \
    do {                                                                                           \
        if (!rt_pl_enter())                                                                        \
            return CALL;                                                                           \
        int64_t t0_ = rt_pl_stamp();                                                               \
        ssize_t r_ = CALL;                                                                         \
        int e_ = RT_ERRNO;                                                                         \
        rec_probe(RT_OP_READLINK, t0_, RES(r_), dirfd, any_path(path), 0, 0,                       \
                  r_ > 0 ? (buf) : NULL, r_ > 0 ? (size_t)r_ : 0);                                 \
        rt_pl_leave();                                                                             \
        RT_ERRNO = e_;                                                                             \
        return r_;                                                                                 \
    } while (0)

RT_EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
    READLINK_BODY(AT_FDCWD, path, buf, REAL(readlink)(path, buf, size));
}

RT_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
    READLINK_BODY(dirfd, path, buf, REAL(readlinkat)(dirfd, path, buf, size));
}

/* chdir, fchdir, fdopendir: never folded (they are rare, and chdir moves relative paths). A
 * descriptor's directory is read from /proc/self/fd (one readlink, after the call). */
static void rec_dir(enum rt_op op, int64_t t0, int64_t res, const char *path, int fd)
{
    if (res >= 0 && op == RT_OP_CHDIR)
        __atomic_add_fetch(&cwd_gen, 1, __ATOMIC_RELAXED);
    struct rt_rec rec;
    rt_pl_rec_init(&rec, op, t0, res);
    char target[1024];
    if (!path && fd >= 0) {
        char self[32] = "/proc/self/fd/", digits[12];
        size_t k = 14, nd = 0;
        for (unsigned v = (unsigned)fd; nd == 0 || v; v /= 10)
            digits[nd++] = (char)('0' + v % 10);
        while (nd)
            self[k++] = digits[--nd];
        self[k] = 0;
        ssize_t n = REAL(readlink)(self, target, sizeof target);
        rt_pl_strn(&rec, 0, target, n > 0 ? (size_t)n : 0);
    } else {
        rt_pl_str(&rec, 0, path);
    }
    rec.num[0] = fd;
    rt_pl_emit(&rec);
}

RT_EXPORT int chdir(const char *path)
{
    if (!rt_pl_enter())
        return REAL(chdir)(path);
    int64_t t0 = rt_pl_stamp();
    int r = REAL(chdir)(path);
    int e = RT_ERRNO;
    rec_dir(RT_OP_CHDIR, t0, RES(r), any_path(path), -1);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int fchdir(int fd)
{
    if (!rt_pl_enter())
        return REAL(fchdir)(fd);
    int64_t t0 = rt_pl_stamp();
    int r = REAL(fchdir)(fd);
    int e = RT_ERRNO;
    rec_dir(RT_OP_CHDIR, t0, RES(r), NULL, fd);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT DIR *fdopendir(int fd)
{
    if (!rt_pl_enter())
        return REAL(fdopendir)(fd);
    int64_t t0 = rt_pl_stamp();
    DIR *d = REAL(fdopendir)(fd);
    int e = RT_ERRNO;
    rec_dir(RT_OP_FDOPENDIR, t0, d ? 0 : -(int64_t)e, NULL, fd);
    rt_pl_leave();
    RT_ERRNO = e;
    return d;
}
