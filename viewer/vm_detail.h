/* The detail model of `runtrail view`: everything about one event and its bundle as lines of
 * text for the Detail screen. Sections: the event (every field: time, duration, pid/tid, kind,
 * op, result with errno name, flags, each argument slot by name, as `show` renders it); the
 * invocation (META fields, the chain position: sandbox, sequence number, previous digest,
 * chain end; the bundle's verify status); ENV (names and keyed hashes, allow-listed values);
 * CODE digests; headers; and the payload, response and error as pretty-printed JSON (jansson)
 * whose objects and arrays fold, with redacted values ("<redacted...>") marked. A payload that
 * is not JSON is shown as escaped text lines; a JSON string holding JSON (API Gateway `body`)
 * unfolds into its parsed document.
 *
 * Part of libviewer's curses-free models (viewer/vm_*.h, no curses, no store). Every line's
 * text is escaped (no control byte); indentation is in the text. Not thread-safe. */
#ifndef RUNTRAIL_VIEWER_VM_DETAIL_H
#define RUNTRAIL_VIEWER_VM_DETAIL_H

#include "formats/bundle.h"
#include "formats/render.h"

#include <stdbool.h>
#include <stddef.h>

/* What a line is, for colouring. */
enum rt_vm_line_style {
    RT_VM_LINE_HEADING = 0, /* a section title: "event", "invocation", "payload (event)" */
    RT_VM_LINE_FIELD,       /* "name: value" */
    RT_VM_LINE_JSON,        /* a line of a JSON document */
    RT_VM_LINE_REDACTED,    /* a JSON member whose value was redacted by the recorder */
    RT_VM_LINE_WARN,        /* damage, mismatch, truncation, drops: what a responder must see */
    RT_VM_LINE_TEXT,        /* a non-JSON payload's text */
};

struct rt_vm_line {
    const char *text; /* escaped, NUL-terminated, owned by the model */
    enum rt_vm_line_style style;
    unsigned depth; /* JSON nesting depth (0 outside JSON) */
    bool foldable;  /* opens an object or array (or a JSON string's document): Enter folds it */
    bool folded;    /* folded: the line shows "{...}" / "[...]" with the member count */
    bool redacted;  /* the value (or one below a folded line) is redacted */
};

struct rt_vm_detail;

struct rt_vm_detail *rt_vm_detail_new(void); /* NULL when out of memory */
void rt_vm_detail_free(struct rt_vm_detail *d);
/* Empties the model (folds too). */
void rt_vm_detail_clear(struct rt_vm_detail *d);

/* Appends the event section for ev (index: its position in stored order; arch: how to render
 * open flags, rt_vm_timeline_arch()). RT_OK or RT_ERR_NOMEM. */
int rt_vm_detail_add_event(struct rt_vm_detail *d, const struct rt_event *ev, size_t index,
                           enum rt_arch arch);
/* Appends a log line's section. */
int rt_vm_detail_add_log(struct rt_vm_detail *d, const struct rt_log *log, size_t index);
/* Appends the bundle's sections: invocation (META, chain position, verify status as state
 * says: rt_cursor_state of the reader, RT_CURSOR_VERIFIED for a bundle opened whole), ENV,
 * CODE, headers, then the payloads (event, response, error) as foldable JSON. */
int rt_vm_detail_add_bundle(struct rt_vm_detail *d, const struct rt_bundle *b,
                            enum rt_cursor_state state);
/* Appends one payload section titled title (exposed for the fuzz harness and tests). */
int rt_vm_detail_add_payload(struct rt_vm_detail *d, const char *title, const struct rt_payload *p);

/* Visible lines (lines inside a folded node are not counted). */
size_t rt_vm_detail_count(const struct rt_vm_detail *d);
/* Visible line i, or NULL past the end. Valid until the next change of d. */
const struct rt_vm_line *rt_vm_detail_line(const struct rt_vm_detail *d, size_t i);
/* Folds or unfolds the node that visible line i opens. Returns true when line i is
 * foldable (the visible lines changed). */
bool rt_vm_detail_toggle(struct rt_vm_detail *d, size_t i);
/* Folds (true) or unfolds every foldable node at depth >= depth. */
void rt_vm_detail_fold_all(struct rt_vm_detail *d, unsigned depth, bool folded);

#endif
