/* A coarse view of the processes the interposer cannot enter (a statically linked or Go
 * runtime, a static child): the extension's sampling thread looks at them in /proc every
 * RUNTRAIL_PROC_SAMPLE_MS and writes what it sees into the event ring like a producer would,
 * each event flagged `sampled`: the process's program and arguments (proc_start), its working
 * folder (chdir), each file it has open (openat, with the open flags from fdinfo) and each
 * socket (connect to the peer, listen or bind on the local address, from /proc/PID/net tables
 * joined with the descriptor's inode). Only the runtime's process tree is walked
 * (RUN_DIR/runtime.pid, then /proc/PID/task/TID/children), and in it only static and Go program
 * images and dynamic ones started without the interposer (uncovered_image); the others record
 * themselves. What opens and closes between two samples
 * is not seen; what is open is reported again after each invocation ends, for the next one; a
 * socket no net table lists yet (sampled between socket() and connect()) is looked for again
 * at the next samples. The thread runs at nice 19: it never takes a core the
 * function wants (SCHED_IDLE would starve it on a busy function, nice 19 only slows it down). */
#include "recorder/extension/extension.h"
#include "recorder/preload/elf_note.h"
#include "recorder/preload/ring_produce.h"

#include <dirent.h>
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- the sampling thread ---- */

/* fdinfo shows the kernel's flags: O_LARGEFILE is set on every 64-bit open (libc's is 0) */
#if defined(__aarch64__)
#define KERNEL_O_LARGEFILE 0400000L
#else
#define KERNEL_O_LARGEFILE 0100000L
#endif

#define MAX_PROCS 64       /* processes followed at once */
#define SEEN_FDS 256       /* (fd, target) pairs remembered per process */
#define START_TRIES 20     /* samples a process with no arguments yet is looked at again */
#define UNLISTED_SOCKETS 8 /* sockets looked for again per process (see retry_socket) */
#define UNLISTED_TRIES 200 /* samples a socket is looked for before it counts as seen */
#define TEXT_MAX 65536     /* a /proc text read at most this long (net tables: a piece at a time) */
#define IMAGE_HEAD 4096    /* bytes of a program image read at once (uncovered_image) */
/* A tree whose every process records itself, while nothing new is recorded, is walked this
 * often rather than every period (see run()). */
#define QUIET_WALK_MS 50
/* After a process change, the processes found covered are looked at again at every walk for
 * this long (see run()): an exec that keeps the program's path is seen by nothing else. */
#define RECHECK_MS 200

/* What a followed process's descriptors were, apart from struct proc_state: every walk looks
 * at every slot's state, and with these lists inside (2.2 KB a slot, 140 KB in all, a fresh
 * mapping) the first walk faulted in 33 pages beside the runtime's start; now it touches one
 * page of states and the lists of the processes it follows. */
struct proc_fds {
    uint64_t seen[SEEN_FDS];
    uint64_t unlisted[UNLISTED_SOCKETS]; /* sockets no table listed yet: (fd, target) hashes */
    unsigned unlisted_tries[UNLISTED_SOCKETS];
};

struct proc_state {
    int32_t pid; /* 0: free */
    bool covered, started, alive;
    bool env_empty; /* its image's environment read empty once: look again (env_interposed) */
    bool leaving;   /* its program could not be read at the last sample: exiting (a zombie) */
    uint64_t exe_hash, cwd_hash;
    unsigned n_seen;      /* of fds->seen */
    unsigned start_tries; /* samples that found no arguments yet (see sample_process) */
    struct proc_fds *fds; /* the slot's lists (rt_ext_procwatch.fds) */
};

