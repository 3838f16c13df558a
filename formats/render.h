/* Text and JSON renderings of bundle contents shared by `show`, `export` and the viewer:
 * the strace-like line of an event, argument formatting by RT_AF_* and JSON objects built
 * with jansson. Every captured string is escaped (formats/escape.h): the text never contains
 * raw control characters, and JSON is emitted ASCII-only by the callers. */
#ifndef RUNTRAIL_FORMATS_RENDER_H
#define RUNTRAIL_FORMATS_RENDER_H

#include "formats/bundle.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* "openat(AT_FDCWD, "/etc/hosts", O_RDONLY) = 3" or "... = -1 ENOENT (No such file or
 * directory)", plus the duration (" <0.012ms>", or " <450ns>" under a microsecond) when
 * dur_ns > 0 and flags (" [environ_read]"). Writes at most
 * cap bytes (NUL-terminated); returns the length the full text needs. */
size_t rt_render_event(char *buf, size_t cap, const struct rt_event *ev);
/* One argument value in format fmt (numbers; strings use rt_render_str), O_* flags as this
 * machine's architecture numbers them. */
size_t rt_render_num(char *buf, size_t cap, enum rt_argfmt fmt, int64_t v);

/* The architectures whose open(2) flags differ (META arch). */
enum rt_arch { RT_ARCH_X86_64 = 0, RT_ARCH_AARCH64 = 1 };
/* "aarch64" or "arm64" -> RT_ARCH_AARCH64; anything else, NULL included (bundles without the
 * META arch field), -> RT_ARCH_X86_64. */
enum rt_arch rt_arch_from_name(const char *name);
/* rt_render_event and rt_render_num for an event recorded on architecture arch: what `show`
 * uses, with rt_arch_from_name(META arch). The two above use the architecture this program
 * runs on (RT_HOST_ARCH), for events recorded here and now. */
size_t rt_render_event_arch(char *buf, size_t cap, const struct rt_event *ev, enum rt_arch arch);
size_t rt_render_num_arch(char *buf, size_t cap, enum rt_argfmt fmt, int64_t v, enum rt_arch arch);
/* "+12.345ms" / "-0.500ms": ns as milliseconds with microsecond precision. */
size_t rt_render_ms(char *buf, size_t cap, int64_t ns);
/* "2025-11-26T10:00:00.123456789Z" (UTC). */
size_t rt_render_wall(char *buf, size_t cap, int64_t wall_ns);
/* Errno name for a positive errno ("ENOENT"), or NULL. */
const char *rt_render_errno_name(int err);

/* JSON string for captured bytes: the text itself when it is valid UTF-8, otherwise its
 * escaped form (rt_escape_buf). Never NULL unless out of memory. */
json_t *rt_json_bytes(const void *s, size_t len);
/* {"record":"event","ts_ns":..,"pid":..,"tid":..,"kind":..,"op":..,"result":..,
 *  ["errno":..,] "dur_ns":..,"flags":[..],"args":{slot name: value}} */
json_t *rt_json_event(const struct rt_event *ev);
/* {"record":"meta", every META field, "digest":hex, "counters":{nonzero}} */
json_t *rt_json_meta(const struct rt_bundle *b);

#endif
