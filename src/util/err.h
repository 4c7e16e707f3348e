/*
 * err.h - how library code reports a failure.
 *
 * Library code never prints and never exits: it returns -1 (or NULL) and
 * fills a caller-supplied struct berr. Messages follow the house style:
 * lowercase, what is wrong first, the subject quoted, then want/have.
 */
#ifndef BERTH_UTIL_ERR_H
#define BERTH_UTIL_ERR_H

#include <stdarg.h>

#define BERR_MAX 2048

struct berr {
	char msg[BERR_MAX];
};

/* Set the message (replacing any earlier one); returns -1 for tail calls. */
int berr_set(struct berr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int berr_vset(struct berr *e, const char *fmt, va_list ap);
/* Prefix the current message with "<prefix>: "; returns -1. */
int berr_prefix(struct berr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
