/* The CODE block's digests (formats/codetree.c): computed by the recorder's extension once per
 * sandbox and recomputed by `runtrail replay`, the same way. Reads files; never prints. */
#ifndef RUNTRAIL_FORMATS_CODETREE_H
#define RUNTRAIL_FORMATS_CODETREE_H

#include "formats/bundle.h"

#include <stdbool.h>
#include <stdint.h>

/* SHA-256 of the tree at root (a missing or unreadable root hashes as empty), skipping the
 * relative paths for which skip returns true; adds the files and bytes hashed to *files and
 * *bytes (either may be NULL). Bounded (50000 files, 512 MiB, depth 32). Returns RT_OK or
 * RT_ERR_NOMEM. */
int rt_code_tree_digest(const char *root, bool (*skip)(const char *rel), uint8_t out[32],
                        uint32_t *files, uint64_t *bytes);

/* Fills *code: the task root's digest, the layers folder's (runtrail's own files left out),
 * the counts, and task_root_path (a malloc'ed copy of task_root, NULL if task_root is NULL;
 * the caller frees it). Returns RT_OK or RT_ERR_NOMEM. */
int rt_code_digest(const char *task_root, const char *layers_dir, struct rt_code *code);

#endif
