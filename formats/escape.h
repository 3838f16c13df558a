/* Escaping of captured strings before they reach a terminal or a text format. Captured data
 * (paths, argv, payloads, log lines) is attacker-controlled: control characters, escape
 * sequences, invalid UTF-8 and backslashes are shown as C-style escapes (\x1b, \n, \\), never
 * raw. Valid printable UTF-8 passes unchanged. */
#ifndef RUNTRAIL_FORMATS_ESCAPE_H
#define RUNTRAIL_FORMATS_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes the escaped form of s[0..len) to f. If quote is not 0 it is escaped too (\"). */
void rt_escape_fputs(FILE *f, const char *s, size_t len, char quote);

/* Writes the escaped form into buf (always NUL-terminated when cap > 0). Returns the length
 * the full escaped text needs (like snprintf), so a caller can detect truncation. */
size_t rt_escape_buf(char *buf, size_t cap, const char *s, size_t len, char quote);

/* Length of the valid UTF-8 sequence at s (1..4, at most left bytes) with its code point in
 * *cp; 0 when the bytes there are invalid (overlong forms, surrogates, beyond U+10FFFF,
 * truncated). The one decoder of the escaping and the viewer's cell widths. */
size_t rt_utf8_decode(const unsigned char *s, size_t left, uint32_t *cp);

#endif
