/* `runtrail emulate`: the local Lambda emulator behind an HTTP endpoint shaped like AWS's
 * runtime interface emulator (RIE): POST /2015-03-31/functions/FUNCTION/invocations with the
 * event as the body returns the response body, or Lambda's error JSON with the
 * X-Amz-Function-Error header. Invocations are served one at a time, like one execution
 * environment; it runs until SIGINT or SIGTERM, then shuts the sandbox down. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/toolbox.h"
#include "replay/emulator.h"
#include "replay/invoke.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help_text[] =
    "usage: runtrail emulate --listen ADDR [OPTIONS] -- RUNTIME ARGS...\n"
    "\n"
    "Serves POST /2015-03-31/functions/function/invocations on ADDR (HOST:PORT, or PORT on\n"
    "127.0.0.1) like AWS's runtime interface emulator: the request body is the event, the\n"
    "reply is the function's response body, or Lambda's error JSON with the header\n"
    "X-Amz-Function-Error: Unhandled. Events over 6 MB get 413. The sandbox (extensions,\n"
    "wrapper, runtime) starts on the first request and is reset after a timeout or a crash.\n"
    "Runs until SIGINT or SIGTERM.\n"
    "\n"
    "Recording: unless --no-record, the runtrail layer built next to this binary records\n"
    "each invocation into the store (--store); without that layer, use --no-record.\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Environment: the runtime and extensions get Lambda's variables, not the host's; from the\n"
    "host only RUNTRAIL_* passes, unless --inherit-env. At most 64 client connections are\n"
    "served at once; one idle for --idle-timeout seconds is closed. Requests wait for their\n"
    "turn without their body being read.\n"
    "\n"
    "Exit status: 0 after a clean stop, 2 usage or start-up error, 3 the store refused bundles\n"
    "(kept in the spool folder named on stderr, as soon as it happens). See\n"
    "runtrail-emulate(1).\n";

/* At most this many client connections at once (each has a thread); more are closed at once. */
#define MAX_CONNECTIONS 64

struct server {
    struct rt_emu *emu;
    pthread_mutex_t call_mu; /* one invocation at a time, from reading its body to the reply */
    bool quiet;
    unsigned idle_timeout_s;
    struct rt_invoke_opts *opts;
    pthread_mutex_t spool_mu;
    size_t spooled; /* bundles in the recorder's spool at the last look (under spool_mu) */
    const char *store;
};

/* One request. Its body is read only once it holds call_mu: a request waiting for its turn
 * holds no body (the client's bytes wait in the socket), so memory is bounded by the one event
 * being served, allocated once at its Content-Length. */
struct upload {
    struct rt_buf body;
    bool too_big;
    bool has_turn; /* holds call_mu */
};

/* A store that refuses bundles is said as soon as one lands in the spool (after an invocation
 * and every second), not only when the server stops. */
static void check_spool(struct server *srv)
{
    if (!srv->opts)
        return;
    pthread_mutex_lock(&srv->spool_mu);
    size_t spooled = rt_invoke_spooled(srv->opts);
    if (spooled > srv->spooled)
        rt_cli_report_spooled("emulate", srv->store, spooled - srv->spooled, srv->opts->spool_dir,
                              rt_invoke_env_value(srv->opts, "AWS_ACCESS_KEY_ID") != NULL);
    srv->spooled = spooled;
    pthread_mutex_unlock(&srv->spool_mu);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                             const char *request_id, bool function_error)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (request_id)
        MHD_add_response_header(r, "X-Amzn-RequestId", request_id);
    if (function_error)
        MHD_add_response_header(r, "X-Amz-Function-Error", "Unhandled");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *type,
                                   const char *message)
{
    char *body = rt_emu_error_json(type, message);
    return reply(c, status, body, body ? strlen(body) : 0, NULL, false);
}

