/*
 * nonces.h - the nonces of recently accepted reports: an open-addressing
 * hash set of 16-byte nonces with the time each was seen. 24 bytes per
 * nonce; expired ones are dropped by nonce_set_expire(). One thread.
 */
#ifndef BERTH_SERVE_NONCES_H
#define BERTH_SERVE_NONCES_H

#include <stddef.h>
#include <stdint.h>

struct nonce_set;

struct nonce_set *nonce_set_new(void);
void nonce_set_free(struct nonce_set *s);	/* accepts NULL */

/* nonce: 32 lowercase hex digits (report.h); anything else is ignored. */
void nonce_set_add(struct nonce_set *s, const char *nonce, int64_t seen_ms);
/* 1 when nonce was added and seen at or after since_ms. */
int nonce_set_has(const struct nonce_set *s, const char *nonce, int64_t since_ms);
/* Drop nonces seen before before_ms. */
void nonce_set_expire(struct nonce_set *s, int64_t before_ms);
size_t nonce_set_count(const struct nonce_set *s);

#endif
