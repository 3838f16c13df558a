/* The interposer's microbenchmark program (tests/bench/preload.sh). Modes:
 *   preload serve PORT [udp]    accept on 127.0.0.1:PORT and close at once, or (udp) bind a
 *                               UDP socket there and never read it
 *   preload open N FILE         N x (openat FILE + close)
 *   preload connect N PORT      N x (socket + connect to 127.0.0.1:PORT + close)
 *   preload write N PORT        one connected UDP socket to PORT, N x write of 64 bytes: the
 *                               byte counting on a tracked connection. UDP to a socket that
 *                               never reads (the datagrams are dropped once its buffer is
 *                               full): on TCP each write's cost swung 5x with whether the
 *                               reader had to be woken, i.e. with the load on the machine
 *   preload kill N X            N x kill(getpid(), 0): the cheapest recorded call (a system
 *                               call doing almost nothing), so the recorder's own cost per
 *                               event dominates the difference to native
 *   preload stat N PATH         N x stat(PATH) (a missing PATH: every call recorded; an
 *   preload stat_rep N PATH     existing one, stat_rep: repeats folded into one count)
 *   preload spawn N PROG        N x (posix_spawn PROG + waitpid): the cost of a process start
 *                               (and exit) with whatever LD_PRELOAD the environment carries;
 *                               the CPU column is then the children's CPU time (RUSAGE_CHILDREN:
 *                               the loader, constructors and exit of each child), not this
 *                               thread's, and a fourth column gives the children's minor page
 *                               faults per process (steady from run to run, unlike times on a
 *                               loaded machine)
 *   preload spawnmix N PROG EMPTY SO [REF] [-- ARG...]
 *                               process start, side by side within one loop: N rounds, each
 *                               spawning PROG (with the ARGs after "--", else "nop - -",
 *                               this program returning at once) once per variant in a rotating
 *                               order, forward and backward in turn, from libc's own
 *                               posix_spawn (not a hook), and reading each child's own CPU
 *                               time and page faults (wait4), so a slow drift of the
 *                               machine's speed hits every variant alike. Variants:
 *                               plain (no LD_PRELOAD, no RUNTRAIL_* variables), empty
 *                               (LD_PRELOAD=EMPTY, a library with nothing in it), passthru
 *                               (LD_PRELOAD=SO without a ring), and, when RUNTRAIL_RING names a
 *                               live ring (run under `runtrail record`), runtrail (SO recording
 *                               into it) and ref (REF recording; "" for none); each child's
 *                               argv[0] is its variant's name. Prints per
 *                               variant "spawnmix VARIANT WALL_MEDIAN
 *                               CPU_MEDIAN CPU_MEAN FAULTS_MEAN" (ns, ns, ns, faults per
 *                               process); the means leave out the slowest 5% of each
 *                               variant's starts (a preempted child)
 *   preload pair N kill|open:FILE
 *                               the hook's own cost per call, in this thread: N rounds, each
 *                               making the call once through libc (kill(getpid(), 0) or
 *                               openat(FILE), which the interposer hooks) and once as a raw
 *                               system call (no libc, so no hook), in alternating order, each
 *                               call timed alone with the time stamp counter (fenced rdtsc).
 *                               Prints "pair WHAT Q1 MEDIAN Q3 MEAN": ns the hooked call took
 *                               more than the raw one at the same rank of each kind's sorted
 *                               times, at the quartiles and as the mean of the middle half.
 *                               Both kinds run in the same process on the same pages at the
 *                               same moments, so the run-to-run swings of a whole process on a
 *                               busy VM (hundreds of ns per call here) cancel out; natively the
 *                               figures are libc's wrapper alone. Excludes the consumer's work
 *                               and any later cost of what the hook evicted. x86-64 only
 *                               (prints "-" elsewhere)
 *   preload nop X X             returns at once (the program spawn starts)
 *   preload host N X            what this host charges for the things a recorded process
 *                               start is made of (tests/bench/host.sh): a fresh anonymous page
 *                               fault (N pages written once), a system call (getppid, raw)
 *                               and a vDSO clock read; the median of 5 runs of each. Prints
 *                               "host FAULT_NS SYSCALL_NS CLOCK_NS"
 * Prints "MODE WALL_NS_PER_OP CPU_NS_PER_OP" (monotonic clock and this thread's CPU time around
 * the loop only; CPU time is robust to other load on the machine but does not include work
 * done in other processes, such as a tracer's). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
static double now(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

extern char **environ;

static double rusage_cpu_ns(const struct rusage *ru)
{
    return ((double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec) * 1e9 +
           ((double)ru->ru_utime.tv_usec + (double)ru->ru_stime.tv_usec) * 1e3;
}

static double children_cpu_ns(double *minflt)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    *minflt = (double)ru.ru_minflt;
    return rusage_cpu_ns(&ru);
}

/* ---- spawnmix ---- */

