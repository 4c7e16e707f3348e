/*
 * ledger.h - the append-only, hash-chained audit ledger in the state
 * directory's SQLite database (berth.db, WAL mode).
 *
 * Every entry: seq (1, 2, ...), time (UTC, milliseconds, "2026-11-22T04:12:00.123Z"),
 * actor ("user@host", "timer" or "intake"), run id, git commit, kind
 * (run.start, change.intent, change.result, run.end, lock.break,
 * report.rejected, instance.gone, instance.moved, terms, key.rotate,
 * settlement, settlement.amend), target (server), object (address), action, before,
 * after (JSON or NULL), result ("ok", "failed", "stale", "not-attempted",
 * "rejected", ... or NULL), error (or NULL), prev_hash and hash, where
 *   hash = SHA-256(prev_hash || canonical JSON of the entry without hashes)
 * (prev_hash of entry 1 is 64 zeros; prev_hash enters the hash as its 64
 * lowercase hex characters; canonical JSON: json_dumps with
 * JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY of an object holding every
 * field above but the two hashes, NULL fields as JSON null). Its keys, also
 * those of the entries ledger_query() hands out (which add prev_hash and
 * hash): action, actor, after, before, error, git_commit, kind, object,
 * result, run_id, seq (a JSON integer), target, time. before and after are
 * stored as their canonical JSON text; a JSON null is stored as NULL.
 *
 * Two kinds have a shape the readers below rely on:
 *   run.end: action is the run's mode ("apply", "reconcile"), result "ok"
 *     or "failed", after {"changes", "failed", "stale", "not_attempted"}
 *     (integers); see ledger_last_run().
 *   report.rejected (written by berth serve's intake, at most one per host
 *     and reason a minute): target is the host (or "(not in the
 *     manifests)"), object "host/<target>", action the reason
 *     ("bad_signature", ...), result "rejected", after {"reason", "count",
 *     "first", "last", "detail", "remote"} with first and last the times
 *     of the first and last report the entry counts; see
 *     ledger_rejections().
 *   instance.gone (apply and reconcile, before any change): target the
 *     server, object the address of a sold instance that the run's
 *     observation no longer holds (deleted outside berth), action "gone",
 *     result "ok"; see settle/spans.h.
 *   instance.moved (the same): object the address of a sold instance a
 *     cluster holds on another member than settlement's (Incus moved it),
 *     action "move", after {"from", "to"}.
 *   terms (the same, when they changed): object "terms", action
 *     "record", after the providers' terms (settle/terms.h).
 *   key.rotate (`berth key rotate`, written before berth's new key is
 *     used): object "berth/key", action "rotate", before and after
 *     {"fingerprint", "certificate"} of the old and the new certificate;
 *     see ledger_checkpoint_check().
 *
 * Append-only three ways: triggers that abort UPDATE and DELETE on the
 * ledger table, an authorizer on berth's own connection that refuses them
 * and refuses dropping triggers or tables, and the hash chain for whatever
 * happens behind berth's back (ledger_verify names the first entry that
 * does not verify and why: edited, deleted, reordered, inserted).
 *
 * The schema and its migrations are the SQL files of state/ (embedded at
 * build time as embedded_state[], applied in name order, recorded in a
 * schema_version table); no module outside src/ledger/ knows the ledger
 * table, they use the calls below. A struct ledger may be used from
 * several threads: appends are serialised; see ledger_batch_begin() for
 * one transaction per run. Every call but ledger_close() wants a non-NULL
 * struct ledger.
 */
#ifndef BERTH_LEDGER_LEDGER_H
#define BERTH_LEDGER_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

struct ledger;

struct ledger_entry {
	int64_t seq;		/* set by ledger_append */
	char time[32];		/* set by ledger_append */
	const char *actor;
	const char *run_id;
	const char *commit;
	const char *kind;
	const char *target;
	const char *object;
	const char *action;
	const json_t *before;
	const json_t *after;
	const char *result;
	const char *error;
	char prev_hash[65];	/* set by ledger_append */
	char hash[65];		/* set by ledger_append */
};

/*
 * Open (creating and migrating) <state_dir>/berth.db: the directory is
 * created 0700 when missing, the database 0600. Refuses a database whose
 * schema is newer than this berth knows. Caller frees *out with
 * ledger_close(); -1 with err (and *out NULL) when it cannot be opened.
 */
int ledger_open(const char *state_dir, struct ledger **out, struct berr *err);
/* Rolls back an open batch; accepts NULL. */
void ledger_close(struct ledger *l);

/*
 * Append one entry; fills seq, time, prev_hash and hash in *e. kind is
 * required; actor NULL means ledger_actor(). Every string must be UTF-8.
 * Safe to call from several threads at once. Outside a batch an append is
 * on disk (synchronous=FULL) when it returns; appends made meanwhile by
 * other threads share its transaction and fsync (group commit: the first
 * waiting thread writes the group, all or none; each caller still returns
 * only once its own entry is committed).
 */
