/* Unit tests of the streaming side of formats/: the event cursor yields exactly the events of
 * the whole decode (small v1 and large chunked v2 bundles, the sample bundles), seeks back and
 * forth, gives the events before a truncation or corruption and then a clear error, says
 * unverified / verified / mismatch; the open flag that skips events; the reader's cap on
 * events per bundle (a crafted bundle declaring 16 Mi events); the writer keeping the tail and
 * the events that matter over max_events, the flags of dropped ones in META; NUL bytes in META
 * strings. */
#include "formats/bundle.h"
#include "formats/digest.h"
#include "formats/wire.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const paths[] = {"/var/task/index.js", "/etc/hosts", "/tmp/x",
                                    "/proc/self/environ", "/var/task/node_modules/a/b.js"};

/* Event i of a deterministic trace with every field varying. */
static struct rt_event make_event(size_t i)
{
    struct rt_event e = {0};
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    e.op = (uint16_t)(i % 7 == 0 ? RT_OP_OUTBOUND : i % 3 ? RT_OP_OPEN : x % RT_OP__COUNT);
    e.ts_ns = (int64_t)i * 1000 + (int64_t)(x % 997) - 5000;
    e.dur_ns = x % 100000;
    e.pid = (int32_t)(100 + i % 5);
    e.tid = e.pid + (int32_t)(x % 3);
    e.flags = i % 1000 == 17 ? RT_EF_ENVIRON_READ : 0;
    e.result = i % 11 == 0 ? -2 : (int64_t)(x % 40);
    const char *p = paths[x % 5];
    e.str[0] = (struct rt_str){p, strlen(p)};
    if (i % 4 == 1)
        e.str[2] = (struct rt_str){"GET / HTTP/1.1", 14};
    e.num[0] = (int64_t)(x >> 20) - (1 << 20);
    e.num[1] = i % 2 ? 0 : (int64_t)x;
    return e;
}

static void assert_event_eq(const struct rt_event *a, const struct rt_event *b, size_t i)
{
    cr_assert(a->op == b->op && a->ts_ns == b->ts_ns && a->dur_ns == b->dur_ns &&
                  a->pid == b->pid && a->tid == b->tid && a->flags == b->flags &&
                  a->result == b->result,
              "event %zu differs", i);
    for (int k = 0; k < RT_EVENT_STRS; k++) {
        cr_assert_eq(a->str[k].len, b->str[k].len, "event %zu str %d", i, k);
        if (a->str[k].len)
            cr_assert(!memcmp(a->str[k].ptr, b->str[k].ptr, a->str[k].len), "event %zu str", i);
    }
    for (int k = 0; k < RT_EVENT_NUMS; k++)
        cr_assert_eq(a->num[k], b->num[k], "event %zu num %d", i, k);
}

/* A sealed bundle of n events (max_events n), zstd-compressed; *raw_out the stream if asked. */
static uint8_t *make_bundle(size_t n, size_t *len, uint8_t **raw_out, size_t *raw_len)
{
    struct rt_limits lim = {.max_events = n ? n : 1};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_meta m = {0};
    m.function = "cursor-test";
    m.sandbox_id = "sbx-1";
    rt_writer_set_meta(w, &m);
    rt_writer_add_header(w, "Lambda-Runtime-Aws-Request-Id", "r-1");
    for (size_t i = 0; i < n; i++) {
        struct rt_event e = make_event(i);
        cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
    }
    rt_writer_add_log(w, 5, 1, "last line", 9);
    uint8_t *raw, *z;
    size_t rlen;
    cr_assert_eq(rt_writer_finish_raw(w, &raw, &rlen, NULL), RT_OK);
    rt_writer_free(w);
    cr_assert_eq(rt_bundle_compress(raw, rlen, 3, &z, len), RT_OK);
    if (raw_out) {
        *raw_out = raw;
        *raw_len = rlen;
    } else {
        free(raw);
    }
    return z;
}

