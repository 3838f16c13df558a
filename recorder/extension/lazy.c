/* Loading a library at the first call of one of its functions (lazy.h). */
#include "recorder/extension/lazy.h"

#include <dlfcn.h>
#include <stdio.h>

static const char *program = "runtrail-extension";
static const char *curl_without =
    "bundles for S3 stay in the spool and streamed responses are forwarded whole";
static bool extension = true;

void rt_lazy_set_program(const char *name, const char *without)
{
    program = name;
    curl_without = without;
    extension = false;
}

bool rt_lazy_extension(void)
{
    return extension;
}

const char *rt_lazy_program(void)
{
    return program;
}

const char *rt_lazy_curl_without(void)
{
    return curl_without;
}

void rt_lazy_load(struct rt_lazy_lib *lib, const char *const *names, void **slots, size_t n)
{
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    for (size_t i = 0; h && i < n && !missing; i++)
        if (!(slots[i] = dlsym(h, names[i])))
            missing = names[i];
    lib->ok = h && !missing;
    if (!lib->ok)
        fprintf(stderr, "%s: cannot load %s (%s): %s\n", program, lib->soname,
                h ? missing : dlerror(), lib->without);
}
