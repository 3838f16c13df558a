/* What `runtrail enable` and `disable` change on a function, decided from its configuration
 * (GetFunctionConfiguration's JSON) without any network: whether it can be recorded (package
 * type, runtime family, architecture, an existing AWS_LAMBDA_EXEC_WRAPPER, the 5-layer
 * limit), the UpdateFunctionConfiguration body that adds the layer and merges the settings
 * into the environment, and the body that undoes it. What enable replaced is saved in the
 * function's own environment, in RUNTRAIL_SAVED (compact JSON: the layer it added, the layer
 * it replaced and where, and the previous value, or null, of each variable it set), so that
 * disable restores exactly those and leaves whatever else changed since alone. */
#ifndef RUNTRAIL_CONTROL_ENABLE_H
#define RUNTRAIL_CONTROL_ENABLE_H

#include "formats/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RT_ENABLE_WRAPPER "/opt/runtrail/wrapper"
#define RT_ENABLE_SAVED_VAR "RUNTRAIL_SAVED"
#define RT_ENABLE_MAX_LAYERS 5

enum rt_coverage {
    RT_COVER_FULL,    /* the runtime applies the wrapper: interposer, proxy and extension */
    RT_COVER_PARTIAL, /* provided.*: the extension and /proc observation; see the statement */
    RT_COVER_NONE,    /* the layer cannot run there */
};

/* The coverage of a runtime ("python3.12", "provided.al2023", NULL for none) and a sentence
 * saying what is and is not recorded (static text). */
enum rt_coverage rt_enable_coverage(const char *runtime, const char **statement);

struct rt_enable_settings {
    const char *layer_arn; /* the runtrail layer version to add */
    json_t *layer_archs;   /* its CompatibleArchitectures (array), or NULL: unknown */
    const char *store;     /* RUNTRAIL_STORE */
    const char *sample;    /* RUNTRAIL_SAMPLE, or NULL: leave as is */
    const char *payload;   /* RUNTRAIL_PAYLOAD, or NULL */
    const char *redact;    /* RUNTRAIL_REDACT, or NULL */
};

/* Checks cfg and builds *update (a new object: Layers, Environment, RevisionId). RT_OK, or
 * RT_ERR_LAMBDA_UNSUPPORTED / RT_ERR_LAMBDA_ARCH / RT_ERR_INVALID_ARG with the reason in ei. */
int rt_enable_plan(const json_t *cfg, const struct rt_enable_settings *s, json_t **update,
                   struct rt_errinfo *ei);

/* The body that restores what RUNTRAIL_SAVED records. RT_ERR_LAMBDA_NOT_ENABLED when the
 * function holds no RUNTRAIL_SAVED (ei says whether runtrail's wrapper is set all the same). */
int rt_disable_plan(const json_t *cfg, json_t **update, struct rt_errinfo *ei);

/* cfg with the update's Layers and Environment applied, as GetFunctionConfiguration would
 * show them (no Layers/Environment member when empty). A new object. */
json_t *rt_enable_apply(const json_t *cfg, const json_t *update);

/* The settings of cfg as lines "Layers[i] = ARN" and "Environment.KEY = VALUE", the values of
 * variables runtrail does not own replaced by their SHA-256 prefix ("(value sha256:1a2b3c4d)")
 * so that a diff shows a change without printing a secret. A new array of strings. */
json_t *rt_enable_lines(const json_t *cfg);

/* Writes a unified-style diff of two line arrays to f: "-" removed, "+" added, " " kept. */
#include <stdio.h>
void rt_enable_diff(FILE *f, const json_t *before, const json_t *after);

/* The layer name inside a layer version ARN (":layer:NAME:VERSION"), copied into out; false
 * when arn is not one. */
bool rt_enable_layer_name(const char *arn, char *out, size_t cap);

#endif
