/*
 * spans.h - where each sold instance was, and when: its spans on hosts,
 * from the events the ledger records. Pure.
 *
 * Events, in the ledger's order:
 *   start  an instance berth created, or a panel's sale berth stamped:
 *          its config holds the sold snapshot (user.berth.plan,
 *          .plan-version, .price, .currency, .cycle, .placed-at, and
 *          .traffic, .overage, .overage-per when sold with them); its
 *          span starts at placed-at on host. A start for an instance
 *          that already has an open span changes nothing (a re-stamp);
 *   move   the instance left from for host at time; a move of an
 *          instance without an open span on from changes nothing;
 *   end    deleted from host at time (host NULL: from wherever it is, as
 *          in a cluster); an end on another host than the open span's
 *          (the copy an interrupted move left) changes nothing.
 * A span still open at the end runs to `until`. An instance is "name" or
 * "project/name" (the default project is left out).
 */
#ifndef BERTH_SETTLE_SPANS_H
#define BERTH_SETTLE_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "settle/statement.h"
#include "util/err.h"

enum settle_event_kind { SETTLE_START, SETTLE_MOVE, SETTLE_END };

struct settle_event {
	enum settle_event_kind kind;
	int64_t time;			/* seconds; a start's is its placed-at */
	const char *instance;
	const char *host;		/* start, end: where; move: to */
	const char *from;		/* move */
	const json_t *config;		/* start: the instance's config */
};

struct settle_spans {
	struct settle_span *v;		/* instance, host and provider point
					   into the events and provider_of */
	size_t n, alloc;
	struct settle_snapshot **snaps;	/* owned */
	size_t nsnaps;
	size_t unsold;			/* starts without a sold snapshot */
};

/*
 * The spans of ev[0..n). provider_of(arg, host) names the provider of a
 * host (never NULL). A start whose config has no valid snapshot (an
 * instance nobody sold: no user.berth.price) is counted in unsold and
 * skipped. -1 with err for an event out of order in time (earlier than
 * the open span it changes); out is then released. Release out with
 * settle_spans_release(), which accepts a zeroed struct.
 */
int settle_spans_build(const struct settle_event *ev, size_t n,
		       const char *(*provider_of)(void *arg, const char *host), void *arg,
		       int64_t until, struct settle_spans *out, struct berr *err);
void settle_spans_release(struct settle_spans *s);

/*
 * What the servers did to the sold instances of s still open, outside
 * berth: an instance the observation of its server no longer holds was
 * deleted (as a panel deletes what it sold): "gone"; one a cluster holds
 * on another member than its span's (Incus moved it, as an evacuation
 * does) was moved there: "moved". server_of(arg, host, &is_cluster) names
 * the server a host is observed through (the host, or its cluster), NULL
 * when unknown; a server that was not observed, or observed with an
 * error, tells nothing. A JSON array of {"event": "gone" | "moved",
 * "instance", "host", "server", "address"} and, for a move, "to" (the
 * member); address as the plan writes it (host/S/instance/NAME or
 * cluster/C/instance/NAME, ?project=P outside the default project);
 * caller json_decref()s.
 */
json_t *settle_drift(const struct settle_spans *s, const json_t *observed,
		    const char *(*server_of)(void *arg, const char *host, int *is_cluster),
		    void *arg);

/*
 * The snapshot held in an instance's config: 0 with s filled (its strings
 * point into config), 1 when there is no sold snapshot, -1 with err when
 * there is one that does not parse (a price that is not an integer, an
 * unknown cycle, a placed-at that is not a time).
 */
int settle_snapshot_parse(const json_t *config, struct settle_snapshot *s, struct berr *err);

#endif
