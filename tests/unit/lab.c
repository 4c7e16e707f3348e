/*
 * lab.c - a lab of real incusd daemons for the unit tests (lab.h).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "lab.h"
#include "incus/client.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

const char *
lab_missing(void)
{
	if (geteuid() != 0)
		return "they need root (incusd does)";
	if (access(LAB_INCUSD, X_OK) != 0)
		return "they need " LAB_INCUSD;
	return NULL;
}

int
lab_skip(const char *test, const char *why)
{
	const char *ci = getenv("CI");

	if (ci && !strcmp(ci, "true")) {
		fprintf(stderr, "%s: FAILED: the tests against real incusd daemons cannot run "
			"here (%s), and under CI=true nothing may be skipped\n", test, why);
		return 1;
	}
	fprintf(stderr, "\n%s: SKIPPED the tests against real incusd daemons: %s\n\n", test, why);
	return 77;
}

/*
 * The guard, after fork(): in a session of its own (the test's process
 * group is killed at its timeout), without the test's output (the test
 * runner reads it until it is closed), it waits on its pipe. "d" means the
 * lab is down; the end of the pipe without it means the test process is
 * gone: run cmd. Only async-signal-safe calls here.
 */
static void
guard(int fd, const char *cmd)
{
	int null = open("/dev/null", O_RDWR);
	ssize_t n;
	char c = 0;

	setsid();
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	for (int i = 3; i < 1024; i++)
		if (i != fd)
			close(i);
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && c == 'd')
		_exit(0);
	{
		char *const argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };

		execve("/bin/sh", argv, environ);
	}
	_exit(127);
}

int
lab_up(struct lab_run *r, const char *name, const char *args)
{
	char *cmd;
	int p[2], n;

	n = snprintf(r->root, sizeof(r->root), "/tmp/berth-test-%s.XXXXXX", name);
	if (n < 0 || (size_t)n >= sizeof(r->root) || !mkdtemp(r->root)) {
		fprintf(stderr, "mkdtemp /tmp/berth-test-%s: %s\n", name, strerror(errno));
		r->root[0] = '\0';
		return -1;
	}
	chmod(r->root, 0711);
	snprintf(r->dir, sizeof(r->dir), "%s/lab", r->root);
	/* close-on-exec: `lab up` and its daemons must not keep the pipe open */
	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "pipe: %s\n", strerror(errno));
		return -1;
	}
	cmd = xasprintf("'%s' down --dir '%s' >/dev/null 2>&1; rm -rf --one-file-system '%s'",
			LAB_SCRIPT, r->dir, r->root);
	fflush(NULL);
	r->guard = fork();
	if (r->guard == 0) {
		close(p[1]);
		guard(p[0], cmd);
	}
	close(p[0]);
	free(cmd);
	if (r->guard < 0) {
		fprintf(stderr, "fork: %s\n", strerror(errno));
		r->guard = 0;
		close(p[1]);
		return -1;
	}
	r->guard_fd = p[1];
	if (sh_run(0, "'%s' up %s --dir '%s' >'%s/lab-up.log' 2>&1", LAB_SCRIPT, args, r->dir,
		   r->root) != 0) {
		fprintf(stderr, "`lab up %s` failed:\n", args);
		sh_run(0, "cat '%s/lab-up.log' >&2", r->root);
		return -1;
	}
	return 0;
}

void
lab_down(struct lab_run *r)
{
	if (!r->root[0])
		return;
	if (sh_run(0, "'%s' down --dir '%s' >'%s/lab-down.log' 2>&1", LAB_SCRIPT, r->dir,
		   r->root) != 0) {
		fprintf(stderr, "warning: `lab down --dir %s` failed, its daemons may still run:\n",
			r->dir);
		sh_run(0, "cat '%s/lab-down.log' >&2", r->root);
	}
	sh_run(0, "rm -rf --one-file-system '%s'", r->root);
	r->root[0] = '\0';
	if (r->guard > 0) {
		if (write(r->guard_fd, "d", 1) != 1)
			fprintf(stderr, "warning: cannot tell the lab's guard: %s\n", strerror(errno));
		close(r->guard_fd);
		waitpid(r->guard, NULL, 0);
		r->guard = 0;
	}
}

json_t *
lab_json(const struct lab_run *r)
{
	char *file = xasprintf("%s/lab.json", r->dir);
	json_error_t je;
	json_t *j = json_load_file(file, 0, &je);

	if (!j)
		fprintf(stderr, "%s: %s\n", file, je.text);
	free(file);
	return j;
}

int
lab_trust(const struct lab_run *r, const char *state_dir, struct incus_identity *id)
{
	struct berr err;

	if (incus_identity_load(state_dir, id, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	if (sh_run(0, "'%s' trust --cert '%s' --dir '%s' >/dev/null", LAB_SCRIPT, id->cert_file,
		   r->dir) != 0) {
		fprintf(stderr, "`lab trust --cert %s` failed\n", id->cert_file);
		return -1;
	}
	return 0;
}

/* How many threads of process pid /proc/PID/task lists. */
static int
lab_threads(long pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* 1 while process pid runs: /proc/PID/stat names a state that is not Z or X. */
static int
alive(long pid)
{
	char path[64], line[512], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	p = strrchr(line, ')');
	if (!p || p[1] != ' ')
		return 0;
	if (p[2] != 'Z' && p[2] != 'X')
		return 1;
	/*
	 * A zombie leader while its other threads still exit: they hold its
	 * files (a listening socket still accepts). Gone once only the
	 * leader's entry is left under /proc/PID/task.
	 */
	return lab_threads(pid) > 1;
}

void
lab_wait_gone(long pid, long ms)
{
	int64_t until = clock_mono_ms() + ms;

	while (alive(pid)) {
		if (clock_mono_ms() > until)
			fail_msg("process %ld still runs after %ld ms", pid, ms);
		clock_sleep_ms(20);
	}
}
