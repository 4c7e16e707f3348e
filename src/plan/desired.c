/*
 * desired.c - the objects the manifests want on one server, in the Incus
 * shapes apply will send: storage pools, projects, one profile plan-<name>
 * per offer (Plan manifest), images, cluster groups.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "plan/plan-int.h"
#include "util/buf.h"
#include "util/err.h"
#include "sched/status.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

/* Drivers tried, in order, for driver: auto. */
static const char *const auto_drivers[] = { "lvm", "zfs", "btrfs", "dir" };

int
pserver_in_pool(const struct pserver *s, const struct m_pool *p)
{
	size_t i;

	if (!p)
		return 0;
	for (i = 0; i < p->nhosts; i++) {
		if (s->host && p->hosts[i] == s->host)
			return 1;
		if (s->cluster && p->hosts[i]->cluster == s->cluster)
			return 1;
	}
	return 0;
}

static const char *
type_name(enum instance_type t)
{
	return t == TYPE_VM ? "virtual-machine" : "container";
}

void
offer_version(const struct m_offer *p, char out[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	struct buf b = BUF_INIT;

	/* What is sold; a change of any of these is a new offer version. */
	buf_addf(&b, "cpu=%llu\nmemory=%llu\ndisk=%llu\ntraffic=%llu\ntype=%s\n"
		 "price=%lld\ncurrency=%s\ncycle=%s\n",
		 (unsigned long long)p->cpu, (unsigned long long)p->memory,
		 (unsigned long long)p->disk, (unsigned long long)p->traffic,
		 type_name(p->type), (long long)p->price.minor, p->price.currency,
		 cycle_name(p->cycle));
	/* Only when given, so that a plan without them keeps its version. */
	if (json_object_size(p->config)) {
		char *c = json_canonical(p->config);

		buf_addf(&b, "config=%s\n", c);
		free(c);
	}
	if (json_object_size(p->devices)) {
		char *c = json_canonical(p->devices);

		buf_addf(&b, "devices=%s\n", c);
		free(c);
	}
	if (p->has_overage)
		buf_addf(&b, "overage=%lld per %llu\n", (long long)p->overage.minor,
			 (unsigned long long)p->overage_per);
	EVP_Digest(b.buf, b.len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, 8, out);
	buf_release(&b);
}

static struct dobj *
dset_add(struct dset *d, enum plan_object o, const char *name, const char *kind,
	 const char *declared_by)
{
	struct dobj *x;

	ALLOC_GROW(d->v, d->n + 1, d->alloc);
	x = &d->v[d->n++];
	memset(x, 0, sizeof(*x));
	x->object = o;
	x->name = name;
	x->source = xasprintf("%s/%s", kind, declared_by);
	return x;
}

void
dset_release(struct dset *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].owned_name);
		free(d->v[i].source);
		free(d->v[i].error);
		free(d->v[i].note);
		json_decref(d->v[i].after);
		json_decref(d->v[i].fallback);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->alloc = 0;
}

static json_t *
server_info(const struct pserver *s)
{
	return json_object_get(s->obs, "server");
}

static int
supports_driver(const struct pserver *s, const char *driver)
{
	json_t *env = json_object_get(server_info(s), "environment");
	json_t *list = json_object_get(env, "storage_supported_drivers"), *d;
	size_t i;

	json_array_foreach(list, i, d) {
		const char *n = json_string_value(json_object_get(d, "Name"));

		if (n && !strcmp(n, driver))
			return 1;
	}
	return 0;
}

static int
has_extension(const struct pserver *s, const char *ext)
{
	json_t *list = json_object_get(server_info(s), "api_extensions"), *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_is_string(e) && !strcmp(json_string_value(e), ext))
			return 1;
	return 0;
}

static const char *
server_kind(const struct pserver *s)
{
	return s->is_cluster ? "cluster" : "host";
}

