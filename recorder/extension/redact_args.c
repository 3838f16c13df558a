/* Secrets outside payloads: the argv of a child, the command line handed to system()/popen()
 * or `sh -c`, and the request target of a captured HTTP line. The interposer cannot hold the
 * hash key (it runs inside the function), so the extension applies this at seal time and
 * `runtrail record` before it writes its bundle. A value is replaced by "hmac:" and 32 hex
 * digits of its keyed hash (comparable with the payload tokens and ENV hashes of the same key)
 * when it belongs to a sensitive name of the one list in redact.c (plus RUNTRAIL_REDACT):
 *   --password X, --password=X, -password X      (any option whose name is sensitive; not
 *                                                 single-letter options, too ambiguous)
 *   PGPASSWORD=X psql, env API_TOKEN=X           (assignments to a sensitive name)
 *   -H "Authorization: Bearer X", "Cookie: X"    (header forms: the scheme word is kept)
 *   http://u:X@h/, ...?api_key=X&X-Amz-Signature=X (URL passwords, query parameters, form data)
 *   '{"password":"X"}' (curl -d)                 (JSON documents, as payloads are)
 *   mysql -pX, curl -u user:X, curl -b X, sshpass -p X   (program-specific forms)
 * A command line is split into words as the shell would (quotes, backslashes, ; & | ( ));
 * a rewritten word is written back quoted, the others are kept byte for byte. An argv element
 * after a shell's -c, and any other that holds spaces, is searched as a command line. */
#include "recorder/extension/extension.h"

#include "formats/digest.h"
#include "formats/toolbox.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SHELL_DEPTH 3

enum prog { PROG_OTHER, PROG_MYSQL, PROG_CURL, PROG_SSHPASS, PROG_SHELL };

struct red {
    const struct rt_ext_hash_key *key;
    const char *user;
    unsigned count;
    int url_depth; /* URLs in query values in URLs ... */
};

#define MAX_URL_DEPTH 4

/* Where a word stands in its command. */
struct wctx {
    bool expect_cmd; /* the next word that is not an assignment names the program */
    enum prog prog;
    bool hash_next;     /* the previous word was an option whose value is secret */
    bool userpass_next; /* the previous word was curl's -u/--user: "user:password" */
    bool command_next;  /* the previous word was a shell's -c: a command line follows */
    int depth;          /* command lines inside command lines */
};

static void put_char(struct rt_buf *out, char c)
{
    rt_buf_append(out, &c, 1);
}

static void put_token(struct red *r, struct rt_buf *out, const char *v, size_t n)
{
    if (n == 0) /* an empty value hides nothing: kept as it is */
        return;
    r->count++;
    if (!r->key || r->key->source == RT_EXT_KEY_NONE) {
        rt_buf_puts(out, "redacted");
        return;
    }
    uint8_t mac[RT_SHA256_LEN];
    char hex[33];
    rt_ext_keyed_hash(r->key, v, n, mac);
    rt_hex(mac, 16, hex);
    rt_buf_printf(out, "hmac:%s", hex);
}

static bool sensitive(const struct red *r, const char *name, size_t n)
{
    return n > 0 && rt_ext_sensitive_name(name, n, r->user);
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static const char *mem_chr(const char *s, size_t n, char c)
{
    return n ? memchr(s, c, n) : NULL;
}

static bool has_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')
            return true;
    return false;
}

static enum prog prog_of(const char *w, size_t n)
{
    const char *slash = n ? memrchr(w, '/', n) : NULL;
    if (slash) {
        n -= (size_t)(slash + 1 - w);
        w = slash + 1;
    }
    static const struct {
        const char *name;
        enum prog prog;
    } progs[] = {{"mysql", PROG_MYSQL},       {"mysqldump", PROG_MYSQL}, {"mysqladmin", PROG_MYSQL},
                 {"mysqlimport", PROG_MYSQL}, {"mysqlshow", PROG_MYSQL}, {"mysqlcheck", PROG_MYSQL},
                 {"mariadb", PROG_MYSQL},     {"curl", PROG_CURL},       {"sshpass", PROG_SSHPASS},
                 {"sh", PROG_SHELL},          {"bash", PROG_SHELL},      {"dash", PROG_SHELL},
                 {"zsh", PROG_SHELL},         {"ksh", PROG_SHELL},       {"ash", PROG_SHELL}};
    for (size_t i = 0; i < sizeof progs / sizeof *progs; i++)
        if (strlen(progs[i].name) == n && !memcmp(progs[i].name, w, n))
            return progs[i].prog;
    return PROG_OTHER;
}

