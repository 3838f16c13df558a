/* Unit tests of control/: function and layer ARNs, the runtime table, and the enable/disable
 * plans over configuration JSON: settings merged without touching other variables, layers
 * kept in order, a runtrail layer replaced in place and put back, a second enable keeping what
 * the first replaced, disable after others changed things, and every refusal. */
#include "control/enable.h"
#include "control/lambda.h"

#include <criterion/criterion.h>

#include <string.h>

#define L "arn:aws:lambda:us-east-1:123456789012:layer:"

static json_t *cfg_of(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    cr_assert(j, "bad test JSON: %s", je.text);
    return j;
}

static const char *var(const json_t *update, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(update, "Environment"), "Variables"), key));
}

static char *layers_of(const json_t *update)
{
    static char buf[1024];
    buf[0] = '\0';
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(update, "Layers"), i, l)
    {
        strcat(buf, i ? " " : "");
        strcat(buf, json_string_value(l));
    }
    return buf;
}

/* GetFunctionConfiguration as Lambda answers it after the update was applied. */
static json_t *applied(const json_t *cfg, const json_t *update)
{
    json_t *a = rt_enable_apply(cfg, update);
    cr_assert(a);
    return a;
}

Test(arn, names_and_arns)
{
    struct rt_lambda_arn a;
    cr_assert_eq(rt_lambda_parse_arn("orders", &a, NULL), RT_OK);
    cr_assert_str_eq(a.name, "orders");
    cr_assert_str_eq(a.region, "");
    cr_assert_eq(
        rt_lambda_parse_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:my_fn", &a, NULL),
        RT_OK);
    cr_assert_str_eq(a.partition, "aws-cn");
    cr_assert_str_eq(a.region, "cn-north-1");
    cr_assert_str_eq(a.account, "123456789012");
    cr_assert_str_eq(a.name, "my_fn");
    cr_assert_eq(rt_lambda_parse_arn("123456789012:function:x-1", &a, NULL), RT_OK);
    cr_assert_str_eq(a.name, "x-1");
    cr_assert_str_eq(a.account, "123456789012");
    cr_assert_eq(rt_lambda_parse_arn(L "runtrail-arm64:12", &a, NULL), RT_OK);
    cr_assert(a.is_layer);
    cr_assert_eq(a.version, 12);
    cr_assert_str_eq(a.name, "runtrail-arm64");
}

Test(arn, refusals)
{
    struct rt_lambda_arn a;
    struct rt_errinfo ei;
    cr_assert_eq(rt_lambda_parse_arn("arn:aws:lambda:us-east-1:1:function:f:prod", &a, &ei),
                 RT_ERR_INVALID_ARG);
    cr_assert(strstr(ei.detail, "qualified ARN (version or alias 'prod')"), "%s", ei.detail);
    cr_assert_eq(rt_lambda_parse_arn("or ders", &a, &ei), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_lambda_parse_arn("a/b", &a, &ei), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_lambda_parse_arn("", &a, &ei), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_lambda_parse_arn("arn:aws:s3:::bucket", &a, &ei), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_lambda_parse_arn(L "x", &a, &ei), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_lambda_parse_arn(L "x:0", &a, &ei), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_lambda_parse_arn("a:b:c:d:e:f:g:h:i:j", &a, &ei), RT_ERR_INVALID_ARG);
    char longname[200];
    memset(longname, 'a', 141);
    longname[141] = '\0';
    cr_assert_eq(rt_lambda_parse_arn(longname, &a, &ei), RT_ERR_INVALID_ARG);
}

Test(runtimes, coverage)
{
    const char *why;
    cr_assert_eq(rt_enable_coverage("python3.12", &why), RT_COVER_FULL);
    cr_assert_eq(rt_enable_coverage("nodejs22.x", &why), RT_COVER_FULL);
    cr_assert_eq(rt_enable_coverage("java21", &why), RT_COVER_FULL);
    cr_assert_eq(rt_enable_coverage("provided.al2023", &why), RT_COVER_PARTIAL);
    cr_assert(strstr(why, "Go binary"));
    cr_assert_eq(rt_enable_coverage("provided.al2", &why), RT_COVER_NONE);
    cr_assert_eq(rt_enable_coverage("python3.11", &why), RT_COVER_NONE);
    cr_assert(strstr(why, "Amazon Linux 2 "));
    cr_assert_eq(rt_enable_coverage("go1.x", &why), RT_COVER_NONE);
    cr_assert(strstr(why, "Amazon Linux 1"));
    cr_assert_eq(rt_enable_coverage("cobol9", &why), RT_COVER_NONE);
    cr_assert_eq(rt_enable_coverage(NULL, &why), RT_COVER_NONE);
}

