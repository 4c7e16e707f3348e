/*
 * metrics.c - Prometheus text format (metrics.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "serve/history.h"
#include "serve/metrics.h"
#include "util/clock.h"
#include "sched/status.h"
#include "util/banned.h"

/* A label value: backslash, quote and newline escaped. */
static void
label(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_addch(b, '\\');
		if (*v == '\n') {
			buf_addstr(b, "\\n");
			continue;
		}
		buf_addch(b, *v);
	}
}

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* name{host="H",pool="P"} */
static void
pool_series(struct buf *out, const char *name, const struct status_host *h, const char *pool)
{
	buf_addf(out, "%s{host=\"", name);
	label(out, h->host->meta.name);
	buf_addstr(out, "\",pool=\"");
	label(out, pool);
	buf_addstr(out, "\"}");
}

#define RUNS_READ	50

static int
last_deferred(void *ctx, const json_t *e)
{
	int64_t ms;

	if (clock_parse_rfc3339(json_string_value(json_object_get(e, "time")), &ms) == 0)
		*(int64_t *)ctx = ms;
	return 0;
}

/*
 * The runs, from the ledger (the last RUNS_READ apply and reconcile runs,
 * and the last deferred run): per kind and result, when the last one
 * ended, its changes, failures and drifted objects; what Argo CD and Flux
 * export of their syncs, so that an alert can fire when reconcile has not
 * succeeded for an hour.
 */
static void
runs(struct ledger *l, struct buf *out)
{
	static const char *const kinds[] = { "apply", "reconcile" };
	static const char *const results[] = { "ok", "failed" };
	static const char *const names[] = { "berth_run_last_timestamp_seconds",
		"berth_run_last_changes", "berth_run_last_failures", "berth_run_last_drifted_objects" };
	static const char *const helps[] = {
		"when the last run of the kind with the result ended",
		"changes that run made",
		"changes that run could not make (failed, stale, not attempted)",
		"objects that run found changed behind berth's back and put back" };
	struct ledger_filter f = { .kind = "run.deferred", .limit = 1 };
	json_t *doc, *last[2][2] = { { NULL } };
	const json_t *r;
	struct berr err;
	int64_t deferred = 0, ms;
	size_t i;
	int k, x, n;

	if (!l || !(doc = history_runs(l, RUNS_READ, &err)))
		return;
	json_array_foreach(json_object_get(doc, "runs"), i, r) {	/* latest first */
		const char *mode = json_string_value(json_object_get(r, "mode"));
		const char *res = json_string_value(json_object_get(r, "result"));

		for (k = 0; k < 2; k++)
			for (x = 0; x < 2; x++)
				if (mode && res && !strcmp(mode, kinds[k]) && !strcmp(res, results[x]) &&
				    !last[k][x])
					last[k][x] = (json_t *)r;
	}
	for (n = 0; n < 4; n++) {
		help(out, names[n], "gauge", helps[n]);
		for (k = 0; k < 2; k++)
			for (x = 0; x < 2; x++) {
				const json_t *run = last[k][x];
				double v = 0;

				if (!run)
					continue;
				if (n == 0 && clock_parse_rfc3339(json_string_value(json_object_get(
						run, "ended")), &ms) == 0)
					v = (double)ms / 1000.0;
				else if (n == 1)
					v = (double)json_integer_value(json_object_get(run, "changes"));
				else if (n == 2)
					v = (double)(json_integer_value(json_object_get(run, "failed")) +
						     json_integer_value(json_object_get(run, "stale")) +
						     json_integer_value(json_object_get(run, "not_attempted")));
				else if (n == 3)
					v = (double)json_integer_value(json_object_get(run, "drift"));
				buf_addf(out, "%s{kind=\"%s\",result=\"%s\"} %.3f\n", names[n], kinds[k],
					 results[x], v);
			}
	}
	if (ledger_query(l, &f, last_deferred, &deferred, &err) == 0 && deferred) {
		help(out, "berth_run_last_deferred_timestamp_seconds", "gauge",
		     "when a reconcile was last deferred by its sync windows");
		buf_addf(out, "berth_run_last_deferred_timestamp_seconds %.3f\n",
			 (double)deferred / 1000.0);
	}
	json_decref(doc);
}

