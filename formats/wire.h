/* Internal to formats/: the on-disk vocabulary of bundle format v1/v2 shared by the writer and
 * the reader — header magic, block ids, META/CODE/payload field ids (TLV), the EVENTS columns
 * and the varint/zigzag codecs. docs/format.md documents every value here; the table in that
 * document is checked against these lists by tests/unit/test_bundle.c. */
#ifndef RUNTRAIL_FORMATS_WIRE_H
#define RUNTRAIL_FORMATS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define RT_WIRE_MAGIC "RTRB"
#define RT_WIRE_MAGIC_LEN 4
#define RT_WIRE_HEADER_LEN 8 /* magic, u16le version, u16le flags (0) */

/* Block types (varint). Append only. */
#define RT_BLOCKS(_)                                                                               \
    _(META, 1, "meta")                                                                             \
    _(ENV, 2, "env")                                                                               \
    _(CODE, 3, "code")                                                                             \
    _(HEADERS, 4, "headers")                                                                       \
    _(EVENT, 5, "event")                                                                           \
    _(RESPONSE, 6, "response")                                                                     \
    _(ERROR, 7, "error")                                                                           \
    _(STRINGS, 8, "strings")                                                                       \
    _(EVENTS, 9, "events")                                                                         \
    _(LOGS, 10, "logs")                                                                            \
    _(FOOTER, 127, "footer")

enum rt_block {
#define _(id, num, name) RT_BLK_##id = num,
    RT_BLOCKS(_)
#undef _
};

/* How a TLV value is encoded. */
enum rt_wire_type {
    RT_WT_STR,    /* raw bytes (UTF-8 text) */
    RT_WT_UVAR,   /* unsigned varint */
    RT_WT_SVAR,   /* zigzag varint */
    RT_WT_DIGEST, /* 32 raw bytes */
    RT_WT_PAIRS,  /* varint (id, value) pairs */
    RT_WT_BYTES,  /* raw bytes (binary) */
};

/* META fields: id, name (docs), type, struct rt_meta member. Append only. */
#define RT_META_FIELDS(_)                                                                          \
    _(1, "function", RT_WT_STR, function)                                                          \
    _(2, "function_version", RT_WT_STR, function_version)                                          \
    _(3, "function_arn", RT_WT_STR, function_arn)                                                  \
    _(4, "region", RT_WT_STR, region)                                                              \
    _(5, "runtime", RT_WT_STR, runtime)                                                            \
    _(6, "handler", RT_WT_STR, handler)                                                            \
    _(7, "request_id", RT_WT_STR, request_id)                                                      \
    _(8, "trace_id", RT_WT_STR, trace_id)                                                          \
    _(9, "caller", RT_WT_STR, caller)                                                              \
    _(10, "sandbox_id", RT_WT_STR, sandbox_id)                                                     \
    _(11, "recorder_version", RT_WT_STR, recorder_version)                                         \
    _(12, "error_type", RT_WT_STR, error_type)                                                     \
    _(13, "command", RT_WT_STR, command)                                                           \
    _(14, "memory_mb", RT_WT_UVAR, memory_mb)                                                      \
    _(15, "start_wall_ns", RT_WT_SVAR, start_wall_ns)                                              \
    _(16, "end_wall_ns", RT_WT_SVAR, end_wall_ns)                                                  \
    _(17, "duration_ns", RT_WT_UVAR, duration_ns)                                                  \
    _(18, "deadline_wall_ns", RT_WT_SVAR, deadline_wall_ns)                                        \
    _(19, "cold_start", RT_WT_UVAR, cold_start)                                                    \
    _(20, "status", RT_WT_UVAR, status)                                                            \
    _(21, "exit_status", RT_WT_SVAR, exit_status)                                                  \
    _(22, "seq", RT_WT_UVAR, seq)                                                                  \
    _(23, "prev_digest", RT_WT_DIGEST, prev_digest)                                                \
    _(24, "coverage", RT_WT_UVAR, coverage)                                                        \
    _(25, "counters", RT_WT_PAIRS, counters)                                                       \
    _(27, "chain_end", RT_WT_UVAR, chain_end)                                                      \
    _(28, "dropped_flags", RT_WT_UVAR, dropped_flags)                                              \
    _(29, "arch", RT_WT_STR, arch)                                                                 \
    _(30, "hash_key_id", RT_WT_STR, hash_key_id)                                                   \
    _(31, "replay_of", RT_WT_STR, replay_of)                                                       \
    _(32, "access_key_id", RT_WT_STR, access_key_id)                                               \
    _(33, "recorder_cpu_ns", RT_WT_UVAR, recorder_cpu_ns)

