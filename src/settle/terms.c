/*
 * terms.c - the providers' terms over time (terms.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "settle/terms.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* What the platform's own hosts, and hosts no era names, are paid. */
static const struct settle_provider platform = { "platform", 0, 0 };

json_t *
settle_terms_of_fleet(const struct fleet *f)
{
	json_t *hosts = json_object(), *providers = json_object(), *agents = json_array();
	size_t i;

	for (i = 0; i < f->nhosts; i++) {
		json_object_set_new(hosts, f->hosts[i].meta.name, json_string(
			f->hosts[i].meta.provider ? f->hosts[i].meta.provider : "platform"));
		if (f->hosts[i].agent_key)
			json_array_append_new(agents, json_string(f->hosts[i].meta.name));
	}
	for (i = 0; i < f->nproviders; i++)
		json_object_set_new(providers, f->providers[i].meta.name, json_pack(
			"{s:I, s:I}", "revenue_share_bp", (json_int_t)f->providers[i].revenue_share_bp,
			"holdback_s", (json_int_t)(f->providers[i].holdback_ms / 1000)));
	return json_pack("{s:o, s:o, s:o}", "hosts", hosts, "agents", agents, "providers",
			 providers);
}

/* One era from terms j. */
static int
era_parse(const json_t *j, int64_t from, struct settle_era *e, struct berr *err)
{
	const json_t *hosts = json_object_get(j, "hosts"), *agents = json_object_get(j, "agents");
	const json_t *providers = json_object_get(j, "providers"), *p, *bp, *hold, *v;
	const char *name;
	size_t i = 0;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(hosts) || !json_is_object(providers) ||
	    (agents && !json_is_array(agents)))
		return berr_set(err, "terms: want an object with \"hosts\", \"agents\" and"
				" \"providers\"");
	json_object_foreach((json_t *)hosts, name, v)
		if (!json_is_string(v))
			return berr_set(err, "terms: host \"%s\": want a provider's name", name);
	e->from = from;
	e->hosts = hosts;
	e->agents = agents;
	e->providers = xcalloc(json_object_size(providers) + 1, sizeof(*e->providers));
	json_object_foreach((json_t *)providers, name, p) {
		bp = json_object_get(p, "revenue_share_bp");
		hold = json_object_get(p, "holdback_s");
		if (!json_is_integer(bp) || json_integer_value(bp) < 0 ||
		    json_integer_value(bp) > 10000 || !json_is_integer(hold) ||
		    json_integer_value(hold) < 0) {
			free(e->providers);
			e->providers = NULL;
			return berr_set(err, "terms: provider \"%s\": want revenue_share_bp from 0"
					" to 10000 and holdback_s from 0", name);
		}
		e->providers[i++] = (struct settle_provider){ name,
			(uint32_t)json_integer_value(bp), (int64_t)json_integer_value(hold) };
	}
	e->nproviders = i;
	return 0;
}

int
settle_eras_build(const struct settle_terms *t, size_t n, const json_t *fallback,
		  struct settle_eras *out, struct berr *err)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->v = xcalloc(n ? n : 1, sizeof(*out->v));
	for (i = 0; i < (n ? n : 1); i++) {
		if (i && t[i].time < t[i - 1].time) {
			berr_set(err, "terms recorded out of order: %" PRId64 " after %" PRId64,
				 t[i].time, t[i - 1].time);
			goto fail;
		}
		if (era_parse(n ? t[i].terms : fallback, i ? t[i].time : INT64_MIN, &out->v[i],
			      err) < 0)
			goto fail;
		out->n++;
	}
	return 0;
fail:
	settle_eras_release(out);
	return -1;
}

void
settle_eras_release(struct settle_eras *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].providers);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

const struct settle_era *
settle_era_at(const struct settle_eras *e, int64_t time)
{
	size_t lo = 0, hi = e->n;

	while (hi - lo > 1) {	/* the last era from at or before time */
		size_t mid = lo + (hi - lo) / 2;

		if (e->v[mid].from <= time)
			lo = mid;
		else
			hi = mid;
	}
	return e->n ? &e->v[lo] : NULL;
}

int
settle_era_has_agent(const struct settle_era *era, const char *host)
{
	const json_t *v;
	size_t i;

	json_array_foreach(era->agents, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), host))
			return 1;
	return 0;
}

/* The terms era gives host: its provider's, or the platform's. */
static const struct settle_provider *
terms_of(const struct settle_era *era, const char *host)
{
	const char *p = json_string_value(json_object_get(era->hosts, host));
	size_t i;

	if (p)
		for (i = 0; i < era->nproviders; i++)
			if (!strcmp(era->providers[i].name, p))
				return &era->providers[i];
	return &platform;
}

static int
same_terms(const struct settle_provider *a, const struct settle_provider *b)
{
	return a == b || (!strcmp(a->name, b->name) && a->share_bp == b->share_bp);
}

void
settle_spans_terms(struct settle_spans *s, const struct settle_eras *e)
{
	size_t i, n = s->n;

	if (!e->n)
		return;
	for (i = 0; i < n; i++) {
		const struct settle_era *era = settle_era_at(e, s->v[i].from);
		const struct settle_provider *now = terms_of(era, s->v[i].host), *next;
		size_t k = (size_t)(era - e->v) + 1, cur = i;

		s->v[i].terms = now;
		s->v[i].provider = now->name;
		for (; k < e->n && e->v[k].from < s->v[cur].to; k++) {
			if (same_terms(now, next = terms_of(&e->v[k], s->v[cur].host)))
				continue;
			if (s->n == s->alloc) {
				s->alloc = s->alloc ? s->alloc * 2 : 64;
				s->v = xreallocarray(s->v, s->alloc, sizeof(*s->v));
			}
			s->v[s->n] = s->v[cur];
			s->v[s->n].from = e->v[k].from;
			s->v[s->n].terms = now = next;
			s->v[s->n].provider = next->name;
			s->v[cur].to = e->v[k].from;
			s->v[cur].open = 0;
			cur = s->n++;
		}
	}
}
