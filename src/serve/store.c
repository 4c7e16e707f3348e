/*
 * store.c - the intake's tables in berth.db (store.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "serve/store.h"
#include "util/clock.h"
#include "util/statedb.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum {
	Q_PUT_LATEST, Q_PUT_HISTORY, Q_PUT_SEQ, Q_GET_BASE, Q_PUT_BASE,
	Q_ADD_USAGE, Q_ONLINE_LAST, Q_ONLINE_INSERT, Q_ONLINE_EXTEND, Q_ONLINE_DELETE, Q__COUNT
};

static const char *const queries[Q__COUNT] = {
	[Q_PUT_LATEST] = "INSERT INTO report_latest (host, history_id, received_ms) "
			 "VALUES (?1, ?2, ?3) ON CONFLICT (host) DO UPDATE SET "
			 "history_id = ?2, received_ms = ?3",
	[Q_PUT_HISTORY] = "INSERT INTO report_history (host, boot_id, seq, time_ms, received_ms, nonce, "
			  "body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_PUT_SEQ] = "INSERT INTO report_seq (host, boot_id, seq, received_ms) VALUES (?1, ?2, ?3, ?4) "
		      "ON CONFLICT (host, boot_id) DO UPDATE SET seq = ?3, received_ms = ?4",
	[Q_GET_BASE] = "SELECT boot_id, started_ms, time_ms, running, cpu_ns, rx_bytes, tx_bytes "
		       "FROM usage_baseline WHERE host = ?1 AND project = ?2 AND instance = ?3 AND nic = ?4",
	[Q_PUT_BASE] = "INSERT INTO usage_baseline (host, project, instance, nic, boot_id, started_ms, "
		       "time_ms, running, cpu_ns, rx_bytes, tx_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		       "?8, ?9, ?10, ?11) ON CONFLICT (host, project, instance, nic) DO UPDATE SET "
		       "boot_id = ?5, started_ms = ?6, time_ms = ?7, running = ?8, cpu_ns = ?9, "
		       "rx_bytes = ?10, tx_bytes = ?11",
	[Q_ADD_USAGE] = "INSERT INTO usage (host, project, instance, hour, plan, running_ms, cpu_ns, "
			"rx_bytes, tx_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
			"ON CONFLICT (host, project, instance, hour) DO UPDATE SET "
			"plan = coalesce(?5, plan), running_ms = running_ms + ?6, "
			"cpu_ns = cpu_ns + ?7, rx_bytes = rx_bytes + ?8, tx_bytes = tx_bytes + ?9",
	/* The host's last interval starting at or before ?2: one seek of the key. */
	[Q_ONLINE_LAST] = "SELECT from_ms, to_ms FROM agent_online WHERE host = ?1 AND from_ms <= ?2 "
			  "ORDER BY from_ms DESC LIMIT 1",
	[Q_ONLINE_INSERT] = "INSERT INTO agent_online (host, from_ms, to_ms) VALUES (?1, ?2, ?3)",
	[Q_ONLINE_EXTEND] = "UPDATE agent_online SET to_ms = ?3 WHERE host = ?1 AND from_ms = ?2",
	[Q_ONLINE_DELETE] = "DELETE FROM agent_online WHERE host = ?1 AND from_ms >= ?2 AND from_ms <= ?3",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *q[Q__COUNT];
	int in_txn;
};

