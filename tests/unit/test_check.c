/* Unit tests of analysis/baseline and analysis/check: a baseline learned from crafted
 * invocations (written with the bundle writer, with other pids, fds, ports, temp names and
 * request ids in each run); a benign invocation like the learned ones gives no finding; each
 * deviation fires exactly its rule, once, naming the item and the event that shows it; the
 * flag rules, user rules (allow and deny) and the rules parser's errors; the baseline JSON round
 * trip is byte-stable; another function's, a newer and a corrupt baseline are refused; and
 * docs/rules.md's table against RT_CHECK_RULES. */
#include "analysis/analysis.h"
#include "analysis/baseline.h"
#include "analysis/check.h"
#include "formats/bundle.h"

#include <criterion/criterion.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

/* What varies in a crafted invocation; zeroed = the benign one. */
struct shape {
    int run;              /* pids, fds, ports, temp names and request ids vary with it */
    const char *function; /* NULL: "orders" */
    bool new_program;     /* runs /usr/bin/curl */
    bool new_argv;        /* runs /usr/bin/gzip with another flag */
    bool new_host;        /* an outbound connection to collector.example.net */
    bool new_read;        /* reads /etc/passwd */
    bool write_etc;       /* creates /var/task/app.py */
    bool env_drift;       /* DB_PASSWORD has another value */
    bool env_new;         /* an extra variable */
    bool code_drift;      /* another task root digest, same version */
    bool new_version;     /* another version with another digest */
    bool handler;         /* another handler */
    bool payload_key;     /* an extra payload key */
    bool payload_type;    /* "qty" is a string */
    int connections;      /* extra outbound connections to dynamodb (events, bytes) */
    uint64_t duration_ns; /* 0: 50 ms + run */
    uint32_t flags;       /* an event with these flags (openat of /proc/1/environ) */
    bool aws;             /* an aws_call dynamodb:GetItem (the baseline learns it too) */
    bool new_aws_action;  /* an aws_call iam:CreateUser */
    bool foreign_key;     /* the aws_call is signed with another access key id */
};

static void add(struct rt_writer *w, struct rt_event e)
{
    cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
}

static struct rt_bundle *invocation(const struct shape *s)
{
    struct rt_writer *w = rt_writer_new(NULL);
    cr_assert_not_null(w);
    char rid[64], version[8];
    snprintf(rid, sizeof rid, "%08x-0c3a-4f58-8e17-2a6c9d0b3f44", 0x1000u + (unsigned)s->run);
    snprintf(version, sizeof version, "%d", s->new_version ? 8 : 7);
    struct rt_meta m = {.function = (char *)(s->function ? s->function : "orders"),
                        .function_version = version,
                        .runtime = "python3.12",
                        .handler = s->handler ? "evil.handler" : "app.handler",
                        .request_id = rid,
                        .sandbox_id = "sandbox-1",
                        .access_key_id = "ASIAOWNROLEKEY0001",
                        .memory_mb = 512,
                        .duration_ns =
                            s->duration_ns ? s->duration_ns : 50000000u + (uint64_t)s->run * 1000,
                        .status = RT_STATUS_OK};
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    struct rt_env_var v = {.name = "DB_PASSWORD"};
    memset(v.hash, s->env_drift ? 0x77 : 0x11, RT_DIGEST_LEN);
    cr_assert_eq(rt_writer_add_env(w, &v), RT_OK);
    struct rt_env_var region = {.name = "AWS_REGION"};
    memset(region.hash, 0x42, RT_DIGEST_LEN);
    cr_assert_eq(rt_writer_add_env(w, &region), RT_OK);
    struct rt_env_var token = {.name = "AWS_SESSION_TOKEN"};
    memset(token.hash, s->run, RT_DIGEST_LEN); /* volatile: differs every run */
    cr_assert_eq(rt_writer_add_env(w, &token), RT_OK);
    if (s->env_new) {
        struct rt_env_var extra = {.name = "LD_AUDIT"};
        cr_assert_eq(rt_writer_add_env(w, &extra), RT_OK);
    }
    struct rt_code code = {.files = 3, .bytes = 100, .task_root_path = "/var/task"};
    memset(code.task_root, s->code_drift || s->new_version ? 0xcd : 0xab, RT_DIGEST_LEN);
    memset(code.layers, 0x01, RT_DIGEST_LEN);
    cr_assert_eq(rt_writer_set_code(w, &code), RT_OK);
    char payload[256];
    snprintf(payload, sizeof payload,
             "{\"order\": {\"id\": \"o-%d\", \"items\": [{\"sku\": \"a\", \"qty\": %s}]}%s}",
             s->run, s->payload_type ? "\"2\"" : "2", s->payload_key ? ", \"debug\": true" : "");
    struct rt_payload p = {.present = true,
                           .mode = RT_PAYLOAD_FULL,
                           .original_len = strlen(payload),
                           .data = (uint8_t *)payload,
                           .len = strlen(payload)};
    cr_assert_eq(rt_writer_set_payload(w, 'E', &p), RT_OK);

