/*
 * test-tokens.c - the admin API's bearer tokens (serve/tokens.c): the
 * Authorization header and query arguments as clients send them, and the
 * store in a real berth.db: made, listed, checked, revoked; only hashes
 * kept, never the token, neither in the database nor in the ledger.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "helpers.h"
#include "ledger/ledger.h"
#include "serve/tokens.h"
#include "util/hex.h"
#include "util/banned.h"

#define GOOD "berth_1f2e3d4c5b6a7988_9c0e5b7a1d2f3e4c5b6a79881f2e3d4c5b6a7988" \
	     "9c0e5b7a1d2f3e4c5b6a7988"

static enum token_verdict
parse(const char *v, char id[TOKEN_ID_LEN + 1], unsigned char digest[32])
{
	return token_parse_header(v, v ? strlen(v) : 0, id, digest);
}

static void
test_parse_header(void **state)
{
	static const struct {
		const char *value;
		enum token_verdict want;
	} cases[] = {
		{ "Bearer " GOOD, TOKEN_OK },
		{ "bearer " GOOD, TOKEN_OK },
		{ "BEARER    " GOOD "  \t", TOKEN_OK },
		{ " Bearer " GOOD, TOKEN_OK },
		{ "Basic dXNlcjpwYXNz", TOKEN_NOT_BEARER },
		{ "Bearer", TOKEN_NOT_BEARER },
		{ "Bearer ", TOKEN_NOT_BEARER },
		{ "Bearer  ", TOKEN_NOT_BEARER },
		{ "Bearer\t" GOOD, TOKEN_NOT_BEARER },
		{ "Bearertoken", TOKEN_NOT_BEARER },
		{ "", TOKEN_NOT_BEARER },
		{ GOOD, TOKEN_NOT_BEARER },
		{ "Bearer " GOOD "x", TOKEN_UNKNOWN },
		{ "Bearer " GOOD " x", TOKEN_UNKNOWN },
		{ "Bearer x" GOOD, TOKEN_UNKNOWN },
		{ "Bearer berth_1F2E3D4C5B6A7988_9c0e5b7a1d2f3e4c5b6a79881f2e3d4c5b6a7988"
		  "9c0e5b7a1d2f3e4c5b6a7988", TOKEN_UNKNOWN },
		{ "Bearer berth-1f2e3d4c5b6a7988_9c0e5b7a1d2f3e4c5b6a79881f2e3d4c5b6a7988"
		  "9c0e5b7a1d2f3e4c5b6a7988", TOKEN_UNKNOWN },
		{ "Bearer berth_1f2e3d4c5b6a7988-9c0e5b7a1d2f3e4c5b6a79881f2e3d4c5b6a7988"
		  "9c0e5b7a1d2f3e4c5b6a7988", TOKEN_UNKNOWN },
		{ "Bearer berth_1f2e3d4c5b6a7988_9c0e5b7a1d2f3e4c5b6a79881f2e3d4c5b6a7988"
		  "9c0e5b7a1d2f3e4c5b6a798", TOKEN_UNKNOWN },
		{ "Bearer berth_1f2e3d4c5b6a798_89c0e5b7a1d2f3e4c5b6a79881f2e3d4c5b6a7988"
		  "9c0e5b7a1d2f3e4c5b6a7988", TOKEN_UNKNOWN },
	};
	unsigned char digest[32], want[32];
	char id[TOKEN_ID_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (parse(cases[i].value, id, digest) != cases[i].want)
			fail_msg("\"%s\": want %s, have %s", cases[i].value,
				 token_verdict_name(cases[i].want),
				 token_verdict_name(parse(cases[i].value, id, digest)));
	assert_int_equal(parse(NULL, id, digest), TOKEN_MISSING);
	assert_int_equal(parse("Bearer " GOOD, id, digest), TOKEN_OK);
	assert_string_equal(id, "t-1f2e3d4c5b6a7988");
	SHA256((const unsigned char *)GOOD, strlen(GOOD), want);
	assert_memory_equal(digest, want, 32);
	/* the length given is the end: a NUL inside is not a terminator to trust */
	assert_int_equal(token_parse_header("Bearer " GOOD "\0x", strlen("Bearer " GOOD) + 2, id,
					    digest), TOKEN_UNKNOWN);
	/* an over-long value is no token of berth's */
	{
		char *big = xmalloc(4096);

		memset(big, ' ', 4095);
		memcpy(big, "Bearer ", 7);
		memcpy(big + 7, GOOD, strlen(GOOD));
		big[4095] = '\0';
		assert_int_equal(parse(big, id, digest), TOKEN_UNKNOWN);
		free(big);
	}
}

