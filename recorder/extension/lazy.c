/* Loading a library at the first call of one of its functions (lazy.h). */
#include "recorder/extension/lazy.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* Resolves every name from h into slots: the first one missing, or NULL. */
static const char *resolve(void *h, const char *const *names, void **slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(slots[i] = dlsym(h, names[i])))
            return names[i];
    return NULL;
}

/* The path of file in ../runtrail/lib from the program's folder (the layer's folder, beside
 * extensions/), if it is there. */
static bool own_path(const char *file, char *path, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return false;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = 0;
    int w = snprintf(path, cap, "%s/../runtrail/lib/%s", exe, file);
    return w > 0 && (size_t)w < cap && access(path, R_OK) == 0;
}

void rt_lazy_load(struct rt_lazy_lib *lib, const char *const *names, void **slots, size_t n)
{
    char path[PATH_MAX];
    if (lib->own && own_path(lib->own, path, sizeof path)) {
        void *own = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        const char *missing = own ? resolve(own, names, slots, n) : NULL;
        if (own && !missing) {
            lib->ok = true;
            return;
        }
        fprintf(stderr, "%s: cannot load %s (%s): loading the system's %s instead\n", program, path,
                own ? missing : dlerror(), lib->soname);
        if (own)
            dlclose(own);
    }
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    const char *missing = h ? resolve(h, names, slots, n) : NULL;
    lib->ok = h && !missing;
    if (!lib->ok)
        fprintf(stderr, "%s: cannot load %s (%s): %s\n", program, lib->soname,
                h ? missing : dlerror(), lib->without);
}
