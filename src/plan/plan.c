/*
 * plan.c - desired x observed -> ordered actions per server, with the
 * ownership, prune and safety rules of the README (berth plan, "Safety
 * rules").
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "plan/plan-int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/units.h"
#include "util/banned.h"

#define DEFAULT_MAX_DELETES 10

const char *
plan_object_name(enum plan_object o)
{
	switch (o) {
	case OBJ_STORAGE_POOL: return "storage-pool";
	case OBJ_PROJECT: return "project";
	case OBJ_PROFILE: return "profile";
	case OBJ_IMAGE: return "image";
	case OBJ_CLUSTER_GROUP: return "cluster-group";
	case OBJ_INSTANCE: return "instance";
	case OBJ_SERVER: return "server";
	case OBJ_CLUSTER_MEMBER: return "cluster-member";
	}
	return "?";
}

const char *
plan_action_name(enum plan_action_kind k)
{
	switch (k) {
	case ACTION_CREATE: return "create";
	case ACTION_UPDATE: return "update";
	case ACTION_DELETE: return "delete";
	case ACTION_BLOCKED: return "blocked";
	case ACTION_ERROR: return "error";
	case ACTION_RETAINED: return "retained";
	case ACTION_MOVE: return "move";
	}
	return "?";
}

const char *
plan_safety_name(enum plan_safety s)
{
	switch (s) {
	case SAFETY_SAFE: return "safe";
	case SAFETY_DISRUPTIVE: return "disruptive";
	case SAFETY_DESTRUCTIVE: return "destructive";
	}
	return "?";
}

struct pctx {
	const struct fleet *f;
	const struct plan_opts *opts;
	struct plan *plan;
	struct iplan inst;		/* where the Instance manifests are or go */
};

/* ---- targets ------------------------------------------------------------ */

static int
target_split(const char *t, char *kind, size_t kindlen, const char **name)
{
	const char *slash = strchr(t, '/');
	size_t n;

	if (!slash || slash == t || !slash[1])
		return -1;
	n = (size_t)(slash - t);
	if (n >= kindlen)
		return -1;
	memcpy(kind, t, n);
	kind[n] = '\0';
	*name = slash + 1;
	return 0;
}

static char *
check_targets(const struct fleet *f, const struct plan_opts *o)
{
	size_t i;

	for (i = 0; o && i < o->ntargets; i++) {
		char kind[16];
		const char *name;
		int k;

		if (target_split(o->targets[i], kind, sizeof(kind), &name) < 0)
			return xasprintf("target \"%s\": want KIND/NAME like Plan/vps-s",
					 o->targets[i]);
		k = kind_from_name(kind);
		if (k != KIND_HOST && k != KIND_CLUSTER && k != KIND_POOL &&
		    k != KIND_PLAN && k != KIND_IMAGE)
			return xasprintf("target \"%s\": want one of Host, Cluster, Pool, "
					 "Plan, Image; have \"%s\"", o->targets[i], kind);
		if (!json_object_get(f->index[k], name))
			return xasprintf("target \"%s\": no %s named \"%s\" in the manifests",
					 o->targets[i], kind_name((enum kind)k), name);
	}
	return NULL;
}

