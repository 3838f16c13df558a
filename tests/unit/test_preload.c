/* Unit tests of the interposer driven through the consumer API: a program preloaded with
 * libruntrail-preload.so (built in $BUILD/lib) writes into a ring this test created; the test
 * snapshots the connection table mid-run (rt_ring_snapshot_conns, while the program sits idle
 * with both ends open) and checks that a keep-alive connection yields one OUTBOUND per
 * request with the bytes and HTTP lines of each (the first flagged still_open), and its
 * accepted end one INBOUND per request the same way; that a connection on fd 1500 is
 * summarised like any other; that connections beyond the connection table are counted as
 * untracked; and that without
 * RUNTRAIL_RING the same program records nothing and behaves the same. */
#include "recorder/preload/ring_layout.h"
#include "recorder/preload/ring_produce.h"
#include "recorder/ring.h"

#include <criterion/criterion.h>

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct summaries {
    int n;
    char http[4][256], local[4][64];
    int64_t out[4], in[4], fd[4];
    uint32_t flags[4];
};

/* The connection summaries: OUTBOUND (opened) and INBOUND (accepted). */
struct both {
    struct summaries out, in;
};

static void add(struct summaries *o, const struct rt_event *ev)
{
    if (o->n >= 4)
        return;
    snprintf(o->http[o->n], sizeof o->http[0], "%.*s", (int)ev->str[2].len,
             ev->str[2].ptr ? ev->str[2].ptr : "");
    snprintf(o->local[o->n], sizeof o->local[0], "%.*s", (int)ev->str[1].len,
             ev->str[1].ptr ? ev->str[1].ptr : "");
    o->out[o->n] = ev->num[0];
    o->in[o->n] = ev->num[1];
    o->fd[o->n] = ev->num[3];
    o->flags[o->n] = ev->flags;
    o->n++;
}

static void collect(const struct rt_event *ev, void *arg)
{
    struct both *b = arg;
    if (ev->op == RT_OP_OUTBOUND)
        add(&b->out, ev);
    else if (ev->op == RT_OP_INBOUND)
        add(&b->in, ev);
}

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

/* Creates a ring of `slots` for a test program at /tmp/rt-test-NAME-PID (path, cap 64). */
static struct rt_ring *test_ring(const char *name, size_t slots, char path[64])
{
    snprintf(path, 64, "/tmp/rt-test-%s-%d", name, (int)getpid());
    struct rt_ring *ring;
    struct rt_errinfo ei;
    cr_assert_eq(rt_ring_create(path, slots, &ring, &ei), RT_OK, "%s: %s", path, ei.detail);
    return ring;
}

/* Starts a program of tests/recorder/progs; returns its pid, fills the pipe ends. */
static pid_t start_prog(const char *name, const char *ring, int *to_child, int *from_child)
{
    int in[2], out[2];
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    char so[512], prog[512];
    snprintf(so, sizeof so, "%s/lib/libruntrail-preload.so", build_dir());
    snprintf(prog, sizeof prog, "%s/tests/recorder/%s", build_dir(), name);
    cr_assert_eq(access(so, R_OK), 0, "%s missing", so);
    cr_assert_eq(access(prog, X_OK), 0, "%s missing", prog);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        setenv("LD_PRELOAD", so, 1);
        if (ring)
            setenv("RUNTRAIL_RING", ring, 1);
        else
            unsetenv("RUNTRAIL_RING");
        execl(prog, prog, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *to_child = in[1];
    *from_child = out[0];
    return pid;
}

static pid_t start(const char *ring, int *to_child, int *from_child)
{
    return start_prog("keepalive", ring, to_child, from_child);
}

static void wait_ready(int fd)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 20000), 1, "program never got ready");
    char buf[16] = "";
    cr_assert_gt(read(fd, buf, sizeof buf - 1), 0);
    cr_assert_str_eq(buf, "ready\n");
}

