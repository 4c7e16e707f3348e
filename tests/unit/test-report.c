/*
 * Unit tests for the agent's reports as the intake sees them:
 * agent/report.c (the envelope, the signed string, the body parser),
 * agent/keys.c (Ed25519 keys on disk, signatures, base64), and the two
 * pure intake helpers that take a report's values: serve/nonces.c (the
 * set of recent nonces) and serve/usage.c (raw counters to usage).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "agent/keys.h"
#include "agent/report.h"
#include "serve/nonces.h"
#include "serve/usage.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define HOST	"lab-1"
#define BOOT	"8c0d2f1e-1b2c-4d3e-8f40-123456789abc"
#define NONCE	"0123456789abcdef0123456789abcdef"
/* 64 zero bytes */
#define SIG0	"ed25519=" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="

/* The six header values of a good envelope. */
static const char *const good[6] = { HOST, BOOT, "42", "1795323600", NONCE, SIG0 };

/* Parse good[] with header i replaced by v; returns what the parser did. */
static int
env_with(int i, const char *v, struct report_envelope *e, struct berr *err)
{
	const char *h[6];

	memcpy(h, good, sizeof(h));
	if (i >= 0)
		h[i] = v;
	return report_envelope_parse(e, h[0], h[1], h[2], h[3], h[4], h[5], err);
}

static void
env_ok(int i, const char *v)
{
	struct report_envelope e;
	struct berr err;

	if (env_with(i, v, &e, &err) != 0)
		fail_msg("header %d \"%s\" refused: %s", i, v, err.msg);
}

static void
env_bad(int i, const char *v)
{
	struct report_envelope e;
	struct berr err;

	err.msg[0] = '\0';
	if (env_with(i, v, &e, &err) != -1)
		fail_msg("header %d \"%s\" accepted", i, v ? v : "(null)");
	assert_non_null(strstr(err.msg, report_header_names[i]));
}

static void
env_bad_msg(int i, const char *v, const char *want)
{
	struct report_envelope e;
	struct berr err;

	assert_int_equal(env_with(i, v, &e, &err), -1);
	assert_string_equal(err.msg, want);
}

/* ---- the envelope ---- */

static void
envelope_good(void **state)
{
	struct report_envelope e;
	struct berr err;

	(void)state;
	assert_int_equal(env_with(-1, NULL, &e, &err), 0);
	assert_string_equal(e.host, HOST);
	assert_string_equal(e.boot_id, BOOT);
	assert_true(e.seq == 42);
	assert_true(e.time == 1795323600);
	assert_string_equal(e.nonce, NONCE);
	for (int i = 0; i < 64; i++)
		assert_int_equal(e.sig[i], 0);
}

static void
envelope_missing(void **state)
{
	static const char *const want[6] = {
		"header Berth-Host: missing", "header Berth-Boot-Id: missing",
		"header Berth-Seq: missing", "header Berth-Time: missing",
		"header Berth-Nonce: missing", "header Berth-Signature: missing",
	};

	(void)state;
	for (int i = 0; i < 6; i++)
		env_bad_msg(i, NULL, want[i]);
	assert_string_equal(report_header_names[0], "Berth-Host");
	assert_string_equal(report_header_names[5], "Berth-Signature");
}

static void
envelope_host(void **state)
{
	char name[300];

	(void)state;
	env_ok(0, "a");
	env_ok(0, "lab-1.example_2");
	env_ok(0, "0");
	env_bad_msg(0, "Lab-1", "header Berth-Host: want a host name (a-z, 0-9, '.', '_', '-'), have \"Lab-1\"");
	env_bad_msg(0, "", "header Berth-Host: want a host name (a-z, 0-9, '.', '_', '-'), have \"\"");
	env_bad(0, "lab 1");
	env_bad(0, "lab\n1");
	env_bad(0, "lab\r");
	env_bad(0, "lab\t1");
	env_bad(0, "lab/1");
	env_bad(0, "lab:1");
	env_bad(0, "lab\"1");
	env_bad(0, "l\xc3\xa4" "b");
	env_bad(0, "lab\x7f");
	env_bad(0, "LAB");
	/* 255 bytes fit, 256 do not */
	memset(name, 'a', sizeof(name));
	name[255] = '\0';
	env_ok(0, name);
	name[255] = 'a';
	name[256] = '\0';
	env_bad(0, name);
	/* the message quotes at most 80 bytes */
	{
		struct report_envelope e;
		struct berr err;

		assert_int_equal(env_with(0, name, &e, &err), -1);
		assert_true(strlen(err.msg) < 200);
	}
}

static void
envelope_boot_id(void **state)
{
	(void)state;
	env_ok(1, "00000000-0000-0000-0000-000000000000");
	env_ok(1, "ffffffff-ffff-ffff-ffff-ffffffffffff");
	env_bad_msg(1, "8C0D2F1E-1B2C-4D3E-8F40-123456789ABC",
		    "header Berth-Boot-Id: want a boot id like 8c0d2f1e-...-... (lowercase UUID), "
		    "have \"8C0D2F1E-1B2C-4D3E-8F40-123456789ABC\"");
	env_bad(1, "8c0d2f1e-1b2c-4d3e-8f40-123456789abC");	/* one capital */
	env_bad(1, "");
	env_bad(1, "8c0d2f1e-1b2c-4d3e-8f40-123456789ab");	/* 35 */
	env_bad(1, "8c0d2f1e-1b2c-4d3e-8f40-123456789abcd");	/* 37 */
	env_bad(1, "8c0d2f1e1b2c4d3e8f40123456789abc");	/* no dashes */
	env_bad(1, "8c0d2f1e-1b2c-4d3e-8f401-23456789abc");	/* dash moved */
	env_bad(1, "8c0d2f1-e1b2c-4d3e-8f40-123456789abc");
	env_bad(1, "8c0d2f1e-1b2c-4d3e-8f40-12345678-abc");	/* extra dash */
	env_bad(1, "8c0d2f1e-1b2c-4d3e-8f40-123456789abg");
	env_bad(1, "{8c0d2f1e-1b2c-4d3e-8f40-123456789a}");
	env_bad(1, "8c0d2f1e-1b2c-4d3e-8f40-123456789ab\n");
	env_bad(1, " 8c0d2f1e-1b2c-4d3e-8f40-123456789ab");
	assert_int_equal(report_valid_boot_id(BOOT), 1);
	assert_int_equal(report_valid_boot_id("8c0d2f1e_1b2c_4d3e_8f40_123456789abc"), 0);
}

static void
envelope_seq(void **state)
{
	struct report_envelope e;
	struct berr err;

	(void)state;
	env_ok(2, "1");
	env_ok(2, "9223372036854775807");
	assert_int_equal(env_with(2, "9223372036854775807", &e, &err), 0);
	assert_true(e.seq == INT64_MAX);
	env_bad_msg(2, "0", "header Berth-Seq: want a number from 1 to 9223372036854775807, have \"0\"");
	env_bad(2, "00");
	env_bad(2, "01");
	env_bad(2, "042");
	env_bad(2, "9223372036854775808");
	env_bad(2, "18446744073709551615");
	env_bad(2, "18446744073709551616");	/* wraps to 0 in 64 bits */
	env_bad(2, "18446744073709551658");	/* wraps to 42 */
	env_bad(2, "99999999999999999999999999");
	env_bad(2, "-1");
	env_bad(2, "-0");
	env_bad(2, "+1");
	env_bad(2, " 1");
	env_bad(2, "1 ");
	env_bad(2, "1\n");
	env_bad(2, "1.0");
	env_bad(2, "1e3");
	env_bad(2, "0x10");
	env_bad(2, "");
	env_bad(2, "x");
}

static void
envelope_time(void **state)
{
	struct report_envelope e;
	struct berr err;

	(void)state;
	env_ok(3, "0");
	env_ok(3, "1");
	assert_int_equal(env_with(3, "9223372036854775", &e, &err), 0);	/* INT64_MAX / 1000 */
	assert_true(e.time == INT64_MAX / 1000);
	env_bad_msg(3, "9223372036854776", "header Berth-Time: want Unix seconds, have \"9223372036854776\"");
	env_bad(3, "-1");
	env_bad(3, "+1795323600");
	env_bad(3, "01795323600");
	env_bad(3, "1795323600.5");
	env_bad(3, "2026-11-22T05:00:00Z");
	env_bad(3, "");
	env_bad(3, " 1795323600");
}

