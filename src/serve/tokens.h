/*
 * tokens.h - the bearer tokens of `berth serve`'s admin API: making,
 * listing and revoking them (`berth token`), and checking the one a
 * request carries.
 *
 * A token is 87 characters: "berth_", the 16 hex digits of its id, "_",
 * and 64 hex digits of 32 random bytes:
 *
 *   berth_1f2e3d4c5b6a7988_9c0e...(64 hex digits)
 *
 * Its id is "t-" and those 16 digits ("t-1f2e3d4c5b6a7988"): what
 * `berth token list` shows and `berth token revoke` takes. It is shown
 * once, when it is made; the state database (table api_token,
 * state/004-api-tokens.sql) keeps its id, role, provider, name, who made
 * it and when, and the SHA-256 of the whole token, never the token. A
 * request's token is looked up by its id, then the SHA-256 of what was
 * sent is compared with the stored one in constant time (CRYPTO_memcmp).
 *
 * Roles: an admin token sees everything; a provider token only what
 * belongs to its provider (serve/scope.h). Making and revoking a token
 * are ledger entries (ledger.h), never holding the token:
 *   token.create  object "token/<id>", action "create", result "ok",
 *                 after {"id", "role", "provider" (or null), "name"}
 *   token.revoke  object "token/<id>", action "revoke", result "ok",
 *                 before as token.create's after; and, when a token
 *                 recorded made could not be stored, result "failed" with
 *                 the error (that token never worked).
 */
#ifndef BERTH_SERVE_TOKENS_H
#define BERTH_SERVE_TOKENS_H

#include <stddef.h>

#include "util/err.h"

struct ledger;

#define TOKEN_PREFIX		"berth_"
#define TOKEN_LEN		87	/* "berth_" + 16 + "_" + 64 */
#define TOKEN_ID_LEN		18	/* "t-" + 16 hex digits */
#define TOKEN_NAME_MAX		64
#define TOKEN_PROVIDER_MAX	63	/* a DNS label */

enum token_role {
	TOKEN_ADMIN,
	TOKEN_PROVIDER,
};

/* "admin", "provider". */
const char *token_role_name(enum token_role r);

struct token_info {
	char id[TOKEN_ID_LEN + 1];
	enum token_role role;
	char provider[TOKEN_PROVIDER_MAX + 1];	/* "" for an admin token */
	char name[TOKEN_NAME_MAX + 1];
	char created[32];			/* UTC, with milliseconds */
	char created_by[300];
	char revoked[32];			/* "" while it works */
};

/*
 * A name for people: 1 to TOKEN_NAME_MAX printable ASCII characters.
 * 1 when name is one.
 */
int token_name_valid(const char *name);

/*
 * Make a token of role (provider: its provider, a DNS label; NULL for an
 * admin token) named name: the ledger entry token.create on l first, then
 * the row. The token into token (NUL-terminated), what is kept of it into
 * *info. -1 with err (a bad provider or name, the database); when the
 * row cannot be stored after the entry was appended, a token.revoke
 * entry with result "failed" says so (best effort) and the token is not
 * handed out.
 */
int token_create(struct ledger *l, const char *state_dir, enum token_role role,
		 const char *provider, const char *name, char token[TOKEN_LEN + 1],
		 struct token_info *info, struct berr *err);

/*
 * Every token made, revoked ones included, in the order they were made:
 * fn(ctx, t) for each (t is lent for the call); fn returns non-zero to
 * stop. Nothing when the database or its table does not exist yet. -1
 * with err when it cannot be read.
 */
int token_list(const char *state_dir,
	       int (*fn)(void *ctx, const struct token_info *t), void *ctx,
	       struct berr *err);

/*
 * Revoke the token id: from the next request on, it is refused. The row
 * first, then the ledger entry token.revoke on l. 0 when revoked now, 1
 * when it was revoked already (nothing recorded), both with *info; -1
 * with err for an id no token has ("no token t-..."), or the database.
 */
int token_revoke(struct ledger *l, const char *state_dir, const char *id,
		 struct token_info *info, struct berr *err);

/* What a request's Authorization header comes to (token_check()). */
enum token_verdict {
	TOKEN_OK,
	TOKEN_MISSING,		/* no Authorization header */
	TOKEN_NOT_BEARER,	/* a header, but not "Bearer TOKEN" */
	TOKEN_UNKNOWN,		/* not a token berth made, or not the one
				   stored under its id */
	TOKEN_REVOKED,		/* the token stored under its id, revoked */
	TOKEN_STORE_ERROR,	/* the database cannot be read */
};

/* "missing", "not bearer", "unknown", "revoked", ...: for messages. */
const char *token_verdict_name(enum token_verdict v);

/*
 * Parse an Authorization header's value (untrusted input; NULL: none):
 * "Bearer" (any case), one or more spaces, a token of the form above,
 * optional trailing blanks. TOKEN_OK with the id and the SHA-256 of the
 * token, TOKEN_MISSING, TOKEN_NOT_BEARER (another scheme, or no token),
 * or TOKEN_UNKNOWN (a bearer token that cannot be one of berth's).
 */
enum token_verdict token_parse_header(const char *value, size_t len,
				      char id[TOKEN_ID_LEN + 1],
				      unsigned char digest[32]);

/*
 * Is the query argument key=value (untrusted; value may be NULL) a token
 * sent in a URL? Keys access_token, token, bearer and authorization (any
 * case), and any value that starts with "berth_" or "Bearer ": 1. Such a
 * request is refused whatever its header says: URLs end up in logs and
 * browser histories.
 */
int token_in_query(const char *key, const char *value);

/*
 * The checker of a running server: one read-only connection to the state
 * database, read on every check, so a token made or revoked by another
 * process counts from the next request on. Thread-safe (one check at a
 * time). Caller frees with token_store_close(), which accepts NULL.
 */
struct token_store;
int token_store_open(const char *state_dir, struct token_store **out,
		     struct berr *err);
void token_store_close(struct token_store *s);

/*
 * Check the Authorization header value header (NULL: none): TOKEN_OK with
 * *who filled, or why not. A token whose id is known but whose SHA-256
 * differs is TOKEN_UNKNOWN, never TOKEN_REVOKED: only its holder learns
 * that a token was revoked.
 */
enum token_verdict token_check(struct token_store *s, const char *header,
			       struct token_info *who);

/* How many tokens work (not revoked) into *n; -1 with err. */
int token_store_active(struct token_store *s, long *n, struct berr *err);

#endif
