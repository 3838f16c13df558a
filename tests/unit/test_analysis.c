/* Unit tests of analysis/ and of the op roles it reads (formats/event.h): the event filter,
 * the merged timeline rows, the normalisation rules and the behaviour keys of realistic
 * invocations (two runs of the same handler give the same key set, a new behaviour does not),
 * and docs/analysis.md's rules table against RT_NORM_RULES. */
#include "analysis/analysis.h"
#include "formats/bundle.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

static struct rt_bundle *
seal(struct rt_writer *w)
{
    uint8_t *out = NULL, digest[RT_DIGEST_LEN];
    size_t len = 0;
    cr_assert_eq(rt_writer_finish(w, 0, &out, &len, digest), RT_OK);
    rt_writer_free(w);
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(out, len, &b, &ei), RT_OK);
    free(out);
    return b;
}

static void add(struct rt_writer *w, struct rt_event e)
{
    cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
}

/* ---- roles (formats/event.h) ---- */

Test(roles, lookups_follow_the_op_table)
{
    struct rt_event e = {.op = RT_OP_RENAME};
    e.str[0] = S("/tmp/a");
    e.str[1] = S("/tmp/b");
    cr_assert_eq(rt_event_path(&e, 0).ptr, e.str[0].ptr);
    cr_assert_eq(rt_event_path(&e, 1).ptr, e.str[1].ptr);
    cr_assert_eq(rt_event_peer(&e).len, 0);
    cr_assert(!rt_event_has_str(&e, RT_ROLE_PEER));

    struct rt_event in = {.op = RT_OP_INBOUND, .num = {120, 4096, RT_PROTO_HTTP, 7}};
    in.str[0] = S("10.0.0.9:51000");
    in.str[1] = S("127.0.0.1:8080");
    in.str[2] = S("GET /debug HTTP/1.1");
    cr_assert_str_eq(rt_event_peer(&in).ptr, "10.0.0.9:51000");
    cr_assert_str_eq(rt_event_local(&in).ptr, "127.0.0.1:8080");
    cr_assert_str_eq(rt_event_http(&in).ptr, "GET /debug HTTP/1.1");
    cr_assert_eq(rt_event_bytes_out(&in), 120);
    cr_assert_eq(rt_event_bytes_in(&in), 4096);
    cr_assert_eq(rt_event_host(&in).len, 0);

    struct rt_event send = {.op = RT_OP_SENDTO, .num = {5, 512}};
    cr_assert_eq(rt_event_bytes_out(&send), 512);
    int64_t fd = -1;
    cr_assert(rt_event_num(&send, RT_ROLE_FD, &fd));
    cr_assert_eq(fd, 5);

    struct rt_event dns = {.op = RT_OP_DNS};
    dns.str[0] = S("example.com");
    cr_assert_str_eq(rt_event_host(&dns).ptr, "example.com");

    struct rt_event ex = {.op = RT_OP_EXEC};
    ex.str[0] = S("/bin/sh");
    cr_assert_str_eq(rt_event_program(&ex).ptr, "/bin/sh");
    cr_assert_eq(rt_op_str_slot(RT_OP_PROC_START, RT_ROLE_PROGRAM), 0);
    cr_assert_eq(rt_op_str_slot(RT_OP_PROC_START, RT_ROLE_ARGV), 1);
    cr_assert_eq(rt_op_num_slot(RT_OP_OUTBOUND, RT_ROLE_BYTES_IN), 1);
    cr_assert_eq(rt_op_num_slot(RT_OP_FORK, RT_ROLE_FD), -1);
    cr_assert_eq(rt_op_str_slot(RT_OP__COUNT, RT_ROLE_PATH), -1);
    cr_assert_str_eq(rt_role_name(RT_ROLE_PATH2), "path2");
    cr_assert_null(rt_role_name(RT_ROLE__COUNT));
}

/* Every op that names a file, a program, a command or an address has it in s0, where the
 * catalog's lookups have always found it; every net op with an address has a peer or local. */
