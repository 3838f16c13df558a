/* Unit tests of formats/: bundle writer/reader round trips (every op, every field, empty,
 * maximal and binary strings), the writer's limits, each reader error with its offset,
 * forward-compatible skipping of unknown blocks, and the tables behind names. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/render.h"
#include "formats/wire.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>

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
    m->arch = "aarch64";
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
    m->recorder_cpu_ns = 1234567;
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

/* A crafted bundle's uint64 past INT64_MAX shows as INT64_MAX in show --json, not negative. */
Test(bundle, json_meta_clamps_values_past_int64_max)
{
    struct rt_meta m = {0};
    m.duration_ns = UINT64_MAX;
    m.seq = UINT64_MAX;
    m.recorder_cpu_ns = (uint64_t)INT64_MAX + 1;
    m.counters[RT_CTR_SPOOLED] = UINT64_MAX;
    struct rt_writer *w = rt_writer_new(NULL);
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    struct rt_bundle *b = seal_and_open(w, NULL);
    json_t *j = rt_json_meta(b);
    cr_assert_eq(json_integer_value(json_object_get(j, "duration_ns")), INT64_MAX);
    cr_assert_eq(json_integer_value(json_object_get(j, "seq")), INT64_MAX);
    cr_assert_eq(json_integer_value(json_object_get(j, "recorder_cpu_ns")), INT64_MAX);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "counters"), "spooled")),
                 INT64_MAX);
    json_decref(j);
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

/* ---- docs/format.md tables: generated from the X-macro lists, checked here ---- */

static const char *af_name(enum rt_argfmt f)
{
    static const char *const names[] = {"-",        "str",    "argv",  "int",    "hex",
                                        "oct",      "oflags", "at_fd", "signal", "family",
                                        "socktype", "bytes",  "ns",    "proto",  "mark"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}

static const char *wt_name(enum rt_wire_type t)
{
    static const char *const names[] = {
        "string", "uvarint", "zigzag", "digest (32 bytes)", "(id, value) uvarint pairs", "bytes"};
    return names[t];
}

/* The markdown between the tables markers of docs/format.md. */
static char *tables_markdown(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f,
            "### Operations (`RT_OPS`)\n\n| op | name | kind | s0 | s1 | s2 | n0 | n1 | n2 | n3 |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (unsigned op = 0; op < RT_OP__COUNT; op++) {
        const struct rt_op_info *i = rt_op_info(op);
        fprintf(f, "| %u | `%s` | %s |", op, i->name, rt_kind_name(i->kind));
        for (int k = 0; k < RT_EVENT_STRS; k++)
            if (i->str_fmt[k] == RT_AF_NONE)
                fprintf(f, " |");
            else
                fprintf(f, " %s (%s%s%s) |", i->str_name[k], af_name(i->str_fmt[k]),
                        i->str_role[k] ? ", " : "",
                        i->str_role[k] ? rt_role_name(i->str_role[k]) : "");
        for (int k = 0; k < RT_EVENT_NUMS; k++)
            if (i->num_fmt[k] == RT_AF_NONE)
                fprintf(f, " |");
            else
                fprintf(f, " %s (%s%s%s) |", i->num_name[k], af_name(i->num_fmt[k]),
                        i->num_role[k] ? ", " : "",
                        i->num_role[k] ? rt_role_name(i->num_role[k]) : "");
        fprintf(f, "\n");
    }
    fprintf(f, "\n### Roles (`RT_ROLES`)\n\n| role | meaning |\n| --- | --- |\n");
    for (unsigned r = 1; r < RT_ROLE__COUNT; r++)
        fprintf(f, "| `%s` | %s |\n", rt_role_name(r), rt_role_doc(r));
    fprintf(f, "\n### Kinds (`RT_KINDS`)\n\n| value | name |\n| --- | --- |\n");
    for (unsigned k = 0; k < RT_KIND__COUNT; k++)
        fprintf(f, "| %u | `%s` |\n", k, rt_kind_name(k));
    fprintf(f, "\n### Event flags (`RT_EVENT_FLAGS`)\n\n| bit | name |\n| --- | --- |\n");
    for (unsigned b = 0; b < 32; b++)
        if (rt_event_flag_name(b))
            fprintf(f, "| %u | `%s` |\n", b, rt_event_flag_name(b));
    fprintf(f, "\n### Statuses (`RT_STATUSES`)\n\n| value | name |\n| --- | --- |\n");
    for (unsigned s = 0; s < RT_STATUS__COUNT; s++)
        fprintf(f, "| %u | `%s` |\n", s, rt_status_name(s));
    fprintf(f, "\n### Counters (`RT_COUNTERS`)\n\n| id | name |\n| --- | --- |\n");
    for (unsigned c = 0; c < RT_CTR__COUNT; c++)
        fprintf(f, "| %u | `%s` |\n", c, rt_counter_name(c));
    fprintf(f, "\n### Block types (`RT_BLOCKS`)\n\n| type | name |\n| --- | --- |\n");
#define _(id, num, name) fprintf(f, "| %d | `%s` |\n", num, name);
    RT_BLOCKS(_)
#undef _
    fprintf(f, "\n### META fields (`RT_META_FIELDS`)\n\n| id | name | encoding |\n"
               "| --- | --- | --- |\n");
#define _(id, name, type, member) fprintf(f, "| %d | `%s` | %s |\n", id, name, wt_name(type));
    RT_META_FIELDS(_)
#undef _
    fprintf(f, "\n### CODE fields (`RT_CODE_FIELDS`)\n\n| id | name | encoding |\n"
               "| --- | --- | --- |\n");
#define _(id, name, type, member) fprintf(f, "| %d | `%s` | %s |\n", id, name, wt_name(type));
    RT_CODE_FIELDS(_)
#undef _
    fprintf(f, "\n### Payload fields (`RT_PAYLOAD_FIELDS`)\n\n| id | name | encoding |\n"
               "| --- | --- | --- |\n");
#define _(id, name, type, member) fprintf(f, "| %d | `%s` | %s |\n", id, name, wt_name(type));
    RT_PAYLOAD_FIELDS(_)
#undef _
    fprintf(f, "\n### EVENTS columns (`RT_COLUMNS`)\n\n| # | column | streams | values |\n"
               "| --- | --- | --- | --- |\n");
    int col = 0;
#define _(id, name, scope, doc) fprintf(f, "| %d | `%s` | %s | %s |\n", col++, name, scope, doc);
    RT_COLUMNS(_)
#undef _
    fclose(f);
    return text;
}

