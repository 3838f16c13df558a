/* Chain verification across bundles of one sandbox (see chain.h): bundles are grouped by
 * sandbox id and sorted by sequence number; then each consecutive pair is checked for missing
 * numbers, a prev_digest that does not match its predecessor's footer digest (pointing to
 * another bundle of the chain = reordered, pointing nowhere = modified), start times that go
 * backwards, duplicates of one number with different digests (fork), a first bundle after seq
 * 0 (head) and a last bundle that does not say it is the last (open). */
#include "formats/chain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *name;
    char *sandbox;
    uint64_t seq;
    bool has_prev;
    uint8_t prev[RT_DIGEST_LEN];
    uint8_t digest[RT_DIGEST_LEN];
    int64_t start_wall_ns;
    uint8_t chain_end; /* RT_CHAIN_END_* */
    size_t order;      /* insertion order, for stable sorting */
};

struct rt_chain {
    struct entry *e;
    size_t n, cap;
    struct rt_chain_finding *f;
    size_t nf, capf;
    size_t n_sandboxes; /* counted by rt_chain_check */
    int64_t since_ns;   /* the set starts here (0 = unknown) */
};

static const char *const problem_names[] = {
#define _(id, name) [RT_CHAIN_##id] = name,
    RT_CHAIN_PROBLEMS(_)
#undef _
};

const char *rt_chain_problem_name(unsigned problem)
{
    return problem < RT_CHAIN__COUNT ? problem_names[problem] : "unknown";
}

struct rt_chain *rt_chain_new(void)
{
    return calloc(1, sizeof(struct rt_chain));
}

void rt_chain_free(struct rt_chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].name);
        free(c->e[i].sandbox);
    }
    free(c->e);
    free(c->f);
    free(c);
}

int rt_chain_add(struct rt_chain *c, const char *name, const struct rt_meta *meta,
                 const uint8_t digest[RT_DIGEST_LEN])
{
    if (!c || !meta || !digest)
        return RT_ERR_INVALID_ARG;
    if (!meta->sandbox_id || !meta->sandbox_id[0])
        return RT_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct entry *e = realloc(c->e, cap * sizeof *e);
        if (!e)
            return RT_ERR_NOMEM;
        c->e = e;
        c->cap = cap;
    }
    struct entry *e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name ? name : "?");
    e->sandbox = strdup(meta->sandbox_id);
    if (!e->name || !e->sandbox) {
        free(e->name);
        free(e->sandbox);
        return RT_ERR_NOMEM;
    }
    e->seq = meta->seq;
    e->has_prev = meta->has_prev;
    memcpy(e->prev, meta->prev_digest, RT_DIGEST_LEN);
    memcpy(e->digest, digest, RT_DIGEST_LEN);
    e->start_wall_ns = meta->start_wall_ns;
    e->chain_end = meta->chain_end;
    e->order = c->n++;
    return RT_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->sandbox, y->sandbox);
    if (c)
        return c;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void add(struct rt_chain *c, enum rt_chain_problem p, const struct entry *e,
                const struct entry *other, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(struct rt_chain *c, enum rt_chain_problem p, const struct entry *e,
                const struct entry *other, const char *fmt, ...)
{
    if (c->nf == c->capf) {
        size_t cap = c->capf ? c->capf * 2 : 16;
        struct rt_chain_finding *f = realloc(c->f, cap * sizeof *f);
        if (!f)
            return; /* findings are best effort when out of memory */
        c->f = f;
        c->capf = cap;
    }
    struct rt_chain_finding *f = &c->f[c->nf++];
    f->problem = p;
    f->sandbox_id = e->sandbox;
    f->seq = e->seq;
    f->name = e->name;
    f->other = other ? other->name : NULL;
    f->warning = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
}

void rt_chain_set_since(struct rt_chain *c, int64_t since_ns)
{
    if (c)
        c->since_ns = since_ns;
}

static const struct entry *find_digest(const struct entry *g, size_t n, const uint8_t *d)
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(g[i].digest, d, RT_DIGEST_LEN))
            return &g[i];
    return NULL;
}