static void
test_in_query(void **state)
{
	(void)state;
	assert_true(token_in_query("access_token", GOOD));
	assert_true(token_in_query("ACCESS_TOKEN", "x"));
	assert_true(token_in_query("token", NULL));
	assert_true(token_in_query("Bearer", ""));
	assert_true(token_in_query("authorization", "x"));
	assert_true(token_in_query("t", GOOD));
	assert_true(token_in_query("t", "Bearer x"));
	assert_true(token_in_query(GOOD, NULL));
	assert_false(token_in_query("limit", "20"));
	assert_false(token_in_query("from", "2026-11-01T00:00:00Z"));
	assert_false(token_in_query("to", NULL));
	assert_false(token_in_query("tokens", "1"));
	assert_false(token_in_query("q", "berth"));
}

struct fx {
	struct tmpdir t;
	struct ledger *l;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct berr err;

	assert_int_equal(tmpdir_init(&f->t, "tokens"), 0);
	if (ledger_open(f->t.state, &f->l, &err) < 0)
		fail_msg("%s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ledger_close(f->l);
	tmpdir_release(&f->t);
	free(f);
	return 0;
}

static int
collect(void *ctx, const struct token_info *t)
{
	json_t *a = ctx;

	json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", t->id, "role",
					   token_role_name(t->role), "provider", t->provider,
					   "name", t->name, "revoked", t->revoked));
	return 0;
}

static int
ledger_text(void *ctx, const json_t *e)
{
	char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);

	buf_addstr(ctx, s);
	buf_addch(ctx, '\n');
	free(s);
	return 0;
}

/* Does any file of dir whose name starts with "berth.db" hold needle? */
static int
db_files_hold(const char *dir, const char *needle)
{
	static const char *const names[] = { "berth.db", "berth.db-wal", "berth.db-shm" };
	size_t i, n = strlen(needle);
	int found = 0;

	for (i = 0; i < 3 && !found; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		FILE *fp = fopen(path, "rb");
		char *data;
		long len;

		free(path);
		if (!fp)
			continue;
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		fseek(fp, 0, SEEK_SET);
		data = xmalloc((size_t)len + 1);
		assert_int_equal(fread(data, 1, (size_t)len, fp), (size_t)len);
		fclose(fp);
		found = memmem(data, (size_t)len, needle, n) != NULL;
		free(data);
	}
	return found;
}

/*
 * Made, listed, checked, revoked; the store that checks was opened before
 * the tokens were made and sees each change at its next check.
 */
