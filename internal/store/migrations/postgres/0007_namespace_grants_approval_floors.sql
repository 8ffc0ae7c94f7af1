-- Berth schema 7: namespaces a platform admin granted to a tenant on a cluster
-- (environments may use only those, or namespaces Berth created for them), and
-- the approval floors of the platform (tenant '') and of tenants.
CREATE TABLE namespace_grants (
	cluster TEXT COLLATE "C" NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
	tenant  TEXT COLLATE "C" NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (cluster, tenant)
);
CREATE INDEX namespace_grants_tenant ON namespace_grants (tenant, cluster);
CREATE TABLE approval_floors (
	tenant TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	rv     BIGINT NOT NULL,
	body   TEXT COLLATE "C" NOT NULL
);
CREATE FUNCTION approval_floors_forget_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM approval_floors WHERE tenant = OLD.name;
	RETURN OLD;
END $$;
CREATE TRIGGER approval_floors_forget_tenant AFTER DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION approval_floors_forget_tenant();
