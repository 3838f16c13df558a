/* Resolving the hook table without dlsym: what dlsym(RTLD_NEXT, name) returns, found in the
 * symbol tables of the objects loaded after this library (in the loader's list order, which is
 * the global search order at start-up: preloads, then the program's needed libraries breadth
 * first). For each object: its GNU hash table (or the SysV one), the definition of NAME that is
 * global or weak, a function, and its default version (a symbol whose version index has the
 * hidden bit is an older version, which dlsym skips too). An indirect function
 * (STT_GNU_IFUNC) found first is what dlsym would find too: dlsym runs its resolver (or,
 * without dlsym, the resolver is called as the loader calls it).
 * Why: ~85 dlsym calls cost 15-50 us per process start (each one finds its caller's object,
 * sets up error catching and takes the loader's lock), and the library was linked against
 * libdl for dlsym's sake (before glibc 2.34 dlsym lives there): one more library to map, 7 of
 * the interposer's 18 page faults at start here. dlsym is now a weak reference (present in
 * libc since 2.34), called only for an indirect function or what this pass does not find.
 * Lazily, per hook: the constructor only saves the tables of the objects from the next one up
 * to libc (rt_pl_resolve_init); a hook resolves its own name at its first call from them
 * (rt_pl_resolve_saved), reading memory only: no lock, no allocation, so it may run in a
 * signal handler or a vfork child. Resolving all ~107 names in the constructor cost 27,000
 * instructions per process start (callgrind), most of them for hooks the process never calls.
 * Objects up to libc are start-up objects, never unloaded: dlopen appends to the list, and
 * libc is a start-up object (the interposer needs it). Only reads the loader's data. */
#include "recorder/preload/preload.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

/* dlsym at its oldest version (preload.h), as a weak reference: NULL where no loaded object
 * has it. */
RT_DLSYM_OLDEST;
extern void *dlsym(void *handle, const char *name) __attribute__((weak));

/* Lambda runs 64-bit programs only (x86_64, arm64): the ELF64 types throughout. */
_Static_assert(sizeof(void *) == 8, "64-bit ELF only");

struct rt_pl_resolve_job {
    const char *const *names;
    void ***slots;
    size_t count;
    size_t left;
    bool past_self; /* this library's own object was seen: the next ones are searched */
};

/* One object's dynamic symbol tables. */
struct dso {
    uintptr_t base;
    const Elf64_Sym *sym;
    const char *str;
    const Elf64_Half *versym;
    const uint32_t *gnu;  /* DT_GNU_HASH */
    const uint32_t *sysv; /* DT_HASH */
};

static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = h * 33 + *p;
    return h;
}

static uint32_t sysv_hash(const char *s)
{
    uint32_t h = 0, g;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h = (h << 4) + *p;
        g = h & 0xf0000000u;
        if (g)
            h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

/* Whether symbol i is the definition dlsym would return for name. */
static bool sym_matches(const struct dso *d, uint32_t i, const char *name)
{
    const Elf64_Sym *s = &d->sym[i];
    if (s->st_shndx == SHN_UNDEF || s->st_value == 0)
        return false;
    int bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
    if (bind != STB_GLOBAL && bind != STB_WEAK)
        return false;
    if (type != STT_FUNC && type != STT_GNU_IFUNC)
        return false;
    if (d->versym && ((d->versym[i] & 0x8000) || (d->versym[i] & 0x7fff) == 0))
        return false;
    return strcmp(d->str + s->st_name, name) == 0;
}

static const Elf64_Sym *dso_lookup(const struct dso *d, const char *name)
{
    if (d->gnu) {
        uint32_t nbuckets = d->gnu[0], symoffset = d->gnu[1], bloom_size = d->gnu[2],
                 shift = d->gnu[3];
        if (!nbuckets || !bloom_size)
            return NULL;
        const Elf64_Addr *bloom = (const Elf64_Addr *)(d->gnu + 4);
        const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
        const uint32_t *chain = buckets + nbuckets;
        uint32_t h = gnu_hash(name);
        const unsigned bits = sizeof(Elf64_Addr) * 8;
        Elf64_Addr word = bloom[(h / bits) & (bloom_size - 1)];
        Elf64_Addr mask = ((Elf64_Addr)1 << (h % bits)) | ((Elf64_Addr)1 << ((h >> shift) % bits));
        if ((word & mask) != mask)
            return NULL;
        uint32_t i = buckets[h % nbuckets];
        if (i < symoffset)
            return NULL;
        for (;; i++) {
            uint32_t ch = chain[i - symoffset];
            if ((ch | 1) == (h | 1) && sym_matches(d, i, name))
                return &d->sym[i];
            if (ch & 1)
                return NULL;
        }
    }
    if (d->sysv) {
        uint32_t nbucket = d->sysv[0];
        if (!nbucket)
            return NULL;
        const uint32_t *bucket = d->sysv + 2, *chain = bucket + nbucket;
        for (uint32_t i = bucket[sysv_hash(name) % nbucket]; i != STN_UNDEF; i = chain[i])
            if (sym_matches(d, i, name))
                return &d->sym[i];
    }
    return NULL;
}

/* The loader has relocated most dynamic entries to addresses; the vDSO's are offsets. */
static const void *dyn_ptr(uintptr_t base, Elf64_Addr p)
{
    return (const void *)(p < base ? base + p : p);
}

/* Whether one of the object's loaded segments holds addr. */
static bool holds(const struct dl_phdr_info *info, uintptr_t addr)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const Elf64_Phdr *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && addr >= start && addr - start < ph->p_memsz)
            return true;
    }
    return false;
}