static int
server_targeted(const struct fleet *f, const struct plan_opts *o,
		const struct pserver *s)
{
	size_t i;

	if (!o || !o->ntargets)
		return 1;
	for (i = 0; i < o->ntargets; i++) {
		char kind[16];
		const char *name;
		struct m_host *h;

		if (target_split(o->targets[i], kind, sizeof(kind), &name) < 0)
			continue;
		switch (kind_from_name(kind)) {
		case KIND_PLAN:
		case KIND_IMAGE:
			return 1;
		case KIND_HOST:
			h = fleet_host(f, name);
			if (h && (h == s->host || (h->cluster && h->cluster == s->cluster)))
				return 1;
			break;
		case KIND_CLUSTER:
			if (s->cluster && !strcmp(s->cluster->meta.name, name))
				return 1;
			break;
		case KIND_POOL:
			if (pserver_in_pool(s, fleet_pool(f, name)))
				return 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/*
 * Is the object (object, name) on s within the targets? A Plan target
 * selects its profile plan-<name> and the instances of plan (NULL for
 * other objects, and for instances on no plan).
 */
static int
object_targeted(const struct fleet *f, const struct plan_opts *o,
		const struct pserver *s, enum plan_object obj, const char *name,
		const char *plan)
{
	size_t i;

	if (!o || !o->ntargets)
		return 1;
	for (i = 0; i < o->ntargets; i++) {
		char kind[16];
		const char *tname;

		if (target_split(o->targets[i], kind, sizeof(kind), &tname) < 0)
			continue;
		switch (kind_from_name(kind)) {
		case KIND_PLAN:
			if (obj == OBJ_PROFILE && !strncmp(name, "plan-", 5) &&
			    !strcmp(name + 5, tname))
				return 1;
			if (obj == OBJ_INSTANCE && plan && !strcmp(plan, tname))
				return 1;
			break;
		case KIND_IMAGE:
			if (obj == OBJ_IMAGE && !strcmp(name, tname))
				return 1;
			break;
		default: {
			/* Host, Cluster, Pool: everything on the server. */
			struct plan_opts one = *o;
			const char *const t[1] = { o->targets[i] };

			one.targets = t;
			one.ntargets = 1;
			if (server_targeted(f, &one, s))
				return 1;
		}
		}
	}
	return 0;
}

/* ---- actions ------------------------------------------------------------ */

static struct plan_action *
add_action(struct plan *p, const struct pserver *s, enum plan_object obj,
	   const char *name, const char *project, enum plan_action_kind kind)
{
	struct plan_action *a;
	struct buf addr = BUF_INIT;

	ALLOC_GROW(p->actions, p->nactions + 1, p->aactions);
	a = &p->actions[p->nactions++];
	memset(a, 0, sizeof(*a));
	a->server = xstrdup(s->name);
	buf_addf(&addr, "%s/%s", s->is_cluster ? "cluster" : "host", s->name);
	if (obj != OBJ_SERVER)
		buf_addf(&addr, "/%s/%s", plan_object_name(obj), name);
	if (project && strcmp(project, "default"))
		buf_addf(&addr, "?project=%s", project);
	a->address = buf_detach(&addr, NULL);
	a->object = obj;
	a->name = xstrdup(name);
	a->project = project ? xstrdup(project) : NULL;
	a->kind = kind;
	a->safety = kind == ACTION_DELETE ? SAFETY_DESTRUCTIVE : SAFETY_SAFE;
	return a;
}

static const json_t *
list_of(const struct pserver *s, enum plan_object o)
{
	static const char *const keys[] = {
		[OBJ_STORAGE_POOL] = "storage_pools", [OBJ_PROJECT] = "projects",
		[OBJ_PROFILE] = "profiles", [OBJ_IMAGE] = "images",
		[OBJ_CLUSTER_GROUP] = "groups", [OBJ_INSTANCE] = "instances",
		[OBJ_SERVER] = NULL,
	};

	return keys[o] ? json_object_get(s->obs, keys[o]) : NULL;
}

static const char *
obj_project(const json_t *v)
{
	const char *p = json_string_value(json_object_get(v, "project"));

	return p ? p : "default";
}

/* The name an observed object is known by (images: each of their aliases). */
static int
obs_has_name(enum plan_object o, const json_t *v, const char *name)
{
	const json_t *a;
	size_t i;

	if (o != OBJ_IMAGE) {
		const char *n = json_string_value(json_object_get(v, "name"));

		return n && !strcmp(n, name);
	}
	json_array_foreach(json_object_get(v, "aliases"), i, a) {
		const char *n = json_string_value(json_object_get(a, "name"));

		if (n && !strcmp(n, name))
			return 1;
	}
	return 0;
}

static char *
index_key(enum plan_object o, const char *project, const char *name)
{
	return xasprintf("%d\n%s\n%s", (int)o, project ? project : "", name);
}

static void
index_add(json_t *index, enum plan_object o, const char *project, const char *name,
	  const json_t *v)
{
	char *key = index_key(o, project, name);

	if (!json_object_get(index, key))	/* the first of a name wins */
		json_object_set(index, key, (json_t *)v);
	free(key);
}

/*
 * Index the observed objects of s by kind, project and name (images by
 * each alias; the first of a name wins, as a scan in list order would),
 * so that finding one costs the same for 10 objects or 10,000.
 */
static void
index_observed(struct pserver *s)
{
	static const enum plan_object kinds[] = { OBJ_STORAGE_POOL, OBJ_PROJECT, OBJ_PROFILE,
						  OBJ_IMAGE, OBJ_CLUSTER_GROUP, OBJ_INSTANCE };
	const json_t *v, *a;
	size_t k, i, j;

	s->index = json_object();
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		json_array_foreach(list_of(s, kinds[k]), i, v) {
			const char *p = kinds[k] == OBJ_PROFILE || kinds[k] == OBJ_IMAGE ||
					kinds[k] == OBJ_INSTANCE ? obj_project(v) : NULL;
			const char *n = json_string_value(json_object_get(v, "name"));

			if (kinds[k] != OBJ_IMAGE) {
				if (n)
					index_add(s->index, kinds[k], p, n, v);
				continue;
			}
			json_array_foreach(json_object_get(v, "aliases"), j, a)
				if ((n = json_string_value(json_object_get(a, "name"))))
					index_add(s->index, kinds[k], p, n, v);
		}
	}
}

static const json_t *
find_observed(const struct pserver *s, enum plan_object o, const char *name,
	      const char *project)
{
	const json_t *v;
	size_t i;

	if (s->index && (project || (o != OBJ_PROFILE && o != OBJ_IMAGE && o != OBJ_INSTANCE))) {
		char *key = index_key(o, project, name);

		v = json_object_get(s->index, key);
		free(key);
		return v;
	}
	json_array_foreach(list_of(s, o), i, v) {
		if (project && strcmp(obj_project(v), project))
			continue;
		if (obs_has_name(o, v, name))
			return v;
	}
	return NULL;
}

static int
is_managed(enum plan_object o, const json_t *v)
{
	const char *m;

	if (o == OBJ_IMAGE)
		m = json_string_value(json_object_get(json_object_get(v, "properties"),
						      "berth.managed"));
	else
		m = json_string_value(json_object_get(json_object_get(v, "config"),
						      "user.berth.managed"));
	return m && !strcmp(m, "true");
}

static size_t
count_prefixed(const json_t *list, const char *prefix)
{
	const json_t *v;
	size_t i, n = 0;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && !strncmp(json_string_value(v), prefix, strlen(prefix)))
			n++;
	return n;
}

/* Instances using an image (by their volatile.base_image). */
static size_t
image_users(const struct pserver *s, const json_t *image)
{
	const char *fp = json_string_value(json_object_get(image, "fingerprint"));
	const json_t *v;
	size_t i, n = 0;

	if (!fp)
		return 0;
	json_array_foreach(json_object_get(s->obs, "instances"), i, v) {
		const char *b = json_string_value(json_object_get(json_object_get(v, "config"),
								  "volatile.base_image"));

		if (b && !strcmp(b, fp))
			n++;
	}
	return n;
}

/*
 * The running instances (of type, or any when NULL) that use profile name
 * of project: their count, and their names "a, b" added to names (may be
 * NULL).
 */
static size_t
running_users_of(const struct pserver *s, const char *name, const char *project,
		 const char *type, struct buf *names)
{
	const json_t *v, *p;
	size_t i, k, n = 0;

	json_array_foreach(json_object_get(s->obs, "instances"), i, v) {
		const char *st = json_string_value(json_object_get(v, "status"));
		const char *t = json_string_value(json_object_get(v, "type"));

		if (!st || strcmp(st, "Running") || strcmp(obj_project(v), project) ||
		    (type && (!t || strcmp(t, type))))
			continue;
		json_array_foreach(json_object_get(v, "profiles"), k, p)
			if (json_is_string(p) && !strcmp(json_string_value(p), name)) {
				if (names)
					buf_addf(names, "%s%s", n ? ", " : "",
						 json_string_value(json_object_get(v, "name")));
				n++;
				break;
			}
	}
	return n;
}

static size_t
running_users(const struct pserver *s, const char *name, const char *project)
{
	return running_users_of(s, name, project, NULL, NULL);
}

static char *
in_use_reason(size_t n, const char *what)
{
	return xasprintf("retained: used by %zu %s%s", n, what, n == 1 ? "" : "s");
}

static const char *
conflict_reason(enum plan_object o)
{
	switch (o) {
	case OBJ_STORAGE_POOL:
	case OBJ_PROJECT:
		return "exists and is not managed by berth (set adopt: true to take it over)";
	case OBJ_IMAGE:
		return "exists and is not managed by berth (set its property berth.managed=true"
		       " to take it over, or remove its alias)";
	default:
		return "exists and is not managed by berth (set user.berth.managed=true"
		       " on it to take it over, or rename it)";
	}
}

static char *
update_reason(const struct pctx *c, const char *address, const json_t *observed)
{
	const json_t *last;

	if (!c->opts || !c->opts->last_applied)
		return xstrdup("differs");
	last = json_object_get(c->opts->last_applied, address);
	if (json_is_string(last)) {
		json_t *v = json_loadb(json_string_value(last), json_string_length(last), 0, NULL);
		int same = v && json_equal(v, (json_t *)observed);

		json_decref(v);
		return xstrdup(same ? "changed in git" : "changed outside berth");
	}
	if (last && !json_equal((json_t *)last, (json_t *)observed))
		return xstrdup("changed outside berth");
	return xstrdup("changed in git");
}

static int
touches_running(const struct plan_action *a)
{
	size_t i;

	for (i = 0; i < a->nfields; i++)
		if (!strncmp(a->fields[i].field, "config[\"limits.", 15) ||
		    !strncmp(a->fields[i].field, "devices", 7))
			return 1;
	return 0;
}

/* Put note on a's field named field (replacing any). */
static void
note_field(struct plan_action *a, const char *field, const char *note)
{
	size_t i;

	for (i = 0; note && i < a->nfields; i++)
		if (!strcmp(a->fields[i].field, field)) {
			free(a->fields[i].note);
			a->fields[i].note = xstrdup(note);
		}
}

static void
plan_desired(struct pctx *c, const struct pserver *s, struct dobj *d)
{
	const json_t *obs = find_observed(s, d->object, d->name, d->project);
	struct plan_action *a;
	int managed;

	if (d->error) {
		a = add_action(c->plan, s, d->object, d->name, d->project, ACTION_ERROR);
		a->reason = xstrdup(d->error);
		a->before = obs ? json_deep_copy(obs) : NULL;
		a->after = json_deep_copy(d->after);
		json_digest(obs, a->digest);
		return;
	}
	if (!obs) {
		a = add_action(c->plan, s, d->object, d->name, d->project, ACTION_CREATE);
		a->reason = xasprintf("declared by %s, absent on the server", d->source);
		a->after = json_deep_copy(d->after);
		a->fallback = d->fallback ? json_deep_copy(d->fallback) : NULL;
		diff_object(d->object, NULL, d->after, &a->fields, &a->nfields);
		note_field(a, "driver", d->note);
		return;
	}
	managed = is_managed(d->object, obs);
	/* Every cluster has a group "default" that nobody created: berth may
	 * manage its config without a mark. */
	if (d->object == OBJ_CLUSTER_GROUP && !strcmp(d->name, "default"))
		managed = 1;
	if (!managed && !d->adopt) {
		a = add_action(c->plan, s, d->object, d->name, d->project, ACTION_BLOCKED);
		a->reason = xstrdup(conflict_reason(d->object));
		a->blocked_by = xstrdup("not managed by berth");
		a->before = json_deep_copy(obs);
		a->after = json_deep_copy(d->after);
		json_digest(obs, a->digest);
		return;
	}
	if (d->object == OBJ_IMAGE && d->image && d->image->fingerprint) {
		const char *fp = json_string_value(json_object_get(obs, "fingerprint"));

		if (!fp || strncmp(fp, d->image->fingerprint, strlen(d->image->fingerprint))) {
			a = add_action(c->plan, s, d->object, d->name, d->project, ACTION_ERROR);
			a->reason = xasprintf("image \"%s\" on the server has fingerprint %s,"
					      " the manifest pins %s", d->name,
					      fp ? fp : "(none)", d->image->fingerprint);
			a->before = json_deep_copy(obs);
			a->after = json_deep_copy(d->after);
			json_digest(obs, a->digest);
			return;
		}
	}
	if (d->object == OBJ_STORAGE_POOL) {
		const char *have = json_string_value(json_object_get(obs, "driver"));
		const char *want = json_string_value(json_object_get(d->after, "driver"));
		const char *declared = NULL;
		size_t i;

		/* driver: auto accepts whatever driver the pool was made with. */
		for (i = 0; i < (s->cluster ? s->cluster->nstorage_pools : s->host->nstorage_pools); i++) {
			const struct m_storage_pool *sp = s->cluster ? &s->cluster->storage_pools[i]
								   : &s->host->storage_pools[i];
			if (!strcmp(sp->name, d->name))
				declared = sp->driver;
		}
		if (have && declared && !strcmp(declared, "auto"))
			json_object_set_new(d->after, "driver", json_string(have));
		else if (have && want && strcmp(have, want)) {
			a = add_action(c->plan, s, d->object, d->name, d->project, ACTION_BLOCKED);
			a->reason = xasprintf("the pool's driver is %s and cannot change to %s:"
					      " move its volumes to a new pool by hand", have, want);
			a->blocked_by = xstrdup("driver change");
			a->before = json_deep_copy(obs);
			a->after = json_deep_copy(d->after);
			json_digest(obs, a->digest);
			return;
		}
	}
	{
		struct plan_field *fields = NULL;
		size_t nfields = 0;

		diff_object(d->object, obs, d->after, &fields, &nfields);
		if (!nfields)
			return;
		a = add_action(c->plan, s, d->object, d->name, d->project, ACTION_UPDATE);
		a->fields = fields;
		a->nfields = nfields;
	}
	a->before = json_deep_copy(obs);
	a->after = json_deep_copy(d->after);
	json_digest(obs, a->digest);
	if (!managed)
		a->reason = xstrdup("adopt: true: takes over the existing object and marks it"
				    " managed by berth");
	else
		a->reason = update_reason(c, a->address, obs);
	if (d->object == OBJ_PROFILE && touches_running(a) &&
	    running_users(s, d->name, d->project ? d->project : "default"))
		a->safety = SAFETY_DISRUPTIVE;
	if (d->object == OBJ_PROFILE) {
		/* vm_maxcpus: QEMU reads it at start; a running VM keeps the old one */
		struct buf vms = BUF_INIT;
		size_t i;
		char *r;

		for (i = 0; i < a->nfields; i++)
			if (!strcmp(a->fields[i].field, "config[\"raw.qemu.conf\"]"))
				running_users_of(s, d->name, d->project ? d->project : "default",
						 "virtual-machine", &vms);
		if (vms.len) {
			r = xasprintf("%s; the cluster's vm_maxcpus changes: running VMs that need"
				      " a restart to take it: %s", a->reason, vms.buf);
			free(a->reason);
			a->reason = r;
			a->safety = SAFETY_DISRUPTIVE;
		}
		buf_release(&vms);
	}
}

static int
declared(const struct dset *ds, enum plan_object o, const char *name, const char *project)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (ds->v[i].object == o && !strcmp(ds->v[i].name, name) &&
		    (!project || !ds->v[i].project || !strcmp(ds->v[i].project, project)))
			return 1;
	return 0;
}

