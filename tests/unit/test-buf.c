/* Unit tests for util/buf.c, util/diag.c and util/suggest.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/suggest.h"

static void
buffers(void **state)
{
	struct buf b = BUF_INIT;
	char *p;
	size_t len;
	int i;

	(void)state;
	assert_string_equal(b.buf, "");
	assert_int_equal(buf_addstr(&b, "abc"), 0);
	assert_int_equal(buf_addf(&b, "-%d", 42), 0);
	assert_string_equal(b.buf, "abc-42");
	buf_setlen(&b, 3);
	assert_string_equal(b.buf, "abc");
	for (i = 0; i < 1000; i++)
		buf_addch(&b, 'x');
	assert_int_equal(b.len, 1003);
	p = buf_detach(&b, &len);
	assert_int_equal(len, 1003);
	assert_string_equal(b.buf, "");
	free(p);

	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), 0);
	assert_int_equal(buf_addch(&b, '9'), -1);
	assert_string_equal(b.buf, "12345678");
	assert_int_equal(buf_addf(&b, "%s", "x"), -1);
	buf_release(&b);
	assert_int_equal(b.max, 8);
}

static void
diagnostics(void **state)
{
	struct diags d = DIAGS_INIT;
	char out[256];

	(void)state;
	diags_add(&d, DIAG_ERROR, "b.yaml", 3, 1, "spec.x", "want %s", "y");
	diags_add(&d, DIAG_WARNING, "a.yaml", 9, 2, "", "w");
	diags_add(&d, DIAG_ERROR, "a.yaml", 1, 5, "metadata.name", "first");
	diags_add(&d, DIAG_ERROR, "a.yaml", 1, 5, "metadata.name", "second");
	assert_int_equal(d.nerrors, 3);
	assert_int_equal(d.nwarnings, 1);
	diags_sort(&d);
	assert_string_equal(d.v[0].msg, "first");
	assert_string_equal(d.v[1].msg, "second");
	assert_string_equal(d.v[2].msg, "w");
	assert_string_equal(d.v[3].file, "b.yaml");
	diag_format(&d.v[3], out, sizeof(out));
	assert_string_equal(out, "b.yaml:3:1: spec.x: want y");
	diag_format(&d.v[2], out, sizeof(out));
	assert_string_equal(out, "a.yaml:9:2: w");
	diags_release(&d);
}

static void
suggestions(void **state)
{
	const char *names[] = { "validate", "version", "render", "help" };

	(void)state;
	assert_int_equal(edit_distance("kitten", "sitting"), 3);
	assert_int_equal(edit_distance("ab", "ba"), 1);
	assert_int_equal(edit_distance("", "abc"), 3);
	assert_string_equal(suggest("validat", names, 4), "validate");
	assert_string_equal(suggest("vaildate", names, 4), "validate");
	assert_string_equal(suggest("rendr", names, 4), "render");
	assert_string_equal(suggest("vers", names, 4), "version");
	assert_null(suggest("frobnicate", names, 4));
	assert_null(suggest("v", names, 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buffers),
		cmocka_unit_test(diagnostics),
		cmocka_unit_test(suggestions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