static void
test_store(void **state)
{
	struct fx *f = *state;
	struct token_store *ts;
	struct token_info a, p, who, r;
	struct berr err;
	struct buf lt = BUF_INIT;
	char ta[TOKEN_LEN + 1], tp[TOKEN_LEN + 1], h[TOKEN_LEN + 16], hash[65];
	unsigned char dig[32];
	json_t *all = json_array();
	long n;

	assert_int_equal(token_store_open(f->t.state, &ts, &err), 0);
	assert_int_equal(token_store_active(ts, &n, &err), 0);
	assert_int_equal(n, 0);

	assert_int_equal(token_create(f->l, f->t.state, TOKEN_ADMIN, NULL, "ops", ta, &a, &err), 0);
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_PROVIDER, "acme", "acme's panel", tp,
				      &p, &err), 0);
	assert_int_equal(strlen(ta), TOKEN_LEN);
	assert_int_equal(strncmp(ta, "berth_", 6), 0);
	assert_int_equal(strncmp(a.id + 2, ta + 6, 16), 0);
	assert_string_not_equal(ta, tp);
	assert_int_equal(p.role, TOKEN_PROVIDER);
	assert_string_equal(p.provider, "acme");
	assert_string_equal(p.name, "acme's panel");
	assert_string_equal(a.provider, "");
	assert_int_equal(token_store_active(ts, &n, &err), 0);
	assert_int_equal(n, 2);

	assert_int_equal(token_list(f->t.state, collect, all, &err), 0);
	assert_int_equal(json_array_size(all), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "id")), a.id);
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, 1), "role")),
			    "provider");

	/* checked */
	snprintf(h, sizeof(h), "Bearer %s", ta);
	assert_int_equal(token_check(ts, h, &who), TOKEN_OK);
	assert_string_equal(who.id, a.id);
	assert_int_equal(who.role, TOKEN_ADMIN);
	snprintf(h, sizeof(h), "Bearer %s", tp);
	assert_int_equal(token_check(ts, h, &who), TOKEN_OK);
	assert_string_equal(who.provider, "acme");
	assert_int_equal(token_check(ts, NULL, &who), TOKEN_MISSING);
	assert_int_equal(token_check(ts, "Basic x", &who), TOKEN_NOT_BEARER);
	/* a's id with p's secret: unknown, and nothing of a's is told */
	snprintf(h, sizeof(h), "Bearer berth_%.16s_%s", a.id + 2, tp + 23);
	assert_int_equal(token_check(ts, h, &who), TOKEN_UNKNOWN);
	assert_string_equal(who.id, "");
	assert_int_equal(token_check(ts, "Bearer " GOOD, &who), TOKEN_UNKNOWN);

	/* only the hash is kept: nowhere in the database files, nor in the ledger */
	assert_false(db_files_hold(f->t.state, ta + 23));
	assert_false(db_files_hold(f->t.state, tp + 23));
	SHA256((const unsigned char *)ta, TOKEN_LEN, dig);
	hex_encode(dig, 32, hash);
	assert_true(db_files_hold(f->t.state, hash));
	buf_init(&lt, 0);
	assert_int_equal(ledger_query(f->l, NULL, ledger_text, &lt, &err), 0);
	assert_null(strstr(lt.buf, ta + 23));
	assert_null(strstr(lt.buf, tp + 23));
	assert_non_null(strstr(lt.buf, "\"kind\":\"token.create\""));
	assert_non_null(strstr(lt.buf, "\"after\":{\"id\":\"t-"));

	/* revoked: refused at the next check, by the store opened before */
	assert_int_equal(token_revoke(f->l, f->t.state, p.id, &r, &err), 0);
	assert_string_equal(r.id, p.id);
	assert_string_not_equal(r.revoked, "");
	snprintf(h, sizeof(h), "Bearer %s", tp);
	assert_int_equal(token_check(ts, h, &who), TOKEN_REVOKED);
	assert_string_equal(who.id, p.id);
	assert_int_equal(token_store_active(ts, &n, &err), 0);
	assert_int_equal(n, 1);
	/* again: 1, nothing more recorded */
	buf_reset(&lt);
	assert_int_equal(ledger_query(f->l, NULL, ledger_text, &lt, &err), 0);
	assert_int_equal(token_revoke(f->l, f->t.state, p.id, &r, &err), 1);
	{
		struct buf again = BUF_INIT;

		buf_init(&again, 0);
		assert_int_equal(ledger_query(f->l, NULL, ledger_text, &again, &err), 0);
		assert_string_equal(again.buf, lt.buf);
		buf_release(&again);
	}
	assert_non_null(strstr(lt.buf, "\"kind\":\"token.revoke\""));
	/* the other still works; its id as the caller's own buffer */
	snprintf(h, sizeof(h), "Bearer %s", ta);
	assert_int_equal(token_check(ts, h, &who), TOKEN_OK);
	assert_int_equal(token_revoke(f->l, f->t.state, who.id, &who, &err), 0);
	assert_string_equal(who.id, a.id);
	snprintf(h, sizeof(h), "Bearer %s", ta);
	assert_int_equal(token_check(ts, h, &r), TOKEN_REVOKED);

	/* unknown and malformed ids */
	assert_int_equal(token_revoke(f->l, f->t.state, "t-0000000000000000", &r, &err), -1);
	assert_string_equal(err.msg, "no token t-0000000000000000 (berth token list shows them)");
	assert_int_equal(token_revoke(f->l, f->t.state, "acme", &r, &err), -1);
	assert_string_equal(err.msg, "want a token's id like t-1f2e3d4c5b6a7988 (berth token list),"
			    " have \"acme\"");

	json_decref(all);
	all = json_array();
	assert_int_equal(token_list(f->t.state, collect, all, &err), 0);
	assert_string_not_equal(json_string_value(json_object_get(json_array_get(all, 0),
								  "revoked")), "");
	json_decref(all);
	buf_release(&lt);
	token_store_close(ts);
}

