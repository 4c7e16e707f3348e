/*
 * Unit tests for src/ledger/: the hash chain, the three ways the ledger
 * stays append-only, verify's diagnosis of each way of tampering with it
 * behind berth's back, and the readers (head, last run, rejections).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "helpers.h"

#include "ledger/ledger.h"
/* The authorizer is only reachable through ledger_exec(), which is private. */
#include "ledger/ledger-int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char zeros[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct fixture {
	struct tmpdir t;
	char *db;
	struct ledger *l;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct berr err;

	if (tmpdir_init(&f->t, "ledger") < 0)
		return -1;
	f->db = xasprintf("%s/berth.db", f->t.state);
	if (ledger_open(f->t.state, &f->l, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ledger_close(f->l);
	tmpdir_release(&f->t);
	free(f->db);
	free(f);
	return 0;
}

static int64_t
append(struct ledger *l, const char *kind, const char *run, const char *target,
       const char *object, const char *action, json_t *before, json_t *after,
       const char *result)
{
	struct ledger_entry e = { 0 };
	struct berr err;

	e.actor = "alice@nix-01";
	e.run_id = run;
	e.commit = "0123abcd";
	e.kind = kind;
	e.target = target;
	e.object = object;
	e.action = action;
	e.before = before;
	e.after = after;
	e.result = result;
	if (ledger_append(l, &e, &err) < 0)
		fail_msg("append: %s", err.msg);
	json_decref(before);
	json_decref(after);
	return e.seq;
}

/* n simple entries */
static void
fill(struct ledger *l, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char obj[32];

		snprintf(obj, sizeof(obj), "profile/p%d", i + 1);
		append(l, "change.result", "r-1", "nix-01", obj, "create", NULL,
		       json_pack("{s:i}", "n", i + 1), "ok");
	}
}

/* Run SQL on a plain connection of another "tool" (as the sqlite3 CLI would). */
static int
raw_exec(const char *db, const char *sql, char **msg)
{
	sqlite3 *h = NULL;
	int rc;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	rc = sqlite3_exec(h, sql, NULL, NULL, msg);
	sqlite3_close(h);
	return rc;
}

static void
tamper(const char *db, const char *sql)
{
	char *msg = NULL;
	char *all = xasprintf("DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete; "
			      "DROP TRIGGER ledger_append_only; %s", sql);

	if (raw_exec(db, all, &msg) != SQLITE_OK)
		fail_msg("tamper: %s", msg);
	free(all);
}

static void
expect_bad(struct ledger *l, const char *checkpoint, int64_t bad, const char *msg)
{
	struct ledger_verify_result r;
	struct berr err;

	assert_int_equal(ledger_verify(l, checkpoint, &r, &err), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, bad);
	assert_string_equal(r.msg, msg);
}

static void
expect_ok(struct ledger *l, const char *checkpoint, int64_t head)
{
	struct ledger_verify_result r;
	struct berr err;

	assert_int_equal(ledger_verify(l, checkpoint, &r, &err), 0);
	if (!r.ok)
		fail_msg("verify: %s", r.msg);
	assert_int_equal(r.head_seq, head);
	assert_int_equal(r.bad_seq, 0);
}

static int
count_cb(void *ctx, const json_t *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static void
round_trip(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r;
	struct berr err;
	struct stat st;
	const char *dir = f->t.state;
	int n = 0;

	expect_ok(f->l, NULL, 0);
	assert_int_equal(append(f->l, "run.start", "r-1", NULL, NULL, NULL, NULL, NULL, NULL), 1);
	assert_int_equal(append(f->l, "change.intent", "r-1", "nix-01", "profile/web", "update",
				json_pack("{s:s}", "a", "1"), json_pack("{s:s}", "a", "2"), NULL), 2);
	assert_int_equal(append(f->l, "change.result", "r-1", "nix-01", "profile/web", "update",
				json_pack("{s:s}", "a", "1"), json_pack("{s:s}", "a", "2"), "ok"), 3);
	assert_int_equal(ledger_verify(f->l, NULL, &r, &err), 0);
	assert_true(r.ok);
	assert_int_equal(r.head_seq, 3);
	assert_int_equal(strlen(r.head_hash), 64);
	assert_int_equal(ledger_query(f->l, NULL, count_cb, &n, &err), 0);
	assert_int_equal(n, 3);
	/* Modes: directory 0700, database 0600. */
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Reopen: the schema is not applied twice and the chain goes on. */
	ledger_close(f->l);
	assert_int_equal(ledger_open(dir, &f->l, &err), 0);
	assert_int_equal(append(f->l, "run.end", "r-1", NULL, NULL, NULL, NULL, NULL, "ok"), 4);
	expect_ok(f->l, NULL, 4);
}

/* Hash of an entry computed here from the definition, with jansson and EVP. */
static void
expected_hash(const char *prev, json_t *obj, char out[65])
{
	char *canon = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	unsigned char md[32];
	unsigned int len = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int i;

	assert_non_null(canon);
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, prev, 64);
	EVP_DigestUpdate(c, canon, strlen(canon));
	EVP_DigestFinal_ex(c, md, &len);
	EVP_MD_CTX_free(c);
	assert_int_equal(len, 32);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	free(canon);
}

/* Append a run.start with this actor (NULL: the default); its seq. */
static int64_t
append_actor(struct ledger *l, const char *actor)
{
	struct ledger_entry e = { .kind = "run.start", .actor = actor };
	struct berr err;

	if (ledger_append(l, &e, &err) < 0)
		fail_msg("append: %s", err.msg);
	return e.seq;
}

static int
actor_cb(void *ctx, const json_t *e)
{
	snprintf(ctx, 320, "%s", json_string_value(json_object_get(e, "actor")));
	return 1;
}

