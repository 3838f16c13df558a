/* Recorder behaviour test: go_noted's "Go" note with an 8 KiB descriptor, so that the note
 * segment runs past the first page of the file: the /proc sampler reads a program's first page
 * at once and what lies past it on its own (recorder/extension/procwatch.c, uncovered_image).
 * go_noted_far idle: reads stdin until EOF, then exits 6. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

struct go_note {
    uint32_t namesz, descsz, type;
    char name[4];
    char desc[8192];
};
__attribute__((section(".note.go.buildid"), aligned(4), used)) static const struct go_note note = {
    3, 8192, 4, "Go", "a build id padded to 8 KiB"};

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "idle")) {
        char buf[64];
        while (read(0, buf, sizeof buf) > 0) {
        }
    }
    return 6;
}
