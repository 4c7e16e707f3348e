/*
 * test-schema.c - the JSON Schema validator and berth's schemas.
 *
 * Loading (unknown keywords, bad $ref, patterns), each keyword's behaviour
 * and message, the embedded schemas' own conventions (titles, closed
 * objects), and the fixtures in tests/data/schema: every good document
 * passes, every bad one fails with exactly the messages listed here.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "embedded.h"
#include "manifest/schema.h"
#include "util/buf.h"
#include "util/banned.h"

#define SCHEMA_DATA TEST_DATA "/schema"

/* Reports as "path: message\n" ("message\n" at the root). */
static void
collect(void *ctx, const char *path, const char *msg)
{
	struct buf *b = ctx;

	if (*path)
		buf_addf(b, "%s: %s\n", path, msg);
	else
		buf_addf(b, "%s\n", msg);
}

static struct schema_set *
load1(const char *text)
{
	const char *names[] = { "t.json" };
	const char *texts[] = { text };
	struct berr err;
	struct schema_set *s = schema_set_load_texts(names, texts, 1, &err);

	if (!s)
		fail_msg("schema does not load: %s", err.msg);
	return s;
}

/* Validate doc (JSON text) against schema (JSON text); compare the reports. */
static void
check(const char *schema, const char *doc, const char *want)
{
	struct schema_set *s = load1(schema);
	struct buf got = BUF_INIT;
	json_error_t jerr;
	json_t *d = json_loads(doc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	int n;
	size_t lines = 0;
	const char *p;

	assert_non_null(d);
	n = schema_validate(s, "t.json", d, collect, &got);
	for (p = got.buf; *p; p++)
		lines += *p == '\n';
	if (strcmp(got.buf, want))
		fail_msg("schema %s\ndoc %s\nwant:\n%shave:\n%s", schema, doc,
			 want, got.buf);
	assert_int_equal(n, (int)lines);
	json_decref(d);
	buf_release(&got);
	schema_set_free(s);
}

static void
load_fails(size_t n, const char *const *names, const char *const *texts,
	   const char *want)
{
	struct berr err;
	struct schema_set *s = schema_set_load_texts(names, texts, n, &err);

	if (s)
		fail_msg("schema loaded, want error: %s", want);
	if (strcmp(err.msg, want))
		fail_msg("want error:\n%s\nhave:\n%s", want, err.msg);
}

/* Only the start of want: the rest comes from jansson or regerror(). */
static void
load1_fails_prefix(const char *text, const char *want)
{
	const char *names[] = { "t.json" };
	const char *texts[] = { text };
	struct berr err;
	struct schema_set *s = schema_set_load_texts(names, texts, 1, &err);

	if (s)
		fail_msg("schema loaded, want error: %s", want);
	if (strncmp(err.msg, want, strlen(want)))
		fail_msg("want error:\n%s...\nhave:\n%s", want, err.msg);
}

static void
load1_fails(const char *text, const char *want)
{
	const char *names[] = { "t.json" };
	const char *texts[] = { text };

	load_fails(1, names, texts, want);
}

/* ---- loading ---- */

static void
test_embedded_load(void **state)
{
	struct berr err;
	struct schema_set *s = schema_set_load(&err);
	json_t *empty = json_object();
	struct buf got = BUF_INIT;
	size_t i;

	(void)state;
	if (!s)
		fail_msg("embedded schemas do not load: %s", err.msg);
	assert_int_equal(embedded_schemas_count, 10);
	for (i = 0; i < embedded_schemas_count; i++)
		assert_true(schema_validate(s, embedded_schemas[i].name, empty,
					    collect, &got) >= 0);
	assert_int_equal(schema_validate(s, "nope.json", empty, collect, &got), -1);
	buf_release(&got);
	json_decref(empty);
	schema_set_free(s);
	schema_set_free(NULL);
}

static void
test_load_errors(void **state)
{
	(void)state;
	load1_fails("{\"properties\": {\"a\": {\"format\": \"date\"}}}",
		    "t.json: /properties/a: unknown keyword \"format\"");
	load1_fails("{\"$defs\": {\"x\": {\"type\": \"string\"}}, "
		    "\"$ref\": \"#/$defs/nope\"}",
		    "t.json: $ref \"#/$defs/nope\" does not point at a schema");
	load1_fails("{\"$ref\": \"#/properties\", \"properties\": {}}",
		    "t.json: $ref \"#/properties\" does not point at a schema");
	load1_fails("{\"$ref\": \"other.json#/$defs/x\"}",
		    "t.json: $ref \"other.json#/$defs/x\": no such schema");
	load1_fails("{\"type\": \"string\", \"pattern\": \"^\\\\d+$\"}",
		    "t.json: /: pattern \"^\\d+$\" uses \\d, which POSIX and "
		    "ECMAScript read differently");
	load1_fails("{\"pattern\": \"^(?=a)\"}",
		    "t.json: /: pattern \"^(?=a)\" uses (?, which POSIX regular "
		    "expressions do not have");
	load1_fails_prefix("{\"patternProperties\": {\"[a\": true}}",
			   "t.json: /: pattern \"[a\" does not compile: ");
	load1_fails("{\"type\": \"strings\"}",
		    "t.json: /: \"type\" has an unknown type name");
	load1_fails("{\"type\": [\"string\", 5]}",
		    "t.json: /: \"type\" has an unknown type name");
	load1_fails("{\"required\": \"a\"}",
		    "t.json: /: \"required\" wants a list of field names");
	load1_fails("{\"required\": [\"a\", \"a\"]}",
		    "t.json: /: \"required\" lists \"a\" twice");
	load1_fails("{\"minLength\": -1}",
		    "t.json: /: \"minLength\" wants a non-negative integer");
	load1_fails("{\"anyOf\": []}",
		    "t.json: /: \"anyOf\" wants a non-empty list of schemas");
	load1_fails("{\"items\": 5}",
		    "t.json: /items: want a schema (a mapping or true/false)");
	load1_fails("{\"then\": {}}",
		    "t.json: /: \"then\"/\"else\" without \"if\"");
	load1_fails("{\"$defs\": {\"a\": {\"$id\": \"x\"}}}",
		    "t.json: /$defs/a: \"$id\" is only allowed at the root");
	load1_fails("{\"title\": 5}", "t.json: /: \"title\" wants a string");
	load1_fails("{\"minimum\": \"1\"}", "t.json: /: \"minimum\" wants a number");
	load1_fails("{\"uniqueItems\": 1}",
		    "t.json: /: \"uniqueItems\" wants true or false");
	load1_fails_prefix("{\"a\": 1,}", "t.json:1:9: not valid JSON: ");
	load1_fails("{\"properties\": {\"a/b\": {\"x\": 1}}}",
		    "t.json: /properties/a~1b: unknown keyword \"x\"");
}

static void
test_load_refs(void **state)
{
	const char *names[] = { "a.json", "b.json" };
	const char *texts[] = {
		"{\"$id\": \"https://example.org/s/a.json\", "
		"\"properties\": {\"n\": {\"$ref\": \"b.json#/$defs/n\"}}}",
		"{\"$id\": \"https://example.org/s/b.json\", \"$defs\": {\"n\": "
		"{\"title\": \"a small number\", \"type\": \"integer\", "
		"\"maximum\": 3}}}",
	};
	const char *bad[] = {
		texts[0],
		"{\"$id\": \"https://example.org/t/b.json\"}",
	};
	struct berr err;
	struct schema_set *s = schema_set_load_texts(names, texts, 2, &err);
	struct buf got = BUF_INIT;
	json_t *d = json_pack("{s:i}", "n", 7);

	(void)state;
	assert_non_null(s);
	assert_int_equal(schema_validate(s, "a.json", d, collect, &got), 1);
	assert_string_equal(got.buf, "n: want a small number, have integer 7\n");
	json_decref(d);
	buf_release(&got);
	schema_set_free(s);
	load_fails(2, names, bad,
		   "a.json: $ref \"b.json#/$defs/n\": no such schema");
}

/* ---- keywords and messages ---- */

static void
test_type(void **state)
{
	(void)state;
	check("{\"type\": \"string\"}", "5", "want a string, have integer 5\n");
	check("{\"type\": \"string\"}", "\"x\"", "");
	check("{\"type\": \"integer\"}", "5.0", "");
	check("{\"type\": \"integer\"}", "5.5", "want an integer, have number 5.5\n");
	check("{\"type\": \"number\"}", "5", "");
	check("{\"type\": \"boolean\"}", "\"yes\"",
	      "want true or false, have \"yes\"\n");
	check("{\"type\": \"object\"}", "[1]", "want a mapping, have a list\n");
	check("{\"type\": \"object\"}", "[]", "want a mapping, have an empty list\n");
	check("{\"type\": \"array\"}", "{\"a\": 1}", "want a list, have a mapping\n");
	check("{\"type\": \"array\"}", "{}", "want a list, have an empty mapping\n");
	check("{\"type\": \"null\"}", "true", "want null, have true\n");
	check("{\"type\": \"string\"}", "null", "want a string, have null\n");
	check("{\"type\": \"string\"}", "false", "want a string, have false\n");
	check("{\"type\": [\"string\", \"integer\", \"boolean\"]}", "[]",
	      "want true or false, a string or an integer, have an empty list\n");
	/* the title names the shape, except for properties (field labels) */
	check("{\"$defs\": {\"s\": {\"title\": \"a thing\", \"type\": \"string\"}},"
	      " \"properties\": {\"a\": {\"title\": \"A\", \"type\": \"string\"},"
	      " \"b\": {\"title\": \"B\", \"$ref\": \"#/$defs/s\"}}}",
	      "{\"a\": 1, \"b\": 2}",
	      "a: want a string, have integer 1\n"
	      "b: want a thing, have integer 2\n");
	/* a failed type stops the other keywords of that schema */
	check("{\"type\": \"string\", \"enum\": [\"a\"], \"minLength\": 3}", "7",
	      "want a string, have integer 7\n");
}

static void
test_describe(void **state)
{
	(void)state;
	check("{\"type\": \"integer\"}",
	      "\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
	      "want an integer, have \"012345678901234567890123456789012345678901234567890123456789...\"\n");
	check("{\"type\": \"integer\"}", "\"a\\\"b\\\\c\\n\"",
	      "want an integer, have \"a\\\"b\\\\c\\n\"\n");
	check("{\"type\": \"integer\"}", "\"\\u00e9t\\u00e9\"",
	      "want an integer, have \"\xc3\xa9t\xc3\xa9\"\n");
	check("{\"type\": \"string\"}", "-3", "want a string, have integer -3\n");
	check("{\"type\": \"string\"}", "0.25", "want a string, have number 0.25\n");
}

static void
test_enum_const(void **state)
{
	(void)state;
	check("{\"enum\": [\"pending\", \"approved\", \"rejected\"]}", "\"maybe\"",
	      "want one of pending, approved, rejected; have \"maybe\"\n");
	check("{\"enum\": [\"a\", 1, null]}", "1.0", "");
	check("{\"enum\": [\"a\", 1, null]}", "2",
	      "want one of a, 1, null; have integer 2\n");
	check("{\"const\": \"berth/v1\"}", "\"v1\"",
	      "want \"berth/v1\", have \"v1\"\n");
	check("{\"const\": \"berth/v1\", \"title\": \"ignored\"}", "1",
	      "want \"berth/v1\", have integer 1\n");
	check("{\"const\": {\"a\": [1, 2]}}", "{\"a\": [1, 2.0]}", "");
	check("{\"const\": {\"a\": [1, 2]}}", "{\"a\": [2, 1]}",
	      "want {\"a\":[1,2]}, have a mapping\n");
}

static void
test_object(void **state)
{
	const char *obj = "{\"type\": \"object\", \"required\": [\"endpoint\", "
		"\"os\"], \"properties\": {\"endpoint\": {\"type\": \"string\"}, "
		"\"os\": {\"type\": \"string\"}, \"fingerprint\": {\"type\": "
		"\"string\"}}, \"additionalProperties\": false}";

	(void)state;
	check(obj, "{\"endpoint\": \"x\", \"os\": \"y\"}", "");
	check(obj, "{\"os\": \"y\"}", "missing required field \"endpoint\"\n");
	check(obj, "{}", "missing required field \"endpoint\"\n"
	      "missing required field \"os\"\n");
	check(obj, "{\"endpoint\": \"x\", \"os\": \"y\", \"fingreprint\": \"z\"}",
	      "fingreprint: unknown field \"fingreprint\" (did you mean "
	      "\"fingerprint\"?)\n");
	check(obj, "{\"endpoint\": \"x\", \"os\": \"y\", \"os2\": 1}",
	      "os2: unknown field \"os2\" (did you mean \"os\"?)\n");
	check(obj, "{\"endpoint\": \"x\", \"os\": \"y\", \"colour\": 1}",
	      "colour: unknown field \"colour\" (want one of: endpoint, os, "
	      "fingerprint)\n");
	check(obj, "{\"endpoint\": \"x\", \"os\": \"y\", \"Endpoint\": 1}",
	      "Endpoint: unknown field \"Endpoint\" (did you mean \"endpoint\"?)\n");
	check(obj, "{\"endpoint\": 1, \"os\": \"y\", \"a.b\": 1}",
	      "endpoint: want a string, have integer 1\n"
	      "[\"a.b\"]: unknown field \"a.b\" (want one of: endpoint, os, "
	      "fingerprint)\n");
	check("{\"type\": \"object\", \"additionalProperties\": false}",
	      "{\"x\": 1}", "x: unknown field \"x\"\n");
	/* additionalProperties as a schema, patternProperties, propertyNames */
	check("{\"type\": \"object\", \"additionalProperties\": {\"type\": "
	      "\"integer\"}}", "{\"a\": 1, \"b\": \"2\"}",
	      "b: want an integer, have \"2\"\n");
	check("{\"type\": \"object\", \"patternProperties\": {\"^x-\": {\"type\":"
	      " \"string\"}}, \"additionalProperties\": false}",
	      "{\"x-a\": \"1\", \"x-b\": 2, \"y\": 3}",
	      "x-b: want a string, have integer 2\n"
	      "y: unknown field \"y\"\n");
	check("{\"type\": \"object\", \"propertyNames\": {\"title\": \"a key "
	      "like ab\", \"type\": \"string\", \"pattern\": \"^[a-z]+$\"}}",
	      "{\"ab\": 1, \"A B\": 2}",
	      "[\"A B\"]: want a key like ab, have \"A B\"\n");
	check("{\"type\": \"object\", \"minProperties\": 1}", "{}",
	      "want at least 1 field, have 0\n");
	check("{\"type\": \"object\", \"minProperties\": 2}", "{\"a\": 1}",
	      "want at least 2 fields, have 1\n");
	check("{\"type\": \"object\", \"maxProperties\": 1}", "{\"a\": 1, \"b\": 2}",
	      "want at most 1 field, have 2\n");
	check("{\"properties\": {\"a\": {\"type\": \"string\"}}}", "5", "");
}

static void
test_array(void **state)
{
	(void)state;
	check("{\"type\": \"array\", \"items\": {\"type\": \"string\"}}",
	      "[\"a\", 1, \"b\", true]",
	      "[1]: want a string, have integer 1\n"
	      "[3]: want a string, have true\n");
	check("{\"type\": \"array\", \"minItems\": 2}", "[1]",
	      "want at least 2 items, have 1\n");
	check("{\"type\": \"array\", \"maxItems\": 1}", "[1, 2]",
	      "want at most 1 item, have 2\n");
	check("{\"type\": \"array\", \"uniqueItems\": true}", "[\"a\", \"b\", \"a\"]",
	      "[2]: want unique items, have \"a\" again (first at [0])\n");
	check("{\"type\": \"array\", \"uniqueItems\": true}", "[1, 1.0]",
	      "[1]: want unique items, have number 1 again (first at [0])\n");
	check("{\"type\": \"array\", \"uniqueItems\": true}",
	      "[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}]",
	      "[1]: want unique items, have a mapping again (first at [0])\n");
	check("{\"type\": \"array\", \"uniqueItems\": true}", "[1, \"1\", [1]]", "");
	check("{\"properties\": {\"a\": {\"type\": \"array\", \"items\": "
	      "{\"properties\": {\"b\": {\"type\": \"integer\"}}}}}}",
	      "{\"a\": [{\"b\": 1}, {\"b\": \"x\"}]}",
	      "a[1].b: want an integer, have \"x\"\n");
}

static void
test_string(void **state)
{
	(void)state;
	check("{\"type\": \"string\", \"minLength\": 1}", "\"\"",
	      "want at least 1 character, have \"\"\n");
	check("{\"type\": \"string\", \"minLength\": 3}", "\"ab\"",
	      "want at least 3 characters, have \"ab\"\n");
	check("{\"type\": \"string\", \"maxLength\": 3}", "\"abcd\"",
	      "want at most 3 characters, have 4\n");
	/* lengths count code points: "été" is 3 */
	check("{\"type\": \"string\", \"maxLength\": 3}", "\"\\u00e9t\\u00e9\"", "");
	check("{\"type\": \"string\", \"minLength\": 4}", "\"\\u00e9t\\u00e9\"",
	      "want at least 4 characters, have \"\xc3\xa9t\xc3\xa9\"\n");
	/* a pattern is searched, not anchored */
	check("{\"type\": \"string\", \"pattern\": \"b\"}", "\"abc\"", "");
	check("{\"type\": \"string\", \"pattern\": \"^b\"}", "\"abc\"",
	      "want a string matching ^b, have \"abc\"\n");
	check("{\"type\": \"string\", \"pattern\": \"^[a-z]+$\"}", "\"ab\\u0000c\"",
	      "want a string matching ^[a-z]+$, have \"ab\\u0000c\"\n");
	check("{\"type\": \"string\", \"pattern\": \"^a[^ ]c$\"}", "\"a\\u0000c\"", "");
	check("{\"$defs\": {\"d\": {\"title\": \"a duration like 30s\", \"type\": "
	      "\"string\", \"pattern\": \"^[0-9]+(ms|s|m|h|d)$\", \"maxLength\": "
	      "5}}, \"properties\": {\"a\": {\"$ref\": \"#/$defs/d\"}, \"b\": "
	      "{\"$ref\": \"#/$defs/d\"}}}", "{\"a\": \"30 s\", \"b\": \"123456s\"}",
	      "a: want a duration like 30s, have \"30 s\"\n"
	      "b: want a duration like 30s, have \"123456s\"\n");
}

static void
test_number(void **state)
{
	const char *cpu = "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1024}";

	(void)state;
	check(cpu, "1", "");
	check(cpu, "1024", "");
	check(cpu, "0", "want at least 1, have integer 0\n");
	check(cpu, "1025", "want at most 1024, have integer 1025\n");
	check("{\"type\": \"number\", \"minimum\": 1}", "0.5",
	      "want at least 1, have number 0.5\n");
	check("{\"type\": \"number\", \"exclusiveMinimum\": 0}", "0",
	      "want more than 0, have integer 0\n");
	check("{\"type\": \"number\", \"exclusiveMinimum\": 0}", "0.001", "");
	check("{\"$defs\": {\"c\": {\"title\": \"a CPU count\", \"type\": "
	      "\"integer\", \"minimum\": 1}}, \"$ref\": \"#/$defs/c\"}", "0",
	      "want a CPU count, have integer 0\n");
}

static void
test_combinators(void **state)
{
	const char *size = "{\"$defs\": {\"size\": {\"title\": \"a size like 64GiB\","
		" \"anyOf\": [{\"type\": \"integer\", \"minimum\": 0}, {\"type\": "
		"\"string\", \"pattern\": \"^[0-9]+(B|KiB|MiB|GiB|TiB|PiB)?$\"}]}}, "
		"\"$ref\": \"#/$defs/size\"}";
	const char *untitled = "{\"anyOf\": [{\"const\": \"auto\"}, {\"type\": "
		"\"integer\", \"minimum\": 1}]}";

	(void)state;
	check(size, "\"64GiB\"", "");
	check(size, "1024", "");
	check(size, "\"lots\"", "want a size like 64GiB, have \"lots\"\n");
	check(size, "true", "want a size like 64GiB, have true\n");
	check(size, "-1", "want a size like 64GiB, have integer -1\n");
	/* without a title: the one branch about the value's type, or all */
	check(untitled, "\"auto\"", "");
	check(untitled, "0", "want at least 1, have integer 0\n");
	check(untitled, "\"all\"", "want \"auto\", have \"all\"\n");
	check(untitled, "[]", "want \"auto\" or an integer, have an empty list\n");
	check("{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}, "
	      "{\"type\": \"boolean\"}]}", "null",
	      "want a string, an integer or true or false, have null\n");
	/* oneOf: exactly one */
	check("{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"number\"}]}",
	      "1.5", "");
	check("{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"number\"}]}",
	      "1", "want an integer or a number (exactly one), have integer 1\n");
	check("{\"oneOf\": [{\"type\": \"integer\"}, {\"enum\": [\"a\"]}]}",
	      "\"b\"", "want one of a; have \"b\"\n");
	/* allOf: every problem of every branch */
	check("{\"allOf\": [{\"type\": \"object\", \"required\": [\"a\"]}, "
	      "{\"type\": \"object\", \"required\": [\"b\"]}]}", "{}",
	      "missing required field \"a\"\nmissing required field \"b\"\n");
	/* if/then/else */
	check("{\"type\": \"object\", \"if\": {\"properties\": {\"e\": {\"type\":"
	      " \"string\", \"pattern\": \"^https://\"}}, \"required\": [\"e\"]},"
	      " \"then\": {\"required\": [\"f\"]}, \"else\": {\"required\": "
	      "[\"g\"]}}", "{\"e\": \"https://x\"}", "missing required field \"f\"\n");
	check("{\"type\": \"object\", \"if\": {\"properties\": {\"e\": {\"type\":"
	      " \"string\", \"pattern\": \"^https://\"}}, \"required\": [\"e\"]},"
	      " \"then\": {\"required\": [\"f\"]}, \"else\": {\"required\": "
	      "[\"g\"]}}", "{\"e\": \"unix:///x\"}", "missing required field \"g\"\n");
	/* the same problem found twice (a property and an if/then) is one */
	check("{\"properties\": {\"f\": {\"type\": \"string\"}}, \"if\": true, "
	      "\"then\": {\"properties\": {\"f\": {\"type\": \"string\"}}}}",
	      "{\"f\": 1}", "f: want a string, have integer 1\n");
	/* boolean schemas */
	check("true", "{\"a\": 1}", "");
	check("{\"properties\": {\"a\": false}}", "{\"a\": 1}",
	      "a: want nothing here, have integer 1\n");
}

static void
test_too_deep(void **state)
{
	(void)state;
	check("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/a\"}}, \"$ref\": "
	      "\"#/$defs/a\"}", "1", "nested too deeply to validate\n");
	check("{\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}",
	      "[[[[[]]]]]", "");
}

/* ---- the manifest schemas ---- */

static json_t *
load_fixture(const char *dir, const char *name)
{
	char path[4096];
	json_error_t jerr;
	json_t *d;

	snprintf(path, sizeof(path), "%s/%s/%s", SCHEMA_DATA, dir, name);
	d = json_load_file(path, 0, &jerr);
	if (!d)
		fail_msg("%s: %s", path, jerr.text);
	return d;
}

static int
is_json(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".json");
}

