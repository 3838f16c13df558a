/* The merged, filtered timeline of a bundle and its text rows, as `show` prints them and the
 * viewer lists them. */
#include "analysis/timeline.h"
#include "formats/escape.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void rt_timeline_init(struct rt_timeline *t, const struct rt_bundle *b, const struct rt_filter *f)
{
    t->b = b;
    t->f = f;
    t->next_event = 0;
    t->next_log = 0;
}

bool rt_timeline_next(struct rt_timeline *t, struct rt_timeline_item *item)
{
    const struct rt_bundle *b = t->b;
    while (t->next_event < b->n_events || t->next_log < b->n_logs) {
        bool take_event = t->next_log >= b->n_logs ||
                          (t->next_event < b->n_events &&
                           b->events[t->next_event].ts_ns <= b->logs[t->next_log].ts_ns);
        if (take_event) {
            const struct rt_event *ev = &b->events[t->next_event++];
            if (t->f && !rt_filter_event(t->f, ev))
                continue;
            *item = (struct rt_timeline_item){ev, NULL, t->next_event - 1};
        } else {
            const struct rt_log *lg = &b->logs[t->next_log++];
            if (t->f && !rt_filter_log(t->f, lg))
                continue;
            *item = (struct rt_timeline_item){NULL, lg, t->next_log - 1};
        }
        return true;
    }
    return false;
}

size_t rt_timeline_row(char *buf, size_t cap, const struct rt_timeline_item *item,
                       enum rt_arch arch)
{
    char ts[40], prefix[96];
    int w;
    if (item->ev) {
        const struct rt_event *ev = item->ev;
        rt_render_ms(ts, sizeof ts, ev->ts_ns);
        if (ev->tid != ev->pid)
            w = snprintf(prefix, sizeof prefix, "%-10s pid %" PRId32 " tid %" PRId32 "  ", ts,
                         ev->pid, ev->tid);
        else
            w = snprintf(prefix, sizeof prefix, "%-10s pid %" PRId32 "  ", ts, ev->pid);
    } else {
        rt_render_ms(ts, sizeof ts, item->log->ts_ns);
        w = snprintf(prefix, sizeof prefix, "%-10s %s  \"", ts,
                     item->log->stream == 2 ? "stderr" : "stdout");
    }
    size_t n = w > 0 ? (size_t)w : 0;
    if (cap)
        snprintf(buf, cap, "%s", prefix);
    char *rest = cap > n ? buf + n : NULL;
    size_t room = cap > n ? cap - n : 0;
    if (item->ev)
        return n + rt_render_event_arch(rest, room, item->ev, arch);
    n += rt_escape_buf(rest, room, item->log->text.ptr, item->log->text.len, '"');
    if (cap > n)
        snprintf(buf + n, cap - n, "\"");
    return n + 1;
}
