/*
 * Unit tests for ledger/lock.c: one apply at a time per state directory,
 * a dead holder taken over, waiting, and breaking a lock by id.
 */
#include <errno.h>
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

#include "helpers.h"

#include "apply/lock.h"
#include "util/xalloc.h"
#include "util/banned.h"

static int
setup(void **state)
{
	struct tmpdir *f = xcalloc(1, sizeof(*f));

	if (tmpdir_init(f, "lock") < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct tmpdir *f = *state;

	tmpdir_release(f);
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

/* A child holding the lock of a state directory. */
struct holder {
	pid_t pid;
	char id[40];	/* its holder line's id */
	int tell;	/* a byte here: release the lock */
	int told;	/* then the time it released it comes here */
};

/*
 * Start a child that takes the lock, sends its id, and holds the lock
 * until killed or told (holder_release()).
 */
static void
holder_start(const char *dir, struct holder *h)
{
	int up[2], down[2];
	ssize_t n;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		struct state_lock *l;
		struct state_lock_info info;
		struct berr err;
		long delay, t;

		close(up[0]);
		close(down[1]);
		if (state_lock_acquire(dir, "apply", 0, &l, NULL, &err) < 0)
			_exit(2);
		if (state_lock_holder(dir, &info, &err) != 0)
			_exit(3);
		if (write(up[1], info.id, sizeof(info.id)) != (ssize_t)sizeof(info.id))
			_exit(4);
		if (read(down[0], &delay, sizeof(delay)) != (ssize_t)sizeof(delay))
			_exit(5);
		{
			struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
		/* the time before the release: nobody can have the lock earlier */
		t = now_ms();
		state_lock_release(l);
		if (write(up[1], &t, sizeof(t)) != (ssize_t)sizeof(t))
			_exit(6);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	h->tell = down[1];
	h->told = up[0];
	n = read(h->told, h->id, sizeof(h->id));
	assert_int_equal(n, sizeof(h->id));
}

/* Tell h to release its lock delay_ms from now. */
static void
holder_release(struct holder *h, long delay_ms)
{
	assert_int_equal(write(h->tell, &delay_ms, sizeof(delay_ms)), sizeof(delay_ms));
}

/* When h released its lock (it waits for that); h is gone. */
static long
holder_end(struct holder *h)
{
	long t = -1;
	int status;

	if (read(h->told, &t, sizeof(t)) != (ssize_t)sizeof(t))
		fail_msg("the holder did not tell when it released the lock");
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(h->tell);
	close(h->told);
	return t;
}

static void
second_fails(void **state)
{
	struct tmpdir *f = *state;
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
	struct tmpdir *f = *state;
	struct state_lock *l = NULL;
	struct state_lock_info replaced, info;
	struct holder h;
	struct berr err;
	int status;

	holder_start(f->state, &h);
	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &l, NULL, &err), -1);
	assert_non_null(strstr(err.msg, h.id));
	assert_int_equal(state_lock_holder(f->state, &info, &err), 0);
	assert_int_equal(info.pid, (long)h.pid);
	kill(h.pid, SIGKILL);
	assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
	assert_true(WIFSIGNALED(status));
	close(h.tell);
	close(h.told);

	assert_int_equal(state_lock_acquire(f->state, "apply", 0, &l, &replaced, &err), 0);
	assert_string_equal(replaced.id, h.id);
	assert_int_equal(replaced.pid, (long)h.pid);
	assert_string_equal(replaced.command, "apply");
	assert_int_equal(state_lock_holder(f->state, &info, &err), 0);
	assert_int_equal(info.pid, (long)getpid());
	state_lock_release(l);
}

/*
 * A wait that ends before the holder lets go gives up; one that lasts
 * longer gets the lock once it is let go, not before.
 */
static void
timeout(void **state)
{
	struct tmpdir *f = *state;
	struct state_lock *l = NULL;
	struct state_lock_info replaced;
	struct holder h;
	struct berr err;
	long t0, called, got, released;
	int round;

	holder_start(f->state, &h);
	t0 = now_ms();
	assert_int_equal(state_lock_acquire(f->state, "apply", 100, &l, NULL, &err), -1);
	assert_true(now_ms() - t0 >= 100);
	assert_non_null(strstr(err.msg, "gave up waiting for the lock after 100 ms: another berth apply"));
	assert_non_null(strstr(err.msg, h.id));

	/*
	 * Let go 500 ms after it is told, while a 60 s wait runs. A round in
	 * which this process was too slow to start waiting before the release
	 * shows nothing: it is tried again.
	 */
	for (round = 0;; round++) {
		holder_release(&h, 500);
		called = now_ms();
		assert_int_equal(state_lock_acquire(f->state, "apply", 60000, &l, &replaced, &err), 0);
		got = now_ms();
		released = holder_end(&h);
		assert_string_equal(replaced.id, "");	/* released, not died */
		if (got < released)
			fail_msg("the lock was taken %ld ms before its holder released it",
				 released - got);
		state_lock_release(l);
		if (called < released)
			break;
		if (round == 4)
			fail_msg("5 times the wait began only after the holder had let go");
		holder_start(f->state, &h);
	}
}

static void
break_by_id(void **state)
{
	struct tmpdir *f = *state;
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
	struct tmpdir *f = *state;
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
