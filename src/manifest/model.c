/*
 * model.c - typed fleet objects from schema-valid documents.
 *
 * The schema has already checked shapes, so a field is either absent or of
 * the right JSON type; what is left here is exact parsing of quantities and
 * normalising config values to strings.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/model.h"
#include "manifest/path.h"
#include "util/buf.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const kind_names[KIND__COUNT] = {
	"Provider", "Host", "Cluster", "Pool", "Plan", "Image", "Instance", "Fleet",
};

int
kind_from_name(const char *name)
{
	int k;

	for (k = 0; k < KIND__COUNT; k++)
		if (!strcmp(kind_names[k], name))
			return k;
	return -1;
}

const char *
kind_name(enum kind k)
{
	return k < KIND__COUNT ? kind_names[k] : "?";
}

void
diag_at(struct diags *d, enum diag_severity sev, const struct mdoc *doc,
	const char *path, const char *fmt, ...)
{
	struct mark m = mdoc_mark(doc, path);
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(d, sev, doc->file, m.line, m.col, path, fmt, ap);
	va_end(ap);
}

/* A cursor on one document: the path of the object being read. */
struct rd {
	const struct mdoc *doc;
	struct diags *d;
	struct buf path;
	struct buf tmp;
};

/* The path of field key of the current object; valid until the next call. */
static const char *
at(struct rd *r, const char *key)
{
	buf_reset(&r->tmp);
	buf_add(&r->tmp, r->path.buf, r->path.len);
	path_push_key(&r->tmp, key, strlen(key));
	return r->tmp.buf;
}

static void
push_key(struct rd *r, const char *key)
{
	path_push_key(&r->path, key, strlen(key));
}

static void
push_index(struct rd *r, size_t i)
{
	path_push_index(&r->path, i);
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = str(o, key);

	return s ? s : dflt;
}

static int
boolean(json_t *o, const char *key, int dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static uint64_t
size_field(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	struct berr err;
	uint64_t bytes = 0;

	if (json_is_integer(v))
		return json_integer_value(v) < 0 ? 0 : (uint64_t)json_integer_value(v);
	if (json_is_string(v) && parse_size(json_string_value(v), &bytes, &err) < 0)
		diag_at(r->d, DIAG_ERROR, r->doc, at(r, key), "%s", err.msg);
	return bytes;
}

static uint64_t
duration_field(struct rd *r, json_t *o, const char *key, uint64_t dflt)
{
	json_t *v = json_object_get(o, key);
	struct berr err;
	uint64_t ms = dflt;

	if (json_is_string(v) && parse_duration(json_string_value(v), &ms, &err) < 0)
		diag_at(r->d, DIAG_ERROR, r->doc, at(r, key), "%s", err.msg);
	return ms;
}

static uint32_t
percent_field(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	struct berr err;
	uint32_t bp = 0;

	if (json_is_string(v) && parse_percent(json_string_value(v), &bp, &err) < 0)
		diag_at(r->d, DIAG_ERROR, r->doc, at(r, key), "%s", err.msg);
	return bp;
}

static uint64_t
uint_field(json_t *o, const char *key, uint64_t dflt)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0)
		return (uint64_t)json_real_value(v);
	return dflt;
}

static int
money_field(struct rd *r, json_t *o, const char *amount_key,
	    const char *currency, struct money *m)
{
	struct berr err;
	const char *amount = str(o, amount_key);

	memset(m, 0, sizeof(*m));
	if (!amount || !currency)
		return -1;
	if (money_parse(amount, currency, m, &err) < 0) {
		diag_at(r->d, DIAG_ERROR, r->doc, at(r, amount_key), "%s", err.msg);
		return -1;
	}
	return 0;
}

