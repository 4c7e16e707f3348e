/*
 * check.c - the rules across documents. check.h lists every rule with the
 * function here that enforces it; each function's comment names its rules.
 * The functions also resolve the references they check, so the model's
 * pointers are set when fleet_check() returns (NULL where one did not
 * resolve).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/check.h"
#include "manifest/path.h"
#include "util/buf.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Names are unique per kind; the second one is an error naming the first. */
static void
unique_names(struct fleet *f, struct diags *d)
{
	json_t *seen[KIND__COUNT];
	size_t i;
	int k;

	for (k = 0; k < KIND__COUNT; k++)
		seen[k] = json_object();
	for (i = 0; i < f->docs.n; i++) {
		const struct mdoc *doc = &f->docs.v[i];
		const char *kn = json_string_value(json_object_get(doc->root, "kind"));
		const char *name = json_string_value(json_object_get(
			json_object_get(doc->root, "metadata"), "name"));
		json_t *first;

		k = kn ? kind_from_name(kn) : -1;
		if (k < 0 || k == KIND_FLEET || !name)
			continue;	/* a second Fleet is fleet_once()'s */
		first = json_object_get(seen[k], name);
		if (first) {
			const struct mdoc *o = &f->docs.v[json_integer_value(first)];
			struct mark m = mdoc_mark(o, "metadata.name");

			diag_at(d, DIAG_ERROR, doc, "metadata.name",
				"duplicate %s name \"%s\" (first declared at %s:%u:%u)",
				kn, name, o->file, m.line, m.col);
			continue;
		}
		json_object_set_new(seen[k], name, json_integer((json_int_t)i));
	}
	for (k = 0; k < KIND__COUNT; k++)
		json_decref(seen[k]);
}

static int
is_platform(const struct meta *m)
{
	return !strcmp(m->provider, "platform");
}

/*
 * Is target another provider's, seen from owner? The platform's objects
 * may refer to anyone's, and anyone's to the platform's.
 */
static int
foreign(const struct meta *owner, const struct meta *target)
{
	return !is_platform(owner) && !is_platform(target) &&
	       strcmp(owner->provider, target->provider);
}

/* metadata.provider names a Provider, or is "platform". */
static void
providers_exist(struct fleet *f, struct diags *d)
{
	size_t i;

	for (i = 0; i < f->docs.n; i++) {
		const struct mdoc *doc = &f->docs.v[i];
		json_t *md = json_object_get(doc->root, "metadata");
		const char *p = json_string_value(json_object_get(md, "provider"));

		if (p && strcmp(p, "platform") && !fleet_provider(f, p))
			diag_at(d, DIAG_ERROR, doc, "metadata.provider",
				"unknown provider \"%s\": want the name of a Provider "
				"declared in the manifests, or \"platform\"", p);
	}
}

/* providers/<p>/...: <p> into out (NUL-terminated), or 0 when not such a file. */
static int
provider_dir(const char *file, char *out, size_t outlen)
{
	const char *p = file, *slash;

	if (!strncmp(p, "providers/", 10))
		p += 10;
	else if ((p = strstr(file, "/providers/")))
		p += 11;
	else
		return 0;
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= outlen || slash == p)
		return 0;
	memcpy(out, p, (size_t)(slash - p));
	out[slash - p] = '\0';
	return 1;
}

/* Files under providers/<p>/ declare only Host, Plan and Instance objects of <p>. */
static void
provider_files(struct fleet *f, struct diags *d)
{
	size_t i;

	for (i = 0; i < f->docs.n; i++) {
		const struct mdoc *doc = &f->docs.v[i];
		const char *kn = json_string_value(json_object_get(doc->root, "kind"));
		json_t *md = json_object_get(doc->root, "metadata");
		const char *owner = json_string_value(json_object_get(md, "provider"));
		char p[64];

		if (!kn || !provider_dir(doc->file, p, sizeof(p)))
			continue;
		if (strcmp(kn, "Host") && strcmp(kn, "Plan") && strcmp(kn, "Instance")) {
			diag_at(d, DIAG_ERROR, doc, "kind",
				"a file under providers/%s/ may declare only Host, Plan "
				"and Instance objects, have %s", p, kn);
			continue;
		}
		if (!owner || strcmp(owner, p))
			diag_at(d, DIAG_ERROR, doc, "metadata.provider",
				"want provider \"%s\" (files under providers/%s/ declare "
				"objects of that provider), have %s%s%s", p, p,
				owner ? "\"" : "", owner ? owner : "none (platform)",
				owner ? "\"" : "");
	}
}

