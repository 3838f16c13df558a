/* libruntrail-preload.so core: resolves the central hook table (RT_HOOKS in preload.h)
 * in one pass over the later objects' symbol tables (resolve.c: what dlsym(RTLD_NEXT) would
 * return, without dlsym or libdl), attaches to the ring named by RUNTRAIL_RING, records this
 * process's start (exe, argv, ppid) from the constructor and its exit from main's return,
 * exit()/_exit() or the destructor. Without a usable ring every hook is a pass-through. */
#include "recorder/preload/preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define _(fam, name, ret, params) RT_PL_START rt_fn_##name rt_real_##name;
RT_HOOKS(_)
#undef _

RT_PL_START struct rt_pl_hot rt_pl_hot;
RT_TLS struct rt_pl_thread rt_pl_thread;

void *rt_pl_resolve(const char *name, void **slot)
{
    int saved = errno;
    if (!rt_pl_resolve_saved(name, slot))
        rt_pl_resolve_table(&name, &slot, 1);
    void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    errno = saved;
    if (!fn) {
        /* A libc without this symbol: the hook has no function to pass the call to and no
         * result that would be right for every caller. Only a program linked against a newer
         * libc than the one it runs on gets here, a program the loader would have refused to
         * start without the interposer: say so on stderr and abort. */
        static const char msg[] = "runtrail-preload: missing libc symbol\n";
        syscall(SYS_write, 2, msg, sizeof msg - 1);
        abort();
    }
    return fn;
}

size_t rt_pl_strlen(const char *s)
{
    size_t n = 0;
    if (s)
        while (s[n])
            n++;
    return n;
}

size_t rt_pl_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = 0;
    if (!cap)
        return 0;
    if (src)
        for (; src[n] && n + 1 < cap; n++)
            dst[n] = src[n];
    dst[n] = 0;
    return n;
}

size_t rt_pl_join_argv(char *const argv[], char *buf, size_t cap)
{
    size_t used = 0;
    if (!argv)
        return 0;
    for (size_t i = 0; argv[i] && used < cap; i++) {
        if (i > 0)
            buf[used++] = 0;
        for (const char *p = argv[i]; *p && used < cap; p++)
            buf[used++] = *p;
    }
    return used;
}

int32_t rt_pl_tid(void)
{
    if (!rt_pl_tid_cache)
        rt_pl_tid_cache = (int32_t)syscall(SYS_gettid);
    return rt_pl_tid_cache;
}

/* ---- time (preload.h) ---- */

#define CAL_NS (10 * 1000 * 1000LL)     /* the TSC rate is measured over at least this */
#define RECAL_NS (1000 * 1000 * 1000LL) /* and again this often (an ever longer baseline) */
#define ANCHOR_NS (1000 * 1000LL)       /* a thread re-reads its anchor this often */
#define PAIR_MAX_TICKS 20000            /* a (TSC, clock) pair read slower than this is retried */
#define PAIR_MAX_NS 10000               /* the same for a counter of stated rate (arm64) */
#define STEP_MAX_NS 10000               /* a thread's stamps never step back by less than this */

#define anchor_ns rt_pl_thread.anchor_ns
#define last_ts rt_pl_thread.last_ts
#define tsc_mult rt_pl_hot.tsc_mult
RT_PL_START static uint64_t base_tsc; /* the ring header's pair; 0 = TSC not usable */
RT_PL_START static int64_t base_mono;
RT_PL_START static int64_t cal_at; /* CLOCK_MONOTONIC of the last rate measurement */
RT_PL_START static int tsc_off;
RT_PL_START static uint64_t pair_max; /* ticks: a (counter, clock) pair read slower is retried */

void rt_pl_clock_init(const struct rt_ring_header *h, const char *tsc_env)
{
    base_tsc = h->clock_tsc;
    base_mono = h->clock_mono;
    if (!base_tsc || base_mono <= 0 || (tsc_env && !strcmp(tsc_env, "0")))
        tsc_off = 1;
    pair_max = PAIR_MAX_TICKS;
#if defined(__aarch64__)
    /* The rate is the architecture's (CNTFRQ_EL0), not measured: the counter is usable from
     * the first event, where x86-64 reads the clock for the ring's first 10 ms. 1 MHz .. 10
     * GHz (Arm's timers run at 1 GHz since Armv8.6, at tens of MHz before). */
    uint64_t hz = rt_ring_counter_hz();
    if (hz < 1000000 || hz > 10000000000ull)
        tsc_off = 1;
    else if (!tsc_off)
        tsc_mult = (uint64_t)((1000000000ull << 32) / hz);
    /* 20000 ticks would be 800 us of a 25 MHz timer: the same 10 us as on x86-64 instead */
    uint64_t ticks = hz / (1000000000 / PAIR_MAX_NS);
    pair_max = ticks > 8 ? ticks : 8;
#endif
}

