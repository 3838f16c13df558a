/* The S3 client: libcurl does the HTTP and the SigV4 signature (CURLOPT_AWS_SIGV4); this file
 * builds what libcurl 7.88 signs as written — the RFC 3986-encoded path, the sorted and
 * encoded query, x-amz-content-sha256 — adds the content checksum and server-side encryption
 * headers, retries with capped exponential backoff and full jitter, and turns S3's answers into
 * errors that name the bucket, the key, the action and, for a wrong region, the right one.
 * rt_s3_get_many() runs many GetObjects at once on a curl multi handle for `pull`. */
#include "store/s3.h"
#include "formats/digest.h"
#include "store/aws.h"
#include "store/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERROR_BODY (64 * 1024)

#define SYNC_SOCKS 4 /* sockets the synchronous handle holds at once (rt_s3_interrupt) */

struct rt_s3 {
    char *bucket;
    struct rt_aws_config cfg;
    char *base_url; /* scheme://host[:port][/bucket] */
    char sigv4[128];
    int timeout_ms, max_time_ms, max_attempts;
    char *sse_alg; /* NULL = none */
    char *kms_key;
    CURL *easy;      /* reused between synchronous requests (keep-alive) */
    int interrupted; /* rt_s3_interrupt(), from any thread (atomic) */
    /* The sockets of the synchronous handle, for rt_s3_interrupt() to shut down: a stalled
     * transfer then ends at once, not at curl's next progress call (up to a second). Under
     * sock_mu, which the close callback holds too, so that no socket is shut down after its
     * number was reused. -1: free. */
    pthread_mutex_t sock_mu;
    int socks[SYNC_SOCKS];
};

static CURLcode global_init_rc = CURLE_FAILED_INIT;

const char *rt_s3_bucket(const struct rt_s3 *s3)
{
    return s3->bucket;
}

const char *rt_s3_region(const struct rt_s3 *s3)
{
    return s3->cfg.region;
}

/* ---- pure helpers ---- */

char *rt_s3_uri_encode(const char *s, size_t len, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return out;
}

struct qpair {
    char *k, *v;
};