/* Walks the whole cursor and compares it with the whole decode of the same bytes. */
static void assert_cursor_matches(const uint8_t *z, size_t len)
{
    struct rt_bundle *b;
    struct rt_cursor *c;
    struct rt_errinfo ei;
    char msg[512];
    int rc = rt_bundle_open_mem(z, len, &b, &ei);
    cr_assert_eq(rc, RT_OK, "%s", rt_errinfo_format(rc, &ei, msg, sizeof msg));
    rc = rt_cursor_open_mem(z, len, &c, &ei);
    cr_assert_eq(rc, RT_OK, "%s", rt_errinfo_format(rc, &ei, msg, sizeof msg));
    const struct rt_bundle *cb = rt_cursor_bundle(c);
    cr_assert_str_eq(cb->meta.function ? cb->meta.function : "",
                     b->meta.function ? b->meta.function : "");
    cr_assert_eq(cb->meta.seq, b->meta.seq);
    cr_assert_eq(cb->n_headers, b->n_headers);
    cr_assert_eq(cb->n_env, b->n_env);
    cr_assert_eq(rt_cursor_state(c), b->n_events ? RT_CURSOR_UNVERIFIED : rt_cursor_state(c));
    const struct rt_event *ev;
    size_t i = 0;
    while ((rc = rt_cursor_next(c, &ev, &ei)) == RT_OK && ev) {
        cr_assert_lt(i, b->n_events);
        assert_event_eq(ev, &b->events[i], i);
        if (i + 1 < b->n_events)
            cr_assert_eq(rt_cursor_state(c), RT_CURSOR_UNVERIFIED, "verified before the end");
        i++;
    }
    cr_assert_eq(rc, RT_OK, "%s", rt_errinfo_format(rc, &ei, msg, sizeof msg));
    cr_assert_eq(i, b->n_events);
    cr_assert_eq(rt_cursor_state(c), RT_CURSOR_VERIFIED);
    bool complete = false;
    cr_assert_eq(rt_cursor_known(c, &complete), b->n_events);
    cr_assert(complete);
    cr_assert(!memcmp(cb->digest, b->digest, RT_DIGEST_LEN));
    cr_assert_eq(cb->n_logs, b->n_logs);
    cr_assert_eq(cb->compressed_len, len);
    cr_assert_eq(cb->decompressed_len, b->decompressed_len);
    rt_cursor_free(c);
    rt_bundle_free(b);
}

Test(cursor, same_events_as_the_whole_decode_small_and_large)
{
    static const size_t sizes[] = {0, 1, 3, RT_WIRE_CHUNK_EVENTS, RT_WIRE_CHUNK_EVENTS + 1, 150000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t len;
        uint8_t *raw, *z = make_bundle(sizes[k], &len, &raw, &(size_t){0});
        /* one chunk: version 1, readable by every reader; more: version 2 */
        cr_assert_eq(raw[4], sizes[k] > RT_WIRE_CHUNK_EVENTS ? 2 : 1, "%zu events", sizes[k]);
        assert_cursor_matches(z, len);
        free(raw);
        free(z);
    }
}

Test(cursor, sample_bundles_read_the_same)
{
    DIR *d = opendir("samples/bundles");
    cr_assert(d, "run from the repository root");
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 4, ".rtb"))
            continue;
        char path[512];
        snprintf(path, sizeof path, "samples/bundles/%s", de->d_name);
        uint8_t *buf;
        size_t len;
        struct rt_errinfo ei;
        cr_assert_eq(rt_bundle_read_file(path, &buf, &len, &ei), RT_OK);
        cr_assert_eq(buf[0], 0x28);
        assert_cursor_matches(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 4);
}

