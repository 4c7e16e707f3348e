/*
 * units.c - the exact parsers of units.h (sizes, durations, percentages)
 * and the formatting of sizes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/units.h"
#include "util/banned.h"

/* Parse the leading decimal digits of s into *v; returns the count, or -1 on overflow. */
static int
digits(const char *s, uint64_t *v)
{
	int n = 0;

	*v = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		unsigned d = (unsigned)(s[n] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
		n++;
	}
	return n;
}

static int
mul(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a && b > UINT64_MAX / a)
		return -1;
	*out = a * b;
	return 0;
}

static const struct {
	const char *suffix;
	uint64_t mult;
} size_units[] = {
	{ "", 1 }, { "B", 1 },
	{ "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 }, { "GiB", 1ULL << 30 },
	{ "TiB", 1ULL << 40 }, { "PiB", 1ULL << 50 },
};

int
parse_size(const char *s, uint64_t *bytes, struct berr *err)
{
	uint64_t v;
	int n = digits(s, &v);
	size_t i;

	if (n < 0)
		return berr_set(err, "want a size that fits in 64 bits, have \"%s\"", s);
	if (n == 0)
		goto bad;
	for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcmp(s + n, size_units[i].suffix))
			continue;
		if (mul(v, size_units[i].mult, bytes) < 0)
			return berr_set(err, "want a size that fits in 64 bits, have \"%s\"", s);
		return 0;
	}
bad:
	return berr_set(err, "want a size like 64GiB (units B, KiB, MiB, GiB, TiB, PiB), have \"%s\"", s);
}

int
parse_duration(const char *s, uint64_t *ms, struct berr *err)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	uint64_t v;
	int n = digits(s, &v);
	size_t i;

	if (n < 0)
		return berr_set(err, "want a duration that fits in 64 bits, have \"%s\"", s);
	if (n > 0) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(s + n, units[i].suffix))
				continue;
			if (mul(v, units[i].mult, ms) < 0)
				return berr_set(err, "want a duration that fits in 64 bits, have \"%s\"", s);
			return 0;
		}
	}
	return berr_set(err, "want a duration like 30s, 5m, 2h or 30d, have \"%s\"", s);
}

int
parse_percent(const char *s, uint32_t *bp, struct berr *err)
{
	uint64_t whole, frac = 0;
	int n = digits(s, &whole), m = 0;
	const char *p = s + (n > 0 ? n : 0);

	if (n <= 0 || n > 3)
		goto bad;
	if (*p == '.') {
		p++;
		m = digits(p, &frac);
		if (m <= 0 || m > 2)
			goto bad;
		if (m == 1)
			frac *= 10;
		p += m;
	}
	if (strcmp(p, "%"))
		goto bad;
	if (whole * 100 + frac > 10000)
		return berr_set(err, "want a percentage from 0%% to 100%%, have \"%s\"", s);
	*bp = (uint32_t)(whole * 100 + frac);
	return 0;
bad:
	return berr_set(err, "want a percentage like 70%% (at most two decimals), have \"%s\"", s);
}

void
format_size(uint64_t bytes, char *out, size_t outlen)
{
	static const char *names[] = { "PiB", "TiB", "GiB", "MiB", "KiB" };
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t m = 1ULL << (10 * (5 - i));

		if (bytes && bytes % m == 0) {
			snprintf(out, outlen, "%llu%s", (unsigned long long)(bytes / m), names[i]);
			return;
		}
	}
	snprintf(out, outlen, "%lluB", (unsigned long long)bytes);
}
