/*
 * known_hosts.h - an SSH server's host key against OpenSSH known_hosts
 * files, the way `ssh` checks it, for the git remotes berth fetches.
 *
 * A line is "[@revoked] HOSTS KEYTYPE BASE64 [COMMENT]". HOSTS is a comma
 * list of patterns (`*` and `?` wildcards, `!` negates, `[host]:port` for
 * a port other than 22) or one hashed entry `|1|SALT|HASH` (HASH the
 * HMAC-SHA1 of the name under SALT, both base64). Blank lines, comments
 * and lines that do not parse are skipped, as ssh skips them;
 * `@cert-authority` lines are not taken (berth checks keys, not
 * certificates).
 */
#ifndef BERTH_MANIFEST_KNOWN_HOSTS_H
#define BERTH_MANIFEST_KNOWN_HOSTS_H

#include <stddef.h>

enum kh_result {
	KH_MATCH,	/* a line names the host with this key */
	KH_UNKNOWN,	/* no line names the host with a key of this type */
	KH_CHANGED,	/* lines name the host with another key of this type */
	KH_REVOKED,	/* an @revoked line has this key */
};

/*
 * Check host (port 22 is written "host", another "[host]:port") whose
 * server showed the key blob (the SSH wire form, as a known_hosts line
 * holds it in base64) of type keytype ("ssh-ed25519", ...) against the
 * known_hosts text data.
 */
enum kh_result known_hosts_check(const char *data, size_t len, const char *host, int port,
				 const char *keytype, const unsigned char *blob,
				 size_t bloblen);

/*
 * ssh's wildcards: `*` any run, `?` one character, nothing else special;
 * with nocase, letters match either case. 1 when pattern p matches s.
 */
int ssh_pattern_match(const char *p, const char *s, int nocase);

/* "SHA256:" and the unpadded base64 of the SHA-256 of blob, as ssh prints it. */
void ssh_key_fingerprint(const unsigned char *blob, size_t len, char out[64]);

/* The known_hosts line for host, port and key: what to add. Caller frees. */
char *known_hosts_line(const char *host, int port, const char *keytype,
		       const unsigned char *blob, size_t bloblen);

#endif
