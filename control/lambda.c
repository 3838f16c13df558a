/* The Lambda REST client: one synchronous libcurl handle (keep-alive), SigV4 by libcurl
 * (CURLOPT_AWS_SIGV4 with service "lambda"; it hashes the POSTFIELDS body itself), JSON in and
 * out by jansson, and Lambda's error answers ({"Type","message"} with x-amzn-ErrorType) turned
 * into errors that say which action was refused for which function. Retries: throttling, 5xx
 * and network errors with capped exponential backoff and full jitter; ResourceConflictException
 * (the function is being updated) with the same backoff until conflict_ms has passed. */
#include "control/lambda.h"
#include "formats/toolbox.h"
#include "store/aws.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY (16 * 1024 * 1024)

struct rt_lambda {
    struct rt_aws_config cfg;
    char *base_url; /* scheme://host[:port] */
    char sigv4[96];
    int timeout_ms, max_attempts, conflict_ms;
    unsigned requests;
    CURL *easy;
};

struct resp {
    char *data;
    size_t len, cap;
    char error_type[128]; /* x-amzn-ErrorType, up to ':' */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

const char *rt_lambda_region(const struct rt_lambda *l)
{
    return l->cfg.region;
}

const char *rt_lambda_endpoint(const struct rt_lambda *l)
{
    return l->base_url;
}

unsigned rt_lambda_requests(const struct rt_lambda *l)
{
    return l->requests;
}

int rt_lambda_open(const struct rt_lambda_options *o, struct rt_lambda **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    if (!out)
        return RT_ERR_INVALID_ARG;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return rt_fail(ei, RT_ERR_NO_LIBCURL, -1, "curl_global_init failed");
    struct rt_lambda *l = calloc(1, sizeof *l);
    if (!l)
        return RT_ERR_NOMEM;
    int rc = rt_aws_load(o ? o->profile : NULL, &l->cfg, ei);
    if (rc != RT_OK) {
        free(l);
        return rc;
    }
    if (o && o->region && *o->region) {
        free(l->cfg.region);
        l->cfg.region = strdup(o->region);
    }
    /* the endpoint store/aws.h found is S3's: Lambda has its own */
    const char *ep = o && o->endpoint && *o->endpoint ? o->endpoint : NULL;
    static const char *const env_names[] = {"RUNTRAIL_LAMBDA_ENDPOINT", "AWS_ENDPOINT_URL_LAMBDA",
                                            "AWS_ENDPOINT_URL"};
    for (size_t i = 0; !ep && i < sizeof env_names / sizeof *env_names; i++) {
        const char *v = getenv(env_names[i]);
        if (v && *v)
            ep = v;
    }
    char aws_ep[128];
    if (!ep && l->cfg.region) {
        snprintf(aws_ep, sizeof aws_ep, "https://lambda.%s.amazonaws.com", l->cfg.region);
        ep = aws_ep;
    }
    l->base_url = ep ? strdup(ep) : NULL;
    l->easy = curl_easy_init();
    if (!l->cfg.region || !l->base_url || !l->easy) {
        rt_lambda_close(l);
        return RT_ERR_NOMEM;
    }
    size_t el = strlen(l->base_url);
    while (el && l->base_url[el - 1] == '/')
        l->base_url[--el] = '\0';
    snprintf(l->sigv4, sizeof l->sigv4, "aws:amz:%s:lambda", l->cfg.region);
    l->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 30000;
    l->max_attempts = o && o->max_attempts > 0 ? o->max_attempts : 5;
    l->conflict_ms = o && o->conflict_ms > 0 ? o->conflict_ms : 60000;
    *out = l;
    return RT_OK;
}

void rt_lambda_close(struct rt_lambda *l)
{
    if (!l)
        return;
    if (l->easy)
        curl_easy_cleanup(l->easy);
    rt_aws_config_free(&l->cfg);
    free(l->base_url);
    free(l);
}

static size_t on_write(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct resp *r = ud;
    size_t n = size * nmemb;
    if (r->len + n > MAX_BODY)
        return 0;
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *nd = realloc(r->data, cap);
        if (!nd)
            return 0;
        r->data = nd;
        r->cap = cap;
    }
    memcpy(r->data + r->len, buf, n);
    r->len += n;
    r->data[r->len] = '\0';
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct resp *r = ud;
    size_t n = size * nmemb;
    static const char h[] = "x-amzn-errortype:";
    if (n > sizeof h && !strncasecmp(buf, h, sizeof h - 1)) {
        const char *v = buf + sizeof h - 1;
        size_t vl = n - (sizeof h - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        size_t k = 0;
        while (k < vl && v[k] != ':' && v[k] != '\r' && v[k] != '\n' &&
               k + 1 < sizeof r->error_type) {
            r->error_type[k] = v[k];
            k++;
        }
        r->error_type[k] = '\0';
    }
    return n;
}

enum outcome { DONE, RETRY, CONFLICT, FAILED };

static bool has(const char *s, const char *what)
{
    return s && strstr(s, what) != NULL;
}

/* Classifies a finished attempt and fills ei for a failure. */
static enum outcome classify(struct rt_lambda *l, const char *action, const char *path, CURLcode cc,
                             const char *errbuf, long st, struct resp *r, struct rt_errinfo *ei,
                             int *err)
{
    if (cc != CURLE_OK) {
        *err = rt_fail(ei, RT_ERR_LAMBDA_NETWORK, -1, "%s %s: %s", action, l->base_url,
                       errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? FAILED : RETRY;
    }
    if (st >= 200 && st < 300)
        return DONE;
    /* {"Type": "User", "message": "..."} or {"__type": ..., "Message": ...} */
    json_t *j = r->len ? json_loadb(r->data, r->len, 0, NULL) : NULL;
    const char *type = r->error_type[0] ? r->error_type : NULL;
    const char *msg = NULL;
    if (json_is_object(j)) {
        if (!type)
            type = json_string_value(json_object_get(j, "__type"));
        msg = json_string_value(json_object_get(j, "message"));
        if (!msg)
            msg = json_string_value(json_object_get(j, "Message"));
    }
    if (type && strchr(type, '#'))
        type = strchr(type, '#') + 1;
    if (!msg)
        msg = "";
    enum outcome out = FAILED;
    const char *what = path;
    if (st == 429 || st >= 500 || has(type, "Throttl") || has(type, "TooManyRequests")) {
        *err = rt_fail(ei, RT_ERR_LAMBDA_HTTP, -1, "%s (%s): HTTP %ld %s %s", action, what, st,
                       type ? type : "", msg);
        out = RETRY;
    } else if (has(type, "ResourceConflict")) {
        *err = rt_fail(ei, RT_ERR_LAMBDA_CONFLICT, -1, "%s (%s): ResourceConflictException: %s",
                       action, what, msg);
        out = CONFLICT;
    } else if (has(type, "PreconditionFailed")) {
        *err = rt_fail(ei, RT_ERR_LAMBDA_CHANGED, -1, "%s (%s): %s", action, what, msg);
    } else if (has(type, "InvalidSignature") || has(type, "UnrecognizedClient") ||
               has(type, "ExpiredToken") || has(type, "MissingAuthenticationToken")) {
        *err = rt_fail(ei, RT_ERR_LAMBDA_DENIED, -1,
                       "%s: Lambda refused the credentials %.24s (%s): %s: %s", action,
                       l->cfg.creds.access_key_id, l->cfg.creds.source, type, msg);
    } else if (st == 403 || has(type, "AccessDenied")) {
        *err =
            rt_fail(ei, RT_ERR_LAMBDA_DENIED, -1, "lambda:%s on %s denied for %.24s (%s): %s%s%s",
                    action, what, l->cfg.creds.access_key_id, l->cfg.creds.source,
                    type ? type : "AccessDeniedException", msg[0] ? ": " : "", msg);
    } else if (st == 404 || has(type, "ResourceNotFound")) {
        *err = rt_fail(ei, RT_ERR_LAMBDA_NOT_FOUND, -1, "%s: %s", action, msg[0] ? msg : what);
    } else if (st == 400) {
        *err = rt_fail(ei, RT_ERR_LAMBDA_INVALID, -1, "%s (%s): %s: %s", action, what,
                       type ? type : "HTTP 400", msg);
    } else {
        *err = rt_fail(ei, RT_ERR_LAMBDA_HTTP, -1, "%s (%s): HTTP %ld %s %s", action, what, st,
                       type ? type : "", msg);
    }
    json_decref(j);
    return out;
}

int rt_lambda_call(struct rt_lambda *l, const char *action, const char *method, const char *path,
                   const char *query, json_t *body, json_t **out, struct rt_errinfo *ei)
{
    rt_errinfo_clear(ei);
    char *body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !body_text)
        return RT_ERR_NOMEM;
    size_t cap = strlen(l->base_url) + strlen(path) + (query ? strlen(query) : 0) + 4;
    char *url = malloc(cap);
    if (!url) {
        free(body_text);
        return RT_ERR_NOMEM;
    }
    snprintf(url, cap, "%s%s%s%s", l->base_url, path, query && *query ? "?" : "",
             query && *query ? query : "");
    struct curl_slist *h = NULL;
    char token[8192];
    h = curl_slist_append(h, "Content-Type: application/json");
    h = h ? curl_slist_append(h, "Accept: application/json") : NULL;
    if (h && l->cfg.creds.session_token) {
        snprintf(token, sizeof token, "x-amz-security-token: %s", l->cfg.creds.session_token);
        struct curl_slist *n = curl_slist_append(h, token);
        if (!n) {
            curl_slist_free_all(h);
            h = NULL;
        } else {
            h = n;
        }
    }
    if (!h) {
        free(body_text);
        free(url);
        return RT_ERR_NOMEM;
    }
    struct resp r = {0};
    char errbuf[CURL_ERROR_SIZE];
    int rc = RT_OK;
    int64_t started = rt_clock_mono_ns() / 1000000;
    for (int attempt = 1;; attempt++) {
        CURL *c = l->easy;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        rc = rt_aws_refresh(&l->cfg, now.tv_sec, ei);
        if (rc != RT_OK)
            break;
        r.len = 0;
        r.error_type[0] = '\0';
        errbuf[0] = '\0';
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, l->sigv4);
        curl_easy_setopt(c, CURLOPT_USERNAME, l->cfg.creds.access_key_id);
        curl_easy_setopt(c, CURLOPT_PASSWORD, l->cfg.creds.secret_access_key);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)l->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(l->timeout_ms < 10000 ? l->timeout_ms : 10000));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "runtrail/" RT_VERSION);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (body_text) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body_text);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body_text));
        }
        if (strcmp(method, body_text ? "POST" : "GET") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        l->requests++;
        CURLcode cc = curl_easy_perform(c);
        long st = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        enum outcome oc = classify(l, action, path, cc, errbuf, st, &r, ei, &rc);
        if (oc == DONE) {
            rc = RT_OK;
            json_error_t je;
            json_t *j = r.len ? json_loadb(r.data, r.len, 0, &je) : json_object();
            if (!j) {
                rc = rt_fail(ei, RT_ERR_LAMBDA_RESPONSE, -1, "%s: answer is not JSON: %s (line %d)",
                             action, je.text, je.line);
            } else if (out) {
                *out = j;
            } else {
                json_decref(j);
            }
            break;
        }
        bool again = (oc == RETRY && attempt < l->max_attempts) ||
                     (oc == CONFLICT && rt_clock_mono_ns() / 1000000 - started < l->conflict_ms);
        if (!again)
            break;
        sleep_ms(rt_aws_backoff_ms(attempt));
    }
    curl_slist_free_all(h);
    free(r.data);
    free(url);
    free(body_text);
    return rc;
}