static int finish(pid_t pid)
{
    int st = 0;
    for (int i = 0; i < 2000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    cr_assert_fail("program hung");
    return -1;
}

Test(preload, keepalive_connection_summarised_per_request, .timeout = 60)
{
    char path[64];
    struct rt_ring *ring = test_ring("preload", 1024, path);
    int to, from;
    pid_t pid = start(path, &to, &from);
    wait_ready(from);
    struct both b = {0};
    rt_ring_drain(ring, collect, &b);
    cr_assert_eq(b.out.n + b.in.n, 0, "nothing summarised before the request");
    /* The program is blocked reading stdin: nothing of it runs during the snapshot. */
    rt_ring_snapshot_conns(ring, collect, &b);
    cr_assert_eq(b.out.n, 1, "the open connection summarised at the snapshot, got %d", b.out.n);
    cr_assert_eq(b.in.n, 1, "the accepted end summarised at the snapshot, got %d", b.in.n);
    cr_assert(b.out.flags[0] & RT_EF_STILL_OPEN);
    cr_assert(b.in.flags[0] & RT_EF_STILL_OPEN);
    struct both again = {0};
    rt_ring_snapshot_conns(ring, collect, &again);
    cr_assert_eq(again.out.n + again.in.n, 0, "an idle connection is summarised once");
    cr_assert_eq(write(to, "x", 1), 1);
    cr_assert_eq(finish(pid), 0);
    rt_ring_drain_final(ring, 100, collect, &b);
    const struct summaries *i = &b.in, *o = &b.out;
    cr_assert_eq(o->n, 2, "one summary per request, got %d", o->n);
    cr_assert_str_eq(o->http[0], "GET /one HTTP/1.1\nHost: ka.test\nHTTP/1.1 200 OK");
    cr_assert_eq(o->out[0], 36);
    cr_assert_eq(o->in[0], 19);
    cr_assert_str_eq(o->http[1], "GET /two HTTP/1.1\nHost: ka.test\nHTTP/1.1 404 Not Found");
    cr_assert_eq(o->out[1], 36);
    cr_assert_eq(o->in[1], 26);
    cr_assert_eq(o->fd[0], o->fd[1]);
    cr_assert_eq(o->flags[1] & RT_EF_STILL_OPEN, 0, "closed before the end: a final summary");
    /* the accepted end: the request read, the status line written, the bytes mirrored */
    cr_assert_eq(i->n, 2, "one inbound summary per request, got %d", i->n);
    cr_assert_str_eq(i->http[0], "GET /one HTTP/1.1\nHost: ka.test\nHTTP/1.1 200 OK");
    cr_assert_eq(i->in[0], 36);
    cr_assert_eq(i->out[0], 19);
    cr_assert_str_eq(i->http[1], "GET /two HTTP/1.1\nHost: ka.test\nHTTP/1.1 404 Not Found");
    cr_assert_eq(i->in[1], 36);
    cr_assert_eq(i->out[1], 26);
    cr_assert_eq(i->fd[0], i->fd[1]);
    cr_assert_neq(i->fd[0], o->fd[0]);
    cr_assert(!strncmp(i->local[0], "127.0.0.1:", 10), "local address %s", i->local[0]);
    cr_assert_str_eq(i->local[0], i->local[1]);
    rt_ring_close(ring);
    unlink(path);
}

Test(preload, high_fd_connection_summarised, .timeout = 60)
{
    char path[64];
    struct rt_ring *ring = test_ring("highfd", 1024, path);
    int to, from;
    pid_t pid = start_prog("highfd", path, &to, &from);
    int rc = finish(pid);
    if (rc == 77) {
        rt_ring_close(ring);
        unlink(path);
        cr_skip_test("the hard fd limit is below 1501");
    }
    cr_assert_eq(rc, 0, "highfd exited %d", rc);
    struct both b = {0};
    rt_ring_drain_final(ring, 100, collect, &b);
    cr_assert_eq(b.out.n, 1, "one outbound summary, got %d", b.out.n);
    cr_assert_eq(b.out.fd[0], 1500);
    cr_assert_str_eq(b.out.http[0],
                     "POST /high HTTP/1.1\nHost: high.test\nHTTP/1.1 204 No Content");
    cr_assert_eq(b.out.out[0], 59);
    cr_assert_eq(b.out.in[0], 27);
    cr_assert_eq(b.out.flags[0] & RT_EF_STILL_OPEN, 0);
    cr_assert_eq(rt_ring_take_untracked(ring), 0);
    close(to);
    close(from);
    rt_ring_close(ring);
    unlink(path);
}

static void count_outbound(const struct rt_event *ev, void *arg)
{
    if (ev->op == RT_OP_OUTBOUND)
        (*(int *)arg)++;
}

Test(preload, connections_beyond_the_table_are_counted, .timeout = 60)
{
    char path[64];
    struct rt_ring *ring = test_ring("many", 4096, path);
    int to, from;
    pid_t pid = start_prog("manyconns", path, &to, &from);
    cr_assert_eq(finish(pid), 0);
    int n = 0;
    rt_ring_drain_final(ring, 100, count_outbound, &n);
    cr_assert_eq(n, RT_RING_CONNS, "one summary per entry of the table, got %d", n);
    cr_assert_eq(rt_ring_take_untracked(ring), 600 - RT_RING_CONNS);
    close(to);
    close(from);
    rt_ring_close(ring);
    unlink(path);
}

Test(preload, no_ring_is_pass_through, .timeout = 60)
{
    int to, from;
    pid_t pid = start(NULL, &to, &from);
    wait_ready(from);
    cr_assert_eq(write(to, "x", 1), 1);
    cr_assert_eq(finish(pid), 0);
}

/* ---- the pages of the interposer's data a process start touches (start.ld) ---- */

/* The interposer's writable segment (the read-write PT_LOAD: relocated data, .data, .bss) as
 * offsets from where the library is loaded: from, where its file bytes end (the loader writes
 * every page up to there: relocations, and the zeroing of .bss's start), and to. */
static void data_span(const char *so, uint64_t *from, uint64_t *file_end, uint64_t *to)
{
    FILE *f = fopen(so, "rb");
    cr_assert_not_null(f, "%s", so);
    Elf64_Ehdr eh;
    cr_assert_eq(fread(&eh, sizeof eh, 1, f), 1);
    *from = *file_end = *to = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        cr_assert_eq(fseek(f, (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize), SEEK_SET), 0);
        cr_assert_eq(fread(&ph, sizeof ph, 1, f), 1);
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W)) {
            *from = ph.p_vaddr;
            *file_end = ph.p_vaddr + ph.p_filesz;
            *to = ph.p_vaddr + ph.p_memsz;
        }
    }
    fclose(f);
    cr_assert_gt(*to, *file_end, "%s has no .bss", so);
}