int ledger_append(struct ledger *l, struct ledger_entry *e, struct berr *err);

/*
 * Batches: the appends between ledger_batch_begin() and
 * ledger_batch_commit() share one write transaction (and one fsync at
 * commit) instead of one each, from whichever thread makes them (a batch
 * belongs to the struct ledger, not to a thread; one at a time). The seqs
 * and hashes ledger_append fills in are final only once the batch commits.
 * A crash, a failed commit, ledger_batch_rollback() or ledger_close() with
 * a batch open loses the batch's entries and nothing else: the chain ends
 * at the last committed entry and verifies. So an entry in an open batch
 * is not yet a record: a change.intent that must be on disk before its
 * change is made needs its batch committed first.
 *
 * While a batch is open it holds the database's write lock: other
 * processes' appends wait for it (up to 30 s, then fail); readers do not.
 * ledger_verify, ledger_query and the other readers on this struct ledger
 * see the batch's uncommitted entries.
 *
 * ledger_batch_begin: -1 with err when a batch is already open or the
 * write lock cannot be had. ledger_batch_commit: -1 with err when no batch
 * is open or the commit failed (the batch is then rolled back and gone).
 * An append that fails inside a batch leaves the batch's earlier entries
 * in it, unless SQLite had to roll back the whole transaction (disk full,
 * I/O error): then that append and every later one until the commit fail,
 * and so does the commit. ledger_batch_rollback abandons an open batch
 * (no-op when none is open; l must not be NULL, unlike ledger_close()).
 */
int ledger_batch_begin(struct ledger *l, struct berr *err);
int ledger_batch_commit(struct ledger *l, struct berr *err);
void ledger_batch_rollback(struct ledger *l);

struct ledger_filter {
	const char *since;	/* ISO time or date, inclusive; NULL: all */
	const char *kind;
	const char *object;
	const char *run_id;
	int64_t seq;		/* > 0: only this entry */
	size_t limit;		/* > 0: only the last limit matching entries */
};

/*
 * Call fn for each entry matching f (NULL: all), in seq order, as a JSON
 * object with every field (before/after parsed; fn does not own it). fn
 * returns non-zero to stop; it must not call back into the ledger.
 * -1 with err when since is not a date or UTC time (2026-11-22,
 * 2026-11-22T04:12Z, 2026-11-22T04:12:00Z, 2026-11-22T04:12:00.123Z) or
 * the database cannot be read.
 */
int ledger_query(struct ledger *l, const struct ledger_filter *f,
		 int (*fn)(void *ctx, const json_t *entry), void *ctx,
		 struct berr *err);

struct ledger_verify_result {
	int ok;
	int64_t head_seq;	/* last entry that verified */
	char head_hash[65];
	int64_t bad_seq;	/* first entry that does not verify (0 when ok) */
	char why[256];		/* "edited (its hash does not match its contents)",
				   "deleted (seq 7 is missing)", "reordered (...)",
				   "inserted (...)"; "" when ok */
	char msg[512];		/* the whole sentence: "entry 8 does not verify:
				   deleted (seq 7 is missing)", "entries 5 and 6
				   are reordered (...)"; "" when ok */
};

/*
 * Walk the chain. checkpoint ("SEQ:HASH" or NULL): also prove the ledger
 * still extends it (the entry SEQ exists and has that hash). Returns 0 with
 * r filled (r->ok says whether it verified); -1 with err when the database
 * cannot be read at all. Hashes on a second thread while this one reads
 * (about 1.5 s for 1,000,000 entries); a ledger that does not verify is
 * walked a second time, one entry at a time, to say why.
 */
int ledger_verify(struct ledger *l, const char *checkpoint,
		  struct ledger_verify_result *r, struct berr *err);

/* The hash of entry seq into out: 1, 0 when there is none, -1 with err. */
int ledger_hash_at(struct ledger *l, int64_t seq, char out[65], struct berr *err);
/*
 * [[seq, hash], ...] of every entry up to upto whose seq is a multiple of
 * every, and of upto itself; NULL with err.
 */
json_t *ledger_marks(struct ledger *l, int64_t upto, int64_t every, struct berr *err);

/*
 * Signed checkpoints (checkpoint.c). A checkpoint holds the head of a
 * ledger that verifies (seq, hash), the time, and marks: the hash of every
 * Mth entry, M = ceil(seq / 1024) (every one in a ledger of up to 1024
 * entries), so that a ledger rewritten with its chain recomputed says
 * where it first differs. Signed with berth's key (ECDSA P-384, SHA-384),
 * with its certificate and that certificate's SHA-256 fingerprint
 * ("signer"), so the file can be kept anywhere (committed to git, sent to
 * a witness) and checked later. JSON: {"format_version": "1.0", "kind":
 * "berth-ledger-checkpoint", "seq", "hash", "time", "every", "marks",
 * "signer", "certificate", "signature"}.
 *
 * ledger_checkpoint_make: the checkpoint of l now, signed with key_file
 * (PEM) whose certificate is cert_pem; NULL with err (a ledger that does
 * not verify is not checkpointed). ledger_checkpoint_parse: a checkpoint
 * file's JSON, every field checked (untrusted input); NULL with err.
 * ledger_checkpoint_check: is cp signed by the berth whose certificate has
 * fingerprint want_signer (NULL: any), and does l still extend it? A key
 * berth rotated away from (the before.fingerprint of a key.rotate entry
 * without an error; the first such entry retires it) signs checkpoints of
 * entries before that entry only. -1 with err for a checkpoint that is not
 * (a bad signature, another berth's, a retired key's of a later entry) or
 * a database that cannot be read; else 0 with r as ledger_verify() fills
 * it, and for a ledger rewritten with its chain recomputed, bad_seq the
 * first mark that differs.
 */
