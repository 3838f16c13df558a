/* fuzz-sources: replay/sinkhole_dns.c */
/* fuzz-libs: */
/* libFuzzer harness for the replay sinkhole's DNS answers: every input is answered into an
 * exact-size and a tiny buffer; an answer never exceeds its capacity, keeps the query's id and
 * has QR set. */
#include "replay/sinkhole.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan catches reads past the end */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    static const uint8_t addr[4] = {127, 0, 0, 1};
    static const size_t caps[] = {600, 20, 0};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        uint8_t out[600];
        size_t n = rt_sinkhole_dns_answer(buf, size, addr, out, caps[c]);
        if (n > caps[c] || (n && (n < 12 || memcmp(out, buf, 2) || !(out[2] & 0x80))))
            abort();
    }
    free(buf);
    return 0;
}