static int cmp_qpair(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

char *rt_s3_canonical_query(const char *const *kv, size_t n)
{
    struct qpair *pairs = calloc(n ? n : 1, sizeof *pairs);
    if (!pairs)
        return NULL;
    size_t m = 0, total = 1;
    bool oom = false;
    for (size_t i = 0; i < n; i++) {
        if (!kv[2 * i] || !kv[2 * i + 1])
            continue;
        pairs[m].k = rt_s3_uri_encode(kv[2 * i], strlen(kv[2 * i]), false);
        pairs[m].v = rt_s3_uri_encode(kv[2 * i + 1], strlen(kv[2 * i + 1]), false);
        if (!pairs[m].k || !pairs[m].v)
            oom = true;
        else
            total += strlen(pairs[m].k) + strlen(pairs[m].v) + 2;
        m++;
    }
    char *out = oom ? NULL : malloc(total);
    if (out) {
        qsort(pairs, m, sizeof *pairs, cmp_qpair);
        size_t len = 0;
        out[0] = '\0';
        for (size_t i = 0; i < m; i++)
            len += (size_t)sprintf(out + len, "%s%s=%s", i ? "&" : "", pairs[i].k, pairs[i].v);
    }
    for (size_t i = 0; i < m; i++) {
        free(pairs[i].k);
        free(pairs[i].v);
    }
    free(pairs);
    return out;
}

/* ---- open ---- */

int rt_s3_open(const char *bucket, const struct rt_s3_options *o, struct rt_s3 **out,
               struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!bucket || !*bucket || !out)
        return RT_ERR_INVALID_ARG;
    if (global_init_rc != CURLE_OK)
        global_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (global_init_rc != CURLE_OK)
        return rt_fail(ei, RT_ERR_NO_LIBCURL, -1, "curl_global_init failed");
    struct rt_s3 *s3 = calloc(1, sizeof *s3);
    if (!s3)
        return RT_ERR_NOMEM;
    pthread_mutex_init(&s3->sock_mu, NULL);
    for (size_t i = 0; i < SYNC_SOCKS; i++)
        s3->socks[i] = -1;
    int rc = rt_aws_load(o ? o->profile : NULL, &s3->cfg, ei);
    if (rc != RT_OK) {
        free(s3);
        return rc;
    }
    if (o && o->region && *o->region) {
        free(s3->cfg.region);
        s3->cfg.region = strdup(o->region);
    }
    if (o && o->endpoint && *o->endpoint) {
        free(s3->cfg.endpoint);
        s3->cfg.endpoint = strdup(o->endpoint);
    }
    s3->bucket = strdup(bucket);
    s3->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 30000;
    s3->max_time_ms = o && o->max_time_ms > 0 ? o->max_time_ms : 0;
    s3->max_attempts = o && o->max_attempts > 0 ? o->max_attempts : 5;
    const char *sse = o && o->sse && *o->sse ? o->sse : getenv("RUNTRAIL_SSE");
    if (!sse || !*sse || !strcasecmp(sse, "AES256")) {
        s3->sse_alg = strdup("AES256");
    } else if (!strncmp(sse, "aws:kms", 7) && (sse[7] == '\0' || sse[7] == ':')) {
        s3->sse_alg = strdup("aws:kms");
        if (sse[7] == ':' && sse[8])
            s3->kms_key = strdup(sse + 8);
    } else if (strcasecmp(sse, "none") != 0) {
        rt_s3_close(s3);
        return rt_fail(ei, RT_ERR_STORE_URL, -1,
                       "RUNTRAIL_SSE='%.60s': expected AES256, aws:kms[:KEYID] or none", sse);
    }
    if (!s3->cfg.region || !s3->bucket) {
        rt_s3_close(s3);
        return RT_ERR_NOMEM;
    }
    snprintf(s3->sigv4, sizeof s3->sigv4, "aws:amz:%s:s3", s3->cfg.region);
    size_t cap = strlen(bucket) + strlen(s3->cfg.region) + 64 +
                 (s3->cfg.endpoint ? strlen(s3->cfg.endpoint) : 0);
    s3->base_url = malloc(cap);
    if (!s3->base_url) {
        rt_s3_close(s3);
        return RT_ERR_NOMEM;
    }
    if (s3->cfg.endpoint) {
        /* custom endpoint: path-style */
        size_t el = strlen(s3->cfg.endpoint);
        while (el && s3->cfg.endpoint[el - 1] == '/')
            el--;
        snprintf(s3->base_url, cap, "%.*s/%s", (int)el, s3->cfg.endpoint, bucket);
    } else if (strchr(bucket, '.')) {
        snprintf(s3->base_url, cap, "https://s3.%s.amazonaws.com/%s", s3->cfg.region, bucket);
    } else {
        snprintf(s3->base_url, cap, "https://%s.s3.%s.amazonaws.com", bucket, s3->cfg.region);
    }
    *out = s3;
    return RT_OK;
}

void rt_s3_close(struct rt_s3 *s3)
{
    if (!s3)
        return;
    if (s3->easy)
        curl_easy_cleanup(s3->easy);
    rt_aws_config_free(&s3->cfg);
    free(s3->bucket);
    free(s3->base_url);
    free(s3->sse_alg);
    free(s3->kms_key);
    pthread_mutex_destroy(&s3->sock_mu);
    free(s3);
}

/* ---- one transfer ---- */

struct membuf {
    char *data;
    size_t len, cap, max;
};

static bool membuf_add(struct membuf *m, const void *p, size_t n)
{
    if (m->len + n > m->max)
        return false;
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4096;
        while (cap < m->len + n + 1)
            cap *= 2;
        char *nd = realloc(m->data, cap);
        if (!nd)
            return false;
        m->data = nd;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
    m->data[m->len] = '\0';
    return true;
}

