/* Unit tests of replay/'s local Lambda emulator: the pure helpers (register bodies, error
 * documents, identifiers, listen addresses, the Lambda environment, invoke's options) and the
 * lifecycle driven directly through the library with tiny shell runtimes (an echo runtime on
 * curl, a runtime that never gets ready, one that exits at once). */
#include "formats/bundle.h"
#include "replay/emulator.h"
#include "replay/invoke.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- register bodies ---- */

Test(emulator, register_events)
{
    unsigned ev = 99;
    const char *body = "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}";
    cr_assert_eq(rt_emu_parse_register(body, strlen(body), &ev, NULL), RT_OK);
    cr_assert_eq(ev, RT_EMU_EV_INVOKE | RT_EMU_EV_SHUTDOWN);
    body = "{\"events\":[\"SHUTDOWN\"]}";
    cr_assert_eq(rt_emu_parse_register(body, strlen(body), &ev, NULL), RT_OK);
    cr_assert_eq(ev, RT_EMU_EV_SHUTDOWN);
    body = "{\"events\":[]}";
    cr_assert_eq(rt_emu_parse_register(body, strlen(body), &ev, NULL), RT_OK);
    cr_assert_eq(ev, 0);
}

Test(emulator, register_rejects_bad_bodies)
{
    unsigned ev = 7;
    struct rt_errinfo ei;
    const char *cases[] = {"",
                           "nope",
                           "[]",
                           "{}",
                           "{\"events\":\"INVOKE\"}",
                           "{\"events\":[\"INVOKE\",\"PAUSE\"]}",
                           "{\"events\":[1]}",
                           "{\"events\":[],\"events\":[]}"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt_errinfo_clear(&ei);
        int rc = rt_emu_parse_register(cases[i], strlen(cases[i]), &ev, &ei);
        cr_assert(rc == RT_ERR_EMU_BAD_JSON || rc == RT_ERR_EMU_BAD_REQUEST, "case %zu: %d", i, rc);
        cr_assert_eq(ev, 7, "untouched on error");
    }
    rt_errinfo_clear(&ei);
    const char *body = "{\"events\":[\"INVOKE\",\"PAUSE\"]}";
    rt_emu_parse_register(body, strlen(body), &ev, &ei);
    cr_assert_str_eq(ei.detail, "unknown event type at index 1");
}

/* ---- error documents ---- */

Test(emulator, error_json)
{
    char *s = rt_emu_error_json("Sandbox.Timedout", "Task timed out after 3.00 seconds");
    cr_assert_str_eq(s, "{\"errorMessage\":\"Task timed out after 3.00 seconds\","
                        "\"errorType\":\"Sandbox.Timedout\"}");
    free(s);
    s = rt_emu_error_json("T", "quote \" and \n newline");
    cr_assert_str_eq(s, "{\"errorMessage\":\"quote \\\" and \\n newline\",\"errorType\":\"T\"}");
    free(s);
}

Test(emulator, function_error_keeps_json_objects)
{
    const char *body =
        "{ \"errorType\" : \"ValueError\", \"errorMessage\":\"x\", \"stackTrace\":[] }";
    char type[64];
    size_t len = 0;
    char *doc = rt_emu_function_error(body, strlen(body), "Hdr", type, sizeof type, &len);
    cr_assert_str_eq(doc, body, "byte for byte");
    cr_assert_eq(len, strlen(body));
    cr_assert_str_eq(type, "ValueError");
    free(doc);
    body = "{\"errorMessage\":\"no type\"}";
    doc = rt_emu_function_error(body, strlen(body), "Hdr.Type", type, sizeof type, &len);
    cr_assert_str_eq(type, "Hdr.Type", "the header when the body has no errorType");
    free(doc);
    doc = rt_emu_function_error(body, strlen(body), NULL, type, sizeof type, &len);
    cr_assert_str_eq(type, "Unhandled");
    free(doc);
}

