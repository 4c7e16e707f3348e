/*
 * observe.c - read what every Incus server of a fleet holds, all servers at
 * once, a fixed number of requests each (see observe.h for the format and
 * the request list).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "incus/observe.h"
#include "incus/connect.h"
#include "util/parallel.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_PROJECTS 10000	/* per-project fallback listings */
#define MAX_MEMBERS 1000
#define MAX_POOLS 1000

struct server {
	struct incus_target t;		/* name, kind, pin, endpoints */
	json_t *result;			/* filled by the worker */
};

struct work {
	struct server *v;
	size_t n;
	const struct observe_opts *o;
};

static int
has_extension(json_t *server, const char *ext)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(server, "api_extensions"), i, v) {
		const char *s = json_string_value(v);

		if (s && strcmp(s, ext) == 0)
			return 1;
	}
	return 0;
}

/* GET a list: an array (empty for a null metadata); NULL with err. */
static json_t *
get_list(struct incus_conn *c, const char *path, struct berr *err)
{
	json_t *v = incus_get(c, path, err);

	if (!v)
		return NULL;
	if (json_is_null(v)) {
		json_decref(v);
		return json_array();
	}
	if (!json_is_array(v)) {
		json_decref(v);
		berr_set(err, "GET %s: want a list, have another JSON value", path);
		return NULL;
	}
	return v;
}

static json_t *
get_object(struct incus_conn *c, const char *path, struct berr *err)
{
	json_t *v = incus_get(c, path, err);

	if (v && !json_is_object(v)) {
		json_decref(v);
		berr_set(err, "GET %s: want an object, have another JSON value", path);
		return NULL;
	}
	return v;
}

/*
 * Objects of every project: one request with all-projects=true when the
 * server has ext, otherwise one per project (only the projects whose
 * feature flag, when given, is "true", plus default; each object gets its
 * "project").
 */
static json_t *
get_all_projects(struct incus_conn *c, json_t *server, json_t *projects,
		 const char *what, const char *ext, const char *feature,
		 struct berr *err)
{
	struct buf path = BUF_INIT;
	json_t *all, *p, *list, *o;
	size_t i, j;

	if (has_extension(server, ext)) {
		buf_addf(&path, "/1.0/%s?recursion=1&all-projects=true", what);
		all = get_list(c, path.buf, err);
		buf_release(&path);
		return all;
	}
	if (json_array_size(projects) > MAX_PROJECTS) {
		berr_set(err, "%zu projects: over the limit of %d",
			 json_array_size(projects), MAX_PROJECTS);
		return NULL;
	}
	all = json_array();
	json_array_foreach(projects, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *on;

		if (!name)
			continue;
		if (feature && strcmp(name, "default") != 0) {
			on = json_string_value(json_object_get(json_object_get(p, "config"), feature));
			if (!on || strcmp(on, "true") != 0)
				continue;
		}
		buf_reset(&path);
		buf_addf(&path, "/1.0/%s?recursion=1&project=", what);
		incus_path_escape(&path, name);
		list = get_list(c, path.buf, err);
		if (!list) {
			json_decref(all);
			buf_release(&path);
			return NULL;
		}
		json_array_foreach(list, j, o) {
			if (json_is_object(o) && !json_object_get(o, "project"))
				json_object_set_new(o, "project", json_string(name));
		}
		json_array_extend(all, list);
		json_decref(list);
	}
	buf_release(&path);
	return all;
}

