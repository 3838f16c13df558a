/* Process hooks of libruntrail-preload.so: the exec family, posix_spawn, fork, system, popen,
 * kill, prctl, ptrace, the setuid family, memfd_create and exit. An exec is recorded before
 * the call (the image is gone if it succeeds) and again if it returns; the consumer merges the
 * two. Before an exec the target's first bytes are read (elf_note.h): a static binary cannot
 * load the interposer and is flagged not covered, and only an image the interposer cannot
 * enter (static, Go...) is announced to the /proc sampler. The interposer's own variables are
 * put back into an environment that lost them, so children keep recording. vfork is not
 * hooked: a vfork child that calls exec or _exit here touches no shared state. */
#include "recorder/preload/preload.h"
#include "recorder/preload/elf_note.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_ENV 4096
#define MAX_ARGS 4096

extern char **environ;

/* ---- coverage of an exec target ---- */

static long raw_open(const char *path)
{
    return syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

/* What an exec of a file would run, as far as recording goes. */
struct exec_target {
    int covered; /* 1: a dynamic ELF of our class (the interposer will load), 0: static or
                  * foreign, -1: cannot tell (missing, unreadable: the exec itself will report) */
    bool absent; /* the file is not there (ENOENT, ENOTDIR): the open is the existence check
                  * a PATH search miss needs, not one more system call */
    bool go;     /* a Go program (a "Go" ELF note), which makes its system calls itself: the
                  * interposer loads but sees little, and the /proc sampler follows it */
};

/* Bytes of a target read: its ELF header, program headers and, in most programs, the note
 * segments (a Go program's build id note sits in the first page). Program headers past them
 * (no linker puts them there) make the answer "cannot tell"; notes past them go unseen, and
 * the /proc sampler's 50 ms walk still finds such a Go program. */
#define TARGET_HEAD 4096

/* Looks at path's first bytes (scripts follow their #! line). errno is clobbered. */
static void exec_look(const char *path, int depth, struct exec_target *t)
{
    t->covered = -1;
    t->absent = false;
    t->go = false;
    long fd = raw_open(path);
    if (fd < 0) {
        t->absent = depth == 0 && (RT_ERRNO == ENOENT || RT_ERRNO == ENOTDIR);
        return;
    }
    unsigned char buf[TARGET_HEAD];
    long n = syscall(SYS_pread64, fd, buf, sizeof buf, 0);
    if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
        syscall(SYS_close, fd);
        if (depth > 1)
            return;
        char interp[256];
        size_t i = 2, j = 0;
        while (i < (size_t)n && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        while (i < (size_t)n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
               j + 1 < sizeof interp)
            interp[j++] = (char)buf[i++];
        interp[j] = 0;
        if (j)
            exec_look(interp, depth + 1, t);
        return;
    }
    if (n > 0)
        t->covered = rt_elf_look(buf, (size_t)n, &t->go);
    syscall(SYS_close, fd);
}

/* Whether the image an exec or spawn starts may be one the interposer cannot enter, so that the
 * /proc sampler must look (RING.md "Process changes"): static or foreign (flags from exec_env
 * say not covered, LD_PRELOAD replaced included), a Go program, or a file that is there but
 * could not be read. A dynamic program of ours records itself; a missing file runs nothing. */
static bool may_be_uncovered(const struct exec_target *t, uint32_t flags)
{
    return (flags & RT_EF_NOT_COVERED) || t->go || (t->covered < 0 && !t->absent);
}

static uint32_t exec_flags(const char *path)
{
    if (!path)
        return 0;
    if (!strncmp(path, "/tmp/", 5) || !strncmp(path, "/var/tmp/", 9) ||
        !strncmp(path, "/dev/shm/", 9))
        return RT_EF_EXEC_TMP;
    if (!strncmp(path, "/proc/self/fd/", 14) || !strncmp(path, "/dev/fd/", 8)) {
        char link[64];
        ssize_t n = readlink(path, link, sizeof link);
        if (n >= 7 && !memcmp(link, "/memfd:", 7))
            return RT_EF_EXEC_MEMFD;
    }
    if (path[0] != '/') {
        char cwd[512];
        if (getcwd(cwd, sizeof cwd) && (!strcmp(cwd, "/tmp") || !strncmp(cwd, "/tmp/", 5)))
            return RT_EF_EXEC_TMP;
    }
    return 0;
}

/* execvp-style search, for recording and the coverage check only: the real call searches
 * again. Writes the first executable candidate into out. */
static const char *search_path(const char *file, char *out, size_t cap)
{
    if (!file || !*file || strchr(file, '/'))
        return file;
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    size_t flen = rt_pl_strlen(file);
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : rt_pl_strlen(p);
        if (dlen + flen + 2 <= cap) {
            size_t k = 0;
            if (dlen == 0)
                out[k++] = '.';
            memcpy(out + k, p, dlen);
            k += dlen;
            out[k++] = '/';
            memcpy(out + k, file, flen + 1);
            if (access(out, X_OK) == 0)
                return out;
        }
        if (!end)
            break;
        p = end;
    }
    return file;
}