Test(roles, every_op_has_its_target_role)
{
    for (unsigned op = 0; op < RT_OP__COUNT; op++) {
        const struct rt_op_info *i = rt_op_info(op);
        if (i->kind == RT_KIND_FILE)
            cr_assert_eq(rt_op_str_slot(op, RT_ROLE_PATH), 0, "%s", i->name);
        if (i->kind == RT_KIND_NET && op != RT_OP_SOCKET && op != RT_OP_DNS)
            cr_assert(rt_op_str_slot(op, RT_ROLE_PEER) == 0 ||
                          rt_op_str_slot(op, RT_ROLE_LOCAL) == 0,
                      "%s", i->name);
    }
}

/* ---- filter ---- */

Test(filter, kinds_ops_flags_and_time)
{
    struct rt_filter f = {0};
    struct rt_event open = {.op = RT_OP_OPEN, .ts_ns = 5000000, .flags = RT_EF_ENVIRON_READ};
    struct rt_event conn = {.op = RT_OP_CONNECT, .ts_ns = 9000000};
    struct rt_log lg = {.ts_ns = 1000, .stream = 1};
    cr_assert(rt_filter_event(&f, &open) && rt_filter_event(&f, &conn) && rt_filter_log(&f, &lg));

    char kinds[] = "file,log";
    cr_assert_eq(rt_filter_add_kinds(&f, kinds, NULL), 0);
    cr_assert(rt_filter_event(&f, &open));
    cr_assert(!rt_filter_event(&f, &conn));
    cr_assert(rt_filter_log(&f, &lg));

    struct rt_filter g = {0};
    char ops[] = "connect";
    cr_assert_eq(rt_filter_add_ops(&g, ops, NULL), 0);
    cr_assert(!rt_filter_event(&g, &open) && rt_filter_event(&g, &conn) && !rt_filter_log(&g, &lg));

    struct rt_filter h = {0};
    char flags[] = "exec_tmp,environ_read";
    cr_assert_eq(rt_filter_add_flags(&h, flags, NULL), 0);
    cr_assert(rt_filter_event(&h, &open) && !rt_filter_event(&h, &conn));

    struct rt_filter t = {.has_from = true, .from_ns = 6000000, .has_to = true, .to_ns = 9000000};
    cr_assert(!rt_filter_event(&t, &open) && rt_filter_event(&t, &conn) && !rt_filter_log(&t, &lg));

    const char *bad = NULL;
    char wrong[] = "file,nett,proc";
    cr_assert_eq(rt_filter_add_kinds(&f, wrong, &bad), -1);
    cr_assert_str_eq(bad, "nett");
    char wrong_flag[] = "listening,exec_temp";
    cr_assert_eq(rt_filter_add_flags(&h, wrong_flag, &bad), -1);
    cr_assert_str_eq(bad, "exec_temp");
}

/* ---- timeline ---- */

