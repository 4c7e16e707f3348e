/*
 * backup.c - a consistent copy of the state database (ledger.h,
 * ledger_backup).
 *
 * SQLite's online backup copies the pages of berth.db inside one read
 * transaction (a single backup step), so writers of the WAL database (a
 * berth serve taking reports, a reconcile) go on and the copy is the
 * database as of one moment. The copy is written to a temporary file made
 * exclusively next to the destination, switched to a rollback journal so
 * that it is one self-contained file, fsynced and renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger/ledger-int.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The directory of path (".", when it has none); caller frees. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static int
fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* The head of the copy at path: its last seq and hash (0 and zeros when empty). */
static int
copy_head(sqlite3 *db, int64_t *seq, char hash[65], struct berr *err)
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	memcpy(hash, LEDGER_ZERO_HASH, 65);
	if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1", -1,
			       &st, NULL) != SQLITE_OK)
		return berr_set(err, "reading the copy: %s", sqlite3_errmsg(db));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return berr_set(err, "reading the copy: %s", sqlite3_errstr(rc));
	return 0;
}

int
ledger_backup(struct ledger *l, const char *path, int64_t *seq, char hash[65],
	      struct berr *err)
{
	char *dir = dir_of(path), *tmp = xasprintf("%s/.berth-backup-XXXXXX", dir);
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	struct stat sb;
	int fd, rc, ret = -1;

	if (lstat(path, &sb) == 0) {
		berr_set(err, "\"%s\" exists: a backup never overwrites a file", path);
		goto out_free;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		berr_set(err, "cannot create a file in \"%s\": %s", dir, strerror(errno));
		goto out_free;
	}
	fchmod(fd, 0600);
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		berr_set(err, "cannot open \"%s\": %s", tmp, dst ? sqlite3_errmsg(dst) : "no memory");
		goto out;
	}
	ledger_mutex_lock(l);
	b = sqlite3_backup_init(dst, "main", ledger_sqlite(l), "main");
	if (!b) {
		ledger_mutex_unlock(l);
		berr_set(err, "cannot start the backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	/* One step: the whole database in one read transaction. A writer
	 * holding the lock only delays it (the connection's busy timeout). */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(50);
	sqlite3_backup_finish(b);
	ledger_mutex_unlock(l);
	if (rc != SQLITE_DONE) {
		berr_set(err, "the backup failed: %s", sqlite3_errstr(rc));
		goto out;
	}
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		berr_set(err, "cannot finish the copy: %s", sqlite3_errmsg(dst));
		goto out;
	}
	if (copy_head(dst, seq, hash, err) < 0)
		goto out;
	sqlite3_close(dst);
	dst = NULL;
	if (fsync_path(tmp, O_RDONLY) < 0) {
		berr_set(err, "cannot sync \"%s\": %s", tmp, strerror(errno));
		goto out;
	}
	/* link() rather than rename(): a file made at path meanwhile is kept */
	if (link(tmp, path) < 0) {
		berr_set(err, "cannot create \"%s\": %s", path, strerror(errno));
		goto out;
	}
	fsync_path(dir, O_RDONLY | O_DIRECTORY);
	ret = 0;
out:
	sqlite3_close(dst);
	unlink(tmp);
out_free:
	free(tmp);
	free(dir);
	return ret;
}
