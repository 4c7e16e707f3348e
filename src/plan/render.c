/*
 * render.c - a plan for people (text, like a careful terraform plan) and
 * for programs (versioned JSON).
 */
#include <stdlib.h>
#include <string.h>

#include "plan/plan-int.h"
#include "sched/status.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_RED "\033[31m"
#define C_BRED "\033[1;31m"
#define C_CYAN "\033[36m"

static void
put_value(FILE *out, const json_t *v)
{
	char *s = json_canonical(v);

	fputs(s, out);
	free(s);
}

static void
render_targets(const struct plan_opts *opts, FILE *out)
{
	size_t i;

	if (!opts || !opts->ntargets)
		return;
	fputs("Targets: ", out);
	for (i = 0; i < opts->ntargets; i++)
		fprintf(out, "%s%s", i ? ", " : "", opts->targets[i]);
	fputs(" (only these objects are planned; the plan may be incomplete)\n\n", out);
}

static const char *
action_sign(enum plan_action_kind k, const char **color)
{
	switch (k) {
	case ACTION_CREATE: *color = C_GREEN; return "+";
	case ACTION_UPDATE: *color = C_YELLOW; return "~";
	case ACTION_DELETE: *color = C_RED; return "-";
	case ACTION_BLOCKED:
	case ACTION_ERROR: *color = C_BRED; return "!";
	case ACTION_RETAINED: *color = C_CYAN; return "=";
	case ACTION_MOVE: *color = C_YELLOW; return ">";
	}
	*color = "";
	return "?";
}

static void
render_field(const struct plan_field *f, int color, FILE *out)
{
	const char *sign, *col;

	if (!f->before) {
		sign = "+";
		col = C_GREEN;
	} else if (!f->after) {
		sign = "-";
		col = C_RED;
	} else {
		sign = "~";
		col = C_YELLOW;
	}
	fprintf(out, "      %s%s%s %s: ", color ? col : "", sign, color ? C_RESET : "",
		f->field);
	if (f->before && f->after) {
		put_value(out, f->before);
		fputs(" -> ", out);
		put_value(out, f->after);
	} else {
		put_value(out, f->before ? f->before : f->after);
	}
	if (f->note)
		fprintf(out, " (%s)", f->note);
	fputc('\n', out);
}

static void
render_action(const struct plan_action *a, int color, FILE *out)
{
	const char *col, *sign = action_sign(a->kind, &col);
	size_t i;

	if (a->object == OBJ_SERVER) {
		fprintf(out, "  %s%s error%s: %s\n", color ? col : "", sign,
			color ? C_RESET : "", a->reason);
		return;
	}
	fprintf(out, "  %s%s %s%s %s %s", color ? col : "", sign,
		plan_action_name(a->kind), color ? C_RESET : "",
		plan_object_name(a->object), a->name);
	if (a->project && strcmp(a->project, "default"))
		fprintf(out, " (project %s)", a->project);
	if (a->kind == ACTION_MOVE)
		fprintf(out, " %s -> %s (%s)",
			json_string_value(json_object_get(a->after, "from")),
			json_string_value(json_object_get(a->after, "to")),
			json_string_value(json_object_get(a->after, "kind")));
	if (a->safety != SAFETY_SAFE &&
	    (a->kind == ACTION_UPDATE || a->kind == ACTION_DELETE))
		fprintf(out, " (%s)", plan_safety_name(a->safety));
	fputc('\n', out);
	for (i = 0; a->kind != ACTION_MOVE && i < a->nfields; i++)
		render_field(&a->fields[i], color, out);
	fprintf(out, "      reason: %s\n", a->reason ? a->reason : "");
	if (a->blocked_by && a->kind == ACTION_BLOCKED)
		fprintf(out, "      blocked by: %s\n", a->blocked_by);
}

/*
 * Why no new instance goes on host h (after "host NAME: "), into out; 0
 * when h is not marked: it is online, or has no agent and no pool of it
 * requires one.
 */
