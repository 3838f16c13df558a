/* The option engine of formats/options.h: getopt_long driven by a struct rt_opt table, and the
 * --help option list generated from the same table. */
#include "formats/options.h"

#include <getopt.h>
#include <string.h>

static const struct rt_opt help_opt = {RT_OPT_HELP, "help", 'h', NULL, "this text"};

/* The i-th row of opts, the implicit --help last; NULL past the end. */
static const struct rt_opt *opt_at(const struct rt_opt *opts, size_t i)
{
    size_t n = 0;
    while (opts && opts[n].name && n < RT_OPT_MAX - 1)
        n++;
    if (i < n)
        return &opts[i];
    return i == n ? &help_opt : NULL;
}

void rt_opt_begin(struct rt_opt_parser *p, const struct rt_opt *opts, bool stop_at_operand,
                  int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->opts = opts;
    p->argc = argc;
    p->argv = argv;
    size_t k = 0;
    /* '+': stop at the first operand; ':': report a missing value as ':'. */
    if (stop_at_operand)
        p->shortopts[k++] = '+';
    p->shortopts[k++] = ':';
    const struct rt_opt *o;
    for (size_t i = 0; (o = opt_at(opts, i)) && k + 3 < sizeof p->shortopts; i++) {
        if (!o->letter)
            continue;
        p->shortopts[k++] = o->letter;
        if (o->value)
            p->shortopts[k++] = ':';
    }
    p->shortopts[k] = '\0';
    optind = 0; /* glibc: a full re-initialisation, so a second parse starts afresh */
    opterr = 0;
}

int rt_opt_next(struct rt_opt_parser *p)
{
    struct option longopts[RT_OPT_MAX + 1];
    const struct rt_opt *o;
    size_t n = 0;
    for (size_t i = 0; (o = opt_at(p->opts, i)); i++)
        longopts[n++] = (struct option){o->name, o->value ? required_argument : no_argument, NULL,
                                        (int)i + 256};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    int c = getopt_long(p->argc, p->argv, p->shortopts, longopts, NULL);
    p->name = NULL;
    p->value = optarg;
    if (c == -1) {
        p->first_operand = optind;
        return RT_OPT_END;
    }
    if (c == '?' || c == ':') {
        /* The option as written: "--bogus" (without "=value"), or "-x" out of "-qx". */
        const char *written = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "?";
        char shown[64];
        if (optopt > 0 && optopt < 256 && strncmp(written, "--", 2))
            snprintf(shown, sizeof shown, "-%c", optopt);
        else
            snprintf(shown, sizeof shown, "%.*s", (int)strcspn(written, "="), written);
        snprintf(p->err, sizeof p->err,
                 c == '?' ? "unknown option '%s'" : "option '%s' needs a value", shown);
        return RT_OPT_ERROR;
    }
    if (c < 256) { /* a short option: find its row */
        for (size_t i = 0; (o = opt_at(p->opts, i)); i++)
            if (o->letter == c)
                break;
    } else {
        o = opt_at(p->opts, (size_t)(c - 256));
    }
    if (!o) {
        snprintf(p->err, sizeof p->err, "unknown option");
        return RT_OPT_ERROR;
    }
    if (c < 256)
        snprintf(p->name_buf, sizeof p->name_buf, "-%c", c);
    else
        snprintf(p->name_buf, sizeof p->name_buf, "--%.60s", o->name);
    p->name = p->name_buf;
    return o->id;
}

/* "-q, --quiet", "--store DIR", "-o, --output FILE" */
static void left_column(const struct rt_opt *o, char *buf, size_t cap)
{
    int k = o->letter ? snprintf(buf, cap, "-%c, ", o->letter) : 0;
    snprintf(buf + k, cap - (size_t)k, "--%s%s%s", o->name, o->value ? " " : "",
             o->value ? o->value : "");
}

void rt_opt_help(const struct rt_opt *opts, FILE *f)
{
    fputs("Options:\n", f);
    const struct rt_opt *o;
    char left[96];
    int width = 0;
    for (size_t i = 0; (o = opt_at(opts, i)); i++) {
        left_column(o, left, sizeof left);
        int len = (int)strlen(left);
        width = len > width ? len : width;
    }
    width += 2;
    for (size_t i = 0; (o = opt_at(opts, i)); i++) {
        left_column(o, left, sizeof left);
        fprintf(f, "  %-*s", width, left);
        for (const char *h = o->help; *h;) {
            size_t line = strcspn(h, "\n");
            fwrite(h, 1, line, f);
            fputc('\n', f);
            h += line;
            if (*h == '\n' && *++h)
                fprintf(f, "  %-*s", width, "");
        }
    }
}
