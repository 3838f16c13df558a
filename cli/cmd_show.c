/* runtrail show: prints one bundle for a human (a header with the META, code, environment,
 * headers, payload summaries, then an strace-like timeline of events and log lines) or, with
 * --json, as JSON Lines (meta first). Every captured string is escaped before it reaches the
 * terminal; JSON is ASCII-only. */
#include "analysis/analysis.h"
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/escape.h"
#include "formats/event.h"
#include "formats/render.h"

#include <jansson.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help_head[] =
    "usage: runtrail show BUNDLE|REQUEST_ID... [OPTIONS]\n"
    "\n"
    "Print trace bundles (.rtb): a header with the invocation's metadata, code and\n"
    "environment digests, headers and payload summaries, then an strace-like timeline:\n"
    "    +12.345ms  pid 7  openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY) = 3\n"
    "Captured strings are escaped (\\x1b, \\n, \\\\); nothing raw reaches the terminal.\n"
    "BUNDLE '-' reads the bundle from standard input. An argument that is not a file (no\n"
    "'/', not *.rtb) is a request id, looked up in the catalog (runtrail ls shows them).\n"
    "With several bundles each starts with a line '==> PATH <==', as head(1) does.\n"
    "\n";

enum { OPT_JSON = 1, OPT_KIND, OPT_OP, OPT_FLAG, OPT_FROM, OPT_TO, OPT_CACHE };
static const struct rt_opt options[] = {
    {OPT_JSON, "json", 0, NULL,
     "one JSON object per line (ASCII only): meta first, then code, env,\n"
     "header, payload records, then event and log records in time order;\n"
     "with several bundles each starts with {\"record\":\"bundle\",\"path\":..}"},
    {OPT_KIND, "kind", 0, "K[,K...]",
     "only events of these kinds: proc, file, net, sec, mark, log"},
    {OPT_OP, "op", 0, "OP[,OP...]",
     "only events of these operations (openat, connect, execve, ...)"},
    {OPT_FLAG, "flag", 0, "F[,F...]",
     "only events with one of these flags (environ_read, exec_tmp, ...)"},
    {OPT_FROM, "from", 0, "MS", "only events at or after MS milliseconds from the start (12.5)"},
    {OPT_TO, "to", 0, "MS", "only events at or before MS milliseconds from the start"},
    {OPT_CACHE, "cache", 0, "DIR",
     "where the catalog is, for request ids (default $RUNTRAIL_CACHE,\n"
     "else ${XDG_CACHE_HOME:-~/.cache}/runtrail)"},
    {0},
};

static const char help_tail[] =
    "\n"
    "Exit status: 0 ok, 2 usage error, unreadable bundle or unknown request id (the other\n"
    "bundles are still shown).\n"
    "See runtrail-show(1) and docs/format.md.\n";

static const struct rt_cli_spec show_spec = {"show", help_head, options, help_tail, false};

#define SHORT_HEX 16

/* A time offset for --from/--to: milliseconds from the invocation start, as `show` prints
 * them ("12.5", "+12.345ms", "-3ms"). */
static int parse_ms(const char *text, int64_t *ns)
{
    char *end = NULL;
    double ms = strtod(text, &end);
    if (end == text || (*end && strcmp(end, "ms")) || ms != ms || ms > 9e12 || ms < -9e12)
        return -1;
    *ns = (int64_t)(ms * 1e6);
    return 0;
}

/* Adds one filter option (id from the options table) to f; a usage error names the value. */
static int add_filter(struct rt_cli_parser *p, int id, struct rt_filter *f)
{
    const char *bad = NULL;
    char *list = (char *)p->value; /* getopt's value points into argv: cut in place */
    switch (id) {
    case OPT_KIND:
        if (rt_filter_add_kinds(f, list, &bad))
            return rt_cli_opts_bad_value(p, "unknown kind '%s' (proc, file, net, sec, mark, log)",
                                         bad);
        break;
    case OPT_OP:
        if (rt_filter_add_ops(f, list, &bad))
            return rt_cli_opts_bad_value(p, "unknown operation '%s'", bad);
        break;
    case OPT_FLAG:
        if (rt_filter_add_flags(f, list, &bad))
            return rt_cli_opts_bad_value(p, "unknown flag '%s'", bad);
        break;
    default: { /* OPT_FROM, OPT_TO */
        bool from = id == OPT_FROM;
        if (parse_ms(p->value, from ? &f->from_ns : &f->to_ns))
            return rt_cli_opts_bad_value(p, "milliseconds from the start (12.5), not '%s'",
                                         p->value);
        *(from ? &f->has_from : &f->has_to) = true;
    }
    }
    return 0;
}

static void put_escaped(const char *s)
{
    rt_escape_fputs(stdout, s, strlen(s), 0);
}