Test(bundle, docs_tables_match_the_code)
{
    char *want = tables_markdown();
    if (getenv("RT_PRINT_TABLES")) {
        fputs(want, stdout);
        free(want);
        return;
    }
    FILE *f = fopen("docs/format.md", "r");
    cr_assert(f, "docs/format.md must exist (tests run from the repository root)");
    static char doc[256 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *begin = strstr(doc, "<!-- tables:begin -->\n");
    const char *end = strstr(doc, "<!-- tables:end -->");
    cr_assert(begin && end && end > begin, "tables markers missing in docs/format.md");
    begin += strlen("<!-- tables:begin -->\n");
    size_t got_len = (size_t)(end - begin);
    cr_assert(got_len == strlen(want) && !memcmp(begin, want, got_len),
              "docs/format.md tables differ from the X-macro lists; regenerate with\n"
              "RT_PRINT_TABLES=1 build/tests/unit/test_bundle --filter bundle/docs_tables*");
    free(want);
}

/* ---- limits ---- */

Test(bundle, limits_are_counted_not_failed)
{
    struct rt_limits lim = {.max_events = 3, .max_payload = 4, .max_log_bytes = 5, .max_string = 6};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m = {0};
    rt_writer_set_meta(w, &m);
    struct rt_event e = {0};
    e.op = RT_OP_OPEN;
    e.str[0] = S("/a/very/long/path");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
    cr_assert_eq(rt_writer_event_count(w), 3);
    uint8_t data[10] = "0123456789";
    struct rt_payload p = {true, RT_PAYLOAD_FULL, 10, {0}, data, 10, NULL, NULL};
    cr_assert_eq(rt_writer_set_payload(w, 'E', &p), RT_OK);
    /* max_log_bytes 5: each line costs its length + 1 */
    cr_assert_eq(rt_writer_add_log(w, 0, 1, "abc", 3), RT_OK);  /* 4 */
    cr_assert_eq(rt_writer_add_log(w, 1, 1, "defg", 4), RT_OK); /* "" kept: 5, 4 dropped */
    cr_assert_eq(rt_writer_add_log(w, 2, 1, "hij", 3), RT_OK);  /* dropped */
    for (int i = 0; i < 100; i++)
        cr_assert_eq(rt_writer_add_log(w, 3, 2, "", 0), RT_OK); /* bounded too */
    struct rt_bundle *b = seal_and_open(w, NULL);
    cr_assert_eq(b->n_events, 3);
    cr_assert_eq(b->meta.counters[RT_CTR_EVENTS_DROPPED], 2);
    cr_assert_eq(b->events[0].str[0].len, 6);
    cr_assert(!memcmp(b->events[0].str[0].ptr, "/a/ver", 6));
    cr_assert_eq(b->meta.counters[RT_CTR_STRINGS_TRUNCATED], 3);
    cr_assert_eq(b->event.len, 4);
    cr_assert_eq(b->event.original_len, 10);
    cr_assert_eq(b->meta.counters[RT_CTR_PAYLOAD_TRUNCATED], 6);
    cr_assert_eq(b->n_logs, 2);
    cr_assert_eq(b->logs[1].text.len, 0);
    cr_assert_eq(b->meta.counters[RT_CTR_LOG_BYTES_DROPPED], 7);
    rt_bundle_free(b);
}

Test(bundle, writer_rejects_bad_input_and_reuse)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_event e = {0};
    e.op = RT_OP__COUNT;
    cr_assert_eq(rt_writer_add_event(w, &e), RT_ERR_INVALID_ARG);
    e.op = RT_OP_OPEN;
    e.str[0] = (struct rt_str){NULL, 3};
    cr_assert_eq(rt_writer_add_event(w, &e), RT_ERR_INVALID_ARG);
    uint8_t *out;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 1, &out, &len, NULL), RT_OK);
    free(out);
    cr_assert_eq(rt_writer_finish(w, 1, &out, &len, NULL), RT_ERR_BUNDLE_FINISHED);
    cr_assert_eq(rt_writer_add_log(w, 0, 1, "x", 1), RT_ERR_BUNDLE_FINISHED);
    rt_writer_free(w);
}