static int
host_mark(const struct status *st, const struct status_host *h, char *out, size_t outlen)
{
	char age[32];
	size_t i, j, other = 0;

	if (h->health == HEALTH_OFFLINE) {
		status_format_age(h->report_age_ms, age, sizeof(age));
		snprintf(out, outlen, "offline (last report %s ago): no new instances are "
			 "placed on it", age);
		return 1;
	}
	if (h->health != HEALTH_NO_AGENT || !h->agent_required_by)
		return 0;
	/* pools of h that take it without an agent */
	for (i = 0; i < st->npools; i++)
		for (j = 0; j < st->pools[i].nmembers; j++)
			if (st->pools[i].members[j].host == h && !st->pools[i].pool->require_agent)
				other++;
	snprintf(out, outlen, "no agent (no report accepted yet; pool %s requires one): "
		 "no new instances %s%s%sare placed on it", h->agent_required_by->meta.name,
		 other ? "of pool " : "", other ? h->agent_required_by->meta.name : "",
		 other ? " " : "");
	return 1;
}

static void
render_marks(const struct plan_opts *opts, int color, FILE *out)
{
	const struct status *st = opts ? opts->status : NULL;
	char why[512];
	size_t i, n = 0;

	for (i = 0; st && i < st->nhosts; i++) {
		if (!host_mark(st, &st->hosts[i], why, sizeof(why)))
			continue;
		fprintf(out, "%shost %s: %s%s\n", color ? C_YELLOW : "",
			st->hosts[i].host->meta.name, why, color ? C_RESET : "");
		n++;
	}
	if (n)
		fputc('\n', out);
}

void
plan_render_text(const struct plan *plan, const struct plan_opts *opts,
		 int color, int verbose, FILE *out)
{
	size_t s, i;

	render_targets(opts, out);
	if (plan->refused) {
		fprintf(out, "Plan refused: %s\n", plan->refused);
		return;
	}
	for (s = 0; s < plan->nservers; s++) {
		const struct plan_server *ps = &plan->servers[s];
		size_t shown = 0;

		fprintf(out, "%s%s %s%s", color ? C_BOLD : "",
			ps->is_cluster ? "cluster" : "host", ps->name, color ? C_RESET : "");
		if (ps->state)
			fprintf(out, " [%s]", ps->state);
		if (verbose)
			fprintf(out, " (%lu requests, %llu bytes)", ps->requests, ps->bytes);
		fputc('\n', out);
		for (i = 0; i < plan->nactions; i++) {
			if (strcmp(plan->actions[i].server, ps->name))
				continue;
			render_action(&plan->actions[i], color, out);
			shown++;
		}
		if (!shown)
			fputs(ps->state && !strncmp(ps->state, "review", 6) ?
			      "  no objects until the host is approved\n" : "  no changes\n", out);
		fputc('\n', out);
	}
	render_marks(opts, color, out);
	fprintf(out, "Plan: %zu to create, %zu to update, ", plan->ncreate, plan->nupdate);
	if (plan->nmove)
		fprintf(out, "%zu to move, ", plan->nmove);
	fprintf(out, "%zu to delete, %zu blocked, %zu errors.\n", plan->ndelete, plan->nblocked,
		plan->nerrors);
}

