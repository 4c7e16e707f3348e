/*
 * Unit tests for ledger/lock.c: one apply at a time per state directory,
 * a dead holder taken over, waiting, and breaking a lock by id.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "apply/lock.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct fixture {
	char dir[64];
	char *state;
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-lock.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->state = xasprintf("%s/state", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->state);
	free(f);
	return 0;
}

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/*
 * A child that takes the lock, sends its holder line's id over a pipe,
 * then holds it for hold_ms (-1: until killed) and releases it.
 */
static pid_t
child_holder(const char *dir, long hold_ms, char id[40])
{
	int p[2];
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct state_lock *l;
		struct state_lock_info info;
		struct berr err;

		close(p[0]);
		if (state_lock_acquire(dir, "apply", 0, &l, NULL, &err) < 0)
			_exit(2);
		if (state_lock_holder(dir, &info, &err) != 0)
			_exit(3);
		if (write(p[1], info.id, sizeof(info.id)) != (ssize_t)sizeof(info.id))
			_exit(4);
		if (hold_ms < 0) {
			for (;;)
				pause();
		} else {
			struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
		state_lock_release(l);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], id, 40);
	close(p[0]);
	assert_int_equal(n, 40);
	return pid;
}

static void
second_fails(void **state)
{
	struct fixture *f = *state;
	struct state_lock *a = NULL, *b = NULL;
	struct state_lock_info info, replaced;
	struct berr err;
	char host[256] = "", want[512];
	struct stat st;

	assert_int_equal(state_lock_holder(f->state, &info, &err), 1);
	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &a, &replaced, &err), 0);
	assert_string_equal(replaced.id, "");
	assert_int_equal(stat(f->state, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(state_lock_holder(f->state, &info, &err), 0);
	assert_int_equal(info.pid, (long)getpid());
	assert_string_equal(info.command, "apply");
	assert_memory_equal(info.id, "l-", 2);
	assert_int_equal(strlen(info.id), 18);
	assert_int_equal(strlen(info.since), 20);
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(info.host, host);

	/* Another taker (flock is per open file, so this process will do). */
	assert_int_equal(state_lock_acquire(f->state, "reconcile", 0, &b, NULL, &err), -1);
	assert_null(b);
	snprintf(want, sizeof(want), "another berth apply holds the lock of %s: pid %ld on host %s "
		 "since %s (lock %s; `berth unlock %s` breaks it)", f->state, (long)getpid(), host,
		 info.since, info.id, info.id);
	assert_string_equal(err.msg, want);

	state_lock_release(a);
	assert_int_equal(state_lock_holder(f->state, &info, &err), 1);
	/* Released cleanly: the next taker replaces nobody. */
	assert_int_equal(state_lock_acquire(f->state, "reconcile", 0, &b, &replaced, &err), 0);
	assert_string_equal(replaced.id, "");
	state_lock_release(b);
}

static void
dead_holder(void **state)
{
	struct fixture *f = *state;
	struct state_lock *l = NULL;
	struct state_lock_info replaced, info;
	struct berr err;
	char id[40];
	pid_t pid;
	int status;

	pid = child_holder(f->state, -1, id);
	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &l, NULL, &err), -1);
	assert_non_null(strstr(err.msg, id));
	assert_int_equal(state_lock_holder(f->state, &info, &err), 0);
	assert_int_equal(info.pid, (long)pid);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &l, &replaced, &err), 0);
	assert_string_equal(replaced.id, id);
	assert_int_equal(replaced.pid, (long)pid);
	assert_string_equal(replaced.command, "apply");
	assert_int_equal(state_lock_holder(f->state, &info, &err), 0);
	assert_int_equal(info.pid, (long)getpid());
	state_lock_release(l);
}

static void
timeout(void **state)
{
	struct fixture *f = *state;
	struct state_lock *l = NULL;
	struct state_lock_info replaced;
	struct berr err;
	char id[40];
	pid_t pid;
	long t0;
	int status;

	/* Held for 400 ms: a 100 ms wait gives up, a 10 s wait gets it. */
	pid = child_holder(f->state, 400, id);
	t0 = now_ms();
	assert_int_equal(state_lock_acquire(f->state, "apply", 100, &l, NULL, &err), -1);
	assert_true(now_ms() - t0 >= 100);
	assert_non_null(strstr(err.msg, "gave up waiting for the lock after 100 ms: another berth apply"));
	assert_non_null(strstr(err.msg, id));
	assert_int_equal(state_lock_acquire(f->state, "apply", 10000, &l, &replaced, &err), 0);
	assert_true(now_ms() - t0 >= 300);
	assert_true(now_ms() - t0 < 5000);
	assert_string_equal(replaced.id, "");	/* released, not died */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	state_lock_release(l);
}

static void
break_by_id(void **state)
{
	struct fixture *f = *state;
	struct state_lock *a = NULL, *b = NULL;
	struct state_lock_info info, broken;
	struct berr err;
	char *path = xasprintf("%s/apply.lock", f->state);
	struct stat st;

	assert_int_equal(state_lock_break(f->state, "l-0000000000000000", &broken, &err), -1);
	assert_non_null(strstr(err.msg, "no lock has id \"l-0000000000000000\""));
	assert_non_null(strstr(err.msg, "is not locked"));

	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &a, NULL, &err), 0);
	assert_int_equal(state_lock_holder(f->state, &info, &err), 0);
	assert_int_equal(state_lock_break(f->state, "l-0000000000000000", &broken, &err), -1);
	assert_non_null(strstr(err.msg, "no lock has id \"l-0000000000000000\": the lock of"));
	assert_non_null(strstr(err.msg, info.id));
	assert_int_equal(stat(path, &st), 0);

	assert_int_equal(state_lock_break(f->state, info.id, &broken, &err), 0);
	assert_string_equal(broken.id, info.id);
	assert_int_equal(broken.pid, (long)getpid());
	assert_int_equal(stat(path, &st), -1);
	/* The broken holder still runs; a new taker gets a fresh lock. */
	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &b, NULL, &err), 0);
	state_lock_release(a);	/* must not disturb b's lock */
	assert_int_equal(state_lock_holder(f->state, &info, &err), 0);
	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &a, NULL, &err), -1);
	state_lock_release(b);
	free(path);
}

/* A holder line left by hand (a dead pid) is broken like any other. */
static void
break_stale_file(void **state)
{
	struct fixture *f = *state;
	struct state_lock_info broken, info;
	struct berr err;
	char *path = xasprintf("%s/apply.lock", f->state);
	FILE *fp;

	mkdir(f->state, 0700);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"id\":\"l-00000000000000aa\",\"pid\":999999999,\"host\":\"h\","
	      "\"since\":\"2026-01-01T00:00:00Z\",\"command\":\"apply\"}\n", fp);
	fclose(fp);
	assert_int_equal(state_lock_holder(f->state, &info, &err), 1);	/* no flock */
	assert_int_equal(state_lock_break(f->state, "l-00000000000000aa", &broken, &err), 0);
	assert_int_equal(broken.pid, 999999999L);
	assert_string_equal(broken.host, "h");
	assert_string_equal(broken.since, "2026-01-01T00:00:00Z");
	free(path);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(second_fails),
		T(dead_holder),
		T(timeout),
		T(break_by_id),
		T(break_stale_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