/* What a missing driver lacks on the host, and how to repair it. */
static void
driver_hint(const char *driver, const char **title, const char **lacks,
	    const char **repair)
{
	static const struct {
		const char *driver, *title, *lacks, *repair;
	} hints[] = {
		{ "zfs", "ZFS", "no zfs kernel module or zpool tool",
		  "repair linux-headers-$(uname -r)/zfs-dkms on the host" },
		{ "lvm", "LVM", "no lvm2 tools or device-mapper",
		  "install lvm2 on the host" },
		{ "btrfs", "Btrfs", "no btrfs tools",
		  "install btrfs-progs on the host" },
		{ "ceph", "Ceph", "no ceph tools",
		  "install ceph-common on the host" },
		{ "cephfs", "CephFS", "no ceph tools",
		  "install ceph-common on the host" },
		{ "lvmcluster", "clustered LVM", "no lvmlockd",
		  "install lvm2-lockd and sanlock on the host" },
	};
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		if (!strcmp(hints[i].driver, driver)) {
			*title = hints[i].title;
			*lacks = hints[i].lacks;
			*repair = hints[i].repair;
			return;
		}
	}
	*title = NULL;
	*lacks = "not in the server's supported drivers";
	*repair = "install its tools on the host";
}

static char *
driver_error(const struct pserver *s, const char *driver)
{
	const char *title, *lacks, *repair;
	const char *alts[4];
	struct buf b = BUF_INIT;
	size_t i, n = 0;

	driver_hint(driver, &title, &lacks, &repair);
	if (title)
		buf_addf(&b, "%s \"%s\" has no usable %s (%s): %s", server_kind(s),
			 s->name, title, lacks, repair);
	else
		buf_addf(&b, "%s \"%s\" has no usable storage driver \"%s\" (%s): %s",
			 server_kind(s), s->name, driver, lacks, repair);
	for (i = 0; i < 4; i++)
		if (strcmp(auto_drivers[i], driver) && supports_driver(s, auto_drivers[i]))
			alts[n++] = auto_drivers[i];
	if (n) {
		buf_addstr(&b, ", or use ");
		for (i = 0; i < n; i++) {
			if (i)
				buf_addstr(&b, i + 1 == n ? " or " : ", ");
			buf_addstr(&b, alts[i]);
		}
		buf_addstr(&b, " instead");
	}
	return buf_detach(&b, NULL);
}

static json_t *
config_with_mark(const json_t *config)
{
	json_t *c = json_deep_copy(config ? config : json_object());

	if (!c)
		c = json_object();
	json_object_set_new(c, "user.berth.managed", json_string("true"));
	return c;
}

/*
 * Why the agents of server s say its kernel cannot run driver: "lab-1's
 * agent: the kernel has no ..." (owned), or NULL. *known becomes 0 when a
 * host of s has no report naming its drivers.
 */
static char *
driver_unusable(const struct fleet *f, const struct status *st,
		const struct pserver *s, const char *driver, int *known)
{
	size_t i;

	for (i = 0; i < f->nhosts; i++) {
		const struct m_host *h = &f->hosts[i];
		const struct status_host *sh;
		const struct report_driver *d;

		if (s->host ? h != s->host : h->cluster != s->cluster)
			continue;
		sh = st ? status_host(st, h->meta.name) : NULL;
		d = sh && sh->report ? report_driver(sh->report, driver) : NULL;
		if (!d) {
			*known = 0;
			continue;
		}
		if (!d->usable)
			return xasprintf("%s's agent: %s", h->meta.name, d->reason);
	}
	return NULL;
}

/*
 * driver: auto on s: the first of auto_drivers that Incus on s supports and
 * no agent of s calls unusable; NULL when none. Into x: the note on the
 * plan's driver field (what was passed over and why) and, on a standalone
 * host that did not report its drivers, the fallback: the other
 * candidates, tried in order when a create with the first fails (not on a
 * cluster, where a failed create leaves the pool pending on members).
 */
static const char *
auto_driver(const struct fleet *f, const struct status *st, const struct pserver *s,
	    struct dobj *x)
{
	const char *driver = NULL;
	struct buf note = BUF_INIT;
	json_t *rest = json_array();
	int known = 1;
	size_t k;

