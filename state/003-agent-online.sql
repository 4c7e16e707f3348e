-- 003-agent-online.sql - when each host's agent was online: src/serve/store.h.
--
-- A host's agent is online at time x when a report of it that the intake
-- accepted was collected (the body's "time", not when it arrived: a report
-- delivered late from the agent's spool counts for when it was collected)
-- in (x - window, x], window being the host's offline window when the
-- intake accepted the report: max(3 x spec.agent.interval, 120 s) of its
-- Host manifest (src/sched/status.h). Each accepted report collected at t
-- thus covers [t, t + window); this table holds the union of these, per
-- host, as disjoint intervals [from_ms, to_ms): intervals that overlap or
-- touch are merged into one, so a host has one row per offline gap (and
-- one more). Never pruned.
CREATE TABLE agent_online (
	host TEXT NOT NULL,
	from_ms INTEGER NOT NULL,
	to_ms INTEGER NOT NULL,
	PRIMARY KEY (host, from_ms)
) WITHOUT ROWID;

-- What the history still holds, with the smallest window (120 s): the
-- manifests are not at hand here, so a host whose window is longer may
-- show short gaps before this migration that it did not have.
INSERT INTO agent_online (host, from_ms, to_ms)
SELECT host, min(time_ms), max(time_ms) + 120000 FROM (
	SELECT host, time_ms, sum(brk) OVER (PARTITION BY host ORDER BY time_ms
					     ROWS UNBOUNDED PRECEDING) AS grp FROM (
		SELECT host, time_ms, CASE WHEN time_ms - lag(time_ms) OVER
			(PARTITION BY host ORDER BY time_ms) <= 120000 THEN 0 ELSE 1 END AS brk
		FROM report_history))
GROUP BY host, grp;