Test(cursor, seeks_back_and_forth)
{
    const size_t C = RT_WIRE_CHUNK_EVENTS;
    size_t len, n = 2 * C + 5000;
    uint8_t *z = make_bundle(n, &len, NULL, NULL);
    struct rt_bundle *b;
    struct rt_cursor *c;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(z, len, &b, &ei), RT_OK);
    cr_assert_eq(rt_cursor_open_mem(z, len, &c, &ei), RT_OK);
    const struct rt_event *ev;
    /* forward first (the stream is decompressed up to it), then anywhere */
    const size_t idx[] = {C + 9000, 0,    C + 8999, C - 1,     C,        1,     n - 1,
                          4095,     4096, 2 * C,    2 * C - 1, C + 4097, 12345, 2 * C + 4096};
    for (size_t k = 0; k < sizeof idx / sizeof *idx; k++) {
        cr_assert_eq(rt_cursor_seek(c, idx[k], &ei), RT_OK, "seek %zu", idx[k]);
        cr_assert_eq(rt_cursor_tell(c), idx[k]);
        for (size_t j = idx[k]; j < idx[k] + 3 && j < n; j++) {
            cr_assert_eq(rt_cursor_next(c, &ev, &ei), RT_OK);
            cr_assert(ev);
            assert_event_eq(ev, &b->events[j], j);
        }
    }
    cr_assert_eq(rt_cursor_seek(c, n + 1, &ei), RT_ERR_INVALID_ARG); /* past the end */
    cr_assert_eq(rt_cursor_seek(c, n, &ei), RT_OK);                  /* the end */
    cr_assert_eq(rt_cursor_next(c, &ev, &ei), RT_OK);
    cr_assert_null(ev);
    cr_assert_eq(rt_cursor_seek(c, n - 1, &ei), RT_OK);
    cr_assert_eq(rt_cursor_next(c, &ev, &ei), RT_OK);
    assert_event_eq(ev, &b->events[n - 1], n - 1);
    cr_assert_eq(rt_cursor_next(c, &ev, &ei), RT_OK);
    cr_assert_null(ev);
    cr_assert_eq(rt_cursor_state(c), RT_CURSOR_VERIFIED);
    /* random seeks after the end */
    uint64_t x = 7;
    for (int k = 0; k < 200; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = (size_t)(x >> 33) % n;
        cr_assert_eq(rt_cursor_seek(c, at, &ei), RT_OK);
        cr_assert_eq(rt_cursor_next(c, &ev, &ei), RT_OK);
        assert_event_eq(ev, &b->events[at], at);
    }
    rt_cursor_free(c);
    rt_bundle_free(b);
    free(z);
}

/* Events before the damage, then the error, then the error again. */
static size_t read_until_error(const uint8_t *z, size_t len, const struct rt_bundle *whole,
                               int want_rc, enum rt_cursor_state want_state)
{
    struct rt_cursor *c;
    struct rt_errinfo ei;
    char msg[512];
    int rc = rt_cursor_open_mem(z, len, &c, &ei);
    cr_assert_eq(rc, RT_OK, "%s", rt_errinfo_format(rc, &ei, msg, sizeof msg));
    const struct rt_event *ev;
    size_t i = 0;
    while ((rc = rt_cursor_next(c, &ev, &ei)) == RT_OK && ev) {
        assert_event_eq(ev, &whole->events[i], i);
        i++;
    }
    cr_assert_eq(rc, want_rc, "got %s", rt_errinfo_format(rc, &ei, msg, sizeof msg));
    cr_assert_eq(rt_cursor_state(c), want_state);
    cr_assert_eq(rt_cursor_next(c, &ev, &ei), want_rc, "the error sticks");
    cr_assert_null(ev);
    if (i) { /* what came before the damage can still be read again */
        cr_assert_eq(rt_cursor_seek(c, i - 1, &ei), RT_OK);
        cr_assert_eq(rt_cursor_next(c, &ev, &ei), RT_OK);
        assert_event_eq(ev, &whole->events[i - 1], i - 1);
    }
    rt_cursor_free(c);
    return i;
}