static void url(struct red *r, struct rt_buf *out, const char *s, size_t n);

/* "k=v&k=v" (a query string or form data): the values of sensitive keys are replaced; a value
 * that is a URL itself (a redirect target) is searched as one. */
static void query(struct red *r, struct rt_buf *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i <= n) {
        size_t end = i;
        while (end < n && s[end] != '&' && s[end] != ';')
            end++;
        const char *eq = mem_chr(s + i, end - i, '=');
        if (eq && sensitive(r, s + i, (size_t)(eq - (s + i)))) {
            rt_buf_append(out, s + i, (size_t)(eq + 1 - (s + i)));
            put_token(r, out, eq + 1, (size_t)(s + end - (eq + 1)));
        } else if (eq && memmem(eq + 1, (size_t)(s + end - (eq + 1)), "://", 3)) {
            rt_buf_append(out, s + i, (size_t)(eq + 1 - (s + i)));
            if (r->url_depth < MAX_URL_DEPTH) {
                r->url_depth++;
                url(r, out, eq + 1, (size_t)(s + end - (eq + 1)));
                r->url_depth--;
            } else {
                put_token(r, out, eq + 1, (size_t)(s + end - (eq + 1)));
            }
        } else {
            rt_buf_append(out, s + i, end - i);
        }
        if (end < n)
            put_char(out, s[end]);
        i = end + 1;
    }
}

/* A URL or a request target: the password of scheme://user:password@host, the query. */
static void url(struct red *r, struct rt_buf *out, const char *s, size_t n)
{
    size_t pos = 0;
    const char *scheme = NULL, *first_q = mem_chr(s, n, '?');
    size_t before_query = first_q ? (size_t)(first_q - s) : n; /* "://" in the query: a value */
    for (size_t i = 0; i + 2 < before_query; i++)
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            scheme = s + i;
            break;
        }
    if (scheme) {
        size_t auth = (size_t)(scheme - s) + 3, end = auth;
        while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#')
            end++;
        const char *at = memrchr(s + auth, '@', end - auth);
        const char *colon = at ? mem_chr(s + auth, (size_t)(at - (s + auth)), ':') : NULL;
        if (colon) {
            rt_buf_append(out, s, (size_t)(colon + 1 - s));
            put_token(r, out, colon + 1, (size_t)(at - (colon + 1)));
            pos = (size_t)(at - s);
        }
    }
    const char *q = mem_chr(s + pos, n - pos, '?');
    if (!q) {
        rt_buf_append(out, s + pos, n - pos);
        return;
    }
    rt_buf_append(out, s + pos, (size_t)(q + 1 - (s + pos)));
    size_t qs = (size_t)(q + 1 - s);
    const char *hash = mem_chr(s + qs, n - qs, '#');
    size_t qe = hash ? (size_t)(hash - s) : n;
    query(r, out, s + qs, qe - qs);
    rt_buf_append(out, s + qe, n - qe);
}

/* "Name: value" with a header-like name; returns the length of "Name:" or 0. */
static size_t header_name(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (is_alnum(s[i]) || s[i] == '-' || s[i] == '_'))
        i++;
    return i > 0 && i < n && s[i] == ':' && (i + 1 == n || s[i + 1] == ' ' || s[i + 1] == '\t')
               ? i + 1
               : 0;
}

/* "Authorization: Bearer X" -> "Authorization: Bearer hmac:..." (a scheme word is kept). */
static void header_value(struct red *r, struct rt_buf *out, const char *s, size_t n,
                         size_t name_len)
{
    size_t i = name_len;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t w = i;
    while (w < n && (is_alnum(s[w]) || s[w] == '-'))
        w++;
    if (w > i && w < n && s[w] == ' ' && w + 1 < n)
        i = w + 1; /* Bearer, Basic, Digest, AWS4-HMAC-SHA256, Token */
    rt_buf_append(out, s, i);
    put_token(r, out, s + i, n - i);
}

/* An assignment NAME=VALUE with a shell variable name; returns the length of NAME or 0. */
static size_t assignment_name(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    size_t i = 1;
    while (i < n && (is_alnum(s[i]) || s[i] == '_'))
        i++;
    return i < n && s[i] == '=' ? i : 0;
}

static void shell(struct red *r, struct rt_buf *out, const char *s, size_t n, int depth);

/* A value that stands on its own (after `=`, an option's argument): a JSON document, a header
 * form, a sensitive assignment, form data, a URL. */
