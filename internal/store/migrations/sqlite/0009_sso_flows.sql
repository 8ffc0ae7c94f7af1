-- Berth schema 9: sign-ins in progress (an OIDC sign-in sent to its
-- provider, a CLI sign-in waiting for the CLI to redeem its code), kept in
-- the database so that any replica can finish them. The key is the SHA-256
-- of the sign-in's secret (its state or code), never the secret.
CREATE TABLE sso_flows (
	skey       TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL, -- Unix microseconds
	body       TEXT NOT NULL
);
CREATE INDEX sso_flows_expires ON sso_flows (expires_at);
