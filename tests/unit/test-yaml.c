/*
 * test-yaml.c - the YAML to JSON converter: scalar resolution, marks,
 * limits and every error message.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "manifest/yaml.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/banned.h"

/* ---- helpers ---- */

static int
load(const char *text, size_t len, struct mdocs *docs, struct diags *d)
{
	return yaml_load("f.yaml", text, len, docs, d);
}

static void
print_diags(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char out[1024];

		diag_format(&d->v[i], out, sizeof(out));
		print_error("diag: %s\n", out);
	}
}

/* The single document of text equals the JSON json (types included). */
static void
check_doc(const char *text, const char *json)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	json_error_t jerr;
	json_t *want = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	int r;

	if (!want)
		fail_msg("bad expected JSON %s: %s", json, jerr.text);
	r = load(text, strlen(text), &docs, &d);
	if (r != 0 || docs.n != 1) {
		print_diags(&d);
		fail_msg("%s: r=%d, %zu documents", text, r, docs.n);
	}
	if (!json_equal(docs.v[0].root, want)) {
		char *have = json_dumps(docs.v[0].root, JSON_ENCODE_ANY);

		print_error("yaml: %s\nwant: %s\nhave: %s\n", text, json, have);
		free(have);
		fail();
	}
	json_decref(want);
	mdocs_release(&docs);
	diags_release(&d);
}

/* The plain scalar text, as the value of key v, resolves to json. */
static void
check_scalar(const char *scalar, const char *json)
{
	struct buf y = BUF_INIT, j = BUF_INIT;

	buf_addf(&y, "v: %s\n", scalar);
	buf_addf(&j, "{\"v\": %s}", json);
	check_doc(y.buf, j.buf);
	buf_release(&y);
	buf_release(&j);
}

/* Loading text (len bytes) fails with exactly this one diagnostic. */
static void
check_error_n(const char *text, size_t len, unsigned line, unsigned col,
	      const char *path, const char *msg)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	int r = load(text, len, &docs, &d);

	if (r != -1 || d.n != 1) {
		print_diags(&d);
		fail_msg("%.80s: r=%d, %zu diagnostics", text, r, d.n);
	}
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.v[0].severity, DIAG_ERROR);
	assert_string_equal(d.v[0].file, "f.yaml");
	assert_string_equal(d.v[0].msg, msg);
	assert_string_equal(d.v[0].path, path);
	assert_int_equal(d.v[0].line, line);
	assert_int_equal(d.v[0].col, col);
	mdocs_release(&docs);
	diags_release(&d);
}