struct rt_ext_procwatch {
    pthread_t thread;
    struct rt_producer ring;
    char run_dir[4096];
    char ring_path[4096]; /* what RUNTRAIL_RING says in a process that records into our ring */
    uint64_t period_ms;
    volatile int stop;
    uint64_t cpu_ns;
    uint64_t snap_gen; /* the ring's snapshot generation at the previous sample */
    uint64_t walks;    /* walks of the process tree (tests, bench) */
    struct proc_state procs[MAX_PROCS];
    struct proc_fds fds[MAX_PROCS]; /* procs[i]'s in fds[i] */
    char text[TEXT_MAX];
};

static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads a /proc file into w->text (NUL-terminated) and returns the length read. When bad is
 * given, *bad says whether the text is not the whole file: it could not be opened, a read
 * failed, or it filled the buffer. */
static size_t read_proc(struct rt_ext_procwatch *w, const char *path, bool *bad)
{
    size_t n = 0;
    ssize_t r = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (n < sizeof w->text - 1 && (r = read(fd, w->text + n, sizeof w->text - 1 - n)) > 0)
            n += (size_t)r;
        close(fd);
    }
    w->text[n] = 0;
    if (bad)
        *bad = fd < 0 || r < 0 || n == sizeof w->text - 1;
    return n;
}

/* A /proc file into w->text; its length (0 when unreadable). */
static size_t read_text(struct rt_ext_procwatch *w, const char *path)
{
    return read_proc(w, path, NULL);
}

static size_t read_link(const char *path, char *out, size_t cap)
{
    ssize_t n = readlink(path, out, cap - 1);
    out[n > 0 ? n : 0] = 0;
    return n > 0 ? (size_t)n : 0;
}

static void emit(struct rt_ext_procwatch *w, int32_t pid, enum rt_op op, int64_t result,
                 const char *s0, size_t l0, const char *s1, size_t l1, int64_t n0, int64_t n1)
{
    struct rt_rec rec = {.ts_ns = mono_ns(), .result = result, .pid = pid, .tid = pid};
    rec.op = (uint16_t)op;
    rec.flags = RT_EF_SAMPLED;
    rec.str[0] = s0;
    rec.str_len[0] = l0;
    rec.str[1] = s1;
    rec.str_len[1] = l1;
    rec.num[0] = n0;
    rec.num[1] = n1;
    rt_producer_emit(&w->ring, &rec);
}

/* Whether the environment pid's image started with (/proc/PID/environ, what the loader read)
 * loads the interposer into our ring: 1 yes, 0 no, -1 it read empty. Empty is `env -i`, but
 * also an exec not finished (the new image's environment is not set up yet) or a process
 * exiting: the caller looks again at the next sample. Unreadable or longer than the buffer:
 * 1, so that a process is never both recorded and sampled. */
static int env_interposed(struct rt_ext_procwatch *w, int32_t pid)
{
    char path[64];
    bool bad;
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    size_t n = read_proc(w, path, &bad);
    if (bad)
        return 1;
    if (!n)
        return -1;
    return rt_proc_environ_interposed(w->text, n, w->ring_path);
}

/* Whether the program image of pid is one the interposer cannot see into: a static
 * executable (no PT_INTERP: the loader never runs, LD_PRELOAD is ignored; a 32-bit one too),
 * a Go program (a "Go" ELF note: Go makes its system calls itself, even when linked with libc
 * for cgo), or a dynamic program started without the interposer (env_interposed: `env -i`,
 * its own LD_PRELOAD, another ring; its exec says not_covered, and what it does is what a
 * responder needs to see). Not runtrail's own static wrapper
 * (a "runtrail" ELF note, recorder/wrapper/wrapper.c): the runtime's pid is that program's
 * from its write of runtime.pid to its exec of the runtime, and a sample in between must not
 * report it. Read once per program image. 1: uncovered, 0: covered, -1: a dynamic image whose
 * environment read empty (env_interposed). */
