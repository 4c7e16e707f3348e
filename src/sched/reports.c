/*
 * reports.c - the latest accepted report of every host (reports.h).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sched/reports.h"
#include "util/statedb.h"
#include "util/xalloc.h"
#include "util/banned.h"

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
	if (statedb_open_ro(state_dir, "report_latest", &db, err) < 0)
		return -1;
	if (!db) {
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
