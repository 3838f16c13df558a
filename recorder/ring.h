/* The shared event ring between the interposer (producers: every thread of every process that
 * loads libruntrail-preload.so) and the consumer (`runtrail record`, the Lambda extension).
 * A memfd (or a file) named by RUNTRAIL_RING, created by the consumer and mapped MAP_SHARED by
 * everyone. Layout, memory ordering and the commit protocol: recorder/RING.md.
 *
 * Producers (ring_produce.c, linked into the preload library, libc only) never block, never
 * allocate and never change errno; when the ring is full the record is counted as dropped.
 * The consumer side (this header) is used by recorder/extension and cli/cmd_record.c. */
#ifndef RUNTRAIL_RECORDER_RING_H
#define RUNTRAIL_RECORDER_RING_H

#include "formats/bundle.h"

#include <stddef.h>
#include <stdint.h>

struct rt_ring;

/* Creates (truncating) the ring file at path with room for `slots` records (0 = default). */
int rt_ring_create(const char *path, size_t slots, struct rt_ring **out, struct rt_errinfo *ei);
/* Creates the ring in memory (a memfd whose size is sealed), with nothing on a file system: a
 * function that clears /tmp, or fills it, cannot take it from the processes it starts later.
 * Producers open it as /proc/PID/fd/N (this process's pid and the memfd), written to path
 * (cap bytes); fails if that path does not reach it (no /proc) or memfd_create is refused.
 * The memfd stays open until rt_ring_close. */
int rt_ring_create_mem(size_t slots, char *path, size_t cap, struct rt_ring **out,
                       struct rt_errinfo *ei);
/* Allocates and clears the ring's pages (in memory: they join this process's RSS) or reads
 * its file into the page cache (zero-filled blocks), so that a producer's first write to a
 * cell finds its page there: without it, that write's fault allocates and clears it (in
 * memory) or reads around it, and the whole ring's zero-filling (about 1 ms) lands in the
 * function's processes. Never changes a cell. Slow: call it from a background thread after
 * the ring is published. */
void rt_ring_populate(struct rt_ring *ring);
/* Unmaps (and closes a ring in memory); a file stays (call unlink yourself when done). */
void rt_ring_close(struct rt_ring *ring);

/* Calls fn for each committed record in order and frees its slot, then writes the summaries
 * of connections closed since the previous call (see rt_ring_snapshot_conns). The struct rt_event
 * and its strings are valid only during the call. ts_ns in the event is CLOCK_MONOTONIC ns
 * (absolute); the consumer rebases it to the invocation start. Returns the number of records
 * drained. */
size_t rt_ring_drain(struct rt_ring *ring, void (*fn)(const struct rt_event *ev, void *arg),
                     void *arg);

/* Emits the exec records still held for a sign of their outcome (RING.md "Exec records")
 * that started at or before until_ns (CLOCK_MONOTONIC), as succeeded: an exec into a static
 * image never sends one, and its invocation is sealed now. A failure record arriving later
 * is then emitted on its own. Returns the events emitted. */
size_t rt_ring_release_execs(struct rt_ring *ring, int64_t until_ns,
                             void (*fn)(const struct rt_event *ev, void *arg), void *arg);

/* Records producers could not write since the last call (ring full), then resets to 0. */
uint64_t rt_ring_take_dropped(struct rt_ring *ring);

/* Added by the recorder: */
/* Drains until nothing is reserved or wait_ms passed, then once more giving up on slots whose
 * producer never committed and flushing held exec records, then writes the last summary of
 * every connection in the table (flagged RT_EF_STILL_OPEN when neither closed nor its owner
 * gone) and frees
 * the table. For the end of a recording. */
size_t rt_ring_drain_final(struct rt_ring *ring, int wait_ms,
                           void (*fn)(const struct rt_event *ev, void *arg), void *arg);
/* Records reserved by producers and not yet drained. */
size_t rt_ring_backlog(const struct rt_ring *ring);
/* Strings producers cut to fit a slot since the last call (RT_CTR_STRINGS_TRUNCATED). */
uint64_t rt_ring_take_truncated(struct rt_ring *ring);
/* The summaries of the connections producers still hold (RING.md "Connections"): one OUTBOUND
 * (or INBOUND for an accepted one) per connection that moved bytes or sent a new HTTP request
 * since its previous summary, with the bytes since then, flagged RT_EF_STILL_OPEN; then starts
 * a new period on every connection. A connection whose owner is gone gets its last summary and
 * its entry is freed. For the end of an invocation. Closed connections are summarised by
 * rt_ring_drain, and every one left by rt_ring_drain_final. Returns the events written. */
size_t rt_ring_snapshot_conns(struct rt_ring *ring,
                              void (*fn)(const struct rt_event *ev, void *arg), void *arg);
/* The end of an invocation, when its sealing may come later (the extension): a copy of every
 * connection producers hold, taken now, and a new period begun on each (the snapshot
 * generation moves, as rt_ring_snapshot_conns does). Only reads the shared table: any thread
 * may call it while the consumer drains. NULL when there is no table or no memory (then
 * rt_ring_snapshot_conns at the seal, as before). Freed with rt_ring_cut_free. */
struct rt_ring_cut;
struct rt_ring_cut *rt_ring_cut_conns(const struct rt_ring *ring);
/* The bytes a cut holds (the connections it copied), 0 for NULL: the sealer's queue bound
 * counts them. */
size_t rt_ring_cut_bytes(const struct rt_ring_cut *cut);
void rt_ring_cut_free(struct rt_ring_cut *cut);
/* Sealing that invocation (consumer): from rt_ring_set_cut on, a drain that summarises a
 * closed connection first writes what the cut holds of it; rt_ring_settle_cut then writes the
 * summaries of the rest of the cut (what each connection did up to the cut, flagged
 * RT_EF_STILL_OPEN when it was open then; ts = the start of that period; a connection that has
 * not moved since and whose owner is gone ends there: unflagged, freed) and forgets the cut. What a
 * connection did after the cut is left for the next summary, timed by its own period. Returns the
 * events written. The cut must stay valid until rt_ring_settle_cut returns. */
void rt_ring_set_cut(struct rt_ring *ring, struct rt_ring_cut *cut);
size_t rt_ring_settle_cut(struct rt_ring *ring, void (*fn)(const struct rt_event *ev, void *arg),
                          void *arg);
/* Connections producers could not enter in the connection table since the last call (table
 * full: no summary), then resets (RT_CTR_CONNS_UNTRACKED). */
uint64_t rt_ring_take_untracked(struct rt_ring *ring);

#endif
