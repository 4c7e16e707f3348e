/*
 * usage.h - turning raw counters into usage: pure rules, no I/O.
 *
 * An accepted report carries raw counters (cpu time, bytes per NIC) as the
 * kernel and Incus count them since the instance started. Usage is the
 * difference to the previous accepted report of the same instance, and
 * running time is the time between them while it ran. A counter reset
 * (new boot id of the host, new started_at of the instance, a counter
 * lower than before, or the first report that shows the instance) makes
 * the new raw value the delta, and the running time counts from the
 * instance's start (not before the previous report of the instance, if
 * any; on first sight at most USAGE_FIRST_SIGHT_MS back). One report adds
 * at most USAGE_MAX_SPAN_MS of running time (a day: a longer gap was not
 * observed). Reports are taken in seq order, so a late (spooled) report
 * adds exactly what it would have added on time, and a report never
 * counts twice (the intake refuses repeated seqs and nonces).
 */
#ifndef BERTH_SERVE_USAGE_H
#define BERTH_SERVE_USAGE_H

#include <stdint.h>

#include "agent/report.h"

#define USAGE_FIRST_SIGHT_MS	3600000LL	/* 1 hour */
#define USAGE_MAX_SPAN_MS	86400000LL	/* 1 day */

/* The instance as the previous accepted report of its host showed it. */
struct usage_prev {
	int known;		/* 0: never seen */
	char boot_id[37];
	int64_t started_ms;
	int64_t time_ms;	/* that report's collection time */
	int running;
	uint64_t cpu_ns;
};

struct usage_delta {
	int reset;
	int64_t run_from_ms;	/* running interval [from, to); from == to: none */
	int64_t run_to_ms;
	uint64_t cpu_ns;
};

/* The delta of instance in (of a report with boot_id at time_ms). */
void usage_instance_delta(const struct usage_prev *prev, const char *boot_id,
			  int64_t time_ms, const struct report_instance *in,
			  struct usage_delta *d);

/* A counter's delta: now on reset or when it went down, else now - prev. */
uint64_t usage_counter_delta(int reset, int prev_known, uint64_t prev,
			     uint64_t now);

/* 1 when the instance status counts as running ("Running", "Frozen"). */
int usage_is_running(const char *status);

/*
 * Split [from, to) at UTC hour boundaries: fn(ctx, hour_start_ms, ms) for
 * each piece, in order; stops early when fn returns non-zero (returned).
 */
int usage_split_hours(int64_t from, int64_t to,
		      int (*fn)(void *ctx, int64_t hour_ms, int64_t ms),
		      void *ctx);

#endif
