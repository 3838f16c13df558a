/* Unit tests of replay/replay.c and replay/sinkhole_dns.c (the parts of `runtrail replay` that
 * need no sandbox): crafted bundles written with the bundle writer give the expected payload
 * decision (faithful, missing, redacted with and without placeholders), the expected
 * environment (clear values restored, per-sandbox ones not, hashed ones missing, given ones
 * checked against the keyed hash only under the recording's key, credentials as placeholders),
 * what the sandbox stopped, the sink's ports; and the DNS answers of the sinkhole, byte by
 * byte. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/event.h"
#include "replay/replay.h"
#include "replay/sinkhole.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "unit-test-hash-key-0123456789"

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

/* The id the recorder gives KEY (recorder/extension/hashkey.c). */
static void
key_id(char out[48])
{
    uint8_t mac[RT_SHA256_LEN];
    const char *label = "runtrail hash key id v1";
    rt_hmac_sha256(KEY, strlen(KEY), label, strlen(label), mac);
    char hex[17];
    rt_hex(mac, 8, hex);
    snprintf(out, 48, "configured:%s", hex);
}

static void env_var(struct rt_writer *w, const char *name, const char *value, bool clear)
{
    struct rt_env_var v = {.name = (char *)name, .value = clear ? (char *)value : NULL};
    rt_hmac_sha256(KEY, strlen(KEY), value, strlen(value), v.hash);
    cr_assert_eq(rt_writer_add_env(w, &v), RT_OK);
}