Test(emulator, function_error_wraps_other_bodies)
{
    char type[64];
    size_t len = 0;
    char *doc = rt_emu_function_error("plain text", 10, "Oops", type, sizeof type, &len);
    cr_assert_str_eq(doc, "{\"errorMessage\":\"plain text\",\"errorType\":\"Oops\"}");
    cr_assert_eq(len, strlen(doc));
    free(doc);
    doc = rt_emu_function_error("[1,2]", 5, NULL, type, sizeof type, &len);
    cr_assert_str_eq(doc, "{\"errorMessage\":\"[1,2]\",\"errorType\":\"Unhandled\"}");
    free(doc);
    doc = rt_emu_function_error("\xff\xfe", 2, NULL, type, sizeof type, &len);
    cr_assert_str_eq(doc, "{\"errorMessage\":\"(invalid UTF-8 error body)\","
                          "\"errorType\":\"Unhandled\"}");
    free(doc);
    doc = rt_emu_function_error(NULL, 0, NULL, type, sizeof type, &len);
    cr_assert_str_eq(doc, "{\"errorMessage\":\"\",\"errorType\":\"Unhandled\"}");
    free(doc);
}

/* ---- identifiers and addresses ---- */

Test(emulator, uuid_is_v4)
{
    char a[37], b[37];
    rt_emu_uuid(a);
    rt_emu_uuid(b);
    cr_assert_eq(strlen(a), 36);
    cr_assert_str_neq(a, b);
    cr_assert_eq(a[8], '-');
    cr_assert_eq(a[13], '-');
    cr_assert_eq(a[14], '4');
    cr_assert(strchr("89ab", a[19]) != NULL);
    for (int i = 0; i < 36; i++)
        cr_assert(strchr("0123456789abcdef-", a[i]) != NULL);
}

Test(emulator, trace_id_format)
{
    char t[128];
    rt_emu_trace_id(t, sizeof t);
    cr_assert_eq(strncmp(t, "Root=1-", 7), 0);
    cr_assert_eq(strlen(t), strlen("Root=1-12345678-123456789012345678901234;"
                                   "Parent=1234567890123456;Sampled=0"));
    cr_assert_eq(t[15], '-');
    cr_assert(strstr(t, ";Parent=") && strstr(t, ";Sampled=0"));
}

Test(emulator, parse_listen)
{
    char host[64];
    unsigned port = 0;
    cr_assert_eq(rt_emu_parse_listen("127.0.0.1:9001", host, sizeof host, &port), RT_OK);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 9001);
    cr_assert_eq(rt_emu_parse_listen("8080", host, sizeof host, &port), RT_OK);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 8080);
    cr_assert_eq(rt_emu_parse_listen(":0", host, sizeof host, &port), RT_OK);
    cr_assert_eq(port, 0);
    cr_assert_eq(rt_emu_parse_listen("0.0.0.0:65535", host, sizeof host, &port), RT_OK);
    cr_assert_str_eq(host, "0.0.0.0");
    const char *bad[] = {"", "host:", "1:65536", "a:b", "1:-1", "1:123456", "x:12a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_neq(rt_emu_parse_listen(bad[i], host, sizeof host, &port), RT_OK, "%s", bad[i]);
}

/* ---- the Lambda environment ---- */

