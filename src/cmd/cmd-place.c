/*
 * berth place --plan P [--count N] - where N new instances of a plan would
 * go, and why every other host would not take one. Changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apply/prepare.h"
#include "cmd/cmd.h"
#include "manifest/manifest.h"
#include "sched/place.h"
#include "sched/status.h"
#include "util/suggest.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum { O_PLAN = 1, O_COUNT };

static const struct opt opts[] = {
	{ "plan", 0, 1, O_PLAN },
	{ "count", 0, 1, O_COUNT },
	{ NULL, 0, 0, 0 },
};

static int
unknown_offer(const struct ctx *ctx, const struct fleet *f, const char *name)
{
	const char **names = xcalloc(f->noffers + 1, sizeof(*names));
	const char *near;
	size_t i;

	for (i = 0; i < f->noffers; i++)
		names[i] = f->offers[i].meta.name;
	near = suggest(name, names, f->noffers);
	cmd_error(ctx, "--plan: no Plan \"%s\" in the manifests%s%s%s", name,
		  near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
	free(names);
	return EXIT_FAIL;
}

static void
print_free(const int64_t free[RES__COUNT], FILE *out)
{
	char m[32], d[32];

	format_size(free[RES_MEMORY] > 0 ? (uint64_t)free[RES_MEMORY] : 0, m, sizeof(m));
	format_size(free[RES_DISK] > 0 ? (uint64_t)free[RES_DISK] : 0, d, sizeof(d));
	fprintf(out, "free cpu %lld, memory %s, disk %s",
		(long long)free[RES_CPU], m, d);
}

static void
print_text(const struct place_decision *d, FILE *out)
{
	char *summary = place_summary(d);
	size_t i, j;

	fprintf(out, "%s\n", summary);
	free(summary);
	for (i = 0; i < d->nhosts; i++) {
		const struct place_host *ph = &d->hosts[i];
		const struct place_check *c = &ph->before;

		if (!c->eligible && c->reasons[0].code == PLACE_NOT_IN_POOL)
			continue;
		fprintf(out, "  %-20s ", ph->host->host->meta.name);
		if (c->eligible) {
			fputs("eligible: ", out);
			print_free(c->free, out);
			if (ph->placed)
				fprintf(out, "; takes %zu", ph->placed);
		} else {
			for (j = 0; j < c->nreasons; j++) {
				char *t = place_reason_text(&c->reasons[j]);

				fprintf(out, "%s%s", j ? ", " : "", t);
				free(t);
			}
		}
		fputc('\n', out);
	}
}

int
cmd_place(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct run_inputs_opts ro = { .until_health = 1, .need_health = 1 };
	struct run_inputs in = { 0 };
	struct placer pl = { 0 };
	struct place_decision d = { 0 };
	const struct m_offer *o;
	const char *plan = NULL;
	unsigned long count = 1;
	int r, ret = EXIT_FAIL;

	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case O_PLAN: plan = p.arg; break;
		case O_COUNT:
			if (!opt_parse_uint(p.arg, PLACE_MAX_COUNT, &count) || count == 0)
				return usage_error(ctx, "--count: want a number from 1 to %d, have \"%s\"",
						   PLACE_MAX_COUNT, p.arg);
			break;
		case OPT_HELP: return command_help(ctx);
		case OPT_OPERAND: return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		default: return EXIT_FAIL;
		}
	}
	if (!plan)
		return usage_error(ctx, "--plan: which plan to place; want --plan NAME");
	if (cmd_prepare(ctx, &in, &ro, ": nothing placed") < 0)
		goto out;
	if (!(o = fleet_offer(in.res.fleet, plan))) {
		unknown_offer(ctx, in.res.fleet, plan);
		goto out;
	}
	placer_init(&pl, in.status);
	place_decide(&pl, o, count, &d);
	if (ctx->format == FORMAT_JSON) {
		json_t *j = place_decision_to_json(&d);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		print_text(&d, stdout);
	}
	ret = d.nplaced == count ? EXIT_OK : EXIT_FAIL;
out:
	place_decision_release(&d);
	placer_release(&pl);
	run_inputs_release(&in);
	return ret;
}
