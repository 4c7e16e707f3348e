/*
 * place.c - placement of new instances by capacity (see place.h for the
 * rules). Pure: the status and the fleet come in, nothing else is read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/place.h"
#include "util/buf.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

__extension__ typedef __int128 i128;

const char *
place_code_name(enum place_code c)
{
	switch (c) {
	case PLACE_NOT_IN_POOL: return "not-in-pool";
	case PLACE_REVIEW_PENDING: return "review-pending";
	case PLACE_REVIEW_REJECTED: return "review-rejected";
	case PLACE_CORDONED: return "cordoned";
	case PLACE_DRAINING: return "draining";
	case PLACE_AGENT_OFFLINE: return "agent-offline";
	case PLACE_NO_AGENT: return "no-agent";
	case PLACE_SUPPLY_CLOSED: return "supply-closed";
	case PLACE_PLAN_RETIRED: return "plan-retired";
	case PLACE_PROVIDER_MISMATCH: return "provider-mismatch";
	case PLACE_STORAGE_UNAVAILABLE: return "storage-unavailable";
	case PLACE_INSUFFICIENT_CPU: return "insufficient-cpu";
	case PLACE_INSUFFICIENT_MEMORY: return "insufficient-memory";
	case PLACE_INSUFFICIENT_DISK: return "insufficient-disk";
	case PLACE__COUNT: break;
	}
	return "?";
}

void
placer_init(struct placer *p, const struct status *s)
{
	p->s = s;
	p->placed = xcalloc(s->nhosts ? s->nhosts : 1, sizeof(*p->placed));
}

void
placer_release(struct placer *p)
{
	free(p->placed);
	p->placed = NULL;
	p->s = NULL;
}

static const struct status_pool *
pool_of(const struct status *s, const struct m_offer *o)
{
	size_t i;

	for (i = 0; i < s->npools; i++)
		if (o->pool && s->pools[i].pool == o->pool)
			return &s->pools[i];
	return NULL;
}

static const struct status_member *
member_of(const struct status_pool *sp, const struct status_host *sh)
{
	size_t i;

	for (i = 0; sp && i < sp->nmembers; i++)
		if (sp->members[i].host == sh)
			return &sp->members[i];
	return NULL;
}

static size_t
host_index(const struct status *s, const struct status_host *sh)
{
	return (size_t)(sh - s->hosts);
}

static uint64_t
need_of(const struct m_offer *o, int r)
{
	return r == RES_CPU ? o->cpu : r == RES_MEMORY ? o->memory : o->disk;
}

static int64_t
sub_sat(int64_t a, uint64_t b)
{
	if (b > (uint64_t)INT64_MAX || a < INT64_MIN + (int64_t)b)
		return INT64_MIN;
	return a - (int64_t)b;
}

/*
 * Free of member m after what the placer placed: on a cluster's shared
 * storage, the disk placed on any member of that cluster in the pool.
 */
static void
member_free(const struct placer *p, const struct status_pool *sp,
	    const struct status_member *m, int64_t free_out[RES__COUNT])
{
	size_t i, hi = host_index(p->s, m->host);
	int r;

	for (r = 0; r < RES__COUNT; r++)
		free_out[r] = sub_sat(m->res[r].free, p->placed[hi][r]);
	if (!m->disk_shared)
		return;
	free_out[RES_DISK] = m->res[RES_DISK].free;
	for (i = 0; i < sp->nmembers; i++) {
		const struct status_member *x = &sp->members[i];

		if (x->disk_shared && x->host->host->cluster == m->host->host->cluster)
			free_out[RES_DISK] = sub_sat(free_out[RES_DISK],
						     p->placed[host_index(p->s, x->host)][RES_DISK]);
	}
}

static void
add_reason(struct place_check *c, enum place_code code, uint64_t want, int64_t free)
{
	struct place_reason *r = &c->reasons[c->nreasons++];

	r->code = code;
	r->want = want;
	r->free = free;
}

/* May member m of sp take one instance of o now? */
static void
check_member(const struct placer *p, const struct m_offer *o,
	     const struct status_pool *sp, const struct status_member *m,
	     struct place_check *c)
{
	const struct status_host *sh = m->host;
	const struct m_host *h = sh->host;
	int r;

