/* Internal to libruntrail-preload.so: the state every hook shares (ring producer, cached pid,
 * the per-thread reentrancy guard), the central table of interposed functions (the RT_HOOKS
 * X-macro below) and small helpers. Nothing here allocates, locks or changes errno. Only the hooks
 * themselves are exported (RT_EXPORT); everything else is hidden. */
#ifndef RUNTRAIL_RECORDER_PRELOAD_PRELOAD_H
#define RUNTRAIL_RECORDER_PRELOAD_PRELOAD_H

#include "formats/event.h"
#include "recorder/preload/ring_produce.h"

#include <dirent.h>
#include <netdb.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#define RT_EXPORT __attribute__((visibility("default")))
#define RT_TLS __attribute__((tls_model("initial-exec"))) __thread

/* Binds dlsym to its oldest version, so the library also loads on glibc < 2.34, where dlsym
 * is in libdl (since 2.34 libc keeps that version as a compatibility symbol): glibc's first
 * version on each architecture. Used once per file that calls dlsym. */
#if defined(__aarch64__)
#define RT_DLSYM_OLDEST __asm__(".symver dlsym,dlsym@GLIBC_2.17")
#else
#define RT_DLSYM_OLDEST __asm__(".symver dlsym,dlsym@GLIBC_2.2.5")
#endif

/* Declarations glibc keeps out of the public headers. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *alen);
struct stat;
struct stat64;
int __xstat(int ver, const char *path, struct stat *buf);
int __xstat64(int ver, const char *path, struct stat64 *buf);
int __lxstat(int ver, const char *path, struct stat *buf);
int __lxstat64(int ver, const char *path, struct stat64 *buf);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags);
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

typedef int (*rt_main_fn)(int, char **, char **);

/* The central table: family, name, return type, parameter list. Each row gives a pointer
 * rt_real_NAME to the next definition (libc's), resolved at the hook's first call
 * (resolve.c). */