static int
enum_field(json_t *o, const char *key, const char *const *names, int dflt)
{
	const char *s = str(o, key);
	int i;

	if (!s)
		return dflt;
	for (i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return dflt;
}

/*
 * Incus config values are strings; the schema also admits integers and
 * booleans, which become their decimal / true|false spelling. Returns a new
 * reference (an empty object when absent).
 */
static json_t *
config_strings(json_t *in)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach(in, k, v) {
		if (json_is_string(v))
			json_object_set(out, k, v);
		else if (json_is_integer(v))
			json_object_set_new(out, k, json_sprintf("%" JSON_INTEGER_FORMAT,
								  json_integer_value(v)));
		else if (json_is_boolean(v))
			json_object_set_new(out, k, json_string(json_is_true(v) ? "true" : "false"));
	}
	return out;
}

static json_t *
config_field(json_t *o, const char *key)
{
	return config_strings(json_object_get(o, key));
}

static const char **
names_field(json_t *o, const char *key, size_t *n)
{
	json_t *a = json_object_get(o, key), *v;
	const char **out;
	size_t i;

	*n = json_array_size(a);
	out = xcalloc(*n ? *n : 1, sizeof(*out));
	json_array_foreach(a, i, v)
		out[i] = json_string_value(v);
	return out;
}

static void
read_storage_pools(struct rd *r, json_t *spec, struct m_storage_pool **out,
		   size_t *n)
{
	json_t *a = json_object_get(spec, "storage_pools"), *v;
	size_t i, len = r->path.len;

	*n = json_array_size(a);
	*out = xcalloc(*n ? *n : 1, sizeof(**out));
	json_array_foreach(a, i, v) {
		struct m_storage_pool *p = &(*out)[i];

		push_key(r, "storage_pools");
		push_index(r, i);
		p->name = str(v, "name");
		p->driver = str_or(v, "driver", "auto");
		p->source = str(v, "source");
		p->description = str(v, "description");
		p->size = size_field(r, v, "size");
		p->config = config_field(v, "config");
		p->members = json_object_get(v, "members");
		p->adopt = boolean(v, "adopt", 0);
		p->index = i;
		if (p->members) {
			const char *member;
			json_t *m;

			push_key(r, "members");
			json_object_foreach(p->members, member, m) {
				size_t l2 = r->path.len;

				push_key(r, member);
				size_field(r, m, "size");
				buf_setlen(&r->path, l2);
			}
		}
		buf_setlen(&r->path, len);
	}
}

static void
read_projects(json_t *spec, struct m_project **out, size_t *n)
{
	json_t *a = json_object_get(spec, "projects"), *v;
	size_t i;

	*n = json_array_size(a);
	*out = xcalloc(*n ? *n : 1, sizeof(**out));
	json_array_foreach(a, i, v) {
		(*out)[i].name = str(v, "name");
		(*out)[i].description = str(v, "description");
		(*out)[i].config = config_field(v, "config");
		(*out)[i].adopt = boolean(v, "adopt", 0);
		(*out)[i].index = i;
	}
}

static void
read_meta(const struct mdoc *doc, struct meta *m)
{
	json_t *md = json_object_get(doc->root, "metadata");

	m->doc = doc;
	m->name = str(md, "name");
	m->provider = str_or(md, "provider", "platform");
	m->labels = json_object_get(md, "labels");
}

static const char *const reviews[] = { "pending", "approved", "rejected", NULL };

static void
read_provider(struct rd *r, json_t *spec, struct m_provider *p)
{
	json_t *approvals = json_object_get(spec, "approvals"), *v;
	const char *host;
	size_t i = 0;

	p->display_name = str(spec, "display_name");
	p->revenue_share_bp = percent_field(r, spec, "revenue_share");
	p->currency = str(spec, "currency");
	if (p->currency && currency_exponent(p->currency) < 0)
		diag_at(r->d, DIAG_ERROR, r->doc, at(r, "currency"),
			"want an ISO 4217 currency code like EUR, have \"%s\"", p->currency);
	p->holdback_ms = duration_field(r, spec, "holdback", 0);
	p->napprovals = json_object_size(approvals);
	p->approvals = xcalloc(p->napprovals ? p->napprovals : 1, sizeof(*p->approvals));
	json_object_foreach(approvals, host, v) {
		struct m_approval *a = &p->approvals[i++];

		a->host = host;
		a->review = enum_field(v, "review", reviews, REVIEW_PENDING);
		a->fingerprint = str(v, "fingerprint");
		a->adopt = boolean(v, "adopt", 0);
	}
}

