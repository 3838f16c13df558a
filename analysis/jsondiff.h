/* Payloads as JSON structure: a walk of a document into (key path, value type) pairs, which
 * baselines learn as the payload's shape, and the structural diff of two documents that
 * `runtrail diff` prints (key paths added, removed, changed, value type changes). Parsing is
 * jansson's; recursion is bounded (RT_JSON_MAX_DEPTH), so a hostile payload cannot exhaust
 * the stack. Redacted values (the recorder's "<redacted:hmac:...>" tokens) compare by their
 * keyed hash and have the type "redacted".
 *
 * Paths: `$` is the root, `.name` an object member whose name is a plain identifier
 * ([A-Za-z_][A-Za-z0-9_-]*), `["name"]` any other member (JSON-escaped), `[3]` an array
 * element, or `[]` for every element when the walk collapses arrays (a shape does not depend
 * on how many items a list has). */
#ifndef RUNTRAIL_ANALYSIS_JSONDIFF_H
#define RUNTRAIL_ANALYSIS_JSONDIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RT_JSON_MAX_DEPTH 64

/* Value types as they are named in paths, diffs and baselines. */
#define RT_JSON_TYPES(_)                                                                           \
    _(OBJECT, "object")                                                                            \
    _(ARRAY, "array")                                                                              \
    _(STRING, "string")                                                                            \
    _(NUMBER, "number")                                                                            \
    _(BOOL, "bool")                                                                                \
    _(NULL, "null")                                                                                \
    _(REDACTED, "redacted")

enum rt_json_type {
#define _(id, name) RT_JSON_##id,
    RT_JSON_TYPES(_)
#undef _
        RT_JSON__COUNT
};

const char *rt_json_type_name(unsigned type);
enum rt_json_type rt_json_type_of(const json_t *v);

/* Walk flags. */
#define RT_JSON_WALK_COLLAPSE_ARRAYS 0x1u /* `[]` for every element instead of `[i]` */

/* Called once per value, parents before children, object members in document order: path
 * (valid during the call only), the value's type and the value itself. A non-zero return
 * stops the walk and is returned by rt_json_walk. */
typedef int (*rt_json_visit_fn)(const char *path, enum rt_json_type type, const json_t *value,
                                void *arg);

/* Walks root. Values deeper than RT_JSON_MAX_DEPTH are reported with their type but not
 * entered. Returns 0, what fn returned, or -1 when out of memory. */
int rt_json_walk(const json_t *root, unsigned flags, rt_json_visit_fn fn, void *arg);

/* One difference between two documents, at a path (indexed, not collapsed). */
enum rt_json_change { RT_JSON_ADDED, RT_JSON_REMOVED, RT_JSON_CHANGED, RT_JSON_TYPE_CHANGED };
const char *rt_json_change_name(unsigned change); /* "added", "removed", "changed", "type" */

struct rt_json_delta {
    char *path;
    enum rt_json_change change;
    enum rt_json_type a_type, b_type; /* a_type unset for ADDED, b_type for REMOVED */
};

struct rt_json_diff {
    struct rt_json_delta *d;
    size_t n;
};

/* The structural diff of a and b: a member present on one side only is ADDED/REMOVED (its
 * children are not listed); the same path with another type is TYPE_CHANGED; scalars (and
 * redacted tokens) that differ are CHANGED. Arrays compare element by element by index.
 * Entries are in the order of a's walk, then b's additions. Returns 0, or -1 when out of
 * memory (*out zeroed). */
int rt_json_diff(const json_t *a, const json_t *b, struct rt_json_diff *out);
void rt_json_diff_free(struct rt_json_diff *d);

#endif
