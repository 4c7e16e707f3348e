/*
 * test-rx.c - the regular-expression matcher of util/rx.c.
 *
 * Every pattern of schemas/ on hand-picked strings; rx_match against
 * regexec (REG_EXTENDED|REG_NOSUB, REG_STARTEND) on random strings and
 * mutations of matching ones; inputs that make backtracking matchers take
 * exponential time; and the syntax rx_compile must refuse.
 */
#include <dirent.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/rx.h"
#include "util/banned.h"

#define SCHEMAS SOURCE_ROOT "/schemas"
/* Strings compared with regexec per pattern. */
#define DIFF_ROUNDS	100000
#define MAX_SAMPLES	16

#define K43 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123+/9"
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define A61 "bcdefghijklmnopqrstuvwxyz-0123456789bcdefghijklmnopqrstuvwxyz"

struct sample {
	const char *s;
	size_t len;		/* 0: strlen(s) */
};

struct pcase {
	const char *pattern;
	struct sample yes[MAX_SAMPLES];
	struct sample no[MAX_SAMPLES];
};

#define S(x) { x, 0 }
#define SN(x) { x, sizeof(x) - 1 }	/* with NUL bytes */

/* Every pattern the schemas use; schema_patterns_listed checks the list. */
static const struct pcase schema_cases[] = {
	{ "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
	  { S("a"), S("0"), S("web-01"), S("a--b"), S("a" A61 "z") },
	  { S(""), S("-a"), S("a-"), S("A"), S("web_01"), S("a b"), S("a\n"),
	    SN("web\0x"), S("a" A61 "zz"), S("a.b") } },
	{ "^[a-z0-9]([-a-z0-9_./]{0,61}[a-z0-9])?$",
	  { S("images/base.v2"), S("a_b"), S("x"), S("a" A61 "z") },
	  { S("a/"), S("/a"), S("a b"), S("_a"), S("a" A61 "z/"), S("") } },
	{ "^[0-9]+(B|KiB|MiB|GiB|TiB|PiB)?$",
	  { S("4096"), S("64GiB"), S("1B"), S("0PiB") },
	  { S("GiB"), S("64GB"), S("64 GiB"), S("64gib"), S(""), S("64GiBB"),
	    SN("64\0GiB") } },
	{ "^[0-9]+(ms|s|m|h|d)$",
	  { S("30s"), S("250ms"), S("5m"), S("2h"), S("30d") },
	  { S("30"), S("s"), S("30sm"), S("30 s"), S("30S"), S("") } },
	{ "^(100(\\.0{1,2})?|[0-9]{1,2}(\\.[0-9]{1,2})?)%$",
	  { S("100%"), S("100.0%"), S("100.00%"), S("0%"), S("12.5%"),
	    S("99.99%"), S("7%") },
	  { S("100.1%"), S("101%"), S("1000%"), S("12.345%"), S("%"),
	    S("12.%"), S("12"), S(".5%"), S("100.000%"), S("1 %") } },
	{ "^[A-Z]{3}$",
	  { S("EUR"), S("USD") },
	  { S("EU"), S("EURO"), S("eur"), S(""), S("EU1") } },
	{ "^[0-9]+(\\.[0-9]+)?$",
	  { S("1"), S("1.5"), S("0.25"), S("123456") },
	  { S("1."), S(".5"), S("1.5.6"), S("1,5"), S(""), S("-1") } },
	{ "^[a-z0-9][a-z0-9._/-]*$",
	  { S("a"), S("a-b/c.d_e"), S("9/"), S("a-") },
	  { S("-a"), S("A"), S("a b"), S(""), S("a\\b"), S("aB") } },
	{ "^[0-9a-f]{64}$",
	  { S(H64) },
	  { S("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"),
	    S(H64 "0"), S("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"),
	    S("") } },
	{ "^(https://[^/ ]+|unix:///[^ ]+)$",
	  { S("https://example.org:8443"), S("unix:///run/incus/unix.socket"),
	    S("https://h"), SN("https://a\0b") },
	  { S("https://a/b"), S("https://"), S("http://a"), S("unix:///a b"),
	    S("https://a b"), S("unix://"), S(" https://a") } },
	{ "^https://[^/ ]+$",
	  { S("https://h"), S("https://10.0.0.1:8443") },
	  { S("https://h/"), S("https://"), S("https://a b") } },
	{ "^https://",
	  { S("https://x/y"), S("https://") },
	  { S("http://"), S(" https://"), S("HTTPS://"), S("") } },
	{ "^[a-z]+-[0-9][0-9.]*$",
	  { S("incus-6.0"), S("lxd-5"), S("a-1..") },
	  { S("incus-"), S("incus6"), S("-6"), S("incus-6a"), S("Incus-6") } },
	{ "^ed25519:[A-Za-z0-9+/]{43}=$",
	  { S("ed25519:" K43 "=") },
	  { S("ed25519:" K43), S("ed25519:" K43 "a="), S("ed25519:bcd" K43 "="),
	    S("ed25519:" K43 "=="), S("ed25519:abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123-/9="),
	    S("rsa:" K43 "=") } },
	{ "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$",
	  { S("eth0"), S("Eth0.1_a-b"), S("9") },
	  { S(""), S("-eth0"), S("eth 0"), S("eth/0"), S("a0123456789012345678901234567890123456789012345678901234567890123") } },
	{ "^(https?|unix)://",
	  { S("http://"), S("https://x"), S("unix://") },
	  { S("ftp://"), S("httpss://"), S("http:/"), S(" http://") } },
	{ "^[^ ]+( [^ ]+){4}$",
	  { S("0 9 * * 1-5"), S("*/15 2-4 1,15 jan-mar sun"), S("a b c d e") },
	  { S("0 9 * *"), S("0 9 * * 1 2"), S(" 0 9 * * 1"), S("0 9 * * 1 "), S("0  9 * * 1"),
	    S("") } },
	{ "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$",
	  { S("UTC"), S("Europe/Berlin"), S("America/Argentina/Buenos_Aires"), S("Etc/GMT+5") },
	  { S(""), S("/etc/passwd"), S("Europe/"), S("Europe//Berlin"), S("../x"), S("Europe/Ber lin"),
	    S("a.b") } },
};