static void
check_error(const char *text, unsigned line, unsigned col, const char *path,
	    const char *msg)
{
	check_error_n(text, strlen(text), line, col, path, msg);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* The classic billion laughs: 9 levels of 9 aliases each. */
static char *
lol_bomb(void)
{
	struct buf b = BUF_INIT;
	char prev = 'a';
	char c;
	int i;

	buf_addstr(&b, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
		   "\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (c = 'b'; c <= 'i'; c++) {
		buf_addf(&b, "%c: &%c [", c, c);
		for (i = 0; i < 9; i++)
			buf_addf(&b, "%s*%c", i ? ", " : "", prev);
		buf_addstr(&b, "]\n");
		prev = c;
	}
	return buf_detach(&b, NULL);
}

/* ---- tests ---- */

/* First, so that the peak RSS still reflects the process's start. */
static void
test_alias_bomb(void **state)
{
	char *text = lol_bomb();
	long rss0 = max_rss_kb();
	double t0 = now();

	/* level g holds 9^6 * 10 nodes; its first alias of f passes 10^6 */
	check_error(text, 7, 8, "g[0]",
		    "more than 1000000 nodes after alias expansion "
		    "(alias \"f\" at 7:8)");
	assert_true(now() - t0 < 2.0);
	assert_true(max_rss_kb() - rss0 < 64 * 1024);
	free(text);
}

static void
test_bomb_in_one_mapping(void **state)
{
	struct buf b = BUF_INIT;
	int i;

	/* one big anchored list, then aliases until the total passes 10^6 */
	buf_addstr(&b, "big: &big [");
	for (i = 0; i < 1000; i++)
		buf_addf(&b, "%s%d", i ? "," : "", i);
	buf_addstr(&b, "]\nuse:\n");
	for (i = 0; i < 1000; i++)
		buf_addstr(&b, "  - *big\n");
	/* 1 + 1 + 1001 + 1 + 1 + 998 * 1001 = 1000002 at item 997 */
	check_error(b.buf, 1000, 5, "use[997]",
		    "more than 1000000 nodes after alias expansion "
		    "(alias \"big\" at 1000:5)");
	buf_release(&b);
}

static void
test_scalars_strings(void **state)
{
	/* YAML 1.1 booleans are strings in 1.2 */
	check_scalar("no", "\"no\"");
	check_scalar("on", "\"on\"");
	check_scalar("yes", "\"yes\"");
	check_scalar("On", "\"On\"");
	check_scalar("Y", "\"Y\"");
	check_scalar("off", "\"off\"");
	check_scalar("n", "\"n\"");
	/* near misses */
	check_scalar("nULL", "\"nULL\"");
	check_scalar("tRUE", "\"tRUE\"");
	check_scalar("nullx", "\"nullx\"");
	check_scalar("~~", "\"~~\"");
	check_scalar("1_000", "\"1_000\"");
	check_scalar("0X1F", "\"0X1F\"");
	check_scalar("0x", "\"0x\"");
	check_scalar("0xg", "\"0xg\"");
	check_scalar("0o8", "\"0o8\"");
	check_scalar("0b101", "\"0b101\"");
	check_scalar("-0x1F", "\"-0x1F\"");
	check_scalar("+", "\"+\"");
	check_scalar("+-1", "\"+-1\"");
	check_scalar("--1", "\"--1\"");
	check_scalar(".", "\".\"");
	check_scalar("1e", "\"1e\"");
	check_scalar("1e+", "\"1e+\"");
	check_scalar("1.2.3", "\"1.2.3\"");
	check_scalar("192.168.5.210", "\"192.168.5.210\"");
	check_scalar("64GiB", "\"64GiB\"");
	check_scalar("30s", "\"30s\"");
	check_scalar("70%", "\"70%\"");
	check_scalar(".infinity", "\".infinity\"");
	check_scalar("+.nan", "\"+.nan\"");
	check_scalar("12:30", "\"12:30\"");
	check_scalar("2024-01-01", "\"2024-01-01\"");
	check_scalar("hello world", "\"hello world\"");
	check_scalar("ünïcode", "\"ünïcode\"");
}

static void
test_scalars_quoted(void **state)
{
	check_scalar("\"12\"", "\"12\"");
	check_scalar("'12'", "\"12\"");
	check_scalar("\"true\"", "\"true\"");
	check_scalar("'null'", "\"null\"");
	check_scalar("''", "\"\"");
	check_scalar("\"\"", "\"\"");
	check_scalar("\"0x1F\"", "\"0x1F\"");
	check_scalar("\".inf\"", "\".inf\"");
	check_scalar("\"4.50\"", "\"4.50\"");
	check_scalar("\"a\\tb\\u00e9\"", "\"a\\tb\\u00e9\"");
	check_scalar("'it''s'", "\"it's\"");
	check_doc("v: |\n  12\n", "{\"v\": \"12\\n\"}");
	check_doc("v: >-\n  true\n", "{\"v\": \"true\"}");
	/* an escaped NUL survives */
	check_doc("v: \"a\\0b\"\n", "{\"v\": \"a\\u0000b\"}");
}

static void
test_scalars_null_bool(void **state)
{
	check_scalar("~", "null");
	check_scalar("null", "null");
	check_scalar("Null", "null");
	check_scalar("NULL", "null");
	check_doc("v:\n", "{\"v\": null}");
	check_doc("v: # comment\n", "{\"v\": null}");
	check_scalar("true", "true");
	check_scalar("True", "true");
	check_scalar("TRUE", "true");
	check_scalar("false", "false");
	check_scalar("False", "false");
	check_scalar("FALSE", "false");
}

static void
test_scalars_int(void **state)
{
	check_scalar("0", "0");
	check_scalar("-0", "0");
	check_scalar("12", "12");
	check_scalar("+12", "12");
	check_scalar("-12", "-12");
	check_scalar("012", "12");
	check_scalar("0x1F", "31");
	check_scalar("0x1f", "31");
	check_scalar("0o17", "15");
	check_scalar("0x0000000000000000001", "1");
	check_scalar("9223372036854775807", "9223372036854775807");
	check_scalar("-9223372036854775808", "-9223372036854775808");
	check_scalar("0x7fffffffffffffff", "9223372036854775807");
	check_scalar("0o777777777777777777777", "9223372036854775807");
	check_scalar("00000000000000000000000000042", "42");
}

static void
test_scalars_float(void **state)
{
	check_scalar("1e3", "1000.0");
	check_scalar("1E3", "1000.0");
	check_scalar("1e+3", "1000.0");
	check_scalar("2.5e-1", "0.25");
	check_scalar(".5", "0.5");
	check_scalar("-.5", "-0.5");
	check_scalar("+.5", "0.5");
	check_scalar("1.", "1.0");
	check_scalar("1.0", "1.0");
	check_scalar("-1.5", "-1.5");
	check_scalar("3.14159", "3.14159");
	check_scalar("-.5e2", "-50.0");
	check_scalar("0.0", "0.0");
	check_scalar("1e-400", "0.0");
}

/* Floats read the same whatever the program's LC_NUMERIC. */
static void
test_scalars_float_locale(void **state)
{
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") &&
	    !setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
		skip();
		return;
	}
	check_scalar("1.5", "1.5");
	check_scalar("2.5e-1", "0.25");
	setlocale(LC_NUMERIC, "C");
}

