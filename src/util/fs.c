/*
 * fs.c - mkdir -p, atomic durable writes, and bounded reads of whole files
 * and descriptors (fs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

int
mkdir_p(const char *path, struct berr *err)
{
	char *p = xstrdup(path), *s, c;
	struct stat st;
	int ret = -1;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (*p && mkdir(p, 0700) < 0 && errno != EEXIST) {
			berr_set(err, "cannot create directory \"%s\": %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		berr_set(err, "\"%s\" is not a directory", path);
		goto out;
	}
	ret = 0;
out:
	free(p);
	return ret;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
		struct berr *err)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	char *dircopy = xstrdup(path);
	int fd, dfd, ret = -1;

	/* A name nobody could have made first (O_EXCL), with mode set once it is ours. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		berr_set(err, "cannot create \"%s\": %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, (mode_t)mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		berr_set(err, "cannot write \"%s\": %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		berr_set(err, "cannot write \"%s\": %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ret = 0;
out:
	free(dircopy);
	free(tmp);
	return ret;
}

int
fs_read_fd(int fd, struct buf *out)
{
	char chunk[16384];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_add(out, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			return -1;
		}
	}
}

int
fs_read_file(const char *path, size_t max, char **out, size_t *len, struct berr *err)
{
	struct buf b;
	int fd, e, ret = -1;

	*out = NULL;
	buf_init(&b, max);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, &b) < 0) {
		e = errno;
		if (fd >= 0 && e == EFBIG)
			berr_set(err, "\"%s\" is over %zu bytes", path, max);
		else
			berr_set(err, "cannot read \"%s\": %s", path, strerror(e));
		goto out;
	}
	*out = buf_detach(&b, len);
	e = 0;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&b);
	if (ret < 0)
		errno = e;
	return ret;
}
