/*
 * plan-int.h - what the files of src/plan/ share: the desired objects of
 * one server (desired.c), the field diff (diff.c) and the helpers that add
 * actions to a plan (plan.c).
 */
#ifndef BERTH_PLAN_PLAN_INT_H
#define BERTH_PLAN_PLAN_INT_H

#include <stddef.h>

#include <jansson.h>

#include "manifest/model.h"
#include "plan/plan.h"

/* One server of the fleet as the planner sees it. */
struct pserver {
	const char *name;
	int is_cluster;
	struct m_host *host;		/* standalone host, or NULL */
	struct m_cluster *cluster;	/* cluster, or NULL */
	const json_t *obs;		/* its entry in the observation, may be NULL */
	json_t *index;			/* "KIND\nPROJECT\nNAME" -> its observed
					   object (images: by each alias), or NULL */
};

/* One object the manifests want on a server. */
struct dobj {
	enum plan_object object;
	const char *name;		/* borrowed from the fleet, or owned_name */
	char *owned_name;
	const char *project;		/* profiles, images: "default" */
	char *source;			/* "Plan/ct-small", "Host/lab-1": what declares it */
	int adopt;
	json_t *after;			/* what apply sends (owned) */
	char *error;			/* cannot be planned (owned), or NULL */
	const struct m_image *image;	/* images: for the fingerprint pin */
	char *note;			/* storage pools with driver: auto: how
					   the driver was chosen (owned), or NULL */
	json_t *fallback;		/* and the drivers to try when it fails */
};

struct dset {
	struct dobj *v;
	size_t n, alloc;
};

/* desired.c: the objects the manifests want on s, in plan order; st (may
 * be NULL) holds the agents' reports, which driver: auto heeds. */
void desired_server(const struct fleet *f, const struct status *st,
		    const struct pserver *s, struct dset *out);
/* Safe on a zeroed or released dset (d must not be NULL). */
void dset_release(struct dset *d);
/* Does server s hold hosts of pool p? */
int pserver_in_pool(const struct pserver *s, const struct m_pool *p);
/*
 * The offer's version, user.berth.plan-version: a digest of what offer p
 * sells (16 hex digits); out has 17 bytes.
 */
void offer_version(const struct m_offer *p, char out[17]);
/*
 * What a profile plan-<name> and an instance of offer o both carry, set in
 * config: the plan's own config keys, then the keys berth derives (these
 * win): limits.cpu, limits.memory, and the sold snapshot user.berth.managed,
 * .plan, .plan-version, .price, .currency, .cycle, .provider, and for a
 * plan with a traffic allowance .traffic (bytes per billing month) and,
 * with an overage price, .overage (minor units) per .overage-per bytes
 * (the overage enters the version only when the plan has one). A profile
 * carries the snapshot too, so that an instance a panel creates on it
 * inherits the version and price it was sold at.
 */
void offer_config(const struct m_offer *o, json_t *config);
/*
 * The devices of offer o: the plan's own, and "root", the disk of o's size
 * on its pool's storage pool. Caller json_decref()s.
 */
json_t *offer_devices(const struct m_offer *o);

/* instances.c: where each Instance manifest is or goes (see instances.c). */

/* The config value of key of an observed instance: its own, else (expanded) its profiles'. */
const char *instance_key(const json_t *v, const char *key, int expanded);

struct status;

struct iplace {
	const struct m_instance *in;
	const char *server;		/* where it is or goes (host or cluster
					   name), or NULL */
	const struct m_host *host;	/* the host it runs on or goes to, or NULL */
	const char *member;		/* cluster member to create it on, or NULL */
	const json_t *obs;		/* the observed instance; NULL: absent */
	char *reason;			/* why there (owned), for a create */
	char *error;			/* cannot be placed (owned), or NULL */
	char *blocked;			/* exists, but not as declared (owned), or NULL */
	const char *blocked_by;		/* what blocks it, with blocked */
	struct imove *move;		/* it moves (an element of iplan.moves), or NULL */
};

/*
 * An instance that leaves its host: the host drains, or (declared) its pin
 * names another host. The target is chosen by the same placement as a new
 * instance's, counting the moves and creates before it.
 */
struct imove {
	const char *server;		/* the source server (host or cluster name) */
	const char *name;
	const char *project;		/* "default" or another */
	const json_t *obs;		/* the observed instance */
	const struct m_host *from;
	const struct m_host *to;	/* NULL: no host can take it (error) */
	const char *to_server;		/* to's server (host or cluster name) */
	int live;			/* a running VM with migration.stateful, both ends able */
	int running;			/* running after the move (declared, or as it is) */
	char *reason;			/* why it moves and where (owned) */
	char *error;			/* cannot be moved (owned), or NULL */
};

struct iplan {
	struct iplace *v;		/* one per Instance manifest, in fleet order */
	size_t n;
	struct imove *moves;		/* declared ones first, in fleet order, then
					   those no manifest declares, by server */
	size_t nmoves;
	struct ileftover {		/* what interrupted moves left */
		const char *server;	/* where the copy is */
		const json_t *obs;	/* the copy */
		const char *source;	/* the host the instance is on */
	} *leftovers;
	size_t nleftovers;
};
/* The move of the observed instance name/project on server, or NULL. */
const struct imove *iplan_move(const struct iplan *p, const char *server, const char *name,
			       const char *project);

/*
 * Find or place every Instance manifest of f, with the hosts' health st
 * (NULL: none is placed). Release out with iplan_release() (safe on a
 * zeroed struct).
 */
void instances_resolve(const struct fleet *f, const json_t *observed,
		       const struct status *st, struct iplan *out);
void iplan_release(struct iplan *p);
/*
 * What apply sends to create in (POST /1.0/instances), plus "state"
 * (running|stopped) and, on a cluster, "target" (member). Caller
 * json_decref()s.
 */
json_t *instance_desired(const struct m_instance *in, const char *member);

/* diff.c */
enum diff_mode {
	DIFF_PRUNE_UNDECLARED,	/* undeclared keys are removed */
	DIFF_KEEP_SERVER_KEYS,	/* undeclared keys the server fills in are kept */
};

/*
 * Compare the observed object before with the desired after (Incus shapes)
 * of kind o and append one plan_field per difference to *fields (grows
 * *n). before NULL lists every desired value as added.
 */
void diff_object(enum plan_object o, const json_t *before, const json_t *after,
		 struct plan_field **fields, size_t *n);
/* Is the key never diffed for objects of kind o? */
int diff_ignored_key(enum plan_object o, const char *key);
/* SHA-256 hex of the canonical JSON of v; "" for NULL. */
void json_digest(const json_t *v, char out[65]);
/* Free n fields and the array; accepts (NULL, 0). */
void plan_fields_free(struct plan_field *fields, size_t n);

/* Canonical JSON for digests: sorted keys, compact. Caller frees. */
char *json_canonical(const json_t *v);

/* render.c: the targets as a JSON list (owned by the caller). */
json_t *plan_targets_json(const struct plan_opts *opts);

#endif