static void
read_host(struct rd *r, json_t *spec, struct m_host *h)
{
	static const char *const states[] = { "active", "cordoned", "draining", NULL };
	json_t *cap = json_object_get(spec, "capacity");
	json_t *agent = json_object_get(spec, "agent");
	size_t len = r->path.len;

	h->endpoint = str(spec, "endpoint");
	h->fingerprint = str(spec, "fingerprint");
	h->cluster_name = str(spec, "cluster");
	h->os = str(spec, "os");
	/* The platform's own hosts are approved unless they say otherwise; a
	 * provider's host waits for the platform's approval (check.c), and a
	 * review of its own is an error there. */
	h->review = strcmp(h->meta.provider, "platform") ? REVIEW_PENDING :
		    enum_field(spec, "review", reviews, REVIEW_APPROVED);
	h->state = enum_field(spec, "state", states, HOST_ACTIVE);
	push_key(r, "capacity");
	h->capacity.cpu = uint_field(cap, "cpu", 0);
	h->capacity.memory = size_field(r, cap, "memory");
	h->capacity.disk = size_field(r, cap, "disk");
	h->capacity.traffic = size_field(r, cap, "traffic");
	buf_setlen(&r->path, len);
	h->agent_key = str(agent, "key");
	push_key(r, "agent");
	h->agent_interval_ms = duration_field(r, agent, "interval", 30000);
	buf_setlen(&r->path, len);
	read_storage_pools(r, spec, &h->storage_pools, &h->nstorage_pools);
	read_projects(spec, &h->projects, &h->nprojects);
}

static void
read_cluster(struct rd *r, json_t *spec, struct m_cluster *c)
{
	json_t *groups = json_object_get(spec, "groups"), *v;
	json_t *maxcpus = json_object_get(spec, "vm_maxcpus");
	size_t i;

	c->endpoint = str(spec, "endpoint");
	c->fingerprint = str(spec, "fingerprint");
	c->ngroups = json_array_size(groups);
	c->groups = xcalloc(c->ngroups ? c->ngroups : 1, sizeof(*c->groups));
	json_array_foreach(groups, i, v) {
		c->groups[i].name = str(v, "name");
		c->groups[i].description = str(v, "description");
		c->groups[i].config = config_field(v, "config");
	}
	c->vm_maxcpus_auto = json_is_string(maxcpus);
	c->vm_maxcpus = json_is_integer(maxcpus) ? (uint64_t)json_integer_value(maxcpus) : 0;
	read_storage_pools(r, spec, &c->storage_pools, &c->nstorage_pools);
	read_projects(spec, &c->projects, &c->nprojects);
}

const char *
resource_name(enum resource r)
{
	static const char *const names[RES__COUNT] = { "cpu", "memory", "disk" };

	return names[r];
}

int
offer_provider_allows(const struct m_offer *o, const struct m_host *h)
{
	const char *op = o->meta.provider ? o->meta.provider : "platform";

	return !strcmp(op, "platform") ||
	       (h->meta.provider && !strcmp(op, h->meta.provider));
}

const char *
fleet_host_provider(void *f, const char *name)
{
	const struct m_host *h = fleet_host(f, name);

	return h && h->meta.provider ? h->meta.provider : "platform";
}

