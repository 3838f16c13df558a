/* The local Lambda emulator: one execution environment ("sandbox") on this machine, driven
 * through the same HTTP interfaces Lambda gives a function — the Runtime API (2018-06-01) and
 * the Extensions API (2020-01-01), HTTP/1.1 with keep-alive on 127.0.0.1. It starts the
 * extensions of the configured layer folders, waits for their registration, starts the
 * runtime (through the layer's exec wrapper when there is one), delivers each invocation to
 * the runtime and to the extensions, and ends the sandbox with SHUTDOWN. A timed-out or
 * crashed invocation resets the sandbox; the next invocation is a new cold start.
 *
 * Not thread-safe for callers: one thread drives an emulator at a time (rt_emu_invoke calls
 * are serialised by the caller). The emulator's own HTTP threads are internal. */
#ifndef RUNTRAIL_REPLAY_EMULATOR_H
#define RUNTRAIL_REPLAY_EMULATOR_H

#include "formats/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Response size limits Lambda applies (buffered: 6 MB as Lambda counts it; streaming 20 MiB). */
#define RT_EMU_MAX_RESPONSE 6291556u
#define RT_EMU_MAX_STREAMED (20u * 1024 * 1024)
#define RT_EMU_MAX_EVENT 6291556u
/* The request header block Lambda's Runtime API takes (Go's net/http default, 1 MiB and its 4 KiB
 * of slack): AWS's runtime clients send an error's X-Ray cause as a header of up to 1 MiB. MHD
 * parses a request's headers in its connection's memory pool, which must hold them with room
 * for its own (the parsed headers' list, the reply's header block); the recorder's proxy
 * (recorder/extension/proxy.c) takes the same. */
#define RT_EMU_MAX_HEADERS (1024u * 1024 + 4096)
#define RT_EMU_CONNECTION_POOL (RT_EMU_MAX_HEADERS + 64u * 1024)

struct rt_emu_config {
    char *const *runtime_argv;    /* the runtime command, NULL-terminated; required */
    const char *function_name;    /* NULL = "runtrail-function" */
    const char *function_version; /* NULL = "$LATEST" */
    const char *handler;          /* _HANDLER; NULL = "function.handler" */
    const char *task_root;        /* LAMBDA_TASK_ROOT and the runtime's cwd; NULL = cwd */
    const char *region;           /* NULL = "us-east-1" */
    unsigned memory_mb;           /* 0 = 128 */
    unsigned timeout_ms;          /* per invocation; 0 = 3000 */
    unsigned init_timeout_ms;     /* extensions + runtime init; 0 = 10000 */
    unsigned shutdown_ms;         /* extensions' SHUTDOWN budget; 0 = 2000 */
    const char *const *layers;    /* folders laid out like /opt (extensions/, runtrail/wrapper) */
    size_t n_layers;
    const char *const *env; /* extra "K=V" for runtime and extensions (override defaults) */
    size_t n_env;
    int log_fd;       /* where children's stdout/stderr go; < 0 = 2 */
    bool inherit_env; /* the host's variables pass too, under Lambda's (--inherit-env) */
};

/* PATH as Lambda sets it. The runtime command is looked up there first, then in the host's
 * PATH (the interpreter the user has); the sandbox's processes get this one. */
#define RT_LAMBDA_PATH "/usr/local/bin:/usr/bin/:/bin:/opt/bin"

/* Optional per-invocation context (NULL fields are absent). */
struct rt_emu_request {
    const char *payload;
    size_t payload_len;
    const char *client_context;   /* JSON, sent as Lambda-Runtime-Client-Context */
    const char *cognito_identity; /* JSON, sent as Lambda-Runtime-Cognito-Identity */
    const char *trace_id;         /* Lambda-Runtime-Trace-Id; NULL = a new one (replay: recorded) */
    const char *function_arn;     /* Lambda-Runtime-Invoked-Function-Arn; NULL = made from the
                                   * region and function name (replay: the recorded one) */
};

struct rt_emu_result {
    int status; /* enum rt_status (formats/bundle.h): OK, ERROR, TIMEOUT, CRASH */
    char request_id[40];
    char error_type[128]; /* status != OK */
    char *body;           /* response body, or Lambda's error JSON; NUL-terminated; owned */
    size_t body_len;
    bool cold_start;
    bool streamed;        /* the runtime used Lambda-Runtime-Function-Response-Mode: streaming */
    uint64_t init_ns;     /* cold start: sandbox start to runtime's first /next */
    uint64_t response_ns; /* delivery to the runtime's response or error (what a caller waits) */
    uint64_t duration_ns; /* delivery to completion (extensions back in event/next) */
};

struct rt_emu;

/* Starts the Runtime/Extensions API server on an ephemeral 127.0.0.1 port; processes start on
 * the first invocation. cfg and everything it points to must outlive the emulator. */
int rt_emu_start(const struct rt_emu_config *cfg, struct rt_emu **out, struct rt_errinfo *ei);