static void label(const char *name)
{
    printf("%-10s ", name);
}

static void line_str(const char *name, const char *value)
{
    if (!value)
        return;
    label(name);
    put_escaped(value);
    putchar('\n');
}

static void short_hex(const uint8_t *d, char *out)
{
    rt_hex(d, SHORT_HEX / 2, out);
}

static void show_payload(const char *name, const struct rt_payload *p)
{
    char h[SHORT_HEX + 1];
    if (!p->present)
        return;
    short_hex(p->sha256, h);
    label(name);
    if (p->mode == RT_PAYLOAD_REDACTED) /* redacted values are replaced by longer tokens */
        printf("%zu bytes stored (redacted from %" PRIu64 " bytes), sha256 %s", p->len,
               p->original_len, h);
    else
        printf("%zu of %" PRIu64 " bytes stored (%s), sha256 %s", p->len, p->original_len,
               rt_payload_mode_name(p->mode), h);
    if (p->content_type) {
        fputs(", ", stdout);
        put_escaped(p->content_type);
    }
    if (p->error_type) {
        fputs(", error type ", stdout);
        put_escaped(p->error_type);
    }
    putchar('\n');
    if (p->len) {
        size_t n = p->len < 240 ? p->len : 240;
        fputs("           \"", stdout);
        rt_escape_fputs(stdout, (const char *)p->data, n, '"');
        fputs(n < p->len ? "\"...\n" : "\"\n", stdout);
    }
}

static void show_header(const char *path, const struct rt_bundle *b)
{
    const struct rt_meta *m = &b->meta;
    char hex[2 * RT_DIGEST_LEN + 1], when[64], dur[40];
    label("bundle");
    put_escaped(path);
    printf("  %zu bytes, %zu decompressed\n", b->compressed_len, b->decompressed_len);
    label("digest");
    printf("%s\n", rt_digest_hex(b->digest, hex));
    if (m->function) {
        label("function");
        put_escaped(m->function);
        if (m->function_version) {
            fputs("  version ", stdout);
            put_escaped(m->function_version);
        }
        if (m->memory_mb)
            printf("  memory %" PRIu32 " MB", m->memory_mb);
        putchar('\n');
    }
    line_str("arn", m->function_arn);
    line_str("region", m->region);
    line_str("runtime", m->runtime);
    line_str("arch", m->arch);
    line_str("handler", m->handler);
    line_str("command", m->command);
    line_str("request", m->request_id);
    line_str("trace", m->trace_id);
    line_str("caller", m->caller);
    rt_render_wall(when, sizeof when, m->start_wall_ns);
    rt_render_ms(dur, sizeof dur, (int64_t)m->duration_ns);
    label("start");
    printf("%s  duration %s%s\n", when, dur + 1, m->cold_start ? "  cold start" : "");
    if (m->deadline_wall_ns) {
        rt_render_wall(when, sizeof when, m->deadline_wall_ns);
        label("deadline");
        printf("%s\n", when);
    }
    label("status");
    fputs(rt_status_name(m->status), stdout);
    if (m->error_type) {
        fputs("  error type ", stdout);
        put_escaped(m->error_type);
    }
    if (m->exit_status)
        printf("  exit status %" PRId32, m->exit_status);
    putchar('\n');
    if (m->sandbox_id) {
        label("sandbox");
        put_escaped(m->sandbox_id);
        printf("  seq %" PRIu64 "  prev %s", m->seq,
               m->has_prev ? rt_digest_hex(m->prev_digest, hex) : "-");
        /* chain_end 0 (older recorders) prints nothing: their output stays as it was */
        if (m->chain_end == RT_CHAIN_END_LAST)
            fputs("  chain end last", stdout);
        else if (m->chain_end == RT_CHAIN_END_MORE)
            fputs("  chain end more", stdout);
        putchar('\n');
    }
    line_str("hash key", m->hash_key_id); /* which hmac values compare (docs/config.md) */
    line_str("replay of", m->replay_of);  /* recorded by `runtrail replay` */
    label("recorder");
    put_escaped(m->recorder_version ? m->recorder_version : "?");
    fputs("  coverage", stdout);
    if (m->coverage & RT_COV_PRELOAD)
        fputs(" preload", stdout);
    if (m->coverage & RT_COV_PROXY)
        fputs(" proxy", stdout);
    if (m->coverage & RT_COV_RECORD)
        fputs(" record", stdout);
    if (m->coverage & RT_COV_PARTIAL)
        fputs(" partial", stdout);
    fputs(m->coverage ? "" : " none", stdout);
    if (m->recorder_cpu_ns) /* the recorder process's CPU since the previous bundle */
        printf("  cpu %.3fms", (double)m->recorder_cpu_ns / 1e6);
    putchar('\n');
    bool any = false;
    for (unsigned i = 0; i < RT_CTR__COUNT; i++) {
        if (!m->counters[i])
            continue;
        if (!any)
            label("counters");
        printf("%s%s=%" PRIu64, any ? " " : "", rt_counter_name(i), m->counters[i]);
        any = true;
    }
    if (any)
        putchar('\n');
    if (m->dropped_flags) { /* flags of events the writer dropped over its limit */
        label("dropped");
        fputs("flags", stdout);
        for (unsigned bit = 0; bit < 32; bit++) {
            if (!(m->dropped_flags & (1u << bit)))
                continue;
            const char *name = rt_event_flag_name(bit);
            if (name)
                printf(" %s", name);
            else
                printf(" flag%u", bit);
        }
        putchar('\n');
    }
    if (b->has_code) {
        char t[SHORT_HEX + 1], l[SHORT_HEX + 1];
        short_hex(b->code.task_root, t);
        short_hex(b->code.layers, l);
        label("code");
        printf("task root %s  layers %s  %" PRIu32 " files, %" PRIu64 " bytes", t, l, b->code.files,
               b->code.bytes);
        if (b->code.task_root_path) {
            fputs("  ", stdout);
            put_escaped(b->code.task_root_path);
        }
        putchar('\n');
    }
    if (b->n_env) {
        size_t clear = 0;
        for (size_t i = 0; i < b->n_env; i++)
            clear += b->env[i].value != NULL;
        label("env");
        printf("%zu variables, %zu in clear\n", b->n_env, clear);
        for (size_t i = 0; i < b->n_env; i++) {
            char h[SHORT_HEX + 1];
            fputs("           ", stdout);
            put_escaped(b->env[i].name);
            if (b->env[i].value) {
                fputs("=\"", stdout);
                rt_escape_fputs(stdout, b->env[i].value, strlen(b->env[i].value), '"');
                fputs("\"\n", stdout);
            } else {
                short_hex(b->env[i].hash, h);
                printf("  hmac %s\n", h);
            }
        }
    }
    for (size_t i = 0; i < b->n_headers; i++) {
        label("header");
        put_escaped(b->headers[i].name);
        fputs(": ", stdout);
        put_escaped(b->headers[i].value);
        putchar('\n');
    }
    show_payload("event", &b->event);
    show_payload("response", &b->response);
    show_payload("error", &b->error);
    label("events");
    printf("%zu  logs %zu", b->n_events, b->n_logs);
    if (b->unknown_blocks)
        printf("  unknown blocks %u (skipped)", b->unknown_blocks);
    putchar('\n');
}

