/* fuzz-sources: recorder/preload/sniff.c */
/* fuzz-libs: */
/* libFuzzer harness for the interposer's protocol sniffers (TLS ClientHello SNI, HTTP request
 * line and Host, HTTP status line, DNS query name): every input goes through all four with a
 * large and a tiny output buffer; outputs must end with a NUL within their capacity. */
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
    free(buf);
    return 0;
}
