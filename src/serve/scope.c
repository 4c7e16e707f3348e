/*
 * scope.c - what one provider may see of the fleet's status (scope.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/scope.h"
#include "util/money.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *
provider_of(const struct meta *m)
{
	return m->provider ? m->provider : "platform";
}

int
scope_sees_host(const struct m_host *h, const char *provider)
{
	return !provider || !strcmp(provider_of(&h->meta), provider);
}

int
scope_sees_offer(const struct m_offer *o, const char *provider)
{
	const char *p = provider_of(&o->meta);

	return !provider || !strcmp(p, "platform") || !strcmp(p, provider);
}

int
scope_sees_plan(const struct fleet *f, const char *name, const char *provider)
{
	const struct m_offer *o = name ? fleet_offer(f, name) : NULL;

	return o && scope_sees_offer(o, provider);
}

int
scope_sees_host_name(const struct fleet *f, const char *name, const char *provider)
{
	const struct m_host *h = name ? fleet_host(f, name) : NULL;

	return h && scope_sees_host(h, provider);
}

static uint64_t
add_u64(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int64_t
add_i64(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static void
add_total(struct status_resource *t, const struct status_resource *x)
{
	t->declared = add_u64(t->declared, x->declared);
	t->reported = add_u64(t->reported, x->reported);
	t->base = add_u64(t->base, x->base);
	t->capacity = add_u64(t->capacity, x->capacity);
	t->allocated = add_u64(t->allocated, x->allocated);
	t->free = add_i64(t->free, x->free);
}

/* Does pool p sell an offer of provider (not the platform's)? */
static int
sells_for(const struct fleet *f, const struct m_pool *p, const char *provider)
{
	size_t i;

	for (i = 0; i < f->noffers; i++) {
		const struct m_offer *o = &f->offers[i];

		if ((o->pool == p || (!o->pool && o->pool_name &&
				      !strcmp(o->pool_name, p->meta.name))) &&
		    !strcmp(provider_of(&o->meta), provider))
			return 1;
	}
	return 0;
}

/*
 * The members of sp that provider sees, in o's hosts (map: index of s's
 * host -> 1 + index in o's, 0 hidden), with the pool's counts over them.
 */
static void
scope_pool(const struct status *s, const struct status_pool *sp, const size_t *map,
	   struct status *o, struct status_pool *op, int recount)
{
	size_t j, k;
	int i;

	*op = *sp;
	op->members = xcalloc(sp->nmembers ? sp->nmembers : 1, sizeof(*op->members));
	op->nmembers = 0;
	for (j = 0; j < sp->nmembers; j++) {
		size_t at = (size_t)(sp->members[j].host - s->hosts);

		if (!map[at])
			continue;
		op->members[op->nmembers] = sp->members[j];
		op->members[op->nmembers].host = &o->hosts[map[at] - 1];
		op->nmembers++;
	}
	if (!recount)
		return;
	op->nschedulable = 0;
	memset(op->total, 0, sizeof(op->total));
	for (j = 0; j < op->nmembers; j++) {
		const struct status_member *m = &op->members[j];
		int counted = 0;

		if (m->reason == SCHED_OK)
			op->nschedulable++;
		/* A cluster's shared disk: once, for its first member seen here. */
		for (k = 0; m->disk_shared && k < j; k++)
			counted |= op->members[k].disk_shared &&
				   op->members[k].host->host->cluster == m->host->host->cluster;
		for (i = 0; i < RES__COUNT; i++)
			if (i != RES_DISK || !counted)
				add_total(&op->total[i], &m->res[i]);
	}
}

struct status *
scope_status(const struct status *s, const char *provider)
{
	struct status *o = xcalloc(1, sizeof(*o));
	size_t *map = xcalloc(s->nhosts ? s->nhosts : 1, sizeof(*map));
	size_t i, k;

	o->fleet = s->fleet;
	o->now_ms = s->now_ms;
	o->hosts = xcalloc(s->nhosts ? s->nhosts : 1, sizeof(*o->hosts));
	for (i = 0; i < s->nhosts; i++) {
		const struct status_host *sh = &s->hosts[i];
		struct status_host *h;

		if (!scope_sees_host(sh->host, provider))
			continue;
		h = &o->hosts[o->nhosts];
		*h = *sh;
		h->instances = xcalloc(sh->ninstances ? sh->ninstances : 1, sizeof(*h->instances));
		for (k = 0; k < sh->ninstances; k++) {
			h->instances[k] = sh->instances[k];
			if (provider && h->instances[k].plan &&
			    !scope_sees_plan(s->fleet, h->instances[k].plan, provider))
				h->instances[k].plan = NULL;
		}
		map[i] = ++o->nhosts;
	}
	o->pools = xcalloc(s->npools ? s->npools : 1, sizeof(*o->pools));
	for (i = 0; i < s->npools; i++) {
		const struct status_pool *sp = &s->pools[i];
		int seen = !provider || sells_for(s->fleet, sp->pool, provider);

		for (k = 0; !seen && k < sp->nmembers; k++)
			seen = map[sp->members[k].host - s->hosts] != 0;
		if (!seen)
			continue;
		scope_pool(s, sp, map, o, &o->pools[o->npools++], provider != NULL);
	}
	free(map);
	return o;
}

void
scope_status_free(struct status *v)
{
	status_free(v);		/* a view owns what a status owns: its arrays */
}

static json_t *
jsize(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *
offer_json(const struct m_offer *o)
{
	static const char *const avail[] = { "on-sale", "hidden", "retired" };
	char amount[48];

	money_decimal(o->price.minor, o->price.exponent, amount, sizeof(amount));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:s, s:s, s:s}, s:s}",
			 "name", o->meta.name, "provider", provider_of(&o->meta),
			 "type", o->type == TYPE_VM ? "virtual-machine" : "container",
			 "cpu", jsize(o->cpu), "memory", jsize(o->memory), "disk", jsize(o->disk),
			 "traffic", jsize(o->traffic), "price", "amount", amount,
			 "currency", o->price.currency, "cycle", cycle_name(o->cycle),
			 "availability", avail[o->availability <= AVAIL_RETIRED ? o->availability : 0]);
}

json_t *
scope_status_json(const struct status *s, const char *provider)
{
	struct status *v = scope_status(s, provider);
	json_t *doc = status_to_json(v), *pools = json_object_get(doc, "pools"), *out;
	const char *key;
	json_t *val;
	size_t i, k;

	/* "provider" after "time": rebuilt in order. */
	out = json_object();
	json_object_foreach(doc, key, val) {
		json_object_set(out, key, val);
		if (!strcmp(key, "time"))
			json_object_set_new(out, "provider", provider ? json_string(provider)
								      : json_null());
	}
	for (i = 0; i < v->npools && i < json_array_size(pools); i++) {
		const struct m_pool *p = v->pools[i].pool;
		json_t *plans = json_array();

		for (k = 0; k < s->fleet->noffers; k++) {
			const struct m_offer *o = &s->fleet->offers[k];

			if ((o->pool == p || (!o->pool && o->pool_name &&
					      !strcmp(o->pool_name, p->meta.name))) &&
			    scope_sees_offer(o, provider))
				json_array_append_new(plans, offer_json(o));
		}
		json_object_set_new(json_array_get(pools, i), "plans", plans);
	}
	json_decref(doc);
	scope_status_free(v);
	return out;
}
