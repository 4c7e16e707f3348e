/*
 * metrics.h - the intake's numbers in Prometheus text format (GET /metrics):
 *
 *   berth_host_up{host}                       1 online, 0 offline or no agent
 *   berth_host_last_report_age_seconds{host}  hosts with a report
 *   berth_reports_accepted_total
 *   berth_reports_rejected_total{reason}      every reason, 0 included
 *   berth_pool_capacity{pool,resource}        cpu, memory, disk (status.h)
 *   berth_pool_allocated{pool,resource}
 *   berth_last_reconcile_timestamp_seconds    end of the last reconcile run
 *   berth_last_reconcile_changes              changes it made
 *   berth_ledger_entries                      the ledger's last seq
 */
#ifndef BERTH_SERVE_METRICS_H
#define BERTH_SERVE_METRICS_H

#include <stdint.h>

#include "serve/intake.h"
#include "util/buf.h"

void metrics_render(struct intake *in, int64_t now_ms, struct buf *out);

#endif
