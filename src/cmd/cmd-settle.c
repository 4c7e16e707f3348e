/*
 * berth settle - statements of a period per provider and currency,
 * recorded in the ledger; list and show them.
 *
 * The inputs: the instances' spans from the ledger (settle/gather.h), the
 * hosts' providers and the providers' terms in force at each moment, from
 * the terms entries of the ledger (settle/terms.h; the manifests of the
 * configured commit when none is recorded yet), the agents' online
 * intervals (agent_online: a host
 * with an agent key is offline where they leave gaps) and the instances'
 * hourly traffic from the state database. The arithmetic is
 * settle/statement.h's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "serve/store.h"
#include "settle/calendar.h"
#include "settle/gather.h"
#include "settle/recorded.h"
#include "settle/spans.h"
#include "settle/statement.h"
#include "settle/terms.h"
#include "util/clock.h"
#include "util/money.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum { O_PERIOD = 1, O_FROM, O_TO, O_PROVIDER, O_AMEND };

static const struct opt opts[] = {
	{ "period", 0, 1, O_PERIOD },
	{ "from", 0, 1, O_FROM },
	{ "to", 0, 1, O_TO },
	{ "provider", 0, 1, O_PROVIDER },
	{ "amend", 0, 0, O_AMEND },
	{ NULL, 0, 0, 0 },
};

struct settle_args {
	const char *period, *from_s, *to_s, *provider;
	int amend;
	int64_t from, to;	/* seconds */
	char label[96];
};

/* --period YYYY-MM, or --from and --to (RFC 3339): the period. */
static int
parse_period(struct ctx *ctx, struct settle_args *a)
{
	int64_t ms;
	unsigned y, m;
	char rest, f[40], t[40];

	if (a->period) {
		if (a->from_s || a->to_s)
			return usage_error(ctx, "--period or --from and --to, not both");
		if (sscanf(a->period, "%4u-%2u%c", &y, &m, &rest) != 2 || strlen(a->period) != 7 ||
		    y < 1970 || y > 9998 || m < 1 || m > 12)
			return usage_error(ctx, "--period: want a month like 2026-11, have \"%s\"",
					   a->period);
		a->from = days_from_civil(y, m, 1) * 86400;
		a->to = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400;
		snprintf(a->label, sizeof(a->label), "%s", a->period);
	} else {
		if (!a->from_s || !a->to_s)
			return usage_error(ctx, "want --period YYYY-MM, or --from and --to");
		if (clock_parse_rfc3339(a->from_s, &ms) < 0 || ms < 0)
			return usage_error(ctx, "--from: want an RFC 3339 time, have \"%s\"", a->from_s);
		a->from = ms / 1000;
		if (clock_parse_rfc3339(a->to_s, &ms) < 0 || ms < 0)
			return usage_error(ctx, "--to: want an RFC 3339 time, have \"%s\"", a->to_s);
		a->to = ms / 1000;
		if (a->to <= a->from)
			return usage_error(ctx, "--to must be after --from");
		clock_format(a->from * 1000, 0, f, sizeof(f));
		clock_format(a->to * 1000, 0, t, sizeof(t));
		snprintf(a->label, sizeof(a->label), "%s..%s", f, t);
	}
	if (a->to * 1000 > clock_now_ms())
		return cmd_error(ctx, "the period %s has not ended: a statement is made of a period"
				 " that is over", a->label);
	return -1;
}

/* The offline intervals of host inside [from, to): the gaps between what
 * agent_online says. */
static int
offline_in(const struct ctx *ctx, const char *host, int64_t from, int64_t to,
	   struct settle_offline **out, size_t *n, struct berr *err)
{
	struct online_span *on = NULL;
	int64_t (*pairs)[2];
	size_t j, non;

	if (from >= to)
		return 0;
	if (store_online(ctx->state_dir, host, from * 1000, to * 1000, &on, &non, err) < 0)
		return -1;
	pairs = xreallocarray(NULL, non + 1, sizeof(*pairs));
	for (j = 0; j < non; j++) {
		pairs[j][0] = on[j].from_ms;
		pairs[j][1] = on[j].to_ms;
	}
	settle_offline_add(host, (const int64_t (*)[2])pairs, non, from, to, out, n);
	free(pairs);
	free(on);
	return 0;
}

