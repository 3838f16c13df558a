/* Payload capture for the EVENT, RESPONSE and ERROR blocks (RUNTRAIL_PAYLOAD) and field
 * redaction (RUNTRAIL_REDACT). Redaction parses the payload with jansson, replaces the value
 * of every listed key (at any depth) or dotted path (from the root) by a keyed-hash token
 * "<redacted:hmac:...>" so that equal values stay comparable across invocations without being
 * readable, and re-serialises the document. Arrays are transparent to paths, and a string
 * that itself holds JSON (API Gateway's `body`) is searched as well. A payload that is not
 * JSON is kept as its hash only. Recursion is bounded, so hostile payloads cannot exhaust the
 * stack. */
#include "recorder/extension/extension.h"

#include "formats/digest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 64
#define MAX_SEGMENTS 16
#define MAX_DEPTH 48
#define MAX_NESTED_JSON 4 /* strings holding JSON holding strings holding JSON ... */

struct rule {
    const char *seg[MAX_SEGMENTS]; /* one segment = a plain key anywhere */
    size_t seg_len[MAX_SEGMENTS];
    size_t n_seg;
};

struct ctx {
    struct rule rules[MAX_RULES];
    size_t n_rules;
    bool any_plain;
    const uint8_t *key;
    size_t key_len;
    unsigned replaced;
};

void rt_ext_redacted_token(const uint8_t *key, size_t key_len, const void *bytes, size_t len,
                           char out[RT_EXT_REDACTED_LEN + 1])
{
    uint8_t mac[RT_SHA256_LEN];
    rt_hmac_sha256(key, key_len, bytes, len, mac);
    memcpy(out, "<redacted:hmac:", 15);
    rt_hex(mac, 16, out + 15);
    out[15 + 32] = '>';
    out[15 + 32 + 1] = '\0';
}

/* Splits "a,b.c, d" into rules; the strings stay in `paths`. */
static void parse_rules(struct ctx *c, const char *paths)
{
    const char *p = paths ? paths : "";
    while (*p && c->n_rules < MAX_RULES) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            struct rule *r = &c->rules[c->n_rules];
            memset(r, 0, sizeof *r);
            const char *s = a;
            bool ok = true;
            while (s <= b && ok) {
                const char *dot = memchr(s, '.', (size_t)(b - s));
                const char *se = dot ? dot : b;
                if (se == s || r->n_seg == MAX_SEGMENTS) {
                    ok = false;
                    break;
                }
                r->seg[r->n_seg] = s;
                r->seg_len[r->n_seg++] = (size_t)(se - s);
                if (!dot)
                    break;
                s = dot + 1;
            }
            if (ok && r->n_seg > 0) {
                if (r->n_seg == 1)
                    c->any_plain = true;
                c->n_rules++;
            }
        }
        p = *end ? end + 1 : end;
    }
}

static bool seg_eq(const struct rule *r, size_t i, const char *key, size_t key_len)
{
    return r->seg_len[i] == key_len && !memcmp(r->seg[i], key, key_len);
}

/* The path from the root to the current node: `depth` keys. */
struct path {
    const char *key[MAX_DEPTH];
    size_t len[MAX_DEPTH];
    size_t depth;
};

/* 2: the path equals a dotted rule (redact); 1: it is a strict prefix of one (descend). */
static int path_match(const struct ctx *c, const struct path *pa)
{
    int best = 0;
    for (size_t i = 0; i < c->n_rules; i++) {
        const struct rule *r = &c->rules[i];
        if (r->n_seg == 1) {
            if (pa->depth > 0 && seg_eq(r, 0, pa->key[pa->depth - 1], pa->len[pa->depth - 1]))
                return 2;
            continue;
        }
        if (pa->depth > r->n_seg)
            continue;
        bool prefix = true;
        for (size_t k = 0; k < pa->depth && prefix; k++)
            prefix = seg_eq(r, k, pa->key[k], pa->len[k]);
        if (!prefix)
            continue;
        if (pa->depth == r->n_seg)
            return 2;
        best = 1;
    }
    return best;
}