static int uncovered_image(struct rt_ext_procwatch *w, int32_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    /* The first page holds the ELF header, the program headers and most note segments: one
     * read, not one per header (a walk meets each new process once, and on a virtual machine
     * each system call on /proc costs microseconds). What lies past it is read on its own. */
    unsigned char *head = (unsigned char *)w->text;
    char *notes_buf = w->text + IMAGE_HEAD;
    ssize_t got = pread(fd, head, IMAGE_HEAD, 0);
    size_t n = got > 0 ? (size_t)got : 0;
    Elf64_Ehdr eh;
    if (n < sizeof eh || memcmp(head, ELFMAG, SELFMAG)) {
        close(fd);
        return false; /* a script's interpreter is the process's exe: not reached */
    }
    memcpy(&eh, head, sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
        close(fd);
        return true; /* 32-bit: the 64-bit interposer cannot load */
    }
    bool interp = false, own = false, uncovered = false;
    for (unsigned i = 0; i < eh.e_phnum && i < 64; i++) {
        Elf64_Phdr ph;
        uint64_t at = eh.e_phoff + (uint64_t)i * eh.e_phentsize;
        if (at <= n && sizeof ph <= n - at)
            memcpy(&ph, head + at, sizeof ph);
        else if (pread(fd, &ph, sizeof ph, (off_t)at) != (ssize_t)sizeof ph)
            break;
        if (ph.p_type == PT_INTERP)
            interp = true;
        if (ph.p_type != PT_NOTE || ph.p_filesz > TEXT_MAX - IMAGE_HEAD)
            continue;
        const unsigned char *notes;
        size_t len;
        if (ph.p_offset <= n && ph.p_filesz <= n - ph.p_offset) {
            notes = head + ph.p_offset;
            len = (size_t)ph.p_filesz;
        } else {
            ssize_t r = pread(fd, notes_buf, ph.p_filesz, (off_t)ph.p_offset);
            if (r <= 0)
                continue;
            notes = (const unsigned char *)notes_buf;
            len = (size_t)r;
        }
        uncovered = uncovered || rt_elf_note_named(notes, len, "Go", 3);
        own = own || rt_elf_note_named(notes, len, "runtrail", 9);
    }
    close(fd);
    if (own)
        return 0;
    if (uncovered || !interp)
        return 1;
    int env = env_interposed(w, pid);
    return env < 0 ? -1 : !env;
}

static struct proc_state *state_of(struct rt_ext_procwatch *w, int32_t pid)
{
    struct proc_state *free_slot = NULL;
    for (size_t i = 0; i < MAX_PROCS; i++) {
        if (w->procs[i].pid == pid)
            return &w->procs[i];
        if (!w->procs[i].pid && !free_slot)
            free_slot = &w->procs[i];
    }
    if (free_slot) {
        memset(free_slot, 0, sizeof *free_slot);
        free_slot->pid = pid;
        free_slot->fds = &w->fds[free_slot - w->procs];
        memset(free_slot->fds, 0, sizeof *free_slot->fds);
    }
    return free_slot;
}

/* Whether (fd, target) hash h was open at the previous sample; notes it for the next one
 * (now[] holds this round's, *n_now of them): a descriptor closed and opened again between
 * two samples is reported again, and after each invocation's end every open one is (run()
 * forgets what was seen when the ring's snapshot generation moves: the extension's cut). */
static bool seen_before(const struct proc_state *p, uint64_t h, uint64_t *now, unsigned *n_now)
{
    if (*n_now < SEEN_FDS)
        now[(*n_now)++] = h;
    for (unsigned i = 0; i < p->n_seen; i++)
        if (p->fds->seen[i] == h)
            return true;
    return false;
}

/* Whether to look again, at the next samples, for a socket no table listed (h: its (fd, target)
 * hash). A sample that lands between socket() and connect() finds it in no table; a busy
 * machine stretches a sampling pass (nice 19) across that moment. A socket still unlisted after
 * UNLISTED_TRIES samples (a Unix socket is never listed) counts as seen, as does one beyond
 * the UNLISTED_SOCKETS being retried. */
