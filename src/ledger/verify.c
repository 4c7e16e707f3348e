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
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "ledger/ledger-int.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

/*
 * The canonical JSON is written through a pointer into a buffer that
 * canonical_bound() has made big enough: verify writes a million of them,
 * so no per-piece capacity checks and no printf.
 */

/* Room for the canonical JSON of r (with any seq), prev_hash not included. */
static size_t
canonical_bound(const struct ledger_row *r)
{
	size_t n = 256;		/* keys, punctuation, nulls, seq */
	int i;

	for (i = 0; i < LEDGER_NFIELDS; i++)
		if (r->f[i])
			n += i == LEDGER_F_BEFORE || i == LEDGER_F_AFTER ? r->len[i]
									  : 6 * r->len[i] + 2;
	return n;
}

/* A JSON string as jansson's json_dumps writes it (no JSON_ENSURE_ASCII). */
static char *
put_json_string(char *p, const char *s, size_t len)
{
	static const char xd[] = "0123456789ABCDEF";
	size_t i, run = 0;

	*p++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		memcpy(p, s + run, i - run);
		p += i - run;
		run = i + 1;
		*p++ = '\\';
		switch (c) {
		case '"': *p++ = '"'; break;
		case '\\': *p++ = '\\'; break;
		case '\b': *p++ = 'b'; break;
		case '\f': *p++ = 'f'; break;
		case '\n': *p++ = 'n'; break;
		case '\r': *p++ = 'r'; break;
		case '\t': *p++ = 't'; break;
		default:
			memcpy(p, "u00", 3);
			p[3] = xd[c >> 4];
			p[4] = xd[c & 15];
			p += 5;
		}
	}
	memcpy(p, s + run, len - run);
	p += len - run;
	*p++ = '"';
	return p;
}

static char *
put_field(char *p, const char *key, size_t keylen, const struct ledger_row *r, int f,
	  int raw)
{
	memcpy(p, key, keylen);
	p += keylen;
	if (!r->f[f]) {
		memcpy(p, "null", 4);
		return p + 4;
	}
	if (!raw)
		return put_json_string(p, r->f[f], r->len[f]);
	memcpy(p, r->f[f], r->len[f]);
	return p + r->len[f];
}

#define PUT(p, key, r, f, raw) put_field(p, key, sizeof(key) - 1, r, f, raw)

/* The canonical JSON up to and including "seq": (keys in strcmp order). */
static char *
put_head(char *p, const struct ledger_row *r)
{
	p = PUT(p, "{\"action\":", r, LEDGER_F_ACTION, 0);
	p = PUT(p, ",\"actor\":", r, LEDGER_F_ACTOR, 0);
	p = PUT(p, ",\"after\":", r, LEDGER_F_AFTER, 1);
	p = PUT(p, ",\"before\":", r, LEDGER_F_BEFORE, 1);
	p = PUT(p, ",\"error\":", r, LEDGER_F_ERROR, 0);
	p = PUT(p, ",\"git_commit\":", r, LEDGER_F_GIT_COMMIT, 0);
	p = PUT(p, ",\"kind\":", r, LEDGER_F_KIND, 0);
	p = PUT(p, ",\"object\":", r, LEDGER_F_OBJECT, 0);
	p = PUT(p, ",\"result\":", r, LEDGER_F_RESULT, 0);
	p = PUT(p, ",\"run_id\":", r, LEDGER_F_RUN_ID, 0);
	memcpy(p, ",\"seq\":", 7);
	return p + 7;
}

/* seq in decimal, as jansson writes a JSON integer. */
static char *
put_int(char *p, int64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		d[--i] = '-';
	memcpy(p, d + i, sizeof(d) - i);
	return p + (sizeof(d) - i);
}

static char *
put_tail(char *p, const struct ledger_row *r, int64_t seq)
{
	p = put_int(p, seq);
	p = PUT(p, ",\"target\":", r, LEDGER_F_TARGET, 0);
	p = PUT(p, ",\"time\":", r, LEDGER_F_TIME, 0);
	*p++ = '}';
	return p;
}

/* A scratch buffer for prev_hash || canonical JSON, reused row after row. */
struct scratch {
	char *p;
	size_t cap;
};

