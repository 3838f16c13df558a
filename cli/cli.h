/* Shared by the runtrail subcommands: the command declarator, option helpers and the one
 * place that prints errors and chooses exit codes.
 *
 * Each subcommand lives in cli/cmd_NAME.c and is defined with
 *     RT_COMMAND(name, "one-line summary")
 *     { ... return RT_EXIT_OK; }
 * The build collects these lines (sorted) into the dispatch table, so the table, `runtrail
 * --help` and the files cannot drift apart. A command receives argv[0] = its own name. */
#ifndef RUNTRAIL_CLI_CLI_H
#define RUNTRAIL_CLI_CLI_H

#include "formats/options.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RT_COMMAND(name, summary)                                                                  \
    int cmd_##name(int argc, char **argv);                                                         \
    int cmd_##name(int argc, char **argv)

enum rt_exit {
    RT_EXIT_OK = 0,         /* success, nothing found */
    RT_EXIT_FINDINGS = 1,   /* check/diff/verify found something; invoke: a failed invocation */
    RT_EXIT_USAGE = 2,      /* usage or input error */
    RT_EXIT_NOT_STORED = 3, /* invoke/emulate: the store refused bundles (kept in the spool) */
};

/* Prints "runtrail: " + message + newline on stderr. */
void rt_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "runtrail CMD: message\nTry 'runtrail CMD --help'." and returns RT_EXIT_USAGE. */
int rt_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv[1..] asks for help (-h/--help as the first argument). */
bool rt_cli_wants_help(int argc, char **argv);
/* Prints the man page-like help for cmd (docs/man/runtrail-CMD.1 summary is compiled in by
 * each command itself; this prints `text` to stdout) and returns RT_EXIT_OK. */
int rt_cli_help(const char *text);

/* ---- options: one table per subcommand (formats/options.h), parsed by getopt_long ----
 *
 *     enum { OPT_STORE = 1, OPT_QUIET };
 *     static const struct rt_opt options[] = {
 *         {OPT_STORE, "store", 0, "DIR", "where the bundle goes"},
 *         {OPT_QUIET, "quiet", 'q', NULL, "do not print the bundle path"},
 *         {0},
 *     };
 *     static const struct rt_cli_spec spec = {"record", head_text, options, tail_text, true};
 *     struct rt_cli_parser p;
 *     rt_cli_opts_begin(&p, &spec, argc, argv);
 *     for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;)
 *         switch (id) {
 *         case RT_CLI_OPTS_STOP: return p.status;     (--help printed, or a usage error)
 *         case OPT_STORE: store = p.value; break;
 *         ...
 *         }
 *     operands: argv[p.first_operand .. argc-1]
 *
 * -h/--help is part of every table: it prints the help text, made of the spec's head, the
 * "Options:" list generated from the table, and its tail. */
/* The first version of this parser named the row type struct rt_cli_opt: same type. */
#define rt_cli_opt rt_opt

struct rt_cli_spec {
    const char *cmd;           /* "record": for messages */
    const char *head;          /* usage line and description, before "Options:" */
    const struct rt_opt *opts; /* ends with {0} */
    const char *tail;          /* after the option list (environment, exit status); or NULL */
    bool stop_at_operand;      /* options end at the first operand (the rest is a command
                                * line); otherwise options and operands may mix */
};

enum { RT_CLI_OPTS_END = RT_OPT_END, RT_CLI_OPTS_STOP = -100 };

struct rt_cli_parser {
    const struct rt_cli_spec *spec;
    const char *value; /* the current option's value (NULL for a flag) */
    int first_operand; /* after RT_CLI_OPTS_END: index of the first operand in argv */
    int status;        /* after RT_CLI_OPTS_STOP: the command's exit status */
    struct rt_opt_parser opt;
};

/* Starts parsing argv (argv[0] = the command's name) with spec. */
void rt_cli_opts_begin(struct rt_cli_parser *p, const struct rt_cli_spec *spec, int argc,
                       char **argv);
/* The next option's id (p->value holds its value); RT_CLI_OPTS_END when the options are over
 * (p->first_operand set); RT_CLI_OPTS_STOP after printing the help (p->status 0) or a usage
 * error that names the option (p->status 2). */
int rt_cli_opts_next(struct rt_cli_parser *p);
/* Prints "runtrail CMD: OPTION: message" and the --help hint for a value that does not parse,
 * sets p->status and returns RT_EXIT_USAGE (`return rt_cli_opts_bad_value(&p, ...);`). */
