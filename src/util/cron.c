/*
 * cron.c - five-field cron schedules (cron.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cron.h"
#include "util/banned.h"

static const char *const field_names[] = { "minute", "hour", "day of month", "month",
					   "day of week" };
static const int lo_of[] = { 0, 0, 1, 1, 0 }, hi_of[] = { 59, 23, 31, 12, 7 };
static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
				      "sep", "oct", "nov", "dec" };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* A number or (months, days) a name at *p, advancing it; -1 when none. */
static int
value(const char **p, int field)
{
	const char *s = *p;
	int v = 0, n = 0, i;

	if (isalpha((unsigned char)*s) && (field == 3 || field == 4)) {
		for (i = 0; i < (field == 3 ? 12 : 7); i++) {
			const char *name = field == 3 ? months[i] : days[i];

			if (!strncasecmp(s, name, 3) && !isalpha((unsigned char)s[3])) {
				*p = s + 3;
				return field == 3 ? i + 1 : i;
			}
		}
		return -1;
	}
	while (isdigit((unsigned char)*s) && n < 3) {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (!n || isdigit((unsigned char)*s))
		return -1;
	*p = s;
	return v;
}

/* One field (len bytes at s) into the bits of *bits. */
static int
field(const char *s, size_t len, int f, uint64_t *bits, int *any, struct berr *err)
{
	char buf[64];
	const char *p = buf;
	int lo, hi, step, v, star;

	if (len >= sizeof(buf))
		return berr_set(err, "%s: want a cron field, have %zu characters", field_names[f],
				len);
	memcpy(buf, s, len);
	buf[len] = '\0';
	*bits = 0;
	*any = !strcmp(buf, "*");
	for (;;) {
		step = 1;
		star = *p == '*';
		if (star) {
			lo = lo_of[f];
			hi = hi_of[f];
			p++;
		} else {
			if ((lo = value(&p, f)) < 0)
				goto bad;
			hi = lo;
			if (*p == '-') {
				p++;
				if ((hi = value(&p, f)) < 0)
					goto bad;
			}
		}
		if (*p == '/') {
			p++;
			if ((step = value(&p, 0)) <= 0)
				goto bad;
			if (hi == lo && !star)
				hi = hi_of[f];	/* "5/15": from 5 on */
		}
		if (lo < lo_of[f] || hi > hi_of[f] || lo > hi)
			return berr_set(err, "%s: want %d to %d, have \"%s\"", field_names[f],
					lo_of[f], hi_of[f], buf);
		for (v = lo; v <= hi; v += step)
			*bits |= 1ULL << (f == 4 && v == 7 ? 0 : v);
		if (!*p)
			return 0;
		if (*p++ != ',')
			goto bad;
	}
bad:
	return berr_set(err, "%s: want a number, a range a-b, a step /n or a list, have \"%s\"",
			field_names[f], buf);
}

int
cron_parse(const char *s, struct cron *c, struct berr *err)
{
	uint64_t bits[5];
	int any[5], f = 0;
	size_t n;

	memset(c, 0, sizeof(*c));
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		n = strcspn(s, " \t");
		if (f == 5)
			return berr_set(err, "want five fields (minute hour day-of-month month"
					" day-of-week), have more");
		if (field(s, n, f, &bits[f], &any[f], err) < 0)
			return -1;
		f++;
		s += n;
	}
	if (f != 5)
		return berr_set(err, "want five fields (minute hour day-of-month month"
				" day-of-week), have %d", f);
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->mday = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->wday = (uint8_t)bits[4];
	c->mday_any = any[2] != 0;
	c->wday_any = any[4] != 0;
	return 0;
}

int
cron_match(const struct cron *c, const struct tm *tm)
{
	int mday = (c->mday >> tm->tm_mday) & 1, wday = (c->wday >> tm->tm_wday) & 1;

	if (!((c->minute >> tm->tm_min) & 1) || !((c->hour >> tm->tm_hour) & 1) ||
	    !((c->month >> (tm->tm_mon + 1)) & 1))
		return 0;
	if (c->mday_any || c->wday_any)
		return mday && wday;
	return mday || wday;
}
