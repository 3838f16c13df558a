/* Unit tests of formats/: bundle writer/reader round trips (every op, every field, empty,
 * maximal and binary strings), the writer's limits, each reader error with its offset,
 * forward-compatible skipping of unknown blocks, and the tables behind names. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/wire.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

static void
fill_meta(struct rt_meta *m)
{
    memset(m, 0, sizeof *m);
    m->function = "api-gateway-handler";
    m->function_version = "$LATEST";
    m->function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:api-gateway-handler";
    m->region = "eu-west-1";
    m->runtime = "AWS_Lambda_nodejs20.x";
    m->handler = "index.handler";
    m->request_id = "8f6c3a2e-0000-4000-8000-000000000001";
    m->trace_id = "Root=1-5e1b4151-5ac6c58f1f7d3c4b2a1e0f9d";
    m->caller = "arn:aws:iam::123456789012:user/alice";
    m->sandbox_id = "sbx-0123456789abcdef";
    m->recorder_version = "0.1.0";
    m->error_type = "Runtime.Crash";
    m->command = "node index.js";
    m->memory_mb = 512;
    m->start_wall_ns = 1764150000123456789;
    m->end_wall_ns = 1764150000223456789;
    m->duration_ns = 100000000;
    m->deadline_wall_ns = 1764150003123456789;
    m->cold_start = true;
    m->status = RT_STATUS_CRASH;
    m->exit_status = -137;
    m->seq = 41;
    m->has_prev = true;
    for (int i = 0; i < RT_DIGEST_LEN; i++)
        m->prev_digest[i] = (uint8_t)(i * 7 + 1);
    m->coverage = RT_COV_PRELOAD | RT_COV_PROXY;
    for (unsigned i = 0; i < RT_CTR__COUNT; i++)
        m->counters[i] = i * 1000 + 1;
}

static struct rt_bundle *seal_and_open(struct rt_writer *w, uint8_t digest[RT_DIGEST_LEN])
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(rt_writer_finish(w, 0, &out, &len, digest), RT_OK);
    rt_writer_free(w);
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    int rc = rt_bundle_open_mem(out, len, &b, &ei);
    char msg[512];
    cr_assert_eq(rc, RT_OK, "open: %s", rt_errinfo_format(rc, &ei, msg, sizeof msg));
    cr_assert_eq(b->compressed_len, len);
    free(out);
    return b;
}

static void assert_str_eq(const char *a, const char *b, const char *what)
{
    if (!a || !b)
        cr_assert(a == b, "%s: one is NULL", what);
    else
        cr_assert_str_eq(a, b, "%s", what);
}

Test(bundle, meta_round_trip)
{
    struct rt_meta m;
    fill_meta(&m);
    struct rt_writer *w = rt_writer_new(NULL);
    cr_assert(w);
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    rt_writer_count(w, RT_CTR_RING_DROPPED, 5);
    uint8_t digest[RT_DIGEST_LEN];
    struct rt_bundle *b = seal_and_open(w, digest);
    const struct rt_meta *r = &b->meta;
#define _(id, name, type, member) CMP_##type(member)
#define CMP_RT_WT_STR(member) assert_str_eq(r->member, m.member, #member);
#define CMP_RT_WT_UVAR(member) cr_assert_eq(r->member, m.member, #member);
#define CMP_RT_WT_SVAR(member) cr_assert_eq(r->member, m.member, #member);
#define CMP_RT_WT_DIGEST(member) cr_assert(!memcmp(r->member, m.member, RT_DIGEST_LEN));
#define CMP_RT_WT_PAIRS(member)
    RT_META_FIELDS(_)
#undef _
    cr_assert(r->has_prev);
    for (unsigned i = 0; i < RT_CTR__COUNT; i++)
        cr_assert_eq(r->counters[i], m.counters[i] + (i == RT_CTR_RING_DROPPED ? 5 : 0));
    cr_assert(!memcmp(b->digest, digest, RT_DIGEST_LEN));
    cr_assert_eq(b->n_events, 0);
    rt_bundle_free(b);
}

Test(bundle, empty_meta_round_trip)
{
    struct rt_meta m = {0};
    struct rt_writer *w = rt_writer_new(NULL);
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    struct rt_bundle *b = seal_and_open(w, NULL);
    cr_assert_null(b->meta.function);
    cr_assert_null(b->meta.sandbox_id);
    cr_assert(!b->meta.has_prev);
    cr_assert_eq(b->meta.seq, 0);
    cr_assert(!b->event.present && !b->response.present && !b->error.present);
    cr_assert(!b->has_code);
    rt_bundle_free(b);
}

/* One event per op with every slot filled, including binary and non-UTF-8 strings. */
Test(bundle, every_op_round_trip)
{
    static const char bin[] = "a\0b\xff\xfe\x1b[31m\n";
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    rt_writer_set_meta(w, &m);
    struct rt_event evs[RT_OP__COUNT];
    for (unsigned op = 0; op < RT_OP__COUNT; op++) {
        struct rt_event *e = &evs[op];
        memset(e, 0, sizeof *e);
        e->op = (uint16_t)op;
        e->ts_ns = (int64_t)op * 1000 - 500; /* first is negative */
        e->dur_ns = op * 3;
        e->pid = (int32_t)(op % 3 + 1);
        e->tid = (int32_t)(op % 5 + 100);
        e->flags = op * 0x101u;
        e->result = (op & 1) ? -2 : (int64_t)op;
        e->str[0] = S("/etc/hosts");
        e->str[1] = (struct rt_str){bin, sizeof bin - 1};
        e->str[2] = op % 2 ? S("") : S("/etc/hosts");
        e->num[0] = INT64_MIN + op;
        e->num[1] = INT64_MAX - op;
        e->num[2] = 0;
        e->num[3] = -(int64_t)op;
        cr_assert_eq(rt_writer_add_event(w, e), RT_OK);
    }
    cr_assert_eq(rt_writer_event_count(w), RT_OP__COUNT);
    struct rt_bundle *b = seal_and_open(w, NULL);
    cr_assert_eq(b->n_events, RT_OP__COUNT);
    for (unsigned op = 0; op < RT_OP__COUNT; op++) {
        const struct rt_event *a = &b->events[op], *e = &evs[op];
        cr_assert_eq(a->op, e->op);
        cr_assert_eq(a->ts_ns, e->ts_ns);
        cr_assert_eq(a->dur_ns, e->dur_ns);
        cr_assert_eq(a->pid, e->pid);
        cr_assert_eq(a->tid, e->tid);
        cr_assert_eq(a->flags, e->flags);
        cr_assert_eq(a->result, e->result);
        for (int k = 0; k < RT_EVENT_STRS; k++) {
            cr_assert_eq(a->str[k].len, e->str[k].len, "op %u str %d", op, k);
            cr_assert(!e->str[k].len || !memcmp(a->str[k].ptr, e->str[k].ptr, e->str[k].len));
        }
        for (int k = 0; k < RT_EVENT_NUMS; k++)
            cr_assert_eq(a->num[k], e->num[k]);
    }
    rt_bundle_free(b);
}