/* Is the observed image v declared under any of its aliases? */
static int
image_declared(const struct dset *ds, const json_t *v)
{
	const json_t *a;
	size_t i;

	json_array_foreach(json_object_get(v, "aliases"), i, a) {
		const char *n = json_string_value(json_object_get(a, "name"));

		if (n && declared(ds, OBJ_IMAGE, n, obj_project(v)))
			return 1;
	}
	return 0;
}

/* How many things keep an undeclared managed object in place; what. */
static size_t
users_of(const struct pserver *s, enum plan_object o, const json_t *v, const char **what)
{
	const json_t *used_by = json_object_get(v, "used_by");

	switch (o) {
	case OBJ_PROFILE:
		*what = "instance";
		return count_prefixed(used_by, "/1.0/instances/");
	case OBJ_IMAGE:
		*what = "instance";
		return image_users(s, v);
	case OBJ_STORAGE_POOL:
		*what = "volume";
		return count_prefixed(used_by, "/1.0/instances/") +
		       count_prefixed(used_by, "/1.0/storage-pools/") +
		       count_prefixed(used_by, "/1.0/images/");
	case OBJ_PROJECT: {
		const json_t *u;
		size_t i, n = 0;

		*what = "object";
		json_array_foreach(used_by, i, u)
			if (json_is_string(u) &&
			    strncmp(json_string_value(u), "/1.0/profiles/default", 21))
				n++;
		return n;
	}
	case OBJ_CLUSTER_GROUP:
		*what = "member";
		return json_array_size(json_object_get(v, "members"));
	default:
		*what = "object";
		return 0;
	}
}

