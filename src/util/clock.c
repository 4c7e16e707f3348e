/*
 * clock.c - wall and monotonic time, and RFC 3339 UTC times.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/banned.h"

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
clock_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* n digits at *p as a number; -1 when they are not all digits. */
static int
digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static int
expect(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), any year. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int
clock_parse_rfc3339(const char *s, int64_t *ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, frac = 0, off = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (s == NULL)
		return -1;
	if ((y = digits(&p, 4)) < 0 || expect(&p, '-') ||
	    (mo = digits(&p, 2)) < 0 || expect(&p, '-') ||
	    (d = digits(&p, 2)) < 0 || (*p != 'T' && *p != 't') )
		return -1;
	p++;
	if ((h = digits(&p, 2)) < 0 || expect(&p, ':') ||
	    (mi = digits(&p, 2)) < 0 || expect(&p, ':') ||
	    (sec = digits(&p, 2)) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	/* February 29 only in leap years. */
	if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
		return -1;
	if (*p == '.') {
		int n = 0;

		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if ((oh = digits(&p, 2)) < 0 || expect(&p, ':') ||
		    (om = digits(&p, 2)) < 0 || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
		(int64_t)off * 60) * 1000) + frac;
	return 0;
}

void
clock_format(int64_t ms, int with_ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)t * 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (with_ms)
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	else
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}
