/* Recorder stress test: THREADS threads each open a missing file N times while a timer signal
 * whose handler also calls open() fires, then one thread forks while the others keep going
 * (the child opens a marker file and exits). Usage: stress N THREADS MARKER_DIR.
 * Prints the number of opens done; the recorder must hold each one or count it dropped. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static long per_thread;
static const char *marker_dir;
static volatile sig_atomic_t signals;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    int fd = open("/nonexistent/from-signal-handler", O_RDONLY);
    if (fd >= 0)
        close(fd);
    signals++;
    errno = saved;
}

static void *worker(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < per_thread; i++) {
        errno = 0;
        if (open("/nonexistent/stress", O_RDONLY) != -1 || errno != ENOENT) {
            fprintf(stderr, "errno changed: %d\n", errno);
            exit(3);
        }
        if (id == 0 && i == per_thread / 2) {
            pid_t pid = fork();
            if (pid == 0) {
                char p[4096];
                snprintf(p, sizeof p, "%s/forked-child", marker_dir);
                int fd = open(p, O_WRONLY | O_CREAT, 0644);
                if (fd >= 0)
                    close(fd);
                _exit(0);
            }
            int st;
            waitpid(pid, &st, 0);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    per_thread = atol(argv[1]);
    long threads = atol(argv[2]);
    marker_dir = argv[3];
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    pthread_t th[64];
    for (long t = 0; t < threads && t < 64; t++)
        pthread_create(&th[t], NULL, worker, (void *)t);
    for (long t = 0; t < threads && t < 64; t++)
        pthread_join(th[t], NULL);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("%ld\n", per_thread * threads);
    return 0;
}
