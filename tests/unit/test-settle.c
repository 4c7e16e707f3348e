/*
 * test-settle.c - billing cycles by the calendar, exact accrual, the one
 * rounding and the split, against amounts computed by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "helpers.h"
#include "ledger/ledger.h"
#include "settle/gather.h"

#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "settle/amount.h"
#include "settle/calendar.h"
#include "settle/spans.h"
#include "settle/statement.h"
#include "settle/terms.h"

/* Seconds of a UTC date and time. */
static int64_t
at(int64_t y, unsigned m, unsigned d, int hh, int mm, int ss)
{
	return days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

#define DAY 86400LL

static void
test_civil(void **state)
{
	int64_t y, z;
	unsigned m, d;

	(void)state;
	assert_int_equal(days_from_civil(1970, 1, 1), 0);
	assert_int_equal(days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(days_from_civil(2024, 2, 29) + 1, days_from_civil(2024, 3, 1));
	/* every day of four centuries round-trips, in order */
	for (z = days_from_civil(1970, 1, 1); z < days_from_civil(2370, 1, 1); z++) {
		civil_from_days(z, &y, &m, &d);
		assert_true(d >= 1 && d <= days_in_month(y, m));
		assert_int_equal(days_from_civil(y, m, d), z);
	}
	assert_int_equal(days_in_month(2024, 2), 29);
	assert_int_equal(days_in_month(2100, 2), 28);
	assert_int_equal(days_in_month(2000, 2), 29);
	assert_int_equal(days_in_month(2026, 4), 30);
}

static void
test_cycle_anchor_31(void **state)
{
	int64_t a = at(2024, 1, 31, 10, 0, 0);

	(void)state;
	/* Jan 31 anchor: Feb 29 (2024 is a leap year), Mar 31, Apr 30, ... */
	assert_int_equal(cycle_start(CYCLE_MONTHLY, a, 0), a);
	assert_int_equal(cycle_start(CYCLE_MONTHLY, a, 1), at(2024, 2, 29, 10, 0, 0));
	assert_int_equal(cycle_start(CYCLE_MONTHLY, a, 2), at(2024, 3, 31, 10, 0, 0));
	assert_int_equal(cycle_start(CYCLE_MONTHLY, a, 3), at(2024, 4, 30, 10, 0, 0));
	assert_int_equal(cycle_start(CYCLE_MONTHLY, a, 13), at(2025, 2, 28, 10, 0, 0));
	assert_int_equal(cycle_start(CYCLE_QUARTERLY, a, 1), at(2024, 4, 30, 10, 0, 0));
	assert_int_equal(cycle_start(CYCLE_SEMIANNUAL, a, 1), at(2024, 7, 31, 10, 0, 0));
	assert_int_equal(cycle_start(CYCLE_YEARLY, at(2024, 2, 29, 0, 0, 0), 1),
			 at(2025, 2, 28, 0, 0, 0));
	assert_int_equal(cycle_start(CYCLE_YEARLY, at(2024, 2, 29, 0, 0, 0), 4),
			 at(2028, 2, 29, 0, 0, 0));
	assert_int_equal(cycle_start(CYCLE_HOURLY, a, 5), a + 5 * 3600);
	assert_int_equal(cycle_start(CYCLE_MONTHLY, a, 12 * 9000), -1);
	/* the cycle holding a time */
	assert_int_equal(cycle_at(CYCLE_MONTHLY, a, a), 0);
	assert_int_equal(cycle_at(CYCLE_MONTHLY, a, at(2024, 2, 29, 9, 59, 59)), 0);
	assert_int_equal(cycle_at(CYCLE_MONTHLY, a, at(2024, 2, 29, 10, 0, 0)), 1);
	assert_int_equal(cycle_at(CYCLE_MONTHLY, a, at(2024, 12, 31, 10, 0, 0)), 11);
	assert_int_equal(cycle_at(CYCLE_MONTHLY, a, at(2024, 12, 31, 9, 0, 0)), 10);
	assert_int_equal(cycle_at(CYCLE_HOURLY, a, a + 7199), 1);
}

static void
test_cycle_at_walks(void **state)
{
	int64_t a = at(2023, 8, 31, 23, 59, 59), k, t;
	enum cycle cs[] = { CYCLE_MONTHLY, CYCLE_QUARTERLY, CYCLE_SEMIANNUAL, CYCLE_YEARLY };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		for (k = 0; k < 60; k++) {
			t = cycle_start(cs[i], a, k);
			assert_true(t < cycle_start(cs[i], a, k + 1));
			assert_int_equal(cycle_at(cs[i], a, t), k);
			assert_int_equal(cycle_at(cs[i], a, t - 1), k ? k - 1 : 0);
		}
}

static void
test_round_half_even(void **state)
{
	struct amount a = AMOUNT_ZERO;
	int64_t r;

	(void)state;
	amount_add_share(&a, 5, 1, 2);		/* 2.5 */
	assert_int_equal(amount_round(&a, &r), 0);
	assert_int_equal(r, 2);
	amount_add_share(&a, 1, 1, 1);		/* 3.5 */
	amount_round(&a, &r);
	assert_int_equal(r, 4);
	amount_add_share(&a, 1, 1, 1000);	/* 3.501 */
	amount_round(&a, &r);
	assert_int_equal(r, 4);
	a = (struct amount)AMOUNT_ZERO;
	amount_add_share(&a, 1, 499, 1000);	/* 0.499 */
	amount_round(&a, &r);
	assert_int_equal(r, 0);
	/* thirds add up exactly: 1/3 + 1/3 + 1/3 = 1 */
	a = (struct amount)AMOUNT_ZERO;
	amount_add_share(&a, 1, 1, 3);
	amount_add_share(&a, 1, 1, 3);
	amount_add_share(&a, 1, 1, 3);
	assert_true(a.num == 1 && a.den == 1);
	/* refusals */
	assert_int_equal(amount_add_share(&a, -1, 1, 1), -1);
	assert_int_equal(amount_add_share(&a, 1, 2, 1), -1);
	assert_int_equal(amount_add_share(&a, 1, 0, 0), -1);
	a.num = (amount_u128)INT64_MAX + 1;
	a.den = 1;
	assert_int_equal(amount_round(&a, &r), -1);
}

static void
test_accrue(void **state)
{
	struct amount a = AMOUNT_ZERO;
	int64_t r;

	(void)state;
	/* A whole cycle is the price: Feb 2024 anchored on the 1st. */
	assert_int_equal(amount_accrue(&a, 999, CYCLE_MONTHLY, at(2024, 2, 1, 0, 0, 0),
				       at(2024, 2, 1, 0, 0, 0), at(2024, 3, 1, 0, 0, 0)), 0);
	assert_true(a.num == 999 && a.den == 1);

	/* One day of February 2024 (29 days) at 10.00 EUR: 1000/29 = 34.48... */
	a = (struct amount)AMOUNT_ZERO;
	amount_accrue(&a, 1000, CYCLE_MONTHLY, at(2024, 1, 31, 0, 0, 0),
		      at(2024, 3, 1, 0, 0, 0), at(2024, 3, 2, 0, 0, 0));
	/* Mar 1 lies in the cycle Feb 29 .. Mar 31 (31 days): 1000/31 */
	assert_true(a.num == 1000 && a.den == 31);
	amount_round(&a, &r);
	assert_int_equal(r, 32);

	/* November 2026 for an instance anchored on Oct 15 at 7.00: the cycle
	 * Oct 15 .. Nov 15 (31 days) for 14 days and Nov 15 .. Dec 15 (30
	 * days) for 16 days: 700*14/31 + 700*16/30 = 9800/31 + 1120/3
	 * = (29400 + 34720)/93 = 64120/93 = 689.46 -> 689 */
	a = (struct amount)AMOUNT_ZERO;
	amount_accrue(&a, 700, CYCLE_MONTHLY, at(2026, 10, 15, 0, 0, 0),
		      at(2026, 11, 1, 0, 0, 0), at(2026, 12, 1, 0, 0, 0));
	assert_true(a.num == 64120 && a.den == 93);
	amount_round(&a, &r);
	assert_int_equal(r, 689);

	/* hourly: 90 minutes at 0.10 = 15 cents, exactly */
	a = (struct amount)AMOUNT_ZERO;
	amount_accrue(&a, 10, CYCLE_HOURLY, at(2026, 11, 3, 12, 20, 0),
		      at(2026, 11, 3, 12, 20, 0), at(2026, 11, 3, 13, 50, 0));
	assert_true(a.num == 15 && a.den == 1);

	/* JPY yearly 12,000 for one day of a leap year's cycle: 12000/366 */
	a = (struct amount)AMOUNT_ZERO;
	amount_accrue(&a, 12000, CYCLE_YEARLY, at(2024, 1, 1, 0, 0, 0),
		      at(2024, 6, 1, 0, 0, 0), at(2024, 6, 2, 0, 0, 0));
	assert_true(a.num == 2000 && a.den == 61);
	amount_round(&a, &r);
	assert_int_equal(r, 33);

	/* a window that starts before the anchor is refused */
	assert_int_equal(amount_accrue(&a, 1, CYCLE_MONTHLY, 1000, 999, 2000), -1);
	assert_int_equal(amount_accrue(&a, 1, CYCLE_MONTHLY, 1000, 2000, 1999), -1);
}

/* A whole month of an instance anchored anywhere sums to exactly the price
 * over the cycles it crosses; an empty window adds nothing. */
static void
test_accrue_sums(void **state)
{
	int64_t a = at(2023, 1, 31, 6, 30, 0), k;
	struct amount whole = AMOUNT_ZERO, parts = AMOUNT_ZERO;

	(void)state;
	for (k = 0; k < 14; k++) {
		int64_t s = cycle_start(CYCLE_MONTHLY, a, k), e = cycle_start(CYCLE_MONTHLY, a, k + 1);

		assert_int_equal(amount_accrue(&parts, 1234, CYCLE_MONTHLY, a, s, s + (e - s) / 3), 0);
		assert_int_equal(amount_accrue(&parts, 1234, CYCLE_MONTHLY, a, s + (e - s) / 3, e), 0);
		assert_int_equal(amount_accrue(&parts, 1234, CYCLE_MONTHLY, a, e, e), 0);
	}
	assert_int_equal(amount_accrue(&whole, 1234, CYCLE_MONTHLY, a, a,
				       cycle_start(CYCLE_MONTHLY, a, 14)), 0);
	assert_true(whole.num == 1234 * 14 && whole.den == 1);
	assert_true(parts.num == whole.num && parts.den == whole.den);
}

static void
test_split(void **state)
{
	int64_t s, f, g;
	uint32_t bp;

	(void)state;
	amount_split(5, 7000, &s, &f);		/* 3.5 + 1.5: 4 + 1 */
	assert_int_equal(s, 4);
	assert_int_equal(f, 1);
	amount_split(689, 7000, &s, &f);	/* README: 482.3 + 206.7 -> 482 + 207 */
	assert_int_equal(s, 482);
	assert_int_equal(f, 207);
	amount_split(1, 7000, &s, &f);		/* 0.7 + 0.3 */
	assert_int_equal(s, 1);
	assert_int_equal(f, 0);
	amount_split(1, 3000, &s, &f);
	assert_int_equal(s, 0);
	assert_int_equal(f, 1);
	amount_split(1, 5000, &s, &f);		/* a tie: the share */
	assert_int_equal(s, 1);
	amount_split(3, 5000, &s, &f);
	assert_int_equal(s, 2);
	assert_int_equal(f, 1);
	amount_split(101, 10000, &s, &f);
	assert_int_equal(s, 101);
	assert_int_equal(f, 0);
	amount_split(101, 0, &s, &f);
	assert_int_equal(s, 0);
	amount_split(INT64_MAX, 3333, &s, &f);
	assert_int_equal(s + f, INT64_MAX);
	/* lines at several shares: 1 at 70% and 1 at 60%, 1.3 of 2 */
	amount_split_exact(2, 13000, &s, &f);
	assert_true(s == 1 && f == 1);
	amount_split_exact(2, 15000, &s, &f);	/* 1.5 + 0.5: a tie, to the larger */
	assert_true(s == 2 && f == 0);
	for (g = 0; g < 300; g++)
		for (bp = 0; bp <= 10000; bp += 37) {
			amount_split(g, bp, &s, &f);
			assert_int_equal(s + f, g);
			/* each part within one unit of its exact share */
			assert_true(s * 10000 <= g * (int64_t)bp + 10000 &&
				    s * 10000 >= g * (int64_t)bp - 10000);
		}
}

#define GIB (1024ULL * 1024 * 1024)

static const struct settle_provider providers[] = {
	{ "acme", 7000, 14 * DAY },
	{ "platform", 0, 0 },
};

static struct settle_snapshot
snap(const char *version, int64_t price, const char *currency, enum cycle c, int64_t placed)
{
	struct settle_snapshot s = { "vps-s", version, price, currency, c, placed, 0, 0, 0 };

	return s;
}

/* settle in over November 2026 (or in's own period when set). */
static json_t *
settle(struct settle_input *in)
{
	struct berr err;
	json_t *j;

	if (!in->from && !in->to) {
		in->from = at(2026, 11, 1, 0, 0, 0);
		in->to = at(2026, 12, 1, 0, 0, 0);
	}
	in->providers = providers;
	in->nproviders = 2;
	j = settle_compute(in, &err);
	if (!j)
		fail_msg("settle_compute: %s", err.msg);
	return j;
}

static json_int_t
num(const json_t *st, const char *key)
{
	const json_t *v = json_object_get(st, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *
str(const json_t *st, const char *key)
{
	return json_string_value(json_object_get(st, key));
}

/* Statement i of j, which has n. */
static json_t *
statement(json_t *j, size_t n, size_t i)
{
	assert_int_equal(json_array_size(j), n);
	return json_array_get(j, i);
}

/* Line i of st, of kind, with amount minor. */
static void
line_is(const json_t *st, size_t i, const char *instance, const char *host, const char *kind,
	json_int_t count, json_int_t minor)
{
	const json_t *l = json_array_get(json_object_get(st, "lines"), i);

	assert_non_null(l);
	assert_string_equal(str(l, "instance"), instance);
	assert_string_equal(str(l, "host"), host);
	assert_string_equal(str(l, "kind"), kind);
	assert_int_equal(num(l, strcmp(kind, "traffic") ? "seconds" : "bytes"), count);
	assert_int_equal(num(l, "amount_minor"), minor);
}

static void
totals_are(const json_t *st, json_int_t gross, json_int_t share, json_int_t fee)
{
	assert_int_equal(num(st, "gross_minor"), gross);
	assert_int_equal(num(st, "provider_share_minor"), share);
	assert_int_equal(num(st, "platform_fee_minor"), fee);
	assert_int_equal(share + fee, gross);
}

/* A full month; one created and one deleted mid-month; a plan price edited
 * mid-month (the old instance keeps its price). */
static void
test_statement_month(void **state)
{
	struct settle_snapshot old = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_snapshot edited = snap("v2", 1200, "EUR", CYCLE_MONTHLY,
					     at(2026, 11, 16, 0, 0, 0));
	struct settle_snapshot gone = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_span sp[] = {
		{ "full", "h1", "acme", &old, at(2026, 10, 1, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
		{ "new", "h1", "acme", &edited, at(2026, 11, 16, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
		{ "old", "h1", "acme", &gone, at(2026, 10, 1, 0, 0, 0), at(2026, 11, 11, 0, 0, 0), 0, NULL },
	};
	struct settle_input in = { .spans = sp, .nspans = 3 };
	json_t *j = settle(&in), *st;

	(void)state;
	st = statement(j, 1, 0);
	assert_string_equal(str(st, "provider"), "acme");
	assert_string_equal(str(st, "currency"), "EUR");
	line_is(st, 0, "full", "h1", "usage", 30 * DAY, 1000);
	/* Nov 16 .. Dec 16 is 30 days, 15 of them in November: 1200 / 2 */
	line_is(st, 1, "new", "h1", "usage", 15 * DAY, 600);
	/* 10 days of the cycle Nov 1 .. Dec 1: 1000/3 = 333.33 */
	line_is(st, 2, "old", "h1", "usage", 10 * DAY, 333);
	/* 1933 at 70/30: 1353.1 + 579.9 -> 1353 + 580 */
	totals_are(st, 1933, 1353, 580);
	assert_string_equal(str(st, "gross"), "19.33");
	assert_string_equal(str(st, "payable_after"), "2026-12-15T00:00:00Z");
	assert_int_equal(strlen(str(st, "hash")), 64);
	json_decref(j);
}

/* February of a leap year, and a monthly cycle anchored on the 31st. */
static void
test_statement_february(void **state)
{
	struct settle_snapshot s15 = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2024, 1, 15, 0, 0, 0));
	struct settle_snapshot s31 = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 1, 31, 0, 0, 0));
	struct settle_span a = { "leap", "p1", "platform", &s15, at(2024, 1, 15, 0, 0, 0),
				 at(2024, 6, 1, 0, 0, 0), 0, NULL };
	struct settle_span b = { "late", "p1", "platform", &s31, at(2026, 1, 31, 0, 0, 0),
				 at(2026, 6, 1, 0, 0, 0), 0, NULL };
	struct settle_input in = { .from = at(2024, 2, 1, 0, 0, 0), .to = at(2024, 3, 1, 0, 0, 0),
				   .spans = &a, .nspans = 1 };
	json_t *j = settle(&in), *st;

	(void)state;
	/* 14 of 31 days (Jan 15 .. Feb 15) and 15 of 29 (Feb 15 .. Mar 15):
	 * 14000/31 + 15000/29 = 871000/899 = 968.85 */
	st = statement(j, 1, 0);
	line_is(st, 0, "leap", "p1", "usage", 29 * DAY, 969);
	totals_are(st, 969, 0, 969);
	json_decref(j);

	in = (struct settle_input){ .from = at(2026, 2, 1, 0, 0, 0), .to = at(2026, 3, 1, 0, 0, 0),
				    .spans = &b, .nspans = 1 };
	j = settle(&in);
	/* 27 of 28 days (Jan 31 .. Feb 28) and 1 of 31 (Feb 28 .. Mar 31):
	 * 27000/28 + 1000/31 = 216250/217 = 996.54 */
	st = statement(j, 1, 0);
	line_is(st, 0, "late", "p1", "usage", 28 * DAY, 997);
	json_decref(j);
}

/* Moved from a provider's host to a platform host mid-month; a host
 * offline for a day. */
static void
test_statement_move_offline(void **state)
{
	struct settle_snapshot s = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_span sp[] = {
		{ "mover", "h1", "acme", &s, at(2026, 10, 1, 0, 0, 0), at(2026, 11, 16, 0, 0, 0), 0, NULL },
		{ "mover", "p1", "platform", &s, at(2026, 11, 16, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
		{ "stay", "h2", "acme", &s, at(2026, 10, 1, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
	};
	struct settle_offline off[] = {
		{ "h2", at(2026, 11, 10, 0, 0, 0), at(2026, 11, 11, 0, 0, 0) },
		{ "h2", at(2026, 11, 10, 12, 0, 0), at(2026, 11, 10, 18, 0, 0) },	/* inside */
		{ "h1", at(2026, 12, 2, 0, 0, 0), at(2026, 12, 3, 0, 0, 0) },	/* after */
	};
	struct settle_input in = { .spans = sp, .nspans = 3, .offline = off, .noffline = 3 };
	json_t *j = settle(&in), *st;

	(void)state;
	st = statement(j, 2, 0);
	assert_string_equal(str(st, "provider"), "acme");
	line_is(st, 0, "mover", "h1", "usage", 15 * DAY, 500);
	/* 29 days online: 966.67; one day offline: 33.33 */
	line_is(st, 1, "stay", "h2", "usage", 29 * DAY, 967);
	line_is(st, 2, "stay", "h2", "offline", DAY, 33);
	/* gross 1500; paid on 1467 at 70%: 1026.9 -> 1027 */
	totals_are(st, 1500, 1027, 473);
	st = statement(j, 2, 1);
	assert_string_equal(str(st, "provider"), "platform");
	line_is(st, 0, "mover", "p1", "usage", 15 * DAY, 500);
	totals_are(st, 500, 0, 500);
	json_decref(j);
}

/* Traffic beyond the allowance across a counter reset (the intake's deltas),
 * in any order; the month before does not count against November's. */
static void
test_statement_traffic(void **state)
{
	struct settle_snapshot s = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_span sp = { "net", "h1", "acme", &s, at(2026, 10, 1, 0, 0, 0),
				  at(2027, 1, 1, 0, 0, 0), 0, NULL };
	struct settle_traffic tr[] = {
		{ "net", "h1", at(2026, 10, 20, 0, 0, 0), 20 * GIB, 0 },	/* October's */
		{ "net", "h1", at(2026, 11, 5, 0, 0, 0), 6 * GIB, 0 },
		{ "net", "h1", at(2026, 11, 20, 0, 0, 0), 6 * GIB, 0 },	/* after a reboot */
		{ "net", "h1", at(2026, 11, 25, 0, 0, 0), GIB / 2, 0 },
		{ "net", "h9", at(2026, 11, 25, 0, 0, 0), 99 * GIB, 0 },	/* no span there */
	};
	struct settle_input in = { .spans = &sp, .nspans = 1, .traffic = tr, .ntraffic = 5 };
	json_t *j, *st;
	char *first;
	size_t i;

	(void)state;
	s.traffic = 10 * GIB;
	s.overage = 150;		/* 1.50 EUR */
	s.overage_per = GIB;
	j = settle(&in);
	st = statement(j, 1, 0);
	line_is(st, 0, "net", "h1", "usage", 30 * DAY, 1000);
	/* 2 GiB over on Nov 20 and 0.5 GiB on Nov 25: 2.5 x 1.50 = 3.75 */
	line_is(st, 1, "net", "h1", "traffic", (json_int_t)(5 * GIB / 2), 375);
	totals_are(st, 1375, 963, 412);
	first = settle_canonical(j);
	json_decref(j);
	/* reversed: the same statement */
	for (i = 0; i < 2; i++) {
		struct settle_traffic t = tr[i];

		tr[i] = tr[4 - i];
		tr[4 - i] = t;
	}
	j = settle(&in);
	{
		char *again = settle_canonical(j);

		assert_string_equal(first, again);
		free(again);
	}
	free(first);
	json_decref(j);
}

/* A billing month across the period's start: bytes before the period use
 * up the allowance, those after it are charged, on the host that counted
 * them. */
static void
test_statement_traffic_straddle(void **state)
{
	struct settle_snapshot s = snap("v1", 3000, "EUR", CYCLE_MONTHLY, at(2026, 10, 15, 0, 0, 0));
	struct settle_span sp[] = {
		{ "mid", "h1", "acme", &s, at(2026, 10, 15, 0, 0, 0), at(2026, 11, 3, 0, 0, 0), 0, NULL },
		{ "mid", "p1", "platform", &s, at(2026, 11, 3, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
	};
	struct settle_traffic tr[] = {
		{ "mid", "p1", at(2026, 11, 5, 0, 0, 0), 4 * GIB, 0 },	/* 2 GiB over */
		{ "mid", "h1", at(2026, 10, 20, 0, 0, 0), 8 * GIB, 0 },	/* before the period */
		{ "mid", "p1", at(2026, 11, 16, 0, 0, 0), 3 * GIB, 0 },	/* a new billing month */
	};
	struct settle_input in = { .spans = sp, .nspans = 2, .traffic = tr, .ntraffic = 3 };
	json_t *j, *st;

	(void)state;
	s.traffic = 10 * GIB;
	s.overage = 100;
	s.overage_per = GIB;
	j = settle(&in);
	/* acme: Nov 1 .. Nov 3 of the cycle Oct 15 .. Nov 15 (31 days): 6000/31 */
	st = statement(j, 2, 0);
	line_is(st, 0, "mid", "h1", "usage", 2 * DAY, 194);
	assert_int_equal(json_array_size(json_object_get(st, "lines")), 1);
	/* platform: 12 of 31 days and 16 of 30 (Nov 15 .. Dec 15): 36000/31 + 1600
	 * = 2761.29; traffic 2 GiB at 1.00 */
	st = statement(j, 2, 1);
	line_is(st, 0, "mid", "p1", "usage", 28 * DAY, 2761);
	line_is(st, 1, "mid", "p1", "traffic", (json_int_t)(2 * GIB), 200);
	json_decref(j);
}

/* EUR, JPY and BHD side by side; a split that leaves a remainder. */
static void
test_statement_currencies(void **state)
{
	struct settle_snapshot eur = snap("v1", 1, "EUR", CYCLE_HOURLY, at(2026, 11, 1, 0, 0, 0));
	struct settle_snapshot jpy = snap("v1", 3000, "JPY", CYCLE_MONTHLY, at(2026, 11, 1, 0, 0, 0));
	struct settle_snapshot bhd = snap("v1", 10500, "BHD", CYCLE_MONTHLY,
					  at(2026, 11, 1, 0, 0, 0));
	struct settle_span sp[] = {
		{ "e", "h1", "acme", &eur, at(2026, 11, 1, 0, 0, 0), at(2026, 11, 1, 1, 0, 0), 0, NULL },
		{ "y", "h1", "acme", &jpy, at(2026, 11, 1, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
		{ "b", "h1", "acme", &bhd, at(2026, 11, 1, 0, 0, 0), at(2026, 11, 16, 0, 0, 0), 0, NULL },
	};
	struct settle_input in = { .spans = sp, .nspans = 3 };
	json_t *j = settle(&in), *st;

	(void)state;
	st = statement(j, 3, 0);
	assert_string_equal(str(st, "currency"), "BHD");
	line_is(st, 0, "b", "h1", "usage", 15 * DAY, 5250);
	assert_string_equal(str(st, "gross"), "5.250");
	totals_are(st, 5250, 3675, 1575);
	st = statement(j, 3, 1);
	assert_string_equal(str(st, "currency"), "EUR");
	/* one cent at 70/30: 0.7 + 0.3 -> 1 + 0 */
	totals_are(st, 1, 1, 0);
	assert_string_equal(str(st, "gross"), "0.01");
	st = statement(j, 3, 2);
	assert_string_equal(str(st, "currency"), "JPY");
	totals_are(st, 3000, 2100, 900);
	assert_string_equal(str(st, "gross"), "3000");
	json_decref(j);
}

/* --provider: nothing of another provider in the result. */
static void
test_statement_only_provider(void **state)
{
	struct settle_snapshot s = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_span sp[] = {
		{ "mine", "h1", "acme", &s, at(2026, 10, 1, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
		{ "theirs", "q1", "other", &s, at(2026, 10, 1, 0, 0, 0), at(2027, 1, 1, 0, 0, 0), 0, NULL },
	};
	struct settle_input in = { .spans = sp, .nspans = 2, .only_provider = "acme" };
	json_t *j = settle(&in);
	char *text = settle_canonical(j);

	(void)state;
	assert_int_equal(json_array_size(j), 1);
	assert_null(strstr(text, "other"));
	assert_null(strstr(text, "theirs"));
	assert_null(strstr(text, "q1"));
	free(text);
	json_decref(j);
	/* a provider not in the list gets no share */
	in.only_provider = "other";
	j = settle(&in);
	totals_are(json_array_get(j, 0), 1000, 0, 1000);
	json_decref(j);
}

static void
test_statement_refusals(void **state)
{
	struct settle_snapshot s = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_snapshot x = snap("v1", 1000, "XXY", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_span early = { "i", "h1", "acme", &s, at(2026, 9, 1, 0, 0, 0),
				     at(2026, 12, 1, 0, 0, 0), 0, NULL };
	struct settle_span odd = { "i", "h1", "acme", &x, at(2026, 10, 1, 0, 0, 0),
				   at(2026, 12, 1, 0, 0, 0), 0, NULL };
	struct settle_input in = { .from = at(2026, 11, 1, 0, 0, 0), .to = at(2026, 12, 1, 0, 0, 0),
				   .spans = &early, .nspans = 1 };
	struct berr err;

	(void)state;
	assert_null(settle_compute(&in, &err));
	assert_non_null(strstr(err.msg, "placed-at"));
	in.spans = &odd;
	assert_null(settle_compute(&in, &err));
	assert_non_null(strstr(err.msg, "unknown currency \"XXY\""));
	in.from = in.to + 1;
	assert_null(settle_compute(&in, &err));
	assert_non_null(strstr(err.msg, "is not a period"));
}

/*
 * Random fleets and periods: every statement's lines sum to its gross,
 * share + fee = gross, and the statements do not depend on the order of
 * the spans, offline intervals and traffic.
 */
static void
test_statement_property(void **state)
{
	static const char *const hosts[] = { "h1", "h2", "p1", "q1" };
	static const char *const provs[] = { "acme", "acme", "platform", "other" };
	static const char *const curs[] = { "EUR", "JPY", "BHD", "CLF" };
	static const char *const names[] = { "a", "b", "c", "d", "e", "f", "g", "h" };
	struct settle_snapshot sn[8];
	struct settle_span sp[24];
	struct settle_offline off[6];
	struct settle_traffic tr[24];
	unsigned seed = 20261206;
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		struct settle_input in = { 0 };
		int64_t base = at(2024, 1, 1, 0, 0, 0) + (int64_t)(rand_r(&seed) % 900) * DAY;
		json_t *j, *k;
		char *t1, *t2;
		size_t i, n;

		for (i = 0; i < 8; i++) {
			int64_t placed = base + (int64_t)(rand_r(&seed) % (60 * DAY));

			sn[i] = snap(i % 2 ? "v2" : "v1", rand_r(&seed) % 100000,
				     curs[rand_r(&seed) % 4], (enum cycle)(rand_r(&seed) % 5), placed);
			sn[i].traffic = (uint64_t)(rand_r(&seed) % 3) * GIB;
			sn[i].overage = rand_r(&seed) % 500;
			sn[i].overage_per = GIB;
		}
		for (i = n = 0; i < 8; i++) {
			int64_t t = sn[i].placed_at;
			int moves = rand_r(&seed) % 3;

			for (; moves >= 0; moves--) {
				int64_t end = t + 1 + (int64_t)(rand_r(&seed) % (40 * DAY));
				size_t h = (size_t)rand_r(&seed) % 4;

				sp[n++] = (struct settle_span){ names[i], hosts[h], provs[h], &sn[i], t, end, 0, NULL };
				t = end;
			}
		}
		for (i = 0; i < 6; i++) {
			int64_t f = base + (int64_t)(rand_r(&seed) % (100 * DAY));

			off[i] = (struct settle_offline){ hosts[rand_r(&seed) % 4], f,
							  f + (int64_t)(rand_r(&seed) % (3 * DAY)) };
		}
		for (i = 0; i < 24; i++) {
			const struct settle_span *s = &sp[(size_t)rand_r(&seed) % n];

			tr[i] = (struct settle_traffic){ s->instance, s->host,
				s->from + (s->to - s->from) * (rand_r(&seed) % 100) / 100,
				(uint64_t)(rand_r(&seed) % 4096) * (GIB / 1024), (i % 2) * 3600 };
		}
		in.from = base + (int64_t)(rand_r(&seed) % (30 * DAY));
		in.to = in.from + (int64_t)(rand_r(&seed) % (60 * DAY));
		in.spans = sp;
		in.nspans = n;
		in.offline = off;
		in.noffline = 6;
		in.traffic = tr;
		in.ntraffic = 24;
		j = settle(&in);
		for (i = 0; i < json_array_size(j); i++) {
			json_t *st = json_array_get(j, i), *l;
			json_int_t sum = 0;
			size_t li;

			json_array_foreach(json_object_get(st, "lines"), li, l)
				sum += num(l, "amount_minor");
			assert_int_equal(sum, num(st, "gross_minor"));
			assert_int_equal(num(st, "provider_share_minor") + num(st, "platform_fee_minor"),
					 sum);
		}
		/* reversed inputs */
		for (i = 0; i < n / 2; i++) {
			struct settle_span t = sp[i];

			sp[i] = sp[n - 1 - i];
			sp[n - 1 - i] = t;
		}
		for (i = 0; i < 12; i++) {
			struct settle_traffic t = tr[i];

			tr[i] = tr[23 - i];
			tr[23 - i] = t;
		}
		for (i = 0; i < 3; i++) {
			struct settle_offline t = off[i];

			off[i] = off[5 - i];
			off[5 - i] = t;
		}
		k = settle(&in);
		t1 = settle_canonical(j);
		t2 = settle_canonical(k);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
		json_decref(j);
		json_decref(k);
	}
}

static const char *
provider_of(void *arg, const char *host)
{
	(void)arg;
	return host[0] == 'h' ? "acme" : "platform";
}

/* A config as Incus returns it, with the snapshot of a 10.00 EUR monthly
 * plan placed at placed. */
static json_t *
sold_config(const char *placed)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "user.berth.plan", "vps-s", "user.berth.plan-version", "0123456789abcdef",
			 "user.berth.price", "1000", "user.berth.currency", "EUR",
			 "user.berth.cycle", "monthly", "user.berth.placed-at", placed,
			 "user.berth.traffic", "10737418240", "user.berth.overage", "150",
			 "user.berth.overage-per", "1073741824", "limits.cpu", "2");
}

static void
test_spans(void **state)
{
	json_t *c1 = sold_config("2026-10-01T00:00:00Z"), *c2 = sold_config("2026-11-20T06:00:00Z");
	json_t *bare = json_pack("{s:s}", "limits.cpu", "1");
	struct settle_event ev[] = {
		{ SETTLE_START, 0, "a", "h1", NULL, c1 },
		{ SETTLE_START, 0, "a", "h1", NULL, c1 },		/* stamped again */
		{ SETTLE_START, 0, "nobody", "h1", NULL, bare },	/* not sold */
		{ SETTLE_MOVE, at(2026, 11, 16, 0, 0, 0), "a", "p1", "h1", NULL },
		{ SETTLE_END, at(2026, 11, 17, 0, 0, 0), "a", "h1", NULL, NULL },	/* a copy */
		{ SETTLE_MOVE, at(2026, 11, 18, 0, 0, 0), "a", "p2", "h9", NULL },	/* not there */
		{ SETTLE_START, 0, "b", "h2", NULL, c2 },
		{ SETTLE_END, at(2026, 11, 25, 0, 0, 0), "b", "h2", NULL, NULL },
	};
	struct settle_spans sp;
	struct berr err;
	struct settle_input in = { 0 };
	json_t *j, *st;

	(void)state;
	assert_int_equal(settle_spans_build(ev, 8, provider_of, NULL, at(2026, 12, 1, 0, 0, 0),
					    &sp, &err), 0);
	assert_int_equal(sp.n, 3);
	assert_int_equal(sp.unsold, 1);
	assert_string_equal(sp.v[0].host, "h1");
	assert_string_equal(sp.v[0].provider, "acme");
	assert_int_equal(sp.v[0].from, at(2026, 10, 1, 0, 0, 0));
	assert_int_equal(sp.v[0].to, at(2026, 11, 16, 0, 0, 0));
	assert_string_equal(sp.v[1].host, "p1");
	assert_string_equal(sp.v[1].provider, "platform");
	assert_int_equal(sp.v[1].to, at(2026, 12, 1, 0, 0, 0));
	assert_ptr_equal(sp.v[0].snap, sp.v[1].snap);
	assert_int_equal(sp.v[0].snap->traffic, 10 * GIB);
	assert_int_equal(sp.v[0].snap->overage, 150);
	assert_int_equal(sp.v[2].from, at(2026, 11, 20, 6, 0, 0));
	assert_int_equal(sp.v[2].to, at(2026, 11, 25, 0, 0, 0));

	/* and settled: 500 + 500 for a; b 4 days 18 hours of 30 days: 158.33 */
	in.spans = sp.v;
	in.nspans = sp.n;
	j = settle(&in);
	st = statement(j, 2, 0);
	line_is(st, 0, "a", "h1", "usage", 15 * DAY, 500);
	line_is(st, 1, "b", "h2", "usage", 4 * DAY + 18 * 3600, 158);
	st = statement(j, 2, 1);
	line_is(st, 0, "a", "p1", "usage", 15 * DAY, 500);
	json_decref(j);
	settle_spans_release(&sp);

	/* an event before the span it changes */
	ev[3].time = at(2026, 9, 1, 0, 0, 0);
	assert_int_equal(settle_spans_build(ev, 8, provider_of, NULL, 0, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "instance \"a\": an event at"));
	assert_null(sp.v);
	json_decref(c1);
	json_decref(c2);
	json_decref(bare);
}

static void
test_snapshot_parse(void **state)
{
	json_t *c = sold_config("2026-10-01T00:00:00Z");
	struct settle_snapshot s;
	struct berr err;

	(void)state;
	assert_int_equal(settle_snapshot_parse(c, &s, &err), 0);
	assert_int_equal(s.price, 1000);
	assert_int_equal(s.cycle, CYCLE_MONTHLY);
	assert_int_equal(s.placed_at, at(2026, 10, 1, 0, 0, 0));
	assert_int_equal(s.overage_per, GIB);
	json_object_set_new(c, "user.berth.price", json_string("10.00"));
	assert_int_equal(settle_snapshot_parse(c, &s, &err), -1);
	assert_non_null(strstr(err.msg, "want an integer of minor units, have \"10.00\""));
	json_object_set_new(c, "user.berth.price", json_string("1000"));
	json_object_set_new(c, "user.berth.cycle", json_string("weekly"));
	assert_int_equal(settle_snapshot_parse(c, &s, &err), -1);
	assert_non_null(strstr(err.msg, "have \"weekly\""));
	json_object_set_new(c, "user.berth.cycle", json_string("yearly"));
	json_object_set_new(c, "user.berth.placed-at", json_string("yesterday"));
	assert_int_equal(settle_snapshot_parse(c, &s, &err), -1);
	json_object_set_new(c, "user.berth.placed-at", json_string("2026-10-01T00:00:00Z"));
	json_object_set_new(c, "user.berth.currency", json_string("EURO"));
	assert_int_equal(settle_snapshot_parse(c, &s, &err), -1);
	json_object_set_new(c, "user.berth.currency", json_string("JPY"));
	json_object_del(c, "user.berth.overage-per");
	assert_int_equal(settle_snapshot_parse(c, &s, &err), 0);
	assert_int_equal(s.overage_per, 0);	/* no overage without its unit */
	json_object_del(c, "user.berth.price");
	assert_int_equal(settle_snapshot_parse(c, &s, &err), 1);
	json_decref(c);
}

static void
append(struct ledger *l, const char *action, const char *object, const char *target,
       json_t *after, const char *result)
{
	struct ledger_entry e = { 0 };
	struct berr err;

	e.kind = "change.result";
	e.action = action;
	e.object = object;
	e.target = target;
	e.after = after;
	e.result = result;
	if (ledger_append(l, &e, &err) < 0)
		fail_msg("ledger_append: %s", err.msg);
	json_decref(after);
}

/* The ledger's creates, stamps, moves and deletes, read back as events. */
static void
test_gather(void **state)
{
	struct tmpdir t;
	struct ledger *l = NULL;
	struct settle_events ev;
	struct settle_spans sp;
	struct berr err;
	json_t *c;
	int64_t until;

	(void)state;
	assert_int_equal(tmpdir_init(&t, "settle"), 0);
	assert_int_equal(ledger_open(t.state, &l, &err), 0);
	append(l, "create", "host/h1/instance/a", "h1",
	       json_pack("{s:s, s:o}", "location", "none", "config",
			 sold_config("2026-10-01T00:00:00Z")), "ok");
	append(l, "create", "host/h1/profile/plan-vps-s", "h1",
	       json_pack("{s:o}", "config", sold_config("2026-10-01T00:00:00Z")), "ok");
	append(l, "create", "host/h2/instance/failed", "h2", NULL, "failed");
	append(l, "move", "host/h1/instance/a", "h1",
	       json_pack("{s:s, s:s, s:s}", "from", "h1", "to", "p1", "kind", "cold"), "ok");
	append(l, "delete", "host/h1/instance/a", "h1", NULL, "ok");	/* the source */
	c = sold_config("2026-10-02T00:00:00Z");
	json_object_set_new(c, "user.berth.sold-by", json_string("panel"));
	append(l, "update", "cluster/c1/instance/b?project=web", "c1",
	       json_pack("{s:s, s:o}", "location", "m2", "config", c), "ok");
	append(l, "update", "host/p1/instance/c?project=default", "p1",
	       json_pack("{s:{s:s}}", "config", "limits.cpu", "1"), "ok");	/* not sold */
	append(l, "delete", "cluster/c1/instance/b?project=web", "c1", NULL, "ok");

	assert_int_equal(settle_events_gather(l, &ev, &err), 0);
	assert_int_equal(ev.n, 5);
	assert_int_equal(ev.v[0].kind, SETTLE_START);
	assert_string_equal(ev.v[0].instance, "a");
	assert_string_equal(ev.v[0].host, "h1");
	assert_int_equal(ev.v[1].kind, SETTLE_MOVE);
	assert_string_equal(ev.v[1].from, "h1");
	assert_string_equal(ev.v[1].host, "p1");
	assert_int_equal(ev.v[2].kind, SETTLE_END);
	assert_string_equal(ev.v[2].host, "h1");
	assert_int_equal(ev.v[3].kind, SETTLE_START);
	assert_string_equal(ev.v[3].instance, "web/b");
	assert_string_equal(ev.v[3].host, "m2");
	assert_int_equal(ev.v[4].kind, SETTLE_END);
	assert_null(ev.v[4].host);

	until = ev.v[4].time + 86400;
	assert_int_equal(settle_spans_build(ev.v, ev.n, provider_of, NULL, until, &sp, &err), 0);
	assert_int_equal(sp.n, 3);
	/* a: h1 until the move, then p1 to the end (the delete of the source
	 * on h1 is not a's end) */
	assert_string_equal(sp.v[0].host, "h1");
	assert_int_equal(sp.v[0].to, ev.v[1].time);
	assert_string_equal(sp.v[1].host, "p1");
	assert_int_equal(sp.v[1].to, until);
	/* web/b: on m2 until its delete from the cluster */
	assert_string_equal(sp.v[2].instance, "web/b");
	assert_int_equal(sp.v[2].to, ev.v[4].time);
	settle_spans_release(&sp);
	settle_events_release(&ev);
	ledger_close(l);
	tmpdir_release(&t);
}

static const char *
server_of(void *arg, const char *host, int *is_cluster)
{
	(void)arg;
	*is_cluster = host[0] == 'm';
	return host[0] == 'm' ? "c1" : host[0] == 'x' ? NULL : host;
}

/* Sold instances still open that their server no longer holds. */
static void
test_gone(void **state)
{
	struct settle_snapshot sn = snap("v1", 1, "EUR", CYCLE_HOURLY, 0);
	struct settle_span v[] = {
		{ "a", "h1", "acme", &sn, 0, 10, 1, NULL },		/* gone from h1 */
		{ "kept", "h1", "acme", &sn, 0, 10, 1, NULL },	/* still there */
		{ "web/b", "m2", "platform", &sn, 0, 10, 1, NULL },	/* on the cluster */
		{ "web/c", "m1", "platform", &sn, 0, 10, 1, NULL },	/* gone from the cluster */
		{ "d", "h3", "acme", &sn, 0, 10, 1, NULL },		/* h3 not observed */
		{ "e", "h1", "acme", &sn, 0, 5, 0, NULL },		/* ended before */
		{ "f", "x9", "acme", &sn, 0, 10, 1, NULL },		/* a host not known */
	};
	struct settle_spans sp = { v, 7, 7, NULL, 0, 0 };
	json_t *obs = json_pack("{s:{s:{s:s, s:n, s:[{s:s, s:s}]},"
				" s:{s:s, s:n, s:[{s:s, s:s}, {s:s, s:s}]},"
				" s:{s:s, s:s}}}", "servers",
				"h1", "kind", "host", "error", "instances", "name", "kept",
				"project", "default",
				"c1", "kind", "cluster", "error", "instances", "name", "b", "project",
				"web", "name", "c", "project", "default",
				"h3", "kind", "host", "error", "unreachable");
	json_t *gone;

	(void)state;
	gone = settle_drift(&sp, obs, server_of, NULL);
	assert_int_equal(json_array_size(gone), 2);
	assert_string_equal(str(json_array_get(gone, 0), "address"), "host/h1/instance/a");
	assert_string_equal(str(json_array_get(gone, 0), "server"), "h1");
	assert_string_equal(str(json_array_get(gone, 0), "event"), "gone");
	assert_string_equal(str(json_array_get(gone, 1), "address"),
			    "cluster/c1/instance/c?project=web");
	assert_string_equal(str(json_array_get(gone, 1), "host"), "m1");
	json_decref(gone);
	/* the cluster holds web/b on m3 now (an evacuation moved it): a move;
	 * a location of its own member, or none, is not one */
	json_object_set_new(json_array_get(json_object_get(json_object_get(json_object_get(obs,
		"servers"), "c1"), "instances"), 0), "location", json_string("m3"));
	json_object_set_new(json_array_get(json_object_get(json_object_get(json_object_get(obs,
		"servers"), "c1"), "instances"), 1), "location", json_string("none"));
	gone = settle_drift(&sp, obs, server_of, NULL);
	assert_int_equal(json_array_size(gone), 3);
	assert_string_equal(str(json_array_get(gone, 1), "event"), "moved");
	assert_string_equal(str(json_array_get(gone, 1), "address"),
			    "cluster/c1/instance/b?project=web");
	assert_string_equal(str(json_array_get(gone, 1), "host"), "m2");
	assert_string_equal(str(json_array_get(gone, 1), "to"), "m3");
	assert_string_equal(str(json_array_get(gone, 2), "event"), "gone");
	json_object_set_new(json_array_get(json_object_get(json_object_get(json_object_get(obs,
		"servers"), "c1"), "instances"), 0), "location", json_string("m2"));
	json_decref(gone);
	gone = settle_drift(&sp, obs, server_of, NULL);
	assert_int_equal(json_array_size(gone), 2);
	json_decref(gone);
	json_decref(obs);
}

static json_t *
terms(const char *h1, const char *h2, int acme_bp)
{
	return json_pack("{s:{s:s, s:s}, s:{s:{s:i, s:I}, s:{s:i, s:I}}}", "hosts", "h1", h1,
			 "h2", h2, "providers", "acme", "revenue_share_bp", acme_bp, "holdback_s",
			 (json_int_t)(14 * DAY), "beta", "revenue_share_bp", 5000, "holdback_s",
			 (json_int_t)(7 * DAY));
}

/* Terms in force from their time on; the first reaches back. */
static void
test_eras(void **state)
{
	json_t *t1 = terms("acme", "acme", 7000), *t2 = terms("acme", "beta", 6000);
	json_t *bad = json_pack("{s:{}, s:{s:{s:i, s:i}}}", "hosts", "providers", "acme",
				"revenue_share_bp", 10001, "holdback_s", 0);
	struct settle_terms t[] = { { 1000, t1 }, { 2000, t2 } }, back[] = { { 2000, t1 },
									       { 1000, t2 } };
	struct settle_eras e;
	struct berr err;

	(void)state;
	assert_int_equal(settle_eras_build(t, 2, NULL, &e, &err), 0);
	assert_int_equal(e.n, 2);
	assert_ptr_equal(settle_era_at(&e, 0), &e.v[0]);	/* before any record */
	assert_ptr_equal(settle_era_at(&e, 1999), &e.v[0]);
	assert_ptr_equal(settle_era_at(&e, 2000), &e.v[1]);
	assert_ptr_equal(settle_era_at(&e, INT64_MAX), &e.v[1]);
	assert_int_equal(e.v[1].nproviders, 2);
	settle_eras_release(&e);
	/* nothing recorded: the fallback, for all time */
	assert_int_equal(settle_eras_build(NULL, 0, t2, &e, &err), 0);
	assert_int_equal(e.n, 1);
	assert_ptr_equal(settle_era_at(&e, -5), &e.v[0]);
	settle_eras_release(&e);
	assert_int_equal(settle_eras_build(back, 2, NULL, &e, &err), -1);
	assert_non_null(strstr(err.msg, "out of order"));
	assert_int_equal(settle_eras_build(NULL, 0, bad, &e, &err), -1);
	assert_non_null(strstr(err.msg, "revenue_share_bp from 0 to 10000"));
	json_decref(bad);
	json_decref(t1);
	json_decref(t2);
}

/*
 * Terms change on Nov 16: ACME's share goes from 70% to 60%, and h2 goes
 * from ACME to Beta (50%, 7 days' holdback). x on h1 and y on h2 all
 * November at 3000.00 EUR a month (placed Nov 1: a 30-day cycle, 1500.00
 * a half). ACME: x's first half at 70%, second at 60%, y's first half at
 * 70%: 1050 + 900 + 1050 = 3000.00 of 4500.00. Beta: y's second half at
 * 50%: 750.00 of 1500.00, payable a week after the month.
 */
static void
test_statement_terms(void **state)
{
	int64_t nov = at(2026, 11, 1, 0, 0, 0), dec = at(2026, 12, 1, 0, 0, 0);
	int64_t mid = at(2026, 11, 16, 0, 0, 0);
	json_t *t1 = terms("acme", "acme", 7000), *t2 = terms("acme", "beta", 6000), *j, *st;
	struct settle_snapshot s = snap("v1", 300000, "EUR", CYCLE_MONTHLY, nov);
	struct settle_span v[4] = {
		{ "x", "h1", "platform", &s, nov, dec, 1, NULL },
		{ "y", "h2", "platform", &s, nov, dec, 1, NULL },
	};
	struct settle_spans sp = { v, 2, 4, NULL, 0, 0 };
	struct settle_terms t[] = { { nov - DAY, t1 }, { mid, t2 } };
	struct settle_input in = { 0 };
	struct settle_eras e;
	struct berr err;

	(void)state;
	assert_int_equal(settle_eras_build(t, 2, NULL, &e, &err), 0);
	settle_spans_terms(&sp, &e);
	assert_int_equal(sp.n, 4);	/* each cut at mid */
	assert_true(v[0].to == mid && v[0].open == 0 && v[2].from == mid && v[2].open == 1);
	assert_string_equal(v[1].provider, "acme");
	assert_string_equal(v[3].provider, "beta");
	in.from = nov;
	in.to = dec;
	in.spans = v;
	in.nspans = sp.n;
	in.providers = settle_era_at(&e, dec - 1)->providers;	/* the holdbacks */
	in.nproviders = settle_era_at(&e, dec - 1)->nproviders;
	j = settle_compute(&in, &err);
	assert_non_null(j);
	st = statement(j, 2, 0);
	assert_string_equal(str(st, "provider"), "acme");
	line_is(st, 0, "x", "h1", "usage", 15 * DAY, 150000);
	assert_int_equal(num(json_array_get(json_object_get(st, "lines"), 0), "share_bp"), 6000);
	line_is(st, 1, "x", "h1", "usage", 15 * DAY, 150000);
	assert_int_equal(num(json_array_get(json_object_get(st, "lines"), 1), "share_bp"), 7000);
	line_is(st, 2, "y", "h2", "usage", 15 * DAY, 150000);
	totals_are(st, 450000, 300000, 150000);
	assert_string_equal(str(st, "payable_after"), "2026-12-15T00:00:00Z");
	st = statement(j, 2, 1);
	assert_string_equal(str(st, "provider"), "beta");
	line_is(st, 0, "y", "h2", "usage", 15 * DAY, 150000);
	totals_are(st, 150000, 75000, 75000);
	assert_string_equal(str(st, "payable_after"), "2026-12-08T00:00:00Z");
	json_decref(j);
	settle_eras_release(&e);
	json_decref(t1);
	json_decref(t2);
}

/* terms and instance.moved entries read back from the ledger. */
static void
test_gather_terms(void **state)
{
	struct tmpdir t;
	struct ledger *l = NULL;
	struct ledger_entry e = { 0 };
	struct settle_events ev;
	struct berr err;
	json_t *t1 = terms("acme", "acme", 7000), *after;

	(void)state;
	assert_int_equal(tmpdir_init(&t, "settle-terms"), 0);
	assert_int_equal(ledger_open(t.state, &l, &err), 0);
	e.kind = "terms";
	e.object = "terms";
	e.action = "record";
	e.result = "ok";
	e.after = t1;
	assert_int_equal(ledger_append(l, &e, &err), 0);
	memset(&e, 0, sizeof(e));
	e.kind = "instance.moved";
	e.object = "cluster/c1/instance/b?project=web";
	e.target = "c1";
	e.action = "move";
	e.result = "ok";
	e.after = after = json_pack("{s:s, s:s}", "from", "m2", "to", "m3");
	assert_int_equal(ledger_append(l, &e, &err), 0);
	json_decref(after);
	assert_int_equal(settle_events_gather(l, &ev, &err), 0);
	assert_int_equal(ev.nterms, 1);
	assert_true(json_equal((json_t *)ev.terms[0].terms, t1));
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, SETTLE_MOVE);
	assert_string_equal(ev.v[0].instance, "web/b");
	assert_string_equal(ev.v[0].from, "m2");
	assert_string_equal(ev.v[0].host, "m3");
	settle_events_release(&ev);
	ledger_close(l);
	tmpdir_release(&t);
	json_decref(t1);
}

/* A host's offline intervals are the gaps between its agent's online ones. */
static void
test_offline_add(void **state)
{
	const int64_t on[][2] = {
		{ 500, 10500 },		/* whole seconds 1..10 */
		{ 20000, 30000 },
		{ 95000, 200000 },	/* beyond the period */
	};
	struct settle_offline *off = NULL;
	size_t n = 0;

	(void)state;
	settle_offline_add("h1", on, 3, 0, 100, &off, &n);
	assert_int_equal(n, 3);
	assert_true(off[0].from == 0 && off[0].to == 1);
	assert_true(off[1].from == 10 && off[1].to == 20);
	assert_true(off[2].from == 30 && off[2].to == 95);
	assert_string_equal(off[2].host, "h1");
	/* never online: all of it */
	settle_offline_add("h2", NULL, 0, 0, 100, &off, &n);
	assert_int_equal(n, 4);
	assert_true(off[3].from == 0 && off[3].to == 100);
	/* online all along: nothing */
	settle_offline_add("h3", on + 2, 1, 100, 150, &off, &n);
	assert_int_equal(n, 4);
	free(off);
}

static void
usage_row(sqlite3 *db, const char *host, const char *project, const char *instance,
	  const char *hour, long long rx, long long tx)
{
	char *sql = sqlite3_mprintf("INSERT INTO usage (host, project, instance, hour, rx_bytes,"
				    " tx_bytes) VALUES (%Q, %Q, %Q, %Q, %lld, %lld)", host, project,
				    instance, hour, rx, tx);

	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
}

/* The intake's hourly rows, read for the instances that may owe overage only. */
static void
test_traffic_gather(void **state)
{
	struct settle_snapshot metered = snap("v1", 1000, "EUR", CYCLE_MONTHLY,
					      at(2026, 10, 1, 0, 0, 0));
	struct settle_snapshot flat = snap("v1", 1000, "EUR", CYCLE_MONTHLY, at(2026, 10, 1, 0, 0, 0));
	struct settle_span v[] = {
		{ "big", "h1", "acme", &metered, at(2026, 10, 1, 0, 0, 0), at(2026, 11, 10, 0, 0, 0), 0, NULL },
		{ "big", "p1", "platform", &metered, at(2026, 11, 10, 0, 0, 0), at(2026, 12, 1, 0, 0, 0), 1, NULL },
		{ "web/small", "h1", "acme", &metered, at(2026, 10, 1, 0, 0, 0), at(2026, 12, 1, 0, 0, 0), 1, NULL },
		{ "free", "h1", "acme", &flat, at(2026, 10, 1, 0, 0, 0), at(2026, 12, 1, 0, 0, 0), 1, NULL },
	};
	struct settle_spans sp = { v, 4, 4, NULL, 0, 0 };
	struct settle_traffics tr;
	struct tmpdir t;
	struct ledger *l = NULL;
	struct berr err;
	sqlite3 *db;
	char *path;

	(void)state;
	metered.traffic = 10 * GIB;
	metered.overage = 100;
	metered.overage_per = GIB;
	assert_int_equal(tmpdir_init(&t, "settle"), 0);
	assert_int_equal(ledger_open(t.state, &l, &err), 0);	/* makes the tables */
	ledger_close(l);
	path = xasprintf("%s/berth.db", t.state);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* big: 6 GiB on h1 and 6 GiB on p1 (neither alone over 10 GiB) */
	usage_row(db, "h1", "default", "big", "2026-11-05T10", 3 * GIB, 3 * GIB);
	usage_row(db, "p1", "default", "big", "2026-11-20T07", 6 * GIB, 0);
	usage_row(db, "p1", "default", "big", "2026-11-21T07", 0, 0);		/* nothing */
	usage_row(db, "p1", "default", "big", "2026-08-01T00", 50 * GIB, 0);	/* too early */
	/* small (project web): 1 GiB, under its allowance */
	usage_row(db, "h1", "web", "small", "2026-11-05T10", GIB, 0);
	/* free: not metered, however much */
	usage_row(db, "h1", "default", "free", "2026-11-05T10", 99 * GIB, 0);
	sqlite3_close(db);
	free(path);

	assert_int_equal(settle_traffic_gather(t.state, at(2026, 11, 1, 0, 0, 0),
					       at(2026, 12, 1, 0, 0, 0), &sp, &tr, &err), 0);
	assert_int_equal(tr.n, 2);
	assert_string_equal(tr.v[0].instance, "big");
	assert_string_equal(tr.v[0].host, "h1");
	assert_int_equal(tr.v[0].time, at(2026, 11, 5, 10, 0, 0));
	assert_int_equal(tr.v[0].bytes, 6 * GIB);
	assert_int_equal(tr.v[0].width, 3600);
	assert_string_equal(tr.v[1].host, "p1");
	assert_int_equal(tr.v[1].time, at(2026, 11, 20, 7, 0, 0));
	settle_traffics_release(&tr);
	/* a period that ends inside an hour takes that hour's row */
	assert_int_equal(settle_traffic_gather(t.state, at(2026, 11, 1, 0, 0, 0),
					       at(2026, 11, 20, 7, 30, 0), &sp, &tr, &err), 0);
	assert_int_equal(tr.n, 2);
	assert_int_equal(tr.v[1].time, at(2026, 11, 20, 7, 0, 0));
	settle_traffics_release(&tr);
	tmpdir_release(&t);
}

/* An hour of the usage table belongs to a span that starts inside it. */
static void
test_statement_traffic_first_hour(void **state)
{
	struct settle_snapshot s = snap("v1", 0, "EUR", CYCLE_MONTHLY, at(2026, 11, 10, 18, 40, 0));
	struct settle_span sp = { "new", "h1", "acme", &s, at(2026, 11, 10, 18, 40, 0),
				  at(2026, 12, 1, 0, 0, 0), 1, NULL };
	struct settle_traffic tr = { "new", "h1", at(2026, 11, 10, 18, 0, 0), 3 * GIB, 3600 };
	struct settle_input in = { .spans = &sp, .nspans = 1, .traffic = &tr, .ntraffic = 1 };
	json_t *j;

	(void)state;
	s.traffic = GIB;
	s.overage = 100;
	s.overage_per = GIB;
	j = settle(&in);
	line_is(statement(j, 1, 0), 1, "new", "h1", "traffic", (json_int_t)(2 * GIB), 200);
	json_decref(j);
	/* as an instant at 18:00 it is before the instance: nobody's */
	tr.width = 0;
	j = settle(&in);
	assert_int_equal(json_array_size(json_object_get(statement(j, 1, 0), "lines")), 1);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_cycle_anchor_31),
		cmocka_unit_test(test_cycle_at_walks),
		cmocka_unit_test(test_round_half_even),
		cmocka_unit_test(test_accrue),
		cmocka_unit_test(test_accrue_sums),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_statement_month),
		cmocka_unit_test(test_statement_february),
		cmocka_unit_test(test_statement_move_offline),
		cmocka_unit_test(test_statement_traffic),
		cmocka_unit_test(test_statement_traffic_straddle),
		cmocka_unit_test(test_statement_traffic_first_hour),
		cmocka_unit_test(test_statement_currencies),
		cmocka_unit_test(test_statement_only_provider),
		cmocka_unit_test(test_statement_refusals),
		cmocka_unit_test(test_statement_property),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_snapshot_parse),
		cmocka_unit_test(test_gather),
		cmocka_unit_test(test_gone),
		cmocka_unit_test(test_eras),
		cmocka_unit_test(test_statement_terms),
		cmocka_unit_test(test_gather_terms),
		cmocka_unit_test(test_offline_add),
		cmocka_unit_test(test_traffic_gather),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
