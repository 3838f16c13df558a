/* Unit tests of formats/toolbox.c: the growable buffer keeps bytes and its NUL across growth,
 * the clocks move forward, the whole-file reader reads regular files and pipes and refuses
 * what is over its bound, the sort is stable (ties keep their order, as the ring's events
 * must) and sorts large shuffled input like qsort, and the duration/count/size parsers accept
 * their units and refuse garbage with a reason that names the input. */
#include "formats/options.h"
#include "formats/toolbox.h"
#include "recorder/extension/extension.h"
#include "tmpdir.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

RT_TMPDIR_SUITE(toolbox_file);

Test(toolbox_buf, append_grow_detach)
{
    struct rt_buf b = RT_BUF_INIT;
    cr_assert_eq(rt_buf_puts(&b, "hello"), RT_OK);
    cr_assert_eq(rt_buf_append(&b, ", \0x", 3), RT_OK);
    cr_assert_eq(b.len, 8);
    cr_assert_eq(memcmp(b.data, "hello, \0", 9), 0);
    for (int i = 0; i < 10000; i++)
        cr_assert_eq(rt_buf_printf(&b, "%04d", i % 10000), RT_OK);
    cr_assert_eq(b.len, 8 + 40000);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert_eq(memcmp(b.data + 8 + 4 * 1234, "1234", 4), 0);
    cr_assert_not(b.failed);
    size_t len = 0;
    char *p = rt_buf_detach(&b, &len);
    cr_assert_eq(len, 40008);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    free(p);

    p = rt_buf_detach(&b, &len); /* an empty buffer gives "" */
    cr_assert_str_eq(p, "");
    cr_assert_eq(len, 0);
    free(p);
}

Test(toolbox_buf, reset_and_overflow)
{
    struct rt_buf b = RT_BUF_INIT;
    rt_buf_puts(&b, "abc");
    rt_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.data, "");
    cr_assert_eq(rt_buf_reserve(&b, SIZE_MAX - 1), RT_ERR_NOMEM);
    cr_assert(b.failed, "an impossible size is refused and remembered");
    cr_assert_str_eq(b.data, "", "the bytes are untouched");
    rt_buf_free(&b);
    cr_assert_null(b.data);
}

