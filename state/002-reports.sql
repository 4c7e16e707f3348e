-- 002-reports.sql - what the intake (berth serve) keeps: src/serve/store.h.
--
-- Not part of the hash chain: these tables are a cache of the agents'
-- latest word and of usage; rejected reports go to the ledger.

-- Every accepted report (the raw body as signed), pruned by age (berth
-- serve --history) except each host's latest. The nonces of the last 10
-- minutes, which the intake keeps in memory, are read back from here.
CREATE TABLE report_history (
	id INTEGER PRIMARY KEY,
	host TEXT NOT NULL,
	boot_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	time_ms INTEGER NOT NULL,	-- collection time (the body's "time")
	received_ms INTEGER NOT NULL,	-- when the intake accepted it
	nonce TEXT NOT NULL,		-- of the delivery that was accepted
	body TEXT NOT NULL
);

-- The latest accepted report of each host: its row in the history.
CREATE TABLE report_latest (
	host TEXT PRIMARY KEY,
	history_id INTEGER NOT NULL REFERENCES report_history (id),
	received_ms INTEGER NOT NULL
);
CREATE INDEX report_history_received ON report_history (received_ms);

-- The last accepted seq of each (host, boot id): a report must go above it.
CREATE TABLE report_seq (
	host TEXT NOT NULL,
	boot_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	received_ms INTEGER NOT NULL,
	PRIMARY KEY (host, boot_id)
) WITHOUT ROWID;

-- The raw counters of the last accepted report, per instance and NIC
-- (nic '' holds the instance's own: status and cpu time): the base of the
-- next delta.
CREATE TABLE usage_baseline (
	host TEXT NOT NULL,
	project TEXT NOT NULL,
	instance TEXT NOT NULL,
	nic TEXT NOT NULL,
	boot_id TEXT NOT NULL,
	started_ms INTEGER NOT NULL,
	time_ms INTEGER NOT NULL,
	running INTEGER NOT NULL,
	cpu_ns INTEGER NOT NULL,
	rx_bytes INTEGER NOT NULL,
	tx_bytes INTEGER NOT NULL,
	PRIMARY KEY (host, project, instance, nic)
) WITHOUT ROWID;

-- Usage per instance and UTC hour ("2026-11-22T05"), from the deltas.
CREATE TABLE usage (
	host TEXT NOT NULL,
	project TEXT NOT NULL,
	instance TEXT NOT NULL,
	hour TEXT NOT NULL,
	plan TEXT,
	running_ms INTEGER NOT NULL DEFAULT 0,
	cpu_ns INTEGER NOT NULL DEFAULT 0,
	rx_bytes INTEGER NOT NULL DEFAULT 0,
	tx_bytes INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (host, project, instance, hour)
) WITHOUT ROWID;
