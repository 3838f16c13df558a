/* The recording library of recorder/record.h: the event ring, the command under the interposer,
 * its output channels (kept as transparent as the command can observe), the drain loop, the
 * hand-off of output that outlives the command, and the sealing of one bundle. */
#include "recorder/record.h"

#include "formats/toolbox.h"
#include "recorder/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 8192
#define DEFAULT_MAX_EVENTS 100000
/* After the command exits, how long its output may keep flowing before it is handed off. */
#define OUTPUT_GRACE_NS (500 * 1000000LL)
/* Bytes of a regular output file read back for LOGS (the writer keeps less anyway). */
#define FILE_READBACK_MAX (8u << 20)
#define FINAL_DRAIN_MS 200

/* One output channel of the command: a pipe or a pseudo-terminal we read and pass on, or a
 * regular file the command writes itself and we read back. */
struct stream {
    int fd;       /* read end or pty master; -1 when done (or for a file) */
    int out;      /* where the bytes go (ours); for a file, the file itself */
    int child_fd; /* the command's end; -1 once closed in the parent */
    int which;    /* LOGS stream: 1 stdout, 2 stderr (1 when both share the channel) */
    bool to_stdout, to_stderr;
    bool pty, file;
    int file_rfd;   /* file: the same file opened for reading (a `>file` is write-only) */
    off_t file_off; /* file: next byte to read back */
    uint64_t file_read;
    char line[MAX_LINE];
    size_t len;
};

/* Events arrive in ring order, which is reservation order except for execs (held until the
 * new image starts or the call fails): they are kept here, then sorted by time (stable: equal
 * times keep ring order) and given to the writer at the seal, so the bundle is in time order. */
struct held_event {
    struct rt_event ev;
    char *strings; /* the strings back to back (ev.str point into it) */
};

struct rt_recording {
    struct rt_record_config cfg;
    struct rt_writer *w;
    struct rt_ring *ring;
    char ring_path[PATH_MAX];
    bool ring_in_mem; /* ring_path is the memfd's /proc path, not a file to remove */
    int ring_rc;
    struct rt_errinfo ring_ei;
    pid_t child;
    int exec_err_fd; /* read end of the exec error pipe */
    int exec_errno;
    int status;
    bool waited;
    int64_t start_mono, start_wall, end_mono, end_wall;
    struct stream streams[2];
    int n_streams;
    uint64_t log_handoff;
    uint64_t uncovered;
    size_t events;
    size_t max_events;
    struct held_event *held;
    size_t n_held, cap_held;
    uint64_t not_held; /* out of memory: counted as dropped */
    uint64_t ring_dropped, strings_truncated, conns_untracked;
    struct sigaction old_int, old_quit, old_term, old_hup, old_pipe;
    bool signals_set;
};

/* ---- signals: like a shell waiting for its job ---- */

static volatile sig_atomic_t pending_signal;
static void on_signal(int sig)
{
    pending_signal = sig;
}

/* The terminal's ^C/^\ reach the command directly; TERM and HUP sent to us are passed on;
 * SIGPIPE is ignored so that a reader that went away shows as EPIPE. */
static void set_signals(struct rt_recording *r)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = on_signal};
    sigemptyset(&ign.sa_mask);
    sigemptyset(&fwd.sa_mask);
    pending_signal = 0;
    sigaction(SIGINT, &ign, &r->old_int);
    sigaction(SIGQUIT, &ign, &r->old_quit);
    sigaction(SIGTERM, &fwd, &r->old_term);
    sigaction(SIGHUP, &fwd, &r->old_hup);
    sigaction(SIGPIPE, &ign, &r->old_pipe);
    r->signals_set = true;
}

/* Back to what they were (in the command before its exec, in us at the end). */
static void restore_signals(struct rt_recording *r)
{
    if (!r->signals_set)
        return;
    sigaction(SIGINT, &r->old_int, NULL);
    sigaction(SIGQUIT, &r->old_quit, NULL);
    sigaction(SIGTERM, &r->old_term, NULL);
    sigaction(SIGHUP, &r->old_hup, NULL);
    sigaction(SIGPIPE, &r->old_pipe, NULL);
    r->signals_set = false;
}

/* ---- events ---- */