Test(bundle, interning_stores_each_string_once)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    rt_writer_set_meta(w, &m);
    for (int i = 0; i < 1000; i++) {
        struct rt_event e = {0};
        e.op = RT_OP_OPEN;
        e.ts_ns = i * 1000;
        e.str[0] = S(i % 2 ? "/etc/hosts" : "/etc/resolv.conf");
        rt_writer_add_event(w, &e);
    }
    uint8_t *raw;
    size_t len;
    cr_assert_eq(rt_writer_finish_raw(w, &raw, &len, NULL), RT_OK);
    rt_writer_free(w);
    cr_assert(memmem(raw, len, "/etc/hosts", 10));
    const uint8_t *first = memmem(raw, len, "/etc/hosts", 10);
    cr_assert_null(memmem(first + 1, len - (size_t)(first + 1 - raw), "/etc/hosts", 10));
    cr_assert_lt(len, 1000 * 12);
    free(raw);
}

/* ---- reader errors, each with its offset ---- */

/* A small raw stream: header, META {function "f"}, STRINGS ["/x"], EVENTS [openat], footer. */
static size_t sample_raw(uint8_t **raw)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    m.function = "f";
    rt_writer_set_meta(w, &m);
    struct rt_event e = {0};
    e.op = RT_OP_OPEN;
    e.str[0] = S("/x");
    rt_writer_add_event(w, &e);
    size_t len;
    cr_assert_eq(rt_writer_finish_raw(w, raw, &len, NULL), RT_OK);
    rt_writer_free(w);
    return len;
}

/* Re-seals raw[0..len - 34) with a correct footer so only the intended error remains. */
static void reseal(uint8_t *raw, size_t len)
{
    rt_sha256(raw, len - 34, raw + len - 32);
}

static int decode(const uint8_t *raw, size_t len, struct rt_errinfo *ei)
{
    struct rt_bundle *b = NULL;
    int rc = rt_bundle_decode_raw(raw, len, 0, &b, ei);
    rt_bundle_free(b);
    return rc;
}

