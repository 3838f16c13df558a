/* AWS credentials, region and endpoint the way the AWS CLI finds them: environment variables,
 * then the named profile in the shared credentials file, then the config file (static keys or
 * credential_process, whose JSON output is parsed with jansson). The INI parser handles the
 * files' dialect: [section], key = value, '#'/';' comments and indented nested keys
 * ("s3 =" followed by "  endpoint_url = ..."). */
#include "store/aws.h"
#include "formats/timeparse.h"
#include "store/util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

/* ---- INI ---- */

static char *trim_dup(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return strndup(s, len);
}

static int ini_add(struct rt_ini *ini, const char *section, char *key, char *value)
{
    struct rt_ini_entry *ne = realloc(ini->entries, (ini->n + 1) * sizeof *ne);
    char *sec = strdup(section);
    if (!ne || !sec || !key || !value) {
        if (ne)
            ini->entries = ne;
        free(sec);
        free(key);
        free(value);
        return RT_ERR_NOMEM;
    }
    ini->entries = ne;
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    ini->entries[ini->n++] = (struct rt_ini_entry){sec, key, value};
    return RT_OK;
}

int rt_ini_parse(const char *text, size_t len, struct rt_ini *out, struct rt_errinfo *ei)
{
    out->entries = NULL;
    out->n = 0;
    char section[256] = "";
    char parent[128] = ""; /* key of an "s3 =" line awaiting indented children */
    bool have_section = false;
    size_t line_no = 0, pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        line_no++;
        if (memchr(line, '\0', ll)) {
            rt_ini_free(out);
            return rt_fail(ei, RT_ERR_AWS_CONFIG, -1, "line %zu: NUL byte", line_no);
        }
        bool indented = ll && (line[0] == ' ' || line[0] == '\t');
        size_t i = 0;
        while (i < ll && isspace((unsigned char)line[i]))
            i++;
        if (i == ll || line[i] == '#' || line[i] == ';')
            continue;
        if (line[i] == '[') {
            const char *close = memchr(line + i, ']', ll - i);
            if (!close) {
                rt_ini_free(out);
                return rt_fail(ei, RT_ERR_AWS_CONFIG, -1, "line %zu: missing ']'", line_no);
            }
            char *sec = trim_dup(line + i + 1, (size_t)(close - line - i - 1));
            if (!sec) {
                rt_ini_free(out);
                return RT_ERR_NOMEM;
            }
            /* collapse inner runs of spaces: "profile   dev" -> "profile dev" */
            char *w = sec;
            for (char *r = sec; *r; r++)
                if (!(isspace((unsigned char)*r) && w > sec && w[-1] == ' '))
                    *w++ = isspace((unsigned char)*r) ? ' ' : *r;
            *w = '\0';
            snprintf(section, sizeof section, "%s", sec);
            free(sec);
            have_section = true;
            parent[0] = '\0';
            continue;
        }
        const char *eq = memchr(line + i, '=', ll - i);
        if (!eq || eq == line + i || !have_section) {
            rt_ini_free(out);
            return rt_fail(ei, RT_ERR_AWS_CONFIG, -1, "line %zu: expected key = value%s", line_no,
                           have_section ? "" : " inside a [section]");
        }
        char *key = trim_dup(line + i, (size_t)(eq - line - i));
        char *value = trim_dup(eq + 1, (size_t)(line + ll - eq - 1));
        if (!key || !value) {
            free(key);
            free(value);
            rt_ini_free(out);
            return RT_ERR_NOMEM;
        }
        if (indented && parent[0]) {
            char *full = malloc(strlen(parent) + strlen(key) + 2);
            if (full)
                sprintf(full, "%s.%s", parent, key);
            free(key);
            key = full;
        } else if (!*value) {
            snprintf(parent, sizeof parent, "%s", key);
        } else {
            parent[0] = '\0';
        }
        int rc = ini_add(out, section, key, value);
        if (rc != RT_OK) {
            rt_ini_free(out);
            return rc;
        }
    }
    return RT_OK;
}

const char *rt_ini_get(const struct rt_ini *ini, const char *section, const char *key)
{
    for (size_t i = ini->n; i-- > 0;)
        if (!strcmp(ini->entries[i].section, section) && !strcasecmp(ini->entries[i].key, key))
            return ini->entries[i].value;
    return NULL;
}

void rt_ini_free(struct rt_ini *ini)
{
    if (!ini)
        return;
    for (size_t i = 0; i < ini->n; i++) {
        free(ini->entries[i].section);
        free(ini->entries[i].key);
        free(ini->entries[i].value);
    }
    free(ini->entries);
    ini->entries = NULL;
    ini->n = 0;
}

