/* Where bundles live: a local folder or S3, behind one interface used by the recorder (the
 * extension, `record`, `invoke`) and by the offline tools. Keys follow the layout in
 * docs/format.md ("Store layout"):
 *     PREFIX/v1/fn=NAME/dt=YYYY-MM-DD/hr=HH/<start-ns>-<request-id>.rtb
 * A local folder store uses the same relative paths below the folder.
 *
 * The recorder-side contract: rt_store_put_bundle() never blocks longer than the store's
 * timeout, and on failure keeps the bundle in the spool (bounded; oldest evicted and counted)
 * to be retried by rt_store_flush_spool(). Not thread-safe (but rt_store_interrupt()): one
 * struct rt_store per thread. */
#ifndef RUNTRAIL_STORE_STORE_H
#define RUNTRAIL_STORE_STORE_H

#include "formats/bundle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_store;

struct rt_store_options {
    const char *spool_dir; /* NULL = no spool (CLI); the extension uses /tmp/runtrail-spool */
    uint64_t spool_max;    /* bytes; 0 = default 64 MiB */
    int timeout_ms;        /* per request; 0 = default 5000 */
    const char *sse;       /* RUNTRAIL_SSE: NULL/"AES256" or "aws:kms:KEYID" */
    bool no_sync; /* folder store and spool: no fsync (the disk does not outlive the writer) */
};

/* url: "s3://bucket/prefix", "file:///dir" or a plain folder path. NULL opts = defaults.
 * A folder is created on first write, not here. */
int rt_store_open(const char *url, const struct rt_store_options *opts, struct rt_store **out,
                  struct rt_errinfo *ei);
void rt_store_close(struct rt_store *st);

/* The key (relative path) for a bundle with this meta; writes at most cap bytes. */
int rt_store_key(const struct rt_meta *meta, char *key, size_t cap);

/* Whether key, after its first prefix_len bytes (the store's "PREFIX/", already matched by the
 * caller), is exactly what rt_store_key() writes: v1/fn=NAME/dt=YYYY-MM-DD/hr=HH/<19 digits>-
 * <request-id>.rtb, NAME and the request id of [A-Za-z0-9._-] not starting with '.' (so no "."
 * or ".." segment, no '/' inside a part), and no control character or non-ASCII byte anywhere.
 * Returns RT_OK or RT_ERR_STORE_KEY with the reason and its offset in key in ei (never the
 * key's own bytes, which a caller escapes itself). */
int rt_store_key_check(const char *key, size_t prefix_len, struct rt_errinfo *ei);

/* The spool's file name for key: "<wall-ns, 20 digits>-<seq mod 10^6, 6 digits>-<key with '/'
 * as '+'>", so that sorting names gives the oldest first and the name says where the bundle
 * belongs. RT_ERR_INVALID_ARG when it does not fit in cap bytes. */
int rt_store_spool_name(int64_t wall_ns, unsigned seq, const char *key, char *name, size_t cap);
/* The key a spool file's name stands for, into key (cap bytes): true only for a name of that
 * form whose key passes rt_store_key_check(). A name this store did not write (planted in a
 * /tmp the function shares) could otherwise send its bytes anywhere: "..+..+x.rtb" outside a
 * folder store. */
bool rt_store_spool_key(const char *name, char *key, size_t cap);

/* Stores one sealed bundle under rt_store_key(meta). On success, if where is not NULL, writes
 * the local path (folder store) or the s3:// URL. On failure with a spool configured the
 * bundle is spooled and RT_ERR_STORE_SPOOLED is returned (the data is safe). */
int rt_store_put_bundle(struct rt_store *st, const struct rt_meta *meta, const uint8_t *data,
                        size_t len, char *where, size_t where_cap, struct rt_errinfo *ei);

/* Stores any object (an export's part file) under key, relative to the store's folder or
 * PREFIX/; no spool, no key layout check beyond refusing an absolute key and empty, "." and
 * ".." parts (RT_ERR_STORE_KEY, offset in ei). where as for rt_store_put_bundle(). A folder
 * store writes a temporary file and renames it, so readers never see half an object. */
int rt_store_put_object(struct rt_store *st, const char *key, const uint8_t *data, size_t len,
                        char *where, size_t where_cap, struct rt_errinfo *ei);
/* Retries spooled bundles, oldest first, until one fails or the spool is empty. Returns the
 * number delivered (>= 0) or a negative RT_ERR_* value. A negative value means the spool is
 * not empty (bundles delivered before the failure are out of the spool all the same). */
int rt_store_flush_spool(struct rt_store *st, struct rt_errinfo *ei);
/* The same, but once max_ms (> 0) have passed it stops after the bundle it is delivering, and
 * sets *more (if not NULL) when bundles are left for a later call: a long outage's spool then
 * goes out a little after each new bundle, not all before the next one is sealed. */
int rt_store_flush_spool_for(struct rt_store *st, int64_t max_ms, bool *more,
                             struct rt_errinfo *ei);

/* The one call another thread may make: while on, an S3 request in progress ends soon and new
 * ones fail at once, so that rt_store_put_bundle() spools without waiting on the network
 * (SHUTDOWN: every sealed bundle reaches the spool first, then the time left goes to
 * rt_store_flush_spool() with it off). No effect on a folder store. */
void rt_store_interrupt(struct rt_store *st, bool on);

/* Counters the recorder copies into the next bundle's META, then resets (RT_CTR_SPOOL_DROPPED,
 * RT_CTR_STORE_FAILURES, RT_CTR_SPOOLED). */
void rt_store_take_counters(struct rt_store *st, uint64_t counters[RT_CTR__COUNT]);

/* The store the recording commands use by default: $RUNTRAIL_STORE, else "./runtrail-data". */
const char *rt_store_default_url(void);

#endif
