/* Unit tests of the curses-free models of `runtrail view` (viewer/vm_*.h) over a known bundle:
 * timeline rows equal to what `show` prints (analysis/timeline.h over the whole decode), log
 * lines merged once the scan completes, lazy reading (rows before the whole bundle is read),
 * folds hiding exactly the descendants' rows, toggles, search forward/backward with wrap and
 * smart case, jumps to flagged events and findings, the time gutter, the process tree, the
 * status line of a whole and of a truncated bundle; detail lines of a payload with a redacted
 * field and JSON held in a string, folding; diff lines of two known bundles (summary, hunks,
 * side by side; in memory and from files); text cells (wide, combining, invalid UTF-8,
 * controls) and that no control byte survives them. */
#include "formats/bundle.h"
#include "formats/render.h"
#include "analysis/timeline.h"
#include "viewer/vm_cell.h"
#include "viewer/vm_detail.h"
#include "viewer/vm_diff.h"
#include "viewer/vm_timeline.h"

#include <criterion/criterion.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char payload_json[] =
    "{\"user\":\"ann\",\"password\":\"<redacted:hmac:00112233445566778899aabbccddeeff>\","
    "\"items\":[1,2],\"body\":\"{\\\"card\\\":\\\"<redacted>\\\",\\\"n\\\":3}\"}";

static void add_ev(struct rt_writer *w, int64_t ts, int32_t pid, unsigned op, const char *s0,
                   int64_t n0, int64_t result, uint64_t dur, uint32_t flags)
{
    struct rt_event e = {0};
    e.ts_ns = ts;
    e.pid = e.tid = pid;
    e.op = (uint16_t)op;
    e.result = result;
    e.dur_ns = dur;
    e.flags = flags;
    if (s0)
        e.str[0] = (struct rt_str){s0, strlen(s0)};
    e.num[0] = n0;
    cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
}

/* The known bundle: node (pid 10) runs /bin/sh (20), which runs curl (30); a log line with an
 * escape sequence between curl's start and its connect. variant 1 (B for the diff): one more
 * connect; variant 2: sh opens /etc/shadow instead of /etc/passwd. */
static uint8_t *known_bundle(size_t *len, int variant)
{
    bool extra = variant == 1;
    struct rt_writer *w = rt_writer_new(NULL);
    struct rt_meta m = {0};
    m.function = "vm-test";
    m.request_id = extra ? "req-2" : "req-1";
    m.sandbox_id = "sbx-vm";
    m.status = RT_STATUS_OK;
    m.duration_ns = 10000000;
    m.arch = "x86_64";
    m.hash_key_id = "configured:abcd";
    m.recorder_cpu_ns = 1234567;
    rt_writer_set_meta(w, &m);
    struct rt_payload p = {0};
    p.present = true;
    p.mode = RT_PAYLOAD_REDACTED;
    p.data = (uint8_t *)payload_json;
    p.len = strlen(payload_json);
    p.original_len = p.len;
    cr_assert_eq(rt_writer_set_payload(w, 'E', &p), RT_OK);
    struct rt_payload r = {.present = true, .data = (uint8_t *)"{\"ok\":true}", .len = 11};
    r.original_len = 11;
    cr_assert_eq(rt_writer_set_payload(w, 'R', &r), RT_OK);
    add_ev(w, 1000, 10, RT_OP_PROC_START, "/var/lang/bin/node", 1, 0, 0, 0);
    add_ev(w, 2000, 10, RT_OP_MARK, "req-1", RT_MARK_INVOKE_START, 0, 0, 0);
    add_ev(w, 3000, 10, RT_OP_OPEN, "/var/task/index.js", -100, 3, 500, 0);
    add_ev(w, 4000, 20, RT_OP_PROC_START, "/bin/sh", 10, 0, 0, 0);
    add_ev(w, 5000, 20, RT_OP_OPEN, variant == 2 ? "/etc/shadow" : "/etc/passwd", -100, -2, 0, 0);
    add_ev(w, 6000, 30, RT_OP_PROC_START, "/usr/bin/curl", 20, 0, 0, 0);
    add_ev(w, 7000, 30, RT_OP_CONNECT, "10.0.0.1:443", 5, 0, 2000000, 0);
    if (extra)
        add_ev(w, 7500, 30, RT_OP_CONNECT, "198.51.100.7:4444", 6, 0, 0, 0);
    add_ev(w, 8000, 10, RT_OP_OPEN, "/proc/self/environ", -100, 4, 0, RT_EF_ENVIRON_READ);
    add_ev(w, 9000, 10, RT_OP_MARK, "req-1", RT_MARK_RESPONSE, 0, 0, 0);
    rt_writer_add_log(w, 6500, 1, "hello \x1b[31m", 11);
    uint8_t *out;
    cr_assert_eq(rt_writer_finish(w, 3, &out, len, NULL), RT_OK);
    rt_writer_free(w);
    return out;
}

