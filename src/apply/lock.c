/*
 * lock.c - the apply lock of a state directory (see lock.h).
 *
 * Holding the lock is holding flock(LOCK_EX) on <state_dir>/apply.lock; the
 * file's one line only says who. A release empties the file; a break
 * unlinks it, so every taker checks after flock() that the file it locked
 * is still the one at the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "apply/lock.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

#define HOLDER_MAX	4096
#define POLL_MS		50

struct state_lock {
	int fd;
	char *path;
	struct state_lock_info info;
};

static char *
lock_path(const char *state_dir)
{
	return xasprintf("%s/apply.lock", state_dir);
}


static void
copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* Parse the holder line: 0 ok, -1 empty or not a holder line. */
static int
parse_holder(const char *text, size_t len, struct state_lock_info *info)
{
	json_t *j;
	int ret = -1;

	memset(info, 0, sizeof(*info));
	if (!len)
		return -1;
	j = json_loadb(text, len, JSON_DISABLE_EOF_CHECK, NULL);
	if (!json_is_object(j))
		goto out;
	copy_str(info->id, sizeof(info->id), json_string_value(json_object_get(j, "id")));
	info->pid = (long)json_integer_value(json_object_get(j, "pid"));
	copy_str(info->host, sizeof(info->host), json_string_value(json_object_get(j, "host")));
	copy_str(info->since, sizeof(info->since), json_string_value(json_object_get(j, "since")));
	copy_str(info->command, sizeof(info->command),
		 json_string_value(json_object_get(j, "command")));
	ret = *info->id ? 0 : -1;
out:
	json_decref(j);
	return ret;
}

/* Read the holder line of fd (from its start): 0 ok, -1 none. */
static int
read_holder(int fd, struct state_lock_info *info)
{
	char text[HOLDER_MAX];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(text)) {
		n = pread(fd, text + len, sizeof(text) - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return parse_holder(text, len, info);
}

static void
holder_message(struct berr *err, const char *dir, const struct state_lock_info *h)
{
	if (!*h->id) {
		berr_set(err, "another berth process holds the lock of %s (it has not said who "
			 "yet: try again)", dir);
		return;
	}
	berr_set(err, "another berth %s holds the lock of %s: pid %ld on host %s since %s "
		 "(lock %s; `berth unlock %s` breaks it)", *h->command ? h->command : "process",
		 dir, h->pid, h->host, h->since, h->id, h->id);
}

static void
new_id(char *out, size_t n)
{
	unsigned char r[8];
	char hex[17];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		unsigned long long v;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)getpid() << 32);
		memcpy(r, &v, sizeof(r));
	}
	hex_encode(r, sizeof(r), hex);
	snprintf(out, n, "l-%s", hex);
}

