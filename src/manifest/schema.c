/*
 * schema.c - a JSON Schema (draft 2020-12) validator for exactly the
 * keywords berth's schemas use (see schema.h).
 *
 * Loading compiles every schema object into a struct snode once: keywords
 * are checked and decoded, patterns are compiled with regcomp, and every
 * $ref is resolved to the node it points at (by $id-relative file name and
 * JSON pointer). Validation walks nodes and the instance together, keeping
 * the operator-facing path in a buffer.
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embedded.h"
#include "manifest/path.h"
#include "manifest/schema.h"
#include "util/suggest.h"
#include "util/buf.h"
#include "util/rx.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Nested evaluations before validation gives up (ref cycles, deep input). */
#define SCHEMA_MAX_DEPTH	1000
/* Longest key for which a "did you mean" suggestion is computed. */
#define SUGGEST_MAX		64
/* Code points of a string value quoted in a message. */
#define QUOTE_MAX		60

enum {
	T_NULL = 1 << 0,
	T_BOOLEAN = 1 << 1,
	T_OBJECT = 1 << 2,
	T_ARRAY = 1 << 3,
	T_NUMBER = 1 << 4,
	T_STRING = 1 << 5,
	T_INTEGER = 1 << 6,
};

static const struct {
	const char *name;
	unsigned bit;
	const char *want;
} type_names[] = {
	{ "null", T_NULL, "null" },
	{ "boolean", T_BOOLEAN, "true or false" },
	{ "object", T_OBJECT, "a mapping" },
	{ "array", T_ARRAY, "a list" },
	{ "number", T_NUMBER, "a number" },
	{ "string", T_STRING, "a string" },
	{ "integer", T_INTEGER, "an integer" },
};

struct snode;

struct sprop {
	const char *name;		/* borrowed from the schema document */
	struct snode *schema;
};

struct spattern {
	regex_t re;
	struct rx *rx;			/* NULL: outside rx's subset */
	const char *src;
	struct snode *schema;
};

struct snode {
	const json_t *json;		/* where it was compiled from */
	int boolean;			/* -1: an object schema; 0/1: false/true */
	const char *want;		/* title naming the shape, or NULL */
	unsigned types;			/* 0: no "type" */
	const json_t *enumv;
	const json_t *constv;
	struct sprop *props;
	size_t nprops;
	const char **required;
	size_t nrequired;
	struct snode *additional;
	struct spattern *patprops;
	size_t npatprops;
	struct snode *propnames;
	long long min_props, max_props;	/* -1: absent */
	struct snode *items;
	long long min_items, max_items;
	int unique;
	long long min_len, max_len;
	int has_pattern;
	regex_t re;
	struct rx *rx;
	const char *pattern;
	int has_min, has_max, has_xmin;
	double minimum, maximum, xminimum;
	struct snode **all, **any, **one;
	size_t nall, nany, none;
	struct snode *if_, *then_, *else_;
	const char *ref;
	struct snode *target;
	size_t file;
};

struct sfile {
	char *name;
	char *id;			/* $id, or the name when there is none */
	json_t *doc;
	struct snode *root;
};

struct schema_set {
	struct sfile *files;
	size_t nfiles;
	struct snode **nodes;
	size_t nnodes, anodes;
};

/* ---- loading ------------------------------------------------------- */

struct loader {
	struct schema_set *set;
	size_t file;
	struct buf ptr;			/* JSON pointer of the current node */
	struct berr *err;
};

