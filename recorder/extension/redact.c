/* Payload capture for the EVENT, RESPONSE and ERROR blocks (RUNTRAIL_PAYLOAD) and redaction of
 * sensitive values. One table (RT_EXT_SENSITIVE) lists the key names that are redacted by
 * default; RUNTRAIL_REDACT adds plain names and dotted paths. Names are compared after
 * normalisation (lower case, letters and digits only, `%XX` decoded), so `X-Api-Key`,
 * `x_api_key` and `xApiKey` are one name; an entry marked `part` also matches inside a longer
 * name (`dbPassword`, `refresh_token`), an `exact` one only whole (`pin`, `ssn`: too short to
 * search inside other words). Redaction parses the payload with jansson, replaces the value of
 * every sensitive key at any depth by a keyed-hash token "<redacted:hmac:...>" (equal values
 * stay comparable without being readable) and re-serialises the document. Arrays are
 * transparent to paths, and a string that itself holds JSON (API Gateway's `body`) is searched
 * as well. What cannot be searched whole is kept as its hash only, never in clear: a document
 * nested deeper than the search goes, JSON inside JSON beyond MAX_NESTED_JSON levels, and text
 * that is not JSON but names a sensitive key. */
#include "recorder/extension/extension.h"

#include "formats/digest.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 64
#define MAX_SEGMENTS 16
#define MAX_DEPTH 2200    /* above jansson's parser limit (2048) plus the nested strings' */
#define MAX_NESTED_JSON 4 /* strings holding JSON holding strings holding JSON ... */
#define NAME_STACK 128    /* normalised names up to this length need no allocation */

/* The built-in sensitive names, normalised: name, how it matches (part: anywhere in a name;
 * exact: the whole name), what it is for (docs). */
#define RT_EXT_SENSITIVE(_)                                                                        \
    _("password", part, "passwords, `dbPassword`, `PGPASSWORD`, `--password`")                     \
    _("passwd", part, "`passwd`, `db_passwd`")                                                     \
    _("passphrase", part, "key passphrases")                                                       \
    _("secret", part, "`client_secret`, `AWS_SECRET_ACCESS_KEY`, `secretKey`")                     \
    _("token", part, "`access_token`, `refresh_token`, `X-Amz-Security-Token`, `NextToken`")       \
    _("authorization", part, "`Authorization`, `Proxy-Authorization`")                             \
    _("apikey", part, "`api_key`, `apiKey`, `X-Api-Key`")                                          \
    _("cookie", part, "`Cookie`, `Set-Cookie`")                                                    \
    _("privatekey", part, "`private_key`, `privateKeyPem`")                                        \
    _("credentials", part, "`credentials`, `awsCredentials` (not `X-Amz-Credential`, an id)")      \
    _("signature", part, "`X-Amz-Signature` of presigned URLs")                                    \
    _("bearer", part, "`--oauth2-bearer`")                                                         \
    _("sessionid", part, "`sessionId`, `JSESSIONID`")                                              \
    _("connectionstring", part, "database connection strings")                                     \
    _("cvv", part, "card verification values")                                                     \
    _("cvc", part, "card verification codes")                                                      \
    _("auth", exact, "`auth`, `Auth`")                                                             \
    _("pass", exact, "`pass`")                                                                     \
    _("pwd", exact, "`pwd` (and the shell's `PWD=` in a command line)")                            \
    _("mysqlpwd", exact, "`MYSQL_PWD`")                                                            \
    _("pin", exact, "`pin`")                                                                       \
    _("otp", exact, "`otp`")                                                                       \
    _("ssn", exact, "`ssn`")                                                                       \
    _("socialsecuritynumber", exact, "`social_security_number`")                                   \
    _("card", exact, "`card`")                                                                     \
    _("cardnumber", exact, "`cardNumber`, `card_number`")                                          \
    _("creditcard", exact, "`credit_card`")                                                        \
    _("ccnumber", exact, "`cc_number`")                                                            \
    _("credential", exact, "`credential`")                                                         \
    _("dsn", exact, "`DSN` (data source names hold passwords)")                                    \
    _("jwt", exact, "`jwt`")

