/*
 * planfile.c - the plan file of `berth plan --out`: what apply needs to
 * check that the servers are still as they were when the plan was made.
 */
#include <string.h>

#include "plan/plan-int.h"
#include "util/err.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PLAN_FILE_FORMAT "1.0"
#define PLAN_FILE_MAX (64u << 20)

json_t *
plan_file(const struct plan *plan, const struct plan_opts *opts, const char *state_id)
{
	json_t *doc = json_object(), *o = json_object(), *actions = json_array();
	size_t i;

	json_object_set_new(doc, "format_version", json_string(PLAN_FILE_FORMAT));
	json_object_set_new(doc, "kind", json_string("berth-plan"));
	json_object_set_new(doc, "commit", json_string(plan->commit));
	json_object_set_new(doc, "manifest_digest", json_string(plan->manifest_digest));
	json_object_set_new(doc, "state_id", state_id ? json_string(state_id) : json_null());
	json_object_set_new(o, "prune", json_boolean(opts && opts->prune));
	json_object_set_new(o, "max_deletes", json_integer(opts && opts->max_deletes ?
							   (json_int_t)opts->max_deletes : 10));
	json_object_set_new(o, "allow_mass_delete", json_boolean(opts && opts->allow_mass_delete));
	json_object_set_new(o, "targets", plan_targets_json(opts));
	json_object_set_new(doc, "opts", o);
	for (i = 0; i < plan->nactions; i++) {
		const struct plan_action *a = &plan->actions[i];
		json_t *x = json_object();

		json_object_set_new(x, "address", json_string(a->address));
		json_object_set_new(x, "server", json_string(a->server));
		json_object_set_new(x, "object", json_string(plan_object_name(a->object)));
		json_object_set_new(x, "name", json_string(a->name));
		json_object_set_new(x, "project", a->project ? json_string(a->project) : json_null());
		json_object_set_new(x, "action", json_string(plan_action_name(a->kind)));
		json_object_set_new(x, "safety", json_string(plan_safety_name(a->safety)));
		json_object_set_new(x, "digest", a->digest[0] ? json_string(a->digest) : json_null());
		json_object_set_new(x, "after", a->after ? json_deep_copy(a->after) : json_null());
		json_array_append_new(actions, x);
	}
	json_object_set_new(doc, "actions", actions);
	return doc;
}

json_t *
plan_file_read(const char *data, size_t len, struct berr *err)
{
	json_error_t je;
	json_t *doc;
	const char *v;

	if (len > PLAN_FILE_MAX) {
		berr_set(err, "plan file is %zu bytes, over the limit of %u bytes", len,
			 PLAN_FILE_MAX);
		return NULL;
	}
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		berr_set(err, "plan file: line %d column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	v = json_string_value(json_object_get(doc, "format_version"));
	if (!json_is_object(doc) ||
	    strcmp(json_string_value(json_object_get(doc, "kind")) ?
		   json_string_value(json_object_get(doc, "kind")) : "", "berth-plan")) {
		berr_set(err, "not a berth plan file: want \"kind\": \"berth-plan\"");
		json_decref(doc);
		return NULL;
	}
	if (!v || strcmp(v, PLAN_FILE_FORMAT)) {
		berr_set(err, "plan file format_version \"%s\": want %s (made by another"
			 " version of berth? run berth plan again)", v ? v : "(none)",
			 PLAN_FILE_FORMAT);
		json_decref(doc);
		return NULL;
	}
	if (!json_is_array(json_object_get(doc, "actions"))) {
		berr_set(err, "plan file: \"actions\": want a list");
		json_decref(doc);
		return NULL;
	}
	return doc;
}