	buf_addstr(&note, "auto");
	for (k = 0; k < 4; k++) {
		char *why;

		if (!supports_driver(s, auto_drivers[k])) {
			buf_addf(&note, "; not %s: Incus has no %s driver", auto_drivers[k],
				 auto_drivers[k]);
			continue;
		}
		why = driver_unusable(f, st, s, auto_drivers[k], &known);
		if (why) {
			buf_addf(&note, "; not %s: %s", auto_drivers[k], why);
			free(why);
		} else if (!driver) {
			driver = auto_drivers[k];
		} else {
			json_array_append_new(rest, json_string(auto_drivers[k]));
		}
	}
	if (driver && !known && !s->is_cluster && json_array_size(rest)) {
		buf_addstr(&note, "; no agent report of its drivers: if ");
		buf_addf(&note, "%s fails, then ", driver);
		for (k = 0; k < json_array_size(rest); k++)
			buf_addf(&note, "%s%s", k ? ", " : "",
				 json_string_value(json_array_get(rest, k)));
		x->fallback = json_incref(rest);
	}
	json_decref(rest);
	x->note = buf_detach(&note, NULL);
	return driver;
}

static void
add_storage_pools(const struct fleet *f, const struct status *st, const struct pserver *s,
		  const struct m_storage_pool *pools, size_t n, const char *kind,
		  struct dset *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct m_storage_pool *sp = &pools[i];
		struct dobj *x = dset_add(out, OBJ_STORAGE_POOL, sp->name, kind, s->name);
		const char *driver = sp->driver;
		json_t *after = json_object(), *config = config_with_mark(sp->config);
		char size[32];

		x->adopt = sp->adopt;
		if (!strcmp(driver, "auto")) {
			driver = auto_driver(f, st, s, x);
			if (!driver)
				x->error = xasprintf("%s \"%s\" has no driver for driver: auto (%s):"
						     " name a driver it has",
						     server_kind(s), s->name, x->note);
		} else if (!supports_driver(s, driver)) {
			x->error = driver_error(s, driver);
		}
		json_object_set_new(after, "name", json_string(sp->name));
		json_object_set_new(after, "driver", json_string(driver ? driver : sp->driver));
		if (sp->description)
			json_object_set_new(after, "description", json_string(sp->description));
		if (!s->is_cluster) {
			if (sp->source)
				json_object_set_new(config, "source", json_string(sp->source));
			if (sp->size) {
				format_size(sp->size, size, sizeof(size));
				json_object_set_new(config, "size", json_string(size));
			}
		}
		json_object_set_new(after, "config", config);
		if (s->is_cluster && sp->members) {
			/* Created per member first (these keys), then cluster-wide. */
			json_t *members = json_object(), *m;
			const char *member;

			json_object_foreach(sp->members, member, m) {
				json_t *mm = json_object(), *mc = json_object(), *v;
				const char *k2;
				uint64_t bytes;
				struct berr e;

				json_object_foreach(json_object_get(m, "config"), k2, v)
					json_object_set(mc, k2, v);
				if (json_is_string(json_object_get(m, "source")))
					json_object_set(mc, "source", json_object_get(m, "source"));
				v = json_object_get(m, "size");
				if (json_is_string(v) &&
				    parse_size(json_string_value(v), &bytes, &e) == 0) {
					format_size(bytes, size, sizeof(size));
					json_object_set_new(mc, "size", json_string(size));
				} else if (json_is_integer(v)) {
					format_size((uint64_t)json_integer_value(v), size, sizeof(size));
					json_object_set_new(mc, "size", json_string(size));
				}
				json_object_set_new(mm, "config", mc);
				json_object_set_new(members, member, mm);
			}
			json_object_set_new(after, "members", members);
		}
		x->after = after;
	}
}

static void
add_projects(const struct pserver *s, const struct m_project *projects, size_t n,
	     const char *kind, struct dset *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct dobj *x = dset_add(out, OBJ_PROJECT, projects[i].name, kind, s->name);

		x->adopt = projects[i].adopt;
		x->after = json_object();
		json_object_set_new(x->after, "name", json_string(projects[i].name));
		if (projects[i].description)
			json_object_set_new(x->after, "description",
					    json_string(projects[i].description));
		json_object_set_new(x->after, "config", config_with_mark(projects[i].config));
	}
}