static void value(struct red *r, struct rt_buf *out, const char *s, size_t n)
{
    if (n > 0 && (s[0] == '{' || s[0] == '[')) {
        char *json = NULL;
        int replaced = rt_ext_redact_json(r->key, r->user, s, n, &json);
        if (replaced < 0) {
            put_token(r, out, s, n); /* JSON too deep to search: not kept in clear */
            return;
        }
        if (replaced > 0 && json) {
            r->count += (unsigned)replaced;
            rt_buf_puts(out, json);
            free(json);
            return;
        }
        free(json);
    }
    size_t h = header_name(s, n);
    if (h && sensitive(r, s, h - 1)) {
        header_value(r, out, s, n, h);
        return;
    }
    size_t a = assignment_name(s, n);
    if (a && sensitive(r, s, a)) {
        rt_buf_append(out, s, a + 1);
        put_token(r, out, s + a + 1, n - a - 1);
        return;
    }
    if (!mem_chr(s, n, '?') && mem_chr(s, n, '=') && mem_chr(s, n, '&')) {
        query(r, out, s, n);
        return;
    }
    if (a) {
        rt_buf_append(out, s, a + 1);
        url(r, out, s + a + 1, n - a - 1);
        return;
    }
    url(r, out, s, n);
}

/* One word of a command (an argv element, or a shell word without its quotes). */
static void word(struct red *r, struct rt_buf *out, const char *s, size_t n, struct wctx *c)
{
    if (c->hash_next) {
        c->hash_next = false;
        put_token(r, out, s, n);
        return;
    }
    if (c->command_next) {
        c->command_next = false;
        if (c->depth < MAX_SHELL_DEPTH)
            shell(r, out, s, n, c->depth + 1);
        else
            put_token(r, out, s, n); /* too deep to take apart: not kept in clear */
        return;
    }
    if (c->userpass_next) {
        c->userpass_next = false;
        const char *colon = mem_chr(s, n, ':');
        if (colon) {
            rt_buf_append(out, s, (size_t)(colon + 1 - s));
            put_token(r, out, colon + 1, (size_t)(s + n - (colon + 1)));
        } else {
            rt_buf_append(out, s, n);
        }
        return;
    }
    if (c->expect_cmd && !assignment_name(s, n)) {
        c->expect_cmd = false;
        c->prog = prog_of(s, n);
        rt_buf_append(out, s, n);
        return;
    }
    if (n >= 2 && s[0] == '-') {
        size_t dashes = s[1] == '-' ? 2 : 1;
        const char *name = s + dashes;
        const char *eq = mem_chr(name, n - dashes, '=');
        size_t name_len = eq ? (size_t)(eq - name) : n - dashes;
        bool negated = name_len > 3 && !memcmp(name, "no-", 3);
        bool userpass =
            c->prog == PROG_CURL && ((name_len == 4 && !memcmp(name, "user", 4)) ||
                                     (name_len == 10 && !memcmp(name, "proxy-user", 10)));
        if (c->prog == PROG_SHELL && dashes == 1 && !eq && memchr(s + 1, 'c', n - 1)) {
            c->command_next = true; /* -c, -ec, -lc, -xc */
            rt_buf_append(out, s, n);
            return;
        }
        if (c->prog == PROG_MYSQL && dashes == 1 && s[1] == 'p' && n > 2) {
            rt_buf_puts(out, "-p");
            put_token(r, out, s + 2, n - 2);
            return;
        }
        if (c->prog == PROG_SSHPASS && dashes == 1 && s[1] == 'p') {
            rt_buf_puts(out, "-p");
            if (n > 2)
                put_token(r, out, s + 2, n - 2);
            else
                c->hash_next = true;
            return;
        }
        if (c->prog == PROG_CURL && dashes == 1 && s[1] == 'b') { /* -b COOKIES */
            rt_buf_puts(out, "-b");
            if (n > 2)
                put_token(r, out, s + 2, n - 2);
            else
                c->hash_next = true;
            return;
        }
        if (c->prog == PROG_CURL && dashes == 1 && (s[1] == 'u' || s[1] == 'U')) {
            if (n == 2) {
                c->userpass_next = true;
                rt_buf_append(out, s, n);
            } else {
                c->userpass_next = true;
                rt_buf_append(out, s, 2);
                word(r, out, s + 2, n - 2, c);
            }
            return;
        }
        if (userpass && !eq) {
            c->userpass_next = true;
            rt_buf_append(out, s, n);
            return;
        }
        if (userpass) {
            rt_buf_append(out, s, (size_t)(eq + 1 - s));
            c->userpass_next = true;
            word(r, out, eq + 1, (size_t)(s + n - (eq + 1)), c);
            return;
        }
        if (name_len >= 2 && !negated && sensitive(r, name, name_len)) {
            if (eq) {
                rt_buf_append(out, s, (size_t)(eq + 1 - s));
                put_token(r, out, eq + 1, (size_t)(s + n - (eq + 1)));
            } else {
                rt_buf_append(out, s, n);
                c->hash_next = true;
            }
            return;
        }
        if (eq) {
            rt_buf_append(out, s, (size_t)(eq + 1 - s));
            value(r, out, eq + 1, (size_t)(s + n - (eq + 1)));
            return;
        }
        rt_buf_append(out, s, n);
        return;
    }
    size_t h = header_name(s, n);
    size_t a = assignment_name(s, n);
    bool secret_value = (h && sensitive(r, s, h - 1)) || (a && sensitive(r, s, a));
    bool json = n > 0 && (s[0] == '{' || s[0] == '[');
    if (!secret_value && !json && has_blank(s, n)) {
        if (c->depth < MAX_SHELL_DEPTH)
            shell(r, out, s, n, c->depth + 1);
        else if (rt_ext_sensitive_name(s, n, r->user) || mem_chr(s, n, '?'))
            put_token(r, out, s, n); /* too deep to take apart: not kept in clear */
        else
            rt_buf_append(out, s, n);
        return;
    }
    value(r, out, s, n);
}

