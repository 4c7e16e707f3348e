/*
 * buf.h - a growable byte buffer (git's strbuf, curl's dynbuf).
 *
 * Promises: b->buf is never NULL and always NUL-terminated after len bytes;
 * b->max, when non-zero, bounds len: an append that would pass it fails with
 * -1 and leaves the buffer as it was. Use a max for anything whose size comes
 * from the network, git or YAML.
 */
#ifndef BERTH_UTIL_BUF_H
#define BERTH_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max;	/* 0: unbounded */
};

extern char buf_empty[];
#define BUF_INIT { buf_empty, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
/*
 * Free the contents; b is BUF_INIT again (max kept). Safe on BUF_INIT, on a
 * released buffer and on a zeroed struct; b itself must not be NULL.
 */
void buf_release(struct buf *b);
/* Keep the allocation, drop the contents. */
void buf_reset(struct buf *b);
/* Hand the contents to the caller (free() them); b is empty again. */
char *buf_detach(struct buf *b, size_t *len);

int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, int c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Shorten to len bytes (len <= b->len). */
void buf_setlen(struct buf *b, size_t len);

#endif
