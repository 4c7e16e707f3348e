/*
 * actions.c - one plan action against one Incus server: re-read the
 * object, check it is still what the plan saw, write it with If-Match,
 * wait for the operation, read it back.
 *
 * REST calls, as verified against Incus 6.0.4:
 *   storage pools  GET/PUT/DELETE /1.0/storage-pools/NAME, POST /1.0/storage-pools;
 *                  clusters: POST /1.0/storage-pools?target=MEMBER per member
 *                  (member keys only; the pool is "Pending"), then POST
 *                  /1.0/storage-pools with the cluster-wide config
 *   projects       GET/PUT/DELETE /1.0/projects/NAME, POST /1.0/projects
 *   profiles       GET/PUT/DELETE /1.0/profiles/NAME?project=P, POST /1.0/profiles?project=P
 *   images         GET /1.0/images/aliases/NAME?project=P (its target is the
 *                  fingerprint), GET/PUT /1.0/images/FP?project=P, DELETE (async),
 *                  POST /1.0/images?project=P (async)
 *   cluster groups GET/PUT /1.0/cluster/groups/NAME
 *   instances      GET /1.0/instances/NAME?project=P, POST
 *                  /1.0/instances?project=P[&target=MEMBER] (async), PUT
 *                  /1.0/instances/NAME/state?project=P {"action": "start" |
 *                  "stop", "timeout": 30[, "force": true]} (async), DELETE
 *                  /1.0/instances/NAME?project=P (async; refused while running)
 * The single GET of each of these returns the same JSON as its entry in
 * the recursion=1 list the observation reads (checked for pools, projects,
 * profiles, images and groups, standalone and clustered). Instances are
 * the exception: the observation may carry more (their state), so they
 * are compared by the part the plan pins (plan_instance_seen()).
 *
 * An instance's create body is the plan's "after" less two keys of
 * berth's own: "state" ("running": started once created; "stopped") and
 * "target" (the cluster member, sent as &target=). berth adds
 * config["user.berth.placed-at"], the time of the create (the planner
 * cannot know it). A POST for a name that is taken is accepted by Incus
 * and fails only in its operation, so a create reads first. A running
 * instance is stopped before a delete, with force (the plan marked the
 * delete destructive); a stop the plan asks for is a clean one, and one
 * that times out fails.
 */
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* ---- small helpers ------------------------------------------------------ */

static int
prefixed(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	const char *x = json_string_value(*(json_t *const *)a);
	const char *y = json_string_value(*(json_t *const *)b);

	return strcmp(x ? x : "", y ? y : "");
}

/*
 * The object with its used_by list sorted: the only part of an object the
 * server may list in another order between two reads without anything
 * having changed. Caller json_decref()s.
 */
static json_t *
normalised(const json_t *v)
{
	json_t *c = json_deep_copy(v), *used, *sorted, **items;
	size_t i, n;

	used = json_object_get(c, "used_by");
	if (!json_is_array(used))
		return c;
	n = json_array_size(used);
	items = xcalloc(n + 1, sizeof(*items));
	for (i = 0; i < n; i++)
		items[i] = json_array_get(used, i);
	qsort(items, n, sizeof(*items), cmp_str);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, items[i]);
	free(items);
	json_object_set_new(c, "used_by", sorted);
	return c;
}

/* The config to PUT: what the plan wants, plus the keys it keeps. */
static json_t *
merged_config(enum plan_object o, const json_t *want, const json_t *have)
{
	json_t *c = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)have, k, v)
		if (plan_kept_key(o, k))
			json_object_set_new(c, k, json_deep_copy(v));
	json_object_foreach((json_t *)want, k, v)
		json_object_set_new(c, k, json_deep_copy(v));
	return c;
}

static void
set_copy(json_t *to, const char *key, const json_t *v)
{
	if (v)
		json_object_set_new(to, key, json_deep_copy(v));
}

/* Does image have the alias name? */
static int
has_alias(const json_t *image, const char *name)
{
	const json_t *a;
	size_t i;

	json_array_foreach(json_object_get(image, "aliases"), i, a) {
		const char *n = json_string_value(json_object_get(a, "name"));

		if (n && !strcmp(n, name))
			return 1;
	}
	return 0;
}

static const char *
config_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "config"), key));
}

static int
same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* Is the instance read (have) still as the plan saw it (before)? */
static int
instance_same(const json_t *before, const json_t *have)
{
	json_t *seen = plan_instance_seen(have);
	int same = json_equal(seen, before);

	json_decref(seen);
	return same;
}

/*
 * Is the object the server has (have) what the plan would create (want)?
 * Every key of want but its identity and creation-only parts (name,
 * source, members, aliases) must be in have with the same value; for maps
 * (config, properties, devices) every key of want's map must be in have's
 * with the same value, extra keys of the server being allowed. Images must
 * also carry the alias. An instance is berth's own of the same plan
 * (user.berth.managed "true", the same user.berth.plan): created earlier
 * by an interrupted apply, its state is converged, nothing else compared.
 */
