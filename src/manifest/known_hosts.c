/*
 * known_hosts.c - host keys against known_hosts files (see known_hosts.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "manifest/known_hosts.h"
#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_FIELD 16384		/* a key's base64, a line's hosts */

/* The name a line lists the host under: "host", or "[host]:port". */
static char *
host_name(const char *host, int port)
{
	return port && port != 22 ? xasprintf("[%s]:%d", host, port) : xstrdup(host);
}

/* Does the hashed entry |1|SALT|HASH name name? */
static int
hashed_match(const char *field, const char *name)
{
	const char *salt = field + 3, *bar = strchr(salt, '|');
	unsigned char s[64], h[64], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int sl, hl;

	if (!bar)
		return 0;
	sl = base64_decode(salt, (size_t)(bar - salt), s, sizeof(s));
	hl = base64_decode(bar + 1, strlen(bar + 1), h, sizeof(h));
	if (sl <= 0 || hl != 20)
		return 0;
	if (!HMAC(EVP_sha1(), s, sl, (const unsigned char *)name, strlen(name), md, &mdlen) ||
	    mdlen != 20)
		return 0;
	return CRYPTO_memcmp(md, h, 20) == 0;
}

/*
 * Iterative, back to the last `*` only: linear in practice, never
 * exponential on a hostile file.
 */
int
ssh_pattern_match(const char *p, const char *s, int nocase)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && (*p == '?' || *p == *s ||
				  (nocase && tolower((unsigned char)*p) ==
						     tolower((unsigned char)*s)))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

/* Do the patterns of hosts name name (a negated match excludes it)? */
static int
hosts_match(char *hosts, const char *name)
{
	char *save = NULL, *p;
	int yes = 0;

	if (!strncmp(hosts, "|1|", 3))
		return hashed_match(hosts, name);
	for (p = strtok_r(hosts, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		int neg = *p == '!';

		if (!ssh_pattern_match(p + neg, name, 1))
			continue;
		if (neg)
			return 0;
		yes = 1;
	}
	return yes;
}

enum kh_result
known_hosts_check(const char *data, size_t len, const char *host, int port,
		  const char *keytype, const unsigned char *blob, size_t bloblen)
{
	char *name = host_name(host, port), *text = xmalloc(len + 1), *line, *save = NULL;
	unsigned char *key = xmalloc(MAX_FIELD);
	int matched = 0, changed = 0, revoked = 0;

	memcpy(text, data, len);
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { NULL }, *fs = NULL, *w;
		int nf = 0, is_revoked = 0, k;

		for (w = strtok_r(line, " \t\r", &fs); w && nf < 4; w = strtok_r(NULL, " \t\r", &fs))
			f[nf++] = w;
		if (nf < 3 || f[0][0] == '#')
			continue;
		if (f[0][0] == '@') {
			if (strcmp(f[0], "@revoked") || nf < 4)
				continue;	/* @cert-authority, or a marker ssh does not know */
			is_revoked = 1;
			memmove(f, f + 1, 3 * sizeof(*f));
		}
		if (strlen(f[0]) >= MAX_FIELD || strlen(f[2]) >= MAX_FIELD)
			continue;
		k = base64_decode(f[2], strlen(f[2]), key, MAX_FIELD);
		if (k <= 0)
			continue;
		if (is_revoked) {
			if ((size_t)k == bloblen && !memcmp(key, blob, bloblen))
				revoked = 1;
			continue;
		}
		if (!hosts_match(f[0], name) || strcmp(f[1], keytype))
			continue;
		if ((size_t)k == bloblen && !memcmp(key, blob, bloblen))
			matched = 1;
		else
			changed = 1;
	}
	free(key);
	free(text);
	free(name);
	return revoked ? KH_REVOKED : matched ? KH_MATCH : changed ? KH_CHANGED : KH_UNKNOWN;
}

void
ssh_key_fingerprint(const unsigned char *blob, size_t len, char out[64])
{
	unsigned char md[32], b64[48];
	int n;

	EVP_Digest(blob, len, md, NULL, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, 64, "SHA256:%.*s", n, (const char *)b64);
}

char *
known_hosts_line(const char *host, int port, const char *keytype, const unsigned char *blob,
		 size_t bloblen)
{
	char *name = host_name(host, port), *b64 = xmalloc(4 * ((bloblen + 2) / 3) + 1), *line;

	EVP_EncodeBlock((unsigned char *)b64, blob, (int)bloblen);
	line = xasprintf("%s %s %s", name, keytype, b64);
	free(b64);
	free(name);
	return line;
}