/*
 * At most one Fleet: a second is an error naming the first. The Fleet is
 * the platform's: it names no provider (one under providers/<p>/ is
 * provider_files()'s error).
 */
static void
fleet_once(struct fleet *f, struct diags *d)
{
	const struct m_fleet *first = fleet_settings(f);
	size_t i;

	for (i = 0; i < f->nsettings; i++) {
		const struct m_fleet *fl = &f->settings[i];
		char p[64];

		if (i > 0) {
			struct mark m = mdoc_mark(first->meta.doc, "metadata.name");

			diag_at(d, DIAG_ERROR, fl->meta.doc, "metadata.name",
				"second Fleet \"%s\": want at most one Fleet in the manifests,"
				" have \"%s\" too (%s:%u:%u)", fl->meta.name, first->meta.name,
				first->meta.doc->file, m.line, m.col);
		}
		if (!is_platform(&fl->meta) && !provider_dir(fl->meta.doc->file, p, sizeof(p)))
			diag_at(d, DIAG_ERROR, fl->meta.doc, "metadata.provider",
				"want no provider on a Fleet (the fleet's settings are the"
				" platform's), have \"%s\"", fl->meta.provider);
	}
}

static int
labels_match(json_t *want, json_t *have)
{
	const char *k;
	json_t *v;

	json_object_foreach(want, k, v) {
		json_t *h = json_object_get(have, k);

		if (!h || !json_equal(h, v))
			return 0;
	}
	return 1;
}

/*
 * os: debian-11 and unknown OSes are warnings; Host.cluster names a Cluster
 * (resolved, and the host added to its members), whose members declare no
 * storage pools or projects; a cluster without members is a warning; the
 * members of a cluster storage pool are members of that cluster.
 */
static void
hosts_and_clusters(struct fleet *f, struct diags *d)
{
	size_t i, j;

	for (i = 0; i < f->nhosts; i++) {
		struct m_host *h = &f->hosts[i];
		const struct mdoc *doc = h->meta.doc;

		if (h->os && !strcmp(h->os, "debian-11"))
			diag_at(d, DIAG_WARNING, doc, "spec.os",
				"debian-11 is accepted for compatibility only: want "
				"debian-12, debian-13 or ubuntu-22.04 and later");
		else if (h->os && strcmp(h->os, "debian-12") && strcmp(h->os, "debian-13") &&
			 strcmp(h->os, "ubuntu-22.04") && strcmp(h->os, "ubuntu-24.04") &&
			 strcmp(h->os, "ubuntu-26.04"))
			diag_at(d, DIAG_WARNING, doc, "spec.os",
				"unknown OS \"%s\": berth knows debian-12, debian-13, "
				"ubuntu-22.04, ubuntu-24.04 and ubuntu-26.04", h->os);
		/* A provider's host is in no cluster (provider_hosts()). */
		if (!h->cluster_name || !is_platform(&h->meta))
			continue;
		h->cluster = fleet_cluster(f, h->cluster_name);
		if (!h->cluster) {
			diag_at(d, DIAG_ERROR, doc, "spec.cluster",
				"unknown cluster \"%s\": want the name of a Cluster "
				"declared in the manifests", h->cluster_name);
			continue;
		}
		if (h->nstorage_pools)
			diag_at(d, DIAG_ERROR, doc, "spec.storage_pools",
				"host is a member of cluster \"%s\": declare storage "
				"pools on the Cluster, not on its members", h->cluster_name);
		if (h->nprojects)
			diag_at(d, DIAG_ERROR, doc, "spec.projects",
				"host is a member of cluster \"%s\": declare projects "
				"on the Cluster, not on its members", h->cluster_name);
		h->cluster->members = xreallocarray(h->cluster->members,
						    h->cluster->nmembers + 1,
						    sizeof(*h->cluster->members));
		h->cluster->members[h->cluster->nmembers++] = h;
	}
	for (i = 0; i < f->nclusters; i++) {
		struct m_cluster *c = &f->clusters[i];

		if (!c->nmembers)
			diag_at(d, DIAG_WARNING, c->meta.doc, "metadata.name",
				"cluster \"%s\" has no members: no Host names it in "
				"spec.cluster", c->meta.name);
		for (j = 0; j < c->nstorage_pools; j++) {
			const struct m_storage_pool *sp = &c->storage_pools[j];
			const char *member;
			json_t *v;

			json_object_foreach(sp->members, member, v) {
				struct m_host *h = fleet_host(f, member);
				struct buf p = BUF_INIT;

				if (h && h->cluster == c)
					continue;
				buf_addf(&p, "spec.storage_pools[%zu].members", j);
				path_push_key(&p, member, strlen(member));
				diag_at(d, DIAG_ERROR, c->meta.doc, p.buf,
					"\"%s\" is not a member of cluster \"%s\": want a "
					"Host whose spec.cluster is \"%s\"", member,
					c->meta.name, c->meta.name);
				buf_release(&p);
			}
		}
	}
}