#if defined(RT_RING_HAVE_COUNTER)
static inline uint64_t rdtsc(void)
{
    return rt_ring_counter();
}

/* A TSC value and CLOCK_MONOTONIC read together: the narrowest of up to 4 tries, enough once
 * one is narrower than pair_max / 8. False if every try was interrupted. */
static bool read_pair(uint64_t *tsc, int64_t *mono)
{
    return rt_ring_clock_pair(4, pair_max, pair_max / 8, tsc, mono);
}

static void clock_off(void)
{
    __atomic_store_n(&tsc_off, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&rt_pl_tsc_interval, 0, __ATOMIC_RELAXED);
}

/* The rate from the ring's creation to now (>= CAL_NS): 0 if too early or implausible. On
 * arm64 the rate is the architecture's (rt_pl_clock_init), never measured. */
static uint64_t measure_rate(uint64_t t, int64_t m)
{
#if defined(__aarch64__)
    (void)t;
    (void)m;
    return __atomic_load_n(&tsc_mult, __ATOMIC_RELAXED);
#endif
    int64_t dn = m - base_mono;
    if (dn < CAL_NS || t <= base_tsc)
        return 0;
    uint64_t mult = (uint64_t)(((unsigned __int128)dn << 32) / (t - base_tsc));
    /* 200 MHz .. 10 GHz */
    if (mult < (1ull << 32) / 10 || mult > (1ull << 32) * 5) {
        clock_off();
        return 0;
    }
    __atomic_store_n(&tsc_mult, mult, __ATOMIC_RELAXED);
    __atomic_store_n(&cal_at, m, __ATOMIC_RELAXED);
    return mult;
}

static inline int64_t ticks_ns(int64_t d, uint64_t mult)
{
    return (int64_t)(((__int128)d * (__int128)mult) >> 32);
}

