/*
 * intake.c - checking, deciding on and storing agent reports (intake.h).
 *
 * Threads: any number of callers of intake_check() (the HTTP server's
 * pool) or intake_submit() do the stateless checks, the expensive one
 * being the signature; one
 * writer thread owns the database connection, the seq and nonce memory
 * and the usage baselines, and commits the reports queued meanwhile in
 * one transaction.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "agent/keys.h"
#include "ledger/ledger.h"
#include "serve/intake.h"
#include "serve/nonces.h"
#include "serve/store.h"
#include "serve/usage.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define REJECT_PERIOD_MS	60000
#define PRUNE_PERIOD_MS		60000

static const struct {
	const char *name;
	int http;
} reasons[INTAKE__COUNT] = {
	[INTAKE_OK] = { "ok", 200 },
	[INTAKE_TOO_LARGE] = { "too_large", 413 },
	[INTAKE_MALFORMED] = { "malformed", 400 },
	[INTAKE_UNKNOWN_HOST] = { "unknown_host", 403 },
	[INTAKE_NO_KEY] = { "no_key", 403 },
	[INTAKE_BAD_SIGNATURE] = { "bad_signature", 401 },
	[INTAKE_TIME_SKEW] = { "time_skew", 400 },
	[INTAKE_REPLAYED] = { "replayed", 409 },
	[INTAKE_STALE_SEQ] = { "stale_seq", 409 },
	[INTAKE_TRUNCATED] = { "truncated", 400 },
	[INTAKE_STORE_ERROR] = { "store_error", 503 },
};

const char *
intake_reason_name(enum intake_reason r)
{
	return r < INTAKE__COUNT ? reasons[r].name : "?";
}

int
intake_reason_http(enum intake_reason r)
{
	return r < INTAKE__COUNT ? reasons[r].http : 500;
}

/* A host's key, from the manifests. */
struct host_key {
	const struct m_host *host;
	struct evp_pkey_st *pub;	/* NULL: no key */
};

struct keyring {
	struct host_key *keys;
	size_t n;
	json_t *index;			/* name -> position */
	const struct fleet *fleet;
};

/* A checked report waiting for the writer (struct intake_item outside). */
struct item {
	struct report_envelope env;
	struct report report;		/* swapped with the host's previous latest on success */
	const char *body;
	size_t len;
	const char *remote;
	struct intake_result *res;
	int64_t window_ms;		/* the host's offline window (status.h) when checked */
	void (*done)(void *ctx);	/* called by the writer once res is final */
	void *done_ctx;
	struct item *next;
};

struct intake_item {
	struct item it;
};

/* Rejections waiting for their ledger entry (one per host and reason and minute). */
struct reject_key {
	char host[REPORT_MAX_NAME + 1];
	enum intake_reason reason;
	uint64_t pending;
	int64_t first_ms, last_ms;
	int64_t written_ms;		/* last ledger entry, 0: never */
	char detail[512];
	char remote[64];
};

struct latest {
	struct report report;
	int64_t received_ms;
	int have;
};

struct intake {
	struct intake_opts o;
	struct ledger *ledger;
	struct store *store;

	pthread_rwlock_t keys_lock;
	struct keyring ring;

	pthread_mutex_t q_mu;
	pthread_cond_t q_cond;		/* writer: work or stop */
	pthread_cond_t ckpt_cond;	/* checkpointer: stop */
	struct item *q_head, **q_tail;
	int stop;
	pthread_t writer;
	pthread_t checkpointer;		/* own connection: WAL checkpoints off the writer */
	struct store *ckpt;
	int have_checkpointer;

	/* writer thread only */
	json_t *seqs;			/* "host\x1fboot" -> last seq */
	json_t *base_index;		/* "host\x1fproject\x1finstance\x1fnic" -> base_rows[i] */
	struct usage_row *base_rows;	/* usage baselines read or written so far */
	size_t nbase, base_cap;
	struct nonce_set *nonces;
	int64_t last_prune_ms;
	size_t last_batch;		/* reports in the last batch */
	int degraded;			/* memory not reloaded after a rollback: refuse */

	pthread_rwlock_t latest_lock;	/* latest[] and ring for status readers */
	struct latest *latest;		/* parallel to ring.keys */

	pthread_mutex_t rej_mu;
	struct reject_key *rej;
	size_t nrej;

	atomic_uint_fast64_t accepted, batches, busy, ledger_errors;
	atomic_uint_fast64_t rejected[INTAKE__COUNT];
	atomic_int_fast64_t ledger_seq;
	atomic_int_fast64_t reconcile_ms, reconcile_changes;
	atomic_int_fast64_t beat_ms;	/* the writer's last turn (clock_mono_ms) */
	int64_t facts_ms;		/* writer: when the ledger was last read */
};

static void
keyring_release(struct keyring *r)
{
	for (size_t i = 0; i < r->n; i++)
		agent_key_free(r->keys[i].pub);
	free(r->keys);
	json_decref(r->index);
	memset(r, 0, sizeof(*r));
}

