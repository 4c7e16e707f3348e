/*
 * trust.h - the shell script that makes a host's Incus trust berth.
 */
#ifndef BERTH_INCUS_TRUST_H
#define BERTH_INCUS_TRUST_H

#include "incus/client.h"

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

#endif