/* The smallest CPU thread count of the cluster's members; 0 if unknown. */
static uint64_t
min_member_threads(const struct pserver *s)
{
	json_t *res = json_object_get(s->obs, "resources"), *r;
	const char *member;
	uint64_t best = 0;

	json_object_foreach(res, member, r) {
		json_t *t = json_object_get(json_object_get(r, "cpu"), "total");

		if (json_is_integer(t) && json_integer_value(t) > 0 &&
		    (best == 0 || (uint64_t)json_integer_value(t) < best))
			best = (uint64_t)json_integer_value(t);
	}
	return best;
}

void
offer_config(const struct m_offer *o, json_t *config)
{
	char size[32], version[17];

	json_object_update(config, o->config);
	json_object_set_new(config, "limits.cpu", json_sprintf("%llu", (unsigned long long)o->cpu));
	format_size(o->memory, size, sizeof(size));
	json_object_set_new(config, "limits.memory", json_string(size));
	json_object_set_new(config, "user.berth.managed", json_string("true"));
	json_object_set_new(config, "user.berth.plan", json_string(o->meta.name));
	offer_version(o, version);
	json_object_set_new(config, "user.berth.plan-version", json_string(version));
	json_object_set_new(config, "user.berth.price", json_sprintf("%lld",
			    (long long)o->price.minor));
	json_object_set_new(config, "user.berth.currency", json_string(o->price.currency));
	json_object_set_new(config, "user.berth.cycle", json_string(cycle_name(o->cycle)));
	json_object_set_new(config, "user.berth.provider", json_string(
			    o->meta.provider ? o->meta.provider : "platform"));
	if (o->traffic)
		json_object_set_new(config, "user.berth.traffic", json_sprintf("%llu",
				    (unsigned long long)o->traffic));
	if (o->traffic && o->has_overage) {
		json_object_set_new(config, "user.berth.overage", json_sprintf("%lld",
				    (long long)o->overage.minor));
		json_object_set_new(config, "user.berth.overage-per", json_sprintf("%llu",
				    (unsigned long long)o->overage_per));
	}
}

json_t *
offer_devices(const struct m_offer *o)
{
	json_t *devices = o->devices ? json_deep_copy(o->devices) : json_object();
	char size[32];
	format_size(o->disk, size, sizeof(size));
	json_object_set_new(devices, "root", json_pack(
		"{s:s, s:s, s:s, s:s}", "type", "disk", "path", "/", "pool",
		o->pool && o->pool->storage_pool ? o->pool->storage_pool : "", "size", size));
	return devices;
}

/* The profile plan-<name> of each offer of a pool that s is in. */
static void
add_profiles(const struct fleet *f, const struct pserver *s, struct dset *out)
{
	size_t i;

	for (i = 0; i < f->noffers; i++) {
		const struct m_offer *p = &f->offers[i];
		struct dobj *x;
		json_t *config, *devices;
		uint64_t maxcpus = 0;

		if (!pserver_in_pool(s, p->pool))
			continue;
		x = dset_add(out, OBJ_PROFILE, NULL, "Plan", p->meta.name);
		x->owned_name = xasprintf("plan-%s", p->meta.name);
		x->name = x->owned_name;
		x->project = "default";
		config = json_object();
		offer_config(p, config);
		if (p->type == TYPE_VM && s->cluster) {
			if (s->cluster->vm_maxcpus_auto)
				maxcpus = min_member_threads(s);
			else
				maxcpus = s->cluster->vm_maxcpus;
		}
		if (maxcpus)
			json_object_set_new(config, "raw.qemu.conf",
					    json_sprintf("[smp-opts]\nmaxcpus = %llu",
							 (unsigned long long)maxcpus));
		devices = offer_devices(p);
		x->after = json_object();
		json_object_set_new(x->after, "name", json_string(x->name));
		json_object_set_new(x->after, "description", p->description ?
				    json_string(p->description) :
				    json_sprintf("berth plan %s", p->meta.name));
		json_object_set_new(x->after, "config", config);
		json_object_set_new(x->after, "devices", devices);
	}
}