static int
keyring_build(struct keyring *r, const struct fleet *f, struct berr *err)
{
	memset(r, 0, sizeof(*r));
	r->fleet = f;
	r->index = json_object();
	r->keys = xcalloc(f->nhosts ? f->nhosts : 1, sizeof(*r->keys));
	for (size_t i = 0; i < f->nhosts; i++) {
		const struct m_host *h = &f->hosts[i];

		r->keys[i].host = h;
		if (h->agent_key && !(r->keys[i].pub = agent_pubkey_parse(h->agent_key, err))) {
			berr_prefix(err, "Host \"%s\": spec.agent.key", h->meta.name);
			r->n = i;
			keyring_release(r);
			return -1;
		}
		json_object_set_new(r->index, h->meta.name, json_integer((json_int_t)i));
		r->n = i + 1;
	}
	return 0;
}

static long
keyring_find(const struct keyring *r, const char *name)
{
	json_t *v = json_object_get(r->index, name);

	return v ? (long)json_integer_value(v) : -1;
}

/* Rejections: counters, and the ledger entry at most once a minute per host and reason. */
static void
record_reject(struct intake *in, enum intake_reason reason, const char *host,
	      const char *detail, const char *remote)
{
	int64_t now = in->o.now_ms();
	struct reject_key *k = NULL;
	char h[REPORT_MAX_NAME + 1];
	int known;

	atomic_fetch_add(&in->rejected[reason], 1);
	/*
	 * Only the manifests' hosts get entries of their own: any client can
	 * send any name, and strangers all share one key per reason, so the
	 * ledger grows by at most (hosts + 1) x reasons entries a minute.
	 */
	pthread_rwlock_rdlock(&in->keys_lock);
	known = host && keyring_find(&in->ring, host) >= 0;
	pthread_rwlock_unlock(&in->keys_lock);
	snprintf(h, sizeof(h), "%s", known ? host : "(not in the manifests)");
	pthread_mutex_lock(&in->rej_mu);
	for (size_t i = 0; i < in->nrej && !k; i++)
		if (in->rej[i].reason == reason && !strcmp(in->rej[i].host, h))
			k = &in->rej[i];
	if (!k) {
		in->rej = xreallocarray(in->rej, in->nrej + 1, sizeof(*in->rej));
		k = &in->rej[in->nrej++];
		memset(k, 0, sizeof(*k));
		snprintf(k->host, sizeof(k->host), "%s", h);
		k->reason = reason;
	}
	if (!k->pending)
		k->first_ms = now;
	k->pending++;
	k->last_ms = now;
	/* The detail quotes what the client sent: printable ASCII only. */
	snprintf(k->detail, sizeof(k->detail), "%s", detail ? detail : "");
	if (!known && host)
		snprintf(k->detail, sizeof(k->detail), "host \"%.80s\": %s", host, detail ? detail : "");
	for (size_t i = 0; k->detail[i]; i++)
		if ((unsigned char)k->detail[i] < 0x20 || (unsigned char)k->detail[i] >= 0x7f)
			k->detail[i] = '?';
	snprintf(k->remote, sizeof(k->remote), "%s", remote ? remote : "");
	pthread_mutex_unlock(&in->rej_mu);
	/* Under q_mu, or the writer may miss it between its check and its wait. */
	pthread_mutex_lock(&in->q_mu);
	pthread_cond_signal(&in->q_cond);
	pthread_mutex_unlock(&in->q_mu);
}

/*
 * Put back what a rejection entry that could not be written counted (d, as
 * it was taken, with the time of the entry before it): nothing a client
 * was refused for is lost, the next flush writes it.
 */
static void
restore_reject(struct intake *in, const struct reject_key *d)
{
	struct reject_key *k = NULL;

	pthread_mutex_lock(&in->rej_mu);
	for (size_t i = 0; i < in->nrej && !k; i++)
		if (in->rej[i].reason == d->reason && !strcmp(in->rej[i].host, d->host))
			k = &in->rej[i];
	if (!k) {
		in->rej = xreallocarray(in->rej, in->nrej + 1, sizeof(*in->rej));
		k = &in->rej[in->nrej++];
		*k = *d;
	} else {
		if (!k->pending || d->first_ms < k->first_ms)
			k->first_ms = d->first_ms;	/* the earliest of both */
		if (!k->pending) {
			snprintf(k->detail, sizeof(k->detail), "%s", d->detail);
			snprintf(k->remote, sizeof(k->remote), "%s", d->remote);
			k->last_ms = d->last_ms;
		}
		k->pending += d->pending;
		k->written_ms = d->written_ms;
	}
	pthread_mutex_unlock(&in->rej_mu);
}

/*
 * Write the ledger entries that are due (all pending ones when force). A
 * count is cleared only once its entry is written: what could not be is
 * put back for the next flush.
 */
