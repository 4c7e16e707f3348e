/*
 * window.h - sync windows: when berth reconcile may change the servers,
 * as Argo CD's sync windows say when an application may sync.
 *
 * A window is "allow|deny MIN HOUR DOM MON DOW DURATION [ZONE]": it opens
 * at each minute the cron schedule (util/cron.h) names, in the time zone
 * ZONE (an IANA name such as Europe/Berlin; default UTC), and stays open
 * for DURATION (1m to 7d). A run is deferred while a deny window is open,
 * or, when there are allow windows, while none of them is open.
 */
#ifndef BERTH_SCHED_WINDOW_H
#define BERTH_SCHED_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "util/cron.h"
#include "util/err.h"

enum window_kind { WINDOW_ALLOW, WINDOW_DENY };

struct window {
	enum window_kind kind;
	struct cron cron;
	int64_t duration_ms;
	char zone[64];			/* "UTC" when not given */
	char spec[256];			/* as written (cut), for messages */
};

/* Parse spec into w. -1 with err saying what was wanted and found. */
int window_parse(const char *spec, struct window *w, struct berr *err);

struct window_verdict {
	int allowed;
	const struct window *by;	/* the open deny window that defers the
					   run, or NULL (outside every allow one) */
	int64_t next_ms;		/* when a run is next allowed; -1 when
					   not within 8 days */
};

/* Whether a run at now_ms is allowed by w[0..n) (n == 0: always). */
void window_check(const struct window *w, size_t n, int64_t now_ms, struct window_verdict *v);

#endif
