/*
 * amount.h - exact amounts of money: what a line costs before its one
 * rounding, and how a total is split.
 *
 * An amount is a non-negative fraction of minor units, num / den, kept
 * reduced, in 128-bit integers: a line is summed exactly over the cycles
 * and the bytes it covers and rounded once, half to even. Nothing here is
 * a float. Every operation that would not fit fails instead of wrapping.
 */
#ifndef BERTH_SETTLE_AMOUNT_H
#define BERTH_SETTLE_AMOUNT_H

#include <stdint.h>

#include "manifest/model.h"

__extension__ typedef unsigned __int128 amount_u128;

struct amount {
	amount_u128 num;
	amount_u128 den;	/* > 0 */
};

#define AMOUNT_ZERO { 0, 1 }

/*
 * *a += price * part / whole (price in minor units, 0 <= part <= whole,
 * whole > 0). -1 when the result does not fit (a stays as it was).
 */
int amount_add_share(struct amount *a, int64_t price, uint64_t part, uint64_t whole);
/* *a += num / den (den > 0). -1 when it does not fit. */
int amount_add_ratio(struct amount *a, amount_u128 num, amount_u128 den);
/* *a += b. -1 when it does not fit. */
int amount_add(struct amount *a, const struct amount *b);
/*
 * a rounded to a whole number of minor units, half to even (2.5 -> 2,
 * 3.5 -> 4); -1 when it does not fit an int64_t.
 */
int amount_round(const struct amount *a, int64_t *out);

/*
 * What a cycle-priced instance accrues from from to to (seconds, UTC,
 * from <= to): price times, for each cycle of anchor that [from, to)
 * crosses, the seconds of it inside [from, to) over the seconds of that
 * cycle (calendar.h). from must not be before anchor. Added to *a; -1 when
 * it does not fit or a time is past the calendar.
 */
int amount_accrue(struct amount *a, int64_t price, enum cycle c, int64_t anchor,
		  int64_t from, int64_t to);

/*
 * Split gross minor units into share (share_bp of 10000) and fee (the
 * rest) by largest remainder: each part's floor, then the minor unit left
 * over, if any, to the part with the larger fraction; on equal fractions
 * to the larger part, on equal parts to share. share + fee == gross,
 * always. gross >= 0, share_bp <= 10000.
 */
void amount_split(int64_t gross, uint32_t share_bp, int64_t *share, int64_t *fee);

/*
 * The same for a share given exactly in ten-thousandths of a minor unit
 * (share_x / 10000 minor units: the sum of lines times their shares in
 * basis points), share_x <= gross * 10000.
 */
void amount_split_exact(int64_t gross, amount_u128 share_x, int64_t *share, int64_t *fee);

#endif