/* ---- keeping the interposer in the environment ---- */

/* Small to large, after what every process touches: a process writes the first bytes of
 * each, so they take one page, not three (start.ld). */
RT_PL_START_HEAD(1) static char saved_proxy[256];
RT_PL_START_HEAD(2) static char saved_ring[1024];
RT_PL_START_HEAD(3) static char saved_preload[4096];

__attribute__((constructor(200))) static void save_env(void)
{
    const char *v = getenv("LD_PRELOAD");
    const char *r = getenv("RUNTRAIL_RING");
    const char *x = getenv("RUNTRAIL_PROXY");
    if (v && r) {
        rt_pl_strlcpy(saved_preload, "LD_PRELOAD=", sizeof saved_preload);
        rt_pl_strlcpy(saved_preload + 11, v, sizeof saved_preload - 11);
        rt_pl_strlcpy(saved_ring, "RUNTRAIL_RING=", sizeof saved_ring);
        rt_pl_strlcpy(saved_ring + 14, r, sizeof saved_ring - 14);
    }
    if (x) {
        rt_pl_strlcpy(saved_proxy, "RUNTRAIL_PROXY=", sizeof saved_proxy);
        rt_pl_strlcpy(saved_proxy + 15, x, sizeof saved_proxy - 15);
    }
}

/* envp's entry starting with prefix (plen bytes), or NULL. */
static const char *find_var(char *const envp[], const char *prefix, size_t plen)
{
    for (size_t i = 0; envp && envp[i]; i++)
        if (!strncmp(envp[i], prefix, plen))
            return envp[i];
    return NULL;
}

static bool has_var(char *const envp[], const char *prefix, size_t plen)
{
    return find_var(envp, prefix, plen) != NULL;
}

/* Whether a child given envp would lose the interposer: then an exec or spawn passes it on with
 * our variables put back (keep_env). *covered is cleared when LD_PRELOAD was replaced by
 * something without us (whether or not RUNTRAIL_RING was kept), when RUNTRAIL_RING names
 * another ring than ours (the child would record where nobody reads, or nowhere), and when
 * the environment is explicitly empty (NULL or no variables, as `env -i` passes): a program
 * that asks for a clean environment gets one, and its exec is recorded as not covered. */
static bool env_lost(char *const envp[], bool *covered)
{
    if (!saved_ring[0] || !rt_pl_active)
        return false;
    if (!envp || !envp[0]) {
        *covered = false;
        return false;
    }
    const char *preload = find_var(envp, "LD_PRELOAD=", 11);
    if (!preload)
        return true;
    const char *ring = find_var(envp, "RUNTRAIL_RING=", 14);
    if (!strstr(preload, RT_PRELOAD_SO_NAME) || !ring || strcmp(ring, saved_ring) != 0)
        *covered = false; /* the program chose its own LD_PRELOAD or ring: leave it */
    return false;
}

/* envp plus our variables (env_lost), in out; envp itself if that would not fit. */
static char *const *keep_env(char *const envp[], char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; envp && envp[i]; i++) {
        if (n + 4 >= cap)
            return envp;
        out[n++] = envp[i];
    }
    out[n++] = saved_preload;
    if (!has_var(envp, "RUNTRAIL_RING=", 14))
        out[n++] = saved_ring;
    if (saved_proxy[0] && !has_var(envp, "RUNTRAIL_PROXY=", 15))
        out[n++] = saved_proxy;
    out[n] = NULL;
    return out;
}

