/*
 * berth apply [FILE] and berth reconcile: converge the servers, one run at a
 * time per state directory, every change recorded in the ledger.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "apply/apply.h"
#include "apply/journal.h"
#include "settle/gather.h"
#include "settle/spans.h"
#include "apply/lock.h"
#include "apply/prepare.h"
#include "cmd/cmd.h"
#include "plan/plan.h"
#include "sched/window.h"
#include "apply/webhooks.h"
#include "util/webhook.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/units.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum {
	O_AUTO = 1, O_PRUNE, O_MAX_DELETES, O_MASS, O_PARALLEL, O_TARGET,
	O_LOCK_TIMEOUT, O_CHECKPOINT_EVERY, O_TIMEOUT, O_WINDOW, O_NOTIFY,
};

static const struct opt apply_opts_list[] = {
	{ "auto-approve", 0, 0, O_AUTO },
	{ "prune", 0, 0, O_PRUNE },
	{ "max-deletes", 0, 1, O_MAX_DELETES },
	{ "allow-mass-delete", 0, 0, O_MASS },
	{ "parallel", 0, 1, O_PARALLEL },
	{ "target", 0, 1, O_TARGET },
	{ "lock-timeout", 0, 1, O_LOCK_TIMEOUT },
	{ "checkpoint-every", 0, 1, O_CHECKPOINT_EVERY },
	{ "timeout", 0, 1, O_TIMEOUT },
	{ "window", 0, 1, O_WINDOW },
	{ "notify", 0, 1, O_NOTIFY },
	{ NULL, 0, 0, 0 },
};

/* The command's side of a run: its journal, and the progress shown on stderr. */
struct run {
	struct ctx *ctx;
	struct run_journal j;
	pthread_mutex_t mu;	/* one line of stderr at a time */
	int tty;
};

static void
settled(void *arg, const json_t *x, const struct berr *err)
{
	struct run *r = arg;

	cmd_warn(r->ctx, "an earlier run (%s) was interrupted: its change of %s "
		 "(ledger entry %lld) has no result; this run re-checks it",
		 json_string_value(json_object_get(x, "run_id")),
		 json_string_value(json_object_get(x, "object")),
		 (long long)json_integer_value(json_object_get(x, "seq")));
	if (err)
		cmd_error(r->ctx, "ledger: %s", err->msg);
}

/*
 * No server is changed unless the change's intent is in the ledger: an
 * intent that cannot be written stops this change and every one not yet
 * started, and fails the run with the ledger's error.
 */