Test(cursor, truncated_and_corrupt_give_the_events_before_the_damage)
{
    size_t len, raw_len, n = 3 * RT_WIRE_CHUNK_EVENTS + 1000;
    uint8_t *raw, *z = make_bundle(n, &len, &raw, &raw_len);
    struct rt_bundle *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(z, len, &b, &ei), RT_OK);

    /* compressed file cut in the middle */
    size_t got = read_until_error(z, len / 2, b, RT_ERR_BUNDLE_TRUNCATED, RT_CURSOR_DAMAGED);
    cr_assert_gt(got, 0, "the complete chunks before the cut are read");
    cr_assert_lt(got, n);
    cr_assert_eq(got % RT_WIRE_CHUNK_EVENTS, 0, "whole chunks: %zu", got);

    /* a column of the third chunk made invalid (an op byte out of range), digest resealed */
    uint8_t *bad = malloc(raw_len);
    memcpy(bad, raw, raw_len);
    struct rt_cursor *c;
    cr_assert_eq(rt_cursor_open_mem(z, len, &c, &ei), RT_OK);
    cr_assert_eq(rt_cursor_seek(c, 2 * RT_WIRE_CHUNK_EVENTS + 10, &ei), RT_OK);
    rt_cursor_free(c);
    /* find the third EVENTS block: walk the framing */
    size_t pos = RT_WIRE_HEADER_LEN, chunk = 0, op_at = 0;
    while (pos < raw_len) {
        uint64_t type = 0, blen = 0;
        pos += (size_t)rt_varint_get(bad + pos, raw_len - pos, &type);
        pos += (size_t)rt_varint_get(bad + pos, raw_len - pos, &blen);
        if (type == RT_BLK_EVENTS && chunk++ == 2) {
            /* body: count, ncols, then column 0 (op): lstring{streams, key, planes, lstring} */
            size_t p = pos;
            uint64_t v;
            for (int k = 0; k < 2; k++) /* count, column count */
                p += (size_t)rt_varint_get(bad + p, raw_len - p, &v);
            for (int k = 0; k < 5; k++) /* column length, streams, key, planes, plane length */
                p += (size_t)rt_varint_get(bad + p, raw_len - p, &v);
            op_at = p + 10; /* the op of the chunk's 11th event */
            break;
        }
        pos += (size_t)blen;
    }
    cr_assert_neq(op_at, 0);
    bad[op_at] = 0x7f; /* op 127: not an operation */
    rt_sha256(bad, raw_len - 34, bad + raw_len - 32);
    uint8_t *bz;
    size_t bzlen;
    cr_assert_eq(rt_bundle_compress(bad, raw_len, 3, &bz, &bzlen), RT_OK);
    got = read_until_error(bz, bzlen, b, RT_ERR_BUNDLE_ENUM, RT_CURSOR_DAMAGED);
    cr_assert_eq(got, 2 * RT_WIRE_CHUNK_EVENTS + 10);
    free(bz);

    /* a string changed without resealing: every event comes, then the digest mismatch */
    memcpy(bad, raw, raw_len);
    uint8_t *s = memmem(bad, raw_len, "/etc/hosts", 10);
    cr_assert(s);
    s[1] = 'E';
    cr_assert_eq(rt_bundle_compress(bad, raw_len, 3, &bz, &bzlen), RT_OK);
    struct rt_bundle *whole_bad;
    cr_assert_eq(rt_bundle_decode_raw(bad, raw_len, RT_BUNDLE_NO_DIGEST, &whole_bad, &ei), RT_OK);
    got = read_until_error(bz, bzlen, whole_bad, RT_ERR_BUNDLE_DIGEST, RT_CURSOR_MISMATCH);
    cr_assert_eq(got, n);
    rt_bundle_free(whole_bad);
    free(bz);

    /* garbage and a cut header: a clear error at open */
    cr_assert_eq(rt_cursor_open_mem("hello", 5, &c, &ei), RT_ERR_BUNDLE_ZSTD);
    cr_assert_eq(rt_cursor_open_mem(z, 6, &c, &ei), RT_ERR_BUNDLE_TRUNCATED);
    cr_assert_eq(rt_cursor_open_file("/nonexistent/x.rtb", &c, &ei), RT_ERR_IO);
    free(bad);
    free(raw);
    free(z);
    rt_bundle_free(b);
}

