/* Behaviour keys: the rules of RT_NORM_RULES applied to the events of a bundle. Processes are
 * followed through proc_start, fork and execve so that a pid becomes its place in the process
 * tree; strings go through the pattern rules; the key is printable (escaped) text. */
#include "analysis/keys.h"
#include "formats/escape.h"
#include "formats/toolbox.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rt_norm_rule_info rules[] = {
#define _(id, name, applies, replacement, doc) [RT_NORM_##id] = {name, applies, replacement, doc},
    RT_NORM_RULES(_)
#undef _
};

const struct rt_norm_rule_info *rt_norm_rule_info(unsigned rule)
{
    return rule < RT_NORM__COUNT ? &rules[rule] : NULL;
}

/* ---- string rules ---- */

struct text {
    const char *s;
    size_t len;
    const char *request_id;
    size_t request_id_len;
};

static bool is_word(unsigned char c)
{
    return isalnum(c) || c == '_';
}

static bool is_hex(unsigned char c)
{
    return isxdigit(c) != 0;
}

/* Not inside a word: the characters on both sides of [i, i+n) are not letters or digits. */
static bool standalone(const struct text *t, size_t i, size_t n)
{
    return (i == 0 || !isalnum((unsigned char)t->s[i - 1])) &&
           (i + n >= t->len || !isalnum((unsigned char)t->s[i + n]));
}

static size_t match_request_id(const struct text *t, size_t i)
{
    size_t n = t->request_id_len;
    if (n && i + n <= t->len && !memcmp(t->s + i, t->request_id, n))
        return n;
    return 0;
}

static size_t match_uuid(const struct text *t, size_t i)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    size_t p = i;
    for (size_t g = 0; g < 5; g++) {
        if (g && (p >= t->len || t->s[p++] != '-'))
            return 0;
        for (size_t k = 0; k < groups[g]; k++, p++)
            if (p >= t->len || !is_hex((unsigned char)t->s[p]))
                return 0;
    }
    return standalone(t, i, p - i) ? p - i : 0;
}

/* The name that contains i starts right after "/tmp/", "/var/tmp/" or "/dev/shm/", and that
 * folder starts the string or follows a non-path character (a space, '=', a quote). */
static bool under_temp_dir(const struct text *t, size_t i)
{
    static const char *const dirs[] = {"/tmp/", "/var/tmp/", "/dev/shm/"};
    size_t start = i;
    while (start > 0 && t->s[start - 1] != '/')
        start--;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        size_t n = strlen(dirs[d]);
        if (start < n || memcmp(t->s + start - n, dirs[d], n))
            continue;
        size_t at = start - n;
        if (at == 0 || !(isalnum((unsigned char)t->s[at - 1]) || t->s[at - 1] == '/' ||
                         t->s[at - 1] == '.' || t->s[at - 1] == '_' || t->s[at - 1] == '-'))
            return true;
    }
    return false;
}

static size_t match_temp_name(const struct text *t, size_t i)
{
    if (i > 0 && is_word((unsigned char)t->s[i - 1]))
        return 0; /* not the start of a run */
    size_t n = 0;
    bool digit = false, upper = false, lower = false;
    while (i + n < t->len && is_word((unsigned char)t->s[i + n])) {
        unsigned char c = (unsigned char)t->s[i + n++];
        digit |= isdigit(c) != 0;
        upper |= isupper(c) != 0;
        lower |= islower(c) != 0;
    }
    if (n < 6 || !(digit || (upper && lower)) || !under_temp_dir(t, i))
        return 0;
    return n;
}

static size_t match_hex(const struct text *t, size_t i)
{
    size_t n = 0;
    bool digit = false, letter = false;
    while (i + n < t->len && is_hex((unsigned char)t->s[i + n])) {
        digit |= isdigit((unsigned char)t->s[i + n]) != 0;
        letter |= isalpha((unsigned char)t->s[i + n]) != 0;
        n++;
    }
    return n >= 8 && digit && letter && standalone(t, i, n) ? n : 0;
}

static size_t match_digits(const struct text *t, size_t i)
{
    size_t n = 0;
    while (i + n < t->len && isdigit((unsigned char)t->s[i + n]))
        n++;
    if (!n)
        return 0;
    bool component = i > 0 && t->s[i - 1] == '/' && (i + n == t->len || t->s[i + n] == '/');
    return component || (n >= 3 && standalone(t, i, n)) ? n : 0;
}

/* The string rules of RT_NORM_RULES in order; field rules have no matcher here. */
static size_t (*const matchers[RT_NORM__COUNT])(const struct text *, size_t) = {
    [RT_NORM_REQUEST_ID] = match_request_id, [RT_NORM_UUID] = match_uuid,
    [RT_NORM_TEMP_NAME] = match_temp_name,   [RT_NORM_HEX] = match_hex,
    [RT_NORM_DIGITS] = match_digits,
};

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

