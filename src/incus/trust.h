/*
 * trust.h - the shell script that makes a host's Incus trust berth.
 */
#ifndef BERTH_INCUS_TRUST_H
#define BERTH_INCUS_TRUST_H

#include "incus/client.h"
#include "util/err.h"

/*
 * A POSIX sh script that, run as root on the host named host_name, makes
 * its Incus trust berth's client certificate (id) under the name "berth",
 * unless it already does (then it says so and succeeds), and prints the
 * fingerprint of the certificate the server presents, for the manifest:
 * the last line of its output is that fingerprint, 64 lowercase hex digits.
 * is_cluster: the host is a cluster member (or the name of a cluster),
 * whose servers present the cluster certificate. The script honours
 * INCUS_DIR (default /var/lib/incus) for the daemon's directory and socket,
 * and needs only the incus client and coreutils. Caller frees the result.
 */
char *incus_trust_command(const struct incus_identity *id,
			  const char *host_name, int is_cluster);

struct buf;
/*
 * The steps of that script, for a script of its own (berth host
 * install-command): append to b the POSIX sh that makes the local Incus
 * trust id's certificate (saying whether it did or did already) and sets
 * server_fp to the fingerprint for the manifest, or exits 1 when it
 * cannot read the server's certificate. It expects set -eu and uses the
 * shell variables berth_fp, berth_crt, server_crt and server_fp, and the
 * EXIT trap while it runs.
 */
void incus_trust_steps(struct buf *b, const struct incus_identity *id, int is_cluster);

/*
 * Make the server of c trust the certificate pem (PEM, the first one in
 * it) as a client certificate named name, unless it already does (GET
 * /1.0/certificates/FP answers). 1 when it was added, 0 when it was
 * trusted already, -1 with err. Needs c to be trusted itself (berth's
 * current certificate).
 */
int incus_trust_add(struct incus_conn *c, const char *pem, const char *name,
		    struct berr *err);
/*
 * Remove the certificate of fingerprint fp (64 hex digits) from the trust
 * store of c's server: 1 removed, 0 not there, -1 with err.
 */
int incus_trust_remove(struct incus_conn *c, const char *fp, struct berr *err);

#endif
