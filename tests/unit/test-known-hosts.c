/*
 * test-known-hosts.c - manifest/known_hosts.c against lines written by
 * OpenSSH's own tools (ssh-keygen made the keys and hashed the entry).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "manifest/known_hosts.h"

#define KEY_A "AAAAC3NzaC1lZDI1NTE5AAAAIGAJKk5V6bTSfQf0UuQOxaWWNxbF0/gQZRW1k8rCvtgv"
#define KEY_B "AAAAC3NzaC1lZDI1NTE5AAAAIBv3Ub+3RMDlKmH+QsN30pEkuJtiDZw14U0gTJ4JlcXA"
/* ssh-keygen -H of "git.example.org ssh-ed25519 KEY_A" */
#define HASHED_A "|1|BTRgC8EiV8BwQHtjgCHBHwvWVGY=|/UP/o83nEwNH8JDT9az5rZsVbSA= ssh-ed25519 " KEY_A

static unsigned char a[64], b[64];
static size_t alen, blen;

/* The bytes of a base64 key (no padding: a 51-byte blob is 68 characters). */
static size_t
decode(const char *b64, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)strlen(b64));
	size_t pad = 0;

	assert_true(n > 0);
	while (pad < 2 && b64[strlen(b64) - 1 - pad] == '=')
		pad++;
	return (size_t)n - pad;
}

static enum kh_result
check(const char *text, const char *host, int port, const unsigned char *key, size_t len)
{
	return known_hosts_check(text, strlen(text), host, port, "ssh-ed25519", key, len);
}

static void
test_plain(void **state)
{
	const char *kh = "# a comment\n\ngit.example.org,10.0.0.7 ssh-ed25519 " KEY_A " a\n"
			 "[git.example.org]:2222 ssh-ed25519 " KEY_B "\n";

	(void)state;
	alen = decode(KEY_A, a);
	blen = decode(KEY_B, b);
	assert_int_equal(alen, 51);
	assert_int_equal(check(kh, "git.example.org", 22, a, alen), KH_MATCH);
	assert_int_equal(check(kh, "10.0.0.7", 22, a, alen), KH_MATCH);
	assert_int_equal(check(kh, "GIT.example.org", 22, a, alen), KH_MATCH);
	/* another key of the same type: changed, a possible attack */
	assert_int_equal(check(kh, "git.example.org", 22, b, blen), KH_CHANGED);
	/* the port is part of the name */
	assert_int_equal(check(kh, "git.example.org", 2222, b, blen), KH_MATCH);
	assert_int_equal(check(kh, "git.example.org", 2222, a, alen), KH_CHANGED);
	assert_int_equal(check(kh, "other.example.org", 22, a, alen), KH_UNKNOWN);
	/* another key type only: unknown for this type */
	assert_int_equal(known_hosts_check(kh, strlen(kh), "git.example.org", 22,
					   "ecdsa-sha2-nistp256", a, alen), KH_UNKNOWN);
}

static void
test_hashed_patterns_revoked(void **state)
{
	const char *pat = "*.example.org,!evil.example.org ssh-ed25519 " KEY_A "\n";
	const char *rev = "@revoked * ssh-ed25519 " KEY_B "\n* ssh-ed25519 " KEY_B "\n";
	const char *junk = "garbage\n|1|x|y ssh-ed25519 " KEY_A "\n@cert-authority * ssh-ed25519 "
			   KEY_A "\nhost ssh-ed25519 !!!notbase64\n";

	(void)state;
	assert_int_equal(check(HASHED_A "\n", "git.example.org", 22, a, alen), KH_MATCH);
	assert_int_equal(check(HASHED_A "\n", "git.example.com", 22, a, alen), KH_UNKNOWN);
	assert_int_equal(check(HASHED_A "\n", "git.example.org", 22, b, blen), KH_CHANGED);
	assert_int_equal(check(pat, "git.example.org", 22, a, alen), KH_MATCH);
	assert_int_equal(check(pat, "evil.example.org", 22, a, alen), KH_UNKNOWN);
	assert_int_equal(check(rev, "git.example.org", 22, b, blen), KH_REVOKED);
	/* lines that do not parse, and CA lines, count for nothing */
	assert_int_equal(check(junk, "git.example.org", 22, a, alen), KH_UNKNOWN);
	assert_int_equal(check("", "git.example.org", 22, a, alen), KH_UNKNOWN);
}

static void
test_fingerprint_and_line(void **state)
{
	char fp[64], *line;

	(void)state;
	ssh_key_fingerprint(a, alen, fp);
	/* as ssh-keygen -lf prints it */
	assert_string_equal(fp, "SHA256:Nun6EUWdGXQ9/4ptkIt6b7coJlGZQ+EScRDRh1hoXc0");
	line = known_hosts_line("git.example.org", 22, "ssh-ed25519", a, alen);
	assert_string_equal(line, "git.example.org ssh-ed25519 " KEY_A);
	free(line);
	line = known_hosts_line("git.example.org", 2222, "ssh-ed25519", a, alen);
	assert_string_equal(line, "[git.example.org]:2222 ssh-ed25519 " KEY_A);
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_hashed_patterns_revoked),
		cmocka_unit_test(test_fingerprint_and_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
