/*
 * cron.h - five-field cron schedules (minute hour day-of-month month
 * day-of-week), as crontab(5) writes them: "*", numbers, ranges "a-b",
 * steps "*\/s" and "a-b/s", lists "a,b-c"; month and day names ("jan",
 * "mon"); day of week 0-7 with 0 and 7 Sunday. When both the day of
 * month and the day of week are restricted, a day matches either, as
 * in cron.
 */
#ifndef BERTH_UTIL_CRON_H
#define BERTH_UTIL_CRON_H

#include <stdint.h>
#include <time.h>

#include "util/err.h"

struct cron {
	uint64_t minute;		/* bit m: minute m */
	uint32_t hour;
	uint32_t mday;			/* bits 1..31 */
	uint16_t month;			/* bits 1..12 */
	uint8_t wday;			/* bits 0..6, Sunday 0 */
	unsigned mday_any : 1, wday_any : 1;
};

/*
 * Parse the five fields of s (separated by blanks) into c. -1 with err
 * naming the field, what was wanted and what was found.
 */
int cron_parse(const char *s, struct cron *c, struct berr *err);

/* Whether the minute of the broken-down time tm is one of c's. */
int cron_match(const struct cron *c, const struct tm *tm);

#endif
