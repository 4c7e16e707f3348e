/*
 * api.c - the admin listener's answers (api.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger/ledger.h"
#include "serve/api.h"
#include "serve/history.h"
#include "serve/metrics.h"
#include "serve/scope.h"
#include "serve/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DAY_MS		86400000LL
#define HOUR_MS		3600000LL
#define USAGE_MAX_MS	(366 * DAY_MS)

struct api {
	char *state_dir;
	struct intake *in;
	struct token_store *tokens;
	struct ledger *ledger;	/* the intake's (intake_ledger()) */
};

int
api_open(const char *state_dir, struct intake *in, struct api **out, struct berr *err)
{
	struct api *a = xcalloc(1, sizeof(*a));

	*out = NULL;
	a->state_dir = xstrdup(state_dir);
	a->in = in;
	a->ledger = intake_ledger(in);
	if (token_store_open(state_dir, &a->tokens, err) < 0) {
		api_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

void
api_free(struct api *a)
{
	if (!a)
		return;
	token_store_close(a->tokens);
	free(a->state_dir);
	free(a);
}

enum token_verdict
api_auth(struct api *a, const char *header, struct token_info *who)
{
	return token_check(a->tokens, header, who);
}

int
api_tokens_active(struct api *a, long *n, struct berr *err)
{
	return token_store_active(a->tokens, n, err);
}

/* ---- answers ------------------------------------------------------------- */

static void
answer_json(struct api_answer *out, unsigned status, json_t *j)
{
	out->status = status;
	out->type = "application/json";
	out->body = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!out->body) {
		out->status = 500;
		out->body = xstrdup("{\"error\":\"the answer cannot be written as JSON\"}");
	}
	out->len = strlen(out->body);
}

void
api_error(struct api_answer *out, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	answer_json(out, status, json_pack("{s:s}", "error", msg));
}

/* A failure to read: 503, the reader's words. */
static void
answer_err(struct api_answer *out, const struct berr *err)
{
	api_error(out, 503, "%s", err->msg);
}

/* "limit": 1 to max, def when absent. 0, or -1 with the answer made. */
static int
arg_limit(const char *(*arg)(void *, const char *), void *ctx, size_t def, size_t max,
	  size_t *out, struct api_answer *ans)
{
	const char *v = arg(ctx, "limit");
	unsigned long long n;
	char *end;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] < '0' || v[0] > '9' || n < 1 || n > max) {
		api_error(ans, 400, "limit: want a number from 1 to %zu, have \"%.64s\"", max, v);
		return -1;
	}
	*out = (size_t)n;
	return 0;
}

static const char *
provider_of(const struct token_info *who)
{
	return who->role == TOKEN_PROVIDER ? who->provider : NULL;
}

static void
get_whoami(const struct token_info *who, struct api_answer *out)
{
	answer_json(out, 200, json_pack("{s:s, s:s, s:s?, s:s, s:s}", "format_version", "1.0",
					"role", token_role_name(who->role), "provider",
					provider_of(who), "name", who->name, "id", who->id));
}

static void
get_status(struct api *a, const struct token_info *who, int64_t now, struct api_answer *out)
{
	struct status *st = intake_status(a->in, now);
	json_t *j = scope_status_json(st, provider_of(who));

	intake_status_release(a->in, st);
	answer_json(out, 200, j);
}

struct rejected {
	const char *host;
	json_t *list;
};

static int
on_rejection(void *ctx, const struct ledger_rejection *r)
{
	struct rejected *x = ctx;
	char first[40], last[40];

	if (strcmp(r->host, x->host))
		return 0;
	clock_format(r->first_ms, 0, first, sizeof(first));
	clock_format(r->last_ms, 0, last, sizeof(last));
	json_array_append_new(x->list, json_pack("{s:s, s:I, s:s, s:s}", "reason", r->reason,
						 "count", (json_int_t)r->count, "first", first,
						 "last", last));
	return 0;
}

static void
get_host(struct api *a, const struct token_info *who, const char *name, int64_t now,
	 struct api_answer *out)
{
	const char *provider = provider_of(who);
	struct rejected rj = { name, NULL };
	struct status *st = intake_status(a->in, now);
	const struct status_host *sh = status_host(st, name);
	json_t *doc, *all, *host = NULL, *pools, *p, *m, *report;
	struct berr err;
	size_t i, k;

	if (!sh || !scope_sees_host(sh->host, provider)) {
		intake_status_release(a->in, st);
		api_error(out, 404, "no host of that name that this token may see");
		return;
	}
	all = scope_status_json(st, provider);
	report = sh->report && sh->report->root ? json_deep_copy(sh->report->root) : json_null();
	intake_status_release(a->in, st);