#define RT_HOOKS(_)                                                                                \
    _(file, open, int, (const char *, int, ...))                                                   \
    _(file, open64, int, (const char *, int, ...))                                                 \
    _(file, openat, int, (int, const char *, int, ...))                                            \
    _(file, openat64, int, (int, const char *, int, ...))                                          \
    _(file, __open_2, int, (const char *, int))                                                    \
    _(file, __open64_2, int, (const char *, int))                                                  \
    _(file, __openat_2, int, (int, const char *, int))                                             \
    _(file, __openat64_2, int, (int, const char *, int))                                           \
    _(file, creat, int, (const char *, mode_t))                                                    \
    _(file, creat64, int, (const char *, mode_t))                                                  \
    _(file, fopen, FILE *, (const char *, const char *))                                           \
    _(file, fopen64, FILE *, (const char *, const char *))                                         \
    _(file, freopen, FILE *, (const char *, const char *, FILE *))                                 \
    _(file, freopen64, FILE *, (const char *, const char *, FILE *))                               \
    _(file, opendir, DIR *, (const char *))                                                        \
    _(file, unlink, int, (const char *))                                                           \
    _(file, unlinkat, int, (int, const char *, int))                                               \
    _(file, rmdir, int, (const char *))                                                            \
    _(file, rename, int, (const char *, const char *))                                             \
    _(file, renameat, int, (int, const char *, int, const char *))                                 \
    _(file, renameat2, int, (int, const char *, int, const char *, unsigned))                      \
    _(file, chmod, int, (const char *, mode_t))                                                    \
    _(file, fchmodat, int, (int, const char *, mode_t, int))                                       \
    _(file, chown, int, (const char *, uid_t, gid_t))                                              \
    _(file, lchown, int, (const char *, uid_t, gid_t))                                             \
    _(file, fchownat, int, (int, const char *, uid_t, gid_t, int))                                 \
    _(file, mkdir, int, (const char *, mode_t))                                                    \
    _(file, mkdirat, int, (int, const char *, mode_t))                                             \
    _(file, truncate, int, (const char *, off_t))                                                  \
    _(file, truncate64, int, (const char *, off_t))                                                \
    _(file, symlink, int, (const char *, const char *))                                            \
    _(file, symlinkat, int, (const char *, int, const char *))                                     \
    _(file, link, int, (const char *, const char *))                                               \
    _(file, linkat, int, (int, const char *, int, const char *, int))                              \
    _(file, dlopen, void *, (const char *, int))                                                   \
    _(proc, execve, int, (const char *, char *const[], char *const[]))                             \
    _(proc, execv, int, (const char *, char *const[]))                                             \
    _(proc, execvp, int, (const char *, char *const[]))                                            \
    _(proc, execvpe, int, (const char *, char *const[], char *const[]))                            \
    _(proc, fexecve, int, (int, char *const[], char *const[]))                                     \
    _(proc, posix_spawn, int,                                                                      \
      (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,       \
       char *const[], char *const[]))                                                              \
    _(proc, posix_spawnp, int,                                                                     \
      (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,       \
       char *const[], char *const[]))                                                              \
    _(proc, fork, pid_t, (void))                                                                   \
    _(proc, system, int, (const char *))                                                           \
    _(proc, popen, FILE *, (const char *, const char *))                                           \
    _(proc, kill, int, (pid_t, int))                                                               \
    _(proc, prctl, int, (int, ...))                                                                \
    _(proc, ptrace, long, (enum __ptrace_request, ...))                                            \
    _(proc, setuid, int, (uid_t))                                                                  \
    _(proc, setgid, int, (gid_t))                                                                  \
    _(proc, seteuid, int, (uid_t))                                                                 \
    _(proc, setegid, int, (gid_t))                                                                 \
    _(proc, setreuid, int, (uid_t, uid_t))                                                         \
    _(proc, setregid, int, (gid_t, gid_t))                                                         \
    _(proc, setresuid, int, (uid_t, uid_t, uid_t))                                                 \
    _(proc, setresgid, int, (gid_t, gid_t, gid_t))                                                 \
    _(proc, memfd_create, int, (const char *, unsigned))                                           \
    _(proc, exit, void, (int))                                                                     \
    _(proc, _exit, void, (int))                                                                    \
    _(proc, _Exit, void, (int))                                                                    \
    _(proc, __libc_start_main, int,                                                                \
      (rt_main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *))          \
    _(net, socket, int, (int, int, int))                                                           \
    _(net, connect, int, (int, const struct sockaddr *, socklen_t))                                \
    _(net, bind, int, (int, const struct sockaddr *, socklen_t))                                   \
    _(net, listen, int, (int, int))                                                                \
    _(net, accept, int, (int, struct sockaddr *, socklen_t *))                                     \
    _(net, accept4, int, (int, struct sockaddr *, socklen_t *, int))                               \
    _(net, getaddrinfo, int,                                                                       \
      (const char *, const char *, const struct addrinfo *, struct addrinfo **))                   \
    _(net, sendto, ssize_t, (int, const void *, size_t, int, const struct sockaddr *, socklen_t))  \
    _(net, sendmsg, ssize_t, (int, const struct msghdr *, int))                                    \
    _(net, send, ssize_t, (int, const void *, size_t, int))                                        \
    _(net, write, ssize_t, (int, const void *, size_t))                                            \
    _(net, writev, ssize_t, (int, const struct iovec *, int))                                      \
    _(net, read, ssize_t, (int, void *, size_t))                                                   \
    _(net, __read_chk, ssize_t, (int, void *, size_t, size_t))                                     \
    _(net, readv, ssize_t, (int, const struct iovec *, int))                                       \
    _(net, recv, ssize_t, (int, void *, size_t, int))                                              \
    _(net, __recv_chk, ssize_t, (int, void *, size_t, size_t, int))                                \
    _(net, recvfrom, ssize_t, (int, void *, size_t, int, struct sockaddr *, socklen_t *))          \
    _(net, __recvfrom_chk, ssize_t,                                                                \
      (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *))                          \
    _(net, recvmsg, ssize_t, (int, struct msghdr *, int))                                          \
    _(net, close, int, (int))                                                                      \
    _(net, dup2, int, (int, int))                                                                  \
    _(net, dup3, int, (int, int, int))                                                             \
    _(probe, stat, int, (const char *, struct stat *))                                             \
    _(probe, stat64, int, (const char *, struct stat64 *))                                         \
    _(probe, lstat, int, (const char *, struct stat *))                                            \
    _(probe, lstat64, int, (const char *, struct stat64 *))                                        \
    _(probe, fstatat, int, (int, const char *, struct stat *, int))                                \
    _(probe, fstatat64, int, (int, const char *, struct stat64 *, int))                            \
    _(probe, statx, int, (int, const char *, int, unsigned, struct statx *))                       \
    _(probe, __xstat, int, (int, const char *, struct stat *))                                     \
    _(probe, __xstat64, int, (int, const char *, struct stat64 *))                                 \
    _(probe, __lxstat, int, (int, const char *, struct stat *))                                    \
    _(probe, __lxstat64, int, (int, const char *, struct stat64 *))                                \
    _(probe, __fxstatat, int, (int, int, const char *, struct stat *, int))                        \
    _(probe, __fxstatat64, int, (int, int, const char *, struct stat64 *, int))                    \
    _(probe, access, int, (const char *, int))                                                     \
    _(probe, faccessat, int, (int, const char *, int, int))                                        \
    _(probe, eaccess, int, (const char *, int))                                                    \
    _(probe, euidaccess, int, (const char *, int))                                                 \
    _(probe, readlink, ssize_t, (const char *, char *, size_t))                                    \
    _(probe, readlinkat, ssize_t, (int, const char *, char *, size_t))                             \
    _(probe, chdir, int, (const char *))                                                           \
    _(probe, fchdir, int, (int))                                                                   \
    _(probe, fdopendir, DIR *, (int))                                                              \
    _(sys, syscall, long, (long, ...))

