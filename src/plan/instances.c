/*
 * instances.c - where each Instance manifest is, or goes, and what berth
 * sends to create it. Pure, like the rest of src/plan/: the fleet, the
 * observation and the hosts' health (sched/status.h) come in.
 *
 * - An instance that exists (found by name and project on any server) stays
 *   where it is: placement is sticky, unless its host drains or its pin
 *   names another host. Then it moves (struct imove), to the pin or to a
 *   host the same placement chooses; so do the instances no manifest
 *   declares that berth created or sold (on a plan profile) on a draining
 *   host.
 * - One that does not exist is placed (sched/place.h) on a host of its
 *   offer's pool, or on its pinned host when that host may take it; every
 *   instance placed earlier in the run, and every instance that exists but
 *   no agent has reported yet, counts as allocated.
 * - It is not placed while a server that could hold it could not be
 *   observed (it might exist there), nor without the hosts' health.
 * - What it is created with: the offer's profile plan-<offer>, the image
 *   cached on the host under the Image's name, the offer version's cpu and
 *   memory limits and root disk on the instance itself (so that a later
 *   edit of the Plan, which changes the profile, never changes an instance
 *   already sold), and the sold snapshot in user.berth.* keys: plan,
 *   plan-version, price (minor units), currency, cycle, owner, provider.
 *   placed-at is the time of the create, which apply adds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan-int.h"
#include "sched/place.h"
#include "sched/status.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *
project_of(const char *p)
{
	return p && *p ? p : "default";
}

/* The host name an observed instance runs on: its cluster location, else its server's. */
static const char *
host_name(const char *server, const json_t *v)
{
	const char *loc = json_string_value(json_object_get(v, "location"));

	return loc && *loc && strcmp(loc, "none") ? loc : server;
}

/* The host an observed instance runs on: the server's, or its cluster location. */
static const struct m_host *
host_of(const struct fleet *f, const char *server, const json_t *v)
{
	const struct m_host *h = fleet_host(f, server);
	const char *loc = json_string_value(json_object_get(v, "location"));

	if (h && !h->cluster)
		return h;
	return loc ? fleet_host(f, loc) : NULL;
}

/*
 * Is copy (on any server) what an interrupted move of the instance on
 * host left: still marked user.berth.move-pending that host (the mark goes
 * once the source is deleted), running or not?
 */
static int
move_leftover(const json_t *copy, const char *host)
{
	const char *from = json_string_value(json_object_get(json_object_get(copy, "config"),
							     "user.berth.move-pending"));

	return from && !strcmp(from, host);
}

/*
 * The observed instances by project and name: each name's first in a
 * JSON object ("PROJECT\nNAME" -> position), the others of that name
 * chained through next, in the observation's order.
 */
struct oindex {
	json_t *first;
	struct oinst {
		const char *server;
		const json_t *v;
		const char *name;
		const char *project;	/* "default" or another */
		int declared;		/* an Instance manifest declares it */
		int leftover;		/* what an interrupted move left: counts nothing */
		long next;		/* -1: the last of its name */
	} *v;
	size_t n;
};

static void
oindex_build(const struct fleet *f, const json_t *observed, struct oindex *x)
{
	const json_t *s, *v;
	const char *sname;
	long *last;
	size_t i, k;

	x->first = json_object();
	x->n = 0;
	json_object_foreach((json_t *)json_object_get(observed, "servers"), sname, s)
		x->n += json_array_size(json_object_get(s, "instances"));
	x->v = xcalloc(x->n + 1, sizeof(*x->v));
	last = xcalloc(x->n + 1, sizeof(*last));
	k = 0;
	json_object_foreach((json_t *)json_object_get(observed, "servers"), sname, s) {
		json_array_foreach(json_object_get(s, "instances"), i, v) {
			const char *n = json_string_value(json_object_get(v, "name"));
			const char *p = project_of(json_string_value(json_object_get(v, "project")));
			const struct m_instance *in;
			char *key;
			json_t *at;

			if (!n)
				continue;
			in = fleet_instance(f, n);
			key = xasprintf("%s\n%s", p, n);
			x->v[k] = (struct oinst){ sname, v, n, p,
						  in && !strcmp(project_of(in->project), p), 0, -1 };
			if ((at = json_object_get(x->first, key))) {
				/* chain to the last of this name: the first holds its position */
				size_t first = (size_t)json_integer_value(at);

				x->v[last[first]].next = (long)k;
				last[first] = (long)k;
			} else {
				json_object_set_new(x->first, key, json_integer((json_int_t)k));
				last[k] = (long)k;
			}
			free(key);
			k++;
		}
	}
	free(last);
}

