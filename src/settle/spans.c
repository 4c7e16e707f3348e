/*
 * spans.c - instances' spans on hosts from the ledger's events (spans.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "settle/spans.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/money.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *
key(const json_t *config, const char *k)
{
	return json_string_value(json_object_get(config, k));
}

/* A decimal integer from 0 to max, nothing else. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int
settle_snapshot_parse(const json_t *config, struct settle_snapshot *s, struct berr *err)
{
	const char *price = key(config, "user.berth.price");
	const char *placed = key(config, "user.berth.placed-at");
	const char *traffic = key(config, "user.berth.traffic");
	const char *overage = key(config, "user.berth.overage");
	const char *per = key(config, "user.berth.overage-per");
	uint64_t v;
	int64_t ms;

	memset(s, 0, sizeof(*s));
	if (!price)
		return 1;
	s->plan = key(config, "user.berth.plan");
	s->plan_version = key(config, "user.berth.plan-version");
	s->currency = key(config, "user.berth.currency");
	if (!s->plan || !s->plan_version)
		return berr_set(err, "user.berth.plan and .plan-version: want both with a price,"
				" have %s", s->plan ? "no plan version" : "no plan");
	if (parse_u64(price, INT64_MAX, &v) < 0)
		return berr_set(err, "user.berth.price: want an integer of minor units, have"
				" \"%s\"", price);
	s->price = (int64_t)v;
	if (!s->currency || currency_exponent(s->currency) < 0)
		return berr_set(err, "user.berth.currency: want an ISO 4217 code, have \"%s\"",
				s->currency ? s->currency : "(none)");
	if (cycle_parse(key(config, "user.berth.cycle"), &s->cycle) < 0)
		return berr_set(err, "user.berth.cycle: want hourly, monthly, quarterly,"
				" semiannual or yearly, have \"%s\"",
				key(config, "user.berth.cycle") ? key(config, "user.berth.cycle") :
				"(none)");
	if (!placed || clock_parse_rfc3339(placed, &ms) < 0 || ms < 0)
		return berr_set(err, "user.berth.placed-at: want an RFC 3339 time, have \"%s\"",
				placed ? placed : "(none)");
	s->placed_at = ms / 1000;
	if (traffic && parse_u64(traffic, UINT64_MAX, &s->traffic) < 0)
		return berr_set(err, "user.berth.traffic: want bytes, have \"%s\"", traffic);
	if (s->traffic && overage && per) {
		if (parse_u64(overage, INT64_MAX, &v) < 0 ||
		    parse_u64(per, UINT64_MAX, &s->overage_per) < 0 || !s->overage_per)
			return berr_set(err, "user.berth.overage and .overage-per: want minor units"
					" per a number of bytes, have \"%s\" per \"%s\"", overage, per);
		s->overage = (int64_t)v;
	}
	return 0;
}

static struct settle_span *
span_add(struct settle_spans *s)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 64;
		s->v = xreallocarray(s->v, s->alloc, sizeof(*s->v));
	}
	return &s->v[s->n++];
}

void
settle_spans_release(struct settle_spans *s)
{
	size_t i;

	for (i = 0; i < s->nsnaps; i++)
		free(s->snaps[i]);
	free(s->snaps);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The open span of instance (its index in open), or NULL. */
static struct settle_span *
open_span(struct settle_spans *s, json_t *open, const char *instance)
{
	json_t *i = json_object_get(open, instance);

	return i ? &s->v[json_integer_value(i)] : NULL;
}