static int
lerr(struct loader *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
lerr(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	char msg[BERR_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berr_set(l->err, "%s: %s: %s", l->set->files[l->file].name,
			l->ptr.len ? l->ptr.buf : "/", msg);
}

static void
ptr_push(struct buf *b, const char *key)
{
	buf_addch(b, '/');
	for (; *key; key++) {
		if (*key == '~')
			buf_addstr(b, "~0");
		else if (*key == '/')
			buf_addstr(b, "~1");
		else
			buf_addch(b, *key);
	}
}

static struct snode *compile(struct loader *l, const json_t *j, int named);

/* Compile the subschema at key (and, for arrays, index) below the current node. */
static struct snode *
compile_at(struct loader *l, const char *key, const char *sub, long idx,
	   const json_t *j, int named)
{
	size_t len = l->ptr.len;
	struct snode *n;

	ptr_push(&l->ptr, key);
	if (sub)
		ptr_push(&l->ptr, sub);
	if (idx >= 0)
		buf_addf(&l->ptr, "/%ld", idx);
	n = compile(l, j, named);
	if (n)
		buf_setlen(&l->ptr, len);
	return n;
}

static int
get_count(struct loader *l, const char *kw, const json_t *v, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return lerr(l, "\"%s\" wants a non-negative integer", kw);
	*out = json_integer_value(v);
	return 0;
}

static int
get_number(struct loader *l, const char *kw, const json_t *v, double *out,
	   int *has)
{
	if (!json_is_number(v))
		return lerr(l, "\"%s\" wants a number", kw);
	*out = json_number_value(v);
	*has = 1;
	return 0;
}

static int
compile_list(struct loader *l, const char *kw, const json_t *v,
	     struct snode ***out, size_t *n)
{
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return lerr(l, "\"%s\" wants a non-empty list of schemas", kw);
	*out = xcalloc(json_array_size(v), sizeof(**out));
	for (i = 0; i < json_array_size(v); i++) {
		(*out)[i] = compile_at(l, kw, NULL, (long)i,
				       json_array_get(v, i), 1);
		if (!(*out)[i])
			return -1;
		(*n)++;
	}
	return 0;
}

/*
 * A pattern must mean the same to regcomp (POSIX ERE) and to ECMAScript:
 * backslash only escapes punctuation, and there are no (?...) groups.
 */
static int
compile_pattern(struct loader *l, const char *src, regex_t *re,
		struct rx **rx)
{
	const char *p;
	int rc;

	for (p = src; *p; p++) {
		if (*p == '\\') {
			if (!p[1] || !strchr(".[](){}*+?|^$\\/-", p[1]))
				return lerr(l, "pattern \"%s\" uses \\%c, which "
					    "POSIX and ECMAScript read differently",
					    src, p[1] ? p[1] : ' ');
			p++;
		} else if (*p == '(' && p[1] == '?') {
			return lerr(l, "pattern \"%s\" uses (?, which POSIX "
				    "regular expressions do not have", src);
		}
	}
	rc = regcomp(re, src, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];

		regerror(rc, re, msg, sizeof(msg));
		return lerr(l, "pattern \"%s\" does not compile: %s", src, msg);
	}
	/* The fast matcher when it takes the pattern; else regexec. */
	if (rx_compile(rx, src))
		*rx = NULL;
	return 0;
}

static int
set_types(struct loader *l, struct snode *n, const json_t *v)
{
	size_t i, k, count = json_is_array(v) ? json_array_size(v) : 1;

	if (!json_is_string(v) && !(json_is_array(v) && count))
		return lerr(l, "\"type\" wants a type name or a list of them");
	for (i = 0; i < count; i++) {
		const json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
		unsigned bit = 0;

		for (k = 0; json_is_string(t) && k < sizeof(type_names) /
			     sizeof(type_names[0]); k++)
			if (!strcmp(json_string_value(t), type_names[k].name))
				bit = type_names[k].bit;
		if (!bit)
			return lerr(l, "\"type\" has an unknown type name");
		n->types |= bit;
	}
	return 0;
}

static int
compile_properties(struct loader *l, struct snode *n, const json_t *v)
{
	const char *key;
	json_t *sub;

	if (!json_is_object(v))
		return lerr(l, "\"properties\" wants a mapping of schemas");
	n->props = xcalloc(json_object_size(v), sizeof(*n->props));
	json_object_foreach((json_t *)v, key, sub) {
		struct sprop *p = &n->props[n->nprops];

		p->name = key;
		p->schema = compile_at(l, "properties", key, -1, sub, 0);
		if (!p->schema)
			return -1;
		n->nprops++;
	}
	return 0;
}

static int
compile_patprops(struct loader *l, struct snode *n, const json_t *v)
{
	const char *key;
	json_t *sub;

	if (!json_is_object(v))
		return lerr(l, "\"patternProperties\" wants a mapping of schemas");
	n->patprops = xcalloc(json_object_size(v), sizeof(*n->patprops));
	json_object_foreach((json_t *)v, key, sub) {
		struct spattern *p = &n->patprops[n->npatprops];

		if (compile_pattern(l, key, &p->re, &p->rx))
			return -1;
		p->src = key;
		n->npatprops++;
		p->schema = compile_at(l, "patternProperties", key, -1, sub, 1);
		if (!p->schema)
			return -1;
	}
	return 0;
}

static int
compile_required(struct loader *l, struct snode *n, const json_t *v)
{
	size_t i, k;

	if (!json_is_array(v))
		return lerr(l, "\"required\" wants a list of field names");
	n->required = xcalloc(json_array_size(v), sizeof(*n->required));
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *s = json_array_get(v, i);

		if (!json_is_string(s))
			return lerr(l, "\"required\" wants a list of field names");
		for (k = 0; k < n->nrequired; k++)
			if (!strcmp(n->required[k], json_string_value(s)))
				return lerr(l, "\"required\" lists \"%s\" twice",
					    json_string_value(s));
		n->required[n->nrequired++] = json_string_value(s);
	}
	return 0;
}

static int
compile_defs(struct loader *l, const json_t *v)
{
	const char *key;
	json_t *sub;

	if (!json_is_object(v))
		return lerr(l, "\"$defs\" wants a mapping of schemas");
	json_object_foreach((json_t *)v, key, sub)
		if (!compile_at(l, "$defs", key, -1, sub, 1))
			return -1;
	return 0;
}

static int
is_annotation(const char *kw)
{
	return !strcmp(kw, "$schema") || !strcmp(kw, "$id") ||
		!strcmp(kw, "title") || !strcmp(kw, "description") ||
		!strcmp(kw, "$comment") || !strcmp(kw, "default") ||
		!strcmp(kw, "examples");
}

