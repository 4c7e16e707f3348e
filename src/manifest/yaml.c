/*
 * yaml.c - YAML text to jansson values with the place of every node.
 *
 * One pass over libyaml's events. Collections are attached to their parent
 * when they start (the parent owns them, frames borrow them), so an error
 * anywhere frees everything with one json_decref of the document root.
 * The field path of the current node lives in one buffer that grows and
 * shrinks as the walk goes down and up; pending mapping keys live in
 * another. Marks are appended to the document's arena in document order,
 * so mark_entry.path_off is increasing and an entry is found from its path
 * offset by binary search.
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "manifest/path.h"
#include "manifest/yaml.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * The path arena of one document stops growing past this many bytes: the
 * later nodes get no mark of their own and mdoc_mark falls back to an
 * enclosing one. Only a document of long keys nested deep gets near it.
 */
#define MARKS_MAX_BYTES	(64u * 1024 * 1024)

/* How much of a subject a message quotes. */
#define QUOTE_MAX	64

#define TAG_PREFIX	"tag:yaml.org,2002:"

struct frame {
	json_t *val;		/* borrowed: the parent or the document owns it */
	size_t path_len;	/* length of the collection's own path */
	size_t next;		/* sequence: index of the next item */
	size_t key_off;		/* mapping: the pending key in ctx.keys */
	size_t key_len;
	struct mark key_mark;	/* mapping: where the pending key is */
	size_t anchor;		/* 1 + index in ctx.anchors, 0 for none */
	uint64_t nodes_before;	/* ctx.nodes before this collection */
	unsigned char is_map;
	unsigned char have_key;
};

struct anchor {
	json_t *val;		/* owned reference */
	char *text;		/* scalar text (for use as a key); NULL otherwise */
	size_t text_len;
	const char *kind;	/* "a scalar", "a mapping", "a sequence" */
	struct mark mark;
	uint64_t nodes;		/* nodes of the subtree, aliases expanded */
	int complete;
};

struct ctx {
	const char *file;
	const char *data;
	size_t len;
	struct diags *d;
	int failed;
	yaml_parser_t parser;

	struct buf path;	/* path of the current node */
	struct buf keys;	/* pending keys, one per open mapping */
	struct frame stack[YAML_MAX_DEPTH];
	size_t depth;
	uint64_t nodes;		/* per file, aliases expanded */

	struct mdoc doc;	/* the document being built */
	int empty_doc;		/* its root is an empty plain scalar */
	unsigned docno;
	struct mark *key_marks;	/* parallel to doc.marks: where the key was */
	size_t akey_marks;

	struct anchor *anchors;
	size_t nanchors, aanchors;
	json_t *anchor_names;	/* name -> integer index in anchors */
};

static struct mark
mk(yaml_mark_t m)
{
	struct mark r;

	r.line = m.line >= UINT32_MAX ? UINT32_MAX : (uint32_t)m.line + 1;
	r.col = m.column >= UINT32_MAX ? UINT32_MAX : (uint32_t)m.column + 1;
	return r;
}

/* Append s (n bytes) to b as a quoted, escaped, clipped string. */
static void
quote(struct buf *b, const char *s, size_t n)
{
	size_t i, lim = n;
	int clipped = 0;

	if (lim > QUOTE_MAX) {
		lim = QUOTE_MAX;
		/* do not cut a UTF-8 sequence */
		while (lim > 0 && ((unsigned char)s[lim] & 0xc0) == 0x80)
			lim--;
		clipped = 1;
	}
	buf_addch(b, '"');
	for (i = 0; i < lim; i++) {
		unsigned char ch = (unsigned char)s[i];

		switch (ch) {
		case '"':
			buf_addstr(b, "\\\"");
			break;
		case '\\':
			buf_addstr(b, "\\\\");
			break;
		case '\n':
			buf_addstr(b, "\\n");
			break;
		case '\t':
			buf_addstr(b, "\\t");
			break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				buf_addf(b, "\\u%04x", ch);
			else
				buf_addch(b, ch);
		}
	}
	buf_addch(b, '"');
	if (clipped)
		buf_addstr(b, "...");
}