/* n OPEN events of pid 7 over 500 paths (one unique late one), one flagged every 1000. */
static uint8_t *big_bundle(size_t n, size_t *len, double keep)
{
    struct rt_limits lim = {.max_events = n};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m = {.function = "vm-big", .sandbox_id = "sbx"};
    rt_writer_set_meta(w, &m);
    char path[64];
    for (size_t i = 0; i < n; i++) {
        if (i == 39998) /* one late, unique string: the strings stay few, the frame small */
            snprintf(path, sizeof path, "/tmp/late-marker");
        else
            snprintf(path, sizeof path, "/var/task/file-%06zu.js", i % 500);
        add_ev(w, (int64_t)i * 1000, 7, RT_OP_OPEN, path, -100, 3, 10,
               i % 1000 == 999 ? RT_EF_EXEC_TMP : 0);
    }
    uint8_t *raw, *out;
    size_t raw_len;
    cr_assert_eq(rt_writer_finish_raw(w, &raw, &raw_len, NULL), RT_OK);
    rt_writer_free(w);
    /* keep < 1: a bundle cut short inside its events (a valid zstd frame of a cut stream) */
    cr_assert_eq(rt_bundle_compress(raw, (size_t)((double)raw_len * keep), 3, &out, len), RT_OK);
    free(raw);
    return out;
}

static struct rt_vm_timeline *open_known(uint8_t **buf)
{
    size_t len;
    *buf = known_bundle(&len, 0);
    struct rt_vm_timeline *tl = NULL;
    struct rt_errinfo ei;
    cr_assert_eq(rt_vm_timeline_open_mem(*buf, len, &tl, &ei), RT_OK);
    while (!rt_vm_timeline_scan(tl, 100)) {
    }
    return tl;
}

/* The entries of every visible row, as "e0 e1 l0 ...". */
static void entries(struct rt_vm_timeline *tl, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t r = 0; r < rt_vm_timeline_rows(tl); r++) {
        struct rt_vm_row row;
        struct rt_errinfo ei;
        cr_assert_eq(rt_vm_timeline_row(tl, r, &row, &ei), RT_OK);
        n += (size_t)snprintf(out + n, cap - n, "%s%c%zu", r ? " " : "",
                              row.entry.is_log ? 'l' : 'e', row.entry.index);
    }
}

static void no_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        cr_assert(((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] != 0x7f),
                  "control byte 0x%02x at %zu in \"%s\"", (unsigned char)s[i], i, s);
}

TestSuite(viewmodel, .init = NULL);

Test(viewmodel, rows_are_show_rows)
{
    uint8_t *buf;
    struct rt_vm_timeline *tl = open_known(&buf);
    char got[256];
    entries(tl, got, sizeof got);
    cr_assert_str_eq(got, "e0 e1 e2 e3 e4 e5 l0 e6 e7 e8");
    /* each row's text is the row `show` prints, over the whole decode */
    size_t len;
    uint8_t *again = known_bundle(&len, 0);
    struct rt_bundle *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(again, len, &b, &ei), RT_OK);
    struct rt_timeline t;
    struct rt_timeline_item it;
    rt_timeline_init(&t, b, NULL);
    size_t r = 0;
    char want[1024];
    while (rt_timeline_next(&t, &it)) {
        struct rt_vm_row row;
        cr_assert_eq(rt_vm_timeline_row(tl, r, &row, &ei), RT_OK);
        rt_timeline_row(want, sizeof want, &it, RT_ARCH_X86_64);
        cr_assert_str_eq(row.text, want, "row %zu", r);
        no_control(row.text, row.text_len);
        r++;
    }
    cr_assert_eq(r, 10);
    struct rt_vm_row row;
    cr_assert_eq(rt_vm_timeline_row(tl, 2, &row, &ei), RT_OK);
    cr_assert(strstr(row.text, "openat(AT_FDCWD, \"/var/task/index.js\", O_RDONLY) = 3"), "%s",
              row.text);
    cr_assert_eq(row.dur_ns, 500);
    cr_assert_eq(row.gap_ns, 1000);
    cr_assert_eq(row.kind, RT_KIND_FILE);
    cr_assert_eq(rt_vm_timeline_row(tl, 6, &row, &ei), RT_OK);
    cr_assert(row.entry.is_log);
    cr_assert(strstr(row.text, "stdout  \"hello \\x1b[31m\""), "%s", row.text);
    cr_assert_eq(rt_vm_timeline_row(tl, 7, &row, &ei), RT_OK);
    cr_assert_eq(row.depth, 2); /* curl under sh under node */
    cr_assert_eq(row.dur_level, 7, "2 ms of 10 ms: level %u", row.dur_level);
    cr_assert_eq(rt_vm_timeline_row(tl, 10, &row, &ei), RT_ERR_INVALID_ARG);
    /* every row shown, the log line between: entries and rows map both ways */
    size_t at;
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){false, 5}, &at));
    cr_assert_eq(at, 5);
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){true, 0}, &at));
    cr_assert_eq(at, 6);
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){false, 6}, &at));
    cr_assert_eq(at, 7);
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){false, 8}, &at));
    cr_assert_eq(at, 9);
    rt_bundle_free(b);
    free(again);
    rt_vm_timeline_free(tl);
    free(buf);
}