/* Events and log lines merged by timestamp (analysis/timeline.h), as rows or JSON lines. */
static void show_timeline(const struct rt_bundle *b, const struct rt_filter *f, bool json)
{
    size_t cap = 1024;
    char *line = malloc(cap);
    enum rt_arch arch = rt_arch_from_name(b->meta.arch);
    if (!line)
        return;
    if (!json)
        putchar('\n');
    struct rt_timeline t;
    struct rt_timeline_item it;
    rt_timeline_init(&t, b, f);
    while (rt_timeline_next(&t, &it)) {
        if (json) {
            json_t *o;
            if (it.ev) {
                o = rt_json_event(it.ev);
            } else {
                o = json_object();
                json_object_set_new(o, "record", json_string("log"));
                json_object_set_new(o, "ts_ns", json_integer(it.log->ts_ns));
                json_object_set_new(o, "stream",
                                    json_string(it.log->stream == 2 ? "stderr" : "stdout"));
                json_object_set_new(o, "text", rt_json_bytes(it.log->text.ptr, it.log->text.len));
            }
            json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
            putchar('\n');
            json_decref(o);
            continue;
        }
        size_t need = rt_timeline_row(line, cap, &it, arch);
        if (need >= cap) {
            char *p = realloc(line, need + 1);
            if (!p)
                break;
            line = p;
            cap = need + 1;
            rt_timeline_row(line, cap, &it, arch);
        }
        fputs(line, stdout);
        putchar('\n');
    }
    free(line);
}

static void dump(json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(o);
}

static void json_payload(const char *which, const struct rt_payload *p)
{
    char hex[2 * RT_DIGEST_LEN + 1];
    if (!p->present)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "record", json_string("payload"));
    json_object_set_new(o, "which", json_string(which));
    json_object_set_new(o, "mode", json_string(rt_payload_mode_name(p->mode)));
    json_object_set_new(o, "original_len", json_integer((json_int_t)p->original_len));
    json_object_set_new(o, "sha256", json_string(rt_digest_hex(p->sha256, hex)));
    json_object_set_new(o, "len", json_integer((json_int_t)p->len));
    if (p->content_type)
        json_object_set_new(o, "content_type",
                            rt_json_bytes(p->content_type, strlen(p->content_type)));
    if (p->error_type)
        json_object_set_new(o, "error_type", rt_json_bytes(p->error_type, strlen(p->error_type)));
    json_object_set_new(o, "data", rt_json_bytes(p->data, p->len));
    dump(o);
}

