/* fuzz-sources: recorder/wrapper/ready.c */
/* libFuzzer harness for the layer wrapper's ready-file parser (recorder/wrapper/ready.c): the
 * file sits in a folder under /tmp, so the wrapper, which runs before every runtime, must take
 * anything in it. Checks that an accepted file gives a proxy of exactly "127.0.0.1:" and a port
 * of 1-65535, a positive pid, and a NUL-terminated ring with no newline; and that the run folder
 * computed from the same bytes as a Runtime API address stays a /tmp/runtrail path. */
#include "recorder/wrapper/ready.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1); /* exactly size bytes: ASan catches any overread */
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct rt_wrap_ready r;
    if (rt_wrap_parse_ready(text, size, &r)) {
        if (strncmp(r.proxy, "127.0.0.1:", 10) != 0 || !memchr(r.ring, 0, sizeof r.ring) ||
            strchr(r.ring, '\n') || r.pid <= 0)
            abort();
        long port = strtol(r.proxy + 10, NULL, 10);
        if (port < 1 || port > 65535)
            abort();
    } else if (r.proxy[0] || r.ring[0] || r.pid) {
        abort();
    }
    /* The same bytes as AWS_LAMBDA_RUNTIME_API (up to the first NUL). */
    char *api = malloc(size + 1);
    if (api) {
        memcpy(api, data, size);
        api[size] = '\0';
        char dir[64];
        if (rt_wrap_run_dir(NULL, api, dir, sizeof dir) && strncmp(dir, "/tmp/runtrail", 13) != 0)
            abort();
        free(api);
    }
    free(text);
    return 0;
}
