/* AWS conventions for the offline tools and the recorder: credentials from the environment
 * (what Lambda gives a function), from a profile in ~/.aws/credentials or ~/.aws/config, or
 * from the profile's credential_process (its JSON, with Expiration); the region from
 * AWS_REGION / AWS_DEFAULT_REGION / the profile; the endpoint from AWS_ENDPOINT_URL_S3 /
 * AWS_ENDPOINT_URL / the profile's endpoint_url. The INI parser is pure (no I/O) so that it
 * can be unit tested and fuzzed. */
#ifndef RUNTRAIL_STORE_AWS_H
#define RUNTRAIL_STORE_AWS_H

#include "formats/error.h"

#include <stddef.h>
#include <stdint.h>

/* ---- INI files (~/.aws/credentials, ~/.aws/config) ---- */

struct rt_ini_entry {
    char *section; /* "default", "profile dev", "dev", ... as written between [ ] (trimmed) */
    char *key;     /* lowercase; a nested key is "parent.key" (e.g. "s3.endpoint_url") */
    char *value;
};

struct rt_ini {
    struct rt_ini_entry *entries;
    size_t n;
};

/* Parses text (need not be NUL-terminated). Comment lines start with '#' or ';'. A line that
 * is neither a section, a key = value, a comment nor blank is RT_ERR_AWS_CONFIG with the line
 * number in ei. Later duplicates win. */
int rt_ini_parse(const char *text, size_t len, struct rt_ini *out, struct rt_errinfo *ei);
/* The value of key in section, or NULL. */
const char *rt_ini_get(const struct rt_ini *ini, const char *section, const char *key);
void rt_ini_free(struct rt_ini *ini);

/* ---- credentials ---- */

struct rt_aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL if none */
    int64_t expiration;  /* Unix seconds; 0 = does not expire */
    char source[96];     /* "environment", "profile dev (credentials file)", ... */
};
void rt_aws_creds_free(struct rt_aws_creds *c);

/* Parses credential_process output (JSON, Version 1). RT_OK or RT_ERR_AWS_CREDENTIALS. */
int rt_aws_parse_process_output(const char *json, size_t len, struct rt_aws_creds *out,
                                struct rt_errinfo *ei);

struct rt_aws_config {
    struct rt_aws_creds creds;
    char *profile; /* the profile used */
    char *region;
    char *endpoint;           /* NULL = AWS */
    char *credential_process; /* kept to refresh expiring credentials */
};

/* Resolves everything for profile (NULL = $AWS_PROFILE, else "default"). Environment
 * credentials win unless a profile was named explicitly. */
int rt_aws_load(const char *profile, struct rt_aws_config *out, struct rt_errinfo *ei);
/* Re-runs credential_process when the credentials expire within 5 minutes. */
int rt_aws_refresh(struct rt_aws_config *cfg, int64_t now_s, struct rt_errinfo *ei);
void rt_aws_config_free(struct rt_aws_config *cfg);

/* The retry delay of the AWS clients (S3, Lambda) before attempt + 1: capped exponential
 * backoff (100 ms doubling per attempt, at most 5 s) with jitter, uniform in [cap/4, cap] so
 * that retries never hammer back to back. */
int rt_aws_backoff_ms(int attempt);

#endif
