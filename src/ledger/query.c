/*
 * query.c - the ledger's readers: entries as JSON (ledger_query), the
 * objects berth last applied, dangling intents, the head, the last run of
 * a mode and the summaries of rejected reports. They read on berth's own
 * connection under its mutex, so they see an open batch's entries.
 */
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ledger/ledger-int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/banned.h"

static int
db_fail(struct ledger *l, struct berr *err, const char *what)
{
	return berr_set(err, "ledger: %s: %s", what, sqlite3_errmsg(ledger_sqlite(l)));
}

static json_t *
text_or_null(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return t ? json_stringn_nocheck(t, (size_t)sqlite3_column_bytes(st, col)) : json_null();
}

static json_t *
json_col(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	json_t *v;

	if (!t)
		return json_null();
	v = json_loadb(t, (size_t)sqlite3_column_bytes(st, col), JSON_DECODE_ANY, NULL);
	/* Not JSON (written behind berth's back): show the text as it is. */
	return v ? v : text_or_null(st, col);
}

/* The entry of the current row (columns in LEDGER_ROW_COLUMNS order) as JSON. */
static json_t *
row_json(sqlite3_stmt *st)
{
	static const char *const names[] = {
		"seq", "time", "actor", "run_id", "git_commit", "kind", "target", "object",
		"action", "before", "after", "result", "error", "prev_hash", "hash",
	};
	json_t *o = json_object();
	int i;

	for (i = 0; i < 15; i++) {
		json_t *v;

		if (i == 0)
			v = json_integer(sqlite3_column_int64(st, 0));
		else if (i == 9 || i == 10)
			v = json_col(st, i);
		else
			v = text_or_null(st, i);
		json_object_set_new(o, names[i], v);
	}
	return o;
}

static int
digits(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* since as a prefix comparable with stored times (see ledger.h). */
static int
normalize_since(const char *s, char out[32], struct berr *err)
{
	size_t n = strlen(s);

	if (n >= 10 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
	    digits(s + 8, 2)) {
		if (n == 10) {
			snprintf(out, 32, "%s", s);
			return 0;
		}
		if (s[10] == 'T' && n >= 17 && digits(s + 11, 2) && s[13] == ':' &&
		    digits(s + 14, 2)) {
			if (n == 17 && s[16] == 'Z') {
				snprintf(out, 32, "%.16s:00.000Z", s);
				return 0;
			}
			if (n == 20 && s[16] == ':' && digits(s + 17, 2) && s[19] == 'Z') {
				snprintf(out, 32, "%.19s.000Z", s);
				return 0;
			}
			if (n == 24 && s[16] == ':' && digits(s + 17, 2) && s[19] == '.' &&
			    digits(s + 20, 3) && s[23] == 'Z') {
				snprintf(out, 32, "%s", s);
				return 0;
			}
		}
	}
	return berr_set(err, "since: want a date or UTC time like 2026-11-22 or "
			"2026-11-22T04:12:00Z, have \"%s\"", s);
}

/*
 * Prepare sql on l's connection and hold l's mutex until rows_end(): the
 * statement, or NULL with err saying what failed ("ledger: what: ...") and
 * the mutex released. The caller binds its parameters, then calls rows_end().
 */
static sqlite3_stmt *
rows_begin(struct ledger *l, const char *sql, const char *what, struct berr *err)
{
	sqlite3_stmt *st = NULL;

	ledger_mutex_lock(l);
	if (sqlite3_prepare_v2(ledger_sqlite(l), sql, -1, &st, NULL) == SQLITE_OK)
		return st;
	db_fail(l, err, what);
	sqlite3_finalize(st);
	ledger_mutex_unlock(l);
	return NULL;
}

/*
 * Step st, calling row(ctx, st) on each row until it returns non-zero,
 * then finalize st and release l's mutex. 0, or -1 with err as
 * rows_begin() words it.
 */
static int
rows_end(struct ledger *l, sqlite3_stmt *st, int (*row)(void *ctx, sqlite3_stmt *st),
	 void *ctx, const char *what, struct berr *err)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(ctx, st))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_fail(l, err, what);
	sqlite3_finalize(st);
	ledger_mutex_unlock(l);
	return ret;
}