static void
read_pool(struct rd *r, json_t *spec, struct m_pool *p)
{
	static const char *const supplies[] = { "open", "closed", NULL };
	static const char *const placements[] = { "spread", "pack", NULL };
	json_t *sel = json_object_get(spec, "hosts");
	json_t *oc = json_object_get(spec, "overcommit");
	json_t *rs = json_object_get(spec, "reserve");
	size_t len = r->path.len;
	int i;

	p->select_labels = json_object_get(sel, "labels");
	p->select_names = names_field(sel, "names", &p->nselect_names);
	p->storage_pool = str(spec, "storage_pool");
	push_key(r, "reserve");
	for (i = 0; i < RES__COUNT; i++) {
		json_t *v = json_object_get(oc, resource_name(i));

		p->overcommit_milli[i] = json_is_number(v)
			? (uint32_t)llround(json_number_value(v) * 1000) : 1000;
		p->reserve_bp[i] = percent_field(r, rs, resource_name(i));
	}
	buf_setlen(&r->path, len);
	p->supply = enum_field(spec, "supply", supplies, SUPPLY_OPEN);
	p->placement = enum_field(spec, "placement", placements, PLACEMENT_SPREAD);
	p->require_agent = boolean(spec, "require_agent", 1);
}

/*
 * The keys berth derives from a Plan's fields cannot be set in its config
 * or devices: limits.cpu (cpu), limits.memory (memory), the root disk
 * (disk, on the pool's storage pool), and user.berth.* (the sold
 * snapshot).
 */
static void
offer_derived_keys(struct rd *r, const struct m_offer *p)
{
	static const struct {
		const char *key, *field;
	} derived[] = {
		{ "limits.cpu", "cpu" },
		{ "limits.memory", "memory" },
	};
	size_t len = r->path.len, i;
	const char *k, *path, *type, *dpath;
	json_t *v;

	push_key(r, "config");
	json_object_foreach(p->config, k, v) {
		for (i = 0; i < sizeof(derived) / sizeof(derived[0]); i++)
			if (!strcmp(k, derived[i].key))
				diag_at(r->d, DIAG_ERROR, r->doc, at(r, k),
					"%s is derived from the plan's %s: set spec.%s instead",
					k, derived[i].field, derived[i].field);
		if (!strncmp(k, "user.berth.", 11))
			diag_at(r->d, DIAG_ERROR, r->doc, at(r, k),
				"user.berth.* keys are berth's own (the sold snapshot); want"
				" another key, have \"%s\"", k);
	}
	buf_setlen(&r->path, len);
	push_key(r, "devices");
	json_object_foreach(p->devices, k, v) {
		type = json_string_value(json_object_get(v, "type"));
		dpath = json_string_value(json_object_get(v, "path"));
		path = at(r, k);
		if (!strcmp(k, "root") || (type && !strcmp(type, "disk") && dpath &&
					   !strcmp(dpath, "/")))
			diag_at(r->d, DIAG_ERROR, r->doc, path,
				"the root disk is derived from the plan's disk and its pool's"
				" storage pool: set spec.disk instead of device \"%s\"", k);
	}
	buf_setlen(&r->path, len);
}

const char *const cycle_names[] = { "hourly", "monthly", "quarterly", "semiannual", "yearly",
				    NULL };

const char *
cycle_name(enum cycle c)
{
	return (unsigned)c <= CYCLE_YEARLY ? cycle_names[c] : "monthly";
}

int
cycle_parse(const char *s, enum cycle *c)
{
	size_t i;

	for (i = 0; s && cycle_names[i]; i++)
		if (!strcmp(s, cycle_names[i])) {
			*c = (enum cycle)i;
			return 0;
		}
	return -1;
}

