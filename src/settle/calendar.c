/*
 * calendar.c - billing cycles by the calendar (calendar.h).
 *
 * Dates are converted with the usual era arithmetic on the proleptic
 * Gregorian calendar (400-year eras of 146097 days, years starting in
 * March so that the leap day is the last of its year).
 */
#include "settle/calendar.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static int
months_of(enum cycle c)
{
	switch (c) {
	case CYCLE_MONTHLY: return 1;
	case CYCLE_QUARTERLY: return 3;
	case CYCLE_SEMIANNUAL: return 6;
	case CYCLE_YEARLY: return 12;
	case CYCLE_HOURLY: break;
	}
	return 0;
}

int64_t
cycle_start(enum cycle c, int64_t anchor, int64_t k)
{
	int64_t days, tod, y, months, t;
	unsigned m, d, dim;
	int per = months_of(c);

	if (!per) {
		if (k > (CALENDAR_MAX_TIME - anchor) / 3600)
			return -1;
		return anchor + k * 3600;
	}
	if (k > 12 * 10000)
		return -1;
	days = floor_div(anchor, 86400);
	tod = anchor - days * 86400;
	civil_from_days(days, &y, &m, &d);
	months = (int64_t)(m - 1) + k * per;
	y += months / 12;
	m = (unsigned)(months % 12) + 1;
	dim = days_in_month(y, m);
	t = days_from_civil(y, m, d < dim ? d : dim) * 86400 + tod;
	return t > CALENDAR_MAX_TIME ? -1 : t;
}

int64_t
cycle_at(enum cycle c, int64_t anchor, int64_t t)
{
	int64_t k, next;
	int per = months_of(c);

	if (t <= anchor)
		return 0;
	if (!per)
		return (t - anchor) / 3600;
	/* A first guess from the average month, then a step or two. */
	k = (t - anchor) / (per * 2629746LL);
	while (k > 0 && cycle_start(c, anchor, k) > t)
		k--;
	while ((next = cycle_start(c, anchor, k + 1)) >= 0 && next <= t)
		k++;
	return k;
}