/* The path spec.approvals.<host> (the key quoted when it must be) into p. */
static void
approval_path(struct buf *p, const char *host)
{
	buf_addstr(p, "spec.approvals");
	path_push_key(p, host, strlen(host));
}

/*
 * The approvals of Provider spec.approvals name hosts of that provider
 * (a name no Host has is a warning); one holds for its host while the
 * host pins the approved fingerprint, and then sets the host's review and
 * approval (another fingerprint is a warning: the host stays pending).
 */
static void
approvals(struct fleet *f, struct diags *d)
{
	size_t i, j;

	for (i = 0; i < f->nproviders; i++) {
		const struct m_provider *p = &f->providers[i];

		if (fleet_provider(f, p->meta.name) != p)
			continue;	/* a duplicate name, reported */
		for (j = 0; j < p->napprovals; j++) {
			const struct m_approval *a = &p->approvals[j];
			struct m_host *h = fleet_host(f, a->host);
			struct buf path = BUF_INIT;
			struct mark m;

			approval_path(&path, a->host);
			if (!h) {
				diag_at(d, DIAG_WARNING, p->meta.doc, path.buf,
					"unknown host \"%s\": want the name of a Host of "
					"provider \"%s\" declared in the manifests (the "
					"approval holds for no host)", a->host, p->meta.name);
			} else if (is_platform(&h->meta)) {
				diag_at(d, DIAG_ERROR, p->meta.doc, path.buf,
					"host \"%s\" is the platform's: want a host of "
					"provider \"%s\" (the platform's own hosts set "
					"spec.review)", a->host, p->meta.name);
			} else if (strcmp(h->meta.provider, p->meta.name)) {
				diag_at(d, DIAG_ERROR, p->meta.doc, path.buf,
					"host \"%s\" belongs to provider \"%s\": want a "
					"host of provider \"%s\" (approve it in "
					"spec.approvals of Provider \"%s\")", a->host,
					h->meta.provider, p->meta.name, h->meta.provider);
			} else if (h->fingerprint && a->fingerprint &&
				   strcmp(h->fingerprint, a->fingerprint)) {
				m = mdoc_mark(p->meta.doc, path.buf);
				diag_at(d, DIAG_WARNING, h->meta.doc, "spec.fingerprint",
					"host \"%s\" is pending: want \"%s\", the "
					"fingerprint the platform approved (%s:%u:%u), "
					"have \"%s\": a new certificate needs a new "
					"approval", h->meta.name, a->fingerprint,
					p->meta.doc->file, m.line, m.col, h->fingerprint);
			} else if (h->fingerprint && a->fingerprint) {
				h->approval = a;
				h->review = a->review;
			}
			buf_release(&path);
		}
	}
}