static int
matches_after(const struct plan_action *a, const json_t *have)
{
	const json_t *want = a->after, *v, *h, *x;
	const char *k, *k2;

	if (!want)
		return 0;
	if (a->object == OBJ_INSTANCE)
		return same_str(config_str(have, "user.berth.managed"), "true") &&
		       same_str(config_str(have, "user.berth.plan"),
				config_str(want, "user.berth.plan"));
	if (a->object == OBJ_IMAGE && !has_alias(have, a->name))
		return 0;
	json_object_foreach((json_t *)want, k, v) {
		if (!strcmp(k, "name") || !strcmp(k, "source") || !strcmp(k, "members") ||
		    !strcmp(k, "aliases"))
			continue;
		h = json_object_get(have, k);
		if (!h)
			return 0;
		if (json_is_object(v)) {
			if (!json_is_object(h))
				return 0;
			json_object_foreach((json_t *)v, k2, x)
				if (!json_equal((json_t *)x, json_object_get(h, k2)))
					return 0;
		} else if (!json_equal((json_t *)v, (json_t *)h)) {
			return 0;
		}
	}
	return 1;
}

/* ---- requests ----------------------------------------------------------- */

struct actx {
	struct incus_conn *c;
	const struct fleet *f;
	const struct plan_action *a;
	const struct apply_opts *o;
	struct berr *err;
	struct buf path;	/* the object's own path */
	struct buf query;	/* "?project=P" or "" */
	char etag[128];
	long status;		/* HTTP status of the last write, 0 when none arrived */
	int defer_read;		/* leave the read-back to apply_read_batch() */
	int deferred;		/* ... and it was left */
};

static long
op_timeout(const struct actx *x)
{
	return x->o && x->o->operation_timeout_s > 0 ? x->o->operation_timeout_s : 600;
}

/*
 * GET path: 1 with *out (caller json_decref()s) and the ETag in etag (may
 * be NULL), 0 when the server says 404, -1 with err otherwise.
 */
static int
get_obj(struct actx *x, const char *path, json_t **out, char etag[128])
{
	struct incus_response r;

	*out = NULL;
	if (incus_request(x->c, "GET", path, NULL, NULL, &r, x->err) < 0) {
		long st = r.http_status;

		incus_response_release(&r);
		return st == 404 ? 0 : -1;
	}
	if (!json_is_object(r.metadata)) {
		incus_response_release(&r);
		return berr_set(x->err, "GET %s: the server answered without an object", path);
	}
	*out = r.metadata;
	r.metadata = NULL;
	if (etag)
		memcpy(etag, r.etag, 128);
	incus_response_release(&r);
	return 1;
}

/*
 * A write: 0 done (async operations waited for), 1 refused with 412
 * (stale; err says so), -1 failed with err.
 */
static int
write_req(struct actx *x, const char *method, const char *path, const json_t *body,
	  const char *if_match)
{
	struct incus_response r;
	int ret = 0;

	memset(&r, 0, sizeof(r));
	x->status = 0;
	if (incus_request(x->c, method, path, body, if_match && *if_match ? if_match : NULL,
			  &r, x->err) < 0) {
		x->status = r.http_status;
		if (r.http_status == 412) {
			berr_set(x->err, "changed since the plan: %s (the server refused"
				 " the ETag: 412)", x->a->address);
			ret = 1;
		} else {
			ret = -1;
		}
		incus_response_release(&r);
		return ret;
	}
	if (r.operation[0] && incus_wait(x->c, r.operation, op_timeout(x), x->err) < 0)
		ret = -1;
	incus_response_release(&r);
	return ret;
}

/* Is the re-read object (have) still the one the plan was based on? */
static int
unchanged(const struct plan_action *a, const json_t *have)
{
	char d[65];
	json_t *n1, *n2;
	int same;

	plan_digest(have, d);
	if (a->digest[0] && !strcmp(d, a->digest))
		return 1;
	if (!a->before)
		return 0;
	if (a->object == OBJ_INSTANCE)
		return instance_same(a->before, have);
	n1 = normalised(a->before);
	n2 = normalised(have);
	same = json_equal(n1, n2);
	json_decref(n1);
	json_decref(n2);
	return same;
}

/* The single GET lacks "project" on servers without it: add it as observe.c does. */
static void
add_project(const struct plan_action *a, json_t *have)
{
	if (have && (a->object == OBJ_PROFILE || a->object == OBJ_IMAGE ||
		     a->object == OBJ_INSTANCE) &&
	    !json_object_get(have, "project"))
		json_object_set_new(have, "project", json_string(a->project ? a->project
									    : "default"));
}

/* ---- images ------------------------------------------------------------- */