enum { MIX_MAX = 5 };
struct mix {
    const char *name;
    char **envp;
    double *wall, *cpu, *flt;
};

/* environ without LD_PRELOAD and the RUNTRAIL_* variables, plus up to two given entries. */
static char **mix_env(const char *a, const char *b)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **e = calloc(n + 3, sizeof *e);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "RUNTRAIL_", 9))
            e[k++] = environ[i];
    if (a)
        e[k++] = (char *)a;
    if (b)
        e[k++] = (char *)b;
    return e;
}

static char *mix_var(const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *v = malloc(len);
    snprintf(v, len, "%s=%s", name, value);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v), and the mean of its fastest 95%. */
static double median_of(double *v, long n, double *trimmed_mean)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    long keep = n - n / 20;
    double sum = 0;
    for (long i = 0; i < keep; i++)
        sum += v[i];
    *trimmed_mean = keep ? sum / (double)keep : 0;
    return n ? v[n / 2] : 0;
}

/* preload host: see the mode list. */
static int host_costs(long n)
{
    double fault[5], sys[5], clk[5], tm;
    for (int r = 0; r < 5; r++) {
        char *m = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED)
            return 1;
        double t0 = now();
        for (long i = 0; i < n; i++)
            m[i * 4096] = 1;
        fault[r] = (now() - t0) / (double)n;
        munmap(m, (size_t)n * 4096);
        t0 = now();
        for (int i = 0; i < 20000; i++)
            syscall(SYS_getppid);
        sys[r] = (now() - t0) / 20000;
        t0 = now();
        for (int i = 0; i < 20000; i++)
            clock_ns(CLOCK_MONOTONIC);
        clk[r] = (now() - t0) / 20000;
    }
    printf("host %.0f %.0f %.1f\n", median_of(fault, 5, &tm), median_of(sys, 5, &tm),
           median_of(clk, 5, &tm));
    return 0;
}

static int spawnmix(long n, int argc, char **argv)
{
    typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                            const posix_spawnattr_t *, char *const[], char *const[]);
    /* libc's own posix_spawn: under `runtrail record` this program is preloaded too, and the
     * hook would put the interposer back into the plain and empty children's environment. */
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    spawn_fn spawn_real = libc ? (spawn_fn)dlsym(libc, "posix_spawn") : NULL;
    if (!spawn_real)
        return 1;
    const char *ring = getenv("RUNTRAIL_RING");
    char *ring_var = ring && *ring ? mix_var("RUNTRAIL_RING", ring) : NULL;
    struct mix m[MIX_MAX] = {{"plain", mix_env(NULL, NULL), 0, 0, 0},
                             {"empty", mix_env(mix_var("LD_PRELOAD", argv[4]), NULL), 0, 0, 0},
                             {"passthru", mix_env(mix_var("LD_PRELOAD", argv[5]), NULL), 0, 0, 0}};
    int count = 3;
    int dashes = 6;
    while (dashes < argc && strcmp(argv[dashes], "--"))
        dashes++;
    if (ring_var) {
        m[count++] = (struct mix){.name = "runtrail",
                                  .envp = mix_env(mix_var("LD_PRELOAD", argv[5]), ring_var)};
        if (dashes > 6 && *argv[6])
            m[count++] = (struct mix){.name = "ref",
                                      .envp = mix_env(mix_var("LD_PRELOAD", argv[6]), ring_var)};
    }
    for (int v = 0; v < count; v++) {
        m[v].wall = calloc((size_t)n, sizeof(double));
        m[v].cpu = calloc((size_t)n, sizeof(double));
        m[v].flt = calloc((size_t)n, sizeof(double));
    }
    char *nop[] = {argv[3], "nop", "-", "-", NULL};
    char **args = nop;
    if (dashes < argc) { /* PROG's own arguments: argv[dashes] becomes args[0] */
        args = &argv[dashes];
    }
    for (long i = 0; i < n; i++)
        for (int j = 0; j < count; j++) {
            /* Forward in even rounds, backward in odd ones, so that each variant follows each
             * of its neighbours as often: a recording start right after another one is
             * cheaper here (ref always after runtrail read 15 us less than itself placed
             * before it; docs/recorder.md, "Twentieth pass"). */
            int at = (int)(i % count);
            struct mix *x = &m[i & 1 ? (at - j + count) % count : (at + j) % count];
            pid_t pid;
            int st;
            struct rusage ru;
            /* argv[0] names the variant, so that the bundle's proc_start records say whose
             * start each was (tests/bench/preload.sh reads their durations) */
            args[0] = (char *)x->name;
            double t0 = now();
            if (spawn_real(&pid, argv[3], NULL, NULL, args, x->envp) != 0 ||
                wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return 1;
            x->wall[i] = now() - t0;
            x->cpu[i] = rusage_cpu_ns(&ru);
            x->flt[i] = (double)ru.ru_minflt;
        }
    for (int v = 0; v < count; v++) {
        double wmean, cmean, fmean;
        double wmed = median_of(m[v].wall, n, &wmean), cmed = median_of(m[v].cpu, n, &cmean);
        median_of(m[v].flt, n, &fmean);
        printf("spawnmix %s %.1f %.1f %.1f %.1f\n", m[v].name, wmed, cmed, cmean, fmean);
    }
    return 0;
}

