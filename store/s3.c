/* The S3 client (placeholder until the libcurl implementation lands): every operation fails
 * with RT_ERR_S3_NETWORK so that the folder store and the catalog can be used meanwhile. */
#include "store/s3.h"

#include <stdlib.h>

int rt_s3_open(const char *bucket, const struct rt_s3_options *opts, struct rt_s3 **out,
               struct rt_errinfo *ei)
{
    (void)bucket;
    (void)opts;
    (void)out;
    return rt_fail(ei, RT_ERR_S3_NETWORK, -1, "S3 support is not built yet");
}

void rt_s3_close(struct rt_s3 *s3)
{
    (void)s3;
}

int rt_s3_put(struct rt_s3 *s3, const char *key, const void *data, size_t len,
              struct rt_errinfo *ei)
{
    (void)s3;
    (void)data;
    (void)len;
    return rt_fail(ei, RT_ERR_S3_NETWORK, -1, "%s", key);
}