static void
add_images(const struct fleet *f, const struct pserver *s, struct dset *out)
{
	size_t i, k;

	for (i = 0; i < f->nimages; i++) {
		const struct m_image *im = &f->images[i];
		json_t *src, *alias, *aliases, *props;
		struct dobj *x;
		int in = 0;

		for (k = 0; k < im->npools && !in; k++)
			in = pserver_in_pool(s, im->pools[k]);
		if (!in)
			continue;
		x = dset_add(out, OBJ_IMAGE, im->meta.name, "Image", im->meta.name);
		x->project = "default";
		x->image = im;
		src = json_object();
		json_object_set_new(src, "type", json_string("image"));
		if (im->type == TYPE_VM)	/* else Incus pulls the container image */
			json_object_set_new(src, "image_type", json_string("virtual-machine"));
		json_object_set_new(src, "mode", json_string("pull"));
		json_object_set_new(src, "server", json_string(im->server ? im->server : ""));
		json_object_set_new(src, "protocol", json_string(im->protocol ?
								 im->protocol : "simplestreams"));
		json_object_set_new(src, "alias", json_string(im->alias ? im->alias : ""));
		if (im->fingerprint)
			json_object_set_new(src, "fingerprint", json_string(im->fingerprint));
		alias = json_object();
		json_object_set_new(alias, "name", json_string(im->meta.name));
		aliases = json_array();
		json_array_append_new(aliases, alias);
		props = json_object();
		json_object_set_new(props, "berth.managed", json_string("true"));
		x->after = json_object();
		json_object_set_new(x->after, "source", src);
		json_object_set_new(x->after, "aliases", aliases);
		json_object_set_new(x->after, "auto_update", json_boolean(im->auto_update));
		json_object_set_new(x->after, "properties", props);
	}
}

static void
add_groups(const struct pserver *s, struct dset *out)
{
	const struct m_cluster *c = s->cluster;
	size_t i;

	for (i = 0; i < c->ngroups; i++) {
		const struct m_group *g = &c->groups[i];
		struct dobj *x = dset_add(out, OBJ_CLUSTER_GROUP, g->name, "Cluster", c->meta.name);
		int has_config = g->config && json_object_size(g->config) > 0;
		int vm_cpu = 0;
		const char *missing = NULL, *k;
		json_t *v;

		json_object_foreach(g->config, k, v)
			if (!strncmp(k, "instances.vm.cpu.", 17))
				vm_cpu = 1;
		if (!has_extension(s, "clustering_groups"))
			missing = "clustering_groups";
		else if (has_config && !has_extension(s, "clustering_groups_config"))
			missing = "clustering_groups_config";
		else if (vm_cpu && !has_extension(s, "clustering_groups_vm_cpu_definition"))
			missing = "clustering_groups_vm_cpu_definition";
		if (missing) {
			const char *version = json_string_value(json_object_get(
				json_object_get(server_info(s), "environment"), "server_version"));

			x->error = xasprintf("cluster \"%s\" (Incus %s) lacks the API extension"
					     " \"%s\" that %s of cluster group \"%s\" needs:"
					     " upgrade Incus on the cluster, or remove the group's"
					     " config from the manifest",
					     s->name, version ? version : "unknown", missing,
					     has_config ? "the config" : "the declaration", g->name);
		}
		x->after = json_object();
		json_object_set_new(x->after, "name", json_string(g->name));
		if (g->description)
			json_object_set_new(x->after, "description", json_string(g->description));
		if (has_config)
			json_object_set_new(x->after, "config", config_with_mark(g->config));
	}
}

void
desired_server(const struct fleet *f, const struct status *st, const struct pserver *s,
	       struct dset *out)
{
	if (s->cluster) {
		add_storage_pools(f, st, s, s->cluster->storage_pools,
				  s->cluster->nstorage_pools, "Cluster", out);
		add_projects(s, s->cluster->projects, s->cluster->nprojects, "Cluster", out);
	} else {
		add_storage_pools(f, st, s, s->host->storage_pools, s->host->nstorage_pools,
				  "Host", out);
		add_projects(s, s->host->projects, s->host->nprojects, "Host", out);
	}
	add_profiles(f, s, out);
	add_images(f, s, out);
	if (s->cluster)
		add_groups(s, out);
}
