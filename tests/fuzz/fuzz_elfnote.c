/* fuzz-sources: */
/* fuzz-libs: */
/* libFuzzer harness for the executable-header reading shared by the interposer's exec hook and
 * the extension's /proc sampler (recorder/preload/elf_note.h): every input is a file's first
 * bytes for rt_elf_look and a note segment for rt_elf_note_named, in an exact-size copy so
 * that ASan catches any read past the end. The answers must be within their ranges, and
 * rt_elf_look must not see a Go note that rt_elf_note_named finds nowhere in the input. */
#include "recorder/preload/elf_note.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    bool go = true;
    int kind = rt_elf_look(buf, size, &go);
    if (kind < -1 || kind > 1 || (kind == -1 && go))
        abort();
    bool any = false; /* the note segment rt_elf_look found must be somewhere in the input */
    for (size_t off = 0; go && off < size && !any; off++)
        any = rt_elf_note_named(buf + off, size - off, "Go", 3);
    if (go && !any)
        abort();
    (void)rt_elf_note_named(buf, size, "runtrail", 9);
    free(buf);
    return 0;
}
