/*
 * connect.h - reaching a host or a cluster of the manifests: its endpoints
 * and the first of them that answers.
 *
 * A cluster is reached through its own endpoint, then through each of its
 * members' (in manifest order), so that a cluster whose usual address is
 * down is still observed and applied through another member. A member
 * that answers decides: only unreachable endpoints (connection refused,
 * timed out, no route) are skipped; a server that answers with an error
 * (a certificate that is not the pinned one, a refusal) is not tried
 * around.
 */
#ifndef BERTH_INCUS_CONNECT_H
#define BERTH_INCUS_CONNECT_H

#include <stddef.h>

#include <jansson.h>

#include "incus/client.h"
#include "manifest/model.h"
#include "util/err.h"

struct incus_target {
	const char *name;
	int is_cluster;
	const char *fingerprint;	/* the pin, from the manifest */
	const char **endpoints;		/* the server's, then its members';
					   strings are the fleet's */
	size_t nendpoints;
};

/*
 * The target for host or cluster name of f (is_cluster says which):
 * endpoints without duplicates or empty ones. A name not in f gives a
 * target without endpoints. Release with incus_target_release(), which is
 * safe on a zeroed or released target (t must not be NULL).
 */
void incus_target_init(struct incus_target *t, const struct fleet *f, const char *name,
		       int is_cluster);
void incus_target_release(struct incus_target *t);

/*
 * A connection to t that answered GET /1.0 (its metadata in *info when
 * info is not NULL; caller json_decref()s), trying the endpoints in turn
 * while they are unreachable; *used (may be NULL) is the index of the
 * endpoint that answered. NULL with err: the error of the last endpoint
 * tried, or for a cluster of which more than one endpoint was tried
 * 'cluster "NAME": no member answered: E1; E2', or without endpoints
 * '<host|cluster> "NAME": not in the manifests, or without an
 * endpoint'. requests and bytes (may be NULL) add up the traffic of the
 * endpoints that did not answer.
 */
struct incus_conn *incus_target_connect(const struct incus_target *t,
					const struct incus_identity *id,
					const struct incus_opts *o, json_t **info, size_t *used,
					unsigned long *requests, unsigned long long *bytes,
					struct berr *err);

#endif