/* More patterns of the subset, for the comparison with regexec. */
static const struct pcase extra_cases[] = {
	{ "a", { S("a"), S("xax") }, { S(""), S("b") } },
	{ "abc", { S("xxabcxx") }, { S("abxc") } },
	{ "a|b", { S("b") }, { S("c") } },
	{ "^a|b$", { S("ax"), S("xb") }, { S("xa"), S("bx") } },
	{ "(^a|b)c", { S("ac"), S("xbc") }, { S("xac") } },
	{ "x(^a)", { { NULL, 0 } }, { S("xa") } },
	{ "(a|$)", { S("x"), S("") }, { { NULL, 0 } } },
	{ "(a$|b)c", { S("bc") }, { S("ac") } },
	{ "^$", { S("") }, { S("a"), SN("\0") } },
	{ "$", { S(""), S("abc") }, { { NULL, 0 } } },
	{ "^", { S("") }, { { NULL, 0 } } },
	{ ".", { S("a"), S("\n") }, { S(""), SN("\0") } },
	{ "a.c", { S("abc"), S("a\nc") }, { SN("a\0c") } },
	{ "^.*$", { S("anything") }, { SN("a\0") } },
	{ "a.{2,5}b", { S("axxb"), S("axxxxxb") }, { S("axb"), S("axxxxxxb") } },
	{ "[^a-c]x", { S("dx"), SN("\0x"), S("\nx") }, { S("ax"), S("x") } },
	{ "[]a]", { S("]"), S("a") }, { S("b") } },
	{ "[^]a]", { S("b") }, { S("]"), S("a") } },
	{ "[a-]", { S("-") }, { S("b") } },
	{ "[-a]", { S("-") }, { S("b") } },
	{ "[-]", { S("-") }, { S("b") } },
	{ "[[]", { S("[") }, { S("]") } },
	{ "x[ -,]y", { S("x y"), S("x,y") }, { S("x-y") } },
	{ "\\.", { S(".") }, { S("a") } },
	{ "\\$\\^\\(\\)\\{\\}\\|\\[\\]\\*\\+\\?\\\\",
	  { S("$^(){}|[]*+?\\") }, { S("$^(){}|[]*+?") } },
	{ "a\\/b\\-c", { S("a/b-c") }, { S("ab-c") } },
	{ "(ab|a)(bc|c)", { S("abc") }, { S("ab") } },
	{ "(a|ab)(c|bcd)(d*)", { S("abcd") }, { S("abd") } },
	{ "a{0}b", { S("b") }, { S("a") } },
	{ "^a{2}$", { S("aa") }, { S("a"), S("aaa") } },
	{ "^a{2,}$", { S("aa"), S("aaaa") }, { S("a") } },
	{ "^a{0,3}$", { S(""), S("aaa") }, { S("aaaa") } },
	{ "^(ab){2,3}$", { S("abab"), S("ababab") }, { S("ab"), S("abababab") } },
	{ "(a|b)*c", { S("c"), S("abc") }, { S("ab") } },
	{ "^(a|aa)+$", { S("aaaaa") }, { S("aab") } },
	{ "(a*)(^b)", { S("b") }, { S("ab") } },
	{ "((a|b)c)+d?", { S("acbc") }, { S("ab") } },
	{ "x*", { S("") }, { { NULL, 0 } } },
	{ "(x+y)*z", { S("xyxxyz") }, { S("xy") } },
	{ "a.b|c..d", { S("axb"), S("cxxd") }, { S("cxd") } },
	{ "^[^ ]+ [^ ]+$", { S("a b") }, { S("a b c") } },
	{ "(a|b|c|d|e)*f{3}", { S("abfff") }, { S("ff") } },
	{ "a?b?c?$", { S("") }, { { NULL, 0 } } },
	{ "^(a|b)", { S("b") }, { S("xb") } },
	{ "(^|x)a", { S("a"), S("xa") }, { S("ya") } },
	{ "a(b|$)", { S("a"), S("ab") }, { S("ac") } },
	{ "^[a-z0-9]([-a-z0-9]{0,3}[a-z0-9])?$", { S("ab-cd") },
	  { S("ab-cde") } },
	{ "[0-9]{2}:[0-9]{2}", { S("at 12:30") }, { S("1:30") } },
	/* Too many DFA states: these run on the NFA. */
	{ "a[ab]{12}c", { S("aababababababc"), S("xxabbbbbbbbbbbbcxx") },
	  { S("aabababababc"), S("aabababababacc") } },
	{ "x.{10}y", { S("x0123456789y"), S("xxxxxxxxxxxxxyy") },
	  { S("x012345678y") } },
	{ "~!@#%&=,;:\"_", { S("~!@#%&=,;:\"_") }, { S("~") } },
};