Test(reader, layout_of_the_sample)
{
    uint8_t *raw;
    size_t len = sample_raw(&raw);
    /* header 8 | META 1,4,{1,1,'f'} | STRINGS 8,4,{1,2,'/','x'} | EVENTS 9,... | FOOTER */
    cr_assert(!memcmp(raw, "RTRB\x01\x00\x00\x00", 8));
    cr_assert_eq(raw[8], RT_BLK_META);
    cr_assert_eq(raw[9], 3);
    cr_assert_eq(raw[13], RT_BLK_STRINGS);
    cr_assert_eq(raw[19], RT_BLK_EVENTS);
    cr_assert_eq(raw[len - 34], RT_BLK_FOOTER);
    struct rt_errinfo ei;
    cr_assert_eq(decode(raw, len, &ei), RT_OK);
    free(raw);
}

Test(reader, truncated_bad_magic_version)
{
    uint8_t *raw;
    size_t len = sample_raw(&raw);
    struct rt_errinfo ei;
    cr_assert_eq(decode(raw, 6, &ei), RT_ERR_BUNDLE_TRUNCATED);
    cr_assert_eq(ei.offset, 6);
    cr_assert_eq(decode(raw, 20, &ei), RT_ERR_BUNDLE_TRUNCATED); /* inside a length varint */
    cr_assert_eq(ei.offset, 20);
    cr_assert_eq(decode(raw, 25, &ei), RT_ERR_BUNDLE_LENGTH); /* EVENTS length > rest */
    cr_assert_eq(ei.offset, 19);
    cr_assert_eq(ei.block, 2);
    cr_assert_eq(decode(raw, len - 34, &ei), RT_ERR_BUNDLE_NO_FOOTER);
    cr_assert_eq(ei.offset, (int64_t)(len - 34));
    raw[0] = 'X';
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_MAGIC);
    cr_assert_eq(ei.offset, 0);
    raw[0] = 'R';
    raw[4] = RT_BUNDLE_VERSION + 1; /* versions 1 and 2 are read */
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_VERSION);
    cr_assert_eq(ei.offset, 4);
    raw[4] = 1;
    raw[20] = 0xff; /* a varint that never ends within the bundle: EVENTS length */
    raw[21] = 0xff;
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_LENGTH);
    free(raw);
}

Test(reader, digest_and_trailing)
{
    uint8_t *raw;
    size_t len = sample_raw(&raw);
    struct rt_errinfo ei;
    raw[12] = 'g'; /* function name */
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_DIGEST);
    cr_assert_eq(ei.offset, (int64_t)(len - 34));
    reseal(raw, len);
    cr_assert_eq(decode(raw, len, &ei), RT_OK);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, raw, len);
    longer[len] = 0;
    cr_assert_eq(decode(longer, len + 1, &ei), RT_ERR_BUNDLE_TRAILING);
    cr_assert_eq(ei.offset, (int64_t)len);
    free(longer);
    free(raw);
}

Test(reader, bad_string_ref_and_bad_enum)
{
    uint8_t *raw;
    size_t len = sample_raw(&raw);
    struct rt_errinfo ei;
    /* EVENTS body at 21: count 1, 15 columns, then the op column: length, 1 stream, key 0,
     * 1 plane (a small stream) = (length 1, the op) */
    static const uint8_t op_col[] = {1, 15, 5, 1, 0, 1, 1, RT_OP_OPEN};
    cr_assert(!memcmp(raw + 21, op_col, sizeof op_col));
    size_t op_at = 21 + sizeof op_col - 1;
    raw[op_at] = 120;
    reseal(raw, len);
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_ENUM);
    cr_assert_eq(ei.offset, (int64_t)op_at);
    cr_assert_eq(ei.block, 2);
    raw[op_at] = RT_OP_OPEN;
    /* the s0 column (9th): one stream, key = op, 1 plane = (length 1, string index 0) */
    size_t p = 21 + 2;
    for (int c = 0; c < 8; c++)
        p += 1 + raw[p];
    static const uint8_t s0_col[] = {5, 1, RT_OP_OPEN, 1, 1, 0};
    cr_assert(!memcmp(raw + p, s0_col, sizeof s0_col));
    size_t ref_at = p + sizeof s0_col - 1;
    raw[ref_at] = 5;
    reseal(raw, len);
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_STRING_REF);
    cr_assert_eq(ei.offset, (int64_t)ref_at);
    raw[ref_at] = 0;
    raw[p + 2] = 120; /* stream key outside the op table */
    reseal(raw, len);
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_ENUM);
    cr_assert_eq(ei.offset, (int64_t)(p + 2));
    raw[p + 2] = RT_OP_OPEN + 1; /* the openat event finds no s0 value */
    reseal(raw, len);
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_TRUNCATED);
    free(raw);
}