static bool name_ok(const char *s, size_t n);

/* Names only (see lambda.h): anything else would be signed wrong or change the path. */
static int function_path(char *out, size_t cap, const char *name, const char *tail)
{
    if (!name || !name_ok(name, strlen(name)))
        return RT_ERR_INVALID_ARG;
    int n = snprintf(out, cap, "/2015-03-31/functions/%s%s", name, tail);
    return n > 0 && (size_t)n < cap ? RT_OK : RT_ERR_INVALID_ARG;
}

int rt_lambda_get_configuration(struct rt_lambda *l, const char *name, json_t **out,
                                struct rt_errinfo *ei)
{
    char path[256];
    if (function_path(path, sizeof path, name, "/configuration") != RT_OK)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "not a function name: %.40s", name);
    return rt_lambda_call(l, "GetFunctionConfiguration", "GET", path, NULL, NULL, out, ei);
}

int rt_lambda_get_function(struct rt_lambda *l, const char *name, json_t **out,
                           struct rt_errinfo *ei)
{
    char path[256];
    if (function_path(path, sizeof path, name, "") != RT_OK)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "not a function name: %.40s", name);
    return rt_lambda_call(l, "GetFunction", "GET", path, NULL, NULL, out, ei);
}

int rt_lambda_update_configuration(struct rt_lambda *l, const char *name, json_t *body,
                                   json_t **out, struct rt_errinfo *ei)
{
    char path[256];
    if (function_path(path, sizeof path, name, "/configuration") != RT_OK)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "not a function name: %.40s", name);
    return rt_lambda_call(l, "UpdateFunctionConfiguration", "PUT", path, NULL, body, out, ei);
}

