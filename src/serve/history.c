/*
 * history.c - the ledger as the admin API reads it (history.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/history.h"
#include "settle/recorded.h"
#include "util/clock.h"
#include "util/money.h"
#include "util/banned.h"

static int
collect(void *ctx, const json_t *e)
{
	json_array_append((json_t *)ctx, (json_t *)e);
	return 0;
}

/* The entries f matches, in seq order; NULL with err. */
static json_t *
query(struct ledger *l, const struct ledger_filter *f, struct berr *err)
{
	json_t *a = json_array();

	if (ledger_query(l, f, collect, a, err) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
versioned(void)
{
	return json_pack("{s:s}", "format_version", "1.0");
}

/* ---- runs ---------------------------------------------------------------- */

/*
 * Is intent (of the run being weighed) drift: did the intent before it on
 * the same object want the same after? 1, 0, -1 with err.
 */
static int
is_drift(struct ledger *l, const json_t *intent, struct berr *err)
{
	struct ledger_filter f = { .kind = "change.intent" };
	json_int_t seq = json_integer_value(json_object_get(intent, "seq"));
	const json_t *prev = NULL, *e;
	json_t *all;
	size_t i;
	int ret;

	if (!(f.object = json_string_value(json_object_get(intent, "object"))))
		return 0;
	if (!(all = query(l, &f, err)))
		return -1;
	json_array_foreach(all, i, e)
		if (json_integer_value(json_object_get(e, "seq")) < seq)
			prev = e;
	ret = prev && json_equal(json_object_get(prev, "after"), json_object_get(intent, "after"));
	json_decref(all);
	return ret;
}

static json_t *
count_of(const json_t *end, const char *key)
{
	const json_t *v = json_object_get(json_object_get(end, "after"), key);

	return end && json_is_integer(v) ? json_integer(json_integer_value(v)) : json_null();
}

static json_t *
run_json(struct ledger *l, const json_t *start, struct berr *err)
{
	const char *id = json_string_value(json_object_get(start, "run_id"));
	struct ledger_filter fe = { .kind = "run.end", .run_id = id };
	struct ledger_filter fi = { .kind = "change.intent", .run_id = id };
	json_t *ends = NULL, *intents = NULL, *r = NULL;
	const json_t *end, *in;
	json_int_t drift = 0;
	size_t i;
	int d;

	if (!id || !(ends = query(l, &fe, err)) || !(intents = query(l, &fi, err)))
		goto out;
	end = json_array_get(ends, json_array_size(ends) ? json_array_size(ends) - 1 : 0);
	json_array_foreach(intents, i, in) {
		if (i >= HISTORY_DRIFT_MAX)
			break;
		if ((d = is_drift(l, in, err)) < 0)
			goto out;
		drift += d;
	}
	r = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:o, s:o, s:o, s:o, s:I, s:I}",
		      "run_id", id, "mode", json_object_get(start, "action"),
		      "actor", json_object_get(start, "actor"),
		      "commit", json_object_get(start, "git_commit"),
		      "started", json_object_get(start, "time"),
		      "ended", end ? json_object_get(end, "time") : NULL,
		      "result", end ? json_object_get(end, "result") : NULL,
		      "changes", count_of(end, "changes"), "failed", count_of(end, "failed"),
		      "stale", count_of(end, "stale"),
		      "not_attempted", count_of(end, "not_attempted"),
		      "intents", (json_int_t)json_array_size(intents), "drift", drift);
out:
	json_decref(ends);
	json_decref(intents);
	return r;
}

json_t *
history_runs(struct ledger *l, size_t limit, struct berr *err)
{
	struct ledger_filter f = { .kind = "run.start", .limit = limit };
	json_t *starts, *runs = json_array(), *r, *doc = NULL;
	size_t i;

	if (!(starts = query(l, &f, err)))
		goto out;
	for (i = json_array_size(starts); i > 0; i--) {
		if (!(r = run_json(l, json_array_get(starts, i - 1), err)))
			goto out;
		json_array_append_new(runs, r);
	}
	doc = versioned();
	json_object_set(doc, "runs", runs);
out:
	json_decref(starts);
	json_decref(runs);
	return doc;
}

json_t *
history_ledger(struct ledger *l, size_t limit, struct berr *err)
{
	struct ledger_filter f = { .limit = limit };
	json_t *all = query(l, &f, err), *doc;

	if (!all)
		return NULL;
	doc = versioned();
	json_object_set_new(doc, "entries", all);
	return doc;
}

/* ---- statements ---------------------------------------------------------- */

