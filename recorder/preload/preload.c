/* libruntrail-preload.so core: resolves the central hook table (hooks.def rows in preload.h)
 * through dlsym(RTLD_NEXT), attaches to the ring named by RUNTRAIL_RING, records this
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

/* Bind dlsym to its oldest version so the library also loads on glibc < 2.34 (Amazon Linux
 * 2 runtimes), where dlsym lives in libdl. */
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");

#define _(fam, name, ret, params) rt_fn_##name rt_real_##name;
RT_HOOKS(_)
#undef _

struct hook_row {
    const char *name;
    void **slot;
};
static const struct hook_row hook_table[] = {
#define _(fam, name, ret, params) {#name, (void **)&rt_real_##name},
    RT_HOOKS(_)
#undef _
};

struct rt_producer rt_pl_ring;
int rt_pl_active;
int32_t rt_pl_pid;
RT_TLS int rt_pl_depth;
RT_TLS int32_t rt_pl_tid_cache;

void *rt_pl_resolve(const char *name, void **slot)
{
    int saved = errno;
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn)
        __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    errno = saved;
    if (!fn) {
        /* A libc without this symbol: the hook cannot pass through, fail like ENOSYS. */
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

void rt_pl_rec_init(struct rt_rec *rec, enum rt_op op, int64_t t0, int64_t result)
{
    memset(rec, 0, sizeof *rec);
    rec->op = (uint16_t)op;
    rec->ts_ns = t0;
    int64_t now = rt_pl_now();
    rec->dur_ns = now > t0 ? (uint64_t)(now - t0) : 0;
    rec->result = result;
}

void rt_pl_emit_simple(enum rt_op op, int64_t t0, int64_t result, const char *s0, int64_t n0,
                       int64_t n1, int64_t n2, uint32_t flags)
{
    struct rt_rec rec;
    rt_pl_rec_init(&rec, op, t0, result);
    rt_pl_str(&rec, 0, s0);
    rec.num[0] = n0;
    rec.num[1] = n1;
    rec.num[2] = n2;
    rec.flags = flags;
    rt_pl_emit(&rec);
}

void rt_pl_emit(struct rt_rec *rec)
{
    rt_pl_check_flush(); /* always inside a hook here */
    if (!rec->pid)
        rec->pid = rt_pl_pid;
    if (!rec->tid)
        rec->tid = rt_pl_tid();
    rt_producer_emit(&rt_pl_ring, rec);
}

static void atfork_child(void)
{
    rt_pl_pid = (int32_t)syscall(SYS_getpid);
    rt_pl_tid_cache = 0;
    rt_producer_forget_pages(&rt_pl_ring);
    rt_pl_net_fork_child();
}

static void record_start(int argc, char **argv)
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
    int64_t t = rt_pl_now();
    rt_pl_rec_init(&rec, RT_OP_PROC_START, t, 0);
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
    /* A symbol this libc lacks (renameat2 before 2.28...) stays NULL: no program on this libc
     * can call it, so its hook never runs. */
    for (size_t i = 0; i < sizeof hook_table / sizeof hook_table[0]; i++)
        if (!*hook_table[i].slot)
            *hook_table[i].slot = dlsym(RTLD_NEXT, hook_table[i].name);
    rt_pl_pid = (int32_t)syscall(SYS_getpid);
    const char *ring = getenv("RUNTRAIL_RING");
    const char *off = getenv("RUNTRAIL_DISABLE");
    if (ring && *ring && !(off && *off && strcmp(off, "0") != 0) &&
        rt_producer_attach(&rt_pl_ring, ring) == 0) {
        pthread_atfork(NULL, NULL, atfork_child);
        rt_pl_net_init();
        __atomic_store_n(&rt_pl_active, 1, __ATOMIC_RELEASE);
        record_start(argc, argv);
    }
    rt_pl_depth--;
    errno = saved;
}

static int exit_recorded;

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
    struct rt_rec rec;
    rt_pl_rec_init(&rec, RT_OP_PROC_EXIT, rt_pl_now(), 0);
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

static rt_main_fn real_main;

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