/*
 * The path of the image an action is about: by the fingerprint the plan
 * saw, else by the alias. 1 found (path set), 0 absent, -1 error.
 */
static int
image_path(struct actx *x, int by_alias_only)
{
	const char *fp = by_alias_only ? NULL :
			 json_string_value(json_object_get(x->a->before, "fingerprint"));
	struct buf p = BUF_INIT;
	json_t *alias = NULL;
	int r;

	buf_reset(&x->path);
	if (fp) {
		buf_addstr(&x->path, "/1.0/images/");
		incus_path_escape(&x->path, fp);
		buf_addstr(&x->path, x->query.buf);
		return 1;
	}
	buf_addstr(&p, "/1.0/images/aliases/");
	incus_path_escape(&p, x->a->name);
	buf_addstr(&p, x->query.buf);
	r = get_obj(x, p.buf, &alias, NULL);
	buf_release(&p);
	if (r <= 0)
		return r;
	fp = json_string_value(json_object_get(alias, "target"));
	if (!fp) {
		json_decref(alias);
		return berr_set(x->err, "image alias \"%s\" has no target", x->a->name);
	}
	buf_addstr(&x->path, "/1.0/images/");
	incus_path_escape(&x->path, fp);
	buf_addstr(&x->path, x->query.buf);
	json_decref(alias);
	return 1;
}

/*
 * The PEM certificate of an image server, read from its GET /1.0 over a
 * connection pinned to fingerprint. Caller frees; NULL with err.
 */
static char *
image_server_cert(struct actx *x, const char *server, const char *fingerprint)
{
	struct incus_conn *c;
	json_t *info;
	const char *pem;
	char *out = NULL;

	c = incus_conn_new(server, server, fingerprint, x->o ? x->o->identity : NULL,
			   x->o ? x->o->incus : NULL, x->err);
	if (!c)
		return NULL;
	incus_conn_set_kind(c, "image server");
	info = incus_get(c, "/1.0", x->err);
	if (info) {
		pem = json_string_value(json_object_get(json_object_get(info, "environment"),
							"certificate"));
		if (pem && *pem)
			out = xstrdup(pem);
		else
			berr_set(x->err, "image server \"%s\": GET /1.0 has no"
				 " environment.certificate", server);
	}
	json_decref(info);
	incus_conn_free(c);
	return out;
}

static json_t *
image_create_body(struct actx *x)
{
	json_t *body = json_deep_copy(x->a->after), *src = json_object_get(body, "source");
	const struct m_image *im = x->f ? fleet_image(x->f, x->a->name) : NULL;
	const char *server = json_string_value(json_object_get(src, "server"));

	if (im && im->server_fingerprint && server && *server &&
	    !json_object_get(src, "certificate")) {
		char *pem = image_server_cert(x, server, im->server_fingerprint);

		if (!pem) {
			json_decref(body);
			return NULL;
		}
		json_object_set_new(src, "certificate", json_string(pem));
		free(pem);
	}
	return body;
}

/* ---- the object's path and its update body ------------------------------ */

static int
object_path(struct actx *x)
{
	const struct plan_action *a = x->a;

	buf_reset(&x->path);
	buf_reset(&x->query);
	if (a->object == OBJ_PROFILE || a->object == OBJ_IMAGE || a->object == OBJ_INSTANCE) {
		buf_addstr(&x->query, "?project=");
		incus_path_escape(&x->query, a->project ? a->project : "default");
	}
	switch (a->object) {
	case OBJ_STORAGE_POOL: buf_addstr(&x->path, "/1.0/storage-pools/"); break;
	case OBJ_PROJECT: buf_addstr(&x->path, "/1.0/projects/"); break;
	case OBJ_PROFILE: buf_addstr(&x->path, "/1.0/profiles/"); break;
	case OBJ_CLUSTER_GROUP: buf_addstr(&x->path, "/1.0/cluster/groups/"); break;
	case OBJ_CLUSTER_MEMBER: buf_addstr(&x->path, "/1.0/cluster/members/"); break;
	case OBJ_INSTANCE: buf_addstr(&x->path, "/1.0/instances/"); break;
	case OBJ_IMAGE: return 0;	/* image_path() */
	default:
		return berr_set(x->err, "%s: nothing to apply for a %s", a->address,
				plan_object_name(a->object));
	}
	incus_path_escape(&x->path, a->name);
	buf_addstr(&x->path, x->query.buf);
	return 0;
}

static const char *
list_path(enum plan_object o)
{
	switch (o) {
	case OBJ_STORAGE_POOL: return "/1.0/storage-pools";
	case OBJ_PROJECT: return "/1.0/projects";
	case OBJ_PROFILE: return "/1.0/profiles";
	case OBJ_IMAGE: return "/1.0/images";
	default: return NULL;
	}
}