/* Whether an exec of t must pass envp on with our variables put back (env_lost), and
 * RT_EF_NOT_COVERED added to *flags when the new image will not load the interposer: static,
 * or LD_PRELOAD replaced. */
static bool exec_env(const struct exec_target *t, char *const envp[], uint32_t *flags)
{
    bool covered = t->covered != 0;
    bool keep = env_lost(envp, &covered);
    if (!covered)
        *flags |= RT_EF_NOT_COVERED;
    return keep;
}

enum exec_kind { EXEC_VE, EXEC_VPE, EXEC_FD };

static int real_exec(enum exec_kind kind, int fd, const char *file, char *const argv[],
                     char *const envp[])
{
    if (kind == EXEC_FD)
        return REAL(fexecve)(fd, argv, envp);
    return kind == EXEC_VE ? REAL(execve)(file, argv, envp) : REAL(execvpe)(file, argv, envp);
}

/* The real exec with keep_env's environment. Its buffer (MAX_ENV pointers, 32 KiB) is in this
 * frame alone, entered only when an environment lost our variables: in the hooks' own frames
 * it put everything they call 32 KiB further down the stack, on pages the process had not
 * touched (a shell's vfork child faulted in two of its parent's stack pages per exec). */
__attribute__((noinline)) static int real_exec_kept(enum exec_kind kind, int fd, const char *file,
                                                    char *const argv[], char *const envp[])
{
    char *out[MAX_ENV];
    return real_exec(kind, fd, file, argv, keep_env(envp, out, MAX_ENV));
}

static int exec_call(enum exec_kind kind, bool keep, int fd, const char *file, char *const argv[],
                     char *const envp[])
{
    return keep ? real_exec_kept(kind, fd, file, argv, envp)
                : real_exec(kind, fd, file, argv, envp);
}

/* ---- exec ---- */

/* Flags that describe what an exec ran: a failed exec ran nothing, so its record keeps the
 * path and the error but not these (flags and `ls --exec` mean what happened). */
#define RAN_FLAGS (RT_EF_EXEC_TMP | RT_EF_EXEC_MEMFD | RT_EF_NOT_COVERED)

/* Writes the record of an exec about to happen (internal=PENDING) or one that returned
 * (internal=FAILED), announcing a process change first when asked (may_be_uncovered, before
 * the exec: the sampler looks again). me is this process's pid from the kernel: this may run
 * in a vfork child, which shares its parent's caches. A pid that is not the one the
 * interposer knows is such a child (or one a raw clone made), whose only thread is the one
 * calling: its tid is me. */
static void rec_exec(enum rt_op op, uint16_t internal, int64_t t0, int64_t res, const char *path,
                     char *const argv[], int64_t fd, uint32_t flags, int32_t me, bool announce)
{
    if (announce)
        rt_producer_proc_change(&rt_pl_ring);
    char args[2048];
    size_t alen = rt_pl_join_argv(argv, args, sizeof args);
    struct rt_rec rec;
    rt_pl_rec_init(&rec, op, t0, res);
    rec.internal = internal;
    rec.pid = me;
    rec.tid = me != rt_pl_pid ? me : rt_pl_tid();
    rt_pl_str(&rec, 0, path);
    rt_pl_strn(&rec, 1, args, alen);
    rec.num[0] = fd;
    rec.flags = flags;
    rt_producer_emit(&rt_pl_ring, &rec);
}

/* vfork cannot be wrapped (the child would return into a dead frame), so a vfork child is
 * noticed when it reaches exec or _exit with a pid that is not ours: record the fork its
 * parent made. Touches nothing but the ring (the child shares our memory) and vfork_noted, the
 * child it was noted for, on the pages every process touches (start.ld): on a page of its own,
 * a shell's first vfork child faulted it in twice (a read, then the write). */
RT_PL_START static int32_t vfork_noted;
static void note_vfork_child(int32_t pid, int64_t t0)
{
    if (pid == rt_pl_pid || pid == vfork_noted)
        return; /* a PATH search execs once per folder: one fork, not one per attempt */
    vfork_noted = pid;
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_FORK, t0, pid);
    rec.pid = rt_pl_pid;
    rec.tid = rt_pl_tid_cache ? rt_pl_tid_cache : rt_pl_pid; /* do not fill the parent's cache */
    rt_producer_emit(&rt_pl_ring, &rec);
}

