/* Checks the interposer's one-pass symbol resolution (recorder/preload/resolve.c, linked into
 * this program) against dlsym(RTLD_NEXT): for every name of the hook table (RT_HOOKS) both
 * must give the same address, seen from this program (with or without libruntrail-preload.so
 * preloaded after it, whose hooks are then the next definitions), both in one pass over all
 * names and name by name from the saved tables (the hooks' lazy path). Prints one line per
 * difference, "names N, differ D, walk left W, unresolved U" (W: names the walk left to
 * dlsym) and "lazy N, differ D, from the saved tables S"; exit 0 only when every name
 * matched. */
#include "recorder/preload/preload.h"

#include <dlfcn.h>
#include <stdio.h>

static const char *const names[] = {
#define _(fam, name, ret, params) #name,
    RT_HOOKS(_)
#undef _
};
#define COUNT (sizeof names / sizeof names[0])

/* Indirect functions in glibc (x86_64): the walk must give what dlsym gives (the function
 * their resolver picks), not skip them for a later object's definition. */
static const char *const ifunc_names[] = {"strlen", "memcpy", "strchr", "gettimeofday"};
#define IFUNCS (sizeof ifunc_names / sizeof ifunc_names[0])

int main(void)
{
    void *got[COUNT] = {0}, **slots[COUNT];
    for (size_t i = 0; i < COUNT; i++)
        slots[i] = &got[i];
    size_t walk_left = rt_pl_resolve_walk(names, slots, COUNT);
    size_t left = rt_pl_resolve_table(names, slots, COUNT);
    int bad = 0;
    for (size_t i = 0; i < COUNT; i++) {
        void *want = dlsym(RTLD_NEXT, names[i]);
        if (got[i] != want) {
            Dl_info a = {0}, b = {0};
            dladdr(got[i], &a);
            dladdr(want, &b);
            printf("%s: walk %p (%s) dlsym %p (%s)\n", names[i], got[i],
                   a.dli_fname ? a.dli_fname : "?", want, b.dli_fname ? b.dli_fname : "?");
            bad++;
        }
    }
    printf("names %zu, differ %d, walk left %zu, unresolved %zu\n", COUNT, bad, walk_left, left);
    /* The lazy path the hooks take: each name from the tables saved once (the objects up to
     * libc), the walk for what they lack. */
    rt_pl_resolve_init();
    size_t saved_found = 0;
    int lazy_bad = 0;
    for (size_t i = 0; i < COUNT; i++) {
        void *fn = NULL;
        if (rt_pl_resolve_saved(names[i], &fn))
            saved_found++;
        else
            rt_pl_resolve_walk(&names[i], (void **[]){&fn}, 1);
        if (fn != dlsym(RTLD_NEXT, names[i])) {
            printf("%s: lazy %p dlsym %p\n", names[i], fn, dlsym(RTLD_NEXT, names[i]));
            lazy_bad++;
        }
    }
    printf("lazy %zu, differ %d, from the saved tables %zu\n", COUNT, lazy_bad, saved_found);
    bad += lazy_bad;
    void *ifn[IFUNCS] = {0}, **islots[IFUNCS];
    for (size_t i = 0; i < IFUNCS; i++)
        islots[i] = &ifn[i];
    size_t ileft = rt_pl_resolve_walk(ifunc_names, islots, IFUNCS);
    int ibad = 0;
    for (size_t i = 0; i < IFUNCS; i++)
        if (ifn[i] != dlsym(RTLD_NEXT, ifunc_names[i])) {
            printf("%s: walk %p dlsym %p\n", ifunc_names[i], ifn[i],
                   dlsym(RTLD_NEXT, ifunc_names[i]));
            ibad++;
        }
    printf("indirect %zu, differ %d, walk left %zu\n", IFUNCS, ibad, ileft);
    bad += ibad;
    return bad ? 1 : 0;
}
