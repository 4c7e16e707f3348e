/*
 * plan.h - what berth would change on every server to match the manifests,
 * and why. Pure: no network, no database, no clock; the same inputs give
 * the same plan, so it is tested on observations recorded from real
 * daemons (tests/data/observed/).
 *
 * Inputs: the checked fleet (manifest/model.h), an observation
 * (incus/observe.h for its JSON format) and, in plan_opts, the objects as
 * berth last applied them (from the ledger; without them every difference
 * is only "differs"). Output: ordered actions, grouped by server.
 *
 * What is planned, per server (a standalone host, or a cluster once):
 *   storage pools, projects, one profile plan-<name> per offer (Plan
 *   manifest) of a pool the server is in, images of the server's pools,
 *   cluster group config, and the Instance manifests that are or go there
 *   (placed with plan_opts.status: see instances.c).
 * Order within a server: storage pools, projects, profiles, images, groups,
 * instances;
 * deletions after all else, in reverse.
 */
#ifndef BERTH_PLAN_PLAN_H
#define BERTH_PLAN_PLAN_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "manifest/model.h"
#include "util/err.h"

struct status;			/* sched/status.h */

enum plan_object {
	OBJ_STORAGE_POOL,
	OBJ_PROJECT,
	OBJ_PROFILE,
	OBJ_IMAGE,
	OBJ_CLUSTER_GROUP,
	OBJ_INSTANCE,		/* instances declared in git (Instance manifests) */
	OBJ_SERVER,		/* the server itself: its ERROR when it could not be observed */
	OBJ_CLUSTER_MEMBER,	/* a member's scheduler.instance (cordoned, draining) */
};

enum plan_action_kind {
	ACTION_CREATE,
	ACTION_UPDATE,
	ACTION_DELETE,
	ACTION_BLOCKED,		/* would change, but a rule stops it (conflict, in use, guard) */
	ACTION_ERROR,		/* cannot be planned (unsupported driver, missing extension, server down) */
	ACTION_RETAINED,	/* left in place on purpose (used by instances, prune not asked) */
	ACTION_MOVE,		/* an instance to another host (instances only; see plan_move) */
};

enum plan_safety {
	SAFETY_SAFE,		/* no effect on running instances */
	SAFETY_DISRUPTIVE,	/* running instances see a change (limits, profile devices) */
	SAFETY_DESTRUCTIVE,	/* data or objects are removed */
};

/* One field that changes: "config[\"limits.cpu\"]", "devices.root.size". */
struct plan_field {
	char *field;
	json_t *before;		/* NULL: absent */
	json_t *after;		/* NULL: removed */
	char *note;		/* "not declared: removed", ... or NULL */
};

struct plan_action {
	char *server;		/* host or cluster name */
	char *address;		/* "host/nix-01/profile/plan-vps-s", "cluster/c/storage-pool/incus" */
	enum plan_object object;
	char *name;
	char *project;		/* profiles and images: their project; else NULL */
	enum plan_action_kind kind;
	enum plan_safety safety;
	char *reason;		/* one line, for people */
	char *blocked_by;	/* BLOCKED/RETAINED: what stops it; else NULL */
	json_t *before;		/* as observed (the Incus object), NULL when absent */
	json_t *after;		/* as desired (what apply sends), NULL for deletes */
	struct plan_field *fields;
	size_t nfields;
	char digest[65];	/* SHA-256 of the canonical observed object, "" when absent */
	/*
	 * Creates of storage pools with driver: auto whose hosts did not all
	 * report their usable drivers: the drivers to try in turn (a JSON
	 * array of names) when the create with after's driver fails; NULL.
	 */
	json_t *fallback;
};

/* Per-server summary, including servers with nothing to do. */
struct plan_server {
	char *name;
	int is_cluster;
	char *error;		/* the server could not be observed */
	char *state;		/* "cordoned", "draining", "review pending", ... or NULL */
	unsigned long requests;	/* from the observation's stats */
	unsigned long long bytes;
};

