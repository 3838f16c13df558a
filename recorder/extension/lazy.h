/* A library loaded at the first call of one of its functions, by the files that define those
 * functions in a program in its stead: the extension (curl_lazy.c, seal_lazy.c) and the
 * runtrail CLI (curl_lazy.c). */
#ifndef RT_RECORDER_EXTENSION_LAZY_H
#define RT_RECORDER_EXTENSION_LAZY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct rt_lazy_lib {
    const char *soname;  /* "libcrypto.so.3" */
    const char *own;     /* a build of it the program carries, tried first; NULL: none */
    const char *without; /* what is lost without it, said once on stderr */
    pthread_once_t once; /* PTHREAD_ONCE_INIT */
    bool ok;             /* loaded, every name resolved */
};

/* What these files say on stderr when a library cannot be loaded: the program's name, which
 * begins each message, and what that program loses without libcurl (curl_lazy.c). The
 * extension's by default; another program that links them sets its own, first thing in main
 * (cli/runtrail.c), and keeps OpenSSL's error texts, which the extension goes without. */
void rt_lazy_set_program(const char *name, const char *curl_without);
const char *rt_lazy_program(void);
const char *rt_lazy_curl_without(void);
bool rt_lazy_extension(void); /* no other program has set its name */

/* Loads lib->soname (dlopen, RTLD_LOCAL) and resolves names[i] into slots[i], for a struct of
 * n function pointers in the order of names; sets lib->ok, and says on stderr why not. Call it
 * under lib->once. When lib->own names a file found in the layer's folder beside the program
 * (../runtrail/lib from the program's own folder), that file is loaded instead; if it cannot be (a
 * library it needs is missing, a name is not in it), the system's lib->soname is, and stderr says
 * so. */
void rt_lazy_load(struct rt_lazy_lib *lib, const char *const *names, void **slots, size_t n);

#endif