static bool retry_socket(struct proc_state *p, uint64_t h)
{
    unsigned free_at = UNLISTED_SOCKETS;
    for (unsigned i = 0; i < UNLISTED_SOCKETS; i++) {
        if (p->fds->unlisted[i] == h)
            return ++p->fds->unlisted_tries[i] < UNLISTED_TRIES;
        if (!p->fds->unlisted[i] && free_at == UNLISTED_SOCKETS)
            free_at = i;
    }
    if (free_at == UNLISTED_SOCKETS)
        return false;
    p->fds->unlisted[free_at] = h;
    p->fds->unlisted_tries[free_at] = 1;
    return true;
}

static void forget_unlisted(struct proc_state *p, uint64_t h)
{
    for (unsigned i = 0; i < UNLISTED_SOCKETS; i++)
        if (p->fds->unlisted[i] == h)
            p->fds->unlisted[i] = 0;
}

/* Finds the socket with this inode in a /proc/PID/net table however long it is (a machine with
 * many connections in TIME_WAIT lists thousands of lines, far past one buffer): reads a buffer
 * at a time and searches its whole lines. rt_proc_net_find skips the first line of what it is
 * given (the table's header), so every later piece starts at the newline before its first line. */
static bool net_table_find(struct rt_ext_procwatch *w, const char *path, bool v6, uint64_t inode,
                           struct rt_proc_sock *s)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool found = false;
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, w->text + have, sizeof w->text - 1 - have);
        bool eof = r <= 0;
        if (!eof)
            have += (size_t)r;
        const char *nl = have ? memrchr(w->text, '\n', have) : NULL;
        size_t upto = eof ? have : nl ? (size_t)(nl - w->text) + 1 : 0;
        if (upto && rt_proc_net_find(w->text, upto, v6, inode, s)) {
            found = true;
            break;
        }
        if (eof)
            break;
        if (!nl) { /* a line longer than the buffer: no table line is */
            have = 0;
            continue;
        }
        size_t from = (size_t)(nl - w->text);
        memmove(w->text, w->text + from, have - from);
        have -= from;
    }
    close(fd);
    return found;
}

/* Emits what the socket is (listen, bind or connect) and returns true, or false when no table
 * lists it yet: a socket between socket() and connect()/bind() is in none. */
static bool sample_socket(struct rt_ext_procwatch *w, int32_t pid, int fd, uint64_t inode)
{
    static const struct {
        const char *name;
        bool v6, udp;
    } tables[] = {
        {"tcp", false, false}, {"tcp6", true, false}, {"udp", false, true}, {"udp6", true, true}};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, tables[t].name);
        struct rt_proc_sock s;
        if (!net_table_find(w, path, tables[t].v6, inode, &s))
            continue;
        bool no_peer = strstr(s.remote, ":0") && s.remote[strlen(s.remote) - 2] == ':';
        if (!tables[t].udp && s.state == 10) /* TCP_LISTEN */
            emit(w, pid, RT_OP_LISTEN, 0, s.local, strlen(s.local), NULL, 0, fd, 0);
        else if (no_peer)
            emit(w, pid, RT_OP_BIND, 0, s.local, strlen(s.local), NULL, 0, fd, 0);
        else
            emit(w, pid, RT_OP_CONNECT, 0, s.remote, strlen(s.remote), NULL, 0, fd, 0);
        return true;
    }
    return false;
}