/* Append s clipped, unquoted (numbers). */
static void
clip(struct buf *b, const char *s, size_t n)
{
	if (n > QUOTE_MAX) {
		buf_add(b, s, QUOTE_MAX);
		buf_addstr(b, "...");
	} else {
		buf_add(b, s, n);
	}
}

/* "!!int" for the core tags, the tag itself otherwise, quoted if odd. */
static void
tag_name(struct buf *b, const char *tag)
{
	size_t plen = sizeof(TAG_PREFIX) - 1;

	if (!strncmp(tag, TAG_PREFIX, plen)) {
		buf_addstr(b, "!!");
		clip(b, tag + plen, strlen(tag + plen));
	} else {
		quote(b, tag, strlen(tag));
	}
}

static void
fail_at(struct ctx *c, struct mark m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail_at(struct ctx *c, struct mark m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(c->d, DIAG_ERROR, c->file, m.line, m.col, c->path.buf,
		   fmt, ap);
	va_end(ap);
	c->failed = 1;
}

/* Report a message already built in msg. */
static void
fail_buf(struct ctx *c, struct mark m, struct buf *msg)
{
	fail_at(c, m, "%s", msg->buf);
	buf_release(msg);
}

static void
oom(struct ctx *c, struct mark m)
{
	fail_at(c, m, "out of memory");
}

/* ---- marks ---- */

static void
path_push_index_fast(struct buf *b, size_t index)
{
	char tmp[32];
	size_t i = sizeof(tmp);

	tmp[--i] = ']';
	do {
		tmp[--i] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	tmp[--i] = '[';
	buf_add(b, tmp + i, sizeof(tmp) - i);
}

/* Record the current path with the node's mark and its key's mark. */
static void
record(struct ctx *c, struct mark m, struct mark key)
{
	struct mdoc *doc = &c->doc;
	size_t n = c->path.len + 1;

	if (doc->paths_len + n > MARKS_MAX_BYTES)
		return;
	ALLOC_GROW(doc->paths, doc->paths_len + n, doc->paths_alloc);
	memcpy(doc->paths + doc->paths_len, c->path.buf, n);
	ALLOC_GROW(doc->marks, doc->nmarks + 1, doc->amarks);
	ALLOC_GROW(c->key_marks, doc->nmarks + 1, c->akey_marks);
	doc->marks[doc->nmarks].path_off = (uint32_t)doc->paths_len;
	doc->marks[doc->nmarks].mark = m;
	c->key_marks[doc->nmarks] = key;
	doc->nmarks++;
	doc->paths_len += n;
}

/* Index of the entry whose path is p (n > 0 bytes), or -1. */
static long
find_entry(const struct mdoc *doc, const char *p, size_t n)
{
	const char *a = doc->paths;
	size_t alen = doc->paths_len, pos = 0;

	while (pos < alen) {
		const char *hit = memmem(a + pos, alen - pos, p, n);
		size_t off, lo, hi;

		if (!hit)
			return -1;
		off = (size_t)(hit - a);
		pos = off + 1;
		if ((off && a[off - 1] != '\0') || off + n >= alen ||
		    a[off + n] != '\0')
			continue;
		lo = 0;
		hi = doc->nmarks;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (doc->marks[mid].path_off < off)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < doc->nmarks && doc->marks[lo].path_off == off)
			return (long)lo;
	}
	return -1;
}

/* Length of p (n bytes) without its last component. */
static size_t
parent_len(const char *p, size_t n)
{
	size_t i = 0, last = 0;

	while (i < n) {
		last = i;
		if (p[i] == '[' && i + 1 < n && p[i + 1] == '"') {
			i += 2;
			while (i < n && p[i] != '"')
				i += p[i] == '\\' ? 2 : 1;
			i++;		/* the closing quote */
			if (i < n && p[i] == ']')
				i++;
		} else if (p[i] == '[') {
			i++;
			while (i < n && p[i] != ']' && p[i] != '[' &&
			       p[i] != '.')
				i++;
			if (i < n && p[i] == ']')
				i++;
		} else {
			i++;	/* a leading '.' or the first character */
			while (i < n && p[i] != '.' && p[i] != '[')
				i++;
		}
	}
	return last;
}

struct mark
mdoc_mark(const struct mdoc *doc, const char *path)
{
	size_t n = strlen(path);

	while (n > 0) {
		long i = find_entry(doc, path, n);

		if (i >= 0)
			return doc->marks[i].mark;
		n = parent_len(path, n);
	}
	return doc->mark;
}

/* ---- scalars ---- */

enum scalar_kind {
	K_STR,
	K_NULL,
	K_TRUE,
	K_FALSE,
	K_INT,
	K_FLOAT,
	K_INF,
	K_NAN,
};

static int
eq3(const char *s, size_t n, const char *a, const char *b, const char *c)
{
	size_t l = strlen(a);

	return n == l && (!memcmp(s, a, l) || !memcmp(s, b, l) ||
			  !memcmp(s, c, l));
}

static size_t
span(const char *s, size_t i, size_t n, int (*ok)(int))
{
	size_t j = i;

	while (j < n && ok((unsigned char)s[j]))
		j++;
	return j - i;
}

static int
is_dec(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_oct(int ch)
{
	return ch >= '0' && ch <= '7';
}

static int
is_hex(int ch)
{
	return is_dec(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Which core-schema type the text s (n bytes) of a plain scalar is. */
static enum scalar_kind
classify(const char *s, size_t n)
{
	size_t i = 0, d, f;

	if (n == 0)
		return K_NULL;
	switch (s[0]) {
	case '~':
		return n == 1 ? K_NULL : K_STR;
	case 'n':
	case 'N':
		return eq3(s, n, "null", "Null", "NULL") ? K_NULL : K_STR;
	case 't':
	case 'T':
		return eq3(s, n, "true", "True", "TRUE") ? K_TRUE : K_STR;
	case 'f':
	case 'F':
		return eq3(s, n, "false", "False", "FALSE") ? K_FALSE : K_STR;
	case '.':
	case '+':
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		break;
	default:
		return K_STR;
	}
	if (n > 2 && s[0] == '0' && s[1] == 'x')
		return span(s, 2, n, is_hex) == n - 2 ? K_INT : K_STR;
	if (n > 2 && s[0] == '0' && s[1] == 'o')
		return span(s, 2, n, is_oct) == n - 2 ? K_INT : K_STR;
	if (eq3(s, n, ".nan", ".NaN", ".NAN"))
		return K_NAN;
	if (s[0] == '+' || s[0] == '-')
		i++;
	if (eq3(s + i, n - i, ".inf", ".Inf", ".INF"))
		return K_INF;
	d = span(s, i, n, is_dec);
	i += d;
	if (i == n)
		return d ? K_INT : K_STR;
	if (s[i] == '.') {
		i++;
		f = span(s, i, n, is_dec);
		if (!d && !f)
			return K_STR;
		i += f;
	} else if (!d) {
		return K_STR;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = span(s, i, n, is_dec);
		if (!d)
			return K_STR;
		i += d;
	}
	return i == n ? K_FLOAT : K_STR;
}

static unsigned
digit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (unsigned)(ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (unsigned)(ch - 'a' + 10);
	return (unsigned)(ch - 'A' + 10);
}

/* Value of s (n bytes, classified K_INT); -1 when outside int64. */
static int
parse_int(const char *s, size_t n, int64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;
	size_t i = 0;
	int neg = 0;

	if (n > 2 && s[0] == '0' && s[1] == 'x') {
		base = 16;
		i = 2;
	} else if (n > 2 && s[0] == '0' && s[1] == 'o') {
		base = 8;
		i = 2;
	} else if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		if (neg)
			lim++;
		i = 1;
	}
	for (; i < n; i++) {
		unsigned dg = digit((unsigned char)s[i]);

		if (v > (lim - dg) / base)
			return -1;
		v = v * base + dg;
	}
	if (!neg)
		*out = (int64_t)v;
	else if (v == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)v;
	return 0;
}

static json_t *
make_int(struct ctx *c, struct mark m, const char *s, size_t n)
{
	int64_t v;
	struct buf msg = BUF_INIT;

	if (parse_int(s, n, &v) < 0) {
		buf_addstr(&msg, "want an integer that fits in 64 bits, have ");
		clip(&msg, s, n);
		fail_buf(c, m, &msg);
		return NULL;
	}
	return json_integer((json_int_t)v);
}

static json_t *
want(struct ctx *c, struct mark m, const char *tag, const char *what,
     const char *s, size_t n)
{
	struct buf msg = BUF_INIT;

	buf_addf(&msg, "%s: want %s, have ", tag, what);
	quote(&msg, s, n);
	fail_buf(c, m, &msg);
	return NULL;
}

static json_t *
refuse(struct ctx *c, struct mark m, const char *what, const char *s,
       size_t n, const char *why)
{
	struct buf msg = BUF_INIT;

	buf_addf(&msg, "want %s, have ", what);
	clip(&msg, s, n);
	buf_addstr(&msg, why);
	fail_buf(c, m, &msg);
	return NULL;
}

/* The real value of s (n bytes, classified k: a number of any kind). */
static json_t *
make_real(struct ctx *c, struct mark m, const char *s, size_t n,
	  enum scalar_kind k)
{
	locale_t cloc;
	char *end;
	double v;

	if (k == K_NAN)
		return refuse(c, m, "a number", s, n, " (JSON has no NaN)");
	if (k == K_INF)
		return refuse(c, m, "a finite number", s, n,
			      " (JSON has no infinity)");
	if (k == K_INT) {
		int64_t i;

		if (parse_int(s, n, &i) == 0)
			return json_real((double)i);
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o'))
			return refuse(c, m, "a number that fits in 64 bits",
				      s, n, "");
		/* a decimal too wide for int64 is still a fine double */
	}
	/*
	 * The value is NUL-terminated and its format was checked above; read
	 * it in the C locale whatever the program's LC_NUMERIC says.
	 */
	if ((cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0))) {
		v = strtod_l(s, &end, cloc);
		freelocale(cloc);
	} else {
		v = strtod(s, &end);
	}
	if (end != s + n)
		return want(c, m, "!!float", "a number", s, n);
	if (isinf(v))
		return refuse(c, m, "a finite number", s, n,
			      " (JSON has no infinity)");
	return json_real(v);
}

static json_t *
unsupported_tag(struct ctx *c, struct mark m, const char *on,
		const char *wanted, const char *tag)
{
	struct buf msg = BUF_INIT;

	buf_addf(&msg, "unsupported tag%s: want %s, have ", on, wanted);
	tag_name(&msg, tag);
	fail_buf(c, m, &msg);
	return NULL;
}

#define SCALAR_TAGS	"!!str, !!int, !!float, !!bool or !!null"

/*
 * The JSON value of a scalar event, or NULL after reporting why not.
 */
static json_t *
scalar_value(struct ctx *c, const yaml_event_t *ev, struct mark m)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	enum scalar_kind k;
	json_t *v;

	if (!tag) {
		if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_stringn_nocheck(s, n);
		k = classify(s, n);
	} else if (!strcmp(tag, "!") ||
		   !strcmp(tag, TAG_PREFIX "str")) {
		return json_stringn_nocheck(s, n);
	} else {
		const char *t;

		if (strncmp(tag, TAG_PREFIX, sizeof(TAG_PREFIX) - 1))
			return unsupported_tag(c, m, "", SCALAR_TAGS, tag);
		t = tag + sizeof(TAG_PREFIX) - 1;
		k = classify(s, n);
		if (!strcmp(t, "int")) {
			if (k != K_INT)
				return want(c, m, "!!int", "an integer", s, n);
		} else if (!strcmp(t, "float")) {
			if (k != K_INT && k != K_FLOAT && k != K_INF &&
			    k != K_NAN)
				return want(c, m, "!!float", "a number", s, n);
			return make_real(c, m, s, n, k);
		} else if (!strcmp(t, "bool")) {
			if (k != K_TRUE && k != K_FALSE)
				return want(c, m, "!!bool", "true or false",
					    s, n);
		} else if (!strcmp(t, "null")) {
			if (k != K_NULL)
				return want(c, m, "!!null", "null", s, n);
		} else {
			return unsupported_tag(c, m, "", SCALAR_TAGS, tag);
		}
	}
	switch (k) {
	case K_NULL:
		v = json_null();
		break;
	case K_TRUE:
		v = json_true();
		break;
	case K_FALSE:
		v = json_false();
		break;
	case K_INT:
		return make_int(c, m, s, n);
	case K_FLOAT:
	case K_INF:
	case K_NAN:
		return make_real(c, m, s, n, k);
	default:
		v = json_stringn_nocheck(s, n);
	}
	return v;
}

/* ---- anchors ---- */

static size_t
anchor_add(struct ctx *c, const char *name, json_t *val, const char *kind,
	   struct mark m)
{
	struct anchor *a;
	json_t *idx;

	ALLOC_GROW(c->anchors, c->nanchors + 1, c->aanchors);
	a = &c->anchors[c->nanchors];
	memset(a, 0, sizeof(*a));
	a->val = json_incref(val);
	a->kind = kind;
	a->mark = m;
	if (!c->anchor_names)
		c->anchor_names = json_object();
	idx = json_integer((json_int_t)c->nanchors);
	if (!c->anchor_names || !idx ||
	    json_object_set_new_nocheck(c->anchor_names, name, idx) < 0) {
		json_decref(a->val);
		return 0;
	}
	return ++c->nanchors;
}

static void
anchors_clear(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nanchors; i++) {
		json_decref(c->anchors[i].val);
		free(c->anchors[i].text);
	}
	c->nanchors = 0;
	if (c->anchor_names)
		json_object_clear(c->anchor_names);
}