static json_t *
update_body(const struct plan_action *a, const json_t *have)
{
	const json_t *want = a->after;
	json_t *b = json_object();
	const json_t *d = json_object_get(want, "description");

	if (a->object == OBJ_IMAGE) {
		json_t *props = json_deep_copy(json_object_get(have, "properties"));
		const json_t *au = json_object_get(want, "auto_update");

		if (!json_is_object(props)) {
			json_decref(props);
			props = json_object();
		}
		json_object_update(props, json_object_get(want, "properties"));
		json_object_set_new(b, "properties", json_deep_copy(props));
		json_decref(props);
		set_copy(b, "auto_update", au ? au : json_object_get(have, "auto_update"));
		set_copy(b, "public", json_object_get(have, "public"));
		set_copy(b, "expires_at", json_object_get(have, "expires_at"));
		set_copy(b, "profiles", json_object_get(have, "profiles"));
		return b;
	}
	set_copy(b, "description", d ? d : json_object_get(have, "description"));
	if (a->object == OBJ_CLUSTER_GROUP) {
		/* PUT replaces the member list too: keep it. */
		set_copy(b, "members", json_object_get(have, "members"));
		if (json_object_get(want, "config"))
			json_object_set_new(b, "config",
					    merged_config(a->object, json_object_get(want, "config"),
							  json_object_get(have, "config")));
		return b;
	}
	json_object_set_new(b, "config", merged_config(a->object, json_object_get(want, "config"),
						       json_object_get(have, "config")));
	if (a->object == OBJ_PROFILE)
		set_copy(b, "devices", json_object_get(want, "devices"));
	return b;
}

/* ---- storage pools on clusters ------------------------------------------ */

/*
 * Define the pool on every member that does not have it yet (pending), then
 * create it cluster-wide. have is the pending pool or NULL.
 */
static int
cluster_pool_create(struct actx *x, const json_t *have)
{
	const json_t *want = x->a->after, *m;
	const json_t *members_want = json_object_get(want, "members");
	json_t *members, *body;
	struct buf p = BUF_INIT;
	size_t i, k;
	int r = 0;

	members = incus_get(x->c, "/1.0/cluster/members", x->err);
	if (!members)
		return -1;
	json_array_foreach(members, i, m) {
		const char *url = json_string_value(m), *name;
		const json_t *loc;
		int defined = 0;

		if (!url)
			continue;
		name = strrchr(url, '/') ? strrchr(url, '/') + 1 : url;
		json_array_foreach(json_object_get(have, "locations"), k, loc)
			if (json_is_string(loc) && !strcmp(json_string_value(loc), name))
				defined = 1;
		if (defined)
			continue;
		body = json_object();
		set_copy(body, "name", json_object_get(want, "name"));
		set_copy(body, "driver", json_object_get(want, "driver"));
		json_object_set_new(body, "config",
				    json_deep_copy(json_object_get(json_object_get(members_want,
						   name), "config")));
		if (!json_is_object(json_object_get(body, "config")))
			json_object_set_new(body, "config", json_object());
		buf_reset(&p);
		buf_addstr(&p, "/1.0/storage-pools?target=");
		incus_path_escape(&p, name);
		r = write_req(x, "POST", p.buf, body, NULL);
		json_decref(body);
		if (r)
			goto out;
	}
	body = json_deep_copy(want);
	json_object_del(body, "members");
	r = write_req(x, "POST", "/1.0/storage-pools", body, NULL);
	json_decref(body);
out:
	json_decref(members);
	buf_release(&p);
	return r;
}

/* ---- the three kinds of action ------------------------------------------ */

static enum apply_status
write_status(int r)
{
	return r == 0 ? APPLY_OK : r > 0 ? APPLY_STALE : APPLY_FAILED;
}

/*
 * Read the object back after a write; failures to read are not failures of
 * the write. Left to apply_read_batch() when the caller batches.
 */
static json_t *
read_back(struct actx *x)
{
	struct berr ignore;
	struct berr *keep = x->err;
	json_t *v = NULL;

	if (x->defer_read && apply_batched_read(x->a)) {
		x->deferred = 1;
		return NULL;
	}
	x->err = &ignore;
	if (x->a->object == OBJ_IMAGE && image_path(x, 1) <= 0) {
		x->err = keep;
		return NULL;
	}
	if (get_obj(x, x->path.buf, &v, NULL) <= 0)
		v = NULL;
	x->err = keep;
	add_project(x->a, v);
	return v;
}

/*
 * A create found the object already there: it was created earlier (it
 * matches the plan: converged) or it changed since the plan. Takes have.
 */
static enum apply_status
existing(struct actx *x, json_t *have, json_t **applied)
{
	add_project(x->a, have);
	if (matches_after(x->a, have)) {
		*applied = have;
		return APPLY_OK;
	}
	json_decref(have);
	berr_set(x->err, "changed since the plan: %s (it exists now and"
		 " differs from the manifests)", x->a->address);
	return APPLY_STALE;
}

