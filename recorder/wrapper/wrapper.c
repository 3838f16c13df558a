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

/* The file execvp(name) ran: name itself when it has a slash, else the first executable
 * regular file NAME in a folder of $PATH; false when there is none. */
static bool path_of(const char *name, char *out, size_t cap)
{
    if (strchr(name, '/'))
        return (size_t)snprintf(out, cap, "%s", name) < cap;
    const char *p = getenv("PATH");
    if (!p)
        p = "/usr/local/bin:/bin:/usr/bin";
    for (;;) {
        size_t n = strcspn(p, ":");
        struct stat st;
        /* An empty entry is the current folder, as for a shell. */
        if ((size_t)snprintf(out, cap, "%.*s%s%s", (int)n, p, n ? "/" : "", name) < cap &&
            stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return true;
        if (!p[n])
            break;
        p += n + 1;
    }
    return false;
}

/* Runs the runtime, argv[1..], with the environment as it now is; returns only on failure,
 * with the shell's exit codes: 127 when RUNTIME is not found, 126 when it cannot run. A file
 * the kernel does not know how to run (a script without "#!") runs under /bin/sh, as a shell's
 * exec and glibc's execvp do (musl's does not). */
static int run(char **argv)
{
    execvp(argv[1], argv + 1);
    int e = errno;
    static char file[PATH_MAX];
    if (e == ENOEXEC && path_of(argv[1], file, sizeof file)) {
        /* argv[0] (the wrapper) becomes "/bin/sh", argv[1] the file's path. */
        argv[0] = (char *)"/bin/sh";
        argv[1] = file;
        execv("/bin/sh", argv);
        e = ENOEXEC; /* what the runtime's own exec said */
    }
    fprintf(stderr, "runtrail wrapper: cannot run %s: %s\n", argv[1], strerror(e));
    return e == ENOENT ? 127 : 126;
}

/* This program's folder, absolute (LD_PRELOAD must not depend on the runtime's working
 * directory): argv[0]'s folder when argv[0] has a slash, as a script's $0 did, else the
 * folder of /proc/self/exe. */
static bool own_folder(const char *argv0, char *out, size_t cap)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(argv0, '/');
    if (slash) {
        size_t n = (size_t)(slash - argv0);
        if (n >= sizeof dir)
            return false;
        memcpy(dir, argv0, n);
        dir[n] = '\0';
        if (n == 0) /* "/wrapper" */
            snprintf(dir, sizeof dir, "/");
    } else {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (n <= 0)
            return false;
        dir[n] = '\0';
        char *s = strrchr(dir, '/');
        if (!s)
            return false;
        *s = '\0';
    }
    int n;
    if (dir[0] == '/') {
        n = snprintf(out, cap, "%s", dir);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return false;
        n = snprintf(out, cap, "%s/%s", cwd, dir);
    }
    return n > 0 && (size_t)n < cap;
}

/* Reads the ready file into buf (NUL-terminated); false when it cannot be read. A ready file
 * larger than buf, or anything but a regular file (a FIFO would hold the runtime's start
 * forever), is not one the extension wrote. */
static bool read_ready(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return false;
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
            return false;
        }
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
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
    char run_dir[PATH_MAX], path[PATH_MAX + 32];
    if (!rt_wrap_run_dir(getenv("RUNTRAIL_RUN_DIR"), api, run_dir, sizeof run_dir))
        return run(argv);
    snprintf(path, sizeof path, "%s/ready", run_dir);
    static char text[8192];
    size_t len = 0;
    static struct rt_wrap_ready ready;
    /* No ready file, an incomplete or garbled one, or a stale one (the extension is gone):
     * leave the runtime alone. */
    if (!read_ready(path, text, sizeof text, &len) || !rt_wrap_parse_ready(text, len, &ready) ||
        kill((pid_t)ready.pid, 0) != 0)
        return run(argv);

    char here[PATH_MAX], so[PATH_MAX + 64];
    struct stat st;
    if (ready.ring[0] && own_folder(argv[0], here, sizeof here) &&
        (size_t)snprintf(so, sizeof so, "%s/lib/libruntrail-preload.so", here) < sizeof so &&
        stat(so, &st) == 0 && S_ISREG(st.st_mode)) {
        const char *old = getenv("LD_PRELOAD");
        static char preload[2 * PATH_MAX + 128];
        int n = old && *old ? snprintf(preload, sizeof preload, "%s:%s", old, so)
                            : snprintf(preload, sizeof preload, "%s", so);
        if (n > 0 && (size_t)n < sizeof preload) {
            setenv("RUNTRAIL_RING", ready.ring, 1);
            setenv("LD_PRELOAD", preload, 1);
        }
    }
    /* The runtime keeps this pid across exec: the extension watches it to stop waiting for a
     * bundle when the runtime dies mid-invocation. */
    snprintf(path, sizeof path, "%s/runtime.pid", run_dir);
    /* Never through a symbolic link, and never waiting on a FIFO. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd >= 0) {
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (write(fd, pid, (size_t)n) != n) {
            /* The extension then waits for the runtime's answer only: nothing to undo. */
        }
        close(fd);
    }
    setenv("RUNTRAIL_PROXY", ready.proxy, 1);
    setenv("RUNTRAIL_UPSTREAM", api ? api : "", 1);
    setenv("AWS_LAMBDA_RUNTIME_API", ready.proxy, 1);
    return run(argv);
}
