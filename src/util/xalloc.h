/*
 * xalloc.h - allocation that never returns NULL.
 *
 * berth treats running out of memory as fatal: these print one line and
 * abort(). Every size that comes from input is bounded before it gets here.
 */
#ifndef BERTH_UTIL_XALLOC_H
#define BERTH_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of nmemb elements of size bytes; aborts on overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Ensure an array (p, alloc) can hold n elements; doubles as it grows. */
#define ALLOC_GROW(p, n, alloc) do { \
	if ((n) > (alloc)) { \
		size_t a_ = (alloc) ? (alloc) * 2 : 8; \
		if (a_ < (n)) a_ = (n); \
		(p) = xreallocarray((p), a_, sizeof(*(p))); \
		(alloc) = a_; \
	} \
} while (0)

#endif