/* "127.0.0.1:PORT", the value of AWS_LAMBDA_RUNTIME_API. */
const char *rt_emu_runtime_api(const struct rt_emu *emu);

/* Delivers one invocation and waits for it to complete (response or error posted and every
 * extension back in event/next), time out, or crash. Fills *res (free with
 * rt_emu_result_free) and returns RT_OK for every completed invocation, whatever its status;
 * an RT_ERR_* only when the emulator itself failed (cannot spawn, out of memory). */
int rt_emu_invoke(struct rt_emu *emu, const struct rt_emu_request *req, struct rt_emu_result *res,
                  struct rt_errinfo *ei);
void rt_emu_result_free(struct rt_emu_result *res);

/* Ends the sandbox, if one runs: SIGTERM/SIGKILL to the runtime, SHUTDOWN (reason "spindown",
 * "timeout" or "failure") to extensions, SIGKILL after the shutdown budget. */
void rt_emu_shutdown(struct rt_emu *emu, const char *reason);

/* Thread-safe (not async-signal-safe): ends the invocation in progress, if any, as status
 * ERROR "Runtrail.Cancelled" and makes later rt_emu_invoke calls fail. For SIGINT handling. */
void rt_emu_cancel(struct rt_emu *emu);

/* Shuts down (spindown), stops the server and frees. NULL is allowed. */
void rt_emu_stop(struct rt_emu *emu);

/* Process ids of the sandbox (0 when not running), for tests and benchmarks. */
int rt_emu_runtime_pid(const struct rt_emu *emu);

/* ---- pure helpers (replay/emulator_json.c, replay/lambda_env.c) ---- */

/* Extensions API event bits. */
#define RT_EMU_EV_INVOKE 0x1u
#define RT_EMU_EV_SHUTDOWN 0x2u

/* Parses a register body {"events":["INVOKE","SHUTDOWN"]} into RT_EMU_EV_* bits. An empty
 * list is allowed (0). Returns RT_ERR_EMU_BAD_JSON / RT_ERR_EMU_BAD_REQUEST with detail. */
int rt_emu_parse_register(const char *body, size_t len, unsigned *events, struct rt_errinfo *ei);

/* A Telemetry API subscription (PUT /2022-07-01/telemetry). */
struct rt_emu_tele_sub {
    bool function; /* "function" is among the types */
    char uri[512]; /* destination: http:// on sandbox.localdomain, 127.0.0.1 or localhost */
    unsigned timeout_ms, max_items;
    size_t max_bytes;
};

/* Parses a subscription body {"types":[...],"destination":{"protocol":"HTTP","URI":...},
 * "buffering":{...}} with Lambda's rules and defaults. Returns RT_OK and fills *out, or
 * RT_ERR_EMU_BAD_REQUEST with a message in err. */
int rt_emu_parse_telemetry(const char *body, size_t len, struct rt_emu_tele_sub *out, char *err,
                           size_t err_cap);

/* Lambda's error JSON {"errorMessage":..,"errorType":..}; malloc'ed, NULL on OOM. */
char *rt_emu_error_json(const char *type, const char *message);

/* The error document the caller of an invocation sees, from what the runtime posted to
 * /error (body + Lambda-Runtime-Function-Error-Type header, either may be NULL): a JSON
 * object body is kept byte for byte; anything else becomes {"errorMessage","errorType"}.
 * Writes the error type (body's errorType, else the header, else "Unhandled") into type.
 * Returns a malloc'ed string and its length, NULL on OOM. */
char *rt_emu_function_error(const char *body, size_t len, const char *header_type, char *type,
                            size_t type_cap, size_t *out_len);

/* A random RFC 4122 version 4 UUID (36 chars + NUL). */
void rt_emu_uuid(char out[37]);

/* An X-Ray trace header "Root=1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx;Parent=...;Sampled=0". */
void rt_emu_trace_id(char *out, size_t cap);

/* The Lambda environment for the sandbox's processes: a NULL-terminated, malloc'ed array of
 * malloc'ed "K=V" strings (free with rt_lambda_env_free). api = AWS_LAMBDA_RUNTIME_API;
 * wrapper = AWS_LAMBDA_EXEC_WRAPPER or NULL; tmp_dir = the sandbox's private /tmp (TMPDIR,
 * and the recorder's RUNTRAIL_RUN_DIR and RUNTRAIL_SPOOL_DIR below it unless set) or NULL.
 * From the host: RUNTRAIL_* only, or with cfg->inherit_env every variable Lambda does not set.
 * cfg->env entries override everything. */
char **rt_lambda_env_build(const struct rt_emu_config *cfg, const char *api, const char *wrapper,
                           const char *tmp_dir);
void rt_lambda_env_free(char **env);
/* The value of name in a "K=V" array, or NULL. */
const char *rt_lambda_env_get(char *const *env, const char *name);

/* Parses a listen address "HOST:PORT", ":PORT" or "PORT" (IPv4; default host 127.0.0.1). */
int rt_emu_parse_listen(const char *addr, char *host, size_t host_cap, unsigned *port);

#endif
