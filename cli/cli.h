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

/* Whether stdout is a terminal (for colour, progress bars, paging decisions). */
bool rt_cli_stdout_is_tty(void);

#endif
