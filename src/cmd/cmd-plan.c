/*
 * berth plan - what berth would change on every server, and why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "apply/prepare.h"
#include "cmd/cmd.h"
#include "plan/plan.h"
#include "sched/window.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/xalloc.h"
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

/*
 * Say when the Fleet's sync windows hold berth reconcile back now: the
 * deny window that is open, or that no allow window is, and when a run
 * is next allowed. berth plan itself, and berth apply, are not held.
 */
static void
say_windows(const struct ctx *ctx, const struct fleet *f)
{
	const struct m_fleet *fl = fleet_settings(f);
	struct window_verdict v;
	char at[512] = "", next[40] = "";

	if (!fl || !fl->nwindows)
		return;
	window_check(fl->windows, fl->nwindows, clock_now_ms(), &v);
	if (v.allowed)
		return;
	if (v.next_ms >= 0)
		clock_format(v.next_ms, 0, next, sizeof(next));
	if (v.by) {
		fleet_window_at(fl, (size_t)(v.by - fl->windows), at, sizeof(at));
		cmd_info(ctx, "the Fleet's deny window \"%s\" (%s) is open: berth reconcile"
			 " defers its runs%s%s", v.by->spec, at, *next ? "; next allowed at " : "",
			 next);
	} else {
		cmd_info(ctx, "no allow window of the Fleet is open: berth reconcile defers its"
			 " runs%s%s", *next ? "; next allowed at " : "", next);
	}
}

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
	struct run_inputs_opts o = { .read_last_applied = 1 };
	struct run_inputs in = { 0 };
	const char **targets = NULL;
	const char *out = NULL;
	unsigned long v;
	int r, detailed = 0, ret = EXIT_FAIL;

	o.plan.max_deletes = 10;
	o.parallel = 16;
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
			targets = xreallocarray(targets, o.plan.ntargets + 1, sizeof(*targets));
			targets[o.plan.ntargets++] = p.arg;
			break;
		case O_PRUNE: o.plan.prune = 1; break;
		case O_MAX_DELETES:
			if (!opt_parse_uint(p.arg, 100000, &v)) {
				free(targets);
				return usage_error(ctx, "--max-deletes: want a number, have \"%s\"", p.arg);
			}
			o.plan.max_deletes = (unsigned)v;
			break;
		case O_MASS: o.plan.allow_mass_delete = 1; break;
		case O_PARALLEL:
			if (!opt_parse_uint(p.arg, 1024, &v) || v == 0) {
				free(targets);
				return usage_error(ctx, "--parallel: want a number from 1 to 1024, have \"%s\"", p.arg);
			}
			o.parallel = (unsigned)v;
			break;
		case OPT_HELP: free(targets); return command_help(ctx);
		case OPT_OPERAND:
			free(targets);
			return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		default: free(targets); return EXIT_FAIL;
		}
	}
	o.plan.targets = targets;

	if (cmd_prepare(ctx, &in, &o, ": nothing planned") < 0)
		goto out;
	say_windows(ctx, in.res.fleet);
	if (ctx->format == FORMAT_JSON) {
		json_t *j = plan_to_json(&in.plan, &in.po);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else if (ctx->format == FORMAT_MARKDOWN) {
		plan_render_markdown(&in.plan, &in.po, stdout);
	} else {
		plan_render_text(&in.plan, &in.po, ctx->color && isatty(STDOUT_FILENO),
				 ctx->verbosity > 0, stdout);
	}
	if (out) {
		json_t *pf = plan_file(&in.plan, &in.po, in.id.fingerprint);
		int w = write_plan_file(ctx, out, pf);

		json_decref(pf);
		if (w < 0)
			goto out;
		cmd_info(ctx, "plan saved to %s", out);
	}
	if (in.plan.nerrors)
		ret = EXIT_FAIL;
	else if (detailed && plan_has_changes(&in.plan))
		ret = EXIT_CHANGES;
	else
		ret = EXIT_OK;
out:
	run_inputs_release(&in);
	free(targets);
	return ret;
}
