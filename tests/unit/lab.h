/*
 * lab.h - a lab of real incusd daemons (contrib/lab/lab) for the unit
 * tests that need one, and what they share about it: whether one can run
 * here, starting it so that it is always brought down (even when the test
 * is killed for its timeout), its lab.json, trusting berth's certificate,
 * and waiting for a daemon killed on purpose.
 */
#ifndef BERTH_TESTS_UNIT_LAB_H
#define BERTH_TESTS_UNIT_LAB_H

#include <sys/types.h>

#include <jansson.h>

#define LAB_INCUSD	"/usr/libexec/incus/incusd"
#define LAB_SCRIPT	SOURCE_ROOT "/contrib/lab/lab"

/*
 * A lab started by the test process: the temporary directory it lives in,
 * and its guard, a process of its own session started before the lab:
 * once the test process is gone without lab_down() (killed at its
 * timeout, crashed, a failed setup), it runs `lab down` and removes the
 * lab's root. The daemons are in sessions of their own too, so nothing
 * else would. A zeroed struct is a lab not started.
 */
struct lab_run {
	char root[64];		/* /tmp/berth-test-NAME.XXXXXX, mode 0711; "": none */
	char dir[80];		/* root/lab: the lab's directory */
	pid_t guard;		/* 0: not armed */
	int guard_fd;		/* its pipe: closed by the test process's end */
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
 * Make r's root for the test NAME, arm its guard, then run `lab up ARGS
 * --dir DIR` with its output in root/lab-up.log (shown on stderr when it
 * fails). 0, or -1: either way lab_down() must follow.
 */
int lab_up(struct lab_run *r, const char *name, const char *args);

/*
 * `lab down` (safe on a partial lab or none), remove root, disarm the
 * guard. Nothing to do for a lab that lab_up() gave no root.
 */
void lab_down(struct lab_run *r);

/* The lab's lab.json (caller frees); NULL, said on stderr, when it cannot be read. */
json_t *lab_json(const struct lab_run *r);

/*
 * Load berth's identity in state_dir into id (made when there is none;
 * release it with incus_identity_release()), and have the lab's daemons
 * trust its certificate (`lab trust`). 0, or -1 said on stderr.
 */
struct incus_identity;
int lab_trust(const struct lab_run *r, const char *state_dir, struct incus_identity *id);

/* Wait until process pid is gone (a zombie is gone); fail after ms. */
void lab_wait_gone(long pid, long ms);

#endif
