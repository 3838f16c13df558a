/* Recorder behaviour test: known file operations, including failing ones, in a fixed order.
 * Usage: file_ops DIR (an empty scratch folder). tests/e2e/record.sh asserts the exact events. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[4096];
static const char *at(const char *dir, const char *name)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *d = argv[1];
    char a[4096], b[4096];
    int fd = open(at(d, "created.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd < 0 || write(fd, "hello\n", 6) != 6)
        return 10;
    close(fd);
    errno = 0;
    if (open(at(d, "missing.txt"), O_RDONLY) != -1 || errno != ENOENT)
        return 11;
    if (open(d, O_WRONLY) != -1 || errno != EISDIR)
        return 12;
    fd = openat(AT_FDCWD, at(d, "created.txt"), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 13;
    close(fd);
    if (mkdir(at(d, "sub"), 0750) != 0)
        return 14;
    if (mkdir(at(d, "sub"), 0750) != -1 || errno != EEXIST)
        return 15;
    snprintf(a, sizeof a, "%s/created.txt", d);
    snprintf(b, sizeof b, "%s/sub/renamed.txt", d);
    if (rename(a, b) != 0)
        return 16;
    if (chmod(b, 0600) != 0)
        return 17;
    if (symlink(b, at(d, "link")) != 0)
        return 18;
    if (truncate(b, 3) != 0)
        return 19;
    FILE *f = fopen(at(d, "f.txt"), "w");
    if (!f)
        return 20;
    fclose(f);
    if (fopen(at(d, "nodir/f.txt"), "r") != NULL || errno != ENOENT)
        return 21;
    fd = open("/proc/self/environ", O_RDONLY);
    if (fd < 0)
        return 22;
    close(fd);
    if (unlink(b) != 0)
        return 23;
    if (unlink(b) != -1 || errno != ENOENT)
        return 24;
    if (rmdir(at(d, "sub")) != 0)
        return 25;
    if (dlopen("/nonexistent/libnothing.so", RTLD_NOW) != NULL)
        return 26;
    printf("file_ops done\n");
    return 0;
}