static void
plan_undeclared(struct pctx *c, const struct pserver *s, const struct dset *ds,
		enum plan_object o)
{
	const json_t *list = list_of(s, o), *v;
	const char **names;
	const json_t **objs;
	size_t i, j, n = 0;

	names = xcalloc(json_array_size(list) + 1, sizeof(*names));
	objs = xcalloc(json_array_size(list) + 1, sizeof(*objs));
	json_array_foreach(list, i, v) {
		const char *name;
		const json_t *a = json_array_get(json_object_get(v, "aliases"), 0);

		if (!is_managed(o, v))
			continue;
		name = json_string_value(json_object_get(o == OBJ_IMAGE ? a : v, "name"));
		if (o == OBJ_IMAGE && !name)
			name = json_string_value(json_object_get(v, "fingerprint"));
		if (!name || declared(ds, o, name, o == OBJ_PROFILE || o == OBJ_IMAGE ?
				      obj_project(v) : NULL))
			continue;
		if (o == OBJ_IMAGE && image_declared(ds, v))
			continue;	/* declared under another of its aliases */
		if (!object_targeted(c->f, c->opts, s, o, name, NULL))
			continue;
		/* insertion sort by name, for a stable order */
		for (j = n; j > 0 && strcmp(names[j - 1], name) > 0; j--) {
			names[j] = names[j - 1];
			objs[j] = objs[j - 1];
		}
		names[j] = name;
		objs[j] = v;
		n++;
	}
	for (i = 0; i < n; i++) {
		const char *project = o == OBJ_PROFILE || o == OBJ_IMAGE ? obj_project(objs[i]) : NULL;
		const char *what;
		size_t users = users_of(s, o, objs[i], &what);
		struct plan_action *a;

		if (users) {
			/* with or without --prune: say who holds it (a Plan removed
			 * from git while instances use its profile) */
			a = add_action(c->plan, s, o, names[i], project, ACTION_RETAINED);
			a->reason = in_use_reason(users, what);
			a->blocked_by = xstrdup("in use");
		} else if (!c->opts || !c->opts->prune) {
			a = add_action(c->plan, s, o, names[i], project, ACTION_RETAINED);
			a->reason = xstrdup("managed by berth and no longer declared: kept"
					    " (--prune deletes it)");
			a->blocked_by = xstrdup("prune not asked");
		} else {
			a = add_action(c->plan, s, o, names[i], project, ACTION_DELETE);
			a->reason = xstrdup("managed by berth and no longer declared");
		}
		a->before = json_deep_copy(objs[i]);
		json_digest(objs[i], a->digest);
	}
	free(names);
	free(objs);
}

/* ---- instances ---------------------------------------------------------- */

static void plan_move(struct pctx *c, const struct pserver *s, const struct imove *mv);

json_t *
plan_instance_seen(const json_t *obs)
{
	json_t *v = json_object(), *config = json_object(), *x;
	const char *k;

	json_object_set(v, "name", json_object_get(obs, "name"));
	json_object_set_new(v, "project", json_string(obj_project(obs)));
	json_object_set(v, "type", json_object_get(obs, "type"));
	json_object_set(v, "status", json_object_get(obs, "status"));
	json_object_set(v, "location", json_object_get(obs, "location"));
	json_object_set(v, "profiles", json_object_get(obs, "profiles"));
	json_object_foreach(json_object_get(obs, "config"), k, x)
		if (!strncmp(k, "user.berth.", 11) || !strncmp(k, "limits.", 7))
			json_object_set(config, k, x);
	json_object_set_new(v, "config", config);
	return v;
}

