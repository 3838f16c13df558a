/* fuzz-sources: store/s3xml.c formats/error.c */
/* fuzz-libs: -lexpat */
/* libFuzzer harness for the S3 XML parsers (expat): every input is parsed both as a
 * ListObjectsV2 result and as an <Error> document, and whatever was parsed is walked so ASan
 * sees every pointer. Hostile XML must never crash, loop, expand entities or grow unbounded. */
#include "store/s3.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_s3_list l;
    if (rt_s3_parse_list((const char *)data, size, &l) == RT_OK) {
        size_t n = 0;
        for (size_t i = 0; i < l.n_objects; i++)
            n += strlen(l.objects[i].key) + (size_t)l.objects[i].size +
                 (l.objects[i].etag ? strlen(l.objects[i].etag) : 0);
        for (size_t i = 0; i < l.n_prefixes; i++)
            n += strlen(l.prefixes[i]);
        if (l.next_token)
            n += strlen(l.next_token);
        sink += n + l.truncated;
        rt_s3_list_free(&l);
    }
    struct rt_s3_error e;
    if (rt_s3_parse_error((const char *)data, size, &e) == RT_OK) {
        sink += (e.code ? strlen(e.code) : 0) + (e.message ? strlen(e.message) : 0) +
                (e.region ? strlen(e.region) : 0);
        rt_s3_error_free(&e);
    }
    return 0;
}