static void check_sandbox(struct rt_chain *c, struct entry *g, size_t n)
{
    /* forks and duplicates: keep the first bundle of each sequence number */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && g[m - 1].seq == g[i].seq) {
            if (memcmp(g[m - 1].digest, g[i].digest, RT_DIGEST_LEN))
                add(c, RT_CHAIN_FORK, &g[i], &g[m - 1],
                    "sandbox %s: seq %" PRIu64 " also in %s with a different digest (fork)",
                    g[i].sandbox, g[i].seq, g[m - 1].name);
            continue; /* an identical copy is not a finding */
        }
        if (m != i) {
            struct entry tmp = g[m];
            g[m] = g[i];
            g[i] = tmp;
        }
        m++;
    }
    if (g[0].seq > 0) {
        bool explained = c->since_ns > 0 && g[0].start_wall_ns >= c->since_ns;
        size_t before = c->nf;
        if (g[0].seq == 1)
            add(c, RT_CHAIN_HEAD, &g[0], NULL,
                "sandbox %s: the chain starts at seq 1: seq 0 (the cold start) is not in the "
                "set%s",
                g[0].sandbox, explained ? " (it may predate --since)" : "");
        else
            add(c, RT_CHAIN_HEAD, &g[0], NULL,
                "sandbox %s: the chain starts at seq %" PRIu64 ": seq 0..%" PRIu64
                " (with the cold start) are not in the set%s",
                g[0].sandbox, g[0].seq, g[0].seq - 1,
                explained ? " (they may predate --since)" : "");
        if (c->nf > before)
            c->f[c->nf - 1].warning = explained;
    }
    if (g[0].seq == 0 && g[0].has_prev)
        add(c, RT_CHAIN_MODIFIED, &g[0], NULL,
            "sandbox %s: seq 0 carries a previous digest (modified)", g[0].sandbox);
    for (size_t i = 0; i < m; i++) {
        if (g[i].seq > 0 && !g[i].has_prev)
            add(c, RT_CHAIN_MODIFIED, &g[i], NULL,
                "sandbox %s: seq %" PRIu64 " has no previous digest (modified)", g[i].sandbox,
                g[i].seq);
        if (i == 0)
            continue;
        const struct entry *a = &g[i - 1], *b = &g[i];
        if (b->seq != a->seq + 1) {
            if (b->seq - a->seq == 2)
                add(c, RT_CHAIN_GAP, b, a,
                    "sandbox %s: seq %" PRIu64 " is missing (between seq %" PRIu64
                    " and seq %" PRIu64 ")",
                    b->sandbox, a->seq + 1, a->seq, b->seq);
            else
                add(c, RT_CHAIN_GAP, b, a,
                    "sandbox %s: seq %" PRIu64 "..%" PRIu64 " are missing (between seq %" PRIu64
                    " and seq %" PRIu64 ")",
                    b->sandbox, a->seq + 1, b->seq - 1, a->seq, b->seq);
        } else if (b->has_prev && memcmp(b->prev, a->digest, RT_DIGEST_LEN)) {
            const struct entry *to = find_digest(g, m, b->prev);
            if (to)
                add(c, RT_CHAIN_REORDERED, b, to,
                    "sandbox %s: seq %" PRIu64 " links to seq %" PRIu64 " (%s), not to seq %" PRIu64
                    " (reordered)",
                    b->sandbox, b->seq, to->seq, to->name, a->seq);
            else
                add(c, RT_CHAIN_MODIFIED, a, b,
                    "sandbox %s: digest of seq %" PRIu64 " differs from the one seq %" PRIu64
                    " (%s) recorded (modified or replaced)",
                    a->sandbox, a->seq, b->seq, b->name);
        }
        if (a->start_wall_ns && b->start_wall_ns && b->start_wall_ns < a->start_wall_ns)
            add(c, RT_CHAIN_REORDERED, b, a,
                "sandbox %s: seq %" PRIu64 " starts before seq %" PRIu64 " (%s) (reordered)",
                b->sandbox, b->seq, a->seq, a->name);
    }
    bool tracked = false;
    for (size_t i = 0; i < m; i++)
        tracked |= g[i].chain_end != RT_CHAIN_END_UNKNOWN;
    if (tracked && g[m - 1].chain_end != RT_CHAIN_END_LAST) {
        size_t before = c->nf;
        add(c, RT_CHAIN_OPEN, &g[m - 1], NULL,
            "sandbox %s: seq %" PRIu64 ", the highest present, is not the last bundle: the "
            "sandbox still runs, ended without SHUTDOWN, or its last bundles were removed (open)",
            g[m - 1].sandbox, g[m - 1].seq);
        if (c->nf > before)
            c->f[c->nf - 1].warning = true;
    }
    for (size_t i = 0; i + 1 < m; i++)
        if (g[i].chain_end == RT_CHAIN_END_LAST)
            add(c, RT_CHAIN_MODIFIED, &g[i + 1], &g[i],
                "sandbox %s: seq %" PRIu64 " follows seq %" PRIu64
                " (%s), which says it is the last (modified)",
                g[i].sandbox, g[i + 1].seq, g[i].seq, g[i].name);
}

size_t rt_chain_check(struct rt_chain *c, const struct rt_chain_finding **out)
{
    if (!c)
        return 0;
    c->nf = 0;
    c->n_sandboxes = 0;
    if (c->n)
        qsort(c->e, c->n, sizeof *c->e, cmp_entry);
    for (size_t i = 0; i < c->n;) {
        size_t j = i + 1;
        while (j < c->n && !strcmp(c->e[j].sandbox, c->e[i].sandbox))
            j++;
        check_sandbox(c, c->e + i, j - i);
        c->n_sandboxes++;
        i = j;
    }
    if (out)
        *out = c->f;
    return c->nf;
}

size_t rt_chain_sandboxes(const struct rt_chain *c)
{
    return c ? c->n_sandboxes : 0;
}
