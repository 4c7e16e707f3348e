-- 001-ledger.sql - the audit ledger (src/ledger/ledger.h).
--
-- Append-only: the triggers below abort UPDATE and DELETE; berth's own
-- connection also refuses them (and dropping triggers or tables) with an
-- authorizer, and every entry is hash-chained so that changes made behind
-- berth's back are found by `berth ledger verify`.
--
-- hash = SHA-256(prev_hash || canonical JSON of the entry without the two
-- hashes), prev_hash of entry 1 is 64 zeros. before and after hold the
-- canonical JSON text of the value (or NULL).

CREATE TABLE schema_version (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TEXT NOT NULL
);

CREATE TABLE ledger (
	seq INTEGER PRIMARY KEY,
	time TEXT NOT NULL,		-- UTC, "2026-11-22T04:12:00.123Z"
	actor TEXT NOT NULL,		-- "user@host" or "timer"
	run_id TEXT,
	git_commit TEXT,
	kind TEXT NOT NULL,		-- run.start, change.intent, change.result, run.end, lock.break, ...
	target TEXT,			-- server
	object TEXT,			-- object address
	action TEXT,
	before TEXT,			-- JSON
	after TEXT,			-- JSON
	result TEXT,			-- ok, failed, stale, not-attempted, ...
	error TEXT,
	prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash TEXT NOT NULL CHECK (length(hash) = 64)
);

CREATE INDEX ledger_time ON ledger (time);
CREATE INDEX ledger_kind ON ledger (kind, run_id, object);
CREATE INDEX ledger_object ON ledger (object);
CREATE INDEX ledger_run ON ledger (run_id);
CREATE INDEX ledger_hash ON ledger (hash);

-- Entries only go at the end: this also stops INSERT OR REPLACE from
-- overwriting an entry (REPLACE does not fire the DELETE trigger).
CREATE TRIGGER ledger_append_only BEFORE INSERT ON ledger
WHEN NEW.seq IS NULL OR NEW.seq <= coalesce((SELECT max(seq) FROM ledger), 0)
BEGIN
	SELECT RAISE(ABORT, 'the ledger is append-only: an entry must follow the last one');
END;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
	SELECT RAISE(ABORT, 'the ledger is append-only: UPDATE refused');
END;

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
	SELECT RAISE(ABORT, 'the ledger is append-only: DELETE refused');
END;
