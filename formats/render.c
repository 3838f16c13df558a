/* Renderings of events and META shared by the CLI and the viewer: an strace-like line per
 * event (arguments formatted by the RT_AF_* column of RT_OPS, errors as "-1 ENOENT (...)"),
 * and jansson objects for JSON Lines. Captured strings go through rt_escape_buf() in text and
 * through rt_json_bytes() in JSON, so hostile bytes never reach a terminal raw. */
#include "formats/render.h"
#include "formats/digest.h"
#include "formats/escape.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* A bounded text builder: n is the length the full text needs. */
struct out {
    char *buf;
    size_t cap, n;
};

static void addn(struct out *o, const char *s, size_t len)
{
    if (o->cap && o->n < o->cap - 1) {
        size_t room = o->cap - 1 - o->n;
        memcpy(o->buf + o->n, s, len < room ? len : room);
    }
    o->n += len;
}

static void adds(struct out *o, const char *s)
{
    addn(o, s, strlen(s));
}

static void addf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (w > 0)
        addn(o, tmp, (size_t)w < sizeof tmp ? (size_t)w : sizeof tmp - 1);
}

static void add_escaped(struct out *o, const char *s, size_t len)
{
    size_t room = o->cap && o->n < o->cap ? o->cap - o->n : 0;
    size_t need = rt_escape_buf(room ? o->buf + o->n : NULL, room, s, len, '"');
    o->n += need;
}

static void finish(struct out *o)
{
    if (o->cap)
        o->buf[o->n < o->cap - 1 ? o->n : o->cap - 1] = '\0';
}

const char *rt_render_errno_name(int err)
{
    if (err <= 0 || err > 4095)
        return NULL;
    return strerrorname_np(err);
}

struct flagname {
    long bit;
    const char *name;
};

static void add_bits(struct out *o, uint64_t v, const struct flagname *t, size_t nt, bool any)
{
    for (size_t i = 0; i < nt; i++) {
        if (t[i].bit && (v & (uint64_t)t[i].bit) == (uint64_t)t[i].bit) {
            addf(o, "%s%s", any ? "|" : "", t[i].name);
            v &= ~(uint64_t)t[i].bit;
            any = true;
        }
    }
    if (v || !any)
        addf(o, "%s%#" PRIx64, any ? "|" : "", v);
}

/* open(2) flags as the recording machine's kernel numbers them, one table per architecture
 * (never the viewing machine's <fcntl.h>): x86_64 and aarch64 share the generic values but
 * for O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE. O_TMPFILE includes O_DIRECTORY, so
 * it is listed before it; O_SYNC includes O_DSYNC. Values in octal, as in the kernel. */
#define RT_OFLAGS_COMMON(dir)                                                                      \
    {0100, "O_CREAT"}, {0200, "O_EXCL"}, {0400, "O_NOCTTY"}, {01000, "O_TRUNC"},                   \
        {02000, "O_APPEND"}, {04000, "O_NONBLOCK"},                                                \
    {                                                                                              \
        020000000 | (dir), "O_TMPFILE"                                                             \
    }

static const struct flagname oflags_x86_64[] = {
    RT_OFLAGS_COMMON(0200000), {0200000, "O_DIRECTORY"}, {0400000, "O_NOFOLLOW"},
    {02000000, "O_CLOEXEC"},   {04010000, "O_SYNC"},     {010000, "O_DSYNC"},
    {010000000, "O_PATH"},     {040000, "O_DIRECT"},     {01000000, "O_NOATIME"},
    {020000, "O_ASYNC"},       {0100000, "O_LARGEFILE"},
};

static const struct flagname oflags_aarch64[] = {
    RT_OFLAGS_COMMON(040000), {040000, "O_DIRECTORY"},  {0100000, "O_NOFOLLOW"},
    {02000000, "O_CLOEXEC"},  {04010000, "O_SYNC"},     {010000, "O_DSYNC"},
    {010000000, "O_PATH"},    {0200000, "O_DIRECT"},    {01000000, "O_NOATIME"},
    {020000, "O_ASYNC"},      {0400000, "O_LARGEFILE"},
};

