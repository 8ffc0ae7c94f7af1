-- Berth schema 12: leases of leadership among replicas sharing this
-- database (docs/adr/0015-high-availability.md). One row per lease: who
-- holds it, the epoch of its current term (grows with every new holder;
-- the leader's transactions check it, a fencing token) and when it
-- expires, by the database's clock.
CREATE TABLE leases (
	name       TEXT COLLATE "C" PRIMARY KEY,
	holder     TEXT COLLATE "C" NOT NULL,
	epoch      BIGINT NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
