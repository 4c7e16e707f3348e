/*
 * test-online.c - when each host's agent was online (agent_online,
 * store_add_online and store_online) on a real berth.db: reports in
 * order, gaps, late reports that fill a gap or fall inside an interval,
 * any order of delivery against a brute-force union, and the reader's
 * clipping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "ledger/ledger.h"
#include "serve/store.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define W 120000	/* the smallest window */

struct fx {
	char dir[256];
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct ledger *l;
	struct berr err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-online-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (ledger_open(f->dir, &l, &err) < 0)
		fail_msg("%s", err.msg);
	ledger_close(l);
	if (store_open(f->dir, &f->s, &err) < 0)
		fail_msg("%s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[300];

	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A report of host collected at t with window w, in a transaction of its own. */
static void
report(struct fx *f, const char *host, int64_t t, int64_t w)
{
	struct berr err;

	assert_int_equal(store_begin(f->s, &err), 0);
	if (store_add_online(f->s, host, t, t + w, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(store_commit(f->s, &err), 0);
}

/* Fail unless host's intervals in [from, to) are want (pairs, n of them). */
static void
expect(struct fx *f, const char *host, int64_t from, int64_t to, const int64_t *want, size_t n)
{
	struct online_span *v;
	size_t got;
	struct berr err;

	if (store_online(f->dir, host, from, to, &v, &got, &err) < 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < got || i < n; i++) {
		if (i >= got)
			fail_msg("%s: interval %zu: want [%lld, %lld), have none", host, i,
				 (long long)want[2 * i], (long long)want[2 * i + 1]);
		if (i >= n)
			fail_msg("%s: interval %zu: want none, have [%lld, %lld)", host, i,
				 (long long)v[i].from_ms, (long long)v[i].to_ms);
		if (v[i].from_ms != want[2 * i] || v[i].to_ms != want[2 * i + 1])
			fail_msg("%s: interval %zu: want [%lld, %lld), have [%lld, %lld)", host, i,
				 (long long)want[2 * i], (long long)want[2 * i + 1],
				 (long long)v[i].from_ms, (long long)v[i].to_ms);
	}
	free(v);
}

#define EXPECT_ALL(f, host, ...) do { \
		const int64_t w_[] = { __VA_ARGS__ }; \
		expect((f), (host), INT64_MIN, INT64_MAX, w_, sizeof(w_) / sizeof(w_[0]) / 2); \
	} while (0)

static void
test_in_order_extends(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 20; i++)
		report(f, "h1", 1000000 + i * 30000, W);
	EXPECT_ALL(f, "h1", 1000000, 1000000 + 19 * 30000 + W);
	/* A report exactly a window after the last one touches it: still one. */
	report(f, "h1", 1000000 + 19 * 30000 + W, W);
	EXPECT_ALL(f, "h1", 1000000, 1000000 + 19 * 30000 + 2 * W);
}

static void
test_gap_makes_two(void **state)
{
	struct fx *f = *state;

	report(f, "h1", 0, W);
	report(f, "h1", 30000, W);
	report(f, "h1", 30000 + W + 1, W);	/* 1 ms too late */
	EXPECT_ALL(f, "h1", 0, 30000 + W, 30000 + W + 1, 30000 + 2 * W + 1);
	/* Another host's reports are its own. */
	report(f, "h2", 30000 + W, W);
	EXPECT_ALL(f, "h2", 30000 + W, 30000 + 2 * W);
	EXPECT_ALL(f, "h1", 0, 30000 + W, 30000 + W + 1, 30000 + 2 * W + 1);
}

static void
test_late_fills_gap(void **state)
{
	struct fx *f = *state;

	report(f, "h1", 0, W);
	report(f, "h1", 200000, W);
	EXPECT_ALL(f, "h1", 0, W, 200000, 200000 + W);
	/* Collected at 100 s, delivered from the spool later: the gap is gone. */
	report(f, "h1", 100000, W);
	EXPECT_ALL(f, "h1", 0, 200000 + W);

	/* One late report with a long window bridges several intervals at once. */
	report(f, "h3", 0, W);
	report(f, "h3", 1000000, W);
	report(f, "h3", 2000000, W);
	report(f, "h3", 3000000, W);
	report(f, "h3", 4000000, W);
	report(f, "h3", 900000, 2200000);	/* meets 1000000, 2000000 and 3000000 */
	EXPECT_ALL(f, "h3", 0, W, 900000, 3000000 + W, 4000000, 4000000 + W);
	/* Starting inside one interval and ending inside the next. */
	report(f, "h3", 60000, 3950000);
	EXPECT_ALL(f, "h3", 0, 4000000 + W);
}

static void
test_late_inside_changes_nothing(void **state)
{
	struct fx *f = *state;

	report(f, "h1", 0, W);
	report(f, "h1", 30000, W);
	report(f, "h1", 60000, W);
	report(f, "h1", 15000, W);
	report(f, "h1", 0, W);
	report(f, "h1", 60000, 10000);
	EXPECT_ALL(f, "h1", 0, 60000 + W);
	/* An empty interval adds nothing. */
	{
		struct berr err;

		assert_int_equal(store_begin(f->s, &err), 0);
		assert_int_equal(store_add_online(f->s, "h4", 5, 5, &err), 0);
		assert_int_equal(store_commit(f->s, &err), 0);
		expect(f, "h4", INT64_MIN, INT64_MAX, NULL, 0);
	}
}

static void
test_reader_clips(void **state)
{
	struct fx *f = *state;

	report(f, "h1", 0, 100);
	report(f, "h1", 200, 100);
	report(f, "h1", 400, 100);
	{
		const int64_t w[] = { 50, 100, 200, 300, 400, 450 };

		expect(f, "h1", 50, 450, w, 3);
	}
	{
		const int64_t w[] = { 250, 260 };

		expect(f, "h1", 250, 260, w, 1);
	}
	{
		const int64_t w[] = { 200, 300 };

		expect(f, "h1", 100, 400, w, 1);
		expect(f, "h1", 199, 301, (const int64_t[]){ 200, 300 }, 1);
	}
	expect(f, "h1", 100, 200, NULL, 0);	/* a gap */
	expect(f, "h1", 500, 10000, NULL, 0);	/* after the last */
	expect(f, "h1", -1000, 0, NULL, 0);	/* before the first */
	expect(f, "h1", 300, 300, NULL, 0);	/* an empty period */
	expect(f, "nobody", 0, 1000, NULL, 0);
	/* No database yet: nothing, not an error. */
	{
		struct online_span *v;
		size_t n;
		struct berr err;

		assert_int_equal(store_online("/nonexistent-berth-state", "h1", 0, 1000, &v, &n,
					      &err), 0);
		assert_null(v);
		assert_int_equal(n, 0);
	}
}

/* ---- any order of delivery, against a brute-force union ------------------ */

#define SPAN 3000	/* times in [0, SPAN), ms: small enough to mark each one */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Reports at random times with random windows (the manifests may change),
 * delivered in a random order, several per transaction as the intake
 * groups them: the table is the union of [t, t + w), computed point by
 * point, as disjoint runs.
 */
static void
test_any_order_is_union(void **state)
{
	struct fx *f = *state;
	static unsigned char covered[SPAN + 400];

	for (int trial = 0; trial < 300; trial++) {
		char host[32];
		size_t n = 1 + next_rand() % 40, nwant = 0;
		int64_t t[40], w[40], want[2 * 40];
		struct berr err;

		snprintf(host, sizeof(host), "h-%d", trial);
		memset(covered, 0, sizeof(covered));
		for (size_t i = 0; i < n; i++) {
			t[i] = (int64_t)(next_rand() % SPAN);
			w[i] = 1 + (int64_t)(next_rand() % (trial % 3 == 0 ? 400 : 120));
			for (int64_t x = t[i]; x < t[i] + w[i]; x++)
				covered[x] = 1;
		}
		for (int64_t x = 0; x < (int64_t)sizeof(covered); x++)
			if (covered[x] && (x == 0 || !covered[x - 1]))
				want[2 * nwant] = x;
			else if (!covered[x] && x > 0 && covered[x - 1])
				want[2 * nwant++ + 1] = x;
		/* shuffle */
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = next_rand() % (i + 1);
			int64_t a = t[i], b = w[i];

			t[i] = t[j];
			w[i] = w[j];
			t[j] = a;
			w[j] = b;
		}
		for (size_t i = 0; i < n;) {
			size_t batch = 1 + next_rand() % 5;

			assert_int_equal(store_begin(f->s, &err), 0);
			for (; batch && i < n; batch--, i++)
				if (store_add_online(f->s, host, t[i], t[i] + w[i], &err) < 0)
					fail_msg("%s", err.msg);
			assert_int_equal(store_commit(f->s, &err), 0);
		}
		expect(f, host, INT64_MIN, INT64_MAX, want, nwant);
	}
}

/*
 * A database from before agent_online: the migration fills it from the
 * history it still holds, with the smallest window.
 */
static void
test_migration_fills_from_history(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *host;
		int64_t t;
	} hist[] = {
		{ "h1", 0 }, { "h1", 30000 }, { "h1", 30000 + W }, { "h1", 400000 },
		{ "h2", 5 }, { "h1", 500000 },
	};
	struct ledger *l;
	struct berr err;
	sqlite3 *db;
	char path[300], sql[300];
	int64_t since, before = clock_now_ms();

