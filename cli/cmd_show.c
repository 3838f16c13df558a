/* runtrail show: prints one bundle for a human (a header with the META, code, environment,
 * headers, payload summaries, then an strace-like timeline of events and log lines) or, with
 * --json, as JSON Lines (meta first). Every captured string is escaped before it reaches the
 * terminal; JSON is ASCII-only. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/escape.h"
#include "formats/render.h"

#include <jansson.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: runtrail show BUNDLE [--json] [--kind K[,K...]] [--op OP[,OP...]]\n"
    "\n"
    "Print one trace bundle (.rtb): a header with the invocation's metadata, code and\n"
    "environment digests, headers and payload summaries, then an strace-like timeline:\n"
    "    +12.345ms  pid 7  openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY) = 3\n"
    "Captured strings are escaped (\\x1b, \\n, \\\\); nothing raw reaches the terminal.\n"
    "BUNDLE '-' reads the bundle from standard input.\n"
    "\n"
    "  --json        one JSON object per line (ASCII only): meta first, then code, env,\n"
    "                header, payload records, then event and log records in time order\n"
    "  --kind K      only events of these kinds: proc, file, net, sec, mark, log\n"
    "  --op OP       only events of these operations (openat, connect, execve, ...)\n"
    "  -h, --help    this help\n"
    "\n"
    "Exit status: 0 ok, 2 usage error or unreadable bundle.\n"
    "See runtrail-show(1) and docs/format.md.\n";

#define SHORT_HEX 16

struct filter {
    unsigned kinds; /* bit per enum rt_kind; 0 = all */
    uint64_t ops[(RT_OP__COUNT + 63) / 64];
    bool any_op;
};

static bool want_event(const struct filter *f, const struct rt_event *ev)
{
    const struct rt_op_info *info = rt_op_info(ev->op);
    if (f->kinds && (!info || !(f->kinds & (1u << info->kind))))
        return false;
    if (f->any_op && !(f->ops[ev->op / 64] & (1ull << (ev->op % 64))))
        return false;
    return true;
}

static bool want_log(const struct filter *f)
{
    if (f->kinds && !(f->kinds & (1u << RT_KIND_LOG)))
        return false;
    if (f->any_op && !(f->ops[RT_OP_LOG / 64] & (1ull << (RT_OP_LOG % 64))))
        return false;
    return true;
}

