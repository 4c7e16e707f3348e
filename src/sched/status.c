/*
 * status.c - health and capacity of every host and pool (see status.h for
 * the rules). Pure: the fleet, the reports and the time come in; nothing
 * is read from anywhere else.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/status.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/money.h"
#include "util/xalloc.h"
#include "util/banned.h"

const char *
sched_reason_name(enum sched_reason r)
{
	switch (r) {
	case SCHED_OK: return "";
	case SCHED_PENDING_REVIEW: return "pending review";
	case SCHED_REJECTED: return "rejected";
	case SCHED_CORDONED: return "cordoned";
	case SCHED_DRAINING: return "draining";
	case SCHED_OFFLINE: return "offline";
	case SCHED_NO_AGENT: return "no agent";
	case SCHED_STORAGE_UNAVAILABLE: return "storage pool unavailable";
	case SCHED_POOL_CLOSED: return "pool closed";
	case SCHED_FULL: return "full";
	}
	return "?";
}

const char *
host_health_name(enum host_health h)
{
	switch (h) {
	case HEALTH_NO_AGENT: return "no agent";
	case HEALTH_ONLINE: return "online";
	case HEALTH_OFFLINE: return "offline";
	}
	return "?";
}

void
status_format_age(int64_t ms, char *out, size_t outlen)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(out, outlen, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, outlen, "%" PRId64 "m", s / 60);
	else if (s < 86400)
		snprintf(out, outlen, "%" PRId64 "h", s / 3600);
	else
		snprintf(out, outlen, "%" PRId64 "d", s / 86400);
}

/* ---- arithmetic that saturates instead of wrapping ---------------------- */

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

/* floor(v x k / 10000) without overflow in between; saturates. */
static uint64_t
scale_bp(uint64_t v, uint64_t k)
{
	uint64_t hi = v / 10000, lo = v % 10000;

	if (k && hi > UINT64_MAX / k)
		return UINT64_MAX;
	return add_u64(hi * k, lo * k / 10000);
}

/*
 * base x overcommit - reserve, with reserve a share of base: exactly
 * floor(base x (10 x overcommit_milli - reserve_bp) / 10000).
 */
static uint64_t
capacity_of(uint64_t base, uint32_t overcommit_milli, uint32_t reserve_bp)
{
	uint64_t k = (uint64_t)overcommit_milli * 10;

	if (k <= reserve_bp)
		return 0;
	return scale_bp(base, k - reserve_bp);
}

static int64_t
free_of(uint64_t capacity, uint64_t allocated)
{
	int64_t c = capacity > INT64_MAX ? INT64_MAX : (int64_t)capacity;
	int64_t a = allocated > INT64_MAX ? INT64_MAX : (int64_t)allocated;

	return c - a;	/* both >= 0: cannot overflow */
}

/* ---- hosts -------------------------------------------------------------- */

static void
add_instance(struct status_host *sh, size_t *alloc, const char *name,
	     const char *project, const char *status, const char *plan,
	     const struct m_offer *mp)
{
	struct status_instance *si;

	ALLOC_GROW(sh->instances, sh->ninstances + 1, *alloc);
	si = &sh->instances[sh->ninstances++];
	si->name = name;
	si->project = project ? project : "default";
	si->status = status;
	si->plan = plan;
	si->offer = mp;
	if (mp) {
		sh->allocated[RES_CPU] = add_u64(sh->allocated[RES_CPU], mp->cpu);
		sh->allocated[RES_MEMORY] = add_u64(sh->allocated[RES_MEMORY], mp->memory);
		sh->allocated[RES_DISK] = add_u64(sh->allocated[RES_DISK], mp->disk);
	}
}

int64_t
status_window_ms(const struct m_host *h)
{
	uint64_t interval = h->agent_interval_ms ? h->agent_interval_ms : 30000;
	uint64_t w = interval > (uint64_t)INT64_MAX / 3 ? (uint64_t)INT64_MAX : interval * 3;

	return w > STATUS_MIN_WINDOW_MS ? (int64_t)w : STATUS_MIN_WINDOW_MS;
}

