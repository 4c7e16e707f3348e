/*
 * test-place.c - placement (sched/place.c) on the fleet of
 * tests/data/place/fleet/ with reports made by hand: every reason code,
 * spread and pack, ties by name, earlier placements counting as allocated,
 * the summary line and the JSON.
 *
 * The fleet: pool "web" (spread, agent required) holds a-1, a-2, a-3 and
 * acme-1 (acme's), all 4 cpu, 8GiB, 100GiB, and one host per reason
 * (pend-1, rej-1, cord-1, drain-1, off-1, na-1, sto-1, small-1 with 1GiB);
 * out-1 is in no pool. Pool "dense" (pack) holds a-1..a-3; pool "shut"
 * (closed) holds a-1. Offers: s and big on web, p on dense, old (retired)
 * and acme-s (acme's) on web, shut-s on shut.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"
#include "sched/place.h"
#include "sched/status.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define GiB		(UINT64_C(1) << 30)
#define NOW		INT64_C(1795323600000)	/* 2026-11-22T05:00:00Z */

static struct manifest_result res;

static const char *const reported[] = {
	"a-1", "a-2", "a-3", "acme-1", "pend-1", "rej-1", "cord-1", "drain-1",
	"off-1", "sto-1", "small-1", "out-1",
};
#define NREP (sizeof(reported) / sizeof(reported[0]))

static struct report reps[NREP];
static struct report_pool pools[NREP];
static struct host_report hrs[NREP];
static struct status *st;

static int
setup(void **state)
{
	struct source_opts so;
	struct diags d = DIAGS_INIT;
	struct berr err;
	size_t i;

	(void)state;
	memset(&so, 0, sizeof(so));
	so.repo = SOURCE_ROOT;
	so.path = "tests/data/place/fleet";
	so.worktree = 1;
	if (manifest_load(&so, MANIFEST_CHECK, &res, &d, &err) < 0 || d.nerrors)
		return -1;
	diags_release(&d);
	for (i = 0; i < NREP; i++) {
		reps[i].schema = 1;
		reps[i].host = reported[i];
		reps[i].interval_s = 30;
		reps[i].cpu_threads = 4;
		reps[i].mem_total = 8 * GiB;
		pools[i].name = "incus";
		pools[i].driver = "dir";
		pools[i].total = 100 * GiB;
		if (!strcmp(reported[i], "sto-1")) {
			pools[i].total = 0;
			pools[i].error = "Storage pool is unavailable on this server";
		}
		reps[i].pools = &pools[i];
		reps[i].npools = 1;
		hrs[i].host = reported[i];
		hrs[i].report = &reps[i];
		/* off-1 last reported 10 minutes ago: offline */
		hrs[i].received_ms = strcmp(reported[i], "off-1") ? NOW : NOW - 600000;
	}
	st = status_build(res.fleet, hrs, NREP, NOW);
	return st ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	status_free(st);
	manifest_result_release(&res);
	return 0;
}

static const struct m_offer *
offer(const char *name)
{
	const struct m_offer *o = fleet_offer(res.fleet, name);

	assert_non_null(o);
	return o;
}

static const struct place_host *
host_of(const struct place_decision *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nhosts; i++)
		if (!strcmp(d->hosts[i].host->host->meta.name, name))
			return &d->hosts[i];
	fail_msg("no host %s in the decision", name);
	return NULL;
}

/* The codes of h's reasons before the decision, joined by ",". */
static void
codes(const struct place_check *c, char *out, size_t outlen)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < c->nreasons; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? "," : "",
				      place_code_name(c->reasons[i].code));
}