static int
compile_annotation(struct loader *l, const char *kw, const json_t *v)
{
	if (!strcmp(kw, "default"))
		return 0;
	if (!strcmp(kw, "examples"))
		return json_is_array(v) ? 0 : lerr(l, "\"examples\" wants a list");
	if (!json_is_string(v))
		return lerr(l, "\"%s\" wants a string", kw);
	if ((!strcmp(kw, "$id") || !strcmp(kw, "$schema")) && l->ptr.len)
		return lerr(l, "\"%s\" is only allowed at the root", kw);
	return 0;
}

static int
compile_keyword(struct loader *l, struct snode *n, const char *kw,
		const json_t *v)
{
	if (is_annotation(kw))
		return compile_annotation(l, kw, v);
	if (!strcmp(kw, "type"))
		return set_types(l, n, v);
	if (!strcmp(kw, "enum")) {
		if (!json_is_array(v) || !json_array_size(v))
			return lerr(l, "\"enum\" wants a non-empty list");
		n->enumv = v;
		return 0;
	}
	if (!strcmp(kw, "const")) {
		n->constv = v;
		return 0;
	}
	if (!strcmp(kw, "properties"))
		return compile_properties(l, n, v);
	if (!strcmp(kw, "required"))
		return compile_required(l, n, v);
	if (!strcmp(kw, "additionalProperties"))
		return (n->additional = compile_at(l, kw, NULL, -1, v, 1)) ? 0 : -1;
	if (!strcmp(kw, "patternProperties"))
		return compile_patprops(l, n, v);
	if (!strcmp(kw, "propertyNames"))
		return (n->propnames = compile_at(l, kw, NULL, -1, v, 1)) ? 0 : -1;
	if (!strcmp(kw, "minProperties"))
		return get_count(l, kw, v, &n->min_props);
	if (!strcmp(kw, "maxProperties"))
		return get_count(l, kw, v, &n->max_props);
	if (!strcmp(kw, "items"))
		return (n->items = compile_at(l, kw, NULL, -1, v, 1)) ? 0 : -1;
	if (!strcmp(kw, "minItems"))
		return get_count(l, kw, v, &n->min_items);
	if (!strcmp(kw, "maxItems"))
		return get_count(l, kw, v, &n->max_items);
	if (!strcmp(kw, "uniqueItems")) {
		if (!json_is_boolean(v))
			return lerr(l, "\"uniqueItems\" wants true or false");
		n->unique = json_is_true(v);
		return 0;
	}
	if (!strcmp(kw, "minLength"))
		return get_count(l, kw, v, &n->min_len);
	if (!strcmp(kw, "maxLength"))
		return get_count(l, kw, v, &n->max_len);
	if (!strcmp(kw, "pattern")) {
		if (!json_is_string(v))
			return lerr(l, "\"pattern\" wants a string");
		if (compile_pattern(l, json_string_value(v), &n->re, &n->rx))
			return -1;
		n->has_pattern = 1;
		n->pattern = json_string_value(v);
		return 0;
	}
	if (!strcmp(kw, "minimum"))
		return get_number(l, kw, v, &n->minimum, &n->has_min);
	if (!strcmp(kw, "maximum"))
		return get_number(l, kw, v, &n->maximum, &n->has_max);
	if (!strcmp(kw, "exclusiveMinimum"))
		return get_number(l, kw, v, &n->xminimum, &n->has_xmin);
	if (!strcmp(kw, "allOf"))
		return compile_list(l, kw, v, &n->all, &n->nall);
	if (!strcmp(kw, "anyOf"))
		return compile_list(l, kw, v, &n->any, &n->nany);
	if (!strcmp(kw, "oneOf"))
		return compile_list(l, kw, v, &n->one, &n->none);
	if (!strcmp(kw, "if"))
		return (n->if_ = compile_at(l, kw, NULL, -1, v, 1)) ? 0 : -1;
	if (!strcmp(kw, "then"))
		return (n->then_ = compile_at(l, kw, NULL, -1, v, 1)) ? 0 : -1;
	if (!strcmp(kw, "else"))
		return (n->else_ = compile_at(l, kw, NULL, -1, v, 1)) ? 0 : -1;
	if (!strcmp(kw, "$ref")) {
		if (!json_is_string(v))
			return lerr(l, "\"$ref\" wants a string");
		n->ref = json_string_value(v);
		return 0;
	}
	if (!strcmp(kw, "$defs"))
		return compile_defs(l, v);
	return lerr(l, "unknown keyword \"%s\"", kw);
}

/*
 * Compile one schema. named: the schema's title names a shape and is used
 * after "want" (false for the root and for members of "properties", whose
 * titles are field labels for editors).
 */
