-- Berth schema 4: network assets. Port grants (a cluster's pool: tenant and
-- project empty; a tenant's ports: project empty; a project's ports),
-- node-port allocations (one row per port of a cluster: the primary key is
-- what guarantees a port is never handed out twice; they go with their
-- deployment) and isolation settings of tenants and projects.
CREATE TABLE net_port_grants (
	cluster TEXT NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
	tenant  TEXT NOT NULL,
	project TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (cluster, tenant, project)
);
CREATE INDEX net_port_grants_tenant ON net_port_grants (tenant, project);

CREATE TABLE net_port_allocations (
	cluster     TEXT NOT NULL REFERENCES clusters (name),
	port        INTEGER NOT NULL,
	tenant      TEXT NOT NULL,
	project     TEXT NOT NULL,
	application TEXT NOT NULL,
	environment TEXT NOT NULL,
	port_name   TEXT NOT NULL,
	rv          INTEGER NOT NULL,
	body        TEXT NOT NULL,
	PRIMARY KEY (cluster, port),
	UNIQUE (tenant, project, application, environment, port_name),
	FOREIGN KEY (tenant, project, application, environment)
		REFERENCES deployments (tenant, project, application, environment) ON DELETE CASCADE
);

CREATE TABLE net_isolation (
	tenant  TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	project TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project)
);

-- Bandwidth reservations (bits per second x instances), beside cpu, memory…
ALTER TABLE reservations ADD COLUMN ingress_bandwidth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN egress_bandwidth INTEGER NOT NULL DEFAULT 0;

-- A deleted project or tenant takes its grants and isolation records with
-- it (grant rows use '' for "no project", so no foreign key can).
CREATE TRIGGER net_forget_project AFTER DELETE ON projects
BEGIN
	DELETE FROM net_port_grants WHERE tenant = OLD.tenant AND project = OLD.name;
	DELETE FROM net_isolation WHERE tenant = OLD.tenant AND project = OLD.name;
END;
CREATE TRIGGER net_forget_tenant AFTER DELETE ON tenants
BEGIN
	DELETE FROM net_port_grants WHERE tenant = OLD.name;
END;
