/*
 * markdown.c - a plan as a compact markdown table, for a review comment on
 * a merge request (plan.h, plan_render_markdown).
 */
#include <stdlib.h>
#include <string.h>

#include "plan/plan-int.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Fields of an update shown in its cell; the rest are counted. */
#define FIELDS_SHOWN 3
/* A value longer than this is cut with an ellipsis. */
#define VALUE_MAX 60

/* s in a table cell: a pipe escaped, a line break a space. */
static void
cell(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

/* A value as inline code in a cell (backticks become quotes), cut at VALUE_MAX. */
static void
code(FILE *out, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	size_t i, n = s ? strlen(s) : 0;

	fputc('`', out);
	for (i = 0; s && i < n && i < VALUE_MAX; i++) {
		if (s[i] == '`')
			fputc('\'', out);
		else if (s[i] == '|')
			fputs("\\|", out);
		else if (s[i] == '\n' || s[i] == '\r')
			fputc(' ', out);
		else
			fputc(s[i], out);
	}
	if (n > VALUE_MAX)
		fputs("...", out);
	fputc('`', out);
	free(s);
}

static const char *
sign_of(enum plan_action_kind k)
{
	switch (k) {
	case ACTION_CREATE: return "+";
	case ACTION_UPDATE: return "~";
	case ACTION_DELETE: return "-";
	case ACTION_BLOCKED:
	case ACTION_ERROR: return "!";
	case ACTION_RETAINED: return "=";
	case ACTION_MOVE: return ">";
	}
	return "?";
}

static void
change(FILE *out, const struct plan_action *a)
{
	size_t i;

	fputs(plan_action_name(a->kind), out);
	if (a->kind == ACTION_MOVE) {
		fputc(' ', out);
		cell(out, json_string_value(json_object_get(a->after, "from")));
		fputs(" -> ", out);
		cell(out, json_string_value(json_object_get(a->after, "to")));
		fputs(" (", out);
		cell(out, json_string_value(json_object_get(a->after, "kind")));
		fputc(')', out);
		return;
	}
	if (a->safety != SAFETY_SAFE && (a->kind == ACTION_UPDATE || a->kind == ACTION_DELETE))
		fprintf(out, " (%s)", plan_safety_name(a->safety));
	if (a->kind != ACTION_UPDATE)
		return;
	for (i = 0; i < a->nfields && i < FIELDS_SHOWN; i++) {
		const struct plan_field *f = &a->fields[i];

		fputs(i ? "; " : ": ", out);
		cell(out, f->field);
		fputc(' ', out);
		if (f->before && f->after) {
			code(out, f->before);
			fputs(" -> ", out);
			code(out, f->after);
		} else if (f->after) {
			fputs("+ ", out);
			code(out, f->after);
		} else {
			fputs("- ", out);
			code(out, f->before);
		}
	}
	if (a->nfields > FIELDS_SHOWN)
		fprintf(out, "; and %zu more", a->nfields - FIELDS_SHOWN);
}

void
plan_render_markdown(const struct plan *plan, const struct plan_opts *opts, FILE *out)
{
	size_t i, shown = 0;

	fprintf(out, "#### berth plan of `%.12s`\n\n", plan->commit);
	if (opts && opts->ntargets) {
		fputs("Targets only (the plan may be incomplete): ", out);
		for (i = 0; i < opts->ntargets; i++) {
			fputs(i ? ", `" : "`", out);
			cell(out, opts->targets[i]);
			fputc('`', out);
		}
		fputs("\n\n", out);
	}
	if (plan->refused) {
		fputs("**Plan refused:** ", out);
		cell(out, plan->refused);
		fputc('\n', out);
		return;
	}
	fprintf(out, "**%zu to create, %zu to update, ", plan->ncreate, plan->nupdate);
	if (plan->nmove)
		fprintf(out, "%zu to move, ", plan->nmove);
	fprintf(out, "%zu to delete, %zu blocked, %zu errors.**\n\n", plan->ndelete, plan->nblocked,
		plan->nerrors);
	for (i = 0; i < plan->nactions; i++) {
		const struct plan_action *a = &plan->actions[i];

		if (a->kind == ACTION_RETAINED)
			continue;
		if (!shown++)
			fputs("| | Server | Object | Change | Why |\n|---|---|---|---|---|\n", out);
		fprintf(out, "| %s | ", sign_of(a->kind));
		cell(out, a->server);
		fputs(" | ", out);
		if (a->object == OBJ_SERVER) {
			fputs("(server) | error | ", out);
		} else {
			fprintf(out, "%s ", plan_object_name(a->object));
			cell(out, a->name);
			if (a->project && strcmp(a->project, "default")) {
				fputs(" (project ", out);
				cell(out, a->project);
				fputc(')', out);
			}
			fputs(" | ", out);
			change(out, a);
			fputs(" | ", out);
		}
		cell(out, a->reason);
		if (a->blocked_by && a->kind == ACTION_BLOCKED) {
			fputs("; blocked by ", out);
			cell(out, a->blocked_by);
		}
		fputs(" |\n", out);
	}
	if (!shown)
		fputs("No changes: the servers match the commit.\n", out);
}
