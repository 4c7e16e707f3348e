/*
 * apply.h - carrying out a plan on real Incus servers.
 *
 * Per server, actions run one at a time in the plan's order (storage
 * pools, projects, profiles, images, groups, instances; deletions last, in
 * reverse); servers run in parallel (opts->parallel at once). Moves of
 * instances, which touch two servers, come after every server is done,
 * MOVE_PARALLEL at once (a target's profiles are in place by then). Before each
 * change the journal's intent() is called (the ledger writes a
 * change.intent), after it result(). Every write first re-reads the single
 * object (GET, with its ETag), checks that it is still what the plan was
 * based on (the digest of its canonical JSON, see plan.h), and sends the
 * ETag as If-Match (instances: see apply_action()): a changed object or a
 * 412 fails that action as "stale" and nothing is overwritten. Async
 * operations are waited for (incus_wait). Image copies into a cluster are
 * done once per cluster, never two at a time.
 *
 * When one action of a server fails, the later actions of that server are
 * not attempted (a profile whose storage pool failed), except after a
 * failed instance action: later instance actions still are, as no
 * instance depends on another. The other servers go on. Re-running after
 * any failure converges without duplicates (creates check for existence
 * first).
 */
#ifndef BERTH_APPLY_APPLY_H
#define BERTH_APPLY_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "incus/client.h"
#include "manifest/model.h"
#include "plan/plan.h"
#include "util/err.h"

enum apply_status {
	APPLY_PENDING,
	APPLY_OK,
	APPLY_FAILED,
	APPLY_STALE,		/* the object changed since the plan */
	APPLY_NOT_ATTEMPTED,	/* an earlier failure on its server stopped it */
	APPLY_SKIPPED,		/* not a change (blocked, retained, error) */
};

/*
 * For every change of the plan, result() is called exactly once. An action
 * that is attempted gets progress(), then intent() before its first
 * request (the re-read included), then result(); on one server the
 * intents come in the plan's order, and so do the results. A run of
 * successful creates and updates of one kind (profiles of one project, or
 * projects) is read back with one list request after its last write
 * (apply_read_batch()), so their results come together after their
 * intents; otherwise an action's result comes before the next intent. An
 * action not attempted (an earlier failure on its server, or a refused
 * intent) gets result() alone, with APPLY_NOT_ATTEMPTED. Any of the three
 * may be NULL.
 */
struct apply_journal {
	/* Before the change; return non-zero to stop: this change and every
	 * change not yet started, on every server, are not made
	 * (APPLY_NOT_ATTEMPTED). */
	int (*intent)(void *ctx, const struct plan_action *a);
	/* After it: status, error message (or NULL when ok), the object as
	 * read back after the write (NULL for deletes and failures; for a
	 * create that found the object already as wanted, that object). */
	void (*result)(void *ctx, const struct plan_action *a, enum apply_status st,
		       const char *error, const json_t *applied);
	/* Progress: action n of total has started on its server. */
	void (*progress)(void *ctx, size_t n, size_t total, const struct plan_action *a);
	void *ctx;	/* called from several threads: the journal serialises */
};

struct apply_opts {
	const struct incus_identity *identity;
	const struct incus_opts *incus;	/* NULL: defaults */
	unsigned parallel;		/* servers at once, default 16 */
	long operation_timeout_s;	/* per operation, default 600 */
};

struct apply_result {
	enum apply_status *status;	/* one per plan action */
	char **errors;			/* one per plan action, NULL when none */
	size_t n;
	size_t ok, failed, stale, not_attempted;
	unsigned long requests;		/* sent to the servers, retries included */
};

/*
 * Carry out the changes of plan (create, update, delete actions; the others
 * are APPLY_SKIPPED) on the servers of fleet f. Returns 0 when every change
 * succeeded, 1 when some failed (result says which), -1 with err when
 * nothing could be started (result is then released already). Release
 * result with apply_result_release(), which accepts NULL and a zeroed or
 * released result.
 */
int apply_plan(const struct fleet *f, const struct plan *plan,
	       const struct apply_opts *opts, const struct apply_journal *j,
	       struct apply_result *result, struct berr *err);
void apply_result_release(struct apply_result *r);

