/*
 * terms.h - the providers' terms over time: which provider each host
 * belongs to, each provider's revenue share and holdback. Pure.
 *
 * Terms take effect when they are applied, as everything else of a
 * commit: apply and reconcile record a "terms" ledger entry whenever the
 * terms of the commit they run differ from the last recorded ones, and
 * settlement pays each second of an instance by the terms in force then.
 * A revenue share changed in git, or a host that changes hands, changes
 * nothing of the periods before it was applied.
 *
 * The terms, as the ledger entry's after holds them:
 *   {"hosts": {HOST: PROVIDER, ...},          every host; "platform" for
 *                                             the platform's own
 *    "agents": [HOST, ...],                   the hosts with an agent key:
 *                                             only they can be offline
 *    "providers": {P: {"revenue_share_bp": N, "holdback_s": N}, ...}}
 */
#ifndef BERTH_SETTLE_TERMS_H
#define BERTH_SETTLE_TERMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "manifest/model.h"
#include "settle/spans.h"
#include "settle/statement.h"
#include "util/err.h"

/* The terms of the manifests f. Caller json_decref()s. */
json_t *settle_terms_of_fleet(const struct fleet *f);

/* Terms recorded at a time (seconds). */
struct settle_terms {
	int64_t time;
	const json_t *terms;
};

/* Terms in force from a time on: the terms parsed. */
struct settle_era {
	int64_t from;			/* INT64_MIN for the first */
	const json_t *hosts;		/* HOST -> PROVIDER */
	const json_t *agents;		/* [HOST] (an array, maybe empty) */
	struct settle_provider *providers;	/* owned; names point into the terms */
	size_t nproviders;
};

struct settle_eras {
	struct settle_era *v;
	size_t n;
};

/*
 * The eras of t[0..n) (in time order): each in force from its time until
 * the next; the first reaches back to the beginning of time (the terms
 * before any record are the first recorded ones). n == 0: the one era of
 * fallback (the terms of the manifests). Terms that do not parse: -1 with
 * err. Release with settle_eras_release(), which accepts a zeroed struct;
 * the eras point into t's and fallback's JSON.
 */
int settle_eras_build(const struct settle_terms *t, size_t n, const json_t *fallback,
		      struct settle_eras *out, struct berr *err);
void settle_eras_release(struct settle_eras *e);

/* The era in force at time (never NULL when e has one). */
const struct settle_era *settle_era_at(const struct settle_eras *e, int64_t time);

/* Whether host has an agent in era (and so can be offline). */
int settle_era_has_agent(const struct settle_era *era, const char *host);

/*
 * Each span of s paid by the terms in force during it: a span that crosses
 * the start of an era that gives its host another provider or that
 * provider another share is cut there, and every span gets the provider
 * and the terms (span->terms) of its era. A host no era names is the
 * platform's, at a share of 0.
 */
void settle_spans_terms(struct settle_spans *s, const struct settle_eras *e);

#endif
