/* fuzz-sources: replay/emulator_json.c formats/error.c */
/* fuzz-libs: -ljansson */
/* libFuzzer harness for what the local Lambda emulator parses from its clients (extensions and
 * runtimes are untrusted code): Extensions API register bodies, the error documents runtimes
 * post to /error and /init/error (with or without an error-type header), listen addresses
 * and Telemetry API subscriptions. The first byte picks the parser (mod 4); the rest is the
 * input. Checks that accepted register bodies only set known bits, that error documents are
 * always a JSON object whose error type was written and NUL-terminated, and that an accepted
 * subscription has a loopback http:// destination and buffering within Lambda's ranges. */
#include "replay/emulator.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 4;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    if (which == 0) {
        unsigned events = 0;
        struct rt_errinfo ei;
        if (rt_emu_parse_register(in, len, &events, &ei) == RT_OK &&
            (events & ~(RT_EMU_EV_INVOKE | RT_EMU_EV_SHUTDOWN)))
            abort();
    } else if (which == 1) {
        /* "header type\n body": the part before the first newline is the header. */
        const char *nl = memchr(in, '\n', len);
        char header[256] = "";
        const char *body = in;
        size_t body_len = len;
        if (nl && (size_t)(nl - in) < sizeof header) {
            memcpy(header, in, (size_t)(nl - in));
            header[nl - in] = '\0';
            body = nl + 1;
            body_len = len - (size_t)(nl - in) - 1;
        }
        char type[128];
        memset(type, 'x', sizeof type);
        size_t out_len = 0;
        char *doc =
            rt_emu_function_error(body, body_len, nl ? header : NULL, type, sizeof type, &out_len);
        if (doc) {
            if (!memchr(type, '\0', sizeof type))
                abort();
            json_t *root = json_loadb(doc, out_len, JSON_ALLOW_NUL, NULL);
            if (!json_is_object(root))
                abort();
            json_decref(root);
            free(doc);
        }
    } else if (which == 3) {
        struct rt_emu_tele_sub sub;
        char err[256];
        if (rt_emu_parse_telemetry(in, len, &sub, err, sizeof err) == RT_OK &&
            (strncmp(sub.uri, "http://", 7) || !memchr(sub.uri, '\0', sizeof sub.uri) ||
             sub.timeout_ms < 25 || sub.timeout_ms > 30000 || sub.max_items < 1000 ||
             sub.max_items > 10000 || sub.max_bytes < 262144 || sub.max_bytes > 1048576))
            abort();
    } else {
        char *text = malloc(len + 1);
        if (!text)
            return 0;
        memcpy(text, in, len);
        text[len] = '\0';
        char host[64];
        unsigned port = 0;
        if (rt_emu_parse_listen(text, host, sizeof host, &port) == RT_OK && port > 65535)
            abort();
        free(text);
    }
    return 0;
}
