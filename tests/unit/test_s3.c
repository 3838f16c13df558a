/* Unit tests for the S3 client's pure parts: RFC 3986 encoding and the canonical query
 * (sorted, encoded, as libcurl 7.88 signs it as written), ListObjectsV2 and <Error> XML,
 * the AWS credentials/config INI dialect, credential_process JSON and the credential chain
 * (environment, profiles, config file) resolved from files written by the test. */
#include "store/aws.h"
#include "store/s3.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(s3, uri_encode)
{
    char *e = rt_s3_uri_encode("a b/é~-_.+=&*", strlen("a b/é~-_.+=&*"), false);
    cr_assert_str_eq(e, "a%20b%2F%C3%A9~-_.%2B%3D%26%2A");
    free(e);
    e = rt_s3_uri_encode("v1/fn=x/a b.rtb", 15, true);
    cr_assert_str_eq(e, "v1/fn%3Dx/a%20b.rtb");
    free(e);
}

Test(s3, canonical_query_sorted_and_encoded)
{
    const char *kv[] = {
        "prefix",      "p/v1/fn=a b", "list-type",          "2",     "delimiter", "/",
        "start-after", NULL,          "continuation-token", "1/2+3="};
    char *q = rt_s3_canonical_query(kv, 5);
    cr_assert_str_eq(q, "continuation-token=1%2F2%2B3%3D&delimiter=%2F&list-type=2&"
                        "prefix=p%2Fv1%2Ffn%3Da%20b");
    free(q);
    q = rt_s3_canonical_query(kv, 0);
    cr_assert_str_eq(q, "");
    free(q);
}

Test(s3, parse_list)
{
    const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
        "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>"
        "<Contents><Key>a/k&amp;1 \xc3\xa9.rtb</Key><Size>123</Size><ETag>&quot;e1&quot;</ETag>"
        "</Contents><Contents><Key>a/k2</Key><Size>0</Size></Contents>"
        "<CommonPrefixes><Prefix>a/fn=x/</Prefix></CommonPrefixes></ListBucketResult>";
    struct rt_s3_list l;
    cr_assert_eq(rt_s3_parse_list(xml, strlen(xml), &l), RT_OK);
    cr_assert_eq(l.n_objects, 2);
    cr_assert_str_eq(l.objects[0].key, "a/k&1 \xc3\xa9.rtb");
    cr_assert_eq(l.objects[0].size, 123);
    cr_assert_str_eq(l.objects[0].etag, "\"e1\"");
    cr_assert_str_eq(l.objects[1].key, "a/k2");
    cr_assert_eq(l.n_prefixes, 1);
    cr_assert_str_eq(l.prefixes[0], "a/fn=x/");
    cr_assert(l.truncated);
    cr_assert_str_eq(l.next_token, "tok/+=");
    rt_s3_list_free(&l);
}

