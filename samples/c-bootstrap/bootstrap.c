/* A Lambda custom runtime in C (the `bootstrap` of a provided.al2023 function), written
 * against the Runtime API with libcurl and jansson. Its handler does what a small real
 * function does — reads a file from the task root, calls an upstream HTTP service
 * (SAMPLE_UPSTREAM_URL) and runs one child process — and answers with a summary of the event
 * (API Gateway proxy, S3 put or SQS batch). Test hooks in the event: {"fail": "message"}
 * reports a function error, {"sleep_ms": N} sleeps, {"crash": N} exits with status N,
 * {"noop": true} answers {"ok":true} at once (benchmarks of the round trip). */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct buf {
    char *data;
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
    struct buf *b = userdata;
    size_t add = size * n;
    char *d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, add);
    b->data = d;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
    char *request_id = userdata;
    size_t len = size * n;
    static const char name[] = "Lambda-Runtime-Aws-Request-Id:";
    if (len > sizeof name && !strncasecmp(p, name, sizeof name - 1)) {
        const char *v = p + sizeof name - 1;
        while (*v == ' ')
            v++;
        size_t vlen = len - (size_t)(v - p);
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        if (vlen < 64) {
            memcpy(request_id, v, vlen);
            request_id[vlen] = '\0';
        }
    }
    return len;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        on_body(chunk, 1, n, &b);
    fclose(f);
    return b.data ? b.data : strdup("");
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* The upstream call: GET SAMPLE_UPSTREAM_URL, body trimmed. */
static json_t *call_upstream(CURL *curl)
{
    const char *url = getenv("SAMPLE_UPSTREAM_URL");
    if (!url || !*url)
        return json_string("unset");
    struct buf b = {0};
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(curl);
    json_t *out;
    if (rc != CURLE_OK) {
        out = json_string(curl_easy_strerror(rc));
    } else {
        trim(b.data ? b.data : "");
        out = json_string(b.data ? b.data : "");
    }
    free(b.data);
    return out ? out : json_string("invalid");
}

/* The child process: `uname -s`, its first line. */
static json_t *run_child(void)
{
    FILE *p = popen("uname -s", "r");
    if (!p)
        return json_string("popen failed");
    char line[256] = "";
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    pclose(p);
    trim(line);
    return json_string(line);
}

static const char *record_source(json_t *event)
{
    json_t *records = json_object_get(event, "Records");
    json_t *first = json_array_get(records, 0);
    return json_string_value(json_object_get(first, "eventSource"));
}

