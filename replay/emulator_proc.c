/* The sandbox's processes: the runtime and the extensions of the layer folders. Each starts in
 * its own process group (so a timeout or a crash kills the handler's children too), in the
 * task root, with the Lambda environment, its stdout and stderr sent to the emulator's log
 * descriptor (never to the caller's stdout, where invoke prints responses) — the runtime's
 * through the Telemetry API's pipe, which passes them on. */
#include "replay/emulator_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Resolves a command name through the PATH of the sandbox environment, then the host's. */
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

/* posix_spawn, not fork: the emulator is a threaded process with a large address space, and
 * copying its page tables, then faulting them back in the child until the exec, took 1-2 ms per
 * process; glibc's posix_spawn shares the memory until the exec (CLONE_VM | CLONE_VFORK) and
 * reports a failed action or exec through its return value. */
int emu_proc_spawn(struct rt_emu *emu, char *const *argv, const char *name, int out_fd,
                   struct emu_proc *out, struct rt_errinfo *ei)
{
    char exe[4096];
    if (resolve(argv[0], emu->envp, exe, sizeof exe) != 0)
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "%s: not found or not executable", argv[0]);
    int log_fd = out_fd >= 0 ? out_fd : emu->cfg->log_fd >= 0 ? emu->cfg->log_fd : 2;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "%s: out of memory", name);
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "%s: out of memory", name);
    }
    /* its own process group, no blocked signal, SIGPIPE back to its default */
    sigset_t none, pipe_sig;
    sigemptyset(&none);
    sigemptyset(&pipe_sig);
    sigaddset(&pipe_sig, SIGPIPE);
    int rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
    rc = rc ? rc : posix_spawnattr_setpgroup(&at, 0);
    rc = rc ? rc : posix_spawnattr_setsigmask(&at, &none);
    rc = rc ? rc : posix_spawnattr_setsigdefault(&at, &pipe_sig);
    rc = rc ? rc : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    rc = rc ? rc : posix_spawn_file_actions_addchdir_np(&fa, emu->task_root);
    pid_t pid = -1;
    if (rc == 0)
        rc = posix_spawn(&pid, exe, &fa, &at, argv, emu->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        /* which action failed is not said: name the task root when it is the cause */
        int dir = open(emu->task_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int e = dir < 0 ? errno : faccessat(dir, ".", X_OK, AT_EACCESS) != 0 ? errno : 0;
        if (dir >= 0)
            close(dir);
        if (e)
            return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "%s: cannot enter the task root %s: %s", exe,
                           emu->task_root, strerror(e));
        return rt_fail(ei, RT_ERR_EMU_SPAWN, -1, "%s: %s", exe, strerror(rc));
    }
    memset(out, 0, sizeof *out);
    out->pid = pid;
    snprintf(out->name, sizeof out->name, "%s", name);
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
