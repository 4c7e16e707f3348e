/*
 * fuzz-settle.c - libFuzzer target for the sold snapshot that settlement
 * reads from an instance's config (as a server returned it and the ledger
 * recorded it): the parser, then a statement of forty days of it, with
 * traffic, over whatever price, cycle and placed-at it holds.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "settle/spans.h"
#include "settle/statement.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *config = json_loadb((const char *)data, size, 0, NULL), *out;
	struct settle_snapshot s;
	struct settle_span sp;
	struct settle_traffic tr;
	struct settle_offline off;
	struct settle_provider pv = { "acme", 7000, 86400 };
	struct settle_input in = { 0 };
	struct berr err;

	if (!json_is_object(config) || settle_snapshot_parse(config, &s, &err) != 0) {
		json_decref(config);
		return 0;
	}
	sp = (struct settle_span){ "i", "h", "acme", &s, s.placed_at, s.placed_at + 40 * 86400LL, 1, NULL };
	tr = (struct settle_traffic){ "i", "h", s.placed_at + 86400, (uint64_t)1 << 40, 3600 };
	off = (struct settle_offline){ "h", s.placed_at + 3600, s.placed_at + 7200 };
	in.from = s.placed_at + 86400 * 3;
	in.to = s.placed_at + 86400 * 35;
	in.spans = &sp;
	in.nspans = 1;
	in.traffic = &tr;
	in.ntraffic = 1;
	in.offline = &off;
	in.noffline = 1;
	in.providers = &pv;
	in.nproviders = 1;
	out = settle_compute(&in, &err);
	json_decref(out);
	json_decref(config);
	return 0;
}
