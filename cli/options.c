/* The one option parser of the subcommands: each command describes its options in one table
 * (struct rt_cli_opt) that produces both the getopt_long parse and the "Options:" part of its
 * --help, so the two cannot drift apart. Usage errors are printed here, in one wording, naming
 * the option as the user wrote it. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#define HELP_ID (-1000)

static const struct rt_cli_opt help_opt = {HELP_ID, "help", 'h', NULL, "this text"};

/* The i-th option of spec, the implicit --help last; NULL past the end. */
static const struct rt_cli_opt *opt_at(const struct rt_cli_spec *spec, size_t i)
{
    size_t n = 0;
    while (spec->opts && spec->opts[n].name)
        n++;
    if (i < n)
        return &spec->opts[i];
    return i == n ? &help_opt : NULL;
}

void rt_cli_opts_begin(struct rt_cli_parser *p, const struct rt_cli_spec *spec, int argc,
                       char **argv)
{
    memset(p, 0, sizeof *p);
    p->spec = spec;
    p->argc = argc;
    p->argv = argv;
    size_t k = 0;
    /* '+': stop at the first operand; ':': report a missing value as ':'. */
    if (spec->stop_at_operand)
        p->shortopts[k++] = '+';
    p->shortopts[k++] = ':';
    const struct rt_cli_opt *o;
    for (size_t i = 0; (o = opt_at(spec, i)) && k + 3 < sizeof p->shortopts; i++) {
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

static int usage_stop(struct rt_cli_parser *p)
{
    p->status = RT_EXIT_USAGE;
    return RT_CLI_OPTS_STOP;
}

int rt_cli_opts_next(struct rt_cli_parser *p)
{
    struct option longopts[RT_CLI_MAX_OPTS + 1];
    const struct rt_cli_opt *o;
    size_t n = 0;
    for (size_t i = 0; (o = opt_at(p->spec, i)) && n < RT_CLI_MAX_OPTS; i++)
        longopts[n++] = (struct option){o->name, o->value ? required_argument : no_argument, NULL,
                                        (int)i + 256};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    int c = getopt_long(p->argc, p->argv, p->shortopts, longopts, NULL);
    p->name = NULL;
    p->value = optarg;
    if (c == -1) {
        p->first_operand = optind;
        return RT_CLI_OPTS_END;
    }
    if (c == '?' || c == ':') {
        /* The option as written: "--bogus" (without "=value"), or "-x" out of "-qx". */
        const char *written = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "?";
        char shown[64];
        if (optopt > 0 && optopt < 256 && strncmp(written, "--", 2))
            snprintf(shown, sizeof shown, "-%c", optopt);
        else
            snprintf(shown, sizeof shown, "%.*s", (int)strcspn(written, "="), written);
        if (c == '?')
            rt_cli_usage_error(p->spec->cmd, "unknown option '%s'", shown);
        else
            rt_cli_usage_error(p->spec->cmd, "option '%s' needs a value", shown);
        return usage_stop(p);
    }
    if (c < 256) { /* a short option: find its entry */
        for (size_t i = 0; (o = opt_at(p->spec, i)); i++)
            if (o->letter == c)
                break;
    } else {
        o = opt_at(p->spec, (size_t)(c - 256));
    }
    if (!o)
        return usage_stop(p);
    if (c < 256)
        snprintf(p->name_buf, sizeof p->name_buf, "-%c", c);
    else
        snprintf(p->name_buf, sizeof p->name_buf, "--%.60s", o->name);
    p->name = p->name_buf;
    if (o->id == HELP_ID) {
        rt_cli_opts_help(p->spec, stdout);
        p->status = RT_EXIT_OK;
        return RT_CLI_OPTS_STOP;
    }
    return o->id;
}

int rt_cli_opts_bad_value(struct rt_cli_parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    usage_stop(p);
    return rt_cli_usage_error(p->spec->cmd, "%s: %s", p->name ? p->name : "?", msg);
}

/* "-q, --quiet", "--store DIR", "-o, --output FILE" */
static void left_column(const struct rt_cli_opt *o, char *buf, size_t cap)
{
    int k = o->letter ? snprintf(buf, cap, "-%c, ", o->letter) : 0;
    snprintf(buf + k, cap - (size_t)k, "--%s%s%s", o->name, o->value ? " " : "",
             o->value ? o->value : "");
}

void rt_cli_opts_help(const struct rt_cli_spec *spec, FILE *f)
{
    if (spec->head)
        fputs(spec->head, f);
    fputs("Options:\n", f);
    const struct rt_cli_opt *o;
    char left[96];
    int width = 0;
    for (size_t i = 0; (o = opt_at(spec, i)); i++) {
        left_column(o, left, sizeof left);
        int len = (int)strlen(left);
        width = len > width ? len : width;
    }
    width += 2;
    for (size_t i = 0; (o = opt_at(spec, i)); i++) {
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
    if (spec->tail)
        fputs(spec->tail, f);
}