int rt_lambda_wait_updated(struct rt_lambda *l, const char *name, int timeout_ms, json_t **out,
                           unsigned *polls, struct rt_errinfo *ei)
{
    int64_t deadline = rt_clock_mono_ns() / 1000000 + timeout_ms;
    int delay = 100;
    for (;;) {
        json_t *cfg = NULL;
        int rc = rt_lambda_get_configuration(l, name, &cfg, ei);
        if (polls)
            (*polls)++;
        if (rc != RT_OK)
            return rc;
        const char *st = json_string_value(json_object_get(cfg, "LastUpdateStatus"));
        if (!st || !strcmp(st, "Successful")) {
            *out = cfg;
            return RT_OK;
        }
        if (!strcmp(st, "Failed")) {
            const char *why = json_string_value(json_object_get(cfg, "LastUpdateStatusReason"));
            const char *code =
                json_string_value(json_object_get(cfg, "LastUpdateStatusReasonCode"));
            rc = rt_fail(ei, RT_ERR_LAMBDA_UPDATE_FAILED, -1, "%s: %s%s%s", name,
                         code ? code : "Failed", why ? ": " : "", why ? why : "");
            json_decref(cfg);
            return rc;
        }
        json_decref(cfg);
        if (rt_clock_mono_ns() / 1000000 >= deadline)
            return rt_fail(ei, RT_ERR_LAMBDA_TIMEOUT, -1,
                           "%s: LastUpdateStatus still %s after %d ms", name, st, timeout_ms);
        sleep_ms(delay);
        delay = delay < 1000 ? delay * 2 : 1000;
    }
}