int
settle_spans_build(const struct settle_event *ev, size_t n,
		   const char *(*provider_of)(void *arg, const char *host), void *arg,
		   int64_t until, struct settle_spans *out, struct berr *err)
{
	json_t *open = json_object();	/* instance -> index of its open span */
	struct settle_snapshot *snap;
	const struct settle_snapshot *sold;
	struct settle_span *sp, *next;
	const char *k;
	json_t *x;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const struct settle_event *e = &ev[i];

		sp = open_span(out, open, e->instance);
		switch (e->kind) {
		case SETTLE_START:
			if (sp)
				continue;
			snap = xcalloc(1, sizeof(*snap));
			if ((r = settle_snapshot_parse(e->config, snap, err)) != 0) {
				free(snap);
				if (r > 0) {
					out->unsold++;
					continue;
				}
				berr_prefix(err, "instance \"%s\"", e->instance);
				goto fail;
			}
			out->snaps = xreallocarray(out->snaps, out->nsnaps + 1, sizeof(*out->snaps));
			out->snaps[out->nsnaps++] = snap;
			sp = span_add(out);
			*sp = (struct settle_span){ e->instance, e->host, provider_of(arg, e->host),
						    snap, snap->placed_at, -1, 0, NULL };
			json_object_set_new(open, e->instance, json_integer((json_int_t)(out->n - 1)));
			break;
		case SETTLE_MOVE:
			if (!sp || strcmp(sp->host, e->from))
				continue;
			if (e->time < sp->from)
				goto order;
			sp->to = e->time;
			sold = sp->snap;
			next = span_add(out);	/* sp may have moved */
			*next = (struct settle_span){ e->instance, e->host, provider_of(arg, e->host),
						      sold, e->time, -1, 0, NULL };
			json_object_set_new(open, e->instance, json_integer((json_int_t)(out->n - 1)));
			break;
		case SETTLE_END:
			if (!sp || (e->host && strcmp(sp->host, e->host)))
				continue;
			if (e->time < sp->from)
				goto order;
			sp->to = e->time;
			json_object_del(open, e->instance);
			break;
		}
	}
	json_object_foreach(open, k, x) {
		sp = &out->v[json_integer_value(x)];
		sp->to = until > sp->from ? until : sp->from;
		sp->open = 1;
	}
	json_decref(open);
	return 0;
order:
	berr_set(err, "instance \"%s\": an event at %" PRId64 " before its span on host \"%s\""
		 " began (%" PRId64 ")", ev[i].instance, ev[i].time, sp->host, sp->from);
fail:
	json_decref(open);
	settle_spans_release(out);
	return -1;
}

json_t *
settle_drift(const struct settle_spans *s, const json_t *observed,
	    const char *(*server_of)(void *arg, const char *host, int *is_cluster), void *arg)
{
	const json_t *servers = json_object_get(observed, "servers"), *srv, *err, *v;
	json_t *gone = json_array();
	const char *name, *slash, *server, *vn, *vp, *loc, *to;
	struct buf project = BUF_INIT, address = BUF_INIT;
	size_t i, j;
	int cluster, found;

	for (i = 0; i < s->n; i++) {
		const struct settle_span *sp = &s->v[i];

		if (!sp->open || !(server = server_of(arg, sp->host, &cluster)))
			continue;
		srv = json_object_get(servers, server);
		if (!srv || ((err = json_object_get(srv, "error")) && !json_is_null(err)))
			continue;	/* not observed: nothing known */
		slash = strchr(sp->instance, '/');
		name = slash ? slash + 1 : sp->instance;
		buf_reset(&project);
		if (slash)
			buf_add(&project, sp->instance, (size_t)(slash - sp->instance));
		else
			buf_addstr(&project, "default");
		found = 0;
		to = NULL;
		json_array_foreach(json_object_get(srv, "instances"), j, v) {
			vn = json_string_value(json_object_get(v, "name"));
			vp = json_string_value(json_object_get(v, "project"));
			if (!vn || strcmp(vn, name) || strcmp(vp && *vp ? vp : "default", project.buf))
				continue;
			found = 1;
			loc = json_string_value(json_object_get(v, "location"));
			if (cluster && loc && *loc && strcmp(loc, "none") && strcmp(loc, sp->host))
				to = loc;
		}
		if (found && !to)
			continue;
		buf_reset(&address);
		buf_addf(&address, "%s/%s/instance/%s", cluster ? "cluster" : "host", server, name);
		if (slash)
			buf_addf(&address, "?project=%s", project.buf);
		json_array_append_new(gone, json_pack("{s:s, s:s, s:s, s:s, s:s}", "event",
			to ? "moved" : "gone", "instance", sp->instance, "host", sp->host,
			"server", server, "address", address.buf));
		if (to)
			json_object_set_new(json_array_get(gone, json_array_size(gone) - 1), "to",
					    json_string(to));
	}
	buf_release(&project);
	buf_release(&address);
	return gone;
}