static size_t finish(struct out *o)
{
    if (o->cap)
        o->buf[o->n < o->cap - 1 ? o->n : o->cap - 1] = '\0';
    return o->n;
}

static size_t replacement(unsigned rule, const char **text)
{
    /* the table's replacement, without the markdown backquotes */
    const char *r = rules[rule].replacement;
    size_t n = strlen(r);
    if (n >= 2 && r[0] == '`' && r[n - 1] == '`') {
        *text = r + 1;
        return n - 2;
    }
    *text = r;
    return n;
}

size_t rt_norm_string(char *buf, size_t cap, const char *s, size_t len, const char *request_id)
{
    struct text t = {s, len, request_id, request_id ? strlen(request_id) : 0};
    struct out o = {buf, cap, 0};
    for (size_t i = 0; i < len;) {
        size_t m = 0;
        unsigned rule = 0;
        for (rule = 0; rule < RT_NORM__COUNT && !m; rule++)
            if (matchers[rule])
                m = matchers[rule](&t, i);
        if (m) {
            const char *r;
            size_t rn = replacement(rule - 1, &r);
            addn(&o, r, rn);
            i += m;
        } else {
            addn(&o, s + i, 1);
            i++;
        }
    }
    return finish(&o);
}

/* ---- fields ---- */

#define EPHEMERAL_PORT_MIN 32768

size_t rt_norm_peer(char *buf, size_t cap, const char *s, size_t len)
{
    struct out o = {buf, cap, 0};
    size_t colon = len;
    while (colon > 0 && isdigit((unsigned char)s[colon - 1]))
        colon--;
    long port = 0;
    for (size_t k = colon; k < len && port < 100000; k++)
        port = port * 10 + (s[k] - '0');
    if (colon > 0 && colon < len && s[colon - 1] == ':' && port >= EPHEMERAL_PORT_MIN &&
        port <= 65535) {
        addn(&o, s, colon);
        addn(&o, "*", 1);
    } else if (len) {
        addn(&o, s, len);
    }
    return finish(&o);
}

/* One process as the keys see it: its program and its parent. */
struct proc {
    int32_t pid;
    long parent; /* index in procs, -1 for a root */
    char *exe;   /* normalised, "?" until known */
    bool forked; /* made by a fork, not yet started */
};

struct keyer {
    struct proc *procs;
    size_t n, cap;
    long *by_pid; /* open addressing: pid -> the latest proc index with it, -1 empty */
    size_t slots; /* a power of two, at least twice n */
    const char *request_id;
    enum rt_arch arch;
    bool nomem;
    char *tmp; /* scratch for normalised strings */
    size_t tmp_cap;
    struct rt_buf key; /* the key being built */
};

static char *norm_dup(struct keyer *k, const char *s, size_t len, bool peer)
{
    size_t need =
        peer ? rt_norm_peer(NULL, 0, s, len) : rt_norm_string(NULL, 0, s, len, k->request_id);
    char *d = malloc(need + 1);
    if (!d) {
        k->nomem = true;
        return NULL;
    }
    if (peer)
        rt_norm_peer(d, need + 1, s, len);
    else
        rt_norm_string(d, need + 1, s, len, k->request_id);
    return d;
}

static size_t pid_slot(const struct keyer *k, int32_t pid)
{
    size_t h = ((uint32_t)pid * 2654435761u) & (k->slots - 1);
    while (k->by_pid[h] >= 0 && k->procs[k->by_pid[h]].pid != pid)
        h = (h + 1) & (k->slots - 1);
    return h;
}

static long find_proc(const struct keyer *k, int32_t pid)
{
    return k->slots ? k->by_pid[pid_slot(k, pid)] : -1;
}

/* Makes room for one more pid in by_pid; false when out of memory. */
static bool grow_pid_map(struct keyer *k)
{
    if (2 * (k->n + 1) <= k->slots)
        return true;
    size_t slots = k->slots ? 2 * k->slots : 64;
    long *map = malloc(slots * sizeof *map);
    if (!map)
        return false;
    for (size_t i = 0; i < slots; i++)
        map[i] = -1;
    free(k->by_pid);
    k->by_pid = map;
    k->slots = slots;
    for (size_t i = 0; i < k->n; i++) /* later entries of a pid replace earlier ones */
        k->by_pid[pid_slot(k, k->procs[i].pid)] = (long)i;
    return true;
}

