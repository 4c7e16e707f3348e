/*
 * err.c - filling a struct berr (err.h). Every function accepts a NULL
 * berr (the message is then dropped) and returns -1.
 */
#include <stdio.h>
#include <string.h>

#include "util/err.h"

int
berr_vset(struct berr *e, const char *fmt, va_list ap)
{
	if (e)
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -1;
}

int
berr_set(struct berr *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	berr_vset(e, fmt, ap);
	va_end(ap);
	return -1;
}

int
berr_prefix(struct berr *e, const char *fmt, ...)
{
	char old[BERR_MAX];
	va_list ap;
	int n;

	if (!e)
		return -1;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(e->msg) - 3) {
		size_t rest = sizeof(e->msg) - (size_t)n - 3, len = strlen(old);

		if (len > rest)
			len = rest;
		memcpy(e->msg + n, ": ", 2);
		memcpy(e->msg + n + 2, old, len);
		e->msg[n + 2 + len] = '\0';
	}
	return -1;
}
