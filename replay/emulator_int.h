/* Internal state of the local Lambda emulator, shared by its files: emulator.c (sandbox
 * lifecycle and invocations), emulator_http.c (the Runtime and Extensions API endpoints) and
 * emulator_proc.c (starting, reaping and killing the sandbox's processes). Everything below
 * `mu` is guarded by it; `cv` is broadcast on every state change. */
#ifndef RUNTRAIL_REPLAY_EMULATOR_INT_H
#define RUNTRAIL_REPLAY_EMULATOR_INT_H

#include "replay/emulator.h"

#include "formats/bundle.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define EMU_MAX_EXTENSIONS 16
#define EMU_MAX_PROCS (EMU_MAX_EXTENSIONS + 1)
#define EMU_EXT_QUEUE 4

struct emu_ext {
    char id[37];
    char name[128];
    unsigned events;            /* RT_EMU_EV_* */
    bool waiting;               /* blocked in event/next */
    char *queue[EMU_EXT_QUEUE]; /* pending event JSON documents, oldest first */
    int queued;
};

struct emu_proc {
    pid_t pid; /* also its process group */
    bool exited;
    int wstatus;
    char name[128];
};

/* Telemetry API (emulator_telemetry.c): the runtime's output lines for the subscribers. */
#define EMU_TELE_QUEUE 10000

struct emu_sub {
    char ext_id[37];
    char url[512];
    unsigned timeout_ms, max_items;
    size_t max_bytes;
};

struct emu_telemetry {
    pthread_mutex_t mu; /* guards the fields below; never taken while holding rt_emu.mu */
    pthread_t thread;
    bool running, stop;
    int pipe_fd;   /* read end of the runtime's stdout and stderr, or -1 */
    int wake[2];   /* a byte written to wake[1] ends the reader's wait: a pipe was attached */
    char *partial; /* the line being assembled */
    size_t partial_len;
    struct {
        int64_t wall_ns;
        char *text;
        size_t len;
    } lines[EMU_TELE_QUEUE];
    size_t n, bytes;
    uint64_t dropped, failed_batches;
    int64_t last_delivery_ms;
    struct emu_sub subs[EMU_MAX_EXTENSIONS]; /* "function" subscribers of this sandbox */
    int n_subs;
    /* The sandbox's Init phase: lines are kept for the extensions that subscribe before it
     * ends (an extension subscribes after register, beside the runtime's start, and Lambda
     * delivers it the init's telemetry). */
    bool in_init;
};

struct rt_emu {
    const struct rt_emu_config *cfg;
    struct MHD_Daemon *mhd;
    struct emu_telemetry tele;
    char api[64];
    char wrapper[4096]; /* the exec wrapper a layer provides, or "" */
    char task_root[4096];
    char runtime_exe[4096]; /* argv[0] of the runtime, absolute when it was a relative path */
    char **runtime_args;    /* [1..] its arguments, relative paths to existing files made
                               absolute; [0] unused (NULL); NULL-terminated */

    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stopping;
    bool cancelled; /* rt_emu_cancel(): no more invocations */

    /* sandbox */
    bool up;
    unsigned gen; /* incremented whenever a sandbox ends */
    bool registration_open;
    bool runtime_ready;   /* runtime called /next at least once this sandbox */
    bool runtime_waiting; /* runtime is blocked in /next now */
    bool init_failed;
    char init_error_type[128];
    char *init_error_body;
    size_t init_error_len;
    char **envp;
    char tmp_dir[4096]; /* the sandbox's private /tmp, removed when it ends; or "" */
    struct emu_proc runtime;
    struct emu_proc ext_procs[EMU_MAX_EXTENSIONS];
    int n_ext_procs;
    struct emu_ext exts[EMU_MAX_EXTENSIONS];
    int n_exts;
    uint64_t invocations; /* in this sandbox */

    /* current invocation */
    bool inv_pending; /* delivered, not yet taken by the runtime */
    bool inv_active;  /* taken, not yet responded */
    bool inv_done;    /* response or error posted */
    char req_id[37];
    int64_t deadline_ms;
    char trace_id[128];
    const struct rt_emu_request *req;
    int res_status;
    char res_error_type[128];
    char *res_body;
    size_t res_len;
    bool res_streamed;
    uint64_t res_at_ns; /* monotonic time the outcome was set */
};

/* emulator_http.c */
int emu_http_start(struct rt_emu *emu, struct rt_errinfo *ei);
void emu_http_stop(struct rt_emu *emu);
/* With RUNTRAIL_EMU_TRACE set: one line on the log descriptor. */
void emu_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The invoked function ARN of the current request: the request's, else made from the config. */
void emu_function_arn(const struct rt_emu *emu, char *out, size_t cap);
/* Sets the invocation's outcome (takes ownership of body). Caller holds mu. */
void emu_set_result(struct rt_emu *emu, int status, const char *error_type, char *body, size_t len);

/* emulator_telemetry.c */
int emu_tele_start(struct rt_emu *emu);
void emu_tele_stop(struct rt_emu *emu);
/* A pipe for the runtime's output (read end non-blocking, both close-on-exec); -1 if none. */
int emu_tele_pipe(struct rt_emu *emu, int fds[2]);
/* The reader thread takes read_fd (the runtime has the write end). */
void emu_tele_attach(struct rt_emu *emu, int read_fd);
/* Reads what the runtime has written so far and delivers it now. Caller must not hold mu. */
void emu_tele_flush(struct rt_emu *emu);
/* The sandbox ended: the rest of the output is read and delivered, subscriptions dropped. */
void emu_tele_end_sandbox(struct rt_emu *emu);
/* The Init phase is over: lines are queued only for subscribers from now on (those kept
 * during init wait for a subscriber until the sandbox ends). Never called holding emu->mu. */
void emu_tele_init_done(struct rt_emu *emu);
/* PUT /2022-07-01/telemetry from extension ext_id: 0, or -1 with a message in err. */
int emu_tele_subscribe(struct rt_emu *emu, const char *ext_id, const char *body, size_t len,
                       char *err, size_t err_cap);

/* emulator_proc.c */
/* out_fd: the child's stdout and stderr (-1: the log descriptor). */
int emu_proc_spawn(struct rt_emu *emu, char *const *argv, const char *name, int out_fd,
                   struct emu_proc *out, struct rt_errinfo *ei);
/* Non-blocking: updates p->exited; returns p->exited. */
bool emu_proc_poll(struct emu_proc *p);
void emu_proc_kill(struct emu_proc *p, int sig);
/* SIGKILL to the group and wait for the process. */
void emu_proc_reap(struct emu_proc *p);
/* "exit status N" or "signal: killed" etc. */
void emu_proc_describe(const struct emu_proc *p, char *buf, size_t cap);

/* time */
uint64_t emu_mono_ns(void);
int64_t emu_wall_ms(void);
/* Waits on cv until the absolute monotonic time (ns); returns false when it has passed. */
bool emu_wait_until(struct rt_emu *emu, uint64_t until_ns);

#endif