Test(s3, parse_list_rejects_hostile)
{
    struct rt_s3_list l;
    const char *bad[] = {
        "<ListBucketResult><Contents><Key>x</Key>", /* truncated */
        "<ListBucketResult><Contents><Size>12x</Size></Contents></ListBucketResult>",
        "<!DOCTYPE l [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;</ListBucketResult>",
        "not xml",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(rt_s3_parse_list(bad[i], strlen(bad[i]), &l), RT_ERR_S3_XML, "%zu", i);
}

Test(s3, parse_list_url_encoded)
{
    /* what S3 answers to encoding-type=url (keys and prefixes encoded, '+' for a space) */
    const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult><Name>b</Name><EncodingType>url</EncodingType>"
        "<Contents><Key>p/v1/fn%3Da/x%1B%5B2J+y.rtb</Key><Size>5</Size></Contents>"
        "<Contents><Key>p/100%25</Key><Size>1</Size></Contents>"
        "<Contents><Key>p/cut%00here.rtb</Key><Size>1</Size></Contents>"
        "<Contents><Key>p/bad%G1%2</Key><Size>1</Size></Contents>"
        "<CommonPrefixes><Prefix>p/v1/fn%3Dmy+fn/</Prefix></CommonPrefixes></ListBucketResult>";
    struct rt_s3_list l;
    cr_assert_eq(rt_s3_parse_list(xml, strlen(xml), &l), RT_OK);
    cr_assert_eq(l.n_objects, 4);
    cr_assert_str_eq(l.objects[0].key, "p/v1/fn=a/x\x1b[2J y.rtb");
    cr_assert_str_eq(l.objects[1].key, "p/100%");
    /* %00 would cut the key short: kept as sent, so no layout accepts it */
    cr_assert_str_eq(l.objects[2].key, "p/cut%00here.rtb");
    cr_assert_str_eq(l.objects[3].key, "p/bad%G1%2");
    cr_assert_str_eq(l.prefixes[0], "p/v1/fn=my fn/");
    cr_assert_eq(l.replaced_chars, 0);
    rt_s3_list_free(&l);
    /* without <EncodingType>, nothing is decoded (a server that ignored the request) */
    const char raw[] = "<ListBucketResult><Contents><Key>p/a%41+b</Key></Contents>"
                       "</ListBucketResult>";
    cr_assert_eq(rt_s3_parse_list(raw, strlen(raw), &l), RT_OK);
    cr_assert_str_eq(l.objects[0].key, "p/a%41+b");
    rt_s3_list_free(&l);
}

Test(s3, parse_list_survives_characters_xml_cannot_carry)
{
    /* s3rver ignores encoding-type and writes ESC as &#27;, which expat refuses: one such key
     * must not hide the others */
    const char xml[] = "<ListBucketResult><Contents><Key>p/a&#27;[2J&#x1;.rtb</Key><Size>1</Size>"
                       "</Contents><Contents><Key>p/\x02raw</Key></Contents>"
                       "<Contents><Key>p/good&#233;&#10;.rtb</Key><Size>2</Size></Contents>"
                       "</ListBucketResult>";
    struct rt_s3_list l;
    cr_assert_eq(rt_s3_parse_list(xml, strlen(xml), &l), RT_OK);
    cr_assert_eq(l.n_objects, 3);
    cr_assert_str_eq(l.objects[0].key, "p/a\xef\xbf\xbd[2J\xef\xbf\xbd.rtb");
    cr_assert_str_eq(l.objects[1].key, "p/\xef\xbf\xbdraw");
    cr_assert_str_eq(l.objects[2].key, "p/good\xc3\xa9\n.rtb"); /* allowed references stay */
    cr_assert_eq(l.objects[2].size, 2);
    cr_assert_eq(l.replaced_chars, 3);
    rt_s3_list_free(&l);
    /* a document that is broken for other reasons still fails */
    const char broken[] = "<ListBucketResult><Contents><Key>&#27;</Key></Contents>";
    cr_assert_eq(rt_s3_parse_list(broken, strlen(broken), &l), RT_ERR_S3_XML);
}

Test(s3, parse_error)
{
    const char xml[] = "<?xml version=\"1.0\"?><Error><Code>PermanentRedirect</Code>"
                       "<Message>use the endpoint</Message><Region>eu-west-1</Region>"
                       "<BucketName>b</BucketName></Error>";
    struct rt_s3_error e;
    cr_assert_eq(rt_s3_parse_error(xml, strlen(xml), &e), RT_OK);
    cr_assert_str_eq(e.code, "PermanentRedirect");
    cr_assert_str_eq(e.message, "use the endpoint");
    cr_assert_str_eq(e.region, "eu-west-1");
    cr_assert_str_eq(e.bucket, "b");
    rt_s3_error_free(&e);
}

Test(s3, ini_dialect)
{
    const char text[] = "# comment\n"
                        "[default]\n"
                        "aws_access_key_id = AKID1\n"
                        "  AWS_Secret_Access_Key=  s3cr=t  \n"
                        "; other comment\n"
                        "[profile   dev]\n"
                        "region = eu-west-1\n"
                        "s3 =\n"
                        "  endpoint_url = http://127.0.0.1:9000\n"
                        "credential_process = /bin/echo {}\n"
                        "\n"
                        "[default]\n"
                        "aws_access_key_id = AKID2\n";
    struct rt_ini ini;
    struct rt_errinfo ei;
    cr_assert_eq(rt_ini_parse(text, strlen(text), &ini, &ei), RT_OK, "%s", ei.detail);
    cr_assert_str_eq(rt_ini_get(&ini, "default", "aws_access_key_id"), "AKID2");
    cr_assert_str_eq(rt_ini_get(&ini, "default", "aws_secret_access_key"), "s3cr=t");
    cr_assert_str_eq(rt_ini_get(&ini, "profile dev", "region"), "eu-west-1");
    cr_assert_str_eq(rt_ini_get(&ini, "profile dev", "s3.endpoint_url"), "http://127.0.0.1:9000");
    cr_assert_str_eq(rt_ini_get(&ini, "profile dev", "credential_process"), "/bin/echo {}");
    cr_assert_null(rt_ini_get(&ini, "dev", "region"));
    rt_ini_free(&ini);
    const char *bad[] = {"key = outside a section\n", "[broken\nx=1\n", "[s]\njust words\n"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(rt_ini_parse(bad[i], strlen(bad[i]), &ini, &ei), RT_ERR_AWS_CONFIG);
        cr_assert_not_null(strstr(ei.detail, "line "));
    }
}

Test(s3, credential_process_json)
{
    struct rt_aws_creds c;
    struct rt_errinfo ei;
    const char ok[] = "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\","
                      "\"SessionToken\":\"TOK\",\"Expiration\":\"2030-01-01T00:00:00Z\"}";
    cr_assert_eq(rt_aws_parse_process_output(ok, strlen(ok), &c, &ei), RT_OK);
    cr_assert_str_eq(c.access_key_id, "AK");
    cr_assert_str_eq(c.secret_access_key, "SK");
    cr_assert_str_eq(c.session_token, "TOK");
    cr_assert_eq(c.expiration, 1893456000);
    rt_aws_creds_free(&c);
    const char *bad[] = {"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}",
                         "{\"Version\":1,\"AccessKeyId\":\"A\"}", "[]", "nope",
                         "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                         "\"Expiration\":\"soon\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(rt_aws_parse_process_output(bad[i], strlen(bad[i]), &c, &ei),
                     RT_ERR_AWS_CREDENTIALS, "%zu", i);
}

static char dir[128];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void chain_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/rt-unit-s3.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/credentials", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
    snprintf(p, sizeof p, "%s/config", dir);
    setenv("AWS_CONFIG_FILE", p, 1);
    const char *unset[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
        "AWS_REGION",        "AWS_DEFAULT_REGION",    "AWS_ENDPOINT_URL",  "AWS_ENDPOINT_URL_S3"};
    for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++)
        unsetenv(unset[i]);
    write_file("credentials", "[default]\naws_access_key_id = DEFK\naws_secret_access_key = "
                              "DEFS\n[dev]\naws_access_key_id = DEVK\naws_secret_access_key"
                              " = DEVS\naws_session_token = DEVT\n");
    write_file("config", "[default]\nregion = us-west-2\n[profile dev]\nregion = eu-north-1\n"
                         "endpoint_url = http://127.0.0.1:1\n[profile proc]\n"
                         "credential_process = printf '{\"Version\":1,\"AccessKeyId\":\"PK\","
                         "\"SecretAccessKey\":\"PS\"}'\n[profile fail]\n"
                         "credential_process = false\n");
}