Test(timeline, merges_events_and_logs_into_rows)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    m.arch = "aarch64";
    rt_writer_set_meta(w, &m);
    struct rt_event e = {.op = RT_OP_OPEN, .ts_ns = 12345000, .pid = 7, .tid = 7, .result = 3};
    e.str[0] = S("/var/task");
    e.num[0] = -100;
    e.num[1] = 040000; /* O_DIRECTORY on aarch64, O_DIRECT on x86_64 */
    add(w, e);
    struct rt_event k = {.op = RT_OP_KILL, .ts_ns = 20000000, .pid = 7, .tid = 9, .num = {8, 15}};
    add(w, k);
    cr_assert_eq(rt_writer_add_log(w, 1000, 1, "hello", 5), RT_OK);
    cr_assert_eq(rt_writer_add_log(w, 12345000, 2, "boom\x1b[2J", 8), RT_OK);
    struct rt_bundle *b = seal(w);

    struct rt_timeline t;
    struct rt_timeline_item it;
    char row[256];
    const char *want[] = {
        "+0.001ms   stdout  \"hello\"",
        "+12.345ms  pid 7  openat(AT_FDCWD, \"/var/task\", O_RDONLY|O_DIRECTORY) = 3",
        "+12.345ms  stderr  \"boom\\x1b[2J\"",
        "+20.000ms  pid 7 tid 9  kill(8, SIGTERM) = 0",
    };
    rt_timeline_init(&t, b, NULL);
    size_t n = 0;
    while (rt_timeline_next(&t, &it)) {
        cr_assert_lt(n, 4);
        size_t need = rt_timeline_row(row, sizeof row, &it, rt_arch_from_name(b->meta.arch));
        cr_assert_str_eq(row, want[n]);
        cr_assert_eq(need, strlen(want[n]));
        n++;
    }
    cr_assert_eq(n, 4);

    /* a filter on the cursor; a row cut short still reports its full length */
    struct rt_filter f = {0};
    char kinds[] = "log";
    rt_filter_add_kinds(&f, kinds, NULL);
    rt_timeline_init(&t, b, &f);
    cr_assert(rt_timeline_next(&t, &it) && it.log && it.index == 0);
    cr_assert(rt_timeline_next(&t, &it) && it.log && it.index == 1);
    cr_assert_eq(rt_timeline_row(row, 10, &it, RT_ARCH_X86_64), strlen(want[2]));
    cr_assert_str_eq(row, "+12.345ms");
    cr_assert(!rt_timeline_next(&t, &it));
    rt_bundle_free(b);
}

/* ---- normalisation rules ---- */

static void norm_is(const char *in, const char *want, const char *request_id)
{
    char buf[512];
    size_t n = rt_norm_string(buf, sizeof buf, in, strlen(in), request_id);
    cr_assert_str_eq(buf, want, "normalising %s", in);
    cr_assert_eq(n, strlen(want));
}

Test(norm, string_rules)
{
    const char *rid = "8f6c3a2e-1b4d-4e5f-9a8b-7c6d5e4f3a2b";
    norm_is("/tmp/tmpa8Xk2_q/file", "/tmp/*/file", rid);
    norm_is("/tmp/pymp-k2x9abq1/listener", "/tmp/pymp-*/listener", rid);
    norm_is("/var/tmp/SESSIONabcdEF/x", "/var/tmp/*/x", rid);
    norm_is("/dev/shm/sem.Qx81Lm", "/dev/shm/sem.*", rid);
    norm_is("/tmp/report.txt", "/tmp/report.txt", rid); /* no random run */
    norm_is("/tmp/8f6c3a2e-1b4d-4e5f-9a8b-7c6d5e4f3a2b/event.json", "/tmp/{request_id}/event.json",
            rid);
    norm_is("/mnt/data/0b9e3f4c-5d6a-4b7c-8d9e-0f1a2b3c4d5e.json", "/mnt/data/{uuid}.json", rid);
    norm_is("/mnt/data/0B9E3F4C-5D6A-4B7C-8D9E-0F1A2B3C4D5E", "/mnt/data/{uuid}", NULL);
    norm_is("/proc/1234/environ", "/proc/{n}/environ", rid);
    norm_is("/proc/7/fd/3", "/proc/{n}/fd/{n}", rid);
    norm_is("/var/lang/lib/python3.12/json/__init__.py",
            "/var/lang/lib/python3.12/json/__init__.py", rid);
    norm_is("/usr/lib64/libc.so.6", "/usr/lib64/libc.so.6", rid);
    norm_is("s3://bucket/out/report-20251126.csv", "s3://bucket/out/report-{n}.csv", rid);
    norm_is(".git/objects/a3/f9c2d1e4b5a6c7d8", ".git/objects/a3/{hex}", rid);
    norm_is("deadbeefcafebabe", "deadbeefcafebabe", rid); /* letters only: a word */
    norm_is("GET /orders/8f6c3a2e-1b4d-4e5f-9a8b-7c6d5e4f3a2b?page=2 HTTP/1.1",
            "GET /orders/{request_id}?page=2 HTTP/1.1", rid);
    norm_is("abc123def456.execute-api.eu-west-1.amazonaws.com",
            "{hex}.execute-api.eu-west-1.amazonaws.com", rid);
    norm_is("cat /tmp/tmpQ0x9zz1/creds", "cat /tmp/*/creds", rid);
    norm_is("", "", rid);
}

