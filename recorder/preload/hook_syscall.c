/* libc's syscall(2) in libruntrail-preload.so: a program (or a runtime like libuv) that makes
 * a system call by number bypasses every other hook. The numbers of the calls runtrail records
 * are decoded here (the RT_SYSCALLS table) and handed to the same hooks a direct call reaches,
 * so they are recorded exactly as if called directly: same op, arguments and result. For each
 * of them libc's wrapper does what the raw call does (the setuid family, ptrace and prctl are
 * left out for that reason: glibc's setuid changes every thread, the kernel's one, and its
 * ptrace reads PEEK results differently). io_uring_setup is recorded and flags the process
 * partly_covered: what it then does through the ring is invisible to the interposer. Any
 * other number passes straight through. */
#include "recorder/preload/preload.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* The older calls newer architectures (arm64) lack: negative numbers no call has, so their
 * rows never match there (syscall() dispatches only numbers >= 0). */
#define LEGACY(name, n) -(n)
#ifndef SYS_open
#define SYS_open LEGACY(open, 1)
#endif
#ifndef SYS_creat
#define SYS_creat LEGACY(creat, 2)
#endif
#ifndef SYS_unlink
#define SYS_unlink LEGACY(unlink, 3)
#endif
#ifndef SYS_rmdir
#define SYS_rmdir LEGACY(rmdir, 4)
#endif
#ifndef SYS_rename
#define SYS_rename LEGACY(rename, 5)
#endif
#ifndef SYS_mkdir
#define SYS_mkdir LEGACY(mkdir, 6)
#endif
#ifndef SYS_chmod
#define SYS_chmod LEGACY(chmod, 7)
#endif
#ifndef SYS_chown
#define SYS_chown LEGACY(chown, 8)
#endif
#ifndef SYS_lchown
#define SYS_lchown LEGACY(lchown, 9)
#endif
#ifndef SYS_symlink
#define SYS_symlink LEGACY(symlink, 10)
#endif
#ifndef SYS_link
#define SYS_link LEGACY(link, 11)
#endif
#ifndef SYS_stat
#define SYS_stat LEGACY(stat, 12)
#endif
#ifndef SYS_lstat
#define SYS_lstat LEGACY(lstat, 13)
#endif
#ifndef SYS_access
#define SYS_access LEGACY(access, 14)
#endif
#ifndef SYS_readlink
#define SYS_readlink LEGACY(readlink, 15)
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 LEGACY(faccessat2, 16)
#endif

/* Raw argument words as the kernel takes them. */
#define A_INT(i) ((int)a[i])
#define A_UINT(i) ((unsigned)a[i])
#define A_PTR(type, i) ((type)(uintptr_t)a[i])
#define A_STR(i) A_PTR(const char *, i)
#define A_ARGV(i) A_PTR(char *const *, i)
#define A_ADDR(i) A_PTR(const struct sockaddr *, i)

