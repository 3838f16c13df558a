/* Unit tests of the Lambda extension's pure parts: the RUNTRAIL_* configuration table (and
 * docs/config.md generated from it), payload capture and redaction, the ENV block's keyed
 * hashes and allow-list, and the CODE tree digest. */
#include "formats/digest.h"
#include "recorder/extension/extension.h"
#include "recorder/preload/ring_produce.h"
#include "recorder/ring.h"
#include "tests/unit/cached_pages.h"
#include "tests/unit/tmpdir.h"

#include <criterion/criterion.h>
#include <malloc.h>
#include <jansson.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
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
    cr_assert_eq(c.payload, RT_PAYLOAD_REDACTED, "redaction is on by default");
    cr_assert_eq(c.key.source, RT_EXT_KEY_RANDOM, "no key configured: a random one");
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
    cr_assert_eq(c.payload, RT_PAYLOAD_REDACTED);
    cr_assert_eq(c.proxy_port, 9009);
    cr_assert_eq(c.max_payload, 1024 * 1024);
    cr_assert_float_eq(c.sample, 1.0, 1e-9);
    cr_assert_eq(c.disable, false);
    cr_assert(strstr(c.error_names, "RUNTRAIL_PROXY_PORT") != NULL);
    cr_assert(strstr(c.error_names, "RUNTRAIL_PAYLOAD") != NULL);
}

/* What a doc generator (rt_ext_config_doc, rt_ext_secrets_doc) prints, in memory. */
static char *doc_text(void (*gen)(FILE *), size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    cr_assert_not_null(f);
    gen(f);
    fclose(f);
    return text;
}

Test(extension_config, docs_match_the_table)
{
    size_t gen_len = 0;
    char *gen = doc_text(rt_ext_config_doc, &gen_len);
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
static struct rt_ext_hash_key tkey; /* "k3y" */

static void setup_key(void)
{
    rt_ext_hash_key_set(&tkey, key, 3, RT_EXT_KEY_CONFIGURED);
}

static struct rt_payload capture(int mode, const char *paths, const char *text, unsigned *n)
{
    setup_key();
    struct rt_redact r = {.mode = (uint8_t)mode, .paths = paths, .key = &tkey};
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
    /* Names outside the built-in list: only RUNTRAIL_REDACT's entries apply to them. */
    const char *ev = "{\"user\":{\"nickname\":\"hunter2\",\"name\":\"ann\"},"
                     "\"list\":[{\"Nick_Name\":\"hunter2\"},{\"nickname\":\"other\"}],"
                     "\"body\":{\"account\":{\"number\":\"4111111111111111\","
                     "\"branch\":\"123\"}},\"account\":{\"number\":\"keep-me\"}}";
    unsigned n = 0;
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, " nickname , body.account.number", ev, &n);
    char *s = stored(&p);
    cr_assert_eq(n, 4, "%s", s);
    cr_assert_eq(p.mode, RT_PAYLOAD_REDACTED);
    cr_assert_null(strstr(s, "hunter2"), "%s", s);
    cr_assert_null(strstr(s, "4111111111111111"), "%s", s);
    cr_assert_not_null(strstr(s, "\"name\":\"ann\""), "%s", s);
    cr_assert_not_null(strstr(s, "keep-me"), "path applies from the root only: %s", s);
    cr_assert_not_null(strstr(s, "\"branch\":\"123\""), "%s", s);

    /* Equal values give equal tokens, different values different ones. */
    char tok_same[RT_EXT_REDACTED_LEN + 1], tok_other[RT_EXT_REDACTED_LEN + 1];
    rt_ext_redacted_token(&tkey, "hunter2", 7, tok_same);
    rt_ext_redacted_token(&tkey, "other", 5, tok_other);
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

/* The parsed document handed back (for the sealer's caller lookup) is the stored one: the
 * sensitive values replaced, equal to p->data when serialised the same way; none when nothing
 * was parsed or nothing is stored. */
Test(extension_payload, the_document_handed_back_is_the_stored_one)
{
    setup_key();
    struct rt_redact r = {.mode = RT_PAYLOAD_REDACTED, .paths = NULL, .key = &tkey};
    const char *ev = "{\"requestContext\":{\"identity\":{\"sourceIp\":\"203.0.113.9\"}},"
                     "\"password\":\"hunter2\"}";
    struct rt_payload p;
    json_t *doc = NULL;
    unsigned n = 0;
    cr_assert_eq(rt_ext_capture_payload_doc(&r, (const uint8_t *)ev, strlen(ev), &p, &n, &doc),
                 RT_OK);
    cr_assert_eq(n, 1);
    cr_assert_not_null(doc);
    char *dumped = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    char *kept = stored(&p);
    cr_assert_str_eq(dumped, kept);
    cr_assert(strstr(kept, "<redacted:hmac:") && !strstr(kept, "hunter2"), "%s", kept);
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(doc, "requestContext"), "identity"), "sourceIp")),
        "203.0.113.9");
    free(dumped);
    free(kept);
    free(p.data);
    json_decref(doc);

    r.paths = "requestContext.identity.sourceIp"; /* a user's path: the caller is redacted too */
    cr_assert_eq(rt_ext_capture_payload_doc(&r, (const uint8_t *)ev, strlen(ev), &p, &n, &doc),
                 RT_OK);
    const char *ip = json_string_value(json_object_get(
        json_object_get(json_object_get(doc, "requestContext"), "identity"), "sourceIp"));
    cr_assert(ip && !strncmp(ip, "<redacted:hmac:", 15), "%s", ip ? ip : "(null)");
    free(p.data);
    json_decref(doc);

    const char *text = "not json, nothing sensitive"; /* stored, but no document */
    cr_assert_eq(rt_ext_capture_payload_doc(&r, (const uint8_t *)text, strlen(text), &p, &n, &doc),
                 RT_OK);
    cr_assert_null(doc);
    cr_assert_eq(p.len, strlen(text));
    free(p.data);
    r.mode = RT_PAYLOAD_FULL; /* not parsed at all */
    cr_assert_eq(rt_ext_capture_payload_doc(&r, (const uint8_t *)ev, strlen(ev), &p, &n, &doc),
                 RT_OK);
    cr_assert_null(doc);
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
    setup_key();
    cr_assert_eq(rt_ext_env_collect(envp, &tkey, &v, &n), RT_OK);
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

/* ---- secrets: the hash key ---- */

static struct rt_ext_config load_cfg(const char *const *env)
{
    fake_env = env;
    struct rt_ext_config c;
    rt_ext_config_load_from(&c, fake_get);
    return c;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    return s[n] == '\0';
}

Test(extension_hashkey, random_per_sandbox_without_a_configured_key)
{
    static const char *const env[] = {NULL};
    struct rt_ext_config a = load_cfg(env), b = load_cfg(env);
    cr_assert_eq(a.errors, 0);
    cr_assert_eq(a.key.source, RT_EXT_KEY_RANDOM);
    cr_assert_eq(a.key.len, 32);
    /* The id is computed when first asked for, on the sealer thread, not at start-up. */
    cr_assert_str_empty(a.key.id);
    const char *ida = rt_ext_hash_key_id(&a.key), *idb = rt_ext_hash_key_id(&b.key);
    cr_assert(!strncmp(ida, "sandbox:", 8) && is_hex(ida + 8, 16), "%s", ida);
    cr_assert_str_eq(rt_ext_hash_key_id(&a.key), ida, "the same id when asked again");
    cr_assert_str_neq(ida, idb, "two sandboxes, two keys, two ids");
    cr_assert(memcmp(a.key.key, b.key.key, 32) != 0);
    uint8_t ha[32], hb[32];
    rt_ext_keyed_hash(&a.key, "hunter2", 7, ha);
    rt_ext_keyed_hash(&b.key, "hunter2", 7, hb);
    cr_assert(memcmp(ha, hb, 32) != 0, "hashes compare only within one sandbox");
}

Test(extension_hashkey, configured_key_compares_across_sandboxes)
{
    static const char *const env[] = {"RUNTRAIL_HASH_KEY", "0123456789abcdef-shared-key", NULL};
    struct rt_ext_config a = load_cfg(env), b = load_cfg(env);
    cr_assert_eq(a.errors, 0, "%s", a.error_names);
    cr_assert_eq(a.key.source, RT_EXT_KEY_CONFIGURED);
    const char *ida = rt_ext_hash_key_id(&a.key);
    cr_assert_str_eq(ida, rt_ext_hash_key_id(&b.key));
    cr_assert(!strncmp(ida, "configured:", 11) && is_hex(ida + 11, 16), "%s", ida);
    uint8_t ha[32], want[32];
    rt_ext_keyed_hash(&a.key, "hunter2", 7, ha);
    rt_hmac_sha256("0123456789abcdef-shared-key", 27, "hunter2", 7, want);
    cr_assert(memcmp(ha, want, 32) == 0, "HMAC-SHA256 with the configured key");
    /* The id is HMAC(key, label), not anything of the key itself. */
    uint8_t idmac[32];
    char hex[17];
    rt_hmac_sha256("0123456789abcdef-shared-key", 27, "runtrail hash key id v1", 23, idmac);
    cr_assert_str_eq(ida + 11, rt_hex(idmac, 8, hex));
    cr_assert_null(strstr(ida, "0123456789abcdef"));
}

