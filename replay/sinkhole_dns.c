/* The sinkhole's DNS answers (replay/sinkhole.h): the question is copied as it came, after
 * its bounds are checked label by label; the answer points back at it (name compression). */
#include "replay/sinkhole.h"

#include <string.h>

#define DNS_HEADER 12

size_t rt_sinkhole_dns_answer(const uint8_t *q, size_t len, const uint8_t addr[4], uint8_t *out,
                              size_t cap)
{
    if (len < DNS_HEADER || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
        return 0; /* a response, or not exactly one question */
    size_t at = DNS_HEADER;
    while (at < len && q[at] != 0) {
        if (q[at] & 0xc0) /* a query's question is never compressed */
            return 0;
        at += 1u + q[at];
    }
    if (at >= len || at + 5 > len)
        return 0;
    size_t qend = at + 5; /* the root label, type, class */
    unsigned type = (unsigned)q[at + 1] << 8 | q[at + 2];
    unsigned klass = (unsigned)q[at + 3] << 8 | q[at + 4];
    int answer = type == 1 && klass == 1;
    size_t total = qend + (answer ? 16u : 0u);
    if (total > cap)
        return 0;
    memcpy(out, q, qend);
    out[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode and RD kept, AA/TC cleared */
    out[3] = 0x80;                            /* RA, NOERROR */
    out[6] = 0;
    out[7] = (uint8_t)answer;
    memset(out + 8, 0, 4);
    if (answer) {
        static const uint8_t rr[12] = {0xc0, DNS_HEADER, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
        memcpy(out + qend, rr, sizeof rr);
        memcpy(out + qend + sizeof rr, addr, 4);
    }
    return total;
}
