/* gen_hostile_view: writes hostile-view.rtb, a bundle whose every string attacks a terminal,
 * for the viewer's e2e test (tests/e2e/view.sh): function name, request id, paths, argv,
 * destinations, log lines, ENV names and the payload hold escape sequences (colour, clear
 * screen, set title, OSC 52 clipboard), invalid UTF-8, a bidi override, wide and combining
 * characters, and a 10,000-byte path. Deterministic (fixed times and ids).
 *   gen_hostile_view OUTDIR */
#include "formats/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rt_str S(const char *s) {
    return (struct rt_str){s, strlen(s)};
}

static void
add(struct rt_writer *w, struct rt_event e)
{
    if (rt_writer_add_event(w, &e) != RT_OK) {
        fprintf(stderr, "gen_hostile_view: add event failed\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_hostile_view OUTDIR\n");
        return 2;
    }
    struct rt_limits lim = {.max_string = 16384};
    struct rt_writer *w = rt_writer_new(&lim);
    if (!w)
        return 1;
    struct rt_meta m = {
        .function = "evil\x1b[31mRED\x1b[0m\x1b]0;pwned\x07fn",
        .function_version = "1",
        .runtime = "\x1b[2Jclear",
        .request_id = "rid-\x1b]52;c;ZWNobyBwd25lZA==\x07-\xff\xfe-end",
        .sandbox_id = "sandbox-hostile",
        .start_wall_ns = 1764000000000000000,
        .duration_ns = 5000000,
        .status = RT_STATUS_ERROR,
        .error_type = "Err\x1b[5mBLINK",
    };
    rt_writer_set_meta(w, &m);
    struct rt_env_var v = {.name = "EVIL_\x1b[1mNAME"};
    memset(v.hash, 0x42, RT_DIGEST_LEN);
    rt_writer_add_env(w, &v);
    const char *payload = "{\"cmd\": \"\\u001b[31mred\\u001b[0m\", \"bidi\": \"\\u202etxt.exe\","
                          " \"wide\": \"\xe4\xb8\xad\xe6\x96\x87 e\xcc\x81\"}";
    struct rt_payload p = {.present = true,
                           .mode = RT_PAYLOAD_FULL,
                           .original_len = strlen(payload),
                           .data = (uint8_t *)payload,
                           .len = strlen(payload)};
    rt_writer_set_payload(w, 'E', &p);
    const char *err = "{\"errorType\": \"Err\\u001b[5m\", \"errorMessage\": \"bad\xff\"}";
    struct rt_payload pe = {.present = true,
                            .mode = RT_PAYLOAD_FULL,
                            .original_len = strlen(err),
                            .data = (uint8_t *)err,
                            .len = strlen(err),
                            .error_type = "Err\x1b[5mBLINK"};
    rt_writer_set_payload(w, 'X', &pe);

    struct rt_event e = {.ts_ns = 0, .pid = 7, .tid = 7, .op = RT_OP_MARK};
    e.str[0] = S(m.request_id);
    e.str[1] = S("invoke");
    e.num[0] = RT_MARK_INVOKE_START;
    add(w, e);
    /* A 10,000-byte path: escapes, invalid UTF-8 and a bidi override inside. */
    static char longpath[10001];
    memset(longpath, 'A', 10000);
    memcpy(longpath, "/tmp/\x1b[31m\x1b]0;title\x07\xc3\x28\xe2\x80\xae", 25);
    longpath[10000] = '\0';
    e = (struct rt_event){.ts_ns = 1000, .pid = 7, .tid = 7, .op = RT_OP_OPEN, .result = -36};
    e.str[0] = S(longpath);
    e.num[0] = -100;
    add(w, e);
    char av[] = "sh\0-c\0printf '\x1b[2J\x1b[H'\0\xff\xfe";
    e = (struct rt_event){.ts_ns = 2000, .pid = 7, .tid = 7, .op = RT_OP_PROC_START};
    e.str[0] = S("/bin/\x1b[7msh");
    e.str[1] = (struct rt_str){av, sizeof av - 1};
    add(w, e);
    e = (struct rt_event){.ts_ns = 3000, .pid = 7, .tid = 7, .op = RT_OP_OUTBOUND};
    e.str[0] = S("203.0.113.9:443");
    e.str[1] = S("evil\x1b[31m.example\x9b"
                 "31m");
    e.num[0] = 10;
    e.num[1] = 20;
    add(w, e);
    e = (struct rt_event){.ts_ns = 4000, .pid = 7, .tid = 7, .op = RT_OP_OPEN, .result = 3};
    e.str[0] = S("/tmp/\xe4\xb8\xad\xe6\x96\x87-e\xcc\x81-wide");
    e.num[0] = -100;
    add(w, e);
    const char *log = "log \x1b[2J\x1b[Hcleared\x1b]0;t\x07";
    rt_writer_add_log(w, 3500, 1, log, strlen(log));
    e = (struct rt_event){.ts_ns = 4500000, .pid = 7, .tid = 7, .op = RT_OP_MARK};
    e.str[0] = S(m.request_id);
    e.str[1] = S("error");
    e.num[0] = RT_MARK_RESPONSE;
    add(w, e);
    uint8_t *out = NULL;
    size_t len = 0;
    if (rt_writer_finish(w, 0, &out, &len, NULL) != RT_OK)
        return 1;
    rt_writer_free(w);
    char path[4096];
    snprintf(path, sizeof path, "%s/hostile-view.rtb", argv[1]);
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(out, 1, len, f) == len ? 0 : 1;
    if (f && fclose(f))
        rc = 1;
    free(out);
    return rc;
}
