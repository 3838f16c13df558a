/* The emulator's HTTP side: the Lambda Runtime API (2018-06-01) and Extensions API
 * (2020-01-01) on libmicrohttpd, HTTP/1.1 with keep-alive, one thread per connection so that
 * the long-polling /next calls simply block on the emulator's condition variable. Status
 * codes, headers and bodies follow AWS's API reference: 200/202 on success, 400 for malformed
 * requests and unknown request ids, 403 for unknown extension identifiers and calls in the
 * wrong phase, 413 for responses over Lambda's payload limit, 500 when the sandbox is going
 * away. Error bodies are Lambda's {"errorMessage","errorType"}. Also the subscription endpoint
 * of the Telemetry API (PUT /2022-07-01/telemetry, and the older /2020-08-15/logs), whose
 * deliveries emulator_telemetry.c makes. */
#include "replay/emulator_int.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUNTIME_PREFIX "/2018-06-01/runtime/"
#define EXTENSION_PREFIX "/2020-01-01/extension/"

/* One HTTP request being received. */
struct request {
    char *body;
    size_t len, cap;
    size_t limit; /* bytes kept; more sets too_big */
    bool too_big;
    size_t received; /* total body bytes seen */
};

/* RUNTRAIL_EMU_TRACE=1: one line per API call on the log descriptor (set at start). */
static int trace_fd = -1;

static void trace_call(struct MHD_Connection *c, unsigned status, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    unsigned port = 0;
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_port);
    dprintf(trace_fd, "runtrail emulator: [client :%u] -> %u (%zu bytes)\n", port, status, len);
}

void emu_trace(const char *fmt, ...)
{
    if (trace_fd < 0)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dprintf(trace_fd, "runtrail emulator: %s\n", line);
}

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                                 const char *const *headers)
{
    if (trace_fd >= 0)
        trace_call(c, status, len);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : "", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    for (const char *const *h = headers; h && h[0]; h += 2)
        if (h[1])
            MHD_add_response_header(r, h[0], h[1]);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, const char *json)
{
    char *copy = strdup(json);
    return send_body(c, status, copy, copy ? strlen(copy) : 0, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *message)
{
    char *body = rt_emu_error_json(type, message);
    return send_body(c, status, body, body ? strlen(body) : 0, NULL);
}

static enum MHD_Result send_accepted(struct MHD_Connection *c)
{
    return send_json(c, 202, "{\"status\":\"OK\"}");
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* ---- Runtime API ---- */

static enum MHD_Result runtime_next(struct rt_emu *emu, struct MHD_Connection *c)
{
    pthread_mutex_lock(&emu->mu);
    unsigned gen = emu->gen;
    if (!emu->up) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 500, "Runtime.NoSandbox", "No execution environment is running");
    }
    emu->runtime_ready = true;
    emu->registration_open = false;
    emu->runtime_waiting = true;
    pthread_cond_broadcast(&emu->cv);
    while (!emu->inv_pending && emu->gen == gen && !emu->stopping)
        pthread_cond_wait(&emu->cv, &emu->mu);
    if (emu->gen != gen || emu->stopping) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 500, "Runtime.Shutdown", "The execution environment is shutting down");
    }
    emu->runtime_waiting = false;
    emu->inv_pending = false;
    emu->inv_active = true;
    const struct rt_emu_request *req = emu->req;
    size_t len = req->payload_len;
    char *payload = malloc(len + 1);
    if (payload)
        memcpy(payload, req->payload, len);
    char req_id[37], deadline[32], arn[512], trace[128];
    snprintf(req_id, sizeof req_id, "%s", emu->req_id);
    snprintf(deadline, sizeof deadline, "%lld", (long long)emu->deadline_ms);
    emu_function_arn(emu, arn, sizeof arn);
    snprintf(trace, sizeof trace, "%s", emu->trace_id);
    /* Copies: the request belongs to rt_emu_invoke, which may return once mu is released. */
    char *client_context = req->client_context ? strdup(req->client_context) : NULL;
    char *cognito = req->cognito_identity ? strdup(req->cognito_identity) : NULL;
    /* clang-format off */
    const char *headers[] = {
        "Lambda-Runtime-Aws-Request-Id", req_id,
        "Lambda-Runtime-Deadline-Ms", deadline,
        "Lambda-Runtime-Invoked-Function-Arn", arn,
        "Lambda-Runtime-Trace-Id", trace,
        "Lambda-Runtime-Client-Context", client_context,
        "Lambda-Runtime-Cognito-Identity", cognito,
        NULL, NULL,
    };
    /* clang-format on */
    pthread_mutex_unlock(&emu->mu);
    enum MHD_Result ret = payload ? send_body(c, 200, payload, len, headers)
                                  : send_error(c, 500, "Runtime.OutOfMemory", "Out of memory");
    free(client_context);
    free(cognito);
    return ret;
}

