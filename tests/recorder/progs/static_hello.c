/* Recorder behaviour test: a statically linked program (the interposer cannot enter it). */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("static %s\n", argc > 1 ? argv[1] : "");
    return 4;
}