static void peer_is(const char *in, const char *want)
{
    char buf[128];
    rt_norm_peer(buf, sizeof buf, in, strlen(in));
    cr_assert_str_eq(buf, want, "normalising %s", in);
}

Test(norm, ephemeral_ports)
{
    peer_is("10.0.0.5:49152", "10.0.0.5:*");
    peer_is("10.0.0.5:443", "10.0.0.5:443");
    peer_is("10.0.0.5:32767", "10.0.0.5:32767");
    peer_is("10.0.0.5:32768", "10.0.0.5:*");
    peer_is("[::1]:60999", "[::1]:*");
    peer_is("[2001:db8::1]:53", "[2001:db8::1]:53");
    peer_is("/run/app.sock", "/run/app.sock");
    peer_is("10.0.0.5:99999", "10.0.0.5:99999"); /* not a port */
    peer_is("", "");
}

/* ---- behaviour keys ---- */

#define RID_A "8f6c3a2e-1b4d-4e5f-9a8b-7c6d5e4f3a2b"
#define RID_B "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"

/* One invocation of a Python handler, as the recorder would store it. Everything volatile
 * differs with `run` (pids, fds, times, request id, temp names, ports, uuids, bytes, DNS
 * answers); `extra` adds a connection the handler does not normally make. */