/* Returns the response document (caller frees) or sets *error. */
static char *handle(json_t *event, CURL *upstream, char **error)
{
    json_t *fail = json_object_get(event, "fail");
    if (json_is_string(fail)) {
        *error = strdup(json_string_value(fail));
        return NULL;
    }
    json_t *sleep_ms = json_object_get(event, "sleep_ms");
    if (json_is_integer(sleep_ms)) {
        json_int_t ms = json_integer_value(sleep_ms);
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    if (json_is_true(json_object_get(event, "noop"))) /* the emulator's own round trip */
        return strdup("{\"ok\":true}");
    json_t *crash = json_object_get(event, "crash");
    if (json_is_integer(crash))
        exit((int)json_integer_value(crash));

    json_t *out = json_object();
    json_object_set_new(out, "runtime", json_string("c"));
    const char *source = record_source(event);
    bool apigw = json_is_string(json_object_get(event, "httpMethod"));
    const char *kind = apigw                                  ? "apigw"
                       : source && !strcmp(source, "aws:s3")  ? "s3"
                       : source && !strcmp(source, "aws:sqs") ? "sqs"
                                                              : "other";
    json_object_set_new(out, "kind", json_string(kind));
    char path[4200];
    const char *root = getenv("LAMBDA_TASK_ROOT");
    snprintf(path, sizeof path, "%s/config.json", root ? root : ".");
    char *config_text = read_file(path);
    json_t *config = config_text ? json_loads(config_text, 0, NULL) : NULL;
    free(config_text);
    json_t *greeting = json_object_get(config, "greeting");
    json_object_set_new(out, "greeting",
                        json_is_string(greeting) ? json_copy(greeting) : json_string("no config"));
    json_decref(config);
    json_object_set_new(out, "upstream", call_upstream(upstream));
    json_object_set_new(out, "child", run_child());
    json_t *records = json_object_get(event, "Records");
    if (apigw) {
        json_object_set(out, "method", json_object_get(event, "httpMethod"));
        json_object_set(out, "path", json_object_get(event, "path"));
    } else if (!strcmp(kind, "s3")) {
        json_t *s3 = json_object_get(json_array_get(records, 0), "s3");
        json_object_set(out, "bucket", json_object_get(json_object_get(s3, "bucket"), "name"));
        json_object_set(out, "key", json_object_get(json_object_get(s3, "object"), "key"));
    } else if (!strcmp(kind, "sqs")) {
        json_t *ids = json_array();
        for (size_t i = 0; i < json_array_size(records); i++)
            json_array_append(ids, json_object_get(json_array_get(records, i), "messageId"));
        json_object_set_new(out, "messages", json_integer((json_int_t)json_array_size(records)));
        json_object_set_new(out, "ids", ids);
    }
    char *summary = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    if (!apigw)
        return summary;
    /* API Gateway proxy integration: the summary is the HTTP body. */
    json_t *resp = json_object();
    json_object_set_new(resp, "statusCode", json_integer(200));
    json_t *headers = json_object();
    json_object_set_new(headers, "Content-Type", json_string("application/json"));
    json_object_set_new(resp, "headers", headers);
    json_object_set_new(resp, "body", json_string(summary));
    free(summary);
    char *doc = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(resp);
    return doc;
}

static size_t discard(char *p, size_t size, size_t n, void *userdata)
{
    (void)p, (void)userdata;
    return size * n;
}

static int post(CURL *curl, const char *url, const char *body, struct curl_slist *headers)
{
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    return curl_easy_perform(curl) == CURLE_OK ? 0 : -1;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) {
        fprintf(stderr, "bootstrap: AWS_LAMBDA_RUNTIME_API is not set\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *runtime = curl_easy_init(), *upstream = curl_easy_init();
    char url[512];
    for (;;) {
        char request_id[64] = "";
        struct buf event = {0};
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/next", api);
        curl_easy_reset(runtime);
        curl_easy_setopt(runtime, CURLOPT_URL, url);
        curl_easy_setopt(runtime, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(runtime, CURLOPT_WRITEDATA, &event);
        curl_easy_setopt(runtime, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(runtime, CURLOPT_HEADERDATA, request_id);
        long status = 0;
        if (curl_easy_perform(runtime) != CURLE_OK ||
            curl_easy_getinfo(runtime, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
            status != 200 || !request_id[0]) {
            free(event.data);
            fprintf(stderr, "bootstrap: /next failed (status %ld)\n", status);
            return 1;
        }
        json_t *doc = json_loadb(event.data ? event.data : "", event.len, 0, NULL);
        free(event.data);
        char *error = NULL;
        char *response = handle(doc, upstream, &error);
        json_decref(doc);
        if (response) {
            snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/response", api,
                     request_id);
            post(runtime, url, response, NULL);
            free(response);
        } else {
            json_t *err = json_object();
            json_object_set_new(err, "errorMessage", json_string(error ? error : "unknown"));
            json_object_set_new(err, "errorType", json_string("SampleError"));
            char *body = json_dumps(err, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(err);
            free(error);
            snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/error", api,
                     request_id);
            struct curl_slist *h =
                curl_slist_append(NULL, "Lambda-Runtime-Function-Error-Type: SampleError");
            post(runtime, url, body ? body : "{}", h);
            curl_slist_free_all(h);
            free(body);
        }
    }
}
