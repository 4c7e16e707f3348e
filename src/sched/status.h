/*
 * status.h - health and capacity of every host and pool: what is declared,
 * what the agents report, what is allocated, what is free, and whether a
 * host may take new instances (and why not). Pure: no I/O; the caller
 * hands in the fleet, the latest accepted report of each host and the time.
 *
 * Rules (README, "berth status"):
 * - A host is online when its last accepted report is at most
 *   max(3 x agent interval, 120 s) old, offline when older, "no agent" when
 *   no report was ever accepted. The interval is the Host manifest's
 *   spec.agent.interval (default 30 s), not the one the agent reports.
 * - Capacity per resource (cpu threads, memory bytes, disk bytes of the
 *   pool's storage_pool): declared (Host spec.capacity; 0 = not declared)
 *   and reported (agent: cpu_threads, memory total, that storage pool's
 *   total). The usable base is min(declared, reported) when both are
 *   known, else whichever is known.
 * - A pool whose storage_pool is, on a cluster, shared storage (driver
 *   ceph, cephfs or lvmcluster in the Cluster manifest) is one disk for
 *   the members of that cluster: each member's disk is the largest
 *   capacity any of them has (reported: the largest total) with the disk
 *   all of them allocate, and the pool's total counts it once.
 * - Allocated: the sum of the offers (the Plan manifests: cpu, memory,
 *   disk) of the instances on the host: those the agent reports (by their
 *   user.berth.plan), plus Instance manifests pinned to the host that the
 *   report does not list.
 *   Every status counts (a stopped instance keeps its disk and may
 *   start); an instance whose Plan is not in the manifests counts nothing.
 * - capacity = base x overcommit - reserve, reserve being the pool's
 *   percentage of base, computed exactly and rounded down once:
 *   floor(base x (overcommit_milli x 10 - reserve_bp) / 10000).
 *   free = capacity - allocated; may be negative (overcommitted).
 * - Schedulable in a pool unless, first match wins: pending review,
 *   rejected, cordoned, draining, offline, no agent (only when the pool
 *   has require_agent), storage pool unavailable (the host's last report
 *   has an error for the pool's storage pool), pool closed, full (no offer
 *   of the pool that may go on the host fits in what is free; with no such
 *   offer: any free resource <= 0). The offers that may go on a host are
 *   the pool's Plans not retired, owned by the platform or by the host's
 *   provider.
 */
#ifndef BERTH_SCHED_STATUS_H
#define BERTH_SCHED_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/report.h"
#include "manifest/model.h"

#define STATUS_MIN_WINDOW_MS	120000

enum host_health {
	HEALTH_NO_AGENT,	/* no report was ever accepted */
	HEALTH_ONLINE,
	HEALTH_OFFLINE,
};

/* The latest accepted report of one host, as the store hands it out. */
struct host_report {
	const char *host;
	int64_t received_ms;		/* when the intake accepted it */
	const struct report *report;	/* parsed body */
};

enum sched_reason {
	SCHED_OK,
	SCHED_PENDING_REVIEW,
	SCHED_REJECTED,
	SCHED_CORDONED,
	SCHED_DRAINING,
	SCHED_OFFLINE,
	SCHED_NO_AGENT,
	SCHED_STORAGE_UNAVAILABLE,	/* the agent could not read the pool's
					   storage pool */
	SCHED_POOL_CLOSED,
	SCHED_FULL,
};

/*
 * The host's offline window: max(3 x spec.agent.interval, 120 s), at most
 * INT64_MAX. Its agent is online while its last accepted report is at most
 * this old; the intake's agent_online uses the same (serve/store.h).
 */
int64_t status_window_ms(const struct m_host *h);

/* "pending review", "cordoned", ...; "" for SCHED_OK. */
const char *sched_reason_name(enum sched_reason r);
/* "online", "offline", "no agent". */
const char *host_health_name(enum host_health h);
/*
 * An age for people, rounded down: "12s", "14m", "3h", "2d" (negative
 * ages are 0s).
 */
void status_format_age(int64_t ms, char *out, size_t outlen);

struct status_host;
/*
 * What is left on a draining host: the instances its agent's last report
 * lists, and the Instance manifests still pinned to it; -1 when the host
 * is not draining or no report says (no agent, or none accepted yet).
 * 0: drained, it can be taken down. In JSON: "instances_left".
 */
long status_instances_left(const struct status_host *h);

