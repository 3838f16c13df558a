/* Recorder behaviour test: a statically linked program (the interposer cannot enter it) that
 * the extension's /proc sampling must see: opens argv[1] and keeps it open, then makes argv[3]
 * connections to 127.0.0.1:argv[2], one after the other, each held open argv[4] ms. Prints the
 * number of connections made. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    int f = open(argv[1], O_RDONLY);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int count = atoi(argv[3]), made = 0;
    long hold_ms = atol(argv[4]);
    for (int i = 0; i < count; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
            made++;
        struct timespec ts = {.tv_sec = hold_ms / 1000, .tv_nsec = (hold_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        close(s);
    }
    if (f >= 0)
        close(f);
    printf("%d\n", made);
    return 0;
}