static bool invocation_path(const char *url)
{
    static const char prefix[] = "/2015-03-31/functions/";
    static const char suffix[] = "/invocations";
    size_t n = strlen(url), p = sizeof prefix - 1, s = sizeof suffix - 1;
    return n > p + s && !strncmp(url, prefix, p) && !strcmp(url + n - s, suffix) &&
           !memchr(url + p, '/', n - p - s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct server *srv = cls;
    struct upload *up = *con_cls;
    if (!up) {
        if (!(up = calloc(1, sizeof *up)))
            return MHD_NO;
        *con_cls = up;
        if (!invocation_path(url) || strcmp(method, "POST"))
            return MHD_YES; /* answered below without reading a body */
        const char *clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        unsigned long long declared = clen ? strtoull(clen, NULL, 10) : 0;
        if (declared > RT_EMU_MAX_EVENT) {
            up->too_big = true; /* refused before a byte is read or a turn is taken */
            return MHD_YES;
        }
        /* This connection's thread waits for its turn; waiting is not idling, so the idle
         * timeout is off meanwhile and starts afresh for reading the body. */
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        pthread_mutex_lock(&srv->call_mu);
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, srv->idle_timeout_s);
        up->has_turn = true;
        if (declared && rt_buf_reserve(&up->body, (size_t)declared) != RT_OK)
            return MHD_NO;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (up->too_big || up->body.len + n > RT_EMU_MAX_EVENT || !up->has_turn) {
            up->too_big = up->too_big || up->has_turn;
            return MHD_YES; /* over the limit (or not an invocation): discarded */
        }
        return rt_buf_append(&up->body, upload_data, n) == RT_OK ? MHD_YES : MHD_NO;
    }
    if (!invocation_path(url))
        return reply_error(c, 404, "ResourceNotFoundException", "Unknown path");
    if (strcmp(method, "POST"))
        return reply_error(c, 405, "MethodNotAllowed", "Use POST");
    if (up->too_big)
        return reply_error(c, 413, "RequestEntityTooLargeException",
                           "Request must be smaller than 6291456 bytes for the Invoke operation");
    /* X-Amz-Client-Context is base64 (as for Lambda's Invoke); the runtime gets the JSON. */
    char *client_context = NULL;
    const char *cc64 = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Client-Context");
    if (cc64 && *cc64) {
        size_t n = strlen(cc64);
        client_context = calloc(1, n / 4 * 3 + 4);
        int got = client_context && n % 4 == 0
                      ? EVP_DecodeBlock((unsigned char *)client_context,
                                        (const unsigned char *)cc64, (int)n)
                      : -1;
        if (got < 0) {
            free(client_context);
            return reply_error(c, 400, "InvalidRequestContentException",
                               "Client context must be a valid Base64-encoded JSON object.");
        }
    }
    struct rt_emu_request req = {
        .payload = up->body.len ? up->body.data : "{}",
        .payload_len = up->body.len ? up->body.len : 2,
        .client_context = client_context,
    };
    struct rt_emu_result res;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    int rc = rt_emu_invoke(srv->emu, &req, &res, &ei);
    free(client_context);
    if (rc != RT_OK) {
        char msg[400];
        return reply_error(c, 500, "ServiceException", rt_errinfo_format(rc, &ei, msg, sizeof msg));
    }
    if (res.status != RT_STATUS_OK && !srv->quiet)
        fprintf(stderr, "runtrail emulate: %s: status %s (%s)\n", res.request_id,
                rt_status_name((unsigned)res.status), res.error_type);
    check_spool(srv);
    enum MHD_Result ret =
        reply(c, 200, res.body, res.body_len, res.request_id, res.status != RT_STATUS_OK);
    res.body = NULL; /* owned by the MHD response now */
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c, (void)toe;
    struct server *srv = cls;
    struct upload *up = *con_cls;
    if (up) {
        if (up->has_turn)
            pthread_mutex_unlock(&srv->call_mu);
        rt_buf_free(&up->body);
        free(up);
        *con_cls = NULL;
    }
}