Test(reader, duplicate_and_missing_meta)
{
    uint8_t *raw;
    size_t len = sample_raw(&raw);
    struct rt_errinfo ei;
    raw[13] = RT_BLK_META; /* STRINGS becomes a second META */
    reseal(raw, len);
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_DUPLICATE);
    cr_assert_eq(ei.offset, 13);
    raw[13] = RT_BLK_STRINGS;
    raw[8] = 100; /* META becomes an unknown block: then STRINGS comes before any META */
    reseal(raw, len);
    cr_assert_eq(decode(raw, len, &ei), RT_ERR_BUNDLE_NO_META);
    free(raw);
}

Test(reader, unknown_blocks_are_skipped)
{
    uint8_t *raw;
    size_t len = sample_raw(&raw);
    /* insert an unknown block (type 42, 3 bytes) after META */
    uint8_t *b = malloc(len + 5);
    memcpy(b, raw, 13);
    memcpy(b + 13, "\x2a\x03xyz", 5);
    memcpy(b + 18, raw + 13, len - 13);
    reseal(b, len + 5);
    struct rt_bundle *bd = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_decode_raw(b, len + 5, 0, &bd, &ei), RT_OK);
    cr_assert_eq(bd->unknown_blocks, 1);
    cr_assert_eq(bd->n_events, 1);
    cr_assert_str_eq(bd->meta.function, "f");
    rt_bundle_free(bd);
    free(b);
    free(raw);
}

Test(reader, zstd_errors)
{
    uint8_t *raw, *z;
    size_t len = sample_raw(&raw), zlen;
    cr_assert_eq(rt_bundle_compress(raw, len, 3, &z, &zlen), RT_OK);
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(z, zlen, &b, &ei), RT_OK);
    rt_bundle_free(b);
    cr_assert_eq(rt_bundle_open_mem(z, zlen - 1, &b, &ei), RT_ERR_BUNDLE_TRUNCATED);
    cr_assert_eq(rt_bundle_open_mem(raw, len, &b, &ei), RT_ERR_BUNDLE_ZSTD);
    z[zlen - 1] ^= 1; /* the checksum itself */
    cr_assert_eq(rt_bundle_open_mem(z, zlen, &b, &ei), RT_ERR_BUNDLE_CHECKSUM);
    cr_assert_eq(rt_bundle_open_file("/nonexistent/x.rtb", &b, &ei), RT_ERR_IO);
    free(z);
    free(raw);
}

/* ---- fuzz regressions: every input that once crashed the reader is replayed ---- */

Test(reader, fuzz_regressions)
{
    DIR *d = opendir("tests/fuzz/regressions/bundle");
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "tests/fuzz/regressions/bundle/%s", de->d_name);
        uint8_t *buf;
        size_t len;
        struct rt_errinfo ei;
        if (rt_bundle_read_file(path, &buf, &len, &ei))
            continue;
        struct rt_bundle *b = NULL;
        if (rt_bundle_open_mem(buf, len, &b, &ei) == RT_OK)
            rt_bundle_free(b);
        b = NULL;
        if (rt_bundle_decode_raw(buf, len, RT_BUNDLE_NO_DIGEST, &b, &ei) == RT_OK)
            rt_bundle_free(b);
        free(buf);
    }
    closedir(d);
}

