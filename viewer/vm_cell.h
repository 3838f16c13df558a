/* Text cells for the terminal UI: a captured string escaped exactly as `show` escapes it
 * (formats/escape.h), then cut or padded to a display width in terminal columns, UTF-8 aware:
 * wide characters take two columns (one cut in half becomes a space), combining marks take
 * none, invalid UTF-8 and control bytes are shown escaped (\x1b). The output never holds a
 * byte below 0x20 or 0x7f, whatever the input, so it can go straight to addstr().
 *
 * Part of libviewer's curses-free models (viewer/vm_*.h): they include no curses header and
 * are unit-tested on their own. Widths come from wcwidth(3), so the program must have called
 * setlocale(LC_CTYPE, "") with a UTF-8 locale; in a non-UTF-8 locale every non-ASCII
 * character counts one column. */
#ifndef RUNTRAIL_VIEWER_VM_CELL_H
#define RUNTRAIL_VIEWER_VM_CELL_H

#include <stddef.h>

/* Flags of rt_cell_fit(). */
#define RT_CELL_RAW 0x1u   /* text is captured bytes: escape them as `show` does first */
#define RT_CELL_PAD 0x2u   /* pad with spaces up to width columns */
#define RT_CELL_RIGHT 0x4u /* with RT_CELL_PAD: pad on the left (numbers) */
#define RT_CELL_MORE 0x8u  /* a cut text ends with '>' in its last column */

/* Display width in columns of text[0..len) as rt_cell_fit() would show it (after escaping
 * when flags has RT_CELL_RAW; other flags are ignored). */
size_t rt_cell_width(const char *text, size_t len, unsigned flags);

/* Fits text[0..len) into width columns, skipping the first skip columns (horizontal scroll).
 * Without RT_CELL_RAW the text is display text (a `show` row, already escaped): it passes as
 * it is except control bytes, invalid UTF-8 and invisible controls, which are escaped as
 * `show` escapes them (never raw). Writes at most cap bytes into buf, NUL-terminated, never
 * cutting a character; returns the bytes written (without the NUL). *cols, if not NULL,
 * receives the columns the output takes (width when padded and the text was long enough or
 * padded). A character keeps at most RT_CELL_MAX_MARKS combining marks (more are dropped, so a
 * "zalgo" string cannot grow a cell without bound); a buffer of RT_CELL_CAP(width) bytes then
 * always holds the whole cell. A wide character cut by skip or width becomes spaces. */
#define RT_CELL_MAX_MARKS 4
#define RT_CELL_CAP(width) (16 * (size_t)(width) + 1)
size_t rt_cell_fit(char *buf, size_t cap, const char *text, size_t len, size_t skip, size_t width,
                   unsigned flags, size_t *cols);

#endif