static int
db_fail(sqlite3 *db, struct berr *err, const char *what)
{
	return berr_set(err, "state database: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int
exec(sqlite3 *db, const char *sql, struct berr *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, sql);
	return 0;
}

int
store_open(const char *state_dir, struct store **out, struct berr *err)
{
	struct store *s = xcalloc(1, sizeof(*s));

	*out = NULL;
	if (statedb_open(state_dir, 0, &s->db, err) < 0)
		goto fail;
	/*
	 * The working set of a busy intake (latest, seqs, baselines, usage)
	 * stays in a 64 MiB cache; checkpoints are store_checkpoint()'s, on
	 * another connection, so the writer never waits for their fsync.
	 */
	if (exec(s->db, "PRAGMA journal_mode = WAL", err) < 0 ||
	    exec(s->db, "PRAGMA synchronous = NORMAL", err) < 0 ||
	    exec(s->db, "PRAGMA cache_size = -65536", err) < 0 ||
	    exec(s->db, "PRAGMA wal_autocheckpoint = 0", err) < 0)
		goto fail;
	for (int i = 0; i < Q__COUNT; i++)
		if (sqlite3_prepare_v3(s->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->q[i], NULL) != SQLITE_OK) {
			db_fail(s->db, err, "preparing statements (is the database migrated?)");
			goto fail;
		}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void
store_close(struct store *s)
{
	if (!s)
		return;
	if (s->in_txn)
		store_rollback(s);
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	free(s);
}

int
store_checkpoint(struct store *s, struct berr *err)
{
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return db_fail(s->db, err, "checkpointing");
	return 0;
}

int
store_begin(struct store *s, struct berr *err)
{
	if (exec(s->db, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	s->in_txn = 1;
	return 0;
}

int
store_commit(struct store *s, struct berr *err)
{
	if (exec(s->db, "COMMIT", err) < 0) {
		store_rollback(s);
		return -1;
	}
	s->in_txn = 0;
	return 0;
}

void
store_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = 0;
}

/* Step a write statement to its end and reset it. */
static int
run(struct store *s, int q, struct berr *err)
{
	int rc = sqlite3_step(s->q[q]);

	sqlite3_reset(s->q[q]);
	sqlite3_clear_bindings(s->q[q]);
	if (rc != SQLITE_DONE)
		return db_fail(s->db, err, "writing");
	return 0;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int
store_each_seq(struct store *s, void (*fn)(void *, const char *, const char *, uint64_t),
	       void *ctx, struct berr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT host, boot_id, seq FROM report_seq", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s->db, err, "reading seqs");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1), (uint64_t)sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s->db, err, "reading seqs");
}

int
store_each_nonce(struct store *s, int64_t since_ms, void (*fn)(void *, const char *, int64_t),
		 void *ctx, struct berr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT nonce, received_ms FROM report_history "
			       "WHERE received_ms >= ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s->db, err, "reading nonces");
	sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s->db, err, "reading nonces");
}

static int
each_latest(sqlite3 *db, void (*fn)(void *, const char *, int64_t, const char *, size_t),
	    void *ctx, struct berr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT l.host, l.received_ms, h.body FROM report_latest l "
			       "JOIN report_history h ON h.id = l.history_id ORDER BY l.host",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "reading the latest reports");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
		   (const char *)sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "reading the latest reports");
}

int
store_each_latest(struct store *s, void (*fn)(void *, const char *, int64_t, const char *, size_t),
		  void *ctx, struct berr *err)
{
	return each_latest(s->db, fn, ctx, err);
}

int
store_put_report(struct store *s, const struct report *r, const char *body, size_t len,
		 const char *nonce, int64_t received_ms, struct berr *err)
{
	sqlite3_stmt *st = s->q[Q_PUT_HISTORY];

	/* The body once, in the history; the latest points at it. */
	bind_text(st, 1, r->host);
	bind_text(st, 2, r->boot_id);
	sqlite3_bind_int64(st, 3, (int64_t)r->seq);
	sqlite3_bind_int64(st, 4, r->time_ms);
	sqlite3_bind_int64(st, 5, received_ms);
	bind_text(st, 6, nonce);
	sqlite3_bind_text(st, 7, body, (int)len, SQLITE_STATIC);
	if (run(s, Q_PUT_HISTORY, err) < 0)
		return -1;
	st = s->q[Q_PUT_LATEST];
	bind_text(st, 1, r->host);
	sqlite3_bind_int64(st, 2, sqlite3_last_insert_rowid(s->db));
	sqlite3_bind_int64(st, 3, received_ms);
	if (run(s, Q_PUT_LATEST, err) < 0)
		return -1;
	bind_text(s->q[Q_PUT_SEQ], 1, r->host);
	bind_text(s->q[Q_PUT_SEQ], 2, r->boot_id);
	sqlite3_bind_int64(s->q[Q_PUT_SEQ], 3, (int64_t)r->seq);
	sqlite3_bind_int64(s->q[Q_PUT_SEQ], 4, received_ms);
	return run(s, Q_PUT_SEQ, err);
}

/*
 * The host's last interval starting at or before at: 1 with it in *from,
 * *to; 0 when there is none.
 */
static int
online_last(struct store *s, const char *host, int64_t at, int64_t *from, int64_t *to,
	    struct berr *err)
{
	sqlite3_stmt *st = s->q[Q_ONLINE_LAST];
	int rc;

	bind_text(st, 1, host);
	sqlite3_bind_int64(st, 2, at);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*from = sqlite3_column_int64(st, 0);
		*to = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s->db, err, "reading agent_online");
	return rc == SQLITE_ROW;
}

