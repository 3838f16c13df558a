/* The function's log lines, as Lambda gives them to extensions: through the Telemetry API
 * (2022-07-01). The extension listens on the sandbox's own address (sandbox.localdomain, the
 * host Lambda delivers to; loopback where that name does not resolve, as in the local
 * emulator), subscribes to "function" records, and holds each line it receives with its time
 * on the monotonic clock the ring's events use. The sealer files a line into the bundle of the
 * last invocation that started before the line's time: lines of the init go to the first
 * bundle, before its start, and a line stamped after an invocation's response but before the
 * next invocation's start goes with the invocation it followed. Lambda stamps a line when its
 * log pipeline reads it, which can be after the response that the line preceded; and a line
 * printed after the response (work the function left running) belongs to that invocation's
 * tail, not to the next one. The proxy marks each invocation's start here (rt_ext_logs_mark),
 * under the same lock the sealer takes lines with, so that a line of the next invocation is
 * never taken early. A line that arrives after its invocation was sealed goes to the next
 * bundle, with a time before that bundle's start. Lambda's records do not say stdout or
 * stderr: lines are stored as stdout. Held lines are bounded; what does not fit is counted in
 * the bundle's log_bytes_dropped. */
#include "recorder/extension/extension.h"

#include "formats/toolbox.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#define HELD_MAX_BYTES (1024u * 1024)     /* lines held between two seals */
#define BODY_MAX_BYTES (4u * 1024 * 1024) /* one delivery: Lambda sends at most 1 MiB */
#define MARKS_MAX 64                      /* invocation starts not sealed yet */

struct held_line {
    int64_t mono_ns;
    char *text;
    size_t len;
};

struct rt_ext_logs {
    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_mutex_t mu;
    struct held_line *lines; /* in arrival order (Lambda delivers in order) */
    size_t n, cap, bytes;
    uint64_t dropped_bytes;
    /* Invocation starts not sealed yet, ascending. With MARKS_MAX invocations waiting for
     * their seal (only without the event/next hold), the oldest start is forgotten: the
     * bundle before it then also takes that invocation's lines. */
    int64_t marks[MARKS_MAX];
    size_t n_marks;
};

struct delivery {
    struct rt_buf body;
    bool too_big;
};

static void hold(struct rt_ext_logs *l, int64_t mono_ns, const char *text, size_t len)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    pthread_mutex_lock(&l->mu);
    if (l->bytes + len > HELD_MAX_BYTES || (l->n == l->cap && l->cap >= 65536)) {
        l->dropped_bytes += len;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct held_line *nl = realloc(l->lines, cap * sizeof *nl);
        if (!nl) {
            l->dropped_bytes += len;
            pthread_mutex_unlock(&l->mu);
            return;
        }
        l->lines = nl;
        l->cap = cap;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        l->dropped_bytes += len;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    memcpy(copy, text, len);
    l->lines[l->n++] = (struct held_line){mono_ns, copy, len};
    l->bytes += len;
    pthread_mutex_unlock(&l->mu);
}

/* One line of a delivery: held at the monotonic time matching its wall time. */
static void take_line(void *arg, int64_t wall_ns, const char *text, size_t len)
{
    int64_t now_mono = rt_ext_now_mono_ns(), now_wall = rt_ext_now_wall_ns();
    int64_t mono = wall_ns && wall_ns <= now_wall ? now_mono - (now_wall - wall_ns) : now_mono;
    hold(arg, mono, text, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url, (void)version;
    struct rt_ext_logs *l = cls;
    struct delivery *d = *con_cls;
    if (!d) {
        if (!(d = calloc(1, sizeof *d)))
            return MHD_NO;
        *con_cls = d;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (d->too_big || d->body.len + n > BODY_MAX_BYTES) {
            d->too_big = true;
            return MHD_YES;
        }
        return rt_buf_append(&d->body, upload_data, n) == RT_OK ? MHD_YES : MHD_NO;
    }
    unsigned status = 200;
    if (strcmp(method, "POST"))
        status = 405;
    else if (d->too_big)
        status = 413;
    else if (d->body.len)
        rt_ext_telemetry_records(d->body.data, d->body.len, take_line, l);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct delivery *d = *con_cls;
    if (d) {
        rt_buf_free(&d->body);
        free(d);
        *con_cls = NULL;
    }
}

int rt_ext_logs_create(struct rt_ext_logs **out)
{
    struct rt_ext_logs *l = calloc(1, sizeof *l);
    if (!l)
        return RT_ERR_NOMEM;
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    return RT_OK;
}

/* Whether the sandbox is runtrail's own emulator (replay/lambda_env.c sets this execution
 * environment): it delivers to sandbox.localdomain on loopback itself. */
static bool emulated(void)
{
    const char *env = getenv("AWS_EXECUTION_ENV");
    return env && strcmp(env, "AWS_Lambda_runtrail_emulator") == 0;
}

/* Starts the listener (once). Lambda delivers to sandbox.localdomain: listen on its address
 * where it resolves. Under the emulator the name is not looked up: on a machine that does not
 * know it, the lookup is a DNS query leaving the machine, and the emulator delivers to
 * loopback anyway. */
static int listen_for_deliveries(struct rt_ext_logs *l)
{
    if (l->daemon)
        return 0;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (!emulated() && getaddrinfo("sandbox.localdomain", NULL, &hints, &ai) == 0 && ai)
        sin.sin_addr = ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
    if (ai)
        freeaddrinfo(ai);
    l->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_SUPPRESS_DATE_NO_CLOCK,
                                 0, NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                                 NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)8, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        l->daemon ? MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || !info->port) {
        if (l->daemon)
            MHD_stop_daemon(l->daemon);
        l->daemon = NULL;
        return -1;
    }
    l->port = info->port;
    return 0;
}

