/*
 * nonces.c - a hash set of recent nonces (nonces.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "serve/nonces.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct slot {
	unsigned char nonce[16];
	int64_t seen_ms;	/* 0: empty */
};

struct nonce_set {
	uint64_t seed[2];	/* random: an agent cannot pick colliding nonces */
	struct slot *slots;
	size_t cap;		/* a power of two */
	size_t n;
};

static int
unhex(const char *s, unsigned char out[16])
{
	for (int i = 0; i < 32; i++) {
		int c = s[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1;
		if (i % 2)
			out[i / 2] = (unsigned char)(out[i / 2] | v);
		else
			out[i / 2] = (unsigned char)(v << 4);
	}
	return s[32] == '\0' ? 0 : -1;
}

/*
 * Nonces come from agents, who could choose them: mix all 16 bytes with a
 * secret seed so that they cannot aim at one chain of slots.
 */
static size_t
slot_of(const struct nonce_set *s, const unsigned char n[16])
{
	uint64_t a, b, h;

	memcpy(&a, n, sizeof(a));
	memcpy(&b, n + 8, sizeof(b));
	h = (a ^ s->seed[0]) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 31) ^ b ^ s->seed[1]) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return (size_t)(h & (s->cap - 1));
}

struct nonce_set *
nonce_set_new(void)
{
	struct nonce_set *s = xcalloc(1, sizeof(*s));

	if (RAND_bytes((unsigned char *)s->seed, sizeof(s->seed)) != 1) {
		s->seed[0] = (uint64_t)(uintptr_t)s ^ 0x2545f4914f6cdd1dULL;
		s->seed[1] = (uint64_t)time(NULL);
	}
	s->cap = 1024;
	s->slots = xcalloc(s->cap, sizeof(*s->slots));
	return s;
}

void
nonce_set_free(struct nonce_set *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s);
}

static void
insert(struct nonce_set *s, const unsigned char n[16], int64_t seen_ms)
{
	size_t i = slot_of(s, n);

	while (s->slots[i].seen_ms && memcmp(s->slots[i].nonce, n, 16))
		i = (i + 1) & (s->cap - 1);
	if (!s->slots[i].seen_ms)
		s->n++;
	memcpy(s->slots[i].nonce, n, 16);
	if (seen_ms > s->slots[i].seen_ms)
		s->slots[i].seen_ms = seen_ms;
}

/* Rebuild into cap slots, keeping those seen at or after since_ms. */
static void
rebuild(struct nonce_set *s, size_t cap, int64_t since_ms)
{
	struct slot *old = s->slots;
	size_t oldcap = s->cap;

	s->slots = xcalloc(cap, sizeof(*s->slots));
	s->cap = cap;
	s->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].seen_ms && old[i].seen_ms >= since_ms)
			insert(s, old[i].nonce, old[i].seen_ms);
	free(old);
}

void
nonce_set_add(struct nonce_set *s, const char *nonce, int64_t seen_ms)
{
	unsigned char n[16];

	if (unhex(nonce, n) < 0)
		return;
	if (seen_ms <= 0)
		seen_ms = 1;
	if ((s->n + 1) * 2 > s->cap)
		rebuild(s, s->cap * 2, INT64_MIN);
	insert(s, n, seen_ms);
}

int
nonce_set_has(const struct nonce_set *s, const char *nonce, int64_t since_ms)
{
	unsigned char n[16];
	size_t i;

	if (unhex(nonce, n) < 0)
		return 0;
	for (i = slot_of(s, n); s->slots[i].seen_ms; i = (i + 1) & (s->cap - 1))
		if (!memcmp(s->slots[i].nonce, n, 16))
			return s->slots[i].seen_ms >= since_ms;
	return 0;
}

void
nonce_set_expire(struct nonce_set *s, int64_t before_ms)
{
	size_t cap = s->cap;

	/* Shrink when mostly empty, never below the start size. */
	while (cap > 1024 && s->n * 8 < cap)
		cap /= 2;
	rebuild(s, cap, before_ms);
}

size_t
nonce_set_count(const struct nonce_set *s)
{
	return s->n;
}