	c->nreasons = 0;	/* no memset: this runs for every member per decision */
	member_free(p, sp, m, c->free);
	if (h->review == REVIEW_PENDING)
		add_reason(c, PLACE_REVIEW_PENDING, 0, 0);
	if (h->review == REVIEW_REJECTED)
		add_reason(c, PLACE_REVIEW_REJECTED, 0, 0);
	if (h->state == HOST_CORDONED)
		add_reason(c, PLACE_CORDONED, 0, 0);
	if (h->state == HOST_DRAINING)
		add_reason(c, PLACE_DRAINING, 0, 0);
	if (sh->health == HEALTH_OFFLINE)
		add_reason(c, PLACE_AGENT_OFFLINE, 0, 0);
	if (sh->health == HEALTH_NO_AGENT && sp->pool->require_agent)
		add_reason(c, PLACE_NO_AGENT, 0, 0);
	if (sp->pool->supply == SUPPLY_CLOSED)
		add_reason(c, PLACE_SUPPLY_CLOSED, 0, 0);
	if (o->availability == AVAIL_RETIRED)
		add_reason(c, PLACE_PLAN_RETIRED, 0, 0);
	if (!offer_provider_allows(o, h))
		add_reason(c, PLACE_PROVIDER_MISMATCH, 0, 0);
	if (m->storage_error)
		add_reason(c, PLACE_STORAGE_UNAVAILABLE, 0, 0);
	for (r = 0; r < RES__COUNT; r++) {
		uint64_t want = need_of(o, r);

		if (c->free[r] < 0 || want > (uint64_t)c->free[r])
			add_reason(c, (enum place_code)(PLACE_INSUFFICIENT_CPU + r), want,
				   c->free[r]);
	}
	c->eligible = c->nreasons == 0;
}

void
place_check_host(const struct placer *p, const struct m_offer *o,
		 const struct status_host *sh, struct place_check *c)
{
	const struct status_pool *sp = pool_of(p->s, o);
	const struct status_member *m = member_of(sp, sh);

	if (m) {
		check_member(p, o, sp, m, c);
		return;
	}
	memset(c, 0, sizeof(*c));
	add_reason(c, PLACE_NOT_IN_POOL, 0, 0);
}

/*
 * The scarcest resource's fraction left after placing o on member m:
 * num / den, the smallest (free - need) / capacity over the resources o
 * needs (over every resource with a capacity when o needs none).
 */
static void
scarcest(const struct status_member *m, const int64_t free[RES__COUNT],
	 const struct m_offer *o, i128 *num, i128 *den)
{
	int r, any = 0, pass;

	*num = 0;
	*den = 1;
	for (pass = 0; pass < 2 && !any; pass++) {
		for (r = 0; r < RES__COUNT; r++) {
			uint64_t cap = m->res[r].capacity;
			i128 n;

			if (!cap || (pass == 0 && !need_of(o, r)))
				continue;
			n = (i128)free[r] - (i128)need_of(o, r);
			/* n / cap < num / den */
			if (!any || n * *den < *num * (i128)cap) {
				*num = n;
				*den = cap;
			}
			any = 1;
		}
	}
}

const struct status_host *
place_one(struct placer *p, const struct m_offer *o)
{
	const struct status_pool *sp = pool_of(p->s, o);
	const struct status_member *best = NULL;
	i128 bn = 0, bd = 1;
	size_t i;

	for (i = 0; sp && i < sp->nmembers; i++) {
		const struct status_member *m = &sp->members[i];
		struct place_check c;
		i128 n, d;
		int better;

		check_member(p, o, sp, m, &c);
		if (!c.eligible)
			continue;
		scarcest(m, c.free, o, &n, &d);
		if (!best) {
			better = 1;
		} else {
			i128 l = n * bd, rgt = bn * d;

			if (l == rgt)
				better = strcmp(m->host->host->meta.name,
						best->host->host->meta.name) < 0;
			else if (sp->pool->placement == PLACEMENT_PACK)
				better = l < rgt;
			else
				better = l > rgt;
		}
		if (better) {
			best = m;
			bn = n;
			bd = d;
		}
	}
	if (!best)
		return NULL;
	place_commit(p, o, best->host);
	return best->host;
}

void
place_commit(struct placer *p, const struct m_offer *o, const struct status_host *sh)
{
	size_t hi = host_index(p->s, sh);
	int r;

	for (r = 0; r < RES__COUNT; r++)
		p->placed[hi][r] += need_of(o, r);
}

