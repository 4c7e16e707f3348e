/*
 * agent.h - `berth agent`: measure, sign, spool, deliver.
 *
 * Each round: collect (collect.h) the host and its instances, make the
 * report body with the next seq (spool.h: durable before use), put it in
 * the spool, then deliver everything the spool holds, oldest first, each
 * with a fresh envelope (time, nonce, signature: report.h). Delivery stops
 * at the first report the intake cannot take now (unreachable, 5xx,
 * time_skew, unknown_host, no_key, bad_signature: fixed by the operator,
 * after which the spool drains in order); a report it will never take
 * (malformed, too_large) is moved to <spool>/rejected/; replayed and
 * stale_seq mean it is already there: removed.
 */
#ifndef BERTH_AGENT_AGENT_H
#define BERTH_AGENT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/collect.h"
#include "agent/spool.h"
#include "util/err.h"

struct agent_opts {
	const char *host;		/* as in the Host manifest */
	const char *key_path;		/* from `berth agent keygen` */
	const char *server;		/* the intake: http(s)://ADDRESS:PORT */
	const char *server_ca;		/* PEM CA file for https (NULL: system's) */
	const char *spool_dir;
	struct spool_opts spool;
	struct collect_opts collect;
	uint64_t interval_ms;		/* written into reports; default 30 s */
	long timeout_ms;		/* one delivery request, default 10 s */
};

struct agent;

/*
 * Load the key, open the spool. NULL with err. Free with agent_free(),
 * which accepts NULL.
 */
struct agent *agent_new(const struct agent_opts *o, struct berr *err);
void agent_free(struct agent *a);

struct agent_round {
	uint64_t seq;		/* of the report made, 0 when none was */
	size_t instances;	/* in it */
	size_t delivered;	/* accepted (or already there) this round */
	size_t discarded;	/* moved to rejected/ */
	size_t waiting;		/* still spooled */
	int stopped;		/* delivery stopped early: why in error */
	char error[512];
};

/*
 * Make one report and deliver the spool. -1 with err when no report could
 * be made (collection or the spool failed); delivery problems are in
 * r->stopped / r->error, not a failure: the report waits in the spool.
 */
int agent_round(struct agent *a, struct agent_round *r, struct berr *err);

/* Deliver the spool only. */
void agent_deliver(struct agent *a, struct agent_round *r);

#endif
