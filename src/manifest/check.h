/*
 * check.h - rules that span documents, run after every document passed its
 * schema and the model was built.
 *
 * - names are unique per kind (the second one is an error naming the first);
 * - references resolve: Plan.pool, Plan.images, Image.pools, Instance.plan,
 *   Instance.image, Instance.host, Host.cluster, Pool.hosts.names, and
 *   metadata.provider names a Provider; pointers in the model are set;
 * - a pool that selects no host is a warning; its storage pool must be
 *   declared on every host it selects (or on that host's cluster);
 * - cluster members declare no storage
 *   pools or projects of their own (the Cluster does); cluster pool members
 *   are members of that cluster;
 * - a plan fits on at least one host of its pool (declared capacity times
 *   overcommit, less the reserve); its images are cached on its pool and of
 *   its type;
 * - os: debian-11 is a warning (compatibility only), an OS berth does not
 *   know is a warning;
 * - files under providers/<p>/ declare only Host, Plan and Instance objects
 *   owned by <p>; no provider references another provider's hosts or plans;
 *   a provider's plan draws only on pools that contain that provider's hosts.
 */
#ifndef BERTH_MANIFEST_CHECK_H
#define BERTH_MANIFEST_CHECK_H

#include "manifest/model.h"
#include "util/diag.h"

void fleet_check(struct fleet *f, struct diags *d);

#endif