static enum apply_status
do_create(struct actx *x, json_t **applied)
{
	const struct plan_action *a = x->a;
	json_t *have = NULL, *body;
	int r, pending = 0;

	/*
	 * Profiles and projects: POST first. A POST never overwrites, so only
	 * when the server refuses it (Incus says 409 or 500 for a name that is
	 * taken) does berth read what is there and decide between "created
	 * earlier" and "changed since the plan". Saves a request per object in
	 * the common case.
	 */
	if (a->object == OBJ_PROFILE || a->object == OBJ_PROJECT) {
		struct buf p = BUF_INIT;
		struct berr post_err;

		body = json_deep_copy(a->after);
		buf_addf(&p, "%s%s", list_path(a->object), x->query.buf);
		r = write_req(x, "POST", p.buf, body, NULL);
		buf_release(&p);
		json_decref(body);
		if (r == 0) {
			*applied = read_back(x);
			return APPLY_OK;
		}
		if (!x->status)
			return write_status(r);		/* no answer: nothing to read */
		memcpy(&post_err, x->err, sizeof(post_err));
		r = get_obj(x, x->path.buf, &have, NULL);
		if (r < 0)
			return APPLY_FAILED;
		if (r == 0) {
			/* Not there: the POST failed for another reason. */
			memcpy(x->err, &post_err, sizeof(post_err));
			return APPLY_FAILED;
		}
		return existing(x, have, applied);
	}
	r = a->object == OBJ_IMAGE ? image_path(x, 1) : 1;
	if (r > 0)
		r = get_obj(x, x->path.buf, &have, NULL);
	if (r < 0)
		return APPLY_FAILED;
	if (r > 0) {
		const char *st = json_string_value(json_object_get(have, "status"));

		pending = a->object == OBJ_STORAGE_POOL && st && !strcmp(st, "Pending");
		if (!pending)
			return existing(x, have, applied);
		add_project(a, have);
	}
	if (a->object == OBJ_STORAGE_POOL && (pending || json_object_get(a->after, "members") ||
					      prefixed(a->address, "cluster/"))) {
		r = cluster_pool_create(x, have);
	} else {
		struct buf p = BUF_INIT;
		const char *list = list_path(a->object);

		if (!list) {
			json_decref(have);
			berr_set(x->err, "%s: a %s cannot be created", a->address,
				 plan_object_name(a->object));
			return APPLY_FAILED;
		}
		body = a->object == OBJ_IMAGE ? image_create_body(x) : json_deep_copy(a->after);
		if (!body) {
			json_decref(have);
			return APPLY_FAILED;
		}
		buf_addf(&p, "%s%s", list, x->query.buf);
		r = write_req(x, "POST", p.buf, body, NULL);
		buf_release(&p);
		json_decref(body);
	}
	json_decref(have);
	if (r == 0)
		*applied = read_back(x);
	return write_status(r);
}

static enum apply_status
do_update(struct actx *x, json_t **applied)
{
	const struct plan_action *a = x->a;
	json_t *have = NULL, *body;
	int r;

	r = a->object == OBJ_IMAGE ? image_path(x, 0) : 1;
	if (r > 0)
		r = get_obj(x, x->path.buf, &have, x->etag);
	if (r < 0)
		return APPLY_FAILED;
	if (r == 0) {
		berr_set(x->err, "changed since the plan: %s (it no longer exists)", a->address);
		return APPLY_STALE;
	}
	add_project(a, have);
	if (!unchanged(a, have)) {
		json_decref(have);
		berr_set(x->err, "changed since the plan: %s", a->address);
		return APPLY_STALE;
	}
	body = update_body(a, have);
	json_decref(have);
	r = write_req(x, "PUT", x->path.buf, body, x->etag);
	json_decref(body);
	if (r == 0)
		*applied = read_back(x);
	return write_status(r);
}

static enum apply_status
do_delete(struct actx *x)
{
	const struct plan_action *a = x->a;
	json_t *have = NULL;
	int r;

	r = a->object == OBJ_IMAGE ? image_path(x, 0) : 1;
	if (r > 0)
		r = get_obj(x, x->path.buf, &have, x->etag);
	if (r < 0)
		return APPLY_FAILED;
	if (r == 0)
		return APPLY_OK;	/* already gone */
	add_project(a, have);
	if (!unchanged(a, have)) {
		json_decref(have);
		berr_set(x->err, "changed since the plan: %s", a->address);
		return APPLY_STALE;
	}
	json_decref(have);
	r = write_req(x, "DELETE", x->path.buf, NULL, x->etag);
	return write_status(r);
}

/* ---- instances ---------------------------------------------------------- */

#define INSTANCE_STATE_TIMEOUT 30	/* seconds Incus is given for a start or a stop */

