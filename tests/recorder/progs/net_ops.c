/* Recorder behaviour test: known network operations. Usage: net_ops CLOSED_PORT.
 * Connects to a closed loopback port (ECONNREFUSED); listens on 127.0.0.1 (ephemeral port),
 * connects to it, sends a plaintext HTTP request (52 bytes) that the accepted side reads and
 * answers with a status line (43 bytes); opens a second connection and writes a TLS
 * ClientHello naming "tls.example.test" (77 bytes) that the side accepted with accept4 reads
 * with readv and answers with a 7-byte alert through writev; resolves "localhost"; sends a
 * DNS query for "query.example.test" to 127.0.0.1:53 over UDP. Prints
 * "ports LISTEN CLIENT1 CLIENT2" (the listener's and the two clients' ports). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static size_t client_hello(unsigned char *b, const char *host)
{
    size_t hl = strlen(host), p = 0, q = 0;
    unsigned char body[512];
    body[q++] = 3, body[q++] = 3;
    memset(body + q, 0xab, 32), q += 32;
    body[q++] = 0;
    body[q++] = 0, body[q++] = 2, body[q++] = 0x13, body[q++] = 0x01;
    body[q++] = 1, body[q++] = 0;
    size_t ext = 9 + hl;
    body[q++] = (unsigned char)(ext >> 8), body[q++] = (unsigned char)ext;
    body[q++] = 0, body[q++] = 0;
    body[q++] = (unsigned char)((5 + hl) >> 8), body[q++] = (unsigned char)(5 + hl);
    body[q++] = (unsigned char)((3 + hl) >> 8), body[q++] = (unsigned char)(3 + hl);
    body[q++] = 0, body[q++] = (unsigned char)(hl >> 8), body[q++] = (unsigned char)hl;
    memcpy(body + q, host, hl), q += hl;
    b[p++] = 0x16, b[p++] = 3, b[p++] = 1;
    b[p++] = (unsigned char)((q + 4) >> 8), b[p++] = (unsigned char)(q + 4);
    b[p++] = 1, b[p++] = 0, b[p++] = (unsigned char)(q >> 8), b[p++] = (unsigned char)q;
    memcpy(b + p, body, q);
    return p + q;
}

static int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    return getsockname(fd, (struct sockaddr *)&a, &l) == 0 ? ntohs(a.sin_port) : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != -1 || errno != ECONNREFUSED)
        return 10;
    close(s);

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
    if (bind(ls, (struct sockaddr *)&la, sizeof la) != 0 || listen(ls, 4) != 0)
        return 11;
    socklen_t ll = sizeof la;
    getsockname(ls, (struct sockaddr *)&la, &ll);

    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&la, sizeof la) != 0)
        return 12;
    int a = accept(ls, NULL, NULL);
    if (a < 0)
        return 13;
    int client1 = local_port(c);
    const char req[] = "GET /items?id=7 HTTP/1.1\r\nHost: api.example.test\r\n\r\n";
    if (write(c, req, sizeof req - 1) != (ssize_t)sizeof req - 1)
        return 14;
    char buf[512];
    if (read(a, buf, sizeof buf) <= 0)
        return 15;
    const char resp[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    if (send(a, resp, sizeof resp - 1, 0) != (ssize_t)sizeof resp - 1)
        return 16;
    if (recv(c, buf, sizeof buf, 0) != (ssize_t)sizeof resp - 1)
        return 17;
    close(c);
    close(a);

    int t = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(t, (struct sockaddr *)&la, sizeof la) != 0)
        return 18;
    int a2 = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (a2 < 0)
        return 22;
    unsigned char hello[600];
    size_t hn = client_hello(hello, "tls.example.test");
    if (send(t, hello, hn, 0) != (ssize_t)hn)
        return 19;
    unsigned char in[600], spare[16];
    size_t got = 0;
    while (got < hn) { /* readv: the count must land whatever the split */
        struct iovec iov[2] = {{in + got, sizeof in - got}, {spare, sizeof spare}};
        ssize_t r = readv(a2, iov, 2);
        if (r <= 0)
            return 23;
        got += (size_t)r;
    }
    if (got != hn)
        return 24;
    static const unsigned char alert[] = {0x15, 3, 3, 0, 2, 2, 0x28};
    struct iovec out[2] = {{(void *)alert, 5}, {(void *)(alert + 5), 2}};
    if (writev(a2, out, 2) != (ssize_t)sizeof alert)
        return 25;
    if (recv(t, buf, sizeof alert, MSG_WAITALL) != (ssize_t)sizeof alert)
        return 26;
    int client2 = local_port(t);
    close(a2);
    close(t);
    printf("ports %d %d %d\n", local_port(ls), client1, client2);
    close(ls);

    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo("localhost", "80", &hints, &res) != 0)
        return 20;
    freeaddrinfo(res);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in dns = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "127.0.0.1", &dns.sin_addr);
    const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,   0,
                               5,    'q',  'u',  'e',  'r', 'y', 7,   'e', 'x', 'a', 'm', 'p',
                               'l',  'e',  4,    't',  'e', 's', 't', 0,   0,   1,   0,   1};
    if (sendto(u, q, sizeof q, 0, (struct sockaddr *)&dns, sizeof dns) != (ssize_t)sizeof q)
        return 21;
    close(u);
    printf("net_ops done\n");
    return 0;
}