/*
 * One change (a create, update or delete of a storage pool, project,
 * profile, image, cluster group or instance) on the server behind c, as
 * apply_plan() makes it; f gives images their server's pinned fingerprint
 * (may be NULL).
 *
 * Staleness, exactly: the object is read with a single GET (images through
 * their alias when the plan saw none). An update or delete goes ahead when
 * the SHA-256 of the canonical JSON of what was read equals a->digest, or,
 * failing that, when what was read equals a->before once both have their
 * used_by list sorted (the only field whose order may change between two
 * reads). Otherwise, or when the server answers the write with 412, or an
 * object to update is gone: APPLY_STALE, err "changed since the plan:
 * <address>" (with the reason in parentheses where there is one), nothing
 * written. A create that finds the object: APPLY_OK when every key of
 * a->after (but name, source, members and aliases; for maps every key
 * given) has the same value on the server and images carry the alias,
 * else APPLY_STALE. A delete that finds nothing: APPLY_OK. A cluster pool
 * left "Pending" by an interrupted create is completed.
 *
 * Instances (GET /1.0/instances/NAME?project=P; never read back in a
 * batch) differ:
 *   create  a->after is the POST body plus "state" ("running" or
 *           "stopped", required) and "target" (a cluster member, optional),
 *           both removed from the body and "target" sent as &target=;
 *           config "user.berth.placed-at" is set to the time of the create
 *           (RFC 3339 UTC, seconds). Once created it is started when
 *           "running" (timeout 30 s). A start that fails: APPLY_FAILED,
 *           err "created, but the start failed: ...", the instance left
 *           stopped. An instance found by that name with config
 *           user.berth.managed "true" and the same user.berth.plan as
 *           a->after is one created earlier: it is started or (cleanly)
 *           stopped as "state" says; any other: APPLY_STALE.
 *   update  only the state: every a->fields[].field must be "state"; the
 *           instance is started, or stopped cleanly (timeout 30 s, a stop
 *           that times out fails, never forced), to match a->after's
 *           "state".
 *   delete  a forced stop when it is not "Stopped", then DELETE.
 * Their staleness: the digest as above, or else a->before and what was
 * read have the same "status" and the same user.berth.* config keys. No
 * If-Match is sent: an instance's ETag does not cover its status.
 *
 * *applied is the object read back (caller json_decref()s) or NULL.
 * Errors are in err (APPLY_FAILED, APPLY_STALE).
 */
enum apply_status apply_action(struct incus_conn *c, const struct fleet *f,
			       const struct plan_action *a, const struct apply_opts *o,
			       json_t **applied, struct berr *err);

/*
 * Move an instance (a's kind is ACTION_MOVE): see move.c. It reaches the
 * source server (a->server) and the target (a->after "server") itself.
 * *applied: {"from", "to", "kind", "interruption_ms" (from the stop to
 * the end of the start; null when it was not running, or moved live),
 * "instance" (as read back on the target)}. A move that fails leaves the
 * instance on its source, in the state it was in (err says so).
 */
enum apply_status apply_move(const struct fleet *f, const struct plan_action *a,
			     const struct apply_opts *o, json_t **applied, struct berr *err);

/*
 * apply_action(), but when deferred is not NULL a successful create or
 * update whose object apply_read_batch() can read (apply_batched_read())
 * is not read back: *applied stays NULL and *deferred is set to 1 (else 0).
 */
enum apply_status apply_action_batched(struct incus_conn *c, const struct fleet *f,
				       const struct plan_action *a, const struct apply_opts *o,
				       json_t **applied, int *deferred, struct berr *err);

/* Is a a create or update of a profile or a project? */
int apply_batched_read(const struct plan_action *a);

/* Can a and b be read back by the same list (same kind, same project)? */
int apply_same_batch(const struct plan_action *a, const struct plan_action *b);

/*
 * The objects of a's kind (and project) on the server behind c, by name,
 * as one GET LIST?recursion=1 returns them (with "project" added as the
 * single GET would have it). NULL with err. Caller json_decref()s.
 */
json_t *apply_read_batch(struct incus_conn *c, const struct plan_action *a, struct berr *err);

/*
 * The object of a (a profile or a project) with one GET, as apply_action()
 * reads it back; NULL when it cannot be read. Caller json_decref()s.
 */
json_t *apply_read_one(struct incus_conn *c, const struct plan_action *a);

const char *apply_status_name(enum apply_status s);	/* "ok", "failed", ... */

#endif
