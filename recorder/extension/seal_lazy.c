/* libcrypto, libzstd and libexpat, loaded when first called rather than when the extension
 * starts, like libcurl (curl_lazy.c) and for the same reason: nothing before the function's
 * first response needs them. They seal bundles (SHA-256 and HMAC-SHA256, zstd) and read S3's
 * XML answers, in the sealer's thread after a response. Loading libcrypto alone was about 125
 * page faults and 0.7-1.1 ms of every cold start. Linked into the extension program only; the
 * unit tests link the libraries themselves.
 *
 * The first call of any of these functions loads its library (dlopen, once, whichever thread
 * comes first). libcrypto is initialised without its error texts, whose tables cost the
 * extension 0.5 MB and 20 page faults (see docs/deploy.md); curl_lazy.c has it loaded so before
 * libcurl's TLS would initialise it otherwise. A TLS failure still names its cause where
 * libcurl words it itself ("SSL certificate problem: ..."); OpenSSL's own lines keep their
 * code (error:0A000410:lib(20)::reason(1040)), which `openssl errstr 0A000410` decodes. Where a
 * library cannot be loaded, its functions fail as the library's own do on failure (0, NULL, an
 * error code), the reason is printed once, and the sealer, which asks rt_ext_seal_libs_ready()
 * first, seals nothing: a bundle without its digest would be worse than none. check-layers.sh
 * checks that the extension needs none of the three. */
#include "recorder/extension/extension.h"
#include "recorder/extension/lazy.h"

#include <expat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <zstd.h>

#define NO_SEAL "no bundle can be sealed"

/* ---- libcrypto ---- */

static const char *const crypto_names[] = {
    "OPENSSL_init_crypto", "EVP_sha256",         "EVP_Digest",
    "EVP_MD_CTX_new",      "EVP_MD_CTX_free",    "EVP_DigestInit_ex",
    "EVP_DigestUpdate",    "EVP_DigestFinal_ex", "HMAC",
    "EVP_EncodeBlock",     "EVP_DecodeBlock",    "RAND_bytes"};
static struct {
    int (*init)(uint64_t, const OPENSSL_INIT_SETTINGS *);
    const EVP_MD *(*sha256)(void);
    int (*digest)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *, ENGINE *);
    EVP_MD_CTX *(*ctx_new)(void);
    void (*ctx_free)(EVP_MD_CTX *);
    int (*init_ex)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
    int (*update)(EVP_MD_CTX *, const void *, size_t);
    int (*final_ex)(EVP_MD_CTX *, unsigned char *, unsigned int *);
    unsigned char *(*hmac)(const EVP_MD *, const void *, int, const unsigned char *, size_t,
                           unsigned char *, unsigned int *);
    int (*encode)(unsigned char *, const unsigned char *, int);
    int (*decode)(unsigned char *, const unsigned char *, int);
    int (*rand_bytes)(unsigned char *, int);
} crypto;
_Static_assert(sizeof crypto == sizeof crypto_names / sizeof *crypto_names * sizeof(void *),
               "one pointer per name");
static struct rt_lazy_lib crypto_lib = {
    .soname = "libcrypto.so.3", .without = NO_SEAL, .once = PTHREAD_ONCE_INIT};

static void crypto_load(void)
{
    rt_lazy_load(&crypto_lib, crypto_names, (void **)&crypto,
                 sizeof crypto_names / sizeof *crypto_names);
    /* First, before anything loads them: without libcrypto's error texts. */
    if (crypto_lib.ok && crypto.init(OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL) != 1)
        crypto_lib.ok = false;
}

static bool crypto_ready(void)
{
    pthread_once(&crypto_lib.once, crypto_load);
    return crypto_lib.ok;
}

int OPENSSL_init_crypto(uint64_t opts, const OPENSSL_INIT_SETTINGS *settings)
{
    return crypto_ready() ? crypto.init(opts, settings) : 0;
}

const EVP_MD *EVP_sha256(void)
{
    return crypto_ready() ? crypto.sha256() : NULL;
}

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
               const EVP_MD *type, ENGINE *impl)
{
    return crypto_ready() ? crypto.digest(data, count, md, size, type, impl) : 0;
}

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
    return crypto_ready() ? crypto.ctx_new() : NULL;
}

void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
    if (ctx && crypto_ready())
        crypto.ctx_free(ctx);
}

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
    return crypto_ready() ? crypto.init_ex(ctx, type, impl) : 0;
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
    return crypto_ready() ? crypto.update(ctx, d, cnt) : 0;
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
    return crypto_ready() ? crypto.final_ex(ctx, md, s) : 0;
}

unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data,
                    size_t data_len, unsigned char *md, unsigned int *md_len)
{
    return crypto_ready() ? crypto.hmac(evp_md, key, key_len, data, data_len, md, md_len) : NULL;
}

int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n)
{
    return crypto_ready() ? crypto.encode(t, f, n) : -1;
}

int EVP_DecodeBlock(unsigned char *t, const unsigned char *f, int n)
{
    return crypto_ready() ? crypto.decode(t, f, n) : -1;
}

int RAND_bytes(unsigned char *buf, int num)
{
    return crypto_ready() ? crypto.rand_bytes(buf, num) : 0;
}

/* ---- libzstd ---- */

static const char *const zstd_names[] = {
    "ZSTD_createCCtx", "ZSTD_freeCCtx",      "ZSTD_CCtx_reset", "ZSTD_CCtx_setParameter",
    "ZSTD_compress2",  "ZSTD_compressBound", "ZSTD_isError"};
