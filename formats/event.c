/* The event, status and counter tables: names and argument formats generated from the X-macro
 * lists in event.h and bundle.h (RT_OPS, RT_KINDS, RT_STATUSES, RT_COUNTERS), so `show`, the
 * JSON output, the catalog and docs/format.md all use the same names. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/event.h"

#include <string.h>

static const struct rt_op_info op_table[] = {
#define _(id, kind, name, s0, s1, s2, n0, n1, n2, n3)                                              \
    [RT_OP_##id] = {name,                                                                          \
                    RT_KIND_##kind,                                                                \
                    {RT_ARG_FMT(s0), RT_ARG_FMT(s1), RT_ARG_FMT(s2)},                              \
                    {RT_ARG_NAME(s0), RT_ARG_NAME(s1), RT_ARG_NAME(s2)},                           \
                    {RT_ARG_FMT(n0), RT_ARG_FMT(n1), RT_ARG_FMT(n2), RT_ARG_FMT(n3)},              \
                    {RT_ARG_NAME(n0), RT_ARG_NAME(n1), RT_ARG_NAME(n2), RT_ARG_NAME(n3)},          \
                    {RT_ARG_ROLE(s0), RT_ARG_ROLE(s1), RT_ARG_ROLE(s2)},                           \
                    {RT_ARG_ROLE(n0), RT_ARG_ROLE(n1), RT_ARG_ROLE(n2), RT_ARG_ROLE(n3)}},
    RT_OPS(_)
#undef _
};

static const char *const role_names[] = {
#define _(id, name, doc) [RT_ROLE_##id] = name,
    RT_ROLES(_)
#undef _
};

static const char *const role_docs[] = {
#define _(id, name, doc) [RT_ROLE_##id] = doc,
    RT_ROLES(_)
#undef _
};

static const char *const kind_names[] = {
#define _(id, name) [RT_KIND_##id] = name,
    RT_KINDS(_)
#undef _
};

static const char *const status_names[] = {
#define _(id, name) [RT_STATUS_##id] = name,
    RT_STATUSES(_)
#undef _
};

static const char *const counter_names[] = {
#define _(id, num, name) [RT_CTR_##id] = name,
    RT_COUNTERS(_)
#undef _
};

const struct rt_op_info *rt_op_info(unsigned op)
{
    if (op >= RT_OP__COUNT)
        return NULL;
    return &op_table[op];
}

const char *rt_kind_name(unsigned kind)
{
    if (kind >= RT_KIND__COUNT)
        return NULL;
    return kind_names[kind];
}

int rt_kind_from_name(const char *name)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < RT_KIND__COUNT; i++)
        if (!strcmp(kind_names[i], name))
            return (int)i;
    return -1;
}

int rt_op_from_name(const char *name)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < RT_OP__COUNT; i++)
        if (!strcmp(op_table[i].name, name))
            return (int)i;
    return -1;
}

const char *rt_payload_mode_name(unsigned mode)
{
    static const char *const names[] = {"full", "redacted", "hash", "none"};
    return mode < sizeof names / sizeof names[0] ? names[mode] : "unknown";
}

const char *rt_status_name(unsigned status)
{
    if (status >= RT_STATUS__COUNT)
        return "unknown";
    return status_names[status];
}

int rt_status_from_name(const char *name)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < RT_STATUS__COUNT; i++)
        if (!strcmp(status_names[i], name))
            return (int)i;
    return -1;
}

const char *rt_counter_name(unsigned counter)
{
    if (counter >= RT_CTR__COUNT)
        return NULL;
    return counter_names[counter];
}

const char *rt_event_flag_name(unsigned bit)
{
    switch (bit) {
#define _(id, b, name)                                                                             \
    case b:                                                                                        \
        return name;
        RT_EVENT_FLAGS(_)
#undef _
    default:
        return NULL;
    }
}

const char *rt_role_name(unsigned role)
{
    return role < RT_ROLE__COUNT ? role_names[role] : NULL;
}

const char *rt_role_doc(unsigned role)
{
    return role < RT_ROLE__COUNT ? role_docs[role] : NULL;
}

int rt_op_str_slot(unsigned op, enum rt_role role)
{
    if (op >= RT_OP__COUNT || role == RT_ROLE_NONE)
        return -1;
    for (int k = 0; k < RT_EVENT_STRS; k++)
        if (op_table[op].str_role[k] == role)
            return k;
    return -1;
}

int rt_op_num_slot(unsigned op, enum rt_role role)
{
    if (op >= RT_OP__COUNT || role == RT_ROLE_NONE)
        return -1;
    for (int k = 0; k < RT_EVENT_NUMS; k++)
        if (op_table[op].num_role[k] == role)
            return k;
    return -1;
}

struct rt_str rt_event_str(const struct rt_event *ev, enum rt_role role)
{
    int k = rt_op_str_slot(ev->op, role);
    return k < 0 ? (struct rt_str){NULL, 0} : ev->str[k];
}

bool rt_event_has_str(const struct rt_event *ev, enum rt_role role)
{
    return rt_op_str_slot(ev->op, role) >= 0;
}

bool rt_event_num(const struct rt_event *ev, enum rt_role role, int64_t *out)
{
    int k = rt_op_num_slot(ev->op, role);
    if (k < 0)
        return false;
    *out = ev->num[k];
    return true;
}

struct rt_str rt_event_path(const struct rt_event *ev, unsigned i)
{
    return rt_event_str(ev, i == 0 ? RT_ROLE_PATH : i == 1 ? RT_ROLE_PATH2 : RT_ROLE__COUNT);
}

struct rt_str rt_event_peer(const struct rt_event *ev)
{
    return rt_event_str(ev, RT_ROLE_PEER);
}

struct rt_str rt_event_local(const struct rt_event *ev)
{
    return rt_event_str(ev, RT_ROLE_LOCAL);
}

struct rt_str rt_event_host(const struct rt_event *ev)
{
    return rt_event_str(ev, RT_ROLE_HOST);
}

struct rt_str rt_event_http(const struct rt_event *ev)
{
    return rt_event_str(ev, RT_ROLE_HTTP);
}

struct rt_str rt_event_program(const struct rt_event *ev)
{
    return rt_event_str(ev, RT_ROLE_PROGRAM);
}

int64_t rt_event_bytes_out(const struct rt_event *ev)
{
    int64_t v = 0;
    rt_event_num(ev, RT_ROLE_BYTES_OUT, &v);
    return v;
}

int64_t rt_event_bytes_in(const struct rt_event *ev)
{
    int64_t v = 0;
    rt_event_num(ev, RT_ROLE_BYTES_IN, &v);
    return v;
}

char *rt_digest_hex(const uint8_t digest[RT_DIGEST_LEN], char *out)
{
    return rt_hex(digest, RT_DIGEST_LEN, out);
}

void rt_bundle_env_digest(const struct rt_bundle *b, char hex[2 * RT_DIGEST_LEN + 1])
{
    struct rt_sha256_ctx *ctx = rt_sha256_new();
    if (!ctx) {
        hex[0] = '\0';
        return;
    }
    for (size_t i = 0; i < b->n_env; i++) {
        const char *name = b->env[i].name ? b->env[i].name : "";
        rt_sha256_update(ctx, name, strlen(name) + 1);
        rt_sha256_update(ctx, b->env[i].hash, RT_DIGEST_LEN);
    }
    uint8_t d[RT_DIGEST_LEN];
    rt_sha256_final(ctx, d);
    rt_hex(d, RT_DIGEST_LEN, hex);
}

bool rt_bundle_code_digest(const struct rt_bundle *b, char hex[2 * RT_DIGEST_LEN + 1])
{
    hex[0] = '\0';
    if (!b->has_code)
        return false;
    uint8_t both[2 * RT_DIGEST_LEN], d[RT_DIGEST_LEN];
    memcpy(both, b->code.task_root, RT_DIGEST_LEN);
    memcpy(both + RT_DIGEST_LEN, b->code.layers, RT_DIGEST_LEN);
    rt_sha256(both, sizeof both, d);
    rt_hex(d, RT_DIGEST_LEN, hex);
    return true;
}

static int is_summary(const struct rt_event *ev)
{
    return ev->op == RT_OP_OUTBOUND || ev->op == RT_OP_INBOUND;
}

int rt_event_order(const struct rt_event *a, const struct rt_event *b)
{
    if (a->ts_ns != b->ts_ns)
        return a->ts_ns < b->ts_ns ? -1 : 1;
    return is_summary(a) - is_summary(b);
}