static char *base64_decode(const char *text, size_t *out_len)
{
    size_t n = strlen(text);
    char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        return NULL;
    int r = n % 4 == 0 ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)n)
                       : -1;
    if (r < 0) { /* not base64: keep the text as it is */
        memcpy(out, text, n);
        *out_len = n;
        return out;
    }
    size_t len = (size_t)r;
    for (size_t i = n; i > 0 && text[i - 1] == '=' && len > 0; i--)
        len--;
    *out_len = len;
    return out;
}

static enum MHD_Result runtime_post(struct rt_emu *emu, struct MHD_Connection *c,
                                    struct request *rq, const char *id, bool is_error)
{
    /* What the runtime printed before answering reaches the subscribed extensions before the
     * invocation completes. */
    emu_tele_flush(emu);
    pthread_mutex_lock(&emu->mu);
    if (!emu->inv_active || emu->inv_done || strcmp(id, emu->req_id) != 0) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 400, "InvalidRequestID", "Invalid request ID");
    }
    if (rq->too_big) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Response payload size exceeded maximum allowed payload size (%zu bytes).",
                 rq->limit);
        char *body = rt_emu_error_json("Function.ResponseSizeTooLarge", msg);
        emu_set_result(emu, RT_STATUS_ERROR, "Function.ResponseSizeTooLarge", body,
                       body ? strlen(body) : 0);
        pthread_mutex_unlock(&emu->mu);
        snprintf(msg, sizeof msg, "Exceeded maximum allowed payload size (%zu bytes).", rq->limit);
        return send_error(c, 413, "RequestEntityTooLarge", msg);
    }
    const char *mode = header(c, "Lambda-Runtime-Function-Response-Mode");
    bool streamed = !is_error && mode && !strcasecmp(mode, "streaming");
    const char *trailer_type =
        MHD_lookup_connection_value(c, MHD_FOOTER_KIND, "Lambda-Runtime-Function-Error-Type");
    if (is_error || trailer_type) {
        const char *type =
            is_error ? header(c, "Lambda-Runtime-Function-Error-Type") : trailer_type;
        char *err_body = rq->body;
        size_t err_len = rq->len;
        char *decoded = NULL;
        if (!is_error) { /* streaming error: the body is in a base64 trailer */
            const char *b64 = MHD_lookup_connection_value(c, MHD_FOOTER_KIND,
                                                          "Lambda-Runtime-Function-Error-Body");
            decoded = base64_decode(b64 ? b64 : "", &err_len);
            err_body = decoded;
        }
        char etype[128];
        size_t out_len = 0;
        char *doc = rt_emu_function_error(err_body, err_len, type, etype, sizeof etype, &out_len);
        free(decoded);
        emu_set_result(emu, RT_STATUS_ERROR, etype, doc, out_len);
    } else {
        emu_set_result(emu, RT_STATUS_OK, NULL, rq->body, rq->len);
        rq->body = NULL;
        rq->len = rq->cap = 0;
    }
    emu->res_streamed = streamed;
    pthread_mutex_unlock(&emu->mu);
    return send_accepted(c);
}

