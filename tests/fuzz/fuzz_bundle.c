/* fuzz-sources: formats/*.c */
/* fuzz-libs: -lzstd -lcrypto -ljansson */
/* libFuzzer harness for the bundle reader. Inputs starting with the zstd magic go through
 * rt_bundle_open_mem() (decompression, checksum, digest, decode); anything else is decoded as
 * a decompressed stream with the footer digest check off, so the fuzzer reaches every block
 * decoder. A decoded bundle is walked completely so ASan sees every pointer it holds, and
 * every event is rendered as text and JSON (formats/render.c, escape.c) as `show` does.
 * zstd inputs also go through the event cursor (streaming decompression, chunk framing,
 * checkpoints): read to the end or the damage, seek back and forth, and the events it gave
 * must be the whole decode's when that one succeeded. Raw streams are compressed first so the
 * cursor sees them too. */
#include "formats/bundle.h"
#include "formats/render.h"

#include <stdlib.h>

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

/* Events rendered per input: enough for every op, few enough for a 100k-event bundle. */
#define RENDERED 2048

static void walk(const struct rt_bundle *b)
{
    size_t n = 0;
    char line[256];
    for (size_t i = 0; i < b->n_events; i++) {
        const struct rt_event *e = &b->events[i];
        if (i >= RENDERED) { /* a large (chunked) bundle: its strings only */
            for (int k = 0; k < RT_EVENT_STRS; k++)
                n += e->str[k].len ? (unsigned char)e->str[k].ptr[e->str[k].len - 1] : 0;
            continue;
        }
        n += rt_render_event(line, sizeof line, e); /* show's rendering of hostile values */
        json_t *j = rt_json_event(e);
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        n += s ? strlen(s) : 0;
        free(s);
        json_decref(j);
        n += rt_op_info(e->op)->name[0];
        for (int k = 0; k < RT_EVENT_STRS; k++)
            for (size_t j = 0; j < e->str[k].len; j++)
                n += (unsigned char)e->str[k].ptr[j];
    }
    for (size_t i = 0; i < b->n_logs; i++)
        for (size_t j = 0; j < b->logs[i].text.len; j++)
            n += (unsigned char)b->logs[i].text.ptr[j];
    for (size_t i = 0; i < b->n_env; i++)
        n += strlen(b->env[i].name) + (b->env[i].value ? strlen(b->env[i].value) : 0);
    for (size_t i = 0; i < b->n_headers; i++)
        n += strlen(b->headers[i].name) + strlen(b->headers[i].value);
    const struct rt_payload *p[3] = {&b->event, &b->response, &b->error};
    for (int k = 0; k < 3; k++)
        for (size_t j = 0; j < p[k]->len; j++)
            n += p[k]->data[j];
    if (b->meta.function)
        n += strlen(b->meta.function);
    sink = n;
}

static void same_event(const struct rt_event *a, const struct rt_event *b)
{
    if (a->op != b->op || a->ts_ns != b->ts_ns || a->pid != b->pid || a->tid != b->tid ||
        a->flags != b->flags || a->result != b->result || a->dur_ns != b->dur_ns)
        abort();
    for (int k = 0; k < RT_EVENT_STRS; k++)
        if (a->str[k].len != b->str[k].len ||
            (a->str[k].len && memcmp(a->str[k].ptr, b->str[k].ptr, a->str[k].len)))
            abort();
    for (int k = 0; k < RT_EVENT_NUMS; k++)
        if (a->num[k] != b->num[k])
            abort();
}

/* The cursor over a zstd frame; `whole` is the whole decode of the same bytes, or NULL. */
static void cursor(const uint8_t *z, size_t len, const struct rt_bundle *whole)
{
    struct rt_cursor *c;
    struct rt_errinfo ei;
    char line[256];
    if (rt_cursor_open_mem(z, len, &c, &ei))
        return;
    const struct rt_event *ev;
    size_t n = 0;
    int rc;
    while ((rc = rt_cursor_next(c, &ev, &ei)) == RT_OK && ev) {
        if (n < RENDERED)
            sink += rt_render_event(line, sizeof line, ev);
        if (whole) {
            if (n >= whole->n_events)
                abort();
            same_event(ev, &whole->events[n]);
        }
        n++;
    }
    if (whole && (rc || n != whole->n_events || rt_cursor_state(c) != RT_CURSOR_VERIFIED))
        abort(); /* the whole decode succeeded: the cursor must too */
    for (size_t k = 0; n && k < 4; k++) {
        size_t at = (n * (k + 1) / 5 + k * 4093) % n;
        if (rt_cursor_seek(c, at, &ei) == RT_OK && rt_cursor_next(c, &ev, &ei) == RT_OK && ev &&
            whole)
            same_event(ev, &whole->events[at]);
    }
    rt_cursor_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    int rc;
    if (size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
        rc = rt_bundle_open_mem(data, size, &b, &ei);
    else
        rc = rt_bundle_decode_raw(data, size, RT_BUNDLE_NO_DIGEST, &b, &ei);
    if (rc == RT_OK)
        walk(b);
    if (size >= 4 && data[0] == 0x28) {
        cursor(data, size, rc == RT_OK ? b : NULL);
    } else if (size < 65536) {
        uint8_t *z;
        size_t zlen;
        struct rt_bundle *bz = NULL;
        if (rc == RT_OK && rt_bundle_compress(data, size, 1, &z, &zlen) == RT_OK) {
            if (rt_bundle_open_mem(z, zlen, &bz, &ei) != RT_OK)
                bz = NULL; /* the digest was not checked above */
            cursor(z, zlen, bz);
            rt_bundle_free(bz);
            free(z);
        }
    }
    if (rc == RT_OK) {
        rt_bundle_free(b);
    } else {
        char msg[512];
        rt_errinfo_format(rc, &ei, msg, sizeof msg);
    }
    return 0;
}