static struct snode *
compile(struct loader *l, const json_t *j, int named)
{
	struct schema_set *s = l->set;
	struct snode *n;
	const char *kw;
	json_t *v;

	if (!json_is_object(j) && !json_is_boolean(j)) {
		lerr(l, "want a schema (a mapping or true/false)");
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->json = j;
	n->file = l->file;
	n->boolean = json_is_boolean(j) ? json_is_true(j) : -1;
	n->min_props = n->max_props = n->min_items = n->max_items = -1;
	n->min_len = n->max_len = -1;
	ALLOC_GROW(s->nodes, s->nnodes + 1, s->anodes);
	s->nodes[s->nnodes++] = n;
	if (n->boolean >= 0)
		return n;
	json_object_foreach((json_t *)j, kw, v)
		if (compile_keyword(l, n, kw, v))
			return NULL;
	if (named && l->ptr.len)
		n->want = json_string_value(json_object_get(j, "title"));
	if (n->if_ == NULL && (n->then_ || n->else_)) {
		lerr(l, "\"then\"/\"else\" without \"if\"");
		return NULL;
	}
	return n;
}

/* The document of a $ref: an absolute $id, or relative to the base's $id. */
static const struct sfile *
ref_file(const struct schema_set *s, const struct sfile *base,
	 const char *ref, size_t len)
{
	const char *slash;
	char *id;
	size_t i, dir;

	if (len == 0)
		return base;
	slash = strrchr(base->id, '/');
	dir = slash ? (size_t)(slash - base->id) + 1 : 0;
	if (memmem(ref, len, "://", 3))
		id = xstrndup(ref, len);
	else
		id = xasprintf("%.*s%.*s", (int)dir, base->id, (int)len, ref);
	for (i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].id, id))
			break;
	free(id);
	return i < s->nfiles ? &s->files[i] : NULL;
}

/* Follow a JSON pointer ("", "/a/b~1c") from root; NULL when it leads nowhere. */
static const json_t *
pointer_get(const json_t *root, const char *ptr)
{
	const json_t *j = root;
	struct buf tok = BUF_INIT;

	while (j && *ptr == '/') {
		ptr++;
		buf_reset(&tok);
		for (; *ptr && *ptr != '/'; ptr++) {
			if (*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
				buf_addch(&tok, ptr[1] == '0' ? '~' : '/');
				ptr++;
			} else {
				buf_addch(&tok, *ptr);
			}
		}
		if (json_is_object(j)) {
			j = json_object_get(j, tok.buf);
		} else if (json_is_array(j)) {
			char *end;
			unsigned long idx = strtoul(tok.buf, &end, 10);

			j = (tok.len && !*end && tok.buf[0] != '-') ?
				json_array_get(j, idx) : NULL;
		} else {
			j = NULL;
		}
	}
	buf_release(&tok);
	return *ptr ? NULL : j;
}

static int
resolve_refs(struct schema_set *s, struct berr *err)
{
	size_t i, k;

	for (i = 0; i < s->nnodes; i++) {
		struct snode *n = s->nodes[i];
		const char *hash;
		const struct sfile *f;
		const json_t *target;

		if (!n->ref)
			continue;
		hash = strchr(n->ref, '#');
		f = ref_file(s, &s->files[n->file], n->ref,
			     hash ? (size_t)(hash - n->ref) : strlen(n->ref));
		if (!f)
			return berr_set(err, "%s: $ref \"%s\": no such schema",
					s->files[n->file].name, n->ref);
		target = pointer_get(f->doc, hash ? hash + 1 : "");
		for (k = 0; target && k < s->nnodes; k++)
			if (s->nodes[k]->json == target)
				n->target = s->nodes[k];
		if (!n->target)
			return berr_set(err, "%s: $ref \"%s\" does not point at "
					"a schema", s->files[n->file].name, n->ref);
	}
	return 0;
}

static void
snode_free(struct snode *n)
{
	size_t i;

	for (i = 0; i < n->npatprops; i++) {
		regfree(&n->patprops[i].re);
		rx_free(n->patprops[i].rx);
	}
	if (n->has_pattern) {
		regfree(&n->re);
		rx_free(n->rx);
	}
	free(n->props);
	free(n->required);
	free(n->patprops);
	free(n->all);
	free(n->any);
	free(n->one);
	free(n);
}

void
schema_set_free(struct schema_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nnodes; i++)
		snode_free(s->nodes[i]);
	for (i = 0; i < s->nfiles; i++) {
		free(s->files[i].name);
		free(s->files[i].id);
		json_decref(s->files[i].doc);
	}
	free(s->nodes);
	free(s->files);
	free(s);
}

struct schema_set *
schema_set_load_texts(const char *const *names, const char *const *texts,
		      size_t n, struct berr *err)
{
	struct schema_set *s = xcalloc(1, sizeof(*s));
	struct loader l = { s, 0, BUF_INIT, err };
	size_t i;

	s->files = xcalloc(n, sizeof(*s->files));
	for (i = 0; i < n; i++) {
		struct sfile *f = &s->files[s->nfiles];
		json_error_t jerr;
		const char *id;

		f->name = xstrdup(names[i]);
		s->nfiles++;
		f->doc = json_loads(texts[i], JSON_REJECT_DUPLICATES |
				    JSON_DECODE_ANY, &jerr);
		if (!f->doc) {
			berr_set(err, "%s:%d:%d: not valid JSON: %s", names[i],
				 jerr.line, jerr.column, jerr.text);
			goto fail;
		}
		id = json_string_value(json_object_get(f->doc, "$id"));
		f->id = xstrdup(id ? id : names[i]);
	}
	for (i = 0; i < s->nfiles; i++) {
		l.file = i;
		buf_reset(&l.ptr);
		s->files[i].root = compile(&l, s->files[i].doc, 0);
		if (!s->files[i].root)
			goto fail;
	}
	if (resolve_refs(s, err))
		goto fail;
	buf_release(&l.ptr);
	return s;
fail:
	buf_release(&l.ptr);
	schema_set_free(s);
	return NULL;
}

