-- Berth schema 18: service level objectives (docs/observability.md). slos
-- are a project's SLOs by name (environment, application, objective and
-- window are in the body); they go with their project.
CREATE TABLE slos (
	tenant  TEXT NOT NULL,
	project TEXT NOT NULL,
	name    TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name) ON DELETE CASCADE
);