Test(emulator, lambda_environment)
{
    const char *extra[] = {"AWS_REGION=eu-west-1", "MY_SETTING=1"};
    char *argv[] = {"true", NULL};
    struct rt_emu_config cfg = {.runtime_argv = argv,
                                .function_name = "orders",
                                .handler = "app.handler",
                                .task_root = "/var/task",
                                .memory_mb = 512,
                                .env = extra,
                                .n_env = 2};
    char **env =
        rt_lambda_env_build(&cfg, "127.0.0.1:9001", "/opt/runtrail/wrapper", "/tmp/sandbox.1");
    cr_assert_not_null(env);
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_LAMBDA_FUNCTION_NAME"), "orders");
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_LAMBDA_FUNCTION_VERSION"), "$LATEST");
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "512");
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_LAMBDA_LOG_GROUP_NAME"), "/aws/lambda/orders");
    cr_assert_not_null(strstr(rt_lambda_env_get(env, "AWS_LAMBDA_LOG_STREAM_NAME"), "/[$LATEST]"));
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_REGION"), "eu-west-1", "--env overrides");
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_DEFAULT_REGION"), "us-east-1");
    cr_assert_str_eq(rt_lambda_env_get(env, "LAMBDA_TASK_ROOT"), "/var/task");
    cr_assert_str_eq(rt_lambda_env_get(env, "_HANDLER"), "app.handler");
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001");
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_LAMBDA_EXEC_WRAPPER"), "/opt/runtrail/wrapper");
    cr_assert_str_eq(rt_lambda_env_get(env, "AWS_LAMBDA_INITIALIZATION_TYPE"), "on-demand");
    cr_assert_str_eq(rt_lambda_env_get(env, "TZ"), ":UTC");
    cr_assert_str_eq(rt_lambda_env_get(env, "MY_SETTING"), "1");
    cr_assert_not_null(rt_lambda_env_get(env, "AWS_SECRET_ACCESS_KEY"));
    cr_assert_not_null(strstr(rt_lambda_env_get(env, "AWS_SECRET_ACCESS_KEY"), "FAKE"));
    cr_assert_null(rt_lambda_env_get(env, "AWS_REGIONX"));
    cr_assert_str_eq(rt_lambda_env_get(env, "TMPDIR"), "/tmp/sandbox.1");
    if (!getenv("RUNTRAIL_RUN_DIR"))
        cr_assert_str_eq(rt_lambda_env_get(env, "RUNTRAIL_RUN_DIR"), "/tmp/sandbox.1/runtrail");
    int regions = 0;
    for (char **e = env; *e; e++)
        regions += !strncmp(*e, "AWS_REGION=", 11);
    cr_assert_eq(regions, 1, "an override replaces, never duplicates");
    rt_lambda_env_free(env);
}

/* ---- invoke's options ---- */

Test(emulator, invoke_options)
{
    static struct rt_invoke_opts o;
    char err[256];
    char *argv[] = {"invoke", "--event",     "a.json", "--event",     "-",        "--timeout",
                    "0.25",   "--env",       "K=V",    "--no-record", "--memory", "256",
                    "--",     "./bootstrap", "--flag", NULL};
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
    cr_assert_eq(rt_invoke_opts_parse(argc, argv, false, &o, err, sizeof err), RT_OK, "%s", err);
    cr_assert_eq(o.n_events, 2);
    cr_assert_str_eq(o.events[1], "-");
    cr_assert_eq(o.cfg.timeout_ms, 250);
    cr_assert_eq(o.cfg.memory_mb, 256);
    cr_assert(o.no_record);
    cr_assert_eq(o.n_env, 1);
    cr_assert_str_eq(o.cfg.runtime_argv[0], "./bootstrap");
    cr_assert_str_eq(o.cfg.runtime_argv[1], "--flag", "runtime arguments are not ours");
}

Test(emulator, invoke_option_errors)
{
    static struct rt_invoke_opts o;
    char err[256];
    char *a1[] = {"invoke", "--no-record", NULL};
    cr_assert_neq(rt_invoke_opts_parse(2, a1, false, &o, err, sizeof err), RT_OK);
    cr_assert_str_eq(err, "missing the runtime command (after --)");
    char *a2[] = {"invoke", "--timeout", "-1", "--", "x", NULL};
    cr_assert_neq(rt_invoke_opts_parse(5, a2, false, &o, err, sizeof err), RT_OK);
    char *a3[] = {"invoke", "--env", "NOEQUALS", "--", "x", NULL};
    cr_assert_neq(rt_invoke_opts_parse(5, a3, false, &o, err, sizeof err), RT_OK);
    cr_assert_str_eq(err, "--env wants K=V, not 'NOEQUALS'");
    char *a4[] = {"invoke", "--listen", "1", "--", "x", NULL};
    cr_assert_neq(rt_invoke_opts_parse(5, a4, false, &o, err, sizeof err), RT_OK);
    char *a5[] = {"emulate", "--", "x", NULL};
    cr_assert_neq(rt_invoke_opts_parse(3, a5, true, &o, err, sizeof err), RT_OK);
    cr_assert_str_eq(err, "--listen ADDR is required");
    char *a6[] = {"invoke", "--bogus", "--", "x", NULL};
    cr_assert_neq(rt_invoke_opts_parse(4, a6, false, &o, err, sizeof err), RT_OK);
    cr_assert_str_eq(err, "unknown option '--bogus'");
}

