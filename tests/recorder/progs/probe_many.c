/* Recorder behaviour test: probe folding with many paths. In directory argv[1], creates
 * argv[2] files, stats each of them, then stats them all again: every first stat is one
 * event, every second one a repeat (probe_repeats at exit), however the paths' hashes fall
 * in the interposer's table of what it has seen. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3 || chdir(argv[1]) != 0)
        return 2;
    int n = atoi(argv[2]);
    char name[32];
    struct stat st;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "f%d", i);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            return 1;
        close(fd);
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < n; i++) {
            snprintf(name, sizeof name, "f%d", i);
            if (stat(name, &st) != 0)
                return 1;
        }
    printf("probe_many done %d\n", n);
    return 0;
}
