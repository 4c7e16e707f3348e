/*
 * Unit tests for util/clock.c: RFC 3339 times as reports and Incus give
 * them, and formatting back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/clock.h"
#include "util/banned.h"

/* 2026-11-22T05:00:00Z */
#define T0 1795323600000LL

static int64_t
parsed(const char *s)
{
	int64_t ms = 12345;

	assert_int_equal(clock_parse_rfc3339(s, &ms), 0);
	return ms;
}

static void
refused(const char *s)
{
	int64_t ms = 12345;

	if (clock_parse_rfc3339(s, &ms) != -1)
		fail_msg("\"%s\" parsed to %lld", s ? s : "(null)", (long long)ms);
	assert_true(ms == 12345);	/* left alone */
}

static void
utc(void **state)
{
	(void)state;
	assert_true(parsed("1970-01-01T00:00:00Z") == 0);
	assert_true(parsed("1970-01-01T00:00:01Z") == 1000);
	assert_true(parsed("2026-11-22T05:00:00Z") == T0);
	assert_true(parsed("2026-11-22t05:00:00z") == T0);
	assert_true(parsed("2000-01-01T00:00:00Z") == 946684800000LL);
	assert_true(parsed("2038-01-19T03:14:08Z") == 2147483648000LL);
	assert_true(parsed("1969-12-31T23:59:59Z") == -1000);
	assert_true(parsed("9999-12-31T23:59:59Z") == 253402300799000LL);
	/* a leap second is the next minute's first */
	assert_true(parsed("2016-12-31T23:59:60Z") == parsed("2017-01-01T00:00:00Z"));
}

static void
fractions(void **state)
{
	(void)state;
	assert_true(parsed("2026-11-22T05:00:00.1Z") == T0 + 100);
	assert_true(parsed("2026-11-22T05:00:00.12Z") == T0 + 120);
	assert_true(parsed("2026-11-22T05:00:00.123Z") == T0 + 123);
	assert_true(parsed("2026-11-22T05:00:00.1239Z") == T0 + 123);	/* dropped, not rounded */
	assert_true(parsed("2026-11-22T05:00:00.123456789Z") == T0 + 123);
	assert_true(parsed("2026-11-22T05:00:00.999999999999999999999999999999Z") == T0 + 999);
	assert_true(parsed("2026-11-22T05:00:00.000000001Z") == T0);
	assert_true(parsed("2026-11-22T05:00:00.5+01:00") == T0 - 3600000 + 500);
	assert_true(parsed("1969-12-31T23:59:59.5Z") == -500);
	refused("2026-11-22T05:00:00.Z");
	refused("2026-11-22T05:00:00.");
	refused("2026-11-22T05:00:00,5Z");
	refused("2026-11-22T05:00:00.5");
	refused("2026-11-22T05:00:00.5x");
}

static void
offsets(void **state)
{
	(void)state;
	assert_true(parsed("2026-11-22T06:00:00+01:00") == T0);
	assert_true(parsed("2026-11-22T04:00:00-01:00") == T0);
	assert_true(parsed("2026-11-22T10:30:00+05:30") == T0);
	assert_true(parsed("2026-11-22T05:00:00+00:00") == T0);
	assert_true(parsed("2026-11-22T05:00:00-00:00") == T0);
	assert_true(parsed("2026-11-23T04:59:00+23:59") == T0);
	assert_true(parsed("2026-11-21T05:01:00-23:59") == T0);
	/* across a day and a year */
	assert_true(parsed("2027-01-01T00:30:00+01:00") == parsed("2026-12-31T23:30:00Z"));
	refused("2026-11-22T05:00:00+24:00");
	refused("2026-11-22T05:00:00+01:60");
	refused("2026-11-22T05:00:00+0100");
	refused("2026-11-22T05:00:00+01");
	refused("2026-11-22T05:00:00+1:00");
	refused("2026-11-22T05:00:00 +01:00");
	refused("2026-11-22T05:00:00+01:00Z");
	refused("2026-11-22T05:00:00UTC");
}

static void
dates(void **state)
{
	(void)state;
	/* leap years: every 4th, not every 100th, every 400th */
	assert_true(parsed("2024-02-29T00:00:00Z") == parsed("2024-03-01T00:00:00Z") - 86400000);
	assert_true(parsed("2000-02-29T12:00:00Z") == 951825600000LL);
	assert_true(parsed("2400-02-29T00:00:00Z") > 0);
	assert_true(parsed("2028-02-29T00:00:00Z") > 0);
	refused("2026-02-29T00:00:00Z");
	refused("2100-02-29T00:00:00Z");
	refused("1900-02-29T00:00:00Z");
	refused("2025-02-29T00:00:00Z");
	assert_true(parsed("2026-02-28T00:00:00Z") > 0);
	/* month lengths */
	assert_true(parsed("2026-01-31T00:00:00Z") > 0);
	assert_true(parsed("2026-12-31T00:00:00Z") > 0);
	refused("2026-04-31T00:00:00Z");
	refused("2026-06-31T00:00:00Z");
	refused("2026-09-31T00:00:00Z");
	refused("2026-11-31T00:00:00Z");
	refused("2026-02-30T00:00:00Z");
	refused("2026-01-32T00:00:00Z");
	refused("2026-00-10T00:00:00Z");
	refused("2026-13-10T00:00:00Z");
	refused("2026-01-00T00:00:00Z");
	/* clock */
	refused("2026-11-22T24:00:00Z");
	refused("2026-11-22T23:60:00Z");
	refused("2026-11-22T23:59:61Z");
	assert_true(parsed("2026-11-22T23:59:59Z") == T0 + 19 * 3600000LL - 1000);
}