/*
 * The rows of sql, each added to out (a JSON object or array; owned by
 * the caller) by add. out, or NULL with err and out freed.
 */
static json_t *
rows_json(struct ledger *l, const char *sql, json_t *out,
	  int (*add)(void *out, sqlite3_stmt *st), const char *what, struct berr *err)
{
	sqlite3_stmt *st = rows_begin(l, sql, what, err);

	if (!st || rows_end(l, st, add, out, what, err) < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

struct query_ctx {
	int (*fn)(void *ctx, const json_t *entry);
	void *ctx;
};

static int
query_row(void *ctx, sqlite3_stmt *st)
{
	struct query_ctx *q = ctx;
	json_t *e = row_json(st);
	int stop = q->fn(q->ctx, e);

	json_decref(e);
	return stop;
}

int
ledger_query(struct ledger *l, const struct ledger_filter *f,
	     int (*fn)(void *ctx, const json_t *entry), void *ctx,
	     struct berr *err)
{
	struct ledger_filter none = { 0 };
	struct query_ctx q = { fn, ctx };
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	char since[32];
	int ret = -1;

	if (!f)
		f = &none;
	if (f->since && normalize_since(f->since, since, err) < 0)
		return -1;
	buf_addstr(&sql, "SELECT " LEDGER_ROW_COLUMNS " FROM ledger WHERE 1");
	if (f->since)
		buf_addstr(&sql, " AND time >= ?1");
	if (f->kind)
		buf_addstr(&sql, " AND kind = ?2");
	if (f->object)
		buf_addstr(&sql, " AND object = ?3");
	if (f->run_id)
		buf_addstr(&sql, " AND run_id = ?4");
	if (f->seq > 0)
		buf_addstr(&sql, " AND seq = ?5");
	if (f->limit > 0) {
		/* The last limit entries, in seq order. */
		struct buf w = BUF_INIT;

		buf_addf(&w, "SELECT * FROM (%s ORDER BY seq DESC LIMIT ?6) ORDER BY seq", sql.buf);
		buf_release(&sql);
		sql = w;
	} else {
		buf_addstr(&sql, " ORDER BY seq");
	}
	if (!(st = rows_begin(l, sql.buf, "reading entries", err)))
		goto out;
	if (f->since)
		sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
	if (f->kind)
		sqlite3_bind_text(st, 2, f->kind, -1, SQLITE_STATIC);
	if (f->object)
		sqlite3_bind_text(st, 3, f->object, -1, SQLITE_STATIC);
	if (f->run_id)
		sqlite3_bind_text(st, 4, f->run_id, -1, SQLITE_STATIC);
	if (f->seq > 0)
		sqlite3_bind_int64(st, 5, f->seq);
	if (f->limit > 0)
		sqlite3_bind_int64(st, 6, f->limit > INT64_MAX ? INT64_MAX : (int64_t)f->limit);
	ret = rows_end(l, st, query_row, &q, "reading entries", err);
out:
	buf_release(&sql);
	return ret;
}

/*
 * out[object] = the after of an applied change, its text unparsed (a
 * no-op plan compares none of them); a deletion (or no after) drops it.
 */
static int
applied_row(void *out, sqlite3_stmt *st)
{
	const char *obj = (const char *)sqlite3_column_text(st, 0);
	const char *action = (const char *)sqlite3_column_text(st, 1);

	if ((action && !strcmp(action, "delete")) || sqlite3_column_type(st, 2) == SQLITE_NULL)
		json_object_del(out, obj);
	else
		json_object_set_new(out, obj, json_stringn_nocheck(
			(const char *)sqlite3_column_text(st, 2),
			(size_t)sqlite3_column_bytes(st, 2)));
	return 0;
}

json_t *
ledger_last_applied(struct ledger *l, struct berr *err)
{
	return rows_json(l, "SELECT object, action, after FROM ledger "
			 "WHERE kind = 'change.result' AND result = 'ok' AND object IS NOT NULL "
			 "ORDER BY seq", json_object(), applied_row, "reading applied objects", err);
}

static int
mark_row(void *out, sqlite3_stmt *st)
{
	json_array_append_new(out, json_pack("[I, s]", (json_int_t)sqlite3_column_int64(st, 0),
					     (const char *)sqlite3_column_text(st, 1)));
	return 0;
}

json_t *
ledger_marks(struct ledger *l, int64_t upto, int64_t every, struct berr *err)
{
	char sql[200];

	if (every < 1)
		every = 1;
	snprintf(sql, sizeof(sql), "SELECT seq, hash FROM ledger WHERE seq <= %" PRId64
		 " AND (seq %% %" PRId64 " = 0 OR seq = %" PRId64 ") ORDER BY seq",
		 upto, every, upto);
	return rows_json(l, sql, json_array(), mark_row, "reading the checkpoint's marks", err);
}

static int
entry_row(void *out, sqlite3_stmt *st)
{
	json_array_append_new(out, row_json(st));
	return 0;
}

json_t *
ledger_dangling_intents(struct ledger *l, struct berr *err)
{
	return rows_json(l, "SELECT " LEDGER_ROW_COLUMNS " FROM ledger i "
			 "WHERE kind = 'change.intent' AND NOT EXISTS (SELECT 1 FROM ledger r "
			 "WHERE r.kind = 'change.result' AND r.run_id IS i.run_id "
			 "AND r.target IS i.target AND r.object IS i.object AND r.seq > i.seq) "
			 "ORDER BY seq", json_array(), entry_row, "reading intents", err);
}

struct head {
	int64_t *seq;
	char *hash;	/* 65 bytes */
};

static int
head_row(void *ctx, sqlite3_stmt *st)
{
	struct head *h = ctx;
	const char *hash = (const char *)sqlite3_column_text(st, 1);

	*h->seq = sqlite3_column_int64(st, 0);
	snprintf(h->hash, 65, "%s", hash ? hash : "");
	return 1;
}

struct hash_at {
	char *out;
	int found;
};

static int
hash_at_row(void *ctx, sqlite3_stmt *st)
{
	struct hash_at *h = ctx;
	const char *t = (const char *)sqlite3_column_text(st, 0);

	snprintf(h->out, 65, "%s", t ? t : "");
	h->found = 1;
	return 1;
}

int
ledger_hash_at(struct ledger *l, int64_t seq, char out[65], struct berr *err)
{
	struct hash_at h = { out, 0 };
	sqlite3_stmt *st;
	char sql[96];

	out[0] = '\0';
	snprintf(sql, sizeof(sql), "SELECT hash FROM ledger WHERE seq = %" PRId64, seq);
	if (!(st = rows_begin(l, sql, "reading a hash", err)))
		return -1;
	if (rows_end(l, st, hash_at_row, &h, "reading a hash", err) < 0)
		return -1;
	return h.found;
}

int
ledger_head(struct ledger *l, int64_t *seq, char hash[65], struct berr *err)
{
	struct head h = { seq, hash };
	sqlite3_stmt *st;

	*seq = 0;
	hash[0] = '\0';
	if (!(st = rows_begin(l, "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
			      "reading the head", err)))
		return -1;
	return rows_end(l, st, head_row, &h, "reading the head", err);
}

/* A count of a run.end entry's after: 0 when absent or not a number. */
static int64_t
count_of(const json_t *after, const char *key)
{
	const json_t *v = json_object_get(after, key);
	double d;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (!json_is_real(v))
		return 0;
	d = json_real_value(v);
	return d > -9.2e18 && d < 9.2e18 ? (int64_t)d : 0;
}

static int
run_row(void *ctx, sqlite3_stmt *st)
{
	struct ledger_run *r = ctx;
	const char *time = (const char *)sqlite3_column_text(st, 1);
	const char *result = (const char *)sqlite3_column_text(st, 2);
	const char *after = (const char *)sqlite3_column_text(st, 3);
	json_t *a = after ? json_loadb(after, (size_t)sqlite3_column_bytes(st, 3), 0,
				       NULL) : NULL;

	r->seq = sqlite3_column_int64(st, 0);
	if (!time || clock_parse_rfc3339(time, &r->end_ms) < 0)
		r->end_ms = 0;
	snprintf(r->result, sizeof(r->result), "%s", result ? result : "");
	snprintf(r->commit, sizeof(r->commit), "%s",
		 sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "");
	r->changes = count_of(a, "changes");
	r->failed = count_of(a, "failed");
	r->stale = count_of(a, "stale");
	r->not_attempted = count_of(a, "not_attempted");
	json_decref(a);
	return 1;
}

int
ledger_last_run(struct ledger *l, const char *mode, struct ledger_run *r,
		struct berr *err)
{
	sqlite3_stmt *st;

	memset(r, 0, sizeof(*r));
	if (!(st = rows_begin(l, "SELECT seq, time, result, after, git_commit FROM ledger "
			      "WHERE kind = 'run.end' AND action = ?1 ORDER BY seq DESC LIMIT 1",
			      "reading the last run", err)))
		return -1;
	sqlite3_bind_text(st, 1, mode, -1, SQLITE_STATIC);
	return rows_end(l, st, run_row, r, "reading the last run", err);
}

/* A field of after, when after is JSON (it may have been written behind berth's back). */
#define AFTER(key) "CASE WHEN json_valid(after) THEN json_extract(after, '$." key "') END"

struct rejections_ctx {
	int (*fn)(void *ctx, const struct ledger_rejection *r);
	void *ctx;
};

static int
rejection_row(void *ctx, sqlite3_stmt *st)
{
	struct rejections_ctx *c = ctx;
	struct ledger_rejection r = { 0 };
	const char *first = (const char *)sqlite3_column_text(st, 4);
	const char *last = (const char *)sqlite3_column_text(st, 5);

	r.host = (const char *)sqlite3_column_text(st, 0);
	r.reason = (const char *)sqlite3_column_text(st, 1);
	r.entries = sqlite3_column_int64(st, 2);
	r.count = sqlite3_column_int64(st, 3);
	if (!first || clock_parse_rfc3339(first, &r.first_ms) < 0)
		r.first_ms = 0;
	if (!last || clock_parse_rfc3339(last, &r.last_ms) < 0)
		r.last_ms = 0;
	return c->fn(c->ctx, &r);
}

int
ledger_rejections(struct ledger *l, int64_t since_ms,
		  int (*fn)(void *ctx, const struct ledger_rejection *r), void *ctx,
		  struct berr *err)
{
	struct rejections_ctx c = { fn, ctx };
	sqlite3_stmt *st;
	char since[32] = "";

	if (since_ms > 0)
		clock_format(since_ms, 1, since, sizeof(since));
	if (!(st = rows_begin(l, "SELECT coalesce(target, ''), "
			      "coalesce(action, ''), count(*), coalesce(sum(" AFTER("count") "), 0), "
			      "min(coalesce(" AFTER("first") ", time)), "
			      "max(coalesce(" AFTER("last") ", time)) FROM ledger "
			      "WHERE kind = 'report.rejected' AND time >= ?1 "
			      "GROUP BY 1, 2 ORDER BY 1, 2", "reading rejections", err)))
		return -1;
	sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
	return rows_end(l, st, rejection_row, &c, "reading rejections", err);
}