/* Everything of one server through c; 0, or -1 with err. */
static int
observe_with(struct incus_conn *c, const struct server *s, json_t *out,
	     json_t *server, struct berr *err)
{
	json_t *v, *projects, *members, *m, *pool, *resources;
	struct buf path = BUF_INIT;
	size_t i, j;
	int ret = -1;

	json_object_set(out, "server", server);

	if (!(v = get_list(c, "/1.0/storage-pools?recursion=1", err)))
		goto out;
	json_object_set_new(out, "storage_pools", v);
	if (!(projects = get_list(c, "/1.0/projects?recursion=1", err)))
		goto out;
	json_object_set_new(out, "projects", projects);
	if (!(v = get_all_projects(c, server, projects, "profiles",
				   "profiles_all_projects", "features.profiles", err)))
		goto out;
	json_object_set_new(out, "profiles", v);
	if (!(v = get_all_projects(c, server, projects, "images",
				   "images_all_projects", "features.images", err)))
		goto out;
	json_object_set_new(out, "images", v);
	if (!(v = get_all_projects(c, server, projects, "instances",
				   "instance_all_projects", NULL, err)))
		goto out;
	json_object_set_new(out, "instances", v);

	resources = json_object();
	json_object_set_new(out, "resources", resources);
	if (!s->t.is_cluster) {
		if (!(v = get_object(c, "/1.0/resources", err)))
			goto out;
		json_object_set_new(resources, s->t.name, v);
		ret = 0;
		goto out;
	}

	if (!(members = get_list(c, "/1.0/cluster/members?recursion=1", err)))
		goto out;
	json_object_set_new(out, "members", members);
	if (json_array_size(members) > MAX_MEMBERS) {
		berr_set(err, "%zu cluster members: over the limit of %d",
			 json_array_size(members), MAX_MEMBERS);
		goto out;
	}
	if (has_extension(server, "clustering_groups")) {
		if (!(v = get_list(c, "/1.0/cluster/groups?recursion=1", err)))
			goto out;
		json_object_set_new(out, "groups", v);
	}
	if (json_array_size(json_object_get(out, "storage_pools")) > MAX_POOLS) {
		berr_set(err, "%zu storage pools: over the limit of %d",
			 json_array_size(json_object_get(out, "storage_pools")), MAX_POOLS);
		goto out;
	}
	v = json_object();
	json_object_set_new(out, "storage_pool_members", v);
	json_array_foreach(members, i, m) {
		const char *mname = json_string_value(json_object_get(m, "server_name"));
		json_t *pools, *r;

		if (!mname)
			continue;
		buf_reset(&path);
		buf_addstr(&path, "/1.0/resources?target=");
		incus_path_escape(&path, mname);
		if (!(r = get_object(c, path.buf, err)))
			goto out;
		json_object_set_new(resources, mname, r);

		/*
		 * Incus 6.0 ignores ?target= on the storage pool list: the
		 * member-specific keys (source, size, ...) are only in the
		 * pool's own GET with ?target=.
		 */
		pools = json_array();
		json_object_set_new(v, mname, pools);
		json_array_foreach(json_object_get(out, "storage_pools"), j, pool) {
			const char *pname = json_string_value(json_object_get(pool, "name"));
			json_t *p;

			if (!pname)
				continue;
			buf_reset(&path);
			buf_addstr(&path, "/1.0/storage-pools/");
			incus_path_escape(&path, pname);
			buf_addstr(&path, "?target=");
			incus_path_escape(&path, mname);
			if (!(p = get_object(c, path.buf, err)))
				goto out;
			json_array_append_new(pools, p);
		}
	}
	ret = 0;
out:
	buf_release(&path);
	return ret;
}

static void
set_stats(json_t *out, unsigned long requests, unsigned long long bytes, long ms)
{
	json_object_set_new(out, "stats",
			    json_pack("{s:I, s:I, s:I}",
				      "requests", (json_int_t)requests,
				      "bytes", (json_int_t)bytes,
				      "ms", (json_int_t)ms));
}

