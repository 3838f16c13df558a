/* The timeline model of `runtrail view`: the rows of one bundle as `show` renders them
 * (analysis/timeline.h), read lazily through the streaming cursor (formats/bundle.h rt_cursor),
 * with per-kind toggles, a process tree whose processes fold (hiding their descendants' rows),
 * incremental search, jumps to flagged events and findings, a time gutter, and the facts of
 * the status line (response, invocation markers, drop counters, damage).
 *
 * Part of libviewer's curses-free models (viewer/vm_*.h, no curses, no store): the screens in
 * viewer/ draw what it returns. Memory: the cursor's decompressed stream plus 4 bytes per
 * event (process, op, flagged) and 8 per 64 events (their latest time); 4 bytes per visible row
 * only while a toggle or a fold hides events; the texts of the last 1024 rows rendered. No
 * decoded event array: 1M events index in under twice the
 * decompressed size (tests/bench/viewmodel.sh). Cost: opening
 * decodes nothing past the blocks before the events; a row is decoded when asked for (a page
 * of rows is cached), seeking back costs at most RT_CURSOR_CHECKPOINT event decodes, so the
 * cost of a page does not grow with the bundle. Rows exist only for events scanned so far:
 * the UI calls rt_vm_timeline_scan() with a budget between keystrokes (or
 * rt_vm_timeline_ensure() for the rows it is about to draw) until it reports complete.
 *
 * Rows: the bundle's events in stored order (by time), then, once the scan has reached the end
 * of the bundle (its LOGS block comes after the events), its log lines merged by time as
 * `show` merges them (events first on equal times). Row numbers of events can therefore move
 * when the scan completes, or a toggle or fold changes: a UI keeps its selection as an entry
 * (struct rt_vm_entry) and finds its row again with rt_vm_timeline_find(). rt_vm_timeline_gen()
 * changes whenever row numbers may have changed.
 *
 * Not thread-safe; one model per thread. Every string returned is escaped (no control byte). */
#ifndef RUNTRAIL_VIEWER_VM_TIMELINE_H
#define RUNTRAIL_VIEWER_VM_TIMELINE_H

#include "formats/bundle.h"
#include "formats/error.h"
#include "formats/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_vm_timeline;

/* The flags that make an event "flagged" (n/N on flags, the row's flagged field): every
 * RT_EF_* except create and still_open, which only describe. */
#define RT_VM_NOTABLE_FLAGS (~(uint32_t)(RT_EF_CREATE | RT_EF_STILL_OPEN))

/* Opens a bundle. Returns RT_OK and *out, or the cursor's RT_ERR_* with *ei filled when not
 * even the blocks before the events can be read (then nothing is shown). A bundle damaged
 * later opens: its rows end at the damage, which rt_vm_timeline_status() reports. The memory
 * of rt_vm_timeline_open_mem must stay valid until rt_vm_timeline_free. */
int rt_vm_timeline_open_file(const char *path, struct rt_vm_timeline **out, struct rt_errinfo *ei);
int rt_vm_timeline_open_mem(const void *buf, size_t len, struct rt_vm_timeline **out,
                            struct rt_errinfo *ei);
void rt_vm_timeline_free(struct rt_vm_timeline *tl);

/* The blocks before the events (META, ENV, CODE, headers, payloads); LOGS, digest and lengths
 * are filled in once the scan is complete. Owned by the model. */
const struct rt_bundle *rt_vm_timeline_bundle(const struct rt_vm_timeline *tl);
/* The architecture open flags are rendered with (META arch). */
enum rt_arch rt_vm_timeline_arch(const struct rt_vm_timeline *tl);

/* ---- lazy reading ---- */

/* Reads up to max_events more events into the model's index. Returns true when the scan is
 * complete (the end of the bundle, or damage: everything before it is in). */