Test(extension_hashkey, key_file_same_key_same_id)
{
    char path[] = "/tmp/rt-hashkey.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "0123456789abcdef-shared-key\r\n", 29), 29);
    close(fd);
    static const char *const by_env[] = {"RUNTRAIL_HASH_KEY", "0123456789abcdef-shared-key", NULL};
    const char *const by_file[] = {"RUNTRAIL_HASH_KEY_FILE", path, NULL};
    struct rt_ext_config a = load_cfg(by_env), b = load_cfg(by_file);
    cr_assert_eq(b.errors, 0, "%s", b.error_names);
    const char *ida = rt_ext_hash_key_id(&a.key);
    cr_assert_str_eq(ida, rt_ext_hash_key_id(&b.key), "trailing newline ignored");
    const char *const both[] = {"RUNTRAIL_HASH_KEY", "another-key-of-16-bytes-at-least",
                                "RUNTRAIL_HASH_KEY_FILE", path, NULL};
    struct rt_ext_config c = load_cfg(both);
    cr_assert_eq(c.errors, 1, "both set: ambiguous, counted");
    cr_assert_eq(c.key.source, RT_EXT_KEY_CONFIGURED);
    cr_assert_str_neq(rt_ext_hash_key_id(&c.key), ida, "RUNTRAIL_HASH_KEY wins");
    unlink(path);
    struct rt_ext_config d = load_cfg(by_file);
    cr_assert_eq(d.errors, 1, "missing file counted");
    cr_assert_eq(d.key.source, RT_EXT_KEY_RANDOM);
    cr_assert_not_null(strstr(d.error_names, "RUNTRAIL_HASH_KEY_FILE"));
}

Test(extension_hashkey, short_key_is_an_error_and_never_used)
{
    static const char *const env[] = {"RUNTRAIL_HASH_KEY", "hunter2", NULL};
    struct rt_ext_config c = load_cfg(env);
    cr_assert_eq(c.errors, 1);
    cr_assert_not_null(strstr(c.error_names, "RUNTRAIL_HASH_KEY"));
    cr_assert_eq(c.key.source, RT_EXT_KEY_RANDOM);
    uint8_t got[32], weak[32];
    rt_ext_keyed_hash(&c.key, "x", 1, got);
    rt_hmac_sha256("hunter2", 7, "x", 1, weak);
    cr_assert(memcmp(got, weak, 32) != 0);
}

Test(extension_hashkey, long_key_is_hmac_equivalent)
{
    char long_key[200];
    memset(long_key, 'k', sizeof long_key);
    struct rt_ext_hash_key k;
    rt_ext_hash_key_set(&k, long_key, sizeof long_key, RT_EXT_KEY_CONFIGURED);
    uint8_t got[32], want[32];
    rt_ext_keyed_hash(&k, "v", 1, got);
    rt_hmac_sha256(long_key, sizeof long_key, "v", 1, want);
    cr_assert(memcmp(got, want, 32) == 0);
}

/* ---- secrets: the sensitive names and payload redaction by default ---- */

Test(extension_redact, builtin_names_normalised_and_case_insensitive)
{
    static const char *const yes[] = {"password",
                                      "Password",
                                      "PASSWORD",
                                      "dbPassword",
                                      "db_password",
                                      "PGPASSWORD",
                                      "passwd",
                                      "Authorization",
                                      "proxy-authorization",
                                      "X-Api-Key",
                                      "api_key",
                                      "apiKey",
                                      "APIKEY",
                                      "access_token",
                                      "refresh_token",
                                      "X-Amz-Security-Token",
                                      "X-Amz-Signature",
                                      "Cookie",
                                      "set-cookie",
                                      "client_secret",
                                      "AWS_SECRET_ACCESS_KEY",
                                      "private_key",
                                      "credentials",
                                      "cvv",
                                      "ssn",
                                      "SSN",
                                      "card",
                                      "card_number",
                                      "pass%77ord",
                                      "MYSQL_PWD",
                                      "JSESSIONID",
                                      "pin"};
    static const char *const no[] = {
        "name",  "author", "X-Amz-Credential", "X-Amz-Date", "cardinality", "classname", "session",
        "petId", "user",   "keyword",          "spinner",    "discard",     "",          "-_-"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        cr_assert(rt_ext_sensitive_name(yes[i], strlen(yes[i]), NULL), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_assert_not(rt_ext_sensitive_name(no[i], strlen(no[i]), NULL), "%s", no[i]);
    cr_assert(rt_ext_sensitive_name("source_ip", 9, "x,sourceIp,a.b"), "user names normalised");
    cr_assert_not(rt_ext_sensitive_name("b", 1, "a.b"), "dotted paths only from the root");
}

/* Every built-in name as docs/config.md lists it (rt_ext_secrets_doc), in keys built around
 * it, against the plain reading of the table: a `part` name anywhere in the normalised key,
 * an `exact` name as the whole of it. */
Test(extension_redact, builtin_names_match_as_the_table_says)
{
    size_t doc_len = 0;
    char *doc = doc_text(rt_ext_secrets_doc, &doc_len);
    char names[64][32];
    bool part[64];
    size_t n = 0;
    for (const char *p = doc; (p = strstr(p, "\n| `")) && n < 64; p++) {
        char kind[16];
        if (sscanf(p, "\n| `%31[a-z0-9]` | %15[a-z] |", names[n], kind) == 2)
            part[n++] = !strcmp(kind, "part");
    }
    free(doc);
    cr_assert_geq(n, 30, "the table lists the built-in names (%zu)", n);
    static const char *const around[][2] = {{"", ""},   {"x", ""},     {"", "x"},  {"db", "hint"},
                                            {"p", ""},  {"pp", "s"},   {"c", "c"}, {"tokenx", ""},
                                            {"a", "a"}, {"secre", "t"}};
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t a = 0; a < sizeof around / sizeof *around; a++) {
            for (int cut = 0; cut < 2; cut++) { /* the name whole, then without its last letter */
                char probe[96];
                int len = snprintf(probe, sizeof probe, "%s%.*s%s", around[a][0],
                                   (int)strlen(names[i]) - cut, names[i], around[a][1]);
                bool want = false;
                for (size_t k = 0; k < n && !want; k++)
                    want = part[k] ? strstr(probe, names[k]) != NULL : !strcmp(probe, names[k]);
                cr_assert_eq(rt_ext_sensitive_name(probe, (size_t)len, NULL), want, "%s: %s", probe,
                             want ? "sensitive" : "not sensitive");
                checked++;
            }
        }
    }
    cr_assert_eq(checked, n * 20);
}

Test(extension_redact, default_list_with_no_user_list)
{
    const char *ev = "{\"Password\":\"S3NT-1\",\"headers\":{\"Authorization\":\"Bearer S3NT-2\","
                     "\"X-Api-Key\":\"S3NT-3\",\"Accept\":\"*/*\"},\"dbPassword\":\"S3NT-4\","
                     "\"multiValueHeaders\":{\"Cookie\":[\"a=S3NT-5\"]},\"ok\":\"visible\","
                     "\"body\":\"{\\\"client_secret\\\":\\\"S3NT-6\\\"}\"}";
    unsigned n = 0;
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, "", ev, &n);
    char *s = stored(&p);
    cr_assert_eq(p.mode, RT_PAYLOAD_REDACTED);
    cr_assert_eq(n, 6, "%s", s);
    cr_assert_null(strstr(s, "S3NT"), "%s", s);
    static const char *const kept[] = {
        "\"Password\"", "\"Authorization\"",  "\"X-Api-Key\"",      "\"dbPassword\"",
        "\"Cookie\"",   "\"ok\":\"visible\"", "\"Accept\":\"*/*\"", "client_secret"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        cr_assert_not_null(strstr(s, kept[i]), "%s kept: %s", kept[i], s);
    free(s);
    free(p.data);
}

static char *nested(int depth, const char *inner)
{
    size_t len = (size_t)depth * 7 + strlen(inner) + 1;
    char *s = malloc(len);
    size_t o = 0;
    for (int i = 0; i < depth; i++)
        o += (size_t)sprintf(s + o, "{\"a\":");
    o += (size_t)sprintf(s + o, "%s", inner);
    for (int i = 0; i < depth; i++)
        s[o++] = '}';
    s[o] = '\0';
    return s;
}

Test(extension_redact, deep_documents_are_searched_or_hashed)
{
    static const int depths[] = {47, 49, 60, 500, 2000};
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        char *ev = nested(depths[i], "{\"token\":\"S3NT-DEEP\"}");
        unsigned n = 0;
        struct rt_payload p = capture(RT_PAYLOAD_REDACTED, NULL, ev, &n);
        char *s = stored(&p);
        cr_assert_eq(p.mode, RT_PAYLOAD_REDACTED, "depth %d", depths[i]);
        cr_assert_eq(n, 1, "depth %d", depths[i]);
        cr_assert_null(strstr(s, "S3NT"), "depth %d", depths[i]);
        free(s);
        free(p.data);
        free(ev);
    }
    /* JSON in a string in a string ... beyond what is searched: hash only. */
    char *inner = strdup("{\\\"password\\\":\\\"S3NT-NEST\\\"}");
    static char doc[16384], esc[16000];
    snprintf(doc, sizeof doc, "{\"body\":\"%s\"}", inner);
    for (int level = 0; level < 6; level++) {
        size_t o = 0;
        for (const char *c = doc; *c; c++) {
            if (*c == '"' || *c == '\\')
                esc[o++] = '\\';
            esc[o++] = *c;
            cr_assert_lt(o, sizeof esc - 2);
        }
        esc[o] = '\0';
        snprintf(doc, sizeof doc, "{\"body\":\"%s\"}", esc);
    }
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, NULL, doc, NULL);
    cr_assert_eq(p.mode, RT_PAYLOAD_HASH);
    cr_assert_null(p.data);
    free(inner);
}