static void sample_fds(struct rt_ext_procwatch *w, struct proc_state *p)
{
    char dir_path[64];
    snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", (int)p->pid);
    DIR *d = opendir(dir_path);
    if (!d)
        return;
    uint64_t now[SEEN_FDS] = {0};
    unsigned n_now = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        int fd = atoi(de->d_name);
        char path[96], target[1024];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)p->pid, fd);
        size_t n = read_link(path, target, sizeof target);
        uint64_t h = hash_bytes((uint64_t)fd * 0x9e3779b97f4a7c15ull, target, n);
        if (!n || seen_before(p, h, now, &n_now))
            continue;
        if (!strncmp(target, "socket:[", 8)) {
            /* Not in a table yet (sampled between socket() and connect()): look again at the
             * next sample instead of taking it as seen. */
            if (sample_socket(w, p->pid, fd, strtoull(target + 8, NULL, 10)))
                forget_unlisted(p, h);
            else if (retry_socket(p, h) && n_now && now[n_now - 1] == h)
                n_now--;
        } else if (target[0] == '/' && strcmp(target, "/dev/null") != 0) {
            snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)p->pid, fd);
            size_t tl = read_text(w, path);
            long flags = rt_proc_fdinfo_flags(w->text, tl);
            emit(w, p->pid, RT_OP_OPEN, fd, target, n, NULL, 0, AT_FDCWD,
                 flags < 0 ? 0 : flags & ~KERNEL_O_LARGEFILE);
        }
    }
    closedir(d);
    memcpy(p->fds->seen, now, n_now * sizeof now[0]);
    p->n_seen = n_now;
}

/* Looks at one process of the tree; returns its state (NULL: no slot left). recheck: a
 * process found covered is classified again, as if its program were new. */
static struct proc_state *sample_process(struct rt_ext_procwatch *w, int32_t pid, bool recheck)
{
    struct proc_state *p = state_of(w, pid);
    if (!p)
        return NULL;
    p->alive = true;
    if (recheck && p->covered)
        p->exe_hash = 0;
    char path[64], exe[1024];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    size_t el = read_link(path, exe, sizeof exe);
    p->leaving = !el;
    if (!el)
        return p; /* exiting (a zombie has no program) or not ours to look at */
    uint64_t eh = hash_bytes(1469598103934665603ull, exe, el) | 1;
    if (eh != p->exe_hash) { /* first sight, or a new program image (exec) */
        p->exe_hash = eh;
        int u = uncovered_image(w, pid);
        if (u < 0 && !p->env_empty) {
            p->env_empty = true; /* maybe an exec not finished: the next sample looks again */
            p->exe_hash = 0;
            p->covered = true;
        } else {
            p->env_empty = false;
            p->covered = u == 0;
        }
    }
    if (p->covered)
        return p;
    if (!p->started) {
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        size_t sl = read_text(w, path);
        long ppid = rt_proc_stat_ppid(w->text, sl);
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
        size_t cl = read_text(w, path);
        while (cl && w->text[cl - 1] == 0)
            cl--;
        /* Sampled in the middle of its execve, a process shows the new program but no
         * arguments yet: look again at the next samples (a few; some programs clear theirs). */
        if (!cl && ++p->start_tries < START_TRIES)
            return p;
        p->started = true;
        struct rt_rec rec = {.ts_ns = mono_ns(), .pid = pid, .tid = pid};
        rec.op = RT_OP_PROC_START;
        rec.flags = RT_EF_SAMPLED | RT_EF_NOT_COVERED;
        rec.str[0] = exe;
        rec.str_len[0] = el;
        rec.str[1] = w->text;
        rec.str_len[1] = cl;
        rec.num[0] = ppid;
        rt_producer_emit(&w->ring, &rec);
    }
    char cwd[1024];
    snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
    size_t cl = read_link(path, cwd, sizeof cwd);
    uint64_t ch = hash_bytes(1469598103934665603ull, cwd, cl) | 1;
    if (cl && ch != p->cwd_hash) {
        p->cwd_hash = ch;
        emit(w, pid, RT_OP_CHDIR, 0, cwd, cl, NULL, 0, -1, 0);
    }
    sample_fds(w, p);
    return p;
}

/* The runtime and its descendants, breadth first, at most MAX_PROCS; 0 when the runtime is
 * gone. */
