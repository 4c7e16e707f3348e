/*
 * fs.h - small file-system helpers.
 */
#ifndef BERTH_UTIL_FS_H
#define BERTH_UTIL_FS_H

#include "util/err.h"

/*
 * mkdir -p: create path and any missing parents, each with mode 0700
 * (berth's directories hold keys, the ledger and caches). An existing
 * directory is fine; an existing non-directory is an error.
 */
int mkdir_p(const char *path, struct berr *err);

#endif