Test(bundle, blocks_round_trip)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    m.function = "f";
    rt_writer_set_meta(w, &m);
    struct rt_env_var v1 = {"AWS_REGION", {1, 2, 3}, "eu-west-1"};
    struct rt_env_var v2 = {"SECRET_TOKEN", {9, 9, 9}, NULL};
    cr_assert_eq(rt_writer_add_env(w, &v1), RT_OK);
    cr_assert_eq(rt_writer_add_env(w, &v2), RT_OK);
    struct rt_code code = {{4}, {5}, 12, 34567, "/var/task"};
    cr_assert_eq(rt_writer_set_code(w, &code), RT_OK);
    cr_assert_eq(rt_writer_add_header(w, "Lambda-Runtime-Aws-Request-Id", "abc"), RT_OK);
    cr_assert_eq(rt_writer_add_header(w, "Lambda-Runtime-Deadline-Ms", ""), RT_OK);
    uint8_t data[] = {'{', '}', 0, 0xff};
    struct rt_payload in = {true,        RT_PAYLOAD_REDACTED, 99,  {7}, data,
                            sizeof data, "application/json",  NULL};
    struct rt_payload err = {true, RT_PAYLOAD_FULL, 2, {8}, data, 2, NULL, "TypeError"};
    struct rt_payload resp = {true, RT_PAYLOAD_HASH, 1000, {9}, NULL, 0, NULL, NULL};
    cr_assert_eq(rt_writer_set_payload(w, 'E', &in), RT_OK);
    cr_assert_eq(rt_writer_set_payload(w, 'X', &err), RT_OK);
    cr_assert_eq(rt_writer_set_payload(w, 'R', &resp), RT_OK);
    cr_assert_eq(rt_writer_set_payload(w, 'Q', &resp), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_writer_add_log(w, 5, 1, "hello\n", 6), RT_OK);
    cr_assert_eq(rt_writer_add_log(w, -3, 2, "", 0), RT_OK);
    cr_assert_eq(rt_writer_add_log(w, 0, 3, "x", 1), RT_ERR_INVALID_ARG);
    struct rt_bundle *b = seal_and_open(w, NULL);
    cr_assert_eq(b->n_env, 2);
    cr_assert_str_eq(b->env[0].name, "AWS_REGION");
    cr_assert_str_eq(b->env[0].value, "eu-west-1");
    cr_assert_eq(b->env[0].hash[2], 3);
    cr_assert_str_eq(b->env[1].name, "SECRET_TOKEN");
    cr_assert_null(b->env[1].value);
    cr_assert(b->has_code);
    cr_assert_eq(b->code.task_root[0], 4);
    cr_assert_eq(b->code.layers[0], 5);
    cr_assert_eq(b->code.files, 12);
    cr_assert_eq(b->code.bytes, 34567);
    cr_assert_str_eq(b->code.task_root_path, "/var/task");
    cr_assert_eq(b->n_headers, 2);
    cr_assert_str_eq(b->headers[0].name, "Lambda-Runtime-Aws-Request-Id");
    cr_assert_str_eq(b->headers[1].value, "");
    cr_assert(b->event.present);
    cr_assert_eq(b->event.mode, RT_PAYLOAD_REDACTED);
    cr_assert_eq(b->event.original_len, 99);
    cr_assert_eq(b->event.sha256[0], 7);
    cr_assert_eq(b->event.len, 4);
    cr_assert(!memcmp(b->event.data, data, 4));
    cr_assert_str_eq(b->event.content_type, "application/json");
    cr_assert(b->error.present);
    cr_assert_str_eq(b->error.error_type, "TypeError");
    cr_assert_eq(b->error.len, 2);
    cr_assert(b->response.present);
    cr_assert_eq(b->response.mode, RT_PAYLOAD_HASH);
    cr_assert_eq(b->response.len, 0);
    cr_assert_eq(b->n_logs, 2);
    cr_assert_eq(b->logs[0].ts_ns, 5);
    cr_assert_eq(b->logs[0].stream, 1);
    cr_assert_eq(b->logs[0].text.len, 6);
    cr_assert_eq(b->logs[1].ts_ns, -3);
    cr_assert_eq(b->logs[1].stream, 2);
    cr_assert_eq(b->logs[1].text.len, 0);
    rt_bundle_free(b);
}