/* Write our holder line over whatever the file held. */
static int
write_holder(int fd, const struct state_lock_info *info, struct berr *err, const char *path)
{
	json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s}", "id", info->id, "pid",
			      (json_int_t)info->pid, "host", info->host, "since", info->since,
			      "command", info->command);
	char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	size_t len, off = 0;
	int ret = -1;

	if (!line) {
		berr_set(err, "cannot write the lock \"%s\": the holder is not UTF-8", path);
		goto out;
	}
	len = strlen(line);
	line[len] = '\0';
	if (ftruncate(fd, 0) < 0)
		goto fail;
	while (off < len + 1) {
		const char *p = off < len ? line + off : "\n";
		size_t left = off < len ? len - off : 1;
		ssize_t n = pwrite(fd, p, left, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	berr_set(err, "cannot write the lock \"%s\": %s", path, strerror(errno));
out:
	free(line);
	json_decref(j);
	return ret;
}

/*
 * One attempt: 1 locked (*fdp set), 0 held by another (holder filled),
 * -1 error.
 */
static int
try_lock(const char *path, int *fdp, struct state_lock_info *holder, struct berr *err)
{
	struct stat a, b;
	int fd;

	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return berr_set(err, "cannot open the lock \"%s\": %s", path, strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			if (e == EWOULDBLOCK || e == EINTR) {
				read_holder(fd, holder);
				close(fd);
				return 0;
			}
			close(fd);
			return berr_set(err, "cannot lock \"%s\": %s", path, strerror(e));
		}
		/* Broken (unlinked) while we waited: lock the file now at the path. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			*fdp = fd;
			return 1;
		}
		close(fd);
	}
}

int
state_lock_acquire(const char *state_dir, const char *command,
		   long timeout_ms, struct state_lock **out,
		   struct state_lock_info *replaced, struct berr *err)
{
	struct state_lock_info holder, old;
	struct state_lock *l;
	int64_t t0;
	char *path;
	int fd = -1, r;

	*out = NULL;
	if (replaced)
		memset(replaced, 0, sizeof(*replaced));
	if (mkdir_p(state_dir, err) < 0)
		return -1;
	path = lock_path(state_dir);
	t0 = clock_mono_ms();
	for (;;) {
		memset(&holder, 0, sizeof(holder));
		if ((r = try_lock(path, &fd, &holder, err)) < 0)
			goto fail;
		if (r == 1)
			break;
		if (timeout_ms <= 0 || clock_mono_ms() - t0 >= timeout_ms) {
			holder_message(err, state_dir, &holder);
			if (timeout_ms > 0)
				berr_prefix(err, "gave up waiting for the lock after %ld ms", timeout_ms);
			goto fail;
		}
		clock_sleep_ms(POLL_MS);
	}
	/* A holder line left behind: its process died and the kernel let go of its flock. */
	if (read_holder(fd, &old) == 0 && replaced)
		*replaced = old;
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->path = path;
	new_id(l->info.id, sizeof(l->info.id));
	l->info.pid = (long)getpid();
	if (gethostname(l->info.host, sizeof(l->info.host)) < 0)
		copy_str(l->info.host, sizeof(l->info.host), "localhost");
	l->info.host[sizeof(l->info.host) - 1] = '\0';
	clock_format(clock_now_ms(), 0, l->info.since, sizeof(l->info.since));
	copy_str(l->info.command, sizeof(l->info.command), command ? command : "apply");
	if (write_holder(fd, &l->info, err, path) < 0) {
		free(l);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(path);
	return -1;
}

void
state_lock_release(struct state_lock *l)
{
	if (!l)
		return;
	/* Empty: the next taker finds no holder to report. (After a break the
	 * file is unlinked and this truncates only our own copy.) */
	if (ftruncate(l->fd, 0) == 0)
		fsync(l->fd);
	close(l->fd);
	free(l->path);
	free(l);
}

/*
 * Open the lock file of state_dir read-only and give it to fn, with its
 * path and ctx, and close it: what fn returns, 1 when there is no lock
 * file (fn not called), -1 with err when it cannot be opened.
 */
static int
with_lock_file(const char *state_dir,
	       int (*fn)(int fd, const char *path, void *ctx, struct berr *err),
	       void *ctx, struct berr *err)
{
	char *path = lock_path(state_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret;

	if (fd >= 0) {
		ret = fn(fd, path, ctx, err);
		close(fd);
	} else if (errno == ENOENT) {
		ret = 1;
	} else {
		ret = berr_set(err, "cannot open the lock \"%s\": %s", path, strerror(errno));
	}
	free(path);
	return ret;
}

/* The holder of the lock file fd into info: 0, or 1 when nobody holds it. */
static int
holder_of(int fd, const char *path, void *info, struct berr *err)
{
	int tries;

	(void)path;
	(void)err;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return 1;
	}
	/* Held: the holder writes its line right after taking the lock. */
	for (tries = 0; tries < 20; tries++) {
		if (read_holder(fd, info) == 0)
			break;
		clock_sleep_ms(POLL_MS);
	}
	return 0;
}

int
state_lock_holder(const char *state_dir, struct state_lock_info *info,
		  struct berr *err)
{
	memset(info, 0, sizeof(*info));
	return with_lock_file(state_dir, holder_of, info, err);
}

struct lock_break {
	const char *state_dir;
	const char *id;
	struct state_lock_info *broken;
};

/* Unlink the lock file fd when its holder is b->id: 0, 1 when it has no holder. */
static int
break_it(int fd, const char *path, void *ctx, struct berr *err)
{
	struct lock_break *b = ctx;
	struct state_lock_info h;
	struct stat st_fd, st_path;

	if (read_holder(fd, &h) < 0)
		return 1;
	if (strcmp(h.id, b->id))
		return berr_set(err, "no lock has id \"%s\": the lock of %s is %s (pid %ld on "
				"host %s since %s)", b->id, b->state_dir, h.id, h.pid, h.host,
				h.since);
	/* Unlink only the file we read. */
	if (fstat(fd, &st_fd) < 0 || stat(path, &st_path) < 0 ||
	    st_fd.st_dev != st_path.st_dev || st_fd.st_ino != st_path.st_ino)
		return berr_set(err, "the lock of %s changed while it was being broken: try "
				"again", b->state_dir);
	if (unlink(path) < 0)
		return berr_set(err, "cannot remove the lock \"%s\": %s", path, strerror(errno));
	*b->broken = h;
	return 0;
}

int
state_lock_break(const char *state_dir, const char *id,
		 struct state_lock_info *broken, struct berr *err)
{
	struct lock_break b = { state_dir, id, broken };
	int r;

	memset(broken, 0, sizeof(*broken));
	r = with_lock_file(state_dir, break_it, &b, err);
	if (r == 1)
		return berr_set(err, "no lock has id \"%s\": %s is not locked", id, state_dir);
	return r;
}
