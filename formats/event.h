/* The behaviour event model: one record per intercepted call or observed fact. The list of
 * operations is one X-macro table (RT_OPS) that produces the enum, the names printed by
 * `show`, the JSON field names and the table in docs/format.md, so they cannot drift apart.
 *
 * Each event carries up to RT_EVENT_STRS strings and RT_EVENT_NUMS integers; the op's row
 * in RT_OPS names each slot, says how `show` renders it and what role it plays (the target
 * path, the peer, the host, the bytes, the program: RT_ROLES). Strings are binary-safe
 * (pointer + length): argv is stored as its elements joined by NUL bytes. */
#ifndef RUNTRAIL_FORMATS_EVENT_H
#define RUNTRAIL_FORMATS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_EVENT_STRS 3
#define RT_EVENT_NUMS 4

/* Event families ("kind" in the CLI and catalog). */
#define RT_KINDS(_)                                                                                \
    _(PROC, "proc")                                                                                \
    _(FILE, "file")                                                                                \
    _(NET, "net")                                                                                  \
    _(SEC, "sec")                                                                                  \
    _(MARK, "mark")                                                                                \
    _(LOG, "log")                                                                                  \
    _(AWS, "aws")

enum rt_kind {
#define _(id, name) RT_KIND_##id,
    RT_KINDS(_)
#undef _
        RT_KIND__COUNT
};

/* How `show` renders an argument slot. */
enum rt_argfmt {
    RT_AF_NONE = 0, /* slot unused */
    RT_AF_STR,      /* quoted, escaped string */
    RT_AF_ARGV,     /* NUL-separated list: ["a", "b"] */
    RT_AF_INT,      /* signed decimal */
    RT_AF_HEX,      /* 0x... */
    RT_AF_OCT,      /* 0644 */
    RT_AF_OFLAGS,   /* O_RDONLY|O_CLOEXEC... */
    RT_AF_AT_FD,    /* AT_FDCWD or a number */
    RT_AF_SIGNAL,   /* SIGKILL */
    RT_AF_FAMILY,   /* AF_INET */
    RT_AF_SOCKTYPE, /* SOCK_STREAM */
    RT_AF_BYTES,    /* byte count */
    RT_AF_NS,       /* nanoseconds, rendered as ms */
    RT_AF_PROTO,    /* enum rt_proto: tls, http, dns */
    RT_AF_MARK,     /* enum rt_mark: invoke_start, response, ... */
};

/* What a slot means, beyond how it is rendered: the catalog, analysis/ and the viewer find the
 * target path, the peer, the host, the bytes and the program of any event through these roles
 * instead of each keeping its own switch over ops. Columns: id, name, meaning (docs/format.md). */
#define RT_ROLES(_)                                                                                \
    _(NONE, "-", "shown, not interpreted")                                                         \
    _(PATH, "path", "the file the call acts on (rename, link: the old name; symlink: the target)") \
    _(PATH2, "path2", "the second file: the new name of rename and link, symlink's link path")     \
    _(PROGRAM, "program", "the program that runs: the exe of a process, the path of an exec")      \
    _(ARGV, "argv", "the program's arguments")                                                     \
    _(COMMAND, "command", "a shell command line (system, popen)")                                  \
    _(PEER, "peer", "the remote address, ip:port")                                                 \
    _(LOCAL, "local", "a local address, ip:port (bind, listen, what an inbound peer reached)")     \
    _(HOST, "host", "a host name: the DNS query, the TLS SNI or HTTP Host of a connection")        \
    _(HTTP, "http", "plaintext HTTP request line + Host + status line (inbound: or the SNI)")      \
    _(ANSWERS, "answers", "the addresses a DNS name resolved to")                                  \
    _(REQUEST_ID, "request_id", "an invocation's request id")                                      \
    _(BYTES_OUT, "bytes_out", "bytes the program sent")                                            \
    _(BYTES_IN, "bytes_in", "bytes the program received")                                          \
    _(FD, "fd", "a file descriptor number (AT_FDCWD for a directory fd)")                          \
    _(PID, "pid", "a process id")                                                                  \
    _(AWS_ACTION, "aws_action", "an AWS API action, service:Action (aws_call)")                    \
    _(RESOURCE, "resource", "the AWS resource a request names: bucket/key, table, queue URL, ARN") \
    _(CREDENTIAL, "credential", "the access key id that signed a request, /region (aws_call)")     \
    _(COUNT, "count", "how many calls one event stands for (probe_repeats)")

