/*
 * http.h - `berth serve`'s HTTP servers (libmicrohttpd): the agents'
 * listener, which takes reports, and the admin listener, which answers
 * the API (api.h) and monitoring.
 *
 * The agents' listener (HTTP_REPORTS) answers
 *   POST /v1/reports   an agent report (intake.h): 200 {"accepted": true,
 *                      "seq": N}, or the reason's status with
 *                      {"accepted": false, "reason": "...", "detail": "..."}
 *   GET /healthz       200 "ok"
 * and 404 for anything else: what is reachable where the agents are
 * reveals nothing. The admin listener (HTTP_READS) answers GET /healthz
 * and GET / (the dashboard, dashboard.h: a page that asks for a token
 * itself and sends it in the header) to anyone, 404 for /v1/reports, and
 * everything else only with a token
 * (tokens.h) in the header "Authorization: Bearer TOKEN":
 *   400  a token in the query string (any argument token_in_query()
 *        refuses), or two Authorization headers
 *   401  no token, another scheme, an unknown or a revoked token (with
 *        "WWW-Authenticate: Bearer realm="berth"")
 *   503  the tokens cannot be read
 * then what api.h answers for GETs, and POST /v1/place {"plan": NAME,
 * "count": N} (admin token; 403 for a provider's): berth place's answer.
 * Answers are JSON {"error": "..."} when refused, "Cache-Control:
 * no-store" always; no CORS header: the dashboard is served from the
 * same origin.
 *
 * A pool of one thread per CPU serves every connection (epoll); a report
 * is checked on it, then its connection is suspended until the intake's
 * writer has committed it, so no thread waits for the database. At most
 * conn_limit connections (and conn_limit / 4 per client address); a
 * connection idle for timeout_s is closed, one that has not completed a
 * request's headers within timeout_s of opening (or of its previous
 * request ending) is shut down, and a report's body must arrive within
 * timeout_s of its headers (a client sending a byte now and then is cut
 * off); a report needs Content-Length (411 without), and one
 * over 1 MiB is refused from it before the body is read. Bodies held at
 * once are bounded by max_buffered: a report that would pass it is
 * answered 503 {"accepted": false, "reason": "busy"} unread (agents keep
 * it and retry).
 */
#ifndef BERTH_SERVE_HTTP_H
#define BERTH_SERVE_HTTP_H

#include "serve/intake.h"
#include "util/err.h"

/* What one server answers (http_opts.serves). */
#define HTTP_REPORTS	1u	/* POST /v1/reports */
#define HTTP_READS	2u	/* the admin API: /v1/..., /metrics */

struct api;

struct http_opts {
	const char *listen;	/* "127.0.0.1:8080" (default), "[::1]:8080", ":0" */
	const char *option;	/* for messages: "--listen" (default), ... */
	unsigned serves;	/* HTTP_REPORTS (0 too) or HTTP_READS (both:
				   tests); the others answer 404. /healthz
				   always */
	struct api *api;	/* HTTP_READS: the admin API (borrowed) */
	const char *tls_cert;	/* PEM files: both or neither */
	const char *tls_key;
	unsigned conn_limit;	/* default 1024 */
	size_t max_buffered;	/* bytes of report bodies held at once (being
				   received or waiting for the writer), by
				   their Content-Length; default 64 MiB */
	unsigned timeout_s;	/* default 30 */
};

struct http_server;

/* Start serving in background threads. -1 with err (address in use, ...). */
int http_start(const struct http_opts *o, struct intake *in,
	       struct http_server **out, struct berr *err);
/* The port it listens on (useful with port 0). */
unsigned http_port(const struct http_server *s);
/* Stop: close the listening socket, end connections, join the threads. */
void http_stop(struct http_server *s);	/* accepts NULL */

#endif