    int pid = 8 + s->run * 100, fd = 20 + s->run;
    int64_t t = 0;
    char argv0[] = "python3\0-m\0awslambdaric";
    struct rt_event e = {.ts_ns = t, .pid = pid, .tid = pid, .op = RT_OP_PROC_START};
    e.str[0] = S("/var/lang/bin/python3.12");
    e.str[1] = (struct rt_str){argv0, sizeof argv0};
    add(w, e);
    e = (struct rt_event){
        .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OPEN, .result = fd};
    e.str[0] = S("/var/task/data/prices.json");
    e.num[0] = -100;
    add(w, e);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/tmp%02dXk2_q.json", s->run);
    e = (struct rt_event){.ts_ns = t += 1000,
                          .pid = pid,
                          .tid = pid,
                          .op = RT_OP_OPEN,
                          .result = fd,
                          .flags = RT_EF_CREATE};
    e.str[0] = S(tmp);
    e.num[0] = -100;
    e.num[1] = 0101;
    e.num[2] = 0600;
    add(w, e);
    int child = pid + 1;
    char gz_argv[] = "gzip\0-9\0/tmp/out.json", gz_argv2[] = "gzip\0--rsyncable\0/tmp/out.json";
    e = (struct rt_event){
        .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_SPAWN, .result = child};
    e.str[0] = S("/usr/bin/gzip");
    e.str[1] = s->new_argv ? (struct rt_str){gz_argv2, sizeof gz_argv2}
                           : (struct rt_str){gz_argv, sizeof gz_argv};
    add(w, e);
    for (int i = 0; i < 1 + s->connections; i++) {
        char peer[32];
        snprintf(peer, sizeof peer, "52.94.1.7:%d", 40000 + s->run * 10 + i);
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_CONNECT};
        e.str[0] = S(peer);
        add(w, e);
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OUTBOUND};
        e.str[0] = S("52.94.1.7:443");
        e.str[1] = S("dynamodb.eu-west-1.amazonaws.com");
        e.num[0] = 1800 + s->run;
        e.num[1] = 5000;
        e.num[2] = RT_PROTO_TLS;
        add(w, e);
    }
    if (s->aws) {
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_AWS_CALL};
        e.str[0] = S("dynamodb:GetItem");
        e.str[1] = S("orders");
        e.str[2] =
            S(s->foreign_key ? "AKIAOTHERKEY0002/eu-west-1" : "ASIAOWNROLEKEY0001/eu-west-1");
        e.num[0] = 200;
        e.num[1] = fd;
        add(w, e);
    }
    if (s->new_aws_action) {
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_AWS_CALL};
        e.str[0] = S("iam:CreateUser");
        e.str[2] = S("ASIAOWNROLEKEY0001/eu-west-1");
        e.num[0] = 200;
        add(w, e);
    }
    if (s->new_program) {
        char argv[] = "curl\0-s\0http://example.net/";
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_SPAWN};
        e.str[0] = S("/usr/bin/curl");
        e.str[1] = (struct rt_str){argv, sizeof argv};
        add(w, e);
    }
    if (s->new_host) {
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_DNS};
        e.str[0] = S("collector.example.net");
        add(w, e);
    }
    if (s->new_read) {
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OPEN};
        e.str[0] = S("/etc/passwd");
        e.num[0] = -100;
        add(w, e);
    }
    if (s->write_etc) {
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OPEN, .flags = RT_EF_CREATE};
        e.str[0] = S("/var/task/app.py");
        e.num[0] = -100;
        e.num[1] = 01101;
        add(w, e);
    }
    if (s->flags) {
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OPEN, .flags = s->flags};
        e.str[0] = S("/proc/1/environ");
        e.num[0] = -100;
        add(w, e);
    }
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(rt_writer_finish(w, 0, &out, &len, NULL), RT_OK);
    rt_writer_free(w);
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(out, len, &b, &ei), RT_OK);
    free(out);
    return b;
}