/* 1 when the plan wants the instance running, 0 stopped, -1 with err. */
static int
want_running(struct actx *x)
{
	const json_t *v = json_object_get(x->a->after, "state");
	const char *s = json_string_value(v);

	if (s && !strcmp(s, "running"))
		return 1;
	if (s && !strcmp(s, "stopped"))
		return 0;
	if (s)
		return berr_set(x->err, "%s: state \"%s\": want \"running\" or \"stopped\"",
				x->a->address, s);
	return berr_set(x->err, "%s: the plan gives no state: want \"running\" or"
			" \"stopped\"", x->a->address);
}

static int
is_running(const json_t *instance)
{
	return same_str(json_string_value(json_object_get(instance, "status")), "Running");
}

/*
 * PUT .../state {"action": action, "timeout": 30} (and "force": true when
 * force) and wait for it: 0, or -1 (1: 412) with err "start failed: ...".
 */
static int
instance_state(struct actx *x, const char *action, int force)
{
	struct buf p = BUF_INIT;
	json_t *body = json_pack("{s:s, s:i}", "action", action, "timeout",
				 INSTANCE_STATE_TIMEOUT);
	int r;

	if (force)
		json_object_set_new(body, "force", json_true());
	buf_addstr(&p, "/1.0/instances/");
	incus_path_escape(&p, x->a->name);
	buf_addf(&p, "/state%s", x->query.buf);
	r = write_req(x, "PUT", p.buf, body, NULL);
	if (r)
		berr_prefix(x->err, "%s failed", action);
	json_decref(body);
	buf_release(&p);
	return r;
}

/* Start or stop (cleanly) the instance the server has (have) as wanted. */
static int
instance_converge(struct actx *x, const json_t *have, int running)
{
	if (running && !is_running(have))
		return instance_state(x, "start", 0);
	if (!running && is_running(have))
		return instance_state(x, "stop", 0);
	return 0;
}

/* POST the plan's instance (after less "state" and "target") and wait. */
static int
instance_post(struct actx *x)
{
	const json_t *target = json_object_get(x->a->after, "target");
	json_t *body = json_deep_copy(x->a->after), *config;
	struct buf p = BUF_INIT;
	char now[32];
	int r;

	json_object_del(body, "state");
	json_object_del(body, "target");
	if (!json_object_get(body, "name"))
		json_object_set_new(body, "name", json_string(x->a->name));
	config = json_object_get(body, "config");
	if (!json_is_object(config)) {
		config = json_object();
		json_object_set_new(body, "config", config);
	}
	clock_format(clock_now_ms(), 0, now, sizeof(now));
	json_object_set_new(config, "user.berth.placed-at", json_string(now));
	buf_addf(&p, "/1.0/instances%s", x->query.buf);
	if (json_string_value(target) && *json_string_value(target)) {
		buf_addstr(&p, "&target=");
		incus_path_escape(&p, json_string_value(target));
	}
	r = write_req(x, "POST", p.buf, body, NULL);
	json_decref(body);
	buf_release(&p);
	return r;
}

/*
 * Create: read first (Incus accepts a POST for a name that is taken and
 * fails only in the operation). Found, and berth's of the same plan: an
 * earlier create was interrupted, converge its state. Found otherwise:
 * stale. Absent: POST, then start when the plan wants it running; a
 * start that fails leaves the instance created (and stopped) and the
 * action failed.
 */
static enum apply_status
instance_create(struct actx *x, json_t **applied)
{
	const struct plan_action *a = x->a;
	json_t *have = NULL;
	int running, r;

	if ((running = want_running(x)) < 0)
		return APPLY_FAILED;
	r = get_obj(x, x->path.buf, &have, NULL);
	if (r < 0)
		return APPLY_FAILED;
	if (r > 0) {
		const char *plan = config_str(a->after, "user.berth.plan");

		if (!matches_after(a, have)) {
			json_decref(have);
			berr_set(x->err, "changed since the plan: %s (it exists now and is not"
				 " berth's instance of Plan \"%s\")", a->address, plan ? plan : "");
			return APPLY_STALE;
		}
		r = instance_converge(x, have, running);
		json_decref(have);
	} else {
		r = instance_post(x);
		if (r == 0 && running && (r = instance_state(x, "start", 0)) != 0) {
			struct berr start_err;

			memcpy(&start_err, x->err, sizeof(start_err));
			berr_set(x->err, "created, but the %s", start_err.msg);
		}
	}
	if (r == 0)
		*applied = read_back(x);
	return write_status(r);
}

/* "config[\"KEY\"]" -> KEY in *key, "config"; devices likewise; else NULL. */
static const char *
stamp_field(const char *f, char **key)
{
	static const char *const maps[] = { "config", "devices" };
	size_t i, n = strlen(f), m;

	for (i = 0; i < 2; i++) {
		m = strlen(maps[i]);
		if (n > m + 4 && !strncmp(f, maps[i], m) && !strncmp(f + m, "[\"", 2) &&
		    !strcmp(f + n - 2, "\"]")) {
			*key = xstrndup(f + m + 2, n - m - 4);
			return maps[i];
		}
	}
	return NULL;
}

