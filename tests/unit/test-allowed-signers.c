/*
 * test-allowed-signers.c - manifest/allowed_signers.c: the lines
 * ssh-keygen(1) documents, and lines that must make the file an error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "manifest/allowed_signers.h"
#include "util/base64.h"
#include "util/xalloc.h"

/* tests/data/sshsig/ed25519.pub and other.pub */
#define KEY_A "AAAAC3NzaC1lZDI1NTE5AAAAIL1Hq0HlzjEoJNTiFY8QbCsQPVEw1gNSKUHrMgVUn/rM"
#define KEY_B "AAAAC3NzaC1lZDI1NTE5AAAAIFjBSnYkyfsx2nNrdY1/Q3F+oUcYhCPv2SixVRhjhEP4"
#define T2026 INT64_C(1767225600)	/* 2026-01-01T00:00:00Z */

static unsigned char a[64], b[64];
static size_t alen, blen;

static int
setup(void **state)
{
	(void)state;
	alen = (size_t)base64_decode(KEY_A, strlen(KEY_A), a, sizeof(a));
	blen = (size_t)base64_decode(KEY_B, strlen(KEY_B), b, sizeof(b));
	return alen == 51 && blen == 51 ? 0 : -1;
}

static int
find(const char *text, const unsigned char *key, size_t len, int64_t when, struct as_match *m,
     struct berr *err)
{
	return allowed_signers_find("signers", text, strlen(text), key, len, "git", when, m, err);
}

static void
test_lines(void **state)
{
	struct as_match m;
	struct berr err;
	const char *text =
		"# who may sign the fleet\n"
		"\n"
		"  alice@example.org,ops@example.org " "ssh-ed25519 " KEY_A " alice's laptop\r\n"
		"\"bob@example.org\" namespaces=\"file,git\" ssh-ed25519 " KEY_B "\n";

	(void)state;
	assert_int_equal(find(text, a, alen, T2026, &m, &err), AS_ALLOWED);
	assert_string_equal(m.principals, "alice@example.org,ops@example.org");
	assert_int_equal(m.line, 3);
	as_match_release(&m);
	assert_int_equal(find(text, b, blen, T2026, &m, &err), AS_ALLOWED);
	assert_string_equal(m.principals, "bob@example.org");
	assert_int_equal(m.line, 4);
	as_match_release(&m);
	/* a key not there, and an empty file */
	assert_int_equal(find("bob@example.org ssh-ed25519 " KEY_B, a, alen, T2026, &m, &err),
			 AS_UNKNOWN);
	assert_null(m.principals);
	assert_int_equal(find("", a, alen, T2026, &m, &err), AS_UNKNOWN);
	as_match_release(&m);
	as_match_release(NULL);
}