static json_t *token_for(struct ctx *c, json_t *value)
{
    char tok[RT_EXT_REDACTED_LEN + 1];
    if (json_is_string(value)) {
        rt_ext_redacted_token(c->key, c->key_len, json_string_value(value),
                              json_string_length(value), tok);
    } else {
        char *enc = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if (!enc)
            return NULL;
        rt_ext_redacted_token(c->key, c->key_len, enc, strlen(enc), tok);
        free(enc);
    }
    c->replaced++;
    return json_string(tok);
}

static void walk(struct ctx *c, json_t *node, struct path *pa, int nested);

/* A string that holds JSON is parsed, walked with the same path and re-encoded if changed. */
static void walk_string(struct ctx *c, json_t *str, struct path *pa, int nested)
{
    if (nested >= MAX_NESTED_JSON)
        return;
    const char *s = json_string_value(str);
    size_t len = json_string_length(str), i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    if (i == len || (s[i] != '{' && s[i] != '['))
        return;
    json_t *inner = json_loadb(s, len, JSON_ALLOW_NUL, NULL);
    if (!inner)
        return;
    unsigned before = c->replaced;
    walk(c, inner, pa, nested + 1);
    if (c->replaced != before) {
        char *enc = json_dumps(inner, JSON_COMPACT | JSON_ENCODE_ANY);
        if (enc) {
            json_string_setn(str, enc, strlen(enc));
            free(enc);
        }
    }
    json_decref(inner);
}

static void walk(struct ctx *c, json_t *node, struct path *pa, int nested)
{
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
    if (!json_is_object(node) || pa->depth >= MAX_DEPTH)
        return;
    const char *key;
    size_t key_len;
    json_t *value;
    void *tmp;
    json_object_keylen_foreach_safe(node, tmp, key, key_len, value)
    {
        pa->key[pa->depth] = key;
        pa->len[pa->depth] = key_len;
        pa->depth++;
        int m = path_match(c, pa);
        if (m == 2) {
            json_t *tok = token_for(c, value);
            if (tok)
                json_object_setn_new_nocheck(node, key, key_len, tok);
        } else if (m == 1 || c->any_plain) {
            walk(c, value, pa, nested);
        }
        pa->depth--;
    }
}

int rt_ext_capture_payload(const struct rt_redact *r, const uint8_t *data, size_t len,
                           struct rt_payload *p, unsigned *redacted_fields)
{
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
        json_t *root = json_loadb((const char *)data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!root) {
            p->mode = RT_PAYLOAD_HASH;
            return RT_OK;
        }
        struct ctx *c = calloc(1, sizeof *c);
        struct path *pa = calloc(1, sizeof *pa);
        if (!c || !pa) {
            free(c);
            free(pa);
            json_decref(root);
            p->mode = RT_PAYLOAD_HASH;
            return RT_ERR_NOMEM;
        }
        c->key = r->key;
        c->key_len = r->key_len;
        parse_rules(c, r->paths);
        if (c->n_rules > 0)
            walk(c, root, pa, 0);
        if (c->replaced > 0) {
            enc = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!enc) {
                p->mode = RT_PAYLOAD_HASH; /* never store the unredacted bytes */
                free(c);
                free(pa);
                json_decref(root);
                return RT_ERR_NOMEM;
            }
            keep = (const uint8_t *)enc;
            keep_len = strlen(enc);
        }
        if (redacted_fields)
            *redacted_fields = c->replaced;
        free(c);
        free(pa);
        json_decref(root);
    }
    p->data = malloc(keep_len ? keep_len : 1);
    if (!p->data) {
        free(enc);
        p->mode = RT_PAYLOAD_HASH;
        return RT_ERR_NOMEM;
    }
    if (keep_len)
        memcpy(p->data, keep, keep_len);
    p->len = keep_len;
    free(enc);
    return RT_OK;
}
