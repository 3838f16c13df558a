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
    RT_EXIT_OK = 0,       /* success, nothing found */
    RT_EXIT_FINDINGS = 1, /* check/diff/verify found something; invoke: a failed invocation */
    RT_EXIT_USAGE = 2,    /* usage or input error */
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

/* --json output: a string for a JSON object (NULL gives null; text that is not UTF-8 is given
 * in its escaped form), and one object printed as a compact ASCII line on stdout (freed). */
json_t *rt_cli_json_str(const char *s);
void rt_cli_json_line(json_t *obj);

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