/* Enough events for multi-plane streams, with values of every byte length. */
Test(bundle, large_streams_round_trip)
{
    enum { N = 6000 };
    static struct rt_event evs[N];
    struct rt_limits lim = {.max_events = N};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m = {0};
    rt_writer_set_meta(w, &m);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        struct rt_event *e = &evs[i];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int shift = (int)(x % 64);
        e->op = (uint16_t)(i % 3 == 0   ? RT_OP_OPEN
                           : i % 3 == 1 ? RT_OP_OUTBOUND
                                        : x % RT_OP__COUNT);
        e->ts_ns = (int64_t)(x >> shift) - (int64_t)(x >> 40);
        e->dur_ns = x >> shift;
        e->pid = (int32_t)(x % 7);
        e->tid = (int32_t)(x % 11) - 5;
        e->flags = (uint32_t)(x >> 32);
        e->result = i % 5 == 0 ? INT64_MIN : (int64_t)(x >> shift) * (i % 2 ? -1 : 1);
        e->str[0] = S(i % 7 ? "/var/task/index.js" : "/etc/hosts");
        e->str[2] = S(i % 2 ? "x" : "");
        e->num[0] = (int64_t)x;
        e->num[3] = i % 4 ? INT64_MAX : 0;
        cr_assert_eq(rt_writer_add_event(w, e), RT_OK);
    }
    struct rt_bundle *b = seal_and_open(w, NULL);
    cr_assert_eq(b->n_events, N);
    for (int i = 0; i < N; i++) {
        const struct rt_event *a = &b->events[i], *e = &evs[i];
        cr_assert(a->op == e->op && a->ts_ns == e->ts_ns && a->dur_ns == e->dur_ns &&
                      a->pid == e->pid && a->tid == e->tid && a->flags == e->flags &&
                      a->result == e->result && a->num[0] == e->num[0] && a->num[3] == e->num[3],
                  "event %d differs", i);
        cr_assert_eq(a->str[0].len, e->str[0].len);
        cr_assert_eq(a->str[2].len, e->str[2].len);
    }
    rt_bundle_free(b);
}

Test(bundle, maximal_strings)
{
    static char big[4097];
    memset(big, 'a', sizeof big);
    big[0] = '\xff';
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    rt_writer_set_meta(w, &m);
    struct rt_event e = {0};
    e.op = RT_OP_RENAME;
    e.str[0] = (struct rt_str){big, 4096}; /* exactly the default limit: kept */
    e.str[1] = (struct rt_str){big, 4097}; /* one over: cut and counted */
    cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
    struct rt_bundle *b = seal_and_open(w, NULL);
    cr_assert_eq(b->events[0].str[0].len, 4096);
    cr_assert_eq(b->events[0].str[1].len, 4096);
    cr_assert(!memcmp(b->events[0].str[1].ptr, big, 4096));
    cr_assert_eq(b->meta.counters[RT_CTR_STRINGS_TRUNCATED], 1);
    rt_bundle_free(b);
}

/* ---- rendering (formats/render.c) ---- */

Test(render, strace_like_lines)
{
    char buf[512];
    struct rt_event e = {0};
    e.op = RT_OP_OPEN;
    e.str[0] = S("/etc/hosts");
    e.num[0] = -100;     /* AT_FDCWD */
    e.num[1] = 02000000; /* O_CLOEXEC */
    e.result = -2;
    e.dur_ns = 12000;
    e.flags = RT_EF_ENVIRON_READ | (1u << 30);
    rt_render_event(buf, sizeof buf, &e);
    cr_assert_str_eq(buf, "openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No "
                          "such file or directory) <0.012ms> [environ_read,flag30]");
    struct rt_event x = {0};
    static const char argv[] = "sh\0-c\0echo \x1b[2J";
    x.op = RT_OP_EXEC;
    x.str[0] = S("/bin/sh");
    x.str[1] = (struct rt_str){argv, sizeof argv - 1};
    x.result = 0;
    rt_render_event(buf, sizeof buf, &x);
    cr_assert_str_eq(buf, "execve(\"/bin/sh\", [\"sh\", \"-c\", \"echo \\x1b[2J\"], 0) = 0");
    struct rt_event k = {0};
    k.op = RT_OP_KILL;
    k.num[0] = 42;
    k.num[1] = 9;
    k.dur_ns = 450;
    rt_render_event(buf, sizeof buf, &k);
    cr_assert_str_eq(buf, "kill(42, SIGKILL) = 0 <450ns>");
    size_t need = rt_render_event(buf, 8, &e);
    cr_assert_gt(need, 8);
    cr_assert_eq(strlen(buf), 7);
    rt_render_ms(buf, sizeof buf, -1500000);
    cr_assert_str_eq(buf, "-1.500ms");
    rt_render_wall(buf, sizeof buf, 1764152100123456789LL);
    cr_assert_str_eq(buf, "2025-11-26T10:15:00.123456789Z");
}