struct sensitive {
    const char *name;
    size_t len;
    bool part;
};

static const struct sensitive sensitive[] = {
#define _(name, match, doc) {name, sizeof name - 1, #match[0] == 'p'},
    RT_EXT_SENSITIVE(_)
#undef _
};

void rt_ext_secrets_doc(FILE *f)
{
    fputs(
        "\n## Secrets\n\n"
        "No secret lands in a bundle in clear. What could hold one is stored as a keyed hash:\n"
        "environment values (the ENV block; a few non-secret Lambda variables also in clear),\n"
        "the values of sensitive keys in payloads, and secrets in command lines and URLs.\n\n"
        "### The hash key and the key id\n\n"
        "Every keyed hash is HMAC-SHA256 with one key per sandbox, never written anywhere:\n\n"
        "- `RUNTRAIL_HASH_KEY` (or `RUNTRAIL_HASH_KEY_FILE`, a file holding it, read once at\n"
        "  start): a key you choose, at least 16 bytes (`openssl rand -hex 32`). Every sandbox\n"
        "  and every function configured with it hashes a value the same way, so hashes\n"
        "  compare across sandboxes. A shorter key, an unreadable file, or both variables set\n"
        "  count as config errors (a shorter key is never used).\n"
        "- Otherwise a random 32-byte key from `getrandom()`, drawn when the extension starts\n"
        "  and kept in memory only: hashes compare within that sandbox (its bundles), never\n"
        "  across sandboxes, and nobody can recompute them, not even from the sandbox id.\n"
        "  `runtrail record` does the same per run, or uses `RUNTRAIL_HASH_KEY`/`_FILE`.\n\n"
        "META `hash_key_id` (shown by `runtrail show` as `hash key`) names the key:\n"
        "`configured:` or `sandbox:` and 16 hex digits of HMAC-SHA256(key, \"runtrail hash key\n"
        "id v1\"). It reveals nothing about a key with enough entropy. Two hashes compare only\n"
        "when their bundles show the same id: equal hashes then mean equal values. To test a\n"
        "value you know against a bundle recorded with your configured key, compute\n"
        "`printf %s VALUE | openssl dgst -sha256 -hmac KEY`: ENV holds all 64 hex digits, the\n"
        "payload and argv tokens the first 32. The key protects against whoever holds bundles\n"
        "(a bucket reader); it is not hidden from code running inside the function. The\n"
        "catalog's env digest, computed over the ENV hashes, compares the same way. Fetching\n"
        "the key from SSM Parameter Store or Secrets Manager is future work.\n\n"
        "### Payloads\n\n"
        "`RUNTRAIL_PAYLOAD` is `redacted` unless set otherwise: the value of every key whose\n"
        "name is sensitive (the list below, plus `RUNTRAIL_REDACT`), at any depth, also inside\n"
        "strings holding JSON, is replaced by `<redacted:hmac:` and 32 hex digits `>`; the key\n"
        "names stay. Names are compared lower-cased with everything but letters and digits\n"
        "removed (`%XX` decoded), so `X-Api-Key`, `x_api_key` and `xApiKey` are one name;\n"
        "a `part` entry also matches inside a longer name (`dbPassword`, `refresh_token`),\n"
        "an `exact` entry only the whole name. `RUNTRAIL_REDACT` entries match whole names\n"
        "(normalised the same way) or dotted paths from the root. What cannot be searched\n"
        "whole is stored as `hash` (SHA-256 and length only), never in clear: a payload that\n"
        "is not JSON and names a sensitive key anywhere in its words, JSON inside JSON strings\n"
        "more than 4 levels down, a document deeper than the search. `full` keeps everything\n"
        "and applies only when set explicitly; with `RUNTRAIL_REDACT` set as well it is a\n"
        "config error and `redacted` applies.\n\n"
        "### Command lines and URLs\n\n"
        "The argv of `execve`/`posix_spawn`/`proc_start` events, the command of `system` and\n"
        "`popen`, and the request target of `outbound`/`inbound` HTTP lines are rewritten at\n"
        "seal time (the interposer cannot hold the key); the value becomes `hmac:` and 32 hex\n"
        "digits (equal to the payload token's digits for the same value):\n\n"
        "- options with a sensitive name: `--password X`, `--password=X`, `--db-password X`,\n"
        "  `--oauth2-bearer X` (single-letter options such as `-p X` are not: `-p` is a port\n"
        "  as often as a password; `--no-password` is a switch);\n"
        "- assignments: `PGPASSWORD=X psql`, `env API_TOKEN=X cmd`, form data `a=1&token=X`;\n"
        "- header forms: `-H \"Authorization: Bearer X\"` (the scheme word is kept), `Cookie: X`;\n"
        "- URLs: the password of `scheme://user:X@host` and query parameters with a sensitive\n"
        "  name (`?api_key=X`, `X-Amz-Signature=X`, `X-Amz-Security-Token=X`; `X-Amz-Credential`\n"
        "  is an access key id and a scope, not a secret, and stays);\n"
        "- JSON documents (`curl -d '{\"password\":\"X\"}'`), redacted as payloads are;\n"
        "- program forms: `mysql -pX` (and the other MySQL/MariaDB clients), `curl -u user:X`,\n"
        "  `--user`/`--proxy-user` and `-b X` (cookies), `sshpass -p X`;\n"
        "- command lines (`sh -c '...'`, `system()`, any argv element holding spaces) are split\n"
        "  into words as the shell does and each word is treated as above; a rewritten word is\n"
        "  written back single-quoted, the other bytes are kept as they were.\n\n"
        "An empty value is kept as it is. A switch that looks like a sensitive option\n"
        "(`psql --password DB`) costs the next word its clear text, never the reverse.\n"
        "Not rewritten: DNS names, file paths, and log lines (LOGS) the function prints. The\n"
        "SHA-256 of a whole payload (modes `redacted` and `hash`) is not keyed: it can confirm a\n"
        "guess of the entire payload, never a part of it.\n\n"
        "### Built-in sensitive names\n\n"
        "| name | matches | for example |\n"
        "| --- | --- | --- |\n",
        f);
#define _(name, match, doc) fprintf(f, "| `%s` | %s | %s |\n", name, #match, doc);
    RT_EXT_SENSITIVE(_)
#undef _
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* name lower-cased, letters and digits only, "%XX" decoded; out has room for len + 1. */
static size_t normalise(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (unsigned char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (c >= 'A' && c <= 'Z')
            out[n++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

/* The names by first letter: bit i of by_first[c] is set when sensitive[i].name starts with c
 * (a normalised name holds only a-z and 0-9). */
static uint32_t by_first[256];
static pthread_once_t by_first_once = PTHREAD_ONCE_INIT;

static void by_first_init(void)
{
    _Static_assert(sizeof sensitive / sizeof *sensitive <= 32, "one bit per name");
    for (size_t i = 0; i < sizeof sensitive / sizeof *sensitive; i++)
        by_first[(unsigned char)sensitive[i].name[0]] |= 1u << i;
}

/* Whether the normalised name (n bytes) is or holds a built-in sensitive name. This runs for
 * every key of every payload: one pass over the key, trying only the names that start with
 * the letter at hand (strstr and strcmp against all 31 names were about 1500 instructions a
 * key, an eighth of a payload's redaction). */
static bool builtin_match(const char *norm, size_t n)
{
    pthread_once(&by_first_once, by_first_init);
    for (size_t at = 0; at < n; at++) {
        for (uint32_t m = by_first[(unsigned char)norm[at]]; m; m &= m - 1) {
            const struct sensitive *s = &sensitive[__builtin_ctz(m)];
            if (s->part ? at + s->len <= n && !memcmp(norm + at, s->name, s->len)
                        : at == 0 && n == s->len && !memcmp(norm, s->name, n))
                return true;
        }
    }
    return false;
}

/* Whether the normalised name equals one of the plain (undotted) entries of list. */
static bool user_match(const char *norm, const char *list)
{
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (!memchr(p, '.', (size_t)(end - p))) {
            char buf[NAME_STACK];
            size_t len = (size_t)(end - p);
            char *n = len < sizeof buf ? buf : malloc(len + 1);
            if (n) {
                bool eq = normalise(p, len, n) > 0 && !strcmp(n, norm);
                if (n != buf)
                    free(n);
                if (eq)
                    return true;
            }
        }
        p = *end ? end + 1 : end;
    }
    return false;
}

bool rt_ext_sensitive_name(const char *name, size_t len, const char *user_list)
{
    char buf[NAME_STACK];
    char *norm = len < sizeof buf ? buf : malloc(len + 1);
    if (!norm)
        return true; /* cannot tell: the safe answer */
    bool hit = false;
    size_t n = normalise(name, len, norm);
    if (n > 0)
        hit = builtin_match(norm, n) || user_match(norm, user_list);
    if (norm != buf)
        free(norm);
    return hit;
}

void rt_ext_redacted_token(const struct rt_ext_hash_key *key, const void *bytes, size_t len,
                           char out[RT_EXT_REDACTED_LEN + 1])
{
    if (!key || key->source == RT_EXT_KEY_NONE) {
        snprintf(out, RT_EXT_REDACTED_LEN + 1, "<redacted>");
        return;
    }
    uint8_t mac[RT_SHA256_LEN];
    rt_ext_keyed_hash(key, bytes, len, mac);
    memcpy(out, "<redacted:hmac:", 15);
    rt_hex(mac, 16, out + 15);
    out[15 + 32] = '>';
    out[15 + 32 + 1] = '\0';
}

/* ---- RUNTRAIL_REDACT: plain names and dotted paths ---- */

struct rule {
    char *seg[MAX_SEGMENTS]; /* normalised; one segment = a plain name anywhere */
    size_t n_seg;
};

struct ctx {
    struct rule rules[MAX_RULES];
    size_t n_rules;
    char *names; /* storage of the normalised segments */
    const char *user_list;
    const struct rt_ext_hash_key *key;
    unsigned replaced;
    bool unsearched; /* a part of the document was not searched: keep its hash only */
};

/* Splits "a,b.c, d" into normalised rules. Returns -1 when an entry is unusable (an empty
 * segment, too many entries or segments); usable entries are kept either way. */
static int parse_rules(struct ctx *c, const char *list)
{
    const char *p = list ? list : "";
    int bad = 0;
    c->names = malloc(strlen(p) + 1 + MAX_RULES * MAX_SEGMENTS);
    char *store = c->names;
    if (!store)
        return -1;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a && c->n_rules == MAX_RULES) {
            bad = -1;
        } else if (b > a) {
            struct rule *r = &c->rules[c->n_rules];
            memset(r, 0, sizeof *r);
            bool ok = true;
            for (const char *s = a; ok;) {
                const char *dot = memchr(s, '.', (size_t)(b - s));
                const char *se = dot ? dot : b;
                if (r->n_seg == MAX_SEGMENTS) {
                    ok = false;
                    break;
                }
                size_t n = normalise(s, (size_t)(se - s), store);
                if (n == 0) {
                    ok = false;
                    break;
                }
                r->seg[r->n_seg++] = store;
                store += n + 1;
                if (!dot)
                    break;
                s = dot + 1;
            }
            if (ok)
                c->n_rules++;
            else
                bad = -1;
        }
        p = *end ? end + 1 : end;
    }
    return bad;
}

int rt_ext_redact_list_check(const char *list)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    int rc = parse_rules(c, list);
    free(c->names);
    free(c);
    return rc;
}

