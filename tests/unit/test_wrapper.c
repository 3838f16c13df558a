/* The layer wrapper's decisions (recorder/wrapper/ready.c): the ready file's parsing, the run
 * folder and RUNTRAIL_DISABLE, held to what the /bin/sh wrapper they replace did, and stricter
 * where that script let garbage through. tests/e2e/extension_layer.sh runs the program itself. */
#include "recorder/wrapper/ready.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static bool parse(const char *text, struct rt_wrap_ready *r)
{
    return rt_wrap_parse_ready(text, strlen(text), r);
}

Test(wrapper, ready_file_as_the_extension_writes_it)
{
    struct rt_wrap_ready r;
    cr_assert(parse("RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_RING=/tmp/run/ring\n"
                    "RUNTRAIL_PID=4242\n",
                    &r));
    cr_assert_str_eq(r.proxy, "127.0.0.1:9555");
    cr_assert_str_eq(r.ring, "/tmp/run/ring");
    cr_assert_eq(r.pid, 4242);
    /* Any order, unknown keys ignored, the last of a key counts, an empty ring is kept empty. */
    cr_assert(parse("RUNTRAIL_PID=1\nOTHER=x\nRUNTRAIL_RING=/a\nRUNTRAIL_PROXY=127.0.0.1:1\n"
                    "RUNTRAIL_RING=\nRUNTRAIL_PID=77\n",
                    &r));
    cr_assert_str_eq(r.proxy, "127.0.0.1:1");
    cr_assert_str_eq(r.ring, "");
    cr_assert_eq(r.pid, 77);
    /* A value may hold '=' (the first one ends the key). */
    cr_assert(parse("RUNTRAIL_PROXY=127.0.0.1:80\nRUNTRAIL_RING=/r=1\nRUNTRAIL_PID=9\n", &r));
    cr_assert_str_eq(r.ring, "/r=1");
}

Test(wrapper, incomplete_or_garbled_ready_files_are_refused)
{
    struct rt_wrap_ready r;
    static const char *const bad[] = {
        "",
        "RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_PID=12", /* last line not finished */
        "RUNTRAIL_PID=12\n",                              /* no proxy */
        "RUNTRAIL_PROXY=127.0.0.1:9555\n",                /* no pid */
        "RUNTRAIL_PROXY=$(touch /tmp/pwned)\nRUNTRAIL_PID=12\n",
        "RUNTRAIL_PROXY=10.0.0.1:9555\nRUNTRAIL_PID=12\n", /* not loopback */
        "RUNTRAIL_PROXY=127.0.0.1:\nRUNTRAIL_PID=12\n",
        "RUNTRAIL_PROXY=127.0.0.1:0\nRUNTRAIL_PID=12\n",
        "RUNTRAIL_PROXY=127.0.0.1:65536\nRUNTRAIL_PID=12\n",
        "RUNTRAIL_PROXY=127.0.0.1:123456\nRUNTRAIL_PID=12\n",
        "RUNTRAIL_PROXY=127.0.0.1:95 5\nRUNTRAIL_PID=12\n",
        "RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_PID=0\n",
        "RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_PID=-1\n",
        "RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_PID=12x\n",
        "RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_PID=1234567890\n",
        "RUNTRAIL_PROXYX=127.0.0.1:9555\nRUNTRAIL_PID=12\n", /* another key */
        " RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_PID=12\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&r, 0x55, sizeof r);
        cr_assert_not(parse(bad[i], &r), "accepted: %s", bad[i]);
        cr_assert_eq(r.proxy[0], '\0', "a refused file leaves nothing to use: %s", bad[i]);
        cr_assert_eq(r.pid, 0);
    }
    /* A ring path longer than a path, and a NUL inside a value. */
    static char big[6000];
    int n = snprintf(big, sizeof big, "RUNTRAIL_PROXY=127.0.0.1:9\nRUNTRAIL_PID=3\nRUNTRAIL_RING=");
    memset(big + n, 'a', 4500);
    big[n + 4500] = '\n';
    cr_assert_not(rt_wrap_parse_ready(big, (size_t)n + 4501, &r));
    static const char nul[] = "RUNTRAIL_PROXY=127.0.0.1:9\nRUNTRAIL_RING=/a\0b\nRUNTRAIL_PID=3\n";
    cr_assert_not(rt_wrap_parse_ready(nul, sizeof nul - 1, &r));
}

Test(wrapper, run_folder_as_the_extension_computes_it)
{
    char d[64];
    cr_assert(rt_wrap_run_dir("/var/run/rt", "127.0.0.1:9001", d, sizeof d));
    cr_assert_str_eq(d, "/var/run/rt");
    cr_assert(rt_wrap_run_dir("", "127.0.0.1:9001", d, sizeof d));
    cr_assert_str_eq(d, "/tmp/runtrail-9001");
    cr_assert(rt_wrap_run_dir(NULL, "[::1]:9002", d, sizeof d));
    cr_assert_str_eq(d, "/tmp/runtrail-9002");
    cr_assert(rt_wrap_run_dir(NULL, "9003", d, sizeof d)); /* no colon: all of it */
    cr_assert_str_eq(d, "/tmp/runtrail-9003");
    static const char *const no_port[] = {NULL, "", "host:", "host:90a1", "127.0.0.1:-1"};
    for (size_t i = 0; i < sizeof no_port / sizeof *no_port; i++) {
        cr_assert(rt_wrap_run_dir(NULL, no_port[i], d, sizeof d));
        cr_assert_str_eq(d, "/tmp/runtrail", "for %s", no_port[i] ? no_port[i] : "(unset)");
    }
    cr_assert_not(rt_wrap_run_dir(NULL, "127.0.0.1:9001", d, 10), "does not fit");
}

Test(wrapper, runtrail_disable_values)
{
    static const char *const on[] = {"1", "true", "yes", "on", "TRUE", "YES", "ON"};
    for (size_t i = 0; i < sizeof on / sizeof *on; i++)
        cr_assert(rt_wrap_disabled(on[i]), "%s", on[i]);
    static const char *const off[] = {"0", "", "false", "True", "2", "on "};
    for (size_t i = 0; i < sizeof off / sizeof *off; i++)
        cr_assert_not(rt_wrap_disabled(off[i]), "%s", off[i]);
    cr_assert_not(rt_wrap_disabled(NULL));
}
