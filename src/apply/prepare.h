/*
 * prepare.h - one run's inputs: the fleet of a commit, berth's identity,
 * what was last applied, the hosts' health, the observed servers, and the
 * plan. berth plan, apply and reconcile build them the same way; status
 * (and placing instances) stop after the hosts' health. The plan itself is
 * pure (src/plan/): this is where its inputs are read.
 *
 * The steps, in order; the first that fails stops the others:
 *   1. the manifests of the commit, checked (manifest_load(), MANIFEST_CHECK);
 *   2. berth's identity (incus_identity_load(); not when stopping after
 *      the health), checked against opts->state_id;
 *   3. what was last applied (ledger_last_applied()), when asked for;
 *   4. the latest report of every host (report_set_load()) and the hosts'
 *      health at the current time (status_build());
 *   5. the servers observed (observe_fleet());
 *   6. the plan (plan_compute()).
 * Nothing is printed: diagnostics, errors and the warning of a run without
 * host health come back to the caller.
 */
#ifndef BERTH_APPLY_PREPARE_H
#define BERTH_APPLY_PREPARE_H

#include <jansson.h>

#include "incus/client.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "sched/reports.h"
#include "sched/status.h"
#include "util/diag.h"
#include "util/err.h"

struct run_inputs_opts {
	const struct source_opts *source;	/* where the manifests are */
	const char *state_dir;
	int until_health;	/* stop after step 4: no identity, observation
				   or plan */
	int need_health;	/* reports that cannot be read fail the run;
				   else it goes on without health (status NULL) */
	/*
	 * What was last applied is read from ledger when given (borrowed),
	 * else, with read_last_applied, from <state_dir>/berth.db when it
	 * exists (opened for that only); else none is read.
	 */
	struct ledger *ledger;
	int read_last_applied;
	const char *state_id;	/* not NULL: refuse berth's identity unless its
				   fingerprint is this ("" matches none) */
	struct plan_opts plan;	/* last_applied and status are the run's own */
	unsigned parallel;	/* servers observed at once; 0: the default */
	int loaded;		/* in->res holds the manifests already (read
				   before the lock, as reconcile does for its
				   sync windows): step 1 is not done again */
};

/* Why run_inputs_prepare() failed. */
enum run_inputs_failure {
	RUN_INPUTS_ERROR = 1,	/* err says why */
	RUN_INPUTS_INVALID,	/* the manifests are not valid: d has why */
	RUN_INPUTS_OTHER_STATE,	/* id.fingerprint is not opts->state_id */
	RUN_INPUTS_REFUSED,	/* the plan is refused: plan.refused says why */
};

struct run_inputs {
	struct manifest_result res;	/* the fleet of res.commit */
	struct incus_identity id;
	json_t *last_applied;		/* address -> object; NULL: none read */
	struct report_set reports;
	struct status *status;		/* the hosts' health; NULL without */
	int no_health;			/* the reports could not be read ... */
	struct berr no_health_err;	/* ... and why */
	json_t *observed;
	struct plan_opts po;		/* opts->plan, with this run's
					   last_applied and status */
	struct plan plan;
	enum run_inputs_failure failed;	/* 0 unless prepare failed */
};

/*
 * Build in (zeroed or released; with opts->loaded, holding only its
 * manifests) as opts asks. 0, or -1 with in->failed
 * saying why (err for RUN_INPUTS_ERROR; the diagnostics of the manifests
 * are added to d either way). in holds whatever the steps done gave (the
 * commit, fetched or not, once the manifests were read); release it with
 * run_inputs_release() either way.
 */
int run_inputs_prepare(struct run_inputs *in, const struct run_inputs_opts *opts,
		       struct diags *d, struct berr *err);

/* Free the contents; safe on a zeroed struct and on one released already. */
void run_inputs_release(struct run_inputs *in);

#endif
