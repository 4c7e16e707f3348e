/*
 * test-window.c - cron schedules (util/cron.h) and sync windows
 * (sched/window.h): fields, names, steps, the day-of-month/day-of-week
 * rule, errors; windows open and closed, allow and deny together, time
 * zones across a daylight saving change, and when the next run is allowed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/window.h"
#include "util/clock.h"
#include "util/cron.h"

static struct tm
tm_of(int y, int mo, int d, int h, int mi, int wday)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_wday = wday;
	return tm;
}

static int64_t
ms_of(const char *rfc3339)
{
	int64_t ms;

	assert_int_equal(clock_parse_rfc3339(rfc3339, &ms), 0);
	return ms;
}

static void
test_cron(void **state)
{
	struct cron c;
	struct berr err;
	struct tm tm;

	(void)state;
	assert_int_equal(cron_parse("*/15 9-17 * * mon-fri", &c, &err), 0);
	tm = tm_of(2026, 12, 7, 9, 30, 1);	/* Monday 09:30 */
	assert_true(cron_match(&c, &tm));
	tm.tm_min = 31;
	assert_false(cron_match(&c, &tm));
	tm = tm_of(2026, 12, 6, 9, 30, 0);	/* Sunday */
	assert_false(cron_match(&c, &tm));
	/* day of month and day of week both restricted: either */
	assert_int_equal(cron_parse("0 0 1 * sun", &c, &err), 0);
	tm = tm_of(2026, 12, 1, 0, 0, 2);	/* Tuesday the 1st */
	assert_true(cron_match(&c, &tm));
	tm = tm_of(2026, 12, 6, 0, 0, 0);	/* Sunday the 6th */
	assert_true(cron_match(&c, &tm));
	tm = tm_of(2026, 12, 7, 0, 0, 1);
	assert_false(cron_match(&c, &tm));
	/* 7 is Sunday too; lists, a step from a start, month names */
	assert_int_equal(cron_parse("5/20 1,3-4 * jan,DEC 7", &c, &err), 0);
	tm = tm_of(2026, 12, 6, 3, 45, 0);
	assert_true(cron_match(&c, &tm));
	tm.tm_min = 25;
	assert_true(cron_match(&c, &tm));
	tm.tm_min = 35;
	assert_false(cron_match(&c, &tm));
	tm.tm_mon = 10;	/* November */
	tm.tm_min = 45;
	assert_false(cron_match(&c, &tm));
	/* errors name the field */
	assert_int_equal(cron_parse("60 * * * *", &c, &err), -1);
	assert_string_equal(err.msg, "minute: want 0 to 59, have \"60\"");
	assert_int_equal(cron_parse("* * 0 * *", &c, &err), -1);
	assert_string_equal(err.msg, "day of month: want 1 to 31, have \"0\"");
	assert_int_equal(cron_parse("* * * * funday", &c, &err), -1);
	assert_string_equal(err.msg, "day of week: want a number, a range a-b, a step /n or a"
			    " list, have \"funday\"");
	assert_int_equal(cron_parse("* * * *", &c, &err), -1);
	assert_string_equal(err.msg, "want five fields (minute hour day-of-month month"
			    " day-of-week), have 4");
	assert_int_equal(cron_parse("* * * * * *", &c, &err), -1);
	assert_int_equal(cron_parse("*/0 * * * *", &c, &err), -1);
	assert_int_equal(cron_parse("5-1 * * * *", &c, &err), -1);
	assert_int_equal(cron_parse("1,,2 * * * *", &c, &err), -1);
	assert_int_equal(cron_parse("0001 * * * *", &c, &err), -1);
}

