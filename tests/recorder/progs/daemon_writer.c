/* daemon(3) and keep writing: the caller returns at once while the daemon, which kept the
 * caller's stdout (noclose), prints three lines 300 ms apart. `runtrail record` must not cut
 * them (issue 14, item 17). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    printf("before daemon\n");
    fflush(stdout);
    if (daemon(1, 1) != 0)
        return 1;
    for (int i = 1; i <= 3; i++) {
        usleep(300 * 1000);
        printf("daemon line %d\n", i);
        fflush(stdout);
    }
    return 0;
}