static void
test_scalars_refused(void **state)
{
	check_error("v: 9223372036854775808\n", 1, 4, "v",
		    "want an integer that fits in 64 bits, "
		    "have 9223372036854775808");
	check_error("v: -9223372036854775809\n", 1, 4, "v",
		    "want an integer that fits in 64 bits, "
		    "have -9223372036854775809");
	check_error("v: 0x8000000000000000\n", 1, 4, "v",
		    "want an integer that fits in 64 bits, "
		    "have 0x8000000000000000");
	check_error("v: 0o1000000000000000000000\n", 1, 4, "v",
		    "want an integer that fits in 64 bits, "
		    "have 0o1000000000000000000000");
	check_error("v: 123456789012345678901234567890123456789012345678901"
		    "234567890123456789\n", 1, 4, "v",
		    "want an integer that fits in 64 bits, have "
		    "1234567890123456789012345678901234567890123456789012345"
		    "678901234...");
	check_error("v: .inf\n", 1, 4, "v",
		    "want a finite number, have .inf (JSON has no infinity)");
	check_error("v: -.Inf\n", 1, 4, "v",
		    "want a finite number, have -.Inf (JSON has no infinity)");
	check_error("v: +.INF\n", 1, 4, "v",
		    "want a finite number, have +.INF (JSON has no infinity)");
	check_error("v: 1e999\n", 1, 4, "v",
		    "want a finite number, have 1e999 (JSON has no infinity)");
	check_error("v: .nan\n", 1, 4, "v",
		    "want a number, have .nan (JSON has no NaN)");
	check_error("a:\n  - .NaN\n", 2, 5, "a[0]",
		    "want a number, have .NaN (JSON has no NaN)");
}

static void
test_tags(void **state)
{
	check_scalar("!!str 12", "\"12\"");
	check_scalar("! 12", "\"12\"");
	check_scalar("! true", "\"true\"");
	check_scalar("!!str", "\"\"");
	check_scalar("!!int \"12\"", "12");
	check_scalar("!!int 0x10", "16");
	check_scalar("!!float 7", "7.0");
	check_scalar("!!float \"2.5\"", "2.5");
	check_scalar("!!float 0x10", "16.0");
	check_scalar("!!float 99999999999999999999", "1e20");
	check_scalar("!!bool \"true\"", "true");
	check_scalar("!!bool False", "false");
	check_scalar("!!null ''", "null");
	check_scalar("!!null ~", "null");
	check_scalar("!<tag:yaml.org,2002:int> 5", "5");
	check_doc("v: !!map {a: 1}\n", "{\"v\": {\"a\": 1}}");
	check_doc("v: !!seq [1]\n", "{\"v\": [1]}");
	check_doc("v: ! [1]\n", "{\"v\": [1]}");
	check_doc("%TAG !e! tag:yaml.org,2002:\n---\nv: !e!int 3\n",
		  "{\"v\": 3}");

	check_error("v: !!int x\n", 1, 4, "v",
		    "!!int: want an integer, have \"x\"");
	check_error("v: !!int 1.5\n", 1, 4, "v",
		    "!!int: want an integer, have \"1.5\"");
	check_error("v: !!float abc\n", 1, 4, "v",
		    "!!float: want a number, have \"abc\"");
	check_error("v: !!float .inf\n", 1, 4, "v",
		    "want a finite number, have .inf (JSON has no infinity)");
	check_error("v: !!bool yes\n", 1, 4, "v",
		    "!!bool: want true or false, have \"yes\"");
	check_error("v: !!null 0\n", 1, 4, "v",
		    "!!null: want null, have \"0\"");
	check_error("v: !!int 99999999999999999999\n", 1, 4, "v",
		    "want an integer that fits in 64 bits, "
		    "have 99999999999999999999");
	check_error("v: !foo 1\n", 1, 4, "v",
		    "unsupported tag: want !!str, !!int, !!float, !!bool or "
		    "!!null, have \"!foo\"");
	check_error("v: !!binary aGk=\n", 1, 4, "v",
		    "unsupported tag: want !!str, !!int, !!float, !!bool or "
		    "!!null, have !!binary");
	check_error("v: !!timestamp 2024-01-01\n", 1, 4, "v",
		    "unsupported tag: want !!str, !!int, !!float, !!bool or "
		    "!!null, have !!timestamp");
	check_error("v: !!set {a}\n", 1, 4, "v",
		    "unsupported tag on a mapping: want !!map, have !!set");
	check_error("v: !!str {a: 1}\n", 1, 4, "v",
		    "unsupported tag on a mapping: want !!map, have !!str");
	check_error("v: !!omap [a]\n", 1, 4, "v",
		    "unsupported tag on a sequence: want !!seq, have !!omap");
	check_error("v: !<x:y> [a]\n", 1, 4, "v",
		    "unsupported tag on a sequence: want !!seq, have \"x:y\"");
	check_error("!!int x: 1\n", 1, 1, "",
		    "!!int: want an integer, have \"x\"");
	check_error("!local k: 1\n", 1, 1, "",
		    "unsupported tag: want !!str, !!int, !!float, !!bool or "
		    "!!null, have \"!local\"");
}