json_t *ledger_checkpoint_make(struct ledger *l, const char *key_file, const char *cert_pem,
			       int64_t now_ms, struct berr *err);
json_t *ledger_checkpoint_parse(const char *data, size_t len, struct berr *err);
int ledger_checkpoint_check(struct ledger *l, const json_t *cp, const char *want_signer,
			    struct ledger_verify_result *r, struct berr *err);

/*
 * The object of each address as berth last applied it successfully
 * (address -> after, as the ledger's JSON text in a JSON string: a plan
 * parses only those it compares; deleted objects absent). Caller
 * json_decref()s; NULL with err when the database cannot be read.
 */
json_t *ledger_last_applied(struct ledger *l, struct berr *err);

/*
 * change.intent entries without a change.result (a run that was killed),
 * as a JSON array of entries. Caller json_decref()s; NULL with err when
 * the database cannot be read.
 */
json_t *ledger_dangling_intents(struct ledger *l, struct berr *err);

/*
 * The head: the seq and hash of the last entry (0 and "" when the ledger
 * is empty). Inside an open batch, the batch's last entry, which is not
 * yet committed. -1 with err when the database cannot be read.
 */
int ledger_head(struct ledger *l, int64_t *seq, char hash[65], struct berr *err);

/*
 * A consistent copy of the whole state database (the ledger and what the
 * intake keeps) to path, which must not exist, as of one moment while
 * writers go on: SQLite's online backup into a temporary file next to
 * path, made one self-contained file (no -wal), fsynced, then linked at
 * path; 0600. *seq and hash: the ledger head of the copy. -1 with err (and
 * path not created).
 */
int ledger_backup(struct ledger *l, const char *path, int64_t *seq, char hash[65],
		  struct berr *err);

/* A run as its run.end entry records it. */
struct ledger_run {
	int64_t seq;		/* of its run.end entry; 0: no such run recorded */
	int64_t end_ms;		/* the entry's time, ms since the epoch (0: not a time) */
	char result[32];	/* "ok", "failed" (cut to fit); "" when NULL */
	char commit[41];	/* the commit it ran; "" when NULL */
	int64_t changes;	/* after's counts; 0 when absent or not a number */
	int64_t failed;
	int64_t stale;
	int64_t not_attempted;
};

/*
 * The last run of mode ("apply", "reconcile": the action of its run.end
 * entry) into *r; all zero (r->seq 0) when there is none. -1 with err
 * when the database cannot be read.
 */
int ledger_last_run(struct ledger *l, const char *mode, struct ledger_run *r,
		    struct berr *err);

/* The report.rejected entries of one host and reason, summed. */
struct ledger_rejection {
	const char *host;	/* the entries' target ("" when NULL) */
	const char *reason;	/* their action, "bad_signature", ... ("" when NULL) */
	int64_t entries;	/* how many entries */
	int64_t count;		/* reports refused: the sum of their after.count */
	int64_t first_ms;	/* the earliest after.first (an entry without one: its
				   time), ms since the epoch; 0 when not a time */
	int64_t last_ms;	/* the latest after.last, likewise */
};

/*
 * Call fn for each host and reason that has report.rejected entries
 * appended at or after since_ms (ms since the epoch; 0: all), ordered by
 * host, then reason. r and its strings are lent to fn for the call only.
 * fn returns non-zero to stop; it must not call back into the ledger.
 * -1 with err when the database cannot be read.
 */
int ledger_rejections(struct ledger *l, int64_t since_ms,
		      int (*fn)(void *ctx, const struct ledger_rejection *r), void *ctx,
		      struct berr *err);

/*
 * Whether commits on l checkpoint the WAL into berth.db (on: SQLite's
 * default, once the WAL holds 1000 pages). Off, another connection must
 * checkpoint it, or the WAL grows without bound: berth serve does it on a
 * thread of its own so that the ledger's appends never wait for one.
 */
void ledger_set_autocheckpoint(struct ledger *l, int on);

/* "user@host" of this process (or "timer" when BERTH_ACTOR=timer). */
void ledger_actor(char *out, size_t outlen);
/* A new run id: "r-" + 16 random hex digits. */
void ledger_new_run_id(char out[32]);

#endif
