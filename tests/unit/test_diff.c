/* Unit tests of analysis/diff and analysis/jsondiff: crafted invocations written with the
 * bundle writer and compared — equivalent runs (other pids, fds, ports, request ids) give no
 * difference; a new program, a new destination, a count change, an env hash change, payload
 * keys added/changed/retyped and a timeline alignment with context give exactly the expected
 * items and hunks; the alignment itself and its bounded fallback; and the exact text that
 * `runtrail diff` prints for two crafted bundles. */
#include "analysis/analysis.h"
#include "analysis/diff.h"
#include "formats/bundle.h"

#include "tmpdir.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

/* What varies in a crafted invocation. */
struct shape {
    int run;            /* 0 or 1: pids, fds, ports, request ids differ between runs */
    bool shell;         /* the handler runs sh -c 'cat /proc/self/environ' */
    int connections;    /* outbound connections to dynamodb */
    bool exfil;         /* a connection to a new host */
    const char *secret; /* the value of DB_PASSWORD (its hash goes into ENV) */
    const char *sandbox;
    const char *payload; /* the input event; NULL: none */
    int files;           /* openat of /var/task/data/f<i>.json */
    int replace_file;    /* -1, or i: that open reads g<i>.json instead */
    int stats;           /* successful stat of /var/task/app.py, this many times */
    int failed_stats;    /* failed stat of /var/task/missing.py, this many times */
};

static void add(struct rt_writer *w, struct rt_event e)
{
    cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
}

