/* runtrail ls: lists indexed invocations from the catalog, filtered by function, time window,
 * status, a path they touched, a destination they talked to, a program they ran or request
 * id; as a table (time, function, request id, duration, status, events, destinations, flags,
 * and with -l where the bundle is), as bundle paths only (--paths, for `show $(ls --paths)`)
 * or as JSON lines. Strings come from captured data, so the table escapes them and JSON is
 * ASCII-only. Like grep, it exits 1 when nothing matched. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/escape.h"
#include "store/catalog.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: runtrail ls [--function F] [--since T] [--until T] [--status S] [--path GLOB]\n"
    "                   [--dest HOST|IP[:PORT]] [--exec PATH] [--aws SERVICE:ACTION]\n"
    "                   [--request-id ID]...\n"
    "                   [--limit N] [--findings] [-l | --paths | --json] [--cache DIR]\n"
    "\n"
    "List the invocations in the catalog (bundles pulled, recorded or indexed), oldest\n"
    "first, as a table or as JSON lines. Filters combine (all must match):\n"
    "\n"
    "  --function F       this function\n"
    "  --since T          started at or after T; --until T: at or before T\n"
    "                     T is ISO 8601 (2026-11-26T10:00Z) or relative (90s, 15m, 2h, 7d)\n"
    "  --status S         ok, error, timeout, crash or unknown\n"
    "  --path GLOB        opened, created, renamed... a file matching GLOB (* ? [..];\n"
    "                     * also matches '/'), e.g. '/etc/*' or '*id_rsa*'\n"
    "  --dest D           talked to D: a host name, an IP, HOST:PORT, IP:PORT or\n"
    "                     [IPv6]:PORT (connected to it, accepted from it, bound on it)\n"
    "  --exec PATH        ran PATH (a glob when it has a '/', else matched by name)\n"
    "  --aws ACTION       made an AWS API call ACTION, service:Action as in aws_call\n"
    "                     events (a glob): s3:GetObject, 'iam:*', '*:Delete*'\n"
    "  --request-id ID    this request id (repeatable)\n"
    "  --limit N          at most N rows\n"
    "  --findings         only invocations with findings stored by runtrail check\n"
    "  -l                 the table with one more column, PATH: where the bundle is\n"
    "  --paths            only the bundle paths, one per line (runtrail show $(runtrail\n"
    "                     ls --paths --status crash))\n"
    "  --json             one JSON object per line (ASCII only)\n"
    "  --cache DIR        cache folder (default $RUNTRAIL_CACHE, else\n"
    "                     ${XDG_CACHE_HOME:-~/.cache}/runtrail)\n"
    "  -h, --help         this help\n"
    "\n"
    "Columns: TIME (UTC start), FUNCTION, REQUEST ID, DURATION, STATUS, EVENTS,\n"
    "DESTINATIONS (outbound host:port, first few), FLAGS (cold = cold start, dropped =\n"
    "events lost, then the event flags seen: exec_tmp, environ_read, privilege, ..., then\n"
    "finding:RULE for each rule runtrail check found, e.g. finding:new_destination), with -l\n"
    "PATH (the bundle file; its S3 key when it is not in the cache, '-' when neither).\n"
    "\n"
    "Exit status: 0 at least one invocation listed, 1 nothing matched (like grep), 2 usage\n"
    "error or unreadable catalog.\n"
    "See runtrail-ls(1).\n";

enum ls_format { LS_TABLE, LS_LONG, LS_PATHS, LS_JSON };

struct out {
    enum ls_format format;
    size_t rows;
};

/* Where a row's bundle is: its file, else its S3 key, else "-". */
static const char *bundle_place(const struct rt_catalog_row *r)
{
    if (r->path && r->path[0])
        return r->path;
    return r->key && r->key[0] ? r->key : "-";
}

static void fmt_time(int64_t ns, char *buf, size_t cap)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", base, (int)((ns % 1000000000) / 1000000));
}

/* Flags that say how an event was attributed, not that it deserves a look: left out of the
 * table so that its FLAGS column stays a list of findings (--json keeps every flag). */
#define BOOKKEEPING_FLAGS (RT_EF_OUTSIDE | RT_EF_CREATE | RT_EF_STILL_OPEN)