enum rt_arch rt_arch_from_name(const char *name)
{
    if (name && (!strcmp(name, "aarch64") || !strcmp(name, "arm64")))
        return RT_ARCH_AARCH64;
    return RT_ARCH_X86_64;
}

static void add_oflags(struct out *o, int64_t v, enum rt_arch arch)
{
    uint64_t u = (uint64_t)v;
    static const char *const acc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
    adds(o, acc[u & 03]);
    u &= ~(uint64_t)03;
    if (!u)
        return;
    if (arch == RT_ARCH_AARCH64)
        add_bits(o, u, oflags_aarch64, sizeof oflags_aarch64 / sizeof oflags_aarch64[0], true);
    else
        add_bits(o, u, oflags_x86_64, sizeof oflags_x86_64 / sizeof oflags_x86_64[0], true);
}

static void add_socktype(struct out *o, int64_t v)
{
    static const struct flagname t[] = {{SOCK_NONBLOCK, "SOCK_NONBLOCK"},
                                        {SOCK_CLOEXEC, "SOCK_CLOEXEC"}};
    static const char *const names[] = {NULL,       "SOCK_STREAM",    "SOCK_DGRAM", "SOCK_RAW",
                                        "SOCK_RDM", "SOCK_SEQPACKET", "SOCK_DCCP"};
    uint64_t u = (uint64_t)v, base = u & 0xf;
    if (base < sizeof names / sizeof names[0] && names[base])
        adds(o, names[base]);
    else
        addf(o, "%" PRIu64, base);
    u &= ~(uint64_t)0xf;
    if (u)
        add_bits(o, u, t, 2, true);
}

static void add_family(struct out *o, int64_t v)
{
    switch (v) {
    case AF_UNSPEC:
        adds(o, "AF_UNSPEC");
        break;
    case AF_UNIX:
        adds(o, "AF_UNIX");
        break;
    case AF_INET:
        adds(o, "AF_INET");
        break;
    case AF_INET6:
        adds(o, "AF_INET6");
        break;
    case AF_NETLINK:
        adds(o, "AF_NETLINK");
        break;
    case AF_PACKET:
        adds(o, "AF_PACKET");
        break;
    default:
        addf(o, "%" PRId64, v);
    }
}

static void add_num(struct out *o, enum rt_argfmt fmt, int64_t v, enum rt_arch arch)
{
    switch (fmt) {
    case RT_AF_HEX:
        addf(o, "%#" PRIx64, (uint64_t)v);
        break;
    case RT_AF_OCT:
        addf(o, "0%" PRIo64, (uint64_t)v);
        break;
    case RT_AF_OFLAGS:
        add_oflags(o, v, arch);
        break;
    case RT_AF_AT_FD:
        if (v == AT_FDCWD)
            adds(o, "AT_FDCWD");
        else
            addf(o, "%" PRId64, v);
        break;
    case RT_AF_SIGNAL: {
        const char *name = v > 0 && v < 65 ? sigabbrev_np((int)v) : NULL;
        if (name)
            addf(o, "SIG%s", name);
        else
            addf(o, "%" PRId64, v);
        break;
    }
    case RT_AF_FAMILY:
        add_family(o, v);
        break;
    case RT_AF_SOCKTYPE:
        add_socktype(o, v);
        break;
    case RT_AF_PROTO: {
        static const char *const names[] = {"unknown", "tls", "http", "dns"};
        if (v >= 0 && v < 4)
            adds(o, names[v]);
        else
            addf(o, "%" PRId64, v);
        break;
    }
    case RT_AF_MARK: {
        static const char *const names[] = {NULL,    "invoke_start", "response",
                                            "error", "init",         "shutdown"};
        if (v > 0 && v < 6)
            adds(o, names[v]);
        else
            addf(o, "%" PRId64, v);
        break;
    }
    case RT_AF_NS: {
        char tmp[40];
        rt_render_ms(tmp, sizeof tmp, v);
        adds(o, tmp + (tmp[0] == '+'));
        break;
    }
    default:
        addf(o, "%" PRId64, v);
    }
}

