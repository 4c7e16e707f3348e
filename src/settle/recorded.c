/*
 * recorded.c - statements as the ledger records them (recorded.h).
 */
#include <stdio.h>

#include "settle/recorded.h"
#include "settle/statement.h"
#include "util/clock.h"
#include "util/money.h"
#include "util/banned.h"

const json_t *
settle_entry_statement(const json_t *e)
{
	const json_t *after = json_object_get(e, "after");
	const json_t *st = json_object_get(after, "statement");

	return st ? st : after;
}

int
settle_is_payable(const json_t *st, int64_t now)
{
	const char *after = json_string_value(json_object_get(st, "payable_after"));
	int64_t ms;

	return after && clock_parse_rfc3339(after, &ms) == 0 && ms <= now;
}

json_t *
settle_totals(const json_t *entries, int64_t now)
{
	json_t *latest = json_object(), *sum = json_object(), *out = json_array(), *t;
	const json_t *e, *st;
	const char *k;
	size_t i;

	json_array_foreach(entries, i, e)
		json_object_set(latest, json_string_value(json_object_get(e, "object")), (json_t *)e);
	json_object_foreach(latest, k, e) {
		const char *cur, *which;
		char key[200];

		st = settle_entry_statement(e);
		cur = json_string_value(json_object_get(st, "currency"));
		snprintf(key, sizeof(key), "%s %s", json_string_value(json_object_get(st, "provider")),
			 cur ? cur : "");
		if (!(t = json_object_get(sum, key))) {
			t = json_pack("{s:O?, s:O?, s:I, s:I}", "provider", json_object_get(st, "provider"),
				      "currency", json_object_get(st, "currency"), "held_minor",
				      (json_int_t)0, "payable_minor", (json_int_t)0);
			json_object_set_new(sum, key, t);
		}
		which = settle_is_payable(st, now) ? "payable_minor" : "held_minor";
		json_object_set_new(t, which, json_integer(json_integer_value(json_object_get(t, which)) +
			json_integer_value(json_object_get(st, "provider_share_minor"))));
	}
	json_object_foreach(sum, k, t) {
		int exp = currency_exponent(json_string_value(json_object_get(t, "currency")) ?
					    json_string_value(json_object_get(t, "currency")) : "");

		json_object_set_new(t, "held", settle_decimal(json_integer_value(json_object_get(t,
					"held_minor")), exp < 0 ? 0 : exp));
		json_object_set_new(t, "payable", settle_decimal(json_integer_value(json_object_get(t,
					"payable_minor")), exp < 0 ? 0 : exp));
		json_array_append(out, t);
	}
	json_decref(latest);
	json_decref(sum);
	return out;
}