static int
j_intent(void *ctx, const struct plan_action *a)
{
	struct run *r = ctx;
	struct berr err;

	if (run_journal_intent(&r->j, a, &err) == 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	cmd_error(r->ctx, "ledger: %s: %s is not changed, nor anything not yet started"
		  " (no change is made unless its intent is recorded)", err.msg, a->address);
	pthread_mutex_unlock(&r->mu);
	return -1;
}

static void
j_result(void *ctx, const struct plan_action *a, enum apply_status st,
	 const char *errmsg, const json_t *applied)
{
	struct run *r = ctx;
	struct berr err;

	if (run_journal_result(&r->j, a, st, errmsg, applied, &err) < 0)
		cmd_error(r->ctx, "ledger: %s", err.msg);
	pthread_mutex_lock(&r->mu);
	if (r->ctx->verbosity >= 0)
		fprintf(stderr, "%s  %s %s: %s%s%s\n", r->tty ? "\r\033[K" : "",
			a->address, plan_action_name(a->kind), apply_status_name(st),
			errmsg ? ": " : "", errmsg ? errmsg : "");
	pthread_mutex_unlock(&r->mu);
}

static void
j_progress(void *ctx, size_t n, size_t total, const struct plan_action *a)
{
	struct run *r = ctx;

	if (r->ctx->verbosity < 0 || !r->tty)
		return;
	pthread_mutex_lock(&r->mu);
	fprintf(stderr, "\r\033[K[%zu/%zu] %s %s", n, total, plan_action_name(a->kind),
		a->address);
	pthread_mutex_unlock(&r->mu);
}

/* The saved plan's actions, keyed by address + action, against the new plan. */
static int
same_as_saved(const struct ctx *ctx, const json_t *saved, const struct plan *now)
{
	json_t *want = json_object(), *a;
	size_t i, bad = 0;
	const char *k;

	json_array_foreach(json_object_get(saved, "actions"), i, a) {
		char *key = xasprintf("%s %s", json_string_value(json_object_get(a, "address")),
				      json_string_value(json_object_get(a, "action")));

		json_object_set(want, key, a);
		free(key);
	}
	for (i = 0; i < now->nactions; i++) {
		const struct plan_action *x = &now->actions[i];
		char *key = xasprintf("%s %s", x->address, plan_action_name(x->kind));
		json_t *s = json_object_get(want, key);
		const char *sd = s ? json_string_value(json_object_get(s, "digest")) : NULL;

		if (!s) {
			cmd_error(ctx, "%s: the servers now need \"%s\", which the saved plan does not have",
			      x->address, plan_action_name(x->kind));
			bad++;
		} else if (strcmp(sd ? sd : "", x->digest) ||
			   !json_equal(json_object_get(s, "after"),
				       x->after ? x->after : json_null())) {
			cmd_error(ctx, "%s: changed since the plan was made (digest %.12s, now %.12s)",
			      x->address, sd ? sd : "none", x->digest[0] ? x->digest : "none");
			bad++;
		}
		json_object_del(want, key);
		free(key);
	}
	json_object_foreach(want, k, a) {
		cmd_error(ctx, "%s: the saved plan would %s it, but the servers no longer need that",
		      json_string_value(json_object_get(a, "address")),
		      json_string_value(json_object_get(a, "action")));
		bad++;
	}
	json_decref(want);
	return bad ? -1 : 0;
}

static json_t *
read_plan_file(const struct ctx *ctx, const char *path)
{
	struct buf b = BUF_INIT;
	struct berr err;
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;
	json_t *doc;

	b.max = 64u << 20;
	if (!f) {
		cmd_error(ctx, "cannot read plan file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(&b, chunk, n) < 0) {
			cmd_error(ctx, "plan file \"%s\" is over the limit of 64 MiB", path);
			fclose(f);
			buf_release(&b);
			return NULL;
		}
	}
	fclose(f);
	if (!(doc = plan_file_read(b.buf, b.len, &err)))
		cmd_error(ctx, "%s: %s", path, err.msg);
	buf_release(&b);
	return doc;
}

/* Ask on the terminal whether to go on; refuse without one. */
static int
approved(const struct ctx *ctx)
{
	char line[64];

	if (!isatty(STDIN_FILENO)) {
		cmd_error(ctx, "refusing to apply without a terminal to confirm on: pass "
			  "--auto-approve, or apply a saved plan file");
		return 0;
	}
	fputs("\nDo you want to apply these changes? Only 'yes' is accepted: ", stderr);
	if (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "yes"))
			return 1;
	}
	cmd_error(ctx, "apply cancelled: nothing was changed");
	return 0;
}

struct apply_args {
	const char *file;
	int auto_approve;
	int reconcile;
	long lock_timeout_ms;
	int64_t checkpoint_every_ms;	/* reconcile: -1 default (24h), 0 never */
	long timeout_ms;		/* --timeout: one change on a server; 0 default */
	struct plan_opts po;
	unsigned parallel;
	const char **saved_targets;	/* the saved plan's, owned (strings are its) */
	struct window *windows;		/* reconcile --window, owned */
	size_t nwindows;
	const char **notify;		/* --notify URLs, owned array */
	size_t nnotify;
};