Test(extension_redact, text_payloads)
{
    struct rt_payload p = capture(RT_PAYLOAD_REDACTED, NULL, "part 1 of 3\npart 2 of 3\n", NULL);
    cr_assert_eq(p.mode, RT_PAYLOAD_REDACTED);
    cr_assert_eq(p.len, 24, "text naming nothing sensitive is kept");
    free(p.data);
    static const char *const secret_texts[] = {"user=a&Password=S3NT", "Authorization: Bearer x",
                                               "x-api-key S3NT", "my ssn is S3NT"};
    for (size_t i = 0; i < sizeof secret_texts / sizeof *secret_texts; i++) {
        p = capture(RT_PAYLOAD_REDACTED, NULL, secret_texts[i], NULL);
        cr_assert_eq(p.mode, RT_PAYLOAD_HASH, "%s", secret_texts[i]);
        cr_assert_null(p.data);
    }
    p = capture(RT_PAYLOAD_REDACTED, "nickname", "nickname: S3NT", NULL);
    cr_assert_eq(p.mode, RT_PAYLOAD_HASH, "user names count too");
}

Test(extension_redact, settings)
{
    static const char *const only_redact[] = {"RUNTRAIL_REDACT", "nickname", NULL};
    struct rt_ext_config c = load_cfg(only_redact);
    cr_assert_eq(c.errors, 0);
    cr_assert_eq(c.payload, RT_PAYLOAD_REDACTED);

    static const char *const contradiction[] = {"RUNTRAIL_PAYLOAD", "full", "RUNTRAIL_REDACT",
                                                "nickname", NULL};
    c = load_cfg(contradiction);
    cr_assert_eq(c.errors, 1, "full with a list to redact: counted");
    cr_assert_eq(c.payload, RT_PAYLOAD_REDACTED, "the safe setting wins");

    static const char *const full[] = {"RUNTRAIL_PAYLOAD", "FULL", NULL};
    c = load_cfg(full);
    cr_assert_eq(c.errors, 0);
    cr_assert_eq(c.payload, RT_PAYLOAD_FULL, "full when asked for explicitly");

    static const char *const bad[] = {"RUNTRAIL_REDACT", "a..b,ok", NULL};
    c = load_cfg(bad);
    cr_assert_eq(c.errors, 1);
    cr_assert_not_null(strstr(c.error_names, "RUNTRAIL_REDACT"));
    cr_assert_eq(rt_ext_redact_list_check("a, b.c ,,d"), 0);
    cr_assert_eq(rt_ext_redact_list_check(".a"), -1);
    cr_assert_eq(rt_ext_redact_list_check("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q"), -1);
}

/* ---- secrets: argv, command lines, URLs ---- */

/* Redacts one text, checks that no "S3NT" sentinel is left and that every `want` string is in
 * the result; returns the result (caller frees). */
static char *redacted_text(char kind, const char *in, size_t len, unsigned min_count,
                           const char *const *want)
{
    setup_key();
    char *out = NULL;
    size_t n = 0;
    unsigned count = rt_ext_redact_text(&tkey, NULL, kind, in, len, &out, &n);
    cr_assert_geq(count, min_count, "%s", in);
    cr_assert_not_null(out, "%s", in);
    char *s = calloc(1, n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = out[i] ? out[i] : '|';
    free(out);
    cr_assert_null(strstr(s, "S3NT"), "sentinel left in: %s", s);
    for (size_t i = 0; want && want[i]; i++)
        cr_assert_not_null(strstr(s, want[i]), "%s not in %s", want[i], s);
    return s;
}

static char *argv_of(const char *const *args, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; args[i]; i++)
        n += strlen(args[i]) + 1;
    char *s = malloc(n);
    size_t o = 0;
    for (size_t i = 0; args[i]; i++) {
        memcpy(s + o, args[i], strlen(args[i]) + 1);
        o += strlen(args[i]) + 1;
    }
    *len = n - 1; /* elements joined by NUL, no trailing NUL */
    return s;
}

