/* libcurl, loaded when first called rather than when the extension starts. Linked into the
 * extension program only (not librtextension.a, whose unit tests link libcurl itself): it
 * defines the libcurl functions the extension's code calls, and the first call loads
 * libcurl.so.4 with dlopen and forwards every call to it from then on.
 *
 * Why: Debian's libcurl brings about thirty libraries and a TLS stack; loading and relocating
 * them was a third of the extension's start, on every cold start, although nothing before the
 * function's first response needs them. The loopback APIs go through libevent (http.c);
 * libcurl serves what only it does here: S3 (TLS, SigV4 uploads), called by the sealer after
 * a response, and the streamed (chunked, with trailers) responses of the proxy.
 *
 * Where libcurl cannot be loaded, every call fails as libcurl's own calls fail (NULL handles,
 * CURLE_FAILED_INIT): bundles bound for S3 stay in the spool, a streamed response is forwarded
 * whole; the reason is printed once. check-layers.sh checks that the extension does not
 * link libcurl.
 *
 * The runtrail CLI links this file too: loading libcurl and its libraries was half of every
 * command's start on a host whose page faults cost 11-14 us (`runtrail --version` 20.0 ->
 * 9.5 ms), and only pull, S3 stores, export to S3 and the Lambda API calls use it. There,
 * without libcurl, those fail with libcurl's own error codes and the reason
 * (rt_lazy_set_program); every other command works. */
#define CURL_DISABLE_TYPECHECK /* the definitions below are the functions themselves */
#include "recorder/extension/lazy.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

typedef void (*any_fn)(void);

static const char *const names[] = {"curl_global_init",      "curl_easy_init",
                                    "curl_easy_cleanup",     "curl_easy_reset",
                                    "curl_easy_perform",     "curl_easy_setopt",
                                    "curl_easy_getinfo",     "curl_easy_strerror",
                                    "curl_easy_header",      "curl_easy_nextheader",
                                    "curl_slist_append",     "curl_slist_free_all",
                                    "curl_multi_init",       "curl_multi_cleanup",
                                    "curl_multi_add_handle", "curl_multi_remove_handle",
                                    "curl_multi_perform",    "curl_multi_poll",
                                    "curl_multi_info_read",  "curl_multi_setopt",
                                    "curl_easy_escape",      "curl_free"};
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    CURLHcode (*easy_header)(CURL *, const char *, size_t, unsigned int, int,
                             struct curl_header **);
    struct curl_header *(*easy_nextheader)(CURL *, unsigned int, int, struct curl_header *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free)(void *);
} fn;
_Static_assert(sizeof fn == sizeof names / sizeof *names * sizeof(void *), "one pointer per name");
static struct rt_lazy_lib curl_lib = {.soname = "libcurl.so.4", .once = PTHREAD_ONCE_INIT};

static void load(void)
{
    /* In the extension, OpenSSL first, as seal_lazy.c initialises it (without its error texts),
     * before libcurl's TLS initialises it with them. The CLI keeps them, for TLS errors. */
    if (rt_lazy_extension())
        (void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
    curl_lib.without = rt_lazy_curl_without();
    /* The extension's own libcurl (HTTP(S) and OpenSSL only: scripts/build-curl.sh), where the
     * layer carries it; the CLI takes the system's, which has what a shell user's proxies,
     * netrc and HTTP/2 may need. */
    curl_lib.own = rt_lazy_extension() ? "libruntrail-curl.so" : NULL;
    rt_lazy_load(&curl_lib, names, (void **)&fn, sizeof names / sizeof *names);
    /* Once, here, before any other libcurl call, whichever thread comes first. */
    if (curl_lib.ok && fn.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: %s: curl_global_init failed\n", rt_lazy_program(), curl_lib.soname);
        curl_lib.ok = false;
    }
}

static bool ready(void)
{
    pthread_once(&curl_lib.once, load);
    return curl_lib.ok;
}

CURLcode curl_global_init(long flags)
{
    (void)flags; /* done by load(), with the defaults */
    return ready() ? CURLE_OK : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
    return ready() ? fn.easy_init() : NULL;
}

void curl_easy_cleanup(CURL *h)
{
    if (h && ready())
        fn.easy_cleanup(h);
}

void curl_easy_reset(CURL *h)
{
    if (h && ready())
        fn.easy_reset(h);
}

CURLcode curl_easy_perform(CURL *h)
{
    return ready() ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

/* An option's number says the type of its one argument (curl.h's CURLOPTTYPE_* bases, shared
 * by easy and multi options): each is passed on as that type. */
#define OPT_ARG(call, opt)                                                                         \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, opt);                                                                         \
        if ((opt) < CURLOPTTYPE_OBJECTPOINT) {                                                     \
            long v = va_arg(ap, long);                                                             \
            rc = call(v);                                                                          \
        } else if ((opt) < CURLOPTTYPE_FUNCTIONPOINT) {                                            \
            void *v = va_arg(ap, void *);                                                          \
            rc = call(v);                                                                          \
        } else if ((opt) < CURLOPTTYPE_OFF_T) {                                                    \
            any_fn v = va_arg(ap, any_fn);                                                         \
            rc = call(v);                                                                          \
        } else if ((opt) < CURLOPTTYPE_BLOB) {                                                     \
            curl_off_t v = va_arg(ap, curl_off_t);                                                 \
            rc = call(v);                                                                          \
        } else {                                                                                   \
            void *v = va_arg(ap, void *);                                                          \
            rc = call(v);                                                                          \
        }                                                                                          \
        va_end(ap);                                                                                \
    } while (0)

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    CURLcode rc;
#define EASY(v) fn.easy_setopt(h, opt, v)
    OPT_ARG(EASY, opt);
#undef EASY
    return rc;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
    if (!ready())
        return CURLM_INTERNAL_ERROR;
    CURLMcode rc;
#define MULTI(v) fn.multi_setopt(m, opt, v)
    OPT_ARG(MULTI, opt);
#undef MULTI
    return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    void *out = va_arg(ap, void *);
    va_end(ap);
    return fn.easy_getinfo(h, info, out);
}

const char *curl_easy_strerror(CURLcode code)
{
    return ready() ? fn.easy_strerror(code) : "libcurl could not be loaded";
}

CURLHcode curl_easy_header(CURL *h, const char *name, size_t index, unsigned int origin,
                           int request, struct curl_header **hout)
{
    return ready() ? fn.easy_header(h, name, index, origin, request, hout) : CURLHE_NOT_BUILT_IN;
}

struct curl_header *curl_easy_nextheader(CURL *h, unsigned int origin, int request,
                                         struct curl_header *prev)
{
    return ready() ? fn.easy_nextheader(h, origin, request, prev) : NULL;
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
    return ready() ? fn.slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
    if (list && ready())
        fn.slist_free_all(list);
}

CURLM *curl_multi_init(void)
{
    return ready() ? fn.multi_init() : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
    return ready() ? fn.multi_cleanup(m) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
    return ready() ? fn.multi_add_handle(m, h) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
    return ready() ? fn.multi_remove_handle(m, h) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
    return ready() ? fn.multi_perform(m, running) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned int n, int timeout_ms,
                          int *numfds)
{
    return ready() ? fn.multi_poll(m, extra, n, timeout_ms, numfds) : CURLM_BAD_HANDLE;
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
    return ready() ? fn.multi_info_read(m, left) : NULL;
}

char *curl_easy_escape(CURL *h, const char *s, int len)
{
    return ready() ? fn.easy_escape(h, s, len) : NULL;
}

void curl_free(void *p)
{
    if (p && ready())
        fn.free(p);
}