static void
plan_instance(struct pctx *c, const struct pserver *s, const struct iplace *ip)
{
	const struct m_instance *in = ip->in;
	const char *project = in->project && strcmp(in->project, "default") ? in->project : NULL;
	json_t *after = in->offer ? instance_desired(in, ip->member) : NULL;
	struct plan_action *a;
	int running, managed;
	const char *st;

	if (ip->error) {
		a = add_action(c->plan, s, OBJ_INSTANCE, in->meta.name, project, ACTION_ERROR);
		a->reason = xstrdup(ip->error);
		a->after = after;
		return;
	}
	if (!ip->obs) {
		a = add_action(c->plan, s, OBJ_INSTANCE, in->meta.name, project, ACTION_CREATE);
		a->reason = xstrdup(ip->reason ? ip->reason : "declared, absent on the server");
		a->after = after;
		diff_object(OBJ_INSTANCE, NULL, after, &a->fields, &a->nfields);
		return;
	}
	managed = is_managed(OBJ_INSTANCE, ip->obs);
	st = json_string_value(json_object_get(ip->obs, "status"));
	running = st && !strcmp(st, "Running");
	if (!managed || ip->blocked) {
		a = add_action(c->plan, s, OBJ_INSTANCE, in->meta.name, project, ACTION_BLOCKED);
		a->reason = xstrdup(ip->blocked ? ip->blocked :
				    "an instance of this name exists and berth did not create it:"
				    " rename one of them");
		a->blocked_by = xstrdup(ip->blocked_by ? ip->blocked_by : "not managed by berth");
	} else if (ip->move) {
		json_decref(after);
		plan_move(c, s, ip->move);
		return;
	} else if (running != in->running) {
		struct plan_field *fl = xcalloc(1, sizeof(*fl));

		a = add_action(c->plan, s, OBJ_INSTANCE, in->meta.name, project, ACTION_UPDATE);
		fl->field = xstrdup("state");
		fl->before = json_string(running ? "running" : "stopped");
		fl->after = json_string(in->running ? "running" : "stopped");
		a->fields = fl;
		a->nfields = 1;
		a->reason = xasprintf("declared %s, %s on the server",
				      in->running ? "running" : "stopped", st ? st : "in no state");
		a->safety = running ? SAFETY_DISRUPTIVE : SAFETY_SAFE;
	} else {
		json_decref(after);
		return;
	}
	a->before = plan_instance_seen(ip->obs);
	a->after = after;
	json_digest(a->before, a->digest);
}

/*
 * The move of mv, under its source server s: "> move instance NAME h1 ->
 * h2 (cold)"; an ERROR when no host can take it. after: {"from", "to"
 * (hosts), "server" (to's server), "member" (to, when a cluster member),
 * "kind" ("cold" | "live"), "state" ("running" | "stopped": after the
 * move)}.
 */
static void
plan_move(struct pctx *c, const struct pserver *s, const struct imove *mv)
{
	const char *project = strcmp(mv->project, "default") ? mv->project : NULL;
	const char *st = json_string_value(json_object_get(mv->obs, "status"));
	struct plan_action *a;

	if (mv->error) {
		a = add_action(c->plan, s, OBJ_INSTANCE, mv->name, project, ACTION_ERROR);
		a->reason = xstrdup(mv->error);
	} else {
		a = add_action(c->plan, s, OBJ_INSTANCE, mv->name, project, ACTION_MOVE);
		a->reason = xstrdup(mv->reason);
		a->after = json_pack("{s:s, s:s, s:s, s:s, s:s}", "from", mv->from->meta.name,
				     "to", mv->to->meta.name, "server", mv->to_server,
				     "kind", mv->live ? "live" : "cold",
				     "state", mv->running ? "running" : "stopped");
		if (mv->to->cluster)
			json_object_set_new(a->after, "member", json_string(mv->to->meta.name));
		a->fields = xcalloc(1, sizeof(*a->fields));
		a->nfields = 1;
		a->fields[0].field = xstrdup("host");
		a->fields[0].before = json_string(mv->from->meta.name);
		a->fields[0].after = json_string(mv->to->meta.name);
		/* running through a cold move: stopped for its length */
		if (st && !strcmp(st, "Running") && !mv->live)
			a->safety = SAFETY_DISRUPTIVE;
	}
	a->before = plan_instance_seen(mv->obs);
	json_digest(a->before, a->digest);
}

/* Is the observed instance v declared by an Instance manifest? */
static int
instance_declared(const struct fleet *f, const json_t *v)
{
	const char *name = json_string_value(json_object_get(v, "name"));
	const struct m_instance *in = name ? fleet_instance(f, name) : NULL;

	return in && !strcmp(in->project && *in->project ? in->project : "default",
			     obj_project(v));
}

/* The observed profile plan-<name> of offer o in project (else in default), or NULL. */
static const json_t *
offer_profile(const struct pserver *s, const struct m_offer *o, const char *project)
{
	char *name = xasprintf("plan-%s", o->meta.name);
	const json_t *v = find_observed(s, OBJ_PROFILE, name, project);

	if (!v)
		v = find_observed(s, OBJ_PROFILE, name, "default");
	free(name);
	return v;
}

/*
 * The sold snapshot of instance v, sold by a panel on offer o's profile:
 * what its profile gives it now, held on the instance itself, so that a
 * later edit of the Plan neither resizes nor reprices it. Each key the
 * profile sets (the plan's config, limits.cpu, limits.memory, and the
 * snapshot user.berth.plan, .plan-version, .price, .currency, .cycle,
 * .provider) and each device it defines (the plan's devices and the root
 * disk; from a profile of an earlier plan version, every key and device
 * it sets), with the value the instance has from it (expanded_config,
 * expanded_devices); a snapshot key the profile lacks (one written before
 * profiles carried prices) takes the offer's value. Plus
 * user.berth.sold-by "panel" and user.berth.placed-at (its created_at).
 * Only what the instance does not carry itself is added. Sets *after to
 * {"config": {...}, "devices": {...}} and returns the number of keys and
 * devices added (0: nothing to do).
 */
