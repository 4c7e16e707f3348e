/*
 * api.h - what `berth serve`'s admin listener answers, and to whom. HTTP
 * is http.c's; this module takes a checked token and a path and makes the
 * answer.
 *
 * Every request but GET /healthz carries a token (tokens.h) in its
 * header, "Authorization: Bearer TOKEN"; none in the URL. An admin token
 * sees everything, a provider token what serve/scope.h lets its provider
 * see. JSON documents carry "format_version": "1.0".
 *
 *   GET /v1/whoami          {"role": "admin" | "provider", "provider": P
 *                           or null, "name", "id"}
 *   GET /v1/status          scope_status_json(): hosts, pools, plans
 *   GET /v1/hosts/NAME      {"format_version", "time", "host": a host of
 *                           /v1/status, "pools": [{"pool", and the
 *                           member's fields of /v1/status}], "report":
 *                           the body of its latest accepted report (or
 *                           null), "rejected": [{"reason", "count",
 *                           "first", "last"}] (its refused reports of the
 *                           last 24 hours)}; 404 for a host the token
 *                           does not see, as for one that does not exist
 *   GET /v1/usage?from=T&to=T   usage per instance over the hours that
 *                           start in [from, to) (RFC 3339; default: from
 *                           the start of this UTC month to now, at most
 *                           366 days): {"format_version", "from", "to",
 *                           "instances": [{"host", "project", "name",
 *                           "plan", "running_ms", "cpu_ns", "rx_bytes",
 *                           "tx_bytes"}], "total": {"running_ms", "cpu_ns",
 *                           "rx_bytes", "tx_bytes"}}; a provider's: the
 *                           instances of its hosts, not those of another
 *                           provider's plan
 *   GET /v1/statements      history_statements() of the token's provider
 *                           (admin: every provider's)
 *   GET /v1/statements/SEQ  history_statement(); 404 for another
 *                           provider's, as for none
 *   GET /v1/runs?limit=N    admin: history_runs(), N 1 to 100 (default 20)
 *   GET /v1/ledger?limit=N  admin: history_ledger(), N 1 to 1000 (default 50)
 *   GET /metrics            admin: Prometheus text format (metrics.h)
 *   POST /v1/place          admin: http.c's
 *
 * Codes: 200; 400 for a bad query argument ({"error": "..."}); 403 for
 * an admin path with a provider token; 404 for a path that is none, or
 * an object the token does not see; 503 when the state database cannot
 * be read. Those of the token (401, 400 for one in the URL) are http.c's.
 */
#ifndef BERTH_SERVE_API_H
#define BERTH_SERVE_API_H

#include <stddef.h>
#include <stdint.h>

#include "serve/intake.h"
#include "serve/tokens.h"
#include "util/err.h"

struct api;

/*
 * The admin API over intake in (borrowed: it must outlive the API), whose
 * ledger it reads (intake_ledger()), and the state directory's database
 * (a read-only connection of its own for the tokens: open the intake
 * first, it migrates the database). Caller frees with api_free(), which
 * accepts NULL.
 */
int api_open(const char *state_dir, struct intake *in, struct api **out,
	     struct berr *err);
void api_free(struct api *a);

/* The verdict on an Authorization header's value (token_check()). */
enum token_verdict api_auth(struct api *a, const char *header,
			    struct token_info *who);
/* How many tokens work now (token_store_active()). */
int api_tokens_active(struct api *a, long *n, struct berr *err);

struct api_answer {
	unsigned status;
	const char *type;	/* static: "application/json", ... */
	char *body;		/* caller frees */
	size_t len;
};

/*
 * Answer GET path (without its query) for who: arg(ctx, name) gives the
 * value of query argument name, or NULL. Thread-safe.
 */
void api_get(struct api *a, const struct token_info *who, const char *path,
	     const char *(*arg)(void *ctx, const char *name), void *argctx,
	     int64_t now_ms, struct api_answer *out);

/* A JSON answer {"error": msg} with status: for http.c's own refusals. */
void api_error(struct api_answer *out, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
