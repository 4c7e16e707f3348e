/*
 * store.h - what the intake keeps in the state database (berth.db, tables
 * of state/002-reports.sql): a history of accepted reports bounded by age
 * (each with the nonce it was accepted with: the intake's memory of the
 * last 10 minutes' nonces is read back from it), the latest of each host,
 * the last accepted seq of each (host, boot id), and usage:
 * per instance and per hour, running seconds and traffic, computed from
 * the raw counters of consecutive reports; and when each host's agent
 * was online (never pruned).
 *
 * The database must have been created and migrated (ledger_open() does
 * that). A struct store is one SQLite connection, for one thread. The
 * commands read the latest reports through sched/reports.h.
 */
#ifndef BERTH_SERVE_STORE_H
#define BERTH_SERVE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/report.h"
#include "util/err.h"

/*
 * One read-write connection (synchronous=NORMAL: a
 * commit survives berth crashing, and after a power cut the raw counters
 * of the next report cover whatever the last commits held, so usage
 * totals stay right). Caller frees with store_close().
 */
struct store;

int store_open(const char *state_dir, struct store **out, struct berr *err);
void store_close(struct store *s);	/* accepts NULL */

/*
 * Copy what the WAL holds into the database (passive: never waits for a
 * writer). The store's connections do not checkpoint by themselves: the
 * intake calls this from a thread of its own every second.
 */
int store_checkpoint(struct store *s, struct berr *err);

int store_begin(struct store *s, struct berr *err);
int store_commit(struct store *s, struct berr *err);
void store_rollback(struct store *s);

/* Every (host, boot id) -> last accepted seq, through fn. */
int store_each_seq(struct store *s,
		   void (*fn)(void *ctx, const char *host, const char *boot_id,
			      uint64_t seq),
		   void *ctx, struct berr *err);
/* Every nonce accepted at or after since_ms (from the history), through fn. */
int store_each_nonce(struct store *s, int64_t since_ms,
		     void (*fn)(void *ctx, const char *nonce, int64_t seen_ms),
		     void *ctx, struct berr *err);
/* The latest report of each host: fn gets the raw body. */
int store_each_latest(struct store *s,
		      void (*fn)(void *ctx, const char *host, int64_t received_ms,
				 const char *body, size_t len),
		      void *ctx, struct berr *err);

/* Record an accepted report: history (with its nonce), latest and seq. */
int store_put_report(struct store *s, const struct report *r,
		     const char *body, size_t len, const char *nonce,
		     int64_t received_ms, struct berr *err);

/* The baseline of (host, project, instance, nic); nic "" is the instance's own. */
struct usage_row {
	int known;
	char boot_id[37];
	int64_t started_ms, time_ms;
	int running;
	uint64_t cpu_ns, rx_bytes, tx_bytes;
};
int store_get_base(struct store *s, const char *host, const char *project,
		   const char *instance, const char *nic, struct usage_row *out,
		   struct berr *err);
int store_put_base(struct store *s, const char *host, const char *project,
		   const char *instance, const char *nic,
		   const struct usage_row *row, struct berr *err);
/* Add to the usage of (host, project, instance) in the hour starting at hour_ms. */
int store_add_usage(struct store *s, const char *host, const char *project,
		    const char *instance, int64_t hour_ms, const char *plan,
		    int64_t running_ms, uint64_t cpu_ns, uint64_t rx_bytes,
		    uint64_t tx_bytes, struct berr *err);

/*
 * Add [from_ms, to_ms) to the intervals during which host's agent was
 * online (table agent_online, state/003-agent-online.sql), inside the
 * current transaction: the intervals it overlaps or touches become one
 * row. Nothing when from_ms >= to_ms. Extending the host's last interval
 * is one lookup of the key and one update.
 */
int store_add_online(struct store *s, const char *host, int64_t from_ms,
		     int64_t to_ms, struct berr *err);

/*
 * Forget history received before history_before_ms, but never what is
 * younger than nonce_before_ms (its nonces still count) nor a host's
 * latest report.
 */
int store_prune(struct store *s, int64_t nonce_before_ms,
		int64_t history_before_ms, struct berr *err);

/* Usage totals of one instance over all hours (tests, reports). */
struct usage_total {
	int64_t running_ms;
	uint64_t cpu_ns, rx_bytes, tx_bytes;
};
int store_usage_total(const char *state_dir, const char *host,
		      const char *project, const char *instance,
		      struct usage_total *out, struct berr *err);

/*
 * Usage per instance over the hours from from_hour to before to_hour
 * ("2026-11-01T00"): fn gets each (host, project, instance) that has a
 * row in them, in that order, with its sums (saturating at 2^63 - 1) and
 * the plan of its latest row that names one (NULL when none does); the
 * strings are lent for the call. fn returns non-zero to stop. Nothing
 * when the database does not exist yet; -1 with err when it cannot be
 * read.
 */
int store_usage_sums(const char *state_dir, const char *from_hour, const char *to_hour,
		     int (*fn)(void *ctx, const char *host, const char *project,
			       const char *instance, const char *plan,
			       const struct usage_total *sum),
		     void *ctx, struct berr *err);

/*
 * When host's agent was online inside [from_ms, to_ms): the intervals of
 * agent_online clipped to it, in time order, disjoint and not touching.
 * Opens its own read-only connection. *out (caller frees with free()) is
 * NULL and *n 0 when there are none, or no database yet.
 */
struct online_span {
	int64_t from_ms, to_ms;
};
int store_online(const char *state_dir, const char *host, int64_t from_ms,
		 int64_t to_ms, struct online_span **out, size_t *n,
		 struct berr *err);

/*
 * Since when agent_online knows: the earlier of when its table was made
 * (an upgrade) and the first interval it was filled with from the
 * history. Before then nobody knows whether an agent was online. INT64_MAX
 * when there is no database yet.
 */
int store_online_since(const char *state_dir, int64_t *since_ms, struct berr *err);

/*
 * Traffic for settlement, over the hours from from_hour to before to_hour
 * ("2026-11-01T00"). store_traffic_totals: fn gets each (host, project,
 * instance) with traffic and its rx + tx bytes over all those hours (one
 * aggregate). store_traffic_rows: fn gets each hour with traffic of the
 * instances of which (a JSON array of [host, project, instance]), in
 * that order and by hour. Nothing when the database does not exist yet;
 * -1 with err when it cannot be read.
 */
int store_traffic_totals(const char *state_dir, const char *from_hour, const char *to_hour,
			 void (*fn)(void *ctx, const char *host, const char *project,
				    const char *instance, uint64_t bytes),
			 void *ctx, struct berr *err);
int store_traffic_rows(const char *state_dir, const char *from_hour, const char *to_hour,
		       const json_t *which,
		       void (*fn)(void *ctx, const char *host, const char *project,
				  const char *instance, const char *hour, uint64_t bytes),
		       void *ctx, struct berr *err);

#endif
