/*
 * statedb.c - connections to the state database for its readers and the
 * intake's store (see statedb.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/statedb.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define BUSY_TIMEOUT_MS	30000

int
statedb_open(const char *state_dir, int readonly, sqlite3 **out, struct berr *err)
{
	char *path = xasprintf("%s/berth.db", state_dir);
	int ret;

	*out = NULL;
	ret = sqlite3_open_v2(path, out, (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
			      SQLITE_OPEN_NOMUTEX, NULL);
	if (ret != SQLITE_OK) {
		berr_set(err, "cannot open the state database \"%s\": %s", path,
			 *out ? sqlite3_errmsg(*out) : "out of memory");
		sqlite3_close(*out);
		*out = NULL;
		free(path);
		return -1;
	}
	free(path);
	sqlite3_busy_timeout(*out, BUSY_TIMEOUT_MS);
	sqlite3_db_config(*out, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	return 0;
}

static int
has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int
statedb_open_ro(const char *state_dir, const char *table, sqlite3 **db, struct berr *err)
{
	char *path = xasprintf("%s/berth.db", state_dir);
	int missing = access(path, F_OK) != 0 && errno == ENOENT;

	free(path);
	*db = NULL;
	if (missing)
		return 0;
	if (statedb_open(state_dir, 1, db, err) < 0)
		return -1;
	if (!has_table(*db, table)) {
		sqlite3_close(*db);
		*db = NULL;
	}
	return 0;
}
