/*
 * intake.h - taking agent reports: checks, the decision, and what an
 * accepted report leaves behind. HTTP is in http.c; this module does not
 * know about sockets.
 *
 * A report goes through two stages:
 *
 *   intake_check()   any thread, concurrently: the envelope headers, the
 *                    host and its key (from the manifests of the
 *                    configured commit), the signature over the signed
 *                    string (report.h) BEFORE the body is parsed, the
 *                    time window, then the body (parsed and checked
 *                    against the envelope).
 *   intake_submit()  hands the checked report to the intake's one writer
 *                    thread and waits: the writer checks the nonce and
 *                    the seq against everything accepted before (memory,
 *                    backed by the database), stores the report, turns
 *                    it into usage, adds [collected at, collected at +
 *                    the host's offline window) to when its agent was
 *                    online (store_add_online; the window of the
 *                    manifests at the check), and commits many reports
 *                    in one transaction (group commit): the answer comes
 *                    after the commit.
 *
 * Reasons a report is refused, each with its own code (the HTTP answer's
 * "reason", the counter berth_reports_rejected_total{reason}, and the
 * ledger's report.rejected entries, at most one per host and reason per
 * minute, with a count):
 *
 *   too_large      body over 1 MiB (413)
 *   malformed      headers missing or malformed, body not JSON or not a
 *                  report, or body and envelope disagree (400)
 *   unknown_host   no Host of that name in the manifests (403)
 *   no_key         the Host has no spec.agent.key (403)
 *   bad_signature  the signature does not verify with the host's key (401)
 *   time_skew      Berth-Time more than the window (300 s) off (400)
 *   replayed       a nonce accepted in the last 10 minutes (409)
 *   stale_seq      seq not above the last accepted for (host, boot id) (409)
 *   truncated      the connection ended before the body did (no answer
 *                  can be sent; counted and recorded only)
 *   store_error    the database failed: not a rejection, 503, retry
 */
#ifndef BERTH_SERVE_INTAKE_H
#define BERTH_SERVE_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/report.h"
#include "manifest/model.h"
#include "sched/status.h"
#include "util/err.h"

enum intake_reason {
	INTAKE_OK,
	INTAKE_TOO_LARGE,
	INTAKE_MALFORMED,
	INTAKE_UNKNOWN_HOST,
	INTAKE_NO_KEY,
	INTAKE_BAD_SIGNATURE,
	INTAKE_TIME_SKEW,
	INTAKE_REPLAYED,
	INTAKE_STALE_SEQ,
	INTAKE_TRUNCATED,
	INTAKE_STORE_ERROR,
	INTAKE__COUNT
};

/* "too_large", ...; "ok" for INTAKE_OK. */
const char *intake_reason_name(enum intake_reason r);
/* The HTTP status of the answer: 200, 413, 400, 403, 401, 409, 503. */
int intake_reason_http(enum intake_reason r);

struct intake_opts {
	const char *state_dir;
	int64_t window_ms;		/* default 300000 */
	int64_t nonce_ttl_ms;		/* default 600000 */
	int64_t history_ms;		/* reports kept in history, default 7 days */
	int64_t (*now_ms)(void);	/* default clock_now_ms; tests move time */
};

struct intake;

/*
 * Open the intake on the state directory (the database is created and
 * migrated through the ledger, which the intake opens) for fleet f (borrowed: it must outlive
 * the intake or be replaced with intake_set_fleet() first). Starts the
 * writer thread. Caller frees with intake_free(), which flushes the
 * rejection entries still pending to the ledger; it accepts NULL.
 */
int intake_open(const struct intake_opts *o, const struct fleet *f,
		struct intake **out, struct berr *err);
void intake_free(struct intake *in);

/*
 * Replace the fleet (new manifests): keys are re-read. f is borrowed as in
 * intake_open; the old one may be freed once this returns. -1 with err
 * when a Host's key does not parse (the old fleet stays).
 */
int intake_set_fleet(struct intake *in, const struct fleet *f,
		     struct berr *err);

struct intake_result {
	enum intake_reason reason;
	char detail[512];	/* what was wrong, for the answer and the ledger */
	uint64_t seq;		/* accepted: the seq stored */
};

/*
 * Take one report: headers are the six envelope values in the order of
 * report_header_names (NULL: missing), body the raw bytes, remote the
 * peer's address (for the ledger; may be NULL). Blocks until the report
 * is committed or refused; fills res. Thread-safe.
 */
void intake_submit(struct intake *in, const char *const headers[6],
		   const char *body, size_t len, const char *remote,
		   struct intake_result *res);

/*
 * The same in two steps, for a server that must not block a thread on the
 * commit. intake_check() runs the stateless checks on the calling thread:
 * NULL when res is already final (a refusal, counted and recorded), else
 * an item for intake_enqueue(), which queues it for the writer; the writer
 * thread calls done(ctx) once res is final (done must not block; body and
 * res must stay valid until then). Free the item with intake_item_free()
 * after done was called.
 */
struct intake_item;
struct intake_item *intake_check(struct intake *in, const char *const headers[6],
				 const char *body, size_t len, const char *remote,
				 struct intake_result *res);
void intake_enqueue(struct intake *in, struct intake_item *it,
		    void (*done)(void *ctx), void *ctx);
void intake_item_free(struct intake_item *it);	/* accepts NULL */

/*
 * Count a refusal decided outside intake_submit (too_large before the
 * body was read, truncated): counted and recorded like the others.
 * host may be NULL or anything the client sent.
 */
void intake_refuse(struct intake *in, enum intake_reason reason,
		   const char *host, const char *detail, const char *remote);

/*
 * Count a report turned away before it was read because the server had
 * too many bodies in memory at once (503 "busy"; the agent retries): not a
 * refusal of the report, not in the ledger.
 */
void intake_count_busy(struct intake *in);

/* Counters since the intake opened; the ledger's numbers are read every few seconds. */
struct intake_stats {
	uint64_t accepted;
	uint64_t rejected[INTAKE__COUNT];
	uint64_t batches;		/* transactions committed */
	uint64_t busy;			/* turned away: intake_count_busy() */
	uint64_t ledger_errors;		/* rejection entries that could not be
					   written (kept, written later) */
	int64_t ledger_entries;		/* the ledger's last seq, -1 unknown */
	int64_t last_reconcile_ms;	/* end of the last reconcile run, 0: none */
	int64_t last_reconcile_changes;	/* changes it applied */
};
void intake_stats(struct intake *in, struct intake_stats *s);

/*
 * The status of the fleet now, from the latest accepted reports kept in
 * memory (status.h). It borrows from the intake, which holds its readers'
 * locks until intake_status_release() frees it (never status_free()):
 * call that exactly once for each status this returns, never with NULL.
 */
struct status *intake_status(struct intake *in, int64_t now_ms);
void intake_status_release(struct intake *in, struct status *s);

/*
 * The intake's ledger, for readers in the same process (the admin API):
 * borrowed, valid until intake_free(). Such readers must not open another
 * with ledger_open(), whose open() and close() of berth.db would drop the
 * process's POSIX locks on it, those SQLite holds for the intake's
 * connections: another process could then remove the WAL under them.
 */
struct ledger *intake_ledger(struct intake *in);

/*
 * Whether the intake's writer took a turn within the last within_ms (it
 * wakes at least every second, and after each group of reports it
 * commits): what berth serve's watchdog pings vouch for.
 */
int intake_alive(struct intake *in, int64_t within_ms);


#endif