Test(viewmodel, fold_hides_exactly_the_descendants)
{
    uint8_t *buf;
    struct rt_vm_timeline *tl = open_known(&buf);
    char got[256];
    cr_assert_eq(rt_vm_timeline_procs(tl), 3);
    const struct rt_vm_proc *p = rt_vm_timeline_proc(tl, 2);
    cr_assert_eq(p->pid, 30);
    cr_assert_eq(p->ppid, 20);
    cr_assert_eq(p->depth, 2);
    cr_assert_str_eq(p->exe, "/usr/bin/curl");
    cr_assert_eq(rt_vm_timeline_proc(tl, 0)->descendants, 2);

    unsigned gen = rt_vm_timeline_gen(tl);
    cr_assert_eq(rt_vm_timeline_fold(tl, 20, true), RT_OK);
    cr_assert_neq(rt_vm_timeline_gen(tl), gen);
    entries(tl, got, sizeof got);
    cr_assert_str_eq(got, "e0 e1 e2 e3 e4 l0 e7 e8"); /* curl's start and connect gone */
    cr_assert(rt_vm_timeline_proc(tl, 2)->hidden);

    cr_assert_eq(rt_vm_timeline_fold(tl, 10, true), RT_OK);
    entries(tl, got, sizeof got);
    cr_assert_str_eq(got, "e0 e1 e2 l0 e7 e8"); /* sh and curl gone, node's own rows stay */

    /* a hidden entry finds the next visible row */
    size_t row;
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){false, 5}, &row));
    cr_assert_eq(row, 3); /* l0 */

    cr_assert_eq(rt_vm_timeline_fold(tl, 10, false), RT_OK);
    cr_assert_eq(rt_vm_timeline_fold(tl, 20, false), RT_OK);
    entries(tl, got, sizeof got);
    cr_assert_str_eq(got, "e0 e1 e2 e3 e4 e5 l0 e6 e7 e8");
    cr_assert_eq(rt_vm_timeline_fold(tl, 999, true), RT_ERR_INVALID_ARG);
    rt_vm_timeline_free(tl);
    free(buf);
}

Test(viewmodel, kind_toggles)
{
    uint8_t *buf;
    struct rt_vm_timeline *tl = open_known(&buf);
    char got[256];
    rt_vm_timeline_set_kind(tl, RT_KIND_FILE, false);
    entries(tl, got, sizeof got);
    cr_assert_str_eq(got, "e0 e1 e3 e5 l0 e6 e8");
    /* entries find their rows across the log line (a fuzzer found this once) */
    size_t row;
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){false, 6}, &row));
    cr_assert_eq(row, 5);
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){true, 0}, &row));
    cr_assert_eq(row, 4);
    cr_assert(rt_vm_timeline_find(tl, (struct rt_vm_entry){false, 4}, &row)); /* hidden */
    cr_assert_eq(row, 3);
    rt_vm_timeline_set_kind(tl, RT_KIND_LOG, false);
    rt_vm_timeline_set_kind(tl, RT_KIND_MARK, false);
    entries(tl, got, sizeof got);
    cr_assert_str_eq(got, "e0 e3 e5 e6");
    cr_assert(!rt_vm_timeline_kind_shown(tl, RT_KIND_LOG));
    rt_vm_timeline_set_kind(tl, RT_KIND_FILE, true);
    rt_vm_timeline_set_kind(tl, RT_KIND_LOG, true);
    rt_vm_timeline_set_kind(tl, RT_KIND_MARK, true);
    entries(tl, got, sizeof got);
    cr_assert_str_eq(got, "e0 e1 e2 e3 e4 e5 l0 e6 e7 e8");
    rt_vm_timeline_free(tl);
    free(buf);
}

static enum rt_vm_search run_search(struct rt_vm_timeline *tl, size_t *row, bool *wrapped)
{
    enum rt_vm_search s;
    while ((s = rt_vm_timeline_search_step(tl, 3, row, wrapped)) == RT_VM_SEARCH_RUNNING) {
    }
    return s;
}