#define _(fam, name, ret, params)                                                                  \
    typedef ret(*rt_fn_##name) params;                                                             \
    extern rt_fn_##name rt_real_##name;
RT_HOOKS(_)
#undef _

/* Resolves one entry of the table as dlsym(RTLD_NEXT) would, at the hook's first call: from
 * the saved tables (rt_pl_resolve_saved), else by the walk and dlsym (rt_pl_resolve_table);
 * aborts when no later object defines it. */
void *rt_pl_resolve(const char *name, void **slot);
/* Saves the symbol tables of the objects after this library up to libc (the constructor
 * calls it, once). */
void rt_pl_resolve_init(void);
/* Looks name up in the saved tables only, reading memory (async-signal-safe): true and *slot
 * set when one of them defines it. */
bool rt_pl_resolve_saved(const char *name, void **slot);
/* Fills every NULL slots[i] with what dlsym(RTLD_NEXT, names[i]) would return, in one pass
 * over the symbol tables of the objects loaded after this library (resolve.c), dlsym (where
 * libc has it) only for what that pass does not find. Returns how many stay NULL. */
size_t rt_pl_resolve_table(const char *const *names, void ***slots, size_t count);
/* The walk alone (no dlsym): returns how many slots stay NULL. */
size_t rt_pl_resolve_walk(const char *const *names, void ***slots, size_t count);
#define REAL(name)                                                                                 \
    (__builtin_expect(rt_real_##name != NULL, 1)                                                   \
         ? rt_real_##name                                                                          \
         : (rt_fn_##name)rt_pl_resolve(#name, (void **)&rt_real_##name))

/* What every process touches at start and exit sits together, first in .bss, where the page
 * the loader zeroes anyway holds its start (recorder/preload/start.ld); so do a few small
 * variables that only some processes touch (the probe counters, the vfork note), which on a
 * page of their own would cost those processes a fault or two. */
#define RT_PL_START __attribute__((section(".bss.rt_pl_start")))
/* A buffer of which a process touches the first bytes: the Nth after the N-1th. */
#define RT_PL_START_HEAD(n) __attribute__((section(".bss.rt_pl_start.head" #n)))

/* ---- shared state ----
 * What every recorded call reads sits in two cache lines per process and one per thread: the
 * system call between two hooks evicts much of L1, and each line touched again costs an L2
 * access (~5 ns). The names below are the fields. */
struct rt_pl_hot {
    int active;            /* attached to a ring and not disabled */
    int32_t pid;           /* this process (refreshed after fork) */
    uint64_t tsc_interval; /* ticks a thread's time anchor stays valid; 0 = no TSC stamps */
    uint64_t tsc_mult;     /* ns per TSC tick << 32 */
    /* Set once used: until then the exit path and the hooks skip what they guard, and a
     * process that never needs those pages never faults them in. */
    int net_used;     /* a connection was mapped (hook_net's fd tables) */
    int repeats_used; /* a repeated probe was counted (hook_probe's count) */
    /* hdr, slots, mask and the first chunks' bitmap in the next line */
    struct rt_producer ring __attribute__((aligned(64)));
};
extern struct rt_pl_hot rt_pl_hot;
#define rt_pl_ring rt_pl_hot.ring
#define rt_pl_active rt_pl_hot.active
#define rt_pl_pid rt_pl_hot.pid
#define rt_pl_tsc_interval rt_pl_hot.tsc_interval

struct rt_pl_thread {
    int depth; /* > 0 while this thread is inside a hook */
    int32_t tid_cache;
    uint64_t anchor_tsc; /* time anchor (see rt_pl_stamp); 0 = none */
    int64_t anchor_ns;
    int64_t last_ts; /* the latest start this thread recorded */
    int *errno_ptr;  /* this thread's errno (see RT_ERRNO); NULL until first needed */
} __attribute__((aligned(64)));
extern RT_TLS struct rt_pl_thread rt_pl_thread;
#define rt_pl_depth rt_pl_thread.depth
#define rt_pl_tid_cache rt_pl_thread.tid_cache
#define rt_pl_anchor_tsc rt_pl_thread.anchor_tsc

/* errno through a pointer cached per thread: errno itself is a call to __errno_location
 * through the PLT (~5 ns on every recorded call); a thread's errno never moves. */
int *__errno_location(void);
static inline int *rt_pl_errno_ptr(void)
{
    int *p = rt_pl_thread.errno_ptr;
    if (__builtin_expect(!p, 0))
        p = rt_pl_thread.errno_ptr = __errno_location();
    return p;
}
#define RT_ERRNO (*rt_pl_errno_ptr())

/* Enter a hook: true if this call should be recorded (then call rt_pl_leave()). */
static inline bool rt_pl_enter(void)
{
    if (__builtin_expect(!rt_pl_active || rt_pl_depth, 0))
        return false;
    rt_pl_depth++;
    return true;
}
static inline void rt_pl_leave(void)
{
    rt_pl_depth--;
}

/* ---- time ----
 * A hook takes a stamp before the real call; rt_pl_rec_init turns it into the record's
 * CLOCK_MONOTONIC start and duration. With a usable counter (the TSC on x86-64, CNTVCT_EL0
 * on arm64: ring_layout.h; the ring header says so, recorder/RING.md) a stamp is the raw
 * count (>= 0): one register read instead of a vDSO clock_gettime, converted with the rate
 * (x86-64: measured by this process against the ring's creation; arm64: CNTFRQ_EL0) and a
 * per-thread (counter, CLOCK_MONOTONIC) anchor re-read every millisecond, so the error never
 * grows past what the rate error adds in 1 ms. Otherwise (no usable counter, not calibrated
 * yet: on x86-64 the ring is younger than 10 ms, RUNTRAIL_TSC=0) a stamp is
 * -1 - CLOCK_MONOTONIC ns. */
int64_t rt_pl_stamp_slow(void);

static inline int64_t rt_pl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t rt_pl_stamp(void)
{
#if defined(RT_RING_HAVE_COUNTER)
    /* The interval first: where stamps come from the clock it is 0, and the rdtsc (~12 ns on
     * an EPYC guest) would be read for nothing. */
    uint64_t iv = __atomic_load_n(&rt_pl_tsc_interval, __ATOMIC_RELAXED);
    if (__builtin_expect(iv != 0, 1)) {
        uint64_t t = rt_ring_counter();
        if (__builtin_expect(t - __atomic_load_n(&rt_pl_anchor_tsc, __ATOMIC_RELAXED) < iv, 1))
            return (int64_t)t;
    }
#endif
    return rt_pl_stamp_slow();
}

/* A stamp as CLOCK_MONOTONIC ns (for times kept past the hook, like a connection's start). */
int64_t rt_pl_stamp_ns(int64_t stamp);
/* CLOCK_MONOTONIC now, in ns. */
static inline int64_t rt_pl_now(void)
{
    return rt_pl_stamp_ns(rt_pl_stamp());
}
/* Reads the ring header's clock pair and RUNTRAIL_TSC (constructor). */
void rt_pl_clock_init(const struct rt_ring_header *h, const char *tsc_env);

int32_t rt_pl_tid(void);
/* Fills pid/tid (unless already set) and appends the record to the ring. errno unchanged. */
void rt_pl_emit(struct rt_rec *rec);
/* A record for op started at stamp t0 (rt_pl_stamp) that returned result (negative errno
 * when failed), lasting until now. */
void rt_pl_rec_init(struct rt_rec *rec, enum rt_op op, int64_t t0, int64_t result);
/* The same with the start given in CLOCK_MONOTONIC ns. */
void rt_pl_rec_init_ns(struct rt_rec *rec, enum rt_op op, int64_t t0_ns, int64_t result);
/* The common shape of the net and process hooks in one call: a record started at stamp t0,
 * with string s0 (may be NULL), numbers n0..n2 and flags, emitted at once. errno unchanged. */
void rt_pl_emit_simple(enum rt_op op, int64_t t0, int64_t result, const char *s0, int64_t n0,
                       int64_t n1, int64_t n2, uint32_t flags);
/* The length (at most 4096) through libc's vectorised strnlen, which is pure and
 * async-signal-safe; a byte loop storing through rec cost ~8 instructions per byte. */
static inline void rt_pl_str(struct rt_rec *rec, int i, const char *s)
{
    rec->str[i] = s;
    rec->str_len[i] = s ? strnlen(s, 4096) : 0;
}
static inline void rt_pl_strn(struct rt_rec *rec, int i, const char *s, size_t len)
{
    rec->str[i] = s;
    rec->str_len[i] = len;
}
/* argv joined with NUL bytes into buf (cap bytes); returns the length (whole elements only,
 * a cut list ends with a partial element). */
size_t rt_pl_join_argv(char *const argv[], char *buf, size_t cap);
size_t rt_pl_strlen(const char *s);
/* Copies at most cap-1 bytes and NUL-terminates; returns the length. */
size_t rt_pl_strlcpy(char *dst, const char *src, size_t cap);

/* ---- per-family hooks that others call ---- */
void rt_pl_net_fork_child(void);
/* Marks every connection this process owns closed (process exit): the consumer writes their
 * last summaries. */
void rt_pl_net_flush(void);
/* fd was just returned by a call that creates descriptors (open, dup2...): if it still looked
 * like a tracked connection (closed behind our back by fclose, dup2, close_range), end that
 * connection (its last summary follows) and forget it. Inside a hook only. */
void rt_pl_net_fd_reused(int fd);
void rt_pl_net_init(void);
/* Plaintext of a TLS connection on fd (hook_ssl.c): written by the program (out) or read. The
 * first request of each period fills the connection's HTTP request line and Host, the first
 * answer its status line, as the plain HTTP sniffing does. Inside a hook only. */
void rt_pl_net_plaintext(int fd, const void *buf, size_t len, bool out);

/* Emits the count of repeated successful probes not recorded yet (hook_probe.c); inside a
 * hook or the exit path. */
void rt_pl_probe_flush(void);
/* Records PROC_EXIT once per process image. */
void rt_pl_proc_exit(int status);

#endif