static void
flush_rejects(struct intake *in, int force)
{
	int64_t now = in->o.now_ms();
	struct reject_key *due = NULL;
	unsigned char *written = NULL;
	size_t ndue = 0;
	struct berr batch_err;
	int in_batch = 0;
	int64_t last_seq = 0;

	pthread_mutex_lock(&in->rej_mu);
	for (size_t i = 0; i < in->nrej; i++) {
		struct reject_key *k = &in->rej[i];

		if (!k->pending && k->written_ms && now - k->written_ms >= REJECT_PERIOD_MS) {
			/* Quiet for a minute: forget it. */
			in->rej[i--] = in->rej[--in->nrej];
			continue;
		}
		if (!k->pending || (!force && k->written_ms && now - k->written_ms < REJECT_PERIOD_MS))
			continue;
		due = xreallocarray(due, ndue + 1, sizeof(*due));
		due[ndue++] = *k;
		k->pending = 0;
		k->written_ms = now;
	}
	pthread_mutex_unlock(&in->rej_mu);
	/* All due entries in one transaction: one fsync, not one each. */
	written = xcalloc(ndue + 1, 1);
	if (ndue > 1 && ledger_batch_begin(in->ledger, &batch_err) == 0)
		in_batch = 1;
	for (size_t i = 0; i < ndue; i++) {
		struct reject_key *k = &due[i];
		struct ledger_entry e = { 0 };
		char first[40], last[40], object[REPORT_MAX_NAME + 8];
		struct berr err;
		json_t *after;

		clock_format(k->first_ms, 1, first, sizeof(first));
		clock_format(k->last_ms, 1, last, sizeof(last));
		snprintf(object, sizeof(object), "host/%s", k->host);
		after = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "reason",
				  intake_reason_name(k->reason), "count", (json_int_t)k->pending,
				  "first", first, "last", last, "detail", k->detail,
				  "remote", k->remote);
		e.actor = "intake";
		e.kind = "report.rejected";
		e.target = k->host;
		e.object = object;
		e.action = intake_reason_name(k->reason);
		e.after = after;
		e.result = "rejected";
		if (ledger_append(in->ledger, &e, &err) == 0) {
			written[i] = 1;
			if (in_batch)
				last_seq = e.seq;
			else
				atomic_store(&in->ledger_seq, e.seq);
		}
		json_decref(after);
	}
	if (in_batch) {
		if (ledger_batch_commit(in->ledger, &batch_err) == 0)
			atomic_store(&in->ledger_seq, last_seq);
		else
			memset(written, 0, ndue);	/* the batch is gone */
	}
	for (size_t i = 0; i < ndue; i++)
		if (!written[i]) {
			atomic_fetch_add(&in->ledger_errors, 1);
			restore_reject(in, &due[i]);
		}
	free(written);
	free(due);
}

static void
seq_key(char *out, size_t n, const char *host, const char *boot)
{
	snprintf(out, n, "%s\x1f%s", host, boot);
}

static void
load_seq(void *ctx, const char *host, const char *boot, uint64_t seq)
{
	struct intake *in = ctx;
	char key[REPORT_MAX_NAME + 40];

	seq_key(key, sizeof(key), host, boot);
	json_object_set_new(in->seqs, key, json_integer((json_int_t)seq));
}

static void
load_nonce(void *ctx, const char *nonce, int64_t seen_ms)
{
	nonce_set_add(ctx, nonce, seen_ms);
}

/* (Re)load the writer's memory from the database. */
static int
load_memory(struct intake *in, struct berr *err)
{
	json_decref(in->seqs);
	in->seqs = json_object();
	json_decref(in->base_index);
	in->base_index = json_object();
	in->nbase = 0;
	nonce_set_free(in->nonces);
	in->nonces = nonce_set_new();
	if (store_each_seq(in->store, load_seq, in, err) < 0 ||
	    store_each_nonce(in->store, in->o.now_ms() - in->o.nonce_ttl_ms, load_nonce,
			     in->nonces, err) < 0)
		return -1;
	return 0;
}

/*
 * Usage baselines, read through a cache: the database is asked once per
 * (host, project, instance, nic), then the writer's memory answers, and
 * every change is written to both. The cache is dropped with the rest of
 * the writer's memory when a batch rolls back, and when it grows past
 * BASE_CACHE_MAX rows (deleted instances' rows would otherwise stay).
 */
#define BASE_CACHE_MAX 1000000

static struct usage_row *
base_slot(struct intake *in, const char *host, const char *project, const char *instance,
	  const char *nic, int *fresh)
{
	char key[4 * (REPORT_MAX_NAME + 1)];
	json_t *v;

	snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%s", host, project, instance, nic);
	if ((v = json_object_get(in->base_index, key))) {
		*fresh = 0;
		return &in->base_rows[json_integer_value(v)];
	}
	if (in->nbase >= BASE_CACHE_MAX) {
		json_object_clear(in->base_index);
		in->nbase = 0;
	}
	if (in->nbase == in->base_cap) {
		in->base_cap = in->base_cap ? 2 * in->base_cap : 1024;
		in->base_rows = xreallocarray(in->base_rows, in->base_cap, sizeof(*in->base_rows));
	}
	json_object_set_new(in->base_index, key, json_integer((json_int_t)in->nbase));
	*fresh = 1;
	return &in->base_rows[in->nbase++];
}