Test(cursor, open_file_streams_the_first_chunk)
{
    size_t len, n = 3 * RT_WIRE_CHUNK_EVENTS;
    uint8_t *z = make_bundle(n, &len, NULL, NULL);
    char path[] = "/tmp/rt-cursor-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "wb");
    cr_assert_eq(fwrite(z, 1, len, f), len);
    fclose(f);
    struct rt_cursor *c;
    struct rt_errinfo ei;
    cr_assert_eq(rt_cursor_open_file(path, &c, &ei), RT_OK);
    const struct rt_event *ev;
    cr_assert_eq(rt_cursor_next(c, &ev, &ei), RT_OK);
    struct rt_event e0 = make_event(0);
    assert_event_eq(ev, &e0, 0);
    bool complete = true;
    cr_assert_eq(rt_cursor_known(c, &complete), 1);
    cr_assert(!complete);
    cr_assert_eq(rt_cursor_state(c), RT_CURSOR_UNVERIFIED);
    size_t i = 1;
    while (rt_cursor_next(c, &ev, &ei) == RT_OK && ev) {
        struct rt_event e = make_event(i);
        assert_event_eq(ev, &e, i);
        i++;
    }
    cr_assert_eq(i, n);
    cr_assert_eq(rt_cursor_state(c), RT_CURSOR_VERIFIED);
    rt_cursor_free(c);
    unlink(path);
    free(z);
}

/* ---- open without events ---- */

Test(reader, no_events_flag_skips_strings_events_logs)
{
    size_t len;
    uint8_t *z = make_bundle(20000, &len, NULL, NULL);
    struct rt_bundle *full, *meta;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(z, len, &full, &ei), RT_OK);
    cr_assert_eq(rt_bundle_open_mem_flags(z, len, RT_BUNDLE_NO_EVENTS, &meta, &ei), RT_OK);
    cr_assert_eq(full->n_events, 20000);
    cr_assert_eq(full->n_logs, 1);
    cr_assert_eq(meta->n_events, 0);
    cr_assert_eq(meta->n_logs, 0);
    cr_assert_null(meta->events);
    cr_assert_str_eq(meta->meta.function, "cursor-test");
    cr_assert_eq(meta->n_headers, 1);
    cr_assert(!memcmp(meta->digest, full->digest, RT_DIGEST_LEN));
    rt_bundle_free(meta);
    /* the digest is still checked */
    uint8_t *raw;
    size_t raw_len;
    cr_assert_eq(rt_bundle_decompress(z, len, &raw, &raw_len, &ei), RT_OK);
    raw[raw_len - 40] ^= 1; /* inside the LOGS text */
    uint8_t *bz;
    size_t bzlen;
    cr_assert_eq(rt_bundle_compress(raw, raw_len, 3, &bz, &bzlen), RT_OK);
    cr_assert_eq(rt_bundle_open_mem_flags(bz, bzlen, RT_BUNDLE_NO_EVENTS, &meta, &ei),
                 RT_ERR_BUNDLE_DIGEST);
    free(bz);
    free(raw);
    rt_bundle_free(full);
    free(z);
}

/* ---- the event cap ---- */

static void put_uvar(uint8_t **p, uint64_t v)
{
    *p += rt_varint_put(*p, v);
}

/* A valid, digest-sealed bundle of `n` fork events, all zero but the op: 8 columns of n bytes,
 * a few KB compressed (the crafted bundle of issue 14 item 9). */