Test(viewmodel, search_forward_backward_wraps)
{
    uint8_t *buf;
    struct rt_vm_timeline *tl = open_known(&buf);
    size_t row = 0;
    bool wrapped = true;
    cr_assert_eq(rt_vm_timeline_search_start(tl, "openat", SIZE_MAX, 1), RT_OK);
    cr_assert_eq(run_search(tl, &row, &wrapped), RT_VM_SEARCH_FOUND);
    cr_assert_eq(row, 2);
    cr_assert(!wrapped);
    size_t want[] = {4, 8, 2};
    for (size_t k = 0; k < 3; k++) {
        cr_assert_eq(rt_vm_timeline_search_again(tl, row, 1), RT_OK);
        cr_assert_eq(run_search(tl, &row, &wrapped), RT_VM_SEARCH_FOUND);
        cr_assert_eq(row, want[k], "n #%zu: row %zu", k, row);
        cr_assert_eq(wrapped, k == 2);
    }
    /* N: backwards from row 2 wraps to the last match */
    cr_assert_eq(rt_vm_timeline_search_again(tl, row, -1), RT_OK);
    cr_assert_eq(run_search(tl, &row, &wrapped), RT_VM_SEARCH_FOUND);
    cr_assert_eq(row, 8);
    cr_assert(wrapped);
    cr_assert_eq(rt_vm_timeline_search_again(tl, row, -1), RT_OK);
    cr_assert_eq(run_search(tl, &row, &wrapped), RT_VM_SEARCH_FOUND);
    cr_assert_eq(row, 4);
    /* smart case: an uppercase letter makes it case-sensitive */
    cr_assert_eq(rt_vm_timeline_search_start(tl, "OPENAT", 0, 1), RT_OK);
    cr_assert_eq(run_search(tl, &row, NULL), RT_VM_SEARCH_NOT_FOUND);
    cr_assert_eq(rt_vm_timeline_search_start(tl, "HELLO", 0, 1), RT_OK);
    cr_assert_eq(run_search(tl, &row, NULL), RT_VM_SEARCH_NOT_FOUND);
    cr_assert_eq(rt_vm_timeline_search_start(tl, "Hello", 0, 1), RT_OK);
    cr_assert_eq(run_search(tl, &row, NULL), RT_VM_SEARCH_NOT_FOUND);
    cr_assert_eq(rt_vm_timeline_search_start(tl, "hello", 0, 1), RT_OK);
    cr_assert_eq(run_search(tl, &row, NULL), RT_VM_SEARCH_FOUND);
    cr_assert_eq(row, 6);
    /* the escaped form is what is matched */
    cr_assert_eq(rt_vm_timeline_search_start(tl, "\\x1b[31m", 0, 1), RT_OK);
    cr_assert_eq(run_search(tl, &row, NULL), RT_VM_SEARCH_FOUND);
    cr_assert_eq(row, 6);
    cr_assert_eq(rt_vm_timeline_search_start(tl, "", 0, 1), RT_ERR_INVALID_ARG);
    rt_vm_timeline_free(tl);
    free(buf);
}

Test(viewmodel, next_flagged_and_findings)
{
    uint8_t *buf;
    struct rt_vm_timeline *tl = open_known(&buf);
    size_t row;
    cr_assert(rt_vm_timeline_next_marked(tl, SIZE_MAX, 1, &row));
    cr_assert_eq(row, 8); /* environ_read */
    struct rt_vm_row r;
    struct rt_errinfo ei;
    cr_assert_eq(rt_vm_timeline_row(tl, 8, &r, &ei), RT_OK);
    cr_assert(r.flagged && !r.finding);
    cr_assert(!rt_vm_timeline_next_marked(tl, 8, 1, &row));
    size_t findings[] = {6, 4};
    cr_assert_eq(rt_vm_timeline_set_findings(tl, findings, 2), RT_OK);
    cr_assert(rt_vm_timeline_next_marked(tl, 0, 1, &row));
    cr_assert_eq(row, 4);
    cr_assert(rt_vm_timeline_next_marked(tl, 4, 1, &row));
    cr_assert_eq(row, 7); /* event 6, after the log line */
    cr_assert_eq(rt_vm_timeline_row(tl, 7, &r, &ei), RT_OK);
    cr_assert(r.finding && !r.flagged);
    cr_assert(rt_vm_timeline_next_marked(tl, SIZE_MAX, -1, &row));
    cr_assert_eq(row, 8);
    cr_assert(rt_vm_timeline_next_marked(tl, 7, -1, &row));
    cr_assert_eq(row, 4);
    cr_assert(!rt_vm_timeline_next_marked(tl, 4, -1, &row));
    rt_vm_timeline_free(tl);
    free(buf);
}

Test(viewmodel, status_line_of_a_whole_bundle)
{
    uint8_t *buf;
    struct rt_vm_timeline *tl = open_known(&buf);
    char line[512];
    rt_vm_timeline_status_line(tl, line, sizeof line);
    cr_assert(strstr(line, "ok 10.000ms"), "%s", line);
    cr_assert(strstr(line, "marks: invoke_start response"), "%s", line);
    cr_assert(strstr(line, "dropped 0"), "%s", line);
    cr_assert(strstr(line, "9 events"), "%s", line);
    cr_assert(strstr(line, "verified"), "%s", line);
    struct rt_vm_status st;
    rt_vm_timeline_status(tl, &st);
    cr_assert(st.complete && st.has_response && !st.damage);
    cr_assert_eq(st.state, RT_CURSOR_VERIFIED);
    rt_vm_timeline_free(tl);
    free(buf);
}

