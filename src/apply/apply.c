/*
 * apply.c - the plan's changes, server by server: servers in parallel,
 * the actions of one server one after another, in the plan's order (so an
 * instance is created only once the profiles and images before it in the
 * plan are done). After a failure on a server its later actions are not
 * attempted, but for a failed instance action: the later instance actions
 * still are (no instance depends on another), the rest not.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "incus/connect.h"
#include "util/parallel.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Moves at once: each is a stop, a transfer and a start on two servers. */
#define MOVE_PARALLEL 4


const char *
apply_status_name(enum apply_status s)
{
	switch (s) {
	case APPLY_PENDING: return "pending";
	case APPLY_OK: return "ok";
	case APPLY_FAILED: return "failed";
	case APPLY_STALE: return "stale";
	case APPLY_NOT_ATTEMPTED: return "not-attempted";
	case APPLY_SKIPPED: return "skipped";
	}
	return "?";
}

static int
is_change(const struct plan_action *a)
{
	return a->kind == ACTION_CREATE || a->kind == ACTION_UPDATE ||
	       a->kind == ACTION_DELETE || a->kind == ACTION_MOVE;
}

/* One server and the indexes of its changes, in plan order. */
struct aserver {
	struct incus_target t;		/* name, kind, pin, endpoints */
	size_t *idx;
	size_t n, alloc;
};

struct work {
	const struct fleet *f;
	const struct plan *plan;
	const struct apply_opts *o;
	const struct apply_journal *j;
	struct apply_result *r;
	struct aserver *v;
	size_t n;
	size_t *moves;		/* indexes of the plan's moves */
	size_t nmoves, amoves;
	size_t started;		/* changes started, for progress */
	size_t total;
	int stop;		/* the journal refused an intent */
	pthread_mutex_t lock;
};

/* The server an action is for ("host/NAME/..." or "cluster/NAME/..."). */
static struct aserver *
server_for(struct work *w, const struct plan_action *a)
{
	int is_cluster = !strncmp(a->address, "cluster/", 8);
	struct aserver *s;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].t.is_cluster == is_cluster && !strcmp(w->v[i].t.name, a->server))
			return &w->v[i];
	w->v = xreallocarray(w->v, w->n + 1, sizeof(*w->v));
	s = &w->v[w->n++];
	memset(s, 0, sizeof(*s));
	incus_target_init(&s->t, w->f, a->server, is_cluster);
	return s;
}

static const char stopped_earlier[] = "not attempted: recording an earlier intent failed";
static const char stopped_own[] = "not attempted: recording its intent failed";

/* Count a change as started: its number; *stop: an intent was refused. */
static size_t
start_one(struct work *w, int *stop)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	*stop = w->stop;
	n = ++w->started;
	pthread_mutex_unlock(&w->lock);
	return n;
}

/*
 * Progress, then the intent of change n: 1 recorded, go on; 0 refused
 * (every change not yet started stops).
 */