static void
test_keys(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char *text = "\"a\\0b\": 1\n";

	/* keys are the scalar's text, whatever it would resolve to */
	check_doc("1: a\n0x1F: b\nnull: c\n~: d\ntrue: e\n\"\": f\n1.5: g\n",
		  "{\"1\": \"a\", \"0x1F\": \"b\", \"null\": \"c\", "
		  "\"~\": \"d\", \"true\": \"e\", \"\": \"f\", \"1.5\": \"g\"}");
	check_doc("!!str 5: a\n!!int 6: b\n", "{\"5\": \"a\", \"6\": \"b\"}");
	check_doc("? |\n  multi\n: v\n", "{\"multi\\n\": \"v\"}");
	/* an anchored key, and an alias of a scalar used as a key */
	check_doc("&k name: 1\nother: *k\n",
		  "{\"name\": 1, \"other\": \"name\"}");
	check_doc("a: &k name\n*k : 2\n", "{\"a\": \"name\", \"name\": 2}");
	check_doc("a: &k 12\n*k : 2\n", "{\"a\": 12, \"12\": 2}");

	/* keys with a NUL inside */
	assert_int_equal(load(text, strlen(text), &docs, &d), 0);
	assert_non_null(json_object_getn(docs.v[0].root, "a\0b", 3));
	assert_null(json_object_get(docs.v[0].root, "a"));
	mdocs_release(&docs);
	diags_release(&d);
}

static void
test_key_errors(void **state)
{
	struct buf b = BUF_INIT;
	int i;

	check_error("a: 1\nb:\n  name: 1\n  x: 2\n  name: 3\n", 5, 3, "b.name",
		    "duplicate key \"name\" (first at 3:3)");
	check_error("{a: 1, a: 2}\n", 1, 8, "a",
		    "duplicate key \"a\" (first at 1:2)");
	check_error("\"a\\tb\": 1\n\"a\\tb\": 2\n", 2, 1, "[\"a\\u0009b\"]",
		    "duplicate key \"a\\tb\" (first at 1:1)");
	check_error("x:\n  - a: [1]\n    b: 2\n    a: {c: 3}\n", 4, 5,
		    "x[0].a", "duplicate key \"a\" (first at 2:5)");
	/* the same key in different mappings is fine */
	check_doc("a: {k: 1}\nb: {k: 2}\n",
		  "{\"a\": {\"k\": 1}, \"b\": {\"k\": 2}}");
	/* duplicate through an alias key */
	check_error("a: &k b\nb: 1\n*k : 2\n", 3, 1, "b",
		    "duplicate key \"b\" (first at 2:1)");
	/* keys that differ only in resolution are different texts */
	check_doc("1: a\n01: b\n", "{\"1\": \"a\", \"01\": \"b\"}");

	check_error("? [1]\n: 2\n", 1, 3, "",
		    "non-scalar key: want a scalar, have a sequence");
	check_error("a:\n  {x: 1}: 2\n", 2, 3, "a",
		    "non-scalar key: want a scalar, have a mapping");
	check_error("a: &m {x: 1}\n*m : 2\n", 2, 1, "",
		    "non-scalar key: want a scalar, have a mapping "
		    "(alias \"m\")");

	/* YAML_MAX_KEY bytes is fine, one more is not */
	for (i = 0; i < YAML_MAX_KEY; i++)
		buf_addch(&b, 'k');
	buf_addstr(&b, ": 1\n");
	{
		struct mdocs docs = MDOCS_INIT;
		struct diags d = DIAGS_INIT;

		assert_int_equal(load(b.buf, b.len, &docs, &d), 0);
		mdocs_release(&docs);
		diags_release(&d);
	}
	buf_reset(&b);
	buf_addstr(&b, "outer:\n  ");
	for (i = 0; i < YAML_MAX_KEY + 1; i++)
		buf_addch(&b, 'k');
	buf_addstr(&b, ": 1\n");
	check_error(b.buf, 2, 3, "outer",
		    "key is 257 bytes, over the limit of 256 bytes");
	buf_release(&b);
}