static void
test_options(void **state)
{
	struct as_match m;
	struct berr err;

	(void)state;
	assert_int_equal(find("a namespaces=\"file\" ssh-ed25519 " KEY_A "\n", a, alen, T2026, &m,
			      &err), AS_NAMESPACE);
	as_match_release(&m);
	assert_int_equal(find("a namespaces=\"g*,!file\" ssh-ed25519 " KEY_A "\n", a, alen, T2026,
			      &m, &err), AS_ALLOWED);
	as_match_release(&m);
	assert_int_equal(find("a namespaces=\"*,!git\" ssh-ed25519 " KEY_A "\n", a, alen, T2026,
			      &m, &err), AS_NAMESPACE);
	as_match_release(&m);
	/* namespaces are case-sensitive, as ssh-keygen has them */
	assert_int_equal(find("a namespaces=\"GIT\" ssh-ed25519 " KEY_A "\n", a, alen, T2026, &m,
			      &err), AS_NAMESPACE);
	as_match_release(&m);
	/* times: UTC with Z; the edges are valid */
	assert_int_equal(find("a valid-after=\"20260101Z\" ssh-ed25519 " KEY_A, a, alen, T2026, &m,
			      &err), AS_ALLOWED);
	assert_int_equal(m.valid_after, T2026);
	as_match_release(&m);
	assert_int_equal(find("a valid-after=\"20260101000001Z\" ssh-ed25519 " KEY_A, a, alen,
			      T2026, &m, &err), AS_NOT_YET);
	assert_int_equal(m.valid_after, T2026 + 1);
	as_match_release(&m);
	assert_int_equal(find("a valid-before=\"202601010000Z\" ssh-ed25519 " KEY_A, a, alen,
			      T2026, &m, &err), AS_ALLOWED);
	as_match_release(&m);
	assert_int_equal(find("a valid-before=\"20251231235959Z\",namespaces=\"git\" ssh-ed25519 "
			      KEY_A, a, alen, T2026, &m, &err), AS_EXPIRED);
	assert_int_equal(m.valid_before, T2026 - 1);
	as_match_release(&m);
	/* leap day, and the year 2100 (no leap day) */
	assert_int_equal(find("a valid-before=\"20240229Z\" ssh-ed25519 " KEY_A, a, alen,
			      INT64_C(1709164800), &m, &err), AS_ALLOWED);
	as_match_release(&m);
	assert_int_equal(find("a valid-after=\"21000301Z\" ssh-ed25519 " KEY_A, a, alen,
			      INT64_C(4107542399), &m, &err), AS_NOT_YET);
	as_match_release(&m);
	/* the first line that allows the key wins over an earlier expired one */
	assert_int_equal(find("old valid-before=\"20200101Z\" ssh-ed25519 " KEY_A "\n"
			      "new ssh-ed25519 " KEY_A "\n", a, alen, T2026, &m, &err),
			 AS_ALLOWED);
	assert_string_equal(m.principals, "new");
	as_match_release(&m);
	assert_int_equal(find("old valid-before=\"20200101Z\" ssh-ed25519 " KEY_A "\n"
			      "x namespaces=\"file\" ssh-ed25519 " KEY_A "\n", a, alen, T2026, &m,
			      &err), AS_EXPIRED);
	assert_string_equal(m.principals, "old");
	as_match_release(&m);
	/* a CA signs certificates, not commits */
	assert_int_equal(find("*@example.org cert-authority ssh-ed25519 " KEY_A, a, alen, T2026,
			      &m, &err), AS_UNKNOWN);
	as_match_release(&m);
}

static void
expect_bad(const char *text, size_t len, const char *want)
{
	struct as_match m;
	struct berr err = { "" };

	assert_int_equal(allowed_signers_find("signers", text, len, a, alen, "git", T2026, &m,
					      &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("want \"%s\" in \"%s\"", want, err.msg);
	as_match_release(&m);
}

static void
expect_str(const char *text, const char *want)
{
	expect_bad(text, strlen(text), want);
}

static void
test_malformed(void **state)
{
	char *big;

	(void)state;
	expect_str("alice\n", "signers:1: want a key type after the principals");
	expect_str("# c\nalice ssh-ed25519\n", "signers:2: want the base64 of the ssh-ed25519");
	expect_str("alice ssh-ed25519 AAAA*AAA\n", "signers:1: want the base64");
	expect_str("alice ssh-ed25519 " KEY_A "A\n", "want the base64");
	expect_str("alice ssh-rsa " KEY_A "\n", "want a key of type ssh-rsa");
	expect_str("alice nope ssh-ed25519 " KEY_A "\n", "have \"nope\"");
	expect_str("alice namespaces=git ssh-ed25519 " KEY_A "\n",
		   "want a value in double quotes");
	expect_str("alice namespaces=\"git\",namespaces=\"file\" ssh-ed25519 " KEY_A "\n",
		   "(each once)");
	expect_str("alice valid-after=\"2026-01-01\" ssh-ed25519 " KEY_A "\n",
		   "valid-after: want a time like");
	expect_str("alice valid-before=\"20261301Z\" ssh-ed25519 " KEY_A "\n",
		   "have \"20261301Z\"");
	expect_str("\"alice ssh-ed25519 " KEY_A "\n", "want a closing double quote");
	expect_str("alice namespaces=\"git ssh-ed25519 " KEY_A "\n",
		   "want a closing double quote");
	expect_str("alice cert-authority\n", "want a key type after the principals");
	expect_bad("alice ssh-ed25519 " KEY_A "\0\n", sizeof("alice ssh-ed25519 " KEY_A "\0\n") - 1,
		   "signers:1: want text, have a NUL");
	/* a bad line after the key sought still makes the file an error */
	expect_str("alice ssh-ed25519 " KEY_A "\nbob\n", "signers:2:");
	big = xmalloc(AS_MAX_LINE + 2);
	memset(big, 'a', AS_MAX_LINE + 1);
	expect_bad(big, AS_MAX_LINE + 1, "want a line of at most");
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
