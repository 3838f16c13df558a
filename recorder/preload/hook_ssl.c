/* TLS plaintext hooks of libruntrail-preload.so: OpenSSL's SSL_write, SSL_write_ex, SSL_read,
 * SSL_read_ex (and SSL_free). A program that uses the system libssl (Python's _ssl, which
 * dlopen()s it, curl, the AWS CLI) calls these through the dynamic linker, which finds the
 * preloaded definitions first; the real ones are resolved on first use, when libssl is
 * certainly loaded: through dlsym(RTLD_NEXT), or, for a libssl loaded RTLD_LOCAL by dlopen,
 * through the loaded object itself (dl_iterate_phdr + dlopen(RTLD_NOLOAD)). The SSL's socket
 * (SSL_get_fd, resolved the same way) names the connection: its plaintext goes to the HTTP
 * sniffing of hook_net.c, so an HTTPS connection gets its request line, Host and status as
 * plain HTTP does. A request signed with AWS SigV4 also becomes one AWS_CALL event (service,
 * action, resource, access key id and region, then the status of its answer): the request is
 * parsed by rt_sniff_aws_request when it is written and kept in a small per-process table of
 * requests awaiting their answer, keyed by the SSL; the event is written when the status line
 * is read (or with status 0 when the SSL is freed first, another request follows without an
 * answer, or the table is full). Programs with their own TLS (Node.js, Java, Go) never call
 * these: their connections keep only the SNI. */
#include "recorder/preload/preload.h"
#include "recorder/preload/sniff.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

/* dlsym at its oldest version (preload.h: glibc < 2.34 keeps it in libdl). */
RT_DLSYM_OLDEST;

/* The OpenSSL functions this file calls: name and type. Resolved lazily (ssl_fn). */
#define RT_SSL_FNS(_)                                                                              \
    _(SSL_write, int, (void *, const void *, int))                                                 \
    _(SSL_write_ex, int, (void *, const void *, size_t, size_t *))                                 \
    _(SSL_read, int, (void *, void *, int))                                                        \
    _(SSL_read_ex, int, (void *, void *, size_t, size_t *))                                        \
    _(SSL_free, void, (void *))                                                                    \
    _(SSL_get_fd, int, (const void *))

enum ssl_fn_id {
#define _(name, ret, params) FN_##name,
    RT_SSL_FNS(_)
#undef _
        FN__COUNT
};

#define _(name, ret, params) typedef ret(*ssl_fn_##name) params;
RT_SSL_FNS(_)
#undef _

static const char *const ssl_fn_names[FN__COUNT] = {
#define _(name, ret, params) #name,
    RT_SSL_FNS(_)
#undef _
};
static void *ssl_fns[FN__COUNT];

/* dl_iterate_phdr callback: the path of the first loaded libssl. */
static int find_libssl(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    const char *name = info->dlpi_name, *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : name;
    if (base && !strncmp(base, "libssl.so", 9)) {
        *(const char **)arg = name;
        return 1;
    }
    return 0;
}

/* The real function `id`, or NULL when no libssl is loaded (then nobody could have called
 * the hook but a program that defines it itself). */
static void *ssl_fn(enum ssl_fn_id id)
{
    void *fn = __atomic_load_n(&ssl_fns[id], __ATOMIC_ACQUIRE);
    if (__builtin_expect(fn != NULL, 1))
        return fn;
    int saved = RT_ERRNO;
    fn = dlsym(RTLD_NEXT, ssl_fn_names[id]);
    if (!fn) {
        const char *path = NULL;
        dl_iterate_phdr(find_libssl, &path);
        void *h = path ? REAL(dlopen)(path, RTLD_LAZY | RTLD_NOLOAD) : NULL;
        if (h) /* the reference is kept: libssl stays loaded while its functions are in use */
            fn = dlsym(h, ssl_fn_names[id]);
    }
    if (fn)
        __atomic_store_n(&ssl_fns[id], fn, __ATOMIC_RELEASE);
    RT_ERRNO = saved;
    return fn;
}

/* The hooks (OpenSSL's prototypes, with SSL * as void *). */
int SSL_write(void *ssl, const void *buf, int num);
int SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written);
int SSL_read(void *ssl, void *buf, int num);
int SSL_read_ex(void *ssl, void *buf, size_t num, size_t *readbytes);
void SSL_free(void *ssl);

#define SSL_FN(name) ((ssl_fn_##name)ssl_fn(FN_##name))

static int ssl_fd(void *ssl)
{
    ssl_fn_SSL_get_fd get_fd = SSL_FN(SSL_get_fd);
    return get_fd ? get_fd(ssl) : -1;
}

/* ---- AWS requests awaiting their answer ---- */

#define PENDING 32
struct pending {
    void *ssl; /* NULL = free; claimed by CAS */
    int fd;
    int64_t t0_ns;
    struct rt_sniff_aws aws;
};
static struct pending pending[PENDING];
static uint32_t pending_count; /* claimed entries: 0 lets every call skip the table */

static struct pending *pending_find(void *ssl)
{
    if (__builtin_expect(!__atomic_load_n(&pending_count, __ATOMIC_RELAXED), 1))
        return NULL;
    for (int i = 0; i < PENDING; i++)
        if (__atomic_load_n(&pending[i].ssl, __ATOMIC_ACQUIRE) == ssl)
            return &pending[i];
    return NULL;
}

