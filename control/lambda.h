/* The Lambda control-plane client behind `runtrail enable`, `disable`, `status` and `policy`:
 * the REST calls of the Lambda API (GetFunction, GetFunctionConfiguration,
 * UpdateFunctionConfiguration, ListFunctions, PublishLayerVersion, GetLayerVersion) over
 * libcurl, signed by libcurl's SigV4 (CURLOPT_AWS_SIGV4, "aws:amz:REGION:lambda") with the
 * credentials store/aws.h finds, JSON by jansson. Throttling, 5xx and network errors are
 * retried with capped exponential backoff and jitter; ResourceConflictException (an update in
 * progress) too, for up to conflict_ms. Errors name the action, the function and, for 403,
 * the access key and where it came from.
 *
 * libcurl 7.88 signs the path as written, while Lambda (like every service but S3) signs the
 * path URI-encoded once more: a path is only signed right when it holds nothing to encode.
 * So functions and layers go into paths by name (A-Z a-z 0-9 - _), never by ARN: an ARN is
 * taken apart by rt_lambda_parse_arn() first. Not thread-safe: one struct rt_lambda per
 * thread. */
#ifndef RUNTRAIL_CONTROL_LAMBDA_H
#define RUNTRAIL_CONTROL_LAMBDA_H

#include "formats/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rt_lambda;

struct rt_lambda_options {
    const char *profile;  /* NULL = $AWS_PROFILE, else "default" */
    const char *region;   /* NULL = $AWS_REGION / $AWS_DEFAULT_REGION / profile / us-east-1 */
    const char *endpoint; /* NULL = $RUNTRAIL_LAMBDA_ENDPOINT / $AWS_ENDPOINT_URL_LAMBDA /
                           * $AWS_ENDPOINT_URL / https://lambda.REGION.amazonaws.com */
    int timeout_ms;       /* per request; 0 = 30000 */
    int max_attempts;     /* throttling, 5xx, network; 0 = 5 */
    int conflict_ms;      /* how long ResourceConflictException is retried; 0 = 60000 */
};

/* Resolves credentials, region and endpoint. RT_ERR_AWS_CREDENTIALS when there are none. */
int rt_lambda_open(const struct rt_lambda_options *opts, struct rt_lambda **out,
                   struct rt_errinfo *ei);
void rt_lambda_close(struct rt_lambda *l);
const char *rt_lambda_region(const struct rt_lambda *l);
const char *rt_lambda_endpoint(const struct rt_lambda *l);
/* HTTP requests sent so far (every attempt counts). */
unsigned rt_lambda_requests(const struct rt_lambda *l);

/* One call. path must hold only unreserved characters and '/' (see above); query is a
 * canonical query (rt_s3_canonical_query) or NULL; body may be NULL. On success *out is the
 * answer's JSON (a new reference; an empty answer gives an empty object). */
int rt_lambda_call(struct rt_lambda *l, const char *action, const char *method, const char *path,
                   const char *query, json_t *body, json_t **out, struct rt_errinfo *ei);

/* The calls, by function or layer name. */
int rt_lambda_get_configuration(struct rt_lambda *l, const char *name, json_t **out,
                                struct rt_errinfo *ei);
/* GetFunction: {"Configuration", "Code", "Tags"}. */
int rt_lambda_get_function(struct rt_lambda *l, const char *name, json_t **out,
                           struct rt_errinfo *ei);
/* UpdateFunctionConfiguration with body (Layers, Environment, RevisionId...). A RevisionId
 * that no longer matches is RT_ERR_LAMBDA_CHANGED (read again and replan). */
int rt_lambda_update_configuration(struct rt_lambda *l, const char *name, json_t *body,
                                   json_t **out, struct rt_errinfo *ei);
/* Polls GetFunctionConfiguration until LastUpdateStatus is no longer InProgress: RT_OK and
 * the final configuration in *out when Successful, RT_ERR_LAMBDA_UPDATE_FAILED with the reason
 * when Failed, RT_ERR_LAMBDA_TIMEOUT after timeout_ms. *polls (may be NULL) counts the reads. */
int rt_lambda_wait_updated(struct rt_lambda *l, const char *name, int timeout_ms, json_t **out,
                           unsigned *polls, struct rt_errinfo *ei);
/* ListFunctions, every page: *out is an array of configurations. */
int rt_lambda_list_functions(struct rt_lambda *l, json_t **out, struct rt_errinfo *ei);
/* PublishLayerVersion from a zip (ZipFile, base64 by jansson's caller side: done here). */
int rt_lambda_publish_layer(struct rt_lambda *l, const char *layer_name, const void *zip,
                            size_t zip_len, const char *architecture, const char *description,
                            json_t **out, struct rt_errinfo *ei);
int rt_lambda_get_layer_version(struct rt_lambda *l, const char *layer_name, long version,
                                json_t **out, struct rt_errinfo *ei);

/* ---- pure helpers (no network; unit tested) ---- */

/* A function named by name, ARN or partial ARN (ACCOUNT:function:NAME), or a layer version
 * ARN (arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME:VERSION). Fields are copied into the
 * caller's buffers (empty when absent). */
struct rt_lambda_arn {
    char partition[16];
    char region[32];
    char account[16];
    char name[141]; /* function or layer name */
    long version;   /* layers: the version; 0 otherwise */
    bool is_layer;
};
/* RT_OK, or RT_ERR_INVALID_ARG with the reason in ei: a name with characters a function name
 * cannot have, an ARN with a qualifier (an alias or version: enable changes $LATEST). */
int rt_lambda_parse_arn(const char *s, struct rt_lambda_arn *out, struct rt_errinfo *ei);

#endif