/*
 * The offline intervals of the hosts of sp while the terms in force gave
 * them an agent (a Host with spec.agent.key), since agent_online knows
 * (store_online_since(): before, nobody knows, and nothing is offline).
 * -1 with err when the state database cannot be read.
 */
static int
offline_of(const struct ctx *ctx, const struct settle_args *a, const struct settle_eras *e,
	   const struct settle_spans *sp, struct settle_offline **out, size_t *n,
	   struct berr *err)
{
	json_t *done = json_object();
	int64_t since_ms, since, from, to;
	size_t i, k;
	int ret = 0;

	if (store_online_since(ctx->state_dir, &since_ms, err) < 0) {
		json_decref(done);
		return -1;
	}
	since = since_ms == INT64_MAX ? INT64_MAX : since_ms / 1000 + (since_ms % 1000 != 0);
	for (i = 0; i < sp->n && !ret; i++) {
		const char *host = sp->v[i].host;

		if (json_object_get(done, host) || sp->v[i].to <= a->from || sp->v[i].from >= a->to)
			continue;
		json_object_set_new(done, host, json_true());
		for (k = 0; k < e->n && !ret; k++) {
			if (!settle_era_has_agent(&e->v[k], host))
				continue;
			from = e->v[k].from > a->from ? e->v[k].from : a->from;
			from = from > since ? from : since;
			to = k + 1 < e->n && e->v[k + 1].from < a->to ? e->v[k + 1].from : a->to;
			ret = offline_in(ctx, host, from, to, out, n, err);
		}
	}
	json_decref(done);
	return ret;
}

static int
is_settlement(const json_t *e)
{
	const char *kind = json_string_value(json_object_get(e, "kind"));

	return kind && (!strcmp(kind, "settlement") || !strcmp(kind, "settlement.amend")) &&
	       json_string_value(json_object_get(e, "object"));
}

struct recorded {
	const char *prefix;	/* "settlement/PERIOD/" */
	json_t *latest;		/* object -> its latest entry */
};

static int
on_recorded(void *ctx, const json_t *e)
{
	struct recorded *r = ctx;
	const char *object = json_string_value(json_object_get(e, "object"));

	if (is_settlement(e) && !strncmp(object, r->prefix, strlen(r->prefix)))
		json_object_set(r->latest, object, (json_t *)e);
	return 0;
}

/*
 * What is recorded for the period of a: each statement's object ->
 * its latest settlement or amendment. NULL with err.
 */
static json_t *
recorded_of(const struct settle_args *a, struct ledger *l, struct berr *err)
{
	char *prefix = xasprintf("settlement/%s/", a->label);
	struct recorded r = { prefix, json_object() };

	if (ledger_query(l, NULL, on_recorded, &r, err) < 0) {
		json_decref(r.latest);
		r.latest = NULL;
	}
	free(prefix);
	return r.latest;
}

/*
 * A statement recorded for the period whose lines are all gone now (every
 * instance of a provider moved away, say) is settled again as an empty
 * one, appended to out, so that a re-settle says so and --amend corrects
 * it.
 */
static int
vanished(const struct settle_args *a, const json_t *recorded, const struct settle_input *in,
	 json_t *out, struct berr *err)
{
	const json_t *e, *st, *o;
	const char *object;
	size_t i;
	int found;

	json_object_foreach((json_t *)recorded, object, e) {
		const char *p, *c;
		json_t *empty;

		st = settle_entry_statement(e);
		p = json_string_value(json_object_get(st, "provider"));
		c = json_string_value(json_object_get(st, "currency"));
		if (!p || !c || !json_array_size(json_object_get(st, "lines")) ||
		    (a->provider && strcmp(a->provider, p)))
			continue;
		found = 0;
		json_array_foreach(out, i, o)
			found |= !strcmp(json_string_value(json_object_get(o, "provider")), p) &&
				 !strcmp(json_string_value(json_object_get(o, "currency")), c);
		if (found)
			continue;
		if (!(empty = settle_empty(in, p, c, err)))
			return -1;
		json_array_append_new(out, empty);
	}
	return 0;
}

/* The statements of the period: NULL after saying why. */
static json_t *
compute(struct ctx *ctx, const struct settle_args *a, const struct fleet *f,
	struct ledger *l, const json_t *recorded)
{
	struct settle_events ev = { 0 };
	struct settle_spans sp = { 0 };
	struct settle_traffics tr = { 0 };
	struct settle_input in = { 0 };
	struct settle_eras eras = { 0 };
	const struct settle_era *last;
	json_t *configured = settle_terms_of_fleet(f);
	struct settle_offline *off = NULL;
	size_t noff = 0;
	struct berr err;
	json_t *out = NULL;