Test(emulator, recording_needs_the_layer)
{
    static struct rt_invoke_opts o;
    char err[512];
    char *argv[] = {"invoke", "--", "x", NULL};
    cr_assert_eq(rt_invoke_opts_parse(3, argv, false, &o, err, sizeof err), RT_OK);
    cr_assert_neq(rt_invoke_setup_recording(&o, "/nonexistent/bin/runtrail", NULL, err, sizeof err),
                  RT_OK);
    cr_assert_not_null(strstr(err, "--no-record"), "%s", err);
}

/* ---- the lifecycle, through the library ---- */

static const char *probe_runtime(void)
{
    static char path[4096];
    const char *root = getenv("RT_ROOT");
    snprintf(path, sizeof path, "%s/tests/replay/probe_runtime.sh", root ? root : ".");
    return path;
}

Test(emulator, echo_invocations_warm_after_cold, .timeout = 30)
{
    char *argv[] = {(char *)probe_runtime(), NULL};
    struct rt_emu_config cfg = {.runtime_argv = argv, .timeout_ms = 10000, .log_fd = -1};
    struct rt_emu *emu = NULL;
    cr_assert_eq(rt_emu_start(&cfg, &emu, NULL), RT_OK);
    cr_assert_not_null(strstr(rt_emu_runtime_api(emu), "127.0.0.1:"));
    const char *events[] = {"{\"n\":1}", "{\"n\":2}"};
    for (int i = 0; i < 2; i++) {
        struct rt_emu_request req = {.payload = events[i], .payload_len = strlen(events[i])};
        struct rt_emu_result res;
        cr_assert_eq(rt_emu_invoke(emu, &req, &res, NULL), RT_OK);
        cr_assert_eq(res.status, RT_STATUS_OK, "%s", res.body);
        cr_assert_str_eq(res.body, events[i]);
        cr_assert_eq(res.cold_start, i == 0);
        cr_assert_eq(strlen(res.request_id), 36);
        rt_emu_result_free(&res);
    }
    cr_assert_gt(rt_emu_runtime_pid(emu), 0);
    rt_emu_stop(emu);
}

Test(emulator, init_timeout_and_crash, .timeout = 30)
{
    char *never_ready[] = {"/bin/sh", "-c", "sleep 30", NULL};
    struct rt_emu_config cfg = {.runtime_argv = never_ready, .init_timeout_ms = 300, .log_fd = -1};
    struct rt_emu *emu = NULL;
    cr_assert_eq(rt_emu_start(&cfg, &emu, NULL), RT_OK);
    struct rt_emu_request req = {.payload = "{}", .payload_len = 2};
    struct rt_emu_result res;
    cr_assert_eq(rt_emu_invoke(emu, &req, &res, NULL), RT_OK);
    cr_assert_eq(res.status, RT_STATUS_TIMEOUT);
    cr_assert_str_eq(res.error_type, "Sandbox.Timedout");
    cr_assert_eq(rt_emu_runtime_pid(emu), 0, "the sandbox is gone");
    rt_emu_result_free(&res);
    rt_emu_stop(emu);

    char *exits[] = {"/bin/sh", "-c", "exit 7", NULL};
    cfg.runtime_argv = exits;
    cr_assert_eq(rt_emu_start(&cfg, &emu, NULL), RT_OK);
    cr_assert_eq(rt_emu_invoke(emu, &req, &res, NULL), RT_OK);
    cr_assert_eq(res.status, RT_STATUS_CRASH);
    cr_assert_str_eq(res.error_type, "Runtime.ExitError");
    cr_assert_not_null(strstr(res.body, "Runtime exited with error: exit status 7"), "%s",
                       res.body);
    rt_emu_result_free(&res);
    rt_emu_stop(emu);
}

Test(emulator, missing_runtime_is_an_emulator_error)
{
    char *argv[] = {"/nonexistent/bootstrap", NULL};
    struct rt_emu_config cfg = {.runtime_argv = argv, .log_fd = -1};
    struct rt_emu *emu = NULL;
    cr_assert_eq(rt_emu_start(&cfg, &emu, NULL), RT_OK);
    struct rt_emu_request req = {.payload = "{}", .payload_len = 2};
    struct rt_emu_result res;
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    cr_assert_eq(rt_emu_invoke(emu, &req, &res, &ei), RT_ERR_EMU_SPAWN);
    cr_assert_not_null(strstr(ei.detail, "/nonexistent/bootstrap"));
    rt_emu_result_free(&res);
    rt_emu_stop(emu);
}

