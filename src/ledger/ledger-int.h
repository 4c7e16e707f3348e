/*
 * ledger-int.h - what the files of src/ledger/ share: an entry as stored
 * (struct ledger_row), its canonical JSON and hash (verify.c), and the
 * connection and lock of a struct ledger (ledger.c). Nothing outside
 * src/ledger/ includes it but the module's own test and benchmark.
 */
#ifndef BERTH_LEDGER_LEDGER_INT_H
#define BERTH_LEDGER_LEDGER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"
#include "util/buf.h"
#include "util/err.h"

/* prev_hash of entry 1, and the checkpoint of an empty ledger. */
#define LEDGER_ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* The columns of the ledger table in the order struct ledger_row has them. */
#define LEDGER_ROW_COLUMNS "seq, time, actor, run_id, git_commit, kind, target, object, " \
	"action, before, after, result, error, prev_hash, hash"

/* The fields of an entry between seq and the hashes, in LEDGER_ROW_COLUMNS order. */
enum {
	LEDGER_F_TIME, LEDGER_F_ACTOR, LEDGER_F_RUN_ID, LEDGER_F_GIT_COMMIT,
	LEDGER_F_KIND, LEDGER_F_TARGET, LEDGER_F_OBJECT, LEDGER_F_ACTION,
	LEDGER_F_BEFORE, LEDGER_F_AFTER, LEDGER_F_RESULT, LEDGER_F_ERROR,
	LEDGER_NFIELDS
};

/*
 * One entry as stored: text fields (NULL for SQL NULL), before/after as
 * JSON text. Borrows every string (from a caller or an SQLite row).
 */
struct ledger_row {
	int64_t seq;
	const char *f[LEDGER_NFIELDS];
	size_t len[LEDGER_NFIELDS];
	const char *prev_hash;	/* 64 hex digits as stored (may be anything) */
	size_t prev_hash_len;
	const char *hash;
	size_t hash_len;
};

/* hash of r as if its seq were seq: SHA-256(prev_hash || canonical JSON), hex. */
void ledger_row_hash(const struct ledger_row *r, int64_t seq, char out[65]);
/* The canonical JSON of r as if its seq were seq (appended to out). */
void ledger_row_canonical(const struct ledger_row *r, int64_t seq, struct buf *out);

/*
 * The connection of l (owned by l) and the mutex that serialises its use:
 * hold ledger_mutex_lock() for as long as a statement on it is alive.
 */
struct sqlite3;
struct sqlite3 *ledger_sqlite(struct ledger *l);
void ledger_mutex_lock(struct ledger *l);
void ledger_mutex_unlock(struct ledger *l);

/*
 * Run SQL on berth's own connection, under the mutex (the authorizer
 * applies: it refuses UPDATE and DELETE of the ledger and dropping
 * triggers and tables). -1 with err when SQLite refuses or fails.
 */
int ledger_exec(struct ledger *l, const char *sql, struct berr *err);

#endif
