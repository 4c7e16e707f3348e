/*
 * fs.h - small file-system helpers.
 */
#ifndef BERTH_UTIL_FS_H
#define BERTH_UTIL_FS_H

#include <stddef.h>

#include "util/err.h"

/*
 * mkdir -p: create path and any missing parents, each with mode 0700
 * (berth's directories hold keys, the ledger and caches). An existing
 * directory is fine; an existing non-directory is an error.
 */
int mkdir_p(const char *path, struct berr *err);

/*
 * Replace path with len bytes of data, atomically and durably: written to
 * a temporary file in the same directory (mode), fsynced, renamed over
 * path, and the directory fsynced. On failure path is unchanged.
 */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    unsigned mode, struct berr *err);

/*
 * Read the whole file at path, at most max bytes (more is an error), NUL
 * terminated. Caller frees *out. -1 with err; errno is kept (ENOENT).
 */
int fs_read_file(const char *path, size_t max, char **out, size_t *len,
		 struct berr *err);

#endif