	if (settle_events_gather(l, &ev, &err) < 0 ||
	    settle_spans_build(ev.v, ev.n, fleet_host_provider, (void *)f, a->to, &sp, &err) < 0 ||
	    settle_eras_build(ev.terms, ev.nterms, configured, &eras, &err) < 0 ||
	    (settle_spans_terms(&sp, &eras), 0) ||
	    settle_traffic_gather(ctx->state_dir, a->from, a->to, &sp, &tr, &err) < 0 ||
	    offline_of(ctx, a, &eras, &sp, &off, &noff, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	in.from = a->from;
	in.to = a->to;
	in.spans = sp.v;
	in.nspans = sp.n;
	in.traffic = tr.v;
	in.ntraffic = tr.n;
	in.offline = off;
	in.noffline = noff;
	if (settle_events_last_terms(&ev) &&
	    !json_equal(configured, (json_t *)settle_events_last_terms(&ev)))
		cmd_info(ctx, "the providers' terms in the manifests differ from those last applied:"
			 " they count from the apply or reconcile that records them");
	last = settle_era_at(&eras, a->to > a->from ? a->to - 1 : a->to);
	in.providers = last->providers;	/* the holdbacks at the period's end */
	in.nproviders = last->nproviders;
	in.only_provider = a->provider;
	if (!(out = settle_compute(&in, &err)) || vanished(a, recorded, &in, out, &err) < 0) {
		cmd_berr(ctx, &err);
		json_decref(out);
		out = NULL;
	}
	else if (sp.unsold && !a->provider)	/* a count of the whole fleet's */
		cmd_info(ctx, "%zu instance%s without a sold snapshot (not sold by berth or a panel"
			 " on its plans) not charged", sp.unsold, sp.unsold == 1 ? "" : "s");
out:
	free(off);
	settle_eras_release(&eras);
	json_decref(configured);
	settle_traffics_release(&tr);
	settle_spans_release(&sp);
	settle_events_release(&ev);
	return out;
}

/* The lines of a that b lacks. */
static json_t *
lines_missing(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *l, *m;
	size_t i, j;
	int found;

	json_array_foreach(json_object_get(a, "lines"), i, l) {
		found = 0;
		json_array_foreach(json_object_get(b, "lines"), j, m)
			found |= json_equal(l, m);
		if (!found)
			json_array_append(out, l);
	}
	return out;
}

/* What changed from old to new, as the lines of each that the other lacks. */
static json_t *
difference(const json_t *old, const json_t *new)
{
	json_t *d = json_object();

	json_object_set_new(d, "gross_minor", json_integer(
		json_integer_value(json_object_get(new, "gross_minor")) -
		json_integer_value(json_object_get(old, "gross_minor"))));
	json_object_set_new(d, "provider_share_minor", json_integer(
		json_integer_value(json_object_get(new, "provider_share_minor")) -
		json_integer_value(json_object_get(old, "provider_share_minor"))));
	json_object_set_new(d, "lines_removed", lines_missing(old, new));
	json_object_set_new(d, "lines_added", lines_missing(new, old));
	return d;
}

/*
 * Record statement st of the period (unless the same is recorded already);
 * its status and seq go into st's "recorded" (not part of the hash). 0, 1
 * when it differs from what is recorded and amend is off, -1 on a ledger
 * error.
 */
static int
record(struct ctx *ctx, const struct settle_args *a, struct ledger *l, const json_t *recorded,
       json_t *st)
{
	struct ledger_entry e = { 0 };
	const json_t *old, *last;
	json_t *after = NULL, *rec;
	struct berr err;
	char *object = xasprintf("settlement/%s/%s/%s", a->label,
				 json_string_value(json_object_get(st, "provider")),
				 json_string_value(json_object_get(st, "currency")));
	int ret = -1;

	last = json_object_get(recorded, object);
	old = last ? settle_entry_statement(last) : NULL;
	rec = json_object();
	if (old && json_equal(json_object_get(old, "hash"), json_object_get(st, "hash"))) {
		json_object_set_new(rec, "status", json_string("unchanged"));
		json_object_set(rec, "seq", json_object_get(last, "seq"));
		json_object_set_new(st, "recorded", rec);
		ret = 0;
		goto out;
	}
	if (old && !a->amend) {
		json_object_set_new(rec, "status", json_string("differs"));
		json_object_set(rec, "seq", json_object_get(last, "seq"));
		json_object_set_new(rec, "difference", difference(old, st));
		json_object_set_new(st, "recorded", rec);
		cmd_error(ctx, "%s: the inputs changed since ledger entry %" JSON_INTEGER_FORMAT
			  " recorded it (gross %s, now %s): `berth settle --amend` records a"
			  " correction", object, json_integer_value(json_object_get(last, "seq")),
			  json_string_value(json_object_get(old, "gross")),
			  json_string_value(json_object_get(st, "gross")));
		ret = 1;
		goto out;
	}
	e.kind = old ? "settlement.amend" : "settlement";
	e.object = object;
	e.action = old ? "amend" : "settle";
	e.result = "ok";
	after = old ? json_pack("{s:O, s:O, s:o}", "amends", json_object_get(last, "seq"),
				"statement", st, "difference", difference(old, st)) :
		json_deep_copy(st);
	e.after = after;
	if (ledger_append(l, &e, &err) < 0) {
		json_decref(rec);
		cmd_error(ctx, "%s: cannot be recorded: %s", object, err.msg);
		goto out;
	}
	json_object_set_new(rec, "status", json_string(old ? "amended" : "new"));
	json_object_set_new(rec, "seq", json_integer(e.seq));
	json_object_set_new(st, "recorded", rec);
	ret = 0;
out:
	json_decref(after);
	free(object);
	return ret;
}

static void
print_csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void
print_csv(const char *label, const json_t *sts)
{
	static const char *const cols[] = { "instance", "host", "plan", "plan_version", "kind",
					    "seconds", "bytes", "amount_minor", "amount" };
	const json_t *st, *l, *v;
	size_t i, j, c;

	fputs("period,provider,currency,instance,host,plan,plan_version,kind,seconds,bytes,"
	      "amount_minor,amount\r\n", stdout);
	json_array_foreach(sts, i, st)
		json_array_foreach(json_object_get(st, "lines"), j, l) {
			print_csv_field(label);
			putchar(',');
			print_csv_field(json_string_value(json_object_get(st, "provider")));
			putchar(',');
			print_csv_field(json_string_value(json_object_get(st, "currency")));
			for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
				putchar(',');
				v = json_object_get(l, cols[c]);
				if (json_is_integer(v))
					printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
				else if (json_is_string(v))
					print_csv_field(json_string_value(v));
			}
			fputs("\r\n", stdout);
		}
}

/* A difference from what was recorded (record()), for text output. */
static void
print_difference(const json_t *d, const char *cur)
{
	static const char *const parts[] = { "lines_removed", "lines_added" };
	const json_t *l;
	size_t i, j;

	if (!d)
		return;
	printf("  differs from what is recorded: gross %+" JSON_INTEGER_FORMAT ", provider share %+"
	       JSON_INTEGER_FORMAT " (minor units of %s)\n",
	       json_integer_value(json_object_get(d, "gross_minor")),
	       json_integer_value(json_object_get(d, "provider_share_minor")), cur);
	for (i = 0; i < 2; i++)
		json_array_foreach(json_object_get(d, parts[i]), j, l)
			printf("  %c %s %s %s %s %s\n", i ? '+' : '-',
			       json_string_value(json_object_get(l, "instance")),
			       json_string_value(json_object_get(l, "host")),
			       json_string_value(json_object_get(l, "kind")),
			       json_string_value(json_object_get(l, "amount")), cur);
}

static void
print_text(const char *label, const json_t *sts)
{
	const json_t *st, *l, *rec;
	size_t i, j;

	if (!json_array_size(sts))
		printf("%s: nothing to settle\n", label);
	json_array_foreach(sts, i, st) {
		const char *cur = json_string_value(json_object_get(st, "currency"));

		rec = json_object_get(st, "recorded");
		printf("%s %s %s: gross %s, provider %s, platform %s; payable after %s",
		       label, json_string_value(json_object_get(st, "provider")), cur,
		       json_string_value(json_object_get(st, "gross")),
		       json_string_value(json_object_get(st, "provider_share")),
		       json_string_value(json_object_get(st, "platform_fee")),
		       json_string_value(json_object_get(st, "payable_after")));
		if (rec)
			printf(" (%s, ledger entry %" JSON_INTEGER_FORMAT ")",
			       json_string_value(json_object_get(rec, "status")),
			       json_integer_value(json_object_get(rec, "seq")));
		printf("\n  hash %s\n", json_string_value(json_object_get(st, "hash")));
		print_difference(json_object_get(rec, "difference"), cur);
		json_array_foreach(json_object_get(st, "lines"), j, l) {
			const json_t *s = json_object_get(l, "seconds");

			printf("  %-20s %-12s %-10s %-8s %12" JSON_INTEGER_FORMAT " %-7s %12s %s\n",
			       json_string_value(json_object_get(l, "instance")),
			       json_string_value(json_object_get(l, "host")),
			       json_string_value(json_object_get(l, "plan")),
			       json_string_value(json_object_get(l, "kind")),
			       json_integer_value(s ? s : json_object_get(l, "bytes")),
			       s ? "s" : "bytes",
			       json_string_value(json_object_get(l, "amount")), cur);
		}
	}
}

static void
print_statements(const struct ctx *ctx, const char *label, json_t *sts)
{
	if (ctx->format == FORMAT_CSV) {
		print_csv(label, sts);
	} else if (ctx->format == FORMAT_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:O}", "format_version", "1.0", "period", label,
				      "statements", sts);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(j);
	} else {
		print_text(label, sts);
	}
}

