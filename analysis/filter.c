/* The event filter: kinds, operations, flags and a time range, by name from the tables in
 * formats/event.h, applied to events and log lines of a decoded bundle. */
#include "analysis/filter.h"

#include <string.h>

static int flag_from_name(const char *name)
{
    for (unsigned bit = 0; bit < 32; bit++) {
        const char *n = rt_event_flag_name(bit);
        if (n && !strcmp(n, name))
            return (int)bit;
    }
    return -1;
}

/* Calls add(f, name) for each name of the list; stops at the first it refuses. */
static int each_name(struct rt_filter *f, char *list, const char **bad,
                     int (*add)(struct rt_filter *, const char *))
{
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (add(f, tok) < 0) {
            if (bad)
                *bad = tok;
            return -1;
        }
    }
    return 0;
}

static int add_kind(struct rt_filter *f, const char *name)
{
    int k = rt_kind_from_name(name);
    if (k < 0)
        return -1;
    f->kinds |= 1u << k;
    return 0;
}

static int add_op(struct rt_filter *f, const char *name)
{
    int op = rt_op_from_name(name);
    if (op < 0)
        return -1;
    f->ops[op / 64] |= 1ull << (op % 64);
    f->any_op = true;
    return 0;
}

static int add_flag(struct rt_filter *f, const char *name)
{
    int bit = flag_from_name(name);
    if (bit < 0)
        return -1;
    f->flags |= 1u << bit;
    return 0;
}

int rt_filter_add_kinds(struct rt_filter *f, char *list, const char **bad)
{
    return each_name(f, list, bad, add_kind);
}

int rt_filter_add_ops(struct rt_filter *f, char *list, const char **bad)
{
    return each_name(f, list, bad, add_op);
}

int rt_filter_add_flags(struct rt_filter *f, char *list, const char **bad)
{
    return each_name(f, list, bad, add_flag);
}

static bool want(const struct rt_filter *f, int kind, unsigned op, uint32_t flags, int64_t ts)
{
    if (f->kinds && (kind < 0 || !(f->kinds & (1u << kind))))
        return false;
    if (f->any_op && (op >= RT_OP__COUNT || !(f->ops[op / 64] & (1ull << (op % 64)))))
        return false;
    if (f->flags && !(f->flags & flags))
        return false;
    if ((f->has_from && ts < f->from_ns) || (f->has_to && ts > f->to_ns))
        return false;
    return true;
}

bool rt_filter_event(const struct rt_filter *f, const struct rt_event *ev)
{
    const struct rt_op_info *info = rt_op_info(ev->op);
    return want(f, info ? (int)info->kind : -1, ev->op, ev->flags, ev->ts_ns);
}

bool rt_filter_log(const struct rt_filter *f, const struct rt_log *lg)
{
    return want(f, RT_KIND_LOG, RT_OP_LOG, 0, lg->ts_ns);
}
