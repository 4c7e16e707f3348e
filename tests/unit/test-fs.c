/*
 * test-fs.c - util/fs.c: files written atomically, in a directory other
 * users may write to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/xalloc.h"

static size_t
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * Someone made the temporary file's usual name first, readable by all: the
 * write neither uses it nor takes its mode, and leaves nothing behind.
 */
static void
test_write_atomic_not_hijacked(void **state)
{
	char dir[] = "/tmp/berth-test-fs.XXXXXX", *path, *decoy, *back = NULL;
	struct berr err;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/client.key", dir);
	decoy = xasprintf("%s.%ld.tmp", path, (long)getpid());
	fd = open(decoy, O_WRONLY | O_CREAT | O_EXCL, 0666);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	close(fd);
	assert_int_equal(fs_write_atomic(path, "secret", 6, 0600, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fs_read_file(path, 64, &back, NULL, &err), 0);
	assert_string_equal(back, "secret");
	assert_int_equal(stat(decoy, &st), 0);
	assert_int_equal(st.st_size, 0);		/* never written */
	assert_int_equal(entries(dir), 2);		/* the file and the decoy */
	/* again, over the file: replaced, same mode */
	assert_int_equal(fs_write_atomic(path, "other", 5, 0644, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(entries(dir), 2);
	unlink(decoy);
	unlink(path);
	rmdir(dir);
	free(back);
	free(decoy);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_atomic_not_hijacked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