/* Room for r's hashed bytes; returns the start. */
static char *
scratch_fit(struct scratch *sc, const struct ledger_row *r)
{
	size_t need = canonical_bound(r) + (r->prev_hash ? r->prev_hash_len : 0);

	if (need > sc->cap) {
		free(sc->p);
		sc->cap = need > 2 * sc->cap ? need : 2 * sc->cap;
		sc->p = xmalloc(sc->cap);
	}
	return sc->p;
}

/* prev_hash || canonical head, the part of the hashed bytes before seq. */
static char *
put_hashed_head(char *p, const struct ledger_row *r)
{
	if (r->prev_hash) {
		memcpy(p, r->prev_hash, r->prev_hash_len);
		p += r->prev_hash_len;
	}
	return put_head(p, r);
}

void
ledger_row_canonical(const struct ledger_row *r, int64_t seq, struct buf *out)
{
	char *t = xmalloc(canonical_bound(r)), *e;

	e = put_tail(put_head(t, r), r, seq);
	buf_add(out, t, (size_t)(e - t));
	free(t);
}

/*
 * One SHA-256 context for a whole walk: SHA256() fetches the algorithm
 * by name and sets up a context on every call, which costs about as much
 * as hashing a whole entry.
 */
struct hasher {
	EVP_MD *md;		/* NULL: fall back to EVP_sha256() per call */
	EVP_MD_CTX *ctx;
};

static void
hasher_init(struct hasher *hs)
{
	hs->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	hs->ctx = hs->md ? EVP_MD_CTX_new() : NULL;
}

static void
hasher_release(struct hasher *hs)
{
	EVP_MD_CTX_free(hs->ctx);
	EVP_MD_free(hs->md);
	hs->ctx = NULL;
	hs->md = NULL;
}

/* hs NULL (or unusable): a one-off digest. A failing digest gives no match. */
static void
hash_bytes(struct hasher *hs, const void *p, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok;

	if (hs && hs->ctx)
		ok = EVP_DigestInit_ex(hs->ctx, hs->md, NULL) &&
		     EVP_DigestUpdate(hs->ctx, p, len) &&
		     EVP_DigestFinal_ex(hs->ctx, md, &n);
	else
		ok = EVP_Digest(p, len, md, &n, EVP_sha256(), NULL);
	if (!ok || n != 32) {
		memset(out, 'x', 64);
		out[64] = '\0';
		return;
	}
	hex_encode(md, 32, out);
}