Test(toolbox_clock, monotonic_and_wall)
{
    int64_t m1 = rt_clock_mono_ns(), w = rt_clock_wall_ns();
    usleep(2000);
    int64_t m2 = rt_clock_mono_ns();
    cr_assert_geq(m2 - m1, 2000000, "2 ms passed: %lld ns", (long long)(m2 - m1));
    cr_assert_gt(w, 1600000000LL * 1000000000LL, "wall clock is Unix ns");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(toolbox_file, regular_file_bounded)
{
    char path[300];
    snprintf(path, sizeof path, "%s/f", tmpdir);
    write_text(path, "line one\nline two\n");
    uint8_t *data = NULL;
    size_t len = 0;
    cr_assert_eq(rt_read_file(path, &data, &len, 0), RT_OK);
    cr_assert_eq(len, 18);
    cr_assert_str_eq((char *)data, "line one\nline two\n");
    free(data);
    cr_assert_eq(rt_read_file(path, &data, &len, 18), RT_OK, "exactly max is allowed");
    free(data);
    errno = 0;
    cr_assert_eq(rt_read_file(path, &data, &len, 17), RT_ERR_IO);
    cr_assert_eq(errno, EFBIG);

    snprintf(path, sizeof path, "%s/empty", tmpdir);
    write_text(path, "");
    cr_assert_eq(rt_read_file(path, &data, &len, 0), RT_OK);
    cr_assert_eq(len, 0);
    cr_assert_str_eq((char *)data, "");
    free(data);

    snprintf(path, sizeof path, "%s/missing", tmpdir);
    errno = 0;
    cr_assert_eq(rt_read_file(path, &data, &len, 0), RT_ERR_IO);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(rt_read_file(tmpdir, &data, &len, 0), RT_ERR_IO, "a folder is not a file");
}

Test(toolbox_file, pipe_bounded)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char chunk[1000];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 100; i++)
            if (write(fds[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
                _exit(1);
        _exit(0);
    }
    close(fds[1]);
    uint8_t *data = NULL;
    size_t len = 0;
    cr_assert_eq(rt_read_fd(fds[0], &data, &len, 0), RT_OK);
    cr_assert_eq(len, 100000, "all of a pipe is read: %zu", len);
    cr_assert_eq(data[99999], 'x');
    cr_assert_eq(data[100000], '\0');
    free(data);
    close(fds[0]);

    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(write(fds[1], "0123456789", 10), 10);
    close(fds[1]);
    errno = 0;
    cr_assert_eq(rt_read_fd(fds[0], &data, &len, 9), RT_ERR_IO, "a stream over max is refused");
    cr_assert_eq(errno, EFBIG);
    close(fds[0]);
}

struct item {
    int64_t key;
    int seq;
    char pad[300]; /* larger than the insertion sort's rotation chunk */
};

static int by_key(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static void check_sorted_stable(const struct item *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        cr_assert_leq(v[i - 1].key, v[i].key, "order at %zu", i);
        if (v[i - 1].key == v[i].key)
            cr_assert_lt(v[i - 1].seq, v[i].seq, "ties keep their order at %zu", i);
    }
}

Test(toolbox_sort, stable_on_ties)
{
    /* Ring-like input: in order except for a few late arrivals, many equal times. */
    size_t n = 5000;
    struct item *v = calloc(n, sizeof *v);
    cr_assert_not_null(v);
    unsigned rng = 12345;
    for (size_t i = 0; i < n; i++) {
        rng = rng * 1103515245u + 12345u;
        v[i].key = (int64_t)(i / 7) - ((rng >> 16) % 10 == 0 ? (int64_t)((rng >> 8) % 50) : 0);
        v[i].seq = (int)i;
    }
    rt_sort_stable(v, n, sizeof *v, by_key);
    check_sorted_stable(v, n);
    free(v);
}

Test(toolbox_sort, shuffled_matches_qsort_and_edges)
{
    size_t n = 20000;
    struct item *v = calloc(n, sizeof *v), *w = calloc(n, sizeof *w);
    cr_assert(v && w);
    unsigned rng = 777;
    for (size_t i = 0; i < n; i++) {
        rng = rng * 1103515245u + 12345u;
        v[i].key = (rng >> 8) % 1000;
        v[i].seq = (int)i;
    }
    memcpy(w, v, n * sizeof *v);
    rt_sort_stable(v, n, sizeof *v, by_key);
    check_sorted_stable(v, n);
    qsort(w, n, sizeof *w, by_key);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(v[i].key, w[i].key);

    /* Reverse order, one and zero elements. */
    for (size_t i = 0; i < n; i++)
        v[i] = (struct item){.key = (int64_t)(n - i), .seq = (int)i};
    rt_sort_stable(v, n, sizeof *v, by_key);
    cr_assert_eq(v[0].key, 1);
    cr_assert_eq(v[n - 1].key, (int64_t)n);
    rt_sort_stable(v, 1, sizeof *v, by_key);
    rt_sort_stable(NULL, 0, sizeof *v, by_key);
    free(v);
    free(w);
}

static int by_ptr_key(const void *a, const void *b)
{
    const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;
    return (x->key > y->key) - (x->key < y->key);
}

Test(toolbox_sort, array_of_pointers)
{
    /* The sealer sorts pointers to held events. */
    struct item items[6] = {{.key = 3, .seq = 0}, {.key = 1, .seq = 1}, {.key = 3, .seq = 2},
                            {.key = 2, .seq = 3}, {.key = 1, .seq = 4}, {.key = 3, .seq = 5}};
    struct item *p[6];
    for (int i = 0; i < 6; i++)
        p[i] = &items[i];
    rt_sort_stable(p, 6, sizeof *p, by_ptr_key);
    int want[6] = {1, 4, 3, 0, 2, 5};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(p[i]->seq, want[i], "position %d: seq %d", i, p[i]->seq);
}

Test(toolbox_parse, durations)
{
    struct {
        const char *in;
        uint64_t ms;
    } ok[] = {{"250", 250},    {"250ms", 250},  {"2s", 2000}, {"1m", 60000},
              {"1min", 60000}, {"1h", 3600000}, {"0", 0},     {"0s", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint64_t v = 12345;
        cr_assert_eq(rt_parse_duration_ms(ok[i].in, &v, NULL), RT_OK, "%s", ok[i].in);
        cr_assert_eq(v, ok[i].ms, "%s -> %llu", ok[i].in, (unsigned long long)v);
    }
    const char *bad[] = {"",
                         "ms",
                         "-1",
                         "+5",
                         " 5",
                         "5 ",
                         "1.5s",
                         "5x",
                         "5M",
                         "5sec",
                         "99999999999999999999",
                         "18446744073709551615h"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 7;
        struct rt_errinfo ei;
        rt_errinfo_clear(&ei);
        cr_assert_eq(rt_parse_duration_ms(bad[i], &v, &ei), RT_ERR_INVALID_ARG, "'%s'", bad[i]);
        cr_assert_eq(v, 7, "'%s' leaves the value untouched", bad[i]);
        cr_assert_neq(ei.detail[0], '\0', "'%s' has a reason", bad[i]);
    }
    struct rt_errinfo ei;
    uint64_t v;
    rt_parse_duration_ms("5x", &v, &ei);
    cr_assert(strstr(ei.detail, "'5x'") && strstr(ei.detail, "ms, s, m or h"), "%s", ei.detail);
}

Test(toolbox_parse, counts_and_sizes)
{
    uint64_t v;
    cr_assert_eq(rt_parse_count("100000", &v, NULL), RT_OK);
    cr_assert_eq(v, 100000);
    cr_assert_eq(rt_parse_count("100k", &v, NULL), RT_OK);
    cr_assert_eq(v, 100000);
    cr_assert_eq(rt_parse_count("1M", &v, NULL), RT_OK);
    cr_assert_eq(v, 1000000);
    cr_assert_eq(rt_parse_count("2g", &v, NULL), RT_OK);
    cr_assert_eq(v, 2000000000);
    const char *bad[] = {"", "k", "-3", "1.5k", "10 k", "3ms", "1kb", "0x10", "19000000000G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct rt_errinfo ei;
        rt_errinfo_clear(&ei);
        cr_assert_eq(rt_parse_count(bad[i], &v, &ei), RT_ERR_INVALID_ARG, "'%s'", bad[i]);
        cr_assert_neq(ei.detail[0], '\0');
    }

    cr_assert_eq(rt_parse_size("64m", &v, NULL), RT_OK);
    cr_assert_eq(v, 64u << 20);
    cr_assert_eq(rt_parse_size("1k", &v, NULL), RT_OK);
    cr_assert_eq(v, 1024);
    cr_assert_eq(rt_parse_size("2MiB", &v, NULL), RT_OK);
    cr_assert_eq(v, 2u << 20);
    cr_assert_eq(rt_parse_size("1gb", &v, NULL), RT_OK);
    cr_assert_eq(v, 1u << 30);
    cr_assert_eq(rt_parse_size("512", &v, NULL), RT_OK);
    cr_assert_eq(v, 512);
    cr_assert_eq(rt_parse_size("1t", &v, NULL), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_parse_size("-1", &v, NULL), RT_ERR_INVALID_ARG);
    cr_assert_eq(rt_parse_size("17179869184g", &v, NULL), RT_ERR_INVALID_ARG, "overflow");
}

/* The extension's settings use these types: RUNTRAIL_FLUSH_WAIT_MS=1m is a minute (it was read
 * as 1,048,576 ms), RUNTRAIL_MAX_EVENTS=100k a count, and garbage falls back and is counted. */
static const char *const *config_env;
static const char *config_get(const char *name)
{
    for (size_t i = 0; config_env[i]; i += 2)
        if (!strcmp(config_env[i], name))
            return config_env[i + 1];
    return NULL;
}

Test(toolbox_config, extension_durations_and_counts)
{
    static const char *const env[] = {"RUNTRAIL_FLUSH_WAIT_MS",
                                      "1m",
                                      "RUNTRAIL_DRAIN_MS",
                                      "2s",
                                      "RUNTRAIL_MAX_EVENTS",
                                      "100k",
                                      "RUNTRAIL_RING_SLOTS",
                                      "4096",
                                      NULL};
    config_env = env;
    struct rt_ext_config c;
    rt_ext_config_load_from(&c, config_get);
    cr_assert_eq(c.errors, 0, "%s", c.error_names);
    cr_assert_eq(c.flush_wait_ms, 60000);
    cr_assert_eq(c.drain_ms, 2000);
    cr_assert_eq(c.max_events, 100000);
    cr_assert_eq(c.ring_slots, 4096);

    static const char *const bad[] = {"RUNTRAIL_FLUSH_WAIT_MS", "soon", "RUNTRAIL_MAX_EVENTS",
                                      "1kb", NULL};
    config_env = bad;
    rt_ext_config_load_from(&c, config_get);
    cr_assert_eq(c.errors, 2);
    cr_assert_str_eq(c.error_names, "RUNTRAIL_MAX_EVENTS,RUNTRAIL_FLUSH_WAIT_MS");
    cr_assert_eq(c.flush_wait_ms, 250, "the default");
    cr_assert_eq(c.max_events, 100000, "the default");
}

/* ---- the option engine (formats/options.c) ---- */

enum { T_STORE = 1, T_QUIET, T_OUT };
static const struct rt_opt test_opts[] = {
    {T_STORE, "store", 0, "DIR", "where it goes\nsecond line"},
    {T_QUIET, "quiet", 'q', NULL, "say less"},
    {T_OUT, "output", 'o', "FILE", "the file"},
    {0},
};

Test(toolbox_options, parse_in_order_and_stop_at_command)
{
    char *argv[] = {"cmd", "--store", "d1", "-qo", "f.zip", "--output=g.zip", "ls", "-l", NULL};
    struct rt_opt_parser p;
    rt_opt_begin(&p, test_opts, true, 8, argv);
    cr_assert_eq(rt_opt_next(&p), T_STORE);
    cr_assert_str_eq(p.value, "d1");
    cr_assert_str_eq(p.name, "--store");
    cr_assert_eq(rt_opt_next(&p), T_QUIET);
    cr_assert_null(p.value);
    cr_assert_eq(rt_opt_next(&p), T_OUT);
    cr_assert_str_eq(p.value, "f.zip");
    cr_assert_str_eq(p.name, "-o");
    cr_assert_eq(rt_opt_next(&p), T_OUT);
    cr_assert_str_eq(p.value, "g.zip");
    cr_assert_eq(rt_opt_next(&p), RT_OPT_END);
    cr_assert_eq(p.first_operand, 6, "the command's own -l is not ours");
    cr_assert_str_eq(argv[p.first_operand], "ls");
}

Test(toolbox_options, mixed_operands_errors_and_help)
{
    char *argv[] = {"cmd", "a", "-q", "b", "--", "-c", NULL};
    struct rt_opt_parser p;
    rt_opt_begin(&p, test_opts, false, 6, argv);
    cr_assert_eq(rt_opt_next(&p), T_QUIET);
    cr_assert_eq(rt_opt_next(&p), RT_OPT_END);
    cr_assert_str_eq(argv[p.first_operand], "a", "operands are gathered after the options");
    cr_assert_str_eq(argv[p.first_operand + 1], "b");
    cr_assert_str_eq(argv[p.first_operand + 2], "-c", "after --, nothing is an option");

    char *bad[] = {"cmd", "--bogus=1", NULL};
    rt_opt_begin(&p, test_opts, true, 2, bad);
    cr_assert_eq(rt_opt_next(&p), RT_OPT_ERROR);
    cr_assert_str_eq(p.err, "unknown option '--bogus'");
    char *badshort[] = {"cmd", "-qx", NULL};
    rt_opt_begin(&p, test_opts, true, 2, badshort);
    cr_assert_eq(rt_opt_next(&p), T_QUIET);
    cr_assert_eq(rt_opt_next(&p), RT_OPT_ERROR);
    cr_assert_str_eq(p.err, "unknown option '-x'");
    char *missing[] = {"cmd", "--store", NULL};
    rt_opt_begin(&p, test_opts, true, 2, missing);
    cr_assert_eq(rt_opt_next(&p), RT_OPT_ERROR);
    cr_assert_str_eq(p.err, "option '--store' needs a value");
    char *help[] = {"cmd", "-h", NULL};
    rt_opt_begin(&p, test_opts, true, 2, help);
    cr_assert_eq(rt_opt_next(&p), RT_OPT_HELP);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rt_opt_help(test_opts, f);
    fclose(f);
    cr_assert_str_eq(text, "Options:\n"
                           "  --store DIR        where it goes\n"
                           "                     second line\n"
                           "  -q, --quiet        say less\n"
                           "  -o, --output FILE  the file\n"
                           "  -h, --help         this text\n");
    free(text);
}
