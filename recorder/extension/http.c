/* The extension's HTTP client for the loopback APIs: the Extensions API, the Telemetry API and
 * the Runtime API behind the proxy. libevent's evhttp (HTTP/1.1, a kept-alive connection per
 * client), driven to completion on the calling thread, so each call blocks like a plain
 * function. libevent needs only libc: libcurl, with its thirty-odd libraries and TLS stack, is
 * not loaded before the function's first response (see curl_lazy.c). */
#include "recorder/extension/extension.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An unset evhttp timeout means 50 s, too short for a long poll such as event/next: "none" is
 * this long instead. */
#define NO_TIMEOUT_S (10 * 365 * 24 * 3600L)
#define ADDR_MAX 256 /* "host:port" */

struct rt_ext_http {
    struct event_base *base;
    struct evhttp_connection *conn;
    char host[ADDR_MAX]; /* "host:port", the Host header */
    char name[ADDR_MAX];
    uint16_t port;
    bool used; /* a request has gone over conn: it may have been closed since */
};

static void quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg; /* a failed call is reported by its caller, in its own words */
}

static void init_once(void)
{
    event_set_log_callback(quiet_log);
}

struct rt_ext_http *rt_ext_http_new(const char *hostport)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    if (!colon || colon == hostport || strlen(hostport) >= ADDR_MAX)
        return NULL;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 1 || port > 65535)
        return NULL;
    struct rt_ext_http *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->host, sizeof c->host, "%s", hostport);
    const char *name = hostport;
    size_t name_len = (size_t)(colon - hostport);
    if (name_len >= 2 && name[0] == '[' && name[name_len - 1] == ']') { /* "[::1]:9001" */
        name++;
        name_len -= 2;
    }
    memcpy(c->name, name, name_len);
    c->port = (uint16_t)port;
    struct event_config *ec = event_config_new();
    /* One thread's base: no locks, and no signal handling of libevent's. Nor its EVENT_*
     * variables: reading each asked the kernel four times whether the process is setuid, 16
     * system calls per base, on the first proxied call and before register. Its changes of
     * interest batched into the next epoll_wait (the change list): evhttp turns reading and
     * writing on and off several times per request, an epoll_ctl each, 18 per invocation
     * over the three calls (the proxy's two, event/next); the list is unsafe only for a
     * descriptor dup()ed while registered, and these sockets are libevent's own. */
    if (ec)
        event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_IGNORE_ENV |
                                      EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    c->base = ec ? event_base_new_with_config(ec) : NULL;
    event_config_free(ec);
    if (!c->base) {
        free(c);
        return NULL;
    }
    return c;
}

void rt_ext_http_free(struct rt_ext_http *c)
{
    if (!c)
        return;
    if (c->conn)
        evhttp_connection_free(c->conn);
    event_base_free(c->base);
    free(c);
}

void rt_ext_headers_free(struct rt_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

void rt_ext_http_reply_free(struct rt_ext_http_reply *r)
{
    if (!r)
        return;
    rt_ext_headers_free(r->headers, r->n_headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

const char *rt_ext_http_header(const struct rt_ext_http_reply *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

struct call {
    struct rt_ext_http_reply *out;
    bool done;
    bool too_long;
};

static int copy_reply(struct evhttp_request *req, struct rt_ext_http_reply *out)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    size_t n = 0;
    for (struct evkeyval *kv = in ? in->tqh_first : NULL; kv; kv = kv->next.tqe_next)
        n++;
    out->headers = n ? calloc(n, sizeof *out->headers) : NULL;
    if (n && !out->headers)
        return -1;
    for (struct evkeyval *kv = in ? in->tqh_first : NULL; kv; kv = kv->next.tqe_next) {
        struct rt_header *h = &out->headers[out->n_headers];
        h->name = strdup(kv->key);
        h->value = strdup(kv->value ? kv->value : "");
        if (!h->name || !h->value) {
            free(h->name);
            free(h->value);
            return -1;
        }
        out->n_headers++;
    }
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t len = b ? evbuffer_get_length(b) : 0;
    out->body = malloc(len + 1);
    if (!out->body)
        return -1;
    if (len && evbuffer_remove(b, out->body, len) != (int)len)
        return -1;
    out->body[len] = '\0';
    out->len = len;
    return 0;
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct call *x = arg;
    x->done = true;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code <= 0 || x->too_long)
        return; /* no (whole) answer: connection refused, reset or timed out; too long */
    if (copy_reply(req, x->out) != 0) {
        rt_ext_http_reply_free(x->out);
        return;
    }
    x->out->status = code;
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    struct call *x = arg;
    if (e == EVREQ_HTTP_DATA_TOO_LONG)
        x->too_long = true;
}

static int method_of(const char *m, enum evhttp_cmd_type *t)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type type;
    } known[] = {{"GET", EVHTTP_REQ_GET},         {"POST", EVHTTP_REQ_POST},
                 {"PUT", EVHTTP_REQ_PUT},         {"DELETE", EVHTTP_REQ_DELETE},
                 {"HEAD", EVHTTP_REQ_HEAD},       {"PATCH", EVHTTP_REQ_PATCH},
                 {"OPTIONS", EVHTTP_REQ_OPTIONS}, {"TRACE", EVHTTP_REQ_TRACE}};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(m, known[i].name)) {
            *t = known[i].type;
            return 0;
        }
    return -1;
}

