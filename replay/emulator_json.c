/* The emulator's pure helpers: parsing what extensions and runtimes send (register bodies,
 * error documents), building Lambda's error JSON, request and trace identifiers, and listen
 * addresses. No I/O beyond the random source, so unit tests and the fuzz harness use them
 * directly. All JSON goes through jansson. */
#include "replay/emulator.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int rt_emu_parse_register(const char *body, size_t len, unsigned *events, struct rt_errinfo *ei)
{
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return rt_fail(ei, RT_ERR_EMU_BAD_JSON, jerr.position, "%s", jerr.text);
    int rc = RT_OK;
    unsigned bits = 0;
    json_t *list = json_is_object(root) ? json_object_get(root, "events") : NULL;
    if (!json_is_array(list)) {
        rc = rt_fail(ei, RT_ERR_EMU_BAD_REQUEST, -1, "\"events\" must be an array");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *name = json_string_value(json_array_get(list, i));
        if (name && !strcmp(name, "INVOKE")) {
            bits |= RT_EMU_EV_INVOKE;
        } else if (name && !strcmp(name, "SHUTDOWN")) {
            bits |= RT_EMU_EV_SHUTDOWN;
        } else {
            rc = rt_fail(ei, RT_ERR_EMU_BAD_REQUEST, -1, "unknown event type at index %zu", i);
            goto out;
        }
    }
    *events = bits;
out:
    json_decref(root);
    return rc;
}

char *rt_emu_error_json(const char *type, const char *message)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "errorMessage", json_string(message ? message : ""));
    json_object_set_new(o, "errorType", json_string(type ? type : "Unhandled"));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void copy_type(char *type, size_t cap, const char *src)
{
    if (cap)
        snprintf(type, cap, "%s", src);
}

char *rt_emu_function_error(const char *body, size_t len, const char *header_type, char *type,
                            size_t type_cap, size_t *out_len)
{
    const char *fallback = header_type && *header_type ? header_type : "Unhandled";
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    if (json_is_object(root)) {
        const char *t = json_string_value(json_object_get(root, "errorType"));
        copy_type(type, type_cap, t && *t ? t : fallback);
        json_decref(root);
        char *copy = malloc(len + 1);
        if (!copy)
            return NULL;
        memcpy(copy, body, len);
        copy[len] = '\0';
        *out_len = len;
        return copy;
    }
    json_decref(root);
    copy_type(type, type_cap, fallback);
    /* Not a JSON object: the text (if valid UTF-8) becomes the message. */
    json_t *msg = body && len ? json_stringn(body, len) : json_string("");
    json_t *o = json_object();
    if (!o) {
        json_decref(msg);
        return NULL;
    }
    json_object_set_new(o, "errorMessage", msg ? msg : json_string("(invalid UTF-8 error body)"));
    json_object_set_new(o, "errorType", json_string(fallback));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s)
        *out_len = strlen(s);
    return s;
}

static void random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r <= 0) { /* never expected; fall back to a weak but unique-enough source */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            for (; got < n; got++)
                buf[got] =
                    (unsigned char)((uint64_t)ts.tv_nsec >> (got % 8 * 4)) ^ (unsigned char)rand();
            return;
        }
        got += (size_t)r;
    }
}

void rt_emu_uuid(char out[37])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void rt_emu_trace_id(char *out, size_t cap)
{
    unsigned char b[20];
    random_bytes(b, sizeof b);
    char hex[41];
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    snprintf(out, cap, "Root=1-%08lx-%.24s;Parent=%.16s;Sampled=0",
             (unsigned long)time(NULL) & 0xffffffffUL, hex, hex + 24);
}

int rt_emu_parse_listen(const char *addr, char *host, size_t host_cap, unsigned *port)
{
    if (!addr || !*addr || host_cap < 2)
        return RT_ERR_EMU_BAD_REQUEST;
    const char *colon = strrchr(addr, ':');
    const char *port_text = colon ? colon + 1 : addr;
    size_t host_len = colon ? (size_t)(colon - addr) : 0;
    if (host_len >= host_cap)
        return RT_ERR_EMU_BAD_REQUEST;
    if (host_len) {
        memcpy(host, addr, host_len);
        host[host_len] = '\0';
    } else {
        snprintf(host, host_cap, "127.0.0.1");
    }
    if (!*port_text || strlen(port_text) > 5)
        return RT_ERR_EMU_BAD_REQUEST;
    unsigned p = 0;
    for (const char *c = port_text; *c; c++) {
        if (*c < '0' || *c > '9')
            return RT_ERR_EMU_BAD_REQUEST;
        p = p * 10 + (unsigned)(*c - '0');
    }
    if (p > 65535)
        return RT_ERR_EMU_BAD_REQUEST;
    *port = p;
    return RT_OK;
}
