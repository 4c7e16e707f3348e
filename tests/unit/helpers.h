/*
 * helpers.h - what the unit tests share besides cmocka: a temporary
 * directory for a fixture, and shell commands given as printf formats.
 * Defined here, static inline, because each test links only its module
 * (and lab.c, for the tests that start a lab). Include it after cmocka.h.
 */
#ifndef BERTH_TESTS_UNIT_HELPERS_H
#define BERTH_TESTS_UNIT_HELPERS_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util/buf.h"
#include "util/xalloc.h"

/* ---- a temporary directory ---------------------------------------------- */

/*
 * A test's temporary directory, /tmp/berth-NAME.XXXXXX, and the path of a
 * state directory in it (not made: the module under test makes it).
 */
struct tmpdir {
	char dir[64];
	char *state;	/* <dir>/state */
};

/* Make t's directory: 0, or -1 (nothing to release). */
static inline int
tmpdir_init(struct tmpdir *t, const char *name)
{
	int len = snprintf(t->dir, sizeof(t->dir), "/tmp/berth-%s.XXXXXX", name);

	if (len < 0 || (size_t)len >= sizeof(t->dir) || !mkdtemp(t->dir))
		return -1;
	t->state = xasprintf("%s/state", t->dir);
	return 0;
}

static inline int
rm_tree_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove path and everything below it (a link is removed, not followed). */
static inline void
rm_tree(const char *path)
{
	nftw(path, rm_tree_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove t's directory with everything below it. */
static inline void
tmpdir_release(struct tmpdir *t)
{
	rm_tree(t->dir);
	free(t->state);
	t->state = NULL;
}

/* ---- shell commands ----------------------------------------------------- */

#define SH_QUIET	1	/* its output (stdout and stderr) to /dev/null */
#define SH_MUST		2	/* the test fails unless it exits 0 */

/* Run the command fmt... with /bin/sh (flags: SH_*): its status as system(3) gives it. */
static inline int __attribute__((format(printf, 2, 3)))
sh_run(int flags, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	if (flags & SH_QUIET)
		buf_addstr(&cmd, " >/dev/null 2>&1");
	rc = system(cmd.buf);
	if (rc != 0 && (flags & SH_MUST))
		fail_msg("command failed (%d): %s", rc, cmd.buf);
	buf_release(&cmd);
	return rc;
}

/*
 * Run the command fmt... with /bin/sh: its standard output (caller frees),
 * and its exit status in *status (-1 when it did not exit).
 */
static inline char * __attribute__((format(printf, 2, 3)))
sh_output(int *status, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT, out = BUF_INIT;
	char chunk[4096];
	va_list ap;
	size_t n;
	FILE *p;
	int rc;

	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	p = popen(cmd.buf, "r");
	buf_release(&cmd);
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_add(&out, chunk, n);
	rc = pclose(p);
	*status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	return buf_detach(&out, NULL);
}

#endif
