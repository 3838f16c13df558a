/* Recorder behaviour test: one keep-alive HTTP connection used for two requests, with a pause
 * in between during which the test asks the producers to summarise open connections
 * (rt_ring_request_flush, as the Lambda extension does at the end of an invocation).
 * Prints "ready" after the first exchange, waits for one byte on stdin, then does the second
 * exchange and closes. tests/unit/test_preload.c drives it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int exchange(int c, int a, const char *req, const char *resp)
{
    char buf[512];
    if (write(c, req, strlen(req)) != (ssize_t)strlen(req) || read(a, buf, sizeof buf) <= 0)
        return -1;
    if (write(a, resp, strlen(resp)) != (ssize_t)strlen(resp) || read(c, buf, sizeof buf) <= 0)
        return -1;
    return 0;
}

int main(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
    socklen_t ll = sizeof la;
    if (bind(ls, (struct sockaddr *)&la, sizeof la) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&la, &ll))
        return 10;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&la, sizeof la))
        return 11;
    int a = accept(ls, NULL, NULL);
    if (exchange(c, a, "GET /one HTTP/1.1\r\nHost: ka.test\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"))
        return 12;
    printf("ready\n");
    fflush(stdout);
    char b;
    if (read(0, &b, 1) != 1)
        return 13;
    if (exchange(c, a, "GET /two HTTP/1.1\r\nHost: ka.test\r\n\r\n",
                 "HTTP/1.1 404 Not Found\r\n\r\n"))
        return 14;
    close(c);
    close(a);
    close(ls);
    return 0;
}
