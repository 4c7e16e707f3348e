/*
 * model.h - the desired fleet: typed objects built from validated manifests.
 *
 * A struct fleet owns its documents; every string in the model is borrowed
 * from those documents' jansson trees and lives as long as the fleet. Sizes
 * are bytes, durations milliseconds, percentages basis points (1% = 100),
 * overcommit ratios thousandths (1.5 -> 1500), money integer minor units.
 * References between objects (offer -> pool, host -> cluster, ...) are
 * resolved by check.c; until then the pointers are NULL.
 *
 * A Plan manifest is an offer (struct m_offer, fleet_offer()): what is sold.
 * The manifest vocabulary keeps the word: kind Plan, Instance spec.plan,
 * profiles plan-<name>, user.berth.plan. "plan" alone in the code is the
 * change plan of src/plan/.
 */
#ifndef BERTH_MANIFEST_MODEL_H
#define BERTH_MANIFEST_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "manifest/yaml.h"
#include "sched/window.h"
#include "util/diag.h"
#include "util/money.h"

enum kind {
	KIND_PROVIDER,
	KIND_HOST,
	KIND_CLUSTER,
	KIND_POOL,
	KIND_PLAN,
	KIND_IMAGE,
	KIND_INSTANCE,
	KIND_FLEET,
	KIND__COUNT
};

/* "Host" -> KIND_HOST; -1 when unknown. */
int kind_from_name(const char *name);
const char *kind_name(enum kind k);

struct meta {
	const char *name;
	const char *provider;	/* "platform" when not given */
	json_t *labels;		/* object of strings, may be NULL */
	const struct mdoc *doc;
};

struct m_storage_pool {
	const char *name;
	const char *driver;	/* "auto", "dir", "btrfs", "lvm", "zfs", ... */
	const char *source;	/* may be NULL */
	const char *description;
	uint64_t size;		/* 0 when not given */
	json_t *config;		/* object of strings (normalised), never NULL */
	json_t *members;	/* clusters: member name -> {source,size,config}; may be NULL */
	int adopt;
	size_t index;		/* position in the manifest list, for paths */
};

struct m_project {
	const char *name;
	const char *description;
	json_t *config;
	int adopt;
	size_t index;
};

struct m_group {
	const char *name;
	const char *description;
	json_t *config;
};

struct m_capacity {
	uint64_t cpu;
	uint64_t memory;
	uint64_t disk;
	uint64_t traffic;
};

enum review { REVIEW_PENDING, REVIEW_APPROVED, REVIEW_REJECTED };
enum host_state { HOST_ACTIVE, HOST_CORDONED, HOST_DRAINING };
enum instance_type { TYPE_CONTAINER, TYPE_VM };

/*
 * The platform's review of one of a provider's hosts: Provider
 * spec.approvals.<host>. It is of the server certificate the platform
 * reviewed, and holds only while the Host pins that fingerprint.
 */
struct m_approval {
	const char *host;
	enum review review;
	const char *fingerprint;
	int adopt;		/* the host may adopt existing storage pools and projects */
};

struct m_provider {
	struct meta meta;
	const char *display_name;
	uint32_t revenue_share_bp;
	const char *currency;
	uint64_t holdback_ms;
	struct m_approval *approvals;	/* in manifest order */
	size_t napprovals;
};

struct m_cluster;

struct m_host {
	struct meta meta;
	const char *endpoint;
	const char *fingerprint;	/* may be NULL */
	const char *cluster_name;	/* may be NULL */
	struct m_cluster *cluster;
	const char *os;
	/*
	 * The platform's own hosts: spec.review, approved when not given. A
	 * provider's host: pending, until check.c finds the approval that
	 * holds for it and sets its review and approval.
	 */
	enum review review;
	const struct m_approval *approval;	/* a provider's host: resolved, or NULL */
	enum host_state state;
	struct m_capacity capacity;
	const char *agent_key;		/* "ed25519:..." or NULL */
	uint64_t agent_interval_ms;	/* default 30 s */
	struct m_storage_pool *storage_pools;
	size_t nstorage_pools;
	struct m_project *projects;
	size_t nprojects;
};

struct m_cluster {
	struct meta meta;
	const char *endpoint;
	const char *fingerprint;
	struct m_group *groups;
	size_t ngroups;
	int vm_maxcpus_auto;
	uint64_t vm_maxcpus;		/* when not auto; 0 = not set */
	struct m_storage_pool *storage_pools;
	size_t nstorage_pools;
	struct m_project *projects;
	size_t nprojects;
	struct m_host **members;	/* resolved: hosts whose cluster is this */
	size_t nmembers;
};

enum supply { SUPPLY_OPEN, SUPPLY_CLOSED };
enum placement { PLACEMENT_SPREAD, PLACEMENT_PACK };

/* Indexes into the per-resource arrays of a pool. */
enum resource { RES_CPU, RES_MEMORY, RES_DISK, RES__COUNT };

