/*
 * test-scope.c - what a provider's token sees: the status cut down to its
 * hosts (serve/scope.c) on the fleet of tests/data/scope/fleet/ (see its
 * fleet.yaml) with reports made by hand, and the ledger's statements and
 * runs as the admin API reads them (serve/history.c) from a real ledger.
 * The rule: nothing a provider reads names another provider's host,
 * instance or plan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "serve/history.h"
#include "serve/scope.h"
#include "util/banned.h"

#define GiB		(UINT64_C(1) << 30)
#define NOW		INT64_C(1795323600000)	/* 2026-11-22T05:00:00Z */
#define MAX_INS		4

static struct manifest_result res;

static int
setup(void **state)
{
	struct source_opts so = { 0 };
	struct diags d = DIAGS_INIT;
	struct berr err;

	(void)state;
	so.repo = SOURCE_ROOT;
	so.path = "tests/data/scope/fleet";
	so.worktree = 1;
	assert_int_equal(manifest_load(&so, MANIFEST_CHECK, &res, &d, &err), 0);
	if (d.nerrors) {
		char line[1024];

		diag_format(&d.v[0], line, sizeof(line));
		fail_msg("%s", line);
	}
	diags_release(&d);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	manifest_result_release(&res);
	return 0;
}

struct rep {
	struct host_report hr;
	struct report r;
	struct report_pool pool;
	struct report_instance ins[MAX_INS];
};

static void
rep_init(struct rep *x, const char *host, uint64_t cpu, uint64_t disk)
{
	memset(x, 0, sizeof(*x));
	x->hr.host = host;
	x->hr.received_ms = NOW - 10000;
	x->hr.report = &x->r;
	x->r.schema = 1;
	x->r.host = host;
	x->r.interval_s = 30;
	x->r.cpu_threads = cpu;
	x->r.mem_total = 64 * GiB;
	x->pool.name = "data";
	x->pool.driver = "dir";
	x->pool.total = disk;
	x->r.pools = &x->pool;
	x->r.npools = 1;
	x->r.instances = x->ins;
}

static void
rep_add(struct rep *x, const char *name, const char *plan)
{
	struct report_instance *in = &x->ins[x->r.ninstances++];

	in->name = name;
	in->project = "default";
	in->status = "Running";
	in->plan = plan;
}

/* The reports of the fixture's hosts: plat-1, acme-1, bolt-1, bolt-2 (acme-2 has none). */
static struct status *
build(struct rep reps[4])
{
	struct host_report hr[4];
	int i;

	rep_init(&reps[0], "plat-1", 16, 1000 * GiB);
	rep_add(&reps[0], "p1", "small");
	rep_init(&reps[1], "acme-1", 8, 800 * GiB);
	rep_add(&reps[1], "a1", "acme-s");
	rep_add(&reps[1], "a2", "small");
	rep_add(&reps[1], "a3", "bolt-s");	/* not berth's sale: its Incus says so */
	rep_add(&reps[1], "a4", "gone");	/* a Plan no longer in the manifests */
	rep_init(&reps[2], "bolt-1", 8, 800 * GiB);
	rep_add(&reps[2], "b1", "bolt-s");
	rep_init(&reps[3], "bolt-2", 4, 100 * GiB);
	rep_add(&reps[3], "b2", "bolt-x");
	for (i = 0; i < 4; i++)
		hr[i] = reps[i].hr;
	return status_build(res.fleet, hr, 4, NOW);
}

static char *
dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static const json_t *
named(const json_t *a, const char *key, const char *name)
{
	const json_t *x;
	size_t i;

	json_array_foreach(a, i, x)
		if (!strcmp(json_string_value(json_object_get(x, key)), name))
			return x;
	return NULL;
}

/* The names of the array a's objects' key, joined with ",". */
static char *
names(const json_t *a, const char *key)
{
	struct buf b = BUF_INIT;
	const json_t *x;
	size_t i;

	buf_init(&b, 0);
	json_array_foreach(a, i, x)
		buf_addf(&b, "%s%s", i ? "," : "", json_string_value(json_object_get(x, key)));
	return buf_detach(&b, NULL);
}