/*
 * Update: the state (start or a clean stop) and the sold snapshot (PATCH,
 * which keeps every other key and device) of an instance still as the plan
 * saw it (instance_same()). A snapshot key or device the instance has
 * gained since the plan is its own and left as it is.
 */
static enum apply_status
instance_update(struct actx *x, json_t **applied)
{
	const struct plan_action *a = x->a;
	json_t *have = NULL, *body = json_pack("{s:{}, s:{}}", "config", "devices");
	const char *map;
	size_t i;
	int running = -1, r;

	for (i = 0; i < a->nfields; i++) {
		const char *f = a->fields[i].field;
		char *key = NULL;

		if (!strcmp(f, "state"))
			continue;
		if ((map = stamp_field(f, &key)) && a->fields[i].after) {
			json_object_set(json_object_get(body, map), key, a->fields[i].after);
			free(key);
			continue;
		}
		free(key);
		json_decref(body);
		berr_set(x->err, "%s: %s: berth changes only the state and the sold snapshot"
			 " (config keys and devices it lacks) of an existing instance",
			 a->address, f);
		return APPLY_FAILED;
	}
	if (json_object_get(a->after, "state") && (running = want_running(x)) < 0) {
		json_decref(body);
		return APPLY_FAILED;
	}
	r = get_obj(x, x->path.buf, &have, NULL);
	if (r <= 0) {
		json_decref(body);
		if (r == 0)
			berr_set(x->err, "changed since the plan: %s (it no longer exists)", a->address);
		return r < 0 ? APPLY_FAILED : APPLY_STALE;
	}
	if (!unchanged(a, have)) {
		json_decref(have);
		json_decref(body);
		berr_set(x->err, "changed since the plan: %s", a->address);
		return APPLY_STALE;
	}
	for (i = 0; i < 2; i++) {
		json_t *m = json_object_get(body, i ? "devices" : "config");
		const json_t *own = json_object_get(have, i ? "devices" : "config");
		const char *k;
		json_t *v;
		void *tmp;

		json_object_foreach_safe(m, tmp, k, v)
			if (json_object_get(own, k))
				json_object_del(m, k);
	}
	r = 0;
	if (json_object_size(json_object_get(body, "config")) ||
	    json_object_size(json_object_get(body, "devices"))) {
		if (!json_object_size(json_object_get(body, "devices")))
			json_object_del(body, "devices");
		r = write_req(x, "PATCH", x->path.buf, body, NULL);
	}
	if (r == 0 && running >= 0)
		r = instance_converge(x, have, running);
	json_decref(have);
	json_decref(body);
	if (r == 0)
		*applied = read_back(x);
	return write_status(r);
}

/* Delete: a forced stop first when it is not stopped, then DELETE. */
static enum apply_status
instance_delete(struct actx *x)
{
	json_t *have = NULL;
	int stopped, r;

	r = get_obj(x, x->path.buf, &have, NULL);
	if (r < 0)
		return APPLY_FAILED;
	if (r == 0)
		return APPLY_OK;	/* already gone */
	if (!unchanged(x->a, have)) {
		json_decref(have);
		berr_set(x->err, "changed since the plan: %s", x->a->address);
		return APPLY_STALE;
	}
	stopped = same_str(json_string_value(json_object_get(have, "status")), "Stopped");
	json_decref(have);
	if (!stopped && (r = instance_state(x, "stop", 1)) != 0)
		return write_status(r);
	return write_status(write_req(x, "DELETE", x->path.buf, NULL, NULL));
}

/* ---- cluster members ---------------------------------------------------- */

/*
 * Set or clear one key of a member's config (see plan_members()), with a
 * PUT of its writable fields: the member must still have the value the
 * plan saw (its status, which changes by itself, is not compared).
 */
static enum apply_status
member_update(struct actx *x, json_t **applied)
{
	const struct plan_action *a = x->a;
	json_t *have = NULL, *body, *config;
	const json_t *want = json_object_get(a->after, "config"), *v;
	const char *k;
	int r;

	if ((r = get_obj(x, x->path.buf, &have, x->etag)) <= 0) {
		if (r == 0)
			berr_set(x->err, "changed since the plan: %s (it no longer exists)",
				 a->address);
		return r < 0 ? APPLY_FAILED : APPLY_STALE;
	}
	json_object_foreach((json_t *)want, k, v) {
		const json_t *now = json_object_get(json_object_get(have, "config"), k);
		const json_t *then = json_object_get(json_object_get(a->before, "config"), k);

		if (now != then && (!now || !then || !json_equal(now, then))) {
			json_decref(have);
			berr_set(x->err, "changed since the plan: %s (%s)", a->address, k);
			return APPLY_STALE;
		}
	}
	config = json_deep_copy(json_object_get(have, "config"));
	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	json_object_foreach((json_t *)want, k, v) {
		if (json_is_null(v))
			json_object_del(config, k);
		else
			json_object_set_new(config, k, json_deep_copy(v));
	}
	body = json_pack("{s:o}", "config", config);
	set_copy(body, "description", json_object_get(have, "description"));
	set_copy(body, "failure_domain", json_object_get(have, "failure_domain"));
	set_copy(body, "roles", json_object_get(have, "roles"));
	set_copy(body, "groups", json_object_get(have, "groups"));
	json_decref(have);
	r = write_req(x, "PUT", x->path.buf, body, x->etag);
	json_decref(body);
	if (r == 0)
		*applied = read_back(x);
	return write_status(r);
}