/* The complete anchor an alias names, or NULL after reporting. */
static struct anchor *
anchor_get(struct ctx *c, const char *name, struct mark m)
{
	json_t *idx = c->anchor_names ?
		json_object_get(c->anchor_names, name) : NULL;
	struct anchor *a;
	struct buf msg = BUF_INIT;

	if (!idx) {
		buf_addstr(&msg, "undefined alias ");
		quote(&msg, name, strlen(name));
		fail_buf(c, m, &msg);
		return NULL;
	}
	a = &c->anchors[json_integer_value(idx)];
	if (!a->complete) {
		buf_addstr(&msg, "recursive alias ");
		quote(&msg, name, strlen(name));
		buf_addf(&msg, " (its anchor at %u:%u encloses it)",
			 a->mark.line, a->mark.col);
		fail_buf(c, m, &msg);
		return NULL;
	}
	return a;
}

/* ---- tree building ---- */

static int
count_nodes(struct ctx *c, uint64_t n, struct mark m, const char *alias)
{
	struct buf msg = BUF_INIT;

	if (n <= YAML_MAX_NODES - c->nodes) {
		c->nodes += n;
		return 0;
	}
	buf_addf(&msg, "more than %u nodes", YAML_MAX_NODES);
	if (alias) {
		buf_addstr(&msg, " after alias expansion (alias ");
		quote(&msg, alias, strlen(alias));
		buf_addf(&msg, " at %u:%u)", m.line, m.col);
	}
	fail_buf(c, m, &msg);
	return -1;
}

