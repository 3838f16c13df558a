/* S3's XML documents, parsed with expat: ListObjectsV2 results (keys, sizes, ETags, common
 * prefixes, truncation and the continuation token) and <Error> documents (code, message, the
 * bucket's region). Element text is collected per element and bounded; a DOCTYPE stops the
 * parser (no entities), so hostile documents cannot expand or grow without limit.
 *
 * Keys are anything a writer chose, and XML 1.0 cannot carry control characters: listings are
 * requested with encoding-type=url, and when the answer says <EncodingType>url</EncodingType>
 * the keys and prefixes are percent-decoded here (S3 writes a space as '+'). A server that
 * ignores encoding-type sends such a key raw or as a character reference (&#27;) that expat
 * rightly refuses; then the listing is parsed once more with each character XML cannot carry
 * replaced by U+FFFD, so one hostile key becomes one key that no caller accepts instead of a
 * listing that hides every other key. */
#include "store/s3.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16
#define MAX_TEXT (64 * 1024)
#define MAX_OBJECTS 100000

struct parse {
    XML_Parser parser;
    char path[MAX_DEPTH][32]; /* element names, cut at 31 characters */
    int depth;
    char *text;
    size_t text_len;
    bool failed;
    bool url_encoded; /* <EncodingType>url</EncodingType> */
    struct rt_s3_list *list;
    struct rt_s3_error *err;
};

static bool at(const struct parse *p, const char *a, const char *b, const char *c)
{
    const char *want[3] = {a, b, c};
    int n = c ? 3 : b ? 2 : 1;
    if (p->depth != n)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(p->path[i], want[i]))
            return false;
    return true;
}