static int
by_name(const void *a, const void *b)
{
	const struct place_host *x = a, *y = b;

	return strcmp(x->host->host->meta.name, y->host->host->meta.name);
}

/* Every host's check, before or after the decision (hosts in status order). */
static void
check_all(const struct placer *p, const struct m_offer *o, struct place_decision *d,
	  int after)
{
	const struct status_pool *sp = pool_of(p->s, o);
	size_t i;

	for (i = 0; i < d->nhosts; i++) {
		struct place_check *c = after ? &d->hosts[i].after : &d->hosts[i].before;

		memset(c, 0, sizeof(*c));
		add_reason(c, PLACE_NOT_IN_POOL, 0, 0);
	}
	for (i = 0; sp && i < sp->nmembers; i++) {
		struct place_host *ph = &d->hosts[host_index(p->s, sp->members[i].host)];

		check_member(p, o, sp, &sp->members[i], after ? &ph->after : &ph->before);
	}
}

void
place_decide(struct placer *p, const struct m_offer *o, size_t count,
	     struct place_decision *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->offer = o;
	d->count = count;
	d->placements = xcalloc(count ? count : 1, sizeof(*d->placements));
	d->nhosts = p->s->nhosts;
	d->hosts = xcalloc(d->nhosts ? d->nhosts : 1, sizeof(*d->hosts));
	for (i = 0; i < d->nhosts; i++)
		d->hosts[i].host = &p->s->hosts[i];
	check_all(p, o, d, 0);
	for (i = 0; i < d->nhosts; i++)
		d->neligible += d->hosts[i].before.eligible;
	while (d->nplaced < count) {
		const struct status_host *sh = place_one(p, o);

		if (!sh)
			break;
		d->placements[d->nplaced++] = sh;
		d->hosts[host_index(p->s, sh)].placed++;
	}
	check_all(p, o, d, 1);
	qsort(d->hosts, d->nhosts, sizeof(*d->hosts), by_name);
}

void
place_decision_release(struct place_decision *d)
{
	free(d->placements);
	free(d->hosts);
	memset(d, 0, sizeof(*d));
}

static void
add_amount(struct buf *b, int r, int64_t v)
{
	char tmp[64];

	if (r == RES_CPU || v < 0) {
		buf_addf(b, "%" PRId64, v);
		return;
	}
	format_size((uint64_t)v, tmp, sizeof(tmp));
	buf_addstr(b, tmp);
}

char *
place_reason_text(const struct place_reason *r)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, place_code_name(r->code));
	if (r->code >= PLACE_INSUFFICIENT_CPU && r->code <= PLACE_INSUFFICIENT_DISK) {
		int res = (int)(r->code - PLACE_INSUFFICIENT_CPU);

		buf_addstr(&b, " (want ");
		add_amount(&b, res, (int64_t)r->want);
		buf_addstr(&b, ", free ");
		add_amount(&b, res, r->free);
		buf_addstr(&b, ")");
	}
	return buf_detach(&b, NULL);
}

/* Hosts refused (by check c of each), named or counted per first reason. */
static void
add_refusals(struct buf *b, const struct place_decision *d, int after)
{
	size_t i, n = 0, counts[PLACE__COUNT] = { 0 };
	const char *sep = ": ";
	int k;

	for (i = 0; i < d->nhosts; i++) {
		const struct place_check *c = after ? &d->hosts[i].after : &d->hosts[i].before;

		if (c->eligible || c->reasons[0].code == PLACE_NOT_IN_POOL)
			continue;
		n++;
		counts[c->reasons[0].code]++;
	}
	if (n > 5) {
		for (;;) {
			size_t most = 0;
			int at = -1;

			for (k = 0; k < PLACE__COUNT; k++)
				if (counts[k] > most) {
					most = counts[k];
					at = k;
				}
			if (at < 0)
				break;
			buf_addf(b, "%s%zu %s", sep, most, place_code_name((enum place_code)at));
			counts[at] = 0;
			sep = ", ";
		}
		return;
	}
	for (i = 0; i < d->nhosts; i++) {
		const struct place_check *c = after ? &d->hosts[i].after : &d->hosts[i].before;
		char *t;

		if (c->eligible || c->reasons[0].code == PLACE_NOT_IN_POOL)
			continue;
		t = place_reason_text(&c->reasons[0]);
		buf_addf(b, "%s%s %s", sep, d->hosts[i].host->host->meta.name, t);
		free(t);
		sep = ", ";
	}
}

