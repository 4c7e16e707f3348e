/*
 * reports.c - the latest accepted report of every host (reports.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sched/reports.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define BUSY_TIMEOUT_MS 30000

/* Open <state_dir>/berth.db read-only; *db NULL when there is none. */
static int
open_ro(const char *state_dir, sqlite3 **db, struct berr *err)
{
	char *path = xasprintf("%s/berth.db", state_dir);
	int ret = 0;

	*db = NULL;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		goto out;
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		ret = berr_set(err, "cannot open the state database \"%s\": %s", path,
			       *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		goto out;
	}
	sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
out:
	free(path);
	return ret;
}

static int
has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int found;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* Parse the rows into s->reports and their times into *received. */
static int
read_latest(sqlite3 *db, struct report_set *s, int64_t **received, struct berr *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	struct berr perr;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT l.received_ms, h.body FROM report_latest l "
			       "JOIN report_history h ON h.id = l.history_id ORDER BY l.host",
			       -1, &st, NULL) != SQLITE_OK)
		return berr_set(err, "state database: reading the latest reports: %s",
				sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n == cap) {
			cap = cap ? 2 * cap : 16;
			s->reports = xreallocarray(s->reports, cap, sizeof(*s->reports));
			*received = xreallocarray(*received, cap, sizeof(**received));
		}
		/* Stored bodies were checked when accepted; one that no longer
		 * parses (written by a newer berth) is skipped, not fatal. */
		if (report_parse(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
				 &s->reports[s->n], &perr) < 0)
			continue;
		(*received)[s->n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return berr_set(err, "state database: reading the latest reports: %s",
				sqlite3_errmsg(db));
	return 0;
}

int
report_set_load(const char *state_dir, struct report_set *out, struct berr *err)
{
	int64_t *received = NULL;
	sqlite3 *db;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (open_ro(state_dir, &db, err) < 0)
		return -1;
	if (!db || !has_table(db, "report_latest")) {
		ret = 0;
		goto out;
	}
	if (read_latest(db, out, &received, err) < 0)
		goto out;
	out->items = xcalloc(out->n ? out->n : 1, sizeof(*out->items));
	for (size_t i = 0; i < out->n; i++) {
		out->items[i].host = out->reports[i].host;
		out->items[i].report = &out->reports[i];
		out->items[i].received_ms = received[i];
	}
	ret = 0;
out:
	free(received);
	if (ret < 0)
		report_set_release(out);
	sqlite3_close(db);
	return ret;
}

void
report_set_release(struct report_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		report_release(&s->reports[i]);
	free(s->reports);
	free(s->items);
	memset(s, 0, sizeof(*s));
}
