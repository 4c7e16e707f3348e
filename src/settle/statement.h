/*
 * statement.h - a period of the fleet turned into statements per provider
 * and currency, exact to the minor unit. Pure: the caller gathers the
 * inputs (from the ledger and the intake's usage) and records the result.
 *
 * What is charged:
 *   usage    each span of an instance on a host accrues its snapshot
 *            price per second (amount_accrue: cycles anchored at
 *            placed-at, by the calendar) for the seconds of the span
 *            inside the period while the host's agent was online;
 *   offline  the same for the seconds while it was offline: charged to
 *            the customer like usage, but not paid to the provider (the
 *            platform keeps it; the line says why);
 *   traffic  per billing month of the instance (monthly, anchored at
 *            placed-at), the bytes beyond the snapshot's traffic
 *            allowance, at overage per overage_per bytes. Bytes count in
 *            time order (then host, then amount: the order reports arrived
 *            in does not matter); the bytes of a delta that cross the
 *            allowance are split there. Bytes dated inside the period are
 *            charged in it, on the host that counted them (see struct
 *            settle_traffic for their date).
 * One line per (instance, host, kind, plan version): its exact amount is
 * rounded once, half to even; a statement's gross is the sum of its
 * rounded lines. Each usage and traffic line carries the provider's share
 * (share_bp) in force during its span (span->terms: a span is paid by one
 * set of terms; terms.h cuts spans where they change), an offline line a
 * share of 0. provider_share = the sum of each line times its share,
 * rounded once by largest remainder against the rest of the gross less
 * the offline lines; platform_fee = gross - provider_share. The
 * platform's own hosts (provider "platform") make a statement with a
 * share of 0.
 *
 * Times are seconds since the epoch, UTC; spans and offline intervals are
 * [from, to).
 */
#ifndef BERTH_SETTLE_STATEMENT_H
#define BERTH_SETTLE_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "manifest/model.h"
#include "util/err.h"

/* What was sold, as the instance holds it. */
struct settle_snapshot {
	const char *plan;
	const char *plan_version;
	int64_t price;			/* minor units per cycle */
	const char *currency;		/* ISO 4217 */
	enum cycle cycle;
	int64_t placed_at;		/* the anchor of its cycles */
	uint64_t traffic;		/* bytes per billing month; 0: not metered */
	int64_t overage;		/* minor units per overage_per bytes */
	uint64_t overage_per;		/* 0: no overage charged */
};

/* An instance on a host for a while. */
struct settle_span {
	const char *instance;		/* "name" or "project/name" */
	const char *host;
	const char *provider;		/* the host's provider */
	const struct settle_snapshot *snap;
	int64_t from, to;
	int open;			/* still there at to (spans.h) */
	const struct settle_provider *terms;	/* the provider's terms during
						   the span (terms.h); NULL:
						   in's providers' */
};

/* A host's agent offline. */
struct settle_offline {
	const char *host;
	int64_t from, to;
};

/*
 * Bytes an instance moved (rx + tx beyond what it sent before), counted by
 * a host's agent at a time, or during [time, time + width) (an hour of the
 * intake's usage table: width 3600). They belong to the span of the
 * instance on that host that holds any moment of it, dated at the later of
 * time and the span's start (an instance placed at 18:40 owns the bytes
 * of its first hour, 18:00).
 */
struct settle_traffic {
	const char *instance;
	const char *host;
	int64_t time;
	uint64_t bytes;
	int64_t width;			/* 0: an instant */
};

struct settle_provider {
	const char *name;
	uint32_t share_bp;		/* of 10000 */
	int64_t holdback;		/* seconds after the period's end */
};

struct settle_input {
	int64_t from, to;		/* the period */
	const struct settle_span *spans;
	size_t nspans;
	const struct settle_offline *offline;
	size_t noffline;
	const struct settle_traffic *traffic;
	size_t ntraffic;
	const struct settle_provider *providers;	/* terms of spans without
							   their own, and every
							   holdback; a provider
							   not here: 0 */
	size_t nproviders;
	const char *only_provider;	/* NULL: every provider */
};

/*
 * The statements of in, as a JSON array sorted by provider and currency,
 * each {"provider", "currency", "lines": [{"instance", "host", "plan",
 * "plan_version", "kind", "seconds" | "bytes", "amount_minor", "amount",
 * "share_bp"}],
 * "gross_minor", "gross", "provider_share_minor", "provider_share",
 * "platform_fee_minor", "platform_fee", "payable_after", "hash"}; amounts
 * are integers of minor units and decimal strings ("12.34"), never
 * floats; hash is the SHA-256 of the statement's canonical JSON without
 * it. Statements without lines are left out. Caller json_decref()s; NULL
 * with err when an input is out of range (a span before its placed-at, an
 * unknown currency) or an amount does not fit.
 */
json_t *settle_compute(const struct settle_input *in, struct berr *err);

/*
 * The offline intervals of host inside [from, to) (seconds): its gaps
 * between online[0..n) (milliseconds, in order, disjoint: as store_online()
 * gives them), added to *out (of *nout, grown as needed). A host that was
 * never online in the period is offline all of it.
 */
void settle_offline_add(const char *host, const int64_t (*online)[2], size_t n,
			int64_t from, int64_t to, struct settle_offline **out, size_t *nout);

/*
 * The statement of provider in currency with no lines (gross 0) for the
 * period of in: what a statement recorded earlier becomes when none of its
 * lines remain. Caller json_decref()s; NULL with err.
 */
json_t *settle_empty(const struct settle_input *in, const char *provider,
		     const char *currency, struct berr *err);

/* "12.34": minor units of a currency of exponent exp, as a JSON string. */
json_t *settle_decimal(int64_t minor, int exp);

/* The canonical JSON (sorted keys, compact) of v. Caller frees. */
char *settle_canonical(const json_t *v);

#endif