static int
intent_recorded(struct work *w, size_t n, const struct plan_action *a)
{
	if (w->j && w->j->progress)
		w->j->progress(w->j->ctx, n, w->total, a);
	if (w->j && w->j->intent && w->j->intent(w->j->ctx, a) != 0) {
		pthread_mutex_lock(&w->lock);
		w->stop = 1;
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	return 1;
}

static void
finish(struct work *w, size_t i, enum apply_status st, const char *msg, const json_t *applied)
{
	const struct plan_action *a = &w->plan->actions[i];

	w->r->status[i] = st;
	w->r->errors[i] = msg ? xstrdup(msg) : NULL;
	if (w->j && w->j->result)
		w->j->result(w->j->ctx, a, st, msg, applied);
}

/*
 * Successful creates and updates whose read-back waits for one list
 * request: indexes of plan actions, all apply_same_batch() as the first.
 */
struct batch {
	size_t *idx;
	size_t n, alloc;
};

/* Read the batch back with one list and give each action its result. */
static void
flush(struct work *w, struct incus_conn *c, struct batch *b)
{
	struct berr err;
	json_t *objs;
	size_t k;

	if (!b->n)
		return;
	if (b->n == 1) {
		/* One object: its own GET costs less than the whole list. */
		json_t *v = apply_read_one(c, &w->plan->actions[b->idx[0]]);

		finish(w, b->idx[0], APPLY_OK, NULL, v);
		json_decref(v);
		b->n = 0;
		return;
	}
	objs = apply_read_batch(c, &w->plan->actions[b->idx[0]], &err);
	for (k = 0; k < b->n; k++) {
		const struct plan_action *a = &w->plan->actions[b->idx[k]];

		finish(w, b->idx[k], APPLY_OK, NULL, objs ? json_object_get(objs, a->name) : NULL);
	}
	json_decref(objs);
	b->n = 0;
}

/*
 * A storage pool with driver: auto failed to be created with the driver
 * the plan chose (on a host that did not report its drivers): try the
 * plan's fallback drivers in turn, each a change of its own in the
 * journal (the failed one's result, then the next one's intent). On
 * return *st, *applied and err are those of the last attempt; *alt (its
 * after and fallback owned) is the action last tried when it is not a.
 */
static void
fall_back(struct work *w, struct incus_conn *c, const struct plan_action *a,
	  struct plan_action *alt, enum apply_status *st, json_t **applied,
	  struct berr *err)
{
	size_t k;

	for (k = 0; k < json_array_size(a->fallback) && *st == APPLY_FAILED; k++) {
		const char *driver = json_string_value(json_array_get(a->fallback, k));
		const struct plan_action *last = k ? alt : a;
		json_t *after;
		char *msg;

		if (!driver || incus_conn_unreachable(c))
			return;
		msg = xasprintf("%s; driver: auto tries %s next", err->msg, driver);
		if (w->j && w->j->result)
			w->j->result(w->j->ctx, last, APPLY_FAILED, msg, NULL);
		free(msg);
		after = json_deep_copy(a->after);
		json_object_set_new(after, "driver", json_string(driver));
		if (k)
			json_decref(alt->after);
		else
			*alt = *a;
		alt->after = after;
		alt->fallback = NULL;
		if (w->j && w->j->intent && w->j->intent(w->j->ctx, alt) != 0) {
			pthread_mutex_lock(&w->lock);
			w->stop = 1;
			pthread_mutex_unlock(&w->lock);
			*st = APPLY_NOT_ATTEMPTED;
			berr_set(err, "%s", stopped_own);
			return;
		}
		err->msg[0] = '\0';
		*st = apply_action(c, w->f, alt, w->o, applied, err);
	}
}

static void
apply_server(struct work *w, struct aserver *s)
{
	struct incus_conn *c = NULL;
	struct berr cerr, err;
	struct batch b = { NULL, 0, 0 };
	const char *failed = NULL;	/* address of the first failure */
	const char *failed_inst = NULL;	/* ... of the first failed instance action */
	int connected = 0;
	size_t k;

	cerr.msg[0] = '\0';
	for (k = 0; k < s->n; k++) {
		size_t i = s->idx[k], n;
		const struct plan_action *a = &w->plan->actions[i];
		enum apply_status st;
		json_t *applied = NULL;
		int stop, deferred = 0;

		n = start_one(w, &stop);
		if (b.n && (stop || failed || !apply_same_batch(&w->plan->actions[b.idx[0]], a)))
			flush(w, c, &b);
		if (stop) {
			finish(w, i, APPLY_NOT_ATTEMPTED, stopped_earlier, NULL);
			continue;
		}
		if (failed || (failed_inst && a->object != OBJ_INSTANCE)) {
			char *msg = xasprintf("not attempted: an earlier change on %s \"%s\""
					      " failed (%s)", s->t.is_cluster ? "cluster" : "host",
					      s->t.name, failed ? failed : failed_inst);

			finish(w, i, APPLY_NOT_ATTEMPTED, msg, NULL);
			free(msg);
			continue;
		}
		if (!intent_recorded(w, n, a)) {
			flush(w, c, &b);
			finish(w, i, APPLY_NOT_ATTEMPTED, stopped_own, NULL);
			continue;
		}
		if (!connected) {
			connected = 1;
			c = incus_target_connect(&s->t, w->o->identity, w->o->incus, NULL, NULL,
						 NULL, NULL, &cerr);
		}
		if (!c) {
			finish(w, i, APPLY_FAILED, cerr.msg, NULL);
			failed = a->address;
			continue;
		}
		err.msg[0] = '\0';
		st = apply_action_batched(c, w->f, a, w->o, &applied, &deferred, &err);
		if (st == APPLY_FAILED && a->fallback) {
			struct plan_action alt;

			alt.after = NULL;
			fall_back(w, c, a, &alt, &st, &applied, &err);
			json_decref(alt.after);
		}
		if (deferred) {
			if (b.n == b.alloc)
				b.idx = xreallocarray(b.idx, b.alloc = b.alloc ? 2 * b.alloc : 64,
						      sizeof(*b.idx));
			b.idx[b.n++] = i;
			continue;
		}
		flush(w, c, &b);
		finish(w, i, st, st == APPLY_OK ? NULL : err.msg[0] ? err.msg : "failed",
		       applied);
		json_decref(applied);
		if (st == APPLY_FAILED && a->object == OBJ_INSTANCE) {
			/* No other instance depends on it: only what follows them does. */
			if (!failed_inst)
				failed_inst = a->address;
		} else if (st == APPLY_FAILED) {
			failed = a->address;
		}
	}
	flush(w, c, &b);
	free(b.idx);
	if (c) {
		unsigned long requests;
		unsigned long long bytes;

		incus_conn_stats(c, &requests, &bytes);
		pthread_mutex_lock(&w->lock);
		w->r->requests += requests;
		pthread_mutex_unlock(&w->lock);
	}
	incus_conn_free(c);
}

static void
apply_one_server(void *ctx, size_t i)
{
	struct work *w = ctx;

	apply_server(w, &w->v[i]);
}

static void
apply_one_move(void *ctx, size_t k)
{
	struct work *w = ctx;
	size_t i = w->moves[k], n;
	const struct plan_action *a = &w->plan->actions[i];
	enum apply_status st;
	json_t *applied = NULL;
	struct berr err;
	int stop;

	n = start_one(w, &stop);
	if (stop) {
		finish(w, i, APPLY_NOT_ATTEMPTED, stopped_earlier, NULL);
		return;
	}
	if (!intent_recorded(w, n, a)) {
		finish(w, i, APPLY_NOT_ATTEMPTED, stopped_own, NULL);
		return;
	}
	err.msg[0] = '\0';
	st = apply_move(w->f, a, w->o, &applied, &err);
	finish(w, i, st, st == APPLY_OK ? NULL : err.msg[0] ? err.msg : "failed", applied);
	json_decref(applied);
}

int
apply_plan(const struct fleet *f, const struct plan *plan,
	   const struct apply_opts *opts, const struct apply_journal *j,
	   struct apply_result *result, struct berr *err)
{
	static const struct apply_opts no_opts;
	struct work w;
	size_t i;
	int ret = -1;

	memset(result, 0, sizeof(*result));
	if (!opts)
		opts = &no_opts;
	if (plan->refused)
		return berr_set(err, "the plan was refused: %s", plan->refused);
	incus_global_init();
	memset(&w, 0, sizeof(w));
	w.f = f;
	w.plan = plan;
	w.o = opts;
	w.j = j;
	w.r = result;
	result->n = plan->nactions;
	result->status = xcalloc(plan->nactions + 1, sizeof(*result->status));
	result->errors = xcalloc(plan->nactions + 1, sizeof(*result->errors));
	for (i = 0; i < plan->nactions; i++) {
		const struct plan_action *a = &plan->actions[i];
		struct aserver *s;

		if (!is_change(a)) {
			result->status[i] = APPLY_SKIPPED;
			continue;
		}
		result->status[i] = APPLY_PENDING;
		w.total++;
		if (a->kind == ACTION_MOVE) {
			ALLOC_GROW(w.moves, w.nmoves + 1, w.amoves);
			w.moves[w.nmoves++] = i;
			continue;
		}
		s = server_for(&w, a);
		ALLOC_GROW(s->idx, s->n + 1, s->alloc);
		s->idx[s->n++] = i;
	}
	pthread_mutex_init(&w.lock, NULL);
	if (parallel_run(w.n, opts->parallel, apply_one_server, &w) < 0 ||
	    parallel_run(w.nmoves, MOVE_PARALLEL, apply_one_move, &w) < 0) {
		berr_set(err, "cannot start a thread to apply the plan");
		goto out;
	}
	ret = 0;
	for (i = 0; i < plan->nactions; i++) {
		switch (result->status[i]) {
		case APPLY_OK: result->ok++; break;
		case APPLY_FAILED: result->failed++; ret = 1; break;
		case APPLY_STALE: result->stale++; ret = 1; break;
		case APPLY_NOT_ATTEMPTED: result->not_attempted++; ret = 1; break;
		default: break;
		}
	}
out:
	for (i = 0; i < w.n; i++) {
		incus_target_release(&w.v[i].t);
		free(w.v[i].idx);
	}
	free(w.v);
	free(w.moves);
	pthread_mutex_destroy(&w.lock);
	if (ret < 0)
		apply_result_release(result);
	return ret;
}

void
apply_result_release(struct apply_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; r->errors && i < r->n; i++)
		free(r->errors[i]);
	free(r->errors);
	free(r->status);
	memset(r, 0, sizeof(*r));
}
