/* Recorder behaviour test: a dynamic program that carries the ELF note a Go toolchain writes
 * (name "Go", type 4: the build id). A Go program makes its system calls itself, so the
 * interposer sees little of it even where it loads: the exec hook announces it to the /proc
 * sampler, which follows such programs (recorder/preload/hook_proc.c,
 * recorder/extension/procwatch.c). Exits 6. */
#include <stdint.h>

struct go_note {
    uint32_t namesz, descsz, type;
    char name[4];
    char desc[8];
};
__attribute__((section(".note.go.buildid"), aligned(4), used)) static const struct go_note note = {
    3, 8, 4, "Go", "testbld"};

int main(void)
{
    return 6;
}