enum rt_role {
#define _(id, name, doc) RT_ROLE_##id,
    RT_ROLES(_)
#undef _
        RT_ROLE__COUNT
};

/* One argument slot of an op: how it is rendered (RT_AF_*), its field name in `show --json`,
 * and its role. RT_NOARG is an unused slot. RT_ARG_FMT/NAME/ROLE take a slot apart. */
#define RT_ARG(fmt, name, role) (RT_AF_##fmt, name, RT_ROLE_##role)
#define RT_NOARG (RT_AF_NONE, NULL, RT_ROLE_NONE)
#define RT_ARG_FMT_(fmt, name, role) fmt
#define RT_ARG_NAME_(fmt, name, role) name
#define RT_ARG_ROLE_(fmt, name, role) role
#define RT_ARG_FMT(slot) RT_ARG_FMT_ slot
#define RT_ARG_NAME(slot) RT_ARG_NAME_ slot
#define RT_ARG_ROLE(slot) RT_ARG_ROLE_ slot

/* Operations. Columns: id, kind, name, then the slots: strings s0..s2 and numbers n0..n3,
 * each RT_ARG(format, field name, role) or RT_NOARG. Result is always the call's return value
 * or -errno. Append only: the numeric value of an op is part of the bundle format
 * (docs/format.md). */