/* The saved plan of aa->file, whose commit and plan options the run takes. */
static json_t *
read_saved(struct ctx *ctx, struct apply_args *aa)
{
	json_t *saved = read_plan_file(ctx, aa->file), *x;

	if (!saved)
		return NULL;
	ctx->ref = json_string_value(json_object_get(saved, "commit"));
	x = json_object_get(saved, "opts");
	aa->po.prune = json_is_true(json_object_get(x, "prune"));
	aa->po.allow_mass_delete = json_is_true(json_object_get(x, "allow_mass_delete"));
	aa->po.max_deletes = (unsigned)json_integer_value(json_object_get(x, "max_deletes"));
	/* a plan made with --target is applied with them: the same objects only */
	x = json_object_get(x, "targets");
	if (json_array_size(x)) {
		const json_t *t;
		size_t i;

		aa->saved_targets = xcalloc(json_array_size(x) + 1, sizeof(*aa->saved_targets));
		json_array_foreach(x, i, t) {
			if (!json_is_string(t)) {
				cmd_error(ctx, "%s: \"opts\".\"targets\"[%zu]: want a string like"
					  " Host/lab-1", aa->file, i);
				json_decref(saved);
				return NULL;
			}
			aa->saved_targets[aa->po.ntargets++] = json_string_value(t);
		}
		aa->po.targets = aa->saved_targets;
	}
	return saved;
}

/* Is the saved plan of file still the plan of these manifests and servers? */
static int
check_saved(const struct ctx *ctx, const char *file, const json_t *saved,
	    const struct run_inputs *in)
{
	const char *md = json_string_value(json_object_get(saved, "manifest_digest"));

	if (!md || strcmp(md, in->plan.manifest_digest)) {
		cmd_error(ctx, "%s was made for other manifests (digest %.12s, commit %s has %.12s): "
			  "refusing it", file, md ? md : "none", in->res.commit,
			  in->plan.manifest_digest);
		return -1;
	}
	if (same_as_saved(ctx, saved, &in->plan) < 0) {
		cmd_error(ctx, "%s is stale: the servers changed since it was made; run berth plan again",
			  file);
		return -1;
	}
	return 0;
}

/* Make the plan's changes, saying what did not succeed; the exit code. */
static int
carry_out(struct run *r, const struct run_inputs *in, const struct apply_args *aa,
	  struct apply_result *ar)
{
	struct apply_journal j = { j_intent, j_result, j_progress, r };
	struct incus_opts io = { .write_timeout_ms = aa->timeout_ms };
	struct apply_opts ao = { .identity = &in->id, .parallel = aa->parallel, .incus = &io,
				 .operation_timeout_s = aa->timeout_ms / 1000 };
	const struct plan *p = &in->plan;
	struct berr err;
	size_t i;
	int rc;

	rc = apply_plan(in->res.fleet, p, &ao, &j, ar, &err);
	if (r->tty && r->ctx->verbosity >= 0)
		fputs("\r\033[K", stderr);
	if (rc < 0)
		return cmd_berr(r->ctx, &err);
	/* Each result had its line as it came, but under -q: then the failures only. */
	for (i = 0; r->ctx->verbosity < 0 && i < ar->n; i++)
		if (ar->status[i] == APPLY_FAILED || ar->status[i] == APPLY_STALE ||
		    ar->status[i] == APPLY_NOT_ATTEMPTED)
			fprintf(stderr, "  %s %s: %s%s%s\n", p->actions[i].address,
				plan_action_name(p->actions[i].kind), apply_status_name(ar->status[i]),
				ar->errors[i] ? ": " : "", ar->errors[i] ? ar->errors[i] : "");
	printf("Apply: %zu done, %zu failed, %zu stale, %zu not attempted.\n",
	       ar->ok, ar->failed, ar->stale, ar->not_attempted);
	return rc == 0 && !p->nerrors ? EXIT_OK : EXIT_FAIL;
}

/* The server a host is observed through: itself, or its cluster. */
static const char *
server_of(void *arg, const char *host, int *is_cluster)
{
	const struct m_host *h = fleet_host(arg, host);

	if (!h)
		return NULL;
	*is_cluster = h->cluster != NULL;
	return h->cluster ? h->cluster->meta.name : h->meta.name;
}

/*
 * What settlement needs of this run, recorded before any change: the
 * providers' terms of the commit when they differ from the last recorded
 * (they are in force from now on), and what the servers did to sold
 * instances outside berth: deleted (a panel deleted what it sold), so
 * that settlement stops charging them and a create of the same name
 * starts anew; moved inside a cluster (an evacuation), so that each
 * member's provider is paid its seconds.
 */