static struct frame *
top(struct ctx *c)
{
	return c->depth ? &c->stack[c->depth - 1] : NULL;
}

static int
key_position(struct ctx *c)
{
	struct frame *f = top(c);

	return f && f->is_map && !f->have_key;
}

/* A value node starts at m: extend the path and record the mark. */
static void
value_begin(struct ctx *c, struct mark m)
{
	struct frame *f = top(c);
	struct mark key = m;

	if (!f)
		c->doc.mark = m;
	else if (f->is_map)
		key = f->key_mark;
	else
		path_push_index_fast(&c->path, f->next);
	record(c, m, key);
}

/* Attach v (a new reference, taken even on failure) at the current place. */
static int
attach(struct ctx *c, json_t *v, struct mark m)
{
	struct frame *f = top(c);
	int r;

	if (!v) {
		oom(c, m);
		return -1;
	}
	if (!f) {
		c->doc.root = v;
		return 0;
	}
	if (f->is_map)
		r = json_object_setn_new_nocheck(f->val,
						 c->keys.buf + f->key_off,
						 f->key_len, v);
	else
		r = json_array_append_new(f->val, v);
	if (r < 0) {
		oom(c, m);
		return -1;
	}
	return 0;
}

/* The value at the current key or index is complete. */
static void
value_end(struct ctx *c)
{
	struct frame *f = top(c);

	if (!f)
		return;
	buf_setlen(&c->path, f->path_len);
	if (f->is_map) {
		buf_setlen(&c->keys, f->key_off);
		f->have_key = 0;
	} else {
		f->next++;
	}
}