/* The first MAX_SEGMENTS keys of the path from the root to the current node (deeper keys
 * cannot be part of a dotted rule), and the depth. */
struct path {
    char *norm[MAX_SEGMENTS];
    size_t depth;
};

/* Whether the key at the end of pa (normalised: norm, n bytes) is to be redacted. */
static bool key_matches(const struct ctx *c, const struct path *pa, const char *norm, size_t n)
{
    if (builtin_match(norm, n))
        return true;
    for (size_t i = 0; i < c->n_rules; i++) {
        const struct rule *r = &c->rules[i];
        if (r->n_seg == 1) {
            if (!strcmp(r->seg[0], norm))
                return true;
            continue;
        }
        if (pa->depth + 1 != r->n_seg)
            continue;
        bool all = true;
        for (size_t k = 0; k + 1 < r->n_seg && all; k++)
            all = !strcmp(r->seg[k], pa->norm[k]);
        if (all && !strcmp(r->seg[r->n_seg - 1], norm))
            return true;
    }
    return false;
}

static json_t *token_for(struct ctx *c, json_t *value)
{
    char tok[RT_EXT_REDACTED_LEN + 1];
    if (json_is_string(value)) {
        rt_ext_redacted_token(c->key, json_string_value(value), json_string_length(value), tok);
    } else {
        char *enc = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if (!enc)
            return NULL;
        rt_ext_redacted_token(c->key, enc, strlen(enc), tok);
        free(enc);
    }
    c->replaced++;
    return json_string(tok);
}

