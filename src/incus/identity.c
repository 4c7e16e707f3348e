/*
 * identity.c - berth's client certificate, the one hosts trust.
 *
 * <state>/client.key: ECDSA P-384 private key, PKCS#8 PEM, mode 0600.
 * <state>/client.crt: self-signed X.509 v3 certificate, CN berth@<hostname>,
 * valid for ten years, extended key usage clientAuth.
 *
 * The key is written to a temporary file opened O_CREAT|O_EXCL with mode
 * 0600 and linked into place, so a reader never sees half a key and two
 * berths starting at once end up with the same one. A key without its
 * certificate (a crash between the two) gets a new certificate.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "incus/client.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CERT_DAYS (365 * 10 + 3)	/* ten years, leap days included */
#define MAX_CERT_FILE (64 * 1024)


static int
check_key_mode(const char *path, const struct stat *st, struct berr *err)
{
	mode_t m = st->st_mode & 07777;

	if (!S_ISREG(st->st_mode))
		return berr_set(err, "refusing \"%s\": berth's private key is not a regular file", path);
	if (m & 0044)
		return berr_set(err, "refusing \"%s\": mode %04o lets others read berth's private key; want 0600",
				path, (unsigned)m);
	if (m & 0033)
		return berr_set(err, "refusing \"%s\": mode %04o lets others write berth's private key; want 0600",
				path, (unsigned)m);
	return 0;
}

static int
read_small_file(const char *path, char **out, struct berr *err)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f;

	buf_init(&b, MAX_CERT_FILE);
	f = fopen(path, "re");
	if (!f)
		return berr_set(err, "cannot read \"%s\": %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(&b, chunk, n) < 0) {
			fclose(f);
			buf_release(&b);
			return berr_set(err, "\"%s\" is over %d bytes: not a certificate",
					path, MAX_CERT_FILE);
		}
	}
	if (ferror(f)) {
		fclose(f);
		buf_release(&b);
		return berr_set(err, "cannot read \"%s\": %s", path, strerror(errno));
	}
	fclose(f);
	*out = buf_detach(&b, NULL);
	return 0;
}

static EVP_PKEY *
load_key(const char *path, struct berr *err)
{
	EVP_PKEY *k = NULL;
	FILE *f = fopen(path, "re");

	if (!f) {
		berr_set(err, "cannot read \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		berr_set(err, "\"%s\" is not a PEM private key", path);
	return k;
}

static int
write_key(const char *path, EVP_PKEY *k, int *lost_race, struct berr *err)
{
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	FILE *f = NULL;
	int fd, ret = -1;

	*lost_race = 0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		berr_set(err, "cannot create \"%s\": %s", tmp, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		berr_set(err, "cannot write \"%s\": %s", tmp, strerror(errno));
		goto out_unlink;
	}
	if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		berr_set(err, "cannot write \"%s\"", tmp);
		goto out_unlink;
	}
	if (fclose(f) != 0) {
		f = NULL;
		berr_set(err, "cannot write \"%s\": %s", tmp, strerror(errno));
		goto out_unlink;
	}
	f = NULL;
	if (link(tmp, path) < 0) {
		if (errno == EEXIST)
			*lost_race = 1;
		else
			berr_set(err, "cannot create \"%s\": %s", path, strerror(errno));
		goto out_unlink;
	}
	ret = 0;
out_unlink:
	if (f)
		fclose(f);
	unlink(tmp);
out:
	free(tmp);
	return ret;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A self-signed certificate for k; NULL on failure. */
static X509 *
make_cert(EVP_PKEY *k)
{
	unsigned char serial[16];
	char host[256], cn[300];
	X509 *x = X509_new();
	X509_NAME *name;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;

	if (!x)
		return NULL;
	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(cn, sizeof(cn), "berth@%s", host);
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	if (!sn || X509_set_version(x, 2) != 1 || X509_set_serialNumber(x, sn) != 1)
		goto fail;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL))
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
				       (const unsigned char *)"berth", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, k) != 1)
		goto fail;
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, NID_ext_key_usage, "clientAuth") < 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") < 0)
		goto fail;
	if (X509_sign(x, k, EVP_sha384()) <= 0)
		goto fail;
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return x;
fail:
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static int
write_cert(const char *path, X509 *x, struct berr *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int ret = -1;

	if (!b || PEM_write_bio_X509(b, x) != 1 || (len = BIO_get_mem_data(b, &pem)) <= 0)
		berr_set(err, "cannot write \"%s\": cannot encode the certificate", path);
	else
		ret = fs_write_atomic(path, pem, (size_t)len, 0644, err);
	BIO_free(b);
	return ret;
}

static int
cert_matches_key(const char *pem, EVP_PKEY *k)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	int ok = x && X509_check_private_key(x, k) == 1;

	X509_free(x);
	BIO_free(bio);
	return ok;
}

/*
 * The identity of key_file and cert_file (owned by id from here on), made
 * when the key is missing, given a certificate when it has none.
 */