#define RT_OPS(_)                                                                                  \
    /* process */                                                                                  \
    _(PROC_START, PROC, "proc_start", RT_ARG(STR, "exe", PROGRAM), RT_ARG(ARGV, "argv", ARGV),     \
      RT_NOARG, RT_ARG(INT, "ppid", PID), RT_NOARG, RT_NOARG, RT_NOARG)                            \
    _(PROC_EXIT, PROC, "proc_exit", RT_NOARG, RT_NOARG, RT_NOARG, RT_ARG(INT, "status", NONE),     \
      RT_ARG(SIGNAL, "signal", NONE), RT_NOARG, RT_NOARG)                                          \
    _(EXEC, PROC, "execve", RT_ARG(STR, "path", PROGRAM), RT_ARG(ARGV, "argv", ARGV), RT_NOARG,    \
      RT_ARG(INT, "fd", FD), RT_NOARG, RT_NOARG, RT_NOARG)                                         \
    _(SPAWN, PROC, "posix_spawn", RT_ARG(STR, "path", PROGRAM), RT_ARG(ARGV, "argv", ARGV),        \
      RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG)                                            \
    _(FORK, PROC, "fork", RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG)    \
    _(SYSTEM, PROC, "system", RT_ARG(STR, "command", COMMAND), RT_NOARG, RT_NOARG, RT_NOARG,       \
      RT_NOARG, RT_NOARG, RT_NOARG)                                                                \
    _(POPEN, PROC, "popen", RT_ARG(STR, "command", COMMAND), RT_ARG(STR, "mode", NONE), RT_NOARG,  \
      RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG)                                                      \
    _(KILL, PROC, "kill", RT_NOARG, RT_NOARG, RT_NOARG, RT_ARG(INT, "pid", PID),                   \
      RT_ARG(SIGNAL, "sig", NONE), RT_NOARG, RT_NOARG)                                             \
    _(PRCTL, PROC, "prctl", RT_NOARG, RT_NOARG, RT_NOARG, RT_ARG(INT, "option", NONE),             \
      RT_ARG(HEX, "arg2", NONE), RT_NOARG, RT_NOARG)                                               \
    /* file */                                                                                     \
    _(OPEN, FILE, "openat", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                         \
      RT_ARG(AT_FD, "dirfd", FD), RT_ARG(OFLAGS, "flags", NONE), RT_ARG(OCT, "mode", NONE),        \
      RT_NOARG)                                                                                    \
    _(FOPEN, FILE, "fopen", RT_ARG(STR, "path", PATH), RT_ARG(STR, "mode", NONE), RT_NOARG,        \
      RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG)                                                      \
    _(UNLINK, FILE, "unlinkat", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                     \
      RT_ARG(AT_FD, "dirfd", FD), RT_ARG(HEX, "flags", NONE), RT_NOARG, RT_NOARG)                  \
    _(RENAME, FILE, "renameat", RT_ARG(STR, "old", PATH), RT_ARG(STR, "new", PATH2), RT_NOARG,     \
      RT_ARG(HEX, "flags", NONE), RT_NOARG, RT_NOARG, RT_NOARG)                                    \
    _(CHMOD, FILE, "chmod", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                         \
      RT_ARG(OCT, "mode", NONE), RT_NOARG, RT_NOARG, RT_NOARG)                                     \
    _(CHOWN, FILE, "chown", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                         \
      RT_ARG(INT, "uid", NONE), RT_ARG(INT, "gid", NONE), RT_NOARG, RT_NOARG)                      \
    _(MKDIR, FILE, "mkdir", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                         \
      RT_ARG(OCT, "mode", NONE), RT_NOARG, RT_NOARG, RT_NOARG)                                     \
    _(TRUNCATE, FILE, "truncate", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                   \
      RT_ARG(INT, "length", NONE), RT_NOARG, RT_NOARG, RT_NOARG)                                   \
    _(SYMLINK, FILE, "symlink", RT_ARG(STR, "target", PATH), RT_ARG(STR, "linkpath", PATH2),       \
      RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG)                                            \
    _(LINK, FILE, "link", RT_ARG(STR, "old", PATH), RT_ARG(STR, "new", PATH2), RT_NOARG, RT_NOARG, \
      RT_NOARG, RT_NOARG, RT_NOARG)                                                                \
    _(DLOPEN, FILE, "dlopen", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                       \
      RT_ARG(HEX, "flags", NONE), RT_NOARG, RT_NOARG, RT_NOARG)                                    \
    /* network */                                                                                  \
    _(SOCKET, NET, "socket", RT_NOARG, RT_NOARG, RT_NOARG, RT_ARG(FAMILY, "domain", NONE),         \
      RT_ARG(SOCKTYPE, "type", NONE), RT_ARG(INT, "protocol", NONE), RT_NOARG)                     \
    _(CONNECT, NET, "connect", RT_ARG(STR, "addr", PEER), RT_NOARG, RT_NOARG,                      \
      RT_ARG(INT, "fd", FD), RT_NOARG, RT_NOARG, RT_NOARG)                                         \
    _(BIND, NET, "bind", RT_ARG(STR, "addr", LOCAL), RT_NOARG, RT_NOARG, RT_ARG(INT, "fd", FD),    \
      RT_NOARG, RT_NOARG, RT_NOARG)                                                                \
    _(LISTEN, NET, "listen", RT_ARG(STR, "addr", LOCAL), RT_NOARG, RT_NOARG,                       \
      RT_ARG(INT, "fd", FD), RT_ARG(INT, "backlog", NONE), RT_NOARG, RT_NOARG)                     \
    _(ACCEPT, NET, "accept", RT_ARG(STR, "peer", PEER), RT_NOARG, RT_NOARG, RT_ARG(INT, "fd", FD), \
      RT_NOARG, RT_NOARG, RT_NOARG)                                                                \
    _(SENDTO, NET, "sendto", RT_ARG(STR, "addr", PEER), RT_NOARG, RT_NOARG, RT_ARG(INT, "fd", FD), \
      RT_ARG(BYTES, "bytes", BYTES_OUT), RT_NOARG, RT_NOARG)                                       \
    _(DNS, NET, "getaddrinfo", RT_ARG(STR, "name", HOST), RT_ARG(STR, "answers", ANSWERS),         \
      RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG, RT_NOARG)                                            \
    /* One summary per outbound connection: s0 "ip:port", s1 DNS name or TLS SNI, s2 the           \
     * plaintext HTTP request line + Host + status line; n0 bytes out, n1 bytes in, n2 the         \
     * protocol seen (enum rt_proto). */                                                           \
    _(OUTBOUND, NET, "outbound", RT_ARG(STR, "dest", PEER), RT_ARG(STR, "host", HOST),             \
      RT_ARG(STR, "http", HTTP), RT_ARG(BYTES, "bytes_out", BYTES_OUT),                            \
      RT_ARG(BYTES, "bytes_in", BYTES_IN), RT_ARG(PROTO, "proto", NONE), RT_ARG(INT, "fd", FD))    \
    /* security-relevant */                                                                        \
    _(SETID, SEC, "setuid", RT_ARG(STR, "call", NONE), RT_NOARG, RT_NOARG,                         \
      RT_ARG(INT, "id0", NONE), RT_ARG(INT, "id1", NONE), RT_ARG(INT, "id2", NONE), RT_NOARG)      \
    _(PTRACE, SEC, "ptrace", RT_NOARG, RT_NOARG, RT_NOARG, RT_ARG(INT, "request", NONE),           \
      RT_ARG(INT, "pid", PID), RT_NOARG, RT_NOARG)                                                 \
    _(MEMFD, SEC, "memfd_create", RT_ARG(STR, "name", NONE), RT_NOARG, RT_NOARG,                   \
      RT_ARG(HEX, "flags", NONE), RT_NOARG, RT_NOARG, RT_NOARG)                                    \
    /* invocation markers: s0 request id; n0 enum rt_mark */                                       \
    _(MARK, MARK, "mark", RT_ARG(STR, "request_id", REQUEST_ID), RT_ARG(STR, "detail", NONE),      \
      RT_NOARG, RT_ARG(MARK, "what", NONE), RT_NOARG, RT_NOARG, RT_NOARG)                          \
    /* a line the program wrote: s0 text; n0 stream (1 stdout, 2 stderr) */                        \
    _(LOG, LOG, "log", RT_ARG(STR, "text", NONE), RT_NOARG, RT_NOARG, RT_ARG(INT, "stream", NONE), \
      RT_NOARG, RT_NOARG, RT_NOARG)                                                                \
    /* network, appended: one summary per connection the program accepted (a bind shell, a         \
     * debug server), the numbers as in OUTBOUND: s0 the peer "ip:port", s1 the local              \
     * "ip:port" it reached; s2 the plaintext HTTP request line + Host + status line the           \
     * program answered, or the TLS SNI the client sent; n0 bytes out (the program's answers),     \
     * n1 bytes in, n2 the protocol seen (enum rt_proto). */                                       \
    _(INBOUND, NET, "inbound", RT_ARG(STR, "peer", PEER), RT_ARG(STR, "local", LOCAL),             \
      RT_ARG(STR, "request", HTTP), RT_ARG(BYTES, "bytes_out", BYTES_OUT),                         \
      RT_ARG(BYTES, "bytes_in", BYTES_IN), RT_ARG(PROTO, "proto", NONE), RT_ARG(INT, "fd", FD))    \
    /* AWS API calls, appended: one AWS API request signed with SigV4, seen in the plaintext of a  \
     * TLS connection (OpenSSL):  s0 "service:Action" ("s3:GetObject"; "service:unknown" when      \
     * the plaintext cannot be reached), s1 the resource the request names (bucket/key, table,     \
     * queue URL, ARN; empty when none), s2 "ACCESS_KEY_ID/region" from the credential scope;      \
     * n0 the HTTP status of the answer (0: none seen), n1 the fd. Never the signature, the        \
     * security token or a body. */                                                                \
    _(AWS_CALL, AWS, "aws_call", RT_ARG(STR, "action", AWS_ACTION),                                \
      RT_ARG(STR, "resource", RESOURCE), RT_ARG(STR, "credential", CREDENTIAL),                    \
      RT_ARG(INT, "status", NONE), RT_ARG(INT, "fd", FD), RT_NOARG, RT_NOARG)                      \
    /* probes, appended: the stat family (stat, lstat, fstatat, statx, __xstat...): n1 the         \
     * AT_* flags (lstat: AT_SYMLINK_NOFOLLOW), n2 the file's st_mode when it succeeded */         \
    _(STAT, FILE, "stat", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                           \
      RT_ARG(AT_FD, "dirfd", FD), RT_ARG(HEX, "flags", NONE), RT_ARG(OCT, "mode", NONE), RT_NOARG) \
    /* access, faccessat, eaccess/euidaccess (flags AT_EACCESS): n1 F_OK 0, or R_OK 4|W_OK 2|X_OK  \
     * 1 */                                                                                        \
    _(ACCESS, FILE, "access", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                       \
      RT_ARG(AT_FD, "dirfd", FD), RT_ARG(INT, "mode", NONE), RT_ARG(HEX, "flags", NONE), RT_NOARG) \
    /* readlink, readlinkat: s1 what the link points to (the bytes read) */                        \
    _(READLINK, FILE, "readlink", RT_ARG(STR, "path", PATH), RT_ARG(STR, "target", NONE),          \
      RT_NOARG, RT_ARG(AT_FD, "dirfd", FD), RT_NOARG, RT_NOARG, RT_NOARG)                          \
    /* chdir (n0 -1) and fchdir (n0 the descriptor, s0 the directory it names) */                  \
    _(CHDIR, FILE, "chdir", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG, RT_ARG(INT, "fd", FD),  \
      RT_NOARG, RT_NOARG, RT_NOARG)                                                                \
    /* fdopendir: a directory stream on an open descriptor; s0 the directory it names */           \
    _(FDOPENDIR, FILE, "fdopendir", RT_ARG(STR, "path", PATH), RT_NOARG, RT_NOARG,                 \
      RT_ARG(INT, "fd", FD), RT_NOARG, RT_NOARG, RT_NOARG)                                         \
    /* successful probes (stat, access, readlink) a process repeated with the same path and        \
     * result and did not record again: n0 how many, written at its exit (docs/recorder.md) */     \
    _(PROBE_REPEATS, PROC, "probe_repeats", RT_NOARG, RT_NOARG, RT_NOARG,                          \
      RT_ARG(INT, "count", COUNT), RT_NOARG, RT_NOARG, RT_NOARG)                                   \
    /* io_uring_setup through syscall(2): the process's I/O through the ring is not recorded       \
     * (flag partly_covered); n0 entries, n1 the IORING_SETUP_* flags */                           \
    _(IO_URING, SEC, "io_uring_setup", RT_NOARG, RT_NOARG, RT_NOARG, RT_ARG(INT, "entries", NONE), \
      RT_ARG(HEX, "flags", NONE), RT_NOARG, RT_NOARG)

