/* Recorder behaviour test: a connection on a high file descriptor. Raises its soft fd limit,
 * moves an unconnected socket to fd 1500 with dup2, connects it to its own listener and makes
 * one HTTP exchange through it, then closes. Exit 77 when the hard limit is below 1501 (the
 * test is skipped). tests/unit/test_preload.c drives it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HIGH_FD 1500

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max <= HIGH_FD)
        return 77;
    if (rl.rlim_cur <= HIGH_FD) {
        rl.rlim_cur = HIGH_FD + 1;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            return 77;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
    socklen_t ll = sizeof la;
    if (bind(ls, (struct sockaddr *)&la, sizeof la) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&la, &ll))
        return 10;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || dup2(s, HIGH_FD) != HIGH_FD || close(s))
        return 11;
    if (connect(HIGH_FD, (struct sockaddr *)&la, sizeof la))
        return 12;
    int a = accept(ls, NULL, NULL);
    static const char req[] = "POST /high HTTP/1.1\r\nHost: high.test\r\nContent-Length: 0\r\n\r\n";
    static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
    char buf[512];
    if (write(HIGH_FD, req, strlen(req)) != (ssize_t)strlen(req) || read(a, buf, sizeof buf) <= 0)
        return 13;
    if (write(a, resp, strlen(resp)) != (ssize_t)strlen(resp) ||
        read(HIGH_FD, buf, sizeof buf) <= 0)
        return 14;
    close(HIGH_FD);
    close(a);
    close(ls);
    return 0;
}