void
metrics_render(struct intake *in, int64_t now_ms, struct buf *out)
{
	struct intake_stats st;
	struct status *s;

	intake_stats(in, &st);
	s = intake_status(in, now_ms);

	help(out, "berth_host_up", "gauge", "1 when the host's agent reported within its window");
	for (size_t i = 0; i < s->nhosts; i++) {
		buf_addstr(out, "berth_host_up{host=\"");
		label(out, s->hosts[i].host->meta.name);
		buf_addf(out, "\"} %d\n", s->hosts[i].health == HEALTH_ONLINE);
	}
	help(out, "berth_host_last_report_age_seconds", "gauge",
	     "seconds since the host's last accepted report");
	for (size_t i = 0; i < s->nhosts; i++) {
		if (s->hosts[i].report_age_ms < 0)
			continue;
		buf_addstr(out, "berth_host_last_report_age_seconds{host=\"");
		label(out, s->hosts[i].host->meta.name);
		buf_addf(out, "\"} %.3f\n", (double)s->hosts[i].report_age_ms / 1000.0);
	}
	help(out, "berth_storage_pool_available", "gauge",
	     "1 when the host's last report read the storage pool, 0 when it had an error");
	for (size_t i = 0; i < s->nhosts; i++) {
		const struct report *r = s->hosts[i].report;

		for (size_t k = 0; r && k < r->npools; k++) {
			pool_series(out, "berth_storage_pool_available", &s->hosts[i],
				    r->pools[k].name);
			buf_addf(out, " %d\n", r->pools[k].error == NULL);
		}
	}
	help(out, "berth_storage_pool_free_bytes", "gauge",
	     "free bytes of the storage pool in the host's last report");
	for (size_t i = 0; i < s->nhosts; i++) {
		const struct report *r = s->hosts[i].report;

		for (size_t k = 0; r && k < r->npools; k++) {
			if (r->pools[k].error)
				continue;
			pool_series(out, "berth_storage_pool_free_bytes", &s->hosts[i],
				    r->pools[k].name);
			buf_addf(out, " %" PRIu64 "\n", r->pools[k].free);
		}
	}
	help(out, "berth_reports_accepted_total", "counter", "reports accepted");
	buf_addf(out, "berth_reports_accepted_total %" PRIu64 "\n", st.accepted);
	help(out, "berth_reports_busy_total", "counter",
	     "reports turned away unread (503 busy): too many bodies in memory at once");
	buf_addf(out, "berth_reports_busy_total %" PRIu64 "\n", st.busy);
	help(out, "berth_ledger_write_errors_total", "counter",
	     "rejection entries the ledger could not take (kept, and written when it can)");
	buf_addf(out, "berth_ledger_write_errors_total %" PRIu64 "\n", st.ledger_errors);
	help(out, "berth_reports_rejected_total", "counter", "reports refused, by reason");
	for (int r = INTAKE_OK + 1; r < INTAKE__COUNT; r++) {
		if (r == INTAKE_STORE_ERROR)
			continue;
		buf_addf(out, "berth_reports_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
			 intake_reason_name((enum intake_reason)r), st.rejected[r]);
	}
	help(out, "berth_pool_capacity", "gauge",
	     "usable capacity of a pool: base x overcommit - reserve, summed over its hosts");
	for (size_t p = 0; p < s->npools; p++)
		for (int r = 0; r < RES__COUNT; r++) {
			buf_addstr(out, "berth_pool_capacity{pool=\"");
			label(out, s->pools[p].pool->meta.name);
			buf_addf(out, "\",resource=\"%s\"} %" PRIu64 "\n", resource_name(r),
				 s->pools[p].total[r].capacity);
		}
	help(out, "berth_pool_allocated", "gauge", "what the instances on a pool's hosts take");
	for (size_t p = 0; p < s->npools; p++)
		for (int r = 0; r < RES__COUNT; r++) {
			buf_addstr(out, "berth_pool_allocated{pool=\"");
			label(out, s->pools[p].pool->meta.name);
			buf_addf(out, "\",resource=\"%s\"} %" PRIu64 "\n", resource_name(r),
				 s->pools[p].total[r].allocated);
		}
	intake_status_release(in, s);
	help(out, "berth_last_reconcile_timestamp_seconds", "gauge",
	     "when the last `berth reconcile` run ended (0: none recorded)");
	buf_addf(out, "berth_last_reconcile_timestamp_seconds %.3f\n",
		 (double)st.last_reconcile_ms / 1000.0);
	help(out, "berth_last_reconcile_changes", "gauge", "changes the last reconcile run applied");
	buf_addf(out, "berth_last_reconcile_changes %" PRId64 "\n", st.last_reconcile_changes);
	runs(intake_ledger(in), out);
	help(out, "berth_ledger_entries", "gauge", "entries in the audit ledger");
	buf_addf(out, "berth_ledger_entries %" PRId64 "\n",
		 st.ledger_entries < 0 ? 0 : st.ledger_entries);
}
