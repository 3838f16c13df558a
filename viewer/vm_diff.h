/* The diff model of `runtrail view`: two invocations compared by the analysis library
 * (analysis/diff.h), or one against a baseline (analysis/baseline.h, analysis/check.h), as
 * lines for a unified and a side-by-side display. The summary comes first (what differs in
 * one line each: new programs, destinations, files, flags; META/CODE fields; ENV; payloads),
 * then the behaviour counts, then per process the timeline hunks, each line with the rows
 * `show` prints for side A and side B. Against a baseline: one line per deviation with its
 * evidence rows, like `runtrail diff A --baseline FILE`.
 *
 * Part of libviewer's curses-free models (viewer/vm_*.h, no curses, no store). Every text is
 * escaped (no control byte). Not thread-safe. */
#ifndef RUNTRAIL_VIEWER_VM_DIFF_H
#define RUNTRAIL_VIEWER_VM_DIFF_H

#include "analysis/baseline.h"
#include "formats/bundle.h"
#include "formats/error.h"

#include <stdbool.h>
#include <stddef.h>

/* What a line is, for colouring. */
enum rt_vm_diff_style {
    RT_VM_DIFF_TITLE = 0, /* "--- A ..." / "+++ B ..." and section titles */
    RT_VM_DIFF_SUMMARY,   /* a summary line at the top */
    RT_VM_DIFF_HUNK,      /* "@@ -a,n +b,m @@ process" */
    RT_VM_DIFF_SAME,      /* ' ' in both */
    RT_VM_DIFF_REMOVED,   /* '-' only in A (or in the baseline) */
    RT_VM_DIFF_ADDED,     /* '+' only in B (a deviation from the baseline) */
    RT_VM_DIFF_CHANGED,   /* a field, count or payload value that differs in both */
    RT_VM_DIFF_NOTE,      /* a note: different functions, env not comparable, bounded */
};

struct rt_vm_diff_line {
    enum rt_vm_diff_style style;
    const char *text;  /* the unified line, with its leading ' ', '-', '+' (escaped) */
    const char *left;  /* side by side: side A's cell, or NULL when blank on that side */
    const char *right; /* side by side: side B's cell, or NULL */
    /* Side by side: both left and right NULL is a full-width line (show text); unified_only
     * is an added line already shown on the right of the removal it pairs with: skip it. */
    bool unified_only;
};

struct rt_vm_diff;

/* Compares two bundle files, holding one decoded bundle at a time (rt_diff_begin/add/finish),
 * then reading the rows of the lines through a cursor. label_a/label_b name the sides in the
 * title lines (escaped here; NULL: the paths). RT_OK and *out, or an RT_ERR_* with *ei filled
 * and *which set to 0 (A) or 1 (B), the file that failed. */
int rt_vm_diff_files(const char *path_a, const char *path_b, const char *label_a,
                     const char *label_b, struct rt_vm_diff **out, struct rt_errinfo *ei,
                     int *which);
/* The same for two decoded bundles. RT_OK or RT_ERR_NOMEM. */
int rt_vm_diff_bundles(const struct rt_bundle *a, const struct rt_bundle *b, const char *label_a,
                       const char *label_b, struct rt_vm_diff **out);
/* b against baseline bl (label: how to name the baseline, e.g. its path). RT_OK,
 * RT_ERR_BASELINE_FUNCTION when bl is of another function, RT_ERR_NOMEM. */
int rt_vm_diff_baseline(const struct rt_bundle *b, const struct rt_baseline *bl, const char *label,
                        struct rt_vm_diff **out);
void rt_vm_diff_free(struct rt_vm_diff *d);

size_t rt_vm_diff_count(const struct rt_vm_diff *d);
/* Line i, or NULL past the end. */
const struct rt_vm_diff_line *rt_vm_diff_line(const struct rt_vm_diff *d, size_t i);
/* How many of the first lines are the summary (titles included), to pin them on top. */
size_t rt_vm_diff_summary_lines(const struct rt_vm_diff *d);
/* Whether anything differs (what makes `runtrail diff` exit 1). */
bool rt_vm_diff_differs(const struct rt_vm_diff *d);
/* The index of the next (dir > 0) or previous line after/before from that starts a hunk or a
 * section; false when none (for n/N on the Diff screen). */
bool rt_vm_diff_next_hunk(const struct rt_vm_diff *d, size_t from, int dir, size_t *line);

#endif