size_t rt_render_num(char *buf, size_t cap, enum rt_argfmt fmt, int64_t v)
{
    return rt_render_num_arch(buf, cap, fmt, v, rt_arch_from_name(RT_HOST_ARCH));
}

size_t rt_render_num_arch(char *buf, size_t cap, enum rt_argfmt fmt, int64_t v, enum rt_arch arch)
{
    struct out o = {buf, cap, 0};
    add_num(&o, fmt, v, arch);
    finish(&o);
    return o.n;
}

size_t rt_render_ms(char *buf, size_t cap, int64_t ns)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    int w = snprintf(buf, cap, "%c%" PRIu64 ".%03" PRIu64 "ms", ns < 0 ? '-' : '+', a / 1000000,
                     a / 1000 % 1000);
    return w > 0 ? (size_t)w : 0;
}

size_t rt_render_wall(char *buf, size_t cap, int64_t wall_ns)
{
    time_t secs = (time_t)(wall_ns / 1000000000);
    long frac = (long)(wall_ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    struct tm tm;
    char date[40];
    if (!gmtime_r(&secs, &tm) || !strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(date, sizeof date, "%lld", (long long)secs);
    int w = snprintf(buf, cap, "%s.%09ldZ", date, frac);
    return w > 0 ? (size_t)w : 0;
}

static void add_str(struct out *o, enum rt_argfmt fmt, struct rt_str s)
{
    if (fmt != RT_AF_ARGV) {
        adds(o, "\"");
        add_escaped(o, s.ptr, s.len);
        adds(o, "\"");
        return;
    }
    adds(o, "[");
    const char *p = s.ptr ? s.ptr : ""; /* an absent argv: one empty argument, as an empty one */
    size_t start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || p[i] == '\0') {
            if (i == s.len && i == start && i > 0)
                break; /* trailing NUL */
            addf(o, "%s\"", start ? ", " : "");
            add_escaped(o, p + start, i - start);
            adds(o, "\"");
            start = i + 1;
        }
    }
    adds(o, "]");
}

size_t rt_render_event(char *buf, size_t cap, const struct rt_event *ev)
{
    return rt_render_event_arch(buf, cap, ev, rt_arch_from_name(RT_HOST_ARCH));
}

size_t rt_render_event_arch(char *buf, size_t cap, const struct rt_event *ev, enum rt_arch arch)
{
    struct out o = {buf, cap, 0};
    const struct rt_op_info *info = rt_op_info(ev->op);
    if (!info) {
        addf(&o, "op_%u(...) = %" PRId64, ev->op, ev->result);
        finish(&o);
        return o.n;
    }
    adds(&o, info->name);
    adds(&o, "(");
    bool first = true;
    /* strace order: directory fds first, then strings, then the other numbers */
    for (int pass = 0; pass < 3; pass++) {
        for (int k = 0; pass == 1 && k < RT_EVENT_STRS; k++) {
            if (info->str_fmt[k] == RT_AF_NONE)
                continue;
            adds(&o, first ? "" : ", ");
            add_str(&o, info->str_fmt[k], ev->str[k]);
            first = false;
        }
        for (int k = 0; pass != 1 && k < RT_EVENT_NUMS; k++) {
            enum rt_argfmt f = info->num_fmt[k];
            if (f == RT_AF_NONE || (pass == 0) != (f == RT_AF_AT_FD))
                continue;
            if (f == RT_AF_OCT && ev->num[k] == 0)
                continue; /* mode of an open without O_CREAT */
            adds(&o, first ? "" : ", ");
            if (f == RT_AF_BYTES || f == RT_AF_NS)
                addf(&o, "%s=", info->num_name[k]);
            add_num(&o, f, ev->num[k], arch);
            first = false;
        }
    }
    adds(&o, ")");
    int err = ev->result < 0 && ev->result >= -4095 ? (int)-ev->result : 0;
    const char *ename = rt_render_errno_name(err);
    if (ename)
        addf(&o, " = -1 %s (%s)", ename, strerror(err));
    else
        addf(&o, " = %" PRId64, ev->result);
    if (ev->dur_ns >= 1000)
        addf(&o, " <%" PRIu64 ".%03" PRIu64 "ms>", ev->dur_ns / 1000000, ev->dur_ns / 1000 % 1000);
    else if (ev->dur_ns)
        addf(&o, " <%" PRIu64 "ns>", ev->dur_ns);
    if (ev->flags) {
        adds(&o, " [");
        bool any = false;
        for (unsigned bit = 0; bit < 32; bit++) {
            if (!(ev->flags & (1u << bit)))
                continue;
            const char *name = rt_event_flag_name(bit);
            if (name)
                addf(&o, "%s%s", any ? "," : "", name);
            else
                addf(&o, "%sflag%u", any ? "," : "", bit);
            any = true;
        }
        adds(&o, "]");
    }
    finish(&o);
    return o.n;
}

