/* `runtrail replay` below the command line (replay/replay.c): what a recorded invocation
 * needs to run again — its payload (faithful or not), its Lambda context, its environment
 * (clear values restored, hashed ones missing unless given, given ones checked against the
 * keyed hash), its runtime command — then one run of it in the detonation sandbox
 * (replay/sandbox.h) through the emulator with the recorder layer, and what the sandbox
 * stopped, read from the replay's own bundle. Library code: nothing is printed; notes and
 * errors come back as text for cli/ (which escapes them before a terminal). */
#ifndef RUNTRAIL_REPLAY_REPLAY_H
#define RUNTRAIL_REPLAY_REPLAY_H

#include "formats/bundle.h"
#include "replay/emulator.h"
#include "replay/sandbox.h"
#include "replay/sinkhole.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_REPLAY_MAX_ENV 128

/* One line of the environment report. Columns: id, word printed. */
#define RT_REPLAY_ENV_STATES(_)                                                                    \
    _(RESTORED, "restored")       /* recorded in clear: the recorded value */                      \
    _(MISSING, "missing")         /* recorded as a keyed hash only, not given: left unset */       \
    _(MATCHES, "matches")         /* given; its keyed hash equals the recording's */               \
    _(DIFFERS, "differs")         /* given; its keyed hash differs from the recording's */         \
    _(UNCHECKED, "unchecked")     /* given; the recording's hash key is not known here */          \
    _(NEW, "not recorded")        /* given; the recording has no such variable */                  \
    _(PLACEHOLDER, "placeholder") /* an AWS credential: an inert placeholder, never invented */

enum rt_replay_env_state {
#define _(id, word) RT_REPLAY_ENV_##id,
    RT_REPLAY_ENV_STATES(_)
#undef _
};
const char *rt_replay_env_word(enum rt_replay_env_state s);

struct rt_replay_env_note {
    const char *name; /* points into the bundle or the given K=V */
    enum rt_replay_env_state state;
};

/* The environment for the replay: vars ("K=V", malloc'ed) and one note per variable. */
struct rt_replay_env {
    char *vars[RT_REPLAY_MAX_ENV];
    size_t n_vars;
    struct rt_replay_env_note notes[RT_REPLAY_MAX_ENV];
    size_t n_notes;
    bool key_known; /* hash_key (the host's RUNTRAIL_HASH_KEY) made the recording's hashes */
};

/* Builds the environment from the bundle's ENV block and the given "K=V" (which win), checking
 * each given value against the recorded keyed hash when hash_key (may be NULL) has the
 * bundle's hash_key_id. Variables Lambda or the emulator sets per sandbox (the Runtime API,
 * the wrapper, the log stream, the task root, RUNTRAIL_*) are not restored. Returns RT_OK or
 * RT_ERR_NOMEM; free with rt_replay_env_free. */
int rt_replay_env_build(const struct rt_bundle *b, const char *const *given, size_t n_given,
                        const char *hash_key, struct rt_replay_env *out);
void rt_replay_env_free(struct rt_replay_env *env);

/* Whether a variable's difference between an original and its replay says nothing about the
 * function: set per sandbox (TMPDIR, the log stream, RUNTRAIL_*) or an AWS credential (the
 * replay's are placeholders). */
bool rt_replay_env_not_compared(const char *name);

/* The payload to deliver. With event (the --event file's bytes, may be NULL) that is it
 * (approximate: the recording's payload was not used, unless it is the same bytes). Else the
 * recorded payload when it is faithful (its SHA-256 is the recorded original's); a redacted
 * one only with fill_redacted, each "<redacted:...>" string replaced by a placeholder
 * (approximate). Returns RT_OK with *out malloc'ed; RT_ERR_INVALID_ARG with the reason in why
 * when the recording cannot be replayed without --event (mode hash/none, truncated,
 * redacted without --fill-redacted). */
int rt_replay_payload(const struct rt_bundle *b, const char *event, size_t event_len,
                      bool fill_redacted, char **out, size_t *out_len, bool *approximate, char *why,
                      size_t why_cap);