void
ledger_row_hash(const struct ledger_row *r, int64_t seq, char out[65])
{
	struct scratch sc = { NULL, 0 };
	char *t = scratch_fit(&sc, r), *e;

	e = put_tail(put_hashed_head(t, r), r, seq);
	hash_bytes(NULL, t, (size_t)(e - t), out);
	free(sc.p);
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

/* Columns 1.. in LEDGER_ROW_COLUMNS order are LEDGER_F_* in enum order. */
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

	if (sqlite3_prepare_v2(db, "SELECT " LEDGER_ROW_COLUMNS " FROM ledger WHERE seq > ?1 "
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
	struct scratch sc = { NULL, 0 };
	struct hasher hs;
	char h[65], *t, *head;
	int64_t d, k, found = 0;

	if (!r->hash || r->hash_len != 64)
		return 0;
	hasher_init(&hs);
	t = scratch_fit(&sc, r);
	head = put_hashed_head(t, r);
	for (d = 1; !found && (r->seq - d >= 1 || r->seq + d <= limit); d++) {
		int64_t cand[2] = { r->seq - d, r->seq + d };
		int i;

		for (i = 0; i < 2 && !found; i++) {
			k = cand[i];
			if (k < 1 || k > limit)
				continue;
			hash_bytes(&hs, t, (size_t)(put_tail(head, r, k) - t), h);
			if (!memcmp(h, r->hash, 64))
				found = k;
		}
	}
	hasher_release(&hs);
	free(sc.p);
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
		int zero = same_hash(r->prev_hash, r->prev_hash_len, LEDGER_ZERO_HASH);

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
		if (strcmp(want, LEDGER_ZERO_HASH)) {
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

/*
 * The fast pass: the walk for a ledger that verifies. Each entry's hash
 * is computed from its own stored bytes (its stored prev_hash included),
 * so the digests are independent of each other once the links (seq
 * follows seq, prev_hash is the stored hash before it) are checked in
 * order: this thread steps SQLite, checks the links and writes the hashed
 * bytes into chunks; a second thread hashes the chunks and compares.
 * Anything that does not verify sends verify_locked to the slow walk,
 * which finds the same first bad entry and says why.
 */
#define CHUNK_ROWS 1024
#define NCHUNKS 4

struct chunk {
	char *bytes;
	size_t cap;
	size_t end[CHUNK_ROWS];		/* end[i]: just past entry i's bytes */
	char hash[CHUNK_ROWS][64];	/* entry i's stored hash */
	int n;
};

struct pipeline {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk c[NCHUNKS];
	uint64_t queued, hashed;	/* chunk k lives in c[k % NCHUNKS] */
	int done;			/* no more chunks */
	int bad;			/* a hash did not match */
	struct hasher hs;		/* the hashing thread's */
};

/* 0 when every entry of c hashes to its stored hash. */
static int
chunk_check(const struct chunk *c, struct hasher *hs)
{
	char h[65];
	size_t start = 0;
	int i;

	for (i = 0; i < c->n; i++) {
		hash_bytes(hs, c->bytes + start, c->end[i] - start, h);
		if (memcmp(h, c->hash[i], 64))
			return -1;
		start = c->end[i];
	}
	return 0;
}

static void *
hash_thread(void *arg)
{
	struct pipeline *pl = arg;

	pthread_mutex_lock(&pl->mu);
	for (;;) {
		struct chunk *c;
		int bad;

		while (pl->hashed == pl->queued && !pl->done)
			pthread_cond_wait(&pl->cv, &pl->mu);
		if (pl->hashed == pl->queued)
			break;
		c = &pl->c[pl->hashed % NCHUNKS];
		pthread_mutex_unlock(&pl->mu);
		bad = pl->bad ? 0 : chunk_check(c, &pl->hs);
		pthread_mutex_lock(&pl->mu);
		if (bad)
			pl->bad = 1;
		pl->hashed++;
		pthread_cond_broadcast(&pl->cv);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

/*
 * Hand the filled chunk over (threaded) or hash it here; the next one to
 * fill. *bad: a hash did not match (so far).
 */
static struct chunk *
chunk_submit(struct pipeline *pl, int threaded, int *bad)
{
	struct chunk *c;

	if (!threaded) {
		c = &pl->c[0];
		if (!pl->bad && chunk_check(c, &pl->hs))
			pl->bad = 1;
		*bad = pl->bad;
		c->n = 0;
		return c;
	}
	pthread_mutex_lock(&pl->mu);
	pl->queued++;
	pthread_cond_broadcast(&pl->cv);
	while (pl->queued - pl->hashed == NCHUNKS)
		pthread_cond_wait(&pl->cv, &pl->mu);
	c = &pl->c[pl->queued % NCHUNKS];
	*bad = pl->bad;
	pthread_mutex_unlock(&pl->mu);
	c->n = 0;
	return c;
}

/*
 * 1 when every entry verifies (*head_seq, head_hash: the last one; 0 and
 * zeros when empty), 0 when one does not, -1 with err when the ledger
 * cannot be read.
 */
static int
fast_walk(sqlite3 *db, int64_t *head_seq, char head_hash[65], struct berr *err)
{
	struct pipeline pl;
	struct chunk *c;
	struct ledger_row r;
	sqlite3_stmt *st = NULL;
	pthread_t tid;
	char last[64];
	int64_t exp = 1;
	int rc, i, threaded, ret = -1, broken = 0;

	memset(&pl, 0, sizeof(pl));
	memcpy(last, LEDGER_ZERO_HASH, 64);
	if (sqlite3_prepare_v2(db, "SELECT " LEDGER_ROW_COLUMNS " FROM ledger ORDER BY seq", -1,
			       &st, NULL) != SQLITE_OK)
		return db_error(db, err, "entries");
	pthread_mutex_init(&pl.mu, NULL);
	pthread_cond_init(&pl.cv, NULL);
	hasher_init(&pl.hs);
	threaded = pthread_create(&tid, NULL, hash_thread, &pl) == 0;
	c = &pl.c[0];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t need, start;

		row_view(st, &r);
		if (r.seq != exp || !r.prev_hash || r.prev_hash_len != 64 ||
		    memcmp(r.prev_hash, last, 64) || !r.hash || r.hash_len != 64) {
			broken = 1;
			break;
		}
		start = c->n ? c->end[c->n - 1] : 0;
		need = start + 64 + canonical_bound(&r);
		if (need > c->cap) {
			c->cap = need > 2 * c->cap ? need : 2 * c->cap;
			c->bytes = xrealloc(c->bytes, c->cap);
		}
		c->end[c->n] = (size_t)(put_tail(put_hashed_head(c->bytes + start, &r), &r, r.seq) -
					c->bytes);
		memcpy(c->hash[c->n], r.hash, 64);
		memcpy(last, r.hash, 64);
		exp++;
		if (++c->n == CHUNK_ROWS) {
			c = chunk_submit(&pl, threaded, &broken);
			if (broken)
				break;
		}
	}
	if (!broken && rc != SQLITE_DONE)
		db_error(db, err, "entries");
	else
		ret = 0;
	if (c->n && !broken)
		chunk_submit(&pl, threaded, &broken);
	if (threaded) {
		pthread_mutex_lock(&pl.mu);
		pl.done = 1;
		pthread_cond_broadcast(&pl.cv);
		pthread_mutex_unlock(&pl.mu);
		pthread_join(tid, NULL);
	}
	/* Joined: pl.bad is final. */
	if (ret == 0 && !broken && !pl.bad) {
		ret = 1;
		*head_seq = exp - 1;
		memcpy(head_hash, last, 64);
		head_hash[64] = '\0';
	}
	sqlite3_finalize(st);
	hasher_release(&pl.hs);
	for (i = 0; i < NCHUNKS; i++)
		free(pl.c[i].bytes);
	pthread_cond_destroy(&pl.cv);
	pthread_mutex_destroy(&pl.mu);
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
	struct scratch sc = { NULL, 0 };
	struct hasher hs = { 0 };
	char h[65], cp_hash[65];
	int64_t cp_seq = 0;
	int rc, ret = -1, failed = 0;

	memset(res, 0, sizeof(*res));
	memcpy(res->head_hash, LEDGER_ZERO_HASH, 65);
	w.exp = 1;
	memcpy(w.prev, LEDGER_ZERO_HASH, 65);
	memcpy(w.prev_prev, LEDGER_ZERO_HASH, 65);
	if (checkpoint && parse_checkpoint(checkpoint, &cp_seq, cp_hash, err) < 0)
		return -1;
	if ((rc = fast_walk(db, &r.seq, h, err)) < 0)
		return -1;
	if (rc == 1) {
		w.exp = r.seq + 1;
		memcpy(w.prev, h, 65);
		goto walked;
	}
	/* Something does not verify: walk again, one entry at a time, to say what. */
	if (sqlite3_prepare_v2(db, "SELECT " LEDGER_ROW_COLUMNS " FROM ledger ORDER BY seq", -1,
			       &st, NULL) != SQLITE_OK) {
		db_error(db, err, "entries");
		goto out;
	}
	hasher_init(&hs);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_view(st, &r);
		if (r.seq == w.exp && same_hash(r.prev_hash, r.prev_hash_len, w.prev) &&
		    r.hash && r.hash_len == 64) {
			char *t = scratch_fit(&sc, &r);

			hash_bytes(&hs, t, (size_t)(put_tail(put_hashed_head(t, &r), &r, r.seq) - t),
				   h);
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
walked:
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
	free(sc.p);
	hasher_release(&hs);
	return ret;
}

int
ledger_verify(struct ledger *l, const char *checkpoint,
	      struct ledger_verify_result *r, struct berr *err)
{
	sqlite3 *db = ledger_sqlite(l);
	int ret;

	/*
	 * One read transaction: the walk and its diagnosis see the same ledger.
	 * Inside an open batch, the batch's transaction is that transaction.
	 */
	ledger_mutex_lock(l);
	if (!sqlite3_get_autocommit(db)) {
		ret = verify_locked(db, checkpoint, r, err);
	} else if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = db_error(db, err, "begin");
	} else {
		ret = verify_locked(db, checkpoint, r, err);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	ledger_mutex_unlock(l);
	return ret;
}