enum rt_op {
#define _(id, kind, name, s0, s1, s2, n0, n1, n2, n3) RT_OP_##id,
    RT_OPS(_)
#undef _
        RT_OP__COUNT
};

/* Event flags: what a responder should notice, and how the event was observed. */
#define RT_EVENT_FLAGS(_)                                                                          \
    _(ENVIRON_READ, 0, "environ_read")  /* read of /proc/PID/environ */                            \
    _(MEM_READ, 1, "mem_read")          /* open of /proc/PID/mem */                                \
    _(EXEC_TMP, 2, "exec_tmp")          /* exec of a file under /tmp */                            \
    _(EXEC_MEMFD, 3, "exec_memfd")      /* exec from a memfd */                                    \
    _(LISTENING, 4, "listening")        /* a listening socket */                                   \
    _(NOT_COVERED, 5, "not_covered")    /* the child cannot be traced (static binary) */           \
    _(OUTSIDE, 6, "outside_invocation") /* happened outside any invocation's window */             \
    _(PRIVILEGE, 7, "privilege")        /* setuid family, ptrace */                                \
    _(CREATE, 8, "create")              /* the call created the file */                            \
    _(STILL_OPEN, 9, "still_open")      /* connection summary taken while it was open: partial */  \
    _(PARTLY_COVERED, 10, "partly_covered") /* from here on the process does I/O the recorder      \
                                               cannot see (io_uring) */                            \
    _(SAMPLED, 11, "sampled") /* seen by the extension sampling /proc (a process the interposer    \
                                 cannot enter): a coarse view, short-lived things may be missed */

