/* Protocol sniffing on the first bytes of a connection's request and response (written and
 * read on a connection the program opened, read and written on one it accepted): TLS
 * ClientHello SNI, the plaintext HTTP request line and Host header, the HTTP status line, and
 * the query name of a DNS packet. Pure functions over a buffer, bounded, no allocation,
 * async-signal-safe; hostile input never reads outside [buf, buf+len). */
#ifndef RUNTRAIL_RECORDER_PRELOAD_SNIFF_H
#define RUNTRAIL_RECORDER_PRELOAD_SNIFF_H

#include <stddef.h>

/* Each returns the length written to out (NUL-terminated, at most cap-1 bytes), or 0 when
 * the buffer is not that protocol (or the field is absent). */

/* Server name from a TLS ClientHello record. */
size_t rt_sniff_tls_sni(const unsigned char *buf, size_t len, char *out, size_t cap);
/* "METHOD TARGET VERSION" of an HTTP/1.x request; *host (hcap bytes) gets the Host header
 * value (empty if absent). */
size_t rt_sniff_http_request(const char *buf, size_t len, char *out, size_t cap, char *host,
                             size_t hcap);
/* "HTTP/1.1 200 OK" from the start of a response. */
size_t rt_sniff_http_status(const char *buf, size_t len, char *out, size_t cap);
/* Dotted query name of the first question of a DNS query (UDP payload). */
size_t rt_sniff_dns_qname(const unsigned char *buf, size_t len, char *out, size_t cap);

#endif
