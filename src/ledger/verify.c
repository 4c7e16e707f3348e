/*
 * verify.c - the hash chain: the canonical JSON of an entry, its hash, and
 * the walk that names the first entry that does not verify and why.
 *
 * Each entry's hash covers its seq, so an entry moved to another seq no
 * longer verifies where it is but still verifies as the seq it was written
 * as: that is how reordering, renumbering after a deletion and insertion
 * with renumbering are told apart from an edit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <sqlite3.h>

#include "ledger/ledger.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char zero_hash[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* A JSON string as jansson's json_dumps writes it (no JSON_ENSURE_ASCII). */
static void
add_json_string(struct buf *out, const char *s, size_t len)
{
	size_t i, run = 0;

	buf_addch(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			snprintf(u, sizeof(u), "\\u%04X", (unsigned)c);
			esc = u;
		}
		buf_addstr(out, esc);
	}
	buf_add(out, s + run, len - run);
	buf_addch(out, '"');
}

static void
add_field(struct buf *out, const char *key, const struct ledger_row *r, int f, int raw)
{
	buf_addstr(out, key);
	if (!r->f[f])
		buf_addstr(out, "null");
	else if (raw)
		buf_add(out, r->f[f], r->len[f]);
	else
		add_json_string(out, r->f[f], r->len[f]);
}

/* The canonical JSON up to and including "seq": (keys in strcmp order). */
static void
canonical_head(const struct ledger_row *r, struct buf *out)
{
	add_field(out, "{\"action\":", r, LEDGER_F_ACTION, 0);
	add_field(out, ",\"actor\":", r, LEDGER_F_ACTOR, 0);
	add_field(out, ",\"after\":", r, LEDGER_F_AFTER, 1);
	add_field(out, ",\"before\":", r, LEDGER_F_BEFORE, 1);
	add_field(out, ",\"error\":", r, LEDGER_F_ERROR, 0);
	add_field(out, ",\"git_commit\":", r, LEDGER_F_GIT_COMMIT, 0);
	add_field(out, ",\"kind\":", r, LEDGER_F_KIND, 0);
	add_field(out, ",\"object\":", r, LEDGER_F_OBJECT, 0);
	add_field(out, ",\"result\":", r, LEDGER_F_RESULT, 0);
	add_field(out, ",\"run_id\":", r, LEDGER_F_RUN_ID, 0);
	buf_addstr(out, ",\"seq\":");
}

static void
canonical_tail(const struct ledger_row *r, int64_t seq, struct buf *out)
{
	buf_addf(out, "%" PRId64, seq);
	add_field(out, ",\"target\":", r, LEDGER_F_TARGET, 0);
	add_field(out, ",\"time\":", r, LEDGER_F_TIME, 0);
	buf_addch(out, '}');
}

void
ledger_row_canonical(const struct ledger_row *r, int64_t seq, struct buf *out)
{
	canonical_head(r, out);
	canonical_tail(r, seq, out);
}

static void
hex(const unsigned char *md, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

static void
hash_buf(const struct buf *b, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)b->buf, b->len, md);
	hex(md, out);
}

/* prev_hash || canonical head, the part of the hashed bytes before seq. */
static void
hashed_head(const struct ledger_row *r, struct buf *out)
{
	if (r->prev_hash)
		buf_add(out, r->prev_hash, r->prev_hash_len);
	canonical_head(r, out);
}

void
ledger_row_hash(const struct ledger_row *r, int64_t seq, char out[65])
{
	struct buf b = BUF_INIT;

	hashed_head(r, &b);
	canonical_tail(r, seq, &b);
	hash_buf(&b, out);
	buf_release(&b);
}

/* A row read from the database, owning its text. */
struct owned_row {
	struct ledger_row r;
	char *text[LEDGER_NFIELDS + 2];
};

static char *
col_dup(sqlite3_stmt *st, int col, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);
	char *p;

	*len = 0;
	if (!t)
		return NULL;
	p = xmalloc((size_t)n + 1);
	memcpy(p, t, (size_t)n);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

#define ROW_COLUMNS "seq, time, actor, run_id, git_commit, kind, target, object, " \
	"action, before, after, result, error, prev_hash, hash"

/* Columns 1.. in ROW_COLUMNS order are LEDGER_F_* in enum order. */
static void
row_view(sqlite3_stmt *st, struct ledger_row *r)
{
	int i;

	r->seq = sqlite3_column_int64(st, 0);
	for (i = 0; i < LEDGER_NFIELDS; i++) {
		r->f[i] = (const char *)sqlite3_column_text(st, i + 1);
		r->len[i] = (size_t)sqlite3_column_bytes(st, i + 1);
	}
	r->prev_hash = (const char *)sqlite3_column_text(st, 13);
	r->prev_hash_len = (size_t)sqlite3_column_bytes(st, 13);
	r->hash = (const char *)sqlite3_column_text(st, 14);
	r->hash_len = (size_t)sqlite3_column_bytes(st, 14);
}