static void
envelope_nonce(void **state)
{
	(void)state;
	env_ok(4, "00000000000000000000000000000000");
	env_ok(4, "ffffffffffffffffffffffffffffffff");
	env_bad_msg(4, "0123456789ABCDEF0123456789ABCDEF",
		    "header Berth-Nonce: want 32 lowercase hex digits, have \"0123456789ABCDEF0123456789ABCDEF\"");
	env_bad(4, "0123456789abcdef0123456789abcde");	/* 31 */
	env_bad(4, "0123456789abcdef0123456789abcdef0");	/* 33 */
	env_bad(4, "0123456789abcdef0123456789abcdeF");
	env_bad(4, "0123456789abcdef0123456789abcdeg");
	env_bad(4, "0123456789abcdef 123456789abcdef");
	env_bad(4, "0123456789abcdef0123456789abcde\n");
	env_bad(4, "");
	env_bad(4, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
}

static void
envelope_signature(void **state)
{
	char s[200];
	const char *b64 = SIG0 + 8;
	struct report_envelope e;
	struct berr err;

	(void)state;
	assert_int_equal(strlen(b64), 88);
	env_ok(5, SIG0);
	env_bad_msg(5, b64, "header Berth-Signature: want ed25519=<base64 of 64 bytes>, have \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"");
	snprintf(s, sizeof(s), "ED25519=%s", b64);
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519:%s", b64);
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519= %s", b64);
	env_bad(5, s);
	snprintf(s, sizeof(s), "rsa=%s", b64);
	env_bad(5, s);
	env_bad(5, "ed25519=");
	env_bad(5, "");
	/* lengths: 88 characters exactly, the last two '=' */
	snprintf(s, sizeof(s), "ed25519=%.86s", b64);	/* no padding */
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.86s=", b64);	/* one '=' */
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.86s===", b64);
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.86sAA", b64);	/* 66 bytes' worth */
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.85s===", b64);
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.86s=A", b64);	/* padding then data */
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.86sA=", b64);
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.40s=%.45s==", b64, b64);	/* '=' inside */
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.84sAA==", b64);
	env_ok(5, s);
	snprintf(s, sizeof(s), "ed25519=%.84sAB==", b64);	/* bits past the 64 bytes */
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.84s-_==", b64);	/* base64url */
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%s\n", b64);
	env_bad(5, s);
	snprintf(s, sizeof(s), "ed25519=%.40s\n%.46s", b64, b64);
	env_bad(5, s);
	/* every byte value comes through */
	{
		unsigned char sig[64];
		char enc[100];

		for (int i = 0; i < 64; i++)
			sig[i] = (unsigned char)(i * 37 + 255);
		b64_encode(sig, 64, enc);
		snprintf(s, sizeof(s), "ed25519=%s", enc);
		assert_int_equal(env_with(5, s, &e, &err), 0);
		assert_memory_equal(e.sig, sig, 64);
	}
}

static void
envelope_headers(void **state)
{
	struct report_envelope e, back;
	char out[6][128], small[8];
	struct berr err;
	const char *v[6];

	(void)state;
	for (int k = 0; k < 3; k++) {
		assert_int_equal(env_with(-1, NULL, &e, &err), 0);
		if (k == 1) {
			e.seq = INT64_MAX;
			e.time = 0;
		}
		for (int i = 0; i < 64; i++)
			e.sig[i] = (unsigned char)(k * 91 + i * 7);
		for (int i = 0; i < 6; i++) {
			report_envelope_header(&e, i, out[i], sizeof(out[i]));
			v[i] = out[i];
		}
		if (k == 0) {
			for (int i = 0; i < 5; i++)
				assert_string_equal(out[i], good[i]);
		}
		if (k == 1) {
			assert_string_equal(out[2], "9223372036854775807");
			assert_string_equal(out[3], "0");
		}
		assert_int_equal(strncmp(out[5], "ed25519=", 8), 0);
		assert_int_equal(strlen(out[5]), 8 + 88);
		assert_int_equal(report_envelope_parse(&back, v[0], v[1], v[2], v[3], v[4], v[5], &err), 0);
		assert_memory_equal(&back, &e, sizeof(e));
	}
	/* a short buffer is cut and terminated */
	report_envelope_header(&e, 1, small, sizeof(small));
	assert_string_equal(small, "8c0d2f1");
	report_envelope_header(&e, 5, small, sizeof(small));
	assert_string_equal(small, "ed25519");
}

/* ---- the signed string ---- */

static void
signed_string(void **state)
{
	struct report_envelope e;
	unsigned char d[32];
	struct buf b = BUF_INIT;
	struct berr err;
	size_t nl = 0;

	(void)state;
	assert_int_equal(env_with(-1, NULL, &e, &err), 0);
	SHA256((const unsigned char *)"", 0, d);
	report_signed_string(&e, d, &b);
	assert_string_equal(b.buf,
		"berth-report-v1\n"
		"lab-1\n"
		"8c0d2f1e-1b2c-4d3e-8f40-123456789abc\n"
		"42\n"
		"1795323600\n"
		"0123456789abcdef0123456789abcdef\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
	for (size_t i = 0; i < b.len; i++)
		nl += b.buf[i] == '\n';
	assert_int_equal(nl, 7);
	assert_int_equal(b.len, strlen(b.buf));

	/* appends; every nibble value; extremes of seq and time */
	buf_reset(&b);
	buf_addstr(&b, "x");
	for (int i = 0; i < 32; i++)
		d[i] = (unsigned char)(i * 8 + (i & 7));
	e.seq = INT64_MAX;
	e.time = 0;
	report_signed_string(&e, d, &b);
	assert_string_equal(b.buf,
		"xberth-report-v1\n"
		"lab-1\n"
		"8c0d2f1e-1b2c-4d3e-8f40-123456789abc\n"
		"9223372036854775807\n"
		"0\n"
		"0123456789abcdef0123456789abcdef\n"
		"0009121b242d363f4049525b646d767f8089929ba4adb6bfc0c9d2dbe4edf6ff\n");
	buf_release(&b);
}

/* ---- keys and signatures ---- */

struct tmp {
	char dir[64];
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int
tmp_setup(void **state)
{
	struct tmp *t = xcalloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/berth-report.XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp *t = *state;

	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* Sign (key) or verify (pub) the envelope e and body as the agent and intake do. */
static void
sign_report(EVP_PKEY *key, struct report_envelope *e, const char *body, size_t len)
{
	unsigned char d[32];
	struct buf b = BUF_INIT;

	SHA256((const unsigned char *)body, len, d);
	report_signed_string(e, d, &b);
	assert_int_equal(agent_sign(key, b.buf, b.len, e->sig), 0);
	buf_release(&b);
}

static int
verify_report(EVP_PKEY *pub, const struct report_envelope *e, const char *body, size_t len)
{
	unsigned char d[32];
	struct buf b = BUF_INIT;
	int ok;

	SHA256((const unsigned char *)body, len, d);
	report_signed_string(e, d, &b);
	ok = agent_verify(pub, b.buf, b.len, e->sig);
	buf_release(&b);
	return ok;
}

static void
sign_verify(void **state)
{
	struct tmp *t = *state;
	char *path = xasprintf("%s/agent.key", t->dir);
	char *path2 = xasprintf("%s/other.key", t->dir);
	char pub[AGENT_PUBKEY_MAX], pub2[AGENT_PUBKEY_MAX], pub3[AGENT_PUBKEY_MAX];
	char hdr[6][128];
	const char *body = "{\"schema\": 1}";
	size_t len = strlen(body);
	char *copy = xstrdup(body);
	struct report_envelope e, m;
	EVP_PKEY *key, *pk, *other_pk;
	struct berr err;
	struct stat st;

	assert_int_equal(agent_keygen(path, pub, &err), 0);
	assert_int_equal(strncmp(pub, "ed25519:", 8), 0);
	assert_int_equal(strlen(pub), 8 + 44);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(agent_keygen(path2, pub2, &err), 0);
	assert_string_not_equal(pub, pub2);

	key = agent_key_load(path, pub3, &err);
	assert_non_null(key);
	assert_string_equal(pub3, pub);
	agent_key_free(agent_key_load(path, NULL, &err));	/* pub may be NULL */
	pk = agent_pubkey_parse(pub, &err);
	assert_non_null(pk);
	other_pk = agent_pubkey_parse(pub2, &err);
	assert_non_null(other_pk);

	assert_int_equal(env_with(-1, NULL, &e, &err), 0);
	sign_report(key, &e, body, len);
	assert_int_equal(verify_report(pk, &e, body, len), 1);
	assert_int_equal(verify_report(other_pk, &e, body, len), 0);

	/* through the headers and back, as it travels */
	for (int i = 0; i < 6; i++)
		report_envelope_header(&e, i, hdr[i], sizeof(hdr[i]));
	assert_int_equal(report_envelope_parse(&m, hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], hdr[5], &err), 0);
	assert_int_equal(verify_report(pk, &m, body, len), 1);

	/* any one field changed: refused */
	m = e; m.host[0] = 'm';
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; memcpy(m.host, "lab-10", 7);
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; m.boot_id[35] = 'd';
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; m.seq = 43;
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; m.seq = 4;
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; m.time = 1795323601;
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; m.nonce[0] = '1';
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; m.sig[0] ^= 1;
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	m = e; m.sig[63] ^= 0x80;
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	/* one body byte changed, one added, one removed */
	for (size_t i = 0; i < len; i++) {
		copy[i] ^= 0x20;
		assert_int_equal(verify_report(pk, &e, copy, len), 0);
		copy[i] ^= 0x20;
	}
	assert_int_equal(verify_report(pk, &e, copy, len), 1);
	assert_int_equal(verify_report(pk, &e, copy, len - 1), 0);
	assert_int_equal(verify_report(pk, &e, body, len + 1), 0);	/* its NUL */
	/* the private key verifies too; the other key's signature does not */
	assert_int_equal(verify_report(key, &e, body, len), 1);
	agent_key_free(key);
	key = agent_key_load(path2, NULL, &err);
	assert_non_null(key);
	sign_report(key, &m, body, len);
	m = e;
	sign_report(key, &m, body, len);
	assert_int_equal(verify_report(pk, &m, body, len), 0);
	assert_int_equal(verify_report(other_pk, &m, body, len), 1);

	agent_key_free(key);
	agent_key_free(pk);
	agent_key_free(other_pk);
	agent_key_free(NULL);
	free(copy);
	free(path);
	free(path2);
}

static void
key_files(void **state)
{
	struct tmp *t = *state;
	char *path = xasprintf("%s/agent.key", t->dir);
	char *want = NULL, *text = NULL, *again = NULL;
	char pub[AGENT_PUBKEY_MAX], pub2[AGENT_PUBKEY_MAX];
	struct berr err;
	EVP_PKEY *k;
	FILE *f;
	long n;

	assert_int_equal(agent_keygen(path, pub, &err), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	text = xcalloc(1, 4096);
	n = (long)fread(text, 1, 4095, f);
	fclose(f);
	assert_true(n > 0);
	assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----"));

	/* keygen never overwrites */
	assert_int_equal(agent_keygen(path, pub2, &err), -1);
	want = xasprintf("refusing to overwrite \"%s\": it exists (a host's key is replaced by "
			 "removing the old one first)", path);
	assert_string_equal(err.msg, want);
	free(want);
	again = xcalloc(1, 4096);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal((long)fread(again, 1, 4095, f), n);
	fclose(f);
	assert_string_equal(again, text);

	/* modes: others may not read or write it */
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(agent_key_load(path, pub2, &err));
	want = xasprintf("refusing the agent key \"%s\": mode 0644 lets others read it; want 0600", path);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(agent_key_load(path, pub2, &err));
	assert_non_null(strstr(err.msg, "mode 0640"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_null(agent_key_load(path, pub2, &err));
	assert_non_null(strstr(err.msg, "mode 0604"));
	assert_int_equal(chmod(path, 0620), 0);
	assert_null(agent_key_load(path, pub2, &err));
	want = xasprintf("refusing the agent key \"%s\": mode 0620 lets others use it; want 0600", path);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(chmod(path, 0601), 0);
	assert_null(agent_key_load(path, pub2, &err));
	assert_non_null(strstr(err.msg, "mode 0601"));
	assert_int_equal(chmod(path, 0400), 0);
	k = agent_key_load(path, pub2, &err);
	assert_non_null(k);
	assert_string_equal(pub2, pub);
	agent_key_free(k);
	assert_int_equal(chmod(path, 0600), 0);

	/* missing, a directory, a symlink, not a key, another kind of key */
	free(path);
	path = xasprintf("%s/none.key", t->dir);
	assert_null(agent_key_load(path, pub2, &err));
	want = xasprintf("cannot read the agent key \"%s\": No such file or directory", path);
	assert_string_equal(err.msg, want);
	free(want);
	assert_null(agent_key_load(t->dir, pub2, &err));
	want = xasprintf("refusing the agent key \"%s\": not a regular file", t->dir);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);
	path = xasprintf("%s/link.key", t->dir);
	{
		char *target = xasprintf("%s/agent.key", t->dir);

		assert_int_equal(symlink(target, path), 0);
		free(target);
	}
	assert_null(agent_key_load(path, pub2, &err));
	assert_non_null(strstr(err.msg, "cannot read the agent key"));
	assert_int_equal(agent_keygen(path, pub2, &err), -1);	/* nor through a link */
	free(path);

	path = xasprintf("%s/junk.key", t->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_null(agent_key_load(path, pub2, &err));
	want = xasprintf("\"%s\": want an Ed25519 private key (PEM, from `berth agent keygen`), "
			 "have no PEM private key", path);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);

	path = xasprintf("%s/ec.key", t->dir);
	{
		EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

		assert_non_null(ec);
		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		assert_int_equal(PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL), 1);
		fclose(f);
		EVP_PKEY_free(ec);
	}
	assert_null(agent_key_load(path, pub2, &err));
	want = xasprintf("\"%s\": want an Ed25519 private key (PEM, from `berth agent keygen`), "
			 "have another kind of key", path);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);

	/* keygen into a directory that does not exist */
	path = xasprintf("%s/no/such/dir.key", t->dir);
	assert_int_equal(agent_keygen(path, pub2, &err), -1);
	assert_non_null(strstr(err.msg, "cannot create"));
	free(path);
	free(text);
	free(again);
}

static void
pubkey_parse(void **state)
{
	static const char *const bad[] = {
		"", "ed25519:", "ed25519", "ED25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"ed25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"ed25519=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb6",
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",		/* 43 */
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",		/* 44, no '=' */
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",	/* 45 */
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",		/* 31 bytes */
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		" ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"ed25519: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A",		/* padding then data */
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",		/* bits past 32 bytes */
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_A=",
		"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=AAAA",
	};
	struct berr err;
	EVP_PKEY *k;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		k = agent_pubkey_parse(bad[i], &err);
		if (k)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(strncmp(err.msg, "want an agent key like \"ed25519:<44 characters of base64>\", have \"", 66), 0);
	}
	assert_null(agent_pubkey_parse(NULL, &err));
	assert_string_equal(err.msg, "want an agent key like \"ed25519:<44 characters of base64>\", have \"\"");
	k = agent_pubkey_parse("ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", &err);
	assert_non_null(k);	/* any 32 bytes are an Ed25519 public key */
	agent_key_free(k);
	k = agent_pubkey_parse("ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", &err);
	assert_non_null(k);
	agent_key_free(k);
}

static void
base64(void **state)
{
	unsigned char in[192], out[193], zero[4] = { 0 };
	char enc[300];
	/* "" decoded in a string whose bytes before it look like padding */
	static const char padded[] = "==";

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 151 + 7);
	/* every length round-trips, and only with its own length */
	for (size_t n = 0; n <= 192; n++) {
		b64_encode(in, n, enc);
		assert_int_equal(strlen(enc), 4 * ((n + 2) / 3));
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(b64_decode_exact(enc, out, n), 0);
		assert_memory_equal(out, in, n);
		assert_int_equal(out[n], 0xaa);	/* no more than n bytes written */
		if (n)
			assert_int_equal(b64_decode_exact(enc, out, n - 1), -1);
		assert_int_equal(b64_decode_exact(enc, out, n + 1), -1);
	}
	/* nothing */
	assert_int_equal(b64_decode_exact("", out, 0), 0);
	assert_int_equal(b64_decode_exact(padded + 2, out, 0), 0);
	assert_int_equal(b64_decode_exact("====", out, 0), -1);
	assert_int_equal(b64_decode_exact("AA==", out, 0), -1);
	/* one byte */
	assert_int_equal(b64_decode_exact("AA==", out, 1), 0);
	assert_memory_equal(out, zero, 1);
	assert_int_equal(b64_decode_exact("/w==", out, 1), 0);
	assert_int_equal(out[0], 0xff);
	assert_int_equal(b64_decode_exact("AB==", out, 1), -1);	/* unused bits set */
	assert_int_equal(b64_decode_exact("/x==", out, 1), -1);
	assert_int_equal(b64_decode_exact("AA=", out, 1), -1);
	assert_int_equal(b64_decode_exact("AA", out, 1), -1);
	assert_int_equal(b64_decode_exact("AAA=", out, 1), -1);
	assert_int_equal(b64_decode_exact("AAAA", out, 1), -1);
	assert_int_equal(b64_decode_exact("A===", out, 1), -1);
	assert_int_equal(b64_decode_exact("=A==", out, 1), -1);
	assert_int_equal(b64_decode_exact("A=A=", out, 1), -1);
	assert_int_equal(b64_decode_exact("====", out, 1), -1);
	/* two bytes */
	assert_int_equal(b64_decode_exact("AAA=", out, 2), 0);
	assert_int_equal(b64_decode_exact("AA=A", out, 2), -1);
	assert_int_equal(b64_decode_exact("AA==", out, 2), -1);
	assert_int_equal(b64_decode_exact("AAB=", out, 2), -1);
	/* three bytes: no padding */
	assert_int_equal(b64_decode_exact("AAAA", out, 3), 0);
	assert_int_equal(b64_decode_exact("AAA=", out, 3), -1);
	assert_int_equal(b64_decode_exact("+/+/", out, 3), 0);
	assert_int_equal(b64_decode_exact("-_-_", out, 3), -1);
	assert_int_equal(b64_decode_exact("AA A", out, 3), -1);
	assert_int_equal(b64_decode_exact(" AAA", out, 3), -1);
	assert_int_equal(b64_decode_exact("AAA\n", out, 3), -1);
	assert_int_equal(b64_decode_exact("AAA.", out, 3), -1);
	assert_int_equal(b64_decode_exact("AAA\xc3", out, 3), -1);
	/* four: padding only at the very end */
	assert_int_equal(b64_decode_exact("AAAAAA==", out, 4), 0);
	assert_int_equal(b64_decode_exact("AA==AA==", out, 4), -1);
	assert_int_equal(b64_decode_exact("AAA=AAA=", out, 4), -1);
	/* more than the decoder holds */
	memset(enc, 'A', 260);
	enc[260] = '\0';
	assert_int_equal(b64_decode_exact(enc, out, 195), -1);
}

/* ---- the body ---- */

static const char valid_body[] =
	"{\"schema\": 1, \"host\": \"lab-1\", \"boot_id\": \"" BOOT "\", \"seq\": 42,"
	" \"time\": \"2026-11-22T05:00:00.250Z\","
	" \"agent\": {\"version\": \"0.5.0\", \"build\": \"abc1234\"},"
	" \"interval\": 30, \"dropped\": 3,"
	" \"host_stats\": {"
	"  \"cpu_threads\": 8, \"cpu_use\": 0.125, \"load\": [0.5, 0.25, 0],"
	"  \"memory\": {\"total\": 68719476736, \"available\": 34359738368},"
	"  \"storage_pools\": ["
	"   {\"name\": \"default\", \"driver\": \"dir\", \"total\": 1000, \"used\": 400, \"free\": 600},"
	"   {\"name\": \"fast\", \"driver\": \"zfs\", \"total\": 9223372036854775807, \"used\": 0,"
	"    \"free\": 9223372036854775807},"
	"   {\"name\": \"gone\", \"driver\": \"btrfs\", \"total\": 0, \"used\": 0, \"free\": 0,"
	"    \"error\": \"Incus says the storage pool is Unavailable\"}],"
	"  \"storage_drivers\": [{\"name\": \"lvm\", \"usable\": false,"
	"    \"reason\": \"the kernel has no device-mapper driver\"},"
	"   {\"name\": \"dir\", \"usable\": true}],"
	"  \"network\": [{\"name\": \"eth0\", \"rx_bytes\": 1, \"tx_bytes\": 2, \"rx_packets\": 3,"
	"                \"tx_packets\": 4}]},"
	" \"instances\": ["
	"  {\"name\": \"c1\", \"project\": \"default\", \"type\": \"container\", \"status\": \"Running\","
	"   \"started_at\": \"2026-11-22T04:00:00.5+00:00\", \"plan\": \"vps-s\","
	"   \"cpu_ns\": 123456789, \"memory\": 268435456, \"disk\": 1073741824,"
	"   \"network\": [{\"name\": \"eth0\", \"rx_bytes\": 10, \"tx_bytes\": 20, \"rx_packets\": 30,"
	"                  \"tx_packets\": 40},"
	"                 {\"name\": \"eth1\", \"rx_bytes\": 11, \"tx_bytes\": 21, \"rx_packets\": 31,"
	"                  \"tx_packets\": 41}]},"
	"  {\"name\": \"v1\", \"project\": \"shop\", \"type\": \"virtual-machine\", \"status\": \"Stopped\","
	"   \"started_at\": null, \"plan\": null, \"cpu_ns\": 0, \"memory\": 0, \"disk\": 0,"
	"   \"network\": []},"
	"  {\"name\": \"c1\", \"project\": \"shop\", \"type\": \"container\", \"status\": \"Frozen\","
	"   \"started_at\": \"0001-01-01T00:00:00Z\", \"plan\": \"caf\\u00e9 \\u2603\","
	"   \"cpu_ns\": 9223372036854775807, \"memory\": 2, \"disk\": 3, \"network\": []}]}";

static void
body_valid(void **state)
{
	struct report r;
	struct berr err;
	const struct report_instance *in;

	(void)state;
	if (report_parse(valid_body, strlen(valid_body), &r, &err) != 0)
		fail_msg("%s", err.msg);
	assert_non_null(r.root);
	assert_int_equal(r.schema, 1);
	assert_string_equal(r.host, "lab-1");
	assert_string_equal(r.boot_id, BOOT);
	assert_true(r.seq == 42);
	assert_string_equal(r.time, "2026-11-22T05:00:00.250Z");
	assert_true(r.time_ms == 1795323600250LL);
	assert_string_equal(r.agent_version, "0.5.0");
	assert_string_equal(r.agent_build, "abc1234");
	assert_true(r.interval_s == 30);
	assert_true(r.dropped == 3);
	assert_true(r.cpu_threads == 8);
	assert_true(r.cpu_use == 0.125);
	assert_true(r.load[0] == 0.5 && r.load[1] == 0.25 && r.load[2] == 0);
	assert_true(r.mem_total == 68719476736ULL);
	assert_true(r.mem_available == 34359738368ULL);
	assert_int_equal(r.npools, 3);
	assert_null(r.pools[0].error);
	assert_null(r.pools[1].error);
	assert_string_equal(r.pools[2].error, "Incus says the storage pool is Unavailable");
	assert_true(r.pools[2].total == 0 && r.pools[2].used == 0 && r.pools[2].free == 0);
	assert_string_equal(r.pools[0].name, "default");
	assert_string_equal(r.pools[0].driver, "dir");
	assert_true(r.pools[0].total == 1000 && r.pools[0].used == 400 && r.pools[0].free == 600);
	assert_string_equal(r.pools[1].name, "fast");
	assert_string_equal(r.pools[1].driver, "zfs");
	assert_true(r.pools[1].total == INT64_MAX && r.pools[1].used == 0 &&
		    r.pools[1].free == INT64_MAX);
	assert_ptr_equal(report_pool(&r, "fast"), &r.pools[1]);
	assert_ptr_equal(report_pool(&r, "default"), &r.pools[0]);
	assert_null(report_pool(&r, "Default"));
	assert_null(report_pool(&r, ""));
	assert_int_equal(r.ndrivers, 2);
	assert_ptr_equal(report_driver(&r, "lvm"), &r.drivers[0]);
	assert_false(r.drivers[0].usable);
	assert_string_equal(r.drivers[0].reason, "the kernel has no device-mapper driver");
	assert_true(report_driver(&r, "dir")->usable);
	assert_null(report_driver(&r, "dir")->reason);
	assert_null(report_driver(&r, "zfs"));
	assert_int_equal(r.nnics, 1);
	assert_string_equal(r.nics[0].name, "eth0");
	assert_true(r.nics[0].rx_bytes == 1 && r.nics[0].tx_bytes == 2 &&
		    r.nics[0].rx_packets == 3 && r.nics[0].tx_packets == 4);

	assert_int_equal(r.ninstances, 3);
	in = &r.instances[0];
	assert_string_equal(in->name, "c1");
	assert_string_equal(in->project, "default");
	assert_string_equal(in->type, "container");
	assert_string_equal(in->status, "Running");
	assert_string_equal(in->started_at, "2026-11-22T04:00:00.5+00:00");
	assert_true(in->started_ms == 1795320000500LL);
	assert_string_equal(in->plan, "vps-s");
	assert_true(in->cpu_ns == 123456789 && in->memory == 268435456 && in->disk == 1073741824);
	assert_int_equal(in->nnics, 2);
	assert_string_equal(in->nics[0].name, "eth0");
	assert_true(in->nics[0].rx_bytes == 10 && in->nics[0].tx_bytes == 20 &&
		    in->nics[0].rx_packets == 30 && in->nics[0].tx_packets == 40);
	assert_string_equal(in->nics[1].name, "eth1");
	assert_true(in->nics[1].rx_bytes == 11 && in->nics[1].tx_bytes == 21 &&
		    in->nics[1].rx_packets == 31 && in->nics[1].tx_packets == 41);
	in = &r.instances[1];
	assert_string_equal(in->name, "v1");
	assert_string_equal(in->project, "shop");
	assert_string_equal(in->type, "virtual-machine");
	assert_string_equal(in->status, "Stopped");
	assert_null(in->started_at);
	assert_true(in->started_ms == 0);
	assert_null(in->plan);
	assert_true(in->cpu_ns == 0 && in->memory == 0 && in->disk == 0);
	assert_int_equal(in->nnics, 0);
	assert_non_null(in->nics);
	in = &r.instances[2];
	assert_string_equal(in->name, "c1");	/* same name, another project */
	assert_string_equal(in->project, "shop");
	assert_string_equal(in->status, "Frozen");
	assert_string_equal(in->started_at, "0001-01-01T00:00:00Z");
	assert_true(in->started_ms == 0);	/* never: 0, not negative */
	assert_string_equal(in->plan, "caf\xc3\xa9 \xe2\x98\x83");
	assert_true(in->cpu_ns == INT64_MAX);
	report_release(&r);
	assert_null(r.root);
	assert_null(r.instances);
	report_release(&r);	/* twice is fine */

	/* not NUL-terminated: only len bytes are read */
	{
		size_t n = strlen(valid_body);
		char *copy = xmalloc(n);

		memcpy(copy, valid_body, n);
		assert_int_equal(report_parse(copy, n, &r, &err), 0);
		report_release(&r);
		free(copy);
	}
}

/* Find the object holding the last component of path, creating objects on the way. */
static json_t *
walk(json_t *root, const char *path, char *last, size_t lastlen)
{
	json_t *cur = root;
	const char *p = path;

	for (;;) {
		size_t n = strcspn(p, ".[");
		char key[64];

		if (n >= sizeof(key)) {
			fail();
			return NULL;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		p += n;
		if (!*p) {
			snprintf(last, lastlen, "%s", key);
			return cur;
		}
		if (n) {
			json_t *next = json_object_get(cur, key);

			if (!next) {
				next = json_object();
				json_object_set_new(cur, key, next);
			}
			cur = next;
		}
		if (*p == '[') {
			char *end;
			size_t i = strtoul(p + 1, &end, 10);

			cur = json_array_get(cur, i);
			assert_non_null(cur);
			p = end + 1;
			if (!*p) {
				fail();
				return NULL;
			}
		}
		if (*p == '.')
			p++;
	}
}

/* An agent from before storage_drivers: its reports still parse. */
static void
body_without_drivers(void **state)
{
	json_t *root = json_loads(valid_body, 0, NULL);
	struct report r;
	struct berr err;
	char *text;

	(void)state;
	assert_non_null(root);
	assert_int_equal(json_object_del(json_object_get(root, "host_stats"), "storage_drivers"), 0);
	text = json_dumps(root, JSON_COMPACT);
	if (report_parse(text, strlen(text), &r, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(r.ndrivers, 0);
	assert_null(report_driver(&r, "dir"));
	report_release(&r);
	free(text);
	json_decref(root);
}

/* The valid body with path set to v (NULL: removed), parsed: its error. */
static void
bad_body(const char *path, json_t *v, const char *want)
{
	json_t *root = json_loads(valid_body, 0, NULL);
	char last[64], *text;
	json_t *o;
	struct report r;
	struct berr err;

	assert_non_null(root);
	o = walk(root, path, last, sizeof(last));
	if (v)
		assert_int_equal(json_object_set_new(o, last, v), 0);
	else
		assert_int_equal(json_object_del(o, last), 0);
	text = json_dumps(root, JSON_COMPACT);
	assert_non_null(text);
	err.msg[0] = '\0';
	if (report_parse(text, strlen(text), &r, &err) != -1)
		fail_msg("%s = ... accepted", path);
	if (strcmp(err.msg, want))
		fail_msg("%s: want error\n  %s\nhave\n  %s", path, want, err.msg);
	assert_null(r.root);
	assert_null(r.instances);
	free(text);
	json_decref(root);
}

/* The raw text body, parsed: its error. */
static void
bad_text(const char *body, size_t len, const char *want)
{
	struct report r;
	struct berr err;

	err.msg[0] = '\0';
	assert_int_equal(report_parse(body, len, &r, &err), -1);
	if (strcmp(err.msg, want))
		fail_msg("want error\n  %s\nhave\n  %s", want, err.msg);
	assert_null(r.root);
}

#define U64_WANT "want an integer from 0 to 9223372036854775807, have "

static void
body_unknown_keys(void **state)
{
	(void)state;
	bad_body("cpu", json_integer(1), "unknown key \"cpu\"");
	bad_body("host_stats.cpu", json_integer(1), "host_stats: unknown key \"cpu\"");
	bad_body("agent.commit", json_string("x"), "agent: unknown key \"commit\"");
	bad_body("host_stats.memory.free", json_integer(1), "host_stats.memory: unknown key \"free\"");
	bad_body("host_stats.storage_pools[1].size", json_integer(1),
		 "host_stats.storage_pools[1]: unknown key \"size\"");
	bad_body("host_stats.network[0].rx_errors", json_integer(1),
		 "host_stats.network[0]: unknown key \"rx_errors\"");
	bad_body("instances[2].cpu", json_integer(1), "instances[2]: unknown key \"cpu\"");
	bad_body("instances[0].network[1].Name", json_string("x"),
		 "instances[0].network[1]: unknown key \"Name\"");
	/* a missing key is named too */
	bad_body("seq", NULL, "seq: missing");
	bad_body("host", NULL, "host: missing");
	bad_body("schema", NULL, "schema: missing");
	bad_body("agent", NULL, "agent: missing");
	bad_body("host_stats.memory.available", NULL, "host_stats.memory.available: missing");
	bad_body("instances[1].started_at", NULL, "instances[1].started_at: missing");
	bad_body("instances[1].plan", NULL, "instances[1].plan: missing");
	bad_body("instances[0].network[1].tx_packets", NULL,
		 "instances[0].network[1].tx_packets: missing");
	bad_body("instances[0].network", NULL, "instances[0].network: missing");
	bad_body("instances", NULL, "instances: missing");
}

static void
body_types(void **state)
{
	(void)state;
	bad_body("seq", json_string("42"), "seq: " U64_WANT "a string");
	bad_body("seq", json_real(42.0), "seq: " U64_WANT "a number with a fraction");
	bad_body("interval", json_true(), "interval: " U64_WANT "a boolean");
	bad_body("dropped", json_null(), "dropped: " U64_WANT "null");
	bad_body("host_stats.cpu_threads", json_array(), "host_stats.cpu_threads: " U64_WANT "an array");
	bad_body("instances[0].memory", json_object(), "instances[0].memory: " U64_WANT "an object");
	bad_body("host", json_integer(1), "host: want a string, have an integer");
	bad_body("host", json_null(), "host: want a string, have null");
	bad_body("instances[0].plan", json_integer(1), "instances[0].plan: want a string or null, have an integer");
	bad_body("instances[0].started_at", json_false(),
		 "instances[0].started_at: want a string or null, have a boolean");
	bad_body("agent", json_string("0.5.0"), "agent: want an object, have a string");
	bad_body("host_stats", json_array(), "host_stats: want an object, have an array");
	bad_body("host_stats.memory", json_integer(1), "host_stats.memory: want an object, have an integer");
	bad_body("instances", json_object(), "instances: want an array, have an object");
	bad_body("host_stats.network", json_null(), "host_stats.network: want an array, have null");
	bad_body("host_stats.storage_pools", json_string(""),
		 "host_stats.storage_pools: want an array, have a string");
	bad_body("host_stats.cpu_use", json_string("0.5"),
		 "host_stats.cpu_use: want a number from 0 to 1, have a string");
	bad_body("host_stats.cpu_use", json_real(1.5),
		 "host_stats.cpu_use: want a number from 0 to 1, have one outside");
	bad_body("host_stats.cpu_use", json_real(-0.001),
		 "host_stats.cpu_use: want a number from 0 to 1, have one outside");
	bad_body("host_stats.load", json_pack("[f,f]", 1.0, 2.0),
		 "host_stats.load: want 3 numbers (1, 5 and 15 minutes), have 2");
	bad_body("host_stats.load", json_pack("[f,f,f,f]", 1.0, 2.0, 3.0, 4.0),
		 "host_stats.load: want at most 3 entries, have 4");
	bad_body("host_stats.load", json_pack("[f,s,f]", 1.0, "2", 3.0),
		 "host_stats.load: want numbers from 0, have a string at [1]");
	bad_body("host_stats.load", json_pack("[f,f,f]", 1.0, 2.0, -3.0),
		 "host_stats.load: want numbers from 0, have a number with a fraction at [2]");
	bad_body("instances[0].type", json_string("vm"),
		 "instances[0].type: want \"container\" or \"virtual-machine\", have \"vm\"");
	bad_body("instances[1].network", json_pack("[i]", 1),
		 "instances[1].network[0]: want an object, have an integer");
	bad_body("host_stats.storage_pools", json_pack("[n]"),
		 "host_stats.storage_pools[0]: want an object, have null");
	/* the root */
	bad_text("[]", 2, "want a JSON object, have an array");
	bad_text("{}", 2, "schema: missing");
	/* strings: length */
	{
		char s[300];

		memset(s, 'x', sizeof(s));
		s[255] = '\0';
		{
			json_t *root = json_loads(valid_body, 0, NULL);
			char *text;
			struct report r;
			struct berr err;

			json_object_set_new(json_array_get(json_object_get(root, "instances"), 0), "name",
					    json_string(s));
			text = json_dumps(root, 0);
			assert_int_equal(report_parse(text, strlen(text), &r, &err), 0);
			assert_int_equal(strlen(r.instances[0].name), 255);
			report_release(&r);
			free(text);
			json_decref(root);
		}
		s[255] = 'x';
		s[256] = '\0';
		bad_body("instances[0].name", json_string(s),
			 "instances[0].name: want a string of 1 to 255 bytes, have 256");
		bad_body("host", json_string(""), "host: want a string of 1 to 255 bytes, have 0");
		bad_body("agent.build", json_string(""), "agent.build: want a string of 1 to 255 bytes, have 0");
	}
	bad_body("boot_id", json_string("8C0D2F1E-1B2C-4D3E-8F40-123456789ABC"),
		 "boot_id: want a lowercase UUID, have \"8C0D2F1E-1B2C-4D3E-8F40-123456789ABC\"");
	bad_body("time", json_string("2026-11-22 05:00:00"),
		 "time: want an RFC 3339 time like 2026-11-22T05:00:00Z, have \"2026-11-22 05:00:00\"");
	bad_body("time", json_string("0001-01-01T00:00:00Z"),
		 "time: want an RFC 3339 time like 2026-11-22T05:00:00Z, have \"0001-01-01T00:00:00Z\"");
}

static void
body_numbers(void **state)
{
	struct report r;
	struct berr err;
	char *text;

	(void)state;
	bad_body("instances[0].network[0].rx_bytes", json_integer(-1),
		 "instances[0].network[0].rx_bytes: " U64_WANT "-1");
	bad_body("host_stats.memory.total", json_integer(INT64_MIN),
		 "host_stats.memory.total: " U64_WANT "-9223372036854775808");
	bad_body("seq", json_integer(-42), "seq: " U64_WANT "-42");
	bad_body("host_stats.storage_drivers[1].usable", json_string("yes"),
		 "host_stats.storage_drivers[1].usable: want true or false, have a string");
	bad_body("host_stats.storage_drivers[0].reason", NULL,
		 "host_stats.storage_drivers[0]: a driver that is not usable needs a \"reason\"");
	bad_body("host_stats.storage_drivers[1].name", json_string("lvm"),
		 "host_stats.storage_drivers[1]: name \"lvm\" is listed twice");
	bad_body("host_stats.storage_drivers[1].size", json_integer(1),
		 "host_stats.storage_drivers[1]: unknown key \"size\"");
	bad_body("host_stats.storage_drivers", json_object(),
		 "host_stats.storage_drivers: want an array, have an object");
	bad_body("host_stats.storage_pools[0].free", json_integer(-1),
		 "host_stats.storage_pools[0].free: " U64_WANT "-1");
	bad_body("host_stats.storage_pools[2].total", json_integer(1),
		 "host_stats.storage_pools[2]: a pool with an error has 0 for total, used and free");
	bad_body("host_stats.storage_pools[2].error", json_integer(1),
		 "host_stats.storage_pools[2].error: want a string, have an integer");
	bad_body("host_stats.storage_pools[2].error", json_null(),
		 "host_stats.storage_pools[2].error: want a string, have null");
	bad_body("host_stats.storage_pools[2].error", json_string(""),
		 "host_stats.storage_pools[2].error: want a string of 1 to 255 bytes, have 0");
	/* past int64: jansson refuses the text */
	text = xstrdup(valid_body);
	{
		char *p = strstr(text, "9223372036854775807");

		memcpy(p, "9223372036854775808", 19);
	}
	assert_int_equal(report_parse(text, strlen(text), &r, &err), -1);
	assert_int_equal(strncmp(err.msg, "not JSON: line 1 column ", 24), 0);
	assert_non_null(strstr(err.msg, "too big integer"));
	free(text);
	bad_text("{\"schema\": 18446744073709551617}", 32,
		 "not JSON: line 1 column 31: too big integer near '18446744073709551617'");
	bad_text("{\"schema\": -9223372036854775809}", 32,
		 "not JSON: line 1 column 31: too big negative integer near '-9223372036854775809'");
	/* schema */
	bad_body("schema", json_integer(2), "schema: want 1, have 2 (a newer agent than this intake?)");
	bad_body("schema", json_integer(0), "schema: want 1, have 0 (a newer agent than this intake?)");
	bad_body("schema", json_real(1.0), "schema: " U64_WANT "a number with a fraction");
	bad_body("schema", json_string("1"), "schema: " U64_WANT "a string");
	/* a huge real is still not an integer */
	bad_text("{\"schema\": 1e400}", 17, "not JSON: line 1 column 16: real number overflow near '1e400'");
}

/* A report with n instances of {} (b is reset first). */
static void
instances_body(struct buf *b, int n)
{
	buf_reset(b);
	buf_addstr(b, "{\"schema\": 1, \"host\": \"lab-1\", \"boot_id\": \"" BOOT "\", \"seq\": 1,"
		   " \"time\": \"2026-11-22T05:00:00Z\", \"agent\": {\"version\": \"1\", \"build\": \"1\"},"
		   " \"interval\": 30, \"dropped\": 0, \"host_stats\": {\"cpu_threads\": 1, \"cpu_use\": 0,"
		   " \"load\": [0, 0, 0], \"memory\": {\"total\": 1, \"available\": 1},"
		   " \"storage_pools\": [], \"network\": []}, \"instances\": [");
	for (int i = 0; i < n; i++)
		buf_addstr(b, i ? ",{}" : "{}");
	buf_addstr(b, "]}");
}

static void
body_lists(void **state)
{
	struct buf b = BUF_INIT;
	struct report r;
	struct berr err;
	json_t *nics;
	char want[128];

	(void)state;
	/* too many instances: counted before any is looked at */
	instances_body(&b, REPORT_MAX_INSTANCES + 1);
	assert_true(b.len < REPORT_MAX_BODY);
	snprintf(want, sizeof(want), "instances: want at most %d entries, have %d",
		 REPORT_MAX_INSTANCES, REPORT_MAX_INSTANCES + 1);
	bad_text(b.buf, b.len, want);
	/* REPORT_MAX_INSTANCES are allowed (the first is then looked at) */
	instances_body(&b, REPORT_MAX_INSTANCES);
	bad_text(b.buf, b.len, "instances[0].name: missing");
	/* an empty report is fine */
	instances_body(&b, 0);
	if (report_parse(b.buf, b.len, &r, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(r.ninstances, 0);
	assert_int_equal(r.npools, 0);
	assert_int_equal(r.nnics, 0);
	report_release(&r);
	/* as many real instances as a body of REPORT_MAX_BODY holds */
	{
		size_t n = 0;

		buf_reset(&b);
		instances_body(&b, 0);
		buf_setlen(&b, b.len - 2);
		while (n < REPORT_MAX_INSTANCES) {
			size_t before = b.len;

			buf_addf(&b, "%s{\"name\": \"instance-%05zu\", \"project\": \"default\", "
				 "\"type\": \"container\", \"status\": \"Running\", "
				 "\"started_at\": \"2026-11-22T04:00:00Z\", \"plan\": \"vps-s\", "
				 "\"cpu_ns\": 123456789012, \"memory\": 268435456, \"disk\": 1073741824, "
				 "\"network\": []}", n ? ", " : "", n);
			if (b.len + 2 > REPORT_MAX_BODY) {
				buf_setlen(&b, before);
				break;
			}
			n++;
		}
		buf_addstr(&b, "]}");
		if (report_parse(b.buf, b.len, &r, &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(r.ninstances, n);
		assert_string_equal(r.instances[n - 1].plan, "vps-s");
		report_release(&r);
	}
	buf_release(&b);

	/* too many NICs and pools */
	nics = json_array();
	for (int i = 0; i < REPORT_MAX_NICS + 1; i++)
		json_array_append_new(nics, json_pack("{s:s#,s:i,s:i,s:i,s:i}", "name", "eth", 3,
						      "rx_bytes", 0, "tx_bytes", 0, "rx_packets", 0,
						      "tx_packets", 0));
	bad_body("instances[0].network", json_deep_copy(nics),
		 "instances[0].network: want at most 256 entries, have 257");
	bad_body("host_stats.network", json_deep_copy(nics),
		 "host_stats.network: want at most 256 entries, have 257");
	json_decref(nics);
	nics = json_array();
	for (int i = 0; i < REPORT_MAX_POOLS + 1; i++)
		json_array_append_new(nics, json_pack("{s:s,s:s,s:i,s:i,s:i}", "name", "p", "driver", "dir",
						      "total", 0, "used", 0, "free", 0));
	bad_body("host_stats.storage_pools", nics,
		 "host_stats.storage_pools: want at most 256 entries, have 257");

	/* duplicates */
	bad_body("instances[2].project", json_string("default"),
		 "instances[2]: instance \"c1\" of project \"default\" is listed twice");
	bad_body("instances[1].name", json_string("c1"),
		 "instances[2]: instance \"c1\" of project \"shop\" is listed twice");
	bad_body("instances[0].network[1].name", json_string("eth0"),
		 "instances[0].network[1]: name \"eth0\" is listed twice");
	bad_body("host_stats.storage_pools", json_pack("[{s:s,s:s,s:i,s:i,s:i},{s:s,s:s,s:i,s:i,s:i}]",
						       "name", "p", "driver", "dir", "total", 1, "used", 0,
						       "free", 1, "name", "p", "driver", "zfs", "total", 2,
						       "used", 0, "free", 2),
		 "host_stats.storage_pools[1]: name \"p\" is listed twice");
	bad_body("host_stats.network", json_pack("[{s:s,s:i,s:i,s:i,s:i},{s:s,s:i,s:i,s:i,s:i}]",
						 "name", "br0", "rx_bytes", 1, "tx_bytes", 1,
						 "rx_packets", 1, "tx_packets", 1,
						 "name", "br0", "rx_bytes", 2, "tx_bytes", 2,
						 "rx_packets", 2, "tx_packets", 2),
		 "host_stats.network[1]: name \"br0\" is listed twice");
	/* the separator of the duplicate check is not a way around it */
	bad_body("instances[0].name", json_string("a\x1f" "b"),
		 "instances[0].name: want no control characters, have one at byte 1");
}

static void
body_strings(void **state)
{
	(void)state;
	bad_body("instances[0].started_at", json_string("yesterday"),
		 "instances[0].started_at: want an RFC 3339 time or null, have \"yesterday\"");
	bad_body("instances[0].started_at", json_string("2026-02-29T00:00:00Z"),
		 "instances[0].started_at: want an RFC 3339 time or null, have \"2026-02-29T00:00:00Z\"");
	bad_body("instances[0].started_at", json_string("2026-11-22T24:00:00Z"),
		 "instances[0].started_at: want an RFC 3339 time or null, have \"2026-11-22T24:00:00Z\"");
	bad_body("instances[0].started_at", json_string(""),
		 "instances[0].started_at: want a string of 1 to 255 bytes, have 0");
	/* control characters anywhere */
	bad_body("instances[0].name", json_string("c\x01"),
		 "instances[0].name: want no control characters, have one at byte 1");
	bad_body("instances[0].name", json_string("c1\n"),
		 "instances[0].name: want no control characters, have one at byte 2");
	bad_body("instances[0].project", json_string("\x7f" "default"),
		 "instances[0].project: want no control characters, have one at byte 0");
	bad_body("instances[0].status", json_string("Run\tning"),
		 "instances[0].status: want no control characters, have one at byte 3");
	bad_body("instances[0].plan", json_string("vps\r"),
		 "instances[0].plan: want no control characters, have one at byte 3");
	bad_body("instances[0].network[0].name", json_string("\x1b[31meth0"),
		 "instances[0].network[0].name: want no control characters, have one at byte 0");
	bad_body("host_stats.storage_pools[0].driver", json_string("d\x1fir"),
		 "host_stats.storage_pools[0].driver: want no control characters, have one at byte 1");
	bad_body("host", json_string("lab\x0b"), "host: want no control characters, have one at byte 3");
}

static void
body_not_json(void **state)
{
	size_t n = strlen(valid_body);
	char *big;
	struct report r;
	struct berr err;

	(void)state;
	bad_text("", 0, "not JSON: line 1 column 0: '[' or '{' expected near end of file");
	bad_text("hello", 5, "not JSON: line 1 column 5: '[' or '{' expected near 'hello'");
	bad_text("{\"schema\": 1,}", 15, "not JSON: line 1 column 14: string or '}' expected near '}'");
	bad_text("{\"schema\": 1}x", 15, "not JSON: line 1 column 14: end of file expected near 'x'");
	bad_text("{\"schema\": 1, \"schema\": 1}", 27,
		 "not JSON: line 1 column 22: duplicate object key near '\"schema\"'");
	bad_text("{\"a\": \"\\u0000\"}", 14,
		 "not JSON: line 1 column 14: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"\\u0000\"'");
	bad_text("{\"a\": \"\xff\"}", 10, "not JSON: line 1 column 7: unable to decode byte 0xff near '\"'");
	bad_text("{\"schema\": 1\n\n  ", 17, "not JSON: line 3 column 3: '}' expected near end of file");
	bad_text("{\"schema\":\x00 1}", 15, "not JSON: line 1 column 11: invalid token near end of file");
	/* a body cut anywhere is refused */
	for (size_t i = 0; i < n; i++) {
		err.msg[0] = '\0';
		assert_int_equal(report_parse(valid_body, i, &r, &err), -1);
		assert_int_equal(strncmp(err.msg, "not JSON: ", 10), 0);
		assert_null(r.root);
	}
	/* duplicate keys deeper down */
	{
		char *text = xstrdup(valid_body);
		char *p = strstr(text, "\"memory\": 268435456");

		memcpy(p, "\"disk\"  ", 8);
		assert_int_equal(report_parse(text, n, &r, &err), -1);
		assert_int_equal(strncmp(err.msg, "not JSON: line 1 column ", 24), 0);
		assert_non_null(strstr(err.msg, "duplicate object key near '\"disk\"'"));
		free(text);
	}
	/* deep nesting: jansson stops at its depth limit, no stack overflow */
	{
		size_t depth = 100000;
		char *deep = xmalloc(2 * depth + 2);

		memset(deep, '[', depth);
		memset(deep + depth, ']', depth);
		assert_int_equal(report_parse(deep, 2 * depth, &r, &err), -1);
		assert_non_null(strstr(err.msg, "maximum parsing depth reached"));
		free(deep);
	}
	/* size: 1 MiB is read, one byte more is not */
	big = xmalloc(REPORT_MAX_BODY + 1);
	memset(big, ' ', REPORT_MAX_BODY + 1);
	memcpy(big, valid_body, n);
	assert_int_equal(report_parse(big, REPORT_MAX_BODY, &r, &err), 0);
	report_release(&r);
	bad_text(big, REPORT_MAX_BODY + 1, "the body is 1048577 bytes: want at most 1048576");
	bad_text(big, SIZE_MAX, "the body is 18446744073709551615 bytes: want at most 1048576");
	free(big);
}

/* ---- nonces ---- */

#define N1 "0123456789abcdef0123456789abcdef"
#define N2 "fedcba9876543210fedcba9876543210"

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The i-th of a run of random-looking nonces, as agents make them. */
static void
nth_nonce(uint64_t i, char out[33])
{
	uint64_t x = i, a = splitmix(&x), b = splitmix(&x);

	snprintf(out, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

static void
nonces_basic(void **state)
{
	struct nonce_set *s = nonce_set_new();

	(void)state;
	assert_int_equal(nonce_set_count(s), 0);
	assert_int_equal(nonce_set_has(s, N1, 0), 0);
	nonce_set_add(s, N1, 1000);
	assert_int_equal(nonce_set_count(s), 1);
	assert_int_equal(nonce_set_has(s, N1, 0), 1);
	assert_int_equal(nonce_set_has(s, N1, 1000), 1);
	assert_int_equal(nonce_set_has(s, N1, 1001), 0);	/* seen before since_ms */
	assert_int_equal(nonce_set_has(s, N2, 0), 0);
	/* again: counted once, the latest time kept */
	nonce_set_add(s, N1, 500);
	assert_int_equal(nonce_set_count(s), 1);
	assert_int_equal(nonce_set_has(s, N1, 1000), 1);
	nonce_set_add(s, N1, 2000);
	assert_int_equal(nonce_set_count(s), 1);
	assert_int_equal(nonce_set_has(s, N1, 2000), 1);
	/* a time of 0 or before is still a time */
	nonce_set_add(s, N2, 0);
	assert_int_equal(nonce_set_count(s), 2);
	assert_int_equal(nonce_set_has(s, N2, INT64_MIN), 1);
	assert_int_equal(nonce_set_has(s, N2, 0), 1);
	assert_int_equal(nonce_set_has(s, N2, 2), 0);
	/* expire drops what was seen before the time */
	nonce_set_expire(s, 1500);
	assert_int_equal(nonce_set_count(s), 1);
	assert_int_equal(nonce_set_has(s, N1, 0), 1);
	assert_int_equal(nonce_set_has(s, N2, INT64_MIN), 0);
	nonce_set_expire(s, 2000);	/* at the time: kept */
	assert_int_equal(nonce_set_count(s), 1);
	nonce_set_expire(s, 2001);
	assert_int_equal(nonce_set_count(s), 0);
	assert_int_equal(nonce_set_has(s, N1, INT64_MIN), 0);
	nonce_set_add(s, N1, 3000);
	assert_int_equal(nonce_set_has(s, N1, 3000), 1);
	nonce_set_free(s);
	nonce_set_free(NULL);
}

static void
nonces_not_hex(void **state)
{
	static const char *const bad[] = {
		"", "0", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdeF",
		"0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
		"0123456789abcdef0123456789abcdeg", "0123456789abcdef 123456789abcdef",
		"0123456789abcdef0123456789abcde\n", "-123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	struct nonce_set *s = nonce_set_new();

	(void)state;
	nonce_set_add(s, N1, 1000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		nonce_set_add(s, bad[i], 1000);
		assert_int_equal(nonce_set_count(s), 1);
		assert_int_equal(nonce_set_has(s, bad[i], INT64_MIN), 0);
	}
	/* the same bytes in capitals are not the nonce */
	assert_int_equal(nonce_set_has(s, "0123456789ABCDEF0123456789ABCDEF", 0), 0);
	nonce_set_free(s);
}

static void
nonces_many(void **state)
{
	struct nonce_set *s = nonce_set_new();
	char n[33];

	(void)state;
	for (uint64_t i = 0; i < 100000; i++) {
		nth_nonce(i, n);
		nonce_set_add(s, n, (int64_t)i + 1);
	}
	assert_int_equal(nonce_set_count(s), 100000);
	for (uint64_t i = 0; i < 100000; i++) {
		nth_nonce(i, n);
		assert_int_equal(nonce_set_has(s, n, (int64_t)i + 1), 1);
		assert_int_equal(nonce_set_has(s, n, (int64_t)i + 2), 0);
	}
	for (uint64_t i = 100000; i < 110000; i++) {
		nth_nonce(i, n);
		assert_int_equal(nonce_set_has(s, n, INT64_MIN), 0);
	}
	/* the older half goes; the set shrinks and still finds the rest */
	nonce_set_expire(s, 50001);
	assert_int_equal(nonce_set_count(s), 50000);
	for (uint64_t i = 0; i < 100000; i++) {
		nth_nonce(i, n);
		assert_int_equal(nonce_set_has(s, n, INT64_MIN), i >= 50000);
	}
	nonce_set_expire(s, 100001);
	assert_int_equal(nonce_set_count(s), 0);
	nonce_set_expire(s, 100001);	/* shrinks back */
	nonce_set_expire(s, 100001);
	assert_int_equal(nonce_set_count(s), 0);
	for (uint64_t i = 0; i < 1000; i++) {
		nth_nonce(i, n);
		nonce_set_add(s, n, 200000);
	}
	assert_int_equal(nonce_set_count(s), 1000);
	nth_nonce(999, n);
	assert_int_equal(nonce_set_has(s, n, 200000), 1);
	nonce_set_free(s);
}

static void
nonces_collide(void **state)
{
	struct nonce_set *s = nonce_set_new();
	char n[33];

	(void)state;
	/* the same first 8 bytes (the slot): told apart by the rest */
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(n, sizeof(n), "00000000000000000000%012x", i);
		nonce_set_add(s, n, 10 + i % 2);
	}
	assert_int_equal(nonce_set_count(s), 3000);
	nonce_set_expire(s, 11);	/* the even ones go, from the middle of a chain */
	assert_int_equal(nonce_set_count(s), 1500);
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(n, sizeof(n), "00000000000000000000%012x", i);
		assert_int_equal(nonce_set_has(s, n, 0), i % 2);
	}
	nonce_set_free(s);
}

/* ---- usage ---- */

#define BOOT2	"11111111-2222-4333-8444-555555555555"
#define HOUR	3600000LL
#define H0	1795323600000LL		/* 2026-11-22T05:00:00Z */

static struct report_instance
inst(const char *status, int64_t started_ms, uint64_t cpu_ns)
{
	struct report_instance in;

	memset(&in, 0, sizeof(in));
	in.name = "c1";
	in.project = "default";
	in.type = "container";
	in.status = status;
	in.started_ms = started_ms;
	in.cpu_ns = cpu_ns;
	return in;
}

static struct usage_prev
prev_of(const char *boot, int64_t started_ms, int64_t time_ms, int running, uint64_t cpu_ns)
{
	struct usage_prev p;

	memset(&p, 0, sizeof(p));
	p.known = 1;
	snprintf(p.boot_id, sizeof(p.boot_id), "%s", boot);
	p.started_ms = started_ms;
	p.time_ms = time_ms;
	p.running = running;
	p.cpu_ns = cpu_ns;
	return p;
}

static void
check_delta(const struct usage_delta *d, int reset, int64_t from, int64_t to, uint64_t cpu)
{
	if (d->reset != reset || d->run_from_ms != from || d->run_to_ms != to || d->cpu_ns != cpu)
		fail_msg("have reset %d [%lld, %lld) cpu %llu; want reset %d [%lld, %lld) cpu %llu",
			 d->reset, (long long)d->run_from_ms, (long long)d->run_to_ms,
			 (unsigned long long)d->cpu_ns, reset, (long long)from, (long long)to,
			 (unsigned long long)cpu);
}

static void
usage_instances(void **state)
{
	struct usage_prev none, p;
	struct report_instance in;
	struct usage_delta d;

	(void)state;
	memset(&none, 0, sizeof(none));

	/* first sighting: all of the counter, running since its start */
	in = inst("Running", H0 - HOUR, 5000);
	usage_instance_delta(&none, BOOT, H0, &in, &d);
	check_delta(&d, 1, H0 - HOUR, H0, 5000);
	/* first sighting of an instance started long ago: an hour at most */
	in = inst("Running", H0 - 30 * 24 * HOUR, 5000);
	usage_instance_delta(&none, BOOT, H0, &in, &d);
	check_delta(&d, 1, H0 - HOUR, H0, 5000);
	/* a month since the previous report, still running: a day at most */
	p = prev_of(BOOT, H0 - 40 * 24 * HOUR, H0 - 30 * 24 * HOUR, 1, 5000);
	in = inst("Running", H0 - 40 * 24 * HOUR, 9000);
	usage_instance_delta(&p, BOOT, H0, &in, &d);
	check_delta(&d, 0, H0 - 24 * HOUR, H0, 4000);
	/* first sighting without a start time: no running time yet */
	in = inst("Running", 0, 5000);
	usage_instance_delta(&none, BOOT, H0, &in, &d);
	check_delta(&d, 1, H0, H0, 5000);
	/* first sighting, started "after" the report (clocks apart): none */
	in = inst("Running", H0 + 5000, 7);
	usage_instance_delta(&none, BOOT, H0, &in, &d);
	check_delta(&d, 1, H0, H0, 7);
	/* first sighting, stopped */
	in = inst("Stopped", 0, 0);
	usage_instance_delta(&none, BOOT, H0, &in, &d);
	check_delta(&d, 1, H0, H0, 0);

	/* steady running: the difference, from the previous report */
	p = prev_of(BOOT, H0 - HOUR, H0, 1, 5000);
	in = inst("Running", H0 - HOUR, 8000);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 0, H0, H0 + 30000, 3000);
	/* no progress */
	in = inst("Running", H0 - HOUR, 5000);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 0, H0, H0 + 30000, 0);
	/* frozen counts as running */
	in = inst("Frozen", H0 - HOUR, 5000);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 0, H0, H0 + 30000, 0);

	/* restarted between the reports: new started_at, counted from it */
	in = inst("Running", H0 + 10000, 300);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0 + 10000, H0 + 30000, 300);
	/* restarted, its start said to be before the previous report: from that report */
	in = inst("Running", H0 - 10000, 300);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0, H0 + 30000, 300);
	/* restarted with a counter higher than before: still all of it */
	in = inst("Running", H0 + 10000, 9000);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0 + 10000, H0 + 30000, 9000);

	/* the host rebooted: new boot id, even with the same start and a higher counter */
	in = inst("Running", H0 - HOUR, 9000);
	usage_instance_delta(&p, BOOT2, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0, H0 + 30000, 9000);
	in = inst("Running", H0 + 20000, 100);
	usage_instance_delta(&p, BOOT2, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0 + 20000, H0 + 30000, 100);

	/* the counter went down without a restart: a reset, the new value */
	in = inst("Running", H0 - HOUR, 4999);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0, H0 + 30000, 4999);

	/* stopped: cpu still counted, no running time */
	in = inst("Stopped", H0 - HOUR, 5100);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 0, H0 + 30000, H0 + 30000, 100);
	in = inst("Stopped", 0, 0);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0 + 30000, H0 + 30000, 0);
	/* was stopped, now running with the same start: from the previous report */
	p = prev_of(BOOT, H0 - HOUR, H0, 0, 5000);
	in = inst("Running", H0 - HOUR, 5000);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 0, H0, H0 + 30000, 0);
	/* was stopped, started since */
	p = prev_of(BOOT, 0, H0, 0, 0);
	in = inst("Running", H0 + 1000, 50);
	usage_instance_delta(&p, BOOT, H0 + 30000, &in, &d);
	check_delta(&d, 1, H0 + 1000, H0 + 30000, 50);

	/* the clock went backwards: no negative interval */
	p = prev_of(BOOT, H0 - HOUR, H0, 1, 5000);
	in = inst("Running", H0 - HOUR, 6000);
	usage_instance_delta(&p, BOOT, H0 - 60000, &in, &d);
	check_delta(&d, 0, H0 - 60000, H0 - 60000, 1000);
	assert_true(d.run_from_ms <= d.run_to_ms);
	in = inst("Running", H0 + 10000, 6000);	/* and a restart */
	usage_instance_delta(&p, BOOT, H0 - 60000, &in, &d);
	check_delta(&d, 1, H0 - 60000, H0 - 60000, 6000);
	assert_true(d.run_from_ms <= d.run_to_ms);
}

