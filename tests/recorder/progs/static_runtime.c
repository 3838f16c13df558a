/* Recorder behaviour test: a statically linked Lambda custom runtime (the interposer cannot
 * enter it, like a Go runtime). It speaks the Runtime API through curl(1) children (which the
 * interposer does enter): `curl -w %header{...}` fetches the next event and prints its request
 * id, another curl posts {"ok":true} as the response. Loops until the Runtime API goes away.
 * tests/e2e/coverage.sh drives it through `runtrail invoke`. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs curl with argv; its stdout (at most cap-1 bytes) into out. Returns its exit status. */
static int curl(char *const argv[], char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds))
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid;
    int rc = posix_spawnp(&pid, "curl", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (rc == 0 && n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st = 0;
    if (rc != 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api)
        return 2;
    char next[512], id[256], post[512], ignored[64];
    snprintf(next, sizeof next, "http://%s/2018-06-01/runtime/invocation/next", api);
    for (;;) {
        char *get[] = {"curl",      "-sS", "-o",
                       "/dev/null", "-w",  "%header{lambda-runtime-aws-request-id}",
                       next,        NULL};
        if (curl(get, id, sizeof id) != 0 || !id[0])
            return 0;
        snprintf(post, sizeof post, "http://%s/2018-06-01/runtime/invocation/%s/response", api, id);
        char *put[] = {"curl", "-sS", "-o", "/dev/null", "-d", "{\"ok\":true}", post, NULL};
        if (curl(put, ignored, sizeof ignored) != 0)
            return 3;
    }
}
