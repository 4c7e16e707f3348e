/*
 * apply.h - carrying out a plan on real Incus servers.
 *
 * Per server, actions run in the plan's order (storage pools, projects,
 * profiles, images, groups; deletions last, in reverse); servers run in
 * parallel (opts->parallel at once). Before each change the journal's
 * intent() is called (the ledger writes a change.intent), after it
 * result(). Every write first re-reads the single object (GET, with its
 * ETag), checks that it is still what the plan was based on (the digest of
 * its canonical JSON, see plan.h), and sends the ETag as If-Match: a
 * changed object or a 412 fails that action as "stale" and nothing is
 * overwritten. Async operations are waited for (incus_wait). Image copies
 * into a cluster are done once per cluster, never two at a time.
 *
 * When one action of a server fails, the later actions of that server that
 * depend on it are not attempted (a profile whose storage pool failed);
 * the other servers go on. Re-running after any failure converges without
 * duplicates (creates check for existence first).
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

struct apply_journal {
	/* Before the change; return non-zero to stop (the change is not made). */
	int (*intent)(void *ctx, const struct plan_action *a);
	/* After it: status, error message (or NULL), the object as applied (or NULL). */
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
};

/*
 * Carry out the changes of plan (create, update, delete actions; the others
 * are APPLY_SKIPPED) on the servers of fleet f. Returns 0 when every change
 * succeeded, 1 when some failed (result says which), -1 with err when
 * nothing could be started. Release result with apply_result_release().
 */
int apply_plan(const struct fleet *f, const struct plan *plan,
	       const struct apply_opts *opts, const struct apply_journal *j,
	       struct apply_result *result, struct berr *err);
void apply_result_release(struct apply_result *r);

const char *apply_status_name(enum apply_status s);	/* "ok", "failed", ... */

#endif
