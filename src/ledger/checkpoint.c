/*
 * checkpoint.c - signed checkpoints of the ledger (see ledger.h).
 *
 * What is signed is a text of its own, not the JSON (whose spelling a
 * reader may not reproduce): "berth-ledger-checkpoint 1\n" then "seq N\n",
 * "hash H\n", "time T\n", "every M\n" and one "mark S H\n" per mark.
 * ECDSA over SHA-384 with berth's key; the certificate travels with the
 * checkpoint and must be the one of the berth that checks it (its SHA-256
 * fingerprint, "signer").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ledger/ledger.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_MARKS	1024	/* marks every ceil(seq / MAX_MARKS) entries */
#define MAX_CERT	16384
#define MAX_SIG		512	/* base64 of a DER ECDSA P-384 signature: ~140 */

static int
is_hex64(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The text that is signed. */
static void
signed_text(const json_t *cp, struct buf *b)
{
	const json_t *m;
	size_t i;

	buf_addf(b, "berth-ledger-checkpoint 1\nseq %" JSON_INTEGER_FORMAT "\nhash %s\ntime %s\n"
		 "every %" JSON_INTEGER_FORMAT "\n",
		 json_integer_value(json_object_get(cp, "seq")),
		 json_string_value(json_object_get(cp, "hash")),
		 json_string_value(json_object_get(cp, "time")),
		 json_integer_value(json_object_get(cp, "every")));
	json_array_foreach(json_object_get(cp, "marks"), i, m)
		buf_addf(b, "mark %" JSON_INTEGER_FORMAT " %s\n",
			 json_integer_value(json_array_get(m, 0)),
			 json_string_value(json_array_get(m, 1)));
}

static X509 *
cert_of(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

static int
cert_fingerprint(X509 *x, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!X509_digest(x, EVP_sha256(), md, &n) || n != 32)
		return -1;
	hex_encode(md, 32, out);
	return 0;
}

json_t *
ledger_checkpoint_make(struct ledger *l, const char *key_file, const char *cert_pem,
		       int64_t now_ms, struct berr *err)
{
	struct ledger_verify_result r;
	json_t *cp = NULL, *marks;
	struct buf text = BUF_INIT;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	X509 *x = NULL;
	FILE *f = NULL;
	unsigned char sig[256];
	char t[40], fp[65], b64[MAX_SIG];
	size_t siglen = sizeof(sig);
	int64_t every;

	if (ledger_verify(l, NULL, &r, err) < 0)
		return NULL;
	if (!r.ok) {
		berr_set(err, "the ledger does not verify (%s): no checkpoint of it", r.msg);
		return NULL;
	}
	every = r.head_seq > MAX_MARKS ? (r.head_seq + MAX_MARKS - 1) / MAX_MARKS : 1;
	if (!(marks = ledger_marks(l, r.head_seq, every, err)))
		return NULL;
	clock_format(now_ms, 0, t, sizeof(t));
	cp = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:o}", "format_version", "1.0",
		       "kind", "berth-ledger-checkpoint", "seq", (json_int_t)r.head_seq,
		       "hash", r.head_hash, "time", t, "every", (json_int_t)every,
		       "marks", marks);
	if (!(x = cert_of(cert_pem)) || cert_fingerprint(x, fp) < 0) {
		berr_set(err, "berth's certificate cannot be read");
		goto fail;
	}
	if (!(f = fopen(key_file, "re")) || !(key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
		berr_set(err, "berth's key \"%s\" cannot be read", key_file);
		goto fail;
	}
	signed_text(cp, &text);
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)text.buf, text.len) != 1) {
		berr_set(err, "signing the checkpoint failed");
		goto fail;
	}
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	json_object_set_new(cp, "signer", json_string(fp));
	json_object_set_new(cp, "certificate", json_string(cert_pem));
	json_object_set_new(cp, "signature", json_string(b64));
	goto out;
fail:
	json_decref(cp);
	cp = NULL;
out:
	if (f)
		fclose(f);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	X509_free(x);
	buf_release(&text);
	return cp;
}