static void
host_health(struct status_host *sh, const struct host_report *hr, int64_t now_ms)
{
	sh->window_ms = status_window_ms(sh->host);
	if (!hr) {
		sh->health = HEALTH_NO_AGENT;
		sh->report_age_ms = -1;
		return;
	}
	sh->report = hr->report;
	sh->received_ms = hr->received_ms;
	if (now_ms <= hr->received_ms)
		sh->report_age_ms = 0;
	else if (hr->received_ms < 0 && now_ms > INT64_MAX + hr->received_ms)
		sh->report_age_ms = INT64_MAX;
	else
		sh->report_age_ms = now_ms - hr->received_ms;
	sh->health = sh->report_age_ms <= sh->window_ms ? HEALTH_ONLINE : HEALTH_OFFLINE;
}

/*
 * The instances of sh: those its report lists, then the Instance manifests
 * pinned to it that the report does not list (by project and name).
 */
static void
host_instances(const struct fleet *f, struct status_host *sh,
	       const size_t *pinned, size_t npinned)
{
	const struct report *r = sh->report;
	json_t *seen = NULL;
	struct buf key = BUF_INIT;
	size_t alloc = 0, i;

	for (i = 0; r && i < r->ninstances; i++) {
		const struct report_instance *ri = &r->instances[i];

		add_instance(sh, &alloc, ri->name, ri->project, ri->status, ri->plan,
			     ri->plan ? fleet_offer(f, ri->plan) : NULL);
	}
	if (!npinned)
		return;
	if (r && r->ninstances) {
		seen = json_object();
		for (i = 0; i < r->ninstances; i++) {
			buf_reset(&key);
			buf_addf(&key, "%s/%s", r->instances[i].project ?
				 r->instances[i].project : "default", r->instances[i].name);
			json_object_set_new(seen, key.buf, json_true());
		}
	}
	for (i = 0; i < npinned; i++) {
		const struct m_instance *in = &f->instances[pinned[i]];

		if (seen) {
			buf_reset(&key);
			buf_addf(&key, "%s/%s", in->project ? in->project : "default",
				 in->meta.name);
			if (json_object_get(seen, key.buf))
				continue;
		}
		add_instance(sh, &alloc, in->meta.name, in->project, "declared",
			     in->plan_name, in->offer ? in->offer : fleet_offer(f, in->plan_name));
	}
	json_decref(seen);
	buf_release(&key);
}

/* ---- pools -------------------------------------------------------------- */

static void
member_resources(const struct m_pool *p, struct status_member *m)
{
	const struct m_host *h = m->host->host;
	const struct report *r = m->host->report;
	const struct report_pool *rp;
	int i;

	m->res[RES_CPU].declared = h->capacity.cpu;
	m->res[RES_MEMORY].declared = h->capacity.memory;
	m->res[RES_DISK].declared = h->capacity.disk;
	if (r) {
		m->res[RES_CPU].reported = r->cpu_threads;
		m->res[RES_MEMORY].reported = r->mem_total;
		rp = p->storage_pool ? report_pool(r, p->storage_pool) : NULL;
		m->res[RES_DISK].reported = rp ? rp->total : 0;
		m->storage_error = rp ? rp->error : NULL;
	}
	for (i = 0; i < RES__COUNT; i++) {
		struct status_resource *x = &m->res[i];

		if (x->declared && x->reported)
			x->base = x->declared < x->reported ? x->declared : x->reported;
		else
			x->base = x->declared ? x->declared : x->reported;
		x->capacity = capacity_of(x->base, p->overcommit_milli[i], p->reserve_bp[i]);
		x->allocated = m->host->allocated[i];
		x->free = free_of(x->capacity, x->allocated);
	}
}

/* May offer pl go on host h of its pool (the provider rule, not retired)? */
static int
offer_for_host(const struct m_offer *pl, const struct m_host *h)
{
	return pl->availability != AVAIL_RETIRED && offer_provider_allows(pl, h);
}

static int
member_full(const struct fleet *f, const struct m_pool *p, const struct status_member *m)
{
	const struct m_host *h = m->host->host;
	int any = 0;
	size_t i;

	for (i = 0; i < f->noffers; i++) {
		const struct m_offer *pl = &f->offers[i];

		if (pl->pool != p && (pl->pool || !pl->pool_name ||
				      strcmp(pl->pool_name, p->meta.name)))
			continue;
		if (!offer_for_host(pl, h))
			continue;
		any = 1;
		if (m->res[RES_CPU].free >= 0 && m->res[RES_MEMORY].free >= 0 &&
		    m->res[RES_DISK].free >= 0 &&
		    pl->cpu <= (uint64_t)m->res[RES_CPU].free &&
		    pl->memory <= (uint64_t)m->res[RES_MEMORY].free &&
		    pl->disk <= (uint64_t)m->res[RES_DISK].free)
			return 0;
	}
	if (any)
		return 1;
	for (i = 0; i < RES__COUNT; i++)
		if (m->res[i].free <= 0)
			return 1;
	return 0;
}