/* The runtime command runtrail infers from the recording (META runtime, the handler, the task
 * root): node -> AWS's aws-lambda-ric from the runtrail tree's node_modules; python ->
 * python3 and the Python sample's Runtime API loop (samples/python/bootstrap.py); a custom
 * runtime -> TASK_ROOT/bootstrap, else the C sample of the build folder (build/samples/c).
 * tree is the runtrail source tree (where samples/ and node_modules/ are), build the build
 * folder the runtrail binary is in (its bin/..). Fills argv (strings
 * in buf) and returns RT_OK, or RT_ERR_INVALID_ARG with the reason in why. */
int rt_replay_infer_runtime(const struct rt_bundle *b, const char *tree, const char *build,
                            const char *task_root, char *argv[8], char *buf, size_t buf_cap,
                            char *why, size_t why_cap);

/* One destination the sandbox stopped or answered. */
struct rt_replay_dest {
    char *dest;   /* "ip:port", or the DNS name (escaped) */
    char *what;   /* the error ("ECONNREFUSED"), or what was sent (escaped) */
    size_t count; /* attempts */
};

/* What the sandbox stopped, from the replay's bundle: failed connects, sends and lookups
 * (merged per destination), and for sinkholed connections what was sent (the outbound
 * summaries' HTTP line). Returns RT_OK or RT_ERR_NOMEM; free with rt_replay_dests_free. */
int rt_replay_blocked(const struct rt_bundle *replay, enum rt_net_mode net,
                      struct rt_replay_dest **out, size_t *n);
void rt_replay_dests_free(struct rt_replay_dest *d, size_t n);

/* What the sinkhole captured during a run (work_dir/sink.jsonl): one entry per destination and
 * what was sent — "POST /c HTTP/1.1 (1234 bytes: AWS_...)" for HTTP, "TLS server name X" for
 * TLS, "DNS lookup answered with the sink" for a name. Appended to *out. */
int rt_replay_sink_captures(const char *work_dir, struct rt_replay_dest **out, size_t *n);

/* The ports the sink listens on for a replay of b: those b connected to, and 80 and 443. */
size_t rt_replay_sink_ports(const struct rt_bundle *b, unsigned *ports, size_t cap);

/* ---- one run in the sandbox ---- */

struct rt_replay_run {
    enum rt_net_mode net;
    const char *work_dir;     /* a new, empty host folder of ours: store/, tmp/, spool/ made here */
    const char *task_root;    /* absolute */
    const char *self_exe;     /* the runtrail binary (its ../layer is the recorder layer) */
    const char *replay_of;    /* RUNTRAIL_REPLAY_OF */
    struct rt_emu_config cfg; /* runtime_argv, function, handler, memory, timeout, region */
    char *const *env;         /* "K=V" for the function */
    size_t n_env;
    struct rt_emu_request req;
    bool warm_up; /* deliver the payload once first (the original was a warm invocation) */
    unsigned sink_ports[RT_SINKHOLE_MAX_PORTS]; /* --net sinkhole: the TCP sink's ports */
    size_t n_sink_ports;
    int log_fd; /* runtime and extension output */
};

struct rt_replay_result {
    bool sandboxed;        /* ran in the namespaces */
    char sandbox_why[512]; /* why not, when it could not */
    int status;            /* enum rt_status of the replayed invocation */
    char request_id[40];
    char error_type[128];
    char *body; /* response or error document; malloc'ed */
    size_t body_len;
    double duration_ms, response_ms, init_ms;
};

/* Runs the invocation once: a forked child enters the sandbox (unless net is ALLOW and the
 * namespaces are unavailable: then it runs unsandboxed and says so in sandbox_why), starts the
 * emulator with the recorder layer storing into work_dir/store, delivers req (twice with
 * warm_up), and reports back through a pipe. Returns RT_OK with *res filled (free with
 * rt_replay_result_free); RT_ERR_EMULATOR with a message in err when the sandbox could not be
 * made (and net is not ALLOW) or the emulator failed. */
int rt_replay_run_once(const struct rt_replay_run *run, struct rt_replay_result *res, char *err,
                       size_t err_cap);
void rt_replay_result_free(struct rt_replay_result *res);

#endif
