/*
 * history.h - what the admin API reads from the ledger (ledger.h): the
 * last runs, the latest entries, and the settlement statements. Each call
 * reads through ledger_query() and returns a JSON document the caller
 * json_decref()s; NULL with err when the ledger cannot be read.
 */
#ifndef BERTH_SERVE_HISTORY_H
#define BERTH_SERVE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ledger/ledger.h"
#include "util/err.h"

/* Changes of one run whose drift is weighed (history_runs()). */
#define HISTORY_DRIFT_MAX	1000

/*
 * The last limit runs (apply, reconcile: their run.start entries), the
 * latest first:
 *   {"format_version": "1.0", "runs": [{"run_id", "mode", "actor",
 *     "commit", "started", "ended" (null: no run.end, the run is going on
 *     or was killed), "result" ("ok", "failed" or null), "changes",
 *     "failed", "stale", "not_attempted" (run.end's counts, or null),
 *     "intents" (its change.intent entries), "drift"}]}
 * drift: the run's changes that berth had to make although the manifests
 * wanted of that object what they wanted when berth last changed it (the
 * change.intent's after equals the previous one's for the object): what
 * changed on the servers behind berth's back (edited, deleted). Weighed
 * for the first HISTORY_DRIFT_MAX intents of a run.
 */
json_t *history_runs(struct ledger *l, size_t limit, struct berr *err);

/*
 * The last limit entries, in seq order, as ledger_query() gives them:
 *   {"format_version": "1.0", "entries": [...]}
 */
json_t *history_ledger(struct ledger *l, size_t limit, struct berr *err);

/*
 * The settlement and settlement.amend entries of provider (NULL: every
 * provider's), in seq order, with what each provider is owed:
 *   {"format_version": "1.0", "statements": [{"seq", "time", "kind",
 *     "object", "period", "provider", "currency", "gross_minor", "gross",
 *     "provider_share_minor", "provider_share", "platform_fee_minor",
 *     "platform_fee", "payable_after", "payable" (payable_after is past
 *     at now_ms), "hash", "amends" (the seq it corrects, or null),
 *     "lines" (how many)}],
 *    "totals": [{"provider", "currency", "held_minor", "held",
 *                "payable_minor", "payable"}]}
 * totals count the latest statement of each period, provider and
 * currency (an amendment replaces what it amends), as `berth settle list`.
 */
json_t *history_statements(struct ledger *l, const char *provider, int64_t now_ms,
			   struct berr *err);

/*
 * The statement of ledger entry seq, whole, when it is one of provider's
 * (NULL: anyone's):
 *   {"format_version": "1.0", "seq", "time", "kind", "object", "period",
 *    "amends", "statement": {... settle/statement.h's, with its lines}}
 * NULL with err->msg "" when entry seq is no such statement; NULL with
 * err when the ledger cannot be read.
 */
json_t *history_statement(struct ledger *l, int64_t seq, const char *provider,
			  struct berr *err);

#endif