/* A mapping key s (n bytes) at m: check it and make it pending. */
static int
take_key(struct ctx *c, const char *s, size_t n, struct mark m)
{
	struct frame *f = top(c);
	struct buf msg = BUF_INIT;

	if (n > YAML_MAX_KEY) {
		fail_at(c, m, "key is %zu bytes, over the limit of %u bytes",
			n, (unsigned)YAML_MAX_KEY);
		return -1;
	}
	path_push_key(&c->path, s, n);
	if (json_object_getn(f->val, s, n)) {
		long i = find_entry(&c->doc, c->path.buf, c->path.len);

		buf_addstr(&msg, "duplicate key ");
		quote(&msg, s, n);
		if (i >= 0)
			buf_addf(&msg, " (first at %u:%u)",
				 c->key_marks[i].line, c->key_marks[i].col);
		fail_buf(c, m, &msg);
		return -1;
	}
	f->key_off = c->keys.len;
	f->key_len = n;
	buf_add(&c->keys, s, n);
	f->key_mark = m;
	f->have_key = 1;
	return 0;
}

/* Register a scalar's anchor; v is borrowed. */
static int
scalar_anchor(struct ctx *c, const char *name, json_t *v, const char *s,
	      size_t n, struct mark m)
{
	size_t ai = anchor_add(c, name, v, "a scalar", m);
	struct anchor *a;

	if (!ai) {
		oom(c, m);
		return -1;
	}
	a = &c->anchors[ai - 1];
	a->text = xstrndup(s, n);
	a->text_len = n;
	a->nodes = 1;
	a->complete = 1;
	return 0;
}