/* ---- helpers ------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static size_t
rand_below(size_t n)
{
	return (size_t)(next_rand() % n);
}

static size_t
sample_len(const struct sample *s)
{
	return s->len ? s->len : strlen(s->s);
}

static int
posix_match(const regex_t *re, const char *s, size_t len)
{
	regmatch_t m[1];

	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	return regexec(re, s, 1, m, REG_STARTEND) == 0;
}

static void
hexdump(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < len && o + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		out[o] = '\0';
	}
}

static const struct pcase *
find_case(const char *pattern)
{
	size_t i;

	for (i = 0; i < sizeof(schema_cases) / sizeof(schema_cases[0]); i++)
		if (!strcmp(schema_cases[i].pattern, pattern))
			return &schema_cases[i];
	return NULL;
}

/* ---- schema patterns ----------------------------------------------- */

static void
collect_patterns(const json_t *v, json_t *out)
{
	const char *key;
	json_t *sub;
	size_t i;

	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			collect_patterns(json_array_get(v, i), out);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach((json_t *)v, key, sub) {
		if (!strcmp(key, "pattern") && json_is_string(sub))
			json_object_set_new(out, json_string_value(sub), json_true());
		if (!strcmp(key, "patternProperties") && json_is_object(sub)) {
			const char *pk;
			json_t *ps;

			json_object_foreach(sub, pk, ps)
				json_object_set_new(out, pk, json_true());
		}
		collect_patterns(sub, out);
	}
}

/* Every pattern of schemas/ has a case here, and rx takes it. */
static void
schema_patterns_listed(void **state)
{
	json_t *all = json_object();
	DIR *d = opendir(SCHEMAS);
	struct dirent *e;
	const char *pattern;
	json_t *v;
	size_t n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[4096];
		size_t len = strlen(e->d_name);
		json_t *doc;

		if (len < 5 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", SCHEMAS, e->d_name);
		doc = json_load_file(path, 0, NULL);
		assert_non_null(doc);
		collect_patterns(doc, all);
		json_decref(doc);
	}
	closedir(d);
	json_object_foreach(all, pattern, v) {
		struct rx *rx;

		if (!find_case(pattern))
			fail_msg("schema pattern \"%s\" has no case in test-rx.c",
				 pattern);
		if (rx_compile(&rx, pattern))
			fail_msg("rx_compile refuses schema pattern \"%s\"", pattern);
		rx_free(rx);
		n++;
	}
	assert_true(n >= 10);
	json_decref(all);
}