struct schema_set *
schema_set_load(struct berr *err)
{
	const char **names = xcalloc(embedded_schemas_count, sizeof(*names));
	const char **texts = xcalloc(embedded_schemas_count, sizeof(*texts));
	struct schema_set *s;
	size_t i;

	for (i = 0; i < embedded_schemas_count; i++) {
		names[i] = embedded_schemas[i].name;
		texts[i] = embedded_schemas[i].data;
	}
	s = schema_set_load_texts(names, texts, embedded_schemas_count, err);
	free(names);
	free(texts);
	return s;
}

/* ---- validation ---------------------------------------------------- */

struct vctx {
	schema_report_fn report;
	void *ctx;
	struct buf path;
	unsigned quiet;		/* > 0: count problems, report nothing */
	unsigned depth;
	int too_deep;
	struct buf seen;	/* "path\nmessage\0" of every report so far */
};

/*
 * Whether the same problem was reported at the same path already: two
 * routes through the schemas (a property and an if/then about it) must not
 * report it twice.
 */
static int
seen(const struct buf *list, const char *item, size_t len)
{
	size_t off = 0;

	while (off < list->len) {
		size_t n = strlen(list->buf + off);

		if (n == len && !memcmp(list->buf + off, item, len))
			return 1;
		off += n + 1;
	}
	return 0;
}

static int
report(struct vctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
report(struct vctx *c, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	if (c->quiet)
		return 1;
	buf_addf(&msg, "%s\n", c->path.buf);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (seen(&c->seen, msg.buf, msg.len)) {
		buf_release(&msg);
		return 0;
	}
	buf_add(&c->seen, msg.buf, msg.len + 1);
	c->report(c->ctx, c->path.buf, msg.buf + c->path.len + 1);
	buf_release(&msg);
	return 1;
}

static void
fmt_number(struct buf *b, double d)
{
	buf_addf(b, "%.15g", d);
}

/* JSON text of a string, at most QUOTE_MAX code points of it. */
static void
quote_string(struct buf *b, const char *s, size_t len)
{
	size_t i, cps = 0, cut = len;
	json_t *j;
	char *text;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && cps++ == QUOTE_MAX) {
			cut = i;
			break;
		}
	}
	j = json_stringn_nocheck(s, cut);
	text = json_dumps(j, JSON_ENCODE_ANY);
	if (text && cut < len) {
		buf_add(b, text, strlen(text) - 1);
		buf_addstr(b, "...\"");
	} else if (text) {
		buf_addstr(b, text);
	}
	free(text);
	json_decref(j);
}

/* A value as it is shown after "have": "\"lots\"", "integer 5", "a list". */
static void
describe(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		buf_addstr(b, json_object_size(v) ? "a mapping" : "an empty mapping");
		break;
	case JSON_ARRAY:
		buf_addstr(b, json_array_size(v) ? "a list" : "an empty list");
		break;
	case JSON_STRING:
		quote_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_addf(b, "integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		buf_addstr(b, "number ");
		fmt_number(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_addstr(b, "true");
		break;
	case JSON_FALSE:
		buf_addstr(b, "false");
		break;
	case JSON_NULL:
		buf_addstr(b, "null");
		break;
	}
}

/* A value as it is shown after "want" (const and enum members). */
static void
show_value(struct buf *b, const json_t *v, int bare_strings)
{
	char *text;

	if (json_is_string(v) && bare_strings) {
		buf_add(b, json_string_value(v), json_string_length(v));
		return;
	}
	if (json_is_string(v)) {
		quote_string(b, json_string_value(v), json_string_length(v));
		return;
	}
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	buf_addstr(b, text ? text : "?");
	free(text);
}

static unsigned
type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return T_OBJECT;
	case JSON_ARRAY:
		return T_ARRAY;
	case JSON_STRING:
		return T_STRING;
	case JSON_INTEGER:
		return T_INTEGER | T_NUMBER;
	case JSON_REAL: {
		double d = json_real_value(v);

		return isfinite(d) && d == floor(d) ? T_INTEGER | T_NUMBER : T_NUMBER;
	}
	case JSON_TRUE:
	case JSON_FALSE:
		return T_BOOLEAN;
	case JSON_NULL:
		break;
	}
	return T_NULL;
}

static void
type_want(struct buf *b, unsigned types)
{
	size_t k, n = 0, total = 0;

	if ((types & T_NUMBER) && (types & T_INTEGER))
		types &= ~(unsigned)T_INTEGER;
	for (k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++)
		total += (types & type_names[k].bit) != 0;
	for (k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++) {
		if (!(types & type_names[k].bit))
			continue;
		if (n)
			buf_addstr(b, n + 1 == total ? " or " : ", ");
		buf_addstr(b, type_names[k].want);
		n++;
	}
}

/* JSON Schema equality: numbers by value, objects regardless of order. */
static int
equal(const json_t *a, const json_t *b)
{
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b) &&
			(!json_is_integer(a) || !json_is_integer(b) ||
			 json_integer_value(a) == json_integer_value(b));
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_string(a))
		return json_string_length(a) == json_string_length(b) &&
			!memcmp(json_string_value(a), json_string_value(b),
				json_string_length(a));
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *key;
		json_t *v, *w;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, key, v) {
			w = json_object_get(b, key);
			if (!w || !equal(v, w))
				return 0;
		}
		return 1;
	}
	return 1;	/* true, false, null */
}

