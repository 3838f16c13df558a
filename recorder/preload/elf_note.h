/* Reading an executable's first bytes: whether it is a dynamic ELF of our class and whether it
 * carries a Go note, and finding a note by name in a note segment's bytes. Shared by the
 * interposer's exec hook (recorder/preload/hook_proc.c: will the new image load the interposer,
 * and is it a Go program, which makes its system calls itself?) and the extension's /proc
 * sampler (recorder/extension/procwatch.c: Go, or runtrail's own static wrapper?). Header-only:
 * the interposer links no code of the extension's. The bytes are the file's, anyone's: every
 * offset is checked against n (tests/fuzz/fuzz_elfnote.c). */
#ifndef RT_ELF_NOTE_H
#define RT_ELF_NOTE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Whether the n bytes of notes at p (namesz, descsz, type, the name padded to 4 bytes, the
 * descriptor padded to 4 bytes; repeated) hold one named name (namesz bytes, its NUL
 * included). Stops at the first note that does not fit. */
static inline bool rt_elf_note_named(const unsigned char *p, size_t n, const char *name,
                                     uint32_t namesz)
{
    for (size_t off = 0; off + 12 <= n;) {
        uint32_t nsz, dsz;
        memcpy(&nsz, p + off, 4);
        memcpy(&dsz, p + off + 4, 4);
        if (nsz == namesz && namesz <= n - off - 12 && !memcmp(p + off + 12, name, namesz))
            return true;
        uint64_t next = off + 12 + ((nsz + 3ull) & ~3ull) + ((dsz + 3ull) & ~3ull);
        if (next <= off || next > (uint64_t)n)
            break;
        off = (size_t)next;
    }
    return false;
}

/* What an exec of a file whose first n bytes are buf runs, from those bytes alone: 1 a 64-bit
 * ELF with a PT_INTERP header (a dynamic program: the interposer loads), 0 an ELF without
 * one (static) or of another class, -1 not an ELF, or program headers past the bytes given.
 * *go is set when a note segment within the bytes holds a "Go" note (the Go toolchain's build
 * id): such a program makes its system calls itself. */
static inline int rt_elf_look(const unsigned char *buf, size_t n, bool *go)
{
    *go = false;
    if (n < sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG) != 0)
        return -1;
    if (buf[EI_CLASS] != ELFCLASS64)
        return 0; /* a 32-bit image cannot load a 64-bit interposer */
    Elf64_Ehdr eh;
    memcpy(&eh, buf, sizeof eh);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > n ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > n - eh.e_phoff)
        return -1;
    int kind = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, buf + eh.e_phoff + (size_t)i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_INTERP)
            kind = 1;
        if (ph.p_type == PT_NOTE && ph.p_offset <= n && ph.p_filesz <= n - ph.p_offset &&
            rt_elf_note_named(buf + ph.p_offset, (size_t)ph.p_filesz, "Go", 3))
            *go = true;
    }
    return kind;
}

#endif
