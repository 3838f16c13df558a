/* Unit tests of the Lambda extension's pure parts: the RUNTRAIL_* configuration table (and
 * docs/config.md generated from it), payload capture and redaction, the ENV block's keyed
 * hashes and allow-list, and the CODE tree digest. */
#include "formats/digest.h"
#include "recorder/extension/extension.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- configuration ---- */

static const char *const *fake_env;

static const char *fake_get(const char *name)
{
    for (size_t i = 0; fake_env && fake_env[i]; i += 2)
        if (!strcmp(fake_env[i], name))
            return fake_env[i + 1];
    return NULL;
}

Test(extension_config, defaults)
{
    static const char *const env[] = {NULL};
    fake_env = env;
    struct rt_ext_config c;
    rt_ext_config_load_from(&c, fake_get);
    cr_assert_eq(c.errors, 0);
    cr_assert_str_eq(c.store, "/tmp/runtrail-data");
    cr_assert_eq(c.payload, RT_PAYLOAD_FULL);
    cr_assert_eq(c.proxy_port, 9009);
    cr_assert_eq(c.max_payload, 1024 * 1024);
    cr_assert_eq(c.spool_max, 64ull * 1024 * 1024);
    cr_assert_eq(c.disable, false);
    cr_assert_str_eq(c.run_dir, "");
}

Test(extension_config, default_run_dir_follows_the_runtime_api_port)
{
    char d[64];
    rt_ext_default_run_dir("127.0.0.1:9001", d, sizeof d);
    cr_assert_str_eq(d, "/tmp/runtrail-9001");
    rt_ext_default_run_dir("localhost:45123", d, sizeof d);
    cr_assert_str_eq(d, "/tmp/runtrail-45123");
    rt_ext_default_run_dir("127.0.0.1:../../etc", d, sizeof d);
    cr_assert_str_eq(d, "/tmp/runtrail");
    rt_ext_default_run_dir(NULL, d, sizeof d);
    cr_assert_str_eq(d, "/tmp/runtrail");
    rt_ext_default_run_dir("127.0.0.1:", d, sizeof d);
    cr_assert_str_eq(d, "/tmp/runtrail");
}

Test(extension_config, values)
{
    static const char *const env[] = {"RUNTRAIL_PAYLOAD",
                                      "redacted",
                                      "RUNTRAIL_PROXY_PORT",
                                      "9100",
                                      "RUNTRAIL_MAX_PAYLOAD",
                                      "64k",
                                      "RUNTRAIL_DISABLE",
                                      "yes",
                                      "RUNTRAIL_SAMPLE",
                                      "0.25",
                                      "RUNTRAIL_REDACT",
                                      "password,body.card.number",
                                      NULL};
    fake_env = env;
    struct rt_ext_config c;
    rt_ext_config_load_from(&c, fake_get);
    cr_assert_eq(c.errors, 0, "%s", c.error_names);
    cr_assert_eq(c.payload, RT_PAYLOAD_REDACTED);
    cr_assert_eq(c.proxy_port, 9100);
    cr_assert_eq(c.max_payload, 65536);
    cr_assert(c.disable);
    cr_assert_float_eq(c.sample, 0.25, 1e-9);
    cr_assert_str_eq(c.redact, "password,body.card.number");
}

Test(extension_config, bad_values_fall_back_and_count)
{
    static const char *const env[] = {"RUNTRAIL_PAYLOAD",
                                      "everything",
                                      "RUNTRAIL_PROXY_PORT",
                                      "70000",
                                      "RUNTRAIL_MAX_PAYLOAD",
                                      "-5",
                                      "RUNTRAIL_SAMPLE",
                                      "2",
                                      "RUNTRAIL_DISABLE",
                                      "maybe",
                                      NULL};
    fake_env = env;
    struct rt_ext_config c;
    rt_ext_config_load_from(&c, fake_get);
    cr_assert_eq(c.errors, 5);
    cr_assert_eq(c.payload, RT_PAYLOAD_FULL);
    cr_assert_eq(c.proxy_port, 9009);
    cr_assert_eq(c.max_payload, 1024 * 1024);
    cr_assert_float_eq(c.sample, 1.0, 1e-9);
    cr_assert_eq(c.disable, false);
    cr_assert(strstr(c.error_names, "RUNTRAIL_PROXY_PORT") != NULL);
    cr_assert(strstr(c.error_names, "RUNTRAIL_PAYLOAD") != NULL);
}

