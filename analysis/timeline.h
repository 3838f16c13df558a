/* The timeline of one bundle: its events and log lines merged in time order (events first on
 * equal timestamps, as recorded), through a filter, and the text row `show` prints for each:
 *     +12.345ms  pid 7  openat(AT_FDCWD, "/etc/hosts", O_RDONLY) = 3
 *     +13.000ms  stdout  "hello"
 * Rows are escaped (formats/escape.h); open flags are rendered with the bundle's arch. */
#ifndef RUNTRAIL_ANALYSIS_TIMELINE_H
#define RUNTRAIL_ANALYSIS_TIMELINE_H

#include "analysis/filter.h"
#include "formats/bundle.h"
#include "formats/render.h"

#include <stdbool.h>
#include <stddef.h>

/* A cursor over the merged timeline. The bundle and filter must outlive it. */
struct rt_timeline {
    const struct rt_bundle *b;
    const struct rt_filter *f; /* NULL: everything */
    size_t next_event, next_log;
};

/* One item: exactly one of ev and log is set. index is its position in b->events / b->logs. */
struct rt_timeline_item {
    const struct rt_event *ev;
    const struct rt_log *log;
    size_t index;
};

void rt_timeline_init(struct rt_timeline *t, const struct rt_bundle *b, const struct rt_filter *f);
/* Sets *item to the next item the filter keeps and returns true; false at the end. */
bool rt_timeline_next(struct rt_timeline *t, struct rt_timeline_item *item);

/* The text row of an item, without the newline: "%-10s pid P[ tid T]  <event>" or
 * "%-10s stdout  \"<text>\"". Writes at most cap bytes (NUL-terminated); returns the length
 * the full row needs, like snprintf. */
size_t rt_timeline_row(char *buf, size_t cap, const struct rt_timeline_item *item,
                       enum rt_arch arch);

#endif
