/* Unit tests for util/units.c: sizes, durations, percentages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/units.h"

static void
sizes(void **state)
{
	uint64_t v;
	struct berr err;
	char out[32];

	(void)state;
	assert_int_equal(parse_size("2GiB", &v, &err), 0);
	assert_true(v == 2ULL << 30);
	assert_int_equal(parse_size("899GiB", &v, &err), 0);
	assert_true(v == 899ULL << 30);
	assert_int_equal(parse_size("1TiB", &v, &err), 0);
	assert_true(v == 1ULL << 40);
	assert_int_equal(parse_size("4096", &v, &err), 0);
	assert_true(v == 4096);
	assert_int_equal(parse_size("4096B", &v, &err), 0);
	assert_true(v == 4096);
	assert_int_equal(parse_size("0", &v, &err), 0);
	assert_true(v == 0);
	assert_int_equal(parse_size("16383PiB", &v, &err), 0);
	assert_int_equal(parse_size("16384PiB", &v, &err), -1);
	assert_string_equal(err.msg, "want a size that fits in 64 bits, have \"16384PiB\"");
	assert_int_equal(parse_size("99999999999999999999", &v, &err), -1);
	assert_string_equal(err.msg, "want a size that fits in 64 bits, have \"99999999999999999999\"");
	assert_int_equal(parse_size("2GB", &v, &err), -1);
	assert_string_equal(err.msg, "want a size like 64GiB (units B, KiB, MiB, GiB, TiB, PiB), have \"2GB\"");
	assert_int_equal(parse_size("", &v, &err), -1);
	assert_int_equal(parse_size("GiB", &v, &err), -1);
	assert_int_equal(parse_size("-1GiB", &v, &err), -1);
	assert_int_equal(parse_size("1.5GiB", &v, &err), -1);
	assert_int_equal(parse_size(" 1GiB", &v, &err), -1);
	assert_int_equal(parse_size("1gib", &v, &err), -1);

	format_size(64ULL << 30, out, sizeof(out));
	assert_string_equal(out, "64GiB");
	format_size(1000, out, sizeof(out));
	assert_string_equal(out, "1000B");
	format_size(1536ULL << 20, out, sizeof(out));
	assert_string_equal(out, "1536MiB");
	format_size(0, out, sizeof(out));
	assert_string_equal(out, "0B");
}

static void
durations(void **state)
{
	uint64_t v;
	struct berr err;

	(void)state;
	assert_int_equal(parse_duration("30s", &v, &err), 0);
	assert_true(v == 30000);
	assert_int_equal(parse_duration("5m", &v, &err), 0);
	assert_true(v == 300000);
	assert_int_equal(parse_duration("2h", &v, &err), 0);
	assert_true(v == 7200000);
	assert_int_equal(parse_duration("30d", &v, &err), 0);
	assert_true(v == 30ULL * 86400000);
	assert_int_equal(parse_duration("250ms", &v, &err), 0);
	assert_true(v == 250);
	assert_int_equal(parse_duration("30", &v, &err), -1);
	assert_string_equal(err.msg, "want a duration like 30s, 5m, 2h or 30d, have \"30\"");
	assert_int_equal(parse_duration("1.5h", &v, &err), -1);
	assert_int_equal(parse_duration("1h30m", &v, &err), -1);
	assert_int_equal(parse_duration("s", &v, &err), -1);
	assert_int_equal(parse_duration("300000000000000d", &v, &err), -1);
	assert_string_equal(err.msg, "want a duration that fits in 64 bits, have \"300000000000000d\"");
}

static void
percents(void **state)
{
	uint32_t v;
	struct berr err;

	(void)state;
	assert_int_equal(parse_percent("70%", &v, &err), 0);
	assert_int_equal(v, 7000);
	assert_int_equal(parse_percent("12.5%", &v, &err), 0);
	assert_int_equal(v, 1250);
	assert_int_equal(parse_percent("0.25%", &v, &err), 0);
	assert_int_equal(v, 25);
	assert_int_equal(parse_percent("100%", &v, &err), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(parse_percent("0%", &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_percent("100.01%", &v, &err), -1);
	assert_string_equal(err.msg, "want a percentage from 0% to 100%, have \"100.01%\"");
	assert_int_equal(parse_percent("70", &v, &err), -1);
	assert_string_equal(err.msg, "want a percentage like 70% (at most two decimals), have \"70\"");
	assert_int_equal(parse_percent("1.125%", &v, &err), -1);
	assert_int_equal(parse_percent(".5%", &v, &err), -1);
	assert_int_equal(parse_percent("5.%", &v, &err), -1);
	assert_int_equal(parse_percent("1000%", &v, &err), -1);
	assert_int_equal(parse_percent("-5%", &v, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(durations),
		cmocka_unit_test(percents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