/*
 * The copies that interrupted moves left next to their instance (see
 * move_leftover()): one per name at most is the instance, the others
 * pending copies of it.
 */
static void
find_leftovers(struct oindex *x, struct iplan *out)
{
	const char *key;
	json_t *at;

	out->leftovers = xcalloc(x->n + 1, sizeof(*out->leftovers));
	json_object_foreach(x->first, key, at) {
		long a, b, first = (long)json_integer_value(at);

		if (x->v[first].next < 0)
			continue;	/* one of its name: the common case */
		for (a = first; a >= 0; a = x->v[a].next)
			for (b = first; b >= 0; b = x->v[b].next) {
				const char *h = host_name(x->v[b].server, x->v[b].v);

				if (a != b && move_leftover(x->v[a].v, h)) {
					x->v[a].leftover = 1;
					out->leftovers[out->nleftovers++] = (struct ileftover){
						x->v[a].server, x->v[a].v, h };
					break;
				}
			}
	}
}

static void
oindex_release(struct oindex *x)
{
	json_decref(x->first);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

/*
 * The observed instance named name in project, on any server; its server.
 * What interrupted moves left (find_leftovers()) is not it; when two are
 * left, *twice is the host of the second (the instance is on both: NULL
 * otherwise).
 */
static const json_t *
find_instance(const struct oindex *x, const char *name, const char *project,
	      const char **server, const char **twice)
{
	char *key = xasprintf("%s\n%s", project, name);
	const json_t *at = json_object_get(x->first, key), *found = NULL;
	long k;

	free(key);
	*twice = NULL;
	for (k = at ? (long)json_integer_value(at) : -1; k >= 0; k = x->v[k].next) {
		if (x->v[k].leftover)
			continue;
		if (found) {
			if (!*twice)
				*twice = host_name(x->v[k].server, x->v[k].v);
			continue;
		}
		found = x->v[k].v;
		*server = x->v[k].server;
	}
	return found;
}

/* Does the agent's last report of sh list the instance? */
static int
reported(const struct status_host *sh, const char *name, const char *project)
{
	size_t i;

	for (i = 0; i < sh->ninstances; i++)
		if (!strcmp(sh->instances[i].name, name) &&
		    !strcmp(project_of(sh->instances[i].project), project) &&
		    strcmp(sh->instances[i].status, "declared"))
			return 1;
	return 0;
}

/* The server (standalone host or cluster) that holds host h. */
static const char *
server_of(const struct m_host *h)
{
	return h->cluster ? h->cluster->meta.name : h->meta.name;
}

/* A server of o's pool that could not be observed, or NULL. */
static const char *
unobserved_server(const json_t *observed, const struct m_offer *o)
{
	const json_t *servers = json_object_get(observed, "servers");
	size_t i;

	for (i = 0; o->pool && i < o->pool->nhosts; i++) {
		const char *name = server_of(o->pool->hosts[i]);
		const json_t *s = json_object_get(servers, name);

		if (o->pool->hosts[i]->review != REVIEW_APPROVED)
			continue;
		if (!s || json_is_string(json_object_get(s, "error")))
			return name;
	}
	return NULL;
}

json_t *
instance_desired(const struct m_instance *in, const char *member)
{
	const struct m_offer *o = in->offer;
	json_t *v = json_object(), *config = json_object();

	json_object_set_new(v, "name", json_string(in->meta.name));
	json_object_set_new(v, "type", json_string(o->type == TYPE_VM ? "virtual-machine"
								   : "container"));
	json_object_set_new(v, "profiles", json_pack("[s, s+]", "default", "plan-", o->meta.name));
	json_object_set_new(v, "source", json_pack("{s:s, s:s}", "type", "image", "alias",
						   in->image ? in->image->meta.name : in->image_name));
	offer_config(o, config);
	if (in->owner)
		json_object_set_new(config, "user.berth.owner", json_string(in->owner));
	json_object_set_new(v, "config", config);
	json_object_set_new(v, "devices", offer_devices(o));
	json_object_set_new(v, "state", json_string(in->running ? "running" : "stopped"));
	if (member)
		json_object_set_new(v, "target", json_string(member));
	return v;
}

/* "cordoned, insufficient-memory (want 2GiB, free 1GiB)" of check c. */
static char *
reasons_text(const struct place_check *c)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < c->nreasons; i++) {
		char *t = place_reason_text(&c->reasons[i]);

		buf_addf(&b, "%s%s", i ? ", " : "", t);
		free(t);
	}
	return buf_detach(&b, NULL);
}

