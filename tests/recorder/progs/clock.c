/* Recorder behaviour test: the times the interposer records are CLOCK_MONOTONIC. Waits 30 ms
 * (past the interposer's TSC calibration period), then brackets 200 kill(self, 0) calls and
 * one accept() that blocks ~100 ms (a thread connects after a sleep) with this program's own
 * CLOCK_MONOTONIC reads, printing "A B" in ns per call, in order. tests/unit/test_preload.c
 * checks that each recorded start and end lies between its A and B. Built for arm64 too (run
 * under qemu-aarch64), where it then prints "hz N", the counter's rate (CNTFRQ_EL0). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct sockaddr_in la = {.sin_family = AF_INET};

static void *late_connect(void *arg)
{
    (void)arg;
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&la, sizeof la);
    return NULL;
}

int main(void)
{
    struct timespec d = {0, 30 * 1000 * 1000};
    nanosleep(&d, NULL);
    pid_t self = getpid();
    for (int i = 0; i < 200; i++) {
        int64_t a = mono();
        if (kill(self, 0) != 0)
            return 10;
        int64_t b = mono();
        printf("%lld %lld\n", (long long)a, (long long)b);
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
    socklen_t ll = sizeof la;
    if (bind(ls, (struct sockaddr *)&la, sizeof la) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&la, &ll))
        return 11;
    pthread_t t;
    if (pthread_create(&t, NULL, late_connect, NULL))
        return 12;
    int64_t a = mono();
    int fd = accept(ls, NULL, NULL);
    int64_t b = mono();
    if (fd < 0)
        return 13;
    printf("%lld %lld\n", (long long)a, (long long)b);
    pthread_join(t, NULL);
#if defined(__aarch64__)
    unsigned long long hz;
    __asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(hz));
    printf("hz %llu\n", hz & 0xffffffffu);
#endif
    return 0;
}