/* O_* flags are read with the recording machine's numbers (META arch), not the viewer's. */
Test(render, open_flags_per_architecture)
{
    char buf[512];
    struct rt_event e = {0};
    e.op = RT_OP_OPEN;
    e.str[0] = S("/var/task");
    e.num[0] = -100;
    e.result = 3;
    /* aarch64: O_DIRECTORY 040000, O_NOFOLLOW 0100000, O_DIRECT 0200000, O_LARGEFILE 0400000 */
    e.num[1] = 040000 | 0100000 | 02000000;
    rt_render_event_arch(buf, sizeof buf, &e, RT_ARCH_AARCH64);
    cr_assert_str_eq(buf, "openat(AT_FDCWD, \"/var/task\", O_RDONLY|O_DIRECTORY|O_NOFOLLOW|"
                          "O_CLOEXEC) = 3");
    /* the same numbers from an x86_64 machine are O_DIRECT and O_LARGEFILE */
    rt_render_event_arch(buf, sizeof buf, &e, RT_ARCH_X86_64);
    cr_assert_str_eq(buf, "openat(AT_FDCWD, \"/var/task\", O_RDONLY|O_CLOEXEC|O_DIRECT|"
                          "O_LARGEFILE) = 3");
    e.num[1] = 0200000 | 0400000 | 01;
    rt_render_event_arch(buf, sizeof buf, &e, RT_ARCH_AARCH64);
    cr_assert_str_eq(buf, "openat(AT_FDCWD, \"/var/task\", O_WRONLY|O_DIRECT|O_LARGEFILE) = 3");
    rt_render_event_arch(buf, sizeof buf, &e, RT_ARCH_X86_64);
    cr_assert_str_eq(buf, "openat(AT_FDCWD, \"/var/task\", O_WRONLY|O_DIRECTORY|O_NOFOLLOW) = 3");
    /* O_TMPFILE carries the architecture's O_DIRECTORY bit */
    e.num[1] = 020000000 | 040000 | 02;
    rt_render_event_arch(buf, sizeof buf, &e, RT_ARCH_AARCH64);
    cr_assert_str_eq(buf, "openat(AT_FDCWD, \"/var/task\", O_RDWR|O_TMPFILE) = 3");
    rt_render_event_arch(buf, sizeof buf, &e, RT_ARCH_X86_64);
    cr_assert_str_eq(buf, "openat(AT_FDCWD, \"/var/task\", O_RDWR|O_DIRECT|0x400000) = 3");
    cr_assert_eq(rt_arch_from_name("aarch64"), RT_ARCH_AARCH64);
    cr_assert_eq(rt_arch_from_name("arm64"), RT_ARCH_AARCH64);
    cr_assert_eq(rt_arch_from_name(NULL), RT_ARCH_X86_64); /* a bundle without the field */
    cr_assert_eq(rt_arch_from_name("x86_64"), RT_ARCH_X86_64);
}

/* An aarch64 bundle keeps its arch through the writer and the reader. */
Test(render, arch_round_trips_in_meta)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    m.arch = "aarch64";
    rt_writer_set_meta(w, &m);
    uint8_t d[RT_DIGEST_LEN];
    struct rt_bundle *b = seal_and_open(w, d);
    cr_assert_str_eq(b->meta.arch, "aarch64");
    cr_assert_eq(rt_arch_from_name(b->meta.arch), RT_ARCH_AARCH64);
    rt_bundle_free(b);
}

Test(render, json_is_safe)
{
    struct rt_event e = {0};
    e.op = RT_OP_OPEN;
    e.str[0] = (struct rt_str){"/tmp/\xff\x1b", 7};
    json_t *j = rt_json_event(&e);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    cr_assert(strstr(s, "\"path\":\"/tmp/\\\\xff\\\\x1b\""), "%s", s);
    cr_assert(strstr(s, "\"op\":\"openat\""), "%s", s);
    cr_assert(strstr(s, "\"kind\":\"file\""), "%s", s);
    free(s);
    json_decref(j);
}
