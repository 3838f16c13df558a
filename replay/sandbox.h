/* The detonation sandbox of `runtrail replay` (replay/sandbox.c): Linux namespaces around the
 * emulator and everything it starts — a new user namespace (the caller's uid and gid mapped to
 * themselves, so that no root is needed where unprivileged user namespaces are allowed), a
 * mount namespace (a private /tmp, the task root read-only, the host's /run hidden), a pid
 * namespace (the caller continues as its pid 1, with its own /proc) and, unless the network is
 * allowed, a network namespace in which only loopback is up. Library code: errors come back
 * as text; nothing is printed. */
#ifndef RUNTRAIL_REPLAY_SANDBOX_H
#define RUNTRAIL_REPLAY_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/* The network of a replay. Columns: id, name, what it does. */
#define RT_NET_MODES(_)                                                                            \
    _(DENY, "deny", "only loopback inside: every outbound attempt fails fast and is recorded")     \
    _(SINKHOLE, "sinkhole",                                                                        \
      "loopback only, with a local TCP sink that answers and records what was sent")               \
    _(ALLOW, "allow", "no network isolation (the host's network, explicit)")

enum rt_net_mode {
#define _(id, name, doc) RT_NET_##id,
    RT_NET_MODES(_)
#undef _
};
const char *rt_net_mode_name(enum rt_net_mode mode);
int rt_net_mode_parse(const char *name); /* -1 if unknown */

#define RT_SANDBOX_MAX_RO 16

struct rt_sandbox_spec {
    enum rt_net_mode net;
    /* A host folder of the replay, bound at RT_SANDBOX_WORK inside; its tmp/ becomes /tmp. */
    const char *work_dir;
    /* Host paths (folders or files) bound read-only at the same path inside: the task root,
     * and files of the runtime command that live under /tmp (hidden by the private /tmp). */
    const char *ro_paths[RT_SANDBOX_MAX_RO];
    size_t n_ro;
    /* A file bound over /etc/resolv.conf (the sinkhole's resolver), or NULL. */
    const char *resolv_conf;
};

/* Where the work folder appears inside the sandbox. */
#define RT_SANDBOX_WORK "/run/runtrail"

/* Enters the sandbox. Call in a freshly forked, single-threaded child. On success returns 0 in
 * the sandbox's pid 1 (this process's own child: the process that called waits for it and
 * exits with its status, never returning). On failure returns -1 with the reason in err
 * ("cannot create a user namespace: Operation not permitted"); the caller has not moved. */
int rt_sandbox_enter(const struct rt_sandbox_spec *spec, char *err, size_t err_cap);

#endif