json_t *
ledger_checkpoint_parse(const char *data, size_t len, struct berr *err)
{
	json_error_t je;
	json_t *cp = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je), *m;
	const char *s;
	json_int_t seq, every, prev = 0;
	size_t i;

	if (!cp) {
		berr_set(err, "checkpoint: line %d column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	s = json_string_value(json_object_get(cp, "kind"));
	if (!json_is_object(cp) || !s || strcmp(s, "berth-ledger-checkpoint")) {
		berr_set(err, "not a ledger checkpoint: want \"kind\": \"berth-ledger-checkpoint\""
			 " (as `berth ledger checkpoint --out` writes)");
		goto bad;
	}
	s = json_string_value(json_object_get(cp, "format_version"));
	if (!s || strcmp(s, "1.0")) {
		berr_set(err, "checkpoint format_version \"%s\": want 1.0", s ? s : "(none)");
		goto bad;
	}
	seq = json_integer_value(json_object_get(cp, "seq"));
	every = json_integer_value(json_object_get(cp, "every"));
	if (!json_is_integer(json_object_get(cp, "seq")) || seq < 0 ||
	    !json_is_integer(json_object_get(cp, "every")) || every < 1) {
		berr_set(err, "checkpoint: \"seq\" and \"every\": want integers, seq >= 0, every >= 1");
		goto bad;
	}
	if (!is_hex64(json_string_value(json_object_get(cp, "hash"))) ||
	    !is_hex64(json_string_value(json_object_get(cp, "signer")))) {
		berr_set(err, "checkpoint: \"hash\" and \"signer\": want 64 lowercase hex digits");
		goto bad;
	}
	if (!json_is_string(json_object_get(cp, "time")) ||
	    json_string_length(json_object_get(cp, "time")) > 40) {
		berr_set(err, "checkpoint: \"time\": want a time like 2026-12-06T10:00:00Z");
		goto bad;
	}
	s = json_string_value(json_object_get(cp, "certificate"));
	if (!s || strlen(s) > MAX_CERT || !strstr(s, "-----BEGIN CERTIFICATE-----")) {
		berr_set(err, "checkpoint: \"certificate\": want berth's certificate in PEM");
		goto bad;
	}
	s = json_string_value(json_object_get(cp, "signature"));
	if (!s || !*s || strlen(s) >= MAX_SIG || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/=") != strlen(s)) {
		berr_set(err, "checkpoint: \"signature\": want base64");
		goto bad;
	}
	m = json_object_get(cp, "marks");
	if (!json_is_array(m) || json_array_size(m) > MAX_MARKS + 1) {
		berr_set(err, "checkpoint: \"marks\": want a list of at most %d [seq, hash]",
			 MAX_MARKS + 1);
		goto bad;
	}
	json_array_foreach(json_object_get(cp, "marks"), i, m) {
		json_int_t ms = json_integer_value(json_array_get(m, 0));

		if (json_array_size(m) != 2 || !json_is_integer(json_array_get(m, 0)) ||
		    ms <= prev || ms > seq ||
		    !is_hex64(json_string_value(json_array_get(m, 1)))) {
			berr_set(err, "checkpoint: \"marks\"[%zu]: want [seq, hash] with seqs"
				 " rising, at most the checkpoint's", i);
			goto bad;
		}
		prev = ms;
	}
	return cp;
bad:
	json_decref(cp);
	return NULL;
}

/* Is cp signed by the berth whose certificate has fingerprint want? */
static int
check_signature(const json_t *cp, const char *want, struct berr *err)
{
	const char *signer = json_string_value(json_object_get(cp, "signer"));
	const char *b64 = json_string_value(json_object_get(cp, "signature"));
	unsigned char sig[MAX_SIG];
	struct buf text = BUF_INIT;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pub = NULL;
	X509 *x = cert_of(json_string_value(json_object_get(cp, "certificate")));
	char fp[65];
	int n, ret = -1;
	size_t len = strlen(b64);

	if (!x || cert_fingerprint(x, fp) < 0) {
		berr_set(err, "the checkpoint's certificate cannot be read");
		goto out;
	}
	if (strcmp(fp, signer)) {
		berr_set(err, "the checkpoint's certificate is not its signer's (%.12s, the"
			 " checkpoint says %.12s): it was altered", fp, signer);
		goto out;
	}
	if (want && strcmp(fp, want)) {
		berr_set(err, "the checkpoint was signed by another berth (certificate %.12s;"
			 " this one is %.12s, and the ledger records no rotation from %.12s)",
			 fp, want, fp);
		goto out;
	}
	n = base64_decode(b64, len, sig, sizeof(sig));
	if (n < 0) {
		berr_set(err, "the checkpoint's signature is not base64");
		goto out;
	}
	signed_text(cp, &text);
	if (!(pub = X509_get_pubkey(x)) || !(md = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pub) != 1 ||
	    EVP_DigestVerify(md, sig, (size_t)n, (const unsigned char *)text.buf,
			     text.len) != 1) {
		berr_set(err, "the checkpoint's signature does not verify: it was altered after"
			 " berth signed it");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	X509_free(x);
	buf_release(&text);
	return ret;
}

struct rotation {
	const char *signer;
	int64_t seq;		/* of the key.rotate entry that retired signer */
	char next[65];		/* the fingerprint it rotated to */
};

static int
find_rotation(void *ctx, const json_t *e)
{
	struct rotation *rot = ctx;
	const json_t *before = json_object_get(e, "before");
	const char *old = json_string_value(json_object_get(before, "fingerprint"));
	const char *next = json_string_value(json_object_get(json_object_get(e, "after"),
							      "fingerprint"));

	if (!old || strcmp(old, rot->signer) || json_is_string(json_object_get(e, "error")))
		return 0;
	rot->seq = json_integer_value(json_object_get(e, "seq"));
	snprintf(rot->next, sizeof(rot->next), "%s", next ? next : "");
	return 1;	/* the first rotation away from a key retires it */
}

/*
 * want_signer, or when cp's signer is a key berth rotated away from (a
 * key.rotate entry in l), that key for a checkpoint made before the
 * rotation; -1 with err for one that claims an entry at or after it.
 */
static int
accepted_signer(struct ledger *l, const json_t *cp, const char *want_signer,
		const char **out, struct berr *err)
{
	struct ledger_filter f = { .kind = "key.rotate" };
	struct rotation rot = { 0 };
	int64_t seq = json_integer_value(json_object_get(cp, "seq"));

	*out = want_signer;
	rot.signer = json_string_value(json_object_get(cp, "signer"));
	if (!want_signer || !strcmp(rot.signer, want_signer))
		return 0;
	if (ledger_query(l, &f, find_rotation, &rot, err) < 0)
		return -1;
	if (!rot.seq)
		return 0;	/* another berth's: check_signature says so */
	if (seq >= rot.seq)
		return berr_set(err, "the checkpoint claims entry %" PRId64 " but is signed with"
				" berth's key %.12s, which entry %" PRId64 " retired (rotated to"
				" %.12s): whoever holds the old key could have made it; refusing",
				seq, rot.signer, rot.seq, rot.next);
	*out = rot.signer;
	return 0;
}

int
ledger_checkpoint_check(struct ledger *l, const json_t *cp, const char *want_signer,
			struct ledger_verify_result *r, struct berr *err)
{
	char head[96], now[65];
	const json_t *m;
	const char *signer;
	size_t i;

	if (accepted_signer(l, cp, want_signer, &signer, err) < 0 ||
	    check_signature(cp, signer, err) < 0)
		return -1;
	snprintf(head, sizeof(head), "%" JSON_INTEGER_FORMAT ":%s",
		 json_integer_value(json_object_get(cp, "seq")),
		 json_string_value(json_object_get(cp, "hash")));
	if (ledger_verify(l, head, r, err) < 0)
		return -1;
	if (r->ok || !r->bad_seq || strncmp(r->why, "rewritten", 9))
		return 0;
	/* The chain holds but the checkpoint's head does not: rewritten and
	 * recomputed. The first mark that differs says where. */
	json_array_foreach(json_object_get(cp, "marks"), i, m) {
		int64_t seq = json_integer_value(json_array_get(m, 0));
		const char *want = json_string_value(json_array_get(m, 1));
		int found = ledger_hash_at(l, seq, now, err);

		if (found < 0)
			return -1;
		if (found && !strcmp(now, want))
			continue;
		r->bad_seq = seq;
		if (json_integer_value(json_object_get(cp, "every")) == 1)
			snprintf(r->why, sizeof(r->why), "rewritten, and every hash after it"
				 " recomputed (its hash is %.64s, the checkpoint says %.64s)",
				 found ? now : "(none)", want);
		else
			snprintf(r->why, sizeof(r->why), "rewritten at or before it, after entry %"
				 PRId64 ", and every hash after recomputed (the checkpoint holds"
				 " every %" JSON_INTEGER_FORMAT "th hash)",
				 i ? (int64_t)json_integer_value(json_array_get(
					 json_array_get(json_object_get(cp, "marks"), i - 1), 0)) : 0,
				 json_integer_value(json_object_get(cp, "every")));
		snprintf(r->msg, sizeof(r->msg), "entry %" PRId64 " is the first that differs"
			 " from the checkpoint: %s", seq, r->why);
		return 0;
	}
	return 0;
}
