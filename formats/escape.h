/* Escaping of captured strings before they reach a terminal or a text format. Captured data
 * (paths, argv, payloads, log lines) is attacker-controlled: control characters, escape
 * sequences, invalid UTF-8 and backslashes are shown as C-style escapes (\x1b, \n, \\), never
 * raw. Valid printable UTF-8 passes unchanged. */
#ifndef RUNTRAIL_FORMATS_ESCAPE_H
#define RUNTRAIL_FORMATS_ESCAPE_H

#include <stdio.h>
#include <stddef.h>

/* Writes the escaped form of s[0..len) to f. If quote is not 0 it is escaped too (\"). */
void rt_escape_fputs(FILE *f, const char *s, size_t len, char quote);

/* Writes the escaped form into buf (always NUL-terminated when cap > 0). Returns the length
 * the full escaped text needs (like snprintf), so a caller can detect truncation. */
size_t rt_escape_buf(char *buf, size_t cap, const char *s, size_t len, char quote);

#endif
