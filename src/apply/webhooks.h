/*
 * webhooks.h - tell the operator's webhooks what happened, once: each
 * delivery is recorded in the ledger (notify.sent), and the same event
 * key is never sent to the same URL twice.
 */
#ifndef BERTH_APPLY_WEBHOOKS_H
#define BERTH_APPLY_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ledger/ledger.h"

/*
 * Send event (a JSON object) to each of urls[0..n) for which the ledger
 * has no notify.sent entry of key and detail (what makes two events of
 * one key differ; may be ""): object "notify/URL-DIGEST/KEY-DIGEST",
 * action "post", after {"url" (its scheme and server only), "key",
 * "event"}. POSTed with webhook_post(), all of them within budget_ms;
 * each delivery is recorded. A URL that could not be reached is said
 * through warn(arg, message) and tried again the next time the same key
 * comes up. Returns how many were delivered.
 */
size_t webhooks_send(struct ledger *l, const char *const *urls, size_t n, const char *key,
		     const char *detail, const json_t *event, int64_t budget_ms,
		     void (*warn)(void *arg, const char *msg), void *arg);

/*
 * The URLs to notify: urls[0..n) (--notify) and those of $BERTH_NOTIFY
 * (separated by blanks), each once. *out is NULL-terminated; free it and
 * *keep with free().
 */
size_t webhooks_urls(const char *const *urls, size_t n, const char ***out, char **keep);

#endif
