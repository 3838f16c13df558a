/* File hooks of libruntrail-preload.so: open family, fopen family, opendir, unlink, rename,
 * chmod, chown, mkdir, truncate, symlink, link and dlopen. Each records one event with the
 * path as the program passed it, the flags/mode, and the result (fd, 0, or -errno); opens of
 * /proc/PID/environ and /proc/PID/mem are flagged. */
#include "recorder/preload/preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AT_REMOVEDIR
#define AT_REMOVEDIR 0x200
#endif

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = rt_pl_strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static uint32_t path_flags(const char *path)
{
    if (!path || path[0] != '/' || path[1] != 'p' || strncmp(path, "/proc/", 6) != 0)
        return 0;
    size_t n = rt_pl_strlen(path);
    if (ends_with(path, n, "/environ"))
        return RT_EF_ENVIRON_READ;
    if (ends_with(path, n, "/mem"))
        return RT_EF_MEM_READ;
    return 0;
}

static bool wants_mode(int flags)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* Whether an O_CREAT open is about to create the file (checked before the call). */
static bool will_create(int dirfd, const char *path, int flags)
{
    if (!(flags & O_CREAT) || !path)
        return false;
    if (flags & O_EXCL)
        return true;
    int saved = RT_ERRNO;
    bool missing = faccessat(dirfd, path, F_OK, AT_EACCESS) != 0 && errno == ENOENT;
    RT_ERRNO = saved;
    return missing;
}

static void rec_open(int64_t t0, int64_t res, int dirfd, const char *path, int flags, mode_t mode,
                     bool create)
{
    if (res >= 0)
        rt_pl_net_fd_reused((int)res);
    uint32_t ef = path_flags(path);
    if (create && res >= 0)
        ef |= RT_EF_CREATE;
    rt_pl_emit_simple(RT_OP_OPEN, t0, res, path, dirfd, flags,
                      wants_mode(flags) ? (int64_t)mode : 0, ef);
}

#define RES(r) ((r) < 0 ? -(int64_t)RT_ERRNO : (int64_t)(r))

/* The body shared by every open-like hook; CALL is the real call expression. */
#define OPEN_BODY(dirfd, path, flags, mode, CALL)                                                  \
    do {                                                                                           \
        if (!rt_pl_enter())                                                                        \
            return CALL;                                                                           \
        bool create_ = will_create(dirfd, path, flags);                                            \
        int64_t t0_ = rt_pl_stamp();                                                               \
        int r_ = CALL;                                                                             \
        int e_ = RT_ERRNO;                                                                         \
        rec_open(t0_, RES(r_), dirfd, path, flags, mode, create_);                                 \
        rt_pl_leave();                                                                             \
        RT_ERRNO = e_;                                                                             \
        return r_;                                                                                 \
    } while (0)

#define VA_MODE(flags, last)                                                                       \
    mode_t mode = 0;                                                                               \
    if (wants_mode(flags)) {                                                                       \
        va_list ap;                                                                                \
        va_start(ap, last);                                                                        \
        mode = (mode_t)va_arg(ap, unsigned);                                                       \
        va_end(ap);                                                                                \
    }

RT_EXPORT int open(const char *path, int flags, ...)
{
    VA_MODE(flags, flags);
    OPEN_BODY(AT_FDCWD, path, flags, mode, REAL(open)(path, flags, mode));
}

RT_EXPORT int open64(const char *path, int flags, ...)
{
    VA_MODE(flags, flags);
    OPEN_BODY(AT_FDCWD, path, flags, mode, REAL(open64)(path, flags, mode));
}

RT_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    VA_MODE(flags, flags);
    OPEN_BODY(dirfd, path, flags, mode, REAL(openat)(dirfd, path, flags, mode));
}

RT_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    VA_MODE(flags, flags);
    OPEN_BODY(dirfd, path, flags, mode, REAL(openat64)(dirfd, path, flags, mode));
}

RT_EXPORT int __open_2(const char *path, int flags)
{
    OPEN_BODY(AT_FDCWD, path, flags, 0, REAL(__open_2)(path, flags));
}

RT_EXPORT int __open64_2(const char *path, int flags)
{
    OPEN_BODY(AT_FDCWD, path, flags, 0, REAL(__open64_2)(path, flags));
}

RT_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    OPEN_BODY(dirfd, path, flags, 0, REAL(__openat_2)(dirfd, path, flags));
}

RT_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    OPEN_BODY(dirfd, path, flags, 0, REAL(__openat64_2)(dirfd, path, flags));
}

