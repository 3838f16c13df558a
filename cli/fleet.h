/* Shared by the commands that change or read functions through the Lambda API (enable,
 * disable, status, policy): the common options (--region, --endpoint-url, --profile), opening
 * the client, turning operands or --all [--tag K=V] into function names, applying an update
 * and waiting for it, and printing control/ errors in one wording. */
#ifndef RUNTRAIL_CLI_FLEET_H
#define RUNTRAIL_CLI_FLEET_H

#include "control/lambda.h"

#include <jansson.h>
#include <stdbool.h>

struct rt_fleet {
    const char *cmd; /* "enable": for messages */
    const char *region, *endpoint, *profile;
    bool all;
    const char *tag; /* K=V, with all */
    int wait_s;      /* how long to wait for an update to apply */
    struct rt_lambda *lambda;
};

/* The option rows every fleet command shares; ids from 200 up. */
enum { RT_FLEET_OPT_REGION = 200, RT_FLEET_OPT_ENDPOINT, RT_FLEET_OPT_PROFILE };
#define RT_FLEET_OPTIONS                                                                           \
    {RT_FLEET_OPT_REGION, "region", 0, "R",                                                        \
     "the functions' region (default: AWS_REGION, profile)"},                                      \
        {RT_FLEET_OPT_ENDPOINT, "endpoint-url", 0, "URL",                                          \
         "the Lambda API endpoint (default:\nRUNTRAIL_LAMBDA_ENDPOINT, AWS_ENDPOINT_URL_LAMBDA)"}, \
    {                                                                                              \
        RT_FLEET_OPT_PROFILE, "profile", 0, "NAME", "the AWS profile (default: AWS_PROFILE)"       \
    }

/* Takes a shared option; true if id was one. */
bool rt_fleet_option(struct rt_fleet *f, int id, const char *value);

/* Opens f->lambda; prints the error and returns RT_EXIT_USAGE on failure, else RT_EXIT_OK. */
int rt_fleet_open(struct rt_fleet *f);
void rt_fleet_close(struct rt_fleet *f);

/* "runtrail CMD: WHAT: <error text>: <detail>" on stderr. */
void rt_fleet_error(const struct rt_fleet *f, const char *what, int rc,
                    const struct rt_errinfo *ei);

/* The function names the operands name (names, ARNs, partial ARNs), or with f->all every
 * function of the region (ListFunctions) whose tags (GetFunction) hold f->tag. A new array of
 * strings in *out; prints errors and returns an exit status. */
int rt_fleet_targets(struct rt_fleet *f, int n, char **operands, json_t **out);

/* s3://BUCKET[/PREFIX] into bucket and prefix (no trailing '/'); false if it is not one. */
bool rt_fleet_parse_s3(const char *url, char *bucket, size_t bcap, char *prefix, size_t pcap);

/* UpdateFunctionConfiguration with body, then waits until LastUpdateStatus is Successful;
 * *final (may be NULL) gets the configuration after. RT_OK or an RT_ERR_* with ei filled. */
int rt_fleet_apply(struct rt_fleet *f, const char *name, json_t *body, json_t **final,
                   struct rt_errinfo *ei);

/* Writes s to stdout escaped (configuration values come from the account). */
void rt_fleet_puts(const char *s);

#endif
