/* fuzz-sources: control/enable.c control/lambda.c store/aws.c store/util.c formats/*.c */
/* fuzz-libs: -ljansson -lzstd -lcrypto -lcurl */
/* libFuzzer harness for what control/ reads from the account: a function name or ARN (the
 * input's first line) through rt_lambda_parse_arn(), and a function configuration (the rest,
 * JSON, with a RUNTRAIL_SAVED of any shape) through the enable and disable plans, the applied
 * view and the diff lines. */
#include "control/enable.h"
#include "control/lambda.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    const uint8_t *nl = memchr(data, '\n', size);
    size_t first = nl ? (size_t)(nl - data) : size;
    char *name = malloc(first + 1);
    if (!name)
        return 0;
    memcpy(name, data, first);
    name[first] = '\0';
    struct rt_lambda_arn arn;
    struct rt_errinfo ei;
    rt_lambda_parse_arn(name, &arn, &ei);
    free(name);
    if (!nl)
        return 0;
    json_t *cfg = json_loadb((const char *)nl + 1, size - first - 1, 0, NULL);
    if (!cfg)
        return 0;
    json_t *archs = json_pack("[s]", "x86_64");
    struct rt_enable_settings s = {.layer_arn = "arn:aws:lambda:r:1:layer:runtrail-x86_64:2",
                                   .layer_archs = archs,
                                   .store = "s3://b/p",
                                   .sample = "1"};
    json_t *up = NULL, *down = NULL;
    if (rt_enable_plan(cfg, &s, &up, &ei) == RT_OK) {
        json_t *on = rt_enable_apply(cfg, up);
        json_t *a = rt_enable_lines(cfg), *b = rt_enable_lines(on);
        rt_enable_diff(devnull, a, b);
        if (rt_disable_plan(on, &down, &ei) == RT_OK)
            json_decref(down);
        json_decref(a);
        json_decref(b);
        json_decref(on);
        json_decref(up);
    }
    if (rt_disable_plan(cfg, &down, &ei) == RT_OK) {
        json_t *off = rt_enable_apply(cfg, down);
        json_decref(off);
        json_decref(down);
    }
    json_decref(archs);
    json_decref(cfg);
    return 0;
}
