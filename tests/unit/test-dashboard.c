/*
 * Unit tests for serve/dashboard.c: the page is one self-contained file
 * whose inline style and script its Content-Security-Policy names by
 * their SHA-256, and nothing in it needs what that policy forbids.
 * (tests/integration/test-dashboard.sh runs it in a real browser.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "serve/dashboard.h"
#include "util/banned.h"

/* How many times needle occurs in the page. */
static size_t
count(const struct dashboard *d, const char *needle)
{
	const char *p = d->html, *end = d->html + d->len;
	size_t n = 0;

	while ((p = memmem(p, (size_t)(end - p), needle, strlen(needle)))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* "'sha256-...'" of the text between the only open tag and the last close tag. */
static void
hash_of(const struct dashboard *d, const char *open, const char *close, char *out, size_t outlen)
{
	const char *s = memmem(d->html, d->len, open, strlen(open)), *e = NULL, *p;
	unsigned char md[32], b64[45];
	unsigned int len = 0;

	assert_non_null(s);
	s += strlen(open);
	for (p = s; (p = memmem(p, d->len - (size_t)(p - d->html), close, strlen(close))); p++)
		e = p;
	assert_non_null(e);
	assert_true(EVP_Digest(s, (size_t)(e - s), md, &len, EVP_sha256(), NULL));
	assert_int_equal(len, 32);
	EVP_EncodeBlock(b64, md, 32);
	snprintf(out, outlen, "'sha256-%s'", (const char *)b64);
}

static void
one_file(void **state)
{
	const struct dashboard *d = dashboard_page();

	(void)state;
	assert_ptr_equal(dashboard_page(), d);
	assert_true(d->len > 1000);
	assert_int_equal(strlen(d->html), d->len);
	assert_memory_equal(d->html, "<!doctype html>", 15);
	/* one style and one script, inline */
	assert_int_equal(count(d, "<style"), 1);
	assert_int_equal(count(d, "<style>"), 1);
	assert_int_equal(count(d, "<script"), 1);
	assert_int_equal(count(d, "<script>"), 1);
	assert_int_equal(count(d, "</script>"), 1);
	/* nothing from elsewhere: hosts have no internet */
	assert_int_equal(count(d, "http://"), 0);
	assert_int_equal(count(d, "https://"), 0);
	assert_int_equal(count(d, " src="), 0);
	assert_int_equal(count(d, "<link"), 0);
	assert_int_equal(count(d, "<img"), 0);
	assert_int_equal(count(d, "@import"), 0);
	assert_int_equal(count(d, "url("), 0);
}

/* What the policy forbids and a browser would silently drop. */
static void
nothing_forbidden(void **state)
{
	static const char *const forbidden[] = {
		" style=\"", " onclick=", " onload=", " onsubmit=", " oninput=", " onchange=",
		"javascript:", "eval(", "new Function", "innerHTML", "outerHTML",
		"insertAdjacentHTML", "document.write",
	};
	const struct dashboard *d = dashboard_page();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forbidden) / sizeof(*forbidden); i++)
		if (count(d, forbidden[i]))
			fail_msg("the page has %s", forbidden[i]);
}

static void
policy(void **state)
{
	const struct dashboard *d = dashboard_page();
	char script[64], style[64], want[512];

	(void)state;
	hash_of(d, "<script>", "</script>", script, sizeof(script));
	hash_of(d, "<style>", "</style>", style, sizeof(style));
	snprintf(want, sizeof(want), "default-src 'self'; script-src %s; style-src %s; "
		 "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		 script, style);
	assert_string_equal(d->csp, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_file),
		cmocka_unit_test(nothing_forbidden),
		cmocka_unit_test(policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