static void chain_teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(chain, .init = chain_setup, .fini = chain_teardown);

Test(chain, default_profile_from_files)
{
    struct rt_aws_config c;
    cr_assert_eq(rt_aws_load(NULL, &c, NULL), RT_OK);
    cr_assert_str_eq(c.creds.access_key_id, "DEFK");
    cr_assert_str_eq(c.region, "us-west-2");
    cr_assert_null(c.endpoint);
    rt_aws_config_free(&c);
}

Test(chain, env_wins_then_explicit_profile)
{
    setenv("AWS_ACCESS_KEY_ID", "ENVK", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ENVS", 1);
    setenv("AWS_SESSION_TOKEN", "ENVT", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    struct rt_aws_config c;
    cr_assert_eq(rt_aws_load(NULL, &c, NULL), RT_OK);
    cr_assert_str_eq(c.creds.access_key_id, "ENVK");
    cr_assert_str_eq(c.creds.session_token, "ENVT");
    cr_assert_str_eq(c.region, "ap-south-1");
    cr_assert_str_eq(c.creds.source, "environment");
    rt_aws_config_free(&c);
    cr_assert_eq(rt_aws_load("dev", &c, NULL), RT_OK);
    cr_assert_str_eq(c.creds.access_key_id, "DEVK");
    cr_assert_str_eq(c.creds.session_token, "DEVT");
    cr_assert_str_eq(c.endpoint, "http://127.0.0.1:1");
    rt_aws_config_free(&c);
}

Test(chain, aws_profile_and_region_from_profile)
{
    setenv("AWS_PROFILE", "dev", 1);
    struct rt_aws_config c;
    cr_assert_eq(rt_aws_load(NULL, &c, NULL), RT_OK);
    cr_assert_str_eq(c.creds.access_key_id, "DEVK");
    cr_assert_str_eq(c.region, "eu-north-1");
    setenv("AWS_ENDPOINT_URL_S3", "http://s3.local:9", 1);
    rt_aws_config_free(&c);
    cr_assert_eq(rt_aws_load(NULL, &c, NULL), RT_OK);
    cr_assert_str_eq(c.endpoint, "http://s3.local:9");
    rt_aws_config_free(&c);
}

Test(chain, credential_process_and_failures)
{
    struct rt_aws_config c;
    struct rt_errinfo ei;
    cr_assert_eq(rt_aws_load("proc", &c, &ei), RT_OK, "%s", ei.detail);
    cr_assert_str_eq(c.creds.access_key_id, "PK");
    rt_aws_config_free(&c);
    cr_assert_eq(rt_aws_load("fail", &c, &ei), RT_ERR_AWS_CREDENTIALS);
    cr_assert_not_null(strstr(ei.detail, "credential_process"));
    cr_assert_eq(rt_aws_load("missing", &c, &ei), RT_ERR_AWS_CREDENTIALS);
    cr_assert_not_null(strstr(ei.detail, "profile 'missing'"));
}
