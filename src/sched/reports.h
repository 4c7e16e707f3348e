/*
 * reports.h - the latest accepted report of every host, read from the
 * state database (<state_dir>/berth.db, table report_latest, which the
 * intake of `berth serve` writes: serve/store.h). The read side for the
 * commands that weigh the hosts' health (status, plan, apply); unlike
 * sched/status.c, this file does I/O.
 */
#ifndef BERTH_SCHED_REPORTS_H
#define BERTH_SCHED_REPORTS_H

#include <stddef.h>

#include "agent/report.h"
#include "sched/status.h"
#include "util/err.h"

/* The latest report of each host, parsed, as status_build() takes them. */
struct report_set {
	struct host_report *items;	/* n of them, by host name */
	struct report *reports;		/* items[i].report == &reports[i] */
	size_t n;
};

/*
 * Load the set read-only; a missing database or table gives an empty set,
 * and a stored body that no longer parses (written by a newer berth) is
 * skipped. 0, or -1 with err and out empty. Release out with
 * report_set_release() either way.
 */
int report_set_load(const char *state_dir, struct report_set *out,
		    struct berr *err);
/* Free the contents; safe on a zeroed set and on one released already. */
void report_set_release(struct report_set *s);

#endif