static int
online_write(struct store *s, int q, const char *host, int64_t a, int64_t b, struct berr *err)
{
	bind_text(s->q[q], 1, host);
	sqlite3_bind_int64(s->q[q], 2, a);
	sqlite3_bind_int64(s->q[q], 3, b);
	return run(s, q, err);
}

int
store_add_online(struct store *s, const char *host, int64_t from_ms, int64_t to_ms,
		 struct berr *err)
{
	int64_t last_from, last_to, lo = from_ms, hi = to_ms;
	int have;

	if (from_ms >= to_ms)
		return 0;
	/*
	 * The intervals are disjoint and none touches another, so those that
	 * [from, to] meets are: the last starting at or before to, if it
	 * reaches from, and every one starting in [from, to]; when that last
	 * one starts at or before from it is the only one (the common case:
	 * the next report extends the host's last interval).
	 */
	if ((have = online_last(s, host, to_ms, &last_from, &last_to, err)) < 0)
		return -1;
	if (!have || last_to < from_ms)
		return online_write(s, Q_ONLINE_INSERT, host, from_ms, to_ms, err);
	if (last_from <= from_ms)
		return last_to >= to_ms ? 0 :
		       online_write(s, Q_ONLINE_EXTEND, host, last_from, to_ms, err);
	/* It bridges a gap: one row from the first one it meets to the last. */
	if (last_to > hi)
		hi = last_to;
	if (from_ms > INT64_MIN) {
		int64_t f, t;

		if ((have = online_last(s, host, from_ms - 1, &f, &t, err)) < 0)
			return -1;
		if (have && t >= from_ms)
			lo = f;
	}
	if (online_write(s, Q_ONLINE_DELETE, host, lo, to_ms, err) < 0)
		return -1;
	return online_write(s, Q_ONLINE_INSERT, host, lo, hi, err);
}

int
store_get_base(struct store *s, const char *host, const char *project, const char *instance,
	       const char *nic, struct usage_row *out, struct berr *err)
{
	sqlite3_stmt *st = s->q[Q_GET_BASE];
	int rc;

	memset(out, 0, sizeof(*out));
	bind_text(st, 1, host);
	bind_text(st, 2, project);
	bind_text(st, 3, instance);
	bind_text(st, 4, nic);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *b = (const char *)sqlite3_column_text(st, 0);

		out->known = 1;
		snprintf(out->boot_id, sizeof(out->boot_id), "%s", b ? b : "");
		out->started_ms = sqlite3_column_int64(st, 1);
		out->time_ms = sqlite3_column_int64(st, 2);
		out->running = sqlite3_column_int(st, 3);
		out->cpu_ns = (uint64_t)sqlite3_column_int64(st, 4);
		out->rx_bytes = (uint64_t)sqlite3_column_int64(st, 5);
		out->tx_bytes = (uint64_t)sqlite3_column_int64(st, 6);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s->db, err, "reading a usage baseline");
	return 0;
}

