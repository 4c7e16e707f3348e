/*
 * statement.c - statements per provider and currency (statement.h).
 *
 * Every span and every traffic delta becomes pieces keyed by (provider,
 * currency, instance, host, kind, plan version, share) with an exact amount; the
 * pieces are sorted by key and merged into lines, each rounded once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "settle/amount.h"
#include "settle/calendar.h"
#include "settle/statement.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/money.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum line_kind { KIND_USAGE, KIND_OFFLINE, KIND_TRAFFIC };
static const char *const kind_names[] = { "usage", "offline", "traffic" };

struct piece {
	const char *provider;
	const struct settle_snapshot *snap;
	const char *instance;
	const char *host;
	enum line_kind kind;
	uint32_t share_bp;		/* the provider's, during it */
	uint64_t count;			/* seconds, or bytes for traffic */
	struct amount amount;
};

struct pieces {
	struct piece *v;
	size_t n, alloc;
};

static struct piece *
piece_add(struct pieces *p, const char *provider, const struct settle_snapshot *snap,
	  const char *instance, const char *host, enum line_kind kind, uint32_t share_bp)
{
	struct piece *x;

	if (p->n == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 64;
		p->v = xreallocarray(p->v, p->alloc, sizeof(*p->v));
	}
	x = &p->v[p->n++];
	x->provider = provider;
	x->snap = snap;
	x->instance = instance;
	x->host = host;
	x->kind = kind;
	x->share_bp = share_bp;
	x->count = 0;
	x->amount = (struct amount)AMOUNT_ZERO;
	return x;
}

static int
piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;
	int c;

	if ((c = strcmp(x->provider, y->provider)) || (c = strcmp(x->snap->currency,
								    y->snap->currency)) ||
	    (c = strcmp(x->instance, y->instance)) || (c = strcmp(x->host, y->host)))
		return c;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->snap->plan_version, y->snap->plan_version)))
		return c;
	return x->share_bp < y->share_bp ? -1 : x->share_bp > y->share_bp;
}

static int
offline_cmp(const void *a, const void *b)
{
	const struct settle_offline *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	if (c)
		return c;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* Accrue [from, to) of snapshot sn into piece x (nothing when empty). */
static int
accrue(struct piece *x, const struct settle_snapshot *sn, int64_t from, int64_t to)
{
	if (from >= to)
		return 0;
	if (amount_accrue(&x->amount, sn->price, sn->cycle, sn->placed_at, from, to) < 0)
		return -1;
	x->count += (uint64_t)(to - from);
	return 0;
}

/* Accrue [from, to) of span s into the usage piece u or the offline piece o,
 * cut by the host's offline intervals off[0..noff) (sorted by from). */
static int
accrue_span(const struct settle_span *s, int64_t from, int64_t to,
	    const struct settle_offline *off, size_t noff, struct piece *u, struct piece *o)
{
	size_t i;

	for (i = 0; i < noff && from < to; i++) {
		int64_t a = off[i].from > from ? off[i].from : from;
		int64_t b = off[i].to < to ? off[i].to : to;

		if (b <= a)
			continue;
		if (accrue(u, s->snap, from, a) < 0 || accrue(o, s->snap, a, b) < 0)
			return -1;
		from = b;
	}
	return accrue(u, s->snap, from, to);
}

static int
wanted(const struct settle_input *in, const char *provider)
{
	return !in->only_provider || !strcmp(in->only_provider, provider);
}

static const struct settle_provider *
provider_of(const struct settle_input *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->nproviders; i++)
		if (!strcmp(in->providers[i].name, name))
			return &in->providers[i];
	return NULL;
}

/* The provider's share during span s. */
static uint32_t
share_of(const struct settle_input *in, const struct settle_span *s)
{
	const struct settle_provider *pv = s->terms ? s->terms : provider_of(in, s->provider);

	return pv ? pv->share_bp : 0;
}

static int
spans(const struct settle_input *in, const struct settle_offline *off, size_t noff,
      struct pieces *p, struct berr *err)
{
	size_t i, j, k;

