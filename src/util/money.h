/*
 * money.h - amounts of money as integer minor units, never floats.
 *
 * The number of minor units of a currency is its ISO 4217 exponent: EUR 2
 * ("4.50" -> 450 cents), JPY 0, BHD 3. An amount with more decimals than the
 * currency has is refused, not rounded.
 */
#ifndef BERTH_UTIL_MONEY_H
#define BERTH_UTIL_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct money {
	int64_t minor;		/* amount in minor units */
	char currency[4];	/* ISO 4217 code */
	int exponent;		/* minor units per major unit = 10^exponent */
};

/* The ISO 4217 exponent of code (0..4), or -1 for an unknown code. */
int currency_exponent(const char *code);
/*
 * Parse a non-negative decimal amount ("4.50", "450", "0.01") in currency
 * code. -1 with err ("want ..., have ...") on a malformed amount, an unknown
 * currency, too many decimals for the currency, or overflow.
 */
int money_parse(const char *amount, const char *code, struct money *m,
		struct berr *err);
/* "4.50 EUR" */
void money_format(const struct money *m, char *out, size_t outlen);
/* "4.50", "-0.07", "1200": minor units with exponent decimals (0..18). */
void money_decimal(int64_t minor, int exponent, char *out, size_t outlen);

#endif