static int
get_base(struct intake *in, const char *host, const char *project, const char *instance,
	 const char *nic, struct usage_row *out, struct berr *err)
{
	int fresh;
	struct usage_row *row = base_slot(in, host, project, instance, nic, &fresh);

	if (fresh && store_get_base(in->store, host, project, instance, nic, row, err) < 0) {
		/* Not cached after all: drop the cache rather than keep a blank row. */
		json_object_clear(in->base_index);
		in->nbase = 0;
		return -1;
	}
	*out = *row;
	return 0;
}

static int
put_base(struct intake *in, const char *host, const char *project, const char *instance,
	 const char *nic, const struct usage_row *row, struct berr *err)
{
	int fresh;

	*base_slot(in, host, project, instance, nic, &fresh) = *row;
	return store_put_base(in->store, host, project, instance, nic, row, err);
}

struct hour_ctx {
	struct intake *in;
	const struct report *r;
	const struct report_instance *inst;
	uint64_t cpu_ns, rx, tx;
	int64_t hour;		/* start of the report's hour */
	int counted;		/* the counters went in with the running time */
	struct berr *err;
};

/* Running time of one hour; the counters go with the report's own hour. */
static int
add_hour(void *ctx, int64_t hour_ms, int64_t ms)
{
	struct hour_ctx *h = ctx;
	int mine = hour_ms == h->hour;

	if (mine)
		h->counted = 1;
	return store_add_usage(h->in->store, h->r->host, h->inst->project, h->inst->name,
			       hour_ms, h->inst->plan, ms, mine ? h->cpu_ns : 0, mine ? h->rx : 0,
			       mine ? h->tx : 0, h->err) < 0;
}

/* a + b, at most INT64_MAX (what SQLite's integers hold). */
static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > (uint64_t)INT64_MAX - b ? (uint64_t)INT64_MAX : a + b;
}

/* The usage one accepted report adds, and its new baselines. */
static int
account(struct intake *in, const struct report *r, struct berr *err)
{
	for (size_t i = 0; i < r->ninstances; i++) {
		const struct report_instance *inst = &r->instances[i];
		struct usage_row base, row = { 0 };
		struct usage_prev prev = { 0 };
		struct usage_delta d;
		uint64_t rx = 0, tx = 0;
		struct hour_ctx hc = { .in = in, .r = r, .inst = inst, .err = err };
		int64_t hour = r->time_ms - r->time_ms % 3600000;

		if (get_base(in, r->host, inst->project, inst->name, "", &base, err) < 0)
			return -1;
		prev.known = base.known;
		memcpy(prev.boot_id, base.boot_id, sizeof(prev.boot_id));
		prev.started_ms = base.started_ms;
		prev.time_ms = base.time_ms;
		prev.running = base.running;
		prev.cpu_ns = base.cpu_ns;
		usage_instance_delta(&prev, r->boot_id, r->time_ms, inst, &d);
		for (size_t j = 0; j < inst->nnics; j++) {
			const struct report_nic *nic = &inst->nics[j];
			struct usage_row nb, nrow = { 0 };
			int reset;

			if (get_base(in, r->host, inst->project, inst->name, nic->name,
					   &nb, err) < 0)
				return -1;
			reset = d.reset || !nb.known || nic->rx_bytes < nb.rx_bytes ||
				nic->tx_bytes < nb.tx_bytes;
			rx = sat_add(rx, usage_counter_delta(reset, nb.known, nb.rx_bytes, nic->rx_bytes));
			tx = sat_add(tx, usage_counter_delta(reset, nb.known, nb.tx_bytes, nic->tx_bytes));
			nrow.known = 1;
			snprintf(nrow.boot_id, sizeof(nrow.boot_id), "%s", r->boot_id);
			nrow.started_ms = inst->started_ms;
			nrow.time_ms = r->time_ms;
			nrow.rx_bytes = nic->rx_bytes;
			nrow.tx_bytes = nic->tx_bytes;
			if (put_base(in, r->host, inst->project, inst->name, nic->name,
					   &nrow, err) < 0)
				return -1;
		}
		hc.cpu_ns = d.cpu_ns;
		hc.rx = rx;
		hc.tx = tx;
		hc.hour = hour;
		if (usage_split_hours(d.run_from_ms, d.run_to_ms, add_hour, &hc))
			return -1;
		if (!hc.counted && store_add_usage(in->store, r->host, inst->project, inst->name,
						   hour, inst->plan, 0, d.cpu_ns, rx, tx, err) < 0)
			return -1;
		row.known = 1;
		snprintf(row.boot_id, sizeof(row.boot_id), "%s", r->boot_id);
		row.started_ms = inst->started_ms;
		row.time_ms = r->time_ms;
		row.running = usage_is_running(inst->status);
		row.cpu_ns = inst->cpu_ns;
		if (put_base(in, r->host, inst->project, inst->name, "", &row, err) < 0)
			return -1;
	}
	return 0;
}

/* The end of what a report collected at t covers: t + window, at most INT64_MAX. */
static int64_t
online_until(int64_t t, int64_t window_ms)
{
	return t > INT64_MAX - window_ms ? INT64_MAX : t + window_ms;
}

