/*
 * statedb.h - connections to the state database (<state_dir>/berth.db) for
 * the modules that keep or read their own tables in it (the intake's
 * store, the reports reader). The ledger opens, creates and migrates it
 * (ledger/ledger.h); these never create it.
 */
#ifndef BERTH_UTIL_STATEDB_H
#define BERTH_UTIL_STATEDB_H

#include "util/err.h"

struct sqlite3;

/*
 * Open <state_dir>/berth.db read-only or read-write (never created), with
 * a busy timeout and SQLite's defensive mode. Caller closes *out with
 * sqlite3_close(). -1 with err ("cannot open the state database ...").
 */
int statedb_open(const char *state_dir, int readonly, struct sqlite3 **out,
		 struct berr *err);

/*
 * The state database opened read-only, for readers: *db NULL when there is
 * no database yet, or it has no table `table` (nothing of that kind was
 * ever stored). Caller closes *db with sqlite3_close(). -1 with err when it
 * cannot be opened.
 */
int statedb_open_ro(const char *state_dir, const char *table, struct sqlite3 **db,
		    struct berr *err);

#endif
