/*
 * test-sshsig.c - manifest/sshsig.c against signatures made by
 * `ssh-keygen -Y sign -n git` (tests/data/sshsig/), and hostile blobs
 * built here: truncated, bad base64, wrong magic, oversized lengths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "manifest/sshsig.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define DIR TEST_DATA "/sshsig/"

static char *
slurp(const char *name, size_t *len)
{
	char *path = xasprintf(DIR "%s", name), *data = NULL;
	struct berr err;

	if (fs_read_file(path, 1 << 20, &data, len, &err) < 0)
		fail_msg("%s", err.msg);
	free(path);
	return data;
}

static int
verify_file(const char *sigfile, const char *msg, size_t msglen, struct sshsig *s,
	    struct berr *err)
{
	size_t n;
	char *text = slurp(sigfile, &n);
	int r = sshsig_parse(text, n, s, err);

	free(text);
	if (r < 0)
		return -2;
	return sshsig_verify(s, msg, msglen, err);
}

static void
test_real_signatures(void **state)
{
	static const struct {
		const char *file, *keytype, *hashalg;
	} v[] = {
		{ "ed25519.sig", "ssh-ed25519", "sha512" },
		{ "ed25519-sha256.sig", "ssh-ed25519", "sha256" },
		{ "rsa.sig", "ssh-rsa", "sha512" },
		{ "ecdsa-p256.sig", "ecdsa-sha2-nistp256", "sha512" },
		{ "ecdsa-p384.sig", "ecdsa-sha2-nistp384", "sha512" },
		{ "ecdsa-p521.sig", "ecdsa-sha2-nistp521", "sha512" },
	};
	size_t mlen, i;
	char *msg = slurp("message", &mlen);

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(*v); i++) {
		struct sshsig s = SSHSIG_INIT;
		struct berr err = { "" };

		if (verify_file(v[i].file, msg, mlen, &s, &err) != 0)
			fail_msg("%s: %s", v[i].file, err.msg);
		assert_string_equal(s.keytype, v[i].keytype);
		assert_string_equal(s.ns, "git");
		assert_string_equal(s.hashalg, v[i].hashalg);
		assert_true(sshsig_key_supported(s.keytype));
		/* one byte of the message changed: no longer signed */
		msg[mlen - 2] ^= 1;
		assert_int_equal(sshsig_verify(&s, msg, mlen, &err), -1);
		assert_non_null(strstr(err.msg, "bad signature"));
		msg[mlen - 2] ^= 1;
		/* nor one byte less */
		assert_int_equal(sshsig_verify(&s, msg, mlen - 1, &err), -1);
		sshsig_release(&s);
	}
	free(msg);
}

static void
test_namespace_is_read(void **state)
{
	struct sshsig s = SSHSIG_INIT;
	struct berr err;
	size_t mlen;
	char *msg = slurp("message", &mlen);

	(void)state;
	assert_int_equal(verify_file("ed25519-file-ns.sig", msg, mlen, &s, &err), 0);
	assert_string_equal(s.ns, "file");
	sshsig_release(&s);
	sshsig_release(&s);	/* twice is fine */
	free(msg);
}

/* ---- hostile blobs -------------------------------------------------------- */

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char u[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };

	buf_add(b, u, 4);
}

static void
put_str(struct buf *b, const void *s, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_add(b, s, n);
}

/* The blob of the real ed25519 signature. */
static struct buf
real_blob(void)
{
	struct buf b = BUF_INIT;
	size_t n;
	char *text = slurp("ed25519.sig", &n), *p = strstr(text, "-----\n") + 6, *e, *c;
	unsigned char out[1024];
	int got;

	e = strstr(p, "-----END");
	for (c = p; c < e; c++)
		if (*c != '\n')
			buf_addch(&b, *c);
	got = EVP_DecodeBlock(out, (unsigned char *)b.buf, (int)b.len);
	assert_true(got > 0);
	while (b.len && b.buf[b.len - 1] == '=') {
		got--;
		b.len--;
	}
	buf_reset(&b);
	buf_add(&b, out, (size_t)got);
	free(text);
	return b;
}

static char *
armor(const void *blob, size_t n)
{
	char *b64 = xmalloc(4 * ((n + 2) / 3) + 1), *t;

	EVP_EncodeBlock((unsigned char *)b64, blob, (int)n);
	t = xasprintf("-----BEGIN SSH SIGNATURE-----\n%s\n-----END SSH SIGNATURE-----\n", b64);
	free(b64);
	return t;
}

