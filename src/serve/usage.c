/*
 * usage.c - raw counters to usage (usage.h).
 */
#include <string.h>

#include "serve/usage.h"
#include "util/banned.h"

#define HOUR_MS 3600000LL

int
usage_is_running(const char *status)
{
	return status && (!strcmp(status, "Running") || !strcmp(status, "Frozen"));
}

uint64_t
usage_counter_delta(int reset, int prev_known, uint64_t prev, uint64_t now)
{
	if (reset || !prev_known || now < prev)
		return now;
	return now - prev;
}

void
usage_instance_delta(const struct usage_prev *prev, const char *boot_id,
		     int64_t time_ms, const struct report_instance *in,
		     struct usage_delta *d)
{
	int running = usage_is_running(in->status);

	memset(d, 0, sizeof(*d));
	d->reset = !prev->known || strcmp(prev->boot_id, boot_id) != 0 ||
		   prev->started_ms != in->started_ms || in->cpu_ns < prev->cpu_ns;
	d->cpu_ns = usage_counter_delta(d->reset, prev->known, prev->cpu_ns, in->cpu_ns);
	d->run_from_ms = d->run_to_ms = time_ms;
	if (!running)
		return;
	if (!d->reset && prev->running) {
		d->run_from_ms = prev->time_ms;
	} else if (in->started_ms > 0) {
		d->run_from_ms = in->started_ms;
		if (prev->known && prev->time_ms > d->run_from_ms)
			d->run_from_ms = prev->time_ms;
		/* First sight: what ran before berth saw it counts an hour at most. */
		if (!prev->known && d->run_from_ms < time_ms - USAGE_FIRST_SIGHT_MS)
			d->run_from_ms = time_ms - USAGE_FIRST_SIGHT_MS;
	}
	/* One report never counts more than a day of running time. */
	if (d->run_from_ms < time_ms - USAGE_MAX_SPAN_MS)
		d->run_from_ms = time_ms - USAGE_MAX_SPAN_MS;
	if (d->run_from_ms > time_ms)
		d->run_from_ms = time_ms;
}

int
usage_split_hours(int64_t from, int64_t to,
		  int (*fn)(void *ctx, int64_t hour_ms, int64_t ms), void *ctx)
{
	while (from < to) {
		int64_t hour = from - ((from % HOUR_MS) + HOUR_MS) % HOUR_MS;
		int64_t end = hour + HOUR_MS < to ? hour + HOUR_MS : to;
		int r = fn(ctx, hour, end - from);

		if (r)
			return r;
		from = end;
	}
	return 0;
}