static long add_proc(struct keyer *k, int32_t pid, long parent, const char *exe, size_t len)
{
    if (!grow_pid_map(k)) {
        k->nomem = true;
        return -1;
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        struct proc *p = realloc(k->procs, cap * sizeof *p);
        if (!p) {
            k->nomem = true;
            return -1;
        }
        k->procs = p;
        k->cap = cap;
    }
    char *e = exe ? norm_dup(k, exe, len, false) : strdup("?");
    if (!e) {
        k->nomem = true;
        return -1;
    }
    k->procs[k->n] = (struct proc){pid, parent, e, false};
    k->by_pid[pid_slot(k, pid)] = (long)k->n;
    return (long)k->n++;
}

static void set_exe(struct keyer *k, long p, struct rt_str exe)
{
    char *e = norm_dup(k, exe.ptr, exe.len, false);
    if (!e)
        return;
    free(k->procs[p].exe);
    k->procs[p].exe = e;
}

/* Follows the process tree before the event's key is made (an exec takes effect after its
 * own key: the caller applies it). Returns the event's process. */
static long track(struct keyer *k, const struct rt_event *ev)
{
    long self = find_proc(k, ev->pid);
    if (ev->op == RT_OP_PROC_START) {
        struct rt_str exe = rt_event_program(ev);
        int64_t ppid = 0;
        rt_event_num(ev, RT_ROLE_PID, &ppid);
        if (self >= 0 && k->procs[self].forked) {
            k->procs[self].forked = false;
            set_exe(k, self, exe);
            return self;
        }
        return add_proc(k, ev->pid, find_proc(k, (int32_t)ppid), exe.ptr ? exe.ptr : "?",
                        exe.ptr ? exe.len : 1);
    }
    if (self < 0)
        self = add_proc(k, ev->pid, -1, NULL, 0);
    if (self < 0)
        return -1;
    if (ev->op == RT_OP_FORK && ev->result > 0) {
        long child = add_proc(k, (int32_t)ev->result, self, NULL, 0);
        if (child >= 0) {
            free(k->procs[child].exe);
            k->procs[child].exe = strdup(k->procs[self].exe);
            k->procs[child].forked = true;
            if (!k->procs[child].exe)
                k->nomem = true;
        }
    }
    return self;
}

/* ---- the key text, built in the keyer's reusable buffer ---- */

static void puts_(struct keyer *k, const char *s)
{
    rt_buf_puts(&k->key, s);
}

static void put_position(struct keyer *k, long p, int depth)
{
    if (p < 0 || depth > 32) {
        puts_(k, "?");
        return;
    }
    if (k->procs[p].parent >= 0 && k->procs[p].parent != p) {
        put_position(k, k->procs[p].parent, depth + 1);
        puts_(k, ">");
    }
    puts_(k, k->procs[p].exe);
}

/* s normalised (string rules, or the peer rule), escaped, in double quotes. */
static void put_quoted(struct keyer *k, const char *s, size_t len, bool peer)
{
    size_t need = 3 * len + 16; /* a rule at most triples what it replaces ("1" -> "{n}") */
    if (need > k->tmp_cap) {
        char *t = realloc(k->tmp, need);
        if (!t) {
            k->nomem = true;
            return;
        }
        k->tmp = t;
        k->tmp_cap = need;
    }
    size_t n = peer ? rt_norm_peer(k->tmp, k->tmp_cap, s, len)
                    : rt_norm_string(k->tmp, k->tmp_cap, s, len, k->request_id);
    if (n >= k->tmp_cap) { /* cannot happen by the bound above; never print a cut key */
        k->nomem = true;
        return;
    }
    size_t esc = rt_escape_buf(NULL, 0, k->tmp, n, '"');
    if (rt_buf_reserve(&k->key, esc + 2) != RT_OK)
        return;
    struct rt_buf *b = &k->key;
    b->data[b->len++] = '"';
    rt_escape_buf(b->data + b->len, esc + 1, k->tmp, n, '"');
    b->len += esc;
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

static void put_argv(struct keyer *k, struct rt_str s)
{
    if (!s.len) {
        puts_(k, "[]");
        return;
    }
    puts_(k, "[");
    size_t start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.ptr[i] == '\0') {
            if (i == s.len && i == start && i > 0)
                break; /* trailing NUL */
            if (start)
                puts_(k, ", ");
            put_quoted(k, s.ptr + start, i - start, false);
            start = i + 1;
        }
    }
    puts_(k, "]");
}