/* Decide on and store one item inside the batch's transaction. */
static int
write_item(struct intake *in, struct item *it, int64_t now, struct berr *err)
{
	char key[REPORT_MAX_NAME + 40];
	json_t *last;

	if (nonce_set_has(in->nonces, it->env.nonce, now - in->o.nonce_ttl_ms)) {
		it->res->reason = INTAKE_REPLAYED;
		snprintf(it->res->detail, sizeof(it->res->detail),
			 "nonce %s was already accepted in the last %lld minutes", it->env.nonce,
			 (long long)(in->o.nonce_ttl_ms / 60000));
		return 0;
	}
	seq_key(key, sizeof(key), it->env.host, it->env.boot_id);
	last = json_object_get(in->seqs, key);
	if (last && (uint64_t)json_integer_value(last) >= it->env.seq) {
		it->res->reason = INTAKE_STALE_SEQ;
		snprintf(it->res->detail, sizeof(it->res->detail),
			 "seq %llu is not above %llu, the last accepted for boot %s",
			 (unsigned long long)it->env.seq,
			 (unsigned long long)json_integer_value(last), it->env.boot_id);
		return 0;
	}
	if (store_put_report(in->store, &it->report, it->body, it->len, it->env.nonce, now, err) < 0 ||
	    account(in, &it->report, err) < 0 ||
	    store_add_online(in->store, it->report.host, it->report.time_ms,
			     online_until(it->report.time_ms, it->window_ms), err) < 0)
		return -1;
	nonce_set_add(in->nonces, it->env.nonce, now);
	json_object_set_new(in->seqs, key, json_integer((json_int_t)it->env.seq));
	it->res->reason = INTAKE_OK;
	it->res->seq = it->env.seq;
	return 0;
}

/* Keep the accepted report as the host's latest (takes it from it). */
static void
keep_latest(struct intake *in, struct item *it, int64_t now)
{
	long i;

	struct report old;

	pthread_rwlock_wrlock(&in->latest_lock);
	i = keyring_find(&in->ring, it->report.host);
	if (i >= 0) {
		struct latest *l = &in->latest[i];

		/* Swap: the old one goes back to the submitter, who frees it. */
		old = l->have ? l->report : (struct report){ 0 };
		l->report = it->report;
		l->received_ms = now;
		l->have = 1;
		it->report = old;
	}
	pthread_rwlock_unlock(&in->latest_lock);
}

static void
write_batch(struct intake *in, struct item *batch)
{
	int64_t now = in->o.now_ms();
	struct berr err;
	int failed = 0;

	if (in->degraded) {
		struct berr e2;

		in->degraded = load_memory(in, &e2) < 0;
	}
	if (in->degraded) {
		berr_set(&err, "the intake could not reload its seqs and nonces from the database");
		failed = 1;
	} else if (store_begin(in->store, &err) < 0) {
		failed = 1;
	}
	for (struct item *it = batch; it && !failed; it = it->next)
		if (write_item(in, it, now, &err) < 0)
			failed = 1;
	if (!failed && store_commit(in->store, &err) < 0)
		failed = 1;
	if (failed) {
		struct berr e2;

		store_rollback(in->store);
		/* Without its memory the writer could take a replay: refuse until it is back. */
		in->degraded = load_memory(in, &e2) < 0;
		for (struct item *it = batch; it; it = it->next) {
			it->res->reason = INTAKE_STORE_ERROR;
			snprintf(it->res->detail, sizeof(it->res->detail), "%.400s", err.msg);
		}
	}
	atomic_fetch_add(&in->batches, 1);
	for (struct item *it = batch; it; it = it->next) {
		if (it->res->reason == INTAKE_OK) {
			atomic_fetch_add(&in->accepted, 1);
			keep_latest(in, it, now);
		} else if (it->res->reason != INTAKE_STORE_ERROR) {
			record_reject(in, it->res->reason, it->env.host, it->res->detail, it->remote);
		}
	}
}

static void
prune(struct intake *in)
{
	int64_t now = in->o.now_ms();
	struct berr err;

	if (now - in->last_prune_ms < PRUNE_PERIOD_MS)
		return;
	in->last_prune_ms = now;
	nonce_set_expire(in->nonces, now - in->o.nonce_ttl_ms);
	store_prune(in->store, now - in->o.nonce_ttl_ms, now - in->o.history_ms, &err);
}

/* The ledger's numbers for /metrics, read at most every 5 s: last seq, last reconcile run. */
static void
read_ledger_facts(struct intake *in)
{
	int64_t now = clock_mono_ms(), seq;
	struct ledger_run run;
	struct berr err;
	char hash[65];

	if (in->facts_ms && now - in->facts_ms < 5000)
		return;
	in->facts_ms = now;
	atomic_store(&in->ledger_seq, ledger_head(in->ledger, &seq, hash, &err) == 0 ? seq : -1);
	if (ledger_last_run(in->ledger, "reconcile", &run, &err) == 0 && run.seq) {
		if (run.end_ms)
			atomic_store(&in->reconcile_ms, run.end_ms);
		atomic_store(&in->reconcile_changes, run.changes);
	}
}