Test(extension_args, argv_forms)
{
    static const struct {
        const char *args[8];
        unsigned count;
        const char *want[5]; /* NULL-terminated */
    } cases[] = {
        {{"curl", "-H", "Authorization: Bearer S3NT-1", "http://127.0.0.1:1/x?api_key=S3NT-2&q=1"},
         2,
         {"|Authorization: Bearer hmac:", "?api_key=hmac:", "&q=1"}},
        {{"tool", "--password", "S3NT-3", "--password=S3NT-4", "--db-password", "S3NT-5"},
         3,
         {"|--password|hmac:", "|--password=hmac:", "|--db-password|hmac:"}},
        {{"env", "PGPASSWORD=S3NT-6", "psql", "-h", "db", "-p", "5432"},
         1,
         {"|PGPASSWORD=hmac:", "|-p|5432"}},
        {{"/usr/bin/mysql", "-uroot", "-pS3NT-7", "-h", "db"}, 1, {"|-uroot|-phmac:", "|-h|db"}},
        {{"curl", "-u", "admin:S3NT-8", "--user=ops:S3NT-9", "-uroot:S3NT-10"},
         3,
         {"|admin:hmac:", "|--user=ops:hmac:", "|-uroot:hmac:"}},
        {{"sshpass", "-p", "S3NT-11", "ssh", "host"}, 1, {"|-p|hmac:", "|ssh|host"}},
        {{"psql", "postgres://app:S3NT-12@db:5432/orders"},
         1,
         {"postgres://app:hmac:", "@db:5432"}},
        {{"wget", "--header=X-Api-Key: S3NT-13", "--http-password=S3NT-14"},
         2,
         {"--header=X-Api-Key: hmac:", "--http-password=hmac:"}},
        {{"curl", "-b", "sid=S3NT-15", "-d", "{\"user\": \"ann\", \"Password\": \"S3NT-16\"}",
          "--data={\"x\":{\"token\":\"S3NT-17\"}}"},
         3,
         {"|-b|hmac:", "\"user\":\"ann\"", "\"Password\":\"<redacted:hmac:", "--data={\"x\":"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        char *a = argv_of(cases[i].args, &len);
        free(redacted_text('a', a, len, cases[i].count, cases[i].want));
        free(a);
    }
}

Test(extension_args, shell_strings_inside_argv)
{
    const char *const args[] = {
        "sh", "-c",
        "PGPASSWORD='S3NT-1 two' psql -c \"select 1\"; curl -s -H \"X-Api-Key: S3NT-2\" "
        "\"https://h/p?token=S3NT-3&page=2\" && mysql -pS3NT-4 --password S3NT-5",
        NULL};
    size_t len;
    char *a = argv_of(args, &len);
    static const char *const want[] = {"sh|-c|PGPASSWORD=hmac:",
                                       "psql -c \"select 1\"; curl -s -H 'X-Api-Key: hmac:",
                                       "https://h/p?token=hmac:",
                                       "&page=2",
                                       "mysql -phmac:",
                                       "--password hmac:",
                                       NULL};
    free(redacted_text('a', a, len, 5, want));
    free(a);
}

Test(extension_args, command_lines_and_untouched_bytes)
{
    const char *cmd = "cd /tmp && API_TOKEN=S3NT-1 ./run --secret=S3NT-2 'a  b' | tee out";
    static const char *const want[] = {
        "cd /tmp && API_TOKEN=hmac:", " ./run --secret=hmac:", " 'a  b' | tee out", NULL};
    free(redacted_text('s', cmd, strlen(cmd), 2, want));

    setup_key();
    char *out = NULL;
    size_t n = 0;
    static const char *const clean[] = {"echo \"hello world\" 'x' && ls -p 22 | grep -v foo",
                                        "psql -p 5432 -h db --no-password orders",
                                        "curl https://example.com/a?page=2&sort=asc",
                                        "curl -H 'Authorization:' 'http://h/?token=&a=1'"};
    for (size_t i = 0; i < sizeof clean / sizeof *clean; i++) {
        cr_assert_eq(rt_ext_redact_text(&tkey, NULL, 's', clean[i], strlen(clean[i]), &out, &n), 0,
                     "%s", clean[i]);
        cr_assert_null(out);
    }
}

Test(extension_args, http_lines_and_presigned_urls)
{
    const char *line = "GET /x?api_key=S3NT-1&a=b HTTP/1.1\nHost: h:80\nHTTP/1.1 200 OK";
    char *s = redacted_text('h', line, strlen(line), 1, NULL);
    char *want = NULL;
    /* The token is "hmac:" + the first 16 bytes of HMAC-SHA256(key, value) in hex. */
    uint8_t mac[32];
    char hex[33];
    rt_hmac_sha256(key, 3, "S3NT-1", 6, mac);
    cr_assert(asprintf(&want, "GET /x?api_key=hmac:%s&a=b HTTP/1.1\nHost: h:80\nHTTP/1.1 200 OK",
                       rt_hex(mac, 16, hex)) > 0);
    cr_assert_str_eq(s, want);
    free(want);
    free(s);

    const char *presigned =
        "PUT /k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-"
        "east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Security-Token=S3NT-2&X-Amz-"
        "Signature=S3NT-3&X-Amz-SignedHeaders=host HTTP/1.1";
    static const char *const keep[] = {"X-Amz-Credential=AKIDEXAMPLE%2F20240101",
                                       "X-Amz-Date=20240101T000000Z",
                                       "X-Amz-SignedHeaders=host",
                                       "X-Amz-Security-Token=hmac:",
                                       "X-Amz-Signature=hmac:",
                                       NULL};
    free(redacted_text('h', presigned, strlen(presigned), 2, keep));

    /* A URL in a query value (a redirect target), and "://" after the '?' (not a scheme). */
    const char *redirect = "GET /login?token=S3NT-4&next=https://u:S3NT-5@h/?api_key=S3NT-6 "
                           "HTTP/1.1";
    static const char *const next[] = {
        "?token=hmac:", "&next=https://u:hmac:", "@h/?api_key=hmac:", NULL};
    free(redacted_text('h', redirect, strlen(redirect), 3, next));
}

Test(extension_args, events_by_op_table)
{
    setup_key();
    size_t len;
    static const char *const args[] = {"curl", "--oauth2-bearer", "S3NT-1", NULL};
    char *a = argv_of(args, &len);
    struct rt_event ev = {.op = RT_OP_EXEC};
    ev.str[0] = (struct rt_str){"/usr/bin/curl", 13};
    ev.str[1] = (struct rt_str){a, len};
    char *scratch = NULL;
    size_t cap = 0;
    cr_assert_eq(rt_ext_redact_event(&tkey, NULL, &ev, &scratch, &cap), 1);
    cr_assert_eq(ev.str[0].len, 13, "the path is not an argv");
    cr_assert_null(memmem(ev.str[1].ptr, ev.str[1].len, "S3NT", 4));

    struct rt_event out = {.op = RT_OP_OUTBOUND};
    out.str[0] = (struct rt_str){"127.0.0.1:80", 12};
    out.str[2] = (struct rt_str){"GET /?token=S3NT-2 HTTP/1.1", 27};
    cr_assert_eq(rt_ext_redact_event(&tkey, NULL, &out, &scratch, &cap), 1);
    cr_assert_null(memmem(out.str[2].ptr, out.str[2].len, "S3NT", 4));

    struct rt_event sys = {.op = RT_OP_SYSTEM};
    sys.str[0] = (struct rt_str){"MYSQL_PWD=S3NT-3 mysql", 22};
    cr_assert_eq(rt_ext_redact_event(&tkey, "", &sys, &scratch, &cap), 1);
    cr_assert_null(memmem(sys.str[0].ptr, sys.str[0].len, "S3NT", 4));

    struct rt_event dns = {.op = RT_OP_DNS};
    dns.str[0] = (struct rt_str){"token.example.com", 17};
    cr_assert_eq(rt_ext_redact_event(&tkey, NULL, &dns, &scratch, &cap), 0);
    free(scratch);
    free(a);
}

/* META access_key_id: the key id of the environment, never a value equal to the secret. */
Test(envinfo, own_key_id)
{
    char *ok[] = {"AWS_SECRET_ACCESS_KEY=s3cr3t", "AWS_ACCESS_KEY_ID=ASIAEXAMPLE0001", NULL};
    cr_assert_str_eq(rt_ext_own_key_id(ok), "ASIAEXAMPLE0001");
    char *same[] = {"AWS_ACCESS_KEY_ID=SAMEVALUE", "AWS_SECRET_ACCESS_KEY=SAMEVALUE", NULL};
    cr_assert_null(rt_ext_own_key_id(same));
    char *odd[] = {"AWS_ACCESS_KEY_ID=not a key id", NULL};
    cr_assert_null(rt_ext_own_key_id(odd));
    char *none[] = {"PATH=/bin", NULL};
    cr_assert_null(rt_ext_own_key_id(none));
}

/* ---- /proc parsers of the sampling (procparse.c) ---- */

Test(procparse, socket_tables_v4_v6_and_states)
{
    static const char tcp[] =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
        "      0 111 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000  "
        "      0 222 1 0000000000000000 20 4 30 10 -1\n";
    struct rt_proc_sock s;
    cr_assert(rt_proc_net_find(tcp, strlen(tcp), false, 222, &s));
    cr_assert_str_eq(s.local, "127.0.0.1:50000");
    cr_assert_str_eq(s.remote, "127.0.0.1:8080");
    cr_assert_eq(s.state, 1);
    cr_assert(rt_proc_net_find(tcp, strlen(tcp), false, 111, &s));
    cr_assert_eq(s.state, 10);
    cr_assert_str_eq(s.remote, "0.0.0.0:0");
    cr_assert_not(rt_proc_net_find(tcp, strlen(tcp), false, 333, &s), "absent inode");
    cr_assert_not(rt_proc_net_find(tcp, 150, false, 222, &s), "cut before the line");
    static const char tcp6[] =
        "  sl  local_address                         remote_address                        st "
        "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000001000000:D431 0000000000000000FFFF00000100007F:01BB 01 "
        "00000000:00000000 00:00000000 00000000     0        0 444 1\n";
    cr_assert(rt_proc_net_find(tcp6, strlen(tcp6), true, 444, &s));
    cr_assert_str_eq(s.local, "[::1]:54321");
    cr_assert_str_eq(s.remote, "[::ffff:127.0.0.1]:443");
    static const char bad[] = "header\n   0: 0100007G:1F90 00000000:0000 0A x x x x 0 0 5\n";
    cr_assert_not(rt_proc_net_find(bad, strlen(bad), false, 5, &s), "a non-hex address");
}

Test(procparse, fdinfo_flags_and_stat_ppid)
{
    static const char fdinfo[] = "pos:\t0\nflags:\t02100002\nmnt_id:\t25\n";
    cr_assert_eq(rt_proc_fdinfo_flags(fdinfo, strlen(fdinfo)), 02100002);
    cr_assert_eq(rt_proc_fdinfo_flags("pos:\t0\n", 7), -1);
    static const char stat[] = "4242 (my (odd) prog) S 17 4242 4242 0 -1";
    cr_assert_eq(rt_proc_stat_ppid(stat, strlen(stat)), 17);
    cr_assert_eq(rt_proc_stat_ppid("4242 (x", 7), -1);
}

/* An environment block loads the interposer into our ring only with both variables, the first
 * of each as the loader reads it; its last entry may be cut short. */
Test(procparse, environ_interposed)
{
#define ENV(lit) lit, sizeof lit - 1
    const char *ring = "/proc/77/fd/5";
    cr_assert(rt_proc_environ_interposed(
        ENV("PATH=/bin\0LD_PRELOAD=/opt/runtrail/lib/libruntrail-preload.so\0"
            "RUNTRAIL_RING=/proc/77/fd/5\0"),
        ring));
    cr_assert(rt_proc_environ_interposed(ENV("LD_PRELOAD=/x.so:/opt/runtrail/lib/"
                                             "libruntrail-preload.so\0RUNTRAIL_RING=/proc/77/fd/5"),
                                         ring),
              "the last entry without its NUL");
    cr_assert_not(rt_proc_environ_interposed("", 0, ring), "env -i");
    cr_assert_not(rt_proc_environ_interposed(
                      ENV("LD_PRELOAD=libc.so.6\0RUNTRAIL_RING=/proc/77/fd/5\0"), ring),
                  "its own LD_PRELOAD");
    cr_assert_not(
        rt_proc_environ_interposed(
            ENV("LD_PRELOAD=/lib/libruntrail-preload.so\0RUNTRAIL_RING=/elsewhere\0"), ring),
        "another ring");
    cr_assert_not(
        rt_proc_environ_interposed(
            ENV("LD_PRELOAD=/lib/libruntrail-preload.so\0RUNTRAIL_RING=/proc/77/fd/55\0"), ring),
        "a ring whose path only starts like ours");
    cr_assert_not(
        rt_proc_environ_interposed(ENV("LD_PRELOAD=\0LD_PRELOAD=/lib/libruntrail-preload.so\0"
                                       "RUNTRAIL_RING=/proc/77/fd/5\0"),
                                   ring),
        "the loader reads the first LD_PRELOAD");
    cr_assert_not(rt_proc_environ_interposed(ENV("XLD_PRELOAD=/lib/libruntrail-preload.so\0"
                                                 "RUNTRAIL_RING=/proc/77/fd/5\0"),
                                             ring));
#undef ENV
}

/* ---- the /proc sampler and runtrail's own wrapper ---- */

struct sampled_starts {
    int32_t pid;
    int starts; /* proc_start events of pid */
};

static void count_starts(const struct rt_event *ev, void *arg)
{
    struct sampled_starts *s = arg;
    if (ev->pid == s->pid && ev->op == RT_OP_PROC_START && (ev->flags & RT_EF_SAMPLED))
        s->starts++;
}

/* Drains ring for up to ms, counting the sampler's proc_start events of pid. */
static int sampled_starts_of(struct rt_ring *ring, pid_t pid, int ms)
{
    struct sampled_starts s = {pid, 0};
    for (int waited = 0; waited < ms && s.starts == 0; waited += 20) {
        usleep(20000);
        rt_ring_drain(ring, count_starts, &s);
    }
    return s.starts;
}

static void built(char out[512], const char *rel);

/* Starts argv with a pipe on stdin (the write end in *in), run_dir as RUNTRAIL_RUN_DIR, and
 * writes its pid to run_dir/runtime.pid, as the wrapper does. Interposed: with LD_PRELOAD and
 * RUNTRAIL_RING (run_dir/ring) set as the wrapper sets them, else without either. Traced: the
 * child stops at its exec, in argv[0]'s image, until PTRACE_DETACH. */
static pid_t start_runtime_as(char *const argv[], const char *run_dir, bool traced, bool interposed,
                              int *in)
{
    char so[512], ring[512];
    built(so, "lib/libruntrail-preload.so");
    snprintf(ring, sizeof ring, "%s/ring", run_dir);
    int p[2], execd[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(pipe2(execd, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(p[0], 0);
        close(p[1]);
        close(execd[0]);
        setenv("RUNTRAIL_RUN_DIR", run_dir, 1);
        unsetenv("LD_PRELOAD");
        unsetenv("RUNTRAIL_RING");
        if (interposed) {
            setenv("LD_PRELOAD", so, 1);
            setenv("RUNTRAIL_RING", ring, 1);
        }
        if (traced)
            ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[0]);
    *in = p[1];
    /* runtime.pid names the runtime once it runs, as the wrapper writes it just before its own
     * exec: until its exec the child is a copy of this program, with this program's starting
     * environment, which the sampler would take for a dynamic program kept out of the
     * interposer. The exec closes execd[1]: the read ends there. */
    close(execd[1]);
    char c;
    while (read(execd[0], &c, 1) > 0)
        ;
    close(execd[0]);
    if (traced) {
        int st = 0;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFSTOPPED(st), "the child stops at its exec");
    }
    char path[512], text[32];
    snprintf(path, sizeof path, "%s/runtime.pid", run_dir);
    snprintf(text, sizeof text, "%d\n", (int)pid);
    write_file(path, text);
    return pid;
}

static pid_t start_runtime(char *const argv[], const char *run_dir, bool traced, int *in)
{
    return start_runtime_as(argv, run_dir, traced, true, in);
}

/* out: the build folder's (BUILD, else build) program rel, which must be there. */
static void built(char out[512], const char *rel)
{
    const char *b = getenv("BUILD");
    snprintf(out, 512, "%s/%s", b ? b : "build", rel);
    cr_assert_eq(access(out, X_OK), 0, "%s: build it first", out);
}

/* A run folder in /tmp with an event ring of `slots` records, as the extension's. */
static struct rt_ring *procwatch_folder(char dir[], char ring_path[512], size_t slots)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(ring_path, 512, "%s/ring", dir);
    struct rt_ring *ring = NULL;
    cr_assert_eq(rt_ring_create(ring_path, slots, &ring, NULL), RT_OK);
    return ring;
}

static void procwatch_folder_remove(const char *dir, const char *ring_path, struct rt_ring *ring)
{
    rt_ring_close(ring);
    unlink(ring_path);
    char pidfile[512];
    snprintf(pidfile, sizeof pidfile, "%s/runtime.pid", dir);
    unlink(pidfile);
    rmdir(dir);
}

Test(extension_procwatch, reports_a_static_runtime_but_not_the_wrapper_before_its_exec)
{
    char idle[512], wrapper[512];
    built(idle, "tests/recorder/static_idle");
    built(wrapper, "layer/runtrail/wrapper");
    char dir[] = "/tmp/rt-ext-procwatch.XXXXXX", ring_path[512];
    struct rt_ring *ring = procwatch_folder(dir, ring_path, 256);
    struct rt_ext_procwatch *w = rt_ext_procwatch_start(ring_path, dir, 10);
    cr_assert_not_null(w);

    /* A static program as the runtime: the interposer cannot enter it, the sampler says so. */
    int in;
    char *const idle_argv[] = {idle, NULL};
    pid_t pid = start_runtime(idle_argv, dir, false, &in);
    int idle_starts = sampled_starts_of(ring, pid, 3000);
    close(in);
    waitpid(pid, NULL, 0);
    cr_assert_eq(idle_starts, 1, "the static runtime is reported");

    /* The static wrapper, held at its exec (ptrace): the runtime's pid runs the wrapper's
     * image, which the sampler must not report. */
    char *const wrap_argv[] = {wrapper, idle, NULL};
    pid = start_runtime(wrap_argv, dir, true, &in);
    int before = sampled_starts_of(ring, pid, 500);
    /* Let it go: without a ready file it execs the runtime unchanged, in the same process,
     * and that image is reported. */
    long detached = ptrace(PTRACE_DETACH, pid, NULL, NULL);
    int after = sampled_starts_of(ring, pid, 3000);
    kill(pid, SIGKILL); /* before any assertion: a child left behind would hold Criterion */
    close(in);
    waitpid(pid, NULL, 0);
    cr_assert_eq(before, 0, "the wrapper itself is not reported");
    cr_assert_eq(detached, 0, "the wrapper is let go");
    cr_assert_eq(after, 1, "its runtime is, after the exec");

    rt_ext_procwatch_stop(w);
    procwatch_folder_remove(dir, ring_path, ring);
}

/* A dynamic program with a Go note (the Go toolchain's build id) makes its system calls
 * itself: the sampler reports it as it does a static one, and not a dynamic program without
 * that note, which records itself; but it does report a dynamic program started without the
 * interposer (env -i, its own LD_PRELOAD). Also when the note runs past the file's first page,
 * which the sampler reads at once (go_noted_far). */
Test(extension_procwatch, reports_a_go_program_and_a_bare_dynamic_one_but_not_a_covered_one)
{
    char go[512], go_far[512];
    built(go, "tests/recorder/go_noted");
    built(go_far, "tests/recorder/go_noted_far");
    char dir[] = "/tmp/rt-ext-procwatch.XXXXXX", ring_path[512];
    struct rt_ring *ring = procwatch_folder(dir, ring_path, 256);
    struct rt_ext_procwatch *w = rt_ext_procwatch_start(ring_path, dir, 10);
    cr_assert_not_null(w);

    int in;
    char *const cat_argv[] = {"/bin/cat", NULL};
    pid_t pid = start_runtime(cat_argv, dir, false, &in);
    int cat_starts = sampled_starts_of(ring, pid, 300);
    close(in);
    waitpid(pid, NULL, 0);
    pid = start_runtime_as(cat_argv, dir, false, false, &in);
    int bare_starts = sampled_starts_of(ring, pid, 3000);
    close(in);
    waitpid(pid, NULL, 0);
    char *const go_argv[] = {go, "idle", NULL};
    pid = start_runtime(go_argv, dir, false, &in);
    int go_starts = sampled_starts_of(ring, pid, 3000);
    close(in);
    waitpid(pid, NULL, 0);
    char *const far_argv[] = {go_far, "idle", NULL};
    pid = start_runtime(far_argv, dir, false, &in);
    int far_starts = sampled_starts_of(ring, pid, 3000);
    close(in);
    waitpid(pid, NULL, 0);
    rt_ext_procwatch_stop(w);
    cr_assert_eq(cat_starts, 0, "a dynamic program records itself: not sampled");
    cr_assert_eq(bare_starts, 1, "a dynamic program started without the interposer is sampled");
    cr_assert_eq(go_starts, 1, "the Go program is reported");
    cr_assert_eq(far_starts, 1, "the Go program whose note runs past the first page is reported");
    procwatch_folder_remove(dir, ring_path, ring);
}

/* Opens /proc/self/task/TID/NAME of this process's sampling thread (rt-procwatch). */
static FILE *sampler_file(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    cr_assert_not_null(d);
    FILE *out = NULL;
    struct dirent *e;
    while (!out && (e = readdir(d))) {
        char path[300], line[128];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        bool ours = f && fgets(line, sizeof line, f) && !strcmp(line, "rt-procwatch\n");
        if (f)
            fclose(f);
        snprintf(path, sizeof path, "/proc/self/task/%s/%s", e->d_name, name);
        if (ours)
            out = fopen(path, "r");
    }
    closedir(d);
    cr_assert_not_null(out, "the sampling thread is found");
    return out;
}

/* How many times this process's sampling thread has gone to sleep and been woken: its
 * voluntary context switches. */
static long sampler_wakes(void)
{
    FILE *f = sampler_file("status");
    long wakes = -1;
    char line[128];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &wakes) == 1)
            break;
    fclose(f);
    cr_assert_geq(wakes, 0, "the sampling thread's switches are read");
    return wakes;
}

