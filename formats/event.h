/* The behaviour event model: one record per intercepted call or observed fact. The list of
 * operations is one X-macro table (RT_OPS) that produces the enum, the names printed by
 * `show`, the JSON field names and the table in docs/format.md, so they cannot drift apart.
 *
 * Each event carries up to RT_EVENT_STRS strings and RT_EVENT_NUMS integers; the op's row
 * in RT_OPS names each slot and says how `show` renders it. Strings are binary-safe
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
    _(LOG, "log")

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

/* Operations. Columns: id, kind, name, then (format, field name) for strings s0..s2 and
 * numbers n0..n3. Result is always the call's return value or -errno. Append only: the
 * numeric value of an op is part of the bundle format (docs/format.md). */
#define RT_OPS(_)                                                                                  \
    /* process */                                                                                  \
    _(PROC_START, PROC, "proc_start", RT_AF_STR, "exe", RT_AF_ARGV, "argv", RT_AF_NONE, NULL,      \
      RT_AF_INT, "ppid", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                     \
    _(PROC_EXIT, PROC, "proc_exit", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL,          \
      RT_AF_INT, "status", RT_AF_SIGNAL, "signal", RT_AF_NONE, NULL, RT_AF_NONE, NULL)             \
    _(EXEC, PROC, "execve", RT_AF_STR, "path", RT_AF_ARGV, "argv", RT_AF_NONE, NULL, RT_AF_INT,    \
      "fd", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                  \
    _(SPAWN, PROC, "posix_spawn", RT_AF_STR, "path", RT_AF_ARGV, "argv", RT_AF_NONE, NULL,         \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                      \
    _(FORK, PROC, "fork", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL,  \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                        \
    _(SYSTEM, PROC, "system", RT_AF_STR, "command", RT_AF_NONE, NULL, RT_AF_NONE, NULL,            \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                      \
    _(POPEN, PROC, "popen", RT_AF_STR, "command", RT_AF_STR, "mode", RT_AF_NONE, NULL, RT_AF_NONE, \
      NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                  \
    _(KILL, PROC, "kill", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT, "pid",  \
      RT_AF_SIGNAL, "sig", RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                     \
    _(PRCTL, PROC, "prctl", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,       \
      "option", RT_AF_HEX, "arg2", RT_AF_NONE, NULL, RT_AF_NONE, NULL)                             \
    /* file */                                                                                     \
    _(OPEN, FILE, "openat", RT_AF_STR, "path", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_AT_FD,    \
      "dirfd", RT_AF_OFLAGS, "flags", RT_AF_OCT, "mode", RT_AF_NONE, NULL)                         \
    _(FOPEN, FILE, "fopen", RT_AF_STR, "path", RT_AF_STR, "mode", RT_AF_NONE, NULL, RT_AF_NONE,    \
      NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                  \
    _(UNLINK, FILE, "unlinkat", RT_AF_STR, "path", RT_AF_NONE, NULL, RT_AF_NONE, NULL,             \
      RT_AF_AT_FD, "dirfd", RT_AF_HEX, "flags", RT_AF_NONE, NULL, RT_AF_NONE, NULL)                \
    _(RENAME, FILE, "renameat", RT_AF_STR, "old", RT_AF_STR, "new", RT_AF_NONE, NULL, RT_AF_HEX,   \
      "flags", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                               \
    _(CHMOD, FILE, "chmod", RT_AF_STR, "path", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_OCT,      \
      "mode", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                \
    _(CHOWN, FILE, "chown", RT_AF_STR, "path", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,      \
      "uid", RT_AF_INT, "gid", RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                 \
    _(MKDIR, FILE, "mkdir", RT_AF_STR, "path", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_OCT,      \
      "mode", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                \
    _(TRUNCATE, FILE, "truncate", RT_AF_STR, "path", RT_AF_NONE, NULL, RT_AF_NONE, NULL,           \
      RT_AF_INT, "length", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                   \
    _(SYMLINK, FILE, "symlink", RT_AF_STR, "target", RT_AF_STR, "linkpath", RT_AF_NONE, NULL,      \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                      \
    _(LINK, FILE, "link", RT_AF_STR, "old", RT_AF_STR, "new", RT_AF_NONE, NULL, RT_AF_NONE, NULL,  \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                        \
    _(DLOPEN, FILE, "dlopen", RT_AF_STR, "path", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_HEX,    \
      "flags", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                               \
    /* network */                                                                                  \
    _(SOCKET, NET, "socket", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_FAMILY,   \
      "domain", RT_AF_SOCKTYPE, "type", RT_AF_INT, "protocol", RT_AF_NONE, NULL)                   \
    _(CONNECT, NET, "connect", RT_AF_STR, "addr", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,   \
      "fd", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                  \
    _(BIND, NET, "bind", RT_AF_STR, "addr", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT, "fd",   \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                        \
    _(LISTEN, NET, "listen", RT_AF_STR, "addr", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,     \
      "fd", RT_AF_INT, "backlog", RT_AF_NONE, NULL, RT_AF_NONE, NULL)                              \
    _(ACCEPT, NET, "accept", RT_AF_STR, "peer", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,     \
      "fd", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                  \
    _(SENDTO, NET, "sendto", RT_AF_STR, "addr", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,     \
      "fd", RT_AF_BYTES, "bytes", RT_AF_NONE, NULL, RT_AF_NONE, NULL)                              \
    _(DNS, NET, "getaddrinfo", RT_AF_STR, "name", RT_AF_STR, "answers", RT_AF_NONE, NULL,          \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                      \
    /* One summary per outbound connection: s0 "ip:port", s1 DNS name or TLS SNI, s2 the           \
     * plaintext HTTP request line + Host + status line; n0 bytes out, n1 bytes in, n2 the         \
     * protocol seen (enum rt_proto). */                                                           \
    _(OUTBOUND, NET, "outbound", RT_AF_STR, "dest", RT_AF_STR, "host", RT_AF_STR, "http",          \
      RT_AF_BYTES, "bytes_out", RT_AF_BYTES, "bytes_in", RT_AF_PROTO, "proto", RT_AF_INT, "fd")    \
    /* security-relevant */                                                                        \
    _(SETID, SEC, "setuid", RT_AF_STR, "call", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,      \
      "id0", RT_AF_INT, "id1", RT_AF_INT, "id2", RT_AF_NONE, NULL)                                 \
    _(PTRACE, SEC, "ptrace", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT,      \
      "request", RT_AF_INT, "pid", RT_AF_NONE, NULL, RT_AF_NONE, NULL)                             \
    _(MEMFD, SEC, "memfd_create", RT_AF_STR, "name", RT_AF_NONE, NULL, RT_AF_NONE, NULL,           \
      RT_AF_HEX, "flags", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                    \
    /* invocation markers: s0 request id; n0 enum rt_mark */                                       \
    _(MARK, MARK, "mark", RT_AF_STR, "request_id", RT_AF_STR, "detail", RT_AF_NONE, NULL,          \
      RT_AF_MARK, "what", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                    \
    /* a line the program wrote: s0 text; n0 stream (1 stdout, 2 stderr) */                        \
    _(LOG, LOG, "log", RT_AF_STR, "text", RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_INT, "stream", \
      RT_AF_NONE, NULL, RT_AF_NONE, NULL, RT_AF_NONE, NULL)                                        \
    /* network, appended: one summary per connection the program accepted (a bind shell, a         \
     * debug server), the numbers as in OUTBOUND: s0 the peer "ip:port", s1 the local              \
     * "ip:port" it reached; s2 the plaintext HTTP request line + Host + status line the           \
     * program answered, or the TLS SNI the client sent; n0 bytes out (the program's answers),     \
     * n1 bytes in, n2 the protocol seen (enum rt_proto). */                                       \
    _(INBOUND, NET, "inbound", RT_AF_STR, "peer", RT_AF_STR, "local", RT_AF_STR, "request",        \
      RT_AF_BYTES, "bytes_out", RT_AF_BYTES, "bytes_in", RT_AF_PROTO, "proto", RT_AF_INT, "fd")

enum rt_op {
#define _(id, kind, name, f0, s0, f1, s1, f2, s2, g0, n0, g1, n1, g2, n2, g3, n3) RT_OP_##id,
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
    _(STILL_OPEN, 9, "still_open")      /* connection summary taken while it was open: partial */

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

#endif
