/* Small file-system helpers shared by the store, the S3 client, the catalog and the store
 * commands: path joining, recursive mkdir, atomic whole-file writes, and folders opened and
 * files removed below a folder without following links (bounded reads: rt_read_file in
 * formats/toolbox.h). */
#ifndef RUNTRAIL_STORE_UTIL_H
#define RUNTRAIL_STORE_UTIL_H

#include "formats/error.h"
#include "formats/toolbox.h" /* rt_read_file */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "a" + "/" + "b" (no doubled '/'; an empty a gives b). malloc'ed; NULL when out of memory. */
char *rt_path_join(const char *a, const char *b);

/* mkdir -p for path (mode 0755 for created folders). Returns 0 or -1 with errno set. */
int rt_mkdir_p(const char *path);

/* Writes data to path atomically: the parent folders are created, the bytes go to a temporary
 * file in the same folder which is renamed over path, so readers see the whole file or none.
 * With sync, the file is fsync'ed before the rename and the folder after it; without (a disk
 * that does not outlive the writer, such as a Lambda sandbox's /tmp), neither. Returns RT_OK
 * or RT_ERR_STORE_IO with path and errno text in ei. */
int rt_write_file(const char *path, const void *data, size_t len, bool sync, struct rt_errinfo *ei);
/* The same, and *fd_out gets a descriptor of the file written, open for reading and writing
 * (close-on-exec; -1 on failure): its bytes stay readable through it if the file is deleted. */
int rt_write_file_keep(const char *path, const void *data, size_t len, bool sync, int *fd_out,
                       struct rt_errinfo *ei);

/* Opens the folder that holds rel (a relative path below dirfd), component by component:
 * "", "." and ".." are refused (EINVAL), each folder is opened with O_NOFOLLOW (a symbolic
 * link in the way fails with ELOOP or ENOTDIR), and with create missing folders are made
 * (mkdirat, 0755). Returns the folder's fd (O_CLOEXEC; the caller closes it) and sets *base to
 * the last component of rel, or returns -1 with errno set. Nothing outside dirfd is touched. */
int rt_open_parent_beneath(int dirfd, const char *rel, bool create, const char **base);

/* unlinkat() of rel below dirfd through rt_open_parent_beneath(). 0, or -1 with errno. */
int rt_unlink_beneath(int dirfd, const char *rel);

/* fsyncs the folder that contains path (after a rename). Errors are ignored. */
void rt_fsync_parent(const char *path);

#endif
