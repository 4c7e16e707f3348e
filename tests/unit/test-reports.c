/*
 * test-reports.c - the latest accepted report of every host as the
 * commands read it from the state database (sched/reports.c): no
 * database, no tables, the latest of each host by host name, bodies that
 * no longer parse, and a database it cannot read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "helpers.h"

#include "ledger/ledger.h"
#include "sched/reports.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define BOOT	"8c0d2f1e-1b2c-4d3e-8f40-123456789abc"

struct fixture {
	struct tmpdir t;
	char *db;
	int next_id;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	if (tmpdir_init(&f->t, "reports") < 0)
		return -1;
	f->db = xasprintf("%s/berth.db", f->t.state);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_release(&f->t);
	free(f->db);
	free(f);
	return 0;
}

/* A schema-1 report body of host with seq. Caller frees. */
static char *
body_of(const char *host, int seq)
{
	return xasprintf("{\"schema\": 1, \"host\": \"%s\", \"boot_id\": \"" BOOT "\","
			 " \"seq\": %d, \"time\": \"2026-11-22T05:00:00.250Z\","
			 " \"agent\": {\"version\": \"0.5.0\", \"build\": \"abc1234\"},"
			 " \"interval\": 30, \"dropped\": 0,"
			 " \"host_stats\": {\"cpu_threads\": 8, \"cpu_use\": 0.125,"
			 "  \"load\": [0.5, 0.25, 0],"
			 "  \"memory\": {\"total\": 68719476736, \"available\": 34359738368},"
			 "  \"storage_pools\": [], \"network\": []},"
			 " \"instances\": []}", host, seq);
}

static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* The migrated state database, as berth serve leaves it. */
static void
migrate(struct fixture *f)
{
	struct ledger *l;
	struct berr err;

	if (ledger_open(f->t.state, &l, &err) < 0)
		fail_msg("%s", err.msg);
	ledger_close(l);
}

/* Record body as host's latest report, accepted at received_ms. */
static void
put_latest(struct fixture *f, const char *host, const char *body, long long received_ms)
{
	int id = ++f->next_id;
	char *sql = xasprintf(
		"INSERT INTO report_history (id, host, boot_id, seq, time_ms, received_ms, nonce, body)"
		" VALUES (%d, '%s', '" BOOT "', %d, 0, %lld, 'n%d', '%s');"
		"INSERT INTO report_latest (host, history_id, received_ms) VALUES ('%s', %d, %lld)"
		" ON CONFLICT (host) DO UPDATE SET history_id = %d, received_ms = %lld;",
		id, host, id, received_ms, id, body, host, id, received_ms, id, received_ms);

	exec_sql(f->db, sql);
	free(sql);
}

static void
test_no_database(void **state)
{
	struct fixture *f = *state;
	struct report_set s;
	struct berr err;

	memset(&s, 0xff, sizeof(s));
	assert_int_equal(report_set_load(f->t.state, &s, &err), 0);
	assert_int_equal(s.n, 0);
	report_set_release(&s);
	report_set_release(&s);	/* released twice: still safe */
	assert_null(s.items);
	assert_int_equal(access(f->db, F_OK), -1);	/* and none was created */
}

static void
test_no_tables(void **state)
{
	struct fixture *f = *state;
	struct report_set s;
	struct berr err;

	assert_int_equal(mkdir(f->t.state, 0700), 0);
	exec_sql(f->db, "CREATE TABLE other (x)");
	assert_int_equal(report_set_load(f->t.state, &s, &err), 0);
	assert_int_equal(s.n, 0);
	report_set_release(&s);
}

static void
test_latest_of_each_host(void **state)
{
	struct fixture *f = *state;
	struct report_set s;
	struct berr err;
	char *b1 = body_of("lab-2", 7), *a1 = body_of("lab-1", 1), *a2 = body_of("lab-1", 2);

	migrate(f);
	put_latest(f, "lab-2", b1, 1000);
	put_latest(f, "lab-1", a1, 2000);
	put_latest(f, "lab-1", a2, 3000);
	/* A body this berth no longer reads is skipped, not fatal. */
	put_latest(f, "lab-3", "{\"schema\": 99}", 4000);
	if (report_set_load(f->t.state, &s, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.items[0].host, "lab-1");
	assert_ptr_equal(s.items[0].report, &s.reports[0]);
	assert_true(s.items[0].report->seq == 2);
	assert_true(s.items[0].received_ms == 3000);
	assert_string_equal(s.items[1].host, "lab-2");
	assert_ptr_equal(s.items[1].report, &s.reports[1]);
	assert_true(s.items[1].report->seq == 7);
	assert_true(s.items[1].received_ms == 1000);
	report_set_release(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.reports);
	free(b1);
	free(a1);
	free(a2);
}

static void
test_unreadable(void **state)
{
	struct fixture *f = *state;
	struct report_set s;
	struct berr err;

	assert_int_equal(mkdir(f->t.state, 0700), 0);
	exec_sql(f->db, "CREATE TABLE report_latest (host, history_id, received_ms)");
	err.msg[0] = '\0';
	assert_int_equal(report_set_load(f->t.state, &s, &err), -1);
	assert_string_equal(err.msg, "state database: reading the latest reports: "
			    "no such table: report_history");
	assert_int_equal(s.n, 0);
	assert_null(s.items);
	report_set_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latest_of_each_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
