/* File-system helpers for store/: paths, mkdir -p, atomic writes (temporary file, fsync,
 * rename, fsync of the folder) so that a crash never leaves a half-written bundle under its
 * final name, and bounded whole-file reads. */
#include "store/util.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *rt_path_join(const char *a, const char *b)
{
    size_t al = a ? strlen(a) : 0;
    while (b && *b == '/' && al)
        b++;
    size_t bl = b ? strlen(b) : 0;
    bool slash = al && bl && a[al - 1] != '/';
    char *out = malloc(al + bl + 2);
    if (!out)
        return NULL;
    memcpy(out, a ? a : "", al);
    if (slash)
        out[al++] = '/';
    memcpy(out + al, b ? b : "", bl);
    out[al + bl] = '\0';
    return out;
}

int rt_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            buf[i] = saved;
            return -1;
        }
        buf[i] = saved;
    }
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

void rt_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int write_file(const char *path, const void *data, size_t len, bool sync, int *keep,
                      struct rt_errinfo *ei)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = path;
    if (slash) {
        base = path + (slash - dir) + 1;
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    static unsigned counter;
    int n = snprintf(tmp, sizeof tmp, "%s%s.%s.tmp.%ld.%u", slash ? dir : "",
                     slash && strcmp(dir, "/") ? "/" : "", base, (long)getpid(), counter++);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: path too long", path);
    /* The folder usually exists (a store writes many files into one): create it only when
     * the file cannot be, which saves a mkdir per path component and a stat per file. */
    int flags = (keep ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_CLOEXEC;
    int fd = open(tmp, flags, 0644);
    if (fd < 0 && errno == ENOENT && slash) {
        if (rt_mkdir_p(dir) != 0)
            return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: %s", dir, strerror(errno));
        fd = open(tmp, flags, 0644);
    }
    if (fd < 0)
        return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if ((sync && fsync(fd) != 0) || (!keep && close(fd) != 0)) {
        int e = errno;
        if (keep)
            close(fd);
        unlink(tmp);
        return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        if (keep)
            close(fd);
        unlink(tmp);
        return rt_fail(ei, RT_ERR_STORE_IO, -1, "%s: %s", path, strerror(e));
    }
    if (sync)
        rt_fsync_parent(path);
    if (keep)
        *keep = fd;
    return RT_OK;
}

int rt_write_file(const char *path, const void *data, size_t len, bool sync, struct rt_errinfo *ei)
{
    return write_file(path, data, len, sync, NULL, ei);
}

int rt_write_file_keep(const char *path, const void *data, size_t len, bool sync, int *fd_out,
                       struct rt_errinfo *ei)
{
    *fd_out = -1;
    return write_file(path, data, len, sync, fd_out, ei);
}

int rt_open_parent_beneath(int dirfd, const char *rel, bool create, const char **base)
{
    if (dirfd < 0 || !rel || !*rel || rel[0] == '/') {
        errno = EINVAL;
        return -1;
    }
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= NAME_MAX || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.')) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        if (!slash) {
            *base = p;
            return fd;
        }
        char name[NAME_MAX + 1];
        memcpy(name, p, n);
        name[n] = '\0';
        if (create && mkdirat(fd, name, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        /* O_NOFOLLOW: a symbolic link planted where a folder should be is not entered */
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        if (next < 0) {
            errno = e;
            return -1;
        }
        fd = next;
        p = slash + 1;
    }
}

int rt_unlink_beneath(int dirfd, const char *rel)
{
    const char *base = NULL;
    int fd = rt_open_parent_beneath(dirfd, rel, false, &base);
    if (fd < 0)
        return -1;
    int rc = unlinkat(fd, base, 0);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}