/* One attempt; returns 1 when nothing came back (the caller may retry on a fresh connection). */
static int attempt(struct rt_ext_http *c, enum evhttp_cmd_type type, const char *target,
                   const struct rt_ext_http_request *rq, struct rt_ext_http_reply *out)
{
    if (!c->conn) {
        c->conn = evhttp_connection_base_new(c->base, NULL, c->name, c->port);
        if (!c->conn)
            return -1;
        c->used = false;
    }
    struct timeval tv = {.tv_sec = rq->timeout_ms ? (time_t)(rq->timeout_ms / 1000)
                                                  : (time_t)NO_TIMEOUT_S,
                         .tv_usec = (suseconds_t)(rq->timeout_ms % 1000) * 1000};
    evhttp_connection_set_timeout_tv(c->conn, &tv);
    evhttp_connection_set_max_body_size(c->conn, rq->max_body ? (ev_ssize_t)rq->max_body : -1);
    struct call x = {.out = out};
    struct evhttp_request *req = evhttp_request_new(on_done, &x);
    if (!req)
        return -1;
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    bool bad = evhttp_add_header(oh, "Host", c->host) != 0;
    for (size_t i = 0; i < rq->n_headers && !bad; i++)
        bad = evhttp_add_header(oh, rq->headers[i].name, rq->headers[i].value) != 0;
    bool has_body =
        rq->len || type == EVHTTP_REQ_POST || type == EVHTTP_REQ_PUT || type == EVHTTP_REQ_PATCH;
    if (!bad && has_body) {
        char cl[24];
        snprintf(cl, sizeof cl, "%zu", rq->len);
        bad = evhttp_add_header(oh, "Content-Length", cl) != 0 ||
              (rq->len && evbuffer_add(evhttp_request_get_output_buffer(req), rq->body, rq->len));
    }
    if (bad) { /* a header evhttp refuses (a line break in it): never sent */
        evhttp_request_free(req);
        return -1;
    }
    bool reused = c->used;
    c->used = true;
    if (evhttp_make_request(c->conn, req, type, target) != 0) {
        if (!x.done)
            evhttp_request_free(req); /* evhttp returned it without calling back */
        return -1;
    }
    while (!x.done)
        if (event_base_loop(c->base, EVLOOP_ONCE) != 0)
            break; /* nothing left to wait for: cannot happen with a request pending */
    if (x.done && out->status)
        return 0;
    out->overflow = x.too_long;
    /* The connection is in an unknown state: the next call starts a new one. */
    evhttp_connection_free(c->conn);
    c->conn = NULL;
    return reused && !x.too_long ? 1 : -1;
}

int rt_ext_http_call(struct rt_ext_http *c, const char *method, const char *target,
                     const struct rt_ext_http_request *rq, struct rt_ext_http_reply *out)
{
    memset(out, 0, sizeof *out);
    enum evhttp_cmd_type type;
    if (!c || method_of(method, &type) != 0)
        return -1;
    int rc = attempt(c, type, target, rq, out);
    if (rc == 1) /* a kept-alive connection the peer had closed, as curl does: once more */
        rc = attempt(c, type, target, rq, out);
    return rc == 0 ? 0 : -1;
}
