/* Recorder behaviour test: a process that only starts. Prints "ready", then waits for one byte
 * on stdin and exits: tests/unit/test_preload.c reads its /proc/PID/pagemap meanwhile, to count
 * the pages of the interposer's data that starting a process touched (recorder/preload/start.ld).
 */
#include <unistd.h>

int main(void)
{
    char c;
    if (write(1, "ready\n", 6) != 6)
        return 1;
    return read(0, &c, 1) == 1 ? 0 : 1;
}