/* The page faults of this process's sampling thread so far (minflt in its stat). */
static long sampler_faults(void)
{
    FILE *f = sampler_file("stat");
    long faults = -1;
    char line[512];
    const char *rest = fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
    fclose(f);
    /* after the name: state ppid pgrp session tty_nr tpgid flags minflt */
    if (rest && sscanf(rest, ") %*c %*d %*d %*d %*d %*d %*u %ld", &faults) != 1)
        faults = -1;
    cr_assert_geq(faults, 0, "the sampling thread's faults are read");
    return faults;
}

/* The sampler's memory is touched as it is used: a walk over one process faults in its slot's
 * state and lists, not the 64 slots' (140 KB: 33 page faults at the first walk, beside the
 * runtime's start, before the lists were kept apart). */
Test(extension_procwatch, a_walk_touches_the_slots_it_uses)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("ASan's allocator and shadow memory make their own page faults");
#endif
    /* the sampler's state in a fresh mapping, as in the extension, whatever earlier tests of
     * this process freed (glibc raises its mmap threshold as large blocks are freed) */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    char dir[] = "/tmp/rt-ext-procwatch.XXXXXX", ring_path[512];
    struct rt_ring *ring = procwatch_folder(dir, ring_path, 256);
    int in;
    char *const sleep_argv[] = {"/bin/sleep", "5", NULL};
    pid_t pid = start_runtime(sleep_argv, dir, false, &in);
    struct rt_ext_procwatch *w = rt_ext_procwatch_start(ring_path, dir, 5);
    cr_assert_not_null(w);
    for (int i = 0; i < 400 && rt_ext_procwatch_walks(w) < 3; i++)
        usleep(5 * 1000);
    uint64_t walks = rt_ext_procwatch_walks(w);
    long faults = sampler_faults();
    kill(pid, SIGKILL);
    close(in);
    waitpid(pid, NULL, 0);
    rt_ext_procwatch_stop(w);
    procwatch_folder_remove(dir, ring_path, ring);
    cr_assert_geq(walks, 3, "the sampler walked the tree (%llu walks)", (unsigned long long)walks);
    cr_assert_leq(faults, 20, "%ld page faults in the sampling thread after %llu walks", faults,
                  (unsigned long long)walks);
}

