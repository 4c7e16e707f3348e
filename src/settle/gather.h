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
 *   - a move: from after.from to after.to at the entry's time;
 *   - a delete, and an instance.gone entry (deleted outside berth, as a
 *     panel deletes what it sold; seen by the next apply or reconcile):
 *     an end at the entry's time on the server (for a cluster, wherever
 *     the instance is).
 * The instance is NAME, or P/NAME in another project than "default".
 */
#ifndef BERTH_SETTLE_GATHER_H
#define BERTH_SETTLE_GATHER_H

#include <stddef.h>

#include <jansson.h>

#include "ledger/ledger.h"
#include "settle/spans.h"
#include "util/err.h"

struct settle_events {
	struct settle_event *v;
	size_t n, alloc;
	json_t *keep;		/* what the events point into */
};

/*
 * The events of l in seq order into out (zeroed first). -1 with err when
 * the ledger cannot be read. Release with settle_events_release(), which
 * accepts a zeroed struct.
 */
int settle_events_gather(struct ledger *l, struct settle_events *out, struct berr *err);
void settle_events_release(struct settle_events *e);

#endif