static int
record_facts(struct ctx *ctx, struct run_journal *j, const struct run_inputs *in)
{
	struct settle_events ev = { 0 };
	struct settle_spans sp = { 0 };
	json_t *drift = NULL, *terms = settle_terms_of_fleet(in->res.fleet);
	const json_t *g, *last = NULL;
	struct berr err;
	size_t i;
	int ret = -1, gathered;

	gathered = settle_events_gather(j->ledger, &ev, &err) == 0;
	if (gathered)
		last = settle_events_last_terms(&ev);
	if (!gathered ||
	    ((!last || !json_equal(terms, (json_t *)last)) && run_journal_terms(j, terms, &err) < 0) ||
	    (in->observed &&
	     (settle_spans_build(ev.v, ev.n, fleet_host_provider, in->res.fleet,
				 clock_now_ms() / 1000, &sp, &err) < 0 ||
	      run_journal_drift(j, (drift = settle_drift(&sp, in->observed, server_of,
							  in->res.fleet)), &err) < 0))) {
		cmd_error(ctx, "ledger: %s: nothing applied (no change is made unless the"
			  " ledger records it)", err.msg);
		goto out;
	}
	if (last && !json_equal(terms, (json_t *)last))
		cmd_info(ctx, "the providers' terms changed: recorded, in force from now on");
	json_array_foreach(drift, i, g)
		if (json_object_get(g, "to"))
			cmd_info(ctx, "%s: moved from %s to %s (by the cluster); recorded",
				 json_string_value(json_object_get(g, "address")),
				 json_string_value(json_object_get(g, "host")),
				 json_string_value(json_object_get(g, "to")));
		else
			cmd_info(ctx, "%s: gone (deleted outside berth); recorded",
				 json_string_value(json_object_get(g, "address")));
	ret = 0;
out:
	json_decref(terms);
	json_decref(drift);
	settle_spans_release(&sp);
	settle_events_release(&ev);
	return ret;
}

#define CHECKPOINT_EVERY_MS (24 * 3600 * 1000LL)

/*
 * A reconcile signs a checkpoint of the ledger every so often (every_ms;
 * -1: CHECKPOINT_EVERY_MS, 0: never) into <state>/checkpoints/: SEQ.json
 * and latest.json, for an operator's job to send elsewhere. A failure is
 * said and changes nothing of the run.
 */
static void
checkpoint_due(struct ctx *ctx, struct ledger *l, int64_t every_ms)
{
	struct berr err;
	struct stat st;
	char *latest, *one;
	int64_t seq = 0;

	if (every_ms < 0)
		every_ms = CHECKPOINT_EVERY_MS;
	latest = xasprintf("%s/checkpoints/latest.json", ctx->state_dir);
	if (!every_ms || (stat(latest, &st) == 0 &&
			  clock_now_ms() - (int64_t)st.st_mtime * 1000 < every_ms))
		goto out;
	if ((one = cmd_checkpoint_to_dir(ctx, l, &seq, &err)))
		cmd_info(ctx, "signed checkpoint of ledger entry %" PRId64 " in %s", seq, one);
	else
		cmd_warn(ctx, "ledger checkpoint: %s", err.msg);
	free(one);
out:
	free(latest);
}

/* The last run that ended, apply or reconcile (prev->seq 0: none). */
static void
last_run(struct ledger *l, struct ledger_run *prev)
{
	struct ledger_run a, b;
	struct berr err;

	memset(prev, 0, sizeof(*prev));
	if (ledger_last_run(l, "apply", &a, &err) == 0 && ledger_last_run(l, "reconcile", &b,
									  &err) == 0)
		*prev = a.seq > b.seq ? a : b;
}

static void
warn_cb(void *arg, const char *msg)
{
	cmd_warn(arg, "%s", msg);
}

#define NOTIFY_BUDGET_MS	5000
#define NOTIFY_OBJECTS		50

/*
 * A run with changes, failures or drift (changes a reconcile made with the
 * commit of the run before: the servers were changed outside berth), to
 * the --notify and $BERTH_NOTIFY webhooks, at most NOTIFY_BUDGET_MS. The
 * same outcome (the kind, the commit and the objects) is sent once.
 */