static int parse_list(char *arg, struct filter *f, bool kinds)
{
    for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (kinds) {
            int k = rt_kind_from_name(tok);
            if (k < 0)
                return rt_cli_usage_error("show",
                                          "unknown kind '%s' (proc, file, net, sec, "
                                          "mark, log)",
                                          tok);
            f->kinds |= 1u << k;
        } else {
            int op = rt_op_from_name(tok);
            if (op < 0)
                return rt_cli_usage_error("show", "unknown operation '%s'", tok);
            f->ops[op / 64] |= 1ull << (op % 64);
            f->any_op = true;
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

static const char *mode_name(unsigned mode)
{
    static const char *const names[] = {"full", "redacted", "hash", "none"};
    return mode < 4 ? names[mode] : "unknown";
}

static void show_payload(const char *name, const struct rt_payload *p)
{
    char h[SHORT_HEX + 1];
    if (!p->present)
        return;
    short_hex(p->sha256, h);
    label(name);
    printf("%zu of %" PRIu64 " bytes stored (%s), sha256 %s", p->len, p->original_len,
           mode_name(p->mode), h);
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
        printf("  seq %" PRIu64 "  prev %s\n", m->seq,
               m->has_prev ? rt_digest_hex(m->prev_digest, hex) : "-");
    }
    line_str("hash key", m->hash_key_id); /* which hmac values compare (docs/config.md) */
    label("recorder");
    put_escaped(m->recorder_version ? m->recorder_version : "?");
    fputs("  coverage", stdout);
    if (m->coverage & RT_COV_PRELOAD)
        fputs(" preload", stdout);
    if (m->coverage & RT_COV_PROXY)
        fputs(" proxy", stdout);
    if (m->coverage & RT_COV_RECORD)
        fputs(" record", stdout);
    fputs(m->coverage ? "\n" : " none\n", stdout);
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

/* Events and log lines merged by timestamp (stable: events first on ties). */
static void show_timeline(const struct rt_bundle *b, const struct filter *f, bool json)
{
    size_t i = 0, j = 0, cap = 1024;
    char *line = malloc(cap);
    if (!line)
        return;
    if (!json)
        putchar('\n');
    while (i < b->n_events || j < b->n_logs) {
        bool take_event =
            j >= b->n_logs || (i < b->n_events && b->events[i].ts_ns <= b->logs[j].ts_ns);
        char ts[40];
        if (take_event) {
            const struct rt_event *ev = &b->events[i++];
            if (!want_event(f, ev))
                continue;
            if (json) {
                json_t *o = rt_json_event(ev);
                json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
                putchar('\n');
                json_decref(o);
                continue;
            }
            size_t need = rt_render_event(line, cap, ev);
            if (need >= cap) {
                char *p = realloc(line, need + 1);
                if (!p)
                    break;
                line = p;
                cap = need + 1;
                rt_render_event(line, cap, ev);
            }
            rt_render_ms(ts, sizeof ts, ev->ts_ns);
            if (ev->tid != ev->pid)
                printf("%-10s pid %" PRId32 " tid %" PRId32 "  %s\n", ts, ev->pid, ev->tid, line);
            else
                printf("%-10s pid %" PRId32 "  %s\n", ts, ev->pid, line);
        } else {
            const struct rt_log *lg = &b->logs[j++];
            if (!want_log(f))
                continue;
            const char *stream = lg->stream == 2 ? "stderr" : "stdout";
            if (json) {
                json_t *o = json_object();
                json_object_set_new(o, "record", json_string("log"));
                json_object_set_new(o, "ts_ns", json_integer(lg->ts_ns));
                json_object_set_new(o, "stream", json_string(stream));
                json_object_set_new(o, "text", rt_json_bytes(lg->text.ptr, lg->text.len));
                json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
                putchar('\n');
                json_decref(o);
                continue;
            }
            rt_render_ms(ts, sizeof ts, lg->ts_ns);
            printf("%-10s %s  \"", ts, stream);
            rt_escape_fputs(stdout, lg->text.ptr, lg->text.len, '"');
            fputs("\"\n", stdout);
        }
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
    json_object_set_new(o, "mode", json_string(mode_name(p->mode)));
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

RT_COMMAND(show, "print a bundle: meta header and strace-like timeline, or JSON lines")
{
    const char *path = NULL;
    bool json = false;
    struct filter f = {0};
    if (rt_cli_wants_help(argc, argv))
        return rt_cli_help(help);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--kind") || !strcmp(a, "--op")) {
            if (i + 1 >= argc)
                return rt_cli_usage_error("show", "%s needs a value", a);
            int rc = parse_list(argv[++i], &f, a[2] == 'k');
            if (rc)
                return rc;
        } else if (!strncmp(a, "--kind=", 7) || !strncmp(a, "--op=", 5)) {
            char *eq = strchr(argv[i], '=');
            int rc = parse_list(eq + 1, &f, a[2] == 'k');
            if (rc)
                return rc;
        } else if (a[0] == '-' && a[1]) {
            return rt_cli_usage_error("show", "unknown option '%s'", a);
        } else if (path) {
            return rt_cli_usage_error("show", "one bundle at a time ('%s' and '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path)
        return rt_cli_usage_error("show", "which bundle? (runtrail show BUNDLE)");
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    /* "-": the bundle on standard input (aws s3 cp s3://.../x.rtb - | runtrail show -) */
    int rc = rt_bundle_open_file(strcmp(path, "-") ? path : "/dev/stdin", &b, &ei);
    if (rc) {
        char msg[512];
        char name[1024];
        rt_escape_buf(name, sizeof name, path, strlen(path), 0);
        rt_cli_error("%s: %s", name, rt_errinfo_format(rc, &ei, msg, sizeof msg));
        return RT_EXIT_USAGE;
    }
    if (json)
        show_json_header(b);
    else
        show_header(path, b);
    show_timeline(b, &f, json);
    rt_bundle_free(b);
    if (fflush(stdout) != 0)
        return RT_EXIT_USAGE;
    return RT_EXIT_OK;
}