int rt_lambda_list_functions(struct rt_lambda *l, json_t **out, struct rt_errinfo *ei)
{
    json_t *all = json_array();
    if (!all)
        return RT_ERR_NOMEM;
    char *marker = NULL;
    int rc = RT_OK;
    for (;;) {
        char *query = NULL;
        if (marker) {
            char *enc = curl_easy_escape(NULL, marker, 0);
            if (!enc) {
                rc = RT_ERR_NOMEM;
                break;
            }
            /* curl_easy_escape encodes everything but A-Z a-z 0-9 - . _ ~, as SigV4 wants */
            size_t n = strlen(enc) + 16;
            query = malloc(n);
            if (query)
                snprintf(query, n, "Marker=%s", enc);
            curl_free(enc);
            if (!query) {
                rc = RT_ERR_NOMEM;
                break;
            }
        }
        json_t *page = NULL;
        rc = rt_lambda_call(l, "ListFunctions", "GET", "/2015-03-31/functions/", query, NULL, &page,
                            ei);
        free(query);
        if (rc != RT_OK)
            break;
        json_t *fns = json_object_get(page, "Functions");
        if (fns && !json_is_array(fns)) {
            json_decref(page);
            rc = rt_fail(ei, RT_ERR_LAMBDA_RESPONSE, -1, "ListFunctions: Functions is no array");
            break;
        }
        json_array_extend(all, fns ? fns : json_array());
        const char *next = json_string_value(json_object_get(page, "NextMarker"));
        free(marker);
        marker = next && *next ? strdup(next) : NULL;
        json_decref(page);
        if (!marker)
            break;
    }
    free(marker);
    if (rc != RT_OK) {
        json_decref(all);
        return rc;
    }
    *out = all;
    return RT_OK;
}