static int
settle(struct ctx *ctx, struct settle_args *a)
{
	struct manifest_result res = { 0 };
	struct ledger *l = NULL;
	struct berr err;
	json_t *sts = NULL, *st, *recorded = NULL;
	size_t i;
	int ret = EXIT_FAIL, r, differs = 0;

	if ((r = parse_period(ctx, a)) >= 0)
		return r;
	if (load_valid_fleet(ctx, &res, ": nothing settled") < 0)
		return EXIT_FAIL;
	if (a->provider && strcmp(a->provider, "platform") && !fleet_provider(res.fleet, a->provider)) {
		cmd_error(ctx, "--provider: no Provider \"%s\" in the manifests", a->provider);
		goto out;
	}
	if (ledger_open(ctx->state_dir, &l, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (!(recorded = recorded_of(a, l, &err))) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (!(sts = compute(ctx, a, res.fleet, l, recorded)))
		goto out;
	json_array_foreach(sts, i, st) {
		if ((r = record(ctx, a, l, recorded, st)) < 0)
			goto out;
		differs |= r;
	}
	print_statements(ctx, a->label, sts);
	ret = differs ? EXIT_FAIL : EXIT_OK;
out:
	json_decref(sts);
	json_decref(recorded);
	ledger_close(l);
	manifest_result_release(&res);
	return ret;
}

/* settlement entries, for list and show */
struct listing {
	const char *provider;
	int64_t seq;		/* show: this one */
	json_t *entries;
};

/* The provider of a settlement object "settlement/PERIOD/PROVIDER/CUR". */
static int
object_provider_is(const char *object, const char *provider)
{
	const char *end = strrchr(object, '/'), *p;
	size_t n = strlen(provider);

	if (!end || end - object < (ptrdiff_t)n + 1)
		return 0;
	p = end - n;
	return p[-1] == '/' && !strncmp(p, provider, n);
}

static int
collect(void *ctx, const json_t *e)
{
	struct listing *ls = ctx;
	const char *object = json_string_value(json_object_get(e, "object"));

	if (!is_settlement(e))
		return 0;
	if (ls->seq && json_integer_value(json_object_get(e, "seq")) != ls->seq)
		return 0;
	if (ls->provider && !object_provider_is(object, ls->provider))
		return 0;
	json_array_append_new(ls->entries, json_deep_copy(e));
	return 0;
}

static int
list_or_show(struct ctx *ctx, const char *sub, const char *id, const char *provider)
{
	struct listing ls = { provider, 0, json_array() };
	struct ledger *l = NULL;
	struct berr err;
	const json_t *e;
	unsigned long seq;
	size_t i;
	int ret = EXIT_FAIL;

	if (!strcmp(sub, "show")) {
		if (!id || !opt_parse_uint(id, INT64_MAX, &seq) || !seq) {
			json_decref(ls.entries);
			return usage_error(ctx, "show: want the ledger entry of a statement (berth"
					   " settle list), have \"%s\"", id ? id : "");
		}
		ls.seq = (int64_t)seq;
	} else if (id) {
		json_decref(ls.entries);
		return usage_error(ctx, "unexpected argument \"%s\"", id);
	}
	if (ledger_open(ctx->state_dir, &l, &err) < 0 ||
	    ledger_query(l, NULL, collect, &ls, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (ls.seq) {
		const json_t *st;
		json_t *one;
		const char *object;
		char label[96];

		if (!json_array_size(ls.entries)) {
			cmd_error(ctx, "no statement%s%s%s at ledger entry %lu", provider ? " of \"" :
				  "", provider ? provider : "", provider ? "\"" : "", seq);
			goto out;
		}
		e = json_array_get(ls.entries, 0);
		st = settle_entry_statement(e);
		object = json_string_value(json_object_get(e, "object"));
		snprintf(label, sizeof(label), "%.*s", (int)(strchr(object + 11, '/') - object - 11),
			 object + 11);
		one = json_pack("[O]", st);
		print_statements(ctx, label, one);
		json_decref(one);
		ret = EXIT_OK;
		goto out;
	}
	if (ctx->format == FORMAT_JSON) {
		json_t *j = json_pack("{s:s, s:[]}", "format_version", "1.0", "statements");

		json_array_foreach(ls.entries, i, e) {
			const json_t *st = settle_entry_statement(e);

			json_array_append_new(json_object_get(j, "statements"), json_pack(
				"{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "seq",
				json_object_get(e, "seq"), "time", json_object_get(e, "time"),
				"kind", json_object_get(e, "kind"), "object",
				json_object_get(e, "object"), "provider", json_object_get(st, "provider"),
				"currency", json_object_get(st, "currency"), "gross_minor",
				json_object_get(st, "gross_minor"), "hash", json_object_get(st, "hash")));
		}
		json_object_set_new(j, "totals", settle_totals(ls.entries, clock_now_ms()));
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(j);
	} else {
		int64_t now = clock_now_ms();
		json_t *tot = settle_totals(ls.entries, now), *t;

		json_array_foreach(ls.entries, i, e) {
			const json_t *st = settle_entry_statement(e);
			const char *after = json_string_value(json_object_get(st, "payable_after"));
			int payable = settle_is_payable(st, now);

			printf("%6" JSON_INTEGER_FORMAT "  %s  %-44s %12s %s  %s%s\n",
			       json_integer_value(json_object_get(e, "seq")),
			       json_string_value(json_object_get(e, "time")),
			       json_string_value(json_object_get(e, "object")),
			       json_string_value(json_object_get(st, "provider_share")),
			       json_string_value(json_object_get(st, "currency")),
			       payable ? "payable" : "held until ", payable || !after ? "" : after);
		}
		json_array_foreach(tot, i, t)
			printf("%s %s: held %s, payable %s\n",
			       json_string_value(json_object_get(t, "provider")),
			       json_string_value(json_object_get(t, "currency")),
			       json_string_value(json_object_get(t, "held")),
			       json_string_value(json_object_get(t, "payable")));
		json_decref(tot);
	}
	ret = EXIT_OK;
out:
	json_decref(ls.entries);
	ledger_close(l);
	return ret;
}

int
cmd_settle(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct settle_args a = { 0 };
	const char *sub = NULL, *id = NULL;
	int r;

	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP: return command_help(ctx);
		case O_PERIOD: a.period = p.arg; break;
		case O_FROM: a.from_s = p.arg; break;
		case O_TO: a.to_s = p.arg; break;
		case O_PROVIDER: a.provider = p.arg; break;
		case O_AMEND: a.amend = 1; break;
		case OPT_OPERAND:
			if (!sub && (!strcmp(p.arg, "list") || !strcmp(p.arg, "show"))) {
				sub = p.arg;
			} else if (sub && !id) {
				id = p.arg;
			} else {
				return usage_error(ctx, "unexpected argument \"%s\" (want list, show"
						   " SEQ, or the options of a settlement)", p.arg);
			}
			break;
		default:
			return EXIT_FAIL;
		}
	}
	if (sub) {
		if (a.period || a.from_s || a.to_s || a.amend)
			return usage_error(ctx, "%s takes --provider only", sub);
		return list_or_show(ctx, sub, id, a.provider);
	}
	return settle(ctx, &a);
}
