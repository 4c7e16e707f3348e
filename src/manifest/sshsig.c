/*
 * sshsig.c - OpenSSH signatures (see sshsig.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "manifest/sshsig.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define BEGIN "-----BEGIN SSH SIGNATURE-----"
#define END "-----END SSH SIGNATURE-----"
#define MAGIC "SSHSIG"

/* A reader of SSH wire data: what is left of it. */
struct rd {
	const unsigned char *p;
	size_t n;
};

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
	     r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

/* A string: its bytes stay in the reader's buffer. */
static int
rd_string(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t n;

	if (rd_u32(r, &n) < 0 || n > r->n)
		return -1;
	*s = r->p;
	*len = n;
	r->p += n;
	r->n -= n;
	return 0;
}

/* A string that is a name: no NUL, fits in out (size bytes), copied. */
static int
rd_name(struct rd *r, char *out, size_t size)
{
	const unsigned char *s;
	size_t n;

	if (rd_string(r, &s, &n) < 0 || n >= size || memchr(s, '\0', n))
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* A non-negative mpint as a BIGNUM; NULL when it is not one. */
static BIGNUM *
rd_mpint(struct rd *r)
{
	const unsigned char *s;
	size_t n;

	if (rd_string(r, &s, &n) < 0 || n > SSHSIG_MAX_FIELD || (n && (s[0] & 0x80)))
		return NULL;
	return BN_bin2bn(s, (int)n, NULL);
}

/* Printable for a message: up to 40 characters, anything odd as '?'. */
static void
printable(const unsigned char *s, size_t n, char out[48])
{
	size_t i;

	for (i = 0; i < n && i < 40; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? (char)s[i] : '?';
	if (n > 40) {
		memcpy(out + 40, "...", 3);
		i = 43;
	}
	out[i] = '\0';
}

/* Find line within text: the offset just past it, or -1. */
static long
find_line(const char *text, size_t len, const char *line, size_t from, size_t *start)
{
	size_t l = strlen(line), i;

	for (i = from; i + l <= len; i++) {
		if ((i == 0 || text[i - 1] == '\n') && !memcmp(text + i, line, l) &&
		    (i + l == len || text[i + l] == '\n' || text[i + l] == '\r')) {
			*start = i;
			return (long)(i + l);
		}
	}
	return -1;
}

/* The base64 between the armor lines, whitespace dropped, decoded. */
static int
dearmor(const char *text, size_t len, unsigned char **out, size_t *outlen, struct berr *err)
{
	size_t b, e, i, n = 0;
	long body;
	char *b64;
	int got;

	if (len > SSHSIG_MAX_TEXT)
		return berr_set(err, "SSH signature is %zu bytes, over the limit of %d", len,
				SSHSIG_MAX_TEXT);
	if ((body = find_line(text, len, BEGIN, 0, &b)) < 0)
		return berr_set(err, "want a line \"" BEGIN "\", have none");
	if (find_line(text, len, END, (size_t)body, &e) < 0)
		return berr_set(err, "want a line \"" END "\", have none");
	b64 = xmalloc(e - (size_t)body + 1);
	for (i = (size_t)body; i < e; i++)
		if (!strchr(" \t\r\n", text[i]))
			b64[n++] = text[i];
	*out = xmalloc(n / 4 * 3 + 3);
	got = n ? base64_decode(b64, n, *out, n / 4 * 3 + 3) : -1;
	free(b64);
	if (got <= 0) {
		free(*out);
		*out = NULL;
		return berr_set(err, "want base64 between the armor lines, have %s",
				n ? "something else" : "nothing");
	}
	*outlen = (size_t)got;
	return 0;
}

int
sshsig_parse(const char *text, size_t len, struct sshsig *s, struct berr *err)
{
	unsigned char *blob = NULL;
	const unsigned char *f;
	char seen[48];
	size_t bloblen = 0, n = 0;
	struct rd r, k;
	uint32_t version;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	if (dearmor(text, len, &blob, &bloblen, err) < 0)
		goto out;
	r.p = blob;
	r.n = bloblen;
	if (r.n < 6 || memcmp(r.p, MAGIC, 6)) {
		printable(r.p, r.n < 6 ? r.n : 6, seen);
		berr_set(err, "want magic \"SSHSIG\", have \"%s\"", seen);
		goto out;
	}
	r.p += 6;
	r.n -= 6;
	if (rd_u32(&r, &version) < 0) {
		berr_set(err, "want a version, have the end of the signature");
		goto out;
	}
	if (version != 1) {
		berr_set(err, "want version 1, have %lu", (unsigned long)version);
		goto out;
	}
	if (rd_string(&r, &f, &n) < 0) {
		berr_set(err, "public key: want a string, have a truncated one");
		goto out;
	}
	if (n > SSHSIG_MAX_FIELD) {
		berr_set(err, "public key: want at most %d bytes, have %zu", SSHSIG_MAX_FIELD, n);
		goto out;
	}
	k.p = f;
	k.n = n;
	if (rd_name(&k, s->keytype, sizeof(s->keytype)) < 0 || !*s->keytype) {
		berr_set(err, "public key: want a key type, have none");
		goto out;
	}
	s->key = xmalloc(n ? n : 1);
	memcpy(s->key, f, n);
	s->keylen = n;
	if (rd_name(&r, s->ns, sizeof(s->ns)) < 0) {
		berr_set(err, "namespace: want a name of at most %zu bytes, have something else",
			 sizeof(s->ns) - 1);
		goto out;
	}
	if (rd_string(&r, &f, &n) < 0) {
		berr_set(err, "reserved: want a string, have a truncated one");
		goto out;
	}
	if (rd_name(&r, s->hashalg, sizeof(s->hashalg)) < 0 ||
	    (strcmp(s->hashalg, "sha256") && strcmp(s->hashalg, "sha512"))) {
		berr_set(err, "hash algorithm: want \"sha256\" or \"sha512\", have %s%s%s",
			 *s->hashalg ? "\"" : "something else", s->hashalg,
			 *s->hashalg ? "\"" : "");
		goto out;
	}
	if (rd_string(&r, &f, &n) < 0) {
		berr_set(err, "signature: want a string, have a truncated one");
		goto out;
	}
	if (n > SSHSIG_MAX_FIELD) {
		berr_set(err, "signature: want at most %d bytes, have %zu", SSHSIG_MAX_FIELD, n);
		goto out;
	}
	s->sig = xmalloc(n ? n : 1);
	memcpy(s->sig, f, n);
	s->siglen = n;
	if (r.n) {
		berr_set(err, "want the end of the signature, have %zu more bytes", r.n);
		goto out;
	}
	ret = 0;
out:
	free(blob);
	if (ret < 0)
		sshsig_release(s);
	return ret;
}

void
sshsig_release(struct sshsig *s)
{
	if (!s)
		return;
	free(s->key);
	free(s->sig);
	memset(s, 0, sizeof(*s));
}

static const struct {
	const char *keytype;
	const char *curve;	/* ECDSA: the SSH curve name */
	const char *group;	/* ECDSA: OpenSSL's */
} supported[] = {
	{ "ssh-ed25519", NULL, NULL },
	{ "ssh-rsa", NULL, NULL },
	{ "ecdsa-sha2-nistp256", "nistp256", "prime256v1" },
	{ "ecdsa-sha2-nistp384", "nistp384", "secp384r1" },
	{ "ecdsa-sha2-nistp521", "nistp521", "secp521r1" },
};

int
sshsig_key_supported(const char *keytype)
{
	size_t i;

	for (i = 0; i < sizeof(supported) / sizeof(*supported); i++)
		if (!strcmp(keytype, supported[i].keytype))
			return 1;
	return 0;
}

/* The data the signature is made over, for msg. */
static void
signed_data(const struct sshsig *s, const void *msg, size_t len, struct buf *b)
{
	unsigned char md[EVP_MAX_MD_SIZE], u[4];
	unsigned int mdlen = 0;
	const char *f[3] = { s->ns, "", NULL };
	size_t i;

	EVP_Digest(msg, len, md, &mdlen,
		   !strcmp(s->hashalg, "sha512") ? EVP_sha512() : EVP_sha256(), NULL);
	buf_add(b, MAGIC, 6);
	f[2] = s->hashalg;
	for (i = 0; i < 4; i++) {
		const void *p = i < 3 ? (const void *)f[i] : md;
		size_t n = i < 3 ? strlen(f[i]) : mdlen;

		u[0] = (unsigned char)(n >> 24);
		u[1] = (unsigned char)(n >> 16);
		u[2] = (unsigned char)(n >> 8);
		u[3] = (unsigned char)n;
		buf_add(b, u, 4);
		buf_add(b, p, n);
	}
}

/* An EVP_PKEY from OpenSSL parameters of algorithm name. */
static EVP_PKEY *
pkey_fromdata(const char *name, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *
rsa_key(struct rd *k, struct berr *err)
{
	BIGNUM *e = rd_mpint(k), *n = rd_mpint(k);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;

	if (!e || !n || k->n) {
		berr_set(err, "malformed ssh-rsa public key");
	} else if (BN_num_bits(n) < 1024) {
		berr_set(err, "ssh-rsa key of %d bits: want 1024 bits or more", BN_num_bits(n));
	} else if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		   !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
		   !(pkey = pkey_fromdata("RSA", bld))) {
		berr_set(err, "malformed ssh-rsa public key");
	}
	OSSL_PARAM_BLD_free(bld);
	BN_free(e);
	BN_free(n);
	return pkey;
}

static EVP_PKEY *
ecdsa_key(struct rd *k, const char *curve, const char *group, struct berr *err)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	char name[16];
	const unsigned char *q;
	size_t qn;

	if (rd_name(k, name, sizeof(name)) < 0 || strcmp(name, curve) ||
	    rd_string(k, &q, &qn) < 0 || k->n || !qn || !bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qn) ||
	    !(pkey = pkey_fromdata("EC", bld)))
		berr_set(err, "malformed ecdsa-sha2-%s public key", curve);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* An ECDSA signature's SSH form (mpint r, mpint s) as DER; caller frees. */
static unsigned char *
ecdsa_der(const unsigned char *p, size_t n, int *len)
{
	struct rd r = { p, n };
	BIGNUM *br = rd_mpint(&r), *bs = rd_mpint(&r);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *der = NULL;

	*len = 0;
	if (!br || !bs || r.n || !sig || !ECDSA_SIG_set0(sig, br, bs)) {
		BN_free(br);
		BN_free(bs);
	} else if ((*len = i2d_ECDSA_SIG(sig, &der)) <= 0) {
		der = NULL;
	}
	ECDSA_SIG_free(sig);
	return der;
}

int
sshsig_verify(const struct sshsig *s, const void *msg, size_t len, struct berr *err)
{
	struct rd k = { s->key, s->keylen }, g = { s->sig, s->siglen };
	struct buf data = BUF_INIT;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	const EVP_MD *hash = NULL;
	const unsigned char *sb = NULL, *pk;
	unsigned char *der = NULL;
	char keytype[64], sigtype[64];
	size_t sn = 0, pn, i;
	int ret = -1, derlen;

	for (i = 0; i < sizeof(supported) / sizeof(*supported); i++)
		if (!strcmp(s->keytype, supported[i].keytype))
			break;
	if (i == sizeof(supported) / sizeof(*supported))
		return berr_set(err, "unsupported key type \"%s\": berth verifies ssh-ed25519, "
				"ssh-rsa and ecdsa-sha2-nistp256/384/521 keys", s->keytype);
	if (rd_name(&k, keytype, sizeof(keytype)) < 0 || strcmp(keytype, s->keytype))
		return berr_set(err, "malformed %s public key", s->keytype);
	if (rd_name(&g, sigtype, sizeof(sigtype)) < 0 || rd_string(&g, &sb, &sn) < 0 || g.n)
		return berr_set(err, "malformed signature: want a type and its bytes");
	if (!strcmp(s->keytype, "ssh-ed25519")) {
		if (strcmp(sigtype, "ssh-ed25519") || sn != 64)
			return berr_set(err, "ssh-ed25519 key: want a 64-byte ssh-ed25519 "
					"signature, have %s of %zu bytes", sigtype, sn);
		if (rd_string(&k, &pk, &pn) < 0 || pn != 32 || k.n ||
		    !(pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32)))
			return berr_set(err, "malformed ssh-ed25519 public key");
	} else if (!strcmp(s->keytype, "ssh-rsa")) {
		if (!strcmp(sigtype, "rsa-sha2-256"))
			hash = EVP_sha256();
		else if (!strcmp(sigtype, "rsa-sha2-512"))
			hash = EVP_sha512();
		else
			return berr_set(err, "ssh-rsa key: want an rsa-sha2-256 or rsa-sha2-512 "
					"signature, have \"%s\"", sigtype);
		if (!(pkey = rsa_key(&k, err)))
			return -1;
	} else {
		if (strcmp(sigtype, s->keytype)) {
			return berr_set(err, "%s key: want a %s signature, have \"%s\"",
					s->keytype, s->keytype, sigtype);
		}
		hash = !strcmp(supported[i].curve, "nistp256") ? EVP_sha256() :
		       !strcmp(supported[i].curve, "nistp384") ? EVP_sha384() : EVP_sha512();
		if (!(pkey = ecdsa_key(&k, supported[i].curve, supported[i].group, err)))
			return -1;
		if (!(der = ecdsa_der(sb, sn, &derlen))) {
			berr_set(err, "malformed %s signature", s->keytype);
			goto out;
		}
		sb = der;
		sn = (size_t)derlen;
	}
	buf_init(&data, 0);
	signed_data(s, msg, len, &data);
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(md, NULL, hash, NULL, pkey) != 1 ||
	    EVP_DigestVerify(md, sb, sn, (const unsigned char *)data.buf, data.len) != 1) {
		berr_set(err, "bad signature: the %s signature does not sign this data",
			 s->keytype);
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	OPENSSL_free(der);
	buf_release(&data);
	return ret;
}