static size_t
panel_stamp(const struct pserver *s, const struct m_offer *o, const json_t *v,
	    struct plan_field **out, json_t **after)
{
	const json_t *prof = offer_profile(s, o, obj_project(v));
	const json_t *ldev = json_object_get(v, "devices");
	const json_t *xdev = json_object_get(v, "expanded_devices");
	json_t *keys = json_object(), *devs = offer_devices(o), *config, *devices, *x;
	const char *created = json_string_value(json_object_get(v, "created_at"));
	const char *k, *have, *pv;
	char placed[32];
	int64_t ms;
	size_t n = 0;

	offer_config(o, keys);
	json_object_del(keys, "user.berth.managed");	/* a panel's, not berth's */
	/*
	 * A profile of an earlier version of the plan may set keys the plan
	 * no longer has; one of the current version that sets more has
	 * drifted, and its extra keys are nobody's sale.
	 */
	pv = json_string_value(json_object_get(json_object_get(prof, "config"),
					       "user.berth.plan-version"));
	if (pv && strcmp(pv, json_string_value(json_object_get(keys,
							       "user.berth.plan-version")))) {
		json_object_foreach(json_object_get(prof, "config"), k, x)
			if (strcmp(k, "user.berth.managed") && !json_object_get(keys, k))
				json_object_set_new(keys, k, json_null());
		json_object_foreach(json_object_get(prof, "devices"), k, x)
			if (!json_object_get(devs, k))
				json_object_set_new(devs, k, json_null());
	}
	json_object_set_new(keys, "user.berth.sold-by", json_string("panel"));
	if (created && clock_parse_rfc3339(created, &ms) == 0 && ms > 0) {
		clock_format(ms, 0, placed, sizeof(placed));
		json_object_set_new(keys, "user.berth.placed-at", json_string(placed));
	}
	config = json_object();
	devices = json_object();
	json_object_foreach(keys, k, x) {
		if (instance_key(v, k, 0))
			continue;	/* its own already: never overwritten */
		if ((have = instance_key(v, k, 1)))
			json_object_set_new(config, k, json_string(have));
		else if (!strncmp(k, "user.berth.", 11) && json_is_string(x))
			json_object_set(config, k, x);
	}
	json_object_foreach(devs, k, x)
		if (!json_object_get(ldev, k) && json_object_get(xdev, k))
			json_object_set(devices, k, json_object_get(xdev, k));
	*out = xcalloc(json_object_size(config) + json_object_size(devices) + 1, sizeof(**out));
	json_object_foreach(config, k, x) {
		(*out)[n].field = xasprintf("config[\"%s\"]", k);
		(*out)[n++].after = json_incref(x);
	}
	json_object_foreach(devices, k, x) {
		(*out)[n].field = xasprintf("devices[\"%s\"]", k);
		(*out)[n++].after = json_incref(x);
	}
	*after = json_pack("{s:o, s:o}", "config", config, "devices", devices);
	json_decref(keys);
	json_decref(devs);
	return n;
}

/* Is the observed instance v what an interrupted move left (plan_leftovers())? */
static int
is_leftover(const struct pctx *c, const json_t *v)
{
	size_t i;

	for (i = 0; i < c->inst.nleftovers; i++)
		if (c->inst.leftovers[i].obs == v)
			return 1;
	return 0;
}

/*
 * Instances on s that no Instance manifest declares:
 * - created by berth (user.berth.managed on the instance itself): an
 *   orphan, kept unless --prune (then deleted, within the mass-delete
 *   guard);
 * - on the profile of an offer berth knows, not berth's: sold by a panel;
 *   on first sight its sold snapshot is stamped on it (never resized or
 *   deleted: only keys it lacks are added, with the values it has now);
 * - on a plan profile no Plan declares any more: an orphan, kept.
 * Panel sales when stamps, the rest when not: the stamps go first, before
 * any change to their profiles, so that a sold instance never runs for a
 * moment with what an edited profile gives.
 */
static void
plan_unlisted_instances(struct pctx *c, const struct pserver *s, int stamps)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list_of(s, OBJ_INSTANCE), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *project = strcmp(obj_project(v), "default") ? obj_project(v) : NULL;
		const char *plan = instance_key(v, "user.berth.plan", 1);
		const char *st = json_string_value(json_object_get(v, "status"));
		const struct m_offer *o = plan ? fleet_offer(c->f, plan) : NULL;
		struct plan_action *a = NULL;
		struct plan_field *fields = NULL;
		const struct imove *mv;
		size_t n;

		if (!name || instance_declared(c->f, v) || is_leftover(c, v) ||
		    !object_targeted(c->f, c->opts, s, OBJ_INSTANCE, name, plan))
			continue;
		if (stamps != (!is_managed(OBJ_INSTANCE, v) && o))
			continue;
		mv = iplan_move(&c->inst, s->name, name, obj_project(v));
		if (mv && !stamps && !(is_managed(OBJ_INSTANCE, v) && c->opts && c->opts->prune)) {
			plan_move(c, s, mv);	/* kept, and moved off its draining host */
			continue;
		}
		if (is_managed(OBJ_INSTANCE, v)) {
			if (!c->opts || !c->opts->prune) {
				a = add_action(c->plan, s, OBJ_INSTANCE, name, project, ACTION_RETAINED);
				a->reason = xstrdup("created by berth, no Instance manifest declares it"
						    " any more: kept (--prune deletes it)");
				a->blocked_by = xstrdup("prune not asked");
			} else {
				a = add_action(c->plan, s, OBJ_INSTANCE, name, project, ACTION_DELETE);
				a->reason = xasprintf("created by berth, no Instance manifest declares"
						      " it any more%s", st && !strcmp(st, "Running") ?
						      " (running: it is stopped first)" : "");
			}
		} else if (o) {
			json_t *after = NULL;

			n = panel_stamp(s, o, v, &fields, &after);
			if (!n) {
				free(fields);
				json_decref(after);
				if (mv)
					plan_move(c, s, mv);
				continue;
			}
			a = add_action(c->plan, s, OBJ_INSTANCE, name, project, ACTION_UPDATE);
			a->fields = fields;
			a->nfields = n;
			a->reason = xasprintf("sold by a panel on plan-%s: its sold snapshot is"
					      " recorded on it (the instance keeps what it runs with)",
					      o->meta.name);
			a->after = after;
		} else if (plan) {
			a = add_action(c->plan, s, OBJ_INSTANCE, name, project, ACTION_RETAINED);
			a->reason = xasprintf("on profile plan-%s, which no Plan declares: kept", plan);
			a->blocked_by = xstrdup("plan unknown");
		} else {
			continue;	/* not berth's business */
		}
		a->before = plan_instance_seen(v);
		json_digest(a->before, a->digest);
		if (mv && stamps)
			plan_move(c, s, mv);	/* stamped first, then moved */
	}
}