/* A request and everything its transfer needs; reusable across retries. */
struct xfer {
    struct rt_s3 *s3;
    const char *method; /* GET PUT HEAD DELETE */
    const char *action; /* S3 API name, for messages */
    const char *key;    /* NULL for bucket-level requests */
    char *query;        /* canonical query or NULL */
    const uint8_t *body;
    size_t body_len, body_pos;
    const char *out_path; /* GET into a file (via out_path.part) */
    int dir_fd;           /* >= 0: out_path is relative to it, walked beneath it */
    int at_fd;            /* folder the names below are relative to (AT_FDCWD or owned) */
    bool owns_at_fd;
    const char *final_name;
    char *part_path;
    FILE *out;
    uint64_t written;
    uint64_t max_bytes; /* 0 = no limit */
    bool too_big;       /* the body went past max_bytes: the transfer was stopped */
    /* per attempt */
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    long status;
    struct membuf resp;
    char bucket_region[64];
    uint64_t content_length;
    char errbuf[CURL_ERROR_SIZE];
    int attempt;
    int64_t not_before_ms;
    /* multi bookkeeping */
    struct rt_s3_get_item *item;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t want = size * nmemb, left = x->body_len - x->body_pos;
    size_t n = want < left ? want : left;
    if (n)
        memcpy(buf, x->body + x->body_pos, n);
    x->body_pos += n;
    return n;
}

static size_t on_write(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (x->out && status >= 200 && status < 300) {
        if (x->max_bytes && x->written + n > x->max_bytes) {
            x->too_big = true; /* stop reading here, not after the whole object */
            return 0;
        }
        if (fwrite(buf, 1, n, x->out) != n)
            return 0;
        x->written += n;
        if (x->item)
            x->item->bytes = x->written;
        return n;
    }
    if (!membuf_add(&x->resp, buf, n))
        return status >= 200 && status < 300 ? 0 : n; /* error bodies are cut, not fatal */
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    static const char region_h[] = "x-amz-bucket-region:";
    static const char length_h[] = "content-length:";
    if (n > sizeof region_h && !strncasecmp(buf, region_h, sizeof region_h - 1)) {
        const char *v = buf + sizeof region_h - 1;
        size_t vl = n - (sizeof region_h - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        snprintf(x->bucket_region, sizeof x->bucket_region, "%.*s", (int)vl, v);
    } else if (n > sizeof length_h && !strncasecmp(buf, length_h, sizeof length_h - 1)) {
        x->content_length = strtoull(buf + sizeof length_h - 1, NULL, 10);
    }
    return n;
}

static void xfer_reset_attempt(struct xfer *x)
{
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    free(x->url);
    x->url = NULL;
    x->resp.len = 0;
    x->status = 0;
    x->bucket_region[0] = '\0';
    x->content_length = 0;
    x->errbuf[0] = '\0';
    x->body_pos = 0;
    x->written = 0;
    x->too_big = false;
}

/* Closes the file of a GET and the folder it was opened in; removes the temporary file if it
 * is still there (the transfer did not finish). */
static void xfer_close_file(struct xfer *x)
{
    if (x->out) {
        fclose(x->out);
        x->out = NULL;
    }
    if (x->part_path && x->out_path) {
        unlinkat(x->at_fd, x->part_path, 0);
        free(x->part_path);
        x->part_path = NULL;
    }
    if (x->owns_at_fd)
        close(x->at_fd);
    x->owns_at_fd = false;
    x->at_fd = AT_FDCWD;
}

static void xfer_free(struct xfer *x)
{
    xfer_reset_attempt(x);
    free(x->resp.data);
    free(x->query);
    xfer_close_file(x);
}

/* Appends "name: value", or "name:" (removes curl's own header) when value is NULL. */
static struct curl_slist *add_header(struct curl_slist *l, bool *oom, const char *name,
                                     const char *value)
{
    char line[8192];
    if (value)
        snprintf(line, sizeof line, "%s: %s", name, value);
    else
        snprintf(line, sizeof line, "%s:", name);
    struct curl_slist *n = curl_slist_append(l, line);
    if (!n) {
        *oom = true;
        return l;
    }
    return n;
}

void rt_s3_interrupt(struct rt_s3 *s3, bool on)
{
    if (!s3)
        return;
    __atomic_store_n(&s3->interrupted, on ? 1 : 0, __ATOMIC_RELEASE);
    if (!on)
        return;
    pthread_mutex_lock(&s3->sock_mu);
    for (size_t i = 0; i < SYNC_SOCKS; i++)
        if (s3->socks[i] >= 0)
            shutdown(s3->socks[i], SHUT_RDWR);
    pthread_mutex_unlock(&s3->sock_mu);
}

/* The synchronous handle's sockets, as curl would open and close them, noted for
 * rt_s3_interrupt(). */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct rt_s3 *s3 = arg;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    pthread_mutex_lock(&s3->sock_mu);
    for (size_t i = 0; i < SYNC_SOCKS; i++)
        if (s3->socks[i] < 0) {
            s3->socks[i] = fd;
            break;
        }
    if (__atomic_load_n(&s3->interrupted, __ATOMIC_ACQUIRE))
        shutdown(fd, SHUT_RDWR);
    pthread_mutex_unlock(&s3->sock_mu);
    return fd;
}