Test(viewmodel, lazy_then_truncated)
{
    size_t len;
    uint8_t *buf = big_bundle(40000, &len, 1.0);
    struct rt_vm_timeline *tl;
    struct rt_errinfo ei;
    cr_assert_eq(rt_vm_timeline_open_mem(buf, len, &tl, &ei), RT_OK);
    cr_assert_eq(rt_vm_timeline_rows(tl), 0);
    cr_assert_geq(rt_vm_timeline_ensure(tl, 50), 50);
    cr_assert(!rt_vm_timeline_complete(tl), "the first page must not need the whole bundle");
    cr_assert_lt(rt_vm_timeline_events(tl), 40000);
    char line[512];
    rt_vm_timeline_status_line(tl, line, sizeof line);
    cr_assert(strstr(line, "so far, reading"), "%s", line);
    struct rt_vm_row r;
    cr_assert_eq(rt_vm_timeline_row(tl, 49, &r, &ei), RT_OK);
    cr_assert(strstr(r.text, "file-000049.js"), "%s", r.text);
    /* a forward search reads on past what is known */
    size_t row;
    cr_assert_eq(rt_vm_timeline_search_start(tl, "late-marker", 49, 1), RT_OK);
    cr_assert_eq(run_search(tl, &row, NULL), RT_VM_SEARCH_FOUND);
    cr_assert_eq(row, 39998);
    cr_assert_eq(rt_vm_timeline_row(tl, 3, &r, &ei), RT_OK); /* back: through a checkpoint */
    cr_assert(strstr(r.text, "file-000003.js"), "%s", r.text);
    while (!rt_vm_timeline_scan(tl, 5000)) {
    }
    cr_assert_eq(rt_vm_timeline_rows(tl), 40000);
    rt_vm_timeline_free(tl);

    /* `?` from the end before the end is known: the steps read on, it is no wrap */
    cr_assert_eq(rt_vm_timeline_open_mem(buf, len, &tl, &ei), RT_OK);
    rt_vm_timeline_ensure(tl, 48);
    cr_assert_eq(rt_vm_timeline_search_start(tl, "late-marker", SIZE_MAX, -1), RT_OK);
    cr_assert(!rt_vm_timeline_complete(tl), "starting a search reads nothing yet");
    bool wrapped = true;
    cr_assert_eq(run_search(tl, &row, &wrapped), RT_VM_SEARCH_FOUND);
    cr_assert_eq(row, 39998);
    cr_assert(!wrapped);
    rt_vm_timeline_free(tl);
    free(buf);

    /* cut the bundle: what could be read opens, the status says what could not */
    buf = big_bundle(150000, &len, 0.6); /* 3 EVENTS blocks, cut in the second */
    int orc = rt_vm_timeline_open_mem(buf, len, &tl, &ei);
    cr_assert_eq(orc, RT_OK, "%s %s", rt_strerror(orc), ei.detail);
    while (!rt_vm_timeline_scan(tl, 5000)) {
    }
    struct rt_vm_status st;
    rt_vm_timeline_status(tl, &st);
    cr_assert_neq(st.damage, RT_OK);
    cr_assert_geq(st.events, 65536); /* the first EVENTS block, whole */
    cr_assert_lt(st.events, 150000);
    cr_assert_eq(rt_vm_timeline_rows(tl), st.events);
    rt_vm_timeline_status_line(tl, line, sizeof line);
    cr_assert(strstr(line, "could not be read"), "%s", line);
    cr_assert(strstr(line, "marks: none") && !strstr(line, "verified"), "%s", line);
    rt_vm_timeline_free(tl);
    free(buf);
}

/* ---- detail ---- */

static const struct rt_vm_line *find_line(struct rt_vm_detail *d, const char *needle, size_t *at)
{
    for (size_t i = 0; i < rt_vm_detail_count(d); i++) {
        const struct rt_vm_line *l = rt_vm_detail_line(d, i);
        if (strstr(l->text, needle)) {
            if (at)
                *at = i;
            return l;
        }
    }
    return NULL;
}

Test(viewmodel, detail_payload_redacted_and_folds)
{
    struct rt_vm_detail *d = rt_vm_detail_new();
    struct rt_payload p = {.present = true, .mode = RT_PAYLOAD_REDACTED};
    p.data = (uint8_t *)payload_json;
    p.len = p.original_len = strlen(payload_json);
    cr_assert_eq(rt_vm_detail_add_payload(d, "payload (event)", &p), RT_OK);
    const struct rt_vm_line *l = find_line(d, "\"password\": ", NULL);
    cr_assert_not_null(l);
    cr_assert_str_eq(l->text, "    \"password\": \"<redacted:hmac:00112233445566778899aabbccddeeff>"
                              "\",  [redacted by the recorder]");
    cr_assert_eq(l->style, RT_VM_LINE_REDACTED);
    cr_assert(l->redacted);
    l = find_line(d, "\"user\": ", NULL);
    cr_assert_str_eq(l->text, "    \"user\": \"ann\",");
    cr_assert(!l->redacted);
    cr_assert_eq(l->depth, 1);
    size_t body;
    l = find_line(d, "\"body\": (JSON in a string) {", &body);
    cr_assert_not_null(l);
    cr_assert(l->foldable && l->redacted);
    l = find_line(d, "\"card\": \"<redacted>\"", NULL);
    cr_assert_not_null(l);
    cr_assert_eq(l->depth, 2);
    cr_assert_eq(l->style, RT_VM_LINE_REDACTED);

    size_t n = rt_vm_detail_count(d), root;
    l = find_line(d, "  {", &root);
    cr_assert(l && l->foldable);
    /* fold the body: its 2 members and closing brace go */
    cr_assert(rt_vm_detail_toggle(d, body));
    cr_assert_eq(rt_vm_detail_count(d), n - 3);
    cr_assert_str_eq(rt_vm_detail_line(d, body)->text,
                     "    \"body\": (JSON in a string) {...} 2 members, redacted inside");
    cr_assert(rt_vm_detail_toggle(d, root));
    cr_assert_eq(rt_vm_detail_count(d), root + 1);
    cr_assert_str_eq(rt_vm_detail_line(d, root)->text, "  {...} 4 members, redacted inside");
    cr_assert(!rt_vm_detail_toggle(d, 0)); /* the heading does not fold */
    rt_vm_detail_fold_all(d, 0, false);
    cr_assert_eq(rt_vm_detail_count(d), n);
    for (size_t i = 0; i < n; i++)
        no_control(rt_vm_detail_line(d, i)->text, strlen(rt_vm_detail_line(d, i)->text));
    rt_vm_detail_free(d);
}