/* Writes w (unquoted text) as one shell word. */
static void put_quoted(struct rt_buf *out, const char *w, size_t n)
{
    bool plain = n > 0;
    for (size_t i = 0; i < n && plain; i++)
        plain = is_alnum(w[i]) || strchr("_@%+=:,./-", w[i]) != NULL;
    if (plain) {
        rt_buf_append(out, w, n);
        return;
    }
    put_char(out, '\'');
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '\'')
            rt_buf_puts(out, "'\\''");
        else
            put_char(out, w[i]);
    }
    put_char(out, '\'');
}

static bool is_operator(char c)
{
    return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '\n';
}

/* A command line: words as the shell splits them; each word through word(). */
static void shell(struct red *r, struct rt_buf *out, const char *s, size_t n, int depth)
{
    struct wctx c = {.expect_cmd = true, .depth = depth};
    char *buf = malloc(n + 1);
    if (!buf) { /* cannot take it apart: keep nothing of it */
        put_token(r, out, s, n);
        return;
    }
    size_t i = 0;
    while (i < n) {
        if (s[i] == ' ' || s[i] == '\t') {
            put_char(out, s[i++]);
            continue;
        }
        if (is_operator(s[i])) {
            put_char(out, s[i++]);
            c = (struct wctx){.expect_cmd = true, .depth = depth};
            continue;
        }
        size_t start = i, len = 0;
        while (i < n && s[i] != ' ' && s[i] != '\t' && !is_operator(s[i])) {
            if (s[i] == '\'') {
                for (i++; i < n && s[i] != '\''; i++)
                    buf[len++] = s[i];
                i += i < n;
            } else if (s[i] == '"') {
                for (i++; i < n && s[i] != '"'; i++) {
                    if (s[i] == '\\' && i + 1 < n && strchr("\"\\$`\n", s[i + 1]))
                        i++;
                    buf[len++] = s[i];
                }
                i += i < n;
            } else if (s[i] == '\\' && i + 1 < n) {
                buf[len++] = s[i + 1];
                i += 2;
            } else {
                buf[len++] = s[i++];
            }
        }
        struct rt_buf w = RT_BUF_INIT;
        unsigned before = r->count;
        word(r, &w, buf, len, &c);
        if (w.failed)
            put_token(r, out, s + start, i - start); /* out of memory: not kept in clear */
        else if (r->count != before)
            put_quoted(out, w.data ? w.data : "", w.len);
        else
            rt_buf_append(out, s + start, i - start);
        rt_buf_free(&w);
    }
    free(buf);
}

/* argv: elements joined by NUL bytes (the last one may be cut). */
static void argv_list(struct red *r, struct rt_buf *out, const char *s, size_t n)
{
    struct wctx c = {.expect_cmd = true};
    for (size_t i = 0;;) {
        const char *nul = mem_chr(s + i, n - i, '\0');
        size_t end = nul ? (size_t)(nul - s) : n;
        word(r, out, s + i, end - i, &c);
        if (!nul)
            break;
        put_char(out, '\0');
        i = end + 1;
    }
}