static struct rt_bundle *python_invocation(int run, bool extra)
{
    const char *rid = run ? RID_B : RID_A;
    int32_t pid = run ? 31 : 8, child = pid + 4;
    int64_t t0 = run ? 1000 : 55000;
    char tmp[64], reqpath[96], upload[96], sh[96], peer[32], answers[32];
    snprintf(tmp, sizeof tmp, "/tmp/%s/scratch.bin", run ? "tmpZ91kq0x3" : "tmpa8Xk2_q");
    snprintf(reqpath, sizeof reqpath, "/tmp/%s/event.json", rid);
    snprintf(upload, sizeof upload, "/mnt/efs/%s.json",
             run ? "0b9e3f4c-5d6a-4b7c-8d9e-0f1a2b3c4d5e" : "c1d2e3f4-a5b6-4c7d-8e9f-000011112222");
    int shlen = snprintf(sh, sizeof sh, "sh%c-c%ccat /proc/%d/environ", 0, 0, (int)pid);
    snprintf(peer, sizeof peer, "10.0.0.5:%d", run ? 51234 : 49152);
    snprintf(answers, sizeof answers, "%s", run ? "52.94.1.7" : "52.94.9.200");

    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    m.function = "orders";
    m.request_id = (char *)rid;
    rt_writer_set_meta(w, &m);
    static const char py_argv[] = "python3\0-m\0awslambdaric\0handler.main";
    struct rt_event e = {.op = RT_OP_PROC_START, .pid = pid, .tid = pid, .ts_ns = t0, .num = {1}};
    e.str[0] = S("/var/lang/bin/python3.12");
    e.str[1] = (struct rt_str){py_argv, sizeof py_argv - 1};
    add(w, e);
    e = (struct rt_event){
        .op = RT_OP_MARK, .pid = pid, .tid = pid, .ts_ns = t0 + 10, .num = {RT_MARK_INVOKE_START}};
    e.str[0] = S(rid);
    add(w, e);
    e = (struct rt_event){.op = RT_OP_OPEN,
                          .pid = pid,
                          .tid = pid + run,
                          .ts_ns = t0 + 20,
                          .dur_ns = 900 + (uint64_t)run,
                          .result = 3 + run,
                          .num = {-100, 02000000}};
    e.str[0] = S("/var/task/handler.py");
    add(w, e);
    e = (struct rt_event){.op = RT_OP_OPEN,
                          .pid = pid,
                          .tid = pid,
                          .ts_ns = t0 + 30,
                          .result = 4 + run,
                          .num = {-100, 01 | 0100 | 01000 | 02000000, 0600}};
    e.str[0] = S(tmp);
    add(w, e);
    e.str[0] = S(reqpath);
    e.num[1] = 0;
    e.num[2] = 0;
    add(w, e);
    e.str[0] = S(upload);
    e.num[1] = 01 | 0100;
    e.num[2] = 0644;
    add(w, e);
    e = (struct rt_event){.op = RT_OP_DNS, .pid = pid, .tid = pid, .ts_ns = t0 + 40};
    e.str[0] = S("dynamodb.eu-west-1.amazonaws.com");
    e.str[1] = S(answers);
    add(w, e);
    e = (struct rt_event){.op = RT_OP_OUTBOUND,
                          .pid = pid,
                          .tid = pid,
                          .ts_ns = t0 + 50,
                          .num = {1200 + run, 333 * (run + 1), RT_PROTO_TLS, 5 + run}};
    e.str[0] = S("52.94.1.7:443");
    e.str[1] = S("dynamodb.eu-west-1.amazonaws.com");
    add(w, e);
    e = (struct rt_event){.op = RT_OP_INBOUND,
                          .pid = pid,
                          .tid = pid,
                          .ts_ns = t0 + 60,
                          .flags = run ? RT_EF_STILL_OPEN : 0, /* summarised before its close */
                          .num = {10, 20, RT_PROTO_HTTP, 9}};
    e.str[0] = S(peer);
    e.str[1] = S("127.0.0.1:8080");
    e.str[2] = S("GET /health HTTP/1.1");
    add(w, e);
    e = (struct rt_event){
        .op = RT_OP_FORK, .pid = pid, .tid = pid, .ts_ns = t0 + 70, .result = child};
    add(w, e);
    e = (struct rt_event){.op = RT_OP_EXEC, .pid = child, .tid = child, .ts_ns = t0 + 80};
    e.str[0] = S("/bin/sh");
    e.str[1] = (struct rt_str){sh, (size_t)shlen};
    add(w, e);
    e = (struct rt_event){
        .op = RT_OP_PROC_START, .pid = child, .tid = child, .ts_ns = t0 + 90, .num = {pid}};
    e.str[0] = S("/usr/bin/dash");
    add(w, e);
    char environ_path[64];
    snprintf(environ_path, sizeof environ_path, "/proc/%d/environ", (int)pid);
    e = (struct rt_event){.op = RT_OP_OPEN,
                          .pid = child,
                          .tid = child,
                          .ts_ns = t0 + 100,
                          .result = 3,
                          .flags = RT_EF_ENVIRON_READ | (run ? RT_EF_OUTSIDE : 0),
                          .num = {-100, 0}};
    e.str[0] = S(environ_path);
    add(w, e);
    e = (struct rt_event){
        .op = RT_OP_KILL, .pid = pid, .tid = pid, .ts_ns = t0 + 110, .num = {child, 9}};
    add(w, e);
    e = (struct rt_event){.op = RT_OP_CONNECT,
                          .pid = pid,
                          .tid = pid,
                          .ts_ns = t0 + 120,
                          .result = -111,
                          .num = {6 + run}};
    e.str[0] = S("127.0.0.1:5432");
    add(w, e);
    if (extra) {
        e = (struct rt_event){
            .op = RT_OP_CONNECT, .pid = child, .tid = child, .ts_ns = t0 + 130, .num = {4}};
        e.str[0] = S("203.0.113.9:4444");
        add(w, e);
    }
    return seal(w);
}

