/*
 * check.h - rules that span documents, run after every document passed its
 * schema and the model was built. Each rule, under the function of check.c
 * that enforces it, in the order fleet_check() runs them:
 *
 * unique_names()
 * - names are unique per kind (the second one is an error naming the
 *   first), but for the Fleet's (fleet_once()).
 * providers_exist()
 * - metadata.provider names a Provider, or is "platform".
 * provider_files()
 * - files under providers/<p>/ declare only Host, Plan and Instance objects,
 *   owned by <p>.
 * fleet_once()
 * - at most one Fleet (a second is an error naming the first); the Fleet
 *   is the platform's and names no provider.
 * hosts_and_clusters()
 * - os: debian-11 is a warning (compatibility only); an OS berth does not
 *   know is a warning;
 * - Host.cluster of a platform host names a Cluster; cluster members
 *   declare no storage pools or projects of their own (the Cluster does);
 * - a cluster that no Host is a member of is a warning; the members of a
 *   cluster storage pool are members of that cluster.
 * approvals()
 * - the platform's approvals (Provider spec.approvals) name hosts of that
 *   provider; one naming no Host is a warning;
 * - an approval holds for its host while the host pins the approved
 *   fingerprint, and sets the host's review (and approval); one of another
 *   fingerprint is a warning, and the host stays pending, as does every
 *   provider's host without an approval.
 * provider_hosts()
 * - a provider's host sets no spec.review (the platform reviews it), has
 *   an https endpoint (a unix socket is a server on the control host), is
 *   in no cluster, and adopts existing storage pools or projects only when
 *   its approval says adopt: true.
 * servers()
 * - no two Hosts or Clusters have the same endpoint (https hosts compared
 *   case-insensitively, port 443 when none) or the same fingerprint; the
 *   error, on the later one, names the first. A cluster's members share
 *   its fingerprint, and one of them may have its endpoint.
 * pools()
 * - Pool.hosts.names name Hosts; a provider's Pool names only that
 *   provider's or the platform's hosts;
 * - a pool that selects no host is a warning; its storage pool is declared
 *   on every host it selects (or on that host's cluster).
 * images()
 * - Image.pools name Pools.
 * offers()
 * - Plan.pool names a Pool; a Plan (the offer) fits on at least one host of
 *   its pool (declared capacity times overcommit, less the reserve);
 * - a provider's Plan draws only on pools that contain that provider's hosts;
 * - Plan.images name Images, cached on the Plan's pool and of its type.
 * instances()
 * - Instance.plan names a Plan of the instance's provider or of the
 *   platform;
 * - Instance.image names an Image, one its Plan offers when the Plan lists
 *   images;
 * - Instance.host names a Host of the instance's provider or of the
 *   platform (a platform instance may use any host), in its Plan's pool.
 *
 * A reference that resolves is set in the model (the pointers of model.h:
 * host->cluster, cluster->members, host->approval, pool->hosts,
 * image->pools, offer->pool, offer->images, instance->offer, ->image,
 * ->host); one that does not stays NULL. A provider's host's review is set
 * from its approval.
 */
#ifndef BERTH_MANIFEST_CHECK_H
#define BERTH_MANIFEST_CHECK_H

#include "manifest/model.h"
#include "util/diag.h"

/* Run every rule above on f, adding each problem to d; fills f's references. */
void fleet_check(struct fleet *f, struct diags *d);

#endif