static void walk(struct ctx *c, json_t *node, struct path *pa, int nested);

static bool looks_like_json(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i < len && (s[i] == '{' || s[i] == '[');
}

/* A string that holds JSON is parsed, walked with the same path and re-encoded if changed. */
static void walk_string(struct ctx *c, json_t *str, struct path *pa, int nested)
{
    const char *s = json_string_value(str);
    size_t len = json_string_length(str);
    if (!looks_like_json(s, len))
        return;
    json_t *inner = json_loadb(s, len, JSON_ALLOW_NUL, NULL);
    if (!inner)
        return;
    if (nested >= MAX_NESTED_JSON) {
        c->unsearched = true;
        json_decref(inner);
        return;
    }
    unsigned before = c->replaced;
    walk(c, inner, pa, nested + 1);
    if (c->replaced != before) {
        char *enc = json_dumps(inner, JSON_COMPACT | JSON_ENCODE_ANY);
        if (enc) {
            json_string_setn(str, enc, strlen(enc));
            free(enc);
        } else {
            c->unsearched = true; /* the string keeps its secrets: do not store it */
        }
    }
    json_decref(inner);
}

static void walk(struct ctx *c, json_t *node, struct path *pa, int nested)
{
    if (c->unsearched)
        return;
    if (pa->depth >= MAX_DEPTH) {
        c->unsearched = true;
        return;
    }
    if (json_is_array(node)) {
        size_t n = json_array_size(node);
        for (size_t i = 0; i < n; i++)
            walk(c, json_array_get(node, i), pa, nested);
        return;
    }
    if (json_is_string(node)) {
        walk_string(c, node, pa, nested);
        return;
    }
    if (!json_is_object(node))
        return;
    const char *key;
    size_t key_len;
    json_t *value;
    void *tmp;
    json_object_keylen_foreach_safe(node, tmp, key, key_len, value)
    {
        char buf[NAME_STACK];
        char *norm = key_len < sizeof buf ? buf : malloc(key_len + 1);
        if (!norm) {
            c->unsearched = true;
            return;
        }
        size_t n = normalise(key, key_len, norm);
        if (key_matches(c, pa, norm, n)) {
            json_t *tok = token_for(c, value);
            if (tok)
                json_object_setn_new_nocheck(node, key, key_len, tok);
            else
                c->unsearched = true;
        } else {
            /* Descend: the key is part of the path for dotted rules (first segments only). */
            char *saved = pa->depth < MAX_SEGMENTS ? pa->norm[pa->depth] : NULL;
            if (pa->depth < MAX_SEGMENTS)
                pa->norm[pa->depth] = norm;
            pa->depth++;
            walk(c, value, pa, nested);
            pa->depth--;
            if (pa->depth < MAX_SEGMENTS)
                pa->norm[pa->depth] = saved;
        }
        if (norm != buf)
            free(norm);
    }
}

