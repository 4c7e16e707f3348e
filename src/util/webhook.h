/*
 * webhook.h - POST a JSON document to an operator's URL (a chat bridge,
 * an incident tool), trying again with backoff within a deadline, so that
 * a slow or dead receiver never holds berth up for long.
 */
#ifndef BERTH_UTIL_WEBHOOK_H
#define BERTH_UTIL_WEBHOOK_H

#include <stdint.h>

#include "util/err.h"

/*
 * POST body (JSON text) to url (http or https; redirects are not
 * followed). A 2xx answer is delivery. Otherwise it is tried again after
 * 250 ms, 500 ms, 1 s, 2 s, ... while the deadline (clock_mono_ms()) allows
 * another try; each try is cut at the deadline. 0 when delivered; -1 with
 * err (the last failure: "HTTP 503", "connection refused", ...). The URL
 * is never in err (it may carry a token).
 */
int webhook_post(const char *url, const char *body, int64_t deadline_mono_ms, struct berr *err);

/* Whether url is one webhook_post() takes: http:// or https://. */
int webhook_url_ok(const char *url);

/* Only the scheme and the server of url, for messages and the ledger: its
 * user info, path and query may hold a secret (as a chat's incoming
 * webhook does in its path). Caller frees. */
char *webhook_redact(const char *url);

#endif
