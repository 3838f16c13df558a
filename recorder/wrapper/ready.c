/* The wrapper's decisions, pure (ready.h). */
#include "recorder/wrapper/ready.h"

#include <stdio.h>
#include <string.h>

/* "127.0.0.1:" and a port of 1-5 digits, 1-65535, nothing else. */
static bool proxy_ok(const char *v, size_t n)
{
    static const char host[] = "127.0.0.1:";
    size_t h = sizeof host - 1;
    if (n <= h || n > h + 5 || memcmp(v, host, h) != 0)
        return false;
    long port = 0;
    for (size_t i = h; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        port = port * 10 + (v[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* A positive decimal pid of at most 9 digits (Linux's limit is 4194304), no sign. */
static long pid_of(const char *v, size_t n)
{
    if (n == 0 || n > 9)
        return 0;
    long pid = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        pid = pid * 10 + (v[i] - '0');
    }
    return pid;
}

/* Nothing to use, written field by field: the ring's 4 KiB are not cleared (a page touched). */
static void ready_clear(struct rt_wrap_ready *out)
{
    out->proxy[0] = '\0';
    out->ring[0] = '\0';
    out->pid = 0;
}

bool rt_wrap_parse_ready(const char *text, size_t len, struct rt_wrap_ready *out)
{
    ready_clear(out);
    const char *proxy = NULL, *ring = NULL, *pid = NULL;
    size_t proxy_n = 0, ring_n = 0, pid_n = 0;
    size_t at = 0;
    while (at < len) {
        const char *line = text + at;
        const char *nl = memchr(line, '\n', len - at);
        if (!nl)
            break; /* no newline yet: not a line */
        size_t n = (size_t)(nl - line);
        at += n + 1;
        const char *eq = memchr(line, '=', n);
        if (!eq)
            continue;
        size_t k = (size_t)(eq - line);
        const char *v = eq + 1;
        size_t vn = n - k - 1;
        if (k == 14 && memcmp(line, "RUNTRAIL_PROXY", 14) == 0) {
            proxy = v;
            proxy_n = vn;
        } else if (k == 13 && memcmp(line, "RUNTRAIL_RING", 13) == 0) {
            ring = v;
            ring_n = vn;
        } else if (k == 12 && memcmp(line, "RUNTRAIL_PID", 12) == 0) {
            pid = v;
            pid_n = vn;
        }
    }
    if (!proxy || !proxy_ok(proxy, proxy_n) || !pid || (out->pid = pid_of(pid, pid_n)) <= 0 ||
        ring_n >= sizeof out->ring || (ring && memchr(ring, '\0', ring_n))) {
        ready_clear(out);
        return false;
    }
    memcpy(out->proxy, proxy, proxy_n); /* proxy_ok: at most 15 bytes */
    out->proxy[proxy_n] = '\0';
    if (ring)
        memcpy(out->ring, ring, ring_n);
    out->ring[ring_n] = '\0'; /* 0 without a RUNTRAIL_RING line */
    return true;
}

bool rt_wrap_run_dir(const char *run_dir_env, const char *runtime_api, char *out, size_t cap)
{
    int n;
    if (run_dir_env && *run_dir_env) {
        n = snprintf(out, cap, "%s", run_dir_env);
    } else {
        /* The text after the last ':' (all of it without one) names the port when it is
         * digits only. */
        const char *port = runtime_api ? strrchr(runtime_api, ':') : NULL;
        port = port ? port + 1 : runtime_api;
        bool digits = port && *port;
        for (const char *p = port; digits && *p; p++)
            digits = *p >= '0' && *p <= '9';
        n = digits ? snprintf(out, cap, "/tmp/runtrail-%s", port)
                   : snprintf(out, cap, "/tmp/runtrail");
    }
    return n >= 0 && (size_t)n < cap;
}

bool rt_wrap_disabled(const char *value)
{
    static const char *const on[] = {"1", "true", "yes", "on", "TRUE", "YES", "ON"};
    if (!value)
        return false;
    for (size_t i = 0; i < sizeof on / sizeof *on; i++)
        if (strcmp(value, on[i]) == 0)
            return true;
    return false;
}