static size_t process_tree(struct rt_ext_procwatch *w, int32_t root, int32_t *pids)
{
    size_t n = 0;
    pids[n++] = root;
    for (size_t i = 0; i < n; i++) {
        char path[320];
        snprintf(path, sizeof path, "/proc/%d/task", (int)pids[i]);
        DIR *d = opendir(path);
        if (!d && i == 0)
            return 0;
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d)) && n < MAX_PROCS) {
            if (de->d_name[0] < '0' || de->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)pids[i], de->d_name);
            size_t len = read_text(w, path);
            for (char *p = w->text, *e = w->text + len; p < e && n < MAX_PROCS;) {
                char *q;
                long v = strtol(p, &q, 10);
                if (q == p)
                    break;
                if (v > 0)
                    pids[n++] = (int32_t)v;
                p = q;
            }
        }
        closedir(d);
    }
    return n;
}

/* Every period, the runtime's tree is walked and its uncovered processes sampled. Not when
 * the last walk found only processes that record themselves and no covered process has
 * started a process or exec'd since (the ring's process-change counter did not move,
 * RING.md): only such a call can bring in a process the interposer cannot enter, and a tree
 * of covered processes has nothing to sample (nor has a process leaving: a zombie has no
 * program left to read). It is walked QUIET_WALK_MS apart then (or a period, if longer), for
 * one started by a raw system call. After a process change, for RECHECK_MS, the covered
 * processes are classified again at every walk, and the tree is not quiet: the change may be
 * the exec of a fork child that a walk saw before it, still the parent's program with the
 * parent's environment (the interposer in it), into the same program without the interposer
 * (a Python runtime's child run with env={}); its path does not change, and nothing else in
 * what a walk reads would say the program is new. (The interposer announces the change before
 * the exec, so the first walk after it may come too soon: hence a window, not one walk.) An
 * invocation's end does not end that quiet: what it resets (the open files reported, the
 * runtime's pid) belongs to uncovered processes, and is reset at the next walk. (It used to
 * walk the tree once per invocation, a no-op handler's too.) Each walk of a single-threaded
 * runtime is about ten system calls on /proc: every 5 ms that was 2% of a core for as long as
 * an invocation ran, and the function's CPU share pays for it. (Until the counter, any record
 * brought the full rate back: a handler busy with files or the network had its tree walked
 * every 5 ms.) */
