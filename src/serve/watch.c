/*
 * watch.c - hosts' agents going offline and coming back, to webhooks
 * (watch.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "apply/webhooks.h"
#include "sched/status.h"
#include "serve/watch.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WATCH_EVERY_MS	5000
#define WATCH_BUDGET_MS	5000

struct watch {
	struct intake *in;
	const char *const *urls;
	size_t nurls;
	int64_t last_ms;
	json_t *seen;		/* host -> {"state", "outage" (its last report's ms)} */
};

struct watch *
watch_new(struct intake *in, const char *const *urls, size_t n)
{
	struct watch *w;

	if (!n)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->in = in;
	w->urls = urls;
	w->nurls = n;
	w->seen = json_object();
	return w;
}

/* One change of one host, sent; 1 when every webhook took it. */
static int
tell(struct watch *w, const char *host, const char *provider, const char *outcome,
     int64_t outage_ms, int64_t window_ms, int64_t now_ms,
     void (*warn)(void *arg, const char *msg), void *arg)
{
	char last[40], now[40], detail[32], name[256] = "";
	json_t *ev;
	char *key;
	size_t sent;

	clock_format(outage_ms, 0, last, sizeof(last));
	clock_format(now_ms, 0, now, sizeof(now));
	gethostname(name, sizeof(name) - 1);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "format_version", "1.0",
		       "event", "host", "outcome", outcome, "host", host, "provider", provider,
		       "last_report", last, "window_seconds", (json_int_t)(window_ms / 1000), "time",
		       now, "control_host", name);
	key = xasprintf("host/%s/%s", host, outcome);
	snprintf(detail, sizeof(detail), "%lld", (long long)outage_ms);
	sent = webhooks_send(intake_ledger(w->in), w->urls, w->nurls, key, detail, ev,
			     WATCH_BUDGET_MS, warn, arg);
	free(key);
	json_decref(ev);
	return sent == w->nurls;
}

void
watch_tick(struct watch *w, int64_t now_ms, void (*warn)(void *arg, const char *msg), void *arg)
{
	struct status *s;
	json_t *changes, *c, *was;
	size_t i;

	if (!w || (w->last_ms && now_ms - w->last_ms < WATCH_EVERY_MS))
		return;
	w->last_ms = now_ms;
	changes = json_array();
	s = intake_status(w->in, now_ms);
	for (i = 0; i < s->nhosts; i++) {
		const struct status_host *h = &s->hosts[i];
		const char *name = h->host->meta.name, *state;
		int offline, was_offline, change;
		int64_t outage;

		if (!h->host->agent_key || h->report_age_ms < 0 ||
		    (h->health != HEALTH_ONLINE && h->health != HEALTH_OFFLINE))
			continue;
		offline = h->health == HEALTH_OFFLINE;
		state = offline ? "offline" : "online";
		was = json_object_get(w->seen, name);
		was_offline = was && !strcmp(json_string_value(json_object_get(was, "state")),
					     "offline");
		outage = json_integer_value(json_object_get(was, "outage"));
		/* an outage is told when it starts, or again when telling it failed */
		change = offline ? !was_offline || json_object_get(was, "untold") : was_offline;
		if (offline && change)
			outage = h->received_ms;
		if (change)
			json_array_append_new(changes, json_pack("{s:s, s:s, s:s, s:I, s:I}", "host",
				name, "provider", h->host->meta.provider ? h->host->meta.provider :
				"platform", "state", state, "outage", (json_int_t)outage, "window",
				(json_int_t)h->window_ms));
		json_object_set_new(w->seen, name, json_pack("{s:s, s:I}", "state", state,
							     "outage", (json_int_t)outage));
	}
	intake_status_release(w->in, s);
	/* sent with the status released: the intake goes on meanwhile */
	json_array_foreach(changes, i, c) {
		const char *host = json_string_value(json_object_get(c, "host"));

		if (!tell(w, host, json_string_value(json_object_get(c, "provider")),
			  json_string_value(json_object_get(c, "state")),
			  json_integer_value(json_object_get(c, "outage")),
			  json_integer_value(json_object_get(c, "window")), now_ms, warn, arg))
			json_object_set_new(json_object_get(w->seen, host), "untold", json_true());
	}
	json_decref(changes);
}

void
watch_free(struct watch *w)
{
	if (!w)
		return;
	json_decref(w->seen);
	free(w);
}