static enum MHD_Result runtime_init_error(struct rt_emu *emu, struct MHD_Connection *c,
                                          struct request *rq)
{
    emu_tele_flush(emu);
    pthread_mutex_lock(&emu->mu);
    if (emu->runtime_ready || !emu->up) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 403, "InvalidStateTransition",
                          "State transition from Ready to InitError failed for runtime.");
    }
    char etype[128];
    size_t out_len = 0;
    char *doc =
        rt_emu_function_error(rq->body, rq->len, header(c, "Lambda-Runtime-Function-Error-Type"),
                              etype, sizeof etype, &out_len);
    free(emu->init_error_body);
    emu->init_error_body = doc;
    emu->init_error_len = doc ? out_len : 0;
    snprintf(emu->init_error_type, sizeof emu->init_error_type, "%s", etype);
    emu->init_failed = true;
    pthread_cond_broadcast(&emu->cv);
    pthread_mutex_unlock(&emu->mu);
    return send_accepted(c);
}

static enum MHD_Result runtime_api(struct rt_emu *emu, struct MHD_Connection *c, const char *method,
                                   const char *path, struct request *rq)
{
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strcmp(path, "invocation/next"))
        return get ? runtime_next(emu, c) : send_error(c, 405, "MethodNotAllowed", method);
    if (!strcmp(path, "init/error"))
        return post ? runtime_init_error(emu, c, rq)
                    : send_error(c, 405, "MethodNotAllowed", method);
    if (!strncmp(path, "invocation/", 11)) {
        const char *id = path + 11;
        const char *slash = strchr(id, '/');
        if (slash && (size_t)(slash - id) < 64) {
            char req_id[64];
            memcpy(req_id, id, (size_t)(slash - id));
            req_id[slash - id] = '\0';
            bool is_response = !strcmp(slash, "/response"), is_error = !strcmp(slash, "/error");
            if (is_response || is_error)
                return post ? runtime_post(emu, c, rq, req_id, is_error)
                            : send_error(c, 405, "MethodNotAllowed", method);
        }
    }
    return send_error(c, 404, "UnknownPath", "Unknown Runtime API path");
}

/* ---- Extensions API ---- */

static struct emu_ext *find_ext(struct rt_emu *emu, const char *id)
{
    for (int i = 0; id && i < emu->n_exts; i++)
        if (!strcmp(emu->exts[i].id, id))
            return &emu->exts[i];
    return NULL;
}

/* 403 unless the Lambda-Extension-Identifier names a registered extension; caller holds mu. */
static struct emu_ext *ext_or_403(struct rt_emu *emu, struct MHD_Connection *c,
                                  enum MHD_Result *ret)
{
    const char *id = header(c, "Lambda-Extension-Identifier");
    struct emu_ext *ext = find_ext(emu, id);
    if (!ext) {
        pthread_mutex_unlock(&emu->mu);
        *ret = id ? send_error(c, 403, "Extension.UnknownExtensionIdentifier",
                               "Unknown extension Lambda-Extension-Identifier")
                  : send_error(c, 403, "Extension.MissingExtensionIdentifier",
                               "Missing Lambda-Extension-Identifier header");
    }
    return ext;
}

static enum MHD_Result ext_register(struct rt_emu *emu, struct MHD_Connection *c,
                                    struct request *rq)
{
    const char *name = header(c, "Lambda-Extension-Name");
    if (!name || !*name || strlen(name) >= sizeof emu->exts[0].name)
        return send_error(c, 400, "InvalidRequestFormat",
                          "Missing or invalid Lambda-Extension-Name header");
    unsigned events = 0;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    if (rt_emu_parse_register(rq->body, rq->len, &events, &ei) != RT_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "Invalid register body: %s", ei.detail);
        return send_error(c, 400, "InvalidRequestFormat", msg);
    }
    pthread_mutex_lock(&emu->mu);
    if (!emu->up || !emu->registration_open) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 403, "Extension.InvalidRegistration",
                          "Registration is only allowed during the extension init phase");
    }
    for (int i = 0; i < emu->n_exts; i++) {
        if (!strcmp(emu->exts[i].name, name)) {
            pthread_mutex_unlock(&emu->mu);
            return send_error(c, 403, "Extension.AlreadyRegistered",
                              "An extension with this name is already registered");
        }
    }
    if (emu->n_exts >= EMU_MAX_EXTENSIONS) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 403, "Extension.TooManyExtensions", "Too many extensions");
    }
    struct emu_ext *ext = &emu->exts[emu->n_exts++];
    memset(ext, 0, sizeof *ext);
    rt_emu_uuid(ext->id);
    snprintf(ext->name, sizeof ext->name, "%s", name);
    ext->events = events;
    char id[37];
    memcpy(id, ext->id, sizeof id);
    pthread_cond_broadcast(&emu->cv);
    const struct rt_emu_config *cfg = emu->cfg;
    pthread_mutex_unlock(&emu->mu);

    json_t *o = json_object();
    json_object_set_new(o, "functionName",
                        json_string(cfg->function_name ? cfg->function_name : "runtrail-function"));
    json_object_set_new(o, "functionVersion",
                        json_string(cfg->function_version ? cfg->function_version : "$LATEST"));
    json_object_set_new(o, "handler",
                        json_string(cfg->handler ? cfg->handler : "function.handler"));
    const char *features = header(c, "Lambda-Extension-Accept-Feature");
    if (features && strstr(features, "accountId"))
        json_object_set_new(o, "accountId", json_string("123456789012"));
    char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    const char *headers[] = {"Lambda-Extension-Identifier", id, NULL, NULL};
    return send_body(c, 200, body, body ? strlen(body) : 0, headers);
}