static void
check_samples(const struct pcase *c)
{
	struct rx *rx;
	regex_t re;
	size_t i;

	if (rx_compile(&rx, c->pattern))
		fail_msg("rx_compile refuses \"%s\"", c->pattern);
	assert_int_equal(regcomp(&re, c->pattern, REG_EXTENDED | REG_NOSUB), 0);
	for (i = 0; i < MAX_SAMPLES; i++) {
		const struct sample *y = &c->yes[i], *n = &c->no[i];

		if (y->s) {
			if (!rx_match(rx, y->s, sample_len(y)))
				fail_msg("\"%s\" should match \"%s\"", c->pattern, y->s);
			assert_true(posix_match(&re, y->s, sample_len(y)));
		}
		if (n->s) {
			if (rx_match(rx, n->s, sample_len(n)))
				fail_msg("\"%s\" should not match \"%s\"", c->pattern, n->s);
			assert_false(posix_match(&re, n->s, sample_len(n)));
		}
	}
	regfree(&re);
	rx_free(rx);
}

static void
schema_samples(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(schema_cases) / sizeof(schema_cases[0]); i++)
		check_samples(&schema_cases[i]);
}

static void
extra_samples(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(extra_cases) / sizeof(extra_cases[0]); i++)
		check_samples(&extra_cases[i]);
}

/* ---- against regexec ----------------------------------------------- */

/*
 * The bytes of the pattern and their neighbours (so range ends are
 * probed from both sides), plus NUL, newline, space and two high bytes.
 */
static size_t
alphabet(const char *pattern, unsigned char *out)
{
	unsigned char have[256] = { 0 };
	const unsigned char *p;
	size_t n = 0;
	unsigned c;

	have[0] = have['\n'] = have[' '] = have[0x80] = have[0xff] = 1;
	have['a'] = have['0'] = 1;
	for (p = (const unsigned char *)pattern; *p; p++) {
		have[*p] = 1;
		have[*p - 1] = 1;
		if (*p < 0xff)
			have[*p + 1] = 1;
	}
	for (c = 0; c < 256; c++)
		if (have[c])
			out[n++] = (unsigned char)c;
	return n;
}

static size_t
mutate(char *s, size_t len, size_t max, const unsigned char *alpha,
       size_t nalpha)
{
	size_t k, rounds = 1 + rand_below(3), pos, n;

	for (k = 0; k < rounds; k++) {
		pos = len ? rand_below(len + 1) : 0;
		switch (rand_below(6)) {
		case 0:		/* replace */
			if (pos < len)
				s[pos] = (char)alpha[rand_below(nalpha)];
			break;
		case 1:		/* insert */
			if (len < max) {
				memmove(s + pos + 1, s + pos, len - pos);
				s[pos] = (char)alpha[rand_below(nalpha)];
				len++;
			}
			break;
		case 2:		/* delete */
			if (pos < len) {
				memmove(s + pos, s + pos + 1, len - pos - 1);
				len--;
			}
			break;
		case 3:		/* duplicate a piece */
			n = rand_below(4) + 1;
			if (pos + n <= len && len + n <= max) {
				memmove(s + pos + n, s + pos, len - pos);
				len += n;
			}
			break;
		case 4:		/* truncate */
			len = pos;
			break;
		default:	/* repeat a byte of the alphabet */
			n = rand_below(8);
			while (n-- && len < max) {
				memmove(s + pos + 1, s + pos, len - pos);
				s[pos] = pos ? s[pos - 1] : (char)alpha[rand_below(nalpha)];
				len++;
			}
			break;
		}
	}
	return len;
}

