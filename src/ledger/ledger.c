/*
 * ledger.c - the ledger's database: opening and migrating berth.db, the
 * connection and its authorizer, and appending entries (one at a time,
 * grouped, or in batches). The hash chain is in verify.c, the readers in
 * query.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "embedded.h"
#include "ledger/ledger-int.h"
#include "util/fs.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

#define BUSY_TIMEOUT_MS	30000

struct ledger {
	sqlite3 *db;
	pthread_mutex_t mu;
	sqlite3_stmt *last;	/* the last entry's seq and hash */
	sqlite3_stmt *insert;
	int batch;		/* a batch's transaction is open (under mu) */
	/* Group commit of appends (under gmu). */
	pthread_mutex_t gmu;
	pthread_cond_t gcond;
	struct pending *q_head, **q_tail;
	int writing;		/* a thread is writing a group */
};

sqlite3 *
ledger_sqlite(struct ledger *l)
{
	return l->db;
}

void
ledger_mutex_lock(struct ledger *l)
{
	pthread_mutex_lock(&l->mu);
}

void
ledger_mutex_unlock(struct ledger *l)
{
	pthread_mutex_unlock(&l->mu);
}

/*
 * berth's own connection never changes or removes an entry, and never
 * drops the triggers (or any table) that keep other connections from it.
 */
static int
authorizer(void *ud, int action, const char *a1, const char *a2, const char *db,
	   const char *trigger)
{
	(void)ud; (void)db; (void)trigger;
	switch (action) {
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
	case SQLITE_ALTER_TABLE:
		/* ALTER TABLE: a1 is the database, a2 the table. */
		if (action == SQLITE_ALTER_TABLE ? a2 && !sqlite3_stricmp(a2, "ledger")
						 : a1 && !sqlite3_stricmp(a1, "ledger"))
			return SQLITE_DENY;
		return SQLITE_OK;
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_TABLE:
		return SQLITE_DENY;
	case SQLITE_PRAGMA:
		if (a1 && a2 && !sqlite3_stricmp(a1, "writable_schema"))
			return SQLITE_DENY;
		return SQLITE_OK;
	default:
		return SQLITE_OK;
	}
}

static int
db_fail(struct ledger *l, struct berr *err, const char *what)
{
	return berr_set(err, "ledger: %s: %s", what, sqlite3_errmsg(l->db));
}


static long
file_version(const char *name)
{
	char *end;
	long v = strtol(name, &end, 10);

	return end == name || *end != '-' ? -1 : v;
}