static void
expect_codes(const struct place_decision *d, const char *host, const char *want)
{
	char got[512];

	codes(&host_of(d, host)->before, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("%s: want reasons \"%s\", have \"%s\"", host, want, got);
}

static void
test_reasons(void **state)
{
	struct placer p;
	struct place_decision d;
	const struct place_reason *r;

	(void)state;
	placer_init(&p, st);
	place_decide(&p, offer("s"), 1, &d);
	expect_codes(&d, "a-1", "");
	expect_codes(&d, "acme-1", "");
	expect_codes(&d, "pend-1", "review-pending");
	expect_codes(&d, "rej-1", "review-rejected");
	expect_codes(&d, "cord-1", "cordoned");
	expect_codes(&d, "drain-1", "draining");
	expect_codes(&d, "off-1", "agent-offline");
	expect_codes(&d, "na-1", "no-agent");
	expect_codes(&d, "sto-1", "storage-unavailable");
	expect_codes(&d, "small-1", "insufficient-memory");
	expect_codes(&d, "out-1", "not-in-pool");
	assert_int_equal(d.neligible, 4);
	r = &host_of(&d, "small-1")->before.reasons[0];
	assert_int_equal(r->want, 2 * GiB);
	assert_int_equal(r->free, (int64_t)GiB);
	place_decision_release(&d);

	place_decide(&p, offer("acme-s"), 1, &d);
	expect_codes(&d, "a-1", "provider-mismatch");
	expect_codes(&d, "acme-1", "");
	assert_string_equal(d.placements[0]->host->meta.name, "acme-1");
	place_decision_release(&d);

	place_decide(&p, offer("old"), 1, &d);
	expect_codes(&d, "a-2", "plan-retired");
	expect_codes(&d, "cord-1", "cordoned,plan-retired");
	assert_int_equal(d.nplaced, 0);
	place_decision_release(&d);

	place_decide(&p, offer("shut-s"), 1, &d);
	expect_codes(&d, "a-1", "supply-closed");
	expect_codes(&d, "a-2", "not-in-pool");
	place_decision_release(&d);

	place_decide(&p, offer("big"), 1, &d);
	expect_codes(&d, "small-1", "insufficient-memory");
	place_decision_release(&d);
	placer_release(&p);
}

static void
expect_order(const struct place_decision *d, const char *const *want, size_t n)
{
	size_t i;

	assert_int_equal(d->nplaced, n);
	for (i = 0; i < n; i++)
		if (strcmp(d->placements[i]->host->meta.name, want[i]))
			fail_msg("placement %zu: want %s, have %s", i, want[i],
				 d->placements[i]->host->meta.name);
}

static void
test_spread(void **state)
{
	static const char *const want[] = {
		"a-1", "a-2", "a-3", "acme-1", "a-1", "a-2", "a-3", "acme-1",
	};
	struct placer p;
	struct place_decision d;

	(void)state;
	placer_init(&p, st);
	place_decide(&p, offer("s"), 8, &d);
	expect_order(&d, want, 8);
	assert_int_equal(host_of(&d, "a-1")->placed, 2);
	assert_int_equal(host_of(&d, "acme-1")->placed, 2);
	place_decision_release(&d);
	placer_release(&p);
}

static void
test_pack(void **state)
{
	static const char *const want[] = { "a-1", "a-1", "a-1", "a-1", "a-2" };
	struct placer p;
	struct place_decision d;

	(void)state;
	placer_init(&p, st);
	place_decide(&p, offer("p"), 5, &d);
	expect_order(&d, want, 5);
	assert_false(host_of(&d, "a-1")->after.eligible);
	assert_true(host_of(&d, "a-2")->after.eligible);
	place_decision_release(&d);
	placer_release(&p);
}

/* Placements of one decision count in the next: no two take the last slot. */
static void
test_earlier_placements_count(void **state)
{
	static const char *const want[] = { "a-1", "a-1", "a-2", "a-2", "a-3", "a-3" };
	struct placer p;
	struct place_decision d;

	(void)state;
	placer_init(&p, st);
	place_decide(&p, offer("s"), 8, &d);	/* 2 on each of a-1..a-3, acme-1 */
	place_decision_release(&d);
	place_decide(&p, offer("p"), 7, &d);	/* 2 slots left on each of a-1..a-3 */
	expect_order(&d, want, 6);
	assert_int_equal(d.count - d.nplaced, 1);
	assert_int_equal(host_of(&d, "a-1")->before.free[RES_MEMORY], (int64_t)(4 * GiB));
	place_decision_release(&d);
	placer_release(&p);
}

static void
test_summary(void **state)
{
	struct placer p;
	struct place_decision d;
	char *s;

	(void)state;
	placer_init(&p, st);
	place_decide(&p, offer("shut-s"), 1, &d);
	s = place_summary(&d);
	assert_string_equal(s, "0 of 1 hosts can take shut-s: a-1 supply-closed; placed 0 of 1");
	free(s);
	place_decision_release(&d);

	place_decide(&p, offer("s"), 1, &d);
	s = place_summary(&d);
	assert_string_equal(s, "4 of 12 hosts can take s: 1 review-pending, 1 review-rejected, "
			    "1 cordoned, 1 draining, 1 agent-offline, 1 no-agent, "
			    "1 storage-unavailable, 1 insufficient-memory");
	free(s);
	place_decision_release(&d);

	/* Fill dense, then one more: the summary says why it stopped. */
	place_decide(&p, offer("p"), 13, &d);
	s = place_summary(&d);
	assert_string_equal(s, "3 of 3 hosts can take p; placed 11 of 13: "
			    "a-1 insufficient-cpu (want 1, free 0), "
			    "a-2 insufficient-cpu (want 1, free 0), "
			    "a-3 insufficient-cpu (want 1, free 0)");
	free(s);
	place_decision_release(&d);
	placer_release(&p);
}

static void
test_json(void **state)
{
	struct placer p;
	struct place_decision d;
	json_t *j, *h, *r;
	size_t i;

	(void)state;
	placer_init(&p, st);
	place_decide(&p, offer("big"), 2, &d);
	j = place_decision_to_json(&d);
	assert_string_equal(json_string_value(json_object_get(j, "format_version")), "1.0");
	assert_string_equal(json_string_value(json_object_get(j, "plan")), "big");
	assert_int_equal(json_array_size(json_object_get(j, "placements")), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(j, "placements"), 0), "host")), "a-1");
	assert_int_equal(json_integer_value(json_object_get(j, "unplaced")), 0);
	json_array_foreach(json_object_get(j, "hosts"), i, h) {
		const char *name = json_string_value(json_object_get(h, "host"));

		if (!strcmp(name, "small-1")) {
			assert_false(json_is_true(json_object_get(h, "eligible")));
			r = json_array_get(json_object_get(h, "reasons"), 0);
			assert_string_equal(json_string_value(json_object_get(r, "code")),
					    "insufficient-memory");
			assert_int_equal(json_integer_value(json_object_get(r, "want")), 4 * GiB);
			assert_int_equal(json_integer_value(json_object_get(r, "free")), GiB);
		} else if (!strcmp(name, "a-1")) {
			assert_true(json_is_true(json_object_get(h, "eligible")));
			assert_null(json_object_get(h, "reasons"));
			assert_int_equal(json_integer_value(json_object_get(
				json_object_get(h, "free"), "cpu")), 4);
			assert_int_equal(json_integer_value(json_object_get(h, "placed")), 1);
		} else if (!strcmp(name, "out-1")) {
			assert_null(json_object_get(h, "free"));
		}
	}
	/* hosts sorted by name */
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(j, "hosts"), 0), "host")), "a-1");
	json_decref(j);
	place_decision_release(&d);
	placer_release(&p);
}