/* A baseline learned from 20 benign runs (with the aws_call of shape.aws when aws). */
static struct rt_baseline *learned_from(bool aws)
{
    struct rt_baseline *bl = rt_baseline_new("orders");
    cr_assert_not_null(bl);
    for (int run = 0; run < 20; run++) {
        struct rt_bundle *b = invocation(&(struct shape){.run = run, .aws = aws});
        cr_assert_not(rt_baseline_suspicious(b, NULL));
        cr_assert_eq(rt_baseline_learn(bl, b), RT_OK);
        rt_bundle_free(b);
    }
    char *json;
    cr_assert_eq(rt_baseline_to_json(bl, &json, NULL), RT_OK); /* computes the ranges */
    free(json);
    return bl;
}

static struct rt_baseline *learned(void)
{
    return learned_from(false);
}

static void check(const struct shape *s, const struct rt_rules *rules, struct rt_findings *f,
                  struct rt_bundle **keep)
{
    struct rt_baseline *bl = learned_from(s->aws);
    struct rt_bundle *b = invocation(s);
    cr_assert_eq(rt_check_bundle(b, bl, rules, f), RT_OK);
    rt_baseline_free(bl);
    if (keep)
        *keep = b;
    else
        rt_bundle_free(b);
}

/* Exactly one finding, of rule, about item, with its first evidence row containing row (NULL:
 * no evidence). */
static void expect_one(const struct shape *s, enum rt_check_rule rule, const char *item,
                       const char *row)
{
    struct rt_findings f;
    struct rt_bundle *b;
    check(s, NULL, &f, &b);
    for (size_t i = 0; i < f.n; i++)
        cr_log_info("finding %s %s: %s", rt_check_rule_info(f.v[i].rule)->name, f.v[i].item,
                    f.v[i].explain);
    cr_assert_eq(f.n, 1, "expected one finding (%s), got %zu", rt_check_rule_info(rule)->name, f.n);
    cr_assert_eq(f.v[0].rule, rule, "rule %s", rt_check_rule_info(f.v[0].rule)->name);
    cr_assert_str_eq(f.v[0].item, item);
    if (row) {
        cr_assert_eq(f.v[0].n_ev, 1);
        char buf[1024];
        rt_check_evidence_row(buf, sizeof buf, b, f.v[0].ev[0]);
        cr_assert(strstr(buf, row), "evidence row '%s' lacks '%s'", buf, row);
    } else {
        cr_assert_eq(f.v[0].n_ev, 0);
    }
    rt_findings_free(&f);
    rt_bundle_free(b);
}

Test(check, benign_invocation_has_no_finding)
{
    struct rt_findings f;
    check(&(struct shape){.run = 33}, NULL, &f, NULL);
    for (size_t i = 0; i < f.n; i++)
        cr_log_error("unexpected %s %s", rt_check_rule_info(f.v[i].rule)->name, f.v[i].item);
    cr_assert_eq(f.n, 0);
    rt_findings_free(&f);
}

Test(check, new_program)
{
    expect_one(&(struct shape){.run = 40, .new_program = true}, RT_CHECK_NEW_PROGRAM,
               "/usr/bin/curl", "posix_spawn(\"/usr/bin/curl\"");
}

Test(check, new_argv)
{
    expect_one(&(struct shape){.run = 41, .new_argv = true}, RT_CHECK_NEW_ARGV,
               "/usr/bin/gzip: gzip --rsyncable /tmp/out.json", "--rsyncable");
}

Test(check, new_destination)
{
    expect_one(&(struct shape){.run = 42, .new_host = true}, RT_CHECK_NEW_DESTINATION,
               "collector.example.net", "getaddrinfo(\"collector.example.net\"");
}

Test(check, new_file)
{
    expect_one(&(struct shape){.run = 43, .new_read = true}, RT_CHECK_NEW_FILE, "read /etc/passwd",
               "\"/etc/passwd\"");
}

Test(check, write_outside_tmp)
{
    expect_one(&(struct shape){.run = 44, .write_etc = true}, RT_CHECK_WRITE_OUTSIDE_TMP,
               "create /var/task/app.py", "\"/var/task/app.py\"");
}

Test(check, env_drift_and_env_new)
{
    expect_one(&(struct shape){.run = 45, .env_drift = true}, RT_CHECK_ENV_DRIFT, "DB_PASSWORD",
               NULL);
    expect_one(&(struct shape){.run = 45, .env_new = true}, RT_CHECK_ENV_NEW, "LD_AUDIT", NULL);
}