static void invocation_bytes(const struct shape *s, uint8_t **out, size_t *len)
{
    struct rt_writer *w = rt_writer_new(NULL);
    cr_assert_not_null(w);
    char rid[64], argv0[] = "python3\0-m\0awslambdaric", tmp[64];
    snprintf(rid, sizeof rid, "%s",
             s->run ? "9b2d4e61-0c3a-4f58-8e17-2a6c9d0b3f44"
                    : "3f1c9a52-8d1e-4c7b-9a40-5b2f0e6d7a11");
    struct rt_meta m = {.function = "orders",
                        .runtime = "python3.12",
                        .handler = "app.handler",
                        .request_id = rid,
                        .sandbox_id = (char *)(s->sandbox ? s->sandbox : "sandbox-1"),
                        .memory_mb = 512,
                        .status = RT_STATUS_OK};
    cr_assert_eq(rt_writer_set_meta(w, &m), RT_OK);
    struct rt_env_var v = {.name = "DB_PASSWORD"};
    memset(v.hash, s->secret ? s->secret[0] : 0, RT_DIGEST_LEN);
    cr_assert_eq(rt_writer_add_env(w, &v), RT_OK);
    struct rt_env_var region = {.name = "AWS_REGION", .value = "eu-west-1"};
    memset(region.hash, 0x42, RT_DIGEST_LEN);
    cr_assert_eq(rt_writer_add_env(w, &region), RT_OK);
    if (s->payload) {
        struct rt_payload p = {.present = true,
                               .mode = RT_PAYLOAD_FULL,
                               .original_len = strlen(s->payload),
                               .data = (uint8_t *)s->payload,
                               .len = strlen(s->payload)};
        memset(p.sha256, s->payload[0], RT_DIGEST_LEN);
        cr_assert_eq(rt_writer_set_payload(w, 'E', &p), RT_OK);
    }
    int pid = s->run ? 900 : 8, fd = s->run ? 30 : 20;
    int64_t t = 0;
    struct rt_event e = {.ts_ns = t, .pid = pid, .tid = pid, .op = RT_OP_PROC_START};
    e.str[0] = S("/var/lang/bin/python3.12");
    e.str[1] = (struct rt_str){argv0, sizeof argv0};
    add(w, e);
    e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_MARK};
    e.str[0] = S(rid);
    e.num[0] = RT_MARK_INVOKE_START;
    add(w, e);
    for (int i = 0; i < s->files; i++) {
        char path[64];
        snprintf(path, sizeof path, "/var/task/data/%c%d.json", i == s->replace_file ? 'g' : 'f',
                 i);
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OPEN, .result = fd};
        e.str[0] = S(path);
        e.num[0] = -100;
        add(w, e);
    }
    for (int i = 0; i < s->stats + s->failed_stats; i++) {
        bool ok = i < s->stats;
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_STAT, .result = ok ? 0 : -2};
        e.str[0] = S(ok ? "/var/task/app.py" : "/var/task/missing.py");
        e.num[0] = -100;
        e.num[2] = ok ? 0100644 : 0;
        add(w, e);
    }
    snprintf(tmp, sizeof tmp, "/tmp/tmp%s.json", s->run ? "q8Zk2a" : "a8Xk2_");
    e = (struct rt_event){.ts_ns = t += 1000,
                          .pid = pid,
                          .tid = pid,
                          .op = RT_OP_OPEN,
                          .result = fd,
                          .flags = RT_EF_CREATE};
    e.str[0] = S(tmp);
    e.num[0] = -100;
    e.num[1] = 0101; /* O_WRONLY|O_CREAT */
    e.num[2] = 0600;
    add(w, e);
    for (int i = 0; i < s->connections; i++) {
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OUTBOUND};
        e.str[0] = S("52.94.1.7:443");
        e.str[1] = S("dynamodb.eu-west-1.amazonaws.com");
        e.num[0] = 1800 + i;
        e.num[1] = 5000;
        e.num[2] = RT_PROTO_TLS;
        e.num[3] = fd + 1;
        add(w, e);
    }
    if (s->shell) {
        int child = pid + 1;
        char sh_argv[] = "sh\0-c\0cat /proc/self/environ";
        e = (struct rt_event){
            .ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_FORK, .result = child};
        add(w, e);
        e = (struct rt_event){.ts_ns = t += 1000, .pid = child, .tid = child, .op = RT_OP_EXEC};
        e.str[0] = S("/bin/sh");
        e.str[1] = (struct rt_str){sh_argv, sizeof sh_argv};
        add(w, e);
        char environ_path[64];
        snprintf(environ_path, sizeof environ_path, "/proc/%d/environ", pid);
        e = (struct rt_event){.ts_ns = t += 1000,
                              .pid = child,
                              .tid = child,
                              .op = RT_OP_OPEN,
                              .result = 3,
                              .flags = RT_EF_ENVIRON_READ};
        e.str[0] = S(environ_path);
        e.num[0] = -100;
        add(w, e);
    }
    if (s->exfil) {
        e = (struct rt_event){.ts_ns = t += 1000, .pid = pid, .tid = pid, .op = RT_OP_OUTBOUND};
        e.str[0] = S("203.0.113.9:443");
        e.str[1] = S("collector.example.net");
        e.str[2] = S("POST /c HTTP/1.1 Host: collector.example.net -> 200");
        e.num[0] = 4096;
        e.num[2] = RT_PROTO_HTTP;
        add(w, e);
    }
    cr_assert_eq(rt_writer_finish(w, 0, out, len, NULL), RT_OK);
    rt_writer_free(w);
}

static struct rt_bundle *invocation(const struct shape *s)
{
    uint8_t *out = NULL;
    size_t len = 0;
    invocation_bytes(s, &out, &len);
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(out, len, &b, &ei), RT_OK);
    free(out);
    return b;
}

static struct shape normal(int run)
{
    return (struct shape){.run = run, .connections = 1, .secret = "s", .replace_file = -1};
}

static void diff_shapes(const struct shape *sa, const struct shape *sb, unsigned context,
                        struct rt_diff *d)
{
    struct rt_bundle *a = invocation(sa), *b = invocation(sb);
    struct rt_diff_options opt = {.context = context};
    cr_assert_eq(rt_diff_bundles(a, b, &opt, d), RT_OK);
    /* the lines keep keys, not events: the bundles may go */
    rt_bundle_free(a);
    rt_bundle_free(b);
}

struct want_count {
    enum rt_diff_category cat;
    const char *item;
    size_t a, b;
};

static void assert_counts(const struct rt_diff *d, const struct want_count *want, size_t n)
{
    for (size_t i = 0; i < d->n_counts && i < n; i++) {
        cr_expect_eq(d->counts[i].cat, want[i].cat, "count %zu: category", i);
        cr_expect_str_eq(d->counts[i].item, want[i].item, "count %zu", i);
        cr_expect_eq(d->counts[i].a, want[i].a, "count %zu (%s): a", i, d->counts[i].item);
        cr_expect_eq(d->counts[i].b, want[i].b, "count %zu (%s): b", i, d->counts[i].item);
    }
    cr_assert_eq(d->n_counts, n);
}