	for (i = 0; i < in->nspans; i++) {
		const struct settle_span *s = &in->spans[i];
		int64_t from = s->from > in->from ? s->from : in->from;
		int64_t to = s->to < in->to ? s->to : in->to;
		struct piece *u, *o;

		if (s->from < s->snap->placed_at || s->to < s->from)
			return berr_set(err, "instance \"%s\" on host \"%s\": a span from %" PRId64
					" to %" PRId64 " is not after its placed-at %" PRId64,
					s->instance, s->host, s->from, s->to, s->snap->placed_at);
		if (currency_exponent(s->snap->currency) < 0)
			return berr_set(err, "instance \"%s\": unknown currency \"%s\"", s->instance,
					s->snap->currency);
		if (!wanted(in, s->provider) || from >= to)
			continue;
		/* the host's offline intervals: off is sorted by host */
		for (j = 0; j < noff && strcmp(off[j].host, s->host) < 0; j++)
			;
		for (k = j; k < noff && !strcmp(off[k].host, s->host); k++)
			;
		u = piece_add(p, s->provider, s->snap, s->instance, s->host, KIND_USAGE,
			      share_of(in, s));
		o = piece_add(p, s->provider, s->snap, s->instance, s->host, KIND_OFFLINE, 0);
		if (accrue_span(s, from, to, off + j, k - j, u, o) < 0)
			return berr_set(err, "instance \"%s\": an amount does not fit", s->instance);
	}
	return 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct settle_span *x = *(const struct settle_span *const *)a;
	const struct settle_span *y = *(const struct settle_span *const *)b;
	int c;

	if ((c = strcmp(x->instance, y->instance)) || (c = strcmp(x->host, y->host)))
		return c;
	return x->from < y->from ? -1 : x->from > y->from;
}

/*
 * The span of instance on host that holds a moment of [t, end) (t itself
 * when end <= t; a span's end included), or NULL; by[0..n) are the spans
 * sorted by span_cmp.
 */
static const struct settle_span *
span_at(const struct settle_span *const *by, size_t n, const char *instance,
	const char *host, int64_t t, int64_t end)
{
	size_t lo = 0, hi = n;
	int c;

	while (lo < hi) {	/* the first span of (instance, host) */
		size_t mid = lo + (hi - lo) / 2;

		if ((c = strcmp(by[mid]->instance, instance)) < 0 ||
		    (!c && strcmp(by[mid]->host, host) < 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !strcmp(by[lo]->instance, instance) && !strcmp(by[lo]->host, host); lo++)
		if (by[lo]->from < (end > t ? end : t + 1) && t <= by[lo]->to)
			return by[lo];
	return NULL;
}

struct delta {
	const struct settle_traffic *t;
	const struct settle_span *span;
	int64_t time;		/* t's, or its span's start when later */
};

static int
delta_cmp(const void *a, const void *b)
{
	const struct delta *x = a, *y = b;
	int c;

	if ((c = strcmp(x->t->instance, y->t->instance)))
		return c;
	if (x->span->snap->placed_at != y->span->snap->placed_at)
		return x->span->snap->placed_at < y->span->snap->placed_at ? -1 : 1;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if ((c = strcmp(x->t->host, y->t->host)))
		return c;
	return x->t->bytes < y->t->bytes ? -1 : x->t->bytes > y->t->bytes;
}

/*
 * Overage: the deltas of each instance (one placed-at: one run of billing
 * months) in time order, against the allowance of each billing month.
 */
static int
traffic(const struct settle_input *in, struct pieces *p, struct berr *err)
{
	struct delta *d = xreallocarray(NULL, in->ntraffic + 1, sizeof(*d));
	const struct settle_span **by = xreallocarray(NULL, in->nspans + 1, sizeof(*by));
	size_t i, n = 0;
	int64_t month = -1;
	uint64_t used = 0;
	int ret = -1;

	for (i = 0; i < in->nspans; i++)
		by[i] = &in->spans[i];
	if (in->nspans)
		qsort(by, in->nspans, sizeof(*by), span_cmp);
	for (i = 0; i < in->ntraffic; i++) {
		const struct settle_traffic *t = &in->traffic[i];
		const struct settle_span *s = span_at(by, in->nspans, t->instance, t->host,
						      t->time, t->time + t->width);

		if (s && s->snap->traffic && s->snap->overage_per && wanted(in, s->provider)) {
			d[n].t = t;
			d[n].span = s;
			d[n++].time = t->time > s->from ? t->time : s->from;
		}
	}
	qsort(d, n, sizeof(*d), delta_cmp);
	for (i = 0; i < n; i++) {
		const struct settle_snapshot *sn = d[i].span->snap;
		int64_t m = cycle_at(CYCLE_MONTHLY, sn->placed_at, d[i].time);
		uint64_t b = d[i].t->bytes, over;
		struct piece *x;

		if (!i || strcmp(d[i].t->instance, d[i - 1].t->instance) ||
		    sn->placed_at != d[i - 1].span->snap->placed_at || m != month) {
			month = m;
			used = 0;
		}
		if (used >= sn->traffic)
			over = b;
		else
			over = b > sn->traffic - used ? b - (sn->traffic - used) : 0;
		used = b > UINT64_MAX - used ? UINT64_MAX : used + b;
		if (!over || d[i].time < in->from || d[i].time >= in->to)
			continue;
		x = piece_add(p, d[i].span->provider, sn, d[i].t->instance, d[i].t->host,
			      KIND_TRAFFIC, share_of(in, d[i].span));
		x->count = over;
		if (sn->overage < 0 ||
		    amount_add_ratio(&x->amount, (amount_u128)(uint64_t)sn->overage * over,
				     sn->overage_per) < 0) {
			berr_set(err, "instance \"%s\": a traffic amount does not fit",
				 d[i].t->instance);
			goto out;
		}
	}
	ret = 0;
out:
	free(by);
	free(d);
	return ret;
}

json_t *
settle_decimal(int64_t minor, int exp)
{
	char s[48];

	money_decimal(minor, exp, s, sizeof(s));
	return json_string(s);
}

char *
settle_canonical(const json_t *v)
{
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);

	if (!s)
		abort();
	return s;
}

static void
set_hash(json_t *st)
{
	unsigned char md[32];
	unsigned int len = 0;
	char hex[65], *text = settle_canonical(st);

	EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), hex);
	json_object_set_new(st, "hash", json_string(hex));
	free(text);
}