static void fmt_flags(const struct rt_catalog_row *r, uint32_t hide, bool with_findings, char *buf,
                      size_t cap)
{
    static const char *const names[] = {
#define _(id, bit, name) [bit] = name,
        RT_EVENT_FLAGS(_)
#undef _
    };
    size_t n = 0;
    buf[0] = '\0';
#define ADD(s)                                                                                     \
    do {                                                                                           \
        int w_ = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", s);                              \
        if (w_ > 0 && (size_t)w_ < cap - n)                                                        \
            n += (size_t)w_;                                                                       \
    } while (0)
    if (r->cold_start)
        ADD("cold");
    if (r->dropped)
        ADD("dropped");
    for (unsigned b = 0; b < sizeof names / sizeof names[0]; b++)
        if ((r->event_flags & ~hide & (1u << b)) && names[b])
            ADD(names[b]);
    if (with_findings) {
        char rule[80];
        for (const char *p = r->findings; *p;) {
            size_t len = strcspn(p, ",");
            snprintf(rule, sizeof rule, "finding:%.*s", (int)(len < 64 ? len : 64), p);
            ADD(rule);
            p += len + (p[len] == ',');
        }
    }
#undef ADD
    if (!n)
        snprintf(buf, cap, "-");
}

static int print_row(const struct rt_catalog_row *r, void *arg)
{
    struct out *o = arg;
    char when[40], flags[1024];
    fmt_time(r->start_ns, when, sizeof when);
    fmt_flags(r, o->format == LS_JSON ? 0 : BOOKKEEPING_FLAGS, o->format != LS_JSON, flags,
              sizeof flags);
    const char *status = rt_status_name((unsigned)r->status);
    if (o->format == LS_PATHS) {
        /* The request id in a bundle's name comes from the function: raw into a pipe (so the
         * path opens), escaped on a terminal. */
        const char *place = bundle_place(r);
        if (rt_cli_stdout_is_tty())
            rt_escape_fputs(stdout, place, strlen(place), 0);
        else
            fputs(place, stdout);
        putchar('\n');
    } else if (o->format == LS_JSON) {
        json_t *j = json_object();
        json_object_set_new(j, "time", json_string(when));
        json_object_set_new(j, "start_ns", json_integer(r->start_ns));
        json_object_set_new(j, "function", rt_cli_json_str(r->function));
        json_object_set_new(j, "version", rt_cli_json_str(r->version));
        json_object_set_new(j, "request_id", rt_cli_json_str(r->request_id));
        json_object_set_new(j, "sandbox", rt_cli_json_str(r->sandbox));
        json_object_set_new(j, "seq", json_integer((json_int_t)r->seq));
        json_object_set_new(j, "duration_ms", json_real((double)r->duration_ns / 1e6));
        json_object_set_new(j, "status", json_string(status ? status : "unknown"));
        json_object_set_new(j, "error_type", rt_cli_json_str(r->error_type));
        json_object_set_new(j, "cold_start", json_boolean(r->cold_start));
        json_object_set_new(j, "events", json_integer((json_int_t)r->n_events));
        json_object_set_new(j, "bytes_out", json_integer((json_int_t)r->bytes_out));
        json_object_set_new(j, "destinations", rt_cli_json_str(r->destinations));
        json_object_set_new(j, "flags", json_string(flags));
        json_t *fs = json_array();
        for (const char *p = r->findings; *p;) {
            size_t len = strcspn(p, ",");
            json_array_append_new(fs, json_stringn(p, len));
            p += len + (p[len] == ',');
        }
        json_object_set_new(j, "findings", fs);
        json_object_set_new(j, "env_digest", rt_cli_json_str(r->env_digest));
        json_object_set_new(j, "code_digest", rt_cli_json_str(r->code_digest));
        json_object_set_new(j, "digest", rt_cli_json_str(r->digest));
        json_object_set_new(j, "key", rt_cli_json_str(r->key));
        json_object_set_new(j, "path", rt_cli_json_str(r->path));
        json_object_set_new(j, "verified", json_boolean(r->verified));
        rt_cli_json_line(j);
    } else {
        bool long_format = o->format == LS_LONG;
        if (o->rows == 0) {
            printf("%-24s %-20s %-36s %10s %-7s %6s  %-30s ", "TIME", "FUNCTION", "REQUEST ID",
                   "DURATION", "STATUS", "EVENTS", "DESTINATIONS");
            if (long_format)
                printf("%-20s %s\n", "FLAGS", "PATH");
            else
                printf("%s\n", "FLAGS");
        }
        char fn[64], rid[64], dest[96];
        rt_escape_buf(fn, sizeof fn, r->function ? r->function : "-",
                      strlen(r->function ? r->function : "-"), 0);
        rt_escape_buf(rid, sizeof rid, r->request_id ? r->request_id : "-",
                      strlen(r->request_id ? r->request_id : "-"), 0);
        rt_escape_buf(dest, sizeof dest, r->destinations[0] ? r->destinations : "-",
                      strlen(r->destinations[0] ? r->destinations : "-"), 0);
        char dur[32];
        snprintf(dur, sizeof dur, "%.1fms", (double)r->duration_ns / 1e6);
        printf("%-24s %-20s %-36s %10s %-7s %6llu  %-30s ", when, fn, rid, dur,
               status ? status : "unknown", (unsigned long long)r->n_events, dest);
        if (long_format) {
            const char *place = bundle_place(r);
            char where[PATH_MAX + 64];
            rt_escape_buf(where, sizeof where, place, strlen(place), 0);
            printf("%-20s %s\n", flags, where);
        } else {
            printf("%s\n", flags);
        }
    }
    o->rows++;
    return 0;
}

RT_COMMAND(ls, "list indexed invocations, filtered by function, time, path, destination...")
{
    if (rt_cli_wants_help(argc, argv))
        return rt_cli_help(help);
    struct rt_cli_filter flt;
    rt_cli_filter_init(&flt);
    struct out o = {LS_TABLE, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-')
            return rt_cli_usage_error("ls", "unexpected argument '%s'", a);
        if (!strcmp(a, "--json") || !strcmp(a, "-l") || !strcmp(a, "--paths")) {
            enum ls_format want = !strcmp(a, "--json") ? LS_JSON : a[1] == 'l' ? LS_LONG : LS_PATHS;
            if (o.format != LS_TABLE && o.format != want)
                return rt_cli_usage_error("ls", "-l, --paths and --json exclude each other");
            o.format = want;
            continue;
        }
        int r = rt_cli_filter_arg("ls", &flt, argc, argv, &i);
        if (r < 0)
            return RT_EXIT_USAGE;
        if (r == 0)
            return rt_cli_usage_error("ls", "unknown option '%s'", a);
    }
    char dir[PATH_MAX];
    int rc = rt_cli_filter_query("ls", &flt, print_row, &o, dir, sizeof dir);
    if (rc != RT_EXIT_OK)
        return rc;
    if (o.rows == 0) {
        if (o.format != LS_JSON && o.format != LS_PATHS)
            fprintf(stderr, "runtrail: no invocations match (catalog %s/catalog.sqlite)\n", dir);
        return RT_EXIT_FINDINGS; /* like grep: nothing matched */
    }
    return RT_EXIT_OK;
}
