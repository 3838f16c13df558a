/* Recorder behaviour test: what a shell does to run a command, then idles. Looks for `true`
 * along a search path as dash does (a stat per folder, two that do not have it, then one that
 * does), runs it with vfork and execve, and waits for it; then prints "ready" and waits for one
 * byte on stdin. tests/unit/test_preload.c reads its /proc/PID/pagemap meanwhile, to count the
 * pages of the interposer's data that the probes and the exec hook touched
 * (recorder/preload/start.ld). */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    const char *tries[] = {"/nonexistent-runtrail-a/true", "/nonexistent-runtrail-b/true",
                           "/bin/true"};
    const char *found = NULL;
    struct stat st;
    for (size_t i = 0; i < sizeof tries / sizeof *tries && !found; i++)
        if (stat(tries[i], &st) == 0)
            found = tries[i];
    if (!found)
        return 1;
    char *argv[] = {"true", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve(found, argv, environ);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return 1;
    char c;
    if (write(1, "ready\n", 6) != 6)
        return 1;
    return read(0, &c, 1) == 1 ? 0 : 1;
}