static void
differential(const struct pcase *c)
{
	unsigned char alpha[256];
	size_t nalpha = alphabet(c->pattern, alpha);
	size_t nyes = 0, i, k, len, matches = 0;
	char s[160], dump[700];
	struct rx *rx;
	regex_t re;

	assert_int_equal(rx_compile(&rx, c->pattern), 0);
	assert_int_equal(regcomp(&re, c->pattern, REG_EXTENDED | REG_NOSUB), 0);
	while (nyes < MAX_SAMPLES && c->yes[nyes].s)
		nyes++;
	for (i = 0; i < DIFF_ROUNDS; i++) {
		if (!nyes || rand_below(5) < 2) {
			len = rand_below(i % 8 ? 12 : 100);
			for (k = 0; k < len; k++)
				s[k] = (char)alpha[rand_below(nalpha)];
		} else {
			const struct sample *y = &c->yes[rand_below(nyes)];

			len = sample_len(y);
			memcpy(s, y->s, len);
			len = mutate(s, len, sizeof(s), alpha, nalpha);
		}
		k = (size_t)rx_match(rx, s, len);
		if (k != (size_t)posix_match(&re, s, len)) {
			hexdump(s, len, dump, sizeof(dump));
			fail_msg("\"%s\" on \"%s\": rx says %zu, regexec %zu",
				 c->pattern, dump, k, !k);
		}
		matches += k;
	}
	/* Both answers came up (a pattern with no sample never matches). */
	assert_true((matches > 0 || !nyes) && matches < DIFF_ROUNDS);
	regfree(&re);
	rx_free(rx);
}

static void
schema_differential(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(schema_cases) / sizeof(schema_cases[0]); i++)
		differential(&schema_cases[i]);
}

static void
extra_differential(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(extra_cases) / sizeof(extra_cases[0]); i++) {
		/* Patterns matching everything need no 100,000 strings. */
		if (!extra_cases[i].no[0].s)
			continue;
		differential(&extra_cases[i]);
	}
}

/* ---- hostile input ------------------------------------------------- */

static double
cpu_seconds(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

/* Patterns that backtracking matchers take exponential time on. */
static void
pathological(void **state)
{
	static const struct {
		const char *pattern;
		char fill;
		char end;
		int want;
	} cases[] = {
		{ "(a|aa)*b", 'a', 'a', 0 },
		{ "^(a|aa)*$", 'a', 'c', 0 },
		{ "^(a|aa)+c$", 'a', 'c', 1 },
		{ "^a{0,61}$", 'a', 'a', 0 },
		{ "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", 'a', 'a', 0 },
		{ "(x+x+)+y", 'x', 'x', 0 },
		{ "a.{60}b", 'a', 'a', 0 },
	};
	size_t len = 1 << 20, i;
	char *s = malloc(len);
	double t0 = cpu_seconds();

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rx *rx;

		memset(s, cases[i].fill, len);
		s[len - 1] = cases[i].end;
		if (rx_compile(&rx, cases[i].pattern))
			fail_msg("rx_compile refuses \"%s\"", cases[i].pattern);
		assert_int_equal(rx_match(rx, s, len), cases[i].want);
		rx_free(rx);
	}
	/* Linear: about 7 MB in all; generous for valgrind. */
	assert_true(cpu_seconds() - t0 < 30.0);
	free(s);
}

static void
refuses(void **state)
{
	static const char *const bad[] = {
		"", "\\d", "\\w", "\\s", "\\1", "(a)\\1", "\\<a", "a\\>", "\\`a",
		"a\\'", "\\b", "[[:alpha:]]", "[[=a=]]", "[[.a.]]", "(?:a)",
		"(?=a)", "(a*)*", "(a?)+", "(a?){2}", "(a|b*)*", "(a|)", "(|a)",
		"()", "a|", "|a", "a**", "a+?", "a*+", "a{2}{3}", "*a", "a|*b",
		"(*a)", "+a", "?a", "{1}", "a{", "a{1", "a{1,", "a{,3}", "a{3,2}",
		"a{256}", "a{1000}", "a{x}", "a^b", "a$b", "^*", "^+", "$*",
		"a)", "(a", "((a)", "[a", "[]", "[^]", "[\\.]", "[z-a]",
		"[a-z-0]", "[--a]", "[a--]", "]", "}", "a]", "\xc3\xa9",
		"[\xc3\xa9]", "(a{100}){10}", ".{513}", "^^a", "(^|x)^a",
		"(^)?a", "^(a|^b)", "(^)*a", "(^a)+$", "(^a)*$", "(a$)?", "(a|b$){2}", "(^|a)(^|b)", "a$$", "(a$)$", "$^", "a$|$$",
		"((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rx *rx = (struct rx *)&rx;

		if (rx_compile(&rx, bad[i]) != -1)
			fail_msg("rx_compile takes \"%s\"", bad[i]);
		assert_null(rx);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schema_patterns_listed),
		cmocka_unit_test(schema_samples),
		cmocka_unit_test(extra_samples),
		cmocka_unit_test(refuses),
		cmocka_unit_test(pathological),
		cmocka_unit_test(schema_differential),
		cmocka_unit_test(extra_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
