/*
 * metrics.c - Prometheus text format (metrics.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "serve/metrics.h"
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
	help(out, "berth_ledger_entries", "gauge", "entries in the audit ledger");
	buf_addf(out, "berth_ledger_entries %" PRId64 "\n",
		 st.ledger_entries < 0 ? 0 : st.ledger_entries);
}