Test(viewmodel, detail_event_and_bundle)
{
    uint8_t *buf;
    struct rt_vm_timeline *tl = open_known(&buf);
    struct rt_vm_detail *d = rt_vm_detail_new();
    const struct rt_event *ev;
    struct rt_errinfo ei;
    cr_assert_eq(rt_vm_timeline_event(tl, 7, &ev, &ei), RT_OK);
    cr_assert_eq(rt_vm_detail_add_event(d, ev, 7, rt_vm_timeline_arch(tl)), RT_OK);
    cr_assert_eq(rt_vm_detail_add_bundle(d, rt_vm_timeline_bundle(tl), RT_CURSOR_VERIFIED), RT_OK);
    const struct rt_vm_line *l = find_line(d, "event flags", NULL);
    cr_assert_str_eq(l->text, "  event flags      environ_read");
    cr_assert_eq(l->style, RT_VM_LINE_WARN);
    cr_assert_str_eq(find_line(d, "  path ", NULL)->text,
                     "  path             \"/proc/self/environ\"");
    cr_assert_str_eq(find_line(d, "  flags            O_", NULL)->text,
                     "  flags            O_RDONLY");
    cr_assert_str_eq(find_line(d, "position", NULL)->text,
                     "  position         bundle 0 of its sandbox");
    cr_assert(find_line(d, "verified: footer digest and zstd checksum match", NULL));
    cr_assert(find_line(d, "previous         none (the first bundle of its sandbox)", NULL));
    cr_assert_str_eq(find_line(d, "recorder cpu", NULL)->text, "  recorder cpu     1.235 ms");
    cr_assert(find_line(d, "  \"ok\": true", NULL), "the response is shown as JSON");
    rt_vm_detail_clear(d);
    cr_assert_eq(rt_vm_detail_count(d), 0);
    rt_vm_detail_free(d);
    rt_vm_timeline_free(tl);
    free(buf);
}

/* ---- diff ---- */

static bool has_line(const struct rt_vm_diff *d, const char *needle, enum rt_vm_diff_style style)
{
    for (size_t i = 0; i < rt_vm_diff_count(d); i++) {
        const struct rt_vm_diff_line *l = rt_vm_diff_line(d, i);
        if (strstr(l->text, needle) && l->style == style)
            return true;
    }
    return false;
}

Test(viewmodel, diff_two_known_bundles)
{
    size_t la, lb;
    uint8_t *za = known_bundle(&la, 0), *zb = known_bundle(&lb, 1);
    struct rt_bundle *a, *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(za, la, &a, &ei), RT_OK);
    cr_assert_eq(rt_bundle_open_mem(zb, lb, &b, &ei), RT_OK);
    struct rt_vm_diff *d;
    cr_assert_eq(rt_vm_diff_bundles(a, b, "a.rtb", "b.rtb", &d), RT_OK);
    cr_assert(rt_vm_diff_differs(d));
    cr_assert_str_eq(rt_vm_diff_line(d, 0)->text, "--- a.rtb  function vm-test  request req-1");
    cr_assert_str_eq(rt_vm_diff_line(d, 1)->text, "+++ b.rtb  function vm-test  request req-2");
    size_t summary = rt_vm_diff_summary_lines(d);
    cr_assert_gt(summary, 3);
    bool found = false;
    for (size_t i = 2; i < summary; i++)
        found |= strstr(rt_vm_diff_line(d, i)->text, "new destinations: 1 (") &&
                 strstr(rt_vm_diff_line(d, i)->text, "198.51.100.7:4444");
    cr_assert(found, "the new destination is in the summary");
    cr_assert(has_line(d, "@@ -", RT_VM_DIFF_HUNK));
    cr_assert(has_line(d, "+", RT_VM_DIFF_ADDED));
    cr_assert(
        has_line(d, "++0.007ms   pid 30  connect(\"198.51.100.7:4444\", 6) = 0", RT_VM_DIFF_ADDED));
    /* side by side: a line in both has each side's row */
    size_t same = 0;
    for (size_t i = 0; i < rt_vm_diff_count(d); i++) {
        const struct rt_vm_diff_line *l = rt_vm_diff_line(d, i);
        no_control(l->text, strlen(l->text));
        if (l->style == RT_VM_DIFF_SAME) {
            cr_assert(l->left && l->right);
            cr_assert_str_eq(l->text + 1, l->left);
            same++;
        }
        if (l->style == RT_VM_DIFF_ADDED && l->text[0] == '+' && !l->unified_only)
            cr_assert(l->right && !l->left);
    }
    cr_assert_gt(same, 0);
    size_t hunk;
    cr_assert(rt_vm_diff_next_hunk(d, summary, 1, &hunk));
    cr_assert_geq(hunk, summary);

    /* the same from files, one decoded bundle at a time */
    char dir[] = "/tmp/rt-vm.XXXXXX", pa[64], pb[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(pa, sizeof pa, "%s/a.rtb", dir);
    snprintf(pb, sizeof pb, "%s/b.rtb", dir);
    FILE *f = fopen(pa, "wb");
    fwrite(za, 1, la, f);
    fclose(f);
    f = fopen(pb, "wb");
    fwrite(zb, 1, lb, f);
    fclose(f);
    struct rt_vm_diff *d2;
    int which = -1;
    cr_assert_eq(rt_vm_diff_files(pa, pb, "a.rtb", "b.rtb", &d2, &ei, &which), RT_OK);
    cr_assert_eq(rt_vm_diff_count(d2), rt_vm_diff_count(d));
    for (size_t i = 0; i < rt_vm_diff_count(d); i++)
        cr_assert_str_eq(rt_vm_diff_line(d2, i)->text, rt_vm_diff_line(d, i)->text);
    struct rt_vm_diff *d3 = NULL;
    snprintf(pb, sizeof pb, "%s/missing.rtb", dir);
    cr_assert_neq(rt_vm_diff_files(pa, pb, NULL, NULL, &d3, &ei, &which), RT_OK);
    cr_assert_eq(which, 1);
    cr_assert_null(d3);
    unlink(pa);
    snprintf(pb, sizeof pb, "%s/b.rtb", dir);
    unlink(pb);
    rmdir(dir);
    rt_vm_diff_free(d2);
    rt_vm_diff_free(d);
    rt_bundle_free(a);
    rt_bundle_free(b);
    free(za);
    free(zb);
}

