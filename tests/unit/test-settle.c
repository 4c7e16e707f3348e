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

#include "settle/amount.h"
#include "settle/calendar.h"

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
	for (g = 0; g < 300; g++)
		for (bp = 0; bp <= 10000; bp += 37) {
			amount_split(g, bp, &s, &f);
			assert_int_equal(s + f, g);
			/* each part within one unit of its exact share */
			assert_true(s * 10000 <= g * (int64_t)bp + 10000 &&
				    s * 10000 >= g * (int64_t)bp - 10000);
		}
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
