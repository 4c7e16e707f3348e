/*
 * diff.c - field-level differences between an observed Incus object and
 * the desired one, with the keys berth never diffs, and digests.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "manifest/path.h"
#include "plan/plan-int.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

static int
prefixed(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
diff_ignored_key(enum plan_object o, const char *key)
{
	/* Storage pool keys the server fills in or that are per member. */
	static const char *const pool_keys[] = {
		"source", "size", "zfs.pool_name", "lvm.vg_name", "lvm.thinpool_name",
		"volatile.initial_source",
	};
	size_t i;

	if (prefixed(key, "volatile.") || prefixed(key, "image.") ||
	    prefixed(key, "environment."))
		return 1;
	if (prefixed(key, "user.berth.") && strcmp(key, "user.berth.managed") &&
	    strcmp(key, "user.berth.plan") && strcmp(key, "user.berth.plan-version"))
		return 1;
	if (o == OBJ_STORAGE_POOL)
		for (i = 0; i < sizeof(pool_keys) / sizeof(pool_keys[0]); i++)
			if (!strcmp(key, pool_keys[i]))
				return 1;
	return 0;
}

/*
 * Keys the server fills in when an object is created: kept when the
 * manifest does not declare them. Storage pool drivers fill in their own
 * keys (lvm.vg_name, ...), so only user.* keys are removed there; projects
 * get features.* defaults.
 */
static int
server_filled_key(enum plan_object o, const char *key)
{
	if (o == OBJ_STORAGE_POOL)
		return !prefixed(key, "user.");
	if (o == OBJ_PROJECT)
		return prefixed(key, "features.");
	return 0;
}

static void
add_field(struct plan_field **fields, size_t *n, size_t *alloc, const char *path,
	  const json_t *before, const json_t *after, const char *note)
{
	struct plan_field *f;

	ALLOC_GROW(*fields, *n + 1, *alloc);
	f = &(*fields)[(*n)++];
	f->field = xstrdup(path);
	f->before = before ? json_deep_copy(before) : NULL;
	f->after = after ? json_deep_copy(after) : NULL;
	f->note = note ? xstrdup(note) : NULL;
}

/* Sorted keys of an object, for a stable order of fields. */
static const char **
sorted_keys(const json_t *a, const json_t *b, size_t *n)
{
	const char **keys, *k;
	size_t cap = json_object_size(a) + json_object_size(b), i, j, m = 0;
	json_t *v;

	keys = xcalloc(cap ? cap : 1, sizeof(*keys));
	json_object_foreach((json_t *)a, k, v)
		keys[m++] = k;
	json_object_foreach((json_t *)b, k, v)
		if (!json_object_get(a, k))
			keys[m++] = k;
	for (i = 1; i < m; i++)
		for (j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];

			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	*n = m;
	return keys;
}

struct dctx {
	enum plan_object o;
	struct buf path;
	struct plan_field *fields;
	size_t n, alloc;
};

/* Every leaf of v as added (creates). */
static void
list_added(struct dctx *c, const json_t *v)
{
	size_t len = c->path.len;

	if (json_is_object(v)) {
		const char **keys;
		size_t n, i;

		keys = sorted_keys(v, NULL, &n);
		for (i = 0; i < n; i++) {
			path_push_key(&c->path, keys[i], strlen(keys[i]));
			list_added(c, json_object_get(v, keys[i]));
			buf_setlen(&c->path, len);
		}
		free(keys);
		return;
	}
	add_field(&c->fields, &c->n, &c->alloc, c->path.buf, NULL, v, NULL);
}

/* A map of strings (config, properties, one device). */
static void
diff_map(struct dctx *c, const char *name, const json_t *before,
	 const json_t *after, int remove_undeclared)
{
	size_t len = c->path.len, n, i;
	const char **keys;

	if (name)
		path_push_key(&c->path, name, strlen(name));
	keys = sorted_keys(after, before, &n);
	for (i = 0; i < n; i++) {
		const json_t *b = json_object_get(before, keys[i]);
		const json_t *a = json_object_get(after, keys[i]);
		size_t l2 = c->path.len;

		if (diff_ignored_key(c->o, keys[i]))
			continue;
		if (!a && (!remove_undeclared || server_filled_key(c->o, keys[i])))
			continue;
		if (a && b && json_equal((json_t *)a, (json_t *)b))
			continue;
		path_push_key(&c->path, keys[i], strlen(keys[i]));
		add_field(&c->fields, &c->n, &c->alloc, c->path.buf, b, a,
			  a ? NULL : "not declared: removed");
		buf_setlen(&c->path, l2);
	}
	free(keys);
	buf_setlen(&c->path, len);
}