/* Whether dir (dlen bytes) is one of $PATH's folders; *first set when it is the first. */
static bool in_path(const char *dir, size_t dlen, bool *first)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    *first = true;
    for (const char *p = path;; *first = false) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : rt_pl_strlen(p);
        if (n == dlen && !memcmp(p, dir, n))
            return true;
        if (!end)
            return false;
        p = end + 1;
    }
}

/* A miss of a PATH search that a program does itself, one execve per folder (Python's
 * subprocess, libuv, busybox): argv[0] is a bare name, path is DIR/argv[0] for a DIR of $PATH,
 * and nothing is there. Such a miss is not recorded when the name is found in another folder
 * (the search succeeds there) or when DIR is not the first folder (a search that fails
 * everywhere is recorded once, at its first folder). */
static bool path_search_miss(const char *path, char *const argv[], bool absent)
{
    if (!absent || !path || !argv || !argv[0] || !argv[0][0] || strchr(argv[0], '/'))
        return false;
    const char *slash = strrchr(path, '/');
    bool first;
    if (!slash || strcmp(slash + 1, argv[0]) || !in_path(path, (size_t)(slash - path), &first))
        return false;
    int saved = RT_ERRNO; /* the caller's errno is the exec's own, never ours */
    char found[1024];
    bool miss = search_path(argv[0], found, sizeof found) != argv[0] || !first;
    RT_ERRNO = saved;
    return miss;
}

static int do_exec(enum exec_kind kind, const char *file, char *const argv[], char *const envp[])
{
    if (!rt_pl_enter()) {
        if (kind == EXEC_VE)
            return REAL(execve)(file, argv, envp);
        return REAL(execvpe)(file, argv, envp);
    }
    int64_t t0 = rt_pl_stamp();
    char resolved[1024];
    const char *path = kind == EXEC_VPE ? search_path(file, resolved, sizeof resolved) : file;
    struct exec_target t;
    exec_look(path, 0, &t);
    if (kind == EXEC_VE && path_search_miss(file, argv, t.absent)) {
        note_vfork_child((int32_t)syscall(SYS_getpid), t0);
        uint32_t ignored = 0;
        bool keep = exec_env(&t, envp, &ignored);
        rt_pl_leave();
        return exec_call(EXEC_VE, keep, -1, file, argv, envp);
    }
    uint32_t flags = exec_flags(path);
    bool keep = exec_env(&t, envp, &flags);
    int32_t me = (int32_t)syscall(SYS_getpid);
    note_vfork_child(me, t0);
    rec_exec(RT_OP_EXEC, RT_RING_INT_EXEC_PENDING, t0, 0, path, argv, -1, flags, me,
             may_be_uncovered(&t, flags));
    rt_pl_leave(); /* a vfork child shares this thread's TLS with its parent */
    int r = exec_call(kind, keep, -1, file, argv, envp);
    int e = RT_ERRNO;
    if (rt_pl_enter()) {
        rec_exec(RT_OP_EXEC, RT_RING_INT_EXEC_FAILED, t0, -(int64_t)e, path, argv, -1,
                 flags & ~RAN_FLAGS, me, false);
        rt_pl_leave();
    }
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return do_exec(EXEC_VE, path, argv, envp);
}

RT_EXPORT int execv(const char *path, char *const argv[])
{
    return do_exec(EXEC_VE, path, argv, environ);
}

RT_EXPORT int execvp(const char *file, char *const argv[])
{
    return do_exec(EXEC_VPE, file, argv, environ);
}

RT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return do_exec(EXEC_VPE, file, argv, envp);
}

#define COLLECT_ARGS(arg0, last_named)                                                             \
    char *argv_[MAX_ARGS];                                                                         \
    size_t argc_ = 0;                                                                              \
    va_list ap;                                                                                    \
    va_start(ap, last_named);                                                                      \
    argv_[argc_++] = (char *)(arg0);                                                               \
    while (argv_[argc_ - 1] && argc_ < MAX_ARGS)                                                   \
        argv_[argc_++] = va_arg(ap, char *);                                                       \
    if (argv_[argc_ - 1]) {                                                                        \
        va_end(ap);                                                                                \
        errno = E2BIG;                                                                             \
        return -1;                                                                                 \
    }

RT_EXPORT int execl(const char *path, const char *arg, ...)
{
    COLLECT_ARGS(arg, arg);
    va_end(ap);
    return do_exec(EXEC_VE, path, argv_, environ);
}

