-- Berth schema 17: which gateway configuration each gateway connected to a
-- replica has put in force (docs/adr/0016-high-availability.md). An SQLite
-- server is alone and keeps this in memory: the table is kept so both
-- schemas match.
CREATE TABLE gateway_acks (
	replica    TEXT NOT NULL,
	subscriber TEXT NOT NULL,
	applied    TEXT NOT NULL,
	seen_ms    INTEGER NOT NULL,
	PRIMARY KEY (replica, subscriber)
);
CREATE INDEX gateway_acks_seen ON gateway_acks (seen_ms);