static void fail(struct parse *p)
{
    p->failed = true;
    XML_StopParser(p->parser, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct parse *p = ud;
    if (p->depth >= MAX_DEPTH) {
        fail(p);
        return;
    }
    const char *colon = strchr(name, ':'); /* tolerate a namespace prefix */
    snprintf(p->path[p->depth++], sizeof p->path[0], "%s", colon ? colon + 1 : name);
    p->text_len = 0;
    if (p->list && at(p, "ListBucketResult", "Contents", NULL)) {
        if (p->list->n_objects >= MAX_OBJECTS) {
            fail(p);
            return;
        }
        struct rt_s3_object *no = realloc(p->list->objects, (p->list->n_objects + 1) * sizeof *no);
        if (!no) {
            fail(p);
            return;
        }
        p->list->objects = no;
        memset(&no[p->list->n_objects++], 0, sizeof *no);
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct parse *p = ud;
    if (len <= 0)
        return;
    if (p->text_len + (size_t)len > MAX_TEXT) {
        fail(p);
        return;
    }
    if (!p->text && !(p->text = malloc(MAX_TEXT + 1))) {
        fail(p);
        return;
    }
    memcpy(p->text + p->text_len, s, (size_t)len);
    p->text_len += (size_t)len;
}

static void set_str(struct parse *p, char **dst)
{
    free(*dst);
    *dst = strndup(p->text ? p->text : "", p->text_len);
    if (!*dst)
        fail(p);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct parse *p = ud;
    struct rt_s3_list *l = p->list;
    if (l) {
        struct rt_s3_object *o = l->n_objects ? &l->objects[l->n_objects - 1] : NULL;
        if (o && at(p, "ListBucketResult", "Contents", "Key")) {
            set_str(p, &o->key);
        } else if (o && at(p, "ListBucketResult", "Contents", "ETag")) {
            set_str(p, &o->etag);
        } else if (o && at(p, "ListBucketResult", "Contents", "Size")) {
            uint64_t v = 0;
            for (size_t i = 0; i < p->text_len; i++) {
                char c = p->text[i];
                if (c < '0' || c > '9' || v > UINT64_MAX / 10 - 10) {
                    fail(p);
                    break;
                }
                v = v * 10 + (uint64_t)(c - '0');
            }
            o->size = v;
        } else if (at(p, "ListBucketResult", "CommonPrefixes", "Prefix")) {
            if (l->n_prefixes >= MAX_OBJECTS) {
                fail(p);
            } else {
                char **np = realloc(l->prefixes, (l->n_prefixes + 1) * sizeof *np);
                if (!np) {
                    fail(p);
                } else {
                    l->prefixes = np;
                    np[l->n_prefixes] = NULL;
                    set_str(p, &np[l->n_prefixes]);
                    if (np[l->n_prefixes])
                        l->n_prefixes++;
                }
            }
        } else if (at(p, "ListBucketResult", "IsTruncated", NULL)) {
            l->truncated = p->text_len == 4 && !memcmp(p->text, "true", 4);
        } else if (at(p, "ListBucketResult", "NextContinuationToken", NULL)) {
            set_str(p, &l->next_token);
        } else if (at(p, "ListBucketResult", "EncodingType", NULL)) {
            p->url_encoded = p->text_len == 3 && !memcmp(p->text, "url", 3);
        }
    }
    if (p->err) {
        if (at(p, "Error", "Code", NULL))
            set_str(p, &p->err->code);
        else if (at(p, "Error", "Message", NULL))
            set_str(p, &p->err->message);
        else if (at(p, "Error", "Region", NULL))
            set_str(p, &p->err->region);
        else if (at(p, "Error", "Key", NULL))
            set_str(p, &p->err->key);
        else if (at(p, "Error", "BucketName", NULL))
            set_str(p, &p->err->bucket);
    }
    if (p->depth > 0)
        p->depth--;
    p->text_len = 0;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    fail(ud);
}

/* Parses xml; *xml_error (may be NULL) gets expat's error code. */
static int run(const char *xml, size_t len, struct parse *p, enum XML_Error *xml_error)
{
    if (len > 64u * 1024 * 1024)
        return RT_ERR_S3_XML;
    p->parser = XML_ParserCreate("UTF-8");
    if (!p->parser)
        return RT_ERR_NOMEM;
    XML_SetUserData(p->parser, p);
    XML_SetElementHandler(p->parser, on_start, on_end);
    XML_SetCharacterDataHandler(p->parser, on_text);
    XML_SetStartDoctypeDeclHandler(p->parser, on_doctype);
    enum XML_Status st = XML_Parse(p->parser, xml, (int)len, XML_TRUE);
    if (xml_error)
        *xml_error = XML_GetErrorCode(p->parser);
    XML_ParserFree(p->parser);
    free(p->text);
    p->text = NULL;
    p->text_len = 0;
    return st == XML_STATUS_OK && !p->failed ? RT_OK : RT_ERR_S3_XML;
}

/* Whether XML 1.0 can carry code point c (the Char production). */
static bool xml_char(unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* A copy of xml in which every character XML cannot carry — a raw control byte or a numeric
 * character reference to such a code point — is U+FFFD. Only the characters are rewritten;
 * the document is still parsed by expat. *n_replaced counts them. malloc'ed or NULL. */
static char *replace_bad_chars(const char *xml, size_t len, size_t *out_len, size_t *n_replaced)
{
    static const char fffd[] = "\xEF\xBF\xBD";
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    *n_replaced = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)xml[i];
        if (c < 0x20 && !xml_char(c)) {
            memcpy(out + w, fffd, 3);
            w += 3;
            i++;
            ++*n_replaced;
            continue;
        }
        if (c == '&' && i + 2 < len && xml[i + 1] == '#') {
            bool hex = xml[i + 2] == 'x';
            size_t j = i + 2 + hex;
            unsigned long cp = 0;
            size_t digits = 0;
            for (; j < len && digits < 8; j++, digits++) {
                char d = xml[j];
                int v = d >= '0' && d <= '9'          ? d - '0'
                        : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                        : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                      : -1;
                if (v < 0)
                    break;
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
            }
            if (digits && j < len && xml[j] == ';' && !xml_char(cp)) {
                memcpy(out + w, fffd, 3);
                w += 3;
                i = j + 1;
                ++*n_replaced;
                continue;
            }
        }
        out[w++] = (char)c;
        i++;
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

/* S3's encoding-type=url: %XX escapes and '+' for a space. A malformed escape, or one that
 * decodes to NUL (which would cut the key short), leaves the text as it came: it then holds a
 * '%', which no key of the layout does. Returns false when out of memory. */
static bool url_decode_in_place(char *s)
{
    if (!s)
        return true;
    char *copy = strdup(s);
    if (!copy)
        return false;
    size_t w = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '+') {
            s[w++] = ' ';
        } else if (s[i] == '%') {
            unsigned v = 0;
            for (int k = 1; k <= 2; k++) {
                char d = s[i + (size_t)k];
                unsigned x = d >= '0' && d <= '9'   ? (unsigned)(d - '0')
                             : d >= 'a' && d <= 'f' ? (unsigned)(d - 'a' + 10)
                             : d >= 'A' && d <= 'F' ? (unsigned)(d - 'A' + 10)
                                                    : 16;
                if (x == 16) {
                    strcpy(s, copy);
                    free(copy);
                    return true;
                }
                v = v * 16 + x;
            }
            if (v == 0) {
                strcpy(s, copy);
                free(copy);
                return true;
            }
            s[w++] = (char)v;
            i += 2;
        } else {
            s[w++] = s[i];
        }
    }
    s[w] = '\0';
    free(copy);
    return true;
}

void rt_s3_list_free(struct rt_s3_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_objects; i++) {
        free(l->objects[i].key);
        free(l->objects[i].etag);
    }
    free(l->objects);
    for (size_t i = 0; i < l->n_prefixes; i++)
        free(l->prefixes[i]);
    free(l->prefixes);
    free(l->next_token);
    free(l->region);
    memset(l, 0, sizeof *l);
}