static void
read_offer(struct rd *r, json_t *spec, struct m_offer *p)
{
	static const char *const types[] = { "container", "virtual-machine", NULL };
	static const char *const avail[] = { "on-sale", "hidden", "retired", NULL };
	json_t *price = json_object_get(spec, "price");
	json_t *over = json_object_get(spec, "overage");
	size_t len = r->path.len;
	struct berr err;
	const char *currency, *name;
	json_t *dev;
	char one[16];

	p->pool_name = str(spec, "pool");
	p->type = enum_field(spec, "type", types, TYPE_CONTAINER);
	p->cpu = uint_field(spec, "cpu", 0);
	p->memory = size_field(r, spec, "memory");
	p->disk = size_field(r, spec, "disk");
	p->traffic = size_field(r, spec, "traffic");
	push_key(r, "price");
	currency = str(price, "currency");
	if (currency && currency_exponent(currency) < 0) {
		/* Report the currency once, not again for each amount. */
		diag_at(r->d, DIAG_ERROR, r->doc, at(r, "currency"),
			"want an ISO 4217 currency code like EUR, have \"%s\"",
			currency);
		currency = NULL;
	}
	money_field(r, price, "amount", currency, &p->price);
	buf_setlen(&r->path, len);
	p->cycle = enum_field(price, "cycle", cycle_names, CYCLE_MONTHLY);
	if (over) {
		push_key(r, "overage");
		p->has_overage = money_field(r, over, "amount", currency,
					     &p->overage) == 0;
		/* "per" is a unit (the schema allows KiB..TiB): one of it. */
		snprintf(one, sizeof(one), "1%s", str_or(over, "per", "GiB"));
		if (parse_size(one, &p->overage_per, &err) < 0)
			p->overage_per = 0;
		buf_setlen(&r->path, len);
	}
	p->availability = enum_field(spec, "availability", avail, AVAIL_ON_SALE);
	p->description = str(spec, "description");
	p->image_names = names_field(spec, "images", &p->nimages);
	p->images = xcalloc(p->nimages ? p->nimages : 1, sizeof(*p->images));
	p->config = config_field(spec, "config");
	p->devices = json_object();
	json_object_foreach(json_object_get(spec, "devices"), name, dev)
		json_object_set_new(p->devices, name, config_strings(dev));
	offer_derived_keys(r, p);
}

static void
read_image(json_t *spec, struct m_image *im)
{
	static const char *const types[] = { "container", "virtual-machine", NULL };
	json_t *src = json_object_get(spec, "source");

	im->server = str(src, "server");
	im->protocol = str(src, "protocol");
	im->alias = str(src, "alias");
	im->server_fingerprint = str(src, "server_fingerprint");
	im->fingerprint = str(spec, "fingerprint");
	im->type = enum_field(spec, "type", types, TYPE_CONTAINER);
	im->pool_names = names_field(spec, "pools", &im->npools);
	im->pools = xcalloc(im->npools ? im->npools : 1, sizeof(*im->pools));
	im->auto_update = boolean(spec, "auto_update", 1);
}

static void
read_instance(json_t *spec, struct m_instance *in)
{
	in->plan_name = str(spec, "plan");
	in->image_name = str(spec, "image");
	in->project = str_or(spec, "project", "default");
	in->host_name = str(spec, "host");
	in->running = strcmp(str_or(spec, "state", "running"), "stopped") != 0;
	in->owner = str(spec, "owner");
}

/*
 * spec.sync_windows, each read as window_parse() reads a window (set 0):
 * a schedule of five cron fields, a duration of 1m to 7d, a time zone of
 * the database (UTC when not given). Its spec is the window as --window
 * writes it.
 */
static void
read_fleet(struct rd *r, json_t *spec, struct m_fleet *fl)
{
	json_t *a = json_object_get(spec, "sync_windows"), *v;
	size_t i, len = r->path.len;
	struct berr err;

	fl->nwindows = json_array_size(a);
	fl->windows = xcalloc(fl->nwindows ? fl->nwindows : 1, sizeof(*fl->windows));
	json_array_foreach(a, i, v) {
		struct window *w = &fl->windows[i];
		const char *kind = str_or(v, "kind", "deny"), *zone = str(v, "time_zone");
		const char *schedule = str_or(v, "schedule", ""), *duration = str_or(v, "duration", "");

		push_key(r, "sync_windows");
		push_index(r, i);
		w->kind = strcmp(kind, "allow") ? WINDOW_DENY : WINDOW_ALLOW;
		if (window_set_schedule(w, schedule, &err) < 0)
			diag_at(r->d, DIAG_ERROR, r->doc, at(r, "schedule"), "%s", err.msg);
		if (window_set_duration(w, duration, &err) < 0)
			diag_at(r->d, DIAG_ERROR, r->doc, at(r, "duration"), "%s", err.msg);
		if (window_set_zone(w, zone ? zone : "UTC", &err) < 0)
			diag_at(r->d, DIAG_ERROR, r->doc, at(r, "time_zone"), "%s", err.msg);
		snprintf(w->spec, sizeof(w->spec), "%s %s %s%s%s", kind, schedule, duration,
			 zone ? " " : "", zone ? zone : "");
		buf_setlen(&r->path, len);
	}
}

