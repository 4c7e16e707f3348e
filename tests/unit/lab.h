/*
 * lab.h - a lab of real incusd daemons (contrib/lab/lab) for the unit
 * tests that need one, and what they share about it: whether one can run
 * here, starting it so that it is always brought down (even when the test
 * is killed for its timeout), and waiting for a daemon killed on purpose.
 */
#ifndef BERTH_TESTS_UNIT_LAB_H
#define BERTH_TESTS_UNIT_LAB_H

#include <sys/types.h>

#define LAB_INCUSD	"/usr/libexec/incus/incusd"
#define LAB_SCRIPT	SOURCE_ROOT "/contrib/lab/lab"

/*
 * A process of its own session, started before the lab: once the test
 * process is gone without lab_down() (killed at its timeout, crashed, a
 * failed setup), it runs `lab down` and removes the lab's root. The
 * daemons are in sessions of their own too, so nothing else would.
 */
struct lab_guard {
	pid_t pid;	/* 0: not armed */
	int fd;		/* its pipe: closed by the test process's end */
};

/* NULL when a lab can run here; otherwise what is missing. */
const char *lab_missing(void);

/*
 * The exit status of test when its lab cannot run for the reason why,
 * said loudly on stderr: 77 (skipped), but 1 (failed) under CI=true, where
 * nothing may be skipped.
 */
int lab_skip(const char *test, const char *why);

/*
 * Arm g for the lab in dir (under the temporary directory root), then run
 * `lab up ARGS --dir DIR` with its output in root/lab-up.log (shown on
 * stderr when it fails). 0, or -1: either way lab_down() must follow.
 */
int lab_up(const char *root, const char *dir, const char *args, struct lab_guard *g);

/*
 * `lab down` (safe on a partial lab or none), remove root, disarm g.
 * Accepts a g that was never armed.
 */
void lab_down(const char *root, const char *dir, struct lab_guard *g);

/* Wait until process pid is gone (a zombie is gone); fail after ms. */
void lab_wait_gone(long pid, long ms);

#endif