static int close_socket(void *arg, curl_socket_t fd)
{
    struct rt_s3 *s3 = arg;
    pthread_mutex_lock(&s3->sock_mu);
    for (size_t i = 0; i < SYNC_SOCKS; i++)
        if (s3->socks[i] == fd)
            s3->socks[i] = -1;
    int rc = close(fd);
    pthread_mutex_unlock(&s3->sock_mu);
    return rc;
}

bool rt_s3_interrupted(const struct rt_s3 *s3)
{
    return s3 && __atomic_load_n(&s3->interrupted, __ATOMIC_ACQUIRE) != 0;
}

/* libcurl calls it about once a second, and on every transfer of data: a request in
 * progress ends soon after rt_s3_interrupt(). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return rt_s3_interrupted(arg) ? 1 : 0;
}

/* Builds URL, headers and options of one attempt on x->easy. */
static int xfer_setup(struct xfer *x, struct rt_errinfo *ei)
{
    struct rt_s3 *s3 = x->s3;
    xfer_reset_attempt(x);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rc = rt_aws_refresh(&s3->cfg, now.tv_sec, ei);
    if (rc != RT_OK)
        return rc;
    char *path = x->key ? rt_s3_uri_encode(x->key, strlen(x->key), true) : strdup("");
    if (!path)
        return RT_ERR_NOMEM;
    size_t cap = strlen(s3->base_url) + strlen(path) + (x->query ? strlen(x->query) : 0) + 4;
    x->url = malloc(cap);
    if (!x->url) {
        free(path);
        return RT_ERR_NOMEM;
    }
    snprintf(x->url, cap, "%s/%s%s%s", s3->base_url, path, x->query ? "?" : "",
             x->query ? x->query : "");
    free(path);

    uint8_t digest[RT_SHA256_LEN];
    char hex[2 * RT_SHA256_LEN + 1];
    rt_sha256(x->body ? (const void *)x->body : "", x->body ? x->body_len : 0, digest);
    rt_hex(digest, RT_SHA256_LEN, hex);
    bool oom = false;
    struct curl_slist *h = NULL;
    h = add_header(h, &oom, "x-amz-content-sha256", hex);
    if (!strcmp(x->method, "PUT")) {
        char b64[64];
        EVP_EncodeBlock((unsigned char *)b64, digest, RT_SHA256_LEN);
        h = add_header(h, &oom, "x-amz-checksum-sha256", b64);
        h = add_header(h, &oom, "Content-Type", "application/octet-stream");
        if (s3->sse_alg)
            h = add_header(h, &oom, "x-amz-server-side-encryption", s3->sse_alg);
        if (s3->kms_key)
            h = add_header(h, &oom, "x-amz-server-side-encryption-aws-kms-key-id", s3->kms_key);
    }
    if (s3->cfg.creds.session_token)
        h = add_header(h, &oom, "x-amz-security-token", s3->cfg.creds.session_token);
    x->headers = h;
    if (oom)
        return RT_ERR_NOMEM;

    CURL *c = x->easy;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, x->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, s3->cfg.creds.access_key_id);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s3->cfg.creds.secret_access_key);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s3->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(s3->timeout_ms < 10000 ? s3->timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s3);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "runtrail/" RT_VERSION);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* the key that is signed and fetched is the key that was listed: no dot-segment folding */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (!strcmp(x->method, "PUT")) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, x);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
    } else if (!strcmp(x->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(x->method, "DELETE")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    if (x->out_path) {
        if (x->out)
            fclose(x->out);
        x->out = NULL;
        int fd = openat(x->at_fd, x->part_path,
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 && !(x->out = fdopen(fd, "wb")))
            close(fd);
        if (!x->out)
            return rt_fail(ei, RT_ERR_IO, -1, "%s.part: %s", x->out_path, strerror(errno));
    }
    return RT_OK;
}

enum outcome { DONE, RETRY, FAILED };

static bool retryable_code(const char *code)
{
    static const char *const codes[] = {
        "SlowDown",      "Throttling",         "ThrottlingException",  "RequestTimeout",
        "InternalError", "ServiceUnavailable", "RequestLimitExceeded", "TooManyRequests"};
    for (size_t i = 0; code && i < sizeof codes / sizeof codes[0]; i++)
        if (!strcmp(code, codes[i]))
            return true;
    return false;
}

static bool region_problem(long status, const char *code)
{
    return status == 301 || status == 307 ||
           (code &&
            (!strcmp(code, "PermanentRedirect") || !strcmp(code, "AuthorizationHeaderMalformed") ||
             !strcmp(code, "IllegalLocationConstraintException")));
}

/* Classifies a finished attempt and fills ei for a final failure. */
static enum outcome classify(struct xfer *x, CURLcode cc, struct rt_errinfo *ei, int *err)
{
    struct rt_s3 *s3 = x->s3;
    const char *key = x->key ? x->key : "";
    if (cc == CURLE_WRITE_ERROR && x->too_big) {
        *err = rt_fail(ei, RT_ERR_S3_TOO_LARGE, -1,
                       "%s s3://%s/%s: larger than %" PRIu64 " bytes; stopped reading there",
                       x->action, s3->bucket, key, x->max_bytes);
        return FAILED;
    }
    if (cc != CURLE_OK) {
        *err = rt_fail(ei, RT_ERR_S3_NETWORK, -1, "%s s3://%s/%s: %s", x->action, s3->bucket, key,
                       x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
        return cc == CURLE_WRITE_ERROR || cc == CURLE_URL_MALFORMAT ||
                       cc == CURLE_UNSUPPORTED_PROTOCOL
                   ? FAILED
                   : RETRY;
    }
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    long st = x->status;
    if (st >= 200 && st < 300)
        return DONE;
    struct rt_s3_error e = {0};
    if (x->resp.len)
        rt_s3_parse_error(x->resp.data, x->resp.len, &e);
    const char *code = e.code;
    const char *msg = e.message ? e.message : "";
    enum outcome out = FAILED;
    if (st >= 500 || st == 429 || retryable_code(code)) {
        *err = rt_fail(ei, RT_ERR_S3_HTTP, -1, "%s s3://%s/%s: HTTP %ld %s %s", x->action,
                       s3->bucket, key, st, code ? code : "", msg);
        out = RETRY;
    } else if (region_problem(st, code) ||
               (st == 400 && x->bucket_region[0] && strcmp(x->bucket_region, s3->cfg.region))) {
        const char *right = x->bucket_region[0] ? x->bucket_region : e.region;
        if (right && *right)
            *err = rt_fail(ei, RT_ERR_S3_REGION, -1,
                           "bucket %s is in region %s, not %s (set AWS_REGION=%s)", s3->bucket,
                           right, s3->cfg.region, right);
        else
            *err = rt_fail(ei, RT_ERR_S3_REGION, -1, "bucket %s is not in region %s (%s)",
                           s3->bucket, s3->cfg.region, code ? code : "redirect");
    } else if (st == 403) {
        *err = rt_fail(ei, RT_ERR_S3_DENIED, -1, "%s on s3://%s/%s denied for %.24s (%s): %s%s%s",
                       x->action, s3->bucket, key, s3->cfg.creds.access_key_id,
                       s3->cfg.creds.source, code ? code : "Forbidden", msg[0] ? ": " : "", msg);
    } else if (st == 404) {
        if (code && !strcmp(code, "NoSuchBucket"))
            *err = rt_fail(ei, RT_ERR_S3_NOT_FOUND, -1, "%s: bucket %s does not exist", x->action,
                           s3->bucket);
        else if (x->key)
            *err = rt_fail(ei, RT_ERR_S3_NOT_FOUND, -1, "%s: no object s3://%s/%s", x->action,
                           s3->bucket, key);
        else
            *err = rt_fail(ei, RT_ERR_S3_NOT_FOUND, -1, "%s: s3://%s not found (%s)", x->action,
                           s3->bucket, code ? code : "404");
    } else {
        *err = rt_fail(ei, RT_ERR_S3_HTTP, -1, "%s s3://%s/%s: HTTP %ld %s %s", x->action,
                       s3->bucket, key, st, code ? code : "", msg);
    }
    rt_s3_error_free(&e);
    return out;
}

/* Finishes a successful GET: flush and rename the part file, so a file under its final name
 * is always complete. No fsync: downloads go to a cache that S3 can refill, every bundle is
 * verified when indexed (and again when used), and an fsync per object would cap a parallel
 * pull at the disk's sync rate. */
static int finish_download(struct xfer *x, struct rt_errinfo *ei)
{
    if (!x->out)
        return RT_OK;
    int rc = RT_OK;
    if (fflush(x->out) != 0)
        rc = rt_fail(ei, RT_ERR_IO, -1, "%s.part: %s", x->out_path, strerror(errno));
    if (fclose(x->out) != 0 && rc == RT_OK)
        rc = rt_fail(ei, RT_ERR_IO, -1, "%s.part: %s", x->out_path, strerror(errno));
    x->out = NULL;
    if (rc == RT_OK && renameat(x->at_fd, x->part_path, x->at_fd, x->final_name) != 0)
        rc = rt_fail(ei, RT_ERR_IO, -1, "%s: %s", x->out_path, strerror(errno));
    if (rc == RT_OK) {
        free(x->part_path);
        x->part_path = NULL;
    }
    return rc;
}

/* Makes the folders of out_path and names the temporary file. Beneath dir_fd, names are
 * relative to the open folder (at_fd) that holds the file. */
static int xfer_prepare_file(struct xfer *x, struct rt_errinfo *ei)
{
    x->at_fd = AT_FDCWD;
    if (!x->out_path)
        return RT_OK;
    x->final_name = x->out_path;
    if (x->dir_fd >= 0) {
        int fd = rt_open_parent_beneath(x->dir_fd, x->out_path, true, &x->final_name);
        if (fd < 0)
            return rt_fail(ei, RT_ERR_IO, -1, "%s: %s", x->out_path, strerror(errno));
        x->at_fd = fd;
        x->owns_at_fd = true;
    }
    size_t n = strlen(x->final_name) + 8;
    x->part_path = malloc(n);
    if (!x->part_path)
        return RT_ERR_NOMEM;
    snprintf(x->part_path, n, "%s.part", x->final_name);
    if (x->dir_fd >= 0)
        return RT_OK;
    char *dir = strdup(x->out_path);
    if (!dir)
        return RT_ERR_NOMEM;
    char *slash = strrchr(dir, '/');
    int rc = RT_OK;
    if (slash && slash != dir) {
        *slash = '\0';
        if (rt_mkdir_p(dir) != 0)
            rc = rt_fail(ei, RT_ERR_IO, -1, "%s: %s", dir, strerror(errno));
    }
    free(dir);
    return rc;
}

/* Runs x synchronously with retries. */
static int perform(struct xfer *x, struct rt_errinfo *ei)
{
    struct rt_s3 *s3 = x->s3;
    if (!s3->easy && !(s3->easy = curl_easy_init()))
        return RT_ERR_NOMEM;
    x->easy = s3->easy;
    x->resp.max = MAX_ERROR_BODY;
    if (!strcmp(x->action, "ListObjectsV2"))
        x->resp.max = 64u * 1024 * 1024;
    int rc = xfer_prepare_file(x, ei);
    if (rc != RT_OK)
        return rc;
    int64_t start = mono_ms();
    for (x->attempt = 1;; x->attempt++) {
        if (rt_s3_interrupted(s3))
            return rt_fail(ei, RT_ERR_S3_NETWORK, -1, "%s s3://%s/%s: interrupted", x->action,
                           s3->bucket, x->key ? x->key : "");
        rc = xfer_setup(x, ei);
        if (rc != RT_OK)
            return rc;
        curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, s3);
        curl_easy_setopt(x->easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
        curl_easy_setopt(x->easy, CURLOPT_CLOSESOCKETDATA, s3);
        CURLcode cc = curl_easy_perform(x->easy);
        int err = RT_OK;
        enum outcome o = classify(x, cc, ei, &err);
        if (o == DONE) {
            rt_errinfo_clear(ei);
            return finish_download(x, ei);
        }
        if (o == FAILED || x->attempt >= s3->max_attempts)
            return err;
        int wait = rt_aws_backoff_ms(x->attempt);
        if (s3->max_time_ms && mono_ms() - start + wait >= s3->max_time_ms)
            return err;
        for (int slept = 0; slept < wait && !rt_s3_interrupted(s3); slept += 10)
            usleep((useconds_t)(wait - slept < 10 ? wait - slept : 10) * 1000);
    }
}

/* ---- operations ---- */

int rt_s3_put(struct rt_s3 *s3, const char *key, const void *data, size_t len,
              struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    struct xfer x = {.s3 = s3,
                     .method = "PUT",
                     .action = "PutObject",
                     .key = key,
                     .body = data ? data : (const uint8_t *)"",
                     .body_len = len};
    int rc = perform(&x, ei);
    xfer_free(&x);
    return rc;
}

int rt_s3_get_file(struct rt_s3 *s3, const char *key, const char *path, uint64_t *size,
                   struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    struct xfer x = {.s3 = s3,
                     .method = "GET",
                     .action = "GetObject",
                     .key = key,
                     .out_path = path,
                     .dir_fd = -1,
                     .at_fd = AT_FDCWD};
    int rc = perform(&x, ei);
    if (rc == RT_OK && size)
        *size = x.written;
    xfer_free(&x);
    return rc;
}

int rt_s3_head(struct rt_s3 *s3, const char *key, uint64_t *size, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    struct xfer x = {.s3 = s3, .method = "HEAD", .action = "HeadObject", .key = key};
    int rc = perform(&x, ei);
    if (rc == RT_OK && size)
        *size = x.content_length;
    xfer_free(&x);
    return rc;
}

int rt_s3_delete(struct rt_s3 *s3, const char *key, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    struct xfer x = {.s3 = s3, .method = "DELETE", .action = "DeleteObject", .key = key};
    int rc = perform(&x, ei);
    xfer_free(&x);
    return rc;
}

int rt_s3_list(struct rt_s3 *s3, const char *prefix, const char *delimiter, const char *start_after,
               const char *token, unsigned max_keys, struct rt_s3_list *out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    memset(out, 0, sizeof *out);
    char mk[16];
    snprintf(mk, sizeof mk, "%u", max_keys);
    const char *kv[] = {"list-type",
                        "2",
                        "encoding-type",
                        "url",
                        "prefix",
                        prefix && *prefix ? prefix : NULL,
                        "delimiter",
                        delimiter && *delimiter ? delimiter : NULL,
                        "start-after",
                        start_after && *start_after ? start_after : NULL,
                        "continuation-token",
                        token && *token ? token : NULL,
                        "max-keys",
                        max_keys ? mk : NULL};
    struct xfer x = {.s3 = s3,
                     .method = "GET",
                     .action = "ListObjectsV2",
                     .query = rt_s3_canonical_query(kv, sizeof kv / sizeof kv[0] / 2)};
    if (!x.query)
        return RT_ERR_NOMEM;
    int rc = perform(&x, ei);
    if (rc == RT_OK) {
        rc = rt_s3_parse_list(x.resp.data ? x.resp.data : "", x.resp.len, out);
        if (rc != RT_OK)
            rt_fail(ei, rc, -1, "ListObjectsV2 s3://%s/%s: response is not a listing", s3->bucket,
                    prefix ? prefix : "");
    }
    xfer_free(&x);
    return rc;
}

/* ---- parallel downloads ---- */

int rt_s3_get_many(struct rt_s3 *s3, struct rt_s3_get_item *items, size_t n, int parallel,
                   void (*done)(struct rt_s3_get_item *item, void *arg),
                   void (*progress)(uint64_t bytes, void *arg), void *arg)
{
    if (parallel < 1)
        parallel = 1;
    CURLM *multi = curl_multi_init();
    struct xfer *xs = calloc(n ? n : 1, sizeof *xs);
    if (!multi || !xs) {
        curl_multi_cleanup(multi);
        free(xs);
        return RT_ERR_NOMEM;
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)parallel);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)parallel);
    size_t next = 0, finished = 0;
    int active = 0;
    uint64_t done_bytes = 0;
    /* queue of retries waiting for their backoff */
    size_t *retry = calloc(n ? n : 1, sizeof *retry);
    size_t n_retry = 0;
    if (!retry) {
        curl_multi_cleanup(multi);
        free(xs);
        return RT_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        xs[i] = (struct xfer){.s3 = s3,
                              .method = "GET",
                              .action = "GetObject",
                              .key = items[i].key,
                              .out_path = items[i].path,
                              .dir_fd = items[i].dir_fd,
                              .at_fd = AT_FDCWD,
                              .max_bytes = items[i].max_bytes,
                              .item = &items[i]};
        xs[i].resp.max = MAX_ERROR_BODY;
        rt_errinfo_clear(&items[i].info);
        items[i].result = RT_OK;
        items[i].bytes = 0;
    }
    CURL **pool = calloc((size_t)parallel, sizeof *pool);
    int n_pool = 0;
    while (finished < n) {
        int64_t now = mono_ms();
        /* start transfers: retries whose time has come first, then new ones */
        while (active < parallel) {
            struct xfer *x = NULL;
            for (size_t r = 0; r < n_retry; r++) {
                if (xs[retry[r]].not_before_ms <= now) {
                    x = &xs[retry[r]];
                    retry[r] = retry[--n_retry];
                    break;
                }
            }
            if (!x && next < n) {
                x = &xs[next++];
                x->attempt = 0;
                int prc = xfer_prepare_file(x, &x->item->info);
                if (prc != RT_OK) {
                    x->item->result = prc;
                    finished++;
                    if (done)
                        done(x->item, arg);
                    continue;
                }
            }
            if (!x)
                break;
            x->attempt++;
            x->easy = n_pool ? pool[--n_pool] : curl_easy_init();
            int src = x->easy ? xfer_setup(x, &x->item->info) : RT_ERR_NOMEM;
            if (src != RT_OK) {
                if (x->easy)
                    curl_easy_cleanup(x->easy);
                x->easy = NULL;
                x->item->result = src;
                finished++;
                if (done)
                    done(x->item, arg);
                continue;
            }
            curl_multi_add_handle(multi, x->easy);
            active++;
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *easy = msg->easy_handle;
            CURLcode cc = msg->data.result;
            struct xfer *x = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(multi, easy);
            active--;
            int err = RT_OK;
            struct rt_errinfo *ei = &x->item->info;
            enum outcome o = classify(x, cc, ei, &err);
            if (o == DONE) {
                rt_errinfo_clear(ei);
                err = finish_download(x, ei);
            }
            if (n_pool < parallel)
                pool[n_pool++] = easy;
            else
                curl_easy_cleanup(easy);
            x->easy = NULL;
            if (o == RETRY && x->attempt < s3->max_attempts) {
                x->not_before_ms = mono_ms() + rt_aws_backoff_ms(x->attempt);
                retry[n_retry++] = (size_t)(x - xs);
                continue;
            }
            x->item->result = o == DONE ? err : err ? err : RT_ERR_S3_HTTP;
            if (x->item->result == RT_OK)
                done_bytes += x->written;
            xfer_close_file(x); /* one open folder per running transfer, not per item */
            finished++;
            if (done)
                done(x->item, arg);
        }
        if (progress) {
            uint64_t inflight = 0;
            for (size_t i = 0; i < next; i++)
                if (xs[i].easy)
                    inflight += xs[i].written;
            progress(done_bytes + inflight, arg);
        }
        if (finished >= n)
            break;
        /* Refill free slots at once; wait for sockets only when there is nothing to start. */
        bool startable = active < parallel && next < n;
        int64_t wait_ms = active ? 100 : 20;
        for (size_t r = 0; r < n_retry && active < parallel; r++) {
            int64_t due = xs[retry[r]].not_before_ms - mono_ms();
            if (due <= 0)
                startable = true;
            else if (due < wait_ms)
                wait_ms = due;
        }
        if (!startable)
            curl_multi_poll(multi, NULL, 0, (int)wait_ms, NULL);
    }
    for (int i = 0; i < n_pool; i++)
        curl_easy_cleanup(pool[i]);
    free(pool);
    for (size_t i = 0; i < n; i++)
        xfer_free(&xs[i]);
    free(xs);
    free(retry);
    curl_multi_cleanup(multi);
    return RT_OK;
}