Test(viewmodel, diff_against_a_baseline)
{
    size_t la, lb;
    uint8_t *za = known_bundle(&la, 0), *zb = known_bundle(&lb, 1);
    struct rt_bundle *a, *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(za, la, &a, &ei), RT_OK);
    cr_assert_eq(rt_bundle_open_mem(zb, lb, &b, &ei), RT_OK);
    struct rt_baseline *bl = rt_baseline_new("vm-test");
    cr_assert_eq(rt_baseline_learn(bl, a), RT_OK);
    struct rt_vm_diff *d;
    cr_assert_eq(rt_vm_diff_baseline(b, bl, "bl.json", &d), RT_OK);
    cr_assert(rt_vm_diff_differs(d));
    cr_assert_str_eq(rt_vm_diff_line(d, 0)->text, "--- baseline bl.json (vm-test, 1 invocations)");
    cr_assert(has_line(d, "new_destination: 1 (high)", RT_VM_DIFF_ADDED));
    cr_assert(has_line(d, "+ high new_destination 198.51.100.7:4444", RT_VM_DIFF_ADDED));
    cr_assert(has_line(d, "    event 7 ", RT_VM_DIFF_SAME));
    rt_vm_diff_free(d);
    rt_baseline_free(bl);
    rt_bundle_free(a);
    rt_bundle_free(b);
    free(za);
    free(zb);
}

/* ---- cells ---- */

static void fit(const char *s, size_t len, size_t skip, size_t width, unsigned flags,
                const char *want, size_t want_cols)
{
    char buf[RT_CELL_CAP(40)];
    size_t cols = 99;
    size_t n = rt_cell_fit(buf, sizeof buf, s, len, skip, width, flags, &cols);
    cr_assert_str_eq(buf, want, "fit(%zu, %zu)", skip, width);
    cr_assert_eq(n, strlen(want));
    cr_assert_eq(cols, want_cols, "\"%s\": %zu columns", buf, cols);
}

Test(viewmodel, cell_widths_and_cuts, .init = NULL)
{
    cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"));
    cr_assert_eq(rt_cell_width("漢字", strlen("漢字"), 0), 4);
    cr_assert_eq(rt_cell_width("e\xcc\x81", 3, 0), 1); /* e + combining acute */
    cr_assert_eq(rt_cell_width("\xff", 1, 0), 4);      /* \xff */
    cr_assert_eq(rt_cell_width("a\x1b[31m", 6, RT_CELL_RAW), 9);
    cr_assert_eq(rt_cell_width("a\\b", 3, 0), 3);
    cr_assert_eq(rt_cell_width("a\\b", 3, RT_CELL_RAW), 4);

    fit("漢字", strlen("漢字"), 0, 3, RT_CELL_PAD, "漢 ", 3); /* the cut wide char: a space */
    fit("漢字", strlen("漢字"), 1, 3, 0, " 字", 3);
    fit("漢字", strlen("漢字"), 0, 8, RT_CELL_PAD | RT_CELL_RIGHT, "    漢字", 8);
    fit("e\xcc\x81tude", 7, 0, 3, 0, "e\xcc\x81tu", 3);
    fit("\xcc\x81x", 3, 0, 4, 0, " \xcc\x81x", 2); /* a mark with no base gets a space */
    fit("abc\x1b[2Jdef", 10, 0, 20, 0, "abc\\x1b[2Jdef", 13);
    fit("ab\xff\xfe", 4, 0, 5, 0, "ab\\xf", 5);
    fit("abcdefgh", 8, 0, 5, RT_CELL_MORE, "abcd>", 5);
    fit("abcd", 4, 0, 5, RT_CELL_MORE | RT_CELL_PAD, "abcd ", 5);
    fit("x\xe2\x80\xaey", 5, 0, 10, 0, "x\\u202ey", 8); /* a bidi override, escaped */
    /* zalgo: marks beyond RT_CELL_MAX_MARKS are dropped, the cell stays bounded */
    char zalgo[2 + 40 * 2];
    zalgo[0] = 'z';
    for (int i = 0; i < 40; i++)
        memcpy(zalgo + 1 + 2 * i, "\xcc\x81", 2);
    char buf[RT_CELL_CAP(2)];
    size_t cols;
    size_t n = rt_cell_fit(buf, sizeof buf, zalgo, 81, 0, 2, RT_CELL_PAD, &cols);
    cr_assert_eq(n, 1 + 2 * RT_CELL_MAX_MARKS + 1);
    cr_assert_eq(cols, 2);
}