/* The decoded calls: the syscall name (SYS_<name>) and the call it becomes. */
#define RT_SYSCALLS(_)                                                                             \
    _(open, open(A_STR(0), A_INT(1), (mode_t)a[2]))                                                \
    _(creat, creat(A_STR(0), (mode_t)a[1]))                                                        \
    _(openat, openat(A_INT(0), A_STR(1), A_INT(2), (mode_t)a[3]))                                  \
    _(unlink, unlink(A_STR(0)))                                                                    \
    _(unlinkat, unlinkat(A_INT(0), A_STR(1), A_INT(2)))                                            \
    _(rmdir, rmdir(A_STR(0)))                                                                      \
    _(rename, rename(A_STR(0), A_STR(1)))                                                          \
    _(renameat, renameat(A_INT(0), A_STR(1), A_INT(2), A_STR(3)))                                  \
    _(renameat2, renameat2(A_INT(0), A_STR(1), A_INT(2), A_STR(3), A_UINT(4)))                     \
    _(mkdir, mkdir(A_STR(0), (mode_t)a[1]))                                                        \
    _(mkdirat, mkdirat(A_INT(0), A_STR(1), (mode_t)a[2]))                                          \
    _(chmod, chmod(A_STR(0), (mode_t)a[1]))                                                        \
    _(fchmodat, fchmodat(A_INT(0), A_STR(1), (mode_t)a[2], 0))                                     \
    _(chown, chown(A_STR(0), (uid_t)a[1], (gid_t)a[2]))                                            \
    _(lchown, lchown(A_STR(0), (uid_t)a[1], (gid_t)a[2]))                                          \
    _(fchownat, fchownat(A_INT(0), A_STR(1), (uid_t)a[2], (gid_t)a[3], A_INT(4)))                  \
    _(truncate, truncate(A_STR(0), (off_t)a[1]))                                                   \
    _(symlink, symlink(A_STR(0), A_STR(1)))                                                        \
    _(symlinkat, symlinkat(A_STR(0), A_INT(1), A_STR(2)))                                          \
    _(link, link(A_STR(0), A_STR(1)))                                                              \
    _(linkat, linkat(A_INT(0), A_STR(1), A_INT(2), A_STR(3), A_INT(4)))                            \
    _(stat, stat(A_STR(0), A_PTR(struct stat *, 1)))                                               \
    _(lstat, lstat(A_STR(0), A_PTR(struct stat *, 1)))                                             \
    _(newfstatat, fstatat(A_INT(0), A_STR(1), A_PTR(struct stat *, 2), A_INT(3)))                  \
    _(statx, statx(A_INT(0), A_STR(1), A_INT(2), A_UINT(3), A_PTR(struct statx *, 4)))             \
    _(access, access(A_STR(0), A_INT(1)))                                                          \
    _(faccessat, faccessat(A_INT(0), A_STR(1), A_INT(2), 0))                                       \
    _(faccessat2, faccessat(A_INT(0), A_STR(1), A_INT(2), A_INT(3)))                               \
    _(readlink, readlink(A_STR(0), A_PTR(char *, 1), (size_t)a[2]))                                \
    _(readlinkat, readlinkat(A_INT(0), A_STR(1), A_PTR(char *, 2), (size_t)a[3]))                  \
    _(chdir, chdir(A_STR(0)))                                                                      \
    _(fchdir, fchdir(A_INT(0)))                                                                    \
    _(execve, execve(A_STR(0), A_ARGV(1), A_ARGV(2)))                                              \
    _(kill, kill((pid_t)a[0], A_INT(1)))                                                           \
    _(memfd_create, memfd_create(A_STR(0), A_UINT(1)))                                             \
    _(socket, socket(A_INT(0), A_INT(1), A_INT(2)))                                                \
    _(connect, connect(A_INT(0), A_ADDR(1), (socklen_t)a[2]))                                      \
    _(bind, bind(A_INT(0), A_ADDR(1), (socklen_t)a[2]))                                            \
    _(listen, listen(A_INT(0), A_INT(1)))                                                          \
    _(accept, accept(A_INT(0), A_PTR(struct sockaddr *, 1), A_PTR(socklen_t *, 2)))                \
    _(accept4, accept4(A_INT(0), A_PTR(struct sockaddr *, 1), A_PTR(socklen_t *, 2), A_INT(3)))    \
    _(sendto, sendto(A_INT(0), A_PTR(const void *, 1), (size_t)a[2], A_INT(3), A_ADDR(4),          \
                     (socklen_t)a[5]))                                                             \
    _(close, close(A_INT(0)))

/* execveat: the two forms a direct call has (a path from the working directory, or the
 * descriptor itself with AT_EMPTY_PATH: fexecve); other forms pass through unrecorded. */
static bool execveat_direct(const long a[6], long *ret)
{
    const char *path = A_STR(1);
    if (path && path[0] && (path[0] == '/' || A_INT(0) == AT_FDCWD) && a[4] == 0) {
        *ret = execve(path, A_ARGV(2), A_ARGV(3));
        return true;
    }
    if (path && !path[0] && a[4] == AT_EMPTY_PATH) {
        *ret = fexecve(A_INT(0), A_ARGV(2), A_ARGV(3));
        return true;
    }
    return false;
}

static long io_uring_setup_rec(long number, const long a[6])
{
    if (!rt_pl_enter())
        return REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    int64_t t0 = rt_pl_stamp();
    long r = REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    int e = RT_ERRNO;
    /* struct io_uring_params begins with sq_entries, cq_entries, flags (u32 each); read only
     * when the kernel accepted it (a failure may be EFAULT) */
    const uint32_t *params = A_PTR(const uint32_t *, 1);
    int64_t flags = r >= 0 && params ? (int64_t)params[2] : 0;
    rt_pl_emit_simple(RT_OP_IO_URING, t0, r < 0 ? -(int64_t)e : r, NULL, a[0], flags, 0,
                      r < 0 ? 0 : RT_EF_PARTLY_COVERED);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

/* The hook for number, with its result in *ret; false when runtrail does not record it. */
static bool dispatch(long number, const long a[6], long *ret)
{
    switch (number) {
#define _(name, call)                                                                              \
    case SYS_##name:                                                                               \
        *ret = (long)call;                                                                         \
        return true;
        RT_SYSCALLS(_)
#undef _
#ifdef SYS_execveat
    case SYS_execveat:
        return execveat_direct(a, ret);
#endif
#ifdef SYS_io_uring_setup
    case SYS_io_uring_setup:
        *ret = io_uring_setup_rec(number, a);
        return true;
#endif
    default:
        return false;
    }
}

RT_EXPORT long syscall(long number, ...)
{
    /* Six argument words, as libc's own syscall reads them whatever the call takes. */
    long a[6];
    va_list ap;
    va_start(ap, number);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    long ret;
    /* inside a hook (the recorder's own gettid), or not recording: straight through */
    if (__builtin_expect(rt_pl_active && !rt_pl_depth, 1) && number >= 0 &&
        dispatch(number, a, &ret))
        return ret;
    return REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
