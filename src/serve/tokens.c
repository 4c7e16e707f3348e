/*
 * tokens.c - the admin API's bearer tokens (tokens.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "ledger/ledger.h"
#include "serve/tokens.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/statedb.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define HEADER_MAX	1024	/* an Authorization value longer is no token of ours */
#define ID_HEX		16
#define SECRET_HEX	64

const char *
token_role_name(enum token_role r)
{
	return r == TOKEN_PROVIDER ? "provider" : "admin";
}

const char *
token_verdict_name(enum token_verdict v)
{
	switch (v) {
	case TOKEN_OK: return "ok";
	case TOKEN_MISSING: return "missing";
	case TOKEN_NOT_BEARER: return "not bearer";
	case TOKEN_UNKNOWN: return "unknown";
	case TOKEN_REVOKED: return "revoked";
	case TOKEN_STORE_ERROR: return "store error";
	}
	return "?";
}

int
token_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n > TOKEN_NAME_MAX)
		return 0;
	for (; *name; name++)
		if ((unsigned char)*name < 0x20 || (unsigned char)*name > 0x7e)
			return 0;
	return 1;
}

/* A DNS label, as manifests name providers. */
static int
label_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > TOKEN_PROVIDER_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The SHA-256 of the token's text. */
static void
token_digest(const char *token, size_t len, unsigned char digest[32])
{
	SHA256((const unsigned char *)token, len, digest);
}

/* ---- parsing what a client sends ---------------------------------------- */

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

enum token_verdict
token_parse_header(const char *value, size_t len, char id[TOKEN_ID_LEN + 1],
		   unsigned char digest[32])
{
	const char *p, *end;

	if (!value)
		return TOKEN_MISSING;
	if (len > HEADER_MAX)
		return TOKEN_UNKNOWN;
	end = value + len;
	while (end > value && blank(end[-1]))
		end--;
	p = value;
	while (p < end && blank(*p))
		p++;
	if (end - p < 7 || strncasecmp(p, "bearer", 6) || p[6] != ' ')
		return TOKEN_NOT_BEARER;
	p += 6;
	while (p < end && p[0] == ' ')
		p++;
	if (p == end)
		return TOKEN_NOT_BEARER;
	if (end - p != TOKEN_LEN || memcmp(p, TOKEN_PREFIX, 6) ||
	    !is_hex(p + 6, ID_HEX) || p[6 + ID_HEX] != '_' ||
	    !is_hex(p + 7 + ID_HEX, SECRET_HEX))
		return TOKEN_UNKNOWN;
	memcpy(id, "t-", 2);
	memcpy(id + 2, p + 6, ID_HEX);
	id[TOKEN_ID_LEN] = '\0';
	token_digest(p, TOKEN_LEN, digest);
	return TOKEN_OK;
}

int
token_in_query(const char *key, const char *value)
{
	static const char *const keys[] = { "access_token", "token", "bearer", "authorization" };
	size_t i;

	for (i = 0; key && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcasecmp(key, keys[i]))
			return 1;
	if (key && !strncmp(key, TOKEN_PREFIX, strlen(TOKEN_PREFIX)))
		return 1;	/* "?berth_..." without a value */
	return value && (!strncmp(value, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) ||
			 !strncasecmp(value, "bearer ", 7));
}

/* ---- the rows ------------------------------------------------------------ */

#define TOKEN_COLUMNS "id, role, provider, name, created, created_by, revoked, hash"