/* Builds the key of ev in k->key; false when out of memory. */
static bool build_key(struct keyer *k, const struct rt_event *ev)
{
    char num[256];
    rt_buf_reset(&k->key);
    long self = track(k, ev);
    put_position(k, self, 0);
    const struct rt_op_info *info = rt_op_info(ev->op);
    if (!info) {
        snprintf(num, sizeof num, " op_%u()", ev->op);
        puts_(k, num);
    } else {
        puts_(k, " ");
        puts_(k, info->name);
        puts_(k, "(");
        bool first = true;
        for (int s = 0; s < RT_EVENT_STRS; s++) {
            enum rt_role role = info->str_role[s];
            if (info->str_fmt[s] == RT_AF_NONE || role == RT_ROLE_REQUEST_ID ||
                role == RT_ROLE_ANSWERS)
                continue;
            puts_(k, first ? "" : ", ");
            first = false;
            if (info->str_fmt[s] == RT_AF_ARGV)
                put_argv(k, ev->str[s]);
            else
                put_quoted(k, ev->str[s].ptr, ev->str[s].len,
                           role == RT_ROLE_PEER || role == RT_ROLE_LOCAL);
        }
        for (int n = 0; n < RT_EVENT_NUMS; n++) {
            enum rt_role role = info->num_role[n];
            enum rt_argfmt fmt = info->num_fmt[n];
            if (fmt == RT_AF_NONE || role == RT_ROLE_FD || role == RT_ROLE_BYTES_OUT ||
                role == RT_ROLE_COUNT || role == RT_ROLE_BYTES_IN ||
                (fmt == RT_AF_OCT && ev->num[n] == 0) ||
                (ev->op == RT_OP_PROC_START && role == RT_ROLE_PID))
                continue; /* a process's parent is already in its position */
            puts_(k, first ? "" : ", ");
            first = false;
            if (role == RT_ROLE_PID) {
                put_position(k, find_proc(k, (int32_t)ev->num[n]), 0);
                continue;
            }
            rt_render_num_arch(num, sizeof num, fmt, ev->num[n], k->arch);
            puts_(k, num);
        }
        puts_(k, ")");
    }
    int err = ev->result < 0 && ev->result >= -4095 ? (int)-ev->result : 0;
    const char *ename = rt_render_errno_name(err);
    puts_(k, ename ? " = " : ev->result < 0 ? " = error" : " = ok");
    if (ename)
        puts_(k, ename);
    /* how the event was attributed or summarised, not what happened */
    uint32_t flags = ev->flags & ~RT_NORM_DROPPED_FLAGS;
    for (unsigned bit = 0, any = 0; bit < 32; bit++) {
        if (!(flags & (1u << bit)))
            continue;
        const char *name = rt_event_flag_name(bit);
        puts_(k, any ? "," : " [");
        snprintf(num, sizeof num, "flag%u", bit);
        puts_(k, name ? name : num);
        any = 1;
    }
    if (flags)
        puts_(k, "]");
    if (ev->op == RT_OP_EXEC && ev->result == 0 && self >= 0) /* the new program, from now */
        set_exe(k, self, rt_event_program(ev));
    if (k->key.failed || !k->key.data)
        k->nomem = true;
    return !k->nomem;
}

void rt_keys_free(struct rt_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        free(k->key[i]);
    free(k->key);
    k->key = NULL;
    k->n = 0;
}

int rt_keys_each(const struct rt_bundle *b, rt_key_fn fn, void *arg)
{
    struct keyer k = {.request_id = b->meta.request_id, .arch = rt_arch_from_name(b->meta.arch)};
    if (k.request_id && !k.request_id[0])
        k.request_id = NULL;
    int rc = 0;
    for (size_t i = 0; i < b->n_events && !rc; i++) {
        if (!build_key(&k, &b->events[i]))
            break;
        rc = fn(i, k.key.data, k.key.len, arg);
    }
    for (size_t i = 0; i < k.n; i++)
        free(k.procs[i].exe);
    free(k.procs);
    free(k.by_pid);
    free(k.tmp);
    rt_buf_free(&k.key);
    return k.nomem ? RT_ERR_NOMEM : rc;
}

static int collect_key(size_t i, const char *key, size_t len, void *arg)
{
    struct rt_keys *out = arg;
    if (!(out->key[i] = strndup(key, len)))
        return RT_ERR_NOMEM;
    out->n = i + 1;
    return 0;
}

int rt_keys_of_bundle(const struct rt_bundle *b, struct rt_keys *out)
{
    out->n = 0;
    out->key = calloc(b->n_events ? b->n_events : 1, sizeof *out->key);
    if (!out->key)
        return RT_ERR_NOMEM;
    int rc = rt_keys_each(b, collect_key, out);
    if (rc) {
        rt_keys_free(out);
        return RT_ERR_NOMEM;
    }
    return RT_OK;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void rt_keys_sort_unique(struct rt_keys *k)
{
    if (k->n < 2)
        return;
    qsort(k->key, k->n, sizeof *k->key, cmp_key);
    size_t w = 1;
    for (size_t i = 1; i < k->n; i++) {
        if (!strcmp(k->key[i], k->key[w - 1]))
            free(k->key[i]);
        else
            k->key[w++] = k->key[i];
    }
    k->n = w;
}
