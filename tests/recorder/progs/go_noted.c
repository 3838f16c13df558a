/* Recorder behaviour test: a dynamic program that carries the ELF note a Go toolchain writes
 * (name "Go", type 4: the build id). A Go program makes its system calls itself, so the
 * interposer sees little of it even where it loads: the exec hook announces it to the /proc
 * sampler, which follows such programs (recorder/preload/hook_proc.c,
 * recorder/extension/procwatch.c). go_noted: exits 6; go_noted idle: reads stdin until EOF
 * first, like static_idle. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

struct go_note {
    uint32_t namesz, descsz, type;
    char name[4];
    char desc[8];
};
__attribute__((section(".note.go.buildid"), aligned(4), used)) static const struct go_note note = {
    3, 8, 4, "Go", "testbld"};

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "idle")) {
        char buf[64];
        while (read(0, buf, sizeof buf) > 0) {
        }
    }
    return 6;
}
