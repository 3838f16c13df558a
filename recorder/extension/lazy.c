/* Loading a library at the first call of one of its functions (lazy.h). */
#include "recorder/extension/lazy.h"

#include <dlfcn.h>
#include <stdio.h>

void rt_lazy_load(struct rt_lazy_lib *lib, const char *const *names, void **slots, size_t n)
{
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    for (size_t i = 0; h && i < n && !missing; i++)
        if (!(slots[i] = dlsym(h, names[i])))
            missing = names[i];
    lib->ok = h && !missing;
    if (!lib->ok)
        fprintf(stderr, "runtrail-extension: cannot load %s (%s): %s\n", lib->soname,
                h ? missing : dlerror(), lib->without);
}
