/*
 * spool.c - the agent's spool directory (spool.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/report.h"
#include "agent/spool.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct spool {
	char *dir;
	int lock_fd;
	struct spool_opts o;
	uint64_t last_seq;
	uint64_t dropped;
};

static char *
path_of(const struct spool *s, const char *name)
{
	return xasprintf("%s/%s", s->dir, name);
}

static char *
report_path(const struct spool *s, uint64_t seq)
{
	return xasprintf("%s/r-%020" PRIu64 ".json", s->dir, seq);
}

/* A small decimal file (0 to INT64_MAX, digits only); 0 when missing. */
static int
read_number(const struct spool *s, const char *name, uint64_t *out, struct berr *err)
{
	char *p = path_of(s, name), *text, *end;
	int ret = -1;

	*out = 0;
	if (fs_read_file(p, 64, &text, NULL, err) < 0) {
		if (errno == ENOENT)
			ret = 0;
		free(p);
		return ret;
	}
	errno = 0;
	*out = strtoull(text, &end, 10);
	/* strtoull() takes "-1" (as 2^64 - 1), "+1" and " 1": not a seq. */
	if (text[0] < '0' || text[0] > '9' || errno || (*end && *end != '\n') ||
	    *out > INT64_MAX)
		berr_set(err, "\"%s\": want a number, have \"%.40s\" (the spool is damaged)", p, text);
	else
		ret = 0;
	free(text);
	free(p);
	return ret;
}

static int
write_number(const struct spool *s, const char *name, uint64_t v, struct berr *err)
{
	char *p = path_of(s, name), text[32];
	int ret;

	snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
	ret = fs_write_atomic(p, text, strlen(text), 0600, err);
	free(p);
	return ret;
}

struct spool *
spool_open(const char *dir, const struct spool_opts *o, struct berr *err)
{
	struct spool *s = xcalloc(1, sizeof(*s));
	char *lock;

	s->dir = xstrdup(dir);
	s->lock_fd = -1;
	if (o)
		s->o = *o;
	if (!s->o.max_reports)
		s->o.max_reports = 10000;
	if (!s->o.max_bytes)
		s->o.max_bytes = 256u << 20;
	if (mkdir_p(dir, err) < 0)
		goto fail;
	lock = path_of(s, "lock");
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		berr_set(err, "spool \"%s\": %s", dir, s->lock_fd < 0 ? strerror(errno) :
			 "another agent is using it (one agent per spool)");
		free(lock);
		goto fail;
	}
	free(lock);
	if (read_number(s, "seq", &s->last_seq, err) < 0 ||
	    read_number(s, "dropped", &s->dropped, err) < 0)
		goto fail;
	return s;
fail:
	spool_close(s);
	return NULL;
}

void
spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s);
}

int
spool_next_seq(struct spool *s, uint64_t *seq, struct berr *err)
{
	uint64_t next = s->last_seq + 1;
	uint64_t *seqs = NULL;
	size_t n = 0;

	/* Never below a report still waiting (a seq file lost to a bad disk). */
	if (spool_list(s, &seqs, &n, err) < 0)
		return -1;
	if (n && seqs[n - 1] >= next)
		next = seqs[n - 1] + 1;
	free(seqs);
	if (write_number(s, "seq", next, err) < 0)
		return -1;
	s->last_seq = next;
	*seq = next;
	return 0;
}

uint64_t
spool_dropped(const struct spool *s)
{
	return s->dropped;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
spool_list(struct spool *s, uint64_t **seqs, size_t *n, struct berr *err)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	size_t cap = 0;

	*seqs = NULL;
	*n = 0;
	if (!d)
		return berr_set(err, "cannot read the spool \"%s\": %s", s->dir, strerror(errno));
	while ((e = readdir(d))) {
		uint64_t v;

		/* Only the names report_path() makes: 20 digits, at most INT64_MAX. */
		if (strncmp(e->d_name, "r-", 2) || strlen(e->d_name) != 27 ||
		    strspn(e->d_name + 2, "0123456789") != 20 || strcmp(e->d_name + 22, ".json"))
			continue;
		v = strtoull(e->d_name + 2, NULL, 10);
		if (v > INT64_MAX)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*seqs = xreallocarray(*seqs, cap, sizeof(**seqs));
		}
		(*seqs)[(*n)++] = v;
	}
	closedir(d);
	if (*n)		/* qsort(NULL, 0, ...) is undefined */
		qsort(*seqs, *n, sizeof(**seqs), cmp_u64);
	return 0;
}

int
spool_get(struct spool *s, uint64_t seq, char **body, size_t *len, struct berr *err)
{
	char *p = report_path(s, seq);
	int ret = fs_read_file(p, REPORT_MAX_BODY, body, len, err);

	free(p);
	return ret;
}

void
spool_remove(struct spool *s, uint64_t seq)
{
	char *p = report_path(s, seq);

	unlink(p);
	free(p);
}

void
spool_usage(struct spool *s, size_t *reports, size_t *bytes)
{
	uint64_t *seqs;
	size_t n;
	struct berr err;

	*reports = *bytes = 0;
	if (spool_list(s, &seqs, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char *p = report_path(s, seqs[i]);
		struct stat st;

		if (stat(p, &st) == 0)
			*bytes += (size_t)st.st_size;
		free(p);
	}
	*reports = n;
	free(seqs);
}

/* Drop the oldest report, counting it and what it had counted. */
static void
drop_oldest(struct spool *s, uint64_t seq)
{
	char *body = NULL;
	size_t len;
	struct berr err;
	json_t *j;

	s->dropped++;
	if (spool_get(s, seq, &body, &len, &err) == 0 &&
	    (j = json_loadb(body, len, 0, NULL))) {
		json_t *d = json_object_get(j, "dropped");

		if (json_is_integer(d) && json_integer_value(d) > 0)
			s->dropped += (uint64_t)json_integer_value(d);
		json_decref(j);
	}
	free(body);
	spool_remove(s, seq);
}

int
spool_put(struct spool *s, uint64_t seq, const char *body, size_t len, uint64_t counted,
	  struct berr *err)
{
	uint64_t *seqs = NULL;
	size_t n = 0, bytes = 0, i = 0, reports;
	char *p;
	int ret;

	if (len > s->o.max_bytes)
		return berr_set(err, "a report of %zu bytes does not fit a spool of %zu", len,
				s->o.max_bytes);
	spool_usage(s, &reports, &bytes);
	if (spool_list(s, &seqs, &n, err) < 0)
		return -1;
	while (i < n && (n - i + 1 > s->o.max_reports || bytes + len > s->o.max_bytes)) {
		char *op = report_path(s, seqs[i]);
		struct stat st;

		if (stat(op, &st) == 0)
			bytes -= (size_t)st.st_size < bytes ? (size_t)st.st_size : bytes;
		free(op);
		drop_oldest(s, seqs[i++]);
	}
	free(seqs);
	if (i && write_number(s, "dropped", s->dropped, err) < 0)
		return -1;
	p = report_path(s, seq);
	ret = fs_write_atomic(p, body, len, 0600, err);
	free(p);
	if (ret == 0 && counted) {
		struct berr ignore;

		/* The report tells them now. Failing to write the lower count
		 * only tells them again in the next report. */
		s->dropped -= counted < s->dropped ? counted : s->dropped;
		write_number(s, "dropped", s->dropped, &ignore);
	}
	return ret;
}