/* The actor of entry seq as stored. */
static const char *
stored_actor(struct ledger *l, int64_t seq)
{
	static char actor[320];
	struct ledger_filter flt = { .seq = seq };
	struct berr err;

	actor[0] = '\0';
	assert_int_equal(ledger_query(l, &flt, actor_cb, actor, &err), 0);
	return actor;
}

static void
exact_hash(void **state)
{
	struct fixture *f = *state;
	static const char *const odd[] = {
		"plain", "quote \" backslash \\ slash /", "tab\there\nnewline\r\b\f",
		"ctl \x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2", "",
	};
	char prev[65], want[65];
	size_t i;

	memcpy(prev, zeros, 65);
	for (i = 0; i < sizeof(odd) / sizeof(*odd); i++) {
		struct ledger_entry e = { 0 };
		struct berr err;
		json_t *before = json_pack("{s:s, s:f, s:[i, b, n], s:{s:s}}", "z", odd[i],
					   "real", 0.1, "arr", 1, 1, "nested", "k\n", odd[i]);
		json_t *after = json_string(odd[i]);
		json_t *obj;

		e.actor = odd[i];
		e.run_id = "r-0011223344556677";
		e.commit = i % 2 ? NULL : "deadbeef";
		e.kind = "change.result";
		e.target = "nix-01";
		e.object = odd[i];
		e.action = "update";
		e.before = before;
		e.after = after;
		e.result = "ok";
		e.error = i % 2 ? odd[i] : NULL;
		assert_int_equal(ledger_append(f->l, &e, &err), 0);
		assert_string_equal(e.prev_hash, prev);
		obj = json_pack("{s:s, s:s, s:O, s:O, s:o, s:o, s:s, s:s, s:s, s:s, s:I, s:s, s:s}",
				"action", "update", "actor", odd[i], "after", after,
				"before", before,
				"error", e.error ? json_string(e.error) : json_null(),
				"git_commit", e.commit ? json_string(e.commit) : json_null(),
				"kind", "change.result", "object", odd[i], "result", "ok",
				"run_id", "r-0011223344556677", "seq", (json_int_t)e.seq,
				"target", "nix-01", "time", e.time);
		assert_non_null(obj);
		expected_hash(prev, obj, want);
		assert_string_equal(e.hash, want);
		memcpy(prev, e.hash, 65);
		json_decref(obj);
		json_decref(before);
		json_decref(after);
	}
	expect_ok(f->l, NULL, (int64_t)i);
	/* Time: UTC with milliseconds. */
	{
		struct ledger_entry e = { .kind = "run.start" };
		struct berr err;

		assert_int_equal(ledger_append(f->l, &e, &err), 0);
		assert_int_equal(strlen(e.time), 24);
		assert_int_equal(e.time[10], 'T');
		assert_int_equal(e.time[19], '.');
		assert_int_equal(e.time[23], 'Z');
	}
	/* actor NULL: ledger_actor(), user@host, or "timer" when BERTH_ACTOR says so. */
	{
		char me[320];

		unsetenv("BERTH_ACTOR");
		ledger_actor(me, sizeof(me));
		assert_non_null(strchr(me, '@'));
		assert_string_equal(stored_actor(f->l, append_actor(f->l, NULL)), me);
		setenv("BERTH_ACTOR", "timer", 1);
		assert_string_equal(stored_actor(f->l, append_actor(f->l, NULL)), "timer");
		unsetenv("BERTH_ACTOR");
		assert_string_equal(stored_actor(f->l, append_actor(f->l, "bob@nix-02")), "bob@nix-02");
	}
	/* Not UTF-8: refused. */
	{
		struct ledger_entry e = { .kind = "run.start", .error = "bad \xff" };
		struct berr err;

		assert_int_equal(ledger_append(f->l, &e, &err), -1);
		assert_non_null(strstr(err.msg, "error: want UTF-8"));
	}
}

static void
triggers(void **state)
{
	struct fixture *f = *state;
	char *msg = NULL;

	fill(f->l, 3);
	assert_int_not_equal(raw_exec(f->db, "UPDATE ledger SET actor = 'x' WHERE seq = 2", &msg),
			     SQLITE_OK);
	assert_non_null(strstr(msg, "append-only: UPDATE refused"));
	sqlite3_free(msg);
	msg = NULL;
	assert_int_not_equal(raw_exec(f->db, "DELETE FROM ledger WHERE seq = 3", &msg), SQLITE_OK);
	assert_non_null(strstr(msg, "append-only: DELETE refused"));
	sqlite3_free(msg);
	msg = NULL;
	assert_int_not_equal(raw_exec(f->db, "DELETE FROM ledger", &msg), SQLITE_OK);
	assert_non_null(strstr(msg, "append-only: DELETE refused"));
	sqlite3_free(msg);
	msg = NULL;
	/* REPLACE would delete without firing the DELETE trigger. */
	assert_int_not_equal(raw_exec(f->db, "INSERT OR REPLACE INTO ledger SELECT * FROM ledger "
				      "WHERE seq = 3", &msg), SQLITE_OK);
	assert_non_null(strstr(msg, "append-only"));
	sqlite3_free(msg);
	expect_ok(f->l, NULL, 3);
}