static uint8_t *crafted_many_events(uint64_t n, size_t *zlen)
{
    size_t cap = (size_t)n * 8 + 4096;
    uint8_t *raw = calloc(1, cap), *p = raw;
    memcpy(p, "RTRB\x01\x00\x00\x00", 8);
    p += 8;
    static const uint8_t meta[] = {1, 1, 'f'}; /* function "f" */
    put_uvar(&p, RT_BLK_META);
    put_uvar(&p, sizeof meta);
    memcpy(p, meta, sizeof meta);
    p += sizeof meta;
    put_uvar(&p, RT_BLK_EVENTS);
    uint8_t tmp[16];
    /* a column with one stream: streams 1, key, planes 1, lstring plane */
    size_t seq_len = 1 + 1 + 1 + rt_varint_put(tmp, n) + (size_t)n;
    size_t op_len = seq_len; /* the key RT_OP_FORK is one byte too */
    size_t n_empty = RT_COL__COUNT - 8;
    size_t body = rt_varint_put(tmp, n) + 1 + 4 * (rt_varint_put(tmp, seq_len) + seq_len) +
                  4 * (rt_varint_put(tmp, op_len) + op_len) + 2 * n_empty;
    put_uvar(&p, body);
    put_uvar(&p, n);
    put_uvar(&p, RT_COL__COUNT);
    for (int k = 0; k < RT_COL__COUNT; k++) {
        if (k >= 8) { /* strings and numbers: no streams */
            put_uvar(&p, 1);
            put_uvar(&p, 0);
            continue;
        }
        put_uvar(&p, seq_len);
        put_uvar(&p, 1);                                     /* one stream */
        put_uvar(&p, k < RT_COL_SEQ_COUNT ? 0 : RT_OP_FORK); /* its key */
        put_uvar(&p, 1);                                     /* one plane */
        put_uvar(&p, n);
        if (k == RT_COL_OP)
            memset(p, RT_OP_FORK, (size_t)n);
        p += n; /* zeros: deltas, dur, flags, result and mask 0 */
    }
    size_t len = (size_t)(p - raw);
    rt_sha256(raw, len, p + 2);
    p[0] = RT_BLK_FOOTER;
    p[1] = RT_DIGEST_LEN;
    len += 2 + RT_DIGEST_LEN;
    uint8_t *z;
    cr_assert_eq(rt_bundle_compress(raw, len, 3, &z, zlen), RT_OK);
    free(raw);
    return z;
}

Test(reader, refuses_more_events_than_the_cap_before_allocating)
{
    /* The crafted bundle of the report (4.4 KB, 16 Mi fork events) is the fuzz seed
     * events-16mi, made by crafted_many_events(16 Mi) (RT_WRITE_SEEDS=1 rewrites it). */
    static const char seed[] = "tests/fuzz/seeds/bundle/events-16mi";
    size_t zlen;
    uint8_t *z;
    if (getenv("RT_WRITE_SEEDS")) {
        z = crafted_many_events(16u * 1024 * 1024, &zlen);
        FILE *f = fopen(seed, "wb");
        cr_assert(f);
        cr_assert_eq(fwrite(z, 1, zlen, f), zlen);
        fclose(f);
        free(z);
    }
    struct rt_errinfo rei;
    cr_assert_eq(rt_bundle_read_file(seed, &z, &zlen, &rei), RT_OK, "%s (run from the root)", seed);
    cr_assert_lt(zlen, 8 * 1024, "crafted bundle is %zu bytes", zlen);
    struct rt_bundle *b = NULL;
    struct rt_errinfo ei;
    char msg[512];
    int rc = rt_bundle_open_mem(z, zlen, &b, &ei);
    cr_assert_eq(rc, RT_ERR_BUNDLE_LENGTH);
    rt_errinfo_format(rc, &ei, msg, sizeof msg);
    cr_assert(strstr(msg, "16777216 events, over the reader's limit of 1048576"), "%s", msg);
    cr_assert_eq(rt_bundle_open_mem_flags(z, zlen, RT_BUNDLE_NO_EVENTS, &b, &ei),
                 RT_ERR_BUNDLE_LENGTH);
    struct rt_cursor *c;
    cr_assert_eq(rt_cursor_open_mem(z, zlen, &c, &ei), RT_ERR_BUNDLE_LENGTH);
    free(z);

    /* at the cap: read */
    z = crafted_many_events(RT_BUNDLE_MAX_EVENTS, &zlen);
    rc = rt_bundle_open_mem(z, zlen, &b, &ei);
    rt_errinfo_format(rc, &ei, msg, sizeof msg);
    cr_assert_eq(rc, RT_OK, "%s", msg);
    cr_assert_eq(b->n_events, RT_BUNDLE_MAX_EVENTS);
    cr_assert_eq(b->events[RT_BUNDLE_MAX_EVENTS - 1].op, RT_OP_FORK);
    rt_bundle_free(b);
    free(z);
    /* one over: refused */
    z = crafted_many_events(RT_BUNDLE_MAX_EVENTS + 1, &zlen);
    cr_assert_eq(rt_bundle_open_mem(z, zlen, &b, &ei), RT_ERR_BUNDLE_LENGTH);
    free(z);
}