static json_t *
or_null(const json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
plan_targets_json(const struct plan_opts *opts)
{
	json_t *t = json_array();
	size_t i;

	for (i = 0; opts && i < opts->ntargets; i++)
		json_array_append_new(t, json_string(opts->targets[i]));
	return t;
}

/* Every host of the status with its health and whether it takes new instances. */
static json_t *
hosts_json(const struct status *st)
{
	json_t *hosts = json_array();
	char why[512];
	size_t i;

	for (i = 0; i < st->nhosts; i++) {
		const struct status_host *h = &st->hosts[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(h->host->meta.name));
		json_object_set_new(o, "health", json_string(host_health_name(h->health)));
		json_object_set_new(o, "report_age_seconds", h->report_age_ms < 0 ? json_null()
				    : json_integer((json_int_t)(h->report_age_ms / 1000)));
		json_object_set_new(o, "schedulable", json_boolean(h->schedulable));
		json_object_set_new(o, "reason", h->schedulable ? json_null()
				    : json_string(h->npools ? sched_reason_name(h->reason)
							    : "in no pool"));
		json_object_set_new(o, "warning", host_mark(st, h, why, sizeof(why))
				    ? json_string(why) : json_null());
		json_array_append_new(hosts, o);
	}
	return hosts;
}

json_t *
plan_to_json(const struct plan *plan, const struct plan_opts *opts)
{
	json_t *doc = json_object(), *summary = json_object(), *servers = json_array();
	json_t *actions = json_array();
	size_t i, k;

	json_object_set_new(doc, "format_version", json_string("1.0"));
	json_object_set_new(doc, "commit", json_string(plan->commit));
	json_object_set_new(doc, "manifest_digest", json_string(plan->manifest_digest));
	json_object_set_new(doc, "targets", plan_targets_json(opts));
	if (plan->refused)
		json_object_set_new(doc, "refused", json_string(plan->refused));
	json_object_set_new(summary, "create", json_integer((json_int_t)plan->ncreate));
	json_object_set_new(summary, "update", json_integer((json_int_t)plan->nupdate));
	json_object_set_new(summary, "delete", json_integer((json_int_t)plan->ndelete));
	json_object_set_new(summary, "blocked", json_integer((json_int_t)plan->nblocked));
	json_object_set_new(summary, "errors", json_integer((json_int_t)plan->nerrors));
	json_object_set_new(summary, "retained", json_integer((json_int_t)plan->nretained));
	json_object_set_new(summary, "move", json_integer((json_int_t)plan->nmove));
	json_object_set_new(doc, "summary", summary);
	for (i = 0; i < plan->nservers; i++) {
		const struct plan_server *ps = &plan->servers[i];
		json_t *s = json_object();

		json_object_set_new(s, "name", json_string(ps->name));
		json_object_set_new(s, "kind", json_string(ps->is_cluster ? "cluster" : "host"));
		json_object_set_new(s, "state", str_or_null(ps->state));
		json_object_set_new(s, "error", str_or_null(ps->error));
		json_object_set_new(s, "requests", json_integer((json_int_t)ps->requests));
		json_object_set_new(s, "bytes", json_integer((json_int_t)ps->bytes));
		json_array_append_new(servers, s);
	}
	json_object_set_new(doc, "servers", servers);
	if (opts && opts->status)
		json_object_set_new(doc, "hosts", hosts_json(opts->status));
	for (i = 0; i < plan->nactions; i++) {
		const struct plan_action *a = &plan->actions[i];
		json_t *o = json_object(), *diff = json_array();

		json_object_set_new(o, "address", json_string(a->address));
		json_object_set_new(o, "server", json_string(a->server));
		json_object_set_new(o, "object", json_string(plan_object_name(a->object)));
		json_object_set_new(o, "name", json_string(a->name));
		json_object_set_new(o, "project", str_or_null(a->project));
		json_object_set_new(o, "action", json_string(plan_action_name(a->kind)));
		json_object_set_new(o, "reason", str_or_null(a->reason));
		json_object_set_new(o, "safety", json_string(plan_safety_name(a->safety)));
		json_object_set_new(o, "blocked_by", str_or_null(a->blocked_by));
		if (a->fallback)
			json_object_set_new(o, "fallback_drivers", json_deep_copy(a->fallback));
		json_object_set_new(o, "before", or_null(a->before));
		json_object_set_new(o, "after", or_null(a->after));
		for (k = 0; k < a->nfields; k++) {
			json_t *f = json_object();

			json_object_set_new(f, "field", json_string(a->fields[k].field));
			json_object_set_new(f, "before", or_null(a->fields[k].before));
			json_object_set_new(f, "after", or_null(a->fields[k].after));
			json_object_set_new(f, "note", str_or_null(a->fields[k].note));
			json_array_append_new(diff, f);
		}
		json_object_set_new(o, "diff", diff);
		json_object_set_new(o, "digest", a->digest[0] ? json_string(a->digest) : json_null());
		json_array_append_new(actions, o);
	}
	json_object_set_new(doc, "actions", actions);
	return doc;
}
