/* Protocol sniffers for the connection summaries (see sniff.h). These read a handful of fixed
 * fields of the first bytes on a connection; they do not parse or validate the protocols. */
#include "recorder/preload/sniff.h"

#include <stdint.h>
#include <string.h>

static size_t put(char *out, size_t cap, const char *s, size_t n)
{
    if (!cap)
        return 0;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = 0;
    return n;
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

size_t rt_sniff_tls_sni(const unsigned char *buf, size_t len, char *out, size_t cap)
{
    /* record header: type 22 (handshake), version 3.x, length */
    if (len < 5 || buf[0] != 0x16 || buf[1] != 0x03)
        return 0;
    size_t end = 5 + be16(buf + 3);
    if (end > len)
        end = len; /* the first write may hold only part of the record */
    size_t p = 5;
    /* handshake header: type 1 (ClientHello), 24-bit length */
    if (p + 4 > end || buf[p] != 0x01)
        return 0;
    p += 4;
    p += 2 + 32; /* client version, random */
    if (p + 1 > end)
        return 0;
    p += 1 + buf[p]; /* session id */
    if (p + 2 > end)
        return 0;
    p += 2 + be16(buf + p); /* cipher suites */
    if (p + 1 > end)
        return 0;
    p += 1 + buf[p]; /* compression methods */
    if (p + 2 > end)
        return 0;
    size_t ext_end = p + 2 + be16(buf + p);
    p += 2;
    if (ext_end > end)
        ext_end = end;
    while (p + 4 <= ext_end) {
        unsigned type = be16(buf + p), elen = be16(buf + p + 2);
        p += 4;
        if (p + elen > ext_end)
            return 0;
        if (type == 0) { /* server_name: list length, then (type, length, name) entries */
            size_t q = p + 2, lend = p + elen;
            while (q + 3 <= lend) {
                unsigned ntype = buf[q], nlen = be16(buf + q + 1);
                q += 3;
                if (q + nlen > lend)
                    return 0;
                if (ntype == 0 && nlen > 0)
                    return put(out, cap, (const char *)buf + q, nlen);
                q += nlen;
            }
            return 0;
        }
        p += elen;
    }
    return 0;
}

static const char *const methods[] = {"GET ",     "POST ",  "PUT ",     "DELETE ", "HEAD ",
                                      "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};

static size_t line_len(const char *buf, size_t len)
{
    size_t n = 0;
    while (n < len && buf[n] != '\r' && buf[n] != '\n')
        n++;
    return n;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

size_t rt_sniff_http_request(const char *buf, size_t len, char *out, size_t cap, char *host,
                             size_t hcap)
{
    if (hcap)
        host[0] = 0;
    int ok = 0;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        size_t m = strlen(methods[i]);
        if (len > m && memcmp(buf, methods[i], m) == 0) {
            ok = 1;
            break;
        }
    }
    if (!ok)
        return 0;
    size_t first = line_len(buf, len);
    size_t n = put(out, cap, buf, first);
    /* headers: look for "Host:" at the start of a line */
    size_t p = first;
    while (p < len) {
        while (p < len && (buf[p] == '\r' || buf[p] == '\n'))
            p++;
        size_t l = line_len(buf + p, len - p);
        if (l == 0)
            break;
        if (l >= 5 && lower(buf[p]) == 'h' && lower(buf[p + 1]) == 'o' &&
            lower(buf[p + 2]) == 's' && lower(buf[p + 3]) == 't' && buf[p + 4] == ':') {
            size_t v = p + 5, vend = p + l;
            while (v < vend && (buf[v] == ' ' || buf[v] == '\t'))
                v++;
            while (vend > v && (buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
                vend--;
            put(host, hcap, buf + v, vend - v);
            break;
        }
        p += l;
    }
    return n;
}

size_t rt_sniff_http_status(const char *buf, size_t len, char *out, size_t cap)
{
    if (len < 12 || memcmp(buf, "HTTP/", 5) != 0)
        return 0;
    return put(out, cap, buf, line_len(buf, len));
}

size_t rt_sniff_dns_qname(const unsigned char *buf, size_t len, char *out, size_t cap)
{
    /* header: id, flags (QR must be 0: a query), qdcount >= 1 */
    if (len < 12 || (buf[2] & 0x80) || be16(buf + 4) == 0 || !cap)
        return 0;
    size_t p = 12, n = 0;
    while (p < len) {
        unsigned label = buf[p++];
        if (label == 0)
            break;
        if (label & 0xc0 || p + label > len)
            return 0; /* compression never appears in a query's first name */
        if (n && n + 1 < cap)
            out[n++] = '.';
        for (unsigned i = 0; i < label && n + 1 < cap; i++)
            out[n++] = (char)buf[p + i];
        p += label;
    }
    out[n] = 0;
    return n;
}
