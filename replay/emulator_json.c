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

/* Only loopback destinations: Lambda's sandbox.localdomain, or this machine by name. */
static bool destination_ok(const char *uri)
{
    static const char *const hosts[] = {"http://sandbox.localdomain", "http://127.0.0.1",
                                        "http://localhost"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t n = strlen(hosts[i]);
        if (!strncmp(uri, hosts[i], n) && (uri[n] == ':' || uri[n] == '/' || !uri[n]))
            return true;
    }
    return false;
}

int rt_emu_parse_telemetry(const char *body, size_t len, struct rt_emu_tele_sub *out, char *err,
                           size_t err_cap)
{
    json_error_t je;
    json_t *root = body ? json_loadb(body, len, 0, &je) : NULL;
    int rc = RT_ERR_EMU_BAD_REQUEST;
    memset(out, 0, sizeof *out);
    json_t *types = json_object_get(root, "types");
    json_t *dest = json_object_get(root, "destination");
    const char *protocol = json_string_value(json_object_get(dest, "protocol"));
    const char *uri = json_string_value(json_object_get(dest, "URI"));
    json_t *buf = json_object_get(root, "buffering");
    json_t *v_timeout = json_object_get(buf, "timeoutMs");
    json_t *v_items = json_object_get(buf, "maxItems");
    json_t *v_bytes = json_object_get(buf, "maxBytes");
    json_int_t timeout_ms = v_timeout ? json_integer_value(v_timeout) : 1000;
    json_int_t max_items = v_items ? json_integer_value(v_items) : 10000;
    json_int_t max_bytes = v_bytes ? json_integer_value(v_bytes) : 262144;
    size_t i;
    json_t *v;
    bool known = true;
    json_array_foreach(types, i, v)
    {
        const char *s = json_string_value(v);
        if (s && !strcmp(s, "function"))
            out->function = true;
        else if (!s || (strcmp(s, "platform") && strcmp(s, "extension")))
            known = false;
    }
    if (!json_is_object(root)) {
        snprintf(err, err_cap, "body is not a JSON object%s%s", body && !root ? ": " : "",
                 body && !root ? je.text : "");
    } else if (!json_is_array(types) || !json_array_size(types) || !known) {
        snprintf(err, err_cap, "types: a non-empty list of platform, function, extension");
    } else if (!protocol || strcmp(protocol, "HTTP") || !uri || strlen(uri) >= sizeof out->uri ||
               !destination_ok(uri)) {
        snprintf(
            err, err_cap,
            "destination: {\"protocol\":\"HTTP\",\"URI\":\"http://sandbox.localdomain:PORT\"}");
    } else if (timeout_ms < 25 || timeout_ms > 30000 || max_items < 1000 || max_items > 10000 ||
               max_bytes < 262144 || max_bytes > 1048576) {
        /* Lambda's ranges: timeoutMs 25..30000, maxItems 1000..10000, maxBytes 256 KiB..1 MiB */
        snprintf(err, err_cap, "buffering: out of range");
    } else {
        snprintf(out->uri, sizeof out->uri, "%s", uri);
        out->timeout_ms = (unsigned)timeout_ms;
        out->max_items = (unsigned)max_items;
        out->max_bytes = (size_t)max_bytes;
        rc = RT_OK;
    }
    json_decref(root);
    return rc;
}