static void
row_own(sqlite3_stmt *st, struct owned_row *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->r.seq = sqlite3_column_int64(st, 0);
	for (i = 0; i < LEDGER_NFIELDS; i++)
		o->r.f[i] = o->text[i] = col_dup(st, i + 1, &o->r.len[i]);
	o->r.prev_hash = o->text[LEDGER_NFIELDS] = col_dup(st, 13, &o->r.prev_hash_len);
	o->r.hash = o->text[LEDGER_NFIELDS + 1] = col_dup(st, 14, &o->r.hash_len);
}

static void
row_release(struct owned_row *o)
{
	int i;

	for (i = 0; i < LEDGER_NFIELDS + 2; i++)
		free(o->text[i]);
	memset(o, 0, sizeof(*o));
}

static int
same_hash(const char *stored, size_t len, const char *h)
{
	return stored && len == 64 && !memcmp(stored, h, 64);
}

static int
db_error(sqlite3 *db, struct berr *err, const char *what)
{
	return berr_set(err, "cannot read the ledger (%s): %s", what, sqlite3_errmsg(db));
}

/* Load the first row with seq > after into o: 1 found, 0 none, -1 error. */
static int
load_row_after(sqlite3 *db, int64_t after, struct owned_row *o, struct berr *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db, "SELECT " ROW_COLUMNS " FROM ledger WHERE seq > ?1 "
			       "ORDER BY seq LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		db_error(db, err, "next entry");
		goto out;
	}
	sqlite3_bind_int64(st, 1, after);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_own(st, o);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		db_error(db, err, "next entry");
	}
out:
	sqlite3_finalize(st);
	return ret;
}

/* The seq of an entry other than not_seq whose hash is h: 1 found, 0 none, -1 error. */
static int
find_hash(sqlite3 *db, const char *h, size_t len, int64_t not_seq, int64_t *seq,
	  struct berr *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (!h)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT seq FROM ledger WHERE hash = ?1 AND seq <> ?2 "
			       "ORDER BY seq LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		db_error(db, err, "hash lookup");
		goto out;
	}
	sqlite3_bind_text(st, 1, h, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, not_seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		db_error(db, err, "hash lookup");
	}
out:
	sqlite3_finalize(st);
	return ret;
}

static int
max_seq(sqlite3 *db, int64_t *out, struct berr *err)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM ledger", -1, &st,
			       NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		db_error(db, err, "last entry");
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * The seq other than r->seq the entry r was written as (its hash verifies
 * with that seq), searching outward from r->seq up to limit; 0 when none.
 */
static int64_t
written_as(const struct ledger_row *r, int64_t limit)
{
	struct buf b = BUF_INIT;
	char h[65];
	size_t head;
	int64_t d, k, found = 0;

	if (!r->hash || r->hash_len != 64)
		return 0;
	hashed_head(r, &b);
	head = b.len;
	for (d = 1; !found && (r->seq - d >= 1 || r->seq + d <= limit); d++) {
		int64_t cand[2] = { r->seq - d, r->seq + d };
		int i;

		for (i = 0; i < 2 && !found; i++) {
			k = cand[i];
			if (k < 1 || k > limit)
				continue;
			buf_setlen(&b, head);
			canonical_tail(r, k, &b);
			hash_buf(&b, h);
			if (!memcmp(h, r->hash, 64))
				found = k;
		}
	}
	buf_release(&b);
	return found;
}

struct walk {
	int64_t exp;		/* the seq the next entry must have */
	char prev[65];		/* hash of entry exp - 1 (zeros before 1) */
	char prev_prev[65];	/* hash of entry exp - 2 */
};