/*
 * Close the statement st: totals, the split (share_x: the sum of its lines
 * times their shares, in ten-thousandths), payable_after, the hash.
 */
static int
close_statement(const struct settle_input *in, json_t *st, int64_t gross, int64_t offline,
		amount_u128 share_x, int exp, struct berr *err)
{
	const struct settle_provider *pv = provider_of(in, json_string_value(
		json_object_get(st, "provider")));
	int64_t share, fee, payable;
	char when[40];

	amount_split_exact(gross - offline, share_x, &share, &fee);
	fee = gross - share;
	payable = in->to + (pv ? pv->holdback : 0);
	if (payable > CALENDAR_MAX_TIME)
		return berr_set(err, "provider \"%s\": payable after the end of the calendar",
				pv ? pv->name : "?");
	clock_format(payable * 1000, 0, when, sizeof(when));
	json_object_set_new(st, "gross_minor", json_integer(gross));
	json_object_set_new(st, "gross", settle_decimal(gross, exp));
	json_object_set_new(st, "provider_share_minor", json_integer(share));
	json_object_set_new(st, "provider_share", settle_decimal(share, exp));
	json_object_set_new(st, "platform_fee_minor", json_integer(fee));
	json_object_set_new(st, "platform_fee", settle_decimal(fee, exp));
	json_object_set_new(st, "payable_after", json_string(when));
	set_hash(st);
	return 0;
}

static json_t *
line_json(const struct piece *x, int64_t minor, int exp)
{
	json_t *l = json_object();

	json_object_set_new(l, "instance", json_string(x->instance));
	json_object_set_new(l, "host", json_string(x->host));
	json_object_set_new(l, "plan", json_string(x->snap->plan));
	json_object_set_new(l, "plan_version", json_string(x->snap->plan_version));
	json_object_set_new(l, "kind", json_string(kind_names[x->kind]));
	json_object_set_new(l, x->kind == KIND_TRAFFIC ? "bytes" : "seconds",
			    json_integer((json_int_t)x->count));
	json_object_set_new(l, "amount_minor", json_integer(minor));
	json_object_set_new(l, "amount", settle_decimal(minor, exp));
	json_object_set_new(l, "share_bp", json_integer(x->share_bp));
	return l;
}

