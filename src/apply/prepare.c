/*
 * prepare.c - one run's inputs (prepare.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply/prepare.h"
#include "incus/observe.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Step 3: *out NULL when there is nothing to read it from. */
static int
read_last_applied(const struct run_inputs_opts *o, json_t **out, struct berr *err)
{
	struct ledger *l = o->ledger;
	char *db;
	int exists;

	*out = NULL;
	if (!l) {
		if (!o->read_last_applied)
			return 0;
		db = xasprintf("%s/berth.db", o->state_dir);
		exists = access(db, F_OK) == 0;
		free(db);
		if (!exists)
			return 0;
		if (ledger_open(o->state_dir, &l, err) < 0)
			return -1;
	}
	*out = ledger_last_applied(l, err);
	if (l != o->ledger)
		ledger_close(l);
	return *out ? 0 : -1;
}

static int
fail(struct run_inputs *in, enum run_inputs_failure why)
{
	in->failed = why;
	return -1;
}

int
run_inputs_prepare(struct run_inputs *in, const struct run_inputs_opts *o,
		   struct diags *d, struct berr *err)
{
	struct observe_opts oo = { 0 };

	if (o->loaded) {
		struct manifest_result res = in->res;

		memset(in, 0, sizeof(*in));
		in->res = res;
	} else {
		memset(in, 0, sizeof(*in));
		if (manifest_load(o->source, MANIFEST_CHECK, &in->res, d, err) < 0)
			return fail(in, RUN_INPUTS_ERROR);
	}
	in->po = o->plan;
	if (d->nerrors || !in->res.fleet)
		return fail(in, RUN_INPUTS_INVALID);
	if (!o->until_health) {
		if (incus_identity_load(o->state_dir, &in->id, err) < 0)
			return fail(in, RUN_INPUTS_ERROR);
		if (o->state_id && strcmp(o->state_id, in->id.fingerprint))
			return fail(in, RUN_INPUTS_OTHER_STATE);
	}
	/* What berth last applied tells drift from changes in git. */
	if (read_last_applied(o, &in->last_applied, err) < 0)
		return fail(in, RUN_INPUTS_ERROR);
	in->po.last_applied = in->last_applied;
	/* Agent reports mark the hosts that take no new instances; without
	 * them a plan is the same, only unmarked. */
	if (report_set_load(o->state_dir, &in->reports, &in->no_health_err) < 0) {
		if (o->need_health) {
			*err = in->no_health_err;
			return fail(in, RUN_INPUTS_ERROR);
		}
		in->no_health = 1;
	} else {
		in->status = status_build(in->res.fleet, in->reports.items, in->reports.n,
					  clock_now_ms());
	}
	in->po.status = in->status;
	if (o->until_health)
		return 0;
	incus_global_init();
	oo.identity = &in->id;
	oo.parallel = o->parallel;
	if (!(in->observed = observe_fleet(in->res.fleet, &oo, err)))
		return fail(in, RUN_INPUTS_ERROR);
	if (plan_compute(in->res.fleet, in->observed, &in->po, &in->plan) < 0)
		return fail(in, RUN_INPUTS_REFUSED);
	return 0;
}

void
run_inputs_release(struct run_inputs *in)
{
	plan_release(&in->plan);
	json_decref(in->observed);
	status_free(in->status);
	report_set_release(&in->reports);
	json_decref(in->last_applied);
	incus_identity_release(&in->id);
	manifest_result_release(&in->res);
	memset(in, 0, sizeof(*in));
}
