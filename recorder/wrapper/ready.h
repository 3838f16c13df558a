/* The wrapper's decisions (recorder/wrapper/wrapper.c), as pure functions over strings so unit
 * tests and a fuzzer can hold them to what the wrapper script they replace did: where the
 * extension's run folder is, whether RUNTRAIL_DISABLE turns recording off, and what the
 * extension's ready file says. libc only: the wrapper is a static program. */
#ifndef RT_WRAPPER_READY_H
#define RT_WRAPPER_READY_H

#include <stdbool.h>
#include <stddef.h>

/* What a ready file names (written by the extension, recorder/extension/main.c):
 *   RUNTRAIL_PROXY=127.0.0.1:PORT   the Runtime API proxy
 *   RUNTRAIL_RING=PATH              the event ring (may be empty: no interposer)
 *   RUNTRAIL_PID=N                  the extension's process */
struct rt_wrap_ready {
    char proxy[24]; /* "127.0.0.1:PORT", PORT 1-65535 in decimal */
    long pid;       /* > 0 */
    char ring[4096];
};

/* Parses the text of a ready file: KEY=VALUE lines, the last of each key counts, other keys
 * are ignored, and a last line without its newline is ignored (a file still being written).
 * Returns true only when the proxy is 127.0.0.1 with a port number and the pid a positive
 * number; on false, *out holds nothing to use (empty proxy and ring, pid 0). Never reads past
 * text[len - 1], and writes only the bytes it fills and their terminators (the wrapper's pages:
 * recorder/wrapper/wrapper.c). */
bool rt_wrap_parse_ready(const char *text, size_t len, struct rt_wrap_ready *out);

/* The extension's run folder, as the extension computes it: RUNTRAIL_RUN_DIR when set and not
 * empty (run_dir_env), else /tmp/runtrail-PORT with the port of the original Runtime API
 * (runtime_api, "HOST:PORT"; may be NULL), else /tmp/runtrail. False when it does not fit. */
bool rt_wrap_run_dir(const char *run_dir_env, const char *runtime_api, char *out, size_t cap);

/* RUNTRAIL_DISABLE's value turns recording off: 1, true, yes, on (lower or upper case). */
bool rt_wrap_disabled(const char *value);

#endif