static const struct rt_enable_settings settings = {
    .layer_arn = L "runtrail-x86_64:3", .store = "s3://b/p", .sample = "0.5"};

Test(plan, merge_and_round_trip)
{
    json_t *cfg = cfg_of("{\"FunctionName\":\"f\",\"Runtime\":\"python3.12\",\"RevisionId\":\"r1\","
                         "\"Layers\":[{\"Arn\":\"" L "a:1\",\"CodeSize\":10}],"
                         "\"Environment\":{\"Variables\":{\"Z\":\"1\",\"RUNTRAIL_SAMPLE\":\"0.1\","
                         "\"A\":\"secret\"}}}");
    json_t *up = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_enable_plan(cfg, &settings, &up, &ei), RT_OK, "%s", ei.detail);
    cr_assert_str_eq(layers_of(up), L "a:1 " L "runtrail-x86_64:3");
    cr_assert_str_eq(var(up, "Z"), "1");
    cr_assert_str_eq(var(up, "A"), "secret");
    cr_assert_str_eq(var(up, "RUNTRAIL_SAMPLE"), "0.5");
    cr_assert_str_eq(var(up, "AWS_LAMBDA_EXEC_WRAPPER"), RT_ENABLE_WRAPPER);
    cr_assert_str_eq(var(up, "RUNTRAIL_STORE"), "s3://b/p");
    cr_assert_str_eq(json_string_value(json_object_get(up, "RevisionId")), "r1");
    cr_assert_str_eq(var(up, RT_ENABLE_SAVED_VAR),
                     "{\"v\":1,\"added\":\"" L "runtrail-x86_64:3\",\"replaced\":null,\"at\":-1,"
                     "\"env\":{\"AWS_LAMBDA_EXEC_WRAPPER\":null,\"RUNTRAIL_STORE\":null,"
                     "\"RUNTRAIL_SAMPLE\":\"0.1\"}}");
    /* others add a variable and a layer meanwhile; disable keeps them, restores the rest */
    json_t *on = applied(cfg, up);
    json_object_set_new(json_object_get(json_object_get(on, "Environment"), "Variables"), "NEW",
                        json_string("x"));
    json_array_append_new(json_object_get(on, "Layers"), json_pack("{s:s}", "Arn", L "b:1"));
    json_t *down = NULL;
    cr_assert_eq(rt_disable_plan(on, &down, &ei), RT_OK, "%s", ei.detail);
    cr_assert_str_eq(layers_of(down), L "a:1 " L "b:1");
    char *vars = json_dumps(json_object_get(json_object_get(down, "Environment"), "Variables"),
                            JSON_COMPACT);
    cr_assert_str_eq(vars,
                     "{\"Z\":\"1\",\"RUNTRAIL_SAMPLE\":\"0.1\",\"A\":\"secret\",\"NEW\":\"x\"}");
    free(vars);
    json_decref(down);
    json_decref(on);
    json_decref(up);
    json_decref(cfg);
}

Test(plan, empty_function_round_trip_is_exact)
{
    json_t *cfg = cfg_of("{\"FunctionName\":\"f\",\"Runtime\":\"nodejs20.x\",\"Timeout\":3}");
    json_t *up = NULL, *down = NULL;
    cr_assert_eq(rt_enable_plan(cfg, &settings, &up, NULL), RT_OK);
    json_t *on = applied(cfg, up);
    cr_assert_eq(rt_disable_plan(on, &down, NULL), RT_OK);
    json_t *off = applied(on, down);
    cr_assert(json_equal(off, cfg), "no Layers or Environment member comes back");
    json_decref(off);
    json_decref(down);
    json_decref(on);
    json_decref(up);
    json_decref(cfg);
}