static void *
writer_main(void *arg)
{
	struct intake *in = arg;

	for (;;) {
		struct item *batch;
		struct timespec ts;
		int stop;

		atomic_store(&in->beat_ms, clock_mono_ms());
		pthread_mutex_lock(&in->q_mu);
		if (!in->q_head && !in->stop) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&in->q_cond, &in->q_mu, &ts);
		}
		/*
		 * Under load (the last batch was not alone), give the reports
		 * being checked right now half a millisecond to join: fewer,
		 * bigger transactions.
		 */
		if (in->q_head && in->last_batch > 1 && !in->stop) {
			pthread_mutex_unlock(&in->q_mu);
			nanosleep(&(struct timespec){ 0, 500 * 1000 }, NULL);
			pthread_mutex_lock(&in->q_mu);
		}
		batch = in->q_head;
		in->q_head = NULL;
		in->q_tail = &in->q_head;
		stop = in->stop;
		pthread_mutex_unlock(&in->q_mu);
		if (batch) {
			in->last_batch = 0;
			for (struct item *it = batch; it; it = it->next)
				in->last_batch++;
			write_batch(in, batch);
			/* Tell only this batch's submitters; an item may be freed at once. */
			for (struct item *it = batch, *next; it; it = next) {
				next = it->next;
				it->done(it->done_ctx);
			}
		}
		flush_rejects(in, stop);
		prune(in);
		read_ledger_facts(in);
		if (stop && !batch)
			break;
	}
	return NULL;
}

static void *
checkpointer_main(void *arg)
{
	struct intake *in = arg;
	struct berr err;

	pthread_mutex_lock(&in->q_mu);
	while (!in->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&in->ckpt_cond, &in->q_mu, &ts);
		if (in->stop)
			break;
		pthread_mutex_unlock(&in->q_mu);
		store_checkpoint(in->ckpt, &err);
		pthread_mutex_lock(&in->q_mu);
	}
	pthread_mutex_unlock(&in->q_mu);
	store_checkpoint(in->ckpt, &err);
	return NULL;
}

/* A host's latest report from the database, on start; other hosts' are skipped. */
static void
load_latest(void *ctx, const char *host, int64_t received_ms, const char *body, size_t len)
{
	struct intake *in = ctx;
	long k = keyring_find(&in->ring, host);
	struct berr err;

	/* A stored body that no longer parses (written by a newer berth) is left out. */
	if (k < 0 || report_parse(body, len, &in->latest[k].report, &err) < 0)
		return;
	in->latest[k].received_ms = received_ms;
	in->latest[k].have = 1;
}

static int64_t
default_now(void)
{
	return clock_now_ms();
}

int
intake_open(const struct intake_opts *o, const struct fleet *f, struct intake **out,
	    struct berr *err)
{
	struct intake *in = xcalloc(1, sizeof(*in));

	*out = NULL;
	in->o = *o;
	if (!in->o.window_ms)
		in->o.window_ms = 300000;
	if (!in->o.nonce_ttl_ms)	/* the window's whole width, and a margin for queues */
		in->o.nonce_ttl_ms = 2 * in->o.window_ms + 60000;
	if (!in->o.history_ms)
		in->o.history_ms = 7LL * 24 * 3600 * 1000;
	if (!in->o.now_ms)
		in->o.now_ms = default_now;
	{
		/* Readers (/metrics, /v1/status) must not starve the writer. */
		pthread_rwlockattr_t a;

		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&in->keys_lock, &a);
		pthread_rwlock_init(&in->latest_lock, &a);
		pthread_rwlockattr_destroy(&a);
	}
	pthread_mutex_init(&in->q_mu, NULL);
	pthread_cond_init(&in->q_cond, NULL);
	pthread_cond_init(&in->ckpt_cond, NULL);
	pthread_mutex_init(&in->rej_mu, NULL);
	in->q_tail = &in->q_head;
	atomic_store(&in->ledger_seq, -1);
	if (keyring_build(&in->ring, f, err) < 0)
		goto fail;
	in->latest = xcalloc(in->ring.n ? in->ring.n : 1, sizeof(*in->latest));
	if (ledger_open(o->state_dir, &in->ledger, err) < 0 ||
	    store_open(o->state_dir, &in->store, err) < 0 ||
	    store_open(o->state_dir, &in->ckpt, err) < 0 || load_memory(in, err) < 0)
		goto fail;
	if (store_each_latest(in->store, load_latest, in, err) < 0)
		goto fail;
	/* The checkpointer thread checkpoints; the ledger's commits on the writer need not. */
	ledger_set_autocheckpoint(in->ledger, 0);
	read_ledger_facts(in);
	if (pthread_create(&in->checkpointer, NULL, checkpointer_main, in) != 0) {
		berr_set(err, "cannot start the intake's checkpoint thread: %s", strerror(errno));
		goto fail;
	}
	in->have_checkpointer = 1;
	atomic_store(&in->beat_ms, clock_mono_ms());
	if (pthread_create(&in->writer, NULL, writer_main, in) != 0) {
		berr_set(err, "cannot start the intake's writer thread: %s", strerror(errno));
		goto fail;
	}
	*out = in;
	return 0;