static int
on_scalar(struct ctx *c, const yaml_event_t *ev)
{
	struct mark m = mk(ev->start_mark);
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	json_t *v;
	int r;

	if (key_position(c)) {
		if (count_nodes(c, 1, m, NULL) < 0)
			return -1;
		if (ev->data.scalar.tag) {
			/* a tagged key must fit its tag; it is text all the same */
			if (!(v = scalar_value(c, ev, m))) {
				if (!c->failed)
					oom(c, m);
				return -1;
			}
			json_decref(v);
		}
		if (take_key(c, s, n, m) < 0)
			return -1;
		if (!anchor)
			return 0;
		if (!(v = json_stringn_nocheck(s, n))) {
			oom(c, m);
			return -1;
		}
		r = scalar_anchor(c, anchor, v, s, n, m);
		json_decref(v);
		return r;
	}
	if (!c->depth && !anchor && !ev->data.scalar.tag && !n &&
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		c->empty_doc = 1;
	value_begin(c, m);
	if (count_nodes(c, 1, m, NULL) < 0)
		return -1;
	if (!(v = scalar_value(c, ev, m))) {
		if (!c->failed)
			oom(c, m);
		return -1;
	}
	if (anchor && scalar_anchor(c, anchor, v, s, n, m) < 0) {
		json_decref(v);
		return -1;
	}
	if (attach(c, v, m) < 0)
		return -1;
	value_end(c);
	return 0;
}

static int
on_alias(struct ctx *c, const yaml_event_t *ev)
{
	struct mark m = mk(ev->start_mark);
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *a;
	int in_key = key_position(c);

	if (!in_key)
		value_begin(c, m);
	if (!(a = anchor_get(c, name, m)))
		return -1;
	if (count_nodes(c, a->nodes, m, name) < 0)
		return -1;
	if (in_key) {
		struct buf msg = BUF_INIT;

		if (a->text)
			return take_key(c, a->text, a->text_len, m);
		buf_addf(&msg, "non-scalar key: want a scalar, have %s (alias ",
			 a->kind);
		quote(&msg, name, strlen(name));
		buf_addch(&msg, ')');
		fail_buf(c, m, &msg);
		return -1;
	}
	if (attach(c, json_incref(a->val), m) < 0)
		return -1;
	value_end(c);
	return 0;
}

static int
on_start(struct ctx *c, const yaml_event_t *ev, int is_map)
{
	struct mark m = mk(ev->start_mark);
	const char *tag, *anchor, *kind = is_map ? "a mapping" : "a sequence";
	struct frame *f;
	size_t ai = 0;
	json_t *v;

	if (is_map) {
		tag = (const char *)ev->data.mapping_start.tag;
		anchor = (const char *)ev->data.mapping_start.anchor;
	} else {
		tag = (const char *)ev->data.sequence_start.tag;
		anchor = (const char *)ev->data.sequence_start.anchor;
	}
	if (key_position(c)) {
		fail_at(c, m, "non-scalar key: want a scalar, have %s", kind);
		return -1;
	}
	value_begin(c, m);
	if (tag && strcmp(tag, "!") &&
	    strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq")) {
		unsupported_tag(c, m, is_map ? " on a mapping" : " on a sequence",
				is_map ? "!!map" : "!!seq", tag);
		return -1;
	}
	if (c->depth >= YAML_MAX_DEPTH) {
		fail_at(c, m, "nesting deeper than %d levels", YAML_MAX_DEPTH);
		return -1;
	}
	if (count_nodes(c, 1, m, NULL) < 0)
		return -1;
	if (!(v = is_map ? json_object() : json_array())) {
		oom(c, m);
		return -1;
	}
	if (anchor && !(ai = anchor_add(c, anchor, v, kind, m))) {
		json_decref(v);
		oom(c, m);
		return -1;
	}
	if (attach(c, v, m) < 0)
		return -1;
	f = &c->stack[c->depth++];
	memset(f, 0, sizeof(*f));
	f->val = v;
	f->path_len = c->path.len;
	f->key_off = c->keys.len;
	f->anchor = ai;
	f->nodes_before = c->nodes - 1;
	f->is_map = (unsigned char)is_map;
	return 0;
}

static void
on_end(struct ctx *c)
{
	struct frame *f;

	if (!c->depth)
		return;
	f = &c->stack[--c->depth];
	if (f->anchor) {
		struct anchor *a = &c->anchors[f->anchor - 1];

		a->nodes = c->nodes - f->nodes_before;
		a->complete = 1;
	}
	value_end(c);
}

/* ---- documents ---- */

static void
mdoc_release(struct mdoc *doc)
{
	free(doc->file);
	json_decref(doc->root);
	free(doc->marks);
	free(doc->paths);
	memset(doc, 0, sizeof(*doc));
}

void
mdocs_release(struct mdocs *docs)
{
	size_t i;

	for (i = 0; i < docs->n; i++)
		mdoc_release(&docs->v[i]);
	free(docs->v);
	docs->v = NULL;
	docs->n = docs->alloc = 0;
}

static void
doc_start(struct ctx *c)
{
	mdoc_release(&c->doc);
	c->doc.index = c->docno++;
	c->empty_doc = 0;
	c->depth = 0;
	buf_setlen(&c->path, 0);
	buf_setlen(&c->keys, 0);
}

static void
doc_end(struct ctx *c, struct mdocs *out)
{
	anchors_clear(c);
	if (c->empty_doc || !c->doc.root) {
		mdoc_release(&c->doc);
		return;
	}
	c->doc.file = xstrdup(c->file);
	ALLOC_GROW(out->v, out->n + 1, out->alloc);
	out->v[out->n++] = c->doc;
	memset(&c->doc, 0, sizeof(c->doc));
}

/* Line and column of a byte offset (libyaml gives only that for bad bytes). */
static struct mark
offset_mark(const struct ctx *c, size_t off)
{
	struct mark m = { 1, 1 };
	size_t i;

	if (off > c->len)
		off = c->len;
	for (i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)c->data[i];

		if (ch == '\n' ||
		    (ch == '\r' && (i + 1 >= c->len || c->data[i + 1] != '\n'))) {
			m.line++;
			m.col = 1;
		} else if ((ch & 0xc0) != 0x80 && ch != '\r') {
			m.col++;
		}
	}
	return m;
}