/* A bundle with the event payload stored as given (mode, data, original) and a few events. */
static struct rt_bundle *crafted(uint8_t mode, const char *stored, const char *original)
{
    struct rt_writer *w = rt_writer_new(NULL);
    char id[48];
    key_id(id);
    struct rt_meta m = {
        .function = "fn", .request_id = "req-1", .hash_key_id = id, .status = RT_STATUS_OK};
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    env_var(w, "AWS_REGION", "eu-west-1", true);
    env_var(w, "TMPDIR", "/tmp/runtrail-sandbox.abc", true);
    env_var(w, "DB_HOST", "db.internal", false);
    env_var(w, "AWS_SECRET_ACCESS_KEY", "real-secret", false);
    if (stored) {
        struct rt_payload p = {.present = true,
                               .mode = mode,
                               .data = (uint8_t *)stored,
                               .len = strlen(stored),
                               .original_len = strlen(original)};
        rt_sha256(original, strlen(original), p.sha256);
        cr_assert_eq(rt_writer_set_payload(w, 'E', &p), RT_OK);
    }
    struct rt_event ev[] = {
        {.op = RT_OP_CONNECT, .pid = 1, .result = -ECONNREFUSED, .str = {S("127.0.0.1:8765")}},
        {.op = RT_OP_CONNECT, .pid = 1, .result = -ECONNREFUSED, .str = {S("127.0.0.1:8765")}},
        {.op = RT_OP_OUTBOUND, .pid = 1, .str = {S("10.1.2.3:5432")}},
        {.op = RT_OP_OUTBOUND, .pid = 1, .str = {S("10.1.2.4:443")}, .num = {120, 900}},
        {.op = RT_OP_DNS, .pid = 1, .result = -2, .str = {S("exfil.example")}},
    };
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        cr_assert_eq(rt_writer_add_event(w, &ev[i]), RT_OK);
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

Test(replay_payload, faithful_missing_redacted)
{
    char *out = NULL, why[512] = "";
    size_t len = 0;
    bool approx = true;
    struct rt_bundle *b = crafted(RT_PAYLOAD_REDACTED, "{\"a\":1}", "{\"a\":1}");
    cr_assert_eq(rt_replay_payload(b, NULL, 0, false, &out, &len, &approx, why, sizeof why), RT_OK);
    cr_assert_str_eq(out, "{\"a\":1}", "a redaction that changed nothing is faithful");
    cr_assert_not(approx);
    free(out);
    rt_bundle_free(b);

    b = crafted(RT_PAYLOAD_REDACTED, "{\"pw\":\"<redacted:hmac:00>\",\"n\":[\"<redacted:x>\"]}",
                "{\"pw\":\"hunter2\",\"n\":[\"s\"]}");
    cr_assert_eq(rt_replay_payload(b, NULL, 0, false, &out, &len, &approx, why, sizeof why),
                 RT_ERR_INVALID_ARG);
    cr_assert(strstr(why, "--fill-redacted"), "%s", why);
    cr_assert_eq(rt_replay_payload(b, NULL, 0, true, &out, &len, &approx, why, sizeof why), RT_OK);
    cr_assert_str_eq(out, "{\"pw\":\"runtrail-placeholder\",\"n\":[\"runtrail-placeholder\"]}");
    cr_assert(approx);
    free(out);
    cr_assert_eq(rt_replay_payload(b, "{\"pw\":\"hunter2\",\"n\":[\"s\"]}", 26, false, &out, &len,
                                   &approx, why, sizeof why),
                 RT_OK);
    cr_assert_not(approx, "the original bytes given with --event: not approximate");
    free(out);
    rt_bundle_free(b);

    b = crafted(RT_PAYLOAD_NONE, NULL, NULL);
    cr_assert_eq(rt_replay_payload(b, NULL, 0, true, &out, &len, &approx, why, sizeof why),
                 RT_ERR_INVALID_ARG);
    cr_assert(strstr(why, "no payload to replay") && strstr(why, "--event FILE"), "%s", why);
    rt_bundle_free(b);
}

static enum rt_replay_env_state state_of(const struct rt_replay_env *e, const char *name)
{
    for (size_t i = 0; i < e->n_notes; i++)
        if (!strncmp(e->notes[i].name, name, strlen(name)))
            return e->notes[i].state;
    return (enum rt_replay_env_state) - 1;
}

static const char *var_of(const struct rt_replay_env *e, const char *name)
{
    for (size_t i = 0; i < e->n_vars; i++)
        if (!strncmp(e->vars[i], name, strlen(name)) && e->vars[i][strlen(name)] == '=')
            return e->vars[i] + strlen(name) + 1;
    return NULL;
}

Test(replay_env, restored_missing_checked)
{
    struct rt_bundle *b = crafted(RT_PAYLOAD_FULL, "{}", "{}");
    struct rt_replay_env e;
    cr_assert_eq(rt_replay_env_build(b, NULL, 0, KEY, &e), RT_OK);
    cr_assert(e.key_known);
    cr_assert_str_eq(var_of(&e, "AWS_REGION"), "eu-west-1");
    cr_assert_eq(state_of(&e, "AWS_REGION"), RT_REPLAY_ENV_RESTORED);
    cr_assert_null(var_of(&e, "TMPDIR"), "per-sandbox variables are not restored");
    cr_assert_eq(state_of(&e, "DB_HOST"), RT_REPLAY_ENV_MISSING);
    cr_assert_null(var_of(&e, "DB_HOST"));
    cr_assert_str_eq(var_of(&e, "AWS_SECRET_ACCESS_KEY"), "runtrail-replay-placeholder");
    cr_assert_eq(state_of(&e, "AWS_SECRET_ACCESS_KEY"), RT_REPLAY_ENV_PLACEHOLDER);
    rt_replay_env_free(&e);

    const char *given[] = {"DB_HOST=db.internal", "AWS_REGION=us-east-1", "EXTRA=1"};
    cr_assert_eq(rt_replay_env_build(b, given, 3, KEY, &e), RT_OK);
    cr_assert_eq(state_of(&e, "DB_HOST"), RT_REPLAY_ENV_MATCHES);
    cr_assert_eq(state_of(&e, "AWS_REGION"), RT_REPLAY_ENV_DIFFERS);
    cr_assert_eq(state_of(&e, "EXTRA"), RT_REPLAY_ENV_NEW);
    cr_assert_str_eq(var_of(&e, "DB_HOST"), "db.internal");
    cr_assert_str_eq(var_of(&e, "AWS_REGION"), "us-east-1", "a given value wins");
    rt_replay_env_free(&e);

    cr_assert_eq(rt_replay_env_build(b, given, 1, "another-key-of-enough-length", &e), RT_OK);
    cr_assert_not(e.key_known);
    cr_assert_eq(state_of(&e, "DB_HOST"), RT_REPLAY_ENV_UNCHECKED);
    rt_replay_env_free(&e);
    cr_assert(rt_replay_env_not_compared("RUNTRAIL_REPLAY_OF"));
    cr_assert(rt_replay_env_not_compared("AWS_SESSION_TOKEN"));
    cr_assert_not(rt_replay_env_not_compared("DB_HOST"));
    rt_bundle_free(b);
}

Test(replay_blocked, destinations_and_sink_ports)
{
    struct rt_bundle *b = crafted(RT_PAYLOAD_FULL, "{}", "{}");
    struct rt_replay_dest *d = NULL;
    size_t n = 0;
    cr_assert_eq(rt_replay_blocked(b, RT_NET_ALLOW, &d, &n), RT_OK);
    cr_assert_eq(n, 0, "nothing is blocked with the network allowed");
    cr_assert_eq(rt_replay_blocked(b, RT_NET_DENY, &d, &n), RT_OK);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(d[0].dest, "127.0.0.1:8765");
    cr_assert_str_eq(d[0].what, "ECONNREFUSED");
    cr_assert_eq(d[0].count, 2);
    cr_assert_str_eq(d[1].dest, "10.1.2.3:5432");
    cr_assert_str_eq(d[1].what, "no connection (nothing sent)");
    cr_assert_str_eq(d[2].dest, "exfil.example");
    rt_replay_dests_free(d, n);
    unsigned ports[8];
    size_t np = rt_replay_sink_ports(b, ports, 8);
    cr_assert_eq(np, 4);
    cr_assert_eq(ports[0], 80);
    cr_assert_eq(ports[1], 443);
    cr_assert_eq(ports[2], 8765);
    cr_assert_eq(ports[3], 5432);
    rt_bundle_free(b);
}

Test(sinkhole_dns, answers_a_and_refuses_junk)
{
    static const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0, 1,   0,   0, 0, 0, 0, 0,
                                3,    'a',  'b',  'c',  2, 'i', 'o', 0, 0, 1, 0, 1};
    static const uint8_t sink[4] = {127, 0, 0, 1};
    uint8_t out[128];
    size_t n = rt_sinkhole_dns_answer(q, sizeof q, sink, out, sizeof out);
    cr_assert_eq(n, sizeof q + 16);
    cr_assert_eq(out[0], 0x12);
    cr_assert_eq(out[1], 0x34);
    cr_assert_eq(out[2], 0x81, "QR and RD");
    cr_assert_eq(out[3], 0x80);
    cr_assert_eq(out[7], 1, "one answer");
    static const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
    cr_assert_arr_eq(out + sizeof q, rr, sizeof rr);
    uint8_t aaaa[sizeof q];
    memcpy(aaaa, q, sizeof q);
    aaaa[sizeof q - 3] = 28;
    n = rt_sinkhole_dns_answer(aaaa, sizeof aaaa, sink, out, sizeof out);
    cr_assert_eq(n, sizeof q, "AAAA: no answer, NOERROR");
    cr_assert_eq(out[7], 0);
    cr_assert_eq(rt_sinkhole_dns_answer(q, sizeof q - 1, sink, out, sizeof out), 0,
                 "a cut question");
    cr_assert_eq(rt_sinkhole_dns_answer(q, sizeof q, sink, out, sizeof q), 0, "no room");
    uint8_t resp[sizeof q];
    memcpy(resp, q, sizeof q);
    resp[2] |= 0x80;
    cr_assert_eq(rt_sinkhole_dns_answer(resp, sizeof resp, sink, out, sizeof out), 0,
                 "a response is not answered");
}
