-- Berth schema 17: which gateway configuration each gateway connected to a
-- replica has put in force (docs/adr/0016-high-availability.md, "Gateway
-- acknowledgements across replicas"). One row per gateway stream a replica
-- serves: the SHA-256 of the configuration it last reported applied ("":
-- none yet) and when its replica last vouched for the connection, in
-- milliseconds of the database's clock. A replica deletes its row when the
-- gateway disconnects and refreshes its rows every few seconds; rows not
-- refreshed (a stopped replica's) stop counting and are deleted.
CREATE TABLE gateway_acks (
	replica    TEXT COLLATE "C" NOT NULL,
	subscriber TEXT COLLATE "C" NOT NULL,
	applied    TEXT COLLATE "C" NOT NULL,
	seen_ms    BIGINT NOT NULL,
	PRIMARY KEY (replica, subscriber)
);
CREATE INDEX gateway_acks_seen ON gateway_acks (seen_ms);