/* Parse the armored blob: 0 or -1, err's message in msg. */
static int
parse_blob(const void *blob, size_t n, struct sshsig *s, struct berr *err)
{
	char *t = armor(blob, n);
	int r = sshsig_parse(t, strlen(t), s, err);

	free(t);
	return r;
}

static void
expect_refused(const char *text, size_t n, const char *want)
{
	struct sshsig s = SSHSIG_INIT;
	struct berr err = { "" };

	assert_int_equal(sshsig_parse(text, n, &s, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("want \"%s\" in \"%s\"", want, err.msg);
	assert_null(s.key);
	assert_null(s.sig);
}

static void
expect_blob_refused(const void *blob, size_t n, const char *want)
{
	char *t = armor(blob, n);

	expect_refused(t, strlen(t), want);
	free(t);
}

static void
test_hostile_armor(void **state)
{
	size_t n;
	char *text = slurp("ed25519.sig", &n), *big;

	(void)state;
	expect_refused("", 0, "want a line \"-----BEGIN SSH SIGNATURE-----\"");
	expect_refused("-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n", 66,
		       "BEGIN SSH SIGNATURE");
	/* truncated: no end line */
	expect_refused(text, n / 2, "want a line \"-----END SSH SIGNATURE-----\"");
	expect_refused("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n", 58,
		       "have nothing");
	expect_refused("-----BEGIN SSH SIGNATURE-----\nU1NI*0lH\n-----END SSH SIGNATURE-----\n",
		       67, "want base64");
	expect_refused("-----BEGIN SSH SIGNATURE-----\nU\n-----END SSH SIGNATURE-----\n", 60,
		       "want base64");
	big = xmalloc(SSHSIG_MAX_TEXT + 1);
	memset(big, 'A', SSHSIG_MAX_TEXT + 1);
	expect_refused(big, SSHSIG_MAX_TEXT + 1, "over the limit");
	free(big);
	free(text);
}

static void
test_hostile_blobs(void **state)
{
	struct buf real = real_blob(), b = BUF_INIT;
	struct sshsig s = SSHSIG_INIT;
	struct berr err;
	size_t cut;

	(void)state;
	assert_int_equal(parse_blob(real.buf, real.len, &s, &err), 0);
	sshsig_release(&s);
	/* every truncation is refused, none read past the end */
	for (cut = 0; cut < real.len; cut++)
		assert_int_equal(parse_blob(real.buf, cut, &s, &err), -1);
	/* trailing bytes */
	buf_add(&b, real.buf, real.len);
	buf_add(&b, "x", 1);
	expect_blob_refused(b.buf, b.len, "1 more bytes");
	/* wrong magic, wrong version */
	buf_reset(&b);
	buf_add(&b, real.buf, real.len);
	b.buf[5] = 'X';
	expect_blob_refused(b.buf, b.len, "want magic \"SSHSIG\", have \"SSHSIX\"");
	b.buf[5] = 'G';
	b.buf[9] = 2;
	expect_blob_refused(b.buf, b.len, "want version 1, have 2");
	/* a public key length far past the end, and one over the limit */
	buf_reset(&b);
	buf_add(&b, "SSHSIG", 6);
	put_u32(&b, 1);
	put_u32(&b, 0xffffffffu);
	buf_add(&b, "ssh-ed25519", 11);
	expect_blob_refused(b.buf, b.len, "public key: want a string");
	buf_reset(&b);
	buf_add(&b, "SSHSIG", 6);
	put_u32(&b, 1);
	{
		char *k = xcalloc(SSHSIG_MAX_FIELD + 1, 1);

		put_str(&b, k, SSHSIG_MAX_FIELD + 1);
		free(k);
	}
	expect_blob_refused(b.buf, b.len, "public key: want at most 16384 bytes, have 16385");
	/* a hash algorithm sshsig does not have */
	buf_reset(&b);
	buf_add(&b, "SSHSIG", 6);
	put_u32(&b, 1);
	put_str(&b, "\0\0\0\x0bssh-ed25519", 15);
	put_str(&b, "git", 3);
	put_str(&b, "", 0);
	put_str(&b, "md5", 3);
	put_str(&b, "", 0);
	expect_blob_refused(b.buf, b.len, "want \"sha256\" or \"sha512\", have \"md5\"");
	/* a NUL in the namespace */
	buf_reset(&b);
	buf_add(&b, "SSHSIG", 6);
	put_u32(&b, 1);
	put_str(&b, "\0\0\0\x0bssh-ed25519", 15);
	put_str(&b, "g\0t", 3);
	expect_blob_refused(b.buf, b.len, "namespace");
	buf_release(&b);
	buf_release(&real);
}

/* A blob with this key and this signature blob; parsed into s. */
static void
make(struct sshsig *s, const void *key, size_t kn, const void *sig, size_t sn)
{
	struct buf b = BUF_INIT;
	struct berr err;

	buf_add(&b, "SSHSIG", 6);
	put_u32(&b, 1);
	put_str(&b, key, kn);
	put_str(&b, "git", 3);
	put_str(&b, "", 0);
	put_str(&b, "sha512", 6);
	put_str(&b, sig, sn);
	if (parse_blob(b.buf, b.len, s, &err) < 0)
		fail_msg("%s", err.msg);
	buf_release(&b);
}

static void
test_hostile_keys(void **state)
{
	struct sshsig s = SSHSIG_INIT, real = SSHSIG_INIT;
	struct berr err;
	size_t n;
	char *text = slurp("ed25519.sig", &n);
	struct buf k = BUF_INIT, g = BUF_INIT;

	(void)state;
	assert_int_equal(sshsig_parse(text, n, &real, &err), 0);
	/* a key type berth does not verify */
	put_str(&k, "ssh-dss", 7);
	make(&s, k.buf, k.len, real.sig, real.siglen);
	assert_int_equal(sshsig_verify(&s, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "unsupported key type \"ssh-dss\""));
	assert_false(sshsig_key_supported("ssh-ed25519-cert-v01@openssh.com"));
	sshsig_release(&s);
	/* an ed25519 key of 31 bytes */
	buf_reset(&k);
	put_str(&k, "ssh-ed25519", 11);
	put_str(&k, real.key + 19, 31);
	make(&s, k.buf, k.len, real.sig, real.siglen);
	assert_int_equal(sshsig_verify(&s, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "malformed ssh-ed25519 public key"));
	sshsig_release(&s);
	/* an ed25519 key with an ecdsa signature */
	put_str(&g, "ecdsa-sha2-nistp256", 19);
	put_str(&g, "\0\0\0\1\1\0\0\0\1\1", 10);
	make(&s, real.key, real.keylen, g.buf, g.len);
	assert_int_equal(sshsig_verify(&s, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "want a 64-byte ssh-ed25519 signature"));
	sshsig_release(&s);
	/* an ecdsa key that is no point of its curve */
	buf_reset(&k);
	put_str(&k, "ecdsa-sha2-nistp256", 19);
	put_str(&k, "nistp256", 8);
	put_str(&k, "\4\1\2\3", 4);
	make(&s, k.buf, k.len, g.buf, g.len);
	assert_int_equal(sshsig_verify(&s, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "malformed ecdsa-sha2-nistp256 public key"));
	sshsig_release(&s);
	/* an rsa key of 8 bits, and one with a signature of SHA-1 */
	buf_reset(&k);
	put_str(&k, "ssh-rsa", 7);
	put_str(&k, "\1\0\1", 3);
	put_str(&k, "\x7f", 1);
	buf_reset(&g);
	put_str(&g, "rsa-sha2-256", 12);
	put_str(&g, "sig", 3);
	make(&s, k.buf, k.len, g.buf, g.len);
	assert_int_equal(sshsig_verify(&s, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "want 1024 bits or more"));
	sshsig_release(&s);
	buf_reset(&g);
	put_str(&g, "ssh-rsa", 7);
	put_str(&g, "sig", 3);
	make(&s, k.buf, k.len, g.buf, g.len);
	assert_int_equal(sshsig_verify(&s, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "want an rsa-sha2-256 or rsa-sha2-512"));
	sshsig_release(&s);
	/* a signature blob with trailing bytes */
	buf_reset(&g);
	buf_add(&g, real.sig, real.siglen);
	buf_add(&g, "x", 1);
	make(&s, real.key, real.keylen, g.buf, g.len);
	assert_int_equal(sshsig_verify(&s, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "malformed signature"));
	sshsig_release(&s);
	sshsig_release(&real);
	buf_release(&k);
	buf_release(&g);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_signatures),
		cmocka_unit_test(test_namespace_is_read),
		cmocka_unit_test(test_hostile_armor),
		cmocka_unit_test(test_hostile_blobs),
		cmocka_unit_test(test_hostile_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