int rt_ext_logs_subscribe(struct rt_ext_logs *l, const char *runtime_api, const char *ext_id)
{
    if (listen_for_deliveries(l) != 0)
        return -1;
    struct rt_ext_http *h = rt_ext_http_new(runtime_api);
    if (!h)
        return -1;
    char body[400];
    snprintf(body, sizeof body,
             "{\"schemaVersion\":\"2022-12-13\",\"types\":[\"function\"],"
             "\"buffering\":{\"maxItems\":1000,\"maxBytes\":262144,\"timeoutMs\":25},"
             "\"destination\":{\"protocol\":\"HTTP\",\"URI\":\"http://sandbox.localdomain:%u\"}}",
             (unsigned)l->port);
    const struct rt_header hd[] = {{.name = "Lambda-Extension-Identifier", .value = (char *)ext_id},
                                   {.name = "Content-Type", .value = "application/json"}};
    struct rt_ext_http_request rq = {.headers = hd,
                                     .n_headers = 2,
                                     .body = body,
                                     .len = strlen(body),
                                     .timeout_ms = 2000,
                                     .max_body = 64 * 1024};
    struct rt_ext_http_reply r;
    int rc = rt_ext_http_call(h, "PUT", "/2022-07-01/telemetry", &rq, &r) == 0 && r.status == 200
                 ? 0
                 : -1;
    rt_ext_http_reply_free(&r);
    rt_ext_http_free(h);
    return rc;
}

void rt_ext_logs_mark(struct rt_ext_logs *l, int64_t start_mono_ns)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    if (!l->n_marks || start_mono_ns > l->marks[l->n_marks - 1]) {
        if (l->n_marks == MARKS_MAX) {
            memmove(l->marks, l->marks + 1, (MARKS_MAX - 1) * sizeof *l->marks);
            l->n_marks--;
        }
        l->marks[l->n_marks++] = start_mono_ns;
    }
    pthread_mutex_unlock(&l->mu);
}

uint64_t rt_ext_logs_write(struct rt_ext_logs *l, struct rt_writer *w, int64_t start_mono_ns)
{
    if (!l)
        return 0;
    pthread_mutex_lock(&l->mu);
    /* The first start after this invocation's bounds its lines; starts up to its own are
     * done with. */
    size_t m = 0;
    while (m < l->n_marks && l->marks[m] <= start_mono_ns)
        m++;
    int64_t upto = m < l->n_marks ? l->marks[m] : INT64_MAX;
    memmove(l->marks, l->marks + m, (l->n_marks - m) * sizeof *l->marks);
    l->n_marks -= m;
    size_t k = 0;
    while (k < l->n && l->lines[k].mono_ns < upto) {
        if (w)
            rt_writer_add_log(w, l->lines[k].mono_ns - start_mono_ns, 1, l->lines[k].text,
                              l->lines[k].len);
        l->bytes -= l->lines[k].len;
        free(l->lines[k].text);
        k++;
    }
    if (k) {
        memmove(l->lines, l->lines + k, (l->n - k) * sizeof *l->lines);
        l->n -= k;
    }
    uint64_t dropped = l->dropped_bytes;
    l->dropped_bytes = 0;
    pthread_mutex_unlock(&l->mu);
    return dropped;
}

void rt_ext_logs_stop(struct rt_ext_logs *l)
{
    if (!l)
        return;
    if (l->daemon)
        MHD_stop_daemon(l->daemon);
    for (size_t i = 0; i < l->n; i++)
        free(l->lines[i].text);
    free(l->lines);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