	json_array_foreach(json_object_get(all, "hosts"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			host = p;
	pools = json_array();
	json_array_foreach(json_object_get(all, "pools"), i, p)
		json_array_foreach(json_object_get(p, "members"), k, m) {
			json_t *x;

			if (strcmp(json_string_value(json_object_get(m, "host")), name))
				continue;
			x = json_pack("{s:O}", "pool", json_object_get(p, "name"));
			json_object_update(x, m);
			json_object_del(x, "host");
			json_array_append_new(pools, x);
		}
	rj.list = json_array();
	if (ledger_rejections(a->ledger, now - DAY_MS, on_rejection, &rj, &err) < 0) {
		json_decref(rj.list);
		json_decref(pools);
		json_decref(report);
		json_decref(all);
		answer_err(out, &err);
		return;
	}
	doc = json_pack("{s:s, s:O, s:O, s:o, s:o, s:o}", "format_version", "1.0",
			"time", json_object_get(all, "time"), "host", host, "pools", pools,
			"report", report, "rejected", rj.list);
	json_decref(all);
	answer_json(out, 200, doc);
}

/* ---- usage --------------------------------------------------------------- */

struct usage_ctx {
	const char *provider;
	json_t *hosts;		/* provider: names it sees -> true */
	json_t *hidden_plans;	/* provider: plans of the manifests it does not see */
	json_t *list;
	struct usage_total total;
};

static uint64_t
sat(uint64_t a, uint64_t b)
{
	uint64_t m = (uint64_t)INT64_MAX;

	return a > m - (b > m ? m : b) ? m : a + b;
}

static int
on_usage(void *ctx, const char *host, const char *project, const char *instance,
	 const char *plan, const struct usage_total *sum)
{
	struct usage_ctx *u = ctx;

	if (u->provider && (!json_object_get(u->hosts, host) ||
			    (plan && json_object_get(u->hidden_plans, plan))))
		return 0;
	json_array_append_new(u->list, json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:I}",
		"host", host, "project", project, "name", instance, "plan", plan,
		"running_ms", (json_int_t)sum->running_ms, "cpu_ns", (json_int_t)sum->cpu_ns,
		"rx_bytes", (json_int_t)sum->rx_bytes, "tx_bytes", (json_int_t)sum->tx_bytes));
	u->total.running_ms = (int64_t)sat((uint64_t)u->total.running_ms, (uint64_t)sum->running_ms);
	u->total.cpu_ns = sat(u->total.cpu_ns, sum->cpu_ns);
	u->total.rx_bytes = sat(u->total.rx_bytes, sum->rx_bytes);
	u->total.tx_bytes = sat(u->total.tx_bytes, sum->tx_bytes);
	return 0;
}

/* The first hour starting at or after ms: "2026-11-22T05". */
static void
hour_at_or_after(int64_t ms, char out[16])
{
	char t[40];
	int64_t h = ms - ((ms % HOUR_MS) + HOUR_MS) % HOUR_MS;

	if (h < ms)
		h += HOUR_MS;
	clock_format(h, 0, t, sizeof(t));
	snprintf(out, 16, "%.13s", t);
}

/* The start of the UTC month of ms. */
static int64_t
month_start(int64_t ms)
{
	char t[40];
	int64_t m;

	clock_format(ms, 0, t, sizeof(t));
	memcpy(t + 8, "01T00:00:00Z", 13);
	return clock_parse_rfc3339(t, &m) == 0 ? m : ms;
}

static void
get_usage(struct api *a, const struct token_info *who,
	  const char *(*arg)(void *, const char *), void *argctx, int64_t now,
	  struct api_answer *out)
{
	struct usage_ctx u = { provider_of(who), NULL, NULL, NULL, { 0 } };
	const char *fs = arg(argctx, "from"), *ts = arg(argctx, "to");
	int64_t from = month_start(now), to = now;
	char fh[16], th[16], f[40], t[40];
	struct status *st;
	struct berr err;
	size_t i;

