/* runtrail baseline: learn a function's normal behaviour from invocations into a baseline file
 * (analysis/baseline.h) that a team reviews and commits, and show one. Learning skips
 * invocations with security flags unless --all, and says how many it used and skipped. */
#include "analysis/baseline.h"
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help_top[] =
    "usage: runtrail baseline learn [OPTIONS] [BUNDLE|DIR|REQUEST_ID...]\n"
    "       runtrail baseline show FILE\n"
    "\n"
    "A baseline is a profile of one function's normal behaviour, learned from its\n"
    "invocations: programs run (with argv patterns), destinations, file path patterns with\n"
    "access, environment variable names and keyed hashes, code digests per version, runtime,\n"
    "handler and memory, the input payload's shape, and ranges of duration, event count and\n"
    "bytes sent. It is a stable JSON document (sorted, one entry per line) meant to be\n"
    "reviewed and committed; runtrail check --baseline judges invocations against it.\n"
    "See runtrail-baseline(1) and docs/baseline.md.\n";

static const char learn_head[] =
    "usage: runtrail baseline learn [OPTIONS] [BUNDLE|DIR|REQUEST_ID...]\n"
    "\n"
    "Learn a baseline from bundle files, folders (searched recursively for *.rtb), request\n"
    "ids, and/or the catalog's invocations of --function in [--since, --until]. Invocations\n"
    "with a security flag (environ_read, mem_read, exec_tmp, exec_memfd, listening,\n"
    "privilege) are skipped unless --all; so are invocations of other functions. Prints on\n"
    "stderr how many invocations were used and skipped.\n"
    "\n";

enum { OPT_FUNCTION = 1, OPT_SINCE, OPT_UNTIL, OPT_OUTPUT, OPT_ALL, OPT_CACHE };
static const struct rt_cli_opt learn_opts[] = {
    {OPT_FUNCTION, "function", 'f', "F",
     "learn the catalog's invocations of F (and refuse bundles of\nother functions)"},
    {OPT_SINCE, "since", 0, "T", "with --function: invocations started at or after T"},
    {OPT_UNTIL, "until", 0, "T", "with --function: invocations started at or before T"},
    {OPT_OUTPUT, "output", 'o', "FILE", "write the baseline to FILE (default: standard output)"},
    {OPT_ALL, "all", 0, NULL, "also learn from invocations with security flags"},
    {OPT_CACHE, "cache", 0, "DIR",
     "where the catalog is (default $RUNTRAIL_CACHE, else\n${XDG_CACHE_HOME:-~/.cache}/runtrail)"},
    {0},
};
static const char learn_tail[] =
    "\n"
    "Exit status: 0 learned, 2 usage error, no invocation to learn from, or an unreadable\n"
    "or corrupt bundle (reported by name; the others are still learned).\n";
static const struct rt_cli_spec learn_spec = {"baseline learn", learn_head, learn_opts, learn_tail,
                                              false};

static const char show_head[] = "usage: runtrail baseline show FILE\n"
                                "\n"
                                "Validate a baseline file and print a summary of what it "
                                "holds, then the document.\n"
                                "\n";
static const struct rt_cli_opt no_opts[] = {{0}};
static const char show_tail[] = "\nExit status: 0 valid, 2 unreadable, corrupt or newer.\n";
static const struct rt_cli_spec show_spec = {"baseline show", show_head, no_opts, show_tail, false};

static void bundle_error(const char *path, int rc, const struct rt_errinfo *ei)
{
    char esc[4096], msg[600];
    rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
    rt_cli_error("%s: %s", esc, rt_errinfo_format(rc, ei, msg, sizeof msg));
}