#define ASSERT_NAMES(a, key, want) do { \
		char *n_ = names((a), (key)); \
		assert_string_equal(n_, (want)); \
		free(n_); \
	} while (0)

static json_int_t
total(const json_t *pool, const char *res_, const char *what)
{
	return json_integer_value(json_object_get(json_object_get(json_object_get(pool, "total"),
								  res_), what));
}

static void
test_provider_sees_its_own(void **state)
{
	struct rep reps[4];
	struct status *s = build(reps);
	json_t *j = scope_status_json(s, "acme");
	const json_t *main_, *a1;
	char *text = dump(j);

	(void)state;
	/* nothing of bolt's: no host, instance or plan name */
	if (strstr(text, "bolt") || strstr(text, "\"b1\"") || strstr(text, "\"b2\"") ||
	    strstr(text, "plat-1") || strstr(text, "\"p1\""))
		fail_msg("acme sees another's: %s", text);
	assert_string_equal(json_string_value(json_object_get(j, "provider")), "acme");
	ASSERT_NAMES(json_object_get(j, "hosts"), "name", "acme-1,acme-2");
	ASSERT_NAMES(json_object_get(j, "pools"), "name", "main");
	main_ = json_array_get(json_object_get(j, "pools"), 0);
	ASSERT_NAMES(json_object_get(main_, "members"), "host", "acme-1,acme-2");
	ASSERT_NAMES(json_object_get(main_, "plans"), "name", "small,acme-s");
	assert_int_equal(json_integer_value(json_object_get(main_, "hosts")), 2);
	/* counted over acme's hosts: 8 + 4 threads; disk as declared, 500 + 200 GiB */
	assert_int_equal(total(main_, "cpu", "declared"), 12);
	assert_int_equal(total(main_, "disk", "capacity"), (json_int_t)(700 * GiB));
	/* its instances; a plan it does not see shows as none */
	a1 = named(json_object_get(j, "hosts"), "name", "acme-1");
	ASSERT_NAMES(json_object_get(a1, "instances"), "name", "a1,a2,a3,a4");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(a1, "instances"), 0), "plan")), "acme-s");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(a1, "instances"), 1), "plan")), "small");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(a1, "instances"),
								2), "plan")));
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(a1, "instances"),
								3), "plan")));
	/* what its plans offer, for the dashboard */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
		json_object_get(main_, "plans"), 1), "price"), "amount")), "6.00");
	free(text);
	json_decref(j);
	status_free(s);
}

static void
test_other_provider_and_platform(void **state)
{
	struct rep reps[4];
	struct status *s = build(reps);
	json_t *j = scope_status_json(s, "bolt");
	const json_t *main_;
	char *text = dump(j);

	(void)state;
	if (strstr(text, "acme") || strstr(text, "\"a1\"") || strstr(text, "plat-1"))
		fail_msg("bolt sees another's: %s", text);
	ASSERT_NAMES(json_object_get(j, "hosts"), "name", "bolt-1,bolt-2");
	ASSERT_NAMES(json_object_get(j, "pools"), "name", "main,bolt-only");
	main_ = json_array_get(json_object_get(j, "pools"), 0);
	ASSERT_NAMES(json_object_get(main_, "plans"), "name", "small,bolt-s");
	/* counted over bolt's hosts of main: bolt-1 only */
	assert_int_equal(total(main_, "disk", "capacity"), (json_int_t)(800 * GiB));
	assert_int_equal(total(main_, "cpu", "declared"), 8);
	free(text);
	json_decref(j);

	j = scope_status_json(s, "platform");
	text = dump(j);
	if (strstr(text, "acme") || strstr(text, "bolt"))
		fail_msg("the platform's token sees a provider's: %s", text);
	ASSERT_NAMES(json_object_get(j, "hosts"), "name", "plat-1");
	free(text);
	json_decref(j);

	/* a provider with nothing sees nothing */
	j = scope_status_json(s, "nobody");
	assert_int_equal(json_array_size(json_object_get(j, "hosts")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "pools")), 0);
	json_decref(j);
	status_free(s);
}

