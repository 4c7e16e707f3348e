/*
 * berth plan - what berth would change on every server, and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "incus/client.h"
#include "incus/observe.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "sched/reports.h"
#include "sched/status.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/fs.h"
#include "util/banned.h"

enum {
	O_OUT = 1, O_DETAILED, O_TARGET, O_PRUNE, O_MAX_DELETES, O_MASS, O_PARALLEL,
};

static const struct opt opts[] = {
	{ "out", 0, 1, O_OUT },
	{ "detailed-exitcode", 0, 0, O_DETAILED },
	{ "target", 0, 1, O_TARGET },
	{ "prune", 0, 0, O_PRUNE },
	{ "max-deletes", 0, 1, O_MAX_DELETES },
	{ "allow-mass-delete", 0, 0, O_MASS },
	{ "parallel", 0, 1, O_PARALLEL },
	{ NULL, 0, 0, 0 },
};

/* Write the plan file atomically (mode 0600: it holds the fleet's objects). */
static int
write_plan_file(const struct ctx *ctx, const char *path, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	char *withnl = text ? xasprintf("%s\n", text) : NULL;
	struct berr err;
	int r = -1;

	if (!withnl)
		cmd_error(ctx, "cannot write plan file \"%s\": out of memory", path);
	else if (fs_write_atomic(path, withnl, strlen(withnl), 0600, &err) < 0)
		cmd_error(ctx, "cannot write plan file: %s", err.msg);
	else
		r = 0;
	free(text);
	free(withnl);
	return r;
}

int
cmd_plan(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct manifest_result res = { 0 };
	struct berr err;
	struct incus_identity id = { 0 };
	struct observe_opts oo = { 0 };
	struct plan_opts po = { 0 };
	struct plan plan = { 0 };
	struct report_set reports = { 0 };
	struct status *status = NULL;
	const char **targets = NULL;
	const char *out = NULL;
	unsigned long v;
	json_t *observed = NULL, *last = NULL;
	struct ledger *ledger = NULL;
	char *db;
	int r, detailed = 0, ret = EXIT_FAIL, have_plan = 0;

	po.max_deletes = 10;
	oo.parallel = 16;
	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case O_OUT: out = p.arg; break;
		case O_DETAILED: detailed = 1; break;
		case O_TARGET:
			if (!opt_valid_target(p.arg)) {
				free(targets);
				return usage_error(ctx, "--target: want KIND/NAME with KIND one of "
						   "Host, Cluster, Pool, Plan, Image; have \"%s\"", p.arg);
			}
			targets = xreallocarray(targets, po.ntargets + 1, sizeof(*targets));
			targets[po.ntargets++] = p.arg;
			break;
		case O_PRUNE: po.prune = 1; break;
		case O_MAX_DELETES:
			if (!opt_parse_uint(p.arg, 100000, &v)) {
				free(targets);
				return usage_error(ctx, "--max-deletes: want a number, have \"%s\"", p.arg);
			}
			po.max_deletes = (unsigned)v;
			break;
		case O_MASS: po.allow_mass_delete = 1; break;
		case O_PARALLEL:
			if (!opt_parse_uint(p.arg, 1024, &v) || v == 0) {
				free(targets);
				return usage_error(ctx, "--parallel: want a number from 1 to 1024, have \"%s\"", p.arg);
			}
			oo.parallel = (unsigned)v;
			break;
		case OPT_HELP: free(targets); return command_help(ctx);
		case OPT_OPERAND:
			free(targets);
			return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		default: free(targets); return EXIT_FAIL;
		}
	}
	po.targets = targets;

	if (load_valid_fleet(ctx, &res, ": nothing planned") < 0)
		goto out;
	if (incus_identity_load(ctx->state_dir, &id, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	/* What berth last applied tells drift from changes in git. */
	db = xasprintf("%s/berth.db", ctx->state_dir);
	if (access(db, F_OK) == 0) {
		if (ledger_open(ctx->state_dir, &ledger, &err) < 0 ||
		    !(last = ledger_last_applied(ledger, &err))) {
			cmd_berr(ctx, &err);
			free(db);
			goto out;
		}
		po.last_applied = last;
	}
	free(db);
	/* Agent reports mark offline hosts in the plan; without them the plan
	 * is the same, only unmarked. */
	if (report_set_load(ctx->state_dir, &reports, &err) < 0)
		cmd_warn(ctx, "no host health in this plan: %s", err.msg);
	else
		po.status = status = status_build(res.fleet, reports.items, reports.n,
						  clock_now_ms());
	incus_global_init();
	oo.identity = &id;
	if (!(observed = observe_fleet(res.fleet, &oo, &err))) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (plan_compute(res.fleet, observed, &po, &plan) < 0) {
		cmd_error(ctx, "plan refused: %s", plan.refused);
		have_plan = 1;
		goto out;
	}
	have_plan = 1;
	if (ctx->format == FORMAT_JSON) {
		json_t *j = plan_to_json(&plan, &po);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		plan_render_text(&plan, &po, ctx->color && isatty(STDOUT_FILENO),
				 ctx->verbosity > 0, stdout);
	}
	if (out) {
		json_t *pf = plan_file(&plan, &po, id.fingerprint);
		int w = write_plan_file(ctx, out, pf);

		json_decref(pf);
		if (w < 0)
			goto out;
		cmd_info(ctx, "plan saved to %s", out);
	}
	if (plan.nerrors)
		ret = EXIT_FAIL;
	else if (detailed && plan_has_changes(&plan))
		ret = EXIT_CHANGES;
	else
		ret = EXIT_OK;
out:
	if (have_plan)
		plan_release(&plan);
	status_free(status);
	report_set_release(&reports);
	json_decref(observed);
	json_decref(last);
	if (ledger)
		ledger_close(ledger);
	incus_identity_release(&id);
	manifest_result_release(&res);
	free(targets);
	return ret;
}