Test(extension_config, docs_match_the_table)
{
    char *gen = NULL;
    size_t gen_len = 0;
    FILE *f = open_memstream(&gen, &gen_len);
    rt_ext_config_doc(f);
    fclose(f);
    FILE *d = fopen("docs/config.md", "rb");
    cr_assert_not_null(d, "docs/config.md (run from the repository root)");
    char *doc = calloc(1, 1 << 16);
    size_t n = fread(doc, 1, (1 << 16) - 1, d);
    fclose(d);
    cr_assert_eq(n, gen_len, "docs/config.md is stale: runtrail-extension --config-doc");
    cr_assert(memcmp(doc, gen, n) == 0, "docs/config.md is stale");
    cr_assert(strstr(gen, "`RUNTRAIL_REDACT`") != NULL);
    free(doc);
    free(gen);
}

/* ---- payloads ---- */

static const uint8_t key[] = "k3y";

static struct rt_payload capture(int mode, const char *paths, const char *text, unsigned *n)
{
    struct rt_redact r = {.mode = (uint8_t)mode, .paths = paths, .key = key, .key_len = 3};
    struct rt_payload p;
    cr_assert_eq(rt_ext_capture_payload(&r, (const uint8_t *)text, strlen(text), &p, n), RT_OK);
    return p;
}

static char *stored(const struct rt_payload *p)
{
    char *s = calloc(1, p->len + 1);
    if (p->len)
        memcpy(s, p->data, p->len);
    return s;
}

Test(extension_payload, full_hash_none)
{
    const char *ev = "{\"a\":1}";
    uint8_t want[32];
    rt_sha256(ev, strlen(ev), want);

    struct rt_payload p = capture(RT_PAYLOAD_FULL, NULL, ev, NULL);
    cr_assert_eq(p.len, strlen(ev));
    cr_assert(memcmp(p.data, ev, p.len) == 0);
    cr_assert(memcmp(p.sha256, want, 32) == 0);
    cr_assert_eq(p.original_len, strlen(ev));
    free(p.data);

    p = capture(RT_PAYLOAD_HASH, NULL, ev, NULL);
    cr_assert_null(p.data);
    cr_assert_eq(p.len, 0);
    cr_assert(memcmp(p.sha256, want, 32) == 0);
    cr_assert_eq(p.mode, RT_PAYLOAD_HASH);

    p = capture(RT_PAYLOAD_NONE, NULL, ev, NULL);
    cr_assert_null(p.data);
    cr_assert_eq(p.mode, RT_PAYLOAD_NONE);
    cr_assert_eq(p.original_len, strlen(ev));
    uint8_t zero[32] = {0};
    cr_assert(memcmp(p.sha256, zero, 32) == 0);
}