Test(diff, equivalent_runs_do_not_differ)
{
    struct shape a = normal(0), b = normal(1);
    a.files = b.files = 4;
    struct rt_diff d;
    diff_shapes(&a, &b, 3, &d);
    cr_assert(!d.differs);
    cr_assert_eq(d.n_fields, 0);
    cr_assert_eq(d.n_env, 0);
    cr_assert(d.env_comparable);
    cr_assert_eq(d.n_counts, 0);
    cr_assert_eq(d.n_procs, 0);
    cr_assert_eq(d.events_a, 8);
    cr_assert_eq(d.events_b, 8);
    rt_diff_free(&d);
}

/* The interposer folds a process's repeated successful probes, but records one again when its
 * fold table evicted it: a repeat is no difference; a new probe, or a failed one, is. */
Test(diff, repeated_successful_probes_are_no_difference)
{
    struct shape a = normal(0), b = normal(1);
    a.stats = 1;
    b.stats = 3;
    struct rt_diff d;
    diff_shapes(&a, &b, 3, &d);
    cr_assert(!d.differs, "a probe repeated in one run only");
    cr_assert_eq(d.n_procs, 0);
    rt_diff_free(&d);
    a.stats = 0;
    b.stats = 1;
    diff_shapes(&a, &b, 3, &d);
    cr_assert(d.differs, "a probe made in one run only");
    rt_diff_free(&d);
    a.stats = b.stats = 1;
    a.failed_stats = 1;
    b.failed_stats = 2;
    diff_shapes(&a, &b, 3, &d);
    cr_assert(d.differs, "failed probes are each behaviour");
    cr_assert_eq(d.n_procs, 1);
    rt_diff_free(&d);
}

Test(diff, a_new_program_and_environ_read)
{
    struct shape a = normal(0), b = normal(1);
    b.shell = true;
    struct rt_diff d;
    diff_shapes(&a, &b, 3, &d);
    cr_assert(d.differs);
    const struct want_count want[] = {
        {RT_DIFF_PROCESS, "/var/lang/bin/python3.12>/bin/sh", 0, 1},
        {RT_DIFF_PROCESS, "/var/lang/bin/python3.12>/var/lang/bin/python3.12", 0, 1},
        {RT_DIFF_PROGRAM, "execve(\"/bin/sh\", [\"sh\", \"-c\", \"cat /proc/self/environ\"]) = ok",
         0, 1},
        {RT_DIFF_FILE, "read \"/proc/{n}/environ\"", 0, 1},
        {RT_DIFF_FLAG, "environ_read", 0, 1},
    };
    assert_counts(&d, want, sizeof want / sizeof want[0]);
    rt_diff_free(&d);
}

Test(diff, a_new_destination_and_a_count_change)
{
    struct shape a = normal(0), b = normal(1);
    b.exfil = true;
    b.connections = 300;
    struct rt_diff d;
    diff_shapes(&a, &b, 1, &d);
    cr_assert(d.differs);
    const struct want_count want[] = {
        {RT_DIFF_DESTINATION,
         "outbound(\"203.0.113.9:443\", \"\", \"POST /c HTTP/1.1 Host: collector.example.net -> "
         "{n}\", http) = ok",
         0, 1},
        {RT_DIFF_DESTINATION,
         "outbound(\"52.94.1.7:443\", \"dynamodb.eu-west-1.amazonaws.com\", \"\", tls) = ok", 1,
         300},
    };
    (void)want;
    /* the exfiltration's host slot is its own */
    cr_assert_eq(d.n_counts, 2);
    cr_expect_eq(d.counts[1].a, 1);
    cr_expect_eq(d.counts[1].b, 300);
    cr_expect_str_eq(d.counts[1].item, want[1].item);
    cr_expect(strstr(d.counts[0].item, "\"203.0.113.9:443\", \"collector.example.net\""), "%s",
              d.counts[0].item);
    cr_expect_eq(d.counts[0].a, 0);
    cr_expect_eq(d.counts[0].b, 1);
    /* one process, one hunk: the context line, 299 more connections, the new one */
    cr_assert_eq(d.n_procs, 1);
    cr_assert_str_eq(d.procs[0].position, "/var/lang/bin/python3.12");
    cr_assert_eq(d.procs[0].n_hunks, 1);
    const struct rt_diff_hunk *h = &d.procs[0].hunks[0];
    cr_expect_eq(h->a_start, 4);
    cr_expect_eq(h->a_len, 1);
    cr_expect_eq(h->b_start, 4);
    cr_expect_eq(h->b_len, 301);
    cr_assert_eq(h->n_lines, 301);
    cr_expect_eq(d.procs[0].lines[0].op, ' ');
    for (size_t i = 1; i < 301; i++)
        cr_expect_eq(d.procs[0].lines[i].op, '+', "line %zu", i);
    cr_expect_eq(d.procs[0].lines[300].b_index, 303, "the exfiltration is event 303 of B");
    rt_diff_free(&d);
}

