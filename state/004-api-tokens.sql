-- 004-api-tokens.sql - the tokens of berth serve's admin API
-- (src/serve/tokens.h): `berth token create|list|revoke`.
--
-- A token is shown once, when it is made; only its SHA-256 is kept. Its
-- creation and revocation are ledger entries (token.create,
-- token.revoke), which never hold the token either. Rows are never
-- deleted: a revoked token keeps its row, with the time it was revoked.

CREATE TABLE api_token (
	id TEXT PRIMARY KEY,		-- "t-" and 16 hex digits, in the token too
	role TEXT NOT NULL CHECK (role IN ('admin', 'provider')),
	provider TEXT,			-- a provider token's provider; NULL for admin
	name TEXT NOT NULL,		-- for people: whose, what for
	hash TEXT NOT NULL CHECK (length(hash) = 64),	-- SHA-256 of the token, hex
	created TEXT NOT NULL,		-- UTC, "2026-11-22T04:12:00.123Z"
	created_by TEXT NOT NULL,	-- "user@host"
	revoked TEXT,			-- when it was revoked; NULL while it works
	CHECK ((role = 'admin') = (provider IS NULL))
) WITHOUT ROWID;