static struct pending *pending_claim(void *ssl)
{
    for (int i = 0; i < PENDING; i++) {
        void *expected = NULL;
        if (!__atomic_load_n(&pending[i].ssl, __ATOMIC_RELAXED) &&
            __atomic_compare_exchange_n(&pending[i].ssl, &expected, ssl, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            __atomic_fetch_add(&pending_count, 1, __ATOMIC_RELAXED);
            return &pending[i];
        }
    }
    return NULL;
}

static void pending_release(struct pending *p)
{
    __atomic_store_n(&p->ssl, NULL, __ATOMIC_RELEASE);
    __atomic_fetch_sub(&pending_count, 1, __ATOMIC_RELAXED);
}

/* One AWS_CALL: the request in aws, written at t0_ns on fd, answered with status (0: none). */
static void emit_call(const struct rt_sniff_aws *aws, int fd, int64_t t0_ns, int status)
{
    char action[sizeof aws->action + sizeof aws->service + 8];
    char cred[sizeof aws->key_id + sizeof aws->region + 2];
    size_t an = aws->action[0] ? rt_pl_strlcpy(action, aws->action, sizeof action) : 0;
    if (!an) {
        an = rt_pl_strlcpy(action, aws->service, sizeof action);
        an += rt_pl_strlcpy(action + an, ":unknown", sizeof action - an);
    }
    size_t cn = rt_pl_strlcpy(cred, aws->key_id, sizeof cred);
    cn += rt_pl_strlcpy(cred + cn, "/", sizeof cred - cn);
    cn += rt_pl_strlcpy(cred + cn, aws->region, sizeof cred - cn);
    struct rt_rec rec;
    rt_pl_rec_init_ns(&rec, RT_OP_AWS_CALL, t0_ns, 0);
    rt_pl_strn(&rec, 0, action, an);
    rt_pl_str(&rec, 1, aws->resource);
    rt_pl_strn(&rec, 2, cred, cn);
    rec.num[0] = status;
    rec.num[1] = fd;
    rt_pl_emit(&rec);
}

static void pending_end(struct pending *p, int status)
{
    emit_call(&p->aws, p->fd, p->t0_ns, status);
    pending_release(p);
}

/* The program wrote len plaintext bytes at buf on ssl (started at stamp t0). */
static void plain_out(void *ssl, const void *buf, size_t len, int64_t t0)
{
    int fd = ssl_fd(ssl);
    rt_pl_net_plaintext(fd, buf, len, true);
    struct pending *p = pending_find(ssl);
    struct rt_sniff_aws aws;
    if (rt_sniff_aws_request(buf, len, &aws)) {
        if (p)
            pending_end(p, 0); /* the previous request got no answer */
        p = pending_claim(ssl);
        if (!p) {
            emit_call(&aws, fd, rt_pl_stamp_ns(t0), 0);
            return;
        }
        p->fd = fd;
        p->t0_ns = rt_pl_stamp_ns(t0);
        p->aws = aws;
    } else if (p && p->aws.need_body) {
        rt_sniff_aws_body(buf, len, &p->aws);
    }
}

/* The program read len plaintext bytes at buf on ssl. */
static void plain_in(void *ssl, const void *buf, size_t len)
{
    rt_pl_net_plaintext(ssl_fd(ssl), buf, len, false);
    struct pending *p = pending_find(ssl);
    int code;
    if (p && (code = rt_sniff_http_code(buf, len)) >= 200)
        pending_end(p, code); /* 1xx (100 Continue): the final answer follows */
}

RT_EXPORT int SSL_write(void *ssl, const void *buf, int num)
{
    ssl_fn_SSL_write real = SSL_FN(SSL_write);
    if (!real)
        return -1;
    if (!rt_pl_enter())
        return real(ssl, buf, num);
    int64_t t0 = rt_pl_stamp();
    int r = real(ssl, buf, num);
    int e = RT_ERRNO;
    if (r > 0)
        plain_out(ssl, buf, (size_t)r, t0);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
    ssl_fn_SSL_write_ex real = SSL_FN(SSL_write_ex);
    if (!real)
        return 0;
    if (!rt_pl_enter())
        return real(ssl, buf, num, written);
    int64_t t0 = rt_pl_stamp();
    size_t done = 0;
    int r = real(ssl, buf, num, &done);
    int e = RT_ERRNO;
    if (written)
        *written = done;
    if (r > 0 && done)
        plain_out(ssl, buf, done, t0);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int SSL_read(void *ssl, void *buf, int num)
{
    ssl_fn_SSL_read real = SSL_FN(SSL_read);
    if (!real)
        return -1;
    if (!rt_pl_enter())
        return real(ssl, buf, num);
    int r = real(ssl, buf, num);
    int e = RT_ERRNO;
    if (r > 0)
        plain_in(ssl, buf, (size_t)r);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int SSL_read_ex(void *ssl, void *buf, size_t num, size_t *readbytes)
{
    ssl_fn_SSL_read_ex real = SSL_FN(SSL_read_ex);
    if (!real)
        return 0;
    if (!rt_pl_enter())
        return real(ssl, buf, num, readbytes);
    size_t done = 0;
    int r = real(ssl, buf, num, &done);
    int e = RT_ERRNO;
    if (readbytes)
        *readbytes = done;
    if (r > 0 && done)
        plain_in(ssl, buf, done);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT void SSL_free(void *ssl)
{
    ssl_fn_SSL_free real = SSL_FN(SSL_free);
    if (ssl && rt_pl_enter()) {
        int e = RT_ERRNO;
        struct pending *p = pending_find(ssl);
        if (p)
            pending_end(p, 0);
        rt_pl_leave();
        RT_ERRNO = e;
    }
    if (real)
        real(ssl);
}
