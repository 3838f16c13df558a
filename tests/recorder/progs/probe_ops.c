/* Recorder behaviour test: the probe family and raw syscall(2). In directory argv[1]: stats a
 * file four times (one event, then a probe_repeats count of 3 at exit), a missing one twice
 * (failures are never folded), lstat/fstatat/statx/__xstat, the access family, readlink,
 * readlinkat, fdopendir, chdir/fchdir (a relative stat after each chdir is recorded again),
 * then the same calls by number through syscall(2), a failed raw execve and io_uring_setup. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
/* what a program built against glibc < 2.33 calls for stat() */
int __xstat(int ver, const char *path, struct stat *buf);
__asm__(".symver __xstat,__xstat@GLIBC_2.2.5");
#endif

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) != 0)
        return 2;
    struct stat st;
    struct statx stx;
    char buf[256];
    int fd = open("a", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    close(fd);
    symlink("a", "link");
    for (int i = 0; i < 4; i++)
        stat("a", &st);
    stat("missing", &st);
    stat("missing", &st);
    lstat("link", &st);
    int dirfd = open(".", O_RDONLY | O_DIRECTORY);
    fstatat(dirfd, "a", &st, AT_SYMLINK_NOFOLLOW);
    fstatat(dirfd, "a", &st, AT_SYMLINK_NOFOLLOW); /* fd-relative: never folded */
    fstatat(dirfd, "", &st, AT_EMPTY_PATH);        /* that is fstat: not a probe */
    statx(AT_FDCWD, "a", 0, STATX_BASIC_STATS, &stx);
#if defined(__x86_64__)
    __xstat(1, "link", &st);
#else
    stat("link", &st);
#endif
    access("a", R_OK);
    access("missing", F_OK);
    faccessat(AT_FDCWD, "a", W_OK, AT_EACCESS);
    eaccess("a", X_OK);
    euidaccess("a", X_OK);
    ssize_t n = readlink("link", buf, sizeof buf);
    readlinkat(dirfd, "link", buf, sizeof buf);
    readlink("a", buf, sizeof buf);
    DIR *d = fdopendir(dup(dirfd));
    if (d)
        closedir(d);
    mkdir("sub", 0755);
    chdir("sub");
    chdir("missing");
    fchdir(dirfd);
    stat("a", &st); /* the working directory changed since the last stat("a") */
    /* the same through syscall(2) */
    fd = (int)syscall(SYS_openat, AT_FDCWD, "link", O_RDONLY);
    close(fd);
    syscall(SYS_newfstatat, AT_FDCWD, "missing", &st, 0);
    syscall(SYS_statx, AT_FDCWD, "sub", 0, STATX_BASIC_STATS, &stx);
    syscall(SYS_faccessat, AT_FDCWD, "missing", F_OK);
    syscall(SYS_readlinkat, AT_FDCWD, "link", buf, sizeof buf);
    syscall(SYS_mkdirat, AT_FDCWD, "sub", 0700);
    syscall(SYS_unlinkat, AT_FDCWD, "missing", 0);
    syscall(SYS_chdir, "missing");
    fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    close(fd);
    syscall(SYS_kill, getpid(), 0);
    char *args[] = {"nothing", NULL};
    syscall(SYS_execve, "/nonexistent/nothing", args, environ);
    syscall(SYS_getpid); /* not a call runtrail records */
    unsigned params[30] = {0};
    fd = (int)syscall(SYS_io_uring_setup, 4, params);
    if (fd >= 0)
        close(fd);
    printf("probe_ops done %zd\n", n);
    return 0;
}