struct plan_opts {
	int prune;			/* delete managed objects no longer declared */
	unsigned max_deletes;		/* default 10 */
	int allow_mass_delete;
	const char *const *targets;	/* "KIND/NAME" (e.g. "Plan/vps-s", "Host/nix-01"), or NULL */
	size_t ntargets;
	/* address -> object as last applied, or its JSON text (a string,
	 * parsed when compared: ledger_last_applied()); or NULL */
	const json_t *last_applied;
	/*
	 * Health of the hosts (sched/status.h), or NULL. Instances that do
	 * not exist yet are placed with it (without it they are not placed:
	 * an ERROR each); the renderings mark hosts that are offline or have
	 * no agent where a pool requires one. It changes no other action.
	 */
	const struct status *status;
};

struct plan {
	char commit[41];
	char manifest_digest[65];	/* SHA-256 over the fleet's documents */
	struct plan_action *actions;
	size_t nactions, aactions;
	struct plan_server *servers;
	size_t nservers, aservers;
	size_t ncreate, nupdate, ndelete, nblocked, nerrors, nretained, nmove;
	char *refused;			/* the whole plan is refused (empty fleet with prune) */
};

/*
 * Compute the plan. Never fails for bad observations: they become ERROR
 * actions or server errors. Returns 0; -1 only for a refused plan
 * (plan->refused says why). plan is zeroed first: the caller releases it
 * with plan_release() whatever this returns.
 */
int plan_compute(const struct fleet *f, const json_t *observed,
		 const struct plan_opts *opts, struct plan *plan);
/*
 * Free the plan's contents; plan is zeroed. Safe on a zeroed (= { 0 }) or
 * released plan, so a caller that may not have computed one needs no flag;
 * plan itself must not be NULL.
 */
void plan_release(struct plan *plan);

/* Has the plan any change (create, update, delete, move)? */
int plan_has_changes(const struct plan *plan);

/* Render: text like a careful terraform plan (color: ANSI colours), or the
 * versioned JSON document. Both take the plan's targets into account, and
 * with opts->status mark the hosts no new instance is placed on: text
 *   host lab-2: offline (last report 14m ago): no new instances are placed on it
 * before the summary; JSON a "hosts" list of every host with name,
 * health, report_age_seconds, schedulable, reason and warning (that line's
 * text after "host NAME: ", or null). */
void plan_render_text(const struct plan *plan, const struct plan_opts *opts,
		      int color, int verbose, FILE *out);
json_t *plan_to_json(const struct plan *plan, const struct plan_opts *opts);
/*
 * The plan as markdown for a review comment: a heading with the commit,
 * the summary in bold, and a table of every change (sign, server, object,
 * change, why; an update shows its first fields, values as inline code
 * cut at 60 characters); "No changes" when there are none. Cells escape
 * pipes and line breaks, so no value can break the table.
 */
void plan_render_markdown(const struct plan *plan, const struct plan_opts *opts, FILE *out);

/*
 * A plan file: format_version, commit, manifest digest, the state
 * directory's identity (state_id), and every action with the digest of the
 * observed object it was based on. plan_file_read() refuses an unknown
 * format version with a message that names it.
 */
json_t *plan_file(const struct plan *plan, const struct plan_opts *opts,
		  const char *state_id);
/*
 * Parse a plan file's bytes (len of data) and check its format version.
 * Returns the document (caller json_decref()s), or NULL with err: not
 * JSON, not a berth plan file, or a format version this berth does not
 * read ("plan file format_version \"2.0\": want 1.0").
 */
json_t *plan_file_read(const char *data, size_t len, struct berr *err);

/*
 * The digest berth pins an observed object by: SHA-256 (lowercase hex) of
 * its canonical JSON (sorted keys, compact). "" for NULL.
 */
void plan_digest(const json_t *v, char out[65]);
/*
 * The part of an observed instance berth plans on, pins and records: its
 * name, project, type, status, location, profiles, and its own
 * user.berth.* and limits.* keys (not the server's runtime counters, which
 * would make every saved plan stale). Apply compares an instance by it.
 * Caller json_decref()s.
 */
json_t *plan_instance_seen(const json_t *obs);
/*
 * A config key of an object of type o that the plan neither compares nor
 * removes (volatile.*, server-filled keys, ...): an update must keep it as
 * the server has it.
 */
int plan_kept_key(enum plan_object o, const char *key);

const char *plan_object_name(enum plan_object o);	/* "storage-pool", ... */
const char *plan_action_name(enum plan_action_kind k);	/* "create", ... */
const char *plan_safety_name(enum plan_safety s);	/* "safe", ... */

#endif