/* 1 when table exists, 0 not, -1 error. */
static int
have_table(struct ledger *l, const char *name, struct berr *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(l->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
			       "AND name = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(l, err, "reading the schema");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(l, err, "reading the schema");
}

static int
schema_version(struct ledger *l, long *out, struct berr *err)
{
	sqlite3_stmt *st = NULL;
	int h = have_table(l, "schema_version", err);

	*out = 0;
	if (h <= 0)
		return h;
	if (sqlite3_prepare_v2(l->db, "SELECT coalesce(max(version), 0) FROM schema_version",
			       -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(l, err, "reading the schema version");
	}
	*out = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* Apply the files of state/ newer than the database, in one transaction. */
static int
migrate(struct ledger *l, const char *path, struct berr *err)
{
	long have, known = 0, v;
	size_t i;
	char now[32];
	sqlite3_stmt *st = NULL;
	int ret = -1;

	for (i = 0; i < embedded_state_count; i++)
		if ((v = file_version(embedded_state[i].name)) > known)
			known = v;
	if (schema_version(l, &have, err) < 0)
		return -1;
	if (have > known)
		goto newer;
	if (have == known)
		return 0;
	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(l, err, "starting the migration");
	/* Another berth may have migrated meanwhile. */
	if (schema_version(l, &have, err) < 0)
		goto out;
	if (have > known)
		goto newer;
	for (i = 0; i < embedded_state_count; i++) {
		const struct embedded_file *f = &embedded_state[i];

		if ((v = file_version(f->name)) <= have)
			continue;
		if (sqlite3_exec(l->db, f->data, NULL, NULL, NULL) != SQLITE_OK) {
			berr_set(err, "ledger: applying state/%s to \"%s\": %s", f->name, path,
				 sqlite3_errmsg(l->db));
			goto out;
		}
		if (!st && sqlite3_prepare_v2(l->db, "INSERT INTO schema_version (version, "
					      "name, applied_at) VALUES (?1, ?2, ?3)", -1, &st,
					      NULL) != SQLITE_OK) {
			db_fail(l, err, "recording the schema version");
			goto out;
		}
		clock_format(clock_now_ms(), 1, now, 32);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, v);
		sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_fail(l, err, "recording the schema version");
			goto out;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(l, err, "committing the migration");
		goto out;
	}
	return 0;
newer:
	berr_set(err, "\"%s\" has schema version %ld, newer than this berth knows (%ld): "
		 "use a newer berth", path, have, known);
out:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int
pragma(struct ledger *l, const char *sql, const char *want, struct berr *err)
{
	sqlite3_stmt *st = NULL;
	int ok;

	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(l, err, sql);
	ok = sqlite3_step(st);
	ok = ok == SQLITE_DONE || (ok == SQLITE_ROW && (!want ||
		!sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), want)));
	sqlite3_finalize(st);
	if (!ok)
		return berr_set(err, "ledger: %s: want %s, have %s", sql, want ? want : "ok",
				sqlite3_errmsg(l->db));
	return 0;
}

int
ledger_open(const char *state_dir, struct ledger **out, struct berr *err)
{
	struct ledger *l = xcalloc(1, sizeof(*l));
	char *path = xasprintf("%s/berth.db", state_dir);
	struct stat sb;
	int fd = -1, on = 1;

	*out = NULL;
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->gmu, NULL);
	pthread_cond_init(&l->gcond, NULL);
	l->q_tail = &l->q_head;
	if (mkdir_p(state_dir, err) < 0)
		goto fail;
	/*
	 * Created 0600 here (SQLite gives the -wal and -shm files the same
	 * mode), and only when it is missing: closing a descriptor of a file
	 * drops every POSIX lock the process holds on it, the locks of another
	 * connection to berth.db in this process included. A symbolic link is
	 * refused either way.
	 */
	if (lstat(path, &sb) == 0) {
		if (S_ISLNK(sb.st_mode)) {
			berr_set(err, "cannot open the ledger \"%s\": %s", path, strerror(ELOOP));
			goto fail;
		}
	} else if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			      0600)) >= 0) {
		close(fd);
	} else if (errno != EEXIST) {
		berr_set(err, "cannot open the ledger \"%s\": %s", path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		berr_set(err, "cannot open the ledger \"%s\": %s", path,
			 l->db ? sqlite3_errmsg(l->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(l->db, 1);
	sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_DEFENSIVE, on, NULL);
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (sqlite3_set_authorizer(l->db, authorizer, NULL) != SQLITE_OK) {
		db_fail(l, err, "installing the authorizer");
		goto fail;
	}
	if (pragma(l, "PRAGMA journal_mode = WAL", "wal", err) < 0 ||
	    pragma(l, "PRAGMA synchronous = FULL", NULL, err) < 0 ||
	    pragma(l, "PRAGMA cache_size = -32768", NULL, err) < 0 ||
	    pragma(l, "PRAGMA foreign_keys = ON", NULL, err) < 0 ||
	    pragma(l, "PRAGMA recursive_triggers = ON", NULL, err) < 0)
		goto fail;
	if (migrate(l, path, err) < 0)
		goto fail;
	if (sqlite3_prepare_v3(l->db, "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
			       -1, SQLITE_PREPARE_PERSISTENT, &l->last, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(l->db, "INSERT INTO ledger (" LEDGER_ROW_COLUMNS ") VALUES (?1, ?2, "
			       "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)", -1,
			       SQLITE_PREPARE_PERSISTENT, &l->insert, NULL) != SQLITE_OK) {
		db_fail(l, err, "preparing statements");
		goto fail;
	}
	free(path);
	*out = l;
	return 0;
fail:
	free(path);
	ledger_close(l);
	return -1;
}

void
ledger_close(struct ledger *l)
{
	if (!l)
		return;
	ledger_batch_rollback(l);
	sqlite3_finalize(l->last);
	sqlite3_finalize(l->insert);
	sqlite3_close(l->db);
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->gmu);
	pthread_cond_destroy(&l->gcond);
	free(l);
}

int
ledger_exec(struct ledger *l, const char *sql, struct berr *err)
{
	char *msg = NULL;
	int rc;

	pthread_mutex_lock(&l->mu);
	rc = sqlite3_exec(l->db, sql, NULL, NULL, &msg);
	pthread_mutex_unlock(&l->mu);
	if (rc != SQLITE_OK) {
		berr_set(err, "ledger: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

void
ledger_set_autocheckpoint(struct ledger *l, int on)
{
	pthread_mutex_lock(&l->mu);
	/* 1000 pages: SQLITE_DEFAULT_WAL_AUTOCHECKPOINT. */
	sqlite3_wal_autocheckpoint(l->db, on ? 1000 : 0);
	pthread_mutex_unlock(&l->mu);
}

/* The canonical JSON text of v (NULL for NULL or a JSON null); caller frees. */
static char *
json_text(const json_t *v)
{
	if (!v || json_is_null(v))
		return NULL;
	return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}

static int
check_utf8(const char *name, const char *s, struct berr *err)
{
	json_t *j;

	if (!s)
		return 0;
	if (!(j = json_string(s)))
		return berr_set(err, "ledger entry: %s: want UTF-8 text", name);
	json_decref(j);
	return 0;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* One append waiting for a group commit (on its caller's stack). */
struct pending {
	struct ledger_entry *e;
	const char *actor;
	char *before, *after;	/* canonical JSON text or NULL */
	struct berr *err;
	int ret;
	int done;
	struct pending *next;
};

/* Insert p after the last entry: seq, prev_hash, hash. Under mu, in a transaction. */
static int
insert_entry(struct ledger *l, struct pending *p)
{
	struct ledger_entry *e = p->e;
	struct ledger_row r = { 0 };
	int64_t seq = 1;
	int rc, i;

	sqlite3_reset(l->last);
	rc = sqlite3_step(l->last);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(l->last, 1);

		seq = sqlite3_column_int64(l->last, 0) + 1;
		snprintf(e->prev_hash, sizeof(e->prev_hash), "%s", h ? h : "");
	} else if (rc == SQLITE_DONE) {
		memcpy(e->prev_hash, LEDGER_ZERO_HASH, sizeof(LEDGER_ZERO_HASH));
	} else {
		sqlite3_reset(l->last);
		return db_fail(l, p->err, "reading the last entry");
	}
	sqlite3_reset(l->last);
	clock_format(clock_now_ms(), 1, e->time, 32);
	r.seq = seq;
	r.f[LEDGER_F_TIME] = e->time;
	r.f[LEDGER_F_ACTOR] = p->actor;
	r.f[LEDGER_F_RUN_ID] = e->run_id;
	r.f[LEDGER_F_GIT_COMMIT] = e->commit;
	r.f[LEDGER_F_KIND] = e->kind;
	r.f[LEDGER_F_TARGET] = e->target;
	r.f[LEDGER_F_OBJECT] = e->object;
	r.f[LEDGER_F_ACTION] = e->action;
	r.f[LEDGER_F_BEFORE] = p->before;
	r.f[LEDGER_F_AFTER] = p->after;
	r.f[LEDGER_F_RESULT] = e->result;
	r.f[LEDGER_F_ERROR] = e->error;
	for (i = 0; i < LEDGER_NFIELDS; i++)
		r.len[i] = r.f[i] ? strlen(r.f[i]) : 0;
	r.prev_hash = e->prev_hash;
	r.prev_hash_len = strlen(e->prev_hash);
	ledger_row_hash(&r, seq, e->hash);

	sqlite3_reset(l->insert);
	sqlite3_clear_bindings(l->insert);
	sqlite3_bind_int64(l->insert, 1, seq);
	for (i = 0; i < LEDGER_NFIELDS; i++)
		bind_text(l->insert, i + 2, r.f[i]);
	bind_text(l->insert, 14, e->prev_hash);
	bind_text(l->insert, 15, e->hash);
	if (sqlite3_step(l->insert) != SQLITE_DONE) {
		db_fail(l, p->err, "appending an entry");
		sqlite3_reset(l->insert);
		return -1;
	}
	sqlite3_reset(l->insert);
	e->seq = seq;
	return 0;
}

/*
 * Write a group of appends: inside an open batch, each joins it; else all
 * in one transaction and one commit (one fsync), all or none.
 */
static void
write_group(struct ledger *l, struct pending *group)
{
	struct pending *p, *bad = NULL;

	pthread_mutex_lock(&l->mu);
	if (l->batch) {
		for (p = group; p; p = p->next) {
			/* Join the batch's transaction, unless an error already ended it. */
			if (sqlite3_get_autocommit(l->db))
				p->ret = berr_set(p->err, "ledger: appending to a batch: the batch was "
						  "rolled back by an earlier error; its entries are lost");
			else
				p->ret = insert_entry(l, p);
		}
		pthread_mutex_unlock(&l->mu);
		return;
	}
	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(l, group->err, "starting an append");
		bad = group;
	}
	for (p = group; p && !bad; p = p->next)
		if (insert_entry(l, p) < 0)
			bad = p;
	if (!bad && sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(l, group->err, "committing an entry");
		bad = group;
	}
	if (bad && !sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&l->mu);
	for (p = group; p; p = p->next) {
		p->ret = bad ? -1 : 0;
		if (bad && p != bad)
			berr_set(p->err, "%s (an entry committed with this one failed)", bad->err->msg);
	}
}

int
ledger_append(struct ledger *l, struct ledger_entry *e, struct berr *err)
{
	struct pending p = { .e = e, .actor = e->actor, .err = err, .ret = -1 };
	char actor[320];

	if (!e->kind || !*e->kind)
		return berr_set(err, "ledger entry: kind: want a kind like change.result, have none");
	if (!p.actor) {
		ledger_actor(actor, sizeof(actor));
		p.actor = actor;
	}
	if (check_utf8("actor", p.actor, err) < 0 || check_utf8("run_id", e->run_id, err) < 0 ||
	    check_utf8("git_commit", e->commit, err) < 0 || check_utf8("kind", e->kind, err) < 0 ||
	    check_utf8("target", e->target, err) < 0 || check_utf8("object", e->object, err) < 0 ||
	    check_utf8("action", e->action, err) < 0 || check_utf8("result", e->result, err) < 0 ||
	    check_utf8("error", e->error, err) < 0)
		return -1;
	if ((e->before && !json_is_null(e->before) && !(p.before = json_text(e->before))) ||
	    (e->after && !json_is_null(e->after) && !(p.after = json_text(e->after)))) {
		berr_set(err, "ledger entry: before/after: cannot be written as JSON");
		goto out;
	}
	/*
	 * Group commit: the first waiting thread writes everything queued
	 * meanwhile in one transaction; the others wait for it. Alone, an
	 * append is its own transaction, as before.
	 */
	pthread_mutex_lock(&l->gmu);
	*l->q_tail = &p;
	l->q_tail = &p.next;
	while (!p.done) {
		if (!l->writing) {
			struct pending *group = l->q_head, *q;

			l->writing = 1;
			l->q_head = NULL;
			l->q_tail = &l->q_head;
			pthread_mutex_unlock(&l->gmu);
			write_group(l, group);
			pthread_mutex_lock(&l->gmu);
			for (q = group; q; q = q->next)
				q->done = 1;
			l->writing = 0;
			pthread_cond_broadcast(&l->gcond);
		} else {
			pthread_cond_wait(&l->gcond, &l->gmu);
		}
	}
	pthread_mutex_unlock(&l->gmu);
out:
	free(p.before);
	free(p.after);
	return p.ret;
}

int
ledger_batch_begin(struct ledger *l, struct berr *err)
{
	int ret = -1;

	pthread_mutex_lock(&l->mu);
	if (l->batch) {
		berr_set(err, "ledger: starting a batch: a batch is already open");
		goto out;
	}
	if (!sqlite3_get_autocommit(l->db)) {
		berr_set(err, "ledger: starting a batch: a transaction is already open");
		goto out;
	}
	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(l, err, "starting a batch");
		goto out;
	}
	l->batch = 1;
	ret = 0;
out:
	pthread_mutex_unlock(&l->mu);
	return ret;
}

int
ledger_batch_commit(struct ledger *l, struct berr *err)
{
	int ret = -1;

	pthread_mutex_lock(&l->mu);
	if (!l->batch) {
		berr_set(err, "ledger: committing a batch: no batch is open");
		goto out;
	}
	l->batch = 0;
	if (sqlite3_get_autocommit(l->db)) {
		berr_set(err, "ledger: committing a batch: the batch was rolled back by an "
			 "earlier error; its entries are lost");
		goto out;
	}
	if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(l, err, "committing a batch");
		if (!sqlite3_get_autocommit(l->db))
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&l->mu);
	return ret;
}

void
ledger_batch_rollback(struct ledger *l)
{
	pthread_mutex_lock(&l->mu);
	if (l->batch) {
		l->batch = 0;
		if (!sqlite3_get_autocommit(l->db))
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&l->mu);
}

void
ledger_actor(char *out, size_t outlen)
{
	const char *env = getenv("BERTH_ACTOR");
	char host[256] = "localhost", pwbuf[4096];
	struct passwd pw, *res = NULL;
	char uid[32];
	const char *user;

	if (env && !strcmp(env, "timer")) {
		snprintf(out, outlen, "timer");
		return;
	}
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res) {
		user = res->pw_name;
	} else {
		snprintf(uid, sizeof(uid), "uid%ld", (long)geteuid());
		user = uid;
	}
	snprintf(out, outlen, "%s@%s", user, host);
}

void
ledger_new_run_id(char out[32])
{
	unsigned char r[8];
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* No randomness: time and pid still make a unique id here. */
			struct timespec ts;
			uint64_t v;

			clock_gettime(CLOCK_REALTIME, &ts);
			v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			    ((uint64_t)getpid() << 44);
			memcpy(r, &v, sizeof(r));
			break;
		}
		got += (size_t)n;
	}
	memcpy(out, "r-", 2);
	hex_encode(r, sizeof(r), out + 2);
}