static enum apply_status
run_action(struct incus_conn *c, const struct fleet *f, const struct plan_action *a,
	   const struct apply_opts *o, json_t **applied, int *deferred, struct berr *err)
{
	struct actx x;
	enum apply_status st = APPLY_FAILED;

	*applied = NULL;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.f = f;
	x.a = a;
	x.o = o;
	x.err = err;
	x.defer_read = deferred != NULL;
	buf_init(&x.path, 0);
	buf_init(&x.query, 0);
	if (a->kind != ACTION_CREATE && a->kind != ACTION_UPDATE && a->kind != ACTION_DELETE) {
		st = APPLY_SKIPPED;
		goto out;
	}
	if (object_path(&x) < 0)
		goto out;
	if (a->object == OBJ_CLUSTER_MEMBER) {
		st = a->kind == ACTION_UPDATE ? member_update(&x, applied) : APPLY_SKIPPED;
		goto out;
	}
	if (a->object == OBJ_INSTANCE) {
		switch (a->kind) {
		case ACTION_CREATE: st = instance_create(&x, applied); break;
		case ACTION_UPDATE: st = instance_update(&x, applied); break;
		default: st = instance_delete(&x); break;
		}
		goto out;
	}
	switch (a->kind) {
	case ACTION_CREATE: st = do_create(&x, applied); break;
	case ACTION_UPDATE: st = do_update(&x, applied); break;
	default: st = do_delete(&x); break;
	}
out:
	if (deferred)
		*deferred = st == APPLY_OK && x.deferred;
	buf_release(&x.path);
	buf_release(&x.query);
	return st;
}

enum apply_status
apply_action(struct incus_conn *c, const struct fleet *f, const struct plan_action *a,
	     const struct apply_opts *o, json_t **applied, struct berr *err)
{
	return run_action(c, f, a, o, applied, NULL, err);
}

enum apply_status
apply_action_batched(struct incus_conn *c, const struct fleet *f, const struct plan_action *a,
		     const struct apply_opts *o, json_t **applied, int *deferred,
		     struct berr *err)
{
	return run_action(c, f, a, o, applied, deferred, err);
}

/* ---- batched read-back -------------------------------------------------- */

int
apply_batched_read(const struct plan_action *a)
{
	return (a->kind == ACTION_CREATE || a->kind == ACTION_UPDATE) &&
	       (a->object == OBJ_PROFILE || a->object == OBJ_PROJECT);
}

int
apply_same_batch(const struct plan_action *a, const struct plan_action *b)
{
	const char *pa = a->project ? a->project : "default";
	const char *pb = b->project ? b->project : "default";

	return apply_batched_read(a) && apply_batched_read(b) && a->object == b->object &&
	       (a->object != OBJ_PROFILE || !strcmp(pa, pb));
}

json_t *
apply_read_one(struct incus_conn *c, const struct plan_action *a)
{
	struct actx x;
	struct berr ignore;
	json_t *v = NULL;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.a = a;
	x.err = &ignore;
	buf_init(&x.path, 0);
	buf_init(&x.query, 0);
	if (object_path(&x) == 0)
		v = read_back(&x);
	buf_release(&x.path);
	buf_release(&x.query);
	return v;
}

json_t *
apply_read_batch(struct incus_conn *c, const struct plan_action *a, struct berr *err)
{
	struct buf p = BUF_INIT;
	json_t *list = NULL, *out = NULL, *v;
	size_t i;

	buf_addf(&p, "%s?recursion=1", list_path(a->object));
	if (a->object == OBJ_PROFILE) {
		buf_addstr(&p, "&project=");
		incus_path_escape(&p, a->project ? a->project : "default");
	}
	if (!(list = incus_get(c, p.buf, err)))
		goto out;
	if (!json_is_array(list)) {
		berr_set(err, "GET %s: the server answered without a list", p.buf);
		goto out;
	}
	out = json_object();
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));

		if (!json_is_object(v) || !name)
			continue;
		add_project(a, v);
		json_object_set(out, name, v);
	}
out:
	json_decref(list);
	buf_release(&p);
	return out;
}
