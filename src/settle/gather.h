/*
 * gather.h - the events of instances, read from the ledger: the edge of
 * settlement that does I/O (the rest of src/settle/ is pure).
 *
 * From the change.result entries with result "ok" whose object is an
 * instance (host/S/instance/NAME or cluster/C/instance/NAME, with
 * ?project=P unless the default project):
 *   - one whose after is the instance (a create, an update, a panel's
 *     stamp) and holds a sold snapshot: a start on its host (the server,
 *     or for a cluster the member of after.location);
 *   - a move: from after.from to after.to at the entry's time; and an
 *     instance.moved entry (a move Incus made itself inside a cluster, as
 *     an evacuation does; seen by the next apply or reconcile) the same;
 *   - a delete, and an instance.gone entry (deleted outside berth, as a
 *     panel deletes what it sold; seen by the next apply or reconcile):
 *     an end at the entry's time on the server (for a cluster, wherever
 *     the instance is).
 * The instance is NAME, or P/NAME in another project than "default".
 *
 * And the providers' terms, from the "terms" entries (terms.h).
 */
#ifndef BERTH_SETTLE_GATHER_H
#define BERTH_SETTLE_GATHER_H

#include <stddef.h>

#include <jansson.h>

#include "ledger/ledger.h"
#include "settle/spans.h"
#include "settle/terms.h"
#include "util/err.h"

struct settle_events {
	struct settle_event *v;
	size_t n, alloc;
	struct settle_terms *terms;	/* in seq order */
	size_t nterms, aterms;
	json_t *keep;		/* what the events and terms point into */
};

/*
 * The events of l in seq order into out (zeroed first). -1 with err when
 * the ledger cannot be read. Release with settle_events_release(), which
 * accepts a zeroed struct.
 */
int settle_events_gather(struct ledger *l, struct settle_events *out, struct berr *err);
void settle_events_release(struct settle_events *e);

/* The terms recorded last (what apply and reconcile compare the commit's
 * with), or NULL when none is recorded. */
const json_t *settle_events_last_terms(const struct settle_events *e);

struct settle_traffics {
	struct settle_traffic *v;
	size_t n, alloc;
	json_t *keep;		/* what they point into */
	const char *last_instance, *last_host;	/* rows come grouped */
};

/*
 * The hourly traffic (rx + tx bytes) the intake counted from 32 days
 * before from (the start of any billing month that holds from) to to (an
 * hour that to cuts included: its bytes are dated at its start),
 * each dated by the start of its hour, into out (zeroed first), of the
 * instances that may owe overage: those whose spans in s are sold with a
 * traffic allowance and an overage price and whose traffic over those
 * days is above the smallest such allowance (below it no billing month
 * can be). The others' rows are not read: one aggregate decides. -1 with
 * err when the state database cannot be read. Release with
 * settle_traffics_release(), which accepts a zeroed struct.
 */
int settle_traffic_gather(const char *state_dir, int64_t from, int64_t to,
			  const struct settle_spans *s, struct settle_traffics *out,
			  struct berr *err);
void settle_traffics_release(struct settle_traffics *t);

#endif