const struct m_fleet *
fleet_settings(const struct fleet *f)
{
	return f->nsettings ? &f->settings[0] : NULL;
}

/* Name -> position maps, one per kind; the first object of a name wins. */
static void
index_add(json_t *idx, const char *name, size_t i)
{
	if (name && !json_object_get(idx, name))
		json_object_set_new(idx, name, json_integer((json_int_t)i));
}

static void
fleet_index(struct fleet *f)
{
	size_t i;
	int k;

	for (k = 0; k < KIND__COUNT; k++)
		f->index[k] = json_object();
	for (i = 0; i < f->nproviders; i++)
		index_add(f->index[KIND_PROVIDER], f->providers[i].meta.name, i);
	for (i = 0; i < f->nhosts; i++)
		index_add(f->index[KIND_HOST], f->hosts[i].meta.name, i);
	for (i = 0; i < f->nclusters; i++)
		index_add(f->index[KIND_CLUSTER], f->clusters[i].meta.name, i);
	for (i = 0; i < f->npools; i++)
		index_add(f->index[KIND_POOL], f->pools[i].meta.name, i);
	for (i = 0; i < f->noffers; i++)
		index_add(f->index[KIND_PLAN], f->offers[i].meta.name, i);
	for (i = 0; i < f->nimages; i++)
		index_add(f->index[KIND_IMAGE], f->images[i].meta.name, i);
	for (i = 0; i < f->ninstances; i++)
		index_add(f->index[KIND_INSTANCE], f->instances[i].meta.name, i);
	for (i = 0; i < f->nsettings; i++)
		index_add(f->index[KIND_FLEET], f->settings[i].meta.name, i);
}

/* Append a zeroed element to the array *v of *n elements; returns it. */
static void *
grow(void *v, size_t *n, size_t *alloc, size_t size)
{
	char **arr = v;

	if (*n + 1 > *alloc) {
		*alloc = *alloc ? *alloc * 2 : 16;
		*arr = xreallocarray(*arr, *alloc, size);
	}
	memset(*arr + *n * size, 0, size);
	return *arr + (*n)++ * size;
}

#define GROW(arr, n) grow(&(arr), &(n), &alloc[k], sizeof(*(arr)))

