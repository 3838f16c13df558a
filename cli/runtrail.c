/* runtrail: the command-line entry point. Dispatches to one function per subcommand through a
 * sorted table generated from the RT_COMMAND lines of cli/cmd_*.c, and prints the top-level
 * help and version. */
#include "cli/cli.h"
#include "recorder/extension/lazy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RT_COMMAND_ENTRY(name, summary) int cmd_##name(int argc, char **argv);
#include "cli_commands.def"
#undef RT_COMMAND_ENTRY

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
#define RT_COMMAND_ENTRY(name, summary) {#name, cmd_##name, summary},
#include "cli_commands.def"
#undef RT_COMMAND_ENTRY
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

void rt_cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("runtrail: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int rt_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "runtrail %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'runtrail %s --help'.\n", cmd);
    return RT_EXIT_USAGE;
}

bool rt_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return false;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    }
    return false;
}

int rt_cli_help(const char *text)
{
    fputs(text, stdout);
    return RT_EXIT_OK;
}

bool rt_cli_stdout_is_tty(void)
{
    return isatty(STDOUT_FILENO) == 1;
}

static const struct command *find_command(const char *name)
{
    size_t lo = 0, hi = N_COMMANDS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, commands[mid].name);
        if (c == 0)
            return &commands[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: runtrail COMMAND [ARGS...]\n"
               "       runtrail help COMMAND | runtrail COMMAND --help | runtrail --version\n\n"
               "A flight recorder for short-lived cloud function invocations.\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nExit status: 0 ok, 1 findings or differences, 2 usage or input error.\n"
               "Each command has a man page: man runtrail-COMMAND (docs/man/).\n");
    return f == stdout ? RT_EXIT_OK : RT_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* libcurl is loaded when first called (recorder/extension/curl_lazy.c, linked into this
     * program in its stead): most commands never call it. What is lost when it cannot be: */
    rt_lazy_set_program("runtrail", "pull, S3 stores, export to S3, the Lambda API calls and "
                                    "the emulator's Telemetry API fail");
    if (argc < 2)
        return usage(stderr);
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h"))
        return usage(stdout);
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("runtrail %s\n", RT_VERSION);
        return RT_EXIT_OK;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3)
            return usage(stdout);
        const struct command *c = find_command(argv[2]);
        if (!c) {
            rt_cli_error("unknown command '%s'; see 'runtrail --help'", argv[2]);
            return RT_EXIT_USAGE;
        }
        char *help_argv[] = {argv[2], "--help", NULL};
        return c->fn(2, help_argv);
    }
    const struct command *c = find_command(name);
    if (!c) {
        rt_cli_error("unknown command '%s'; see 'runtrail --help'", name);
        return RT_EXIT_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}