RT_EXPORT int creat(const char *path, mode_t mode)
{
    OPEN_BODY(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, REAL(creat)(path, mode));
}

RT_EXPORT int creat64(const char *path, mode_t mode)
{
    OPEN_BODY(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, REAL(creat64)(path, mode));
}

/* fopen family: FOPEN with the mode string; result is the new stream's fd or -errno. */
#define FOPEN_BODY(path, mode, CALL)                                                               \
    do {                                                                                           \
        if (!rt_pl_enter())                                                                        \
            return CALL;                                                                           \
        bool create_ = (mode) && (mode)[0] != 'r' && access(path, F_OK) != 0;                      \
        int64_t t0_ = rt_pl_stamp();                                                               \
        FILE *f_ = CALL;                                                                           \
        int e_ = RT_ERRNO;                                                                         \
        if (f_)                                                                                    \
            rt_pl_net_fd_reused(fileno(f_));                                                       \
        struct rt_rec rec;                                                                         \
        rt_pl_rec_init(&rec, RT_OP_FOPEN, t0_, f_ ? (int64_t)fileno(f_) : -(int64_t)e_);           \
        rt_pl_str(&rec, 0, path);                                                                  \
        rt_pl_str(&rec, 1, mode);                                                                  \
        rec.flags = path_flags(path) | (f_ && create_ ? RT_EF_CREATE : 0);                         \
        rt_pl_emit(&rec);                                                                          \
        rt_pl_leave();                                                                             \
        RT_ERRNO = e_;                                                                             \
        return f_;                                                                                 \
    } while (0)

RT_EXPORT FILE *fopen(const char *path, const char *mode)
{
    FOPEN_BODY(path, mode, REAL(fopen)(path, mode));
}

RT_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    FOPEN_BODY(path, mode, REAL(fopen64)(path, mode));
}

RT_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
    if (!path)
        return REAL(freopen)(path, mode, stream);
    FOPEN_BODY(path, mode, REAL(freopen)(path, mode, stream));
}

RT_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
    if (!path)
        return REAL(freopen64)(path, mode, stream);
    FOPEN_BODY(path, mode, REAL(freopen64)(path, mode, stream));
}

RT_EXPORT DIR *opendir(const char *path)
{
    if (!rt_pl_enter())
        return REAL(opendir)(path);
    int64_t t0 = rt_pl_stamp();
    DIR *d = REAL(opendir)(path);
    int e = RT_ERRNO;
    rec_open(t0, d ? (int64_t)dirfd(d) : -(int64_t)e, AT_FDCWD, path,
             O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_DIRECTORY, 0, false);
    rt_pl_leave();
    RT_ERRNO = e;
    return d;
}

/* Path operations: one event with up to two paths and up to three numbers (with one path, the
 * short record, written in place). */
static void rec_path(enum rt_op op, int64_t t0, int64_t res, const char *p0, const char *p1,
                     int64_t n0, int64_t n1, int64_t n2)
{
    if (!p1) {
        rt_pl_emit_simple(op, t0, res, p0, n0, n1, n2, 0);
        return;
    }
    struct rt_rec rec;
    rt_pl_rec_init(&rec, op, t0, res);
    rt_pl_str(&rec, 0, p0);
    rt_pl_str(&rec, 1, p1);
    rec.num[0] = n0;
    rec.num[1] = n1;
    rec.num[2] = n2;
    rt_pl_emit(&rec);
}

#define PATH_BODY(op, p0, p1, n0, n1, n2, CALL)                                                    \
    do {                                                                                           \
        if (!rt_pl_enter())                                                                        \
            return CALL;                                                                           \
        int64_t t0_ = rt_pl_stamp();                                                               \
        int r_ = CALL;                                                                             \
        int e_ = RT_ERRNO;                                                                         \
        rec_path(op, t0_, RES(r_), p0, p1, n0, n1, n2);                                            \
        rt_pl_leave();                                                                             \
        RT_ERRNO = e_;                                                                             \
        return r_;                                                                                 \
    } while (0)

#define ID(x) ((int64_t)(int32_t)(x)) /* uid -1 shows as -1 */

RT_EXPORT int unlink(const char *path)
{
    PATH_BODY(RT_OP_UNLINK, path, NULL, AT_FDCWD, 0, 0, REAL(unlink)(path));
}

RT_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
    PATH_BODY(RT_OP_UNLINK, path, NULL, dirfd, flags, 0, REAL(unlinkat)(dirfd, path, flags));
}

RT_EXPORT int rmdir(const char *path)
{
    PATH_BODY(RT_OP_UNLINK, path, NULL, AT_FDCWD, AT_REMOVEDIR, 0, REAL(rmdir)(path));
}