static enum sched_reason
member_reason(const struct fleet *f, const struct m_pool *p, const struct status_member *m)
{
	const struct status_host *sh = m->host;
	const struct m_host *h = sh->host;

	if (h->review == REVIEW_PENDING)
		return SCHED_PENDING_REVIEW;
	if (h->review == REVIEW_REJECTED)
		return SCHED_REJECTED;
	if (h->state == HOST_CORDONED)
		return SCHED_CORDONED;
	if (h->state == HOST_DRAINING)
		return SCHED_DRAINING;
	if (sh->health == HEALTH_OFFLINE)
		return SCHED_OFFLINE;
	if (sh->health == HEALTH_NO_AGENT && p->require_agent)
		return SCHED_NO_AGENT;
	if (m->storage_error)
		return SCHED_STORAGE_UNAVAILABLE;
	if (p->supply == SUPPLY_CLOSED)
		return SCHED_POOL_CLOSED;
	if (member_full(f, p, m))
		return SCHED_FULL;
	return SCHED_OK;
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

/*
 * The cluster whose storage pool name lives on storage every member shares
 * (ceph, cephfs, lvmcluster), for host h; NULL otherwise.
 */
static const struct m_cluster *
shared_storage(const struct m_host *h, const char *name)
{
	const struct m_cluster *c = h->cluster;
	size_t i;

	if (!c || !name)
		return NULL;
	for (i = 0; i < c->nstorage_pools; i++) {
		const char *d = c->storage_pools[i].driver;

		if (!strcmp(c->storage_pools[i].name, name))
			return d && (!strcmp(d, "ceph") || !strcmp(d, "cephfs") ||
				     !strcmp(d, "lvmcluster")) ? c : NULL;
	}
	return NULL;
}

/*
 * Members on one cluster's shared storage hold one disk between them: each
 * gets the largest capacity any of them has and the disk all of them
 * allocate, and only the first counts in the pool's total.
 */
static void
share_disk(const struct m_pool *p, struct status_pool *sp)
{
	size_t j, k;

	for (j = 0; j < sp->nmembers; j++) {
		struct status_member *m = &sp->members[j];
		const struct m_cluster *c = shared_storage(m->host->host, p->storage_pool);
		struct status_resource d;

		if (!c || m->disk_shared)
			continue;
		d = m->res[RES_DISK];
		d.allocated = 0;
		/* the same pool of the same cluster: shared for every member of c */
		for (k = j; k < sp->nmembers; k++) {
			const struct status_resource *x = &sp->members[k].res[RES_DISK];

			if (sp->members[k].host->host->cluster != c)
				continue;
			if (x->capacity > d.capacity) {
				d.declared = x->declared;
				d.base = x->base;
				d.capacity = x->capacity;
			}
			if (x->reported > d.reported)
				d.reported = x->reported;
			d.allocated = add_u64(d.allocated, x->allocated);
		}
		d.free = free_of(d.capacity, d.allocated);
		for (k = j; k < sp->nmembers; k++) {
			struct status_member *x = &sp->members[k];

			if (x->host->host->cluster != c)
				continue;
			x->res[RES_DISK] = d;
			x->disk_shared = k == j ? 1 : 2;
		}
	}
}

static void
build_pool(const struct fleet *f, struct status *s, const struct m_pool *p,
	   struct status_pool *sp)
{
	size_t j;
	int i;

	sp->pool = p;
	sp->members = xcalloc(p->nhosts ? p->nhosts : 1, sizeof(*sp->members));
	for (j = 0; j < p->nhosts; j++) {
		struct status_member *m = &sp->members[sp->nmembers];

		if (p->hosts[j] < f->hosts || p->hosts[j] >= f->hosts + f->nhosts)
			continue;	/* not one of f's hosts: cannot happen */
		m->host = &s->hosts[p->hosts[j] - f->hosts];
		member_resources(p, m);
		sp->nmembers++;
	}
	share_disk(p, sp);
	for (j = 0; j < sp->nmembers; j++) {
		struct status_member *m = &sp->members[j];
		struct status_host *sh = m->host;

		m->reason = member_reason(f, p, m);
		if (m->reason == SCHED_OK) {
			sp->nschedulable++;
			sh->schedulable = 1;
		}
		if (!sh->npools++)
			sh->reason = m->reason;
		if (p->require_agent && !sh->agent_required_by)
			sh->agent_required_by = p;
		for (i = 0; i < RES__COUNT; i++)
			if (i != RES_DISK || m->disk_shared < 2)
				add_total(&sp->total[i], &m->res[i]);
	}
}

struct status *
status_build(const struct fleet *f, const struct host_report *reports,
	     size_t nreports, int64_t now_ms)
{
	struct status *s = xcalloc(1, sizeof(*s));
	const struct host_report **latest;
	size_t **pinned, *npinned, *apinned, i;

	s->fleet = f;
	s->now_ms = now_ms;
	s->nhosts = f->nhosts;
	s->hosts = xcalloc(f->nhosts ? f->nhosts : 1, sizeof(*s->hosts));
	latest = xcalloc(f->nhosts ? f->nhosts : 1, sizeof(*latest));
	pinned = xcalloc(f->nhosts ? f->nhosts : 1, sizeof(*pinned));
	npinned = xcalloc(f->nhosts ? f->nhosts : 1, sizeof(*npinned));
	apinned = xcalloc(f->nhosts ? f->nhosts : 1, sizeof(*apinned));

	/* The latest report of each host of f; others are ignored. */
	for (i = 0; i < nreports; i++) {
		const struct m_host *h;
		size_t k;

		if (!reports[i].host || !reports[i].report ||
		    !(h = fleet_host(f, reports[i].host)))
			continue;
		k = (size_t)(h - f->hosts);
		if (!latest[k] || reports[i].received_ms > latest[k]->received_ms)
			latest[k] = &reports[i];
	}
	/* Instance manifests by the host they are pinned to. */
	for (i = 0; i < f->ninstances; i++) {
		const struct m_instance *in = &f->instances[i];
		const struct m_host *h = in->host ? in->host :
			in->host_name ? fleet_host(f, in->host_name) : NULL;
		size_t k;

		if (!h)
			continue;
		k = (size_t)(h - f->hosts);
		ALLOC_GROW(pinned[k], npinned[k] + 1, apinned[k]);
		pinned[k][npinned[k]++] = i;
	}
	for (i = 0; i < f->nhosts; i++) {
		struct status_host *sh = &s->hosts[i];

		sh->host = &f->hosts[i];
		host_health(sh, latest[i], now_ms);
		host_instances(f, sh, pinned[i], npinned[i]);
	}
	s->npools = f->npools;
	s->pools = xcalloc(f->npools ? f->npools : 1, sizeof(*s->pools));
	for (i = 0; i < f->npools; i++)
		build_pool(f, s, &f->pools[i], &s->pools[i]);
	for (i = 0; i < f->nhosts; i++)
		if (s->hosts[i].schedulable)
			s->hosts[i].reason = SCHED_OK;
	for (i = 0; i < f->nhosts; i++)
		free(pinned[i]);
	free(pinned);
	free(npinned);
	free(apinned);
	free(latest);
	return s;
}

void
status_free(struct status *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nhosts; i++)
		free(s->hosts[i].instances);
	for (i = 0; i < s->npools; i++)
		free(s->pools[i].members);
	free(s->hosts);
	free(s->pools);
	free(s);
}