static int by_time(const void *a, const void *b);

/* Over max_events held: sorts them and gives the older half to the writer, so the held events
 * stay bounded and the writer sees every event (it drops from the middle, not the end). */
static void write_older_half(struct rt_recording *r)
{
    size_t half = r->n_held / 2;
    rt_sort_stable(r->held, r->n_held, sizeof *r->held, by_time);
    for (size_t i = 0; i < half; i++) {
        rt_writer_add_event(r->w, &r->held[i].ev);
        free(r->held[i].strings);
    }
    memmove(r->held, r->held + half, (r->n_held - half) * sizeof *r->held);
    r->n_held -= half;
}

static void on_event(const struct rt_event *ev, void *arg)
{
    struct rt_recording *r = arg;
    struct rt_event redacted = *ev;
    if (r->cfg.redact) /* secrets never reach the trace or the bundle in clear */
        r->cfg.redact(&redacted, r->cfg.arg);
    ev = &redacted;
    struct rt_event copy = *ev;
    copy.ts_ns = ev->ts_ns - r->start_mono;
    if ((ev->op == RT_OP_EXEC || ev->op == RT_OP_SPAWN) && (ev->flags & RT_EF_NOT_COVERED))
        r->uncovered++;
    r->events++;
    if (r->cfg.on_event)
        r->cfg.on_event(&copy, r->cfg.arg);
    if (r->n_held >= r->max_events)
        write_older_half(r); /* the writer keeps the tail and what matters over its limit */
    if (r->n_held == r->cap_held) {
        size_t cap = r->cap_held ? r->cap_held * 2 : 1024;
        struct held_event *h = realloc(r->held, cap * sizeof *h);
        if (!h) {
            r->not_held++;
            return;
        }
        r->held = h;
        r->cap_held = cap;
    }
    size_t total = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++)
        total += ev->str[i].len;
    char *strings = malloc(total ? total : 1);
    if (!strings) {
        r->not_held++;
        return;
    }
    size_t off = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        if (ev->str[i].len)
            memcpy(strings + off, ev->str[i].ptr, ev->str[i].len);
        copy.str[i].ptr = ev->str[i].len ? strings + off : NULL;
        off += ev->str[i].len;
    }
    r->held[r->n_held++] = (struct held_event){copy, strings};
}

static int by_time(const void *a, const void *b)
{
    const struct held_event *x = a, *y = b;
    return rt_event_order(&x->ev, &y->ev);
}

/* Sorts the held events by time and gives them to the writer; frees them. */
static void write_held(struct rt_recording *r)
{
    rt_sort_stable(r->held, r->n_held, sizeof *r->held, by_time);
    for (size_t i = 0; i < r->n_held; i++) {
        rt_writer_add_event(r->w, &r->held[i].ev);
        free(r->held[i].strings);
    }
    if (r->not_held)
        rt_writer_count(r->w, RT_CTR_EVENTS_DROPPED, r->not_held);
    free(r->held);
    r->held = NULL;
    r->n_held = r->cap_held = 0;
}

/* ---- output channels ---- */

static void log_line(struct rt_recording *r, struct stream *s)
{
    if (s->pty && s->len && s->line[s->len - 1] == '\r')
        s->len--; /* the pty's output processing turned "\n" into "\r\n" */
    rt_writer_add_log(r->w, rt_clock_mono_ns() - r->start_mono, s->which, s->line, s->len);
    s->len = 0;
}

static void keep_lines(struct rt_recording *r, struct stream *s, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            log_line(r, s);
            continue;
        }
        if (s->len == MAX_LINE)
            log_line(r, s);
        s->line[s->len++] = buf[i];
    }
}

/* Writes all of p; false when the reader went away (EPIPE) or the output failed. */
static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads what is available on a pipe or pty and passes it on. At the end (EOF, or EIO on a pty
 * whose last writer closed) or when our reader went away, the channel is closed: the command's
 * next write then gets SIGPIPE (EPIPE if it ignores it), as it would have without us. */
