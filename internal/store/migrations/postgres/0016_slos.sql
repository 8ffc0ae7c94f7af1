-- Berth schema 18: service level objectives (docs/observability.md). slos
-- are a project's SLOs by name (environment, application, objective and
-- window are in the body); they go with their project.
CREATE TABLE slos (
	tenant  TEXT COLLATE "C" NOT NULL,
	project TEXT COLLATE "C" NOT NULL,
	name    TEXT COLLATE "C" NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name) ON DELETE CASCADE
);
