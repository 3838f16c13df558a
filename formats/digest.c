/* SHA-256 and HMAC-SHA256 through libcrypto's EVP interface: bundle footers, payload hashes,
 * keyed environment hashes and code digests. Hex helpers for printing and parsing digests. */
#include "formats/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdlib.h>

struct rt_sha256_ctx {
    EVP_MD_CTX *md;
};

void rt_sha256(const void *data, size_t len, uint8_t out[RT_SHA256_LEN])
{
    unsigned int n = RT_SHA256_LEN;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void rt_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[RT_SHA256_LEN])
{
    unsigned int n = RT_SHA256_LEN;
    static const unsigned char empty = 0;
    HMAC(EVP_sha256(), key_len ? key : &empty, (int)key_len, data ? data : &empty, len, out, &n);
}

struct rt_sha256_ctx *rt_sha256_new(void)
{
    struct rt_sha256_ctx *ctx = malloc(sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->md = EVP_MD_CTX_new();
    if (!ctx->md || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx->md);
        free(ctx);
        return NULL;
    }
    return ctx;
}

void rt_sha256_update(struct rt_sha256_ctx *ctx, const void *data, size_t len)
{
    if (len)
        EVP_DigestUpdate(ctx->md, data, len);
}

void rt_sha256_final(struct rt_sha256_ctx *ctx, uint8_t out[RT_SHA256_LEN])
{
    unsigned int n = RT_SHA256_LEN;
    EVP_DigestFinal_ex(ctx->md, out, &n);
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}

char *rt_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int rt_unhex(const char *hex, uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]);
        if (hi < 0)
            return -1;
        int lo = hexval(hex[2 * i + 1]);
        if (lo < 0)
            return -1;
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * n] == '\0' ? 0 : -1;
}