static void
authorizer(void **state)
{
	struct fixture *f = *state;
	struct berr err;

	static const char *const refused[] = {
		"DROP TRIGGER ledger_no_update", "DROP TRIGGER ledger_no_delete",
		"DROP TRIGGER ledger_append_only", "DROP TABLE ledger", "DROP TABLE schema_version",
		"UPDATE ledger SET actor = 'x'", "DELETE FROM ledger WHERE seq = 1",
		"ALTER TABLE ledger RENAME TO old", "PRAGMA writable_schema = ON",
	};
	char *msg = NULL;
	size_t i;

	fill(f->l, 2);
	/* Refused by the authorizer, not by a trigger or a typo. */
	for (i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		err.msg[0] = '\0';
		assert_int_equal(ledger_exec(f->l, refused[i], &err), -1);
		if (!strstr(err.msg, "not authorized"))
			fail_msg("%s: want \"not authorized\", have \"%s\"", refused[i], err.msg);
	}
	/* Reading is fine, and so is writing other tables. */
	assert_int_equal(ledger_exec(f->l, "SELECT count(*) FROM ledger", &err), 0);
	assert_int_equal(ledger_exec(f->l, "CREATE TEMP TABLE t (x); INSERT INTO t VALUES (1); "
				     "DELETE FROM t", &err), 0);
	expect_ok(f->l, NULL, 2);
	/* The triggers are all still there for other connections. */
	assert_int_not_equal(raw_exec(f->db, "UPDATE ledger SET actor = 'x' WHERE seq = 1", &msg),
			     SQLITE_OK);
	assert_non_null(strstr(msg, "append-only: UPDATE refused"));
	sqlite3_free(msg);
}

static void
tamper_edited(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	tamper(f->db, "UPDATE ledger SET after = '{\"n\":99}' WHERE seq = 7");
	expect_bad(f->l, NULL, 7, "entry 7 does not verify: edited (its hash does not match its contents)");
}

static void
tamper_edited_hash(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 4);
	tamper(f->db, "UPDATE ledger SET hash = replace(hash, substr(hash, 1, 1), 'x') WHERE seq = 2");
	expect_bad(f->l, NULL, 2, "entry 2 does not verify: edited (its hash does not match its contents)");
}

static void
tamper_deleted(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	tamper(f->db, "DELETE FROM ledger WHERE seq = 6");
	expect_bad(f->l, NULL, 7, "entry 7 does not verify: deleted (seq 6 is missing)");
}

static void
tamper_deleted_many(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	tamper(f->db, "DELETE FROM ledger WHERE seq IN (1, 2, 3)");
	expect_bad(f->l, NULL, 4, "entry 4 does not verify: deleted (seqs 1 to 3 are missing)");
}

static void
tamper_deleted_renumbered(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	tamper(f->db, "DELETE FROM ledger WHERE seq = 4; UPDATE ledger SET seq = seq - 1 WHERE seq > 4");
	expect_bad(f->l, NULL, 4, "entry 4 does not verify: deleted (it was written as seq 5 and "
		   "the entry before it is missing: the later entries were renumbered)");
}

static void
tamper_reordered(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	tamper(f->db, "UPDATE ledger SET seq = -1 WHERE seq = 5; UPDATE ledger SET seq = 5 WHERE seq = 6; "
	       "UPDATE ledger SET seq = 6 WHERE seq = -1");
	expect_bad(f->l, NULL, 5, "entries 5 and 6 are reordered (seq 5 holds the entry written as seq 6)");
}

static void
tamper_reordered_contents(void **state)
{
	struct fixture *f = *state;
	const char *cols[] = { "time", "actor", "run_id", "git_commit", "kind", "target", "object",
			       "action", "before", "after", "result", "error", "prev_hash", "hash" };
	struct buf sql = BUF_INIT;
	size_t i;

	fill(f->l, 8);
	/* Swap every column but seq between rows 3 and 7. */
	buf_addstr(&sql, "CREATE TEMP TABLE t AS SELECT * FROM ledger WHERE seq IN (3, 7); UPDATE ledger SET ");
	for (i = 0; i < sizeof(cols) / sizeof(*cols); i++)
		buf_addf(&sql, "%s%s = (SELECT %s FROM t WHERE t.seq = 10 - ledger.seq)", i ? ", " : "",
			 cols[i], cols[i]);
	buf_addstr(&sql, " WHERE seq IN (3, 7)");
	tamper(f->db, sql.buf);
	buf_release(&sql);
	expect_bad(f->l, NULL, 3, "entries 3 and 7 are reordered (seq 3 holds the entry written as seq 7)");
}

static void
tamper_inserted_end(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	tamper(f->db, "INSERT INTO ledger (seq, time, actor, kind, prev_hash, hash) VALUES (9, "
	       "'2026-01-01T00:00:00.000Z', 'mallory@x', 'change.result', "
	       "'1111111111111111111111111111111111111111111111111111111111111111', "
	       "'2222222222222222222222222222222222222222222222222222222222222222')");
	expect_bad(f->l, NULL, 9, "entry 9 does not verify: inserted (its prev_hash matches no entry)");
}

static void
tamper_inserted_copy(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	tamper(f->db, "INSERT INTO ledger SELECT 9, time, actor, run_id, git_commit, kind, target, "
	       "object, action, before, after, result, error, prev_hash, hash FROM ledger WHERE seq = 3");
	expect_bad(f->l, NULL, 9, "entry 9 does not verify: inserted (a copy of entry 3)");
}

static void
tamper_inserted_middle(void **state)
{
	struct fixture *f = *state;

	fill(f->l, 8);
	/* Make room at 5 by renumbering, then forge an entry there. */
	tamper(f->db, "UPDATE ledger SET seq = seq + 100 WHERE seq >= 5; "
	       "UPDATE ledger SET seq = seq - 99 WHERE seq >= 105; "
	       "INSERT INTO ledger (seq, time, actor, kind, object, result, prev_hash, hash) "
	       "SELECT 5, time, 'mallory@x', kind, 'profile/evil', 'ok', hash, "
	       "'3333333333333333333333333333333333333333333333333333333333333333' FROM ledger WHERE seq = 4");
	expect_bad(f->l, NULL, 5, "entry 5 does not verify: inserted (entry 6 was written as seq 5 "
		   "and follows entry 4)");
}

/*
 * A forger who knows the hash (from its definition in ledger.h) and chains
 * the forged entry properly.
 */
