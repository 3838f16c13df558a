/* The SQLite catalog: one per user, indexing every bundle runtrail recorded locally or pulled,
 * so `ls`, `check`, `view` and `diff` answer across thousands of invocations. Default path:
 * ${RUNTRAIL_CACHE:-${XDG_CACHE_HOME:-~/.cache}/runtrail}/catalog.sqlite, with pulled
 * bundles beside it. WAL mode, versioned schema (PRAGMA user_version + migrations). */
#ifndef RUNTRAIL_STORE_CATALOG_H
#define RUNTRAIL_STORE_CATALOG_H

#include "formats/bundle.h"

#include <stddef.h>

struct rt_catalog;

/* The cache folder (no trailing slash): --cache, else $RUNTRAIL_CACHE, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/runtrail. override may be NULL. */
int rt_catalog_dir(const char *override, char *buf, size_t cap);

/* Opens (creating and migrating) the catalog in dir. */
int rt_catalog_open(const char *dir, struct rt_catalog **out, struct rt_errinfo *ei);
void rt_catalog_close(struct rt_catalog *cat);

/* Reads, verifies and indexes the bundle file at path (absolute path stored); key is its
 * store key or NULL. Re-indexing the same digest is a no-op. */
int rt_catalog_index_file(struct rt_catalog *cat, const char *path, const char *key,
                          struct rt_errinfo *ei);

/* Convenience for recording commands: index path into the default catalog. Failures are
 * returned, never fatal to the caller's recording. */
int rt_catalog_index_default(const char *path, struct rt_errinfo *ei);

#endif