Test(bundle, writer_clamps_max_events_to_the_reader_cap)
{
    struct rt_limits lim = {.max_events = 50u * 1024 * 1024};
    struct rt_writer *w = rt_writer_new(&lim);
    struct rt_event e = {0};
    e.op = RT_OP_FORK;
    for (size_t i = 0; i < RT_BUNDLE_MAX_EVENTS + 10; i++)
        rt_writer_add_event(w, &e);
    cr_assert_eq(rt_writer_event_count(w), RT_BUNDLE_MAX_EVENTS);
    uint8_t *z;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 1, &z, &len, NULL), RT_OK);
    rt_writer_free(w);
    struct rt_bundle *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(z, len, &b, &ei), RT_OK);
    cr_assert_eq(b->n_events, RT_BUNDLE_MAX_EVENTS);
    cr_assert_eq(b->meta.counters[RT_CTR_EVENTS_DROPPED], 10);
    rt_bundle_free(b);
    free(z);
}

/* ---- over max_events: the tail and what matters are kept ---- */

Test(bundle, flood_keeps_tail_flagged_and_process_events)
{
    enum { CHEAP = 300000 };
    struct rt_writer *w = rt_writer_new(NULL); /* default: 100000 events */
    struct rt_meta m = {0};
    m.function = "flood";
    rt_writer_set_meta(w, &m);
    struct rt_event e = {0};
    int64_t ts = 0;
    e.op = RT_OP_PROC_START;
    e.pid = 7;
    e.str[0] = (struct rt_str){"/bin/flood", 10};
    cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
    for (int i = 0; i < CHEAP; i++) {
        struct rt_event c = {0};
        c.op = RT_OP_OPEN;
        c.pid = 7;
        c.ts_ns = ++ts;
        c.str[0] = (struct rt_str){"/tmp/spam", 9};
        c.result = 3;
        if (i == CHEAP / 2) { /* in the middle: a flagged read */
            struct rt_event f = c;
            f.str[0] = (struct rt_str){"/proc/self/environ", 18};
            f.flags = RT_EF_ENVIRON_READ;
            f.ts_ns = ++ts;
            cr_assert_eq(rt_writer_add_event(w, &f), RT_OK);
        }
        cr_assert_eq(rt_writer_add_event(w, &c), RT_OK);
    }
    struct rt_event x = {0};
    x.op = RT_OP_PROC_EXIT;
    x.pid = 7;
    x.ts_ns = ++ts;
    x.num[0] = 3;
    cr_assert_eq(rt_writer_add_event(w, &x), RT_OK);
    cr_assert_eq(rt_writer_event_count(w), 100000);
    uint8_t *z;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 1, &z, &len, NULL), RT_OK);
    rt_writer_free(w);
    struct rt_bundle *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(z, len, &b, &ei), RT_OK);
    const uint64_t given = 1 + CHEAP + 1 + 1;
    cr_assert_eq(b->n_events, 100000);
    cr_assert_eq(b->meta.counters[RT_CTR_EVENTS_DROPPED], given - 100000);
    cr_assert_eq(b->meta.dropped_flags, 0, "the flagged event was kept");
    /* head: proc_start and the first 49999 opens, in order */
    cr_assert_eq(b->events[0].op, RT_OP_PROC_START);
    for (size_t i = 1; i < 50000; i++)
        cr_assert_eq(b->events[i].ts_ns, (int64_t)i);
    /* the flagged event from the middle, then the last 49999 events ending with proc_exit */
    cr_assert_eq(b->events[50000].flags, RT_EF_ENVIRON_READ);
    cr_assert_eq(b->events[50000].str[0].len, 18);
    cr_assert(!memcmp(b->events[50000].str[0].ptr, "/proc/self/environ", 18));
    cr_assert_eq(b->events[99999].op, RT_OP_PROC_EXIT);
    cr_assert_eq(b->events[99999].num[0], 3);
    for (size_t i = 50001; i < 100000; i++)
        cr_assert_eq(b->events[i].ts_ns, ts - (int64_t)(99999 - i), "event %zu", i);
    for (size_t i = 1; i < b->n_events; i++)
        cr_assert_lt(b->events[i - 1].ts_ns, b->events[i].ts_ns, "time order at %zu", i);
    rt_bundle_free(b);
    free(z);
}