/*
 * Why the host an instance of o is pinned to cannot take it (owned), or
 * NULL. Status already counts a pinned Instance manifest on its host
 * (reported or not), so its own need is in allocated: only reasons other
 * than capacity, or capacity already overdrawn, refuse it.
 */
static char *
pin_refusal(struct placer *pl, const struct m_offer *o, const struct m_host *pin)
{
	const struct status_host *sh = status_host(pl->s, pin->meta.name);
	struct place_check c;
	size_t i, k = 0;
	char *why, *msg;

	place_check_host(pl, o, sh, &c);
	for (i = 0; i < c.nreasons; i++) {
		const struct place_reason *r = &c.reasons[i];

		if (r->code >= PLACE_INSUFFICIENT_CPU && r->code <= PLACE_INSUFFICIENT_DISK &&
		    r->free >= 0)
			continue;	/* its own need is what is missing: counted already */
		c.reasons[k++] = *r;
	}
	c.nreasons = k;
	if (!k)
		return NULL;
	why = reasons_text(&c);
	msg = xasprintf("pinned to host %s, which cannot take it: %s", pin->meta.name, why);
	free(why);
	return msg;
}

static void
place_pinned(struct placer *pl, const struct m_instance *in, struct iplace *ip)
{
	if ((ip->error = pin_refusal(pl, in->offer, in->host)))
		return;
	ip->host = in->host;
	ip->reason = xasprintf("declared by Instance/%s, absent: pinned to host %s",
			       in->meta.name, in->host->meta.name);
}

static void
place_free(struct placer *pl, const struct m_instance *in, struct iplace *ip)
{
	struct place_decision d;
	char *summary;

	place_decide(pl, in->offer, 1, &d);
	summary = place_summary(&d);
	if (d.nplaced) {
		ip->host = d.placements[0]->host;
		ip->reason = xasprintf("declared by Instance/%s, absent: placed on %s by %s (%s)",
				       in->meta.name, ip->host->meta.name,
				       in->offer->pool->placement == PLACEMENT_PACK ? "pack"
										    : "spread",
				       summary);
	} else {
		ip->error = xasprintf("cannot be placed: %s", summary);
	}
	free(summary);
	place_decision_release(&d);
}

/*
 * Instances on berth's offers that no Instance manifest declares (sold by a
 * panel, or left from an earlier manifest) and no agent has reported yet:
 * they take their offer's resources too.
 */
static void
count_undeclared(const struct fleet *f, const struct oindex *x, struct placer *pl)
{
	size_t k;

	for (k = 0; k < x->n; k++) {
		const struct oinst *oi = &x->v[k];
		const char *plan = json_string_value(json_object_get(
			json_object_get(oi->v, "expanded_config"), "user.berth.plan"));
		const struct m_offer *o = plan ? fleet_offer(f, plan) : NULL;
		const struct m_host *h;
		const struct status_host *sh;

		if (!o || oi->declared || oi->leftover)
			continue;
		h = host_of(f, oi->server, oi->v);
		sh = h ? status_host(pl->s, h->meta.name) : NULL;
		if (sh && !reported(sh, oi->name, oi->project))
			place_commit(pl, o, sh);
	}
}

/* ---- moves -------------------------------------------------------------- */

static int
has_extension(const json_t *observed, const char *server, const char *ext)
{
	const json_t *exts, *v;
	size_t i;

	exts = json_object_get(json_object_get(json_object_get(json_object_get(observed,
		"servers"), server), "server"), "api_extensions");
	json_array_foreach(exts, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), ext))
			return 1;
	return 0;
}

const char *
instance_key(const json_t *v, const char *key, int expanded)
{
	const char *x = json_string_value(json_object_get(json_object_get(v, "config"), key));

	if (!x && expanded)
		x = json_string_value(json_object_get(json_object_get(v, "expanded_config"), key));
	return x;
}

/*
 * A running VM with migration.stateful moves live when both ends can
 * (migration_vm_live); everything else moves cold: stop, move, start.
 */
static int
moves_live(const json_t *observed, const struct imove *mv)
{
	const char *type = json_string_value(json_object_get(mv->obs, "type"));
	const char *st = json_string_value(json_object_get(mv->obs, "status"));
	const char *stateful = instance_key(mv->obs, "migration.stateful", 1);

	return type && !strcmp(type, "virtual-machine") && st && !strcmp(st, "Running") &&
	       stateful && !strcmp(stateful, "true") &&
	       has_extension(observed, mv->server, "migration_vm_live") &&
	       has_extension(observed, mv->to_server, "migration_vm_live");
}