/* The walks of sampler w over 600 ms, after 100 ms for its first ones: *ms gets the time it
 * took, *wakes the times the sampling thread woke meanwhile. */
static uint64_t quiet_walks(struct rt_ext_procwatch *w, uint64_t *ms, long *wakes)
{
    usleep(100 * 1000);
    uint64_t q0 = rt_ext_procwatch_walks(w);
    long s0 = sampler_wakes();
    int64_t t0 = rt_ext_now_mono_ns();
    usleep(600 * 1000);
    uint64_t walks = rt_ext_procwatch_walks(w) - q0;
    *wakes = sampler_wakes() - s0;
    *ms = (uint64_t)((rt_ext_now_mono_ns() - t0) / 1000000);
    return walks;
}

/* A sampler with period_ms over the runtime pid (started by start_runtime, its stdin in) in
 * run folder dir: its walks in a quiet while (quiet_walks), then the runtime killed and the
 * sampler stopped. */
static uint64_t quiet_walks_of(pid_t pid, int in, const char *dir, const char *ring_path,
                               uint64_t period_ms, uint64_t *ms, long *wakes)
{
    struct rt_ext_procwatch *w = rt_ext_procwatch_start(ring_path, dir, period_ms);
    cr_assert_not_null(w);
    uint64_t walks = quiet_walks(w, ms, wakes);
    kill(pid, SIGKILL);
    close(in);
    waitpid(pid, NULL, 0);
    rt_ext_procwatch_stop(w);
    return walks;
}

/* A runtime tree of covered processes (a dynamic program) is walked every 50 ms, not every
 * period, while it records nothing, and while it records anything but a process change, even
 * with an invocation ending every 5 ms; a process change (the counter a producer bumps before
 * fork, spawn, system, popen or exec) brings the period back. Counted in walks: at most one per
 * 50 ms in a quiet while (one more at each end), whatever the machine's load; several times
 * that while processes change (120 periods of 5 ms). While quiet, the thread wakes once per walk
 * (its wait on the process-change word ends at the walk's time), not three times. */
Test(extension_procwatch, a_quiet_covered_tree_is_walked_less_often)
{
    char dir[] = "/tmp/rt-ext-procwatch.XXXXXX", ring_path[512];
    struct rt_ring *ring = procwatch_folder(dir, ring_path, 4096);
    int in;
    char *const sleep_argv[] = {"/bin/sleep", "5", NULL};
    pid_t pid = start_runtime(sleep_argv, dir, false, &in);
    struct rt_ext_procwatch *w = rt_ext_procwatch_start(ring_path, dir, 5);
    cr_assert_not_null(w);

    uint64_t quiet_ms;
    long quiet_wakes;
    uint64_t quiet = quiet_walks(w, &quiet_ms, &quiet_wakes); /* /bin/sleep: dynamic, covered */

    struct rt_producer prod;
    cr_assert_eq(rt_producer_attach(&prod, ring_path), 0);
    uint64_t b0 = rt_ext_procwatch_walks(w);
    int64_t t0 = rt_ext_now_mono_ns();
    for (int i = 0; i < 120; i++) { /* a record every 5 ms, as a busy handler would write */
        struct rt_rec rec = {.ts_ns = 1, .pid = pid, .tid = pid, .op = RT_OP_OPEN};
        rt_producer_emit(&prod, &rec);
        /* and an invocation's end: the sealer's cut of the connection table */
        __atomic_fetch_add(&prod.hdr->snap_gen, 1, __ATOMIC_RELEASE);
        usleep(5 * 1000);
    }
    uint64_t busy = rt_ext_procwatch_walks(w) - b0;
    uint64_t busy_ms = (uint64_t)((rt_ext_now_mono_ns() - t0) / 1000000);
    uint64_t a0 = rt_ext_procwatch_walks(w);
    for (int i = 0; i < 120; i++) { /* a process change every 5 ms */
        rt_producer_proc_change(&prod);
        usleep(5 * 1000);
    }
    uint64_t active = rt_ext_procwatch_walks(w) - a0;
    rt_producer_detach(&prod);
    kill(pid, SIGKILL);
    close(in);
    waitpid(pid, NULL, 0);
    rt_ext_procwatch_stop(w);
    cr_assert_leq(quiet, quiet_ms / 50 + 2, "quiet: %llu walks in %llu ms",
                  (unsigned long long)quiet, (unsigned long long)quiet_ms);
    cr_assert_geq(quiet_wakes, 1, "the sampler's wake-ups are counted");
    cr_assert_leq(quiet_wakes, (long)(quiet + quiet / 2 + 2),
                  "quiet: the sampler woke %ld times for %llu walks", quiet_wakes,
                  (unsigned long long)quiet);
    cr_assert_leq(busy, busy_ms / 50 + 2,
                  "records and invocation ends but no process change: %llu walks in %llu ms",
                  (unsigned long long)busy, (unsigned long long)busy_ms);
    cr_assert_geq(active, 2 * quiet + 10, "process changes: %llu walks against %llu quiet",
                  (unsigned long long)active, (unsigned long long)quiet);

    procwatch_folder_remove(dir, ring_path, ring);
}

/* A period longer than the quiet walks' 50 ms (RUNTRAIL_PROC_SAMPLE_MS=200) is not shortened
 * by them: a quiet tree is walked once per period then. */
Test(extension_procwatch, a_long_period_is_kept_while_quiet)
{
    char dir[] = "/tmp/rt-ext-procwatch.XXXXXX", ring_path[512];
    struct rt_ring *ring = procwatch_folder(dir, ring_path, 4096);
    int in;
    char *const sleep_argv[] = {"/bin/sleep", "5", NULL};
    pid_t pid = start_runtime(sleep_argv, dir, false, &in);
    uint64_t quiet_ms;
    long wakes;
    uint64_t quiet = quiet_walks_of(pid, in, dir, ring_path, 200, &quiet_ms, &wakes);
    cr_assert_leq(quiet, quiet_ms / 200 + 2, "a 200 ms period, quiet: %llu walks in %llu ms",
                  (unsigned long long)quiet, (unsigned long long)quiet_ms);
    procwatch_folder_remove(dir, ring_path, ring);
}

/* A child that has exited and is not reaped yet (a zombie: a shell's command between its exit
 * and the shell's wait, the C sample's `uname` under `popen`) has no program to read: it is
 * leaving, there is nothing to sample, and it does not keep a covered tree from being quiet.
 * (It did: every walk that met one came back a period later, not 50 ms, and on a slow machine,
 * where a child stays a zombie longer, the sampler walked at its full rate through each
 * invocation.) */
