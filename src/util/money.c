/*
 * money.c - ISO 4217 currencies and their exponents, and amounts parsed
 * exactly into minor units and formatted back (money.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/money.h"
#include "util/banned.h"

/*
 * Active ISO 4217 codes whose exponent is not 2. Every other known code
 * (listed in two_decimals) has 2.
 */
static const struct {
	char code[4];
	int exponent;
} exceptions[] = {
	{ "BHD", 3 }, { "BIF", 0 }, { "CLF", 4 }, { "CLP", 0 }, { "DJF", 0 },
	{ "GNF", 0 }, { "IQD", 3 }, { "ISK", 0 }, { "JOD", 3 }, { "JPY", 0 },
	{ "KMF", 0 }, { "KRW", 0 }, { "KWD", 3 }, { "LYD", 3 }, { "OMR", 3 },
	{ "PYG", 0 }, { "RWF", 0 }, { "TND", 3 }, { "UGX", 0 }, { "UYI", 0 },
	{ "UYW", 4 }, { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 },
	{ "XPF", 0 },
};

static const char two_decimals[] =
	"AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB "
	"BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP "
	"CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ "
	"GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK "
	"LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV "
	"MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD "
	"RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL "
	"THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD "
	"XCG YER ZAR ZMW ZWG ZWL";

int
currency_exponent(const char *code)
{
	size_t i;
	const char *p;

	if (strlen(code) != 3)
		return -1;
	for (i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++)
		if (!strcmp(exceptions[i].code, code))
			return exceptions[i].exponent;
	/* Codes of three letters, each followed by one space or the final NUL. */
	for (p = two_decimals; p + 3 <= two_decimals + sizeof(two_decimals) - 1; p += 4)
		if (!strncmp(p, code, 3))
			return 2;
	return -1;
}

int
money_parse(const char *amount, const char *code, struct money *m,
	    struct berr *err)
{
	int exp = currency_exponent(code);
	const char *p = amount;
	int64_t v = 0;
	int decimals = -1, i;

	if (exp < 0)
		return berr_set(err, "want an ISO 4217 currency code like EUR, have \"%s\"", code);
	if (!(*p >= '0' && *p <= '9'))
		goto bad;
	for (; *p; p++) {
		if (*p == '.') {
			if (decimals >= 0 || !(p[1] >= '0' && p[1] <= '9'))
				goto bad;
			decimals = 0;
			continue;
		}
		if (!(*p >= '0' && *p <= '9'))
			goto bad;
		if (decimals >= 0 && ++decimals > exp)
			return berr_set(err, "want at most %d decimal%s for %s, have \"%s\"",
					exp, exp == 1 ? "" : "s", code, amount);
		if (v > (INT64_MAX - (*p - '0')) / 10)
			goto overflow;
		v = v * 10 + (*p - '0');
	}
	if (decimals < 0)
		decimals = 0;
	for (i = decimals; i < exp; i++) {
		if (v > INT64_MAX / 10)
			goto overflow;
		v *= 10;
	}
	m->minor = v;
	memcpy(m->currency, code, 4);
	m->exponent = exp;
	return 0;
overflow:
	return berr_set(err, "want an amount that fits in 64 bits of minor units, have \"%s\"", amount);
bad:
	return berr_set(err, "want a decimal amount like \"4.50\", have \"%s\"", amount);
}

void
money_decimal(int64_t minor, int exponent, char *out, size_t outlen)
{
	int64_t div = 1;
	int i;

	for (i = 0; i < exponent; i++)
		div *= 10;
	if (exponent == 0)
		snprintf(out, outlen, "%lld", (long long)minor);
	else
		snprintf(out, outlen, "%s%lld.%0*lld", minor < 0 ? "-" : "",
			 (long long)(minor < 0 ? -(minor / div) : minor / div), exponent,
			 (long long)(minor < 0 ? -(minor % div) : minor % div));
}

void
money_format(const struct money *m, char *out, size_t outlen)
{
	char d[48];

	money_decimal(m->minor, m->exponent, d, sizeof(d));
	snprintf(out, outlen, "%s %s", d, m->currency);
}
