/*
 * window.h - sync windows: when berth reconcile may change the servers,
 * as Argo CD's sync windows say when an application may sync.
 *
 * A window is "allow|deny MIN HOUR DOM MON DOW DURATION [ZONE]": it opens
 * at each minute the cron schedule (util/cron.h) names, in the time zone
 * ZONE (an IANA name such as Europe/Berlin; default UTC), and stays open
 * for DURATION (1m to 7d). A run is deferred while a deny window is open,
 * or, when there are allow windows, while none of them is open.
 *
 * Windows come in sets, one for each place they are written (the
 * windows of --window, those of the Fleet manifest), and every set has
 * its say: a run is deferred while any deny window is open, or while a
 * set that has allow windows has none of them open.
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
	unsigned set;			/* 0 to 31: the set it is one of */
};

/* Parse spec into w (set 0). -1 with err saying what was wanted and found. */
int window_parse(const char *spec, struct window *w, struct berr *err);

/*
 * The parts of a window one at a time, for windows written field by field
 * (the Fleet manifest), checked as window_parse() checks them: the
 * schedule (five cron fields), the duration (1m to 7d), the time zone.
 * -1 with err saying what was wanted and found, without the part's name.
 */
int window_set_schedule(struct window *w, const char *schedule, struct berr *err);
int window_set_duration(struct window *w, const char *duration, struct berr *err);
int window_set_zone(struct window *w, const char *zone, struct berr *err);

struct window_verdict {
	int allowed;
	const struct window *by;	/* the open deny window that defers the
					   run, or NULL (outside every allow one) */
	int64_t next_ms;		/* when a run is next allowed; -1 when
					   not within 8 days */
};

/*
 * Whether a run at now_ms is allowed by w[0..n) (n == 0: always), every
 * set having its say.
 */
void window_check(const struct window *w, size_t n, int64_t now_ms, struct window_verdict *v);

#endif