Test(extension_payload, redacts_keys_anywhere_and_paths)
{
    const char *ev = "{\"user\":{\"password\":\"hunter2\",\"name\":\"ann\"},"
                     "\"list\":[{\"password\":\"hunter2\"},{\"password\":\"other\"}],"
                     "\"body\":{\"card\":{\"number\":\"4111111111111111\",\"cvc\":\"123\"}},"
                     "\"card\":{\"number\":\"keep-me\"}}";
    unsigned n = 0;
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, " password , body.card.number", ev, &n);
    char *s = stored(&p);
    cr_assert_eq(n, 4, "%s", s);
    cr_assert_eq(p.mode, RT_PAYLOAD_REDACTED);
    cr_assert_null(strstr(s, "hunter2"), "%s", s);
    cr_assert_null(strstr(s, "4111111111111111"), "%s", s);
    cr_assert_not_null(strstr(s, "\"name\":\"ann\""), "%s", s);
    cr_assert_not_null(strstr(s, "keep-me"), "path applies from the root only: %s", s);
    cr_assert_not_null(strstr(s, "\"cvc\":\"123\""), "%s", s);

    /* Equal values give equal tokens, different values different ones. */
    char tok_same[RT_EXT_REDACTED_LEN + 1], tok_other[RT_EXT_REDACTED_LEN + 1];
    rt_ext_redacted_token(key, 3, "hunter2", 7, tok_same);
    rt_ext_redacted_token(key, 3, "other", 5, tok_other);
    cr_assert_eq(strlen(tok_same), RT_EXT_REDACTED_LEN);
    cr_assert(strncmp(tok_same, "<redacted:hmac:", 15) == 0);
    const char *first = strstr(s, tok_same);
    cr_assert_not_null(first, "%s", s);
    cr_assert_not_null(strstr(first + 1, tok_same), "%s", s);
    cr_assert_not_null(strstr(s, tok_other), "%s", s);

    /* The hash is over the original bytes. */
    uint8_t want[32];
    rt_sha256(ev, strlen(ev), want);
    cr_assert(memcmp(p.sha256, want, 32) == 0);
    cr_assert_eq(p.original_len, strlen(ev));
    free(s);
    free(p.data);
}

Test(extension_payload, redacts_inside_json_strings)
{
    /* API Gateway: body is a string holding JSON. */
    const char *ev = "{\"httpMethod\":\"POST\",\"body\":\"{\\\"card\\\":{\\\"number\\\":"
                     "\\\"4111111111111111\\\"},\\\"password\\\":\\\"pw\\\"}\"}";
    unsigned n = 0;
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, "body.card.number,password", ev, &n);
    char *s = stored(&p);
    cr_assert_eq(n, 2, "%s", s);
    cr_assert_null(strstr(s, "4111111111111111"), "%s", s);
    cr_assert_null(strstr(s, "\\\"pw\\\""), "%s", s);
    cr_assert_not_null(strstr(s, "redacted:hmac:"), "%s", s);
    free(s);
    free(p.data);
}

Test(extension_payload, untouched_when_nothing_matches)
{
    const char *ev = "{ \"a\" : [1, 2, {\"b\": null}] }";
    unsigned n = 9;
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, "password", ev, &n);
    cr_assert_eq(n, 0);
    cr_assert_eq(p.len, strlen(ev));
    cr_assert(memcmp(p.data, ev, p.len) == 0, "original bytes are kept");
    free(p.data);
}

Test(extension_payload, non_json_is_hashed)
{
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, "password", "password=hunter2", NULL);
    cr_assert_eq(p.mode, RT_PAYLOAD_HASH);
    cr_assert_null(p.data);
    cr_assert_eq(p.original_len, 16);
}

Test(extension_payload, non_string_values)
{
    const char *ev = "{\"secret\":{\"x\":[1,2]},\"n\":42,\"secret2\":42}";
    unsigned n = 0;
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, "secret,secret2", ev, &n);
    char *s = stored(&p);
    cr_assert_eq(n, 2);
    cr_assert_null(strstr(s, "[1,2]"), "%s", s);
    cr_assert_not_null(strstr(s, "\"n\":42"), "%s", s);
    free(s);
    free(p.data);
}

/* ---- environment ---- */

