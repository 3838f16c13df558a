/* The one command-line option engine: a command describes its options in one table of
 * struct rt_opt rows, which produces both the getopt_long parse and the "Options:" list of its
 * --help, so the two cannot drift apart. Library code (no printing of errors, no exit): the
 * CLI's wrapper (cli/cli.h, rt_cli_opts_*) prints help and usage errors; replay/invoke.c
 * parses the options invoke and emulate share with it. libc only. */
#ifndef RUNTRAIL_FORMATS_OPTIONS_H
#define RUNTRAIL_FORMATS_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

/* One option. A table ends with a row whose name is NULL ({0}). */
struct rt_opt {
    int id;            /* > 0, returned by rt_opt_next */
    const char *name;  /* long name without "--" */
    char letter;       /* short option letter, 0 for none */
    const char *value; /* the value's name in --help ("DIR"); NULL for a flag */
    const char *help;  /* the help line; '\n' continues it on the next line, aligned */
};

enum {
    RT_OPT_END = 0,    /* no more options: operands start at p->first_operand */
    RT_OPT_HELP = -1,  /* -h or --help (added to every table) */
    RT_OPT_ERROR = -2, /* unknown option or missing value: p->err says which */
};
#define RT_OPT_MAX 40 /* rows per table */

struct rt_opt_parser {
    const struct rt_opt *opts;
    int argc;
    char **argv;
    const char *value; /* the current option's value (NULL for a flag) */
    const char *name;  /* the current option as "--store" or "-q", for messages */
    int first_operand; /* after RT_OPT_END: index of the first operand in argv */
    char err[160];     /* after RT_OPT_ERROR: "unknown option '--x'" */
    char shortopts[2 * RT_OPT_MAX + 4];
    char name_buf[80];
};

/* Starts parsing argv (argv[0] = the command's name) against opts. With stop_at_operand,
 * options end at the first operand (what follows is a command line of its own); otherwise
 * options and operands may mix. "--" always ends the options. Not reentrant (getopt's state
 * is global): one parse at a time. */
void rt_opt_begin(struct rt_opt_parser *p, const struct rt_opt *opts, bool stop_at_operand,
                  int argc, char **argv);
/* The next option's id (p->value, p->name set), or RT_OPT_END / RT_OPT_HELP / RT_OPT_ERROR. */
int rt_opt_next(struct rt_opt_parser *p);
/* Writes the "Options:" list of opts (with -h, --help) to f: one row per option, the help
 * column aligned. */
void rt_opt_help(const struct rt_opt *opts, FILE *f);

#endif