int rt_s3_parse_list(const char *xml, size_t len, struct rt_s3_list *out)
{
    memset(out, 0, sizeof *out);
    struct parse p = {.list = out};
    enum XML_Error xe = XML_ERROR_NONE;
    int rc = run(xml, len, &p, &xe);
    if (rc == RT_ERR_S3_XML && (xe == XML_ERROR_BAD_CHAR_REF || xe == XML_ERROR_INVALID_TOKEN)) {
        size_t clean_len = 0, replaced = 0;
        char *clean = replace_bad_chars(xml, len, &clean_len, &replaced);
        if (clean && replaced) {
            rt_s3_list_free(out);
            p = (struct parse){.list = out};
            rc = run(clean, clean_len, &p, NULL);
            out->replaced_chars = replaced;
        }
        free(clean);
    }
    for (size_t i = 0; rc == RT_OK && p.url_encoded && i < out->n_objects; i++)
        if (!url_decode_in_place(out->objects[i].key))
            rc = RT_ERR_NOMEM;
    for (size_t i = 0; rc == RT_OK && p.url_encoded && i < out->n_prefixes; i++)
        if (!url_decode_in_place(out->prefixes[i]))
            rc = RT_ERR_NOMEM;
    /* objects without a key are useless to callers */
    size_t w = 0;
    for (size_t i = 0; i < out->n_objects; i++) {
        if (out->objects[i].key)
            out->objects[w++] = out->objects[i];
        else
            free(out->objects[i].etag);
    }
    out->n_objects = w;
    if (rc != RT_OK)
        rt_s3_list_free(out);
    return rc;
}

void rt_s3_error_free(struct rt_s3_error *e)
{
    if (!e)
        return;
    free(e->code);
    free(e->message);
    free(e->region);
    free(e->key);
    free(e->bucket);
    memset(e, 0, sizeof *e);
}

int rt_s3_parse_error(const char *xml, size_t len, struct rt_s3_error *out)
{
    memset(out, 0, sizeof *out);
    struct parse p = {.err = out};
    int rc = run(xml, len, &p, NULL);
    if (rc != RT_OK)
        rt_s3_error_free(out);
    return rc;
}
