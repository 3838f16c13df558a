/* Recorder behaviour test: known process operations, including failing ones. Usage:
 * proc_ops DIR STATIC_BIN. Forks a child that exits 7, fails to exec a missing path (ENOENT)
 * and a non-executable file (EACCES), runs system("exit 3"), posix_spawns /bin/true, execs a
 * static binary in a child (not covered), signals itself with 0, creates a memfd, copies the
 * static binary into a memfd and fexecve's it in a child, calls setuid/ptrace/prctl, exits 5. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    char noexec[4096];
    snprintf(noexec, sizeof noexec, "%s/noexec.sh", argv[1]);
    int fd = open(noexec, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 10;
    close(fd);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
        return 11;
    char *args[] = {"nothing", "arg1", NULL};
    if (execve("/nonexistent/bin/nothing", args, environ) != -1 || errno != ENOENT)
        return 12;
    char *args2[] = {noexec, NULL};
    if (execve(noexec, args2, environ) != -1 || errno != EACCES)
        return 13;
    int rc = system("exit 3");
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 3)
        return 14;
    char *targs[] = {"true", NULL};
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, targs, environ) != 0)
        return 15;
    waitpid(pid, &st, 0);
    pid = fork();
    if (pid == 0) {
        char *sargs[] = {argv[2], "static-arg", NULL};
        execv(argv[2], sargs);
        _exit(99);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 4)
        return 16;
    if (kill(getpid(), 0) != 0)
        return 17;
    if (kill(999999, SIGTERM) != -1 || errno != ESRCH)
        return 18;
    fd = memfd_create("rt-test-memfd", MFD_CLOEXEC);
    if (fd < 0)
        return 19;
    close(fd);
    pid = fork();
    if (pid == 0) {
        int mfd = memfd_create("payload", 0), src = open(argv[2], O_RDONLY);
        char buf[65536];
        ssize_t n;
        while ((n = read(src, buf, sizeof buf)) > 0)
            if (write(mfd, buf, (size_t)n) != n)
                _exit(98);
        char *margs[] = {"payload", "from-memfd", NULL};
        fexecve(mfd, margs, environ);
        _exit(99);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 4)
        return 20;
    if (setuid(getuid()) != 0)
        return 21;
    if (ptrace(PTRACE_PEEKUSER, 999999, NULL, NULL) != -1 || errno != ESRCH)
        return 22;
    if (prctl(PR_SET_NAME, "rt-proc-ops", 0, 0, 0) != 0)
        return 23;
    printf("proc_ops done\n");
    fflush(stdout);
    exit(5);
}