static void
never(void **state)
{
	int64_t ms;

	(void)state;
	/* Incus's "never started" */
	ms = parsed("0001-01-01T00:00:00Z");
	assert_true(ms < 0);
	assert_true(ms == -62135596800000LL);
	assert_true(parsed("0000-01-01T00:00:00Z") == -62167219200000LL);
	assert_true(parsed("0001-01-01T00:00:00Z") < parsed("1970-01-01T00:00:00Z"));
}

static void
garbage(void **state)
{
	static const char *const bad[] = {
		"", "Z", "now", "2026", "2026-11-22", "2026-11-22T", "2026-11-22T05",
		"2026-11-22T05:00", "2026-11-22T05:00:00", "2026-11-22 05:00:00Z",
		"2026-11-22_05:00:00Z", "26-11-22T05:00:00Z", "+2026-11-22T05:00:00Z",
		"-2026-11-22T05:00:00Z", "2026-1-22T05:00:00Z", "2026-11-2T05:00:00Z",
		"2026-11-22T5:00:00Z", "2026-11-22T05:0:00Z", "2026-11-22T05:00:0Z",
		"2026/11/22T05:00:00Z", "2026-11-22T05.00.00Z", "2026-11-22T05:00:00ZZ",
		"2026-11-22T05:00:00Z ", " 2026-11-22T05:00:00Z", "2026-11-22T05:00:00Z\n",
		"2026-1a-22T05:00:00Z", "2O26-11-22T05:00:00Z", "2026-11-22T05:00:00\xc3\x9a",
		"1795323600", "2026-11-22T-5:00:00Z", "2026-11-22T05:-1:00Z",
		"\xff\xff\xff\xff-11-22T05:00:00Z",
	};

	(void)state;
	refused(NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		refused(bad[i]);
}

static void
format(void **state)
{
	char out[64];

	(void)state;
	clock_format(T0, 0, out, sizeof(out));
	assert_string_equal(out, "2026-11-22T05:00:00Z");
	clock_format(T0, 1, out, sizeof(out));
	assert_string_equal(out, "2026-11-22T05:00:00.000Z");
	clock_format(T0 + 123, 1, out, sizeof(out));
	assert_string_equal(out, "2026-11-22T05:00:00.123Z");
	clock_format(T0 + 999, 0, out, sizeof(out));
	assert_string_equal(out, "2026-11-22T05:00:00Z");	/* truncated */
	clock_format(0, 1, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	clock_format(-1, 1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	clock_format(-1000, 1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59.000Z");
	clock_format(-1001, 1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:58.999Z");
	clock_format(-62135596800000LL, 0, out, sizeof(out));
	assert_string_equal(out, "0001-01-01T00:00:00Z");
	clock_format(951825600000LL, 0, out, sizeof(out));
	assert_string_equal(out, "2000-02-29T12:00:00Z");
	/* a small buffer is cut, still terminated */
	clock_format(T0, 0, out, 5);
	assert_string_equal(out, "2026");
}

static void
round_trip(void **state)
{
	static const int64_t ms[] = {
		0, 1, 999, 1000, -1, -999, -1000, -1001, T0, T0 + 1, T0 + 59999,
		951825600000LL, 951868799999LL, 4107542399999LL, 253402300799999LL,
		-62135596800000LL, -62135596799001LL, 1709164800000LL,
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ms) / sizeof(*ms); i++) {
		clock_format(ms[i], 1, out, sizeof(out));
		assert_true(parsed(out) == ms[i]);
		clock_format(ms[i], 0, out, sizeof(out));
		/* seconds only: floored to the second */
		assert_true(parsed(out) == ms[i] - (((ms[i] % 1000) + 1000) % 1000));
	}
	/* every day of a leap year and a common year, at noon */
	for (int64_t d = 0; d < 2 * 366; d++) {
		int64_t t = parsed("2023-01-01T12:00:00Z") + d * 86400000LL + 7;

		clock_format(t, 1, out, sizeof(out));
		assert_true(parsed(out) == t);
	}
}

static void
now(void **state)
{
	int64_t a, b;

	(void)state;
	a = clock_now_ms();
	assert_true(a > parsed("2024-01-01T00:00:00Z"));
	a = clock_mono_ms();
	b = clock_mono_ms();
	assert_true(b >= a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utc),
		cmocka_unit_test(fractions),
		cmocka_unit_test(offsets),
		cmocka_unit_test(dates),
		cmocka_unit_test(never),
		cmocka_unit_test(garbage),
		cmocka_unit_test(format),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
