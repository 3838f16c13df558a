/* Recorder behaviour test: more connections open at once than the ring's connection table
 * holds. Connects argv[1] UDP sockets (default 600) to 127.0.0.1:9 (no listener needed), sends
 * one datagram on each, then closes them all. tests/unit/test_preload.c drives it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 600;
    static int fds[4096];
    if (n <= 0 || n > 4096)
        return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a))
            return 3;
        if (write(fds[i], "x", 1) != 1)
            return 4;
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}