RT_COMMAND(emulate, "serve a local Lambda function over an RIE-style invoke endpoint")
{
    if (rt_cli_wants_help(argc, argv)) {
        /* The options are replay/invoke.c's table, shared with invoke. */
        static const struct rt_cli_spec spec = {"emulate", help_text, rt_invoke_options, help_tail,
                                                true};
        rt_cli_opts_help(&spec, stdout);
        return RT_EXIT_OK;
    }
    static struct rt_invoke_opts o;
    char err[512];
    if (rt_invoke_opts_parse(argc, argv, true, &o, err, sizeof err) != RT_OK)
        return rt_cli_usage_error("emulate", "%s", err);
    if (o.n_events || o.repeat || o.report)
        return rt_cli_usage_error("emulate",
                                  "--event, --repeat and --report are options of 'invoke'");
    char host[256];
    unsigned port;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (rt_emu_parse_listen(o.listen, host, sizeof host, &port) != RT_OK ||
        inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return rt_cli_usage_error("emulate", "--listen wants HOST:PORT (IPv4), not '%s'", o.listen);
    sa.sin_port = htons((uint16_t)port);
    if (!o.no_record) {
        const char *store = o.store ? o.store : rt_store_default_url();
        if (rt_invoke_setup_recording(&o, "/proc/self/exe", store, err, sizeof err) != RT_OK) {
            rt_cli_error("emulate: %s", err);
            return RT_EXIT_USAGE;
        }
    }
    /* SIGINT/SIGTERM are taken by sigwait below; every thread inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct server srv;
    pthread_mutex_init(&srv.call_mu, NULL);
    pthread_mutex_init(&srv.spool_mu, NULL);
    srv.quiet = o.quiet;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    int rc = rt_emu_start(&o.cfg, &srv.emu, &ei);
    if (rc != RT_OK) {
        rt_cli_error("emulate: %s", rt_errinfo_format(rc, &ei, err, sizeof err));
        return RT_EXIT_USAGE;
    }
    srv.opts = o.no_record ? NULL : &o;
    srv.idle_timeout_s = o.idle_timeout_s ? o.idle_timeout_s : 30u;
    const char *store_url = rt_invoke_env_value(&o, "RUNTRAIL_STORE");
    srv.store = store_url ? store_url : "the store";
    /* Idle clients are closed after --idle-timeout and at most MAX_CONNECTIONS are served at
     * once, so that idle or slow connections cannot starve the endpoint. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
        NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_TIMEOUT,
        o.idle_timeout_s ? o.idle_timeout_s : 30u, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MAX_CONNECTIONS, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv, MHD_OPTION_END);
    if (!d) {
        rt_cli_error("emulate: cannot listen on %s", o.listen);
        rt_emu_stop(srv.emu);
        return RT_EXIT_USAGE;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr,
            "runtrail emulate: listening on http://%s:%u/2015-03-31/functions/function/"
            "invocations (Runtime API on %s)\n",
            host, info ? (unsigned)info->port : port, rt_emu_runtime_api(srv.emu));
    int64_t started_ns = rt_clock_wall_ns();
    int sig = 0;
    const struct timespec second = {1, 0};
    while ((sig = sigtimedwait(&stop, NULL, &second)) < 0)
        check_spool(&srv);
    fprintf(stderr, "runtrail emulate: %s: stopping\n", strsignal(sig));
    rt_emu_cancel(srv.emu); /* an invocation in progress ends now, not at its deadline */
    MHD_stop_daemon(d);
    rt_emu_stop(srv.emu);
    if (o.store_env[0]) /* recorded into a local folder: make it visible to ls */
        rt_cli_index_recorded("emulate", o.store_env + strlen("RUNTRAIL_STORE="), started_ns);
    size_t spooled = rt_invoke_spooled(&o);
    rt_cli_report_spooled("emulate", srv.store, spooled, o.spool_dir,
                          rt_invoke_env_value(&o, "AWS_ACCESS_KEY_ID") != NULL);
    rt_invoke_spool_done(&o);
    return spooled ? RT_EXIT_NOT_STORED : RT_EXIT_OK;
}