static void
tamper_inserted_middle_rehashed(void **state)
{
	struct fixture *f = *state;
	char hash[65], *sql, prev[65] = "", time[32] = "";
	sqlite3 *h;
	sqlite3_stmt *st;
	json_t *forged;

	fill(f->l, 8);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT hash, time FROM ledger WHERE seq = 4", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(prev, sizeof(prev), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(time, sizeof(time), "%s", (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	sqlite3_close(h);
	forged = json_pack("{s:n, s:s, s:n, s:n, s:n, s:n, s:s, s:n, s:n, s:n, s:i, s:n, s:s}",
			   "action", "actor", "mallory@x", "after", "before", "error",
			   "git_commit", "kind", "change.result", "object", "result", "run_id",
			   "seq", 5, "target", "time", time);
	assert_non_null(forged);
	expected_hash(prev, forged, hash);
	json_decref(forged);
	sql = xasprintf("UPDATE ledger SET seq = seq + 100 WHERE seq >= 5; "
			"UPDATE ledger SET seq = seq - 99 WHERE seq >= 105; "
			"INSERT INTO ledger (seq, time, actor, kind, prev_hash, hash) VALUES "
			"(5, '%s', 'mallory@x', 'change.result', '%s', '%s')", time, prev, hash);
	tamper(f->db, sql);
	free(sql);
	expect_bad(f->l, NULL, 5, "entry 5 does not verify: inserted (entry 6 was written as seq 5 "
		   "and follows entry 4)");
}

static void
checkpoints(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r;
	struct berr err;
	char cp[96], cp3[96], bad[96];

	expect_ok(f->l, "0:" "0000000000000000000000000000000000000000000000000000000000000000", 0);
	fill(f->l, 3);
	assert_int_equal(ledger_verify(f->l, NULL, &r, &err), 0);
	snprintf(cp3, sizeof(cp3), "%lld:%s", (long long)r.head_seq, r.head_hash);
	fill(f->l, 3);
	assert_int_equal(ledger_verify(f->l, NULL, &r, &err), 0);
	snprintf(cp, sizeof(cp), "%lld:%s", (long long)r.head_seq, r.head_hash);
	expect_ok(f->l, cp3, 6);	/* an older checkpoint: still extended */
	expect_ok(f->l, cp, 6);
	snprintf(bad, sizeof(bad), "3:%s", zeros);
	assert_int_equal(ledger_verify(f->l, bad, &r, &err), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_non_null(strstr(r.msg, "entry 3 does not match the checkpoint: rewritten (its hash is "));
}

static void
checkpoint_broken(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r;
	struct berr err;
	char cp[96], want[256];

	fill(f->l, 6);
	assert_int_equal(ledger_verify(f->l, NULL, &r, &err), 0);
	snprintf(cp, sizeof(cp), "%lld:%s", (long long)r.head_seq, r.head_hash);
	/* The last entries removed: only a checkpoint can tell. */
	tamper(f->db, "DELETE FROM ledger WHERE seq >= 5");
	expect_ok(f->l, NULL, 4);
	expect_bad(f->l, cp, 6, "entry 6 does not verify: deleted (the ledger ends at seq 4, the "
		   "checkpoint names seq 6)");
	/* ... and rewritten after that: same length, another head. */
	fill(f->l, 2);
	assert_int_equal(ledger_verify(f->l, cp, &r, &err), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 6);
	snprintf(want, sizeof(want), "entry 6 does not match the checkpoint: rewritten (its hash is %s, "
		 "the checkpoint says %s)", r.head_hash, strchr(cp, ':') + 1);
	assert_string_equal(r.msg, want);
	/* Syntax. */
	assert_int_equal(ledger_verify(f->l, "6:abc", &r, &err), -1);
	assert_non_null(strstr(err.msg, "checkpoint: want SEQ:HASH"));
	assert_int_equal(ledger_verify(f->l, "x", &r, &err), -1);
}

static void
last_applied(void **state)
{
	struct fixture *f = *state;
	struct berr err;
	json_t *a, *d;

	append(f->l, "change.intent", "r-1", "nix-01", "profile/web", "create", NULL,
	       json_pack("{s:i}", "v", 1), NULL);
	append(f->l, "change.result", "r-1", "nix-01", "profile/web", "create", NULL,
	       json_pack("{s:i}", "v", 1), "ok");
	append(f->l, "change.intent", "r-1", "nix-01", "profile/db", "create", NULL,
	       json_pack("{s:i}", "v", 1), NULL);
	append(f->l, "change.result", "r-1", "nix-01", "profile/db", "create", NULL,
	       json_pack("{s:i}", "v", 1), "ok");
	append(f->l, "change.intent", "r-2", "nix-01", "profile/web", "update", NULL,
	       json_pack("{s:i}", "v", 2), NULL);
	append(f->l, "change.result", "r-2", "nix-01", "profile/web", "update", NULL,
	       json_pack("{s:i}", "v", 2), "failed");
	append(f->l, "change.intent", "r-2", "nix-01", "profile/db", "delete",
	       json_pack("{s:i}", "v", 1), NULL, NULL);
	append(f->l, "change.result", "r-2", "nix-01", "profile/db", "delete",
	       json_pack("{s:i}", "v", 1), NULL, "ok");
	/* Killed between intent and result: */
	append(f->l, "change.intent", "r-3", "nix-01", "profile/cache", "create", NULL,
	       json_pack("{s:i}", "v", 3), NULL);
	append(f->l, "change.intent", "r-3", "nix-02", "profile/web", "update", NULL,
	       json_pack("{s:i}", "v", 3), NULL);
	append(f->l, "change.result", "r-3", "nix-01", "profile/web", "update", NULL,
	       json_pack("{s:i}", "v", 3), "ok");

	a = ledger_last_applied(f->l, &err);
	assert_non_null(a);
	assert_int_equal(json_object_size(a), 1);
	/* the text as written, parsed when a plan compares it */
	assert_string_equal(json_string_value(json_object_get(a, "profile/web")), "{\"v\":3}");
	assert_null(json_object_get(a, "profile/db"));
	json_decref(a);

	d = ledger_dangling_intents(f->l, &err);
	assert_non_null(d);
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "object")),
			    "profile/cache");
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "target")),
			    "nix-02");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "seq")), 9);
	json_decref(d);
}