Test(check, code_drift_without_new_version_only)
{
    expect_one(&(struct shape){.run = 46, .code_drift = true}, RT_CHECK_CODE_DRIFT, "7", NULL);
    struct rt_findings f;
    check(&(struct shape){.run = 46, .new_version = true}, NULL, &f, NULL);
    cr_assert_eq(f.n, 0, "a new version with new code is a deployment, not tampering");
    rt_findings_free(&f);
}

Test(check, config_drift)
{
    expect_one(&(struct shape){.run = 47, .handler = true}, RT_CHECK_CONFIG_DRIFT, "evil.handler",
               NULL);
}

Test(check, payload_key_and_type)
{
    expect_one(&(struct shape){.run = 48, .payload_key = true}, RT_CHECK_PAYLOAD_KEY, "$.debug",
               NULL);
    expect_one(&(struct shape){.run = 48, .payload_type = true}, RT_CHECK_PAYLOAD_TYPE,
               "$.order.items[].qty: string", NULL);
}

Test(check, duration_range)
{
    expect_one(&(struct shape){.run = 49, .duration_ns = 900000000}, RT_CHECK_DURATION_RANGE,
               "duration_ns 900000000", NULL);
}

Test(check, event_count_and_bytes_out_ranges)
{
    struct rt_findings f;
    check(&(struct shape){.run = 50, .connections = 60}, NULL, &f, NULL);
    cr_assert_eq(f.n, 2);
    cr_assert_eq(f.v[0].rule, RT_CHECK_EVENTS_RANGE);
    cr_assert_str_eq(f.v[0].item, "events 126");
    cr_assert_eq(f.v[1].rule, RT_CHECK_BYTES_OUT_RANGE);
    cr_assert_str_eq(f.v[1].item, "bytes_out 112850");
    rt_findings_free(&f);
}

Test(check, flag_rules_without_baseline)
{
    struct rt_bundle *b = invocation(&(struct shape){.flags = RT_EF_ENVIRON_READ});
    struct rt_findings f;
    cr_assert_eq(rt_check_bundle(b, NULL, NULL, &f), RT_OK);
    cr_assert_eq(f.n, 1);
    cr_assert_eq(f.v[0].rule, RT_CHECK_ENVIRON_READ);
    cr_assert_eq(f.v[0].n_ev, 1);
    char row[512];
    rt_check_evidence_row(row, sizeof row, b, f.v[0].ev[0]);
    cr_assert(strstr(row, "openat(AT_FDCWD, \"/proc/1/environ\""), "%s", row);
    rt_findings_free(&f);
    rt_bundle_free(b);
}

Test(check, user_rules_deny_and_allow)
{
    const char text[] = "# team rules\n"
                        "deny program curl\n"
                        "allow destination collector.example.net\n"
                        "deny path /etc/* read\n"
                        "allow flag environ_read\n";
    struct rt_rules r;
    struct rt_errinfo ei;
    cr_assert_eq(rt_rules_parse(text, strlen(text), &r, &ei), RT_OK, "%s", ei.detail);
    cr_assert_eq(r.n, 4);
    struct rt_findings f;
    check(&(struct shape){.run = 51,
                          .new_program = true,
                          .new_host = true,
                          .new_read = true,
                          .flags = RT_EF_ENVIRON_READ},
          &r, &f, NULL);
    const char *got[8] = {0};
    for (size_t i = 0; i < f.n && i < 8; i++)
        got[i] = rt_check_rule_info(f.v[i].rule)->name;
    /* curl: new and denied; /etc/passwd: new and denied; the host allowed; the flag allowed;
     * /proc/{n}/environ is a new read */
    cr_assert_eq(f.n, 5, "%zu findings", f.n);
    cr_assert_str_eq(got[0], "new_program");
    cr_assert_str_eq(got[1], "new_file");
    cr_assert_str_eq(got[2], "new_file");
    cr_assert_str_eq(got[3], "deny_program");
    cr_assert_str_eq(got[4], "deny_path");
    cr_assert_str_eq(f.v[4].item, "read /etc/passwd");
    rt_findings_free(&f);
    rt_rules_free(&r);
}

Test(check, new_aws_action)
{
    expect_one(&(struct shape){.run = 60, .aws = true, .new_aws_action = true},
               RT_CHECK_NEW_AWS_ACTION, "iam:CreateUser", "aws_call(\"iam:CreateUser\"");
}