/*
 * adopt: true on h's spec.<list>[i], h being a provider's host its
 * approval does not allow it.
 */
static void
adopt_refused(const struct fleet *f, const struct m_host *h, const char *list,
	      size_t i, struct diags *d)
{
	const struct m_provider *p = fleet_provider(f, h->meta.provider);
	struct buf ap = BUF_INIT;
	char path[64];
	struct mark m;

	snprintf(path, sizeof(path), "spec.%s[%zu].adopt", list, i);
	approval_path(&ap, h->meta.name);
	if (h->approval && p) {
		m = mdoc_mark(p->meta.doc, ap.buf);
		diag_at(d, DIAG_ERROR, h->meta.doc, path,
			"want false: the platform's approval of host \"%s\" (%s:%u:%u) "
			"does not allow adopt, have true", h->meta.name,
			p->meta.doc->file, m.line, m.col);
	} else {
		diag_at(d, DIAG_ERROR, h->meta.doc, path,
			"want false: host \"%s\" of provider \"%s\" has no approval "
			"that allows adopt (adopt: true in %s of Provider \"%s\"), "
			"have true", h->meta.name, h->meta.provider, ap.buf,
			h->meta.provider);
	}
	buf_release(&ap);
}

/*
 * A provider's host sets no review of its own (the platform's approval
 * is its review), is reached over https (a unix socket is a server on the
 * control host), is in no cluster (clusters are the platform's), and
 * adopts existing storage pools and projects only when its approval
 * allows it.
 */
static void
provider_hosts(struct fleet *f, struct diags *d)
{
	size_t i, j;

	for (i = 0; i < f->nhosts; i++) {
		const struct m_host *h = &f->hosts[i];
		const struct mdoc *doc = h->meta.doc;
		const char *p = h->meta.provider;
		json_t *spec = json_object_get(doc->root, "spec");
		const char *review = json_string_value(json_object_get(spec, "review"));

		if (is_platform(&h->meta))
			continue;
		if (review)
			diag_at(d, DIAG_ERROR, doc, "spec.review",
				"want no review on a host of provider \"%s\" (the "
				"platform reviews it in spec.approvals of Provider "
				"\"%s\"), have \"%s\"", p, p, review);
		if (h->endpoint && strncmp(h->endpoint, "https://", 8))
			diag_at(d, DIAG_ERROR, doc, "spec.endpoint",
				"want an https endpoint on a host of provider \"%s\" "
				"(a unix socket is a server on the control host), "
				"have \"%s\"", p, h->endpoint);
		if (h->cluster_name)
			diag_at(d, DIAG_ERROR, doc, "spec.cluster",
				"want no cluster on a host of provider \"%s\" "
				"(clusters are the platform's), have \"%s\"", p,
				h->cluster_name);
		if (h->approval && h->approval->adopt)
			continue;
		for (j = 0; j < h->nstorage_pools; j++)
			if (h->storage_pools[j].adopt)
				adopt_refused(f, h, "storage_pools", j, d);
		for (j = 0; j < h->nprojects; j++)
			if (h->projects[j].adopt)
				adopt_refused(f, h, "projects", j, d);
	}
}

/* A Host or a Cluster: one Incus server (or cluster) berth talks to. */
struct server {
	const struct meta *meta;
	const char *kind;		/* "host", "cluster" */
	const char *endpoint;
	const char *fingerprint;	/* may be NULL */
	const struct m_cluster *cluster;	/* itself, or a member's cluster */
	const void *cert;		/* who holds its certificate: its cluster, or itself */
};

/*
 * An endpoint as servers compare it: an https host lowercased, with its
 * port (443, libcurl's, when none is given); a unix socket as written.
 */
static void
endpoint_key(const char *ep, struct buf *out)
{
	const char *hp = ep + 8, *colon, *bracket;
	size_t i;

	buf_reset(out);
	if (strncmp(ep, "https://", 8)) {
		buf_addstr(out, ep);
		return;
	}
	buf_addstr(out, "https://");
	for (i = 0; hp[i]; i++)
		buf_addch(out, hp[i] >= 'A' && hp[i] <= 'Z' ? hp[i] - 'A' + 'a' : hp[i]);
	colon = strrchr(hp, ':');
	bracket = strrchr(hp, ']');
	if (!colon || (bracket && colon < bracket))
		buf_addstr(out, ":443");
}