struct collected {
	int n;
	int64_t seqs[16];
};

static int
collect_cb(void *ctx, const json_t *e)
{
	struct collected *c = ctx;

	if (c->n < 16)
		c->seqs[c->n] = json_integer_value(json_object_get(e, "seq"));
	c->n++;
	return 0;
}

static void
query(void **state)
{
	struct fixture *f = *state;
	struct ledger_filter flt = { 0 };
	struct collected c = { 0 };
	struct berr err;

	fill(f->l, 5);
	append(f->l, "run.end", "r-2", NULL, NULL, NULL, NULL, NULL, "ok");
	flt.limit = 2;
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, &c, &err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.seqs[0], 5);
	assert_int_equal(c.seqs[1], 6);
	memset(&flt, 0, sizeof(flt));
	memset(&c, 0, sizeof(c));
	flt.kind = "run.end";
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, &c, &err), 0);
	assert_int_equal(c.n, 1);
	memset(&flt, 0, sizeof(flt));
	memset(&c, 0, sizeof(c));
	flt.object = "profile/p3";
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, &c, &err), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seqs[0], 3);
	memset(&flt, 0, sizeof(flt));
	memset(&c, 0, sizeof(c));
	flt.run_id = "r-2";
	flt.since = "2000-01-01T00:00Z";
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, &c, &err), 0);
	assert_int_equal(c.n, 1);
	memset(&c, 0, sizeof(c));
	flt.run_id = NULL;
	flt.since = "2999-01-01";
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, &c, &err), 0);
	assert_int_equal(c.n, 0);
	flt.since = "yesterday";
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, &c, &err), -1);
	assert_non_null(strstr(err.msg, "since: want a date or UTC time"));
	memset(&flt, 0, sizeof(flt));
	memset(&c, 0, sizeof(c));
	flt.seq = 4;
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, &c, &err), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seqs[0], 4);
}

static void
newer_schema(void **state)
{
	struct fixture *f = *state;
	struct ledger *l = NULL;
	struct berr err;
	const char *dir = f->t.state;
	char *msg = NULL;

	assert_int_equal(raw_exec(f->db, "INSERT INTO schema_version VALUES (999, '999-x.sql', 'now')",
				  &msg), SQLITE_OK);
	assert_int_equal(ledger_open(dir, &l, &err), -1);
	assert_null(l);
	assert_non_null(strstr(err.msg, "has schema version 999, newer than this berth knows"));
}

#define THREADS 8
#define PER_THREAD 40

static void *
appender(void *arg)
{
	struct ledger *l = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		struct ledger_entry e = { 0 };
		struct berr err;

		e.kind = "change.result";
		e.object = "profile/x";
		e.result = "ok";
		if (ledger_append(l, &e, &err) < 0)
			return (void *)1;
	}
	return NULL;
}

static void
concurrent(void **state)
{
	struct fixture *f = *state;
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, appender, f->l), 0);
	for (i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		assert_null(r);
	}
	expect_ok(f->l, NULL, THREADS * PER_THREAD);
}

