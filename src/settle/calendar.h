/*
 * calendar.h - billing cycles anchored at an instance's placed-at, by the
 * calendar, in UTC.
 *
 * Times are seconds since the epoch (UTC). Cycle k (k >= 0) of an instance
 * placed at anchor starts k cycles after it: hourly cycles are 3600 s; the
 * others are 1, 3, 6 or 12 calendar months, keeping the anchor's time of
 * day and its day of the month where the month has that day, else the
 * month's last day: an anchor of Jan 31 gives Feb 28 (29 in a leap year),
 * Mar 31, Apr 30. Months are never 30 or 31 days by assumption; a cycle is
 * as long as the calendar makes it. Years from 1970 to 9999.
 */
#ifndef BERTH_SETTLE_CALENDAR_H
#define BERTH_SETTLE_CALENDAR_H

#include <stdint.h>

#include "manifest/model.h"

#define CALENDAR_MAX_TIME 253402300799LL	/* 9999-12-31T23:59:59Z */

/* The start of cycle k of anchor, or -1 past CALENDAR_MAX_TIME. */
int64_t cycle_start(enum cycle c, int64_t anchor, int64_t k);
/* The cycle that holds t (t >= anchor): its k. */
int64_t cycle_at(enum cycle c, int64_t anchor, int64_t t);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* Days in month m (1..12) of year y. */
unsigned days_in_month(int64_t y, unsigned m);

#endif