struct fleet *
fleet_build(struct mdocs *docs, struct diags *d)
{
	struct fleet *f = xcalloc(1, sizeof(*f));
	size_t i, alloc[KIND__COUNT] = { 0 };

	f->docs = *docs;
	memset(docs, 0, sizeof(*docs));
	for (i = 0; i < f->docs.n; i++) {
		const struct mdoc *doc = &f->docs.v[i];
		const char *kn = str(doc->root, "kind");
		json_t *spec = json_object_get(doc->root, "spec");
		int k = kn ? kind_from_name(kn) : -1;
		struct rd r = { doc, d, BUF_INIT, BUF_INIT };
		struct meta meta;

		if (k < 0 || !json_is_object(spec))
			continue;
		read_meta(doc, &meta);
		buf_addstr(&r.path, "spec");
		switch (k) {
		case KIND_PROVIDER: {
			struct m_provider *p = GROW(f->providers, f->nproviders);

			p->meta = meta;
			read_provider(&r, spec, p);
			break;
		}
		case KIND_HOST: {
			struct m_host *h = GROW(f->hosts, f->nhosts);

			h->meta = meta;
			read_host(&r, spec, h);
			break;
		}
		case KIND_CLUSTER: {
			struct m_cluster *c = GROW(f->clusters, f->nclusters);

			c->meta = meta;
			read_cluster(&r, spec, c);
			break;
		}
		case KIND_POOL: {
			struct m_pool *p = GROW(f->pools, f->npools);

			p->meta = meta;
			read_pool(&r, spec, p);
			break;
		}
		case KIND_PLAN: {
			struct m_offer *p = GROW(f->offers, f->noffers);

			p->meta = meta;
			read_offer(&r, spec, p);
			break;
		}
		case KIND_IMAGE: {
			struct m_image *im = GROW(f->images, f->nimages);

			im->meta = meta;
			read_image(spec, im);
			break;
		}
		case KIND_INSTANCE: {
			struct m_instance *in = GROW(f->instances, f->ninstances);

			in->meta = meta;
			read_instance(spec, in);
			break;
		}
		case KIND_FLEET: {
			struct m_fleet *fl = GROW(f->settings, f->nsettings);

			fl->meta = meta;
			read_fleet(&r, spec, fl);
			break;
		}
		}
		buf_release(&r.path);
		buf_release(&r.tmp);
	}
	fleet_index(f);
	return f;
}

static void
free_storage_pools(struct m_storage_pool *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(v[i].config);
	free(v);
}

static void
free_projects(struct m_project *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(v[i].config);
	free(v);
}

void
fleet_free(struct fleet *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nproviders; i++)
		free(f->providers[i].approvals);
	free(f->providers);
	for (i = 0; i < f->nhosts; i++) {
		free_storage_pools(f->hosts[i].storage_pools, f->hosts[i].nstorage_pools);
		free_projects(f->hosts[i].projects, f->hosts[i].nprojects);
	}
	free(f->hosts);
	for (i = 0; i < f->nclusters; i++) {
		size_t g;

		for (g = 0; g < f->clusters[i].ngroups; g++)
			json_decref(f->clusters[i].groups[g].config);
		free(f->clusters[i].groups);
		free_storage_pools(f->clusters[i].storage_pools, f->clusters[i].nstorage_pools);
		free_projects(f->clusters[i].projects, f->clusters[i].nprojects);
		free(f->clusters[i].members);
	}
	free(f->clusters);
	for (i = 0; i < f->npools; i++) {
		free(f->pools[i].select_names);
		free(f->pools[i].hosts);
	}
	free(f->pools);
	for (i = 0; i < f->noffers; i++) {
		free(f->offers[i].image_names);
		free(f->offers[i].images);
		json_decref(f->offers[i].config);
		json_decref(f->offers[i].devices);
	}
	free(f->offers);
	for (i = 0; i < f->nimages; i++) {
		free(f->images[i].pool_names);
		free(f->images[i].pools);
	}
	free(f->images);
	free(f->instances);
	for (i = 0; i < f->nsettings; i++)
		free(f->settings[i].windows);
	free(f->settings);
	for (i = 0; i < KIND__COUNT; i++)
		json_decref(f->index[i]);
	mdocs_release(&f->docs);
	free(f);
}

#define LOOKUP(fn, type, kind, arr) \
type * \
fn(const struct fleet *f, const char *name) \
{ \
	json_t *i = name ? json_object_get(f->index[kind], name) : NULL; \
 \
	return i ? &f->arr[json_integer_value(i)] : NULL; \
}

LOOKUP(fleet_host, struct m_host, KIND_HOST, hosts)
LOOKUP(fleet_cluster, struct m_cluster, KIND_CLUSTER, clusters)
LOOKUP(fleet_pool, struct m_pool, KIND_POOL, pools)
LOOKUP(fleet_offer, struct m_offer, KIND_PLAN, offers)
LOOKUP(fleet_image, struct m_image, KIND_IMAGE, images)
LOOKUP(fleet_provider, struct m_provider, KIND_PROVIDER, providers)
LOOKUP(fleet_instance, struct m_instance, KIND_INSTANCE, instances)