char *
place_summary(const struct place_decision *d)
{
	struct buf b = BUF_INIT;
	size_t i, members = 0;

	for (i = 0; i < d->nhosts; i++)
		members += d->hosts[i].before.reasons[0].code != PLACE_NOT_IN_POOL ||
			   d->hosts[i].before.eligible;
	buf_addf(&b, "%zu of %zu hosts can take %s", d->neligible, members,
		 d->offer->meta.name);
	if (d->neligible < members)
		add_refusals(&b, d, 0);
	if (d->nplaced < d->count) {
		buf_addf(&b, "; placed %zu of %zu", d->nplaced, d->count);
		if (d->nplaced)
			add_refusals(&b, d, 1);
	}
	return buf_detach(&b, NULL);
}

int
place_request_parse(const char *data, size_t len, char **plan, size_t *count,
		    struct berr *err)
{
	json_error_t je;
	json_t *body, *jc;
	const char *p;
	int r = -1;

	*plan = NULL;
	*count = 1;
	body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(body)) {
		berr_set(err, "want a JSON object like {\"plan\": \"vps-s\", \"count\": 1}");
		goto out;
	}
	jc = json_object_get(body, "count");
	if (jc && (!json_is_integer(jc) || json_integer_value(jc) < 1 ||
		   json_integer_value(jc) > PLACE_MAX_COUNT)) {
		berr_set(err, "count: want an integer from 1 to %d", PLACE_MAX_COUNT);
		goto out;
	}
	if (jc)
		*count = (size_t)json_integer_value(jc);
	if (!(p = json_string_value(json_object_get(body, "plan"))) || !*p) {
		berr_set(err, "plan: want the name of a Plan");
		goto out;
	}
	*plan = xstrdup(p);
	r = 0;
out:
	json_decref(body);
	return r;
}

static json_t *
reasons_json(const struct place_check *c)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < c->nreasons; i++) {
		const struct place_reason *r = &c->reasons[i];
		json_t *x = json_pack("{s:s}", "code", place_code_name(r->code));

		if (r->code >= PLACE_INSUFFICIENT_CPU && r->code <= PLACE_INSUFFICIENT_DISK) {
			json_object_set_new(x, "want", json_integer((json_int_t)r->want));
			json_object_set_new(x, "free", json_integer((json_int_t)r->free));
		}
		json_array_append_new(a, x);
	}
	return a;
}

json_t *
place_decision_to_json(const struct place_decision *d)
{
	json_t *root = json_object(), *pl = json_array(), *hosts = json_array();
	char *summary = place_summary(d);
	size_t i;
	int r;

	json_object_set_new(root, "format_version", json_string("1.0"));
	json_object_set_new(root, "plan", json_string(d->offer->meta.name));
	for (i = 0; i < d->nplaced; i++)
		json_array_append_new(pl, json_pack("{s:s}", "host",
						    d->placements[i]->host->meta.name));
	json_object_set_new(root, "placements", pl);
	json_object_set_new(root, "unplaced", json_integer((json_int_t)(d->count - d->nplaced)));
	json_object_set_new(root, "summary", json_string(summary));
	free(summary);
	for (i = 0; i < d->nhosts; i++) {
		const struct place_host *ph = &d->hosts[i];
		json_t *x = json_pack("{s:s, s:b, s:I}", "host", ph->host->host->meta.name,
				      "eligible", ph->before.eligible,
				      "placed", (json_int_t)ph->placed);

		if (!ph->before.eligible)
			json_object_set_new(x, "reasons", reasons_json(&ph->before));
		if (ph->before.reasons[0].code != PLACE_NOT_IN_POOL || ph->before.eligible) {
			json_t *f = json_object();

			for (r = 0; r < RES__COUNT; r++)
				json_object_set_new(f, resource_name(r),
						    json_integer((json_int_t)ph->before.free[r]));
			json_object_set_new(x, "free", f);
		}
		json_array_append_new(hosts, x);
	}
	json_object_set_new(root, "hosts", hosts);
	return root;
}