	/* a new database knows since it was made */
	assert_int_equal(store_online_since(f->dir, &since, &err), 0);
	assert_true(since <= before && since > before - 600000);
	assert_int_equal(store_online_since("/nonexistent-berth-state", &since, &err), 0);
	assert_true(since == INT64_MAX);
	store_close(f->s);
	f->s = NULL;
	snprintf(path, sizeof(path), "%s/berth.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* A database of schema version 2: what came after it goes. */
	assert_int_equal(sqlite3_exec(db, "DROP TABLE agent_online; DROP TABLE api_token; "
				      "DELETE FROM schema_version WHERE version >= 3", NULL, NULL,
				      NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(hist) / sizeof(hist[0]); i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO report_history (host, boot_id, seq, time_ms, "
			 "received_ms, nonce, body) VALUES ('%s', 'b', %zu, %lld, 0, 'n%zu', '{}')",
			 hist[i].host, i + 1, (long long)hist[i].t, i);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(db);
	if (ledger_open(f->dir, &l, &err) < 0)
		fail_msg("%s", err.msg);
	ledger_close(l);
	EXPECT_ALL(f, "h1", 0, 30000 + 2 * W, 400000, 500000 + W);
	EXPECT_ALL(f, "h2", 5, 5 + W);
	/* known since the first interval taken from the history */
	assert_int_equal(store_online_since(f->dir, &since, &err), 0);
	assert_int_equal(since, 0);
	/* And the intake goes on from there. */
	if (store_open(f->dir, &f->s, &err) < 0)
		fail_msg("%s", err.msg);
	report(f, "h1", 30000 + 2 * W, 400000 - (30000 + 2 * W));	/* touches both */
	EXPECT_ALL(f, "h1", 0, 500000 + W);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order_extends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_makes_two, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_fills_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_inside_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_clips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_any_order_is_union, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_fills_from_history, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