static const struct {
	const char *file;
	const char *want;
} bad_fixtures[] = {
	{ "cluster-group-missing-name.json",
	  "spec.groups[0]: missing required field \"name\"\n" },
	{ "cluster-member-field.json",
	  "spec.storage_pools[0].members.nas-01.sorce: unknown field \"sorce\" (did you mean \"source\"?)\n" },
	{ "cluster-member-name.json",
	  "spec.storage_pools[0].members[\"NAS 01\"]: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"NAS 01\"\n" },
	{ "cluster-missing-fingerprint.json",
	  "spec: missing required field \"fingerprint\"\n" },
	{ "cluster-pool-size.json",
	  "spec.storage_pools[0].size: unknown field \"size\" (want one of: name, driver, description, config, adopt, members)\n" },
	{ "cluster-unix-endpoint.json",
	  "spec.endpoint: want an endpoint like https://192.168.5.210:8443, have \"unix:///var/lib/incus/unix.socket\"\n" },
	{ "cluster-vm-maxcpus-word.json",
	  "spec.vm_maxcpus: want auto or a CPU count like 8, have \"all\"\n" },
	{ "cluster-vm-maxcpus-zero.json",
	  "spec.vm_maxcpus: want auto or a CPU count like 8, have integer 0\n" },
	{ "envelope-api-version.json",
	  "apiVersion: want \"berth/v1\", have \"v1\"\n" },
	{ "envelope-kind-type.json",
	  "kind: want one of Provider, Host, Cluster, Pool, Plan, Image, Instance, Fleet; have integer 7\n" },
	{ "envelope-kind.json",
	  "kind: want one of Provider, Host, Cluster, Pool, Plan, Image, Instance, Fleet; have \"Hots\"\n" },
	{ "envelope-missing-spec.json",
	  "missing required field \"spec\"\n" },
	{ "envelope-not-mapping.json",
	  "missing required field \"apiVersion\"\n"
	  "missing required field \"kind\"\n"
	  "missing required field \"metadata\"\n"
	  "missing required field \"spec\"\n" },
	{ "envelope-spec-list.json",
	  "spec: want a mapping, have a list\n" },
	{ "envelope-spec-typo.json",
	  "missing required field \"spec\"\n"
	  "specs: unknown field \"specs\" (did you mean \"spec\"?)\n" },
	{ "fleet-schedule-fields.json",
	  "spec.sync_windows[0].schedule: want a cron schedule like \"0 9 * * 1-5\", have \"0 9 * *\"\n" },
	{ "fleet-time-zone.json",
	  "spec.sync_windows[0].time_zone: want a time zone like Europe/Berlin, have \"Europe Berlin\"\n" },
	{ "fleet-unknown-field.json",
	  "spec.sync_window: unknown field \"sync_window\" (did you mean \"sync_windows\"?)\n" },
	{ "fleet-window-duration.json",
	  "spec.sync_windows[0].duration: want a duration like 30s, have integer 8\n" },
	{ "fleet-window-kind.json",
	  "spec.sync_windows[0].kind: want one of allow, deny; have \"block\"\n" },
	{ "fleet-window-missing-duration.json",
	  "spec.sync_windows[0]: missing required field \"duration\"\n" },
	{ "host-agent-interval.json",
	  "spec.agent.interval: want a duration like 30s, have integer 30\n" },
	{ "host-agent-key.json",
	  "spec.agent.key: want an agent key like \"ed25519:<base64>\", have \"ssh-ed25519 AAAA\"\n" },
	{ "host-agent-missing-key.json",
	  "spec.agent: missing required field \"key\"\n" },
	{ "host-capacity-list.json",
	  "spec.capacity: want a capacity like {cpu: 16, memory: 64GiB, disk: 899GiB}, have a list\n" },
	{ "host-capacity-missing-memory.json",
	  "spec.capacity: missing required field \"memory\"\n" },
	{ "host-cluster-name.json",
	  "spec.cluster: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"Club Cotton\"\n" },
	{ "host-config-key.json",
	  "spec.projects[0].config[\"Limits.CPU\"]: want an Incus config key like limits.cpu, have \"Limits.CPU\"\n" },
	{ "host-config-null.json",
	  "spec.projects[0].config[\"limits.cpu\"]: want a string, integer or boolean, have null\n" },
	{ "host-config-value.json",
	  "spec.projects[0].config[\"limits.cpu\"]: want a string, integer or boolean, have a list\n" },
	{ "host-cpu-fraction.json",
	  "spec.capacity.cpu: want an integer, have number 2.5\n" },
	{ "host-cpu-string.json",
	  "spec.capacity.cpu: want an integer, have \"4\"\n" },
	{ "host-cpu-zero.json",
	  "spec.capacity.cpu: want at least 1, have integer 0\n" },
	{ "host-disk-unit.json",
	  "spec.capacity.disk: want a size like 64GiB, have \"899GB\"\n" },
	{ "host-endpoint-http.json",
	  "spec.endpoint: want an endpoint like https://192.168.5.210:8443 or unix:///var/lib/incus/unix.socket, have \"http://192.168.5.210:8443\"\n" },
	{ "host-endpoint-path.json",
	  "spec.endpoint: want an endpoint like https://192.168.5.210:8443 or unix:///var/lib/incus/unix.socket, have \"https://h.example/incus\"\n" },
	{ "host-fingerprint-typo.json",
	  "spec.fingreprint: unknown field \"fingreprint\" (did you mean \"fingerprint\"?)\n" },
	{ "host-fingerprint-upper.json",
	  "spec.fingerprint: want a SHA-256 fingerprint (64 lowercase hex digits), have \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...\"\n" },
	{ "host-https-no-fingerprint.json",
	  "spec: missing required field \"fingerprint\"\n" },
	{ "host-memory-bool.json",
	  "spec.capacity.memory: want a size like 64GiB, have true\n" },
	{ "host-memory-lots.json",
	  "spec.capacity.memory: want a size like 64GiB, have \"lots\"\n" },
	{ "host-memory-negative.json",
	  "spec.capacity.memory: want a size like 64GiB, have integer -1\n" },
	{ "host-missing-capacity.json",
	  "spec: missing required field \"capacity\"\n" },
	{ "host-os.json",
	  "spec.os: want an operating system like debian-12, have \"Debian 12\"\n" },
	{ "host-pool-adopt-string.json",
	  "spec.storage_pools[0].adopt: want true or false, have \"yes\"\n" },
	{ "host-pool-driver.json",
	  "spec.storage_pools[0].driver: want one of auto, dir, btrfs, lvm, zfs, ceph, cephfs, lvmcluster; have \"xfs\"\n" },
	{ "host-pool-members.json",
	  "spec.storage_pools[0].members: unknown field \"members\" (want one of: name, driver, size, source, description, config, adopt)\n" },
	{ "host-pool-missing-name.json",
	  "spec.storage_pools[0]: missing required field \"name\"\n" },
	{ "host-projects-mapping.json",
	  "spec.projects: want a list, have a mapping\n" },
	{ "host-review.json",
	  "spec.review: want one of pending, approved, rejected; have \"maybe\"\n" },
	{ "host-state.json",
	  "spec.state: want one of active, cordoned, draining; have \"offline\"\n" },
	{ "host-unknown-far.json",
	  "spec.colour: unknown field \"colour\" (want one of: endpoint, fingerprint, cluster, os, review, state, capacity, agent, storage_pools, projects)\n" },
	{ "image-alias-empty.json",
	  "spec.source.alias: want at least 1 character, have \"\"\n" },
	{ "image-auto-update.json",
	  "spec.auto_update: want true or false, have \"yes\"\n" },
	{ "image-missing-source.json",
	  "spec: missing required field \"source\"\n" },
	{ "image-protocol.json",
	  "spec.source.protocol: want one of simplestreams, incus, oci; have \"lxd\"\n" },
	{ "image-server.json",
	  "spec.source.server: want a server URL like https://images.linuxcontainers.org, have \"ftp://images.example\"\n" },
	{ "image-type.json",
	  "spec.type: want one of container, virtual-machine; have \"vm\"\n" },
	{ "instance-missing-plan.json",
	  "spec: missing required field \"plan\"\n" },
	{ "instance-owner-int.json",
	  "spec.owner: want a string, have integer 42\n" },
	{ "instance-project.json",
	  "spec.project: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"Default\"\n" },
	{ "instance-state.json",
	  "spec.state: want one of running, stopped; have \"paused\"\n" },
	{ "metadata-and-spec.json",
	  "metadata.name: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"Web_1\"\n"
	  "spec.state: want one of running, stopped; have \"paused\"\n" },
	{ "metadata-label-key.json",
	  "metadata.labels[\"Region Name\"]: want a label key like region, have \"Region Name\"\n" },
	{ "metadata-label-value-int.json",
	  "metadata.labels.zone: want a label value (a string of at most 63 characters), have integer 1\n" },
	{ "metadata-label-value-long.json",
	  "metadata.labels.region: want a label value (a string of at most 63 characters), have \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"\n" },
	{ "metadata-missing-name.json",
	  "metadata: missing required field \"name\"\n" },
	{ "metadata-name-dash.json",
	  "metadata.name: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"web-\"\n" },
	{ "metadata-name-long.json",
	  "metadata.name: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"\n" },
	{ "metadata-name-upper.json",
	  "metadata.name: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"Web-1\"\n" },
	{ "metadata-provider.json",
	  "metadata.provider: want a name like nix-01 (at most 63 lowercase letters, digits and '-'), have \"ACME\"\n" },
	{ "metadata-unknown.json",
	  "metadata.lables: unknown field \"lables\" (did you mean \"labels\"?)\n" },
	{ "plan-availability.json",
	  "spec.availability: want one of on-sale, hidden, retired; have \"sold-out\"\n" },
	{ "plan-cpu-max.json",
	  "spec.cpu: want at most 1024, have integer 2048\n" },
	{ "plan-currency.json",
	  "spec.price.currency: want a currency code like EUR, have \"eur\"\n" },
	{ "plan-cycle.json",
	  "spec.price.cycle: want one of hourly, monthly, quarterly, semiannual, yearly; have \"weekly\"\n" },
	{ "plan-images-duplicate.json",
	  "spec.images[1]: want unique items, have \"debian-12\" again (first at [0])\n" },
	{ "plan-missing-price.json",
	  "spec: missing required field \"price\"\n" },
	{ "plan-overage-float.json",
	  "spec.overage.amount: want a decimal string like \"4.50\", have number 0.01\n" },
	{ "plan-overage-per.json",
	  "spec.overage.per: want one of KiB, MiB, GiB, TiB; have \"GB\"\n" },
	{ "plan-price-comma.json",
	  "spec.price.amount: want a decimal string like \"4.50\", have \"4,50\"\n" },
	{ "plan-price-float.json",
	  "spec.price.amount: want a decimal string like \"4.50\", have number 4.5\n" },
	{ "plan-price-missing-cycle.json",
	  "spec.price: missing required field \"cycle\"\n" },
	{ "plan-type.json",
	  "spec.type: want one of container, virtual-machine; have \"vm\"\n" },
	{ "pool-hosts-empty.json",
	  "spec.hosts: want at least 1 field, have 0\n" },
	{ "pool-hosts-missing.json",
	  "spec: missing required field \"hosts\"\n" },
	{ "pool-names-duplicate.json",
	  "spec.hosts.names[2]: want unique items, have \"nix-01\" again (first at [0])\n" },
	{ "pool-overcommit-half.json",
	  "spec.overcommit.cpu: want at least 1, have number 0.5\n" },
	{ "pool-overcommit-string.json",
	  "spec.overcommit.memory: want a number, have \"2x\"\n" },
	{ "pool-placement.json",
	  "spec.placement: want one of spread, pack; have \"random\"\n" },
	{ "pool-require-agent.json",
	  "spec.require_agent: want true or false, have \"true\"\n" },
	{ "pool-reserve-over.json",
	  "spec.reserve.disk: want a percentage like 70%, have \"110%\"\n" },
	{ "pool-reserve-three-decimals.json",
	  "spec.reserve.disk: want a percentage like 70%, have \"1.125%\"\n" },
	{ "pool-supply.json",
	  "spec.supply: want one of open, closed; have \"full\"\n" },
	{ "provider-currency.json",
	  "spec.currency: want a currency code like EUR, have \"euro\"\n" },
	{ "provider-display-name-empty.json",
	  "spec.display_name: want at least 1 character, have \"\"\n" },
	{ "provider-holdback.json",
	  "spec.holdback: want a duration like 30s, have \"30 days\"\n" },
	{ "provider-missing-display-name.json",
	  "spec: missing required field \"display_name\"\n" },
	{ "provider-revenue-share-over.json",
	  "spec.revenue_share: want a percentage like 70%, have \"100.5%\"\n" },
	{ "provider-revenue-share.json",
	  "spec.revenue_share: want a percentage like 70%, have \"70\"\n" },
};

static void
test_fixtures(void **state)
{
	static const char *const dirs[] = { "good", "bad" };
	struct berr err;
	struct schema_set *s = schema_set_load(&err);
	size_t d, i, counted[2] = { 0, 0 };

	(void)state;
	assert_non_null(s);
	for (d = 0; d < 2; d++) {
		char path[4096];
		DIR *dir;
		struct dirent *e;

		snprintf(path, sizeof(path), "%s/%s", SCHEMA_DATA, dirs[d]);
		dir = opendir(path);
		assert_non_null(dir);
		while ((e = readdir(dir))) {
			struct buf got = BUF_INIT;
			json_t *doc;
			int n;

			if (!is_json(e->d_name))
				continue;
			doc = load_fixture(dirs[d], e->d_name);
			n = schema_validate_manifest(s, doc, collect, &got);
			if (d == 0 && n != 0)
				fail_msg("good/%s fails:\n%s", e->d_name, got.buf);
			if (d == 1 && n <= 0)
				fail_msg("bad/%s passes", e->d_name);
			if (d == 1) {
				for (i = 0; i < sizeof(bad_fixtures) /
					     sizeof(bad_fixtures[0]); i++)
					if (!strcmp(bad_fixtures[i].file, e->d_name))
						break;
				if (i == sizeof(bad_fixtures) / sizeof(bad_fixtures[0]))
					fail_msg("bad/%s: no expected messages "
						 "in test-schema.c; it says:\n%s",
						 e->d_name, got.buf);
				if (strcmp(got.buf, bad_fixtures[i].want))
					fail_msg("bad/%s:\nwant:\n%shave:\n%s",
						 e->d_name, bad_fixtures[i].want,
						 got.buf);
			}
			counted[d]++;
			json_decref(doc);
			buf_release(&got);
		}
		closedir(dir);
	}
	assert_true(counted[0] >= 14);
	assert_int_equal(counted[1], sizeof(bad_fixtures) / sizeof(bad_fixtures[0]));
	schema_set_free(s);
}

/* envelope first: a wrong kind or apiVersion stops there */
static void
test_manifest_order(void **state)
{
	struct berr err;
	struct schema_set *s = schema_set_load(&err);
	struct buf got = BUF_INIT;
	json_t *doc;

	(void)state;
	assert_non_null(s);
	doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "apiVersion", "berth/v2",
			"kind", "Host", "metadata", "name", "a", "spec", "x", 1);
	assert_int_equal(schema_validate_manifest(s, doc, collect, &got), 1);
	assert_string_equal(got.buf, "apiVersion: want \"berth/v1\", have \"berth/v2\"\n");
	json_decref(doc);
	buf_reset(&got);
	doc = json_pack("[]");
	assert_int_equal(schema_validate_manifest(s, doc, collect, &got), 1);
	assert_string_equal(got.buf, "want a mapping, have an empty list\n");
	json_decref(doc);
	buf_reset(&got);
	/* a good envelope with a bad spec: the spec's problems */
	doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "apiVersion",
			"berth/v1", "kind", "Instance", "metadata", "name", "a",
			"spec", "plan", "p", "imgae", "i");
	assert_int_equal(schema_validate_manifest(s, doc, collect, &got), 2);
	assert_string_equal(got.buf, "spec: missing required field \"image\"\n"
			    "spec.imgae: unknown field \"imgae\" (did you mean \"image\"?)\n");
	json_decref(doc);
	buf_release(&got);
	schema_set_free(s);
}