enum rt_event_flag {
#define _(id, bit, name) RT_EF_##id = 1u << (bit),
    RT_EVENT_FLAGS(_)
#undef _
};

/* Protocols identified on a connection (OUTBOUND and INBOUND n2). */
enum rt_proto { RT_PROTO_UNKNOWN = 0, RT_PROTO_TLS = 1, RT_PROTO_HTTP = 2, RT_PROTO_DNS = 3 };

/* Invocation markers (MARK n0). */
enum rt_mark {
    RT_MARK_INVOKE_START = 1,
    RT_MARK_RESPONSE = 2,
    RT_MARK_ERROR = 3,
    RT_MARK_INIT = 4,
    RT_MARK_SHUTDOWN = 5,
};

/* A string slot: binary-safe. ptr may be NULL only when len is 0. */
struct rt_str {
    const char *ptr;
    size_t len;
};

struct rt_event {
    int64_t ts_ns;   /* monotonic offset from the invocation (or record) start; may be < 0 */
    uint64_t dur_ns; /* duration of the call */
    int32_t pid, tid;
    uint16_t op;    /* enum rt_op */
    uint32_t flags; /* RT_EF_* */
    int64_t result; /* return value, or -errno on failure */
    struct rt_str str[RT_EVENT_STRS];
    int64_t num[RT_EVENT_NUMS];
};

