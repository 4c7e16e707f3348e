/*
 * connect.c - a host or cluster of the manifests, reached through the
 * first of its endpoints that answers (see connect.h).
 */
#include <stdlib.h>
#include <string.h>

#include "incus/connect.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static void
add_endpoint(struct incus_target *t, const char *ep)
{
	size_t i;

	if (!ep || !*ep)
		return;
	for (i = 0; i < t->nendpoints; i++)
		if (!strcmp(t->endpoints[i], ep))
			return;
	t->endpoints = xreallocarray(t->endpoints, t->nendpoints + 1, sizeof(*t->endpoints));
	t->endpoints[t->nendpoints++] = ep;
}

void
incus_target_init(struct incus_target *t, const struct fleet *f, const char *name,
		  int is_cluster)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->name = name;
	t->is_cluster = is_cluster;
	if (is_cluster) {
		const struct m_cluster *c = fleet_cluster(f, name);

		if (!c)
			return;
		t->fingerprint = c->fingerprint;
		add_endpoint(t, c->endpoint);
		for (i = 0; i < f->nhosts; i++)
			if (f->hosts[i].cluster_name && !strcmp(f->hosts[i].cluster_name, name))
				add_endpoint(t, f->hosts[i].endpoint);
	} else {
		const struct m_host *h = fleet_host(f, name);

		if (!h)
			return;
		t->fingerprint = h->fingerprint;
		add_endpoint(t, h->endpoint);
	}
}

void
incus_target_release(struct incus_target *t)
{
	free(t->endpoints);
	t->endpoints = NULL;
	t->nendpoints = 0;
}

struct incus_conn *
incus_target_connect(const struct incus_target *t, const struct incus_identity *id,
		     const struct incus_opts *o, json_t **info, size_t *used,
		     unsigned long *requests, unsigned long long *bytes, struct berr *err)
{
	struct buf errs = BUF_INIT;
	size_t i, tried = 0;

	if (info)
		*info = NULL;
	if (!t->nendpoints) {
		berr_set(err, "%s \"%s\": not in the manifests, or without an endpoint",
			 t->is_cluster ? "cluster" : "host", t->name);
		return NULL;
	}
	for (i = 0; i < t->nendpoints; i++) {
		struct incus_conn *c = incus_conn_new(t->name, t->endpoints[i], t->fingerprint, id,
						      o, err);
		unsigned long r;
		unsigned long long b;
		json_t *v;
		int unreachable;

		if (!c)
			break;
		if (t->is_cluster)
			incus_conn_set_kind(c, "cluster");
		tried++;
		v = incus_get(c, "/1.0", err);
		if (v && !json_is_object(v)) {
			json_decref(v);
			v = NULL;
			berr_set(err, "GET /1.0: want an object, have another JSON value");
		}
		if (v) {
			if (info)
				*info = v;
			else
				json_decref(v);
			if (used)
				*used = i;
			buf_release(&errs);
			return c;
		}
		incus_conn_stats(c, &r, &b);
		if (requests)
			*requests += r;
		if (bytes)
			*bytes += b;
		if (errs.len)
			buf_addstr(&errs, "; ");
		buf_addstr(&errs, err->msg);
		unreachable = incus_conn_unreachable(c);
		incus_conn_free(c);
		if (!unreachable)
			break;
	}
	if (t->is_cluster && tried > 1)
		berr_set(err, "cluster \"%s\": no member answered: %s", t->name, errs.buf);
	buf_release(&errs);
	return NULL;
}