Test(diff, env_hash_change_names_only)
{
    struct shape a = normal(0), b = normal(1);
    b.secret = "t";
    struct rt_diff d;
    diff_shapes(&a, &b, 3, &d);
    cr_assert(d.env_comparable, "one sandbox: one key");
    cr_assert_eq(d.n_env, 1);
    cr_assert_str_eq(d.env[0].name, "DB_PASSWORD");
    cr_assert_eq(d.env[0].change, RT_DIFF_ENV_CHANGED);
    cr_assert(d.differs);
    rt_diff_free(&d);
}

Test(diff, env_hashes_under_other_keys_are_not_compared)
{
    struct shape a = normal(0), b = normal(1);
    b.secret = "t";
    b.sandbox = "sandbox-2";
    struct rt_bundle *ba = invocation(&a), *bb = invocation(&b);
    memset(bb->env[1].hash, 0x43, RT_DIGEST_LEN); /* another key: every hash differs */
    struct rt_diff d;
    cr_assert_eq(rt_diff_bundles(ba, bb, NULL, &d), RT_OK);
    cr_assert(!d.env_comparable);
    cr_assert_not_null(strstr(d.env_not_comparable_why, "different keys"));
    cr_assert_eq(d.n_env, 0);
    rt_diff_free(&d);
    rt_bundle_free(ba);
    rt_bundle_free(bb);
}

Test(diff, payload_keys_added_changed_and_retyped)
{
    struct shape a = normal(0), b = normal(1);
    a.payload = "{\"order\":{\"id\":1042,\"items\":[\"a\"]},\"user\":\"ann\","
                "\"token\":\"<redacted:hmac:aaaa>\",\"old\":true}";
    b.payload = "{\"order\":{\"id\":\"1042\",\"items\":[\"a\",\"b\"]},\"user\":\"bob\","
                "\"token\":\"<redacted:hmac:bbbb>\",\"cmd\":\"cat /proc/self/environ\"}";
    struct rt_diff d;
    diff_shapes(&a, &b, 3, &d);
    const struct rt_diff_payload *p = &d.payloads[0];
    cr_assert(p->json);
    cr_assert(p->shape_differs);
    struct {
        const char *path;
        enum rt_json_change change;
        enum rt_json_type a, b;
    } want[] = {
        {"$.order.id", RT_JSON_TYPE_CHANGED, RT_JSON_NUMBER, RT_JSON_STRING},
        {"$.order.items[1]", RT_JSON_ADDED, RT_JSON_NULL, RT_JSON_STRING},
        {"$.user", RT_JSON_CHANGED, RT_JSON_STRING, RT_JSON_STRING},
        {"$.token", RT_JSON_CHANGED, RT_JSON_REDACTED, RT_JSON_REDACTED},
        {"$.old", RT_JSON_REMOVED, RT_JSON_BOOL, RT_JSON_NULL},
        {"$.cmd", RT_JSON_ADDED, RT_JSON_NULL, RT_JSON_STRING},
    };
    cr_assert_eq(p->deltas.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < p->deltas.n; i++) {
        cr_expect_str_eq(p->deltas.d[i].path, want[i].path);
        cr_expect_eq(p->deltas.d[i].change, want[i].change, "%s", want[i].path);
        if (want[i].change != RT_JSON_ADDED)
            cr_expect_eq(p->deltas.d[i].a_type, want[i].a, "%s", want[i].path);
        if (want[i].change != RT_JSON_REMOVED)
            cr_expect_eq(p->deltas.d[i].b_type, want[i].b, "%s", want[i].path);
    }
    rt_diff_free(&d);
}