/* Fills d with the object's symbol tables; false when it has none to search. */
static bool read_dso(const struct dl_phdr_info *info, struct dso *d)
{
    const Elf64_Dyn *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn)
        return false;
    *d = (struct dso){.base = info->dlpi_addr};
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB:
            d->sym = dyn_ptr(d->base, dyn->d_un.d_ptr);
            break;
        case DT_STRTAB:
            d->str = dyn_ptr(d->base, dyn->d_un.d_ptr);
            break;
        case DT_VERSYM:
            d->versym = dyn_ptr(d->base, dyn->d_un.d_ptr);
            break;
        case DT_GNU_HASH:
            d->gnu = dyn_ptr(d->base, dyn->d_un.d_ptr);
            break;
        case DT_HASH:
            d->sysv = dyn_ptr(d->base, dyn->d_un.d_ptr);
            break;
        default:
            break;
        }
    }
    return d->sym && d->str && (d->gnu || d->sysv);
}

/* What dlsym would return for the definition s of name in d (NULL: none after all). */
static void *sym_address(const struct dso *d, const Elf64_Sym *s, const char *name)
{
    void *fn = (void *)(d->base + s->st_value);
    if (ELF64_ST_TYPE(s->st_info) == STT_GNU_IFUNC) {
        if (dlsym)
            fn = dlsym(RTLD_NEXT, name);
        else /* x86_64 resolvers take no argument, arm64 ones the hardware caps */
            fn = ((void *(*)(unsigned long, void *))fn)(getauxval(AT_HWCAP), NULL);
    }
    return fn;
}

/* For a walk over the loader's list: whether info is an object after this library's own
 * (*past_self is set on seeing that one) with symbol tables to search, then filled into d. */
static bool searched(const struct dl_phdr_info *info, bool *past_self, struct dso *d)
{
    if (holds(info, (uintptr_t)&searched)) {
        *past_self = true;
        return false;
    }
    return *past_self && read_dso(info, d);
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct rt_pl_resolve_job *job = arg;
    struct dso d;
    if (!searched(info, &job->past_self, &d))
        return 0;
    for (size_t i = 0; i < job->count; i++) {
        if (*job->slots[i])
            continue;
        const Elf64_Sym *s = dso_lookup(&d, job->names[i]);
        void *fn = s ? sym_address(&d, s, job->names[i]) : NULL;
        if (fn) {
            __atomic_store_n(job->slots[i], fn, __ATOMIC_RELEASE);
            job->left--;
        }
    }
    return job->left == 0; /* nonzero stops the walk */
}

/* ---- the saved tables: the objects from the one after this library up to libc ---- */

enum { SAVED_MAX = 32 };
RT_PL_START static struct dso saved[SAVED_MAX];
RT_PL_START static size_t saved_count; /* written once, with a release store, after saved[] */

struct save_job {
    bool past_self;
    size_t n;
};

static int save_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct save_job *job = arg;
    if (searched(info, &job->past_self, &saved[job->n]))
        job->n++;
    /* libc (the object holding dl_iterate_phdr) ends the prefix; so does a full table, the
     * rest of the list then being searched by the walk */
    return job->past_self && (holds(info, (uintptr_t)&dl_iterate_phdr) || job->n == SAVED_MAX);
}

void rt_pl_resolve_init(void)
{
    /* The first touch of saved[] is a write (read_dso's): one page fault, not two. */
    struct save_job job = {false, 0};
    dl_iterate_phdr(save_visit, &job);
    __atomic_store_n(&saved_count, job.n, __ATOMIC_RELEASE);
}

bool rt_pl_resolve_saved(const char *name, void **slot)
{
    size_t n = __atomic_load_n(&saved_count, __ATOMIC_ACQUIRE);
    for (size_t k = 0; k < n; k++) {
        const Elf64_Sym *s = dso_lookup(&saved[k], name);
        void *fn = s ? sym_address(&saved[k], s, name) : NULL;
        if (fn) {
            __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
            return true;
        }
    }
    return false;
}

size_t rt_pl_resolve_walk(const char *const *names, void ***slots, size_t count)
{
    size_t left = 0;
    for (size_t i = 0; i < count; i++)
        left += *slots[i] == NULL;
    if (!left)
        return 0;
    struct rt_pl_resolve_job job = {names, slots, count, left, false};
    dl_iterate_phdr(visit, &job);
    return job.left;
}

size_t rt_pl_resolve_table(const char *const *names, void ***slots, size_t count)
{
    size_t left = rt_pl_resolve_walk(names, slots, count);
    /* What the walk did not find (a definition in an object outside the start-up list):
     * dlsym, where this libc has one. */
    for (size_t i = 0; i < count && left && dlsym; i++) {
        if (*slots[i])
            continue;
        void *fn = dlsym(RTLD_NEXT, names[i]);
        if (fn) {
            __atomic_store_n(slots[i], fn, __ATOMIC_RELEASE);
            left--;
        }
    }
    return left;
}