/* The server of key in map, or NULL. */
static const struct server *
server_at(json_t *map, const char *key, const struct server *v)
{
	json_t *i = json_object_get(map, key);

	return i ? &v[json_integer_value(i)] : NULL;
}

/* The first server of key in map, or NULL when s (number i) is: then it is added. */
static const struct server *
first_of(json_t *map, const char *key, const struct server *v, size_t i)
{
	const struct server *o = server_at(map, key, v);

	if (!o)
		json_object_set_new(map, key, json_integer((json_int_t)i));
	return o;
}

/* s has the value have of field, which o, declared first, has too. */
static void
same_as(const struct server *s, const struct server *o, const char *field,
	const char *have, struct diags *d)
{
	/* a platform host with a cluster's certificate may be a member not saying so */
	int member = !strcmp(field, "fingerprint") && !strcmp(s->kind, "host") &&
		     is_platform(s->meta) && o->cluster;
	char path[32];
	struct mark m;

	snprintf(path, sizeof(path), "spec.%s", field);
	m = mdoc_mark(o->meta->doc, path);
	diag_at(d, DIAG_ERROR, s->meta->doc, path,
		"want %s no other host or cluster has, have \"%s\", the %s of %s "
		"\"%s\" (%s:%u:%u)%s%s%s",
		!strcmp(field, "endpoint") ? "an endpoint" : "a fingerprint", have,
		field, o->kind, o->meta->name, o->meta->doc->file, m.line, m.col,
		member ? ": a member of cluster \"" : "",
		member ? o->cluster->meta.name : "",
		member ? "\" says so in spec.cluster" : "");
}

/*
 * Every Host and Cluster is its own server: two with the same endpoint or
 * the same fingerprint are an error on the later one, naming the first.
 * A cluster's members share its certificate, and one of them may be the
 * cluster's endpoint. Hosts and clusters of a duplicate name are left
 * out (reported already).
 */
static void
servers(struct fleet *f, struct diags *d)
{
	struct server *v = xcalloc(f->nhosts + f->nclusters + 1, sizeof(*v));
	json_t *host_ep = json_object(), *cluster_ep = json_object(), *fps = json_object();
	struct buf key = BUF_INIT;
	size_t i, h = 0, c = 0, n = 0;

	/* Hosts and clusters in document order, each array being in it. */
	while (h < f->nhosts || c < f->nclusters) {
		int host = c == f->nclusters ||
			   (h < f->nhosts && f->hosts[h].meta.doc < f->clusters[c].meta.doc);
		struct server *s = &v[n];

		if (host) {
			const struct m_host *x = &f->hosts[h++];

			if (fleet_host(f, x->meta.name) != x)
				continue;
			*s = (struct server){ &x->meta, "host", x->endpoint, x->fingerprint,
					      x->cluster, x->cluster ? (const void *)x->cluster
								   : (const void *)x };
		} else {
			const struct m_cluster *x = &f->clusters[c++];

			if (fleet_cluster(f, x->meta.name) != x)
				continue;
			*s = (struct server){ &x->meta, "cluster", x->endpoint, x->fingerprint,
					      x, x };
		}
		if (s->endpoint)
			n++;
	}
	for (i = 0; i < n; i++) {
		const struct server *s = &v[i], *o;
		int is_cluster = !strcmp(s->kind, "cluster");

		endpoint_key(s->endpoint, &key);
		/* the same kind: never; the other: unless s is or is in its cluster */
		o = first_of(is_cluster ? cluster_ep : host_ep, key.buf, v, i);
		if (!o && (o = server_at(is_cluster ? host_ep : cluster_ep, key.buf, v)) &&
		    o->cluster == s->cluster)
			o = NULL;
		if (o)
			same_as(s, o, "endpoint", s->endpoint, d);
		if (s->fingerprint && (o = first_of(fps, s->fingerprint, v, i)) &&
		    o->cert != s->cert)
			same_as(s, o, "fingerprint", s->fingerprint, d);
	}
	buf_release(&key);
	json_decref(host_ep);
	json_decref(cluster_ep);
	json_decref(fps);
	free(v);
}

