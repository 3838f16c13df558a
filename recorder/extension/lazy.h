/* A library loaded at the first call of one of its functions, by the files that define those
 * functions in the extension program in its stead (curl_lazy.c, seal_lazy.c). */
#ifndef RT_RECORDER_EXTENSION_LAZY_H
#define RT_RECORDER_EXTENSION_LAZY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct rt_lazy_lib {
    const char *soname;  /* "libcrypto.so.3" */
    const char *without; /* what is lost without it, said once on stderr */
    pthread_once_t once; /* PTHREAD_ONCE_INIT */
    bool ok;             /* loaded, every name resolved */
};

/* Loads lib->soname (dlopen, RTLD_LOCAL) and resolves names[i] into slots[i], for a struct of
 * n function pointers in the order of names; sets lib->ok, and says on stderr why not. Call it
 * under lib->once. */
void rt_lazy_load(struct rt_lazy_lib *lib, const char *const *names, void **slots, size_t n);

#endif