static void
diff_value(struct dctx *c, const char *name, const json_t *before, const json_t *after)
{
	size_t len = c->path.len;

	if (!after || (before && json_equal((json_t *)before, (json_t *)after)))
		return;
	path_push_key(&c->path, name, strlen(name));
	add_field(&c->fields, &c->n, &c->alloc, c->path.buf, before, after, NULL);
	buf_setlen(&c->path, len);
}

static void
diff_devices(struct dctx *c, const json_t *before, const json_t *after)
{
	size_t len = c->path.len, n, i;
	const char **keys;

	path_push_key(&c->path, "devices", 7);
	keys = sorted_keys(after, before, &n);
	for (i = 0; i < n; i++) {
		const json_t *b = json_object_get(before, keys[i]);
		const json_t *a = json_object_get(after, keys[i]);
		size_t l2 = c->path.len;

		if (a && b) {
			diff_map(c, keys[i], b, a, 1);
			continue;
		}
		path_push_key(&c->path, keys[i], strlen(keys[i]));
		add_field(&c->fields, &c->n, &c->alloc, c->path.buf, b, a,
			  a ? NULL : "not declared: removed");
		buf_setlen(&c->path, l2);
	}
	free(keys);
	buf_setlen(&c->path, len);
}

void
diff_object(enum plan_object o, const json_t *before, const json_t *after,
	    struct plan_field **fields, size_t *n)
{
	struct dctx c;
	size_t alloc = *n;

	memset(&c, 0, sizeof(c));
	c.o = o;
	buf_init(&c.path, 0);
	c.fields = *fields;
	c.n = *n;
	c.alloc = alloc;
	if (!before) {
		json_t *copy = json_deep_copy(after);

		/* Identity is in the address, not in the fields. */
		json_object_del(copy, "name");
		json_object_del(copy, "aliases");
		list_added(&c, copy);
		json_decref(copy);
		goto out;
	}
	diff_value(&c, "description", json_object_get(before, "description"),
		   json_object_get(after, "description"));
	if (o == OBJ_STORAGE_POOL)
		diff_value(&c, "driver", json_object_get(before, "driver"),
			   json_object_get(after, "driver"));
	if (o == OBJ_IMAGE) {
		diff_value(&c, "auto_update", json_object_get(before, "auto_update"),
			   json_object_get(after, "auto_update"));
		/* Image properties are mostly the image's own: only ours. */
		diff_map(&c, "properties", json_object_get(before, "properties"),
			 json_object_get(after, "properties"), 0);
		goto out;
	}
	if (o != OBJ_CLUSTER_GROUP || json_object_get(after, "config"))
		diff_map(&c, "config", json_object_get(before, "config"),
			 json_object_get(after, "config"), 1);
	if (o == OBJ_PROFILE)
		diff_devices(&c, json_object_get(before, "devices"),
			     json_object_get(after, "devices"));
out:
	buf_release(&c.path);
	*fields = c.fields;
	*n = c.n;
}

void
plan_fields_free(struct plan_field *fields, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(fields[i].field);
		json_decref(fields[i].before);
		json_decref(fields[i].after);
		free(fields[i].note);
	}
	free(fields);
}

char *
json_canonical(const json_t *v)
{
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);

	return s ? s : xstrdup("null");
}

void
json_digest(const json_t *v, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *s;

	out[0] = '\0';
	if (!v)
		return;
	s = json_canonical(v);
	EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
	free(s);
	hex_encode(md, mdlen < 32 ? mdlen : 32, out);
}

void
plan_digest(const json_t *v, char out[65])
{
	json_digest(v, out);
}

int
plan_kept_key(enum plan_object o, const char *key)
{
	return diff_ignored_key(o, key) || server_filled_key(o, key);
}