fail:
	if (in->have_checkpointer) {
		pthread_mutex_lock(&in->q_mu);
		in->stop = 1;
		pthread_cond_signal(&in->ckpt_cond);
		pthread_mutex_unlock(&in->q_mu);
		pthread_join(in->checkpointer, NULL);
	}
	store_close(in->ckpt);
	store_close(in->store);
	in->store = NULL;
	ledger_close(in->ledger);
	in->ledger = NULL;
	if (in->latest)
		for (size_t i = 0; i < in->ring.n; i++)
			report_release(&in->latest[i].report);	/* safe on a zeroed report */
	keyring_release(&in->ring);
	free(in->latest);
	json_decref(in->seqs);
	json_decref(in->base_index);
	free(in->base_rows);
	nonce_set_free(in->nonces);
	free(in);
	return -1;
}

void
intake_free(struct intake *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&in->q_mu);
	in->stop = 1;
	pthread_cond_signal(&in->q_cond);
	pthread_cond_signal(&in->ckpt_cond);
	pthread_mutex_unlock(&in->q_mu);
	pthread_join(in->writer, NULL);
	pthread_join(in->checkpointer, NULL);
	store_close(in->ckpt);
	for (size_t i = 0; i < in->ring.n; i++)
		report_release(&in->latest[i].report);	/* safe on a zeroed report */
	free(in->latest);
	keyring_release(&in->ring);
	store_close(in->store);
	ledger_close(in->ledger);
	json_decref(in->seqs);
	json_decref(in->base_index);
	free(in->base_rows);
	nonce_set_free(in->nonces);
	free(in->rej);
	pthread_rwlock_destroy(&in->keys_lock);
	pthread_rwlock_destroy(&in->latest_lock);
	pthread_mutex_destroy(&in->q_mu);
	pthread_cond_destroy(&in->q_cond);
	pthread_cond_destroy(&in->ckpt_cond);
	pthread_mutex_destroy(&in->rej_mu);
	free(in);
}

int
intake_set_fleet(struct intake *in, const struct fleet *f, struct berr *err)
{
	struct keyring ring;
	struct latest *latest;

	if (keyring_build(&ring, f, err) < 0)
		return -1;
	latest = xcalloc(ring.n ? ring.n : 1, sizeof(*latest));
	pthread_rwlock_wrlock(&in->keys_lock);
	pthread_rwlock_wrlock(&in->latest_lock);
	for (size_t i = 0; i < in->ring.n; i++) {
		long k;

		if (!in->latest[i].have)
			continue;
		k = keyring_find(&ring, in->latest[i].report.host);
		if (k >= 0)
			latest[k] = in->latest[i];
		else
			report_release(&in->latest[i].report);
	}
	free(in->latest);
	in->latest = latest;
	keyring_release(&in->ring);
	in->ring = ring;
	pthread_rwlock_unlock(&in->latest_lock);
	pthread_rwlock_unlock(&in->keys_lock);
	return 0;
}

static int
reject(struct intake_result *res, enum intake_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
reject(struct intake_result *res, enum intake_reason r, const char *fmt, ...)
{
	va_list ap;

	res->reason = r;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return -1;
}

/* The stateless checks, in the order that spends least on a forgery. */
static int
check(struct intake *in, struct item *it, const char *const headers[6], struct intake_result *res)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct buf signed_str = BUF_INIT;
	struct berr err;
	int64_t now = in->o.now_ms();
	long k;
	int ok;

	if (it->len > REPORT_MAX_BODY)
		return reject(res, INTAKE_TOO_LARGE, "the body is %zu bytes: want at most %d",
			      it->len, REPORT_MAX_BODY);
	if (report_envelope_parse(&it->env, headers[0], headers[1], headers[2], headers[3],
				  headers[4], headers[5], &err) < 0)
		return reject(res, INTAKE_MALFORMED, "%.500s", err.msg);
	pthread_rwlock_rdlock(&in->keys_lock);
	k = keyring_find(&in->ring, it->env.host);
	if (k < 0) {
		reject(res, INTAKE_UNKNOWN_HOST, "no Host \"%s\" in the manifests", it->env.host);
		pthread_rwlock_unlock(&in->keys_lock);
		return -1;
	}
	if (!in->ring.keys[k].pub) {
		pthread_rwlock_unlock(&in->keys_lock);
		return reject(res, INTAKE_NO_KEY, "Host \"%s\" has no spec.agent.key in the manifests",
			      it->env.host);
	}
	it->window_ms = status_window_ms(in->ring.keys[k].host);
	SHA256((const unsigned char *)it->body, it->len, digest);
	buf_init(&signed_str, 4096);
	report_signed_string(&it->env, digest, &signed_str);
	ok = agent_verify(in->ring.keys[k].pub, signed_str.buf, signed_str.len, it->env.sig);
	pthread_rwlock_unlock(&in->keys_lock);
	buf_release(&signed_str);
	if (!ok)
		return reject(res, INTAKE_BAD_SIGNATURE,
			      "the signature does not verify with the key of Host \"%s\"", it->env.host);
	if (it->env.time * 1000 < now - in->o.window_ms || it->env.time * 1000 > now + in->o.window_ms)
		return reject(res, INTAKE_TIME_SKEW, "sent at %lld, %lld s from now: want within %lld s",
			      (long long)it->env.time, (long long)(it->env.time - now / 1000),
			      (long long)(in->o.window_ms / 1000));
	if (report_parse(it->body, it->len, &it->report, &err) < 0)
		return reject(res, INTAKE_MALFORMED, "%.500s", err.msg);
	if (it->report.time_ms > it->env.time * 1000 + in->o.window_ms)
		return reject(res, INTAKE_MALFORMED, "time: collected at %s, after it was sent (%lld)",
			      it->report.time, (long long)it->env.time);
	if (strcmp(it->report.host, it->env.host) || strcmp(it->report.boot_id, it->env.boot_id) ||
	    it->report.seq != it->env.seq)
		return reject(res, INTAKE_MALFORMED,
			      "the body (host %s, boot %s, seq %llu) is not the signed envelope's "
			      "(host %s, boot %s, seq %llu)", it->report.host, it->report.boot_id,
			      (unsigned long long)it->report.seq, it->env.host, it->env.boot_id,
			      (unsigned long long)it->env.seq);
	res->reason = INTAKE_OK;
	return 0;
}

