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
 *         "storage_pool_members": {      clusters only: per member,
 *           "<member>": [...]            GET /1.0/storage-pools?recursion=1&target=<member>
 *         },
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
 * Where a server lacks the extension for all-projects listings, the lists
 * are read per project instead (one request per project: still independent
 * of the number of profiles, images and instances).
 */
#ifndef BERTH_INCUS_OBSERVE_H
#define BERTH_INCUS_OBSERVE_H

#include <jansson.h>

#include "incus/client.h"
#include "manifest/model.h"
#include "util/err.h"

struct observe_opts {
	const struct incus_identity *identity;
	unsigned parallel;		/* servers observed at once (default 16) */
	const char *const *only;	/* NULL, or the server names to observe */
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