bool rt_vm_timeline_scan(struct rt_vm_timeline *tl, size_t max_events);
bool rt_vm_timeline_complete(const struct rt_vm_timeline *tl);
/* Scans until at least rows visible rows exist or the scan is complete; returns the rows. */
size_t rt_vm_timeline_ensure(struct rt_vm_timeline *tl, size_t rows);
/* Visible rows so far (after toggles and folds). */
size_t rt_vm_timeline_rows(const struct rt_vm_timeline *tl);
/* Events scanned so far. */
size_t rt_vm_timeline_events(const struct rt_vm_timeline *tl);
/* Changes whenever row numbers may have moved (toggle, fold, logs merged at completion). */
unsigned rt_vm_timeline_gen(const struct rt_vm_timeline *tl);

/* ---- rows ---- */

/* What a row shows: an event (its index in the bundle's stored order, as `show --json` and
 * the diff/check evidence count) or a log line (its index in the LOGS block). */
struct rt_vm_entry {
    bool is_log;
    size_t index;
};

struct rt_vm_row {
    struct rt_vm_entry entry;
    int64_t ts_ns;      /* from the invocation start */
    uint64_t dur_ns;    /* the call's duration (0 for logs) */
    int64_t gap_ns;     /* ts_ns minus the previous visible row's (0 for the first) */
    unsigned dur_level; /* 0..8: dur_ns against the invocation (log scale), for a bar */
    unsigned gap_level; /* 0..8: the same for gap_ns */
    int32_t pid, tid;   /* 0 for logs */
    unsigned kind;      /* enum rt_kind (RT_KIND_LOG for log lines) */
    unsigned op;        /* enum rt_op (RT_OP_LOG for log lines) */
    uint32_t flags;     /* RT_EF_* */
    bool flagged;       /* flags & RT_VM_NOTABLE_FLAGS */
    bool finding;       /* named by rt_vm_timeline_set_findings() */
    bool failed;        /* an event whose result is an error (-errno) */
    unsigned depth;     /* the process's depth in the process tree (0 for logs) */
    const char *
        text; /* the row `show` prints (escaped), NUL-terminated; valid until the next call on tl */
    size_t text_len;
};

/* Fills *out for visible row `row` (0-based). RT_OK; RT_ERR_INVALID_ARG when row >=
 * rt_vm_timeline_rows(); the cursor's error (ei filled) if the event cannot be decoded. */
int rt_vm_timeline_row(struct rt_vm_timeline *tl, size_t row, struct rt_vm_row *out,
                       struct rt_errinfo *ei);
/* The decoded event of an entry (valid until the next call on tl), for the detail model.
 * RT_OK, RT_ERR_INVALID_ARG for an entry not scanned, or the cursor's error. */
int rt_vm_timeline_event(struct rt_vm_timeline *tl, size_t index, const struct rt_event **ev,
                         struct rt_errinfo *ei);
/* The visible row showing entry e, or the nearest visible row after it in time (the last row
 * when none follows); false when there are no rows. For keeping a selection across changes. */
bool rt_vm_timeline_find(const struct rt_vm_timeline *tl, struct rt_vm_entry e, size_t *row);

/* ---- toggles (per kind: proc, file, net, sec, mark, log) ---- */

/* Shows or hides the rows of kind (enum rt_kind). All kinds are shown at open. */
void rt_vm_timeline_set_kind(struct rt_vm_timeline *tl, unsigned kind, bool shown);
bool rt_vm_timeline_kind_shown(const struct rt_vm_timeline *tl, unsigned kind);

/* ---- process tree ---- */

/* A process seen in the scanned events. Parent: proc_start's ppid, else the process whose
 * fork returned this pid; 0 when unknown (a root). */
struct rt_vm_proc {
    int32_t pid, ppid;
    const char *exe;    /* escaped program (proc_start exe, else the last execve path), or "" */
    unsigned depth;     /* 0 for a root */
    size_t events;      /* events of this pid scanned so far */
    size_t descendants; /* processes below it */
    bool folded;        /* its descendants' rows are hidden */
    bool hidden;        /* an ancestor is folded */
};

/* Processes in tree order (depth first, children in order of first appearance); valid until
 * the next scan or fold. */
size_t rt_vm_timeline_procs(struct rt_vm_timeline *tl);
const struct rt_vm_proc *rt_vm_timeline_proc(struct rt_vm_timeline *tl, size_t i);
/* Folds (hides the rows of every descendant of pid; pid's own rows stay) or unfolds.
 * RT_ERR_INVALID_ARG for a pid not seen. Processes that appear later under a folded one are
 * hidden too. */
