/*
 * fs.h - small file-system helpers.
 */
#ifndef BERTH_UTIL_FS_H
#define BERTH_UTIL_FS_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * mkdir -p: create path and any missing parents, each with mode 0700
 * (berth's directories hold keys, the ledger and caches). An existing
 * directory is fine; an existing non-directory is an error.
 */
int mkdir_p(const char *path, struct berr *err);

/*
 * Replace path with len bytes of data, atomically and durably: written to
 * a temporary file of a random name made exclusively in the same directory
 * (so another user cannot make it first), given mode, fsynced, renamed
 * over path, and the directory fsynced. On failure path is unchanged.
 */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    unsigned mode, struct berr *err);

/*
 * Read the whole file at path, at most max bytes (max > 0; more is an
 * error), NUL terminated. Reads to end of file, so files that report no
 * size (/proc) read whole. Caller frees *out. -1 with err ("cannot read
 * \"<path>\": ...", "\"<path>\" is over <max> bytes"); errno is kept
 * (ENOENT, EFBIG).
 */
int fs_read_file(const char *path, size_t max, char **out, size_t *len,
		 struct berr *err);

/*
 * Append what is left to read on fd to out, until end of file, within
 * out->max (set it: see buf.h). For callers that open the file themselves
 * or word their own messages. 0 at end of file; -1 with errno set: EFBIG
 * when the data passes out->max, else read(2)'s. Either way out keeps what
 * was added and fd stays open.
 */
int fs_read_fd(int fd, struct buf *out);

#endif
