/* runtrail wrapper: the layer's runtrail/wrapper. Set AWS_LAMBDA_EXEC_WRAPPER=/opt/runtrail/wrapper
 * (or exec it from a custom runtime's bootstrap or a container's ENTRYPOINT:
 * `exec /opt/runtrail/wrapper RUNTIME ARGS...`).
 *
 * When the runtrail extension's Runtime API proxy is up (its ready file exists and names a live
 * process), it points the runtime at the proxy and preloads the interposer, then execs the
 * runtime. Otherwise, or with RUNTRAIL_DISABLE=1, it execs the runtime unchanged: a broken
 * recorder never breaks the function. Its files are found relative to this program.
 *
 * It is on every cold start's path, between Lambda's start of the runtime and the runtime
 * itself, so it is a static program of libc alone: no dynamic loader, no shell (the /bin/sh
 * script it replaces cost 3-4.5 ms here with dash and 7 ms with bash, Amazon Linux's sh; this
 * program about 1.5 ms: docs/deploy.md). Built without sanitizers, like the interposer. */
#include "recorder/wrapper/ready.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An ELF note that names this program runtrail's own: name "runtrail", type 1, no descriptor.
 * The extension's /proc sampler (recorder/extension/procwatch.c) reports the static programs
 * in the runtime's process tree, which the interposer cannot enter; this one, caught between
 * writing runtime.pid and exec'ing the runtime, is not one of them. */
struct elf_note {
    uint32_t namesz, descsz, type;
    char name[12];
};
__attribute__((section(".note.runtrail"), aligned(4),
               used)) static const struct elf_note runtrail_note = {9, 0, 1, "runtrail"};

/* Everything the wrapper writes, in as few pages as it can: each page a process touches is a
 * page fault (10 us and more on some hosts), and this program runs on every cold start's path.
 * The parsed ready file first (only the bytes it fills are written), then one buffer used
 * front to back: the ready file's text, every path and variable, and the runtime's
 * environment. Nothing comes from malloc (setenv's copies cost a heap page and an mmap'd
 * one) and no path buffer sits on the stack (PATH_MAX each, a page apiece): 17 to 19 page
 * faults from exec to the runtime's exec before, 8 to 10 after (docs/deploy.md, "The
 * wrapper"). */
static struct {
    size_t used;
    struct rt_wrap_ready ready;
    char buf[64 * 1024];
} w;
/* set_env rounds used up to a pointer's alignment: never past the end. */
_Static_assert(sizeof w.buf % sizeof(char *) == 0, "the buffer ends aligned");

/* n bytes of the buffer, or NULL when they do not fit. */
static char *take(size_t n)
{
    if (n > sizeof w.buf - w.used)
        return NULL;
    char *p = w.buf + w.used;
    w.used += n;
    return p;
}

/* Gives back what the buffer's last block (p, from take) did not use: its first len bytes and
 * their NUL stay. */
static void trim(const char *p, size_t len)
{
    w.used = (size_t)(p - w.buf) + len + 1;
}

/* The formatted string, kept in the buffer; NULL when it does not fit. */
__attribute__((format(printf, 1, 2))) static char *keep(const char *fmt, ...)
{
    size_t cap = sizeof w.buf - w.used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w.buf + w.used, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap ? take((size_t)n + 1) : NULL;
}

/* The file execvp(name) ran: name itself when it has a slash, else the first executable
 * regular file NAME in a folder of $PATH; NULL when there is none. */
static const char *path_of(const char *name)
{
    if (strchr(name, '/'))
        return name;
    const char *p = getenv("PATH");
    if (!p)
        p = "/usr/local/bin:/bin:/usr/bin";
    size_t mark = w.used;
    for (;;) {
        size_t n = strcspn(p, ":");
        struct stat st;
        /* An empty entry is the current folder, as for a shell. */
        const char *out = keep("%.*s%s%s", (int)n, p, n ? "/" : "", name);
        if (out && stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return out;
        w.used = mark;
        if (!p[n])
            break;
        p += n + 1;
    }
    return NULL;
}

/* Runs the runtime, argv[1..], with the environment as it now is; returns only on failure,
 * with the shell's exit codes: 127 when RUNTIME is not found, 126 when it cannot run. A file
 * the kernel does not know how to run (a script without "#!") runs under /bin/sh, as a shell's
 * exec and glibc's execvp do (musl's does not). */
static int run(char **argv)
{
    execvp(argv[1], argv + 1);
    int e = errno;
    const char *file = e == ENOEXEC ? path_of(argv[1]) : NULL;
    if (file) {
        /* argv[0] (the wrapper) becomes "/bin/sh", argv[1] the file's path. */
        argv[0] = (char *)"/bin/sh";
        argv[1] = (char *)file;
        execv("/bin/sh", argv);
        e = ENOEXEC; /* what the runtime's own exec said */
    }
    fprintf(stderr, "runtrail wrapper: cannot run %s: %s\n", argv[1], strerror(e));
    return e == ENOENT ? 127 : 126;
}

/* This program's folder, absolute (LD_PRELOAD must not depend on the runtime's working
 * directory): argv[0]'s folder when argv[0] has a slash, as a script's $0 did, else the
 * folder of /proc/self/exe. NULL when it cannot be told or does not fit. */
static const char *own_folder(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    char *dir;
    if (slash) {
        /* "/wrapper": the root */
        dir = slash == argv0 ? keep("/") : keep("%.*s", (int)(slash - argv0), argv0);
    } else {
        size_t cap = PATH_MAX;
        dir = take(cap);
        ssize_t n = dir ? readlink("/proc/self/exe", dir, cap - 1) : -1;
        if (n <= 0)
            return NULL;
        dir[n] = '\0';
        char *s = strrchr(dir, '/');
        if (!s)
            return NULL;
        *s = '\0';
        trim(dir, (size_t)(s - dir));
    }
    if (!dir || dir[0] == '/')
        return dir;
    char *cwd = take(PATH_MAX);
    if (!cwd || !getcwd(cwd, PATH_MAX))
        return NULL;
    trim(cwd, strlen(cwd));
    return keep("%s/%s", cwd, dir);
}

/* Reads the ready file into the buffer (NUL-terminated); NULL when it cannot be read. A
 * ready file larger than 8 KiB, or anything but a regular file (a FIFO would hold the
 * runtime's start forever), is not one the extension wrote. */
static const char *read_ready(const char *path, size_t *len)
{
    enum { cap = 8192 };
    char *buf = take(cap);
    if (!buf)
        return NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1) {
            close(fd);
            return NULL;
        }
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    trim(buf, n);
    return buf;
}

