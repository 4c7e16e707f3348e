/*
 * Unit tests for agent/spool.c: the agent's seq and the reports waiting
 * for delivery, in a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#include "agent/spool.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct fixture {
	struct tmpdir t;
	char *spool;	/* <dir>/spool, not created yet */
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	if (tmpdir_init(&f->t, "spool") < 0) {
		free(f);
		return -1;
	}
	f->spool = xasprintf("%s/spool", f->t.dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_release(&f->t);
	free(f->spool);
	free(f);
	return 0;
}

static struct spool *
open_ok(const char *dir, size_t max_reports, size_t max_bytes)
{
	struct spool_opts o = { max_reports, max_bytes };
	struct berr err;
	struct spool *s = spool_open(dir, &o, &err);

	if (!s)
		fail_msg("spool_open: %s", err.msg);
	return s;
}

static uint64_t
next(struct spool *s)
{
	uint64_t seq = 0;
	struct berr err;

	if (spool_next_seq(s, &seq, &err) < 0)
		fail_msg("spool_next_seq: %s", err.msg);
	return seq;
}

/* Put a report that tells counted dropped reports. */
static void
put_telling(struct spool *s, uint64_t seq, const char *body, uint64_t counted)
{
	struct berr err;

	if (spool_put(s, seq, body, strlen(body), counted, &err) < 0)
		fail_msg("spool_put: %s", err.msg);
}

static void
put(struct spool *s, uint64_t seq, const char *body)
{
	put_telling(s, seq, body, 0);
}

/* Reports dropped since the last call (*base keeps the count). */
static uint64_t
dropped_since(struct spool *s, uint64_t *base)
{
	uint64_t now = spool_dropped(s), d = now - *base;

	*base = now;
	return d;
}