/*
 * Choose where mv goes (o: its plan; pin: the host it is pinned to, or
 * NULL) and count it there. why starts the reason.
 */
static void
move_place(struct placer *pl, const json_t *observed, const struct m_offer *o,
	   const struct m_host *pin, struct imove *mv, const char *why)
{
	struct place_decision d;
	char *summary;

	if (!o || !o->pool) {
		mv->error = xasprintf("%s, but its plan is not in the manifests: no host can be"
				      " chosen for it (move it by hand, or declare its plan)", why);
		return;
	}
	if (pin) {
		char *refused = pin_refusal(pl, o, pin);

		if (refused) {
			mv->error = xasprintf("%s, but it is %s", why, refused);
			free(refused);
			return;
		}
		mv->to = pin;
		mv->reason = xasprintf("%s: to host %s, its pin", why, pin->meta.name);
	} else {
		place_decide(pl, o, 1, &d);
		summary = place_summary(&d);
		if (d.nplaced) {
			mv->to = d.placements[0]->host;
			mv->reason = xasprintf("%s: to %s by %s (%s)", why, mv->to->meta.name,
					       o->pool->placement == PLACEMENT_PACK ? "pack"
										   : "spread",
					       summary);
		} else {
			mv->error = xasprintf("%s, but it cannot be placed: %s", why, summary);
		}
		free(summary);
		place_decision_release(&d);
	}
	if (mv->to) {
		mv->to_server = server_of(mv->to);
		mv->live = moves_live(observed, mv);
	}
}

static struct imove *
move_new(struct iplan *out, const char *server, const json_t *v, const struct m_host *from)
{
	struct imove *mv = &out->moves[out->nmoves++];
	const char *st = json_string_value(json_object_get(v, "status"));

	memset(mv, 0, sizeof(*mv));
	mv->server = server;
	mv->name = json_string_value(json_object_get(v, "name"));
	mv->project = project_of(json_string_value(json_object_get(v, "project")));
	mv->obs = v;
	mv->from = from;
	mv->running = st && !strcmp(st, "Running");
	return mv;
}

/*
 * Instances no manifest declares on a draining host, that berth manages
 * (created by it) or recognises (on the profile of one of its plans):
 * each moves, as it is (running or stopped).
 */
static void
moves_undeclared(const struct fleet *f, const json_t *observed, const struct oindex *x,
		 struct placer *pl, struct iplan *out)
{
	size_t k;

	for (k = 0; k < x->n; k++) {
		const struct oinst *oi = &x->v[k];
		const char *plan = instance_key(oi->v, "user.berth.plan", 1);
		const char *managed = json_string_value(json_object_get(json_object_get(
			oi->v, "config"), "user.berth.managed"));
		const struct m_host *h = host_of(f, oi->server, oi->v);
		struct imove *mv;
		char *why;

		if (!h || h->state != HOST_DRAINING || oi->declared || oi->leftover)
			continue;
		if (!plan && !(managed && !strcmp(managed, "true")))
			continue;	/* not berth's business */
		mv = move_new(out, oi->server, oi->v, h);
		why = xasprintf("host %s is draining", h->meta.name);
		move_place(pl, observed, plan ? fleet_offer(f, plan) : NULL, NULL, mv, why);
		free(why);
	}
}

const struct imove *
iplan_move(const struct iplan *p, const char *server, const char *name, const char *project)
{
	size_t i;

	for (i = 0; i < p->nmoves; i++)
		if (!strcmp(p->moves[i].server, server) && !strcmp(p->moves[i].name, name) &&
		    !strcmp(p->moves[i].project, project_of(project)))
			return &p->moves[i];
	return NULL;
}