/* "2026-11" of "settlement/2026-11/acme/EUR" (its object), as a JSON string. */
static json_t *
period_of(const json_t *e)
{
	const char *o = json_string_value(json_object_get(e, "object")), *p, *end;

	if (!o || strncmp(o, "settlement/", 11) || !(end = strchr((p = o + 11), '/')))
		return json_null();
	return json_stringn(p, (size_t)(end - p));
}

/* The settlement entries provider (NULL: any) may read, in seq order; NULL with err. */
static json_t *
statement_entries(struct ledger *l, const char *provider, int64_t seq, struct berr *err)
{
	static const char *const kinds[] = { "settlement", "settlement.amend" };
	json_t *all = json_array(), *part;
	const json_t *e;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		struct ledger_filter f = { .kind = kinds[k], .seq = seq };

		if (!(part = query(l, &f, err))) {
			json_decref(all);
			return NULL;
		}
		json_array_foreach(part, i, e) {
			const char *p = json_string_value(json_object_get(settle_entry_statement(e),
									  "provider"));

			if (!json_is_object(settle_entry_statement(e)) || !p ||
			    (provider && strcmp(p, provider)))
				continue;
			json_array_append(all, (json_t *)e);
		}
		json_decref(part);
	}
	/* Two runs of seq order: merge them. */
	for (i = 1; i < json_array_size(all); i++)
		for (k = i; k > 0 && json_integer_value(json_object_get(json_array_get(all, k - 1), "seq")) >
				      json_integer_value(json_object_get(json_array_get(all, k), "seq")); k--) {
			json_t *a = json_incref(json_array_get(all, k - 1));

			json_array_set(all, k - 1, json_array_get(all, k));
			json_array_set_new(all, k, a);
		}
	return all;
}

static json_t *
amends_of(const json_t *e)
{
	const json_t *a = json_object_get(json_object_get(e, "after"), "amends");

	return json_is_integer(a) ? json_integer(json_integer_value(a)) : json_null();
}

json_t *
history_statements(struct ledger *l, const char *provider, int64_t now_ms, struct berr *err)
{
	static const char *const copied[] = {
		"provider", "currency", "gross_minor", "gross", "provider_share_minor",
		"provider_share", "platform_fee_minor", "platform_fee", "payable_after", "hash",
	};
	json_t *entries = statement_entries(l, provider, 0, err), *list, *doc;
	const json_t *e;
	size_t i, k;

	if (!entries)
		return NULL;
	list = json_array();
	json_array_foreach(entries, i, e) {
		const json_t *st = settle_entry_statement(e);
		json_t *x = json_pack("{s:O?, s:O?, s:O?, s:O?, s:o}", "seq", json_object_get(e, "seq"),
				      "time", json_object_get(e, "time"), "kind",
				      json_object_get(e, "kind"), "object",
				      json_object_get(e, "object"), "period", period_of(e));

		for (k = 0; k < sizeof(copied) / sizeof(copied[0]); k++) {
			json_t *v = json_object_get(st, copied[k]);

			json_object_set(x, copied[k], v ? v : json_null());
		}
		json_object_set_new(x, "payable", json_boolean(settle_is_payable(st, now_ms)));
		json_object_set_new(x, "amends", amends_of(e));
		json_object_set_new(x, "lines", json_integer((json_int_t)json_array_size(
			json_object_get(st, "lines"))));
		json_array_append_new(list, x);
	}
	doc = versioned();
	json_object_set_new(doc, "statements", list);
	json_object_set_new(doc, "totals", settle_totals(entries, now_ms));
	json_decref(entries);
	return doc;
}

json_t *
history_statement(struct ledger *l, int64_t seq, const char *provider, struct berr *err)
{
	json_t *entries, *doc = NULL;
	const json_t *e;

	if (seq <= 0) {
		err->msg[0] = '\0';
		return NULL;
	}
	if (!(entries = statement_entries(l, provider, seq, err)))
		return NULL;
	if (!(e = json_array_get(entries, 0))) {
		err->msg[0] = '\0';
	} else {
		doc = versioned();
		json_object_set(doc, "seq", json_object_get(e, "seq"));
		json_object_set(doc, "time", json_object_get(e, "time"));
		json_object_set(doc, "kind", json_object_get(e, "kind"));
		json_object_set(doc, "object", json_object_get(e, "object"));
		json_object_set_new(doc, "period", period_of(e));
		json_object_set_new(doc, "amends", amends_of(e));
		json_object_set(doc, "statement", (json_t *)settle_entry_statement(e));
	}
	json_decref(entries);
	return doc;
}
