/*
 * amount.c - exact amounts and their one rounding (amount.h).
 */
#include "settle/amount.h"
#include "settle/calendar.h"

#define U128_MAX (~(amount_u128)0)

static amount_u128
gcd(amount_u128 a, amount_u128 b)
{
	while (b) {
		amount_u128 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* *out = a * b, or -1 when it does not fit. */
static int
mul(amount_u128 a, amount_u128 b, amount_u128 *out)
{
	if (a && b > U128_MAX / a)
		return -1;
	*out = a * b;
	return 0;
}

int
amount_add(struct amount *a, const struct amount *b)
{
	amount_u128 g, l, an, bn, num;

	if (!b->num)
		return 0;
	/* a/x + b/y over lcm(x, y) */
	g = gcd(a->den, b->den);
	if (mul(a->den / g, b->den, &l) < 0 || mul(a->num, l / a->den, &an) < 0 ||
	    mul(b->num, l / b->den, &bn) < 0 || an > U128_MAX - bn)
		return -1;
	num = an + bn;
	g = gcd(num, l);
	a->num = num / g;
	a->den = l / g;
	return 0;
}

int
amount_add_ratio(struct amount *a, amount_u128 num, amount_u128 den)
{
	struct amount b;
	amount_u128 g;

	if (!den)
		return -1;
	g = gcd(num, den);
	b.num = num / g;
	b.den = den / g;
	return amount_add(a, &b);
}

int
amount_add_share(struct amount *a, int64_t price, uint64_t part, uint64_t whole)
{
	if (price < 0 || !whole || part > whole)
		return -1;
	/* < 2^127: cannot wrap */
	return amount_add_ratio(a, (amount_u128)(uint64_t)price * part, whole);
}

int
amount_round(const struct amount *a, int64_t *out)
{
	amount_u128 q = a->num / a->den, r = a->num % a->den;

	/* r / den against 1/2: 2r against den, without overflow */
	if (r > a->den - r || (r == a->den - r && (q & 1)))
		q++;
	if (q > (amount_u128)INT64_MAX)
		return -1;
	*out = (int64_t)q;
	return 0;
}

int
amount_accrue(struct amount *a, int64_t price, enum cycle c, int64_t anchor,
	      int64_t from, int64_t to)
{
	struct amount sum = *a;
	int64_t k, start, end;

	if (from < anchor || to < from)
		return -1;
	for (k = cycle_at(c, anchor, from); from < to; k++) {
		start = cycle_start(c, anchor, k);
		end = cycle_start(c, anchor, k + 1);
		if (start < 0 || end < 0)
			return -1;
		if (amount_add_share(&sum, price, (uint64_t)((to < end ? to : end) - from),
				     (uint64_t)(end - start)) < 0)
			return -1;
		from = end;
	}
	*a = sum;
	return 0;
}

void
amount_split_exact(int64_t gross, amount_u128 share_x, int64_t *share, int64_t *fee)
{
	/* gross * 10000 < 2^63 * 2^14: in 128 bits */
	amount_u128 s = share_x, f = (amount_u128)(uint64_t)gross * 10000 - share_x;
	int64_t sf = (int64_t)(s / 10000), ff = (int64_t)(f / 10000);
	amount_u128 sr = s % 10000, fr = f % 10000;

	if (sf + ff < gross) {	/* one minor unit is left over */
		if (sr > fr || (sr == fr && s >= f))
			sf++;
		else
			ff++;
	}
	*share = sf;
	*fee = ff;
}

void
amount_split(int64_t gross, uint32_t share_bp, int64_t *share, int64_t *fee)
{
	amount_split_exact(gross, (amount_u128)(uint64_t)gross * share_bp, share, fee);
}
