/*
 * keys.c - the agent's Ed25519 key and report signatures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "agent/keys.h"
#include "util/banned.h"

#define PUB_PREFIX "ed25519:"

void
b64_encode(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int
b64_decode_exact(const char *s, unsigned char *out, size_t n)
{
	size_t len = strlen(s), want = 4 * ((n + 2) / 3);
	unsigned char tmp[256];
	char again[257];
	int got;

	if (len != want || len > sizeof(tmp) || n > sizeof(tmp))
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		      (c == '=' && i >= len - 2)))
			return -1;
	}
	got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (got < 0 || (size_t)got != want / 4 * 3)
		return -1;
	/*
	 * Only the one text b64_encode() gives for these n bytes: padding
	 * where it belongs ("AA=A" is not), unused bits zero ("AB==" is not).
	 */
	b64_encode(tmp, n, again);
	if (strcmp(again, s) != 0)
		return -1;
	memcpy(out, tmp, n);
	return 0;
}

static int
pub_text(EVP_PKEY *k, char pub[AGENT_PUBKEY_MAX])
{
	unsigned char raw[32];
	size_t len = sizeof(raw);
	char b64[48];

	if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1 || len != 32)
		return -1;
	b64_encode(raw, 32, b64);
	snprintf(pub, AGENT_PUBKEY_MAX, PUB_PREFIX "%s", b64);
	return 0;
}

int
agent_keygen(const char *path, char pub[AGENT_PUBKEY_MAX], struct berr *err)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	FILE *f = NULL;
	int fd = -1, ret = -1;

	if (!pc || EVP_PKEY_keygen_init(pc) != 1 || EVP_PKEY_keygen(pc, &k) != 1) {
		berr_set(err, "cannot make an Ed25519 key");
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			berr_set(err, "refusing to overwrite \"%s\": it exists (a host's key "
				 "is replaced by removing the old one first)", path);
		else
			berr_set(err, "cannot create \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
		berr_set(err, "cannot write \"%s\": %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		berr_set(err, "cannot write \"%s\"", path);
		fclose(f);
		unlink(path);
		goto out;
	}
	if (fclose(f) != 0) {
		berr_set(err, "cannot write \"%s\": %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	if (pub_text(k, pub) < 0) {
		berr_set(err, "cannot read the public half of the new key");
		goto out;
	}
	ret = 0;
out:
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(pc);
	return ret;
}

struct evp_pkey_st *
agent_key_load(const char *path, char pub[AGENT_PUBKEY_MAX], struct berr *err)
{
	struct stat st;
	EVP_PKEY *k = NULL;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		berr_set(err, "cannot read the agent key \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		berr_set(err, "refusing the agent key \"%s\": not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & 0077) {
		berr_set(err, "refusing the agent key \"%s\": mode %04o lets others %s it; want 0600",
			 path, (unsigned)(st.st_mode & 07777),
			 st.st_mode & 0044 ? "read" : "use");
		close(fd);
		return NULL;
	}
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		berr_set(err, "cannot read the agent key \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		berr_set(err, "\"%s\": want an Ed25519 private key (PEM, from `berth agent keygen`), "
			 "have %s", path, k ? "another kind of key" : "no PEM private key");
		EVP_PKEY_free(k);
		return NULL;
	}
	if (pub && pub_text(k, pub) < 0) {
		berr_set(err, "\"%s\": cannot read its public half", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

void
agent_key_free(struct evp_pkey_st *k)
{
	EVP_PKEY_free(k);
}

struct evp_pkey_st *
agent_pubkey_parse(const char *text, struct berr *err)
{
	unsigned char raw[32];
	EVP_PKEY *k;

	if (!text || strncmp(text, PUB_PREFIX, strlen(PUB_PREFIX)) != 0 ||
	    b64_decode_exact(text + strlen(PUB_PREFIX), raw, sizeof(raw)) < 0) {
		berr_set(err, "want an agent key like \"ed25519:<44 characters of base64>\", have \"%.80s\"",
			 text ? text : "");
		return NULL;
	}
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
	if (!k)
		berr_set(err, "\"%.80s\" is not an Ed25519 public key", text);
	return k;
}

int
agent_sign(struct evp_pkey_st *key, const void *msg, size_t len, unsigned char sig[64])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t siglen = 64;
	int ok;

	ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(c, sig, &siglen, msg, len) == 1 && siglen == 64;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

int
agent_verify(struct evp_pkey_st *pub, const void *msg, size_t len, const unsigned char sig[64])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, pub) == 1 &&
	     EVP_DigestVerify(c, sig, 64, msg, len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}