/* The waiting seqs as text: "1 2 3". */
static void
waiting(struct spool *s, const char *want)
{
	uint64_t *seqs;
	size_t n;
	struct berr err;
	char have[512];
	size_t len = 0;

	have[0] = '\0';
	assert_int_equal(spool_list(s, &seqs, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(have + len, sizeof(have) - len, "%s%llu", i ? " " : "",
					(unsigned long long)seqs[i]);
	free(seqs);
	if (strcmp(have, want))
		fail_msg("waiting: want \"%s\", have \"%s\"", want, have);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static char *
read_text(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	char *text = xcalloc(1, 256);
	FILE *f = fopen(p, "r");

	assert_non_null(f);
	assert_true(fread(text, 1, 255, f) > 0);
	fclose(f);
	free(p);
	return text;
}

static void
seq_grows(void **state)
{
	struct fixture *f = *state;
	struct spool *s;
	struct stat st;
	uint64_t last = 0;
	char *text;

	s = open_ok(f->spool, 0, 0);
	assert_int_equal(stat(f->spool, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(next(s) == 1);
	assert_true(next(s) == 2);
	assert_true(next(s) == 3);
	text = read_text(f->spool, "seq");
	assert_string_equal(text, "3\n");
	free(text);
	spool_close(s);
	spool_close(NULL);

	/* across close and open, many times: strictly increasing */
	for (int round = 0; round < 20; round++) {
		s = open_ok(f->spool, 0, 0);
		for (int i = 0; i < 5; i++) {
			uint64_t seq = next(s);

			assert_true(seq > last);
			if (last)
				assert_true(seq == last + 1);
			last = seq;
		}
		spool_close(s);
	}
	assert_true(last == 3 + 100);

	/* a seq handed out but never put is not handed out again */
	s = open_ok(f->spool, 0, 0);
	assert_true(next(s) == 104);
	spool_close(s);
	s = open_ok(f->spool, 0, 0);
	assert_true(next(s) == 105);
	spool_close(s);
}

static void
one_agent(void **state)
{
	struct fixture *f = *state;
	struct spool *s, *t;
	struct berr err;
	char *want;
	pid_t pid;
	int status;

	s = open_ok(f->spool, 0, 0);
	assert_null(spool_open(f->spool, NULL, &err));
	want = xasprintf("spool \"%s\": another agent is using it (one agent per spool)", f->spool);
	assert_string_equal(err.msg, want);
	/* another process too */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct berr e2;
		struct spool *c = spool_open(f->spool, NULL, &e2);
		int refused = c == NULL && strstr(e2.msg, "another agent is using it");

		/* free the parent's copies (valgrind checks the child too); the lock stays */
		spool_close(c);
		spool_close(s);
		free(want);
		_exit(refused ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the first still works, and its seq is untouched */
	assert_true(next(s) == 1);
	spool_close(s);
	/* released on close */
	t = open_ok(f->spool, 0, 0);
	assert_true(next(t) == 2);
	spool_close(t);
	free(want);

	/* a spool where a file is */
	write_file(f->t.dir, "file", "x");
	free(f->spool);
	f->spool = xasprintf("%s/file", f->t.dir);
	assert_null(spool_open(f->spool, NULL, &err));
	want = xasprintf("\"%s\" is not a directory", f->spool);
	assert_string_equal(err.msg, want);
	free(want);
}

static void
put_list_get(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_ok(f->spool, 0, 0);
	size_t reports, bytes, len;
	struct berr err;
	char *body, *want;

	waiting(s, "");
	spool_usage(s, &reports, &bytes);
	assert_int_equal(reports, 0);
	assert_int_equal(bytes, 0);
	put(s, next(s), "{\"seq\": 1}");
	put(s, next(s), "{\"seq\": 2, \"x\": 1}");
	put(s, next(s), "{\"seq\": 3}");
	waiting(s, "1 2 3");
	spool_usage(s, &reports, &bytes);
	assert_int_equal(reports, 3);
	assert_int_equal(bytes, 10 + 18 + 10);

	assert_int_equal(spool_get(s, 2, &body, &len, &err), 0);
	assert_int_equal(len, 18);
	assert_string_equal(body, "{\"seq\": 2, \"x\": 1}");
	free(body);
	spool_remove(s, 2);
	waiting(s, "1 3");
	assert_int_equal(spool_get(s, 2, &body, &len, &err), -1);
	assert_null(body);
	want = xasprintf("cannot read \"%s/r-00000000000000000002.json\": No such file or directory",
			 f->spool);
	assert_string_equal(err.msg, want);
	free(want);
	spool_remove(s, 2);	/* twice is fine */
	spool_remove(s, 99);

	/* bytes, not strings: NULs and no terminator */
	{
		const char raw[] = { 'a', '\0', 'b', '\n' };
		uint64_t seq = next(s);

		assert_int_equal(spool_put(s, seq, raw, sizeof(raw), 0, &err), 0);
		assert_int_equal(spool_get(s, seq, &body, &len, &err), 0);
		assert_int_equal(len, 4);
		assert_memory_equal(body, raw, 4);
		free(body);
		assert_int_equal(spool_put(s, next(s), "", 0, 0, &err), 0);
	}
	waiting(s, "1 3 4 5");

	/* listed in seq order, not in the order put */
	put(s, 100, "c");
	put(s, 10, "a");
	put(s, 99, "b");
	waiting(s, "1 3 4 5 10 99 100");
	/* other files in the spool are not reports */
	write_file(f->spool, "r-1.json", "x");
	write_file(f->spool, "r-0000000000000000000x.json", "x");
	write_file(f->spool, "r-00000000000000000007.json.123.tmp", "x");
	write_file(f->spool, "r-00000000000000000007.jsonx", "x");
	write_file(f->spool, "x-00000000000000000007.json", "x");
	write_file(f->spool, "notes", "x");
	waiting(s, "1 3 4 5 10 99 100");
	/* and survive a reopen */
	spool_close(s);
	s = open_ok(f->spool, 0, 0);
	waiting(s, "1 3 4 5 10 99 100");
	assert_int_equal(spool_get(s, 99, &body, &len, &err), 0);
	assert_string_equal(body, "b");
	free(body);
	/* the next seq is past all of them */
	assert_true(next(s) == 101);
	spool_close(s);
}

static void
bound_reports(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_ok(f->spool, 3, 0);
	char body[64], *text;
	struct berr err;
	uint64_t base = 0;

	assert_true(spool_dropped(s) == 0);
	for (int i = 1; i <= 5; i++) {
		snprintf(body, sizeof(body), "{\"seq\": %d, \"dropped\": 0}", i);
		put(s, next(s), body);
	}
	waiting(s, "3 4 5");	/* the oldest went */
	assert_true(spool_dropped(s) == 2);
	text = read_text(f->spool, "dropped");
	assert_string_equal(text, "2\n");
	free(text);

	/* a report that tells them lowers the count once it is on disk
	 * (6 drops 3, which told none: 3 - 2 = 1 left to tell) */
	put_telling(s, next(s), "{\"dropped\": 2}", 2);
	waiting(s, "4 5 6");
	assert_true(spool_dropped(s) == 1);
	text = read_text(f->spool, "dropped");
	assert_string_equal(text, "1\n");
	free(text);
	/* a report that could not be put tells nothing: the count stays */
	assert_int_equal(spool_put(s, next(s), "x", (size_t)512 << 20, 1, &err), -1);
	assert_true(spool_dropped(s) == 1);

	/* the count is durable: it survives a restart */
	spool_close(s);
	s = open_ok(f->spool, 3, 0);
	assert_true(spool_dropped(s) == 1);

	/* a dropped report's own count is dropped with it: carried over */
	put_telling(s, next(s), "{\"dropped\": 1}", 1);	/* 8; drops 4 */
	waiting(s, "5 6 8");
	assert_true(spool_dropped(s) == 1);
	base = 1;
	put(s, next(s), "{}");		/* 9; drops 5 */
	assert_true(dropped_since(s, &base) == 1);
	put(s, next(s), "{}");		/* 10; drops 6, which told 2 */
	assert_true(dropped_since(s, &base) == 1 + 2);
	put(s, next(s), "{}");		/* 11; drops 8, which told 1 */
	assert_true(dropped_since(s, &base) == 1 + 1);
	waiting(s, "9 10 11");
	/* what a damaged or odd body counts is not trusted */
	put(s, next(s), "{\"dropped\": -7}");	/* 12; drops 9 */
	put(s, next(s), "not json");	/* 13; drops 10 */
	put(s, next(s), "{\"dropped\": \"9\"}");	/* 14; drops 11 */
	assert_true(dropped_since(s, &base) == 3);
	put(s, next(s), "x");	/* drops 12 (-7) */
	put(s, next(s), "x");	/* drops 13 (not JSON) */
	put(s, next(s), "x");	/* drops 14 ("9") */
	assert_true(dropped_since(s, &base) == 3);
	waiting(s, "15 16 17");
	spool_close(s);

	/* a smaller bound on reopen drops more at the next put */
	s = open_ok(f->spool, 1, 0);
	put(s, next(s), "x");
	waiting(s, "18");
	assert_true(dropped_since(s, &base) == 3);
	spool_close(s);
}

static void
bound_bytes(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_ok(f->spool, 0, 100);
	char forty[41], hundred[101];
	size_t reports, bytes;
	struct berr err;
	uint64_t base = 0;

	memset(forty, 'x', 40);
	forty[40] = '\0';
	memset(hundred, 'y', 100);
	hundred[100] = '\0';
	put(s, next(s), forty);
	put(s, next(s), forty);
	waiting(s, "1 2");
	put(s, next(s), forty);	/* 120 > 100: the oldest goes */
	waiting(s, "2 3");
	assert_true(dropped_since(s, &base) == 1);
	put(s, next(s), "0123456789");	/* 90 */
	waiting(s, "2 3 4");
	spool_usage(s, &reports, &bytes);
	assert_int_equal(reports, 3);
	assert_int_equal(bytes, 90);
	put(s, next(s), "0123456789");	/* exactly 100 fits */
	waiting(s, "2 3 4 5");
	assert_true(dropped_since(s, &base) == 0);
	/* one as big as the spool pushes out all */
	put(s, next(s), hundred);
	waiting(s, "6");
	assert_true(dropped_since(s, &base) == 4);
	/* more than the spool: refused, nothing dropped */
	assert_int_equal(spool_put(s, next(s), "x" "0123456789" "0123456789" "0123456789"
				   "0123456789" "0123456789" "0123456789" "0123456789"
				   "0123456789" "0123456789" "0123456789", 101, 0, &err), -1);
	assert_string_equal(err.msg, "a report of 101 bytes does not fit a spool of 100");
	waiting(s, "6");
	assert_true(dropped_since(s, &base) == 0);
	spool_close(s);
}

/* Open with the seq file holding text: the error, or NULL when it opened. */
static void
damaged(struct fixture *f, const char *name, const char *text)
{
	struct berr err;
	struct spool *s;
	char *want;

	write_file(f->spool, name, text);
	s = spool_open(f->spool, NULL, &err);
	if (s)
		fail_msg("%s \"%s\" accepted", name, text);
	want = xasprintf("\"%s/%s\": want a number, have \"", f->spool, name);
	if (strncmp(err.msg, want, strlen(want)) || !strstr(err.msg, "(the spool is damaged)"))
		fail_msg("%s \"%s\": have error: %s", name, text, err.msg);
	free(want);
}

static void
damaged_files(void **state)
{
	static const char *const bad[] = {
		"", "\n", "abc", "12x", "12 13", "-1", "-1\n", "+5", " 5", "0x10",
		"99999999999999999999", "18446744073709551615", "9223372036854775808",
	};
	struct fixture *f = *state;
	struct spool *s;
	struct berr err;
	char *want;

	spool_close(open_ok(f->spool, 0, 0));
	damaged(f, "seq", "abc\n");
	want = xasprintf("\"%s/seq\": want a number, have \"abc\n\" (the spool is damaged)", f->spool);
	assert_null(spool_open(f->spool, NULL, &err));
	assert_string_equal(err.msg, want);
	free(want);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		damaged(f, "seq", bad[i]);
	write_file(f->spool, "seq", "7\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		damaged(f, "dropped", bad[i]);
	write_file(f->spool, "dropped", "2");
	s = open_ok(f->spool, 0, 0);
	assert_true(next(s) == 8);
	assert_true(spool_dropped(s) == 2);
	spool_close(s);
	/* the largest seq a report may carry */
	write_file(f->spool, "seq", "9223372036854775806\n");
	s = open_ok(f->spool, 0, 0);
	assert_true(next(s) == INT64_MAX);
	spool_close(s);
	/* too big to read */
	write_file(f->spool, "seq", "1                                                                                \n");
	assert_null(spool_open(f->spool, NULL, &err));
	assert_non_null(strstr(err.msg, "/seq\" is over 64 bytes"));
	/* a spool that cannot be read */
	if (geteuid() != 0) {
		write_file(f->spool, "seq", "1\n");
		assert_int_equal(chmod(f->spool, 0), 0);
		assert_null(spool_open(f->spool, NULL, &err));
		assert_int_equal(chmod(f->spool, 0700), 0);
	}
}

static void
seq_past_waiting(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_ok(f->spool, 0, 0);
	char *p;

	put(s, next(s), "a");
	put(s, next(s), "b");
	spool_close(s);
	/* the seq file lost (a bad disk): never below a waiting report */
	p = xasprintf("%s/seq", f->spool);
	assert_int_equal(unlink(p), 0);
	s = open_ok(f->spool, 0, 0);
	assert_true(next(s) == 3);
	spool_close(s);
	/* the seq file behind */
	write_file(f->spool, "seq", "1\n");
	write_file(f->spool, "r-00000000000000000010.json", "c");
	s = open_ok(f->spool, 0, 0);
	assert_true(next(s) == 11);
	assert_true(next(s) == 12);
	spool_close(s);
	/* delivered and removed: still no going back */
	s = open_ok(f->spool, 0, 0);
	spool_remove(s, 1);
	spool_remove(s, 2);
	spool_remove(s, 10);
	waiting(s, "");
	assert_true(next(s) == 13);
	spool_close(s);
	/* names that only look like reports do not move the seq */
	write_file(f->spool, "r--0000000000000000001.json", "x");
	write_file(f->spool, "r-+0000000000000000099.json", "x");
	write_file(f->spool, "r- 0000000000000000077.json", "x");
	write_file(f->spool, "r-99999999999999999999.json", "x");
	write_file(f->spool, "r-18446744073709551615.json", "x");
	s = open_ok(f->spool, 0, 0);
	waiting(s, "");
	assert_true(next(s) == 14);
	spool_close(s);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(seq_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(one_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(put_list_get, setup, teardown),
		cmocka_unit_test_setup_teardown(bound_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(bound_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_files, setup, teardown),
		cmocka_unit_test_setup_teardown(seq_past_waiting, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