Test(viewmodel, cell_never_emits_a_control_byte)
{
    setlocale(LC_CTYPE, "C.UTF-8");
    uint64_t x = 0x1234567887654321ull;
    char in[64], out[RT_CELL_CAP(30)];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(round % 64);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            in[i] = (char)(x & 0xff);
        }
        for (unsigned flags = 0; flags < 16; flags++) {
            size_t cols;
            size_t n = rt_cell_fit(out, sizeof out, in, len, round % 5, 30, flags, &cols);
            cr_assert_eq(n, strlen(out));
            no_control(out, n);
            cr_assert_leq(cols, 30);
            if (flags & RT_CELL_PAD)
                cr_assert_eq(cols, 30);
        }
    }
}

Test(viewmodel, diff_side_by_side_pairs_a_change)
{
    size_t la, lb;
    uint8_t *za = known_bundle(&la, 0), *zb = known_bundle(&lb, 2);
    struct rt_bundle *a, *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(za, la, &a, &ei), RT_OK);
    cr_assert_eq(rt_bundle_open_mem(zb, lb, &b, &ei), RT_OK);
    struct rt_vm_diff *d;
    cr_assert_eq(rt_vm_diff_bundles(a, b, NULL, NULL, &d), RT_OK);
    size_t removed = SIZE_MAX;
    for (size_t i = 0; i < rt_vm_diff_count(d); i++)
        if (rt_vm_diff_line(d, i)->style == RT_VM_DIFF_REMOVED &&
            rt_vm_diff_line(d, i)->text[0] == '-')
            removed = i;
    cr_assert_neq(removed, SIZE_MAX);
    const struct rt_vm_diff_line *rm = rt_vm_diff_line(d, removed);
    const struct rt_vm_diff_line *ad = rt_vm_diff_line(d, removed + 1);
    cr_assert(strstr(rm->text, "\"/etc/passwd\""), "%s", rm->text);
    cr_assert(strstr(rm->left, "\"/etc/passwd\"") && strstr(rm->right, "\"/etc/shadow\""),
              "the change is one side-by-side line: %s | %s", rm->left, rm->right);
    cr_assert_eq(ad->style, RT_VM_DIFF_ADDED);
    cr_assert(strstr(ad->text, "+") == ad->text && strstr(ad->text, "\"/etc/shadow\""));
    cr_assert(ad->unified_only, "shown already on the right of the removal");
    rt_vm_diff_free(d);
    rt_bundle_free(a);
    rt_bundle_free(b);
    free(za);
    free(zb);
}

Test(viewmodel, detail_text_payload_and_truncation)
{
    struct rt_vm_detail *d = rt_vm_detail_new();
    static const char text[] = "line one\n\x1b[2Jline two\xff";
    struct rt_payload p = {.present = true, .mode = RT_PAYLOAD_FULL};
    p.data = (uint8_t *)text;
    p.len = sizeof text - 1;
    p.original_len = 5000;
    cr_assert_eq(rt_vm_detail_add_payload(d, "error", &p), RT_OK);
    const struct rt_vm_line *l = find_line(d, "stored", NULL);
    cr_assert_str_eq(l->text, "  stored           22 of 5000 bytes: the rest was cut");
    cr_assert_eq(l->style, RT_VM_LINE_WARN);
    size_t at;
    l = find_line(d, "line one", &at);
    cr_assert_eq(l->style, RT_VM_LINE_TEXT);
    cr_assert_str_eq(rt_vm_detail_line(d, at + 1)->text, "  \\x1b[2Jline two\\xff");
    cr_assert_eq(rt_vm_detail_count(d), at + 2);
    struct rt_payload none = {0};
    rt_vm_detail_clear(d);
    cr_assert_eq(rt_vm_detail_add_payload(d, "response", &none), RT_OK);
    cr_assert_str_eq(rt_vm_detail_line(d, 1)->text, "  (none in this bundle)");
    rt_vm_detail_free(d);
}
