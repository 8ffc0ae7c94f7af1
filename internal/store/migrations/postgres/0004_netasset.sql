-- Berth schema 4: network assets. Port grants (a cluster's pool: tenant and
-- project empty; a tenant's ports: project empty; a project's ports),
-- node-port allocations (one row per port of a cluster: the primary key is
-- what guarantees a port is never handed out twice; they go with their
-- deployment) and isolation settings of tenants and projects.
CREATE TABLE net_port_grants (
	cluster TEXT COLLATE "C" NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
	tenant  TEXT COLLATE "C" NOT NULL,
	project TEXT COLLATE "C" NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (cluster, tenant, project)
);
CREATE INDEX net_port_grants_tenant ON net_port_grants (tenant, project);

CREATE TABLE net_port_allocations (
	cluster     TEXT COLLATE "C" NOT NULL REFERENCES clusters (name),
	port        INTEGER NOT NULL,
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	application TEXT COLLATE "C" NOT NULL,
	environment TEXT COLLATE "C" NOT NULL,
	port_name   TEXT COLLATE "C" NOT NULL,
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (cluster, port),
	UNIQUE (tenant, project, application, environment, port_name),
	FOREIGN KEY (tenant, project, application, environment)
		REFERENCES deployments (tenant, project, application, environment) ON DELETE CASCADE
);

CREATE TABLE net_isolation (
	tenant  TEXT COLLATE "C" NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	project TEXT COLLATE "C" NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project)
);

-- Bandwidth reservations (bits per second x instances), beside cpu, memory…
ALTER TABLE reservations ADD COLUMN ingress_bandwidth BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN egress_bandwidth BIGINT NOT NULL DEFAULT 0;

-- A deleted project or tenant takes its grants and isolation records with
-- it (grant rows use '' for "no project", so no foreign key can).
CREATE FUNCTION net_forget_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM net_port_grants WHERE tenant = OLD.tenant AND project = OLD.name;
	DELETE FROM net_isolation WHERE tenant = OLD.tenant AND project = OLD.name;
	RETURN OLD;
END $$;
CREATE TRIGGER net_forget_project AFTER DELETE ON projects FOR EACH ROW EXECUTE FUNCTION net_forget_project();
CREATE FUNCTION net_forget_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM net_port_grants WHERE tenant = OLD.name;
	RETURN OLD;
END $$;
CREATE TRIGGER net_forget_tenant AFTER DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION net_forget_tenant();
