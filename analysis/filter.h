/* The event filter shared by `show`, diff, export and the viewer: which events of a bundle to
 * keep, by kind, operation, flag and time range. A zeroed struct rt_filter keeps everything;
 * each criterion that is set must hold (kinds OR'ed among themselves, ops likewise, flags: any
 * of the listed flags). Log lines (struct rt_log) count as kind `log`, op `log`. */
#ifndef RUNTRAIL_ANALYSIS_FILTER_H
#define RUNTRAIL_ANALYSIS_FILTER_H

#include "formats/bundle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_filter {
    unsigned kinds;                         /* bit per enum rt_kind; 0 = all */
    uint64_t ops[(RT_OP__COUNT + 63) / 64]; /* bit per enum rt_op, when any_op */
    bool any_op;
    uint32_t flags;         /* RT_EF_* of which an event needs one; 0 = no condition */
    bool has_from, has_to;  /* time range on ts_ns (offset from the invocation start) */
    int64_t from_ns, to_ns; /* inclusive */
};

/* Add the comma-separated names in list ("file,net", "openat,connect", "environ_read") to f.
 * Returns 0, or -1 with *bad pointing at the first unknown name inside list (which the call
 * cuts at that name's end with a NUL). */
int rt_filter_add_kinds(struct rt_filter *f, char *list, const char **bad);
int rt_filter_add_ops(struct rt_filter *f, char *list, const char **bad);
int rt_filter_add_flags(struct rt_filter *f, char *list, const char **bad);

/* True when f keeps the event (the log line). */
bool rt_filter_event(const struct rt_filter *f, const struct rt_event *ev);
bool rt_filter_log(const struct rt_filter *f, const struct rt_log *lg);

#endif