RT_EXPORT int execlp(const char *file, const char *arg, ...)
{
    COLLECT_ARGS(arg, arg);
    va_end(ap);
    return do_exec(EXEC_VPE, file, argv_, environ);
}

RT_EXPORT int execle(const char *path, const char *arg, ...)
{
    COLLECT_ARGS(arg, arg);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return do_exec(EXEC_VE, path, argv_, envp);
}

RT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    if (!rt_pl_enter())
        return REAL(fexecve)(fd, argv, envp);
    int64_t t0 = rt_pl_stamp();
    char self[64], target[1024];
    rt_pl_strlcpy(self, "/proc/self/fd/", sizeof self);
    size_t k = 14;
    char digits[16];
    size_t nd = 0;
    for (unsigned v = (unsigned)fd; nd == 0 || v; v /= 10)
        digits[nd++] = (char)('0' + v % 10);
    while (nd)
        self[k++] = digits[--nd];
    self[k] = 0;
    ssize_t n = readlink(self, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    uint32_t flags =
        n >= 7 && !memcmp(target, "/memfd:", 7) ? RT_EF_EXEC_MEMFD : exec_flags(target);
    struct exec_target t;
    exec_look(self, 0, &t);
    bool keep = exec_env(&t, envp, &flags);
    int32_t me = (int32_t)syscall(SYS_getpid);
    rec_exec(RT_OP_EXEC, RT_RING_INT_EXEC_PENDING, t0, 0, target, argv, fd, flags, me,
             may_be_uncovered(&t, flags));
    rt_pl_leave();
    int r = exec_call(EXEC_FD, keep, fd, NULL, argv, envp);
    int e = RT_ERRNO;
    if (rt_pl_enter()) {
        rec_exec(RT_OP_EXEC, RT_RING_INT_EXEC_FAILED, t0, -(int64_t)e, target, argv, fd,
                 flags & ~RAN_FLAGS, me, false);
        rt_pl_leave();
    }
    RT_ERRNO = e;
    return r;
}

/* ---- spawn, fork, system, popen ---- */

static int real_spawn(bool search, pid_t *pid, const char *file,
                      const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                      char *const argv[], char *const envp[])
{
    return search ? REAL(posix_spawnp)(pid, file, fa, attr, argv, envp)
                  : REAL(posix_spawn)(pid, file, fa, attr, argv, envp);
}

/* real_spawn with keep_env's environment, its buffer in this frame alone (real_exec_kept). */
__attribute__((noinline)) static int real_spawn_kept(bool search, pid_t *pid, const char *file,
                                                     const posix_spawn_file_actions_t *fa,
                                                     const posix_spawnattr_t *attr,
                                                     char *const argv[], char *const envp[])
{
    char *out[MAX_ENV];
    return real_spawn(search, pid, file, fa, attr, argv, keep_env(envp, out, MAX_ENV));
}

static int spawn_common(bool search, pid_t *pid, const char *file,
                        const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                        char *const argv[], char *const envp[])
{
    if (!rt_pl_enter())
        return real_spawn(search, pid, file, fa, attr, argv, envp);
    int64_t t0 = rt_pl_stamp();
    char resolved[1024];
    const char *path = search ? search_path(file, resolved, sizeof resolved) : file;
    uint32_t flags = exec_flags(path);
    struct exec_target t;
    exec_look(path, 0, &t);
    bool keep = exec_env(&t, envp, &flags);
    pid_t child = 0;
    if (may_be_uncovered(&t, flags))
        rt_producer_proc_change(&rt_pl_ring);
    int rc = keep ? real_spawn_kept(search, &child, file, fa, attr, argv, envp)
                  : real_spawn(search, &child, file, fa, attr, argv, envp);
    int e = RT_ERRNO;
    if (pid)
        *pid = child;
    char args[2048];
    size_t alen = rt_pl_join_argv(argv, args, sizeof args);
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_SPAWN, t0, rc == 0 ? (int64_t)child : -(int64_t)rc);
    rt_pl_str(&rec, 0, path);
    rt_pl_strn(&rec, 1, args, alen);
    rec.flags = flags;
    rt_pl_emit(&rec);
    rt_pl_leave();
    RT_ERRNO = e;
    return rc;
}