/* The body of POST /v1/place: what is taken, and each refusal's words. */
static void
test_request(void **state)
{
	static const struct { const char *body, *plan, *err; size_t count; } cases[] = {
		{ "{\"plan\":\"s\",\"count\":3}", "s", NULL, 3 },
		{ "{\"plan\":\"s\"}", "s", NULL, 1 },
		{ "{\"plan\":\"s\",\"count\":0}", NULL, "count: want an integer from 1 to 100000", 0 },
		{ "{\"plan\":\"s\",\"count\":100001}", NULL, "count: want an integer from 1 to 100000", 0 },
		{ "{\"plan\":\"s\",\"count\":\"2\"}", NULL, "count: want an integer from 1 to 100000", 0 },
		{ "{\"plan\":7}", NULL, "plan: want the name of a Plan", 0 },
		{ "{\"plan\":\"\"}", NULL, "plan: want the name of a Plan", 0 },
		{ "{\"plan\":\"a\",\"plan\":\"b\"}", NULL,
		  "want a JSON object like {\"plan\": \"vps-s\", \"count\": 1}", 0 },
		{ "[1,2", NULL, "want a JSON object like {\"plan\": \"vps-s\", \"count\": 1}", 0 },
		{ "", NULL, "want a JSON object like {\"plan\": \"vps-s\", \"count\": 1}", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct berr err;
		char *plan = NULL;
		size_t count = 0;
		int r = place_request_parse(cases[i].body, strlen(cases[i].body), &plan, &count, &err);

		if (cases[i].plan) {
			assert_int_equal(r, 0);
			assert_string_equal(plan, cases[i].plan);
			assert_int_equal(count, cases[i].count);
		} else {
			assert_int_equal(r, -1);
			assert_null(plan);
			assert_string_equal(err.msg, cases[i].err);
		}
		free(plan);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_earlier_placements_count),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests_name("place", tests, setup, teardown);
}
