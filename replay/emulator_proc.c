/* The sandbox's processes: the runtime and the extensions of the layer folders. Each starts in
 * its own process group (so a timeout or a crash kills the handler's children too), in the
 * task root, with the Lambda environment, its stdout and stderr sent to the emulator's log
 * descriptor (never to the caller's stdout, where invoke prints responses) — the runtime's
 * through the Telemetry API's pipe, which passes them on. */
#include "replay/emulator_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Resolves a command name through the PATH of the sandbox environment, then the host's (before
 * fork, so the child only calls async-signal-safe functions). */
static int resolve(const char *cmd, char *const *envp, char *out, size_t cap)
{
    if (strchr(cmd, '/')) {
        snprintf(out, cap, "%s", cmd);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    /* The sandbox's PATH (Lambda's), then the host's: `python3` or `node` is the interpreter
     * the user has, wherever their shell finds it. */
    const char *paths[] = {rt_lambda_env_get(envp, "PATH"), getenv("PATH")};
    for (size_t i = 0; i < 2; i++) {
        const char *path = paths[i] ? paths[i] : "";
        while (*path) {
            const char *end = strchr(path, ':');
            size_t len = end ? (size_t)(end - path) : strlen(path);
            if (len) {
                snprintf(out, cap, "%.*s/%s", (int)len, path, cmd);
                if (access(out, X_OK) == 0)
                    return 0;
            }
            path += len + (end ? 1 : 0);
        }
    }
    return -1;
}

int emu_proc_spawn(struct rt_emu *emu, char *const *argv, const char *name, int out_fd,
                   struct emu_proc *out, struct rt_errinfo *ei)
{
    char exe[4096];
    if (resolve(argv[0], emu->envp, exe, sizeof exe) != 0)
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "%s: not found or not executable", argv[0]);
    int log_fd = out_fd >= 0 ? out_fd : emu->cfg->log_fd >= 0 ? emu->cfg->log_fd : 2;
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0)
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(errpipe[0]);
        close(errpipe[1]);
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        if (chdir(emu->task_root) != 0) {
            int e = errno;
            (void)!write(errpipe[1], &e, sizeof e);
            _exit(127);
        }
        execve(exe, argv, emu->envp);
        int e = errno;
        (void)!write(errpipe[1], &e, sizeof e);
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent, so kill(-pid) works at once */
    close(errpipe[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(errpipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    close(errpipe[0]);
    memset(out, 0, sizeof *out);
    out->pid = pid;
    snprintf(out->name, sizeof out->name, "%s", name);
    if (n == (ssize_t)sizeof child_errno) {
        emu_proc_reap(out);
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "%s: %s", exe, strerror(child_errno));
    }
    return RT_OK;
}

bool emu_proc_poll(struct emu_proc *p)
{
    if (p->pid <= 0 || p->exited)
        return true;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        p->exited = true;
        p->wstatus = r == p->pid ? st : 0;
    }
    return p->exited;
}

void emu_proc_kill(struct emu_proc *p, int sig)
{
    if (p->pid > 0)
        kill(-p->pid, sig); /* the group: the process and its children */
}

void emu_proc_reap(struct emu_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(-p->pid, SIGKILL);
    if (!p->exited) {
        int st;
        pid_t r;
        do {
            r = waitpid(p->pid, &st, 0);
        } while (r < 0 && errno == EINTR);
        p->exited = true;
        p->wstatus = r == p->pid ? st : 0;
    }
    p->pid = 0;
}

void emu_proc_describe(const struct emu_proc *p, char *buf, size_t cap)
{
    if (WIFSIGNALED(p->wstatus)) {
        int sig = WTERMSIG(p->wstatus);
        const char *name = sigabbrev_np(sig);
        char lower[32] = "";
        if (name) {
            size_t i = 0;
            for (; name[i] && i + 1 < sizeof lower; i++)
                lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
            lower[i] = '\0';
        }
        /* Lambda's wording: "signal: killed", "signal: segmentation fault" (Go's names). */
        const char *text = sig == SIGKILL   ? "killed"
                           : sig == SIGSEGV ? "segmentation fault"
                           : sig == SIGABRT ? "aborted"
                           : sig == SIGTERM ? "terminated"
                                            : lower;
        snprintf(buf, cap, "signal: %s", text);
    } else {
        snprintf(buf, cap, "exit status %d", WIFEXITED(p->wstatus) ? WEXITSTATUS(p->wstatus) : 0);
    }
}
