/*
 * suggest.c - edit distance and the "did you mean" candidate (suggest.h).
 */
#include <stdlib.h>
#include <string.h>

#include "util/suggest.h"
#include "util/xalloc.h"
#include "util/banned.h"

size_t
edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), i, j, r;
	size_t *d = xmalloc((n + 1) * (m + 1) * sizeof(*d));

#define D(x, y) d[(x) * (m + 1) + (y)]
	for (i = 0; i <= n; i++)
		D(i, 0) = i;
	for (j = 0; j <= m; j++)
		D(0, j) = j;
	for (i = 1; i <= n; i++) {
		for (j = 1; j <= m; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = D(i - 1, j) + 1;

			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	}
	r = D(n, m);
#undef D
	free(d);
	return r;
}

const char *
suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL, *prefix = NULL;
	size_t bestd = (size_t)-1, i, len = strlen(word), limit, prefixes = 0;

	if (len > 64)
		return NULL;
	limit = len / 3 ? len / 3 : 1;
	for (i = 0; i < n; i++) {
		size_t dist;

		if (!cands[i])
			continue;
		if (len && !strncmp(cands[i], word, len)) {
			prefix = cands[i];
			prefixes++;
		}
		dist = edit_distance(word, cands[i]);
		if (dist < bestd) {
			bestd = dist;
			best = cands[i];
		}
	}
	if (best && bestd <= limit)
		return best;
	return prefixes == 1 ? prefix : NULL;
}