	if (fs && clock_parse_rfc3339(fs, &from) < 0) {
		api_error(out, 400, "from: want an RFC 3339 time like 2026-11-01T00:00:00Z, "
			  "have \"%.64s\"", fs);
		return;
	}
	if (ts && clock_parse_rfc3339(ts, &to) < 0) {
		api_error(out, 400, "to: want an RFC 3339 time like 2026-12-01T00:00:00Z, "
			  "have \"%.64s\"", ts);
		return;
	}
	if (to <= from || to - from > USAGE_MAX_MS || from < 0) {
		api_error(out, 400, "from and to: want from before to, at most 366 days apart");
		return;
	}
	if (u.provider) {
		/* What the provider sees, copied: the database is read without the intake's locks. */
		u.hosts = json_object();
		u.hidden_plans = json_object();
		st = intake_status(a->in, now);
		for (i = 0; i < st->fleet->nhosts; i++)
			if (scope_sees_host(&st->fleet->hosts[i], u.provider))
				json_object_set_new(u.hosts, st->fleet->hosts[i].meta.name, json_true());
		for (i = 0; i < st->fleet->noffers; i++)
			if (!scope_sees_offer(&st->fleet->offers[i], u.provider))
				json_object_set_new(u.hidden_plans, st->fleet->offers[i].meta.name,
						    json_true());
		intake_status_release(a->in, st);
	}
	u.list = json_array();
	hour_at_or_after(from, fh);
	hour_at_or_after(to, th);
	if (store_usage_sums(a->state_dir, fh, th, on_usage, &u, &err) < 0) {
		answer_err(out, &err);
	} else {
		clock_format(from, 0, f, sizeof(f));
		clock_format(to, 0, t, sizeof(t));
		answer_json(out, 200, json_pack("{s:s, s:s, s:s, s:O, s:{s:I, s:I, s:I, s:I}}",
			"format_version", "1.0", "from", f, "to", t, "instances", u.list,
			"total", "running_ms", (json_int_t)u.total.running_ms,
			"cpu_ns", (json_int_t)u.total.cpu_ns, "rx_bytes", (json_int_t)u.total.rx_bytes,
			"tx_bytes", (json_int_t)u.total.tx_bytes));
	}
	json_decref(u.list);
	json_decref(u.hosts);
	json_decref(u.hidden_plans);
}

/* ---- the ledger ---------------------------------------------------------- */

static void
get_statement(struct api *a, const struct token_info *who, const char *id,
	      struct api_answer *out)
{
	unsigned long long seq = 0;
	struct berr err;
	json_t *j;
	char *end;

	errno = 0;
	if (*id >= '1' && *id <= '9')
		seq = strtoull(id, &end, 10);
	if (!seq || *end || errno || seq > INT64_MAX) {
		api_error(out, 404, "no statement at that ledger entry that this token may see");
		return;
	}
	if (!(j = history_statement(a->ledger, (int64_t)seq, provider_of(who), &err))) {
		if (err.msg[0])
			answer_err(out, &err);
		else
			api_error(out, 404, "no statement at that ledger entry that this token "
				  "may see");
		return;
	}
	answer_json(out, 200, j);
}

static void
ledger_doc(struct api_answer *out, json_t *j, const struct berr *err)
{
	if (j)
		answer_json(out, 200, j);
	else
		answer_err(out, err);
}

void
api_get(struct api *a, const struct token_info *who, const char *path,
	const char *(*arg)(void *ctx, const char *name), void *argctx, int64_t now_ms,
	struct api_answer *out)
{
	int admin = who->role == TOKEN_ADMIN;
	struct berr err;
	size_t limit;

	memset(out, 0, sizeof(*out));
	if (!strcmp(path, "/v1/whoami")) {
		get_whoami(who, out);
	} else if (!strcmp(path, "/v1/status")) {
		get_status(a, who, now_ms, out);
	} else if (!strncmp(path, "/v1/hosts/", 10) && path[10] && !strchr(path + 10, '/')) {
		get_host(a, who, path + 10, now_ms, out);
	} else if (!strcmp(path, "/v1/usage")) {
		get_usage(a, who, arg, argctx, now_ms, out);
	} else if (!strcmp(path, "/v1/statements")) {
		ledger_doc(out, history_statements(a->ledger, provider_of(who), now_ms, &err), &err);
	} else if (!strncmp(path, "/v1/statements/", 15) && path[15]) {
		get_statement(a, who, path + 15, out);
	} else if (!strcmp(path, "/metrics") || !strcmp(path, "/v1/runs") ||
		   !strcmp(path, "/v1/ledger")) {
		if (!admin) {
			api_error(out, 403, "%s needs an admin token", path);
		} else if (!strcmp(path, "/metrics")) {
			struct buf b = BUF_INIT;

			buf_init(&b, 0);
			metrics_render(a->in, now_ms, &b);
			out->status = 200;
			out->type = "text/plain; version=0.0.4";
			out->body = buf_detach(&b, &out->len);
		} else if (!strcmp(path, "/v1/runs")) {
			if (arg_limit(arg, argctx, 20, 100, &limit, out) == 0)
				ledger_doc(out, history_runs(a->ledger, limit, &err), &err);
		} else if (arg_limit(arg, argctx, 50, 1000, &limit, out) == 0) {
			ledger_doc(out, history_ledger(a->ledger, limit, &err), &err);
		}
	} else {
		api_error(out, 404, "not found");
	}
}