Test(extension_procwatch, a_zombie_child_leaves_the_tree_quiet)
{
    char dir[] = "/tmp/rt-ext-procwatch.XXXXXX", ring_path[512];
    struct rt_ring *ring = procwatch_folder(dir, ring_path, 4096);
    int in;
    /* sh starts /bin/true and becomes /bin/sleep, which never reaps it */
    char *const argv[] = {"/bin/sh", "-c", "/bin/true & exec /bin/sleep 5", NULL};
    pid_t pid = start_runtime(argv, dir, false, &in);
    char children_path[64], exe_path[64], text[512];
    snprintf(children_path, sizeof children_path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    snprintf(exe_path, sizeof exe_path, "/proc/%d/exe", (int)pid);
    bool zombie = false;
    for (int i = 0; i < 200 && !zombie; i++) { /* the child's exit, the parent's exec */
        usleep(10 * 1000);
        char link[512] = "", state_path[64];
        ssize_t ln = readlink(exe_path, link, sizeof link - 1);
        long child = 0;
        FILE *f = fopen(children_path, "r");
        if (f && fscanf(f, "%ld", &child) != 1)
            child = 0;
        if (f)
            fclose(f);
        if (ln <= 0 || !strstr(link, "sleep") || child <= 0)
            continue;
        snprintf(state_path, sizeof state_path, "/proc/%ld/stat", child);
        f = fopen(state_path, "r");
        if (f && fgets(text, sizeof text, f))
            zombie = strstr(text, ") Z ") != NULL;
        if (f)
            fclose(f);
    }
    if (!zombie) { /* not left running behind a failed assertion */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    cr_assert(zombie, "the runtime became /bin/sleep with a zombie child");
    uint64_t quiet_ms;
    long wakes;
    uint64_t quiet = quiet_walks_of(pid, in, dir, ring_path, 5, &quiet_ms, &wakes);
    cr_assert_leq(quiet, quiet_ms / 50 + 2, "with a zombie child: %llu walks in %llu ms",
                  (unsigned long long)quiet, (unsigned long long)quiet_ms);
    cr_assert_leq(wakes, (long)(quiet + quiet / 2 + 2),
                  "with a zombie child: the sampler woke %ld times for %llu walks", wakes,
                  (unsigned long long)quiet);
    procwatch_folder_remove(dir, ring_path, ring);
}

/* ---- the loopback HTTP client (http.c) ---- */

/* A canned HTTP peer: on each of `conns` connections it reads one request head and writes
 * `reply`, then closes the connection without saying so (no "Connection: close"), as a server
 * whose keep-alive timed out does. */
struct canned {
    int fd;
    int conns;
    const char *reply;
    int accepted;
    char first_head[2048];
};

static void *canned_serve(void *arg)
{
    struct canned *c = arg;
    for (int i = 0; i < c->conns; i++) {
        int s = accept(c->fd, NULL, NULL);
        if (s < 0)
            break;
        c->accepted++;
        char head[2048];
        size_t n = 0;
        while (n < sizeof head - 1) {
            ssize_t r = read(s, head + n, sizeof head - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            head[n] = '\0';
            if (strstr(head, "\r\n\r\n"))
                break;
        }
        head[n] = '\0';
        if (i == 0)
            snprintf(c->first_head, sizeof c->first_head, "%s", head);
        (void)!write(s, c->reply, strlen(c->reply));
        close(s);
    }
    return NULL;
}

static int canned_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(fd, 8) == 0);
    socklen_t len = sizeof sin;
    cr_assert(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

/* Starts srv on a loopback port in a thread; addr gets its "127.0.0.1:PORT". */
static pthread_t canned_start(struct canned *srv, char addr[32])
{
    uint16_t port;
    srv->fd = canned_listen(&port);
    pthread_t t;
    cr_assert(pthread_create(&t, NULL, canned_serve, srv) == 0);
    snprintf(addr, 32, "127.0.0.1:%u", (unsigned)port);
    return t;
}

Test(extension_http, addresses)
{
    const char *bad[] = {"nohost", ":80", "h:0", "h:65536", "h:12x", "h:", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_null(rt_ext_http_new(bad[i]), "%s", bad[i]);
    cr_expect_null(rt_ext_http_new(NULL));
    struct rt_ext_http *c = rt_ext_http_new("[::1]:9001");
    cr_expect_not_null(c);
    rt_ext_http_free(c);
}

Test(extension_http, answer_headers_in_order_and_a_closed_keepalive_retried)
{
    struct canned srv = {.conns = 2,
                         .reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\n"
                                  "Set-Cookie: b=2\r\nX-Empty: \r\n\r\nhello"};
    char addr[32];
    pthread_t t = canned_start(&srv, addr);
    struct rt_ext_http *c = rt_ext_http_new(addr);
    cr_assert_not_null(c);
    const struct rt_header h[] = {{.name = "X-Test", .value = "one"}};
    struct rt_ext_http_request rq = {.headers = h, .n_headers = 1, .body = "{}", .len = 2};
    struct rt_ext_http_reply r;
    cr_assert_eq(rt_ext_http_call(c, "POST", "/a?b=c", &rq, &r), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.len, 5);
    cr_expect_str_eq((char *)r.body, "hello");
    cr_assert_eq(r.n_headers, 4);
    cr_expect_str_eq(r.headers[1].value, "a=1");
    cr_expect_str_eq(r.headers[2].value, "b=2");
    cr_expect_str_eq(r.headers[3].value, "");
    cr_expect_str_eq(rt_ext_http_header(&r, "set-cookie"), "a=1");
    cr_expect_null(rt_ext_http_header(&r, "X-None"));
    rt_ext_http_reply_free(&r);
    cr_expect(strstr(srv.first_head, "POST /a?b=c HTTP/1.1\r\n") == srv.first_head);
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: %s\r\n", addr);
    cr_expect_not_null(strstr(srv.first_head, host), "%s", srv.first_head);
    cr_expect_not_null(strstr(srv.first_head, "\r\nX-Test: one\r\n"));
    cr_expect_not_null(strstr(srv.first_head, "\r\nContent-Length: 2\r\n"));
    /* The server closed the kept-alive connection: the next call goes over a new one. */
    cr_assert_eq(rt_ext_http_call(c, "GET", "/again", &(struct rt_ext_http_request){0}, &r), 0);
    cr_expect_eq(r.status, 200);
    rt_ext_http_reply_free(&r);
    pthread_join(t, NULL);
    cr_expect_eq(srv.accepted, 2);
    rt_ext_http_free(c);
    close(srv.fd);
}

Test(extension_http, too_long_unreachable_and_unknown_method)
{
    struct canned srv = {.conns = 1,
                         .reply = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"};
    char addr[32];
    pthread_t t = canned_start(&srv, addr);
    struct rt_ext_http *c = rt_ext_http_new(addr);
    struct rt_ext_http_reply r;
    cr_expect_eq(rt_ext_http_call(c, "GET", "/", &(struct rt_ext_http_request){.max_body = 4}, &r),
                 -1);
    cr_expect_eq(r.status, 0);
    cr_expect(r.overflow);
    rt_ext_http_reply_free(&r);
    pthread_join(t, NULL);
    close(srv.fd); /* nobody listens there now */
    cr_expect_eq(rt_ext_http_call(c, "GET", "/", &(struct rt_ext_http_request){0}, &r), -1);
    cr_expect_eq(r.status, 0);
    rt_ext_http_reply_free(&r);
    cr_expect_eq(rt_ext_http_call(c, "BREW", "/", &(struct rt_ext_http_request){0}, &r), -1);
    const struct rt_header crlf[] = {{.name = "X-Bad", .value = "a\r\nInjected: 1"}};
    cr_expect_eq(rt_ext_http_call(c, "GET", "/",
                                  &(struct rt_ext_http_request){.headers = crlf, .n_headers = 1},
                                  &r),
                 -1);
    rt_ext_http_free(c);
}

/* ---- the sealer fills the ring's page cache after register ---- */

/* A sealer over ring with the default settings, not registered yet, given 50 ms to show that
 * it does nothing before register. */
static struct rt_ext_sealer *sealer_for(struct rt_ring *ring)
{
    static const char *const env[] = {NULL};
    fake_env = env;
    static struct rt_ext_config cfg;
    rt_ext_config_load_from(&cfg, fake_get);
    struct rt_ext_sealer_options so = {.cfg = &cfg, .ring = ring, .sandbox_id = "t"};
    struct rt_ext_sealer *s = NULL;
    cr_assert_eq(rt_ext_sealer_new(&so, &s), RT_OK);
    usleep(50 * 1000);
    return s;
}

Test(extension_sealer, fills_the_ring_page_cache_only_after_register)
{
    char dir[] = "/tmp/rt-seal-pop.XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ring", dir);
    struct rt_ring *ring = NULL;
    cr_assert_eq(rt_ring_create(path, 0, &ring, NULL), RT_OK);
    struct statfs fs;
    cr_assert_eq(statfs(dir, &fs), 0);
    struct rt_ext_sealer *s = sealer_for(ring);
    size_t total = 0, before = cached_pages(path, &total);
    /* tmpfs allocates every page at creation (posix_fallocate): nothing to tell there. */
    if (fs.f_type != TMPFS_MAGIC)
        cr_expect_lt(before, total / 4, "%zu of %zu pages filled before register", before, total);
    rt_ext_sealer_registered(s);
    size_t after = 0;
    for (int i = 0; i < 200 && (after = cached_pages(path, &total)) < total; i++)
        usleep(10 * 1000);
    cr_expect_eq(after, total, "%zu of %zu pages filled after register", after, total);
    cr_expect_geq(rt_ext_sealer_stop(s, rt_ext_now_mono_ns() + 5000000000LL), 0);
    rt_ring_close(ring);
    unlink(path);
    rmdir(dir);
}

/* The same for the ring in memory (the extension's default): its pages are allocated after
 * register, not on the cold start's path. */
Test(extension_sealer, allocates_the_memory_ring_only_after_register)
{
    char path[64];
    struct rt_ring *ring = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_ring_create_mem(0, path, sizeof path, &ring, &ei), RT_OK, "%s", ei.detail);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    struct rt_ext_sealer *s = sealer_for(ring);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_expect_lt((off_t)st.st_blocks * 512, st.st_size / 4, "%lld of %lld bytes before register",
                 (long long)st.st_blocks * 512, (long long)st.st_size);
    rt_ext_sealer_registered(s);
    for (int i = 0; i < 200 && fstat(fd, &st) == 0 && (off_t)st.st_blocks * 512 < st.st_size; i++)
        usleep(10 * 1000);
    cr_expect_geq((off_t)st.st_blocks * 512, st.st_size, "allocated after register");
    cr_expect_geq(rt_ext_sealer_stop(s, rt_ext_now_mono_ns() + 5000000000LL), 0);
    close(fd);
    rt_ring_close(ring);
}

/* runtime.pid removed (a function that clears /tmp): the pid it last named stays known. */
Test(extension_sealer, runtime_pid_outlives_its_file)
{
    char dir[] = "/tmp/rt-runtime-pid.XXXXXX", path[64], other[] = "/tmp/rt-runtime-pid.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_not_null(mkdtemp(other));
    cr_assert_eq(rt_ext_runtime_pid(dir), 0, "no file yet");
    snprintf(path, sizeof path, "%s/runtime.pid", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "4242\n");
    fclose(f);
    cr_assert_eq(rt_ext_runtime_pid(dir), 4242);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rt_ext_runtime_pid(dir), 4242, "the file is gone, the runtime is not");
    cr_assert_eq(rt_ext_runtime_pid(other), 0, "another folder knows nothing");
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "garbage\n");
    fclose(f);
    cr_assert_eq(rt_ext_runtime_pid(dir), 0, "a file that says nothing usable is not overridden");
    unlink(path);
    rmdir(dir);
    rmdir(other);
}

static void write_pid_file(const char *path, long pid)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%ld\n", pid);
    fclose(f);
}