/* One resource of a host under one pool's rules. */
struct status_resource {
	uint64_t declared;	/* 0 = not declared */
	uint64_t reported;	/* 0 = not reported */
	uint64_t base;		/* min of the known ones */
	uint64_t capacity;	/* base x overcommit - reserve */
	uint64_t allocated;
	int64_t free;		/* capacity - allocated */
};

struct status_instance {
	const char *name;
	const char *project;
	const char *status;	/* "Running", ...; "declared" for an Instance
				   manifest not (yet) reported */
	const char *plan;	/* its Plan (user.berth.plan); NULL: unknown */
	const struct m_offer *offer;	/* that Plan in the manifests, counted in
					   allocated; NULL: counts nothing */
};

/* One host in one pool. */
struct status_member {
	struct status_host *host;
	struct status_resource res[RES__COUNT];
	enum sched_reason reason;
	const char *storage_error;	/* the report's error for the pool's
					   storage pool, or NULL */
	int disk_shared;		/* 0; 1 or 2 on a cluster's shared
					   storage: 1 for the member whose disk
					   counts in the pool's total */
};

struct status_host {
	const struct m_host *host;
	enum host_health health;
	int64_t report_age_ms;		/* -1 with no report; >= 0 otherwise
					   (a report from the future is 0 old) */
	int64_t window_ms;		/* max(3 x interval, 120 s) */
	int64_t received_ms;		/* 0 with no report */
	const struct report *report;	/* NULL with no report */
	struct status_instance *instances;	/* reported ones first */
	size_t ninstances;
	uint64_t allocated[RES__COUNT];
	size_t npools;			/* pools it is a member of */
	int schedulable;		/* schedulable in at least one pool */
	enum sched_reason reason;	/* SCHED_OK when schedulable, else its
					   reason in its first pool (SCHED_OK
					   too when in no pool) */
	const struct m_pool *agent_required_by;	/* first of its pools with
						   require_agent, or NULL */
};

struct status_pool {
	const struct m_pool *pool;
	struct status_member *members;
	size_t nmembers;
	size_t nschedulable;
	struct status_resource total[RES__COUNT];	/* sums over members */
};

struct status {
	const struct fleet *fleet;	/* borrowed: what it was built from */
	int64_t now_ms;
	struct status_host *hosts;	/* in fleet order */
	size_t nhosts;
	struct status_pool *pools;	/* in fleet order */
	size_t npools;
};

/*
 * Compute the status of fleet f at now_ms from the latest reports (any
 * order; reports of hosts not in f are ignored). The status borrows f and
 * each reports[i].report (not the reports array itself, which the caller
 * may free once this returns): they must outlive it. Caller frees with
 * status_free(), which accepts NULL.
 */
struct status *status_build(const struct fleet *f,
			    const struct host_report *reports, size_t nreports,
			    int64_t now_ms);
void status_free(struct status *s);

/* The host named name in s, or NULL. */
const struct status_host *status_host(const struct status *s,
				      const char *name);

/*
 * The status as JSON, for `berth status --format json` and GET /v1/status.
 * Caller json_decref()s.
 *
 *   {"format_version": "1.0", "time": "2026-11-22T05:00:00Z",
 *    "hosts": [{"name", "provider", "cluster" (or null), "review", "state",
 *               "health": "online" | "offline" | "no agent",
 *               "last_report" (RFC 3339 or null), "report_age_seconds"
 *               (or null), "window_seconds", "agent": {"version", "build",
 *               "interval_seconds"} or null, "pools": [names],
 *               "schedulable" (in some pool), "reason" (null, a reason of
 *               its first pool, or "in no pool"),
 *               "allocated": {"cpu", "memory", "disk"},
 *               "instances": [{"name", "project", "status", "plan",
 *                              "counted"}]}],
 *    "pools": [{"name", "storage_pool", "supply", "placement",
 *               "require_agent", "overcommit": {"cpu": 4, "memory": 1.5,
 *               "disk": 1}, "reserve": {"cpu": "10%", ...}, "hosts": N,
 *               "schedulable": N, "total": RES,
 *               "members": [{"host", "health", "schedulable", "reason",
 *                            "storage_error" (or null), "disk_shared"
 *                            (bool), "resources": RES}]}]}
 *
 * with RES = {"cpu": R, "memory": R, "disk": R} and R = {"declared",
 * "reported", "base", "capacity", "allocated", "free"} (integers: threads
 * or bytes; free may be negative).
 */
json_t *status_to_json(const struct status *s);

#endif
