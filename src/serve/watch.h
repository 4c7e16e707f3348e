/*
 * watch.h - berth serve's watch over the hosts' agents: a host whose
 * agent goes offline (no report accepted within its window) or comes back
 * is told to the operator's webhooks (apply/webhooks.h), each change once,
 * even across restarts of berth serve.
 *
 * Events: {"format_version": "1.0", "event": "host", "outcome": "offline"
 * | "online", "host", "provider", "last_report" (when the last report
 * before the outage was received), "window_seconds", "time",
 * "control_host"}. Only hosts whose agent reported at least once are
 * watched. A host offline when berth serve starts is told unless that
 * outage was told before; "online" is told for a host seen offline by this
 * berth serve.
 */
#ifndef BERTH_SERVE_WATCH_H
#define BERTH_SERVE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "serve/intake.h"

struct watch;

/* A watch of in's hosts for urls[0..n) (kept, not copied); NULL when n == 0. */
struct watch *watch_new(struct intake *in, const char *const *urls, size_t n);

/*
 * Look at the hosts (at most every 5 s of now_ms) and send what changed,
 * within 5 s. warn(arg, msg) for a webhook that could not be reached (it is
 * tried again at the next change... and at the next look, as the change
 * is not recorded as sent).
 */
void watch_tick(struct watch *w, int64_t now_ms, void (*warn)(void *arg, const char *msg),
		void *arg);
void watch_free(struct watch *w);

#endif