static void
usage_counters(void **state)
{
	(void)state;
	assert_true(usage_counter_delta(0, 1, 10, 15) == 5);
	assert_true(usage_counter_delta(0, 1, 10, 10) == 0);
	assert_true(usage_counter_delta(1, 1, 10, 15) == 15);
	assert_true(usage_counter_delta(0, 0, 10, 15) == 15);
	assert_true(usage_counter_delta(0, 1, 15, 10) == 10);	/* went down */
	assert_true(usage_counter_delta(0, 1, 0, UINT64_MAX) == UINT64_MAX);
	assert_true(usage_counter_delta(0, 1, UINT64_MAX, 0) == 0);
	assert_true(usage_counter_delta(0, 1, UINT64_MAX - 1, UINT64_MAX) == 1);
	assert_int_equal(usage_is_running("Running"), 1);
	assert_int_equal(usage_is_running("Frozen"), 1);
	assert_int_equal(usage_is_running("Stopped"), 0);
	assert_int_equal(usage_is_running("running"), 0);
	assert_int_equal(usage_is_running("Error"), 0);
	assert_int_equal(usage_is_running(""), 0);
	assert_int_equal(usage_is_running(NULL), 0);
}

struct pieces {
	int n;
	int stop_at;
	int64_t hour[16], ms[16];
};

