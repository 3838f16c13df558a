/* Recorder transparency test: errno and return values exactly as without the interposer.
 * Sets errno to a sentinel before each of a list of hooked calls (succeeding and failing) and
 * prints "call result errno" after it; tests/e2e/record.sh runs this natively and under
 * `runtrail record` and compares the two outputs byte for byte. Usage: errno_ops DIR */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T(name, expr)                                                                              \
    do {                                                                                           \
        errno = 12345;                                                                             \
        long r_ = (long)(expr);                                                                    \
        int e_ = errno;                                                                            \
        printf("%-12s %ld %d\n", name, r_<0 ? -1L : r_> 2 ? 3L : r_, e_);                          \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char p[4096], q[4096];
    if (chdir(argv[1]) != 0)
        return 3;
    T("open-new", open("a.txt", O_WRONLY | O_CREAT | O_EXCL, 0600));
    T("open-again", open("a.txt", O_WRONLY | O_CREAT | O_EXCL, 0600));
    T("open-ro", open("a.txt", O_RDONLY));
    T("openat", openat(AT_FDCWD, "missing", O_RDONLY));
    T("creat", creat("b.txt", 0600));
    FILE *f;
    T("fopen", (f = fopen("a.txt", "r")) != NULL);
    if (f)
        fclose(f);
    T("fopen-miss", fopen("missing/x", "r") != NULL);
    T("opendir", opendir(".") != NULL);
    T("mkdir", mkdir("d", 0700));
    T("mkdir-again", mkdir("d", 0700));
    snprintf(p, sizeof p, "a.txt");
    snprintf(q, sizeof q, "d/a.txt");
    T("rename", rename(p, q));
    T("rename-miss", rename(p, q));
    T("chmod", chmod(q, 0644));
    T("chown-miss", chown("missing", 0, 0));
    T("truncate", truncate(q, 1));
    T("symlink", symlink(q, "l"));
    T("link", link(q, "h"));
    T("unlink", unlink("h"));
    T("unlinkat", unlinkat(AT_FDCWD, "l", 0));
    T("rmdir-full", rmdir("d"));
    T("socket", socket(AF_INET, SOCK_STREAM, 0));
    T("socket-bad", socket(12345, SOCK_STREAM, 0));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(1)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    T("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
    T("close", close(s));
    T("close-bad", close(s));
    T("bind-bad", bind(-1, (struct sockaddr *)&sa, sizeof sa));
    T("listen-bad", listen(-1, 1));
    T("write-bad", write(-1, "x", 1));
    T("read-bad", read(-1, p, 1));
    T("kill", kill(getpid(), 0));
    T("kill-bad", kill(999999, 0));
    T("execve-bad", execve("/nonexistent", (char *[]){"x", NULL}, NULL));
    pid_t pid;
    T("fork", (pid = fork()) == 0 ? (_exit(0), 0) : pid > 0);
    int st;
    waitpid(pid, &st, 0);
    T("system", system("exit 2"));
    fflush(stdout);
    return 0;
}