/* Pages of the interposer's writable segment that process pid has touched (present in
 * /proc/pid/pagemap; smaps would also count the anonymous mappings the kernel merges after
 * .bss): *loader gets those the loader writes itself, the result is those beyond. */
static long data_pages(pid_t pid, const char *so, long *loader)
{
    uint64_t from, file_end, to, base = UINT64_MAX;
    data_span(so, &from, &file_end, &to);
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, off;
        if (strstr(line, "libruntrail-preload") &&
            sscanf(line, "%lx-%*x %*s %lx", &lo, &off) == 2 && off == 0 && lo < base)
            base = lo;
    }
    fclose(f);
    cr_assert_neq(base, UINT64_MAX, "the interposer is not mapped in %s", path);
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "%s", path);
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    long beyond = 0;
    *loader = 0;
    for (uint64_t a = (base + from) & ~(page - 1); a < base + to; a += page) {
        uint64_t entry = 0;
        cr_assert_eq(pread(fd, &entry, sizeof entry, (off_t)(a / page * 8)), 8);
        if (!(entry >> 63)) /* not present */
            continue;
        if (a < base + file_end)
            (*loader)++;
        else
            beyond++;
    }
    close(fd);
    return beyond;
}

/* Starts tests/recorder/progs/NAME (recording into ring, or pass-through when ring is NULL)
 * and returns how many pages of the interposer's data (its writable segment, .bss included) it
 * had touched once ready: those the loader writes and those beyond. */