/* The sorted pieces merged into lines, grouped into statements. */
static json_t *
statements(const struct settle_input *in, struct pieces *p, struct berr *err)
{
	json_t *out = json_array(), *st = NULL;
	int64_t gross = 0, offline = 0, minor;
	amount_u128 share_x = 0;
	int exp = 0;
	size_t i = 0, j;

	if (p->n)
		qsort(p->v, p->n, sizeof(*p->v), piece_cmp);
	while (i < p->n) {
		struct piece line = p->v[i];

		for (j = i + 1; j < p->n && !piece_cmp(&p->v[j], &line); j++) {
			if (amount_add(&line.amount, &p->v[j].amount) < 0)
				goto too_big;
			line.count += p->v[j].count;
		}
		i = j;
		if (!line.count)
			continue;	/* an empty offline or usage part */
		if (amount_round(&line.amount, &minor) < 0)
			goto too_big;
		if (st && (strcmp(json_string_value(json_object_get(st, "provider")), line.provider) ||
			   strcmp(json_string_value(json_object_get(st, "currency")),
				  line.snap->currency))) {
			if (close_statement(in, st, gross, offline, share_x, exp, err) < 0)
				goto fail;
			st = NULL;
		}
		if (!st) {
			st = json_pack("{s:s, s:s, s:[]}", "provider", line.provider, "currency",
				       line.snap->currency, "lines");
			json_array_append_new(out, st);
			gross = offline = 0;
			share_x = 0;
			exp = currency_exponent(line.snap->currency);
		}
		json_array_append_new(json_object_get(st, "lines"), line_json(&line, minor, exp));
		if (__builtin_add_overflow(gross, minor, &gross))
			goto too_big;
		if (line.kind == KIND_OFFLINE)
			offline += minor;
		share_x += (amount_u128)(uint64_t)minor * line.share_bp;
	}
	if (st && close_statement(in, st, gross, offline, share_x, exp, err) < 0)
		goto fail;
	return out;
too_big:
	berr_set(err, "a statement's amount does not fit in 64 bits");
fail:
	json_decref(out);
	return NULL;
}

json_t *
settle_compute(const struct settle_input *in, struct berr *err)
{
	struct settle_offline *off = NULL;
	struct pieces p = { NULL, 0, 0 };
	json_t *out = NULL;

	if (in->to < in->from || in->from < 0 || in->to > CALENDAR_MAX_TIME) {
		berr_set(err, "the period from %" PRId64 " to %" PRId64 " is not a period",
			 in->from, in->to);
		return NULL;
	}
	off = xreallocarray(NULL, in->noffline + 1, sizeof(*off));
	if (in->noffline)
		memcpy(off, in->offline, in->noffline * sizeof(*off));
	qsort(off, in->noffline, sizeof(*off), offline_cmp);
	if (spans(in, off, in->noffline, &p, err) == 0 && traffic(in, &p, err) == 0)
		out = statements(in, &p, err);
	free(off);
	free(p.v);
	return out;
}

static void
offline_push(struct settle_offline **out, size_t *n, const char *host, int64_t from, int64_t to)
{
	if (to <= from)
		return;
	*out = xreallocarray(*out, *n + 1, sizeof(**out));
	(*out)[(*n)++] = (struct settle_offline){ host, from, to };
}

void
settle_offline_add(const char *host, const int64_t (*online)[2], size_t n,
		   int64_t from, int64_t to, struct settle_offline **out, size_t *nout)
{
	int64_t at = from, a, b;
	size_t i;

	for (i = 0; i < n && at < to; i++) {
		/* whole seconds online: an interval's start rounds up, its end down */
		a = online[i][0] / 1000 + (online[i][0] % 1000 != 0);
		b = online[i][1] / 1000;
		if (b <= at)
			continue;
		offline_push(out, nout, host, at, a < to ? a : to);
		at = b;
	}
	offline_push(out, nout, host, at, to);
}

json_t *
settle_empty(const struct settle_input *in, const char *provider, const char *currency,
	     struct berr *err)
{
	int exp = currency_exponent(currency);
	json_t *st;

	if (exp < 0) {
		berr_set(err, "unknown currency \"%s\"", currency);
		return NULL;
	}
	st = json_pack("{s:s, s:s, s:[]}", "provider", provider, "currency", currency, "lines");
	if (close_statement(in, st, 0, 0, 0, exp, err) < 0) {
		json_decref(st);
		return NULL;
	}
	return st;
}
