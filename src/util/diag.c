/*
 * diag.c - the collector of diagnostics (diag.h): adding, sorting and
 * formatting them; past its maximum it counts without recording.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/xalloc.h"

void
diags_vadd(struct diags *d, enum diag_severity sev, const char *file,
	   unsigned line, unsigned col, const char *path, const char *fmt,
	   va_list ap)
{
	struct buf msg = BUF_INIT;
	struct diag *g;
	size_t max = d->max ? d->max : 10000;

	if (sev == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= max) {
		d->dropped++;
		return;
	}
	buf_vaddf(&msg, fmt, ap);
	ALLOC_GROW(d->v, d->n + 1, d->alloc);
	g = &d->v[d->n];
	g->file = xstrdup(file ? file : "");
	g->line = line;
	g->col = col;
	g->path = xstrdup(path ? path : "");
	g->severity = sev;
	g->msg = buf_detach(&msg, NULL);
	g->order = d->n;
	d->n++;
}

void
diags_add(struct diags *d, enum diag_severity sev, const char *file,
	  unsigned line, unsigned col, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(d, sev, file, line, col, path, fmt, ap);
	va_end(ap);
}

static int
cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void
diags_sort(struct diags *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp);
}

void
diag_format(const struct diag *g, char *out, size_t outlen)
{
	struct buf b = BUF_INIT;

	if (*g->file) {
		buf_addstr(&b, g->file);
		if (g->line)
			buf_addf(&b, ":%u:%u", g->line, g->col);
		buf_addstr(&b, ": ");
	}
	if (*g->path)
		buf_addf(&b, "%s: ", g->path);
	buf_addstr(&b, g->msg);
	snprintf(out, outlen, "%s", b.buf);
	buf_release(&b);
}

void
diags_release(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].path);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
