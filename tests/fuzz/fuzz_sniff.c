/* fuzz-sources: recorder/preload/sniff.c */
/* fuzz-libs: */
/* libFuzzer harness for the interposer's protocol sniffers (TLS ClientHello SNI, HTTP request
 * line and Host, HTTP status line and code, DNS query name, AWS SigV4 requests): every input
 * goes through all of them with a large and a tiny output buffer; outputs must end with a NUL
 * within their capacity. The AWS sniffer also sees the input as a body written apart. */
#include "recorder/preload/sniff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *out, size_t cap, size_t n)
{
    if (n >= cap || out[n] != 0) /* captured bytes may hold NULs: check the terminator */
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact-size copy so ASan catches any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    static const size_t caps[] = {256, 3, 1};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        size_t cap = caps[c];
        char out[256], host[256];
        memset(out, 'Z', sizeof out);
        size_t n = rt_sniff_tls_sni(buf, size, out, cap);
        if (n)
            check(out, cap, n);
        n = rt_sniff_http_request((const char *)buf, size, out, cap, host, cap);
        if (n)
            check(out, cap, n);
        n = rt_sniff_http_status((const char *)buf, size, out, cap);
        if (n)
            check(out, cap, n);
        n = rt_sniff_dns_qname(buf, size, out, cap);
        if (n)
            check(out, cap, n);
    }
    int code = rt_sniff_http_code((const char *)buf, size);
    if (code && (code < 100 || code > 999))
        abort();
    struct rt_sniff_aws a;
    int is_aws = rt_sniff_aws_request((const char *)buf, size, &a);
    const char *fields[] = {a.service, a.region, a.key_id, a.action, a.resource};
    const size_t caps_aws[] = {sizeof a.service, sizeof a.region, sizeof a.key_id, sizeof a.action,
                               sizeof a.resource};
    for (size_t i = 0; i < 5; i++)
        if (!memchr(fields[i], 0, caps_aws[i]) || (!is_aws && fields[i][0]))
            abort();
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        char svc[256];
        size_t n = rt_sniff_aws_service((const char *)buf, size, svc, caps[c]);
        if (n)
            check(svc, caps[c], n);
    }
    /* the same bytes as the body of a query-protocol and of a JSON request */
    for (int proto = 0; proto < 2; proto++) {
        memset(&a, 0, sizeof a);
        a.proto = proto ? 'j' : 'q';
        memcpy(a.service, "ssm", 4);
        rt_sniff_aws_body((const char *)buf, size, &a);
        if (!memchr(a.action, 0, sizeof a.action) || !memchr(a.resource, 0, sizeof a.resource))
            abort();
    }
    free(buf);
    return 0;
}