static long prog_data_pages(const char *name, const char *ring)
{
    int to, from;
    pid_t pid = start_prog(name, ring, &to, &from);
    wait_ready(from);
    char so[512];
    snprintf(so, sizeof so, "%s/lib/libruntrail-preload.so", build_dir());
    long loader = 0, pages = data_pages(pid, so, &loader);
    cr_assert_geq(loader, 1, "the count sees the pages the loader writes (%ld)", loader);
    cr_assert_eq(write(to, "x", 1), 1);
    cr_assert_eq(finish(pid), 0);
    close(to);
    close(from);
    return loader + pages;
}

/* prog_data_pages of NAME recording into a ring of its own. */
static long recorded_data_pages(const char *name)
{
    char path[64];
    struct rt_ring *ring = test_ring("pages", 1024, path);
    long pages = prog_data_pages(name, path);
    rt_ring_close(ring);
    unlink(path);
    return pages;
}

/* What every process touches from its start sits first in .bss (start.ld), right after the
 * relocated data the loader writes anyway (one page: -z norelro): a process start touches two
 * pages of the interposer's data, recording or not. (Scattered through .bss, it took five
 * recording and four passing through; with the relocated data on a read-only page of its own,
 * three recording.) */
Test(preload, process_start_touches_few_data_pages, .timeout = 60)
{
    long recording = recorded_data_pages("idle");
    long passthru = prog_data_pages("idle", NULL);
    cr_assert_leq(recording, 2,
                  "a recorded process start touched %ld pages of the interposer's data", recording);
    cr_assert_leq(passthru, 2,
                  "a pass-through process start touched %ld pages of the interposer's data",
                  passthru);
}

/* A shell's search for a command (stats along its PATH) and its vfork and exec of it, recording,
 * touch one page of the interposer's data more than a start: the probe table's first page. The
 * probes' counters and the vfork child's note sit on the start's pages, and the table's first
 * touch is a write (five pages before: each counter's page and the table's were read first,
 * mapping the zero page, then faulted again to write). */
Test(preload, a_shell_search_and_exec_touch_one_page_more, .timeout = 60)
{
    long pages = recorded_data_pages("shell_like");
    cr_assert_leq(pages, 3,
                  "a shell's PATH search and exec touched %ld pages of the interposer's data",
                  pages);
}

/* The interposer's file is mapped in two pieces, code with its read-only data and the writable
 * data, and the loader writes one page of the second: each further mapping is one more mmap at
 * every process start (and an munmap at its exit), and a read-only piece of its own is one more
 * page fault, since the kernel's fault-around does not cross a mapping (recorder/module.mk:
 * -z noseparate-code, -z norelro; docs/recorder.md, "Ninth pass"). */
Test(preload, maps_its_file_in_two_pieces, .timeout = 60)
{
    int to, from;
    pid_t pid = start_prog("idle", NULL, &to, &from);
    wait_ready(from);
    char path[64], line[512], perms[8][8];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "libruntrail-preload") && n < 8 &&
            sscanf(line, "%*x-%*x %7s", perms[n]) == 1)
            n++;
    fclose(f);
    char so[512];
    snprintf(so, sizeof so, "%s/lib/libruntrail-preload.so", build_dir());
    long loader = 0;
    data_pages(pid, so, &loader);
    cr_assert_eq(write(to, "x", 1), 1);
    cr_assert_eq(finish(pid), 0);
    close(to);
    close(from);
    cr_assert_eq(n, 2, "the interposer's file is mapped in %d pieces, not 2 (the first %s)", n,
                 n ? perms[0] : "none");
    cr_assert_str_eq(perms[0], "r-xp");
    cr_assert_str_eq(perms[1], "rw-p");
    cr_assert_eq(loader, 1, "the loader wrote %ld pages of the interposer's data, not 1", loader);
}

/* ---- recorded times are CLOCK_MONOTONIC (TSC-derived or not) ---- */

#define CLOCK_CALLS 201 /* 200 kill + 1 accept, as tests/recorder/progs/clock.c prints them */

struct timed {
    int n;
    int64_t ts[CLOCK_CALLS], dur[CLOCK_CALLS];
};