/* An admin sees everything, counted as status.c counts it. */
static void
test_admin_sees_all(void **state)
{
	struct rep reps[4];
	struct status *s = build(reps), *v;
	json_t *j = scope_status_json(s, NULL), *plain = status_to_json(s);
	const json_t *p, *q;
	size_t i;

	(void)state;
	assert_true(json_is_null(json_object_get(j, "provider")));
	assert_true(json_equal(json_object_get(j, "hosts"), json_object_get(plain, "hosts")));
	json_array_foreach(json_object_get(plain, "pools"), i, p) {
		q = json_array_get(json_object_get(j, "pools"), i);
		assert_true(json_equal(json_object_get(p, "total"), json_object_get(q, "total")));
		assert_true(json_equal(json_object_get(p, "members"), json_object_get(q, "members")));
	}
	ASSERT_NAMES(json_object_get(json_array_get(json_object_get(j, "pools"), 0), "plans"),
		     "name", "small,acme-s,bolt-s");
	/* and a provider's status, as a struct, recounts its pools too */
	v = scope_status(s, "acme");
	assert_int_equal(v->nhosts, 2);
	assert_int_equal(v->npools, 1);
	assert_ptr_equal(v->pools[0].members[0].host, &v->hosts[0]);
	assert_int_equal(v->pools[0].nschedulable, 0);	/* pending review */
	scope_status_free(v);
	json_decref(plain);
	json_decref(j);
	status_free(s);
}

/* ---- the ledger --------------------------------------------------------- */

static void
append(struct ledger *l, const char *kind, const char *run, const char *object,
       const char *action, json_t *after, const char *result)
{
	struct ledger_entry e = { 0 };
	struct berr err;

	e.kind = kind;
	e.run_id = run;
	e.commit = run ? "0123456789abcdef0123456789abcdef01234567" : NULL;
	e.object = object;
	e.action = action;
	e.after = after;
	e.result = result;
	if (ledger_append(l, &e, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(after);
}

static json_t *
statement(const char *provider, const char *host, const char *instance, json_int_t share)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s}], s:I, s:s, s:I, s:s, s:I, s:s, "
			 "s:s, s:s}", "provider", provider, "currency", "EUR", "lines",
			 "instance", instance, "host", host, "plan", instance, "kind", "usage",
			 "gross_minor", (json_int_t)1000, "gross", "10.00",
			 "provider_share_minor", share, "provider_share", "7.00",
			 "platform_fee_minor", 1000 - share, "platform_fee", "3.00",
			 "payable_after", "2026-01-01T00:00:00Z", "hash", "h");
}

static void
test_statements(void **state)
{
	struct tmpdir t;
	struct ledger *l;
	struct berr err;
	json_t *j;
	char *text;

	(void)state;
	assert_int_equal(tmpdir_init(&t, "scope"), 0);
	assert_int_equal(ledger_open(t.state, &l, &err), 0);
	append(l, "settlement", NULL, "settlement/2025-11/acme/EUR", "settle",
	       statement("acme", "acme-1", "a1", 700), "ok");			/* 1 */
	append(l, "settlement", NULL, "settlement/2025-11/bolt/EUR", "settle",
	       statement("bolt", "bolt-1", "b1", 600), "ok");			/* 2 */
	append(l, "run.start", "r-1", NULL, "reconcile", NULL, NULL);		/* 3 */
	append(l, "settlement.amend", NULL, "settlement/2025-11/acme/EUR", "amend",
	       json_pack("{s:i, s:o, s:{}}", "amends", 1, "statement",
			 statement("acme", "acme-1", "a1", 650), "difference"), "ok");	/* 4 */

	j = history_statements(l, "acme", NOW, &err);
	assert_non_null(j);
	text = dump(j);
	if (strstr(text, "bolt") || strstr(text, "b1"))
		fail_msg("acme reads bolt's statements: %s", text);
	assert_int_equal(json_array_size(json_object_get(j, "statements")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
		"statements"), 1), "amends")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j,
		"statements"), 1), "period")), "2025-11");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "statements"), 0),
						 "payable")));
	/* totals: the amendment replaces what it amends */
	assert_int_equal(json_array_size(json_object_get(j, "totals")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
		"totals"), 0), "payable_minor")), 650);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j,
		"totals"), 0), "payable")), "6.50");
	free(text);
	json_decref(j);

	/* an admin reads both, in seq order */
	j = history_statements(l, NULL, NOW, &err);
	assert_int_equal(json_array_size(json_object_get(j, "statements")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
		"statements"), 2), "seq")), 4);
	json_decref(j);

	/* one statement, whole: bolt's is none of acme's */
	assert_null(history_statement(l, 2, "acme", &err));
	assert_string_equal(err.msg, "");
	assert_null(history_statement(l, 3, NULL, &err));	/* not a statement */
	assert_string_equal(err.msg, "");
	j = history_statement(l, 2, "bolt", &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
		json_object_get(j, "statement"), "lines"), 0), "host")), "bolt-1");
	json_decref(j);
	j = history_statement(l, 4, "acme", &err);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "statement"),
							  "provider_share_minor")), 650);
	json_decref(j);

	ledger_close(l);
	tmpdir_release(&t);
}