int rt_vm_timeline_fold(struct rt_vm_timeline *tl, int32_t pid, bool folded);

/* ---- search ---- */

enum rt_vm_search {
    RT_VM_SEARCH_IDLE = 0,  /* no search started */
    RT_VM_SEARCH_RUNNING,   /* budget spent, call rt_vm_timeline_search_step() again */
    RT_VM_SEARCH_FOUND,     /* *row is the match */
    RT_VM_SEARCH_NOT_FOUND, /* every visible row was looked at once */
};

/* Starts a search for needle in the visible rows' text, from the row after `from` (dir > 0,
 * `/`) or before it (dir < 0, `?`), wrapping around at the ends; from == SIZE_MAX starts at
 * the first (last) row. Case-insensitive when needle has no uppercase letter (smart case).
 * The needle is matched against the escaped text as displayed. RT_ERR_INVALID_ARG for an
 * empty needle, RT_ERR_NOMEM. */
int rt_vm_timeline_search_start(struct rt_vm_timeline *tl, const char *needle, size_t from,
                                int dir);
/* Repeats the last needle from row `from` in direction dir (n: dir of the search, N: the
 * opposite). RT_ERR_INVALID_ARG when no search was started. */
int rt_vm_timeline_search_again(struct rt_vm_timeline *tl, size_t from, int dir);
/* Looks at up to budget rows (scanning more of the bundle when a forward search reaches the
 * end of what is known). *row is set on FOUND; *wrapped tells whether the match lies past an
 * end (may be NULL). */
enum rt_vm_search rt_vm_timeline_search_step(struct rt_vm_timeline *tl, size_t budget, size_t *row,
                                             bool *wrapped);
/* The needle of the last search (NULL if none). */
const char *rt_vm_timeline_search_needle(const struct rt_vm_timeline *tl);

/* ---- flagged events and findings ---- */

/* Marks events (indices in stored order, like rt_finding.ev of analysis/check.h) as findings.
 * Replaces the previous set. RT_ERR_NOMEM. */
int rt_vm_timeline_set_findings(struct rt_vm_timeline *tl, const size_t *events, size_t n);
/* The next (dir > 0) or previous visible row after/before `from` that is flagged or a
 * finding; no wrap. from == SIZE_MAX: from the start (end). False when there is none among
 * the rows known (a forward jump scans the rest of the bundle first). */
bool rt_vm_timeline_next_marked(struct rt_vm_timeline *tl, size_t from, int dir, size_t *row);

/* ---- status line ---- */

/* The facts an incomplete recording must never hide. */
struct rt_vm_status {
    unsigned status;              /* META status (enum rt_status) */
    const char *error_type;       /* META error_type, escaped, or NULL */
    uint64_t duration_ns;         /* META duration */
    bool has_response, has_error; /* RESPONSE / ERROR blocks */
    size_t marks[8];              /* invocation markers seen so far, by enum rt_mark */
    uint64_t dropped;             /* events_dropped + ring_dropped */
    uint64_t counters_nonzero;    /* how many META counters are not zero */
    size_t events;                /* events scanned */
    bool complete;                /* the scan reached the end or the damage */
    enum rt_cursor_state state;   /* verified / mismatch / damaged / unverified (not at end) */
    int damage;                   /* RT_OK, or the error that ended the events */
    char damage_text[320];        /* what could not be read: rt_errinfo_format() text, or "" */
};
void rt_vm_timeline_status(const struct rt_vm_timeline *tl, struct rt_vm_status *st);
/* One line for the status bar, escaped, e.g.
 *   "ok 12.345ms  marks: invoke_start response  dropped 0  1234 events  verified"
 *   "crash  marks: invoke_start (no response)  dropped 17 (events_dropped 17)  900 events
 *    DAMAGED: bundle ends inside a block (at offset ...): events after 900 lost"
 * Writes at most cap bytes (NUL-terminated); returns the length the full line needs. */
size_t rt_vm_timeline_status_line(const struct rt_vm_timeline *tl, char *buf, size_t cap);

#endif
