/* S3's XML documents, parsed with expat: ListObjectsV2 results (keys, sizes, ETags, common
 * prefixes, truncation and the continuation token) and <Error> documents (code, message, the
 * bucket's region). Element text is collected per element and bounded; a DOCTYPE stops the
 * parser (no entities), so hostile documents cannot expand or grow without limit. */
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

static int run(const char *xml, size_t len, struct parse *p)
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
    XML_ParserFree(p->parser);
    free(p->text);
    return st == XML_STATUS_OK && !p->failed ? RT_OK : RT_ERR_S3_XML;
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
    int rc = run(xml, len, &p);
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
    int rc = run(xml, len, &p);
    if (rc != RT_OK)
        rt_s3_error_free(out);
    return rc;
}