struct m_pool {
	struct meta meta;
	json_t *select_labels;		/* may be NULL */
	const char **select_names;
	size_t nselect_names;
	const char *storage_pool;
	uint32_t overcommit_milli[RES__COUNT];	/* default 1000 */
	uint32_t reserve_bp[RES__COUNT];	/* default 0 */
	enum supply supply;
	enum placement placement;
	int require_agent;
	struct m_host **hosts;		/* resolved selection */
	size_t nhosts;
};

enum cycle { CYCLE_HOURLY, CYCLE_MONTHLY, CYCLE_QUARTERLY, CYCLE_SEMIANNUAL, CYCLE_YEARLY };
/* "hourly", "monthly", ... in enum cycle order, NULL-terminated. */
extern const char *const cycle_names[];
/* The name of c ("monthly" for a value out of range). */
const char *cycle_name(enum cycle c);
/* The cycle named s: 0, or -1 when s names none (or is NULL). */
int cycle_parse(const char *s, enum cycle *c);
enum availability { AVAIL_ON_SALE, AVAIL_HIDDEN, AVAIL_RETIRED };

struct m_image;

/* A Plan manifest: what is sold, on which pool, at what price. */
struct m_offer {
	struct meta meta;
	const char *pool_name;
	struct m_pool *pool;
	enum instance_type type;
	uint64_t cpu;
	uint64_t memory;
	uint64_t disk;
	uint64_t traffic;		/* 0 = not metered */
	struct money price;
	enum cycle cycle;
	int has_overage;
	struct money overage;
	uint64_t overage_per;		/* bytes per overage unit */
	enum availability availability;
	const char *description;
	const char **image_names;
	size_t nimages;
	struct m_image **images;	/* resolved */
	json_t *config;			/* sold profile keys, strings; never NULL */
	json_t *devices;		/* name -> {type, keys: strings}; never NULL */
};

struct m_image {
	struct meta meta;
	const char *server;
	const char *protocol;
	const char *alias;
	const char *server_fingerprint;	/* may be NULL */
	const char *fingerprint;	/* may be NULL */
	enum instance_type type;
	const char **pool_names;
	size_t npools;
	struct m_pool **pools;		/* resolved */
	int auto_update;
};

struct m_instance {
	struct meta meta;
	const char *plan_name;
	const char *image_name;
	const char *project;
	const char *host_name;		/* may be NULL */
	int running;
	const char *owner;
	struct m_offer *offer;		/* the Plan named plan_name */
	struct m_image *image;
	struct m_host *host;
};

/*
 * The Fleet manifest: settings of the whole fleet, the platform's (never
 * under providers/); the manifests have at most one.
 */
struct m_fleet {
	struct meta meta;
	struct window *windows;		/* spec.sync_windows, in order (set 0) */
	size_t nwindows;
};

struct fleet {
	char commit[41];
	struct mdocs docs;
	struct m_provider *providers;	size_t nproviders;
	struct m_host *hosts;		size_t nhosts;
	struct m_cluster *clusters;	size_t nclusters;
	struct m_pool *pools;		size_t npools;
	struct m_offer *offers;		size_t noffers;
	struct m_image *images;		size_t nimages;
	struct m_instance *instances;	size_t ninstances;
	struct m_fleet *settings;	size_t nsettings;	/* the Fleet documents */
	json_t *index[KIND__COUNT];	/* name -> position in its array */
};

/*
 * Build the model from schema-valid documents (takes ownership of docs,
 * which is left empty). Values the schema cannot check exactly (sizes,
 * durations, percentages, money) are parsed here; problems go to d with the
 * document's file and the node's mark. Returns the fleet (caller frees with
 * fleet_free(), which accepts NULL) even when d got errors.
 */
struct fleet *fleet_build(struct mdocs *docs, struct diags *d);
void fleet_free(struct fleet *f);

/* Lookups by name; NULL when absent. */
struct m_host *fleet_host(const struct fleet *f, const char *name);
struct m_cluster *fleet_cluster(const struct fleet *f, const char *name);
struct m_pool *fleet_pool(const struct fleet *f, const char *name);
struct m_offer *fleet_offer(const struct fleet *f, const char *name);
struct m_image *fleet_image(const struct fleet *f, const char *name);
struct m_provider *fleet_provider(const struct fleet *f, const char *name);
struct m_instance *fleet_instance(const struct fleet *f, const char *name);

/* The Fleet (the first, when there are more), or NULL when there is none. */
const struct m_fleet *fleet_settings(const struct fleet *f);

/* "cpu", "memory", "disk": a resource as manifests and JSON name it. */
const char *resource_name(enum resource r);
/*
 * The provider rule: may offer o be sold on host h? The platform's plans
 * on any host, a provider's only on that provider's hosts.
 */
int offer_provider_allows(const struct m_offer *o, const struct m_host *h);
/*
 * The provider of host name in f (a callback's shape: arg is the fleet):
 * its metadata.provider, "platform" for the platform's own hosts and for a
 * name f has no Host of.
 */
const char *fleet_host_provider(void *f, const char *name);

/* Report at the node at path of doc (see path.h), through mdoc_mark(). */
void diag_at(struct diags *d, enum diag_severity sev, const struct mdoc *doc,
	     const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