static int
declares_storage_pool(const struct m_host *h, const char *name)
{
	const struct m_storage_pool *v = h->cluster ? h->cluster->storage_pools : h->storage_pools;
	size_t n = h->cluster ? h->cluster->nstorage_pools : h->nstorage_pools, i;

	for (i = 0; i < n; i++)
		if (v[i].name && !strcmp(v[i].name, name))
			return 1;
	return 0;
}

/*
 * Pool.hosts.names name Hosts, of the pool's provider or the platform; the
 * selection (names and labels) is resolved into pool->hosts, and each host
 * in it declares the pool's storage pool (or its cluster does); a pool that
 * selects no host is a warning.
 */
static void
pools(struct fleet *f, struct diags *d)
{
	size_t i, j;

	for (i = 0; i < f->npools; i++) {
		struct m_pool *p = &f->pools[i];
		const struct mdoc *doc = p->meta.doc;
		size_t alloc = 0;

		for (j = 0; j < p->nselect_names; j++) {
			const struct m_host *h = fleet_host(f, p->select_names[j]);
			char path[64];

			snprintf(path, sizeof(path), "spec.hosts.names[%zu]", j);
			if (!h)
				diag_at(d, DIAG_ERROR, doc, path,
					"unknown host \"%s\": want the name of a Host "
					"declared in the manifests", p->select_names[j]);
			else if (foreign(&p->meta, &h->meta))
				diag_at(d, DIAG_ERROR, doc, path,
					"host \"%s\" belongs to provider \"%s\": a pool of "
					"provider \"%s\" may name only its own or the "
					"platform's hosts", h->meta.name, h->meta.provider,
					p->meta.provider);
		}
		for (j = 0; j < f->nhosts; j++) {
			struct m_host *h = &f->hosts[j];
			int sel = 0;
			size_t n;

			for (n = 0; n < p->nselect_names; n++)
				if (!strcmp(p->select_names[n], h->meta.name))
					sel = 1;
			if (p->select_labels && json_object_size(p->select_labels) &&
			    labels_match(p->select_labels, h->meta.labels))
				sel = 1;
			if (!sel)
				continue;
			ALLOC_GROW(p->hosts, p->nhosts + 1, alloc);
			p->hosts[p->nhosts++] = h;
			if (p->storage_pool && !declares_storage_pool(h, p->storage_pool))
				diag_at(d, DIAG_ERROR, doc, "spec.storage_pool",
					"storage pool \"%s\" is not declared on host \"%s\"%s%s%s: "
					"want it in that %s's spec.storage_pools (adopt: true "
					"links an existing one)", p->storage_pool, h->meta.name,
					h->cluster ? " (cluster \"" : "",
					h->cluster ? h->cluster->meta.name : "",
					h->cluster ? "\")" : "",
					h->cluster ? "Cluster" : "Host");
		}
		if (!p->nhosts)
			diag_at(d, DIAG_WARNING, doc, "spec.hosts",
				"pool \"%s\" selects no host", p->meta.name);
	}
}

/* Capacity of one resource of h in pool p: declared x overcommit - reserve. */
static uint64_t
usable(const struct m_pool *p, uint64_t declared, enum resource r)
{
	uint64_t m = p->overcommit_milli[r], v, bp = p->reserve_bp[r];

	if (m && declared > UINT64_MAX / m)
		v = UINT64_MAX;
	else
		v = declared * m / 1000;
	return v - ((v / 10000) * bp + (v % 10000) * bp / 10000);
}