/* META field ids by member name: RT_META_ID_status, RT_META_ID_counters, ... */
enum rt_meta_id {
#define _(id, name, type, member) RT_META_ID_##member = id,
    RT_META_FIELDS(_)
#undef _
};

/* CODE fields. */
#define RT_CODE_FIELDS(_)                                                                          \
    _(1, "task_root", RT_WT_DIGEST, task_root)                                                     \
    _(2, "layers", RT_WT_DIGEST, layers)                                                           \
    _(3, "files", RT_WT_UVAR, files)                                                               \
    _(4, "bytes", RT_WT_UVAR, bytes)                                                               \
    _(5, "task_root_path", RT_WT_STR, task_root_path)

/* EVENT / RESPONSE / ERROR payload fields. */
#define RT_PAYLOAD_FIELDS(_)                                                                       \
    _(1, "mode", RT_WT_UVAR, mode)                                                                 \
    _(2, "original_len", RT_WT_UVAR, original_len)                                                 \
    _(3, "sha256", RT_WT_DIGEST, sha256)                                                           \
    _(4, "data", RT_WT_BYTES, data)                                                                \
    _(5, "content_type", RT_WT_STR, content_type)                                                  \
    _(6, "error_type", RT_WT_STR, error_type)

/* EVENTS columns, in stored order: id, name, scope, values. A "seq" column is one stream over
 * all events; an "op" column has one stream per operation (values of events of that op only),
 * so each stream holds similar values (openat flags, connect results, sendto sizes) and
 * compresses to little. Values are LEB128 split into byte planes (docs/format.md). */
#define RT_COLUMNS(_)                                                                              \
    _(OP, "op", "seq", "uvarint: enum rt_op")                                                      \
    _(TS, "ts", "seq", "zigzag: ts_ns minus the previous event's ts_ns (first: minus 0)")          \
    _(PID, "pid", "seq", "zigzag: pid minus the previous event's pid")                             \
    _(TID, "tid", "seq", "zigzag: tid minus this event's pid")                                     \
    _(DUR, "dur", "op", "uvarint: dur_ns")                                                         \
    _(FLAGS, "flags", "op", "uvarint: RT_EF_* bits")                                               \
    _(RESULT, "result", "op", "zigzag: result")                                                    \
    _(MASK, "mask", "op", "uvarint: bit i (0..2) string i non-empty, bit 3+j number j non-zero")   \
    _(S0, "s0", "op", "uvarint: string table index of str[0]")                                     \
    _(S1, "s1", "op", "uvarint: string table index of str[1]")                                     \
    _(S2, "s2", "op", "uvarint: string table index of str[2]")                                     \
    _(N0, "n0", "op", "zigzag: num[0]")                                                            \
    _(N1, "n1", "op", "zigzag: num[1]")                                                            \
    _(N2, "n2", "op", "zigzag: num[2]")                                                            \
    _(N3, "n3", "op", "zigzag: num[3]")
#define RT_COL_SEQ_COUNT 4 /* the first 4 columns are per-sequence, the others per-op */

enum rt_column {
#define _(id, name, scope, doc) RT_COL_##id,
    RT_COLUMNS(_)
#undef _
        RT_COL__COUNT
};

/* Planes per EVENTS column written by this writer: bytes 0, 1, 2 of each LEB128 value, then
 * the rest. Readers accept 1..RT_WIRE_MAX_PLANES. */
#define RT_WIRE_PLANES 4
#define RT_WIRE_MAX_PLANES 10

/* Events per EVENTS block (a chunk) written by this writer. A reader can decode a chunk as
 * soon as it has been decompressed, so the first events show before the rest of the frame has
 * been read. Readers accept any size up to RT_BUNDLE_MAX_EVENTS. */
#define RT_WIRE_CHUNK_EVENTS 65536

static inline uint64_t rt_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

static inline int64_t rt_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Writes v as LEB128 into p (room for 10 bytes); returns the bytes written. */
static inline size_t rt_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint from p[0..len); returns bytes consumed, 0 if truncated, -1 if malformed
 * (more than 10 bytes or a value over 64 bits). */
static inline int rt_varint_get(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i >= len)
            return 0;
        uint8_t b = p[i];
        if (i == 9 && b > 1)
            return -1;
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return (int)i + 1;
        }
    }
    return -1;
}

#endif
