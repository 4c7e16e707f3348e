/*
 * observe.h - what the Incus servers of a fleet hold, read in a fixed number
 * of requests per server.
 *
 * An observation is a jansson value, so that the planner (src/plan/) can be
 * tested on observations recorded from real daemons (tests/data/observed/).
 * Its format (format_version "1.0"):
 *
 *   {
 *     "format_version": "1.0",
 *     "servers": {
 *       "<host or cluster name>": {
 *         "kind": "host" | "cluster",
 *         "endpoint": "https://...",
 *         "error": null | "message",     (set: nothing else is reliable)
 *         "server": {...},               GET /1.0 metadata (api_extensions,
 *                                        environment, auth, config)
 *         "storage_pools": [...],        GET /1.0/storage-pools?recursion=1
 *         "storage_pool_members": {      clusters only: per member, each pool
 *           "<member>": [...]            GET /1.0/storage-pools/<pool>?target=<member>
 *         },                             (Incus 6.0 ignores ?target= on the
 *                                        list: member keys such as source and
 *                                        size are only in the pool's own GET)
 *         "projects": [...],             GET /1.0/projects?recursion=1
 *         "profiles": [...],             GET /1.0/profiles?recursion=1&all-projects=true
 *                                        (each with "project")
 *         "images": [...],               GET /1.0/images?recursion=1&all-projects=true
 *         "instances": [...],            GET /1.0/instances?recursion=1&all-projects=true
 *         "members": [...],              clusters: GET /1.0/cluster/members?recursion=1
 *         "groups": [...],               clusters with clustering_groups:
 *                                        GET /1.0/cluster/groups?recursion=1
 *         "resources": {                 GET /1.0/resources (?target=<member> on clusters)
 *           "<member or host name>": {...}
 *         },
 *         "stats": {"requests": N, "bytes": N, "ms": N}
 *       }
 *     }
 *   }
 *
 * Requests per server, as verified against Incus 6.0.4 (all in one
 * keep-alive connection; retries of transient failures count too):
 *   standalone host: 7 (/1.0, storage-pools, projects, profiles, images,
 *     instances, resources);
 *   cluster of M members with P storage pools: 7 (/1.0, storage-pools,
 *     projects, profiles, images, instances, cluster/members), + 1 with
 *     clustering_groups (cluster/groups), + M * (1 + P) (per member:
 *     resources?target= and each pool's GET ?target=); 12 for the lab's
 *     2-member cluster with one pool.
 * Independent of the number of profiles, images, projects and instances.
 * Where a server lacks the extension for an all-projects listing
 * (profiles_all_projects, images_all_projects, instance_all_projects), that
 * list is read per project instead: one request per project (for profiles
 * and images only projects with features.profiles / features.images, and
 * default), each object given its "project".
 *
 * Keys of a server entry when "error" is set: kind, endpoint, error, stats.
 * "endpoint" is the endpoint that answered (a cluster member's when the
 * cluster's own endpoint was unreachable). Lists the server returns as null
 * are recorded as [].
 */
#ifndef BERTH_INCUS_OBSERVE_H
#define BERTH_INCUS_OBSERVE_H

#include <jansson.h>

#include "incus/client.h"
#include "manifest/model.h"
#include "util/err.h"

struct observe_opts {
	const struct incus_identity *identity;	/* needed for https endpoints */
	const struct incus_opts *incus;	/* timeouts, retries; NULL: defaults */
	unsigned parallel;		/* servers observed at once (default 16) */
	const char *const *only;	/* NULL, or the server names to observe
					   (a member's name selects its cluster) */
	size_t nonly;
};

/*
 * Observe every server of the fleet: each standalone host, and each cluster
 * once (through its endpoint, falling back to its members' endpoints).
 * Hosts under review (pending/rejected) are observed too, so the plan can
 * say what would happen. Returns the observation (caller json_decref()s);
 * a server that cannot be observed has "error" set, the others are still
 * observed. NULL only when nothing could be started (err set).
 */
json_t *observe_fleet(const struct fleet *f, const struct observe_opts *o,
		      struct berr *err);

#endif