/*
 * The schemas' own conventions: the root has $schema, $id, title and
 * description; every property has a title and a description (editors show
 * them); every object with properties is closed, or says what the rest
 * of its keys hold (a device: its type, then any key); patterns are anchored.
 */
static void
lint(const char *file, const char *ptr, const json_t *j, int in_properties)
{
	const char *key;
	json_t *v;
	char sub[1024];

	if (json_is_array(j)) {
		size_t i;

		json_array_foreach(j, i, v) {
			snprintf(sub, sizeof(sub), "%s/%zu", ptr, i);
			lint(file, sub, v, 0);
		}
		return;
	}
	if (!json_is_object(j))
		return;
	if (in_properties && (!json_is_string(json_object_get(j, "title")) ||
			      !json_is_string(json_object_get(j, "description"))))
		fail_msg("%s: %s: a property without title or description", file, ptr);
	if (json_object_get(j, "properties") &&
	    json_is_string(json_object_get(j, "type")) &&
	    !strcmp(json_string_value(json_object_get(j, "type")), "object") &&
	    !json_is_false(json_object_get(j, "additionalProperties")) &&
	    !json_is_object(json_object_get(j, "additionalProperties")))
		fail_msg("%s: %s: an object without additionalProperties: false"
			 " (or a schema for the rest)", file, ptr);
	if (json_is_string(json_object_get(j, "pattern")) &&
	    json_string_value(json_object_get(j, "pattern"))[0] != '^')
		fail_msg("%s: %s: a pattern that is not anchored", file, ptr);
	json_object_foreach((json_t *)j, key, v) {
		if (!strcmp(key, "const") || !strcmp(key, "enum") ||
		    !strcmp(key, "default") || !strcmp(key, "examples"))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", ptr, key);
		if (!strcmp(key, "properties")) {
			const char *pk;
			json_t *pv;

			json_object_foreach(v, pk, pv) {
				snprintf(sub, sizeof(sub), "%s/properties/%s", ptr, pk);
				lint(file, sub, pv, 1);
			}
		} else {
			lint(file, sub, v, 0);
		}
	}
}

static void
test_schema_conventions(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < embedded_schemas_count; i++) {
		const char *name = embedded_schemas[i].name;
		json_t *j = json_loads(embedded_schemas[i].data, 0, NULL);
		char id[256];

		assert_non_null(j);
		snprintf(id, sizeof(id), "https://schemas.berth.dev/v1/%s", name);
		assert_string_equal(json_string_value(json_object_get(j, "$schema")),
				    "https://json-schema.org/draft/2020-12/schema");
		assert_string_equal(json_string_value(json_object_get(j, "$id")), id);
		assert_true(json_is_string(json_object_get(j, "title")));
		assert_true(json_is_string(json_object_get(j, "description")));
		lint(name, "", j, 0);
		json_decref(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_refs),
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_enum_const),
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_array),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_combinators),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_manifest_order),
		cmocka_unit_test(test_schema_conventions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