RT_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn_common(false, pid, path, fa, attr, argv, envp);
}

RT_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn_common(true, pid, file, fa, attr, argv, envp);
}

RT_EXPORT pid_t fork(void)
{
    if (!rt_pl_enter())
        return REAL(fork)();
    int64_t t0 = rt_pl_stamp();
    /* No process change announced: the child is this covered image (an exec of its own is
     * looked at when it comes). */
    pid_t r = REAL(fork)();
    int e = RT_ERRNO;
    if (r != 0) { /* the child's pid cache was refreshed by the atfork handler */
        struct rt_rec rec;
        rt_pl_rec_init(&rec, RT_OP_FORK, t0, r < 0 ? -(int64_t)e : (int64_t)r);
        rt_pl_emit(&rec);
    }
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

/* Whether the shell system() and popen() start (/bin/sh, with this process's environment)
 * records itself: a dynamic non-Go program, looked at once per process, and the environment
 * still carries the interposer (env_lost's test; those calls pass environ as it is). The
 * commands it runs are its own execs, announced there. */
static bool shell_covered(void)
{
    RT_PL_START static int sh; /* 0: not looked at yet, 1: covered, -1: not */
    if (!__atomic_load_n(&sh, __ATOMIC_RELAXED)) {
        struct exec_target t;
        int saved = RT_ERRNO;
        exec_look("/bin/sh", 0, &t);
        RT_ERRNO = saved;
        __atomic_store_n(&sh, t.covered == 1 && !t.go ? 1 : -1, __ATOMIC_RELAXED);
    }
    return __atomic_load_n(&sh, __ATOMIC_RELAXED) > 0 && has_var(environ, "RUNTRAIL_RING=", 14) &&
           has_var(environ, "LD_PRELOAD=", 11);
}

RT_EXPORT int system(const char *command)
{
    if (!rt_pl_enter() || !command)
        return REAL(system)(command);
    int64_t t0 = rt_pl_stamp();
    if (!shell_covered())
        rt_producer_proc_change(&rt_pl_ring);
    int r = REAL(system)(command);
    int e = RT_ERRNO;
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_SYSTEM, t0, r < 0 ? -(int64_t)e : (int64_t)r);
    rt_pl_str(&rec, 0, command);
    rt_pl_emit(&rec);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT FILE *popen(const char *command, const char *mode)
{
    if (!rt_pl_enter())
        return REAL(popen)(command, mode);
    int64_t t0 = rt_pl_stamp();
    if (!shell_covered())
        rt_producer_proc_change(&rt_pl_ring);
    FILE *f = REAL(popen)(command, mode);
    int e = RT_ERRNO;
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_POPEN, t0, f ? (int64_t)fileno(f) : -(int64_t)e);
    rt_pl_str(&rec, 0, command);
    rt_pl_str(&rec, 1, mode);
    rt_pl_emit(&rec);
    rt_pl_leave();
    RT_ERRNO = e;
    return f;
}

/* ---- signals, prctl, ptrace, ids, memfd ---- */

#define NUM_BODY(T, op, s0, n0, n1, n2, flags, CALL)                                               \
    do {                                                                                           \
        if (!rt_pl_enter())                                                                        \
            return CALL;                                                                           \
        int64_t t0_ = rt_pl_stamp();                                                               \
        T r_ = CALL;                                                                               \
        int e_ = RT_ERRNO;                                                                         \
        rt_pl_emit_simple(op, t0_, r_ < 0 ? -(int64_t)e_ : (int64_t)r_, s0, n0, n1, n2, flags);    \
        rt_pl_leave();                                                                             \
        RT_ERRNO = e_;                                                                             \
        return r_;                                                                                 \
    } while (0)

#define ID(x) ((int64_t)(int32_t)(x))

RT_EXPORT int kill(pid_t pid, int sig)
{
    NUM_BODY(int, RT_OP_KILL, NULL, pid, sig, 0, 0, REAL(kill)(pid, sig));
}

RT_EXPORT int prctl(int option, ...)
{
    va_list ap;
    va_start(ap, option);
    unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
    unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
    va_end(ap);
    NUM_BODY(int, RT_OP_PRCTL, NULL, option, (int64_t)a2, 0, 0,
             REAL(prctl)(option, a2, a3, a4, a5));
}