/* ---- JSON ---- */

static bool valid_utf8_text(const unsigned char *s, size_t len)
{
    /* jansson refuses invalid UTF-8 and embedded NULs in json_stringn's text */
    for (size_t i = 0; i < len; i++)
        if (s[i] == 0)
            return false;
    json_t *t = json_stringn((const char *)s, len);
    bool ok = t != NULL;
    json_decref(t);
    return ok;
}

json_t *rt_json_bytes(const void *s, size_t len)
{
    if (!len)
        return json_string("");
    if (valid_utf8_text(s, len))
        return json_stringn(s, len);
    size_t need = rt_escape_buf(NULL, 0, s, len, 0);
    char *tmp = malloc(need + 1);
    if (!tmp)
        return NULL;
    rt_escape_buf(tmp, need + 1, s, len, 0);
    json_t *j = json_stringn(tmp, need);
    free(tmp);
    return j;
}

static json_t *json_argv(struct rt_str s)
{
    json_t *a = json_array();
    size_t start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.ptr[i] == '\0') {
            if (i == s.len && i == start && i > 0)
                break;
            json_array_append_new(a, rt_json_bytes(s.ptr + start, i - start));
            start = i + 1;
        }
    }
    return a;
}

/* Event flags as a JSON array of their names (an unnamed bit as its number). */
static json_t *flags_json(uint32_t flags)
{
    json_t *a = json_array();
    for (unsigned bit = 0; bit < 32; bit++) {
        if (!(flags & (1u << bit)))
            continue;
        const char *name = rt_event_flag_name(bit);
        json_array_append_new(a, name ? json_string(name) : json_integer(bit));
    }
    return a;
}

/* A uint64 as a JSON integer (jansson's are int64): a value past INT64_MAX, which only a
 * crafted bundle holds, shows as INT64_MAX rather than as a negative number. */
