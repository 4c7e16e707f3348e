/*
 * install.h - the script that makes a new machine a host of the fleet
 * (berth host install-command): Incus, its trust of berth, the agent's
 * key, configuration and unit.
 *
 * The script is install.sh, built into berth, after a header that sets the
 * host's values and the steps of incus_trust_steps(). Every value that goes
 * into it is checked here against a character set that needs no quoting in
 * sh nor in a systemd environment file, so nothing in the manifests or on
 * the command line can change what the script does.
 */
#ifndef BERTH_AGENT_INSTALL_H
#define BERTH_AGENT_INSTALL_H

#include "incus/client.h"
#include "util/err.h"

struct agent_install {
	const char *host;		/* the Host's name: BERTH_HOST */
	const char *server;		/* the intake's URL: BERTH_SERVER */
	const char *package_url;	/* the berth .deb to install, or NULL: berth
					   must be installed already */
	const char *package_sha256;	/* that file's SHA-256 (with package_url) */
	const char *incus_listen;	/* core.https_address to set when Incus has
					   none, or NULL to leave it alone */
	const char *manifest_key;	/* spec.agent.key, or NULL */
	const char *manifest_fingerprint; /* spec.fingerprint, or NULL */
	int is_cluster;			/* a cluster member: the cluster certificate */
};

/*
 * The default core.https_address for a host reached at endpoint: ":PORT"
 * for https://HOST:PORT (8443 when the URL has no port), NULL for a unix
 * socket or anything else. Caller frees.
 */
char *agent_install_listen(const char *endpoint);

/*
 * The POSIX sh script that, run as root on the host, installs what
 * in describes (see README, berth host install-command) and trusts id's
 * certificate. NULL with err naming the value that cannot go into a
 * script. Caller frees.
 */
char *agent_install_script(const struct incus_identity *id, const struct agent_install *in,
			   struct berr *err);

#endif