const struct status_host *
status_host(const struct status *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (!strcmp(s->hosts[i].host->meta.name, name))
			return &s->hosts[i];
	return NULL;
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *
jint_u(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *
jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
time_json(int64_t ms)
{
	char t[40];

	clock_format(ms, 0, t, sizeof(t));
	return json_string(t);
}

static json_t *
resource_json(const struct status_resource *x)
{
	json_t *o = json_object();

	json_object_set_new(o, "declared", jint_u(x->declared));
	json_object_set_new(o, "reported", jint_u(x->reported));
	json_object_set_new(o, "base", jint_u(x->base));
	json_object_set_new(o, "capacity", jint_u(x->capacity));
	json_object_set_new(o, "allocated", jint_u(x->allocated));
	json_object_set_new(o, "free", json_integer((json_int_t)x->free));
	return o;
}

static json_t *
resources_json(const struct status_resource *res)
{
	json_t *o = json_object();
	int i;

	for (i = 0; i < RES__COUNT; i++)
		json_object_set_new(o, resource_name(i), resource_json(&res[i]));
	return o;
}

static const char *
review_name(enum review r)
{
	return r == REVIEW_PENDING ? "pending" : r == REVIEW_REJECTED ? "rejected" : "approved";
}

static const char *
state_name(enum host_state st)
{
	return st == HOST_CORDONED ? "cordoned" : st == HOST_DRAINING ? "draining" : "active";
}

static json_t *
reason_json(enum sched_reason r)
{
	return r == SCHED_OK ? json_null() : json_string(sched_reason_name(r));
}

long
status_instances_left(const struct status_host *h)
{
	if (h->host->state != HOST_DRAINING || !h->report)
		return -1;
	return (long)h->ninstances;
}

static json_t *
host_json(const struct status *s, const struct status_host *sh)
{
	const struct m_host *h = sh->host;
	json_t *o = json_object(), *a = json_object(), *ins = json_array(), *pools = json_array();
	size_t i, j;
	int k;

	json_object_set_new(o, "name", json_string(h->meta.name));
	json_object_set_new(o, "provider", json_string(h->meta.provider ? h->meta.provider
							     : "platform"));
	json_object_set_new(o, "cluster", jstr_or_null(h->cluster_name));
	json_object_set_new(o, "review", json_string(review_name(h->review)));
	json_object_set_new(o, "state", json_string(state_name(h->state)));
	json_object_set_new(o, "health", json_string(host_health_name(sh->health)));
	json_object_set_new(o, "last_report", sh->report ? time_json(sh->received_ms)
							 : json_null());
	json_object_set_new(o, "report_age_seconds", sh->report_age_ms < 0 ? json_null()
			    : json_integer((json_int_t)(sh->report_age_ms / 1000)));
	json_object_set_new(o, "window_seconds", json_integer((json_int_t)(sh->window_ms / 1000)));
	if (sh->report) {
		json_t *ag = json_object();

		json_object_set_new(ag, "version", jstr_or_null(sh->report->agent_version));
		json_object_set_new(ag, "build", jstr_or_null(sh->report->agent_build));
		json_object_set_new(ag, "interval_seconds", jint_u(sh->report->interval_s));
		json_object_set_new(o, "agent", ag);
	} else {
		json_object_set_new(o, "agent", json_null());
	}
	for (i = 0; i < s->npools; i++)
		for (j = 0; j < s->pools[i].nmembers; j++)
			if (s->pools[i].members[j].host == sh)
				json_array_append_new(pools, json_string(
					s->pools[i].pool->meta.name));
	json_object_set_new(o, "pools", pools);
	json_object_set_new(o, "schedulable", json_boolean(sh->schedulable));
	json_object_set_new(o, "reason", sh->npools ? reason_json(sh->reason)
						    : json_string("in no pool"));
	for (k = 0; k < RES__COUNT; k++)
		json_object_set_new(a, resource_name(k), jint_u(sh->allocated[k]));
	json_object_set_new(o, "allocated", a);
	for (i = 0; i < sh->ninstances; i++) {
		const struct status_instance *si = &sh->instances[i];
		json_t *x = json_object();

		json_object_set_new(x, "name", json_string(si->name));
		json_object_set_new(x, "project", json_string(si->project));
		json_object_set_new(x, "status", jstr_or_null(si->status));
		json_object_set_new(x, "plan", jstr_or_null(si->plan));
		json_object_set_new(x, "counted", json_boolean(si->offer != NULL));
		json_array_append_new(ins, x);
	}
	json_object_set_new(o, "instances", ins);
	json_object_set_new(o, "instances_left", status_instances_left(sh) < 0 ? json_null() :
			    json_integer(status_instances_left(sh)));
	return o;
}

/* 1500 -> 1.5 */
static json_t *
ratio_json(uint32_t milli)
{
	if (milli % 1000 == 0)
		return json_integer(milli / 1000);
	return json_real(milli / 1000.0);
}

/* 1050 basis points -> "10.5%" */
static json_t *
percent_json(uint32_t bp)
{
	char s[32];

	if (bp % 100 == 0)
		snprintf(s, sizeof(s), "%u%%", bp / 100);
	else if (bp % 10 == 0)
		snprintf(s, sizeof(s), "%u.%u%%", bp / 100, bp % 100 / 10);
	else
		snprintf(s, sizeof(s), "%u.%02u%%", bp / 100, bp % 100);
	return json_string(s);
}

static const char *
availability_name(enum availability a)
{
	return a == AVAIL_HIDDEN ? "hidden" : a == AVAIL_RETIRED ? "retired" : "on-sale";
}

/* The Plans of pool p, in manifest order: what each sells and at what price. */
static json_t *
pool_plans_json(const struct fleet *f, const struct m_pool *p)
{
	json_t *a = json_array();
	char amount[48];
	size_t i;

	for (i = 0; i < f->noffers; i++) {
		const struct m_offer *pl = &f->offers[i];

		if (pl->pool != p && (pl->pool || !pl->pool_name ||
				      strcmp(pl->pool_name, p->meta.name)))
			continue;
		money_decimal(pl->price.minor, pl->price.exponent, amount, sizeof(amount));
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:{s:s, s:s, s:s}}",
			"name", pl->meta.name,
			"provider", pl->meta.provider ? pl->meta.provider : "platform",
			"availability", availability_name(pl->availability),
			"cpu", jint_u(pl->cpu), "memory", jint_u(pl->memory), "disk", jint_u(pl->disk),
			"price", "amount", amount, "currency", pl->price.currency,
			"cycle", cycle_name(pl->cycle)));
	}
	return a;
}