static void pump(struct rt_recording *r, struct stream *s)
{
    char buf[65536];
    ssize_t n = read(s->fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    bool passed = n > 0 && write_all(s->out, buf, (size_t)n);
    if (n > 0)
        keep_lines(r, s, buf, (size_t)n);
    if (n <= 0 || !passed) {
        close(s->fd);
        s->fd = -1;
    }
}

/* A regular file the command writes itself: reads back what it added since the last look. */
static void tail_file(struct rt_recording *r, struct stream *s)
{
    struct stat sb;
    if (!s->file || s->file_rfd < 0 || s->file_read >= FILE_READBACK_MAX ||
        fstat(s->out, &sb) != 0 || sb.st_size <= s->file_off)
        return;
    char buf[65536];
    size_t want = (size_t)(sb.st_size - s->file_off);
    if (want > sizeof buf)
        want = sizeof buf;
    if (want > FILE_READBACK_MAX - s->file_read)
        want = (size_t)(FILE_READBACK_MAX - s->file_read);
    ssize_t n = pread(s->file_rfd, buf, want, s->file_off);
    if (n <= 0)
        return;
    s->file_off += n;
    s->file_read += (uint64_t)n;
    keep_lines(r, s, buf, (size_t)n);
}

/* A pseudo-terminal standing in for the terminal `like`: same settings, same size. */
static int open_pty(int like, int *master, int *slave)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -1;
    char name[128];
    if (grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, sizeof name) != 0) {
        close(m);
        return -1;
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        close(m);
        return -1;
    }
    struct termios tio;
    if (tcgetattr(like, &tio) == 0)
        tcsetattr(s, TCSANOW, &tio);
    struct winsize ws;
    if (ioctl(like, TIOCGWINSZ, &ws) == 0)
        ioctl(s, TIOCSWINSZ, &ws);
    *master = m;
    *slave = s;
    return 0;
}