Test(diff, payload_values_alone_do_not_make_a_difference)
{
    struct shape a = normal(0), b = normal(1);
    a.payload = "{\"user\":\"ann\"}";
    b.payload = "{\"user\":\"bob\"}";
    struct rt_diff d;
    diff_shapes(&a, &b, 3, &d);
    cr_assert_eq(d.payloads[0].deltas.n, 1);
    cr_assert(!d.payloads[0].shape_differs);
    cr_assert(!d.differs);
    rt_diff_free(&d);
}

Test(diff, non_json_payloads_compare_by_sha256)
{
    struct shape a = normal(0), b = normal(1);
    a.payload = "plain text";
    b.payload = "other text";
    struct rt_diff d;
    diff_shapes(&a, &b, 3, &d);
    cr_assert(!d.payloads[0].json);
    cr_assert(d.payloads[0].sha_differs);
    rt_diff_free(&d);
}

Test(diff, timeline_alignment_with_context)
{
    struct shape a = normal(0), b = normal(1);
    a.files = b.files = 12;
    b.replace_file = 6;
    struct rt_diff d;
    diff_shapes(&a, &b, 2, &d);
    cr_assert_eq(d.n_procs, 1);
    const struct rt_diff_proc *p = &d.procs[0];
    cr_assert_eq(p->n_hunks, 1);
    cr_assert_eq(p->edits, 2);
    /* events: proc_start, mark, f0..f11 (positions 3..14), tmp, outbound: f6 is position 9 */
    const struct rt_diff_hunk *h = &p->hunks[0];
    cr_expect_eq(h->a_start, 7);
    cr_expect_eq(h->a_len, 5);
    cr_expect_eq(h->b_start, 7);
    cr_expect_eq(h->b_len, 5);
    const char *ops = "  -+  ";
    cr_assert_eq(h->n_lines, 6);
    for (size_t i = 0; i < 6; i++)
        cr_expect_eq(p->lines[h->first_line + i].op, ops[i], "line %zu", i);
    cr_expect_str_eq(p->lines[2].key, "/var/lang/bin/python3.12 openat(\"/var/task/data/f6.json\", "
                                      "O_RDONLY) = ok");
    cr_expect_str_eq(p->lines[3].key, "/var/lang/bin/python3.12 openat(\"/var/task/data/g6.json\", "
                                      "O_RDONLY) = ok");
    cr_expect_eq(p->lines[0].a_index, 6);
    cr_expect_eq(p->lines[0].b_index, 6);
    cr_expect_eq(p->lines[3].b_index, 8);
    rt_diff_free(&d);
}

Test(diff, changes_far_apart_make_two_hunks)
{
    struct shape a = normal(0), b = normal(1);
    a.files = b.files = 12;
    b.replace_file = 1;
    b.connections = 2;
    struct rt_diff d;
    diff_shapes(&a, &b, 1, &d);
    cr_assert_eq(d.n_procs, 1);
    cr_assert_eq(d.procs[0].n_hunks, 2);
    cr_expect_eq(d.procs[0].hunks[1].b_len - d.procs[0].hunks[1].a_len, 1);
    rt_diff_free(&d);
}