Test(keys, exact_keys_of_a_realistic_invocation)
{
    struct rt_bundle *b = python_invocation(0, false);
    struct rt_keys k;
    cr_assert_eq(rt_keys_of_bundle(b, &k), RT_OK);
    const char *want[] = {
        "/var/lang/bin/python3.12 proc_start(\"/var/lang/bin/python3.12\", [\"python3\", \"-m\", "
        "\"awslambdaric\", \"handler.main\"]) = ok",
        "/var/lang/bin/python3.12 mark(\"\", invoke_start) = ok",
        "/var/lang/bin/python3.12 openat(\"/var/task/handler.py\", O_RDONLY|O_CLOEXEC) = ok",
        "/var/lang/bin/python3.12 openat(\"/tmp/*/scratch.bin\", O_WRONLY|O_CREAT|O_TRUNC|"
        "O_CLOEXEC, 0600) = ok",
        "/var/lang/bin/python3.12 openat(\"/tmp/{request_id}/event.json\", O_RDONLY) = ok",
        "/var/lang/bin/python3.12 openat(\"/mnt/efs/{uuid}.json\", O_WRONLY|O_CREAT, 0644) = ok",
        "/var/lang/bin/python3.12 getaddrinfo(\"dynamodb.eu-west-1.amazonaws.com\") = ok",
        "/var/lang/bin/python3.12 outbound(\"52.94.1.7:443\", "
        "\"dynamodb.eu-west-1.amazonaws.com\", "
        "\"\", tls) = ok",
        "/var/lang/bin/python3.12 inbound(\"10.0.0.5:*\", \"127.0.0.1:8080\", \"GET /health "
        "HTTP/1.1\", http) = ok",
        "/var/lang/bin/python3.12 fork() = ok",
        "/var/lang/bin/python3.12>/var/lang/bin/python3.12 execve(\"/bin/sh\", [\"sh\", \"-c\", "
        "\"cat /proc/{n}/environ\"]) "
        "= ok",
        "/var/lang/bin/python3.12>/usr/bin/dash proc_start(\"/usr/bin/dash\", []) = ok",
        "/var/lang/bin/python3.12>/usr/bin/dash openat(\"/proc/{n}/environ\", O_RDONLY) = ok "
        "[environ_read]",
        "/var/lang/bin/python3.12 kill(/var/lang/bin/python3.12>/usr/bin/dash, SIGKILL) = ok",
        "/var/lang/bin/python3.12 connect(\"127.0.0.1:5432\") = ECONNREFUSED",
    };
    cr_assert_eq(k.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < k.n; i++)
        cr_assert_str_eq(k.key[i], want[i], "key %zu: %s", i, k.key[i]);
    rt_keys_free(&k);
    rt_bundle_free(b);
}

static void key_set(int run, bool extra, struct rt_keys *k)
{
    struct rt_bundle *b = python_invocation(run, extra);
    cr_assert_eq(rt_keys_of_bundle(b, k), RT_OK);
    rt_keys_sort_unique(k);
    rt_bundle_free(b);
}

Test(keys, two_invocations_of_one_handler_have_equal_key_sets)
{
    struct rt_keys a, b;
    key_set(0, false, &a);
    key_set(1, false, &b);
    cr_assert_eq(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        cr_assert_str_eq(a.key[i], b.key[i]);
    rt_keys_free(&a);
    rt_keys_free(&b);
}

Test(keys, a_new_behaviour_is_a_new_key)
{
    struct rt_keys a, b;
    key_set(0, false, &a);
    key_set(1, true, &b);
    cr_assert_eq(b.n, a.n + 1);
    bool found = false;
    for (size_t i = 0; i < b.n; i++)
        found |= !strcmp(b.key[i], "/var/lang/bin/python3.12>/usr/bin/dash "
                                   "connect(\"203.0.113.9:4444\") = ok");
    cr_assert(found, "the reverse shell's connect is a key of its own");
    rt_keys_free(&a);
    rt_keys_free(&b);
}

/* ---- docs/analysis.md: the rules table is generated from RT_NORM_RULES ---- */

static char *rules_markdown(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "| rule | applies to | becomes | why |\n| --- | --- | --- | --- |\n");
    for (unsigned r = 0; r < RT_NORM__COUNT; r++) {
        const struct rt_norm_rule_info *i = rt_norm_rule_info(r);
        fprintf(f, "| %s | %s | %s | %s |\n", i->name, i->applies, i->replacement, i->doc);
    }
    fclose(f);
    return text;
}

