-- Berth schema 7: namespaces a platform admin granted to a tenant on a cluster
-- (environments may use only those, or namespaces Berth created for them), and
-- the approval floors of the platform (tenant '') and of tenants.
CREATE TABLE namespace_grants (
	cluster TEXT NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
	tenant  TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (cluster, tenant)
);
CREATE INDEX namespace_grants_tenant ON namespace_grants (tenant, cluster);
CREATE TABLE approval_floors (
	tenant TEXT NOT NULL PRIMARY KEY,
	rv     INTEGER NOT NULL,
	body   TEXT NOT NULL
);
CREATE TRIGGER approval_floors_forget_tenant AFTER DELETE ON tenants
BEGIN
	DELETE FROM approval_floors WHERE tenant = OLD.name;
END;
