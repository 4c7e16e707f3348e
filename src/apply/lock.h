/*
 * lock.h - one apply or reconcile at a time per state directory.
 *
 * The lock is <state_dir>/apply.lock, held with flock(LOCK_EX) for as long
 * as the holder runs, and holding one line of JSON that says who holds it:
 * {"id": "l-<hex>", "pid": N, "host": "...", "since": "<UTC ISO time>", "command": "apply"}.
 * A process that dies loses its flock with it, so its lock is taken over by
 * the next one (which reports the dead holder it replaced). A holder that
 * hangs keeps the lock until `berth unlock ID` breaks it: that unlinks the
 * file, so the next process locks a fresh one.
 */
#ifndef BERTH_APPLY_LOCK_H
#define BERTH_APPLY_LOCK_H

#include "util/err.h"

struct state_lock;

struct state_lock_info {
	char id[40];
	long pid;
	char host[256];
	char since[40];
	char command[32];
};

/*
 * Take the lock. timeout_ms 0: fail at once when held, with err naming the
 * holder ("another berth apply holds the lock of <dir>: pid 1234 on host h
 * since 2026-...Z (lock l-ab12...; `berth unlock l-ab12...` breaks it)");
 * > 0: wait up to that long. replaced (may be NULL) receives the info of a
 * dead holder whose lock was taken over (id "" when none).
 */
int state_lock_acquire(const char *state_dir, const char *command,
		       long timeout_ms, struct state_lock **out,
		       struct state_lock_info *replaced, struct berr *err);
/* Let go of the lock (its holder line is emptied) and free l; accepts NULL. */
void state_lock_release(struct state_lock *l);

/* Read the current holder, 0 when there is one, 1 when unlocked. */
int state_lock_holder(const char *state_dir, struct state_lock_info *info,
		      struct berr *err);

/* Break the lock whose id is id (-1 with err when no lock has that id). */
int state_lock_break(const char *state_dir, const char *id,
		     struct state_lock_info *broken, struct berr *err);

#endif