static void
test_aliases(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char *text = "a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n";
	json_t *a, *b, *c;

	assert_int_equal(load(text, strlen(text), &docs, &d), 0);
	a = json_object_get(docs.v[0].root, "a");
	b = json_object_get(docs.v[0].root, "b");
	c = json_object_get(docs.v[0].root, "c");
	/* shared, not copied */
	assert_ptr_equal(a, b);
	assert_ptr_equal(a, json_array_get(c, 0));
	assert_ptr_equal(a, json_array_get(c, 1));
	assert_int_equal(a->refcount, 4);
	mdocs_release(&docs);
	diags_release(&d);

	check_doc("a: &s str\nb: *s\n", "{\"a\": \"str\", \"b\": \"str\"}");
	/* an anchor may be redefined; an alias takes the latest */
	check_doc("a: &x 1\nb: &x 2\nc: *x\n", "{\"a\": 1, \"b\": 2, \"c\": 2}");
	/* a complete sibling is not recursion */
	check_doc("- &x [1]\n- [*x]\n", "[[1], [[1]]]");

	check_error("a: *nope\n", 1, 4, "a", "undefined alias \"nope\"");
	check_error("a: &x [1, *x]\n", 1, 11, "a[1]",
		    "recursive alias \"x\" (its anchor at 1:4 encloses it)");
	check_error("a: &x\n  b:\n    c: *x\n", 3, 8, "a.b.c",
		    "recursive alias \"x\" (its anchor at 1:4 encloses it)");
	/* the anchor is on the key, which is complete before the value */
	check_doc("&x a: *x\n", "{\"a\": \"a\"}");
}

static void
test_anchors_per_document(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char *text = "a: &x 1\n---\nb: *x\n";

	assert_int_equal(load(text, strlen(text), &docs, &d), -1);
	assert_int_equal(docs.n, 1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "undefined alias \"x\"");
	assert_int_equal(d.v[0].line, 3);
	assert_int_equal(d.v[0].col, 4);
	mdocs_release(&docs);
	diags_release(&d);
}

