/* The sinkhole of `runtrail replay --net sinkhole` (replay/sinkhole.h). One thread polls the
 * DNS socket and the TCP listeners; each accepted connection is classified on its first byte
 * (a TLS handshake record is 0x16): TLS gets its ClientHello read and its server name taken by
 * the recorder's sniffer (recorder/preload/sniff.h), then is closed; anything else is handed to
 * a libmicrohttpd daemon without a listen socket of its own, which parses the HTTP and answers
 * 200 with a canned body. Each capture is one JSON line (jansson) in the log. */
#include "replay/sinkhole.h"

#include "formats/toolbox.h"

#include "recorder/preload/sniff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct rt_sinkhole {
    FILE *log;
    pthread_mutex_t mu;
    struct MHD_Daemon *http;
    int dns_fd;
    int tcp_fd[RT_SINKHOLE_MAX_PORTS];
    size_t n_tcp;
    int stop_pipe[2];
    pthread_t thread;
    bool running;
};

static void log_json(struct rt_sinkhole *s, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!text)
        return;
    pthread_mutex_lock(&s->mu);
    fprintf(s->log, "%s\n", text);
    fflush(s->log);
    pthread_mutex_unlock(&s->mu);
    free(text);
}

/* "ip:port" of the address the client connected to (this socket's local end). */
static void local_dest(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
    }
    snprintf(out, cap, "%s:%u", ip, port);
}

/* ---- HTTP (libmicrohttpd) ---- */

struct http_req {
    json_t *headers;
    char body[RT_SINKHOLE_BODY_BYTES];
    size_t body_len, body_total;
};

static enum MHD_Result add_header(void *arg, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    json_t *h = json_stringn(value ? value : "", value ? strlen(value) : 0);
    json_array_append_new(arg,
                          json_pack("[s, o]", key ? key : "", h ? h : json_string("(not UTF-8)")));
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct rt_sinkhole *s = cls;
    struct http_req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->headers = json_array();
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, r->headers);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t room = sizeof r->body - r->body_len;
        size_t take = *upload_size < room ? *upload_size : room;
        memcpy(r->body + r->body_len, upload_data, take);
        r->body_len += take;
        r->body_total += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    char dest[64] = "?", line[4200];
    if (ci)
        local_dest(ci->connect_fd, dest, sizeof dest);
    snprintf(line, sizeof line, "%s %s %s", method, url, version);
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string("http"));
    json_object_set_new(j, "dest", json_string(dest));
    json_t *l = json_string(line);
    json_object_set_new(j, "request", l ? l : json_string("(not UTF-8)"));
    json_object_set_new(j, "headers", r->headers);
    r->headers = NULL;
    /* the body's first bytes as text with \xNN for the rest (it may hold anything) */
    char shown[4 * RT_SINKHOLE_BODY_BYTES + 1];
    size_t o = 0;
    for (size_t i = 0; i < r->body_len; i++) {
        unsigned char ch = (unsigned char)r->body[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            shown[o++] = (char)ch;
        else
            o += (size_t)snprintf(shown + o, sizeof shown - o, "\\x%02x", ch);
    }
    shown[o] = '\0';
    json_object_set_new(j, "body", json_string(shown));
    json_object_set_new(j, "bodyBytes", json_integer((json_int_t)r->body_total));
    log_json(s, j);
    static const char reply[] = "ok\n";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof reply - 1, (void *)reply, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct http_req *r = *con_cls;
    if (r) {
        json_decref(r->headers);
        free(r);
    }
    *con_cls = NULL;
}

/* ---- TLS and the accept loop ---- */

struct conn {
    struct rt_sinkhole *s;
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
};

static void *classify(void *arg)
{
    struct conn *cn = arg;
    struct rt_sinkhole *s = cn->s;
    unsigned char buf[4096];
    size_t len = 0;
    struct pollfd p = {.fd = cn->fd, .events = POLLIN};
    unsigned char first = 0;
    if (poll(&p, 1, 2000) == 1 && recv(cn->fd, &first, 1, MSG_PEEK) == 1 && first != 0x16) {
        if (MHD_add_connection(s->http, cn->fd, (struct sockaddr *)&cn->peer, cn->peer_len) !=
            MHD_YES)
            close(cn->fd);
        free(cn);
        return NULL;
    }
    char dest[64], sni[256] = "";
    local_dest(cn->fd, dest, sizeof dest);
    while (len < sizeof buf && poll(&p, 1, 1000) == 1) {
        ssize_t n = recv(cn->fd, buf + len, sizeof buf - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (rt_sniff_tls_sni(buf, len, sni, sizeof sni))
            break;
    }
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(first == 0x16 ? "tls" : "tcp"));
    json_object_set_new(j, "dest", json_string(dest));
    json_t *v = json_string(sni);
    json_object_set_new(j, "sni", v ? v : json_string("(not UTF-8)"));
    json_object_set_new(j, "bytes", json_integer((json_int_t)len));
    log_json(s, j);
    close(cn->fd);
    free(cn);
    return NULL;
}