Test(check, foreign_credential)
{
    expect_one(&(struct shape){.run = 61, .aws = true, .foreign_key = true},
               RT_CHECK_FOREIGN_CREDENTIAL, "AKIAOTHERKEY0002", "AKIAOTHERKEY0002/eu-west-1");
    /* the rule needs no baseline; `allow flag foreign_credential` silences it */
    struct rt_bundle *b = invocation(&(struct shape){.run = 62, .aws = true, .foreign_key = true});
    struct rt_findings f;
    cr_assert_eq(rt_check_bundle(b, NULL, NULL, &f), RT_OK);
    cr_assert_eq(f.n, 1);
    cr_assert_eq(f.v[0].rule, RT_CHECK_FOREIGN_CREDENTIAL);
    rt_findings_free(&f);
    struct rt_rules r;
    static const char text[] = "allow flag foreign_credential\n";
    cr_assert_eq(rt_rules_parse(text, sizeof text - 1, &r, NULL), RT_OK);
    cr_assert_eq(rt_check_bundle(b, NULL, &r, &f), RT_OK);
    cr_assert_eq(f.n, 0);
    rt_findings_free(&f);
    rt_rules_free(&r);
    rt_bundle_free(b);
}

/* A baseline document from before aws_actions existed does not judge AWS actions. */
Test(check, baseline_without_aws_actions_does_not_judge_them)
{
    struct rt_baseline *bl = learned_from(true);
    char *json;
    cr_assert_eq(rt_baseline_to_json(bl, &json, NULL), RT_OK);
    rt_baseline_free(bl);
    cr_assert(strstr(json, "\"aws_actions\": [\n  \"dynamodb:GetItem\"\n ]"), "%s", json);
    json_t *doc = json_loads(json, 0, NULL);
    cr_assert_not_null(doc);
    cr_assert_eq(json_object_del(doc, "aws_actions"), 0);
    char *old = json_dumps(doc, 0);
    json_decref(doc);
    free(json);
    struct rt_errinfo ei;
    cr_assert_eq(rt_baseline_parse(old, strlen(old), &bl, &ei), RT_OK, "%s", ei.detail);
    free(old);
    struct rt_bundle *b =
        invocation(&(struct shape){.run = 63, .aws = true, .new_aws_action = true});
    struct rt_findings f;
    cr_assert_eq(rt_check_bundle(b, bl, NULL, &f), RT_OK);
    for (size_t i = 0; i < f.n; i++)
        cr_assert_neq(f.v[i].rule, RT_CHECK_NEW_AWS_ACTION);
    rt_findings_free(&f);
    rt_bundle_free(b);
    rt_baseline_free(bl);
}

Test(check, rules_parser_names_the_line)
{
    static const struct {
        const char *text, *detail;
    } bad[] = {
        {"allow program\n", "line 1: expected"},
        {"\n\npermit program /bin/sh\n", "line 3: the first word"},
        {"deny host x\n", "line 1: the kind"},
        {"deny program /bin/sh write\n", "line 1: an access"},
        {"allow flag nonsense\n", "line 1: `allow flag NAME`"},
        {"deny path /etc/\xff\n", "line 1: patterns are ASCII"},
        {"deny path /a\x01 b\n", "line 1: control character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rt_rules r = {0};
        struct rt_errinfo ei;
        cr_assert_eq(rt_rules_parse(bad[i].text, strlen(bad[i].text), &r, &ei),
                     RT_ERR_RULES_INVALID, "%s", bad[i].text);
        cr_assert(strstr(ei.detail, bad[i].detail), "'%s' lacks '%s'", ei.detail, bad[i].detail);
    }
}

Test(baseline, json_round_trip_is_byte_stable)
{
    struct rt_baseline *bl = learned();
    char *a, *b2, *c;
    size_t la, lb, lc;
    cr_assert_eq(rt_baseline_to_json(bl, &a, &la), RT_OK);
    cr_assert(strstr(a, "\"version\": 1"));
    cr_assert(strstr(a, "\"/usr/bin/gzip\": [\n   \"gzip -9 /tmp/out.json\"\n  ]"), "%s", a);
    cr_assert(strstr(a, "\"/tmp/tmp{n}Xk2_q.json\": [\n   \"create\"\n  ]") ||
                  strstr(a, "\"/tmp/*.json\": [\n   \"create\"\n  ]"),
              "%s", a);
    cr_assert(strstr(a, "\"52.94.1.7:*\""), "ephemeral port generalised: %s", a);
    cr_assert(strstr(a, "\"AWS_SESSION_TOKEN\": [\n   \"*\"\n  ]"), "%s", a);
    cr_assert(strstr(a, "\"$.order.items[].qty\": [\n   \"number\"\n  ]"), "%s", a);
    cr_assert(strstr(a, "\"events\": {\n   \"max\": 6,\n   \"min\": 6,\n   \"p95\": 6\n  }"), "%s",
              a);
    struct rt_baseline *back;
    struct rt_errinfo ei;
    cr_assert_eq(rt_baseline_parse(a, la, &back, &ei), RT_OK, "%s", ei.detail);
    cr_assert_eq(rt_baseline_to_json(back, &b2, &lb), RT_OK);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(a, b2, la), 0, "round trip differs:\n%s\n---\n%s", a, b2);
    /* learning again from the same runs gives the same bytes */
    struct rt_baseline *again = learned();
    cr_assert_eq(rt_baseline_to_json(again, &c, &lc), RT_OK);
    cr_assert(lc == la && !memcmp(a, c, la));
    free(a);
    free(b2);
    free(c);
    rt_baseline_free(bl);
    rt_baseline_free(back);
    rt_baseline_free(again);
}