static size_t
codepoints(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Search (not anchored, as JSON Schema says) the whole string, NULs included. */
static int
pattern_search(const regex_t *re, const struct rx *rx, const char *s,
	       size_t len)
{
	regmatch_t m[1];

	if (rx)
		return rx_match(rx, s, len);
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	return regexec(re, s, 1, m, REG_STARTEND) == 0;
}

/* The declared field nearest to an unknown key, when close enough to be a typo. */
static const char *
nearest_field(const struct snode *n, const char *key)
{
	const char *best = NULL;
	size_t i, bestd = (size_t)-1;

	if (strlen(key) > SUGGEST_MAX)
		return NULL;
	for (i = 0; i < n->nprops; i++) {
		size_t d = edit_distance(key, n->props[i].name);
		size_t len = strlen(n->props[i].name);
		size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;

		if (d <= limit && d < len && d < bestd) {
			best = n->props[i].name;
			bestd = d;
		}
	}
	return best;
}

static int validate(struct vctx *c, const struct snode *n, const json_t *v);

static int
validate_key(struct vctx *c, const struct snode *n, const char *key,
	     const json_t *v)
{
	size_t len = c->path.len;
	int r;

	path_push_key(&c->path, key, strlen(key));
	r = validate(c, n, v);
	buf_setlen(&c->path, len);
	return r;
}

static int
unknown_field(struct vctx *c, const struct snode *n, const char *key)
{
	size_t len = c->path.len, i;
	const char *near = nearest_field(n, key);
	struct buf b = BUF_INIT;
	int r;

	buf_addstr(&b, "unknown field ");
	quote_string(&b, key, strlen(key));
	if (near) {
		buf_addstr(&b, " (did you mean ");
		quote_string(&b, near, strlen(near));
		buf_addstr(&b, "?)");
	} else if (n->nprops) {
		buf_addstr(&b, " (want one of: ");
		for (i = 0; i < n->nprops; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", n->props[i].name);
		buf_addch(&b, ')');
	}
	path_push_key(&c->path, key, strlen(key));
	r = report(c, "%s", b.buf);
	buf_setlen(&c->path, len);
	buf_release(&b);
	return r;
}

static int
validate_object(struct vctx *c, const struct snode *n, const json_t *v)
{
	size_t i, count = json_object_size(v);
	const char *key;
	json_t *sub;
	int r = 0;

	for (i = 0; i < n->nrequired; i++) {
		if (json_object_get(v, n->required[i]))
			continue;
		r += report(c, "missing required field \"%s\"", n->required[i]);
	}
	if (n->min_props >= 0 && count < (size_t)n->min_props)
		r += report(c, "want at least %lld field%s, have %zu",
			    n->min_props, n->min_props == 1 ? "" : "s", count);
	if (n->max_props >= 0 && count > (size_t)n->max_props)
		r += report(c, "want at most %lld field%s, have %zu",
			    n->max_props, n->max_props == 1 ? "" : "s", count);
	json_object_foreach((json_t *)v, key, sub) {
		int matched = 0;

		if (c->quiet && r)
			return r;
		if (n->propnames) {
			json_t *name = json_string(key);
			size_t len = c->path.len;

			path_push_key(&c->path, key, strlen(key));
			r += validate(c, n->propnames, name);
			buf_setlen(&c->path, len);
			json_decref(name);
		}
		for (i = 0; i < n->nprops; i++) {
			if (!strcmp(n->props[i].name, key)) {
				r += validate_key(c, n->props[i].schema, key, sub);
				matched = 1;
			}
		}
		for (i = 0; i < n->npatprops; i++) {
			if (pattern_search(&n->patprops[i].re, n->patprops[i].rx, key,
					   strlen(key))) {
				r += validate_key(c, n->patprops[i].schema, key, sub);
				matched = 1;
			}
		}
		if (matched || !n->additional)
			continue;
		if (n->additional->boolean == 0)
			r += unknown_field(c, n, key);
		else
			r += validate_key(c, n->additional, key, sub);
	}
	return r;
}

static int
validate_array(struct vctx *c, const struct snode *n, const json_t *v)
{
	size_t i, k, count = json_array_size(v), len = c->path.len;
	int r = 0;

	if (n->min_items >= 0 && count < (size_t)n->min_items)
		r += report(c, "want at least %lld item%s, have %zu",
			    n->min_items, n->min_items == 1 ? "" : "s", count);
	if (n->max_items >= 0 && count > (size_t)n->max_items)
		r += report(c, "want at most %lld item%s, have %zu",
			    n->max_items, n->max_items == 1 ? "" : "s", count);
	for (i = 0; i < count; i++) {
		if (c->quiet && r)
			return r;
		path_push_index(&c->path, i);
		if (n->items)
			r += validate(c, n->items, json_array_get(v, i));
		for (k = 0; n->unique && k < i; k++) {
			if (equal(json_array_get(v, k), json_array_get(v, i))) {
				struct buf b = BUF_INIT;

				describe(&b, json_array_get(v, i));
				r += report(c, "want unique items, have %s again "
					    "(first at [%zu])", b.buf, k);
				buf_release(&b);
				break;
			}
		}
		buf_setlen(&c->path, len);
	}
	return r;
}

/* "want <title>, have <value>" when the schema names its shape. */
static int
report_want(struct vctx *c, const struct snode *n, const json_t *v,
	    const char *fallback)
{
	struct buf b = BUF_INIT;
	int r;

	describe(&b, v);
	r = report(c, "want %s, have %s", n->want ? n->want : fallback, b.buf);
	buf_release(&b);
	return r;
}

static int
validate_string(struct vctx *c, const struct snode *n, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), cps = codepoints(s, len);
	struct buf b = BUF_INIT;
	int r = 0;

	if (n->min_len >= 0 && cps < (size_t)n->min_len) {
		if (n->want)
			return report_want(c, n, v, NULL);
		describe(&b, v);
		r += report(c, "want at least %lld character%s, have %s",
			    n->min_len, n->min_len == 1 ? "" : "s", b.buf);
	}
	if (n->max_len >= 0 && cps > (size_t)n->max_len) {
		if (n->want)
			return report_want(c, n, v, NULL);
		r += report(c, "want at most %lld character%s, have %zu",
			    n->max_len, n->max_len == 1 ? "" : "s", cps);
	}
	if (n->has_pattern && !pattern_search(&n->re, n->rx, s, len)) {
		if (n->want) {
			buf_release(&b);
			return report_want(c, n, v, NULL);
		}
		buf_reset(&b);
		buf_addstr(&b, "a string matching ");
		buf_addstr(&b, n->pattern);
		r += report_want(c, n, v, b.buf);
	}
	buf_release(&b);
	return r;
}

static int
validate_number(struct vctx *c, const struct snode *n, const json_t *v)
{
	double d = json_number_value(v);
	struct buf b = BUF_INIT;
	int r = 0;

	if (n->has_min && d < n->minimum) {
		buf_addstr(&b, "at least ");
		fmt_number(&b, n->minimum);
	} else if (n->has_xmin && d <= n->xminimum) {
		buf_addstr(&b, "more than ");
		fmt_number(&b, n->xminimum);
	} else if (n->has_max && d > n->maximum) {
		buf_addstr(&b, "at most ");
		fmt_number(&b, n->maximum);
	}
	if (b.len)
		r = report_want(c, n, v, b.buf);
	buf_release(&b);
	return r;
}

static const struct snode *
deref(const struct snode *n)
{
	int hops = 0;

	while (n->target && hops++ < 64)
		n = n->target;
	return n;
}

/* Whether a branch of anyOf/oneOf could be about a value of this type. */
static int
branch_takes_type(const struct snode *n, const json_t *v)
{
	unsigned t = type_of(v);
	size_t i;

	n = deref(n);
	if (n->types)
		return (n->types & t) != 0;
	if (n->constv)
		return (type_of(n->constv) & t) != 0;
	if (n->enumv) {
		for (i = 0; i < json_array_size(n->enumv); i++)
			if (type_of(json_array_get(n->enumv, i)) == t)
				return 1;
		return 0;
	}
	return 1;
}

static void
branch_want(struct buf *b, const struct snode *n)
{
	size_t i;

	n = deref(n);
	if (n->want) {
		buf_addstr(b, n->want);
	} else if (n->constv) {
		show_value(b, n->constv, 0);
	} else if (n->enumv) {
		buf_addstr(b, "one of ");
		for (i = 0; i < json_array_size(n->enumv); i++) {
			if (i)
				buf_addstr(b, ", ");
			show_value(b, json_array_get(n->enumv, i), 1);
		}
	} else if (n->types) {
		type_want(b, n->types);
	} else {
		buf_addstr(b, "something else");
	}
}

static int
validate_quiet(struct vctx *c, const struct snode *n, const json_t *v)
{
	int r;

	c->quiet++;
	r = validate(c, n, v);
	c->quiet--;
	return r;
}

/* anyOf (one = 0) or oneOf (one = 1). */
static int
validate_choice(struct vctx *c, const struct snode *n, struct snode **alts,
		size_t nalts, int one, const json_t *v)
{
	size_t i, passed = 0, typed = 0;
	const struct snode *only = NULL;
	struct buf b = BUF_INIT;
	int r;

	for (i = 0; i < nalts; i++)
		passed += validate_quiet(c, alts[i], v) == 0;
	if (passed == 1 || (passed > 1 && !one))
		return 0;
	if (c->quiet)
		return 1;
	if (passed == 0 && !n->want) {
		for (i = 0; i < nalts; i++) {
			if (branch_takes_type(alts[i], v)) {
				only = alts[i];
				typed++;
			}
		}
		if (typed == 1)
			return validate(c, only, v);
	}
	if (n->want) {
		buf_addstr(&b, n->want);
	} else {
		for (i = 0; i < nalts; i++) {
			if (i)
				buf_addstr(&b, i + 1 == nalts ? " or " : ", ");
			branch_want(&b, alts[i]);
		}
	}
	if (passed > 1)
		buf_addstr(&b, " (exactly one)");
	r = report_want(c, n, v, b.buf);
	buf_release(&b);
	return r;
}

static int
validate(struct vctx *c, const struct snode *n, const json_t *v)
{
	unsigned t = type_of(v);
	size_t i;
	int r = 0;

	if (c->depth >= SCHEMA_MAX_DEPTH) {
		if (!c->too_deep && !c->quiet) {
			c->too_deep = 1;
			report(c, "nested too deeply to validate");
		}
		return 1;
	}
	if (n->boolean >= 0)
		return n->boolean ? 0 : report_want(c, n, v, "nothing here");
	c->depth++;
	if (n->target)
		r += validate(c, n->target, v);
	if (n->types && !(n->types & t)) {
		struct buf b = BUF_INIT;

		type_want(&b, n->types);
		r += report_want(c, n, v, b.buf);
		buf_release(&b);
		goto out;
	}
	if (n->enumv) {
		for (i = 0; i < json_array_size(n->enumv); i++)
			if (equal(json_array_get(n->enumv, i), v))
				break;
		if (i == json_array_size(n->enumv)) {
			struct buf b = BUF_INIT, h = BUF_INIT;

			for (i = 0; i < json_array_size(n->enumv); i++) {
				if (i)
					buf_addstr(&b, ", ");
				show_value(&b, json_array_get(n->enumv, i), 1);
			}
			describe(&h, v);
			r += report(c, "want one of %s; have %s", b.buf, h.buf);
			buf_release(&b);
			buf_release(&h);
			goto out;
		}
	}
	if (n->constv && !equal(n->constv, v)) {
		struct buf b = BUF_INIT, h = BUF_INIT;

		show_value(&b, n->constv, 0);
		describe(&h, v);
		r += report(c, "want %s, have %s", b.buf, h.buf);
		buf_release(&b);
		buf_release(&h);
		goto out;
	}
	if (t & T_STRING)
		r += validate_string(c, n, v);
	else if (t & T_NUMBER)
		r += validate_number(c, n, v);
	else if (t & T_OBJECT)
		r += validate_object(c, n, v);
	else if (t & T_ARRAY)
		r += validate_array(c, n, v);
	for (i = 0; i < n->nall && !(c->quiet && r); i++)
		r += validate(c, n->all[i], v);
	if (n->nany && !(c->quiet && r))
		r += validate_choice(c, n, n->any, n->nany, 0, v);
	if (n->none && !(c->quiet && r))
		r += validate_choice(c, n, n->one, n->none, 1, v);
	if (n->if_ && !(c->quiet && r)) {
		if (validate_quiet(c, n->if_, v) == 0) {
			if (n->then_)
				r += validate(c, n->then_, v);
		} else if (n->else_) {
			r += validate(c, n->else_, v);
		}
	}
out:
	c->depth--;
	return r;
}

static const struct sfile *
find_file(const struct schema_set *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].name, name))
			return &s->files[i];
	return NULL;
}

