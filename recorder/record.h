/* Recording one command into one bundle, as a library: `runtrail record` is a thin command over
 * it, and replay re-records a run with it. It creates the shared event ring, starts the command
 * with the interposer preloaded, drains the ring while the command runs, keeps the command's
 * output lines for the LOGS block without changing what the command sees, and seals the events
 * (sorted by time) into bundle bytes. Storing and indexing the bundle are the caller's.
 *
 * Transparency: the command keeps what runtrail was given as stdout and stderr as far as it can
 * see. A regular file is handed over as is (its new bytes are read back for LOGS); a terminal is
 * replaced by a pseudo-terminal with the same settings and window size (isatty stays true); a
 * pipe or other stream by a pipe. When stdout and stderr are the same file, the command gets one
 * channel for both, so interleaved lines keep their order. When the reader of runtrail's output
 * goes away (EPIPE), the command's channel is closed, so the command gets SIGPIPE as it would
 * have. Output still flowing after the command exited (background children, daemons) is handed
 * to a small forwarding process, so nothing is cut; LOGS keeps what came before the hand-off.
 *
 * Library code: never prints (the trace hook gives each event to the caller) and never exits.
 * One recording at a time per process: while it runs, SIGINT and SIGQUIT are ignored (the
 * terminal sends them to the command too), SIGTERM and SIGHUP are passed on to the command,
 * and SIGPIPE is ignored; rt_record_wait restores them. */
#ifndef RUNTRAIL_RECORDER_RECORD_H
#define RUNTRAIL_RECORDER_RECORD_H

#include "formats/bundle.h"
#include "formats/error.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rt_record_config {
    char *const *argv;    /* the command (argv[0] searched in PATH), NULL-terminated */
    const char *preload;  /* the interposer; NULL: run without (exit status and logs only) */
    const char *ring_dir; /* a folder for the ring's file; NULL or "": $RUNTRAIL_RING_DIR, else
                           * in memory (a memfd), else a file in /dev/shm (tmpfs) or /tmp */
    size_t max_events;    /* events kept; 0 = 100000; the rest are counted as dropped */
    int out_fd, err_fd;   /* the command's stdout and stderr as given to us (normally 1, 2) */
    /* Called for each event as it is drained, before it is traced or kept, or NULL: rewrites
     * the event's strings (the caller's redaction of secrets, so that the library needs no key).
     * The strings it points the event to must stay valid until its next call. */
    void (*redact)(struct rt_event *ev, void *arg);
    /* Called for each event as it is drained (times relative to the start; after redact), or
     * NULL. */
    void (*on_event)(const struct rt_event *ev, void *arg);
    void *arg;
    /* A signal number the caller's handler stores here is sent to the command (then reset). */
    volatile sig_atomic_t *forward_signal;
};

struct rt_record_stats {
    size_t events_seen;    /* drained from the ring */
    size_t events_stored;  /* in the bundle */
    uint64_t ring_dropped; /* records the ring had no room for */
    uint64_t log_handoff;  /* 1 when output was still flowing at the end and was handed off */
};

struct rt_recording;

/* Creates the ring (when cfg->preload is set) and starts the command. Returns RT_OK with *out
 * set, or RT_ERR_NOMEM / RT_ERR_IO (pipe, pty or fork failed; detail in ei). A ring that cannot
 * be created is not an error: the command runs without the interposer, and
 * rt_record_ring_error() says why. */
int rt_record_start(const struct rt_record_config *cfg, struct rt_recording **out,
                    struct rt_errinfo *ei);
/* RT_OK if the interposer is recording; else the ring error (with ei filled). */
int rt_record_ring_error(const struct rt_recording *r, struct rt_errinfo *ei);
/* Passes output through and drains events until the command has exited and its output has
 * ended (or been handed off). Returns the wait status (as waitpid's). */
int rt_record_wait(struct rt_recording *r);
/* errno of a failed exec of the command (then the status is exit 127 or 126), else 0. */
int rt_record_exec_errno(const struct rt_recording *r);
/* Seals the bundle after rt_record_wait. meta comes in with the caller's fields (function,
 * command, request and sandbox ids, versions) and leaves with the recording's (times, duration,
 * exit status, status, error type, coverage, arch, counters). *data is malloc'ed. Returns RT_OK or
 * the writer's error. */
int rt_record_seal(struct rt_recording *r, struct rt_meta *meta, uint8_t **data, size_t *len,
                   struct rt_record_stats *stats);
/* Removes the ring and frees everything. NULL is allowed. */
void rt_record_free(struct rt_recording *r);

/* The exit code a shell would show for a wait status: the code, or 128+N for signal N. */
int rt_record_exit_code(int wait_status);

#endif