static void *run(void *arg)
{
    struct rt_ext_procwatch *w = arg;
    pthread_setname_np(pthread_self(), "rt-procwatch");
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    int32_t pids[MAX_PROCS];
    pid_t root = 0;          /* the runtime, read again when it is gone or an invocation ends */
    uint32_t procs_seen = 0; /* the ring's process-change counter at the last walk */
    bool quiet = false;      /* the last walk found only covered processes */
    int64_t walked_ns = 0;   /* when */
    /* the quiet walks' interval: never shorter than the period asked for (at most an hour) */
    uint64_t quiet_ms = w->period_ms > QUIET_WALK_MS ? w->period_ms : QUIET_WALK_MS;
    int64_t recheck_until = 0; /* covered processes are classified again until then */
    int64_t quiet_ns = (int64_t)(quiet_ms < 3600000 ? quiet_ms : 3600000) * 1000000LL;
    while (!w->stop) {
        uint32_t procs = __atomic_load_n(&w->ring.hdr->proc_gen, __ATOMIC_ACQUIRE);
        int64_t left = walked_ns + quiet_ns - mono_ns();
        bool waited = quiet && procs == procs_seen && left > 0;
        if (waited) {
            /* Until a process change (a producer wakes this word) or the quiet walk: not a
             * wake-up every period, 200 a second, for nothing; and one wake-up per quiet
             * walk, not a period's sleep on each side of the wait as well (a timer that
             * expires costs its thread tens of microseconds on some virtual machines). */
            struct timespec to = {.tv_sec = (time_t)(left / 1000000000LL),
                                  .tv_nsec = (long)(left % 1000000000LL)};
            syscall(SYS_futex, &w->ring.hdr->proc_gen, FUTEX_WAIT, procs, &to, NULL, 0);
            if (w->stop)
                break;
            procs = __atomic_load_n(&w->ring.hdr->proc_gen, __ATOMIC_ACQUIRE);
            if (procs == procs_seen && walked_ns + quiet_ns > mono_ns())
                continue; /* woken early without a change (a signal) */
        }
        if (!waited || procs != procs_seen) {
            /* A period between walks while the tree has processes to sample; after a process
             * change, so that the walk comes once the process has begun. */
            struct timespec ts = {.tv_sec = (time_t)(w->period_ms / 1000),
                                  .tv_nsec = (long)(w->period_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            if (w->stop)
                break;
        }
        /* An invocation was sealed since (its connections snapshotted): what is open now is
         * reported again, for the next one. Otherwise a file closed at the end of one
         * invocation and opened again at the start of the next, with no sample between
         * (this thread runs at nice 19), would belong to the first only. */
        uint64_t gen = __atomic_load_n(&w->ring.hdr->snap_gen, __ATOMIC_ACQUIRE);
        bool forget = gen != w->snap_gen;
        procs = __atomic_load_n(&w->ring.hdr->proc_gen, __ATOMIC_ACQUIRE);
        int64_t now = mono_ns();
        w->snap_gen = gen;
        if (root <= 0 || forget)
            root = rt_ext_runtime_pid(w->run_dir);
        if (root <= 0)
            continue;
        for (size_t i = 0; i < MAX_PROCS; i++) {
            w->procs[i].alive = false;
            if (forget)
                w->procs[i].n_seen = 0;
        }
        size_t n = process_tree(w, (int32_t)root, pids);
        __atomic_store_n(&w->walks, w->walks + 1, __ATOMIC_RELAXED);
        if (procs != procs_seen && walked_ns) /* (a first walk classifies everything anyway) */
            recheck_until = now + RECHECK_MS * 1000000LL;
        walked_ns = now;
        procs_seen = procs;
        bool recheck = now < recheck_until;
        quiet = n > 0 && !recheck;
        for (size_t i = 0; i < n && !w->stop; i++) {
            struct proc_state *p = sample_process(w, pids[i], recheck);
            quiet = quiet && p && (p->covered || p->leaving);
        }
        if (!n)
            root = 0; /* gone: read runtime.pid again */
        for (size_t i = 0; i < MAX_PROCS; i++)
            if (w->procs[i].pid && !w->procs[i].alive)
                w->procs[i].pid = 0; /* gone: its slot (and pid) may be reused */
    }
    struct timespec cpu;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    w->cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
    return NULL;
}

struct rt_ext_procwatch *rt_ext_procwatch_start(const char *ring_path, const char *run_dir,
                                                uint64_t period_ms)
{
    if (!period_ms || !ring_path || !*ring_path)
        return NULL;
    struct rt_ext_procwatch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->period_ms = period_ms;
    snprintf(w->run_dir, sizeof w->run_dir, "%s", run_dir);
    snprintf(w->ring_path, sizeof w->ring_path, "%s", ring_path);
    if (rt_producer_attach(&w->ring, ring_path) != 0 ||
        pthread_create(&w->thread, NULL, run, w) != 0) {
        rt_producer_detach(&w->ring);
        free(w);
        return NULL;
    }
    return w;
}

uint64_t rt_ext_procwatch_walks(struct rt_ext_procwatch *w)
{
    return w ? __atomic_load_n(&w->walks, __ATOMIC_RELAXED) : 0;
}

uint64_t rt_ext_procwatch_stop(struct rt_ext_procwatch *w)
{
    if (!w)
        return 0;
    w->stop = 1;
    /* Out of its wait on the process-change word, even one it is about to begin: a wait
     * for a value the word no longer holds returns at once. */
    rt_producer_proc_change(&w->ring);
    pthread_join(w->thread, NULL);
    uint64_t cpu = w->cpu_ns;
    rt_producer_detach(&w->ring);
    free(w);
    return cpu;
}