static void collect_timed(const struct rt_event *ev, void *arg)
{
    struct timed *t = arg;
    if ((ev->op == RT_OP_KILL || ev->op == RT_OP_ACCEPT) && t->n < CLOCK_CALLS) {
        t->ts[t->n] = ev->ts_ns;
        t->dur[t->n] = (int64_t)ev->dur_ns;
        t->n++;
    }
}

#define QEMU_ARM64 "/usr/bin/qemu-aarch64"     /* Debian's qemu-user */
#define ARM64_SYSROOT "/usr/aarch64-linux-gnu" /* libc6-arm64-cross */

static int64_t ns_of(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, in ns: it moves only when the wall clock is stepped. The
 * narrowest of a few readings, so that a preemption between the two clocks is not a step. */
static int64_t wall_offset(void)
{
    int64_t best = 0, width = INT64_MAX;
    for (int i = 0; i < 5; i++) {
        int64_t m0 = ns_of(CLOCK_MONOTONIC), r = ns_of(CLOCK_REALTIME), m1 = ns_of(CLOCK_MONOTONIC);
        if (m1 - m0 < width) {
            width = m1 - m0;
            best = r - m0 - (m1 - m0) / 2;
        }
    }
    return best;
}

/* Runs tests/recorder/clock recording into a fresh ring (the arm64 build under qemu-aarch64
 * when arm64): the program's output (its brackets) into text, the recorded calls into *t;
 * *pair says whether the ring's creator wrote a clock pair, that is, let producers use the
 * counter (recorder/RING.md, "Time"). Returns how far the wall clock was stepped meanwhile. */
static int64_t run_clock(const char *tsc_env, bool arm64, struct timed *t, bool *pair, char *text,
                         size_t cap)
{
    char path[64], so[512], prog[512];
    const char *dir = arm64 ? "/arm64" : "";
    snprintf(so, sizeof so, "%s%s/lib/libruntrail-preload.so", build_dir(), dir);
    snprintf(prog, sizeof prog, "%s%s/tests/recorder/clock", build_dir(), dir);
    cr_assert_eq(access(prog, R_OK), 0, "%s missing", prog);
    if (arm64)
        cr_assert_eq(access(QEMU_ARM64, X_OK), 0,
                     QEMU_ARM64 " missing: bash scripts/deps.sh --test installs qemu-user");
    struct rt_ring *ring = test_ring("clock", 1024, path);
    struct rt_ring_header h;
    int rf = open(path, O_RDONLY);
    cr_assert_eq(pread(rf, &h, sizeof h, 0), (ssize_t)sizeof h);
    close(rf);
    *pair = h.clock_tsc != 0;
    int out[2];
    cr_assert_eq(pipe(out), 0);
    int64_t wall = wall_offset();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        setenv("RUNTRAIL_RING", path, 1);
        if (tsc_env)
            setenv("RUNTRAIL_TSC", tsc_env, 1);
        else
            unsetenv("RUNTRAIL_TSC");
        if (arm64) {
            /* the interposer goes into the emulated program, not into qemu itself */
            char pre[600];
            snprintf(pre, sizeof pre, "LD_PRELOAD=%s", so);
            unsetenv("LD_PRELOAD");
            setenv("QEMU_LD_PREFIX", ARM64_SYSROOT, 1);
            execl(QEMU_ARM64, QEMU_ARM64, "-E", pre, prog, (char *)NULL);
        } else {
            setenv("LD_PRELOAD", so, 1);
            execl(prog, prog, (char *)NULL);
        }
        _exit(127);
    }
    close(out[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(out[0], text + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    close(out[0]);
    text[len] = 0;
    cr_assert_eq(finish(pid), 0);
    int64_t stepped = wall_offset() - wall;
    *t = (struct timed){0};
    rt_ring_drain_final(ring, 100, collect_timed, t);
    rt_ring_close(ring);
    unlink(path);
    cr_assert_eq(t->n, CLOCK_CALLS, "recorded %d of the timed calls", t->n);
    return stepped;
}

/* run_clock, then each recorded call checked against the program's own brackets; returns the
 * counter rate an arm64 program printed (0 otherwise). Under qemu-user the arm64 counter is
 * the host's wall clock (qemu reads gettimeofday for CNTVCT_EL0), so a run during which the
 * wall clock was stepped (NTP, a VM's time sync) is run again: its durations are the step's,
 * not the interposer's. On arm64 hardware the counter is never stepped. */
static uint64_t check_times(const char *tsc_env, bool arm64, struct timed *t, bool *pair)
{
    static char text[65536];
    int64_t stepped = 0;
    for (int run = 0; run < 5; run++) {
        stepped = run_clock(tsc_env, arm64, t, pair, text, sizeof text);
        if (!arm64 || (stepped < 5000 && stepped > -5000))
            break;
        cr_log_warn("the wall clock was stepped %lld ns during a run under qemu: run again",
                    (long long)stepped);
    }
    /* The interposer turns counter stamps off if its conversion is off by more than 20 us. */
    const int64_t slack = 50 * 1000;
    const char *p = text;
    for (int i = 0; i < CLOCK_CALLS; i++) {
        long long a, b;
        int used = 0;
        cr_assert_eq(sscanf(p, "%lld %lld\n%n", &a, &b, &used), 2, "line %d of the output", i);
        p += used;
        cr_assert_geq(t->ts[i], a - slack, "call %d starts %lld ns before its bracket", i,
                      (long long)(a - t->ts[i]));
        cr_assert_leq(t->ts[i] + t->dur[i], b + slack,
                      "call %d ends %lld ns after its bracket (the wall clock stepped %lld ns)", i,
                      (long long)(t->ts[i] + t->dur[i] - b), (long long)stepped);
        if (i > 0)
            cr_assert_gt(t->ts[i], t->ts[i - 1], "the starts of one thread's calls grow");
    }
    cr_assert_geq(t->dur[CLOCK_CALLS - 1], 50 * 1000 * 1000,
                  "accept blocked ~100 ms, recorded %lld ns", (long long)t->dur[CLOCK_CALLS - 1]);
    unsigned long long hz = 0;
    if (arm64)
        cr_assert_eq(sscanf(p, "hz %llu", &hz), 1, "the counter rate after the calls: %s", p);
    return hz;
}

Test(preload, recorded_times_are_clock_monotonic, .timeout = 60)
{
    struct timed t;
    bool pair;
    check_times(NULL, false, &t, &pair);
}

Test(preload, recorded_times_without_tsc, .timeout = 60)
{
    struct timed t;
    bool pair;
    check_times("0", false, &t, &pair);
}

/* How many of the recorded durations are whole multiples of the counter's tick. */
static int whole_ticks(const struct timed *t, uint64_t tick_ns)
{
    int n = 0;
    for (int i = 0; i < t->n; i++)
        n += t->dur[i] % (int64_t)tick_ns == 0;
    return n;
}

/* The arm64 interposer, run under qemu-aarch64: it loads, records into this machine's ring, and
 * its times are CLOCK_MONOTONIC. Its counter (CNTVCT_EL0 at the rate CNTFRQ_EL0 states, from
 * the first event: ring_layout.h) is in use when the ring allows it, which shows in the
 * durations: each a whole number of ticks when the tick is a whole number of ns (16 ns under
 * Debian 12's qemu), and not so with RUNTRAIL_TSC=0, where they come from the clock. */
Test(preload, arm64_interposer_records_with_its_counter, .timeout = 60)
{
    struct timed t;
    bool pair;
    uint64_t hz = check_times(NULL, true, &t, &pair);
    cr_assert(hz >= 1000000, "CNTFRQ_EL0 %llu", (unsigned long long)hz);
    uint64_t tick = 1000000000ull / hz;
    if (1000000000ull % hz || tick < 2) {
        cr_log_warn("a counter tick of %.3f ns: counter stamps cannot be told from the clock's",
                    1e9 / (double)hz);
        return;
    }
    int whole = whole_ticks(&t, tick);
    /* A call whose thread had to re-read its anchor and could not (every try preempted) takes
     * its times from the clock: a few such calls on a loaded machine are no failure. */
    if (pair)
        cr_assert_geq(whole, CLOCK_CALLS - 10,
                      "%d of %d durations are whole %llu ns ticks: the counter was not used", whole,
                      CLOCK_CALLS, (unsigned long long)tick);
    else
        cr_assert_lt(whole, CLOCK_CALLS / 2,
                     "%d of %d durations are whole %llu ns ticks without a pair", whole,
                     CLOCK_CALLS, (unsigned long long)tick);
    check_times("0", true, &t, &pair);
    whole = whole_ticks(&t, tick);
    cr_assert_lt(whole, CLOCK_CALLS / 2,
                 "%d of %d durations are whole %llu ns ticks with RUNTRAIL_TSC=0", whole,
                 CLOCK_CALLS, (unsigned long long)tick);
}

/* ---- the hook table resolved in one pass, as dlsym(RTLD_NEXT) would (resolve.c) ---- */

/* Runs tests/recorder/resolve_check (with LD_PRELOAD=so when so is set) and returns its
 * output; asserts it exited 0. */
static void run_resolve_check(const char *so, char *out, size_t cap)
{
    char prog[512], cmd[1280];
    snprintf(prog, sizeof prog, "%s/tests/recorder/resolve_check", build_dir());
    cr_assert_eq(access(prog, X_OK), 0, "%s missing", prog);
    if (so)
        snprintf(cmd, sizeof cmd, "LD_PRELOAD='%s' '%s'", so, prog);
    else
        snprintf(cmd, sizeof cmd, "'%s'", prog);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "resolve_check (LD_PRELOAD=%s) failed:\n%s",
              so ? so : "", out);
}

/* Every name of the table (more than 80), none different, all found by the walk and, name by
 * name, from the saved tables; and four indirect functions of libc (strlen...), resolved by the
 * walk as dlsym resolves them. */
static void check_resolved(const char *out)
{
    unsigned names = 0, differ = 1, walk_left = 1, unresolved = 1;
    cr_assert_eq(sscanf(out, "names %u, differ %u, walk left %u, unresolved %u", &names, &differ,
                        &walk_left, &unresolved),
                 4, "%s", out);
    cr_assert_gt(names, 80, "%s", out);
    cr_assert_eq(differ, 0, "%s", out);
    cr_assert_eq(walk_left, 0, "%s", out);
    cr_assert_eq(unresolved, 0, "%s", out);
    /* Name by name, as the hooks resolve at their first call: all from the saved tables (the
     * objects up to libc), the same addresses. */
    const char *lazy = strstr(out, "\nlazy ");
    cr_assert_not_null(lazy, "%s", out);
    unsigned n_lazy = 0, lazy_differ = 1, from_saved = 0;
    cr_assert_eq(sscanf(lazy + 1, "lazy %u, differ %u, from the saved tables %u", &n_lazy,
                        &lazy_differ, &from_saved),
                 3, "%s", out);
    cr_assert_eq(n_lazy, names, "%s", out);
    cr_assert_eq(lazy_differ, 0, "%s", out);
    cr_assert_eq(from_saved, names, "%s", out);
    const char *ind = strstr(out, "\nindirect ");
    cr_assert_not_null(ind, "%s", out);
    unsigned n_ind = 0, ind_differ = 1, ind_left = 1;
    cr_assert_eq(
        sscanf(ind + 1, "indirect %u, differ %u, walk left %u", &n_ind, &ind_differ, &ind_left), 3,
        "%s", out);
    cr_assert_eq(n_ind, 4, "%s", out);
    cr_assert_eq(ind_differ, 0, "%s", out);
    cr_assert_eq(ind_left, 0, "%s", out);
}

/* Runs argv (argv[0] a path) with the interposer recording into a new ring, its output to
 * /dev/null; returns what it added to the ring header's process-change word. It must exit with
 * status. */
static uint32_t changes_announced(char *const argv[], int status)
{
    char path[64], so[512];
    snprintf(so, sizeof so, "%s/lib/libruntrail-preload.so", build_dir());
    struct rt_ring *ring = test_ring("procs", 1024, path);
    struct rt_producer view;
    cr_assert_eq(rt_producer_attach(&view, path), 0);
    cr_assert_eq(view.hdr->proc_gen, 0, "a new ring starts at 0");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        setenv("LD_PRELOAD", so, 1);
        setenv("RUNTRAIL_RING", path, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    cr_assert_eq(finish(pid), status, "%s ran through", argv[0]);
    uint32_t changes = __atomic_load_n(&view.hdr->proc_gen, __ATOMIC_ACQUIRE);
    rt_producer_detach(&view);
    rt_ring_close(ring);
    unlink(path);
    return changes;
}

/* A call that may start an image the interposer cannot enter announces itself in the ring
 * header's process-change word before it runs (RING.md "Process changes"): proc_ops makes
 * three (an exec of a file of no known format, which fails, in itself; an exec and an fexecve
 * of a static program in two of its children). Its forks, its posix_spawn of a dynamic
 * program, its system (a dynamic shell), its exec of a missing file and its static children
 * make none. Without them the /proc sampler would look for a static child only every 50 ms. */
Test(preload, process_changes_are_announced, .timeout = 60)
{
    char prog[512], stat_bin[512], dir[] = "/tmp/rt-test-procs.XXXXXX";
    snprintf(prog, sizeof prog, "%s/tests/recorder/proc_ops", build_dir());
    snprintf(stat_bin, sizeof stat_bin, "%s/tests/recorder/static_hello", build_dir());
    cr_assert_eq(access(prog, X_OK), 0, "%s missing", prog);
    cr_assert_eq(access(stat_bin, X_OK), 0, "%s missing", stat_bin);
    cr_assert_not_null(mkdtemp(dir));
    char *const argv[] = {prog, dir, stat_bin, NULL};
    uint32_t changes = changes_announced(argv, 5);
    char noexec[600];
    snprintf(noexec, sizeof noexec, "%s/noexec.sh", dir);
    unlink(noexec);
    rmdir(dir);
    cr_assert_eq(changes, 3, "process changes announced: %u", changes);
}

/* What a recorded `sh -c SCRIPT` announces (dash and bash exec each command through the exec
 * hook); the script must succeed. */
static uint32_t shell_changes(const char *script)
{
    char *const argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    return changes_announced(argv, 0);
}

/* Only the images the interposer cannot enter, or cannot see much of, are announced: a shell
 * running dynamic programs announces none (they record themselves), and one more for each Go
 * program (a "Go" ELF note: its system calls are its own) and each static one. */
Test(preload, only_uncovered_images_are_announced, .timeout = 60)
{
    char go[512], stat_bin[512], script[2048];
    snprintf(go, sizeof go, "%s/tests/recorder/go_noted", build_dir());
    snprintf(stat_bin, sizeof stat_bin, "%s/tests/recorder/static_hello", build_dir());
    cr_assert_eq(access(go, X_OK), 0, "%s missing", go);
    cr_assert_eq(access(stat_bin, X_OK), 0, "%s missing", stat_bin);
    uint32_t dynamic = shell_changes("/bin/true; /bin/true; true");
    cr_assert_eq(dynamic, 0, "dynamic programs: %u process changes announced", dynamic);
    snprintf(script, sizeof script, "/bin/true; %s; test $? = 6 && %s; test $? = 4", go, stat_bin);
    uint32_t mixed = shell_changes(script);
    cr_assert_eq(mixed, 2, "a Go and a static program among dynamic ones: %u announced", mixed);
}

Test(preload, hook_table_resolved_like_dlsym, .timeout = 60)
{
    char out[8192], so[512];
    /* Every hooked name: libc's default version (posix_spawn has two), found by the walk
     * alone on this glibc (none is an indirect function). */
    run_resolve_check(NULL, out, sizeof out);
    check_resolved(out);
    /* With the interposer preloaded after the program, its hooks are the next definitions. */
    snprintf(so, sizeof so, "%s/lib/libruntrail-preload.so", build_dir());
    run_resolve_check(so, out, sizeof out);
    check_resolved(out);
}