Test(bundle, dropped_events_flags_reach_meta)
{
    struct rt_limits lim = {.max_events = 4, .max_string = 4};
    struct rt_writer *w = rt_writer_new(&lim); /* head 2, then 2: at most 1 kept */
    struct rt_event e = {0};
    e.op = RT_OP_OPEN;
    e.str[0] = (struct rt_str){"/a/long/path", 12};
    uint32_t flags[] = {0, 0, RT_EF_EXEC_TMP, RT_EF_PRIVILEGE, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        e.ts_ns = (int64_t)i;
        e.flags = flags[i];
        cr_assert_eq(rt_writer_add_event(w, &e), RT_OK);
    }
    uint8_t *z;
    size_t len;
    cr_assert_eq(rt_writer_finish(w, 1, &z, &len, NULL), RT_OK);
    rt_writer_free(w);
    struct rt_bundle *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_open_mem(z, len, &b, &ei), RT_OK);
    cr_assert_eq(b->n_events, 4);
    int64_t want_ts[] = {0, 1, 2, 8}; /* head, the first flagged one kept, the last */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(b->events[i].ts_ns, want_ts[i], "event %d", i);
    cr_assert_eq(b->meta.counters[RT_CTR_EVENTS_DROPPED], 5);
    cr_assert_eq(b->meta.counters[RT_CTR_STRINGS_TRUNCATED], 4, "stored events only");
    cr_assert_eq(b->meta.dropped_flags, RT_EF_PRIVILEGE, "the flag of the dropped event");
    rt_bundle_free(b);
    free(z);
}

/* ---- META strings with a NUL byte ---- */

Test(reader, nul_in_meta_strings_is_visible_not_cut)
{
    uint8_t raw[128], *p = raw;
    memcpy(p, "RTRB\x01\x00\x00\x00", 8);
    p += 8;
    static const uint8_t meta[] = {RT_META_ID_request_id, 8, 'r', 'e', 'q', 0, 'e', 'v', 'i', 'l',
                                   RT_META_ID_function,   2, 0,   'f'};
    *p++ = RT_BLK_META;
    *p++ = sizeof meta;
    memcpy(p, meta, sizeof meta);
    p += sizeof meta;
    size_t len = (size_t)(p - raw);
    rt_sha256(raw, len, p + 2);
    p[0] = RT_BLK_FOOTER;
    p[1] = RT_DIGEST_LEN;
    len += 2 + RT_DIGEST_LEN;
    struct rt_bundle *b;
    struct rt_errinfo ei;
    cr_assert_eq(rt_bundle_decode_raw(raw, len, 0, &b, &ei), RT_OK);
    cr_assert_str_eq(b->meta.request_id, "req\xef\xbf\xbd"
                                         "evil");
    cr_assert_str_eq(b->meta.function, "\xef\xbf\xbd"
                                       "f");
    rt_bundle_free(b);
}