static void answer_dns(struct rt_sinkhole *s)
{
    uint8_t q[1500], a[1600];
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    ssize_t n = recvfrom(s->dns_fd, q, sizeof q, 0, (struct sockaddr *)&peer, &plen);
    if (n <= 0)
        return;
    static const uint8_t sink[4] = {127, 0, 0, 1};
    size_t alen = rt_sinkhole_dns_answer(q, (size_t)n, sink, a, sizeof a);
    char name[256] = "";
    rt_sniff_dns_qname(q, (size_t)n, name, sizeof name);
    if (alen)
        sendto(s->dns_fd, a, alen, 0, (struct sockaddr *)&peer, plen);
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string("dns"));
    json_t *v = json_string(name);
    json_object_set_new(j, "name", v ? v : json_string("(not UTF-8)"));
    json_object_set_new(j, "answered", json_boolean(alen != 0));
    log_json(s, j);
}

static void *serve(void *arg)
{
    struct rt_sinkhole *s = arg;
    struct pollfd p[RT_SINKHOLE_MAX_PORTS + 2];
    for (;;) {
        size_t n = 0;
        p[n++] = (struct pollfd){.fd = s->stop_pipe[0], .events = POLLIN};
        p[n++] = (struct pollfd){.fd = s->dns_fd, .events = POLLIN};
        for (size_t i = 0; i < s->n_tcp; i++)
            p[n++] = (struct pollfd){.fd = s->tcp_fd[i], .events = POLLIN};
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents)
            break;
        if (p[1].revents & POLLIN)
            answer_dns(s);
        for (size_t i = 2; i < n; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            struct conn *cn = calloc(1, sizeof *cn);
            if (!cn)
                continue;
            cn->s = s;
            cn->peer_len = sizeof cn->peer;
            cn->fd = accept4(p[i].fd, (struct sockaddr *)&cn->peer, &cn->peer_len, SOCK_CLOEXEC);
            pthread_t t;
            if (cn->fd < 0 || pthread_create(&t, NULL, classify, cn) != 0) {
                if (cn->fd >= 0)
                    close(cn->fd);
                free(cn);
                continue;
            }
            pthread_detach(t);
        }
    }
    return NULL;
}

static int listen_on(int type, unsigned port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (type == SOCK_STREAM && listen(fd, 64) != 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int rt_sinkhole_start(const char *log_path, const unsigned *ports, size_t n_ports,
                      struct rt_sinkhole **out, char *err, size_t err_cap)
{
    struct rt_sinkhole *s = calloc(1, sizeof *s);
    if (!s)
        return rt_fail_errno(err, err_cap, "sinkhole");
    s->dns_fd = -1;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    if (!(s->log = fopen(log_path, "ae")))
        return rt_fail_errno(err, err_cap, "%s", log_path);
    if ((s->dns_fd = listen_on(SOCK_DGRAM, 53)) < 0)
        return rt_fail_errno(err, err_cap, "the sinkhole's DNS responder cannot bind 127.0.0.1:53");
    for (size_t i = 0; i < n_ports && s->n_tcp < RT_SINKHOLE_MAX_PORTS; i++) {
        bool dup = ports[i] == 0 || ports[i] > 65535;
        for (size_t k = 0; k < i && !dup; k++)
            dup = ports[k] == ports[i];
        if (dup)
            continue;
        int fd = listen_on(SOCK_STREAM, ports[i]);
        if (fd < 0)
            return rt_fail_errno(err, err_cap, "the sinkhole cannot listen on port %u", ports[i]);
        s->tcp_fd[s->n_tcp++] = fd;
    }
    s->http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET |
                                   MHD_USE_ITC | MHD_USE_POLL,
                               0, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_COMPLETED,
                               on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
    if (!s->http)
        return rt_fail_errno(err, err_cap, "the sinkhole's HTTP server cannot start");
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0)
        return rt_fail_errno(err, err_cap, "pipe");
    if (pthread_create(&s->thread, NULL, serve, s) != 0)
        return rt_fail_errno(err, err_cap, "the sinkhole's thread cannot start");
    s->running = true;
    return 0;
}

void rt_sinkhole_stop(struct rt_sinkhole *s)
{
    if (!s)
        return;
    if (s->running) {
        if (write(s->stop_pipe[1], "x", 1) < 0) {
            /* the thread then stays in poll: the process is about to end anyway */
        }
        pthread_join(s->thread, NULL);
    }
    if (s->http)
        MHD_stop_daemon(s->http);
    for (size_t i = 0; i < s->n_tcp; i++)
        close(s->tcp_fd[i]);
    if (s->dns_fd >= 0)
        close(s->dns_fd);
    for (int i = 0; i < 2; i++)
        if (s->stop_pipe[i] >= 0)
            close(s->stop_pipe[i]);
    if (s->log)
        fclose(s->log);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
