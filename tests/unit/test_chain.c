/* Unit tests of formats/chain.c: an intact chain, and each finding — gap, modification,
 * reordering (by link and by start time), fork, a removed first bundle (head: a finding, or
 * a warning when --since explains it), a removed last bundle (open) — named with the right
 * bundle. */
#include "formats/chain.h"

#include <criterion/criterion.h>

#include <string.h>

struct b {
    const char *name;
    const char *sandbox;
    uint64_t seq;
    uint8_t digest[RT_DIGEST_LEN];
    uint8_t prev[RT_DIGEST_LEN];
    bool has_prev;
    int64_t start;
    uint8_t chain_end;
};

/* n bundles of sandbox "s": digest i = {i+1}, prev = digest of i-1 */
static void make(struct b *v, int n)
{
    static const char *const names[] = {"b0", "b1", "b2", "b3", "b4", "b5"};
    for (int i = 0; i < n; i++) {
        memset(&v[i], 0, sizeof v[i]);
        v[i].name = names[i];
        v[i].sandbox = "s";
        v[i].seq = (uint64_t)i;
        v[i].digest[0] = (uint8_t)(i + 1);
        v[i].has_prev = i > 0;
        if (i > 0)
            v[i].prev[0] = (uint8_t)i;
        v[i].start = 1000 + i;
    }
}

static size_t check(struct b *v, int n, const struct rt_chain_finding **f, struct rt_chain **c)
{
    *c = rt_chain_new();
    for (int i = 0; i < n; i++) {
        struct rt_meta m = {0};
        m.sandbox_id = (char *)v[i].sandbox;
        m.seq = v[i].seq;
        m.has_prev = v[i].has_prev;
        memcpy(m.prev_digest, v[i].prev, RT_DIGEST_LEN);
        m.start_wall_ns = v[i].start;
        m.chain_end = v[i].chain_end;
        cr_assert_eq(rt_chain_add(*c, v[i].name, &m, v[i].digest), RT_OK);
    }
    return rt_chain_check(*c, f);
}

Test(chain, intact_in_any_order)
{
    struct b v[4];
    make(v, 4);
    struct b t = v[0];
    v[0] = v[3];
    v[3] = t;
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 4, &f, &c), 0);
    cr_assert_eq(rt_chain_sandboxes(c), 1);
    rt_chain_free(c);
}

Test(chain, gap)
{
    struct b v[4];
    make(v, 4);
    v[2] = v[3]; /* seq 2 deleted */
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 3, &f, &c), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_GAP);
    cr_assert_eq(f[0].seq, 3);
    cr_assert_str_eq(f[0].name, "b3");
    cr_assert_str_eq(f[0].text, "sandbox s: seq 2 is missing (between seq 1 and seq 3)");
    rt_chain_free(c);
}

Test(chain, modified)
{
    struct b v[3];
    make(v, 3);
    v[1].digest[5] = 0xee; /* b1 re-sealed after a change */
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 3, &f, &c), 1); /* b2 does not link to it */
    cr_assert_eq(f[0].problem, RT_CHAIN_MODIFIED);
    cr_assert_str_eq(f[0].name, "b1");
    cr_assert_str_eq(f[0].other, "b2");
    rt_chain_free(c);
}

Test(chain, missing_links)
{
    struct b v[2];
    make(v, 2);
    v[1].has_prev = false;
    v[0].has_prev = true;
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 2, &f, &c), 2);
    cr_assert_eq(f[0].problem, RT_CHAIN_MODIFIED);
    cr_assert_eq(f[1].problem, RT_CHAIN_MODIFIED);
    rt_chain_free(c);
}

Test(chain, reordered_by_link)
{
    struct b v[4];
    make(v, 4);
    v[3].prev[0] = 2; /* seq 3 links to seq 1's digest */
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 4, &f, &c), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_REORDERED);
    cr_assert_str_eq(f[0].name, "b3");
    cr_assert_str_eq(f[0].other, "b1");
    rt_chain_free(c);
}

Test(chain, reordered_by_time)
{
    struct b v[3];
    make(v, 3);
    v[2].start = 500;
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 3, &f, &c), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_REORDERED);
    cr_assert_str_eq(f[0].name, "b2");
    rt_chain_free(c);
}