/* The function can write runtime.pid: while the runtime read first lives, another pid there is
 * not believed (it would point the /proc sampler elsewhere); once that runtime is gone (the
 * emulator restarts it), the file is read again. */
Test(extension_sealer, runtime_pid_is_not_replaced_while_the_runtime_lives)
{
    char dir[] = "/tmp/rt-runtime-pid.XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/runtime.pid", dir);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    write_pid_file(path, child);
    cr_assert_eq(rt_ext_runtime_pid(dir), child);
    write_pid_file(path, getpid()); /* planted */
    cr_assert_eq(rt_ext_runtime_pid(dir), child, "a live runtime is replaced by a planted pid");
    kill(child, SIGKILL);
    cr_assert_eq(waitpid(child, NULL, 0), child);
    cr_assert_eq(rt_ext_runtime_pid(dir), getpid(), "the runtime is gone: the file speaks again");
    unlink(path);
    rmdir(dir);
}

/* ---- how often the sealer asks the heap what is free ---- */

/* The sealer's calls to mallinfo2 land here (this definition comes before libc's at link time):
 * counted, and answered "nothing free", so that no trim runs in this binary's tests. */
static int heap_asked;
struct mallinfo2 mallinfo2(void)
{
    __atomic_add_fetch(&heap_asked, 1, __ATOMIC_SEQ_CST);
    return (struct mallinfo2){0};
}

/* A sealer's folders: its configuration points into these, which outlive it. */
struct sealer_dirs {
    char store[300], spool[300], run[300];
};

/* A sealer storing into the test's tmpdir (tests/unit/tmpdir.h) with its spool and run folder
 * there, and RUNTRAIL_PAYLOAD=payload when not NULL; its thread not started yet. */
static struct rt_ext_sealer *sealer_in(struct sealer_dirs *d, const char *sandbox_id,
                                       const char *payload)
{
    snprintf(d->store, sizeof d->store, "%s/store", tmpdir);
    snprintf(d->spool, sizeof d->spool, "%s/spool", tmpdir);
    snprintf(d->run, sizeof d->run, "%s/run", tmpdir);
    const char *const env[] = {"RUNTRAIL_STORE",
                               d->store,
                               "RUNTRAIL_SPOOL_DIR",
                               d->spool,
                               "RUNTRAIL_RUN_DIR",
                               d->run,
                               "RUNTRAIL_PAYLOAD",
                               payload,
                               NULL};
    fake_env = env;
    struct rt_ext_config cfg;
    rt_ext_config_load_from(&cfg, fake_get);
    fake_env = NULL;
    struct rt_ext_sealer_options so = {.cfg = &cfg, .sandbox_id = sandbox_id};
    struct rt_ext_sealer *s = NULL;
    cr_assert_eq(rt_ext_sealer_new(&so, &s), RT_OK);
    return s;
}

/* Invocation n, ended: event_len bytes of event, a small result. */
static struct rt_ext_invocation *ended_invocation(int n, size_t event_len)
{
    struct rt_ext_invocation *inv = calloc(1, sizeof *inv);
    cr_assert_not_null(inv);
    char id[64];
    snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    inv->request_id = strdup(id);
    inv->event = malloc(event_len);
    cr_assert_not_null(inv->event);
    memset(inv->event, 'x', event_len);
    inv->event[0] = '"';
    inv->event[event_len - 1] = '"';
    inv->event_len = event_len;
    inv->event_type = strdup("application/json");
    inv->result = (uint8_t *)strdup("{\"ok\":true}");
    inv->result_len = strlen((char *)inv->result);
    inv->status = RT_STATUS_OK;
    inv->start_mono_ns = rt_ext_now_mono_ns();
    inv->end_mono_ns = inv->start_mono_ns + 1000;
    inv->start_wall_ns = rt_ext_now_wall_ns();
    inv->end_wall_ns = inv->start_wall_ns + 1000;
    return inv;
}

/* One invocation handed to the sealer (ended_invocation); waited for unless wait is false. */
static void submit_one(struct rt_ext_sealer *s, int n, size_t event_len, bool wait)
{
    struct rt_ext_invocation *inv = ended_invocation(n, event_len);
    char id[64];
    snprintf(id, sizeof id, "%s", inv->request_id);
    rt_ext_sealer_submit(s, inv);
    if (!wait)
        return;
    int64_t submitted = 0;
    cr_assert_eq(rt_ext_sealer_wait_done(s, id, rt_ext_now_mono_ns() + 10000000000LL, &submitted),
                 1, "invocation %d sealed", n);
}

/* mallinfo2 walks every free chunk of every arena: 30-60 us per seal with an S3 store's libcurl
 * in the heap. Small invocations ask it once a megabyte has gone through the sealer, not at
 * every seal; a large one asks at once, and so does the end of a backlog (whose memory the
 * trim is for). */
Test(extension_sealer, asks_the_heap_once_a_megabyte_has_gone_through, .init = rt_tmpdir_setup,
     .fini = rt_tmpdir_teardown)
{
    struct sealer_dirs d;
    struct rt_ext_sealer *s = sealer_in(&d, "heap", "full");
    rt_ext_sealer_registered(s);
    int before = __atomic_load_n(&heap_asked, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 100; i++)
        submit_one(s, i, 2000, true);
    int small = __atomic_load_n(&heap_asked, __ATOMIC_SEQ_CST) - before;
    cr_expect_leq(small, 1, "100 seals of 2 kB asked the heap %d times", small);
    submit_one(s, 100, 2u * 1024 * 1024, true);
    int large = __atomic_load_n(&heap_asked, __ATOMIC_SEQ_CST) - before - small;
    cr_expect_eq(large, 1, "a 2 MiB invocation asked the heap %d times", large);
    /* 50 small ones handed over at once: they wait behind one another (the sealer takes far
     * longer per seal than a hand-over), and the queue's end asks */
    for (int i = 101; i < 151; i++)
        submit_one(s, i, 2000, i == 150);
    int backlog = __atomic_load_n(&heap_asked, __ATOMIC_SEQ_CST) - before - small - large;
    cr_expect_geq(backlog, 1, "the end of a backlog of 50 asked the heap %d times", backlog);
    cr_expect_leq(backlog, 50, "a backlog of 50 asked the heap %d times", backlog);
    cr_expect_eq(rt_ext_sealer_sealed(s), 151);
    cr_expect_geq(rt_ext_sealer_stop(s, rt_ext_now_mono_ns() + 5000000000LL), 0);
}

/* ---- the queue's bound ---- */

/* The sealer's queue is bounded by what the waiting invocations hold, not by their payloads
 * alone: here each has a small event and 400 kB of headers (Lambda's client context and
 * identity can be large; the copy of the connection table a function with many connections
 * open hands over is 1.1 KB per connection), 100 of them handed over while the sealer cannot
 * start. Counting payloads only, all 100 (40 MB) waited; under the 32 MiB bound about 80 do,
 * and the others are counted as lost (store_failures). */
Test(extension_sealer, the_queue_bound_counts_everything_an_invocation_holds,
     .init = rt_tmpdir_setup, .fini = rt_tmpdir_teardown)
{
    struct sealer_dirs d;
    struct rt_ext_sealer *s = sealer_in(&d, "queue", NULL);
    enum { invocations = 100, headers = 4, value_len = 100 * 1024 };
    for (int n = 0; n < invocations; n++) {
        struct rt_ext_invocation *inv = ended_invocation(n, 7);
        inv->headers = calloc(headers, sizeof *inv->headers);
        cr_assert_not_null(inv->headers);
        for (size_t h = 0; h < headers; h++) {
            char name[64];
            snprintf(name, sizeof name, "Lambda-Runtime-Test-%zu", h);
            inv->headers[h].name = strdup(name);
            inv->headers[h].value = malloc(value_len + 1);
            cr_assert_not_null(inv->headers[h].value);
            memset(inv->headers[h].value, 'v', value_len);
            inv->headers[h].value[value_len] = '\0';
        }
        inv->n_headers = headers;
        rt_ext_sealer_submit(s, inv);
    }
    rt_ext_sealer_registered(s); /* now it seals what waited */
    /* the bundles stored: those that waited, and SHUTDOWN's */
    int stored = rt_ext_sealer_stop(s, rt_ext_now_mono_ns() + 20000000000LL);
    size_t each = headers * (size_t)value_len;
    cr_expect_leq(stored, (int)(32u * 1024 * 1024 / each) + 1, "%d of %d invocations waited",
                  stored, invocations);
    cr_expect_geq(stored, (int)(32u * 1024 * 1024 / each) - 4, "%d of %d invocations waited",
                  stored, invocations);
}
