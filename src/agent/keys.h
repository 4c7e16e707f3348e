/*
 * keys.h - the agent's Ed25519 key (OpenSSL) and report signatures.
 *
 * Private key: a PKCS#8 PEM file, mode 0600, refused when group or others
 * may read or write it. Public key, as Host manifests hold it:
 * "ed25519:" followed by the 32 raw bytes in base64 (44 characters).
 */
#ifndef BERTH_AGENT_KEYS_H
#define BERTH_AGENT_KEYS_H

#include <stddef.h>

#include "util/err.h"

#define AGENT_PUBKEY_MAX 64	/* "ed25519:" + 44 + NUL fits */

struct evp_pkey_st;

/*
 * Make a new key and write it to path (created 0600; refused when path
 * exists). pub gets its public key text. -1 with err.
 */
int agent_keygen(const char *path, char pub[AGENT_PUBKEY_MAX],
		 struct berr *err);

/*
 * Load the private key at path (checked as above). pub (may be NULL) gets
 * its public key text. Caller frees with agent_key_free() (accepts NULL).
 * NULL with err.
 */
struct evp_pkey_st *agent_key_load(const char *path,
				   char pub[AGENT_PUBKEY_MAX],
				   struct berr *err);
void agent_key_free(struct evp_pkey_st *k);

/*
 * A public key from its text ("ed25519:<base64>"), ready for
 * agent_verify(). NULL with err saying what was wrong.
 */
struct evp_pkey_st *agent_pubkey_parse(const char *text, struct berr *err);

/* Sign msg: 0 with sig filled, -1 on failure. */
int agent_sign(struct evp_pkey_st *key, const void *msg, size_t len,
	       unsigned char sig[64]);
/* 1 when sig is key's signature of msg, else 0. Thread-safe. */
int agent_verify(struct evp_pkey_st *pub, const void *msg, size_t len,
		 const unsigned char sig[64]);

/* base64 (standard alphabet, padded) of n bytes; out needs 4*((n+2)/3)+1. */
void b64_encode(const unsigned char *in, size_t n, char *out);
/* Decode exactly: -1 unless s is padded base64 of exactly n bytes. */
int b64_decode_exact(const char *s, unsigned char *out, size_t n);

#endif