static json_t *
pool_json(const struct status *s, const struct status_pool *sp)
{
	const struct m_pool *p = sp->pool;
	json_t *o = json_object(), *oc = json_object(), *rs = json_object(), *ms = json_array();
	size_t j;
	int i;

	json_object_set_new(o, "name", json_string(p->meta.name));
	json_object_set_new(o, "storage_pool", jstr_or_null(p->storage_pool));
	json_object_set_new(o, "supply", json_string(p->supply == SUPPLY_CLOSED ? "closed" : "open"));
	json_object_set_new(o, "placement", json_string(p->placement == PLACEMENT_PACK ? "pack"
								  : "spread"));
	json_object_set_new(o, "require_agent", json_boolean(p->require_agent));
	for (i = 0; i < RES__COUNT; i++) {
		json_object_set_new(oc, resource_name(i), ratio_json(p->overcommit_milli[i]));
		json_object_set_new(rs, resource_name(i), percent_json(p->reserve_bp[i]));
	}
	json_object_set_new(o, "overcommit", oc);
	json_object_set_new(o, "reserve", rs);
	json_object_set_new(o, "hosts", json_integer((json_int_t)sp->nmembers));
	json_object_set_new(o, "schedulable", json_integer((json_int_t)sp->nschedulable));
	json_object_set_new(o, "total", resources_json(sp->total));
	for (j = 0; j < sp->nmembers; j++) {
		const struct status_member *m = &sp->members[j];
		json_t *x = json_object();

		json_object_set_new(x, "host", json_string(m->host->host->meta.name));
		json_object_set_new(x, "health", json_string(host_health_name(m->host->health)));
		json_object_set_new(x, "schedulable", json_boolean(m->reason == SCHED_OK));
		json_object_set_new(x, "reason", reason_json(m->reason));
		json_object_set_new(x, "storage_error", jstr_or_null(m->storage_error));
		json_object_set_new(x, "disk_shared", json_boolean(m->disk_shared));
		json_object_set_new(x, "resources", resources_json(m->res));
		json_array_append_new(ms, x);
	}
	json_object_set_new(o, "members", ms);
	json_object_set_new(o, "plans", pool_plans_json(s->fleet, p));
	return o;
}

json_t *
status_to_json(const struct status *s)
{
	json_t *doc = json_object(), *hosts = json_array(), *pools = json_array();
	size_t i;

	json_object_set_new(doc, "format_version", json_string("1.0"));
	json_object_set_new(doc, "time", time_json(s->now_ms));
	for (i = 0; i < s->nhosts; i++)
		json_array_append_new(hosts, host_json(s, &s->hosts[i]));
	for (i = 0; i < s->npools; i++)
		json_array_append_new(pools, pool_json(s, &s->pools[i]));
	json_object_set_new(doc, "hosts", hosts);
	json_object_set_new(doc, "pools", pools);
	return doc;
}