static json_t *
observe_server(const struct server *s, const struct observe_opts *o)
{
	const struct incus_target *t = &s->t;
	json_t *out = json_object(), *server = NULL;
	unsigned long requests = 0, r;
	unsigned long long bytes = 0, b;
	long t0 = clock_mono_ms();
	struct incus_conn *c;
	struct berr err;
	size_t used = 0;

	c = incus_target_connect(t, o->identity, o->incus, &server, &used, &requests, &bytes,
				 &err);
	json_object_set_new(out, "kind", json_string(t->is_cluster ? "cluster" : "host"));
	json_object_set_new(out, "endpoint",
			    json_string(t->nendpoints ? t->endpoints[c ? used : 0] : ""));
	json_object_set_new(out, "error", json_null());
	if (c) {
		/* the server answered: its verdict stands */
		if (observe_with(c, s, out, server, &err) < 0) {
			json_t *keep_kind = json_incref(json_object_get(out, "kind"));
			json_t *keep_ep = json_incref(json_object_get(out, "endpoint"));

			json_object_clear(out);
			json_object_set_new(out, "kind", keep_kind);
			json_object_set_new(out, "endpoint", keep_ep);
			json_object_set_new(out, "error", json_string(err.msg));
		}
		json_decref(server);
		incus_conn_stats(c, &r, &b);
		requests += r;
		bytes += b;
		incus_conn_free(c);
	} else {
		json_object_set_new(out, "error", json_string(err.msg));
	}
	set_stats(out, requests, bytes, clock_mono_ms() - t0);
	return out;
}

static void
observe_one_server(void *ctx, size_t i)
{
	struct work *w = ctx;

	w->v[i].result = observe_server(&w->v[i], w->o);
}

static int
wanted(const struct observe_opts *o, const char *name)
{
	size_t i;

	if (!o->only)
		return 1;
	for (i = 0; i < o->nonly; i++)
		if (strcmp(o->only[i], name) == 0)
			return 1;
	return 0;
}

/* The servers to observe: standalone hosts, then clusters. */
static struct server *
collect(const struct fleet *f, const struct observe_opts *o, size_t *n)
{
	struct server *v = xcalloc(f->nhosts + f->nclusters + 1, sizeof(*v));
	size_t i, j, k = 0;

	for (i = 0; i < f->nhosts; i++) {
		const struct m_host *h = &f->hosts[i];

		if (h->cluster_name && fleet_cluster(f, h->cluster_name))
			continue;	/* observed through its cluster */
		if (!wanted(o, h->meta.name))
			continue;
		incus_target_init(&v[k++].t, f, h->meta.name, 0);
	}
	for (i = 0; i < f->nclusters; i++) {
		const struct m_cluster *cl = &f->clusters[i];
		int want = wanted(o, cl->meta.name);

		for (j = 0; j < f->nhosts && !want; j++)
			if (f->hosts[j].cluster_name &&
			    strcmp(f->hosts[j].cluster_name, cl->meta.name) == 0 &&
			    wanted(o, f->hosts[j].meta.name))
				want = 1;
		if (!want)
			continue;
		incus_target_init(&v[k++].t, f, cl->meta.name, 1);
	}
	*n = k;
	return v;
}

json_t *
observe_fleet(const struct fleet *f, const struct observe_opts *o,
	      struct berr *err)
{
	struct work w;
	json_t *obs, *servers;
	size_t i;

	incus_global_init();
	/* jansson seeds its hash function on first use: not in a thread */
	obs = json_object();
	servers = json_object();
	json_object_set_new(obs, "format_version", json_string("1.0"));
	json_object_set_new(obs, "servers", servers);

	memset(&w, 0, sizeof(w));
	w.v = collect(f, o, &w.n);
	w.o = o;
	if (parallel_run(w.n, o->parallel, observe_one_server, &w) < 0) {
		berr_set(err, "cannot start a thread to observe the fleet");
		json_decref(obs);
		obs = NULL;
		goto out;
	}
	for (i = 0; i < w.n; i++)
		json_object_set_new(servers, w.v[i].t.name, w.v[i].result);
out:
	for (i = 0; i < w.n; i++)
		incus_target_release(&w.v[i].t);
	free(w.v);
	return obs;
}