static enum MHD_Result ext_next(struct rt_emu *emu, struct MHD_Connection *c)
{
    enum MHD_Result ret = MHD_NO;
    pthread_mutex_lock(&emu->mu);
    struct emu_ext *ext = ext_or_403(emu, c, &ret);
    if (!ext)
        return ret;
    unsigned gen = emu->gen;
    ext->waiting = true;
    pthread_cond_broadcast(&emu->cv);
    while (!ext->queued && emu->gen == gen && !emu->stopping)
        pthread_cond_wait(&emu->cv, &emu->mu);
    if (emu->gen != gen || emu->stopping) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 500, "Extension.Shutdown", "The execution environment has ended");
    }
    char *event = ext->queue[0];
    memmove(ext->queue, ext->queue + 1, sizeof ext->queue[0] * (size_t)(EMU_EXT_QUEUE - 1));
    ext->queue[--ext->queued] = NULL;
    ext->waiting = false;
    pthread_cond_broadcast(&emu->cv);
    pthread_mutex_unlock(&emu->mu);
    char event_id[37];
    rt_emu_uuid(event_id);
    const char *headers[] = {"Lambda-Extension-Event-Identifier", event_id, NULL, NULL};
    return send_body(c, 200, event, event ? strlen(event) : 0, headers);
}

static enum MHD_Result ext_error(struct rt_emu *emu, struct MHD_Connection *c, bool init)
{
    enum MHD_Result ret = MHD_NO;
    const char *type = header(c, "Lambda-Extension-Function-Error-Type");
    pthread_mutex_lock(&emu->mu);
    struct emu_ext *ext = ext_or_403(emu, c, &ret);
    if (!ext)
        return ret;
    if (!type || !*type) {
        pthread_mutex_unlock(&emu->mu);
        return send_error(c, 400, "InvalidRequestFormat",
                          "Missing Lambda-Extension-Function-Error-Type header");
    }
    if (init) {
        if (emu->runtime_ready) {
            pthread_mutex_unlock(&emu->mu);
            return send_error(c, 403, "InvalidStateTransition",
                              "init/error is only allowed during the init phase");
        }
        char msg[256];
        snprintf(msg, sizeof msg, "Extension %s failed to initialise", ext->name);
        free(emu->init_error_body);
        emu->init_error_body = rt_emu_error_json(type, msg);
        emu->init_error_len = emu->init_error_body ? strlen(emu->init_error_body) : 0;
        snprintf(emu->init_error_type, sizeof emu->init_error_type, "%s", type);
        emu->init_failed = true;
    }
    ext->events = 0; /* it is leaving: never wait for it again */
    pthread_cond_broadcast(&emu->cv);
    pthread_mutex_unlock(&emu->mu);
    return send_accepted(c);
}

static enum MHD_Result extension_api(struct rt_emu *emu, struct MHD_Connection *c,
                                     const char *method, const char *path, struct request *rq)
{
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strcmp(path, "register"))
        return post ? ext_register(emu, c, rq) : send_error(c, 405, "MethodNotAllowed", method);
    if (!strcmp(path, "event/next"))
        return get ? ext_next(emu, c) : send_error(c, 405, "MethodNotAllowed", method);
    if (!strcmp(path, "init/error") || !strcmp(path, "exit/error"))
        return post ? ext_error(emu, c, path[1] == 'n')
                    : send_error(c, 405, "MethodNotAllowed", method);
    return send_error(c, 404, "UnknownPath", "Unknown Extensions API path");
}