int rt_lambda_publish_layer(struct rt_lambda *l, const char *layer_name, const void *zip,
                            size_t zip_len, const char *architecture, const char *description,
                            json_t **out, struct rt_errinfo *ei)
{
    char path[256];
    int n = snprintf(path, sizeof path, "/2018-10-31/layers/%s/versions", layer_name);
    if (n < 0 || (size_t)n >= sizeof path)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "layer name too long");
    if (zip_len > 100u * 1024 * 1024)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "layer zip of %zu bytes is too large", zip_len);
    char *b64 = malloc(4 * ((zip_len + 2) / 3) + 1);
    if (!b64)
        return RT_ERR_NOMEM;
    EVP_EncodeBlock((unsigned char *)b64, zip, (int)zip_len);
    /* the Amazon Linux 2023 runtimes (control/enable.c refuses the older ones) */
    json_t *body =
        json_pack("{s:s, s:{s:s}, s:[s], s:[s,s,s,s,s,s,s,s,s]}", "Description", description,
                  "Content", "ZipFile", b64, "CompatibleArchitectures", architecture,
                  "CompatibleRuntimes", "nodejs20.x", "nodejs22.x", "python3.12", "python3.13",
                  "java21", "dotnet8", "ruby3.3", "ruby3.4", "provided.al2023");
    free(b64);
    if (!body)
        return RT_ERR_NOMEM;
    int rc = rt_lambda_call(l, "PublishLayerVersion", "POST", path, NULL, body, out, ei);
    json_decref(body);
    return rc;
}

int rt_lambda_get_layer_version(struct rt_lambda *l, const char *layer_name, long version,
                                json_t **out, struct rt_errinfo *ei)
{
    char path[256];
    int n = snprintf(path, sizeof path, "/2018-10-31/layers/%s/versions/%ld", layer_name, version);
    if (n < 0 || (size_t)n >= sizeof path)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "layer name too long");
    return rt_lambda_call(l, "GetLayerVersion", "GET", path, NULL, NULL, out, ei);
}

/* ---- names and ARNs ---- */

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 140)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void copy_part(char *dst, size_t cap, const char *s, size_t n)
{
    snprintf(dst, cap, "%.*s", (int)(n < cap - 1 ? n : cap - 1), s);
}

int rt_lambda_parse_arn(const char *s, struct rt_lambda_arn *out, struct rt_errinfo *ei)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "no function name");
    const char *parts[9];
    size_t lens[9], np = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ':');
        if (np == 9)
            return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "'%.80s': too many ':' parts", s);
        parts[np] = p;
        lens[np] = c ? (size_t)(c - p) : strlen(p);
        np++;
        if (!c)
            break;
        p = c + 1;
    }
    size_t name_at;
    if (np == 1) {
        name_at = 0;
    } else if (np >= 3 && lens[0] == 3 && !strncmp(parts[0], "arn", 3)) {
        if (np < 7 || strncmp(parts[2], "lambda", lens[2]) || lens[2] != 6)
            return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "'%.80s': not a Lambda function ARN", s);
        copy_part(out->partition, sizeof out->partition, parts[1], lens[1]);
        copy_part(out->region, sizeof out->region, parts[3], lens[3]);
        copy_part(out->account, sizeof out->account, parts[4], lens[4]);
        if (lens[5] == 5 && !strncmp(parts[5], "layer", 5)) {
            out->is_layer = true;
            char *end = NULL;
            out->version = np == 8 ? strtol(parts[7], &end, 10) : 0;
            if (np != 8 || !end || *end || out->version <= 0)
                return rt_fail(ei, RT_ERR_INVALID_ARG, -1,
                               "'%.80s': a layer ARN ends with :NAME:VERSION", s);
        } else if (!(lens[5] == 8 && !strncmp(parts[5], "function", 8))) {
            return rt_fail(ei, RT_ERR_INVALID_ARG, -1, "'%.80s': not a function or layer ARN", s);
        } else if (np == 8) {
            return rt_fail(ei, RT_ERR_INVALID_ARG, -1,
                           "'%.80s': a qualified ARN (version or alias '%.*s'); enable changes "
                           "the unpublished function ($LATEST): name it without the qualifier",
                           s, (int)lens[7], parts[7]);
        }
        name_at = 6;
    } else if (np == 3 && lens[1] == 8 && !strncmp(parts[1], "function", 8)) {
        copy_part(out->account, sizeof out->account, parts[0], lens[0]);
        name_at = 2;
    } else {
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1,
                       "'%.80s': expected a function name, ARN or ACCOUNT:function:NAME", s);
    }
    if (!name_ok(parts[name_at], lens[name_at]))
        return rt_fail(ei, RT_ERR_INVALID_ARG, -1,
                       "'%.80s': a function or layer name has 1 to 140 of A-Z a-z 0-9 - _", s);
    copy_part(out->name, sizeof out->name, parts[name_at], lens[name_at]);
    return RT_OK;
}
