/* SHA-256 and HMAC-SHA256 through libcrypto, for bundle footers, payload hashes, keyed env
 * hashes and code digests. No hand-written hashing anywhere in runtrail. */
#ifndef RUNTRAIL_FORMATS_DIGEST_H
#define RUNTRAIL_FORMATS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define RT_SHA256_LEN 32

void rt_sha256(const void *data, size_t len, uint8_t out[RT_SHA256_LEN]);
void rt_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[RT_SHA256_LEN]);

/* Streaming SHA-256 (for files and trees). rt_sha256_new returns NULL when out of memory. */
struct rt_sha256_ctx;
struct rt_sha256_ctx *rt_sha256_new(void);
void rt_sha256_update(struct rt_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and frees ctx. */
void rt_sha256_final(struct rt_sha256_ctx *ctx, uint8_t out[RT_SHA256_LEN]);

/* Lowercase hex of n bytes into out (2n+1 bytes); returns out. */
char *rt_hex(const uint8_t *bytes, size_t n, char *out);
/* Parses 2n hex digits into bytes; returns 0, or -1 on a bad digit or length. */
int rt_unhex(const char *hex, uint8_t *bytes, size_t n);

#endif