static void
set_bad(struct ledger_verify_result *res, int64_t bad, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_bad(struct ledger_verify_result *res, int64_t bad, const char *fmt, ...)
{
	va_list ap;

	res->ok = 0;
	res->bad_seq = bad;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
	snprintf(res->msg, sizeof(res->msg), "entry %" PRId64 " does not verify: %s",
		 bad, res->why);
}

/* An entry before the walk's position turned out to be the bad one. */
static void
step_back(struct ledger_verify_result *res, const struct walk *w)
{
	res->head_seq = w->exp - 2;
	memcpy(res->head_hash, w->prev_prev, 65);
}

/* Say why the entry r, the first that does not verify, does not. */
static int
classify(sqlite3 *db, const struct walk *w, const struct owned_row *o,
	 struct ledger_verify_result *res, struct berr *err)
{
	const struct ledger_row *r = &o->r;
	struct owned_row next = { 0 };
	char h[65];
	int64_t m, k, limit;
	int f, ret = -1;

	if (r->seq < 1) {
		set_bad(res, r->seq, "inserted (seqs start at 1)");
		return 0;
	}
	if (r->seq != w->exp) {
		if (r->seq == w->exp + 1)
			set_bad(res, r->seq, "deleted (seq %" PRId64 " is missing)", w->exp);
		else
			set_bad(res, r->seq, "deleted (seqs %" PRId64 " to %" PRId64 " are missing)",
				w->exp, r->seq - 1);
		return 0;
	}
	if ((f = find_hash(db, r->hash, r->hash_len, r->seq, &m, err)) < 0)
		return -1;
	if (f) {
		set_bad(res, r->seq, "inserted (a copy of entry %" PRId64 ")", m);
		return 0;
	}
	ledger_row_hash(r, r->seq, h);
	if (same_hash(r->hash, r->hash_len, h)) {
		/* Intact, but it does not follow the entry before it. */
		if ((f = find_hash(db, r->prev_hash, r->prev_hash_len, r->seq, &m, err)) < 0)
			return -1;
		if (f && m == r->seq - 2) {
			step_back(res, w);
			set_bad(res, r->seq - 1, "inserted (entry %" PRId64 " follows entry %" PRId64 ")",
				r->seq, m);
		} else if (f) {
			set_bad(res, r->seq, "reordered (its prev_hash is the hash of entry %" PRId64
				", not of entry %" PRId64 ")", m, r->seq - 1);
		} else {
			set_bad(res, r->seq, "inserted (its prev_hash matches no entry)");
		}
		return 0;
	}
	if (max_seq(db, &limit, err) < 0)
		return -1;
	if (limit < r->seq)
		limit = r->seq;
	if ((k = written_as(r, limit + 1))) {
		/* Intact, but written as seq k. */
		int zero = same_hash(r->prev_hash, r->prev_hash_len, zero_hash);

		if ((f = find_hash(db, r->prev_hash, r->prev_hash_len, r->seq, &m, err)) < 0)
			return -1;
		if (k == r->seq - 1 && r->seq >= 2 &&
		    same_hash(r->prev_hash, r->prev_hash_len, w->prev_prev)) {
			step_back(res, w);
			set_bad(res, r->seq - 1, "inserted (entry %" PRId64 " was written as seq %"
				PRId64 " and follows entry %" PRId64 ")", r->seq, k, r->seq - 2);
		} else if (!f && !(zero && k == 1)) {
			set_bad(res, r->seq, "deleted (it was written as seq %" PRId64 " and the "
				"entry before it is missing: the later entries were renumbered)", k);
		} else {
			res->ok = 0;
			res->bad_seq = r->seq;
			snprintf(res->why, sizeof(res->why), "reordered (seq %" PRId64 " holds the "
				 "entry written as seq %" PRId64 ")", r->seq, k);
			snprintf(res->msg, sizeof(res->msg), "entries %" PRId64 " and %" PRId64
				 " are reordered (seq %" PRId64 " holds the entry written as seq %"
				 PRId64 ")", r->seq < k ? r->seq : k, r->seq < k ? k : r->seq,
				 r->seq, k);
		}
		return 0;
	}
	/* Not intact anywhere: forged in place, or edited. */
	if ((f = load_row_after(db, r->seq, &next, err)) < 0)
		goto out;
	if (f && next.r.seq == r->seq + 1 &&
	    same_hash(next.r.prev_hash, next.r.prev_hash_len, w->prev)) {
		ledger_row_hash(&next.r, r->seq, h);
		if (same_hash(next.r.hash, next.r.hash_len, h)) {
			set_bad(res, r->seq, "inserted (entry %" PRId64 " was written as seq %" PRId64
				" and follows entry %" PRId64 ")", next.r.seq, r->seq, r->seq - 1);
			ret = 0;
			goto out;
		}
	}
	if (same_hash(r->prev_hash, r->prev_hash_len, w->prev)) {
		set_bad(res, r->seq, "edited (its hash does not match its contents)");
	} else {
		if ((f = find_hash(db, r->prev_hash, r->prev_hash_len, r->seq, &m, err)) < 0)
			goto out;
		if (f)
			set_bad(res, r->seq, "edited (its hash does not match its contents and its "
				"prev_hash is the hash of entry %" PRId64 ")", m);
		else
			set_bad(res, r->seq, "inserted (its prev_hash matches no entry)");
	}
	ret = 0;
out:
	row_release(&next);
	return ret;
}

static int
parse_checkpoint(const char *cp, int64_t *seq, char hash[65], struct berr *err)
{
	const char *colon = strchr(cp, ':');
	char *end;
	long long v;
	int i;

	if (!colon || colon == cp || strlen(colon + 1) != 64)
		goto bad;
	errno = 0;
	v = strtoll(cp, &end, 10);
	if (errno || end != colon || v < 0 || *cp == '-' || *cp == '+')
		goto bad;
	for (i = 0; i < 64; i++) {
		char c = colon[1 + i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			goto bad;
		hash[i] = c;
	}
	hash[64] = '\0';
	*seq = v;
	return 0;
bad:
	return berr_set(err, "checkpoint: want SEQ:HASH (a number, a colon and 64 hex "
			"digits, as `berth ledger checkpoint` prints), have \"%s\"", cp);
}

static int
check_checkpoint(sqlite3 *db, int64_t seq, const char *want,
		 struct ledger_verify_result *res, struct berr *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (seq == 0) {
		if (strcmp(want, zero_hash)) {
			res->ok = 0;
			snprintf(res->why, sizeof(res->why), "rewritten (the checkpoint of seq 0 "
				 "must be 64 zeros)");
			snprintf(res->msg, sizeof(res->msg), "the checkpoint does not verify: %s",
				 res->why);
		}
		return 0;
	}
	if (seq > res->head_seq) {
		set_bad(res, seq, "deleted (the ledger ends at seq %" PRId64 ", the checkpoint "
			"names seq %" PRId64 ")", res->head_seq, seq);
		return 0;
	}
	if (sqlite3_prepare_v2(db, "SELECT hash FROM ledger WHERE seq = ?1", -1, &st,
			       NULL) != SQLITE_OK) {
		db_error(db, err, "checkpoint");
		goto out;
	}
	sqlite3_bind_int64(st, 1, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);

		if (!same_hash(h, (size_t)sqlite3_column_bytes(st, 0), want)) {
			res->ok = 0;
			res->bad_seq = seq;
			snprintf(res->why, sizeof(res->why), "rewritten (its hash is %.64s, the "
				 "checkpoint says %s)", h ? h : "", want);
			snprintf(res->msg, sizeof(res->msg), "entry %" PRId64 " does not match the "
				 "checkpoint: %s", seq, res->why);
		}
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		set_bad(res, seq, "deleted (seq %" PRId64 " is missing)", seq);
		ret = 0;
	} else {
		db_error(db, err, "checkpoint");
	}
out:
	sqlite3_finalize(st);
	return ret;
}

static int
verify_locked(sqlite3 *db, const char *checkpoint, struct ledger_verify_result *res,
	      struct berr *err)
{
	sqlite3_stmt *st = NULL;
	struct ledger_row r;
	struct owned_row bad = { 0 };
	struct walk w;
	struct buf b = BUF_INIT;
	char h[65], cp_hash[65];
	int64_t cp_seq = 0;
	int rc, ret = -1, failed = 0;

	memset(res, 0, sizeof(*res));
	memcpy(res->head_hash, zero_hash, 65);
	w.exp = 1;
	memcpy(w.prev, zero_hash, 65);
	memcpy(w.prev_prev, zero_hash, 65);
	if (checkpoint && parse_checkpoint(checkpoint, &cp_seq, cp_hash, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT " ROW_COLUMNS " FROM ledger ORDER BY seq", -1,
			       &st, NULL) != SQLITE_OK) {
		db_error(db, err, "entries");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_view(st, &r);
		if (r.seq == w.exp && same_hash(r.prev_hash, r.prev_hash_len, w.prev) &&
		    r.hash && r.hash_len == 64) {
			buf_reset(&b);
			buf_add(&b, r.prev_hash, 64);
			ledger_row_canonical(&r, r.seq, &b);
			hash_buf(&b, h);
			if (!memcmp(h, r.hash, 64)) {
				memcpy(w.prev_prev, w.prev, 65);
				memcpy(w.prev, h, 65);
				w.exp++;
				continue;
			}
		}
		row_own(st, &bad);
		failed = 1;
		break;
	}
	if (!failed && rc != SQLITE_DONE) {
		db_error(db, err, "entries");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	res->ok = 1;
	res->head_seq = w.exp - 1;
	memcpy(res->head_hash, w.prev, 65);
	if (failed) {
		if (classify(db, &w, &bad, res, err) < 0)
			goto out;
	} else if (checkpoint) {
		if (check_checkpoint(db, cp_seq, cp_hash, res, err) < 0)
			goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	row_release(&bad);
	buf_release(&b);
	return ret;
}

int
ledger_verify(struct ledger *l, const char *checkpoint,
	      struct ledger_verify_result *r, struct berr *err)
{
	int ret;

	/* One read transaction: the walk and its diagnosis see the same ledger. */
	ledger_mutex_lock(l);
	if (sqlite3_exec(ledger_sqlite(l), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = db_error(ledger_sqlite(l), err, "begin");
	} else {
		ret = verify_locked(ledger_sqlite(l), checkpoint, r, err);
		sqlite3_exec(ledger_sqlite(l), "ROLLBACK", NULL, NULL, NULL);
	}
	ledger_mutex_unlock(l);
	return ret;
}