RT_EXPORT long ptrace(enum __ptrace_request request, ...)
{
    va_list ap;
    va_start(ap, request);
    pid_t pid = va_arg(ap, pid_t);
    void *addr = va_arg(ap, void *), *data = va_arg(ap, void *);
    va_end(ap);
    if (!rt_pl_enter())
        return REAL(ptrace)(request, pid, addr, data);
    int64_t t0 = rt_pl_stamp();
    RT_ERRNO = 0;
    long r = REAL(ptrace)(request, pid, addr, data);
    int e = RT_ERRNO;
    rt_pl_emit_simple(RT_OP_PTRACE, t0, r == -1 && e ? -(int64_t)e : r, NULL, (int64_t)request, pid,
                      0, RT_EF_PRIVILEGE);
    rt_pl_leave();
    RT_ERRNO = e;
    return r;
}

RT_EXPORT int setuid(uid_t id)
{
    NUM_BODY(int, RT_OP_SETID, "setuid", ID(id), 0, 0, RT_EF_PRIVILEGE, REAL(setuid)(id));
}
RT_EXPORT int setgid(gid_t id)
{
    NUM_BODY(int, RT_OP_SETID, "setgid", ID(id), 0, 0, RT_EF_PRIVILEGE, REAL(setgid)(id));
}
RT_EXPORT int seteuid(uid_t id)
{
    NUM_BODY(int, RT_OP_SETID, "seteuid", ID(id), 0, 0, RT_EF_PRIVILEGE, REAL(seteuid)(id));
}
RT_EXPORT int setegid(gid_t id)
{
    NUM_BODY(int, RT_OP_SETID, "setegid", ID(id), 0, 0, RT_EF_PRIVILEGE, REAL(setegid)(id));
}
RT_EXPORT int setreuid(uid_t r, uid_t e)
{
    NUM_BODY(int, RT_OP_SETID, "setreuid", ID(r), ID(e), 0, RT_EF_PRIVILEGE, REAL(setreuid)(r, e));
}
RT_EXPORT int setregid(gid_t r, gid_t e)
{
    NUM_BODY(int, RT_OP_SETID, "setregid", ID(r), ID(e), 0, RT_EF_PRIVILEGE, REAL(setregid)(r, e));
}
RT_EXPORT int setresuid(uid_t r, uid_t e, uid_t s)
{
    NUM_BODY(int, RT_OP_SETID, "setresuid", ID(r), ID(e), ID(s), RT_EF_PRIVILEGE,
             REAL(setresuid)(r, e, s));
}
RT_EXPORT int setresgid(gid_t r, gid_t e, gid_t s)
{
    NUM_BODY(int, RT_OP_SETID, "setresgid", ID(r), ID(e), ID(s), RT_EF_PRIVILEGE,
             REAL(setresgid)(r, e, s));
}

RT_EXPORT int memfd_create(const char *name, unsigned flags)
{
    NUM_BODY(int, RT_OP_MEMFD, name, flags, 0, 0, 0, REAL(memfd_create)(name, flags));
}

/* ---- exit ---- */

static void quick_exit_record(int status);

RT_EXPORT void exit(int status)
{
    quick_exit_record(status); /* exit() from a vfork child must not touch shared state */
    REAL(exit)(status);
    __builtin_unreachable();
}

static void quick_exit_record(int status)
{
    if (!rt_pl_active)
        return;
    if ((int32_t)syscall(SYS_getpid) == rt_pl_pid) {
        rt_pl_proc_exit(status & 0xff);
        return;
    }
    /* a vfork child (shares our memory): record, touch nothing else */
    struct rt_rec rec;
    int saved = RT_ERRNO;
    rt_pl_rec_init(&rec, RT_OP_PROC_EXIT, rt_pl_stamp(), 0);
    rec.pid = (int32_t)syscall(SYS_getpid);
    rec.tid = (int32_t)syscall(SYS_gettid);
    rec.num[0] = status & 0xff;
    rt_producer_emit(&rt_pl_ring, &rec);
    RT_ERRNO = saved;
}

RT_EXPORT void _exit(int status)
{
    quick_exit_record(status);
    REAL(_exit)(status);
    __builtin_unreachable();
}

RT_EXPORT void _Exit(int status)
{
    quick_exit_record(status);
    REAL(_Exit)(status);
    __builtin_unreachable();
}