static void
test_window_parse(void **state)
{
	struct window w;
	struct berr err;

	(void)state;
	assert_int_equal(window_parse("deny 0 9 * * 1-5 8h Europe/Berlin", &w, &err), 0);
	assert_int_equal(w.kind, WINDOW_DENY);
	assert_int_equal(w.duration_ms, 8 * 3600 * 1000LL);
	assert_string_equal(w.zone, "Europe/Berlin");
	assert_int_equal(window_parse("allow 0 3 * * *  2h", &w, &err), 0);
	assert_string_equal(w.zone, "UTC");
	assert_int_equal(window_parse("maybe 0 3 * * * 2h", &w, &err), -1);
	assert_string_equal(err.msg, "want allow or deny, have \"maybe\"");
	assert_int_equal(window_parse("allow 0 3 * * 2h", &w, &err), -1);
	assert_non_null(strstr(err.msg, "have 6 fields"));
	assert_int_equal(window_parse("allow 0 3 * * * 8d", &w, &err), -1);
	assert_string_equal(err.msg, "duration: want 1m to 7d, have \"8d\"");
	assert_int_equal(window_parse("allow 0 3 * * * 2h ../../etc/passwd", &w, &err), -1);
	assert_non_null(strstr(err.msg, "time zone"));
	assert_int_equal(window_parse("allow 0 3 * * * 2h Europe/Nowhere", &w, &err), -1);
	assert_int_equal(window_parse("allow 0 25 * * * 2h", &w, &err), -1);
	assert_string_equal(err.msg, "schedule: hour: want 0 to 23, have \"25\"");
}

static void
test_window_check(void **state)
{
	struct window w[3];
	struct window_verdict v;
	struct berr err;
	char when[40];

	(void)state;
	window_check(NULL, 0, ms_of("2026-12-07T10:00:00Z"), &v);
	assert_true(v.allowed);
	/* weekdays 09:00-17:00 Berlin (CET: UTC+1) are denied */
	assert_int_equal(window_parse("deny 0 9 * * 1-5 8h Europe/Berlin", &w[0], &err), 0);
	window_check(w, 1, ms_of("2026-12-07T07:59:00Z"), &v);	/* 08:59 */
	assert_true(v.allowed);
	window_check(w, 1, ms_of("2026-12-07T08:00:00Z"), &v);	/* 09:00 */
	assert_false(v.allowed);
	assert_ptr_equal(v.by, &w[0]);
	clock_format(v.next_ms, 0, when, sizeof(when));
	assert_string_equal(when, "2026-12-07T16:00:00Z");	/* 17:00 */
	window_check(w, 1, ms_of("2026-12-07T15:59:30Z"), &v);
	assert_false(v.allowed);
	window_check(w, 1, ms_of("2026-12-07T16:00:00Z"), &v);
	assert_true(v.allowed);
	window_check(w, 1, ms_of("2026-12-05T10:00:00Z"), &v);	/* Saturday */
	assert_true(v.allowed);
	/* in summer Berlin is UTC+2: the same window opens at 07:00Z */
	window_check(w, 1, ms_of("2026-07-06T07:00:00Z"), &v);
	assert_false(v.allowed);
	/* only between 02:00 and 04:00 Berlin; across the change to summer
	 * time on 2026-03-29 (02:00 CET does not exist that night) */
	assert_int_equal(window_parse("allow 0 2 * * * 2h Europe/Berlin", &w[1], &err), 0);
	window_check(&w[1], 1, ms_of("2026-03-28T01:30:00Z"), &v);	/* 02:30 CET */
	assert_true(v.allowed);
	window_check(&w[1], 1, ms_of("2026-03-28T03:00:00Z"), &v);	/* 04:00 CET */
	assert_false(v.allowed);
	assert_null(v.by);
	clock_format(v.next_ms, 0, when, sizeof(when));
	assert_string_equal(when, "2026-03-30T00:00:00Z");	/* no 02:00 on the 29th */
	/* deny wins over allow */
	assert_int_equal(window_parse("deny 0 0 24 12 * 1d", &w[2], &err), 0);
	window_check(&w[1], 2, ms_of("2026-12-24T01:30:00Z"), &v);	/* 02:30 CET */
	assert_false(v.allowed);
	assert_ptr_equal(v.by, &w[2]);
	clock_format(v.next_ms, 0, when, sizeof(when));
	assert_string_equal(when, "2026-12-25T01:00:00Z");	/* 02:00 CET on the 25th */
	/* always denied: nothing within 8 days */
	assert_int_equal(window_parse("deny * * * * * 1h", &w[0], &err), 0);
	window_check(w, 1, ms_of("2026-12-07T10:00:00Z"), &v);
	assert_false(v.allowed);
	assert_true(v.next_ms == -1);
	/* TZ is left as it was */
	setenv("TZ", "Asia/Tokyo", 1);
	window_check(&w[1], 1, ms_of("2026-12-07T10:00:00Z"), &v);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
}

