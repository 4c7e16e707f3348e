/*
 * spool.h - the agent's spool directory: its sequence number and the
 * reports not yet delivered.
 *
 *   <dir>/seq                 the last seq handed out (decimal)
 *   <dir>/dropped             reports dropped since the last report made
 *   <dir>/r-<seq, 20 digits>.json   a report body waiting for delivery
 *
 * Every file is replaced atomically and fsynced, so the seq only grows,
 * across restarts and crashes: a seq is written before it is used. The
 * spool holds at most max_reports reports and max_bytes bytes; making room
 * drops the oldest reports (the newest say most: raw counters, so the next
 * accepted report still carries all the traffic) and counts them; the
 * count goes into the next report made (its "dropped"). One process at a
 * time: spool_open takes an exclusive lock on <dir>/lock.
 */
#ifndef BERTH_AGENT_SPOOL_H
#define BERTH_AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct spool;

struct spool_opts {
	size_t max_reports;	/* default 10000 */
	size_t max_bytes;	/* default 256 MiB */
};

/* Open (creating dir 0700). NULL with err; also when another agent holds it. */
struct spool *spool_open(const char *dir, const struct spool_opts *o,
			 struct berr *err);
void spool_close(struct spool *s);	/* accepts NULL */

/* The next seq, made durable before it is returned. -1 with err. */
int spool_next_seq(struct spool *s, uint64_t *seq, struct berr *err);

/* Reports dropped and not yet told: the next report's "dropped". */
uint64_t spool_dropped(const struct spool *s);

/*
 * Add the body of report seq, whose "dropped" is counted (what
 * spool_dropped() said when it was made); makes room first. Only once the
 * report is on disk is the count lowered by counted: a crash in between
 * tells those drops twice, never not at all. -1 with err (the count is
 * then kept for the next report).
 */
int spool_put(struct spool *s, uint64_t seq, const char *body, size_t len,
	      uint64_t counted, struct berr *err);

/* Seqs waiting, oldest first (caller frees *seqs). */
int spool_list(struct spool *s, uint64_t **seqs, size_t *n, struct berr *err);

/* The body of seq (caller frees). -1 with err. */
int spool_get(struct spool *s, uint64_t seq, char **body, size_t *len,
	      struct berr *err);

/* Forget seq (delivered). */
void spool_remove(struct spool *s, uint64_t seq);

/* Reports waiting and their bytes. */
void spool_usage(struct spool *s, size_t *reports, size_t *bytes);

#endif