/* The offer fits on at least one host of its (resolved) pool. */
static void
offer_fits(struct m_offer *pl, struct diags *d)
{
	struct m_pool *p = pl->pool;
	const struct m_host *best = NULL;
	uint64_t bc = 0, bm = 0, bd = 0;
	size_t i;
	char m1[32], d1[32], m2[32], d2[32];

	if (!p->nhosts)
		return;
	for (i = 0; i < p->nhosts; i++) {
		const struct m_host *h = p->hosts[i];
		uint64_t c = usable(p, h->capacity.cpu, RES_CPU);
		uint64_t m = usable(p, h->capacity.memory, RES_MEMORY);
		uint64_t dk = usable(p, h->capacity.disk, RES_DISK);

		if (c >= pl->cpu && m >= pl->memory && dk >= pl->disk)
			return;
		if (!best || m > bm) {
			best = h;
			bc = c;
			bm = m;
			bd = dk;
		}
	}
	format_size(pl->memory, m1, sizeof(m1));
	format_size(pl->disk, d1, sizeof(d1));
	format_size(bm, m2, sizeof(m2));
	format_size(bd, d2, sizeof(d2));
	diag_at(d, DIAG_ERROR, pl->meta.doc, "spec",
		"plan \"%s\" fits on no host of pool \"%s\": want %llu cpu, %s "
		"memory, %s disk; the largest host (\"%s\") has %llu cpu, %s memory, "
		"%s disk after overcommit and reserve", pl->meta.name, p->meta.name,
		(unsigned long long)pl->cpu, m1, d1, best->meta.name,
		(unsigned long long)bc, m2, d2);
}

static int
pool_has_provider_host(const struct m_pool *p, const char *provider)
{
	size_t i;

	for (i = 0; i < p->nhosts; i++)
		if (!strcmp(p->hosts[i]->meta.provider, provider))
			return 1;
	return 0;
}

/*
 * Plan.pool names a Pool (resolved), on which the offer fits and which, for
 * a provider's offer, holds a host of that provider; Plan.images name Images
 * (resolved) of the offer's type, cached on its pool.
 */
static void
offers(struct fleet *f, struct diags *d)
{
	size_t i, j;

	for (i = 0; i < f->noffers; i++) {
		struct m_offer *pl = &f->offers[i];
		const struct mdoc *doc = pl->meta.doc;

		pl->pool = fleet_pool(f, pl->pool_name);
		if (!pl->pool) {
			diag_at(d, DIAG_ERROR, doc, "spec.pool",
				"unknown pool \"%s\": want the name of a Pool declared "
				"in the manifests", pl->pool_name);
		} else {
			offer_fits(pl, d);
			if (!is_platform(&pl->meta) &&
			    !pool_has_provider_host(pl->pool, pl->meta.provider))
				diag_at(d, DIAG_ERROR, doc, "spec.pool",
					"pool \"%s\" has no host of provider \"%s\": a "
					"provider's plan draws only on pools that contain "
					"that provider's hosts", pl->pool_name, pl->meta.provider);
		}
		for (j = 0; j < pl->nimages; j++) {
			struct m_image *im = fleet_image(f, pl->image_names[j]);
			char path[64];
			size_t n;
			int cached = 0;

			snprintf(path, sizeof(path), "spec.images[%zu]", j);
			pl->images[j] = im;
			if (!im) {
				diag_at(d, DIAG_ERROR, doc, path,
					"unknown image \"%s\": want the name of an Image "
					"declared in the manifests", pl->image_names[j]);
				continue;
			}
			if (im->type != pl->type)
				diag_at(d, DIAG_ERROR, doc, path,
					"image \"%s\" is a %s image: want a %s image for a "
					"%s plan", im->meta.name,
					im->type == TYPE_VM ? "virtual-machine" : "container",
					pl->type == TYPE_VM ? "virtual-machine" : "container",
					pl->type == TYPE_VM ? "virtual-machine" : "container");
			for (n = 0; n < im->npools; n++)
				if (pl->pool_name && !strcmp(im->pool_names[n], pl->pool_name))
					cached = 1;
			if (pl->pool && !cached)
				diag_at(d, DIAG_ERROR, doc, path,
					"image \"%s\" is not cached on pool \"%s\": want "
					"\"%s\" in that Image's spec.pools", im->meta.name,
					pl->pool_name, pl->pool_name);
		}
	}
}