static struct {
    ZSTD_CCtx *(*create)(void);
    size_t (*free_ctx)(ZSTD_CCtx *);
    size_t (*reset)(ZSTD_CCtx *, ZSTD_ResetDirective);
    size_t (*set)(ZSTD_CCtx *, ZSTD_cParameter, int);
    size_t (*compress2)(ZSTD_CCtx *, void *, size_t, const void *, size_t);
    size_t (*bound)(size_t);
    unsigned (*is_error)(size_t);
} zstd;
_Static_assert(sizeof zstd == sizeof zstd_names / sizeof *zstd_names * sizeof(void *),
               "one pointer per name");
static struct rt_lazy_lib zstd_lib = {
    .soname = "libzstd.so.1", .without = NO_SEAL, .once = PTHREAD_ONCE_INIT};

static void zstd_load(void)
{
    rt_lazy_load(&zstd_lib, zstd_names, (void **)&zstd, sizeof zstd_names / sizeof *zstd_names);
}

static bool zstd_ready(void)
{
    pthread_once(&zstd_lib.once, zstd_load);
    return zstd_lib.ok;
}

/* What the calls return without libzstd: an error code (ZSTD_isError says so). */
#define ZSTD_NOT_LOADED ((size_t)-1)

ZSTD_CCtx *ZSTD_createCCtx(void)
{
    return zstd_ready() ? zstd.create() : NULL;
}

size_t ZSTD_freeCCtx(ZSTD_CCtx *cctx)
{
    return cctx && zstd_ready() ? zstd.free_ctx(cctx) : 0;
}

size_t ZSTD_CCtx_reset(ZSTD_CCtx *cctx, ZSTD_ResetDirective reset)
{
    return zstd_ready() ? zstd.reset(cctx, reset) : ZSTD_NOT_LOADED;
}

size_t ZSTD_CCtx_setParameter(ZSTD_CCtx *cctx, ZSTD_cParameter param, int value)
{
    return zstd_ready() ? zstd.set(cctx, param, value) : ZSTD_NOT_LOADED;
}

size_t ZSTD_compress2(ZSTD_CCtx *cctx, void *dst, size_t dst_cap, const void *src, size_t src_len)
{
    return zstd_ready() ? zstd.compress2(cctx, dst, dst_cap, src, src_len) : ZSTD_NOT_LOADED;
}

size_t ZSTD_compressBound(size_t src_len)
{
    return zstd_ready() ? zstd.bound(src_len) : 0;
}

unsigned ZSTD_isError(size_t code)
{
    return zstd_ready() ? zstd.is_error(code) : code == ZSTD_NOT_LOADED;
}

/* ---- libexpat (S3's XML answers) ---- */

static const char *const expat_names[] = {"XML_ParserCreate",
                                          "XML_ParserFree",
                                          "XML_SetUserData",
                                          "XML_SetElementHandler",
                                          "XML_SetCharacterDataHandler",
                                          "XML_SetStartDoctypeDeclHandler",
                                          "XML_Parse",
                                          "XML_StopParser",
                                          "XML_GetErrorCode"};
static struct {
    XML_Parser (*create)(const XML_Char *);
    void (*free_parser)(XML_Parser);
    void (*set_user_data)(XML_Parser, void *);
    void (*set_element)(XML_Parser, XML_StartElementHandler, XML_EndElementHandler);
    void (*set_chardata)(XML_Parser, XML_CharacterDataHandler);
    void (*set_doctype)(XML_Parser, XML_StartDoctypeDeclHandler);
    enum XML_Status (*parse)(XML_Parser, const char *, int, int);
    enum XML_Status (*stop)(XML_Parser, XML_Bool);
    enum XML_Error (*error_code)(XML_Parser);
} expat;
_Static_assert(sizeof expat == sizeof expat_names / sizeof *expat_names * sizeof(void *),
               "one pointer per name");
static struct rt_lazy_lib expat_lib = {.soname = "libexpat.so.1",
                                       .without = "S3's error documents cannot be read",
                                       .once = PTHREAD_ONCE_INIT};

static void expat_load(void)
{
    rt_lazy_load(&expat_lib, expat_names, (void **)&expat,
                 sizeof expat_names / sizeof *expat_names);
}

static bool expat_ready(void)
{
    pthread_once(&expat_lib.once, expat_load);
    return expat_lib.ok;
}

XML_Parser XML_ParserCreate(const XML_Char *encoding)
{
    return expat_ready() ? expat.create(encoding) : NULL;
}

void XML_ParserFree(XML_Parser parser)
{
    if (parser && expat_ready())
        expat.free_parser(parser);
}

void XML_SetUserData(XML_Parser parser, void *data)
{
    if (expat_ready())
        expat.set_user_data(parser, data);
}

void XML_SetElementHandler(XML_Parser parser, XML_StartElementHandler start,
                           XML_EndElementHandler end)
{
    if (expat_ready())
        expat.set_element(parser, start, end);
}

void XML_SetCharacterDataHandler(XML_Parser parser, XML_CharacterDataHandler handler)
{
    if (expat_ready())
        expat.set_chardata(parser, handler);
}

void XML_SetStartDoctypeDeclHandler(XML_Parser parser, XML_StartDoctypeDeclHandler start)
{
    if (expat_ready())
        expat.set_doctype(parser, start);
}

enum XML_Status XML_Parse(XML_Parser parser, const char *s, int len, int is_final)
{
    return expat_ready() ? expat.parse(parser, s, len, is_final) : XML_STATUS_ERROR;
}

enum XML_Status XML_StopParser(XML_Parser parser, XML_Bool resumable)
{
    return expat_ready() ? expat.stop(parser, resumable) : XML_STATUS_ERROR;
}

enum XML_Error XML_GetErrorCode(XML_Parser parser)
{
    return expat_ready() ? expat.error_code(parser) : XML_ERROR_NO_MEMORY;
}

bool rt_ext_seal_libs_ready(void)
{
    return crypto_ready() && zstd_ready();
}