/*
 * Runs, the latest first: what run.end says, and drift: a change that
 * wants of an object what the last change of it wanted.
 */
static void
test_runs(void **state)
{
	struct tmpdir t;
	struct ledger *l;
	struct berr err;
	const json_t *r;
	json_t *j;

	(void)state;
	assert_int_equal(tmpdir_init(&t, "scope-runs"), 0);
	assert_int_equal(ledger_open(t.state, &l, &err), 0);
	append(l, "run.start", "r-1", NULL, "apply", NULL, NULL);
	append(l, "change.intent", "r-1", "host/h/profile/p", "create", json_pack("{s:i}", "a", 1),
	       NULL);
	append(l, "change.result", "r-1", "host/h/profile/p", "create", NULL, "ok");
	append(l, "run.end", "r-1", NULL, "apply", json_pack("{s:i, s:i, s:i, s:i}", "changes", 1,
	       "failed", 0, "stale", 0, "not_attempted", 0), "ok");
	append(l, "run.start", "r-2", NULL, "reconcile", NULL, NULL);
	/* edited behind berth's back: the same wanted again */
	append(l, "change.intent", "r-2", "host/h/profile/p", "update", json_pack("{s:i}", "a", 1),
	       NULL);
	/* new in git */
	append(l, "change.intent", "r-2", "host/h/profile/q", "create", json_pack("{s:i}", "b", 2),
	       NULL);
	append(l, "run.end", "r-2", NULL, "reconcile", json_pack("{s:i, s:i, s:i, s:i}", "changes",
	       1, "failed", 1, "stale", 0, "not_attempted", 0), "failed");
	append(l, "run.start", "r-3", NULL, "apply", NULL, NULL);	/* killed */

	j = history_runs(l, 10, &err);
	assert_non_null(j);
	ASSERT_NAMES(json_object_get(j, "runs"), "run_id", "r-3,r-2,r-1");
	r = json_array_get(json_object_get(j, "runs"), 1);
	assert_string_equal(json_string_value(json_object_get(r, "mode")), "reconcile");
	assert_string_equal(json_string_value(json_object_get(r, "result")), "failed");
	assert_string_equal(json_string_value(json_object_get(r, "commit")),
			    "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(json_integer_value(json_object_get(r, "changes")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "failed")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "intents")), 2);
	assert_int_equal(json_integer_value(json_object_get(r, "drift")), 1);
	r = json_array_get(json_object_get(j, "runs"), 2);
	assert_int_equal(json_integer_value(json_object_get(r, "drift")), 0);
	r = json_array_get(json_object_get(j, "runs"), 0);
	assert_true(json_is_null(json_object_get(r, "ended")));
	assert_true(json_is_null(json_object_get(r, "result")));
	assert_true(json_is_null(json_object_get(r, "changes")));
	json_decref(j);

	j = history_runs(l, 1, &err);
	ASSERT_NAMES(json_object_get(j, "runs"), "run_id", "r-3");
	json_decref(j);
	j = history_ledger(l, 2, &err);
	assert_int_equal(json_array_size(json_object_get(j, "entries")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
		"entries"), 1), "seq")), 9);
	json_decref(j);
	ledger_close(l);
	tmpdir_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider_sees_its_own),
		cmocka_unit_test(test_other_provider_and_platform),
		cmocka_unit_test(test_admin_sees_all),
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_runs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