static json_t *json_u64(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *rt_json_event(const struct rt_event *ev)
{
    const struct rt_op_info *info = rt_op_info(ev->op);
    json_t *j = json_object();
    json_object_set_new(j, "record", json_string("event"));
    json_object_set_new(j, "ts_ns", json_integer(ev->ts_ns));
    json_object_set_new(j, "pid", json_integer(ev->pid));
    json_object_set_new(j, "tid", json_integer(ev->tid));
    json_object_set_new(j, "kind", json_string(info ? rt_kind_name(info->kind) : "unknown"));
    json_object_set_new(j, "op", info ? json_string(info->name) : json_integer(ev->op));
    json_object_set_new(j, "result", json_integer(ev->result));
    int err = ev->result < 0 && ev->result >= -4095 ? (int)-ev->result : 0;
    const char *ename = rt_render_errno_name(err);
    if (ename)
        json_object_set_new(j, "errno", json_string(ename));
    json_object_set_new(j, "dur_ns", json_u64(ev->dur_ns));
    json_object_set_new(j, "flags", flags_json(ev->flags));
    json_t *args = json_object();
    for (int k = 0; info && k < RT_EVENT_STRS; k++) {
        if (info->str_fmt[k] == RT_AF_NONE)
            continue;
        json_object_set_new(args, info->str_name[k],
                            info->str_fmt[k] == RT_AF_ARGV
                                ? json_argv(ev->str[k])
                                : rt_json_bytes(ev->str[k].ptr, ev->str[k].len));
    }
    for (int k = 0; info && k < RT_EVENT_NUMS; k++)
        if (info->num_fmt[k] != RT_AF_NONE)
            json_object_set_new(args, info->num_name[k], json_integer(ev->num[k]));
    json_object_set_new(j, "args", args);
    return j;
}

static void set_str(json_t *j, const char *key, const char *s)
{
    if (s)
        json_object_set_new(j, key, rt_json_bytes(s, strlen(s)));
}

json_t *rt_json_meta(const struct rt_bundle *b)
{
    const struct rt_meta *m = &b->meta;
    char hex[2 * RT_DIGEST_LEN + 1];
    json_t *j = json_object();
    json_object_set_new(j, "record", json_string("meta"));
    set_str(j, "function", m->function);
    set_str(j, "function_version", m->function_version);
    set_str(j, "function_arn", m->function_arn);
    set_str(j, "region", m->region);
    set_str(j, "runtime", m->runtime);
    set_str(j, "handler", m->handler);
    set_str(j, "request_id", m->request_id);
    set_str(j, "trace_id", m->trace_id);
    set_str(j, "caller", m->caller);
    set_str(j, "sandbox_id", m->sandbox_id);
    set_str(j, "recorder_version", m->recorder_version);
    set_str(j, "error_type", m->error_type);
    set_str(j, "command", m->command);
    set_str(j, "arch", m->arch);
    set_str(j, "hash_key_id", m->hash_key_id);
    set_str(j, "replay_of", m->replay_of);
    set_str(j, "access_key_id", m->access_key_id);
    json_object_set_new(j, "memory_mb", json_integer(m->memory_mb));
    json_object_set_new(j, "start_wall_ns", json_integer(m->start_wall_ns));
    json_object_set_new(j, "end_wall_ns", json_integer(m->end_wall_ns));
    json_object_set_new(j, "duration_ns", json_u64(m->duration_ns));
    json_object_set_new(j, "deadline_wall_ns", json_integer(m->deadline_wall_ns));
    json_object_set_new(j, "cold_start", json_boolean(m->cold_start));
    json_object_set_new(j, "status", json_string(rt_status_name(m->status)));
    json_object_set_new(j, "exit_status", json_integer(m->exit_status));
    json_object_set_new(j, "seq", json_u64(m->seq));
    json_object_set_new(j, "prev_digest",
                        m->has_prev ? json_string(rt_digest_hex(m->prev_digest, hex))
                                    : json_null());
    /* Written only when set: bundles from before these fields render as they always did. */
    if (m->chain_end)
        json_object_set_new(j, "chain_end",
                            json_string(m->chain_end == RT_CHAIN_END_LAST ? "last" : "more"));
    if (m->dropped_flags)
        json_object_set_new(j, "dropped_flags", flags_json(m->dropped_flags));
    if (m->recorder_cpu_ns)
        json_object_set_new(j, "recorder_cpu_ns", json_u64(m->recorder_cpu_ns));
    json_t *cov = json_array();
    if (m->coverage & RT_COV_PRELOAD)
        json_array_append_new(cov, json_string("preload"));
    if (m->coverage & RT_COV_PROXY)
        json_array_append_new(cov, json_string("proxy"));
    if (m->coverage & RT_COV_RECORD)
        json_array_append_new(cov, json_string("record"));
    if (m->coverage & RT_COV_PARTIAL)
        json_array_append_new(cov, json_string("partial"));
    json_object_set_new(j, "coverage", cov);
    json_t *ctr = json_object();
    for (unsigned i = 0; i < RT_CTR__COUNT; i++)
        if (m->counters[i])
            json_object_set_new(ctr, rt_counter_name(i), json_u64(m->counters[i]));
    json_object_set_new(j, "counters", ctr);
    json_object_set_new(j, "digest", json_string(rt_digest_hex(b->digest, hex)));
    json_object_set_new(j, "events", json_integer((json_int_t)b->n_events));
    json_object_set_new(j, "logs", json_integer((json_int_t)b->n_logs));
    json_object_set_new(j, "compressed_len", json_integer((json_int_t)b->compressed_len));
    json_object_set_new(j, "decompressed_len", json_integer((json_int_t)b->decompressed_len));
    return j;
}
