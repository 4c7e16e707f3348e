/*
 * sshsig.h - OpenSSH signatures (OpenSSH's PROTOCOL.sshsig), as
 * `git -c gpg.format=ssh commit -S` writes them into a commit's gpgsig
 * header, read and checked against the data they sign.
 *
 * The armored form is a "-----BEGIN SSH SIGNATURE-----" line, base64
 * lines and a "-----END SSH SIGNATURE-----" line. Its blob is
 *   byte[6] "SSHSIG", uint32 1, string publickey, string namespace,
 *   string reserved, string hash_algorithm, string signature
 * and the signature is made, with the key, over
 *   byte[6] "SSHSIG", string namespace, string reserved,
 *   string hash_algorithm, string H(message)
 * with H the hash algorithm, "sha256" or "sha512". A string is a uint32
 * length (big-endian) and that many bytes.
 *
 * Keys verified (OpenSSL): ssh-ed25519; ssh-rsa with rsa-sha2-256 or
 * rsa-sha2-512 signatures (not ssh-rsa's SHA-1) and a modulus of 1024 bits
 * or more; ecdsa-sha2-nistp256, -nistp384 and -nistp521. Certificates,
 * security keys (sk-*) and DSA are refused as unsupported.
 *
 * Every length is checked against what is left of the blob; the armored
 * text may be at most SSHSIG_MAX_TEXT bytes and a key or signature at
 * most SSHSIG_MAX_FIELD.
 */
#ifndef BERTH_MANIFEST_SSHSIG_H
#define BERTH_MANIFEST_SSHSIG_H

#include <stddef.h>

#include "util/err.h"

#define SSHSIG_MAX_TEXT 65536
#define SSHSIG_MAX_FIELD 16384

struct sshsig {
	unsigned char *key;	/* the public key blob, SSH wire form */
	size_t keylen;
	char keytype[64];	/* the key blob's type, "ssh-ed25519" */
	char ns[64];		/* namespace, "git" for commits */
	char hashalg[8];	/* "sha256" or "sha512" */
	unsigned char *sig;	/* signature blob: string type, string bytes */
	size_t siglen;
};

#define SSHSIG_INIT { NULL, 0, "", "", "", NULL, 0 }

/*
 * Parse the armored signature text (len bytes, not NUL-terminated). 0
 * with s filled (release it with sshsig_release()); -1 with err saying
 * what is malformed ("want ..., have ..."), s left empty.
 */
int sshsig_parse(const char *text, size_t len, struct sshsig *s, struct berr *err);

/*
 * Check that s signs the len bytes of msg. 0 when it does; -1 with err:
 * "unsupported key type ..." (keys berth does not verify), or a malformed
 * key or signature, or "bad signature" (it does not sign msg).
 */
int sshsig_verify(const struct sshsig *s, const void *msg, size_t len, struct berr *err);

/* 1 when keytype is one sshsig_verify() checks. */
int sshsig_key_supported(const char *keytype);

/* Free the contents; accepts SSHSIG_INIT and a released struct. */
void sshsig_release(struct sshsig *s);

#endif
