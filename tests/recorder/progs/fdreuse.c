/* Recorder behaviour test: a connection closed behind the interposer's back (fclose of an
 * fdopen'ed socket, then dup2 onto another) must be summarised once, and the file that reuses
 * its descriptor must not be counted as socket traffic. Usage: fdreuse FILE */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_to(struct sockaddr_in *la)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    return connect(c, (struct sockaddr *)la, sizeof *la) == 0 ? c : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
    socklen_t ll = sizeof la;
    if (bind(ls, (struct sockaddr *)&la, sizeof la) || listen(ls, 4) ||
        getsockname(ls, (struct sockaddr *)&la, &ll))
        return 10;
    int c = connect_to(&la);
    const char req[] = "GET /r HTTP/1.1\r\n\r\n";
    if (c < 0 || write(c, req, sizeof req - 1) != (ssize_t)sizeof req - 1)
        return 11;
    fclose(fdopen(c, "w")); /* closes c without calling close() */
    int f = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (f != c)
        return 12;
    char junk[100];
    memset(junk, 'j', sizeof junk);
    if (write(f, junk, sizeof junk) != (ssize_t)sizeof junk)
        return 13;
    close(f);
    int d = connect_to(&la);
    if (d < 0 || write(d, "GET /d HTTP/1.1\r\n\r\n", 19) != 19)
        return 14;
    int g = open(argv[1], O_RDONLY);
    if (dup2(g, d) != d) /* closes the second connection */
        return 15;
    char buf[200];
    if (read(d, buf, sizeof buf) != 100)
        return 16;
    close(d);
    close(g);
    close(ls);
    return 0;
}