static void
notify_run(struct run *r, const struct apply_args *aa, const struct run_inputs *in,
	   const struct apply_result *ar, const struct ledger_run *prev)
{
	const char **urls = NULL, *outcome;
	char *keep = NULL, *key, now[40], host[256] = "";
	size_t n, i, nfail = ar->failed + ar->stale + ar->not_attempted + in->plan.nerrors;
	int drift = aa->reconcile && ar->ok && prev->seq && !strcmp(prev->commit, in->res.commit);
	json_t *ev, *objects = json_array();
	struct buf ids = BUF_INIT;

	n = webhooks_urls(aa->notify, aa->nnotify, &urls, &keep);
	outcome = nfail ? "failures" : drift ? "drift" : ar->ok ? "changes" : NULL;
	if (!n || !outcome)
		goto out;
	buf_init(&ids, 0);
	for (i = 0; i < in->plan.nactions; i++) {
		const struct plan_action *a = &in->plan.actions[i];
		enum apply_status st = i < ar->n ? ar->status[i] : APPLY_SKIPPED;
		const char *err = i < ar->n ? ar->errors[i] : NULL;
		int failed = st == APPLY_FAILED || st == APPLY_STALE || st == APPLY_NOT_ATTEMPTED ||
			     a->kind == ACTION_ERROR;

		if (!failed && st != APPLY_OK)
			continue;
		/* what was found, so that another drift of the object is another outcome */
		buf_addf(&ids, "%s %s", a->address ? a->address : a->server, failed ? "failed" : "ok");
		for (size_t k = 0; k < a->nfields; k++) {
			char *v = a->fields[k].before ? json_dumps(a->fields[k].before, JSON_ENCODE_ANY |
				  JSON_COMPACT | JSON_SORT_KEYS) : NULL;

			buf_addf(&ids, " %s=%s", a->fields[k].field, v ? v : "-");
			free(v);
		}
		buf_addstr(&ids, "\n");
		if (json_array_size(objects) < NOTIFY_OBJECTS)
			json_array_append_new(objects, json_pack("{s:s, s:s, s:s, s:s?}", "address",
				a->address ? a->address : a->server, "action",
				plan_action_name(a->kind), "status", a->kind == ACTION_ERROR ? "error" :
				apply_status_name(st), "error", err ? err : a->kind == ACTION_ERROR ?
				a->reason : NULL));
	}
	clock_format(clock_now_ms(), 0, now, sizeof(now));
	gethostname(host, sizeof(host) - 1);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:o, s:s}",
		       "format_version", "1.0", "event", "run", "outcome", outcome, "kind",
		       aa->reconcile ? "reconcile" : "apply", "commit", in->res.commit, "run_id",
		       r->j.run_id, "result", nfail ? "failed" : "ok", "time", now, "changes",
		       (json_int_t)ar->ok, "failures", (json_int_t)nfail, "drift", drift,
		       "objects", objects, "control_host", host);
	objects = NULL;
	key = xasprintf("run/%s/%s", in->res.commit, outcome);
	if ((i = webhooks_send(r->j.ledger, urls, n, key, ids.buf, ev, NOTIFY_BUDGET_MS, warn_cb,
			       r->ctx)))
		cmd_info(r->ctx, "notified %zu webhook%s: %s", i, i == 1 ? "" : "s", outcome);
	free(key);
	json_decref(ev);
out:
	json_decref(objects);
	buf_release(&ids);
	free(urls);
	free(keep);
}

/*
 * One run: the lock, the journal, the inputs, the changes. in is zeroed,
 * or holds the manifests of the commit when the caller loaded them first
 * (reconcile, for the Fleet's sync windows); it is released here.
 */