Test(extension_env, allow_list_and_keyed_hashes)
{
    char *envp[] = {"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG",
                    "AWS_SESSION_TOKEN=tok",
                    "AWS_ACCESS_KEY_ID=AKIAEXAMPLE",
                    "AWS_REGION=eu-west-1",
                    "_HANDLER=app.handler",
                    "MY_DB_PASSWORD=hunter2",
                    "RUNTRAIL_HASH_KEY=kk",
                    "AWS_LAMBDA_FUNCTION_NAME=fn",
                    NULL};
    struct rt_env_var *v = NULL;
    size_t n = 0;
    cr_assert_eq(rt_ext_env_collect(envp, key, 3, &v, &n), RT_OK);
    cr_assert_eq(n, 7, "RUNTRAIL_HASH_KEY is left out");
    for (size_t i = 1; i < n; i++)
        cr_assert(strcmp(v[i - 1].name, v[i].name) < 0, "sorted by name");
    for (size_t i = 0; i < n; i++) {
        const char *value = strchr(envp[0], '=');
        for (size_t k = 0; envp[k]; k++)
            if (!strncmp(envp[k], v[i].name, strlen(v[i].name)) &&
                envp[k][strlen(v[i].name)] == '=')
                value = envp[k] + strlen(v[i].name) + 1;
        uint8_t want[32];
        rt_hmac_sha256(key, 3, value, strlen(value), want);
        cr_assert(memcmp(v[i].hash, want, 32) == 0, "%s", v[i].name);
        bool clear = !strcmp(v[i].name, "AWS_REGION") || !strcmp(v[i].name, "_HANDLER") ||
                     !strcmp(v[i].name, "AWS_LAMBDA_FUNCTION_NAME");
        if (clear)
            cr_assert_str_eq(v[i].value, value);
        else
            cr_assert_null(v[i].value, "%s must not be in clear", v[i].name);
    }
    cr_assert_not(rt_ext_env_allowed("AWS_SECRET_ACCESS_KEY"));
    cr_assert_not(rt_ext_env_allowed("AWS_SESSION_TOKEN"));
    cr_assert_not(rt_ext_env_allowed("AWS_ACCESS_KEY_ID"));
    cr_assert_not(rt_ext_env_allowed("RUNTRAIL_HASH_KEY"));
    cr_assert(rt_ext_env_allowed("AWS_EXECUTION_ENV"));
    rt_ext_env_free(v, n);
}

/* ---- code digest ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(extension_code, tree_digest_tracks_content_and_skips_runtrail)
{
    char root[] = "/tmp/rt-ext-code.XXXXXX";
    cr_assert_not_null(mkdtemp(root));
    char p[512];
    snprintf(p, sizeof p, "%s/task", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/task/app.py", root);
    write_file(p, "print(1)\n");
    snprintf(p, sizeof p, "%s/opt", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/opt/runtrail", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/opt/runtrail/wrapper", root);
    write_file(p, "#!/bin/sh\n");

    char task[512], opt[512];
    snprintf(task, sizeof task, "%s/task", root);
    snprintf(opt, sizeof opt, "%s/opt", root);
    struct rt_code a, b, c;
    cr_assert_eq(rt_ext_code_digest(task, opt, &a), RT_OK);
    cr_assert_eq(a.files, 1, "runtrail's own files are not hashed");
    cr_assert_str_eq(a.task_root_path, task);

    snprintf(p, sizeof p, "%s/opt/runtrail/wrapper", root);
    write_file(p, "#!/bin/sh\nexit 0\n");
    cr_assert_eq(rt_ext_code_digest(task, opt, &b), RT_OK);
    cr_assert(memcmp(a.layers, b.layers, 32) == 0);
    cr_assert(memcmp(a.task_root, b.task_root, 32) == 0);

    snprintf(p, sizeof p, "%s/task/app.py", root);
    write_file(p, "print(2)\n");
    cr_assert_eq(rt_ext_code_digest(task, opt, &c), RT_OK);
    cr_assert(memcmp(a.task_root, c.task_root, 32) != 0);

    free(a.task_root_path);
    free(b.task_root_path);
    free(c.task_root_path);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

Test(extension_code, empty_and_missing_folders)
{
    char root[] = "/tmp/rt-ext-empty.XXXXXX";
    cr_assert_not_null(mkdtemp(root));
    uint8_t a[32], b[32];
    uint32_t files = 0;
    uint64_t bytes = 0;
    cr_assert_eq(rt_ext_tree_digest(root, NULL, a, &files, &bytes), RT_OK);
    cr_assert_eq(rt_ext_tree_digest("/nonexistent/rt-ext", NULL, b, &files, &bytes), RT_OK);
    cr_assert_eq(files, 0);
    cr_assert_eq(bytes, 0);
    cr_assert(memcmp(a, b, 32) == 0, "an empty folder hashes like a missing one");
    rmdir(root);
}