Test(baseline, other_function_newer_and_corrupt_are_refused)
{
    struct rt_baseline *bl = learned();
    struct rt_bundle *b = invocation(&(struct shape){.function = "billing"});
    struct rt_findings f;
    cr_assert_eq(rt_check_bundle(b, bl, NULL, &f), RT_ERR_BASELINE_FUNCTION);
    cr_assert_eq(f.n, 0);
    cr_assert_eq(rt_baseline_learn(bl, b), RT_ERR_BASELINE_FUNCTION);
    rt_bundle_free(b);
    rt_baseline_free(bl);

    struct rt_baseline *out = NULL;
    struct rt_errinfo ei;
    const char newer[] = "{\"version\": 2, \"function\": \"orders\"}";
    cr_assert_eq(rt_baseline_parse(newer, strlen(newer), &out, &ei), RT_ERR_BASELINE_VERSION);
    cr_assert(strstr(ei.detail, "version 2"), "%s", ei.detail);
    static const struct {
        const char *text, *detail;
    } bad[] = {
        {"{\"version\": 1,", "line 1"},
        {"[1]", "not a JSON object"},
        {"{\"version\": 1, \"function\": \"orders\"}", "invocations: missing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rt_baseline_parse(bad[i].text, strlen(bad[i].text), &out, &ei),
                     RT_ERR_BASELINE_INVALID);
        cr_assert(strstr(ei.detail, bad[i].detail), "'%s' lacks '%s'", ei.detail, bad[i].detail);
    }
    /* a valid document with one bad digest */
    bl = learned();
    char *json;
    cr_assert_eq(rt_baseline_to_json(bl, &json, NULL), RT_OK);
    char *tr = strstr(json, "\"task_root\": \"");
    cr_assert_not_null(tr);
    tr[strlen("\"task_root\": \"")] = 'Z';
    cr_assert_eq(rt_baseline_parse(json, strlen(json), &out, &ei), RT_ERR_BASELINE_INVALID);
    cr_assert(strstr(ei.detail, "code"), "%s", ei.detail);
    free(json);
    rt_baseline_free(bl);
}

Test(check, docs_table_matches_rules)
{
    char *want = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&want, &len);
    fputs("| rule | severity | source | fires when |\n| --- | --- | --- | --- |\n", m);
    for (unsigned i = 0; i < RT_CHECK__COUNT; i++) {
        const struct rt_check_rule_info *r = rt_check_rule_info(i);
        fprintf(m, "| `%s` | %s | %s | %s |\n", r->name, rt_severity_name(r->severity), r->source,
                r->doc);
    }
    fclose(m);
    if (getenv("RT_PRINT_TABLES")) {
        fputs(want, stdout);
        free(want);
        return;
    }
    FILE *f = fopen("docs/rules.md", "r");
    cr_assert(f, "docs/rules.md must exist (tests run from the repository root)");
    static char doc[64 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *begin = strstr(doc, "<!-- rules:begin -->\n");
    const char *end = strstr(doc, "<!-- rules:end -->");
    cr_assert(begin && end && end > begin, "rules markers missing in docs/rules.md");
    begin += strlen("<!-- rules:begin -->\n");
    cr_assert((size_t)(end - begin) == strlen(want) && !memcmp(begin, want, strlen(want)),
              "docs/rules.md differs from RT_CHECK_RULES; regenerate with\n"
              "RT_PRINT_TABLES=1 build/tests/unit/test_check --filter check/docs*");
    free(want);
}
