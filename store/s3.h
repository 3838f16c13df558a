/* The S3 client of store/: libcurl with CURLOPT_AWS_SIGV4 ("aws:amz:REGION:s3") for PutObject,
 * GetObject (streamed to a temporary file, then renamed), HeadObject, DeleteObject and
 * ListObjectsV2, with capped exponential backoff and jitter on network errors, 5xx, SlowDown
 * and throttling. Credentials, region and endpoint follow the AWS conventions (store/aws.h).
 *
 * libcurl 7.88 signs the path and the query exactly as written and does not add
 * x-amz-content-sha256, so this client writes the path RFC 3986-encoded, the query sorted and
 * encoded, and sets x-amz-content-sha256 itself. Errors name the bucket, key and action
 * (403), the bucket's real region (301/400 with x-amz-bucket-region) and what was missing
 * (404). Not thread-safe: one struct rt_s3 per thread. */
#ifndef RUNTRAIL_STORE_S3_H
#define RUNTRAIL_STORE_S3_H

#include "formats/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_s3;

struct rt_s3_options {
    const char *profile;  /* NULL = $AWS_PROFILE, else "default" */
    const char *region;   /* NULL = $AWS_REGION / $AWS_DEFAULT_REGION / profile / us-east-1 */
    const char *endpoint; /* NULL = $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL / AWS */
    int timeout_ms;       /* per request; 0 = 30000 */
    int max_time_ms;      /* all attempts of one operation together; 0 = no limit */
    int max_attempts;     /* 0 = 5 */
    const char *sse;      /* NULL/"AES256", "aws:kms" or "aws:kms:KEYID", "none" */
};

/* Resolves credentials, region and endpoint. Returns RT_ERR_AWS_CREDENTIALS when there are
 * none (detail says where it looked). */
int rt_s3_open(const char *bucket, const struct rt_s3_options *opts, struct rt_s3 **out,
               struct rt_errinfo *ei);
void rt_s3_close(struct rt_s3 *s3);
/* From any thread: while on, a synchronous request in progress ends at once (its socket is shut
 * down; else at curl's next progress call, attempt or 10 ms of backoff), and new ones fail at
 * once (RT_ERR_S3_NETWORK, "interrupted"). For a process that must stop waiting on the network
 * (SHUTDOWN). */
void rt_s3_interrupt(struct rt_s3 *s3, bool on);
bool rt_s3_interrupted(const struct rt_s3 *s3); /* false for NULL */

/* PutObject with x-amz-content-sha256, x-amz-checksum-sha256 and the SSE headers. */
int rt_s3_put(struct rt_s3 *s3, const char *key, const void *data, size_t len,
              struct rt_errinfo *ei);
/* GetObject into path (via path.part, renamed when complete). *size may be NULL. */
int rt_s3_get_file(struct rt_s3 *s3, const char *key, const char *path, uint64_t *size,
                   struct rt_errinfo *ei);
/* HeadObject: RT_OK and *size, or RT_ERR_S3_NOT_FOUND. */
int rt_s3_head(struct rt_s3 *s3, const char *key, uint64_t *size, struct rt_errinfo *ei);
int rt_s3_delete(struct rt_s3 *s3, const char *key, struct rt_errinfo *ei);

struct rt_s3_object {
    char *key;
    uint64_t size;
    char *etag;
};

/* One page of ListObjectsV2. */
struct rt_s3_list {
    struct rt_s3_object *objects;
    size_t n_objects;
    char **prefixes; /* CommonPrefixes */
    size_t n_prefixes;
    bool truncated;
    char *next_token;      /* NextContinuationToken or NULL */
    char *region;          /* error documents only: <Region> */
    size_t replaced_chars; /* characters XML cannot carry, replaced by U+FFFD (s3xml.c) */
};
void rt_s3_list_free(struct rt_s3_list *list);

/* One ListObjectsV2 request; any string may be NULL. max_keys 0 = server default (1000).
 * Requested with encoding-type=url; keys and prefixes come back decoded (s3xml.c). */
int rt_s3_list(struct rt_s3 *s3, const char *prefix, const char *delimiter, const char *start_after,
               const char *token, unsigned max_keys, struct rt_s3_list *out, struct rt_errinfo *ei);

/* Parallel downloads (curl multi) for `pull`. Each item is fetched into path via a temporary
 * file and then renamed; failed transfers are retried with backoff. With dir_fd >= 0, path is
 * relative to that folder and every step (mkdir, the temporary file, the rename) stays below
 * it without following symbolic links (rt_openat_beneath); the key is fetched exactly as
 * listed (CURLOPT_PATH_AS_IS: no "." or ".." folding). A transfer that goes past max_bytes is
 * stopped there and fails with RT_ERR_S3_TOO_LARGE (its temporary file removed). */
struct rt_s3_get_item {
    const char *key;
    const char *path;
    int dir_fd;             /* folder path is relative to, or -1: path as given */
    uint64_t max_bytes;     /* 0 = no limit */
    uint64_t size_hint;     /* from the listing, for progress */
    int result;             /* out: RT_OK or RT_ERR_* */
    uint64_t bytes;         /* out: bytes written */
    struct rt_errinfo info; /* out: detail on failure */
};
/* done(item, arg) is called once per item as soon as it finished (success or failure), in
 * the calling thread; progress(bytes_so_far, arg) from time to time. Either may be NULL. */
int rt_s3_get_many(struct rt_s3 *s3, struct rt_s3_get_item *items, size_t n, int parallel,
                   void (*done)(struct rt_s3_get_item *item, void *arg),
                   void (*progress)(uint64_t bytes, void *arg), void *arg);

const char *rt_s3_bucket(const struct rt_s3 *s3);
const char *rt_s3_region(const struct rt_s3 *s3);

/* ---- pure helpers (no network; unit tested and fuzzed) ---- */

/* RFC 3986 percent-encoding: unreserved characters pass, everything else is %XX (uppercase);
 * '/' passes when keep_slash. Returns a malloc'ed string or NULL. */
char *rt_s3_uri_encode(const char *s, size_t len, bool keep_slash);

/* "k1=v1&k2=v2" from n name/value pairs (kv[2i], kv[2i+1]; a NULL value is skipped), sorted
 * by encoded name then value, both encoded. malloc'ed; NULL when out of memory. */
char *rt_s3_canonical_query(const char *const *kv, size_t n);

/* Parses a ListObjectsV2 result document (expat). RT_OK or RT_ERR_S3_XML. */
int rt_s3_parse_list(const char *xml, size_t len, struct rt_s3_list *out);

/* Parses an S3 <Error> document into code/message/region (each may be NULL on output;
 * malloc'ed). RT_OK or RT_ERR_S3_XML. */
struct rt_s3_error {
    char *code;
    char *message;
    char *region;
    char *key;
    char *bucket;
};
int rt_s3_parse_error(const char *xml, size_t len, struct rt_s3_error *out);
void rt_s3_error_free(struct rt_s3_error *e);

#endif
