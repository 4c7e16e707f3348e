/*
 * window.c - sync windows (window.h).
 *
 * The verdict is read off a grid of minutes from the longest window's
 * duration before now to 8 days after: each window marks the minutes its
 * schedule opens it (local time of its zone) and is open at a minute when
 * one of the last DURATION of them opened it. A minute is allowed when no
 * deny window is open and every set with allow windows has one open.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sched/window.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MINUTE_MS	60000LL
#define MAX_DURATION_MS	(7 * 24 * 3600 * 1000LL)
#define AHEAD_MIN	(8 * 24 * 60)

/* A zone name that names a file of the time zone database. */
static int
zone_ok(const char *z)
{
	const char *dir = getenv("TZDIR"), *p;
	char path[512];
	struct stat st;

	if (!strcmp(z, "UTC"))
		return 1;
	if (!*z || *z == '/' || strstr(z, ".."))
		return 0;
	for (p = z; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_+-/", *p))
			return 0;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", z);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
window_set_schedule(struct window *w, const char *schedule, struct berr *err)
{
	return cron_parse(schedule, &w->cron, err);
}

int
window_set_duration(struct window *w, const char *duration, struct berr *err)
{
	uint64_t ms;

	if (parse_duration(duration, &ms, err) < 0)
		return -1;
	if (ms < (uint64_t)MINUTE_MS || ms > (uint64_t)MAX_DURATION_MS)
		return berr_set(err, "want 1m to 7d, have \"%s\"", duration);
	w->duration_ms = (int64_t)ms;
	return 0;
}

int
window_set_zone(struct window *w, const char *zone, struct berr *err)
{
	if (strlen(zone) >= sizeof(w->zone) || !zone_ok(zone))
		return berr_set(err, "want a name of the time zone database such as"
				" Europe/Berlin, have \"%s\"", zone);
	snprintf(w->zone, sizeof(w->zone), "%s", zone);
	return 0;
}

int
window_parse(const char *spec, struct window *w, struct berr *err)
{
	char buf[256], *f[8], *save = NULL, *t;
	char cron[128];
	int n = 0;

	memset(w, 0, sizeof(*w));
	snprintf(w->spec, sizeof(w->spec), "%s", spec);
	if (strlen(spec) >= sizeof(buf))
		return berr_set(err, "want a window of at most %zu characters", sizeof(buf) - 1);
	memcpy(buf, spec, strlen(spec) + 1);
	for (t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 8)
			return berr_set(err, "want \"allow|deny MIN HOUR DOM MON DOW DURATION [ZONE]\","
					" have more than 8 fields in \"%s\"", spec);
		f[n++] = t;
	}
	if (n < 7)
		return berr_set(err, "want \"allow|deny MIN HOUR DOM MON DOW DURATION [ZONE]\","
				" have %d field%s in \"%s\"", n, n == 1 ? "" : "s", spec);
	if (!strcmp(f[0], "allow"))
		w->kind = WINDOW_ALLOW;
	else if (!strcmp(f[0], "deny"))
		w->kind = WINDOW_DENY;
	else
		return berr_set(err, "want allow or deny, have \"%s\"", f[0]);
	snprintf(cron, sizeof(cron), "%s %s %s %s %s", f[1], f[2], f[3], f[4], f[5]);
	if (window_set_schedule(w, cron, err) < 0)
		return berr_prefix(err, "schedule");
	if (window_set_duration(w, f[6], err) < 0)
		return berr_prefix(err, "duration");
	if (window_set_zone(w, n == 8 ? f[7] : "UTC", err) < 0)
		return berr_prefix(err, "time zone");
	return 0;
}

/* open[0..len): whether w is open at each minute of the grid from base_ms. */
static void
mark(const struct window *w, int64_t base_ms, size_t len, unsigned char *open)
{
	size_t dur = (size_t)(w->duration_ms / MINUTE_MS), i, since = (size_t)-1;
	struct tm tm;

	for (i = 0; i < len; i++) {
		time_t t = (time_t)((base_ms + (int64_t)i * MINUTE_MS) / 1000);

		localtime_r(&t, &tm);
		if (cron_match(&w->cron, &tm))
			since = i;
		open[i] = since != (size_t)-1 && i - since < dur;
	}
}

void
window_check(const struct window *w, size_t n, int64_t now_ms, struct window_verdict *v)
{
	int64_t longest = 0, base;
	const char *tz = getenv("TZ");
	char *saved = tz ? xstrdup(tz) : NULL;
	size_t back, len, i, k, at;
	unsigned char *open;
	uint32_t allows = 0;	/* the sets that have allow windows */

	v->allowed = 1;
	v->by = NULL;
	v->next_ms = now_ms;
	if (!n)
		return;
	for (i = 0; i < n; i++) {
		if (w[i].duration_ms > longest)
			longest = w[i].duration_ms;
		if (w[i].kind == WINDOW_ALLOW)
			allows |= 1u << (w[i].set & 31);
	}
	back = (size_t)(longest / MINUTE_MS);
	base = now_ms - now_ms % MINUTE_MS - (int64_t)back * MINUTE_MS;
	len = back + AHEAD_MIN + 1;
	open = xcalloc(n * len, 1);
	for (i = 0; i < n; i++) {
		setenv("TZ", w[i].zone, 1);
		tzset();
		mark(&w[i], base, len, open + i * len);
	}
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	v->next_ms = -1;
	for (at = back; at < len; at++) {
		const struct window *deny = NULL;
		uint32_t opened = 0;	/* the sets with an allow window open */
		int allowed_by;

		for (k = 0; k < n; k++) {
			if (!open[k * len + at])
				continue;
			if (w[k].kind == WINDOW_DENY && !deny)
				deny = &w[k];
			else if (w[k].kind == WINDOW_ALLOW)
				opened |= 1u << (w[k].set & 31);
		}
		allowed_by = (opened & allows) == allows;
		if (at == back) {
			v->allowed = !deny && allowed_by;
			v->by = deny;
			if (v->allowed) {
				v->next_ms = now_ms;
				break;
			}
		} else if (!deny && allowed_by) {
			v->next_ms = base + (int64_t)at * MINUTE_MS;
			break;
		}
	}
	free(open);
	free(saved);
}
