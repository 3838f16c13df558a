/* The CLI side of the one option parser (formats/options.h): prints a command's --help (its
 * head, the option list generated from its table, its tail) and usage errors in one wording,
 * naming the option as the user wrote it. */
#include "cli/cli.h"

#include <stdarg.h>

void rt_cli_opts_begin(struct rt_cli_parser *p, const struct rt_cli_spec *spec, int argc,
                       char **argv)
{
    p->spec = spec;
    p->status = RT_EXIT_OK;
    rt_opt_begin(&p->opt, spec->opts, spec->stop_at_operand, argc, argv);
}

int rt_cli_opts_next(struct rt_cli_parser *p)
{
    int id = rt_opt_next(&p->opt);
    p->value = p->opt.value;
    p->first_operand = p->opt.first_operand;
    if (id == RT_OPT_HELP) {
        rt_cli_opts_help(p->spec, stdout);
        p->status = RT_EXIT_OK;
        return RT_CLI_OPTS_STOP;
    }
    if (id == RT_OPT_ERROR) {
        p->status = rt_cli_usage_error(p->spec->cmd, "%s", p->opt.err);
        return RT_CLI_OPTS_STOP;
    }
    return id;
}

int rt_cli_opts_bad_value(struct rt_cli_parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->status = RT_EXIT_USAGE;
    return rt_cli_usage_error(p->spec->cmd, "%s: %s", p->opt.name ? p->opt.name : "?", msg);
}

void rt_cli_opts_help(const struct rt_cli_spec *spec, FILE *f)
{
    if (spec->head)
        fputs(spec->head, f);
    rt_opt_help(spec->opts, f);
    if (spec->tail)
        fputs(spec->tail, f);
}
