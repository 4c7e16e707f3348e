/*
 * recorded.h - statements as the ledger records them (settlement and
 * settlement.amend entries, as ledger_query() gives them): what `berth
 * settle list|show` and the admin API read. Pure.
 */
#ifndef BERTH_SETTLE_RECORDED_H
#define BERTH_SETTLE_RECORDED_H

#include <stdint.h>

#include <jansson.h>

/* The statement an entry holds: a settlement's after, an amendment's after.statement. */
const json_t *settle_entry_statement(const json_t *e);

/* May statement st be paid at now (ms): is its payable_after past? */
int settle_is_payable(const json_t *st, int64_t now);

/*
 * What the providers are owed by the statements of entries (the latest of
 * each object "settlement/PERIOD/PROVIDER/CURRENCY": an amendment replaces
 * what it amends): [{"provider", "currency", "held_minor", "held",
 * "payable_minor", "payable"}], held until payable_after, payable from
 * then on. Caller json_decref()s.
 */
json_t *settle_totals(const json_t *entries, int64_t now);

#endif
