/* fuzz-sources: store/aws.c store/util.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto */
/* libFuzzer harness for the AWS credentials/config file parser (the INI dialect with nested
 * keys) and for credential_process output (JSON with Expiration). Each input goes through
 * both; parsed entries are looked up and walked so ASan sees every pointer. */
#include "store/aws.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_ini ini;
    struct rt_errinfo ei;
    if (rt_ini_parse((const char *)data, size, &ini, &ei) == RT_OK) {
        size_t n = 0;
        for (size_t i = 0; i < ini.n; i++)
            n += strlen(ini.entries[i].section) + strlen(ini.entries[i].key) +
                 strlen(ini.entries[i].value);
        const char *v = rt_ini_get(&ini, "default", "aws_access_key_id");
        n += v ? strlen(v) : 0;
        v = rt_ini_get(&ini, "profile dev", "s3.endpoint_url");
        n += v ? strlen(v) : 0;
        sink += n;
        rt_ini_free(&ini);
    }
    struct rt_aws_creds c;
    if (rt_aws_parse_process_output((const char *)data, size, &c, &ei) == RT_OK) {
        sink += strlen(c.access_key_id) + strlen(c.secret_access_key) + (size_t)c.expiration;
        rt_aws_creds_free(&c);
    }
    return 0;
}