static int
piece(void *ctx, int64_t hour_ms, int64_t ms)
{
	struct pieces *p = ctx;

	if (p->n < 16) {
		p->hour[p->n] = hour_ms;
		p->ms[p->n] = ms;
	}
	p->n++;
	return p->n == p->stop_at ? 7 : 0;
}

struct sum {
	int64_t total, next, hours;
};

static int
add_piece(void *ctx, int64_t hour_ms, int64_t ms)
{
	struct sum *s = ctx;

	/* in order, contiguous, each within its hour */
	if (((hour_ms % HOUR) + HOUR) % HOUR != 0 || ms <= 0 || ms > HOUR ||
	    s->next < hour_ms || s->next + ms > hour_ms + HOUR)
		return 1;
	s->next += ms;
	s->total += ms;
	s->hours++;
	return 0;
}

static void
usage_hours(void **state)
{
	struct pieces p;
	uint64_t x = 42;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(usage_split_hours(H0, H0, piece, &p), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(usage_split_hours(H0 + 10, H0, piece, &p), 0);
	assert_int_equal(p.n, 0);

	memset(&p, 0, sizeof(p));
	assert_int_equal(usage_split_hours(H0 + 10, H0 + 20, piece, &p), 0);
	assert_int_equal(p.n, 1);
	assert_true(p.hour[0] == H0 && p.ms[0] == 10);

	memset(&p, 0, sizeof(p));
	assert_int_equal(usage_split_hours(H0, H0 + HOUR, piece, &p), 0);
	assert_int_equal(p.n, 1);
	assert_true(p.hour[0] == H0 && p.ms[0] == HOUR);

	memset(&p, 0, sizeof(p));
	assert_int_equal(usage_split_hours(H0 + HOUR - 1, H0 + HOUR + 1, piece, &p), 0);
	assert_int_equal(p.n, 2);
	assert_true(p.hour[0] == H0 && p.ms[0] == 1);
	assert_true(p.hour[1] == H0 + HOUR && p.ms[1] == 1);

	memset(&p, 0, sizeof(p));
	assert_int_equal(usage_split_hours(H0 + 3000000, H0 + 2 * HOUR + 5, piece, &p), 0);
	assert_int_equal(p.n, 3);
	assert_true(p.hour[0] == H0 && p.ms[0] == 600000);
	assert_true(p.hour[1] == H0 + HOUR && p.ms[1] == HOUR);
	assert_true(p.hour[2] == H0 + 2 * HOUR && p.ms[2] == 5);

	/* before 1970 too */
	memset(&p, 0, sizeof(p));
	assert_int_equal(usage_split_hours(-1, 1, piece, &p), 0);
	assert_int_equal(p.n, 2);
	assert_true(p.hour[0] == -HOUR && p.ms[0] == 1);
	assert_true(p.hour[1] == 0 && p.ms[1] == 1);
	memset(&p, 0, sizeof(p));
	assert_int_equal(usage_split_hours(-HOUR - 5, -HOUR, piece, &p), 0);
	assert_int_equal(p.n, 1);
	assert_true(p.hour[0] == -2 * HOUR && p.ms[0] == 5);

	/* stops when told, and says what it was told */
	memset(&p, 0, sizeof(p));
	p.stop_at = 2;
	assert_int_equal(usage_split_hours(H0, H0 + 5 * HOUR, piece, &p), 7);
	assert_int_equal(p.n, 2);

	/* exact sums over many intervals */
	for (int i = 0; i < 2000; i++) {
		int64_t from = H0 + (int64_t)(splitmix(&x) % (100 * HOUR)) - 50 * HOUR;
		int64_t len = (int64_t)(splitmix(&x) % (i % 2 ? 3 * HOUR : 40 * HOUR));
		struct sum s = { 0, from, 0 };

		if (i % 7 == 0)
			from -= ((from % HOUR) + HOUR) % HOUR;	/* on an hour */
		s.next = from;
		assert_int_equal(usage_split_hours(from, from + len, add_piece, &s), 0);
		assert_true(s.total == len);
		assert_true(s.next == from + len);
		if (len)
			assert_true(s.hours == (from + len - 1) / HOUR - from / HOUR + 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope_good),
		cmocka_unit_test(envelope_missing),
		cmocka_unit_test(envelope_host),
		cmocka_unit_test(envelope_boot_id),
		cmocka_unit_test(envelope_seq),
		cmocka_unit_test(envelope_time),
		cmocka_unit_test(envelope_nonce),
		cmocka_unit_test(envelope_signature),
		cmocka_unit_test(envelope_headers),
		cmocka_unit_test(signed_string),
		cmocka_unit_test_setup_teardown(sign_verify, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(key_files, tmp_setup, tmp_teardown),
		cmocka_unit_test(pubkey_parse),
		cmocka_unit_test(base64),
		cmocka_unit_test(body_valid),
		cmocka_unit_test(body_without_drivers),
		cmocka_unit_test(body_unknown_keys),
		cmocka_unit_test(body_types),
		cmocka_unit_test(body_numbers),
		cmocka_unit_test(body_lists),
		cmocka_unit_test(body_strings),
		cmocka_unit_test(body_not_json),
		cmocka_unit_test(nonces_basic),
		cmocka_unit_test(nonces_not_hex),
		cmocka_unit_test(nonces_many),
		cmocka_unit_test(nonces_collide),
		cmocka_unit_test(usage_instances),
		cmocka_unit_test(usage_counters),
		cmocka_unit_test(usage_hours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