static int64_t
raw_count(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM ledger", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void
integrity_ok(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* The ledger connection's wal_autocheckpoint, read on that connection. */
static int64_t
wal_autocheckpoint(struct ledger *l)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	ledger_mutex_lock(l);
	assert_int_equal(sqlite3_prepare_v2(ledger_sqlite(l), "PRAGMA wal_autocheckpoint", -1,
					    &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ledger_mutex_unlock(l);
	return v;
}

/* Batches chain on from single appends and from each other. */
static void
batch_chain(void **state)
{
	struct fixture *f = *state;
	struct berr err;
	const char *dir = f->t.state;

	fill(f->l, 2);
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	fill(f->l, 5);
	/* Not yet committed: other connections do not see it, this one does. */
	assert_int_equal(raw_count(f->db), 2);
	expect_ok(f->l, NULL, 7);
	assert_int_equal(ledger_batch_commit(f->l, &err), 0);
	assert_int_equal(raw_count(f->db), 7);
	assert_int_equal(append(f->l, "run.end", "r-1", NULL, NULL, NULL, NULL, NULL, "ok"), 8);
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(append(f->l, "run.start", "r-2", NULL, NULL, NULL, NULL, NULL, NULL), 9);
	fill(f->l, 3);
	assert_int_equal(ledger_batch_commit(f->l, &err), 0);
	expect_ok(f->l, NULL, 12);
	/* An empty batch is fine. */
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(ledger_batch_commit(f->l, &err), 0);
	ledger_close(f->l);
	assert_int_equal(ledger_open(dir, &f->l, &err), 0);
	expect_ok(f->l, NULL, 12);
	/* The tamper diagnosis is the same for entries written in a batch. */
	tamper(f->db, "UPDATE ledger SET object = 'profile/evil' WHERE seq = 10");
	expect_bad(f->l, NULL, 10, "entry 10 does not verify: edited (its hash does not "
		   "match its contents)");
}

static void
batch_misuse(void **state)
{
	struct fixture *f = *state;
	struct berr err;

	assert_int_equal(ledger_batch_commit(f->l, &err), -1);
	assert_non_null(strstr(err.msg, "no batch is open"));
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(ledger_batch_begin(f->l, &err), -1);
	assert_non_null(strstr(err.msg, "a batch is already open"));
	fill(f->l, 1);
	assert_int_equal(ledger_batch_commit(f->l, &err), 0);
	assert_int_equal(ledger_batch_commit(f->l, &err), -1);
	ledger_batch_rollback(f->l);	/* none open: nothing happens */
	expect_ok(f->l, NULL, 1);
}

/* An abandoned batch loses its entries and nothing else. */
static void
batch_rollback(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r1, r2;
	struct berr err;
	const char *dir = f->t.state;

	fill(f->l, 3);
	assert_int_equal(ledger_verify(f->l, NULL, &r1, &err), 0);
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(append(f->l, "run.start", "r-2", NULL, NULL, NULL, NULL, NULL, NULL), 4);
	fill(f->l, 3);
	ledger_batch_rollback(f->l);
	assert_int_equal(ledger_verify(f->l, NULL, &r2, &err), 0);
	assert_true(r2.ok);
	assert_int_equal(r2.head_seq, 3);
	assert_string_equal(r2.head_hash, r1.head_hash);
	/* The seqs of the lost entries are given out again, and chain on. */
	assert_int_equal(append(f->l, "run.start", "r-3", NULL, NULL, NULL, NULL, NULL, NULL), 4);
	expect_ok(f->l, NULL, 4);
	/* Closed with a batch open: rolled back too. */
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	fill(f->l, 2);
	ledger_close(f->l);
	assert_int_equal(ledger_open(dir, &f->l, &err), 0);
	expect_ok(f->l, NULL, 4);
	integrity_ok(f->db);
}

/* A process killed in the middle of a batch: the chain ends before it. */
static void
batch_crash(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r;
	struct berr err;
	const char *dir = f->t.state;
	pid_t pid;
	int status;

	fill(f->l, 3);
	assert_int_equal(ledger_verify(f->l, NULL, &r, &err), 0);
	ledger_close(f->l);
	f->l = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ledger *l;
		int i;

		if (ledger_open(dir, &l, &err) < 0 || ledger_batch_begin(l, &err) < 0)
			_exit(1);
		for (i = 0; i < 500; i++) {
			struct ledger_entry e = { 0 };

			e.kind = "change.intent";
			e.object = "profile/crash";
			if (ledger_append(l, &e, &err) < 0)
				_exit(1);
		}
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(ledger_open(dir, &f->l, &err), 0);
	expect_ok(f->l, NULL, 3);
	integrity_ok(f->db);
	fill(f->l, 1);
	expect_ok(f->l, NULL, 4);
}

/* Several threads append into one open batch. */
static void
batch_threads(void **state)
{
	struct fixture *f = *state;
	pthread_t t[THREADS];
	struct berr err;
	int i;

	fill(f->l, 1);
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, appender, f->l), 0);
	for (i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		assert_null(r);
	}
	assert_int_equal(raw_count(f->db), 1);
	assert_int_equal(ledger_batch_commit(f->l, &err), 0);
	assert_int_equal(raw_count(f->db), 1 + THREADS * PER_THREAD);
	expect_ok(f->l, NULL, 1 + THREADS * PER_THREAD);
}

/*
 * A ledger longer than verify's chunks (1,024 entries): an edit deep in
 * it, and a deletion, are still named exactly.
 */
static void
batch_long(void **state)
{
	struct fixture *f = *state;
	struct berr err;
	char *msg = NULL;

	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	fill(f->l, 3000);
	assert_int_equal(ledger_batch_commit(f->l, &err), 0);
	expect_ok(f->l, NULL, 3000);
	tamper(f->db, "UPDATE ledger SET result = 'failed' WHERE seq = 2500");
	expect_bad(f->l, NULL, 2500, "entry 2500 does not verify: edited (its hash does not "
		   "match its contents)");
	assert_int_equal(raw_exec(f->db, "DELETE FROM ledger WHERE seq = 1025", &msg), SQLITE_OK);
	expect_bad(f->l, NULL, 1026, "entry 1026 does not verify: deleted (seq 1025 is missing)");
}

/* The head follows appends, batches and rollbacks. */
static void
head(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_result r;
	struct ledger_entry e = { .kind = "run.start" };
	struct berr err;
	char hash[65] = "stale", before[65];
	int64_t seq = -1;

	assert_int_equal(ledger_head(f->l, &seq, hash, &err), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(hash, "");
	fill(f->l, 2);
	assert_int_equal(ledger_append(f->l, &e, &err), 0);
	assert_int_equal(ledger_head(f->l, &seq, hash, &err), 0);
	assert_int_equal(seq, 3);
	assert_string_equal(hash, e.hash);
	assert_int_equal(ledger_verify(f->l, NULL, &r, &err), 0);
	assert_string_equal(hash, r.head_hash);
	memcpy(before, hash, 65);
	/* An open batch's entries are the head until it is rolled back. */
	assert_int_equal(ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(ledger_append(f->l, &e, &err), 0);
	assert_int_equal(ledger_head(f->l, &seq, hash, &err), 0);
	assert_int_equal(seq, 4);
	assert_string_equal(hash, e.hash);
	ledger_batch_rollback(f->l);
	assert_int_equal(ledger_head(f->l, &seq, hash, &err), 0);
	assert_int_equal(seq, 3);
	assert_string_equal(hash, before);
}

/* A run.end entry as berth apply and reconcile write it; its seq, *ms: its time. */
static int64_t
run_end(struct ledger *l, const char *mode, const char *result, json_t *counts, int64_t *ms)
{
	struct ledger_entry e = { 0 };
	struct berr err;

	e.run_id = "r-1";
	e.kind = "run.end";
	e.action = mode;
	e.after = counts;
	e.result = result;
	if (ledger_append(l, &e, &err) < 0)
		fail_msg("append: %s", err.msg);
	json_decref(counts);
	assert_int_equal(clock_parse_rfc3339(e.time, ms), 0);
	return e.seq;
}

static json_t *
counts(int changes, int failed, int stale, int not_attempted)
{
	return json_pack("{s:i, s:i, s:i, s:i}", "changes", changes, "failed", failed,
			 "stale", stale, "not_attempted", not_attempted);
}

/* ledger_last_run(mode) fills every field of r as want has it. */
static void
assert_last_run(struct ledger *l, const char *mode, const struct ledger_run *want)
{
	struct ledger_run r;
	struct berr err;

	memset(&r, 0xff, sizeof(r));
	assert_int_equal(ledger_last_run(l, mode, &r, &err), 0);
	assert_int_equal(r.seq, want->seq);
	assert_int_equal(r.end_ms, want->end_ms);
	assert_string_equal(r.result, want->result);
	assert_int_equal(r.changes, want->changes);
	assert_int_equal(r.failed, want->failed);
	assert_int_equal(r.stale, want->stale);
	assert_int_equal(r.not_attempted, want->not_attempted);
}

static void
last_run(void **state)
{
	struct fixture *f = *state;
	int64_t rec, app, ms_rec, ms_app, ms, t0;
	char *sql, *msg = NULL;

	assert_last_run(f->l, "reconcile", &(struct ledger_run){ .seq = 0 });

	t0 = clock_now_ms();
	rec = run_end(f->l, "reconcile", "ok", counts(3, 1, 2, 4), &ms_rec);
	append(f->l, "run.start", "r-2", NULL, NULL, "reconcile", NULL, NULL, NULL);
	append(f->l, "run.end", "r-2", NULL, NULL, "plan", NULL, counts(8, 8, 8, 8), "ok");
	app = run_end(f->l, "apply", "failed", counts(9, 5, 6, 7), &ms_app);
	assert_true(ms_rec >= t0 && ms_rec <= clock_now_ms());

	assert_last_run(f->l, "reconcile", &(struct ledger_run){
		.seq = rec, .end_ms = ms_rec, .result = "ok",
		.changes = 3, .failed = 1, .stale = 2, .not_attempted = 4 });
	assert_last_run(f->l, "apply", &(struct ledger_run){
		.seq = app, .end_ms = ms_app, .result = "failed",
		.changes = 9, .failed = 5, .stale = 6, .not_attempted = 7 });
	assert_last_run(f->l, "destroy", &(struct ledger_run){ .seq = 0 });

	/* The last one wins; no counts are zeros. */
	rec = run_end(f->l, "reconcile", "failed", NULL, &ms);
	assert_last_run(f->l, "reconcile", &(struct ledger_run){
		.seq = rec, .end_ms = ms, .result = "failed" });

	/* An after that is not JSON (written behind berth's back): zeros, no error. */
	sql = xasprintf("INSERT INTO ledger (seq, time, actor, kind, action, after, prev_hash, "
			"hash) VALUES (%lld, '2026-11-22T04:12:00.123Z', 'x', 'run.end', "
			"'reconcile', '{not json', '%s', '%s')", (long long)rec + 1, zeros, zeros);
	assert_int_equal(raw_exec(f->db, sql, &msg), SQLITE_OK);
	free(sql);
	assert_last_run(f->l, "reconcile", &(struct ledger_run){
		.seq = rec + 1, .end_ms = 1795320720123 });
}

/* A report.rejected entry as berth serve's intake writes it; its time in *ms. */
static void
rejected(struct ledger *l, const char *host, const char *reason, int count,
	 const char *first, const char *last, int64_t *ms)
{
	struct ledger_entry e = { 0 };
	struct berr err;
	char object[64];
	json_t *after = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "reason", reason,
				  "count", count, "first", first, "last", last,
				  "detail", "bad signature", "remote", "192.0.2.7");

	snprintf(object, sizeof(object), "host/%s", host);
	e.actor = "intake";
	e.kind = "report.rejected";
	e.target = host;
	e.object = object;
	e.action = reason;
	e.after = after;
	e.result = "rejected";
	if (ledger_append(l, &e, &err) < 0)
		fail_msg("append: %s", err.msg);
	json_decref(after);
	if (ms)
		assert_int_equal(clock_parse_rfc3339(e.time, ms), 0);
}

struct summaries {
	int n, stop_after;
	struct {
		char host[64], reason[32];
		int64_t entries, count, first_ms, last_ms;
	} s[8];
};

static int
summary_cb(void *ctx, const struct ledger_rejection *r)
{
	struct summaries *c = ctx;

	assert_true(c->n < 8);
	snprintf(c->s[c->n].host, sizeof(c->s[c->n].host), "%s", r->host);
	snprintf(c->s[c->n].reason, sizeof(c->s[c->n].reason), "%s", r->reason);
	c->s[c->n].entries = r->entries;
	c->s[c->n].count = r->count;
	c->s[c->n].first_ms = r->first_ms;
	c->s[c->n].last_ms = r->last_ms;
	c->n++;
	return c->stop_after && c->n == c->stop_after;
}

static void
expect_summary(const struct summaries *c, int i, const char *host, const char *reason,
	       int64_t entries, int64_t count, int64_t first_ms, int64_t last_ms)
{
	assert_true(i < c->n);
	assert_string_equal(c->s[i].host, host);
	assert_string_equal(c->s[i].reason, reason);
	assert_int_equal(c->s[i].entries, entries);
	assert_int_equal(c->s[i].count, count);
	assert_int_equal(c->s[i].first_ms, first_ms);
	assert_int_equal(c->s[i].last_ms, last_ms);
}

#define T1 "2026-11-22T04:12:00.123Z"
#define T1_MS 1795320720123
#define T2 "2026-11-22T04:12:30.000Z"
#define T2_MS 1795320750000
#define T3 "2026-11-22T04:13:05.999Z"
#define T3_MS 1795320785999

static void
rejections(void **state)
{
	struct fixture *f = *state;
	struct summaries c = { 0 };
	struct ledger_entry e = { 0 };
	struct berr err;
	int64_t last, since, odd;
	char *sql, *msg = NULL;

	assert_int_equal(ledger_rejections(f->l, 0, summary_cb, &c, &err), 0);
	assert_int_equal(c.n, 0);
	rejected(f->l, "h1", "bad_signature", 1, T1, T1, NULL);
	rejected(f->l, "h1", "time_skew", 2, T2, T2, NULL);
	rejected(f->l, "(not in the manifests)", "bad_signature", 3, T1, T3, NULL);
	/* Not a rejection, though its target and action look like one. */
	append(f->l, "change.result", "r-1", "h1", "host/h1", "bad_signature", NULL,
	       json_pack("{s:i}", "count", 100), "ok");
	rejected(f->l, "h1", "bad_signature", 4, T2, T3, NULL);
	/* No after: counted as an entry, its own time as first and last. */
	e.actor = "intake";
	e.kind = "report.rejected";
	e.target = "h3";
	e.action = "malformed";
	assert_int_equal(ledger_append(f->l, &e, &err), 0);
	assert_int_equal(clock_parse_rfc3339(e.time, &odd), 0);

	assert_int_equal(ledger_rejections(f->l, 0, summary_cb, &c, &err), 0);
	assert_int_equal(c.n, 4);
	expect_summary(&c, 0, "(not in the manifests)", "bad_signature", 1, 3, T1_MS, T3_MS);
	expect_summary(&c, 1, "h1", "bad_signature", 2, 5, T1_MS, T3_MS);
	expect_summary(&c, 2, "h1", "time_skew", 1, 2, T2_MS, T2_MS);
	expect_summary(&c, 3, "h3", "malformed", 1, 0, odd, odd);
	/* fn stops the walk. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	assert_int_equal(ledger_rejections(f->l, 0, summary_cb, &c, &err), 0);
	assert_int_equal(c.n, 1);

	/* since: only the entries appended at or after it. */
	assert_int_equal(clock_parse_rfc3339(e.time, &last), 0);
	while ((since = clock_now_ms()) <= last)
		clock_sleep_ms(1);
	rejected(f->l, "h1", "bad_signature", 7, T3, T3, &last);
	assert_true(last >= since);
	memset(&c, 0, sizeof(c));
	assert_int_equal(ledger_rejections(f->l, since, summary_cb, &c, &err), 0);
	assert_int_equal(c.n, 1);
	expect_summary(&c, 0, "h1", "bad_signature", 1, 7, T3_MS, T3_MS);
	memset(&c, 0, sizeof(c));
	assert_int_equal(ledger_rejections(f->l, last, summary_cb, &c, &err), 0);
	assert_int_equal(c.n, 1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(ledger_rejections(f->l, last + 1, summary_cb, &c, &err), 0);
	assert_int_equal(c.n, 0);

	/* An after that is not JSON (written behind berth's back): no error. */
	sql = xasprintf("INSERT INTO ledger (seq, time, actor, kind, target, action, after, "
			"prev_hash, hash) SELECT max(seq) + 1, '" T2 "', 'x', 'report.rejected', "
			"'h4', 'malformed', '{not json', '%s', '%s' FROM ledger", zeros, zeros);
	assert_int_equal(raw_exec(f->db, sql, &msg), SQLITE_OK);
	free(sql);
	memset(&c, 0, sizeof(c));
	assert_int_equal(ledger_rejections(f->l, 0, summary_cb, &c, &err), 0);
	assert_int_equal(c.n, 5);
	expect_summary(&c, 1, "h1", "bad_signature", 3, 12, T1_MS, T3_MS);
	expect_summary(&c, 4, "h4", "malformed", 1, 0, T2_MS, T2_MS);
}

/* Off, commits leave the WAL to another connection; on, SQLite's default. */
static void
autocheckpoint(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wal_autocheckpoint(f->l), 1000);
	ledger_set_autocheckpoint(f->l, 0);
	assert_int_equal(wal_autocheckpoint(f->l), 0);
	ledger_set_autocheckpoint(f->l, 1);
	assert_int_equal(wal_autocheckpoint(f->l), 1000);
}

static void
ids(void **state)
{
	char a[32], b[32], actor[320];

	(void)state;
	ledger_new_run_id(a);
	ledger_new_run_id(b);
	assert_int_equal(strlen(a), 18);
	assert_memory_equal(a, "r-", 2);
	assert_string_not_equal(a, b);
	setenv("BERTH_ACTOR", "timer", 1);
	ledger_actor(actor, sizeof(actor));
	assert_string_equal(actor, "timer");
	unsetenv("BERTH_ACTOR");
	ledger_actor(actor, sizeof(actor));
	assert_non_null(strchr(actor, '@'));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(round_trip),
		T(exact_hash),
		T(triggers),
		T(authorizer),
		T(tamper_edited),
		T(tamper_edited_hash),
		T(tamper_deleted),
		T(tamper_deleted_many),
		T(tamper_deleted_renumbered),
		T(tamper_reordered),
		T(tamper_reordered_contents),
		T(tamper_inserted_end),
		T(tamper_inserted_copy),
		T(tamper_inserted_middle),
		T(tamper_inserted_middle_rehashed),
		T(checkpoints),
		T(checkpoint_broken),
		T(last_applied),
		T(query),
		T(head),
		T(last_run),
		T(rejections),
		T(autocheckpoint),
		T(newer_schema),
		T(concurrent),
		T(batch_chain),
		T(batch_misuse),
		T(batch_rollback),
		T(batch_crash),
		T(batch_threads),
		T(batch_long),
		cmocka_unit_test(ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