/* The command reads A's rows back with a cursor: the rows are those of the decoded bundle. */
Test(diff, rows_from_a_cursor_match_the_decoded_bundle)
{
    struct shape sa = normal(0), sb = normal(1);
    sa.files = sb.files = 12;
    sb.replace_file = 1;
    sb.connections = 3;
    uint8_t *raw_a = NULL;
    size_t len_a = 0;
    invocation_bytes(&sa, &raw_a, &len_a);
    struct rt_bundle *a = invocation(&sa), *b = invocation(&sb);
    struct rt_diff_options opt = {.context = 1};
    struct rt_diff want, got;
    cr_assert_eq(rt_diff_bundles(a, b, &opt, &want), RT_OK);
    struct rt_diff_builder *bd = NULL;
    cr_assert_eq(rt_diff_begin(&opt, &bd), RT_OK);
    cr_assert_eq(rt_diff_add(bd, 0, a), RT_OK);
    cr_assert_eq(rt_diff_add(bd, 1, b), RT_OK);
    cr_assert_eq(rt_diff_finish(bd, &got), RT_OK);
    cr_assert(rt_diff_needs_rows(&got, 0));
    struct rt_cursor *c = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_cursor_open_mem(raw_a, len_a, &c, &ei), RT_OK);
    cr_assert_eq(rt_diff_rows_cursor(&got, 0, c, &ei), RT_OK);
    rt_cursor_free(c);
    cr_assert_eq(got.n_procs, want.n_procs);
    size_t rows = 0;
    for (size_t p = 0; p < got.n_procs; p++) {
        cr_assert_eq(got.procs[p].n_lines, want.procs[p].n_lines);
        for (size_t l = 0; l < got.procs[p].n_lines; l++) {
            const struct rt_diff_line *g = &got.procs[p].lines[l], *w = &want.procs[p].lines[l];
            if (g->op == '+') {
                cr_expect_null(g->row, "line %zu: B's rows were not asked for", l);
                continue;
            }
            cr_assert_not_null(g->row, "line %zu (%c)", l, g->op);
            cr_expect_str_eq(g->row, w->row, "line %zu", l);
            rows++;
        }
    }
    cr_expect_geq(rows, 3);
    rt_diff_free(&want);
    rt_diff_free(&got);
    rt_bundle_free(a);
    rt_bundle_free(b);
    free(raw_a);
}

/* ---- the alignment ---- */

struct script {
    char text[256];
    size_t len;
};

static void record(char op, size_t count, void *arg)
{
    struct script *s = arg;
    for (size_t i = 0; i < count && s->len + 1 < sizeof s->text; i++)
        s->text[s->len++] = op;
    s->text[s->len] = '\0';
}

static void ids(const char *s, unsigned *out)
{
    for (size_t i = 0; s[i]; i++)
        out[i] = (unsigned char)s[i];
}

Test(align, myers_paper_example_has_five_edits)
{
    unsigned x[7], y[6];
    ids("ABCABBA", x);
    ids("CBABAC", y);
    struct script s = {0};
    bool bounded = true;
    cr_assert_eq(rt_diff_align(x, 7, y, 6, 100, record, &s, &bounded), 0);
    cr_assert(!bounded);
    size_t edits = 0, same = 0;
    for (size_t i = 0; i < s.len; i++)
        edits += s.text[i] != ' ', same += s.text[i] == ' ';
    cr_assert_eq(edits, 5, "script '%s'", s.text);
    cr_assert_eq(same, 4, "an LCS of 4: '%s'", s.text);
    /* replaying the script on x gives y */
    char got[16];
    size_t xi = 0, gi = 0;
    const char *xs = "ABCABBA", *ys = "CBABAC";
    size_t yi = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.text[i] == ' ')
            got[gi++] = xs[xi++], yi++;
        else if (s.text[i] == '-')
            xi++;
        else
            got[gi++] = ys[yi++];
    }
    got[gi] = '\0';
    cr_assert_str_eq(got, ys);
}

Test(align, past_the_bound_it_falls_back_and_says_so)
{
    unsigned x[6], y[6];
    ids("AxBxCx", x);
    ids("AyByCy", y);
    struct script s = {0};
    bool bounded = false;
    cr_assert_eq(rt_diff_align(x, 6, y, 6, 2, record, &s, &bounded), 0);
    cr_assert(bounded);
    cr_assert_str_eq(s.text, " -----+++++");
}

Test(align, common_prefix_and_suffix_need_no_search)
{
    unsigned x[5], y[6];
    ids("abcde", x);
    ids("abXcde", y);
    struct script s = {0};
    bool bounded = false;
    cr_assert_eq(rt_diff_align(x, 5, y, 6, 0, record, &s, &bounded), 0);
    cr_assert(!bounded);
    cr_assert_str_eq(s.text, "  +   ");
}

/* ---- the JSON walk (payload shapes) ---- */

struct pairs {
    char text[1024];
};

static int visit(const char *path, enum rt_json_type type, const json_t *v, void *arg)
{
    (void)v;
    struct pairs *p = arg;
    size_t n = strlen(p->text);
    snprintf(p->text + n, sizeof p->text - n, "%s=%s;", path, rt_json_type_name(type));
    return 0;
}

