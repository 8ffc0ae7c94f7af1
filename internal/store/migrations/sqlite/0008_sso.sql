-- Berth schema 8: single sign-on. group_bindings map a directory's or an
-- OIDC provider's groups to role bindings; sso_links tie a provisioned user
-- to the provider and subject that vouched for it, with the role bindings
-- its groups granted. A link goes with its user.
CREATE TABLE group_bindings (
	name     TEXT PRIMARY KEY,
	provider TEXT NOT NULL,
	rv       INTEGER NOT NULL,
	body     TEXT NOT NULL
);
CREATE INDEX group_bindings_provider ON group_bindings (provider, name);
CREATE TABLE sso_links (
	usr  TEXT PRIMARY KEY,
	rv   INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TRIGGER sso_links_forget_user AFTER DELETE ON users
BEGIN
	DELETE FROM sso_links WHERE usr = OLD.name;
END;
