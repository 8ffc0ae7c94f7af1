-- Berth schema 12: leases of leadership among replicas sharing a
-- PostgreSQL database (docs/adr/0015-high-availability.md). SQLite has one
-- replica, always the leader: the table is kept so both schemas match.
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	epoch      INTEGER NOT NULL,
	expires_at TEXT NOT NULL
);