static int
run(const struct snode *n, const char *path, const json_t *doc,
     schema_report_fn fn, void *ctx)
{
	struct vctx c = { fn, ctx, BUF_INIT, 0, 0, 0, BUF_INIT };
	int r;

	buf_addstr(&c.path, path);
	r = validate(&c, n, doc);
	buf_release(&c.path);
	buf_release(&c.seen);
	return r;
}

int
schema_validate(const struct schema_set *s, const char *name,
		const json_t *doc, schema_report_fn report_fn, void *ctx)
{
	const struct sfile *f = find_file(s, name);

	if (!f)
		return -1;
	return run(f->root, "", doc, report_fn, ctx);
}

static const struct {
	const char *kind;
	const char *file;
} kinds[] = {
	{ "Provider", "provider.json" },
	{ "Host", "host.json" },
	{ "Cluster", "cluster.json" },
	{ "Pool", "pool.json" },
	{ "Plan", "plan.json" },
	{ "Image", "image.json" },
	{ "Instance", "instance.json" },
	{ "Fleet", "fleet.json" },
};

/*
 * Envelope first; with a good envelope, the kind's schema. When the
 * envelope has problems but its apiVersion and kind are right, the spec is
 * still checked against the kind's schema, so that one run reports the
 * problems of both (and none of them twice).
 */
int
schema_validate_manifest(const struct schema_set *s, const json_t *doc,
			 schema_report_fn report_fn, void *ctx)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *api = json_string_value(json_object_get(doc, "apiVersion"));
	const json_t *spec = json_object_get(doc, "spec");
	const struct sfile *f = NULL;
	size_t i;
	int r;

	r = schema_validate(s, "envelope.json", doc, report_fn, ctx);
	if (r < 0)
		return r;
	for (i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].kind, kind))
			f = find_file(s, kinds[i].file);
	if (!f)
		return r;
	if (r == 0)
		return run(f->root, "", doc, report_fn, ctx);
	if (!api || strcmp(api, "berth/v1") || !json_is_object(spec))
		return r;
	for (i = 0; i < f->root->nprops; i++)
		if (!strcmp(f->root->props[i].name, "spec"))
			r += run(f->root->props[i].schema, "spec", spec,
				 report_fn, ctx);
	return r;
}