/* The calling thread's anchor, read consistently even if a signal handler re-anchors. */
static inline void get_anchor(uint64_t *a, int64_t *n)
{
    do {
        *a = __atomic_load_n(&rt_pl_anchor_tsc, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        *n = anchor_ns;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    } while (*a != __atomic_load_n(&rt_pl_anchor_tsc, __ATOMIC_RELAXED));
}

static inline int64_t tsc_to_ns(uint64_t t)
{
    uint64_t a;
    int64_t n;
    get_anchor(&a, &n);
    if (!a) { /* not reached for this thread's own stamps */
        a = base_tsc;
        n = base_mono;
    }
    return n + ticks_ns((int64_t)(t - a), __atomic_load_n(&tsc_mult, __ATOMIC_RELAXED));
}
#endif

/* No TSC stamp now: no anchor yet, the anchor expired, or the TSC is not in use. */
int64_t rt_pl_stamp_slow(void)
{
#if defined(RT_RING_HAVE_COUNTER)
    if (__atomic_load_n(&tsc_off, __ATOMIC_RELAXED))
        return -1 - rt_pl_mono_ns(); /* the clock path: nothing else to look at */
    uint64_t t = 0, mult = __atomic_load_n(&tsc_mult, __ATOMIC_RELAXED);
    int64_t m = 0;
    if (!mult && !__atomic_load_n(&tsc_off, __ATOMIC_RELAXED)) {
        m = rt_pl_mono_ns(); /* too early to measure the rate: the clock alone */
        if (m - base_mono < CAL_NS)
            return -1 - m;
    }
    if (!__atomic_load_n(&tsc_off, __ATOMIC_RELAXED) && read_pair(&t, &m)) {
        uint64_t old;
        int64_t old_ns;
        get_anchor(&old, &old_ns);
        if (mult && old) {
            /* Where the old anchor says we are vs the clock: more than 20 us + 0.2% of the
             * time since off means the counter is not what the kernel counts with. (A
             * counter a few ticks behind on the CPU this thread moved to is no reason: the
             * difference is signed, and such a thread just re-anchors.) */
            int64_t since = m - old_ns;
            int64_t err = old_ns + ticks_ns((int64_t)(t - old), mult) - m;
            if (err > 20000 + since / 500 || -err > 20000 + since / 500) {
                clock_off();
                return -1 - m;
            }
        }
        if (!mult || m - __atomic_load_n(&cal_at, __ATOMIC_RELAXED) >= RECAL_NS) {
            uint64_t again = measure_rate(t, m);
            if (again)
                mult = again;
        }
        if (!mult || __atomic_load_n(&tsc_off, __ATOMIC_RELAXED))
            return -1 - m;
        __atomic_store_n(&rt_pl_anchor_tsc, 0, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        anchor_ns = m;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __atomic_store_n(&rt_pl_anchor_tsc, t, __ATOMIC_RELAXED);
        if (!__atomic_load_n(&rt_pl_tsc_interval, __ATOMIC_RELAXED))
            __atomic_store_n(&rt_pl_tsc_interval, (uint64_t)((ANCHOR_NS << 32) / (int64_t)mult),
                             __ATOMIC_RELAXED);
        uint64_t now = rdtsc();
        return now > t ? (int64_t)now : (int64_t)t;
    }
#endif
    return -1 - rt_pl_mono_ns();
}

int64_t rt_pl_stamp_ns(int64_t stamp)
{
#if defined(RT_RING_HAVE_COUNTER)
    if (stamp >= 0)
        return tsc_to_ns((uint64_t)stamp);
#endif
    return -1 - stamp;
}

/* A thread's starts only grow: a conversion a few ns behind the previous one (the rate
 * error over one anchor period) is moved just past it. */
static inline int64_t thread_order(int64_t ts)
{
    int64_t last = last_ts;
    if (ts <= last && last - ts <= STEP_MAX_NS)
        ts = last + 1;
    if (ts > last)
        last_ts = ts;
    return ts;
}

/* Every field but the times zero: field by field, since for 120 bytes gcc's memset is a
 * `rep stos` that costs ~10 ns to start on this path. */
static inline void rec_clear(struct rt_rec *rec)
{
    for (int i = 0; i < RT_RING_NNUM; i++)
        rec->num[i] = 0;
    rec->pid = rec->tid = 0;
    rec->flags = 0;
    rec->internal = 0;
    for (int i = 0; i < RT_RING_NSTR; i++) {
        rec->str[i] = NULL;
        rec->str_len[i] = 0;
    }
}

/* The record's start (CLOCK_MONOTONIC ns, ordered within the thread) and duration, from the
 * stamp t0 taken before the call. */
static inline __attribute__((always_inline)) void rec_times(struct rt_rec *rec, int64_t t0)
{
#if defined(RT_RING_HAVE_COUNTER)
    if (t0 >= 0) {
        uint64_t now = rdtsc();
        uint64_t d = now > (uint64_t)t0 ? now - (uint64_t)t0 : 0;
        rec->dur_ns =
            (uint64_t)(((unsigned __int128)d * __atomic_load_n(&tsc_mult, __ATOMIC_RELAXED)) >> 32);
        rec->ts_ns = thread_order(tsc_to_ns((uint64_t)t0));
        return;
    }
#endif
    int64_t ts = -1 - t0, now = rt_pl_mono_ns();
    rec->dur_ns = now > ts ? (uint64_t)(now - ts) : 0;
    rec->ts_ns = thread_order(ts);
}

void rt_pl_rec_init(struct rt_rec *rec, enum rt_op op, int64_t t0, int64_t result)
{
    rec_clear(rec);
    rec->op = (uint16_t)op;
    rec->result = result;
    rec_times(rec, t0);
}

void rt_pl_rec_init_ns(struct rt_rec *rec, enum rt_op op, int64_t t0_ns, int64_t result)
{
    rec_clear(rec);
    rec->op = (uint16_t)op;
    rec->result = result;
    rec->ts_ns = t0_ns;
    int64_t now = rt_pl_now();
    rec->dur_ns = now > t0_ns ? (uint64_t)(now - t0_ns) : 0;
}

void rt_pl_emit_simple(enum rt_op op, int64_t t0, int64_t result, const char *s0, int64_t n0,
                       int64_t n1, int64_t n2, uint32_t flags)
{
    /* The commonest record, on the path whose cost per event is the recorder's figure of
     * merit: written straight into the ring's cells, every field once, in one function
     * (rec_times and rt_producer_emit_short are inlined here). */
    struct rt_rec times;
    rec_times(&times, t0);
    rt_producer_emit_short(&rt_pl_ring, times.ts_ns, times.dur_ns, (uint16_t)op, result, n0, n1, n2,
                           rt_pl_pid, rt_pl_tid(), flags, s0);
}

void rt_pl_emit(struct rt_rec *rec)
{
    if (!rec->pid)
        rec->pid = rt_pl_pid;
    if (!rec->tid)
        rec->tid = rt_pl_tid();
    rt_producer_emit(&rt_pl_ring, rec);
}

static void atfork_child(void)
{
    rt_pl_pid = (int32_t)getpid();
    rt_pl_tid_cache = rt_pl_pid; /* a fork child's one thread: its tid is its pid */
    rt_producer_forget_pages(&rt_pl_ring);
    rt_pl_net_fork_child();
}

/* The start record spans the interposer's own start in this process: from the constructor's
 * entry (t0_ns, CLOCK_MONOTONIC) to the record, so that every bundle carries what the
 * interposer's start cost on the host it ran on (docs/format.md, proc_start). */
static void record_start(int argc, char **argv, int64_t t0_ns)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
    char args[2048];
    size_t alen = 0;
    for (int i = 0; argv && i < argc && argv[i] && alen < sizeof args; i++) {
        if (i > 0)
            args[alen++] = 0;
        for (const char *p = argv[i]; *p && alen < sizeof args; p++)
            args[alen++] = *p;
    }
    struct rt_rec rec;
    rt_pl_rec_init_ns(&rec, RT_OP_PROC_START, t0_ns, 0);
    rec.ts_ns = thread_order(rec.ts_ns);
    rt_pl_strn(&rec, 0, exe, n > 0 ? (size_t)n : 0);
    rt_pl_strn(&rec, 1, args, alen);
    rec.num[0] = (int64_t)getppid();
    rt_pl_emit(&rec);
}

__attribute__((constructor)) static void preload_init(int argc, char **argv, char **envp)
{
    (void)envp;
    int saved = errno;
    rt_pl_depth++;
    const char *ring = getenv("RUNTRAIL_RING");
    const char *off = getenv("RUNTRAIL_DISABLE");
    bool want = ring && *ring && !(off && *off && strcmp(off, "0") != 0);
    /* Where this process records, its start is timed from here (one clock read; the vDSO
     * pages it touches, the start record would touch anyway). A process that does not record
     * reads no clock. */
    int64_t t0_ns = want ? rt_pl_mono_ns() : 0;
    /* Each hook resolves its own name at its first call, from the tables saved here: most
     * processes call a few of the ~107 hooked functions. */
    rt_pl_resolve_init();
    /* libc's getpid, not the syscall hook, which would read rt_pl_hot first: a page whose
     * first touch is a read is faulted in twice (the zero page, then a copy to write). */
    rt_pl_pid = (int32_t)getpid();
    if (want && rt_producer_attach(&rt_pl_ring, ring) == 0) {
        rt_pl_clock_init(rt_pl_ring.hdr, getenv("RUNTRAIL_TSC"));
        pthread_atfork(NULL, NULL, atfork_child);
        rt_pl_net_init();
        __atomic_store_n(&rt_pl_active, 1, __ATOMIC_RELEASE);
        record_start(argc, argv, t0_ns);
    }
    rt_pl_depth--;
    errno = saved;
}

RT_PL_START static int exit_recorded;

void rt_pl_proc_exit(int status)
{
    if (!rt_pl_active)
        return;
    int32_t pid = rt_pl_pid;
    /* once per process image; a forked child has its own pid */
    if (__atomic_exchange_n(&exit_recorded, pid, __ATOMIC_ACQ_REL) == pid)
        return;
    int saved = errno;
    rt_pl_depth++;
    rt_pl_net_flush();
    rt_pl_probe_flush();
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_PROC_EXIT, rt_pl_stamp(), 0);
    rec.num[0] = status;
    rt_pl_emit(&rec);
    rt_pl_depth--;
    errno = saved;
}

__attribute__((destructor)) static void preload_fini(void)
{
    /* Reached when exit happened inside libc (no hook saw it): status unknown. */
    rt_pl_proc_exit(-1);
}

/* ---- main's return value: wrap main through __libc_start_main ---- */

RT_PL_START static rt_main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
    int rc = real_main(argc, argv, envp);
    rt_pl_proc_exit(rc & 0xff);
    return rc;
}

RT_EXPORT int __libc_start_main(rt_main_fn main, int argc, char **argv, void (*init)(void),
                                void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    real_main = main;
    return REAL(__libc_start_main)(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}