/*
 * Windows of two sets (--window's, the Fleet's): a deny window of either
 * defers, and each set with allow windows must have one open.
 */
static void
test_window_sets(void **state)
{
	struct window w[3];
	struct window_verdict v;
	struct berr err;
	char when[40];

	(void)state;
	/* --window: only from 01:00 to 05:00 UTC; the Fleet: only from 03:00 to 09:00 */
	assert_int_equal(window_parse("allow 0 1 * * * 4h", &w[0], &err), 0);
	memset(&w[1], 0, sizeof(w[1]));
	assert_int_equal(window_set_schedule(&w[1], "0 3 * * *", &err), 0);
	assert_int_equal(window_set_duration(&w[1], "6h", &err), 0);
	assert_int_equal(window_set_zone(&w[1], "UTC", &err), 0);
	w[1].kind = WINDOW_ALLOW;
	w[1].set = 1;
	window_check(w, 2, ms_of("2026-12-07T02:00:00Z"), &v);	/* --window's only */
	assert_false(v.allowed);
	assert_null(v.by);
	clock_format(v.next_ms, 0, when, sizeof(when));
	assert_string_equal(when, "2026-12-07T03:00:00Z");
	window_check(w, 2, ms_of("2026-12-07T04:00:00Z"), &v);	/* both */
	assert_true(v.allowed);
	window_check(w, 2, ms_of("2026-12-07T06:00:00Z"), &v);	/* the Fleet's only */
	assert_false(v.allowed);
	clock_format(v.next_ms, 0, when, sizeof(when));
	assert_string_equal(when, "2026-12-08T03:00:00Z");
	/* in one set, allow windows are alternatives */
	w[1].set = 0;
	window_check(w, 2, ms_of("2026-12-07T06:00:00Z"), &v);
	assert_true(v.allowed);
	/* a deny window of the Fleet's defers whatever --window allows */
	w[1].set = 1;
	assert_int_equal(window_parse("deny 30 4 * * * 10m", &w[2], &err), 0);
	w[2].set = 1;
	window_check(w, 3, ms_of("2026-12-07T04:35:00Z"), &v);
	assert_false(v.allowed);
	assert_ptr_equal(v.by, &w[2]);
	clock_format(v.next_ms, 0, when, sizeof(when));
	assert_string_equal(when, "2026-12-07T04:40:00Z");
	/* the parts' own messages, without the part's name */
	assert_int_equal(window_set_duration(&w[1], "8d", &err), -1);
	assert_string_equal(err.msg, "want 1m to 7d, have \"8d\"");
	assert_int_equal(window_set_zone(&w[1], "Europe/Nowhere", &err), -1);
	assert_string_equal(err.msg, "want a name of the time zone database such as Europe/Berlin,"
			    " have \"Europe/Nowhere\"");
	assert_int_equal(window_set_schedule(&w[1], "0 25 * * *", &err), -1);
	assert_string_equal(err.msg, "hour: want 0 to 23, have \"25\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cron),
		cmocka_unit_test(test_window_parse),
		cmocka_unit_test(test_window_check),
		cmocka_unit_test(test_window_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
