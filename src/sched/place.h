/*
 * place.h - where new instances of an offer (a Plan manifest) go, and why
 * every other host was not chosen. Pure: a status (status.h) and the fleet
 * come in, a decision comes out; nothing is read from anywhere else.
 *
 * Rules (README "Placement"):
 * - A host may take an instance of offer O when it is a member of O's pool
 *   and none of these holds (every one that holds is a reason, in this
 *   order, with a stable code):
 *     review-pending, review-rejected   the platform has not approved it
 *     cordoned, draining                its state
 *     agent-offline                     its agent stopped reporting
 *     no-agent                          no report ever, and the pool
 *                                       requires an agent
 *     supply-closed                     the pool's supply is closed
 *     plan-retired                      O's availability is retired
 *     provider-mismatch                 O belongs to a provider other than
 *                                       the host's
 *     storage-unavailable               the agent reports an error for the
 *                                       pool's storage pool
 *     insufficient-cpu, -memory, -disk  free < what O needs (want, free)
 *   A host outside O's pool has the single reason not-in-pool. Free is
 *   berth status's: min(declared, reported) x overcommit - reserve -
 *   allocated, less what this placer already placed on the host (on a
 *   cluster's shared storage, the disk any member took).
 * - Policy of O's pool: spread puts each instance on the host with the most
 *   free after placing it, judged by its scarcest resource (the smallest
 *   fraction free / capacity over the resources O needs); pack on the host
 *   with the least. Ties go to the host whose name sorts first, so the
 *   same input gives the same answer.
 */
#ifndef BERTH_SCHED_PLACE_H
#define BERTH_SCHED_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "manifest/model.h"
#include "sched/status.h"
#include "util/err.h"

enum place_code {
	PLACE_NOT_IN_POOL,
	PLACE_REVIEW_PENDING,
	PLACE_REVIEW_REJECTED,
	PLACE_CORDONED,
	PLACE_DRAINING,
	PLACE_AGENT_OFFLINE,
	PLACE_NO_AGENT,
	PLACE_SUPPLY_CLOSED,
	PLACE_PLAN_RETIRED,
	PLACE_PROVIDER_MISMATCH,
	PLACE_STORAGE_UNAVAILABLE,
	PLACE_INSUFFICIENT_CPU,
	PLACE_INSUFFICIENT_MEMORY,
	PLACE_INSUFFICIENT_DISK,
	PLACE__COUNT
};

/* "not-in-pool", "cordoned", "insufficient-memory", ... */
const char *place_code_name(enum place_code c);

struct place_reason {
	enum place_code code;
	uint64_t want;		/* insufficient-*: what the offer needs */
	int64_t free;		/* insufficient-*: what the host has free */
};

/* One host's answer for one instance of an offer. */
struct place_check {
	int eligible;
	struct place_reason reasons[PLACE__COUNT];
	size_t nreasons;
	int64_t free[RES__COUNT];	/* members of the pool: free before placing */
};

/*
 * A placer remembers what it placed, so that instances placed earlier in
 * the same run count as allocated. It borrows s (and the fleet s borrows).
 * Release with placer_release() (safe on a zeroed struct).
 */
struct placer {
	const struct status *s;
	uint64_t (*placed)[RES__COUNT];	/* per status host, what it placed */
};

void placer_init(struct placer *p, const struct status *s);
void placer_release(struct placer *p);

/* May host sh take one instance of o now? Fills c. */
void place_check_host(const struct placer *p, const struct m_offer *o,
		      const struct status_host *sh, struct place_check *c);

/*
 * Choose the host for one instance of o (NULL when none may take it) and
 * count it as placed there.
 */
const struct status_host *place_one(struct placer *p, const struct m_offer *o);

/* Count one instance of o as placed on sh (a pinned or existing one). */
void place_commit(struct placer *p, const struct m_offer *o,
		  const struct status_host *sh);

/* A decision for count instances of one offer: berth place's answer. */
struct place_host {
	const struct status_host *host;
	struct place_check before;	/* before this decision placed anything */
	struct place_check after;	/* after it: why it took no more */
	size_t placed;			/* instances of this decision placed here */
};

struct place_decision {
	const struct m_offer *offer;
	size_t count;
	size_t nplaced;
	const struct status_host **placements;	/* nplaced, in order */
	struct place_host *hosts;		/* every host, sorted by name */
	size_t nhosts;
	size_t neligible;			/* hosts eligible before */
};

/* Place count instances of o. Release d with place_decision_release(). */
void place_decide(struct placer *p, const struct m_offer *o, size_t count,
		  struct place_decision *d);
/* Safe on a zeroed struct. */
void place_decision_release(struct place_decision *d);

/*
 * The scheduler-style summary: "2 of 3 hosts can take vps-s: h3
 * cordoned", with a count per reason instead of names when more than five
 * hosts are refused ("0 of 40 hosts can take vps-s: 31 insufficient-memory,
 * 9 cordoned"); "... placed 4 of 6: h1 insufficient-memory, ..." when some
 * of the count could not be placed. Caller frees.
 */
char *place_summary(const struct place_decision *d);

/*
 * One reason for people: "cordoned", "insufficient-memory (want 2GiB,
 * free 1GiB)". Caller frees.
 */
char *place_reason_text(const struct place_reason *r);

/*
 * A placement request, as a panel sends it to POST /v1/place: a JSON
 * object {"plan": NAME, "count": N} (count 1 to PLACE_MAX_COUNT, default
 * 1) of len bytes. 0 with *plan (caller frees) and *count; -1 with err
 * ("want a JSON object like ...", "count: want an integer from 1 to
 * 100000", "plan: want the name of a Plan").
 */
#define PLACE_MAX_COUNT	100000
int place_request_parse(const char *data, size_t len, char **plan, size_t *count,
			struct berr *err);

/*
 * berth place's JSON: {"format_version": "1.0", "plan": NAME,
 * "placements": [{"host": H}, ...], "unplaced": N, "summary": TEXT,
 * "hosts": [{"host": H, "eligible": B, "placed": N,
 *            "reasons": [{"code": C, "want": W, "free": F}] (when not eligible;
 *                        want/free only for insufficient-*),
 *            "free": {"cpu", "memory", "disk"} (pool members)}]}.
 * Caller json_decref()s.
 */
json_t *place_decision_to_json(const struct place_decision *d);

#endif
