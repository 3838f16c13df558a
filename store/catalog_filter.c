/* The filters of `runtrail ls` as options (--function F, --since 2h, --status crash...), parsed
 * once for every command that selects invocations from the catalog: `ls` from its argv, the
 * viewer from the line typed at its filter prompt. A value that does not parse gets a message
 * naming the option and the value. */
#include "store/catalog.h"
#include "formats/timeparse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_catalog_filter_args_init(struct rt_catalog_filter_args *a)
{
    memset(a, 0, sizeof *a);
    a->f.status = -1;
}

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && cap)
        vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

int rt_catalog_filter_kind(const char *opt)
{
    static const char *const valued[] = {"--function",   "--since", "--until", "--status",
                                         "--path",       "--dest",  "--exec",  "--aws",
                                         "--request-id", "--limit"};
    if (!strcmp(opt, "--findings"))
        return 1;
    for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++)
        if (!strcmp(opt, valued[i]))
            return 2;
    return 0;
}

int rt_catalog_filter_option(struct rt_catalog_filter_args *a, const char *opt, const char *val,
                             int64_t now_ns, char *err, size_t cap)
{
    struct rt_catalog_filter *f = &a->f;
    int kind = rt_catalog_filter_kind(opt);
    if (kind == 1) {
        f->with_findings = true;
        return 1;
    }
    if (kind == 0)
        return 0;
    if (!val)
        return fail(err, cap, "%s needs a value", opt);
    if (!strcmp(opt, "--function")) {
        f->function = val;
    } else if (!strcmp(opt, "--since") || !strcmp(opt, "--until")) {
        int64_t *dst = opt[2] == 's' ? &f->since_ns : &f->until_ns;
        if (rt_parse_time(val, now_ns, dst) != RT_OK)
            return fail(err, cap, "%s '%s': %s", opt, val, rt_strerror(RT_ERR_TIME_FORMAT));
        /* The filter reads 0 as "no bound": --until at the epoch itself (1970-01-01) becomes
         * 1 ns before it, which no recorded invocation can start at, instead of silently
         * filtering nothing. --since 0 needs no bound. */
        if (dst == &f->until_ns && *dst == 0)
            *dst = -1;
    } else if (!strcmp(opt, "--status")) {
        f->status = rt_status_from_name(val);
        if (f->status < 0)
            return fail(err, cap, "--status '%s': ok, error, timeout, crash or unknown", val);
    } else if (!strcmp(opt, "--path")) {
        f->path_glob = val;
    } else if (!strcmp(opt, "--dest")) {
        f->dest = val;
    } else if (!strcmp(opt, "--exec")) {
        f->exec = val;
    } else if (!strcmp(opt, "--aws")) {
        f->aws_glob = val;
    } else if (!strcmp(opt, "--request-id")) {
        if (f->n_request_ids >= RT_CATALOG_MAX_IDS)
            return fail(err, cap, "at most %d --request-id", RT_CATALOG_MAX_IDS);
        a->ids[f->n_request_ids++] = val;
        f->request_ids = a->ids;
    } else { /* --limit */
        char *end;
        long long n = strtoll(val, &end, 10);
        if (*end || n < 1)
            return fail(err, cap, "--limit wants a positive number");
        f->limit = (size_t)n;
    }
    return 2;
}

/* Cuts the next word off *p in place: separated by blanks, '...' and "..." quote. NULL when
 * no word is left; *bad set when a quote is not closed. */
static char *next_word(char **p, bool *bad)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return NULL;
    char *word = s, *out = s;
    char quote = 0;
    for (; *s; s++) {
        if (quote) {
            if (*s == quote)
                quote = 0;
            else
                *out++ = *s;
        } else if (*s == '\'' || *s == '"') {
            quote = *s;
        } else if (*s == ' ' || *s == '\t') {
            s++;
            break;
        } else {
            *out++ = *s;
        }
    }
    if (quote)
        *bad = true;
    *out = '\0';
    *p = s;
    return word;
}

int rt_catalog_filter_parse_line(struct rt_catalog_filter_args *a, char *line, int64_t now_ns,
                                 char *err, size_t cap)
{
    rt_catalog_filter_args_init(a);
    char *p = line;
    bool bad = false;
    for (char *opt; (opt = next_word(&p, &bad));) {
        if (bad)
            return fail(err, cap, "a quote is not closed");
        char *val = NULL;
        /* --function=F is --function F. */
        char *eq = opt[0] == '-' ? strchr(opt, '=') : NULL;
        if (eq) {
            *eq = '\0';
            val = eq + 1;
        }
        int kind = rt_catalog_filter_kind(opt);
        if (kind == 0)
            return fail(err, cap,
                        "'%s' is no filter (--function, --since, --until, --status, --path, "
                        "--dest, --exec, --request-id, --limit, --findings)",
                        opt);
        if (kind == 2 && !val) {
            val = next_word(&p, &bad);
            if (bad)
                return fail(err, cap, "a quote is not closed");
            if (!val)
                return fail(err, cap, "%s needs a value", opt);
        }
        if (rt_catalog_filter_option(a, opt, val, now_ns, err, cap) < 0)
            return -1;
    }
    return bad ? fail(err, cap, "a quote is not closed") : 0;
}
