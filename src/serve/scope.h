/*
 * scope.h - what one provider may see of the fleet's status: its own
 * hosts and nothing of another provider's. Pure: a status (sched/status.h)
 * in, a smaller one (or its JSON) out. `berth serve` answers a provider
 * token with it, `berth status --provider P` prints it.
 *
 * Provider P (metadata.provider; the platform's own objects are provider
 * "platform") sees:
 *   hosts      those of P, with their health, review, state, reports and
 *              allocations, and the instances on them; an instance whose
 *              Plan is not one P sees (another provider's, or none of the
 *              manifests: its host's Incus says so, no sale of berth's
 *              does) shows no plan (null);
 *   pools      those that hold a host of P or sell a Plan of P; their
 *              members are P's hosts only, and "hosts", "schedulable" and
 *              "total" count those members only (a cluster's shared disk
 *              once among them), so nothing of another provider's
 *              capacity shows through a pool's total;
 *   plans      the platform's and P's (per pool, in scope_status_json()).
 * No provider (NULL, an admin) sees everything, as it is.
 */
#ifndef BERTH_SERVE_SCOPE_H
#define BERTH_SERVE_SCOPE_H

#include <jansson.h>

#include "manifest/model.h"
#include "sched/status.h"

/* May provider (NULL: an admin) see host h, offer o? 1 or 0. */
int scope_sees_host(const struct m_host *h, const char *provider);
int scope_sees_offer(const struct m_offer *o, const char *provider);
/* May provider see the Plan named name of f (an unknown name: no)? */
int scope_sees_plan(const struct fleet *f, const char *name, const char *provider);
/* May provider see the host named name of f (an unknown name: no)? */
int scope_sees_host_name(const struct fleet *f, const char *name, const char *provider);

/*
 * What provider sees of s (NULL: all of it): a status of its own that
 * borrows what s borrows (the fleet, the reports) and the instances' and
 * hosts' values of s, but not s itself, which may be freed first. Caller
 * frees with scope_status_free(), which accepts NULL (a view owns its
 * arrays as a status does: status_free() does the work).
 */
struct status *scope_status(const struct status *s, const char *provider);
void scope_status_free(struct status *v);

/*
 * The JSON of what provider sees of s: status_to_json() of
 * scope_status(), with "provider" (provider, or null) after "time", and in
 * each pool the plans provider sees that sell on it:
 *   "plans": [{"name", "provider", "type", "cpu", "memory", "disk",
 *              "traffic" (bytes a billing month, 0: not metered),
 *              "price": {"amount": "4.50", "currency", "cycle"},
 *              "availability": "on-sale" | "hidden" | "retired"}]
 * Caller json_decref()s.
 */
json_t *scope_status_json(const struct status *s, const char *provider);

#endif