static int
load_files(char *cert_file, char *key_file, struct incus_identity *id,
	   struct berr *err)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	struct stat st;
	int lost_race;

	id->cert_file = cert_file;
	id->key_file = key_file;

	if (lstat(id->key_file, &st) < 0) {
		if (errno != ENOENT) {
			berr_set(err, "cannot read \"%s\": %s", id->key_file, strerror(errno));
			goto fail;
		}
		k = EVP_EC_gen("P-384");
		if (!k) {
			berr_set(err, "cannot generate an ECDSA P-384 key");
			goto fail;
		}
		if (write_key(id->key_file, k, &lost_race, err) < 0) {
			if (!lost_race)
				goto fail;
			/* another berth made one first: use it */
			EVP_PKEY_free(k);
			k = NULL;
		} else {
			/* a new key: any old certificate is not its own */
			unlink(id->cert_file);
		}
		if (!k && lstat(id->key_file, &st) < 0) {
			berr_set(err, "cannot read \"%s\": %s", id->key_file, strerror(errno));
			goto fail;
		}
	}
	if (!k) {
		if (check_key_mode(id->key_file, &st, err) < 0)
			goto fail;
		k = load_key(id->key_file, err);
		if (!k)
			goto fail;
	}

	if (access(id->cert_file, F_OK) == 0) {
		if (read_small_file(id->cert_file, &id->cert_pem, err) < 0)
			goto fail;
		if (!cert_matches_key(id->cert_pem, k)) {
			berr_set(err, "\"%s\" is not the certificate of \"%s\": remove both to make a new identity (hosts must then trust the new certificate)",
				 id->cert_file, id->key_file);
			goto fail;
		}
	} else {
		x = make_cert(k);
		if (!x) {
			berr_set(err, "cannot make berth's client certificate");
			goto fail;
		}
		if (write_cert(id->cert_file, x, err) < 0)
			goto fail;
		if (read_small_file(id->cert_file, &id->cert_pem, err) < 0)
			goto fail;
	}
	if (incus_pem_fingerprint(id->cert_pem, id->fingerprint, err) < 0) {
		berr_prefix(err, "\"%s\"", id->cert_file);
		goto fail;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	return 0;
fail:
	X509_free(x);
	EVP_PKEY_free(k);
	incus_identity_release(id);
	return -1;
}

/*
 * A switch (incus_identity_switch) that stopped between its two renames
 * left the new key in place and the new certificate beside it: finish it.
 */
static void
finish_switch(const char *state_dir)
{
	char *crt = xasprintf("%s/client.crt", state_dir);
	char *next = xasprintf("%s/client.crt.next", state_dir);
	char *key = xasprintf("%s/client.key", state_dir);
	char *pem = NULL;
	EVP_PKEY *k = NULL;
	struct berr ignored;

	if (access(next, F_OK) == 0 && access(crt, F_OK) == 0 &&
	    read_small_file(next, &pem, &ignored) == 0 &&
	    (k = load_key(key, &ignored)) && cert_matches_key(pem, k))
		rename(next, crt);
	EVP_PKEY_free(k);
	free(pem);
	free(crt);
	free(next);
	free(key);
}

int
incus_identity_load(const char *state_dir, struct incus_identity *id,
		    struct berr *err)
{
	memset(id, 0, sizeof(*id));
	if (!state_dir || !*state_dir)
		return berr_set(err, "no state directory for berth's client certificate");
	if (mkdir_p(state_dir, err) < 0)
		return -1;
	finish_switch(state_dir);
	return load_files(xasprintf("%s/client.crt", state_dir),
			  xasprintf("%s/client.key", state_dir), id, err);
}

int
incus_identity_stage(const char *state_dir, struct incus_identity *next,
		     struct berr *err)
{
	memset(next, 0, sizeof(*next));
	if (!state_dir || !*state_dir)
		return berr_set(err, "no state directory for berth's client certificate");
	if (mkdir_p(state_dir, err) < 0)
		return -1;
	return load_files(xasprintf("%s/client.crt.next", state_dir),
			  xasprintf("%s/client.key.next", state_dir), next, err);
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int
incus_identity_switch(const char *state_dir, struct incus_identity *next,
		      struct berr *err)
{
	char *crt = xasprintf("%s/client.crt", state_dir);
	char *key = xasprintf("%s/client.key", state_dir);
	int ret = -1;

	if (rename(next->key_file, key) < 0) {
		berr_set(err, "cannot move \"%s\" to \"%s\": %s", next->key_file, key,
			 strerror(errno));
		goto out;
	}
	if (rename(next->cert_file, crt) < 0) {
		berr_set(err, "cannot move \"%s\" to \"%s\": %s", next->cert_file, crt,
			 strerror(errno));
		goto out;
	}
	if (fsync_dir(state_dir) < 0) {
		berr_set(err, "cannot sync \"%s\": %s", state_dir, strerror(errno));
		goto out;
	}
	free(next->key_file);
	free(next->cert_file);
	next->key_file = key;
	next->cert_file = crt;
	key = crt = NULL;
	ret = 0;
out:
	free(crt);
	free(key);
	return ret;
}

void
incus_identity_release(struct incus_identity *id)
{
	if (!id)
		return;
	free(id->cert_file);
	free(id->key_file);
	free(id->cert_pem);
	memset(id, 0, sizeof(*id));
}