Test(chain, fork_and_duplicate)
{
    struct b v[4];
    make(v, 3);
    v[3] = v[1];
    v[3].name = "b1-copy";
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 4, &f, &c), 0, "an identical copy is not a finding");
    rt_chain_free(c);
    v[3].digest[9] = 1;
    v[3].name = "b1-fork";
    cr_assert_eq(check(v, 4, &f, &c), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_FORK);
    cr_assert_str_eq(f[0].name, "b1-fork");
    cr_assert_str_eq(f[0].other, "b1");
    cr_assert_str_eq(rt_chain_problem_name(f[0].problem), "fork");
    rt_chain_free(c);
}

Test(chain, sandboxes_are_separate)
{
    struct b v[4];
    make(v, 2);
    make(v + 2, 2);
    v[2].sandbox = v[3].sandbox = "t";
    v[2].name = "t0";
    v[3].name = "t1";
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 4, &f, &c), 0);
    cr_assert_eq(rt_chain_sandboxes(c), 2);
    rt_chain_free(c);
}

/* a recorder that writes chain_end: every bundle "more", the SHUTDOWN bundle "last" */
static void make_closed(struct b *v, int n)
{
    make(v, n);
    for (int i = 0; i < n; i++)
        v[i].chain_end = i == n - 1 ? RT_CHAIN_END_LAST : RT_CHAIN_END_MORE;
}

Test(chain, closed_chain_is_intact)
{
    struct b v[4];
    make_closed(v, 4);
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 4, &f, &c), 0);
    rt_chain_free(c);
}

Test(chain, first_bundle_removed)
{
    struct b v[4];
    make_closed(v, 4);
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    /* without a time range, nothing explains it: a finding naming the missing seq */
    cr_assert_eq(check(v + 1, 3, &f, &c), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_HEAD);
    cr_assert_not(f[0].warning);
    cr_assert_str_eq(f[0].name, "b1");
    cr_assert_str_eq(
        f[0].text,
        "sandbox s: the chain starts at seq 1: seq 0 (the cold start) is not in the set");
    rt_chain_free(c);
    /* two removed, set pulled from a time before the first present bundle: still a finding */
    c = rt_chain_new();
    rt_chain_set_since(c, 1003);
    for (int i = 2; i < 4; i++) {
        struct rt_meta m = {0};
        m.sandbox_id = (char *)"s";
        m.seq = v[i].seq;
        m.has_prev = true;
        memcpy(m.prev_digest, v[i].prev, RT_DIGEST_LEN);
        m.start_wall_ns = v[i].start;
        m.chain_end = v[i].chain_end;
        cr_assert_eq(rt_chain_add(c, v[i].name, &m, v[i].digest), RT_OK);
    }
    cr_assert_eq(rt_chain_check(c, &f), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_HEAD);
    cr_assert_not(f[0].warning, "b2 starts at 1002, before --since 1003: the set should hold b0");
    cr_assert_str_eq(f[0].text, "sandbox s: the chain starts at seq 2: seq 0..1 (with the cold "
                                "start) are not in the set");
    /* the set starts at or before the first present bundle: its head may predate it */
    rt_chain_set_since(c, 1002);
    cr_assert_eq(rt_chain_check(c, &f), 1);
    cr_assert(f[0].warning);
    cr_assert_str_eq(f[0].text, "sandbox s: the chain starts at seq 2: seq 0..1 (with the cold "
                                "start) are not in the set (they may predate --since)");
    rt_chain_free(c);
}

Test(chain, last_bundle_removed)
{
    struct b v[4];
    make_closed(v, 4);
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 3, &f, &c), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_OPEN);
    cr_assert(f[0].warning);
    cr_assert_str_eq(f[0].name, "b2");
    cr_assert_str_eq(f[0].text, "sandbox s: seq 2, the highest present, is not the last bundle: "
                                "the sandbox still runs, ended without SHUTDOWN, or its last "
                                "bundles were removed (open)");
    rt_chain_free(c);
    /* bundles of a writer that does not record chain_end: nothing to say */
    make(v, 4);
    cr_assert_eq(check(v, 3, &f, &c), 0);
    rt_chain_free(c);
}

Test(chain, bundle_after_the_last)
{
    struct b v[4];
    make_closed(v, 4);
    v[1].chain_end = RT_CHAIN_END_LAST;
    const struct rt_chain_finding *f;
    struct rt_chain *c;
    cr_assert_eq(check(v, 4, &f, &c), 1);
    cr_assert_eq(f[0].problem, RT_CHAIN_MODIFIED);
    cr_assert_not(f[0].warning);
    cr_assert_str_eq(f[0].name, "b2");
    cr_assert_str_eq(f[0].other, "b1");
    rt_chain_free(c);
}