/* ---- credentials ---- */

void rt_aws_creds_free(struct rt_aws_creds *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof *c);
}

void rt_aws_config_free(struct rt_aws_config *cfg)
{
    if (!cfg)
        return;
    rt_aws_creds_free(&cfg->creds);
    free(cfg->profile);
    free(cfg->region);
    free(cfg->endpoint);
    free(cfg->credential_process);
    memset(cfg, 0, sizeof *cfg);
}

static char *dup_nonempty(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int rt_aws_parse_process_output(const char *text, size_t len, struct rt_aws_creds *out,
                                struct rt_errinfo *ei)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return rt_fail(ei, RT_ERR_AWS_CREDENTIALS, -1,
                       "credential_process: output is not a JSON object (%s)", jerr.text);
    }
    json_t *ver = json_object_get(root, "Version");
    const char *akid = json_string_value(json_object_get(root, "AccessKeyId"));
    const char *secret = json_string_value(json_object_get(root, "SecretAccessKey"));
    const char *token = json_string_value(json_object_get(root, "SessionToken"));
    const char *exp = json_string_value(json_object_get(root, "Expiration"));
    int rc = RT_OK;
    int64_t expiration = 0, ns = 0;
    if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
        rc = rt_fail(ei, RT_ERR_AWS_CREDENTIALS, -1, "credential_process: Version must be 1");
    } else if (!akid || !*akid || !secret || !*secret) {
        rc = rt_fail(ei, RT_ERR_AWS_CREDENTIALS, -1,
                     "credential_process: AccessKeyId and SecretAccessKey are required");
        akid = secret = NULL;
    } else if (exp && rt_parse_time(exp, 0, &ns) != RT_OK) {
        rc = rt_fail(ei, RT_ERR_AWS_CREDENTIALS, -1, "credential_process: bad Expiration '%.60s'",
                     exp);
    } else if (exp) {
        expiration = ns / 1000000000;
    }
    if (rc == RT_OK && akid && secret) {
        memset(out, 0, sizeof *out);
        out->access_key_id = strdup(akid);
        out->secret_access_key = strdup(secret);
        out->session_token = dup_nonempty(token);
        out->expiration = expiration;
        snprintf(out->source, sizeof out->source, "credential_process");
        if (!out->access_key_id || !out->secret_access_key) {
            rt_aws_creds_free(out);
            rc = RT_ERR_NOMEM;
        }
    }
    json_decref(root);
    return rc;
}

static int run_process(const char *cmd, struct rt_aws_creds *out, struct rt_errinfo *ei)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return rt_fail(ei, RT_ERR_AWS_CREDENTIALS, -1, "credential_process: cannot run");
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        pclose(p);
        return RT_ERR_NOMEM;
    }
    size_t r;
    while (n < cap && (r = fread(buf + n, 1, cap - n, p)) > 0)
        n += r;
    int status = pclose(p);
    int rc;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = rt_fail(ei, RT_ERR_AWS_CREDENTIALS, -1, "credential_process exited with status %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    else
        rc = rt_aws_parse_process_output(buf, n, out, ei);
    free(buf);
    return rc;
}

static int load_ini(const char *env, const char *home_rel, struct rt_ini *ini,
                    struct rt_errinfo *ei, char *path_out, size_t cap)
{
    const char *path = getenv(env);
    char buf[4096];
    if (!path || !*path) {
        const char *home = getenv("HOME");
        if (!home)
            return RT_OK;
        snprintf(buf, sizeof buf, "%s/%s", home, home_rel);
        path = buf;
    }
    snprintf(path_out, cap, "%s", path);
    uint8_t *data;
    size_t len;
    if (rt_read_file(path, &data, &len, 1 << 20) != RT_OK)
        return RT_OK; /* missing is fine */
    int rc = rt_ini_parse((const char *)data, len, ini, ei);
    free(data);
    if (rc == RT_ERR_AWS_CONFIG) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", ei ? ei->detail : "");
        rt_fail(ei, rc, -1, "%s: %s", path, detail);
    }
    return rc;
}

