/*
 * usage.c - help texts read back as entries (usage.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/usage.h"
#include "util/xalloc.h"
#include "util/banned.h"

static void
append_desc(struct usage_entry *e, const char *s, size_t len)
{
	char *d = *e->desc ? xasprintf("%s %.*s", e->desc, (int)len, s) :
			     xstrndup(s, len);

	free(e->desc);
	e->desc = d;
}

void
usage_parse(struct usage *u, const char *text)
{
	const char *line = text, *end, *p, *gap;
	struct usage_entry *e;
	int indent;

	while (*line) {
		end = line + strcspn(line, "\n");
		for (p = line; p < end && *p == ' '; p++)
			;
		indent = (int)(p - line);
		if (p == end) {
			/* a blank line */
		} else if (indent >= USAGE_CONT_INDENT && u->n) {
			append_desc(&u->v[u->n - 1], p, (size_t)(end - p));
		} else {
			ALLOC_GROW(u->v, u->n + 1, u->alloc);
			e = &u->v[u->n++];
			e->indent = indent;
			for (gap = p; gap < end && !(gap[0] == ' ' && gap + 1 < end && gap[1] == ' '); gap++)
				;
			e->term = xstrndup(p, (size_t)(gap - p));
			while (gap < end && *gap == ' ')
				gap++;
			e->desc = xstrndup(gap, (size_t)(end - gap));
			if (u->n == 1 || indent < u->min_indent)
				u->min_indent = indent;
		}
		line = *end ? end + 1 : end;
	}
}

void
usage_release(struct usage *u)
{
	size_t i;

	for (i = 0; i < u->n; i++) {
		free(u->v[i].term);
		free(u->v[i].desc);
	}
	free(u->v);
	u->v = NULL;
	u->n = u->alloc = 0;
	u->min_indent = 0;
}

size_t
usage_words(const char *term, char *buf, size_t bufsz, const char **words, size_t max)
{
	size_t n = 0, len;
	char *w, *save = NULL;

	if (!bufsz)
		return 0;
	len = strlen(term);
	if (len >= bufsz)
		len = bufsz - 1;
	memcpy(buf, term, len);
	buf[len] = '\0';
	for (w = strtok_r(buf, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save)) {
		while (*w == '[')
			w++;
		len = strlen(w);
		while (len && (w[len - 1] == ']' || w[len - 1] == ','))
			w[--len] = '\0';
		if (*w)
			words[n++] = w;
	}
	return n;
}

int
usage_is_literal(const char *word)
{
	const char *p;

	if (!(*word >= 'a' && *word <= 'z'))
		return 0;
	for (p = word; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '|'))
			return 0;
	return 1;
}