/* Writes text to path through a temporary file and a rename, so a reader never sees half. */
static int write_file(const char *path, const char *text, size_t len)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return -1;
    snprintf(tmp, n + 16, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = -1;
    if (f) {
        bool ok = fwrite(text, 1, len, f) == len;
        ok = (fclose(f) == 0) && ok;
        rc = ok && rename(tmp, path) == 0 ? 0 : -1;
        if (rc)
            unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int learn(int argc, char **argv)
{
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &learn_spec, argc, argv);
    struct rt_cli_bundle_set set = {0};
    const char *output = NULL;
    bool all = false;
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        switch (id) {
        case RT_CLI_OPTS_STOP:
            return p.status;
        case OPT_FUNCTION:
            set.function = p.value;
            break;
        case OPT_SINCE:
            set.since = p.value;
            break;
        case OPT_UNTIL:
            set.until = p.value;
            break;
        case OPT_OUTPUT:
            output = p.value;
            break;
        case OPT_ALL:
            all = true;
            break;
        case OPT_CACHE:
            set.cache = p.value;
            break;
        }
    }
    set.operands = argv + p.first_operand;
    set.n_operands = argc - p.first_operand;
    if (!set.function && !set.n_operands)
        return rt_cli_usage_error("baseline learn", "give --function F or bundles to learn from");
    if ((set.since || set.until) && !set.function)
        return rt_cli_usage_error("baseline learn", "--since and --until need --function");
    struct rt_cli_paths paths = {0};
    int rc = rt_cli_bundle_set("baseline learn", &set, &paths);
    if (rc) {
        rt_cli_paths_free(&paths);
        return rc;
    }
    /* Each bundle's decode frees what the previous one grew: without this glibc returns the top
     * of the heap to the kernel after every bundle and asks for it again (brk churn was two
     * thirds of the time learning from 10,000 small bundles). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    struct rt_baseline *bl = NULL;
    size_t used = 0, flagged = 0, other = 0, bad = 0;
    uint32_t flags_seen = 0;
    for (size_t i = 0; i < paths.n; i++) {
        struct rt_bundle *b = NULL;
        struct rt_errinfo ei;
        int orc = rt_bundle_open_file(paths.v[i], &b, &ei);
        if (orc != RT_OK) {
            bundle_error(paths.v[i], orc, &ei);
            bad++;
            continue;
        }
        const char *fn = b->meta.function ? b->meta.function : "";
        if (!bl && !(bl = rt_baseline_new(set.function ? set.function : fn))) {
            rt_bundle_free(b);
            rt_cli_error("out of memory");
            rt_cli_paths_free(&paths);
            return RT_EXIT_USAGE;
        }
        uint32_t fl;
        if (strcmp(fn, bl->function))
            other++;
        else if (!all && rt_baseline_suspicious(b, &fl)) {
            flagged++;
            flags_seen |= fl;
        } else if (rt_baseline_learn(bl, b) == RT_OK)
            used++;
        else
            bad++;
        rt_bundle_free(b);
    }
    rt_cli_paths_free(&paths);
    char fn_esc[1024] = "";
    if (bl)
        rt_escape_buf(fn_esc, sizeof fn_esc, bl->function, strlen(bl->function), 0);
    char flag_names[256] = "";
    for (unsigned bit = 0; bit < 32; bit++)
        if ((flags_seen >> bit & 1) && rt_event_flag_name(bit)) {
            size_t at = strlen(flag_names);
            snprintf(flag_names + at, sizeof flag_names - at, "%s%s", at ? ", " : "",
                     rt_event_flag_name(bit));
        }
    fprintf(stderr,
            "runtrail baseline learn: %s: learned from %zu invocations; skipped %zu with security "
            "flags%s%s%s, %zu of other functions, %zu unreadable\n",
            fn_esc[0] ? fn_esc : "(no function)", used, flagged, flagged ? " (" : "", flag_names,
            flagged ? ")" : "", other, bad);
    if (!used) {
        rt_baseline_free(bl);
        rt_cli_error("baseline learn: no invocation to learn from");
        return RT_EXIT_USAGE;
    }
    char *json;
    size_t len;
    if (rt_baseline_to_json(bl, &json, &len) != RT_OK) {
        rt_baseline_free(bl);
        rt_cli_error("out of memory");
        return RT_EXIT_USAGE;
    }
    rt_baseline_free(bl);
    rc = bad ? RT_EXIT_USAGE : RT_EXIT_OK;
    if (output) {
        if (write_file(output, json, len)) {
            char esc[4096];
            rt_escape_buf(esc, sizeof esc, output, strlen(output), 0);
            rt_cli_error("%s: %s", esc, strerror(errno));
            rc = RT_EXIT_USAGE;
        }
    } else {
        fwrite(json, 1, len, stdout);
    }
    free(json);
    return rc;
}

/* Loads path and prints the load error naming it; NULL on error. */
static struct rt_baseline *load(const char *path)
{
    struct rt_baseline *bl = NULL;
    struct rt_errinfo ei;
    int rc = rt_baseline_load(path, &bl, &ei);
    if (rc != RT_OK) {
        char esc[4096];
        rt_escape_buf(esc, sizeof esc, path, strlen(path), 0);
        rt_cli_error("%s: %s: %s", esc, rt_strerror(rc), ei.detail);
        return NULL;
    }
    return bl;
}

static int show(int argc, char **argv)
{
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &show_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;)
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
    if (argc - p.first_operand != 1)
        return rt_cli_usage_error("baseline show", "give one baseline FILE");
    struct rt_baseline *bl = load(argv[p.first_operand]);
    if (!bl)
        return RT_EXIT_USAGE;
    printf("function     %s\n", bl->function);
    printf("learned from %" PRIu64 " invocations\n", bl->invocations);
    printf("programs     %zu (%zu argv patterns)\n", rt_strset_count(bl->programs),
           rt_strset_count(bl->argv));
    printf("destinations %zu peers, %zu hosts, %zu HTTP lines\n", rt_strset_count(bl->peers),
           rt_strset_count(bl->hosts), rt_strset_count(bl->http));
    printf("files        %zu path patterns (%zu with access)\n", rt_strset_count(bl->paths),
           rt_strset_count(bl->files));
    printf("env          %zu variables\n", rt_strset_count(bl->env_names));
    printf("code         %zu versions\n", rt_strset_count(bl->versions));
    printf("payload      %zu key paths\n", rt_strset_count(bl->payload_paths));
    for (int i = 0; i < RT_RANGE__COUNT; i++)
        if (bl->range[i].set)
            printf("%-12s min %" PRIu64 ", p95 %" PRIu64 ", max %" PRIu64 "\n",
                   rt_baseline_range_names[i], bl->range[i].min, bl->range[i].p95,
                   bl->range[i].max);
    char *json;
    size_t len;
    int rc = rt_baseline_to_json(bl, &json, &len);
    rt_baseline_free(bl);
    if (rc != RT_OK)
        return RT_EXIT_USAGE;
    putchar('\n');
    fwrite(json, 1, len, stdout);
    free(json);
    return RT_EXIT_OK;
}

RT_COMMAND(baseline, "learn a function's normal behaviour; show a baseline file")
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(help_top, argc < 2 ? stderr : stdout);
        return argc < 2 ? RT_EXIT_USAGE : RT_EXIT_OK;
    }
    if (!strcmp(argv[1], "learn"))
        return learn(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show"))
        return show(argc - 1, argv + 1);
    return rt_cli_usage_error("baseline", "unknown subcommand (learn, show)");
}