/* Whether a text that is not JSON names a sensitive key: any word (a run of letters, digits,
 * `_`, `-`, `.`, `%`) that is a sensitive name. */
static bool text_names_secret(const char *s, size_t len, const char *user_list)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !(s[i] == '_' || s[i] == '-' || s[i] == '.' || s[i] == '%' ||
                            (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                            (s[i] >= 'A' && s[i] <= 'Z')))
            i++;
        size_t start = i;
        while (i < len && (s[i] == '_' || s[i] == '-' || s[i] == '.' || s[i] == '%' ||
                           (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                           (s[i] >= 'A' && s[i] <= 'Z')))
            i++;
        if (i > start && rt_ext_sensitive_name(s + start, i - start, user_list))
            return true;
    }
    return false;
}

/* Redacted mode. Returns 0 and sets *enc (NULL: keep the original bytes), or -1: store the
 * hash only. *doc (if not NULL) receives the document as redacted, when it parsed and was
 * searched whole (what *enc or the original bytes hold); the caller json_decref()s it. */
static int redact_payload(const struct rt_redact *r, const uint8_t *data, size_t len, char **enc,
                          unsigned *replaced, json_t **doc)
{
    *enc = NULL;
    json_t *root = json_loadb((const char *)data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!root)
        return text_names_secret((const char *)data, len, r->paths) ? -1 : 0;
    struct ctx *c = calloc(1, sizeof *c);
    struct path *pa = calloc(1, sizeof *pa);
    int rc = -1;
    if (c && pa) {
        c->key = r->key;
        c->user_list = r->paths;
        parse_rules(c, r->paths); /* a bad entry was counted at start; the others apply */
        walk(c, root, pa, 0);
        *replaced = c->replaced;
        if (!c->unsearched && c->replaced == 0)
            rc = 0;
        else if (!c->unsearched && (*enc = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY)))
            rc = 0;
    }
    if (c)
        free(c->names);
    free(c);
    free(pa);
    if (doc && rc == 0)
        *doc = root;
    else
        json_decref(root);
    return rc;
}

