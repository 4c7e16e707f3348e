/*
 * path.c - building the field paths of path.h: plain keys joined with '.',
 * other keys as ["key"] with JSON escaping, indexes as [N].
 */
#include <stdio.h>
#include <string.h>

#include "manifest/path.h"
#include "util/banned.h"

static int
plain(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || !((k[0] >= 'a' && k[0] <= 'z') ||
			(k[0] >= 'A' && k[0] <= 'Z') || k[0] == '_'))
		return 0;
	for (i = 1; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void
path_push_key(struct buf *b, const char *key, size_t n)
{
	size_t i;

	if (plain(key, n)) {
		if (b->len)
			buf_addch(b, '.');
		buf_add(b, key, n);
		return;
	}
	buf_addstr(b, "[\"");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c == '"' || c == '\\') {
			buf_addch(b, '\\');
			buf_addch(b, c);
		} else if (c < 0x20) {
			buf_addf(b, "\\u%04x", c);
		} else {
			buf_addch(b, c);
		}
	}
	buf_addstr(b, "\"]");
}

void
path_push_index(struct buf *b, size_t index)
{
	buf_addf(b, "[%zu]", index);
}