static void *cancel_soon(void *arg)
{
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    rt_emu_cancel(arg);
    return NULL;
}

Test(emulator, cancel_ends_a_waiting_invocation, .timeout = 30)
{
    char *never_ready[] = {"/bin/sh", "-c", "sleep 30", NULL};
    struct rt_emu_config cfg = {.runtime_argv = never_ready, .log_fd = -1};
    struct rt_emu *emu = NULL;
    cr_assert_eq(rt_emu_start(&cfg, &emu, NULL), RT_OK);
    pthread_t t;
    pthread_create(&t, NULL, cancel_soon, emu);
    struct rt_emu_request req = {.payload = "{}", .payload_len = 2};
    struct rt_emu_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(rt_emu_invoke(emu, &req, &res, NULL), RT_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    cr_assert_eq(res.status, RT_STATUS_ERROR);
    cr_assert_str_eq(res.error_type, "Runtrail.Cancelled");
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 5, "not the 10 s init timeout");
    rt_emu_result_free(&res);
    struct rt_errinfo ei;
    rt_errinfo_clear(&ei);
    cr_assert_eq(rt_emu_invoke(emu, &req, &res, &ei), RT_ERR_EMULATOR, "no invocations after");
    rt_emu_stop(emu);
}

Test(emulator, telemetry_subscription)
{
    struct rt_emu_tele_sub sub;
    char err[256];
    const char *ok = "{\"types\":[\"platform\",\"function\"],\"buffering\":{\"timeoutMs\":25},"
                     "\"destination\":{\"protocol\":\"HTTP\",\"URI\":"
                     "\"http://sandbox.localdomain:4243/logs\"}}";
    cr_assert_eq(rt_emu_parse_telemetry(ok, strlen(ok), &sub, err, sizeof err), RT_OK, "%s", err);
    cr_assert(sub.function);
    cr_assert_str_eq(sub.uri, "http://sandbox.localdomain:4243/logs");
    cr_assert_eq(sub.timeout_ms, 25);
    cr_assert_eq(sub.max_items, 10000, "Lambda's default");
    cr_assert_eq(sub.max_bytes, 262144, "Lambda's default");
    const char *platform = "{\"types\":[\"platform\"],\"destination\":{\"protocol\":\"HTTP\","
                           "\"URI\":\"http://127.0.0.1:9\"}}";
    cr_assert_eq(rt_emu_parse_telemetry(platform, strlen(platform), &sub, err, sizeof err), RT_OK);
    cr_assert_not(sub.function);
    static const char *const bad[] = {
        "not json",
        "[]",
        "{\"types\":[],\"destination\":{\"protocol\":\"HTTP\",\"URI\":\"http://127.0.0.1:9\"}}",
        "{\"types\":[\"function\",\"gossip\"],\"destination\":{\"protocol\":\"HTTP\","
        "\"URI\":\"http://127.0.0.1:9\"}}",
        "{\"types\":[\"function\"],\"destination\":{\"protocol\":\"HTTP\","
        "\"URI\":\"http://203.0.113.9:9\"}}", /* never anywhere but loopback */
        "{\"types\":[\"function\"],\"destination\":{\"protocol\":\"TCP\","
        "\"URI\":\"http://127.0.0.1:9\"}}",
        "{\"types\":[\"function\"],\"destination\":{\"protocol\":\"HTTP\","
        "\"URI\":\"http://127.0.0.1.evil.example:9\"}}",
        "{\"types\":[\"function\"],\"buffering\":{\"timeoutMs\":5},\"destination\":{"
        "\"protocol\":\"HTTP\",\"URI\":\"http://127.0.0.1:9\"}}",
        "{\"types\":[\"function\"],\"buffering\":{\"maxBytes\":100},\"destination\":{"
        "\"protocol\":\"HTTP\",\"URI\":\"http://127.0.0.1:9\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_assert_eq(rt_emu_parse_telemetry(bad[i], strlen(bad[i]), &sub, err, sizeof err),
                     RT_ERR_EMU_BAD_REQUEST, "accepted: %s", bad[i]);
        cr_assert_neq(err[0], '\0', "a message for: %s", bad[i]);
    }
}
