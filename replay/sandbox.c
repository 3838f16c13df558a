/* The detonation sandbox of `runtrail replay`: the namespaces around the emulator, the
 * recorder and the function (replay/sandbox.h). Entered by a forked child before it starts
 * any thread: unshare(2) a user namespace with the caller's ids mapped to themselves, a mount
 * namespace, a pid namespace and (unless --net allow) a network namespace; then, with the
 * capabilities the new user namespace gives this process (and only it: the function is
 * exec'ed as the same unprivileged uid and loses them), it hides the host's /run behind a
 * tmpfs holding the replay's work folder, binds the work folder's tmp/ over /tmp, binds the
 * task root read-only at its own path, brings loopback up, and forks the pid namespace's
 * init, which mounts its own /proc. */
#include "replay/sandbox.h"

#include "formats/toolbox.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const net_names[] = {
#define _(id, name, doc) name,
    RT_NET_MODES(_)
#undef _
};

const char *rt_net_mode_name(enum rt_net_mode mode)
{
    return (unsigned)mode < sizeof net_names / sizeof net_names[0] ? net_names[mode] : "?";
}

int rt_net_mode_parse(const char *name)
{
    for (size_t i = 0; i < sizeof net_names / sizeof net_names[0]; i++)
        if (!strcmp(name, net_names[i]))
            return (int)i;
    return -1;
}

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = (ssize_t)strlen(text), n = write(fd, text, (size_t)len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n == len ? 0 : -1;
}

/* mkdir -p of path's parents (and of path itself when dir), as the sandbox sees them. */
static int make_path(const char *path, bool dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (dir)
        return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
    int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    close(fd);
    return 0;
}

/* Binds the object open as fd at path, read-only, keeping the flags the host mount had (a
 * user namespace may not drop nosuid/nodev/noexec of a mount it did not make). */
static int bind_ro(int fd, const char *path, bool dir, char *err, size_t cap)
{
    struct stat st;
    if (stat(path, &st) != 0 && make_path(path, dir) != 0)
        return rt_fail_errno(err, cap, "cannot make %s inside the sandbox", path);
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
    if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) != 0)
        return rt_fail_errno(err, cap, "cannot bind %s", path);
    struct statvfs sv;
    unsigned long keep = 0;
    if (statvfs(path, &sv) == 0) {
        keep |= sv.f_flag & ST_NOSUID ? MS_NOSUID : 0;
        keep |= sv.f_flag & ST_NODEV ? MS_NODEV : 0;
        keep |= sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0;
        keep |= sv.f_flag & ST_NOATIME ? MS_NOATIME : 0;
        keep |= sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0;
        keep |= sv.f_flag & ST_RELATIME ? MS_RELATIME : 0;
    }
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) != 0)
        return rt_fail_errno(err, cap, "cannot make %s read-only", path);
    return 0;
}

static int loopback_up(char *err, size_t cap)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return rt_fail_errno(err, cap, "cannot open a socket in the network namespace");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(s);
    errno = saved;
    return rc == 0 ? 0 : rt_fail_errno(err, cap, "cannot bring loopback up");
}

int rt_sandbox_enter(const struct rt_sandbox_spec *spec, char *err, size_t err_cap)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID;
    if (spec->net != RT_NET_ALLOW)
        flags |= CLONE_NEWNET;
    if (unshare(flags) != 0)
        return rt_fail_errno(err, err_cap, "cannot create user, mount, pid%s namespaces (unshare)",
                             spec->net != RT_NET_ALLOW ? " and network" : "");
    char map[64];
    if (write_text("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
        return rt_fail_errno(err, err_cap, "cannot write /proc/self/setgroups");
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (write_text("/proc/self/uid_map", map) != 0)
        return rt_fail_errno(err, err_cap, "cannot map uid %u in the user namespace",
                             (unsigned)uid);
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    if (write_text("/proc/self/gid_map", map) != 0)
        return rt_fail_errno(err, err_cap, "cannot map gid %u in the user namespace",
                             (unsigned)gid);

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return rt_fail_errno(err, err_cap, "cannot make the mounts private");
    /* Opened in the new mount namespace (a bind from another namespace's mount is refused),
     * before the private /tmp hides what lives under the host's. */
    int ro_fd[RT_SANDBOX_MAX_RO];
    bool ro_dir[RT_SANDBOX_MAX_RO];
    size_t n_ro = spec->n_ro < RT_SANDBOX_MAX_RO ? spec->n_ro : RT_SANDBOX_MAX_RO;
    for (size_t i = 0; i < n_ro; i++) {
        struct stat st;
        if ((ro_fd[i] = open(spec->ro_paths[i], O_PATH | O_CLOEXEC)) < 0 ||
            fstat(ro_fd[i], &st) != 0)
            return rt_fail_errno(err, err_cap, "%s", spec->ro_paths[i]);
        ro_dir[i] = S_ISDIR(st.st_mode);
    }
    int work_fd = open(spec->work_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (work_fd < 0)
        return rt_fail_errno(err, err_cap, "%s", spec->work_dir);

    if (mount("runtrail-replay", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
        return rt_fail_errno(err, err_cap, "cannot mount a tmpfs on /run");
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", work_fd);
    if (mkdir(RT_SANDBOX_WORK, 0700) != 0 ||
        mount(src, RT_SANDBOX_WORK, NULL, MS_BIND | MS_REC, NULL) != 0)
        return rt_fail_errno(err, err_cap, "cannot bind %s at %s", spec->work_dir, RT_SANDBOX_WORK);
    if (mount(RT_SANDBOX_WORK "/tmp", "/tmp", NULL, MS_BIND, NULL) != 0)
        return rt_fail_errno(err, err_cap, "cannot bind a private /tmp");
    for (size_t i = 0; i < n_ro; i++)
        if (bind_ro(ro_fd[i], spec->ro_paths[i], ro_dir[i], err, err_cap) != 0)
            return -1;
    for (size_t i = 0; i < n_ro; i++)
        close(ro_fd[i]);
    if (spec->resolv_conf && mount(spec->resolv_conf, "/etc/resolv.conf", NULL, MS_BIND, NULL))
        return rt_fail_errno(err, err_cap,
                             "cannot bind the sinkhole's resolver over /etc/resolv.conf");
    close(work_fd);
    if (spec->net != RT_NET_ALLOW && loopback_up(err, err_cap) != 0)
        return -1;

    pid_t init = fork();
    if (init < 0)
        return rt_fail_errno(err, err_cap, "cannot start the pid namespace's init (fork)");
    if (init > 0) { /* outside the pid namespace: wait for it, then go with its status */
        int status = 0;
        while (waitpid(init, &status, 0) < 0 && errno == EINTR)
            ;
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The sandbox's own /proc (its pids only). Where the host forbids it (a /proc with
     * masked paths), the host's stays: /proc/self still names the right process. */
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    return 0;
}