#if defined(__x86_64__)
static long raw_syscall3(long nr, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}

static uint64_t fenced_tsc(void)
{
    __builtin_ia32_lfence();
    uint64_t t = __builtin_ia32_rdtsc();
    __builtin_ia32_lfence();
    return t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
#endif

/* preload pair N kill|open:FILE (see the top of the file). */
static int pair(long n, const char *what)
{
    bool open_ = !strncmp(what, "open:", 5);
    if (!open_ && strcmp(what, "kill"))
        return 2;
#if defined(__x86_64__)
    const char *file = open_ ? what + 5 : NULL;
    uint64_t *hooked = malloc((size_t)n * sizeof *hooked), *raw = malloc((size_t)n * sizeof *raw);
    if (!hooked || !raw || n < 4)
        return 1;
    pid_t self = getpid();
    double m0 = now();
    uint64_t k0 = fenced_tsc();
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            bool is_raw = ((long)k ^ i) & 1;
            uint64_t a = fenced_tsc();
            long r;
            if (open_)
                r = is_raw ? raw_syscall3(SYS_openat, AT_FDCWD, (long)file, O_RDONLY)
                           : openat(AT_FDCWD, file, O_RDONLY);
            else
                r = is_raw ? raw_syscall3(SYS_kill, self, 0, 0) : kill(self, 0);
            uint64_t b = fenced_tsc();
            if (r < 0)
                return 1;
            (is_raw ? raw : hooked)[i] = b - a;
            if (open_)
                raw_syscall3(SYS_close, r, 0, 0);
        }
    }
    double ns_per_tick = (now() - m0) / (double)(fenced_tsc() - k0);
    qsort(hooked, (size_t)n, sizeof *hooked, cmp_u64);
    qsort(raw, (size_t)n, sizeof *raw, cmp_u64);
    printf("pair %s", open_ ? "open" : "kill");
    for (int q = 1; q <= 3; q++) {
        long at = n * q / 4;
        printf(" %.1f", ((double)hooked[at] - (double)raw[at]) * ns_per_tick);
    }
    /* The mean of the middle half: finer than the quartiles, which move in steps of the
     * counter's resolution as this VM shows it (~10 ns here). */
    double sum = 0;
    for (long i = n / 4; i < n * 3 / 4; i++)
        sum += (double)hooked[i] - (double)raw[i];
    printf(" %.1f\n", sum / (double)(n * 3 / 4 - n / 4) * ns_per_tick);
    free(hooked);
    free(raw);
#else
    (void)n;
    printf("pair %s - - - -\n", open_ ? "open" : "kill");