int rt_cli_opts_bad_value(struct rt_cli_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes the help text of spec (head, generated option list, tail) to f. */
void rt_cli_opts_help(const struct rt_cli_spec *spec, FILE *f);

/* Indexes the bundles a recording command wrote into a local folder store since since_wall_ns
 * (Unix ns) into the default catalog; S3 stores are left to `pull`. Errors are printed as
 * warnings prefixed with cmd, never fatal. Returns the number indexed, or -1 on a failure. */
int rt_cli_index_recorded(const char *cmd, const char *store_url, int64_t since_wall_ns);

/* After invoke/emulate: when n bundles (n > 0) are in the recorder's spool folder, says so on
 * stderr — the store, where they are kept, and what usually causes it. */
void rt_cli_report_spooled(const char *cmd, const char *store_url, size_t n, const char *spool_dir,
                           bool user_credentials);

/* --json output: a string for a JSON object (NULL gives null; text that is not UTF-8 is given
 * in its escaped form), and one object printed as a compact ASCII line on stdout (freed). */
json_t *rt_cli_json_str(const char *s);
void rt_cli_json_line(json_t *obj);

/* ---- bundle arguments (cli/bundle_args.c): a file, '-' (stdin) or a request id ---- */

/* A list of bundle paths (malloc'ed strings). Zeroed is empty. */
struct rt_cli_paths {
    char **v;
    size_t n, cap;
};
int rt_cli_paths_add(struct rt_cli_paths *p, const char *path); /* 0, or -1 out of memory */
void rt_cli_paths_free(struct rt_cli_paths *p);
/* An argument that is not a file is a request id when it looks like one: not '-', no '/',
 * not *.rtb. */
bool rt_cli_is_request_id(const char *arg);
/* Adds the bundle of arg to *out: the path itself, or for a request id every bundle the
 * catalog of cache (NULL: the default cache) has for it, oldest first. Returns 0, or
 * RT_EXIT_USAGE after a message naming arg (no catalog, unknown request id). */
int rt_cli_bundle_arg(const char *arg, const char *cache, struct rt_cli_paths *out);

/* ---- sets of bundles (cli/bundle_set.c): baseline learn, check ---- */

/* Which invocations a command works on: operands (bundle files, folders searched recursively
 * for *.rtb in name order, request ids) and/or the catalog's invocations of function (since,
 * until as for ls; NULL: open). Adds their paths to *out. Returns 0, or RT_EXIT_USAGE after a
 * message prefixed with cmd. */
struct rt_cli_bundle_set {
    char **operands;
    int n_operands;
    const char *function, *since, *until, *cache;
};
int rt_cli_bundle_set(const char *cmd, const struct rt_cli_bundle_set *set,
                      struct rt_cli_paths *out);

/* ---- the catalog filters of ls (cli/catalog_filter.c): ls, export ---- */

#include "store/catalog.h"

/* ls's filters as parsed (store/catalog_filter.c does the parsing, for the viewer's prompt
 * too). Initialise with rt_cli_filter_init. */
struct rt_cli_filter {
    struct rt_catalog_filter_args a; /* the filter: a.f */
    const char *cache;               /* --cache, or NULL */
    bool any;                        /* a filter was given (--cache is none) */
};
void rt_cli_filter_init(struct rt_cli_filter *flt);
/* If argv[*i] is one of ls's filter options (--function --since --until --status --path --dest
 * --exec --aws --request-id --limit --findings --cache), takes it and its value (advancing *i)
 * and returns 1; returns 0 when it is none of them; -1 after a usage message prefixed with cmd
 * (a missing or bad value). */
int rt_cli_filter_arg(const char *cmd, struct rt_cli_filter *flt, int argc, char **argv, int *i);
/* Calls fn for each invocation of the catalog (of flt->cache, else the default; its folder
 * is written to dir) that matches, oldest first, as `ls` lists them. Returns RT_EXIT_OK, or
 * RT_EXIT_USAGE after a message naming the catalog. */
int rt_cli_filter_query(const char *cmd, const struct rt_cli_filter *flt,
                        int (*fn)(const struct rt_catalog_row *row, void *arg), void *arg,
                        char *dir, size_t dir_cap);

/* `runtrail diff A --baseline FILE | --function F` (cli/diff_baseline.c): A's deviations from
 * the baseline in FILE, or from one learned from the catalog's other invocations of function.
 * Returns the exit status (0 none, 1 deviations, 2 error, printed). */
int rt_cli_diff_baseline(const char *arg, const char *baseline_path, const char *function,
                         const char *cache, bool json);

/* Whether stdout is a terminal (for colour, progress bars, paging decisions). */
bool rt_cli_stdout_is_tty(void);

/* Calls ops->file for PATH if it is a file, or for every *.rtb file below it if it is a folder
 * (name order per folder; links followed, each folder entered once by device and inode, so a
 * link loop ends; hidden names skipped). ops->error gets what could not be read (a missing
 * PATH, an unreadable folder, a dangling *.rtb link) with the reason. Returns that count. */
struct rt_cli_walk_ops {
    void (*file)(const char *path, void *arg);
    void (*error)(const char *path, const char *reason, void *arg);
};
int rt_cli_walk_bundles(const char *path, const struct rt_cli_walk_ops *ops, void *arg);

#endif
