/* Recorder behaviour test: a statically linked program (the interposer cannot enter it) that
 * only waits for one byte on stdin and exits: tests/unit/test_extension.c has the extension's
 * /proc sampler find it in the runtime's process tree. */
#include <unistd.h>

int main(void)
{
    char c;
    return read(0, &c, 1) == 1 ? 0 : 1;
}