struct intake_item *
intake_check(struct intake *in, const char *const headers[6], const char *body, size_t len,
	     const char *remote, struct intake_result *res)
{
	struct intake_item *x = xcalloc(1, sizeof(*x));

	x->it.body = body;
	x->it.len = len;
	x->it.remote = remote;
	x->it.res = res;
	memset(res, 0, sizeof(*res));
	if (check(in, &x->it, headers, res) < 0) {
		record_reject(in, res->reason, x->it.env.host[0] ? x->it.env.host : headers[0],
			      res->detail, remote);
		intake_item_free(x);
		return NULL;
	}
	return x;
}

void
intake_enqueue(struct intake *in, struct intake_item *x, void (*done)(void *ctx), void *ctx)
{
	x->it.done = done;
	x->it.done_ctx = ctx;
	pthread_mutex_lock(&in->q_mu);
	*in->q_tail = &x->it;
	in->q_tail = &x->it.next;
	pthread_cond_signal(&in->q_cond);
	pthread_mutex_unlock(&in->q_mu);
}

void
intake_item_free(struct intake_item *x)
{
	if (!x)
		return;
	report_release(&x->it.report);
	free(x);
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int done;
};

static void
wake(void *ctx)
{
	struct waiter *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

void
intake_submit(struct intake *in, const char *const headers[6], const char *body, size_t len,
	      const char *remote, struct intake_result *res)
{
	struct intake_item *x = intake_check(in, headers, body, len, remote, res);
	struct waiter w = { .done = 0 };

	if (!x)
		return;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cond, NULL);
	intake_enqueue(in, x, wake, &w);
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.mu);
	intake_item_free(x);
}

void
intake_refuse(struct intake *in, enum intake_reason reason, const char *host,
	      const char *detail, const char *remote)
{
	record_reject(in, reason, host, detail, remote);
}

void
intake_stats(struct intake *in, struct intake_stats *s)
{
	s->accepted = atomic_load(&in->accepted);
	for (int i = 0; i < INTAKE__COUNT; i++)
		s->rejected[i] = atomic_load(&in->rejected[i]);
	s->batches = atomic_load(&in->batches);
	s->busy = atomic_load(&in->busy);
	s->ledger_errors = atomic_load(&in->ledger_errors);
	s->ledger_entries = atomic_load(&in->ledger_seq);
	s->last_reconcile_ms = atomic_load(&in->reconcile_ms);
	s->last_reconcile_changes = atomic_load(&in->reconcile_changes);
}

void
intake_count_busy(struct intake *in)
{
	atomic_fetch_add(&in->busy, 1);
}

struct status *
intake_status(struct intake *in, int64_t now_ms)
{
	struct host_report *hr;
	struct status *s;
	size_t n = 0;

	pthread_rwlock_rdlock(&in->keys_lock);
	pthread_rwlock_rdlock(&in->latest_lock);
	hr = xcalloc(in->ring.n ? in->ring.n : 1, sizeof(*hr));
	for (size_t i = 0; i < in->ring.n; i++) {
		if (!in->latest[i].have)
			continue;
		hr[n].host = in->latest[i].report.host;
		hr[n].received_ms = in->latest[i].received_ms;
		hr[n].report = &in->latest[i].report;
		n++;
	}
	s = status_build(in->ring.fleet, hr, n, now_ms);
	free(hr);
	return s;
}

void
intake_status_release(struct intake *in, struct status *s)
{
	status_free(s);
	pthread_rwlock_unlock(&in->latest_lock);
	pthread_rwlock_unlock(&in->keys_lock);
}

int
intake_alive(struct intake *in, int64_t within_ms)
{
	return clock_mono_ms() - atomic_load(&in->beat_ms) <= within_ms;
}

struct ledger *
intake_ledger(struct intake *in)
{
	return in->ledger;
}