static int
db_fail(sqlite3 *db, struct berr *err, const char *what)
{
	return berr_set(err, "state database: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void
copy_col(sqlite3_stmt *st, int col, char *out, size_t n)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	snprintf(out, n, "%s", v ? (const char *)v : "");
}

/* A row of TOKEN_COLUMNS into t, and its hash into hash (when not NULL). */
static void
row_info(sqlite3_stmt *st, struct token_info *t, char hash[65])
{
	const unsigned char *role = sqlite3_column_text(st, 1);

	memset(t, 0, sizeof(*t));
	copy_col(st, 0, t->id, sizeof(t->id));
	t->role = role && !strcmp((const char *)role, "provider") ? TOKEN_PROVIDER : TOKEN_ADMIN;
	copy_col(st, 2, t->provider, sizeof(t->provider));
	copy_col(st, 3, t->name, sizeof(t->name));
	copy_col(st, 4, t->created, sizeof(t->created));
	copy_col(st, 5, t->created_by, sizeof(t->created_by));
	copy_col(st, 6, t->revoked, sizeof(t->revoked));
	if (hash)
		copy_col(st, 7, hash, 65);
}

/* The row of id into *t: 1 found, 0 not, -1 with err. */
static int
get_row(sqlite3 *db, const char *id, struct token_info *t, struct berr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT " TOKEN_COLUMNS " FROM api_token WHERE id = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "reading api_token (is the database migrated?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_info(st, t, NULL);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, err, "reading api_token");
	return rc == SQLITE_ROW;
}

static json_t *
info_json(const struct token_info *t)
{
	return json_pack("{s:s, s:s, s:s?, s:s}", "id", t->id, "role", token_role_name(t->role),
			 "provider", t->role == TOKEN_PROVIDER ? t->provider : NULL, "name", t->name);
}

static int
record(struct ledger *l, const char *kind, const struct token_info *t, const char *result,
       const char *error, struct berr *err)
{
	struct ledger_entry e = { 0 };
	char object[TOKEN_ID_LEN + 8];
	json_t *v = info_json(t);
	int ret;

	snprintf(object, sizeof(object), "token/%s", t->id);
	e.kind = kind;
	e.object = object;
	e.action = !strcmp(kind, "token.create") ? "create" : "revoke";
	if (!strcmp(kind, "token.create"))
		e.after = v;
	else
		e.before = v;
	e.result = result;
	e.error = error;
	ret = ledger_append(l, &e, err);
	json_decref(v);
	return ret;
}

int
token_create(struct ledger *l, const char *state_dir, enum token_role role,
	     const char *provider, const char *name, char token[TOKEN_LEN + 1],
	     struct token_info *info, struct berr *err)
{
	unsigned char rnd[8 + 32], digest[32];
	char idhex[2 * 8 + 1], secret[2 * 32 + 1], hash[65];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct berr rerr;
	int ret = -1;

	memset(info, 0, sizeof(*info));
	token[0] = '\0';
	if (role == TOKEN_PROVIDER && (!provider || !label_valid(provider)))
		return berr_set(err, "--provider: want a provider's name (a DNS label like "
				"acme), have \"%s\"", provider ? provider : "");
	if (role == TOKEN_ADMIN && provider)
		return berr_set(err, "an admin token has no provider");
	if (!token_name_valid(name))
		return berr_set(err, "--name: want 1 to %d printable ASCII characters, have \"%s\"",
				TOKEN_NAME_MAX, name ? name : "");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return berr_set(err, "cannot make a token: no random bytes from OpenSSL");
	hex_encode(rnd, 8, idhex);
	hex_encode(rnd + 8, 32, secret);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	snprintf(token, TOKEN_LEN + 1, TOKEN_PREFIX "%s_%s", idhex, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	token_digest(token, TOKEN_LEN, digest);
	hex_encode(digest, sizeof(digest), hash);

	snprintf(info->id, sizeof(info->id), "t-%s", idhex);
	info->role = role;
	snprintf(info->provider, sizeof(info->provider), "%s", provider ? provider : "");
	snprintf(info->name, sizeof(info->name), "%s", name);
	clock_format(clock_now_ms(), 1, info->created, sizeof(info->created));
	ledger_actor(info->created_by, sizeof(info->created_by));

	/* The record first: no token works without its entry in the ledger. */
	if (record(l, "token.create", info, "ok", NULL, err) < 0)
		goto out;
	if (statedb_open(state_dir, 0, &db, err) < 0)
		goto unstored;
	if (sqlite3_prepare_v2(db, "INSERT INTO api_token (" TOKEN_COLUMNS ") VALUES "
			       "(?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)", -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "storing the token (is the database migrated?)");
		goto unstored;
	}
	sqlite3_bind_text(st, 1, info->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token_role_name(role), -1, SQLITE_STATIC);
	if (role == TOKEN_PROVIDER)
		sqlite3_bind_text(st, 3, info->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, info->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, info->created, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, info->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_fail(db, err, "storing the token");
		goto unstored;
	}
	ret = 0;
	goto out;
unstored:
	record(l, "token.revoke", info, "failed", err->msg, &rerr);
out:
	if (ret < 0)
		OPENSSL_cleanse(token, TOKEN_LEN + 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

int
token_list(const char *state_dir, int (*fn)(void *ctx, const struct token_info *t), void *ctx,
	   struct berr *err)
{
	struct token_info t;
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (statedb_open_ro(state_dir, "api_token", &db, err) < 0)
		return -1;
	if (!db)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT " TOKEN_COLUMNS " FROM api_token ORDER BY created, id",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "reading api_token");
		sqlite3_close(db);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_info(st, &t, NULL);
		if (fn(ctx, &t))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_fail(db, err, "reading api_token");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

int
token_revoke(struct ledger *l, const char *state_dir, const char *id_arg,
	     struct token_info *info, struct berr *err)
{
	const char *id;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char now[32], want[TOKEN_ID_LEN + 1];
	int ret = -1, r;

	if (strlen(id_arg) != TOKEN_ID_LEN || strncmp(id_arg, "t-", 2) ||
	    !is_hex(id_arg + 2, ID_HEX))
		return berr_set(err, "want a token's id like t-1f2e3d4c5b6a7988 (berth token "
				"list), have \"%.100s\"", id_arg);
	/* id may be info's own */
	memcpy(want, id_arg, sizeof(want));
	id = want;
	memset(info, 0, sizeof(*info));
	if (statedb_open(state_dir, 0, &db, err) < 0)
		return -1;
	clock_format(clock_now_ms(), 1, now, sizeof(now));
	/* The row first: the token stops working before anything else happens. */
	if (sqlite3_prepare_v2(db, "UPDATE api_token SET revoked = ?2 WHERE id = ?1 AND "
			       "revoked IS NULL", -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, "revoking the token (is the database migrated?)");
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_fail(db, err, "revoking the token");
		goto out;
	}
	r = sqlite3_changes(db);
	if (get_row(db, id, info, err) < 0)
		goto out;
	if (!info->id[0]) {
		berr_set(err, "no token %s (berth token list shows them)", id);
		goto out;
	}
	if (!r) {
		ret = 1;
		goto out;
	}
	if (record(l, "token.revoke", info, "ok", NULL, err) < 0) {
		berr_prefix(err, "token %s is revoked, but the ledger has no entry of it", id);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

/* ---- checking requests --------------------------------------------------- */

struct token_store {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *get, *active;
};

int
token_store_open(const char *state_dir, struct token_store **out, struct berr *err)
{
	struct token_store *s = xcalloc(1, sizeof(*s));

	*out = NULL;
	pthread_mutex_init(&s->mu, NULL);
	if (statedb_open(state_dir, 1, &s->db, err) < 0)
		goto fail;
	if (sqlite3_prepare_v3(s->db, "SELECT " TOKEN_COLUMNS " FROM api_token WHERE id = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &s->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "SELECT count(*) FROM api_token WHERE revoked IS NULL", -1,
			       SQLITE_PREPARE_PERSISTENT, &s->active, NULL) != SQLITE_OK) {
		db_fail(s->db, err, "reading api_token (is the database migrated?)");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	token_store_close(s);
	return -1;
}

void
token_store_close(struct token_store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->get);
	sqlite3_finalize(s->active);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

enum token_verdict
token_check(struct token_store *s, const char *header, struct token_info *who)
{
	unsigned char digest[32];
	char id[TOKEN_ID_LEN + 1], want[65], have[65];
	enum token_verdict v;
	int rc;

	memset(who, 0, sizeof(*who));
	v = token_parse_header(header, header ? strlen(header) : 0, id, digest);
	if (v != TOKEN_OK)
		return v;
	hex_encode(digest, sizeof(digest), have);
	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(s->get, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s->get);
	if (rc == SQLITE_ROW)
		row_info(s->get, who, want);
	/* Reset at once: the read ends, the next check sees newer commits. */
	sqlite3_reset(s->get);
	sqlite3_clear_bindings(s->get);
	pthread_mutex_unlock(&s->mu);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		v = TOKEN_STORE_ERROR;
	else if (rc == SQLITE_DONE || strlen(want) != 64 || CRYPTO_memcmp(want, have, 64) != 0)
		v = TOKEN_UNKNOWN;
	else if (who->revoked[0])
		v = TOKEN_REVOKED;
	if (v != TOKEN_OK && v != TOKEN_REVOKED)
		memset(who, 0, sizeof(*who));
	OPENSSL_cleanse(digest, sizeof(digest));
	return v;
}

int
token_store_active(struct token_store *s, long *n, struct berr *err)
{
	int rc, ret = 0;

	pthread_mutex_lock(&s->mu);
	rc = sqlite3_step(s->active);
	if (rc == SQLITE_ROW)
		*n = (long)sqlite3_column_int64(s->active, 0);
	else
		ret = db_fail(s->db, err, "counting api_token");
	sqlite3_reset(s->active);
	pthread_mutex_unlock(&s->mu);
	return ret;
}
