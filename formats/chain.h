/* The per-sandbox digest chain across bundles. Every bundle carries its sandbox id, its
 * sequence number and the footer digest of the previous bundle of that sandbox; given a set
 * of bundles, rt_chain_check() reports what breaks the chain: missing sequence numbers (gap),
 * a bundle whose digest is not the one its successor recorded (modified or replaced), links or
 * start times out of sequence order (reordered), and two different bundles with one sequence
 * number (fork), a chain that does not start at seq 0 (head: its first bundles, with the cold
 * start, are not in the set) and a chain whose highest bundle does not say it is the last
 * (open: the sandbox still runs, died without SHUTDOWN, or its last bundles were removed).
 * head and open are warnings when the set can explain them (see rt_chain_set_since), else
 * findings. Used by `runtrail verify` and by any tool that audits a set of bundles. */
#ifndef RUNTRAIL_FORMATS_CHAIN_H
#define RUNTRAIL_FORMATS_CHAIN_H

#include "formats/bundle.h"

#include <stddef.h>
#include <stdint.h>

#define RT_CHAIN_PROBLEMS(_)                                                                       \
    _(GAP, "gap")             /* sequence numbers missing between two bundles */                   \
    _(MODIFIED, "modified")   /* digest does not match the successor's prev_digest */              \
    _(REORDERED, "reordered") /* links or start times out of sequence order */                     \
    _(FORK, "fork")           /* two different bundles with the same sequence number */            \
    _(HEAD, "head")           /* the chain starts after seq 0 */                                   \
    _(OPEN, "open")           /* the highest bundle does not say it is the last */

enum rt_chain_problem {
#define _(id, name) RT_CHAIN_##id,
    RT_CHAIN_PROBLEMS(_)
#undef _
        RT_CHAIN__COUNT
};

struct rt_chain_finding {
    enum rt_chain_problem problem;
    const char *sandbox_id;
    uint64_t seq;      /* the sequence number the finding is about */
    const char *name;  /* the bundle (label given to rt_chain_add) the finding is about */
    const char *other; /* the other bundle involved, or NULL */
    bool warning;      /* head/open that the set can explain; a finding otherwise */
    char text[512];    /* one line for humans, without the bundle name */
};

struct rt_chain;

/* Returns NULL when out of memory. */
struct rt_chain *rt_chain_new(void);
void rt_chain_free(struct rt_chain *c);
/* Adds one bundle: name labels it in findings (a path, a key); meta and digest are copied.
 * Bundles without a sandbox id are ignored. Returns RT_OK or RT_ERR_NOMEM. */
int rt_chain_add(struct rt_chain *c, const char *name, const struct rt_meta *meta,
                 const uint8_t digest[RT_DIGEST_LEN]);
/* The set holds what started at or after since_ns (a pull's --since; 0 = unknown). A chain
 * whose first present bundle starts at or after it may begin before it: its head is then a
 * warning naming the missing seq range, not a finding. An open chain is always a warning
 * (a sandbox that still runs looks the same); callers that want certainty treat warnings as
 * findings (`verify --strict`). Only chains whose writer records chain_end are checked for
 * it (RT_CHAIN_END_UNKNOWN everywhere: nothing to say). */
void rt_chain_set_since(struct rt_chain *c, int64_t since_ns);
/* Checks every sandbox; *out is an array owned by c (valid until the next call or
 * rt_chain_free), ordered by sandbox id then sequence number. Returns the number found. */
size_t rt_chain_check(struct rt_chain *c, const struct rt_chain_finding **out);
/* Number of distinct sandboxes seen by the last rt_chain_check(). */
size_t rt_chain_sandboxes(const struct rt_chain *c);
const char *rt_chain_problem_name(unsigned problem);

#endif