Test(plan, replaced_layer_and_second_enable)
{
    json_t *cfg =
        cfg_of("{\"FunctionName\":\"f\",\"Runtime\":\"python3.13\","
               "\"Layers\":[{\"Arn\":\"" L "runtrail-x86_64:1\"},{\"Arn\":\"" L "o:1\"}]}");
    json_t *up = NULL, *up2 = NULL, *down = NULL;
    cr_assert_eq(rt_enable_plan(cfg, &settings, &up, NULL), RT_OK);
    cr_assert_str_eq(layers_of(up), L "runtrail-x86_64:3 " L "o:1", "replaced in place");
    json_t *on = applied(cfg, up);
    struct rt_enable_settings again = settings;
    again.layer_arn = L "runtrail-x86_64:4";
    again.store = "s3://other/q";
    cr_assert_eq(rt_enable_plan(on, &again, &up2, NULL), RT_OK);
    cr_assert_str_eq(layers_of(up2), L "runtrail-x86_64:4 " L "o:1");
    const char *saved = var(up2, RT_ENABLE_SAVED_VAR);
    cr_assert(strstr(saved, "\"replaced\":\"" L "runtrail-x86_64:1\""), "%s", saved);
    cr_assert(strstr(saved, "\"RUNTRAIL_STORE\":null"), "the first enable's 'before' stays");
    json_t *on2 = applied(on, up2);
    cr_assert_eq(rt_disable_plan(on2, &down, NULL), RT_OK);
    cr_assert_str_eq(layers_of(down), L "runtrail-x86_64:1 " L "o:1", "the old layer is back");
    json_t *off = applied(on2, down);
    cr_assert(json_equal(off, cfg));
    json_decref(off);
    json_decref(on2);
    json_decref(on);
    json_decref(down);
    json_decref(up2);
    json_decref(up);
    json_decref(cfg);
}

static void refused(const char *cfg_text, json_t *archs, int want, const char *detail)
{
    json_t *cfg = cfg_of(cfg_text);
    struct rt_enable_settings s = settings;
    s.layer_archs = archs;
    json_t *up = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_enable_plan(cfg, &s, &up, &ei), want, "%s", cfg_text);
    cr_assert(strstr(ei.detail, detail), "'%s' not in '%s'", detail, ei.detail);
    cr_assert_null(up);
    json_decref(cfg);
}

Test(plan, refusals)
{
    refused("{\"FunctionName\":\"f\",\"PackageType\":\"Image\"}", NULL, RT_ERR_LAMBDA_UNSUPPORTED,
            "container image");
    refused("{\"FunctionName\":\"f\",\"Runtime\":\"go1.x\"}", NULL, RT_ERR_LAMBDA_UNSUPPORTED,
            "Amazon Linux 1");
    refused("{\"FunctionName\":\"f\",\"Runtime\":\"python3.12\",\"Environment\":{\"Variables\":"
            "{\"AWS_LAMBDA_EXEC_WRAPPER\":\"/opt/x\"}}}",
            NULL, RT_ERR_LAMBDA_UNSUPPORTED, "AWS_LAMBDA_EXEC_WRAPPER=/opt/x");
    refused("{\"FunctionName\":\"f\",\"Runtime\":\"python3.12\",\"Layers\":[{\"Arn\":\"" L
            "a:1\"},{\"Arn\":\"" L "b:1\"},{\"Arn\":\"" L "c:1\"},{\"Arn\":\"" L
            "d:1\"},{\"Arn\":\"" L "e:1\"}]}",
            NULL, RT_ERR_LAMBDA_UNSUPPORTED, "already has 5 layers");
    json_t *x86 = json_pack("[s]", "x86_64");
    refused("{\"FunctionName\":\"f\",\"Runtime\":\"python3.12\",\"Architectures\":[\"arm64\"]}",
            x86, RT_ERR_LAMBDA_ARCH, "f runs on arm64");
    json_decref(x86);
    refused("{\"FunctionName\":\"f\",\"Runtime\":\"python3.12\",\"Environment\":{\"Variables\":"
            "{\"RUNTRAIL_SAVED\":\"not json\"}}}",
            NULL, RT_ERR_INVALID_ARG, "RUNTRAIL_SAVED is not runtrail's JSON");
}

Test(plan, disable_without_saved)
{
    json_t *cfg = cfg_of("{\"FunctionName\":\"f\",\"Environment\":{\"Variables\":"
                         "{\"AWS_LAMBDA_EXEC_WRAPPER\":\"/opt/runtrail/wrapper\"}}}");
    json_t *down = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_disable_plan(cfg, &down, &ei), RT_ERR_LAMBDA_NOT_ENABLED);
    cr_assert(strstr(ei.detail, "set by hand"), "%s", ei.detail);
    json_decref(cfg);
}

Test(lines, secrets_are_hashed)
{
    json_t *cfg = cfg_of("{\"Environment\":{\"Variables\":{\"PASSWORD\":\"hunter2\","
                         "\"RUNTRAIL_STORE\":\"s3://b/p\"}}}");
    json_t *lines = rt_enable_lines(cfg);
    cr_assert_eq(json_array_size(lines), 2);
    cr_assert_str_eq(json_string_value(json_array_get(lines, 0)),
                     "Environment.PASSWORD = (value sha256:f52fbd32)");
    cr_assert_str_eq(json_string_value(json_array_get(lines, 1)),
                     "Environment.RUNTRAIL_STORE = s3://b/p");
    json_decref(lines);
    json_decref(cfg);
}
