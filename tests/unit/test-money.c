/* Unit tests for util/money.c: exact amounts in minor units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/money.h"

static void
exponents(void **state)
{
	(void)state;
	assert_int_equal(currency_exponent("EUR"), 2);
	assert_int_equal(currency_exponent("USD"), 2);
	assert_int_equal(currency_exponent("JPY"), 0);
	assert_int_equal(currency_exponent("KRW"), 0);
	assert_int_equal(currency_exponent("BHD"), 3);
	assert_int_equal(currency_exponent("CLF"), 4);
	assert_int_equal(currency_exponent("CHF"), 2);
	/* first and last of the two-decimal list */
	assert_int_equal(currency_exponent("AED"), 2);
	assert_int_equal(currency_exponent("ZWL"), 2);
	assert_int_equal(currency_exponent("ZZZ"), -1);
	assert_int_equal(currency_exponent("XXX"), -1);
	assert_int_equal(currency_exponent("eur"), -1);
	assert_int_equal(currency_exponent("EU"), -1);
	assert_int_equal(currency_exponent("EURO"), -1);
	assert_int_equal(currency_exponent(""), -1);
}

static void
parse(void **state)
{
	struct money m;
	struct berr err;
	char out[64];

	(void)state;
	assert_int_equal(money_parse("4.50", "EUR", &m, &err), 0);
	assert_true(m.minor == 450);
	assert_string_equal(m.currency, "EUR");
	money_format(&m, out, sizeof(out));
	assert_string_equal(out, "4.50 EUR");
	assert_int_equal(money_parse("4.5", "EUR", &m, &err), 0);
	assert_true(m.minor == 450);
	assert_int_equal(money_parse("4", "EUR", &m, &err), 0);
	assert_true(m.minor == 400);
	assert_int_equal(money_parse("0.01", "EUR", &m, &err), 0);
	assert_true(m.minor == 1);
	money_format(&m, out, sizeof(out));
	assert_string_equal(out, "0.01 EUR");
	assert_int_equal(money_parse("450", "JPY", &m, &err), 0);
	assert_true(m.minor == 450);
	money_format(&m, out, sizeof(out));
	assert_string_equal(out, "450 JPY");
	assert_int_equal(money_parse("1.234", "BHD", &m, &err), 0);
	assert_true(m.minor == 1234);
	money_format(&m, out, sizeof(out));
	assert_string_equal(out, "1.234 BHD");

	assert_int_equal(money_parse("4.505", "EUR", &m, &err), -1);
	assert_string_equal(err.msg, "want at most 2 decimals for EUR, have \"4.505\"");
	assert_int_equal(money_parse("4.5", "JPY", &m, &err), -1);
	assert_string_equal(err.msg, "want at most 0 decimals for JPY, have \"4.5\"");
	assert_int_equal(money_parse("4.50", "XYZ", &m, &err), -1);
	assert_string_equal(err.msg, "want an ISO 4217 currency code like EUR, have \"XYZ\"");
	assert_int_equal(money_parse("4,50", "EUR", &m, &err), -1);
	assert_string_equal(err.msg, "want a decimal amount like \"4.50\", have \"4,50\"");
	assert_int_equal(money_parse("-1", "EUR", &m, &err), -1);
	assert_int_equal(money_parse(".5", "EUR", &m, &err), -1);
	assert_int_equal(money_parse("5.", "EUR", &m, &err), -1);
	assert_int_equal(money_parse("1.2.3", "EUR", &m, &err), -1);
	assert_int_equal(money_parse("", "EUR", &m, &err), -1);
	assert_int_equal(money_parse("1e3", "EUR", &m, &err), -1);
	assert_int_equal(money_parse("92233720368547758.07", "EUR", &m, &err), 0);
	assert_true(m.minor == INT64_MAX);
	assert_int_equal(money_parse("92233720368547758.08", "EUR", &m, &err), -1);
	assert_string_equal(err.msg, "want an amount that fits in 64 bits of minor units, have \"92233720368547758.08\"");
	assert_int_equal(money_parse("92233720368547759", "EUR", &m, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exponents),
		cmocka_unit_test(parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
