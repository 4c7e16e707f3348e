/*
 * diag.h - diagnostics about the manifests: errors and warnings with a place.
 *
 * A diagnostic names a file (path inside the manifest tree), a 1-based line
 * and column (0 when the problem is with the file as a whole), the field path
 * inside the document ("spec.capacity.memory", "spec.projects[0].config[\"limits.cpu\"]")
 * or "" and a message (what is wrong, then want/have). The collector owns
 * copies of every string it is given.
 */
#ifndef BERTH_UTIL_DIAG_H
#define BERTH_UTIL_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum diag_severity {
	DIAG_ERROR,
	DIAG_WARNING,
};

struct diag {
	char *file;
	unsigned line;
	unsigned col;
	char *path;
	enum diag_severity severity;
	char *msg;
	size_t order;	/* insertion order, keeps sorting stable */
};

struct diags {
	struct diag *v;
	size_t n;
	size_t alloc;
	size_t nerrors;
	size_t nwarnings;
	size_t max;	/* stop recording after this many (0: 10000) */
	size_t dropped;
};

#define DIAGS_INIT { NULL, 0, 0, 0, 0, 0, 0 }

void diags_add(struct diags *d, enum diag_severity sev, const char *file,
	       unsigned line, unsigned col, const char *path,
	       const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void diags_vadd(struct diags *d, enum diag_severity sev, const char *file,
		unsigned line, unsigned col, const char *path,
		const char *fmt, va_list ap);
/* Sort by file, line, column, then insertion order. */
void diags_sort(struct diags *d);
/* "file:line:col: path: message" (parts that are empty are left out). */
void diag_format(const struct diag *g, char *out, size_t outlen);
/*
 * Free every diagnostic; d is all zeroes again (DIAGS_INIT, max too). Safe
 * on DIAGS_INIT and on a zeroed or released struct; d must not be NULL.
 */
void diags_release(struct diags *d);

#endif