static void
plan_instances(struct pctx *c, const struct pserver *s)
{
	size_t i;

	for (i = 0; i < c->inst.n; i++) {
		const struct iplace *ip = &c->inst.v[i];

		if (ip->server && !strcmp(ip->server, s->name) &&
		    object_targeted(c->f, c->opts, s, OBJ_INSTANCE, ip->in->meta.name,
				    ip->in->plan_name))
			plan_instance(c, s, ip);
	}
}

/*
 * What interrupted moves left on s (a copy still marked move-pending next
 * to its instance): deleted, even running (the instance is its source).
 */
static void
plan_leftovers(struct pctx *c, const struct pserver *s)
{
	size_t i;

	for (i = 0; i < c->inst.nleftovers; i++) {
		const struct ileftover *l = &c->inst.leftovers[i];
		const char *name = json_string_value(json_object_get(l->obs, "name"));
		const char *project = obj_project(l->obs);
		const char *st = json_string_value(json_object_get(l->obs, "status"));
		struct plan_action *a;

		if (strcmp(l->server, s->name) || !object_targeted(c->f, c->opts, s, OBJ_INSTANCE,
								    name, NULL))
			continue;
		a = add_action(c->plan, s, OBJ_INSTANCE, name, strcmp(project, "default") ?
			       project : NULL, ACTION_DELETE);
		a->reason = xasprintf("what an interrupted move left: the instance is on %s%s",
				      l->source, st && !strcmp(st, "Running") ?
				      " (this copy runs: it is stopped first)" : "");
		a->before = plan_instance_seen(l->obs);
		json_digest(a->before, a->digest);
	}
}

/* ---- cluster members ---------------------------------------------------- */

/*
 * A member that is cordoned or draining gets scheduler.instance=manual, so
 * that Incus's own placement (a panel's incus launch without a target)
 * avoids it too; active again, the key berth set is cleared. after:
 * {"config": {"scheduler.instance": "manual" | null}}.
 */
static void
plan_members(struct pctx *c, const struct pserver *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(s->obs, "members"), i, v) {
		const char *name = json_string_value(json_object_get(v, "server_name"));
		const struct m_host *h = name ? fleet_host(c->f, name) : NULL;
		const char *have = json_string_value(json_object_get(json_object_get(v, "config"),
								     "scheduler.instance"));
		int want = h && h->state != HOST_ACTIVE;
		struct plan_action *a;

		if (!h || h->cluster != s->cluster || !object_targeted(c->f, c->opts, s,
			OBJ_CLUSTER_MEMBER, name, NULL))
			continue;
		if (want == (have && !strcmp(have, "manual")))
			continue;
		a = add_action(c->plan, s, OBJ_CLUSTER_MEMBER, name, NULL, ACTION_UPDATE);
		a->fields = xcalloc(1, sizeof(*a->fields));
		a->nfields = 1;
		a->fields[0].field = xstrdup("config[\"scheduler.instance\"]");
		a->fields[0].before = have ? json_string(have) : NULL;
		a->fields[0].after = want ? json_string("manual") : NULL;
		a->reason = want ? xasprintf("host %s is %s: Incus places no instance on it either",
					     name, h->state == HOST_CORDONED ? "cordoned" : "draining")
				 : xasprintf("host %s is active again", name);
		a->after = json_pack("{s:{s:o}}", "config", "scheduler.instance",
				     want ? json_string("manual") : json_null());
		a->before = json_deep_copy(v);
		json_digest(a->before, a->digest);
	}
}

/* ---- servers ------------------------------------------------------------ */

static int
pserver_cmp(const void *a, const void *b)
{
	const struct pserver *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : x->is_cluster - y->is_cluster;
}

static int
fleet_declares_nothing(const struct fleet *f)
{
	size_t i;

	if (f->noffers || f->nimages)
		return 0;
	for (i = 0; i < f->nhosts; i++)
		if (f->hosts[i].nstorage_pools || f->hosts[i].nprojects)
			return 0;
	for (i = 0; i < f->nclusters; i++)
		if (f->clusters[i].nstorage_pools || f->clusters[i].nprojects ||
		    f->clusters[i].ngroups)
			return 0;
	return 1;
}

static void
manifest_digest(const struct fleet *f, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t d;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (d = 0; d < f->docs.n; d++) {
		char *s = json_canonical(f->docs.v[d].root);

		EVP_DigestUpdate(ctx, f->docs.v[d].file, strlen(f->docs.v[d].file) + 1);
		EVP_DigestUpdate(ctx, s, strlen(s) + 1);
		free(s);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, 32, out);
}

