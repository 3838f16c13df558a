/* fuzz-sources: formats/*.c */
/* fuzz-libs: -lzstd -lcrypto -ljansson */
/* libFuzzer harness for the bundle reader. Inputs starting with the zstd magic go through
 * rt_bundle_open_mem() (decompression, checksum, digest, decode); anything else is decoded as
 * a decompressed stream with the footer digest check off, so the fuzzer reaches every block
 * decoder. A decoded bundle is walked completely so ASan sees every pointer it holds, and
 * every event is rendered as text and JSON (formats/render.c, escape.c) as `show` does. */
#include "formats/bundle.h"
#include "formats/render.h"

#include <stdlib.h>

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void walk(const struct rt_bundle *b)
{
    size_t n = 0;
    char line[256];
    for (size_t i = 0; i < b->n_events; i++) {
        const struct rt_event *e = &b->events[i];
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    int rc;
    if (size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
        rc = rt_bundle_open_mem(data, size, &b, &ei);
    else
        rc = rt_bundle_decode_raw(data, size, RT_BUNDLE_NO_DIGEST, &b, &ei);
    if (rc == RT_OK) {
        walk(b);
        rt_bundle_free(b);
    } else {
        char msg[512];
        rt_errinfo_format(rc, &ei, msg, sizeof msg);
    }
    return 0;
}