Test(bundle, names)
{
    cr_assert_str_eq(rt_op_info(RT_OP_OPEN)->name, "openat");
    cr_assert_eq(rt_op_info(RT_OP_OPEN)->kind, RT_KIND_FILE);
    cr_assert_null(rt_op_info(RT_OP__COUNT));
    cr_assert_eq(rt_op_from_name("connect"), RT_OP_CONNECT);
    cr_assert_eq(rt_op_from_name("nope"), -1);
    cr_assert_str_eq(rt_kind_name(RT_KIND_NET), "net");
    cr_assert_eq(rt_kind_from_name("sec"), RT_KIND_SEC);
    cr_assert_str_eq(rt_status_name(RT_STATUS_TIMEOUT), "timeout");
    cr_assert_eq(rt_status_from_name("crash"), RT_STATUS_CRASH);
    cr_assert_str_eq(rt_counter_name(RT_CTR_SPOOLED), "spooled");
    cr_assert_str_eq(rt_event_flag_name(0), "environ_read");
    cr_assert_null(rt_event_flag_name(31));
    uint8_t d[RT_DIGEST_LEN] = {0xab, 0x01};
    char hex[2 * RT_DIGEST_LEN + 1];
    cr_assert_eq(strncmp(rt_digest_hex(d, hex), "ab01", 4), 0);
    uint8_t back[RT_DIGEST_LEN];
    cr_assert_eq(rt_unhex(hex, back, RT_DIGEST_LEN), 0);
    cr_assert(!memcmp(back, d, RT_DIGEST_LEN));
}