Test(jsonwalk, paths_and_types_with_arrays_collapsed)
{
    json_t *j = json_loads("{\"a\":{\"b\":[1,\"x\",{\"c\":null}]},\"odd key\":true,"
                           "\"t\":\"<redacted:hmac:00>\"}",
                           0, NULL);
    cr_assert_not_null(j);
    struct pairs p = {{0}};
    cr_assert_eq(rt_json_walk(j, RT_JSON_WALK_COLLAPSE_ARRAYS, visit, &p), 0);
    cr_assert_str_eq(p.text, "$=object;$.a=object;$.a.b=array;$.a.b[]=number;$.a.b[]=string;"
                             "$.a.b[]=object;$.a.b[].c=null;$[\"odd key\"]=bool;$.t=redacted;");
    struct pairs q = {{0}};
    cr_assert_eq(rt_json_walk(j, 0, visit, &q), 0);
    cr_assert_not_null(strstr(q.text, "$.a.b[2].c=null;"), "%s", q.text);
    json_decref(j);
}

static int visit_count(const char *path, enum rt_json_type type, const json_t *v, void *arg)
{
    (void)path, (void)type, (void)v;
    ++*(size_t *)arg;
    return 0;
}

Test(jsonwalk, deep_documents_stop_at_the_bound)
{
    char doc[4 * 1000 + 8];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        doc[n++] = '[';
    for (int i = 0; i < 1000; i++)
        doc[n++] = ']';
    doc[n] = '\0';
    json_t *j = json_loads(doc, 0, NULL);
    if (!j) /* jansson's own depth limit refused it: nothing to walk */
        return;
    size_t count = 0;
    cr_assert_eq(rt_json_walk(j, RT_JSON_WALK_COLLAPSE_ARRAYS, visit_count, &count), 0);
    cr_assert_leq(count, RT_JSON_MAX_DEPTH + 1);
    json_decref(j);
}

/* ---- the text `runtrail diff` prints ---- */

RT_TMPDIR_SUITE(diffcli);

static void write_bundle(const struct shape *s, const char *name)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char path[512];
    invocation_bytes(s, &out, &len);
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(out, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    free(out);
}

/* Runs `runtrail diff ARGS` in tmpdir; returns its exit status, stdout in out. */
static int run_diff(const char *args, char *out, size_t cap)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char cwd[1024], cmd[2048];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/%s/bin/runtrail' diff %s 2>/dev/null", tmpdir, cwd,
             build, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    cr_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