/* Image.pools name Pools (resolved). */
static void
images(struct fleet *f, struct diags *d)
{
	size_t i, j;

	for (i = 0; i < f->nimages; i++) {
		struct m_image *im = &f->images[i];

		for (j = 0; j < im->npools; j++) {
			char path[64];

			im->pools[j] = fleet_pool(f, im->pool_names[j]);
			if (im->pools[j])
				continue;
			snprintf(path, sizeof(path), "spec.pools[%zu]", j);
			diag_at(d, DIAG_ERROR, im->meta.doc, path,
				"unknown pool \"%s\": want the name of a Pool declared "
				"in the manifests", im->pool_names[j]);
		}
	}
}

/*
 * Instance.plan names a Plan of the instance's provider or the platform;
 * Instance.image names an Image its Plan offers (when the Plan lists any);
 * Instance.host names a Host that is not another provider's, in the Plan's
 * pool. All three are resolved.
 */
static void
instances(struct fleet *f, struct diags *d)
{
	size_t i, j;

	for (i = 0; i < f->ninstances; i++) {
		struct m_instance *in = &f->instances[i];
		const struct mdoc *doc = in->meta.doc;

		in->offer = fleet_offer(f, in->plan_name);
		in->image = fleet_image(f, in->image_name);
		in->host = in->host_name ? fleet_host(f, in->host_name) : NULL;
		if (!in->offer)
			diag_at(d, DIAG_ERROR, doc, "spec.plan",
				"unknown plan \"%s\": want the name of a Plan declared "
				"in the manifests", in->plan_name);
		else if (strcmp(in->offer->meta.provider, in->meta.provider) &&
			 !is_platform(&in->offer->meta))
			diag_at(d, DIAG_ERROR, doc, "spec.plan",
				"plan \"%s\" belongs to provider \"%s\": an instance of "
				"\"%s\" may use only its own or the platform's plans",
				in->plan_name, in->offer->meta.provider, in->meta.provider);
		if (!in->image) {
			diag_at(d, DIAG_ERROR, doc, "spec.image",
				"unknown image \"%s\": want the name of an Image declared "
				"in the manifests", in->image_name);
		} else if (in->offer && in->offer->nimages) {
			int offered = 0;

			for (j = 0; j < in->offer->nimages; j++)
				if (!strcmp(in->offer->image_names[j], in->image_name))
					offered = 1;
			if (!offered)
				diag_at(d, DIAG_ERROR, doc, "spec.image",
					"image \"%s\" is not offered by plan \"%s\": want "
					"one of its spec.images", in->image_name, in->plan_name);
		}
		if (!in->host_name)
			continue;
		if (!in->host) {
			diag_at(d, DIAG_ERROR, doc, "spec.host",
				"unknown host \"%s\": want the name of a Host declared "
				"in the manifests", in->host_name);
			continue;
		}
		if (foreign(&in->meta, &in->host->meta))
			diag_at(d, DIAG_ERROR, doc, "spec.host",
				"host \"%s\" belongs to provider \"%s\": a provider may "
				"not place instances on another provider's hosts",
				in->host_name, in->host->meta.provider);
		if (in->offer && in->offer->pool) {
			int member = 0;

			for (j = 0; j < in->offer->pool->nhosts; j++)
				if (in->offer->pool->hosts[j] == in->host)
					member = 1;
			if (!member)
				diag_at(d, DIAG_ERROR, doc, "spec.host",
					"host \"%s\" is not in pool \"%s\" of plan \"%s\"",
					in->host_name, in->offer->pool->meta.name, in->plan_name);
		}
	}
}

void
fleet_check(struct fleet *f, struct diags *d)
{
	unique_names(f, d);
	providers_exist(f, d);
	provider_files(f, d);
	fleet_once(f, d);
	hosts_and_clusters(f, d);
	approvals(f, d);
	provider_hosts(f, d);
	servers(f, d);
	pools(f, d);
	images(f, d);
	offers(f, d);
	instances(f, d);
}
