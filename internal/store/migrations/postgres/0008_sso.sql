-- Berth schema 8: single sign-on. group_bindings map a directory's or an
-- OIDC provider's groups to role bindings; sso_links tie a provisioned user
-- to the provider and subject that vouched for it, with the role bindings
-- its groups granted. A link goes with its user.
CREATE TABLE group_bindings (
	name     TEXT COLLATE "C" PRIMARY KEY,
	provider TEXT COLLATE "C" NOT NULL,
	rv       BIGINT NOT NULL,
	body     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX group_bindings_provider ON group_bindings (provider, name);
CREATE TABLE sso_links (
	usr  TEXT COLLATE "C" PRIMARY KEY,
	rv   BIGINT NOT NULL,
	body TEXT COLLATE "C" NOT NULL
);
CREATE FUNCTION sso_links_forget_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM sso_links WHERE usr = OLD.name;
	RETURN OLD;
END $$;
CREATE TRIGGER sso_links_forget_user AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION sso_links_forget_user();
