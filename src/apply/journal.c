/*
 * journal.c - one run in the ledger (journal.h).
 */
#include <stdlib.h>
#include <string.h>

#include "apply/journal.h"
#include "util/xalloc.h"
#include "util/banned.h"

int
run_journal_open(struct run_journal *j, const char *state_dir, const char *mode,
		 struct berr *err)
{
	memset(j, 0, sizeof(*j));
	j->mode = mode;
	ledger_actor(j->actor, sizeof(j->actor));
	ledger_new_run_id(j->run_id);
	return ledger_open(state_dir, &j->ledger, err);
}

/* An entry of this run: a the action it is about, or NULL for the run's own. */
static int
entry(struct run_journal *j, const char *kind, const struct plan_action *a,
      const json_t *before, const json_t *after, const char *result,
      const char *error, struct berr *err)
{
	struct ledger_entry e = { 0 };

	e.actor = j->actor;
	e.run_id = j->run_id;
	e.commit = j->commit;
	e.kind = kind;
	e.target = a ? a->server : NULL;
	e.object = a ? a->address : NULL;
	e.action = a ? plan_action_name(a->kind) : j->mode;
	e.before = before;
	e.after = after;
	e.result = result;
	e.error = error;
	return ledger_append(j->ledger, &e, err);
}

static int
settle_one(struct run_journal *j, const json_t *intent, struct berr *err)
{
	struct ledger_entry e = { 0 };
	char *why = xasprintf("interrupted before its result was recorded; re-checked by run %s",
			      j->run_id);
	int ret;

	e.actor = j->actor;
	e.run_id = json_string_value(json_object_get(intent, "run_id"));
	e.commit = json_string_value(json_object_get(intent, "git_commit"));
	e.kind = "change.result";
	e.target = json_string_value(json_object_get(intent, "target"));
	e.object = json_string_value(json_object_get(intent, "object"));
	e.action = json_string_value(json_object_get(intent, "action"));
	e.result = "interrupted";
	e.error = why;
	ret = ledger_append(j->ledger, &e, err);
	free(why);
	return ret;
}

int
run_journal_settle(struct run_journal *j,
		   void (*fn)(void *arg, const json_t *intent, const struct berr *err),
		   void *arg, struct berr *err)
{
	json_t *dangling = ledger_dangling_intents(j->ledger, err), *x;
	struct berr aerr;
	size_t i;

	if (!dangling)
		return -1;
	json_array_foreach(dangling, i, x) {
		int r = settle_one(j, x, &aerr);

		if (fn)
			fn(arg, x, r < 0 ? &aerr : NULL);
	}
	json_decref(dangling);
	return 0;
}

int
run_journal_start(struct run_journal *j, struct berr *err)
{
	json_t *data = NULL;
	int ret;

	if (j->signer)
		data = json_pack("{s:{s:s, s:s}}", "signer", "principal", j->signer, "key",
				 j->signer_key ? j->signer_key : "");
	ret = entry(j, "run.start", NULL, NULL, data, NULL, NULL, err);
	json_decref(data);
	if (ret < 0)
		return -1;
	j->started = 1;
	return 0;
}

int
run_journal_drift(struct run_journal *j, const json_t *drift, struct berr *err)
{
	struct ledger_entry e = { 0 };
	const json_t *g;
	json_t *after;
	size_t i;
	int moved, r;

	json_array_foreach(drift, i, g) {
		moved = !strcmp(json_string_value(json_object_get(g, "event")), "moved");
		memset(&e, 0, sizeof(e));
		e.actor = j->actor;
		e.run_id = j->run_id;
		e.commit = j->commit;
		e.kind = moved ? "instance.moved" : "instance.gone";
		e.target = json_string_value(json_object_get(g, "server"));
		e.object = json_string_value(json_object_get(g, "address"));
		e.action = moved ? "move" : "gone";
		e.result = "ok";
		after = moved ? json_pack("{s:O, s:O}", "from", json_object_get(g, "host"), "to",
					  json_object_get(g, "to")) : NULL;
		e.after = after;
		r = ledger_append(j->ledger, &e, err);
		json_decref(after);
		if (r < 0)
			return -1;
	}
	return 0;
}

int
run_journal_terms(struct run_journal *j, const json_t *terms, struct berr *err)
{
	struct ledger_entry e = { 0 };

	e.actor = j->actor;
	e.run_id = j->run_id;
	e.commit = j->commit;
	e.kind = "terms";
	e.object = "terms";
	e.action = "record";
	e.result = "ok";
	e.after = terms;
	return ledger_append(j->ledger, &e, err);
}

int
run_journal_intent(struct run_journal *j, const struct plan_action *a, struct berr *err)
{
	return entry(j, "change.intent", a, a->before, a->after, NULL, NULL, err);
}

int
run_journal_result(struct run_journal *j, const struct plan_action *a, enum apply_status st,
		   const char *error, const json_t *applied, struct berr *err)
{
	return entry(j, "change.result", a, NULL, st == APPLY_OK ? applied : NULL,
		     apply_status_name(st), error, err);
}

int
run_journal_end(struct run_journal *j, const struct apply_result *r, int ok, struct berr *err)
{
	json_t *counts;
	int ret;

	if (!j->started)
		return 0;
	counts = json_pack("{s:I, s:I, s:I, s:I}", "changes", (json_int_t)r->ok,
			   "failed", (json_int_t)r->failed, "stale", (json_int_t)r->stale,
			   "not_attempted", (json_int_t)r->not_attempted);
	ret = entry(j, "run.end", NULL, NULL, counts, ok ? "ok" : "failed", NULL, err);
	json_decref(counts);
	return ret;
}

void
run_journal_release(struct run_journal *j)
{
	ledger_close(j->ledger);
	memset(j, 0, sizeof(*j));
}