#endif
    return 0;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    return sa;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "serve") && argc >= 4 && !strcmp(argv[3], "udp")) {
        int us = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sa = loopback(atoi(argv[2]));
        if (bind(us, (struct sockaddr *)&sa, sizeof sa))
            return 1;
        for (;;)
            pause();
    }
    if (!strcmp(mode, "serve")) {
        int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa = loopback(atoi(argv[2]));
        if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 4096))
            return 1;
        for (;;) {
            int c = accept(ls, NULL, NULL);
            if (c < 0)
                continue;
            close(c);
        }
    }
    if (!strcmp(mode, "nop"))
        return 0;
    if (argc < 4)
        return 2;
    long n = atol(argv[2]);
    double t0 = 0, t1 = 0, c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    if (!strcmp(mode, "open")) {
        t0 = now();
        for (long i = 0; i < n; i++) {
            int fd = openat(AT_FDCWD, argv[3], O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                return 1;
            close(fd);
        }
        t1 = now();
    } else if (!strcmp(mode, "connect")) {
        struct sockaddr_in sa = loopback(atoi(argv[3]));
        t0 = now();
        for (long i = 0; i < n; i++) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
                return 1;
            /* reset instead of TIME_WAIT: later runs must not find more ports in use */
            struct linger lg = {1, 0};
            setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(s);
        }
        t1 = now();
    } else if (!strcmp(mode, "write")) {
        struct sockaddr_in sa = loopback(atoi(argv[3]));
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
            return 1;
        char buf[64];
        memset(buf, 'x', sizeof buf);
        t0 = now();
        for (long i = 0; i < n; i++)
            if (write(s, buf, sizeof buf) != (ssize_t)sizeof buf)
                return 1;
        t1 = now();
        close(s);
    } else if (!strcmp(mode, "stat") || !strcmp(mode, "stat_rep")) {
        struct stat st;
        int want = !strcmp(mode, "stat") ? -1 : 0;
        t0 = now();
        for (long i = 0; i < n; i++)
            if (stat(argv[3], &st) != want)
                return 1;
        t1 = now();
    } else if (!strcmp(mode, "mixed")) {
        /* What a function does, per op: reads 8 files (openat, read, close), opens one TCP
         * connection (socket, connect, close) and writes 16 datagrams of 64 bytes on a
         * connected UDP socket. ARG: FILE:TCP_PORT:UDP_PORT. */
        char path[512];
        int tport = 0, uport = 0;
        if (sscanf(argv[3], "%511[^:]:%d:%d", path, &tport, &uport) != 3)
            return 2;
        struct sockaddr_in ta = loopback(tport), ua = loopback(uport);
        int us = socket(AF_INET, SOCK_DGRAM, 0);
        if (connect(us, (struct sockaddr *)&ua, sizeof ua) != 0)
            return 1;
        char buf[64];
        memset(buf, 'x', sizeof buf);
        t0 = now();
        for (long i = 0; i < n; i++) {
            for (int f = 0; f < 8; f++) {
                int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read(fd, buf, sizeof buf) < 0)
                    return 1;
                close(fd);
            }
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(s, (struct sockaddr *)&ta, sizeof ta) != 0)
                return 1;
            struct linger lg = {1, 0};
            setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(s);
            for (int w = 0; w < 16; w++)
                if (write(us, buf, sizeof buf) != (ssize_t)sizeof buf)
                    return 1;
        }
        t1 = now();
        close(us);
    } else if (!strcmp(mode, "kill")) {
        pid_t self = getpid();
        t0 = now();
        for (long i = 0; i < n; i++)
            if (kill(self, 0) != 0)
                return 1;
        t1 = now();
    } else if (!strcmp(mode, "pair")) {
        return pair(n, argv[3]);
    } else if (!strcmp(mode, "host")) {
        return host_costs(n);
    } else if (!strcmp(mode, "spawnmix")) {
        return argc < 6 ? 2 : spawnmix(n, argc, argv);
    } else if (!strcmp(mode, "spawn")) {
        char *args[] = {argv[3], "nop", "-", "-", NULL};
        double f0, f1;
        c0 = children_cpu_ns(&f0);
        t0 = now();
        for (long i = 0; i < n; i++) {
            pid_t pid;
            int st;
            if (posix_spawn(&pid, argv[3], NULL, NULL, args, environ) != 0 ||
                waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return 1;
        }
        t1 = now();
        double c1 = children_cpu_ns(&f1);
        printf("%s %.1f %.1f %.1f\n", mode, (t1 - t0) / (double)n, (c1 - c0) / (double)n,
               (f1 - f0) / (double)n);
        return 0;
    } else {
        return 2;
    }
    double c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    printf("%s %.1f %.1f\n", mode, (t1 - t0) / (double)n, (c1 - c0) / (double)n);
    return 0;
}