static void show_json_header(const struct rt_bundle *b)
{
    char hex[2 * RT_DIGEST_LEN + 1];
    dump(rt_json_meta(b));
    if (b->has_code) {
        json_t *o = json_object();
        json_object_set_new(o, "record", json_string("code"));
        json_object_set_new(o, "task_root", json_string(rt_digest_hex(b->code.task_root, hex)));
        json_object_set_new(o, "layers", json_string(rt_digest_hex(b->code.layers, hex)));
        json_object_set_new(o, "files", json_integer(b->code.files));
        json_object_set_new(o, "bytes", json_integer((json_int_t)b->code.bytes));
        if (b->code.task_root_path)
            json_object_set_new(
                o, "task_root_path",
                rt_json_bytes(b->code.task_root_path, strlen(b->code.task_root_path)));
        dump(o);
    }
    for (size_t i = 0; i < b->n_env; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "record", json_string("env"));
        json_object_set_new(o, "name", rt_json_bytes(b->env[i].name, strlen(b->env[i].name)));
        json_object_set_new(o, "hmac", json_string(rt_digest_hex(b->env[i].hash, hex)));
        if (b->env[i].value)
            json_object_set_new(o, "value",
                                rt_json_bytes(b->env[i].value, strlen(b->env[i].value)));
        dump(o);
    }
    for (size_t i = 0; i < b->n_headers; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "record", json_string("header"));
        json_object_set_new(o, "name",
                            rt_json_bytes(b->headers[i].name, strlen(b->headers[i].name)));
        json_object_set_new(o, "value",
                            rt_json_bytes(b->headers[i].value, strlen(b->headers[i].value)));
        dump(o);
    }
    json_payload("event", &b->event);
    json_payload("response", &b->response);
    json_payload("error", &b->error);
}

/* Prints one bundle; returns 0, or RT_EXIT_USAGE after an error message naming it. */
static int show_one(const char *path, const struct rt_filter *f, bool json, bool banner, bool first)
{
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    /* "-": the bundle on standard input (aws s3 cp s3://.../x.rtb - | runtrail show -) */
    int rc = rt_bundle_open_file(strcmp(path, "-") ? path : "/dev/stdin", &b, &ei);
    if (rc) {
        char msg[512];
        char name[1024];
        rt_escape_buf(name, sizeof name, path, strlen(path), 0);
        fflush(stdout);
        rt_cli_error("%s: %s", name, rt_errinfo_format(rc, &ei, msg, sizeof msg));
        return RT_EXIT_USAGE;
    }
    if (banner && json) {
        json_t *o = json_object();
        json_object_set_new(o, "record", json_string("bundle"));
        json_object_set_new(o, "path", rt_json_bytes(path, strlen(path)));
        dump(o);
    } else if (banner) {
        fputs(first ? "==> " : "\n==> ", stdout);
        put_escaped(path);
        fputs(" <==\n", stdout);
    }
    if (json)
        show_json_header(b);
    else
        show_header(path, b);
    show_timeline(b, f, json);
    rt_bundle_free(b);
    return 0;
}

RT_COMMAND(show, "print bundles: meta header and strace-like timeline, or JSON lines")
{
    bool json = false;
    struct rt_filter f = {0};
    const char *cache = NULL;
    struct rt_cli_paths args = {0}, paths = {0};
    int status = RT_EXIT_OK;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &show_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
        if (id == OPT_JSON)
            json = true;
        else if (id == OPT_CACHE)
            cache = p.value;
        else if (add_filter(&p, id, &f))
            return p.status;
    }
    for (int i = p.first_operand; i < argc; i++) {
        if (rt_cli_paths_add(&args, argv[i])) {
            status = RT_EXIT_USAGE;
            goto out;
        }
    }
    if (!args.n) {
        status = rt_cli_usage_error("show", "which bundle? (runtrail show BUNDLE|REQUEST_ID...)");
        goto out;
    }
    for (size_t i = 0; i < args.n; i++) {
        int rc = rt_cli_bundle_arg(args.v[i], cache, &paths);
        if (rc)
            status = rc;
    }
    for (size_t i = 0; i < paths.n; i++) {
        int rc = show_one(paths.v[i], &f, json, paths.n > 1 || args.n > 1, i == 0);
        if (rc)
            status = rc;
    }
    if (fflush(stdout) != 0)
        status = RT_EXIT_USAGE;
out:
    rt_cli_paths_free(&args);
    rt_cli_paths_free(&paths);
    return status;
}