static int
run_apply(struct ctx *ctx, struct apply_args *aa, struct run_inputs *in)
{
	const char *mode = aa->reconcile ? "reconcile" : "apply", *sid = NULL;
	struct run_inputs_opts o = { 0 };
	struct apply_result ar = { 0 };
	struct state_lock *lock = NULL;
	struct state_lock_info replaced = { 0 };
	struct run r = { .ctx = ctx };
	struct ledger_run prev = { 0 };
	struct berr err;
	json_t *saved = NULL;
	int ret = EXIT_FAIL;

	pthread_mutex_init(&r.mu, NULL);
	r.tty = isatty(STDERR_FILENO);
	if (state_lock_acquire(ctx->state_dir, mode, aa->lock_timeout_ms, &lock, &replaced,
			       &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (replaced.id[0])
		cmd_info(ctx, "took over lock %s left by pid %ld on %s since %s (no longer running)",
			 replaced.id, replaced.pid, replaced.host, replaced.since);
	if (run_journal_open(&r.j, ctx->state_dir, mode, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (run_journal_settle(&r.j, settled, &r, &err) < 0)
		cmd_error(ctx, "ledger: %s", err.msg);
	last_run(r.j.ledger, &prev);
	if (aa->file && !(saved = read_saved(ctx, aa)))
		goto out;
	if (saved) {
		sid = json_string_value(json_object_get(saved, "state_id"));
		o.state_id = sid ? sid : "";	/* "" matches no identity */
	}
	o.ledger = r.j.ledger;
	o.plan = aa->po;
	o.parallel = aa->parallel;
	o.loaded = in->res.fleet != NULL;
	if (cmd_prepare(ctx, in, &o, ": nothing applied") < 0) {
		if (in->failed == RUN_INPUTS_OTHER_STATE)
			cmd_error(ctx, "%s was made with another state directory (berth identity "
				  "%.12s, this one is %.12s): refusing it", aa->file,
				  sid ? sid : "none", in->id.fingerprint);
		goto out;
	}
	r.j.commit = in->res.commit;
	r.j.signer = in->res.signer;
	r.j.signer_key = in->res.signer_key;
	if (saved && check_saved(ctx, aa->file, saved, in) < 0)
		goto out;
	/* The plan shown marks the hosts that take no new instances, as berth plan does. */
	if (!saved) {
		plan_render_text(&in->plan, &in->po, ctx->color && isatty(STDOUT_FILENO), 0, stdout);
		fflush(stdout);
	}
	if (run_journal_start(&r.j, &err) < 0) {
		cmd_error(ctx, "ledger: %s: nothing applied (no change is made unless the"
			  " ledger records it)", err.msg);
		goto out;
	}
	if (record_facts(ctx, &r.j, in) < 0)
		goto out;
	if (!plan_has_changes(&in->plan)) {
		cmd_info(ctx, "no changes: the servers match commit %s", in->res.commit);
		ret = in->plan.nerrors ? EXIT_FAIL : EXIT_OK;
	} else if (saved || aa->auto_approve || aa->reconcile || approved(ctx)) {
		ret = carry_out(&r, in, aa, &ar);
	}
out:
	if (run_journal_end(&r.j, &ar, ret == EXIT_OK, &err) < 0) {
		cmd_error(ctx, "ledger: %s", err.msg);
	} else if (r.j.started) {
		notify_run(&r, aa, in, &ar, &prev);
		if (aa->reconcile)
			checkpoint_due(ctx, r.j.ledger, aa->checkpoint_every_ms);
	}
	apply_result_release(&ar);
	run_inputs_release(in);
	json_decref(saved);
	free(aa->saved_targets);
	aa->saved_targets = NULL;
	run_journal_release(&r.j);
	state_lock_release(lock);
	pthread_mutex_destroy(&r.mu);
	return ret;
}

static int
parse(struct ctx *ctx, int argc, char **argv, struct apply_args *aa,
      const char ***targets)
{
	struct optparse p;
	struct berr err;
	uint64_t ms;
	unsigned long v;
	int r;

	aa->po.max_deletes = 10;
	aa->parallel = 16;
	optparse_init(&p, ctx, argc, argv, apply_opts_list);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case O_AUTO: aa->auto_approve = 1; break;
		case O_PRUNE: aa->po.prune = 1; break;
		case O_MASS: aa->po.allow_mass_delete = 1; break;
		case O_MAX_DELETES:
			if (!opt_parse_uint(p.arg, 100000, &v))
				return usage_error(ctx, "--max-deletes: want a number, have \"%s\"", p.arg);
			aa->po.max_deletes = (unsigned)v;
			break;
		case O_PARALLEL:
			if (!opt_parse_uint(p.arg, 1024, &v) || v == 0)
				return usage_error(ctx, "--parallel: want a number from 1 to 1024, have \"%s\"", p.arg);
			aa->parallel = (unsigned)v;
			break;
		case O_TARGET:
			if (!opt_valid_target(p.arg))
				return usage_error(ctx, "--target: want KIND/NAME with KIND one of "
						   "Host, Cluster, Pool, Plan, Image; have \"%s\"", p.arg);
			*targets = xreallocarray(*targets, aa->po.ntargets + 1, sizeof(**targets));
			(*targets)[aa->po.ntargets++] = p.arg;
			aa->po.targets = *targets;
			break;
		case O_LOCK_TIMEOUT:
			if (parse_duration(p.arg, &ms, &err) < 0)
				return usage_error(ctx, "--lock-timeout: %s", err.msg);
			aa->lock_timeout_ms = (long)ms;
			break;
		case O_TIMEOUT:
			if (parse_duration(p.arg, &ms, &err) < 0 || ms < 1000 || ms > 24 * 3600 * 1000LL)
				return usage_error(ctx, "--timeout: want a duration from 1s to 24h, "
						   "have \"%s\"", p.arg);
			aa->timeout_ms = (long)ms;
			break;
		case O_NOTIFY:
			if (!webhook_url_ok(p.arg))
				return usage_error(ctx, "--notify: want an http:// or https:// URL,"
						   " have \"%.40s\"", p.arg);
			aa->notify = xreallocarray(aa->notify, aa->nnotify + 1, sizeof(*aa->notify));
			aa->notify[aa->nnotify++] = p.arg;
			break;
		case O_WINDOW:
			if (!aa->reconcile)
				return usage_error(ctx, "--window belongs to `berth reconcile`");
			aa->windows = xreallocarray(aa->windows, aa->nwindows + 1,
						    sizeof(*aa->windows));
			if (window_parse(p.arg, &aa->windows[aa->nwindows], &err) < 0)
				return usage_error(ctx, "--window: %s", err.msg);
			aa->nwindows++;
			break;
		case O_CHECKPOINT_EVERY:
			if (!aa->reconcile)
				return usage_error(ctx, "--checkpoint-every belongs to `berth reconcile`");
			if (strcmp(p.arg, "0") && parse_duration(p.arg, &ms, &err) < 0)
				return usage_error(ctx, "--checkpoint-every: %s (or 0: never)", err.msg);
			aa->checkpoint_every_ms = strcmp(p.arg, "0") ? (int64_t)ms : 0;
			break;
		case OPT_HELP: command_help(ctx); return EXIT_OK;
		case OPT_OPERAND:
			if (aa->file || aa->reconcile)
				return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
			aa->file = p.arg;
			break;
		default: return EXIT_FAIL;
		}
	}
	if (aa->file && (aa->po.prune || aa->po.ntargets || aa->po.allow_mass_delete))
		return usage_error(ctx, "a saved plan is applied exactly as it was made: "
				   "--prune, --target and --allow-mass-delete belong to `berth plan`");
	return -1;
}

/*
 * Whether the sync windows allow a reconcile now: those of --window (set
 * 0), and, with res (the manifests of the commit), those of its Fleet
 * (set 1), each set having its say. When they do not, the deferred run is
 * said and recorded (run.deferred: after {"windows": [{"window",
 * "source": "--window" | "manifests", "at"}], "deferred_by",
 * "next_allowed"}, and the commit of res), and nothing else is done.
 */
static int
window_allows(struct ctx *ctx, const struct apply_args *aa, const struct manifest_result *res)
{
	const struct m_fleet *fl = res ? fleet_settings(res->fleet) : NULL;
	size_t nfl = fl ? fl->nwindows : 0, n = aa->nwindows + nfl, i;
	struct window_verdict v;
	struct ledger_entry e = { 0 };
	struct ledger *l = NULL;
	struct berr err;
	struct window *w;
	char run_id[32], next[40] = "", at[512] = "";
	json_t *after, *specs;

	if (res && !nfl)
		return 1;	/* the Fleet adds none: --window's allowed it */
	w = xcalloc(n ? n : 1, sizeof(*w));
	if (aa->nwindows)
		memcpy(w, aa->windows, aa->nwindows * sizeof(*w));
	for (i = 0; i < nfl; i++) {
		w[aa->nwindows + i] = fl->windows[i];
		w[aa->nwindows + i].set = 1;
	}
	window_check(w, n, clock_now_ms(), &v);
	if (v.allowed) {
		free(w);
		return 1;
	}
	if (v.next_ms >= 0)
		clock_format(v.next_ms, 0, next, sizeof(next));
	if (v.by && v.by >= w + aa->nwindows)
		fleet_window_at(fl, (size_t)(v.by - w) - aa->nwindows, at, sizeof(at));
	if (v.by)
		cmd_info(ctx, "deferred: the deny window \"%s\"%s%s%s is open; nothing is"
			 " changed%s%s", v.by->spec, *at ? " (" : "", at, *at ? ")" : "",
			 *next ? "; next allowed at " : "", next);
	else
		cmd_info(ctx, "deferred: no allow window is open; nothing is changed%s%s",
			 *next ? "; next allowed at " : "", next);
	specs = json_array();
	for (i = 0; i < n; i++) {
		if (i >= aa->nwindows)
			fleet_window_at(fl, i - aa->nwindows, at, sizeof(at));
		json_array_append_new(specs, json_pack("{s:s, s:s, s:s?}", "window", w[i].spec,
			"source", i < aa->nwindows ? "--window" : "manifests",
			"at", i < aa->nwindows ? NULL : at));
	}
	after = json_pack("{s:o, s:s?, s:s?}", "windows", specs, "deferred_by",
			  v.by ? v.by->spec : NULL, "next_allowed", *next ? next : NULL);
	ledger_new_run_id(run_id);
	e.run_id = run_id;	/* the actor: ledger_actor()'s */
	e.commit = res ? res->commit : NULL;
	e.kind = "run.deferred";
	e.object = "run";
	e.action = "reconcile";
	e.result = "deferred";
	e.after = after;
	if (ledger_open(ctx->state_dir, &l, &err) < 0 || ledger_append(l, &e, &err) < 0)
		cmd_warn(ctx, "ledger: the deferred run is not recorded: %s", err.msg);
	ledger_close(l);
	json_decref(after);
	free(w);
	return 0;
}

/*
 * berth reconcile: --window's sync windows first (a run they defer reads
 * nothing), then the manifests of the commit and, when its Fleet has
 * windows, all of them together; only a run they allow takes the lock and
 * contacts the servers, with the manifests already read.
 */
static int
reconcile(struct ctx *ctx, struct apply_args *aa)
{
	struct run_inputs in = { 0 };

	if (!window_allows(ctx, aa, NULL))
		return EXIT_DEFERRED;
	if (load_valid_fleet(ctx, &in.res, ": nothing applied") < 0)
		return EXIT_FAIL;
	if (!window_allows(ctx, aa, &in.res)) {
		run_inputs_release(&in);
		return EXIT_DEFERRED;
	}
	return run_apply(ctx, aa, &in);
}

int
cmd_apply(struct ctx *ctx, int argc, char **argv)
{
	struct apply_args aa = { 0 };
	const char **targets = NULL;
	struct run_inputs in = { 0 };
	int r = parse(ctx, argc, argv, &aa, &targets);

	if (r < 0)
		r = run_apply(ctx, &aa, &in);
	free(aa.notify);
	free(targets);
	return r;
}

int
cmd_reconcile(struct ctx *ctx, int argc, char **argv)
{
	struct apply_args aa = { 0 };
	const char **targets = NULL;
	int r;

	aa.reconcile = 1;
	aa.checkpoint_every_ms = -1;
	r = parse(ctx, argc, argv, &aa, &targets);
	if (r < 0)
		r = reconcile(ctx, &aa);
	free(aa.windows);
	free(aa.notify);
	free(targets);
	return r;
}