void
instances_resolve(const struct fleet *f, const json_t *observed,
		  const struct status *st, struct iplan *out)
{
	struct placer pl = { 0 };
	struct oindex idx;
	size_t i;

	memset(out, 0, sizeof(*out));
	oindex_build(f, observed, &idx);
	out->v = xcalloc(f->ninstances + 1, sizeof(*out->v));
	out->n = f->ninstances;
	/* one move at most per observed instance: pointers into it stay valid */
	out->moves = xcalloc(idx.n + 1, sizeof(*out->moves));
	find_leftovers(&idx, out);
	if (st) {
		placer_init(&pl, st);
		count_undeclared(f, &idx, &pl);
	}
	/* Pass 1: what exists; what no agent reported yet counts as allocated. */
	for (i = 0; i < f->ninstances; i++) {
		const struct m_instance *in = &f->instances[i];
		struct iplace *ip = &out->v[i];
		const char *project = project_of(in->project);
		const struct status_host *sh;
		const char *twice;

		ip->in = in;
		ip->obs = find_instance(&idx, in->meta.name, project, &ip->server, &twice);
		if (!ip->obs)
			continue;
		ip->host = host_of(f, ip->server, ip->obs);
		if (twice) {
			ip->blocked = xasprintf("on %s and on %s (a move that could not delete its"
						" source?): delete the copy that is not the"
						" customer's by hand", host_name(ip->server, ip->obs),
						twice);
			ip->blocked_by = "on two hosts";
		}
		sh = st && ip->host ? status_host(st, ip->host->meta.name) : NULL;
		if (sh && in->offer && !in->host && !reported(sh, in->meta.name, project))
			place_commit(&pl, in->offer, sh);
	}
	/* Pass 2: what leaves its host: declared ones first, then the rest. */
	for (i = 0; st && i < f->ninstances; i++) {
		const struct m_instance *in = &f->instances[i];
		struct iplace *ip = &out->v[i];
		const struct m_host *pin = NULL;
		char *why;

		if (!ip->obs || !ip->host || ip->blocked)
			continue;
		if (in->host && in->host != ip->host) {
			pin = in->host;
			why = xasprintf("pinned to host %s, runs on %s", in->host->meta.name,
					ip->host->meta.name);
		} else if (ip->host->state == HOST_DRAINING && !in->host) {
			why = xasprintf("host %s is draining", ip->host->meta.name);
		} else {
			if (ip->host->state == HOST_DRAINING) {
				ip->blocked = xasprintf("host %s is draining, and the instance is"
							" pinned to it: pin it elsewhere, or drop"
							" the pin", ip->host->meta.name);
				ip->blocked_by = "pinned to a draining host";
			}
			continue;
		}
		ip->move = move_new(out, ip->server, ip->obs, ip->host);
		ip->move->running = in->running;
		move_place(&pl, observed, in->offer, pin, ip->move, why);
		free(why);
	}
	if (st)
		moves_undeclared(f, observed, &idx, &pl, out);
	else
		for (i = 0; i < f->ninstances; i++)
			if (out->v[i].obs && out->v[i].in->host && out->v[i].host &&
			    out->v[i].in->host != out->v[i].host && !out->v[i].blocked) {
				out->v[i].blocked = xasprintf(
					"pinned to host %s, runs on %s: not moved: the hosts'"
					" health is unknown (the agents' reports could not be read)",
					out->v[i].in->host->meta.name, out->v[i].host->meta.name);
				out->v[i].blocked_by = "health unknown";
			}
	/* Pass 3: place what does not exist, in manifest order. */
	for (i = 0; i < f->ninstances; i++) {
		const struct m_instance *in = &f->instances[i];
		struct iplace *ip = &out->v[i];
		const char *down;

		if (ip->obs)
			continue;
		if (!in->offer || !in->offer->pool) {
			ip->error = xstrdup("its plan or the plan's pool is not in the manifests");
		} else if ((down = unobserved_server(observed, in->offer))) {
			ip->error = xasprintf("not placed: server %s of pool %s could not be"
					      " observed, and the instance may exist there",
					      down, in->offer->pool->meta.name);
		} else if (!st) {
			ip->error = xstrdup("not placed: the hosts' health is unknown (the agents'"
					    " reports could not be read)");
		} else if (in->host) {
			place_pinned(&pl, in, ip);
		} else {
			place_free(&pl, in, ip);
		}
		if (ip->host) {
			ip->server = server_of(ip->host);
			if (ip->host->cluster)
				ip->member = ip->host->meta.name;
		} else if (!ip->server) {
			/* An error belongs to a server: the pin's, or the pool's first. */
			const struct m_host *h = in->host ? in->host :
				in->offer && in->offer->pool && in->offer->pool->nhosts ?
				in->offer->pool->hosts[0] : NULL;

			ip->server = h ? server_of(h) : NULL;
		}
	}
	placer_release(&pl);
	oindex_release(&idx);
}

void
iplan_release(struct iplan *p)
{
	size_t i;

	free(p->leftovers);
	for (i = 0; p->v && i < p->n; i++) {
		free(p->v[i].error);
		free(p->v[i].reason);
		free(p->v[i].blocked);
	}
	for (i = 0; i < p->nmoves; i++) {
		free(p->moves[i].reason);
		free(p->moves[i].error);
	}
	free(p->moves);
	free(p->v);
	memset(p, 0, sizeof(*p));
}