/* Points environ at a copy of it in the buffer where each of the n NAME=VALUE strings of set
 * replaces every variable of that name (setenv would malloc); false when it does not fit, and
 * the environment is then as it was. */
static bool set_env(char *const set[], size_t n)
{
    size_t count = 0;
    for (char **e = environ; e && *e; e++)
        count++;
    w.used = (w.used + sizeof(char *) - 1) & ~(sizeof(char *) - 1);
    char **env = (char **)take((count + n + 1) * sizeof *env);
    if (!env)
        return false;
    size_t k = 0;
    for (char **e = environ; e && *e; e++) {
        bool replaced = false;
        for (size_t i = 0; i < n && !replaced; i++) {
            size_t name = strcspn(set[i], "=") + 1; /* with the '=' */
            replaced = strncmp(*e, set[i], name) == 0;
        }
        if (!replaced)
            env[k++] = *e;
    }
    for (size_t i = 0; i < n; i++)
        env[k++] = set[i];
    env[k] = NULL;
    environ = env;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: wrapper RUNTIME [ARGS...]\n", stderr);
        return 2;
    }
    if (rt_wrap_disabled(getenv("RUNTRAIL_DISABLE")))
        return run(argv);

    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    char *run_dir = take(PATH_MAX);
    if (!run_dir || !rt_wrap_run_dir(getenv("RUNTRAIL_RUN_DIR"), api, run_dir, PATH_MAX))
        return run(argv);
    trim(run_dir, strlen(run_dir));
    const char *path = keep("%s/ready", run_dir);
    size_t len = 0;
    const char *text = path ? read_ready(path, &len) : NULL;
    /* No ready file, an incomplete or garbled one, or a stale one (the extension is gone):
     * leave the runtime alone. */
    if (!text || !rt_wrap_parse_ready(text, len, &w.ready) || kill((pid_t)w.ready.pid, 0) != 0)
        return run(argv);

    char *set[5];
    size_t n = 0;
    const char *here = w.ready.ring[0] ? own_folder(argv[0]) : NULL;
    const char *so = here ? keep("%s/lib/libruntrail-preload.so", here) : NULL;
    struct stat st;
    if (so && stat(so, &st) == 0 && S_ISREG(st.st_mode)) {
        const char *old = getenv("LD_PRELOAD");
        char *preload = old && *old ? keep("LD_PRELOAD=%s:%s", old, so) : keep("LD_PRELOAD=%s", so);
        char *ring = keep("RUNTRAIL_RING=%s", w.ready.ring);
        if (preload && ring) {
            set[n++] = ring;
            set[n++] = preload;
        }
    }
    /* The runtime keeps this pid across exec: the extension watches it to stop waiting for a
     * bundle when the runtime dies mid-invocation. */
    const char *pid_path = keep("%s/runtime.pid", run_dir);
    /* Never through a symbolic link, and never waiting on a FIFO. */
    int fd = pid_path
                 ? open(pid_path,
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666)
                 : -1;
    if (fd >= 0) {
        char pid[32];
        int k = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (write(fd, pid, (size_t)k) != k) {
            /* The extension then waits for the runtime's answer only: nothing to undo. */
        }
        close(fd);
    }
    char *proxy = keep("RUNTRAIL_PROXY=%s", w.ready.proxy);
    char *upstream = keep("RUNTRAIL_UPSTREAM=%s", api ? api : "");
    char *runtime_api = keep("AWS_LAMBDA_RUNTIME_API=%s", w.ready.proxy);
    if (proxy && upstream && runtime_api) {
        set[n++] = proxy;
        set[n++] = upstream;
        set[n++] = runtime_api;
        set_env(set, n);
    }
    return run(argv);
}