static void
test_create_refuses(void **state)
{
	struct fx *f = *state;
	struct token_info t;
	struct berr err;
	char tok[TOKEN_LEN + 1];
	char long_name[TOKEN_NAME_MAX + 2];

	assert_int_equal(token_create(f->l, f->t.state, TOKEN_PROVIDER, "Acme", "x", tok, &t, &err), -1);
	assert_string_equal(err.msg, "--provider: want a provider's name (a DNS label like acme), "
			    "have \"Acme\"");
	assert_string_equal(tok, "");
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_PROVIDER, NULL, "x", tok, &t, &err), -1);
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_PROVIDER, "-a", "x", tok, &t, &err), -1);
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_ADMIN, "acme", "x", tok, &t, &err), -1);
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_ADMIN, NULL, "", tok, &t, &err), -1);
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_ADMIN, NULL, "a\nb", tok, &t, &err), -1);
	assert_string_equal(err.msg, "--name: want 1 to 64 printable ASCII characters, have \"a\nb\"");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_ADMIN, NULL, long_name, tok, &t, &err), -1);
	long_name[TOKEN_NAME_MAX] = '\0';
	assert_int_equal(token_create(f->l, f->t.state, TOKEN_ADMIN, NULL, long_name, tok, &t, &err), 0);
	/* nothing refused was recorded */
	{
		struct buf lt = BUF_INIT;

		buf_init(&lt, 0);
		assert_int_equal(ledger_query(f->l, NULL, ledger_text, &lt, &err), 0);
		assert_non_null(strstr(lt.buf, "\"seq\":1,"));
		assert_null(strstr(lt.buf, "\"seq\":2,"));
		buf_release(&lt);
	}
}

/* No database yet: nothing to list; a checker needs the migrated database. */
static void
test_no_database(void **state)
{
	struct token_store *ts;
	struct tmpdir t;
	struct berr err;
	json_t *all = json_array();

	(void)state;
	assert_int_equal(tmpdir_init(&t, "tokens-none"), 0);
	assert_int_equal(token_list(t.state, collect, all, &err), 0);
	assert_int_equal(json_array_size(all), 0);
	assert_int_equal(token_store_open(t.state, &ts, &err), -1);
	assert_null(ts);
	json_decref(all);
	tmpdir_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_header),
		cmocka_unit_test(test_in_query),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses, setup, teardown),
		cmocka_unit_test(test_no_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