int
store_put_base(struct store *s, const char *host, const char *project, const char *instance,
	       const char *nic, const struct usage_row *row, struct berr *err)
{
	sqlite3_stmt *st = s->q[Q_PUT_BASE];

	bind_text(st, 1, host);
	bind_text(st, 2, project);
	bind_text(st, 3, instance);
	bind_text(st, 4, nic);
	bind_text(st, 5, row->boot_id);
	sqlite3_bind_int64(st, 6, row->started_ms);
	sqlite3_bind_int64(st, 7, row->time_ms);
	sqlite3_bind_int(st, 8, row->running);
	sqlite3_bind_int64(st, 9, (int64_t)row->cpu_ns);
	sqlite3_bind_int64(st, 10, (int64_t)row->rx_bytes);
	sqlite3_bind_int64(st, 11, (int64_t)row->tx_bytes);
	return run(s, Q_PUT_BASE, err);
}

int
store_add_usage(struct store *s, const char *host, const char *project, const char *instance,
		int64_t hour_ms, const char *plan, int64_t running_ms, uint64_t cpu_ns,
		uint64_t rx_bytes, uint64_t tx_bytes, struct berr *err)
{
	sqlite3_stmt *st = s->q[Q_ADD_USAGE];
	time_t t = (time_t)(hour_ms / 1000);
	struct tm tm;
	char hour[32];

	gmtime_r(&t, &tm);
	snprintf(hour, sizeof(hour), "%04d-%02d-%02dT%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour);
	bind_text(st, 1, host);
	bind_text(st, 2, project);
	bind_text(st, 3, instance);
	sqlite3_bind_text(st, 4, hour, -1, SQLITE_TRANSIENT);
	bind_text(st, 5, plan);
	sqlite3_bind_int64(st, 6, running_ms);
	sqlite3_bind_int64(st, 7, (int64_t)cpu_ns);
	sqlite3_bind_int64(st, 8, (int64_t)rx_bytes);
	sqlite3_bind_int64(st, 9, (int64_t)tx_bytes);
	return run(s, Q_ADD_USAGE, err);
}

int
store_prune(struct store *s, int64_t nonce_before_ms, int64_t history_before_ms, struct berr *err)
{
	sqlite3_stmt *st;
	int rc;

	/* The nonces live in the history, which is kept longer than they matter. */
	if (history_before_ms > nonce_before_ms)
		history_before_ms = nonce_before_ms;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM report_history WHERE received_ms < ?1 AND "
			       "id NOT IN (SELECT history_id FROM report_latest)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(s->db, err, "pruning");
	sqlite3_bind_int64(st, 1, history_before_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(s->db, err, "pruning");
	return 0;
}

int
store_usage_total(const char *state_dir, const char *host, const char *project,
		  const char *instance, struct usage_total *out, struct berr *err)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (statedb_open_ro(state_dir, "usage", &db, err) < 0)
		return -1;
	if (!db)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(sum(running_ms), 0), coalesce(sum(cpu_ns), 0), "
			       "coalesce(sum(rx_bytes), 0), coalesce(sum(tx_bytes), 0) FROM usage "
			       "WHERE host = ?1 AND project = ?2 AND instance = ?3", -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "reading usage");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, instance, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->running_ms = sqlite3_column_int64(st, 0);
		out->cpu_ns = (uint64_t)sqlite3_column_int64(st, 1);
		out->rx_bytes = (uint64_t)sqlite3_column_int64(st, 2);
		out->tx_bytes = (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (rc != SQLITE_ROW)
		return berr_set(err, "state database: reading usage failed");
	return 0;
}

static uint64_t
sat_add(uint64_t a, int64_t b)
{
	uint64_t v = b > 0 ? (uint64_t)b : 0;

	return a > (uint64_t)INT64_MAX - v ? (uint64_t)INT64_MAX : a + v;
}

/* One instance's rows, summed. */
struct usage_acc {
	char *host, *project, *instance, *plan;
	struct usage_total sum;
};

static void
acc_release(struct usage_acc *a)
{
	free(a->host);
	free(a->project);
	free(a->instance);
	free(a->plan);
	memset(a, 0, sizeof(*a));
}

static int
acc_same(const struct usage_acc *a, sqlite3_stmt *st)
{
	return a->host && !strcmp(a->host, (const char *)sqlite3_column_text(st, 0)) &&
	       !strcmp(a->project, (const char *)sqlite3_column_text(st, 1)) &&
	       !strcmp(a->instance, (const char *)sqlite3_column_text(st, 2));
}

int
store_usage_sums(const char *state_dir, const char *from_hour, const char *to_hour,
		 int (*fn)(void *ctx, const char *host, const char *project, const char *instance,
			   const char *plan, const struct usage_total *sum),
		 void *ctx, struct berr *err)
{
	struct usage_acc a = { 0 };
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc, stop = 0;

	if (statedb_open_ro(state_dir, "usage", &db, err) < 0)
		return -1;
	if (!db)
		return 0;
	/* The key's order: each instance's rows together, by hour. */
	if (sqlite3_prepare_v2(db, "SELECT host, project, instance, plan, running_ms, cpu_ns, "
			       "rx_bytes, tx_bytes FROM usage WHERE hour >= ?1 AND hour < ?2 "
			       "ORDER BY host, project, instance, hour", -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "reading usage");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_bind_text(st, 1, from_hour, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to_hour, -1, SQLITE_STATIC);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *plan = (const char *)sqlite3_column_text(st, 3);

		if (!acc_same(&a, st)) {
			if (a.host && (stop = fn(ctx, a.host, a.project, a.instance, a.plan, &a.sum)))
				break;
			acc_release(&a);
			a.host = xstrdup((const char *)sqlite3_column_text(st, 0));
			a.project = xstrdup((const char *)sqlite3_column_text(st, 1));
			a.instance = xstrdup((const char *)sqlite3_column_text(st, 2));
		}
		if (plan) {
			free(a.plan);
			a.plan = xstrdup(plan);
		}
		a.sum.running_ms = (int64_t)sat_add((uint64_t)a.sum.running_ms,
						    sqlite3_column_int64(st, 4));
		a.sum.cpu_ns = sat_add(a.sum.cpu_ns, sqlite3_column_int64(st, 5));
		a.sum.rx_bytes = sat_add(a.sum.rx_bytes, sqlite3_column_int64(st, 6));
		a.sum.tx_bytes = sat_add(a.sum.tx_bytes, sqlite3_column_int64(st, 7));
	}
	if (!stop && rc == SQLITE_DONE && a.host)
		fn(ctx, a.host, a.project, a.instance, a.plan, &a.sum);
	if (!stop && rc != SQLITE_DONE)
		db_fail(db, err, "reading usage");
	acc_release(&a);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return stop || rc == SQLITE_DONE ? 0 : -1;
}

int
store_online(const char *state_dir, const char *host, int64_t from_ms, int64_t to_ms,
	     struct online_span **out, size_t *n, struct berr *err)
{
	struct online_span *v = NULL;
	size_t alloc = 0;
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	if (from_ms >= to_ms)
		return 0;
	if (statedb_open_ro(state_dir, "agent_online", &db, err) < 0)
		return -1;
	if (!db)
		return 0;
	/* From the last interval starting at or before from, which may reach into it. */
	if (sqlite3_prepare_v2(db, "SELECT from_ms, to_ms FROM agent_online WHERE host = ?1 AND "
			       "from_ms < ?3 AND from_ms >= coalesce((SELECT max(from_ms) FROM "
			       "agent_online WHERE host = ?1 AND from_ms <= ?2), ?2) ORDER BY from_ms",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "reading agent_online");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);

		if (a < from_ms)
			a = from_ms;
		if (b > to_ms)
			b = to_ms;
		if (a >= b)
			continue;
		if (*n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			v = xreallocarray(v, alloc, sizeof(*v));
		}
		v[*n].from_ms = a;
		v[*n].to_ms = b;
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		db_fail(db, err, "reading agent_online");
		free(v);
		v = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	*out = v;
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_online_since(const char *state_dir, int64_t *since_ms, struct berr *err)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t made;
	int rc;

	*since_ms = INT64_MAX;
	if (statedb_open_ro(state_dir, "agent_online", &db, err) < 0)
		return -1;
	if (!db)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT applied_at FROM schema_version WHERE name ="
			       " '003-agent-online.sql'), (SELECT min(from_ms) FROM agent_online)",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "reading agent_online");
		sqlite3_close(db);
		return -1;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *at = (const char *)sqlite3_column_text(st, 0);

		if (at && clock_parse_rfc3339(at, &made) == 0)
			*since_ms = made;
		if (sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
		    sqlite3_column_int64(st, 1) < *since_ms)
			*since_ms = sqlite3_column_int64(st, 1);
	} else {
		db_fail(db, err, "reading agent_online");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_traffic_totals(const char *state_dir, const char *from_hour, const char *to_hour,
		     void (*fn)(void *ctx, const char *host, const char *project,
				const char *instance, uint64_t bytes),
		     void *ctx, struct berr *err)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	if (statedb_open_ro(state_dir, "usage", &db, err) < 0)
		return -1;
	if (!db)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT host, project, instance, sum(rx_bytes + tx_bytes)"
			       " FROM usage WHERE hour >= ?1 AND hour < ?2"
			       " GROUP BY host, project, instance", -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "reading usage");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_bind_text(st, 1, from_hour, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to_hour, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_int64(st, 3) > 0)
			fn(ctx, (const char *)sqlite3_column_text(st, 0),
			   (const char *)sqlite3_column_text(st, 1),
			   (const char *)sqlite3_column_text(st, 2),
			   (uint64_t)sqlite3_column_int64(st, 3));
	if (rc != SQLITE_DONE)
		db_fail(db, err, "reading usage");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_traffic_rows(const char *state_dir, const char *from_hour, const char *to_hour,
		   const json_t *which,
		   void (*fn)(void *ctx, const char *host, const char *project,
			      const char *instance, const char *hour, uint64_t bytes),
		   void *ctx, struct berr *err)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	const json_t *w;
	size_t i;
	int rc = SQLITE_DONE;

	if (!json_array_size(which))
		return 0;
	if (statedb_open_ro(state_dir, "usage", &db, err) < 0)
		return -1;
	if (!db)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT hour, rx_bytes + tx_bytes FROM usage WHERE host = ?1"
			       " AND project = ?2 AND instance = ?3 AND hour >= ?4 AND hour < ?5"
			       " AND rx_bytes + tx_bytes > 0 ORDER BY hour", -1, &st,
			       NULL) != SQLITE_OK) {
		db_fail(db, err, "reading usage");
		sqlite3_close(db);
		return -1;
	}
	json_array_foreach(which, i, w) {
		const char *h = json_string_value(json_array_get(w, 0));
		const char *p = json_string_value(json_array_get(w, 1));
		const char *n = json_string_value(json_array_get(w, 2));

		if (!h || !p || !n)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, n, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, from_hour, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, to_hour, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			fn(ctx, h, p, n, (const char *)sqlite3_column_text(st, 0),
			   (uint64_t)sqlite3_column_int64(st, 1));
		if (rc != SQLITE_DONE)
			break;
	}
	if (rc != SQLITE_DONE)
		db_fail(db, err, "reading usage");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_DONE ? 0 : -1;
}