static void
test_documents(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char *text =
		"# leading comment\n"
		"---\n"
		"a: 1\n"
		"---\n"
		"---\n"
		"# only a comment\n"
		"...\n"
		"--- \"\"\n"
		"---\n"
		"b: 2\n"
		"...\n";
	const char *two = "- x\n";

	assert_int_equal(load(text, strlen(text), &docs, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(docs.n, 3);
	assert_string_equal(docs.v[0].file, "f.yaml");
	/* index counts every document of the file, empty ones too */
	assert_int_equal(docs.v[0].index, 0);
	assert_int_equal(docs.v[0].mark.line, 3);
	assert_int_equal(docs.v[0].mark.col, 1);
	assert_int_equal(docs.v[1].index, 3);
	assert_true(json_is_string(docs.v[1].root));
	assert_string_equal(json_string_value(docs.v[1].root), "");
	assert_int_equal(docs.v[1].mark.line, 8);
	assert_int_equal(docs.v[1].mark.col, 5);
	assert_int_equal(docs.v[2].index, 4);
	assert_int_equal(docs.v[2].mark.line, 10);
	assert_int_equal(json_integer_value(json_object_get(docs.v[2].root,
							    "b")), 2);

	/* a second file appends */
	assert_int_equal(yaml_load("g.yaml", two, strlen(two), &docs, &d), 0);
	assert_int_equal(docs.n, 4);
	assert_string_equal(docs.v[3].file, "g.yaml");
	assert_int_equal(docs.v[3].index, 0);
	assert_true(json_is_array(docs.v[3].root));
	mdocs_release(&docs);
	assert_int_equal(docs.n, 0);
	assert_null(docs.v);
	mdocs_release(&docs);

	/* nothing at all */
	assert_int_equal(load("", 0, &docs, &d), 0);
	assert_int_equal(load(NULL, 0, &docs, &d), 0);
	assert_int_equal(load("# just a comment\n", 17, &docs, &d), 0);
	assert_int_equal(load("---\n", 4, &docs, &d), 0);
	assert_int_equal(load("--- # c\n...\n", 12, &docs, &d), 0);
	assert_int_equal(docs.n, 0);
	/* a non-mapping root is returned as is, for the schema to judge */
	check_doc("--- 5\n", "5");
	check_doc("--- null\n", "null");
	check_doc("- a\n- b\n", "[\"a\", \"b\"]");
	diags_release(&d);
}

static void
test_error_keeps_complete_documents(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char *text = "a: 1\n---\nb: 2\n---\nc: [\n";

	assert_int_equal(load(text, strlen(text), &docs, &d), -1);
	assert_int_equal(docs.n, 2);
	assert_int_equal(docs.v[1].index, 1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg,
			    "yaml: did not find expected node content "
			    "(while parsing a flow node that started at 6:1)");
	mdocs_release(&docs);
	diags_release(&d);
}

static const char manifest[] =
	"apiVersion: berth/v1\n"			/* 1 */
	"kind: Host\n"					/* 2 */
	"metadata:\n"					/* 3 */
	"  name: nix-01\n"				/* 4 */
	"  labels: {region: eu-west}\n"			/* 5 */
	"spec:\n"					/* 6 */
	"  capacity:\n"					/* 7 */
	"    cpu: 16\n"					/* 8 */
	"  projects:\n"					/* 9 */
	"    - name: tenants\n"				/* 10 */
	"      config:\n"				/* 11 */
	"        limits.cpu: \"4\"\n"			/* 12 */
	"        features.images: \"false\"\n"		/* 13 */
	"    - name: other\n"				/* 14 */
	"  base: &b {x: {y: 1}}\n"			/* 15 */
	"  use: *b\n"					/* 16 */
	"  \"we\\\"ird\": [a, [b, c]]\n";		/* 17 */

static void
check_mark(const struct mdoc *doc, const char *path, unsigned line,
	   unsigned col)
{
	struct mark m = mdoc_mark(doc, path);

	if (m.line != line || m.col != col)
		fail_msg("mark of %s: want %u:%u, have %u:%u", path, line, col,
			 m.line, m.col);
}

static void
test_marks(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const struct mdoc *doc;

	assert_int_equal(load(manifest, strlen(manifest), &docs, &d), 0);
	doc = &docs.v[0];
	check_mark(doc, "", 1, 1);
	check_mark(doc, "apiVersion", 1, 13);
	check_mark(doc, "kind", 2, 7);
	check_mark(doc, "metadata", 4, 3);
	check_mark(doc, "metadata.name", 4, 9);
	check_mark(doc, "metadata.labels", 5, 11);
	check_mark(doc, "metadata.labels.region", 5, 20);
	check_mark(doc, "spec", 7, 3);
	check_mark(doc, "spec.capacity", 8, 5);
	check_mark(doc, "spec.capacity.cpu", 8, 10);
	check_mark(doc, "spec.projects", 10, 5);
	check_mark(doc, "spec.projects[0]", 10, 7);
	check_mark(doc, "spec.projects[0].name", 10, 13);
	check_mark(doc, "spec.projects[0].config", 12, 9);
	check_mark(doc, "spec.projects[0].config[\"limits.cpu\"]", 12, 21);
	check_mark(doc, "spec.projects[0].config[\"features.images\"]", 13, 26);
	check_mark(doc, "spec.projects[1]", 14, 7);
	check_mark(doc, "spec.projects[1].name", 14, 13);
	check_mark(doc, "spec.base.x.y", 15, 20);
	check_mark(doc, "spec.use", 16, 8);
	check_mark(doc, "spec[\"we\\\"ird\"]", 17, 14);
	check_mark(doc, "spec[\"we\\\"ird\"][1][0]", 17, 19);

	/* fallback to the nearest enclosing node */
	check_mark(doc, "spec.capacity.memory", 8, 5);
	check_mark(doc, "spec.capacity.memory.deeper[3]", 8, 5);
	check_mark(doc, "spec.projects[0].config[\"nope\"]", 12, 9);
	check_mark(doc, "spec.projects[0].config[\"a.b\\\"]c\"].x", 12, 9);
	check_mark(doc, "spec.projects[7].name", 10, 5);
	check_mark(doc, "spec.projects[1][\"x\"]", 14, 7);
	check_mark(doc, "spec[\"we\\\"ird\"][1][9]", 17, 18);
	check_mark(doc, "spec[\"we\\\"ird\"][5]", 17, 14);
	/* nodes reached through an alias have the alias's mark */
	check_mark(doc, "spec.use.x.y", 16, 8);
	check_mark(doc, "nothing.at.all", 1, 1);
	check_mark(doc, "specs", 1, 1);
	check_mark(doc, "spe", 1, 1);
	check_mark(doc, "capacity", 1, 1);
	/* odd paths do not crash and fall back somewhere sensible */
	check_mark(doc, "[", 1, 1);
	check_mark(doc, ".", 1, 1);
	check_mark(doc, "[\"", 1, 1);
	check_mark(doc, "[\"\\", 1, 1);
	check_mark(doc, "spec[", 7, 3);
	check_mark(doc, "spec.", 7, 3);
	check_mark(doc, "spec..", 7, 3);
	check_mark(doc, "spec[99999999999999999999999]", 7, 3);
	mdocs_release(&docs);
	diags_release(&d);
}

static void
test_marks_multi_document(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char *text = "a: 1\n---\n\n  a: 2\n  b: [x]\n";

	assert_int_equal(load(text, strlen(text), &docs, &d), 0);
	assert_int_equal(docs.n, 2);
	check_mark(&docs.v[0], "a", 1, 4);
	check_mark(&docs.v[1], "", 4, 3);
	check_mark(&docs.v[1], "a", 4, 6);
	check_mark(&docs.v[1], "b[0]", 5, 7);
	check_mark(&docs.v[1], "b[1]", 5, 6);
	mdocs_release(&docs);
	diags_release(&d);
}

/* Past 64 MiB of paths, nodes get the mark of an enclosing node. */
static void
test_marks_arena_limit(void **state)
{
	struct buf b = BUF_INIT, key = BUF_INIT, path = BUF_INIT;
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	struct mark seq, first, last;
	size_t seq_len;
	int i;

	for (i = 0; i < YAML_MAX_KEY; i++)
		buf_addch(&key, 'k');
	for (i = 0; i < YAML_MAX_DEPTH - 1; i++) {
		buf_addf(&b, "{%s: ", key.buf);
		buf_addf(&path, "%s%s", i ? "." : "", key.buf);
	}
	buf_addch(&b, '[');
	for (i = 0; i < 5000; i++)
		buf_addstr(&b, i ? ",0" : "0");
	buf_addch(&b, ']');
	for (i = 0; i < YAML_MAX_DEPTH - 1; i++)
		buf_addch(&b, '}');
	assert_int_equal(load(b.buf, b.len, &docs, &d), 0);
	assert_true(docs.v[0].paths_len <= 64u * 1024 * 1024);
	assert_true(docs.v[0].nmarks < 5000);

	seq = mdoc_mark(&docs.v[0], path.buf);
	seq_len = path.len;
	buf_addstr(&path, "[0]");
	first = mdoc_mark(&docs.v[0], path.buf);
	buf_setlen(&path, seq_len);
	buf_addstr(&path, "[4999]");
	last = mdoc_mark(&docs.v[0], path.buf);
	assert_int_equal(seq.line, 1);
	assert_int_equal(first.col, seq.col + 1);
	assert_int_equal(last.col, seq.col);
	mdocs_release(&docs);
	diags_release(&d);
	buf_release(&b);
	buf_release(&key);
	buf_release(&path);
}

static void
test_depth(void **state)
{
	struct buf b = BUF_INIT, path = BUF_INIT;
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	int i;

	for (i = 0; i < YAML_MAX_DEPTH; i++)
		buf_addch(&b, '[');
	for (i = 0; i < YAML_MAX_DEPTH; i++)
		buf_addch(&b, ']');
	assert_int_equal(load(b.buf, b.len, &docs, &d), 0);
	assert_int_equal(docs.n, 1);
	mdocs_release(&docs);

	buf_reset(&b);
	for (i = 0; i < YAML_MAX_DEPTH + 1; i++)
		buf_addch(&b, '[');
	for (i = 0; i < YAML_MAX_DEPTH + 1; i++)
		buf_addch(&b, ']');
	for (i = 0; i < YAML_MAX_DEPTH; i++)
		buf_addstr(&path, "[0]");
	check_error(b.buf, 1, 65, path.buf, "nesting deeper than 64 levels");

	/* block style, mappings */
	buf_reset(&b);
	buf_reset(&path);
	for (i = 0; i < YAML_MAX_DEPTH + 1; i++) {
		buf_addf(&b, "%*sk:\n", 2 * i, "");
		if (i < YAML_MAX_DEPTH)
			buf_addf(&path, "%sk", i ? "." : "");
	}
	buf_addf(&b, "%*sk: 1\n", 2 * i, "");
	check_error(b.buf, 65, 129, path.buf, "nesting deeper than 64 levels");

	/* a very deep flow nesting stops early */
	buf_reset(&b);
	for (i = 0; i < 1000000; i++)
		buf_addch(&b, '[');
	assert_int_equal(load(b.buf, b.len, &docs, &d), -1);
	assert_string_equal(d.v[0].msg, "nesting deeper than 64 levels");
	buf_release(&b);
	buf_release(&path);
	diags_release(&d);
}

/* "- &a [0, ... 999 items]" then n "- *a": 1 + 1000 + 1000 n nodes. */
static void
add_aliased_list(struct buf *b, unsigned n)
{
	unsigned i;

	buf_addstr(b, "- &a [");
	for (i = 0; i < 999; i++)
		buf_addstr(b, i ? ",0" : "0");
	buf_addstr(b, "]\n");
	for (i = 0; i < n; i++)
		buf_addstr(b, "- *a\n");
}

static void
test_node_limit(void **state)
{
	struct buf b = BUF_INIT;
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	unsigned i;

	/* 1001 + 998000 + 999 plain scalars: exactly YAML_MAX_NODES */
	add_aliased_list(&b, 998);
	for (i = 0; i < 999; i++)
		buf_addstr(&b, "- 0\n");
	assert_int_equal(load(b.buf, b.len, &docs, &d), 0);
	assert_int_equal(json_array_size(docs.v[0].root), 1998);
	mdocs_release(&docs);

	/* one more plain node */
	buf_addstr(&b, "- 0\n");
	check_error(b.buf, 1999, 3, "[1998]", "more than 1000000 nodes");

	/* the count is per file, across documents: 400001 nodes each */
	buf_reset(&b);
	for (i = 0; i < 3; i++) {
		buf_addstr(&b, "---\n");
		add_aliased_list(&b, 399);
	}
	assert_int_equal(load(b.buf, b.len, &docs, &d), -1);
	assert_int_equal(docs.n, 2);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "more than 1000000 nodes after alias "
			    "expansion (alias \"a\" at 1003:3)");
	assert_string_equal(d.v[0].path, "[199]");
	assert_int_equal(d.v[0].line, 1003);
	mdocs_release(&docs);
	diags_release(&d);

	/* a long flow sequence without aliases passes the limit too */
	buf_reset(&b);
	buf_addch(&b, '[');
	for (i = 0; i < YAML_MAX_NODES; i++)
		buf_addstr(&b, i ? ",0" : "0");
	buf_addch(&b, ']');
	check_error(b.buf, 1, 2000000, "[999999]", "more than 1000000 nodes");
	buf_release(&b);
}

static void
test_file_size(void **state)
{
	char *big = malloc(YAML_MAX_FILE + 1);
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;

	assert_non_null(big);
	memset(big, '\n', YAML_MAX_FILE + 1);
	memcpy(big, "a: 1\n", 5);
	assert_int_equal(load(big, YAML_MAX_FILE, &docs, &d), 0);
	assert_int_equal(docs.n, 1);
	mdocs_release(&docs);
	check_error_n(big, YAML_MAX_FILE + 1, 0, 0, "",
		      "file is 4194305 bytes, over the limit of 4194304 bytes");
	free(big);
	diags_release(&d);
}

static void
test_syntax_errors(void **state)
{
	check_error("a: [1\n", 2, 1, "",
		    "yaml: did not find expected ',' or ']' "
		    "(while parsing a flow sequence that started at 1:4)");
	check_error("a:\n  b: 1\n c: 2\n", 3, 2, "",
		    "yaml: did not find expected key "
		    "(while parsing a block mapping that started at 1:1)");
	check_error("a: b: c\n", 1, 5, "",
		    "yaml: mapping values are not allowed in this context");
	/* truncated input */
	check_error("a: \"abc", 1, 8, "",
		    "yaml: found unexpected end of stream "
		    "(while scanning a quoted scalar that started at 1:4)");
	check_error("a: {b: [1, 2", 2, 1, "",
		    "yaml: did not find expected ',' or ']' "
		    "(while parsing a flow sequence that started at 1:8)");
	check_error("a: &", 1, 5, "",
		    "yaml: did not find expected alphabetic or numeric "
		    "character (while scanning an anchor that started at 1:4)");
	/* tabs may not indent */
	check_error("\ta: 1\n", 1, 1, "",
		    "yaml: found character that cannot start any token "
		    "(while scanning for the next token that started at 1:1)");
	check_doc("a:\tb\n", "{\"a\": \"b\"}");
	/* bad UTF-8, control characters */
	check_error("a: \xff\n", 1, 4, "",
		    "yaml: invalid leading UTF-8 octet (have 0xff)");
	check_error("a: x\nb: \xc3\x28\n", 2, 5, "",
		    "yaml: invalid trailing UTF-8 octet (have 0x28)");
	check_error("a: \xc3", 1, 4, "",
		    "yaml: incomplete UTF-8 octet sequence");
	check_error("a: \xc0\x80\n", 1, 4, "",
		    "yaml: invalid length of a UTF-8 sequence");
	check_error("a: \xed\xa0\x80\n", 1, 4, "",
		    "yaml: invalid Unicode character (have 0xd800)");
	check_error("x: 1\ny: \"a\x01\"\n", 2, 6, "",
		    "yaml: control characters are not allowed (have 0x01)");
	check_error("é: 1\nb: \xff\n", 2, 4, "",
		    "yaml: invalid leading UTF-8 octet (have 0xff)");
	check_error("%YAML 1.3\n--- a\n", 1, 1, "",
		    "yaml: found incompatible YAML document");
	/* a UTF-8 byte order mark is fine */
	check_doc("\xef\xbb\xbf" "a: 1\n", "{\"a\": 1}");
	check_error("a: \"\\ud800\"\n", 1, 7, "",
		    "yaml: found invalid Unicode character escape code "
		    "(while parsing a quoted scalar that started at 1:4)");
}

static void
test_not_nul_terminated(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char text[] = "a: 12345";

	/* only the first 5 bytes: "a: 12" */
	assert_int_equal(load(text, 5, &docs, &d), 0);
	assert_int_equal(json_integer_value(json_object_get(docs.v[0].root,
							    "a")), 12);
	mdocs_release(&docs);
	diags_release(&d);
}

static void
test_release(void **state)
{
	struct mdocs docs = MDOCS_INIT;
	struct diags d = DIAGS_INIT;
	const char *text = "a: &x [1]\nb: *x\n---\nc: 1\n";

	mdocs_release(&docs);
	assert_int_equal(load(text, strlen(text), &docs, &d), 0);
	assert_int_equal(docs.n, 2);
	mdocs_release(&docs);
	mdocs_release(&docs);
	assert_int_equal(docs.n, 0);
	assert_int_equal(docs.alloc, 0);
	diags_release(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_bomb_in_one_mapping),
		cmocka_unit_test(test_scalars_strings),
		cmocka_unit_test(test_scalars_quoted),
		cmocka_unit_test(test_scalars_null_bool),
		cmocka_unit_test(test_scalars_int),
		cmocka_unit_test(test_scalars_float),
		cmocka_unit_test(test_scalars_float_locale),
		cmocka_unit_test(test_scalars_refused),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_anchors_per_document),
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_error_keeps_complete_documents),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_marks_multi_document),
		cmocka_unit_test(test_marks_arena_limit),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