static void
syntax_error(struct ctx *c)
{
	const yaml_parser_t *p = &c->parser;
	struct buf msg = BUF_INIT;
	struct mark m;

	buf_addf(&msg, "yaml: %s", p->problem ? p->problem : "syntax error");
	if (p->error == YAML_MEMORY_ERROR) {
		m = offset_mark(c, p->mark.index);
	} else if (p->error == YAML_READER_ERROR) {
		m = offset_mark(c, p->problem_offset);
		if (p->problem_value >= 0)
			buf_addf(&msg, " (have 0x%02x)",
				 (unsigned)p->problem_value);
	} else {
		m = mk(p->problem_mark);
		if (p->context) {
			struct mark cm = mk(p->context_mark);

			buf_addf(&msg, " (%s that started at %u:%u)",
				 p->context, cm.line, cm.col);
		}
	}
	buf_setlen(&c->path, 0);
	fail_buf(c, m, &msg);
}

int
yaml_load(const char *file, const char *data, size_t len,
	  struct mdocs *out, struct diags *d)
{
	struct ctx c;
	yaml_event_t ev;
	int done = 0, r = -1;

	if (len > YAML_MAX_FILE) {
		diags_add(d, DIAG_ERROR, file, 0, 0, "",
			  "file is %zu bytes, over the limit of %u bytes",
			  len, YAML_MAX_FILE);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.file = file;
	c.data = data ? data : "";
	c.len = len;
	c.d = d;
	buf_init(&c.path, 0);
	buf_init(&c.keys, 0);
	if (!yaml_parser_initialize(&c.parser)) {
		diags_add(d, DIAG_ERROR, file, 0, 0, "", "yaml: out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)c.data,
				     len);
	while (!done) {
		if (!yaml_parser_parse(&c.parser, &ev)) {
			syntax_error(&c);
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			doc_start(&c);
			break;
		case YAML_DOCUMENT_END_EVENT:
			doc_end(&c, out);
			break;
		case YAML_SCALAR_EVENT:
			on_scalar(&c, &ev);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(&c, &ev);
			break;
		case YAML_MAPPING_START_EVENT:
			on_start(&c, &ev, 1);
			break;
		case YAML_SEQUENCE_START_EVENT:
			on_start(&c, &ev, 0);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			on_end(&c);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (c.failed)
			goto out;
	}
	r = 0;
out:
	yaml_parser_delete(&c.parser);
	mdoc_release(&c.doc);
	anchors_clear(&c);
	free(c.anchors);
	json_decref(c.anchor_names);
	free(c.key_marks);
	buf_release(&c.path);
	buf_release(&c.keys);
	return r;
}