struct rt_op_info {
    const char *name;
    enum rt_kind kind;
    enum rt_argfmt str_fmt[RT_EVENT_STRS];
    const char *str_name[RT_EVENT_STRS];
    enum rt_argfmt num_fmt[RT_EVENT_NUMS];
    const char *num_name[RT_EVENT_NUMS];
    enum rt_role str_role[RT_EVENT_STRS];
    enum rt_role num_role[RT_EVENT_NUMS];
};

/* Table lookup; NULL for an op outside the table. */
const struct rt_op_info *rt_op_info(unsigned op);
/* "proc", "file", ...; NULL if out of range. */
const char *rt_kind_name(unsigned kind);
/* Reverse lookups; return -1 when the name is unknown. */
int rt_kind_from_name(const char *name);
int rt_op_from_name(const char *name);
/* Name of event flag bit `bit` (0..31), e.g. "environ_read"; NULL if the bit is not defined. */
const char *rt_event_flag_name(unsigned bit);

/* Roles (RT_ROLES): "path", "peer", ...; NULL if out of range. rt_role_doc: its meaning. */
const char *rt_role_name(unsigned role);
const char *rt_role_doc(unsigned role);
/* The string (number) slot of op that has role, or -1 when the op has no such slot. */
int rt_op_str_slot(unsigned op, enum rt_role role);
int rt_op_num_slot(unsigned op, enum rt_role role);
/* The string in role `role` of ev; {NULL, 0} when its op has none (an empty string looks
 * the same: test .len). rt_event_has_str tells the two apart. */
struct rt_str rt_event_str(const struct rt_event *ev, enum rt_role role);
bool rt_event_has_str(const struct rt_event *ev, enum rt_role role);
/* Sets *out to the number in role `role` of ev and returns true; false (and *out untouched)
 * when its op has none. */
bool rt_event_num(const struct rt_event *ev, enum rt_role role, int64_t *out);
/* Shorthands: path i (0 the target path, 1 the second path), the peer or local address, the
 * host name, the HTTP line, the program (exe or exec path). Empty when the op has none. */
struct rt_str rt_event_path(const struct rt_event *ev, unsigned i);
struct rt_str rt_event_peer(const struct rt_event *ev);
struct rt_str rt_event_local(const struct rt_event *ev);
struct rt_str rt_event_host(const struct rt_event *ev);
struct rt_str rt_event_http(const struct rt_event *ev);
struct rt_str rt_event_program(const struct rt_event *ev);
/* Bytes sent (received) by the program, 0 when the op counts none. */
int64_t rt_event_bytes_out(const struct rt_event *ev);
int64_t rt_event_bytes_in(const struct rt_event *ev);

/* The order of events in a bundle: by time; at the same time, a connection's summary (stamped
 * with the connection's start) after the connect or accept that opened it. <0, 0 or >0. */
int rt_event_order(const struct rt_event *a, const struct rt_event *b);

#endif