/* The channel for output that goes to dest (described by sb). */
static int open_channel(struct stream *s, int dest, const struct stat *sb, struct rt_errinfo *ei)
{
    s->out = dest;
    s->fd = s->child_fd = s->file_rfd = -1;
    if (S_ISREG(sb->st_mode)) {
        /* Handed over as is; appends land at the end, other writes at the shared offset. */
        int fl = fcntl(dest, F_GETFL);
        off_t cur = lseek(dest, 0, SEEK_CUR);
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", dest);
        s->file = true;
        s->file_rfd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        s->file_off = (fl >= 0 && (fl & O_APPEND)) || cur < 0 ? sb->st_size : cur;
        return RT_OK;
    }
    if (isatty(dest)) {
        if (open_pty(dest, &s->fd, &s->child_fd) == 0) {
            s->pty = true;
            return RT_OK;
        }
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return rt_fail(ei, RT_ERR_IO, -1, "pipe: %s", strerror(errno));
    s->fd = p[0];
    s->child_fd = p[1];
    return RT_OK;
}

/* stdout and stderr: one channel when they are the same file (order of interleaved lines kept),
 * else one each; a closed descriptor stays closed for the command. */
static int open_channels(struct rt_recording *r, struct rt_errinfo *ei)
{
    struct stat so, se;
    bool have_out = fstat(r->cfg.out_fd, &so) == 0, have_err = fstat(r->cfg.err_fd, &se) == 0;
    bool same = have_out && have_err && so.st_dev == se.st_dev && so.st_ino == se.st_ino &&
                so.st_rdev == se.st_rdev;
    if (have_out) {
        struct stream *s = &r->streams[r->n_streams++];
        int rc = open_channel(s, r->cfg.out_fd, &so, ei);
        if (rc != RT_OK)
            return rc;
        s->which = 1;
        s->to_stdout = true;
        s->to_stderr = same;
    }
    if (have_err && !same) {
        struct stream *s = &r->streams[r->n_streams++];
        int rc = open_channel(s, r->cfg.err_fd, &se, ei);
        if (rc != RT_OK)
            return rc;
        s->which = 2;
        s->to_stderr = true;
    }
    return RT_OK;
}

/* ---- the command ---- */

/* Child side: environment, output channels, signals, exec. Never returns; a failed exec
 * sends its errno through err_fd and exits 127 (not found) or 126, as a shell would. */
static void run_child(struct rt_recording *r, int err_fd)
{
    if (r->ring) {
        const char *old = getenv("LD_PRELOAD");
        size_t need = strlen(r->cfg.preload) + (old ? strlen(old) : 0) + 2;
        char *val = malloc(need);
        if (val) {
            snprintf(val, need, "%s%s%s", r->cfg.preload, old && *old ? " " : "",
                     old && *old ? old : "");
            setenv("LD_PRELOAD", val, 1);
        }
        setenv("RUNTRAIL_RING", r->ring_path, 1);
    }
    for (int i = 0; i < r->n_streams; i++) {
        struct stream *s = &r->streams[i];
        int from = s->file ? s->out : s->child_fd;
        if (s->to_stdout && from != STDOUT_FILENO)
            dup2(from, STDOUT_FILENO);
        if (s->to_stderr && from != STDERR_FILENO)
            dup2(from, STDERR_FILENO);
    }
    restore_signals(r);
    execvp(r->cfg.argv[0], r->cfg.argv);
    int e = errno;
    ssize_t ignored = write(err_fd, &e, sizeof e);
    (void)ignored;
    _exit(e == ENOENT ? 127 : 126);
}

/* /dev/shm when it is a writable tmpfs (page faults on the shared mapping are several times
 * cheaper there than on a disk filesystem), else /tmp. */
static const char *default_ring_dir(void)
{
    struct statfs sf;
    if (statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC &&
        access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

static void create_ring(struct rt_recording *r)
{
    const char *env_dir = getenv("RUNTRAIL_RING_DIR");
    bool chosen = (r->cfg.ring_dir && *r->cfg.ring_dir) || (env_dir && *env_dir);
    /* In memory unless a folder was chosen: a program that clears /dev/shm or /tmp then
     * cannot take the ring from the processes it starts afterwards. */
    if (!chosen &&
        rt_ring_create_mem(0, r->ring_path, sizeof r->ring_path, &r->ring, &r->ring_ei) == RT_OK) {
        r->ring_rc = RT_OK;
        r->ring_in_mem = true;
        rt_ring_populate(r->ring); /* before the recorded program's first write to it */
        return;
    }
    const char *dir = r->cfg.ring_dir && *r->cfg.ring_dir ? r->cfg.ring_dir
                      : env_dir && *env_dir               ? env_dir
                                                          : default_ring_dir();
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t x = (uint64_t)rt_clock_wall_ns() ^ (uint64_t)getpid() << 32;
        memcpy(rnd, &x, sizeof rnd);
    }
    char hex[17];
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    snprintf(r->ring_path, sizeof r->ring_path, "%s/runtrail-ring-%d-%s", dir, (int)getpid(), hex);
    r->ring_rc = rt_ring_create(r->ring_path, 0, &r->ring, &r->ring_ei);
    if (r->ring_rc != RT_OK && !chosen && strcmp(dir, "/tmp") != 0) {
        /* e.g. a full or tiny /dev/shm */
        snprintf(r->ring_path, sizeof r->ring_path, "/tmp/runtrail-ring-%d-%s", (int)getpid(), hex);
        r->ring_rc = rt_ring_create(r->ring_path, 0, &r->ring, &r->ring_ei);
    }
    if (r->ring_rc != RT_OK) {
        r->ring = NULL;
        r->ring_path[0] = '\0';
    } else {
        rt_ring_populate(r->ring); /* before the recorded program's first write to it */
    }
}

int rt_record_start(const struct rt_record_config *cfg, struct rt_recording **out,
                    struct rt_errinfo *ei)
{
    struct rt_recording *r = calloc(1, sizeof *r);
    struct rt_limits limits = {.max_events = cfg->max_events};
    if (!r || !(r->w = rt_writer_new(&limits))) {
        free(r);
        return rt_fail(ei, RT_ERR_NOMEM, -1, "starting a recording");
    }
    r->cfg = *cfg;
    r->max_events = cfg->max_events ? cfg->max_events : DEFAULT_MAX_EVENTS;
    r->exec_err_fd = -1;
    r->child = -1;
    r->ring_rc = RT_OK;
    rt_errinfo_clear(&r->ring_ei);
    if (cfg->preload)
        create_ring(r);
    int rc = open_channels(r, ei);
    int errp[2] = {-1, -1};
    if (rc == RT_OK && pipe2(errp, O_CLOEXEC) != 0)
        rc = rt_fail(ei, RT_ERR_IO, -1, "pipe: %s", strerror(errno));
    if (rc != RT_OK) {
        rt_record_free(r);
        return rc;
    }
    set_signals(r);
    r->start_mono = rt_clock_mono_ns();
    r->start_wall = rt_clock_wall_ns();
    r->child = fork();
    if (r->child < 0) {
        rc = rt_fail(ei, RT_ERR_IO, -1, "fork: %s", strerror(errno));
        close(errp[0]);
        close(errp[1]);
        rt_record_free(r);
        return rc;
    }
    if (r->child == 0)
        run_child(r, errp[1]);
    close(errp[1]);
    r->exec_err_fd = errp[0];
    for (int i = 0; i < r->n_streams; i++) {
        struct stream *s = &r->streams[i];
        if (!s->file && s->child_fd >= 0) {
            close(s->child_fd);
            s->child_fd = -1;
        }
    }
    *out = r;
    return RT_OK;
}

int rt_record_ring_error(const struct rt_recording *r, struct rt_errinfo *ei)
{
    if (ei)
        *ei = r->ring_ei;
    return r->ring_rc;
}

int rt_record_exec_errno(const struct rt_recording *r)
{
    return r->exec_errno;
}

int rt_record_exit_code(int wait_status)
{
    return WIFEXITED(wait_status)     ? WEXITSTATUS(wait_status)
           : WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status)
                                      : 1;
}

/* Output still flowing after the command and the grace period (background children, a
 * daemon): a small process of ours keeps passing it on until it ends, so nothing is cut.
 * Returns true if it was handed off. */
static bool hand_off(struct rt_recording *r)
{
    /* Forked twice, so the forwarder belongs to init and never waits as our zombie. */
    pid_t pid = fork();
    if (pid < 0)
        return false; /* as before: the channels are closed by the caller */
    if (pid > 0) {
        int ws;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        bool forwarded = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
        for (int i = 0; forwarded && i < r->n_streams; i++)
            if (r->streams[i].fd >= 0) {
                close(r->streams[i].fd);
                r->streams[i].fd = -1;
            }
        return forwarded;
    }
    pid_t forwarder = fork();
    if (forwarder != 0)
        _exit(forwarder > 0 ? 0 : 1);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (r->ring)
        rt_ring_close(r->ring);
    for (;;) {
        struct pollfd pf[2];
        nfds_t np = 0;
        for (int i = 0; i < r->n_streams; i++)
            if (r->streams[i].fd >= 0)
                pf[np++] = (struct pollfd){.fd = r->streams[i].fd, .events = POLLIN};
        if (np == 0)
            _exit(0);
        if (poll(pf, np, -1) < 0 && errno != EINTR)
            _exit(0);
        char buf[65536];
        for (int i = 0; i < r->n_streams; i++) {
            struct stream *s = &r->streams[i];
            if (s->fd < 0)
                continue;
            ssize_t n = read(s->fd, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0 || !write_all(s->out, buf, (size_t)n)) {
                close(s->fd);
                s->fd = -1;
            }
        }
    }
}

int rt_record_wait(struct rt_recording *r)
{
    bool exited = false;
    size_t last_batch = 0; /* events in the previous drain: keep up while they flow */
    int64_t exited_at = 0;
    for (;;) {
        if (pending_signal) {
            kill(r->child, pending_signal);
            pending_signal = 0;
        }
        struct pollfd pf[2];
        nfds_t np = 0;
        for (int i = 0; i < r->n_streams; i++)
            if (r->streams[i].fd >= 0)
                pf[np++] = (struct pollfd){.fd = r->streams[i].fd, .events = POLLIN};
        if (np > 0) {
            int pr = poll(pf, np, last_batch > 0 ? 1 : 10);
            for (nfds_t k = 0; pr > 0 && k < np; k++) {
                if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                for (int i = 0; i < r->n_streams; i++)
                    if (r->streams[i].fd == pf[k].fd)
                        pump(r, &r->streams[i]);
            }
        } else if (!exited) {
            struct timespec ts = {0, last_batch > 0 ? 200 * 1000 : 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        for (int i = 0; i < r->n_streams; i++)
            tail_file(r, &r->streams[i]);
        if (r->ring)
            last_batch = rt_ring_drain(r->ring, on_event, r);
        if (!exited && waitpid(r->child, &r->status, WNOHANG) == r->child) {
            exited = true;
            exited_at = rt_clock_mono_ns();
        }
        if (exited) {
            bool open = false;
            for (int i = 0; i < r->n_streams; i++)
                open |= r->streams[i].fd >= 0;
            if (!open)
                break;
            if (rt_clock_mono_ns() - exited_at > OUTPUT_GRACE_NS) {
                r->log_handoff = hand_off(r) ? 1 : 0;
                break;
            }
        }
    }
    r->end_mono = rt_clock_mono_ns();
    r->end_wall = rt_clock_wall_ns();
    for (int i = 0; i < r->n_streams; i++) {
        struct stream *s = &r->streams[i];
        tail_file(r, s);
        if (s->len)
            log_line(r, s);
        if (s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
    }
    restore_signals(r);
    int e = 0;
    if (read(r->exec_err_fd, &e, sizeof e) == (ssize_t)sizeof e)
        r->exec_errno = e;
    if (r->ring) {
        rt_ring_drain_final(r->ring, FINAL_DRAIN_MS, on_event, r);
        r->ring_dropped = rt_ring_take_dropped(r->ring);
        r->strings_truncated = rt_ring_take_truncated(r->ring);
        r->conns_untracked = rt_ring_take_untracked(r->ring);
    }
    r->waited = true;
    return r->status;
}

int rt_record_seal(struct rt_recording *r, struct rt_meta *meta, uint8_t **data, size_t *len,
                   struct rt_record_stats *stats)
{
    int st = r->status;
    int code = rt_record_exit_code(st);
    meta->start_wall_ns = r->start_wall;
    meta->end_wall_ns = r->end_wall;
    meta->duration_ns = (uint64_t)(r->end_mono - r->start_mono);
    meta->cold_start = true;
    meta->chain_end = RT_CHAIN_END_LAST; /* a record bundle is a whole chain of one */
    meta->exit_status = code;
    meta->status = WIFSIGNALED(st) ? RT_STATUS_CRASH : code == 0 ? RT_STATUS_OK : RT_STATUS_ERROR;
    if (WIFSIGNALED(st))
        meta->error_type = (char *)strsignal(WTERMSIG(st));
    meta->coverage = RT_COV_RECORD | (r->ring ? RT_COV_PRELOAD : 0);
    meta->arch = (char *)RT_HOST_ARCH; /* the command ran here */
    meta->counters[RT_CTR_RING_DROPPED] = r->ring_dropped;
    meta->counters[RT_CTR_STRINGS_TRUNCATED] = r->strings_truncated;
    meta->counters[RT_CTR_CONNS_UNTRACKED] = r->conns_untracked;
    meta->counters[RT_CTR_UNCOVERED_EXECS] = r->uncovered;
    rt_writer_set_meta(r->w, meta);
    write_held(r);
    size_t stored = rt_writer_event_count(r->w);
    int rc = rt_writer_finish(r->w, 0, data, len, NULL);
    if (stats)
        *stats = (struct rt_record_stats){.events_seen = r->events,
                                          .events_stored = stored,
                                          .ring_dropped = r->ring_dropped,
                                          .log_handoff = r->log_handoff};
    return rc;
}

void rt_record_free(struct rt_recording *r)
{
    if (!r)
        return;
    restore_signals(r);
    for (int i = 0; i < r->n_streams; i++) {
        struct stream *s = &r->streams[i];
        if (s->fd >= 0)
            close(s->fd);
        if (!s->file && s->child_fd >= 0)
            close(s->child_fd);
        if (s->file_rfd >= 0)
            close(s->file_rfd);
    }
    if (r->exec_err_fd >= 0)
        close(r->exec_err_fd);
    if (r->ring) {
        rt_ring_close(r->ring);
        if (!r->ring_in_mem)
            unlink(r->ring_path);
    }
    for (size_t i = 0; i < r->n_held; i++)
        free(r->held[i].strings);
    free(r->held);
    rt_writer_free(r->w);
    free(r);
}