int rt_ext_redact_json(const struct rt_ext_hash_key *key, const char *user_list, const char *s,
                       size_t len, char **out)
{
    *out = NULL;
    if (!looks_like_json(s, len))
        return 0;
    struct rt_redact r = {.mode = RT_PAYLOAD_REDACTED, .paths = user_list, .key = key};
    unsigned replaced = 0;
    if (redact_payload(&r, (const uint8_t *)s, len, out, &replaced, NULL) != 0)
        return -1;
    if (!*out && replaced == 0) /* not JSON after all, or nothing sensitive */
        return 0;
    return (int)replaced;
}

int rt_ext_capture_payload(const struct rt_redact *r, const uint8_t *data, size_t len,
                           struct rt_payload *p, unsigned *redacted_fields)
{
    return rt_ext_capture_payload_doc(r, data, len, p, redacted_fields, NULL);
}

int rt_ext_capture_payload_doc(const struct rt_redact *r, const uint8_t *data, size_t len,
                               struct rt_payload *p, unsigned *redacted_fields, json_t **doc)
{
    if (doc)
        *doc = NULL;
    memset(p, 0, sizeof *p);
    p->present = true;
    p->mode = r->mode;
    p->original_len = len;
    if (redacted_fields)
        *redacted_fields = 0;
    if (r->mode == RT_PAYLOAD_NONE)
        return RT_OK;
    rt_sha256(data, len, p->sha256);
    if (r->mode == RT_PAYLOAD_HASH)
        return RT_OK;
    const uint8_t *keep = data;
    size_t keep_len = len;
    char *enc = NULL;
    if (r->mode == RT_PAYLOAD_REDACTED) {
        unsigned replaced = 0;
        if (redact_payload(r, data, len, &enc, &replaced, doc) != 0) {
            p->mode = RT_PAYLOAD_HASH; /* never the unredacted bytes */
            return RT_OK;
        }
        if (enc) {
            keep = (const uint8_t *)enc;
            keep_len = strlen(enc);
        }
        if (redacted_fields)
            *redacted_fields = replaced;
    }
    p->data = malloc(keep_len ? keep_len : 1);
    if (!p->data) {
        free(enc);
        p->mode = RT_PAYLOAD_HASH;
        if (doc && *doc) { /* nothing is stored: nor is there a document of it */
            json_decref(*doc);
            *doc = NULL;
        }
        return RT_ERR_NOMEM;
    }
    if (keep_len)
        memcpy(p->data, keep, keep_len);
    p->len = keep_len;
    free(enc);
    return RT_OK;
}