/* ---- Telemetry API (2022-07-01) and its predecessor, the Logs API (2020-08-15) ---- */

static enum MHD_Result telemetry_subscribe(struct rt_emu *emu, struct MHD_Connection *c,
                                           const char *method, struct request *rq)
{
    if (strcmp(method, "PUT"))
        return send_error(c, 405, "MethodNotAllowed", method);
    enum MHD_Result ret = MHD_NO;
    pthread_mutex_lock(&emu->mu);
    struct emu_ext *ext = ext_or_403(emu, c, &ret);
    if (!ext)
        return ret;
    char id[37];
    memcpy(id, ext->id, sizeof id);
    pthread_mutex_unlock(&emu->mu);
    char err[256];
    if (emu_tele_subscribe(emu, id, rq->body, rq->len, err, sizeof err) != 0)
        return send_error(c, 400, "ValidationError", err);
    return send_body(c, 200, strdup("OK"), 2, NULL);
}

/* ---- libmicrohttpd glue ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct rt_emu *emu = cls;
    struct request *rq = *con_cls;
    if (!rq) {
        if (trace_fd >= 0)
            dprintf(trace_fd, "runtrail emulator: %s %s\n", method, url);
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        const char *mode = header(c, "Lambda-Runtime-Function-Response-Mode");
        rq->limit =
            mode && !strcasecmp(mode, "streaming") ? RT_EMU_MAX_STREAMED : RT_EMU_MAX_RESPONSE;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        rq->received += n;
        if (rq->len + n > rq->limit) {
            rq->too_big = true;
        } else if (!rq->too_big) {
            if (rq->len + n + 1 > rq->cap) {
                size_t cap = rq->cap ? rq->cap : 4096;
                while (cap < rq->len + n + 1)
                    cap *= 2;
                char *b = realloc(rq->body, cap);
                if (!b)
                    return MHD_NO;
                rq->body = b;
                rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload_data, n);
            rq->len += n;
            rq->body[rq->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!strncmp(url, RUNTIME_PREFIX, strlen(RUNTIME_PREFIX)))
        return runtime_api(emu, c, method, url + strlen(RUNTIME_PREFIX), rq);
    if (!strncmp(url, EXTENSION_PREFIX, strlen(EXTENSION_PREFIX)))
        return extension_api(emu, c, method, url + strlen(EXTENSION_PREFIX), rq);
    if (!strcmp(url, "/2022-07-01/telemetry") || !strcmp(url, "/2020-08-15/logs"))
        return telemetry_subscribe(emu, c, method, rq);
    return send_error(c, 404, "UnknownPath", "Unknown API path");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

int emu_http_start(struct rt_emu *emu, struct rt_errinfo *ei)
{
    const char *trace = getenv("RUNTRAIL_EMU_TRACE");
    if (trace && *trace && strcmp(trace, "0"))
        trace_fd = emu->cfg->log_fd >= 0 ? emu->cfg->log_fd : 2;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    emu->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, emu, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)RT_EMU_CONNECTION_POOL,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, emu, MHD_OPTION_END);
    if (!emu->mhd)
        return rt_fail(ei, RT_ERR_EMU_LISTEN, -1, "127.0.0.1: cannot start the API server");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(emu->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        MHD_stop_daemon(emu->mhd);
        emu->mhd = NULL;
        return rt_fail(ei, RT_ERR_EMU_LISTEN, -1, "cannot learn the API server's port");
    }
    snprintf(emu->api, sizeof emu->api, "127.0.0.1:%u", (unsigned)info->port);
    return RT_OK;
}

void emu_http_stop(struct rt_emu *emu)
{
    if (!emu->mhd)
        return;
    pthread_mutex_lock(&emu->mu);
    emu->stopping = true;
    pthread_cond_broadcast(&emu->cv);
    pthread_mutex_unlock(&emu->mu);
    MHD_stop_daemon(emu->mhd);
    emu->mhd = NULL;
}