/* "METHOD TARGET VERSION\nHost: ...\nHTTP/1.1 200 OK": the target's secrets. */
static void http_line(struct red *r, struct rt_buf *out, const char *s, size_t n)
{
    const char *nl = mem_chr(s, n, '\n');
    size_t line = nl ? (size_t)(nl - s) : n;
    const char *sp = mem_chr(s, line, ' ');
    if (!sp) {
        rt_buf_append(out, s, n);
        return;
    }
    size_t ts = (size_t)(sp + 1 - s);
    const char *sp2 = mem_chr(s + ts, line - ts, ' ');
    size_t te = sp2 ? (size_t)(sp2 - s) : line;
    rt_buf_append(out, s, ts);
    url(r, out, s + ts, te - ts);
    rt_buf_append(out, s + te, n - te);
}

unsigned rt_ext_redact_text(const struct rt_ext_hash_key *key, const char *user_list, char kind,
                            const char *in, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!in || len == 0)
        return 0;
    struct red r = {.key = key, .user = user_list};
    struct rt_buf b = RT_BUF_INIT;
    if (kind == 'a')
        argv_list(&r, &b, in, len);
    else if (kind == 's')
        shell(&r, &b, in, len, 0);
    else
        http_line(&r, &b, in, len);
    if (b.failed) { /* the secrets could not be taken out: the caller drops the string */
        rt_buf_free(&b);
        return 1;
    }
    if (r.count == 0) {
        rt_buf_free(&b);
        return 0;
    }
    *out = rt_buf_detach(&b, out_len);
    return *out ? r.count : 1;
}

unsigned rt_ext_redact_event(const struct rt_ext_hash_key *key, const char *user_list,
                             struct rt_event *ev, char **scratch, size_t *scratch_cap)
{
    const struct rt_op_info *info = rt_op_info(ev->op);
    if (!info)
        return 0;
    char kinds[RT_EVENT_STRS] = {0};
    size_t total = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++)
        kinds[i] = info->str_role[i] == RT_ROLE_ARGV      ? 'a'
                   : info->str_role[i] == RT_ROLE_COMMAND ? 's'
                   : info->str_role[i] == RT_ROLE_HTTP    ? 'h'
                                                          : 0;
    char *outs[RT_EVENT_STRS] = {0};
    size_t lens[RT_EVENT_STRS] = {0};
    unsigned count = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        if (!kinds[i] || !ev->str[i].len)
            continue;
        unsigned n = rt_ext_redact_text(key, user_list, kinds[i], ev->str[i].ptr, ev->str[i].len,
                                        &outs[i], &lens[i]);
        if (n > 0 && !outs[i])
            ev->str[i] = (struct rt_str){NULL, 0}; /* out of memory: dropped, never in clear */
        count += n;
        total += lens[i];
    }
    if (count == 0)
        return 0;
    if (total > *scratch_cap) {
        char *grown = realloc(*scratch, total);
        if (!grown) { /* nothing of the secret may stay: drop the rewritten strings' slots */
            for (int i = 0; i < RT_EVENT_STRS; i++) {
                if (outs[i])
                    ev->str[i] = (struct rt_str){NULL, 0};
                free(outs[i]);
            }
            return count;
        }
        *scratch = grown;
        *scratch_cap = total;
    }
    size_t off = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        if (!outs[i])
            continue;
        memcpy(*scratch + off, outs[i], lens[i]);
        ev->str[i] = (struct rt_str){*scratch + off, lens[i]};
        off += lens[i];
        free(outs[i]);
    }
    return count;
}

char *rt_ext_redacted_command(const struct rt_ext_hash_key *key, const char *user_list,
                              char *const *argv)
{
    struct rt_buf joined = RT_BUF_INIT;
    for (size_t i = 0; argv[i]; i++)
        rt_buf_append(&joined, argv[i], strlen(argv[i]) + (argv[i + 1] != NULL)); /* NUL between */
    if (joined.failed || !joined.data) {
        rt_buf_free(&joined);
        return joined.failed ? NULL : strdup("");
    }
    char *red = NULL;
    size_t len = joined.len, red_len = 0;
    unsigned n = rt_ext_redact_text(key, user_list, 'a', joined.data, joined.len, &red, &red_len);
    char *src = joined.data;
    if (n > 0 && !red) {
        rt_buf_free(&joined);
        return NULL;
    }
    if (red) {
        src = red;
        len = red_len;
    }
    char *out = malloc(len + 1);
    if (out) {
        for (size_t i = 0; i < len; i++)
            out[i] = src[i] ? src[i] : ' ';
        out[len] = '\0';
    }
    free(red);
    rt_buf_free(&joined);
    return out;
}