RT_EXPORT int rename(const char *old, const char *new)
{
    PATH_BODY(RT_OP_RENAME, old, new, 0, 0, 0, REAL(rename)(old, new));
}

RT_EXPORT int renameat(int olddir, const char *old, int newdir, const char *new)
{
    PATH_BODY(RT_OP_RENAME, old, new, 0, 0, 0, REAL(renameat)(olddir, old, newdir, new));
}

RT_EXPORT int renameat2(int olddir, const char *old, int newdir, const char *new, unsigned flags)
{
    PATH_BODY(RT_OP_RENAME, old, new, flags, 0, 0,
              REAL(renameat2)(olddir, old, newdir, new, flags));
}

RT_EXPORT int chmod(const char *path, mode_t mode)
{
    PATH_BODY(RT_OP_CHMOD, path, NULL, mode, 0, 0, REAL(chmod)(path, mode));
}

RT_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
    PATH_BODY(RT_OP_CHMOD, path, NULL, mode, 0, 0, REAL(fchmodat)(dirfd, path, mode, flags));
}

RT_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
    PATH_BODY(RT_OP_CHOWN, path, NULL, ID(uid), ID(gid), 0, REAL(chown)(path, uid, gid));
}

RT_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
    PATH_BODY(RT_OP_CHOWN, path, NULL, ID(uid), ID(gid), 0, REAL(lchown)(path, uid, gid));
}

RT_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
    PATH_BODY(RT_OP_CHOWN, path, NULL, ID(uid), ID(gid), 0,
              REAL(fchownat)(dirfd, path, uid, gid, flags));
}

RT_EXPORT int mkdir(const char *path, mode_t mode)
{
    PATH_BODY(RT_OP_MKDIR, path, NULL, mode, 0, 0, REAL(mkdir)(path, mode));
}

RT_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
    PATH_BODY(RT_OP_MKDIR, path, NULL, mode, 0, 0, REAL(mkdirat)(dirfd, path, mode));
}

RT_EXPORT int truncate(const char *path, off_t length)
{
    PATH_BODY(RT_OP_TRUNCATE, path, NULL, length, 0, 0, REAL(truncate)(path, length));
}

RT_EXPORT int truncate64(const char *path, off_t length)
{
    PATH_BODY(RT_OP_TRUNCATE, path, NULL, length, 0, 0, REAL(truncate64)(path, length));
}

RT_EXPORT int symlink(const char *target, const char *linkpath)
{
    PATH_BODY(RT_OP_SYMLINK, target, linkpath, 0, 0, 0, REAL(symlink)(target, linkpath));
}

RT_EXPORT int symlinkat(const char *target, int dirfd, const char *linkpath)
{
    PATH_BODY(RT_OP_SYMLINK, target, linkpath, 0, 0, 0, REAL(symlinkat)(target, dirfd, linkpath));
}

RT_EXPORT int link(const char *old, const char *new)
{
    PATH_BODY(RT_OP_LINK, old, new, 0, 0, 0, REAL(link)(old, new));
}

RT_EXPORT int linkat(int olddir, const char *old, int newdir, const char *new, int flags)
{
    PATH_BODY(RT_OP_LINK, old, new, 0, 0, 0, REAL(linkat)(olddir, old, newdir, new, flags));
}

/* dlopen resolves bare names against the caller's RUNPATH, found from the return address:
 * for those the record is written first and the real call is a tail call, so libc still sees
 * the original caller (result recorded as 0). Paths with a '/' are recorded with the result
 * (0 loaded, or -errno of the failure, ENOENT when libdl left none). */
RT_EXPORT void *dlopen(const char *path, int flags)
{
    if (!rt_pl_enter())
        return REAL(dlopen)(path, flags);
    int64_t t0 = rt_pl_stamp();
    if (path && !strchr(path, '/')) {
        int e = RT_ERRNO;
        rec_path(RT_OP_DLOPEN, t0, 0, path, NULL, flags, 0, 0);
        rt_pl_leave();
        RT_ERRNO = e;
        return REAL(dlopen)(path, flags);
    }
    int e0 = RT_ERRNO;
    RT_ERRNO = 0;
    void *h = REAL(dlopen)(path, flags);
    int e = RT_ERRNO;
    rec_path(RT_OP_DLOPEN, t0, h ? 0 : -(int64_t)(e ? e : ENOENT), path, NULL, flags, 0, 0);
    rt_pl_leave();
    RT_ERRNO = e ? e : e0;
    return h;
}