Test(keys, docs_rules_table_matches_the_code)
{
    char *want = rules_markdown();
    if (getenv("RT_PRINT_TABLES")) {
        fputs(want, stdout);
        free(want);
        return;
    }
    FILE *f = fopen("docs/analysis.md", "r");
    cr_assert(f, "docs/analysis.md must exist (tests run from the repository root)");
    static char doc[64 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *begin = strstr(doc, "<!-- rules:begin -->\n");
    const char *end = strstr(doc, "<!-- rules:end -->");
    cr_assert(begin && end && end > begin, "rules markers missing in docs/analysis.md");
    begin += strlen("<!-- rules:begin -->\n");
    cr_assert((size_t)(end - begin) == strlen(want) && !memcmp(begin, want, strlen(want)),
              "docs/analysis.md rules differ from RT_NORM_RULES; regenerate with\n"
              "RT_PRINT_TABLES=1 build/tests/unit/test_analysis --filter keys/docs*");
    free(want);
}

/* Probes (issue 12): a probe's key keeps the path, flags, mode and result, drops the dirfd;
 * probe_repeats drops its count (how often a runtime repeats a stat depends on its caches). */
static struct rt_bundle *probe_invocation(int run)
{
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    m.function = "probes";
    m.request_id = run ? RID_B : RID_A;
    rt_writer_set_meta(w, &m);
    int32_t pid = run ? 40 : 7;
    struct rt_event e = {.op = RT_OP_PROC_START, .pid = pid, .tid = pid, .ts_ns = 10};
    e.str[0] = S("/var/lang/bin/node");
    add(w, e);
    e = (struct rt_event){
        .op = RT_OP_STAT, .pid = pid, .tid = pid, .ts_ns = 20, .num = {run ? 5 : 3, 0x100, 040755}};
    e.str[0] = S("/var/task/node_modules");
    add(w, e);
    e = (struct rt_event){
        .op = RT_OP_ACCESS, .pid = pid, .tid = pid, .ts_ns = 30, .result = -2, .num = {-100, 4}};
    e.str[0] = S("/root/.aws/credentials");
    add(w, e);
    e = (struct rt_event){
        .op = RT_OP_PROBE_REPEATS, .pid = pid, .tid = pid, .ts_ns = 40, .num = {run ? 300 : 3}};
    add(w, e);
    return seal(w);
}

Test(keys, probes_keep_the_path_and_answer_and_drop_counts)
{
    struct rt_keys k[2];
    for (int run = 0; run < 2; run++) {
        struct rt_bundle *b = probe_invocation(run);
        cr_assert_eq(rt_keys_of_bundle(b, &k[run]), RT_OK);
        rt_bundle_free(b);
    }
    const char *want[] = {
        "/var/lang/bin/node proc_start(\"/var/lang/bin/node\", []) = ok",
        "/var/lang/bin/node stat(\"/var/task/node_modules\", 0x100, 040755) = ok",
        "/var/lang/bin/node access(\"/root/.aws/credentials\", 4, 0) = ENOENT",
        "/var/lang/bin/node probe_repeats() = ok",
    };
    for (int run = 0; run < 2; run++) {
        cr_assert_eq(k[run].n, sizeof want / sizeof want[0]);
        for (size_t i = 0; i < k[run].n; i++)
            cr_assert_str_eq(k[run].key[i], want[i], "run %d key %zu: %s", run, i, k[run].key[i]);
        rt_keys_free(&k[run]);
    }
}