static void
plan_server(struct pctx *c, const json_t *observed, struct pserver *s)
{
	struct plan *p = c->plan;
	struct plan_server *ps;
	const json_t *stats, *err;
	struct dset ds = { NULL, 0, 0 };
	enum plan_object o;
	size_t i;

	ALLOC_GROW(p->servers, p->nservers + 1, p->aservers);
	ps = &p->servers[p->nservers++];
	memset(ps, 0, sizeof(*ps));
	ps->name = xstrdup(s->name);
	ps->is_cluster = s->is_cluster;
	s->obs = json_object_get(json_object_get(observed, "servers"), s->name);
	stats = json_object_get(s->obs, "stats");
	ps->requests = (unsigned long)json_integer_value(json_object_get(stats, "requests"));
	ps->bytes = (unsigned long long)json_integer_value(json_object_get(stats, "bytes"));
	if (s->host && s->host->review != REVIEW_APPROVED) {
		ps->state = xstrdup(s->host->review == REVIEW_PENDING ? "review pending"
								     : "review rejected");
		return;
	}
	if (s->host && s->host->state != HOST_ACTIVE)
		ps->state = xstrdup(s->host->state == HOST_CORDONED ? "cordoned" : "draining");
	err = json_object_get(s->obs, "error");
	if (!s->obs || json_is_string(err) || !json_is_object(json_object_get(s->obs, "server"))) {
		struct plan_action *a;

		ps->error = !s->obs ? xstrdup("not in the observation") :
			    json_is_string(err) ? xstrdup(json_string_value(err)) :
			    xstrdup("the observation has no server information");
		a = add_action(p, s, OBJ_SERVER, s->name, NULL, ACTION_ERROR);
		a->reason = xstrdup(ps->error);
		return;
	}
	index_observed(s);
	desired_server(c->f, c->opts ? c->opts->status : NULL, s, &ds);
	if (s->is_cluster)
		plan_members(c, s);
	plan_unlisted_instances(c, s, 1);
	for (i = 0; i < ds.n; i++)
		if (object_targeted(c->f, c->opts, s, ds.v[i].object, ds.v[i].name, NULL))
			plan_desired(c, s, &ds.v[i]);
	plan_instances(c, s);
	plan_unlisted_instances(c, s, 0);
	plan_leftovers(c, s);
	/* Deletions after all else, in reverse order of kinds. */
	for (o = OBJ_CLUSTER_GROUP + 1; o-- > OBJ_STORAGE_POOL; ) {
		if (o == OBJ_CLUSTER_GROUP && !s->is_cluster)
			continue;
		plan_undeclared(c, s, &ds, o);
	}
	dset_release(&ds);
}

static void
apply_guard(struct plan *p, const struct plan_opts *o)
{
	unsigned max = o && o->max_deletes ? o->max_deletes : DEFAULT_MAX_DELETES;
	size_t i, n = 0;

	for (i = 0; i < p->nactions; i++)
		n += p->actions[i].kind == ACTION_DELETE;
	if (n <= max || (o && o->allow_mass_delete))
		return;
	for (i = 0; i < p->nactions; i++) {
		struct plan_action *a = &p->actions[i];

		if (a->kind != ACTION_DELETE)
			continue;
		a->kind = ACTION_BLOCKED;
		a->safety = SAFETY_DESTRUCTIVE;
		free(a->reason);
		a->reason = xasprintf("%zu deletes exceed the mass-deletion guard of %u:"
				      " check the manifests, then pass --allow-mass-delete"
				      " (or raise --max-deletes)", n, max);
		a->blocked_by = xstrdup("mass-delete guard");
	}
}

int
plan_compute(const struct fleet *f, const json_t *observed,
	     const struct plan_opts *opts, struct plan *plan)
{
	struct pctx c = { f, opts, plan, { NULL, 0, NULL, 0, NULL, 0 } };
	struct pserver *servers;
	size_t i, n = 0;

	memset(plan, 0, sizeof(*plan));
	snprintf(plan->commit, sizeof(plan->commit), "%s", f->commit);
	manifest_digest(f, plan->manifest_digest);
	plan->refused = check_targets(f, opts);
	if (plan->refused)
		return -1;
	if (opts && opts->prune && fleet_declares_nothing(f)) {
		plan->refused = xstrdup("refusing to prune: the manifests declare nothing"
					" (no storage pools, projects, plans or images), so every"
					" managed object would be deleted; check --repo, --ref"
					" and --path");
		return -1;
	}
	servers = xcalloc(f->nhosts + f->nclusters + 1, sizeof(*servers));
	for (i = 0; i < f->nhosts; i++) {
		if (f->hosts[i].cluster_name)
			continue;
		servers[n].name = f->hosts[i].meta.name;
		servers[n].host = &f->hosts[i];
		n++;
	}
	for (i = 0; i < f->nclusters; i++) {
		servers[n].name = f->clusters[i].meta.name;
		servers[n].cluster = &f->clusters[i];
		servers[n].is_cluster = 1;
		n++;
	}
	qsort(servers, n, sizeof(*servers), pserver_cmp);
	instances_resolve(f, observed, opts ? opts->status : NULL, &c.inst);
	for (i = 0; i < n; i++)
		if (server_targeted(f, opts, &servers[i]))
			plan_server(&c, observed, &servers[i]);
	iplan_release(&c.inst);
	for (i = 0; i < n; i++)
		json_decref(servers[i].index);
	free(servers);
	apply_guard(plan, opts);
	for (i = 0; i < plan->nactions; i++) {
		switch (plan->actions[i].kind) {
		case ACTION_CREATE: plan->ncreate++; break;
		case ACTION_UPDATE: plan->nupdate++; break;
		case ACTION_DELETE: plan->ndelete++; break;
		case ACTION_BLOCKED: plan->nblocked++; break;
		case ACTION_ERROR: plan->nerrors++; break;
		case ACTION_RETAINED: plan->nretained++; break;
		case ACTION_MOVE: plan->nmove++; break;
		}
	}
	return 0;
}

int
plan_has_changes(const struct plan *plan)
{
	return plan->ncreate + plan->nupdate + plan->ndelete + plan->nmove > 0;
}

void
plan_release(struct plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nactions; i++) {
		struct plan_action *a = &plan->actions[i];

		free(a->server);
		free(a->address);
		free(a->name);
		free(a->project);
		free(a->reason);
		free(a->blocked_by);
		json_decref(a->before);
		json_decref(a->after);
		json_decref(a->fallback);
		plan_fields_free(a->fields, a->nfields);
	}
	free(plan->actions);
	for (i = 0; i < plan->nservers; i++) {
		free(plan->servers[i].name);
		free(plan->servers[i].error);
		free(plan->servers[i].state);
	}
	free(plan->servers);
	free(plan->refused);
	memset(plan, 0, sizeof(*plan));
}