Test(diffcli, prints_the_sections_like_diff_u)
{
    struct shape a = normal(0), b = normal(1);
    a.files = b.files = 2;
    b.shell = true;
    b.connections = 3;
    b.secret = "t";
    a.payload = "{\"id\":1}";
    b.payload = "{\"id\":\"1\",\"cmd\":\"x\"}";
    write_bundle(&a, "a.rtb");
    write_bundle(&b, "b.rtb");
    char out[8192];
    cr_assert_eq(run_diff("--context 1 a.rtb b.rtb", out, sizeof out), 1);
    cr_assert_str_eq(
        out,
        "--- a.rtb  function orders  request 3f1c9a52-8d1e-4c7b-9a40-5b2f0e6d7a11\n"
        "+++ b.rtb  function orders  request 9b2d4e61-0c3a-4f58-8e17-2a6c9d0b3f44\n"
        "env\n"
        "  changed  DB_PASSWORD\n"
        "payload event\n"
        "  type     $.id  number -> string\n"
        "  added    $.cmd  string\n"
        "behaviour  (6 -> 11 events compared)\n"
        "  processes\n"
        "    + /var/lang/bin/python3.12>/bin/sh  count 0 -> 1\n"
        "    + /var/lang/bin/python3.12>/var/lang/bin/python3.12  count 0 -> 1\n"
        "  programs\n"
        "    + execve(\"/bin/sh\", [\"sh\", \"-c\", \"cat /proc/self/environ\"]) = ok  count 0 -> "
        "1\n"
        "  destinations\n"
        "    ~ outbound(\"52.94.1.7:443\", \"dynamodb.eu-west-1.amazonaws.com\", \"\", tls) = ok  "
        "count 1 -> 3\n"
        "  files\n"
        "    + read \"/proc/{n}/environ\"  count 0 -> 1\n"
        "  flags\n"
        "    + environ_read  count 0 -> 1\n"
        "timeline\n"
        "@@ -6,1 +6,4 @@ process /var/lang/bin/python3.12\n"
        " +0.005ms   pid 8  outbound(\"52.94.1.7:443\", \"dynamodb.eu-west-1.amazonaws.com\", "
        "\"\", "
        "bytes_out=1800, bytes_in=5000, tls, 21) = 0\n"
        "++0.006ms   pid 900  outbound(\"52.94.1.7:443\", \"dynamodb.eu-west-1.amazonaws.com\", "
        "\"\", "
        "bytes_out=1801, bytes_in=5000, tls, 31) = 0\n"
        "++0.007ms   pid 900  outbound(\"52.94.1.7:443\", \"dynamodb.eu-west-1.amazonaws.com\", "
        "\"\", "
        "bytes_out=1802, bytes_in=5000, tls, 31) = 0\n"
        "++0.008ms   pid 900  fork() = 901\n"
        "@@ -0,0 +1,1 @@ process /var/lang/bin/python3.12>/var/lang/bin/python3.12\n"
        "++0.009ms   pid 901  execve(\"/bin/sh\", [\"sh\", \"-c\", \"cat /proc/self/environ\"], 0) "
        "= "
        "0\n"
        "@@ -0,0 +1,1 @@ process /var/lang/bin/python3.12>/bin/sh\n"
        "++0.010ms   pid 901  openat(AT_FDCWD, \"/proc/900/environ\", O_RDONLY) = 3 "
        "[environ_read]\n");
}

Test(diffcli, equivalent_runs_exit_0_and_json_is_one_document)
{
    struct shape a = normal(0), b = normal(1);
    write_bundle(&a, "a.rtb");
    write_bundle(&b, "b.rtb");
    char out[8192];
    cr_assert_eq(run_diff("a.rtb b.rtb", out, sizeof out), 0);
    cr_assert_eq(run_diff("--json a.rtb b.rtb", out, sizeof out), 0);
    json_error_t err;
    json_t *doc = json_loads(out, 0, &err);
    cr_assert_not_null(doc, "%s: %s", err.text, out);
    cr_assert_eq(json_integer_value(json_object_get(doc, "version")), 1);
    cr_assert(json_is_true(json_object_get(doc, "equivalent")));
    cr_assert_eq(json_array_size(json_object_get(doc, "behaviour")), 0);
    cr_assert_eq(json_array_size(json_object_get(doc, "timeline")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "a"), "path")),
                     "a.rtb");
    json_decref(doc);
}

Test(diffcli, a_corrupt_bundle_is_named_and_exits_2)
{
    struct shape a = normal(0);
    write_bundle(&a, "a.rtb");
    char path[512], out[1024];
    snprintf(path, sizeof path, "%s/bad.rtb", tmpdir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("not a bundle", f);
    fclose(f);
    cr_assert_eq(run_diff("a.rtb bad.rtb", out, sizeof out), 2);
    cr_assert_str_eq(out, "");
}

/* ---- docs/analysis.md: the categories table is RT_DIFF_CATEGORIES ---- */

Test(diffdocs, categories_table_matches_the_code)
{
    FILE *f = fopen("docs/analysis.md", "r");
    cr_assert_not_null(f, "run from the repository root");
    char line[1024], want[1024];
    bool in = false;
    unsigned cat = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "<!-- categories:begin -->")) {
            in = true;
            continue;
        }
        if (strstr(line, "<!-- categories:end -->"))
            break;
        if (!in || strncmp(line, "| ", 2) || strstr(line, "| category |") ||
            strstr(line, "| --- |"))
            continue;
        cr_assert_lt(cat, RT_DIFF__COUNT, "more rows than categories: %s", line);
        snprintf(want, sizeof want, "| %s | %s |\n", rt_diff_category_name(cat),
                 rt_diff_category_doc(cat));
        cr_expect_str_eq(line, want);
        cat++;
    }
    fclose(f);
    cr_assert_eq(cat, RT_DIFF__COUNT);
}
