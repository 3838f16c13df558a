/* The event, status and counter tables: names and argument formats generated from the X-macro
 * lists in event.h and bundle.h (RT_OPS, RT_KINDS, RT_STATUSES, RT_COUNTERS), so `show`, the
 * JSON output, the catalog and docs/format.md all use the same names. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/event.h"

#include <string.h>

static const struct rt_op_info op_table[] = {
#define _(id, kind, name, f0, s0, f1, s1, f2, s2, g0, n0, g1, n1, g2, n2, g3, n3)                  \
    [RT_OP_##id] = {name,         RT_KIND_##kind,   {f0, f1, f2},                                  \
                    {s0, s1, s2}, {g0, g1, g2, g3}, {n0, n1, n2, n3}},
    RT_OPS(_)
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

char *rt_digest_hex(const uint8_t digest[RT_DIGEST_LEN], char *out)
{
    return rt_hex(digest, RT_DIGEST_LEN, out);
}