int rt_aws_load(const char *profile, struct rt_aws_config *out, struct rt_errinfo *ei)
{
    memset(out, 0, sizeof *out);
    bool explicit_profile = profile && *profile;
    if (!explicit_profile) {
        const char *p = getenv("AWS_PROFILE");
        profile = p && *p ? p : "default";
    }
    out->profile = strdup(profile);
    struct rt_ini creds = {0}, config = {0};
    char creds_path[4096] = "", config_path[4096] = "";
    int rc = load_ini("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &creds, ei, creds_path,
                      sizeof creds_path);
    if (rc == RT_OK)
        rc = load_ini("AWS_CONFIG_FILE", ".aws/config", &config, ei, config_path,
                      sizeof config_path);
    if (rc != RT_OK || !out->profile) {
        rt_ini_free(&creds);
        rt_ini_free(&config);
        rt_aws_config_free(out);
        return rc != RT_OK ? rc : RT_ERR_NOMEM;
    }
    char csec[300];
    if (!strcmp(profile, "default"))
        snprintf(csec, sizeof csec, "default");
    else
        snprintf(csec, sizeof csec, "profile %s", profile);
    const char *cfg_sec = csec;
    /* region */
    const char *r = getenv("AWS_REGION");
    if (!r || !*r)
        r = getenv("AWS_DEFAULT_REGION");
    if (!r || !*r)
        r = rt_ini_get(&config, cfg_sec, "region");
    if ((!r || !*r) && strcmp(profile, "default"))
        r = rt_ini_get(&config, profile, "region"); /* "[dev]" also seen in config files */
    out->region = strdup(r && *r ? r : "us-east-1");
    /* endpoint */
    const char *e = getenv("AWS_ENDPOINT_URL_S3");
    if (!e || !*e)
        e = getenv("AWS_ENDPOINT_URL");
    if (!e || !*e)
        e = rt_ini_get(&config, cfg_sec, "s3.endpoint_url");
    if (!e || !*e)
        e = rt_ini_get(&config, cfg_sec, "endpoint_url");
    out->endpoint = dup_nonempty(e);
    /* credentials */
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    rc = RT_ERR_AWS_CREDENTIALS;
    if (!explicit_profile && ak && *ak && sk && *sk) {
        out->creds.access_key_id = strdup(ak);
        out->creds.secret_access_key = strdup(sk);
        out->creds.session_token = dup_nonempty(getenv("AWS_SESSION_TOKEN"));
        snprintf(out->creds.source, sizeof out->creds.source, "environment");
        rc = RT_OK;
    }
    const char *srcs[][2] = {{profile, creds_path}, {cfg_sec, config_path}};
    const struct rt_ini *inis[] = {&creds, &config};
    for (int i = 0; i < 2 && rc != RT_OK; i++) {
        ak = rt_ini_get(inis[i], srcs[i][0], "aws_access_key_id");
        sk = rt_ini_get(inis[i], srcs[i][0], "aws_secret_access_key");
        if (ak && *ak && sk && *sk) {
            out->creds.access_key_id = strdup(ak);
            out->creds.secret_access_key = strdup(sk);
            out->creds.session_token =
                dup_nonempty(rt_ini_get(inis[i], srcs[i][0], "aws_session_token"));
            snprintf(out->creds.source, sizeof out->creds.source, "profile %.40s (%s file)",
                     profile, i == 0 ? "credentials" : "config");
            rc = RT_OK;
        }
    }
    if (rc != RT_OK) {
        const char *proc = rt_ini_get(&config, cfg_sec, "credential_process");
        if (!proc)
            proc = rt_ini_get(&creds, profile, "credential_process");
        if (proc && *proc) {
            out->credential_process = strdup(proc);
            rc = run_process(proc, &out->creds, ei);
        } else {
            rc = rt_fail(ei, RT_ERR_AWS_CREDENTIALS, -1,
                         "profile '%.40s': set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                         "add keys or credential_process to %.80s",
                         profile, creds_path[0] ? creds_path : "~/.aws/credentials");
        }
    }
    rt_ini_free(&creds);
    rt_ini_free(&config);
    if (rc == RT_OK && (!out->creds.access_key_id || !out->creds.secret_access_key || !out->region))
        rc = RT_ERR_NOMEM;
    if (rc != RT_OK)
        rt_aws_config_free(out);
    return rc;
}

int rt_aws_refresh(struct rt_aws_config *cfg, int64_t now_s, struct rt_errinfo *ei)
{
    if (!cfg->credential_process || !cfg->creds.expiration || cfg->creds.expiration - now_s > 300)
        return RT_OK;
    struct rt_aws_creds fresh;
    int rc = run_process(cfg->credential_process, &fresh, ei);
    if (rc != RT_OK)
        return rc;
    rt_aws_creds_free(&cfg->creds);
    cfg->creds = fresh;
    return RT_OK;
}

int rt_aws_backoff_ms(int attempt)
{
    long cap = 100;
    for (int i = 1; i < attempt && cap < 5000; i++)
        cap *= 2;
    if (cap > 5000)
        cap = 5000;
    return (int)(cap / 4 + random() % (cap - cap / 4 + 1));
}
