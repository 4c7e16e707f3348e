/*
 * journal.h - one apply or reconcile run in the ledger (ledger.h): a
 * run.start, a change.intent before every change and a change.result
 * after it, a run.end; and a result for the intents that an interrupted
 * run left without one.
 *
 * The entries, each with the run's actor, run id and commit:
 *   run.start      action: the mode ("apply" or "reconcile"); after:
 *                  {"signer": {"principal", "key"}} when the commit's
 *                  signature was checked (source.h), else null
 *   change.intent  target: the server, object: the address, action: the
 *                  plan action's, before and after: the plan's
 *   change.result  target, object, action as the intent; after: the object
 *                  read back (ok only); result: apply_status_name(); error
 *   instance.gone  target: the server, object: the address, action "gone":
 *                  an instance berth had applied that the run's
 *                  observation no longer holds (deleted outside berth)
 *   run.end        action: the mode; after: {"changes", "failed", "stale",
 *                  "not_attempted"} counts; result: "ok" or "failed"
 * A settled intent gets a change.result with result "interrupted" in the
 * name of the run, commit, target, object and action of its intent, the
 * actor being this run's.
 *
 * The calls during a run (intent, result) may come from several threads
 * at once; the others from one.
 */
#ifndef BERTH_APPLY_JOURNAL_H
#define BERTH_APPLY_JOURNAL_H

#include <jansson.h>

#include "apply/apply.h"
#include "ledger/ledger.h"
#include "plan/plan.h"
#include "util/err.h"

struct run_journal {
	struct ledger *ledger;	/* owned; the run's inputs may read it too */
	char run_id[32];
	char actor[300];
	const char *commit;	/* the manifests' commit once known (borrowed);
				   NULL until then */
	const char *mode;	/* "apply" or "reconcile" (borrowed) */
	const char *signer;	/* who signed commit, and their key (borrowed); */
	const char *signer_key;	/* NULL when the signature was not checked */
	int started;		/* run.start is written */
};

/*
 * Open (creating) <state_dir>/berth.db for a run of mode, with a new run
 * id and this process's actor. -1 with err. Release with
 * run_journal_release() either way.
 */
int run_journal_open(struct run_journal *j, const char *state_dir,
		     const char *mode, struct berr *err);

/*
 * Write a result for every intent an earlier run left without one
 * (ledger_dangling_intents()), so the ledger pairs every intent and later
 * runs do not report it again; this run re-checks the object like any
 * other. fn (may be NULL) is called for each, once its result is written
 * (err NULL) or could not be (err says why). -1 with err when they cannot
 * be read: nothing is settled.
 */
int run_journal_settle(struct run_journal *j,
		       void (*fn)(void *arg, const json_t *intent, const struct berr *err),
		       void *arg, struct berr *err);

/* run.start; j->started is set once it is written (a run that could not
 * start its record changes nothing, and ends none). */
int run_journal_start(struct run_journal *j, struct berr *err);
/*
 * After run.start and before any change, what settle_drift() found the
 * servers did outside berth, so that settlement ends or moves the
 * instance there: for each "gone" an instance.gone entry (target: the
 * server, object: the address, action "gone", result "ok"); for each
 * "moved" an instance.moved entry (action "move", after {"from", "to"}:
 * the cluster members). -1 with err on a ledger failure (the run then
 * changes nothing).
 */
int run_journal_drift(struct run_journal *j, const json_t *drift, struct berr *err);
/*
 * A "terms" entry (object "terms", action "record", after: terms, as
 * settle_terms_of_fleet() makes them): the providers' terms in force from
 * now on. -1 with err on a ledger failure.
 */
int run_journal_terms(struct run_journal *j, const json_t *terms, struct berr *err);
int run_journal_intent(struct run_journal *j, const struct plan_action *a,
		       struct berr *err);
int run_journal_result(struct run_journal *j, const struct plan_action *a,
		       enum apply_status st, const char *error,
		       const json_t *applied, struct berr *err);
/* run.end with r's counts (r may be zeroed), once run.start was: else 0. */
int run_journal_end(struct run_journal *j, const struct apply_result *r, int ok,
		    struct berr *err);

/* Close the ledger; safe on a zeroed struct. */
void run_journal_release(struct run_journal *j);

#endif
